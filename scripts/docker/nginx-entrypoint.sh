#!/bin/sh
# Entry point of the stand-in nginx base image (base-images.sh), doing what the official image's entry point does:
# run /docker-entrypoint.d/*.sh in order, then render every /etc/nginx/templates/*.template into
# /etc/nginx/conf.d/<name> substituting only defined environment variables (nginx's own $host etc. stay), then exec.
set -eu
if [ "${1:-}" = nginx ]; then
  for s in /docker-entrypoint.d/*.sh; do
    [ -x "$s" ] || continue
    echo "$0: running $s"
    "$s"
  done
  defined=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
  for t in /etc/nginx/templates/*.template; do
    [ -f "$t" ] || continue
    out=/etc/nginx/conf.d/$(basename "$t" .template)
    envsubst "$defined" <"$t" >"$out"
    echo "$0: rendered $t to $out"
  done
fi
exec "$@"
