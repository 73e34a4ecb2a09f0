#!/usr/bin/env bash
# Proves the grader on good and broken proxies, then runs a small stress.
#   ./tcpproxy, refproxy and refproxy --splice must pass every phase (classic and --extra);
#   each broken proxy must fail EXACTLY the phases listed for it (--only keeps those runs short).
# usage: native-test.sh GRADER TCPPROXY REFPROXY STRESS
set -uo pipefail
[ $# -eq 4 ] || { echo "usage: native-test.sh GRADER TCPPROXY REFPROXY STRESS" >&2; exit 2; }
GRADER=$1 TCPPROXY=$2 REFPROXY=$3 STRESS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
LOGS=$(mktemp -d)
pids=()
# The grader and stress kill their own proxies on SIGTERM.
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait; rm -rf "$LOGS"' EXIT
names=() expects=()

# grade NAME "Expected phase|Other expected phase" grader-args...   (in the background)
grade() {
  local name=$1 expect=$2; shift 2
  "$GRADER" "$@" > "$LOGS/$name.log" 2>&1 &
  pids+=($!); names+=("$name"); expects+=("$expect")
}

failures=0
# Waits for every run started so far and checks each against its expectation.
check_wave() {
  local i rc got
  for i in "${!names[@]}"; do
    wait "${pids[$i]}"; rc=$?
    got=$(sed -n 's/^\(.*\): FAILED (.*$/\1/p' "$LOGS/${names[$i]}.log" | sort | paste -sd'|')
    local want
    want=$(tr '|' '\n' <<< "${expects[$i]}" | sed '/^$/d' | sort | paste -sd'|')
    echo "=== ${names[$i]}: expected failures: ${want:-none}"
    # A broken proxy's own "N passed, M failed" is expected; indent it so no
    # log reader takes it for this suite's closing line.
    if [ -n "$want" ]; then sed 's/^/    | /' "$LOGS/${names[$i]}.log"; else cat "$LOGS/${names[$i]}.log"; fi
    if [ "$got" != "$want" ] || ! tail -1 "$LOGS/${names[$i]}.log" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$' \
       || { [ -z "$want" ] && [ "$rc" -ne 0 ]; } || { [ -n "$want" ] && [ "$rc" -eq 0 ]; }; then
      echo "!!! ${names[$i]}: got failures '${got:-none}' (exit $rc), expected '${want:-none}'"
      failures=$((failures + 1))
    else
      echo "--- ok: ${names[$i]} (exit $rc)"
    fi
  done
  pids=() names=() expects=()
}

start=$SECONDS
# Wave 1: the two good proxies, every phase (CPU-heavy phases; two runs side by side on 2 cores).
grade tcpproxy "" --extra "$TCPPROXY"
grade refproxy "" --extra "$REFPROXY"
check_wave

# Wave 2: broken proxies, only the phases that matter plus a couple that must pass.
grade refproxy-no-eof "One-way shutdown|Half-close from the server side" --only 1,6,7,13 "$REFPROXY" --break=no-eof
grade refproxy-unbounded "Mix of blocked and normal|Timeout of lazy forward client|Timeout of lazy reverse client" \
  --only 1,5,9,10 "$REFPROXY" --break=unbounded
grade refproxy-no-timeout "Timeout of lazy forward client|Timeout of lazy reverse client" --only 1,8,9,10 "$REFPROXY" --break=no-timeout
grade refproxy-idle-timeout "Non-timeout of active client" --only 1,7,8 "$REFPROXY" --break=idle-timeout
grade refproxy-blocking "Mix of blocked and normal|Slow readers and round-trip p99" --only 1,5,15 "$REFPROXY" --break=blocking
grade refproxy-keep-on-error "Early close|Client RST mid-transfer" --only 1,7,16 "$REFPROXY" --break=keep-on-error
# refproxy's zero-copy mode, every phase: the benchmarks' splice baseline keeps every rule too.
grade refproxy-splice "" --extra "$REFPROXY" --splice
# A 256 KiB buffer in a 64 KiB pipe: the pipe fills before the byte count does, so every phase
# whose reader stalls takes the "pipe out of slots" path (stop reading until the writer drains).
grade refproxy-splice-bigbuf "" --extra "$REFPROXY" --splice --buffer-size 262144
grade socat "Timeout of lazy forward client|Timeout of lazy reverse client" --only 1,2,4,6,7,8,9,10 "$HERE/grader/socat-proxy.sh"
"$STRESS" -n 500 -t 3 "$TCPPROXY" > "$LOGS/stress.log" 2>&1 &
stress_pid=$!
check_wave
wait "$stress_pid"; rc=$?
pids=()
echo "=== stress, 500 connections for 3 s through $TCPPROXY"
cat "$LOGS/stress.log"
if [ "$rc" -ne 0 ]; then echo "!!! stress failed (exit $rc)"; failures=$((failures + 1)); else echo "--- ok: stress"; fi

echo "native-test: $failures problem(s) in $((SECONDS - start)) s"
[ "$failures" -eq 0 ]
