\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- OCSF events mapped by class_uid (docs/formats/ocsf.md).
SET timezone = 'UTC';
CREATE TEMP VIEW ev AS
SELECT e.ts, e.class_uid, e.activity_id, e.severity_id, e.domain, e.action, e.outcome, e.rule,
	   host(e.src_ip) AS src_ip, a.uid AS actor, t.uid AS target
FROM correlate.event e
LEFT JOIN correlate.resource a ON a.id = e.actor
LEFT JOIN correlate.resource t ON t.id = e.target
WHERE e.source = 'ocsf';

-- 1. Every shared OCSF sample (single events and arrays) ingests with no reject.
\set d `pwd`
CREATE TEMP TABLE samples (f text);
\copy samples FROM PROGRAM 'cd test/data && ls ocsf/*/*.ocsf.json ocsf/*/*/*.ocsf.json'
SELECT s.f, i.*
FROM samples s, correlate.ingest_file('ocsf', :'d' || '/test/data/' || s.f) i
ORDER BY s.f;
SELECT count(*) AS rejects FROM correlate.ingest_reject;
SELECT ts, class_uid, activity_id, severity_id, domain, action, outcome, rule, src_ip, actor, target
FROM ev ORDER BY ts, class_uid, rule;

-- Failed Prowler checks are also findings on their resource.
SELECT r.uid, f.kind, f.check_id, f.severity, f.title
FROM correlate.finding f JOIN correlate.resource r ON r.id = f.resource ORDER BY f.check_id;

-- 2. NDJSON, with a Network Activity event resolved like a flow log.
SELECT * FROM correlate.ingest('ocsf', '{"class_uid":4001,"activity_id":6,"severity_id":1,"time":1795168920000,"metadata":{"uid":"n-1"},"src_endpoint":{"ip":"10.0.1.57"},"dst_endpoint":{"ip":"203.0.113.50","port":443},"traffic":{"bytes":100,"packets":2}}
{"class_uid":3002,"activity_id":1,"time_dt":"2026-11-20T10:00:00Z","metadata":{"uid":"n-2"},"actor":{"user":{"uid":"arn:aws:sts::111122223333:assumed-role/legacy-webapp-role/s1"}},"status":"Success"}');
SELECT ts, class_uid, action, outcome, actor, target FROM ev WHERE ts >= '2026-11-20' ORDER BY ts;

-- 3. Malformed events.
SELECT * FROM correlate.ingest('ocsf', '{"time":1795168920000}');
SELECT * FROM correlate.ingest('ocsf', '{"time":1795168920000}
{"class_uid":"6003","time":1795168920000}
{"class_uid":6003}
{"class_uid":6003,"time":1795168920000,"activity_id":1000}
{"class_uid":6003,"time":1795168920000,"metadata":{"uid":"ok"}}', 'skip');
SELECT recno, reason FROM correlate.ingest_reject ORDER BY recno;
