#!/usr/bin/env bash
# Soak: 16 writers and 4 readers for SOAK_SECONDS (default 60; `make soak-check` runs 600)
# in four tenants.  Writers 0-11 ingest CloudTrail documents (SOAK_RECORDS records each,
# default 200, every eventID unique), 12-13 rescore and 14-15 correlate (incrementally);
# readers walk the graph (blast_radius), read the top risks, the incidents and the events.
# Each worker is one session running a procedure that commits after every call, so its
# backend lives for the whole run.  Fails on any error in a worker (a deadlock included),
# on an event lost or stored twice (every committed ingest is logged in the same
# transaction, and the events must match the log exactly), or when a backend's memory
# (the sum of its memory contexts) at the end is over 1.5x its steady state (the largest
# figure between 20% and 40% of the run).  Prints throughput and memory.  The data is
# fixed (no clock involved): date-free.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/cluster.sh
log_lines=$(wc -l <"$CLUSTER_LOG" 2>/dev/null || echo 0)
# Under the clock-shifted run of the test command (CORRELATE_TEST_CLOCK) 20 s: the data has
# fixed dates, so that run only proves nothing here depends on the date, and the suite stays short.
SECS=${SOAK_SECONDS:-$([ -n "${CORRELATE_TEST_CLOCK:-}" ] && echo 20 || echo 60)} RECORDS=${SOAK_RECORDS:-200}
db=corr_soak
dropdb --if-exists $db
createdb $db
trap 'dropdb --if-exists $db >/dev/null 2>&1 || true' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $db "$@"; }
q -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION correlate' >/dev/null
q -v records="$RECORDS" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT count(*) FROM correlate.create_event_partitions(2, '2026-11-01');
INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window)
VALUES ('soak-probe', 'Policy change then delete', 'A bucket policy change, then a delete by the same identity.', 'low', '10 minutes');
INSERT INTO correlate.correlation_step (rule, step, label, domains, actions, link) VALUES
	('soak-probe', 1, 'policy', NULL, ARRAY['s3:PutBucketPolicy'], 'identity_chain'),
	('soak-probe', 2, 'delete', NULL, ARRAY['s3:DeleteObject'], 'identity_chain');
-- a small graph per tenant for the readers: internet -> 20 load balancers -> 400 pods -> 40 roles
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['soak_a', 'soak_b', 'soak_c', 'soak_d'] LOOP
		PERFORM set_config('correlate.tenant', t, true);
		PERFORM correlate.link(correlate.internet(), correlate.upsert_resource('lb-' || g, 'aws:elb:load-balancer'), 'exposes')
		FROM generate_series(1, 20) g;
		PERFORM correlate.link(correlate.resource_id('lb-' || (g % 20 + 1)), correlate.upsert_resource('pod-' || g, 'k8s:pod'), 'exposes')
		FROM generate_series(1, 400) g;
		PERFORM correlate.link(correlate.resource_id('pod-' || g), correlate.upsert_resource('role-' || (g % 40), 'aws:iam:role'), 'runs_as')
		FROM generate_series(1, 400) g;
	END LOOP;
END
$$;
CREATE TABLE public.soak_log (worker int, iter int, events bigint, PRIMARY KEY (worker, iter));
CREATE TABLE public.soak_mem (worker int, pid int, at timestamptz, bytes bigint, rss_anon_kb bigint);
CREATE TABLE public.soak_err (worker int, iter int, sqlstate text, message text);
CREATE TABLE public.soak_ops (worker int PRIMARY KEY, kind text, tenant text, calls bigint, seconds float8);
-- A CloudTrail document of n records with ids unique to (worker, iter); identities and buckets repeat.
CREATE FUNCTION public.soak_doc(w int, i int, n int) RETURNS text LANGUAGE sql AS $$
	SELECT '{"Records": [' || string_agg(format(
		'{"eventVersion": "1.08", "eventTime": "2026-11-02T%s:%s:%sZ", "eventSource": "s3.amazonaws.com",'
		' "eventName": "%s", "awsRegion": "us-east-1", "sourceIPAddress": "10.1.%s.%s", "eventID": "soak-%s-%s-%s",'
		' "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/r%s/s", "accountId": "111122223333"},'
		' "resources": [{"ARN": "arn:aws:s3:::bucket-%s/o%s", "type": "AWS::S3::Object"}]}',
		lpad(((i * 7 + k) / 3600 % 24)::text, 2, '0'), lpad(((i * 7 + k) / 60 % 60)::text, 2, '0'),
		lpad(((i * 7 + k) % 60)::text, 2, '0'), CASE k % 50 WHEN 0 THEN 'PutBucketPolicy' WHEN 1 THEN 'DeleteObject' ELSE 'GetObject' END,
		w, k % 250, w, i, k, (w * 7 + k) % 20, k % 13, k), ', ') || ']}'
	FROM generate_series(1, n) k
