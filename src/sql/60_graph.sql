-- 60_graph.sql: the graph engine (src/graph/).  A compact CSR snapshot of the
-- tenant's resources and relationships, cached per backend, and the functions
-- that run on it: attack paths, blast radius, exposure, reachability,
-- chokepoints and minimum cuts.
--
-- The cache stays exact through correlate.graph_change, an insert-only log with
-- one row per (writing transaction, tenant) written by statement triggers on
-- resource and relationship; src/graph/graph_cache.c explains the design.  The
-- log is internal: no role but the owner reads or writes it (the trigger
-- inserts as the owner), and it is not user data, so it is not dumped.

CREATE TABLE correlate.graph_change (
	tenant text NOT NULL,
	xid    xid8 NOT NULL
);
CREATE INDEX graph_change_tenant_xid_idx ON correlate.graph_change (tenant, xid);
ALTER TABLE correlate.graph_change ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE correlate.graph_change IS 'Internal: which transactions changed which tenant''s graph, so cached graph snapshots know when to rebuild.';
COMMENT ON COLUMN correlate.graph_change.tenant IS 'Tenant whose resources or relationships changed (read from the written rows); '''' when any tenant may have (TRUNCATE, graph_prune_changes).';
COMMENT ON COLUMN correlate.graph_change.xid IS 'Top-level transaction that made the change.';

CREATE FUNCTION correlate._graph_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'correlate_graph_changed' LANGUAGE C;
COMMENT ON FUNCTION correlate._graph_changed() IS 'Internal: statement trigger that logs, per tenant the statement wrote (from its transition tables), a graph change of the writing transaction.';

-- One trigger per event: only a single-event trigger can have transition
-- tables, and the tenants written are read from them (never from the
-- correlate.tenant setting, which a statement can change before its AFTER
-- triggers fire).  TRUNCATE logs '' (any tenant).
CREATE TRIGGER graph_changed_insert AFTER INSERT ON correlate.resource
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_update AFTER UPDATE ON correlate.resource
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_delete AFTER DELETE ON correlate.resource
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_truncate AFTER TRUNCATE ON correlate.resource
	FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_insert AFTER INSERT ON correlate.relationship
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_update AFTER UPDATE ON correlate.relationship
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_delete AFTER DELETE ON correlate.relationship
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_truncate AFTER TRUNCATE ON correlate.relationship
	FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
-- Fire also under session_replication_role = replica (bulk loads that skip other triggers).
ALTER TABLE correlate.resource ENABLE ALWAYS TRIGGER graph_changed_insert, ENABLE ALWAYS TRIGGER graph_changed_update,
	ENABLE ALWAYS TRIGGER graph_changed_delete, ENABLE ALWAYS TRIGGER graph_changed_truncate;
ALTER TABLE correlate.relationship ENABLE ALWAYS TRIGGER graph_changed_insert, ENABLE ALWAYS TRIGGER graph_changed_update,
	ENABLE ALWAYS TRIGGER graph_changed_delete, ENABLE ALWAYS TRIGGER graph_changed_truncate;

CREATE FUNCTION correlate.graph_prune_changes() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
	n bigint;
BEGIN
	-- Rows below the oldest running transaction are never consulted by a
	-- snapshot built from now on; the '' row makes older snapshots rebuild.
	DELETE FROM correlate.graph_change c WHERE c.xid < horizon;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO correlate.graph_change (tenant, xid) VALUES ('', pg_current_xact_id());
	RETURN n;
END
$$;
COMMENT ON FUNCTION correlate.graph_prune_changes()
	IS 'Deletes graph change-log rows no snapshot needs any more (run it daily, e.g. from pg_cron); every backend rebuilds its cached graph once afterwards. Returns the rows deleted.';

CREATE FUNCTION correlate.graph_stats()
RETURNS TABLE (tenant text, nodes bigint, edges bigint, memory_bytes bigint, build_ms float8,
			   version bigint, is_current boolean, hits bigint, rebuilds bigint, skipped_edges bigint)
AS 'MODULE_PATHNAME', 'correlate_graph_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 1;
COMMENT ON FUNCTION correlate.graph_stats()
	IS 'This backend''s cached graph snapshot of the current tenant (NULLs when none): size, memory, build time, version (newest change xid it includes), whether it is still current, and the backend''s cache hits and rebuilds.';

CREATE FUNCTION correlate.graph_shared_stats()
RETURNS TABLE (tenant text, state text, layer text, version bigint, nodes bigint, edges bigint,
			   memory_bytes bigint, backends integer, attached_here boolean, build_ms float8, built_by integer)
AS 'MODULE_PATHNAME', 'correlate_graph_shared_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 4;
COMMENT ON FUNCTION correlate.graph_shared_stats()
	IS 'The graph snapshots shared by all backends (correlate in shared_preload_libraries) for the current tenant in this database: state (building or ready), layer, version, size, how many backends hold it and whether this one does, and the process id of the backend that built it; no rows without the preload or with correlate.graph_shared_memory = 0 and nothing shared.';

CREATE FUNCTION correlate.graph_reset() RETURNS void
AS 'MODULE_PATHNAME', 'correlate_graph_reset' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION correlate.graph_reset() IS 'Frees this backend''s cached graph snapshot; the next graph query rebuilds it.';

CREATE FUNCTION correlate.blast_radius(sources bigint[], max_hops integer DEFAULT NULL, kinds text[] DEFAULT NULL,
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (resource_id bigint, hops integer, likelihood float8, via bigint)
AS 'MODULE_PATHNAME', 'correlate_blast_radius' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION correlate.blast_radius(bigint[], integer, text[], jsonb)
	IS 'Every resource reachable from the sources (within max_hops, following only kinds: techniques on the attack layer), with the likelihood and hops of its most likely path and the resource before it on that path; the sources themselves have hops 0. what_if: answer as if the hypothetical changes were made (docs/attack.md).';

CREATE FUNCTION correlate.exposure(targets bigint[], max_hops integer DEFAULT NULL, kinds text[] DEFAULT NULL,
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (resource_id bigint, hops integer, likelihood float8, via bigint)
AS 'MODULE_PATHNAME', 'correlate_exposure' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION correlate.exposure(bigint[], integer, text[], jsonb)
	IS 'Every resource that can reach the targets (blast_radius in reverse): likelihood and hops of its most likely path to a target, and the next resource on that path; what_if as for blast_radius.';

CREATE FUNCTION correlate.reachable(source bigint, target bigint, max_hops integer DEFAULT NULL,
	what_if jsonb DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'correlate_reachable' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION correlate.reachable(bigint, bigint, integer, jsonb)
	IS 'Whether target can be reached from source in at most max_hops hops (NULL: any number); a resource reaches itself.';

GRANT EXECUTE ON FUNCTION correlate.graph_stats(), correlate.graph_shared_stats(), correlate.graph_reset(),
	correlate.blast_radius(bigint[], integer, text[], jsonb), correlate.exposure(bigint[], integer, text[], jsonb),
	correlate.reachable(bigint, bigint, integer, jsonb)
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.graph_prune_changes() TO correlate_admin;

CREATE FUNCTION correlate.attack_paths(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL,
	k integer DEFAULT 10, max_hops integer DEFAULT 8, kinds text[] DEFAULT NULL, what_if jsonb DEFAULT NULL)
RETURNS TABLE (path_rank integer, hop integer, resource_id bigint, relationship_id bigint,
			   likelihood float8, path_likelihood float8)
AS 'MODULE_PATHNAME', 'correlate_attack_paths' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 50;
COMMENT ON FUNCTION correlate.attack_paths(bigint[], bigint[], integer, integer, text[], jsonb)
	IS 'The k most likely simple paths (at most max_hops edges, following only kinds) from any source (default: the internet resource) to any target (default: crown jewels), most likely first; one row per hop, hop 0 being the source; relationship_id is the attack edge (or, on the facts layer, the relationship). what_if: as if the hypothetical changes were made.';

CREATE FUNCTION correlate.chokepoints(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL, k integer DEFAULT 10,
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (resource_id bigint, relationship_id bigint, paths_through bigint, likelihood_share float8)
AS 'MODULE_PATHNAME', 'correlate_chokepoints' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 20;
COMMENT ON FUNCTION correlate.chokepoints(bigint[], bigint[], integer, jsonb)
	IS 'Where the k most likely attack paths (at most 8 hops) converge: up to k resources and k edges, each with the number of those paths through it and its share of their likelihood (relationship_id NULL for a resource row, resource_id NULL for an edge row); what_if as for attack_paths.';

CREATE FUNCTION correlate.min_cut(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL, cost text DEFAULT 'unit',
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (relationship_id bigint, src bigint, dst bigint, cost float8)
AS 'MODULE_PATHNAME', 'correlate_min_cut' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION correlate.min_cut(bigint[], bigint[], text, jsonb)
	IS 'A minimum-cost set of edges whose removal disconnects every source (default: the internet resource) from every target (default: crown jewels); cost ''unit'' or ''fix_cost'' (an attack edge''s because->>''fix_cost'', a relationship''s props->>''fix_cost'', default 1); what_if as for attack_paths.';

CREATE FUNCTION correlate.min_node_cut(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL, cost text DEFAULT 'unit',
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (resource_id bigint, cost float8)
AS 'MODULE_PATHNAME', 'correlate_min_node_cut' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION correlate.min_node_cut(bigint[], bigint[], text, jsonb)
	IS 'A minimum-cost set of resources (never a source or target) whose removal (patching or isolating them) disconnects every source from every target; cost ''unit'' or ''fix_cost'' (the resource''s props->>''fix_cost'', default 1).';

GRANT EXECUTE ON FUNCTION correlate.attack_paths(bigint[], bigint[], integer, integer, text[], jsonb),
	correlate.chokepoints(bigint[], bigint[], integer, jsonb),
	correlate.min_cut(bigint[], bigint[], text, jsonb), correlate.min_node_cut(bigint[], bigint[], text, jsonb)
	TO correlate_reader;
