-- AND nodes (toxic combinations): a resource with props->>'requires' = 'all'
-- is reached only when every relationship into it is; blast_radius,
-- reachable, attack_paths, chokepoints and the cuts all honour it.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
-- The graph engine on the fact graph as stored (the attack graph has its own tests).
SET correlate.graph_layer = facts;

CREATE FUNCTION pg_temp.node(name text, props jsonb DEFAULT NULL, crit real DEFAULT 0) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.upsert_resource('test://' || name, 'k8s:pod', name => name, props => props, criticality => crit) $$;
CREATE FUNCTION pg_temp.r(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'test://' || $1 $$;
CREATE FUNCTION pg_temp.n(id bigint) RETURNS text
LANGUAGE sql AS $$ SELECT r.name FROM correlate.resource r WHERE r.id = $1 $$;
CREATE FUNCTION pg_temp.edge(a text, b text, l float8, kind text DEFAULT 'connects_to', props jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.link(pg_temp.r(a), pg_temp.r(b), kind, l, props) $$;

-- s reaches x through a (exposure) and through b (a vulnerability); x, the
-- exploit, needs both; x leads to t.
--     s -0.9-> a -0.8-> x        s -0.5-> b -0.5-> x (has_vuln)        x -0.9-> t
SELECT pg_temp.node('s'), pg_temp.node('a'), pg_temp.node('b'),
	   pg_temp.node('x', '{"requires": "all"}'), pg_temp.node('t', NULL, 1.0);
SELECT count(*) FROM (VALUES (pg_temp.edge('s','a',0.9,'exposes')), (pg_temp.edge('a','x',0.8,'exposes')),
	(pg_temp.edge('s','b',0.5)), (pg_temp.edge('b','x',0.5,'has_vuln')), (pg_temp.edge('x','t',0.9))) v(c);

-- x needs both preconditions: likelihood 0.72 * 0.25, reached after the
-- longer (and here also less likely) one, via b.
SELECT pg_temp.n(resource_id) AS resource, hops, round(likelihood::numeric, 6) AS likelihood, pg_temp.n(via) AS via
FROM correlate.blast_radius(ARRAY[pg_temp.r('s')]) ORDER BY likelihood DESC, resource;
-- Without the vulnerability edge (kind filter), x and t are out of reach.
SELECT pg_temp.n(resource_id) AS resource FROM correlate.blast_radius(ARRAY[pg_temp.r('s')], kinds => ARRAY['exposes', 'connects_to'])
ORDER BY 1;
-- From a alone, x's other precondition is missing.
SELECT pg_temp.n(resource_id) AS resource FROM correlate.blast_radius(ARRAY[pg_temp.r('a')]) ORDER BY 1;
SELECT pg_temp.n(resource_id) AS resource FROM correlate.blast_radius(ARRAY[pg_temp.r('a'), pg_temp.r('b')]) ORDER BY 1;
-- A hop limit applies to the longest precondition chain.
SELECT pg_temp.n(resource_id) AS resource, hops FROM correlate.blast_radius(ARRAY[pg_temp.r('s')], 2) ORDER BY 1;
SELECT correlate.reachable(pg_temp.r('s'), pg_temp.r('t')) AS s_t,
	   correlate.reachable(pg_temp.r('s'), pg_temp.r('t'), 2) AS s_t_2,
	   correlate.reachable(pg_temp.r('s'), pg_temp.r('t'), 3) AS s_t_3,
	   correlate.reachable(pg_temp.r('a'), pg_temp.r('t')) AS a_t;
-- exposure() works backwards without knowing the attacker's start, so it
-- lists everyone who could take part.
SELECT pg_temp.n(resource_id) AS resource, hops FROM correlate.exposure(ARRAY[pg_temp.r('t')]) ORDER BY 1;

-- attack_paths: each chain through x carries the likelihood of x's other
-- precondition; the two chains tie and come out in resource-id order.
SELECT p.path_rank, string_agg(pg_temp.n(p.resource_id), ' -> ' ORDER BY p.hop) AS path,
	   round(max(p.path_likelihood)::numeric, 6) AS path_likelihood
FROM correlate.attack_paths(ARRAY[pg_temp.r('s')], ARRAY[pg_temp.r('t')]) p GROUP BY p.path_rank ORDER BY 1;
-- With x's vulnerability precondition filtered out, x is closed.
SELECT count(*) AS paths FROM correlate.attack_paths(ARRAY[pg_temp.r('s')], ARRAY[pg_temp.r('t')], kinds => ARRAY['exposes', 'connects_to']);
-- A source that is an AND node is already compromised.
SELECT p.path_rank, string_agg(pg_temp.n(p.resource_id), ' -> ' ORDER BY p.hop) AS path,
	   round(max(p.path_likelihood)::numeric, 6) AS path_likelihood
FROM correlate.attack_paths(ARRAY[pg_temp.r('x')], ARRAY[pg_temp.r('t')]) p GROUP BY p.path_rank ORDER BY 1;

-- chokepoints: x and x -> t carry everything; each precondition is needed.
SELECT coalesce(pg_temp.n(c.resource_id), pg_temp.n(r.src) || ' -> ' || pg_temp.n(r.dst)) AS chokepoint,
	   c.paths_through, round(c.likelihood_share::numeric, 4) AS share
FROM correlate.chokepoints(ARRAY[pg_temp.r('s')]) c LEFT JOIN correlate.relationship r ON r.id = c.relationship_id
ORDER BY share DESC, paths_through DESC, chokepoint;

-- Cuts: as plain flow the cheapest cut is two relationships; cutting one
-- precondition of x is enough, and the clean-up pass finds that.
UPDATE correlate.relationship SET props = '{"fix_cost": 3}';
UPDATE correlate.relationship SET props = '{"fix_cost": 10}' WHERE src = pg_temp.r('x');
SELECT pg_temp.n(src) || ' -> ' || pg_temp.n(dst) AS edge, cost
FROM correlate.min_cut(ARRAY[pg_temp.r('s')], ARRAY[pg_temp.r('t')], 'fix_cost') ORDER BY 1;
SELECT pg_temp.n(resource_id) AS resource, cost
FROM correlate.min_node_cut(ARRAY[pg_temp.r('s')], ARRAY[pg_temp.r('t')]) ORDER BY 1;
BEGIN;
DELETE FROM correlate.relationship WHERE id IN
	(SELECT relationship_id FROM correlate.min_cut(ARRAY[pg_temp.r('s')], ARRAY[pg_temp.r('t')], 'fix_cost'));
SELECT correlate.reachable(pg_temp.r('s'), pg_temp.r('t')) AS still_reachable;
ROLLBACK;

-- The marker is case-insensitive; other values, or none, mean OR.
UPDATE correlate.resource SET props = '{"requires": "ALL"}' WHERE uid = 'test://x';
SELECT correlate.reachable(pg_temp.r('a'), pg_temp.r('t')) AS a_t_all;
UPDATE correlate.resource SET props = '{"requires": "any"}' WHERE uid = 'test://x';
SELECT correlate.reachable(pg_temp.r('a'), pg_temp.r('t')) AS a_t_any;
UPDATE correlate.resource SET props = '{"requires": ["all"]}' WHERE uid = 'test://x';
SELECT correlate.reachable(pg_temp.r('a'), pg_temp.r('t')) AS a_t_array;

-- An AND node with no relationship into it is never reached (except as a source).
SELECT pg_temp.node('lonely', '{"requires": "all"}');
SELECT pg_temp.edge('lonely', 't', 0.9);
SELECT count(*) AS reached FROM correlate.blast_radius(ARRAY[pg_temp.r('s')]) WHERE resource_id = pg_temp.r('lonely');
SELECT pg_temp.n(resource_id) AS resource FROM correlate.blast_radius(ARRAY[pg_temp.r('lonely')]) ORDER BY 1;

DROP EXTENSION correlate CASCADE;
