#!/bin/sh
# Stop the dockerd that dockerd-start.sh started under $CTR (by its pid file, never by name), delete the bridge it
# created, and put back what dockerd changed on the host, as recorded in $CTR/host.before: docker's iptables chains
# and the rules in the built-in chains that lead to them or name our bridges (only when none existed before we
# started), the FORWARD policy, ip_forward, and the nft tables iptables created for it once they are empty. Run `docker-compose down -v` first: it removes the project's networks
# (br-*) and volumes. REMOVE_STATE=1 also deletes $CTR (images, build cache, log).
set -u
CTR=${CTR:?CTR: the folder given to dockerd-start.sh}
[ -d "$CTR" ] || exit 0
CTR=$(cd "$CTR" && pwd)
if [ -f "$CTR/dockerd.pid" ]; then
  pid=$(cat "$CTR/dockerd.pid")
  kill "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
  if kill -0 "$pid" 2>/dev/null; then echo "dockerd $pid still running after 30 s" >&2; exit 1; fi
fi
bridge=
if [ -f "$CTR/bridge.created" ]; then
  bridge=$(cat "$CTR/bridge.created")
  ip link del "$bridge" 2>/dev/null
  rm -f "$CTR/bridge.created"
fi
# Bridges of compose networks that `down` did not remove (a crashed test): dockerd names them br-<12 hex>.
for b in $(ip -o link show type bridge 2>/dev/null | sed -n 's/^[0-9]*: \(br-[0-9a-f]\{12\}\)[:@].*/\1/p'); do
  ip link del "$b" 2>/dev/null
done
if [ -f "$CTR/host.before" ]; then
  . "$CTR/host.before"
  if [ "${docker_chains:-}" = ours ]; then
    for table in nat filter; do
      iptables -t "$table" -S | grep -E '^-A (PREROUTING|OUTPUT|POSTROUTING|FORWARD|INPUT) ' \
        | grep -E -- "-j DOCKER|br-[0-9a-f]{12}|docker0${bridge:+|$bridge}" | sed 's/^-A /-D /' | while read -r rule; do
          # shellcheck disable=SC2086
          eval iptables -t "$table" $rule
        done
      for chain in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do
        iptables -t "$table" -F "$chain" 2>/dev/null && iptables -t "$table" -X "$chain" 2>/dev/null
      done
    done
  fi
  if [ -n "${forward_policy:-}" ]; then iptables -P FORWARD "$forward_policy"; fi
  if [ -n "${ip_forward:-}" ]; then echo "$ip_forward" >/proc/sys/net/ipv4/ip_forward; fi
  # nft tables that iptables created for dockerd: deleted when they hold no rule any more (ACCEPT policies only)
  if [ "${nft_tables+set}" = set ] && command -v nft >/dev/null 2>&1; then
    for t in filter nat; do
      case ",$nft_tables" in *",table ip $t,"*) continue ;; esac
      nft list table ip "$t" >/dev/null 2>&1 || continue
      # no rule, no chain of its own, no DROP policy: nothing in it but what an absent table means
      if [ "$(iptables-save -t "$t" | grep -c -e '^-A' -e '^:[^ ]* DROP' -e '^:[^ ]* - ')" = 0 ]; then
        nft delete table ip "$t"
      fi
    done
  fi
  rm -f "$CTR/host.before"
fi
rm -f "$CTR/docker.sock" "$CTR/dockerd.pid" "$CTR/dockerd.launcher.pid"
if [ "${REMOVE_STATE:-0}" = 1 ]; then
  # overlay mounts are gone with dockerd; anything left mounted under $CTR would make rm fail loudly, not silently
  rm -rf "$CTR"
fi
