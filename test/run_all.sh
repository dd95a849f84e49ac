#!/usr/bin/env bash
# Runs every suite against the cluster in the environment (PGHOST/PGPORT/PGUSER, as
# pg_virtualenv sets them) and ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
passed=0 failed=0
label=${CORRELATE_TEST_LABEL:-}

# CORRELATE_TEST_CLOCK=TIME (anything `date -d` reads): run with the server's clock there.
if [ -n "${CORRELATE_TEST_CLOCK:-}" ]; then
  . test/lib/shift_clock.sh
  shift_clock "$CORRELATE_TEST_CLOCK" || { echo "${label:+$label: }0 passed, 1 failed"; exit 1; }
fi

tally() {   # tally LOGFILE: add pg_regress's counts
  local p f
  p=$(grep -cE '^(ok|test) .* ok|^ok [0-9]+ ' "$1" || true)
  f=$(grep -cE ' FAILED|^not ok ' "$1" || true)
  passed=$((passed + p)); failed=$((failed + f))
}

echo "== pg_regress and isolation (make installcheck)"
# No progress NOTICE (docs/progress.md): one would show in an expected output whenever a job ran long.
PGOPTIONS="-c correlate.progress_notice_interval=0 ${PGOPTIONS:-}" make -s PG_CONFIG="$PG_CONFIG" installcheck >test/installcheck.log 2>&1
rc=$?
cat test/installcheck.log
tally test/installcheck.log
if [ $rc -ne 0 ]; then
  [ -f regression.diffs ] && { echo "== regression.diffs"; cat regression.diffs; }
  [ -f test/isolation/output_iso/regression.diffs ] && { echo "== isolation diffs"; cat test/isolation/output_iso/regression.diffs; }
  [ "$failed" -eq 0 ] && failed=1
fi

echo "== shell tests (test/t/*.sh)"
for t in test/t/*.sh; do
  [ -e "$t" ] || continue
  if bash "$t" >"test/t/$(basename "$t" .sh).log" 2>&1; then
    echo "ok    $t"; passed=$((passed + 1))
  else
    echo "FAIL  $t"; cat "test/t/$(basename "$t" .sh).log"; failed=$((failed + 1))
  fi
done

# A backend that died on a signal is a crash whatever the tests printed: fail the run.
. test/lib/cluster.sh
if [ -n "${CLUSTER_LOG:-}" ] && [ -r "$CLUSTER_LOG" ]; then
  if grep -E "terminated by signal|server process .* was terminated" "$CLUSTER_LOG" | grep -v "signal 9: Killed" ; then
    echo "FAIL  a server process crashed during the tests (see above; log $CLUSTER_LOG)"; failed=$((failed + 1))
  else
    echo "ok    no server process crashed"; passed=$((passed + 1))
  fi
fi

echo "${label:+$label: }$passed passed, $failed failed"
[ "$failed" -eq 0 ]
