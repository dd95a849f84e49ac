-- Incremental derivation gives exactly what a derivation from scratch gives: on a
-- synthetic estate (test/bench/gen_estate.sql) with Kubernetes RBAC, system groups,
-- pod security settings and findings added, rounds of random changes to about 1% of
-- the facts (every kind of write: insert, update, delete, of resources, relationships
-- and findings), each followed by an incremental derive_attack_edges(), compared row
-- by row with attack_edges_derived() computed from all facts.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
DROP SCHEMA IF EXISTS correlate_bench CASCADE;
CREATE EXTENSION correlate;
\set n 1000
\set seed 0.17
\set ECHO none
\o /dev/null
\i test/bench/gen_estate.sql
\o
\set ECHO all
\set ON_ERROR_STOP off
RESET client_min_messages;
SELECT setseed(0.5);
-- Weaknesses on images and instances; RBAC roles bound to service accounts and groups;
-- pod security settings.
INSERT INTO correlate.finding (tenant, resource, kind, check_id, severity, cvss, epss, known_exploited, props)
SELECT 'default', r.id, 'vulnerability', 'CVE-T-' || (r.id % 7), 'high', 8.8, (r.id % 100) / 100.0, r.id % 7 = 0,
	   '{"cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}'
FROM correlate.resource r WHERE r.kind IN ('container:image', 'aws:ec2:instance', 'k8s:pod') AND r.id % 3 = 0;
SELECT count(*) > 0 AS roles FROM (
	SELECT correlate.upsert_resource('k8s://prod-eks/ns-' || i || '/role/r-' || i, 'k8s:role', name => 'r-' || i,
									 cluster => 'prod-eks', namespace => 'ns-' || i,
									 props => jsonb_build_object('rules', CASE i % 3
										WHEN 0 THEN '[{"verbs": ["create"], "resources": ["pods/exec"]}]'::jsonb
										WHEN 1 THEN '[{"verbs": ["get"], "resources": ["secrets"]}]'::jsonb
										ELSE '[{"verbs": ["patch"], "resources": ["deployments"]}, {"verbs": ["create"], "resources": ["serviceaccounts/token"]}]'::jsonb END))
	FROM generate_series(0, 19) i) x;
SELECT count(*) > 0 AS groups FROM (
	SELECT correlate.upsert_resource('k8s://prod-eks/_/group/' || g, 'k8s:group', name => g, cluster => 'prod-eks')
	FROM unnest(ARRAY['system:authenticated', 'system:serviceaccounts:ns-3', 'system:serviceaccounts:ns-4']) g) x;
-- bindings: one in ten service accounts to its namespace's role, and the groups
INSERT INTO correlate.relationship (tenant, src, dst, kind, likelihood, props, source)
SELECT 'default', s.id, ro.id, 'can_access', 1.0,
	   jsonb_build_object('binding:b-' || s.id, jsonb_build_object('kind', 'RoleBinding', 'scope', ro.namespace)), 'test'
FROM correlate.resource s JOIN correlate.resource ro ON ro.kind = 'k8s:role' AND ro.namespace = 'ns-' || (s.id % 20)
WHERE s.kind IN ('k8s:serviceaccount', 'k8s:group') AND (s.id % 10 = 0 OR s.kind = 'k8s:group');
UPDATE correlate.resource SET props = props || CASE id % 9
	WHEN 0 THEN '{"privileged": true}' WHEN 1 THEN '{"automount_token": false}'
	WHEN 2 THEN '{"host_network": true}' WHEN 3 THEN '{"host_paths": ["/var/log"]}' ELSE '{}' END::jsonb
WHERE kind = 'k8s:pod';

CREATE FUNCTION pg_temp.mismatches() RETURNS TABLE (missing bigint, extra bigint, total bigint)
LANGUAGE sql AS $$
	WITH stored AS (SELECT src, dst, technique, attack_id, likelihood, because FROM correlate.attack_edge),
	fresh AS (SELECT src, dst, technique, attack_id, likelihood, because FROM correlate.attack_edges_derived())
	SELECT (SELECT count(*) FROM (SELECT * FROM fresh EXCEPT ALL SELECT * FROM stored) x),
		   (SELECT count(*) FROM (SELECT * FROM stored EXCEPT ALL SELECT * FROM fresh) x),
		   (SELECT count(*) FROM stored)
$$;
CREATE FUNCTION pg_temp.state() RETURNS TABLE (mode text)
LANGUAGE sql AS $$ SELECT s.mode FROM correlate.attack_derive_state s $$;

-- From scratch first.
SELECT inserted > 1000 AS derived FROM correlate.derive_attack_edges();
SELECT mode FROM pg_temp.state();
SELECT missing, extra, total > 1000 AS many FROM pg_temp.mismatches();
-- Nothing changed: nothing to do.
SELECT * FROM correlate.derive_attack_edges();
SELECT mode FROM pg_temp.state();

