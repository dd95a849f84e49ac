-- Remediation: the NetworkPolicy, the least-privilege IAM policy and the ranked fix
-- plan for the seed scenario; legitimate traffic and use are kept, incident traffic
-- and use are not; bad input, empty graphs, cycles and tenancy.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
DROP ROLE IF EXISTS rem_globex;
RESET client_min_messages;
SET TIME ZONE 'UTC';

-- An empty graph has nothing to fix.
SELECT * FROM correlate.fix_plan();

\o /dev/null
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
\o
\set pod '''k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'''
\set role '''arn:aws:iam::111122223333:role/legacy-webapp-role'''

-- Before correlation, the role's reads of the bucket look like use: the policy would keep them.
SELECT jsonb_pretty(correlate.least_privilege_policy(correlate.resource_id(:role)));

SELECT rule, created, events FROM correlate.correlate();

-- After: only ec2:DescribeInstances, the ten days of legitimate use.
SELECT jsonb_pretty(correlate.least_privilege_policy(correlate.resource_id(:role)));
-- Since the day of the incident there is no legitimate use at all.
SELECT correlate.least_privilege_policy(correlate.resource_id(:role), '2026-11-20');

-- Traffic of legacy-webapp: incident flows and the unsolicited inbound flow are excluded.
SELECT direction, peer, host(peer_ip) AS peer_ip, port, protocol, in_cluster, legitimate, reason, events
FROM correlate.observed_flows('legacy-webapp');
SELECT jsonb_pretty(correlate.network_policy('legacy-webapp'));
SELECT correlate.network_policy('legacy-webapp', 'prod-eks') = correlate.network_policy('legacy-webapp') AS same_with_cluster;

