#!/usr/bin/env bash
# pg_cron drives correlate's maintenance: a scheduled job creates the event partitions
# ahead, and the retention job (correlate.schedule_retention) enforces each tenant's
# period without touching the other tenant's events. pg_cron runs in the database
# named by cron.database_name (default postgres).
set -euo pipefail
db=$(psql -X -A -t -c "SHOW cron.database_name")
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION correlate;
SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname IN ('correlate-partitions', 'correlate-retention');
SELECT cron.schedule('correlate-partitions', '* * * * *',
       $$SELECT count(*) FROM correlate.create_event_partitions(2, '2031-01-15')$$) > 0 AS scheduled;
-- two tenants with events from 2020 (older than any period) and 2031; only short keeps 7 days
SET correlate.tenant = 'short';
SELECT correlate.record_event(ts, 6003, 'api', uid => 'short-' || ts::date) FROM unnest(ARRAY['2020-01-01', '2031-01-20']::timestamptz[]) ts;
SELECT correlate.set_retention('events', '7 days');
SET correlate.tenant = 'long';
SELECT correlate.record_event(ts, 6003, 'api', uid => 'long-' || ts::date) FROM unnest(ARRAY['2020-01-01', '2031-01-20']::timestamptz[]) ts;
SELECT correlate.schedule_retention('* * * * *') > 0 AS scheduled;
SQL
# The jobs run at the top of the next minute; wait for their first runs (at most ~4 minutes: a loaded
# machine has taken over two).
job_status() {
  psql -X -A -t -d "$db" -c "SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
            WHERE j.jobname = '$1' ORDER BY d.runid DESC LIMIT 1"
}
for _ in $(seq 1 240); do
  status=$(job_status correlate-partitions)
  rstatus=$(job_status correlate-retention)
  done_=1
  for s in "$status" "$rstatus"; do
    { [ -n "$s" ] && [ "$s" != "running" ] && [ "$s" != "starting" ]; } || done_=0
  done
  [ "$done_" = 1 ] && break
  sleep 1
done
echo "job status: ${status:-none}, retention job: ${rstatus:-none}"
parts=$(psql -X -A -t -d "$db" -c "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'correlate.event'::regclass")
echo "partitions: $parts"
# the clock is past 2020 + 7 days on any date this runs, and the newest 'short' event (2031)
# caps the clock's lead, so exactly the 2020 event of 'short' is gone
left=$(psql -X -A -t -d "$db" -c "SELECT string_agg(uid, ',' ORDER BY uid) FROM correlate.event WHERE source = 'api'")
echo "events left: $left"
psql -X -q -d "$db" -c "SELECT cron.unschedule('correlate-partitions'), cron.unschedule('correlate-retention')" >/dev/null
psql -X -q -d "$db" -c "DROP EXTENSION correlate CASCADE" >/dev/null
[ "$status" = "succeeded" ] && [ "$parts" = "event_default,event_p203101,event_p203102,event_p203103" ] \
  && [ "$rstatus" = "succeeded" ] && [ "$left" = "long-2020-01-01,long-2031-01-20,short-2031-01-20" ]
