#!/usr/bin/env bash
# Runs every test step (make targets named on the command line), each to the
# end even when an earlier one failed, then prints ONE closing line:
#   N passed, M failed
# Counting: xunit's "Passed: N" / "Failed: N" summaries, and every unindented
# "N passed, M failed" line a step prints (the grader, the reliability suites).
# A step that exits non-zero without having counted a failure counts as one.
# Logs of each step: build/test-logs/STEP.log.
# usage: run-tests.sh STEP...
set -uo pipefail
cd "$(dirname "$0")/.."
logs=build/test-logs
mkdir -p "$logs"
passed=0 failed=0 broken=()
start=$SECONDS
for step in "$@"; do
  log="$logs/$step.log"
  echo "=== make $step"
  step_start=$SECONDS
  ${MAKE:-make} --no-print-directory "$step" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(sed -n -e 's/^ *Passed: *\([0-9][0-9]*\)$/\1/p' -e 's/^\([a-z-]*: \)\{0,1\}\([0-9][0-9]*\) passed, [0-9][0-9]* failed.*$/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(sed -n -e 's/^ *Failed: *\([0-9][0-9]*\)$/\1/p' -e 's/^\([a-z-]*: \)\{0,1\}[0-9][0-9]* passed, \([0-9][0-9]*\) failed.*$/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$rc" -ne 0 ] && broken+=("$step")
  passed=$((passed + p)) failed=$((failed + f))
  echo "=== $step: exit $rc, $p passed, $f failed, $((SECONDS - step_start)) s"
done
echo "=== make test: $((SECONDS - start)) s${broken[*]:+; failing steps: ${broken[*]}}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
