#!/usr/bin/env bash
# attack_bench.sh: how long deriving the attack graph takes on a synthetic estate, on a
# private cluster (test/bench/cluster.sh), and what the attack layer costs the path
# functions next to the fact layer (baseline, same run).  One command:
#
#   test/bench/attack_bench.sh [RESOURCES]      default 100000 resources (about 9 relationships each)
#
# The estate comes from gen_estate.sql (it has no findings); one container image in ten
# and one EC2 instance in twenty get a network-reachable CVE, so that exposed workloads
# become entry points.  Figures are the median wall time of RUNS (default 3) runs, in
# seconds, each next to its baseline measured in the same run:
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

secs() {        # secs SETUP SQL: wall seconds of SQL after SETUP
	local setup=$1; shift
	q <<-SQL | tail -1
	$setup
	SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
	$*
	SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
	SQL
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {     # measure LABEL SETUP SQL
	local label=$1 setup=$2 sql=$3 i v=()
	for ((i = 1; i <= RUNS; i++)); do v+=("$(secs "$setup" "$sql")"); done
	printf '%-58s %8s s   (runs: %s)\n' "$label" "$(printf '%s\n' "${v[@]}" | median)" "${v[*]}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
measure_v() {   # measure_v SETUP SQL: median seconds
	local setup=$1 sql=$2 i v=()
	for ((i = 1; i <= RUNS; i++)); do v+=("$(secs "$setup" "$sql")"); done
	printf '%s\n' "${v[@]}" | median
}
row() { printf '%-52s %9s s   baseline %9s s   ratio %s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

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
	full+=("$(secs "$(change $((2 * i + 1)))" "SELECT * FROM correlate.derive_attack_edges(from_scratch => true);")")
done
row "derive, 1% of facts changed: incremental" "$(printf '%s\n' "${inc[@]}" | median)" "$(printf '%s\n' "${full[@]}" | median)"
echo "#   (baseline: derive_attack_edges(from_scratch => true) after a 1% change; runs ${inc[*]} / ${full[*]}; resources re-derived ${focus[*]})"
# exactness on the bench estate: the stored graph equals the derivation from all facts
secs "$(change 99)" "SELECT * FROM correlate.derive_attack_edges();" >/dev/null
q -F ' ' -c "SELECT 'incremental = from scratch:', count(*) = 0 FROM (
	(SELECT src, dst, technique, likelihood, because FROM correlate.attack_edge
	 EXCEPT ALL SELECT src, dst, technique, likelihood, because FROM correlate.attack_edges_derived())
	UNION ALL
	(SELECT src, dst, technique, likelihood, because FROM correlate.attack_edges_derived()
	 EXCEPT ALL SELECT src, dst, technique, likelihood, because FROM correlate.attack_edge)) x"

pod=$(q -c "SELECT a.dst FROM correlate.attack_edge a WHERE a.technique = 'exploit_public_workload' ORDER BY a.dst LIMIT 1")
warm() { echo "SET correlate.graph_layer = $1; SELECT count(*) FROM correlate.attack_paths(k => 1);"; }
pf=$(measure_v "$(warm facts)" "SELECT count(*) FROM correlate.attack_paths(k => 10);")
pa=$(measure_v "$(warm attack)" "SELECT count(*) FROM correlate.attack_paths(k => 10);")
row "attack_paths(k => 10), attack layer (baseline: facts)" "$pa" "$pf"
bf=$(measure_v "$(warm facts)" "SELECT count(*) FROM correlate.blast_radius(ARRAY[$pod]::bigint[]);")
ba=$(measure_v "$(warm attack)" "SELECT count(*) FROM correlate.blast_radius(ARRAY[$pod]::bigint[]);")
row "blast_radius(one exposed pod), attack layer (baseline: facts)" "$ba" "$bf"
