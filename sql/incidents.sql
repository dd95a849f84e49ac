-- Incidents: declarative correlation rules chain events across domains through the
-- identity chain; correlate() is idempotent; malformed rules are rejected; tenancy.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
DROP ROLE IF EXISTS inc_globex;
RESET client_min_messages;
SET TIME ZONE 'UTC';

-- The builtin rules, as data.
SELECT r.name, r.severity, r.time_window, s.step, s.label, s.domains, s.class_uids, s.actions, s.rules, s.target_kinds, s.link
FROM correlate.correlation_rule r JOIN correlate.correlation_step s ON s.rule = r.name
ORDER BY r.name, s.step;

-- No events, no incidents.
SELECT * FROM correlate.correlate();

\o /dev/null
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
\o

-- The seed story is one incident of nine events across four domains.
SELECT rule, created, events FROM correlate.correlate();
SELECT rule, title, severity, status, first_ts, last_ts,
	   (SELECT string_agg(r.name, ', ' ORDER BY r.name) FROM correlate.resource r WHERE r.id = ANY (i.entities)) AS entities
FROM correlate.incident i;
SELECT ie.step, e.domain, e.source, COALESCE(e.rule, e.action) AS what, e.ts
FROM correlate.incident_event ie JOIN correlate.event e ON e.id = ie.event_id
ORDER BY ie.step, e.ts, e.id;
SELECT ts, domain, class, actor, target, action, summary
FROM correlate.incident_timeline((SELECT id FROM correlate.incident));

-- Idempotent: again, and over any window, nothing new.
SELECT rule, created, events FROM correlate.correlate();
SELECT rule, created, events FROM correlate.correlate('2026-11-20 09:00', '2026-11-20 11:00');
SELECT count(*) AS incidents, (SELECT count(*) FROM correlate.incident_event) AS incident_events FROM correlate.incident;
-- A window without the anchor finds nothing to anchor.
SELECT * FROM correlate.correlate('2026-11-20 10:01', '2026-11-21');
SELECT * FROM correlate.correlate(until => '2026-11-20');

-- A late event within the window joins the existing incident; analysts' status is kept.
UPDATE correlate.incident SET status = 'acknowledged';
SELECT correlate.record_event('2026-11-20 10:20+00', 6003, 'cloudtrail', uid => 'late-1', domain => 'data',
	actor => correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
	action => 's3:GetObject', outcome => 'success') > 0 AS recorded;
SELECT rule, created, events FROM correlate.correlate();
SELECT status, last_ts, (SELECT count(*) FROM correlate.incident_event) AS events FROM correlate.incident;
-- ...one outside the window does not.
SELECT correlate.record_event('2026-11-20 12:00+00', 6003, 'cloudtrail', uid => 'late-2', domain => 'data',
	actor => correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
	action => 's3:GetObject', outcome => 'success') > 0 AS recorded;
SELECT rule, created, events FROM correlate.correlate();

-- A user rule: any workload detection followed by data access by the same chain
-- within 10 minutes; a disabled rule does not run.
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window)
VALUES ('detection-then-data', 'Detection then data access', 'A detector fires, then the workload''s identity reads data.', 'high', '10 minutes'),
	   ('never', 'Never', 'Disabled.', 'low', '1 hour');
INSERT INTO correlate.correlation_step (rule, step, label, domains, rules, actions, min_severity) VALUES
	('detection-then-data', 1, 'shell', ARRAY['workload'], ARRAY['terminal shell*'], NULL, 2),
	('detection-then-data', 2, 'read', ARRAY['data'], NULL, ARRAY['S3:GETOBJECT'], NULL),
	('never', 1, 'anything', ARRAY['workload'], NULL, NULL, NULL);
UPDATE correlate.correlation_rule SET enabled = false WHERE name = 'never';
SELECT rule, created, events FROM correlate.correlate() ORDER BY rule;
SELECT ie.step, e.action, e.rule FROM correlate.incident i JOIN correlate.incident_event ie ON ie.incident = i.id
JOIN correlate.event e ON e.id = ie.event_id WHERE i.rule = 'detection-then-data' ORDER BY ie.step, e.ts;
-- same_resource links only events naming the anchor's own actor or target: the role's reads do not.
UPDATE correlate.correlation_step SET link = 'same_resource' WHERE rule = 'detection-then-data' AND step = 2;
DELETE FROM correlate.incident WHERE rule = 'detection-then-data';
SELECT rule, created, events FROM correlate.correlate() ORDER BY rule;
-- A step severity above the event's stops the match.
UPDATE correlate.correlation_step SET link = 'identity_chain', min_severity = 5 WHERE rule = 'detection-then-data' AND step = 1;
SELECT rule, created, events FROM correlate.correlate() ORDER BY rule;

-- Cycles in the identity chain (roles that assume each other) do not trap entity resolution.
SELECT correlate.link(correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
	correlate.upsert_resource('arn:aws:iam::111122223333:role/other', 'aws:iam:role', name => 'other'), 'assumes') > 0 AS linked;
