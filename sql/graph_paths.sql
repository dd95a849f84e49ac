-- attack_paths(): k most likely simple paths.  Known answers on hand-built
-- graphs (ties, parallel edges, cycles, hop limits, defaults), then a
-- brute-force check on random graphs: every simple path enumerated by a
-- recursive CTE, ranked by the documented order (cost as the fixed-point
-- sum of round(-ln(likelihood) * 2^40), then hops, resource ids,
-- relationship ids), must give exactly the same top k, rank by rank.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
-- The graph engine on the fact graph as stored (the attack graph has its own tests).
SET correlate.graph_layer = facts;

CREATE FUNCTION pg_temp.node(name text, crit real DEFAULT 0, kind text DEFAULT 'k8s:pod') RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.upsert_resource('test://' || name, kind, name => name, criticality => crit) $$;
CREATE FUNCTION pg_temp.r(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'test://' || $1 $$;
CREATE FUNCTION pg_temp.edge(a text, b text, l float8, kind text DEFAULT 'connects_to') RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.link(pg_temp.r(a), pg_temp.r(b), kind, l) $$;
-- One line per path: rank, likelihood, resources joined by arrows.
CREATE FUNCTION pg_temp.paths(sources text[], targets text[], k int DEFAULT 10, max_hops int DEFAULT 8, kinds text[] DEFAULT NULL)
RETURNS TABLE (path_rank int, path_likelihood float8, path text)
LANGUAGE sql AS $$
	SELECT p.path_rank, round(max(p.path_likelihood)::numeric, 6)::float8,
		   string_agg(r.name, ' -> ' ORDER BY p.hop)
	FROM correlate.attack_paths((SELECT array_agg(pg_temp.r(s)) FROM unnest(sources) s),
								(SELECT array_agg(pg_temp.r(t)) FROM unnest(targets) t), k, max_hops, kinds) p
	JOIN correlate.resource r ON r.id = p.resource_id
	GROUP BY p.path_rank ORDER BY p.path_rank
$$;

-- A diamond with a parallel edge and a cycle:
--   s -0.9-> a -0.9-> t      s -0.5-> b -0.9-> t      a -0.8-> b
--   a -0.6-> t (parallel, 'exposes')     t -1.0-> s (back edge: a cycle)
SELECT count(pg_temp.node(x)) FROM unnest(ARRAY['s','a','b','t']) x;
SELECT count(*) FROM (VALUES (pg_temp.edge('s','a',0.9)), (pg_temp.edge('a','t',0.9)), (pg_temp.edge('s','b',0.5)),
	(pg_temp.edge('b','t',0.9)), (pg_temp.edge('a','b',0.8)), (pg_temp.edge('a','t',0.6,'exposes')),
	(pg_temp.edge('t','s',1.0))) v(x);
SELECT * FROM pg_temp.paths(ARRAY['s'], ARRAY['t']);
-- The rows themselves: hop 0 is the source, with no relationship.
SELECT path_rank, hop, resource_id = pg_temp.r(CASE hop WHEN 0 THEN 's' WHEN 1 THEN 'a' ELSE 't' END) AS expected_resource,
	   relationship_id IS NULL AS no_relationship, likelihood, round(path_likelihood::numeric, 6) AS path_likelihood
FROM correlate.attack_paths(ARRAY[pg_temp.r('s')], ARRAY[pg_temp.r('t')], 1) ORDER BY hop;
-- k larger than the number of paths; k = 1; a hop limit.
SELECT * FROM pg_temp.paths(ARRAY['s'], ARRAY['t'], 100);
SELECT * FROM pg_temp.paths(ARRAY['s'], ARRAY['t'], 1);
SELECT * FROM pg_temp.paths(ARRAY['s'], ARRAY['t'], 10, 1);
SELECT * FROM pg_temp.paths(ARRAY['s'], ARRAY['t'], 10, NULL);
-- Kind filter: only 'exposes' leaves a; nothing else is followed.
SELECT * FROM pg_temp.paths(ARRAY['a'], ARRAY['t'], 10, 8, ARRAY['exposes']);
-- Several sources and targets; a path may pass a target on its way to another.
SELECT * FROM pg_temp.paths(ARRAY['s','b'], ARRAY['t','b']);
-- A source that is also the only target has no path (a path needs a relationship),
-- unless a cycle brings it back - which a simple path cannot do.
SELECT * FROM pg_temp.paths(ARRAY['s'], ARRAY['s']);
-- No path at all.
SELECT pg_temp.node('island');
SELECT * FROM pg_temp.paths(ARRAY['island'], ARRAY['t']);
SELECT * FROM pg_temp.paths(ARRAY['t'], ARRAY['island']);

-- Ties are broken by hops, then by resource ids along the path, then by
-- relationship ids: four equally likely two-hop paths come out in id order.
SELECT count(pg_temp.node(x)) FROM unnest(ARRAY['x','m1','m2','m3','y']) x;
SELECT count(*) FROM (VALUES (pg_temp.edge('x','m3',0.5)), (pg_temp.edge('x','m1',0.5)), (pg_temp.edge('x','m2',0.5)),
	(pg_temp.edge('m2','y',0.5)), (pg_temp.edge('m1','y',0.5)), (pg_temp.edge('m3','y',0.5)),
	(pg_temp.edge('m1','y',0.5,'exposes')), (pg_temp.edge('x','y',0.25))) v(x);
SELECT * FROM pg_temp.paths(ARRAY['x'], ARRAY['y']);
SELECT path_rank, array_agg(relationship_id ORDER BY hop) AS relationships
FROM correlate.attack_paths(ARRAY[pg_temp.r('x')], ARRAY[pg_temp.r('y')], 3) GROUP BY path_rank ORDER BY path_rank;

-- A hop limit beyond the layered bound (16): the most likely path (19 hops)
-- is too long for max_hops 17, so the best path within the limit is found.
SELECT count(pg_temp.node('c' || i)) FROM generate_series(0, 19) i;
SELECT count(pg_temp.edge('c' || i, 'c' || (i + 1), 1.0)) FROM generate_series(0, 18) i;
SELECT pg_temp.edge('c0', 'c10', 0.5), pg_temp.edge('c0', 'c17', 0.1);
SELECT path_rank, path_likelihood, (length(path) - length(replace(path, '->', ''))) / 2 AS hops
FROM pg_temp.paths(ARRAY['c0'], ARRAY['c19'], 5, 17);
SELECT path_rank, path_likelihood, (length(path) - length(replace(path, '->', ''))) / 2 AS hops
FROM pg_temp.paths(ARRAY['c0'], ARRAY['c19'], 5, NULL);
SELECT path_rank, path_likelihood, (length(path) - length(replace(path, '->', ''))) / 2 AS hops
FROM pg_temp.paths(ARRAY['c0'], ARRAY['c19'], 5, 9);

-- Defaults: from the tenant's internet resource to crown jewels
-- (criticality >= correlate.crown_jewel_criticality).
SELECT correlate.internet() IS NOT NULL AS has_internet;
SELECT pg_temp.node('jewel', 0.9), pg_temp.node('silver', 0.5);
SELECT correlate.link(correlate.internet(), pg_temp.r('s'), 'exposes', 0.9) IS NOT NULL,
	   pg_temp.edge('t', 'jewel', 0.9), pg_temp.edge('t', 'silver', 0.9);
SELECT p.path_rank, p.hop, r.name, round(p.path_likelihood::numeric, 6) AS path_likelihood
FROM correlate.attack_paths(k => 2) p JOIN correlate.resource r ON r.id = p.resource_id ORDER BY 1, 2;
SET correlate.crown_jewel_criticality = 0.5;
SELECT p.path_rank, r.name AS target, round(p.path_likelihood::numeric, 6) AS path_likelihood
FROM correlate.attack_paths(k => 4) p JOIN correlate.resource r ON r.id = p.resource_id
WHERE p.hop = (SELECT max(q.hop) FROM correlate.attack_paths(k => 4) q WHERE q.path_rank = p.path_rank)
ORDER BY 1;
SET correlate.crown_jewel_criticality = 0.95;
SELECT count(*) AS no_crown_jewels FROM correlate.attack_paths();
RESET correlate.crown_jewel_criticality;

-- Bad input.
SELECT * FROM correlate.attack_paths(k => 0);
SELECT * FROM correlate.attack_paths(k => NULL);
SELECT * FROM correlate.attack_paths(k => 1001);
SELECT * FROM correlate.attack_paths(max_hops => 0);
SELECT * FROM correlate.attack_paths(max_hops => 65);
SELECT * FROM correlate.attack_paths(ARRAY[]::bigint[]);
SELECT * FROM correlate.attack_paths(targets => ARRAY[NULL]::bigint[]);
SELECT * FROM correlate.attack_paths(ARRAY[123456789]);
SELECT * FROM correlate.attack_paths(kinds => ARRAY['bogus']);
SET correlate.graph_max_rows = 4;
SELECT count(*) FROM correlate.attack_paths(ARRAY[pg_temp.r('s')], ARRAY[pg_temp.r('t')]);
RESET correlate.graph_max_rows;

-- Brute force on random graphs.  Each graph: 10 resources, 28 random
-- relationships of three kinds with likelihoods drawn from five values (many
-- ties), self-loops, parallel edges and cycles included.
CREATE FUNCTION pg_temp.rid(i int) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'rnd://' || $1 $$;
CREATE FUNCTION pg_temp.random_graph(seed float8, n int DEFAULT 10, m int DEFAULT 28) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	kinds text[] := ARRAY['connects_to', 'exposes', 'assumes'];
	lks float8[] := ARRAY[0.5, 0.9, 1.0, 0.25, 0.8];
BEGIN
	DELETE FROM correlate.resource WHERE uid LIKE 'rnd://%';
	PERFORM setseed(seed);
	PERFORM correlate.upsert_resource('rnd://' || i, 'k8s:pod', name => 'n' || i) FROM generate_series(1, n) i;
	PERFORM correlate.link(pg_temp.rid(x.a), pg_temp.rid(x.b), x.k, x.l)
	FROM (SELECT i, 1 + floor(random() * n)::int AS a, 1 + floor(random() * n)::int AS b,
				 kinds[1 + floor(random() * 3)::int] AS k, lks[1 + floor(random() * 5)::int] AS l
		  FROM generate_series(1, m) i OFFSET 0) x
	ORDER BY x.i;
END
$$;

-- Mismatches between attack_paths() and enumeration, for one query.
CREATE FUNCTION pg_temp.check_paths(sources bigint[], targets bigint[], k int, max_hops int, kinds text[])
RETURNS bigint
LANGUAGE sql AS $$
	WITH RECURSIVE walk(nodes, rels, cost) AS (
		SELECT ARRAY[s], ARRAY[]::bigint[], 0::bigint FROM unnest(sources) s
		UNION ALL
		SELECT w.nodes || r.dst, w.rels || r.id,
			   w.cost + round(-ln(r.likelihood) * 1099511627776.0)::bigint
		FROM walk w JOIN correlate.relationship r ON r.src = w.nodes[cardinality(w.nodes)]
		WHERE r.dst <> ALL (w.nodes) AND cardinality(w.rels) < COALESCE(max_hops, 1000)
		  AND (kinds IS NULL OR r.kind = ANY (kinds))
	), oracle AS (
		SELECT row_number() OVER (ORDER BY cost, cardinality(rels), nodes, rels)::int AS path_rank, nodes, rels, cost
		FROM walk WHERE cardinality(rels) >= 1 AND nodes[cardinality(nodes)] = ANY (targets)
		ORDER BY cost, cardinality(rels), nodes, rels LIMIT k
	), ours AS (
		SELECT p.path_rank, array_agg(p.resource_id ORDER BY p.hop) AS nodes,
			   COALESCE(array_agg(p.relationship_id ORDER BY p.hop) FILTER (WHERE p.hop > 0), '{}') AS rels,
			   max(p.path_likelihood) AS pl
		FROM correlate.attack_paths(sources, targets, k, max_hops, kinds) p GROUP BY p.path_rank
	)
	SELECT count(*) FROM oracle o FULL JOIN ours u ON u.path_rank = o.path_rank
	WHERE o.nodes IS DISTINCT FROM u.nodes OR o.rels IS DISTINCT FROM u.rels
	   OR abs(exp(-o.cost / 1099511627776.0) - u.pl) > 1e-9 * exp(-o.cost / 1099511627776.0)
$$;

CREATE FUNCTION pg_temp.run_checks(nseeds int) RETURNS TABLE (seed int, mismatches bigint, queries int)
LANGUAGE plpgsql AS $$
BEGIN
	FOR s IN 1..nseeds LOOP
		PERFORM pg_temp.random_graph(s / 100.0);
		seed := s;
		mismatches := pg_temp.check_paths(ARRAY[pg_temp.rid(1)], ARRAY[pg_temp.rid(10)], 5, 8, NULL)
			+ pg_temp.check_paths(ARRAY[pg_temp.rid(2), pg_temp.rid(3)], ARRAY[pg_temp.rid(7), pg_temp.rid(8), pg_temp.rid(9)], 20, 3, NULL)
			+ pg_temp.check_paths(ARRAY[pg_temp.rid(4)], ARRAY[pg_temp.rid(5), pg_temp.rid(6)], 50, NULL, NULL)
			+ pg_temp.check_paths(ARRAY[pg_temp.rid(1), pg_temp.rid(5)], ARRAY[pg_temp.rid(6), pg_temp.rid(2)], 7, 4,
								  ARRAY['connects_to', 'assumes'])
			+ pg_temp.check_paths(ARRAY[pg_temp.rid(3)], ARRAY[pg_temp.rid(1), pg_temp.rid(4), pg_temp.rid(8)], 30, 6, NULL);
		queries := 5;
		RETURN NEXT;
	END LOOP;
END
$$;
SELECT count(*) AS graphs, sum(queries) AS queries, sum(mismatches) AS mismatches,
	   string_agg(seed::text, ',') FILTER (WHERE mismatches > 0) AS bad_seeds
FROM pg_temp.run_checks(40);
-- Bigger graphs (18 resources, 60 relationships), shorter hop limits.
CREATE FUNCTION pg_temp.run_big_checks(nseeds int) RETURNS TABLE (seed int, mismatches bigint, queries int)
LANGUAGE plpgsql AS $$
BEGIN
	FOR s IN 1..nseeds LOOP
		PERFORM pg_temp.random_graph(0.5 + s / 100.0, 18, 60);
		seed := s;
		mismatches := pg_temp.check_paths(ARRAY[pg_temp.rid(1)], ARRAY[pg_temp.rid(18)], 10, 4, NULL)
			+ pg_temp.check_paths(ARRAY[pg_temp.rid(2), pg_temp.rid(3)], ARRAY[pg_temp.rid(16), pg_temp.rid(17)], 25, 5, NULL)
			+ pg_temp.check_paths(ARRAY[pg_temp.rid(4)], ARRAY[pg_temp.rid(5)], 40, 3, ARRAY['exposes', 'assumes']);
		queries := 3;
		RETURN NEXT;
	END LOOP;
END
$$;
SELECT count(*) AS graphs, sum(queries) AS queries, sum(mismatches) AS mismatches,
	   string_agg(seed::text, ',') FILTER (WHERE mismatches > 0) AS bad_seeds
FROM pg_temp.run_big_checks(10);

-- Sparse graphs (25 resources, 42 relationships) with hop limits beyond the
-- layered bound (16): searches ignoring hops first, exact label search when
-- the limit binds.
CREATE FUNCTION pg_temp.run_long_checks(nseeds int) RETURNS TABLE (seed int, mismatches bigint, queries int)
LANGUAGE plpgsql AS $$
BEGIN
	FOR s IN 1..nseeds LOOP
		PERFORM pg_temp.random_graph(0.3 + s / 1000.0, 25, 42);
		seed := s;
		mismatches := pg_temp.check_paths(ARRAY[pg_temp.rid(1)], ARRAY[pg_temp.rid(25)], 10, 17, NULL)
			+ pg_temp.check_paths(ARRAY[pg_temp.rid(2), pg_temp.rid(3)], ARRAY[pg_temp.rid(20), pg_temp.rid(21)], 25, 20, NULL)
			+ pg_temp.check_paths(ARRAY[pg_temp.rid(4)], ARRAY[pg_temp.rid(5)], 40, 18, NULL);
		queries := 3;
		RETURN NEXT;
	END LOOP;
END
$$;
SELECT count(*) AS graphs, sum(queries) AS queries, sum(mismatches) AS mismatches,
	   string_agg(seed::text, ',') FILTER (WHERE mismatches > 0) AS bad_seeds
FROM pg_temp.run_long_checks(10);

-- Long best paths: a chain 1 -> 2 -> ... -> n of likely relationships plus
-- random chords (shortcuts, back edges, parallel edges) that are less
-- likely, so the best paths take up to 17 hops and limits from 5 to 64 bind
-- or not.  Limits above 4 search ignoring hops first and switch to the
-- hop-aware search when a limit binds; each must agree with enumeration.
CREATE FUNCTION pg_temp.long_graph(seed float8, n int, m int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	kinds text[] := ARRAY['connects_to', 'exposes', 'assumes'];
	chain float8[] := ARRAY[0.9, 1.0, 0.8, 0.95];
	chords float8[] := ARRAY[0.5, 0.25, 0.9, 0.1];
BEGIN
	DELETE FROM correlate.resource WHERE uid LIKE 'rnd://%';
	PERFORM setseed(seed);
	PERFORM correlate.upsert_resource('rnd://' || i, 'k8s:pod', name => 'n' || i) FROM generate_series(1, n) i;
	PERFORM correlate.link(pg_temp.rid(i), pg_temp.rid(i + 1), kinds[1 + i % 3], chain[1 + floor(random() * 4)::int])
	FROM generate_series(1, n - 1) i;
	PERFORM correlate.link(pg_temp.rid(x.a), pg_temp.rid(x.b), x.k, x.l)
	FROM (SELECT i, 1 + floor(random() * n)::int AS a, 1 + floor(random() * n)::int AS b,
				 kinds[1 + floor(random() * 3)::int] AS k, chords[1 + floor(random() * 4)::int] AS l
		  FROM generate_series(1, m) i OFFSET 0) x
	ORDER BY x.i;
END
$$;
CREATE FUNCTION pg_temp.run_hop_checks(nseeds int)
RETURNS TABLE (seed int, mismatches bigint, queries int, best_hops bigint)
LANGUAGE plpgsql AS $$
DECLARE
	h int;
BEGIN
	FOR s IN 1..nseeds LOOP
		PERFORM pg_temp.long_graph(0.7 + s / 1000.0, 18 + s % 5, 10 + s % 4);
		seed := s;
		-- hops of the most likely path from 1 to 18, ignoring limits
		SELECT count(*) - 1 INTO best_hops
		FROM correlate.attack_paths(ARRAY[pg_temp.rid(1)], ARRAY[pg_temp.rid(18)], 1, NULL);
		mismatches := 0;
		queries := 0;
		FOREACH h IN ARRAY ARRAY[5, 7, 9, 11, 13, 15, 16, 17, 19, 24, 64, NULL] LOOP
			mismatches := mismatches
				+ pg_temp.check_paths(ARRAY[pg_temp.rid(1)], ARRAY[pg_temp.rid(18)], 10, h, NULL)
				+ pg_temp.check_paths(ARRAY[pg_temp.rid(1), pg_temp.rid(3)], ARRAY[pg_temp.rid(15), pg_temp.rid(17)], 15, h, NULL)
				+ pg_temp.check_paths(ARRAY[pg_temp.rid(2)], ARRAY[pg_temp.rid(12)], 6, h, ARRAY['connects_to', 'exposes']);
			queries := queries + 3;
		END LOOP;
		RETURN NEXT;
	END LOOP;
END
$$;
SELECT count(*) AS graphs, sum(queries) AS queries, sum(mismatches) AS mismatches,
	   string_agg(seed::text, ',') FILTER (WHERE mismatches > 0) AS bad_seeds,
	   min(best_hops) AS shortest_best_path, max(best_hops) AS longest_best_path
FROM pg_temp.run_hop_checks(12);

DROP EXTENSION correlate CASCADE;
