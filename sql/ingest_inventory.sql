\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- k8s_inventory: `kubectl get ... -o json` into resources, edges, findings, IP leases.
SET correlate.default_cluster = 'test';
SET timezone = 'UTC';

CREATE TEMP VIEW edges AS
SELECT s.uid AS src, r.kind, d.uid AS dst, r.likelihood, r.props
FROM correlate.relationship r
JOIN correlate.resource s ON s.id = r.src
JOIN correlate.resource d ON d.id = r.dst;

CREATE TEMP VIEW findings AS
SELECT r.uid, f.kind, f.check_id, f.severity, f.props
FROM correlate.finding f JOIN correlate.resource r ON r.id = f.resource;

-- 1. Every real sample ingests with no reject (default on_error => 'error' raises on any).
\set f `cat test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/*.json test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/namespace-1/*.json test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/namespace-2/*.json`
SELECT 'kubehound collector' AS sample, rejected FROM correlate.ingest('k8s_inventory', :'f');
\set f `cat test/data/k8s-inventory/kubehound-converter-testdata/*.json`
SELECT 'kubehound converter' AS sample, rejected FROM correlate.ingest('k8s_inventory', :'f');
\set f `cat test/data/k8s-inventory/kubescape-regolibrary/kube-apiserver-pod.json`
SELECT 'kube-apiserver pod' AS sample, rejected FROM correlate.ingest('k8s_inventory', :'f');
\set f `cat test/data/k8s-inventory/kubescape-regolibrary/serviceaccount-list.json`
SELECT 'serviceaccount list' AS sample, rejected FROM correlate.ingest('k8s_inventory', :'f');
\set f `cat test/data/k8s-inventory/kubescape-regolibrary/clusterrolebinding-default-sa.json`
SELECT 'clusterrolebinding' AS sample, rejected FROM correlate.ingest('k8s_inventory', :'f');

SELECT uid, kind, name, namespace, cluster, region FROM correlate.resource ORDER BY uid;
SELECT src, kind, dst, likelihood FROM edges ORDER BY src, kind, dst;
SELECT uid, kind, check_id, severity, props FROM findings ORDER BY uid, check_id;
SELECT l.ip, r.uid, lower(l.valid) AS since, upper(l.valid) AS until
FROM correlate.ip_lease l JOIN correlate.resource r ON r.id = l.resource ORDER BY l.ip;

-- The ClusterRoleBinding that names a Role is refused by the API server; it is kept, with no edge.
SELECT uid, props->'invalid_role_ref' AS invalid_role_ref FROM correlate.resource
WHERE props ? 'invalid_role_ref' ORDER BY uid;
-- A RoleBinding grants its role's rules, kept on the edge.
SELECT src, dst, props FROM edges WHERE kind = 'can_access' ORDER BY src, dst;
-- Image and container of the kube-apiserver pod, by digest and runtime id.
SELECT src, kind, dst FROM edges WHERE src LIKE 'container://%' OR dst LIKE 'container://%' ORDER BY 1, 2, 3;

-- Ingesting the same input again changes nothing.
SELECT count(*) AS resources, (SELECT count(*) FROM correlate.relationship) AS relationships,
	   (SELECT count(*) FROM correlate.finding) AS findings, (SELECT count(*) FROM correlate.ip_lease) AS leases
FROM correlate.resource;
\set f `cat test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/*.json test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/namespace-1/*.json test/data/k8s-inventory/kubehound-collector-testdata/test-cluster/namespace-2/*.json test/data/k8s-inventory/kubescape-regolibrary/kube-apiserver-pod.json`
SELECT rejected FROM correlate.ingest('k8s_inventory', :'f');
SELECT count(*) AS resources, (SELECT count(*) FROM correlate.relationship) AS relationships,
	   (SELECT count(*) FROM correlate.finding) AS findings, (SELECT count(*) FROM correlate.ip_lease) AS leases
FROM correlate.resource;

-- correlate.ingest_file reads the same from a server-side file.
\set p `pwd`/test/data/k8s-inventory/kubescape-regolibrary/kube-apiserver-pod.json
SELECT rejected FROM correlate.ingest_file('k8s_inventory', :'p');

