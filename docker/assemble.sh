#!/bin/sh
# Build stage of the service images (docker/sks.Dockerfile): installs the workspace and compiles it once, then
# assembles in OUT/<service> (default OUT=/out) what each runtime image needs: production node_modules, the
# service's dist/ and those of the workspace packages it imports, and sks-db's built-in web pages.
# Usage (from the repository root): sh docker/assemble.sh [OUT]
set -eu
out=${1:-/out}
pkgs_of() {
  case "$1" in
    sks-db) echo "keystore hkp service sks-db" ;;
    sks-recon) echo "keystore hkp service sks-recon" ;;
    sks-cron) echo "keystore hkp service sks-admin sks-cron" ;;  # the cron image also carries sks-admin (docs/OPERATIONS.md)
  esac
}

pnpm install --frozen-lockfile
pnpm exec tsc -b packages/keystore packages/hkp packages/service packages/sks-db packages/sks-recon packages/sks-admin packages/sks-cron
# A fresh production install (from the local store) without the development dependencies (compilers, test
# clients); an in-place --prod install leaves them in the virtual store.
rm -rf node_modules packages/*/node_modules
pnpm install --frozen-lockfile --prod --config.confirmModulesPurge=false
# Only what runs: better-sqlite3's compiled binding without the SQLite sources, object files and static library it
# was built from (27 MB), and openpgp's node builds without its browser bundles and source maps (12 MB). The
# packages' own loaders find what is left (bindings -> build/Release/better_sqlite3.node; openpgp's "exports").
for d in node_modules/.pnpm/better-sqlite3@*/node_modules/better-sqlite3; do
  rm -rf "$d/deps" "$d/src" "$d/build/deps" "$d/build/Release/obj" "$d/build/Release/obj.target" \
    "$d/build/Release/sqlite3.a" "$d/build/Release/test_extension.node"
done
for d in node_modules/.pnpm/openpgp@*/node_modules/openpgp/dist; do
  rm -rf "$d/lightweight" "$d"/openpgp.* "$d"/node/*.map
done

for service in sks-db sks-recon sks-cron; do
  dest=$out/$service
  mkdir -p "$dest/packages"
  cp -a package.json node_modules "$dest/"
  for p in $(pkgs_of "$service"); do
    mkdir -p "$dest/packages/$p"
    cp -a "packages/$p/package.json" "packages/$p/dist" "$dest/packages/$p/"
    if [ -d "packages/$p/node_modules" ]; then cp -a "packages/$p/node_modules" "$dest/packages/$p/"; fi
  done
  cp -a docker/sksconf.docker "$dest/sksconf.docker"
done
mkdir -p "$out/sks-db/packages/sks-db/src"
cp -a packages/sks-db/src/web "$out/sks-db/packages/sks-db/src/"
