#!/usr/bin/env bash
# Sets everything up, then runs every test (pg_regress, isolation, shell/TAP) twice on
# throwaway PostgreSQL 15 clusters with pg_cron preloaded: once on today's clock, once
# with the server's clock years ahead (CORRELATE_TEST_CLOCK, default five years from
# now), so an answer that holds only near the day it was written fails at once.
# Ends with one "total: N passed, N failed" line.
#
# The server process (user postgres) reads test files by path (ingest_file, pg_read_file),
# and may not be able to enter the folder this checkout lives in (/root is mode 700, so is
# `mktemp -d`). The suite therefore runs from a copy of the tree in a folder it can read.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

stage=$(mktemp -d /tmp/correlate-test.XXXXXX)
chmod 755 "$stage"
tar --exclude=./.git -cf - . | tar -xf - -C "$stage"
echo "running the suite from $stage (a copy the server can read)"

clock=${CORRELATE_TEST_CLOCK:-$(date -u -d '+5 years' '+%Y-%m-%d %H:%M:%S')}
run() {   # run LABEL [CLOCK]: the whole suite on a fresh cluster; prints its tally line
  (cd "$stage" && CORRELATE_TEST_LABEL=$1 CORRELATE_TEST_CLOCK=${2:-} \
     pg_virtualenv -v 15 -o shared_preload_libraries=pg_cron,correlate -o cron.use_background_workers=on \
                   -o max_worker_processes=32 bash test/run_all.sh) 2>&1 | tee "$stage/test-$1.log"
}
set +e
run today
# CORRELATE_TEST_ONLY_TODAY=1 (development only): skip the second, clock-shifted run.
[ -n "${CORRELATE_TEST_ONLY_TODAY:-}" ] || run "clock-$(date -u -d "$clock" +%Y-%m-%d)" "$clock"
set -e

passed=0 failed=0
for log in "$stage"/test-*.log; do
  line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
  if [ -z "$line" ]; then echo "no tally in $log: counted as a failure"; failed=$((failed + 1)); continue; fi
  read -r p f < <(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line")
  passed=$((passed + p)); failed=$((failed + f))
done
[ "$failed" -eq 0 ] && rm -rf "$stage" || echo "test outputs kept in $stage"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
