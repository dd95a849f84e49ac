\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- IAM privilege escalation: the technique catalogue, conditions judged, chains
-- (escalation_paths) and who_can through escalation, on the fixtures of
-- test/data/iam-escalation/ (one per technique and per trap; see its README).

-- ---- table-driven: one fixture per tenant, the attacker's shortest chains to admin -------

\set d `pwd`
CREATE TEMP TABLE fixture (name text PRIMARY KEY, escalates boolean NOT NULL);
INSERT INTO fixture
SELECT regexp_replace(f, '\.json$', ''), f NOT LIKE 'trap-%'
FROM pg_ls_dir(:'d' || '/test/data/iam-escalation') f WHERE f LIKE '%.json';

-- Ingests a fixture into its own tenant, refreshes, and returns the attacker's shortest
-- path to an admin-equivalent node (one row per step; none when it cannot escalate).
CREATE FUNCTION esc_fixture(fixture text, dir text)
RETURNS TABLE (path integer, step integer, technique text, resource text, through text, dst text,
			   likelihood numeric, decision text)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('correlate.tenant', 'esc-' || fixture, true);
	PERFORM correlate.ingest('aws_iam', pg_read_file(dir || '/' || fixture || '.json'));
	PERFORM correlate.refresh_policies();
	RETURN QUERY
	SELECT p.path, p.step, p.technique, regexp_replace(p.resource, '^(arn:aws:iam::|service-resources:)111100002222:', ''),
		   regexp_replace(p.through, '^(arn:aws:iam::|service-resources:)111100002222:', ''),
		   regexp_replace(p.dst, '^(arn:aws:iam::|service-resources:)111100002222:', ''), round(p.likelihood::numeric, 3), p.decision
	FROM correlate.escalation_paths('arn:aws:iam::111100002222:user/attacker', max_paths => 3) p;
END
$$;
CREATE TEMP TABLE result AS
SELECT f.name, f.escalates, p.*
FROM fixture f LEFT JOIN LATERAL esc_fixture(f.name, :'d' || '/test/data/iam-escalation') p ON true;

