\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Progress of long work (src/progress.c, docs/progress.md): the job's row in
-- correlate.progress within its transaction, nesting, the end of a job with its
-- (sub)transaction, tenant filtering and bad input.  Several sessions and the
-- NOTICE rate are tested by test/t/progress.sh; the test runner sets the notice
-- interval to 0 (test/run_all.sh), so no NOTICE is printed whatever the machine's speed.
SET timezone = 'UTC';
SELECT boot_val, unit FROM pg_settings WHERE name = 'correlate.progress_notice_interval';
SELECT count(*) AS rows_outside_a_job FROM correlate.progress;

-- 1. A job's row lives until _progress_end().
BEGIN;
SELECT correlate._progress_begin('load', 1000, 'records');
SELECT pid = pg_backend_pid() AS own, tenant, command, phase, done, total, unit,
	   started <= updated AS started_first FROM correlate.progress;
SELECT correlate._progress_phase('reading', 250);
SELECT command, phase, done, total FROM correlate.progress;
SELECT correlate._progress_advance(1000);
SELECT done, total FROM correlate.progress;
SELECT correlate._progress_end();
SELECT count(*) AS rows_after_end FROM correlate.progress;
COMMIT;

-- 2. A job begun inside another shows as its phase; the outer one comes back after.
BEGIN;
SELECT correlate._progress_begin('rescore', 3, 'steps');
SELECT correlate._progress_phase('deriving attack edges');
SELECT correlate._progress_begin('derive_attack_edges', 3);
SELECT correlate._progress_phase('merging image aliases', 1);
SELECT command, phase, done, total, unit FROM correlate.progress;
SELECT correlate._progress_end();
SELECT command, phase, done, total, unit FROM correlate.progress;
-- an unknown total is NULL
SELECT correlate._progress_begin('scan', NULL, 'rows');
SELECT correlate._progress_advance(123456789012);
SELECT command, phase, done, total, unit FROM correlate.progress;
SELECT correlate._progress_end();
SELECT correlate._progress_end();
COMMIT;

-- 3. The transaction's end ends every job it began, committed or not.
BEGIN;
SELECT correlate._progress_begin('forgotten', 5);
COMMIT;
SELECT count(*) AS rows_after_commit FROM correlate.progress;
BEGIN;
SELECT correlate._progress_begin('failing', 5);
SELECT 1 / 0;
ROLLBACK;
SELECT count(*) AS rows_after_abort FROM correlate.progress;

-- 4. A subtransaction's abort ends the jobs it began, and only those.
DO $$
BEGIN
	PERFORM correlate._progress_begin('outer', 2);
	BEGIN
		PERFORM correlate._progress_begin('inner', 9);
		PERFORM 1 / 0;
	EXCEPTION WHEN division_by_zero THEN
		RAISE NOTICE 'caught; progress shows %', (SELECT string_agg(command || ' / ' || COALESCE(phase, '-'), ', ') FROM correlate.progress);
	END;
	PERFORM correlate._progress_end();
	RAISE NOTICE 'after the end: % rows', (SELECT count(*) FROM correlate.progress);
END
$$;

-- 5. Real work reports.  A trigger shows the row as the writes happen: ingest_file
-- counts bytes of the file (written when the batch is flushed, after the last read),
-- detect counts the events its rules saw (written after the scan); rescore runs
-- derive_attack_edges as its phase.  None leaves a row behind, and a job around them
-- comes back after each.
\set d `pwd`
SELECT correlate.grant_tenant('default', 'correlate_reader');
CREATE FUNCTION pg_temp.show_progress() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE '% on %: %', TG_OP, TG_TABLE_NAME,
		(SELECT string_agg(format('%s / %s / %s of %s %s', command, COALESCE(phase, '-'), done, COALESCE(total::text, '?'), unit), ', ')
		 FROM correlate.progress);
	RETURN NULL;
