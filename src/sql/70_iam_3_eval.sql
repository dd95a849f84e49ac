-- 70_iam_3_eval.sql: policy evaluation over the policy store.
--
-- correlate._iam_evaluate() answers a batch of requests (action, resource ARN)
-- at once: which users and roles of the tenant may perform each, and which
-- statement decides.  who_can() is one request; the edge derivation sends
-- thousands.  The rules follow AWS's evaluation logic for one account:
--
--   1. An explicit Deny that applies (identity policy, permissions boundary or
--      resource-based policy, unconditional) wins: decision 'deny'.
--   2. Identity-based allows (inline, managed, inherited from groups) count only
--      when a permissions boundary, if the principal has one, also allows.
--   3. A resource-based policy (bucket, key, other) that names the principal's
--      ARN (or *) allows by itself within the account; one that names the
--      account (arn:aws:iam::ACCT:root) only delegates to identity policies.
--   4. Role trust policies (for sts:AssumeRole*) and KMS key policies (when the
--      key's policy is known) are required: without their allow nothing allows.
--   5. Across accounts (principal and resource accounts both known and
--      different) both the resource-based and the identity-based side must allow.
--   6. Conditions are not evaluated: an answer that depends on a conditional
--      statement (or that a conditional Deny could overturn) is 'conditional'.
--
-- A NULL resource ARN means "some resource": any statement for the action
-- counts, whatever its Resource (used for actions that create what they act
-- on, such as lambda:CreateFunction).  p_only (one element per request) limits
-- a request to one principal, p_among limits every request to a set of them;
-- both leave out the principals that are not users or roles of the tenant.
-- p_detail false leaves via, policy and sid NULL (the edge derivation needs only
-- the decision and the statement, and looking them up costs a third of its time).
--
-- Principals named by resource-based or trust policies that are not users or
-- roles of the tenant (*, other accounts, AWS services, web identity
-- providers) are returned too, with principal NULL unless a resource with that
-- uid exists.

CREATE FUNCTION correlate._iam_evaluate(p_actions text[], p_resources text[], p_include_denied boolean DEFAULT false,
										p_only bigint[] DEFAULT NULL, p_among bigint[] DEFAULT NULL,
										p_detail boolean DEFAULT true)
RETURNS TABLE (req integer, principal bigint, principal_uid text, principal_kind text, decision text,
			   via text, statement bigint, policy text, sid text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- Planning this query costs more than running it for one request: plan it once per session
-- (batches are planned each time, below).
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	nestloop text;
BEGIN
	IF COALESCE(cardinality(p_actions), 0) <> COALESCE(cardinality(p_resources), 0) THEN
		RAISE EXCEPTION 'actions and resources differ in length'
			USING ERRCODE = 'array_subscript_error',
				  DETAIL = format('%s actions and %s resources.', cardinality(p_actions), cardinality(p_resources));
	END IF;
	-- A batch (the edge refresh sends thousands of requests) is planned for its own
	-- arguments, without nested loops: the generic plan assumes 10 requests and, once other
	-- tenants share the tables, a few hundred statements per tenant, and its nested loops
	-- then ran a 5,000-role refresh for minutes instead of seconds.  plan_cache_mode ends
	-- with this function (its SET clause); enable_nestloop is set back below.  (A caller
	-- that turned nested loops off, as the edge refresh does, is planned the same way: the
	-- generic plan kept for who_can must not be built without them.)
	IF cardinality(p_actions) > 64 OR NOT current_setting('enable_nestloop')::boolean THEN
		nestloop := current_setting('enable_nestloop');
		PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
		PERFORM set_config('enable_nestloop', 'off', true);
	END IF;
	RETURN QUERY
	WITH rq AS (
		SELECT u.ord::integer AS req, u.action, u.res, u.sole
		FROM unnest(p_actions, p_resources, p_only) WITH ORDINALITY u(action, res, sole, ord)
		WHERE u.action IS NOT NULL
	), acts AS (
		SELECT DISTINCT rq.action FROM rq
	), cand AS MATERIALIZED (
		-- Statements whose Action matches: one GIN probe per distinct action, however
		-- many requests share it.
		SELECT a.action, s.id, s.policy, s.holder, s.source, s.effect, s.conditional, s.sid,
			   s.resources, s.not_resources, s.principals, s.not_principals
		FROM acts a JOIN correlate.iam_statement s ON s.tenant = t AND s.actions OPERATOR(correlate.~~>) a.action
	), candr AS MATERIALIZED (
		SELECT c.action, c.id, r.p, (r.p::text !~ '[*?]') AS literal
		FROM cand c CROSS JOIN LATERAL unnest(c.resources) r(p)
	), hits AS (
		-- ... and whose Resource matches: literal ARNs by hash join, patterns by the matcher.
		SELECT rq.req, rq.action, cr.id FROM rq JOIN candr cr ON cr.action = rq.action AND cr.literal AND cr.p::text = rq.res
		UNION
		SELECT rq.req, rq.action, cr.id FROM rq JOIN candr cr ON cr.action = rq.action AND NOT cr.literal
			AND cr.p OPERATOR(correlate.~~>) rq.res
		UNION
		-- requests for "some resource" (NULL) ...
		SELECT rq.req, rq.action, c.id FROM rq JOIN cand c ON c.action = rq.action WHERE rq.res IS NULL
		UNION
		-- ... and NotResource
		SELECT rq.req, rq.action, c.id FROM rq JOIN cand c ON c.action = rq.action
			AND c.not_resources IS NOT NULL AND NOT c.not_resources OPERATOR(correlate.~~>) rq.res
	), m0 AS (
		-- (joined through hits only: every request of an action times every candidate of it
		-- would be a large intermediate)
		SELECT rq.req, rq.res, rq.sole, c.id, c.policy, c.holder, c.source, c.effect, c.conditional, c.sid,
			   c.principals, c.not_principals
		FROM hits h JOIN cand c ON c.id = h.id AND c.action = h.action JOIN rq ON rq.req = h.req
		UNION ALL
		-- NotAction statements apply to every action they do not list.
		SELECT rq.req, rq.res, rq.sole, s.id, s.policy, s.holder, s.source, s.effect, s.conditional, s.sid,
			   s.principals, s.not_principals
		FROM rq JOIN correlate.iam_statement s
			 ON s.tenant = t AND s.not_actions IS NOT NULL AND NOT s.not_actions OPERATOR(correlate.~~>) rq.action
			AND (rq.res IS NULL OR s.resources OPERATOR(correlate.~~>) rq.res
				 OR (s.not_resources IS NOT NULL AND NOT s.not_resources OPERATOR(correlate.~~>) rq.res))
	), m AS MATERIALIZED (
		-- A resource-based statement speaks only for its own resource (and, for a
		-- bucket, the objects under it): a key policy's "Resource": "*" means that key.
		SELECT m0.* FROM m0
		WHERE m0.source <> 'resource'
		   OR EXISTS (SELECT 1 FROM correlate.resource h WHERE h.tenant = t AND h.id = m0.holder
					  AND (m0.res = h.uid OR left(m0.res, length(h.uid) + 1) = h.uid || '/'))
	), pr AS MATERIALIZED (
		-- All users and roles: read only when a policy names principals by pattern or by account.
		SELECT r.id, r.uid, r.kind, r.account, 'arn:aws:iam::' || r.account || ':root' AS root
		FROM correlate.resource r
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:role')
	), ident_allow AS MATERIALIZED (
		-- Identity statements reach principals through their attachments: first the
		-- allows (boundaries aside) ...
		SELECT m.req, a.principal, m.id AS stmt, m.effect, m.conditional, a.how
		FROM m JOIN correlate.iam_attachment a ON a.tenant = t AND a.policy = m.policy
		WHERE m.source = 'identity' AND m.effect = 'Allow' AND a.how <> 'boundary'
		  AND (m.sole IS NULL OR a.principal = m.sole)
		  -- (hashed: p_among can be long)
		  AND (p_among IS NULL OR a.principal IN (SELECT unnest(p_among)))
	), mp AS MATERIALIZED (
		-- Principal patterns of the matching resource-based and trust statements.
		SELECT m.req, m.sole, m.id, m.effect, m.conditional, m.source, e.p, (e.p::text !~ '[*?]') AS literal
		FROM m CROSS JOIN LATERAL unnest(m.principals) e(p)
		WHERE m.source IN ('resource', 'trust')
	), mnp AS MATERIALIZED (
		-- (apart, so that a join with every principal never rescans m)
		SELECT m.req, m.id, m.effect, m.conditional, m.source, m.not_principals FROM m
		WHERE m.source IN ('resource', 'trust') AND m.not_principals IS NOT NULL
	), mdeny AS MATERIALIZED (
		SELECT m.req, m.conditional, m.principals FROM m
		WHERE m.effect = 'Deny' AND m.source IN ('resource', 'trust') AND m.principals IS NOT NULL
	), resg AS MATERIALIZED (
		-- Resource-based and trust statements reach the principals they name: exact ARNs
		-- by hash join, patterns by the matcher; naming the account root only delegates.
		SELECT mp.req, p.id AS principal, mp.id AS stmt, mp.effect, mp.conditional, mp.source, 'direct' AS grant_kind
		FROM mp JOIN correlate.resource p ON p.tenant = t AND p.uid = mp.p::text
			 AND p.kind IN ('aws:iam:user', 'aws:iam:role')
		WHERE mp.literal
		UNION ALL
		SELECT mp.req, p.id, mp.id, mp.effect, mp.conditional, mp.source, 'account'
		FROM mp JOIN pr p ON p.root = mp.p::text WHERE mp.literal AND mp.p::text LIKE 'arn:aws:iam::%:root'
		UNION ALL
		SELECT mp.req, p.id, mp.id, mp.effect, mp.conditional, mp.source,
			   CASE WHEN mp.p OPERATOR(correlate.~~>) p.uid THEN 'direct' ELSE 'account' END
		FROM mp JOIN pr p ON NOT mp.literal
			 AND (mp.p OPERATOR(correlate.~~>) p.uid OR mp.p OPERATOR(correlate.~~>) p.root)
		UNION ALL
		SELECT m.req, p.id, m.id, m.effect, m.conditional, m.source, 'direct'
		FROM mnp m JOIN pr p ON NOT m.not_principals OPERATOR(correlate.~~>) p.uid
			 AND NOT m.not_principals OPERATOR(correlate.~~>) p.root
	), ok AS MATERIALIZED (
		-- The requests and principals with an allow (boundaries aside).
		SELECT DISTINCT x.req, x.principal
		FROM (SELECT i.req, i.principal FROM ident_allow i
			  UNION ALL
			  SELECT g.req, g.principal FROM resg g WHERE g.effect = 'Allow') x
	), ident_other AS (
		-- ... then denies and boundaries.  Unless denied answers are asked for, only where a
		-- principal has an allow (without one the answer is dropped anyway): a Deny common to
		-- many principals would otherwise cost a row for each of them and each request.
		SELECT m.req, a.principal, m.id AS stmt, m.effect, m.conditional, a.how
		FROM m JOIN correlate.iam_attachment a ON a.tenant = t AND a.policy = m.policy
		WHERE m.source = 'identity' AND (m.effect <> 'Allow' OR a.how = 'boundary')
		  AND (m.sole IS NULL OR a.principal = m.sole)
		  AND (p_among IS NULL OR a.principal IN (SELECT unnest(p_among)))
		  AND (p_include_denied OR (m.req, a.principal) IN (SELECT ok.req, ok.principal FROM ok))
	), ev AS (
		-- All evidence, one row per (request, principal, statement, how it applies).
		SELECT i.req, i.principal, i.stmt, i.effect, i.conditional, i.how AS applies FROM ident_allow i
		UNION ALL
		SELECT i.req, i.principal, i.stmt, i.effect, i.conditional, i.how FROM ident_other i
		UNION ALL
		SELECT g.req, g.principal, g.stmt, g.effect, g.conditional, g.grant_kind
		FROM resg g JOIN rq ON rq.req = g.req
		WHERE (rq.sole IS NULL OR g.principal = rq.sole) AND (p_among IS NULL OR g.principal = ANY (p_among))
	), agg AS MATERIALIZED (
		SELECT e.req, e.principal,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies IN ('inline', 'managed', 'group_inline', 'group_managed') AND NOT e.conditional) AS allow_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies IN ('inline', 'managed', 'group_inline', 'group_managed') AND e.conditional) AS allow_c,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'boundary' AND NOT e.conditional) AS bnd_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'boundary' AND e.conditional) AS bnd_c,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'direct' AND NOT e.conditional) AS direct_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'direct' AND e.conditional) AS direct_c,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'account' AND NOT e.conditional) AS acct_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'account' AND e.conditional) AS acct_c,
			   min(e.stmt) FILTER (WHERE e.effect = 'Deny' AND NOT e.conditional) AS deny_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Deny' AND e.conditional) AS deny_c
		FROM ev e GROUP BY e.req, e.principal
	), rinfo AS MATERIALIZED (
		-- What the requested resource needs: a trust or key policy, and its account.
		SELECT rq.req,
			   (rq.action ILIKE 'sts:AssumeRole%' AND tr.kind = 'aws:iam:role') AS trust_required,
			   (tr.kind = 'aws:kms:key' AND EXISTS (SELECT 1 FROM correlate.iam_policy kp
													 WHERE kp.tenant = t AND kp.holder = tr.id AND kp.kind = 'resource')) AS key_required,
			   COALESCE(tr.account, bk.account,
						CASE WHEN split_part(rq.res, ':', 5) ~ '^[^*?]+$' THEN split_part(rq.res, ':', 5) END) AS account
		FROM rq
		LEFT JOIN correlate.resource tr ON tr.tenant = t AND tr.uid = rq.res
		LEFT JOIN correlate.resource bk ON bk.tenant = t AND rq.res LIKE 'arn:aws:s3:::%/%'
			 AND bk.uid = split_part(rq.res, '/', 1) AND bk.kind = 'aws:s3:bucket'
	), cands AS (
		SELECT c.*, p.uid, p.kind,
			   EXISTS (SELECT 1 FROM correlate.iam_attachment b
					   WHERE b.tenant = t AND b.principal = c.principal AND b.how = 'boundary') AS has_boundary,
			   COALESCE(ri.trust_required OR ri.key_required, false) AS required,
			   COALESCE(p.account <> ri.account, false) AS cross_account
		FROM agg c
		JOIN correlate.resource p ON p.tenant = t AND p.id = c.principal
		JOIN rinfo ri ON ri.req = c.req
	), decided AS (
		SELECT c.*, x.id_u, x.id_any, y.ok_u, y.ok_any
		FROM cands c,
			 LATERAL (SELECT c.allow_u IS NOT NULL AND (NOT c.has_boundary OR c.bnd_u IS NOT NULL) AS id_u,
							 COALESCE(c.allow_u, c.allow_c) IS NOT NULL
							   AND (NOT c.has_boundary OR COALESCE(c.bnd_u, c.bnd_c) IS NOT NULL) AS id_any) x,
			 -- A resource-based grant naming a user stands alone; one naming a role (not a
			 -- session) is capped by the role's boundary, as AWS does.
			 LATERAL (SELECT c.direct_u IS NOT NULL
							   AND (c.kind <> 'aws:iam:role' OR NOT c.has_boundary OR c.bnd_u IS NOT NULL) AS rd_u,
							 COALESCE(c.direct_u, c.direct_c) IS NOT NULL
							   AND (c.kind <> 'aws:iam:role' OR NOT c.has_boundary OR COALESCE(c.bnd_u, c.bnd_c) IS NOT NULL) AS rd_any) z,
			 LATERAL (SELECT
						CASE WHEN c.cross_account THEN COALESCE(c.direct_u, c.acct_u) IS NOT NULL AND x.id_u
							 WHEN c.required THEN z.rd_u OR (c.acct_u IS NOT NULL AND x.id_u)
							 ELSE x.id_u OR z.rd_u END AS ok_u,
						CASE WHEN c.cross_account THEN COALESCE(c.direct_u, c.direct_c, c.acct_u, c.acct_c) IS NOT NULL AND x.id_any
							 WHEN c.required THEN z.rd_any OR (COALESCE(c.acct_u, c.acct_c) IS NOT NULL AND x.id_any)
							 ELSE x.id_any OR z.rd_any END AS ok_any) y
	), answer AS MATERIALIZED (
		SELECT d.req, d.principal, d.uid, d.kind,
			   CASE WHEN d.deny_u IS NOT NULL THEN 'deny'
					WHEN d.ok_u AND d.deny_c IS NULL THEN 'allow'
					WHEN d.ok_any THEN 'conditional' END AS decision,
			   CASE WHEN d.deny_u IS NOT NULL THEN d.deny_u
					WHEN d.ok_u AND d.deny_c IS NULL THEN
						CASE WHEN d.required OR d.cross_account THEN COALESCE(d.direct_u, d.acct_u)
							 WHEN d.id_u THEN d.allow_u ELSE d.direct_u END
					WHEN d.ok_u THEN d.deny_c
					ELSE COALESCE(d.allow_c, d.direct_c, d.acct_c, d.bnd_c, d.allow_u, d.direct_u, d.acct_u) END AS stmt
		FROM decided d
		UNION ALL
		-- Principals named in resource-based or trust policies that are not users or roles here.
		SELECT mp.req, x.id, mp.p::text, COALESCE(x.kind,
			   CASE WHEN mp.p::text = '*' THEN 'anyone'
					WHEN mp.p::text LIKE 'arn:aws:iam::%:root' THEN 'aws:iam:root'
					WHEN mp.p::text LIKE '%.amazonaws.com' AND mp.p::text NOT LIKE 'arn:%' THEN 'aws:service'
					ELSE 'aws:principal' END),
			   CASE WHEN EXISTS (SELECT 1 FROM mdeny d WHERE d.req = mp.req AND NOT d.conditional
								 AND d.principals OPERATOR(correlate.~~>) mp.p::text) THEN 'deny'
					WHEN mp.conditional OR EXISTS (SELECT 1 FROM mdeny d WHERE d.req = mp.req
												   AND d.principals OPERATOR(correlate.~~>) mp.p::text) THEN 'conditional'
					ELSE 'allow' END,
			   mp.id
		FROM mp
		LEFT JOIN correlate.resource x ON x.tenant = t AND x.uid = mp.p::text
		WHERE mp.effect = 'Allow' AND p_among IS NULL
		  AND mp.sole IS NULL
		  AND NOT EXISTS (SELECT 1 FROM correlate.resource u WHERE u.tenant = t AND u.uid = mp.p::text
						  AND u.kind IN ('aws:iam:user', 'aws:iam:role'))
		  AND NOT (mp.p::text LIKE 'arn:aws:iam::%:root' AND EXISTS (SELECT 1 FROM pr WHERE pr.root = mp.p::text))
	)
	SELECT x.req, x.principal, x.uid, x.kind, x.decision, dt.via, x.stmt, dt.name, dt.sid
	FROM (SELECT DISTINCT ON (a.req, a.principal, a.uid) a.*
		  FROM answer a
		  WHERE a.decision IS NOT NULL AND (p_include_denied OR a.decision <> 'deny')
		  ORDER BY a.req, a.principal, a.uid,
				   array_position(ARRAY['deny', 'allow', 'conditional'], a.decision), a.stmt) x
	-- How the deciding statement applies, its policy and Sid (not looked up without p_detail).
	LEFT JOIN LATERAL (
		SELECT CASE s.source WHEN 'trust' THEN 'trust_policy'
							 WHEN 'resource' THEN CASE h.kind WHEN 'aws:s3:bucket' THEN 'bucket_policy'
															 WHEN 'aws:kms:key' THEN 'key_policy'
															 ELSE 'resource_policy' END
							 ELSE (SELECT at.how FROM correlate.iam_attachment at
								   WHERE at.tenant = t AND at.policy = s.policy AND at.principal = x.principal
								   ORDER BY array_position(ARRAY['inline', 'managed', 'group_inline', 'group_managed', 'boundary'], at.how)
								   LIMIT 1) END AS via,
			   p.name, s.sid
		FROM correlate.iam_statement s
		JOIN correlate.iam_policy p ON p.tenant = t AND p.id = s.policy
		JOIN correlate.resource h ON h.tenant = t AND h.id = s.holder
		WHERE p_detail AND s.tenant = t AND s.id = x.stmt) dt ON true
	ORDER BY x.req, x.principal, x.uid;
	IF nestloop IS NOT NULL THEN
		PERFORM set_config('enable_nestloop', nestloop, true);
	END IF;
