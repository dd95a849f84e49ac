-- The attack graph on the seed scenario (test/data/seed, loaded through ingest):
-- edges are techniques with evidence, the best path is the exploit of the CVE, the
-- attacker's inbound flow is evidence and not a path, egress does not make the
-- internet a hop, the image is one node, patching closes the path, what-if answers
-- without writing, and the fact graph stays queryable.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
DROP ROLE IF EXISTS attack_globex;
RESET client_min_messages;

\o /dev/null
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
\o

-- The catalogue: rules as data.
SELECT technique, attack_id, tactic, base_likelihood, enabled FROM correlate.attack_technique ORDER BY technique;

-- Derivation writes the edges once; a second run changes nothing.
SELECT * FROM correlate.derive_attack_edges();
SELECT * FROM correlate.derive_attack_edges();

CREATE FUNCTION pg_temp.name(id bigint) RETURNS text
LANGUAGE sql AS $$ SELECT r.name FROM correlate.resource r WHERE r.id = $1 $$;
\set pod 'correlate.resource_id(''k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'')'
\set bucket 'correlate.resource_id(''arn:aws:s3:::acme-customer-pii'')'

SELECT pg_temp.name(a.src) AS src, a.technique, a.attack_id, pg_temp.name(a.dst) AS dst, a.likelihood, a.because
FROM correlate.attack_edge a ORDER BY a.technique, 1, 4;

-- The best (here: only) path: internet -(exploit CVE-2021-44228, T1190)-> pod -> service account
-- -> IAM role -> bucket, with the technique and the facts on every hop.
SELECT p.path_rank, p.hop, pg_temp.name(p.resource_id) AS resource, a.technique, a.attack_id, p.likelihood,
	   a.because->'vulnerabilities' AS vulnerabilities, a.because->'findings' AS findings,
	   round(p.path_likelihood::numeric, 4) AS path_likelihood
FROM correlate.attack_paths() p LEFT JOIN correlate.attack_edge a ON a.id = p.relationship_id
ORDER BY p.path_rank, p.hop;

-- The attacker's inbound flow is a fact (internet -connects_to-> pod) and evidence on the
-- entry edge, never an attack edge of its own.
SELECT l.kind, pg_temp.name(l.src) AS src, pg_temp.name(l.dst) AS dst,
	   EXISTS (SELECT 1 FROM correlate.attack_edge a WHERE a.because->'observed' @> to_jsonb(l.id)) AS evidence_on_edge,
	   EXISTS (SELECT 1 FROM correlate.attack_edge a WHERE a.src = l.src AND a.dst = l.dst
				AND a.technique <> 'exploit_public_workload') AS edge_of_its_own
FROM correlate.relationship l WHERE l.kind = 'connects_to' AND l.src = correlate.internet();

-- Egress does not make the internet a hop: the pod's blast radius never passes through it.
SELECT pg_temp.name(b.resource_id) AS resource, b.hops, round(b.likelihood::numeric, 4) AS likelihood,
	   pg_temp.name(b.via) AS via
FROM correlate.blast_radius(ARRAY[:pod]) b ORDER BY b.likelihood DESC, 1;
SELECT count(*) AS through_internet FROM correlate.blast_radius(ARRAY[:pod]) b
WHERE b.resource_id = correlate.internet() OR b.via = correlate.internet();

-- Who can reach the bucket.
SELECT pg_temp.name(e.resource_id) AS resource, e.hops, round(e.likelihood::numeric, 4) AS likelihood,
	   pg_temp.name(e.via) AS next
FROM correlate.exposure(ARRAY[:bucket]) e ORDER BY e.likelihood DESC, 1;

-- One node per image: the tag Falco reported merged into the digest the inventory and Trivy name.
SELECT uid, props->'aliases' AS aliases FROM correlate.resource WHERE kind = 'container:image';
SELECT count(*) AS uses_image FROM correlate.relationship l
JOIN correlate.resource i ON i.id = l.dst AND i.kind = 'container:image' WHERE l.kind = 'uses_image';

-- Chokepoints count every path among the k considered; the min cut is the entry.
SELECT coalesce(pg_temp.name(c.resource_id), a.technique) AS chokepoint, c.paths_through,
	   round(c.likelihood_share::numeric, 4) AS share
FROM correlate.chokepoints() c LEFT JOIN correlate.attack_edge a ON a.id = c.relationship_id
ORDER BY share DESC, 1;
SELECT pg_temp.name(m.src) AS src, a.technique, pg_temp.name(m.dst) AS dst, m.cost
FROM correlate.min_cut() m JOIN correlate.attack_edge a ON a.id = m.relationship_id;

-- What-if, answered without writing.
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM correlate.attack_edge;
\set cve '(SELECT jsonb_agg(f.id) FROM correlate.finding f WHERE f.check_id = ''CVE-2021-44228'')'
SELECT 'patch the CVE' AS change, count(*) AS path_rows
FROM correlate.attack_paths(what_if => jsonb_build_object('patch', :cve))
UNION ALL
SELECT 'stop exposing the load balancer', count(*)
FROM correlate.attack_paths(what_if => jsonb_build_object('remove_relationships',
	(SELECT jsonb_agg(l.id) FROM correlate.relationship l WHERE l.src = correlate.internet() AND l.kind = 'exposes')))
UNION ALL
SELECT 'remove the S3 statement', count(*)
FROM correlate.attack_paths(what_if => jsonb_build_object('remove_statements',
	(SELECT jsonb_agg(s.id) FROM correlate.iam_statement s WHERE s.sid = 'LegacyS3Access')))
