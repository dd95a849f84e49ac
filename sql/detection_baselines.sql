\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Baselines (src/sql/89_baselines.sql): first-seen and rare detections per identity after a
-- learning window, from the events' own times (no clock); their precision on the repo's
-- samples, every one labelled attack or benign.
SET timezone = 'UTC';
\pset null '-'
\set d `pwd`
SELECT source, title FROM correlate.load_builtin_baselines() ORDER BY 1, 2;
SELECT title, correlation FROM correlate.detection_rule ORDER BY sigma_id LIMIT 2;
-- they never match one record alone (what ingest and detect() see)
SELECT count(*) AS matched_alone FROM correlate.detection_rule r
WHERE correlate.sigma_matches(r.rule_text, '{"eventName": "GetObject", "awsRegion": "us-east-1"}');
SELECT correlate.user_agent_family(u) FROM (VALUES ('aws-cli/2.15.0 Python/3.11.6 Linux/6.1'), ('Boto3/1.34.11 md/Botocore#1.34.11'),
	('[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488]'), ('kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3'),
	('AWS Internal'), ('console.amazonaws.com'), ('/bin/sh'), (NULL)) v(u);

-- 1. The seed: legacy-webapp-role called DescribeInstances from 10.0.1.57 with the Java SDK
-- once a day for ten days (its learning), then on 2026-11-20 listed the buckets and read two
-- objects with Boto3 (the attack).  First-seen action (ListBuckets, the first GetObject) and
-- first-seen client (boto3); same network and region: nothing there.
\o /dev/null
\i test/data/seed/load.sql
\o
SELECT title, matched, created FROM correlate.detect_baselines('2026-11-01', '2026-12-01');
SELECT title, matched, created FROM correlate.detect_baselines('2026-11-01', '2026-12-01');
SELECT dt.title, e.ts, e.action, r.name AS identity, correlate.user_agent_family(e.raw->>'userAgent') AS client
FROM correlate.detection dt JOIN correlate.event e ON e.id = dt.event_id JOIN correlate.resource r ON r.id = dt.entity
ORDER BY e.ts, dt.title;
-- the same answer over all history, and none when the range ends before the attack
SELECT title, matched, created FROM correlate.detect_baselines(NULL, NULL);
SELECT count(*) FROM correlate.detect_baselines('2026-11-01', '2026-11-20');

-- 2. The learning window decides: with 30 days the role (first seen 2026-11-10) is still
-- being learned on 2026-11-20, so nothing; with 7 days but 10 events needed, nothing either.
-- A dotted path learns any field: the first read of the bucket is a first-seen bucket.
SELECT count(*) FROM correlate.load_sigma($y$
title: First-seen action, 30-day learning (test)
id: 5b0c2f3e-0000-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
baseline: {type: first_seen, value: action, learning: 30d, min-events: 1}
---
title: First-seen action, needs 10 events (test)
id: 5b0c2f3e-0000-4000-8000-000000000002
logsource: {product: aws, service: cloudtrail}
baseline: {type: first_seen, value: action, learning: 7d, min-events: 10}
---
title: First-seen bucket (test)
id: 5b0c2f3e-0000-4000-8000-000000000003
logsource: {product: aws, service: cloudtrail}
baseline: {type: first_seen, value: requestParameters.bucketName, learning: 7d, min-events: 1}
$y$);
SELECT title, matched FROM correlate.detect_baselines('2026-11-01', '2026-12-01',
	ARRAY['First-seen action, 30-day learning (test)', 'First-seen action, needs 10 events (test)', 'First-seen bucket (test)']);

