#!/usr/bin/env bash
# risk_history_bench.sh: rescore() at scale, on a synthetic estate, on a private
# cluster (test/bench/cluster.sh).  One command:
#
#   test/bench/risk_history_bench.sh [RESOURCES]        default 100000 resources
#
# Issue 14 (target 4): after 1% of the resources, relationships and findings change,
# the incremental rescore() against a rescore from scratch of the same facts at the
# same as_of (the baseline), and the two compared row by row (scores, reasons, toxic
# combinations; the rescore from scratch must find nothing to change).
# Issue 19: what recording history (score changes, attack-path findings, the run
# row) adds to those incremental rescores: history on and off alternate, and the
# bytes each changed score takes.
#
# Every scored resource gets a vulnerability finding that starts fixed.  A round k:
# a fresh 1% of the scored resources has its finding reopened, 1% of all resources
# are renamed and 1% of all relationships get a new likelihood; the attack graph is
# derived (its time is printed apart: rescore()'s own share is what is measured);
# then the incremental rescore (history on in even rounds, off in odd ones) and the
# rescore from scratch.  Medians of RUNS (default 3) rounds of each kind.
# PORT (5491), DIR (/tmp/risk_history_bench), KEEP=1 and BENCH_SRC are read from
# the environment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N_RES=${1:-100000}
RUNS=${RUNS:-3} PORT=${PORT:-5491} DIR=${DIR:-/tmp/risk_history_bench}
. "$here/cluster.sh"
rm -rf "$DIR"
bench_cluster_setup "$DIR" "$PORT"
trap bench_cluster_stop EXIT
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
# secs SQL: wall seconds of SQL (psql's own timing, run after a marker)
secs() {
	q <<-SQL | tail -1
	SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
	$1
	SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
	SQL
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "n/a"}'; }

q -c "CREATE EXTENSION correlate" >/dev/null
q -v n="$N_RES" -f "$here/gen_estate.sql" >/dev/null
q -c "VACUUM ANALYZE" >/dev/null
t_derive0=$(secs "SELECT * FROM correlate.derive_attack_edges();")
q -c "VACUUM ANALYZE" >/dev/null
# The first rescore scores the estate (and fills the history with every score).
t_first=$(secs "SELECT * FROM correlate.rescore(as_of => '2026-11-01');")
# A fixed finding on every scored resource, numbered in a random but fixed order.
q <<-'SQL' >/dev/null
	SELECT setseed(0.19);
	CREATE TABLE bench_slice AS
		SELECT s.resource_id, row_number() OVER (ORDER BY random()) AS n FROM correlate.risk_score s;
	INSERT INTO correlate.finding (tenant, resource, kind, check_id, severity, cvss, status)
	SELECT 'default', b.resource_id, 'vulnerability', 'CVE-2026-0019', 'medium', 5.0, 'fixed' FROM bench_slice b;
	SELECT * FROM correlate.rescore(as_of => '2026-11-02');
	VACUUM ANALYZE;
	SQL
scored=$(q -c "SELECT count(*) FROM bench_slice")
slice=$(( scored / 100 ))
echo "# $(q -c "SELECT split_part(version(), ',', 1)"); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); medians of $RUNS runs, seconds"
q -F ' ' -c "SELECT 'resources', count(*) FROM correlate.resource" \
  -c "SELECT 'relationships', count(*) FROM correlate.relationship" \
  -c "SELECT 'attack edges', count(*) FROM correlate.attack_edge" \
  -c "SELECT 'scored resources', $scored" -c "SELECT 'findings reopened per round (1% of scored)', $slice"
echo "attack edges derived from scratch: $t_derive0 s; first rescore (from scratch, every score new to the history): $t_first s"

