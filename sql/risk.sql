-- Risk: scores that explain themselves on the seed scenario, toxic combinations,
-- idempotent rescoring, tenancy, bad input and malformed rules.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
DROP ROLE IF EXISTS risk_globex;
RESET client_min_messages;
SET TIME ZONE 'UTC';

-- An empty tenant scores nothing.
SELECT * FROM correlate.rescore(as_of => '2026-11-21');

\o /dev/null
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT correlate.correlate();
\o

SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT r.kind, r.name, s.score, jsonb_array_length(s.reasons) AS reasons
FROM correlate.risk_score s JOIN correlate.resource r ON r.id = s.resource_id
ORDER BY s.score DESC, r.kind, r.uid;

-- Rescoring again with nothing changed rewrites no score row (same row versions).
CREATE TEMP TABLE versions AS SELECT resource_id, xmin::text AS x FROM correlate.risk_score;
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT count(*) AS rewritten FROM correlate.risk_score s JOIN versions v USING (resource_id) WHERE s.xmin::text <> v.x;

-- Every reason has the four fields, a weight in (0,50] and evidence ids that exist.
SELECT count(*) AS reasons,
	   bool_and(x ?& ARRAY['factor', 'weight', 'detail', 'evidence']) AS complete,
	   bool_and((x->>'weight')::int BETWEEN 1 AND 50) AS weights_ok
FROM correlate.risk_score s, jsonb_array_elements(s.reasons) x;
SELECT e.key AS evidence_kind, count(*) AS ids,
	   count(*) FILTER (WHERE CASE e.key
			WHEN 'findings' THEN EXISTS (SELECT 1 FROM correlate.finding f WHERE f.id = v::bigint)
			WHEN 'events' THEN EXISTS (SELECT 1 FROM correlate.event f WHERE f.id = v::bigint)
			WHEN 'relationships' THEN EXISTS (SELECT 1 FROM correlate.relationship f WHERE f.id = v::bigint)
			WHEN 'resources' THEN EXISTS (SELECT 1 FROM correlate.resource f WHERE f.id = v::bigint)
			WHEN 'statements' THEN EXISTS (SELECT 1 FROM correlate.iam_statement f WHERE f.id = v::bigint) END) AS existing
FROM correlate.risk_score s, jsonb_array_elements(s.reasons) x, jsonb_each(x->'evidence') e,
	 jsonb_array_elements_text(e.value) v
GROUP BY e.key ORDER BY 1;

