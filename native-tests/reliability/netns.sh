# Sourced by the reliability suites: network namespaces and processes that are cleaned up
# however the suite ends. Every namespace name carries the suite's PID (tpx-PID-ROLE), every
# process is ended by its PID, and nothing here touches the host's own interfaces or rules:
# veth pairs are created directly inside the namespaces, iptables/tc run only via `ip netns exec`.

REL_NAMESPACES=()
REL_PIDS=()
REL_TMP=""

# rel_ns VAR ROLE: creates tpx-$$-ROLE with lo up and stores its name in VAR (no subshell,
# so that the cleanup list sees it).
rel_ns() {
  local -n out=$1
  local name="tpx-$$-$2"
  ip netns add "$name" || return 1
  REL_NAMESPACES+=("$name")
  ip -n "$name" link set lo up
  out=$name
}

# rel_link NS_A IF_A ADDR_A/LEN NS_B IF_B ADDR_B/LEN: a veth pair between two namespaces.
rel_link() {
  ip -n "$1" link add "$2" type veth peer name "$5" netns "$4" || return 1
  ip -n "$1" addr add "$3" dev "$2" && ip -n "$1" link set "$2" up &&
  ip -n "$4" addr add "$6" dev "$5" && ip -n "$4" link set "$5" up
}

rel_track() { REL_PIDS+=("$1"); }

# Ends every process this suite started (SIGTERM, then SIGKILL), and any process still
# inside its namespaces, then deletes the namespaces (which removes their links and rules).
rel_cleanup() {
  local pid ns
  for pid in "${REL_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${REL_PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for ns in "${REL_NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  REL_PIDS=() REL_NAMESPACES=()
  [ -n "$REL_TMP" ] && rm -rf "$REL_TMP"
}
trap rel_cleanup EXIT
trap 'exit 130' INT TERM

# The suite's tally: rel_check OK NAME WHY prints "NAME: passed" or "NAME: FAILED (WHY)".
rel_check() {
  if [ "$1" = 1 ]; then echo "$2: passed"; else echo "$2: FAILED ($3)"; fi
}

# rel_total LOG...: prints the closing "N passed, M failed" line over every check line in the logs.
rel_total() {
  local p f
  p=$(cat "$@" | grep -c ': passed$')
  f=$(cat "$@" | grep -c ': FAILED (')
  echo "$p passed, $f failed"
  [ "$f" -eq 0 ] && [ "$p" -gt 0 ]
}

# rel_wait_listening PID PORT SECONDS: until PID's namespace has a listener on PORT (no probe
# connection: /proc/PID/net/tcp is that namespace's table). 0 when listening, 1 otherwise.
rel_wait_listening() {
  local pid=$1 hexport deadline=$((SECONDS + $3))
  hexport=$(printf ':%04X' "$2")
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    if awk -v p="$hexport" '$2 ~ p"$" && $4 == "0A" { found = 1 } END { exit !found }' \
         "/proc/$pid/net/tcp" "/proc/$pid/net/tcp6" 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# rel_fd_count PID: open descriptors of PID.
rel_fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# rel_wait_fds PID WANT SECONDS: until PID has at most WANT descriptors; prints the last count.
rel_wait_fds() {
  local n deadline=$((SECONDS + $3))
  while :; do
    n=$(rel_fd_count "$1")
    if [ "$n" -le "$2" ] || [ $SECONDS -ge $deadline ]; then echo "$n"; return; fi
    sleep 0.1
  done
}

# rel_has_option BINARY OPTION: whether BINARY --help mentions OPTION (for options other
# branches are adding: --metrics, --idle-timeout).
rel_has_option() { "$1" --help 2>&1 | grep -q -- "$2"; }
