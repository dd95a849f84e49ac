#!/usr/bin/env bash
# Crash and restart: committed rows survive an immediate shutdown (crash recovery),
# an in-flight transaction leaves nothing, and the extension works afterwards.
set -euo pipefail
. "$(dirname "$0")/../lib/cluster.sh"
db=corr_crash
dropdb --if-exists $db; createdb $db
trap 'dropdb --if-exists $db >/dev/null 2>&1 || true' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
CREATE EXTENSION correlate;
SELECT correlate.link(correlate.internet(), correlate.upsert_resource('arn:aws:s3:::b', 'aws:s3:bucket'), 'exposes');
SELECT correlate.record_event('2026-11-20 10:00+00', 6003, 'cloudtrail', uid => 'committed');
SQL
# An open transaction that has written but not committed when the server dies.
psql -X -q -d $db -c "BEGIN; SELECT correlate.upsert_resource('k8s://c/ns/pod/uncommitted', 'k8s:pod');
                      SELECT correlate.record_event(now(), 6003, 'api', uid => 'uncommitted'); SELECT pg_sleep(30);" \
  >/dev/null 2>&1 &
sleep 2
pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" stop -m immediate
wait || true
pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" start
for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
result=$(psql -X -A -t -v ON_ERROR_STOP=1 -d $db -c "
  SELECT (SELECT count(*) FROM correlate.resource) || ' resources, ' ||
         (SELECT count(*) FROM correlate.relationship) || ' relationship, ' ||
         (SELECT string_agg(uid, ',') FROM correlate.event) || ' events'")
echo "after crash: $result"
[ "$result" = "2 resources, 1 relationship, committed events" ]
psql -X -A -t -v ON_ERROR_STOP=1 -d $db -c "SELECT correlate.upsert_resource('k8s://c/ns/pod/after', 'k8s:pod') > 0" | grep -qx t
echo "writes work after restart"
