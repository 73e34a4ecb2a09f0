# Sourced by the dist/ check scripts: one named check at a time, counted.
# check NAME COMMAND...: passes when the command succeeds; its output is shown on failure.
passed=0 failed=0

check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "$name: passed"; passed=$((passed + 1))
  else
    echo "$name: FAILED"; printf '%s\n' "$out" | sed 's/^/    /'; failed=$((failed + 1))
  fi
}
