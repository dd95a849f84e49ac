\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- The builtin rule pack (src/sql/88_detection_pack.sql, written by the correlate project):
-- every Stratus Red Team detonation and every attack trace of the Kubernetes audit samples
-- yields at least one detection with a fitting ATT&CK tactic; the benign samples yield none.
SET timezone = 'UTC';
\set d `pwd`
SELECT source, count(*) AS rules FROM correlate.load_builtin_detections() GROUP BY 1 ORDER BY 1;
-- every rule has an author, a level and at least one tactic and technique
SELECT count(*) AS rules, count(*) FILTER (WHERE author IS NOT NULL AND level IS NOT NULL
	AND cardinality(tactics) > 0 AND cardinality(techniques) > 0) AS complete,
	bool_and(builtin) AS builtin FROM correlate.detection_rule;
-- loading again replaces the rules (same ids), adds none
SELECT count(*) FILTER (WHERE replaced) AS replaced, count(*) AS rows FROM correlate.load_builtin_detections();

CREATE TEMP TABLE samples (f text, format text, expect text);
\copy samples (f) FROM PROGRAM 'cd test/data && ls cloudtrail/*/*.json k8s-audit/*/*.json'
UPDATE samples SET format = CASE WHEN f LIKE 'cloudtrail/%' THEN 'cloudtrail' ELSE 'k8s_audit' END;
-- Stratus Red Team names the tactic in the file name; the Kubernetes traces are labelled here
-- (the tactic an attacker doing that would be after); the rest are benign (expect NULL).
UPDATE samples SET expect = split_part(split_part(f, '/', 3), '.', 2) WHERE f LIKE '%stratus-red-team%';
UPDATE samples s SET expect = l.tactic
FROM (VALUES ('attach_pod', 'execution'), ('create_clusterrole', 'privilege-escalation'),
	('create_clusterrolebinding', 'privilege-escalation'), ('create_pod_kube_public_namespace', 'persistence'),
	('create_secret', 'credential-access'), ('create_serviceaccount', 'persistence'),
	('create_serviceaccount_kube_public_namespace', 'persistence'),
	('create_serviceaccount_kube_system_namespace', 'persistence'), ('delete_clusterrole', 'defense-evasion'),
	('delete_clusterrolebinding', 'defense-evasion'), ('delete_configmap', 'impact'),
	('delete_deployment', 'impact'), ('delete_namespace_foo', 'impact'), ('delete_secret', 'impact'),
	('delete_service', 'impact'), ('delete_serviceaccount', 'defense-evasion'),
	('minikube_creates_namespace_foo', 'defense-evasion'), ('some-user_creates_namespace_foo', 'defense-evasion')) l(n, tactic)
WHERE s.f = 'k8s-audit/falco-trace-files/' || l.n || '.json';

SELECT format, sum(i.events) AS events, sum(i.rejected) AS rejected
FROM samples s, correlate.ingest_file(s.format, :'d' || '/test/data/' || s.f) i GROUP BY 1 ORDER BY 1;
CREATE TEMP TABLE rec AS
SELECT s.f, e.id AS event_id
FROM samples s
CROSS JOIN LATERAL (SELECT pg_read_file(:'d' || '/test/data/' || s.f)::jsonb AS j) d
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(d.j) = 'array' THEN d.j
											 WHEN d.j ? 'Records' THEN d.j->'Records'
											 ELSE jsonb_build_array(d.j) END) r(rec)
JOIN correlate.event e ON e.raw = r.rec;

-- One row per sample: what it is, the rules that fired, and whether a fired rule has the expected tactic.
SELECT regexp_replace(s.f, '^.*/', '') AS sample, COALESCE(s.expect, 'benign') AS expect,
	   (SELECT string_agg(DISTINCT dt.title, '; ' ORDER BY dt.title) FROM rec JOIN correlate.detection dt ON dt.event_id = rec.event_id WHERE rec.f = s.f) AS fired,
	   CASE WHEN s.expect IS NULL
			THEN NOT EXISTS (SELECT 1 FROM rec JOIN correlate.detection dt ON dt.event_id = rec.event_id WHERE rec.f = s.f)
			ELSE EXISTS (SELECT 1 FROM rec JOIN correlate.detection dt ON dt.event_id = rec.event_id
						 WHERE rec.f = s.f AND s.expect = ANY (dt.tactics)) END AS ok
