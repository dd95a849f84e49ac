-- 90_remediation.sql: what to change, generated from what was observed.
--
--   network_policy()          a Kubernetes NetworkPolicy for a namespace: ingress only
--                             from in-cluster peers seen talking to it, egress only to
--                             destinations seen and DNS; traffic an incident or a
--                             detector flagged never counts as legitimate
--   least_privilege_policy()  an IAM policy allowing only the actions a role used
--                             legitimately (not in an incident, not failed)
--   fix_plan()                candidate fixes ranked by how many attack paths each
--                             removes, then by how much risk it takes away
--
-- Everything here reads; nothing is applied.  The artifacts are JSON documents to
-- review and apply with kubectl or the AWS API.

-- Pods of a namespace (in one cluster) and their containers.
CREATE FUNCTION correlate._namespace_members(namespace text, cluster text DEFAULT NULL)
RETURNS TABLE (member bigint, pod bigint, kind text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	clusters text[];
BEGIN
	IF _namespace_members.namespace IS NULL OR _namespace_members.namespace = '' THEN
		RAISE EXCEPTION 'namespace must not be NULL or empty' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	clusters := ARRAY(SELECT DISTINCT COALESCE(r.cluster, '') FROM correlate.resource r
					  WHERE r.tenant = t AND r.kind IN ('k8s:pod', 'k8s:namespace')
						AND (r.namespace = _namespace_members.namespace
							 OR (r.kind = 'k8s:namespace' AND r.name = _namespace_members.namespace))
						AND (_namespace_members.cluster IS NULL OR r.cluster = _namespace_members.cluster)
					  ORDER BY 1);
	IF cardinality(clusters) = 0 THEN
		RAISE EXCEPTION 'namespace "%" is not known%', _namespace_members.namespace,
			CASE WHEN _namespace_members.cluster IS NOT NULL THEN format(' in cluster "%s"', _namespace_members.cluster) ELSE '' END
			USING ERRCODE = 'undefined_object',
				  DETAIL = format('Tenant "%s" has no pod or namespace resource for it.', t),
				  HINT = 'Ingest the cluster''s inventory (format k8s_inventory) first.';
	ELSIF cardinality(clusters) > 1 THEN
		RAISE EXCEPTION 'namespace "%" exists in several clusters', _namespace_members.namespace
			USING ERRCODE = 'ambiguous_parameter',
				  DETAIL = format('Clusters: %s.', array_to_string(clusters, ', ')),
				  HINT = 'Pass the cluster argument.';
	END IF;
	RETURN QUERY
	WITH pods AS (
		SELECT r.id FROM correlate.resource r
		WHERE r.tenant = t AND r.kind = 'k8s:pod' AND r.namespace = _namespace_members.namespace
		  AND COALESCE(r.cluster, '') = clusters[1]
	)
	SELECT p.id, p.id, 'k8s:pod'::text FROM pods p
	UNION
	SELECT l.dst, p.id, 'container' FROM pods p
	JOIN correlate.relationship l ON l.tenant = t AND l.src = p.id AND l.kind = 'contains'
	JOIN correlate.resource c ON c.tenant = t AND c.id = l.dst AND c.kind = 'container'
	UNION
	SELECT l.src, p.id, 'container' FROM pods p
	JOIN correlate.relationship l ON l.tenant = t AND l.dst = p.id AND l.kind = 'runs_on'
	JOIN correlate.resource c ON c.tenant = t AND c.id = l.src AND c.kind = 'container';
END
$$;
COMMENT ON FUNCTION correlate._namespace_members(text, text) IS 'Internal: the pods of a namespace and their containers, with the pod each belongs to; errors for an unknown or ambiguous namespace.';

-- Network activity of a namespace's pods, peer by peer, and whether it is legitimate.
CREATE FUNCTION correlate.observed_flows(namespace text, cluster text DEFAULT NULL)
RETURNS TABLE (direction text, peer bigint, peer_ip inet, port integer, protocol text,
			   in_cluster boolean, legitimate boolean, reason text, events bigint[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	members bigint[];
BEGIN
	-- Resolved first, so an unknown namespace is an error even when there are no events.
	members := ARRAY(SELECT x.member FROM correlate._namespace_members(observed_flows.namespace, observed_flows.cluster) x);
	RETURN QUERY
	WITH m AS MATERIALIZED (
		SELECT x AS member FROM unnest(members) x
	), flows AS (
		SELECT e.id, e.rule,
			   CASE WHEN e.actor IN (SELECT m.member FROM m) THEN 'egress' ELSE 'ingress' END AS dir,
			   CASE WHEN e.actor IN (SELECT m.member FROM m) THEN e.target ELSE e.actor END AS peer_res,
			   CASE WHEN e.actor IN (SELECT m.member FROM m) THEN e.dst_ip ELSE e.src_ip END AS ip,
			   e.dst_port,
			   COALESCE(CASE e.raw->>'protocol' WHEN '6' THEN 'TCP' WHEN '17' THEN 'UDP' WHEN '132' THEN 'SCTP' END,
						CASE upper(e.raw #>> '{output_fields,fd.l4proto}') WHEN 'TCP' THEN 'TCP' WHEN 'UDP' THEN 'UDP' END,
						'TCP') AS proto,
			   EXISTS (SELECT 1 FROM correlate.incident_event ie WHERE ie.tenant = t AND ie.event_id = e.id) AS in_incident
		FROM correlate.event e
		WHERE e.tenant = t AND (e.class_uid = 4001 OR (e.domain = 'network' AND e.dst_ip IS NOT NULL))
		  AND (e.actor IN (SELECT m.member FROM m) OR e.target IN (SELECT m.member FROM m))
		  AND NOT (e.actor IN (SELECT m.member FROM m) AND e.target IN (SELECT m.member FROM m))
	), flagged AS (
		SELECT f.dir, f.ip, f.peer_res, string_agg(DISTINCT CASE WHEN f.in_incident THEN 'incident' ELSE 'detection: ' || f.rule END, ', ') AS why
		FROM flows f WHERE f.in_incident OR f.rule IS NOT NULL
		GROUP BY f.dir, f.ip, f.peer_res
	), peer_info AS (
		SELECT f.*, pr.kind AS peer_kind,
			   -- a container peer stands for its pod
			   COALESCE((SELECT l.src FROM correlate.relationship l JOIN correlate.resource p ON p.tenant = t AND p.id = l.src
						 WHERE l.tenant = t AND l.dst = f.peer_res AND l.kind = 'contains' AND p.kind = 'k8s:pod'
						 ORDER BY l.src LIMIT 1), f.peer_res) AS peer_pod
		FROM flows f LEFT JOIN correlate.resource pr ON pr.tenant = t AND pr.id = f.peer_res
	), judged AS (
		SELECT p.dir, p.peer_pod AS peer, p.ip, p.dst_port, p.proto, p.id,
			   (p.peer_kind IN ('k8s:pod', 'container', 'k8s:service')) AS in_cluster,
			   (SELECT fl.why FROM flagged fl
				WHERE fl.dir = p.dir AND (fl.ip = p.ip OR (fl.peer_res = p.peer_res AND p.peer_kind NOT IN ('internet', 'network:ip')))
				ORDER BY fl.why LIMIT 1) AS why
		FROM peer_info p
	)
	SELECT j.dir, CASE WHEN j.in_cluster THEN j.peer END, j.ip, j.dst_port, j.proto,
		   COALESCE(j.in_cluster, false),
		   j.why IS NULL AND (j.dir = 'egress' OR COALESCE(j.in_cluster, false)),
		   COALESCE('flagged (' || j.why || ')', CASE WHEN j.dir = 'ingress' AND NOT COALESCE(j.in_cluster, false)
													  THEN 'from outside the cluster' ELSE 'observed' END),
		   array_agg(j.id ORDER BY j.id)
	FROM judged j
	GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
	ORDER BY 1, 2, 3, 4, 5;
END
$$;
COMMENT ON FUNCTION correlate.observed_flows(text, text)
	IS 'Network activity between a namespace''s pods and the outside, one row per (direction, peer, address, port, protocol): whether the peer is in the cluster, whether the flow counts as legitimate and why not (flagged by an incident or a detector, or ingress from outside the cluster), and the events.';

-- The NetworkPolicy peer (namespaceSelector + podSelector) for an in-cluster resource.
CREATE FUNCTION correlate._k8s_peer(peer bigint) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object(
		'namespaceSelector', jsonb_build_object('matchLabels', jsonb_build_object('kubernetes.io/metadata.name', r.namespace)),
		'podSelector', CASE
			WHEN r.kind = 'k8s:service' AND jsonb_typeof(r.props->'selector') = 'object'
				THEN jsonb_build_object('matchLabels', r.props->'selector')
			WHEN r.kind = 'k8s:pod' AND r.labels - 'pod-template-hash' - 'controller-revision-hash' <> '{}'
				THEN jsonb_build_object('matchLabels', r.labels - 'pod-template-hash' - 'controller-revision-hash')
			ELSE '{}'::jsonb END)
	FROM correlate.resource r
	WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.id = peer;
$$;
COMMENT ON FUNCTION correlate._k8s_peer(bigint) IS 'Internal: the NetworkPolicy peer selecting an in-cluster pod (by its labels) or service (by its selector) in its namespace.';

CREATE FUNCTION correlate.network_policy(namespace text, cluster text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	rules jsonb;
	excluded text;
	n_flows bigint;
	dns jsonb := jsonb_build_object(
		'to', jsonb_build_array(jsonb_build_object(
			'namespaceSelector', jsonb_build_object('matchLabels', jsonb_build_object('kubernetes.io/metadata.name', 'kube-system')),
			'podSelector', jsonb_build_object('matchLabels', jsonb_build_object('k8s-app', 'kube-dns')))),
		'ports', jsonb_build_array(jsonb_build_object('protocol', 'UDP', 'port', 53),
								   jsonb_build_object('protocol', 'TCP', 'port', 53)));
BEGIN
	WITH f AS MATERIALIZED (
		SELECT * FROM correlate.observed_flows(network_policy.namespace, network_policy.cluster)
	), peers AS (
		SELECT f.direction,
			   CASE WHEN f.in_cluster THEN correlate._k8s_peer(f.peer)
					ELSE jsonb_build_object('ipBlock', jsonb_build_object('cidr',
						 host(f.peer_ip) || CASE family(f.peer_ip) WHEN 4 THEN '/32' ELSE '/128' END)) END AS sel,
			   f.port, f.protocol
		FROM f
		WHERE f.legitimate AND (f.in_cluster OR f.peer_ip IS NOT NULL)
		  AND NOT (f.direction = 'egress' AND f.port = 53)		-- DNS is always allowed below
	), grouped AS (
		SELECT p.direction, p.sel,
			   jsonb_agg(DISTINCT jsonb_build_object('protocol', p.protocol, 'port', p.port))
				   FILTER (WHERE p.port IS NOT NULL) AS ports,
			   bool_or(p.port IS NULL) AS any_port
		FROM peers p GROUP BY p.direction, p.sel
	)
	SELECT jsonb_build_object(
			   'ingress', COALESCE(jsonb_agg(
				   jsonb_build_object('from', jsonb_build_array(g.sel))
				   || CASE WHEN g.any_port OR g.ports IS NULL THEN '{}' ELSE jsonb_build_object('ports', g.ports) END
				   ORDER BY g.sel::text) FILTER (WHERE g.direction = 'ingress'), '[]'),
			   'egress', COALESCE(jsonb_agg(
				   jsonb_build_object('to', jsonb_build_array(g.sel))
				   || CASE WHEN g.any_port OR g.ports IS NULL THEN '{}' ELSE jsonb_build_object('ports', g.ports) END
				   ORDER BY g.sel::text) FILTER (WHERE g.direction = 'egress'), '[]')),
		   (SELECT count(*) FROM f),
		   (SELECT string_agg(format('%s %s%s/%s: %s', x.direction, COALESCE(host(x.peer_ip), 'peer ' || x.peer),
									 COALESCE(':' || x.port, ''), x.protocol, x.reason), '; '
							  ORDER BY x.direction, x.peer_ip, x.port, x.protocol)
			FROM f x WHERE NOT x.legitimate)
	INTO rules, n_flows, excluded
	FROM grouped g;

	RETURN jsonb_build_object(
		'apiVersion', 'networking.k8s.io/v1',
		'kind', 'NetworkPolicy',
		'metadata', jsonb_build_object(
			'name', 'correlate-' || network_policy.namespace,
			'namespace', network_policy.namespace,
			'labels', jsonb_build_object('app.kubernetes.io/managed-by', 'correlate'),
			'annotations', jsonb_strip_nulls(jsonb_build_object(
				'correlate.io/observed-flows', n_flows::text,
				'correlate.io/excluded', excluded))),
		'spec', jsonb_build_object(
			'podSelector', '{}'::jsonb,
			'policyTypes', jsonb_build_array('Ingress', 'Egress'),
			'ingress', rules->'ingress',
			'egress', jsonb_build_array(dns) || (rules->'egress')));
END
$$;
COMMENT ON FUNCTION correlate.network_policy(text, text)
	IS 'A networking.k8s.io/v1 NetworkPolicy for every pod of the namespace: ingress only from in-cluster peers observed talking to it, egress only to observed destinations plus DNS (UDP/TCP 53 to kube-dns); flows tied to an incident or a detector are left out and listed in an annotation.';

CREATE FUNCTION correlate.least_privilege_policy(role_id bigint, since timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	k text;
	stmts jsonb;
BEGIN
	IF role_id IS NULL THEN
		RAISE EXCEPTION 'role_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	k := correlate._require_resource(role_id, 'Look the role up with correlate.resource_id(''arn:aws:iam::ACCOUNT:role/NAME'').');
	IF k NOT IN ('aws:iam:role', 'aws:iam:user') THEN
		RAISE EXCEPTION 'resource % is a %, not an IAM role or user', role_id, k
			USING ERRCODE = 'wrong_object_type';
	END IF;
	IF since = 'infinity' THEN
		RAISE EXCEPTION 'since must not be infinity' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Pass NULL to consider every event.';
	END IF;

	-- Actions with the same resources share a statement; resources are the ARNs the
	-- events name when every event of the action names one, else "*".
	WITH used AS (
		SELECT u.action, COALESCE(to_jsonb(u.resources), '"*"'::jsonb) AS res
		FROM correlate._legitimate_actions(role_id, since) u
	), grouped AS (
		SELECT g.res, jsonb_agg(g.action ORDER BY g.action) AS actions, min(g.action) AS first_action
		FROM used g GROUP BY g.res
	)
	SELECT COALESCE(jsonb_agg(jsonb_build_object(
			   'Sid', 'ObservedUse' || row_number,
			   'Effect', 'Allow',
			   'Action', x.actions,
			   'Resource', x.res) ORDER BY x.row_number), '[]')
	INTO stmts
	FROM (SELECT g.*, row_number() OVER (ORDER BY g.first_action, g.res::text) FROM grouped g) x;

	RETURN jsonb_build_object('Version', '2012-10-17', 'Statement', stmts);
END
$$;
COMMENT ON FUNCTION correlate.least_privilege_policy(bigint, timestamptz)
	IS 'An IAM policy document (Version 2012-10-17) allowing only the actions the role or user performed successfully since the given time (NULL: ever), leaving out events tied to incidents; resources are the ARNs the events name when known, else "*". No statements means it used nothing legitimately.';

CREATE FUNCTION correlate.fix_plan(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL, k integer DEFAULT 10)
RETURNS TABLE (rank integer, kind text, target text, description text, paths_removed integer, paths_total integer,
			   likelihood_removed float8, risk_reduction integer, resource_id bigint, relationship_id bigint,
			   artifact jsonb, effort integer, what_if jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	max_paths integer := LEAST(1000, COALESCE(NULLIF(current_setting('correlate.graph_max_k', true), '')::integer, 1000));
	node_cut bigint[] := '{}';
	-- A what-if without changes: the attack graph derived from the facts as they are
	-- now, so the plan never rests on a stale correlate.attack_edge.
	now_graph jsonb := '{}';
	cut_error text;
BEGIN
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('k is %s.', COALESCE(k::text, 'NULL'));
	END IF;

	-- The minimum node cut, when one exists: a source next to a target has none, and
	-- min_node_cut says so with this one error (graph_cut.c, no_node_cut); any other
	-- error (bad sources or targets, limits) is the caller's to see.
	BEGIN
		node_cut := ARRAY(SELECT c.resource_id FROM correlate.min_node_cut(sources, targets, 'unit', now_graph) c ORDER BY 1);
	EXCEPTION WHEN invalid_parameter_value THEN
		GET STACKED DIAGNOSTICS cut_error = MESSAGE_TEXT;
		IF cut_error NOT LIKE 'no node cut separates source % from target %' THEN
			RAISE;
		END IF;
		node_cut := '{}';
	END;

	RETURN QUERY
	WITH RECURSIVE
	-- Every attack path (up to correlate.graph_max_k of them, at most 8 hops).
	hops AS MATERIALIZED (
		SELECT * FROM correlate.attack_paths(sources, targets, max_paths, 8, NULL, now_graph)
	),
	paths AS MATERIALIZED (
		SELECT h.path_rank AS pr, min(h.path_likelihood) AS lk,
			   array_agg(h.relationship_id ORDER BY h.hop) FILTER (WHERE h.relationship_id IS NOT NULL) AS rels,
			   array_agg(h.resource_id ORDER BY h.hop) AS nodes
		FROM hops h GROUP BY h.path_rank
	),
	tot AS (SELECT count(*)::integer AS n, COALESCE(sum(p.lk), 0) AS s FROM paths p),
	-- The attack edges on the paths and the facts they rest on.
	now_edges AS MATERIALIZED (
		SELECT d.* FROM correlate.attack_edges_derived(now_graph) d
		WHERE d.id IN (SELECT DISTINCT x FROM paths p, unnest(p.rels) x)
	),
	pe AS MATERIALIZED (
		SELECT p.pr, e.src, e.dst, e.technique
		FROM paths p CROSS JOIN LATERAL unnest(p.rels) x(id) JOIN now_edges e ON e.id = x.id
	),
	facts AS (
		SELECT DISTINCT e.id AS edge, e.technique, e.src, e.dst, k.key, x::bigint AS id
		FROM now_edges e
		CROSS JOIN LATERAL (VALUES ('relationships'), ('exposure'), ('findings'), ('statements')) k(key)
		CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.because->k.key) = 'array'
														  THEN e.because->k.key ELSE '[]' END) x
		WHERE x ~ '^[0-9]{1,18}$'
	),
	path_nodes AS (SELECT DISTINCT unnest(p.nodes) AS id FROM paths p),
	nodes_r AS MATERIALIZED (
		SELECT r.* FROM correlate.resource r JOIN path_nodes n ON n.id = r.id WHERE r.tenant = t
	),
	-- Candidate fixes, each a change to the facts (a what-if document), with the fact
	-- ids it makes obsolete (for the risk it takes away) and an effort from the
	-- capacity model (docs/remediation.md): 1 edit a policy statement, 2 patch an
	-- image / change a manifest or the exposure, 3 rework privileges or a policy,
	-- 5 isolate a resource.
	cand_patch AS (
		SELECT 'patch_vulnerability'::text AS kind, NULL::bigint AS rel_id, f.resource AS res_id,
			   f.check_id || ' in ' || r.name AS target,
			   CASE WHEN f.fixed_version IS NOT NULL
					THEN format('upgrade %s%s to %s in %s (%s, %s%s)', COALESCE(NULLIF(f.package, ''), 'the package'),
								COALESCE(' ' || f.installed_version, ''), f.fixed_version, r.name, f.check_id, f.severity,
								CASE WHEN f.known_exploited THEN ', known exploited' ELSE '' END)
					ELSE format('remove or replace %s in %s: no fixed version yet (%s, %s%s)',
								COALESCE(NULLIF(f.package, ''), 'the vulnerable package'), r.name, f.check_id, f.severity,
								CASE WHEN f.known_exploited THEN ', known exploited' ELSE '' END) END AS description,
			   jsonb_build_object('patch', jsonb_build_array(f.id)) AS wi,
			   '{}'::bigint[] AS rm_rels, '{}'::bigint[] AS rm_nodes, ARRAY[f.id] AS fnd, '{}'::bigint[] AS stm,
			   NULL::jsonb AS artifact, 2 AS effort
		FROM (SELECT DISTINCT x.id FROM facts x WHERE x.key = 'findings') ff
		JOIN correlate.finding f ON f.tenant = t AND f.id = ff.id
		JOIN correlate.resource r ON r.tenant = t AND r.id = f.resource
	),
	cand_rel AS (
		SELECT CASE WHEN x.key = 'exposure' THEN 'stop_exposure' ELSE 'remove_relationship' END, l.id, NULL::bigint,
			   s.name || ' -' || l.kind || '-> ' || d.name,
			   CASE l.kind
				   WHEN 'exposes' THEN CASE WHEN s.kind = 'internet' THEN format('stop exposing %s to the internet (make it internal or put it behind an authenticating proxy)', d.name)
											ELSE format('stop %s from forwarding traffic to %s', s.name, d.name) END
				   WHEN 'routes_to' THEN format('stop %s from routing traffic to %s', s.name, d.name)
				   WHEN 'runs_as' THEN format('run %s without the identity %s (no token mounted, or an identity without permissions)', s.name, d.name)
				   WHEN 'assumes' THEN format('remove %s from the trust policy of %s', s.name, d.name)
				   WHEN 'can_access' THEN format('revoke %s''s access to %s', s.name, d.name)
				   WHEN 'can_escalate_to' THEN format('remove the permissions that let %s escalate to %s', s.name, d.name)
				   WHEN 'mounts' THEN format('stop %s from mounting %s', s.name, d.name)
				   ELSE format('remove the %s relationship from %s to %s', l.kind, s.name, d.name) END,
			   jsonb_build_object('remove_relationships', jsonb_build_array(l.id)),
			   ARRAY[l.id], '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], NULL::jsonb, 2
		FROM (SELECT DISTINCT x.key, x.id FROM facts x WHERE x.key IN ('relationships', 'exposure')) x
		JOIN correlate.relationship l ON l.tenant = t AND l.id = x.id
		JOIN correlate.resource s ON s.tenant = t AND s.id = l.src
		JOIN correlate.resource d ON d.tenant = t AND d.id = l.dst
		-- runs_on is where a pod runs, not a fix: drop_privileges covers the escapes
		WHERE l.kind NOT IN ('runs_on', 'contains')
	),
	cand_stmt AS (
		SELECT 'remove_statement'::text, NULL::bigint, st.holder,
			   CASE WHEN p.kind = 'trust' THEN 'trust statement ' || COALESCE(st.sid, '#' || st.position) || ' of ' || h.name
					ELSE 'statement ' || COALESCE(st.sid, '#' || st.position) || ' of ' || h.name END,
			   CASE WHEN p.kind = 'trust'
					THEN format('remove trust statement %s from the trust policy of %s', COALESCE(st.sid, '#' || st.position), h.name)
					ELSE format('remove statement %s from %s policy %s', COALESCE(st.sid, '#' || st.position), p.kind, h.name) END,
			   jsonb_build_object('remove_statements', jsonb_build_array(st.id)),
			   '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], ARRAY[st.id], NULL::jsonb, 1
		FROM (SELECT DISTINCT x.id FROM facts x WHERE x.key = 'statements') x
		JOIN correlate.iam_statement st ON st.tenant = t AND st.id = x.id
		JOIN correlate.iam_policy p ON p.tenant = t AND p.id = st.policy
		JOIN correlate.resource h ON h.tenant = t AND h.id = st.holder
	),
	-- Drop privileges: every pod that escapes to its node on a path runs without
	-- privileged mode, added capabilities, the host PID namespace and host mounts.
	priv_pods AS (
		SELECT DISTINCT e.src AS pod FROM now_edges e WHERE e.technique LIKE 'container\_escape\_%'
	),
	priv_parts AS (
		SELECT pp.pod, pp.pod AS mid FROM priv_pods pp
		UNION SELECT pp.pod, l.dst FROM priv_pods pp JOIN correlate.relationship l ON l.tenant = t AND l.src = pp.pod AND l.kind = 'contains'
		UNION SELECT pp.pod, l.src FROM priv_pods pp JOIN correlate.relationship l ON l.tenant = t AND l.dst = pp.pod
			  JOIN correlate.resource c ON c.tenant = t AND c.id = l.src
			  WHERE (l.kind = 'contains' AND c.kind = 'k8s:deployment') OR (l.kind = 'runs_on' AND c.kind = 'container')
	),
	cand_priv AS (
		SELECT 'drop_privileges'::text, NULL::bigint, r.id, r.name,
			   format('run %s unprivileged (%s): privileged: false, no added capabilities, no hostPID, no host path mounts',
					  r.name, (SELECT string_agg(DISTINCT replace(e.technique, 'container_escape_', ''), ', ')
							   FROM now_edges e WHERE e.src = r.id AND e.technique LIKE 'container\_escape\_%')),
			   jsonb_build_object('set', jsonb_build_array(jsonb_build_object('resource', r.id, 'props',
				   '{"privileged": false, "capabilities": [], "host_pid": false, "host_paths": []}'::jsonb))),
			   '{}'::bigint[], '{}'::bigint[],
			   ARRAY(SELECT f.id FROM priv_parts p
					 JOIN correlate.finding f ON f.tenant = t AND f.resource = p.mid AND f.kind = 'misconfiguration' AND f.status = 'open'
					 JOIN correlate.risk_privilege_checks() c ON lower(c.check_id) = lower(f.check_id)
					 WHERE p.pod = r.id ORDER BY f.id),
			   '{}'::bigint[], NULL::jsonb, 3
		FROM priv_pods pp JOIN correlate.resource r ON r.tenant = t AND r.id = pp.pod
	),
	cand_node AS (
		SELECT 'isolate_resource'::text, NULL::bigint, r.id, r.name,
			   format('isolate %s %s (a minimum node cut: no attack path is left without it)', r.kind, r.name),
			   jsonb_build_object('remove_resources', jsonb_build_array(r.id)),
			   ARRAY(SELECT l.id FROM correlate.relationship l WHERE l.tenant = t AND (l.src = r.id OR l.dst = r.id)),
			   ARRAY[r.id], '{}'::bigint[], '{}'::bigint[], NULL::jsonb, 5
		FROM correlate.resource r WHERE r.tenant = t AND r.id = ANY (node_cut)
	),
	-- NetworkPolicy per namespace of a pod on a path: it removes network relationships into
	-- the namespace's pods from anything it does not allow, and out of them likewise.
	np_ns AS (
		SELECT DISTINCT n.namespace, n.cluster FROM nodes_r n
		WHERE n.kind IN ('k8s:pod', 'container') AND n.namespace IS NOT NULL
	),
	np AS (
		SELECT ns.namespace, ns.cluster,
			   ARRAY(SELECT m.member FROM correlate._namespace_members(ns.namespace, ns.cluster) m) AS members,
			   COALESCE(ok.ok_in, '{}') AS ok_in, COALESCE(ok.ok_out, '{}') AS ok_out,
			   correlate.network_policy(ns.namespace, ns.cluster) AS doc
		FROM np_ns ns
		CROSS JOIN LATERAL (
			SELECT array_agg(f.peer) FILTER (WHERE f.direction = 'ingress') AS ok_in,
				   array_agg(f.peer) FILTER (WHERE f.direction = 'egress') AS ok_out
			FROM correlate.observed_flows(ns.namespace, ns.cluster) f
			WHERE f.legitimate AND f.peer IS NOT NULL) ok
	),
	np_rels AS (
		SELECT np.*, ARRAY(SELECT l.id FROM correlate.relationship l
						   WHERE l.tenant = t AND l.kind IN ('exposes', 'connects_to', 'routes_to')
							 AND ((l.dst = ANY (np.members) AND NOT l.src = ANY (np.members) AND NOT l.src = ANY (np.ok_in))
								  OR (l.src = ANY (np.members) AND NOT l.dst = ANY (np.members) AND l.kind = 'connects_to'
									  AND NOT l.dst = ANY (np.ok_out)))
						   ORDER BY l.id) AS rels
		FROM np
	),
	cand_np AS (
		SELECT 'apply_network_policy'::text, NULL::bigint, NULL::bigint, 'namespace ' || np.namespace,
			   format('apply NetworkPolicy correlate-%s: %s ingress, egress only %s',
					  np.namespace,
					  CASE WHEN jsonb_array_length(np.doc #> '{spec,ingress}') = 0 THEN 'deny all'
						   ELSE format('only from %s observed peers', jsonb_array_length(np.doc #> '{spec,ingress}')) END,
					  CASE WHEN jsonb_array_length(np.doc #> '{spec,egress}') = 1 THEN 'to DNS'
						   ELSE format('to DNS and %s observed destinations', jsonb_array_length(np.doc #> '{spec,egress}') - 1) END),
			   jsonb_build_object('remove_relationships', to_jsonb(np.rels)),
			   np.rels, '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], np.doc, 2
		FROM np_rels np
	),
	-- Least-privilege policy per IAM role or user on a path: the permission edges
	-- (from the policy engine) the new policy would no longer justify go.
	lp AS (
		SELECT n.id, n.name, correlate.least_privilege_policy(n.id) AS doc
		FROM nodes_r n WHERE n.kind IN ('aws:iam:role', 'aws:iam:user')
	),
	lp_actions AS (
		SELECT lp.id, ARRAY(SELECT lower(a) FROM jsonb_array_elements(lp.doc->'Statement') st,
								 jsonb_array_elements_text(st->'Action') a) AS acts
		FROM lp
	),
	lp_rels AS (
		SELECT lp.*, ARRAY(SELECT l.id FROM correlate.relationship l
						   WHERE l.tenant = t AND l.src = lp.id AND l.source = 'iam_policy'
							 AND CASE l.kind
									 WHEN 'can_access' THEN NOT EXISTS (
										 SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.props->'actions') = 'array'
																					  THEN l.props->'actions' ELSE '[]' END) x
										 WHERE lower(x) = ANY (la.acts))
									 WHEN 'assumes' THEN NOT EXISTS (SELECT 1 FROM unnest(la.acts) a WHERE a LIKE 'sts:assumerole%')
									 WHEN 'can_escalate_to' THEN NOT EXISTS (SELECT 1 FROM unnest(la.acts) a WHERE a LIKE 'iam:%')
									 ELSE false END
						   ORDER BY l.id) AS rels
		FROM lp JOIN lp_actions la ON la.id = lp.id
	),
	cand_iam AS (
		SELECT 'replace_iam_policy'::text, NULL::bigint, lp.id, lp.name,
			   format('replace the policies of %s with the least-privilege policy (%s)', lp.name,
					  COALESCE((SELECT string_agg(a, ', ' ORDER BY a) FROM jsonb_array_elements(lp.doc->'Statement') st,
								jsonb_array_elements_text(st->'Action') a), 'no actions')),
			   jsonb_build_object('remove_relationships', to_jsonb(lp.rels)),
			   lp.rels, '{}'::bigint[], '{}'::bigint[],
			   ARRAY(SELECT s.id FROM correlate.iam_attachment a
					 JOIN correlate.iam_statement s ON s.tenant = t AND s.policy = a.policy
					 WHERE a.tenant = t AND a.principal = lp.id AND a.how <> 'boundary'),
			   lp.doc, 3
		FROM lp_rels lp
	),
	cand AS MATERIALIZED (
		SELECT row_number() OVER () AS ck, u.* FROM (
			SELECT * FROM cand_patch UNION ALL SELECT * FROM cand_rel UNION ALL SELECT * FROM cand_stmt
			UNION ALL SELECT * FROM cand_priv UNION ALL SELECT * FROM cand_node UNION ALL SELECT * FROM cand_np
			UNION ALL SELECT * FROM cand_iam) u
	),
	-- Each fix checked exactly: the attack graph re-derived as if it were made (nothing
	-- written); a path is closed when one of its edges is gone, and a surviving path
	-- keeps the likelihood its edges have then.
	after AS MATERIALIZED (
		SELECT c.ck, d.src, d.dst, d.technique, d.likelihood
		FROM cand c CROSS JOIN LATERAL correlate.attack_edges_derived(c.wi) d
		WHERE EXISTS (SELECT 1 FROM now_edges e WHERE e.src = d.src AND e.dst = d.dst AND e.technique = d.technique)
	),
	surv AS (
		SELECT c.ck, x.pr, count(a.ck) AS kept, count(*) AS n, exp(sum(ln(a.likelihood))) AS lk_after
		FROM cand c CROSS JOIN pe x
		LEFT JOIN after a ON a.ck = c.ck AND a.src = x.src AND a.dst = x.dst AND a.technique = x.technique
		GROUP BY c.ck, x.pr
	),
	pc AS (
		SELECT s.ck, count(*) FILTER (WHERE s.kept < s.n)::integer AS n_removed,
			   sum(CASE WHEN s.kept < s.n THEN p.lk ELSE GREATEST(p.lk - s.lk_after, 0) END) AS lk_removed
		FROM surv s JOIN paths p ON p.pr = s.pr GROUP BY s.ck
	),
	-- What each candidate takes away from the risk scores: the reasons whose evidence
	-- it makes obsolete (scores recombined without them), found through their evidence ids.
	ev AS MATERIALIZED (
		SELECT rs.resource_id, x.ord, k.kind, e.id::bigint AS id
		FROM correlate.risk_score rs
		CROSS JOIN LATERAL jsonb_array_elements(rs.reasons) WITH ORDINALITY x(r, ord)
		CROSS JOIN LATERAL (VALUES ('relationships'), ('resources'), ('findings'), ('statements')) k(kind)
		CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(x.r #> ARRAY['evidence', k.kind]) = 'array'
														  THEN x.r #> ARRAY['evidence', k.kind] ELSE '[]' END) e(id)
		WHERE rs.tenant = t
	),
	cand_ids AS (
		SELECT c.ck, 'relationships'::text AS kind, i.id FROM cand c, unnest(c.rm_rels) i(id)
		UNION ALL SELECT c.ck, 'resources', i.id FROM cand c, unnest(c.rm_nodes) i(id)
		UNION ALL SELECT c.ck, 'findings', i.id FROM cand c, unnest(c.fnd) i(id)
		UNION ALL SELECT c.ck, 'statements', i.id FROM cand c, unnest(c.stm) i(id)
	),
	gone AS (
		SELECT ci.ck, ev.resource_id, array_agg(DISTINCT ev.ord) AS ords
		FROM cand_ids ci JOIN ev ON ev.kind = ci.kind AND ev.id = ci.id
		GROUP BY ci.ck, ev.resource_id
	),
	cut AS (
		SELECT g.ck, sum(rs.score - correlate._combine_weights(ARRAY(
				   SELECT (x.r->>'weight')::integer FROM jsonb_array_elements(rs.reasons) WITH ORDINALITY x(r, ord)
				   WHERE NOT x.ord = ANY (g.ords)))) AS risk_cut
		FROM gone g JOIN correlate.risk_score rs ON rs.tenant = t AND rs.resource_id = g.resource_id
		GROUP BY g.ck
	),
	single AS (
		SELECT c.kind, c.rel_id, c.res_id, c.target, c.description, c.wi, c.artifact, c.effort,
			   COALESCE(pc.n_removed, 0) AS n_removed, COALESCE(pc.lk_removed, 0) AS lk_removed,
			   COALESCE(cu.risk_cut, 0)::integer AS risk_cut
		FROM cand c LEFT JOIN pc ON pc.ck = c.ck LEFT JOIN cut cu ON cu.ck = c.ck
	),
	-- When no single fix closes every path: a small set of fixes that does, chosen greedily
	-- (each step the fix closing most of the paths still open, the cheaper on ties; set
	-- cover has no exact polynomial answer), then checked exactly with all of them
	-- applied at once.
	closes AS MATERIALIZED (
		SELECT s.ck, array_agg(s.pr ORDER BY s.pr) AS prs FROM surv s WHERE s.kept < s.n GROUP BY s.ck
	),
	greedy (step, cks, covered) AS (
		SELECT 0, '{}'::bigint[], '{}'::integer[]
		WHERE (SELECT n FROM tot) > 1
		  AND NOT EXISTS (SELECT 1 FROM closes c WHERE cardinality(c.prs) = (SELECT n FROM tot))
		UNION ALL
		SELECT g.step + 1, g.cks || b.ck, g.covered || b.new_prs
		FROM greedy g
		CROSS JOIN LATERAL (
			SELECT c.ck, ARRAY(SELECT x FROM unnest(c.prs) x WHERE NOT x = ANY (g.covered)) AS new_prs
			FROM closes c JOIN cand cc ON cc.ck = c.ck
			WHERE NOT c.ck = ANY (g.cks) AND cc.kind <> 'isolate_resource'
			ORDER BY (SELECT count(*) FROM unnest(c.prs) x WHERE NOT x = ANY (g.covered)) DESC, cc.effort, c.ck
			LIMIT 1) b
		WHERE cardinality(g.covered) < (SELECT n FROM tot) AND g.step < 8 AND cardinality(b.new_prs) > 0
	),
	fix_set AS (
		SELECT g.cks,
			   (SELECT jsonb_object_agg(z.key, z.ids) FROM (
					SELECT e.key, jsonb_agg(x.v ORDER BY x.o) AS ids
					FROM unnest(g.cks) WITH ORDINALITY m(ck, mo) JOIN cand c ON c.ck = m.ck
					CROSS JOIN LATERAL jsonb_each(c.wi) e
					CROSS JOIN LATERAL jsonb_array_elements(e.value) WITH ORDINALITY x(v, o)
					GROUP BY e.key) z) AS wi
		FROM greedy g WHERE g.step > 1 AND cardinality(g.covered) = (SELECT n FROM tot)
	),
	set_after AS MATERIALIZED (
		SELECT d.src, d.dst, d.technique, d.likelihood
		FROM fix_set fs CROSS JOIN LATERAL correlate.attack_edges_derived(fs.wi) d
		WHERE EXISTS (SELECT 1 FROM now_edges e WHERE e.src = d.src AND e.dst = d.dst AND e.technique = d.technique)
	),
	set_surv AS (
		SELECT x.pr, count(a.src) AS kept, count(*) AS n FROM pe x
		LEFT JOIN set_after a ON a.src = x.src AND a.dst = x.dst AND a.technique = x.technique
		WHERE EXISTS (SELECT 1 FROM fix_set)
		GROUP BY x.pr
	),
	fix_set_row AS (
		SELECT 'apply_fix_set'::text AS kind, NULL::bigint AS rel_id, NULL::bigint AS res_id,
			   format('%s fixes', cardinality(fs.cks)) AS target,
			   'apply together: ' || (SELECT string_agg(c.target, '; ' ORDER BY m.mo)
									  FROM unnest(fs.cks) WITH ORDINALITY m(ck, mo) JOIN cand c ON c.ck = m.ck) AS description,
			   fs.wi, NULL::jsonb AS artifact,
			   (SELECT sum(c.effort)::integer FROM cand c WHERE c.ck = ANY (fs.cks)) AS effort,
			   (SELECT count(*)::integer FROM set_surv v WHERE v.kept < v.n) AS n_removed,
			   (SELECT COALESCE(sum(p.lk), 0) FROM set_surv v JOIN paths p ON p.pr = v.pr WHERE v.kept < v.n) AS lk_removed,
			   (SELECT COALESCE(max(cu.risk_cut), 0)::integer FROM cut cu WHERE cu.ck = ANY (fs.cks)) AS risk_cut
		FROM fix_set fs
	),
	effect AS (
		SELECT * FROM single UNION ALL SELECT * FROM fix_set_row
	)
	SELECT (row_number() OVER w)::integer, e.kind, e.target,
		   e.description || CASE WHEN e.n_removed > 0 AND e.n_removed = (SELECT n FROM tot)
								 THEN CASE WHEN e.n_removed = 1 THEN ' (closes the only attack path)'
										   ELSE format(' (closes all %s attack paths)', e.n_removed) END
								 ELSE '' END,
		   e.n_removed, (SELECT n FROM tot),
		   CASE WHEN (SELECT s FROM tot) > 0 THEN round((e.lk_removed / (SELECT s FROM tot))::numeric, 4)::float8 ELSE 0 END,
		   e.risk_cut, e.res_id, e.rel_id, e.artifact, e.effort, e.wi
	FROM effect e
	WHERE e.n_removed > 0 OR e.lk_removed > 1e-9 OR e.risk_cut > 0
	WINDOW w AS (ORDER BY e.n_removed DESC, round(e.lk_removed::numeric, 9) DESC, e.effort, e.risk_cut DESC,
				 array_position(ARRAY['patch_vulnerability', 'drop_privileges', 'remove_statement', 'stop_exposure',
									  'apply_network_policy', 'replace_iam_policy', 'remove_relationship', 'isolate_resource',
									  'apply_fix_set'], e.kind),
				 e.target, e.rel_id, e.res_id)
	ORDER BY 1
	LIMIT k;
END
$$;
COMMENT ON FUNCTION correlate.fix_plan(bigint[], bigint[], integer)
	IS 'The k best fixes on facts against the attack paths from sources (default: the internet) to targets (default: crown jewels): patch a vulnerability, drop privileges, remove a policy statement, stop an exposure, apply a NetworkPolicy, replace an IAM policy, remove a relationship, isolate a resource of the minimum node cut, or, when no single fix closes every path, a greedy set of them that does. Each is checked exactly by re-deriving the attack graph as if it were made (nothing is written): ranked by attack paths closed (of every path up to correlate.graph_max_k, at most 8 hops), the likelihood taken away, effort (capacity model), then risk score taken away; what_if replays the fix in attack_paths() and friends.';

GRANT EXECUTE ON FUNCTION correlate._namespace_members(text, text), correlate.observed_flows(text, text),
	correlate._k8s_peer(bigint), correlate.network_policy(text, text),
	correlate.least_privilege_policy(bigint, timestamptz), correlate.fix_plan(bigint[], bigint[], integer)
	TO correlate_reader;
