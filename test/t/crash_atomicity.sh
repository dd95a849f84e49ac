#!/usr/bin/env bash
# Crash atomicity: SIGKILL a backend at a random point of a large ingest, a rescore and a
# correlate (in turn, CRASH_ROUNDS rounds, default 3; `make crash-check` runs 20).  The
# postmaster then resets every backend and replays the WAL.  After each restart:
#   - the batch is all or nothing: the ingest's tenant holds none or all of the document's
#     events, resources and relationships; rescore's scores and toxic combinations, and
#     correlate's incidents, are either as before the call or exactly what a complete call
#     writes (both states measured before the rounds; the "before" state is reset each time
#     so the two differ);
#   - amcheck finds nothing: bt_index_check(heapallindexed) on every btree index of the
#     schema, verify_heapam on every table;
#   - a new session rebuilds the graph snapshot and blast_radius answers as before.
# The estate, events and document are generated (test/bench/gen_estate.sql, CRASH_N
# resources, default 2000; CRASH_EVENTS events, default 4000, for correlate; a CloudTrail
# document of CRASH_RECORDS records, default 5000; `make crash-check` uses 20000).  CRASH_SEED picks the kill points (printed).  Fixed timestamps: date-free.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
ROUNDS=${CRASH_ROUNDS:-3} N=${CRASH_N:-2000} RECORDS=${CRASH_RECORDS:-5000} EVENTS=${CRASH_EVENTS:-4000}
seed=${CRASH_SEED:-$$}
RANDOM=$seed
db=corr_atomic
dropdb --if-exists $db
createdb $db
trap 'dropdb --if-exists $db >/dev/null 2>&1 || true' EXIT
export PGOPTIONS='-c client_min_messages=error'
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }
q -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION correlate' -c 'CREATE EXTENSION amcheck' >/dev/null
q -v n="$N" -v seed=0.42 -f test/bench/gen_estate.sql >/dev/null
q -v n="$N" -v records="$RECORDS" -v events="$EVENTS" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT count(*) FROM correlate.create_event_partitions(2, '2026-11-01');
INSERT INTO correlate.event (tenant, ts, uid, source, class_uid, domain, severity_id, actor, target, action, outcome)
SELECT 'default', timestamptz '2026-11-01 00:00:00+00' + g * interval '1 minute', 'ev-' || g, 'cloudtrail', 6003,
	   'data', 3, 1 + (g::bigint * 7919) % (:n / 4), 1 + (g::bigint * 104729) % :n, 's3:GetObject', 'success'
FROM generate_series(1, :events) g;
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window)
VALUES ('crash-probe', 'Two reads', 'A read followed by another read by the same identity.', 'low', '1 hour');
INSERT INTO correlate.correlation_step (rule, step, label, domains, actions, link) VALUES
	('crash-probe', 1, 'read', ARRAY['data'], ARRAY['s3:*'], 'identity_chain'),
	('crash-probe', 2, 'read again', ARRAY['data'], ARRAY['s3:*'], 'identity_chain');
ANALYZE correlate.event, correlate.resource, correlate.relationship;
CREATE TABLE public.big_doc AS
SELECT '{"Records": [' || string_agg(format(
	'{"eventVersion": "1.08", "eventTime": "2026-11-02T%s:%s:%sZ", "eventSource": "s3.amazonaws.com", "eventName": "GetObject",'
	' "awsRegion": "us-east-1", "sourceIPAddress": "10.0.%s.%s", "eventID": "big-%s",'
	' "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/r%s/s", "accountId": "111122223333"},'
	' "resources": [{"ARN": "arn:aws:s3:::bucket-%s/o%s", "type": "AWS::S3::Object"}]}',
	lpad((g / 3600 % 24)::text, 2, '0'), lpad((g / 60 % 60)::text, 2, '0'), lpad((g % 60)::text, 2, '0'),
	g % 250, g % 250, g, g % 500, g % 97, g), ', ') || ']}' AS body
FROM generate_series(1, :records) g;
-- What a batch left, per tenant, and what rescore and correlate wrote (without ids and clock times).
CREATE FUNCTION public.batch_counts(t text) RETURNS text LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM correlate.event WHERE tenant = t) || ' ' ||
		   (SELECT count(*) FROM correlate.resource WHERE tenant = t) || ' ' ||
		   (SELECT count(*) FROM correlate.relationship WHERE tenant = t)
