#!/usr/bin/env bash
# Sigma detection benchmark (one command; not a test).
#
#   test/bench/detect_bench.sh            # PGHOST/PGPORT of a local server with correlate installed
#   pg_virtualenv -o shared_preload_libraries=pg_cron test/bench/detect_bench.sh
#
# 100 CloudTrail rules: SigmaHQ's 43 CloudTrail rules but aws_sts_assumerole_misuse (it matches every
# call made with a role, 80% of the generated records: a flood, not a detection), the builtin
# pack's 21 CloudTrail rules and 37 synthetic rules (sigma_bench_rules.py).  It measures, medians
# of RUNS runs, by the backend's own CPU time (one core; parallel query off):
#   ingest   correlate.ingest_file of CT_N generated CloudTrail records with no rule loaded and
#            with the 100 rules loaded (evaluated on every record; detections stored): the overhead
#   detect   over DETECT_N stored CloudTrail events: events/s of
#              C-match  the compiled rules alone (correlate._sigma_match over every event)
#              SQL      the same 100 rules as plain SQL predicates over the raw column
#                       (sigma_bench_rules.py sql: #>>, lower() =, ILIKE, ~), one LATERAL VALUES row per rule
#              detect() correlate.detect() over all of them, storing the detections
#            and the ratio C-match / SQL; the two must find the same (event, rule) pairs.
#
# Environment: RUNS (3), SQL_RUNS (RUNS; the SQL baseline is ~40x slower), CT_N (100000),
# DETECT_N (1000000), BENCH_DIR (where to write the generated files; default a temporary directory).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-3}
SQL_RUNS=${SQL_RUNS:-$RUNS}
CT_N=${CT_N:-100000}
DETECT_N=${DETECT_N:-1000000}
dir=${BENCH_DIR:-$(mktemp -d /tmp/detect_bench.XXXXXX)}
mkdir -p "$dir/rules"
chmod 755 "$dir" "$dir/rules"
db=detect_bench_$$
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; [ -n "${BENCH_DIR:-}" ] || rm -rf "$dir"; }
trap cleanup EXIT
createdb "$db"
export PGDATABASE=$db
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

q >/dev/null <<'SQL'
CREATE EXTENSION correlate;
SELECT count(*) FROM correlate.create_event_partitions(1, '2026-11-01');
CREATE SCHEMA bench;
CREATE FUNCTION bench.cpu() RETURNS float8 LANGUAGE sql AS $$
  SELECT (f[12]::float8 + f[13]::float8) / 100.0
  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s $$;
CREATE FUNCTION bench.reset() RETURNS void LANGUAGE sql SET client_min_messages = warning AS $$
  TRUNCATE correlate.event, correlate.resource, correlate.relationship, correlate.detection CASCADE $$;
SQL
echo "# $(q -c "SELECT version()" | cut -d, -f1); correlate $(q -c "SELECT correlate.build_info()->>'correlate'"); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

