-- Data protection: pseudonymisation at ingest (keyed, per tenant, re-identifiable
-- only by an audited admin call), retention per tenant and data class, correlation
-- scopes across tenants, and the inventory of personal data.  Fixed times only.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
DROP ROLE IF EXISTS dp_acme_reader, dp_acme_writer, dp_acme_admin, dp_globex_writer, dp_globex_admin, dp_mssp;
RESET client_min_messages;

CREATE ROLE dp_acme_reader IN ROLE correlate_reader;
CREATE ROLE dp_acme_writer IN ROLE correlate_writer;
CREATE ROLE dp_acme_admin IN ROLE correlate_admin;
CREATE ROLE dp_globex_writer IN ROLE correlate_writer;
CREATE ROLE dp_globex_admin IN ROLE correlate_admin;
CREATE ROLE dp_mssp IN ROLE correlate_reader;
SELECT correlate.grant_tenant('acme', r) FROM unnest(ARRAY['dp_acme_reader', 'dp_acme_writer', 'dp_acme_admin']) r;
SELECT correlate.grant_tenant('globex', r) FROM unnest(ARRAY['dp_globex_writer', 'dp_globex_admin']) r;
SELECT correlate.grant_tenant('mssp', 'dp_mssp');

-- ==== 1. pseudonymisation at ingest ====
SET correlate.tenant = 'acme';
SET ROLE dp_acme_admin;
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userIdentity.userName', 'hash');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userIdentity.arn', 'hash_tail');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userIdentity.principalId', 'hash');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'sourceIPAddress', 'ip', category => 'online_identifier');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userAgent', 'drop', category => 'online_identifier');
SELECT correlate.set_pseudonym_rule('k8s_audit', 'user.username', 'hash', keep_prefixes => ARRAY['system:']);
SELECT correlate.set_pseudonym_rule('k8s_audit', 'sourceIPs', 'ip', category => 'online_identifier');
SELECT format, path, action, keep_prefixes, category FROM correlate.pseudonym_rule ORDER BY 1, 2;
RESET ROLE;
-- globex pseudonymises the user name too, with its own key
SET correlate.tenant = 'globex';
SET ROLE dp_globex_admin;
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userIdentity.userName', 'hash');
RESET ROLE;

-- Bad rules.
SET correlate.tenant = 'acme';
SET ROLE dp_acme_admin;
SELECT correlate.set_pseudonym_rule('vpc_flow', 'srcaddr', 'ip');
SELECT correlate.set_pseudonym_rule('syslog', 'user', 'hash');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userIdentity..userName', 'hash');
SELECT correlate.set_pseudonym_rule('cloudtrail', '$.userIdentity[0]', 'hash');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userName', 'encrypt');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userName', 'hash', keep_prefixes => ARRAY['']);
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userName', 'hash', category => 'Not A Category');
SELECT correlate.set_pseudonym_rule(NULL, 'userName', 'hash');
SELECT correlate.clear_pseudonym_rule('cloudtrail', 'no.such.path');
RESET ROLE;

-- Two tenants ingest the same CloudTrail records.
CREATE TEMP TABLE ct (doc text);
INSERT INTO ct VALUES ($$
{"Records": [
 {"eventVersion": "1.09", "eventID": "dp-1", "eventTime": "2026-11-20T10:00:00Z", "eventSource": "s3.amazonaws.com",
  "eventName": "GetObject", "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15 alice-laptop",
  "userIdentity": {"type": "IAMUser", "principalId": "AIDAALICE", "arn": "arn:aws:iam::123456789012:user/alice",
                   "accountId": "123456789012", "userName": "alice"},
  "requestParameters": {"bucketName": "payroll", "key": "2026/11.csv"}, "recipientAccountId": "123456789012"},
 {"eventVersion": "1.09", "eventID": "dp-2", "eventTime": "2026-11-20T10:05:00Z", "eventSource": "s3.amazonaws.com",
  "eventName": "GetObject", "awsRegion": "eu-west-1", "sourceIPAddress": "10.1.2.3", "userAgent": "aws-cli/2.15 alice-laptop",
  "userIdentity": {"type": "IAMUser", "principalId": "AIDAALICE", "arn": "arn:aws:iam::123456789012:user/alice",
                   "accountId": "123456789012", "userName": "alice"},
  "requestParameters": {"bucketName": "payroll", "key": "2026/12.csv"}, "recipientAccountId": "123456789012"},
 {"eventVersion": "1.09", "eventID": "dp-3", "eventTime": "2026-11-20T10:07:00Z", "eventSource": "sts.amazonaws.com",
  "eventName": "GetCallerIdentity", "awsRegion": "eu-west-1", "sourceIPAddress": "AWS Internal",
  "userIdentity": {"type": "IAMUser", "principalId": "AIDABOB", "arn": "arn:aws:iam::123456789012:user/bob",
                   "accountId": "123456789012", "userName": "bob"}, "recipientAccountId": "123456789012"}
]}$$);
GRANT SELECT ON ct TO correlate_writer;
SET correlate.tenant = 'acme';
SET ROLE dp_acme_writer;
SELECT * FROM correlate.ingest('cloudtrail', (SELECT doc FROM ct));
-- the same input again changes nothing (pseudonyms are deterministic)
SELECT events, resources FROM correlate.ingest('cloudtrail', (SELECT doc FROM ct));
RESET ROLE;
SET correlate.tenant = 'globex';
SET ROLE dp_globex_writer;
SELECT events FROM correlate.ingest('cloudtrail', (SELECT doc FROM ct));
RESET ROLE;

