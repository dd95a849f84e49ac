-- 98_interrupts.sql: the functions whose queries grow with the data run with JIT
-- compilation off.
--
-- On a large estate the planner judges their queries expensive enough to JIT-compile,
-- and LLVM compiles inside the executor's start-up without ever checking for
-- interrupts: rescore() and correlate() overran a 100 ms statement_timeout by 4 to 11
-- seconds while LLVM optimised their queries (test/t/cancel.sh; docs/reliability.md).
-- The compilation also costs more than it saves on these queries.  Set by name, so the
-- setting follows a function whose arguments change; a function that does not exist is
-- skipped.  The small per-row helpers are left alone: a SET clause costs every call a
-- GUC save and restore, and they run no query worth compiling.
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'correlate'::regnamespace AND p.prokind = 'f'
		  AND p.prolang <> (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'c')
		  AND p.proname = ANY (ARRAY['rescore', '_risk_reasons', 'explain_risk', 'run_scheduled_rescore',
									 'correlate', 'correlate_new_events', 'incident_timeline',
									 'refresh_policies', 'refresh_iam_edges', 'who_can', 'what_can', '_iam_evaluate',
									 'iam_admins', 'permission_usage',
									 'observed_flows', 'network_policy', 'least_privilege_policy', 'fix_plan'])
		ORDER BY 1
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SET jit = off', f);
	END LOOP;
END
$$;