FROM samples s ORDER BY s.format, s.f;
SELECT count(*) FILTER (WHERE expect IS NOT NULL) AS attacks, count(*) FILTER (WHERE expect IS NULL) AS benign,
	   count(*) FILTER (WHERE expect IS NOT NULL AND EXISTS (SELECT 1 FROM rec JOIN correlate.detection dt ON dt.event_id = rec.event_id
						 WHERE rec.f = s.f AND s.expect = ANY (dt.tactics))) AS attacks_detected,
	   count(*) FILTER (WHERE expect IS NULL AND EXISTS (SELECT 1 FROM rec JOIN correlate.detection dt ON dt.event_id = rec.event_id
						 WHERE rec.f = s.f)) AS benign_with_detections
FROM samples s;
-- The OCSF project's raw CloudTrail examples are benign too.
SELECT sum(i.events) AS events FROM (VALUES ('account_change'), ('authentication'), ('generic_api_activity')) v(n),
	correlate.ingest_file('cloudtrail', :'d' || '/test/data/ocsf/ocsf-examples/v1.1.0/cloudtrail_' || n || '.raw.json') i;
SELECT count(*) AS detections_on_ocsf_samples FROM correlate.detection dt JOIN correlate.event e ON e.id = dt.event_id
WHERE e.id NOT IN (SELECT event_id FROM rec);

-- Each rule with a record it matches and one it does not (records written for this test).
CREATE TEMP TABLE cases (title text, yes jsonb, no jsonb);
INSERT INTO cases VALUES
('Secrets Manager Secret Values Read By A Long-Term User',
 '{"eventSource": "secretsmanager.amazonaws.com", "eventName": "GetSecretValue", "userIdentity": {"type": "IAMUser"}}',
 '{"eventSource": "secretsmanager.amazonaws.com", "eventName": "GetSecretValue", "userIdentity": {"type": "AssumedRole"}}'),
('SSM SecureString Parameters Decrypted By A Long-Term User',
 '{"eventSource": "ssm.amazonaws.com", "eventName": "GetParameter", "requestParameters": {"withDecryption": true}, "userIdentity": {"type": "Root"}}',
 '{"eventSource": "ssm.amazonaws.com", "eventName": "GetParameter", "requestParameters": {"withDecryption": false}, "userIdentity": {"type": "Root"}}'),
('CloudTrail Trail Stopped, Deleted Or Narrowed',
 '{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"}',
 '{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "errorCode": "AccessDenied"}'),
('VPC Flow Logs Or DNS Query Logging Removed',
 '{"eventSource": "route53resolver.amazonaws.com", "eventName": "DisassociateResolverQueryLogConfig"}',
 '{"eventSource": "ec2.amazonaws.com", "eventName": "CreateFlowLogs"}'),
('GPU Or Very Large EC2 Instances Requested',
 '{"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "requestParameters": {"instanceType": "g5.12xlarge"}}',
 '{"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "requestParameters": {"instanceType": "t3.micro"}}'),
('EC2 Instance User Data Modified',
 '{"eventSource": "ec2.amazonaws.com", "eventName": "ModifyInstanceAttribute", "requestParameters": {"attribute": "userData"}}',
 '{"eventSource": "ec2.amazonaws.com", "eventName": "ModifyInstanceAttribute", "requestParameters": {"instanceType": {"value": "t3.large"}}}'),
('Commands Or Sessions Started On Instances Through SSM',
 '{"eventSource": "ssm.amazonaws.com", "eventName": "SendCommand"}',
 '{"eventSource": "ssm.amazonaws.com", "eventName": "ListCommands"}'),
('Security Group Opened To Any Address',
 '{"eventSource": "ec2.amazonaws.com", "eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"ipPermissions": {"items": [{"ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}, "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}}]}}}',
 '{"eventSource": "ec2.amazonaws.com", "eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"ipPermissions": {"items": [{"ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}]}}}'),
('Snapshot Or Machine Image Shared With Another Account',
 '{"eventSource": "rds.amazonaws.com", "eventName": "ModifyDBClusterSnapshotAttribute", "requestParameters": {"attributeName": "restore", "valuesToAdd": ["all"]}}',
 '{"eventSource": "rds.amazonaws.com", "eventName": "ModifyDBClusterSnapshotAttribute", "requestParameters": {"attributeName": "restore", "valuesToRemove": ["111122223333"]}}'),
