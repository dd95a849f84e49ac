-- correlate demo: the seed scenario (test/data/seed/README.md), loaded from real-format
-- telemetry through correlate.ingest, then every answer correlate gives about it.
--
-- A privileged, internet-facing pod in namespace legacy-webapp runs an image with an
-- exploited CVE; Falco sees a root shell and outbound connections; the pod's IRSA role,
-- allowed far more than it uses, lists buckets and reads a sensitive one.
\pset footer off
\pset null '-'
SET TIME ZONE 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

\echo '== 1. Ingest: six real-format files (kubectl, Trivy, IAM, VPC flow logs, Falco, CloudTrail)'
\i test/data/seed/load.sql
\echo '   ...and evaluate the IAM policies into graph edges'
SELECT statements, edges_written AS permission_edges FROM (
	SELECT (r).* FROM (SELECT correlate.refresh_policies() AS r) x) y(policies, statements, edges_written, problems);
\echo '   ...and derive the attack graph: edges are attack techniques whose preconditions hold in the facts'
SELECT * FROM correlate.derive_attack_edges();
SELECT a.technique, a.attack_id, s.name AS src, d.name AS dst, a.likelihood, a.because
FROM correlate.attack_edge a JOIN correlate.resource s ON s.id = a.src JOIN correlate.resource d ON d.id = a.dst
ORDER BY a.technique, s.name, d.name;

\echo
\echo '== 2. What correlate now knows, by domain'
SELECT domain, count(*) AS resources, string_agg(DISTINCT kind, ', ' ORDER BY kind) AS kinds
FROM correlate.resource GROUP BY domain ORDER BY domain;

\echo '== 3. The incident timeline across workload, network, identity and data (2026-11-20)'
SELECT to_char(e.ts, 'HH24:MI:SS') AS time, e.domain, e.source,
	   COALESCE(e.rule, e.action) AS what, COALESCE(a.name, host(e.src_ip)) AS actor,
	   COALESCE(t.name, host(e.dst_ip) || COALESCE(':' || e.dst_port, '')) AS target
FROM correlate.event e
LEFT JOIN correlate.resource a ON a.id = e.actor
LEFT JOIN correlate.resource t ON t.id = e.target
WHERE e.ts >= '2026-11-20' AND e.ts < '2026-11-21'
ORDER BY e.ts, e.source, e.id;

\echo '== 4. Cross-domain resolution: from the Falco alert to the role''s CloudTrail calls, in one join'
SELECT DISTINCT c.uid AS container, p.name AS pod, sa.name AS service_account, role.name AS iam_role,
	   count(ct.*) OVER (PARTITION BY role.id) AS cloudtrail_calls_by_role
