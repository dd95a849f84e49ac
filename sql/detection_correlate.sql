\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Sigma detections at ingest and in correlation: the per-backend rule cache follows rule
-- changes, detections carry the resolved entity, and correlation steps match detections
-- (by title or Sigma id) like detector alerts.
SET timezone = 'UTC';
\set d `pwd`

-- 1. No rules: ingest stores no detection.
SELECT events FROM correlate.ingest_file('cloudtrail', :'d' || '/test/data/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-stop.json');
SELECT count(*) AS detections FROM correlate.detection;

-- 2. A rule loaded afterwards finds the stored event through detect(), once.
SELECT sigma_id, title, source, replaced FROM correlate.load_sigma($y$
title: Trail Stopped (test)
id: 0d7c1b7e-1111-4111-8111-000000000001
author: correlate tests
level: high
tags: [attack.defense-evasion, attack.t1562.008]
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: StopLogging
  condition: sel
$y$);
SELECT title, matched, created FROM correlate.detect('2020-01-01', '2030-01-01');
SELECT title, matched, created FROM correlate.detect('2020-01-01', '2030-01-01');
SELECT dt.title, dt.author, dt.level, dt.severity_id, dt.tactics, dt.techniques, dt.source, r.uid AS entity
FROM correlate.detection dt LEFT JOIN correlate.resource r ON r.id = dt.entity;

-- 3. The same session's cache follows changes: a disabled rule stops firing at ingest, a
-- re-enabled one fires again, a replaced one fires with its new text.
UPDATE correlate.detection_rule SET enabled = false;
SELECT events FROM correlate.ingest_file('cloudtrail', :'d' || '/test/data/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-delete.json');
SELECT sigma_id, replaced FROM correlate.load_sigma($y$
title: Trail Stopped Or Deleted (test)
id: 0d7c1b7e-1111-4111-8111-000000000001
author: correlate tests
level: high
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: [StopLogging, DeleteTrail]
  condition: sel
$y$);
SELECT enabled FROM correlate.detection_rule;
UPDATE correlate.detection_rule SET enabled = true;
-- ingesting the DeleteTrail record again stores no event but records its detection now
SELECT events FROM correlate.ingest_file('cloudtrail', :'d' || '/test/data/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-delete.json');
SELECT e.action FROM correlate.detection dt JOIN correlate.event e ON e.id = dt.event_id ORDER BY 1;
SELECT title, matched, created FROM correlate.detect('2020-01-01', '2030-01-01');
-- deleting a rule deletes its detections
DELETE FROM correlate.detection_rule;
SELECT count(*) AS detections FROM correlate.detection;

-- 4. Correlation: the builtin pack's detections as the steps of a rule.  The Stratus
-- create-admin-user detonation creates an access key for a new user and gives it
-- AdministratorAccess: two detections by the same identity, one incident.
SELECT count(*) AS builtin_rules FROM correlate.load_builtin_detections();
SELECT events FROM correlate.ingest_file('cloudtrail', :'d' || '/test/data/cloudtrail/stratus-red-team/aws.persistence.iam-create-admin-user.json');
SELECT title, tactics FROM correlate.detection ORDER BY event_ts, title;
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window)
VALUES ('sigma-backdoor-admin', 'Backdoor administrator', 'A new access key for another user, then administrator rights.', 'critical', '1 hour');
INSERT INTO correlate.correlation_step (rule, step, label, rules, link) VALUES
	('sigma-backdoor-admin', 1, 'access key for another user', ARRAY['Access Key Created For Another IAM User'], 'identity_chain'),
	('sigma-backdoor-admin', 2, 'administrator policy attached', ARRAY['Administrator Policy*'], 'identity_chain');
SELECT rule, created, events FROM correlate.correlate('2020-01-01', '2030-01-01');
SELECT rule, created, events FROM correlate.correlate('2020-01-01', '2030-01-01');
SELECT ie.step, e.action FROM correlate.incident_event ie JOIN correlate.event e ON e.id = ie.event_id ORDER BY ie.step;

-- 5. Tenants: each tenant's ingest runs its own rules (counts filter by tenant: the test
-- runs as a superuser, whom row level security does not restrict).
INSERT INTO correlate.tenant_access (tenant, role) VALUES ('acme', current_user);
SET correlate.tenant = 'acme';
SELECT count(*) AS acme_rules FROM correlate.detection_rule WHERE tenant = 'acme';
SELECT events FROM correlate.ingest_file('cloudtrail', :'d' || '/test/data/cloudtrail/stratus-red-team/aws.persistence.iam-create-admin-user.json');
SELECT count(*) AS acme_detections FROM correlate.detection WHERE tenant = 'acme';
SELECT count(*) FROM correlate.load_sigma($y$
title: Any IAM call (test)
id: 0d7c1b7e-1111-4111-8111-000000000002
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventSource: iam.amazonaws.com
  condition: sel
$y$);
SELECT title, matched, created FROM correlate.detect('2020-01-01', '2030-01-01');
RESET correlate.tenant;
SELECT tenant, title, count(*) FROM correlate.detection GROUP BY 1, 2 ORDER BY 1, 2;

-- 6. A limit lowered after a rule was loaded applies to new loads, not to the rules already
-- stored: ingest keeps evaluating them.
SELECT count(*) FROM correlate.load_sigma($y$
title: Trail API by a user (regex, test)
id: 0d7c1b7e-1111-4111-8111-000000000003
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName|re: '^(StopLogging|DeleteTrail|PutEventSelectors)$'
  condition: sel
$y$);
SET correlate.sigma_max_regex_chars = 10;
SELECT count(*) FROM correlate.load_sigma($y$
title: Too long now (test)
id: 0d7c1b7e-1111-4111-8111-000000000004
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName|re: '^(StopLogging|DeleteTrail)$'
  condition: sel
$y$);
SELECT events FROM correlate.ingest_file('cloudtrail', :'d' || '/test/data/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-stop.json');
SELECT count(*) AS regex_rule_detections FROM correlate.detection WHERE title = 'Trail API by a user (regex, test)';
RESET correlate.sigma_max_regex_chars;
