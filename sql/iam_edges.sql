\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Graph edges from permissions (correlate.refresh_iam_edges): assumes,
-- can_access, can_escalate_to, and admin-equivalent principals as crown jewels.

CREATE VIEW iam_edges AS
SELECT s.uid AS src, r.kind, d.uid AS dst, round(r.likelihood::numeric, 3) AS likelihood,
	   r.props->>'technique' AS technique, r.props->'techniques' AS techniques, r.props->'classes' AS classes,
	   r.props->>'decision' AS decision
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst
WHERE r.source = 'iam_policy';

-- ---- the seed scenario ----------------------------------------------------------

\set seed `cat test/data/iam-authorization-details/seed/account-authorization-details.json`
SELECT rejected FROM correlate.ingest('aws_iam', :'seed');
-- The Kubernetes inventory and the data inventory would report these two.
SELECT correlate.upsert_resource(correlate.k8s_uid('prod-eks', 'legacy-webapp', 'serviceaccount', 'webapp-sa'),
	'k8s:serviceaccount', 'webapp-sa', cluster => 'prod-eks', namespace => 'legacy-webapp') IS NOT NULL AS sa;
SELECT correlate.upsert_resource('arn:aws:s3:::acme-customer-pii', 'aws:s3:bucket', 'acme-customer-pii',
	account => '111122223333', region => 'us-east-1', criticality => 1.0) IS NOT NULL AS bucket;
SELECT * FROM correlate.refresh_policies();
SELECT * FROM iam_edges ORDER BY src, kind, dst;
-- The expected attack path: service account -assumes-> role -can_access-> bucket.
SELECT sa.uid AS service_account, role.uid AS role, b.uid AS bucket, b.criticality
FROM correlate.relationship e1
JOIN correlate.relationship e2 ON e2.src = e1.dst AND e2.kind = 'can_access'
JOIN correlate.resource sa ON sa.id = e1.src JOIN correlate.resource role ON role.id = e1.dst
JOIN correlate.resource b ON b.id = e2.dst
WHERE e1.kind = 'assumes' AND sa.kind = 'k8s:serviceaccount';
-- An edge the Kubernetes inventory made from the IRSA annotation keeps its source, so
-- refreshes never delete it (here the inventory reports it after a first refresh).
SELECT correlate.link(correlate.resource_id(correlate.k8s_uid('prod-eks', 'legacy-webapp', 'serviceaccount', 'webapp-sa')),
					  correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'), 'assumes',
					  source => 'k8s_inventory', props => '{"via": "irsa_annotation"}') IS NOT NULL AS annotated;
SELECT count(*) FROM correlate.refresh_iam_edges();
SELECT r.source, r.props->>'via' AS via, r.props->>'technique' AS technique
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src
WHERE r.kind = 'assumes' AND s.kind = 'k8s:serviceaccount';
-- The role is broad but not an admin: it is no crown jewel.
SELECT uid, criticality, props->'iam_admin' AS admin FROM correlate.resource WHERE uid LIKE '%legacy-webapp-role';

-- ---- the public samples ---------------------------------------------------------

\set cloudmapper `cat test/data/iam-authorization-details/cloudmapper-demo/iam-get-account-authorization-details.json`
\set cloudsplaining `cat test/data/iam-authorization-details/cloudsplaining/example-authz-details.json`
SELECT rejected FROM correlate.ingest('aws_iam', :'cloudmapper');
SELECT rejected FROM correlate.ingest('aws_iam', :'cloudsplaining');
SELECT * FROM correlate.refresh_policies();
-- By hand, from the documents:
--  * OverprivilegedEC2 (inline iam:CreateAccessKey on *) can become every user of its account.
--  * obama and userwithlotsofpermissions (AdministratorAccess) can do everything: become the
--    other users (access keys, login profiles), rewrite the roles' trust policies, join group
--    biden (the only group they are not in), pass OverprivilegedEC2 (trusts ec2, has an
--    instance profile) to EC2 or use SSM on its instances, grant themselves anything (root),
--    and assume bad_role in the other account (its trust policy allows "*").
--  * bad_role (inline * on *) can grant itself anything (root) and rewrite or pass every
--    other role of its account: exfiller trusts ec2 (no instance profile, but bad_role may
--    create one), level1 trusts lambda, level3 trusts ecs-tasks.
--  * bad_role's trust policy allows "AWS": "*": anyone on the internet, and every role of
--    its account, may assume it.
--  * biden may pass roles and create Lambda functions, but no role of his account trusts
--    lambda.amazonaws.com: no edge.
SELECT * FROM iam_edges WHERE src NOT LIKE '%111122223333%' ORDER BY src, kind, dst;
-- Admin-equivalent principals and account roots are crown jewels.
SELECT uid, kind, criticality, props->'iam_admin' AS admin FROM correlate.resource WHERE criticality > 0 ORDER BY uid;
SELECT principal_uid, (SELECT policy FROM correlate.who_can('iam:CreateUser', '*') w WHERE w.principal = a.principal) AS via_policy
FROM correlate.iam_admins() a ORDER BY 1;