-- 2. A whole namespace in one List: selectors, load balancers, ingress, IRSA, RBAC, secrets.
SET client_min_messages = warning;
TRUNCATE correlate.resource CASCADE;
RESET client_min_messages;
SELECT rejected FROM correlate.ingest('k8s_inventory', $json$
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-5d8f7c-abcde", "namespace": "shop",
   "labels": {"app": "web", "tier": "front", "pod-template-hash": "5d8f7c"},
   "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d8f7c", "controller": true}]},
  "spec": {"nodeName": "node-a", "serviceAccountName": "web", "automountServiceAccountToken": false,
   "hostPID": true,
   "securityContext": {"runAsUser": 0},
   "containers": [{"name": "app", "image": "nginx:1.25",
      "securityContext": {"allowPrivilegeEscalation": true, "capabilities": {"add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}},
      "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]},
     {"name": "sidecar", "image": "busybox", "securityContext": {"runAsUser": 1000},
      "envFrom": [{"secretRef": {"name": "api-keys"}}]}],
   "volumes": [{"name": "tls", "secret": {"secretName": "web-tls"}},
     {"name": "docker", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}]},
  "status": {"phase": "Running", "startTime": "2026-01-02T03:04:05.123456Z", "podIP": "10.8.0.12",
   "podIPs": [{"ip": "10.8.0.12"}, {"ip": "fd00::12"}],
   "containerStatuses": [{"name": "app", "image": "nginx:1.25", "containerID": "docker://0123456789ABCDEF0123",
      "imageID": "docker-pullable://nginx@sha256:AAAA0000bbbb1111cccc2222dddd3333eeee4444ffff5555aaaa6666bbbb7777",
      "state": {"running": {"startedAt": "2026-01-02T03:04:09Z"}}},
     {"name": "sidecar", "image": "busybox:latest", "containerID": "", "imageID": ""}]}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-5d8f7c-zzzzz", "namespace": "shop",
   "labels": {"app": "web", "tier": "back"}},
  "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
  "status": {"phase": "Succeeded", "startTime": "2026-01-01T00:00:00Z", "podIP": "10.8.0.13",
   "containerStatuses": [{"name": "app", "state": {"terminated": {"finishedAt": "2026-01-01T06:00:00Z"}}}]}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other-ns-web", "namespace": "other", "labels": {"app": "web", "tier": "front"}},
  "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}},
 {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": "2025-12-01T00:00:00Z"},
  "spec": {"type": "LoadBalancer", "selector": {"app": "web", "tier": "front"}, "clusterIP": "172.20.0.10",
   "ports": [{"port": 443, "targetPort": 8443, "nodePort": 30443}]},
  "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.20"}, {"hostname": "web.example.net"}]}}},
 {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "internal", "namespace": "shop",
   "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}},
  "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "clusterIP": "None"}},
 {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nodeport", "namespace": "shop"},
  "spec": {"type": "NodePort", "selector": {"app": "nothing-matches"}, "ports": [{"port": 80, "nodePort": 30080}]}},
 {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "manual", "namespace": "shop"},
  "spec": {"selector": {}, "ports": [{"port": 5432}]}},
 {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop", "namespace": "shop"},
  "spec": {"ingressClassName": "alb", "defaultBackend": {"service": {"name": "web", "port": {"number": 443}}},
   "rules": [{"host": "shop.example.com", "http": {"paths": [{"path": "/api", "pathType": "Prefix",
      "backend": {"service": {"name": "api", "port": {"number": 80}}}}]}}]}},
 {"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "private", "namespace": "shop",
   "annotations": {"alb.ingress.kubernetes.io/scheme": "internal"}},
  "spec": {"backend": {"serviceName": "internal", "servicePort": 80}}},
 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "shop",
   "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/app/web-role",
                   "kubectl.kubernetes.io/last-applied-configuration": "{\"secret\": \"not kept\"}"}},
  "automountServiceAccountToken": false, "secrets": [{"name": "web-token-abcde"}]},
 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bad-irsa", "namespace": "shop",
   "annotations": {"eks.amazonaws.com/role-arn": "not-an-arn"}}},
 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "web-admin", "namespace": "shop"},
  "roleRef": {"kind": "ClusterRole", "name": "admin"},
  "subjects": [{"kind": "ServiceAccount", "name": "web"},
   {"kind": "User", "name": "https://issuer.example.com/#alice%40example.com"},
   {"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"}]},
 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "admin"},
  "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
 {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "type": "Opaque",
  "data": {"password": "c2VjcmV0", "username": "YWRtaW4="}},
 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"}, "data": {"a": "1"}},
 {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny-all", "namespace": "shop"},
  "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
 {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "creationTimestamp": "2025-11-30T00:00:00Z"},
  "spec": {"providerID": "aws:///eu-west-3b/i-0123456789abcdef0"},
  "status": {"addresses": [{"type": "InternalIP", "address": "10.8.0.2"}, {"type": "ExternalIP", "address": "203.0.113.9"},
   {"type": "Hostname", "address": "node-a"}]}},
 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop",
   "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}, "status": {"phase": "Active"}},
 {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "backup", "namespace": "shop"},
  "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {"hostNetwork": true,
   "containers": [{"name": "b", "image": "backup:2", "securityContext": {"privileged": true}}]}}}}}},
 {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "shop"}},
 {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "legacy", "namespace": "shop"},
  "subsets": [{"addresses": [{"ip": "10.8.0.99", "targetRef": {"kind": "Pod", "name": "legacy-0"}}],
   "ports": [{"port": 9000}]}]}
]}
$json$);