UNION ALL
SELECT 'no change', count(*) FROM correlate.attack_paths(what_if => '{}');
-- privileged = false removes the escape to the node from the blast radius.
SELECT count(*) FILTER (WHERE pg_temp.name(b.resource_id) = 'ip-10-0-1-23.ec2.internal') AS node_reached,
	   count(*) AS reached
FROM correlate.blast_radius(ARRAY[:pod], what_if => jsonb_build_object('set',
	jsonb_build_array(jsonb_build_object('resource', :pod, 'props', '{"privileged": false}'::jsonb)))) b;
SELECT count(*) AS reached FROM correlate.blast_radius(ARRAY[:pod]);
SELECT count(*) AS exposure_rows FROM correlate.exposure(ARRAY[:bucket], what_if => '{"remove_resources": [0]}');
SELECT count(*) FROM correlate.chokepoints(what_if => jsonb_build_object('patch', :cve)) AS no_chokepoints;
SELECT count(*) AS cut_edges FROM correlate.min_cut(what_if => jsonb_build_object('patch', :cve));
SELECT correlate.reachable(correlate.internet(), :bucket) AS now,
	   correlate.reachable(correlate.internet(), :bucket, what_if => jsonb_build_object('patch', :cve)) AS patched;
SELECT (SELECT count(*) FROM correlate.attack_edge) = (SELECT n FROM before) AS nothing_written;

-- fix_plan: patching the CVE is among the fixes that close every path, and says so.
SELECT rank, kind, target, paths_removed, paths_total, description LIKE '%(closes the only attack path)' AS says_so
FROM correlate.fix_plan(k => 20) WHERE kind IN ('patch_vulnerability', 'stop_exposure') ORDER BY rank;

-- For real: the finding fixed, the entry edge goes with it, and so does the path.
BEGIN;
UPDATE correlate.finding SET status = 'fixed' WHERE check_id = 'CVE-2021-44228';
SELECT * FROM correlate.derive_attack_edges();
-- (incremental: only the edges of the resources whose facts changed were derived anew)
SELECT mode, focus FROM correlate.attack_derive_state;
SELECT count(*) AS entry_edges FROM correlate.attack_edge WHERE technique = 'exploit_public_workload';
SELECT count(*) AS paths FROM correlate.attack_paths();
-- A tenant that accepts the risk of unknown weaknesses gets an entry back, from the prior alone.
SET LOCAL correlate.attack_unknown_weakness_prior = 0.05;
SELECT a.likelihood, a.because FROM correlate.attack_edges_derived() a WHERE a.technique = 'exploit_public_workload';
ROLLBACK;

-- A disabled technique derives nothing.
BEGIN;
UPDATE correlate.attack_technique SET enabled = false WHERE technique = 'k8s_irsa';
SELECT count(*) AS irsa_edges FROM correlate.attack_edges_derived() WHERE technique = 'k8s_irsa';
SELECT count(*) AS paths FROM correlate.attack_paths(what_if => '{}');
ROLLBACK;

-- The fact graph stays queryable as stored.
SET correlate.graph_layer = facts;
SELECT count(DISTINCT path_rank) AS fact_paths FROM correlate.attack_paths();
SELECT * FROM correlate.attack_paths(what_if => '{}');
RESET correlate.graph_layer;

-- Kinds on the attack layer are techniques.
SELECT count(*) AS identity_steps FROM correlate.blast_radius(ARRAY[:pod], kinds => ARRAY['pod_service_account_token', 'k8s_irsa']);
SELECT * FROM correlate.blast_radius(ARRAY[:pod], kinds => ARRAY['runs_as']);

-- Bad what-if documents.
SELECT * FROM correlate.attack_paths(what_if => '[]');
SELECT * FROM correlate.attack_paths(what_if => '{"patch": 7}');
SELECT * FROM correlate.attack_paths(what_if => '{"patch": ["x"]}');
SELECT * FROM correlate.attack_paths(what_if => '{"patch": [-1]}');
SELECT * FROM correlate.attack_paths(what_if => '{"set": [{"resource": 1}]}');
SELECT * FROM correlate.attack_paths(what_if => '{"delete_everything": true}');
SELECT count(*) AS null_is_no_what_if FROM correlate.attack_paths(what_if => NULL);
-- Bad catalogue rows.
INSERT INTO correlate.attack_technique (technique, attack_id, tactic, name, precondition, base_likelihood, reads)
VALUES ('Bad Name', 'T1190', 'x', 'x', 'x', 0.5, '{}');
INSERT INTO correlate.attack_technique (technique, attack_id, tactic, name, precondition, base_likelihood, reads)
VALUES ('bad_id', 'ATTACK', 'x', 'x', 'x', 0.5, '{}');
INSERT INTO correlate.attack_technique (technique, attack_id, tactic, name, precondition, base_likelihood, reads)
VALUES ('bad_likelihood', 'T1190', 'x', 'x', 'x', 0, '{}');

-- Tenancy: another tenant derives and sees nothing of this one.
CREATE ROLE attack_globex IN ROLE correlate_writer;
SELECT correlate.grant_tenant('globex', 'attack_globex');
SET ROLE attack_globex;
SET correlate.tenant = 'globex';
SELECT * FROM correlate.derive_attack_edges();
SELECT count(*) AS visible_edges FROM correlate.attack_edge;
SELECT count(*) AS derived FROM correlate.attack_edges_derived();
RESET ROLE;
RESET correlate.tenant;

DROP EXTENSION correlate CASCADE;
DROP ROLE attack_globex;
