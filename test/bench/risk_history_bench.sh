#!/usr/bin/env bash
# risk_history_bench.sh: what recording history (score changes, attack-path findings,
# the run row) costs rescore(), on a synthetic estate, on a private cluster
# (test/bench/cluster.sh).  One command:
#
#   test/bench/risk_history_bench.sh [RESOURCES]        default 100000 resources
#
# Every scored resource gets a vulnerability finding that starts fixed; before each
# measured rescore a fresh 1% of the scored resources has its finding reopened, so
# 1% of the scores change per rescore.  Rescores with history on and with it off
# (correlate.risk_history) alternate, RUNS (default 3) of each, in the same run; the
# figures are medians and the ratio is with / without.  Bytes per changed score is
# the history table's size (heap and indexes) over its rows, and the growth over the
# rows the 1% rescores added.  PORT (5491), DIR (/tmp/risk_history_bench), KEEP=1
# and BENCH_SRC are read from the environment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N_RES=${1:-100000}
RUNS=${RUNS:-3} PORT=${PORT:-5491} DIR=${DIR:-/tmp/risk_history_bench}
. "$here/cluster.sh"
rm -rf "$DIR"
bench_cluster_setup "$DIR" "$PORT"
trap bench_cluster_stop EXIT
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE EXTENSION correlate" >/dev/null
q -v n="$N_RES" -f "$here/gen_estate.sql" >/dev/null
# The first rescore scores the estate (and fills the history with every score).
t_first=$(q <<-'SQL' | tail -1
	SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
	SELECT * FROM correlate.rescore(as_of => '2026-11-01');
	SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
	SQL
)
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
  -c "SELECT 'scored resources', $scored" -c "SELECT 'changing per rescore (1%)', $slice"
echo "first rescore (every score new to the history): $t_first s"

# One rescore after reopening slice number $2's findings, with history $1; prints seconds and history rows added.
round() {
	local hist=$1 k=$2
	q <<-SQL | tail -1
	UPDATE correlate.finding f SET status = 'open' FROM bench_slice b
	WHERE f.resource = b.resource_id AND f.check_id = 'CVE-2026-0019' AND b.n > $k * $slice AND b.n <= ($k + 1) * $slice;
	SET correlate.risk_history = $hist;
	SELECT count(*) AS h0 FROM correlate.risk_history \gset
	SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
	SELECT * FROM correlate.rescore(as_of => '2026-11-03'::timestamptz + interval '1 hour' * $k);
	SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3) || ' ' || (SELECT count(*) - :h0 FROM correlate.risk_history);
	SQL
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
size0=$(q -c "SELECT pg_total_relation_size('correlate.risk_history')")
rows0=$(q -c "SELECT count(*) FROM correlate.risk_history")
on=() off=() added=0
for ((i = 0; i < RUNS; i++)); do
	read -r t n <<<"$(round on $((2 * i)))"; on+=("$t"); added=$((added + n))
	read -r t n <<<"$(round off $((2 * i + 1)))"; off+=("$t")
done
size1=$(q -c "SELECT pg_total_relation_size('correlate.risk_history')")
rows1=$(q -c "SELECT count(*) FROM correlate.risk_history")
m_on=$(printf '%s\n' "${on[@]}" | median) m_off=$(printf '%s\n' "${off[@]}" | median)
printf '%-52s %8s s   (runs: %s)\n' "rescore(), 1% changed, history off (baseline)" "$m_off" "${off[*]}"
printf '%-52s %8s s   (runs: %s)   ratio %s\n' "rescore(), 1% changed, history on" "$m_on" "${on[*]}" \
	"$(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.3f", a / b}')"
echo "history rows written by the 1% rescores: $added (expected about $((RUNS * slice)))"
echo "history: $rows1 rows, $size1 bytes (heap + indexes): $(awk -v s="$size1" -v r="$rows1" 'BEGIN {printf "%.1f", s / r}') bytes per changed score"
echo "growth over the 1% rescores: $((size1 - size0)) bytes for $((rows1 - rows0)) rows: $(awk -v s="$((size1 - size0))" -v r="$((rows1 - rows0))" 'BEGIN {if (r > 0) printf "%.1f", s / r; else print "n/a"}') bytes per changed score (page-granular)"
# The history work on its own, without the rest of rescore() and its noise: the diff
# rescore() adds (scores against the stored ones, 1% differing) and the run and path
# bookkeeping (_record_rescore), each timed alone, medians of RUNS.
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
echo "history work alone: diff of the scores $t_diff s, runs and paths (_record_rescore) $t_rec s: $(awk -v a="$t_diff" -v b="$t_rec" -v c="$m_off" 'BEGIN {printf "%.1f%%", 100 * (a + b) / c}') of the baseline rescore"
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