-- With a legitimate in-cluster client and a legitimate external dependency, the
-- policy allows exactly those (and still not the attacker's addresses).
BEGIN;
SELECT correlate.upsert_resource('k8s://prod-eks/shop/pod/frontend-1', 'k8s:pod', name => 'frontend-1', cluster => 'prod-eks',
	namespace => 'shop', labels => '{"app": "frontend", "pod-template-hash": "5d8c"}') > 0 AS ok;
SELECT correlate.upsert_resource('ip://10.9.0.5', 'network:ip', name => '10.9.0.5') > 0 AS ok;
SELECT correlate.record_event('2026-11-19 08:00+00', 4001, 'vpc_flow', uid => 'legit-in', domain => 'network',
	actor => correlate.resource_id('k8s://prod-eks/shop/pod/frontend-1'), target => correlate.resource_id(:pod),
	src_ip => '10.0.2.8', dst_ip => '10.0.1.57', dst_port => 8080) > 0 AS ok;
SELECT correlate.record_event('2026-11-19 08:01+00', 4001, 'vpc_flow', uid => 'legit-out', domain => 'network',
	actor => correlate.resource_id(:pod), target => correlate.resource_id('ip://10.9.0.5'),
	src_ip => '10.0.1.57', dst_ip => '10.9.0.5', dst_port => 5432, raw => '{"protocol": 6}') > 0 AS ok;
SELECT correlate.record_event('2026-11-19 08:02+00', 4001, 'vpc_flow', uid => 'dns', domain => 'network',
	actor => correlate.resource_id(:pod), target => correlate.resource_id('ip://10.9.0.5'),
	src_ip => '10.0.1.57', dst_ip => '10.9.0.5', dst_port => 53, raw => '{"protocol": 17}') > 0 AS ok;
-- the attacker's address on another day, with no detection: still flagged by the incident's flows
SELECT correlate.record_event('2026-11-21 08:00+00', 4001, 'vpc_flow', uid => 'again', domain => 'network',
	actor => correlate.resource_id(:pod), target => correlate.internet(),
	src_ip => '10.0.1.57', dst_ip => '198.51.100.7', dst_port => 4444) > 0 AS ok;
SELECT direction, host(peer_ip) AS peer_ip, port, protocol, in_cluster, legitimate, reason
FROM correlate.observed_flows('legacy-webapp');
SELECT jsonb_pretty(correlate.network_policy('legacy-webapp') -> 'spec');
ROLLBACK;

-- The ranked fix plan.
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT rank, kind, target, description, paths_removed, paths_total, likelihood_removed, risk_reduction,
	   resource_id IS NOT NULL AS has_resource, relationship_id IS NOT NULL AS has_relationship, effort, what_if
FROM correlate.fix_plan(k => 20);
-- The artifacts are the generated documents.
SELECT kind, artifact = correlate.network_policy('legacy-webapp') AS is_network_policy,
	   artifact = correlate.least_privilege_policy(correlate.resource_id(:role)) AS is_iam_policy
FROM correlate.fix_plan(k => 20) WHERE artifact IS NOT NULL ORDER BY rank;
-- Every fix that claims all paths really closes them: replayed as a what-if, no path is left.
SELECT f.rank, f.kind, (SELECT count(*) FROM correlate.attack_paths(what_if => f.what_if)) AS paths_left
FROM correlate.fix_plan(k => 20) f WHERE f.paths_removed = f.paths_total ORDER BY f.rank;
-- And for real: patching the CVE (the finding fixed) and re-deriving leaves no path.
BEGIN;
UPDATE correlate.finding SET status = 'fixed' WHERE check_id = 'CVE-2021-44228';
SELECT inserted, updated, deleted FROM correlate.derive_attack_edges();
SELECT count(*) AS paths_left FROM correlate.attack_paths();
SELECT count(*) AS fixes_left FROM correlate.fix_plan() WHERE paths_removed > 0;
ROLLBACK;
-- Explicit sources and targets; k limits the rows.
SELECT rank, kind, target, paths_removed, paths_total
FROM correlate.fix_plan(ARRAY[correlate.resource_id(:pod)], ARRAY[correlate.resource_id('arn:aws:s3:::acme-customer-pii')], 3);
-- A source next to its target: no node cut exists, the plan still comes.
SELECT rank, kind, target, paths_removed, paths_total
FROM correlate.fix_plan(ARRAY[correlate.resource_id(:role)], ARRAY[correlate.resource_id('arn:aws:s3:::acme-customer-pii')], 3);
-- No path between them: nothing to rank by paths.
SELECT count(*) FROM correlate.fix_plan(ARRAY[correlate.resource_id('arn:aws:s3:::acme-customer-pii')], ARRAY[correlate.internet()])
WHERE paths_removed > 0;

-- Cycles: a role that can reach back into the pod adds no endless paths.
BEGIN;
SELECT correlate.link(correlate.resource_id(:role), correlate.resource_id(:pod), 'can_exec') > 0 AS linked;
SELECT rank, kind, target, paths_removed, paths_total FROM correlate.fix_plan(k => 3);
ROLLBACK;

-- Two entry points, each with its own weakness and identity: no single fix closes both paths,
-- so the plan adds a set of fixes, checked with all of them applied at once.
BEGIN;
SELECT correlate.link(correlate.internet(), correlate.upsert_resource('k8s://prod-eks/shop/pod/cart-1', 'k8s:pod',
	name => 'cart-1', cluster => 'prod-eks', namespace => 'shop'), 'exposes') > 0 AS exposed;
SELECT correlate.record_finding(correlate.resource_id('k8s://prod-eks/shop/pod/cart-1'), 'vulnerability', 'CVE-2022-22965',
	'critical', cvss => 9.8, fixed_version => '5.3.18', package => 'spring-beans',
	props => '{"cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}') > 0 AS vulnerable;
SELECT correlate.upsert_resource('k8s://prod-eks/shop/serviceaccount/cart', 'k8s:serviceaccount', name => 'cart',
		cluster => 'prod-eks', namespace => 'shop') > 0 AS sa,
	   correlate.upsert_resource('arn:aws:iam::111122223333:role/cart-role', 'aws:iam:role', name => 'cart-role') > 0 AS role;
SELECT correlate.link(correlate.resource_id('k8s://prod-eks/shop/pod/cart-1'),
		correlate.resource_id('k8s://prod-eks/shop/serviceaccount/cart'), 'runs_as') > 0 AS runs_as,
	   correlate.link(correlate.resource_id('k8s://prod-eks/shop/serviceaccount/cart'),
		correlate.resource_id('arn:aws:iam::111122223333:role/cart-role'), 'assumes',
		props => '{"via": "irsa", "decision": "allow"}') > 0 AS irsa,
	   correlate.link(correlate.resource_id('arn:aws:iam::111122223333:role/cart-role'),
		correlate.resource_id('arn:aws:s3:::acme-customer-pii'), 'can_access', 0.9) > 0 AS reads;
SELECT rank, kind, target, description, paths_removed, paths_total, effort, what_if
FROM correlate.fix_plan(k => 30) WHERE kind = 'apply_fix_set' OR rank <= 2 ORDER BY rank;
SELECT count(*) AS paths_left FROM correlate.attack_paths(what_if => (SELECT what_if FROM correlate.fix_plan(k => 30)
																	 WHERE kind = 'apply_fix_set'));
ROLLBACK;

-- Bad input.
SELECT correlate.network_policy(NULL);
SELECT correlate.network_policy('');
SELECT correlate.network_policy('no-such-namespace');
SELECT correlate.network_policy('legacy-webapp', 'other-cluster');
SELECT correlate.least_privilege_policy(NULL);
SELECT correlate.least_privilege_policy(-1);
SELECT correlate.least_privilege_policy(correlate.resource_id(:pod));
SELECT correlate.least_privilege_policy(correlate.resource_id(:role), 'infinity');
SELECT * FROM correlate.fix_plan(k => 0);
SELECT * FROM correlate.fix_plan(k => NULL);
SELECT * FROM correlate.fix_plan(ARRAY[]::bigint[]);
-- Errors of the cut functions surface (fix_plan handles only "no node cut separates", above).
SELECT * FROM correlate.fix_plan(ARRAY[correlate.resource_id(:pod)], ARRAY[correlate.resource_id(:pod)]);
SELECT * FROM correlate.fix_plan(ARRAY[correlate.resource_id(:pod)], ARRAY[NULL]::bigint[]);
SELECT * FROM correlate.fix_plan(ARRAY[-5]);
-- A namespace in two clusters must be named with its cluster.
BEGIN;
SELECT correlate.upsert_resource('k8s://staging/legacy-webapp/pod/x', 'k8s:pod', cluster => 'staging', namespace => 'legacy-webapp') > 0 AS ok;
SELECT correlate.network_policy('legacy-webapp');
ROLLBACK;

-- Tenancy: another tenant sees none of it.
CREATE ROLE rem_globex IN ROLE correlate_reader;
SELECT correlate.grant_tenant('globex', 'rem_globex');
SET ROLE rem_globex;
SET correlate.tenant = 'globex';
SELECT correlate.network_policy('legacy-webapp');
SELECT correlate.least_privilege_policy(1);
SELECT count(*) AS fixes FROM correlate.fix_plan();
RESET ROLE;
RESET correlate.tenant;

DROP EXTENSION correlate CASCADE;
DROP ROLE rem_globex;