-- 3. Rare: an identity (generated here) works from us-east-1 every day; on day 20 it acts once
-- in eu-west-1 (first-seen region), on day 41 again (first-seen again for the 7-day rule, and
-- rare for the 30-day one: 1 of its 30 calls in the 30 days before), on day 42 again (seen the
-- day before; 2 of 30 is above 5%: not rare).
SELECT events FROM correlate.ingest('cloudtrail', (
	SELECT jsonb_build_object('Records', jsonb_agg(jsonb_build_object(
		'eventVersion', '1.08', 'eventTime', to_char(timestamptz '2025-03-01 09:00Z' + make_interval(days => d), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'eventSource', 'ec2.amazonaws.com', 'eventName', 'DescribeInstances',
		'awsRegion', CASE WHEN d IN (20, 41, 42) THEN 'eu-west-1' ELSE 'us-east-1' END,
		'sourceIPAddress', '198.51.100.7', 'userAgent', 'aws-cli/2.15.0',
		'userIdentity', jsonb_build_object('type', 'IAMUser', 'arn', 'arn:aws:iam::123456789012:user/ops',
										   'accountId', '123456789012', 'userName', 'ops'),
		'eventID', 'baseline-test-' || d, 'requestID', 'req-' || d, 'eventType', 'AwsApiCall',
		'recipientAccountId', '123456789012') ORDER BY d))::text
	FROM generate_series(0, 42) d));
SELECT title, matched, created FROM correlate.detect_baselines('2025-03-01', '2025-05-01');
SELECT dt.title, to_char(e.ts, 'YYYY-MM-DD') AS day, e.raw->>'awsRegion' AS region
FROM correlate.detection dt JOIN correlate.event e ON e.id = dt.event_id
WHERE e.ts < '2026-01-01' ORDER BY e.ts, dt.title;

-- 4. Precision on every sample of the repo.  Attacks: the Stratus Red Team detonations, the
-- Kubernetes attack traces (as labelled in detection_pack), the seed's attack day.  Benign: the
-- other CloudTrail and Kubernetes samples (OpenTelemetry, Falco, OCSF), the seed's ten days
-- of routine, and the generated routine identity of section 3 outside its excursions.
-- Few benign events come after a learning window (most samples are single records of
-- identities seen once, which a baseline never judges), so this measures little: the
-- benign events that were judged are counted below.
CREATE TEMP TABLE samples (f text, format text, attack boolean);
\copy samples (f) FROM PROGRAM 'cd test/data && ls cloudtrail/*/*.json k8s-audit/*/*.json ocsf/ocsf-examples/v1.1.0/cloudtrail_*.raw.json'
UPDATE samples SET format = CASE WHEN f LIKE 'k8s-audit/%' THEN 'k8s_audit' ELSE 'cloudtrail' END,
	attack = f LIKE '%stratus-red-team%' OR regexp_replace(f, '^.*/|\.json$', '', 'g') IN ('attach_pod',
	'create_clusterrole', 'create_clusterrolebinding', 'create_pod_kube_public_namespace', 'create_secret',
	'create_serviceaccount', 'create_serviceaccount_kube_public_namespace', 'create_serviceaccount_kube_system_namespace',
	'delete_clusterrole', 'delete_clusterrolebinding', 'delete_configmap', 'delete_deployment', 'delete_namespace_foo',
	'delete_secret', 'delete_service', 'delete_serviceaccount', 'minikube_creates_namespace_foo',
	'some-user_creates_namespace_foo');
SELECT format, attack, count(*) AS files, sum(i.events) AS events
FROM samples s, correlate.ingest_file(s.format, :'d' || '/test/data/' || s.f) i GROUP BY 1, 2 ORDER BY 1, 2;
CREATE TEMP TABLE labelled AS
SELECT e.id, bool_or(s.attack) AS attack
FROM samples s
CROSS JOIN LATERAL (SELECT pg_read_file(:'d' || '/test/data/' || s.f)::jsonb AS j) d
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(d.j) = 'array' THEN d.j
											 WHEN d.j ? 'Records' THEN d.j->'Records'
											 ELSE jsonb_build_array(d.j) END) r(rec)
