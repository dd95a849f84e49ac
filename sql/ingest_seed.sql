\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- The seed scenario (test/data/seed/README.md) loaded from its real-format files, and the
-- cross-domain walk: Falco alert -> container -> pod -> service account -> IAM role ->
-- the CloudTrail events of that role's sessions.  The IAM file is left to the aws_iam test:
-- the role this walk reaches is named by the service account's IRSA annotation.
SET timezone = 'UTC';
SET correlate.default_cluster = 'prod-eks';

\set x `cat test/data/seed/k8s-inventory.json`
SELECT 'k8s_inventory' AS format, rejected FROM correlate.ingest('k8s_inventory', :'x');
\set x `cat test/data/seed/trivy-webapp.json`
SELECT 'trivy' AS format, rejected FROM correlate.ingest('trivy', :'x');
\set x `cat test/data/seed/vpc-flow.log`
SELECT 'vpc_flow' AS format, rejected FROM correlate.ingest('vpc_flow', :'x');
\set x `cat test/data/seed/falco-alerts.jsonl`
SELECT 'falco' AS format, rejected FROM correlate.ingest('falco', :'x');
\set x `cat test/data/seed/cloudtrail.json`
SELECT 'cloudtrail' AS format, rejected FROM correlate.ingest('cloudtrail', :'x');
\unset x

-- The walk, in one query.  It starts from what Falco saw (the container id in the alert) and
-- ends at CloudTrail; from_pod checks each API call's source address against the pod's IP
-- lease at the call's time.
SELECT a.ts AS alert_at, c.uid AS container, p.name AS pod, sa.name AS service_account,
	   role.uid AS iam_role, ct.ts AS api_call_at, ct.action, host(ct.src_ip) AS src_ip,
	   correlate.resolve_ip(ct.src_ip, ct.ts) = p.id AS from_pod, ct.ts >= a.ts AS after_alert
FROM correlate.event a
JOIN correlate.resource c ON c.uid = correlate.container_uid(a.raw #>> '{output_fields,container.id}')
JOIN correlate.relationship pc ON pc.dst = c.id AND pc.kind = 'contains'
JOIN correlate.resource p ON p.id = pc.src AND p.kind = 'k8s:pod'
JOIN correlate.relationship ra ON ra.src = p.id AND ra.kind = 'runs_as'
JOIN correlate.resource sa ON sa.id = ra.dst
JOIN correlate.relationship asm ON asm.src = sa.id AND asm.kind = 'assumes'
JOIN correlate.resource role ON role.id = asm.dst AND role.kind = 'aws:iam:role'
JOIN correlate.event ct ON ct.source = 'cloudtrail' AND (ct.actor = role.id OR ct.target = role.id)
WHERE a.source = 'falco' AND a.rule = 'Terminal shell in container'
ORDER BY ct.ts;

-- The same pod from the outside in: internet -> load balancer Service -> pod, the image's
-- critical CVE, the pod's misconfigurations, and what the network saw it do.
SELECT s.uid AS src, r.kind, d.uid AS dst, r.props
FROM correlate.relationship r
JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst
WHERE r.kind IN ('exposes', 'runs_as', 'assumes', 'uses_image', 'contains')
ORDER BY 1, 2, 3;
SELECT r.uid, f.check_id, f.severity, f.cvss, f.fixed_version
FROM correlate.finding f JOIN correlate.resource r ON r.id = f.resource
WHERE r.kind IN ('container:image', 'k8s:pod') ORDER BY 1, 2;
SELECT e.ts, e.source, e.rule, host(e.src_ip) AS src, host(e.dst_ip) AS dst, e.dst_port,
	   act.uid AS actor, tgt.uid AS target
FROM correlate.event e
LEFT JOIN correlate.resource act ON act.id = e.actor
LEFT JOIN correlate.resource tgt ON tgt.id = e.target
WHERE e.source IN ('vpc_flow', 'falco') ORDER BY e.ts, e.source, e.dst_port;

-- 2. The same walk on real public samples, as far as they go.  No public sample set carries
-- every domain with matching identifiers; these are the chains the samples do support.
SET client_min_messages = warning;
TRUNCATE correlate.resource CASCADE;
RESET client_min_messages;
SET correlate.default_cluster = 'minikube';
-- kubescape's kube-apiserver pod: its container (by runtime id) -> pod -> node and account.
\set x `cat test/data/k8s-inventory/kubescape-regolibrary/kube-apiserver-pod.json`
SELECT rejected FROM correlate.ingest('k8s_inventory', :'x');
SELECT c.uid AS container, p.uid AS pod, n.uid AS node, rn.likelihood AS escape_likelihood,
	   rn.props AS escape, sa.uid AS service_account, i.uid AS image
FROM correlate.resource c
JOIN correlate.relationship pc ON pc.dst = c.id AND pc.kind = 'contains'
JOIN correlate.resource p ON p.id = pc.src
JOIN correlate.relationship rn ON rn.src = p.id AND rn.kind = 'runs_on'
JOIN correlate.resource n ON n.id = rn.dst
JOIN correlate.relationship ra ON ra.src = p.id AND ra.kind = 'runs_as'
JOIN correlate.resource sa ON sa.id = ra.dst
JOIN correlate.relationship ui ON ui.src = c.id AND ui.kind = 'uses_image'
JOIN correlate.resource i ON i.id = ui.dst
WHERE c.uid = correlate.container_uid('docker://7c847bcf7066b9196422b017f52d6c6a83c9234e363b40a96786385e579198ba');

-- KubeHound's test cluster (pods, bindings, roles, endpoint slices as separate files, one payload):
-- Service -> pod -> service account -> the RBAC rules it holds.
SET correlate.default_cluster = 'test-cluster';
\set x `cat test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/*.json test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/namespace-1/*.json`
SELECT rejected FROM correlate.ingest('k8s_inventory', :'x');
SELECT svc.uid AS service, p.uid AS pod, sa.uid AS service_account, role.uid AS role,
	   jsonb_path_query_array(ca.props, '$.rules[*].resources[*]') AS can_access_resources
FROM correlate.resource svc
JOIN correlate.relationship e ON e.src = svc.id AND e.kind = 'exposes'
JOIN correlate.resource p ON p.id = e.dst AND p.kind = 'k8s:pod'
JOIN correlate.relationship ra ON ra.src = p.id AND ra.kind = 'runs_as'
JOIN correlate.resource sa ON sa.id = ra.dst
JOIN correlate.relationship ca ON ca.src = sa.id AND ca.kind = 'can_access'
JOIN correlate.resource role ON role.id = ca.dst
WHERE svc.kind = 'k8s:service'
ORDER BY 1, 2, 4;
\unset x