END
$$;

CREATE FUNCTION correlate.who_can(action text, resource_arn text, include_denied boolean DEFAULT false)
RETURNS TABLE (principal bigint, principal_uid text, principal_kind text, decision text,
			   via text, statement bigint, policy text, sid text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT e.principal, e.principal_uid, e.principal_kind, e.decision, e.via, e.statement, e.policy, e.sid
	FROM correlate._iam_evaluate(ARRAY[who_can.action], ARRAY[who_can.resource_arn], who_can.include_denied) e
	ORDER BY e.principal_uid;
$$;
COMMENT ON FUNCTION correlate.who_can(text, text, boolean)
	IS 'Users and roles (and principals named by resource-based or trust policies) that may perform action on resource_arn: decision allow or conditional (deny too with include_denied), how (via), and the deciding statement.';

-- ---- what_can ----------------------------------------------------------------------

CREATE FUNCTION correlate.what_can(principal bigint)
RETURNS TABLE (action correlate.iam_pattern, except_actions correlate.iam_pattern[],
			   resources correlate.iam_pattern[], except_resources correlate.iam_pattern[],
			   decision text, via text, statement bigint, policy text, sid text, limited_by bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	p record;
BEGIN
	SELECT r.id, r.uid, r.kind, r.account, 'arn:aws:iam::' || r.account || ':root' AS root INTO p
	FROM correlate.resource r WHERE r.tenant = t AND r.id = what_can.principal;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no resource with id % in tenant "%"', what_can.principal, t
			USING ERRCODE = 'undefined_object';
	END IF;
	IF p.kind NOT IN ('aws:iam:user', 'aws:iam:role') THEN
		RAISE EXCEPTION 'resource % is a %, not an IAM user or role', p.uid, p.kind
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'what_can answers for principals that act: aws:iam:user and aws:iam:role (groups pass their policies to members).';
	END IF;

	RETURN QUERY
	WITH st AS (
		-- Every statement that applies to the principal: attached identity policies and
		-- resource-based or trust policies that name it (or its account).
		SELECT s.*, a.how AS via
		FROM correlate.iam_attachment a
		JOIN correlate.iam_statement s ON s.tenant = t AND s.policy = a.policy
		WHERE a.tenant = t AND a.principal = p.id
		UNION ALL
		SELECT s.tenant, s.id, s.policy, s.holder, s.source, s.position, s.sid, s.effect, s.actions, s.not_actions,
			   -- "*" in a resource-based policy means the resource itself
			   CASE WHEN s.source = 'resource' THEN ARRAY(SELECT CASE WHEN x::text = '*' THEN correlate.iam_pattern(h.uid) ELSE x END
														  FROM unnest(s.resources) x) ELSE s.resources END,
			   s.not_resources, s.principals, s.not_principals, s.conditions, s.conditional,
			   CASE s.source WHEN 'trust' THEN 'trust_policy'
							 ELSE CASE h.kind WHEN 'aws:s3:bucket' THEN 'bucket_policy'
											 WHEN 'aws:kms:key' THEN 'key_policy'
											 ELSE 'resource_policy' END END
		FROM correlate.iam_statement s JOIN correlate.resource h ON h.tenant = t AND h.id = s.holder
		WHERE s.tenant = t AND s.source IN ('resource', 'trust')
		  -- Only grants that work by themselves: the principal named (or *), same account.
		  AND (((s.principals OPERATOR(correlate.~~>) p.uid
				 OR (s.not_principals IS NOT NULL AND NOT s.not_principals OPERATOR(correlate.~~>) p.uid))
				AND (h.account IS NULL OR h.account = p.account))
			   OR (s.effect = 'Deny' AND s.principals OPERATOR(correlate.~~>) p.root))
	), grants AS (
		SELECT g.*, a.action AS one_action
		FROM st g
		CROSS JOIN LATERAL unnest(COALESCE(g.actions, ARRAY['*'::correlate.iam_pattern])) a(action)
		WHERE g.effect = 'Allow' AND g.via <> 'boundary'
	), bnd AS (
		SELECT * FROM st WHERE via = 'boundary'
	), den AS (
		SELECT * FROM st WHERE effect = 'Deny'
	)
	SELECT g.one_action, g.not_actions, g.resources, g.not_resources,
		   CASE WHEN dc.id IS NOT NULL THEN 'denied'
				WHEN capped AND bc.id IS NULL AND bo.id IS NULL THEN 'outside_boundary'
				WHEN g.conditional OR dp.conditional OR (capped AND (bc.conditional OR bo.conditional)) THEN 'conditional'
				WHEN dp.id IS NOT NULL OR (capped AND bc.id IS NULL) THEN 'partial'
				ELSE 'allow' END,
		   g.via, g.id, pol.name, g.sid,
		   COALESCE(dc.id, dp.id, CASE WHEN capped AND bc.id IS NULL THEN bo.id END)
	FROM grants g
	-- The boundary caps identity grants, and resource-based grants that name a role.
	CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM bnd)
								 AND (g.source = 'identity' OR p.kind = 'aws:iam:role') AS capped) cap
	JOIN correlate.iam_policy pol ON pol.tenant = t AND pol.id = g.policy
	-- An unconditional Deny whose Action and Resource cover this grant removes it.
	LEFT JOIN LATERAL (
		SELECT d.id FROM den d
		WHERE NOT d.conditional AND g.not_actions IS NULL AND g.not_resources IS NULL
		  AND d.actions IS NOT NULL AND d.resources IS NOT NULL
		  AND correlate.iam_patterns_cover(d.actions, ARRAY[g.one_action])
		  AND correlate.iam_patterns_cover(d.resources, g.resources)
		ORDER BY d.id LIMIT 1) dc ON true
	-- A Deny that may overlap it limits it.
	LEFT JOIN LATERAL (
		SELECT d.id, d.conditional FROM den d
		WHERE (d.not_actions IS NOT NULL OR g.not_actions IS NOT NULL
			   OR correlate.iam_patterns_overlap(d.actions, ARRAY[g.one_action]))
		  AND (d.not_resources IS NOT NULL OR g.not_resources IS NOT NULL
			   OR correlate.iam_patterns_overlap(d.resources, g.resources))
		ORDER BY d.conditional, d.id LIMIT 1) dp ON true
	-- A boundary Allow covering the grant lets it through; one that overlaps limits it.
	LEFT JOIN LATERAL (
		SELECT b.id, b.conditional FROM bnd b
		WHERE b.effect = 'Allow' AND b.actions IS NOT NULL AND b.resources IS NOT NULL AND g.not_actions IS NULL
		  AND g.resources IS NOT NULL
		  AND correlate.iam_patterns_cover(b.actions, ARRAY[g.one_action])
		  AND correlate.iam_patterns_cover(b.resources, g.resources)
		ORDER BY b.conditional, b.id LIMIT 1) bc ON true
	LEFT JOIN LATERAL (
		SELECT b.id, b.conditional FROM bnd b
		WHERE b.effect = 'Allow'
		  AND (b.not_actions IS NOT NULL OR g.not_actions IS NOT NULL OR correlate.iam_patterns_overlap(b.actions, ARRAY[g.one_action]))
		ORDER BY b.conditional, b.id LIMIT 1) bo ON true
	ORDER BY g.one_action, g.id;
