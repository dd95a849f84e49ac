-- One regression test per catalogue technique: the edge when its precondition
-- holds, and its absence when it does not.  The small inventories below are
-- written for correlate (one pod or principal per case, through the write API);
-- the last part loads KubeHound's test cluster (test/data/k8s-inventory).
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

CREATE FUNCTION pg_temp.r(name text, kind text, props jsonb DEFAULT '{}', ns text DEFAULT 'app') RETURNS bigint
LANGUAGE sql AS $$
	SELECT correlate.upsert_resource('test://' || kind || '/' || COALESCE(ns, '_') || '/' || name, kind, name => name,
									 cluster => CASE WHEN kind LIKE 'k8s:%' THEN 'c1' END,
									 namespace => CASE WHEN kind IN ('k8s:node', 'k8s:user', 'k8s:group', 'k8s:clusterrole') THEN NULL ELSE ns END,
									 props => props)
$$;
CREATE FUNCTION pg_temp.id(name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM correlate.resource r WHERE r.name = $1 ORDER BY r.id LIMIT 1 $$;
CREATE FUNCTION pg_temp.l(a text, b text, kind text, props jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$ SELECT correlate.link(pg_temp.id(a), pg_temp.id(b), kind, props => props) $$;
CREATE FUNCTION pg_temp.vuln(on_name text, cve text, vector text DEFAULT NULL, cvss real DEFAULT NULL,
							 epss real DEFAULT NULL, kev boolean DEFAULT false, kind text DEFAULT 'vulnerability') RETURNS bigint
LANGUAGE sql AS $$
	SELECT correlate.record_finding(pg_temp.id(on_name), kind, cve, 'high', cvss => cvss, epss => epss,
									known_exploited => kev,
									props => CASE WHEN vector IS NOT NULL THEN jsonb_build_object('cvss_vector', vector) ELSE '{}' END)
$$;
-- The edges of one technique, by names.
CREATE FUNCTION pg_temp.edges(tech text) RETURNS TABLE (src text, dst text, likelihood float8)
LANGUAGE sql AS $$
	SELECT s.name, d.name, round(a.likelihood::numeric, 4)::float8
	FROM correlate.attack_edges_derived() a
	JOIN correlate.resource s ON s.id = a.src JOIN correlate.resource d ON d.id = a.dst
	WHERE a.technique = tech ORDER BY 1, 2
$$;

SELECT correlate.internet() > 0 AS internet;

-- exploit_public_workload (T1190): exposure AND a network-reachable weakness.
SELECT pg_temp.r('lb', 'k8s:service', '{"type": "LoadBalancer"}') > 0,
	   pg_temp.r('img-a', 'container:image', ns => NULL) > 0, pg_temp.r('img-b', 'container:image', ns => NULL) > 0,
	   pg_temp.r('web-vuln', 'k8s:pod') > 0, pg_temp.r('web-local', 'k8s:pod') > 0, pg_temp.r('web-clean', 'k8s:pod') > 0,
	   pg_temp.r('web-kev', 'k8s:pod') > 0, pg_temp.r('web-epss', 'k8s:pod') > 0, pg_temp.r('internal-vuln', 'k8s:pod') > 0,
	   pg_temp.r('vm-1', 'aws:ec2:instance', ns => NULL) > 0, pg_temp.r('vm-2', 'aws:ec2:instance', ns => NULL) > 0,
	   pg_temp.r('ctr-a', 'container') > 0;
SELECT pg_temp.l('internet', 'lb', 'exposes') > 0,
	   pg_temp.l('lb', 'web-vuln', 'exposes') > 0, pg_temp.l('lb', 'web-local', 'exposes') > 0,
	   pg_temp.l('lb', 'web-clean', 'exposes') > 0, pg_temp.l('lb', 'web-epss', 'exposes') > 0,
	   pg_temp.l('internet', 'web-kev', 'exposes', '{"via": "hostPort"}') > 0,
	   pg_temp.l('internet', 'vm-1', 'exposes', '{"via": "public-ip"}') > 0,
	   pg_temp.l('internet', 'vm-2', 'exposes', '{"via": "public-ip"}') > 0,
	   -- the weakness of a part (container, image) is the workload's
	   pg_temp.l('web-vuln', 'ctr-a', 'contains') > 0, pg_temp.l('ctr-a', 'img-a', 'uses_image') > 0,
	   pg_temp.l('web-local', 'img-b', 'uses_image') > 0,
	   pg_temp.l('internal-vuln', 'img-a', 'uses_image') > 0,
	   -- an observed inbound flow is no exposure
	   pg_temp.l('internet', 'web-clean', 'connects_to') > 0;
SELECT pg_temp.vuln('img-a', 'CVE-A', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8) > 0,
	   pg_temp.vuln('img-b', 'CVE-LOCAL', 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8, kev => true) > 0,
	   pg_temp.vuln('web-kev', 'CVE-KEV', kev => true) > 0,
	   pg_temp.vuln('web-epss', 'CVE-EPSS', 'AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5, 0.5) > 0,
	   pg_temp.vuln('web-clean', 'CVE-NOVECTOR', cvss => 9.0) > 0,
	   pg_temp.vuln('vm-1', 'open-ssh-password-auth', kind => 'exposure') > 0;
SELECT * FROM pg_temp.edges('exploit_public_workload');
-- A pod on the host network (or with a hostPort) is exposed where its node is; not otherwise.
SELECT pg_temp.r('edge-node', 'k8s:node', ns => NULL) > 0, pg_temp.r('inner-node', 'k8s:node', ns => NULL) > 0,
	   pg_temp.r('hostnet', 'k8s:pod', '{"host_network": true}') > 0,
	   pg_temp.r('hostport', 'k8s:pod', '{"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}]}]}') > 0,
	   pg_temp.r('hostnet-inner', 'k8s:pod', '{"host_network": true}') > 0,
	   pg_temp.r('podnet', 'k8s:pod', '{}') > 0;
SELECT pg_temp.l('internet', 'edge-node', 'exposes', '{"via": "public-ip"}') > 0,
	   pg_temp.l('hostnet', 'edge-node', 'runs_on') > 0, pg_temp.l('hostport', 'edge-node', 'runs_on') > 0,
	   pg_temp.l('podnet', 'edge-node', 'runs_on') > 0, pg_temp.l('hostnet-inner', 'inner-node', 'runs_on') > 0;
SELECT count(*) AS linked FROM unnest(ARRAY['hostnet', 'hostport', 'hostnet-inner', 'podnet']) p
WHERE pg_temp.vuln(p, 'CVE-H-' || p, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8) > 0;
SELECT src, dst, likelihood FROM pg_temp.edges('exploit_public_workload') WHERE dst LIKE 'host%' OR dst = 'podnet';

-- Container escapes (T1611): each pod runs on node-1.
SELECT pg_temp.r('node-1', 'k8s:node', ns => NULL) > 0,
	   pg_temp.r('priv', 'k8s:pod', '{"containers": [{"name": "c", "securityContext": {"privileged": true}}]}') > 0,
	   pg_temp.r('priv-off', 'k8s:pod', '{"privileged": false, "containers": [{"name": "c", "securityContext": {"privileged": true}}]}') > 0,
	   pg_temp.r('sysmod', 'k8s:pod', '{"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_MODULE"]}}}]}') > 0,
	   pg_temp.r('sysadmin', 'k8s:pod', '{"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["CAP_SYS_ADMIN"]}}}]}') > 0,
	   pg_temp.r('ptrace', 'k8s:pod', '{"host_pid": true, "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}]}') > 0,
	   pg_temp.r('ptrace-nopid', 'k8s:pod', '{"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}]}') > 0,
	   pg_temp.r('hostroot', 'k8s:pod', '{"host_paths": ["/"]}') > 0,
	   pg_temp.r('corepattern', 'k8s:pod', '{"host_paths": ["/proc/sys/kernel", "/etcd-data"]}') > 0,
	   pg_temp.r('varlog', 'k8s:pod', '{"host_paths": ["/var/log/"]}') > 0,
	   pg_temp.r('sock', 'k8s:pod', '{"host_paths": ["/run/containerd/containerd.sock"]}') > 0,
	   pg_temp.r('benign', 'k8s:pod', '{"host_paths": ["/var/run/datadog-agent"], "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}]}') > 0;
SELECT count(*) AS linked FROM unnest(ARRAY['priv', 'priv-off', 'sysmod', 'sysadmin', 'ptrace', 'ptrace-nopid', 'hostroot', 'corepattern',
											 'varlog', 'sock', 'benign']) p
WHERE pg_temp.l(p, 'node-1', 'runs_on') > 0;
SELECT a.technique, s.name AS pod, d.name AS node, a.because - 'relationships' - 'resource' AS why
FROM correlate.attack_edges_derived() a JOIN correlate.resource s ON s.id = a.src JOIN correlate.resource d ON d.id = a.dst
WHERE a.technique LIKE 'container\_escape\_%' ORDER BY 1, 2;

-- node_controls_pod (T1609): the node reaches every pod on it.
SELECT count(*) AS pods_of_node_1 FROM pg_temp.edges('node_controls_pod') WHERE src = 'node-1';
SELECT count(*) AS from_pods FROM pg_temp.edges('node_controls_pod') WHERE src NOT LIKE '%node%';

-- node_cloud_identity (T1552.005): unless the metadata service is blocked.
SELECT pg_temp.r('node-2', 'k8s:node', '{"imds_blocked": true}', ns => NULL) > 0,
	   pg_temp.r('node-role', 'aws:iam:role', ns => NULL) > 0, pg_temp.r('node-role-2', 'aws:iam:role', ns => NULL) > 0,
	   pg_temp.l('node-1', 'node-role', 'runs_as') > 0, pg_temp.l('node-2', 'node-role-2', 'runs_as') > 0;
SELECT * FROM pg_temp.edges('node_cloud_identity');

-- pod_service_account_token (T1528): unless the token is not mounted.
SELECT pg_temp.r('sa-a', 'k8s:serviceaccount') > 0, pg_temp.r('sa-b', 'k8s:serviceaccount') > 0,
	   pg_temp.r('sa-c', 'k8s:serviceaccount', '{"automount_token": false}') > 0,
	   pg_temp.l('priv', 'sa-a', 'runs_as') > 0, pg_temp.l('sysmod', 'sa-b', 'runs_as', '{"automount_token": false}') > 0,
	   pg_temp.l('benign', 'sa-c', 'runs_as') > 0;
SELECT * FROM pg_temp.edges('pod_service_account_token');
-- The pod's automountServiceAccountToken overrides its service account's, either way.
SELECT pg_temp.r('pod-auto-on', 'k8s:pod') > 0, pg_temp.r('pod-auto-off', 'k8s:pod', '{"automount_token": false}') > 0,
	   pg_temp.r('pod-auto-spec', 'k8s:pod') > 0,
	   pg_temp.l('pod-auto-on', 'sa-c', 'runs_as', '{"automount_token": true}') > 0,
	   pg_temp.l('pod-auto-off', 'sa-a', 'runs_as') > 0, pg_temp.l('pod-auto-spec', 'sa-c', 'runs_as') > 0;
SELECT * FROM pg_temp.edges('pod_service_account_token') WHERE src LIKE 'pod-auto-%';

-- pod_mounted_secret (T1552.001): a mounted Secret, not a ConfigMap.
SELECT pg_temp.r('db-creds', 'k8s:secret') > 0, pg_temp.r('settings', 'k8s:configmap') > 0,
	   pg_temp.l('priv', 'db-creds', 'mounts') > 0, pg_temp.l('priv', 'settings', 'mounts') > 0;
SELECT * FROM pg_temp.edges('pod_mounted_secret');

-- RBAC: subjects bound to roles (the props the k8s_inventory ingest writes on can_access).
CREATE FUNCTION pg_temp.bind(subject text, role text, scope text, rules jsonb) RETURNS bigint
LANGUAGE sql AS $$
	SELECT pg_temp.l(subject, role, 'can_access',
					 jsonb_build_object('binding:test://' || subject, jsonb_build_object('kind', 'RoleBinding', 'scope', scope),
										'rules', rules))
$$;
SELECT pg_temp.r('other-pod', 'k8s:pod', ns => 'other') > 0, pg_temp.r('other-secret', 'k8s:secret', ns => 'other') > 0,
	   pg_temp.r('other-sa', 'k8s:serviceaccount', ns => 'other') > 0,
	   pg_temp.r('alice', 'k8s:user', ns => NULL) > 0, pg_temp.r('role-x', 'k8s:role') > 0,
	   pg_temp.r('admin-role', 'k8s:clusterrole', ns => NULL) > 0;
SELECT pg_temp.r(s, 'k8s:serviceaccount') > 0 AS ok
FROM unnest(ARRAY['sa-exec', 'sa-reader', 'sa-create', 'sa-deploy', 'sa-secrets', 'sa-one-secret', 'sa-bind', 'sa-imp', 'sa-token', 'sa-admin']) s;
SELECT pg_temp.bind('sa-exec', 'role-x', 'app', '[{"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}]') > 0,
	   pg_temp.bind('sa-reader', 'role-x', 'app', '[{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]}]') > 0,
	   pg_temp.bind('sa-create', 'role-x', 'app', '[{"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]}]') > 0,
	   pg_temp.bind('sa-deploy', 'role-x', 'app', '[{"verbs": ["patch"], "apiGroups": ["apps"], "resources": ["deployments"]}]') > 0,
	   pg_temp.bind('sa-secrets', 'role-x', 'app', '[{"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"]}]') > 0,
	   pg_temp.bind('sa-one-secret', 'role-x', 'app', '[{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db-creds"]}]') > 0,
	   pg_temp.bind('sa-bind', 'role-x', '*', '[{"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]}]') > 0,
	   pg_temp.bind('sa-imp', 'role-x', '*', '[{"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users"]}]') > 0,
	   pg_temp.bind('sa-token', 'role-x', 'other', '[{"verbs": ["create"], "apiGroups": [""], "resources": ["serviceaccounts/token"]}]') > 0,
	   pg_temp.bind('sa-admin', 'admin-role', '*', '[{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]') > 0;
-- k8s_pod_exec (T1609): every pod in the namespace, none elsewhere; read-only rights give nothing.
SELECT src, count(*) AS pods, count(*) FILTER (WHERE dst = 'other-pod') AS other_ns
FROM pg_temp.edges('k8s_pod_exec') GROUP BY src ORDER BY src;
-- k8s_pod_create (T1610): service accounts in scope and the nodes.
SELECT src, count(*) FILTER (WHERE dst LIKE 'node-%') AS nodes, count(*) FILTER (WHERE dst LIKE '%sa%') AS service_accounts
FROM pg_temp.edges('k8s_pod_create') GROUP BY src ORDER BY src;
-- k8s_secret_read (T1552.007): resourceNames restrict.
SELECT * FROM pg_temp.edges('k8s_secret_read');
-- k8s_role_bind (T1098.006), k8s_impersonate (T1078), k8s_token_create (T1528).
SELECT src, count(*) AS service_accounts FROM pg_temp.edges('k8s_role_bind') GROUP BY src ORDER BY src;
SELECT * FROM pg_temp.edges('k8s_impersonate') WHERE src <> 'sa-admin';
SELECT src, count(*) FILTER (WHERE dst = 'alice') AS alice, count(*) AS subjects FROM pg_temp.edges('k8s_impersonate') GROUP BY src ORDER BY src;
SELECT * FROM pg_temp.edges('k8s_token_create') WHERE src <> 'sa-admin';
SELECT count(*) AS reader_edges FROM correlate.attack_edges_derived() a WHERE a.src = pg_temp.id('sa-reader');

-- k8s_group_member (T1078.001): a binding to a system group grants its members.
SELECT pg_temp.r('system:serviceaccounts:app', 'k8s:group', ns => NULL) > 0,
	   pg_temp.r('system:authenticated', 'k8s:group', ns => NULL) > 0,
	   pg_temp.r('system:serviceaccounts:other', 'k8s:group', ns => NULL) > 0,
	   pg_temp.r('ops-team', 'k8s:group', ns => NULL) > 0,
	   pg_temp.bind('system:serviceaccounts:other', 'role-x', 'other', '[{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]') > 0,
	   pg_temp.bind('ops-team', 'role-x', 'app', '[{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]') > 0;
-- members: other-sa in system:serviceaccounts:other, every service account and alice in
-- system:authenticated, the app service accounts in system:serviceaccounts:app; nobody in ops-team.
SELECT dst, count(*) AS members, count(*) FILTER (WHERE src = 'other-sa') AS other_sa, count(*) FILTER (WHERE src = 'alice') AS alice
FROM pg_temp.edges('k8s_group_member') GROUP BY dst ORDER BY dst;
-- the path: other-sa -> its namespace's group -> the secret that group reads.
SELECT s.name, d.name FROM correlate.attack_edges_derived() a
JOIN correlate.resource s ON s.id = a.src JOIN correlate.resource d ON d.id = a.dst
WHERE s.name LIKE 'system:serviceaccounts:%' ORDER BY 1, 2;

-- k8s_anonymous_access (T1078.001): while no binding names system:unauthenticated, anonymous
-- requests reach nothing; bound, the internet reaches the group and what it may do.
SELECT count(*) AS anonymous_edges FROM pg_temp.edges('k8s_anonymous_access');
SELECT pg_temp.r('system:unauthenticated', 'k8s:group', ns => NULL) > 0,
	   pg_temp.bind('system:unauthenticated', 'role-x', 'app', '[{"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"]}]') > 0;
SELECT * FROM pg_temp.edges('k8s_anonymous_access');
-- nobody authenticated is a member of it, and it reads the app secrets (the internet is one step away)
SELECT count(*) AS members FROM pg_temp.edges('k8s_group_member') WHERE dst = 'system:unauthenticated';
SELECT a.technique, count(*) AS edges, min(d.namespace) AS namespace FROM correlate.attack_edges_derived() a
JOIN correlate.resource s ON s.id = a.src JOIN correlate.resource d ON d.id = a.dst
WHERE s.name = 'system:unauthenticated' GROUP BY 1 ORDER BY 1;

-- k8s_irsa (T1550.001): the trust evaluated and allowing (0.9), not evaluated (the base), denied (none).
SELECT pg_temp.r('app-role', 'aws:iam:role', ns => NULL) > 0, pg_temp.r('app-role-2', 'aws:iam:role', ns => NULL) > 0,
	   pg_temp.r('app-role-3', 'aws:iam:role', ns => NULL) > 0,
	   pg_temp.l('sa-a', 'app-role', 'assumes', '{"via": "irsa", "decision": "allow", "statement": 1}') > 0,
	   pg_temp.l('sa-b', 'app-role-2', 'assumes', '{"via": "irsa"}') > 0,
	   pg_temp.l('sa-c', 'app-role-3', 'assumes', '{"via": "irsa", "decision": "deny"}') > 0;
SELECT * FROM pg_temp.edges('k8s_irsa');

-- Cloud identity and data: iam_assume_role (T1078.004), iam_privilege_escalation (T1098.003),
-- cloud_data_access (T1530), data_contains (T1530).
SELECT pg_temp.r('dev', 'aws:iam:user', ns => NULL) > 0, pg_temp.r('bucket', 'aws:s3:bucket', ns => NULL) > 0,
	   pg_temp.r('obj', 'aws:s3:object', ns => NULL) > 0, pg_temp.r('ns-app', 'k8s:namespace', ns => NULL) > 0,
	   pg_temp.l('dev', 'app-role', 'assumes', '{"decision": "allow"}') > 0,
	   pg_temp.l('dev', 'app-role-3', 'assumes', '{"decision": "deny"}') > 0,
	   pg_temp.l('dev', 'node-role', 'can_escalate_to', '{"technique": "iam:PassRole"}') > 0,
	   pg_temp.l('app-role', 'bucket', 'can_access', '{"statements": [7]}') > 0,
	   pg_temp.l('bucket', 'obj', 'contains') > 0, pg_temp.l('ns-app', 'priv', 'contains') > 0;
-- public_resource_policy (T1530): a resource policy granting anyone, from the policy engine; a flow is no grant.
SELECT pg_temp.r('public-bucket', 'aws:s3:bucket', ns => NULL) > 0, pg_temp.r('open-role', 'aws:iam:role', ns => NULL) > 0,
	   correlate.link(correlate.internet(), pg_temp.id('public-bucket'), 'can_access', 0.9, '{"statements": [9]}', 'iam_policy') > 0,
	   correlate.link(correlate.internet(), pg_temp.id('bucket'), 'connects_to') > 0,
	   correlate.link(correlate.internet(), pg_temp.id('open-role'), 'assumes', 0.8, '{"decision": "allow"}', 'iam_policy') > 0;
SELECT * FROM pg_temp.edges('public_resource_policy');
SELECT * FROM pg_temp.edges('iam_assume_role');
SELECT * FROM pg_temp.edges('iam_privilege_escalation');
SELECT * FROM pg_temp.edges('cloud_data_access');
SELECT * FROM pg_temp.edges('data_contains');

-- Every technique of the catalogue was exercised above.
SELECT t.technique FROM correlate.attack_technique t
WHERE NOT EXISTS (SELECT 1 FROM correlate.attack_edges_derived() a WHERE a.technique = t.technique);
-- Topology that is no attack step derives nothing: uses_image, namespace contains, connects_to.
SELECT count(*) AS image_or_namespace_targets FROM correlate.attack_edges_derived() a
JOIN correlate.resource d ON d.id = a.dst WHERE d.kind IN ('container:image', 'k8s:namespace', 'container');

-- KubeHound's test cluster: the pod's token and its node, nothing invented (its hostPath
-- /var/run/datadog-agent is no escape; its role only reads; its Service is not internet-facing).
DROP EXTENSION correlate CASCADE;
CREATE EXTENSION correlate;
SET correlate.default_cluster = 'kh';
\set f `cat test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/*.json test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/namespace-1/*.json test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/namespace-2/*.json`
SELECT resources, relationships, rejected FROM correlate.ingest('k8s_inventory', :'f');
\set f `cat test/data/k8s-inventory/kubehound-converter-testdata/*.json`
SELECT resources, relationships, rejected FROM correlate.ingest('k8s_inventory', :'f');
\unset f
SELECT * FROM correlate.derive_attack_edges();
SELECT s.uid AS src, a.technique, a.attack_id, d.uid AS dst
FROM correlate.attack_edge a JOIN correlate.resource s ON s.id = a.src JOIN correlate.resource d ON d.id = a.dst
ORDER BY 2, 1, 4;
-- Its pod mounted the host's /var/log instead: the symlink escape appears.
BEGIN;
UPDATE correlate.resource SET props = props || '{"host_paths": ["/var/log"]}'
WHERE uid = 'k8s://kh/test-app/pod/app-monitors-client-78cb6d7899-j2rjp';
SELECT a.technique, a.because->'host_paths' AS host_paths FROM correlate.attack_edges_derived() a
WHERE a.technique LIKE 'container\_escape\_%';
ROLLBACK;

DROP EXTENSION correlate CASCADE;
