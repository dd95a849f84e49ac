#!/usr/bin/env bash
# The graph snapshot shared by all backends (docs/graph-performance.md, "One snapshot for
# all backends"), on a generated estate of SHARED_N resources (default 20000, about 9
# relationships each), with correlate in shared_preload_libraries as scripts/test.sh sets it:
#   1. a second backend attaches the snapshot the first one built, and answers the same;
#   2. a backend with uncommitted graph changes of its own sees them (a private build) while
#      the others keep the shared snapshot; after its rollback it attaches again;
#   3. a committed change: the next query builds a new version once, the others attach it,
#      and the old version is freed when its last holder moves on;
#   4. a build cancelled by statement_timeout, and a builder terminated, leave no entry; two
#      backends that need the same new version at once build it once;
#   5. the ceiling correlate.graph_shared_memory: a snapshot above it stays private, and
#      idle snapshots are evicted (least recently used) to make room;
#   6. without the preload, every backend builds its own snapshot, as before, with the
#      same answers (the server is restarted without correlate preloaded, then restored).
# Other backends are opened with dblink; every check is an assertion in SQL.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
N=${SHARED_N:-20000}
db=corr_graph_shared
restore() {
	psql -X -q -d postgres -c 'ALTER SYSTEM RESET shared_preload_libraries' -c 'ALTER SYSTEM RESET correlate.graph_shared_memory' \
		>/dev/null 2>&1 || true
	if [ -n "${RESTART_NEEDED:-}" ]; then
		pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" restart >/dev/null 2>&1 || true
	else
		psql -X -q -d postgres -c 'SELECT pg_reload_conf()' >/dev/null 2>&1 || true
	fi
	dropdb --if-exists $db >/dev/null 2>&1 || true
}
trap restore EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }

dropdb --if-exists $db
createdb $db
preload=$(q -c 'SHOW shared_preload_libraries')
[[ $preload == *correlate* ]] || { echo "FAIL: correlate is not in shared_preload_libraries ($preload)"; exit 1; }
q -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION correlate' -c 'CREATE EXTENSION dblink' >/dev/null
q -v n="$N" -v seed=0.42 -f test/bench/gen_estate.sql >/dev/null
q >/dev/null <<SQL
ALTER DATABASE $db SET correlate.graph_layer = facts;
CREATE FUNCTION public.t_assert(ok boolean, what text) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
	IF ok IS NOT TRUE THEN RAISE EXCEPTION 'assertion failed: %', what; END IF;
	RAISE NOTICE 'ok: %', what;
END
\$\$;
-- the answer compared across backends: every resource reachable from the internet, with hops and likelihood
CREATE FUNCTION public.t_answer() RETURNS text LANGUAGE sql AS \$\$
	SELECT count(*) || ':' || md5(string_agg(resource_id || ':' || hops || ':' || round(likelihood::numeric, 9), ',' ORDER BY resource_id))
	FROM correlate.blast_radius(ARRAY[1::bigint])
\$\$;
-- a connection string for dblink to this cluster
CREATE FUNCTION public.t_conn() RETURNS text LANGUAGE sql AS \$\$
	SELECT format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
				  split_part(current_setting('unix_socket_directories'), ',', 1))
\$\$;
-- the facts entries of the default tenant: state, holders, built_by
CREATE VIEW public.t_shared AS SELECT * FROM correlate.graph_shared_stats() WHERE layer IS DISTINCT FROM 'attack';
SQL

echo "== 1-3: attach, own uncommitted changes, a committed change"
q <<'SQL'
\set ON_ERROR_STOP on
SET client_min_messages = notice;
SELECT dblink_connect('a', t_conn());
CREATE TEMP TABLE t AS SELECT * FROM dblink('a', 'SELECT pg_backend_pid(), public.t_answer()') AS x(pid int, answer text);
SELECT t_assert((SELECT count(*) FROM t_shared) = 1, 'one shared entry after the first build');
SELECT t_assert((SELECT built_by = (SELECT pid FROM t) AND backends = 1 AND NOT attached_here AND state = 'ready' FROM t_shared),
	'built by backend a, held by it alone');
-- this backend's first query attaches it
CREATE TEMP TABLE t_first AS SELECT clock_timestamp() AS t0, public.t_answer() AS answer, clock_timestamp() AS t1;
SELECT t_assert((SELECT answer FROM t_first) = (SELECT answer FROM t), 'the second backend answers the same');
SELECT t_assert((SELECT built_by = (SELECT pid FROM t) AND backends = 2 AND attached_here FROM t_shared),
	'the second backend attached the first one''s snapshot');
