#!/bin/sh
# Entry point of the sks-* images: on a fresh volume, put the docker sksconf and an empty membership in place (the
# services create the database themselves), then run the service in the foreground as PID 1.
set -eu
basedir=${SKS_BASEDIR:-/var/sks}
if [ ! -f "$basedir/sksconf" ]; then
  cp /app/sksconf.docker "$basedir/sksconf.tmp.$$" && mv "$basedir/sksconf.tmp.$$" "$basedir/sksconf"
fi
[ -f "$basedir/membership" ] || : > "$basedir/membership"
exec "$@"