SELECT correlate.link(correlate.resource_id('arn:aws:iam::111122223333:role/other'),
	correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'), 'assumes') > 0 AS linked;
SELECT (SELECT string_agg(r.name, ', ' ORDER BY r.name) FROM correlate.resource r WHERE r.id = ANY (
	correlate._entity_chain(correlate.resource_id('container://8c2f1e7a9b3d'), NULL, NULL, '2026-11-20'))) AS chain;
SELECT rule, created, events FROM correlate.correlate() ORDER BY rule;

-- Incremental correlation (what the scheduled job runs): the first call correlates
-- all history and sets the tenant's watermark; with nothing new it does nothing; an
-- event arriving later, whose chain began before the watermark, joins its incident.
DELETE FROM correlate.incident;
SELECT count(*) AS arrivals_before FROM correlate.event_arrival;
SELECT rule, created, events FROM correlate.correlate_new_events() ORDER BY rule;
SELECT tenant, last_event_id = (SELECT max(id) FROM correlate.event) AS at_newest, last_event_ts
FROM correlate.correlation_watermark;
SELECT * FROM correlate.correlate_new_events();
SELECT correlate.record_event('2026-11-20 10:40+00', 6003, 'cloudtrail', uid => 'late-3', domain => 'data',
	actor => correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
	action => 's3:GetObject', outcome => 'success') > 0 AS recorded;
SELECT count(*) AS arrivals_of_the_late_event FROM correlate.event_arrival;
SELECT rule, created, events FROM correlate.correlate_new_events() ORDER BY rule;
SELECT last_event_id = (SELECT max(id) FROM correlate.event) AS at_newest FROM correlate.correlation_watermark;
SELECT count(*) AS arrivals_after FROM correlate.event_arrival;
-- A full correlate() consumes arrivals too.
SELECT correlate.record_event('2026-11-20 10:41+00', 6003, 'cloudtrail', uid => 'late-4', domain => 'data',
	actor => correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
	action => 's3:GetObject', outcome => 'success') > 0 AS recorded;
SELECT count(*) AS arrivals FROM correlate.event_arrival;
SELECT count(*) > 0 AS correlated FROM correlate.correlate();
SELECT count(*) AS arrivals_after_full_run FROM correlate.event_arrival;

-- Ceiling: one step adds at most 1000 events to one incident per run (the earliest).
BEGIN;
SELECT count(correlate.record_event('2026-11-20 10:07+00'::timestamptz + g * interval '10 ms', 6003, 'cloudtrail',
	uid => 'flood-' || g, domain => 'data', actor => correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
	action => 's3:GetObject', outcome => 'success')) AS flood
FROM generate_series(1, 1200) g;
DELETE FROM correlate.incident;
SELECT rule, created, events FROM correlate.correlate() ORDER BY rule;
ROLLBACK;

-- Malformed rules are rejected by CHECK constraints.
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window) VALUES ('Bad Name', 't', 'd', 'high', '1 hour');
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window) VALUES ('zero', 't', 'd', 'high', '0');
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window) VALUES ('long', 't', 'd', 'high', '31 days');
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window) VALUES ('sev', 't', 'd', 'urgent', '1 hour');
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window) VALUES ('untitled', '', 'd', 'high', '1 hour');
INSERT INTO correlate.correlation_step (rule, step, label) VALUES ('never', 2, 'matches everything');
INSERT INTO correlate.correlation_step (rule, step, label, domains) VALUES ('never', 0, 'x', ARRAY['network']);
INSERT INTO correlate.correlation_step (rule, step, label, domains) VALUES ('never', 2, 'x', ARRAY['space']);
INSERT INTO correlate.correlation_step (rule, step, label, domains) VALUES ('never', 2, 'x', ARRAY[]::text[]);
INSERT INTO correlate.correlation_step (rule, step, label, actions) VALUES ('never', 2, 'x', ARRAY['']);
INSERT INTO correlate.correlation_step (rule, step, label, actions) VALUES ('never', 2, 'x', ARRAY['s3:*', NULL]);
INSERT INTO correlate.correlation_step (rule, step, label, rules) VALUES ('never', 2, 'x', ARRAY[repeat('x', 257)]);
INSERT INTO correlate.correlation_step (rule, step, label, class_uids) VALUES ('never', 2, 'x', ARRAY[-1]);
INSERT INTO correlate.correlation_step (rule, step, label, domains, min_severity) VALUES ('never', 2, 'x', ARRAY['network'], 7);
INSERT INTO correlate.correlation_step (rule, step, label, domains, link) VALUES ('never', 2, 'x', ARRAY['network'], 'nearby');
INSERT INTO correlate.correlation_step (rule, step, label, domains) VALUES ('no-such-rule', 1, 'x', ARRAY['network']);
-- Patterns are data: LIKE wildcards in them are literal.
SELECT correlate._glob_like('s3:Get*'), correlate._glob_like('100%_?'), 'a%b' LIKE correlate._glob_like('a%b') AS literal,
	   'axb' LIKE correlate._glob_like('a%b') AS not_wild;

-- Bad input.
SELECT * FROM correlate.correlate('2026-11-21', '2026-11-20');
SELECT * FROM correlate.incident_timeline(NULL);
SELECT * FROM correlate.incident_timeline(-1);

-- Tenancy: another tenant sees no incidents, creates none from these events and
-- cannot read this tenant's timeline.
CREATE ROLE inc_globex IN ROLE correlate_writer;
SELECT correlate.grant_tenant('globex', 'inc_globex');
SET ROLE inc_globex;
SET correlate.tenant = 'globex';
SELECT count(*) AS visible_incidents FROM correlate.incident;
SELECT count(*) AS visible_incident_events FROM correlate.incident_event;
SELECT count(*) AS visible_watermarks FROM correlate.correlation_watermark;
SELECT * FROM correlate.correlate_new_events();
SELECT * FROM correlate.correlate();
SELECT * FROM correlate.incident_timeline(1);
-- Rules are shared configuration, readable by every role, writable by admins only.
SELECT count(*) > 0 AS sees_rules FROM correlate.correlation_rule;
DELETE FROM correlate.correlation_rule WHERE name = 'never';
RESET ROLE;
RESET correlate.tenant;
SELECT count(*) AS default_incidents FROM correlate.incident;

DROP EXTENSION correlate CASCADE;
DROP ROLE inc_globex;
