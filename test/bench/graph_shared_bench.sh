#!/usr/bin/env bash
# graph_shared_bench.sh: one graph snapshot shared by all backends (issue 14, target 3),
# against private snapshots, measured in one run.
#
#   test/bench/graph_shared_bench.sh N [REPS]      e.g. test/bench/graph_shared_bench.sh 100000
#
# Builds this tree into a private copy of PostgreSQL 15 (cluster.sh) with correlate in
# shared_preload_libraries, generates an estate of N resources (gen_estate.sql, about 9 N
# relationships; the facts layer), and prints:
#
#   memory held by 16 backends that each ran a graph query, shared  vs one snapshot  (target <= 1.2x)
#   memory held by P backends, private (correlate.graph_shared_memory = 0), for contrast
#   first graph query of a new backend, shared (an attach)   vs the same, private (a build)
#   that first query minus the backend's second (warm) query (page faults of the mapping
#   the query touches included), and the server's own time to get the snapshot (lookup,
#   mapping and validation; DEBUG1 from graph_acquire) against a private build (target < 10 ms);
#   each new backend first queries a one-resource tenant, so that loading catalogs, plpgsql
#   and the function is not counted as getting the snapshot
#
# Memory of a backend is the growth of its RssAnon (/proc/PID/status: private heap) from
# before its first graph query to after it, summed over the backends, plus (shared) the
# size of the shared segments, counted once; the builder gives its private build back
# (malloc_trim) after copying it into shared memory.  "One snapshot" is the growth of one
# private backend measured the same way (graph_stats().memory_bytes is printed too).
# Times are medians of REPS new backends (default 5), measured inside the server.
# Environment: KEEP=1 keeps the cluster, PORT picks its port, PRIVATE_BACKENDS (default 16,
# 2 when N > 200000: 16 private 1M snapshots take 5.5 GB), QUERY the graph query
# (default blast_radius from the internet within 2 hops).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
N=${1:?usage: graph_shared_bench.sh N [REPS]}
REPS=${2:-5}
BACKENDS=16
PRIV=${PRIVATE_BACKENDS:-$([ "$N" -gt 200000 ] && echo 2 || echo 16)}
QUERY=${QUERY:-SELECT count(*) FROM correlate.blast_radius(ARRAY[1::bigint], 2)}
PORT=${PORT:-$((57000 + $$ % 1000))}
DIR=$(mktemp -d /tmp/sharedbench.XXXXXX)
source "$HERE/cluster.sh"
trap bench_cluster_stop EXIT
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

log "private PostgreSQL in $DIR (port $PORT)"
bench_cluster_setup "$DIR" "$PORT"
cat >>"$DIR/data/postgresql.conf" <<EOF
shared_preload_libraries = 'correlate'
max_connections = 60
EOF
bench_run_as_owner "$BENCH_PG/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w restart >/dev/null

PSQL=(psql -X -q -At -v ON_ERROR_STOP=1 -d bench)
psql -X -q -d postgres -c "CREATE DATABASE bench"
"${PSQL[@]}" <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION correlate;
CREATE EXTENSION dblink;
ALTER DATABASE bench SET correlate.graph_layer = facts;
CREATE SCHEMA bench;
-- runs q (one output column), returns milliseconds
CREATE FUNCTION bench.run(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	res text;
BEGIN
	EXECUTE q INTO res;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
CREATE FUNCTION bench.conn() RETURNS text LANGUAGE sql AS $$
	SELECT format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
				  split_part(current_setting('unix_socket_directories'), ',', 1))
$$;
EOF
log "generating $N resources"
t0=$(date +%s)
"${PSQL[@]}" -v n="$N" -v seed=0.42 -f "$HERE/gen_estate.sql" >/dev/null
RELS=$("${PSQL[@]}" -c "SELECT count(*) FROM correlate.relationship")
WID=$("${PSQL[@]}" -c "SET correlate.tenant = 'warmup'" -c "SELECT correlate.upsert_resource('warmup://one', 'k8s:pod', name => 'one')")
log "generated in $(( $(date +%s) - t0 )) s: $RELS relationships"

