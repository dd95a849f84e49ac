\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- CloudTrail: {"Records":[...]} files, bare arrays and one record per line, into
-- API Activity events with their actor and targets (docs/formats/cloudtrail.md).
SET timezone = 'UTC';
CREATE TEMP VIEW ev AS
SELECT e.ts, e.class_uid, e.activity_id, e.domain, e.severity_id, e.action, e.outcome, host(e.src_ip) AS src_ip,
	   a.uid AS actor, a.kind AS actor_kind, t.uid AS target, t.kind AS target_kind, e.rule, e.uid AS event_uid
FROM correlate.event e
LEFT JOIN correlate.resource a ON a.id = e.actor
LEFT JOIN correlate.resource t ON t.id = e.target
WHERE e.source = 'cloudtrail';

-- 1. Every shared sample ingests with no reject (S3 layout, bare arrays, one record).
\set d `pwd`
CREATE TEMP TABLE samples (f text);
\copy samples FROM PROGRAM 'cd test/data && ls cloudtrail/*/*.json ocsf/ocsf-examples/v1.1.0/cloudtrail_*.raw.json'
SELECT s.f, i.*
FROM samples s, correlate.ingest_file('cloudtrail', :'d' || '/test/data/' || s.f) i
ORDER BY s.f;
SELECT count(*) AS events, count(DISTINCT event_uid) AS distinct_ids FROM ev;
SELECT count(*) AS rejects FROM correlate.ingest_reject;

-- 2. Actors: IAM users and roles by ARN, sessions folded onto their role, services, root.
SELECT actor_kind, count(*) FROM ev GROUP BY 1 ORDER BY 1;
SELECT action, actor, target, outcome, domain, src_ip
FROM ev WHERE action IN ('ec2:StartInstances', 'iam:CreateUser', 'sns:Publish', 'cloudtrail:UpdateTrail',
						 'iam:CreateLoginProfile', 'lambda:UpdateFunctionCode20150331v2')
ORDER BY ts, action;

-- Sign-ins are Authentication (3002), CloudTrail Insights Detection Findings (2004).
SELECT class_uid, activity_id, action, rule, severity_id FROM ev WHERE class_uid <> 6003 ORDER BY ts;

-- Anonymised source addresses with leading zeros are read as decimal; service names are not addresses.
SELECT DISTINCT src_ip FROM ev WHERE event_uid IN (
	SELECT r->>'eventID' FROM samples s,
		 jsonb_array_elements(pg_read_file(:'d' || '/test/data/' || s.f)::jsonb) r
	WHERE s.f LIKE '%stratus%' AND r->>'sourceIPAddress' ~ '(^|\.)0[0-9]')
ORDER BY 1;

-- Domains: data stores, identity services, the rest cloud.
SELECT domain, count(*) FROM ev GROUP BY 1 ORDER BY 1;

-- 3. Ingesting the same files again changes nothing.
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM correlate.event) e, (SELECT count(*) FROM correlate.resource) r,
	   (SELECT count(*) FROM correlate.relationship) l,
	   (SELECT md5(string_agg(uid || last_seen::text, ',' ORDER BY uid)) FROM correlate.resource) h;
SELECT sum(i.events) AS new_events, sum(i.rejected) AS rejected
FROM samples s, correlate.ingest_file('cloudtrail', :'d' || '/test/data/' || s.f) i;
SELECT b.e = (SELECT count(*) FROM correlate.event) AS same_events,
	   b.r = (SELECT count(*) FROM correlate.resource) AS same_resources,
	   b.l = (SELECT count(*) FROM correlate.relationship) AS same_edges,
	   b.h = (SELECT md5(string_agg(uid || last_seen::text, ',' ORDER BY uid)) FROM correlate.resource) AS same_times
FROM before b;

-- 4. The seed scenario's CloudTrail, one record per line: IRSA assume, S3 reads of the crown jewel.
SET correlate.default_cluster = 'prod-eks';
SELECT * FROM correlate.ingest('cloudtrail', $ct$
{"eventVersion":"1.08","userIdentity":{"type":"WebIdentityUser","principalId":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sts.amazonaws.com:system:serviceaccount:legacy-webapp:webapp-sa","userName":"system:serviceaccount:legacy-webapp:webapp-sa","identityProvider":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"},"eventTime":"2026-11-20T10:04:30Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity","awsRegion":"us-east-1","sourceIPAddress":"10.0.1.57","requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/legacy-webapp-role","roleSessionName":"botocore-session-1763632800"},"responseElements":{"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/legacy-webapp-role/botocore-session-1763632800"}},"eventID":"seed-ct-assume","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}
{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/legacy-webapp-role/botocore-session-1763632800","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/legacy-webapp-role","userName":"legacy-webapp-role"}}},"eventTime":"2026-11-20T10:05:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"10.0.1.57","requestParameters":null,"eventID":"seed-ct-list","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}
{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/legacy-webapp-role/botocore-session-1763632800","accountId":"111122223333"},"eventTime":"2026-11-20T10:06:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.1.57","requestParameters":{"bucketName":"acme-customer-pii","key":"exports/customers-2026-11.csv"},"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::acme-customer-pii/exports/customers-2026-11.csv"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::acme-customer-pii"}],"eventID":"seed-ct-get-1","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}
{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/legacy-webapp-role/botocore-session-1763632800","accountId":"111122223333"},"eventTime":"2026-11-20T10:06:30Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.1.57","requestParameters":{"bucketName":"acme-customer-pii","key":"exports/cards-2026-11.csv"},"eventID":"seed-ct-get-2","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}
$ct$);
SELECT ts, action, activity_id, domain, actor, target FROM ev WHERE event_uid LIKE 'seed-ct-%' ORDER BY ts;
SELECT s.uid AS src, r.kind, d.uid AS dst, r.props
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst
WHERE d.uid LIKE '%legacy-webapp%' OR d.uid LIKE '%acme-customer-pii%' ORDER BY 1, 2, 3;
-- Resources carry the time they were observed.
SELECT uid, kind, name, account, first_seen, last_seen FROM correlate.resource
WHERE uid LIKE '%legacy-webapp%' OR uid LIKE '%acme-customer-pii%' ORDER BY uid;

-- 5. Malformed records: the default stops at the first one, naming it; skip stores it.
SELECT * FROM correlate.ingest('cloudtrail', '{"Records":[{"eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"ok-1"}, {"eventTime":"yesterday","eventSource":"s3.amazonaws.com","eventName":"GetObject"}]}');
SELECT count(*) AS not_stored FROM ev WHERE event_uid = 'ok-1';
SELECT * FROM correlate.ingest('cloudtrail', '{"Records":[{"eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"ok-1"}, {"eventTime":"yesterday","eventSource":"s3.amazonaws.com","eventName":"GetObject"}, {"eventTime":"2026-11-20T10:00:00Z","eventName":7}, [1], "x"]}', 'skip');
SELECT recno, reason, raw FROM correlate.ingest_reject ORDER BY recno;
SELECT count(*) AS stored FROM ev WHERE event_uid = 'ok-1';
