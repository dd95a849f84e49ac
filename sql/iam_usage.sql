\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
SET TimeZone = 'UTC';

-- Used versus granted (correlate.permission_usage) on the seed scenario: the
-- role legacy-webapp-role is granted s3:*, ec2:Describe* and iam:PassRole, and
-- legitimately uses only ec2:DescribeInstances until the intrusion of 2026-11-20.

\set seed `cat test/data/iam-authorization-details/seed/account-authorization-details.json`
SELECT rejected FROM correlate.ingest('aws_iam', :'seed');
SELECT statements FROM correlate.refresh_policies();
SELECT correlate.upsert_resource('arn:aws:s3:::acme-customer-pii', 'aws:s3:bucket', 'acme-customer-pii',
	account => '111122223333', criticality => 1.0) IS NOT NULL AS bucket;

-- CloudTrail as the cloudtrail ingest records it: actor = the role, action = service:eventName.
SELECT count(*) AS events FROM (
	SELECT correlate.record_event(ts => e.ts, class_uid => 6003, source => 'cloudtrail', uid => e.uid,
								  actor => correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
								  target => e.target, action => e.action, outcome => e.outcome)
	FROM (SELECT '2026-11-10 09:00:00+00'::timestamptz + make_interval(days => d) AS ts, 'describe-' || d AS uid,
				 'ec2:DescribeInstances' AS action, 'success' AS outcome, NULL::bigint AS target
		  FROM generate_series(0, 9) d
		  UNION ALL VALUES
			('2026-11-20 10:04:30+00'::timestamptz, 'assume', 'sts:AssumeRoleWithWebIdentity', 'success', NULL::bigint),
			('2026-11-20 10:05:00+00', 'list', 's3:ListBuckets', 'success', NULL),
			('2026-11-20 10:06:00+00', 'get-1', 's3:GetObject', 'success', correlate.resource_id('arn:aws:s3:::acme-customer-pii')),
			('2026-11-20 10:06:30+00', 'get-2', 's3:GetObject', 'success', correlate.resource_id('arn:aws:s3:::acme-customer-pii')),
			('2026-11-20 10:07:00+00', 'denied', 'iam:CreateUser', 'AccessDenied', NULL)) e) x;

-- Before the intrusion: ec2:DescribeInstances under ec2:Describe*; s3:* and iam:PassRole unused.
SELECT u.action, u.used, u.failed, u.first_used, u.last_used, u.granted, u.pattern, s.sid
FROM correlate.permission_usage('arn:aws:iam::111122223333:role/legacy-webapp-role',
								'2026-11-10 00:00+00', '2026-11-20 00:00+00') u
LEFT JOIN correlate.iam_statement s ON s.id = u.statement;
-- With the intrusion day: s3 reads under s3:*, the web-identity call (granted by the trust
-- policy, not by the role's own policies) and a denied attempt, both not_granted.
SELECT u.action, u.used, u.failed, u.first_used, u.last_used, u.granted, u.pattern, s.sid
FROM correlate.permission_usage('arn:aws:iam::111122223333:role/legacy-webapp-role',
								'2026-11-10 00:00+00', '2026-11-21 00:00+00') u
LEFT JOIN correlate.iam_statement s ON s.id = u.statement;
-- A least-privilege policy keeps what was used before: one action.
SELECT string_agg(action, ', ' ORDER BY action) AS keep
FROM correlate.permission_usage('arn:aws:iam::111122223333:role/legacy-webapp-role', '2026-11-10 00:00+00', '2026-11-20 00:00+00')
WHERE used > 0 AND failed < used;

-- Bad arguments.
SELECT * FROM correlate.permission_usage('arn:aws:iam::111122223333:role/nope', '2026-11-10', '2026-11-20');
SELECT * FROM correlate.permission_usage('arn:aws:iam::111122223333:role/legacy-webapp-role', '2026-11-20', '2026-11-10');
SELECT * FROM correlate.permission_usage('arn:aws:iam::111122223333:role/legacy-webapp-role', NULL, '2026-11-10');
SELECT * FROM correlate.permission_usage(correlate.resource_id('arn:aws:s3:::acme-customer-pii'), '2026-11-10', '2026-11-20');