END
$$;
COMMENT ON FUNCTION correlate.what_can(bigint)
	IS 'What an IAM user or role may do: one row per granted action pattern with its resources, the decision (allow, conditional, partial, denied, outside_boundary), how it is granted (via) and the granting statement; limited_by names the Deny or boundary statement that limits it.';

-- A principal named by uid (ARN): its id, or the error every by-uid entry point raises.
CREATE FUNCTION correlate._principal_id(uid text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	pid bigint := correlate.resource_id(_principal_id.uid);
BEGIN
	IF pid IS NULL THEN
		RAISE EXCEPTION 'no resource with uid "%"', _principal_id.uid
			USING ERRCODE = 'undefined_object',
				  HINT = 'Name the principal by its ARN, e.g. arn:aws:iam::111122223333:role/NAME.';
	END IF;
	RETURN pid;
END
$$;
COMMENT ON FUNCTION correlate._principal_id(text)
	IS 'Internal: the id of the resource with this uid; raises undefined_object (with a hint to use the ARN) when there is none. Behind what_can(text) and permission_usage(text).';

CREATE FUNCTION correlate.what_can(principal text)
RETURNS TABLE (action correlate.iam_pattern, except_actions correlate.iam_pattern[],
			   resources correlate.iam_pattern[], except_resources correlate.iam_pattern[],
			   decision text, via text, statement bigint, policy text, sid text, limited_by bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM correlate.what_can(correlate._principal_id(what_can.principal));
$$;
COMMENT ON FUNCTION correlate.what_can(text) IS 'correlate.what_can() for the principal with this uid (ARN).';

GRANT EXECUTE ON FUNCTION correlate._iam_evaluate(text[], text[], boolean, bigint[], bigint[], boolean),
	correlate.who_can(text, text, boolean), correlate.what_can(bigint), correlate.what_can(text),
	correlate._principal_id(text)
	TO correlate_reader;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._iam_evaluate(text[], text[], boolean, bigint[], bigint[], boolean)
	IS 'Internal: evaluates (action, resource) requests against the tenant''s policy store, returning each principal''s decision and the deciding statement (behind who_can and what_can).';
