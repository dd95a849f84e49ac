-- Oracle tests for the graph engine: on 330 small random graphs of
-- adversarial shapes, every answer of attack_paths, blast_radius, exposure,
-- reachable and min_cut is checked against an independent implementation:
-- pgRouting (pgr_dijkstra, pgr_KSP, pgr_maxFlow) and plain recursive CTEs.
-- Only aggregate counts are printed; every mismatch list must be empty.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
CREATE EXTENSION pgrouting CASCADE;
RESET client_min_messages;
-- The graph engine on the fact graph as stored (the attack graph has its own tests).
SET correlate.graph_layer = facts;
-- Plans here are costly on paper (pgRouting, set-returning functions) but run on tiny
-- graphs: JIT would compile every one of them, for minutes.
SET jit = off;

CREATE SCHEMA oracle;

-- One row per generated graph.  All graphs live side by side in the default
-- tenant as disjoint components; graph g owns the resource ids lo..hi.
CREATE TABLE oracle.graph (
	g        int PRIMARY KEY,
	shape    text NOT NULL,
	n        int NOT NULL,
	lo       bigint,
	hi       bigint,
	s        bigint,            -- source and target of the single-pair checks
	t        bigint,
	srcs     bigint[],          -- sources and targets of the cut checks
	tgts     bigint[],
	parallel boolean NOT NULL DEFAULT false   -- has parallel relationships between a pair
);
CREATE TABLE oracle.result (
	check_name text NOT NULL,
	g          int NOT NULL,
	ok         boolean NOT NULL,
	detail     text
);

-- Likelihood draws: one decimal digit, so equal-cost ties are common.
CREATE FUNCTION oracle.lk() RETURNS float8 LANGUAGE sql VOLATILE
AS $$ SELECT round((0.1 + 0.9 * random())::numeric, 1)::float8 $$;