-- Nothing personal is stored in acme: no name, no address, no user agent, anywhere.
SELECT count(*) FILTER (WHERE raw::text ~ '(alice|bob|AIDA|203\.0\.113|10\.1\.2\.3|aws-cli)') AS raw_with_personal_data,
	   count(*) FILTER (WHERE raw ? 'userAgent') AS raw_with_user_agent,
	   count(*) AS events
FROM correlate.event WHERE tenant = 'acme';
SELECT count(*) AS resources_naming_people FROM correlate.resource
WHERE tenant = 'acme' AND (uid ~ '(alice|bob|203\.0\.113|10\.1\.2\.3)' OR name ~ '(alice|bob)');
-- The same person gets the same pseudonym in every field: userName, the ARN's
-- tail, the actor resource; so both of alice's events resolve to one entity.
SELECT e.uid, e.raw #>> '{userIdentity,userName}' ~ '^ps_[0-9a-f]{24}$' AS name_is_pseudonym,
	   e.raw #>> '{userIdentity,arn}' = 'arn:aws:iam::123456789012:user/' || (e.raw #>> '{userIdentity,userName}') AS arn_tail_matches,
	   r.uid = e.raw #>> '{userIdentity,arn}' AS actor_is_the_pseudonymous_arn,
	   r.name = e.raw #>> '{userIdentity,userName}' AS actor_name_is_the_pseudonym,
	   e.actor = (SELECT x.actor FROM correlate.event x WHERE x.tenant = 'acme' AND x.uid = 'dp-1') AS same_entity_as_dp1,
	   CASE WHEN e.src_ip << '2001:db8::/32' THEN 'public pseudonym' WHEN e.src_ip << 'fd00::/8' THEN 'private pseudonym'
			ELSE COALESCE(host(e.src_ip), 'none') END AS src_ip,
	   e.raw ->> 'sourceIPAddress' = host(e.src_ip) AS raw_ip_matches_column,
	   e.raw ->> 'sourceIPAddress' ~ '^ps_' AS non_address_hashed
FROM correlate.event e JOIN correlate.resource r ON r.tenant = e.tenant AND r.id = e.actor
WHERE e.tenant = 'acme' ORDER BY e.uid;
-- globex keeps the address (no rule) and pseudonymises alice under another key:
-- the two tenants' pseudonyms cannot be linked.
SELECT g.raw ->> 'sourceIPAddress' AS globex_ip, g.raw #>> '{userIdentity,userName}' ~ '^ps_' AS globex_name_hashed,
	   g.raw #>> '{userIdentity,userName}' = a.raw #>> '{userIdentity,userName}' AS same_pseudonym_across_tenants
FROM correlate.event g JOIN correlate.event a ON a.tenant = 'acme' AND a.uid = g.uid
WHERE g.tenant = 'globex' AND g.uid = 'dp-1';

