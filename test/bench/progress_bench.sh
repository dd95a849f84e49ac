#!/usr/bin/env bash
# Cost of progress reporting (one command; not a test).
#
#   pg_virtualenv -v 15 -o shared_preload_libraries=pg_cron,correlate test/bench/progress_bench.sh
#
# On N generated CloudTrail events (gen_cloudtrail.py, ingested once) with the builtin
# detection pack loaded, medians of RUNS runs of the backend's own CPU seconds:
#   hook     the compiled rules over every event (correlate._sigma_match, as detect() calls
#            it) outside any job (baseline) and inside a 'detect' job, where each call adds
#            one to done (shared slot update, clock read, NOTICE check): the per-row cost
#   total    detect()'s count of the events in range (its total) against the whole detect():
#            the share of detect() spent counting
# Environment: RUNS (5), N (200000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-5}
N=${N:-200000}
dir=$(mktemp -d /tmp/progress_bench.XXXXXX)
chmod 755 "$dir"
db=progress_bench_$$
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
createdb "$db"
export PGDATABASE=$db
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
python3 "$here/gen_cloudtrail.py" "$N" >"$dir/ct.jsonl"
chmod 644 "$dir/ct.jsonl"
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION correlate;
SELECT count(*) FROM correlate.create_event_partitions(1, '2026-11-01');
SELECT count(*) FROM correlate.ingest_file('cloudtrail', '$dir/ct.jsonl');
SELECT count(*) FROM correlate.load_builtin_detections();
VACUUM ANALYZE correlate.event;
CREATE SCHEMA bench;
CREATE FUNCTION bench.cpu() RETURNS float8 LANGUAGE sql AS \$\$
  SELECT (f[12]::float8 + f[13]::float8) / 100.0
  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s \$\$;
SQL
echo "# $(q -c "SELECT version()" | cut -d, -f1); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); $(q -c 'SELECT count(*) FROM correlate.event') events, $RUNS runs"
echo "# correlate preloaded (shared slots): $(q -c "SELECT current_setting('shared_preload_libraries') LIKE '%correlate%'")"

# cpu SQL...: CPU seconds of the statements between two reads of the backend's clock
cpu() {
  { echo "SET max_parallel_workers_per_gather = 0; SET correlate.progress_notice_interval = 0;"
    echo 'SELECT bench.cpu() AS t0 \gset'
    for s in "$@"; do echo "$s;"; done
    echo "SELECT round((bench.cpu() - :t0)::numeric, 2);"; } | q | tail -1
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
match="SELECT count(*) FROM correlate.event e, unnest(correlate._sigma_match(e.source, e.raw, NULL)) x"

for _ in $(seq 1 "$RUNS"); do
  cpu "$match" >>"$dir/hook_off"
  cpu "BEGIN" "SELECT correlate._progress_begin('detect', NULL, 'events')" "$match" "COMMIT" >>"$dir/hook_on"
  cpu "SELECT count(*) FROM correlate.event e WHERE e.tenant = 'default' AND e.source IN
            (SELECT r.source FROM correlate.detection_rule r WHERE r.tenant = 'default' AND r.enabled)" >>"$dir/count"
  q -c "DELETE FROM correlate.detection"
  cpu "SELECT count(*) FROM correlate.detect(NULL, NULL)" >>"$dir/detect"
done
off=$(median <"$dir/hook_off"); on=$(median <"$dir/hook_on")
cnt=$(median <"$dir/count"); det=$(median <"$dir/detect")
printf '%-44s %8s s   (baseline)\n' "hook: _sigma_match over every event, no job" "$off"
printf '%-44s %8s s   ratio %s\n' "hook: the same inside a 'detect' job" "$on" "$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')"
printf '%-44s %8s s   (baseline)\n' "detect(NULL, NULL), all events" "$det"
printf '%-44s %8s s   ratio %s\n' "its total: count of the events in range" "$cnt" "$(awk -v a="$cnt" -v b="$det" 'BEGIN { printf "%.3f", a / b }')"
