#!/usr/bin/env bash
# attack_bench.sh: how long deriving the attack graph takes on a synthetic estate, on a
# private cluster (test/bench/cluster.sh), and what the attack layer costs the path
# functions next to the fact layer (baseline, same run).  One command:
#
#   test/bench/attack_bench.sh [RESOURCES]      default 100000 resources (about 9 relationships each)
#
# The estate comes from gen_estate.sql (it has no findings); one container image in ten
# and one EC2 instance in twenty get a network-reachable CVE, so that exposed workloads
# become entry points.  Figures are medians of RUNS (default 3) runs, in seconds, each next
# to its baseline measured in the same run, as wall time and as the CPU time of the backend
# (on a shared machine the CPU figures and the ratios are the comparable part):
#   derive, from scratch          derive_attack_edges() into an empty attack_edge
#   derive, nothing changed       derive_attack_edges() again: the change log is empty
#   derive, 1% of facts changed   1% of the findings toggled fixed/open and 1% of the
#                                 relationships' likelihoods nudged, then derive_attack_edges()
#                                 (incremental), next to derive_attack_edges(from_scratch => true)
#                                 after the same kind of change (the baseline)
#   attack_edges_derived()        the derivation alone, no writes (what a what-if costs)
#   paths / blast radius          attack_paths() and blast_radius() of one pod on the attack
#                                 layer, next to the fact layer (the baseline)
# RUNS, PORT (5490), DIR (/tmp/attack_bench), BENCH_SRC and KEEP=1 are read from the environment.
# LEAN=1 (for 1M resources) compares the incremental run with the first derivation from scratch
# instead of deriving from scratch again after each change, and skips the row-by-row check and
# the path figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N_RES=${1:-100000}
RUNS=${RUNS:-3} PORT=${PORT:-5490} DIR=${DIR:-/tmp/attack_bench}
. "$here/cluster.sh"
rm -rf "$DIR"
bench_cluster_setup "$DIR" "$PORT"
trap bench_cluster_stop EXIT
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE EXTENSION correlate" >/dev/null
q -v n="$N_RES" -f "$here/gen_estate.sql" >/dev/null
q <<-'SQL' >/dev/null
	INSERT INTO correlate.finding (tenant, resource, kind, check_id, severity, cvss, epss, known_exploited, props)
	SELECT 'default', r.id, 'vulnerability', 'CVE-BENCH-' || (r.id % 50), 'high', 8.8, (r.id % 100) / 100.0, r.id % 7 = 0,
	       '{"cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}'
	FROM correlate.resource r
	WHERE (r.kind = 'container:image' AND r.id % 10 = 0) OR (r.kind = 'aws:ec2:instance' AND r.id % 20 = 0);
	VACUUM ANALYZE;
SQL
echo "# $(q -c "SELECT split_part(version(), ',', 1)"); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); medians of $RUNS runs, seconds"
q -F ' ' -c "SELECT 'resources', count(*) FROM correlate.resource" \
  -c "SELECT 'relationships', count(*) FROM correlate.relationship" \
  -c "SELECT 'findings', count(*) FROM correlate.finding"

