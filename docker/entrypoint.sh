#!/bin/sh
# Entry point of the sks-* images: on a fresh volume, put the docker sksconf and an empty membership in place (the
# services create the database themselves) and, on a cluster node, its peers; then run the service in the
# foreground as PID 1.
set -eu
basedir=${SKS_BASEDIR:-/var/sks}
if [ ! -f "$basedir/sksconf" ]; then
  cp /app/sksconf.docker "$basedir/sksconf.tmp.$$" && mv "$basedir/sksconf.tmp.$$" "$basedir/sksconf"
fi
[ -f "$basedir/membership" ] || : > "$basedir/membership"
# A node of the cluster profile (docker-compose.yml): the other nodes (SKS_CLUSTER_PEERS, their recon port 11370) in
# membership, each added once; lines the operator added (outside peers) stay.
for peer in ${SKS_CLUSTER_PEERS:-}; do
  grep -q "^$peer " "$basedir/membership" || echo "$peer 11370  # cluster node" >> "$basedir/membership"
done
exec "$@"
