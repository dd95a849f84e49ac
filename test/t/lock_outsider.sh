#!/usr/bin/env bash
# No role outside a tenant can stall that tenant's serialised work. A role with no
# correlate privilege holds every advisory key the per-tenant locks once used (ingest of
# a source, rescore, correlate, refresh_policies, the leases of an address) and tries to
# lock correlate.work_lock itself; a writer of another tenant tries the tenant's rows.
# Tenant tb's ingest, record_events, rescore, correlate, refresh_policies and
# record_ip_lease must then all finish without waiting (lock_timeout 3s).
set -euo pipefail
cd "$(dirname "$0")/../.."
db=corr_lock_outsider
trap 'psql -X -q -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"'$db'"' AND pid <> pg_backend_pid()" >/dev/null 2>&1 || true' EXIT
dropdb --if-exists $db
createdb $db
psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION correlate;
DROP ROLE IF EXISTS lock_outsider;
DROP ROLE IF EXISTS lock_writer_tb;
DROP ROLE IF EXISTS lock_writer_ta;
CREATE ROLE lock_outsider;
CREATE ROLE lock_writer_tb IN ROLE correlate_writer;
CREATE ROLE lock_writer_ta IN ROLE correlate_writer;
SELECT correlate.grant_tenant('tb', 'lock_writer_tb');
SELECT correlate.grant_tenant('ta', 'lock_writer_ta');
SQL

# The outsider: every key the old advisory locks of tenant tb used, held for a minute.
psql -X -q -d $db >/dev/null 2>&1 <<'SQL' &
SET ROLE lock_outsider;
SELECT pg_advisory_lock(hashtextextended('tb/cloudtrail', 7022)),
       pg_advisory_lock(hashtextextended('tb/api', 7022)),
       pg_advisory_lock(hashtextextended('correlate.rescore/tb', 7124)),
       pg_advisory_lock(hashtextextended('correlate.correlate/tb', 7125)),
       pg_advisory_lock(hashtextextended('correlate.refresh_policies/tb', 7123)),
       pg_advisory_lock(7021, hashtext('tb/10.0.1.57') & 1023);
SELECT pg_sleep(60);
SQL
for _ in $(seq 1 100); do
  held=$(psql -X -A -t -d $db -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
  [ "$held" -ge 6 ] && break
  sleep 0.1
done
[ "$held" -ge 6 ] || { echo "the outsider did not get its locks ($held)"; exit 1; }

# Neither the outsider nor another tenant's writer can lock tb's rows of work_lock.
out=$(psql -X -A -t -d $db 2>&1 <<'SQL' || true
\set VERBOSITY terse
SET ROLE lock_outsider;
SELECT * FROM correlate.work_lock FOR UPDATE;
SELECT correlate._work_lock('tb', 'rescore');
RESET ROLE;
SET ROLE lock_writer_ta;
SET correlate.tenant = 'ta';
SELECT correlate._work_lock('tb', 'rescore');
SQL
)
echo "$out"
[ "$(grep -c 'permission denied' <<<"$out")" -eq 2 ] && grep -q 'row-level security' <<<"$out" \
  || { echo "an outsider or another tenant's writer could reach tb's work_lock"; exit 1; }

# Tenant tb's work, each call under a 3 s lock timeout, while the outsider holds its keys.
psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
\set VERBOSITY terse
SET ROLE lock_writer_tb;
SET correlate.tenant = 'tb';
SET lock_timeout = '3s';
SELECT events FROM correlate.ingest('cloudtrail',
  '{"Records":[{"eventVersion":"1.08","eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"10.0.1.57","eventID":"e-1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"}}]}');
SELECT count(*) FROM correlate.record_events(ARRAY['2026-11-20 10:01+00']::timestamptz[], ARRAY[6003], ARRAY['api'], ARRAY['a1']);
SELECT correlate.record_ip_lease('10.0.1.57', correlate.upsert_resource('k8s://c/ns/pod/p', 'k8s:pod'), '2026-11-01') IS NOT NULL AS leased;
SELECT resources >= 0 AS rescored FROM correlate.rescore(as_of => '2026-11-21');
SELECT count(*) >= 0 AS correlated FROM correlate.correlate();
SELECT policies >= 0 AS refreshed FROM correlate.refresh_policies();
SQL
echo "tenant tb's serialised work ran while an outsider held every old advisory key"
