#!/usr/bin/env bash
# risk_bench.sh: how long correlate(), correlate_new_events() and rescore() take on a
# synthetic estate, on a private cluster (test/bench/cluster.sh).  One command:
#
#   test/bench/risk_bench.sh [RESOURCES [EVENTS]]      default 100000 resources, 200000 events
#
# The estate comes from gen_estate.sql; the events are CloudTrail (40%), VPC flow
# (40%) and Falco (20%) files from the generators, loaded with correlate.ingest_file.
# Every figure is the median wall time of RUNS (default 3) runs, in seconds.  rescore()
# after 1% of the estate changed, and with history, is in risk_history_bench.sh.
# RUNS, PORT (5489), DIR (/tmp/risk_bench), BENCH_SRC (tree to build, default this
# one) and KEEP=1 (keep the cluster) are read from the environment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N_RES=${1:-100000} N_EV=${2:-200000}
RUNS=${RUNS:-3} PORT=${PORT:-5489} DIR=${DIR:-/tmp/risk_bench}
. "$here/cluster.sh"
rm -rf "$DIR"
bench_cluster_setup "$DIR" "$PORT"
trap bench_cluster_stop EXIT
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE EXTENSION correlate" -c "SELECT count(*) FROM correlate.create_event_partitions(1, '2026-11-01')" >/dev/null
q -v n="$N_RES" -f "$here/gen_estate.sql" >/dev/null
ct=$((N_EV * 2 / 5)) vpc=$((N_EV * 2 / 5)) falco=$((N_EV - N_EV * 4 / 5))
python3 "$here/gen_cloudtrail.py" "$ct" --records-wrapper >"$DIR/ct.json"
python3 "$here/gen_vpc_flow.py" "$vpc" >"$DIR/vpc.log"
python3 "$here/gen_falco.py" "$falco" >"$DIR/falco.jsonl"
chmod 644 "$DIR"/*.json "$DIR"/*.log "$DIR"/*.jsonl
if [ "$(id -u)" -eq 0 ]; then chown postgres "$DIR"/*.json "$DIR"/*.log "$DIR"/*.jsonl; fi
for f in "cloudtrail ct.json" "vpc_flow vpc.log" "falco falco.jsonl"; do
	set -- $f
	q -c "SELECT count(*) FROM correlate.ingest_file('$1', '$DIR/$2')" >/dev/null
done
q -c "VACUUM ANALYZE" >/dev/null
echo "# $(q -c "SELECT split_part(version(), ',', 1)"); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); medians of $RUNS runs, seconds"
q -F ' ' -c "SELECT 'resources', count(*) FROM correlate.resource" \
  -c "SELECT 'relationships', count(*) FROM correlate.relationship" \
  -c "SELECT 'events', count(*) FROM correlate.event" \
  -c "SELECT 'iam identities', count(*) FROM correlate.resource WHERE kind IN ('aws:iam:role', 'aws:iam:user')" \
  -c "SELECT 'candidate anchors', count(*) FROM correlate.event e JOIN correlate.correlation_step s ON s.step = 1
      WHERE (s.domains IS NULL OR e.domain = ANY (s.domains)) AND (s.rules IS NULL OR e.rule IS NOT NULL)"

# secs SQL...: wall seconds of the statements after the first (the first is setup).
secs() {
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
fresh="TRUNCATE correlate.incident, correlate.incident_event, correlate.correlation_watermark;"
measure "correlate(): all history, no incidents yet" "$fresh" "SELECT count(*) FROM correlate.correlate();"
measure "correlate(): all history again (idempotent re-run)" "" "SELECT count(*) FROM correlate.correlate();"
# The scheduled job's step after 1000 new events (the watermark set back by 1000 ids).
back="SELECT count(*) FROM correlate.correlate_new_events();
UPDATE correlate.correlation_watermark w SET last_event_id = x.id, last_event_ts = x.ts
FROM (SELECT id, ts FROM correlate.event ORDER BY id DESC OFFSET 1000 LIMIT 1) x;"
measure "correlate_new_events(): 1000 new events" "$back" "SELECT count(*) FROM correlate.correlate_new_events();"
measure "correlate_new_events(): nothing new" "" "SELECT count(*) FROM correlate.correlate_new_events();"
# Issue 14's target: 100k new events (the watermark set back by 100,000 ids), with the
# correlation rules the tenant has (printed).
back100k="SELECT count(*) FROM correlate.correlate_new_events();
UPDATE correlate.correlation_watermark w SET last_event_id = x.id, last_event_ts = x.ts
FROM (SELECT id, ts FROM correlate.event ORDER BY id DESC OFFSET 100000 LIMIT 1) x;"
echo "correlation rules enabled: $(q -c "SELECT count(*) FROM correlate.correlation_rule WHERE enabled")"
measure "correlate_new_events(): 100000 new events" "$back100k" "SELECT count(*) FROM correlate.correlate_new_events();"
# rescore(): attack edges derived first (not measured here: test/bench/attack_bench.sh),
# then from scratch (the baseline), and incremental with nothing changed.
q -c "SELECT * FROM correlate.derive_attack_edges()" >/dev/null
measure "rescore(from_scratch => true)" "" "SELECT * FROM correlate.rescore(as_of => '2026-11-02', from_scratch => true);"
measure "rescore(), incremental, nothing changed" "SELECT * FROM correlate.rescore(as_of => '2026-11-02');" "SELECT * FROM correlate.rescore(as_of => '2026-11-02');"
q -F ' ' -c "SELECT 'incidents', count(*) FROM correlate.incident" -c "SELECT 'incident events', count(*) FROM correlate.incident_event" \
  -c "SELECT 'scored resources', count(*) FROM correlate.risk_score" -c "SELECT 'toxic combinations', count(*) FROM correlate.toxic_combination"