END
$$;
CREATE TRIGGER show_progress AFTER INSERT ON correlate.event FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.show_progress();
CREATE TRIGGER show_progress AFTER INSERT ON correlate.detection FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.show_progress();
CREATE TRIGGER show_progress AFTER INSERT OR UPDATE ON correlate.risk_score FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.show_progress();
CREATE TRIGGER show_progress AFTER INSERT OR UPDATE ON correlate.attack_derive_state FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.show_progress();
SELECT (pg_stat_file(:'d' || '/test/data/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-delete.json')).size AS file_bytes;
SELECT events FROM correlate.ingest_file('cloudtrail', :'d' || '/test/data/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-delete.json');
SELECT events FROM correlate.ingest_file('cloudtrail', :'d' || '/test/data/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-stop.json');
SELECT count(*) AS loaded FROM correlate.load_sigma($y$
title: Trail Stopped (progress test)
id: 0d7c1b7e-1111-4111-8111-000000000015
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: StopLogging
  condition: sel
$y$);
SELECT count(*) AS all_events FROM correlate.event;
SELECT title, matched FROM correlate.detect('2020-01-01', '2030-01-01');
BEGIN;
SELECT correlate._progress_begin('nightly', 2);
SELECT resources >= 0 AS rescored FROM correlate.rescore('2026-11-20 00:00+00');
SELECT command, phase FROM correlate.progress;
SELECT inserted + updated + deleted >= 0 AS derived FROM correlate.derive_attack_edges(true);
SELECT command, phase FROM correlate.progress;
COMMIT;
SELECT count(*) AS rows_after_work FROM correlate.progress;
DROP TRIGGER show_progress ON correlate.event;
DROP TRIGGER show_progress ON correlate.detection;
DROP TRIGGER show_progress ON correlate.risk_score;
DROP TRIGGER show_progress ON correlate.attack_derive_state;

-- 6. Tenant filtering: a role sees only jobs of tenants it was granted; an admin sees all.
SET client_min_messages = warning;
DROP ROLE IF EXISTS progress_acme, progress_globex, progress_admin, progress_outsider;
RESET client_min_messages;
CREATE ROLE progress_acme IN ROLE correlate_writer;
CREATE ROLE progress_globex IN ROLE correlate_writer;
CREATE ROLE progress_admin IN ROLE correlate_admin;
CREATE ROLE progress_outsider;
SELECT correlate.grant_tenant('acme', 'progress_acme'), correlate.grant_tenant('globex', 'progress_globex');
BEGIN;
SET LOCAL correlate.tenant = 'acme';
SET LOCAL ROLE progress_acme;
SELECT correlate._progress_begin('acme job', 10);
SET LOCAL ROLE progress_globex;
SELECT 'globex' AS role, count(*) FROM correlate.progress;
SET LOCAL ROLE progress_acme;
SELECT 'acme' AS role, count(*) FROM correlate.progress;
SET LOCAL ROLE progress_admin;
SELECT 'admin' AS role, tenant, command FROM correlate.progress;
ROLLBACK;
-- a job runs in the session's tenant, as current_tenant() checks it
BEGIN;
SET LOCAL correlate.tenant = 'acme';
SET LOCAL ROLE progress_globex;
SELECT correlate._progress_begin('not mine', 1);
ROLLBACK;
-- a role outside correlate cannot read the view
BEGIN;
SET LOCAL ROLE progress_outsider;
SELECT count(*) FROM correlate.progress;
ROLLBACK;

-- 7. Bad input.
SELECT correlate._progress_begin(NULL, 1);
SELECT correlate._progress_begin('', 1);
SELECT correlate._progress_begin(repeat('x', 64), 1);
SELECT correlate._progress_begin('job', -1);
SELECT correlate._progress_begin('job', 1, NULL);
SELECT correlate._progress_begin('job', 1, '');
SELECT correlate._progress_begin('job', 1, repeat('u', 32));
SELECT correlate._progress_advance(1);
SELECT correlate._progress_phase('x');
SELECT correlate._progress_end();
BEGIN;
SELECT correlate._progress_begin('job', 10);
SAVEPOINT a;
SELECT correlate._progress_advance(-1);
ROLLBACK TO a;
SELECT correlate._progress_advance(11);
ROLLBACK TO a;
SELECT correlate._progress_advance(NULL);
ROLLBACK TO a;
SELECT correlate._progress_phase(NULL);
ROLLBACK TO a;
SELECT correlate._progress_phase(repeat('p', 64));
ROLLBACK TO a;
SELECT correlate._progress_phase('p', -5);
ROLLBACK TO a;
SELECT command, done, total FROM correlate.progress;
ROLLBACK;
SET correlate.progress_notice_interval = -1;
SET correlate.progress_notice_interval = '2 days';
SET correlate.progress_notice_interval = '1min';
SHOW correlate.progress_notice_interval;
RESET correlate.progress_notice_interval;

DROP EXTENSION correlate CASCADE;
DROP ROLE progress_acme, progress_globex, progress_admin, progress_outsider;
