#!/usr/bin/env bash
# pg_cron drives correlate's maintenance: a scheduled job creates the event partitions
# ahead. pg_cron runs in the database named by cron.database_name (default postgres).
set -euo pipefail
db=$(psql -X -A -t -c "SHOW cron.database_name")
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION correlate;
SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'correlate-partitions';
SELECT cron.schedule('correlate-partitions', '* * * * *',
       $$SELECT count(*) FROM correlate.create_event_partitions(2, '2031-01-15')$$) > 0 AS scheduled;
SQL
# The job runs at the top of the next minute; wait for its first successful run (at most ~2 minutes).
for _ in $(seq 1 130); do
  status=$(psql -X -A -t -d "$db" -c "SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
            WHERE j.jobname = 'correlate-partitions' ORDER BY d.runid DESC LIMIT 1")
  [ -n "$status" ] && [ "$status" != "running" ] && [ "$status" != "starting" ] && break
  sleep 1
done
echo "job status: ${status:-none}"
parts=$(psql -X -A -t -d "$db" -c "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'correlate.event'::regclass")
echo "partitions: $parts"
psql -X -q -d "$db" -c "SELECT cron.unschedule('correlate-partitions')" >/dev/null
psql -X -q -d "$db" -c "DROP EXTENSION correlate CASCADE" >/dev/null
[ "$status" = "succeeded" ] && [ "$parts" = "event_default,event_p203101,event_p203102,event_p203103" ]