set_ceiling() {   # set_ceiling VALUE: correlate.graph_shared_memory for every backend
	"${PSQL[@]}" -c "ALTER SYSTEM SET correlate.graph_shared_memory = '$1'" -c 'SELECT pg_reload_conf()' >/dev/null
	sleep 1
}
rss_anon() { awk '/^RssAnon:/ { print $2 * 1024 }' "/proc/$1/status"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } printf "%.3f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# held_memory K: K backends (dblink connections of one session) each run QUERY once and stay;
# prints "sum of RssAnon growth<TAB>shared segment bytes<TAB>sum of graph_stats().memory_bytes"
held_memory() {
	local k=$1 pids before after sum=0 shared mem1
	"${PSQL[@]}" -c "SELECT correlate.graph_reset()" >/dev/null
	coproc HOLD { "${PSQL[@]}" 2>&1; }
	for i in $(seq 1 "$k"); do
		echo "SELECT dblink_connect('c$i', bench.conn()); SELECT * FROM dblink('c$i', 'SELECT pg_backend_pid()') AS x(pid int);" >&"${HOLD[1]}"
		echo "SELECT * FROM dblink('c$i', 'SELECT correlate.current_tenant()') AS x(t text);" >&"${HOLD[1]}"
	done
	echo "SELECT 'END';" >&"${HOLD[1]}"
	pids=()
	while read -r line <&"${HOLD[0]}"; do
		[ "$line" = END ] && break
		[[ $line =~ ^[0-9]+$ ]] && pids+=("$line")
	done
	before=()
	for p in "${pids[@]}"; do before+=("$(rss_anon "$p")"); done
	for i in $(seq 1 "$k"); do
		echo "SELECT * FROM dblink('c$i', \$q\$$QUERY\$q\$) AS x(v text);" >&"${HOLD[1]}"
	done
	echo "SELECT 'MEM';" >&"${HOLD[1]}"
	for i in $(seq 1 "$k"); do
		echo "SELECT * FROM dblink('c$i', 'SELECT memory_bytes FROM correlate.graph_stats()') AS x(v bigint);" >&"${HOLD[1]}"
	done
	echo "SELECT 'END';" >&"${HOLD[1]}"
	mem1=0 inmem=0
	while read -r line <&"${HOLD[0]}"; do
		[ "$line" = END ] && break
		[ "$line" = MEM ] && { inmem=1; continue; }
		[ "$inmem" = 1 ] && mem1=$((mem1 + line))
	done
	for j in "${!pids[@]}"; do
		after=$(rss_anon "${pids[$j]}")
		sum=$((sum + after - ${before[$j]}))
	done
	shared=$("${PSQL[@]}" -c "SELECT COALESCE(sum(memory_bytes), 0) FROM correlate.graph_shared_stats()")
	echo "\\q" >&"${HOLD[1]}"
	wait "$HOLD_PID" 2>/dev/null || true
	printf '%s\t%s\t%s\n' "$sum" "$shared" "$mem1"
}

# first_queries: REPS new backends each run a graph query on a one-resource tenant first
# (so that catalog caches, plpgsql and the function are loaded: what remains of the next
# query's extra time is getting the snapshot), then QUERY twice on the estate; prints
# "first_ms<TAB>warm_ms" lines
first_queries() {
	for r in $(seq 1 "$REPS"); do
		"${PSQL[@]}" <<-EOF
			SET correlate.tenant = 'warmup';
			SELECT count(*) FROM correlate.blast_radius(ARRAY[$WID::bigint], 2) \\g /dev/null
			RESET correlate.tenant;
			SET client_min_messages = debug1;
			SELECT bench.run(\$q\$$QUERY\$q\$) || E'\t' || bench.run(\$q\$$QUERY\$q\$);
		EOF
	done 2>"$DIR/debug.txt"
	# the server's own measure of getting the snapshot (graph_acquire: attach or build)
	grep -E 'correlate: (attached|built) the (shared )?graph snapshot of tenant "default"' "$DIR/debug.txt" |
		sed -E 's/.* in ([0-9.]+) ms$/\1/' >"$DIR/acquire.txt"
}

