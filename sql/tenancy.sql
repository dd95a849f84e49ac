-- Tenancy: row level security keeps tenants apart for every role, both ways;
-- setting the GUC alone opens nothing; roles get exactly what their names promise.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
DROP ROLE IF EXISTS acme_reader, acme_writer, acme_admin, globex_reader, globex_writer, globex_admin, outsider;
RESET client_min_messages;

CREATE ROLE acme_reader IN ROLE correlate_reader;
CREATE ROLE acme_writer IN ROLE correlate_writer;
CREATE ROLE acme_admin IN ROLE correlate_admin;
CREATE ROLE globex_reader IN ROLE correlate_reader;
CREATE ROLE globex_writer IN ROLE correlate_writer;
CREATE ROLE globex_admin IN ROLE correlate_admin;
CREATE ROLE outsider;
SELECT correlate.grant_tenant('acme', r) FROM unnest(ARRAY['acme_reader', 'acme_writer', 'acme_admin']) r;
SELECT correlate.grant_tenant('globex', r) FROM unnest(ARRAY['globex_reader', 'globex_writer', 'globex_admin']) r;
SELECT correlate.grant_tenant('acme', 'no_such_role');

-- Each writer fills its own tenant through the API.
SET ROLE acme_writer;
SET correlate.tenant = 'acme';
SELECT correlate.upsert_resource('arn:aws:s3:::acme-data', 'aws:s3:bucket', criticality => 1) > 0 AS ok;
SELECT correlate.link(correlate.internet(), correlate.resource_id('arn:aws:s3:::acme-data'), 'exposes') > 0 AS ok;
SELECT correlate.record_event('2026-11-20 10:00+00', 6003, 'api', uid => 'acme-1') > 0 AS ok;
SELECT correlate.record_finding(correlate.resource_id('arn:aws:s3:::acme-data'), 'misconfiguration', 'public') > 0 AS ok;
SELECT correlate.record_ip_lease('10.0.0.1', correlate.internet(), '2026-11-01') > 0 AS ok;
RESET ROLE;
SET ROLE globex_writer;
SET correlate.tenant = 'globex';
SELECT correlate.upsert_resource('arn:aws:s3:::globex-data', 'aws:s3:bucket') > 0 AS ok;
SELECT correlate.link(correlate.internet(), correlate.resource_id('arn:aws:s3:::globex-data'), 'exposes') > 0 AS ok;
SELECT correlate.record_event('2026-11-20 10:00+00', 6003, 'api', uid => 'globex-1') > 0 AS ok;
SELECT correlate.record_finding(correlate.resource_id('arn:aws:s3:::globex-data'), 'misconfiguration', 'public') > 0 AS ok;
SELECT correlate.record_ip_lease('10.0.0.1', correlate.internet(), '2026-11-01') > 0 AS ok;
RESET ROLE;

-- Every role sees its own tenant's rows and none of the other's, both ways.
CREATE FUNCTION pg_temp.visible() RETURNS text LANGUAGE sql AS $$
	SELECT format('resources=%s relationships=%s events=%s findings=%s leases=%s uids=%s',
		(SELECT count(*) FROM correlate.resource), (SELECT count(*) FROM correlate.relationship),
		(SELECT count(*) FROM correlate.event), (SELECT count(*) FROM correlate.finding),
		(SELECT count(*) FROM correlate.ip_lease),
		(SELECT string_agg(uid, ',' ORDER BY uid) FROM correlate.resource))
$$;
SET correlate.tenant = 'acme';
SET ROLE acme_reader;  SELECT 'acme_reader' AS role, pg_temp.visible(); RESET ROLE;
SET ROLE acme_writer;  SELECT 'acme_writer' AS role, pg_temp.visible(); RESET ROLE;
SET ROLE acme_admin;   SELECT 'acme_admin' AS role, pg_temp.visible(); RESET ROLE;
SET correlate.tenant = 'globex';
SET ROLE globex_reader; SELECT 'globex_reader' AS role, pg_temp.visible(); RESET ROLE;
SET ROLE globex_writer; SELECT 'globex_writer' AS role, pg_temp.visible(); RESET ROLE;
SET ROLE globex_admin;  SELECT 'globex_admin' AS role, pg_temp.visible(); RESET ROLE;

-- Setting the GUC to another tenant opens nothing, for every role.
SET correlate.tenant = 'globex';
SET ROLE acme_reader; SELECT count(*) FROM correlate.resource; RESET ROLE;
SET ROLE acme_writer; SELECT count(*) FROM correlate.event; RESET ROLE;
SET ROLE acme_admin;  SELECT count(*) FROM correlate.finding; RESET ROLE;
SET correlate.tenant = 'acme';
SET ROLE globex_reader; SELECT count(*) FROM correlate.resource; RESET ROLE;
SET ROLE globex_writer; SELECT count(*) FROM correlate.relationship; RESET ROLE;
SET ROLE globex_admin;  SELECT count(*) FROM correlate.ip_lease; RESET ROLE;
SET ROLE outsider;      SELECT count(*) FROM correlate.resource; RESET ROLE;