$$;
CREATE FUNCTION public.soak_sample(w int) RETURNS void LANGUAGE sql AS $$
	INSERT INTO public.soak_mem
	SELECT w, pg_backend_pid(), clock_timestamp(), (SELECT sum(total_bytes) FROM pg_backend_memory_contexts),
		   (regexp_match(pg_read_file('/proc/self/status'), 'RssAnon:\s+(\d+)'))[1]::bigint
$$;
CREATE PROCEDURE public.soak_worker(w int, until timestamptz, records int) LANGUAGE plpgsql AS $$
DECLARE
	w_kind text := CASE WHEN w < 12 THEN 'ingest' WHEN w < 14 THEN 'rescore' WHEN w < 16 THEN 'correlate' ELSE 'read' END;
	w_tenant text := 'soak_' || chr(ascii('a') + w % 4);
	sampled timestamptz := '-infinity';
	i int := 0;
	n bigint;
	src bigint;
	t0 timestamptz := clock_timestamp();
	st text;
	msg text;
BEGIN
	PERFORM set_config('correlate.tenant', w_tenant, false);
	WHILE clock_timestamp() < until LOOP
		i := i + 1;
		BEGIN
			IF w_kind = 'ingest' THEN
				SELECT events INTO n FROM correlate.ingest('cloudtrail', public.soak_doc(w, i, records));
				INSERT INTO public.soak_log VALUES (w, i, n);
			ELSIF w_kind = 'rescore' THEN
				PERFORM * FROM correlate.rescore(as_of => '2026-11-03');
			ELSIF w_kind = 'correlate' THEN
				PERFORM count(*) FROM correlate.correlate();
			ELSE
				SELECT id INTO src FROM correlate.resource WHERE tenant = w_tenant AND uid = 'internet';
				PERFORM count(*) FROM correlate.blast_radius(ARRAY[src]);
				-- superusers see every tenant's rows: the queries name theirs
				PERFORM count(*) FROM (SELECT * FROM correlate.risk_score WHERE tenant = w_tenant ORDER BY score DESC LIMIT 20) s;
				PERFORM count(*) FROM (SELECT * FROM correlate.incident WHERE tenant = w_tenant ORDER BY last_ts DESC LIMIT 20) s;
				PERFORM count(*) FROM correlate.event
				WHERE tenant = w_tenant AND ts >= '2026-11-02 10:00+00' AND ts < '2026-11-02 10:05+00';
				PERFORM pg_sleep(0.005);   -- a reader that thinks between queries
			END IF;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			INSERT INTO public.soak_err VALUES (w, i, st, msg);
		END;
		IF clock_timestamp() > sampled + interval '1 second' THEN   -- memory, about once a second
			PERFORM public.soak_sample(w);
			sampled := clock_timestamp();
		END IF;
		COMMIT;
	END LOOP;
	PERFORM public.soak_sample(w);
	INSERT INTO public.soak_ops VALUES (w, w_kind, w_tenant, i, extract(epoch FROM clock_timestamp() - t0));
END
$$;
SQL
# ingest_* and rescore take the row locks of correlate.work_lock: superusers need no grant.
# the server's clock (the test command also runs with it moved years ahead)
until=$(q -c "SELECT clock_timestamp() + interval '$((SECS + 2)) seconds'")
pids=()
for w in $(seq 0 19); do
  psql -X -q -v ON_ERROR_STOP=1 -d $db -c "CALL public.soak_worker($w, '$until', $RECORDS)" >/tmp/soak_$$_$w.log 2>&1 &
  pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "FAIL  worker $i ended with an error:"; cat /tmp/soak_$$_$i.log; status=1; }
  rm -f /tmp/soak_$$_$i.log
done
[ $status -eq 0 ] || exit 1

q <<'SQL'
SELECT '# ' || kind || ': ' || sum(calls) || ' calls in ' || round(max(seconds)::numeric, 1) || ' s, '
	   || round(sum(calls) / max(seconds)::numeric, 1) || ' calls/s'
	   || CASE WHEN kind = 'ingest' THEN ', ' || (SELECT sum(events) FROM public.soak_log) || ' events, '
			|| round((SELECT sum(events) FROM public.soak_log) / max(seconds)::numeric) || ' events/s' ELSE '' END
