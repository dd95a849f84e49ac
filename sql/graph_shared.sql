-- The snapshot shared by all backends (correlate in shared_preload_libraries, as
-- scripts/test.sh starts the server; expected/graph_shared_1.out is the same test
-- without the preload, where nothing is shared).  Several backends, cancellation
-- and the ceiling are in test/t/graph_shared.sh.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
SET correlate.graph_layer = facts;

-- The ceiling is a server setting: not settable in a session, and never negative.
SHOW correlate.graph_shared_memory;
SET correlate.graph_shared_memory = '1GB';
ALTER SYSTEM SET correlate.graph_shared_memory = -1;
ALTER SYSTEM SET correlate.graph_shared_memory = 'lots';

CREATE FUNCTION pg_temp.node(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.upsert_resource('test://' || name, 'k8s:pod', name => name) $$;
CREATE FUNCTION pg_temp.r(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'test://' || $1 $$;
CREATE FUNCTION pg_temp.reach(a text) RETURNS text
LANGUAGE sql AS $$
	SELECT string_agg(r.name, ',' ORDER BY r.name)
	FROM correlate.blast_radius(ARRAY[pg_temp.r(a)]) b JOIN correlate.resource r ON r.id = b.resource_id
$$;
SELECT count(pg_temp.node(x)) FROM unnest(ARRAY['a', 'b', 'c']) x;
SELECT correlate.link(pg_temp.r('a'), pg_temp.r('b'), 'connects_to', 0.5) > 0 AS linked;

-- The first query publishes the snapshot; this backend holds it.
SELECT pg_temp.reach('a');
SELECT state, layer, nodes, edges, backends, attached_here, built_by = pg_backend_pid() AS built_here,
	   memory_bytes > 0 AS has_bytes
FROM correlate.graph_shared_stats();
SELECT nodes, edges, is_current FROM correlate.graph_stats();

-- Own uncommitted changes: a private build that sees them; the shared entry stays as it was.
BEGIN;
SELECT correlate.link(pg_temp.r('b'), pg_temp.r('c'), 'connects_to', 0.5) > 0 AS linked;
SELECT pg_temp.reach('a');
SELECT state, nodes, edges, backends, attached_here FROM correlate.graph_shared_stats();
ROLLBACK;
SELECT pg_temp.reach('a');
SELECT state, nodes, edges, backends, attached_here FROM correlate.graph_shared_stats();

-- A committed change: a new version replaces the old one, which nobody holds any more.
SELECT correlate.link(pg_temp.r('b'), pg_temp.r('c'), 'connects_to', 0.5) > 0 AS linked;
SELECT pg_temp.reach('a');
SELECT state, nodes, edges, backends, attached_here FROM correlate.graph_shared_stats();

-- graph_reset() lets go of it; the idle entry stays for the next backend.
SELECT correlate.graph_reset();
SELECT state, nodes, edges, backends, attached_here FROM correlate.graph_shared_stats();
SELECT pg_temp.reach('a');
SELECT state, backends, attached_here FROM correlate.graph_shared_stats();

-- Each layer has its own entry.
SET correlate.graph_layer = attack;
SELECT count(*) FROM correlate.blast_radius(ARRAY[pg_temp.r('a')]);
SELECT layer, state, backends, attached_here FROM correlate.graph_shared_stats() ORDER BY layer;
SET correlate.graph_layer = facts;

-- Another tenant's entries are not listed; a role without a grant for the tenant sees an error.
SET correlate.tenant = 'shared_other';
SELECT count(*) FROM correlate.graph_shared_stats();
RESET correlate.tenant;
CREATE ROLE graph_shared_outsider;
GRANT correlate_reader TO graph_shared_outsider;
SET ROLE graph_shared_outsider;
SELECT count(*) FROM correlate.graph_shared_stats();
RESET ROLE;
DROP ROLE graph_shared_outsider;
