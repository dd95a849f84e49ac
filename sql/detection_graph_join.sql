\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Graph-joined correlation (our Sigma extension, docs/detection.md): ONE meta-rule says
-- "a detection on a workload, then data access by any identity that workload can reach",
-- grouping by the identity chain (correlate.identity_chain) or by reachability over the
-- attack graph (correlate.reachable(N)).  On the seed scenario the workload detection is on
-- the container (Falco), the data reads on the IAM role (CloudTrail): no field and no
-- resolved entity is equal between them, so Sigma's own group-by cannot join them.
SET timezone = 'UTC';
\pset null '-'
\o /dev/null
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT * FROM correlate.derive_attack_edges();
\o
SELECT sigma_id, title, source FROM correlate.load_sigma($y$
title: Shell in a workload (test)
id: 9e0c4a10-0000-4000-8000-000000000001
name: workload_shell
level: high
tags: [attack.execution, attack.t1059]
logsource: {product: falco}
detection:
  sel: {rule: Terminal shell in container}
  condition: sel
---
title: S3 object read (test)
id: 9e0c4a10-0000-4000-8000-000000000002
name: s3_read
level: informational
tags: [attack.collection, attack.t1530]
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventSource: s3.amazonaws.com, eventName: GetObject}
  condition: sel
---
title: Workload shell then data read by an identity of its chain
id: 9e0c4a10-0000-4000-8000-000000000011
level: critical
tags: [attack.collection]
correlation:
  type: temporal_ordered
  rules: [workload_shell, s3_read]
  group-by: [correlate.identity_chain]
  timespan: 1h
---
title: Workload shell then data read by an identity it reaches in 2 hops
id: 9e0c4a10-0000-4000-8000-000000000012
level: critical
correlation:
  type: temporal_ordered
  rules: [workload_shell, s3_read]
  group-by: [correlate.reachable(2)]
  timespan: 1h
---
title: Workload shell then data read, 1 hop (never on the seed)
id: 9e0c4a10-0000-4000-8000-000000000013
correlation:
  type: temporal_ordered
  rules: [workload_shell, s3_read]
  group-by: [correlate.reachable(1)]
  timespan: 1h
---
title: Workload shell then data read, same entity (never)
id: 9e0c4a10-0000-4000-8000-000000000014
correlation:
  type: temporal_ordered
  rules: [workload_shell, s3_read]
  group-by: [correlate.entity]
  timespan: 1h
---
title: Workload shell and two reads by a reachable identity
id: 9e0c4a10-0000-4000-8000-000000000015
correlation:
  type: event_count
  rules: [workload_shell, s3_read]
  group-by: correlate.reachable(3)
  timespan: 1h
  condition: {gte: 3}
$y$) ORDER BY sigma_id;
SELECT title, correlation FROM correlate.detection_rule WHERE correlation ? 'link' ORDER BY sigma_id;

-- 1. The seed chain: Falco shell in container webapp (10:00), then the pod's IRSA role reads
-- two objects (10:06, 10:06:30).  container -> pod -> webapp-sa -> legacy-webapp-role is the
-- identity chain; on the attack graph pod -(token)-> webapp-sa -(IRSA)-> role is 2 hops.
SELECT title, matched, created FROM correlate.detect('2026-11-01', '2026-12-01') ORDER BY title;
SELECT title, matched, created FROM correlate.detect_correlations('2026-11-01', '2026-12-01') ORDER BY title;
-- idempotent
SELECT title, matched, created FROM correlate.detect_correlations('2026-11-01', '2026-12-01') ORDER BY title;
-- each match: a detection of the meta-rule on the event that completed it, about the workload
SELECT dt.title, dt.level, e.action, e.ts, r.kind, r.name AS entity
FROM correlate.detection dt JOIN correlate.detection_rule cr ON cr.id = dt.rule_id AND cr.correlation IS NOT NULL
JOIN correlate.event e ON e.id = dt.event_id LEFT JOIN correlate.resource r ON r.id = dt.entity
ORDER BY dt.title;
-- One engine: each match is also an incident (rule 'sigma:<id>') with the events of its
-- detections, next to the incidents of the builtin step rules; correlate() runs both.
SELECT i.rule, i.title, i.severity, i.first_ts, i.last_ts, count(ie.*) AS events
FROM correlate.incident i JOIN correlate.incident_event ie ON ie.incident = i.id
GROUP BY i.tenant, i.id ORDER BY i.rule;
SELECT t.ts, t.domain, t.actor, t.action, t.summary
FROM correlate.incident_timeline((SELECT id FROM correlate.incident WHERE rule = 'sigma:9e0c4a10-0000-4000-8000-000000000012')) t;
SELECT rule, created, events FROM correlate.correlate('2026-11-01', '2026-12-01') ORDER BY rule;
SELECT rule, created, events FROM correlate.correlate('2026-11-01', '2026-12-01') ORDER BY rule;
-- what the workload reaches, and in what order the hops come
SELECT r.kind, r.name FROM unnest(correlate._detection_reach(
	(SELECT id FROM correlate.resource WHERE kind = 'container'), 2)) x(id)
JOIN correlate.resource r ON r.id = x.id ORDER BY r.kind;

-- 2. Without the link the rule does not fire.  The pod no longer runs as webapp-sa (the
-- identity link gone) and the attack graph is derived again (the token edge gone too).
DELETE FROM correlate.detection WHERE rule_id IN (SELECT id FROM correlate.detection_rule WHERE correlation IS NOT NULL);
DELETE FROM correlate.relationship WHERE kind = 'runs_as'
	AND src = (SELECT id FROM correlate.resource WHERE kind = 'k8s:pod' AND name LIKE 'webapp-%');