# round K HIST: the changes of round K, the derivation, the incremental rescore with
# history HIST, the rescore from scratch; prints derive, incremental and full seconds,
# history rows the incremental rescore added, resources it recomputed, its mode, and
# the rows that differ between the two rescores.
round() {
	local k=$1 hist=$2 at
	at="'2026-11-03'::timestamptz + interval '1 hour' * $k"
	q <<-SQL | tail -1
	SELECT setseed(0.19 + $k / 1000.0);
	UPDATE correlate.finding f SET status = 'open' FROM bench_slice b
	WHERE f.resource = b.resource_id AND f.check_id = 'CVE-2026-0019' AND b.n > $k * $slice AND b.n <= ($k + 1) * $slice;
	UPDATE correlate.resource SET name = name || '.' || $k WHERE random() < 0.01;
	UPDATE correlate.relationship SET likelihood = greatest(0.01, round((likelihood * (0.8 + random() * 0.2))::numeric, 2)::float8)
	WHERE random() < 0.01;
	SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
	SELECT * FROM correlate.derive_attack_edges();
	SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
	SET correlate.risk_history = $hist;
	SELECT count(*) AS h0 FROM correlate.risk_history \gset
	SELECT extract(epoch FROM clock_timestamp()) AS t2 \gset
	SELECT * FROM correlate.rescore(as_of => $at);
	SELECT extract(epoch FROM clock_timestamp()) AS t3 \gset
	SELECT count(*) - :h0 AS added FROM correlate.risk_history \gset
	SELECT s.rescored AS rescored, s.mode = 'incremental' AS incr FROM correlate.risk_state s \gset
	CREATE TEMP TABLE snap AS SELECT resource_id, score, reasons FROM correlate.risk_score;
	CREATE TEMP TABLE snap_toxic AS SELECT rule, resource_id, severity, reasons, evidence, first_seen, last_seen FROM correlate.toxic_combination;
	SET correlate.risk_history = on;
	SELECT count(*) AS h1 FROM correlate.risk_history \gset
	SELECT extract(epoch FROM clock_timestamp()) AS t4 \gset
	SELECT * FROM correlate.rescore(as_of => $at, from_scratch => true);
	SELECT extract(epoch FROM clock_timestamp()) AS t5 \gset
	SELECT round((:t1 - :t0)::numeric, 3) || ' ' || round((:t3 - :t2)::numeric, 3) || ' ' || round((:t5 - :t4)::numeric, 3)
		   || ' ' || :added || ' ' || :rescored || ' ' || :'incr' || ' '
		   || ((SELECT count(*) FROM (SELECT * FROM snap EXCEPT ALL SELECT resource_id, score, reasons FROM correlate.risk_score) x)
			   + (SELECT count(*) FROM (SELECT resource_id, score, reasons FROM correlate.risk_score EXCEPT ALL SELECT * FROM snap) x)
			   + (SELECT count(*) FROM (SELECT * FROM snap_toxic EXCEPT ALL SELECT rule, resource_id, severity, reasons, evidence,
										first_seen, last_seen FROM correlate.toxic_combination) x)
			   + (SELECT count(*) FROM (SELECT rule, resource_id, severity, reasons, evidence, first_seen, last_seen
										FROM correlate.toxic_combination EXCEPT ALL SELECT * FROM snap_toxic) x)
			   + (SELECT count(*) - :h1 FROM correlate.risk_history));
	SQL
}
size0=$(q -c "SELECT pg_total_relation_size('correlate.risk_history')")
rows0=$(q -c "SELECT count(*) FROM correlate.risk_history")
on=() off=() full=() derive=() recomputed=() added=0 differ=0 modes=""
for ((i = 0; i < RUNS; i++)); do
	for hist in on off; do
		[ "$hist" = off ] && k=$((2 * i + 1)) || k=$((2 * i))
		read -r d t f n r incr diff <<<"$(round "$k" "$hist")"
		derive+=("$d") full+=("$f") recomputed+=("$r") differ=$((differ + diff)) modes+="$incr"
		if [ "$hist" = on ]; then on+=("$t"); added=$((added + n)); else off+=("$t"); fi
	done
