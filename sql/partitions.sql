-- Monthly event partitions: created ahead, rows moved out of the default
-- partition, dropped after retention; bad arguments rejected.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
SET TIME ZONE 'America/New_York';   -- bounds are UTC months whatever the session zone

SELECT correlate.record_event('2026-10-31 23:30:00+00', 6003, 'api', uid => 'oct') IS NOT NULL AS ok;
SELECT correlate.record_event('2026-11-01 00:30:00+00', 6003, 'api', uid => 'nov') IS NOT NULL AS ok;
SELECT correlate.record_event('2020-01-01 00:00:00+00', 6003, 'api', uid => 'ancient') IS NOT NULL AS ok;
SELECT tableoid::regclass AS part, uid FROM correlate.event ORDER BY ts;

SELECT * FROM correlate.create_event_partitions(2, '2026-10-15 00:00:00+00');
SELECT * FROM correlate.create_event_partitions(2, '2026-10-15 00:00:00+00');  -- idempotent: nothing new
SELECT tableoid::regclass AS part, uid FROM correlate.event ORDER BY ts;
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'correlate.event'::regclass ORDER BY 1;
-- every partition carries the event keys and indexes
SELECT c.relname, count(*) AS indexes
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_index x ON x.indrelid = c.oid
WHERE i.inhparent = 'correlate.event'::regclass GROUP BY 1 ORDER BY 1;
-- idempotency holds across the move
SELECT correlate.record_event('2026-11-01 00:30:00+00', 6003, 'api', uid => 'nov') IS NOT NULL AS ok;
SELECT count(*) AS events FROM correlate.event;
-- a new row lands in its month
SELECT correlate.record_event('2026-12-24 12:00:00+00', 6003, 'api', uid => 'dec') IS NOT NULL AS ok;
SELECT tableoid::regclass AS part FROM correlate.event WHERE uid = 'dec';

-- Retention: partitions wholly older than as_of - retention go, and old rows in the default partition.
SELECT * FROM correlate.drop_event_partitions('30 days', as_of => '2026-12-15 00:00:00+00');
SELECT tableoid::regclass AS part, uid FROM correlate.event ORDER BY ts;

-- A clock stepped far ahead of the data (here: any clock after 2020-01-22, so every day
-- this test runs) does not make retention drop recent events: without as_of, age counts
-- from the newest stored event plus correlate.retention_clock_lead (7 days).
DELETE FROM correlate.event;
SELECT count(*) AS created FROM correlate.create_event_partitions(1, '2019-12-01 00:00:00+00');
SELECT correlate.record_event('2019-12-15 00:00:00+00', 6003, 'api', uid => 'dec19') IS NOT NULL AS ok;
SELECT correlate.record_event('2020-01-15 00:00:00+00', 6003, 'api', uid => 'jan20') IS NOT NULL AS ok;
SET client_min_messages = warning;   -- the NOTICE names how far ahead today's clock is
SELECT * FROM correlate.drop_event_partitions('10 days');  -- cutoff 2020-01-12: December goes, January stays
RESET client_min_messages;
SELECT tableoid::regclass AS part, uid FROM correlate.event ORDER BY ts;
SET correlate.retention_clock_lead = '-1 day';
SELECT correlate.drop_event_partitions('10 days');
RESET correlate.retention_clock_lead;
-- an explicit as_of is used as given
SELECT * FROM correlate.drop_event_partitions('10 days', as_of => '2031-01-01 00:00:00+00');
SELECT count(*) AS events FROM correlate.event;

-- Bad arguments
SELECT correlate.create_event_partitions(-1);
SELECT correlate.create_event_partitions(121);
SELECT correlate.create_event_partitions(1, 'infinity');
SELECT correlate.drop_event_partitions(NULL);
SELECT correlate.drop_event_partitions('-1 day');
SELECT correlate.drop_event_partitions('1 day', 'infinity');

DROP EXTENSION correlate CASCADE;
