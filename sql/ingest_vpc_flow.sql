\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- VPC flow logs into Network Activity, addresses resolved through ip_lease at the
-- flow's time, connects_to edges with counts (docs/formats/vpc_flow.md).
SET timezone = 'UTC';
CREATE TEMP VIEW ev AS
SELECT e.ts, e.activity_id, e.action, e.outcome, host(e.src_ip) AS src_ip, host(e.dst_ip) AS dst_ip,
	   e.dst_port, a.uid AS actor, t.uid AS target
FROM correlate.event e
LEFT JOIN correlate.resource a ON a.id = e.actor
LEFT JOIN correlate.resource t ON t.id = e.target
WHERE e.source = 'vpc_flow';
CREATE TEMP VIEW edges AS
SELECT s.uid AS src, r.kind, d.uid AS dst, r.props
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst;

-- 1. Every shared sample ingests with no reject: default v2, headers for custom orders and
-- Transit Gateway, CSV exports; NODATA records carry no flow.
\set d `pwd`
CREATE TEMP TABLE samples (f text);
\copy samples FROM PROGRAM 'cd test/data && ls vpc-flow-logs/*/* ocsf/ocsf-examples/*/vpcflowlog*.raw.csv'
SELECT s.f, i.*
FROM samples s, correlate.ingest_file('vpc_flow', :'d' || '/test/data/' || s.f) i
ORDER BY s.f;
SELECT count(*) AS rejects FROM correlate.ingest_reject;
SELECT ts, activity_id, action, outcome, src_ip, dst_ip, dst_port, actor, target FROM ev ORDER BY ts, src_ip;
SELECT * FROM edges ORDER BY src, dst;

-- 2. The seed scenario: the pod holds 10.0.1.57; the internet reaches it, it calls out.
SET correlate.default_cluster = 'prod-eks';
SELECT correlate.record_ip_lease('10.0.1.57',
	correlate.upsert_resource(correlate.k8s_uid(NULL, 'legacy-webapp', 'Pod', 'webapp-7d4b9c6f5-x2x9k'), 'k8s:pod'),
	'2026-11-20 00:00+00') > 0 AS leased;
SELECT * FROM correlate.ingest('vpc_flow', '2 111122223333 eni-0a1b2c3d4e5f60001 192.0.2.10 10.0.1.57 51234 8080 6 12 4820 1795168680 1795168740 ACCEPT OK
2 111122223333 eni-0a1b2c3d4e5f60001 10.0.1.57 203.0.113.50 41234 443 6 30 18230 1795168920 1795168980 ACCEPT OK
2 111122223333 eni-0a1b2c3d4e5f60001 10.0.1.57 198.51.100.7 41240 4444 6 44 9120 1795168920 1795168980 ACCEPT OK
2 111122223333 eni-0a1b2c3d4e5f60001 10.0.1.57 198.51.100.7 41250 4444 6 4 300 1795168980 1795169040 ACCEPT OK
2 111122223333 eni-0a1b2c3d4e5f60001 198.51.100.7 10.0.1.57 4444 22 6 1 40 1795168980 1795169040 REJECT OK
2 111122223333 eni-0a1b2c3d4e5f60001 - - - - - - - 1795168980 1795169040 - NODATA');
SELECT ts, action, src_ip, dst_ip, dst_port, actor, target FROM ev WHERE ts >= '2026-11-20' ORDER BY ts, dst_ip;
SELECT * FROM edges WHERE src LIKE '%webapp%' OR dst LIKE '%webapp%' ORDER BY src, dst;

-- Counts grow with new flows only: the same lines again change nothing.
SELECT * FROM correlate.ingest('vpc_flow', '2 111122223333 eni-0a1b2c3d4e5f60001 10.0.1.57 198.51.100.7 41240 4444 6 44 9120 1795168920 1795168980 ACCEPT OK');
SELECT props FROM edges WHERE src LIKE '%webapp%' AND dst = 'internet';

-- 3. An address that moves: resolution follows the lease at each flow's time.
SELECT correlate.record_ip_lease('10.0.9.9', correlate.upsert_resource(correlate.k8s_uid(NULL, 'ns', 'Pod', 'first'), 'k8s:pod'),
	'2026-11-20 00:00+00', '2026-11-20 12:00+00') > 0 AS leased,
	   correlate.record_ip_lease('10.0.9.9', correlate.upsert_resource(correlate.k8s_uid(NULL, 'ns', 'Pod', 'second'), 'k8s:pod'),
	'2026-11-20 12:00+00') > 0 AS moved;
SELECT * FROM correlate.ingest('vpc_flow', 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 111122223333 eni-1 10.0.9.9 10.0.1.57 5000 8080 6 1 60 1795154400 1795154460 ACCEPT OK
2 111122223333 eni-1 10.0.9.9 10.0.1.57 5001 8080 6 1 60 1795197600 1795197660 ACCEPT OK');
SELECT ts, src_ip, actor, target FROM ev WHERE src_ip = '10.0.9.9' ORDER BY ts;

-- 4. Malformed lines.
SELECT * FROM correlate.ingest('vpc_flow', '2 111122223333 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1795154400 1795154460 ACCEPT');
SELECT * FROM correlate.ingest('vpc_flow', '2 111122223333 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1795154400 1795154460 ACCEPT
2 111122223333 eni-1 10.0.0.300 10.0.0.2 1 2 6 1 1 1795154400 1795154460 ACCEPT OK
2 111122223333 eni-1 10.0.0.1 10.0.0.2 1 99999 6 1 1 1795154400 1795154460 ACCEPT OK
2 111122223333 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 soon 1795089660 ACCEPT OK
a,b,c', 'skip');
SELECT recno, reason FROM correlate.ingest_reject ORDER BY recno;

-- 5. Many distinct addresses in one call (more than the writer's memo of canonical
-- uids holds, so it is emptied and refilled on the way): every address gets its
-- resource and its edge, and loading the same lines again changes nothing.
CREATE TEMP TABLE many AS
SELECT string_agg(format('2 111122223333 eni-1 10.%s.%s.%s 10.0.1.57 4%s 8080 6 1 60 1795154400 1795154460 ACCEPT OK',
						 i / 65536, (i / 256) % 256, i % 256, i % 1000), E'\n' ORDER BY i) AS lines
FROM generate_series(1, 20000) i;
SELECT events, resources, relationships, rejected FROM correlate.ingest('vpc_flow', (SELECT lines FROM many));
SELECT count(*) AS ip_resources FROM correlate.resource WHERE uid LIKE 'ip://10.0.%' OR uid ~ '^ip://10\.[1-9]';
SELECT events, resources, relationships, rejected FROM correlate.ingest('vpc_flow', (SELECT lines FROM many));