SELECT t_assert((SELECT is_current AND rebuilds = 1 FROM correlate.graph_stats()), 'graph_stats counts the attach as the one cache fill');
SELECT round(extract(epoch FROM t1 - t0) * 1000, 1) AS attach_query_ms FROM t_first;

-- 2. own uncommitted changes are seen privately; the other backend keeps the shared snapshot
BEGIN;
SELECT correlate.link(1, correlate.upsert_resource('test://shared-new', 'k8s:pod', name => 'shared-new'), 'exposes', 0.5) > 0 AS linked \gset
SELECT t_assert(public.t_answer() <> (SELECT answer FROM t), 'own uncommitted change seen');
SELECT t_assert(split_part(public.t_answer(), ':', 1)::int = split_part((SELECT answer FROM t), ':', 1)::int + 1, 'exactly one more resource reached');
SELECT t_assert((SELECT NOT attached_here AND backends = 1 FROM t_shared), 'the private build released the shared snapshot');
SELECT t_assert((SELECT answer FROM dblink('a', 'SELECT public.t_answer()') AS x(answer text)) = (SELECT answer FROM t),
	'the other backend does not see the uncommitted change');
SELECT t_assert((SELECT count(*) FROM t_shared) = 1, 'the private build published nothing');
ROLLBACK;
SELECT t_assert(public.t_answer() = (SELECT answer FROM t), 'after the rollback the change is gone');
SELECT t_assert((SELECT attached_here AND backends = 2 FROM t_shared), 'and the shared snapshot is attached again');

-- 3. a committed change: backend a builds the new version, this one attaches it, the old one is freed
SELECT correlate.link(1, correlate.upsert_resource('test://shared-new', 'k8s:pod', name => 'shared-new'), 'exposes', 0.5) > 0 AS linked \gset
SELECT answer AS new_answer FROM dblink('a', 'SELECT public.t_answer()') AS x(answer text) \gset
SELECT t_assert(split_part(:'new_answer', ':', 1)::int = split_part((SELECT answer FROM t), ':', 1)::int + 1, 'backend a sees the committed change');
SELECT t_assert((SELECT count(*) FROM t_shared) = 2, 'two versions while this backend still holds the old one');
SELECT t_assert(public.t_answer() = :'new_answer', 'this backend answers the same as a');
SELECT t_assert((SELECT count(*) FROM t_shared) = 1, 'the old version was freed when its last holder moved on');
SELECT t_assert((SELECT built_by = (SELECT pid FROM t) AND backends = 2 AND attached_here FROM t_shared), 'the new version built once, by a');
SELECT dblink_disconnect('a');
SQL

echo "== 4: a cancelled build and a terminated builder leave no entry"
q <<'SQL'
\set ON_ERROR_STOP on
SET client_min_messages = notice;
-- a committed change makes the next query build
SELECT correlate.link(1, correlate.upsert_resource('test://shared-new2', 'k8s:pod', name => 'shared-new2'), 'exposes', 0.5) > 0 AS linked \gset
\set ON_ERROR_STOP off
SET statement_timeout = '30ms';
SELECT public.t_answer();
RESET statement_timeout;
\set ON_ERROR_STOP on
SELECT t_assert((SELECT count(*) FROM t_shared WHERE state = 'building') = 0, 'no entry left building after a cancel');
-- a builder terminated while it builds
SELECT correlate.link(1, correlate.upsert_resource('test://shared-new3', 'k8s:pod', name => 'shared-new3'), 'exposes', 0.5) > 0 AS linked \gset
SELECT dblink_connect('b', t_conn());
SELECT pid AS bpid FROM dblink('b', 'SELECT pg_backend_pid()') AS x(pid int) \gset
SELECT dblink_send_query('b', 'SELECT public.t_answer()');
SELECT pg_sleep(0.02);
SELECT pg_terminate_backend(:bpid);
SELECT pg_sleep(0.5);
SELECT t_assert((SELECT count(*) FROM t_shared WHERE state = 'building') = 0, 'no entry left building by a terminated builder');
SELECT t_assert((SELECT count(*) FROM t_shared WHERE built_by = :bpid AND backends > 0) = 0, 'a terminated backend holds nothing');
SELECT t_assert(split_part(public.t_answer(), ':', 1)::int > 0, 'the next query works');
SELECT t_assert((SELECT count(*) FROM t_shared WHERE state = 'ready' AND attached_here) = 1, 'and shares its snapshot');
-- two backends that need a new version at the same time build it once (one waits for the other)
SELECT correlate.link(1, correlate.upsert_resource('test://shared-new5', 'k8s:pod', name => 'shared-new5'), 'exposes', 0.5) > 0 AS linked \gset
SELECT dblink_connect('c', t_conn());
SELECT dblink_send_query('c', 'SELECT public.t_answer()');
SELECT answer AS mine FROM (SELECT public.t_answer() AS answer) x \gset
SELECT t_assert((SELECT answer FROM dblink_get_result('c') AS x(answer text)) = :'mine', 'both answer the same');
SELECT t_assert((SELECT count(*) FROM t_shared) = 1 AND (SELECT backends = 2 AND attached_here FROM t_shared),
	'one build for both: one entry, held by both');
