-- 75_attack.sql: the attack graph (docs/attack.md).  The fact graph (resource,
-- relationship, finding, IAM statements) records what exists and what was
-- observed; the attack graph is derived from it by technique rules: an edge
-- src -> dst means "an attacker who controls src can gain control of (or read)
-- dst", names its technique and MITRE ATT&CK id, and says in `because` which
-- facts it rests on.  The graph functions (60_graph.sql) run on attack edges by
-- default (correlate.graph_layer = 'attack').
--
-- Rules are data: correlate.attack_technique lists every technique with its
-- precondition, base likelihood and the facts it reads (an administrator can
-- disable one or change its likelihood); correlate.attack_edges_derived() holds
-- the one set-based query per technique.  derive_attack_edges() materialises
-- the result into correlate.attack_edge, writing only what changed; what-if
-- questions run the same query over the facts as they would be after
-- hypothetical changes, without writing.

CREATE TABLE correlate.attack_technique (
	technique       text PRIMARY KEY CHECK (technique ~ '^[a-z][a-z0-9_]*$'),
	attack_id       text NOT NULL CHECK (attack_id ~ '^T[0-9]{4}(\.[0-9]{3})?$'),
	tactic          text NOT NULL,
	name            text NOT NULL,
	precondition    text NOT NULL,
	base_likelihood float8 NOT NULL CHECK (base_likelihood > 0 AND base_likelihood <= 1),
	reads           text[] NOT NULL,
	enabled         boolean NOT NULL DEFAULT true,
	builtin         boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE correlate.attack_technique IS 'The technique catalogue: one row per attack technique the attack graph is derived with (docs/attack.md).';
COMMENT ON COLUMN correlate.attack_technique.technique IS 'Catalogue id, lower case with underscores (e.g. container_escape_privileged).';
COMMENT ON COLUMN correlate.attack_technique.attack_id IS 'MITRE ATT&CK technique id (T1190, T1611, ...).';
COMMENT ON COLUMN correlate.attack_technique.tactic IS 'MITRE ATT&CK tactic the step serves.';
COMMENT ON COLUMN correlate.attack_technique.name IS 'Short human-readable name.';
COMMENT ON COLUMN correlate.attack_technique.precondition IS 'What must hold in the facts for the edge to exist.';
COMMENT ON COLUMN correlate.attack_technique.base_likelihood IS 'Likelihood of an edge when no evidence sets it (evidence-scored techniques say how in the precondition).';
COMMENT ON COLUMN correlate.attack_technique.reads IS 'The facts the rule reads (tables, relationship kinds, properties, findings).';
COMMENT ON COLUMN correlate.attack_technique.enabled IS 'False: the technique derives no edges.';
COMMENT ON COLUMN correlate.attack_technique.builtin IS 'True for techniques shipped with the extension.';

INSERT INTO correlate.attack_technique (technique, attack_id, tactic, name, precondition, base_likelihood, reads, builtin) VALUES
	('exploit_public_workload', 'T1190', 'initial-access', 'Exploit public-facing application',
	 'internet -> workload (pod, instance, function, task) when a chain of exposes/routes_to relationships leads from the internet to it (LoadBalancer, NodePort, Ingress, public IP with an open security group), or it is a pod on the host network or with a hostPort on a node so exposed, AND the workload, one of its containers or one of their images carries an open network-reachable vulnerability (CVSS vector AV:N, or without a vector: known exploited or EPSS >= 0.1) or an open exposure finding. Likelihood from the best evidence: known exploited 0.9; else EPSS e: 0.3 + 0.6e; else CVSS c: 0.1 + 0.04c; an exposure finding 0.6. Without such a finding, correlate.attack_unknown_weakness_prior (default 0: no edge). An observed inbound flow from the internet halves the remaining doubt.',
	 0.5, ARRAY['relationship exposes/routes_to from internet', 'finding vulnerability/exposure (status, cvss, epss, known_exploited, props.cvss_vector)', 'relationship contains/runs_on/uses_image (workload parts)', 'relationship connects_to from internet (evidence)'], true),
	('public_resource_policy', 'T1530', 'initial-access', 'Public resource policy',
	 'internet -> resource whose resource policy grants access to anyone (the IAM policy engine''s can_access from internet, source iam_policy); the relationship''s likelihood. A flow from the internet is never such a grant.',
	 0.9, ARRAY['relationship can_access from internet (source iam_policy, props.statements)'], true),
	('container_escape_privileged', 'T1611', 'privilege-escalation', 'Escape to host: privileged container',
	 'pod -> its node (runs_on) when a container runs privileged (securityContext.privileged, or props.privileged of the pod, which overrides).',
	 0.9, ARRAY['relationship runs_on pod->node', 'resource props containers[].securityContext.privileged, privileged'], true),
	('container_escape_sys_module', 'T1611', 'privilege-escalation', 'Escape to host: kernel module load (CAP_SYS_MODULE)',
	 'pod -> its node when a container adds CAP_SYS_MODULE.',
	 0.9, ARRAY['relationship runs_on pod->node', 'resource props containers[].securityContext.capabilities.add, capabilities'], true),
	('container_escape_sys_admin', 'T1611', 'privilege-escalation', 'Escape to host: CAP_SYS_ADMIN (cgroup release_agent, mounts)',
	 'pod -> its node when a container adds CAP_SYS_ADMIN.',
	 0.7, ARRAY['relationship runs_on pod->node', 'resource props containers[].securityContext.capabilities.add, capabilities'], true),
	('container_escape_sys_ptrace', 'T1611', 'privilege-escalation', 'Escape to host: CAP_SYS_PTRACE with the host PID namespace',
	 'pod -> its node when a container adds CAP_SYS_PTRACE and the pod shares the host PID namespace (hostPID).',
	 0.8, ARRAY['relationship runs_on pod->node', 'resource props capabilities, host_pid'], true),
	('container_escape_host_mount', 'T1611', 'privilege-escalation', 'Escape to host: writable host filesystem mount',
	 'pod -> its node when it mounts a host path that holds the host: /, or /etc, /root, /proc, /sys, /dev, /boot, /home, /var/lib/kubelet or a path below one (/proc/sys/kernel: core_pattern; /var/lib/kubelet/pods: every pod''s tokens).',
	 0.8, ARRAY['relationship runs_on pod->node', 'resource props host_paths'], true),
	('container_escape_var_log', 'T1611', 'privilege-escalation', 'Escape to host: /var/log mount (kubelet log symlink)',
	 'pod -> its node when it mounts the host''s /var/log (or a path below it): a symlink there makes the kubelet read any host file.',
	 0.6, ARRAY['relationship runs_on pod->node', 'resource props host_paths'], true),
	('container_escape_runtime_socket', 'T1611', 'privilege-escalation', 'Escape to host: container runtime socket',
	 'pod -> its node when it mounts the container runtime''s socket or its directory (docker.sock, containerd.sock, crio.sock, /var/run, /run).',
	 0.9, ARRAY['relationship runs_on pod->node', 'resource props host_paths'], true),
	('node_controls_pod', 'T1609', 'execution', 'Node root controls its pods',
	 'node -> every pod that runs on it (runs_on pod->node): root on the node executes in any of its containers and reads their tokens.',
	 0.9, ARRAY['relationship runs_on pod->node'], true),
	('node_cloud_identity', 'T1552.005', 'credential-access', 'Node''s cloud identity through the instance metadata service',
	 'node or instance -> the identity it runs as (runs_as to a role or instance profile), unless its props say the metadata service is blocked (imds_blocked = true).',
	 0.9, ARRAY['relationship runs_as from k8s:node / aws:ec2:instance / aws:lambda:function / aws:ecs:task', 'resource props imds_blocked'], true),
	('pod_service_account_token', 'T1528', 'credential-access', 'Steal the pod''s service account token',
	 'pod -> its service account (runs_as) when the token is mounted: automountServiceAccountToken of the pod (props.automount_token of the pod or of its runs_as) when set, else of the service account, else true.',
	 0.9, ARRAY['relationship runs_as pod->serviceaccount (props.automount_token)', 'resource props automount_token of the service account'], true),
	('k8s_group_member', 'T1078.001', 'privilege-escalation', 'Rights of a Kubernetes system group',
	 'service account -> the groups system:serviceaccounts, system:serviceaccounts:<its namespace> and system:authenticated, and user -> system:authenticated, when the group is an RBAC subject (a k8s:group resource) of the same cluster: what is bound to the group is granted to each member.',
	 1.0, ARRAY['resource k8s:group (name, cluster)', 'resource k8s:serviceaccount / k8s:user (namespace, cluster)'], true),
	('k8s_anonymous_access', 'T1078.001', 'initial-access', 'Anonymous requests to the API server (system:unauthenticated)',
	 'internet -> the group system:unauthenticated of a cluster when it is an RBAC subject there (a k8s:group resource: something is bound to it): with anonymous authentication on (the Kubernetes default), every unauthenticated request to the API server is in that group and gets what is bound to it.',
	 0.9, ARRAY['resource k8s:group (name)', 'resource internet'], true),
	('pod_mounted_secret', 'T1552.001', 'credential-access', 'Read a secret mounted into the pod',
	 'pod -> every Secret it mounts or reads into its environment (mounts pod->secret).',
	 0.9, ARRAY['relationship mounts pod->k8s:secret'], true),
	('k8s_pod_exec', 'T1609', 'execution', 'Exec or attach into pods (RBAC)',
	 'RBAC subject -> every pod in the binding''s scope (its namespace, or the cluster) when a bound rule allows create (or *) on pods/exec or pods/attach (resourceNames restrict the pods).',
	 0.9, ARRAY['relationship can_access subject->role (props.rules, props.binding:*.scope)'], true),
	('k8s_pod_create', 'T1610', 'execution', 'Create or patch pods or workloads (RBAC)',
	 'RBAC subject -> every service account in scope (a new pod may run as any of them) and every node of the cluster (a privileged pod may land on any) when a bound rule allows create on pods, or create/patch/update on pods, deployments, daemonsets, statefulsets, replicasets, replicationcontrollers, jobs or cronjobs.',
	 0.8, ARRAY['relationship can_access subject->role (props.rules, props.binding:*.scope)'], true),
	('k8s_secret_read', 'T1552.007', 'credential-access', 'Read secrets through the API (RBAC)',
	 'RBAC subject -> every Secret in scope when a bound rule allows get, list or watch on secrets.',
	 0.9, ARRAY['relationship can_access subject->role (props.rules, props.binding:*.scope)'], true),
	('k8s_role_bind', 'T1098.006', 'privilege-escalation', 'Bind or escalate roles (RBAC)',
	 'RBAC subject -> every service account in scope when a bound rule allows bind or escalate on roles/clusterroles, or create on rolebindings/clusterrolebindings: it can grant itself any permission in scope.',
	 0.8, ARRAY['relationship can_access subject->role (props.rules, props.binding:*.scope)'], true),
	('k8s_impersonate', 'T1078', 'privilege-escalation', 'Impersonate users, groups or service accounts (RBAC)',
	 'RBAC subject -> every user and group of the cluster and every service account in scope that a bound rule allows it to impersonate.',
	 0.9, ARRAY['relationship can_access subject->role (props.rules, props.binding:*.scope)'], true),
	('k8s_token_create', 'T1528', 'credential-access', 'Create service account tokens (RBAC)',
	 'RBAC subject -> every service account in scope when a bound rule allows create on serviceaccounts/token.',
	 0.9, ARRAY['relationship can_access subject->role (props.rules, props.binding:*.scope)'], true),
	('k8s_irsa', 'T1550.001', 'lateral-movement', 'Service account to cloud role (IRSA / workload identity)',
	 'service account -> IAM role it assumes (assumes), unless the trust policy was evaluated and denies it (props.decision = deny); likelihood 0.9 when the trust was evaluated and allows it, else the base.',
	 0.6, ARRAY['relationship assumes serviceaccount->role (props.via, props.decision, props.statement)'], true),
	('iam_assume_role', 'T1078.004', 'privilege-escalation', 'Assume a cloud role',
	 'cloud principal -> role it may assume (assumes, from the IAM policy engine or observed), unless evaluated as denied; from the internet when the trust policy allows anyone; the relationship''s likelihood.',
	 0.8, ARRAY['relationship assumes (props.decision, props.statements)'], true),
	('iam_privilege_escalation', 'T1098.003', 'privilege-escalation', 'Cloud privilege escalation',
	 'cloud principal -> the principal whose privileges it can gain (can_escalate_to, from the IAM escalation rules); the relationship''s likelihood.',
	 0.6, ARRAY['relationship can_escalate_to (props.technique, props.statements)'], true),
	('cloud_data_access', 'T1530', 'collection', 'Data from cloud storage and services',
	 'cloud principal -> resource its permissions reach (can_access from an aws:* principal); the relationship''s likelihood.',
	 0.7, ARRAY['relationship can_access from aws:* principals (props.statements)'], true),
	('data_contains', 'T1530', 'collection', 'Data in a store',
	 'data store -> what it contains (contains from a data resource: bucket -> object).',
	 1.0, ARRAY['relationship contains between data resources'], true);

SELECT pg_catalog.pg_extension_config_dump('correlate.attack_technique', 'WHERE NOT builtin');

CREATE TABLE correlate.attack_edge (
	tenant     text NOT NULL DEFAULT correlate.current_tenant(),
	id         bigint GENERATED ALWAYS AS IDENTITY,
	src        bigint NOT NULL,
	dst        bigint NOT NULL,
	technique  text NOT NULL,
	attack_id  text NOT NULL,
	likelihood float8 NOT NULL CHECK (likelihood > 0 AND likelihood <= 1),
	because    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(because) = 'object'),
	derived_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, src, dst, technique)
);
CREATE INDEX attack_edge_dst_idx ON correlate.attack_edge (tenant, dst);
COMMENT ON TABLE correlate.attack_edge IS 'The derived attack graph: who controls src can gain control of (or read) dst by technique; written by correlate.derive_attack_edges().';
COMMENT ON COLUMN correlate.attack_edge.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.attack_edge.id IS 'Surrogate id; the graph functions return it as relationship_id on the attack layer.';
COMMENT ON COLUMN correlate.attack_edge.src IS 'Resource the attacker controls.';
COMMENT ON COLUMN correlate.attack_edge.dst IS 'Resource the attacker gains.';
COMMENT ON COLUMN correlate.attack_edge.technique IS 'Catalogue technique (correlate.attack_technique).';
COMMENT ON COLUMN correlate.attack_edge.attack_id IS 'MITRE ATT&CK technique id.';
COMMENT ON COLUMN correlate.attack_edge.likelihood IS 'Probability in (0,1] that the step succeeds, from the technique and its evidence.';
COMMENT ON COLUMN correlate.attack_edge.because IS 'The facts the edge rests on: relationships, findings, statements (ids), properties, observed evidence, fix_cost.';
COMMENT ON COLUMN correlate.attack_edge.derived_at IS 'When the edge was last (re)derived with a change.';