# The rules: files in $dir/rules, and the builtin pack.
for f in "$root"/test/data/sigma/rules/cloud/aws/cloudtrail/*.yml; do
  [ "$(basename "$f")" = aws_sts_assumerole_misuse.yml ] || cp "$f" "$dir/rules/"
done
python3 "$here/sigma_bench_rules.py" yaml 37 "$dir/rules/zz_synthetic.yml"
q -c "SELECT yaml FROM correlate.detection_pack WHERE name = 'cloudtrail'" >"$dir/rules/zz_builtin.yml"
chmod 644 "$dir"/rules/*
load_rules() {
  q -c "SELECT count(*) FROM correlate.load_sigma_file('$dir/rules')" >/dev/null
  q -c "SELECT count(*) FROM correlate.detection_rule WHERE source = 'cloudtrail'"
}
drop_rules() { q -c "DELETE FROM correlate.detection_rule" >/dev/null; }
echo "# rules: $(load_rules) CloudTrail rules"
python3 "$here/sigma_bench_rules.py" sql "$dir"/rules/*.yml >"$dir/predicates.sql"
drop_rules

echo "# generating $CT_N and $DETECT_N records in $dir"
python3 "$here/gen_cloudtrail.py" "$CT_N" --records-wrapper >"$dir/ct.json"
python3 "$here/gen_cloudtrail.py" "$DETECT_N" >"$dir/ct_big.jsonl"
chmod 644 "$dir"/*.json*

# cpu_of SQL...: the backend CPU seconds the statements took
cpu_of() {
  q <<SQL | tail -1
SET max_parallel_workers_per_gather = 0;
SELECT bench.cpu() AS c0 \gset
$*
SELECT round((bench.cpu() - :c0)::numeric, 2);
SQL
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# ---- ingest with and without rules --------------------------------------------------
: >"$dir/ing0"; : >"$dir/ing1"
for r in $(seq "$RUNS"); do
  drop_rules; q -c "SELECT bench.reset()" >/dev/null
  cpu_of "SELECT count(*) FROM correlate.ingest_file('cloudtrail', '$dir/ct.json');" >>"$dir/ing0"
  load_rules >/dev/null; q -c "SELECT bench.reset()" >/dev/null
  cpu_of "SELECT count(*) FROM correlate.ingest_file('cloudtrail', '$dir/ct.json');" >>"$dir/ing1"
done
dets=$(q -c "SELECT count(*) FROM correlate.detection")
i0=$(median <"$dir/ing0"); i1=$(median <"$dir/ing1")
awk -v a="$i0" -v b="$i1" -v n="$CT_N" -v d="$dets" 'BEGIN {
  printf "ingest %d CloudTrail records: no rules %.2f s CPU (%.0f rec/s), 100 rules %.2f s CPU (%.0f rec/s): %+.1f%% CPU; %d detections\n",
    n, a, n / a, b, n / b, (b / a - 1) * 100, d }'

# ---- detect over stored events -------------------------------------------------------
drop_rules; q -c "SELECT bench.reset()" >/dev/null
q -c "SELECT count(*) FROM correlate.ingest_file('cloudtrail', '$dir/ct_big.jsonl')" >/dev/null
q -c "VACUUM ANALYZE correlate.event" >/dev/null
n=$(q -c "SELECT count(*) FROM correlate.event")
load_rules >/dev/null
{ echo "CREATE TEMP TABLE sqlm AS SELECT e.id, v.r FROM correlate.event e, LATERAL (VALUES"
  cat "$dir/predicates.sql"
  echo ") v(r, m) WHERE e.source = 'cloudtrail' AND v.m;"; } >"$dir/sql_match.sql"
: >"$dir/cm"; : >"$dir/sq"; : >"$dir/dt"; : >"$dir/fl"
for r in $(seq "$RUNS"); do
  # the floor: reading every event's raw record and one key of it
  cpu_of "SELECT count(*) FROM correlate.event e WHERE e.raw ? 'eventName';" >>"$dir/fl"
  # a first call compiles the rules; the timed one runs over every event
  cpu_of "SELECT correlate._sigma_match('cloudtrail', '{}', NULL); SELECT count(*) FROM correlate.event e, unnest(correlate._sigma_match(e.source, e.raw, NULL)) m;" >>"$dir/cm"
  [ "$r" -gt "$SQL_RUNS" ] || cpu_of "$(cat "$dir/sql_match.sql") DROP TABLE sqlm;" >>"$dir/sq"
  q -c "TRUNCATE correlate.detection" >/dev/null
  cpu_of "SELECT sum(created) FROM correlate.detect(NULL, NULL);" >>"$dir/dt"
done
c_pairs=$(q -c "SELECT count(*) FROM correlate.event e, unnest(correlate._sigma_match(e.source, e.raw, NULL)) m")
s_pairs=$(q <<SQL | tail -1
$(cat "$dir/sql_match.sql")
SELECT count(*) FROM sqlm;
SQL
)
cm=$(median <"$dir/cm"); sq=$(median <"$dir/sq"); dt=$(median <"$dir/dt"); fl=$(median <"$dir/fl")
awk -v n="$n" -v cm="$cm" -v sq="$sq" -v dt="$dt" -v fl="$fl" -v cp="$c_pairs" -v sp="$s_pairs" 'BEGIN {
  printf "detect over %d stored events, 100 rules (CPU s, events/s):\n", n
  printf "  scan floor (raw ? eventName) %6.2f s %9.0f ev/s\n", fl, n / fl
  printf "  C-match (_sigma_match)       %6.2f s %9.0f ev/s\n", cm, n / cm
  printf "  detect() (stores %d)     %6.2f s %9.0f ev/s\n", cp, dt, n / dt
  printf "  SQL predicates               %6.2f s %9.0f ev/s\n", sq, n / sq
  printf "  C-match / SQL = %.1fx, detect() / SQL = %.1fx; (event, rule) matches: C %d, SQL %d\n", sq / cm, sq / dt, cp, sp }'
