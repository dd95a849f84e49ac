-- The graph change log records the tenants a statement really wrote (read from
-- the statement's transition tables), not the correlate.tenant setting at the
-- end of the statement: a writer that switches the setting inside the statement
-- must not leave its own tenant's cached snapshots stale (issue 16, finding 2).
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
-- the engine on the relationships as stored (the attack layer would need derivation)
SET correlate.graph_layer = facts;

CREATE FUNCTION pg_temp.node(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.upsert_resource('test://' || name, 'k8s:pod', name => name) $$;
CREATE FUNCTION pg_temp.r(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.uid = 'test://' || $1 $$;
CREATE FUNCTION pg_temp.edge(a text, b text) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.link(pg_temp.r(a), pg_temp.r(b), 'connects_to', 0.5) $$;
CREATE FUNCTION pg_temp.reach(a text) RETURNS text
LANGUAGE sql AS $$
	SELECT string_agg(r.name, ',' ORDER BY r.name)
	FROM correlate.blast_radius(ARRAY[pg_temp.r(a)]) b JOIN correlate.resource r ON r.id = b.resource_id
$$;

CREATE ROLE graph_change_tenant_writer IN ROLE correlate_writer;
SELECT correlate.grant_tenant('acme', 'graph_change_tenant_writer');
SET ROLE graph_change_tenant_writer;
SET correlate.tenant = 'acme';
SELECT pg_temp.node('a') > 0, pg_temp.node('b') > 0, pg_temp.node('c') > 0, pg_temp.node('d') > 0;
SELECT pg_temp.edge('a', 'b') > 0, pg_temp.edge('b', 'c') > 0, pg_temp.edge('c', 'd') > 0;
SELECT pg_temp.r('a') AS a, pg_temp.r('c') AS c, pg_temp.r('d') AS d \gset
SELECT pg_temp.reach('a');
SELECT tenant, is_current FROM correlate.graph_stats();

-- DELETE, then switch the setting to another tenant within the same statement.
WITH d AS (DELETE FROM correlate.relationship WHERE src = :c RETURNING 1)
SELECT set_config('correlate.tenant', 'default', false) FROM d;
SET correlate.tenant = 'acme';
SELECT tenant, is_current FROM correlate.graph_stats();
SELECT pg_temp.reach('a');
SELECT tenant, is_current FROM correlate.graph_stats();

-- The same with INSERT and UPDATE.
WITH i AS (INSERT INTO correlate.relationship (src, dst, kind, likelihood)
		   VALUES (:c, :d, 'connects_to', 0.5) RETURNING 1)
SELECT set_config('correlate.tenant', 'default', false) FROM i;
SET correlate.tenant = 'acme';
SELECT tenant, is_current FROM correlate.graph_stats();
SELECT pg_temp.reach('a');
WITH u AS (UPDATE correlate.relationship SET dst = :a WHERE src = :a RETURNING 1)
SELECT set_config('correlate.tenant', 'default', false) FROM u;
SET correlate.tenant = 'acme';
SELECT tenant, is_current FROM correlate.graph_stats();
SELECT pg_temp.reach('a');

-- A resource delete whose relationships go by cascade.
SELECT pg_temp.reach('a');
WITH d AS (DELETE FROM correlate.resource WHERE uid = 'test://a' RETURNING 1)
SELECT set_config('correlate.tenant', 'default', false) FROM d;
SET correlate.tenant = 'acme';
SELECT tenant, is_current FROM correlate.graph_stats();
SELECT count(*) FROM correlate.relationship;

-- A statement that writes no row changes nothing.
SELECT pg_temp.reach('b');
DELETE FROM correlate.relationship WHERE false;
SELECT tenant, is_current FROM correlate.graph_stats();
RESET correlate.tenant;
RESET ROLE;

-- Only acme was logged: the tenant the switched setting named was not written.
SELECT tenant, count(*) > 0 AS logged FROM correlate.graph_change GROUP BY 1 ORDER BY 1;

-- A writer that bypasses row level security (here the superuser) logs each
-- tenant it wrote, old and new tenant of a moved row included.
TRUNCATE correlate.graph_change;
INSERT INTO correlate.resource (tenant, uid, kind, domain)
VALUES ('t1', 'test://x', 'k8s:pod', 'workload'), ('t2', 'test://y', 'k8s:pod', 'workload');
SELECT tenant FROM correlate.graph_change ORDER BY 1;
TRUNCATE correlate.graph_change;
UPDATE correlate.resource SET tenant = 't3' WHERE uid = 'test://x';
SELECT tenant FROM correlate.graph_change ORDER BY 1;
-- TRUNCATE may have removed any tenant's rows: it logs ''.
TRUNCATE correlate.graph_change;
TRUNCATE correlate.relationship;
SELECT tenant FROM correlate.graph_change ORDER BY 1;

DROP EXTENSION correlate CASCADE;
DROP ROLE graph_change_tenant_writer;
