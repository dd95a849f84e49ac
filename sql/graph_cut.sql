-- min_cut(), min_node_cut() and chokepoints(): known answers on hand-built
-- graphs, fix costs, removal really disconnecting, and bad input.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
-- The graph engine on the fact graph as stored (the attack graph has its own tests).
SET correlate.graph_layer = facts;

CREATE FUNCTION pg_temp.node(name text, props jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.upsert_resource('test://' || name, 'k8s:pod', name => name, props => props) $$;
CREATE FUNCTION pg_temp.r(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'test://' || $1 $$;
CREATE FUNCTION pg_temp.n(id bigint) RETURNS text
LANGUAGE sql AS $$ SELECT r.name FROM correlate.resource r WHERE r.id = $1 $$;
CREATE FUNCTION pg_temp.edge(a text, b text, l float8 DEFAULT 0.5, props jsonb DEFAULT NULL, kind text DEFAULT 'connects_to') RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.link(pg_temp.r(a), pg_temp.r(b), kind, l, props) $$;
CREATE FUNCTION pg_temp.ids(names text[]) RETURNS bigint[]
LANGUAGE sql AS $$ SELECT array_agg(pg_temp.r(x)) FROM unnest(names) x $$;
CREATE FUNCTION pg_temp.cut(s text[], t text[], cost text DEFAULT 'unit') RETURNS TABLE (edge text, cost float8)
LANGUAGE sql AS $$
	SELECT pg_temp.n(c.src) || ' -> ' || pg_temp.n(c.dst), c.cost
	FROM correlate.min_cut(pg_temp.ids(s), pg_temp.ids(t), cost) c ORDER BY 1
$$;
CREATE FUNCTION pg_temp.node_cut(s text[], t text[], cost text DEFAULT 'unit') RETURNS TABLE (resource text, cost float8)
LANGUAGE sql AS $$
	SELECT pg_temp.n(c.resource_id), c.cost
	FROM correlate.min_node_cut(pg_temp.ids(s), pg_temp.ids(t), cost) c ORDER BY 1
$$;

-- Two disjoint routes s -> a -> t and s -> b -> c -> t, a bridge a -> c,
-- and a dead end s -> d that leads nowhere.
--     s -> a -> t        s -> b -> c -> t        a -> c        s -> d
SELECT count(pg_temp.node(x)) FROM unnest(ARRAY['s','a','b','c','d','t']) x;
SELECT count(*) FROM (VALUES (pg_temp.edge('s','a')), (pg_temp.edge('a','t')), (pg_temp.edge('s','b')),
	(pg_temp.edge('b','c')), (pg_temp.edge('c','t')), (pg_temp.edge('a','c')), (pg_temp.edge('s','d'))) v(x);

-- Two routes: a cut of two relationships, nearest the source; never the dead end.
SELECT * FROM pg_temp.cut(ARRAY['s'], ARRAY['t']);
SELECT * FROM pg_temp.node_cut(ARRAY['s'], ARRAY['t']);
-- Removing the cut disconnects; put it back afterwards.
BEGIN;
DELETE FROM correlate.relationship WHERE id IN
	(SELECT relationship_id FROM correlate.min_cut(pg_temp.ids(ARRAY['s']), pg_temp.ids(ARRAY['t'])));
SELECT correlate.reachable(pg_temp.r('s'), pg_temp.r('t')) AS still_reachable;
ROLLBACK;
SELECT correlate.reachable(pg_temp.r('s'), pg_temp.r('t')) AS reachable_again;

-- Fix costs: relationships out of s are expensive to fix, so the cut moves.
UPDATE correlate.relationship SET props = '{"fix_cost": 10}' WHERE src = pg_temp.r('s');
UPDATE correlate.relationship SET props = '{"fix_cost": "2.5"}' WHERE src = pg_temp.r('a') AND dst = pg_temp.r('t');
SELECT * FROM pg_temp.cut(ARRAY['s'], ARRAY['t'], 'fix_cost');
-- Zero cost is allowed; invalid costs count as 1.
UPDATE correlate.relationship SET props = '{"fix_cost": 0}' WHERE src = pg_temp.r('c') AND dst = pg_temp.r('t');
UPDATE correlate.relationship SET props = '{"fix_cost": -3}' WHERE src = pg_temp.r('b');
SELECT * FROM pg_temp.cut(ARRAY['s'], ARRAY['t'], 'fix_cost');
UPDATE correlate.relationship SET props = '{"fix_cost": "cheap"}' WHERE src = pg_temp.r('a') AND dst = pg_temp.r('t');
SELECT * FROM pg_temp.cut(ARRAY['s'], ARRAY['t'], 'fix_cost');
-- Node costs come from the resource's own props.
UPDATE correlate.resource SET props = '{"fix_cost": 5}' WHERE uid = 'test://a';
SELECT * FROM pg_temp.node_cut(ARRAY['s'], ARRAY['t'], 'fix_cost');

-- Parallel relationships each need cutting; a self-loop never does.
SELECT pg_temp.node('p'), pg_temp.node('q');
SELECT pg_temp.edge('p','q'), pg_temp.edge('p','q', 0.5, NULL, 'exposes'), pg_temp.edge('p','p');
SELECT * FROM pg_temp.cut(ARRAY['p'], ARRAY['q']);
-- A source linked straight to a target has no node cut.
SELECT * FROM pg_temp.node_cut(ARRAY['p'], ARRAY['q']);
-- Nothing to cut when nothing connects; sources and targets must differ.
SELECT * FROM pg_temp.cut(ARRAY['t'], ARRAY['s']);
SELECT * FROM pg_temp.cut(ARRAY['s'], ARRAY['s', 't']);
-- Several sources and targets: a path ends at the first target it meets.
SELECT * FROM pg_temp.cut(ARRAY['s', 'b'], ARRAY['c', 't']);

-- Defaults: from internet to crown jewels.
SELECT correlate.link(correlate.internet(), pg_temp.r('s'), 'exposes') IS NOT NULL AS exposed;
UPDATE correlate.resource SET criticality = 1 WHERE uid = 'test://t';
SELECT pg_temp.n(src) || ' -> ' || pg_temp.n(dst) AS edge, cost FROM correlate.min_cut() ORDER BY 1;
SELECT pg_temp.n(resource_id) AS resource, cost FROM correlate.min_node_cut() ORDER BY 1;

-- chokepoints.  A helper naming relationship rows by their ends.
CREATE FUNCTION pg_temp.choke(k int DEFAULT 10) RETURNS TABLE (chokepoint text, paths_through bigint, share numeric)
LANGUAGE sql AS $$
	SELECT coalesce(pg_temp.n(c.resource_id), pg_temp.n(r.src) || ' -> ' || pg_temp.n(r.dst)),
		   c.paths_through, round(c.likelihood_share::numeric, 4)
	FROM correlate.chokepoints(k => k) c LEFT JOIN correlate.relationship r ON r.id = c.relationship_id
	ORDER BY 3 DESC, 2 DESC, 1
$$;
-- Every path among the k (10) most likely counts: here all three paths from the internet to t;
-- paths_through says how many pass through, share which part of their summed likelihood.
SELECT * FROM pg_temp.choke();
-- Make s -> b -> c -> t exactly as likely as s -> a -> t (0.8 * 1.0 * 0.8 = 0.8 * 0.8),
-- and add a second crown jewel u reached best through c.
UPDATE correlate.relationship SET likelihood = 0.8
WHERE (src, dst) IN ((pg_temp.r('s'), pg_temp.r('a')), (pg_temp.r('a'), pg_temp.r('t')),
					 (pg_temp.r('s'), pg_temp.r('b')), (pg_temp.r('c'), pg_temp.r('t')));
UPDATE correlate.relationship SET likelihood = 1.0 WHERE (src, dst) = (pg_temp.r('b'), pg_temp.r('c'));
SELECT pg_temp.node('u');
SELECT pg_temp.edge('c', 'u', 0.8);
UPDATE correlate.resource SET criticality = 1 WHERE uid = 'test://u';
-- Now five paths reach t or u (each target's own paths, not its best one only):
-- c lies on four of them.  With k = 2, only the two most likely paths count.
SELECT * FROM pg_temp.choke();
SELECT * FROM pg_temp.choke(2);
SELECT count(*) AS none FROM correlate.chokepoints(pg_temp.ids(ARRAY['t']), pg_temp.ids(ARRAY['s']));

-- The cut nearest the sources is unique, so the augmenting-path search and
-- Dinic's algorithm (correlate.graph_cut_search_budget = 0) must return the
-- same rows; checked on random graphs with random fix costs, edge and node
-- cuts, and removal must disconnect.
CREATE FUNCTION pg_temp.rid(i int) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'rnd://' || $1 $$;
CREATE FUNCTION pg_temp.compare_cuts(nseeds int) RETURNS TABLE (graphs int, cut_rows bigint, mismatches bigint, still_connected bigint)
LANGUAGE plpgsql AS $$
DECLARE
	src bigint[];
	dst bigint[];
	bad bigint;
	cnt bigint;
	conn boolean;
BEGIN
	graphs := 0; cut_rows := 0; mismatches := 0; still_connected := 0;
	FOR s IN 1..nseeds LOOP
		DELETE FROM correlate.resource WHERE uid LIKE 'rnd://%';
		PERFORM setseed(s / 1000.0);
		PERFORM correlate.upsert_resource('rnd://' || i, 'k8s:pod', props => jsonb_build_object('fix_cost', 1 + floor(random() * 3)))
		FROM generate_series(1, 25) i;
		PERFORM correlate.link(pg_temp.rid(x.a), pg_temp.rid(x.b), 'connects_to', 0.5, jsonb_build_object('fix_cost', x.c))
		FROM (SELECT i, 1 + floor(random() * 25)::int AS a, 1 + floor(random() * 25)::int AS b,
					 1 + floor(random() * 4)::int AS c FROM generate_series(1, 70) i OFFSET 0) x
		ORDER BY x.i;
		src := ARRAY[pg_temp.rid(1), pg_temp.rid(2)];
		dst := ARRAY[pg_temp.rid(24), pg_temp.rid(25)];
		CREATE TEMP TABLE a1 AS SELECT * FROM correlate.min_cut(src, dst, 'fix_cost');
		CREATE TEMP TABLE a2 AS SELECT * FROM correlate.min_cut(src, dst, 'unit');
		SET LOCAL correlate.graph_cut_search_budget = 0;
		SELECT count(*) INTO bad FROM (
			(SELECT * FROM a1 EXCEPT SELECT * FROM correlate.min_cut(src, dst, 'fix_cost'))
			UNION ALL (SELECT * FROM correlate.min_cut(src, dst, 'fix_cost') EXCEPT SELECT * FROM a1)
			UNION ALL (SELECT * FROM a2 EXCEPT SELECT * FROM correlate.min_cut(src, dst, 'unit'))
			UNION ALL (SELECT * FROM correlate.min_cut(src, dst, 'unit') EXCEPT SELECT * FROM a2)) d;
		RESET correlate.graph_cut_search_budget;
		SELECT count(*) INTO cnt FROM a1;
		DELETE FROM correlate.relationship WHERE id IN (SELECT relationship_id FROM a1);
		SELECT bool_or(correlate.reachable(x, y)) INTO conn FROM unnest(src) x, unnest(dst) y;
		DROP TABLE a1, a2;
		graphs := graphs + 1;
		cut_rows := cut_rows + cnt;
		mismatches := mismatches + bad;
		still_connected := still_connected + conn::int;
	END LOOP;
	RETURN NEXT;
END
$$;
SELECT graphs, cut_rows > 0 AS cut_something, mismatches, still_connected FROM pg_temp.compare_cuts(30);
DELETE FROM correlate.resource WHERE uid LIKE 'rnd://%';

-- Bad input.
SELECT * FROM correlate.min_cut(cost => 'cheapest');
SELECT * FROM correlate.min_cut(cost => NULL);
SELECT * FROM correlate.min_node_cut(ARRAY[]::bigint[]);
SELECT * FROM correlate.min_cut(targets => ARRAY[123456789]);
SELECT * FROM correlate.chokepoints(k => 0);
SELECT * FROM correlate.chokepoints(ARRAY[NULL]::bigint[]);

DROP EXTENSION correlate CASCADE;
