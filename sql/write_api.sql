-- The core write API: upserts, links, events, findings, IP leases and canonical
-- uids, with good input and a catalogue of bad input that must fail cleanly.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
SET TIME ZONE 'UTC';

-- Canonical uids
SELECT correlate.arn_uid('arn:aws:sts::111122223333:assumed-role/legacy-webapp-role/botocore-session-1');
SELECT correlate.arn_uid('arn:aws-cn:sts::111122223333:assumed-role/r/s');
SELECT correlate.arn_uid('arn:aws:iam::111122223333:role/path/to/app-role');
SELECT correlate.arn_uid('arn:aws:s3:::acme-customer-pii/exports/a.csv');
SELECT correlate.k8s_uid('prod-eks', 'legacy-webapp', 'Pod', 'webapp-1');
SELECT correlate.k8s_uid(NULL, NULL, 'Node', 'ip-10-0-1-23.ec2.internal');
SET correlate.default_cluster = 'prod-eks';
SELECT correlate.k8s_uid(NULL, 'legacy-webapp', 'ServiceAccount', 'webapp-sa');
RESET correlate.default_cluster;
SELECT correlate.ip_uid('10.0.1.57'), correlate.ip_uid('2001:DB8::1');
SELECT correlate.image_uid('nginx'), correlate.image_uid('bitnami/redis:7.2'),
       correlate.image_uid('registry.example.com:5000/team/app'),
       correlate.image_uid('registry.example.com/legacy/webapp:1.4.2@sha256:3F1C9B2A7D5E4F608192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8');
SELECT correlate.container_uid('containerd://8c2f1e7a9b3d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e'),
       correlate.container_uid('8C2F1E7A9B3D');
SELECT correlate.canonical_uid('arn:aws:sts::1:assumed-role/r/s'), correlate.canonical_uid('k8s://c/_/Node/n1'),
       correlate.canonical_uid('ip://10.0.0.1'), correlate.canonical_uid('internet');

-- Bad uids
SELECT correlate.arn_uid('');
SELECT correlate.arn_uid('not-an-arn');
SELECT correlate.arn_uid('arn:aws:iam::123');
SELECT correlate.arn_uid('arn::iam::1:role/x');
SELECT correlate.arn_uid('arn:aws:iam::1:');
SELECT correlate.arn_uid('arn:aws:sts::1:assumed-role/');
SELECT correlate.arn_uid(E'arn:aws:iam::1:role/a\tb');
SELECT correlate.arn_uid(repeat('a', 3000));
SELECT correlate.k8s_uid('c', 'ns', 'Pod', 'a/b');
SELECT correlate.k8s_uid('c', 'ns', NULL, 'x');
SELECT correlate.ip_uid('10.0.0.0/8');
SELECT correlate.ip_uid('999.1.1.1');
SELECT correlate.ip_uid('10.0.0.05');
SELECT correlate.image_uid('nginx@sha256:abc');
SELECT correlate.image_uid('nginx:');
SELECT correlate.image_uid('two words');
SELECT correlate.container_uid('docker://xyz');
SELECT correlate.canonical_uid('k8s://only/three/parts');
SELECT correlate.canonical_uid('ip://not-an-ip');
SELECT correlate.arn_uid(convert_from('\x61726e3a6177733a69616d3a3a313a726f6c652fc3', 'SQL_ASCII'));

-- upsert_resource: create, merge labels and props, widen seen times, keep kind
SELECT correlate.upsert_resource('arn:aws:sts::111122223333:assumed-role/legacy-webapp-role/s1', 'aws:iam:role',
	name => 'legacy-webapp-role', account => '111122223333', labels => '{"team":"web"}',
	props => '{"path":"/"}', seen_at => '2026-11-20 10:05:00+00') AS role_id \gset
SELECT correlate.upsert_resource('arn:aws:iam::111122223333:role/legacy-webapp-role', 'aws:iam:role',
	labels => '{"env":"prod"}', props => '{"max_session":3600}', seen_at => '2026-11-10 00:00:00+00') = :role_id AS same_role;
SELECT uid, kind, domain, name, account, labels, props, criticality, first_seen, last_seen
FROM correlate.resource WHERE id = :role_id;
SELECT correlate.upsert_resource('arn:aws:s3:::acme-customer-pii', 'aws:s3:bucket', criticality => 1.0) AS bucket_id \gset
SELECT correlate.upsert_resource('arn:aws:s3:::acme-customer-pii', 'aws:s3:bucket', labels => '{"pii":"yes"}') = :bucket_id AS same_bucket;
SELECT criticality, labels FROM correlate.resource WHERE id = :bucket_id;
SELECT correlate.internet() = correlate.internet() AS one_internet;
SELECT correlate.resource_id('arn:aws:sts::111122223333:assumed-role/legacy-webapp-role/other') = :role_id AS session_resolves;
SELECT correlate.resource_id('arn:aws:iam::111122223333:role/missing') IS NULL AS missing_is_null;

