#!/usr/bin/env bash
# Cost of the graph change triggers' transition tables on ingest (one command; not a test).
#
#   pg_virtualenv -o shared_preload_libraries=pg_cron test/bench/graph_trigger_bench.sh
#
# Ingests the same generated CloudTrail file (CT_N records, default 100000) with
# correlate.ingest_file, alternating two trigger set-ups in one run on emptied tables:
#   before  one AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE statement trigger per table,
#           no transition tables (what correlate had before issue 16; the function then
#           logs '' once per transaction)
#   after   the installed triggers: one per event, INSERT/UPDATE/DELETE with transition
#           tables whose tenant column the function reads
# and prints the medians of RUNS (default 5) runs, wall clock and the backend's CPU time,
# and the ratio after / before.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-5}
CT_N=${CT_N:-100000}
dir=$(mktemp -d /tmp/graph_trigger_bench.XXXXXX)
chmod 755 "$dir"
db=graph_trigger_bench_$$
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
createdb "$db"
export PGDATABASE=$db
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q >/dev/null <<'SQL'
CREATE EXTENSION correlate;
SELECT count(*) FROM correlate.create_event_partitions(1, '2026-11-01');
CREATE SCHEMA bench;
CREATE FUNCTION bench.cpu() RETURNS float8 LANGUAGE sql AS $$
  SELECT (f[12]::float8 + f[13]::float8) / 100.0
  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s $$;
CREATE FUNCTION bench.reset() RETURNS void LANGUAGE sql SET client_min_messages = warning AS $$
  TRUNCATE correlate.event, correlate.resource, correlate.relationship, correlate.finding, correlate.ingest_reject CASCADE $$;
-- set-up: 'before' (one multi-event trigger, no transition tables) or 'after' (as installed)
CREATE FUNCTION bench.triggers(mode text) RETURNS void LANGUAGE plpgsql SET client_min_messages = warning AS $$
DECLARE t text; e text;
BEGIN
  FOREACH t IN ARRAY ARRAY['resource', 'relationship'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS graph_changed ON correlate.%I', t);
    FOREACH e IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
      EXECUTE format('DROP TRIGGER IF EXISTS graph_changed_%s ON correlate.%I', e, t);
    END LOOP;
    IF mode = 'before' THEN
      EXECUTE format('CREATE TRIGGER graph_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON correlate.%I
                      FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed()', t);
    ELSE
      EXECUTE format('CREATE TRIGGER graph_changed_insert AFTER INSERT ON correlate.%I REFERENCING NEW TABLE AS n
                      FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed()', t);
      EXECUTE format('CREATE TRIGGER graph_changed_update AFTER UPDATE ON correlate.%I REFERENCING OLD TABLE AS o NEW TABLE AS n
                      FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed()', t);
      EXECUTE format('CREATE TRIGGER graph_changed_delete AFTER DELETE ON correlate.%I REFERENCING OLD TABLE AS o
                      FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed()', t);
      EXECUTE format('CREATE TRIGGER graph_changed_truncate AFTER TRUNCATE ON correlate.%I
                      FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed()', t);
    END IF;
  END LOOP;
END $$;
SQL
python3 "$here/gen_cloudtrail.py" "$CT_N" --records-wrapper >"$dir/ct.json"
chmod 644 "$dir/ct.json"
echo "# $(q -c "SELECT version()" | cut -d, -f1); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); CloudTrail $CT_N records, medians of $RUNS runs"

run() {   # run MODE: prints "wall cpu"
  q -c "SELECT bench.reset()" >/dev/null
  q -c "SELECT bench.triggers('$1')" >/dev/null
  q -c "VACUUM ANALYZE correlate.event, correlate.resource, correlate.relationship" >/dev/null
  q <<SQL | tail -1
SELECT bench.cpu() AS c0, extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT events FROM correlate.ingest_file('cloudtrail', '$dir/ct.json');
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3) || ' ' || round((bench.cpu() - :c0)::numeric, 2);
SQL
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bw=() bc=() aw=() ac=()
for ((i = 1; i <= RUNS; i++)); do
  read -r w c < <(run before); bw+=("$w"); bc+=("$c")
  read -r w c < <(run after); aw+=("$w"); ac+=("$c")
done
q -c "SELECT bench.triggers('after')" >/dev/null
mbw=$(printf '%s\n' "${bw[@]}" | median); mbc=$(printf '%s\n' "${bc[@]}" | median)
maw=$(printf '%s\n' "${aw[@]}" | median); mac=$(printf '%s\n' "${ac[@]}" | median)
echo "# resources $(q -c "SELECT count(*) FROM correlate.resource"), relationships $(q -c "SELECT count(*) FROM correlate.relationship") per run"
awk -v n="$CT_N" -v bw="$mbw" -v bc="$mbc" -v aw="$maw" -v ac="$mac" 'BEGIN {
  printf "before (no transition tables) %6.2fs wall %6.2fs cpu %8.0f/s cpu\n", bw, bc, n/bc
  printf "after  (transition tables)    %6.2fs wall %6.2fs cpu %8.0f/s cpu\n", aw, ac, n/ac
  printf "after / before: %.3fx cpu, %.3fx wall\n", ac/bc, aw/bw }'