$$;
CREATE FUNCTION public.rescore_digest() RETURNS text LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM correlate.risk_score WHERE tenant = 'default') || ' ' || md5(
		coalesce((SELECT string_agg(resource_id || ':' || score || ':' || reasons::text, ',' ORDER BY resource_id)
				  FROM correlate.risk_score WHERE tenant = 'default'), '') || '|' ||
		coalesce((SELECT string_agg(rule || ':' || resource_id || ':' || severity || ':' || reasons::text || evidence::text, ','
				  ORDER BY rule, resource_id) FROM correlate.toxic_combination WHERE tenant = 'default'), ''))
$$;
CREATE FUNCTION public.correlate_digest() RETURNS text LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM correlate.incident WHERE tenant = 'default') || ' ' || md5(coalesce((
		SELECT string_agg(i.rule || ':' || i.anchor_event || ':' || i.first_ts || ':' || i.last_ts || ':' || i.entities::text
						  || ':' || i.severity || ':' || (SELECT string_agg(e.event_id || '/' || e.step, ';' ORDER BY e.event_id, e.step)
														 FROM correlate.incident_event e WHERE e.tenant = i.tenant AND e.incident = i.id),
						  ',' ORDER BY i.rule, i.anchor_event)
		FROM correlate.incident i WHERE i.tenant = 'default'), ''))
$$;
CREATE FUNCTION public.reset_rescore() RETURNS void LANGUAGE sql AS $$
	UPDATE correlate.risk_score SET score = 0, reasons = '[]' WHERE tenant = 'default';
	DELETE FROM correlate.toxic_combination WHERE tenant = 'default';
$$;
CREATE FUNCTION public.reset_correlate() RETURNS void LANGUAGE sql AS $$
	DELETE FROM correlate.incident WHERE tenant = 'default';
	DELETE FROM correlate.correlation_watermark WHERE tenant = 'default';
$$;
CREATE FUNCTION public.graph_digest() RETURNS text LANGUAGE sql AS $$
	SELECT count(*) || ' ' || md5(string_agg(resource_id || ':' || hops || ':' || round(likelihood::numeric, 9), ','
											 ORDER BY resource_id))
	FROM correlate.blast_radius(ARRAY[1::bigint])
$$;
SQL

# The three calls, each in a transaction of its own (as a caller makes them).
op_sql() {
  case $1 in
    ingest) echo "SET correlate.tenant = '$2'; SELECT * FROM correlate.ingest('cloudtrail', (SELECT body FROM public.big_doc));" ;;
    rescore) echo "SELECT * FROM correlate.rescore(as_of => '2026-11-03');" ;;
    correlate) echo "SELECT count(*) FROM correlate.correlate(since => '2026-11-01', until => '2026-11-06');" ;;
  esac
}
ms() { date +%s%3N; }

# Reference: what a complete call leaves, and how long it takes (the kill points are drawn in that span).
declare -A dur
t0=$(ms); q -c "$(op_sql ingest ref)" >/dev/null; dur[ingest]=$(( $(ms) - t0 ))
ingest_all=$(q -c "SELECT public.batch_counts('ref')")
# rescore and correlate: a first call, then the timed one from the reset state each round starts from
q -c "$(op_sql rescore)" -c "$(op_sql correlate)" >/dev/null
q -c "SELECT public.reset_rescore()" -c "SELECT public.reset_correlate()" >/dev/null
t0=$(ms); q -c "$(op_sql rescore)" >/dev/null; dur[rescore]=$(( $(ms) - t0 ))
rescore_after=$(q -c "SELECT public.rescore_digest()")
t0=$(ms); q -c "$(op_sql correlate)" >/dev/null; dur[correlate]=$(( $(ms) - t0 ))
correlate_after=$(q -c "SELECT public.correlate_digest()")
graph=$(q -c "SET correlate.graph_layer = facts" -c "SELECT public.graph_digest()")
echo "# seed $seed; complete calls: ingest ${dur[ingest]} ms ($ingest_all events/resources/relationships)," \
     "rescore ${dur[rescore]} ms (${rescore_after%% *} scores), correlate ${dur[correlate]} ms (${correlate_after%% *} incidents);" \
     "blast radius of the internet: ${graph%% *} resources"