-- Builds graph g of the given shape through the write API.
CREATE FUNCTION oracle.make_graph(g int, shape text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	n int;
	es int[] := '{}';                -- edge list over node indexes 0..n-1
	ed int[] := '{}';
	ek text[] := '{}';
	el float8[] := '{}';
	kinds text[] := ARRAY['exposes', 'connects_to', 'can_access', 'assumes', 'runs_as', 'can_exec'];
	ids bigint[];
	a int; b int; w int; d int; p float8;
	par boolean := false;
	multi boolean := random() < 0.5;
	s_ix int := 0;
	t_ix int;
BEGIN
	CASE shape
	WHEN 'random', 'multi', 'ones', 'disconnected' THEN
		n := 5 + floor(random() * 6)::int;
		p := 2.2 / n;
		FOR a IN 0 .. n - 1 LOOP
			FOR b IN 0 .. n - 1 LOOP
				IF a <> b AND random() < p
				   AND (shape <> 'disconnected' OR (a < n / 2) = (b < n / 2)) THEN
					es := es || a; ed := ed || b; ek := ek || kinds[1 + (a + b) % 6];
					el := el || CASE WHEN shape = 'ones' THEN 1.0 ELSE oracle.lk() END;
				END IF;
			END LOOP;
		END LOOP;
		IF shape = 'multi' THEN
			-- self-loops, and parallel relationships of other kinds between the same pair
			FOR a IN 0 .. n - 1 LOOP
				IF random() < 0.3 THEN
					es := es || a; ed := ed || a; ek := ek || 'connects_to'::text; el := el || oracle.lk();
				END IF;
			END LOOP;
			FOR w IN 1 .. cardinality(es) LOOP
				IF es[w] <> ed[w] AND random() < 0.4 THEN
					es := es || es[w]; ed := ed || ed[w]; el := el || oracle.lk();
					ek := ek || kinds[1 + (es[w] + ed[w] + 1 + floor(random() * 5)::int) % 6];
					par := true;
				END IF;
			END LOOP;
		END IF;
	WHEN 'dense' THEN
		n := 5 + floor(random() * 2)::int;
		FOR a IN 0 .. n - 1 LOOP
			FOR b IN 0 .. n - 1 LOOP
				IF a <> b AND random() < 0.6 THEN
					es := es || a; ed := ed || b; ek := ek || 'can_access'::text; el := el || oracle.lk();
				END IF;
			END LOOP;
		END LOOP;
	WHEN 'complete' THEN
		n := 5;
		FOR a IN 0 .. n - 1 LOOP
			FOR b IN 0 .. n - 1 LOOP
				IF a <> b THEN
					es := es || a; ed := ed || b; ek := ek || 'can_access'::text; el := el || oracle.lk();
				END IF;
			END LOOP;
		END LOOP;
	WHEN 'star' THEN
		-- hub 1: the source reaches it, it reaches every leaf, some leaves point back or sideways
		n := 6 + floor(random() * 10)::int;
		es := es || 0; ed := ed || 1; ek := ek || 'exposes'::text; el := el || oracle.lk();
		FOR a IN 2 .. n - 1 LOOP
			es := es || 1; ed := ed || a; ek := ek || 'can_access'::text; el := el || oracle.lk();
			IF random() < 0.4 THEN
				es := es || a; ed := ed || 1; ek := ek || 'assumes'::text; el := el || oracle.lk();
			END IF;
			IF random() < 0.2 THEN
				es := es || a; ed := ed || 2 + floor(random() * (n - 2))::int; ek := ek || 'connects_to'::text; el := el || oracle.lk();
			END IF;
		END LOOP;
	WHEN 'chain' THEN
		-- a path 0 -> 1 -> ... -> n-1, with some back edges (cycles) and skips
		n := 4 + floor(random() * 10)::int;
		FOR a IN 0 .. n - 2 LOOP
			es := es || a; ed := ed || a + 1; ek := ek || 'connects_to'::text; el := el || oracle.lk();
			IF random() < 0.4 THEN
				es := es || a + 1; ed := ed || a; ek := ek || 'connects_to'::text; el := el || oracle.lk();
			END IF;
			IF a + 2 < n AND random() < 0.3 THEN
				es := es || a; ed := ed || a + 2; ek := ek || 'can_exec'::text; el := el || oracle.lk();
			END IF;
		END LOOP;
	WHEN 'bipartite' THEN
		-- 0 -> A (w nodes) -> B (d nodes) -> t, complete between layers, every edge 0.5: all paths tie
		w := 2 + floor(random() * 3)::int;
		d := 2 + floor(random() * 3)::int;
		n := w + d + 2;
		FOR a IN 1 .. w LOOP
			es := es || 0; ed := ed || a; ek := ek || 'exposes'::text; el := el || 0.5;
			FOR b IN w + 1 .. w + d LOOP
				es := es || a; ed := ed || b; ek := ek || 'can_access'::text; el := el || 0.5;
				IF random() < 0.2 THEN
					es := es || b; ed := ed || a; ek := ek || 'assumes'::text; el := el || 0.5;
				END IF;
			END LOOP;
		END LOOP;
		FOR b IN w + 1 .. w + d LOOP
			es := es || b; ed := ed || n - 1; ek := ek || 'can_access'::text; el := el || 0.5;
		END LOOP;
	WHEN 'layered' THEN
		-- layers of width w, complete between consecutive layers, one likelihood for all
		w := 2 + floor(random() * 2)::int;
		d := 2 + floor(random() * 2)::int;
		n := w * d + 2;
		p := CASE WHEN random() < 0.5 THEN 0.8 ELSE 1.0 END;
		FOR a IN 1 .. w LOOP
			es := es || 0; ed := ed || a; ek := ek || 'exposes'::text; el := el || p;
			es := es || (d - 1) * w + a; ed := ed || n - 1; ek := ek || 'can_access'::text; el := el || p;
		END LOOP;
		FOR b IN 1 .. d - 1 LOOP
			FOR a IN 1 .. w LOOP
				FOR t_ix IN 1 .. w LOOP
					es := es || (b - 1) * w + a; ed := ed || b * w + t_ix; ek := ek || 'connects_to'::text; el := el || p;
				END LOOP;
			END LOOP;
		END LOOP;
	WHEN 'cycle' THEN
		-- a ring both ways, plus random chords
		n := 5 + floor(random() * 8)::int;
		FOR a IN 0 .. n - 1 LOOP
			es := es || a; ed := ed || (a + 1) % n; ek := ek || 'connects_to'::text; el := el || oracle.lk();
			IF random() < 0.6 THEN
				es := es || (a + 1) % n; ed := ed || a; ek := ek || 'connects_to'::text; el := el || oracle.lk();
			END IF;
			IF random() < 0.3 THEN
				b := floor(random() * n)::int;
				IF b <> a AND b <> (a + 1) % n THEN
					es := es || a; ed := ed || b; ek := ek || 'can_access'::text; el := el || oracle.lk();
				END IF;
			END IF;
		END LOOP;
	END CASE;

	t_ix := n - 1;
	SELECT array_agg(u.id ORDER BY u.ord) INTO ids
	FROM correlate.upsert_resources(
		ARRAY(SELECT format('oracle:g%s:n%s', g, i) FROM generate_series(0, n - 1) i),
		array_fill('aws:resource'::text, ARRAY[n]),
		props => ARRAY(SELECT jsonb_build_object('fix_cost', 1 + floor(random() * 5)::int)
					   FROM generate_series(1, n))) u;
	IF cardinality(es) > 0 THEN
		PERFORM correlate.link_many(
			ARRAY(SELECT ids[x + 1] FROM unnest(es) WITH ORDINALITY AS e(x, o) ORDER BY o),
			ARRAY(SELECT ids[x + 1] FROM unnest(ed) WITH ORDINALITY AS e(x, o) ORDER BY o),
			ek, el,
			ARRAY(SELECT jsonb_build_object('fix_cost', 1 + floor(random() * 5)::int)
				  FROM generate_series(1, cardinality(es))));
	END IF;
	INSERT INTO oracle.graph (g, shape, n, lo, hi, s, t, srcs, tgts, parallel)
	VALUES (g, shape, n, (SELECT min(x) FROM unnest(ids) x), (SELECT max(x) FROM unnest(ids) x), ids[s_ix + 1], ids[t_ix + 1],
			CASE WHEN multi AND n >= 6 AND shape IN ('random', 'multi', 'dense', 'cycle', 'ones')
				 THEN ARRAY[ids[1], ids[2]] ELSE ARRAY[ids[1]] END,
			CASE WHEN multi AND n >= 6 AND shape IN ('random', 'multi', 'dense', 'cycle', 'ones')
				 THEN ARRAY[ids[n - 1], ids[n]] ELSE ARRAY[ids[n]] END,
			par);
END
$$;

-- The graph's relationships as pgRouting edges (cost = -ln(likelihood)).
CREATE FUNCTION oracle.edges_sql(gr oracle.graph) RETURNS text LANGUAGE sql
AS $$ SELECT format('SELECT id, src AS source, dst AS target, -ln(likelihood) AS cost
					 FROM correlate.relationship WHERE tenant = ''default'' AND src BETWEEN %s AND %s', gr.lo, gr.hi) $$;

-- Costs agree when they are within float rounding (the engine may keep float4 weights).
CREATE FUNCTION oracle.same_costs(a float8[], b float8[]) RETURNS boolean LANGUAGE sql IMMUTABLE
AS $$
	SELECT cardinality(a) = cardinality(b)
	   AND NOT EXISTS (SELECT 1 FROM unnest(a, b) AS u(x, y) WHERE abs(x - y) > 1e-5 * (1 + abs(y)))
$$;

-- Hop-bounded reachability by recursive CTE: (node, fewest hops) from the start set,
-- forward or backward.
CREATE FUNCTION oracle.cte_reach(gr oracle.graph, start bigint[], max_hops int, backward boolean)
RETURNS TABLE (node bigint, hops int) LANGUAGE sql
AS $$
	WITH RECURSIVE walk(node, d) AS (
		SELECT unnest(start), 0
		UNION
		SELECT CASE WHEN backward THEN r.src ELSE r.dst END, w.d + 1
		FROM walk w JOIN correlate.relationship r
		  ON r.tenant = 'default' AND (CASE WHEN backward THEN r.dst ELSE r.src END) = w.node
		WHERE (max_hops IS NULL OR w.d < max_hops) AND w.d < gr.n
		  AND r.src BETWEEN gr.lo AND gr.hi
	)
	SELECT node, min(d) FROM walk GROUP BY node
$$;

-- Every simple path from s to t by exhaustive enumeration (small graphs only): costs, best first.
CREATE FUNCTION oracle.cte_path_costs(gr oracle.graph, k int) RETURNS float8[] LANGUAGE sql
AS $$
	WITH RECURSIVE p(node, cost, seen) AS (
		SELECT gr.s, 0::float8, ARRAY[gr.s]
		UNION ALL
		SELECT r.dst, p.cost - ln(r.likelihood), p.seen || r.dst
		FROM p JOIN correlate.relationship r ON r.tenant = 'default' AND r.src = p.node
		WHERE p.node <> gr.t AND r.dst <> ALL (p.seen) AND r.src BETWEEN gr.lo AND gr.hi
	)
	SELECT COALESCE(array_agg(c ORDER BY c), '{}')
	FROM (SELECT cost AS c FROM p WHERE node = gr.t ORDER BY cost LIMIT k) x
$$;

SELECT setseed(0.5);
SELECT count(*) AS graphs FROM (
	SELECT oracle.make_graph(g, (ARRAY['random', 'multi', 'ones', 'disconnected', 'dense', 'complete',
									   'star', 'chain', 'bipartite', 'layered', 'cycle'])[1 + (g - 1) % 11])
	FROM generate_series(1, 330) AS g) x;
SELECT shape, count(*) AS graphs, sum(n) AS resources, bool_or(parallel) AS some_parallel
FROM oracle.graph GROUP BY shape ORDER BY shape;

-- What the graphs exercise: how many simple s-t paths they have (0: unreachable; 10 or
-- more: k = 10 truncates), and how many have ties among their 10 best path costs.
SELECT count(*) FILTER (WHERE cardinality(c) = 0) AS unreachable,
	   count(*) FILTER (WHERE cardinality(c) BETWEEN 1 AND 9) AS "1 to 9 paths",
	   count(*) FILTER (WHERE cardinality(c) = 10) AS "10 or more paths",
	   count(*) FILTER (WHERE (SELECT count(DISTINCT round(x::numeric, 9)) FROM unnest(c) x) < cardinality(c))
		   AS "with tied costs"
FROM (SELECT oracle.cte_path_costs(gr, 10) AS c FROM oracle.graph gr) x;

-- 1. Best path: attack_paths(k => 1) against pgr_dijkstra.
INSERT INTO oracle.result
SELECT 'best path cost = pgr_dijkstra', gr.g, oracle.same_costs(ours.c, pgr.c),
	   format('ours %s, pgr_dijkstra %s', ours.c, pgr.c)
FROM oracle.graph gr,
LATERAL (SELECT COALESCE(array_agg(-ln(pl)), '{}') AS c FROM (
			SELECT max(a.path_likelihood) AS pl
			FROM correlate.attack_paths(ARRAY[gr.s], ARRAY[gr.t], k => 1, max_hops => gr.n) a
			GROUP BY a.path_rank) x) ours,
LATERAL (SELECT COALESCE(array_agg(d.agg_cost), '{}') AS c
		 FROM pgr_dijkstra(oracle.edges_sql(gr), gr.s, gr.t) d WHERE d.edge = -1) pgr;

-- 1b. The same with a relationship-kind filter, against pgr_dijkstra on only those kinds.
INSERT INTO oracle.result
SELECT 'best path cost with kinds = pgr_dijkstra', gr.g, oracle.same_costs(ours.c, pgr.c),
	   format('ours %s, pgr_dijkstra %s', ours.c, pgr.c)
FROM oracle.graph gr,
LATERAL (SELECT COALESCE(array_agg(-ln(pl)), '{}') AS c FROM (
			SELECT max(a.path_likelihood) AS pl
			FROM correlate.attack_paths(ARRAY[gr.s], ARRAY[gr.t], k => 1, max_hops => gr.n,
										kinds => ARRAY['connects_to', 'can_access', 'exposes']) a
			GROUP BY a.path_rank) x) ours,
LATERAL (SELECT COALESCE(array_agg(d.agg_cost), '{}') AS c
		 FROM pgr_dijkstra(oracle.edges_sql(gr) || $$ AND kind IN ('connects_to', 'can_access', 'exposes')$$,
						   gr.s, gr.t) d WHERE d.edge = -1) pgr;

-- 2. The k = 10 most likely paths: their costs against pgr_KSP.  pgr_KSP (Yen) returns
-- loopless paths that differ by their vertex sequence (it disconnects every edge between
-- a pair at once), while attack_paths tells apart paths that differ only by a parallel
-- relationship, so graphs with parallel relationships are compared with the exhaustive
-- enumeration below instead.  Ties may be broken differently: cost multisets are compared.
INSERT INTO oracle.result
SELECT 'k=10 path costs = pgr_KSP', gr.g, oracle.same_costs(ours.c, pgr.c),
	   format('ours %s, pgr_KSP %s', ours.c, pgr.c)
FROM oracle.graph gr,
LATERAL (SELECT COALESCE(array_agg(-ln(pl) ORDER BY -ln(pl)), '{}') AS c FROM (
			SELECT max(a.path_likelihood) AS pl
			FROM correlate.attack_paths(ARRAY[gr.s], ARRAY[gr.t], k => 10, max_hops => gr.n) a
			GROUP BY a.path_rank) x) ours,
LATERAL (SELECT COALESCE(array_agg(c ORDER BY c), '{}') AS c FROM (
			SELECT k.agg_cost AS c FROM pgr_KSP(oracle.edges_sql(gr), gr.s, gr.t, 10) k
			WHERE k.edge = -1) y) pgr
WHERE NOT gr.parallel;

-- 3. The same k costs against enumerating every simple path (all graphs, parallel ones too).
INSERT INTO oracle.result
SELECT 'k=10 path costs = enumeration', gr.g, oracle.same_costs(ours.c, oracle.cte_path_costs(gr, 10)),
	   format('ours %s, enumeration %s', ours.c, oracle.cte_path_costs(gr, 10))
FROM oracle.graph gr,
LATERAL (SELECT COALESCE(array_agg(-ln(pl) ORDER BY -ln(pl)), '{}') AS c FROM (
			SELECT max(a.path_likelihood) AS pl
			FROM correlate.attack_paths(ARRAY[gr.s], ARRAY[gr.t], k => 10, max_hops => gr.n) a
			GROUP BY a.path_rank) x) ours;

-- 4. Every returned path is a real simple path from s to t: hop 0 is s with no
-- relationship, each relationship leaves the previous resource and enters this one,
-- no resource repeats, the last is t, path_likelihood is the product of the hops',
-- no two paths are the same, and ranks go from most to least likely.
INSERT INTO oracle.result
SELECT 'paths well formed', gr.g, bad.n = 0, format('%s bad rows', bad.n)
FROM oracle.graph gr,
LATERAL (
	WITH p AS (
		SELECT a.*, lag(a.resource_id) OVER w AS prev, lead(a.resource_id) OVER w AS next,
			   count(*) OVER (PARTITION BY a.path_rank, a.resource_id) AS seen
		FROM correlate.attack_paths(ARRAY[gr.s], ARRAY[gr.t], k => 10, max_hops => gr.n) a
		WINDOW w AS (PARTITION BY a.path_rank ORDER BY a.hop)
	), per_path AS (
		SELECT p.path_rank, max(p.path_likelihood) AS pl, min(p.path_likelihood) AS pl_min,
			   exp(sum(ln(r.likelihood))) AS product,
			   array_agg(p.relationship_id ORDER BY p.hop) AS rels
		FROM p LEFT JOIN correlate.relationship r ON r.tenant = 'default' AND r.id = p.relationship_id
		GROUP BY p.path_rank
	)
	SELECT (SELECT count(*) FROM p LEFT JOIN correlate.relationship r ON r.tenant = 'default' AND r.id = p.relationship_id
			WHERE (p.hop = 0 AND (p.resource_id <> gr.s OR p.relationship_id IS NOT NULL))
			   OR (p.hop > 0 AND (r.id IS NULL OR r.src <> p.prev OR r.dst <> p.resource_id
								  OR abs(r.likelihood - p.likelihood) > 1e-6))
			   OR (p.next IS NULL AND p.resource_id <> gr.t)
			   OR p.seen > 1)
		 + (SELECT count(*) FROM per_path WHERE abs(pl - pl_min) > 1e-12 OR abs(pl - product) > 1e-6 * product)
		 + (SELECT count(*) - count(DISTINCT rels) FROM per_path)
		 + (SELECT count(*) FROM (SELECT pl < lead(pl) OVER (ORDER BY path_rank) - 1e-9 AS inverted
								  FROM per_path) i WHERE inverted) AS n
) bad;

-- Best likelihood within h hops by enumerating walks (a cycle never helps: costs are >= 0).
CREATE FUNCTION oracle.cte_best(gr oracle.graph, start bigint[], max_hops int, backward boolean)
RETURNS TABLE (node bigint, likelihood float8) LANGUAGE sql
AS $$
	WITH RECURSIVE walk(node, d, cost) AS (
		SELECT unnest(start), 0, 0::float8
		UNION ALL
		SELECT CASE WHEN backward THEN r.src ELSE r.dst END, w.d + 1, w.cost - ln(r.likelihood)
		FROM walk w JOIN correlate.relationship r
		  ON r.tenant = 'default' AND (CASE WHEN backward THEN r.dst ELSE r.src END) = w.node
		WHERE w.d < max_hops AND r.src BETWEEN gr.lo AND gr.hi
	)
	SELECT node, exp(-min(cost)) FROM walk GROUP BY node
$$;

-- 5. blast_radius and exposure: the set of resources within h hops equals the
-- recursive CTE's; the likelihood is the best over paths of at most h hops (pgr_dijkstra
-- when unbounded); `via` is a real neighbour on such a path.  Sources are left out of
-- the comparison (whether a function lists its own sources is not what is tested here).
CREATE FUNCTION oracle.check_radius(gr oracle.graph, h int, backward boolean) RETURNS text
LANGUAGE sql AS $$
	WITH st AS (
		SELECT CASE WHEN backward THEN gr.tgts ELSE gr.srcs END AS start
	), others AS (
		SELECT ARRAY(SELECT v FROM generate_series(gr.lo, gr.hi) v, st WHERE v <> ALL (st.start)) AS o
	), ours AS (
		SELECT x.* FROM st, LATERAL (
			SELECT b.resource_id, b.hops, b.likelihood, b.via
			FROM correlate.blast_radius(st.start, max_hops => h) b WHERE NOT backward
			UNION ALL
			SELECT e.resource_id, e.hops, e.likelihood, e.via
			FROM correlate.exposure(st.start, max_hops => h) e WHERE backward) x
		WHERE x.resource_id <> ALL (st.start)
	), truth AS (
		SELECT c.node, c.hops FROM st, oracle.cte_reach(gr, st.start, h, backward) c WHERE c.node <> ALL (st.start)
	), best AS (
		SELECT CASE WHEN backward THEN d.start_vid ELSE d.end_vid END AS node, exp(-min(d.agg_cost)) AS likelihood
		FROM st, others, pgr_dijkstra(oracle.edges_sql(gr), CASE WHEN backward THEN others.o ELSE st.start END,
									  CASE WHEN backward THEN st.start ELSE others.o END) d
		WHERE h IS NULL AND d.edge = -1 GROUP BY 1
		UNION ALL
		SELECT c.* FROM st, oracle.cte_best(gr, st.start, h, backward) c WHERE h IS NOT NULL
	), missing AS (
		SELECT array_agg(t.node ORDER BY t.node) AS a FROM truth t WHERE t.node NOT IN (SELECT resource_id FROM ours)
	), extra AS (
		SELECT array_agg(o.resource_id ORDER BY o.resource_id) AS a FROM ours o
		WHERE o.resource_id NOT IN (SELECT node FROM truth)
		   OR o.resource_id IN (SELECT resource_id FROM ours GROUP BY 1 HAVING count(*) > 1)
	), wrong_lk AS (
		SELECT array_agg(o.resource_id ORDER BY o.resource_id) AS a FROM ours o JOIN best b ON b.node = o.resource_id
		WHERE abs(o.likelihood - b.likelihood) > 1e-6 * b.likelihood
	), bad_via AS (
		-- via: an adjacent resource.  Unbounded, the best paths form a tree: via is one
		-- hop closer to the start and its likelihood times a relationship between them
		-- gives this one's.  Within a hop bound they need not (the best path to via may
		-- be too long to extend), so only adjacency and the bound are checked.
		SELECT array_agg(o.resource_id ORDER BY o.resource_id) AS a FROM st, ours o
		LEFT JOIN ours pv ON pv.resource_id = o.via
		WHERE o.hops < 1 OR o.hops > COALESCE(h, gr.n)
		   OR NOT EXISTS (
				SELECT 1 FROM correlate.relationship r
				WHERE r.tenant = 'default'
				  AND ((NOT backward AND r.src = o.via AND r.dst = o.resource_id)
					OR (backward AND r.src = o.resource_id AND r.dst = o.via))
				  AND (h IS NOT NULL OR (
						(CASE WHEN o.via = ANY (st.start) THEN 1.0 ELSE pv.likelihood END) * r.likelihood
							BETWEEN o.likelihood * (1 - 1e-6) AND o.likelihood * (1 + 1e-6)
						AND o.hops = (CASE WHEN o.via = ANY (st.start) THEN 0 ELSE pv.hops END) + 1)))
	)
	SELECT CASE WHEN missing.a IS NULL AND extra.a IS NULL AND wrong_lk.a IS NULL AND bad_via.a IS NULL THEN NULL
				ELSE format('h=%s missing %s extra %s likelihood %s via %s', h, missing.a, extra.a, wrong_lk.a, bad_via.a)
		   END
	FROM missing, extra, wrong_lk, bad_via
