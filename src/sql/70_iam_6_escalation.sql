-- 70_iam_6_escalation.sql: escalation chains over the assumes, can_escalate_to and runs_as
-- edges (runs_as: from the existing resources of a service to its roles).
--
--   escalation_paths(principal, target)  the ways a principal becomes the target (by
--                                        default anything admin-equivalent), step by
--                                        step, shortest first
--   escalation_summary()                 every user and role: admin-equivalent, or its
--                                        fewest steps to something that is
--   who_can(action, resource, include_denied, via_escalation)
--                                        who_can plus the principals that obtain the
--                                        permission by escalating, with the chain
--
-- Admin-equivalent: an account root node (a principal that can grant itself anything
-- leads there), a user or role marked iam_admin, or a group whose own policies allow *
-- on * unconditionally.  Searches are breadth-first and bounded: at most max_steps
-- edges, and at each depth at most max_paths partial paths per node (the likeliest), so
-- a dense graph cannot make them explode.

-- The admin-equivalent nodes of the tenant.
CREATE FUNCTION correlate._iam_admin_targets() RETURNS SETOF bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH star AS (SELECT correlate.iam_pattern('*') AS p)
	SELECT r.id FROM correlate.resource r
	WHERE r.tenant = (SELECT correlate.current_tenant())
	  AND (r.kind = 'aws:iam:root'
		   OR (r.kind IN ('aws:iam:user', 'aws:iam:role') AND r.props->>'iam_admin' = 'true')
		   OR (r.kind = 'aws:iam:group' AND EXISTS (
				SELECT 1 FROM correlate.iam_policy p JOIN correlate.iam_statement s ON s.tenant = p.tenant AND s.policy = p.id
				CROSS JOIN star
				WHERE p.tenant = r.tenant AND s.effect = 'Allow' AND NOT s.conditional
				  AND star.p OPERATOR(correlate.=) ANY (s.actions) AND star.p OPERATOR(correlate.=) ANY (s.resources)
				  AND (p.holder = r.id
					   OR (p.kind = 'managed' AND jsonb_typeof(r.props->'managed_policies') = 'array'
						   AND r.props->'managed_policies' ? p.name)))));
$$;
COMMENT ON FUNCTION correlate._iam_admin_targets()
	IS 'Internal: admin-equivalent nodes (account roots, users and roles marked iam_admin, groups whose policies allow * on *), the default target of escalation_paths.';

-- One step of a chain, as escalation_paths and who_can show it.
CREATE FUNCTION correlate._iam_step(edge bigint) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('src', s.uid, 'technique', COALESCE(e.props->>'technique', e.kind),
							  'statement', (e.props->>'statement')::bigint,
							  'resource', COALESCE(e.props->>'target', d.uid),
							  'through', e.props->>'through', 'dst', d.uid,
							  'likelihood', e.likelihood, 'decision', COALESCE(e.props->>'decision', 'allow'))
	FROM correlate.relationship e
	JOIN correlate.resource s ON s.tenant = e.tenant AND s.id = e.src
	JOIN correlate.resource d ON d.tenant = e.tenant AND d.id = e.dst
	WHERE e.tenant = (SELECT correlate.current_tenant()) AND e.id = _iam_step.edge;
$$;
COMMENT ON FUNCTION correlate._iam_step(bigint)
	IS 'Internal: an assumes or can_escalate_to edge as a chain step (src, technique, statement, resource, through, dst, likelihood, decision).';

CREATE FUNCTION correlate.escalation_paths(principal bigint, target bigint DEFAULT NULL,
										   max_steps integer DEFAULT 6, max_paths integer DEFAULT 10)
