\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Kubernetes audit log (audit.k8s.io/v1 Events) into API Activity on cluster objects
-- (docs/formats/k8s_audit.md).
SET timezone = 'UTC';
SET correlate.default_cluster = 'minikube';
CREATE TEMP VIEW ev AS
SELECT e.ts, e.activity_id, e.domain, e.severity_id, e.action, e.outcome, host(e.src_ip) AS src_ip,
	   e.command_line, a.uid AS actor, t.uid AS target, e.uid AS audit_id
FROM correlate.event e
LEFT JOIN correlate.resource a ON a.id = e.actor
LEFT JOIN correlate.resource t ON t.id = e.target
WHERE e.source = 'k8s_audit';

-- 1. Every shared sample (one Event per file, and a pretty-printed EKS Event) ingests with no reject.
\set d `pwd`
CREATE TEMP TABLE samples (f text);
\copy samples FROM PROGRAM 'cd test/data && ls k8s-audit/*/*.json'
SELECT s.f, i.*
FROM samples s, correlate.ingest_file('k8s_audit', :'d' || '/test/data/' || s.f) i
ORDER BY s.f;
SELECT count(*) AS rejects FROM correlate.ingest_reject;
SELECT ts, action, activity_id, severity_id, outcome, src_ip, actor, target FROM ev ORDER BY ts, audit_id;

-- 2. Exec/attach and RBAC changes become edges.
SELECT s.uid AS src, r.kind, d.uid AS dst, r.props
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst
ORDER BY 1, 2, 3;

-- 3. One record per line, as the API server writes it, and an EventList; stages of one
-- request are one event.
SELECT * FROM correlate.ingest('k8s_audit', $a$
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-1","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/legacy-webapp/pods/webapp-7d4b9c6f5-x2x9k/exec?command=sh&container=webapp&stdin=true&tty=true","verb":"create","user":{"username":"alice@example.com","groups":["system:authenticated"]},"sourceIPs":["203.0.113.9"],"objectRef":{"resource":"pods","namespace":"legacy-webapp","name":"webapp-7d4b9c6f5-x2x9k","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-11-20T09:59:00.000000Z","stageTimestamp":"2026-11-20T09:59:00.100000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/legacy-webapp/pods/webapp-7d4b9c6f5-x2x9k/exec?command=sh&container=webapp&stdin=true&tty=true","verb":"create","user":{"username":"alice@example.com","groups":["system:authenticated"]},"sourceIPs":["203.0.113.9"],"objectRef":{"resource":"pods","namespace":"legacy-webapp","name":"webapp-7d4b9c6f5-x2x9k","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-11-20T09:59:00.000000Z","stageTimestamp":"2026-11-20T09:59:30.000000Z"}
{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Event","auditID":"a-2","stage":"ResponseComplete","verb":"create","user":{"username":"system:serviceaccount:legacy-webapp:webapp-sa"},"sourceIPs":["10.0.1.57"],"objectRef":{"resource":"rolebindings","namespace":"legacy-webapp","name":"sa-admin","apiGroup":"rbac.authorization.k8s.io"},"requestObject":{"kind":"RoleBinding","metadata":{"name":"sa-admin","namespace":"legacy-webapp"},"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"ServiceAccount","name":"webapp-sa","namespace":"legacy-webapp"},{"kind":"Group","name":"devs"}]},"responseStatus":{"code":201},"requestReceivedTimestamp":"2026-11-20T10:03:00Z"},{"kind":"Event","auditID":"a-3","stage":"ResponseComplete","verb":"get","user":{"username":"system:serviceaccount:legacy-webapp:webapp-sa"},"objectRef":{"resource":"secrets","namespace":"kube-system","name":"admin-token"},"responseStatus":{"code":403,"reason":"Forbidden"},"requestReceivedTimestamp":"2026-11-20T10:03:30Z"}]}
$a$);
SELECT ts, action, severity_id, domain, outcome, command_line, actor, target FROM ev WHERE audit_id LIKE 'a-%' ORDER BY ts;
SELECT s.uid AS src, r.kind, d.uid AS dst, r.props
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst
WHERE s.cluster = 'minikube' AND (d.uid LIKE '%legacy-webapp%' OR d.uid LIKE '%cluster-admin%') ORDER BY 1, 2, 3;

-- 4. Malformed records.
SELECT * FROM correlate.ingest('k8s_audit', '{"kind":"Event","verb":"get","requestReceivedTimestamp":"2026-11-20T10:00:00Z"}');
SELECT * FROM correlate.ingest('k8s_audit', '{"kind":"Event","verb":"get","auditID":"x","requestReceivedTimestamp":"noon"}
{"kind":"Pod","metadata":{"name":"p"}}
{"kind":"Event","verb":["get"],"auditID":"y","requestReceivedTimestamp":"2026-11-20T10:00:00Z"}', 'skip');
SELECT recno, reason FROM correlate.ingest_reject ORDER BY recno;