FROM public.soak_ops GROUP BY kind ORDER BY kind;
SQL
errors=$(q -c "SELECT count(*) FROM public.soak_err")
if [ "$errors" -gt 0 ]; then
  echo "FAIL  $errors calls failed (40P01 is a deadlock):"
  q -c "SELECT worker, sqlstate, count(*), min(message) FROM public.soak_err GROUP BY 1, 2 ORDER BY 1, 2"
  tail -n +"$((log_lines + 1))" "$CLUSTER_LOG" 2>/dev/null | grep -A12 'deadlock detected' | cut -c1-600 | head -60 || true
  status=1
fi
# Every committed ingest is in soak_log with its event count, in the same transaction.
rows=$(q <<'SQL'
SELECT (SELECT coalesce(sum(events), 0) FROM public.soak_log) || ' ' ||
	   (SELECT count(*) FROM correlate.event WHERE uid LIKE 'soak-%') || ' ' ||
	   (SELECT count(DISTINCT (tenant, uid)) FROM correlate.event WHERE uid LIKE 'soak-%') || ' ' ||
	   (SELECT count(*) FROM public.soak_log l FULL JOIN (
			SELECT tenant, split_part(uid, '-', 2)::int w, split_part(uid, '-', 3)::int i, count(*) n
			FROM correlate.event WHERE uid LIKE 'soak-%' GROUP BY 1, 2, 3) e ON e.w = l.worker AND e.i = l.iter
		WHERE l.events IS DISTINCT FROM e.n OR e.tenant IS DISTINCT FROM 'soak_' || chr(ascii('a') + l.worker % 4))
SQL
)
read -r logged stored distinct badbatches <<<"$rows"
echo "# events: $logged logged by committed ingests, $stored stored, $distinct distinct, $badbatches batches incomplete"
[ "$logged" -gt 0 ] && [ "$logged" = "$stored" ] && [ "$stored" = "$distinct" ] && [ "$badbatches" = 0 ] \
  || { echo "FAIL  events lost or stored twice"; status=1; }
# Memory: per backend, steady state (max between 20% and 75% of the run) against the end (last 25%).
# A backend whose calls are long under load (correlate) may have no sample in the steady window: it is
# not judged, but at least 16 of the 20 backends must be.
mem=$(q -F ' ' <<'SQL'
WITH span AS (SELECT min(at) t0, max(at) t1 FROM public.soak_mem),
m AS (
	SELECT worker,
		   max(bytes) FILTER (WHERE at >= t0 + (t1 - t0) * 0.2 AND at < t0 + (t1 - t0) * 0.75) steady,
		   max(bytes) FILTER (WHERE at >= t0 + (t1 - t0) * 0.75) final,
		   max(rss_anon_kb) FILTER (WHERE at >= t0 + (t1 - t0) * 0.2 AND at < t0 + (t1 - t0) * 0.75) rss_steady,
		   max(rss_anon_kb) FILTER (WHERE at >= t0 + (t1 - t0) * 0.75) rss_final
	FROM public.soak_mem, span GROUP BY worker)
SELECT count(*) FILTER (WHERE final > 1.5 * steady) + CASE WHEN count(steady) < 16 THEN 1 ELSE 0 END,
	   round(max(final::numeric / steady), 2), round(max(steady) / 1048576.0, 1), round(max(final) / 1048576.0, 1),
	   round(max(rss_final::numeric / rss_steady), 2), round(max(rss_final) / 1024.0, 1)
FROM m
SQL
)
read -r over ratio steady final rss_ratio rss_final <<<"$mem"
echo "# memory contexts per backend: largest steady ${steady} MB, largest at the end ${final} MB, worst end/steady ${ratio}x;" \
     "RssAnon worst end/steady ${rss_ratio}x, largest ${rss_final} MB"
if [ "$over" != 0 ]; then
  echo "FAIL  $over backends grew past 1.5x their steady state (or fewer than 16 backends had a steady-state sample):"
  q -c "SELECT worker, min(bytes), max(bytes), count(*) FROM public.soak_mem GROUP BY 1 ORDER BY 1"
  status=1
fi
[ $status -eq 0 ] && echo "ok: no deadlock, no event lost or stored twice, memory within 1.5x"
exit $status
