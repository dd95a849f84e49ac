#!/usr/bin/env bash
# pg_dump / pg_restore of a database using correlate round-trips its user data:
# resources, relationships, events (default and monthly partitions), findings, leases,
# user-added kinds and tenant grants; identity sequences continue after restore.
set -euo pipefail
src=corr_dump_src dst=corr_dump_dst
dump=$(mktemp /tmp/correlate-dump.XXXXXX)
trap 'rm -f "$dump"; dropdb --if-exists $src; dropdb --if-exists $dst' EXIT
dropdb --if-exists $src; dropdb --if-exists $dst
createdb $src
psql -X -q -v ON_ERROR_STOP=1 -d $src <<'SQL'
CREATE EXTENSION correlate;
SET TIME ZONE 'UTC';
INSERT INTO correlate.resource_kind VALUES ('acme:widget', 'cloud', 'A user-defined kind');
SELECT correlate.grant_tenant('acme', 'correlate_writer');
SELECT correlate.link(correlate.internet(),
       correlate.upsert_resource('arn:aws:s3:::acme-customer-pii', 'aws:s3:bucket', criticality => 1,
                                 labels => '{"pii":"yes"}'), 'exposes', 0.3, '{"why":"public acl"}');
SELECT correlate.upsert_resource('widget://1', 'acme:widget');
SELECT correlate.record_event('2026-11-20 10:06+00', 6003, 'cloudtrail', uid => 'e1', action => 's3:GetObject',
       target => correlate.resource_id('arn:aws:s3:::acme-customer-pii'));
SELECT correlate.record_event('2025-01-01 00:00+00', 6003, 'cloudtrail', uid => 'old');
SELECT correlate.create_event_partitions(0, '2026-11-01');
SELECT correlate.record_event('2026-11-21 00:00+00', 4001, 'vpc_flow', uid => 'n1', dst_ip => '203.0.113.50');
SELECT correlate.record_finding(correlate.resource_id('arn:aws:s3:::acme-customer-pii'), 'misconfiguration', 'public-read', 'high');
SELECT correlate.record_ip_lease('10.0.1.57', correlate.internet(), '2026-11-01');
SQL

fingerprint() {
  psql -X -A -t -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SET TIME ZONE 'UTC';
SELECT 'resource', count(*), md5(string_agg(concat_ws('|', tenant, id, uid, kind, labels, props, criticality), ',' ORDER BY id)) FROM correlate.resource
UNION ALL SELECT 'relationship', count(*), md5(string_agg(concat_ws('|', id, src, dst, kind, likelihood, props), ',' ORDER BY id)) FROM correlate.relationship
UNION ALL SELECT 'event', count(*), md5(string_agg(concat_ws('|', id, ts, uid, source, action, target, tableoid::regclass), ',' ORDER BY id)) FROM correlate.event
UNION ALL SELECT 'finding', count(*), md5(string_agg(concat_ws('|', id, resource, check_id, severity), ',' ORDER BY id)) FROM correlate.finding
UNION ALL SELECT 'ip_lease', count(*), md5(string_agg(concat_ws('|', id, ip, resource, valid), ',' ORDER BY id)) FROM correlate.ip_lease
UNION ALL SELECT 'kinds', count(*), md5(string_agg(kind, ',' ORDER BY kind)) FROM correlate.resource_kind
UNION ALL SELECT 'tenants', count(*), md5(string_agg(tenant || role, ',' ORDER BY tenant, role)) FROM correlate.tenant_access;
SQL
}

before=$(fingerprint $src)
pg_dump -Fc -d $src -f "$dump"
createdb $dst
pg_restore -d $dst --exit-on-error "$dump"
after=$(fingerprint $dst)
echo "$before"
if [ "$before" != "$after" ]; then
  echo "dump/restore changed the data:"; diff <(echo "$before") <(echo "$after"); exit 1
fi
# New rows get fresh ids after restore (identity sequences were dumped too).
max_before=$(psql -X -A -t -d $dst -c "SELECT max(id) FROM correlate.resource")
new_id=$(psql -X -A -t -v ON_ERROR_STOP=1 -d $dst -c "SELECT correlate.upsert_resource('k8s://c/ns/pod/new', 'k8s:pod')")
[ "$new_id" -gt "$max_before" ] || { echo "identity restarted: new id $new_id <= $max_before"; exit 1; }
echo "dump/restore round-trip ok; new id $new_id > $max_before"
