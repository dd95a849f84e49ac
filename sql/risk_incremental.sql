-- Incremental rescoring gives exactly what a rescore from scratch gives: on a
-- synthetic estate (test/bench/gen_estate.sql) with the seed scenario (IAM policies,
-- events, detections, incidents) and findings added, rounds of random changes (every
-- kind of write: resources, relationships, findings, events, incidents, a moving
-- as_of), each followed by an incremental rescore(), then one from scratch at the
-- same as_of compared row by row: the same scores, reasons and toxic combinations,
-- and no history row written by the second.  All times are fixed.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
DROP SCHEMA IF EXISTS correlate_bench CASCADE;
CREATE EXTENSION correlate;
SET TIME ZONE 'UTC';
\set n 1000
\set seed 0.19
\set ECHO none
\o /dev/null
\i test/bench/gen_estate.sql
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT correlate.correlate();
\o
\set ECHO all
\set ON_ERROR_STOP off
RESET client_min_messages;
SELECT setseed(0.5);
-- Weaknesses and privileged settings on workloads, a few crown jewels more, alerts.
INSERT INTO correlate.finding (tenant, resource, kind, check_id, severity, cvss, epss, known_exploited, props)
SELECT 'default', r.id, 'vulnerability', 'CVE-R-' || (r.id % 7), 'high', 8.8, (r.id % 100) / 100.0, r.id % 7 = 0,
	   '{"cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}'
FROM correlate.resource r WHERE r.kind IN ('container:image', 'aws:ec2:instance', 'k8s:pod', 'container') AND r.id % 3 = 0;
INSERT INTO correlate.finding (tenant, resource, kind, check_id, severity)
SELECT 'default', r.id, 'misconfiguration', (ARRAY['privileged', 'KSV012', 'host-path'])[1 + r.id % 3], 'high'
FROM correlate.resource r WHERE r.kind IN ('k8s:pod', 'container') AND r.id % 5 = 0;
CREATE FUNCTION pg_temp.alerts(at timestamptz, k integer) RETURNS void
LANGUAGE sql AS $$
	SELECT count(correlate.record_event(at - interval '1 hour' * (r.id % 48), 2004, 'falco', uid => 'a-' || k || '-' || r.id,
										domain => 'workload', severity_id => 1 + (r.id % 5)::int, actor => r.id,
										rule => (ARRAY['Terminal shell in container', 'Unexpected outbound connection'])[1 + r.id % 2]))
	FROM (SELECT r.id FROM correlate.resource r WHERE r.kind IN ('k8s:pod', 'container') ORDER BY random() LIMIT 8) r
$$;
SELECT pg_temp.alerts('2026-11-20', 0);

-- Scores, reasons and toxic combinations as stored, and the differences between
-- what was stored before the rescore from scratch and what it stored.
CREATE TEMP TABLE snap (resource_id bigint, score smallint, reasons jsonb);
CREATE TEMP TABLE snap_toxic (rule text, resource_id bigint, severity text, reasons jsonb, evidence jsonb,
							  first_seen timestamptz, last_seen timestamptz);
CREATE FUNCTION pg_temp.compare(at timestamptz) RETURNS TABLE (mode text, scores_differ bigint, toxic_differ bigint,
															   history_by_full bigint, some_not_all boolean)
LANGUAGE plpgsql AS $$
DECLARE
	m text;
	n bigint;
	h bigint;