[ "${ingest_all%% *}" -eq "$RECORDS" ] || { echo "the reference ingest loaded ${ingest_all%% *} of $RECORDS events"; exit 1; }
[ "${correlate_after%% *}" -gt 0 ] || { echo "the reference correlate found nothing: the round would test nothing"; exit 1; }

ready_count() { grep -c 'database system is ready to accept connections' "$CLUSTER_LOG" || true; }
fail() { echo "FAIL  round $r ($op): $*"; exit 1; }
killed_rounds=0
for r in $(seq 1 "$ROUNDS"); do
  ops=(ingest rescore correlate)
  op=${ops[$(( (r - 1) % 3 ))]}
  tenant=crash_$r
  case $op in
    rescore) q -c "SELECT public.reset_rescore()" >/dev/null; before=$(q -c "SELECT public.rescore_digest()") ;;
    correlate) q -c "SELECT public.reset_correlate()" >/dev/null; before=$(q -c "SELECT public.correlate_digest()") ;;
    ingest) before="0 0 0" ;;
  esac
  delay=$(( RANDOM % (dur[$op] * 75 / 100 + 1) ))
  # bound crash recovery: the WAL to replay is this round's work, not every earlier round's
  q -c "CHECKPOINT" >/dev/null
  ready=$(ready_count)
  PGAPPNAME=crash_victim psql -X -q -At -d $db -c "$(op_sql "$op" "$tenant")" >/dev/null 2>&1 &
  victim=$!
  pid=
  for _ in $(seq 1 200); do
    pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'crash_victim' AND state = 'active'")
    [ -n "$pid" ] && break
    sleep 0.02
  done
  [ -n "$pid" ] || fail "the call did not start"
  sleep "$(awk -v d="$delay" 'BEGIN {printf "%.3f", d / 1000}')"
  if kill -KILL "$pid" 2>/dev/null; then
    killed=yes; killed_rounds=$((killed_rounds + 1))
    wait "$victim" || true
    # the postmaster resets every backend and replays the WAL; wait until it is ready again
    # (up to 5 minutes: replay on a loaded two-core machine has taken over a minute)
    for _ in $(seq 1 3000); do
      [ "$(ready_count)" -gt "$ready" ] && psql -X -q -At -d $db -c 'SELECT 1' >/dev/null 2>&1 && break
      sleep 0.1
    done
    [ "$(ready_count)" -gt "$ready" ] || fail "the server did not come back"
  else
    killed="no (the call ended first)"
    wait "$victim" || true
  fi
  case $op in
    ingest) now=$(q -c "SELECT public.batch_counts('$tenant')"); after=$ingest_all ;;
    rescore) now=$(q -c "SELECT public.rescore_digest()"); after=$rescore_after ;;
    correlate) now=$(q -c "SELECT public.correlate_digest()"); after=$correlate_after ;;
  esac
  if [ "$now" = "$before" ]; then state=nothing
  elif [ "$now" = "$after" ]; then state=all
  else fail "neither nothing ($before) nor all ($after): $now"
  fi
  indexes=$(q -c "SELECT count(bt_index_check(c.oid, true)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_am a ON a.oid = c.relam WHERE n.nspname = 'correlate' AND c.relkind = 'i' AND a.amname = 'btree'") \
    || fail "bt_index_check failed"
  heap=$(q -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, verify_heapam(c.oid) v
               WHERE n.nspname = 'correlate' AND c.relkind IN ('r', 'm', 't')") || fail "verify_heapam failed"
  [ "$heap" = 0 ] || fail "verify_heapam reported $heap problems"
  g=$(q -c "SET correlate.graph_layer = facts" -c "SELECT public.graph_digest()" -c "SELECT is_current AND nodes > 0 FROM correlate.graph_stats()")
  [ "$g" = "$graph"$'\n'"t" ] || fail "the graph answers differently after the restart: $g (before: $graph)"
  echo "round $r: $op killed after ${delay} ms: ${killed}; left $state; amcheck clean ($indexes indexes); graph rebuilt, same answer"
done
echo "ok: $ROUNDS rounds, $killed_rounds killed mid-call, every batch all or nothing"