-- Kubernetes audit: people are pseudonymised, service accounts (system:) kept.
SET correlate.tenant = 'acme';
SET ROLE dp_acme_writer;
SELECT events FROM correlate.ingest('k8s_audit', $$
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"dp-k1","stage":"ResponseComplete",
 "requestURI":"/api/v1/namespaces/prod/pods/web/exec","verb":"create",
 "user":{"username":"alice@corp.example","groups":["devs"]},"sourceIPs":["198.51.100.20"],
 "objectRef":{"resource":"pods","namespace":"prod","name":"web","subresource":"exec","apiVersion":"v1"},
 "responseStatus":{"code":101},"requestReceivedTimestamp":"2026-11-20T11:00:00.000000Z","stageTimestamp":"2026-11-20T11:00:00.100000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"dp-k2","stage":"ResponseComplete",
 "requestURI":"/api/v1/namespaces/prod/secrets","verb":"list",
 "user":{"username":"system:serviceaccount:prod:builder"},"sourceIPs":["10.0.0.9"],
 "objectRef":{"resource":"secrets","namespace":"prod","apiVersion":"v1"},
 "responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-20T11:01:00.000000Z","stageTimestamp":"2026-11-20T11:01:00.100000Z"}
$$);
RESET ROLE;
SELECT e.uid, e.raw #>> '{user,username}' ~ '^ps_[0-9a-f]{24}$' AS username_hashed,
	   CASE WHEN e.raw #>> '{user,username}' ~ '^system:' THEN e.raw #>> '{user,username}' END AS kept,
	   (e.raw #>> '{sourceIPs,0}')::inet << '2001:db8::/32' AS public_ip_pseudonym,
	   (e.raw #>> '{sourceIPs,0}')::inet << 'fd00::/8' AS private_ip_pseudonym,
	   r.kind AS actor_kind
FROM correlate.event e LEFT JOIN correlate.resource r ON r.tenant = e.tenant AND r.id = e.actor
WHERE e.tenant = 'acme' AND e.source = 'k8s_audit' ORDER BY e.uid;

-- Detection works on the pseudonymised records: a Sigma rule on the action matches both
-- of alice's reads and resolves them to one (pseudonymous) entity; a rule naming the
-- clear user name matches nothing.
SET correlate.tenant = 'acme';
SELECT title FROM correlate.load_sigma($y$
title: Payroll read (dp test)
id: 0d7c1b7e-2020-4020-8020-000000000001
level: medium
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: GetObject
    requestParameters.bucketName: payroll
  condition: sel
$y$);
SELECT title FROM correlate.load_sigma($y$
title: Alice by name (dp test)
id: 0d7c1b7e-2020-4020-8020-000000000002
level: low
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    userIdentity.userName: alice
  condition: sel
$y$);
SELECT title, matched FROM correlate.detect('2026-11-01', '2026-12-01') ORDER BY 1;
SELECT dt.title, count(*) AS detections, count(DISTINCT dt.entity) AS entities,
	   bool_and(r.uid ~ '^arn:aws:iam::123456789012:user/ps_[0-9a-f]{24}$') AS entity_is_pseudonymous
FROM correlate.detection dt JOIN correlate.resource r ON r.tenant = dt.tenant AND r.id = dt.entity
WHERE dt.tenant = 'acme' GROUP BY 1;

-- A value of another type where a rule expects a string is pseudonymised as its JSON
-- text, never stored in clear; null stays null; a missing field is no error.
SET ROLE dp_acme_writer;
SELECT events FROM correlate.ingest('cloudtrail', $$
{"eventVersion": "1.09", "eventID": "dp-4", "eventTime": "2026-11-20T10:09:00Z", "eventSource": "s3.amazonaws.com",
 "eventName": "ListBuckets", "awsRegion": "eu-west-1", "sourceIPAddress": 3405803783, "userAgent": null,
 "userIdentity": {"type": "IAMUser", "accountId": "123456789012", "userName": {"first": "Carol", "id": 7}, "principalId": null}}
{"eventVersion": "1.09", "eventID": "dp-5", "eventTime": "2026-11-20T10:10:00Z", "eventSource": "s3.amazonaws.com",
 "eventName": "ListBuckets", "awsRegion": "eu-west-1", "userIdentity": [1, "x"]}
$$);
RESET ROLE;
SELECT uid, raw ->> 'sourceIPAddress' ~ '^ps_[0-9a-f]{24}$' AS number_ip_hashed,
	   raw #>> '{userIdentity,userName}' ~ '^ps_[0-9a-f]{24}$' AS object_name_hashed,
	   raw::text ~ '(Carol|3405803783)' AS clear_left, raw #> '{userIdentity,principalId}' AS null_principal,
	   CASE WHEN jsonb_typeof(raw -> 'userIdentity') = 'array' THEN raw -> 'userIdentity' END AS array_untouched,
	   raw ? 'userAgent' AS has_user_agent
FROM correlate.event WHERE tenant = 'acme' AND uid IN ('dp-4', 'dp-5') ORDER BY uid;

-- A record rejected under a policy keeps no text (it may not even parse).
SET ROLE dp_acme_writer;
SELECT rejected FROM correlate.ingest('cloudtrail', '{"Records": [{"eventID": "bad", "userIdentity": {"userName": "carol"}, "eventTime": "not a time"}]}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('cloudtrail', '{"userName": "dave", ', on_error => 'skip');
RESET ROLE;
SELECT format, raw IS NULL AS raw_withheld, reason ~ 'withheld' AS says_so, digest ~ '^ps_' AS keyed_digest,
	   reason ~ '(carol|dave)' AS reason_names_person
FROM correlate.ingest_reject WHERE tenant = 'acme' ORDER BY id;

-- Nobody but the extension reads a key: not a reader, not a writer, not an admin.
SET ROLE dp_acme_reader;
SELECT * FROM correlate.pseudonym_key;
SELECT correlate._pseudonyms('acme', 'hash', ARRAY['alice']);
SELECT correlate.reidentify('ps_000000000000000000000000', 'court order 2026/17', ARRAY['alice']);
SELECT correlate.pseudonym_key_export('backup of the key');
SELECT count(*) AS rules_visible_to_reader FROM correlate.pseudonym_rule;
RESET ROLE;
SET ROLE dp_acme_writer;
SELECT * FROM correlate.pseudonym_key;
SELECT correlate.reidentify('ps_000000000000000000000000', 'court order 2026/17', ARRAY['alice']);
RESET ROLE;
SET ROLE dp_acme_admin;
SELECT * FROM correlate.pseudonym_key;
SELECT correlate._pseudonyms('acme', 'hash', ARRAY['alice']);
SELECT correlate.pseudonym_key_export('backup of the key');
-- and no dump holds one: the key table is not an extension config table
SELECT count(*) AS key_table_dumped FROM pg_extension x, unnest(x.extconfig) c WHERE x.extname = 'correlate' AND c = 'correlate.pseudonym_key'::regclass;

RESET ROLE;
-- Known answers: pseudonyms are HMAC-SHA256 under the tenant's key (checked against
-- Python's hmac module), whether or not the crypto library lets the key be reused.
SET correlate.tenant = 'kat';
SELECT correlate.pseudonym_key_import(decode('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'));
SELECT correlate._pseudonyms('kat', 'hash', ARRAY['alice', 'alice', NULL]) = ARRAY['ps_6eefad2bed97b6d93ee663d6', 'ps_6eefad2bed97b6d93ee663d6', NULL] AS hash_ok,
	   correlate._pseudonyms('kat', 'hash_tail', ARRAY['arn:aws:iam::1:user/alice', 'alice', 'x/']) AS hash_tail,
	   correlate._pseudonyms('kat', 'ip', ARRAY['203.0.113.7', '203.000.113.007', 'AWS Internal']) AS ip;
SELECT correlate.pseudonym_key_export('key backup, ticket 991') = decode('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex') AS exported;
SELECT correlate.pseudonym_key_import('\x0001');
SELECT correlate._pseudonyms('kat', 'drop', ARRAY['alice']);
SELECT correlate._pseudonyms('no-such-tenant', 'hash', ARRAY['alice']);
SET correlate.tenant = 'acme';
SET ROLE dp_acme_admin;

-- An admin re-identifies one value from candidates, with a reason; every call is logged.
SELECT correlate.reidentify((SELECT raw #>> '{userIdentity,userName}' FROM correlate.event WHERE tenant = 'acme' AND uid = 'dp-1'),
							'court order 2026/17 (case 4411)', ARRAY['bob', 'alice', 'carol']) AS who;
SELECT correlate.reidentify((SELECT raw #>> '{userIdentity,arn}' FROM correlate.event WHERE tenant = 'acme' AND uid = 'dp-3'),
							'court order 2026/17 (case 4411)', ARRAY['alice', 'bob']) AS whose_arn;
SELECT correlate.reidentify((SELECT host(src_ip) FROM correlate.event WHERE tenant = 'acme' AND uid = 'dp-1'),
							'court order 2026/17 (case 4411)', candidate_net => '203.0.113.0/24') AS which_address;
SELECT correlate.reidentify((SELECT raw #>> '{user,username}' FROM correlate.event WHERE tenant = 'acme' AND uid = 'dp-k1'),
							'DPA request 2026-12', ARRAY['bob@corp.example']) AS not_among_candidates;
-- bad input
SELECT correlate.reidentify('ps_000000000000000000000000', 'because', ARRAY['alice']);
SELECT correlate.reidentify('', 'court order 2026/17', ARRAY['alice']);
SELECT correlate.reidentify('ps_000000000000000000000000', 'court order 2026/17', candidate_net => '10.0.0.0/8');
RESET ROLE;
SET correlate.tenant = 'globex';
SET ROLE dp_acme_admin;
SELECT correlate.reidentify('ps_000000000000000000000000', 'court order 2026/17', ARRAY['alice']);
RESET ROLE;
SET correlate.tenant = 'acme';
SELECT caller, tenant, pseudonym ~ '^(ps_|arn:|2001:db8:)' AS pseudonym_logged, reason, candidates, found
FROM correlate.reidentification_log WHERE tenant <> 'kat' ORDER BY id;
SELECT pseudonym, reason FROM correlate.reidentification_log WHERE tenant = 'kat';
SET ROLE dp_acme_admin;
DELETE FROM correlate.reidentification_log;
RESET ROLE;

-- ==== 2. retention per tenant and data class ====
SET correlate.tenant = 'acme';
SET ROLE dp_acme_writer;
SELECT count(*) FROM (SELECT correlate.record_event(ts, 6003, src, uid => src || '-' || to_char(ts, 'YYYYMMDD'),
	raw => jsonb_build_object('note', 'payload of ' || to_char(ts, 'YYYY-MM-DD')))
	FROM unnest(ARRAY['2025-06-01', '2026-09-01', '2026-11-10', '2026-11-28']::timestamptz[]) ts,
		 unnest(ARRAY['api', 'falco']) src) x;
-- an old falco event is evidence of an incident
INSERT INTO correlate.incident (rule, title, severity, anchor_event, first_ts, last_ts)
SELECT 'dp-rule', 'shell in a pod, then data access', 'high', e.id, e.ts, e.ts FROM correlate.event e
WHERE e.tenant = 'acme' AND e.uid = 'falco-20260901';
INSERT INTO correlate.incident_event (incident, event_id, event_ts, step)
SELECT i.id, e.id, e.ts, 1 FROM correlate.incident i JOIN correlate.event e ON e.tenant = i.tenant AND e.id = i.anchor_event
WHERE i.tenant = 'acme' AND i.rule = 'dp-rule';
RESET ROLE;
SET correlate.tenant = 'globex';
SET ROLE dp_globex_writer;
SELECT count(*) FROM (SELECT correlate.record_event(ts, 6003, 'api', uid => 'g-' || to_char(ts, 'YYYYMMDD'), raw => '{"x": 1}')
	FROM unnest(ARRAY['2025-06-01', '2026-09-01', '2026-11-10', '2026-11-28']::timestamptz[]) ts) x;
RESET ROLE;

SET correlate.tenant = 'acme';
SET ROLE dp_acme_admin;
SELECT correlate.set_retention('events', '365 days');
SELECT correlate.set_retention('events', '30 days', 'falco');
SELECT correlate.set_retention('raw', '30 days');
SELECT correlate.set_retention('rejects', '7 days');
SELECT correlate.set_retention('incidents', '2 years');
-- bad input
SELECT correlate.set_retention('logs', '1 day');
SELECT correlate.set_retention('events', '-1 day');
SELECT correlate.set_retention('events', NULL);
SELECT correlate.set_retention('events', '1 day', 'Bad Source!');
SELECT correlate.set_retention('incidents', '1 day', 'falco');
SELECT correlate.apply_retention('infinity');
SELECT correlate.schedule_retention('');
SELECT correlate.schedule_retention();
RESET ROLE;
SET correlate.tenant = 'globex';
SET ROLE dp_globex_admin;
SELECT correlate.set_retention('events', '7 days');
SELECT tenant, data_class, source, keep FROM correlate.retention_policy ORDER BY 1, 2, 3;
RESET ROLE;
-- a reader may neither set nor enforce retention
SET correlate.tenant = 'acme';
SET ROLE dp_acme_reader;
SELECT correlate.set_retention('events', '1 day');
SELECT correlate.apply_retention('2026-12-01');
RESET ROLE;

-- The job (what schedule_retention() runs), at a fixed time.
SET ROLE dp_acme_admin;
SELECT * FROM correlate.apply_retention('2026-12-01 00:00+00') ORDER BY 1, 2, 3;
RESET ROLE;
-- acme: api events a year and a half old are gone, the others kept, payloads older
-- than 30 days cleared; falco events older than 30 days gone except the incident's,
-- which stays without its payload.  globex: only the last week kept.
SELECT tenant, uid, raw IS NOT NULL AS has_raw FROM correlate.event
WHERE tenant IN ('acme', 'globex') AND source IN ('api', 'falco') ORDER BY 1, 2;
-- the incident still explains itself
SET ROLE dp_acme_reader;
SELECT ts, domain, class, action FROM correlate.incident_timeline((SELECT id FROM correlate.incident WHERE rule = 'dp-rule'));
RESET ROLE;
-- rejects older than 7 days are gone (rejection times pinned, the clock is not)
UPDATE correlate.ingest_reject j SET ts = CASE WHEN j.id = (SELECT min(x.id) FROM correlate.ingest_reject x WHERE x.tenant = 'acme')
											 THEN timestamptz '2026-11-20' ELSE '2026-11-29' END
WHERE j.tenant = 'acme';
SELECT * FROM correlate.apply_retention('2026-12-01 00:00+00') WHERE data_class = 'rejects';
SELECT ts, format FROM correlate.ingest_reject WHERE tenant = 'acme';
-- a resolved incident past its period ends the evidence hold
UPDATE correlate.incident SET status = 'resolved' WHERE rule = 'dp-rule';
SELECT tenant, data_class, source, rows_affected FROM correlate.apply_retention('2029-01-01 00:00+00')
WHERE tenant = 'acme' AND data_class IN ('incidents', 'events') ORDER BY 2, 3;
SELECT count(*) AS acme_incidents FROM correlate.incident WHERE tenant = 'acme';
SELECT tenant, data_class, source, rows_affected FROM correlate.apply_retention('2029-01-01 00:00+00')
WHERE tenant = 'acme' AND data_class = 'events' ORDER BY 2, 3;
SELECT count(*) AS acme_old_falco_events FROM correlate.event WHERE tenant = 'acme' AND source = 'falco';

-- ==== 3. correlation scopes ====
SET correlate.tenant = 'acme';
SET ROLE dp_acme_writer;
INSERT INTO correlate.incident (rule, title, severity, anchor_event, first_ts, last_ts)
VALUES ('dp-scope', 'acme incident', 'medium', 1, '2026-11-20', '2026-11-20');
RESET ROLE;
SET correlate.tenant = 'globex';
SET ROLE dp_globex_writer;
INSERT INTO correlate.incident (rule, title, severity, anchor_event, first_ts, last_ts)
VALUES ('dp-scope', 'globex incident', 'high', 2, '2026-11-21', '2026-11-21');
RESET ROLE;
INSERT INTO correlate.incident (tenant, rule, title, severity, anchor_event, first_ts, last_ts)
VALUES ('initech', 'dp-scope', 'initech incident', 'low', 3, '2026-11-22', '2026-11-22');

-- default none: the MSSP role reads nothing of its customers
SET correlate.tenant = 'mssp';
SET ROLE dp_mssp;
SELECT count(*) AS incidents_visible FROM correlate.incident;
SELECT * FROM correlate.scoped_incidents('soc');
RESET ROLE;
SET ROLE dp_acme_reader;
SELECT correlate.grant_correlation_scope('soc', 'dp_mssp', ARRAY['acme'], ARRAY['incidents'], 'managed SOC contract 2026');
RESET ROLE;
SET ROLE dp_acme_admin;
SELECT correlate.grant_correlation_scope('soc', 'dp_mssp', ARRAY['globex', 'acme'], ARRAY['incidents', 'incident_timeline'],
										 'managed SOC contract 2026-11');
-- bad grants
SELECT correlate.grant_correlation_scope('soc', 'dp_mssp', ARRAY['acme'], ARRAY['incidents'], 'managed SOC contract 2026-11');
SELECT correlate.grant_correlation_scope('soc2', 'no_such_role', ARRAY['acme'], ARRAY['incidents'], 'managed SOC contract');
SELECT correlate.grant_correlation_scope('soc2', 'dp_mssp', ARRAY[]::text[], ARRAY['incidents'], 'managed SOC contract');
SELECT correlate.grant_correlation_scope('soc2', 'dp_mssp', ARRAY['acme', NULL], ARRAY['incidents'], 'managed SOC contract');
SELECT correlate.grant_correlation_scope('soc2', 'dp_mssp', ARRAY['acme'], ARRAY['resource'], 'managed SOC contract');
SELECT correlate.grant_correlation_scope('soc2', 'dp_mssp', ARRAY['acme'], ARRAY['incidents'], 'because');
SELECT correlate.grant_correlation_scope('bad name!', 'dp_mssp', ARRAY['acme'], ARRAY['incidents'], 'managed SOC contract');
RESET ROLE;
-- the scope opens exactly the named tenants to exactly the named functions
SET ROLE dp_mssp;
SELECT tenant, title, severity FROM correlate.scoped_incidents('soc');
SELECT tenant, title FROM correlate.scoped_incidents('soc', ARRAY['globex']);
SELECT tenant, title FROM correlate.scoped_incidents('soc', ARRAY['initech']);
SELECT tenant, title FROM correlate.scoped_incidents('soc', ARRAY['acme', NULL]);
SELECT count(*) FROM correlate.scoped_incident_timeline('soc', 'acme', (SELECT id FROM correlate.scoped_incidents('soc', ARRAY['acme']) WHERE title = 'acme incident'));
SELECT count(*) FROM correlate.scoped_incident_timeline('soc', 'initech', 1);
SELECT count(*) FROM correlate.scoped_attack_paths('soc');
SELECT count(*) FROM correlate.scoped_incidents('no-such-scope');
-- the grant opens no table: outside the functions nothing of acme is visible
SET correlate.tenant = 'acme';
SELECT count(*) FROM correlate.incident;
SET correlate.tenant = 'mssp';
SELECT count(*) AS incidents_visible FROM correlate.incident;
SELECT name, grantee, tenants, functions, purpose, granted_by, revoked_at FROM correlate.correlation_scope;
SELECT * FROM correlate.scope_read_log;
RESET ROLE;
-- a role the scope was not granted to gets nothing through it
SET correlate.tenant = 'acme';
SET ROLE dp_acme_reader;
SELECT count(*) FROM correlate.scoped_incidents('soc', ARRAY['globex']);
SELECT count(*) AS scopes_visible FROM correlate.correlation_scope;
RESET ROLE;
-- every cross-tenant read is logged: who, which scope, function and tenants
SELECT caller, scope, function, tenants FROM correlate.scope_read_log ORDER BY id;
-- revoked, the scope opens nothing, and the record of it stays
SET ROLE dp_acme_admin;
SELECT correlate.revoke_correlation_scope('soc');
SELECT correlate.revoke_correlation_scope('soc');
RESET ROLE;
SET ROLE dp_mssp;
SELECT count(*) FROM correlate.scoped_incidents('soc');
RESET ROLE;
SELECT name, granted_by, revoked_by, revoked_at IS NOT NULL AS revoked FROM correlate.correlation_scope;

-- ==== 4. data inventory ====
SET correlate.tenant = 'acme';
SET ROLE dp_acme_reader;
SELECT tenant, format, field, category, treatment, kept_for FROM correlate.data_inventory()
WHERE format IN ('cloudtrail', 'k8s_audit', '*') ORDER BY 2, 3;
SELECT count(DISTINCT tenant) AS tenants_seen_by_reader FROM correlate.data_inventory();
RESET ROLE;
SELECT tenant, count(*) AS fields, count(*) FILTER (WHERE treatment <> 'stored as received') AS protected
FROM correlate.data_inventory() WHERE tenant IN ('acme', 'globex', 'mssp') GROUP BY 1 ORDER BY 1;
SELECT policy FROM correlate.data_inventory() WHERE tenant = 'globex' AND format = 'cloudtrail' AND field = 'userIdentity.userName';

RESET correlate.tenant;
DROP TABLE ct;
SET client_min_messages = warning;
DROP EXTENSION correlate CASCADE;
DROP ROLE dp_acme_reader, dp_acme_writer, dp_acme_admin, dp_globex_writer, dp_globex_admin, dp_mssp;
