#!/usr/bin/env bash
# output_bench.sh: how long the attack-graph picture of the 1,000 most likely paths
# takes on a synthetic estate, next to attack_paths alone (the same paths, no
# drawing), on a private cluster (test/bench/cluster.sh).  One command:
#
#   test/bench/output_bench.sh [RESOURCES]        default 1000000 (about 9 M relationships)
#
# The estate comes from gen_estate.sql and is drawn on the facts layer
# (correlate.graph_layer = facts: the generator writes relationships, not attack
# edges).  Every figure is the median wall time of RUNS (default 5) warm runs (the
# snapshot is built once first), in seconds, measured in the server session.
# RUNS, PORT (5491), DIR (/tmp/output_bench), BENCH_SRC and KEEP=1 are read from the environment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N_RES=${1:-1000000}
RUNS=${RUNS:-5} PORT=${PORT:-5491} DIR=${DIR:-/tmp/output_bench}
. "$here/cluster.sh"
rm -rf "$DIR"
bench_cluster_setup "$DIR" "$PORT"
trap bench_cluster_stop EXIT
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE EXTENSION correlate" >/dev/null
q -v n="$N_RES" -f "$here/gen_estate.sql" >/dev/null
q -c "VACUUM ANALYZE" >/dev/null
echo "# $(q -c "SELECT split_part(version(), ',', 1)"); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); medians of $RUNS warm runs, seconds"
q -F ' ' -c "SELECT 'resources', count(*) FROM correlate.resource" -c "SELECT 'relationships', count(*) FROM correlate.relationship"

warm="SET correlate.graph_layer = 'facts'; SET correlate.output_max_nodes = 100000; SELECT count(*) FROM correlate.attack_paths(k => 1);"
secs() {
	q <<-SQL | tail -1
	$warm
	SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
	$1
	SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
	SQL
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {     # measure LABEL SQL: prints the median and sets M
	local label=$1 sql=$2 i v=()
	for ((i = 1; i <= RUNS; i++)); do v+=("$(secs "$sql")"); done
	M=$(printf '%s\n' "${v[@]}" | median)
	printf '%-62s %8s s   (runs: %s)\n' "$label" "$M" "${v[*]}"
}
q <<-SQL
	$warm
	SELECT 'paths ' || count(DISTINCT path_rank) || ', distinct resources ' || count(DISTINCT resource_id)
	FROM correlate.attack_paths(k => 1000);
	SELECT 'svg bytes ' || length(s) || ', crossings ' || substring(s FROM 'data-crossings="([0-9]+)"')
	FROM correlate.attack_graph_svg(k => 1000) s;
SQL
measure "attack_paths(k => 1000) (baseline: the paths, no picture)" "SELECT count(*) FROM correlate.attack_paths(k => 1000);"
base=$M
measure "attack_graph_svg(k => 1000)" "SELECT length(correlate.attack_graph_svg(k => 1000));"
svg=$M
measure "attack_graph_dot(k => 1000)" "SELECT length(correlate.attack_graph_dot(k => 1000));"
measure "attack_graph_svg(k => 10)" "SELECT length(correlate.attack_graph_svg(k => 10));"
awk -v s="$svg" -v b="$base" 'BEGIN { printf "picture / paths alone: %.2fx (target: attack_graph_svg of 1,000 paths under 1 s)\n", (b > 0 ? s / b : 0) }'