tck=$(getconf CLK_TCK)
secs() {        # secs SETUP SQL: "WALL CPU", the wall seconds of SQL after SETUP and the CPU seconds its backend used
	local setup=$1; shift
	q <<-SQL | tail -1
	$setup
	SELECT extract(epoch FROM clock_timestamp()) AS t0, (SELECT split_part(s, ' ', 14)::float8 + split_part(s, ' ', 15)::float8
		FROM pg_read_file('/proc/self/stat') s) AS c0 \gset
	$*
	SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3) || ' ' ||
		   round(((SELECT split_part(s, ' ', 14)::float8 + split_part(s, ' ', 15)::float8
				   FROM pg_read_file('/proc/self/stat') s) - :c0)::numeric / $tck, 2);
	SQL
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
med2() {        # lines "WALL CPU" -> "median(WALL) median(CPU)"
	local in; in=$(cat)
	echo "$(awk '{print $1}' <<<"$in" | median) $(awk '{print $2}' <<<"$in" | median)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
measure_v() {   # measure_v SETUP SQL: "median wall, median CPU" of RUNS runs
	local setup=$1 sql=$2 i v=()
	for ((i = 1; i <= RUNS; i++)); do v+=("$(secs "$setup" "$sql")"); done
	printf '%s\n' "${v[@]}" | med2
}
row() {         # row LABEL "WALL CPU" "WALL CPU" (figure, baseline); CPU under 0.1 s is below the clock's resolution
	local a=($2) b=($3) r
	r=$(awk -v b="${b[1]}" 'BEGIN { print (b < 0.1) ? "n/a" : "" }')
	printf '%-56s wall %8s s  baseline %8s s  ratio %-6s | CPU %7s s  baseline %7s s  ratio %s\n' \
		"$1" "${a[0]}" "${b[0]}" "$(ratio "${a[0]}" "${b[0]}")" "${a[1]}" "${b[1]}" "${r:-$(ratio "${a[1]}" "${b[1]}")}"
}

scratch=$(measure_v "TRUNCATE correlate.attack_edge;" "SELECT * FROM correlate.derive_attack_edges();")
q -F ' ' -c "SELECT 'attack edges', count(*) FROM correlate.attack_edge" \
  -c "SELECT 'entry edges', count(*) FROM correlate.attack_edge WHERE technique = 'exploit_public_workload'"
whatif=$(measure_v "" "SELECT count(*) FROM correlate.attack_edges_derived();")
row "derive, from scratch (baseline: the derivation alone)" "$scratch" "$whatif"
same=$(measure_v "" "SELECT * FROM correlate.derive_attack_edges();")
row "derive, nothing changed (baseline: from scratch)" "$same" "$scratch"
# the change: a different 1% of the findings and of the relationships each time (id % 100 = N)
change() { echo "UPDATE correlate.finding SET status = CASE status WHEN 'open' THEN 'fixed' ELSE 'open' END WHERE id % 100 = $1;
	UPDATE correlate.relationship SET likelihood = CASE WHEN likelihood > 0.5 THEN likelihood - 0.01 ELSE likelihood + 0.01 END
	WHERE id % 100 = $1;"; }
inc=() full=() focus=()
for ((i = 1; i <= RUNS; i++)); do
	inc+=("$(secs "$(change $((2 * i)))" "SELECT * FROM correlate.derive_attack_edges();")")
	focus+=("$(q -c "SELECT focus FROM correlate.attack_derive_state WHERE mode = 'incremental'")")
	if [ "${LEAN:-0}" = 1 ]; then continue; fi
	full+=("$(secs "$(change $((2 * i + 1)))" "SELECT * FROM correlate.derive_attack_edges(from_scratch => true);")")
done
if [ "${LEAN:-0}" = 1 ]; then full=("$scratch"); fi
row "derive, 1% of facts changed: incremental" "$(printf '%s\n' "${inc[@]}" | med2)" "$(printf '%s\n' "${full[@]}" | med2)"
if [ "${LEAN:-0}" = 1 ]; then echo "#   (LEAN=1 baseline: the first derivation from scratch; wall/CPU runs ${inc[*]// /\/}; resources re-derived ${focus[*]})"; else
echo "#   (baseline: derive_attack_edges(from_scratch => true) after a 1% change; wall/CPU runs ${inc[*]// /\/} vs ${full[*]// /\/}; resources re-derived ${focus[*]})"; fi
# exactness on the bench estate: the stored graph equals the derivation from all facts
if [ "${LEAN:-0}" = 1 ]; then echo "# LEAN=1: no row-by-row check, no path figures"; exit 0; fi
secs "$(change 99)" "SELECT * FROM correlate.derive_attack_edges();" >/dev/null
exact=$(q -F ' ' -c "SELECT count(*) FILTER (WHERE side = 'extra'), count(*) FILTER (WHERE side = 'missing') FROM (
	(SELECT 'extra' AS side, * FROM (SELECT src, dst, technique, likelihood, because FROM correlate.attack_edge
	 EXCEPT ALL SELECT src, dst, technique, likelihood, because FROM correlate.attack_edges_derived()) e)
	UNION ALL
	(SELECT 'missing', * FROM (SELECT src, dst, technique, likelihood, because FROM correlate.attack_edges_derived()
	 EXCEPT ALL SELECT src, dst, technique, likelihood, because FROM correlate.attack_edge) m)) x")
echo "incremental = from scratch, row by row: ${exact% *} extra, ${exact#* } missing"
if [ "$exact" != "0 0" ]; then echo "FAIL: the incrementally derived graph differs from the derivation from all facts" >&2; exit 1; fi

pod=$(q -c "SELECT a.dst FROM correlate.attack_edge a WHERE a.technique = 'exploit_public_workload' ORDER BY a.dst LIMIT 1")
warm() { echo "SET correlate.graph_layer = $1; SELECT count(*) FROM correlate.attack_paths(k => 1);"; }
pf=$(measure_v "$(warm facts)" "SELECT count(*) FROM correlate.attack_paths(k => 10);")
pa=$(measure_v "$(warm attack)" "SELECT count(*) FROM correlate.attack_paths(k => 10);")
row "attack_paths(k => 10), attack layer (baseline: facts)" "$pa" "$pf"
bf=$(measure_v "$(warm facts)" "SELECT count(*) FROM correlate.blast_radius(ARRAY[$pod]::bigint[]);")
ba=$(measure_v "$(warm attack)" "SELECT count(*) FROM correlate.blast_radius(ARRAY[$pod]::bigint[]);")
row "blast_radius(one exposed pod), attack layer (baseline: facts)" "$ba" "$bf"
