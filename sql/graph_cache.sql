-- The per-backend snapshot cache: hits and rebuilds across statements, the
-- transaction's own uncommitted changes, rollback and savepoints, tenant
-- isolation, the change log and its pruning, privileges and the memory cap.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
-- The graph engine on the fact graph as stored (the attack graph has its own tests).
SET correlate.graph_layer = facts;

CREATE FUNCTION pg_temp.node(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.upsert_resource('test://' || name, 'k8s:pod', name => name) $$;
CREATE FUNCTION pg_temp.r(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'test://' || $1 $$;
CREATE FUNCTION pg_temp.edge(a text, b text, l float8 DEFAULT 0.5) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.link(pg_temp.r(a), pg_temp.r(b), 'connects_to', l) $$;
CREATE FUNCTION pg_temp.reach(a text) RETURNS text
LANGUAGE sql AS $$
	SELECT string_agg(r.name, ',' ORDER BY r.name)
	FROM correlate.blast_radius(ARRAY[pg_temp.r(a)]) b JOIN correlate.resource r ON r.id = b.resource_id
$$;
CREATE TEMP TABLE counters AS SELECT hits, rebuilds FROM correlate.graph_stats();
-- Hits and rebuilds since the last call.
CREATE FUNCTION pg_temp.delta() RETURNS TABLE (hits bigint, rebuilds bigint, is_current boolean)
LANGUAGE plpgsql AS $$
DECLARE
	s record;
BEGIN
	SELECT * INTO s FROM correlate.graph_stats();
	SELECT s.hits - c.hits, s.rebuilds - c.rebuilds, s.is_current INTO hits, rebuilds, is_current FROM counters c;
	UPDATE counters SET hits = s.hits, rebuilds = s.rebuilds;
	RETURN NEXT;
END
$$;

SELECT pg_temp.node('a'), pg_temp.node('b'), pg_temp.node('c');
SELECT pg_temp.edge('a', 'b');
SELECT * FROM pg_temp.delta();

-- The first query builds, the next ones reuse.
SELECT pg_temp.reach('a');
SELECT * FROM pg_temp.delta();
SELECT pg_temp.reach('a'), pg_temp.reach('b');
SELECT correlate.reachable(pg_temp.r('a'), pg_temp.r('b'));
SELECT * FROM pg_temp.delta();

-- A change (any statement on resource or relationship) makes the next query rebuild.
SELECT pg_temp.edge('b', 'c');
SELECT is_current FROM correlate.graph_stats();
SELECT pg_temp.reach('a');
SELECT * FROM pg_temp.delta();

-- Own uncommitted changes are seen at once; rollback leaves nothing stale.
BEGIN;
DELETE FROM correlate.relationship WHERE src = pg_temp.r('b');
SELECT pg_temp.reach('a');
SELECT pg_temp.reach('a');
SELECT * FROM pg_temp.delta();
ROLLBACK;
SELECT pg_temp.reach('a');
SELECT * FROM pg_temp.delta();

-- A rolled-back savepoint takes its changes away from the snapshot too.
BEGIN;
SELECT pg_temp.node('d');
SELECT pg_temp.edge('c', 'd');
SELECT pg_temp.reach('a');
SAVEPOINT s1;
DELETE FROM correlate.relationship WHERE src = pg_temp.r('a');
SELECT pg_temp.reach('a');
ROLLBACK TO SAVEPOINT s1;
SELECT pg_temp.reach('a');
COMMIT;
SELECT pg_temp.reach('a');

-- A change committed by an earlier transaction of this backend is seen.
BEGIN;
SELECT pg_temp.reach('a');
SELECT pg_temp.node('e');
SELECT pg_temp.edge('d', 'e');
COMMIT;
SELECT pg_temp.reach('a');

-- graph_reset() frees the snapshot; the next query rebuilds it.
SELECT correlate.graph_reset();
SELECT nodes, edges, is_current FROM correlate.graph_stats();
SELECT pg_temp.reach('a');
SELECT nodes, edges, is_current FROM correlate.graph_stats();
SELECT * FROM pg_temp.delta();

-- Tenants: each tenant has its own graph; ids of another tenant are unknown.
SELECT correlate.grant_tenant('acme', 'correlate_reader');
CREATE ROLE graph_cache_user LOGIN;
GRANT correlate_writer TO graph_cache_user;
SELECT correlate.grant_tenant('default', 'graph_cache_user');
SET ROLE graph_cache_user;
SET correlate.tenant = 'acme';
SELECT pg_temp.node('a') AS acme_a, pg_temp.node('z') AS acme_z;
SELECT pg_temp.edge('a', 'z', 0.9);
SELECT pg_temp.reach('a') AS acme_reach;
SELECT tenant, nodes, edges FROM correlate.graph_stats();
SELECT * FROM correlate.blast_radius(ARRAY[1]);  -- resource a of tenant default
RESET correlate.tenant;
SELECT pg_temp.reach('a') AS default_reach;
SELECT tenant, nodes, edges FROM correlate.graph_stats();
-- A tenant the role has no grant for is refused before any graph work.
SET correlate.tenant = 'globex';
SELECT * FROM correlate.blast_radius(ARRAY[1]);
RESET correlate.tenant;
RESET ROLE;
-- The change log names the tenants written, whoever wrote them (the rows here
-- were written by graph_cache_user in acme and by the superuser in default).
SELECT DISTINCT tenant FROM correlate.graph_change ORDER BY 1;
-- A role outside correlate_reader cannot call the graph functions at all.
CREATE ROLE graph_cache_outsider;
SET ROLE graph_cache_outsider;
SELECT * FROM correlate.blast_radius(ARRAY[1]);
SELECT * FROM correlate.graph_change;
RESET ROLE;
DROP ROLE graph_cache_outsider;

-- Pruning keeps the log short; every cached snapshot rebuilds once afterwards.
SELECT pg_temp.reach('a');
SELECT * FROM pg_temp.delta();
-- Every logged change is older than any running transaction: all go, one marker stays.
SELECT count(*) AS logged FROM correlate.graph_change;
SELECT correlate.graph_prune_changes() AS pruned;
SELECT tenant, count(*) FROM correlate.graph_change GROUP BY tenant;
SELECT correlate.graph_prune_changes() AS pruned_again;
SELECT pg_temp.reach('a');
SELECT * FROM pg_temp.delta();
SELECT pg_temp.reach('a');
SELECT * FROM pg_temp.delta();
-- TRUNCATE is a change for every tenant.
TRUNCATE correlate.relationship;
SELECT pg_temp.reach('a');
SELECT * FROM pg_temp.delta();

-- The memory cap: a snapshot that would not fit is refused with its size.
SET correlate.graph_max_memory = '1MB';
INSERT INTO correlate.resource (uid, kind, domain) SELECT 'big://' || g, 'k8s:pod', 'workload' FROM generate_series(1, 30000) g;
INSERT INTO correlate.relationship (src, dst, kind, likelihood)
SELECT r.id, r2.id, 'connects_to', 0.5 FROM correlate.resource r JOIN correlate.resource r2 ON r2.id = r.id + 1
WHERE r.uid LIKE 'big://%' AND r2.uid LIKE 'big://%';
SELECT count(*) FROM correlate.blast_radius(ARRAY[pg_temp.r('a')]);
RESET correlate.graph_max_memory;
SELECT count(*) FROM correlate.blast_radius(ARRAY[pg_temp.r('a')]);

DROP EXTENSION correlate CASCADE;
DROP ROLE graph_cache_user;