-- The pod, the role and the bucket, explained.
SELECT * FROM correlate.explain_risk(correlate.resource_id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'));
SELECT * FROM correlate.explain_risk(correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'));
SELECT * FROM correlate.explain_risk(correlate.resource_id('arn:aws:s3:::acme-customer-pii'));
-- A resource without risk factors explains nothing.
SELECT count(*) FROM correlate.explain_risk(correlate.internet());

SELECT c.rule, c.severity, r.name, c.evidence
FROM correlate.toxic_combination c JOIN correlate.resource r ON r.id = c.resource_id
ORDER BY c.rule, r.name;

-- Rescoring again changes nothing and keeps when each combination was first seen.
CREATE TEMP TABLE before AS
	SELECT s.resource_id, s.score, s.reasons FROM correlate.risk_score s;
CREATE TEMP TABLE toxic_before AS SELECT id, rule, resource_id, first_seen FROM correlate.toxic_combination;
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT count(*) AS changed FROM correlate.risk_score s FULL JOIN before b USING (resource_id)
WHERE s.score IS DISTINCT FROM b.score OR s.reasons IS DISTINCT FROM b.reasons;
SELECT count(*) AS same_combinations FROM correlate.toxic_combination c JOIN toxic_before b USING (id, rule, resource_id, first_seen);

-- Detections age out of the window; the "under attack" combination goes with them.
SELECT * FROM correlate.rescore(as_of => '2026-12-31');
SELECT count(*) FILTER (WHERE x->>'factor' = 'detection') AS detection_reasons
FROM correlate.risk_score s, jsonb_array_elements(s.reasons) x;
SELECT rule, count(*) FROM correlate.toxic_combination GROUP BY rule ORDER BY rule;

-- Patching the CVE and fixing the pod lower the pod's score.
BEGIN;
UPDATE correlate.finding SET status = 'fixed' WHERE check_id IN ('CVE-2021-44228', 'privileged');
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT s.score FROM correlate.risk_score s
WHERE s.resource_id = correlate.resource_id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k');
ROLLBACK;

-- A user-defined toxic rule; a disabled builtin one stops matching.
INSERT INTO correlate.toxic_rule (name, description, factors, severity, bonus)
VALUES ('privileged-with-detections', 'privileged and a detector fired', ARRAY['privileged', 'detection'], 'critical', 10);
UPDATE correlate.toxic_rule SET enabled = false WHERE name = 'exploitable-path-to-crown-jewel';
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT rule, count(*) FROM correlate.toxic_combination GROUP BY rule ORDER BY rule;
UPDATE correlate.toxic_rule SET enabled = true WHERE name = 'exploitable-path-to-crown-jewel';
DELETE FROM correlate.toxic_rule WHERE name = 'privileged-with-detections';
SELECT count(*) AS gone_with_rule FROM correlate.toxic_combination WHERE rule = 'privileged-with-detections';

-- Malformed toxic rules are rejected by CHECK constraints.
INSERT INTO correlate.toxic_rule (name, description, factors, bonus) VALUES ('one', 'd', ARRAY['internet_exposure'], 10);
INSERT INTO correlate.toxic_rule (name, description, factors, bonus) VALUES ('unknown', 'd', ARRAY['internet_exposure', 'luck'], 10);
INSERT INTO correlate.toxic_rule (name, description, factors, bonus) VALUES ('nulls', 'd', ARRAY['internet_exposure', NULL], 10);
INSERT INTO correlate.toxic_rule (name, description, factors, bonus) VALUES ('big', 'd', ARRAY['internet_exposure', 'detection'], 51);
INSERT INTO correlate.toxic_rule (name, description, factors, bonus) VALUES ('Bad Name', 'd', ARRAY['internet_exposure', 'detection'], 5);
INSERT INTO correlate.toxic_rule (name, description, factors, domains, bonus) VALUES ('dom', 'd', ARRAY['internet_exposure', 'detection'], ARRAY['space'], 5);
INSERT INTO correlate.toxic_rule (name, description, factors, severity, bonus) VALUES ('sev', 'd', ARRAY['internet_exposure', 'detection'], 'dire', 5);

-- Bad input.
SELECT * FROM correlate.explain_risk(NULL);
SELECT * FROM correlate.explain_risk(-1);
SELECT * FROM correlate.rescore(as_of => 'infinity');
SELECT * FROM correlate.rescore(detection_window => '-1 day');
SELECT * FROM correlate.rescore(detection_window => NULL);
-- pg_cron is not installed in the regression database.
SELECT correlate.schedule_rescoring();
SELECT correlate.schedule_rescoring('');
SELECT correlate.unschedule_rescoring();

-- Tenancy: another tenant's role sees no scores, and rescoring there scores nothing
-- and leaves this tenant's scores alone.
CREATE ROLE risk_globex IN ROLE correlate_writer;
SELECT correlate.grant_tenant('globex', 'risk_globex');
SET ROLE risk_globex;
SET correlate.tenant = 'globex';
SELECT count(*) AS visible_scores FROM correlate.risk_score;
SELECT count(*) AS visible_combinations FROM correlate.toxic_combination;
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT * FROM correlate.explain_risk(correlate.resource_id('arn:aws:s3:::acme-customer-pii'));
SELECT * FROM correlate.explain_risk(1);
-- ...nor may it open the default tenant's rows by naming them (refused before any
-- clock-dependent work, so the answer holds on any date).
SELECT * FROM correlate.run_scheduled_rescore('acme');
RESET ROLE;
RESET correlate.tenant;
SELECT count(*) AS default_scores FROM correlate.risk_score;

-- A resource deleted takes its score and combinations with it.
DELETE FROM correlate.resource WHERE uid = 'k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k';
SELECT (SELECT count(*) FROM correlate.risk_score s
		WHERE NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.id = s.resource_id)) AS orphan_scores,
	   (SELECT count(*) FROM correlate.toxic_combination c
		WHERE NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.id = c.resource_id)) AS orphan_combinations;

-- The score and evidence helpers (C): exact noisy-OR with half-up rounding, weights
-- clamped to [0,99], NULLs ignored; evidence ids sorted and deduplicated, empty lists left out.
SELECT w, correlate._combine_weights(w) AS score
FROM (VALUES (NULL::int[]), ('{}'), ('{NULL}'), ('{NULL,50}'), ('{10,15}'), ('{50,75}'), ('{-5,200}'),
			 ('{{10,20},{30,40}}'), ('{99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99}'),
			 ('{1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1}')) v(w);
-- Long arrays stay cheap: the score is settled at 100 after a few hundred weights.
SELECT correlate._combine_weights(array_fill(1, ARRAY[1000000])) AS many_ones,
	   correlate._combine_weights(array_fill(0, ARRAY[1000000])) AS many_zeros,
	   correlate._combine_weights(array_fill(NULL::int, ARRAY[1000000])) AS many_nulls;
SELECT correlate._evidence() AS none,
	   correlate._evidence(findings => '{}', events => '{NULL}') AS empty,
	   correlate._evidence(events => '{3,1,3,NULL,-2}', statements => '{{9,8},{8,7}}',
						   relationships => '{9223372036854775807}') AS mixed;

DROP EXTENSION correlate CASCADE;
DROP ROLE risk_globex;