-- One round of random changes to about 1% of the facts.
CREATE FUNCTION pg_temp.round() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	ids bigint[];
BEGIN
	-- findings opened and fixed; new findings
	UPDATE correlate.finding SET status = CASE status WHEN 'open' THEN 'fixed' ELSE 'open' END WHERE random() < 0.05;
	INSERT INTO correlate.finding (tenant, resource, kind, check_id, severity, cvss, props)
	SELECT 'default', r.id, 'vulnerability', 'CVE-N-' || r.id, 'high', 9.0, '{"cvss_vector": "AV:N"}'
	FROM correlate.resource r WHERE r.kind IN ('container:image', 'k8s:pod', 'container') AND random() < 0.02
	ON CONFLICT DO NOTHING;
	-- relationships: likelihoods nudged, some deleted, some added
	UPDATE correlate.relationship SET likelihood = round((likelihood * 0.9)::numeric, 2)::float8 + 0.01 WHERE random() < 0.01;
	DELETE FROM correlate.relationship WHERE random() < 0.01;
	INSERT INTO correlate.relationship (tenant, src, dst, kind, likelihood, source)
	SELECT 'default', a.id, b.id, k.kind, 0.8, 'test'
	FROM (VALUES ('internet', 'k8s:service', 'exposes'), ('k8s:service', 'k8s:pod', 'exposes'),
				 ('k8s:pod', 'container:image', 'uses_image'), ('k8s:pod', 'k8s:node', 'runs_on'),
				 ('k8s:pod', 'k8s:serviceaccount', 'runs_as'), ('aws:iam:role', 'aws:s3:bucket', 'can_access'),
				 ('k8s:serviceaccount', 'aws:iam:role', 'assumes'), ('k8s:pod', 'k8s:secret', 'mounts'),
				 ('aws:elb:load-balancer', 'k8s:service', 'routes_to'), ('container', 'k8s:pod', 'runs_on'),
				 ('internet', 'k8s:pod', 'connects_to')) k(sk, dk, kind)
	CROSS JOIN LATERAL (SELECT r.id FROM correlate.resource r WHERE r.kind = k.sk ORDER BY random() LIMIT 3) a
	CROSS JOIN LATERAL (SELECT r.id FROM correlate.resource r WHERE r.kind = k.dk AND a.id IS NOT NULL ORDER BY random() LIMIT 1) b
	ON CONFLICT DO NOTHING;
	-- pod security settings changed, a role's rules changed, a service account moved
	UPDATE correlate.resource SET props = props || CASE floor(random() * 5)::int
		WHEN 0 THEN '{"privileged": true}' WHEN 1 THEN '{"privileged": false}' WHEN 2 THEN '{"automount_token": true}'
		WHEN 3 THEN '{"host_network": false}' ELSE '{"capabilities": ["SYS_ADMIN"]}' END::jsonb
	WHERE kind = 'k8s:pod' AND random() < 0.02;
	UPDATE correlate.resource SET props = jsonb_build_object('rules', CASE WHEN random() < 0.5
		THEN '[{"verbs": ["*"], "resources": ["*"]}]'::jsonb ELSE '[{"verbs": ["list"], "resources": ["pods"]}]'::jsonb END)
	WHERE kind = 'k8s:role' AND random() < 0.1;
	UPDATE correlate.resource SET namespace = 'ns-' || floor(random() * 20)::int
	WHERE kind = 'k8s:serviceaccount' AND random() < 0.01;
	-- resources deleted (their relationships and edges go with them) and added
	ids := ARRAY(SELECT r.id FROM correlate.resource r
				 WHERE r.kind IN ('container:image', 'k8s:node', 'k8s:service', 'k8s:pod', 'aws:iam:role') AND random() < 0.01);
	DELETE FROM correlate.finding WHERE resource = ANY (ids);
	DELETE FROM correlate.resource WHERE id = ANY (ids);
	PERFORM correlate.upsert_resource('k8s://prod-eks/ns-3/pod/new-' || i || '-' || floor(random() * 1e9)::bigint, 'k8s:pod',
									  cluster => 'prod-eks', namespace => 'ns-3', props => '{"privileged": true}')
	FROM generate_series(1, 3) i;
END
$$;

SELECT pg_temp.round();
SELECT (inserted + updated + deleted) > 0 AS changed FROM correlate.derive_attack_edges();
SELECT mode FROM pg_temp.state();
SELECT missing, extra FROM pg_temp.mismatches();
SELECT pg_temp.round();
SELECT (inserted + updated + deleted) > 0 AS changed FROM correlate.derive_attack_edges();
SELECT mode FROM pg_temp.state();
SELECT missing, extra FROM pg_temp.mismatches();
-- Several rounds between two derivations.
SELECT pg_temp.round(), pg_temp.round();
SELECT (inserted + updated + deleted) > 0 AS changed FROM correlate.derive_attack_edges();
SELECT mode FROM pg_temp.state();
SELECT missing, extra FROM pg_temp.mismatches();

-- A re-ingest that changes nothing a rule reads (last_seen) logs nothing.
UPDATE correlate.relationship SET last_seen = last_seen + interval '1 day';
UPDATE correlate.resource SET last_seen = last_seen + interval '1 day';
SELECT count(*) AS logged FROM correlate.attack_dirty;

-- Emptying the attack graph, or changing the catalogue or the weakness prior, starts from scratch.
TRUNCATE correlate.attack_edge;
SELECT inserted > 1000 AS derived FROM correlate.derive_attack_edges();
SELECT mode FROM pg_temp.state();
UPDATE correlate.attack_technique SET base_likelihood = 0.85 WHERE technique = 'node_controls_pod';
SELECT updated > 0 AS updated FROM correlate.derive_attack_edges();
SELECT mode FROM pg_temp.state();
SELECT missing, extra FROM pg_temp.mismatches();
SET correlate.attack_unknown_weakness_prior = 0.05;
SELECT inserted > 0 AS entries FROM correlate.derive_attack_edges();
SELECT mode FROM pg_temp.state();
SELECT missing, extra FROM pg_temp.mismatches();
RESET correlate.attack_unknown_weakness_prior;
-- from_scratch on request
SELECT inserted + updated + deleted > 0 AS changed FROM correlate.derive_attack_edges(from_scratch => true);
SELECT mode FROM pg_temp.state();
SELECT missing, extra FROM pg_temp.mismatches();
-- Bad input: no such argument type.
SELECT * FROM correlate.derive_attack_edges(from_scratch => 'maybe');

DROP EXTENSION correlate CASCADE;
DROP SCHEMA correlate_bench CASCADE;
