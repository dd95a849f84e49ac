\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Sigma detection syntax and modifiers, one rule against one record at a time
-- (correlate.sigma_matches).  The record is written for this test.
CREATE TEMP TABLE r (j jsonb);
INSERT INTO r VALUES ('{"eventName": "CreateUser", "eventSource": "iam.amazonaws.com",
  "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/Alice"},
  "requestParameters": {"userName": "alice", "tags": [{"key": "a", "value": "x"}, {"key": "b", "value": "y"}]},
  "sourceIPAddress": "10.1.2.3", "ipv6": "2001:db8::1", "responseElements": null, "errorCode": null,
  "count": 42, "readOnly": false, "cmd": "powershell /enc SQBFAFgA", "b64": "aGVsbG8gd29ybGQ=",
  "dotted": {"a.b": "lit"}, "multi": "line one\nline two"}');
-- m(detection body, condition): the rule around a detection (a YAML map body, two-space indented).
CREATE FUNCTION pg_temp.m(det text, cond text DEFAULT 'sel') RETURNS boolean LANGUAGE sql AS $$
	SELECT correlate.sigma_matches(E'title: syntax test\nid: 00000000-0000-0000-0000-000000000001\n'
		'logsource:\n  product: aws\n  service: cloudtrail\ndetection:\n' || det || E'\n  condition: ' || cond, r.j)
	FROM r
$$;

SELECT 'equal, case-insensitive' AS what, pg_temp.m(E'  sel:\n    eventName: createuser') AS m
UNION ALL SELECT 'cased, wrong case', pg_temp.m(E'  sel:\n    eventName|cased: createuser')
UNION ALL SELECT 'cased, right case', pg_temp.m(E'  sel:\n    eventName|cased: CreateUser')
UNION ALL SELECT 'value list (or)', pg_temp.m(E'  sel:\n    eventName:\n      - DeleteUser\n      - CreateUser')
UNION ALL SELECT 'map is and (false)', pg_temp.m(E'  sel:\n    eventName: CreateUser\n    eventSource: ec2.amazonaws.com')
UNION ALL SELECT 'list of maps is or', pg_temp.m(E'  sel:\n    - eventName: Nope\n    - eventSource: iam.amazonaws.com')
UNION ALL SELECT 'contains|all', pg_temp.m(E'  sel:\n    userIdentity.arn|contains|all:\n      - alice\n      - iam')
UNION ALL SELECT 'contains|all (false)', pg_temp.m(E'  sel:\n    userIdentity.arn|contains|all:\n      - alice\n      - bob')
UNION ALL SELECT 'wildcard *', pg_temp.m(E'  sel:\n    eventName: Create*')
UNION ALL SELECT 'wildcard ?', pg_temp.m(E'  sel:\n    eventName: C?eateUser')
UNION ALL SELECT 'escaped * is literal', pg_temp.m(E'  sel:\n    eventName: ''Create\\*''')
UNION ALL SELECT 'startswith', pg_temp.m(E'  sel:\n    eventSource|startswith: IAM.')
UNION ALL SELECT 'endswith', pg_temp.m(E'  sel:\n    eventSource|endswith: .amazonaws.com')
UNION ALL SELECT 'null: json null', pg_temp.m(E'  sel:\n    errorCode: null')
UNION ALL SELECT 'null: absent', pg_temp.m(E'  sel:\n    nothere:')
UNION ALL SELECT 'null: present (false)', pg_temp.m(E'  sel:\n    eventName: null')
UNION ALL SELECT 'empty string (false)', pg_temp.m(E'  sel:\n    eventName: ''''')
UNION ALL SELECT 'number', pg_temp.m(E'  sel:\n    count: 42')
UNION ALL SELECT 'boolean', pg_temp.m(E'  sel:\n    readOnly: false')
UNION ALL SELECT 'dotted path', pg_temp.m(E'  sel:\n    userIdentity.type: IAMUser')
UNION ALL SELECT 'path through an array', pg_temp.m(E'  sel:\n    requestParameters.tags.key: b')
UNION ALL SELECT 'key with a dot', pg_temp.m(E'  sel:\n    dotted.a.b: lit')
UNION ALL SELECT 'object as text', pg_temp.m(E'  sel:\n    requestParameters|contains: ''"userName"''')
UNION ALL SELECT 'keywords', pg_temp.m(E'  keywords:\n    - nomatch\n    - SQBFAF', 'keywords')
UNION ALL SELECT 're', pg_temp.m(E'  sel:\n    eventName|re: ''^Create[A-Z]''')
UNION ALL SELECT 're is case-sensitive', pg_temp.m(E'  sel:\n    eventName|re: ''^create''')
UNION ALL SELECT 're|i', pg_temp.m(E'  sel:\n    eventName|re|i: ''^create''')
UNION ALL SELECT 're: . stops at newline', pg_temp.m(E'  sel:\n    multi|re: ''one.line''')
UNION ALL SELECT 're|s', pg_temp.m(E'  sel:\n    multi|re|s: ''one.line''')
UNION ALL SELECT 're: $ at the end only', pg_temp.m(E'  sel:\n    multi|re: ''one$''')
UNION ALL SELECT 're|m', pg_temp.m(E'  sel:\n    multi|re|m: ''one$''')
UNION ALL SELECT 'cidr v4', pg_temp.m(E'  sel:\n    sourceIPAddress|cidr: 10.0.0.0/8')
UNION ALL SELECT 'cidr v4 (false)', pg_temp.m(E'  sel:\n    sourceIPAddress|cidr:\n      - 192.168.0.0/16\n      - 10.1.3.0/24')
UNION ALL SELECT 'cidr v6', pg_temp.m(E'  sel:\n    ipv6|cidr: 2001:db8::/32')
UNION ALL SELECT 'base64', pg_temp.m(E'  sel:\n    b64|base64: hello world')
UNION ALL SELECT 'base64offset|contains', pg_temp.m(E'  sel:\n    b64|base64offset|contains: world')
UNION ALL SELECT 'windash', pg_temp.m(E'  sel:\n    cmd|windash|contains: '' -enc ''')
UNION ALL SELECT 'no windash (false)', pg_temp.m(E'  sel:\n    cmd|contains: '' -enc ''')
UNION ALL SELECT 'exists true', pg_temp.m(E'  sel:\n    userIdentity.arn|exists: true')
UNION ALL SELECT 'exists true, absent (false)', pg_temp.m(E'  sel:\n    nothere|exists: true')
UNION ALL SELECT 'exists false, absent', pg_temp.m(E'  sel:\n    nothere|exists: false')
UNION ALL SELECT 'gt', pg_temp.m(E'  sel:\n    count|gt: 41.5')
UNION ALL SELECT 'gte', pg_temp.m(E'  sel:\n    count|gte: 42')
UNION ALL SELECT 'lt (false)', pg_temp.m(E'  sel:\n    count|lt: 42')
UNION ALL SELECT 'lte', pg_temp.m(E'  sel:\n    count|lte: 42')
UNION ALL SELECT 'fieldref equal (false)', pg_temp.m(E'  sel:\n    requestParameters.userName|fieldref: eventName')
UNION ALL SELECT 'fieldref|endswith, case-insensitive', pg_temp.m(E'  sel:\n    userIdentity.arn|fieldref|endswith: requestParameters.userName');