SELECT correlate._isolate_tenants('correlate.attack_edge');
SELECT pg_catalog.pg_extension_config_dump('correlate.attack_edge', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.attack_edge', 'id')::regclass, '');

-- The graph cache follows attack edges as it follows relationships: one trigger
-- per event, so the tenants written are read from transition tables (60_graph.sql).
CREATE TRIGGER graph_changed_insert AFTER INSERT ON correlate.attack_edge
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_update AFTER UPDATE ON correlate.attack_edge
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_delete AFTER DELETE ON correlate.attack_edge
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_truncate AFTER TRUNCATE ON correlate.attack_edge
	FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
ALTER TABLE correlate.attack_edge ENABLE ALWAYS TRIGGER graph_changed_insert, ENABLE ALWAYS TRIGGER graph_changed_update,
	ENABLE ALWAYS TRIGGER graph_changed_delete, ENABLE ALWAYS TRIGGER graph_changed_truncate;

-- Incremental derivation.  correlate.attack_dirty logs, per tenant, the resources
-- whose facts changed since the last derivation: a resource written, the resource
-- of a finding written, and for a relationship written what its kind feeds (the
-- workload downstream of an exposure, the workload a part belongs to, an RBAC
-- subject; for a relationship only single-relationship techniques read, such as
-- can_access to data or assumes, just the pair of its ends; for kinds no rule
-- reads, nothing).  Statement
-- triggers read them from transition tables; an UPDATE that leaves every column a
-- rule reads as it was (last_seen of a re-ingested inventory) logs nothing.
-- Nothing is logged for a tenant never derived (attack_derive_state), so loads
-- before the first derivation pay only the trigger call.  Both tables are
-- internal, not dumped (a restored database derives from scratch), and isolated
-- per tenant like every table: the derivation runs as the writer.
CREATE TABLE correlate.attack_dirty (
	tenant   text NOT NULL,
	resource bigint NOT NULL,
	other    bigint
);
CREATE INDEX attack_dirty_tenant_idx ON correlate.attack_dirty (tenant);
COMMENT ON TABLE correlate.attack_dirty IS 'Internal: resources whose facts changed since the tenant''s last attack-graph derivation.';
COMMENT ON COLUMN correlate.attack_dirty.tenant IS 'Tenant of the changed resource.';
COMMENT ON COLUMN correlate.attack_dirty.resource IS 'Resource written, end of a relationship written, or resource of a finding written.';
COMMENT ON COLUMN correlate.attack_dirty.other IS 'NULL: every edge of the resource may change; else only the edges between resource and other (a relationship that only single-relationship techniques read).';

CREATE TABLE correlate.attack_derive_state (
	tenant     text PRIMARY KEY,
	catalogue  text NOT NULL,
	prior      float8 NOT NULL,
	derived_at timestamptz NOT NULL DEFAULT now(),
	mode       text NOT NULL DEFAULT 'from scratch',
	focus      bigint
);
SELECT correlate._isolate_tenants('correlate.attack_dirty', 'correlate.attack_derive_state');
COMMENT ON TABLE correlate.attack_derive_state IS 'Internal: the catalogue and weakness prior each tenant''s attack graph was last derived with; no row: the next derivation starts from scratch.';
COMMENT ON COLUMN correlate.attack_derive_state.tenant IS 'Tenant.';
COMMENT ON COLUMN correlate.attack_derive_state.catalogue IS 'md5 of the enabled techniques the graph was derived with.';
COMMENT ON COLUMN correlate.attack_derive_state.prior IS 'correlate.attack_unknown_weakness_prior the graph was derived with.';
COMMENT ON COLUMN correlate.attack_derive_state.derived_at IS 'When the graph was last derived.';
COMMENT ON COLUMN correlate.attack_derive_state.mode IS 'How it was last derived: from scratch, or incremental.';
COMMENT ON COLUMN correlate.attack_derive_state.focus IS 'Incremental: how many resources had their edges derived anew.';

-- The trigger logs as the owner: the tenants are read from the written rows, never
-- from the correlate.tenant setting, which a statement can change before its AFTER
-- triggers fire (as the graph change log does, 60_graph.sql); a trigger function
-- cannot be called but as a trigger.
CREATE FUNCTION correlate._attack_dirty_log() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cols text;
	ends text;
	changed text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM correlate.attack_derive_state) THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'TRUNCATE' THEN
		-- every tenant's next derivation starts from scratch (and changes stay logged)
		UPDATE correlate.attack_derive_state SET catalogue = '';
		RETURN NULL;
	END IF;
	-- the columns the rules read, and the resources a changed row dirties
	CASE TG_TABLE_NAME
	WHEN 'resource' THEN
		-- a deleted resource takes its edges along and is logged by
		-- _attack_edge_cascade(), and its relationships, deleted with it, log their other ends
		IF TG_OP = 'DELETE' THEN
			RETURN NULL;
		END IF;
		cols := 'tenant, id, kind, domain, name, cluster, namespace, props'; ends := 'VALUES (x.id';
	WHEN 'relationship' THEN
		-- likelihood: only the exposure chain and the IAM-derived techniques read it
		cols := 'tenant, id, src, dst, kind, props, source, CASE WHEN kind IN (''exposes'', ''routes_to'', ''can_access'', '
				'''assumes'', ''can_escalate_to'') THEN likelihood END AS likelihood';
		-- what each kind feeds (a deleted end, unknown kind: the whole resource)
		ends := $e$ VALUES (CASE WHEN x.kind IN ('exposes', 'routes_to') THEN x.dst
						  WHEN x.kind = 'uses_image' THEN x.src
						  WHEN x.kind IN ('contains', 'runs_on') AND (rs.kind IS NULL OR rs.kind IN
								('k8s:pod', 'aws:ec2:instance', 'aws:lambda:function', 'aws:ecs:task', 'container')) THEN x.src
						  WHEN x.kind = 'contains' THEN x.src
						  WHEN x.kind = 'connects_to' AND (rs.kind = 'internet' OR rs.kind IS NULL) THEN x.dst
						  WHEN x.kind = 'can_access' AND (rd.kind IN ('k8s:role', 'k8s:clusterrole') OR rd.kind IS NULL) THEN x.src
						  WHEN x.kind IN ('can_access', 'runs_as', 'mounts', 'assumes', 'can_escalate_to') THEN x.src END,
					 CASE WHEN (x.kind IN ('can_access', 'runs_as', 'mounts', 'assumes', 'can_escalate_to')
								AND NOT (x.kind = 'can_access' AND (rd.kind IN ('k8s:role', 'k8s:clusterrole') OR rd.kind IS NULL)))
							   -- contains from other than a workload: only data_contains reads it
							   OR (x.kind = 'contains' AND rs.kind NOT IN
								   ('k8s:pod', 'aws:ec2:instance', 'aws:lambda:function', 'aws:ecs:task', 'container'))
						  THEN x.dst END),
					-- a container running on a pod is a part of the pod
					(CASE WHEN x.kind = 'runs_on' AND (rd.kind IS NULL OR rd.kind = 'k8s:pod') THEN x.dst END, NULL) $e$;
	ELSE
		cols := 'tenant, id, resource, kind, check_id, status, cvss, epss, known_exploited, props'; ends := 'VALUES (x.resource';
	END CASE;
	changed := CASE TG_OP
		WHEN 'INSERT' THEN format('SELECT %s FROM new_rows', cols)
		WHEN 'DELETE' THEN format('SELECT %s FROM old_rows', cols)
		ELSE format('(SELECT %1$s FROM new_rows EXCEPT ALL SELECT %1$s FROM old_rows) UNION ALL '
					'(SELECT %1$s FROM old_rows EXCEPT ALL SELECT %1$s FROM new_rows)', cols) END;
	IF TG_TABLE_NAME <> 'relationship' THEN
		ends := ends || ', NULL::bigint)';
	END IF;
	EXECUTE format('INSERT INTO correlate.attack_dirty (tenant, resource, other) '
				   'SELECT DISTINCT x.tenant, e.id, e.other FROM (%s) x '
				   '%s, LATERAL (%s) e(id, other) '
				   'WHERE x.tenant IN (SELECT d.tenant FROM correlate.attack_derive_state d) AND e.id IS NOT NULL',
				   changed,
				   CASE WHEN TG_TABLE_NAME = 'relationship'
						THEN 'LEFT JOIN correlate.resource rs ON rs.tenant = x.tenant AND rs.id = x.src '
							 'LEFT JOIN correlate.resource rd ON rd.tenant = x.tenant AND rd.id = x.dst' ELSE '' END,
				   ends);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION correlate._attack_dirty_log() IS 'Internal: statement trigger that logs into attack_dirty the resources whose facts a statement changed (for tenants with a derived attack graph).';

DO $$
DECLARE
	tb text;
BEGIN
	FOREACH tb IN ARRAY ARRAY['resource', 'relationship', 'finding'] LOOP
		EXECUTE format('CREATE TRIGGER attack_dirty_insert AFTER INSERT ON correlate.%I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_dirty_log()', tb);
		EXECUTE format('CREATE TRIGGER attack_dirty_update AFTER UPDATE ON correlate.%I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_dirty_log()', tb);
		EXECUTE format('CREATE TRIGGER attack_dirty_delete AFTER DELETE ON correlate.%I REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_dirty_log()', tb);
		EXECUTE format('CREATE TRIGGER attack_dirty_truncate AFTER TRUNCATE ON correlate.%I FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_dirty_log()', tb);
		EXECUTE format('ALTER TABLE correlate.%I ENABLE ALWAYS TRIGGER attack_dirty_insert, ENABLE ALWAYS TRIGGER attack_dirty_update, ENABLE ALWAYS TRIGGER attack_dirty_delete, ENABLE ALWAYS TRIGGER attack_dirty_truncate', tb);
	END LOOP;
END
$$;
-- Emptying the attack graph (TRUNCATE) makes every tenant's next derivation start from scratch.
CREATE TRIGGER attack_dirty_truncate AFTER TRUNCATE ON correlate.attack_edge
	FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_dirty_log();

-- attack_edge has no foreign keys: a row-by-row RI check per derived edge cost three
-- quarters of a derivation from scratch (docs/attack.md, Performance).  Derivation
-- writes edges only between resources it read, under the tenant's work lock, and
-- only of catalogued techniques; these statement triggers do what ON DELETE CASCADE
-- did, once per statement: a deleted resource (or TRUNCATE) takes its edges along,
-- and a deleted or renamed technique its edges.  The deleted resources are also
-- logged as changed, so an edge that a derivation running concurrently with the
-- delete wrote to one of them goes at the next derivation.
CREATE FUNCTION correlate._attack_edge_cascade() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_TABLE_NAME = 'resource' THEN
		IF TG_OP = 'TRUNCATE' THEN
			TRUNCATE correlate.attack_edge;
			RETURN NULL;
		END IF;
		DELETE FROM correlate.attack_edge a USING old_rows o WHERE a.tenant = o.tenant AND a.src = o.id;
		DELETE FROM correlate.attack_edge a USING old_rows o WHERE a.tenant = o.tenant AND a.dst = o.id;
		INSERT INTO correlate.attack_dirty (tenant, resource)
		SELECT o.tenant, o.id FROM old_rows o
		WHERE o.tenant IN (SELECT d.tenant FROM correlate.attack_derive_state d);
	ELSIF TG_OP = 'DELETE' THEN
		DELETE FROM correlate.attack_edge a WHERE a.technique IN (SELECT o.technique FROM old_rows o);
	ELSE
		DELETE FROM correlate.attack_edge a
		WHERE a.technique IN (SELECT o.technique FROM old_rows o EXCEPT SELECT n.technique FROM new_rows n);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION correlate._attack_edge_cascade() IS 'Internal: statement trigger that deletes the attack edges of deleted resources (and logs them as changed) and of deleted or renamed techniques, as ON DELETE CASCADE would.';
CREATE TRIGGER attack_edge_cascade_delete AFTER DELETE ON correlate.resource
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_edge_cascade();
CREATE TRIGGER attack_edge_cascade_truncate AFTER TRUNCATE ON correlate.resource
	FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_edge_cascade();
CREATE TRIGGER attack_edge_cascade_delete AFTER DELETE ON correlate.attack_technique
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_edge_cascade();
CREATE TRIGGER attack_edge_cascade_update AFTER UPDATE ON correlate.attack_technique
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_edge_cascade();

-- The derivation's side of the log, for the current tenant only: what changed since
-- the last derivation (NULL: start from scratch), and the mark that it is derived.
CREATE FUNCTION correlate._attack_dirty_take(catalogue text, prior float8,
	OUT from_scratch boolean, OUT resources bigint[], OUT pair_src bigint[], OUT pair_dst bigint[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	-- rows committed after this statement's snapshot stay for the next derivation
	WITH x AS (DELETE FROM correlate.attack_dirty a WHERE a.tenant = t RETURNING a.resource, a.other),
	y AS (SELECT DISTINCT x.resource, x.other FROM x)
	SELECT COALESCE(array_agg(y.resource) FILTER (WHERE y.other IS NULL), '{}'),
		   COALESCE(array_agg(y.resource) FILTER (WHERE y.other IS NOT NULL), '{}'),
		   COALESCE(array_agg(y.other) FILTER (WHERE y.other IS NOT NULL), '{}')
	INTO resources, pair_src, pair_dst FROM y;
	-- pairs both ways round
	SELECT pair_src || pair_dst, pair_dst || pair_src INTO pair_src, pair_dst;
	from_scratch := NOT EXISTS (SELECT 1 FROM correlate.attack_derive_state s
								WHERE s.tenant = t AND s.catalogue = _attack_dirty_take.catalogue
								  AND s.prior = _attack_dirty_take.prior);
END
$$;
COMMENT ON FUNCTION correlate._attack_dirty_take(text, float8) IS 'Internal: takes the current tenant''s logged changes: resources whose every edge may change, and pairs (both ways round) whose single-relationship edges may; from_scratch when its attack graph must be derived from scratch (never derived, emptied, or derived with another catalogue or prior).';

CREATE FUNCTION correlate._attack_derived(catalogue text, prior float8, mode text, focus bigint) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO correlate.attack_derive_state AS s (tenant, catalogue, prior, mode, focus)
	VALUES (correlate.current_tenant(), catalogue, prior, mode, focus)
	ON CONFLICT (tenant) DO UPDATE SET catalogue = excluded.catalogue, prior = excluded.prior, derived_at = now(),
									   mode = excluded.mode, focus = excluded.focus;
$$;
COMMENT ON FUNCTION correlate._attack_derived(text, float8, text, bigint) IS 'Internal: records that the current tenant''s attack graph is derived with this catalogue and prior, so changes are logged from now on.';

-- Every edge whose facts changed has an end among the changed resources, or is
-- reached from them: forward along exposure chains (at most 4 hops, then to the
-- pods on an exposed node), back from a part (container, image) to the workloads
-- it belongs to (2 hops), and back from a role to the subjects bound to it.
CREATE FUNCTION correlate._attack_focus(dirty bigint[]) RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
	WITH RECURSIVE
	t AS (SELECT correlate.current_tenant() AS t),
	inet AS (SELECT r.id FROM correlate.resource r, t WHERE r.tenant = t.t AND r.kind = 'internet'),
	d AS (SELECT x AS id FROM unnest(dirty) x WHERE x NOT IN (SELECT id FROM inet)),
	fwd (id, depth) AS (
		SELECT d.id, 0 FROM d
		UNION
		SELECT l.dst, f.depth + 1 FROM fwd f JOIN correlate.relationship l
			ON l.tenant = (SELECT t FROM t) AND l.src = f.id AND l.kind IN ('exposes', 'routes_to')
		WHERE f.depth < 4
	),
	host_pods AS (
		SELECT l.src AS id FROM correlate.relationship l
		WHERE l.tenant = (SELECT t FROM t) AND l.dst = ANY (ARRAY(SELECT DISTINCT f.id FROM fwd f))
		  AND l.kind = 'runs_on'
	),
	up (id, depth) AS (
		SELECT d.id, 0 FROM d
		UNION
		SELECT x.id, u.depth + 1 FROM up u CROSS JOIN LATERAL (
			SELECT l.src AS id FROM correlate.relationship l
			WHERE l.tenant = (SELECT t FROM t) AND l.dst = u.id AND l.kind IN ('contains', 'uses_image')
			UNION ALL
			SELECT l.dst FROM correlate.relationship l
			WHERE l.tenant = (SELECT t FROM t) AND l.src = u.id AND l.kind = 'runs_on') x
		WHERE u.depth < 2
	),
	subjects AS (
		SELECT l.src AS id FROM correlate.relationship l JOIN correlate.resource r
			ON r.tenant = l.tenant AND r.id = l.dst AND r.kind IN ('k8s:role', 'k8s:clusterrole')
		WHERE l.tenant = (SELECT t FROM t) AND l.dst = ANY (dirty) AND l.kind = 'can_access'
	)
	SELECT COALESCE(array_agg(DISTINCT x.id), '{}') FROM (
		SELECT id FROM fwd UNION ALL SELECT id FROM host_pods UNION ALL SELECT id FROM up
		UNION ALL SELECT id FROM subjects
		-- an internet resource written: the groups anonymous requests reach (k8s_anonymous_access)
		UNION ALL
		SELECT r.id FROM correlate.resource r
		WHERE r.tenant = (SELECT t FROM t) AND r.kind = 'k8s:group' AND r.name = 'system:unauthenticated'
		  AND EXISTS (SELECT 1 FROM inet WHERE inet.id = ANY (dirty))) x
	WHERE x.id NOT IN (SELECT id FROM inet)
$$;
COMMENT ON FUNCTION correlate._attack_focus(bigint[]) IS 'Internal: the resources whose attack edges may change when the facts of the dirty resources changed.';

-- Validates a what-if document and returns its parts.
CREATE FUNCTION correlate._what_if(what_if jsonb,
	OUT patch bigint[], OUT remove_relationships bigint[], OUT remove_statements bigint[],
	OUT remove_resources bigint[], OUT set_props jsonb)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k text;
	v jsonb;
BEGIN
	patch := '{}'; remove_relationships := '{}'; remove_statements := '{}'; remove_resources := '{}';
	set_props := '{}';
	IF what_if IS NULL OR what_if = 'null'::jsonb THEN
		RETURN;
	END IF;
	IF jsonb_typeof(what_if) <> 'object' THEN
		RAISE EXCEPTION 'what_if must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It is a %s.', jsonb_typeof(what_if)),
				  HINT = 'Use {"patch": [finding ids], "remove_relationships": [...], "remove_statements": [...], "remove_resources": [...], "set": [{"resource": id, "props": {...}}]}.';
	END IF;
	FOR k, v IN SELECT * FROM jsonb_each(what_if) LOOP
		IF k IN ('patch', 'remove_relationships', 'remove_statements', 'remove_resources') THEN
			IF jsonb_typeof(v) <> 'array' OR EXISTS (
				SELECT 1 FROM jsonb_array_elements(v) x
				WHERE jsonb_typeof(x) <> 'number' OR x::text !~ '^[0-9]{1,18}$') THEN
				RAISE EXCEPTION 'what_if key "%" must be an array of ids', k
					USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It is %s.', left(v::text, 200));
			END IF;
		ELSIF k = 'set' THEN
			IF jsonb_typeof(v) <> 'array' OR EXISTS (
				SELECT 1 FROM jsonb_array_elements(v) x
				WHERE jsonb_typeof(x) <> 'object' OR jsonb_typeof(x->'resource') IS DISTINCT FROM 'number'
				   OR (x->>'resource') !~ '^[0-9]{1,18}$' OR jsonb_typeof(x->'props') IS DISTINCT FROM 'object') THEN
				RAISE EXCEPTION 'what_if key "set" must be an array of {"resource": id, "props": {...}}'
					USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It is %s.', left(v::text, 200));
			END IF;
		ELSE
			RAISE EXCEPTION 'unknown what_if key "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Known keys: patch, remove_relationships, remove_statements, remove_resources, set.';
		END IF;
	END LOOP;
	patch := ARRAY(SELECT x::bigint FROM jsonb_array_elements_text(COALESCE(what_if->'patch', '[]')) x);
	remove_relationships := ARRAY(SELECT x::bigint FROM jsonb_array_elements_text(COALESCE(what_if->'remove_relationships', '[]')) x);
	remove_statements := ARRAY(SELECT x::bigint FROM jsonb_array_elements_text(COALESCE(what_if->'remove_statements', '[]')) x);
	remove_resources := ARRAY(SELECT x::bigint FROM jsonb_array_elements_text(COALESCE(what_if->'remove_resources', '[]')) x);
	-- later settings of one resource win
	set_props := COALESCE((SELECT jsonb_object_agg(s.rid, s.props) FROM (
		SELECT x->>'resource' AS rid,
			   jsonb_object_agg(p.key, p.value ORDER BY o) AS props
		FROM jsonb_array_elements(COALESCE(what_if->'set', '[]')) WITH ORDINALITY y(x, o),
			 jsonb_each(x->'props') p
		GROUP BY x->>'resource') s), '{}');
END
$$;
COMMENT ON FUNCTION correlate._what_if(jsonb) IS 'Internal: checks a what-if document and splits it into its changes.';

-- The facts the edges with an end in focus (and the single-relationship edges of the
-- pairs) rest on, for _attack_edges: every relationship at a focus resource or
-- between a pair, the parts of the workloads among their ends (2 hops), inbound
-- flows from the internet to those parts, the exposure chains (at most 4 hops) into
-- the focus and into the nodes its pods run on, and for RBAC every binding and, for
-- a subject or group in focus, every target of its cluster.  Each step is one index
-- lookup per id: a LATERAL subquery over the unnested array, kept from being
-- flattened (OFFSET 0) so the planner cannot turn it into a hash join over a scan of
-- the estate (150-1,500 ms a step at 100,000 resources).
CREATE FUNCTION correlate._attack_region(focus bigint[], pair_src bigint[], pair_dst bigint[],
	OUT resources bigint[], OUT relationships bigint[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
-- index lookups per id: not the setting of _attack_edges, which calls it
SET enable_nestloop = on
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	inet_ids bigint[] := ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.kind = 'internet');
	-- the relationship kinds the rules of _attack_edges read
	kinds text[] := ARRAY['exposes', 'routes_to', 'contains', 'uses_image', 'runs_on', 'runs_as', 'mounts',
						  'can_access', 'assumes', 'can_escalate_to', 'connects_to'];
	ll bigint[];        -- the relationships gathered
	ends bigint[];      -- their ends (kept as they are found: no second lookup)
	rr bigint[];
	seeds bigint[];
	parts2 bigint[];
	step bigint[];
	step_ends bigint[];
	rbac boolean := EXISTS (SELECT 1 FROM correlate.resource r
							WHERE r.tenant = t AND r.kind IN ('k8s:role', 'k8s:clusterrole', 'k8s:group'));
BEGIN
	-- every relationship at a focus resource of a kind a rule reads (a flow only from
	-- the internet: a workload's other flows, exec rights or memberships do not widen
	-- the region), and the relationships of each pair (given both ways round)
	SELECT COALESCE(array_agg(x.id), '{}'), COALESCE(array_agg(x.src) || array_agg(x.dst), '{}') INTO ll, ends
	FROM (SELECT x.id, x.src, x.dst FROM unnest(focus) f(id) CROSS JOIN LATERAL (
			  SELECT l.id, l.src, l.dst, l.kind FROM correlate.relationship l
			  WHERE l.tenant = t AND l.src = f.id AND l.kind = ANY (kinds)
			  UNION ALL
			  SELECT l.id, l.src, l.dst, l.kind FROM correlate.relationship l
			  WHERE l.tenant = t AND l.dst = f.id AND l.kind = ANY (kinds)
			  OFFSET 0) x
		  WHERE x.kind <> 'connects_to' OR x.src = ANY (inet_ids)
		  UNION
		  SELECT x.id, x.src, x.dst FROM unnest(pair_src, pair_dst) p(a, b) CROSS JOIN LATERAL (
			  SELECT l.id, l.src, l.dst FROM correlate.relationship l
			  WHERE l.tenant = t AND l.src = p.a AND l.dst = p.b OFFSET 0) x) x;
	rr := ARRAY(SELECT DISTINCT x FROM unnest(ends || focus || pair_src || inet_ids) x);
	-- parts of every workload among them: contains / uses_image, containers that run on a pod, their images
	seeds := ARRAY(SELECT r.id FROM unnest(rr) i(id)
				   CROSS JOIN LATERAL (SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.id = i.id
										 AND r.kind IN ('k8s:pod', 'aws:ec2:instance', 'aws:lambda:function', 'aws:ecs:task', 'container')
										 OFFSET 0) r);
	SELECT ll || COALESCE(array_agg(x.id), '{}'), ends || COALESCE(array_agg(x.src) || array_agg(x.dst), '{}'),
		   COALESCE(array_agg(DISTINCT x.part), '{}')
	INTO ll, ends, seeds
	FROM unnest(seeds) s(id) CROSS JOIN LATERAL (
		SELECT l.id, l.src, l.dst, l.dst AS part FROM correlate.relationship l
		WHERE l.tenant = t AND l.src = s.id AND l.kind IN ('contains', 'uses_image')
		UNION ALL
		SELECT l.id, l.src, l.dst, l.src FROM correlate.relationship l
		WHERE l.tenant = t AND l.dst = s.id AND l.kind = 'runs_on'
		OFFSET 0) x;
	SELECT ll || COALESCE(array_agg(l.id), '{}'), ends || COALESCE(array_agg(l.src) || array_agg(l.dst), '{}'),
		   COALESCE(array_agg(l.dst), '{}')
	INTO ll, ends, parts2
	FROM unnest(seeds) s(id) CROSS JOIN LATERAL (
		SELECT l.id, l.src, l.dst FROM correlate.relationship l
		WHERE l.tenant = t AND l.src = s.id AND l.kind IN ('contains', 'uses_image') OFFSET 0) l;
	-- inbound flows from the internet to the parts and the workloads
	ll := ll || ARRAY(SELECT l.id FROM unnest(inet_ids) i(id)
					  CROSS JOIN (SELECT DISTINCT x FROM unnest(seeds || parts2 || rr) x) d(id)
					  CROSS JOIN LATERAL (SELECT l.id FROM correlate.relationship l
										  WHERE l.tenant = t AND l.src = i.id AND l.dst = d.id AND l.kind = 'connects_to' OFFSET 0) l);
	-- (their ends, the internet and a part or workload, are in the region already)
	-- exposure chains into the focus and the nodes its pods run on
	seeds := focus || ARRAY(SELECT l.dst FROM unnest(focus) f(id) CROSS JOIN LATERAL (
								SELECT l.dst FROM correlate.relationship l
								WHERE l.tenant = t AND l.src = f.id AND l.kind = 'runs_on' OFFSET 0) l);
	FOR i IN 1..4 LOOP
		SELECT array_agg(l.id), array_agg(l.src) || array_agg(l.dst),
			   array_agg(DISTINCT l.src) FILTER (WHERE l.src <> ALL (inet_ids))
		INTO step, step_ends, seeds
		FROM (SELECT DISTINCT x FROM unnest(seeds) x) s(id) CROSS JOIN LATERAL (
			SELECT l.id, l.src, l.dst FROM correlate.relationship l
			WHERE l.tenant = t AND l.dst = s.id AND l.kind IN ('exposes', 'routes_to') OFFSET 0) l;
		EXIT WHEN step IS NULL;
		ll := ll || step;
		ends := ends || step_ends;
		EXIT WHEN seeds IS NULL;
	END LOOP;
	-- RBAC: every binding (subject -> role), so a target in focus meets all who reach it
	IF rbac THEN
		SELECT ll || COALESCE(array_agg(l.id), '{}'), ends || COALESCE(array_agg(l.src) || array_agg(l.dst), '{}')
		INTO ll, ends
		FROM correlate.resource r CROSS JOIN LATERAL (
			SELECT l.id, l.src, l.dst FROM correlate.relationship l
			WHERE l.tenant = t AND l.dst = r.id AND l.kind = 'can_access' OFFSET 0) l
		WHERE r.tenant = t AND r.kind IN ('k8s:role', 'k8s:clusterrole');
		ends := ends || ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.kind = 'k8s:group');
		-- a subject or group in focus reaches every target of its cluster
		ends := ends || ARRAY(
			SELECT r.id FROM correlate.resource r
			WHERE r.tenant = t AND r.kind IN ('k8s:pod', 'k8s:serviceaccount', 'k8s:node', 'k8s:secret', 'k8s:user', 'k8s:group')
			  AND r.cluster IN (SELECT s.cluster FROM correlate.resource s
								WHERE s.tenant = t AND s.id = ANY (focus) AND s.kind IN ('k8s:serviceaccount', 'k8s:user', 'k8s:group')));
	END IF;
	relationships := ARRAY(SELECT DISTINCT x FROM unnest(ll) x WHERE x IS NOT NULL);
	resources := ARRAY(SELECT DISTINCT x FROM unnest(ends || focus || pair_src || inet_ids || seeds) x WHERE x IS NOT NULL);
END
$$;
COMMENT ON FUNCTION correlate._attack_region(bigint[], bigint[], bigint[]) IS 'Internal: the resources and relationships that the attack edges with an end in focus, and the single-relationship edges of the pairs, rest on.';

-- The techniques whose edge src -> dst reads only the relationships between src and
-- dst and the two resources: a change to such a relationship re-derives that pair only.
CREATE FUNCTION correlate._attack_pair_techniques() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ARRAY['node_cloud_identity', 'pod_service_account_token', 'pod_mounted_secret', 'k8s_irsa', 'iam_assume_role',
				   'iam_privilege_escalation', 'cloud_data_access', 'public_resource_policy', 'data_contains'] $$;
COMMENT ON FUNCTION correlate._attack_pair_techniques() IS 'Internal: techniques whose edge rests only on the relationships between its two ends and on the two resources.';

-- The stored edges a derivation over focus and pairs derives anew (all the tenant's
-- without focus): an end in focus (an internet source does not count), or a
-- single-relationship edge between a pair.  One index lookup per id.
CREATE FUNCTION correlate._attack_stored(focus bigint[], pair_src bigint[], pair_dst bigint[])
RETURNS TABLE (id bigint, src bigint, dst bigint, technique text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET enable_nestloop = on
SET jit = off
AS $$
	WITH t AS MATERIALIZED (
		SELECT x.t, ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = x.t AND r.kind = 'internet') AS inet
		FROM (SELECT correlate.current_tenant() AS t) x)
	SELECT a.id, a.src, a.dst, a.technique FROM correlate.attack_edge a
	WHERE focus IS NULL AND a.tenant = (SELECT t.t FROM t)
	UNION ALL (
		SELECT a.id, a.src, a.dst, a.technique FROM t, unnest(focus) f(id) CROSS JOIN LATERAL (
			SELECT a.* FROM correlate.attack_edge a WHERE a.tenant = t.t AND a.dst = f.id
			UNION ALL
			SELECT a.* FROM correlate.attack_edge a WHERE a.tenant = t.t AND a.src = f.id AND a.src <> ALL (t.inet)
			OFFSET 0) a
		WHERE focus IS NOT NULL
		UNION
		SELECT a.id, a.src, a.dst, a.technique FROM t, unnest(pair_src, pair_dst) p(a, b) CROSS JOIN LATERAL (
			SELECT a.* FROM correlate.attack_edge a
			WHERE a.tenant = t.t AND a.src = p.a AND a.dst = p.b
			  AND a.technique = ANY (correlate._attack_pair_techniques())
			OFFSET 0) a
		WHERE focus IS NOT NULL)
$$;
COMMENT ON FUNCTION correlate._attack_stored(bigint[], bigint[], bigint[]) IS 'Internal: the current tenant''s stored attack edges that a derivation over focus and the pairs derives anew (all of them without focus).';

CREATE FUNCTION correlate._attack_edges(what_if jsonb, focus bigint[], pair_src bigint[] DEFAULT '{}', pair_dst bigint[] DEFAULT '{}')
RETURNS TABLE (id bigint, src bigint, dst bigint, technique text, attack_id text, likelihood float8, because jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- the rules hash and sort every relationship once: in memory, not on disk
SET work_mem = '256MB'
-- the rules join CTEs whose sizes the planner cannot estimate: a nested loop over
-- two of them rescans one per row of the other (minutes on 20,000 resources)
SET enable_nestloop = off
-- the focus arrays are constants of each plan, so the index scans they drive are chosen
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	w record;
	prior float8 := COALESCE(NULLIF(current_setting('correlate.attack_unknown_weakness_prior', true), '')::float8, 0);
	host_dirs text[] := ARRAY['/', '/etc', '/root', '/proc', '/sys', '/dev', '/boot', '/home', '/var/lib/kubelet'];
	sockets text[] := ARRAY['/var/run', '/run', '/var/run/docker.sock', '/run/docker.sock', '/var/run/containerd',
							'/run/containerd', '/var/run/containerd/containerd.sock', '/run/containerd/containerd.sock',
							'/var/run/crio', '/run/crio', '/var/run/crio/crio.sock', '/run/crio/crio.sock',
							'/var/run/dockershim.sock', '/var/lib/docker'];
	rr bigint[];        -- with focus: the resources whose facts are read
	ll bigint[];        -- with focus: the relationships read
	inet_ids bigint[];
BEGIN
	w := correlate._what_if(what_if);
	IF focus IS NOT NULL THEN
		inet_ids := ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.kind = 'internet');
		SELECT g.resources, g.relationships INTO rr, ll FROM correlate._attack_region(focus, pair_src, pair_dst) g;
	END IF;
	RETURN QUERY
	WITH RECURSIVE
	tech AS (SELECT * FROM correlate.attack_technique a WHERE a.enabled),
	res AS MATERIALIZED (
		SELECT r.id, r.kind, r.domain, r.name, r.cluster, r.namespace,
			   CASE WHEN w.set_props ? r.id::text THEN r.props || (w.set_props -> r.id::text) ELSE r.props END AS props
		-- with focus, one index lookup per resource of the region (never a scan of the estate)
		FROM (SELECT r.* FROM correlate.resource r WHERE focus IS NULL AND r.tenant = t
			  UNION ALL
			  SELECT r.* FROM unnest(rr) i(id)
			  CROSS JOIN LATERAL (SELECT r.* FROM correlate.resource r WHERE r.tenant = t AND r.id = i.id OFFSET 0) r) r
		WHERE NOT r.id = ANY (w.remove_resources)
	),
	rel AS MATERIALIZED (
		SELECT l.id, l.src, l.dst, l.kind, l.likelihood, l.props, l.source,
			   CASE WHEN jsonb_typeof(l.props->'fix_cost') = 'number' THEN l.props->'fix_cost' END AS fix_cost
		FROM (SELECT l.* FROM correlate.relationship l WHERE focus IS NULL AND l.tenant = t
			  UNION ALL
			  SELECT l.* FROM unnest(ll) i(id)
			  CROSS JOIN LATERAL (SELECT l.* FROM correlate.relationship l WHERE l.tenant = t AND l.id = i.id OFFSET 0) l) l
		WHERE NOT l.id = ANY (w.remove_relationships)
		  AND NOT l.src = ANY (w.remove_resources) AND NOT l.dst = ANY (w.remove_resources)
		  AND (cardinality(w.remove_statements) = 0 OR NOT COALESCE((
				SELECT bool_and(x.s::bigint = ANY (w.remove_statements)) FROM (
					SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.props->'statements') = 'array'
														  THEN l.props->'statements' ELSE '[]' END) AS s
					UNION ALL
					SELECT l.props->>'statement' WHERE jsonb_typeof(l.props->'statement') = 'number') x
				WHERE x.s ~ '^[0-9]{1,18}$'), false))
	),
	fnd AS MATERIALIZED (
		SELECT f.id, f.resource, f.kind, f.check_id, f.cvss, f.epss, f.known_exploited,
			   f.props->>'cvss_vector' AS vector
		FROM (SELECT f.* FROM correlate.finding f WHERE focus IS NULL AND f.tenant = t
			  UNION ALL
			  SELECT f.* FROM unnest(rr) i(id)
			  CROSS JOIN LATERAL (SELECT f.* FROM correlate.finding f WHERE f.tenant = t AND f.resource = i.id OFFSET 0) f) f
		WHERE f.status = 'open' AND f.kind IN ('vulnerability', 'exposure')
		  AND NOT f.id = ANY (w.patch) AND NOT f.resource = ANY (w.remove_resources)
	),
	inet AS (SELECT r.id FROM res r WHERE r.kind = 'internet'),
	-- Workloads and their parts (containers, images): a weakness of a part is the workload's.
	wl AS MATERIALIZED (
		SELECT r.id, r.kind FROM res r
		WHERE r.kind IN ('k8s:pod', 'aws:ec2:instance', 'aws:lambda:function', 'aws:ecs:task', 'container')
	),
	parts1 AS (
		SELECT x.id AS w, x.id AS part FROM wl x
		UNION
		SELECT l.src, l.dst FROM rel l JOIN wl x ON x.id = l.src WHERE l.kind IN ('contains', 'uses_image')
		UNION
		SELECT l.dst, l.src FROM rel l JOIN wl x ON x.id = l.dst AND x.kind = 'k8s:pod'
		JOIN res c ON c.id = l.src AND c.kind = 'container' WHERE l.kind = 'runs_on'
	),
	parts AS MATERIALIZED (
		SELECT p.w, p.part FROM parts1 p
		UNION
		SELECT p.w, l.dst FROM parts1 p JOIN rel l ON l.src = p.part AND l.kind = 'uses_image' WHERE p.part <> p.w
	),
	-- Exposure: chains of exposes / routes_to from the internet (at most 4 hops).
	expo (node, rels, lk, fix, depth) AS (
		SELECT l.dst, ARRAY[l.id], l.likelihood, l.fix_cost, 1
		FROM rel l JOIN inet i ON i.id = l.src WHERE l.kind IN ('exposes', 'routes_to')
		UNION ALL
		SELECT l.dst, e.rels || l.id, e.lk * l.likelihood, GREATEST(e.fix, l.fix_cost), e.depth + 1
		FROM expo e JOIN rel l ON l.src = e.node AND l.kind IN ('exposes', 'routes_to')
		WHERE e.depth < 4 AND NOT l.id = ANY (e.rels)
	),
	-- A pod on the host network, or publishing a hostPort, is exposed where its node is.
	host_exposed AS (
		SELECT l.src AS node, e.rels || l.id AS rels, e.lk, e.fix
		FROM expo e JOIN res n ON n.id = e.node AND n.kind = 'k8s:node'
		JOIN rel l ON l.dst = n.id AND l.kind = 'runs_on'
		JOIN res p ON p.id = l.src AND p.kind = 'k8s:pod'
		WHERE p.props->>'host_network' = 'true'
		   OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p.props->'containers') = 'array'
															  THEN p.props->'containers' ELSE '[]' END) c,
							 jsonb_array_elements(CASE WHEN jsonb_typeof(c->'ports') = 'array' THEN c->'ports' ELSE '[]' END) pt
					  WHERE pt ? 'hostPort')
	),
	exposed AS (
		SELECT DISTINCT ON (e.node) e.node AS w, e.rels, e.fix
		FROM (SELECT e1.node, e1.rels, e1.lk, e1.fix FROM expo e1 UNION ALL SELECT * FROM host_exposed) e
		JOIN wl x ON x.id = e.node AND x.kind <> 'container'
		ORDER BY e.node, e.lk DESC, cardinality(e.rels), e.rels
	),
	weak AS (
		SELECT e.w, f.id AS fid, f.check_id,
			   CASE WHEN f.kind = 'exposure' THEN 0.6
					WHEN f.known_exploited THEN 0.9
					WHEN f.epss IS NOT NULL THEN 0.3 + 0.6 * f.epss
					WHEN f.cvss IS NOT NULL THEN 0.1 + 0.04 * f.cvss
					ELSE 0.1 END::float8 AS lk
		FROM exposed e JOIN parts p ON p.w = e.w JOIN fnd f ON f.resource = p.part
		WHERE f.kind = 'exposure'
		   OR (f.vector IS NOT NULL AND f.vector ~ '(^|/)AV:N(/|$)')
		   OR (f.vector IS NULL AND (f.known_exploited OR f.epss >= 0.1))
	),
	entry AS (
		SELECT e.w, e.rels, e.fix, max(k.lk) AS lk,
			   array_agg(DISTINCT k.fid ORDER BY k.fid) FILTER (WHERE k.fid IS NOT NULL) AS fids,
			   array_agg(DISTINCT k.check_id ORDER BY k.check_id) FILTER (WHERE k.fid IS NOT NULL) AS checks
		FROM exposed e LEFT JOIN weak k ON k.w = e.w
		GROUP BY e.w, e.rels, e.fix
	),
	-- Observed inbound traffic from the internet: evidence, never an edge of its own.
	seen_in AS (
		SELECT p.w, array_agg(DISTINCT l.id ORDER BY l.id) AS ids
		FROM rel l JOIN inet i ON i.id = l.src JOIN parts p ON p.part = l.dst
		WHERE l.kind = 'connects_to' GROUP BY p.w
	),
	e_entry AS (
		SELECT i.id AS src, en.w AS dst, 'exploit_public_workload'::text AS technique,
			   CASE WHEN o.ids IS NULL THEN x.lk0 ELSE 1 - (1 - x.lk0) / 2 END AS lk,
			   jsonb_strip_nulls(jsonb_build_object(
				   'exposure', to_jsonb(en.rels), 'findings', to_jsonb(en.fids), 'vulnerabilities', to_jsonb(en.checks),
				   'prior', CASE WHEN en.fids IS NULL THEN to_jsonb(prior) END,
				   'observed', to_jsonb(o.ids), 'fix_cost', en.fix)) AS because
		FROM entry en CROSS JOIN inet i
		LEFT JOIN seen_in o ON o.w = en.w
		CROSS JOIN LATERAL (SELECT COALESCE(en.lk, CASE WHEN prior > 0 THEN prior END) AS lk0) x
		WHERE x.lk0 IS NOT NULL
	),
	-- Pods with a container that Falco (or another sensor) saw running privileged.
	priv_ctr AS (
		SELECT DISTINCT p.w FROM parts p JOIN res c ON c.id = p.part AND c.kind = 'container'
		WHERE p.w <> p.part AND c.props->>'privileged' = 'true'
	),
	-- Pod security facts; props of the pod itself (privileged, capabilities, host_pid,
	-- host_paths) override what its containers say, which is how what-if sets them.
	pods AS MATERIALIZED (
		SELECT r.id, r.props,
			   CASE WHEN jsonb_typeof(r.props->'privileged') = 'boolean' THEN (r.props->>'privileged')::boolean
					ELSE EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.props->'containers') = 'array'
																		 THEN r.props->'containers' ELSE '[]' END) c
								 WHERE c #>> '{securityContext,privileged}' = 'true')
						 OR pc.w IS NOT NULL END AS privileged,
			   ARRAY(SELECT DISTINCT upper(regexp_replace(x, '^[Cc][Aa][Pp]_', ''))
					 FROM jsonb_array_elements_text(
						 CASE WHEN jsonb_typeof(r.props->'capabilities') = 'array' THEN r.props->'capabilities'
							  ELSE COALESCE((SELECT jsonb_agg(a) FROM jsonb_array_elements(
												 CASE WHEN jsonb_typeof(r.props->'containers') = 'array'
													  THEN r.props->'containers' ELSE '[]' END) c,
											 jsonb_array_elements(CASE WHEN jsonb_typeof(c #> '{securityContext,capabilities,add}') = 'array'
																	  THEN c #> '{securityContext,capabilities,add}' ELSE '[]' END) a
											 WHERE jsonb_typeof(a) = 'string'), '[]') END) x) AS caps,
			   r.props->>'host_pid' = 'true' AS host_pid,
			   ARRAY(SELECT CASE WHEN x ~ '^/+$' THEN '/' ELSE rtrim(x, '/') END
					 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.props->'host_paths') = 'array'
														 THEN r.props->'host_paths' ELSE '[]' END) x) AS paths
		FROM res r LEFT JOIN priv_ctr pc ON pc.w = r.id
		WHERE r.kind = 'k8s:pod'
	),
	runs_on AS (
		SELECT l.id, l.src AS pod, l.dst AS node, l.fix_cost
		FROM rel l JOIN pods p ON p.id = l.src JOIN res n ON n.id = l.dst AND n.kind = 'k8s:node'
		WHERE l.kind = 'runs_on'
	),
	e_escape AS (
		SELECT ro.pod AS src, ro.node AS dst, x.technique, NULL::float8 AS lk,
			   jsonb_build_object('relationships', jsonb_build_array(ro.id), 'resource', ro.pod) || x.why
			   || jsonb_strip_nulls(jsonb_build_object('fix_cost', ro.fix_cost)) AS because
		FROM runs_on ro JOIN pods p ON p.id = ro.pod
		CROSS JOIN LATERAL (VALUES
			('container_escape_privileged', CASE WHEN p.privileged THEN '{"privileged": true}'::jsonb END),
			('container_escape_sys_module', CASE WHEN p.caps && ARRAY['SYS_MODULE', 'ALL'] THEN '{"capabilities": ["SYS_MODULE"]}'::jsonb END),
			('container_escape_sys_admin', CASE WHEN p.caps && ARRAY['SYS_ADMIN', 'ALL'] THEN '{"capabilities": ["SYS_ADMIN"]}'::jsonb END),
			('container_escape_sys_ptrace', CASE WHEN p.caps && ARRAY['SYS_PTRACE', 'ALL'] AND p.host_pid
												 THEN '{"capabilities": ["SYS_PTRACE"], "host_pid": true}'::jsonb END),
			-- the host's root, or one of its sensitive trees or a path below one (e.g. /proc/sys/kernel:
			-- core_pattern; /var/lib/kubelet/pods: every pod's tokens)
			('container_escape_host_mount', CASE WHEN EXISTS (SELECT 1 FROM unnest(p.paths) x, unnest(host_dirs) d
															  WHERE x = d OR (d <> '/' AND x LIKE d || '/%'))
												 THEN jsonb_build_object('host_paths', to_jsonb(ARRAY(
													 SELECT DISTINCT x FROM unnest(p.paths) x, unnest(host_dirs) d
													 WHERE x = d OR (d <> '/' AND x LIKE d || '/%') ORDER BY x))) END),
			('container_escape_var_log', CASE WHEN EXISTS (SELECT 1 FROM unnest(p.paths) x WHERE x = '/var/log' OR x LIKE '/var/log/%')
											  THEN jsonb_build_object('host_paths', to_jsonb(ARRAY(SELECT x FROM unnest(p.paths) x WHERE x = '/var/log' OR x LIKE '/var/log/%' ORDER BY x))) END),
			('container_escape_runtime_socket', CASE WHEN p.paths && sockets
													 THEN jsonb_build_object('host_paths', to_jsonb(ARRAY(SELECT x FROM unnest(p.paths) x WHERE x = ANY (sockets) ORDER BY x))) END)
		) x(technique, why)
		WHERE x.why IS NOT NULL
	),
	e_node AS (
		SELECT ro.node AS src, ro.pod AS dst, 'node_controls_pod'::text AS technique, NULL::float8 AS lk,
			   jsonb_build_object('relationships', jsonb_build_array(ro.id)) AS because
		FROM runs_on ro
	),
	e_identity AS (
		SELECT l.src, l.dst, 'node_cloud_identity'::text AS technique, NULL::float8 AS lk,
			   jsonb_build_object('relationships', jsonb_build_array(l.id))
			   || jsonb_strip_nulls(jsonb_build_object('fix_cost', l.fix_cost)) AS because
		FROM rel l
		JOIN res s ON s.id = l.src AND s.kind IN ('k8s:node', 'aws:ec2:instance', 'aws:lambda:function', 'aws:ecs:task')
		JOIN res d ON d.id = l.dst AND d.kind IN ('aws:iam:role', 'aws:iam:instance-profile')
		WHERE l.kind = 'runs_as' AND s.props->>'imds_blocked' IS DISTINCT FROM 'true'
		UNION ALL
		SELECT l.src, l.dst, 'pod_service_account_token', NULL,
			   jsonb_build_object('relationships', jsonb_build_array(l.id))
			   || jsonb_strip_nulls(jsonb_build_object('fix_cost', l.fix_cost))
		FROM rel l JOIN pods p ON p.id = l.src
		JOIN res sa ON sa.id = l.dst AND sa.kind = 'k8s:serviceaccount'
		-- the pod's own setting (props of the pod, or the pod spec the ingest keeps on runs_as)
		-- overrides the service account's, as the kubelet does; unset everywhere: mounted
		WHERE l.kind = 'runs_as'
		  AND COALESCE(CASE WHEN jsonb_typeof(p.props->'automount_token') = 'boolean' THEN p.props->>'automount_token' END,
					   CASE WHEN jsonb_typeof(l.props->'automount_token') = 'boolean' THEN l.props->>'automount_token' END,
					   CASE WHEN jsonb_typeof(sa.props->'automount_token') = 'boolean' THEN sa.props->>'automount_token' END,
					   'true') = 'true'
		UNION ALL
		-- Kubernetes system groups: every service account is in system:serviceaccounts,
		-- system:serviceaccounts:<its namespace> and system:authenticated; every user in
		-- system:authenticated.  A binding to such a group grants each member.
		SELECT m.id, g.id, 'k8s_group_member', NULL, jsonb_build_object('group', g.name)
		FROM res g JOIN res m ON m.cluster IS NOT DISTINCT FROM g.cluster AND m.kind IN ('k8s:serviceaccount', 'k8s:user')
		WHERE g.kind = 'k8s:group'
		  AND (g.name = 'system:authenticated'
			   OR (m.kind = 'k8s:serviceaccount'
				   AND (g.name = 'system:serviceaccounts' OR g.name = 'system:serviceaccounts:' || m.namespace)))
		UNION ALL
		-- Anonymous access: an unauthenticated request is in system:unauthenticated.
		SELECT i.id, g.id, 'k8s_anonymous_access', NULL, jsonb_build_object('group', g.name)
		FROM res g CROSS JOIN inet i
		WHERE g.kind = 'k8s:group' AND g.name = 'system:unauthenticated'
		UNION ALL
		SELECT l.src, l.dst, 'pod_mounted_secret', NULL,
			   jsonb_build_object('relationships', jsonb_build_array(l.id))
			   || jsonb_strip_nulls(jsonb_build_object('fix_cost', l.fix_cost))
		FROM rel l JOIN pods p ON p.id = l.src JOIN res s ON s.id = l.dst AND s.kind = 'k8s:secret'
		WHERE l.kind = 'mounts'
	),
	-- RBAC: each bound rule, expanded to (verb, resource), in the binding's scope.
	grants AS MATERIALIZED (
		SELECT l.id AS rel_id, l.src AS subj, COALESCE(s.cluster, ro.cluster) AS cluster, b.value->>'scope' AS scope,
			   r.value AS rule
		FROM rel l
		JOIN res s ON s.id = l.src AND s.kind IN ('k8s:serviceaccount', 'k8s:user', 'k8s:group')
		JOIN res ro ON ro.id = l.dst AND ro.kind IN ('k8s:role', 'k8s:clusterrole')
		CROSS JOIN LATERAL jsonb_each(l.props) b
		CROSS JOIN LATERAL jsonb_array_elements(
			CASE WHEN jsonb_typeof(l.props->'rules') = 'array' THEN l.props->'rules'
				 WHEN jsonb_typeof(ro.props->'rules') = 'array' THEN ro.props->'rules' ELSE '[]' END) r
		WHERE l.kind = 'can_access' AND b.key LIKE 'binding:%' AND jsonb_typeof(b.value) = 'object'
		  AND b.value->>'scope' IS NOT NULL AND jsonb_typeof(r.value) = 'object'
	),
	perms AS MATERIALIZED (
		SELECT g.rel_id, g.subj, g.cluster, g.scope, lower(v) AS verb, lower(rs) AS resource,
			   CASE WHEN jsonb_typeof(g.rule->'resourceNames') = 'array' AND jsonb_array_length(g.rule->'resourceNames') > 0
					THEN ARRAY(SELECT jsonb_array_elements_text(g.rule->'resourceNames')) END AS names
		FROM grants g,
			 jsonb_array_elements_text(CASE WHEN jsonb_typeof(g.rule->'verbs') = 'array' THEN g.rule->'verbs' ELSE '[]' END) v,
			 jsonb_array_elements_text(CASE WHEN jsonb_typeof(g.rule->'resources') = 'array' THEN g.rule->'resources' ELSE '[]' END) rs
	),
	hits AS (
		SELECT p.*, x.technique, x.kinds
		FROM perms p CROSS JOIN LATERAL (VALUES
			('k8s_pod_exec', ARRAY['k8s:pod'],
			 p.verb IN ('create', '*') AND p.resource IN ('pods/exec', 'pods/attach', '*')),
			('k8s_pod_create', ARRAY['k8s:serviceaccount', 'k8s:node'],
			 (p.verb IN ('create', '*') AND p.resource IN ('pods', '*'))
			 OR (p.verb IN ('create', 'patch', 'update') AND p.resource IN ('pods', 'deployments', 'daemonsets', 'statefulsets',
																		  'replicasets', 'replicationcontrollers', 'jobs', 'cronjobs'))
			 OR (p.verb = '*' AND p.resource IN ('deployments', 'daemonsets', 'statefulsets', 'replicasets',
												 'replicationcontrollers', 'jobs', 'cronjobs'))),
			('k8s_secret_read', ARRAY['k8s:secret'],
			 p.verb IN ('get', 'list', 'watch', '*') AND p.resource IN ('secrets', '*')),
			('k8s_role_bind', ARRAY['k8s:serviceaccount'],
			 (p.verb IN ('bind', 'escalate', '*') AND p.resource IN ('roles', 'clusterroles', '*'))
			 OR (p.verb IN ('create', '*') AND p.resource IN ('rolebindings', 'clusterrolebindings'))),
			('k8s_impersonate', CASE p.resource WHEN 'users' THEN ARRAY['k8s:user'] WHEN 'groups' THEN ARRAY['k8s:group']
												WHEN 'serviceaccounts' THEN ARRAY['k8s:serviceaccount']
												ELSE ARRAY['k8s:user', 'k8s:group', 'k8s:serviceaccount'] END,
			 p.verb IN ('impersonate', '*') AND p.resource IN ('users', 'groups', 'serviceaccounts', '*')),
			('k8s_token_create', ARRAY['k8s:serviceaccount'],
			 p.verb IN ('create', '*') AND p.resource IN ('serviceaccounts/token', '*'))
		) x(technique, kinds, ok)
		WHERE x.ok
	),
	e_rbac AS (
		SELECT h.subj AS src, tr.id AS dst, h.technique, NULL::float8 AS lk,
			   jsonb_build_object('relationships', to_jsonb(array_agg(DISTINCT h.rel_id ORDER BY h.rel_id)),
								  'grants', to_jsonb(array_agg(DISTINCT h.verb || ' ' || h.resource ORDER BY h.verb || ' ' || h.resource))) AS because
		FROM hits h
		JOIN res tr ON tr.kind = ANY (h.kinds) AND tr.cluster IS NOT DISTINCT FROM h.cluster
				   AND (h.scope = '*' OR tr.namespace = h.scope OR tr.kind IN ('k8s:node', 'k8s:user', 'k8s:group'))
				   AND (h.names IS NULL OR h.technique = 'k8s_pod_create' OR tr.name = ANY (h.names))
		WHERE tr.id <> h.subj
		  AND NOT (tr.kind IN ('k8s:user', 'k8s:group', 'k8s:node') AND h.scope <> '*' AND h.technique <> 'k8s_pod_create')
		GROUP BY h.subj, tr.id, h.technique
	),
	-- Cloud identity and data: the IAM policy engine's edges, and what stores contain.
	e_cloud AS (
		SELECT l.src, l.dst, k.technique,
			   -- an observed use (props.observed) halves the remaining doubt
			   CASE WHEN l.props ? 'observed' THEN 1 - (1 - x.lk0) / 2 ELSE x.lk0 END AS lk,
			   jsonb_strip_nulls(jsonb_build_object('relationships', jsonb_build_array(l.id),
					'statements', CASE WHEN jsonb_typeof(l.props->'statements') = 'array' THEN l.props->'statements'
									   WHEN jsonb_typeof(l.props->'statement') = 'number' THEN jsonb_build_array(l.props->'statement') END,
					'via', l.props->'via', 'iam_technique', l.props->'technique',
					'observed', l.props->'observed', 'fix_cost', l.fix_cost)) AS because
		FROM rel l JOIN res s ON s.id = l.src JOIN res d ON d.id = l.dst
		CROSS JOIN LATERAL (SELECT CASE WHEN l.kind = 'assumes' AND s.kind = 'k8s:serviceaccount' THEN 'k8s_irsa'
										WHEN l.kind = 'assumes' THEN 'iam_assume_role'
										WHEN l.kind = 'can_escalate_to' THEN 'iam_privilege_escalation'
										WHEN l.kind = 'can_access' AND s.kind = 'internet' THEN 'public_resource_policy'
										WHEN l.kind = 'can_access' THEN 'cloud_data_access'
										ELSE 'data_contains' END AS technique) k
		JOIN tech tc ON tc.technique = k.technique
		CROSS JOIN LATERAL (SELECT CASE WHEN k.technique = 'k8s_irsa'
										THEN CASE WHEN l.props->>'decision' = 'allow' THEN 0.9 ELSE tc.base_likelihood END
										WHEN k.technique = 'data_contains' THEN tc.base_likelihood
										ELSE l.likelihood END::float8 AS lk0) x
		WHERE (l.kind = 'assumes' AND l.props->>'decision' IS DISTINCT FROM 'deny'
			   AND (s.kind = 'k8s:serviceaccount' OR s.domain = 'identity'
					OR (s.kind = 'internet' AND l.source = 'iam_policy')))
		   OR (l.kind = 'can_access' AND s.kind = 'internet' AND l.source = 'iam_policy')
		   OR (l.kind = 'can_escalate_to' AND s.domain = 'identity')
		   OR (l.kind = 'can_access' AND s.kind LIKE 'aws:%' AND s.domain = 'identity')
		   OR (l.kind = 'contains' AND s.domain = 'data' AND d.domain = 'data')
	),
	edges AS (
		SELECT * FROM e_entry
		UNION ALL SELECT * FROM e_escape
		UNION ALL SELECT * FROM e_node
		UNION ALL SELECT * FROM e_identity
		UNION ALL SELECT * FROM e_rbac
		UNION ALL SELECT * FROM e_cloud
	),
	-- Each rule yields one edge per (src, dst, technique) (RBAC aggregates its grants).
	scored AS (
		SELECT e.src, e.dst, e.technique, tc.attack_id,
			   LEAST(1.0, GREATEST(1e-9, COALESCE(e.lk, tc.base_likelihood)))::float8 AS likelihood,
			   e.because
		FROM edges e JOIN tech tc ON tc.technique = e.technique
		WHERE e.src <> e.dst
	)
	SELECT COALESCE(a.id, -row_number() OVER (ORDER BY s.src, s.dst, s.technique)), s.src, s.dst, s.technique,
		   s.attack_id, round(s.likelihood::numeric, 12)::float8, s.because
	FROM scored s
	LEFT JOIN correlate._attack_stored(focus, pair_src, pair_dst) a
		ON a.src = s.src AND a.dst = s.dst AND a.technique = s.technique
	WHERE focus IS NULL OR s.dst = ANY (focus) OR (s.src = ANY (focus) AND s.src <> ALL (inet_ids))
	   OR (s.technique = ANY (correlate._attack_pair_techniques())
		   AND (s.src, s.dst) IN (SELECT p.a, p.b FROM unnest(pair_src, pair_dst) p(a, b)))
	ORDER BY s.src, s.dst, s.technique;
END
$$;
COMMENT ON FUNCTION correlate._attack_edges(jsonb, bigint[], bigint[], bigint[])
	IS 'Internal: the attack edges derived from the facts (after the what-if changes); with focus, only the edges with an end in focus (an internet source does not count) and the single-relationship edges between the pairs pair_src[i] -> pair_dst[i], reading only the facts they rest on.';



CREATE FUNCTION correlate.attack_edges_derived(what_if jsonb DEFAULT NULL)
RETURNS TABLE (id bigint, src bigint, dst bigint, technique text, attack_id text, likelihood float8, because jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM correlate._attack_edges(what_if, NULL) $$;
COMMENT ON FUNCTION correlate.attack_edges_derived(jsonb)
	IS 'The attack edges the technique catalogue derives from the current facts, or from the facts as they would be after the what-if changes (patch findings, remove relationships / statements / resources, set resource props), without writing; id is the stored edge''s id, negative for an edge not stored.';

CREATE FUNCTION correlate.merge_image_aliases() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	n bigint := 0;
	m record;
BEGIN
	-- An image known by tag (image://registry/repo:tag, as Falco names it) is the
	-- image known by digest when something links the two: a container or pod that
	-- uses both, a container whose imageID names the digest, or scanner metadata
	-- (Trivy's RepoTags) listing the tag.  Only an unambiguous digest is merged.
	FOR m IN
		WITH tags AS (
			SELECT r.id, r.uid, substr(r.uid, 9) AS ref FROM correlate.resource r
			WHERE r.tenant = t AND r.kind = 'container:image' AND r.uid LIKE 'image://%'
			  AND r.uid NOT LIKE 'image://sha256:%' AND r.uid NOT LIKE '%@sha256:%'
		),
		digests AS (
			SELECT r.id, substr(r.uid, 16) AS digest, r.props FROM correlate.resource r
			WHERE r.tenant = t AND r.kind = 'container:image' AND r.uid LIKE 'image://sha256:%'
		),
		cand AS (
			SELECT DISTINCT tg.id AS tag_id, d.id AS digest_id
			FROM tags tg JOIN digests d ON
				(jsonb_typeof(d.props->'repo_tags') = 'array' AND d.props->'repo_tags' ? tg.ref)
				OR EXISTS (SELECT 1 FROM correlate.relationship a JOIN correlate.relationship b
						   ON b.tenant = t AND b.src = a.src AND b.kind = 'uses_image' AND b.dst = d.id
						   WHERE a.tenant = t AND a.kind = 'uses_image' AND a.dst = tg.id)
				OR EXISTS (SELECT 1 FROM correlate.relationship a JOIN correlate.resource c
						   ON c.tenant = t AND c.id = a.src AND c.kind = 'container'
						   WHERE a.tenant = t AND a.kind = 'uses_image' AND a.dst = tg.id
							 AND c.props->>'image_id' LIKE '%sha256:' || d.digest)
		)
		SELECT c.tag_id, min(c.digest_id) AS digest_id FROM cand c GROUP BY c.tag_id HAVING count(*) = 1
	LOOP
		INSERT INTO correlate.relationship (tenant, src, dst, kind, likelihood, props, source, first_seen, last_seen)
		SELECT t, CASE WHEN l.src = m.tag_id THEN m.digest_id ELSE l.src END,
			   CASE WHEN l.dst = m.tag_id THEN m.digest_id ELSE l.dst END,
			   l.kind, l.likelihood, l.props, l.source, l.first_seen, l.last_seen
		FROM correlate.relationship l
		WHERE l.tenant = t AND (l.src = m.tag_id OR l.dst = m.tag_id) AND l.src <> l.dst
		ON CONFLICT (tenant, src, dst, kind) DO NOTHING;
		UPDATE correlate.finding f SET resource = m.digest_id
		WHERE f.tenant = t AND f.resource = m.tag_id
		  AND NOT EXISTS (SELECT 1 FROM correlate.finding g WHERE g.tenant = t AND g.resource = m.digest_id
						  AND g.kind = f.kind AND g.check_id = f.check_id AND g.package = f.package);
		UPDATE correlate.event e SET actor = m.digest_id WHERE e.tenant = t AND e.actor = m.tag_id;
		UPDATE correlate.event e SET target = m.digest_id WHERE e.tenant = t AND e.target = m.tag_id;
		UPDATE correlate.resource r
		SET props = r.props || jsonb_build_object('aliases',
				COALESCE(CASE WHEN jsonb_typeof(r.props->'aliases') = 'array' THEN r.props->'aliases' END, '[]')
				|| to_jsonb((SELECT x.uid FROM correlate.resource x WHERE x.tenant = t AND x.id = m.tag_id))),
			first_seen = LEAST(r.first_seen, (SELECT x.first_seen FROM correlate.resource x WHERE x.tenant = t AND x.id = m.tag_id)),
			last_seen = GREATEST(r.last_seen, (SELECT x.last_seen FROM correlate.resource x WHERE x.tenant = t AND x.id = m.tag_id))
		WHERE r.tenant = t AND r.id = m.digest_id;
		DELETE FROM correlate.resource r WHERE r.tenant = t AND r.id = m.tag_id;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION correlate.merge_image_aliases()
	IS 'Merges each image known only by tag into the one image known by digest that something links it to (a container or pod using both, a container''s imageID, scanner RepoTags): relationships, findings and events move to the digest image, whose props.aliases keeps the tag''s uid. Returns the number of images merged.';

CREATE FUNCTION correlate.derive_attack_edges(from_scratch boolean DEFAULT false,
	OUT inserted bigint, OUT updated bigint, OUT deleted bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	prior float8 := COALESCE(NULLIF(current_setting('correlate.attack_unknown_weakness_prior', true), '')::float8, 0);
	catalogue text;
	dirty record;
	focus bigint[];
	pair_src bigint[] := '{}';
	pair_dst bigint[] := '{}';
BEGIN
	-- One derivation per tenant at a time; writers of other tenants do not wait.
	PERFORM correlate._progress_begin('derive_attack_edges', 3, 'steps'), correlate._progress_phase('waiting for the tenant''s lock');
	PERFORM correlate._work_lock(t, 'derive_attack_edges');
	PERFORM correlate._progress_phase('merging image aliases');
	PERFORM correlate.merge_image_aliases();
	catalogue := (SELECT md5(string_agg(concat_ws('|', a.technique, a.attack_id, a.base_likelihood), ',' ORDER BY a.technique))
				  FROM correlate.attack_technique a WHERE a.enabled);
	dirty := correlate._attack_dirty_take(catalogue, prior);
	IF NOT from_scratch AND NOT dirty.from_scratch THEN
		-- Incremental: only the edges whose facts changed (docs/attack.md).  When the
		-- change reaches a quarter of the estate, from scratch is as cheap.
		focus := correlate._attack_focus(dirty.resources);
		pair_src := dirty.pair_src;
		pair_dst := dirty.pair_dst;
		IF cardinality(focus) > 10000
		   AND cardinality(focus) > 0.25 * (SELECT count(*) FROM correlate.resource r WHERE r.tenant = t) THEN
			focus := NULL; pair_src := '{}'; pair_dst := '{}';
		END IF;
	END IF;
	PERFORM correlate._progress_phase(CASE WHEN focus IS NULL THEN 'deriving all edges' ELSE 'deriving changed edges' END, 1);
	IF cardinality(focus) = 0 AND cardinality(pair_src) = 0 THEN
		inserted := 0; updated := 0; deleted := 0;
	ELSE
		WITH d AS MATERIALIZED (SELECT * FROM correlate._attack_edges(NULL, focus, pair_src, pair_dst)),
		del AS (
			-- the edges derived anew are the edges with an end in focus (_attack_edges)
			DELETE FROM correlate.attack_edge a
			USING correlate._attack_stored(focus, pair_src, pair_dst) o
			WHERE a.tenant = t AND a.id = o.id
			  AND NOT EXISTS (SELECT 1 FROM d WHERE d.id = o.id)
			RETURNING 1
		),
		upd AS (
			UPDATE correlate.attack_edge a
			SET likelihood = d.likelihood, because = d.because, attack_id = d.attack_id, derived_at = now()
			FROM d
			WHERE a.tenant = t AND a.id = d.id
			  AND (a.likelihood, a.because, a.attack_id) IS DISTINCT FROM (d.likelihood, d.because, d.attack_id)
			RETURNING 1
		),
		ins AS (
			INSERT INTO correlate.attack_edge (tenant, src, dst, technique, attack_id, likelihood, because)
			SELECT t, d.src, d.dst, d.technique, d.attack_id, d.likelihood, d.because
			FROM d WHERE d.id < 0
			ORDER BY d.src, d.dst, d.technique
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd), (SELECT count(*) FROM del)
		INTO inserted, updated, deleted;
	END IF;
	PERFORM correlate._progress_phase('recording', 2);
	PERFORM correlate._attack_derived(catalogue, prior, CASE WHEN focus IS NULL THEN 'from scratch' ELSE 'incremental' END,
									  cardinality(focus) + cardinality(pair_src) / 2);
	PERFORM correlate._progress_end();
END
$$;
COMMENT ON FUNCTION correlate.derive_attack_edges(boolean)
	IS 'Derives the current tenant''s attack graph from its facts (after merging image aliases) and stores it in correlate.attack_edge, writing only edges that appeared, changed or vanished; returns how many of each. Incremental: re-derives only the edges whose facts changed since the last derivation, unless from_scratch (or the catalogue, the weakness prior or an emptied attack_edge says so).';

GRANT SELECT ON correlate.attack_technique, correlate.attack_edge TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.attack_edge TO correlate_writer;
GRANT SELECT, INSERT, DELETE ON correlate.attack_dirty TO correlate_writer;
GRANT SELECT, INSERT, UPDATE ON correlate.attack_derive_state TO correlate_writer;
GRANT INSERT, UPDATE, DELETE ON correlate.attack_technique TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate._what_if(jsonb), correlate.attack_edges_derived(jsonb), correlate._attack_edges(jsonb, bigint[], bigint[], bigint[]),
	correlate._attack_pair_techniques(), correlate._attack_region(bigint[], bigint[], bigint[]),
	correlate._attack_focus(bigint[]), correlate._attack_stored(bigint[], bigint[], bigint[]) TO correlate_reader;
REVOKE ALL ON FUNCTION correlate._attack_dirty_take(text, float8), correlate._attack_derived(text, float8, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION correlate._attack_dirty_take(text, float8), correlate._attack_derived(text, float8, text, bigint) TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate.merge_image_aliases(), correlate.derive_attack_edges(boolean) TO correlate_writer;
