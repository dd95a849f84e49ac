-- 15_progress.sql: progress of long work (src/progress.c, docs/progress.md).
--
-- Ingest of a file, detect over history, rescore and derive_attack_edges report
-- what they are doing: a NOTICE at most once per correlate.progress_notice_interval,
-- and a row in correlate.progress that other sessions read while the job runs (as
-- pg_stat_progress_* views; across sessions only when correlate is in
-- shared_preload_libraries, otherwise a session sees only its own job).  The
-- _progress_* functions are the calls PL/pgSQL work makes; a job ends with
-- _progress_end() or with its transaction.

CREATE FUNCTION correlate._progress_begin(command text, total bigint, unit text DEFAULT 'steps') RETURNS void
AS 'MODULE_PATHNAME', 'correlate_progress_begin' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION correlate._progress_begin(text, bigint, text)
	IS 'Internal (long work): starts reporting the progress of command in the current tenant; total NULL when unknown. A job begun inside another shows as its phase.';

CREATE FUNCTION correlate._progress_phase(phase text, done bigint DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'correlate_progress_phase' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION correlate._progress_phase(text, bigint)
	IS 'Internal (long work): names the running job''s phase, and sets how much is done when done is given.';

CREATE FUNCTION correlate._progress_advance(done bigint) RETURNS void
AS 'MODULE_PATHNAME', 'correlate_progress_advance' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION correlate._progress_advance(bigint)
	IS 'Internal (long work): sets how much of the running job is done (in its unit, at most its total).';

CREATE FUNCTION correlate._progress_end() RETURNS void
AS 'MODULE_PATHNAME', 'correlate_progress_end' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION correlate._progress_end()
	IS 'Internal (long work): ends the running job (the innermost one when jobs nest).';

CREATE FUNCTION correlate._progress_rows(OUT pid integer, OUT tenant text, OUT command text, OUT phase text,
	OUT done bigint, OUT total bigint, OUT unit text, OUT started timestamptz, OUT updated timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'correlate_progress_rows' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION correlate._progress_rows()
	IS 'Internal: the rows of correlate.progress, filtered to the tenants the current role may read.';

CREATE VIEW correlate.progress AS
	SELECT p.pid, p.tenant, p.command, p.phase, p.done, p.total, p.unit, p.started, p.updated
	FROM correlate._progress_rows() p;
COMMENT ON VIEW correlate.progress
	IS 'One row per long job running in this database (ingest_file, detect, rescore, derive_attack_edges) in a tenant the current role may read; across sessions only when correlate is in shared_preload_libraries.';
COMMENT ON COLUMN correlate.progress.pid IS 'Backend running the job (pg_stat_activity.pid; pg_cancel_backend stops it).';
COMMENT ON COLUMN correlate.progress.tenant IS 'Tenant the job works in.';
COMMENT ON COLUMN correlate.progress.command IS 'What was called: ingest_file, detect, rescore, derive_attack_edges.';
COMMENT ON COLUMN correlate.progress.phase IS 'What it is doing now; a nested job shows as "its command: its phase".';
COMMENT ON COLUMN correlate.progress.done IS 'How much of the current (innermost) job is done, in unit.';
COMMENT ON COLUMN correlate.progress.total IS 'How much there is in all, in unit; NULL when not known.';
COMMENT ON COLUMN correlate.progress.unit IS 'What done and total count: bytes, events, steps.';
COMMENT ON COLUMN correlate.progress.started IS 'When the job began.';
COMMENT ON COLUMN correlate.progress.updated IS 'When the job last reported.';

GRANT EXECUTE ON FUNCTION correlate._progress_rows() TO correlate_reader;
GRANT SELECT ON correlate.progress TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate._progress_begin(text, bigint, text), correlate._progress_phase(text, bigint),
	correlate._progress_advance(bigint), correlate._progress_end() TO correlate_writer;
