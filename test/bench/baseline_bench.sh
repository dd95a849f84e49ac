#!/usr/bin/env bash
# Baseline detection benchmark (one command; not a test).
#
#   test/bench/baseline_bench.sh          # PGHOST/PGPORT of a local server with correlate installed
#   pg_virtualenv -o shared_preload_libraries=pg_cron test/bench/baseline_bench.sh
#
# N generated CloudTrail events (default 100,000) of IDS identities (default 500) over DAYS days (default 60):
# each identity has a home region, /24 network, client and five usual actions, and strays from each in about
# 1% of its calls.  Measured, medians of RUNS (3) runs, by the backend's own CPU time (parallel query off):
#   floor        one scan computing the six values the CloudTrail builtin baselines learn (no learning)
#   baselines    correlate.detect_baselines(NULL, NULL) with the six CloudTrail builtin baselines,
#                storing their detections (truncated before each run)
# and the ratio baselines / floor.
set -euo pipefail
N=${N:-100000}
IDS=${IDS:-500}
DAYS=${DAYS:-60}
RUNS=${RUNS:-3}
db=baseline_bench_$$
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; }
trap cleanup EXIT
createdb "$db"
export PGDATABASE=$db
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

q >/dev/null <<'SQL'
CREATE EXTENSION correlate;
SELECT count(*) FROM correlate.create_event_partitions(3, '2026-10-01');
CREATE SCHEMA bench;
CREATE FUNCTION bench.cpu() RETURNS float8 LANGUAGE sql AS $$
  SELECT (f[12]::float8 + f[13]::float8) / 100.0
  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s $$;
SQL
echo "# $(q -c "SELECT version()" | cut -d, -f1); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
q -c "SELECT count(*) FROM correlate.load_builtin_baselines() WHERE source = 'cloudtrail'" >/dev/null
q -c "DELETE FROM correlate.detection_rule WHERE source <> 'cloudtrail'"

# Deterministic: hashes of the event number pick identity, time and strays.
q >/dev/null <<SQL
SELECT sum(i.events) FROM generate_series(0, $N - 1, 10000) b,
LATERAL correlate.ingest('cloudtrail', (
  SELECT jsonb_build_object('Records', jsonb_agg(jsonb_build_object(
    'eventVersion', '1.08',
    'eventTime', to_char(timestamptz '2026-10-01' + (n::float8 / $N * $DAYS) * interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'eventSource', 'ec2.amazonaws.com',
    'eventName', (ARRAY['DescribeInstances', 'GetObject', 'ListBuckets', 'Decrypt', 'GetRole', 'PutObject',
                        'StartInstances', 'CreateUser', 'AssumeRole', 'GetSecretValue'])[1 + CASE WHEN h % 100 = 0 THEN 5 + (h / 100) % 5 ELSE (h / 7) % 5 END],
    'awsRegion', CASE WHEN h % 97 = 0 THEN 'ap-south-1' ELSE (ARRAY['us-east-1', 'eu-west-1', 'us-west-2'])[1 + id % 3] END,
    'sourceIPAddress', CASE WHEN h % 89 = 0 THEN '203.0.113.' || (h % 250) ELSE '10.' || (id % 250) || '.' || (id / 250) || '.' || (h % 200) END,
    'userAgent', CASE WHEN h % 83 = 0 THEN 'Boto3/1.34.11' ELSE 'aws-cli/2.15.0 Python/3.11' END,
    'userIdentity', jsonb_build_object('type', 'IAMUser', 'arn', 'arn:aws:iam::123456789012:user/u' || id,
                                       'accountId', '123456789012', 'userName', 'u' || id),
    'eventID', 'bench-' || n, 'requestID', 'req-' || n, 'eventType', 'AwsApiCall',
    'recipientAccountId', '123456789012')))::text
  FROM (SELECT n, (hashint4(n)::bigint & 2147483647) AS h, (hashint4(n + 7919)::bigint & 2147483647) % $IDS AS id
        FROM generate_series(b, LEAST(b + 9999, $N - 1)) n) x)) i;
SQL
q -c "VACUUM ANALYZE correlate.event" >/dev/null
n=$(q -c "SELECT count(*) FROM correlate.event")

cpu_of() {
  q <<SQL | tail -1
SET max_parallel_workers_per_gather = 0;
SELECT bench.cpu() AS c0 \gset
$*
SELECT round((bench.cpu() - :c0)::numeric, 2);
SQL
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
: >/tmp/bb_fl.$$; : >/tmp/bb_bl.$$
for r in $(seq "$RUNS"); do
  cpu_of "SELECT count(*) FROM correlate.event e, unnest(ARRAY['action', 'source_network', 'region', 'user_agent_family']) v(w)
          WHERE correlate._baseline_value(v.w, e.action, e.src_ip, e.raw) IS NOT NULL;" >>/tmp/bb_fl.$$
  q -c "TRUNCATE correlate.detection" >/dev/null
  cpu_of "SELECT sum(created) FROM correlate.detect_baselines(NULL, NULL);" >>/tmp/bb_bl.$$
done
fl=$(median </tmp/bb_fl.$$); bl=$(median </tmp/bb_bl.$$); rm -f /tmp/bb_fl.$$ /tmp/bb_bl.$$
q -c "SELECT title, count(*) FROM correlate.detection GROUP BY 1 ORDER BY 1" | sed 's/^/#   /'
awk -v n="$n" -v fl="$fl" -v bl="$bl" -v ids="$IDS" -v days="$DAYS" 'BEGIN {
  printf "baselines over %d stored events (%d identities, %d days), 6 CloudTrail rules (CPU s, events/s):\n", n, ids, days
  printf "  floor (values only)   %6.2f s  %8.0f ev/s\n", fl, n / fl
  printf "  detect_baselines()    %6.2f s  %8.0f ev/s  (%.1fx the floor)\n", bl, n / bl, bl / fl }'