done
size1=$(q -c "SELECT pg_total_relation_size('correlate.risk_history')")
rows1=$(q -c "SELECT count(*) FROM correlate.risk_history")
m_on=$(printf '%s\n' "${on[@]}" | median) m_off=$(printf '%s\n' "${off[@]}" | median)
m_full=$(printf '%s\n' "${full[@]}" | median) m_derive=$(printf '%s\n' "${derive[@]}" | median)
m_rec=$(printf '%s\n' "${recomputed[@]}" | median)
echo
echo "## issue 14, target 4: rescore() after 1% of resources, relationships and findings changed"
printf '%-62s %8s s   (runs: %s)\n' "derive_attack_edges() after the change (not in the figures below)" "$m_derive" "${derive[*]}"
printf '%-62s %8s s   (runs: %s)\n' "rescore(from_scratch => true) (baseline)" "$m_full" "${full[*]}"
printf '%-62s %8s s   (runs: %s)   ratio %s\n' "rescore(), incremental, history off" "$m_off" "${off[*]}" "$(ratio "$m_off" "$m_full")"
printf '%-62s %8s s   (runs: %s)   ratio %s\n' "rescore(), incremental, history on" "$m_on" "${on[*]}" "$(ratio "$m_on" "$m_full")"
echo "resources recomputed by the incremental rescores: median $m_rec of $(q -c "SELECT count(*) FROM correlate.resource") (runs: ${recomputed[*]}); incremental each time: $modes"
echo "rows differing between incremental and from-scratch rescores (scores, reasons, toxic combinations, history rows the second wrote): $differ"
echo
echo "## issue 19: history"
printf '%-62s %8s s   (runs: %s)\n' "rescore(), incremental, 1% changed, history off (baseline)" "$m_off" "${off[*]}"
printf '%-62s %8s s   (runs: %s)   ratio %s\n' "rescore(), incremental, 1% changed, history on" "$m_on" "${on[*]}" "$(ratio "$m_on" "$m_off")"
echo "history rows written by the incremental rescores with history on: $added"
echo "history: $rows1 rows, $size1 bytes (heap + indexes): $(awk -v s="$size1" -v r="$rows1" 'BEGIN {printf "%.1f", s / r}') bytes per changed score"
echo "growth over the rounds: $((size1 - size0)) bytes for $((rows1 - rows0)) rows: $(awk -v s="$((size1 - size0))" -v r="$((rows1 - rows0))" 'BEGIN {if (r > 0) printf "%.1f", s / r; else print "n/a"}') bytes per changed score (page-granular)"
# The history work on its own, without the rest of rescore() and its noise: the diff
# rescore() adds (scores against the stored ones, 1% differing) and the run and path
# bookkeeping (_record_rescore), each timed alone.
hist_alone=$(q <<-'SQL' | tail -1
	CREATE TEMP TABLE prev AS SELECT s.resource_id, s.score, s.reasons FROM correlate.risk_score s;
	UPDATE prev SET score = score - 1 WHERE resource_id % 100 = 0 AND score > 0;
	ANALYZE prev;
	SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
	SELECT count(*) FROM correlate.risk_score x FULL JOIN prev p ON p.resource_id = x.resource_id
	WHERE x.score IS DISTINCT FROM p.score
	   OR (x.reasons IS DISTINCT FROM p.reasons AND correlate._factor_bits(x.reasons) IS DISTINCT FROM correlate._factor_bits(p.reasons));
	SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
	BEGIN;
	SELECT correlate._record_rescore('2026-12-01', 0, 0);
	ROLLBACK;
	SELECT round((:t1 - :t0)::numeric, 3) || ' ' || round((extract(epoch FROM clock_timestamp()) - :t1)::numeric, 3);
	SQL
)
read -r t_diff t_rec <<<"$hist_alone"
echo "history work alone: diff of all the scores $t_diff s (an incremental rescore diffs only those it recomputes), runs and paths (_record_rescore) $t_rec s"
q -F ' ' -c "SELECT 'attack-path findings', count(*) FROM correlate.attack_path_finding" \
  -c "SELECT 'heap bytes per row', round(pg_relation_size('correlate.risk_history')::numeric / count(*), 1) FROM correlate.risk_history"
# Storage at scale, without rescoring a 1M estate: 1,000,000 rows shaped as rescore()
# writes them (100 rescores each changing a random 1% of 1,000,000 resources, in
# rescore order), in a copy of the history table with the same indexes.
q <<-'SQL'
	CREATE TABLE bench_history (LIKE correlate.risk_history INCLUDING ALL);
	SELECT setseed(0.19);
	INSERT INTO bench_history (tenant, resource_id, at, old_score, new_score, added, removed)
	SELECT 'default', (random() * 999999)::bigint + 1, '2026-11-01'::timestamptz + interval '15 minutes' * r,
		   (random() * 100)::smallint, (random() * 100)::smallint, (1 << (random() * 9)::int)::smallint, 0::smallint
	FROM generate_series(1, 100) r, generate_series(1, 10000) i
	ORDER BY r, random();
	SELECT '1M changed scores at 1% per rescore of 1M resources: ' || round(pg_total_relation_size('bench_history')::numeric / count(*), 1)
		   || ' bytes per changed score (heap ' || round(pg_relation_size('bench_history')::numeric / count(*), 1)
		   || ', indexes ' || round(pg_indexes_size('bench_history')::numeric / count(*), 1) || ')'
	FROM bench_history;
	SQL
[ "$differ" -eq 0 ] || { echo "FAIL: incremental and from-scratch rescores differ in $differ rows"; exit 1; }