$$;

INSERT INTO oracle.result
SELECT CASE WHEN backward THEN 'exposure = recursive CTE' ELSE 'blast_radius = recursive CTE' END,
	   g, string_agg(err, '; ') IS NULL, string_agg(err, '; ')
FROM (SELECT gr.g, dir.backward, oracle.check_radius(gr, hs.h, dir.backward) AS err
	  FROM oracle.graph gr, (VALUES (1), (2), (3), (NULL::int)) AS hs(h), (VALUES (false), (true)) AS dir(backward)) x
GROUP BY g, backward;

-- 5b. Both list their start resources themselves with hops 0, likelihood 1 and no via.
INSERT INTO oracle.result
SELECT 'blast_radius/exposure list the start at hop 0', gr.g,
	   (SELECT count(*) FROM correlate.blast_radius(gr.srcs) b
		WHERE b.resource_id = ANY (gr.srcs) AND b.hops = 0 AND b.likelihood = 1 AND b.via IS NULL)
		 = cardinality(gr.srcs)
	   AND (SELECT count(*) FROM correlate.exposure(gr.tgts, max_hops => 2) e
			WHERE e.resource_id = ANY (gr.tgts) AND e.hops = 0 AND e.likelihood = 1 AND e.via IS NULL)
		 = cardinality(gr.tgts),
	   NULL