-- Bulk upsert: duplicates in one batch merge; ids come back by position
SELECT * FROM correlate.upsert_resources(
	ARRAY['k8s://prod-eks/legacy-webapp/pod/webapp-1', 'k8s://prod-eks/legacy-webapp/pod/webapp-1', 'ip://10.0.1.57'],
	ARRAY['k8s:pod', 'k8s:pod', 'network:ip'],
	labels => ARRAY['{"a":"1"}', '{"b":"2"}', NULL]::jsonb[]) AS u
ORDER BY ord;
SELECT labels FROM correlate.resource WHERE uid = 'k8s://prod-eks/legacy-webapp/pod/webapp-1';

-- Bad resources
SELECT correlate.upsert_resource(NULL, 'aws:iam:role');
SELECT correlate.upsert_resource('x', NULL);
SELECT correlate.upsert_resource('x', 'aws:iam:rolez');
SELECT correlate.upsert_resource('arn:aws:iam::111122223333:role/legacy-webapp-role', 'aws:iam:user');
SELECT correlate.upsert_resource('x', 'aws:iam:role', labels => '[1,2]');
SELECT correlate.upsert_resource('x', 'aws:iam:role', props => '"text"');
SELECT correlate.upsert_resource('x', 'aws:iam:role', criticality => 'NaN');
SELECT correlate.upsert_resource('x', 'aws:iam:role', criticality => 1.5);
SELECT correlate.upsert_resource('x', 'aws:iam:role', criticality => -0.1);
SELECT correlate.upsert_resource('x', 'aws:iam:role', seen_at => 'infinity');
SELECT correlate.upsert_resource('arn:aws:iam::bad', 'aws:iam:role');
SELECT * FROM correlate.upsert_resources(ARRAY['a', 'b'], ARRAY['k8s:pod']);
-- nothing half-written: the good first record of a failing batch is not there
SELECT * FROM correlate.upsert_resources(ARRAY['k8s://c/ns/pod/good', 'k8s://c/ns/pod/bad'], ARRAY['k8s:pod', 'k8s:nope']);
SELECT count(*) AS half_written FROM correlate.resource WHERE uid = 'k8s://c/ns/pod/good';

-- link: default likelihood from the kind, upsert keeps one edge, props merge
SELECT correlate.link(:role_id, :bucket_id, 'can_access', props => '{"actions":["s3:GetObject"]}', source => 'test') AS rel_id \gset
SELECT correlate.link(:role_id, :bucket_id, 'can_access', likelihood => 0.95, props => '{"class":"read"}') = :rel_id AS same_edge;
SELECT kind, likelihood, props, source FROM correlate.relationship WHERE id = :rel_id;
SELECT correlate.link(:role_id, :bucket_id, 'can_access', props => '{"note":"x"}') = :rel_id AS keeps_likelihood;
SELECT likelihood FROM correlate.relationship WHERE id = :rel_id;
SELECT correlate.link(:bucket_id, :bucket_id, 'contains') IS NOT NULL AS self_loop_allowed;

-- Bad links
SELECT correlate.link(NULL, :bucket_id, 'can_access');
SELECT correlate.link(:role_id, :bucket_id, 'pwns');
SELECT correlate.link(:role_id, 999999999, 'can_access');
SELECT correlate.link(:role_id, :bucket_id, 'can_access', likelihood => 0);
SELECT correlate.link(:role_id, :bucket_id, 'can_access', likelihood => 1.01);
SELECT correlate.link(:role_id, :bucket_id, 'can_access', likelihood => 'NaN');
SELECT correlate.link(:role_id, :bucket_id, 'can_access', likelihood => -0.5);
SELECT correlate.link(:role_id, :bucket_id, 'can_access', props => '[]');
SELECT * FROM correlate.link_many(ARRAY[:role_id]::bigint[], ARRAY[:bucket_id, :bucket_id]::bigint[], ARRAY['can_access']);

-- Events: idempotent on (source, uid, ts); content hash when no uid; domain from class
SELECT correlate.record_event('2026-11-20 10:06:00+00', 6003, 'cloudtrail', uid => 'evt-1', actor => :role_id,
	target => :bucket_id, action => 's3:GetObject', outcome => 'success', domain => 'data',
	src_ip => '10.0.1.57', raw => '{"eventID":"evt-1"}') AS ev1 \gset
