#!/bin/sh
# nginx image start-up step (before the template is filled): HKPS needs a certificate. Without one mounted at
# $NGINX_TLS_CERT / $NGINX_TLS_KEY, make a self-signed one for $NGINX_HOSTNAME and say so; mount a real one
# (docs/OPERATIONS.md, "HKPS") for clients to trust it.
set -eu
if [ ! -s "$NGINX_TLS_CERT" ] || [ ! -s "$NGINX_TLS_KEY" ]; then
  mkdir -p "$(dirname "$NGINX_TLS_CERT")" "$(dirname "$NGINX_TLS_KEY")"
  openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=${NGINX_HOSTNAME}" \
    -addext "subjectAltName=DNS:${NGINX_HOSTNAME}" -keyout "$NGINX_TLS_KEY" -out "$NGINX_TLS_CERT" 2>/dev/null
  echo "sks: no TLS certificate at $NGINX_TLS_CERT: made a self-signed one for ${NGINX_HOSTNAME}; mount a real one there (docs/OPERATIONS.md, HKPS)"
fi