SELECT uid, kind, name, namespace, region FROM correlate.resource ORDER BY uid;
SELECT src, kind, dst, likelihood, props FROM edges ORDER BY src, kind, dst;
SELECT uid, check_id, severity, props FROM findings ORDER BY uid, check_id;
SELECT l.ip, r.uid, l.valid FROM correlate.ip_lease l JOIN correlate.resource r ON r.id = l.resource ORDER BY l.ip;
-- Secrets keep their key names, never their values; kubectl's last-applied copy is dropped.
SELECT uid, props FROM correlate.resource
WHERE kind IN ('k8s:secret', 'k8s:serviceaccount', 'k8s:configmap', 'k8s:object', 'k8s:namespace') ORDER BY uid;

-- 3. Several documents in one payload (the per-kind files of a dump, concatenated), and a bare array.
SET client_min_messages = warning;
TRUNCATE correlate.resource CASCADE;
RESET client_min_messages;
SELECT rejected FROM correlate.ingest('k8s_inventory', $json$
{"kind": "Service", "apiVersion": "v1", "metadata": {"name": "s", "namespace": "n"}, "spec": {"selector": {"app": "x"}}}
{"kind": "List", "apiVersion": "v1", "items": [{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "namespace": "n", "labels": {"app": "x"}}, "spec": {}}]}
[{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "q", "namespace": "n", "labels": {"app": "x"}}, "spec": {}}]
$json$);
SELECT src, kind, dst FROM edges WHERE kind = 'exposes' ORDER BY 1, 3;

-- metadata.clusterName (pre-1.25 objects) names the cluster.
SELECT rejected FROM correlate.ingest('k8s_inventory',
  '{"kind": "Namespace", "metadata": {"name": "n", "clusterName": "east"}}');
SELECT uid, cluster FROM correlate.resource WHERE kind = 'k8s:namespace' ORDER BY uid;

-- 4. A huge label map (10,000 labels) and a selector over a thousand pods.
SET client_min_messages = warning;
TRUNCATE correlate.resource CASCADE;
RESET client_min_messages;
SELECT rejected FROM correlate.ingest('k8s_inventory',
  json_build_object('kind', 'Pod', 'metadata', json_build_object('name', 'many-labels', 'namespace', 'n',
	'labels', (SELECT json_object_agg('label-' || i, 'value-' || i) FROM generate_series(1, 10000) i)))::text);
SELECT (SELECT count(*) FROM jsonb_object_keys(labels)) AS labels FROM correlate.resource WHERE name = 'many-labels';
SELECT rejected FROM correlate.ingest('k8s_inventory',
  json_build_object('kind', 'List', 'items',
	(SELECT jsonb_agg(jsonb_build_object('kind', 'Pod', 'metadata',
		jsonb_build_object('name', 'p' || i, 'namespace', 'n', 'labels', jsonb_build_object('app', 'a' || (i % 10), 'n', i::text))))
		|| '[{"kind": "Service", "metadata": {"name": "s", "namespace": "n"}, "spec": {"selector": {"app": "a3"}}}]'::jsonb
	 FROM generate_series(1, 1000) i))::text);
SELECT count(*) AS exposed_pods FROM edges WHERE kind = 'exposes';

