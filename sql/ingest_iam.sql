\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- The aws_iam ingest format (aws iam get-account-authorization-details):
-- both public samples load with zero rejects, twice without changing anything,
-- and malformed documents are rejected record by record.

\set cloudmapper `cat test/data/iam-authorization-details/cloudmapper-demo/iam-get-account-authorization-details.json`
\set cloudsplaining `cat test/data/iam-authorization-details/cloudsplaining/example-authz-details.json`
\set seed `cat test/data/iam-authorization-details/seed/account-authorization-details.json`

SELECT * FROM correlate.ingest('aws_iam', :'cloudmapper');
SELECT * FROM correlate.ingest('aws_iam', :'cloudsplaining');
SELECT * FROM correlate.ingest('aws_iam', :'seed');

SELECT kind, count(*) FROM correlate.resource GROUP BY kind ORDER BY kind;

-- Relationships: groups, managed policies, instance profiles.
SELECT s.uid AS src, r.kind, d.uid AS dst, r.props
FROM correlate.relationship r
JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst
ORDER BY 1, 2, 3;

-- A user keeps its groups and inline policy; a role its trust policy; a policy its default document.
SELECT uid, name, account, props->'groups' AS groups, props->'managed_policies' AS managed,
	   jsonb_array_length(props->'inline_policies') AS inline, labels
FROM correlate.resource WHERE uid = 'arn:aws:iam::012345678901:user/biden';
SELECT uid, props->'trust_policy'->'Statement'->0->'Principal' AS trusts,
	   props->'instance_profiles' AS profiles, props->'last_used' AS last_used
FROM correlate.resource WHERE uid = 'arn:aws:iam::012345678901:role/OverprivilegedEC2';
SELECT uid, labels, props->'trust_policy'->'Statement'->0->'Condition' AS irsa_condition
FROM correlate.resource WHERE uid = 'arn:aws:iam::111122223333:role/legacy-webapp-role';
SELECT uid, props->>'default_version' AS version, props->'document'->'Statement'->4->>'Sid' AS fifth_sid,
	   jsonb_array_length(props->'other_versions') AS other_versions
FROM correlate.resource WHERE uid = 'arn:aws:iam::123456789012:policy/BAD_MFA_POLICY';
-- An AWS managed policy that is attached but absent from the Policies list still has its node.
SELECT uid, name, props FROM correlate.resource WHERE uid = 'arn:aws:iam::aws:policy/AmazonRDSFullAccess';

-- Ingesting again changes nothing.
CREATE TEMP TABLE before AS SELECT uid, kind, name, props, labels FROM correlate.resource;
SELECT rejected FROM correlate.ingest('aws_iam', :'cloudsplaining');
SELECT rejected FROM correlate.ingest('aws_iam', :'cloudmapper');
SELECT count(*) AS changed FROM (
	SELECT uid, kind, name, props, labels FROM correlate.resource EXCEPT SELECT * FROM before) d;
SELECT count(*) AS relationships FROM correlate.relationship;

-- URL-encoded documents (as the raw API returns them) are decoded.
SELECT * FROM correlate.ingest('aws_iam', $${"RoleDetailList": [{"RoleName": "encoded", "Arn": "arn:aws:iam::222233334444:role/encoded",
	"AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
	"RolePolicyList": [{"PolicyName": "plain-json-string", "PolicyDocument": "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"}}"}]}]}$$);
SELECT props->'trust_policy' AS trust, props->'inline_policies'->0->'document' AS inline
FROM correlate.resource WHERE uid = 'arn:aws:iam::222233334444:role/encoded';

-- Malformed input: an error naming the record by default ...
SELECT * FROM correlate.ingest('aws_iam', 'not json');
SELECT * FROM correlate.ingest('aws_iam', '{"UserDetailList": [{"UserName": "x"');
SELECT * FROM correlate.ingest('aws_iam', '[1, 2]');
SELECT * FROM correlate.ingest('aws_iam', '{"Marker": "abc"}');
SELECT * FROM correlate.ingest('aws_iam', '{"UserDetailList": [{"UserName": "noarn"}]}');
SELECT * FROM correlate.ingest('aws_iam', '{"RoleDetailList": [{"RoleName": "r", "Arn": "arn:aws:iam::1:role/r", "AssumeRolePolicyDocument": "%7Bnot json"}]}');

-- ... or, with on_error => 'skip', rejects stored with their reason while good records load.
SELECT * FROM correlate.ingest('aws_iam', $${
  "UserDetailList": [
    {"UserName": "good", "Arn": "arn:aws:iam::333344445555:user/good", "GroupList": ["devs"]},
    "not an object",
    {"UserName": "noarn"},
    {"UserName": "badarn", "Arn": "arn:aws:iam"},
    {"UserName": "badgroups", "Arn": "arn:aws:iam::333344445555:user/badgroups", "GroupList": "devs"},
    {"UserName": "badinline", "Arn": "arn:aws:iam::333344445555:user/badinline", "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": 42}]},
    {"UserName": "nuls", "Arn": "arn:aws:iam::333344445555:user/nuls", "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": {"Statement": "\u0000"}}]},
    {"UserName": "badattach", "Arn": "arn:aws:iam::333344445555:user/badattach", "AttachedManagedPolicies": [{"PolicyName": "x"}]}
  ],
  "GroupDetailList": {"not": "an array"},
  "RoleDetailList": [
    {"RoleName": "badprofile", "Arn": "arn:aws:iam::333344445555:role/badprofile", "InstanceProfileList": [{"InstanceProfileName": "ip"}]},
    {"RoleName": "badurl", "Arn": "arn:aws:iam::333344445555:role/badurl", "AssumeRolePolicyDocument": "%ZZ"}
  ],
  "Policies": [
    {"PolicyName": "noversion", "Arn": "arn:aws:iam::333344445555:policy/noversion", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true}]},
    {"PolicyName": "ok", "Arn": "arn:aws:iam::333344445555:policy/ok", "DefaultVersionId": "v2",
     "PolicyVersionList": [{"VersionId": "v1", "Document": {"Statement": []}}, {"VersionId": "v2", "Document": {"Statement": []}}]}
  ]
}$$, on_error => 'skip');
SELECT recno, reason FROM correlate.ingest_reject WHERE format = 'aws_iam' ORDER BY recno;
SELECT uid, kind FROM correlate.resource WHERE account = '333344445555' ORDER BY uid;
SELECT props->>'default_version' AS version, props->'other_versions'->0->>'version' AS other
FROM correlate.resource WHERE uid = 'arn:aws:iam::333344445555:policy/ok';
-- A document that is not JSON at all is one rejected record.
SELECT * FROM correlate.ingest('aws_iam', E'{"UserDetailList": [\x01]}', on_error => 'skip');
SELECT recno, left(reason, 60) AS reason FROM correlate.ingest_reject WHERE format = 'aws_iam' AND recno = 1 ORDER BY reason;
