\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Falco alerts (json_output) into events and the workload they name (docs/formats/falco.md).
SET timezone = 'UTC';
CREATE TEMP VIEW ev AS
SELECT e.ts, e.class_uid, e.activity_id, e.severity_id, e.rule, e.action, e.process, e.command_line,
	   host(e.dst_ip) AS dst_ip, e.dst_port, a.uid AS actor, t.uid AS target
FROM correlate.event e
LEFT JOIN correlate.resource a ON a.id = e.actor
LEFT JOIN correlate.resource t ON t.id = e.target
WHERE e.source = 'falco';
CREATE TEMP VIEW edges AS
SELECT s.uid AS src, r.kind, d.uid AS dst, r.props
FROM correlate.relationship r JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst;

-- 1. Every shared sample ingests with no reject; the blog file repeats one alert, stored once.
\set d `pwd`
SELECT 'single_rule_with_cat_write' AS sample, * FROM correlate.ingest_file('falco', :'d' || '/test/data/falco/falco-tests/single_rule_with_cat_write.json');
SELECT 'blog-and-docs-alerts' AS sample, * FROM correlate.ingest_file('falco', :'d' || '/test/data/falco/falco-website/blog-and-docs-alerts.jsonl');
SELECT 'ocsf falco.raw' AS sample, * FROM correlate.ingest_file('falco', :'d' || '/test/data/ocsf/ocsf-examples/falco.raw.json');
SELECT count(*) AS rejects FROM correlate.ingest_reject;

-- Class by what was observed: files, processes, connections, Kubernetes API calls, bare detections.
SELECT class_uid, severity_id, rule, count(*) FROM ev GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT ts, rule, process, command_line, dst_ip, dst_port, actor, target FROM ev
WHERE class_uid IN (1007, 4001) ORDER BY ts, actor;
SELECT ts, rule, action, command_line, actor, target FROM ev WHERE class_uid = 6003 ORDER BY ts;

-- 2. Workload graph: pod contains container, pod runs_on node, namespace contains pod, image.
SELECT * FROM edges ORDER BY kind, src, dst;

-- 3. A walk across two Falco sources on real data: the Kubernetes user who exec'd into pod
-- "kubecon" (k8s_audit alert) and the shell that a container of that pod then ran (syscall alert).
SELECT u.uid AS user_uid, p.uid AS pod, c.uid AS container, e.rule, e.command_line
FROM correlate.relationship x
JOIN correlate.resource u ON u.id = x.src
JOIN correlate.resource p ON p.id = x.dst
JOIN correlate.relationship pc ON pc.src = p.id AND pc.kind = 'contains'
JOIN correlate.resource c ON c.id = pc.dst AND c.kind = 'container'
JOIN correlate.event e ON e.actor = c.id
WHERE x.kind = 'can_exec' AND p.name = 'kubecon'
ORDER BY e.ts;

-- 4. The seed scenario's alerts: a shell in the webapp container, then two outbound connections.
SET correlate.default_cluster = 'prod-eks';
SELECT correlate.record_ip_lease('10.0.1.57', correlate.upsert_resource(correlate.k8s_uid('prod-eks', 'legacy-webapp', 'Pod', 'webapp-7d4b9c6f5-x2x9k'), 'k8s:pod'), '2026-11-01 00:00+00') > 0 AS leased;
SELECT * FROM correlate.ingest('falco', $f$
{"hostname":"ip-10-0-1-23.ec2.internal","output":"10:00:00.000000000: Notice A shell was spawned in a container with an attached terminal (user=root ...)","priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["container","mitre_execution","shell"],"time":"2026-11-20T10:00:00.000000000Z","output_fields":{"container.id":"8c2f1e7a9b3d","container.image.repository":"registry.example.com/legacy/webapp","container.image.tag":"1.4.2","container.name":"webapp","evt.time":1795168800000000000,"k8s.ns.name":"legacy-webapp","k8s.pod.name":"webapp-7d4b9c6f5-x2x9k","proc.cmdline":"bash","proc.name":"bash","proc.pname":"java","user.name":"root"}}
{"hostname":"ip-10-0-1-23.ec2.internal","output":"10:02:10.000000000: Notice Disallowed outbound connection destination (...)","priority":"Notice","rule":"Unexpected outbound connection destination","source":"syscall","tags":["container","network"],"time":"2026-11-20T10:02:10.000000000Z","output_fields":{"container.id":"8c2f1e7a9b3d","evt.type":"connect","fd.name":"10.0.1.57:41234->203.0.113.50:443","fd.sip":"203.0.113.50","fd.sport":443,"k8s.ns.name":"legacy-webapp","k8s.pod.name":"webapp-7d4b9c6f5-x2x9k","proc.cmdline":"java -jar app.jar","proc.name":"java"}}
{"hostname":"ip-10-0-1-23.ec2.internal","output":"10:02:40.000000000: Notice Disallowed outbound connection destination (...)","priority":"Notice","rule":"Unexpected outbound connection destination","source":"syscall","tags":["container","network"],"time":"2026-11-20T10:02:40.000000000Z","output_fields":{"container.id":"8c2f1e7a9b3d","evt.type":"connect","fd.name":"10.0.1.57:41240->198.51.100.7:4444","fd.sip":"198.51.100.7","fd.sport":4444,"k8s.ns.name":"legacy-webapp","k8s.pod.name":"webapp-7d4b9c6f5-x2x9k","proc.cmdline":"bash -i","proc.name":"bash"}}
$f$);
SELECT ts, class_uid, rule, process, dst_ip, dst_port, actor, target FROM ev WHERE actor = 'container://8c2f1e7a9b3d' ORDER BY ts;
SELECT * FROM edges WHERE src LIKE '%8c2f1e7a9b3d%' OR src LIKE '%webapp-7d4b9c6f5%' ORDER BY kind, src, dst;

-- Ingesting the alerts again changes nothing (flow counts included).
SELECT * FROM correlate.ingest_file('falco', :'d' || '/test/data/falco/falco-website/blog-and-docs-alerts.jsonl');
SELECT props FROM edges WHERE kind = 'connects_to' AND src = 'container://8c2f1e7a9b3d';

-- 5. Malformed alerts.
SELECT * FROM correlate.ingest('falco', '{"priority":"Notice","time":"2026-11-20T10:00:00Z"}');
SELECT * FROM correlate.ingest('falco', '{"rule":"r","priority":"Notice"}
{"rule":"r","time":"2026-11-20T10:00:00Z","output_fields":[1]}
{"rule":"r","time":"2026-11-20T10:00:00Z","output_fields":{"container.id":"not-hex","proc.cmdline":"sh"}}', 'skip');
SELECT recno, reason FROM correlate.ingest_reject ORDER BY recno;