-- 5. Bad input: each bad object is one reject naming the reason; the good ones go in.
SET client_min_messages = warning;
TRUNCATE correlate.resource CASCADE;
RESET client_min_messages;
SELECT rejected FROM correlate.ingest('k8s_inventory', $json$
{"kind": "List", "items": [
 1,
 null,
 {"kind": "Pod", "metadata": {"name": "good", "namespace": "n"}},
 {"metadata": {"name": "no-kind"}},
 {"kind": "Pod"},
 {"kind": "Pod", "metadata": {"namespace": "n"}},
 {"kind": 7, "metadata": {"name": "kind-number"}},
 {"kind": "Pod", "metadata": {"name": 42, "namespace": "n"}},
 {"kind": "Pod", "metadata": {"name": "labels-array", "namespace": "n", "labels": ["a"]}},
 {"kind": "Pod", "metadata": {"name": "label-number", "namespace": "n", "labels": {"a": 1}}},
 {"kind": "Pod", "metadata": {"name": "a/b", "namespace": "n"}},
 {"kind": "Pod", "metadata": {"name": "bad-containers", "namespace": "n"}, "spec": {"containers": {"name": "x"}}},
 {"kind": "Pod", "metadata": {"name": "bad-container", "namespace": "n"}, "spec": {"containers": ["x"]}},
 {"kind": "Pod", "metadata": {"name": "nameless-container", "namespace": "n"}, "spec": {"containers": [{"image": "x"}]}},
 {"kind": "Pod", "metadata": {"name": "host-network-text", "namespace": "n"}, "spec": {"hostNetwork": "yes"}},
 {"kind": "Pod", "metadata": {"name": "bad-ip", "namespace": "n"}, "status": {"podIP": "10.0.0.300"}},
 {"kind": "Pod", "metadata": {"name": "bad-time", "namespace": "n", "creationTimestamp": "yesterday"}},
 {"kind": "Pod", "metadata": {"name": "bad-month", "namespace": "n", "creationTimestamp": "2026-13-01T00:00:00Z"}},
 {"kind": "Pod", "metadata": {"name": "bad-container-id", "namespace": "n"},
  "spec": {"containers": [{"name": "c", "image": "x"}]},
  "status": {"containerStatuses": [{"name": "c", "containerID": "containerd://xyz"}]}},
 {"kind": "Pod", "metadata": {"name": "bad-image", "namespace": "n"}, "spec": {"containers": [{"name": "c", "image": "bad image"}]}},
 {"kind": "Pod", "metadata": {"name": "nul\u0000name", "namespace": "n"}},
 {"kind": "Pod", "metadata": {"name": "nul-annotation", "namespace": "n", "annotations": {"a": "x\u0000y"}}},
 {"kind": "Pod", "metadata": {"name": "nan-port", "namespace": "n"}, "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": NaN}]}]}},
 {"kind": "Service", "metadata": {"name": "selector-list", "namespace": "n"}, "spec": {"selector": ["app"]}},
 {"kind": "Service", "metadata": {"name": "selector-number", "namespace": "n"}, "spec": {"selector": {"app": 5}}},
 {"kind": "Service", "metadata": {"name": "ports-text", "namespace": "n"}, "spec": {"ports": "80"}},
 {"kind": "RoleBinding", "metadata": {"name": "no-roleref", "namespace": "n"}, "subjects": []},
 {"kind": "RoleBinding", "metadata": {"name": "bad-subject", "namespace": "n"}, "roleRef": {"kind": "Role", "name": "r"},
  "subjects": [{"kind": "Robot", "name": "r2d2"}]},
 {"kind": "ClusterRoleBinding", "metadata": {"name": "sa-without-ns"}, "roleRef": {"kind": "ClusterRole", "name": "r"},
  "subjects": [{"kind": "ServiceAccount", "name": "x"}]},
 {"kind": "Node", "metadata": {"name": "n1"}, "status": {"addresses": [{"type": "InternalIP", "address": "nowhere"}]}},
 {"kind": "Pod", "metadata": {"name": "good-too", "namespace": "n"}}
]}
$json$, on_error => 'skip');
SELECT recno, reason FROM correlate.ingest_reject ORDER BY recno;
SELECT uid FROM correlate.resource ORDER BY uid;

-- Documents that are not inventory at all.
TRUNCATE correlate.ingest_reject;
SELECT rejected FROM correlate.ingest('k8s_inventory', 'not json', on_error => 'skip');
SELECT rejected FROM correlate.ingest('k8s_inventory', '{"kind": "Pod", "metadata": {"name": "p"', on_error => 'skip');
SELECT rejected FROM correlate.ingest('k8s_inventory', '42', on_error => 'skip');
SELECT rejected FROM correlate.ingest('k8s_inventory', '{"kind": "PodList", "items": [{"metadata": {"name": "p", "namespace": "n"}}]}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('k8s_inventory', '{"kind": "List", "items": 5}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('k8s_inventory', repeat('[', 10000) || repeat(']', 10000), on_error => 'skip');
SELECT rejected FROM correlate.ingest('k8s_inventory', '{"kind": "List", "items": [' || repeat('{"a":', 5000) || '1' || repeat('}', 5000) || ']}', on_error => 'skip');
SELECT recno, reason FROM correlate.ingest_reject ORDER BY id;

-- The default on_error => 'error' stops at the first bad object and rolls everything back.
SELECT * FROM correlate.ingest('k8s_inventory', '[{"kind": "Pod", "metadata": {"name": "fine", "namespace": "n"}}, {"kind": "Pod", "metadata": {"name": "x/y", "namespace": "n"}}]');
SELECT count(*) FROM correlate.resource WHERE name = 'fine';
SELECT rejected FROM correlate.ingest('k8s_inventory', '');