SELECT dblink_disconnect('c');
SQL

echo "== 5: the ceiling"
mem=$(q -c "SELECT memory_bytes FROM t_shared WHERE state = 'ready'")
q -c "ALTER SYSTEM SET correlate.graph_shared_memory = '64kB'" -c 'SELECT pg_reload_conf()' >/dev/null
sleep 1
q <<'SQL'
\set ON_ERROR_STOP on
SET client_min_messages = notice;
SELECT correlate.link(1, correlate.upsert_resource('test://shared-new4', 'k8s:pod', name => 'shared-new4'), 'exposes', 0.5) > 0 AS linked \gset
SELECT t_assert(split_part(public.t_answer(), ':', 1)::int > 0, 'a snapshot above the ceiling still answers');
SELECT t_assert((SELECT count(*) FROM t_shared WHERE attached_here) = 0, 'and stays private');
SELECT t_assert((SELECT count(*) FROM t_shared) = 1, 'the idle entry is kept while nothing needs its room');
SQL
# room for one facts snapshot and a half: publishing a new version evicts the idle old one
q -c "ALTER SYSTEM SET correlate.graph_shared_memory = '$(( mem * 3 / 2 / 1024 ))kB'" -c 'SELECT pg_reload_conf()' >/dev/null
sleep 1
q <<'SQL'
\set ON_ERROR_STOP on
SET client_min_messages = notice;
SELECT seq_old FROM (SELECT version AS seq_old FROM t_shared) s \gset
SELECT t_assert(split_part(public.t_answer(), ':', 1)::int > 0, 'the query under a ceiling for one snapshot works');
SELECT t_assert((SELECT count(*) FROM t_shared) = 1 AND (SELECT attached_here AND version > :seq_old FROM t_shared),
	'the idle old version was evicted to make room for the new one, which is shared');
SQL
q -c 'ALTER SYSTEM RESET correlate.graph_shared_memory' -c 'SELECT pg_reload_conf()' >/dev/null

echo "== 6: without the preload, private snapshots as before"
shared_answer=$(q -c 'SELECT public.t_answer()')
q -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_cron'" >/dev/null
RESTART_NEEDED=1
pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" restart
q <<SQL
\set ON_ERROR_STOP on
SET client_min_messages = notice;
SELECT t_assert(current_setting('shared_preload_libraries') NOT LIKE '%correlate%', 'correlate not preloaded');
SELECT dblink_connect('a', t_conn());
SELECT t_assert((SELECT answer FROM dblink('a', 'SELECT public.t_answer()') AS x(answer text)) = '$shared_answer', 'backend a answers as before');
SELECT t_assert(public.t_answer() = '$shared_answer', 'this backend answers the same');
SELECT t_assert((SELECT rebuilds = 1 AND is_current FROM correlate.graph_stats()), 'this backend built its own snapshot');
SELECT t_assert((SELECT count(*) FROM correlate.graph_shared_stats()) = 0, 'nothing is shared');
BEGIN;
SELECT correlate.link(1, correlate.upsert_resource('test://private-new', 'k8s:pod', name => 'private-new'), 'exposes', 0.5) > 0 AS linked \gset
SELECT t_assert(split_part(public.t_answer(), ':', 1)::int = split_part('$shared_answer', ':', 1)::int + 1, 'own uncommitted change seen');
ROLLBACK;
SELECT t_assert(public.t_answer() = '$shared_answer', 'gone after rollback');
SELECT dblink_disconnect('a');
SQL
q -c 'ALTER SYSTEM RESET shared_preload_libraries' >/dev/null
pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" restart
RESTART_NEEDED=
[[ $(q -c 'SHOW shared_preload_libraries') == *correlate* ]] || { echo "FAIL: preload not restored"; exit 1; }
echo "graph_shared: all checks passed"
