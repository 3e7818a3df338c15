#!/bin/sh
# `apk` in the stand-in nginx base image (a Debian rootfs, base-images.sh): the project's Dockerfiles run
# `apk add --no-cache PKG...` against the real Alpine image; here the packages they name are installed when the
# stand-in is made, so `apk add` only checks that each one is there and fails on any other.
set -eu
[ "${1:-}" = add ] || { echo "apk stand-in: only 'apk add' is supported" >&2; exit 1; }
shift
for p in "$@"; do
  case "$p" in
    -*) ;;
    *) dpkg -s "$p" >/dev/null 2>&1 || { echo "apk stand-in: $p is not in the stand-in image (scripts/docker/base-images.sh)" >&2; exit 1; } ;;
  esac
done
