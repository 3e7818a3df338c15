#!/bin/sh
# Start a private dockerd (Debian's docker.io) for the compose test: its state, socket, pid file and log all live
# under $CTR, with its own default bridge and its own address pool for compose's networks, so it never touches
# /var/lib/docker, /var/run/docker.sock or another engine on the machine. Records what it will change on the host
# (ip_forward, the FORWARD policy, whether docker's iptables chains existed, which nft tables existed) in $CTR/host.before for
# dockerd-stop.sh to put back.
# Usage (root): CTR=dir sh scripts/docker/dockerd-start.sh   then: export DOCKER_HOST=unix://$CTR/docker.sock
#   BRIDGE       our default bridge, created here (default sksctr0) with BRIDGE_CIDR (default 10.125.0.1/24)
#   POOL         address pool of compose's per-project networks (default base=10.126.0.0/16,size=24)
#   STORAGE      overlay2 (default) or vfs
#   DOCKERD_OPTS more dockerd flags; e.g. --userland-proxy=false (docs/OPERATIONS.md, "Recon behind docker")
set -eu
CTR=${CTR:?the folder of this engine state}
mkdir -p "$CTR"
CTR=$(cd "$CTR" && pwd)
BRIDGE=${BRIDGE:-sksctr0}
BRIDGE_CIDR=${BRIDGE_CIDR:-10.125.0.1/24}
POOL=${POOL:-base=10.126.0.0/16,size=24}
STORAGE=${STORAGE:-overlay2}

if [ -S "$CTR/docker.sock" ] && DOCKER_HOST="unix://$CTR/docker.sock" docker info >/dev/null 2>&1; then
  echo "dockerd already up: export DOCKER_HOST=unix://$CTR/docker.sock"
  exit 0
fi
if [ ! -f "$CTR/host.before" ]; then
  {
    echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
    echo "forward_policy=$(iptables -S FORWARD | sed -n 's/^-P FORWARD //p')"
    if iptables -t filter -S DOCKER >/dev/null 2>&1 || iptables -t nat -S DOCKER >/dev/null 2>&1; then
      echo "docker_chains=existed"
    else
      echo "docker_chains=ours"
    fi
    # iptables over nf_tables creates the nft tables `ip filter` and `ip nat` on first use: note which existed
    if command -v nft >/dev/null 2>&1; then echo "nft_tables='$(nft list tables 2>/dev/null | tr '\n' ',')'"; fi
  } >"$CTR/host.before"
fi
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  echo "$BRIDGE" >"$CTR/bridge.created"
fi
# shellcheck disable=SC2086
dockerd \
  --data-root "$CTR/data" \
  --exec-root "$CTR/exec" \
  --pidfile "$CTR/dockerd.pid" \
  --host "unix://$CTR/docker.sock" \
  --storage-driver "$STORAGE" \
  --bridge "$BRIDGE" \
  --default-address-pool "$POOL" \
  ${DOCKERD_OPTS:-} \
  >>"$CTR/dockerd.log" 2>&1 &
echo $! >"$CTR/dockerd.launcher.pid"
i=0
until DOCKER_HOST="unix://$CTR/docker.sock" docker info >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 60 ] || ! kill -0 "$(cat "$CTR/dockerd.launcher.pid")" 2>/dev/null; then
    echo "dockerd did not come up; its last log lines:" >&2
    tail -n 30 "$CTR/dockerd.log" >&2
    exit 1
  fi
  sleep 1
done
echo "dockerd up (pid $(cat "$CTR/dockerd.pid")): export DOCKER_HOST=unix://$CTR/docker.sock"