JOIN correlate.event e ON e.raw = r.rec
GROUP BY e.id;
INSERT INTO labelled SELECT e.id, e.ts >= '2026-11-20' FROM correlate.event e
WHERE e.source = 'cloudtrail' AND e.ts >= '2026-11-01' AND e.ts < '2026-12-01';
INSERT INTO labelled SELECT e.id, e.raw->>'awsRegion' = 'eu-west-1' FROM correlate.event e
WHERE e.source = 'cloudtrail' AND e.raw->>'eventID' LIKE 'baseline-test-%';
SELECT count(*) FROM correlate.detect_baselines(NULL, NULL) WHERE created > 0;
-- every CloudTrail and Kubernetes audit event is labelled
SELECT count(*) AS unlabelled FROM correlate.event e WHERE e.source IN ('cloudtrail', 'k8s_audit')
	AND NOT EXISTS (SELECT 1 FROM labelled l WHERE l.id = e.id);
SELECT r.title, count(DISTINCT dt.event_id) FILTER (WHERE l.attack) AS on_attacks,
	   count(DISTINCT dt.event_id) FILTER (WHERE NOT l.attack) AS on_benign
FROM correlate.detection_rule r
LEFT JOIN correlate.detection dt ON dt.rule_id = r.id
LEFT JOIN labelled l ON l.id = dt.event_id
WHERE r.builtin GROUP BY r.title ORDER BY r.title;
SELECT count(DISTINCT l.id) FILTER (WHERE l.attack) AS attack_events, count(DISTINCT l.id) FILTER (WHERE NOT l.attack) AS benign_events,
	   count(DISTINCT dt.event_id) FILTER (WHERE l.attack) AS true_positive_events,
	   count(DISTINCT dt.event_id) FILTER (WHERE NOT l.attack) AS false_positive_events,
	   round(count(DISTINCT dt.event_id) FILTER (WHERE l.attack)::numeric / NULLIF(count(DISTINCT dt.event_id), 0), 3) AS precision
FROM labelled l
LEFT JOIN (correlate.detection dt JOIN correlate.detection_rule r ON r.id = dt.rule_id AND r.builtin) ON dt.event_id = l.id;
-- benign events the 7-day rules judged (identity active 7 days before, 5 events in the window)
SELECT count(*) AS benign_events_judged FROM labelled l JOIN correlate.event e ON e.id = l.id
WHERE NOT l.attack AND e.actor IS NOT NULL
  AND EXISTS (SELECT 1 FROM correlate.event p WHERE p.actor = e.actor AND p.source = e.source AND p.ts <= e.ts - interval '7 days')
  AND (SELECT count(*) FROM correlate.event p WHERE p.actor = e.actor AND p.source = e.source
	   AND p.ts >= e.ts - interval '7 days' AND p.ts < e.ts) >= 5;

-- 5. Bad baseline rules and arguments: a clear error each, nothing loaded.
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: last_seen, value: action}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: rare}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: rare, value: action, learning: forever}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: rare, value: action, learning: 400d}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: rare, value: action, rare-share: 2}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: rare, value: action, min-events: -1}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: rare, value: "a b"}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: rare, value: x..y}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: rare, value: action, window: 1d}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: [rare], value: action}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: [rare]');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: aws, service: cloudtrail}\nbaseline: {type: rare, value: action}\ndetection: {sel: {a: 1}, condition: sel}');
SELECT * FROM correlate.load_sigma(E'title: b\nid: b1\nlogsource: {product: nosuch}\nbaseline: {type: rare, value: action}');
SELECT count(*) AS loaded FROM correlate.detection_rule WHERE sigma_id = 'b1';
SELECT * FROM correlate.detect_baselines('2026-12-01', '2026-11-01');
SELECT * FROM correlate.detect_baselines(NULL, NULL, ARRAY['no such rule']);
-- a detection rule is not a baseline rule
SELECT count(*) FROM correlate.load_sigma(E'title: d\nid: d1\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: x}, condition: sel}');
SELECT * FROM correlate.detect_baselines(NULL, NULL, ARRAY['d1']);
