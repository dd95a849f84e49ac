-- Graph snapshot basics: blast_radius, exposure, reachable on hand-built graphs
-- with known answers (cycles, self-loops, parallel edges, hop limits, kind
-- filters), graph_stats, and bad input.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
-- The graph engine on the fact graph as stored (the attack graph has its own tests).
SET correlate.graph_layer = facts;

CREATE FUNCTION pg_temp.node(name text, crit real DEFAULT 0, props jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.upsert_resource('test://' || name, 'k8s:pod', name => name, criticality => crit, props => props) $$;
CREATE FUNCTION pg_temp.r(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'test://' || $1 $$;
CREATE FUNCTION pg_temp.n(id bigint) RETURNS text
LANGUAGE sql AS $$ SELECT name FROM correlate.resource WHERE resource.id = $1 $$;
CREATE FUNCTION pg_temp.edge(a text, b text, l float8, kind text DEFAULT 'connects_to') RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.link(pg_temp.r(a), pg_temp.r(b), kind, l) $$;

-- Nothing cached yet.
SELECT tenant, nodes, edges, is_current, hits, rebuilds FROM correlate.graph_stats();

--   a -0.5-> b -0.5-> d        a -0.9-> c -0.9-> d (more likely)
--   d -1.0-> e -0.8-> f -0.8-> d (cycle)      b -> b (self-loop)
--   c -0.5-> d again as 'exposes' (parallel edge)        g isolated
SELECT count(pg_temp.node(x)) FROM unnest(ARRAY['a','b','c','d','e','f','g']) x;
SELECT count(*) FROM (VALUES
	(pg_temp.edge('a','b',0.5)), (pg_temp.edge('b','d',0.5)), (pg_temp.edge('a','c',0.9)),
	(pg_temp.edge('c','d',0.9)), (pg_temp.edge('d','e',1.0)), (pg_temp.edge('e','f',0.8)),
	(pg_temp.edge('f','d',0.8)), (pg_temp.edge('b','b',0.7)), (pg_temp.edge('c','d',0.5,'exposes'))) v(x);

SELECT pg_temp.n(resource_id) AS resource, hops, likelihood, pg_temp.n(via) AS via
FROM correlate.blast_radius(ARRAY[pg_temp.r('a')]) ORDER BY likelihood DESC, resource;

-- The self-loop is not in the snapshot; everything else is.
SELECT nodes, edges, skipped_edges, is_current, hits, rebuilds, memory_bytes > 0 AS has_memory,
	   build_ms >= 0 AS timed, version > 0 AS versioned
FROM correlate.graph_stats();

-- Hop limits: the best path within the limit, not the best path cut short.
SELECT pg_temp.n(resource_id) AS resource, hops, likelihood, pg_temp.n(via) AS via
FROM correlate.blast_radius(ARRAY[pg_temp.r('a')], 2) ORDER BY likelihood DESC, resource;
SELECT pg_temp.n(resource_id) AS resource, hops, likelihood
FROM correlate.blast_radius(ARRAY[pg_temp.r('a')], 0);

-- A hop limit that makes a costlier, shorter path the best one within it.
SELECT pg_temp.node('s'), pg_temp.node('t'), pg_temp.node('m1'), pg_temp.node('m2');
SELECT pg_temp.edge('s','m1',1.0), pg_temp.edge('m1','m2',1.0), pg_temp.edge('m2','t',1.0), pg_temp.edge('s','t',0.1);
SELECT pg_temp.n(resource_id) AS resource, hops, likelihood, pg_temp.n(via) AS via
FROM correlate.blast_radius(ARRAY[pg_temp.r('s')]) WHERE resource_id = pg_temp.r('t');
SELECT pg_temp.n(resource_id) AS resource, hops, likelihood, pg_temp.n(via) AS via
FROM correlate.blast_radius(ARRAY[pg_temp.r('s')], 2) WHERE resource_id = pg_temp.r('t');

-- Several sources, and a kind filter.
SELECT pg_temp.n(resource_id) AS resource, hops, likelihood, pg_temp.n(via) AS via
FROM correlate.blast_radius(ARRAY[pg_temp.r('b'), pg_temp.r('e')]) ORDER BY likelihood DESC, resource;
SELECT pg_temp.n(resource_id) AS resource, hops, likelihood, pg_temp.n(via) AS via
FROM correlate.blast_radius(ARRAY[pg_temp.r('c')], kinds => ARRAY['exposes']) ORDER BY likelihood DESC, resource;
-- A known kind with no relationship follows nothing.
SELECT count(*) FROM correlate.blast_radius(ARRAY[pg_temp.r('a')], kinds => ARRAY['trusts']);

-- exposure: who reaches d, and the next step on the way.
SELECT pg_temp.n(resource_id) AS resource, hops, likelihood, pg_temp.n(via) AS via
FROM correlate.exposure(ARRAY[pg_temp.r('d')]) ORDER BY likelihood DESC, resource;
SELECT pg_temp.n(resource_id) AS resource, hops, likelihood, pg_temp.n(via) AS via
FROM correlate.exposure(ARRAY[pg_temp.r('d')], 1, ARRAY['connects_to']) ORDER BY likelihood DESC, resource;

-- reachable
SELECT correlate.reachable(pg_temp.r('a'), pg_temp.r('f')) AS a_f,
	   correlate.reachable(pg_temp.r('a'), pg_temp.r('f'), 3) AS a_f_3,
	   correlate.reachable(pg_temp.r('a'), pg_temp.r('f'), 4) AS a_f_4,
	   correlate.reachable(pg_temp.r('f'), pg_temp.r('a')) AS f_a,
	   correlate.reachable(pg_temp.r('g'), pg_temp.r('g'), 0) AS g_g,
	   correlate.reachable(pg_temp.r('f'), pg_temp.r('e')) AS around_cycle,
	   correlate.reachable(NULL, pg_temp.r('a')) AS null_source;

-- Results come most likely first, so truncation keeps the best rows.
SET correlate.graph_max_rows = 3;
SELECT pg_temp.n(resource_id) AS resource, likelihood FROM correlate.blast_radius(ARRAY[pg_temp.r('a')]);
RESET correlate.graph_max_rows;

-- Bad input.
SELECT * FROM correlate.blast_radius(NULL);
SELECT * FROM correlate.blast_radius(ARRAY[]::bigint[]);
SELECT * FROM correlate.blast_radius(ARRAY[NULL]::bigint[]);
SELECT * FROM correlate.blast_radius(ARRAY[123456789]);
SELECT * FROM correlate.blast_radius(ARRAY[pg_temp.r('a')], -1);
SELECT * FROM correlate.blast_radius(ARRAY[pg_temp.r('a')], 1000);
SELECT * FROM correlate.blast_radius(ARRAY[pg_temp.r('a')], kinds => ARRAY['no_such_kind']);
SELECT * FROM correlate.blast_radius(ARRAY[pg_temp.r('a')], kinds => ARRAY[]::text[]);
SELECT * FROM correlate.blast_radius(ARRAY[pg_temp.r('a')], kinds => ARRAY[NULL]::text[]);
SELECT * FROM correlate.exposure(ARRAY[123456789]);
SELECT correlate.reachable(pg_temp.r('a'), 123456789);
SELECT correlate.reachable(123456789, pg_temp.r('a'));
SELECT correlate.reachable(pg_temp.r('a'), pg_temp.r('b'), -2);
-- An ordinary role may lower a ceiling but not raise it.
CREATE ROLE graph_basic_user;
GRANT correlate_reader TO graph_basic_user;
SET ROLE graph_basic_user;
SET correlate.graph_max_hops = 100;
SELECT * FROM correlate.blast_radius(ARRAY[1], 65);
RESET ROLE;
DROP ROLE graph_basic_user;

-- Without a hop limit blast_radius uses label correction, with one Dijkstra
-- labels; with a limit no path reaches, both must agree row for row (hops
-- and via included), on random graphs full of ties.
CREATE FUNCTION pg_temp.rid(i int) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'rnd://' || $1 $$;
CREATE FUNCTION pg_temp.compare_searches(nseeds int) RETURNS TABLE (graphs int, rows bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
DECLARE
	lks float8[] := ARRAY[0.5, 0.9, 1.0, 0.25, 0.8];
	bad bigint;
	cnt bigint;
BEGIN
	graphs := 0; rows := 0; mismatches := 0;
	FOR s IN 1..nseeds LOOP
		DELETE FROM correlate.resource WHERE uid LIKE 'rnd://%';
		PERFORM setseed(s / 1000.0);
		PERFORM correlate.upsert_resource('rnd://' || i, 'k8s:pod') FROM generate_series(1, 30) i;
		PERFORM correlate.link(pg_temp.rid(x.a), pg_temp.rid(x.b), 'connects_to', x.l)
		FROM (SELECT i, 1 + floor(random() * 30)::int AS a, 1 + floor(random() * 30)::int AS b,
					 lks[1 + floor(random() * 5)::int] AS l FROM generate_series(1, 80) i OFFSET 0) x
		ORDER BY x.i;
		SELECT count(*) INTO cnt FROM correlate.blast_radius(ARRAY[pg_temp.rid(1), pg_temp.rid(2)]);
		WITH lc AS (SELECT * FROM correlate.blast_radius(ARRAY[pg_temp.rid(1), pg_temp.rid(2)])),
			 dj AS (SELECT * FROM correlate.blast_radius(ARRAY[pg_temp.rid(1), pg_temp.rid(2)], 64)),
			 rlc AS (SELECT * FROM correlate.exposure(ARRAY[pg_temp.rid(3)])),
			 rdj AS (SELECT * FROM correlate.exposure(ARRAY[pg_temp.rid(3)], 64))
		SELECT count(*) INTO bad FROM (
			(SELECT * FROM lc EXCEPT SELECT * FROM dj) UNION ALL (SELECT * FROM dj EXCEPT SELECT * FROM lc)
			UNION ALL (SELECT * FROM rlc EXCEPT SELECT * FROM rdj) UNION ALL (SELECT * FROM rdj EXCEPT SELECT * FROM rlc)) d;
		graphs := graphs + 1;
		rows := rows + cnt;
		mismatches := mismatches + bad;
	END LOOP;
	RETURN NEXT;
END
$$;
SELECT graphs, rows > 0 AS compared, mismatches FROM pg_temp.compare_searches(40);
DELETE FROM correlate.resource WHERE uid LIKE 'rnd://%';

-- The snapshot survives bad rows that the table constraints would normally
-- keep out: NaN, zero and out-of-range likelihoods, and relationships whose
-- ends are not resources of the tenant are skipped and counted.
ALTER TABLE correlate.relationship DROP CONSTRAINT relationship_likelihood_check;
ALTER TABLE correlate.relationship DROP CONSTRAINT relationship_tenant_src_fkey;
INSERT INTO correlate.relationship (src, dst, kind, likelihood) VALUES
	(pg_temp.r('a'), pg_temp.r('g'), 'connects_to', 'NaN'),
	(pg_temp.r('b'), pg_temp.r('g'), 'connects_to', 0),
	(pg_temp.r('c'), pg_temp.r('g'), 'connects_to', 1.5),
	(pg_temp.r('e'), pg_temp.r('g'), 'connects_to', -0.5),
	(987654321, pg_temp.r('g'), 'connects_to', 0.5);
SELECT nodes, edges, skipped_edges FROM correlate.graph_stats();
SELECT count(*) AS reached FROM correlate.blast_radius(ARRAY[pg_temp.r('a')]);
SELECT nodes, edges, skipped_edges FROM correlate.graph_stats();
SELECT correlate.reachable(pg_temp.r('a'), pg_temp.r('g')) AS bad_edges_ignored;

DROP EXTENSION correlate CASCADE;
