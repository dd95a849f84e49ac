-- Issue 15 (progress of long work): the view over the progress slots (15_progress.sql).
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
GRANT SELECT ON correlate.progress TO correlate_reader;