RETURNS TABLE (path integer, step integer, src text, technique text, statement bigint, resource text,
			   through text, dst text, likelihood float8, decision text, path_likelihood float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	goals bigint[];
	frontier jsonb;		-- partial paths at the current depth: [{node, nodes, edges, lk}]
	done jsonb := '[]';	-- paths that reached a goal
	nxt jsonb;
BEGIN
	IF max_steps IS NULL OR max_steps < 1 OR max_steps > 20 OR max_paths IS NULL OR max_paths < 1 OR max_paths > 1000 THEN
		RAISE EXCEPTION 'max_steps must be between 1 and 20 and max_paths between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('max_steps is %s, max_paths is %s.', max_steps, max_paths);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = t AND r.id = escalation_paths.principal) THEN
		RAISE EXCEPTION 'no resource with id % in tenant "%"', escalation_paths.principal, t
			USING ERRCODE = 'undefined_object';
	END IF;
	IF target IS NULL THEN
		goals := ARRAY(SELECT correlate._iam_admin_targets());
	ELSE
		goals := ARRAY[target];
	END IF;

	frontier := jsonb_build_array(jsonb_build_object('node', principal, 'nodes', jsonb_build_array(principal),
													 'edges', '[]'::jsonb, 'lk', 1.0));
	FOR depth IN 1 .. max_steps LOOP
		-- extend every partial path by one edge to a node it has not visited; keep the
		-- likeliest max_paths per node
		SELECT COALESCE(jsonb_agg(x.p ORDER BY x.lk DESC, x.p->>'edges'), '[]') INTO nxt
		FROM (
			SELECT y.p, y.lk, row_number() OVER (PARTITION BY y.node ORDER BY y.lk DESC, y.p->>'edges') AS rk
			FROM (
				SELECT e.dst AS node, (f->>'lk')::float8 * e.likelihood AS lk,
					   jsonb_build_object('node', e.dst, 'nodes', (f->'nodes') || to_jsonb(e.dst),
										  'edges', (f->'edges') || to_jsonb(e.id),
										  'lk', (f->>'lk')::float8 * e.likelihood) AS p
				FROM jsonb_array_elements(frontier) f
				JOIN correlate.relationship e ON e.tenant = t AND e.src = (f->>'node')::bigint
					 AND e.kind IN ('assumes', 'can_escalate_to', 'runs_as')
				WHERE NOT (f->'nodes') @> to_jsonb(e.dst)) y) x
		WHERE x.rk <= max_paths;
		done := done || COALESCE((SELECT jsonb_agg(p) FROM jsonb_array_elements(nxt) p
								  WHERE (p->>'node')::bigint = ANY (goals)), '[]');
		frontier := COALESCE((SELECT jsonb_agg(p) FROM jsonb_array_elements(nxt) p
							  WHERE NOT (p->>'node')::bigint = ANY (goals)), '[]');
		EXIT WHEN jsonb_array_length(frontier) = 0
			   OR (SELECT count(*) FROM jsonb_array_elements(done)) >= max_paths;
	END LOOP;

	RETURN QUERY
	WITH ranked AS (
		SELECT p, row_number() OVER (ORDER BY jsonb_array_length(p->'edges'), (p->>'lk')::float8 DESC, p->>'edges')::integer AS n
		FROM jsonb_array_elements(done) p
	)
	SELECT r.n, s.ord::integer, st->>'src', st->>'technique', (st->>'statement')::bigint, st->>'resource',
		   st->>'through', st->>'dst', (st->>'likelihood')::float8, st->>'decision', (r.p->>'lk')::float8
	FROM ranked r
	CROSS JOIN LATERAL jsonb_array_elements(r.p->'edges') WITH ORDINALITY s(edge, ord)
	CROSS JOIN LATERAL correlate._iam_step((s.edge)::bigint) st
	WHERE r.n <= max_paths
	ORDER BY r.n, s.ord;
END
$$;
COMMENT ON FUNCTION correlate.escalation_paths(bigint, bigint, integer, integer)
	IS 'The ways a principal becomes the target (default: anything admin-equivalent) through assumes and can_escalate_to edges: one row per step (technique, statement, resource), paths shortest first, then likeliest.';

CREATE FUNCTION correlate.escalation_paths(principal text, target text DEFAULT NULL,
										   max_steps integer DEFAULT 6, max_paths integer DEFAULT 10)
RETURNS TABLE (path integer, step integer, src text, technique text, statement bigint, resource text,
			   through text, dst text, likelihood float8, decision text, path_likelihood float8)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM correlate.escalation_paths(correlate._principal_id(escalation_paths.principal),
											 CASE WHEN escalation_paths.target IS NOT NULL
												  THEN correlate._principal_id(escalation_paths.target) END,
											 escalation_paths.max_steps, escalation_paths.max_paths);
$$;
COMMENT ON FUNCTION correlate.escalation_paths(text, text, integer, integer)
	IS 'correlate.escalation_paths() for a principal (and target) named by uid (ARN).';

-- who_can, with the principals that obtain the permission by escalating.
CREATE FUNCTION correlate.who_can(action text, resource_arn text, include_denied boolean, via_escalation boolean)
RETURNS TABLE (principal bigint, principal_uid text, principal_kind text, decision text,
			   via text, statement bigint, policy text, sid text, steps integer, chain jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	direct jsonb;			-- the who_can answers
	seen jsonb := '{}';		-- node id -> {edge: the edge leading on towards a goal, depth}
	frontier bigint[];
	added jsonb;
BEGIN
	SELECT COALESCE(jsonb_agg(to_jsonb(w)), '[]') INTO direct
	FROM correlate.who_can(who_can.action, who_can.resource_arn, who_can.include_denied) w;
	IF COALESCE(via_escalation, false) THEN
		-- Backwards from the goals (principals allowed, admin-equivalent nodes), breadth
		-- first: each node reached keeps its likeliest edge towards a goal.
		frontier := ARRAY(SELECT (d->>'principal')::bigint FROM jsonb_array_elements(direct) d
						  WHERE d->>'decision' IN ('allow', 'conditional') AND d->>'principal' IS NOT NULL
						  UNION SELECT correlate._iam_admin_targets());
		SELECT COALESCE(jsonb_object_agg(g::text, jsonb_build_object('depth', 0)), '{}') INTO seen FROM unnest(frontier) g;
		FOR depth IN 1 .. 6 LOOP
			SELECT jsonb_object_agg(x.src::text, jsonb_build_object('edge', x.id, 'depth', depth)) INTO added
			FROM (SELECT DISTINCT ON (e.src) e.src, e.id
				  FROM correlate.relationship e
				  WHERE e.tenant = t AND e.kind IN ('assumes', 'can_escalate_to', 'runs_as') AND e.dst = ANY (frontier)
					AND NOT seen ? e.src::text
				  ORDER BY e.src, e.likelihood DESC, e.id) x;
			EXIT WHEN added IS NULL;
			seen := seen || added;
			frontier := ARRAY(SELECT k::bigint FROM jsonb_object_keys(added) k);
		END LOOP;
	END IF;

	RETURN QUERY
	SELECT (d->>'principal')::bigint, d->>'principal_uid', d->>'principal_kind', d->>'decision', d->>'via',
		   (d->>'statement')::bigint, d->>'policy', d->>'sid', 0, NULL::jsonb
	FROM jsonb_array_elements(direct) d
	UNION ALL
	SELECT p.id, p.uid, p.kind, 'escalation', 'escalation', (g->>'statement')::bigint, g->>'policy', g->>'sid',
		   (s.value->>'depth')::integer, c.chain
	FROM jsonb_each(seen) s
	JOIN correlate.resource p ON p.tenant = t AND p.id = s.key::bigint AND p.kind IN ('aws:iam:user', 'aws:iam:role')
	CROSS JOIN LATERAL (
		WITH RECURSIVE walk(edge, dst, ord) AS (
			SELECT (s.value->>'edge')::bigint, e.dst, 1
			FROM correlate.relationship e WHERE e.tenant = t AND e.id = (s.value->>'edge')::bigint
			UNION ALL
			SELECT (seen->(w.dst::text)->>'edge')::bigint, e.dst, w.ord + 1
			FROM walk w JOIN correlate.relationship e ON e.tenant = t AND e.id = (seen->(w.dst::text)->>'edge')::bigint
			WHERE w.ord < 7)
		SELECT jsonb_agg(correlate._iam_step(w.edge) ORDER BY w.ord) AS chain,
			   (array_agg(w.dst ORDER BY w.ord DESC))[1] AS goal
		FROM walk w) c
	LEFT JOIN LATERAL (SELECT d AS g FROM jsonb_array_elements(direct) d
					   WHERE (d->>'principal')::bigint = c.goal AND d->>'decision' <> 'deny' LIMIT 1) gg ON true
	WHERE s.value ? 'edge'
	  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(direct) d
					  WHERE (d->>'principal')::bigint = p.id AND d->>'decision' IN ('allow', 'conditional'))
	ORDER BY 9, 2;
END
$$;
COMMENT ON FUNCTION correlate.who_can(text, text, boolean, boolean)
	IS 'who_can() with, when via_escalation, the users and roles that obtain the permission by escalation (decision escalation): steps and the chain of steps (technique, statement, resource) to a principal allowed or to an admin-equivalent node; shortest chains, likeliest edges.';

-- Every user and role with its shortest way to anything admin-equivalent.
CREATE FUNCTION correlate.escalation_summary(max_steps integer DEFAULT 6)
RETURNS TABLE (principal bigint, principal_uid text, principal_kind text, admin boolean, steps integer,
			   first_technique text, chain_likelihood float8, chain jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	seen jsonb;			-- node id -> {edge: the edge leading on towards a goal, depth}
	frontier bigint[];
	added jsonb;
BEGIN
	IF max_steps IS NULL OR max_steps < 1 OR max_steps > 20 THEN
		RAISE EXCEPTION 'max_steps must be between 1 and 20'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('max_steps is %s.', max_steps);
	END IF;
	-- Backwards from the admin-equivalent nodes, breadth first: each node keeps its
	-- likeliest edge towards one.
	frontier := ARRAY(SELECT correlate._iam_admin_targets());
	SELECT COALESCE(jsonb_object_agg(g::text, jsonb_build_object('depth', 0)), '{}') INTO seen FROM unnest(frontier) g;
	FOR depth IN 1 .. max_steps LOOP
		SELECT jsonb_object_agg(x.src::text, jsonb_build_object('edge', x.id, 'depth', depth)) INTO added
		FROM (SELECT DISTINCT ON (e.src) e.src, e.id
			  FROM correlate.relationship e
			  WHERE e.tenant = t AND e.kind IN ('assumes', 'can_escalate_to', 'runs_as') AND e.dst = ANY (frontier)
				AND NOT seen ? e.src::text
			  ORDER BY e.src, e.likelihood DESC, e.id) x;
		EXIT WHEN added IS NULL;
		seen := seen || added;
		frontier := ARRAY(SELECT k::bigint FROM jsonb_object_keys(added) k);
	END LOOP;

	RETURN QUERY
	SELECT p.id, p.uid, p.kind, s.value IS NOT NULL AND NOT s.value ? 'edge', (s.value->>'depth')::integer,
		   c.chain->0->>'technique',
		   (SELECT exp(sum(ln(GREATEST((x->>'likelihood')::float8, 1e-9)))) FROM jsonb_array_elements(c.chain) x),
		   c.chain
	FROM correlate.resource p
	LEFT JOIN LATERAL (SELECT seen->(p.id::text) AS value) s ON true
	LEFT JOIN LATERAL (
		WITH RECURSIVE walk(edge, dst, ord) AS (
			SELECT (s.value->>'edge')::bigint, e.dst, 1
			FROM correlate.relationship e WHERE e.tenant = t AND e.id = (s.value->>'edge')::bigint
			UNION ALL
			SELECT (seen->(w.dst::text)->>'edge')::bigint, e.dst, w.ord + 1
			FROM walk w JOIN correlate.relationship e ON e.tenant = t AND e.id = (seen->(w.dst::text)->>'edge')::bigint
			WHERE w.ord < max_steps)
		SELECT jsonb_agg(correlate._iam_step(w.edge) ORDER BY w.ord) AS chain FROM walk w) c ON true
	WHERE p.tenant = t AND p.kind IN ('aws:iam:user', 'aws:iam:role')
	ORDER BY 5 NULLS LAST, 2;
END
$$;
COMMENT ON FUNCTION correlate.escalation_summary(integer)
	IS 'Every IAM user and role: whether it is admin-equivalent, else the fewest steps (within max_steps) to something admin-equivalent, the first technique, the chain''s likelihood and its steps; steps NULL when it cannot escalate.';

GRANT EXECUTE ON FUNCTION correlate._iam_admin_targets(), correlate._iam_step(bigint),
	correlate.escalation_paths(bigint, bigint, integer, integer), correlate.escalation_paths(text, text, integer, integer),
	correlate.who_can(text, text, boolean, boolean), correlate.escalation_summary(integer)
	TO correlate_reader;