-- A writer cannot write into, change or delete another tenant's rows.
SET correlate.tenant = 'acme';
SET ROLE acme_writer;
INSERT INTO correlate.resource (tenant, uid, kind, domain) VALUES ('globex', 'x', 'k8s:pod', 'workload');
UPDATE correlate.resource SET tenant = 'globex' WHERE uid = 'arn:aws:s3:::acme-data';
UPDATE correlate.resource SET name = 'hijacked' WHERE uid = 'arn:aws:s3:::globex-data';
DELETE FROM correlate.resource WHERE uid = 'arn:aws:s3:::globex-data';
SELECT correlate.link(correlate.internet(), (SELECT min(id) FROM correlate.resource WHERE false), 'exposes');
RESET ROLE;
SET correlate.tenant = 'globex';
SET ROLE globex_writer;
SELECT uid, name FROM correlate.resource ORDER BY uid;
-- ids of the other tenant's resources are unknown here, even when guessed
SELECT correlate.link(correlate.internet(), id, 'exposes') FROM correlate.resource WHERE false;
RESET ROLE;
SELECT id AS acme_bucket FROM correlate.resource WHERE uid = 'arn:aws:s3:::acme-data' \gset
SET ROLE globex_writer;
SELECT correlate.link(correlate.internet(), :acme_bucket, 'exposes');
SELECT correlate.record_event(now(), 6003, 'api', target => :acme_bucket);
SELECT correlate.record_finding(:acme_bucket, 'vulnerability', 'CVE-1');
SELECT correlate.record_ip_lease('10.9.9.9', :acme_bucket, now());
RESET ROLE;

-- Readers cannot write; writers cannot administer; only admins grant tenants and make partitions.
SET correlate.tenant = 'acme';
SET ROLE acme_reader;
SELECT correlate.upsert_resource('k8s://c/ns/pod/p', 'k8s:pod');
INSERT INTO correlate.resource (uid, kind, domain) VALUES ('x', 'k8s:pod', 'workload');
DELETE FROM correlate.resource;
SELECT tenant, role FROM correlate.tenant_access ORDER BY 1, 2;
RESET ROLE;
SET ROLE acme_writer;
SELECT correlate.grant_tenant('globex', 'acme_writer');
INSERT INTO correlate.tenant_access VALUES ('globex', 'acme_writer');
SELECT correlate.create_event_partitions(0, '2026-11-01');
INSERT INTO correlate.resource_kind VALUES ('my:kind', 'cloud', 'mine');
RESET ROLE;
SET ROLE acme_admin;
SELECT correlate.create_event_partitions(0, '2026-11-01');
SELECT count(*) AS acme_events_after_partitioning FROM correlate.event;
SELECT count(*) AS grants_admin_sees FROM correlate.tenant_access;
RESET ROLE;
SET ROLE outsider;
SELECT correlate.current_tenant();
SELECT correlate.internet();
RESET ROLE;

-- Partitions created at run time are not readable directly, bypassing the parent's policies.
SET ROLE acme_reader;
SELECT count(*) FROM correlate.event_p202611;
SELECT count(*) FROM correlate.event_default;
RESET ROLE;

-- The grant can be withdrawn.
SELECT correlate.revoke_tenant('acme', 'acme_reader');
SET ROLE acme_reader;
SELECT count(*) FROM correlate.resource;
RESET ROLE;

-- No tenant is shared by default: a correlate role granted no tenant cannot work
-- in 'default' (the tenant of a session that sets none), not even as a writer.
RESET correlate.tenant;
SET ROLE globex_writer;
SELECT correlate.current_tenant();
SELECT count(*) FROM correlate.resource;
SELECT correlate.upsert_resource('arn:aws:s3:::shared', 'aws:s3:bucket');
RESET ROLE;
-- The single-tenant shortcut: one grant of 'default' to correlate_reader opens it
-- to every correlate role.
SELECT correlate.grant_tenant('default', 'correlate_reader');
SET ROLE globex_writer;
SELECT correlate.current_tenant();
SELECT correlate.upsert_resource('arn:aws:s3:::shared', 'aws:s3:bucket') > 0 AS ok;
RESET ROLE;
SET ROLE acme_reader;
SELECT uid FROM correlate.resource ORDER BY 1;
RESET ROLE;

RESET correlate.tenant;
DROP EXTENSION correlate CASCADE;
DROP ROLE acme_reader, acme_writer, acme_admin, globex_reader, globex_writer, globex_admin, outsider;
