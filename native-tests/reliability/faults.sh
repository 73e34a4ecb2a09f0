#!/usr/bin/env bash
# make faults: ./tcpproxy between a client and a server namespace over lossy, rate-limited
# veth links (and, where the kernel has sch_netem, delayed, jittered, reordered, duplicated
# ones), with every byte checked by the `faults` driver; see faults.c for the workloads.
#
#   cli (10.231.1.1) --vc/vp1-- prx (10.231.1.2 | 10.231.2.2 | 10.231.3.2) --vp2/vs-- srv (10.231.2.1)
#                                                                          --vp3/vg-- gone (10.231.3.1)
# The proxy forwards to srv; one pair is diverted (DNAT in prx, new connections only) to
# `gone`, whose link is taken down mid-transfer. The addresses exist only inside these
# namespaces, which have no route anywhere else.
#
# usage: faults.sh TCPPROXY FAULTS_DRIVER LOGDIR    (the proxy's log and the driver's output stay in LOGDIR)
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: faults.sh TCPPROXY FAULTS_DRIVER LOGDIR" >&2; exit 2; }
TCPPROXY=$1 DRIVER=$2 LOGDIR=$3
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"

LOSS=${FAULTS_LOSS:-0.01}        # per packet, at every receiving end of every link
RATE=${FAULTS_RATE:-100mbit}
STALL=${FAULTS_STALL:-3}
mkdir -p "$LOGDIR" || exit 2
LOG=$LOGDIR/proxy.log OUT=$LOGDIR/driver.out CHECKS=$LOGDIR/checks
: > "$CHECKS"
start=$SECONDS

rel_ns CLI cli && rel_ns PRX prx && rel_ns SRV srv && rel_ns GONE gone || { echo "faults: cannot create namespaces" >&2; exit 1; }
rel_link "$CLI" vc 10.231.1.1/24 "$PRX" vp1 10.231.1.2/24 &&
rel_link "$PRX" vp2 10.231.2.2/24 "$SRV" vs 10.231.2.1/24 &&
rel_link "$PRX" vp3 10.231.3.2/24 "$GONE" vg 10.231.3.1/24 &&
# The diverted connection keeps the source address chosen for srv: route its answers back.
ip -n "$GONE" route add 10.231.2.0/24 via 10.231.3.2 || { echo "faults: cannot create veth links" >&2; exit 1; }

# Real packets on the wire: no TSO/GSO super-packets for the loss rules and tbf to count as one.
for pair in "$CLI vc" "$PRX vp1" "$PRX vp2" "$SRV vs" "$PRX vp3" "$GONE vg"; do
  set -- $pair
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1
done

# netem where the kernel has it (on the proxy's side of each link), tbf everywhere else.
faults_ran="random loss ${LOSS} per packet at both ends of every link (iptables statistic)"
if ip netns exec "$PRX" tc qdisc add dev vp1 root netem delay 1ms 2>/dev/null; then
  for dev in vp1 vp2 vp3; do
    ip netns exec "$PRX" tc qdisc replace dev "$dev" root netem delay 2ms 1ms reorder 5% 50% duplicate 1%
  done
  tbf_ends=("$CLI vc" "$SRV vs" "$GONE vg")
  faults_ran+=", delay 2 ms with 1 ms jitter, reordering 5%, duplication 1% (netem, proxy side)"
  netem_note="netem available"
else
  tbf_ends=("$CLI vc" "$PRX vp1" "$PRX vp2" "$SRV vs" "$PRX vp3" "$GONE vg")
  netem_note="sch_netem is not in this kernel: delay, jitter, reordering and duplication NOT run"
fi
for pair in "${tbf_ends[@]}"; do
  set -- $pair
  ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "$RATE" burst 32kb latency 50ms
done
faults_ran+=", rate limit ${RATE} (tbf)"
for pair in "$CLI vc" "$PRX vp1" "$PRX vp2" "$SRV vs" "$PRX vp3" "$GONE vg"; do
  set -- $pair
  ip netns exec "$1" iptables -A INPUT -i "$2" -m statistic --mode random --probability "$LOSS" -j DROP
