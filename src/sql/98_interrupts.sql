-- 98_interrupts.sql: the functions whose queries grow with the data run with JIT
-- compilation off.
--
-- On a large estate the planner judges their queries expensive enough to JIT-compile,
-- and LLVM compiles inside the executor's start-up without ever checking for
-- interrupts: rescore() and correlate() overran a 100 ms statement_timeout by 4 to 11
-- seconds while LLVM optimised their queries (test/t/cancel.sh; docs/reliability.md).
-- The compilation also costs more than it saves on these queries.  Set by name, so the
-- setting follows a function whose arguments change; a listed name that matches no
-- function stops the install, so a renamed function cannot silently lose the setting.
-- (Functions defined with their own SET jit = off, as in 87_detection.sql and
-- 95_output.sql, need no entry.)  The small per-row helpers are left alone: a SET clause costs every call a
-- GUC save and restore, and they run no query worth compiling.
DO $$
DECLARE
	names text[] := ARRAY['rescore', '_risk_reasons', 'explain_risk', 'run_scheduled_rescore',
						  'correlate', 'correlate_new_events', 'incident_timeline',
						  'refresh_policies', 'refresh_iam_edges', 'who_can', 'what_can', '_iam_evaluate',
						  'iam_admins', 'permission_usage', 'escalation_paths',
						  'attack_edges_derived', '_attack_edges', '_attack_focus', '_attack_region', 'derive_attack_edges',
						  'observed_flows', 'network_policy', 'least_privilege_policy', 'fix_plan',
						  '_record_rescore', '_risk_paths', '_risk_dependents', 'changes_since', 'posture_snapshot', 'prune_risk_history',
						  'apply_retention', 'data_inventory'];
	missing text;
	f regprocedure;
BEGIN
	SELECT pg_catalog.string_agg(x.n, ', ') INTO missing FROM unnest(names) AS x(n)
	WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
					  WHERE p.pronamespace = 'correlate'::regnamespace AND p.proname = x.n);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION '98_interrupts.sql names functions that do not exist: %', missing;
	END IF;
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'correlate'::regnamespace AND p.prokind = 'f'
		  AND p.prolang <> (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'c')
		  AND p.proname = ANY (names)
		ORDER BY 1
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SET jit = off', f);
	END LOOP;
END
$$;