SELECT correlate.record_event('2026-11-20 10:06:00+00', 6003, 'cloudtrail', uid => 'evt-1', actor => :role_id) = :ev1 AS idempotent;
SELECT correlate.record_event('2026-11-20 10:00:00+00', 1007, 'falco', process => 'bash', command_line => 'bash -i',
	rule => 'Terminal shell in container', severity_id => 3) AS ev2 \gset
SELECT correlate.record_event('2026-11-20 10:00:00+00', 1007, 'falco', process => 'bash', command_line => 'bash -i',
	rule => 'Terminal shell in container', severity_id => 3) = :ev2 AS hash_idempotent;
SELECT ts, class_uid, domain, source, action, outcome, rule, src_ip FROM correlate.event ORDER BY ts;

-- Bad events
SELECT correlate.record_event(NULL, 6003, 'cloudtrail');
SELECT correlate.record_event('infinity', 6003, 'cloudtrail');
SELECT correlate.record_event(now(), NULL, 'cloudtrail');
SELECT correlate.record_event(now(), 6003, '');
SELECT correlate.record_event(now(), 6003, 'api', actor => 999999999);
SELECT correlate.record_event(now(), 6003, 'api', dst_port => 70000);
SELECT correlate.record_event(now(), 6003, 'api', domain => 'moon');
SELECT correlate.record_event(now(), -1, 'api');

-- Findings
SELECT correlate.record_finding(:bucket_id, 'misconfiguration', 'public-read', 'HIGH', title => 'bucket allows public reads') AS f1 \gset
SELECT correlate.record_finding(:bucket_id, 'misconfiguration', 'public-read', 'unknown', status => 'accepted') = :f1 AS same_finding;
SELECT kind, check_id, severity, status, title FROM correlate.finding WHERE id = :f1;
SELECT correlate.record_finding(NULL, 'vulnerability', 'CVE-2021-44228');
SELECT correlate.record_finding(:bucket_id, 'bug', 'X');
SELECT correlate.record_finding(:bucket_id, 'vulnerability', 'CVE-1', 'catastrophic');
SELECT correlate.record_finding(:bucket_id, 'vulnerability', 'CVE-1', cvss => 11);
SELECT correlate.record_finding(:bucket_id, 'vulnerability', 'CVE-1', epss => 'NaN');
SELECT correlate.record_finding(999999999, 'vulnerability', 'CVE-1');
SELECT correlate.record_finding(:bucket_id, 'vulnerability', 'CVE-1', status => 'gone');

-- IP leases: an address moves from one pod to another; resolve at a time
SELECT correlate.upsert_resource('k8s://prod-eks/legacy-webapp/pod/webapp-2', 'k8s:pod') AS pod2 \gset
SELECT correlate.resource_id('k8s://prod-eks/legacy-webapp/pod/webapp-1') AS pod1 \gset
SELECT correlate.record_ip_lease('10.0.1.57', :pod1, '2026-11-01 00:00+00') IS NOT NULL AS leased;
SELECT correlate.record_ip_lease('10.0.1.57', :pod1, '2026-11-05 00:00+00', '2026-11-06 00:00+00') IS NOT NULL AS merged;
SELECT correlate.record_ip_lease('10.0.1.57', :pod2, '2026-11-15 00:00+00') IS NOT NULL AS moved;
SELECT r.uid, l.valid FROM correlate.ip_lease l JOIN correlate.resource r ON r.id = l.resource ORDER BY lower(l.valid);
SELECT (SELECT uid FROM correlate.resource WHERE id = correlate.resolve_ip('10.0.1.57', '2026-11-10 00:00+00')) AS on_nov10,
       (SELECT uid FROM correlate.resource WHERE id = correlate.resolve_ip('10.0.1.57', '2026-11-20 00:00+00')) AS on_nov20,
       correlate.resolve_ip('10.0.1.57', '2026-10-01 00:00+00') AS before_any;
SELECT correlate.record_ip_lease('10.0.0.0/24', :pod1, now());
SELECT correlate.record_ip_lease('10.0.0.9', :pod1, '2026-11-02', '2026-11-01');
SELECT correlate.record_ip_lease('10.0.0.9', NULL, now());
SELECT correlate.record_ip_lease('10.0.0.9', 999999999, now());
SELECT correlate.record_ip_lease('10.0.0.9', :pod1, '-infinity');

-- Errors carry an SQLSTATE, a detail naming the record, and a hint where one helps.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT * FROM correlate.upsert_resources(ARRAY['k8s://c/ns/pod/a', 'k8s://c/ns/pod/b'], ARRAY['k8s:pod', 'k8s:Pod']);
\echo :LAST_ERROR_SQLSTATE
SELECT correlate.link(:role_id, :bucket_id, 'can_access', likelihood => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT correlate.arn_uid('arn:aws:sts::1:assumed-role/');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse

DROP EXTENSION correlate CASCADE;