done
# Only the first connection the proxy makes goes to `gone` (nat sees a connection's first
# packet only; nth counts those). Deleting the rule afterwards would reset that connection.
ip netns exec "$PRX" iptables -t nat -A OUTPUT -p tcp -d 10.231.2.1 --dport 5000 \
  -m statistic --mode nth --every 1000000000 --packet 0 -j DNAT --to-destination 10.231.3.1:5000
# NAT needs conntrack, which by default takes a segment outside the window it tracked (after
# loss) as INVALID and leaves it untranslated: the proxy's kernel would then reset the pair.
ip netns exec "$PRX" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1
echo "faults: $netem_note"
echo "faults: running: $faults_ran"

ip netns exec "$PRX" "$TCPPROXY" 10.231.2.1 5000 4000 --bind 10.231.1.2 --stall-timeout "$STALL" -v 2> "$LOG" &
proxy=$!
rel_track "$proxy"
if ! rel_wait_listening "$proxy" 4000 15; then
  echo "faults: the proxy did not start listening" >&2; cat "$LOG" >&2; exit 1
fi
base_fds=$(rel_fd_count "$proxy")

"$DRIVER" --client-ns "/run/netns/$CLI" --server-ns "/run/netns/$SRV" --gone-ns "/run/netns/$GONE" \
  --proxy 10.231.1.2:4000 --server 10.231.2.1:5000 --gone 10.231.3.1:5000 --stall "$STALL" \
  --vanish "ip -n $GONE link set vg down" | tee "$OUT"
driver_rc=${PIPESTATUS[0]}
[ "$driver_rc" -le 1 ] || echo "faults driver: FAILED (exit $driver_rc: it broke, see above)" | tee -a "$CHECKS"

{
  alive=0; kill -0 "$proxy" 2>/dev/null && alive=1
  rel_check $alive "the proxy is still running" "it exited; log: $(tail -3 "$LOG" | tr '\n' ' ')"
  fds=$(rel_wait_fds "$proxy" "$base_fds" 15)
  rel_check $([ "$fds" -le "$base_fds" ] && echo 1 || echo 0) "every pair closed: the proxy's descriptors back to $base_fds" \
    "$fds open 15 s after the workloads ended"
  stalls=$(grep -v 'stall timeout' "$LOG" | grep -ci 'stall')   # close lines naming a stall abort
  rel_check $([ "$stalls" -eq 1 ] && echo 1 || echo 0) "exactly one stall abort (the vanished server's pair)" \
    "$stalls stall aborts in the proxy's log: $(grep -v 'stall timeout' "$LOG" | grep -i 'stall' | head -3 | tr '\n' ' ')"

  dropped=0 retrans=0 overlimits=0
  for ns in "$CLI" "$PRX" "$SRV" "$GONE"; do
    d=$(ip netns exec "$ns" iptables -L INPUT -v -x -n | awk '$3 == "DROP" { s += $1 } END { print s + 0 }')
    r=$(ip netns exec "$ns" cat /proc/net/snmp | awk '$1 == "Tcp:" && !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next }
                                                  $1 == "Tcp:" { print $c["RetransSegs"] }')
    o=$(ip netns exec "$ns" tc -s qdisc show | awk '/overlimits/ { for (i = 1; i < NF; i++) if ($(i + 1) == "overlimits") s += $i } END { print s + 0 }')
    dropped=$((dropped + d)) retrans=$((retrans + r)) overlimits=$((overlimits + o))
  done
  verified=$(sed -n 's/^bytes-verified //p' "$OUT")
  rel_check $([ "$dropped" -gt 0 ] && [ "$retrans" -gt 0 ] && echo 1 || echo 0) "the faults were real: packets dropped and retransmitted" \
    "$dropped dropped, $retrans retransmitted"
  echo "    # packets dropped: $dropped; TCP segments retransmitted: $retrans; tbf overlimits: $overlimits; bytes verified: ${verified:-0}"
  echo "faults-figures dropped=$dropped retransmits=$retrans overlimits=$overlimits verified=${verified:-0} seconds=$((SECONDS - start))"
} | tee -a "$CHECKS"

if grep -q 'FAILED' "$OUT" "$CHECKS"; then
  echo "--- the proxy's log (last 40 lines):"; tail -40 "$LOG"
fi
echo "faults: $((SECONDS - start)) s"
rel_total "$OUT" "$CHECKS"