('Bedrock Foundation Model Access Enabled',
 '{"eventSource": "bedrock.amazonaws.com", "eventName": "PutUseCaseForModelAccess"}',
 '{"eventSource": "bedrock.amazonaws.com", "eventName": "ListFoundationModels"}'),
('Console Sign-In Without MFA',
 '{"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "responseElements": {"ConsoleLogin": "Success"}, "additionalEventData": {"MFAUsed": "No"}}',
 '{"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "responseElements": {"ConsoleLogin": "Failure"}, "additionalEventData": {"MFAUsed": "No"}}'),
('SSH Key Pushed To An Instance Through EC2 Instance Connect',
 '{"eventSource": "ec2-instance-connect.amazonaws.com", "eventName": "SendSerialConsoleSSHPublicKey"}',
 '{"eventSource": "ec2-instance-connect.amazonaws.com", "eventName": "SendSSHPublicKey", "errorCode": "AccessDenied"}'),
('IAM Role Trust Policy Changed',
 '{"eventSource": "iam.amazonaws.com", "eventName": "UpdateAssumeRolePolicy"}',
 '{"eventSource": "iam.amazonaws.com", "eventName": "GetRole"}'),
('Administrator Policy Attached To An IAM Identity',
 '{"eventSource": "iam.amazonaws.com", "eventName": "AttachGroupPolicy", "requestParameters": {"policyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}}',
 '{"eventSource": "iam.amazonaws.com", "eventName": "AttachGroupPolicy", "requestParameters": {"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}'),
('Access Key Created For Another IAM User',
 '{"eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "userIdentity": {"arn": "arn:aws:iam::1:user/admin"}, "requestParameters": {"userName": "bob"}}',
 '{"eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "userIdentity": {"arn": "arn:aws:iam::1:user/bob"}, "requestParameters": {"userName": "bob"}}'),
('Console Password Set For Another IAM User',
 '{"eventSource": "iam.amazonaws.com", "eventName": "UpdateLoginProfile", "userIdentity": {"arn": "arn:aws:iam::1:user/admin"}, "requestParameters": {"userName": "bob"}}',
 '{"eventSource": "iam.amazonaws.com", "eventName": "UpdateLoginProfile", "userIdentity": {"arn": "arn:aws:iam::1:user/Bob"}, "requestParameters": {"userName": "bob"}}'),
('Lambda Function Invocable By Any Principal',
 '{"eventSource": "lambda.amazonaws.com", "eventName": "AddPermission20150331v2", "requestParameters": {"principal": "*"}}',
 '{"eventSource": "lambda.amazonaws.com", "eventName": "AddPermission20150331v2", "requestParameters": {"principal": "s3.amazonaws.com"}}'),
('Lambda Layer Added To A Function',
 '{"eventSource": "lambda.amazonaws.com", "eventName": "UpdateFunctionConfiguration20150331v2", "requestParameters": {"layers": ["arn:aws:lambda:us-east-1:2:layer:x:1"]}}',
 '{"eventSource": "lambda.amazonaws.com", "eventName": "UpdateFunctionConfiguration20150331v2", "requestParameters": {"timeout": 30}}'),
('Lambda Function Code Replaced By A Long-Term User',
 '{"eventSource": "lambda.amazonaws.com", "eventName": "UpdateFunctionCode20150331v2", "userIdentity": {"type": "IAMUser"}}',
 '{"eventSource": "lambda.amazonaws.com", "eventName": "UpdateFunctionCode20150331v2", "userIdentity": {"type": "AssumedRole"}}'),
('Threat Detection Or Configuration Recording Disabled',
 '{"eventSource": "guardduty.amazonaws.com", "eventName": "DeleteDetector"}',
 '{"eventSource": "guardduty.amazonaws.com", "eventName": "CreateDetector"}'),
('Account-Wide IAM Enumeration',
 '{"eventSource": "iam.amazonaws.com", "eventName": "GetAccountAuthorizationDetails"}',
 '{"eventSource": "iam.amazonaws.com", "eventName": "GetAccountSummary"}'),
