#!/usr/bin/env bash
# Progress of long work seen from another session (src/progress.c, docs/progress.md):
#   1. a job in one session (a slow PL/pgSQL loop over correlate._progress_*) is a row of
#      correlate.progress in another, its done grows, and the row goes when the job ends;
#   2. NOTICEs come at most once per correlate.progress_notice_interval (none at 0, none
#      when the interval is longer than the job, at least one and at most one a second at 1s);
#   3. pg_cancel_backend stops the job and its row goes with it;
#   4. ingest_file reading a FIFO fed a megabyte at a time: the row shows the bytes read
#      (total unknown: a FIFO has no size), and goes when the file ends;
#   5. without correlate in shared_preload_libraries (the cluster restarted so), another
#      session sees no row, the job's own session still sees its row and gets NOTICEs.
# Waits poll with a deadline, so a loaded machine makes the test slower, not flaky.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
db=corr_progress
tmp=$(mktemp -d /tmp/correlate-progress.XXXXXX)
chmod 755 "$tmp"
conf_changed=
cleanup() {
  exec 3>&- 2>/dev/null || true
  if [ -n "$conf_changed" ]; then
    psql -X -q -d postgres -c 'ALTER SYSTEM RESET shared_preload_libraries' >/dev/null 2>&1 || true
    pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" restart >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do pg_isready -q && break; sleep 1; done
  fi
  dropdb --if-exists $db >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
dropdb --if-exists $db; createdb $db
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }
q -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION correlate' -c "SELECT correlate.grant_tenant('default', 'correlate_reader')" >/dev/null
fail() { echo "FAIL: $*"; exit 1; }

# wait_for SQL: polls until the query prints t (60 s deadline)
wait_for() {
  local i
  for i in $(seq 1 600); do
    [ "$(q -c "$1")" = t ] && return 0
    sleep 0.1
  done
  fail "timed out waiting for: $1"
}

# A job of N steps, one every 0.1 s, with the given notice interval.
slow_job() {  # slow_job N INTERVAL
  q -c "SET correlate.progress_notice_interval = '$2'" -c "DO \$\$ BEGIN
    PERFORM correlate._progress_begin('slow test', $1, 'ticks');
    FOR i IN 1..$1 LOOP PERFORM pg_sleep(0.1); PERFORM correlate._progress_advance(i); END LOOP;
    PERFORM correlate._progress_end(); END \$\$"
}

echo "== 1. another session sees the job move"
slow_job 40 0 2>"$tmp/a.err" &
job=$!
wait_for "SELECT EXISTS (SELECT 1 FROM correlate.progress WHERE command = 'slow test' AND done >= 1)"
first=$(q -c "SELECT done FROM correlate.progress WHERE command = 'slow test'")
row=$(q -c "SELECT tenant || '|' || total || '|' || unit || '|' || (started <= updated) || '|' || (pid <> pg_backend_pid()) FROM correlate.progress")
[ "$row" = "default|40|ticks|true|true" ] || fail "unexpected row: $row"
wait_for "SELECT EXISTS (SELECT 1 FROM correlate.progress WHERE command = 'slow test' AND done > $first)"
later=$(q -c "SELECT COALESCE(max(done), 40) FROM correlate.progress WHERE command = 'slow test'")
echo "done went from $first to $later of 40"
wait "$job"
[ "$(q -c 'SELECT count(*) FROM correlate.progress')" = 0 ] || fail "a row is left after the job ended"
grep -q NOTICE "$tmp/a.err" && fail "interval 0 printed a NOTICE: $(cat "$tmp/a.err")"
echo "row gone after the end; no NOTICE at interval 0"

echo "== 2. NOTICE rate"
slow_job 20 1h 2>"$tmp/b.err"
n=$(grep -c NOTICE "$tmp/b.err" || true)
[ "$n" = 0 ] || fail "interval 1h printed $n NOTICEs"
start=$(date +%s.%N)
slow_job 30 1s 2>"$tmp/c.err"
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
n=$(grep -c NOTICE "$tmp/c.err" || true)
max=$(awk -v e="$elapsed" 'BEGIN { printf "%d", int(e) + 1 }')
echo "interval 1s: $n NOTICEs in ${elapsed}s (at most $max allowed)"
[ "$n" -ge 1 ] && [ "$n" -le "$max" ] || fail "NOTICE count $n out of [1, $max]: $(cat "$tmp/c.err")"
grep -m1 NOTICE "$tmp/c.err"
grep -m1 NOTICE "$tmp/c.err" | grep -qE 'NOTICE:  slow test, [0-9]+ of 30 ticks \([0-9]+%\), [0-9.]+ ticks/s' \
  || fail "NOTICE text: $(grep -m1 NOTICE "$tmp/c.err")"