-- Conditions: and / or / not, parentheses, 1 of / all of with wildcards and them (not _underscored).
CREATE TEMP TABLE sels AS SELECT E'  sel_a:\n    eventName: CreateUser\n  sel_b:\n    eventSource: ec2.amazonaws.com\n'
	'  filter:\n    userIdentity.type: Root\n  _never:\n    eventName: Never' AS d;
SELECT c AS condition, pg_temp.m(d, c) AS m
FROM sels, unnest(ARRAY['sel_a and not filter', 'sel_a and sel_b', 'sel_a or sel_b', 'not (sel_a and sel_b)',
	'not sel_a or sel_b', '1 of sel_*', 'all of sel_*', '1 of them', 'all of them', 'all of sel_* or sel_a',
	'(sel_a or sel_b) and not (filter or _never)', 'NOT sel_b AND sel_a']) c;
-- all of them skips _never (it would fail); naming it explicitly does not
SELECT pg_temp.m(E'  sel:\n    eventName: CreateUser\n  _never:\n    eventName: Never', 'all of them') AS all_of_them,
	   pg_temp.m(E'  sel:\n    eventName: CreateUser\n  _never:\n    eventName: Never', 'sel and _never') AS explicit;
-- a list of conditions is their or
SELECT correlate.sigma_matches(E'title: t\nid: x\nlogsource: {product: aws, service: cloudtrail}\n'
	'detection:\n  a: {eventName: Nope}\n  b: {eventName: CreateUser}\n  condition:\n    - a\n    - b', j) AS condition_list
FROM r;

-- Logsources: kubernetes audit (dotted paths), Falco (fields under output_fields, keys with dots).
SELECT correlate.sigma_matches(E'title: t\nid: x\nlogsource: {product: kubernetes, service: audit}\n'
	'detection:\n  sel:\n    objectRef.resource: pods\n    objectRef.subresource: exec\n  condition: sel',
	'{"verb": "create", "objectRef": {"resource": "pods", "subresource": "exec"}}') AS k8s,
	   correlate.sigma_matches(E'title: t\nid: x\nlogsource: {product: falco}\n'
	'detection:\n  sel:\n    proc.name: bash\n    priority: Warning\n  condition: sel',
	'{"priority": "Warning", "rule": "Terminal shell", "output_fields": {"proc.name": "bash"}}') AS falco;