-- Every technique fixture escalates and no trap does.
SELECT name, escalates AS expected, bool_or(path IS NOT NULL) AS found
FROM result GROUP BY name, escalates HAVING escalates IS DISTINCT FROM bool_or(path IS NOT NULL) ORDER BY name;
SELECT count(*) FILTER (WHERE escalates) AS techniques, count(*) FILTER (WHERE NOT escalates) AS traps FROM fixture;
-- No trap yields any escalation or assume edge from the attacker at all (not only none to admin).
SELECT f.name, r.kind, d.uid, r.props->>'technique' AS technique
FROM fixture f
JOIN correlate.resource a ON a.tenant = 'esc-' || f.name AND a.uid = 'arn:aws:iam::111100002222:user/attacker'
JOIN correlate.relationship r ON r.tenant = a.tenant AND r.src = a.id AND r.kind IN ('can_escalate_to', 'assumes')
JOIN correlate.resource d ON d.tenant = r.tenant AND d.id = r.dst
WHERE NOT f.escalates ORDER BY 1, 2, 3;
-- (the same join finds the technique fixtures' edges: every one has some)
SELECT count(DISTINCT f.name) AS technique_fixtures_with_edges
FROM fixture f
JOIN correlate.resource a ON a.tenant = 'esc-' || f.name AND a.uid = 'arn:aws:iam::111100002222:user/attacker'
JOIN correlate.relationship r ON r.tenant = a.tenant AND r.src = a.id AND r.kind IN ('can_escalate_to', 'assumes')
WHERE f.escalates;

-- The first (shortest, likeliest) chain of each fixture, step by step.
SELECT name, step, technique, resource, through, dst, likelihood, decision
FROM result WHERE path = 1 OR path IS NULL ORDER BY name, step;
-- All chains of a few fixtures with more than one.
SELECT name, path, step, technique, dst, likelihood FROM result
WHERE name IN ('assume-role-chain', 'notaction-exploitable', 'put-role-policy') ORDER BY name, path, step;

-- ---- the edges of a few fixtures, with their statements' conditions -----------------------

SET correlate.tenant = 'esc-condition-mfa';
SELECT s.uid AS src, d.uid AS dst, r.props->>'technique' AS technique, r.props->>'decision' AS decision,
	   round(r.likelihood::numeric, 3) AS likelihood, st.conditions
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst
LEFT JOIN correlate.iam_statement st ON st.id = (r.props->>'statement')::bigint
WHERE r.tenant = 'esc-condition-mfa' AND r.kind = 'can_escalate_to' AND s.uid LIKE '%attacker' ORDER BY 1, 2;
-- PassRole limited by iam:PassedToService: usable for Lambda, not for EC2.
SET correlate.tenant = 'esc-condition-passed-to-service';
SELECT d.uid AS dst, r.props->'techniques' AS techniques
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst
WHERE r.tenant = 'esc-condition-passed-to-service' AND r.kind = 'can_escalate_to' AND s.uid LIKE '%attacker' ORDER BY 1;
SET correlate.tenant = 'esc-trap-condition-passed-to-service';
SELECT count(*) AS edges FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src
WHERE r.tenant = 'esc-trap-condition-passed-to-service' AND r.kind = 'can_escalate_to' AND s.uid LIKE '%attacker';

-- ---- who_can through escalation -----------------------------------------------------------

SET correlate.tenant = 'esc-assume-role-chain';
-- Directly, only the ending role may create users; through escalation the attacker too,
-- three roles along.  The three-argument form answers as before.
SELECT principal_uid, decision, via FROM correlate.who_can('iam:CreateUser', '*') ORDER BY 1;
SELECT principal_uid, decision, steps, jsonb_path_query_array(chain, '$[*].technique') AS techniques,
	   jsonb_path_query_array(chain, '$[*].dst') AS through
FROM correlate.who_can('iam:CreateUser', '*', false, true) ORDER BY steps, principal_uid;
SELECT count(*) FROM correlate.who_can('iam:CreateUser', '*', false, false);
SET correlate.tenant = 'esc-put-role-policy';
SELECT principal_uid, decision, steps, chain->0->>'technique' AS technique, chain->0->>'through' AS through
FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::any/key', false, true) ORDER BY steps, principal_uid;

-- A target other than admin: the attacker reaches the intermediate role in two steps.
SET correlate.tenant = 'esc-assume-role-chain';
SELECT path, step, technique, dst FROM correlate.escalation_paths('arn:aws:iam::111100002222:user/attacker',
	'arn:aws:iam::111100002222:role/intermediate-role') ORDER BY 1, 2;
-- Bounded searches find fewer; a principal that cannot escalate has no path.
SELECT count(*) FROM correlate.escalation_paths('arn:aws:iam::111100002222:user/attacker', max_steps => 2);
SET correlate.tenant = 'esc-trap-explicit-deny';
SELECT count(*) FROM correlate.escalation_paths('arn:aws:iam::111100002222:user/attacker');

-- Every principal of a tenant: admin-equivalent, or its fewest steps to one.
SET correlate.tenant = 'esc-notaction-exploitable';
SELECT regexp_replace(principal_uid, '^arn:aws:iam::111100002222:', '') AS principal, admin, steps, first_technique,
	   round(chain_likelihood::numeric, 3) AS likelihood
FROM correlate.escalation_summary() ORDER BY 1;
SET correlate.tenant = 'esc-trap-boundary';
SELECT regexp_replace(principal_uid, '^arn:aws:iam::111100002222:', '') AS principal, admin, steps, first_technique
FROM correlate.escalation_summary() ORDER BY 1;
SELECT count(*) FROM correlate.escalation_summary(0);

-- ---- the condition judge on its own ------------------------------------------------------

SELECT c.label, correlate.iam_judge_conditions(c.cond, 'arn:aws:iam::111100002222:user/a', '{"team": "red"}',
											   '{"env": "prod"}', 'lambda.amazonaws.com', '2024-06-01') AS verdict
FROM (VALUES
	('none', NULL::jsonb),
	('request tag', '{"StringEquals": {"aws:RequestTag/owner": "x"}}'),
	('source ip', '{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}'),
	('not source ip', '{"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}'),
	('mfa', '{"Bool": {"aws:MultiFactorAuthPresent": "true"}}'),
	('no mfa (Null)', '{"Null": {"aws:MultiFactorAuthPresent": "true"}}'),
	('principal tag ok', '{"StringEquals": {"aws:PrincipalTag/team": "red"}}'),
	('principal tag bad', '{"StringEquals": {"aws:PrincipalTag/team": "blue"}}'),
	('principal tag missing, IfExists', '{"StringEqualsIfExists": {"aws:PrincipalTag/dept": "x"}}'),
	('principal tag not', '{"StringNotEquals": {"aws:PrincipalTag/team": "blue"}}'),
	('resource tag like', '{"StringLike": {"aws:ResourceTag/env": "pr*"}}'),
	('resource tag bad', '{"StringEquals": {"aws:ResourceTag/env": "dev"}}'),
	('passed to lambda', '{"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}'),
	('passed to ec2', '{"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}'),
	('time past', '{"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}'),
	('time since', '{"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}'),
	('bad date', '{"DateGreaterThan": {"aws:CurrentTime": "soon"}}'),
	('admin policy arn', '{"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}}'),
	('other policy arn', '{"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}'),
	('principal arn', '{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111100002222:user/*"}}'),
	('org id', '{"StringEquals": {"aws:PrincipalOrgID": "o-1"}}'),
	('mixed: ip and tag bad', '{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "StringEquals": {"aws:PrincipalTag/team": "blue"}}'),
	('not an object', '"x"'),
	('operator not an object', '{"Bool": "x"}')) c(label, cond)
ORDER BY c.label;
SELECT count(*) AS keys FROM correlate.iam_condition_keys();

-- ---- the catalogue --------------------------------------------------------------------------

SELECT family, count(*) FROM correlate.iam_escalation_technique GROUP BY 1 ORDER BY 1;
SELECT technique, yields, likelihood, COALESCE(passrole_service, runs_as_service) AS service
FROM correlate.iam_escalation_technique ORDER BY family, technique;

-- ---- bad input ---------------------------------------------------------------------------

SELECT * FROM correlate.escalation_paths('arn:aws:iam::111100002222:user/nobody');
SELECT * FROM correlate.escalation_paths('arn:aws:iam::111100002222:user/attacker', 'arn:aws:iam::111100002222:role/nobody');
SELECT * FROM correlate.escalation_paths('arn:aws:iam::111100002222:user/attacker', max_steps => 0);
SELECT * FROM correlate.escalation_paths('arn:aws:iam::111100002222:user/attacker', max_paths => NULL);
RESET correlate.tenant;
SELECT * FROM correlate.escalation_paths(-1::bigint);
SELECT count(*) FROM correlate.who_can('iam:CreateUser', '*', false, NULL);
-- The catalogue is read-only to readers.
SET client_min_messages = warning;
DROP ROLE IF EXISTS iam_esc_reader;
RESET client_min_messages;
CREATE ROLE iam_esc_reader IN ROLE correlate_reader;
SET ROLE iam_esc_reader;
SELECT count(*) > 0 AS readable FROM correlate.iam_escalation_technique;
DELETE FROM correlate.iam_escalation_technique;
RESET ROLE;
DROP ROLE iam_esc_reader;
