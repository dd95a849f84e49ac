-- 70_iam_4_edges.sql: graph edges derived from permissions, written through
-- the write API (correlate.upsert_resources, correlate.link_many).
--
--   assumes          principal -> role it may assume (trust policy and, where
--                    needed, the caller's sts:AssumeRole permission); * in a
--                    trust policy -> from internet; another account -> from that
--                    account's root; IRSA (web identity trust whose sub condition
--                    names system:serviceaccount:NS:SA) -> from that Kubernetes
--                    service account
--   can_access       principal (or internet, for public resource policies) ->
--                    data store, with the action classes read / write / admin
--   can_escalate_to  principal -> principal it can become by a known IAM
--                    privilege-escalation technique (as modelled by Principal
--                    Mapper), or -> the account root when it can grant itself
--                    any permission; props name the technique
--
-- Edges this function wrote before and no longer finds are deleted (only
-- those with source 'iam_policy').  Users and roles allowed * on * are marked
-- crown jewels (criticality 1, props.iam_admin), as are account roots.

-- What each kind of data store counts as read, write and admin.
CREATE FUNCTION correlate.iam_access_actions()
RETURNS TABLE (kind text, class text, action text, resource_template text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES
		('aws:s3:bucket', 'read', 's3:GetObject', '{arn}/*'),
		('aws:s3:bucket', 'read', 's3:ListBucket', '{arn}'),
		('aws:s3:bucket', 'write', 's3:PutObject', '{arn}/*'),
		('aws:s3:bucket', 'write', 's3:DeleteObject', '{arn}/*'),
		('aws:s3:bucket', 'admin', 's3:PutBucketPolicy', '{arn}'),
		('aws:s3:bucket', 'admin', 's3:PutBucketAcl', '{arn}'),
		('aws:s3:bucket', 'admin', 's3:DeleteBucket', '{arn}'),
		('aws:dynamodb:table', 'read', 'dynamodb:GetItem', '{arn}'),
		('aws:dynamodb:table', 'read', 'dynamodb:Scan', '{arn}'),
		('aws:dynamodb:table', 'read', 'dynamodb:Query', '{arn}'),
		('aws:dynamodb:table', 'write', 'dynamodb:PutItem', '{arn}'),
		('aws:dynamodb:table', 'write', 'dynamodb:UpdateItem', '{arn}'),
		('aws:dynamodb:table', 'write', 'dynamodb:DeleteItem', '{arn}'),
		('aws:dynamodb:table', 'admin', 'dynamodb:DeleteTable', '{arn}'),
		('aws:dynamodb:table', 'admin', 'dynamodb:UpdateTable', '{arn}'),
		('aws:kms:key', 'read', 'kms:Decrypt', '{arn}'),
		('aws:kms:key', 'write', 'kms:Encrypt', '{arn}'),
		('aws:kms:key', 'write', 'kms:GenerateDataKey', '{arn}'),
		('aws:kms:key', 'admin', 'kms:PutKeyPolicy', '{arn}'),
		('aws:kms:key', 'admin', 'kms:CreateGrant', '{arn}'),
		('aws:kms:key', 'admin', 'kms:ScheduleKeyDeletion', '{arn}'),
		('aws:secretsmanager:secret', 'read', 'secretsmanager:GetSecretValue', '{arn}'),
		('aws:secretsmanager:secret', 'write', 'secretsmanager:PutSecretValue', '{arn}'),
		('aws:secretsmanager:secret', 'write', 'secretsmanager:UpdateSecret', '{arn}'),
		('aws:secretsmanager:secret', 'admin', 'secretsmanager:PutResourcePolicy', '{arn}'),
		('aws:secretsmanager:secret', 'admin', 'secretsmanager:DeleteSecret', '{arn}'),
		('aws:ssm:parameter', 'read', 'ssm:GetParameter', '{arn}'),
		('aws:ssm:parameter', 'read', 'ssm:GetParameters', '{arn}'),
		('aws:ssm:parameter', 'write', 'ssm:PutParameter', '{arn}'),
		('aws:ssm:parameter', 'admin', 'ssm:DeleteParameter', '{arn}'),
		('aws:rds:db', 'read', 'rds-db:connect', 'arn:aws:rds-db:{region}:{account}:dbuser:*/*'),
		('aws:rds:db', 'read', 'rds:CreateDBSnapshot', '{arn}'),
		('aws:rds:db', 'write', 'rds:ModifyDBInstance', '{arn}'),
		('aws:rds:db', 'admin', 'rds:DeleteDBInstance', '{arn}')
$$;
COMMENT ON FUNCTION correlate.iam_access_actions()
	IS 'The actions that make a can_access edge, by data store kind and class (read, write, admin); {arn}, {account} and {region} stand for the store''s ARN, account and region (* when unknown).';

-- Escalation techniques that pass a role to a service which then runs code as it.
CREATE FUNCTION correlate.iam_passrole_techniques()
RETURNS TABLE (technique text, service text, all_actions text[], any_actions text[],
			   needs_instance_profile boolean, likelihood float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES
		('iam:PassRole+ec2:RunInstances', 'ec2.amazonaws.com', '{ec2:RunInstances}'::text[], NULL::text[], true, 0.7::float8),
		('iam:PassRole+lambda:CreateFunction', 'lambda.amazonaws.com', '{lambda:CreateFunction}',
		 '{lambda:InvokeFunction,lambda:CreateEventSourceMapping}', false, 0.7),
		('iam:PassRole+cloudformation:CreateStack', 'cloudformation.amazonaws.com', '{cloudformation:CreateStack}', NULL, false, 0.7),
		('iam:PassRole+glue:CreateDevEndpoint', 'glue.amazonaws.com', '{glue:CreateDevEndpoint}', NULL, false, 0.6),
		('iam:PassRole+sagemaker', 'sagemaker.amazonaws.com', NULL,
		 '{sagemaker:CreateNotebookInstance,sagemaker:CreateTrainingJob,sagemaker:CreateProcessingJob}', false, 0.6),
		('iam:PassRole+codebuild:CreateProject', 'codebuild.amazonaws.com', '{codebuild:CreateProject,codebuild:StartBuild}', NULL, false, 0.7),
		('iam:PassRole+ecs:RegisterTaskDefinition', 'ecs-tasks.amazonaws.com', '{ecs:RegisterTaskDefinition}',
		 '{ecs:RunTask,ecs:StartTask,ecs:CreateService}', false, 0.6),
		('iam:PassRole+autoscaling:CreateLaunchConfiguration', 'ec2.amazonaws.com',
		 '{autoscaling:CreateLaunchConfiguration,autoscaling:CreateAutoScalingGroup}', NULL, true, 0.5)
$$;
COMMENT ON FUNCTION correlate.iam_passrole_techniques()
	IS 'iam:PassRole escalation techniques: the service the target role must trust, the actions the attacker needs (all of all_actions, one of any_actions), and the edge likelihood.';

-- Escalation techniques that act on the target principal (or on the attacker itself) directly.
CREATE FUNCTION correlate.iam_direct_techniques()
RETURNS TABLE (technique text, target_kind text, self boolean, likelihood float8, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES
		('iam:CreateAccessKey', 'aws:iam:user', false, 0.9::float8, 'create an access key for the user and act as it'),
		('iam:CreateLoginProfile', 'aws:iam:user', false, 0.8, 'give the user a console password (if it has none) and sign in'),
		('iam:UpdateLoginProfile', 'aws:iam:user', false, 0.8, 'reset the user''s console password and sign in'),
		('iam:UpdateAssumeRolePolicy', 'aws:iam:role', false, 0.8, 'rewrite the role''s trust policy to trust the attacker, then assume it'),
		('ssm:SendCommand', 'aws:iam:role', false, 0.5, 'run commands on an EC2 instance whose instance profile carries the role'),
		('ssm:StartSession', 'aws:iam:role', false, 0.5, 'open a shell on an EC2 instance whose instance profile carries the role'),
		('iam:PutUserPolicy', 'aws:iam:user', true, 0.9, 'write an inline policy granting itself anything'),
		('iam:AttachUserPolicy', 'aws:iam:user', true, 0.9, 'attach AdministratorAccess to itself'),
		('iam:PutRolePolicy', 'aws:iam:role', true, 0.9, 'write an inline policy granting its role anything'),
		('iam:AttachRolePolicy', 'aws:iam:role', true, 0.9, 'attach AdministratorAccess to its role'),
		('iam:PutGroupPolicy', 'aws:iam:group', true, 0.9, 'write an inline policy on a group it belongs to'),
		('iam:AttachGroupPolicy', 'aws:iam:group', true, 0.9, 'attach AdministratorAccess to a group it belongs to'),
		('iam:CreatePolicyVersion', 'aws:iam:policy', true, 0.9, 'publish a new default version of a customer-managed policy attached to it'),
		('iam:SetDefaultPolicyVersion', 'aws:iam:policy', true, 0.5, 'make another existing version of a policy attached to it the default'),
		('iam:AddUserToGroup', 'aws:iam:group', false, 0.8, 'add itself to the group and gain the group''s permissions')
$$;
COMMENT ON FUNCTION correlate.iam_direct_techniques()
	IS 'IAM escalation techniques that act on a target: self techniques lead to the account root (the attacker can grant itself anything); the others to the target user, role or group.';

CREATE FUNCTION correlate.refresh_iam_edges()
RETURNS TABLE (kind text, edges bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	ids bigint[];
BEGIN
	-- Scratch tables live until commit; a second refresh in the same transaction replaces them.
	IF to_regclass('pg_temp.iam_edge_req') IS NOT NULL THEN
		DROP TABLE pg_temp.iam_edge_req, pg_temp.iam_edge_ans, pg_temp.iam_edge_new, pg_temp.iam_edge_out;
	END IF;

	-- 1. Requests: what to ask the evaluator, and why.
	CREATE TEMP TABLE iam_edge_req (
		req integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, action text, res text,
		purpose text, technique text, target bigint, class text, sole bigint) ON COMMIT DROP;

	-- assumes: roles whose trust policy names principals other than AWS services (those
	-- only ever reach a role through iam:PassRole, below); web identity is handled apart.
	INSERT INTO iam_edge_req (action, res, purpose, technique, target)
	SELECT a.action, r.uid, 'assume', a.action, r.id
	FROM correlate.resource r, unnest(ARRAY['sts:AssumeRole', 'sts:AssumeRoleWithSAML']) a(action)
	WHERE r.tenant = t AND r.kind = 'aws:iam:role'
	  AND EXISTS (SELECT 1 FROM correlate.iam_statement ts
				  WHERE ts.tenant = t AND ts.holder = r.id AND ts.source = 'trust'
					AND (ts.not_principals IS NOT NULL
						 OR EXISTS (SELECT 1 FROM unnest(ts.principals) p
									WHERE NOT (p::text LIKE '%.amazonaws.com' AND p::text NOT LIKE 'arn:%'))));

	-- can_access: every data store, for each catalogued action.
	INSERT INTO iam_edge_req (action, res, purpose, technique, target, class)
	SELECT c.action,
		   replace(replace(replace(c.resource_template, '{arn}', r.uid), '{account}', COALESCE(r.account, '*')),
				   '{region}', COALESCE(r.region, '*')),
		   'access', c.action, r.id, c.class
	FROM correlate.resource r JOIN correlate.iam_access_actions() c ON c.kind = r.kind
	WHERE r.tenant = t;

	-- can_escalate_to: techniques acting on a user, role, group or attached customer-managed
	-- policy (SSM only onto roles that EC2 instances carry).
	INSERT INTO iam_edge_req (action, res, purpose, technique, target, sole)
	SELECT d.technique, r.uid, 'direct', d.technique, r.id,
		   CASE WHEN d.self AND d.target_kind IN ('aws:iam:user', 'aws:iam:role') THEN r.id END
	FROM correlate.iam_direct_techniques() d
	JOIN correlate.resource r ON r.tenant = t AND r.kind = d.target_kind
	WHERE (d.target_kind <> 'aws:iam:policy'
		   AND (d.technique NOT LIKE 'ssm:%'
				OR jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'instance_profiles') = 'array'
										   THEN r.props->'instance_profiles' ELSE '[]' END) > 0))
	   OR (r.uid NOT LIKE 'arn:aws:iam::aws:policy/%'
		   AND EXISTS (SELECT 1 FROM correlate.iam_policy p JOIN correlate.iam_attachment a
						 ON a.tenant = t AND a.policy = p.id AND a.how IN ('managed', 'group_managed')
					   WHERE p.tenant = t AND p.holder = r.id)
		   AND (d.technique <> 'iam:SetDefaultPolicyVersion'
				OR jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'other_versions') = 'array'
										   THEN r.props->'other_versions' ELSE '[]' END) > 0));
	-- PassRole on every role that trusts a technique's service, and the service actions
	-- (on any resource) the techniques need.
	INSERT INTO iam_edge_req (action, res, purpose, technique, target)
	SELECT 'iam:PassRole', r.uid, 'passrole', 'iam:PassRole', r.id
	FROM correlate.resource r
	WHERE r.tenant = t AND r.kind = 'aws:iam:role'
	  AND EXISTS (SELECT 1 FROM correlate.iam_statement ts, correlate.iam_passrole_techniques() tq
				  WHERE ts.tenant = t AND ts.holder = r.id AND ts.source = 'trust' AND ts.effect = 'Allow'
					AND ts.principals OPERATOR(correlate.~~>) tq.service);
	INSERT INTO iam_edge_req (action, res, purpose, technique)
	SELECT DISTINCT a.action, NULL::text, 'service', a.action
	FROM correlate.iam_passrole_techniques() p,
		 unnest(COALESCE(p.all_actions, '{}') || COALESCE(p.any_actions, '{}')
				|| ARRAY['iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile']) a(action);

	ANALYZE iam_edge_req;

	-- 2. Evaluate: everything but PassRole at once; then PassRole, only for the principals
	--    that hold the service actions of some technique (the rest cannot use it).
	CREATE TEMP TABLE iam_edge_ans ON COMMIT DROP AS
	SELECT q.purpose, q.technique, q.target, q.class, q.res, e.principal, e.principal_uid, e.principal_kind,
		   e.decision, e.statement
	FROM (SELECT array_agg(q.action ORDER BY q.req) AS actions, array_agg(q.res ORDER BY q.req) AS res,
				 array_agg(q.sole ORDER BY q.req) AS sole, array_agg(q.req ORDER BY q.req) AS reqs
		  FROM iam_edge_req q WHERE q.purpose <> 'passrole') a
	CROSS JOIN LATERAL correlate._iam_evaluate(a.actions, a.res, false, a.sole) e
	JOIN iam_edge_req q ON q.req = a.reqs[e.req]
	WHERE e.decision IN ('allow', 'conditional');
	CREATE INDEX ON iam_edge_ans (purpose, principal);
	ANALYZE iam_edge_ans;

	INSERT INTO iam_edge_ans
	SELECT q.purpose, q.technique, q.target, q.class, q.res, e.principal, e.principal_uid, e.principal_kind,
		   e.decision, e.statement
	FROM (SELECT array_agg(q.action ORDER BY q.req) AS actions, array_agg(q.res ORDER BY q.req) AS res,
				 array_agg(q.req ORDER BY q.req) AS reqs
		  FROM iam_edge_req q WHERE q.purpose = 'passrole') a
	CROSS JOIN LATERAL (SELECT array_agg(DISTINCT s.principal) AS among
						FROM iam_edge_ans s JOIN correlate.iam_passrole_techniques() tq
						  ON s.technique = ANY (COALESCE(tq.all_actions, tq.any_actions))
						WHERE s.purpose = 'service' AND s.principal IS NOT NULL) h
	CROSS JOIN LATERAL correlate._iam_evaluate(a.actions, a.res, false, NULL, COALESCE(h.among, '{}')) e
	JOIN iam_edge_req q ON q.req = a.reqs[e.req]
	WHERE e.decision IN ('allow', 'conditional') AND a.actions IS NOT NULL;

	ANALYZE iam_edge_ans;

	-- 3. Edges, by uid (account roots and internet may not exist yet).
	CREATE TEMP TABLE iam_edge_new (
		src_uid text, dst_uid text, kind text, technique text, likelihood float8, props jsonb) ON COMMIT DROP;

	-- assumes, from users and roles of the tenant.
	INSERT INTO iam_edge_new
	SELECT p.uid, r.uid, 'assumes', a.technique,
		   CASE a.decision WHEN 'allow' THEN 0.9 ELSE 0.45 END,
		   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision)
	FROM iam_edge_ans a
	JOIN correlate.resource p ON p.tenant = t AND p.id = a.principal
	JOIN correlate.resource r ON r.tenant = t AND r.id = a.target
	WHERE a.purpose = 'assume' AND a.principal <> a.target AND a.principal_kind IN ('aws:iam:user', 'aws:iam:role');
	-- ... from anyone (a trust policy naming *) and from other accounts.
	INSERT INTO iam_edge_new
	SELECT CASE WHEN a.principal_uid = '*' THEN 'internet' ELSE a.principal_uid END, r.uid, 'assumes', a.technique,
		   CASE a.decision WHEN 'allow' THEN 0.9 ELSE 0.3 END,
		   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision,
							  'principal', a.principal_uid)
	FROM iam_edge_ans a JOIN correlate.resource r ON r.tenant = t AND r.id = a.target
	WHERE a.purpose = 'assume' AND a.principal IS NULL
	  AND (a.principal_uid = '*' OR a.principal_kind = 'aws:iam:root');
	-- ... and from Kubernetes service accounts through IRSA (web identity trust naming the service account).
	INSERT INTO iam_edge_new
	SELECT sa.uid, r.uid, 'assumes', 'sts:AssumeRoleWithWebIdentity',
		   CASE WHEN w.other_conditions THEN 0.45 ELSE 0.9 END,
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
							('system:serviceaccount:' || sa.namespace || ':' || sa.name) END;

	-- can_access: one edge per principal and store, with the classes it reaches.
	INSERT INTO iam_edge_new
	SELECT COALESCE(p.uid, CASE WHEN a.principal_uid = '*' THEN 'internet' END), d.uid, 'can_access', NULL,
		   CASE WHEN bool_or(a.decision = 'allow') THEN 0.9 ELSE 0.45 END,
		   jsonb_build_object(
			   'classes', to_jsonb(array_agg(DISTINCT a.class ORDER BY a.class)),
			   'actions', to_jsonb(array_agg(DISTINCT a.technique ORDER BY a.technique)),
			   'statements', to_jsonb(array_agg(DISTINCT a.statement ORDER BY a.statement)),
			   'conditional', NOT bool_or(a.decision = 'allow'))
	FROM iam_edge_ans a
	JOIN correlate.resource d ON d.tenant = t AND d.id = a.target
	LEFT JOIN correlate.resource p ON p.tenant = t AND p.id = a.principal
	WHERE a.purpose = 'access' AND (p.kind IN ('aws:iam:user', 'aws:iam:role') OR a.principal_uid = '*')
	  -- A grant to * (a public resource) is one edge from internet, not one from every principal.
	  AND NOT (a.principal IS NOT NULL
			   AND EXISTS (SELECT 1 FROM correlate.iam_statement st
						   WHERE st.tenant = t AND st.id = a.statement AND st.source = 'resource'
							 AND correlate.iam_pattern('*') OPERATOR(correlate.=) ANY (st.principals)))
	GROUP BY 1, d.uid;

	-- can_escalate_to by PassRole: attacker may pass role R, R trusts the technique's
	-- service, and the attacker holds the service actions.  Computed as joins of three
	-- small sets: who holds which technique's actions, which role trusts which service,
	-- and who may pass which role.
	INSERT INTO iam_edge_new
	WITH held AS (
		SELECT s.principal, tq.technique, tq.service, tq.needs_instance_profile, tq.likelihood,
			   bool_and(s.decision = 'allow') AS all_allow, to_jsonb(array_agg(DISTINCT s.statement)) AS statements,
			   count(DISTINCT s.technique) FILTER (WHERE s.technique = ANY (tq.all_actions)) AS n_all,
			   count(DISTINCT s.technique) FILTER (WHERE s.technique = ANY (tq.any_actions)) AS n_any,
			   count(DISTINCT s.technique) FILTER (WHERE s.technique IN ('iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile')) AS n_profile,
			   COALESCE(cardinality(tq.all_actions), 0) AS need_all, tq.any_actions IS NULL AS no_any
		FROM iam_edge_ans s CROSS JOIN correlate.iam_passrole_techniques() tq
		WHERE s.purpose = 'service'
		  AND (s.technique = ANY (tq.all_actions) OR s.technique = ANY (tq.any_actions)
			   OR (tq.needs_instance_profile AND s.technique IN ('iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile')))
		GROUP BY s.principal, tq.technique, tq.service, tq.needs_instance_profile, tq.likelihood, tq.all_actions, tq.any_actions
	), trusts AS (
		SELECT DISTINCT ts.holder AS role, tq.service
		FROM correlate.iam_statement ts CROSS JOIN correlate.iam_passrole_techniques() tq
		WHERE ts.tenant = t AND ts.source = 'trust' AND ts.effect = 'Allow'
		  AND ts.actions OPERATOR(correlate.~~>) 'sts:AssumeRole'
		  AND ts.principals OPERATOR(correlate.~~>) tq.service
	)
	SELECT ap.uid, r.uid, 'can_escalate_to', h.technique,
		   h.likelihood * CASE WHEN pr.decision = 'allow' AND h.all_allow THEN 1 ELSE 0.5 END,
		   jsonb_build_object('technique', h.technique, 'statement', pr.statement, 'service_statements', h.statements,
							  'decision', CASE WHEN pr.decision = 'allow' AND h.all_allow THEN 'allow' ELSE 'conditional' END)
	FROM iam_edge_ans pr
	JOIN held h ON h.principal = pr.principal AND h.n_all = h.need_all AND (h.no_any OR h.n_any > 0)
	JOIN trusts tr ON tr.role = pr.target AND tr.service = h.service
	JOIN correlate.resource ap ON ap.tenant = t AND ap.id = pr.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
	JOIN correlate.resource r ON r.tenant = t AND r.id = pr.target
	WHERE pr.purpose = 'passrole' AND pr.principal <> pr.target
	  AND (NOT h.needs_instance_profile OR h.n_profile = 2
		   OR jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'instance_profiles') = 'array'
									  THEN r.props->'instance_profiles' ELSE '[]' END) > 0);

	-- can_escalate_to by techniques acting on another principal.
	INSERT INTO iam_edge_new
	SELECT ap.uid, r.uid, 'can_escalate_to', a.technique,
		   d.likelihood * CASE a.decision WHEN 'allow' THEN 1 ELSE 0.5 END,
		   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision)
	FROM iam_edge_ans a
	JOIN correlate.iam_direct_techniques() d ON d.technique = a.technique AND NOT d.self
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
	  -- SSM: only roles that EC2 instances can carry.
	  AND (a.technique NOT LIKE 'ssm:%'
		   OR (jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'instance_profiles') = 'array'
									   THEN r.props->'instance_profiles' ELSE '[]' END) > 0
			   AND EXISTS (SELECT 1 FROM correlate.iam_statement ts
						   WHERE ts.tenant = t AND ts.holder = r.id AND ts.source = 'trust' AND ts.effect = 'Allow'
							 AND ts.principals OPERATOR(correlate.~~>) 'ec2.amazonaws.com')));

	-- can_escalate_to the account root: techniques by which a principal grants itself anything.
	INSERT INTO iam_edge_new
	SELECT ap.uid, 'arn:aws:iam::' || ap.account || ':root', 'can_escalate_to', a.technique,
		   d.likelihood * CASE a.decision WHEN 'allow' THEN 1 ELSE 0.5 END,
		   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision,
							  'target', a.res)
	FROM iam_edge_ans a
	JOIN correlate.iam_direct_techniques() d ON d.technique = a.technique AND d.self
	JOIN correlate.resource ap ON ap.tenant = t AND ap.id = a.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
	WHERE a.purpose = 'direct' AND ap.account IS NOT NULL
	  AND CASE d.target_kind
			  WHEN 'aws:iam:group' THEN EXISTS (SELECT 1 FROM correlate.relationship m WHERE m.tenant = t
												AND m.kind = 'member_of' AND m.src = ap.id AND m.dst = a.target)
			  WHEN 'aws:iam:policy' THEN EXISTS (SELECT 1 FROM correlate.iam_attachment at
												 JOIN correlate.iam_policy p ON p.tenant = t AND p.id = at.policy
												 WHERE at.tenant = t AND at.principal = ap.id AND p.holder = a.target
												   AND at.how IN ('managed', 'group_managed'))
			  ELSE a.principal = a.target END;

	-- 4. Nodes the edges need: internet, other accounts' roots, account roots (crown jewels).
	IF EXISTS (SELECT 1 FROM iam_edge_new WHERE src_uid = 'internet') THEN
		PERFORM correlate.internet();
	END IF;
	PERFORM correlate.upsert_resources(
		array_agg(u.uid ORDER BY u.uid), array_agg('aws:iam:root'::text ORDER BY u.uid),
		names => array_agg('root of account ' || split_part(u.uid, ':', 5) ORDER BY u.uid),
		accounts => array_agg(split_part(u.uid, ':', 5) ORDER BY u.uid),
		criticalities => array_agg(1::real ORDER BY u.uid))
	FROM (SELECT src_uid AS uid FROM iam_edge_new UNION SELECT dst_uid FROM iam_edge_new) u
	WHERE u.uid LIKE 'arn:aws:iam::%:root'
	HAVING count(*) > 0;

	-- 5. Write the edges (one per src, dst, kind: the likeliest technique leads), drop stale ones.
	--    In chunks: an upsert's cost grows faster than linearly with the rows of one call.
	CREATE TEMP TABLE iam_edge_out ON COMMIT DROP AS
	WITH agg AS (
		SELECT e.src_uid, e.dst_uid, e.kind,
			   max(e.likelihood) AS likelihood,
			   (array_agg(e.props ORDER BY e.likelihood DESC, e.technique))[1]
				 || CASE WHEN e.kind = 'can_escalate_to'
						 THEN jsonb_build_object('techniques', to_jsonb(array_agg(DISTINCT e.technique ORDER BY e.technique)))
						 ELSE '{}' END AS props
		FROM iam_edge_new e GROUP BY e.src_uid, e.dst_uid, e.kind
	)
	SELECT row_number() OVER (ORDER BY s.id, d.id, agg.kind) AS n,
		   s.id AS src, d.id AS dst, agg.kind, least(agg.likelihood, 1.0) AS likelihood, agg.props,
		   -- an edge another observation made (e.g. the IRSA annotation seen by the Kubernetes
		   -- inventory) keeps its source, so a later refresh never deletes it
		   CASE WHEN ex.source IS NOT NULL AND ex.source <> 'iam_policy' THEN NULL ELSE 'iam_policy' END AS source
	FROM agg
	JOIN correlate.resource s ON s.tenant = t AND s.uid = agg.src_uid
	JOIN correlate.resource d ON d.tenant = t AND d.id <> s.id AND d.uid = agg.dst_uid
	LEFT JOIN correlate.relationship ex ON ex.tenant = t AND ex.src = s.id AND ex.dst = d.id AND ex.kind = agg.kind;

	ids := '{}';
	FOR chunk IN 0 .. (SELECT count(*) FROM iam_edge_out) / 1000 LOOP
		SELECT ids || COALESCE(array_agg(l.id), '{}') INTO ids
		FROM (SELECT array_agg(o.src ORDER BY o.n) AS srcs, array_agg(o.dst ORDER BY o.n) AS dsts,
					 array_agg(o.kind ORDER BY o.n) AS kinds, array_agg(o.likelihood ORDER BY o.n) AS lks,
					 array_agg(o.props ORDER BY o.n) AS props, array_agg(o.source ORDER BY o.n) AS sources
			  FROM iam_edge_out o WHERE o.n > chunk * 1000 AND o.n <= (chunk + 1) * 1000) x
		CROSS JOIN LATERAL correlate.link_many(x.srcs, x.dsts, x.kinds, x.lks, x.props, x.sources) l
		WHERE x.srcs IS NOT NULL;
	END LOOP;

	DELETE FROM correlate.relationship r
	WHERE r.tenant = t AND r.source = 'iam_policy' AND r.kind IN ('assumes', 'can_access', 'can_escalate_to')
	  AND r.id NOT IN (SELECT unnest(ids));

	-- 6. Admin-equivalent users and roles (an unconditional Allow of * on *, not capped by a
	--    boundary, no unconditional Deny of * on *) are crown jewels.
	PERFORM correlate._iam_mark_admins();

	RETURN QUERY
	SELECT r.kind, count(*) FROM correlate.relationship r
	WHERE r.tenant = t AND r.source = 'iam_policy' AND r.kind IN ('assumes', 'can_access', 'can_escalate_to')
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
	correlate.iam_direct_techniques(), correlate.iam_admins() TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.refresh_iam_edges(), correlate._iam_mark_admins() TO correlate_writer;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._iam_mark_admins()
	IS 'Internal: marks principals allowed * on * as crown jewels (criticality 1, props.iam_admin) and restores those no longer admins.';