echo "== 3. pg_cancel_backend"
slow_job 3000 0 2>"$tmp/d.err" &
job=$!
wait_for "SELECT EXISTS (SELECT 1 FROM correlate.progress WHERE command = 'slow test' AND done >= 2)"
[ "$(q -c "SELECT pg_cancel_backend(pid) FROM correlate.progress WHERE command = 'slow test'")" = t ] || fail "could not cancel"
if wait "$job"; then fail "the cancelled job succeeded"; fi
grep -q 'canceling statement due to user request' "$tmp/d.err" || fail "no cancel error: $(cat "$tmp/d.err")"
wait_for "SELECT NOT EXISTS (SELECT 1 FROM correlate.progress)"
echo "cancelled; row gone"

echo "== 4. ingest_file of a FIFO, a megabyte at a time"
mkfifo -m 644 "$tmp/flows.fifo"
line='2 123456789012 eni-0abc0000000000001 - - - - - - - 1742570089 1742570142 - NODATA'
awk -v l="$line" 'BEGIN { while (n < 3 * 1048576) { print l; n += length(l) + 1 } }' >"$tmp/flows.log"
q -c "SELECT events, rejected FROM correlate.ingest_file('vpc_flow', '$tmp/flows.fifo', 'skip')" >"$tmp/e.out" 2>"$tmp/e.err" &
job=$!
exec 3<>"$tmp/flows.fifo"   # read-write: opening does not wait for the server
for mb in 1 2; do
  timeout 120 dd if="$tmp/flows.log" bs=1M skip=$((mb - 1)) count=1 status=none >&3 || fail "the server does not read the FIFO"
  wait_for "SELECT EXISTS (SELECT 1 FROM correlate.progress WHERE command = 'ingest_file' AND done >= $mb * 1048576)"
  echo "  $(q -c "SELECT command || ': ' || done || ' ' || unit || ' of ' || COALESCE(total::text, 'unknown') FROM correlate.progress")"
done
[ "$(q -c "SELECT total IS NULL FROM correlate.progress WHERE command = 'ingest_file'")" = t ] || fail "a FIFO's total should be unknown"
timeout 120 dd if="$tmp/flows.log" bs=1M skip=2 status=none >&3 || fail "the server does not read the FIFO"
exec 3>&-
wait "$job" || fail "ingest_file failed: $(cat "$tmp/e.err")"
echo "  ingest_file returned $(cat "$tmp/e.out") (events|rejected)"
wait_for "SELECT NOT EXISTS (SELECT 1 FROM correlate.progress)"
echo "row gone after the ingest"

echo "== 5. without correlate preloaded"
conf_changed=1
psql -X -q -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_cron'" >/dev/null
pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" restart
for _ in $(seq 1 60); do pg_isready -q && break; sleep 1; done
[ "$(q -c 'SHOW shared_preload_libraries')" = pg_cron ] || fail "correlate is still preloaded"
slow_job 30 1s 2>"$tmp/f.err" &
job=$!
sleep 1.5
[ "$(q -c 'SELECT count(*) FROM correlate.progress')" = 0 ] || fail "another session sees a row without shared memory"
wait "$job"
grep -q 'NOTICE:  slow test' "$tmp/f.err" || fail "no NOTICE without preload: $(cat "$tmp/f.err")"
own=$(q -c "BEGIN" -c "SELECT correlate._progress_begin('own', 3)" -c "SELECT command || '|' || (pid = pg_backend_pid()) FROM correlate.progress" -c "COMMIT" | grep '|')
[ "$own" = "own|true" ] || fail "own job not visible without preload: $own"
echo "not preloaded: other sessions see nothing, the job's session sees its row, NOTICEs still come"
psql -X -q -d postgres -c 'ALTER SYSTEM RESET shared_preload_libraries' >/dev/null
pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" restart
for _ in $(seq 1 60); do pg_isready -q && break; sleep 1; done
conf_changed=
[ "$(q -c 'SHOW shared_preload_libraries')" = pg_cron,correlate ] || fail "preload not restored: $(q -c 'SHOW shared_preload_libraries')"
echo "preload restored"
