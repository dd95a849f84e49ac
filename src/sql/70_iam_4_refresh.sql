-- 70_iam_4_refresh.sql: refresh_iam_edges(), which derives the edges of 70_iam_4_edges.sql
-- from the policy store (through the evaluator, 70_iam_3_eval.sql) and the technique
-- catalogue, and the admin-equivalent principals it marks as crown jewels.
--
-- Set-based: three statements (answers, edges, write) whose intermediate results pass
-- through arrays, no scratch table per call (pg_cron runs it).

CREATE FUNCTION correlate.refresh_iam_edges()
RETURNS TABLE (kind text, edges bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- Its statements read arrays built by the one before: planned for their real sizes (a
-- generic plan assumes 10 elements), whatever the session ran before.
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	ids bigint[];
	nestloop text;
	-- The evaluator's answers (allow, narrowed or conditional), one element per answer ...
	a_purpose text[]; a_technique text[]; a_target bigint[]; a_class text[]; a_res text[];
	a_principal bigint[]; a_principal_uid text[]; a_principal_kind text[]; a_decision text[]; a_statement bigint[];
	-- ... and the edges found, by uid (account roots and internet may not exist yet).
	e_src text[]; e_dst text[]; e_kind text[]; e_technique text[]; e_likelihood float8[]; e_props jsonb[];
BEGIN
	-- Set-based: no scratch table (pg_cron runs this; a temp table per call bloats the
	-- catalog).  Three statements: answers, edges, write.

	-- Statements 1 and 2 join sets whose sizes the planner cannot know (function results,
	-- CTEs, arrays): hash joins, not nested loops that rescan a set for every row of another.
	nestloop := current_setting('enable_nestloop');
	PERFORM set_config('enable_nestloop', 'off', true);

	-- 1. Requests (what to ask the evaluator, and why), evaluated; then conditions judged.
	WITH req AS MATERIALIZED (
		-- (numbered 1.. within each of the two batches: an answer's req is its number; a lookup
		-- through an array of numbers would carry that array into every row of a hash join)
		SELECT row_number() OVER (PARTITION BY q.purpose = 'passrole')::integer AS n, q.*
		FROM (
			-- assumes: roles whose trust policy names principals other than AWS services (those
			-- only ever reach a role through iam:PassRole, below); web identity is handled apart.
			SELECT a.action, r.uid AS res, 'assume' AS purpose, a.action AS technique, r.id AS target,
				   NULL::text AS class, NULL::bigint AS sole
			FROM correlate.resource r, unnest(ARRAY['sts:AssumeRole', 'sts:AssumeRoleWithSAML']) a(action)
			WHERE r.tenant = t AND r.kind = 'aws:iam:role'
			  AND EXISTS (SELECT 1 FROM correlate.iam_statement ts
						  WHERE ts.tenant = t AND ts.holder = r.id AND ts.source = 'trust'
							AND (ts.not_principals IS NOT NULL
								 OR EXISTS (SELECT 1 FROM unnest(ts.principals) p
											WHERE NOT (p::text LIKE '%.amazonaws.com' AND p::text NOT LIKE 'arn:%'))))
			UNION ALL
			-- can_access: every data store, for each catalogued action.
			SELECT c.action,
				   replace(replace(replace(c.resource_template, '{arn}', r.uid), '{account}', COALESCE(r.account, '*')),
						   '{region}', COALESCE(r.region, '*')),
				   'access', c.action, r.id, c.class, NULL
			FROM correlate.resource r JOIN correlate.iam_access_actions() c ON c.kind = r.kind
			WHERE r.tenant = t
			UNION ALL
			-- can_escalate_to: catalogued techniques acting on a user, role, group or attached
			-- customer-managed policy.  Those that yield admin are asked for the principal itself
			-- here (sole) and, below, for every principal it can reach.
			SELECT d.actions[1], r.uid, 'direct', d.technique, r.id, NULL,
				   CASE WHEN d.yields = 'admin' AND d.applies_to IN ('aws:iam:user', 'aws:iam:role') THEN r.id END
			FROM correlate.iam_escalation_technique d
			JOIN correlate.resource r ON r.tenant = t AND r.kind = d.applies_to
			WHERE d.family IN ('credentials', 'trust_policy', 'group_membership', 'policy_write', 'policy_version')
			  AND (d.applies_to <> 'aws:iam:policy'
				   OR (r.uid NOT LIKE 'arn:aws:iam::aws:policy/%'
					   AND EXISTS (SELECT 1 FROM correlate.iam_policy p JOIN correlate.iam_attachment a
									 ON a.tenant = t AND a.policy = p.id AND a.how IN ('managed', 'group_managed')
								   WHERE p.tenant = t AND p.holder = r.id)))
			UNION ALL
			-- PassRole on every role that trusts a technique's service, and the service actions
			-- (on any resource) the passrole, existing-resource and remote-execution techniques need.
			SELECT 'iam:PassRole', r.uid, 'passrole', 'iam:PassRole', r.id, NULL, NULL
			FROM correlate.resource r
			WHERE r.tenant = t AND r.kind = 'aws:iam:role'
			  AND EXISTS (SELECT 1 FROM correlate.iam_statement ts, correlate.iam_escalation_technique tq
						  WHERE ts.tenant = t AND ts.holder = r.id AND ts.source = 'trust' AND ts.effect = 'Allow'
							AND tq.family = 'passrole' AND ts.principals OPERATOR(correlate.~~>) tq.passrole_service)
			UNION ALL
			SELECT s.action, NULL, 'service', s.action, NULL, NULL, NULL
			FROM (SELECT a.action
				  FROM correlate.iam_escalation_technique p,
					   unnest(array_remove(p.actions, 'iam:PassRole') || COALESCE(p.any_actions, '{}')
							  || ARRAY['iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile']) a(action)
				  WHERE p.family IN ('passrole', 'existing_resource', 'remote_execution')
				  -- ... and who holds the admin techniques on some resource (only they are asked
				  -- about the principals they reach, below)
				  UNION
				  SELECT p.actions[1] FROM correlate.iam_escalation_technique p WHERE p.yields = 'admin') s
		) q
	), ans1 AS MATERIALIZED (
		-- 2. Evaluate: everything but PassRole at once; then PassRole, only for the principals
		--    that hold the service actions of some technique (the rest cannot use it).
		SELECT q.purpose, q.technique, q.target, q.class, q.res, e.principal, e.principal_uid, e.principal_kind,
			   e.decision, e.statement
		FROM (SELECT array_agg(q.action ORDER BY q.n) AS actions, array_agg(q.res ORDER BY q.n) AS res,
					 array_agg(q.sole ORDER BY q.n) AS sole
			  FROM req q WHERE q.purpose <> 'passrole') a
		CROSS JOIN LATERAL correlate._iam_evaluate(a.actions, a.res, false, a.sole, p_detail => false) e
		JOIN req q ON q.purpose <> 'passrole' AND q.n = e.req
		WHERE e.decision IN ('allow', 'conditional')
	), ans2 AS (
		SELECT q.purpose, q.technique, q.target, q.class, q.res, e.principal, e.principal_uid, e.principal_kind,
			   e.decision, e.statement
		FROM (SELECT array_agg(q.action ORDER BY q.n) AS actions, array_agg(q.res ORDER BY q.n) AS res
			  FROM req q WHERE q.purpose = 'passrole') a
		CROSS JOIN LATERAL (SELECT array_agg(DISTINCT s.principal) AS among
							FROM ans1 s JOIN correlate.iam_passrole_techniques() tq
							  ON s.technique = ANY (COALESCE(tq.all_actions, tq.any_actions))
							WHERE s.purpose = 'service' AND s.principal IS NOT NULL) h
		CROSS JOIN LATERAL correlate._iam_evaluate(a.actions, a.res, false, NULL, COALESCE(h.among, '{}'), false) e
		JOIN req q ON q.purpose = 'passrole' AND q.n = e.req
		WHERE e.decision IN ('allow', 'conditional') AND a.actions IS NOT NULL
	), judged AS (
		-- Conditions judged (correlate.iam_judge_conditions): a conditional answer whose
		-- conditions the attacker cannot meet is dropped; one it must meet from a network or an
		-- MFA session becomes narrowed; one it controls becomes allow.  PassRole answers are
		-- judged per technique below (iam:PassedToService depends on it); answers for
		-- principals outside the tenant stay conditional.
		SELECT a.purpose, a.technique, a.target, a.class, a.res, a.principal, a.principal_uid, a.principal_kind,
			   CASE WHEN a.decision = 'conditional' AND a.purpose NOT IN ('access', 'passrole') AND a.principal IS NOT NULL
					THEN correlate._iam_judged(a.decision, a.statement, a.principal, a.target)
					ELSE a.decision END AS decision,
			   a.statement
		FROM (SELECT * FROM ans1 UNION ALL SELECT * FROM ans2) a
	)
	SELECT array_agg(a.purpose), array_agg(a.technique), array_agg(a.target), array_agg(a.class), array_agg(a.res),
		   array_agg(a.principal), array_agg(a.principal_uid), array_agg(a.principal_kind), array_agg(a.decision),
		   array_agg(a.statement)
	INTO a_purpose, a_technique, a_target, a_class, a_res, a_principal, a_principal_uid, a_principal_kind, a_decision,
		 a_statement
	FROM judged a WHERE a.decision IS NOT NULL;

	-- 3. Edges.
	WITH RECURSIVE ans AS MATERIALIZED (
		SELECT * FROM unnest(a_purpose, a_technique, a_target, a_class, a_res, a_principal, a_principal_uid,
							 a_principal_kind, a_decision, a_statement)
			AS a(purpose, technique, target, class, res, principal, principal_uid, principal_kind, decision, statement)
	), e_assume AS (
		-- assumes, from users and roles of the tenant ...
		SELECT p.uid AS src_uid, r.uid AS dst_uid, 'assumes' AS kind, a.technique,
			   CASE a.decision WHEN 'allow' THEN 0.9 ELSE 0.45 END::float8 AS likelihood,
			   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision) AS props
		FROM ans a
		JOIN correlate.resource p ON p.tenant = t AND p.id = a.principal
		JOIN correlate.resource r ON r.tenant = t AND r.id = a.target
		WHERE a.purpose = 'assume' AND a.principal <> a.target AND a.principal_kind IN ('aws:iam:user', 'aws:iam:role')
		UNION ALL
		-- ... from anyone (a trust policy naming *) and from other accounts ...
		SELECT CASE WHEN a.principal_uid = '*' THEN 'internet' ELSE a.principal_uid END, r.uid, 'assumes', a.technique,
			   CASE a.decision WHEN 'allow' THEN 0.9 ELSE 0.3 END::float8,
			   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision,
								  'principal', a.principal_uid)
		FROM ans a JOIN correlate.resource r ON r.tenant = t AND r.id = a.target
		WHERE a.purpose = 'assume' AND a.principal IS NULL
		  AND (a.principal_uid = '*' OR a.principal_kind = 'aws:iam:root')
		UNION ALL
		-- ... and from Kubernetes service accounts through IRSA (web identity trust naming the service account).
		SELECT sa.uid, r.uid, 'assumes', 'sts:AssumeRoleWithWebIdentity',
			   CASE WHEN w.other_conditions THEN 0.45 ELSE 0.9 END::float8,
			   jsonb_build_object('technique', 'sts:AssumeRoleWithWebIdentity', 'via', 'irsa', 'statement', w.id,
								  'oidc_provider', w.provider, 'decision',
								  CASE WHEN w.other_conditions THEN 'conditional' ELSE 'allow' END)
		FROM (
			SELECT s.id, s.holder, pv.p::text AS provider, sub.value AS subject, sub.op,
				   EXISTS (SELECT 1 FROM jsonb_each(s.conditions) o(op, keys), jsonb_object_keys(o.keys) k
						   WHERE NOT (o.op IN ('StringEquals', 'StringLike') AND (k LIKE '%:sub' OR k LIKE '%:aud'))) AS other_conditions
			FROM correlate.iam_statement s
			CROSS JOIN LATERAL unnest(s.principals) pv(p)
			CROSS JOIN LATERAL (
				SELECT o.op, v.value
				FROM jsonb_each(s.conditions) o(op, keys), jsonb_each(o.keys) kv(k, vals),
					 unnest(correlate._iam_list(kv.vals)) v(value)
				WHERE o.op IN ('StringEquals', 'StringLike') AND kv.k LIKE '%:sub'
				  AND v.value LIKE 'system:serviceaccount:%') sub
			WHERE s.tenant = t AND s.source = 'trust' AND s.effect = 'Allow'
			  AND s.actions OPERATOR(correlate.~~>) 'sts:AssumeRoleWithWebIdentity'
			  AND pv.p::text LIKE 'arn:aws:iam::%:oidc-provider/%'
		) w
		JOIN correlate.resource r ON r.tenant = t AND r.id = w.holder
		JOIN correlate.resource sa ON sa.tenant = t AND sa.kind = 'k8s:serviceaccount'
			 AND CASE w.op WHEN 'StringEquals'
						   THEN w.subject = 'system:serviceaccount:' || sa.namespace || ':' || sa.name
						   ELSE correlate.iam_pattern(w.subject) OPERATOR(correlate.~~>)
								('system:serviceaccount:' || sa.namespace || ':' || sa.name) END
	), e_access AS (
		-- can_access: one edge per principal and store, with the classes it reaches.
		SELECT COALESCE(p.uid, CASE WHEN a.principal_uid = '*' THEN 'internet' END) AS src_uid, d.uid AS dst_uid,
			   'can_access' AS kind, NULL::text AS technique,
			   CASE WHEN bool_or(a.decision = 'allow') THEN 0.9 ELSE 0.45 END::float8 AS likelihood,
			   jsonb_build_object(
				   'classes', to_jsonb(array_agg(DISTINCT a.class ORDER BY a.class)),
				   'actions', to_jsonb(array_agg(DISTINCT a.technique ORDER BY a.technique)),
				   'statements', to_jsonb(array_agg(DISTINCT a.statement ORDER BY a.statement)),
				   'conditional', NOT bool_or(a.decision = 'allow')) AS props
		FROM ans a
		JOIN correlate.resource d ON d.tenant = t AND d.id = a.target
		LEFT JOIN correlate.resource p ON p.tenant = t AND p.id = a.principal
		WHERE a.purpose = 'access' AND (p.kind IN ('aws:iam:user', 'aws:iam:role') OR a.principal_uid = '*')
		  -- A grant to * (a public resource) is one edge from internet, not one from every principal.
		  AND NOT (a.principal IS NOT NULL
				   AND EXISTS (SELECT 1 FROM correlate.iam_statement st
							   WHERE st.tenant = t AND st.id = a.statement AND st.source = 'resource'
								 AND correlate.iam_pattern('*') OPERATOR(correlate.=) ANY (st.principals)))
		GROUP BY 1, d.uid
	), held AS MATERIALIZED (
		-- can_escalate_to through a service.  Computed from small sets: who holds which
		-- technique's service actions (on some resource), which role trusts which service, and
		-- (passrole) who may pass which role.
		SELECT h.*, CASE WHEN h.all_allow THEN 'allow' WHEN h.any_conditional THEN 'conditional' ELSE 'narrowed' END AS decision
		FROM (
			SELECT s.principal, tq.technique, tq.family, COALESCE(tq.passrole_service, tq.runs_as_service) AS service,
				   tq.needs_instance_profile, tq.likelihood,
				   bool_and(s.decision = 'allow') AS all_allow, bool_or(s.decision = 'conditional') AS any_conditional,
				   to_jsonb(array_agg(DISTINCT s.statement ORDER BY s.statement)) AS statements,
				   count(DISTINCT s.technique) FILTER (WHERE s.technique = ANY (tq.actions)) AS n_all,
				   count(DISTINCT s.technique) FILTER (WHERE s.technique = ANY (tq.any_actions)) AS n_any,
				   count(DISTINCT s.technique) FILTER (WHERE s.technique IN ('iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile')) AS n_profile,
				   cardinality(array_remove(tq.actions, 'iam:PassRole')) AS need_all, tq.any_actions IS NULL AS no_any
			FROM ans s CROSS JOIN correlate.iam_escalation_technique tq
			WHERE s.purpose = 'service' AND s.principal IS NOT NULL
			  AND tq.family IN ('passrole', 'existing_resource', 'remote_execution')
			  AND (s.technique = ANY (tq.actions) OR s.technique = ANY (tq.any_actions)
				   OR (tq.family = 'passrole' AND tq.needs_instance_profile
					   AND s.technique IN ('iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile')))
			GROUP BY s.principal, tq.technique) h
		WHERE h.n_all = h.need_all AND (h.no_any OR h.n_any > 0)
	), trusts AS MATERIALIZED (
		SELECT DISTINCT ts.holder AS role, sv.service
		FROM correlate.iam_statement ts
		CROSS JOIN (SELECT DISTINCT COALESCE(tq.passrole_service, tq.runs_as_service) AS service
					FROM correlate.iam_escalation_technique tq
					WHERE tq.family IN ('passrole', 'existing_resource', 'remote_execution')) sv
		WHERE ts.tenant = t AND ts.source = 'trust' AND ts.effect = 'Allow'
		  AND ts.actions OPERATOR(correlate.~~>) 'sts:AssumeRole'
		  AND ts.principals OPERATOR(correlate.~~>) sv.service
	), e_passrole AS (
		-- passrole: the attacker may pass role R, R trusts the technique's service (EC2: R is in
		-- an instance profile, or the attacker may make one).
		SELECT ap.uid AS src_uid, r.uid AS dst_uid, 'can_escalate_to' AS kind, v.technique,
			   v.likelihood * CASE WHEN v.decision = 'allow' THEN 1 ELSE 0.5 END AS likelihood,
			   jsonb_build_object('technique', v.technique, 'statement', v.statement, 'service_statements', v.statements,
								  'decision', v.decision) AS props
		FROM (SELECT pr.principal, pr.target, h.technique, h.likelihood, h.statements, pr.statement,
					 h.needs_instance_profile, h.n_profile,
					 CASE WHEN j.d IS NULL THEN NULL
						  WHEN j.d = 'allow' AND h.decision = 'allow' THEN 'allow'
						  WHEN j.d = 'conditional' OR h.decision = 'conditional' THEN 'conditional'
						  ELSE 'narrowed' END AS decision
			  FROM ans pr
			  JOIN held h ON h.family = 'passrole' AND h.principal = pr.principal
			  JOIN trusts tr ON tr.role = pr.target AND tr.service = h.service
			  CROSS JOIN LATERAL (SELECT correlate._iam_judged(pr.decision, pr.statement, pr.principal, pr.target, h.service) AS d) j
			  WHERE pr.purpose = 'passrole' AND pr.principal <> pr.target) v
		JOIN correlate.resource ap ON ap.tenant = t AND ap.id = v.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
		JOIN correlate.resource r ON r.tenant = t AND r.id = v.target
		WHERE v.decision IS NOT NULL
		  AND (NOT v.needs_instance_profile OR v.n_profile = 2
			   OR jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'instance_profiles') = 'array'
										  THEN r.props->'instance_profiles' ELSE '[]' END) > 0)
	), svcrole AS MATERIALIZED (
		-- existing_resource, remote_execution: the attacker can take over the existing resources
		-- of a service in its own account (one node per service and account, kind
		-- aws:service-resources), which -runs_as-> every role of that account that trusts the
		-- service (EC2: in an instance profile).  A node between them keeps the edges linear:
		-- holders plus roles, not holders times roles.
		SELECT DISTINCT r.uid AS role_uid, r.account, tr.service, tq.needs_instance_profile,
			   'service-resources:' || r.account || ':' || tr.service
				 || CASE WHEN tq.needs_instance_profile THEN ':instance-profile' ELSE '' END AS node_uid
		FROM trusts tr
		JOIN correlate.resource r ON r.tenant = t AND r.id = tr.role AND r.account IS NOT NULL
		JOIN correlate.iam_escalation_technique tq ON tq.runs_as_service = tr.service
		WHERE NOT tq.needs_instance_profile
		   OR jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'instance_profiles') = 'array'
									  THEN r.props->'instance_profiles' ELSE '[]' END) > 0
	), e_existing AS MATERIALIZED (
		SELECT ap.uid AS src_uid, 'service-resources:' || ap.account || ':' || h.service
					   || CASE WHEN h.needs_instance_profile THEN ':instance-profile' ELSE '' END AS dst_uid,
			   'can_escalate_to' AS kind, h.technique,
			   h.likelihood * CASE WHEN h.decision = 'allow' THEN 1 ELSE 0.5 END AS likelihood,
			   jsonb_build_object('technique', h.technique, 'statement', (h.statements->>0)::bigint,
								  'service_statements', h.statements, 'decision', h.decision, 'existing_resource', true) AS props
		FROM held h
		JOIN correlate.resource ap ON ap.tenant = t AND ap.id = h.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
		WHERE h.family IN ('existing_resource', 'remote_execution')
		  AND EXISTS (SELECT 1 FROM svcrole sr WHERE sr.account = ap.account AND sr.service = h.service
					  AND sr.needs_instance_profile = h.needs_instance_profile)
	), e_runs AS (
		SELECT DISTINCT n.dst_uid AS src_uid, sr.role_uid AS dst_uid, 'runs_as' AS kind, 'runs_as' AS technique,
			   0.9::float8 AS likelihood,
			   jsonb_build_object('technique', 'runs_as', 'service', sr.service, 'decision', 'allow',
								  'existing_resource', true) AS props
		FROM (SELECT DISTINCT n.dst_uid FROM e_existing n) n
		JOIN svcrole sr ON sr.node_uid = n.dst_uid
	), e_direct AS (
		-- can_escalate_to by techniques acting on another principal.
		SELECT ap.uid AS src_uid, r.uid AS dst_uid, 'can_escalate_to' AS kind, a.technique,
			   d.likelihood * CASE a.decision WHEN 'allow' THEN 1 ELSE 0.5 END AS likelihood,
			   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision) AS props
		FROM ans a
		JOIN correlate.iam_escalation_technique d ON d.technique = a.technique AND d.yields = 'target'
		JOIN correlate.resource ap ON ap.tenant = t AND ap.id = a.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
		JOIN correlate.resource r ON r.tenant = t AND r.id = a.target
		WHERE a.purpose = 'direct' AND a.principal <> a.target
		  -- AddUserToGroup: users only, into groups that grant something and they are not in.
		  AND (a.technique <> 'iam:AddUserToGroup'
			   OR (ap.kind = 'aws:iam:user'
				   AND (EXISTS (SELECT 1 FROM correlate.iam_policy gp WHERE gp.tenant = t AND gp.holder = r.id)
						OR jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'managed_policies') = 'array'
												   THEN r.props->'managed_policies' ELSE '[]' END) > 0)
				   AND NOT EXISTS (SELECT 1 FROM correlate.relationship m WHERE m.tenant = t AND m.kind = 'member_of'
								   AND m.src = ap.id AND m.dst = r.id)))
	), e_before AS MATERIALIZED (
		SELECT * FROM e_assume UNION ALL SELECT * FROM e_access UNION ALL SELECT * FROM e_passrole
		UNION ALL SELECT * FROM e_existing UNION ALL SELECT * FROM e_runs UNION ALL SELECT * FROM e_direct
	), step AS MATERIALIZED (
		-- Who reaches whom (users and roles, through the edges so far, up to five steps): the
		-- techniques that yield admin work on any principal the attacker can become.
		SELECT DISTINCT s.id AS attacker, d.id AS target
		FROM e_before n
		JOIN correlate.resource s ON s.tenant = t AND s.uid = n.src_uid AND s.kind IN ('aws:iam:user', 'aws:iam:role')
		JOIN correlate.resource d ON d.tenant = t AND d.uid = n.dst_uid AND d.kind IN ('aws:iam:user', 'aws:iam:role')
		WHERE n.kind IN ('assumes', 'can_escalate_to') AND s.id <> d.id
	), walk AS (
		-- (walks that never come back to the attacker; the shortest is the breadth-first depth;
		-- a principal one step away is not walked to again)
		SELECT s.attacker, s.target, 1 AS depth FROM step s
		UNION
		SELECT w.attacker, s.target, w.depth + 1
		FROM walk w JOIN step s ON s.attacker = w.target
		WHERE w.depth < 5 AND s.target <> w.attacker
		  AND NOT EXISTS (SELECT 1 FROM step d WHERE d.attacker = w.attacker AND d.target = s.target)
	), reach AS MATERIALIZED (
		SELECT w.attacker, w.target, min(w.depth) AS depth FROM walk w GROUP BY w.attacker, w.target
	), rreq AS MATERIALIZED (
		-- Requests for the admin techniques onto the users and roles each attacker reaches
		-- (asked for that attacker only), evaluated and judged like the others.
		SELECT row_number() OVER (ORDER BY rc.attacker, rc.target, d.technique)::integer AS n, d.actions[1] AS action,
			   tr.uid AS res, rc.attacker, rc.target, d.technique
		FROM reach rc
		JOIN correlate.resource tr ON tr.tenant = t AND tr.id = rc.target
		JOIN correlate.iam_escalation_technique d ON d.yields = 'admin' AND d.applies_to = tr.kind
		WHERE EXISTS (SELECT 1 FROM ans h WHERE h.purpose = 'service' AND h.principal = rc.attacker
					  AND h.technique = d.actions[1])
	), rans AS (
		SELECT 'reach' AS purpose, q.technique, q.target, NULL::text AS class, q.res, e.principal, e.principal_uid,
			   e.principal_kind, correlate._iam_judged(e.decision, e.statement, e.principal, q.target) AS decision,
			   e.statement
		FROM (SELECT array_agg(x.action ORDER BY x.n) AS actions, array_agg(x.res ORDER BY x.n) AS res,
					 array_agg(x.attacker ORDER BY x.n) AS sole
			  FROM rreq x) a
		CROSS JOIN LATERAL correlate._iam_evaluate(a.actions, a.res, false, a.sole, p_detail => false) e
		JOIN rreq q ON q.n = e.req
		WHERE e.decision IN ('allow', 'conditional') AND a.actions IS NOT NULL
	), adm AS (
		SELECT * FROM ans WHERE purpose = 'direct'
		UNION ALL
		SELECT * FROM rans WHERE decision IS NOT NULL
	), e_admin AS (
		-- can_escalate_to the account root: techniques by which a principal grants itself, or a
		-- principal it can become, anything.
		SELECT ap.uid AS src_uid, 'arn:aws:iam::' || ap.account || ':root' AS dst_uid, 'can_escalate_to' AS kind, a.technique,
			   d.likelihood * CASE a.decision WHEN 'allow' THEN 1 ELSE 0.5 END
				 * CASE WHEN a.technique = 'iam:SetDefaultPolicyVersion' AND NOT pv.has_versions THEN 0.5 ELSE 1 END AS likelihood,
			   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision,
								  'target', a.res)
				 || CASE WHEN a.purpose = 'reach' OR via.principal IS NOT NULL
						 THEN jsonb_build_object('through', (SELECT uid FROM correlate.resource x WHERE x.tenant = t
															 AND x.id = COALESCE(via.principal, a.target)))
						 ELSE '{}' END
				 || CASE WHEN a.technique = 'iam:SetDefaultPolicyVersion' AND NOT pv.has_versions
						 THEN '{"other_versions": "none known"}'::jsonb ELSE '{}' END AS props
		FROM adm a
		JOIN correlate.iam_escalation_technique d ON d.technique = a.technique AND d.yields = 'admin'
		JOIN correlate.resource ap ON ap.tenant = t AND ap.id = a.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
		LEFT JOIN correlate.resource tg ON tg.tenant = t AND tg.id = a.target
		CROSS JOIN LATERAL (SELECT jsonb_array_length(CASE WHEN jsonb_typeof(tg.props->'other_versions') = 'array'
														   THEN tg.props->'other_versions' ELSE '[]' END) > 0 AS has_versions) pv
		-- groups and policies: the member or holder that is the attacker (NULL) or one it reaches
		-- (the nearest; the lowest id among equally near ones)
		CROSS JOIN LATERAL (
			SELECT m.principal FROM (
				SELECT NULL::bigint AS principal, 0 AS depth
				UNION ALL
				SELECT rc.target, rc.depth FROM reach rc WHERE rc.attacker = ap.id) m
			WHERE CASE d.applies_to
					  WHEN 'aws:iam:group' THEN EXISTS (SELECT 1 FROM correlate.relationship mm WHERE mm.tenant = t
														AND mm.kind = 'member_of' AND mm.src = COALESCE(m.principal, ap.id)
														AND mm.dst = a.target)
					  WHEN 'aws:iam:policy' THEN EXISTS (SELECT 1 FROM correlate.iam_attachment at
														 JOIN correlate.iam_policy p ON p.tenant = t AND p.id = at.policy
														 WHERE at.tenant = t AND at.principal = COALESCE(m.principal, ap.id)
														   AND p.holder = a.target AND at.how IN ('managed', 'group_managed'))
					  ELSE m.principal IS NULL AND (a.purpose = 'reach' OR a.principal = a.target) END
			ORDER BY m.depth, m.principal NULLS FIRST LIMIT 1) via
		WHERE ap.account IS NOT NULL
	)
	SELECT array_agg(e.src_uid), array_agg(e.dst_uid), array_agg(e.kind), array_agg(e.technique),
		   array_agg(e.likelihood), array_agg(e.props)
	INTO e_src, e_dst, e_kind, e_technique, e_likelihood, e_props
	FROM (SELECT * FROM e_before UNION ALL SELECT * FROM e_admin) e;

	PERFORM set_config('enable_nestloop', nestloop, true);

	-- 4. Nodes the edges need: internet, other accounts' roots, account roots (crown jewels),
	--    the existing resources of a service in an account.
	IF 'internet' = ANY (e_src) THEN
		PERFORM correlate.internet();
	END IF;
	PERFORM correlate.upsert_resources(
		array_agg(u.uid ORDER BY u.uid), array_agg('aws:service-resources'::text ORDER BY u.uid),
		names => array_agg('existing resources of ' || split_part(u.uid, ':', 3) || ' in account ' || split_part(u.uid, ':', 2)
						   || CASE WHEN u.uid LIKE '%:instance-profile' THEN ' (instances with a profile)' ELSE '' END
						   ORDER BY u.uid),
		accounts => array_agg(split_part(u.uid, ':', 2) ORDER BY u.uid))
	FROM (SELECT DISTINCT d.uid FROM unnest(e_dst) d(uid) WHERE d.uid LIKE 'service-resources:%') u
	HAVING count(*) > 0;
	PERFORM correlate.upsert_resources(
		array_agg(u.uid ORDER BY u.uid), array_agg('aws:iam:root'::text ORDER BY u.uid),
		names => array_agg('root of account ' || split_part(u.uid, ':', 5) ORDER BY u.uid),
		accounts => array_agg(split_part(u.uid, ':', 5) ORDER BY u.uid),
		criticalities => array_agg(1::real ORDER BY u.uid))
	FROM (SELECT s.uid FROM unnest(e_src) s(uid) UNION SELECT d.uid FROM unnest(e_dst) d(uid)) u
	WHERE u.uid LIKE 'arn:aws:iam::%:root'
	HAVING count(*) > 0;

	-- 5. Write the edges (one per src, dst, kind: the likeliest technique leads), drop stale ones.
	--    One upsert with link_many's merge rules (likelihood set, props merged into the old ones,
	--    a NULL source keeps the old one, first and last seen widened to now).  link_many's checks
	--    hold by construction here (both ends exist, known kinds, likelihoods in (0,1], props
	--    objects); its batching by source and merging of duplicates cost more than the rest of the
	--    refresh at 5,000 roles.
	WITH agg AS (
		SELECT e.src_uid, e.dst_uid, e.kind,
			   max(e.likelihood) AS likelihood,
			   (array_agg(e.props ORDER BY e.likelihood DESC, e.props ? 'through', e.technique))[1]
				 || CASE WHEN e.kind = 'can_escalate_to'
						 THEN jsonb_build_object('techniques', to_jsonb(array_agg(DISTINCT e.technique ORDER BY e.technique)))
						 ELSE '{}' END AS props
		FROM unnest(e_src, e_dst, e_kind, e_technique, e_likelihood, e_props) e(src_uid, dst_uid, kind, technique, likelihood, props)
		GROUP BY e.src_uid, e.dst_uid, e.kind
	), o AS (
		SELECT row_number() OVER (ORDER BY s.id, d.id, agg.kind) AS n,
			   s.id AS src, d.id AS dst, agg.kind, least(agg.likelihood, 1.0) AS likelihood, agg.props,
			   -- an edge another observation made (e.g. the IRSA annotation seen by the Kubernetes
			   -- inventory) keeps its source, so a later refresh never deletes it
			   CASE WHEN ex.source IS NOT NULL AND ex.source <> 'iam_policy' THEN NULL ELSE 'iam_policy' END AS source
		FROM agg
		JOIN correlate.resource s ON s.tenant = t AND s.uid = agg.src_uid
		JOIN correlate.resource d ON d.tenant = t AND d.id <> s.id AND d.uid = agg.dst_uid
		LEFT JOIN correlate.relationship ex ON ex.tenant = t AND ex.src = s.id AND ex.dst = d.id AND ex.kind = agg.kind
	), w AS (
		INSERT INTO correlate.relationship AS r (tenant, src, dst, kind, likelihood, props, source, first_seen, last_seen)
		SELECT t, o.src, o.dst, o.kind, o.likelihood, o.props, o.source, now(), now()
		FROM o ORDER BY o.n
		ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET
			likelihood = EXCLUDED.likelihood,
			props      = r.props || EXCLUDED.props,
			source     = COALESCE(EXCLUDED.source, r.source),
			first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen  = GREATEST(r.last_seen, EXCLUDED.last_seen)
		RETURNING r.id
	)
	SELECT COALESCE(array_agg(w.id), '{}') INTO ids FROM w;

	DELETE FROM correlate.relationship r
	WHERE r.tenant = t AND r.source = 'iam_policy' AND r.kind IN ('assumes', 'can_access', 'can_escalate_to', 'runs_as')
	  AND r.id NOT IN (SELECT unnest(ids));

	-- 6. Admin-equivalent users and roles (an unconditional Allow of * on *, not capped by a
	--    boundary, no unconditional Deny of * on *) are crown jewels.
	PERFORM correlate._iam_mark_admins();

	RETURN QUERY
	SELECT r.kind, count(*) FROM correlate.relationship r
	WHERE r.tenant = t AND r.source = 'iam_policy' AND r.kind IN ('assumes', 'can_access', 'can_escalate_to', 'runs_as')
	GROUP BY r.kind ORDER BY r.kind;