FROM oracle.graph gr;

-- 6. reachable(s, v, h) for every resource v of the graph and h in 1, 2, 3, unbounded.
INSERT INTO oracle.result
SELECT 'reachable = recursive CTE', gr.g, count(*) FILTER (WHERE ours IS DISTINCT FROM truth) = 0,
	   string_agg(format('%s->%s h=%s', gr.s, v, h), ', ') FILTER (WHERE ours IS DISTINCT FROM truth)
FROM oracle.graph gr, (VALUES (1), (2), (3), (NULL::int)) AS hs(h),
LATERAL (SELECT array_agg(c.node) AS nodes FROM oracle.cte_reach(gr, ARRAY[gr.s], h, false) c) t,
LATERAL generate_series(gr.lo, gr.hi) AS v,
LATERAL (SELECT correlate.reachable(gr.s, v, h) AS ours, v = ANY (t.nodes) AS truth) x
WHERE v <> gr.s
GROUP BY gr.g;

-- 7. min_cut: its total cost equals pgr_maxFlow's value (capacity 1, or the integer
-- props->>'fix_cost'), and removing its relationships leaves no path from any source
-- to any target (so it is a cut, and by max-flow/min-cut duality a minimum one).
-- Self-loops carry no flow; they are left out of pgr_maxFlow's edges.
INSERT INTO oracle.result
SELECT 'min_cut ' || c.cost || ' = pgr_maxFlow', gr.g,
	   ours.total = pgr.flow AND ours.n = ours.distinct_n AND NOT EXISTS (
			WITH RECURSIVE walk(node) AS (
				SELECT unnest(gr.srcs)
				UNION
				SELECT r.dst FROM walk w JOIN correlate.relationship r ON r.tenant = 'default' AND r.src = w.node
				WHERE r.id <> ALL (ours.rels))
			SELECT 1 FROM walk WHERE node = ANY (gr.tgts)),
	   format('cut %s cost %s, max flow %s', ours.rels, ours.total, pgr.flow)
