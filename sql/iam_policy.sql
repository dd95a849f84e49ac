\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Policy store and evaluation: correlate.refresh_policies(), who_can(), what_can().
-- Answers on the public IAM samples are checked by hand (the comments say why
-- each one is right); the evaluation rules are checked on small documents.

\set cloudmapper `cat test/data/iam-authorization-details/cloudmapper-demo/iam-get-account-authorization-details.json`
\set cloudsplaining `cat test/data/iam-authorization-details/cloudsplaining/example-authz-details.json`
SELECT rejected FROM correlate.ingest('aws_iam', :'cloudmapper');
SELECT rejected FROM correlate.ingest('aws_iam', :'cloudsplaining');
SELECT * FROM correlate.refresh_policies(derive_edges => false);

SELECT kind, count(*) FROM correlate.iam_policy GROUP BY kind ORDER BY kind;
SELECT source, effect, count(*), count(*) FILTER (WHERE conditional) AS conditional
FROM correlate.iam_statement GROUP BY 1, 2 ORDER BY 1, 2;
SELECT r.uid AS principal, a.how, COALESCE(p.name, '') AS policy, COALESCE(g.uid, '') AS via
FROM correlate.iam_attachment a
JOIN correlate.resource r ON r.id = a.principal JOIN correlate.iam_policy p ON p.id = a.policy
LEFT JOIN correlate.resource g ON g.id = a.via
ORDER BY 1, 2, 3;
SELECT count(*) AS problems FROM correlate.iam_policy_problem;
-- BAD_MFA_POLICY's Deny NotAction iam:* with a Condition is stored as such.
SELECT s.effect, s.actions, s.not_actions, s.resources, s.conditional, s.conditions
FROM correlate.iam_statement s JOIN correlate.iam_policy p ON p.id = s.policy
WHERE p.name = 'arn:aws:iam::123456789012:policy/BAD_MFA_POLICY' AND s.position IN (2, 5) ORDER BY s.position;