BEGIN
	PERFORM correlate.rescore(as_of => at);
	SELECT s.mode, s.rescored INTO m, n FROM correlate.risk_state s;
	DELETE FROM snap; DELETE FROM snap_toxic;
	INSERT INTO snap SELECT s.resource_id, s.score, s.reasons FROM correlate.risk_score s;
	INSERT INTO snap_toxic SELECT c.rule, c.resource_id, c.severity, c.reasons, c.evidence, c.first_seen, c.last_seen
	FROM correlate.toxic_combination c;
	h := (SELECT count(*) FROM correlate.risk_history);
	PERFORM correlate.rescore(as_of => at, from_scratch => true);
	RETURN QUERY SELECT m,
		(SELECT count(*) FROM (SELECT * FROM snap EXCEPT ALL SELECT s.resource_id, s.score, s.reasons FROM correlate.risk_score s) x)
		+ (SELECT count(*) FROM (SELECT s.resource_id, s.score, s.reasons FROM correlate.risk_score s EXCEPT ALL SELECT * FROM snap) x),
		(SELECT count(*) FROM (SELECT * FROM snap_toxic EXCEPT ALL SELECT c.rule, c.resource_id, c.severity, c.reasons, c.evidence,
							   c.first_seen, c.last_seen FROM correlate.toxic_combination c) x)
		+ (SELECT count(*) FROM (SELECT c.rule, c.resource_id, c.severity, c.reasons, c.evidence, c.first_seen, c.last_seen
								 FROM correlate.toxic_combination c EXCEPT ALL SELECT * FROM snap_toxic) x),
		(SELECT count(*) FROM correlate.risk_history) - h,
		n > 0 AND n < (SELECT count(*) FROM correlate.resource);
END
$$;