-- Refreshing after a change removes what no longer holds: bad_role loses its inline * policy.
SELECT correlate.upsert_resource('arn:aws:iam::123456789012:role/bad_role', 'aws:iam:role',
	props => '{"inline_policies": []}') IS NOT NULL AS changed;
SELECT * FROM correlate.refresh_policies();
SELECT * FROM iam_edges WHERE src LIKE '%bad_role' ORDER BY src, kind, dst;
SELECT uid, criticality, props->'iam_admin' AS admin FROM correlate.resource WHERE uid LIKE '%bad_role';
-- A second refresh changes nothing.
CREATE TEMP TABLE edges_before AS SELECT * FROM iam_edges;
SELECT * FROM correlate.refresh_iam_edges();
SELECT count(*) AS changed FROM ((SELECT * FROM iam_edges EXCEPT SELECT * FROM edges_before)
								 UNION ALL (SELECT * FROM edges_before EXCEPT SELECT * FROM iam_edges)) d;

-- ---- every technique, on small documents (account 555566667777) --------------------

SELECT correlate.upsert_resource('arn:aws:iam::555566667777:role/' || s, 'aws:iam:role', s, account => '555566667777',
	props => jsonb_build_object('trust_policy', jsonb_build_object('Statement', jsonb_build_array(jsonb_build_object(
		'Effect', 'Allow', 'Principal', jsonb_build_object('Service', s || '.amazonaws.com'), 'Action', 'sts:AssumeRole'))),
		'instance_profiles', CASE WHEN s = 'ec2' THEN '["arn:aws:iam::555566667777:instance-profile/ec2"]'::jsonb ELSE '[]' END)) IS NOT NULL
FROM unnest(ARRAY['ec2', 'lambda', 'cloudformation', 'glue', 'sagemaker', 'codebuild', 'ecs-tasks']) s;
SELECT correlate.upsert_resource('arn:aws:iam::555566667777:policy/shared', 'aws:iam:policy', 'shared', account => '555566667777',
	props => '{"document": {"Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}},
			   "other_versions": [{"version": "v1", "document": {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}}]}') IS NOT NULL AS shared;
SELECT correlate.upsert_resource('arn:aws:iam::555566667777:group/' || g, 'aws:iam:group', g, account => '555566667777',
	props => '{"managed_policies": ["arn:aws:iam::555566667777:policy/shared"]}') IS NOT NULL