FROM oracle.graph gr, (VALUES ('unit'), ('fix_cost')) AS c(cost),
LATERAL (SELECT COALESCE(round(sum(m.cost)), 0) AS total, COALESCE(array_agg(m.relationship_id), '{}') AS rels,
				count(*) AS n, count(DISTINCT r.id) AS distinct_n
		 FROM correlate.min_cut(gr.srcs, gr.tgts, c.cost) m
		 LEFT JOIN correlate.relationship r ON r.tenant = 'default' AND r.id = m.relationship_id AND r.src = m.src AND r.dst = m.dst
			  AND r.src BETWEEN gr.lo AND gr.hi) ours,
LATERAL (SELECT COALESCE(pgr_maxFlow(format(
			'SELECT id, src AS source, dst AS target, %s AS capacity FROM correlate.relationship
			 WHERE tenant = ''default'' AND src BETWEEN %s AND %s AND src <> dst',
			CASE c.cost WHEN 'unit' THEN '1' ELSE $$(props->>'fix_cost')::int$$ END, gr.lo, gr.hi),
			gr.srcs, gr.tgts), 0) AS flow) pgr;

-- 8. min_node_cut: the same against pgr_maxFlow on the split graph, where each resource
-- v other than the sources and targets becomes v_in -> v_out with its cost (1, or the
-- resource's props->>'fix_cost') as capacity, and relationships get a capacity no cut
-- can pay.  A source linked straight to a target has no node cut: the function must
-- refuse it, and the flow says so (>= the huge capacity).
CREATE FUNCTION oracle.node_cut(gr oracle.graph, cost text) RETURNS bigint[] LANGUAGE plpgsql
AS $$
BEGIN
	RETURN ARRAY(SELECT m.resource_id FROM correlate.min_node_cut(gr.srcs, gr.tgts, cost) m);
EXCEPTION WHEN OTHERS THEN
	RETURN NULL;
END
$$;
INSERT INTO oracle.result
SELECT 'min_node_cut ' || c.cost || ' = pgr_maxFlow', gr.g,
	   CASE WHEN ours.cut IS NULL THEN pgr.flow >= 1000000
			ELSE ours.total = pgr.flow AND NOT (ours.cut && (gr.srcs || gr.tgts))
				 AND cardinality(ours.cut) = (SELECT count(DISTINCT x) FROM unnest(ours.cut) x)
				 AND NOT EXISTS (
					WITH RECURSIVE walk(node) AS (
						SELECT unnest(gr.srcs)
						UNION
						SELECT r.dst FROM walk w JOIN correlate.relationship r ON r.tenant = 'default' AND r.src = w.node
						WHERE r.dst <> ALL (ours.cut))
					SELECT 1 FROM walk WHERE node = ANY (gr.tgts)) END,
	   format('cut %s cost %s, max flow %s', ours.cut, ours.total, pgr.flow)
FROM oracle.graph gr, (VALUES ('unit'), ('fix_cost')) AS c(cost),
LATERAL (SELECT x.cut, (SELECT COALESCE(sum(CASE c.cost WHEN 'unit' THEN 1 ELSE (r.props->>'fix_cost')::int END), 0)
						FROM correlate.resource r WHERE r.tenant = 'default' AND r.id = ANY (x.cut)) AS total
		 FROM (SELECT oracle.node_cut(gr, c.cost) AS cut) x) ours,
LATERAL (SELECT COALESCE(pgr_maxFlow(format($f$
			SELECT r.id, 2 * r.src + 1 AS source, 2 * r.dst AS target, 1000000 AS capacity
			FROM correlate.relationship r WHERE r.tenant = 'default' AND r.src BETWEEN %1$s AND %2$s AND r.src <> r.dst
			UNION ALL
			SELECT -v.id, 2 * v.id, 2 * v.id + 1,
				   CASE WHEN v.id = ANY ('%3$s'::bigint[]) THEN 1000000 ELSE %4$s END
			FROM correlate.resource v WHERE v.tenant = 'default' AND v.id BETWEEN %1$s AND %2$s$f$,
			gr.lo, gr.hi, gr.srcs || gr.tgts,
			CASE c.cost WHEN 'unit' THEN '1' ELSE $$(v.props->>'fix_cost')::int$$ END),
			ARRAY(SELECT 2 * x + 1 FROM unnest(gr.srcs) x), ARRAY(SELECT 2 * x FROM unnest(gr.tgts) x)), 0) AS flow) pgr;

-- Summary: every check on every graph it applies to; mismatches must be 0.
SELECT check_name, count(*) AS graphs, count(*) FILTER (WHERE NOT ok) AS mismatches
FROM oracle.result GROUP BY check_name ORDER BY check_name;
-- The mismatches themselves (expected: none).
SELECT check_name, g, detail FROM oracle.result WHERE NOT ok ORDER BY check_name, g;

DROP SCHEMA oracle CASCADE;
-- Leave later tests the database as they expect it.
DROP EXTENSION pgrouting, postgis;
