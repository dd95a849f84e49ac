#!/usr/bin/env bash
# pg_dump / pg_restore of a database using correlate round-trips its user data:
# resources, relationships, events (default and monthly partitions), findings, leases,
# user-added kinds and tenant grants; identity sequences continue after restore.
# Incidents and their events, risk scores, toxic combinations and user-added rules
# (correlation rules with their steps, toxic rules) round-trip too; builtin rules
# are recreated by CREATE EXTENSION and not duplicated by the restore.
set -euo pipefail
cd "$(dirname "$0")/../.."
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
# The seed scenario in tenant acme: an incident, scores, toxic combinations; and
# user-added rules next to the builtin ones, and tuned factor weights.
psql -X -q -v ON_ERROR_STOP=1 -d $src >/dev/null <<'SQL'
SET TIME ZONE 'UTC';
SET correlate.tenant = 'acme';
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window)
VALUES ('detection-then-data', 'Detection then data access', 'A detector fires, then the workload''s identity reads data.', 'high', '10 minutes');
INSERT INTO correlate.correlation_step (rule, step, label, domains, rules, actions) VALUES
	('detection-then-data', 1, 'shell', ARRAY['workload'], ARRAY['terminal shell*'], NULL),
	('detection-then-data', 2, 'read', ARRAY['data'], NULL, ARRAY['s3:GetObject']);
INSERT INTO correlate.toxic_rule (name, description, factors, severity, bonus)
VALUES ('privileged-with-detections', 'privileged and a detector fired', ARRAY['privileged', 'detection'], 'critical', 10);
UPDATE correlate.risk_factor SET weight = 12.5 WHERE name = 'detection';
UPDATE correlate.risk_factor SET enabled = false WHERE name = 'excess_permissions';
UPDATE correlate.risk_factor SET weight = 20 WHERE name = 'privileged';
UPDATE correlate.risk_factor SET weight = default_weight WHERE name = 'privileged';
-- Explicit times: the seed's detections are from 2026-11-20 and count for 7 days
-- before as_of, so a rescore "as of now" would find none once that week is past.
SELECT count(*) FROM correlate.correlate();
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
UPDATE correlate.incident SET status = 'acknowledged' WHERE rule = 'detection-then-data';
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
UNION ALL SELECT 'tenants', count(*), md5(string_agg(tenant || role, ',' ORDER BY tenant, role)) FROM correlate.tenant_access
UNION ALL SELECT 'correlation_rule', count(*), md5(string_agg(concat_ws('|', name, title, severity, time_window, enabled, builtin), ',' ORDER BY name)) FROM correlate.correlation_rule
UNION ALL SELECT 'correlation_step', count(*), md5(string_agg(concat_ws('|', rule, step, label, domains, class_uids, actions, rules, min_severity, target_kinds, link), ',' ORDER BY rule, step)) FROM correlate.correlation_step
UNION ALL SELECT 'risk_factor', count(*), md5(string_agg(concat_ws('|', name, bit, weight, default_weight, enabled), ',' ORDER BY name)) FROM correlate.risk_factor
UNION ALL SELECT 'risk_factor_tuning', count(*), md5(string_agg(concat_ws('|', name, weight, enabled), ',' ORDER BY name)) FROM correlate.risk_factor_tuning
UNION ALL SELECT 'toxic_rule', count(*), md5(string_agg(concat_ws('|', name, factors, domains, severity, bonus, enabled, builtin), ',' ORDER BY name)) FROM correlate.toxic_rule
UNION ALL SELECT 'incident', count(*), md5(string_agg(concat_ws('|', tenant, id, rule, title, severity, status, anchor_event, first_ts, last_ts, entities, created_at, updated_at), ',' ORDER BY tenant, id)) FROM correlate.incident
UNION ALL SELECT 'incident_event', count(*), md5(string_agg(concat_ws('|', tenant, incident, event_id, event_ts, step), ',' ORDER BY tenant, incident, event_id)) FROM correlate.incident_event
UNION ALL SELECT 'risk_score', count(*), md5(string_agg(concat_ws('|', tenant, resource_id, score, reasons, scored_at), ',' ORDER BY tenant, resource_id)) FROM correlate.risk_score
UNION ALL SELECT 'toxic_combination', count(*), md5(string_agg(concat_ws('|', tenant, id, rule, resource_id, severity, reasons, evidence, first_seen, last_seen), ',' ORDER BY tenant, id)) FROM correlate.toxic_combination
UNION ALL SELECT 'correlation_watermark', count(*), md5(string_agg(concat_ws('|', tenant, last_event_id, last_event_ts, correlated_at), ',' ORDER BY tenant)) FROM correlate.correlation_watermark;
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
# The restored tenant rescored and correlated again: no new incident, the user rules
# still match, builtin rules exist once each, new incidents get fresh ids.
check=$(psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 -d $dst <<'SQL'
SET correlate.tenant = 'acme';
CREATE TEMP TABLE after_restore AS
SELECT (SELECT count(*) FROM correlate.correlate() c WHERE c.created) AS created,
       (SELECT toxic_combinations FROM correlate.rescore(as_of => '2026-11-21')) AS toxic;
-- a statement of its own: it must see what the rescore above wrote
SELECT a.created, a.toxic,
       (SELECT count(*) FROM correlate.toxic_combination WHERE rule = 'privileged-with-detections'),
       (SELECT count(*) FROM correlate.correlation_rule WHERE builtin) = 2 AND (SELECT count(*) FROM correlate.toxic_rule WHERE builtin) = 4,
       (SELECT count(*) FROM correlate.incident WHERE status = 'acknowledged')
FROM after_restore a;
SQL
)
echo "after restore: created incidents, toxic combinations, user toxic matches, builtins once, acknowledged: $check"
read -r created toxic user_toxic builtins_once acked <<<"$check"
[ "$created" -eq 0 ] && [ "$toxic" -gt 0 ] && [ "$user_toxic" -gt 0 ] && [ "$builtins_once" = t ] && [ "$acked" -eq 1 ] \
  || { echo "restored rules or incidents are wrong"; exit 1; }
max_inc=$(psql -X -A -t -d $dst -c "SELECT max(id) FROM correlate.incident")
psql -X -q -v ON_ERROR_STOP=1 -d $dst -c "DELETE FROM correlate.incident WHERE rule = 'detection-then-data'" >/dev/null
new_inc=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d $dst -c "SET correlate.tenant = 'acme'" \
            -c "SELECT max(incident_id) FROM correlate.correlate() WHERE created")
[ "$new_inc" -gt "$max_inc" ] || { echo "incident identity restarted: new id $new_inc <= $max_inc"; exit 1; }
echo "dump/restore round-trip ok; new id $new_id > $max_before; new incident $new_inc > $max_inc"
