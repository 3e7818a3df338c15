#!/bin/sh
# nginx image start-up step (before the template is filled) for a cluster: with SKS_DB_NODES set to the nodes' HKP
# addresses ("node1:11371 node2:11371 ..."), write the upstream block `sks_db` that the template passes requests to
# (SKS_DB_UPSTREAM=sks_db). Without SKS_DB_NODES (one node) it does nothing.
# Health checks are nginx open source's passive ones: a node that refuses or resets a connection, times out, or
# answers 502/503/504 (the template's proxy_next_upstream) counts a failure, and the request goes on to the next node;
# after NGINX_MAX_FAILS failures (default 1) within NGINX_FAIL_TIMEOUT (default 10s) the node gets no requests for
# NGINX_FAIL_TIMEOUT, then one request tries it again (docs/OPERATIONS.md, "A cluster").
# Outside the image (scripts/run-cluster.mjs, the tests): sh 12-sks-upstream.sh OUTFILE
set -eu
[ -n "${SKS_DB_NODES:-}" ] || exit 0
out=${1:-/etc/nginx/conf.d/sks-upstream.conf}
max_fails=${NGINX_MAX_FAILS:-1}
fail_timeout=${NGINX_FAIL_TIMEOUT:-10s}
{
  echo "# written by 12-sks-upstream.sh from SKS_DB_NODES=\"$SKS_DB_NODES\""
  echo "upstream sks_db {"
  for node in $SKS_DB_NODES; do
    echo "    server $node max_fails=$max_fails fail_timeout=$fail_timeout;"
  done
  # Connections to the nodes are reused, and dropped before sks-db would close them idle (keepalive_timeout_ms,
  # 5 s): nginx never sends a request on a connection the node is closing.
  echo "    keepalive 16;"
  echo "    keepalive_timeout 4s;"
  echo "}"
} > "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