SELECT inserted, updated, deleted FROM correlate.derive_attack_edges();
SELECT title, matched, created FROM correlate.detect_correlations('2026-11-01', '2026-12-01') ORDER BY title;

-- 3. The other link broken instead: the pod runs as webapp-sa again, but webapp-sa no longer
-- assumes the role (IRSA trust removed).  The identity chain stops at the service account and
-- the attack graph has no IRSA edge: neither rule fires.
SELECT correlate.link(p.id, sa.id, 'runs_as', seen_at => '2026-11-19') IS NOT NULL AS linked
FROM correlate.resource p, correlate.resource sa
WHERE p.kind = 'k8s:pod' AND p.name LIKE 'webapp-%' AND sa.kind = 'k8s:serviceaccount' AND sa.name = 'webapp-sa';
DELETE FROM correlate.relationship WHERE kind = 'assumes'
	AND src = (SELECT id FROM correlate.resource WHERE kind = 'k8s:serviceaccount' AND name = 'webapp-sa');
SELECT inserted, updated, deleted FROM correlate.derive_attack_edges();
SELECT title, matched, created FROM correlate.detect_correlations('2026-11-01', '2026-12-01') ORDER BY title;

-- 4. Reachability beyond the identity chain.  The pod is privileged: on the attack graph it
-- escapes to its node (1 hop), whose instance role is the node's cloud identity (2 hops).
-- A read by the node's role at 10:07 is reachable from the workload in 2 hops, but the role
-- is no part of the workload's identity chain: the reachable(2) rule fires, the identity
-- chain and 1-hop rules do not.
SELECT correlate.upsert_resource('arn:aws:iam::111122223333:role/eks-node-role', 'aws:iam:role',
								 name => 'eks-node-role', account => '111122223333') IS NOT NULL AS node_role;
SELECT correlate.link(n.id, r.id, 'runs_as', seen_at => '2026-11-19') IS NOT NULL AS linked
FROM correlate.resource n, correlate.resource r
WHERE n.kind = 'k8s:node' AND r.kind = 'aws:iam:role' AND r.name = 'eks-node-role';
SELECT inserted, updated, deleted FROM correlate.derive_attack_edges();
SELECT events FROM correlate.ingest('cloudtrail', $j${"Records": [{"eventVersion": "1.09",
 "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLENODE00001:i-0abc",
   "arn": "arn:aws:sts::111122223333:assumed-role/eks-node-role/i-0abc", "accountId": "111122223333",
   "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/eks-node-role",
     "accountId": "111122223333", "userName": "eks-node-role"}}},
 "eventTime": "2026-11-20T10:07:00Z", "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
 "awsRegion": "us-east-1", "sourceIPAddress": "10.0.1.23", "userAgent": "aws-cli/2.15.0",
 "requestParameters": {"bucketName": "acme-customer-pii", "key": "exports/cards-2026-11.csv"},
 "requestID": "EXAMPLE0NODEREAD1", "eventID": "0b4f7c52-1d2e-4f00-9a7b-000000000001", "readOnly": true,
 "eventType": "AwsApiCall", "managementEvent": false, "recipientAccountId": "111122223333"}]}$j$);
SELECT r.name AS entity, count(*) FROM correlate.detection dt JOIN correlate.resource r ON r.id = dt.entity
WHERE dt.title = 'S3 object read (test)' GROUP BY 1 ORDER BY 1;
SELECT title, matched, created FROM correlate.detect_correlations('2026-11-01', '2026-12-01') ORDER BY title;
SELECT dt.title, e.ts, r.name AS reader
FROM correlate.detection dt JOIN correlate.detection_rule cr ON cr.id = dt.rule_id AND cr.correlation IS NOT NULL
JOIN correlate.event e ON e.id = dt.event_id LEFT JOIN correlate.resource r ON r.id = e.actor
ORDER BY dt.title;

-- 5. Bad group-by extensions: a clear error each, nothing loaded.
SELECT * FROM correlate.load_sigma(E'title: c\nid: g1\ncorrelation: {type: temporal, rules: [a, b], timespan: 1h, group-by: [correlate.reachable(0)]}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: g1\ncorrelation: {type: temporal, rules: [a, b], timespan: 1h, group-by: [correlate.reachable(11)]}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: g1\ncorrelation: {type: temporal, rules: [a, b], timespan: 1h, group-by: [correlate.reachable(2]}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: g1\ncorrelation: {type: temporal, rules: [a, b], timespan: 1h, group-by: [correlate.reachable]}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: g1\ncorrelation: {type: temporal, rules: [a, b], timespan: 1h, group-by: [correlate.identity]}');
SELECT * FROM correlate.load_sigma(E'title: c\nid: g1\ncorrelation: {type: temporal, rules: [a, b], timespan: 1h, group-by: [correlate.identity_chain, userIdentity.arn]}');
SELECT count(*) AS loaded FROM correlate.detection_rule WHERE sigma_id = 'g1';
-- no entity or no hops: NULL; a resource gone since its detection (no foreign key): nothing
SELECT correlate._detection_reach(NULL, 2) AS no_entity, correlate._detection_reach(1, NULL) AS no_hops,
	   correlate._detection_reach(-1, 2) AS unknown;
-- correlate() skips a broken user meta-rule with a WARNING (detect_correlations() refuses it)
-- and still runs the rest.
SELECT count(*) FROM correlate.load_sigma(E'title: Orphan\nid: g2\ncorrelation: {type: temporal, rules: [no such rule], timespan: 1h}');
SELECT rule, created FROM correlate.correlate('2026-11-01', '2026-12-01') ORDER BY rule;
SELECT * FROM correlate.detect_correlations('2026-11-01', '2026-12-01');
