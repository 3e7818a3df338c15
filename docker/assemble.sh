#!/bin/sh
# Build stage of every image: installs the workspace, compiles one service, and assembles in OUT (default /out)
# what its runtime image needs: production node_modules, the service's dist/ and those of the workspace packages
# it imports, and sks-db's built-in web pages. Usage (from the repository root): sh docker/assemble.sh SERVICE [OUT]
set -eu
service=$1
out=${2:-/out}
case "$service" in
  sks-db) pkgs="keystore hkp service sks-db" ;;
  sks-recon) pkgs="keystore hkp service sks-recon" ;;
  sks-cron) pkgs="keystore hkp service sks-admin sks-cron" ;;  # the cron image also carries sks-admin (docs/OPERATIONS.md)
  *) echo "unknown service $service" >&2; exit 2 ;;
esac

pnpm install --frozen-lockfile
# shellcheck disable=SC2046
pnpm exec tsc -b $(for p in $pkgs; do printf 'packages/%s ' "$p"; done)
# A fresh production install (from the local store) without the development dependencies (compilers, test
# clients); an in-place --prod install leaves them in the virtual store.
rm -rf node_modules packages/*/node_modules
pnpm install --frozen-lockfile --prod --config.confirmModulesPurge=false

mkdir -p "$out/packages"
cp -a package.json node_modules "$out/"
for p in $pkgs; do
  mkdir -p "$out/packages/$p"
  cp -a "packages/$p/package.json" "packages/$p/dist" "$out/packages/$p/"
  if [ -d "packages/$p/node_modules" ]; then cp -a "packages/$p/node_modules" "$out/packages/$p/"; fi
done
case " $pkgs " in
  *" sks-db "*) mkdir -p "$out/packages/sks-db/src" && cp -a packages/sks-db/src/web "$out/packages/sks-db/src/" ;;
esac
cp -a docker/sksconf.docker "$out/sksconf.docker"