-- One round of random changes to about 1% of the facts.
CREATE FUNCTION pg_temp.round(at timestamptz, k integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	ids bigint[];
BEGIN
	-- findings opened and fixed; new findings
	UPDATE correlate.finding SET status = CASE status WHEN 'open' THEN 'fixed' ELSE 'open' END WHERE random() < 0.03;
	INSERT INTO correlate.finding (tenant, resource, kind, check_id, severity, cvss, known_exploited)
	SELECT 'default', r.id, 'vulnerability', 'CVE-N-' || r.id, 'critical', 9.8, random() < 0.5
	FROM correlate.resource r WHERE r.kind IN ('container:image', 'k8s:pod', 'container') AND random() < 0.01
	ON CONFLICT DO NOTHING;
	-- relationships: likelihoods nudged, some deleted, some added
	UPDATE correlate.relationship SET likelihood = round((likelihood * 0.9)::numeric, 2)::float8 + 0.01 WHERE random() < 0.01;
	DELETE FROM correlate.relationship WHERE random() < 0.01;
	INSERT INTO correlate.relationship (tenant, src, dst, kind, likelihood, source)
	SELECT 'default', a.id, b.id, k.kind, 0.8, 'test'
	FROM (VALUES ('internet', 'k8s:service', 'exposes'), ('k8s:service', 'k8s:pod', 'exposes'),
				 ('k8s:pod', 'container:image', 'uses_image'), ('k8s:pod', 'container', 'contains'),
				 ('k8s:pod', 'k8s:serviceaccount', 'runs_as'), ('aws:iam:role', 'aws:s3:bucket', 'can_access'),
				 ('k8s:serviceaccount', 'aws:iam:role', 'assumes'), ('container', 'k8s:pod', 'runs_on'),
				 ('internet', 'k8s:pod', 'connects_to')) k(sk, dk, kind)
	CROSS JOIN LATERAL (SELECT r.id FROM correlate.resource r WHERE r.kind = k.sk ORDER BY random() LIMIT 2) a
	CROSS JOIN LATERAL (SELECT r.id FROM correlate.resource r WHERE r.kind = k.dk AND a.id IS NOT NULL ORDER BY random() LIMIT 1) b
	ON CONFLICT DO NOTHING;
	-- names, crown jewels and domains changed; a re-ingest touching only last_seen
	UPDATE correlate.resource SET name = name || '-r' || k WHERE random() < 0.01;
	UPDATE correlate.resource SET criticality = CASE WHEN criticality >= 1 THEN 0.3 ELSE 1 END
	WHERE kind IN ('aws:s3:bucket', 'aws:rds:db') AND random() < 0.02;
	UPDATE correlate.resource SET last_seen = last_seen + interval '1 day' WHERE random() < 0.05;
	-- resources deleted (their relationships and findings go with them) and added
	ids := ARRAY(SELECT r.id FROM correlate.resource r
				 WHERE r.kind IN ('container:image', 'k8s:node', 'k8s:service', 'k8s:pod', 'container') AND random() < 0.01);
	DELETE FROM correlate.resource WHERE id = ANY (ids);
	PERFORM correlate.link(correlate.resource_id('internet'),
						   correlate.upsert_resource('k8s://prod-eks/ns-3/pod/new-' || k || '-' || i, 'k8s:pod',
													 cluster => 'prod-eks', namespace => 'ns-3'), 'connects_to', 0.7)
	FROM generate_series(1, 2) i;
	-- new alerts, and an alert deleted
	PERFORM pg_temp.alerts(at, k);
	DELETE FROM correlate.event e WHERE e.id = (SELECT max(x.id) FROM correlate.event x WHERE x.class_uid = 2004 AND x.uid LIKE 'a-0-%');
END
$$;

-- Incremental whatever the share of resources that changed (the estate is small).
SET correlate.rescore_incremental_limit = 1;
-- The first rescore is from scratch; nothing changed: nothing rescored, nothing differs.
SELECT * FROM pg_temp.compare('2026-11-21');
SELECT * FROM pg_temp.compare('2026-11-21');
SELECT count(*) > 100 AS scored, (SELECT rescored FROM correlate.risk_state) AS rescored FROM correlate.risk_score;
-- Rounds of changes, with as_of moving (alerts leave and enter the window) or not.
SELECT pg_temp.round('2026-11-21 06:00', 1);
SELECT * FROM pg_temp.compare('2026-11-21 06:00');
SELECT pg_temp.round('2026-11-22', 2);
SELECT * FROM pg_temp.compare('2026-11-22');
SELECT pg_temp.round('2026-11-22', 3);
SELECT * FROM pg_temp.compare('2026-11-22');
-- Several rounds between two rescores.
SELECT pg_temp.round('2026-11-25', 4), pg_temp.round('2026-11-25', 5);
SELECT * FROM pg_temp.compare('2026-11-26');
-- The seed's own chain: the log4j CVE fixed changes the image, the pod, its path,
-- its toxic combinations; the incidents deleted give the role's events back to
-- what it used legitimately.
UPDATE correlate.finding SET status = CASE status WHEN 'open' THEN 'fixed' ELSE 'open' END WHERE check_id = 'CVE-2021-44228';
SELECT * FROM pg_temp.compare('2026-11-26');
DELETE FROM correlate.incident;
SELECT * FROM pg_temp.compare('2026-11-26');

-- What makes the next rescore start from scratch: a weight, a toxic rule, an IAM
-- policy change, a truncate, a setting.
UPDATE correlate.risk_factor SET weight = 20 WHERE name = 'detection';
SELECT * FROM pg_temp.compare('2026-11-26');
UPDATE correlate.risk_factor SET weight = default_weight;
SELECT correlate.rescore(as_of => '2026-11-26') IS NOT NULL AS rescored, (SELECT mode FROM correlate.risk_state);
SELECT count(*) > 0 AS refreshed FROM correlate.refresh_policies();
SELECT correlate.rescore(as_of => '2026-11-26') IS NOT NULL AS rescored, (SELECT mode FROM correlate.risk_state);
SET correlate.crown_jewel_criticality = 0.5;
SELECT * FROM pg_temp.compare('2026-11-26');
RESET correlate.crown_jewel_criticality;
-- The log only records tenants rescored at least once, and only changes the reasons read.
SELECT count(*) AS logged FROM correlate.risk_dirty;
UPDATE correlate.resource SET last_seen = last_seen + interval '1 day';
UPDATE correlate.relationship SET last_seen = last_seen + interval '1 day';
SELECT count(*) AS logged FROM correlate.risk_dirty;
UPDATE correlate.resource SET name = name WHERE kind = 'k8s:pod';
SELECT count(*) AS logged FROM correlate.risk_dirty;
-- A share of 0 rescores from scratch.
SET correlate.rescore_incremental_limit = 0;
SELECT correlate.rescore(as_of => '2026-11-26') IS NOT NULL AS rescored, (SELECT mode FROM correlate.risk_state);
RESET correlate.rescore_incremental_limit;
-- Bad input.
SELECT * FROM correlate.rescore(as_of => '2026-11-26', from_scratch => NULL);
SET correlate.rescore_incremental_limit = 2;
DROP SCHEMA correlate_bench CASCADE;