FROM unnest(ARRAY['builders', 'finance']) g;
SELECT correlate.upsert_resource('arn:aws:iam::555566667777:user/victim', 'aws:iam:user', 'victim', account => '555566667777') IS NOT NULL AS victim;
SELECT correlate.upsert_resource('arn:aws:iam::555566667777:user/mallory', 'aws:iam:user', 'mallory', account => '555566667777',
	props => $${"managed_policies": ["arn:aws:iam::555566667777:policy/shared"],
				"inline_policies": [{"name": "tools", "document": {"Statement": [
		{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::555566667777:role/*"},
		{"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction", "cloudformation:CreateStack",
									   "glue:CreateDevEndpoint", "sagemaker:CreateTrainingJob", "codebuild:CreateProject",
									   "codebuild:StartBuild", "ecs:RegisterTaskDefinition", "ecs:RunTask", "ec2:RunInstances"],
		 "Resource": "*"},
		{"Effect": "Allow", "Action": ["iam:UpdateLoginProfile", "iam:AddUserToGroup", "iam:PutGroupPolicy",
									   "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "ssm:SendCommand"], "Resource": "*"},
		{"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}}]}$$) IS NOT NULL AS mallory;
SELECT correlate.link(correlate.resource_id('arn:aws:iam::555566667777:user/mallory'),
					  correlate.resource_id('arn:aws:iam::555566667777:group/builders'), 'member_of') IS NOT NULL AS in_builders;
-- A role another account may assume, and data stores of each kind; one bucket is public.
SELECT correlate.upsert_resource('arn:aws:iam::555566667777:role/vendor', 'aws:iam:role', 'vendor', account => '555566667777',
	props => '{"trust_policy": {"Statement": {"Effect": "Allow", "Principal": {"AWS": "999988887777"}, "Action": "sts:AssumeRole",
											  "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}},
			   "inline_policies": [{"name": "read", "document": {"Statement": {"Effect": "Allow",
					"Action": ["dynamodb:GetItem", "secretsmanager:GetSecretValue", "ssm:GetParameter", "kms:Decrypt", "rds-db:connect"],
					"Resource": "*"}}}]}') IS NOT NULL AS vendor;
SELECT correlate.upsert_resource(u, k, account => '555566667777') IS NOT NULL
FROM (VALUES ('arn:aws:dynamodb:us-east-1:555566667777:table/orders', 'aws:dynamodb:table'),
			 ('arn:aws:secretsmanager:us-east-1:555566667777:secret:db-AbCdEf', 'aws:secretsmanager:secret'),
			 ('arn:aws:ssm:us-east-1:555566667777:parameter/app/key', 'aws:ssm:parameter'),
			 ('arn:aws:kms:us-east-1:555566667777:key/k', 'aws:kms:key'),
			 ('arn:aws:rds:us-east-1:555566667777:db:main', 'aws:rds:db')) v(u, k);
SELECT correlate.upsert_resource('arn:aws:s3:::public-site', 'aws:s3:bucket', 'public-site', account => '555566667777',
	props => '{"bucket_policy": {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::public-site/*"}}}') IS NOT NULL AS site;
SELECT * FROM correlate.refresh_policies();
-- mallory: every PassRole technique (ec2 has an instance profile; sagemaker through a training
-- job), UpdateLoginProfile and CreateAccessKey (conditional: MFA) on victim, AddUserToGroup into
-- finance (not builders: she is in it), PutGroupPolicy on builders and CreatePolicyVersion /
-- SetDefaultPolicyVersion on shared (attached to her, with another version) -> root, and
-- ssm:SendCommand onto the ec2 role.  vendor reads every store (rds through rds-db:connect), a
-- conditional trust lets account 999988887777 assume it, and the public bucket is reached from
-- the internet (one edge, not one per principal).
SELECT * FROM iam_edges WHERE src LIKE '%555566667777%' OR dst LIKE '%555566667777%' OR dst LIKE '%public-site' ORDER BY src, kind, dst;

-- Catalogues.
SELECT kind, class, count(*) FROM correlate.iam_access_actions() GROUP BY 1, 2 ORDER BY 1, 2;
SELECT technique, service FROM correlate.iam_passrole_techniques() ORDER BY 1;
SELECT technique, target_kind, self FROM correlate.iam_direct_techniques() ORDER BY 1;

-- ---- the refresh at scale: set-based, batches planned for their size, statistics -------

-- The refresh creates no table, temporary or not (pg_cron runs it; a table per call would
-- bloat the catalog).
BEGIN;
SELECT count(*) AS rels_before FROM pg_class \gset
SELECT count(*) > 0 AS refreshed FROM correlate.refresh_iam_edges();
SELECT count(*) - :rels_before AS tables_created FROM pg_class;
COMMIT;

-- A batch of more than 64 requests is planned for its own arguments, without nested loops;
-- each request gets the answer it gets alone (who_can), and the planner setting is back
-- afterwards.
CREATE TEMP TABLE batch_req AS
SELECT row_number() OVER (ORDER BY a.n, r.n)::integer AS req, a.action, r.res
FROM unnest(ARRAY['s3:GetObject', 'dynamodb:GetItem', 'kms:Decrypt', 'iam:PassRole', 'sts:AssumeRole',
				  'iam:CreateAccessKey', 'ssm:GetParameter', 'secretsmanager:GetSecretValue', 'sqs:SendMessage',
				  'lambda:CreateFunction']) WITH ORDINALITY a(action, n),
	 unnest(ARRAY['*', 'arn:aws:s3:::public-site/index.html', 'arn:aws:dynamodb:us-east-1:555566667777:table/orders',
				  'arn:aws:kms:us-east-1:555566667777:key/k', 'arn:aws:iam::555566667777:role/ec2',
				  'arn:aws:iam::555566667777:user/victim', 'arn:aws:iam::555566667777:role/vendor',
				  'arn:aws:ssm:us-east-1:555566667777:parameter/app/key']) WITH ORDINALITY r(res, n);
CREATE TEMP TABLE batch_ans AS
SELECT e.* FROM (SELECT array_agg(action ORDER BY req) AS a, array_agg(res ORDER BY req) AS r FROM batch_req) q,
	 correlate._iam_evaluate(q.a, q.r) e;
SELECT (SELECT count(*) FROM batch_req) AS requests, (SELECT count(*) FROM batch_ans) AS answers,
	   (SELECT count(*) FROM (SELECT req, principal_uid, decision, via, statement, policy, sid FROM batch_ans
							  EXCEPT ALL
							  SELECT q.req, w.principal_uid, w.decision, w.via, w.statement, w.policy, w.sid
							  FROM batch_req q, correlate.who_can(q.action, q.res) w) x) AS only_in_batch,
	   (SELECT count(*) FROM (SELECT q.req, w.principal_uid, w.decision, w.via, w.statement, w.policy, w.sid
							  FROM batch_req q, correlate.who_can(q.action, q.res) w
							  EXCEPT ALL
							  SELECT req, principal_uid, decision, via, statement, policy, sid FROM batch_ans) x) AS only_alone,
	   current_setting('enable_nestloop') AS nestloop_after, current_setting('plan_cache_mode') AS plan_cache_mode_after;
-- Bad input to a batch: the arrays must pair up.
SELECT count(*) FROM correlate._iam_evaluate(array_fill('s3:GetObject'::text, ARRAY[100]), array_fill('*'::text, ARRAY[99]));
-- (NULL actions are skipped, in a batch too)
SELECT count(DISTINCT req) AS answered_requests
FROM correlate._iam_evaluate(ARRAY(SELECT CASE WHEN i % 2 = 0 THEN 'iam:PassRole' END FROM generate_series(1, 100) i),
							 array_fill('arn:aws:iam::555566667777:role/ec2'::text, ARRAY[100]));

-- Statistics: a refresh that rewrites the same rows leaves them as they are; one that moves
-- a table's size by more than a tenth refreshes them.  (Autovacuum is kept off the table
-- meanwhile: the refresh's ANALYZE skips a table autovacuum is analyzing.)
ALTER TABLE correlate.iam_statement SET (autovacuum_enabled = false);
SELECT count(*) > 0 AS refreshed FROM correlate.refresh_policies(derive_edges => false);
SELECT pg_stat_force_next_flush();
SELECT pg_stat_get_analyze_count('correlate.iam_statement'::regclass) AS analyzed \gset
SELECT count(*) > 0 AS refreshed FROM correlate.refresh_policies(derive_edges => false);
SELECT pg_stat_force_next_flush();
SELECT pg_stat_get_analyze_count('correlate.iam_statement'::regclass) - :analyzed AS analyzed_unchanged;
SELECT correlate.upsert_resource('arn:aws:iam::555566667777:policy/many', 'aws:iam:policy', 'many', account => '555566667777',
	props => jsonb_build_object('document', jsonb_build_object('Statement',
		(SELECT jsonb_agg(jsonb_build_object('Effect', 'Allow', 'Action', 'sqs:SendMessage',
											 'Resource', 'arn:aws:sqs:us-east-1:555566667777:q' || i))
		 FROM generate_series(1, 300) i)))) IS NOT NULL AS many;
SELECT count(*) > 0 AS refreshed FROM correlate.refresh_policies(derive_edges => false);
SELECT pg_stat_force_next_flush();
SELECT pg_stat_get_analyze_count('correlate.iam_statement'::regclass) - :analyzed AS analyzed_after_growth;
ALTER TABLE correlate.iam_statement RESET (autovacuum_enabled);

-- Only writers refresh.
SET client_min_messages = warning;
DROP ROLE IF EXISTS iam_test_reader2;
RESET client_min_messages;
CREATE ROLE iam_test_reader2 IN ROLE correlate_reader;
SET ROLE iam_test_reader2;
SELECT * FROM correlate.refresh_iam_edges();
RESET ROLE;
DROP ROLE iam_test_reader2;
DROP VIEW iam_edges;
