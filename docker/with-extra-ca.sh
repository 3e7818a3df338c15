#!/bin/sh
# Build stage: runs a command with the build argument EXTRA_CA (PEM text of the CA of a TLS-intercepting proxy in
# front of the npm registry), when one is given, added to what Node trusts (npm, pnpm, node-gyp). The runtime
# images do not carry it. Usage: sh docker/with-extra-ca.sh COMMAND [ARG...]
set -eu
if [ -n "${EXTRA_CA:-}" ]; then
  ca=$(mktemp)
  printf '%s\n' "$EXTRA_CA" > "$ca"
  # keep what the base image already adds
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$NODE_EXTRA_CA_CERTS" ]; then cat "$NODE_EXTRA_CA_CERTS" >> "$ca"; fi
  NODE_EXTRA_CA_CERTS=$ca
  export NODE_EXTRA_CA_CERTS
fi
exec "$@"
