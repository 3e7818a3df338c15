#!/bin/sh
# Stand-ins for the registry images the Dockerfiles' FROM lines name, made without any registry (none is reachable
# from CI) and imported under those names into the engine at $DOCKER_HOST; real users pull the real ones.
#   node:20-bookworm-slim  debootstrap bookworm (minbase) + the host's Node 20 relocated to /usr/local, user node
#                          (1000:1000); npm_config_nodedir points node-gyp at the bundled headers (it would
#                          download them from nodejs.org otherwise when better-sqlite3 compiles)
#   nginx:1.27-alpine      debootstrap bookworm + Debian's nginx-light, gettext-base (envsubst), wget, openssl, an
#                          entry point like the official one (nginx-entrypoint.sh) and an `apk add` that checks
#                          (apk-standin.sh)
# Both are saved to $CACHE (default .cache/docker-base in the repository, git-ignored) and loaded from there on the
# next run while the host's Node version and these scripts are unchanged: debootstrap is the slow part.
# Usage (root, debootstrap, a running engine): DOCKER_HOST=unix://... sh scripts/docker/base-images.sh
#   MIRROR       Debian mirror (default: the host's apt source)
#   NODE_PREFIX  where the host's Node 20 lives (bin/node, lib/node_modules/npm, include/node); default from PATH
#   EXTRA_CA     PEM file of a TLS-intercepting proxy's CA, given to npm in the node image as NODE_EXTRA_CA_CERTS;
#                default: the host's own NODE_EXTRA_CA_CERTS when it names a file (what the host's npm trusts)
set -eu
if [ -z "${EXTRA_CA+set}" ] && [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$NODE_EXTRA_CA_CERTS" ]; then
  EXTRA_CA=$NODE_EXTRA_CA_CERTS
fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${CACHE:-$ROOT/.cache/docker-base}
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
NODE_PREFIX=${NODE_PREFIX:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")}
NODE_IMAGE=node:20-bookworm-slim
NGINX_IMAGE=nginx:1.27-alpine
mkdir -p "$CACHE"

nodever=$("$NODE_PREFIX/bin/node" -v)
case "$nodever" in v20.*) ;; *) echo "NODE_PREFIX=$NODE_PREFIX holds $nodever, not Node 20" >&2; exit 1 ;; esac
key=$( { echo "$nodever"; cat "$HERE/base-images.sh" "$HERE/nginx-entrypoint.sh" "$HERE/apk-standin.sh"; \
  if [ -n "${EXTRA_CA:-}" ]; then cat "$EXTRA_CA"; fi; } | sha256sum | cut -c1-16)
saved=$CACHE/base-images-$key.tar

if [ -s "$saved" ]; then
  docker load -i "$saved" >/dev/null
  echo "base images loaded from $saved"
  exit 0
fi

t0=$(date +%s)
WORK=$(mktemp -d "$CACHE/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
debootstrap --variant=minbase bookworm "$WORK/node" "$MIRROR" >"$WORK/debootstrap-node.log" 2>&1 &
p1=$!
debootstrap --variant=minbase --include=nginx-light,gettext-base,wget,openssl,ca-certificates \
  bookworm "$WORK/nginx" "$MIRROR" >"$WORK/debootstrap-nginx.log" 2>&1 &
p2=$!
wait $p1 || { tail -n 20 "$WORK/debootstrap-node.log" >&2; exit 1; }
wait $p2 || { tail -n 20 "$WORK/debootstrap-nginx.log" >&2; exit 1; }
echo "debootstrap: $(( $(date +%s) - t0 )) s"

# --- node:20-bookworm-slim: the host's Node 20 under /usr/local as in the official image
R=$WORK/node
mkdir -p "$R/usr/local/bin" "$R/usr/local/lib/node_modules" "$R/usr/local/include"
cp -a "$NODE_PREFIX/bin/node" "$R/usr/local/bin/node"
cp -a "$NODE_PREFIX/lib/node_modules/npm" "$R/usr/local/lib/node_modules/"
cp -a "$NODE_PREFIX/include/node" "$R/usr/local/include/node"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$R/usr/local/bin/npx"
if [ -d "$NODE_PREFIX/lib/node_modules/corepack" ]; then
  cp -a "$NODE_PREFIX/lib/node_modules/corepack" "$R/usr/local/lib/node_modules/"
  ln -sf ../lib/node_modules/corepack/dist/corepack.js "$R/usr/local/bin/corepack"
fi
extra_env=
if [ -n "${EXTRA_CA:-}" ]; then
  mkdir -p "$R/usr/local/share/ca-certificates"
  cp "$EXTRA_CA" "$R/usr/local/share/ca-certificates/extra-ca.pem"
  extra_env=NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/extra-ca.pem
fi
chroot "$R" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
env -u NODE_EXTRA_CA_CERTS chroot "$R" /usr/local/bin/node -e 'process.exit(0)'
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin
tar -C "$R" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${nodever#v}" \
  --change 'ENV npm_config_nodedir=/usr/local' \
  ${extra_env:+--change "ENV $extra_env"} \
  --change 'CMD ["node"]' \
  - "$NODE_IMAGE" >/dev/null

# --- nginx:1.27-alpine (docker import --change has no STOPSIGNAL: nginx stops on SIGTERM, a fast shutdown)
R=$WORK/nginx
rm -f "$R/etc/nginx/sites-enabled/default"
mkdir -p "$R/etc/nginx/conf.d" "$R/etc/nginx/templates" "$R/docker-entrypoint.d"
cp "$R/etc/nginx/sites-available/default" "$R/etc/nginx/conf.d/default.conf"  # the official image's default server
ln -sf /dev/stdout "$R/var/log/nginx/access.log"
ln -sf /dev/stderr "$R/var/log/nginx/error.log"
install -m 0755 "$HERE/nginx-entrypoint.sh" "$R/docker-entrypoint.sh"
install -m 0755 "$HERE/apk-standin.sh" "$R/sbin/apk"
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin
tar -C "$R" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENTRYPOINT ["/docker-entrypoint.sh"]' \
  --change 'CMD ["nginx", "-g", "daemon off;"]' \
  --change 'EXPOSE 80' \
  - "$NGINX_IMAGE" >/dev/null

rm -f "$CACHE"/base-images-*.tar
docker save -o "$saved.tmp" "$NODE_IMAGE" "$NGINX_IMAGE" && mv "$saved.tmp" "$saved"
echo "base images built in $(( $(date +%s) - t0 )) s, saved to $saved"