-- who_can s3:GetObject on a level1 object.  By hand: cloudmapper's level1 (inline
-- s3:GetObject on arn:aws:s3:::level1.flaws2.cloud/*), exfiller (inline s3:*),
-- bad_role and both cloudmapper users (AmazonEC2RoleforSSM: s3:GetObject on *,
-- USER through its group); cloudsplaining's OverprivilegedEC2 (inline SupYo),
-- biden (AWSLambdaFullAccess s3:*), obama (AdministratorAccess) and
-- userwithlotsofpermissions (AdministratorAccess through group admin).  Not
-- level3 (only s3:GetBucketLocation / ListAllMyBuckets), not MyRole / MyOtherRole.
SELECT principal_uid, decision, via, policy, sid
FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::level1.flaws2.cloud/index.html');
-- Another bucket: level1's grant is scoped to its bucket, so level1 drops out.
SELECT principal_uid FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::another-bucket/key');
-- Actions compare case-insensitively, ARNs do not.
SELECT count(*) AS case_folded FROM correlate.who_can('S3:GETOBJECT', 'arn:aws:s3:::level1.flaws2.cloud/index.html');
SELECT principal_uid FROM correlate.who_can('s3:ListBucket', 'arn:aws:s3:::LEVEL1.flaws2.cloud')
WHERE principal_uid LIKE '%level1';

-- who_can sts:AssumeRole on bad_role, whose trust policy allows "AWS": "*".  By hand:
-- anyone (*), every role of account 123456789012 (the trust policy names them
-- through *, which suffices inside the account, bad_role itself included), and
-- from account 012345678901 only principals whose own policies also allow
-- sts:AssumeRole (obama, userwithlotsofpermissions: AdministratorAccess); biden
-- has no sts permission.  cloudmapper's users carry account "aws" and lack it too.
SELECT principal_uid, principal_kind, decision, via FROM correlate.who_can('sts:AssumeRole', 'arn:aws:iam::123456789012:role/bad_role');
-- exfiller's trust policy names ec2.amazonaws.com only: the service, and no user or role.
SELECT principal_uid, principal_kind, decision, via FROM correlate.who_can('sts:AssumeRole', 'arn:aws:iam::123456789012:role/exfiller');

-- who_can iam:PassRole on OverprivilegedEC2: MyRole and MyOtherRole (inline iam:PassRole on *),
-- biden (AWSLambdaFullAccess grants iam:PassRole on *), obama and userwithlotsofpermissions.
SELECT principal_uid, via, policy FROM correlate.who_can('iam:PassRole', 'arn:aws:iam::012345678901:role/OverprivilegedEC2');

-- what_can level1: its inline policy, statement by statement, and nothing else.
SELECT action, resources, decision, via, policy FROM correlate.what_can('arn:aws:iam::123456789012:role/service-role/level1');
-- what_can OverprivilegedEC2: its inline SupYo and the managed InsecurePolicy.
SELECT action, resources, decision, via, policy FROM correlate.what_can('arn:aws:iam::012345678901:role/OverprivilegedEC2');

-- ---- evaluation rules on small documents (account 444455556666) ---------------

SELECT correlate.upsert_resource('arn:aws:iam::444455556666:policy/boundary', 'aws:iam:policy', 'boundary', account => '444455556666',
	props => '{"document": {"Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "sts:AssumeRole"], "Resource": "*"}]}}') IS NOT NULL AS boundary;
SELECT correlate.upsert_resource('arn:aws:iam::444455556666:group/ops', 'aws:iam:group', 'ops', account => '444455556666',
	props => '{"inline_policies": [{"name": "ops-logs", "document": {"Statement": {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}}}]}') IS NOT NULL AS grp;
SELECT correlate.upsert_resource('arn:aws:iam::444455556666:user/alice', 'aws:iam:user', 'alice', account => '444455556666',
	props => $${"inline_policies": [{"name": "alice", "document": {"Version": "2012-10-17", "Statement": [
		{"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
		{"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
		{"Sid": "NotSecret", "Effect": "Deny", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::public/*"},
		{"Sid": "OwnKeys", "Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::444455556666:user/${aws:username}"},
		{"Sid": "MfaForEc2", "Effect": "Deny", "Action": "ec2:*", "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
	]}}]}$$) IS NOT NULL AS alice;
SELECT correlate.upsert_resource('arn:aws:iam::444455556666:user/bob', 'aws:iam:user', 'bob', account => '444455556666',
	props => $${"permissions_boundary": "arn:aws:iam::444455556666:policy/boundary",
				"inline_policies": [{"name": "bob", "document": {"Statement": [
					{"Effect": "Allow", "Action": ["s3:*", "kms:*", "sts:AssumeRole"], "Resource": "*"},
					{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}}]}$$) IS NOT NULL AS bob;
SELECT correlate.upsert_resource('arn:aws:iam::444455556666:user/carol', 'aws:iam:user', 'carol', account => '444455556666') IS NOT NULL AS carol;
SELECT correlate.link(correlate.resource_id('arn:aws:iam::444455556666:user/carol'),
					  correlate.resource_id('arn:aws:iam::444455556666:group/ops'), 'member_of') IS NOT NULL AS carol_in_ops;
-- A bucket policy: carol directly (no identity policy needed), the account root (delegates), and anyone with a condition.
SELECT correlate.upsert_resource('arn:aws:s3:::shared', 'aws:s3:bucket', 'shared', account => '444455556666',
	props => $${"bucket_policy": {"Statement": [
		{"Sid": "Carol", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:user/carol"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"},
		{"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::shared/*"},
		{"Sid": "FromVpce", "Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::shared", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]}}$$) IS NOT NULL AS bucket;
-- A KMS key whose policy names only carol: bob's kms:* does not reach it.
SELECT correlate.upsert_resource('arn:aws:kms:us-east-1:444455556666:key/k1', 'aws:kms:key', 'k1', account => '444455556666',
	props => $${"key_policy": "{\"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::444455556666:user/carol\"}, \"Action\": \"kms:Decrypt\", \"Resource\": \"*\"}]}"}$$) IS NOT NULL AS key;
-- A role in another account that trusts account 444455556666.
SELECT correlate.upsert_resource('arn:aws:iam::777788889999:role/partner', 'aws:iam:role', 'partner', account => '777788889999',
	props => '{"trust_policy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]}}') IS NOT NULL AS partner;
SELECT * FROM correlate.refresh_policies(derive_edges => false);

-- NotAction: alice may do anything but iam:*; a Deny wins over it; NotResource scopes a Deny.
SELECT principal_uid, decision, via, sid FROM correlate.who_can('s3:PutObject', 'arn:aws:s3:::x/y') WHERE principal_uid LIKE '%4444555566%';
SELECT principal_uid, decision, sid FROM correlate.who_can('iam:CreateUser', '*') WHERE principal_uid LIKE '%4444555566%';
SELECT principal_uid, decision, sid FROM correlate.who_can('s3:DeleteObject', 'arn:aws:s3:::x/y', include_denied => true) WHERE principal_uid LIKE '%alice';
SELECT principal_uid, decision, sid FROM correlate.who_can('s3:DeleteObject', 'arn:aws:s3:::x/y') WHERE principal_uid LIKE '%alice';
SELECT principal_uid, decision, sid FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::public/a', include_denied => true) WHERE principal_uid LIKE '%alice';
SELECT principal_uid, decision, sid FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::private/a', include_denied => true) WHERE principal_uid LIKE '%alice';
-- A conditional Deny makes the answer conditional, naming the Deny; a policy variable widens and marks conditional.
SELECT principal_uid, decision, sid FROM correlate.who_can('ec2:RunInstances', '*') WHERE principal_uid LIKE '%alice';
SELECT principal_uid, decision, sid FROM correlate.who_can('iam:CreateAccessKey', 'arn:aws:iam::444455556666:user/alice') WHERE principal_uid LIKE '%4444555566%';
SELECT resources, conditional FROM correlate.iam_statement WHERE sid = 'OwnKeys';
-- The boundary caps bob: s3:Get* passes, s3:PutObject does not, nor his conditional dynamodb grant.
SELECT principal_uid, decision, via FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::x/y') WHERE principal_uid LIKE '%bob';
SELECT count(*) AS bob_put FROM correlate.who_can('s3:PutObject', 'arn:aws:s3:::x/y') WHERE principal_uid LIKE '%bob';
SELECT principal_uid, decision FROM correlate.who_can('dynamodb:Query', 'arn:aws:dynamodb:us-east-1:444455556666:table/t') WHERE principal_uid LIKE '%bob';
-- Group inheritance: carol reaches logs through group ops.
SELECT principal_uid, via, policy FROM correlate.who_can('logs:PutLogEvents', 'arn:aws:logs:us-east-1:444455556666:log-group:x') WHERE principal_uid LIKE '%4444555566%';
-- The bucket policy: carol directly; the account statement delegates (alice has it by identity, carol does not);
-- * with a condition is conditional for everyone.
SELECT principal_uid, decision, via, sid FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::shared/doc') WHERE principal_uid LIKE '%carol';
SELECT principal_uid, decision, via FROM correlate.who_can('s3:PutObject', 'arn:aws:s3:::shared/doc') WHERE principal_uid LIKE '%4444555566%';
SELECT principal_uid, principal_kind, decision, via FROM correlate.who_can('s3:ListBucket', 'arn:aws:s3:::shared') WHERE principal_uid LIKE '%carol' OR principal IS NULL;
-- The key policy is required: carol by it; bob and alice (identity allows) are not let in.
SELECT principal_uid, decision, via FROM correlate.who_can('kms:Decrypt', 'arn:aws:kms:us-east-1:444455556666:key/k1');
-- A resource-based policy speaks for its own resource only: k1's "Resource": "*" does not reach k2.
SELECT principal_uid, decision, via FROM correlate.who_can('kms:Decrypt', 'arn:aws:kms:us-east-1:444455556666:key/k2')
WHERE principal_uid LIKE '%4444555566%';
-- Across accounts both sides must allow: bob (sts:AssumeRole in policy and boundary) yes; carol no; alice's
-- NotAction iam:* covers sts:AssumeRole too.
SELECT principal_uid, decision, via FROM correlate.who_can('sts:AssumeRole', 'arn:aws:iam::777788889999:role/partner');

-- what_can alice: grants with what limits them.
SELECT action, except_actions, resources, decision, sid, (SELECT sid FROM correlate.iam_statement WHERE id = w.limited_by) AS limited_by
FROM correlate.what_can('arn:aws:iam::444455556666:user/alice') w;
-- what_can bob: the boundary lets s3:Get* through only.
SELECT action, decision, via FROM correlate.what_can('arn:aws:iam::444455556666:user/bob');
-- what_can carol: the group's grant and the bucket and key policies that name her.
SELECT action, resources, decision, via FROM correlate.what_can('arn:aws:iam::444455556666:user/carol');

-- ---- bad documents are reported, not fatal ----------------------------------

SELECT correlate.upsert_resource('arn:aws:iam::444455556666:user/dave', 'aws:iam:user', 'dave', account => '444455556666',
	props => $${"managed_policies": ["arn:aws:iam::444455556666:policy/broken", "arn:aws:iam::444455556666:policy/missing"],
				"inline_policies": [{"name": "nostatement", "document": {"Version": "2012-10-17"}}, {"name": 7}]}$$) IS NOT NULL AS dave;
SELECT correlate.upsert_resource('arn:aws:iam::444455556666:policy/broken', 'aws:iam:policy', 'broken', account => '444455556666',
	props => $${"document": {"Statement": [
		"a string",
		{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"},
		{"Effect": "Allow", "Action": "s3:*", "NotAction": "ec2:*", "Resource": "*"},
		{"Effect": "Allow", "Action": "s3:*"},
		{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"},
		{"Effect": "Allow", "Action": 42, "Resource": "*"},
		{"Effect": "Allow", "Action": [], "Resource": "*"},
		{"Effect": "Allow", "Action": "", "Resource": "*"},
		{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": "yes"},
		{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": true}},
		{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::ok/*", "bad\u0001arn"]},
		{"Sid": "TheGoodOne", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ok/*"}]}}$$) IS NOT NULL AS broken;
SELECT correlate.upsert_resource('arn:aws:s3:::badpolicy', 'aws:s3:bucket', 'badpolicy',
	props => $${"policy": "{not json", "bucket_policy": {"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}}$$) IS NOT NULL AS bucket;
SELECT * FROM correlate.refresh_policies(derive_edges => false);
SELECT r.uid, p.policy, p.position, p.reason FROM correlate.iam_policy_problem p JOIN correlate.resource r ON r.id = p.holder
ORDER BY 1, 2, 3;
-- The good statement of the broken policy still counts.
SELECT principal_uid, sid FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::ok/x') WHERE principal_uid LIKE '%dave';

-- Bad arguments.
SELECT * FROM correlate.what_can('arn:aws:iam::444455556666:user/nobody');
SELECT * FROM correlate.what_can('arn:aws:iam::444455556666:group/ops');
SELECT * FROM correlate.what_can(-1::bigint);
SELECT * FROM correlate._iam_evaluate(ARRAY['s3:GetObject'], ARRAY['a', 'b']);
SELECT count(*) FROM correlate.who_can(NULL, 'x');

-- ---- tenants ------------------------------------------------------------------

SET correlate.tenant = 'other';
SELECT rejected FROM correlate.ingest('aws_iam', :'cloudmapper');
SELECT statements FROM correlate.refresh_policies(derive_edges => false);
SELECT count(*) AS who_in_other FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::level1.flaws2.cloud/index.html');
RESET correlate.tenant;
SELECT tenant, count(*) FROM correlate.iam_statement GROUP BY tenant ORDER BY tenant;
-- A role of the default tenant sees its own statements only.
SET client_min_messages = warning;
DROP ROLE IF EXISTS iam_test_reader;
RESET client_min_messages;
CREATE ROLE iam_test_reader IN ROLE correlate_reader;
SELECT correlate.grant_tenant('default', 'iam_test_reader');
SET ROLE iam_test_reader;
SELECT count(*) AS visible_statements FROM correlate.iam_statement;
SELECT count(*) AS reader_who_can FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::level1.flaws2.cloud/index.html');
SELECT * FROM correlate.refresh_policies();
RESET ROLE;
DROP ROLE iam_test_reader;
SELECT count(*) AS who_in_default FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::level1.flaws2.cloud/index.html');

-- The statement index serves who_can.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT s.id FROM correlate.iam_statement s WHERE s.actions OPERATOR(correlate.~~>) 's3:GetObject';
RESET enable_seqscan;