END
$$;
COMMENT ON FUNCTION correlate.refresh_iam_edges()
	IS 'Derives assumes, can_access and can_escalate_to edges from the policy store (through the write API), removes the ones no longer supported, and marks admin-equivalent principals as crown jewels; returns the edge counts by kind.';

-- Users and roles with an effective, unconditional Allow of * on *.
CREATE FUNCTION correlate.iam_admins()
RETURNS TABLE (principal bigint, principal_uid text, statement bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH star AS (SELECT correlate.iam_pattern('*') AS p)
	SELECT DISTINCT ON (r.id) r.id, r.uid, s.id
	FROM correlate.resource r
	JOIN correlate.iam_attachment a ON a.tenant = r.tenant AND a.principal = r.id AND a.how <> 'boundary'
	JOIN correlate.iam_statement s ON s.tenant = r.tenant AND s.policy = a.policy
	CROSS JOIN star
	WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.kind IN ('aws:iam:user', 'aws:iam:role')
	  AND s.effect = 'Allow' AND NOT s.conditional
	  AND star.p OPERATOR(correlate.=) ANY (s.actions) AND star.p OPERATOR(correlate.=) ANY (s.resources)
	  -- a boundary, if any, allows * on * too
	  AND (NOT EXISTS (SELECT 1 FROM correlate.iam_attachment b WHERE b.tenant = r.tenant AND b.principal = r.id AND b.how = 'boundary')
		   OR EXISTS (SELECT 1 FROM correlate.iam_attachment b JOIN correlate.iam_statement bs
						ON bs.tenant = r.tenant AND bs.policy = b.policy
					  WHERE b.tenant = r.tenant AND b.principal = r.id AND b.how = 'boundary' AND bs.effect = 'Allow'
						AND NOT bs.conditional AND star.p OPERATOR(correlate.=) ANY (bs.actions)
						AND star.p OPERATOR(correlate.=) ANY (bs.resources)))
	  -- and nothing denies * on * unconditionally
	  AND NOT EXISTS (SELECT 1 FROM correlate.iam_attachment d JOIN correlate.iam_statement ds
						ON ds.tenant = r.tenant AND ds.policy = d.policy
					  WHERE d.tenant = r.tenant AND d.principal = r.id AND ds.effect = 'Deny' AND NOT ds.conditional
						AND star.p OPERATOR(correlate.=) ANY (ds.actions) AND star.p OPERATOR(correlate.=) ANY (ds.resources))
	ORDER BY r.id, s.id;
$$;
COMMENT ON FUNCTION correlate.iam_admins() IS 'Admin-equivalent users and roles: an unconditional Allow of * on * that no boundary caps and no Deny of * on * removes, with the granting statement.';

-- Marks admins as crown jewels (criticality 1, props.iam_admin) and restores the
-- criticality of principals that are no longer admins.
CREATE FUNCTION correlate._iam_mark_admins() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	PERFORM correlate.upsert_resources(
		array_agg(r.uid ORDER BY r.id), array_agg(r.kind ORDER BY r.id),
		props => array_agg(jsonb_build_object('iam_admin', true, 'iam_admin_statement', a.statement)
						   || CASE WHEN COALESCE(r.props->>'iam_admin', 'false') <> 'true'
								   THEN jsonb_build_object('iam_criticality_before', r.criticality) ELSE '{}' END
						   ORDER BY r.id),
		criticalities => array_agg(1::real ORDER BY r.id))
	FROM correlate.iam_admins() a JOIN correlate.resource r ON r.tenant = t AND r.id = a.principal
	HAVING count(*) > 0;

	PERFORM correlate.upsert_resources(
		array_agg(r.uid ORDER BY r.id), array_agg(r.kind ORDER BY r.id),
		props => array_agg('{"iam_admin": false}'::jsonb ORDER BY r.id),
		criticalities => array_agg(COALESCE((r.props->>'iam_criticality_before')::real, 0) ORDER BY r.id))
	FROM correlate.resource r
	WHERE r.tenant = t AND r.props->>'iam_admin' = 'true'
	  AND r.id NOT IN (SELECT a.principal FROM correlate.iam_admins() a)
	HAVING count(*) > 0;
END
$$;

GRANT EXECUTE ON FUNCTION correlate.iam_access_actions(), correlate.iam_passrole_techniques(),
	correlate.iam_direct_techniques(), correlate.iam_admins(), correlate.iam_condition_keys(),
	correlate.iam_judge_conditions(jsonb, text, jsonb, jsonb, text, timestamptz),
	correlate._iam_cond_strings(text, text[], text[]), correlate._iam_judged(text, bigint, bigint, bigint, text)
	TO correlate_reader;
GRANT SELECT ON correlate.iam_escalation_technique TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.refresh_iam_edges(), correlate._iam_mark_admins() TO correlate_writer;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._iam_mark_admins()
	IS 'Internal: marks principals allowed * on * as crown jewels (criticality 1, props.iam_admin) and restores those no longer admins.';