FROM correlate.event a
JOIN correlate.resource c ON c.uid = correlate.container_uid(a.raw #>> '{output_fields,container.id}')
JOIN correlate.relationship pc ON pc.dst = c.id AND pc.kind = 'contains'
JOIN correlate.resource p ON p.id = pc.src AND p.kind = 'k8s:pod'
JOIN correlate.relationship ra ON ra.src = p.id AND ra.kind = 'runs_as'
JOIN correlate.resource sa ON sa.id = ra.dst
JOIN correlate.relationship asm ON asm.src = sa.id AND asm.kind = 'assumes'
JOIN correlate.resource role ON role.id = asm.dst
JOIN correlate.event ct ON ct.source = 'cloudtrail' AND ct.actor = role.id
WHERE a.source = 'falco' AND a.rule = 'Terminal shell in container';

\echo '== 5. Attack paths from the internet to the crown jewels, most likely first: technique and evidence per hop'
SELECT p.path_rank AS rank, p.hop, r.name, a.technique, a.attack_id, p.likelihood,
	   round(p.path_likelihood::numeric, 3) AS path_likelihood, a.because
FROM correlate.attack_paths() p
JOIN correlate.resource r ON r.id = p.resource_id
LEFT JOIN correlate.attack_edge a ON a.id = p.relationship_id
ORDER BY p.path_rank, p.hop;
\echo '   The attacker''s own inbound flow is evidence on the entry edge (above: observed), not a path: without the CVE there is none'
SELECT count(*) AS paths_if_patched
FROM correlate.attack_paths(what_if => jsonb_build_object('patch', (SELECT jsonb_agg(f.id) FROM correlate.finding f
																	  WHERE f.check_id = 'CVE-2021-44228')));

\echo '== 6. Where the paths converge (chokepoints) and the smallest set of edges that cuts them all'
SELECT COALESCE(r.name, s.name || ' -' || a.technique || '-> ' || d.name) AS chokepoint, c.paths_through,
	   round(c.likelihood_share::numeric, 3) AS likelihood_share
FROM correlate.chokepoints() c
LEFT JOIN correlate.resource r ON r.id = c.resource_id
LEFT JOIN correlate.attack_edge a ON a.id = c.relationship_id
LEFT JOIN correlate.resource s ON s.id = a.src LEFT JOIN correlate.resource d ON d.id = a.dst
ORDER BY c.paths_through DESC, c.likelihood_share DESC, 1;
SELECT s.name AS src, a.technique, d.name AS dst, m.cost
FROM correlate.min_cut() m
JOIN correlate.attack_edge a ON a.id = m.relationship_id
JOIN correlate.resource s ON s.id = m.src JOIN correlate.resource d ON d.id = m.dst
ORDER BY 1, 2, 3;

\echo '== 7. Blast radius of the compromised pod'
SELECT r.domain, r.kind, r.name, b.hops, round(b.likelihood::numeric, 3) AS likelihood, v.name AS via
FROM correlate.blast_radius(ARRAY[correlate.resource_id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k')]) b
JOIN correlate.resource r ON r.id = b.resource_id LEFT JOIN correlate.resource v ON v.id = b.via
ORDER BY b.hops, b.likelihood DESC, r.name;

\echo '== 8. Who can read the exported customer file, and why'
SELECT w.principal_uid, w.decision, w.via, w.policy, w.sid
FROM correlate.who_can('s3:GetObject', 'arn:aws:s3:::acme-customer-pii/exports/customers-2026-11.csv') w
ORDER BY 1;

\echo '== 9. The role: granted versus used before the incident (basis for least privilege)'
SELECT u.action, u.used, u.granted, u.pattern
FROM correlate.permission_usage('arn:aws:iam::111122223333:role/legacy-webapp-role', '2026-11-01', '2026-11-20') u
ORDER BY u.used DESC, u.action;

\echo '== 10. Findings on the path'
SELECT r.name AS resource, f.kind, f.check_id, f.severity, f.cvss, f.known_exploited, f.fixed_version
FROM correlate.finding f JOIN correlate.resource r ON r.id = f.resource
ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, f.check_id, r.name;

\echo '== 11. Correlation rules turn the events into one incident (run twice: nothing is duplicated)'
SELECT rule, created, events FROM correlate.correlate() ORDER BY incident_id;
SELECT rule, created, events FROM correlate.correlate() ORDER BY incident_id;
SELECT i.title, i.severity, to_char(i.first_ts, 'HH24:MI:SS') AS first, to_char(i.last_ts, 'HH24:MI:SS') AS last,
	   (SELECT count(*) FROM correlate.incident_event ie WHERE ie.incident = i.id) AS events
FROM correlate.incident i ORDER BY i.id;

\echo '== 12. The incident timeline: workload -> network -> identity -> data'
SELECT to_char(tl.ts, 'HH24:MI:SS') AS time, tl.domain, tl.class, tl.actor, tl.target, tl.summary
FROM correlate.incident i, correlate.incident_timeline(i.id) tl
WHERE i.rule = 'workload-compromise-to-data-access';

\echo '== 13. Risk scores (as of the next day), highest first'
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT r.name, r.kind, s.score, string_agg(x->>'factor' || ' ' || (x->>'weight'), ', ' ORDER BY o) AS reasons
FROM correlate.risk_score s JOIN correlate.resource r ON r.id = s.resource_id,
	 jsonb_array_elements(s.reasons) WITH ORDINALITY AS y(x, o)
WHERE s.score >= 30
GROUP BY r.name, r.kind, s.score ORDER BY s.score DESC, r.name;

\echo '== 14. Why the pod scores what it does'
SELECT factor, weight, detail
FROM correlate.explain_risk(correlate.resource_id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'));

\echo '== 15. Toxic combinations'
SELECT c.rule, c.severity, r.name AS resource, string_agg(x->>'factor', ' + ' ORDER BY x->>'factor') AS factors
FROM correlate.toxic_combination c JOIN correlate.resource r ON r.id = c.resource_id,
	 jsonb_array_elements(c.reasons) x
GROUP BY c.rule, c.severity, r.name
ORDER BY CASE c.severity WHEN 'critical' THEN 0 ELSE 1 END, c.rule, r.name;

\echo '== 16. Containment: a NetworkPolicy for legacy-webapp from observed, non-incident traffic'
SELECT direction, COALESCE(host(peer_ip), '-') AS peer, port, protocol, legitimate, reason
FROM correlate.observed_flows('legacy-webapp');
-- (the policy's annotation lists the same exclusions; left out here to keep the page narrow)
SELECT jsonb_pretty(correlate.network_policy('legacy-webapp') #- '{metadata,annotations}') AS network_policy;

\echo '== 17. Least privilege: the role''s policy from what it legitimately used'
SELECT jsonb_pretty(correlate.least_privilege_policy(
	correlate.resource_id('arn:aws:iam::111122223333:role/legacy-webapp-role'))) AS iam_policy;

\echo '== 18. The ranked fix plan: attack paths removed, then risk taken away'
SELECT rank, kind, target, paths_removed || '/' || paths_total AS paths, risk_reduction AS risk_cut, effort,
	   artifact IS NOT NULL AS has_artifact
FROM correlate.fix_plan(k => 12);

\echo '== 19. Pictures and the incident report, written to files by psql (client side) into demo-output/'
\! mkdir -p demo-output
SELECT correlate.attack_graph_svg() \g (format=unaligned tuples_only=on) demo-output/attack-paths.svg
SELECT correlate.incident_graph_svg(i.id) FROM correlate.incident i
WHERE i.rule = 'workload-compromise-to-data-access' \g (format=unaligned tuples_only=on) demo-output/incident-graph.svg
SELECT correlate.incident_report(i.id) FROM correlate.incident i
WHERE i.rule = 'workload-compromise-to-data-access' \g (format=unaligned tuples_only=on) demo-output/incident-report.html
SELECT correlate.network_policy_yaml('legacy-webapp') \g (format=unaligned tuples_only=on) demo-output/networkpolicy-legacy-webapp.yaml
SELECT 'demo-output/' || f AS file, what,
	   (SELECT count(*) FROM regexp_matches(x, 'class="cg-node"', 'g')) AS resources_drawn
FROM (VALUES ('attack-paths.svg', 'the attack paths, minimum cut dashed', correlate.attack_graph_svg()),
			 ('incident-graph.svg', 'the incident''s resources and the paths around them',
			  (SELECT correlate.incident_graph_svg(i.id) FROM correlate.incident i WHERE i.rule = 'workload-compromise-to-data-access')),
			 ('incident-report.html', 'the incident report page (open it in a browser)',
			  (SELECT correlate.incident_report(i.id) FROM correlate.incident i WHERE i.rule = 'workload-compromise-to-data-access')),
			 ('networkpolicy-legacy-webapp.yaml', 'the NetworkPolicy, for kubectl apply -f', '')) v(f, what, x)
ORDER BY 1;
