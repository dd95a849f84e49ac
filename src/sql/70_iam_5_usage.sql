-- 70_iam_5_usage.sql: used versus granted.
--
-- correlate.permission_usage() puts side by side, for one user or role, the
-- actions its policies grant (correlate.what_can) and the actions CloudTrail
-- shows it performing in a time window (correlate.event rows with the
-- principal as actor and action '<service>:<eventName>').  Every used action is
-- paired with the grant that allows it; every grant no used action falls under
-- is listed as unused.  This is the input of least-privilege policy
-- generation: keep what is used, drop what is not.

CREATE FUNCTION correlate.permission_usage(principal bigint, since timestamptz,
										   until timestamptz DEFAULT now())
RETURNS TABLE (action text, used bigint, failed bigint, first_used timestamptz, last_used timestamptz,
			   granted text, pattern correlate.iam_pattern, statement bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	IF since IS NULL OR until IS NULL OR since > until THEN
		RAISE EXCEPTION 'the usage window must have since <= until'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('since is %s and until is %s.', COALESCE(since::text, 'NULL'), COALESCE(until::text, 'NULL'));
	END IF;

	RETURN QUERY
	WITH g AS MATERIALIZED (
		SELECT w.action AS pat, w.except_actions, w.decision, w.statement
		FROM correlate.what_can(permission_usage.principal) w
		WHERE w.decision IN ('allow', 'conditional', 'partial')
	), u AS (
		SELECT e.action AS act, count(*) AS n,
			   count(*) FILTER (WHERE e.outcome IS NOT NULL AND lower(e.outcome) NOT IN ('success', 'succeeded', 'ok')) AS nfail,
			   min(e.ts) AS first_ts, max(e.ts) AS last_ts
		FROM correlate.event e
		WHERE e.tenant = t AND e.actor = permission_usage.principal
		  AND e.ts >= since AND e.ts < until AND e.action IS NOT NULL
		GROUP BY e.action
	), used_rows AS (
		SELECT u.act, u.n, u.nfail, u.first_ts, u.last_ts, m.decision, m.pat, m.statement
		FROM u
		LEFT JOIN LATERAL (
			SELECT g.decision, g.pat, g.statement FROM g
			WHERE g.pat OPERATOR(correlate.~~>) u.act
			  AND (g.except_actions IS NULL OR NOT g.except_actions OPERATOR(correlate.~~>) u.act)
			ORDER BY array_position(ARRAY['allow', 'conditional', 'partial'], g.decision), g.statement
			LIMIT 1) m ON true
	)
	SELECT r.act, r.n, r.nfail, r.first_ts, r.last_ts, COALESCE(r.decision, 'not_granted'), r.pat, r.statement
	FROM used_rows r
	UNION ALL
	SELECT g.pat::text, 0::bigint, 0::bigint, NULL::timestamptz, NULL::timestamptz, g.decision, g.pat, g.statement
	FROM g
	WHERE NOT EXISTS (SELECT 1 FROM u WHERE g.pat OPERATOR(correlate.~~>) u.act
						AND (g.except_actions IS NULL OR NOT g.except_actions OPERATOR(correlate.~~>) u.act))
	ORDER BY 2 DESC, 1, 8;
END
$$;
COMMENT ON FUNCTION correlate.permission_usage(bigint, timestamptz, timestamptz)
	IS 'Used versus granted for a user or role: each action its events show in [since, until) with counts and the grant that allows it (granted = not_granted when none does), then each granted pattern no used action falls under (used = 0).';

CREATE FUNCTION correlate.permission_usage(principal text, since timestamptz, until timestamptz DEFAULT now())
RETURNS TABLE (action text, used bigint, failed bigint, first_used timestamptz, last_used timestamptz,
			   granted text, pattern correlate.iam_pattern, statement bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM correlate.permission_usage(correlate._principal_id(permission_usage.principal),
											 permission_usage.since, permission_usage.until);
$$;
COMMENT ON FUNCTION correlate.permission_usage(text, timestamptz, timestamptz)
	IS 'correlate.permission_usage() for the principal with this uid (ARN).';

GRANT EXECUTE ON FUNCTION correlate.permission_usage(bigint, timestamptz, timestamptz),
	correlate.permission_usage(text, timestamptz, timestamptz) TO correlate_reader;
