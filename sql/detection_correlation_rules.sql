\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Sigma correlation rules (event_count, value_count, temporal, temporal_ordered) over the
-- detections of the builtin pack and of test rules, on Stratus Red Team detonations.
-- The correlation rules are written for this test.
SET timezone = 'UTC';
\set d `pwd`
SELECT count(*) AS builtin_rules FROM correlate.load_builtin_detections();
SELECT sigma_id, title, source FROM correlate.load_sigma($y$
title: Login profile created (test)
id: 7c3e0d2a-0000-4000-8000-000000000001
name: login_profile_created
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: CreateLoginProfile}
  condition: sel
---
title: Login profile deletion attempted (test)
id: 7c3e0d2a-0000-4000-8000-000000000002
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: DeleteLoginProfile}
  condition: sel
---
title: Many secret values read by one user
id: 7c3e0d2a-0000-4000-8000-000000000011
author: correlate tests
level: high
tags: [attack.credential-access, attack.t1555.006]
correlation:
  type: event_count
  rules:
    - Secrets Manager Secret Values Read By A Long-Term User
  group-by:
    - userIdentity.arn
  timespan: 10m
  condition:
    gte: 10
---
title: Many distinct secrets read by one user
id: 7c3e0d2a-0000-4000-8000-000000000012
level: high
correlation:
  type: value_count
  rules: Secrets Manager Secret Values Read By A Long-Term User
  group-by: [userIdentity.arn]
  timespan: 1h
  condition:
    field: requestParameters.secretId
    gt: 15
---
title: Too many distinct secrets (never)
id: 7c3e0d2a-0000-4000-8000-000000000013
correlation:
  type: value_count
  rules: [Secrets Manager Secret Values Read By A Long-Term User]
  group-by: [userIdentity.arn]
  timespan: 1h
  condition: {field: requestParameters.secretId, gte: 21}
---
title: Backdoor user with admin rights
id: 7c3e0d2a-0000-4000-8000-000000000014
level: critical
tags: [attack.persistence]
correlation:
  type: temporal
  rules:
    - Access Key Created For Another IAM User
    - Administrator Policy Attached To An IAM Identity
  group-by: [userIdentity.arn]
  timespan: 5m
---
title: Login profile created then deleted
id: 7c3e0d2a-0000-4000-8000-000000000015
correlation:
  type: temporal_ordered
  rules: [login_profile_created, 7c3e0d2a-0000-4000-8000-000000000002]
  group-by: [userIdentity.arn]
  timespan: 1m
---
title: Login profile deleted then created (never)
id: 7c3e0d2a-0000-4000-8000-000000000016
correlation:
  type: temporal_ordered
  rules: [7c3e0d2a-0000-4000-8000-000000000002, login_profile_created]
  group-by: [userIdentity.arn]
  timespan: 1m
$y$) ORDER BY sigma_id;
SELECT title, correlation FROM correlate.detection_rule WHERE correlation IS NOT NULL ORDER BY sigma_id;

SELECT f, i.events FROM (VALUES ('aws.credential-access.secretsmanager-retrieve-secrets'),
	('aws.persistence.iam-create-admin-user'), ('aws.persistence.iam-create-user-login-profile')) v(f),
	correlate.ingest_file('cloudtrail', :'d' || '/test/data/cloudtrail/stratus-red-team/' || f || '.json') i ORDER BY 1;

-- Each correlation rule that matched, once per non-overlapping window; again: nothing new.
SELECT * FROM correlate.detect_correlations('2024-01-01', '2025-01-01');
SELECT * FROM correlate.detect_correlations('2024-01-01', '2025-01-01');
-- A match is a detection of the correlation rule on the event that completed it (the 10th
-- secret read, the 16th distinct secret, the later of the two IAM calls, the deletion attempt).
SELECT dt.title, dt.level, dt.tactics, e.action, e.ts, r.uid AS entity
FROM correlate.detection dt JOIN correlate.detection_rule cr ON cr.id = dt.rule_id AND cr.correlation IS NOT NULL
JOIN correlate.event e ON e.id = dt.event_id LEFT JOIN correlate.resource r ON r.id = dt.entity
ORDER BY dt.title;
-- outside the range: nothing
SELECT count(*) FROM correlate.detect_correlations('2030-01-01', '2030-02-01');

-- Bad correlation rules: a clear error each, nothing loaded.
SELECT * FROM correlate.load_sigma(E'title: c\nid: c1\ncorrelation: {type: event_sum, rules: [a], timespan: 1h, condition: {gte: 1}}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: c1\ncorrelation: {type: event_count, rules: [a], timespan: 1h}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: c1\ncorrelation: {type: event_count, rules: [a], timespan: soon, condition: {gte: 1}}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: c1\ncorrelation: {type: event_count, rules: [a], timespan: 60d, condition: {gte: 1}}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: c1\ncorrelation: {type: event_count, rules: [a], timespan: 1h, condition: {lt: 3}}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: c1\ncorrelation: {type: value_count, rules: [a], timespan: 1h, condition: {gte: 3}}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: c1\ncorrelation: {type: temporal, timespan: 1h}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: c1\ncorrelation: {type: temporal, rules: [a, b], timespan: 1h, aliases: {x: {a: f}}}');
SELECT count(*) AS correlation_rules FROM correlate.detection_rule WHERE correlation IS NOT NULL;
-- a correlation rule that names a rule not loaded fails at evaluation, naming itself
SELECT count(*) FROM correlate.load_sigma(E'title: Orphan\nid: c2\ncorrelation: {type: temporal, rules: [no such rule], timespan: 1h}');
SELECT * FROM correlate.detect_correlations(NULL, NULL);