log "private snapshots (correlate.graph_shared_memory = 0)"
set_ceiling 0
read -r one_rss _ one_ctx < <(held_memory 1)
read -r priv_rss _ _ < <(held_memory "$PRIV")
priv_times=$(first_queries)
priv_acq=$(median <"$DIR/acquire.txt")

log "shared snapshot"
set_ceiling 2GB
# a restart empties shared memory: the first of the backends builds, the others attach
bench_run_as_owner "$BENCH_PG/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w restart >/dev/null
read -r sh_rss sh_seg sh_ctx < <(held_memory "$BACKENDS")
# graph_stats() counts the shared segment in every backend that holds it: count it once
sh_snap=$((sh_ctx - (BACKENDS - 1) * sh_seg))
sh_times=$(first_queries)
sh_acq=$(median <"$DIR/acquire.txt")
entries=$("${PSQL[@]}" -c "SELECT count(*) || ' entr' || CASE WHEN count(*) = 1 THEN 'y' ELSE 'ies' END || ', ' || string_agg(round(memory_bytes / 1048576.0, 1) || ' MiB', ', ') FROM correlate.graph_shared_stats()")

pf=$(cut -f1 <<<"$priv_times" | median); pw=$(cut -f2 <<<"$priv_times" | median)
sf=$(cut -f1 <<<"$sh_times" | median); sw=$(cut -f2 <<<"$sh_times" | median)
sa=$(awk -F'\t' '{ print $1 - $2 }' <<<"$sh_times" | median)
pa=$(awk -F'\t' '{ print $1 - $2 }' <<<"$priv_times" | median)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0) print "n/a"; else printf "%.2fx", a / b }'; }

echo
echo "== graph_shared_bench N=$N: $RELS relationships (facts layer); query: $QUERY"
echo "== $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); times are medians of $REPS new backends"
printf '%-52s %14s   %-36s %14s   %7s   %s\n' "measure" "value" "baseline" "value" "ratio" "target"
printf '%-52s %14s   %-36s %14s   %7s   %s\n' "memory of $BACKENDS backends, shared (heap growth + segment)" \
	"$(mib $((sh_rss + sh_seg)))" "one private snapshot (heap growth)" "$(mib "$one_rss")" "$(ratio $((sh_rss + sh_seg)) "$one_rss")" "<= 1.2x"
printf '%-52s %14s   %-36s %14s   %7s   %s\n' "  snapshots only (segment + each backend's part)" \
	"$(mib "$sh_snap")" "one private snapshot (graph_stats)" "$(mib "$one_ctx")" "$(ratio "$sh_snap" "$one_ctx")" "<= 1.2x"
printf '%-52s %14s   %-36s %14s   %7s   %s\n' "memory of $PRIV backends, private" \
	"$(mib "$priv_rss")" "one private snapshot (heap growth)" "$(mib "$one_rss")" "$(ratio "$priv_rss" "$one_rss")" "(contrast)"
printf '%-52s %11s ms   %-36s %11s ms   %7s   %s\n' "first query of a new backend, shared (attach)" "$sf" \
	"the same, private (build)" "$pf" "$(ratio "$pf" "$sf")" ""
printf '%-52s %11s ms   %-36s %11s ms   %7s   %s\n' "  first minus warm query, shared" "$sa" \
	"the same, private" "$pa" "$(ratio "$pa" "$sa")" ""
printf '%-52s %11s ms   %-36s %11s ms   %7s   %s\n' "  getting the snapshot in the server: attach" "$sh_acq" \
	"the same: private build" "$priv_acq" "$(ratio "$priv_acq" "$sh_acq")" "< 10 ms"
echo "-- shared: $(mib "$sh_seg") in shared segments ($entries), $(mib "$sh_rss") heap growth over $BACKENDS backends"
echo "-- one private snapshot: graph_stats().memory_bytes $(mib "$one_ctx"); warm query: private $pw ms, shared $sw ms"
