#!/usr/bin/env bash
# Installs what the suite needs on a fresh Debian machine: pnpm (via npm), the node packages (better-sqlite3 is
# compiled from source), and with --test the real peers and clients the tests drive (Debian's packages).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if ! command -v pnpm >/dev/null 2>&1; then
  echo "installing pnpm 10 with npm (corepack cannot reach this registry's metadata; pnpm 11 needs Node 22)"
  npm install -g pnpm@10 >/dev/null
fi

# Debian packages: runtime needs none; tests need the real peers and clients.
apt_pkgs=()
if [ "$want_test" = 1 ]; then
  # sq (Sequoia): makes the first-party attestations the third_party_certs "attested" rule is tested against
  for p in sks gnupg dirmngr nginx debian-keyring wrk docker.io docker-compose debootstrap iptables iproute2 chromium sqlite3 procps curl sq; do
    dpkg -s "$p" >/dev/null 2>&1 || apt_pkgs+=("$p")
  done
fi
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${apt_pkgs[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "installing Debian packages: ${apt_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi

# Node packages; the lock file pins everything. better-sqlite3 must have its native binding, compiled here even where
# a prebuilt one could be downloaded: our patch (patches/) lets its SQLite map a whole large store (db_reader_mmap_mib).
export npm_config_build_from_source=better-sqlite3
if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  pnpm install --frozen-lockfile
fi
node -e "require('$(pwd)/node_modules/.pnpm/node_modules/better-sqlite3')(':memory:').close()" 2>/dev/null || {
  echo "better-sqlite3 has no native binding; rebuilding it from source"
  pnpm rebuild better-sqlite3
}