('Shell Access Into A Pod',
 '{"verb": "create", "objectRef": {"resource": "pods", "subresource": "exec"}}',
 '{"verb": "get", "objectRef": {"resource": "pods", "subresource": "log"}}'),
('RBAC Binding Created Or Changed By A User',
 '{"verb": "patch", "objectRef": {"resource": "rolebindings"}, "user": {"username": "alice"}}',
 '{"verb": "patch", "objectRef": {"resource": "rolebindings"}, "user": {"username": "system:kube-controller-manager"}}'),
('Cluster-Admin Or Wildcard Permissions Granted',
 '{"verb": "create", "objectRef": {"resource": "clusterroles"}, "requestObject": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]}}',
 '{"verb": "create", "objectRef": {"resource": "clusterroles"}, "requestObject": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}}'),
('RBAC Role Created Or Changed By A User',
 '{"verb": "update", "objectRef": {"resource": "roles"}, "user": {"username": "alice"}}',
 '{"verb": "get", "objectRef": {"resource": "roles"}, "user": {"username": "alice"}}'),
('Access Objects Deleted By A User',
 '{"verb": "delete", "objectRef": {"resource": "rolebindings"}, "user": {"username": "alice"}}',
 '{"verb": "delete", "objectRef": {"resource": "rolebindings"}, "user": {"username": "system:serviceaccount:kube-system:namespace-controller"}}'),
('Workload Created In A System Namespace',
 '{"verb": "create", "objectRef": {"resource": "daemonsets", "namespace": "kube-system"}}',
 '{"verb": "create", "objectRef": {"resource": "pods", "namespace": "kube-system", "subresource": "eviction"}}'),
('Service Account Created By A User',
 '{"verb": "create", "objectRef": {"resource": "serviceaccounts"}, "user": {"username": "alice"}}',
 '{"verb": "create", "objectRef": {"resource": "serviceaccounts"}, "user": {"username": "system:serviceaccount:kube-system:service-account-controller"}}'),
('Secret Written Or Deleted By A User',
 '{"verb": "update", "objectRef": {"resource": "secrets"}, "user": {"username": "alice"}}',
 '{"verb": "update", "objectRef": {"resource": "configmaps"}, "user": {"username": "alice"}}'),
('Secrets Read By A User Or In kube-system',
 '{"verb": "list", "objectRef": {"resource": "secrets", "namespace": "kube-system"}, "user": {"username": "system:serviceaccount:default:webapp"}}',
 '{"verb": "get", "objectRef": {"resource": "secrets", "namespace": "kube-system"}, "user": {"username": "system:node:worker-1"}}'),
('Workloads, Services Or Namespaces Deleted By A User',
 '{"verb": "delete", "objectRef": {"resource": "statefulsets"}, "user": {"username": "alice"}}',
 '{"verb": "delete", "objectRef": {"resource": "pods"}, "user": {"username": "alice"}}'),
('Namespace Created By A User',
 '{"verb": "create", "objectRef": {"resource": "namespaces"}, "user": {"username": "alice"}}',
 '{"verb": "create", "objectRef": {"resource": "namespaces"}, "user": {"username": "system:admin"}}'),
('Privileged Or Host-Access Pod Created',
 '{"verb": "create", "objectRef": {"resource": "deployments"}, "requestObject": {"spec": {"template": {"spec": {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}}}}}',
 '{"verb": "create", "objectRef": {"resource": "deployments"}, "requestObject": {"spec": {"template": {"spec": {"volumes": [{"name": "tmp", "emptyDir": {}}]}}}}}'),
('Anonymous Request Allowed By The API Server',
 '{"user": {"username": "system:anonymous"}, "requestURI": "/api/v1/secrets", "annotations": {"authorization.k8s.io/decision": "allow"}}',
 '{"user": {"username": "system:anonymous"}, "requestURI": "/healthz", "annotations": {"authorization.k8s.io/decision": "allow"}}');
SELECT r.source, c.title, correlate.sigma_matches(r.rule_text, c.yes) AS matches_yes,
	   correlate.sigma_matches(r.rule_text, c.no) AS matches_no
FROM cases c LEFT JOIN correlate.detection_rule r ON r.title = c.title ORDER BY 1, 2;
SELECT count(*) AS rules_without_cases FROM correlate.detection_rule r WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.title = r.title);
