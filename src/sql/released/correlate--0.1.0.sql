-- correlate 0.1.0 as released: the install script generated from src/sql/*.sql at commit 5d3d730. Frozen: never edit.
\echo Use "CREATE EXTENSION correlate" to load this file. \quit

-- ==== src/sql/00_catalog.sql ====
-- 00_catalog.sql: the schema (an extension member, so DROP EXTENSION removes it; the
-- control file names pg_catalog as the extension schema, as pg_cron does) and the catalogs of resource and relationship kinds.
--
-- Kinds are validated against these catalogs so that a typo ('k8s:Pod') is an error
-- instead of a silently disconnected node.  Built-in rows ship with the extension;
-- rows an administrator adds are user data and survive pg_dump.

CREATE SCHEMA correlate;
COMMENT ON SCHEMA correlate IS 'correlate: cross-domain security correlation (resources, relationships, events, findings)';

CREATE TABLE correlate.resource_kind (
	kind        text PRIMARY KEY CHECK (kind ~ '^[a-z0-9][a-z0-9:._-]*$'),
	domain      text NOT NULL CHECK (domain IN ('network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance')),
	description text NOT NULL,
	builtin     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE correlate.resource_kind IS 'Known resource kinds and the domain each belongs to; add rows to teach correlate a new kind.';
COMMENT ON COLUMN correlate.resource_kind.kind IS 'Kind name, lower case, provider:service:type (e.g. aws:iam:role, k8s:pod).';
COMMENT ON COLUMN correlate.resource_kind.domain IS 'Security domain: network, identity, workload, kubernetes, data, cloud or compliance.';
COMMENT ON COLUMN correlate.resource_kind.description IS 'What a resource of this kind is.';
COMMENT ON COLUMN correlate.resource_kind.builtin IS 'True for kinds shipped with the extension (not dumped; recreated by CREATE EXTENSION).';

INSERT INTO correlate.resource_kind (kind, domain, description, builtin) VALUES
	('internet',                    'network',    'The public internet: the outside world every exposure starts from', true),
	('network:ip',                  'network',    'An IP address seen in telemetry that no known resource owns', true),
	('network:cidr',                'network',    'A network range', true),
	('aws:ec2:vpc',                 'network',    'AWS VPC', true),
	('aws:ec2:subnet',              'network',    'AWS subnet', true),
	('aws:ec2:security-group',      'network',    'AWS security group', true),
	('aws:ec2:network-interface',   'network',    'AWS elastic network interface', true),
	('aws:elb:load-balancer',       'network',    'AWS load balancer', true),
	('k8s:service',                 'kubernetes', 'Kubernetes Service', true),
	('k8s:ingress',                 'kubernetes', 'Kubernetes Ingress', true),
	('k8s:networkpolicy',           'kubernetes', 'Kubernetes NetworkPolicy', true),
	('k8s:namespace',               'kubernetes', 'Kubernetes Namespace', true),
	('k8s:cluster',                 'kubernetes', 'Kubernetes cluster', true),
	('k8s:role',                    'kubernetes', 'Kubernetes RBAC Role', true),
	('k8s:clusterrole',             'kubernetes', 'Kubernetes RBAC ClusterRole', true),
	('k8s:rolebinding',             'kubernetes', 'Kubernetes RBAC RoleBinding', true),
	('k8s:clusterrolebinding',      'kubernetes', 'Kubernetes RBAC ClusterRoleBinding', true),
	('k8s:deployment',              'kubernetes', 'Kubernetes Deployment (or other workload controller)', true),
	('k8s:configmap',               'kubernetes', 'Kubernetes ConfigMap', true),
	('k8s:object',                  'kubernetes', 'Any other Kubernetes object', true),
	('k8s:pod',                     'workload',   'Kubernetes Pod', true),
	('k8s:node',                    'workload',   'Kubernetes Node (the host a pod runs on)', true),
	('container',                   'workload',   'A running container, by runtime id', true),
	('container:image',             'workload',   'A container image, by digest or reference', true),
	('process',                     'workload',   'A process observed on a host or in a container', true),
	('aws:ec2:instance',            'workload',   'AWS EC2 instance', true),
	('aws:lambda:function',         'workload',   'AWS Lambda function', true),
	('aws:ecs:task',                'workload',   'AWS ECS task', true),
	('artifact',                    'workload',   'A scanned filesystem, source repository or other artifact', true),
	('k8s:serviceaccount',          'identity',   'Kubernetes ServiceAccount', true),
	('k8s:user',                    'identity',   'Kubernetes user (authenticated name)', true),
	('k8s:group',                   'identity',   'Kubernetes group', true),
	('aws:iam:user',                'identity',   'AWS IAM user', true),
	('aws:iam:group',               'identity',   'AWS IAM group', true),
	('aws:iam:role',                'identity',   'AWS IAM role (assumed-role sessions fold onto it)', true),
	('aws:iam:policy',              'identity',   'AWS IAM managed policy', true),
	('aws:iam:root',                'identity',   'AWS account root user', true),
	('aws:iam:instance-profile',    'identity',   'AWS EC2 instance profile', true),
	('aws:service',                 'identity',   'An AWS service acting as a principal (e.g. ec2.amazonaws.com)', true),
	('aws:principal',               'identity',   'Any other AWS principal (federated user, web identity)', true),
	('aws:s3:bucket',               'data',       'AWS S3 bucket', true),
	('aws:s3:object',               'data',       'AWS S3 object', true),
	('aws:rds:db',                  'data',       'AWS RDS database', true),
	('aws:dynamodb:table',          'data',       'AWS DynamoDB table', true),
	('aws:kms:key',                 'data',       'AWS KMS key', true),
	('aws:secretsmanager:secret',   'data',       'AWS Secrets Manager secret', true),
	('aws:ssm:parameter',           'data',       'AWS SSM parameter', true),
	('k8s:secret',                  'data',       'Kubernetes Secret', true),
	('aws:account',                 'cloud',      'AWS account', true),
	('aws:resource',                'cloud',      'Any other AWS resource, by ARN', true),
	('compliance:control',          'compliance', 'A compliance control or benchmark check', true);

CREATE TABLE correlate.relationship_kind (
	kind               text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
	default_likelihood float8 NOT NULL CHECK (default_likelihood > 0 AND default_likelihood <= 1),
	description        text NOT NULL,
	builtin            boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE correlate.relationship_kind IS 'Known relationship kinds and how easily an attacker crosses each by default.';
COMMENT ON COLUMN correlate.relationship_kind.kind IS 'Kind name, lower case with underscores (e.g. runs_as).';
COMMENT ON COLUMN correlate.relationship_kind.default_likelihood IS 'Likelihood in (0,1] used when a link does not give one.';
COMMENT ON COLUMN correlate.relationship_kind.description IS 'What src -> dst means for this kind.';
COMMENT ON COLUMN correlate.relationship_kind.builtin IS 'True for kinds shipped with the extension.';

INSERT INTO correlate.relationship_kind (kind, default_likelihood, description, builtin) VALUES
	('exposes',         0.9,  'src (internet, load balancer, service, ingress) makes dst reachable', true),
	('routes_to',       0.9,  'src forwards traffic to dst', true),
	('connects_to',     0.5,  'src was observed opening network connections to dst', true),
	('runs_on',         0.6,  'src (pod, container) runs on dst (node, pod): escaping src reaches dst', true),
	('runs_as',         0.9,  'src (pod, instance, function) acts with the identity dst', true),
	('contains',        0.9,  'src holds dst (namespace holds pod, pod holds container, bucket holds object)', true),
	('uses_image',      0.9,  'src (pod, container) runs image dst', true),
	('has_vuln',        0.7,  'src carries a vulnerability or weakness represented by dst', true),
	('mounts',          0.6,  'src mounts dst (secret, volume, host path)', true),
	('assumes',         0.8,  'src can assume or impersonate identity dst', true),
	('member_of',       0.9,  'src is a member of group dst', true),
	('bound_to',        0.9,  'src (binding) grants to subject dst', true),
	('has_policy',      0.9,  'src (principal) has policy dst attached', true),
	('can_access',      0.7,  'src is allowed to read, write or administer dst', true),
	('can_escalate_to', 0.6,  'src can gain the privileges of dst by a known escalation technique', true),
	('can_exec',        0.8,  'src can execute commands inside dst', true),
	('trusts',          0.5,  'src trusts dst (a trust policy naming dst)', true),
	('owns',            0.5,  'src owns or administers dst', true);

-- ==== src/sql/10_tenancy.sql ====
-- 10_tenancy.sql: roles, tenant grants and the function every row-level policy calls.
--
-- A tenant is a label on every row.  The GUC correlate.tenant picks the tenant a
-- session works in; correlate.current_tenant() returns it only if the current
-- role has been granted that tenant in correlate.tenant_access, so setting the
-- GUC alone never opens another tenant's rows.  Policies call it through a
-- scalar subquery, so it runs once per statement, not once per row.
--
-- Roles are cluster-wide and outlive DROP EXTENSION, so they are created only
-- when missing (the one place this script tolerates existing objects).

DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'correlate_reader') THEN
		CREATE ROLE correlate_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'correlate_writer') THEN
		CREATE ROLE correlate_writer NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'correlate_admin') THEN
		CREATE ROLE correlate_admin NOLOGIN;
	END IF;
END
$roles$;

GRANT correlate_reader TO correlate_writer;
GRANT correlate_writer TO correlate_admin;

CREATE TABLE correlate.tenant_access (
	tenant text NOT NULL CHECK (tenant ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
	role   name NOT NULL,
	PRIMARY KEY (tenant, role)
);
COMMENT ON TABLE correlate.tenant_access IS 'Which roles (and their members) may work in which tenant.';
COMMENT ON COLUMN correlate.tenant_access.tenant IS 'Tenant label (organisation, account, region...).';
COMMENT ON COLUMN correlate.tenant_access.role IS 'Role granted the tenant; members of the role inherit it.';

-- No tenant is granted by default, not even 'default': in a multi-tenant install a
-- shared tenant would let every correlate role read (and writers write) the same rows.
-- A single-tenant install grants it once: SELECT correlate.grant_tenant('default',
-- 'correlate_reader');  (docs/concepts.md).  Superusers and BYPASSRLS roles need no grant.

ALTER TABLE correlate.tenant_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_access_own ON correlate.tenant_access FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, role, 'MEMBER')
		   OR pg_catalog.pg_has_role(CURRENT_USER, 'correlate_admin', 'MEMBER'));
CREATE POLICY tenant_access_admin ON correlate.tenant_access FOR ALL
	USING (pg_catalog.pg_has_role(CURRENT_USER, 'correlate_admin', 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(CURRENT_USER, 'correlate_admin', 'MEMBER'));

CREATE FUNCTION correlate.current_tenant() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := COALESCE(NULLIF(current_setting('correlate.tenant', true), ''), 'default');
BEGIN
	IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
	   OR EXISTS (SELECT 1 FROM correlate.tenant_access a
				  WHERE a.tenant = t AND pg_has_role(CURRENT_USER, a.role, 'MEMBER')) THEN
		RETURN t;
	END IF;
	RAISE EXCEPTION 'permission denied for tenant "%"', t
		USING ERRCODE = 'insufficient_privilege',
			  DETAIL = format('Role "%s" has no grant for tenant "%s" in correlate.tenant_access.', CURRENT_USER, t),
			  HINT = 'Ask a correlate_admin to run correlate.grant_tenant(), or SET correlate.tenant to a tenant you were granted.';
END
$$;
COMMENT ON FUNCTION correlate.current_tenant() IS 'The session''s tenant (GUC correlate.tenant, default ''default''), checked against correlate.tenant_access.';

CREATE FUNCTION correlate.grant_tenant(tenant text, role name) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = grant_tenant.role) THEN
		RAISE EXCEPTION 'role "%" does not exist', grant_tenant.role
			USING ERRCODE = 'undefined_object';
	END IF;
	INSERT INTO correlate.tenant_access AS a (tenant, role)
	VALUES (grant_tenant.tenant, grant_tenant.role)
	ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION correlate.grant_tenant(text, name) IS 'Lets role (and its members) work in tenant; correlate_admin only.';

CREATE FUNCTION correlate.revoke_tenant(tenant text, role name) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	DELETE FROM correlate.tenant_access a WHERE a.tenant = revoke_tenant.tenant AND a.role = revoke_tenant.role;
$$;
COMMENT ON FUNCTION correlate.revoke_tenant(text, name) IS 'Withdraws a tenant grant; correlate_admin only.';

-- The one definition of tenant isolation: each table with a tenant column gets
-- row level security and this policy (the script calls it as each concern
-- creates its tables).  Internal; no role may call it.
CREATE FUNCTION correlate._isolate_tenants(VARIADIC tables regclass[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t regclass;
BEGIN
	FOREACH t IN ARRAY tables LOOP
		EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %s
						USING (tenant = (SELECT correlate.current_tenant()))
						WITH CHECK (tenant = (SELECT correlate.current_tenant()))', t);
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate._isolate_tenants(regclass[])
	IS 'Internal to the extension script: enables row level security on each table with the policy tenant = current_tenant().';

-- Work that must run one at a time per tenant (an ingest of one source, a rescore,
-- a correlation run, a policy refresh, the leases of one address) serialises on a
-- row of this table, locked FOR UPDATE until the transaction ends.  Advisory locks
-- were used before, but their keys are open to every role: anyone who can log in
-- could hold a tenant's key and stall its work.  A row here can only be locked by a
-- role with UPDATE on the table (correlate_writer), and row level security limits
-- it to the tenants it was granted.
CREATE TABLE correlate.work_lock (
	tenant text NOT NULL DEFAULT correlate.current_tenant(),
	work   text NOT NULL,
	PRIMARY KEY (tenant, work)
);
COMMENT ON TABLE correlate.work_lock IS 'One row per tenant and kind of work that runs one at a time; writers lock it FOR UPDATE until commit (see correlate._work_lock).';
COMMENT ON COLUMN correlate.work_lock.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.work_lock.work IS 'What the lock serialises, e.g. ingest/cloudtrail, rescore, correlate, refresh_policies, ip/17.';
SELECT correlate._isolate_tenants('correlate.work_lock');

CREATE FUNCTION correlate._work_lock(tenant text, VARIADIC works text[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w text;
BEGIN
	-- In name order, so two transactions taking several never wait on each other in a circle.
	FOR w IN SELECT DISTINCT x.w FROM unnest(works) AS x(w) WHERE x.w IS NOT NULL ORDER BY 1 LOOP
		PERFORM 1 FROM correlate.work_lock l WHERE l.tenant = _work_lock.tenant AND l.work = w FOR UPDATE;
		IF NOT FOUND THEN
			INSERT INTO correlate.work_lock AS l (tenant, work) VALUES (_work_lock.tenant, w) ON CONFLICT DO NOTHING;
			PERFORM 1 FROM correlate.work_lock l WHERE l.tenant = _work_lock.tenant AND l.work = w FOR UPDATE;
			IF NOT FOUND THEN
				RAISE EXCEPTION 'could not lock % in tenant "%"', w, _work_lock.tenant
					USING ERRCODE = 'insufficient_privilege',
						  DETAIL = 'The row that serialises this work is not visible to the role.';
			END IF;
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate._work_lock(text, text[])
	IS 'Internal: waits for and holds, until the transaction ends, the work_lock rows of tenant named by works (created on first use).';

GRANT EXECUTE ON FUNCTION correlate.current_tenant() TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.grant_tenant(text, name), correlate.revoke_tenant(text, name) TO correlate_admin;
GRANT SELECT ON correlate.tenant_access TO correlate_reader;
GRANT SELECT, INSERT, UPDATE ON correlate.work_lock TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate._work_lock(text, text[]) TO correlate_writer;
GRANT INSERT, UPDATE, DELETE ON correlate.tenant_access TO correlate_admin;

-- ==== src/sql/20_tables.sql ====
-- 20_tables.sql: the data model.  resource (nodes), relationship (edges), event
-- (time-partitioned telemetry), finding (vulnerabilities, misconfigurations) and
-- ip_lease (who owned an IP when).
--
-- Every key starts with tenant so the model distributes on tenant unchanged
-- (Citus); ids come from identity columns, so they are unique across tenants
-- and algorithms can use an id alone.  Every table has row level security keyed
-- on correlate.current_tenant().

CREATE TABLE correlate.resource (
	tenant      text NOT NULL DEFAULT correlate.current_tenant(),
	id          bigint GENERATED ALWAYS AS IDENTITY,
	uid         text NOT NULL CHECK (uid <> '' AND octet_length(uid) <= 2048),
	kind        text NOT NULL REFERENCES correlate.resource_kind (kind),
	domain      text NOT NULL CHECK (domain IN ('network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance')),
	name        text,
	account     text,
	region      text,
	cluster     text,
	namespace   text,
	labels      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
	props       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(props) = 'object'),
	criticality real NOT NULL DEFAULT 0 CHECK (criticality >= 0 AND criticality <= 1),
	first_seen  timestamptz NOT NULL DEFAULT now(),
	last_seen   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, uid),
	CHECK (first_seen <= last_seen)
);
CREATE INDEX resource_kind_idx ON correlate.resource (tenant, kind);
CREATE INDEX resource_criticality_idx ON correlate.resource (tenant, criticality) WHERE criticality > 0;
CREATE INDEX resource_name_idx ON correlate.resource (tenant, namespace, name);

COMMENT ON TABLE correlate.resource IS 'One row per real entity (pod, role, bucket, IP...), identified by its canonical uid.';
COMMENT ON COLUMN correlate.resource.tenant IS 'Owning tenant; defaults to correlate.current_tenant().';
COMMENT ON COLUMN correlate.resource.id IS 'Surrogate id, unique across tenants; relationships and events refer to it.';
COMMENT ON COLUMN correlate.resource.uid IS 'Canonical uid: ARN, k8s://cluster/ns/kind/name, ip://addr, image://..., container://id, or internet.';
COMMENT ON COLUMN correlate.resource.kind IS 'Resource kind from correlate.resource_kind (aws:iam:role, k8s:pod, ...).';
COMMENT ON COLUMN correlate.resource.domain IS 'Security domain, taken from the kind.';
COMMENT ON COLUMN correlate.resource.name IS 'Human-readable name.';
COMMENT ON COLUMN correlate.resource.account IS 'Cloud account id, where there is one.';
COMMENT ON COLUMN correlate.resource.region IS 'Cloud region, where there is one.';
COMMENT ON COLUMN correlate.resource.cluster IS 'Kubernetes cluster, where there is one.';
COMMENT ON COLUMN correlate.resource.namespace IS 'Kubernetes namespace, where there is one.';
COMMENT ON COLUMN correlate.resource.labels IS 'Key/value labels (Kubernetes labels, AWS tags); merged on upsert.';
COMMENT ON COLUMN correlate.resource.props IS 'Other observed properties (spec fields, policy documents); merged on upsert.';
COMMENT ON COLUMN correlate.resource.criticality IS 'Value to an attacker in [0,1]; crown jewels are high.';
COMMENT ON COLUMN correlate.resource.first_seen IS 'Earliest observation.';
COMMENT ON COLUMN correlate.resource.last_seen IS 'Latest observation.';

CREATE TABLE correlate.relationship (
	tenant     text NOT NULL DEFAULT correlate.current_tenant(),
	id         bigint GENERATED ALWAYS AS IDENTITY,
	src        bigint NOT NULL,
	dst        bigint NOT NULL,
	kind       text NOT NULL REFERENCES correlate.relationship_kind (kind),
	likelihood float8 NOT NULL CHECK (likelihood > 0 AND likelihood <= 1),
	props      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(props) = 'object'),
	source     text,
	first_seen timestamptz NOT NULL DEFAULT now(),
	last_seen  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, src, dst, kind),
	FOREIGN KEY (tenant, src) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant, dst) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE,
	CHECK (first_seen <= last_seen)
);
CREATE INDEX relationship_dst_idx ON correlate.relationship (tenant, dst);

COMMENT ON TABLE correlate.relationship IS 'Directed, typed edge between two resources: how an attacker (or data) moves from src to dst.';
COMMENT ON COLUMN correlate.relationship.tenant IS 'Owning tenant; both ends belong to it.';
COMMENT ON COLUMN correlate.relationship.id IS 'Surrogate id, unique across tenants.';
COMMENT ON COLUMN correlate.relationship.src IS 'Resource the edge leaves.';
COMMENT ON COLUMN correlate.relationship.dst IS 'Resource the edge enters.';
COMMENT ON COLUMN correlate.relationship.kind IS 'Relationship kind from correlate.relationship_kind.';
COMMENT ON COLUMN correlate.relationship.likelihood IS 'Probability in (0,1] that an attacker at src can cross to dst.';
COMMENT ON COLUMN correlate.relationship.props IS 'Evidence and details (ports, actions, counts, fix_cost).';
COMMENT ON COLUMN correlate.relationship.source IS 'Which observation made the edge (ingest format, policy engine, user).';
COMMENT ON COLUMN correlate.relationship.first_seen IS 'Earliest observation.';
COMMENT ON COLUMN correlate.relationship.last_seen IS 'Latest observation.';

CREATE TABLE correlate.event (
	tenant       text NOT NULL DEFAULT correlate.current_tenant(),
	id           bigint GENERATED ALWAYS AS IDENTITY,
	ts           timestamptz NOT NULL,
	uid          text NOT NULL,
	source       text NOT NULL,
	class_uid    integer NOT NULL CHECK (class_uid BETWEEN 0 AND 999999),
	activity_id  integer CHECK (activity_id BETWEEN 0 AND 99),
	domain       text NOT NULL CHECK (domain IN ('network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance')),
	severity_id  smallint CHECK (severity_id BETWEEN 0 AND 99),
	actor        bigint,
	target       bigint,
	src_ip       inet,
	dst_ip       inet,
	dst_port     integer CHECK (dst_port BETWEEN 0 AND 65535),
	process      text,
	command_line text,
	action       text,
	outcome      text,
	rule         text,
	raw          jsonb
) PARTITION BY RANGE (ts);

-- Keys and indexes live on each partition, not on the parent.  pg_dump restores a
-- partition by creating it and then attaching it; an index on an extension-owned
-- parent would already exist at that point and make the restore of every
-- partition's own index fail.  correlate._event_partition_setup() gives each
-- partition the same primary key, identity key and indexes, and the insert path
-- (record_events) deduplicates with them.  The identity key leads with (tenant,
-- ts), so it also serves every time-range query and no separate (tenant, ts)
-- index is kept: one index less for every event stored, and no index the planner
-- could take for an identity probe that then reads every event of that second
-- (VPC flow records share their start times: re-ingesting 20,000 of them took
-- 27 s that way, 0.8 s with this key).
CREATE FUNCTION correlate._event_partition_setup(part regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n text := (SELECT c.relname FROM pg_class c WHERE c.oid = part);
BEGIN
	EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (tenant, id, ts)', part, n || '_pkey');
	EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (tenant, ts, source, uid)', part, n || '_identity');
	EXECUTE format('CREATE INDEX %I ON %s (tenant, actor, ts) WHERE actor IS NOT NULL', n || '_actor_idx', part);
	EXECUTE format('CREATE INDEX %I ON %s (tenant, target, ts) WHERE target IS NOT NULL', n || '_target_idx', part);
END
$$;
COMMENT ON FUNCTION correlate._event_partition_setup(regclass) IS 'Internal: gives an event partition its keys and indexes.';

CREATE TABLE correlate.event_default PARTITION OF correlate.event DEFAULT;
SELECT correlate._event_partition_setup('correlate.event_default');
COMMENT ON TABLE correlate.event_default IS 'Catches events outside every monthly partition; correlate.create_event_partitions() moves them out.';

COMMENT ON TABLE correlate.event IS 'Normalised telemetry (OCSF-aligned), range-partitioned by ts; one row per source event.';
COMMENT ON COLUMN correlate.event.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.event.id IS 'Surrogate id, unique across tenants.';
COMMENT ON COLUMN correlate.event.ts IS 'When the event happened (source time), the partition key.';
COMMENT ON COLUMN correlate.event.uid IS 'Source''s own event id, or a content hash; with source and ts it makes ingest idempotent.';
COMMENT ON COLUMN correlate.event.source IS 'Input format or producer (cloudtrail, falco, k8s_audit, vpc_flow, ocsf, api...).';
COMMENT ON COLUMN correlate.event.class_uid IS 'OCSF class (1007 Process Activity, 3002 Authentication, 4001 Network Activity, 6003 API Activity, 2004 Detection Finding...).';
COMMENT ON COLUMN correlate.event.activity_id IS 'OCSF activity within the class.';
COMMENT ON COLUMN correlate.event.domain IS 'Security domain of the event (workload, network, identity, data...).';
COMMENT ON COLUMN correlate.event.severity_id IS 'OCSF severity: 0 unknown, 1 informational, 2 low, 3 medium, 4 high, 5 critical, 6 fatal.';
COMMENT ON COLUMN correlate.event.actor IS 'Resource that acted (process'' container or pod, IAM role, service account).';
COMMENT ON COLUMN correlate.event.target IS 'Resource acted upon (bucket, object, pod, IP owner).';
COMMENT ON COLUMN correlate.event.src_ip IS 'Source address, where there is one.';
COMMENT ON COLUMN correlate.event.dst_ip IS 'Destination address, where there is one.';
COMMENT ON COLUMN correlate.event.dst_port IS 'Destination port, where there is one.';
COMMENT ON COLUMN correlate.event.process IS 'Process name or path.';
COMMENT ON COLUMN correlate.event.command_line IS 'Full command line.';
COMMENT ON COLUMN correlate.event.action IS 'Operation, e.g. s3:GetObject, k8s:create pods/exec, execve.';
COMMENT ON COLUMN correlate.event.outcome IS 'success, failure, or the source''s error code.';
COMMENT ON COLUMN correlate.event.rule IS 'Detector rule that fired (Falco rule name), where there is one.';
COMMENT ON COLUMN correlate.event.raw IS 'The source record as received.';

CREATE TABLE correlate.finding (
	tenant            text NOT NULL DEFAULT correlate.current_tenant(),
	id                bigint GENERATED ALWAYS AS IDENTITY,
	resource          bigint NOT NULL,
	kind              text NOT NULL CHECK (kind IN ('vulnerability', 'misconfiguration', 'secret', 'exposure', 'detection')),
	check_id          text NOT NULL CHECK (check_id <> ''),
	package           text NOT NULL DEFAULT '',
	title             text,
	severity          text NOT NULL DEFAULT 'unknown' CHECK (severity IN ('unknown', 'info', 'low', 'medium', 'high', 'critical')),
	cvss              real CHECK (cvss >= 0 AND cvss <= 10),
	epss              real CHECK (epss >= 0 AND epss <= 1),
	known_exploited   boolean NOT NULL DEFAULT false,
	installed_version text,
	fixed_version     text,
	status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fixed', 'accepted', 'suppressed')),
	props             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(props) = 'object'),
	source            text,
	first_seen        timestamptz NOT NULL DEFAULT now(),
	last_seen         timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, resource, kind, check_id, package),
	FOREIGN KEY (tenant, resource) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE,
	CHECK (first_seen <= last_seen)
);
CREATE INDEX finding_check_idx ON correlate.finding (tenant, check_id);

COMMENT ON TABLE correlate.finding IS 'A vulnerability or misconfiguration on a resource.';
COMMENT ON COLUMN correlate.finding.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.finding.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.finding.resource IS 'Resource the finding is on (image, pod, role...).';
COMMENT ON COLUMN correlate.finding.kind IS 'vulnerability, misconfiguration, secret, exposure or detection.';
COMMENT ON COLUMN correlate.finding.check_id IS 'CVE / GHSA id, or the check id (e.g. KSV017, privileged).';
COMMENT ON COLUMN correlate.finding.package IS 'Affected package, '''' when not package-specific.';
COMMENT ON COLUMN correlate.finding.title IS 'Short description.';
COMMENT ON COLUMN correlate.finding.severity IS 'unknown, info, low, medium, high or critical.';
COMMENT ON COLUMN correlate.finding.cvss IS 'CVSS base score in [0,10].';
COMMENT ON COLUMN correlate.finding.epss IS 'EPSS exploitation probability in [0,1].';
COMMENT ON COLUMN correlate.finding.known_exploited IS 'Listed as exploited in the wild (e.g. CISA KEV).';
COMMENT ON COLUMN correlate.finding.installed_version IS 'Version found.';
COMMENT ON COLUMN correlate.finding.fixed_version IS 'First version with the fix, if any.';
COMMENT ON COLUMN correlate.finding.status IS 'open, fixed, accepted or suppressed.';
COMMENT ON COLUMN correlate.finding.props IS 'Other details from the scanner.';
COMMENT ON COLUMN correlate.finding.source IS 'Scanner or ingest format that reported it.';
COMMENT ON COLUMN correlate.finding.first_seen IS 'Earliest report.';
COMMENT ON COLUMN correlate.finding.last_seen IS 'Latest report.';

CREATE TABLE correlate.ip_lease (
	tenant   text NOT NULL DEFAULT correlate.current_tenant(),
	id       bigint GENERATED ALWAYS AS IDENTITY,
	ip       inet NOT NULL CHECK (masklen(ip) = CASE family(ip) WHEN 4 THEN 32 ELSE 128 END),
	resource bigint NOT NULL,
	valid    tstzrange NOT NULL CHECK (NOT isempty(valid) AND lower(valid) IS NOT NULL),
	source   text,
	PRIMARY KEY (tenant, id),
	FOREIGN KEY (tenant, resource) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
);
CREATE INDEX ip_lease_ip_idx ON correlate.ip_lease (tenant, ip, lower(valid));
CREATE INDEX ip_lease_resource_idx ON correlate.ip_lease (tenant, resource);

COMMENT ON TABLE correlate.ip_lease IS 'Which resource held an IP address during which interval, to resolve an event''s IP at the event''s time.';
COMMENT ON COLUMN correlate.ip_lease.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.ip_lease.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.ip_lease.ip IS 'A single address (no network mask).';
COMMENT ON COLUMN correlate.ip_lease.resource IS 'Resource holding the address (pod, node, instance, load balancer).';
COMMENT ON COLUMN correlate.ip_lease.valid IS 'Interval of ownership; an open upper bound means still held.';
COMMENT ON COLUMN correlate.ip_lease.source IS 'Observation that reported the lease.';

-- Row level security: a session sees and writes only its tenant's rows.
SELECT correlate._isolate_tenants('correlate.resource', 'correlate.relationship', 'correlate.event', 'correlate.finding', 'correlate.ip_lease');

GRANT SELECT ON correlate.resource, correlate.relationship, correlate.event, correlate.finding,
	correlate.ip_lease, correlate.resource_kind, correlate.relationship_kind TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.resource, correlate.relationship, correlate.event,
	correlate.finding, correlate.ip_lease TO correlate_writer;
GRANT INSERT, UPDATE, DELETE ON correlate.resource_kind, correlate.relationship_kind TO correlate_admin;

-- ==== src/sql/25_uid.sql ====
-- 25_uid.sql: canonical uid helpers (C, src/model/uid.c) and build information.
--
-- Every resource is named by its canonical uid; these are the same functions
-- the ingesters call from C, exposed so that users build uids the same way.

CREATE FUNCTION correlate.arn_uid(arn text) RETURNS text
AS 'MODULE_PATHNAME', 'correlate_arn_uid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.arn_uid(text) IS 'Canonical uid of an AWS ARN; an assumed-role session ARN becomes its role ARN.';

CREATE FUNCTION correlate.k8s_uid(cluster text, namespace text, kind text, name text) RETURNS text
AS 'MODULE_PATHNAME', 'correlate_k8s_uid' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION correlate.k8s_uid(text, text, text, text) IS 'Canonical uid k8s://CLUSTER/NAMESPACE/kind/NAME of a Kubernetes object (NULL namespace: cluster-scoped, NULL cluster: correlate.default_cluster).';

CREATE FUNCTION correlate.ip_uid(ip text) RETURNS text
AS 'MODULE_PATHNAME', 'correlate_ip_uid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.ip_uid(text) IS 'Canonical uid ip://ADDRESS of a single IPv4 or IPv6 address.';

CREATE FUNCTION correlate.image_uid(ref text) RETURNS text
AS 'MODULE_PATHNAME', 'correlate_image_uid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.image_uid(text) IS 'Canonical uid of a container image: image://sha256:DIGEST when the reference has a digest, else image://REGISTRY/REPO:TAG.';

CREATE FUNCTION correlate.container_uid(id text) RETURNS text
AS 'MODULE_PATHNAME', 'correlate_container_uid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.container_uid(text) IS 'Canonical uid container://ID12 of a container runtime id (containerd://..., docker://..., or a short id).';

CREATE FUNCTION correlate.canonical_uid(uid text) RETURNS text
AS 'MODULE_PATHNAME', 'correlate_canonical_uid' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.canonical_uid(text) IS 'Canonical form of any uid: applies the rules of arn:, k8s://, ip://, image:// and container://; other uids pass unchanged.';

CREATE FUNCTION correlate._build_info() RETURNS text
AS 'MODULE_PATHNAME', 'correlate_build_info' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION correlate.build_info() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT correlate._build_info()::jsonb $$;

COMMENT ON FUNCTION correlate._build_info() IS 'Internal: build_info() as JSON text from json-c.';
COMMENT ON FUNCTION correlate.build_info() IS 'Versions of correlate, json-c and PostgreSQL this backend runs.';

GRANT EXECUTE ON FUNCTION correlate.arn_uid(text), correlate.k8s_uid(text, text, text, text),
	correlate.ip_uid(text), correlate.image_uid(text), correlate.container_uid(text),
	correlate.canonical_uid(text), correlate.build_info(), correlate._build_info() TO correlate_reader;

-- ==== src/sql/30_write_api.sql ====
-- 30_write_api.sql: the core write API every ingester and user calls.
--
-- Each entity has a bulk function taking parallel arrays (one element per
-- record, so C ingesters write a whole batch in one call) and a one-record
-- convenience function that calls the bulk one, so there is one code path.
-- Validation happens before any write, and each call is one statement-level
-- unit, so a bad record leaves nothing half-written.  Errors name the record
-- by its 1-based position in the batch.

CREATE AGGREGATE correlate.jsonb_merge(jsonb) (
	SFUNC = pg_catalog.jsonb_concat,
	STYPE = jsonb,
	INITCOND = '{}'
);
COMMENT ON AGGREGATE correlate.jsonb_merge(jsonb) IS 'Merges JSON objects left to right (later keys win); NULLs are skipped.';

-- Raises unless every non-NULL array has the length of the first one.
CREATE FUNCTION correlate._check_lengths(what text, n integer, VARIADIC lens integer[]) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	l integer;
BEGIN
	FOREACH l IN ARRAY lens LOOP
		IF l IS NOT NULL AND l <> n THEN
			RAISE EXCEPTION 'array arguments of % differ in length', what
				USING ERRCODE = 'array_subscript_error',
					  DETAIL = format('The first array has %s elements and another has %s.', n, l),
					  HINT = 'Pass one element per record in every array, or NULL for a whole column.';
		END IF;
	END LOOP;
END
$$;

-- Raises unless ts is a finite timestamp.
CREATE FUNCTION correlate._check_time(what text, ord bigint, ts timestamptz) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF ts IS NULL OR NOT isfinite(ts) THEN
		RAISE EXCEPTION '% record % has no finite time', what, ord
			USING ERRCODE = 'invalid_datetime_format',
				  DETAIL = format('The time given was %s.', COALESCE(ts::text, 'NULL'));
	END IF;
END
$$;

-- Resources of one flush, with the merge rules of correlate.upsert_resources
-- (names and places: the latest given wins; labels and props: merged, later keys
-- win; criticality: changed only when given; first/last seen: widened; a uid
-- keeps its kind).  The C writer has canonicalised the uids and checked kinds,
-- JSON and ranges, so this does no per-row validation; and it decides whether
-- a criticality was given per group instead of per conflicting row, which keeps
-- a batch linear in its size.  Rows whose uid exists with another kind are not
-- returned: the writer reports them.
CREATE FUNCTION correlate._ingest_resources(
	p_uids          text[],
	p_kinds         text[],
	p_names         text[],
	p_accounts      text[],
	p_regions       text[],
	p_clusters      text[],
	p_namespaces    text[],
	p_labels        jsonb[],
	p_props         jsonb[],
	p_criticalities real[],
	p_seen          timestamptz[])
RETURNS TABLE (stored_uid text, stored_id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	RETURN QUERY
	WITH input AS (
		SELECT u.* FROM unnest(p_uids, p_kinds, p_names, p_accounts, p_regions, p_clusters, p_namespaces,
							   p_labels, p_props, p_criticalities, p_seen)
			 WITH ORDINALITY AS u(uid, kind, name, account, region, cluster, namespace, l, p, c, s, o)
	), merged AS (
		SELECT i.uid, min(i.kind) AS kind,
			   (array_agg(i.name ORDER BY i.o DESC) FILTER (WHERE i.name IS NOT NULL))[1] AS name,
			   (array_agg(i.account ORDER BY i.o DESC) FILTER (WHERE i.account IS NOT NULL))[1] AS account,
			   (array_agg(i.region ORDER BY i.o DESC) FILTER (WHERE i.region IS NOT NULL))[1] AS region,
			   (array_agg(i.cluster ORDER BY i.o DESC) FILTER (WHERE i.cluster IS NOT NULL))[1] AS cluster,
			   (array_agg(i.namespace ORDER BY i.o DESC) FILTER (WHERE i.namespace IS NOT NULL))[1] AS namespace,
			   correlate.jsonb_merge(i.l ORDER BY i.o) AS l,
			   correlate.jsonb_merge(i.p ORDER BY i.o) AS p,
			   max(i.c) AS c, min(i.s) AS first_s, max(i.s) AS last_s
		FROM input i GROUP BY i.uid
	), keep_crit AS (
		INSERT INTO correlate.resource AS r (tenant, uid, kind, domain, name, account, region, cluster, namespace,
			labels, props, criticality, first_seen, last_seen)
		SELECT t, m.uid, m.kind, k.domain, m.name, m.account, m.region, m.cluster, m.namespace, m.l, m.p, 0,
			   m.first_s, m.last_s
		FROM merged m JOIN correlate.resource_kind k ON k.kind = m.kind
		WHERE m.c IS NULL
		-- in uid order: two writers upserting overlapping resources lock the rows in the same
		-- order, so neither can hold one the other needs while waiting for one it holds
		ORDER BY m.uid
		ON CONFLICT (tenant, uid) DO UPDATE SET
			name       = COALESCE(EXCLUDED.name, r.name),
			account    = COALESCE(EXCLUDED.account, r.account),
			region     = COALESCE(EXCLUDED.region, r.region),
			cluster    = COALESCE(EXCLUDED.cluster, r.cluster),
			namespace  = COALESCE(EXCLUDED.namespace, r.namespace),
			labels     = r.labels || EXCLUDED.labels,
			props      = r.props || EXCLUDED.props,
			first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen  = GREATEST(r.last_seen, EXCLUDED.last_seen)
		WHERE r.kind = EXCLUDED.kind AND ((EXCLUDED.name IS NOT NULL AND EXCLUDED.name IS DISTINCT FROM r.name)
			OR (EXCLUDED.account IS NOT NULL AND EXCLUDED.account IS DISTINCT FROM r.account)
			OR (EXCLUDED.region IS NOT NULL AND EXCLUDED.region IS DISTINCT FROM r.region)
			OR (EXCLUDED.cluster IS NOT NULL AND EXCLUDED.cluster IS DISTINCT FROM r.cluster)
			OR (EXCLUDED.namespace IS NOT NULL AND EXCLUDED.namespace IS DISTINCT FROM r.namespace)
			OR r.labels || EXCLUDED.labels IS DISTINCT FROM r.labels
			OR r.props || EXCLUDED.props IS DISTINCT FROM r.props
			OR EXCLUDED.first_seen < r.first_seen OR EXCLUDED.last_seen > r.last_seen)
		RETURNING r.uid, r.id
	), set_crit AS (
		INSERT INTO correlate.resource AS r (tenant, uid, kind, domain, name, account, region, cluster, namespace,
			labels, props, criticality, first_seen, last_seen)
		SELECT t, m.uid, m.kind, k.domain, m.name, m.account, m.region, m.cluster, m.namespace, m.l, m.p, m.c,
			   m.first_s, m.last_s
		FROM merged m JOIN correlate.resource_kind k ON k.kind = m.kind
		WHERE m.c IS NOT NULL
		ORDER BY m.uid
		ON CONFLICT (tenant, uid) DO UPDATE SET
			name        = COALESCE(EXCLUDED.name, r.name),
			account     = COALESCE(EXCLUDED.account, r.account),
			region      = COALESCE(EXCLUDED.region, r.region),
			cluster     = COALESCE(EXCLUDED.cluster, r.cluster),
			namespace   = COALESCE(EXCLUDED.namespace, r.namespace),
			labels      = r.labels || EXCLUDED.labels,
			props       = r.props || EXCLUDED.props,
			criticality = EXCLUDED.criticality,
			first_seen  = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen   = GREATEST(r.last_seen, EXCLUDED.last_seen)
		WHERE r.kind = EXCLUDED.kind AND ((EXCLUDED.name IS NOT NULL AND EXCLUDED.name IS DISTINCT FROM r.name)
			OR (EXCLUDED.account IS NOT NULL AND EXCLUDED.account IS DISTINCT FROM r.account)
			OR (EXCLUDED.region IS NOT NULL AND EXCLUDED.region IS DISTINCT FROM r.region)
			OR (EXCLUDED.cluster IS NOT NULL AND EXCLUDED.cluster IS DISTINCT FROM r.cluster)
			OR (EXCLUDED.namespace IS NOT NULL AND EXCLUDED.namespace IS DISTINCT FROM r.namespace)
			OR r.labels || EXCLUDED.labels IS DISTINCT FROM r.labels
			OR r.props || EXCLUDED.props IS DISTINCT FROM r.props
			OR EXCLUDED.first_seen < r.first_seen OR EXCLUDED.last_seen > r.last_seen
			OR EXCLUDED.criticality IS DISTINCT FROM r.criticality)
		RETURNING r.uid, r.id
	), written AS (
		-- The uids just written, as one jsonb object: "?" finds a key by binary search.
		-- (A NOT EXISTS against the RETURNING CTEs, which the planner sizes at one
		-- row, became a nested loop reading them once per input row: 1.2 s for a
		-- batch of 5,000 new resources.)
		SELECT jsonb_object_agg(w.uid, w.id) AS ids
		FROM (SELECT k.uid, k.id FROM keep_crit k UNION ALL SELECT c.uid, c.id FROM set_crit c) w
	)
	SELECT k.uid, k.id FROM keep_crit k
	UNION ALL
	SELECT c.uid, c.id FROM set_crit c
	UNION ALL
	-- stored before and left as it was: no new row version (a row rewritten by
	-- every batch of one transaction grows a chain every later lookup walks)
	SELECT r.uid, r.id
	FROM merged m CROSS JOIN written w
	JOIN correlate.resource r ON r.tenant = t AND r.uid = m.uid AND r.kind = m.kind
	WHERE NOT COALESCE(w.ids ? m.uid, false);
END
$$;
COMMENT ON FUNCTION correlate._ingest_resources(text[], text[], text[], text[], text[], text[], text[], jsonb[], jsonb[], real[], timestamptz[])
	IS 'Internal to correlate.ingest: upserts a batch of validated resources with the merge rules of upsert_resources; returns uid and id of each one stored.';

-- Relationships of one flush, with the merge rules of correlate.link_many
-- (likelihood: changed only when given, else the kind's default for a new
-- edge; props merged; source: latest given; first/last seen widened).  Ends are
-- ids the writer has just obtained from this tenant's resources.
CREATE FUNCTION correlate._ingest_links(
	p_srcs        bigint[],
	p_dsts        bigint[],
	p_kinds       text[],
	p_likelihoods float8[],
	p_props       jsonb[],
	p_source      text,
	p_seen        timestamptz[])
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	n bigint;
BEGIN
	WITH input AS (
		SELECT u.* FROM unnest(p_srcs, p_dsts, p_kinds, p_likelihoods, p_props, p_seen)
			 WITH ORDINALITY AS u(src, dst, kind, lk, p, s, o)
	), merged AS (
		SELECT i.src, i.dst, i.kind,
			   (array_agg(i.lk ORDER BY i.o DESC) FILTER (WHERE i.lk IS NOT NULL))[1] AS lk,
			   correlate.jsonb_merge(i.p ORDER BY i.o) AS p,
			   min(COALESCE(i.s, now())) AS first_s, max(COALESCE(i.s, now())) AS last_s
		FROM input i GROUP BY i.src, i.dst, i.kind
	), keep_lk AS (
		INSERT INTO correlate.relationship AS r (tenant, src, dst, kind, likelihood, props, source, first_seen, last_seen)
		SELECT t, m.src, m.dst, m.kind, k.default_likelihood, m.p, p_source, m.first_s, m.last_s
		FROM merged m JOIN correlate.relationship_kind k ON k.kind = m.kind
		WHERE m.lk IS NULL
		ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET
			props      = r.props || EXCLUDED.props,
			source     = COALESCE(EXCLUDED.source, r.source),
			first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen  = GREATEST(r.last_seen, EXCLUDED.last_seen)
		RETURNING 1
	), set_lk AS (
		INSERT INTO correlate.relationship AS r (tenant, src, dst, kind, likelihood, props, source, first_seen, last_seen)
		SELECT t, m.src, m.dst, m.kind, m.lk, m.p, p_source, m.first_s, m.last_s
		FROM merged m
		WHERE m.lk IS NOT NULL
		ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET
			likelihood = EXCLUDED.likelihood,
			props      = r.props || EXCLUDED.props,
			source     = COALESCE(EXCLUDED.source, r.source),
			first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen  = GREATEST(r.last_seen, EXCLUDED.last_seen)
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM keep_lk) + (SELECT count(*) FROM set_lk) INTO n;
	RETURN n;
END
$$;
COMMENT ON FUNCTION correlate._ingest_links(bigint[], bigint[], text[], float8[], jsonb[], text, timestamptz[])
	IS 'Internal to correlate.ingest: upserts a batch of validated relationships with the merge rules of link_many; returns how many edges it wrote.';

CREATE FUNCTION correlate.upsert_resources(
	uids          text[],
	kinds         text[],
	names         text[] DEFAULT NULL,
	accounts      text[] DEFAULT NULL,
	regions       text[] DEFAULT NULL,
	clusters      text[] DEFAULT NULL,
	namespaces    text[] DEFAULT NULL,
	labels        jsonb[] DEFAULT NULL,
	props         jsonb[] DEFAULT NULL,
	criticalities real[] DEFAULT NULL,
	seen_at       timestamptz[] DEFAULT NULL)
RETURNS TABLE (ord integer, id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	n integer := COALESCE(cardinality(uids), 0);
	bad record;
BEGIN
	PERFORM correlate._check_lengths('upsert_resources', n, cardinality(kinds), cardinality(names),
		cardinality(accounts), cardinality(regions), cardinality(clusters), cardinality(namespaces),
		cardinality(labels), cardinality(props), cardinality(criticalities), cardinality(seen_at));

	SELECT u.o, u.uid, u.kind, u.l, u.p, u.c, u.s, k.kind IS NULL AS unknown_kind INTO bad
	FROM unnest(uids, kinds, labels, props, criticalities, seen_at) WITH ORDINALITY AS u(uid, kind, l, p, c, s, o)
	LEFT JOIN correlate.resource_kind k ON k.kind = u.kind
	WHERE u.uid IS NULL OR u.kind IS NULL OR k.kind IS NULL
	   OR (u.l IS NOT NULL AND jsonb_typeof(u.l) <> 'object')
	   OR (u.p IS NOT NULL AND jsonb_typeof(u.p) <> 'object')
	   OR u.c = 'NaN' OR u.c < 0 OR u.c > 1
	   OR (u.s IS NOT NULL AND NOT isfinite(u.s))
	ORDER BY u.o LIMIT 1;
	IF FOUND THEN
		IF bad.uid IS NULL OR bad.kind IS NULL THEN
			RAISE EXCEPTION 'resource record % has a NULL uid or kind', bad.o
				USING ERRCODE = 'null_value_not_allowed';
		ELSIF bad.unknown_kind THEN
			RAISE EXCEPTION 'unknown resource kind "%"', bad.kind
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = format('Resource record %s (uid "%s") names a kind that correlate.resource_kind does not list.', bad.o, bad.uid),
					  HINT = 'Use a kind from correlate.resource_kind, or have a correlate_admin insert the new kind there.';
		ELSIF bad.c = 'NaN' OR bad.c < 0 OR bad.c > 1 THEN
			RAISE EXCEPTION 'criticality % is outside [0,1]', bad.c
				USING ERRCODE = 'numeric_value_out_of_range',
					  DETAIL = format('Resource record %s (uid "%s").', bad.o, bad.uid);
		ELSIF bad.s IS NOT NULL AND NOT isfinite(bad.s) THEN
			PERFORM correlate._check_time('resource', bad.o, bad.s);
		ELSE
			RAISE EXCEPTION 'labels and props must be JSON objects'
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = format('Resource record %s (uid "%s") has labels %s and props %s.', bad.o, bad.uid, bad.l, bad.p);
		END IF;
	END IF;

	-- An existing resource keeps its kind: a different kind for the same uid is a naming clash.
	-- (One index probe per record: LIMIT keeps the planner from a join over all resources.)
	SELECT u.o, u.uid, u.kind, r.kind AS old_kind INTO bad
	FROM unnest(uids, kinds) WITH ORDINALITY AS u(uid, kind, o)
	CROSS JOIN LATERAL (SELECT x.kind FROM correlate.resource x
						WHERE x.tenant = (SELECT correlate.current_tenant())
						  AND x.uid = correlate.canonical_uid(u.uid) LIMIT 1) AS r
	WHERE r.kind <> u.kind
	ORDER BY u.o LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'resource "%" already exists with kind "%"', bad.uid, bad.old_kind
			USING ERRCODE = 'unique_violation',
				  DETAIL = format('Resource record %s gives kind "%s".', bad.o, bad.kind),
				  HINT = 'A uid names one entity; give the other entity its own uid.';
	END IF;

	-- The upsert itself is correlate._ingest_resources (above), the one implementation
	-- of the merge rules, shared with the C ingest writer.
	RETURN QUERY
	WITH input AS (
		SELECT u.o, correlate.canonical_uid(u.uid) AS uid
		FROM unnest(uids) WITH ORDINALITY AS u(uid, o)
	), stored AS (
		SELECT x.stored_uid, x.stored_id
		FROM correlate._ingest_resources(
			ARRAY(SELECT i.uid FROM input i ORDER BY i.o), kinds,
			COALESCE(names, array_fill(NULL::text, ARRAY[n])), COALESCE(accounts, array_fill(NULL::text, ARRAY[n])),
			COALESCE(regions, array_fill(NULL::text, ARRAY[n])), COALESCE(clusters, array_fill(NULL::text, ARRAY[n])),
			COALESCE(namespaces, array_fill(NULL::text, ARRAY[n])), COALESCE(labels, array_fill(NULL::jsonb, ARRAY[n])),
			COALESCE(props, array_fill(NULL::jsonb, ARRAY[n])), COALESCE(criticalities, array_fill(NULL::real, ARRAY[n])),
			ARRAY(SELECT COALESCE(x.s, now()) FROM unnest(COALESCE(seen_at, array_fill(NULL::timestamptz, ARRAY[n])))
				  WITH ORDINALITY AS x(s, o) ORDER BY x.o)) AS x
	)
	SELECT i.o::integer, st.stored_id FROM input i JOIN stored st ON st.stored_uid = i.uid ORDER BY i.o;
END
$$;
COMMENT ON FUNCTION correlate.upsert_resources(text[], text[], text[], text[], text[], text[], text[], jsonb[], jsonb[], real[], timestamptz[])
	IS 'Bulk upsert of resources by canonical uid; merges labels and props, widens first/last seen; returns each record''s id by position.';

CREATE FUNCTION correlate.upsert_resource(
	uid         text,
	kind        text,
	name        text DEFAULT NULL,
	account     text DEFAULT NULL,
	region      text DEFAULT NULL,
	cluster     text DEFAULT NULL,
	namespace   text DEFAULT NULL,
	labels      jsonb DEFAULT NULL,
	props       jsonb DEFAULT NULL,
	criticality real DEFAULT NULL,
	seen_at     timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.id FROM correlate.upsert_resources(ARRAY[uid], ARRAY[kind], ARRAY[name], ARRAY[account],
		ARRAY[region], ARRAY[cluster], ARRAY[namespace], ARRAY[labels], ARRAY[props],
		ARRAY[criticality], ARRAY[seen_at]) AS r;
$$;
COMMENT ON FUNCTION correlate.upsert_resource(text, text, text, text, text, text, text, jsonb, jsonb, real, timestamptz)
	IS 'Creates or updates the resource with this canonical uid and returns its id.';

CREATE FUNCTION correlate.resource_id(uid text) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.id FROM correlate.resource r
	WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.uid = correlate.canonical_uid(resource_id.uid);
$$;
COMMENT ON FUNCTION correlate.resource_id(text) IS 'Id of the resource with this uid (canonicalised), or NULL.';

CREATE FUNCTION correlate.internet() RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(correlate.resource_id('internet'),
					correlate.upsert_resource('internet', 'internet', name => 'internet'));
$$;
COMMENT ON FUNCTION correlate.internet() IS 'Id of the tenant''s "internet" resource (the outside world), created on first use.';

CREATE FUNCTION correlate.link_many(
	srcs        bigint[],
	dsts        bigint[],
	kinds       text[],
	likelihoods float8[] DEFAULT NULL,
	props       jsonb[] DEFAULT NULL,
	sources     text[] DEFAULT NULL,
	seen_at     timestamptz[] DEFAULT NULL)
RETURNS TABLE (ord integer, id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	n integer := COALESCE(cardinality(srcs), 0);
	t text := (SELECT correlate.current_tenant());
	bad record;
	src_name text;
	sources_all text[] := COALESCE(sources, array_fill(NULL::text, ARRAY[COALESCE(cardinality(srcs), 0)]));
BEGIN
	PERFORM correlate._check_lengths('link_many', n, cardinality(dsts), cardinality(kinds),
		cardinality(likelihoods), cardinality(props), cardinality(sources), cardinality(seen_at));

	SELECT u.o, u.src, u.dst, u.kind, u.lk, u.p, u.s, k.kind IS NULL AS unknown_kind,
		   rs.id IS NULL AS no_src, rd.id IS NULL AS no_dst INTO bad
	FROM unnest(srcs, dsts, kinds, likelihoods, props, seen_at) WITH ORDINALITY AS u(src, dst, kind, lk, p, s, o)
	LEFT JOIN correlate.relationship_kind k ON k.kind = u.kind
	LEFT JOIN correlate.resource rs ON rs.tenant = t AND rs.id = u.src
	LEFT JOIN correlate.resource rd ON rd.tenant = t AND rd.id = u.dst
	WHERE u.src IS NULL OR u.dst IS NULL OR u.kind IS NULL OR k.kind IS NULL
	   OR rs.id IS NULL OR rd.id IS NULL
	   OR u.lk = 'NaN' OR u.lk <= 0 OR u.lk > 1
	   OR (u.p IS NOT NULL AND jsonb_typeof(u.p) <> 'object')
	   OR (u.s IS NOT NULL AND NOT isfinite(u.s))
	ORDER BY u.o LIMIT 1;
	IF FOUND THEN
		IF bad.src IS NULL OR bad.dst IS NULL OR bad.kind IS NULL THEN
			RAISE EXCEPTION 'relationship record % has a NULL src, dst or kind', bad.o
				USING ERRCODE = 'null_value_not_allowed';
		ELSIF bad.unknown_kind THEN
			RAISE EXCEPTION 'unknown relationship kind "%"', bad.kind
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = format('Relationship record %s (%s -> %s) names a kind that correlate.relationship_kind does not list.', bad.o, bad.src, bad.dst),
					  HINT = 'Use a kind from correlate.relationship_kind, or have a correlate_admin insert the new kind there.';
		ELSIF bad.no_src OR bad.no_dst THEN
			RAISE EXCEPTION 'relationship record % refers to a resource that does not exist', bad.o
				USING ERRCODE = 'foreign_key_violation',
					  DETAIL = format('No resource with id %s in tenant "%s".', CASE WHEN bad.no_src THEN bad.src ELSE bad.dst END, t);
		ELSIF bad.lk = 'NaN' OR bad.lk <= 0 OR bad.lk > 1 THEN
			RAISE EXCEPTION 'likelihood % is outside (0,1]', bad.lk
				USING ERRCODE = 'numeric_value_out_of_range',
					  DETAIL = format('Relationship record %s (%s -[%s]-> %s).', bad.o, bad.src, bad.kind, bad.dst),
					  HINT = 'A likelihood is the probability an attacker crosses the edge: greater than 0, at most 1.';
		ELSIF bad.s IS NOT NULL AND NOT isfinite(bad.s) THEN
			PERFORM correlate._check_time('relationship', bad.o, bad.s);
		ELSE
			RAISE EXCEPTION 'relationship props must be a JSON object'
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = format('Relationship record %s has props %s.', bad.o, bad.p);
		END IF;
	END IF;

	-- The upsert itself is correlate._ingest_links (above), shared with the C ingest
	-- writer; it takes one source per call, so records go by source.
	FOR src_name IN SELECT DISTINCT x.source FROM unnest(COALESCE(sources, array_fill(NULL::text, ARRAY[n]))) AS x(source) LOOP
		PERFORM correlate._ingest_links(
			ARRAY(SELECT u.src FROM unnest(srcs, sources_all) WITH ORDINALITY AS u(src, source, o) WHERE u.source IS NOT DISTINCT FROM src_name ORDER BY u.o),
			ARRAY(SELECT u.dst FROM unnest(dsts, sources_all) WITH ORDINALITY AS u(dst, source, o) WHERE u.source IS NOT DISTINCT FROM src_name ORDER BY u.o),
			ARRAY(SELECT u.kind FROM unnest(kinds, sources_all) WITH ORDINALITY AS u(kind, source, o) WHERE u.source IS NOT DISTINCT FROM src_name ORDER BY u.o),
			ARRAY(SELECT u.lk FROM unnest(COALESCE(likelihoods, array_fill(NULL::float8, ARRAY[n])), sources_all) WITH ORDINALITY AS u(lk, source, o) WHERE u.source IS NOT DISTINCT FROM src_name ORDER BY u.o),
			ARRAY(SELECT u.p FROM unnest(COALESCE(props, array_fill(NULL::jsonb, ARRAY[n])), sources_all) WITH ORDINALITY AS u(p, source, o) WHERE u.source IS NOT DISTINCT FROM src_name ORDER BY u.o),
			src_name,
			ARRAY(SELECT u.s FROM unnest(COALESCE(seen_at, array_fill(NULL::timestamptz, ARRAY[n])), sources_all) WITH ORDINALITY AS u(s, source, o) WHERE u.source IS NOT DISTINCT FROM src_name ORDER BY u.o));
	END LOOP;

	RETURN QUERY
	SELECT u.o::integer, r.id
	FROM unnest(srcs, dsts, kinds) WITH ORDINALITY AS u(src, dst, kind, o)
	JOIN correlate.relationship r ON r.tenant = t AND r.src = u.src AND r.dst = u.dst AND r.kind = u.kind
	ORDER BY u.o;
END
$$;
COMMENT ON FUNCTION correlate.link_many(bigint[], bigint[], text[], float8[], jsonb[], text[], timestamptz[])
	IS 'Bulk upsert of relationships (src, dst, kind); returns each record''s id by position.';

CREATE FUNCTION correlate.link(
	src        bigint,
	dst        bigint,
	kind       text,
	likelihood float8 DEFAULT NULL,
	props      jsonb DEFAULT NULL,
	source     text DEFAULT NULL,
	seen_at    timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.id FROM correlate.link_many(ARRAY[src], ARRAY[dst], ARRAY[kind], ARRAY[likelihood],
		ARRAY[props], ARRAY[source], ARRAY[seen_at]) AS r;
$$;
COMMENT ON FUNCTION correlate.link(bigint, bigint, text, float8, jsonb, text, timestamptz)
	IS 'Creates or updates the relationship src -[kind]-> dst and returns its id; likelihood defaults to the kind''s.';

-- OCSF category of a class decides an event's default domain.
CREATE FUNCTION correlate.ocsf_domain(class_uid integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE class_uid / 1000
		WHEN 1 THEN 'workload'     -- System Activity
		WHEN 2 THEN 'compliance'   -- Findings
		WHEN 3 THEN 'identity'     -- Identity & Access Management
		WHEN 4 THEN 'network'      -- Network Activity
		WHEN 5 THEN 'cloud'        -- Discovery
		WHEN 6 THEN 'cloud'        -- Application Activity
		ELSE 'cloud' END;
$$;
COMMENT ON FUNCTION correlate.ocsf_domain(integer) IS 'Default security domain of an OCSF class, by its category.';

CREATE FUNCTION correlate.record_events(
	ts            timestamptz[],
	class_uids    integer[],
	sources       text[],
	uids          text[] DEFAULT NULL,
	activity_ids  integer[] DEFAULT NULL,
	domains       text[] DEFAULT NULL,
	severity_ids  integer[] DEFAULT NULL,
	actors        bigint[] DEFAULT NULL,
	targets       bigint[] DEFAULT NULL,
	src_ips       inet[] DEFAULT NULL,
	dst_ips       inet[] DEFAULT NULL,
	dst_ports     integer[] DEFAULT NULL,
	processes     text[] DEFAULT NULL,
	command_lines text[] DEFAULT NULL,
	actions       text[] DEFAULT NULL,
	outcomes      text[] DEFAULT NULL,
	rules         text[] DEFAULT NULL,
	raws          jsonb[] DEFAULT NULL)
RETURNS TABLE (ord integer, id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	n integer := COALESCE(cardinality(ts), 0);
	t text := (SELECT correlate.current_tenant());
	bad record;
BEGIN
	PERFORM correlate._check_lengths('record_events', n, cardinality(class_uids), cardinality(sources),
		cardinality(uids), cardinality(activity_ids), cardinality(domains), cardinality(severity_ids),
		cardinality(actors), cardinality(targets), cardinality(src_ips), cardinality(dst_ips),
		cardinality(dst_ports), cardinality(processes), cardinality(command_lines), cardinality(actions),
		cardinality(outcomes), cardinality(rules), cardinality(raws));

	SELECT u.o, u.ts, u.c, u.source, u.actor, u.target, u.dom, u.a, u.sev, u.dport,
		   (u.actor IS NOT NULL AND NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = t AND r.id = u.actor)) AS no_actor,
		   (u.target IS NOT NULL AND NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = t AND r.id = u.target)) AS no_target
	INTO bad
	FROM unnest(ts, class_uids, sources, actors, targets, domains, activity_ids, severity_ids, dst_ports)
		 WITH ORDINALITY AS u(ts, c, source, actor, target, dom, a, sev, dport, o)
	WHERE u.ts IS NULL OR NOT isfinite(u.ts) OR u.c IS NULL OR u.source IS NULL OR u.source = ''
	   OR u.c NOT BETWEEN 0 AND 999999 OR u.a NOT BETWEEN 0 AND 99 OR u.sev NOT BETWEEN 0 AND 99
	   OR u.dport NOT BETWEEN 0 AND 65535
	   OR u.dom NOT IN ('network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance')
	   OR (u.actor IS NOT NULL AND NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = t AND r.id = u.actor))
	   OR (u.target IS NOT NULL AND NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = t AND r.id = u.target))
	ORDER BY u.o LIMIT 1;
	IF FOUND THEN
		IF bad.ts IS NULL OR NOT isfinite(bad.ts) THEN
			PERFORM correlate._check_time('event', bad.o, bad.ts);
		ELSIF bad.c IS NULL OR bad.source IS NULL OR bad.source = '' THEN
			RAISE EXCEPTION 'event record % has no class_uid or source', bad.o
				USING ERRCODE = 'null_value_not_allowed';
		ELSIF bad.dom NOT IN ('network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance') THEN
			RAISE EXCEPTION 'unknown domain "%"', bad.dom
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = format('Event record %s from %s.', bad.o, bad.source),
					  HINT = 'Use network, identity, workload, kubernetes, data, cloud or compliance.';
		ELSIF bad.no_actor OR bad.no_target THEN
			RAISE EXCEPTION 'event record % refers to a resource that does not exist', bad.o
				USING ERRCODE = 'foreign_key_violation',
					  DETAIL = format('No resource with id %s in tenant "%s".', CASE WHEN bad.no_actor THEN bad.actor ELSE bad.target END, t);
		ELSE
			RAISE EXCEPTION 'event record % has a field out of range', bad.o
				USING ERRCODE = 'numeric_value_out_of_range',
					  DETAIL = format('class_uid %s (0..999999), activity_id %s (0..99), severity_id %s (0..99), dst_port %s (0..65535).',
									  bad.c, bad.a, bad.sev, bad.dport);
		END IF;
	END IF;

	-- Identity is (tenant, ts, source, uid), unique in every partition.  The parent
	-- has no index to arbitrate ON CONFLICT (see 20_tables.sql), so writers of one
	-- tenant and source take turns and skip the events already stored.
	PERFORM correlate._work_lock(t, VARIADIC ARRAY(SELECT 'ingest/' || x.source FROM unnest(sources) AS x(source)));

	RETURN QUERY
	WITH input AS (
		SELECT u.*,
			   COALESCE(u.uid, md5(concat_ws(E'\x1f', u.ts, u.c, u.a, u.actor, u.target, u.sip, u.dip, u.dport,
											  u.proc, u.cmd, u.act, u.outc, u.rule, u.raw::text))) AS key
		FROM unnest(ts, class_uids, sources, uids, activity_ids, domains, severity_ids, actors, targets,
					src_ips, dst_ips, dst_ports, processes, command_lines, actions, outcomes, rules, raws)
			 WITH ORDINALITY AS u(ts, c, source, uid, a, dom, sev, actor, target, sip, dip, dport, proc, cmd,
								  act, outc, rule, raw, o)
	), fresh AS (
		SELECT DISTINCT ON (i.source, i.key, i.ts) i.*
		FROM input i
		-- one identity-index probe per record (LIMIT keeps it from becoming a hash anti-join over all events)
		LEFT JOIN LATERAL (SELECT 1 AS hit FROM correlate.event old
						   WHERE old.tenant = t AND old.source = i.source AND old.uid = i.key AND old.ts = i.ts
						   LIMIT 1) AS seen ON true
		WHERE seen.hit IS NULL
		ORDER BY i.source, i.key, i.ts, i.o
	), ins AS (
		INSERT INTO correlate.event AS e (tenant, ts, uid, source, class_uid, activity_id, domain, severity_id, actor,
			target, src_ip, dst_ip, dst_port, process, command_line, action, outcome, rule, raw)
		SELECT t, f.ts, f.key, f.source, f.c, f.a, COALESCE(f.dom, correlate.ocsf_domain(f.c)), f.sev, f.actor,
			   f.target, f.sip, f.dip, f.dport, f.proc, f.cmd, f.act, f.outc, f.rule, f.raw
		FROM fresh f
		RETURNING e.id, e.source, e.uid, e.ts
	), noted AS (
		-- one row, evaluated once, after the insert: for correlate_new_events()
		SELECT correlate._note_arrival(min(x.ts), count(*)) FROM ins x
	)
	SELECT i.o::integer, COALESCE(ins.id, old.id)
	FROM input i
	CROSS JOIN noted
	LEFT JOIN ins ON ins.source = i.source AND ins.uid = i.key AND ins.ts = i.ts
	LEFT JOIN correlate.event old ON ins.id IS NULL AND old.tenant = t AND old.source = i.source
		AND old.uid = i.key AND old.ts = i.ts
	ORDER BY i.o;
END
$$;
COMMENT ON FUNCTION correlate.record_events(timestamptz[], integer[], text[], text[], integer[], text[], integer[], bigint[], bigint[], inet[], inet[], integer[], text[], text[], text[], text[], text[], jsonb[])
	IS 'Bulk insert of events, idempotent on (source, uid, ts); a NULL uid becomes a content hash. Returns each record''s id by position.';

CREATE FUNCTION correlate.record_event(
	ts           timestamptz,
	class_uid    integer,
	source       text,
	uid          text DEFAULT NULL,
	activity_id  integer DEFAULT NULL,
	domain       text DEFAULT NULL,
	severity_id  integer DEFAULT NULL,
	actor        bigint DEFAULT NULL,
	target       bigint DEFAULT NULL,
	src_ip       inet DEFAULT NULL,
	dst_ip       inet DEFAULT NULL,
	dst_port     integer DEFAULT NULL,
	process      text DEFAULT NULL,
	command_line text DEFAULT NULL,
	action       text DEFAULT NULL,
	outcome      text DEFAULT NULL,
	rule         text DEFAULT NULL,
	raw          jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT e.id FROM correlate.record_events(ARRAY[ts], ARRAY[class_uid], ARRAY[source], ARRAY[uid],
		ARRAY[activity_id], ARRAY[domain], ARRAY[severity_id], ARRAY[actor], ARRAY[target], ARRAY[src_ip],
		ARRAY[dst_ip], ARRAY[dst_port], ARRAY[process], ARRAY[command_line], ARRAY[action], ARRAY[outcome],
		ARRAY[rule], ARRAY[raw]) AS e;
$$;
COMMENT ON FUNCTION correlate.record_event(timestamptz, integer, text, text, integer, text, integer, bigint, bigint, inet, inet, integer, text, text, text, text, text, jsonb)
	IS 'Records one event (idempotent on source, uid and ts) and returns its id.';

CREATE FUNCTION correlate.record_finding(
	resource          bigint,
	kind              text,
	check_id          text,
	severity          text DEFAULT 'unknown',
	title             text DEFAULT NULL,
	package           text DEFAULT '',
	cvss              real DEFAULT NULL,
	epss              real DEFAULT NULL,
	known_exploited   boolean DEFAULT false,
	installed_version text DEFAULT NULL,
	fixed_version     text DEFAULT NULL,
	status            text DEFAULT 'open',
	props             jsonb DEFAULT NULL,
	source            text DEFAULT NULL,
	seen_at           timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	fid bigint;
BEGIN
	IF resource IS NULL OR kind IS NULL OR check_id IS NULL THEN
		RAISE EXCEPTION 'a finding needs a resource, a kind and a check_id'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = t AND r.id = record_finding.resource) THEN
		RAISE EXCEPTION 'finding % refers to a resource that does not exist', check_id
			USING ERRCODE = 'foreign_key_violation',
				  DETAIL = format('No resource with id %s in tenant "%s".', resource, t);
	END IF;
	IF kind NOT IN ('vulnerability', 'misconfiguration', 'secret', 'exposure', 'detection') THEN
		RAISE EXCEPTION 'unknown finding kind "%"', kind
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Finding %s on resource %s.', check_id, resource),
				  HINT = 'Use vulnerability, misconfiguration, secret, exposure or detection.';
	END IF;
	IF lower(COALESCE(severity, 'unknown')) NOT IN ('unknown', 'info', 'low', 'medium', 'high', 'critical') THEN
		RAISE EXCEPTION 'unknown severity "%"', severity
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Finding %s on resource %s.', check_id, resource),
				  HINT = 'Use unknown, info, low, medium, high or critical.';
	END IF;
	IF cvss = 'NaN' OR cvss < 0 OR cvss > 10 OR epss = 'NaN' OR epss < 0 OR epss > 1 THEN
		RAISE EXCEPTION 'cvss must be in [0,10] and epss in [0,1]'
			USING ERRCODE = 'numeric_value_out_of_range',
				  DETAIL = format('Finding %s on resource %s has cvss %s and epss %s.', check_id, resource, cvss, epss);
	END IF;
	IF props IS NOT NULL AND jsonb_typeof(props) <> 'object' THEN
		RAISE EXCEPTION 'finding props must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Finding %s on resource %s has props %s.', check_id, resource, props);
	END IF;
	IF status IS NOT NULL AND status NOT IN ('open', 'fixed', 'accepted', 'suppressed') THEN
		RAISE EXCEPTION 'unknown finding status "%"', status
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Finding %s on resource %s.', check_id, resource),
				  HINT = 'Use open, fixed, accepted or suppressed.';
	END IF;
	IF seen_at IS NOT NULL AND NOT isfinite(seen_at) THEN
		PERFORM correlate._check_time('finding', 1, seen_at);
	END IF;

	INSERT INTO correlate.finding AS f (tenant, resource, kind, check_id, package, title, severity, cvss, epss,
		known_exploited, installed_version, fixed_version, status, props, source, first_seen, last_seen)
	VALUES (t, resource, kind, check_id, COALESCE(package, ''), title, lower(COALESCE(severity, 'unknown')), cvss, epss,
		COALESCE(known_exploited, false), installed_version, fixed_version, COALESCE(status, 'open'),
		COALESCE(props, '{}'), source, COALESCE(seen_at, now()), COALESCE(seen_at, now()))
	ON CONFLICT (tenant, resource, kind, check_id, package) DO UPDATE SET
		title = COALESCE(EXCLUDED.title, f.title),
		severity = CASE WHEN EXCLUDED.severity = 'unknown' THEN f.severity ELSE EXCLUDED.severity END,
		cvss = COALESCE(EXCLUDED.cvss, f.cvss),
		epss = COALESCE(EXCLUDED.epss, f.epss),
		known_exploited = f.known_exploited OR EXCLUDED.known_exploited,
		installed_version = COALESCE(EXCLUDED.installed_version, f.installed_version),
		fixed_version = COALESCE(EXCLUDED.fixed_version, f.fixed_version),
		-- a rescan reporting the finding again reopens a fixed one but keeps a triage decision
		status = CASE WHEN f.status IN ('accepted', 'suppressed') AND EXCLUDED.status = 'open' THEN f.status
					  ELSE EXCLUDED.status END,
		props = f.props || EXCLUDED.props,
		source = COALESCE(EXCLUDED.source, f.source),
		first_seen = LEAST(f.first_seen, EXCLUDED.first_seen),
		last_seen = GREATEST(f.last_seen, EXCLUDED.last_seen)
	RETURNING f.id INTO fid;
	RETURN fid;
END
$$;
COMMENT ON FUNCTION correlate.record_finding(bigint, text, text, text, text, text, real, real, boolean, text, text, text, jsonb, text, timestamptz)
	IS 'Records (or refreshes) a vulnerability or misconfiguration on a resource and returns its id.';

CREATE FUNCTION correlate.record_ip_lease(
	ip         inet,
	resource   bigint,
	valid_from timestamptz,
	valid_to   timestamptz DEFAULT NULL,
	source     text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	r tstzrange;
	lid bigint;
	next_start timestamptz;
	own tstzrange;
BEGIN
	IF ip IS NULL OR resource IS NULL OR valid_from IS NULL THEN
		RAISE EXCEPTION 'an IP lease needs an ip, a resource and valid_from'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF masklen(ip) <> (CASE family(ip) WHEN 4 THEN 32 ELSE 128 END) THEN
		RAISE EXCEPTION 'an IP lease is for a single address, not the network %', ip
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT isfinite(valid_from) OR (valid_to IS NOT NULL AND valid_to <= valid_from) THEN
		RAISE EXCEPTION 'invalid lease interval [%, %)', valid_from, valid_to
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Lease of %s to resource %s: valid_from must be finite and before valid_to.', ip, resource);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM correlate.resource x WHERE x.tenant = t AND x.id = record_ip_lease.resource) THEN
		RAISE EXCEPTION 'IP lease refers to a resource that does not exist'
			USING ERRCODE = 'foreign_key_violation',
				  DETAIL = format('No resource with id %s in tenant "%s".', resource, t);
	END IF;

	-- Serialise leases of one address so concurrent writers cannot interleave the adjustments below.
	-- Addresses share 1024 lock buckets, so a transaction recording many leases holds at most 1024 locks.
	PERFORM correlate._work_lock(t, 'ip/' || (hashtext(host(ip)) & 1023));
	r := tstzrange(valid_from, valid_to, '[)');

	-- The address moved to this resource: a lease held by another resource ends where this one starts.
	UPDATE correlate.ip_lease l SET valid = tstzrange(lower(l.valid), valid_from, '[)')
	WHERE l.tenant = t AND l.ip = record_ip_lease.ip AND l.resource <> record_ip_lease.resource
	  AND l.valid && r AND lower(l.valid) < valid_from;
	DELETE FROM correlate.ip_lease l
	WHERE l.tenant = t AND l.ip = record_ip_lease.ip AND l.resource <> record_ip_lease.resource
	  AND lower(l.valid) = valid_from;
	-- A later lease of another resource ends this one.
	SELECT min(lower(l.valid)) INTO next_start FROM correlate.ip_lease l
	WHERE l.tenant = t AND l.ip = record_ip_lease.ip AND l.resource <> record_ip_lease.resource
	  AND lower(l.valid) > valid_from AND l.valid && r;
	IF next_start IS NOT NULL THEN
		r := tstzrange(valid_from, next_start, '[)');
	END IF;

	-- Merge with this resource's overlapping or adjacent leases of the same address.
	SELECT range_merge(range_agg(l.valid)) INTO own FROM correlate.ip_lease l
	WHERE l.tenant = t AND l.ip = record_ip_lease.ip AND l.resource = record_ip_lease.resource
	  AND (l.valid && r OR l.valid -|- r);
	IF own IS NOT NULL THEN
		r := range_merge(r, own);
	END IF;
	DELETE FROM correlate.ip_lease l
	WHERE l.tenant = t AND l.ip = record_ip_lease.ip AND l.resource = record_ip_lease.resource
	  AND (l.valid && r OR l.valid -|- r);

	INSERT INTO correlate.ip_lease (tenant, ip, resource, valid, source)
	VALUES (t, ip, resource, r, source)
	RETURNING id INTO lid;
	RETURN lid;
END
$$;
COMMENT ON FUNCTION correlate.record_ip_lease(inet, bigint, timestamptz, timestamptz, text)
	IS 'Records that resource held ip from valid_from (to valid_to, or still); merges with its own leases and ends other resources'' leases where this one starts.';

CREATE FUNCTION correlate.resolve_ip(ip inet, at timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT l.resource FROM correlate.ip_lease l
	WHERE l.tenant = (SELECT correlate.current_tenant()) AND l.ip = resolve_ip.ip AND l.valid @> resolve_ip.at
	ORDER BY lower(l.valid) DESC, l.id DESC LIMIT 1;
$$;
COMMENT ON FUNCTION correlate.resolve_ip(inet, timestamptz) IS 'Resource that held ip at the given time, or NULL.';

GRANT EXECUTE ON FUNCTION correlate.resource_id(text), correlate.resolve_ip(inet, timestamptz),
	correlate.ocsf_domain(integer) TO correlate_reader;
GRANT EXECUTE ON FUNCTION
	correlate._check_lengths(text, integer, integer[]), correlate._check_time(text, bigint, timestamptz),
	correlate.jsonb_merge(jsonb),
	correlate.upsert_resources(text[], text[], text[], text[], text[], text[], text[], jsonb[], jsonb[], real[], timestamptz[]),
	correlate.upsert_resource(text, text, text, text, text, text, text, jsonb, jsonb, real, timestamptz),
	correlate.internet(),
	correlate.link_many(bigint[], bigint[], text[], float8[], jsonb[], text[], timestamptz[]),
	correlate.link(bigint, bigint, text, float8, jsonb, text, timestamptz),
	correlate.record_events(timestamptz[], integer[], text[], text[], integer[], text[], integer[], bigint[], bigint[], inet[], inet[], integer[], text[], text[], text[], text[], text[], jsonb[]),
	correlate.record_event(timestamptz, integer, text, text, integer, text, integer, bigint, bigint, inet, inet, integer, text, text, text, text, text, jsonb),
	correlate.record_finding(bigint, text, text, text, text, text, real, real, boolean, text, text, text, jsonb, text, timestamptz),
	correlate.record_ip_lease(inet, bigint, timestamptz, timestamptz, text)
	TO correlate_writer;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._check_lengths(text, integer, integer[])
	IS 'Internal: raises unless every non-NULL array length equals n (the bulk write API''s parallel arrays).';
COMMENT ON FUNCTION correlate._check_time(text, bigint, timestamptz)
	IS 'Internal: raises for a NULL or infinite time of the record at position ord.';

-- ==== src/sql/40_partitions.sql ====
-- 40_partitions.sql: monthly partitions of correlate.event, created ahead and
-- dropped after a retention period.
--
-- Both functions are SECURITY DEFINER because attaching and dropping partitions
-- needs ownership of correlate.event; they take no SQL text and are granted to
-- correlate_admin only (and suit a pg_cron job).  Rows that landed in the
-- default partition before their month's partition existed are moved into it.

CREATE FUNCTION correlate.create_event_partitions(ahead integer DEFAULT 3, start_at timestamptz DEFAULT now())
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m timestamptz;
	lo timestamptz;
	hi timestamptz;
	part text;
BEGIN
	IF ahead IS NULL OR ahead < 0 OR ahead > 120 THEN
		RAISE EXCEPTION 'ahead must be between 0 and 120 months, not %', ahead
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF start_at IS NULL OR NOT isfinite(start_at) THEN
		RAISE EXCEPTION 'start_at must be a finite time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- Partition bounds are whole UTC months whatever the session's time zone.
	FOR i IN 0..ahead LOOP
		lo := (date_trunc('month', start_at AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
		hi := (date_trunc('month', start_at AT TIME ZONE 'UTC') + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
		part := 'event_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM');
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
							  WHERE n.nspname = 'correlate' AND c.relname = part);
		IF EXISTS (SELECT 1 FROM correlate.event_default WHERE ts >= lo AND ts < hi) THEN
			ALTER TABLE correlate.event DETACH PARTITION correlate.event_default;
			EXECUTE format('CREATE TABLE correlate.%I PARTITION OF correlate.event FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
			PERFORM correlate._event_partition_setup(format('correlate.%I', part)::regclass);
			EXECUTE format('INSERT INTO correlate.%I OVERRIDING SYSTEM VALUE SELECT * FROM correlate.event_default WHERE ts >= %L AND ts < %L', part, lo, hi);
			DELETE FROM correlate.event_default WHERE ts >= lo AND ts < hi;
			ALTER TABLE correlate.event ATTACH PARTITION correlate.event_default DEFAULT;
		ELSE
			EXECUTE format('CREATE TABLE correlate.%I PARTITION OF correlate.event FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
			PERFORM correlate._event_partition_setup(format('correlate.%I', part)::regclass);
		END IF;
		EXECUTE format('COMMENT ON TABLE correlate.%I IS %L', part, 'Events of ' || to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM') || ' (UTC).');
		RETURN NEXT part;
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate.create_event_partitions(integer, timestamptz)
	IS 'Creates monthly partitions of correlate.event from start_at''s month to ahead months later; moves matching rows out of the default partition. Returns the partitions created.';

CREATE FUNCTION correlate.drop_event_partitions(retention interval, as_of timestamptz DEFAULT NULL)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cutoff timestamptz;
	newest timestamptz;
	-- registered when the library loads; read as text so it works before that too
	lead interval := COALESCE(NULLIF(pg_catalog.current_setting('correlate.retention_clock_lead', true), ''), '7 days')::interval;
	p record;
BEGIN
	IF retention IS NULL OR retention < interval '0' THEN
		RAISE EXCEPTION 'retention must be a non-negative interval, not %', retention
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF as_of IS NOT NULL AND NOT isfinite(as_of) THEN
		RAISE EXCEPTION 'as_of must be a finite time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lead < interval '0' THEN
		RAISE EXCEPTION 'correlate.retention_clock_lead must not be negative, not %', lead
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF as_of IS NOT NULL THEN
		cutoff := as_of - retention;
	ELSE
		-- The clock is trusted only as far as the data agrees with it: a clock stepped
		-- years ahead (NTP, a VM restored from an old snapshot then corrected, a bad
		-- RTC) must not make one scheduled run drop every event. Age is measured from
		-- the newest stored event when the clock runs ahead of it by more than
		-- correlate.retention_clock_lead; an explicit as_of is used as given.
		-- the newest event of each tenant through the (tenant, ts, ...) key: a skip scan
		-- over the tenants, then one backward probe each, not a scan of every event
		WITH RECURSIVE ten AS (
			SELECT min(e.tenant) AS tenant FROM correlate.event e
			UNION ALL
			SELECT (SELECT min(e.tenant) FROM correlate.event e WHERE e.tenant > ten.tenant)
			FROM ten WHERE ten.tenant IS NOT NULL)
		SELECT max((SELECT max(e.ts) FROM correlate.event e WHERE e.tenant = ten.tenant)) INTO newest
		FROM ten WHERE ten.tenant IS NOT NULL;
		cutoff := now() - retention;
		IF newest IS NOT NULL AND now() > newest + lead THEN
			cutoff := LEAST(cutoff, newest + lead - retention);
			RAISE NOTICE 'the clock is % ahead of the newest stored event: retention counts from % instead',
				now() - newest, newest + lead
				USING HINT = 'Pass as_of to drop_event_partitions to use another time as given.';
		END IF;
	END IF;
	FOR p IN
		SELECT c.relname,
			   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
		FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'correlate.event'::regclass AND c.relname <> 'event_default'
		ORDER BY c.relname
	LOOP
		IF p.upper_bound <= cutoff THEN
			EXECUTE format('DROP TABLE correlate.%I', p.relname);
			RETURN NEXT p.relname;
		END IF;
	END LOOP;
	DELETE FROM correlate.event_default WHERE ts < cutoff;
END
$$;
COMMENT ON FUNCTION correlate.drop_event_partitions(interval, timestamptz)
	IS 'Drops event partitions wholly older than as_of - retention (and deletes such rows from the default partition); as_of defaults to now(), capped at the newest stored event plus correlate.retention_clock_lead so a clock stepped ahead cannot drop recent data. Returns the partitions dropped.';

GRANT EXECUTE ON FUNCTION correlate.create_event_partitions(integer, timestamptz),
	correlate.drop_event_partitions(interval, timestamptz) TO correlate_admin;

-- ==== src/sql/50_ingest.sql ====
-- 50_ingest.sql: correlate.ingest() and correlate.ingest_file() (C, src/ingest/),
-- the table of rejected records, and the set-based event path the C writer uses.
--
-- The C writer flushes each batch through the core write API
-- (upsert_resources, link_many, record_ip_lease, record_finding) and through
-- correlate._ingest_events below, which adds what only the ingest path needs:
-- resolving addresses through ip_lease at each event's time in bulk, and
-- counting flows on connects_to edges only for events not stored before, so
-- ingesting the same input twice changes nothing.

CREATE TABLE correlate.ingest_reject (
	tenant text NOT NULL DEFAULT correlate.current_tenant(),
	id     bigint GENERATED ALWAYS AS IDENTITY,
	ts     timestamptz NOT NULL DEFAULT now(),
	format text NOT NULL,
	recno  bigint NOT NULL CHECK (recno >= 0),
	reason text NOT NULL,
	raw    text,
	digest text NOT NULL,
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, format, digest)
);
CREATE INDEX ingest_reject_ts_idx ON correlate.ingest_reject (tenant, ts);

COMMENT ON TABLE correlate.ingest_reject IS 'Records correlate.ingest(..., on_error => ''skip'') could not load, with the reason; nothing else of them was stored.';
COMMENT ON COLUMN correlate.ingest_reject.tenant IS 'Tenant the ingest ran in.';
COMMENT ON COLUMN correlate.ingest_reject.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.ingest_reject.ts IS 'When the record was first rejected.';
COMMENT ON COLUMN correlate.ingest_reject.format IS 'Ingest format (cloudtrail, falco, ...).';
COMMENT ON COLUMN correlate.ingest_reject.recno IS '1-based number of the record in its input (a line, an array element, a document).';
COMMENT ON COLUMN correlate.ingest_reject.reason IS 'Why the record was rejected.';
COMMENT ON COLUMN correlate.ingest_reject.raw IS 'The record as received, up to correlate.ingest_reject_raw_max; NUL bytes and invalid UTF-8 appear as \xNN.';
COMMENT ON COLUMN correlate.ingest_reject.digest IS 'Hash of the full record and reason: the same reject is stored once however often it is ingested.';

SELECT correlate._isolate_tenants('correlate.ingest_reject');

SELECT pg_catalog.pg_extension_config_dump('correlate.ingest_reject', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.ingest_reject', 'id')::regclass, '');

-- Events of one flush.  Parallel arrays, one element per event; the C writer
-- has validated every field and has already resolved addresses through ip_lease
-- at each event's time (resolve_lease in src/ingest/writer.c).  src_modes /
-- dst_modes, for an address no lease covered: 0 keep actor / target as given,
-- 1 use the address's own network:ip resource, 2 use the internet resource.
CREATE FUNCTION correlate._ingest_events(
	p_source        text,
	p_ts            timestamptz[],
	p_uids          text[],
	p_class_uids    integer[],
	p_activity_ids  integer[],
	p_domains       text[],
	p_severity_ids  integer[],
	p_actors        bigint[],
	p_targets       bigint[],
	p_src_ips       inet[],
	p_dst_ips       inet[],
	p_dst_ports     integer[],
	p_processes     text[],
	p_command_lines text[],
	p_actions       text[],
	p_outcomes      text[],
	p_rules         text[],
	p_raws          jsonb[],
	p_src_modes     integer[],
	p_dst_modes     integer[],
	p_link_kinds    text[],
	p_bytes         bigint[],
	p_packets       bigint[])
RETURNS TABLE (events bigint, relationships bigint, resources bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	n integer := COALESCE(cardinality(p_ts), 0);
	inet_id bigint;
	ip_uids text[];
	ip_names text[];
	ip_seen timestamptz[];
	ip_ids bigint[];
	n_ev bigint := 0;
	n_rel bigint := 0;
	n_res bigint := 0;
	first_new timestamptz;
	old_lo timestamptz;
	old_hi timestamptz;
BEGIN
	PERFORM correlate._check_lengths('_ingest_events', n, cardinality(p_uids), cardinality(p_class_uids),
		cardinality(p_activity_ids), cardinality(p_domains), cardinality(p_severity_ids), cardinality(p_actors),
		cardinality(p_targets), cardinality(p_src_ips), cardinality(p_dst_ips), cardinality(p_dst_ports),
		cardinality(p_processes), cardinality(p_command_lines), cardinality(p_actions), cardinality(p_outcomes),
		cardinality(p_rules), cardinality(p_raws), cardinality(p_src_modes), cardinality(p_dst_modes),
		cardinality(p_link_kinds), cardinality(p_bytes), cardinality(p_packets));
	IF n = 0 THEN
		RETURN QUERY SELECT 0::bigint, 0::bigint;
		RETURN;
	END IF;

	-- Addresses no lease covered: the internet, or the address's own resource.
	IF EXISTS (SELECT 1 FROM unnest(p_src_modes, p_dst_modes) AS m(s, d) WHERE m.s > 0 OR m.d > 0) THEN
		IF EXISTS (SELECT 1 FROM unnest(p_actors, p_src_modes, p_targets, p_dst_modes) AS u(a, sm, b, dm)
				   WHERE (u.a IS NULL AND u.sm = 2) OR (u.b IS NULL AND u.dm = 2)) THEN
			inet_id := correlate.internet();
		END IF;

		-- An address is seen when its events happened, not when they were loaded: a
		-- back-filled log keeps its own times whatever the clock says.
		SELECT array_agg('ip://' || x.h ORDER BY x.h), array_agg(x.h ORDER BY x.h), array_agg(x.seen ORDER BY x.h)
		INTO ip_uids, ip_names, ip_seen
		FROM (SELECT y.h, min(y.ts) AS seen
			  FROM (SELECT host(u.sip) AS h, u.ts FROM unnest(p_actors, p_src_ips, p_src_modes, p_ts) AS u(a, sip, m, ts)
					WHERE u.a IS NULL AND u.m = 1
					UNION ALL
					SELECT host(u.dip), u.ts FROM unnest(p_targets, p_dst_ips, p_dst_modes, p_ts) AS u(a, dip, m, ts)
					WHERE u.a IS NULL AND u.m = 1) y
			  GROUP BY y.h) x;
		IF ip_uids IS NOT NULL THEN
			-- the addresses seen for the first time, for the call's resource count
			SELECT count(*) INTO n_res FROM unnest(ip_uids) AS x(uid)
			WHERE NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = t AND r.uid = x.uid);
			SELECT array_agg(r.stored_id ORDER BY x.o) INTO ip_ids
			FROM unnest(ip_uids) WITH ORDINALITY AS x(uid, o)
			JOIN correlate._ingest_resources(ip_uids, array_fill('network:ip'::text, ARRAY[cardinality(ip_uids)]),
											 ip_names, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
											 ip_seen) AS r ON r.stored_uid = x.uid;
		END IF;

		SELECT array_agg(COALESCE(u.a, CASE u.sm WHEN 2 THEN inet_id WHEN 1 THEN s.id END) ORDER BY u.o),
			   array_agg(COALESCE(u.b, CASE u.dm WHEN 2 THEN inet_id WHEN 1 THEN d.id END) ORDER BY u.o)
		INTO p_actors, p_targets
		FROM unnest(p_actors, p_targets, p_src_ips, p_dst_ips, p_src_modes, p_dst_modes)
			 WITH ORDINALITY AS u(a, b, sip, dip, sm, dm, o)
		LEFT JOIN unnest(ip_names, ip_ids) AS s(h, id) ON u.a IS NULL AND u.sm = 1 AND s.h = host(u.sip)
		LEFT JOIN unnest(ip_names, ip_ids) AS d(h, id) ON u.b IS NULL AND u.dm = 1 AND d.h = host(u.dip);
	END IF;

	-- The default domain of each class, computed once per class rather than once per event.
	IF EXISTS (SELECT 1 FROM unnest(p_domains) AS d WHERE d IS NULL) THEN
		SELECT array_agg(COALESCE(u.dom, k.dom) ORDER BY u.o) INTO p_domains
		FROM unnest(p_domains, p_class_uids) WITH ORDINALITY AS u(dom, c, o)
		LEFT JOIN (SELECT x.c, correlate.ocsf_domain(x.c) AS dom
				   FROM (SELECT DISTINCT y.c FROM unnest(p_class_uids) AS y(c)) x) k ON k.c = u.c;
	END IF;

	-- Identity is (tenant, ts, source, uid), unique in every partition but with no
	-- index on the parent to arbitrate ON CONFLICT: take the same per-(tenant,
	-- source) lock record_events takes, then skip events already stored, probing
	-- the identity key row by row (a scalar subquery, so no statistics can turn it
	-- into a join that reads the whole table once per batch).  The C
	-- writer has removed duplicates within the batch.  tenant is given explicitly:
	-- the column default would call current_tenant() once per row.
	PERFORM correlate._work_lock(t, 'ingest/' || p_source);

	-- Only events inside the time span this source already has stored in the
	-- batch's span can be repeats: the first and last of them (two scans of the
	-- identity index (tenant, ts, source, uid) from either end of the span) bound
	-- it, and events outside it skip the per-event probe.  Loading new logs, which
	-- is the common case, probes almost nothing.
	SELECT min(old.ts), max(old.ts) INTO old_lo, old_hi
	FROM correlate.event old
	WHERE old.tenant = t AND old.source = p_source
	  AND old.ts BETWEEN (SELECT min(x) FROM unnest(p_ts) AS x) AND (SELECT max(x) FROM unnest(p_ts) AS x);

	IF NOT EXISTS (SELECT 1 FROM unnest(p_link_kinds) AS k WHERE k IS NOT NULL) THEN
		WITH ins AS (
			INSERT INTO correlate.event AS e (tenant, ts, uid, source, class_uid, activity_id, domain, severity_id,
				actor, target, src_ip, dst_ip, dst_port, process, command_line, action, outcome, rule, raw)
			SELECT t, u.ts, u.uid, p_source, u.c, u.a, u.dom, u.sev, u.actor,
				   u.target, u.sip, u.dip, u.dport, u.proc, u.cmd, u.act, u.outc, u.rule, u.raw
			FROM unnest(p_ts, p_uids, p_class_uids, p_activity_ids, p_domains, p_severity_ids, p_actors, p_targets,
						p_src_ips, p_dst_ips, p_dst_ports, p_processes, p_command_lines, p_actions, p_outcomes,
						p_rules, p_raws)
				 AS u(ts, uid, c, a, dom, sev, actor, target, sip, dip, dport, proc, cmd, act, outc, rule, raw)
			WHERE old_lo IS NULL OR u.ts < old_lo OR u.ts > old_hi OR (SELECT true FROM correlate.event old
				   WHERE old.tenant = t AND old.source = p_source AND old.uid = u.uid AND old.ts = u.ts
				   LIMIT 1) IS NULL
			RETURNING e.ts
		)
		SELECT count(*), min(ins.ts) INTO n_ev, first_new FROM ins;
		PERFORM correlate._note_arrival(first_new, n_ev);
		RETURN QUERY SELECT n_ev, 0::bigint, n_res;
		RETURN;
	END IF;

	-- With link kinds: count what each newly stored event adds to its edge.
	WITH input AS (
		SELECT u.* FROM unnest(p_ts, p_uids, p_class_uids, p_activity_ids, p_domains, p_severity_ids, p_actors,
							   p_targets, p_src_ips, p_dst_ips, p_dst_ports, p_processes, p_command_lines,
							   p_actions, p_outcomes, p_rules, p_raws, p_link_kinds, p_bytes, p_packets)
			 WITH ORDINALITY AS u(ts, uid, c, a, dom, sev, actor, target, sip, dip, dport, proc, cmd, act, outc,
								  rule, raw, lk, nbytes, npackets, o)
	), ins AS (
		INSERT INTO correlate.event AS e (tenant, ts, uid, source, class_uid, activity_id, domain, severity_id,
			actor, target, src_ip, dst_ip, dst_port, process, command_line, action, outcome, rule, raw)
		SELECT t, i.ts, i.uid, p_source, i.c, i.a, i.dom, i.sev, i.actor,
			   i.target, i.sip, i.dip, i.dport, i.proc, i.cmd, i.act, i.outc, i.rule, i.raw
		FROM input i
		WHERE old_lo IS NULL OR i.ts < old_lo OR i.ts > old_hi OR (SELECT true FROM correlate.event old
			   WHERE old.tenant = t AND old.source = p_source AND old.uid = i.uid AND old.ts = i.ts
			   LIMIT 1) IS NULL
		RETURNING e.uid, e.ts
	), added AS (
		SELECT i.* FROM ins JOIN input i ON i.uid = ins.uid AND i.ts = ins.ts
	), flows AS (
		SELECT a.actor, a.target, a.lk, count(*) AS nev, sum(a.nbytes) AS nbytes, sum(a.npackets) AS npackets,
			   min(a.ts) AS first_ts, max(a.ts) AS last_ts,
			   array_agg(DISTINCT a.dport) FILTER (WHERE a.dport IS NOT NULL) AS ports
		FROM added a
		WHERE a.lk IS NOT NULL AND a.actor IS NOT NULL AND a.target IS NOT NULL AND a.actor <> a.target
		GROUP BY a.actor, a.target, a.lk
	), links AS (
		-- counts are added to the edge's, through the unique key (no lookup the planner could misroute)
		INSERT INTO correlate.relationship AS r (tenant, src, dst, kind, likelihood, props, source, first_seen, last_seen)
		SELECT t, f.actor, f.target, f.lk, k.default_likelihood,
			   jsonb_strip_nulls(jsonb_build_object('events', f.nev, 'bytes', f.nbytes, 'packets', f.npackets,
				   'ports', (SELECT jsonb_agg(x.p ORDER BY x.p) FROM (SELECT DISTINCT y.p FROM unnest(f.ports) AS y(p)
																	  ORDER BY 1 LIMIT 64) x))),
			   p_source, f.first_ts, f.last_ts
		FROM flows f JOIN correlate.relationship_kind k ON k.kind = f.lk
		ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET
			props = r.props || jsonb_strip_nulls(jsonb_build_object(
				'events', COALESCE((r.props->>'events')::bigint, 0) + (EXCLUDED.props->>'events')::bigint,
				'bytes', CASE WHEN EXCLUDED.props ? 'bytes'
							  THEN to_jsonb(COALESCE((r.props->>'bytes')::numeric, 0) + (EXCLUDED.props->>'bytes')::numeric)
							  ELSE r.props->'bytes' END,
				'packets', CASE WHEN EXCLUDED.props ? 'packets'
								THEN to_jsonb(COALESCE((r.props->>'packets')::numeric, 0) + (EXCLUDED.props->>'packets')::numeric)
								ELSE r.props->'packets' END,
				'ports', (SELECT jsonb_agg(x.p ORDER BY x.p)
						  FROM (SELECT DISTINCT y.p::integer AS p
								FROM jsonb_array_elements_text(
										 CASE WHEN jsonb_typeof(r.props->'ports') = 'array' THEN r.props->'ports' ELSE '[]' END
										 || COALESCE(EXCLUDED.props->'ports', '[]')) AS y(p)
								ORDER BY 1 LIMIT 64) x))),
			source     = EXCLUDED.source,
			first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen  = GREATEST(r.last_seen, EXCLUDED.last_seen)
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM ins), (SELECT min(ins.ts) FROM ins), (SELECT count(*) FROM links)
	INTO n_ev, first_new, n_rel;
	PERFORM correlate._note_arrival(first_new, n_ev);

	RETURN QUERY SELECT n_ev, n_rel, n_res;
END
$$;
COMMENT ON FUNCTION correlate._ingest_events(text, timestamptz[], text[], integer[], integer[], text[], integer[], bigint[], bigint[], inet[], inet[], integer[], text[], text[], text[], text[], text[], jsonb[], integer[], integer[], text[], bigint[], bigint[])
	IS 'Internal to correlate.ingest: stores a batch of validated events (idempotent on source, uid and ts), giving addresses no lease covered their fallback resource and counting flows on links for newly stored events; returns the events stored, the edges written and the address resources created.';

-- Refreshes the planner's statistics of the tables an ingest call grows, from
-- inside the call (ANALYZE counts the transaction's own rows and invalidates
-- cached plans, the foreign-key checks' among them); see keep_statistics() in
-- src/ingest/writer.c.  SECURITY DEFINER because ANALYZE needs the tables'
-- owner; it takes no input and touches nothing but statistics.  SKIP_LOCKED:
-- an ANALYZE inside a transaction keeps its table lock until commit, so a second
-- ingest (another tenant, another source) skips the refresh rather than wait for
-- the first to finish (or deadlock with it), and quietly: a skipped refresh is
-- not the caller's concern.
CREATE FUNCTION correlate._ingest_analyze() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET client_min_messages = error
AS $$
BEGIN
	ANALYZE (SKIP_LOCKED) correlate.resource, correlate.relationship;
END
$$;
COMMENT ON FUNCTION correlate._ingest_analyze()
	IS 'Internal to correlate.ingest: refreshes the planner statistics of resource and relationship while a large ingest call grows them.';

CREATE FUNCTION correlate.ingest(format text, payload text, on_error text DEFAULT 'error')
RETURNS TABLE (events bigint, resources bigint, relationships bigint, findings bigint, rejected bigint)
AS 'MODULE_PATHNAME', 'correlate_ingest'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION correlate.ingest(text, text, text)
	IS 'Parses telemetry of the given format (cloudtrail, falco, k8s_audit, vpc_flow, ocsf, k8s_inventory, aws_iam, trivy, grype) and stores its events, resources, relationships and findings; on_error is ''error'' or ''skip''.';

CREATE FUNCTION correlate.ingest_file(format text, path text, on_error text DEFAULT 'error')
RETURNS TABLE (events bigint, resources bigint, relationships bigint, findings bigint, rejected bigint)
AS 'MODULE_PATHNAME', 'correlate_ingest_file'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION correlate.ingest_file(text, text, text)
	IS 'correlate.ingest() reading a file on the database server, streamed in chunks; needs superuser or pg_read_server_files.';

GRANT SELECT ON correlate.ingest_reject TO correlate_reader;
GRANT INSERT, DELETE ON correlate.ingest_reject TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate.ingest(text, text, text), correlate.ingest_file(text, text, text),
	correlate._ingest_analyze(),
	correlate._ingest_resources(text[], text[], text[], text[], text[], text[], text[], jsonb[], jsonb[], real[], timestamptz[]),
	correlate._ingest_links(bigint[], bigint[], text[], float8[], jsonb[], text, timestamptz[]),
	correlate._ingest_events(text, timestamptz[], text[], integer[], integer[], text[], integer[], bigint[], bigint[], inet[], inet[], integer[], text[], text[], text[], text[], text[], jsonb[], integer[], integer[], text[], bigint[], bigint[])
	TO correlate_writer;

-- ==== src/sql/60_graph.sql ====
-- 60_graph.sql: the graph engine (src/graph/).  A compact CSR snapshot of the
-- tenant's resources and relationships, cached per backend, and the functions
-- that run on it: attack paths, blast radius, exposure, reachability,
-- chokepoints and minimum cuts.
--
-- The cache stays exact through correlate.graph_change, an insert-only log with
-- one row per (writing transaction, tenant) written by statement triggers on
-- resource and relationship; src/graph/graph_cache.c explains the design.  The
-- log is internal: no role but the owner reads or writes it (the trigger
-- inserts as the owner), and it is not user data, so it is not dumped.

CREATE TABLE correlate.graph_change (
	tenant text NOT NULL,
	xid    xid8 NOT NULL
);
CREATE INDEX graph_change_tenant_xid_idx ON correlate.graph_change (tenant, xid);
ALTER TABLE correlate.graph_change ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE correlate.graph_change IS 'Internal: which transactions changed which tenant''s graph, so cached graph snapshots know when to rebuild.';
COMMENT ON COLUMN correlate.graph_change.tenant IS 'Tenant whose resources or relationships changed (read from the written rows); '''' when any tenant may have (TRUNCATE, graph_prune_changes).';
COMMENT ON COLUMN correlate.graph_change.xid IS 'Top-level transaction that made the change.';

CREATE FUNCTION correlate._graph_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'correlate_graph_changed' LANGUAGE C;
COMMENT ON FUNCTION correlate._graph_changed() IS 'Internal: statement trigger that logs, per tenant the statement wrote (from its transition tables), a graph change of the writing transaction.';

-- One trigger per event: only a single-event trigger can have transition
-- tables, and the tenants written are read from them (never from the
-- correlate.tenant setting, which a statement can change before its AFTER
-- triggers fire).  TRUNCATE logs '' (any tenant).
CREATE TRIGGER graph_changed_insert AFTER INSERT ON correlate.resource
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_update AFTER UPDATE ON correlate.resource
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_delete AFTER DELETE ON correlate.resource
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_truncate AFTER TRUNCATE ON correlate.resource
	FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_insert AFTER INSERT ON correlate.relationship
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_update AFTER UPDATE ON correlate.relationship
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_delete AFTER DELETE ON correlate.relationship
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
CREATE TRIGGER graph_changed_truncate AFTER TRUNCATE ON correlate.relationship
	FOR EACH STATEMENT EXECUTE FUNCTION correlate._graph_changed();
-- Fire also under session_replication_role = replica (bulk loads that skip other triggers).
ALTER TABLE correlate.resource ENABLE ALWAYS TRIGGER graph_changed_insert, ENABLE ALWAYS TRIGGER graph_changed_update,
	ENABLE ALWAYS TRIGGER graph_changed_delete, ENABLE ALWAYS TRIGGER graph_changed_truncate;
ALTER TABLE correlate.relationship ENABLE ALWAYS TRIGGER graph_changed_insert, ENABLE ALWAYS TRIGGER graph_changed_update,
	ENABLE ALWAYS TRIGGER graph_changed_delete, ENABLE ALWAYS TRIGGER graph_changed_truncate;

CREATE FUNCTION correlate.graph_prune_changes() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
	n bigint;
BEGIN
	-- Rows below the oldest running transaction are never consulted by a
	-- snapshot built from now on; the '' row makes older snapshots rebuild.
	DELETE FROM correlate.graph_change c WHERE c.xid < horizon;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO correlate.graph_change (tenant, xid) VALUES ('', pg_current_xact_id());
	RETURN n;
END
$$;
COMMENT ON FUNCTION correlate.graph_prune_changes()
	IS 'Deletes graph change-log rows no snapshot needs any more (run it daily, e.g. from pg_cron); every backend rebuilds its cached graph once afterwards. Returns the rows deleted.';

CREATE FUNCTION correlate.graph_stats()
RETURNS TABLE (tenant text, nodes bigint, edges bigint, memory_bytes bigint, build_ms float8,
			   version bigint, is_current boolean, hits bigint, rebuilds bigint, skipped_edges bigint)
AS 'MODULE_PATHNAME', 'correlate_graph_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 1;
COMMENT ON FUNCTION correlate.graph_stats()
	IS 'This backend''s cached graph snapshot of the current tenant (NULLs when none): size, memory, build time, version (newest change xid it includes), whether it is still current, and the backend''s cache hits and rebuilds.';

CREATE FUNCTION correlate.graph_reset() RETURNS void
AS 'MODULE_PATHNAME', 'correlate_graph_reset' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION correlate.graph_reset() IS 'Frees this backend''s cached graph snapshot; the next graph query rebuilds it.';

CREATE FUNCTION correlate.blast_radius(sources bigint[], max_hops integer DEFAULT NULL, kinds text[] DEFAULT NULL,
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (resource_id bigint, hops integer, likelihood float8, via bigint)
AS 'MODULE_PATHNAME', 'correlate_blast_radius' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION correlate.blast_radius(bigint[], integer, text[], jsonb)
	IS 'Every resource reachable from the sources (within max_hops, following only kinds: techniques on the attack layer), with the likelihood and hops of its most likely path and the resource before it on that path; the sources themselves have hops 0. what_if: answer as if the hypothetical changes were made (docs/attack.md).';

CREATE FUNCTION correlate.exposure(targets bigint[], max_hops integer DEFAULT NULL, kinds text[] DEFAULT NULL,
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (resource_id bigint, hops integer, likelihood float8, via bigint)
AS 'MODULE_PATHNAME', 'correlate_exposure' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION correlate.exposure(bigint[], integer, text[], jsonb)
	IS 'Every resource that can reach the targets (blast_radius in reverse): likelihood and hops of its most likely path to a target, and the next resource on that path; what_if as for blast_radius.';

CREATE FUNCTION correlate.reachable(source bigint, target bigint, max_hops integer DEFAULT NULL,
	what_if jsonb DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'correlate_reachable' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION correlate.reachable(bigint, bigint, integer, jsonb)
	IS 'Whether target can be reached from source in at most max_hops hops (NULL: any number); a resource reaches itself.';

GRANT EXECUTE ON FUNCTION correlate.graph_stats(), correlate.graph_reset(),
	correlate.blast_radius(bigint[], integer, text[], jsonb), correlate.exposure(bigint[], integer, text[], jsonb),
	correlate.reachable(bigint, bigint, integer, jsonb)
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.graph_prune_changes() TO correlate_admin;

CREATE FUNCTION correlate.attack_paths(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL,
	k integer DEFAULT 10, max_hops integer DEFAULT 8, kinds text[] DEFAULT NULL, what_if jsonb DEFAULT NULL)
RETURNS TABLE (path_rank integer, hop integer, resource_id bigint, relationship_id bigint,
			   likelihood float8, path_likelihood float8)
AS 'MODULE_PATHNAME', 'correlate_attack_paths' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 50;
COMMENT ON FUNCTION correlate.attack_paths(bigint[], bigint[], integer, integer, text[], jsonb)
	IS 'The k most likely simple paths (at most max_hops edges, following only kinds) from any source (default: the internet resource) to any target (default: crown jewels), most likely first; one row per hop, hop 0 being the source; relationship_id is the attack edge (or, on the facts layer, the relationship). what_if: as if the hypothetical changes were made.';

CREATE FUNCTION correlate.chokepoints(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL, k integer DEFAULT 10,
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (resource_id bigint, relationship_id bigint, paths_through bigint, likelihood_share float8)
AS 'MODULE_PATHNAME', 'correlate_chokepoints' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 20;
COMMENT ON FUNCTION correlate.chokepoints(bigint[], bigint[], integer, jsonb)
	IS 'Where the k most likely attack paths (at most 8 hops) converge: up to k resources and k edges, each with the number of those paths through it and its share of their likelihood (relationship_id NULL for a resource row, resource_id NULL for an edge row); what_if as for attack_paths.';

CREATE FUNCTION correlate.min_cut(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL, cost text DEFAULT 'unit',
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (relationship_id bigint, src bigint, dst bigint, cost float8)
AS 'MODULE_PATHNAME', 'correlate_min_cut' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION correlate.min_cut(bigint[], bigint[], text, jsonb)
	IS 'A minimum-cost set of edges whose removal disconnects every source (default: the internet resource) from every target (default: crown jewels); cost ''unit'' or ''fix_cost'' (an attack edge''s because->>''fix_cost'', a relationship''s props->>''fix_cost'', default 1); what_if as for attack_paths.';

CREATE FUNCTION correlate.min_node_cut(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL, cost text DEFAULT 'unit',
	what_if jsonb DEFAULT NULL)
RETURNS TABLE (resource_id bigint, cost float8)
AS 'MODULE_PATHNAME', 'correlate_min_node_cut' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION correlate.min_node_cut(bigint[], bigint[], text, jsonb)
	IS 'A minimum-cost set of resources (never a source or target) whose removal (patching or isolating them) disconnects every source from every target; cost ''unit'' or ''fix_cost'' (the resource''s props->>''fix_cost'', default 1).';

GRANT EXECUTE ON FUNCTION correlate.attack_paths(bigint[], bigint[], integer, integer, text[], jsonb),
	correlate.chokepoints(bigint[], bigint[], integer, jsonb),
	correlate.min_cut(bigint[], bigint[], text, jsonb), correlate.min_node_cut(bigint[], bigint[], text, jsonb)
	TO correlate_reader;

-- ==== src/sql/70_iam_1_pattern.sql ====
-- 70_iam_1_pattern.sql: correlate.iam_pattern, the IAM wildcard-pattern type
-- (src/iam/iam_pattern.c, iam_match.c, iam_pattern_ops.c, iam_gin.c).
--
-- A pattern uses '*' (any run of characters) and '?' (one character).  Its
-- flavour comes from its text: "arn:..." is an ARN pattern and matches
-- case-sensitively; anything else (actions, service principals, "*") ignores
-- ASCII case.  pattern ~~> string is true when the pattern matches; the array
-- form is true when any element does.  GIN operator classes index a pattern
-- column (or a pattern-array column) for "which rows match this string".
-- The operators live in schema correlate: put it on the search_path or write
-- OPERATOR(correlate.~~>).

CREATE TYPE correlate.iam_pattern;

CREATE FUNCTION correlate.iam_pattern_in(cstring) RETURNS correlate.iam_pattern
AS 'MODULE_PATHNAME', 'iam_pattern_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_pattern_out(correlate.iam_pattern) RETURNS cstring
AS 'MODULE_PATHNAME', 'iam_pattern_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_pattern_recv(internal) RETURNS correlate.iam_pattern
AS 'MODULE_PATHNAME', 'iam_pattern_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_pattern_send(correlate.iam_pattern) RETURNS bytea
AS 'MODULE_PATHNAME', 'iam_pattern_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE correlate.iam_pattern (
	INPUT = correlate.iam_pattern_in,
	OUTPUT = correlate.iam_pattern_out,
	RECEIVE = correlate.iam_pattern_recv,
	SEND = correlate.iam_pattern_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = extended
);
COMMENT ON TYPE correlate.iam_pattern IS 'IAM wildcard pattern (* and ?): an action such as s3:Get* (ASCII case ignored) or an ARN such as arn:aws:s3:::bucket/* (case-sensitive).';
COMMENT ON FUNCTION correlate.iam_pattern_in(cstring) IS 'Text input of correlate.iam_pattern: rejects empty, oversized (correlate.iam_pattern_max_length), badly encoded and control-character input.';
COMMENT ON FUNCTION correlate.iam_pattern_out(correlate.iam_pattern) IS 'Text output of correlate.iam_pattern: the pattern as given.';
COMMENT ON FUNCTION correlate.iam_pattern_recv(internal) IS 'Binary input of correlate.iam_pattern: a version byte, then the text; validated like text input.';
COMMENT ON FUNCTION correlate.iam_pattern_send(correlate.iam_pattern) IS 'Binary output of correlate.iam_pattern.';

-- Conversions and descriptions.
CREATE FUNCTION correlate.iam_pattern(text) RETURNS correlate.iam_pattern
AS 'MODULE_PATHNAME', 'iam_pattern_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_pattern(text) IS 'Makes a pattern from text (the cast text -> correlate.iam_pattern); raises a clear error for invalid input.';
CREATE FUNCTION correlate._iam_pattern_text(correlate.iam_pattern) RETURNS text
AS 'MODULE_PATHNAME', 'iam_pattern_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (text AS correlate.iam_pattern) WITH FUNCTION correlate.iam_pattern(text) AS ASSIGNMENT;
CREATE CAST (correlate.iam_pattern AS text) WITH FUNCTION correlate._iam_pattern_text(correlate.iam_pattern) AS ASSIGNMENT;

CREATE FUNCTION correlate.iam_pattern_flavour(correlate.iam_pattern) RETURNS text
AS 'MODULE_PATHNAME', 'iam_pattern_flavour' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_pattern_flavour(correlate.iam_pattern) IS '''arn'' for patterns starting with arn: (matched case-sensitively), else ''action'' (ASCII case ignored).';

CREATE FUNCTION correlate.iam_pattern_check(text) RETURNS text
AS 'MODULE_PATHNAME', 'iam_pattern_check' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_pattern_check(text) IS 'NULL when the text is a valid IAM pattern, else why it is not (validates without raising).';

-- Matching.
CREATE FUNCTION correlate.iam_match(correlate.iam_pattern, text) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_match(correlate.iam_pattern, text) IS 'Whether the pattern matches the string (the ~~> operator); linear in the string''s length.';
CREATE FUNCTION correlate._iam_matched(text, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_text_matched' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_match(correlate.iam_pattern[], text) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_array_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_match(correlate.iam_pattern[], text) IS 'Whether any pattern of the array matches the string (NULL elements never match).';
CREATE FUNCTION correlate._iam_matched(text, correlate.iam_pattern[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_text_matched_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_first_match(correlate.iam_pattern[], text) RETURNS correlate.iam_pattern
AS 'MODULE_PATHNAME', 'iam_pattern_first_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_first_match(correlate.iam_pattern[], text) IS 'The first pattern of the array that matches the string, or NULL.';
CREATE FUNCTION correlate.iam_pattern_covers(outer_pattern correlate.iam_pattern, inner_pattern correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_covers_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_pattern_covers(correlate.iam_pattern, correlate.iam_pattern) IS 'Whether every string inner_pattern matches is matched by outer_pattern (sound: true is always right; rare covered pairs answer false).';

CREATE FUNCTION correlate.iam_patterns_cover(outer_patterns correlate.iam_pattern[], inner_patterns correlate.iam_pattern[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_patterns_cover' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_patterns_cover(correlate.iam_pattern[], correlate.iam_pattern[]) IS 'Whether every pattern of inner_patterns is covered by some pattern of outer_patterns.';
CREATE FUNCTION correlate.iam_patterns_overlap(correlate.iam_pattern[], correlate.iam_pattern[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_patterns_overlap' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_patterns_overlap(correlate.iam_pattern[], correlate.iam_pattern[]) IS 'Whether some pattern of each array may match a common string (one covers or matches the other; errs towards true).';

CREATE OPERATOR correlate.~~> (
	LEFTARG = correlate.iam_pattern, RIGHTARG = text,
	FUNCTION = correlate.iam_match,
	COMMUTATOR = OPERATOR(correlate.<~~),
	RESTRICT = matchingsel, JOIN = matchingjoinsel
);
CREATE OPERATOR correlate.<~~ (
	LEFTARG = text, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_matched,
	COMMUTATOR = OPERATOR(correlate.~~>),
	RESTRICT = matchingsel, JOIN = matchingjoinsel
);
CREATE OPERATOR correlate.~~> (
	LEFTARG = correlate.iam_pattern[], RIGHTARG = text,
	FUNCTION = correlate.iam_match,
	COMMUTATOR = OPERATOR(correlate.<~~),
	RESTRICT = matchingsel, JOIN = matchingjoinsel
);
CREATE OPERATOR correlate.<~~ (
	LEFTARG = text, RIGHTARG = correlate.iam_pattern[],
	FUNCTION = correlate._iam_matched,
	COMMUTATOR = OPERATOR(correlate.~~>),
	RESTRICT = matchingsel, JOIN = matchingjoinsel
);
COMMENT ON OPERATOR correlate.~~> (correlate.iam_pattern, text) IS 'pattern matches string';
COMMENT ON OPERATOR correlate.<~~ (text, correlate.iam_pattern) IS 'string is matched by pattern';
COMMENT ON OPERATOR correlate.~~> (correlate.iam_pattern[], text) IS 'some pattern of the array matches string';
COMMENT ON OPERATOR correlate.<~~ (text, correlate.iam_pattern[]) IS 'string is matched by some pattern of the array';

-- Comparison: equality ignores ASCII case for action patterns, as matching does.
CREATE FUNCTION correlate._iam_pattern_eq(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_ne(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_lt(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_le(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_gt(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_ge(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_cmp(correlate.iam_pattern, correlate.iam_pattern) RETURNS integer
AS 'MODULE_PATHNAME', 'iam_pattern_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_hash(correlate.iam_pattern) RETURNS integer
AS 'MODULE_PATHNAME', 'iam_pattern_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_hash_extended(correlate.iam_pattern, bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'iam_pattern_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR correlate.= (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_eq,
	COMMUTATOR = OPERATOR(correlate.=), NEGATOR = OPERATOR(correlate.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR correlate.<> (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_ne,
	COMMUTATOR = OPERATOR(correlate.<>), NEGATOR = OPERATOR(correlate.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR correlate.< (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_lt,
	COMMUTATOR = OPERATOR(correlate.>), NEGATOR = OPERATOR(correlate.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR correlate.<= (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_le,
	COMMUTATOR = OPERATOR(correlate.>=), NEGATOR = OPERATOR(correlate.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR correlate.> (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_gt,
	COMMUTATOR = OPERATOR(correlate.<), NEGATOR = OPERATOR(correlate.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR correlate.>= (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_ge,
	COMMUTATOR = OPERATOR(correlate.<=), NEGATOR = OPERATOR(correlate.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR correlate.= (correlate.iam_pattern, correlate.iam_pattern) IS 'same pattern (action patterns ignore ASCII case)';
COMMENT ON OPERATOR correlate.<> (correlate.iam_pattern, correlate.iam_pattern) IS 'different patterns';
COMMENT ON OPERATOR correlate.< (correlate.iam_pattern, correlate.iam_pattern) IS 'sorts before (action patterns first, then ARN patterns)';
COMMENT ON OPERATOR correlate.<= (correlate.iam_pattern, correlate.iam_pattern) IS 'sorts before or equal';
COMMENT ON OPERATOR correlate.> (correlate.iam_pattern, correlate.iam_pattern) IS 'sorts after';
COMMENT ON OPERATOR correlate.>= (correlate.iam_pattern, correlate.iam_pattern) IS 'sorts after or equal';

CREATE OPERATOR CLASS correlate.iam_pattern_btree_ops
DEFAULT FOR TYPE correlate.iam_pattern USING btree AS
	OPERATOR 1 correlate.<,
	OPERATOR 2 correlate.<=,
	OPERATOR 3 correlate.=,
	OPERATOR 4 correlate.>=,
	OPERATOR 5 correlate.>,
	FUNCTION 1 correlate._iam_pattern_cmp(correlate.iam_pattern, correlate.iam_pattern);

CREATE OPERATOR CLASS correlate.iam_pattern_hash_ops
DEFAULT FOR TYPE correlate.iam_pattern USING hash AS
	OPERATOR 1 correlate.=,
	FUNCTION 1 correlate._iam_pattern_hash(correlate.iam_pattern),
	FUNCTION 2 correlate._iam_pattern_hash_extended(correlate.iam_pattern, bigint);

-- GIN: each pattern is indexed by its literal prefix and suffix (see iam_gin.c).
CREATE FUNCTION correlate._iam_gin_extract_value(correlate.iam_pattern, internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'iam_gin_extract_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_extract_query(correlate.iam_pattern, internal, int2, internal, internal, internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'iam_gin_extract_query' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_consistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal, internal) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_gin_consistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_triconsistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal) RETURNS "char"
AS 'MODULE_PATHNAME', 'iam_gin_triconsistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION correlate._iam_gin_extract_value_array(correlate.iam_pattern[], internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'iam_gin_extract_value_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_extract_query_array(correlate.iam_pattern[], internal, int2, internal, internal, internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'iam_gin_extract_query' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_consistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal, internal) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_gin_consistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_triconsistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal) RETURNS "char"
AS 'MODULE_PATHNAME', 'iam_gin_triconsistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS correlate.iam_pattern_ops
DEFAULT FOR TYPE correlate.iam_pattern USING gin AS
	OPERATOR 1 correlate.~~> (correlate.iam_pattern, text),
	FUNCTION 1 pg_catalog.btint4cmp(int4, int4),
	FUNCTION 2 correlate._iam_gin_extract_value(correlate.iam_pattern, internal, internal),
	FUNCTION 3 correlate._iam_gin_extract_query(correlate.iam_pattern, internal, int2, internal, internal, internal, internal),
	FUNCTION 4 correlate._iam_gin_consistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal, internal),
	FUNCTION 6 correlate._iam_gin_triconsistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal),
	STORAGE int4;

CREATE OPERATOR CLASS correlate.iam_pattern_array_ops
DEFAULT FOR TYPE correlate.iam_pattern[] USING gin AS
	OPERATOR 1 correlate.~~> (correlate.iam_pattern[], text),
	FUNCTION 1 pg_catalog.btint4cmp(int4, int4),
	FUNCTION 2 correlate._iam_gin_extract_value_array(correlate.iam_pattern[], internal, internal),
	FUNCTION 3 correlate._iam_gin_extract_query_array(correlate.iam_pattern[], internal, int2, internal, internal, internal, internal),
	FUNCTION 4 correlate._iam_gin_consistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal, internal),
	FUNCTION 6 correlate._iam_gin_triconsistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal),
	STORAGE int4;

GRANT EXECUTE ON FUNCTION
	correlate.iam_pattern_in(cstring), correlate.iam_pattern_out(correlate.iam_pattern),
	correlate.iam_pattern_recv(internal), correlate.iam_pattern_send(correlate.iam_pattern),
	correlate.iam_pattern(text), correlate._iam_pattern_text(correlate.iam_pattern),
	correlate.iam_pattern_flavour(correlate.iam_pattern), correlate.iam_pattern_check(text),
	correlate.iam_match(correlate.iam_pattern, text), correlate._iam_matched(text, correlate.iam_pattern),
	correlate.iam_match(correlate.iam_pattern[], text), correlate._iam_matched(text, correlate.iam_pattern[]),
	correlate.iam_first_match(correlate.iam_pattern[], text),
	correlate.iam_pattern_covers(correlate.iam_pattern, correlate.iam_pattern),
	correlate.iam_patterns_cover(correlate.iam_pattern[], correlate.iam_pattern[]),
	correlate.iam_patterns_overlap(correlate.iam_pattern[], correlate.iam_pattern[]),
	correlate._iam_pattern_eq(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_ne(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_lt(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_le(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_gt(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_ge(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_cmp(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_hash(correlate.iam_pattern),
	correlate._iam_pattern_hash_extended(correlate.iam_pattern, bigint),
	correlate._iam_gin_extract_value(correlate.iam_pattern, internal, internal),
	correlate._iam_gin_extract_query(correlate.iam_pattern, internal, int2, internal, internal, internal, internal),
	correlate._iam_gin_consistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal, internal),
	correlate._iam_gin_triconsistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal),
	correlate._iam_gin_extract_value_array(correlate.iam_pattern[], internal, internal),
	correlate._iam_gin_extract_query_array(correlate.iam_pattern[], internal, int2, internal, internal, internal, internal),
	correlate._iam_gin_consistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal, internal),
	correlate._iam_gin_triconsistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal)
	TO correlate_reader;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._iam_pattern_text(correlate.iam_pattern)
	IS 'Internal: the pattern as text (the cast iam_pattern -> text).';
COMMENT ON FUNCTION correlate._iam_matched(text, correlate.iam_pattern)
	IS 'Internal: commutator of iam_match (the <~~ operator): the string is matched by the pattern.';
COMMENT ON FUNCTION correlate._iam_matched(text, correlate.iam_pattern[])
	IS 'Internal: commutator of iam_match for arrays (the <~~ operator): the string is matched by some pattern.';
COMMENT ON FUNCTION correlate._iam_pattern_eq(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: = of iam_pattern (ASCII case ignored for action patterns).';
COMMENT ON FUNCTION correlate._iam_pattern_ne(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: <> of iam_pattern.';
COMMENT ON FUNCTION correlate._iam_pattern_lt(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: < of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_le(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: <= of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_gt(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: > of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_ge(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: >= of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_cmp(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: comparison support function of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_hash(correlate.iam_pattern)
	IS 'Internal: hash support function of the iam_pattern hash opclass (consistent with =).';
COMMENT ON FUNCTION correlate._iam_pattern_hash_extended(correlate.iam_pattern, bigint)
	IS 'Internal: seeded hash support function of the iam_pattern hash opclass.';
COMMENT ON FUNCTION correlate._iam_gin_extract_value(correlate.iam_pattern, internal, internal)
	IS 'Internal: GIN extractValue: a pattern''s keys (its literal prefix and suffix, tagged by shape).';
COMMENT ON FUNCTION correlate._iam_gin_extract_query(correlate.iam_pattern, internal, smallint, internal, internal, internal, internal)
	IS 'Internal: GIN extractQuery for a pattern operand.';
COMMENT ON FUNCTION correlate._iam_gin_consistent(internal, smallint, correlate.iam_pattern, integer, internal, internal, internal, internal)
	IS 'Internal: GIN consistent for a pattern operand (always rechecked by the exact matcher).';
COMMENT ON FUNCTION correlate._iam_gin_triconsistent(internal, smallint, correlate.iam_pattern, integer, internal, internal, internal)
	IS 'Internal: GIN triConsistent for a pattern operand.';
COMMENT ON FUNCTION correlate._iam_gin_extract_value_array(correlate.iam_pattern[], internal, internal)
	IS 'Internal: GIN extractValue for iam_pattern[] columns: the keys of every pattern of the array.';
COMMENT ON FUNCTION correlate._iam_gin_extract_query_array(correlate.iam_pattern[], internal, smallint, internal, internal, internal, internal)
	IS 'Internal: GIN extractQuery for the iam_pattern[] opclass.';
COMMENT ON FUNCTION correlate._iam_gin_consistent_array(internal, smallint, correlate.iam_pattern[], integer, internal, internal, internal, internal)
	IS 'Internal: GIN consistent for the iam_pattern[] opclass (always rechecked by the exact matcher).';
COMMENT ON FUNCTION correlate._iam_gin_triconsistent_array(internal, smallint, correlate.iam_pattern[], integer, internal, internal, internal)
	IS 'Internal: GIN triConsistent for the iam_pattern[] opclass.';

-- ==== src/sql/70_iam_2_policy.sql ====
-- 70_iam_2_policy.sql: the policy store.  Policy documents live in resource
-- props (written by the aws_iam ingest or by anyone through the write API);
-- correlate.refresh_policies() turns them into rows the evaluator can index:
--
--   iam_policy          one row per document (managed default version, inline,
--                       role trust policy, resource-based policy)
--   iam_statement       one row per statement, with its Action / Resource /
--                       Principal lists as correlate.iam_pattern[] (GIN indexed)
--   iam_attachment      which user or role each identity policy applies to, and
--                       how (inline, managed, through a group, as a boundary)
--   iam_policy_problem  statements and attachments that could not be used, and why
--
-- These tables are derived and rebuildable, not user data: everything in them
-- comes from correlate.resource and correlate.relationship, so they are not
-- marked for pg_dump (a restore runs correlate.refresh_policies() again) and a
-- refresh replaces the tenant's rows wholesale.  Dumping them would only store
-- a second copy of the documents that can disagree with the first.
--
-- Where documents are read from:
--   aws:iam:policy     props.document (the default version)
--   aws:iam:user/group/role  props.inline_policies [{name, document}],
--                      props.managed_policies [ARN], props.permissions_boundary (ARN)
--   aws:iam:role       props.trust_policy
--   any other resource props.policy, props.bucket_policy, props.key_policy or
--                      props.resource_policy (an object, or JSON text)
--   group membership   user -member_of-> group relationships

CREATE TABLE correlate.iam_policy (
	tenant   text NOT NULL DEFAULT correlate.current_tenant(),
	id       bigint GENERATED ALWAYS AS IDENTITY,
	holder   bigint NOT NULL,
	kind     text NOT NULL CHECK (kind IN ('managed', 'inline', 'trust', 'resource')),
	name     text NOT NULL,
	document jsonb NOT NULL,
	PRIMARY KEY (tenant, id),
	FOREIGN KEY (tenant, holder) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
);
CREATE INDEX iam_policy_holder_idx ON correlate.iam_policy (tenant, holder);
COMMENT ON TABLE correlate.iam_policy IS 'Policy documents found in resource props (derived; rebuilt by correlate.refresh_policies()).';
COMMENT ON COLUMN correlate.iam_policy.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.iam_policy.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.iam_policy.holder IS 'Resource whose props hold the document: the managed policy, the principal of an inline policy, the role of a trust policy, the bucket or key of a resource policy.';
COMMENT ON COLUMN correlate.iam_policy.kind IS 'managed, inline, trust (role trust policy) or resource (bucket, key or other resource-based policy).';
COMMENT ON COLUMN correlate.iam_policy.name IS 'Managed: the policy ARN; inline: the policy name; trust: trust_policy; resource: the props key it came from.';
COMMENT ON COLUMN correlate.iam_policy.document IS 'The policy document.';

CREATE TABLE correlate.iam_statement (
	tenant         text NOT NULL DEFAULT correlate.current_tenant(),
	id             bigint GENERATED ALWAYS AS IDENTITY,
	policy         bigint NOT NULL,
	holder         bigint NOT NULL,
	source         text NOT NULL CHECK (source IN ('identity', 'trust', 'resource')),
	position       integer NOT NULL CHECK (position > 0),
	sid            text,
	effect         text NOT NULL CHECK (effect IN ('Allow', 'Deny')),
	actions        correlate.iam_pattern[],
	not_actions    correlate.iam_pattern[],
	resources      correlate.iam_pattern[],
	not_resources  correlate.iam_pattern[],
	principals     correlate.iam_pattern[],
	not_principals correlate.iam_pattern[],
	conditions     jsonb,
	conditional    boolean NOT NULL,
	PRIMARY KEY (tenant, id),
	FOREIGN KEY (tenant, policy) REFERENCES correlate.iam_policy (tenant, id) ON DELETE CASCADE,
	CHECK ((actions IS NULL) <> (not_actions IS NULL)),
	CHECK ((resources IS NULL) <> (not_resources IS NULL)),
	CHECK (source = 'identity' OR (principals IS NULL) <> (not_principals IS NULL))
);
-- One GIN index over (actions, resources): it serves a condition on either column and,
-- for both, intersects them inside the index (GIN skips through the dense "*" resources
-- instead of building a bitmap of them, as ANDing two separate indexes would).
-- fastupdate off: a refresh writes the table in one go and then it is only read, and
-- every search would otherwise scan the whole pending list until the next vacuum.
CREATE INDEX iam_statement_patterns_idx ON correlate.iam_statement USING gin (actions, resources) WITH (fastupdate = off);
CREATE INDEX iam_statement_principals_idx ON correlate.iam_statement USING gin (principals) WITH (fastupdate = off);
CREATE INDEX iam_statement_policy_idx ON correlate.iam_statement (tenant, policy);
CREATE INDEX iam_statement_not_actions_idx ON correlate.iam_statement (tenant) WHERE not_actions IS NOT NULL;
CREATE INDEX iam_statement_not_resources_idx ON correlate.iam_statement (tenant) WHERE not_resources IS NOT NULL;
COMMENT ON TABLE correlate.iam_statement IS 'One row per policy statement, its lists as IAM patterns indexed with GIN (derived; rebuilt by correlate.refresh_policies()).';
COMMENT ON COLUMN correlate.iam_statement.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.iam_statement.id IS 'Surrogate id; who_can and what_can name the deciding statement by it.';
COMMENT ON COLUMN correlate.iam_statement.policy IS 'The correlate.iam_policy the statement belongs to.';
COMMENT ON COLUMN correlate.iam_statement.holder IS 'Resource holding the document (copied from the policy).';
COMMENT ON COLUMN correlate.iam_statement.source IS 'identity (managed or inline policy), trust (role trust policy) or resource (resource-based policy).';
COMMENT ON COLUMN correlate.iam_statement.position IS '1-based position of the statement in its document.';
COMMENT ON COLUMN correlate.iam_statement.sid IS 'The statement''s Sid, if any.';
COMMENT ON COLUMN correlate.iam_statement.effect IS 'Allow or Deny.';
COMMENT ON COLUMN correlate.iam_statement.actions IS 'Action patterns (NULL when the statement uses NotAction).';
COMMENT ON COLUMN correlate.iam_statement.not_actions IS 'NotAction patterns: the statement applies to every other action.';
COMMENT ON COLUMN correlate.iam_statement.resources IS 'Resource patterns; policy variables such as ${aws:username} are widened to * (and the statement marked conditional). A trust statement''s resource is its role.';
COMMENT ON COLUMN correlate.iam_statement.not_resources IS 'NotResource patterns: the statement applies to every other resource.';
COMMENT ON COLUMN correlate.iam_statement.principals IS 'Principal of a resource-based or trust statement: ARNs (an account id becomes arn:aws:iam::ID:root), service names, federated providers, or *.';
COMMENT ON COLUMN correlate.iam_statement.not_principals IS 'NotPrincipal patterns.';
COMMENT ON COLUMN correlate.iam_statement.conditions IS 'The Condition block, recorded as given; it is not evaluated.';
COMMENT ON COLUMN correlate.iam_statement.conditional IS 'True when the statement has conditions or widened policy variables: answers that depend on it are reported as conditional.';

CREATE TABLE correlate.iam_attachment (
	tenant    text NOT NULL DEFAULT correlate.current_tenant(),
	id        bigint GENERATED ALWAYS AS IDENTITY,
	principal bigint NOT NULL,
	policy    bigint NOT NULL,
	via       bigint,
	how       text NOT NULL CHECK (how IN ('inline', 'managed', 'group_inline', 'group_managed', 'boundary')),
	PRIMARY KEY (tenant, id),
	FOREIGN KEY (tenant, principal) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant, policy) REFERENCES correlate.iam_policy (tenant, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX iam_attachment_key ON correlate.iam_attachment (tenant, policy, principal, how, COALESCE(via, 0));
CREATE INDEX iam_attachment_principal_idx ON correlate.iam_attachment (tenant, principal);
CREATE INDEX iam_attachment_boundary_idx ON correlate.iam_attachment (tenant, principal) WHERE how = 'boundary';
COMMENT ON TABLE correlate.iam_attachment IS 'Which user or role each identity policy applies to, and how (derived; rebuilt by correlate.refresh_policies()).';
COMMENT ON COLUMN correlate.iam_attachment.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.iam_attachment.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.iam_attachment.principal IS 'The user or role the policy applies to.';
COMMENT ON COLUMN correlate.iam_attachment.policy IS 'The correlate.iam_policy.';
COMMENT ON COLUMN correlate.iam_attachment.via IS 'The group the policy is inherited through, else NULL.';
COMMENT ON COLUMN correlate.iam_attachment.how IS 'inline, managed, group_inline, group_managed, or boundary (a permissions boundary: it limits, never grants).';

CREATE TABLE correlate.iam_policy_problem (
	tenant   text NOT NULL DEFAULT correlate.current_tenant(),
	id       bigint GENERATED ALWAYS AS IDENTITY,
	holder   bigint NOT NULL,
	policy   text NOT NULL,
	position integer,
	reason   text NOT NULL,
	PRIMARY KEY (tenant, id),
	FOREIGN KEY (tenant, holder) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
);
COMMENT ON TABLE correlate.iam_policy_problem IS 'Documents, statements and attachments correlate.refresh_policies() could not use, and why (derived).';
COMMENT ON COLUMN correlate.iam_policy_problem.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.iam_policy_problem.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.iam_policy_problem.holder IS 'Resource whose props hold (or refer to) the document.';
COMMENT ON COLUMN correlate.iam_policy_problem.policy IS 'Which document: the policy ARN, the inline policy name, trust_policy, or the props key.';
COMMENT ON COLUMN correlate.iam_policy_problem.position IS '1-based statement position, NULL when the whole document is affected.';
COMMENT ON COLUMN correlate.iam_policy_problem.reason IS 'What is wrong.';

SELECT correlate._isolate_tenants('correlate.iam_policy', 'correlate.iam_statement', 'correlate.iam_attachment', 'correlate.iam_policy_problem');

-- ---- statement parsing helpers (C, src/iam/iam_policy.c) ---------------------------

CREATE FUNCTION correlate._iam_list(v jsonb) RETURNS text[]
AS 'MODULE_PATHNAME', 'iam_list_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_patterns(v jsonb) RETURNS correlate.iam_pattern[]
AS 'MODULE_PATHNAME', 'iam_patterns_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_principals(v jsonb) RETURNS correlate.iam_pattern[]
AS 'MODULE_PATHNAME', 'iam_principals_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_statement_problem(st jsonb, kind text) RETURNS text
AS 'MODULE_PATHNAME', 'iam_statement_problem_sql' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- A props value holding a policy: an object, or JSON text of one; NULL otherwise.
CREATE FUNCTION correlate._iam_document(v jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d jsonb;
BEGIN
	IF jsonb_typeof(v) = 'object' THEN
		RETURN v;
	ELSIF jsonb_typeof(v) = 'string' THEN
		BEGIN
			d := (v #>> '{}')::jsonb;
		EXCEPTION WHEN invalid_text_representation THEN
			RETURN NULL;
		END;
		IF jsonb_typeof(d) = 'object' THEN
			RETURN d;
		END IF;
	END IF;
	RETURN NULL;
END
$$;

-- ---- refresh ----------------------------------------------------------------------

-- Fresh statistics for the tables a refresh reads (inputs: an ingest may just have
-- grown them) and for the ones it rebuilds, so its joins and the evaluator's are
-- planned on real sizes.  SECURITY DEFINER because ANALYZE needs the table owner; it
-- takes no arguments and touches only these tables.
CREATE FUNCTION correlate._iam_analyze(inputs boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET client_min_messages = error
AS $$
BEGIN
	-- SKIP_LOCKED: inside a transaction ANALYZE keeps its lock until commit, and a
	-- concurrent refresh or ingest must not wait for that (or deadlock with it).
	IF inputs THEN
		ANALYZE (SKIP_LOCKED) correlate.resource, correlate.relationship;
	ELSE
		ANALYZE (SKIP_LOCKED) correlate.iam_policy, correlate.iam_statement, correlate.iam_attachment;
	END IF;
END
$$;

CREATE FUNCTION correlate.refresh_policies(derive_edges boolean DEFAULT true)
RETURNS TABLE (policies bigint, statements bigint, attachments bigint, problems bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	-- One refresh of a tenant at a time; readers keep seeing the old rows until commit.
	PERFORM correlate._work_lock(t, 'refresh_policies');

	IF (SELECT count(*) FROM correlate.resource r WHERE r.tenant = t) >
	   COALESCE((SELECT c.reltuples FROM pg_class c WHERE c.oid = 'correlate.resource'::regclass), 0) * 1.2 + 1000 THEN
		PERFORM correlate._iam_analyze(true);
	END IF;

	DELETE FROM correlate.iam_policy_problem p WHERE p.tenant = t;
	DELETE FROM correlate.iam_attachment a WHERE a.tenant = t;
	DELETE FROM correlate.iam_statement s WHERE s.tenant = t;
	DELETE FROM correlate.iam_policy p WHERE p.tenant = t;

	-- Documents.
	INSERT INTO correlate.iam_policy (tenant, holder, kind, name, document)
	SELECT t, d.* FROM (
		SELECT r.id, 'managed', r.uid, r.props->'document'
		FROM correlate.resource r
		WHERE r.tenant = t AND r.kind = 'aws:iam:policy' AND jsonb_typeof(r.props->'document') = 'object'
		UNION ALL
		SELECT r.id, 'inline', ip->>'name', ip->'document'
		FROM correlate.resource r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.props->'inline_policies') = 'array'
															 THEN r.props->'inline_policies' ELSE '[]' END) ip
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role')
		  AND jsonb_typeof(ip->'name') = 'string' AND jsonb_typeof(ip->'document') = 'object'
		UNION ALL
		SELECT r.id, 'trust', 'trust_policy', r.props->'trust_policy'
		FROM correlate.resource r
		WHERE r.tenant = t AND r.kind = 'aws:iam:role' AND jsonb_typeof(r.props->'trust_policy') = 'object'
		UNION ALL
		SELECT r.id, 'resource', k.key, correlate._iam_document(r.props->k.key)
		FROM correlate.resource r, unnest(ARRAY['policy', 'bucket_policy', 'key_policy', 'resource_policy']) k(key)
		WHERE r.tenant = t AND r.kind NOT IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role', 'aws:iam:policy')
		  AND r.props ? k.key AND correlate._iam_document(r.props->k.key) IS NOT NULL
	) d;

	-- Documents that are present but unusable.
	INSERT INTO correlate.iam_policy_problem (tenant, holder, policy, reason)
	SELECT t, d.* FROM (
		SELECT r.id, COALESCE(ip->>'name', '(unnamed)'), 'inline policy has no name or its document is not a JSON object'
		FROM correlate.resource r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.props->'inline_policies') = 'array'
															 THEN r.props->'inline_policies' ELSE '[]' END) ip
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role')
		  AND (jsonb_typeof(ip->'name') IS DISTINCT FROM 'string' OR jsonb_typeof(ip->'document') IS DISTINCT FROM 'object')
		UNION ALL
		SELECT r.id, k.key, 'the resource-based policy is not a JSON object or JSON text of one'
		FROM correlate.resource r, unnest(ARRAY['policy', 'bucket_policy', 'key_policy', 'resource_policy']) k(key)
		WHERE r.tenant = t AND r.kind NOT IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role', 'aws:iam:policy')
		  AND r.props ? k.key AND correlate._iam_document(r.props->k.key) IS NULL
		UNION ALL
		SELECT p.holder, p.name, 'the document has no Statement (a statement object or a non-empty array of them)'
		FROM correlate.iam_policy p
		WHERE p.tenant = t AND jsonb_typeof(p.document->'Statement') IS DISTINCT FROM 'object'
		  AND NOT (jsonb_typeof(p.document->'Statement') = 'array' AND jsonb_array_length(p.document->'Statement') > 0)
	) d;

	-- Statements, and the ones that cannot be used (one statement, so the problem check runs once).
	WITH x AS MATERIALIZED (
		SELECT p.id AS policy, p.holder, p.kind, p.name, s.pos::integer AS pos, s.st,
			   correlate._iam_statement_problem(s.st, p.kind) AS problem
		FROM correlate.iam_policy p,
			 LATERAL jsonb_array_elements(CASE jsonb_typeof(p.document->'Statement')
											  WHEN 'array' THEN p.document->'Statement'
											  WHEN 'object' THEN jsonb_build_array(p.document->'Statement')
											  ELSE '[]' END) WITH ORDINALITY s(st, pos)
		WHERE p.tenant = t
	), bad AS (
		INSERT INTO correlate.iam_policy_problem (tenant, holder, policy, position, reason)
		SELECT t, x.holder, x.name, x.pos, x.problem FROM x WHERE x.problem IS NOT NULL
	)
	INSERT INTO correlate.iam_statement (tenant, policy, holder, source, position, sid, effect, actions, not_actions,
										 resources, not_resources, principals, not_principals, conditions, conditional)
	SELECT t, x.policy, x.holder,
		   CASE x.kind WHEN 'trust' THEN 'trust' WHEN 'resource' THEN 'resource' ELSE 'identity' END,
		   x.pos, x.st->>'Sid', x.st->>'Effect',
		   correlate._iam_patterns(x.st->'Action'), correlate._iam_patterns(x.st->'NotAction'),
		   CASE WHEN x.kind = 'trust' THEN ARRAY[correlate.iam_pattern(h.uid)]
				ELSE correlate._iam_patterns(x.st->'Resource') END,
		   CASE WHEN x.kind = 'trust' THEN NULL ELSE correlate._iam_patterns(x.st->'NotResource') END,
		   CASE WHEN x.kind IN ('trust', 'resource') THEN correlate._iam_principals(x.st->'Principal') END,
		   CASE WHEN x.kind IN ('trust', 'resource') THEN correlate._iam_principals(x.st->'NotPrincipal') END,
		   NULLIF(x.st->'Condition', '{}'),
		   (x.st ? 'Condition' AND x.st->'Condition' <> '{}')
			 OR (x.kind <> 'trust' AND COALESCE(x.st->'Resource', x.st->'NotResource')::text ~ '\$\{[^}]*:[^}]*\}')
	FROM x JOIN correlate.resource h ON h.tenant = t AND h.id = x.holder
	WHERE x.problem IS NULL
	ORDER BY x.policy, x.pos;

	-- Attachments: a principal's own inline policies, its managed policies and boundary,
	-- and those of the groups it is a member of.
	INSERT INTO correlate.iam_attachment (tenant, principal, policy, via, how)
	SELECT t, d.* FROM (
		SELECT p.holder, p.id, NULL::bigint, 'inline'
		FROM correlate.iam_policy p JOIN correlate.resource r ON r.tenant = t AND r.id = p.holder
		WHERE p.tenant = t AND p.kind = 'inline' AND r.kind IN ('aws:iam:user', 'aws:iam:role')
		UNION
		SELECT r.id, p.id, NULL, 'managed'
		FROM correlate.resource r
		CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.props->'managed_policies') = 'array'
														  THEN r.props->'managed_policies' ELSE '[]' END) m(arn)
		JOIN correlate.resource pr ON pr.tenant = t AND pr.uid = m.arn
		JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = pr.id AND p.kind = 'managed'
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:role')
		UNION
		SELECT r.id, p.id, NULL, 'boundary'
		FROM correlate.resource r
		JOIN correlate.resource pr ON pr.tenant = t AND pr.uid = r.props->>'permissions_boundary'
		JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = pr.id AND p.kind = 'managed'
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:role')
		UNION
		SELECT m.src, p.id, g.id, 'group_inline'
		FROM correlate.relationship m
		JOIN correlate.resource g ON g.tenant = t AND g.id = m.dst AND g.kind = 'aws:iam:group'
		JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = g.id AND p.kind = 'inline'
		WHERE m.tenant = t AND m.kind = 'member_of'
		UNION
		SELECT m.src, p.id, g.id, 'group_managed'
		FROM correlate.relationship m
		JOIN correlate.resource g ON g.tenant = t AND g.id = m.dst AND g.kind = 'aws:iam:group'
		CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(g.props->'managed_policies') = 'array'
														  THEN g.props->'managed_policies' ELSE '[]' END) mp(arn)
		JOIN correlate.resource pr ON pr.tenant = t AND pr.uid = mp.arn
		JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = pr.id AND p.kind = 'managed'
		WHERE m.tenant = t AND m.kind = 'member_of'
	) d;

	-- Attached managed policies whose document is not known: the answers miss their grants.
	INSERT INTO correlate.iam_policy_problem (tenant, holder, policy, reason)
	SELECT DISTINCT t, r.id, m.arn, 'the attached managed policy''s document is not in the data (its permissions are not counted)'
	FROM correlate.resource r
	CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.props->'managed_policies') = 'array'
													  THEN r.props->'managed_policies' ELSE '[]' END
												 || CASE WHEN jsonb_typeof(r.props->'permissions_boundary') = 'string'
														 THEN jsonb_build_array(r.props->'permissions_boundary') ELSE '[]' END) m(arn)
	WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role')
	  AND NOT EXISTS (SELECT 1 FROM correlate.resource pr JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = pr.id
					  WHERE pr.tenant = t AND pr.uid = m.arn AND p.kind = 'managed');

	PERFORM correlate._iam_analyze(false);

	IF derive_edges THEN
		PERFORM correlate.refresh_iam_edges();
	END IF;

	RETURN QUERY SELECT
		(SELECT count(*) FROM correlate.iam_policy p WHERE p.tenant = t),
		(SELECT count(*) FROM correlate.iam_statement s WHERE s.tenant = t),
		(SELECT count(*) FROM correlate.iam_attachment a WHERE a.tenant = t),
		(SELECT count(*) FROM correlate.iam_policy_problem p WHERE p.tenant = t);
END
$$;
COMMENT ON FUNCTION correlate.refresh_policies(boolean)
	IS 'Rebuilds the tenant''s policy store (iam_policy, iam_statement, iam_attachment, iam_policy_problem) from resource props; with derive_edges, also the assumes / can_access / can_escalate_to edges and admin crown jewels (correlate.refresh_iam_edges()).';

GRANT SELECT ON correlate.iam_policy, correlate.iam_statement, correlate.iam_attachment,
	correlate.iam_policy_problem TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.iam_policy, correlate.iam_statement, correlate.iam_attachment,
	correlate.iam_policy_problem TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate._iam_list(jsonb), correlate._iam_patterns(jsonb),
	correlate._iam_principals(jsonb), correlate._iam_statement_problem(jsonb, text),
	correlate._iam_document(jsonb) TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.refresh_policies(boolean), correlate._iam_analyze(boolean) TO correlate_writer;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._iam_list(jsonb)
	IS 'Internal: a policy element that is a string or an array of strings, as text[].';
COMMENT ON FUNCTION correlate._iam_patterns(jsonb)
	IS 'Internal: a policy element (Action, Resource...) as iam_pattern[]; invalid patterns raise.';
COMMENT ON FUNCTION correlate._iam_principals(jsonb)
	IS 'Internal: a statement''s Principal or NotPrincipal as iam_pattern[] ("*", AWS, Service, Federated).';
COMMENT ON FUNCTION correlate._iam_statement_problem(jsonb, text)
	IS 'Internal: why a policy statement cannot be evaluated, or NULL (recorded in iam_policy_problem by refresh_policies).';
COMMENT ON FUNCTION correlate._iam_document(jsonb)
	IS 'Internal: a props value holding a policy document (an object, or JSON text of one) as an object; NULL otherwise.';
COMMENT ON FUNCTION correlate._iam_analyze(boolean)
	IS 'Internal: refreshes planner statistics of the tables refresh_policies reads (inputs) or rebuilds; SECURITY DEFINER for ANALYZE.';

-- ==== src/sql/70_iam_3_eval.sql ====
-- 70_iam_3_eval.sql: policy evaluation over the policy store.
--
-- correlate._iam_evaluate() answers a batch of requests (action, resource ARN)
-- at once: which users and roles of the tenant may perform each, and which
-- statement decides.  who_can() is one request; the edge derivation sends
-- thousands.  The rules follow AWS's evaluation logic for one account:
--
--   1. An explicit Deny that applies (identity policy, permissions boundary or
--      resource-based policy, unconditional) wins: decision 'deny'.
--   2. Identity-based allows (inline, managed, inherited from groups) count only
--      when a permissions boundary, if the principal has one, also allows.
--   3. A resource-based policy (bucket, key, other) that names the principal's
--      ARN (or *) allows by itself within the account; one that names the
--      account (arn:aws:iam::ACCT:root) only delegates to identity policies.
--   4. Role trust policies (for sts:AssumeRole*) and KMS key policies (when the
--      key's policy is known) are required: without their allow nothing allows.
--   5. Across accounts (principal and resource accounts both known and
--      different) both the resource-based and the identity-based side must allow.
--   6. Conditions are not evaluated: an answer that depends on a conditional
--      statement (or that a conditional Deny could overturn) is 'conditional'.
--
-- A NULL resource ARN means "some resource": any statement for the action
-- counts, whatever its Resource (used for actions that create what they act
-- on, such as lambda:CreateFunction).  p_only (one element per request) limits
-- a request to one principal, p_among limits every request to a set of them;
-- both leave out the principals that are not users or roles of the tenant.
-- p_detail false leaves via, policy and sid NULL (the edge derivation needs only
-- the decision and the statement, and looking them up costs a third of its time).
--
-- Principals named by resource-based or trust policies that are not users or
-- roles of the tenant (*, other accounts, AWS services, web identity
-- providers) are returned too, with principal NULL unless a resource with that
-- uid exists.

CREATE FUNCTION correlate._iam_evaluate(p_actions text[], p_resources text[], p_include_denied boolean DEFAULT false,
										p_only bigint[] DEFAULT NULL, p_among bigint[] DEFAULT NULL,
										p_detail boolean DEFAULT true)
RETURNS TABLE (req integer, principal bigint, principal_uid text, principal_kind text, decision text,
			   via text, statement bigint, policy text, sid text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- Planning this query costs more than running it for one request: plan it once per session.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	IF COALESCE(cardinality(p_actions), 0) <> COALESCE(cardinality(p_resources), 0) THEN
		RAISE EXCEPTION 'actions and resources differ in length'
			USING ERRCODE = 'array_subscript_error',
				  DETAIL = format('%s actions and %s resources.', cardinality(p_actions), cardinality(p_resources));
	END IF;
	RETURN QUERY
	WITH rq AS (
		SELECT u.ord::integer AS req, u.action, u.res, u.sole
		FROM unnest(p_actions, p_resources, p_only) WITH ORDINALITY u(action, res, sole, ord)
		WHERE u.action IS NOT NULL
	), acts AS (
		SELECT DISTINCT rq.action FROM rq
	), cand AS MATERIALIZED (
		-- Statements whose Action matches: one GIN probe per distinct action, however
		-- many requests share it.
		SELECT a.action, s.id, s.policy, s.holder, s.source, s.effect, s.conditional, s.sid,
			   s.resources, s.not_resources, s.principals, s.not_principals
		FROM acts a JOIN correlate.iam_statement s ON s.tenant = t AND s.actions OPERATOR(correlate.~~>) a.action
	), candr AS MATERIALIZED (
		SELECT c.action, c.id, r.p, (r.p::text !~ '[*?]') AS literal
		FROM cand c CROSS JOIN LATERAL unnest(c.resources) r(p)
	), hits AS (
		-- ... and whose Resource matches: literal ARNs by hash join, patterns by the matcher.
		SELECT rq.req, rq.action, cr.id FROM rq JOIN candr cr ON cr.action = rq.action AND cr.literal AND cr.p::text = rq.res
		UNION
		SELECT rq.req, rq.action, cr.id FROM rq JOIN candr cr ON cr.action = rq.action AND NOT cr.literal
			AND cr.p OPERATOR(correlate.~~>) rq.res
		UNION
		-- requests for "some resource" (NULL) ...
		SELECT rq.req, rq.action, c.id FROM rq JOIN cand c ON c.action = rq.action WHERE rq.res IS NULL
		UNION
		-- ... and NotResource
		SELECT rq.req, rq.action, c.id FROM rq JOIN cand c ON c.action = rq.action
			AND c.not_resources IS NOT NULL AND NOT c.not_resources OPERATOR(correlate.~~>) rq.res
	), m0 AS (
		-- (joined through hits only: every request of an action times every candidate of it
		-- would be a large intermediate)
		SELECT rq.req, rq.res, rq.sole, c.id, c.policy, c.holder, c.source, c.effect, c.conditional, c.sid,
			   c.principals, c.not_principals
		FROM hits h JOIN cand c ON c.id = h.id AND c.action = h.action JOIN rq ON rq.req = h.req
		UNION ALL
		-- NotAction statements apply to every action they do not list.
		SELECT rq.req, rq.res, rq.sole, s.id, s.policy, s.holder, s.source, s.effect, s.conditional, s.sid,
			   s.principals, s.not_principals
		FROM rq JOIN correlate.iam_statement s
			 ON s.tenant = t AND s.not_actions IS NOT NULL AND NOT s.not_actions OPERATOR(correlate.~~>) rq.action
			AND (rq.res IS NULL OR s.resources OPERATOR(correlate.~~>) rq.res
				 OR (s.not_resources IS NOT NULL AND NOT s.not_resources OPERATOR(correlate.~~>) rq.res))
	), m AS MATERIALIZED (
		-- A resource-based statement speaks only for its own resource (and, for a
		-- bucket, the objects under it): a key policy's "Resource": "*" means that key.
		SELECT m0.* FROM m0
		WHERE m0.source <> 'resource'
		   OR EXISTS (SELECT 1 FROM correlate.resource h WHERE h.tenant = t AND h.id = m0.holder
					  AND (m0.res = h.uid OR left(m0.res, length(h.uid) + 1) = h.uid || '/'))
	), pr AS MATERIALIZED (
		-- All users and roles: read only when a policy names principals by pattern or by account.
		SELECT r.id, r.uid, r.kind, r.account, 'arn:aws:iam::' || r.account || ':root' AS root
		FROM correlate.resource r
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:role')
	), ident_allow AS MATERIALIZED (
		-- Identity statements reach principals through their attachments: first the
		-- allows (boundaries aside) ...
		SELECT m.req, a.principal, m.id AS stmt, m.effect, m.conditional, a.how
		FROM m JOIN correlate.iam_attachment a ON a.tenant = t AND a.policy = m.policy
		WHERE m.source = 'identity' AND m.effect = 'Allow' AND a.how <> 'boundary'
		  AND (m.sole IS NULL OR a.principal = m.sole)
		  -- (hashed: p_among can be long)
		  AND (p_among IS NULL OR a.principal IN (SELECT unnest(p_among)))
	), mp AS MATERIALIZED (
		-- Principal patterns of the matching resource-based and trust statements.
		SELECT m.req, m.sole, m.id, m.effect, m.conditional, m.source, e.p, (e.p::text !~ '[*?]') AS literal
		FROM m CROSS JOIN LATERAL unnest(m.principals) e(p)
		WHERE m.source IN ('resource', 'trust')
	), mnp AS MATERIALIZED (
		-- (apart, so that a join with every principal never rescans m)
		SELECT m.req, m.id, m.effect, m.conditional, m.source, m.not_principals FROM m
		WHERE m.source IN ('resource', 'trust') AND m.not_principals IS NOT NULL
	), mdeny AS MATERIALIZED (
		SELECT m.req, m.conditional, m.principals FROM m
		WHERE m.effect = 'Deny' AND m.source IN ('resource', 'trust') AND m.principals IS NOT NULL
	), resg AS MATERIALIZED (
		-- Resource-based and trust statements reach the principals they name: exact ARNs
		-- by hash join, patterns by the matcher; naming the account root only delegates.
		SELECT mp.req, p.id AS principal, mp.id AS stmt, mp.effect, mp.conditional, mp.source, 'direct' AS grant_kind
		FROM mp JOIN correlate.resource p ON p.tenant = t AND p.uid = mp.p::text
			 AND p.kind IN ('aws:iam:user', 'aws:iam:role')
		WHERE mp.literal
		UNION ALL
		SELECT mp.req, p.id, mp.id, mp.effect, mp.conditional, mp.source, 'account'
		FROM mp JOIN pr p ON p.root = mp.p::text WHERE mp.literal AND mp.p::text LIKE 'arn:aws:iam::%:root'
		UNION ALL
		SELECT mp.req, p.id, mp.id, mp.effect, mp.conditional, mp.source,
			   CASE WHEN mp.p OPERATOR(correlate.~~>) p.uid THEN 'direct' ELSE 'account' END
		FROM mp JOIN pr p ON NOT mp.literal
			 AND (mp.p OPERATOR(correlate.~~>) p.uid OR mp.p OPERATOR(correlate.~~>) p.root)
		UNION ALL
		SELECT m.req, p.id, m.id, m.effect, m.conditional, m.source, 'direct'
		FROM mnp m JOIN pr p ON NOT m.not_principals OPERATOR(correlate.~~>) p.uid
			 AND NOT m.not_principals OPERATOR(correlate.~~>) p.root
	), ok AS MATERIALIZED (
		-- The requests and principals with an allow (boundaries aside).
		SELECT DISTINCT x.req, x.principal
		FROM (SELECT i.req, i.principal FROM ident_allow i
			  UNION ALL
			  SELECT g.req, g.principal FROM resg g WHERE g.effect = 'Allow') x
	), ident_other AS (
		-- ... then denies and boundaries.  Unless denied answers are asked for, only where a
		-- principal has an allow (without one the answer is dropped anyway): a Deny common to
		-- many principals would otherwise cost a row for each of them and each request.
		SELECT m.req, a.principal, m.id AS stmt, m.effect, m.conditional, a.how
		FROM m JOIN correlate.iam_attachment a ON a.tenant = t AND a.policy = m.policy
		WHERE m.source = 'identity' AND (m.effect <> 'Allow' OR a.how = 'boundary')
		  AND (m.sole IS NULL OR a.principal = m.sole)
		  AND (p_among IS NULL OR a.principal IN (SELECT unnest(p_among)))
		  AND (p_include_denied OR (m.req, a.principal) IN (SELECT ok.req, ok.principal FROM ok))
	), ev AS (
		-- All evidence, one row per (request, principal, statement, how it applies).
		SELECT i.req, i.principal, i.stmt, i.effect, i.conditional, i.how AS applies FROM ident_allow i
		UNION ALL
		SELECT i.req, i.principal, i.stmt, i.effect, i.conditional, i.how FROM ident_other i
		UNION ALL
		SELECT g.req, g.principal, g.stmt, g.effect, g.conditional, g.grant_kind
		FROM resg g JOIN rq ON rq.req = g.req
		WHERE (rq.sole IS NULL OR g.principal = rq.sole) AND (p_among IS NULL OR g.principal = ANY (p_among))
	), agg AS MATERIALIZED (
		SELECT e.req, e.principal,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies IN ('inline', 'managed', 'group_inline', 'group_managed') AND NOT e.conditional) AS allow_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies IN ('inline', 'managed', 'group_inline', 'group_managed') AND e.conditional) AS allow_c,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'boundary' AND NOT e.conditional) AS bnd_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'boundary' AND e.conditional) AS bnd_c,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'direct' AND NOT e.conditional) AS direct_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'direct' AND e.conditional) AS direct_c,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'account' AND NOT e.conditional) AS acct_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Allow' AND e.applies = 'account' AND e.conditional) AS acct_c,
			   min(e.stmt) FILTER (WHERE e.effect = 'Deny' AND NOT e.conditional) AS deny_u,
			   min(e.stmt) FILTER (WHERE e.effect = 'Deny' AND e.conditional) AS deny_c
		FROM ev e GROUP BY e.req, e.principal
	), rinfo AS MATERIALIZED (
		-- What the requested resource needs: a trust or key policy, and its account.
		SELECT rq.req,
			   (rq.action ILIKE 'sts:AssumeRole%' AND tr.kind = 'aws:iam:role') AS trust_required,
			   (tr.kind = 'aws:kms:key' AND EXISTS (SELECT 1 FROM correlate.iam_policy kp
													 WHERE kp.tenant = t AND kp.holder = tr.id AND kp.kind = 'resource')) AS key_required,
			   COALESCE(tr.account, bk.account,
						CASE WHEN split_part(rq.res, ':', 5) ~ '^[^*?]+$' THEN split_part(rq.res, ':', 5) END) AS account
		FROM rq
		LEFT JOIN correlate.resource tr ON tr.tenant = t AND tr.uid = rq.res
		LEFT JOIN correlate.resource bk ON bk.tenant = t AND rq.res LIKE 'arn:aws:s3:::%/%'
			 AND bk.uid = split_part(rq.res, '/', 1) AND bk.kind = 'aws:s3:bucket'
	), cands AS (
		SELECT c.*, p.uid, p.kind,
			   EXISTS (SELECT 1 FROM correlate.iam_attachment b
					   WHERE b.tenant = t AND b.principal = c.principal AND b.how = 'boundary') AS has_boundary,
			   COALESCE(ri.trust_required OR ri.key_required, false) AS required,
			   COALESCE(p.account <> ri.account, false) AS cross_account
		FROM agg c
		JOIN correlate.resource p ON p.tenant = t AND p.id = c.principal
		JOIN rinfo ri ON ri.req = c.req
	), decided AS (
		SELECT c.*, x.id_u, x.id_any, y.ok_u, y.ok_any
		FROM cands c,
			 LATERAL (SELECT c.allow_u IS NOT NULL AND (NOT c.has_boundary OR c.bnd_u IS NOT NULL) AS id_u,
							 COALESCE(c.allow_u, c.allow_c) IS NOT NULL
							   AND (NOT c.has_boundary OR COALESCE(c.bnd_u, c.bnd_c) IS NOT NULL) AS id_any) x,
			 -- A resource-based grant naming a user stands alone; one naming a role (not a
			 -- session) is capped by the role's boundary, as AWS does.
			 LATERAL (SELECT c.direct_u IS NOT NULL
							   AND (c.kind <> 'aws:iam:role' OR NOT c.has_boundary OR c.bnd_u IS NOT NULL) AS rd_u,
							 COALESCE(c.direct_u, c.direct_c) IS NOT NULL
							   AND (c.kind <> 'aws:iam:role' OR NOT c.has_boundary OR COALESCE(c.bnd_u, c.bnd_c) IS NOT NULL) AS rd_any) z,
			 LATERAL (SELECT
						CASE WHEN c.cross_account THEN COALESCE(c.direct_u, c.acct_u) IS NOT NULL AND x.id_u
							 WHEN c.required THEN z.rd_u OR (c.acct_u IS NOT NULL AND x.id_u)
							 ELSE x.id_u OR z.rd_u END AS ok_u,
						CASE WHEN c.cross_account THEN COALESCE(c.direct_u, c.direct_c, c.acct_u, c.acct_c) IS NOT NULL AND x.id_any
							 WHEN c.required THEN z.rd_any OR (COALESCE(c.acct_u, c.acct_c) IS NOT NULL AND x.id_any)
							 ELSE x.id_any OR z.rd_any END AS ok_any) y
	), answer AS MATERIALIZED (
		SELECT d.req, d.principal, d.uid, d.kind,
			   CASE WHEN d.deny_u IS NOT NULL THEN 'deny'
					WHEN d.ok_u AND d.deny_c IS NULL THEN 'allow'
					WHEN d.ok_any THEN 'conditional' END AS decision,
			   CASE WHEN d.deny_u IS NOT NULL THEN d.deny_u
					WHEN d.ok_u AND d.deny_c IS NULL THEN
						CASE WHEN d.required OR d.cross_account THEN COALESCE(d.direct_u, d.acct_u)
							 WHEN d.id_u THEN d.allow_u ELSE d.direct_u END
					WHEN d.ok_u THEN d.deny_c
					ELSE COALESCE(d.allow_c, d.direct_c, d.acct_c, d.bnd_c, d.allow_u, d.direct_u, d.acct_u) END AS stmt
		FROM decided d
		UNION ALL
		-- Principals named in resource-based or trust policies that are not users or roles here.
		SELECT mp.req, x.id, mp.p::text, COALESCE(x.kind,
			   CASE WHEN mp.p::text = '*' THEN 'anyone'
					WHEN mp.p::text LIKE 'arn:aws:iam::%:root' THEN 'aws:iam:root'
					WHEN mp.p::text LIKE '%.amazonaws.com' AND mp.p::text NOT LIKE 'arn:%' THEN 'aws:service'
					ELSE 'aws:principal' END),
			   CASE WHEN EXISTS (SELECT 1 FROM mdeny d WHERE d.req = mp.req AND NOT d.conditional
								 AND d.principals OPERATOR(correlate.~~>) mp.p::text) THEN 'deny'
					WHEN mp.conditional OR EXISTS (SELECT 1 FROM mdeny d WHERE d.req = mp.req
												   AND d.principals OPERATOR(correlate.~~>) mp.p::text) THEN 'conditional'
					ELSE 'allow' END,
			   mp.id
		FROM mp
		LEFT JOIN correlate.resource x ON x.tenant = t AND x.uid = mp.p::text
		WHERE mp.effect = 'Allow' AND p_among IS NULL
		  AND mp.sole IS NULL
		  AND NOT EXISTS (SELECT 1 FROM correlate.resource u WHERE u.tenant = t AND u.uid = mp.p::text
						  AND u.kind IN ('aws:iam:user', 'aws:iam:role'))
		  AND NOT (mp.p::text LIKE 'arn:aws:iam::%:root' AND EXISTS (SELECT 1 FROM pr WHERE pr.root = mp.p::text))
	)
	SELECT x.req, x.principal, x.uid, x.kind, x.decision, dt.via, x.stmt, dt.name, dt.sid
	FROM (SELECT DISTINCT ON (a.req, a.principal, a.uid) a.*
		  FROM answer a
		  WHERE a.decision IS NOT NULL AND (p_include_denied OR a.decision <> 'deny')
		  ORDER BY a.req, a.principal, a.uid,
				   array_position(ARRAY['deny', 'allow', 'conditional'], a.decision), a.stmt) x
	-- How the deciding statement applies, its policy and Sid (not looked up without p_detail).
	LEFT JOIN LATERAL (
		SELECT CASE s.source WHEN 'trust' THEN 'trust_policy'
							 WHEN 'resource' THEN CASE h.kind WHEN 'aws:s3:bucket' THEN 'bucket_policy'
															 WHEN 'aws:kms:key' THEN 'key_policy'
															 ELSE 'resource_policy' END
							 ELSE (SELECT at.how FROM correlate.iam_attachment at
								   WHERE at.tenant = t AND at.policy = s.policy AND at.principal = x.principal
								   ORDER BY array_position(ARRAY['inline', 'managed', 'group_inline', 'group_managed', 'boundary'], at.how)
								   LIMIT 1) END AS via,
			   p.name, s.sid
		FROM correlate.iam_statement s
		JOIN correlate.iam_policy p ON p.tenant = t AND p.id = s.policy
		JOIN correlate.resource h ON h.tenant = t AND h.id = s.holder
		WHERE p_detail AND s.tenant = t AND s.id = x.stmt) dt ON true
	ORDER BY x.req, x.principal, x.uid;
END
$$;

CREATE FUNCTION correlate.who_can(action text, resource_arn text, include_denied boolean DEFAULT false)
RETURNS TABLE (principal bigint, principal_uid text, principal_kind text, decision text,
			   via text, statement bigint, policy text, sid text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT e.principal, e.principal_uid, e.principal_kind, e.decision, e.via, e.statement, e.policy, e.sid
	FROM correlate._iam_evaluate(ARRAY[who_can.action], ARRAY[who_can.resource_arn], who_can.include_denied) e
	ORDER BY e.principal_uid;
$$;
COMMENT ON FUNCTION correlate.who_can(text, text, boolean)
	IS 'Users and roles (and principals named by resource-based or trust policies) that may perform action on resource_arn: decision allow or conditional (deny too with include_denied), how (via), and the deciding statement.';

-- ---- what_can ----------------------------------------------------------------------

CREATE FUNCTION correlate.what_can(principal bigint)
RETURNS TABLE (action correlate.iam_pattern, except_actions correlate.iam_pattern[],
			   resources correlate.iam_pattern[], except_resources correlate.iam_pattern[],
			   decision text, via text, statement bigint, policy text, sid text, limited_by bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	p record;
BEGIN
	SELECT r.id, r.uid, r.kind, r.account, 'arn:aws:iam::' || r.account || ':root' AS root INTO p
	FROM correlate.resource r WHERE r.tenant = t AND r.id = what_can.principal;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no resource with id % in tenant "%"', what_can.principal, t
			USING ERRCODE = 'undefined_object';
	END IF;
	IF p.kind NOT IN ('aws:iam:user', 'aws:iam:role') THEN
		RAISE EXCEPTION 'resource % is a %, not an IAM user or role', p.uid, p.kind
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'what_can answers for principals that act: aws:iam:user and aws:iam:role (groups pass their policies to members).';
	END IF;

	RETURN QUERY
	WITH st AS (
		-- Every statement that applies to the principal: attached identity policies and
		-- resource-based or trust policies that name it (or its account).
		SELECT s.*, a.how AS via
		FROM correlate.iam_attachment a
		JOIN correlate.iam_statement s ON s.tenant = t AND s.policy = a.policy
		WHERE a.tenant = t AND a.principal = p.id
		UNION ALL
		SELECT s.tenant, s.id, s.policy, s.holder, s.source, s.position, s.sid, s.effect, s.actions, s.not_actions,
			   -- "*" in a resource-based policy means the resource itself
			   CASE WHEN s.source = 'resource' THEN ARRAY(SELECT CASE WHEN x::text = '*' THEN correlate.iam_pattern(h.uid) ELSE x END
														  FROM unnest(s.resources) x) ELSE s.resources END,
			   s.not_resources, s.principals, s.not_principals, s.conditions, s.conditional,
			   CASE s.source WHEN 'trust' THEN 'trust_policy'
							 ELSE CASE h.kind WHEN 'aws:s3:bucket' THEN 'bucket_policy'
											 WHEN 'aws:kms:key' THEN 'key_policy'
											 ELSE 'resource_policy' END END
		FROM correlate.iam_statement s JOIN correlate.resource h ON h.tenant = t AND h.id = s.holder
		WHERE s.tenant = t AND s.source IN ('resource', 'trust')
		  -- Only grants that work by themselves: the principal named (or *), same account.
		  AND (((s.principals OPERATOR(correlate.~~>) p.uid
				 OR (s.not_principals IS NOT NULL AND NOT s.not_principals OPERATOR(correlate.~~>) p.uid))
				AND (h.account IS NULL OR h.account = p.account))
			   OR (s.effect = 'Deny' AND s.principals OPERATOR(correlate.~~>) p.root))
	), grants AS (
		SELECT g.*, a.action AS one_action
		FROM st g
		CROSS JOIN LATERAL unnest(COALESCE(g.actions, ARRAY['*'::correlate.iam_pattern])) a(action)
		WHERE g.effect = 'Allow' AND g.via <> 'boundary'
	), bnd AS (
		SELECT * FROM st WHERE via = 'boundary'
	), den AS (
		SELECT * FROM st WHERE effect = 'Deny'
	)
	SELECT g.one_action, g.not_actions, g.resources, g.not_resources,
		   CASE WHEN dc.id IS NOT NULL THEN 'denied'
				WHEN capped AND bc.id IS NULL AND bo.id IS NULL THEN 'outside_boundary'
				WHEN g.conditional OR dp.conditional OR (capped AND (bc.conditional OR bo.conditional)) THEN 'conditional'
				WHEN dp.id IS NOT NULL OR (capped AND bc.id IS NULL) THEN 'partial'
				ELSE 'allow' END,
		   g.via, g.id, pol.name, g.sid,
		   COALESCE(dc.id, dp.id, CASE WHEN capped AND bc.id IS NULL THEN bo.id END)
	FROM grants g
	-- The boundary caps identity grants, and resource-based grants that name a role.
	CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM bnd)
								 AND (g.source = 'identity' OR p.kind = 'aws:iam:role') AS capped) cap
	JOIN correlate.iam_policy pol ON pol.tenant = t AND pol.id = g.policy
	-- An unconditional Deny whose Action and Resource cover this grant removes it.
	LEFT JOIN LATERAL (
		SELECT d.id FROM den d
		WHERE NOT d.conditional AND g.not_actions IS NULL AND g.not_resources IS NULL
		  AND d.actions IS NOT NULL AND d.resources IS NOT NULL
		  AND correlate.iam_patterns_cover(d.actions, ARRAY[g.one_action])
		  AND correlate.iam_patterns_cover(d.resources, g.resources)
		ORDER BY d.id LIMIT 1) dc ON true
	-- A Deny that may overlap it limits it.
	LEFT JOIN LATERAL (
		SELECT d.id, d.conditional FROM den d
		WHERE (d.not_actions IS NOT NULL OR g.not_actions IS NOT NULL
			   OR correlate.iam_patterns_overlap(d.actions, ARRAY[g.one_action]))
		  AND (d.not_resources IS NOT NULL OR g.not_resources IS NOT NULL
			   OR correlate.iam_patterns_overlap(d.resources, g.resources))
		ORDER BY d.conditional, d.id LIMIT 1) dp ON true
	-- A boundary Allow covering the grant lets it through; one that overlaps limits it.
	LEFT JOIN LATERAL (
		SELECT b.id, b.conditional FROM bnd b
		WHERE b.effect = 'Allow' AND b.actions IS NOT NULL AND b.resources IS NOT NULL AND g.not_actions IS NULL
		  AND g.resources IS NOT NULL
		  AND correlate.iam_patterns_cover(b.actions, ARRAY[g.one_action])
		  AND correlate.iam_patterns_cover(b.resources, g.resources)
		ORDER BY b.conditional, b.id LIMIT 1) bc ON true
	LEFT JOIN LATERAL (
		SELECT b.id, b.conditional FROM bnd b
		WHERE b.effect = 'Allow'
		  AND (b.not_actions IS NOT NULL OR g.not_actions IS NOT NULL OR correlate.iam_patterns_overlap(b.actions, ARRAY[g.one_action]))
		ORDER BY b.conditional, b.id LIMIT 1) bo ON true
	ORDER BY g.one_action, g.id;
END
$$;
COMMENT ON FUNCTION correlate.what_can(bigint)
	IS 'What an IAM user or role may do: one row per granted action pattern with its resources, the decision (allow, conditional, partial, denied, outside_boundary), how it is granted (via) and the granting statement; limited_by names the Deny or boundary statement that limits it.';

-- A principal named by uid (ARN): its id, or the error every by-uid entry point raises.
CREATE FUNCTION correlate._principal_id(uid text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	pid bigint := correlate.resource_id(_principal_id.uid);
BEGIN
	IF pid IS NULL THEN
		RAISE EXCEPTION 'no resource with uid "%"', _principal_id.uid
			USING ERRCODE = 'undefined_object',
				  HINT = 'Name the principal by its ARN, e.g. arn:aws:iam::111122223333:role/NAME.';
	END IF;
	RETURN pid;
END
$$;
COMMENT ON FUNCTION correlate._principal_id(text)
	IS 'Internal: the id of the resource with this uid; raises undefined_object (with a hint to use the ARN) when there is none. Behind what_can(text) and permission_usage(text).';

CREATE FUNCTION correlate.what_can(principal text)
RETURNS TABLE (action correlate.iam_pattern, except_actions correlate.iam_pattern[],
			   resources correlate.iam_pattern[], except_resources correlate.iam_pattern[],
			   decision text, via text, statement bigint, policy text, sid text, limited_by bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM correlate.what_can(correlate._principal_id(what_can.principal));
$$;
COMMENT ON FUNCTION correlate.what_can(text) IS 'correlate.what_can() for the principal with this uid (ARN).';

GRANT EXECUTE ON FUNCTION correlate._iam_evaluate(text[], text[], boolean, bigint[], bigint[], boolean),
	correlate.who_can(text, text, boolean), correlate.what_can(bigint), correlate.what_can(text),
	correlate._principal_id(text)
	TO correlate_reader;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._iam_evaluate(text[], text[], boolean, bigint[], bigint[], boolean)
	IS 'Internal: evaluates (action, resource) requests against the tenant''s policy store, returning each principal''s decision and the deciding statement (behind who_can and what_can).';

-- ==== src/sql/70_iam_4_edges.sql ====
-- 70_iam_4_edges.sql: graph edges derived from permissions, written through
-- the write API (correlate.upsert_resources, correlate.link_many).
--
--   assumes          principal -> role it may assume (trust policy and, where
--                    needed, the caller's sts:AssumeRole permission); * in a
--                    trust policy -> from internet; another account -> from that
--                    account's root; IRSA (web identity trust whose sub condition
--                    names system:serviceaccount:NS:SA) -> from that Kubernetes
--                    service account
--   can_access       principal (or internet, for public resource policies) ->
--                    data store, with the action classes read / write / admin
--   can_escalate_to  principal -> principal it can become by a technique of the
--                    catalogue correlate.iam_escalation_technique, -> the account
--                    root when it can grant itself (or a principal it reaches)
--                    any permission, or -> the existing resources of a service in
--                    its account (node service-resources:ACCOUNT:SERVICE), which
--   runs_as          -> each role of the account that trusts the service
--
-- Conditional answers are judged for an attacker (correlate.iam_judge_conditions):
-- unusable grants make no edge, narrowed ones an edge marked narrowed.
--
-- Edges this function wrote before and no longer finds are deleted (only
-- those with source 'iam_policy').  Users and roles allowed * on * are marked
-- crown jewels (criticality 1, props.iam_admin), as are account roots.  Chains
-- over these edges: 70_iam_6_escalation.sql.

-- What each kind of data store counts as read, write and admin.
CREATE FUNCTION correlate.iam_access_actions()
RETURNS TABLE (kind text, class text, action text, resource_template text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES
		('aws:s3:bucket', 'read', 's3:GetObject', '{arn}/*'),
		('aws:s3:bucket', 'read', 's3:ListBucket', '{arn}'),
		('aws:s3:bucket', 'write', 's3:PutObject', '{arn}/*'),
		('aws:s3:bucket', 'write', 's3:DeleteObject', '{arn}/*'),
		('aws:s3:bucket', 'admin', 's3:PutBucketPolicy', '{arn}'),
		('aws:s3:bucket', 'admin', 's3:PutBucketAcl', '{arn}'),
		('aws:s3:bucket', 'admin', 's3:DeleteBucket', '{arn}'),
		('aws:dynamodb:table', 'read', 'dynamodb:GetItem', '{arn}'),
		('aws:dynamodb:table', 'read', 'dynamodb:Scan', '{arn}'),
		('aws:dynamodb:table', 'read', 'dynamodb:Query', '{arn}'),
		('aws:dynamodb:table', 'write', 'dynamodb:PutItem', '{arn}'),
		('aws:dynamodb:table', 'write', 'dynamodb:UpdateItem', '{arn}'),
		('aws:dynamodb:table', 'write', 'dynamodb:DeleteItem', '{arn}'),
		('aws:dynamodb:table', 'admin', 'dynamodb:DeleteTable', '{arn}'),
		('aws:dynamodb:table', 'admin', 'dynamodb:UpdateTable', '{arn}'),
		('aws:kms:key', 'read', 'kms:Decrypt', '{arn}'),
		('aws:kms:key', 'write', 'kms:Encrypt', '{arn}'),
		('aws:kms:key', 'write', 'kms:GenerateDataKey', '{arn}'),
		('aws:kms:key', 'admin', 'kms:PutKeyPolicy', '{arn}'),
		('aws:kms:key', 'admin', 'kms:CreateGrant', '{arn}'),
		('aws:kms:key', 'admin', 'kms:ScheduleKeyDeletion', '{arn}'),
		('aws:secretsmanager:secret', 'read', 'secretsmanager:GetSecretValue', '{arn}'),
		('aws:secretsmanager:secret', 'write', 'secretsmanager:PutSecretValue', '{arn}'),
		('aws:secretsmanager:secret', 'write', 'secretsmanager:UpdateSecret', '{arn}'),
		('aws:secretsmanager:secret', 'admin', 'secretsmanager:PutResourcePolicy', '{arn}'),
		('aws:secretsmanager:secret', 'admin', 'secretsmanager:DeleteSecret', '{arn}'),
		('aws:ssm:parameter', 'read', 'ssm:GetParameter', '{arn}'),
		('aws:ssm:parameter', 'read', 'ssm:GetParameters', '{arn}'),
		('aws:ssm:parameter', 'write', 'ssm:PutParameter', '{arn}'),
		('aws:ssm:parameter', 'admin', 'ssm:DeleteParameter', '{arn}'),
		('aws:rds:db', 'read', 'rds-db:connect', 'arn:aws:rds-db:{region}:{account}:dbuser:*/*'),
		('aws:rds:db', 'read', 'rds:CreateDBSnapshot', '{arn}'),
		('aws:rds:db', 'write', 'rds:ModifyDBInstance', '{arn}'),
		('aws:rds:db', 'admin', 'rds:DeleteDBInstance', '{arn}')
$$;
COMMENT ON FUNCTION correlate.iam_access_actions()
	IS 'The actions that make a can_access edge, by data store kind and class (read, write, admin); {arn}, {account} and {region} stand for the store''s ARN, account and region (* when unknown).';

-- The node standing for the existing resources (functions, endpoints, stacks, notebooks,
-- projects, instances) a service runs in an account: existing-resource techniques lead to it,
-- and it runs_as the roles that trust the service.
INSERT INTO correlate.resource_kind (kind, domain, description, builtin) VALUES
	('aws:service-resources', 'cloud', 'The existing resources an AWS service runs in one account (uid service-resources:ACCOUNT:SERVICE), as escalation targets', true);

-- ---- the escalation technique catalogue ----------------------------------------------
--
-- One row per privilege-escalation technique, as the published lists describe them
-- (Rhino Security Labs' method list, Bishop Fox's iam-vulnerable paths, Principal Mapper's
-- edge checkers, pathfinding.cloud, Cloudsplaining's checks).  refresh_iam_edges() derives
-- can_escalate_to edges from it, by family:
--
--   assume_role        sts:AssumeRole on a role whose trust allows it (assumes edges)
--   credentials        act on another user (keys, console password): yields that user
--   trust_policy       rewrite a role's trust policy, then assume it: yields that role
--   group_membership   join a group: yields the group (and its permissions)
--   policy_write       write or attach a policy on a user, role or group the attacker is,
--                      belongs to or can reach: yields admin (the account root)
--   policy_version     publish or select a version of a customer-managed policy attached
--                      to a principal the attacker is or can reach: yields admin
--   passrole           pass a role that trusts the service to a new resource that runs the
--                      attacker's code: yields the role
--   existing_resource  change a resource that already runs with a role (the role trusts
--                      the service): yields the role
--   remote_execution   run commands on an EC2 instance whose instance profile carries the
--                      role: yields the role
CREATE TABLE correlate.iam_escalation_technique (
	technique              text PRIMARY KEY,
	family                 text NOT NULL CHECK (family IN ('assume_role', 'credentials', 'trust_policy',
								'group_membership', 'policy_write', 'policy_version', 'passrole',
								'existing_resource', 'remote_execution')),
	actions                text[] NOT NULL,
	any_actions            text[],
	applies_to             text NOT NULL,
	passrole_service       text,
	runs_as_service        text,
	needs_instance_profile boolean NOT NULL DEFAULT false,
	yields                 text NOT NULL CHECK (yields IN ('target', 'admin', 'role')),
	likelihood             float8 NOT NULL CHECK (likelihood > 0 AND likelihood <= 1),
	source                 text NOT NULL,
	description            text NOT NULL,
	CHECK ((family = 'passrole') = (passrole_service IS NOT NULL)),
	CHECK ((family IN ('existing_resource', 'remote_execution')) = (runs_as_service IS NOT NULL))
);
COMMENT ON TABLE correlate.iam_escalation_technique IS 'IAM privilege-escalation techniques (one row each) from which refresh_iam_edges() derives can_escalate_to edges.';
COMMENT ON COLUMN correlate.iam_escalation_technique.technique IS 'Name; the edge props technique / techniques.';
COMMENT ON COLUMN correlate.iam_escalation_technique.family IS 'assume_role, credentials, trust_policy, group_membership, policy_write, policy_version, passrole, existing_resource or remote_execution.';
COMMENT ON COLUMN correlate.iam_escalation_technique.actions IS 'Actions the attacker needs, all of them (iam:PassRole on the role included for passrole).';
COMMENT ON COLUMN correlate.iam_escalation_technique.any_actions IS 'Actions of which the attacker needs one more (NULL: none).';
COMMENT ON COLUMN correlate.iam_escalation_technique.applies_to IS 'Resource the first action is asked on: aws:iam:user, aws:iam:role, aws:iam:group, aws:iam:policy, or any (service actions, asked on some resource).';
COMMENT ON COLUMN correlate.iam_escalation_technique.passrole_service IS 'passrole: the service principal the passed role must trust.';
COMMENT ON COLUMN correlate.iam_escalation_technique.runs_as_service IS 'existing_resource, remote_execution: the service principal the role of the existing resource trusts.';
COMMENT ON COLUMN correlate.iam_escalation_technique.needs_instance_profile IS 'The role must be in an instance profile (EC2), or the attacker may create one (iam:CreateInstanceProfile + iam:AddRoleToInstanceProfile) where it passes the role.';
COMMENT ON COLUMN correlate.iam_escalation_technique.yields IS 'target: the attacker becomes the target user, role or group; admin: it can grant itself (or a principal it reaches) anything, edge to the account root; role: it acts as the role the service runs.';
COMMENT ON COLUMN correlate.iam_escalation_technique.likelihood IS 'Edge likelihood when every needed statement allows unconditionally; halved when narrowed or conditional.';
COMMENT ON COLUMN correlate.iam_escalation_technique.source IS 'Where the technique is published.';
COMMENT ON COLUMN correlate.iam_escalation_technique.description IS 'What the attacker does.';

INSERT INTO correlate.iam_escalation_technique
	(technique, family, actions, any_actions, applies_to, passrole_service, runs_as_service, needs_instance_profile,
	 yields, likelihood, source, description) VALUES
	('sts:AssumeRole', 'assume_role', '{sts:AssumeRole}', NULL, 'aws:iam:role', NULL, NULL, false, 'target', 0.9,
	 'PMapper sts edges; iam-vulnerable privesc-AssumeRole', 'assume a role whose trust policy allows it; chains through intermediate roles'),
	('iam:CreateAccessKey', 'credentials', '{iam:CreateAccessKey}', NULL, 'aws:iam:user', NULL, NULL, false, 'target', 0.9,
	 'Rhino #4; iam-vulnerable privesc4; PMapper iam edges', 'create an access key for the user and act as it'),
	('iam:CreateLoginProfile', 'credentials', '{iam:CreateLoginProfile}', NULL, 'aws:iam:user', NULL, NULL, false, 'target', 0.8,
	 'Rhino #5; iam-vulnerable privesc5; PMapper iam edges', 'give the user a console password (if it has none) and sign in'),
	('iam:UpdateLoginProfile', 'credentials', '{iam:UpdateLoginProfile}', NULL, 'aws:iam:user', NULL, NULL, false, 'target', 0.8,
	 'Rhino #6; iam-vulnerable privesc6; PMapper iam edges', 'reset the user''s console password and sign in'),
	('iam:UpdateAssumeRolePolicy', 'trust_policy', '{iam:UpdateAssumeRolePolicy}', NULL, 'aws:iam:role', NULL, NULL, false, 'target', 0.8,
	 'Rhino #14; iam-vulnerable privesc14; PMapper iam edges', 'rewrite the role''s trust policy to trust the attacker, then assume it'),
	('iam:AddUserToGroup', 'group_membership', '{iam:AddUserToGroup}', NULL, 'aws:iam:group', NULL, NULL, false, 'target', 0.8,
	 'Rhino #13; iam-vulnerable privesc13', 'add itself to the group and gain the group''s permissions'),
	('iam:PutUserPolicy', 'policy_write', '{iam:PutUserPolicy}', NULL, 'aws:iam:user', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #10; iam-vulnerable privesc10; Cloudsplaining', 'write an inline policy granting anything to itself or a user it can become'),
	('iam:AttachUserPolicy', 'policy_write', '{iam:AttachUserPolicy}', NULL, 'aws:iam:user', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #7; iam-vulnerable privesc7; Cloudsplaining', 'attach AdministratorAccess to itself or a user it can become'),
	('iam:PutRolePolicy', 'policy_write', '{iam:PutRolePolicy}', NULL, 'aws:iam:role', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #12; iam-vulnerable privesc12; Cloudsplaining', 'write an inline policy granting anything to its role or a role it can assume'),
	('iam:AttachRolePolicy', 'policy_write', '{iam:AttachRolePolicy}', NULL, 'aws:iam:role', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #9; iam-vulnerable privesc9; Cloudsplaining', 'attach AdministratorAccess to its role or a role it can assume'),
	('iam:PutGroupPolicy', 'policy_write', '{iam:PutGroupPolicy}', NULL, 'aws:iam:group', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #11; iam-vulnerable privesc11; Cloudsplaining', 'write an inline policy on a group it (or a user it can become) belongs to'),
	('iam:AttachGroupPolicy', 'policy_write', '{iam:AttachGroupPolicy}', NULL, 'aws:iam:group', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #8; iam-vulnerable privesc8; Cloudsplaining', 'attach AdministratorAccess to a group it (or a user it can become) belongs to'),
	('iam:CreatePolicyVersion', 'policy_version', '{iam:CreatePolicyVersion}', NULL, 'aws:iam:policy', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #1; iam-vulnerable privesc1; Cloudsplaining', 'publish a new default version of a customer-managed policy attached to it or a principal it can become'),
	('iam:SetDefaultPolicyVersion', 'policy_version', '{iam:SetDefaultPolicyVersion}', NULL, 'aws:iam:policy', NULL, NULL, false, 'admin', 0.5,
	 'Rhino #2; iam-vulnerable privesc2; Cloudsplaining', 'make another version of a policy attached to it (or a principal it can become) the default; halved again when no other version is known'),
	('iam:PassRole+ec2:RunInstances', 'passrole', '{iam:PassRole,ec2:RunInstances}', NULL, 'any', 'ec2.amazonaws.com', NULL, true, 'role', 0.7,
	 'Rhino #3; iam-vulnerable privesc3; PMapper ec2 edges', 'launch an instance with the role''s instance profile and read its credentials'),
	('iam:PassRole+ec2:RequestSpotInstances', 'passrole', '{iam:PassRole,ec2:RequestSpotInstances}', NULL, 'any', 'ec2.amazonaws.com', NULL, true, 'role', 0.6,
	 'pathfinding.cloud', 'request a spot instance with the role''s instance profile'),
	('iam:PassRole+autoscaling:CreateLaunchConfiguration', 'passrole',
	 '{iam:PassRole,autoscaling:CreateLaunchConfiguration,autoscaling:CreateAutoScalingGroup}', NULL, 'any', 'ec2.amazonaws.com', NULL, true, 'role', 0.5,
	 'PMapper autoscaling edges', 'create a launch configuration with the role''s instance profile and a group that starts it'),
	('iam:PassRole+lambda:CreateFunction', 'passrole', '{iam:PassRole,lambda:CreateFunction}',
	 '{lambda:InvokeFunction,lambda:CreateEventSourceMapping,lambda:AddPermission}', 'any', 'lambda.amazonaws.com', NULL, false, 'role', 0.7,
	 'Rhino #15, #16; iam-vulnerable privesc15, privesc16; PMapper lambda edges', 'create a function running as the role, then invoke it or trigger it from an event source'),
	('iam:PassRole+glue:CreateDevEndpoint', 'passrole', '{iam:PassRole,glue:CreateDevEndpoint}', NULL, 'any', 'glue.amazonaws.com', NULL, false, 'role', 0.6,
	 'Rhino #18; iam-vulnerable privesc18', 'create a Glue development endpoint with the role and log in to it'),
	('iam:PassRole+glue:CreateJob', 'passrole', '{iam:PassRole,glue:CreateJob}', '{glue:StartJobRun,glue:CreateTrigger}', 'any',
	 'glue.amazonaws.com', NULL, false, 'role', 0.6, 'pathfinding.cloud', 'create a Glue job running as the role and start it'),
	('iam:PassRole+cloudformation:CreateStack', 'passrole', '{iam:PassRole,cloudformation:CreateStack}', NULL, 'any',
	 'cloudformation.amazonaws.com', NULL, false, 'role', 0.7, 'Rhino #20; iam-vulnerable privesc20; PMapper cloudformation edges',
	 'create a stack whose service role is the role; the template creates what the attacker wants'),
	('iam:PassRole+cloudformation:CreateChangeSet', 'passrole', '{iam:PassRole,cloudformation:CreateChangeSet,cloudformation:ExecuteChangeSet}', NULL,
	 'any', 'cloudformation.amazonaws.com', NULL, false, 'role', 0.6, 'pathfinding.cloud', 'create and execute a change set with the role as service role'),
	('iam:PassRole+datapipeline:CreatePipeline', 'passrole',
	 '{iam:PassRole,datapipeline:CreatePipeline,datapipeline:PutPipelineDefinition}', '{datapipeline:ActivatePipeline}', 'any',
	 'datapipeline.amazonaws.com', NULL, false, 'role', 0.6, 'Rhino #21; iam-vulnerable privesc21',
	 'create a pipeline running as the role whose definition runs the attacker''s command'),
	('iam:PassRole+sagemaker:CreateNotebookInstance', 'passrole', '{iam:PassRole,sagemaker:CreateNotebookInstance}',
	 '{sagemaker:CreatePresignedNotebookInstanceUrl}', 'any', 'sagemaker.amazonaws.com', NULL, false, 'role', 0.6,
	 'iam-vulnerable privesc-sageMakerCreateNotebookPassRole; pathfinding.cloud', 'create a notebook instance with the role and open it'),
	('iam:PassRole+sagemaker:CreateTrainingJob', 'passrole', '{iam:PassRole,sagemaker:CreateTrainingJob}', NULL, 'any',
	 'sagemaker.amazonaws.com', NULL, false, 'role', 0.6, 'iam-vulnerable privesc-sageMakerCreateTrainingJob', 'run a training job with the role and the attacker''s container'),
	('iam:PassRole+sagemaker:CreateProcessingJob', 'passrole', '{iam:PassRole,sagemaker:CreateProcessingJob}', NULL, 'any',
	 'sagemaker.amazonaws.com', NULL, false, 'role', 0.6, 'iam-vulnerable privesc-sageMakerCreateProcessingJob', 'run a processing job with the role and the attacker''s container'),
	('iam:PassRole+codebuild:CreateProject', 'passrole', '{iam:PassRole,codebuild:CreateProject}', '{codebuild:StartBuild,codebuild:StartBuildBatch}',
	 'any', 'codebuild.amazonaws.com', NULL, false, 'role', 0.7, 'iam-vulnerable privesc-codeBuildCreateProjectPassRole; PMapper codebuild edges',
	 'create a build project with the role as service role and start a build'),
	('iam:PassRole+ecs:RegisterTaskDefinition', 'passrole', '{iam:PassRole,ecs:RegisterTaskDefinition}',
	 '{ecs:RunTask,ecs:StartTask,ecs:CreateService}', 'any', 'ecs-tasks.amazonaws.com', NULL, false, 'role', 0.6,
	 'PMapper; pathfinding.cloud', 'register a task definition with the role as task role and run it'),
	('iam:PassRole+apprunner:CreateService', 'passrole', '{iam:PassRole,apprunner:CreateService}', NULL, 'any',
	 'tasks.apprunner.amazonaws.com', NULL, false, 'role', 0.6, 'pathfinding.cloud', 'create an App Runner service whose instance role is the role'),
	('iam:PassRole+bedrock-agentcore:CreateCodeInterpreter', 'passrole',
	 '{iam:PassRole,bedrock-agentcore:CreateCodeInterpreter,bedrock-agentcore:StartCodeInterpreterSession,bedrock-agentcore:InvokeCodeInterpreter}',
	 NULL, 'any', 'bedrock-agentcore.amazonaws.com', NULL, false, 'role', 0.5, 'pathfinding.cloud', 'create a code interpreter running as the role and run code in it'),
	('lambda:UpdateFunctionCode', 'existing_resource', '{lambda:UpdateFunctionCode}', NULL, 'any', NULL, 'lambda.amazonaws.com', false, 'role', 0.5,
	 'Rhino #17; iam-vulnerable privesc17; PMapper lambda edges', 'replace the code of an existing function that runs as the role'),
	('lambda:UpdateFunctionConfiguration', 'existing_resource', '{lambda:UpdateFunctionConfiguration}', NULL, 'any', NULL, 'lambda.amazonaws.com',
	 false, 'role', 0.4, 'pathfinding.cloud', 'add a layer that runs the attacker''s code to an existing function that runs as the role'),
	('glue:UpdateDevEndpoint', 'existing_resource', '{glue:UpdateDevEndpoint}', NULL, 'any', NULL, 'glue.amazonaws.com', false, 'role', 0.5,
	 'Rhino #19; iam-vulnerable privesc19', 'add the attacker''s SSH key to an existing development endpoint that runs as the role'),
	('glue:UpdateJob', 'existing_resource', '{glue:UpdateJob}', '{glue:StartJobRun,glue:CreateTrigger}', 'any', NULL, 'glue.amazonaws.com', false,
	 'role', 0.4, 'pathfinding.cloud', 'change the script of an existing Glue job that runs as the role, then run it'),
	('cloudformation:UpdateStack', 'existing_resource', '{cloudformation:UpdateStack}', NULL, 'any', NULL, 'cloudformation.amazonaws.com', false,
	 'role', 0.5, 'iam-vulnerable privesc-cloudFormationUpdateStack; pathfinding.cloud', 'update an existing stack whose service role is the role with the attacker''s template'),
	('cloudformation:SetStackPolicy', 'existing_resource', '{cloudformation:SetStackPolicy,cloudformation:UpdateStack}', NULL, 'any', NULL,
	 'cloudformation.amazonaws.com', false, 'role', 0.5, 'pathfinding.cloud',
	 'replace a stack policy that forbids updates, then update the stack whose service role is the role'),
	('cloudformation:ExecuteChangeSet', 'existing_resource', '{cloudformation:CreateChangeSet,cloudformation:ExecuteChangeSet}', NULL, 'any', NULL,
	 'cloudformation.amazonaws.com', false, 'role', 0.4, 'pathfinding.cloud', 'change an existing stack that has the role through a change set'),
	('sagemaker:CreatePresignedNotebookInstanceUrl', 'existing_resource', '{sagemaker:CreatePresignedNotebookInstanceUrl}', NULL, 'any', NULL,
	 'sagemaker.amazonaws.com', false, 'role', 0.5, 'iam-vulnerable privesc-sageMakerCreatePresignedNotebookURL',
	 'open an existing notebook instance that runs as the role'),
	('codebuild:StartBuild', 'existing_resource', '{codebuild:StartBuild}', NULL, 'any', NULL, 'codebuild.amazonaws.com', false, 'role', 0.4,
	 'pathfinding.cloud', 'start a build of an existing project with a buildspec override; it runs as the project''s role'),
	('ssm:SendCommand', 'remote_execution', '{ssm:SendCommand}', NULL, 'any', NULL, 'ec2.amazonaws.com', true, 'role', 0.5,
	 'iam-vulnerable privesc-ssmSendCommand; PMapper ssm edges', 'run commands on an EC2 instance whose instance profile carries the role'),
	('ssm:StartSession', 'remote_execution', '{ssm:StartSession}', NULL, 'any', NULL, 'ec2.amazonaws.com', true, 'role', 0.5,
	 'iam-vulnerable privesc-ssmStartSession; PMapper ssm edges', 'open a shell on an EC2 instance whose instance profile carries the role'),
	('ec2-instance-connect:SendSSHPublicKey', 'remote_execution', '{ec2-instance-connect:SendSSHPublicKey}', NULL, 'any', NULL, 'ec2.amazonaws.com',
	 true, 'role', 0.4, 'iam-vulnerable privesc-ec2InstanceConnect', 'push an SSH key to an instance whose instance profile carries the role and log in'),
	('ec2-instance-connect:SendSerialConsoleSSHPublicKey', 'remote_execution', '{ec2-instance-connect:SendSerialConsoleSSHPublicKey}', NULL, 'any',
	 NULL, 'ec2.amazonaws.com', true, 'role', 0.3, 'iam-vulnerable privesc-ec2InstanceConnect', 'reach the serial console of an instance that carries the role'),
	('ec2:ModifyInstanceAttribute', 'remote_execution', '{ec2:ModifyInstanceAttribute,ec2:StopInstances,ec2:StartInstances}', NULL, 'any', NULL,
	 'ec2.amazonaws.com', true, 'role', 0.4, 'pathfinding.cloud', 'replace the user data of a stopped instance that carries the role and start it');

-- Escalation techniques that pass a role to a service which then runs code as it (the
-- passrole rows of the catalogue; all_actions leaves out iam:PassRole itself).
CREATE FUNCTION correlate.iam_passrole_techniques()
RETURNS TABLE (technique text, service text, all_actions text[], any_actions text[],
			   needs_instance_profile boolean, likelihood float8)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.technique, t.passrole_service, array_remove(t.actions, 'iam:PassRole'), t.any_actions,
		   t.needs_instance_profile, t.likelihood
	FROM correlate.iam_escalation_technique t WHERE t.family = 'passrole';
$$;
COMMENT ON FUNCTION correlate.iam_passrole_techniques()
	IS 'iam:PassRole escalation techniques (the passrole rows of correlate.iam_escalation_technique): the service the target role must trust, the actions the attacker needs besides iam:PassRole (all of all_actions, one of any_actions), and the edge likelihood.';

-- Escalation techniques that act on the target principal (or on the attacker itself) directly.
CREATE FUNCTION correlate.iam_direct_techniques()
RETURNS TABLE (technique text, target_kind text, self boolean, likelihood float8, description text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.technique, t.applies_to, t.yields = 'admin', t.likelihood, t.description
	FROM correlate.iam_escalation_technique t
	WHERE t.family IN ('credentials', 'trust_policy', 'group_membership', 'policy_write', 'policy_version');
$$;
COMMENT ON FUNCTION correlate.iam_direct_techniques()
	IS 'IAM escalation techniques that act on a target (rows of correlate.iam_escalation_technique): self techniques (yields admin) lead to the account root; the others to the target user, role or group.';

-- ---- condition judgement ---------------------------------------------------------------

-- How each condition key is judged for an attacker using the grant.
CREATE FUNCTION correlate.iam_condition_keys()
RETURNS TABLE (key_pattern text, judged_as text, meaning text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES
		('aws:RequestTag/*, aws:TagKeys, aws:RequestedRegion, aws:SecureTransport, aws:UserAgent, aws:Referer', 'attacker',
		 'the attacker writes the request: usable'),
		('aws:SourceIp, aws:VpcSourceIp, aws:SourceVpc, aws:SourceVpce (positive operators)', 'environment',
		 'the attacker must act from that network: narrowed (negated operators: attacker)'),
		('aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge', 'environment',
		 'requires an MFA session, which stolen keys lack: narrowed; Null true on them (no MFA) holds'),
		('aws:PrincipalTag/K, aws:PrincipalArn, aws:PrincipalAccount, aws:username', 'compared',
		 'compared with the attacker''s tags, ARN, account and name: holds or unusable'),
		('aws:ResourceTag/K, iam:ResourceTag/K', 'compared', 'compared with the target''s tags: holds or unusable; unknown for service actions'),
		('iam:PassedToService', 'compared', 'compared with the technique''s service: holds or unusable'),
		('aws:CurrentTime, aws:TokenIssueTime (Date operators)', 'compared',
		 'compared with the refresh time (a new token is issued now): holds or unusable'),
		('iam:PolicyARN', 'compared', 'holds when AdministratorAccess may be attached, else narrowed'),
		('iam:PermissionsBoundary, sts:ExternalId', 'environment', 'narrowed: the attacker must meet it'),
		('anything else', 'unknown', 'the edge is kept and marked conditional')
$$;
COMMENT ON FUNCTION correlate.iam_condition_keys()
	IS 'How correlate.iam_judge_conditions() judges each condition key: attacker (usable), environment (narrowed), compared (holds or unusable), unknown (conditional).';

-- Whether a string condition holds for the given context values.
CREATE FUNCTION correlate._iam_cond_strings(op text, ctx text[], vals text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN op ~* '^(String|Arn)Not' THEN NOT EXISTS (
			SELECT 1 FROM unnest(ctx) c, unnest(vals) v
			WHERE CASE WHEN op ~* 'Like' THEN correlate.iam_pattern(COALESCE(NULLIF(v, ''), '?')) OPERATOR(correlate.~~>) c
					   WHEN op ~* 'IgnoreCase' THEN lower(c) = lower(v) ELSE c = v END)
		ELSE EXISTS (
			SELECT 1 FROM unnest(ctx) c, unnest(vals) v
			WHERE CASE WHEN op ~* 'Like' THEN correlate.iam_pattern(COALESCE(NULLIF(v, ''), '?')) OPERATOR(correlate.~~>) c
					   WHEN op ~* 'IgnoreCase' THEN lower(c) = lower(v) ELSE c = v END) END;
$$;
COMMENT ON FUNCTION correlate._iam_cond_strings(text, text[], text[])
	IS 'Internal: whether a String* or Arn* condition operator holds for context values ctx against the condition values.';

-- Judges a Condition block for an attacker: always (holds), attacker (the attacker can make
-- it hold), environment (holds only from a network, an MFA session, ...: narrowed), never
-- (cannot hold: the grant is unusable) or unknown.  Every key must hold (AND).
CREATE FUNCTION correlate.iam_judge_conditions(conditions jsonb, principal_uid text DEFAULT NULL,
											   principal_tags jsonb DEFAULT NULL, resource_tags jsonb DEFAULT NULL,
											   service text DEFAULT NULL, as_of timestamptz DEFAULT now())
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o record;
	k record;
	op text;
	base text;
	key text;
	vals text[];
	ctx text[];
	if_exists boolean;
	v text;
	worst integer := 0;		-- 0 always, 1 attacker, 2 environment, 3 unknown, 4 never
	r integer;
	negated boolean;
	ts timestamptz;
	holds boolean;
BEGIN
	IF conditions IS NULL OR jsonb_typeof(conditions) <> 'object' THEN
		RETURN CASE WHEN conditions IS NULL THEN 'always' ELSE 'unknown' END;
	END IF;
	FOR o IN SELECT * FROM jsonb_each(conditions) LOOP
		op := regexp_replace(o.key, '^(ForAllValues|ForAnyValue):', '', 'i');
		if_exists := op ~* 'IfExists$';
		base := regexp_replace(op, 'IfExists$', '', 'i');
		negated := base ~* '^(StringNot|ArnNot|NotIpAddress)';
		IF jsonb_typeof(o.value) <> 'object' THEN
			worst := greatest(worst, 3);
			CONTINUE;
		END IF;
		FOR k IN SELECT * FROM jsonb_each(o.value) LOOP
			key := lower(k.key);
			vals := correlate._iam_list(k.value);
			ctx := NULL;
			r := 3;
			IF key LIKE 'aws:requesttag/%' OR key IN ('aws:tagkeys', 'aws:requestedregion', 'aws:useragent', 'aws:referer') THEN
				r := 1;
			ELSIF key = 'aws:securetransport' THEN
				r := CASE WHEN base ~* '^Bool' AND 'false' = ANY (vals) THEN 1 ELSE 0 END;
			ELSIF key IN ('aws:sourceip', 'aws:vpcsourceip', 'aws:sourcevpc', 'aws:sourcevpce') THEN
				r := CASE WHEN negated THEN 1 ELSE 2 END;
			ELSIF key = 'aws:multifactorauthpresent' THEN
				r := CASE WHEN base ~* '^Null' THEN CASE WHEN 'true' = ANY (vals) THEN 0 ELSE 2 END
						  WHEN 'false' = ANY (vals) AND if_exists THEN 0 ELSE 2 END;
			ELSIF key = 'aws:multifactorauthage' THEN
				r := CASE WHEN base ~* '^Null' AND 'true' = ANY (vals) THEN 0 ELSE 2 END;
			ELSIF key IN ('iam:permissionsboundary', 'sts:externalid') THEN
				r := 2;
			ELSIF key = 'iam:policyarn' THEN
				r := CASE WHEN correlate._iam_cond_strings(base, ARRAY['arn:aws:iam::aws:policy/AdministratorAccess'], vals) THEN 0 ELSE 2 END;
			ELSIF key IN ('aws:currenttime', 'aws:tokenissuetime') AND base ~* '^Date' THEN
				BEGIN
					r := 0;
					FOREACH v IN ARRAY vals LOOP
						ts := v::timestamptz;
						holds := CASE WHEN base ~* '^DateLessThanEquals' THEN as_of <= ts
									  WHEN base ~* '^DateLessThan' THEN as_of < ts
									  WHEN base ~* '^DateGreaterThanEquals' THEN as_of >= ts
									  WHEN base ~* '^DateGreaterThan' THEN as_of > ts
									  WHEN base ~* '^DateNotEquals' THEN as_of <> ts
									  ELSE as_of = ts END;
						IF NOT holds THEN
							r := 4;
						END IF;
					END LOOP;
				EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
					r := 3;
				END;
			ELSE
				-- Keys compared with what we know of the attacker, the target or the technique.
				IF key LIKE 'aws:principaltag/%' THEN
					ctx := CASE WHEN principal_tags ? substr(k.key, 18) THEN ARRAY[principal_tags->>substr(k.key, 18)] END;
				ELSIF key LIKE 'aws:resourcetag/%' OR key LIKE 'iam:resourcetag/%' THEN
					IF resource_tags IS NULL THEN
						worst := greatest(worst, 3);
						CONTINUE;
					END IF;
					ctx := CASE WHEN resource_tags ? substr(k.key, 17) THEN ARRAY[resource_tags->>substr(k.key, 17)] END;
				ELSIF key = 'iam:passedtoservice' THEN
					IF service IS NULL THEN
						worst := greatest(worst, 3);
						CONTINUE;
					END IF;
					ctx := ARRAY[service];
				ELSIF key = 'aws:principalarn' AND principal_uid IS NOT NULL THEN
					ctx := ARRAY[principal_uid];
				ELSIF key = 'aws:principalaccount' AND principal_uid IS NOT NULL THEN
					ctx := ARRAY[split_part(principal_uid, ':', 5)];
				ELSIF key = 'aws:username' AND principal_uid LIKE 'arn:aws:iam::%:user/%' THEN
					ctx := ARRAY[regexp_replace(principal_uid, '^.*/', '')];
				ELSE
					worst := greatest(worst, 3);
					CONTINUE;
				END IF;
				IF base !~* '^(String|Arn)' THEN
					r := 3;
				ELSIF ctx IS NULL THEN
					-- a missing key: IfExists and negated operators hold, others do not
					r := CASE WHEN if_exists OR negated THEN 0 ELSE 4 END;
				ELSE
					r := CASE WHEN correlate._iam_cond_strings(base, ctx, vals) THEN 0 ELSE 4 END;
				END IF;
			END IF;
			worst := greatest(worst, r);
		END LOOP;
	END LOOP;
	RETURN (ARRAY['always', 'attacker', 'environment', 'unknown', 'never'])[worst + 1];
END
$$;
COMMENT ON FUNCTION correlate.iam_judge_conditions(jsonb, text, jsonb, jsonb, text, timestamptz)
	IS 'Judges a statement''s Condition block for an attacker (principal_uid with principal_tags, acting on a target with resource_tags, passing a role to service, at as_of): always, attacker (it can make it hold), environment (narrowed), unknown, or never (the grant is unusable).';

-- The decision an evaluator answer becomes once its deciding statement's conditions are
-- judged: allow, narrowed, conditional, or NULL (the grant cannot be used).
CREATE FUNCTION correlate._iam_judged(decision text, statement bigint, principal bigint, target bigint,
									  service text DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN _iam_judged.decision <> 'conditional' THEN _iam_judged.decision
				WHEN s.id IS NULL THEN 'conditional'
				ELSE CASE WHEN s.effect = 'Allow'
						  THEN CASE j.v WHEN 'never' THEN NULL WHEN 'environment' THEN 'narrowed'
										WHEN 'unknown' THEN 'conditional' ELSE 'allow' END
						  -- a conditional Deny overturning an allow
						  ELSE CASE j.v WHEN 'always' THEN NULL WHEN 'never' THEN 'allow' WHEN 'attacker' THEN 'allow'
										ELSE 'conditional' END END END
	FROM (SELECT 1) one
	LEFT JOIN correlate.iam_statement s ON s.tenant = (SELECT correlate.current_tenant()) AND s.id = _iam_judged.statement
	LEFT JOIN correlate.resource p ON p.tenant = s.tenant AND p.id = _iam_judged.principal
	LEFT JOIN correlate.resource r ON r.tenant = s.tenant AND r.id = _iam_judged.target
	LEFT JOIN LATERAL (SELECT CASE WHEN s.conditions IS NULL THEN 'unknown'
								   ELSE correlate.iam_judge_conditions(s.conditions, p.uid, p.labels, r.labels,
																	   _iam_judged.service, now()) END AS v) j ON true;
$$;
COMMENT ON FUNCTION correlate._iam_judged(text, bigint, bigint, bigint, text)
	IS 'Internal: an evaluator decision after judging the deciding statement''s conditions for the attacker: allow, narrowed, conditional, or NULL when the grant cannot be used.';

CREATE FUNCTION correlate.refresh_iam_edges()
RETURNS TABLE (kind text, edges bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	ids bigint[];
BEGIN
	-- Scratch tables live until commit; a second refresh in the same transaction replaces them.
	IF to_regclass('pg_temp.iam_edge_req') IS NOT NULL THEN
		DROP TABLE pg_temp.iam_edge_req, pg_temp.iam_edge_ans, pg_temp.iam_edge_new, pg_temp.iam_edge_out,
			pg_temp.iam_edge_reach, pg_temp.iam_edge_rreq, pg_temp.iam_edge_held, pg_temp.iam_edge_trusts,
			pg_temp.iam_edge_svcrole;
	END IF;

	-- 1. Requests: what to ask the evaluator, and why.
	CREATE TEMP TABLE iam_edge_req (
		req integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, action text, res text,
		purpose text, technique text, target bigint, class text, sole bigint) ON COMMIT DROP;

	-- assumes: roles whose trust policy names principals other than AWS services (those
	-- only ever reach a role through iam:PassRole, below); web identity is handled apart.
	INSERT INTO iam_edge_req (action, res, purpose, technique, target)
	SELECT a.action, r.uid, 'assume', a.action, r.id
	FROM correlate.resource r, unnest(ARRAY['sts:AssumeRole', 'sts:AssumeRoleWithSAML']) a(action)
	WHERE r.tenant = t AND r.kind = 'aws:iam:role'
	  AND EXISTS (SELECT 1 FROM correlate.iam_statement ts
				  WHERE ts.tenant = t AND ts.holder = r.id AND ts.source = 'trust'
					AND (ts.not_principals IS NOT NULL
						 OR EXISTS (SELECT 1 FROM unnest(ts.principals) p
									WHERE NOT (p::text LIKE '%.amazonaws.com' AND p::text NOT LIKE 'arn:%'))));

	-- can_access: every data store, for each catalogued action.
	INSERT INTO iam_edge_req (action, res, purpose, technique, target, class)
	SELECT c.action,
		   replace(replace(replace(c.resource_template, '{arn}', r.uid), '{account}', COALESCE(r.account, '*')),
				   '{region}', COALESCE(r.region, '*')),
		   'access', c.action, r.id, c.class
	FROM correlate.resource r JOIN correlate.iam_access_actions() c ON c.kind = r.kind
	WHERE r.tenant = t;

	-- can_escalate_to: catalogued techniques acting on a user, role, group or attached
	-- customer-managed policy.  Those that yield admin are asked for the principal itself
	-- here (sole) and, below, for every principal it can reach.
	INSERT INTO iam_edge_req (action, res, purpose, technique, target, sole)
	SELECT d.actions[1], r.uid, 'direct', d.technique, r.id,
		   CASE WHEN d.yields = 'admin' AND d.applies_to IN ('aws:iam:user', 'aws:iam:role') THEN r.id END
	FROM correlate.iam_escalation_technique d
	JOIN correlate.resource r ON r.tenant = t AND r.kind = d.applies_to
	WHERE d.family IN ('credentials', 'trust_policy', 'group_membership', 'policy_write', 'policy_version')
	  AND (d.applies_to <> 'aws:iam:policy'
		   OR (r.uid NOT LIKE 'arn:aws:iam::aws:policy/%'
			   AND EXISTS (SELECT 1 FROM correlate.iam_policy p JOIN correlate.iam_attachment a
							 ON a.tenant = t AND a.policy = p.id AND a.how IN ('managed', 'group_managed')
						   WHERE p.tenant = t AND p.holder = r.id)));
	-- PassRole on every role that trusts a technique's service, and the service actions
	-- (on any resource) the passrole, existing-resource and remote-execution techniques need.
	INSERT INTO iam_edge_req (action, res, purpose, technique, target)
	SELECT 'iam:PassRole', r.uid, 'passrole', 'iam:PassRole', r.id
	FROM correlate.resource r
	WHERE r.tenant = t AND r.kind = 'aws:iam:role'
	  AND EXISTS (SELECT 1 FROM correlate.iam_statement ts, correlate.iam_escalation_technique tq
				  WHERE ts.tenant = t AND ts.holder = r.id AND ts.source = 'trust' AND ts.effect = 'Allow'
					AND tq.family = 'passrole' AND ts.principals OPERATOR(correlate.~~>) tq.passrole_service);
	INSERT INTO iam_edge_req (action, res, purpose, technique)
	SELECT DISTINCT a.action, NULL::text, 'service', a.action
	FROM correlate.iam_escalation_technique p,
		 unnest(array_remove(p.actions, 'iam:PassRole') || COALESCE(p.any_actions, '{}')
				|| ARRAY['iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile']) a(action)
	WHERE p.family IN ('passrole', 'existing_resource', 'remote_execution')
	-- ... and who holds the admin techniques on some resource (only they are asked about
	-- the principals they reach, below)
	UNION
	SELECT p.actions[1], NULL::text, 'service', p.actions[1]
	FROM correlate.iam_escalation_technique p WHERE p.yields = 'admin';
	ANALYZE iam_edge_req;

	-- 2. Evaluate: everything but PassRole at once; then PassRole, only for the principals
	--    that hold the service actions of some technique (the rest cannot use it).
	CREATE TEMP TABLE iam_edge_ans ON COMMIT DROP AS
	SELECT q.purpose, q.technique, q.target, q.class, q.res, e.principal, e.principal_uid, e.principal_kind,
		   e.decision, e.statement
	FROM (SELECT array_agg(q.action ORDER BY q.req) AS actions, array_agg(q.res ORDER BY q.req) AS res,
				 array_agg(q.sole ORDER BY q.req) AS sole, array_agg(q.req ORDER BY q.req) AS reqs
		  FROM iam_edge_req q WHERE q.purpose <> 'passrole') a
	CROSS JOIN LATERAL correlate._iam_evaluate(a.actions, a.res, false, a.sole, p_detail => false) e
	JOIN iam_edge_req q ON q.req = a.reqs[e.req]
	WHERE e.decision IN ('allow', 'conditional');
	CREATE INDEX ON iam_edge_ans (purpose, principal);
	ANALYZE iam_edge_ans;

	INSERT INTO iam_edge_ans
	SELECT q.purpose, q.technique, q.target, q.class, q.res, e.principal, e.principal_uid, e.principal_kind,
		   e.decision, e.statement
	FROM (SELECT array_agg(q.action ORDER BY q.req) AS actions, array_agg(q.res ORDER BY q.req) AS res,
				 array_agg(q.req ORDER BY q.req) AS reqs
		  FROM iam_edge_req q WHERE q.purpose = 'passrole') a
	CROSS JOIN LATERAL (SELECT array_agg(DISTINCT s.principal) AS among
						FROM iam_edge_ans s JOIN correlate.iam_passrole_techniques() tq
						  ON s.technique = ANY (COALESCE(tq.all_actions, tq.any_actions))
						WHERE s.purpose = 'service' AND s.principal IS NOT NULL) h
	CROSS JOIN LATERAL correlate._iam_evaluate(a.actions, a.res, false, NULL, COALESCE(h.among, '{}'), false) e
	JOIN iam_edge_req q ON q.req = a.reqs[e.req]
	WHERE e.decision IN ('allow', 'conditional') AND a.actions IS NOT NULL;

	ANALYZE iam_edge_ans;

	-- Conditions judged (correlate.iam_judge_conditions): a conditional answer whose
	-- conditions the attacker cannot meet is dropped; one it must meet from a network or an
	-- MFA session becomes narrowed; one it controls becomes allow.  PassRole answers are
	-- judged per technique below (iam:PassedToService depends on it); answers for
	-- principals outside the tenant stay conditional.
	UPDATE iam_edge_ans a SET decision = correlate._iam_judged(a.decision, a.statement, a.principal, a.target)
	WHERE a.decision = 'conditional' AND a.purpose NOT IN ('access', 'passrole') AND a.principal IS NOT NULL;
	DELETE FROM iam_edge_ans a WHERE a.decision IS NULL;

	-- 3. Edges, by uid (account roots and internet may not exist yet).
	CREATE TEMP TABLE iam_edge_new (
		src_uid text, dst_uid text, kind text, technique text, likelihood float8, props jsonb) ON COMMIT DROP;

	-- assumes, from users and roles of the tenant.
	INSERT INTO iam_edge_new
	SELECT p.uid, r.uid, 'assumes', a.technique,
		   CASE a.decision WHEN 'allow' THEN 0.9 ELSE 0.45 END,
		   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision)
	FROM iam_edge_ans a
	JOIN correlate.resource p ON p.tenant = t AND p.id = a.principal
	JOIN correlate.resource r ON r.tenant = t AND r.id = a.target
	WHERE a.purpose = 'assume' AND a.principal <> a.target AND a.principal_kind IN ('aws:iam:user', 'aws:iam:role');
	-- ... from anyone (a trust policy naming *) and from other accounts.
	INSERT INTO iam_edge_new
	SELECT CASE WHEN a.principal_uid = '*' THEN 'internet' ELSE a.principal_uid END, r.uid, 'assumes', a.technique,
		   CASE a.decision WHEN 'allow' THEN 0.9 ELSE 0.3 END,
		   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision,
							  'principal', a.principal_uid)
	FROM iam_edge_ans a JOIN correlate.resource r ON r.tenant = t AND r.id = a.target
	WHERE a.purpose = 'assume' AND a.principal IS NULL
	  AND (a.principal_uid = '*' OR a.principal_kind = 'aws:iam:root');
	-- ... and from Kubernetes service accounts through IRSA (web identity trust naming the service account).
	INSERT INTO iam_edge_new
	SELECT sa.uid, r.uid, 'assumes', 'sts:AssumeRoleWithWebIdentity',
		   CASE WHEN w.other_conditions THEN 0.45 ELSE 0.9 END,
		   jsonb_build_object('technique', 'sts:AssumeRoleWithWebIdentity', 'via', 'irsa', 'statement', w.id,
							  'oidc_provider', w.provider, 'decision',
							  CASE WHEN w.other_conditions THEN 'conditional' ELSE 'allow' END)
	FROM (
		SELECT s.id, s.holder, pv.p::text AS provider, sub.value AS subject, sub.op,
			   EXISTS (SELECT 1 FROM jsonb_each(s.conditions) o(op, keys), jsonb_object_keys(o.keys) k
					   WHERE NOT (o.op IN ('StringEquals', 'StringLike') AND (k LIKE '%:sub' OR k LIKE '%:aud'))) AS other_conditions
		FROM correlate.iam_statement s
		CROSS JOIN LATERAL unnest(s.principals) pv(p)
		CROSS JOIN LATERAL (
			SELECT o.op, v.value
			FROM jsonb_each(s.conditions) o(op, keys), jsonb_each(o.keys) kv(k, vals),
				 unnest(correlate._iam_list(kv.vals)) v(value)
			WHERE o.op IN ('StringEquals', 'StringLike') AND kv.k LIKE '%:sub'
			  AND v.value LIKE 'system:serviceaccount:%') sub
		WHERE s.tenant = t AND s.source = 'trust' AND s.effect = 'Allow'
		  AND s.actions OPERATOR(correlate.~~>) 'sts:AssumeRoleWithWebIdentity'
		  AND pv.p::text LIKE 'arn:aws:iam::%:oidc-provider/%'
	) w
	JOIN correlate.resource r ON r.tenant = t AND r.id = w.holder
	JOIN correlate.resource sa ON sa.tenant = t AND sa.kind = 'k8s:serviceaccount'
		 AND CASE w.op WHEN 'StringEquals'
					   THEN w.subject = 'system:serviceaccount:' || sa.namespace || ':' || sa.name
					   ELSE correlate.iam_pattern(w.subject) OPERATOR(correlate.~~>)
							('system:serviceaccount:' || sa.namespace || ':' || sa.name) END;

	-- can_access: one edge per principal and store, with the classes it reaches.
	INSERT INTO iam_edge_new
	SELECT COALESCE(p.uid, CASE WHEN a.principal_uid = '*' THEN 'internet' END), d.uid, 'can_access', NULL,
		   CASE WHEN bool_or(a.decision = 'allow') THEN 0.9 ELSE 0.45 END,
		   jsonb_build_object(
			   'classes', to_jsonb(array_agg(DISTINCT a.class ORDER BY a.class)),
			   'actions', to_jsonb(array_agg(DISTINCT a.technique ORDER BY a.technique)),
			   'statements', to_jsonb(array_agg(DISTINCT a.statement ORDER BY a.statement)),
			   'conditional', NOT bool_or(a.decision = 'allow'))
	FROM iam_edge_ans a
	JOIN correlate.resource d ON d.tenant = t AND d.id = a.target
	LEFT JOIN correlate.resource p ON p.tenant = t AND p.id = a.principal
	WHERE a.purpose = 'access' AND (p.kind IN ('aws:iam:user', 'aws:iam:role') OR a.principal_uid = '*')
	  -- A grant to * (a public resource) is one edge from internet, not one from every principal.
	  AND NOT (a.principal IS NOT NULL
			   AND EXISTS (SELECT 1 FROM correlate.iam_statement st
						   WHERE st.tenant = t AND st.id = a.statement AND st.source = 'resource'
							 AND correlate.iam_pattern('*') OPERATOR(correlate.=) ANY (st.principals)))
	GROUP BY 1, d.uid;

	-- can_escalate_to through a service.  Computed from small sets: who holds which
	-- technique's service actions (on some resource), which role trusts which service, and
	-- (passrole) who may pass which role.
	CREATE TEMP TABLE iam_edge_held ON COMMIT DROP AS
	WITH held AS (
		SELECT s.principal, tq.technique, tq.family, COALESCE(tq.passrole_service, tq.runs_as_service) AS service,
			   tq.needs_instance_profile, tq.likelihood,
			   bool_and(s.decision = 'allow') AS all_allow, bool_or(s.decision = 'conditional') AS any_conditional,
			   to_jsonb(array_agg(DISTINCT s.statement ORDER BY s.statement)) AS statements,
			   count(DISTINCT s.technique) FILTER (WHERE s.technique = ANY (tq.actions)) AS n_all,
			   count(DISTINCT s.technique) FILTER (WHERE s.technique = ANY (tq.any_actions)) AS n_any,
			   count(DISTINCT s.technique) FILTER (WHERE s.technique IN ('iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile')) AS n_profile,
			   cardinality(array_remove(tq.actions, 'iam:PassRole')) AS need_all, tq.any_actions IS NULL AS no_any
		FROM iam_edge_ans s CROSS JOIN correlate.iam_escalation_technique tq
		WHERE s.purpose = 'service' AND s.principal IS NOT NULL
		  AND tq.family IN ('passrole', 'existing_resource', 'remote_execution')
		  AND (s.technique = ANY (tq.actions) OR s.technique = ANY (tq.any_actions)
			   OR (tq.family = 'passrole' AND tq.needs_instance_profile
				   AND s.technique IN ('iam:CreateInstanceProfile', 'iam:AddRoleToInstanceProfile')))
		GROUP BY s.principal, tq.technique
	)
	SELECT h.*, CASE WHEN h.all_allow THEN 'allow' WHEN h.any_conditional THEN 'conditional' ELSE 'narrowed' END AS decision
	FROM held h WHERE h.n_all = h.need_all AND (h.no_any OR h.n_any > 0);
	CREATE TEMP TABLE iam_edge_trusts ON COMMIT DROP AS
	SELECT DISTINCT ts.holder AS role, sv.service
	FROM correlate.iam_statement ts
	CROSS JOIN (SELECT DISTINCT COALESCE(tq.passrole_service, tq.runs_as_service) AS service
				FROM correlate.iam_escalation_technique tq
				WHERE tq.family IN ('passrole', 'existing_resource', 'remote_execution')) sv
	WHERE ts.tenant = t AND ts.source = 'trust' AND ts.effect = 'Allow'
	  AND ts.actions OPERATOR(correlate.~~>) 'sts:AssumeRole'
	  AND ts.principals OPERATOR(correlate.~~>) sv.service;

	-- passrole: the attacker may pass role R, R trusts the technique's service (EC2: R is in
	-- an instance profile, or the attacker may make one).
	INSERT INTO iam_edge_new
	SELECT ap.uid, r.uid, 'can_escalate_to', v.technique,
		   v.likelihood * CASE WHEN v.decision = 'allow' THEN 1 ELSE 0.5 END,
		   jsonb_build_object('technique', v.technique, 'statement', v.statement, 'service_statements', v.statements,
							  'decision', v.decision)
	FROM (SELECT pr.principal, pr.target, h.technique, h.likelihood, h.statements, pr.statement,
				 h.needs_instance_profile, h.n_profile,
				 CASE WHEN j.d IS NULL THEN NULL
					  WHEN j.d = 'allow' AND h.decision = 'allow' THEN 'allow'
					  WHEN j.d = 'conditional' OR h.decision = 'conditional' THEN 'conditional'
					  ELSE 'narrowed' END AS decision
		  FROM iam_edge_ans pr
		  JOIN iam_edge_held h ON h.family = 'passrole' AND h.principal = pr.principal
		  JOIN iam_edge_trusts tr ON tr.role = pr.target AND tr.service = h.service
		  CROSS JOIN LATERAL (SELECT correlate._iam_judged(pr.decision, pr.statement, pr.principal, pr.target, h.service) AS d) j
		  WHERE pr.purpose = 'passrole' AND pr.principal <> pr.target) v
	JOIN correlate.resource ap ON ap.tenant = t AND ap.id = v.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
	JOIN correlate.resource r ON r.tenant = t AND r.id = v.target
	WHERE v.decision IS NOT NULL
	  AND (NOT v.needs_instance_profile OR v.n_profile = 2
		   OR jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'instance_profiles') = 'array'
									  THEN r.props->'instance_profiles' ELSE '[]' END) > 0);

	-- existing_resource, remote_execution: the attacker can take over the existing resources
	-- of a service in its own account (one node per service and account, kind
	-- aws:service-resources), which -runs_as-> every role of that account that trusts the
	-- service (EC2: in an instance profile).  A node between them keeps the edges linear:
	-- holders plus roles, not holders times roles.
	CREATE TEMP TABLE iam_edge_svcrole ON COMMIT DROP AS
	SELECT DISTINCT r.uid AS role_uid, r.account, tr.service, tq.needs_instance_profile,
		   'service-resources:' || r.account || ':' || tr.service
			 || CASE WHEN tq.needs_instance_profile THEN ':instance-profile' ELSE '' END AS node_uid
	FROM iam_edge_trusts tr
	JOIN correlate.resource r ON r.tenant = t AND r.id = tr.role AND r.account IS NOT NULL
	JOIN correlate.iam_escalation_technique tq ON tq.runs_as_service = tr.service
	WHERE NOT tq.needs_instance_profile
	   OR jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'instance_profiles') = 'array'
								  THEN r.props->'instance_profiles' ELSE '[]' END) > 0;
	INSERT INTO iam_edge_new
	SELECT ap.uid, 'service-resources:' || ap.account || ':' || h.service
				   || CASE WHEN h.needs_instance_profile THEN ':instance-profile' ELSE '' END,
		   'can_escalate_to', h.technique,
		   h.likelihood * CASE WHEN h.decision = 'allow' THEN 1 ELSE 0.5 END,
		   jsonb_build_object('technique', h.technique, 'statement', (h.statements->>0)::bigint,
							  'service_statements', h.statements, 'decision', h.decision, 'existing_resource', true)
	FROM iam_edge_held h
	JOIN correlate.resource ap ON ap.tenant = t AND ap.id = h.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
	WHERE h.family IN ('existing_resource', 'remote_execution')
	  AND EXISTS (SELECT 1 FROM iam_edge_svcrole sr WHERE sr.account = ap.account AND sr.service = h.service
				  AND sr.needs_instance_profile = h.needs_instance_profile);
	INSERT INTO iam_edge_new
	SELECT DISTINCT n.dst_uid, sr.role_uid, 'runs_as', 'runs_as', 0.9,
		   jsonb_build_object('technique', 'runs_as', 'service', sr.service, 'decision', 'allow',
							  'existing_resource', true)
	FROM (SELECT DISTINCT n.dst_uid FROM iam_edge_new n
		  WHERE n.kind = 'can_escalate_to' AND n.dst_uid LIKE 'service-resources:%') n
	JOIN iam_edge_svcrole sr ON sr.node_uid = n.dst_uid;

	-- can_escalate_to by techniques acting on another principal.
	INSERT INTO iam_edge_new
	SELECT ap.uid, r.uid, 'can_escalate_to', a.technique,
		   d.likelihood * CASE a.decision WHEN 'allow' THEN 1 ELSE 0.5 END,
		   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision)
	FROM iam_edge_ans a
	JOIN correlate.iam_escalation_technique d ON d.technique = a.technique AND d.yields = 'target'
	JOIN correlate.resource ap ON ap.tenant = t AND ap.id = a.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
	JOIN correlate.resource r ON r.tenant = t AND r.id = a.target
	WHERE a.purpose = 'direct' AND a.principal <> a.target
	  -- AddUserToGroup: users only, into groups that grant something and they are not in.
	  AND (a.technique <> 'iam:AddUserToGroup'
		   OR (ap.kind = 'aws:iam:user'
			   AND (EXISTS (SELECT 1 FROM correlate.iam_policy gp WHERE gp.tenant = t AND gp.holder = r.id)
					OR jsonb_array_length(CASE WHEN jsonb_typeof(r.props->'managed_policies') = 'array'
											   THEN r.props->'managed_policies' ELSE '[]' END) > 0)
			   AND NOT EXISTS (SELECT 1 FROM correlate.relationship m WHERE m.tenant = t AND m.kind = 'member_of'
							   AND m.src = ap.id AND m.dst = r.id)));

	-- Who reaches whom (users and roles, through the edges so far, up to five steps): the
	-- techniques that yield admin work on any principal the attacker can become.
	CREATE TEMP TABLE iam_edge_reach ON COMMIT DROP AS
	SELECT DISTINCT s.id AS attacker, d.id AS target, 1 AS depth
	FROM iam_edge_new n
	JOIN correlate.resource s ON s.tenant = t AND s.uid = n.src_uid AND s.kind IN ('aws:iam:user', 'aws:iam:role')
	JOIN correlate.resource d ON d.tenant = t AND d.uid = n.dst_uid AND d.kind IN ('aws:iam:user', 'aws:iam:role')
	WHERE n.kind IN ('assumes', 'can_escalate_to') AND s.id <> d.id;
	CREATE INDEX ON iam_edge_reach (target);
	FOR step IN 2 .. 5 LOOP
		INSERT INTO iam_edge_reach
		SELECT DISTINCT r1.attacker, r2.target, step
		FROM iam_edge_reach r1 JOIN iam_edge_reach r2 ON r2.attacker = r1.target AND r2.depth = 1
		WHERE r1.depth = step - 1 AND r2.target <> r1.attacker
		  AND NOT EXISTS (SELECT 1 FROM iam_edge_reach x WHERE x.attacker = r1.attacker AND x.target = r2.target);
		EXIT WHEN NOT FOUND;
	END LOOP;
	ANALYZE iam_edge_reach;

	-- Requests for the admin techniques onto the users and roles each attacker reaches
	-- (asked for that attacker only), evaluated and judged like the others.
	CREATE TEMP TABLE iam_edge_rreq ON COMMIT DROP AS
	SELECT row_number() OVER (ORDER BY rc.attacker, rc.target, d.technique)::integer AS n, d.actions[1] AS action,
		   tr.uid AS res, rc.attacker, rc.target, d.technique
	FROM iam_edge_reach rc
	JOIN correlate.resource tr ON tr.tenant = t AND tr.id = rc.target
	JOIN correlate.iam_escalation_technique d ON d.yields = 'admin' AND d.applies_to = tr.kind
	WHERE EXISTS (SELECT 1 FROM iam_edge_ans h WHERE h.purpose = 'service' AND h.principal = rc.attacker
				  AND h.technique = d.actions[1]);
	INSERT INTO iam_edge_ans
	SELECT 'reach', q.technique, q.target, NULL, q.res, e.principal, e.principal_uid, e.principal_kind,
		   correlate._iam_judged(e.decision, e.statement, e.principal, q.target), e.statement
	FROM (SELECT array_agg(x.action ORDER BY x.n) AS actions, array_agg(x.res ORDER BY x.n) AS res,
				 array_agg(x.attacker ORDER BY x.n) AS sole
		  FROM iam_edge_rreq x) a
	CROSS JOIN LATERAL correlate._iam_evaluate(a.actions, a.res, false, a.sole, p_detail => false) e
	JOIN iam_edge_rreq q ON q.n = e.req
	WHERE e.decision IN ('allow', 'conditional') AND a.actions IS NOT NULL;
	DELETE FROM iam_edge_ans a WHERE a.decision IS NULL;

	-- can_escalate_to the account root: techniques by which a principal grants itself, or a
	-- principal it can become, anything.
	INSERT INTO iam_edge_new
	SELECT ap.uid, 'arn:aws:iam::' || ap.account || ':root', 'can_escalate_to', a.technique,
		   d.likelihood * CASE a.decision WHEN 'allow' THEN 1 ELSE 0.5 END
			 * CASE WHEN a.technique = 'iam:SetDefaultPolicyVersion' AND NOT pv.has_versions THEN 0.5 ELSE 1 END,
		   jsonb_build_object('technique', a.technique, 'statement', a.statement, 'decision', a.decision,
							  'target', a.res)
			 || CASE WHEN a.purpose = 'reach' OR via.principal IS NOT NULL
					 THEN jsonb_build_object('through', (SELECT uid FROM correlate.resource x WHERE x.tenant = t
														 AND x.id = COALESCE(via.principal, a.target)))
					 ELSE '{}' END
			 || CASE WHEN a.technique = 'iam:SetDefaultPolicyVersion' AND NOT pv.has_versions
					 THEN '{"other_versions": "none known"}'::jsonb ELSE '{}' END
	FROM iam_edge_ans a
	JOIN correlate.iam_escalation_technique d ON d.technique = a.technique AND d.yields = 'admin'
	JOIN correlate.resource ap ON ap.tenant = t AND ap.id = a.principal AND ap.kind IN ('aws:iam:user', 'aws:iam:role')
	LEFT JOIN correlate.resource tg ON tg.tenant = t AND tg.id = a.target
	CROSS JOIN LATERAL (SELECT jsonb_array_length(CASE WHEN jsonb_typeof(tg.props->'other_versions') = 'array'
													   THEN tg.props->'other_versions' ELSE '[]' END) > 0 AS has_versions) pv
	-- groups and policies: the member or holder that is the attacker (NULL) or one it reaches
	CROSS JOIN LATERAL (
		SELECT m.principal FROM (
			SELECT NULL::bigint AS principal, 0 AS depth
			UNION ALL
			SELECT rc.target, rc.depth FROM iam_edge_reach rc WHERE rc.attacker = ap.id) m
		WHERE CASE d.applies_to
				  WHEN 'aws:iam:group' THEN EXISTS (SELECT 1 FROM correlate.relationship mm WHERE mm.tenant = t
													AND mm.kind = 'member_of' AND mm.src = COALESCE(m.principal, ap.id)
													AND mm.dst = a.target)
				  WHEN 'aws:iam:policy' THEN EXISTS (SELECT 1 FROM correlate.iam_attachment at
													 JOIN correlate.iam_policy p ON p.tenant = t AND p.id = at.policy
													 WHERE at.tenant = t AND at.principal = COALESCE(m.principal, ap.id)
													   AND p.holder = a.target AND at.how IN ('managed', 'group_managed'))
				  ELSE m.principal IS NULL AND (a.purpose = 'reach' OR a.principal = a.target) END
		ORDER BY m.depth LIMIT 1) via
	WHERE a.purpose IN ('direct', 'reach') AND ap.account IS NOT NULL;
	-- 4. Nodes the edges need: internet, other accounts' roots, account roots (crown jewels),
	--    the existing resources of a service in an account.
	IF EXISTS (SELECT 1 FROM iam_edge_new WHERE src_uid = 'internet') THEN
		PERFORM correlate.internet();
	END IF;
	PERFORM correlate.upsert_resources(
		array_agg(u.uid ORDER BY u.uid), array_agg('aws:service-resources'::text ORDER BY u.uid),
		names => array_agg('existing resources of ' || split_part(u.uid, ':', 3) || ' in account ' || split_part(u.uid, ':', 2)
						   || CASE WHEN u.uid LIKE '%:instance-profile' THEN ' (instances with a profile)' ELSE '' END
						   ORDER BY u.uid),
		accounts => array_agg(split_part(u.uid, ':', 2) ORDER BY u.uid))
	FROM (SELECT DISTINCT dst_uid AS uid FROM iam_edge_new WHERE dst_uid LIKE 'service-resources:%') u
	HAVING count(*) > 0;
	PERFORM correlate.upsert_resources(
		array_agg(u.uid ORDER BY u.uid), array_agg('aws:iam:root'::text ORDER BY u.uid),
		names => array_agg('root of account ' || split_part(u.uid, ':', 5) ORDER BY u.uid),
		accounts => array_agg(split_part(u.uid, ':', 5) ORDER BY u.uid),
		criticalities => array_agg(1::real ORDER BY u.uid))
	FROM (SELECT src_uid AS uid FROM iam_edge_new UNION SELECT dst_uid FROM iam_edge_new) u
	WHERE u.uid LIKE 'arn:aws:iam::%:root'
	HAVING count(*) > 0;

	-- 5. Write the edges (one per src, dst, kind: the likeliest technique leads), drop stale ones.
	CREATE TEMP TABLE iam_edge_out ON COMMIT DROP AS
	WITH agg AS (
		SELECT e.src_uid, e.dst_uid, e.kind,
			   max(e.likelihood) AS likelihood,
			   (array_agg(e.props ORDER BY e.likelihood DESC, e.props ? 'through', e.technique))[1]
				 || CASE WHEN e.kind = 'can_escalate_to'
						 THEN jsonb_build_object('techniques', to_jsonb(array_agg(DISTINCT e.technique ORDER BY e.technique)))
						 ELSE '{}' END AS props
		FROM iam_edge_new e GROUP BY e.src_uid, e.dst_uid, e.kind
	)
	SELECT row_number() OVER (ORDER BY s.id, d.id, agg.kind) AS n,
		   s.id AS src, d.id AS dst, agg.kind, least(agg.likelihood, 1.0) AS likelihood, agg.props,
		   -- an edge another observation made (e.g. the IRSA annotation seen by the Kubernetes
		   -- inventory) keeps its source, so a later refresh never deletes it
		   CASE WHEN ex.source IS NOT NULL AND ex.source <> 'iam_policy' THEN NULL ELSE 'iam_policy' END AS source
	FROM agg
	JOIN correlate.resource s ON s.tenant = t AND s.uid = agg.src_uid
	JOIN correlate.resource d ON d.tenant = t AND d.id <> s.id AND d.uid = agg.dst_uid
	LEFT JOIN correlate.relationship ex ON ex.tenant = t AND ex.src = s.id AND ex.dst = d.id AND ex.kind = agg.kind;

	-- One upsert with link_many's merge rules (likelihood set, props merged into the old ones,
	-- a NULL source keeps the old one, first and last seen widened to now).  link_many's checks
	-- hold by construction here (both ends exist, known kinds, likelihoods in (0,1], props
	-- objects); its batching by source and merging of duplicates cost more than the rest of the
	-- refresh at 5,000 roles.
	WITH w AS (
		INSERT INTO correlate.relationship AS r (tenant, src, dst, kind, likelihood, props, source, first_seen, last_seen)
		SELECT t, o.src, o.dst, o.kind, o.likelihood, o.props, o.source, now(), now()
		FROM iam_edge_out o ORDER BY o.n
		ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET
			likelihood = EXCLUDED.likelihood,
			props      = r.props || EXCLUDED.props,
			source     = COALESCE(EXCLUDED.source, r.source),
			first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen  = GREATEST(r.last_seen, EXCLUDED.last_seen)
		RETURNING r.id
	)
	SELECT COALESCE(array_agg(w.id), '{}') INTO ids FROM w;

	DELETE FROM correlate.relationship r
	WHERE r.tenant = t AND r.source = 'iam_policy' AND r.kind IN ('assumes', 'can_access', 'can_escalate_to', 'runs_as')
	  AND r.id NOT IN (SELECT unnest(ids));

	-- 6. Admin-equivalent users and roles (an unconditional Allow of * on *, not capped by a
	--    boundary, no unconditional Deny of * on *) are crown jewels.
	PERFORM correlate._iam_mark_admins();

	RETURN QUERY
	SELECT r.kind, count(*) FROM correlate.relationship r
	WHERE r.tenant = t AND r.source = 'iam_policy' AND r.kind IN ('assumes', 'can_access', 'can_escalate_to', 'runs_as')
	GROUP BY r.kind ORDER BY r.kind;
END
$$;
COMMENT ON FUNCTION correlate.refresh_iam_edges()
	IS 'Derives assumes, can_access and can_escalate_to edges from the policy store (through the write API), removes the ones no longer supported, and marks admin-equivalent principals as crown jewels; returns the edge counts by kind.';

-- Users and roles with an effective, unconditional Allow of * on *.
CREATE FUNCTION correlate.iam_admins()
RETURNS TABLE (principal bigint, principal_uid text, statement bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH star AS (SELECT correlate.iam_pattern('*') AS p)
	SELECT DISTINCT ON (r.id) r.id, r.uid, s.id
	FROM correlate.resource r
	JOIN correlate.iam_attachment a ON a.tenant = r.tenant AND a.principal = r.id AND a.how <> 'boundary'
	JOIN correlate.iam_statement s ON s.tenant = r.tenant AND s.policy = a.policy
	CROSS JOIN star
	WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.kind IN ('aws:iam:user', 'aws:iam:role')
	  AND s.effect = 'Allow' AND NOT s.conditional
	  AND star.p OPERATOR(correlate.=) ANY (s.actions) AND star.p OPERATOR(correlate.=) ANY (s.resources)
	  -- a boundary, if any, allows * on * too
	  AND (NOT EXISTS (SELECT 1 FROM correlate.iam_attachment b WHERE b.tenant = r.tenant AND b.principal = r.id AND b.how = 'boundary')
		   OR EXISTS (SELECT 1 FROM correlate.iam_attachment b JOIN correlate.iam_statement bs
						ON bs.tenant = r.tenant AND bs.policy = b.policy
					  WHERE b.tenant = r.tenant AND b.principal = r.id AND b.how = 'boundary' AND bs.effect = 'Allow'
						AND NOT bs.conditional AND star.p OPERATOR(correlate.=) ANY (bs.actions)
						AND star.p OPERATOR(correlate.=) ANY (bs.resources)))
	  -- and nothing denies * on * unconditionally
	  AND NOT EXISTS (SELECT 1 FROM correlate.iam_attachment d JOIN correlate.iam_statement ds
						ON ds.tenant = r.tenant AND ds.policy = d.policy
					  WHERE d.tenant = r.tenant AND d.principal = r.id AND ds.effect = 'Deny' AND NOT ds.conditional
						AND star.p OPERATOR(correlate.=) ANY (ds.actions) AND star.p OPERATOR(correlate.=) ANY (ds.resources))
	ORDER BY r.id, s.id;
$$;
COMMENT ON FUNCTION correlate.iam_admins() IS 'Admin-equivalent users and roles: an unconditional Allow of * on * that no boundary caps and no Deny of * on * removes, with the granting statement.';

-- Marks admins as crown jewels (criticality 1, props.iam_admin) and restores the
-- criticality of principals that are no longer admins.
CREATE FUNCTION correlate._iam_mark_admins() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	PERFORM correlate.upsert_resources(
		array_agg(r.uid ORDER BY r.id), array_agg(r.kind ORDER BY r.id),
		props => array_agg(jsonb_build_object('iam_admin', true, 'iam_admin_statement', a.statement)
						   || CASE WHEN COALESCE(r.props->>'iam_admin', 'false') <> 'true'
								   THEN jsonb_build_object('iam_criticality_before', r.criticality) ELSE '{}' END
						   ORDER BY r.id),
		criticalities => array_agg(1::real ORDER BY r.id))
	FROM correlate.iam_admins() a JOIN correlate.resource r ON r.tenant = t AND r.id = a.principal
	HAVING count(*) > 0;

	PERFORM correlate.upsert_resources(
		array_agg(r.uid ORDER BY r.id), array_agg(r.kind ORDER BY r.id),
		props => array_agg('{"iam_admin": false}'::jsonb ORDER BY r.id),
		criticalities => array_agg(COALESCE((r.props->>'iam_criticality_before')::real, 0) ORDER BY r.id))
	FROM correlate.resource r
	WHERE r.tenant = t AND r.props->>'iam_admin' = 'true'
	  AND r.id NOT IN (SELECT a.principal FROM correlate.iam_admins() a)
	HAVING count(*) > 0;
END
$$;

GRANT EXECUTE ON FUNCTION correlate.iam_access_actions(), correlate.iam_passrole_techniques(),
	correlate.iam_direct_techniques(), correlate.iam_admins(), correlate.iam_condition_keys(),
	correlate.iam_judge_conditions(jsonb, text, jsonb, jsonb, text, timestamptz),
	correlate._iam_cond_strings(text, text[], text[]), correlate._iam_judged(text, bigint, bigint, bigint, text)
	TO correlate_reader;
GRANT SELECT ON correlate.iam_escalation_technique TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.refresh_iam_edges(), correlate._iam_mark_admins() TO correlate_writer;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._iam_mark_admins()
	IS 'Internal: marks principals allowed * on * as crown jewels (criticality 1, props.iam_admin) and restores those no longer admins.';

-- ==== src/sql/70_iam_5_usage.sql ====
-- 70_iam_5_usage.sql: used versus granted.
--
-- correlate.permission_usage() puts side by side, for one user or role, the
-- actions its policies grant (correlate.what_can) and the actions CloudTrail
-- shows it performing in a time window (correlate.event rows with the
-- principal as actor and action '<service>:<eventName>').  Every used action is
-- paired with the grant that allows it; every grant no used action falls under
-- is listed as unused.  This is the input of least-privilege policy
-- generation: keep what is used, drop what is not.

CREATE FUNCTION correlate.permission_usage(principal bigint, since timestamptz,
										   until timestamptz DEFAULT now())
RETURNS TABLE (action text, used bigint, failed bigint, first_used timestamptz, last_used timestamptz,
			   granted text, pattern correlate.iam_pattern, statement bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	IF since IS NULL OR until IS NULL OR since > until THEN
		RAISE EXCEPTION 'the usage window must have since <= until'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('since is %s and until is %s.', COALESCE(since::text, 'NULL'), COALESCE(until::text, 'NULL'));
	END IF;

	RETURN QUERY
	WITH g AS MATERIALIZED (
		SELECT w.action AS pat, w.except_actions, w.decision, w.statement
		FROM correlate.what_can(permission_usage.principal) w
		WHERE w.decision IN ('allow', 'conditional', 'partial')
	), u AS (
		SELECT e.action AS act, count(*) AS n,
			   count(*) FILTER (WHERE e.outcome IS NOT NULL AND lower(e.outcome) NOT IN ('success', 'succeeded', 'ok')) AS nfail,
			   min(e.ts) AS first_ts, max(e.ts) AS last_ts
		FROM correlate.event e
		WHERE e.tenant = t AND e.actor = permission_usage.principal
		  AND e.ts >= since AND e.ts < until AND e.action IS NOT NULL
		GROUP BY e.action
	), used_rows AS (
		SELECT u.act, u.n, u.nfail, u.first_ts, u.last_ts, m.decision, m.pat, m.statement
		FROM u
		LEFT JOIN LATERAL (
			SELECT g.decision, g.pat, g.statement FROM g
			WHERE g.pat OPERATOR(correlate.~~>) u.act
			  AND (g.except_actions IS NULL OR NOT g.except_actions OPERATOR(correlate.~~>) u.act)
			ORDER BY array_position(ARRAY['allow', 'conditional', 'partial'], g.decision), g.statement
			LIMIT 1) m ON true
	)
	SELECT r.act, r.n, r.nfail, r.first_ts, r.last_ts, COALESCE(r.decision, 'not_granted'), r.pat, r.statement
	FROM used_rows r
	UNION ALL
	SELECT g.pat::text, 0::bigint, 0::bigint, NULL::timestamptz, NULL::timestamptz, g.decision, g.pat, g.statement
	FROM g
	WHERE NOT EXISTS (SELECT 1 FROM u WHERE g.pat OPERATOR(correlate.~~>) u.act
						AND (g.except_actions IS NULL OR NOT g.except_actions OPERATOR(correlate.~~>) u.act))
	ORDER BY 2 DESC, 1, 8;
END
$$;
COMMENT ON FUNCTION correlate.permission_usage(bigint, timestamptz, timestamptz)
	IS 'Used versus granted for a user or role: each action its events show in [since, until) with counts and the grant that allows it (granted = not_granted when none does), then each granted pattern no used action falls under (used = 0).';

CREATE FUNCTION correlate.permission_usage(principal text, since timestamptz, until timestamptz DEFAULT now())
RETURNS TABLE (action text, used bigint, failed bigint, first_used timestamptz, last_used timestamptz,
			   granted text, pattern correlate.iam_pattern, statement bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM correlate.permission_usage(correlate._principal_id(permission_usage.principal),
											 permission_usage.since, permission_usage.until);
$$;
COMMENT ON FUNCTION correlate.permission_usage(text, timestamptz, timestamptz)
	IS 'correlate.permission_usage() for the principal with this uid (ARN).';

GRANT EXECUTE ON FUNCTION correlate.permission_usage(bigint, timestamptz, timestamptz),
	correlate.permission_usage(text, timestamptz, timestamptz) TO correlate_reader;

-- ==== src/sql/70_iam_6_escalation.sql ====
-- 70_iam_6_escalation.sql: escalation chains over the assumes, can_escalate_to and runs_as
-- edges (runs_as: from the existing resources of a service to its roles).
--
--   escalation_paths(principal, target)  the ways a principal becomes the target (by
--                                        default anything admin-equivalent), step by
--                                        step, shortest first
--   escalation_summary()                 every user and role: admin-equivalent, or its
--                                        fewest steps to something that is
--   who_can(action, resource, include_denied, via_escalation)
--                                        who_can plus the principals that obtain the
--                                        permission by escalating, with the chain
--
-- Admin-equivalent: an account root node (a principal that can grant itself anything
-- leads there), a user or role marked iam_admin, or a group whose own policies allow *
-- on * unconditionally.  Searches are breadth-first and bounded: at most max_steps
-- edges, and at each depth at most max_paths partial paths per node (the likeliest), so
-- a dense graph cannot make them explode.

-- The admin-equivalent nodes of the tenant.
CREATE FUNCTION correlate._iam_admin_targets() RETURNS SETOF bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH star AS (SELECT correlate.iam_pattern('*') AS p)
	SELECT r.id FROM correlate.resource r
	WHERE r.tenant = (SELECT correlate.current_tenant())
	  AND (r.kind = 'aws:iam:root'
		   OR (r.kind IN ('aws:iam:user', 'aws:iam:role') AND r.props->>'iam_admin' = 'true')
		   OR (r.kind = 'aws:iam:group' AND EXISTS (
				SELECT 1 FROM correlate.iam_policy p JOIN correlate.iam_statement s ON s.tenant = p.tenant AND s.policy = p.id
				CROSS JOIN star
				WHERE p.tenant = r.tenant AND s.effect = 'Allow' AND NOT s.conditional
				  AND star.p OPERATOR(correlate.=) ANY (s.actions) AND star.p OPERATOR(correlate.=) ANY (s.resources)
				  AND (p.holder = r.id
					   OR (p.kind = 'managed' AND jsonb_typeof(r.props->'managed_policies') = 'array'
						   AND r.props->'managed_policies' ? p.name)))));
$$;
COMMENT ON FUNCTION correlate._iam_admin_targets()
	IS 'Internal: admin-equivalent nodes (account roots, users and roles marked iam_admin, groups whose policies allow * on *), the default target of escalation_paths.';

-- One step of a chain, as escalation_paths and who_can show it.
CREATE FUNCTION correlate._iam_step(edge bigint) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('src', s.uid, 'technique', COALESCE(e.props->>'technique', e.kind),
							  'statement', (e.props->>'statement')::bigint,
							  'resource', COALESCE(e.props->>'target', d.uid),
							  'through', e.props->>'through', 'dst', d.uid,
							  'likelihood', e.likelihood, 'decision', COALESCE(e.props->>'decision', 'allow'))
	FROM correlate.relationship e
	JOIN correlate.resource s ON s.tenant = e.tenant AND s.id = e.src
	JOIN correlate.resource d ON d.tenant = e.tenant AND d.id = e.dst
	WHERE e.tenant = (SELECT correlate.current_tenant()) AND e.id = _iam_step.edge;
$$;
COMMENT ON FUNCTION correlate._iam_step(bigint)
	IS 'Internal: an assumes or can_escalate_to edge as a chain step (src, technique, statement, resource, through, dst, likelihood, decision).';

CREATE FUNCTION correlate.escalation_paths(principal bigint, target bigint DEFAULT NULL,
										   max_steps integer DEFAULT 6, max_paths integer DEFAULT 10)
RETURNS TABLE (path integer, step integer, src text, technique text, statement bigint, resource text,
			   through text, dst text, likelihood float8, decision text, path_likelihood float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	goals bigint[];
	frontier jsonb;		-- partial paths at the current depth: [{node, nodes, edges, lk}]
	done jsonb := '[]';	-- paths that reached a goal
	nxt jsonb;
BEGIN
	IF max_steps IS NULL OR max_steps < 1 OR max_steps > 20 OR max_paths IS NULL OR max_paths < 1 OR max_paths > 1000 THEN
		RAISE EXCEPTION 'max_steps must be between 1 and 20 and max_paths between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('max_steps is %s, max_paths is %s.', max_steps, max_paths);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = t AND r.id = escalation_paths.principal) THEN
		RAISE EXCEPTION 'no resource with id % in tenant "%"', escalation_paths.principal, t
			USING ERRCODE = 'undefined_object';
	END IF;
	IF target IS NULL THEN
		goals := ARRAY(SELECT correlate._iam_admin_targets());
	ELSE
		goals := ARRAY[target];
	END IF;

	frontier := jsonb_build_array(jsonb_build_object('node', principal, 'nodes', jsonb_build_array(principal),
													 'edges', '[]'::jsonb, 'lk', 1.0));
	FOR depth IN 1 .. max_steps LOOP
		-- extend every partial path by one edge to a node it has not visited; keep the
		-- likeliest max_paths per node
		SELECT COALESCE(jsonb_agg(x.p ORDER BY x.lk DESC, x.p->>'edges'), '[]') INTO nxt
		FROM (
			SELECT y.p, y.lk, row_number() OVER (PARTITION BY y.node ORDER BY y.lk DESC, y.p->>'edges') AS rk
			FROM (
				SELECT e.dst AS node, (f->>'lk')::float8 * e.likelihood AS lk,
					   jsonb_build_object('node', e.dst, 'nodes', (f->'nodes') || to_jsonb(e.dst),
										  'edges', (f->'edges') || to_jsonb(e.id),
										  'lk', (f->>'lk')::float8 * e.likelihood) AS p
				FROM jsonb_array_elements(frontier) f
				JOIN correlate.relationship e ON e.tenant = t AND e.src = (f->>'node')::bigint
					 AND e.kind IN ('assumes', 'can_escalate_to', 'runs_as')
				WHERE NOT (f->'nodes') @> to_jsonb(e.dst)) y) x
		WHERE x.rk <= max_paths;
		done := done || COALESCE((SELECT jsonb_agg(p) FROM jsonb_array_elements(nxt) p
								  WHERE (p->>'node')::bigint = ANY (goals)), '[]');
		frontier := COALESCE((SELECT jsonb_agg(p) FROM jsonb_array_elements(nxt) p
							  WHERE NOT (p->>'node')::bigint = ANY (goals)), '[]');
		EXIT WHEN jsonb_array_length(frontier) = 0
			   OR (SELECT count(*) FROM jsonb_array_elements(done)) >= max_paths;
	END LOOP;

	RETURN QUERY
	WITH ranked AS (
		SELECT p, row_number() OVER (ORDER BY jsonb_array_length(p->'edges'), (p->>'lk')::float8 DESC, p->>'edges')::integer AS n
		FROM jsonb_array_elements(done) p
	)
	SELECT r.n, s.ord::integer, st->>'src', st->>'technique', (st->>'statement')::bigint, st->>'resource',
		   st->>'through', st->>'dst', (st->>'likelihood')::float8, st->>'decision', (r.p->>'lk')::float8
	FROM ranked r
	CROSS JOIN LATERAL jsonb_array_elements(r.p->'edges') WITH ORDINALITY s(edge, ord)
	CROSS JOIN LATERAL correlate._iam_step((s.edge)::bigint) st
	WHERE r.n <= max_paths
	ORDER BY r.n, s.ord;
END
$$;
COMMENT ON FUNCTION correlate.escalation_paths(bigint, bigint, integer, integer)
	IS 'The ways a principal becomes the target (default: anything admin-equivalent) through assumes and can_escalate_to edges: one row per step (technique, statement, resource), paths shortest first, then likeliest.';

CREATE FUNCTION correlate.escalation_paths(principal text, target text DEFAULT NULL,
										   max_steps integer DEFAULT 6, max_paths integer DEFAULT 10)
RETURNS TABLE (path integer, step integer, src text, technique text, statement bigint, resource text,
			   through text, dst text, likelihood float8, decision text, path_likelihood float8)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM correlate.escalation_paths(correlate._principal_id(escalation_paths.principal),
											 CASE WHEN escalation_paths.target IS NOT NULL
												  THEN correlate._principal_id(escalation_paths.target) END,
											 escalation_paths.max_steps, escalation_paths.max_paths);
$$;
COMMENT ON FUNCTION correlate.escalation_paths(text, text, integer, integer)
	IS 'correlate.escalation_paths() for a principal (and target) named by uid (ARN).';

-- who_can, with the principals that obtain the permission by escalating.
CREATE FUNCTION correlate.who_can(action text, resource_arn text, include_denied boolean, via_escalation boolean)
RETURNS TABLE (principal bigint, principal_uid text, principal_kind text, decision text,
			   via text, statement bigint, policy text, sid text, steps integer, chain jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	direct jsonb;			-- the who_can answers
	seen jsonb := '{}';		-- node id -> {edge: the edge leading on towards a goal, depth}
	frontier bigint[];
	added jsonb;
BEGIN
	SELECT COALESCE(jsonb_agg(to_jsonb(w)), '[]') INTO direct
	FROM correlate.who_can(who_can.action, who_can.resource_arn, who_can.include_denied) w;
	IF COALESCE(via_escalation, false) THEN
		-- Backwards from the goals (principals allowed, admin-equivalent nodes), breadth
		-- first: each node reached keeps its likeliest edge towards a goal.
		frontier := ARRAY(SELECT (d->>'principal')::bigint FROM jsonb_array_elements(direct) d
						  WHERE d->>'decision' IN ('allow', 'conditional') AND d->>'principal' IS NOT NULL
						  UNION SELECT correlate._iam_admin_targets());
		SELECT COALESCE(jsonb_object_agg(g::text, jsonb_build_object('depth', 0)), '{}') INTO seen FROM unnest(frontier) g;
		FOR depth IN 1 .. 6 LOOP
			SELECT jsonb_object_agg(x.src::text, jsonb_build_object('edge', x.id, 'depth', depth)) INTO added
			FROM (SELECT DISTINCT ON (e.src) e.src, e.id
				  FROM correlate.relationship e
				  WHERE e.tenant = t AND e.kind IN ('assumes', 'can_escalate_to', 'runs_as') AND e.dst = ANY (frontier)
					AND NOT seen ? e.src::text
				  ORDER BY e.src, e.likelihood DESC, e.id) x;
			EXIT WHEN added IS NULL;
			seen := seen || added;
			frontier := ARRAY(SELECT k::bigint FROM jsonb_object_keys(added) k);
		END LOOP;
	END IF;

	RETURN QUERY
	SELECT (d->>'principal')::bigint, d->>'principal_uid', d->>'principal_kind', d->>'decision', d->>'via',
		   (d->>'statement')::bigint, d->>'policy', d->>'sid', 0, NULL::jsonb
	FROM jsonb_array_elements(direct) d
	UNION ALL
	SELECT p.id, p.uid, p.kind, 'escalation', 'escalation', (g->>'statement')::bigint, g->>'policy', g->>'sid',
		   (s.value->>'depth')::integer, c.chain
	FROM jsonb_each(seen) s
	JOIN correlate.resource p ON p.tenant = t AND p.id = s.key::bigint AND p.kind IN ('aws:iam:user', 'aws:iam:role')
	CROSS JOIN LATERAL (
		WITH RECURSIVE walk(edge, dst, ord) AS (
			SELECT (s.value->>'edge')::bigint, e.dst, 1
			FROM correlate.relationship e WHERE e.tenant = t AND e.id = (s.value->>'edge')::bigint
			UNION ALL
			SELECT (seen->(w.dst::text)->>'edge')::bigint, e.dst, w.ord + 1
			FROM walk w JOIN correlate.relationship e ON e.tenant = t AND e.id = (seen->(w.dst::text)->>'edge')::bigint
			WHERE w.ord < 7)
		SELECT jsonb_agg(correlate._iam_step(w.edge) ORDER BY w.ord) AS chain,
			   (array_agg(w.dst ORDER BY w.ord DESC))[1] AS goal
		FROM walk w) c
	LEFT JOIN LATERAL (SELECT d AS g FROM jsonb_array_elements(direct) d
					   WHERE (d->>'principal')::bigint = c.goal AND d->>'decision' <> 'deny' LIMIT 1) gg ON true
	WHERE s.value ? 'edge'
	  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(direct) d
					  WHERE (d->>'principal')::bigint = p.id AND d->>'decision' IN ('allow', 'conditional'))
	ORDER BY 9, 2;
END
$$;
COMMENT ON FUNCTION correlate.who_can(text, text, boolean, boolean)
	IS 'who_can() with, when via_escalation, the users and roles that obtain the permission by escalation (decision escalation): steps and the chain of steps (technique, statement, resource) to a principal allowed or to an admin-equivalent node; shortest chains, likeliest edges.';

-- Every user and role with its shortest way to anything admin-equivalent.
CREATE FUNCTION correlate.escalation_summary(max_steps integer DEFAULT 6)
RETURNS TABLE (principal bigint, principal_uid text, principal_kind text, admin boolean, steps integer,
			   first_technique text, chain_likelihood float8, chain jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	seen jsonb;			-- node id -> {edge: the edge leading on towards a goal, depth}
	frontier bigint[];
	added jsonb;
BEGIN
	IF max_steps IS NULL OR max_steps < 1 OR max_steps > 20 THEN
		RAISE EXCEPTION 'max_steps must be between 1 and 20'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('max_steps is %s.', max_steps);
	END IF;
	-- Backwards from the admin-equivalent nodes, breadth first: each node keeps its
	-- likeliest edge towards one.
	frontier := ARRAY(SELECT correlate._iam_admin_targets());
	SELECT COALESCE(jsonb_object_agg(g::text, jsonb_build_object('depth', 0)), '{}') INTO seen FROM unnest(frontier) g;
	FOR depth IN 1 .. max_steps LOOP
		SELECT jsonb_object_agg(x.src::text, jsonb_build_object('edge', x.id, 'depth', depth)) INTO added
		FROM (SELECT DISTINCT ON (e.src) e.src, e.id
			  FROM correlate.relationship e
			  WHERE e.tenant = t AND e.kind IN ('assumes', 'can_escalate_to', 'runs_as') AND e.dst = ANY (frontier)
				AND NOT seen ? e.src::text
			  ORDER BY e.src, e.likelihood DESC, e.id) x;
		EXIT WHEN added IS NULL;
		seen := seen || added;
		frontier := ARRAY(SELECT k::bigint FROM jsonb_object_keys(added) k);
	END LOOP;

	RETURN QUERY
	SELECT p.id, p.uid, p.kind, s.value IS NOT NULL AND NOT s.value ? 'edge', (s.value->>'depth')::integer,
		   c.chain->0->>'technique',
		   (SELECT exp(sum(ln(GREATEST((x->>'likelihood')::float8, 1e-9)))) FROM jsonb_array_elements(c.chain) x),
		   c.chain
	FROM correlate.resource p
	LEFT JOIN LATERAL (SELECT seen->(p.id::text) AS value) s ON true
	LEFT JOIN LATERAL (
		WITH RECURSIVE walk(edge, dst, ord) AS (
			SELECT (s.value->>'edge')::bigint, e.dst, 1
			FROM correlate.relationship e WHERE e.tenant = t AND e.id = (s.value->>'edge')::bigint
			UNION ALL
			SELECT (seen->(w.dst::text)->>'edge')::bigint, e.dst, w.ord + 1
			FROM walk w JOIN correlate.relationship e ON e.tenant = t AND e.id = (seen->(w.dst::text)->>'edge')::bigint
			WHERE w.ord < max_steps)
		SELECT jsonb_agg(correlate._iam_step(w.edge) ORDER BY w.ord) AS chain FROM walk w) c ON true
	WHERE p.tenant = t AND p.kind IN ('aws:iam:user', 'aws:iam:role')
	ORDER BY 5 NULLS LAST, 2;
END
$$;
COMMENT ON FUNCTION correlate.escalation_summary(integer)
	IS 'Every IAM user and role: whether it is admin-equivalent, else the fewest steps (within max_steps) to something admin-equivalent, the first technique, the chain''s likelihood and its steps; steps NULL when it cannot escalate.';

GRANT EXECUTE ON FUNCTION correlate._iam_admin_targets(), correlate._iam_step(bigint),
	correlate.escalation_paths(bigint, bigint, integer, integer), correlate.escalation_paths(text, text, integer, integer),
	correlate.who_can(text, text, boolean, boolean), correlate.escalation_summary(integer)
	TO correlate_reader;

-- ==== src/sql/75_attack.sql ====
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
	technique  text NOT NULL REFERENCES correlate.attack_technique (technique) ON DELETE CASCADE,
	attack_id  text NOT NULL,
	likelihood float8 NOT NULL CHECK (likelihood > 0 AND likelihood <= 1),
	because    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(because) = 'object'),
	derived_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, src, dst, technique),
	FOREIGN KEY (tenant, src) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant, dst) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
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
		-- a deleted resource takes its edges along (ON DELETE CASCADE), and its
		-- relationships, deleted with it, log their other ends
		IF TG_OP = 'DELETE' THEN
			RETURN NULL;
		END IF;
		cols := 'tenant, id, kind, domain, name, cluster, namespace, props'; ends := 'VALUES (x.id';
	WHEN 'relationship' THEN
		cols := 'tenant, id, src, dst, kind, likelihood, props, source';
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
		UNION ALL SELECT id FROM subjects) x
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
-- a subject or group in focus, every target of its cluster.  Each step is a batch
-- of index scans (ids in arrays), never a scan of the estate.
CREATE FUNCTION correlate._attack_region(focus bigint[], pair_src bigint[], pair_dst bigint[],
	OUT resources bigint[], OUT relationships bigint[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
-- index lookups per pair: not the setting of _attack_edges, which calls it
SET enable_nestloop = on
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	inet_ids bigint[] := ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.kind = 'internet');
	ll bigint[];
	rr bigint[];
	seeds bigint[];
	parts2 bigint[];
	step bigint[];
	rbac boolean := EXISTS (SELECT 1 FROM correlate.resource r
							WHERE r.tenant = t AND r.kind IN ('k8s:role', 'k8s:clusterrole', 'k8s:group'));
BEGIN
	ll := ARRAY(SELECT l.id FROM correlate.relationship l WHERE l.tenant = t AND l.src = ANY (focus)
				UNION SELECT l.id FROM correlate.relationship l WHERE l.tenant = t AND l.dst = ANY (focus)
				-- the relationships of each pair (given both ways round)
				UNION SELECT x.id FROM unnest(pair_src, pair_dst) p(a, b) CROSS JOIN LATERAL (
					SELECT l.id FROM correlate.relationship l WHERE l.tenant = t AND l.src = p.a AND l.dst = p.b) x);
	rr := ARRAY(SELECT DISTINCT x FROM correlate.relationship l, LATERAL (VALUES (l.src), (l.dst)) v(x)
				WHERE l.tenant = t AND l.id = ANY (ll)) || focus || pair_src || inet_ids;
	-- parts of every workload among them: contains / uses_image, containers that run on a pod, their images
	seeds := ARRAY(SELECT r.id FROM correlate.resource r
				   WHERE r.tenant = t AND r.id = ANY (rr)
					 AND r.kind IN ('k8s:pod', 'aws:ec2:instance', 'aws:lambda:function', 'aws:ecs:task', 'container'));
	SELECT array_agg(x.id), array_agg(x.part) INTO step, seeds FROM (
		SELECT l.id, l.dst AS part FROM correlate.relationship l
		WHERE l.tenant = t AND l.src = ANY (seeds) AND l.kind IN ('contains', 'uses_image')
		UNION ALL
		SELECT l.id, l.src FROM correlate.relationship l
		WHERE l.tenant = t AND l.dst = ANY (seeds) AND l.kind = 'runs_on') x;
	ll := ll || step;
	rr := rr || seeds;
	SELECT array_agg(l.id), array_agg(l.dst) INTO step, parts2 FROM correlate.relationship l
	WHERE l.tenant = t AND l.src = ANY (seeds) AND l.kind IN ('contains', 'uses_image');
	ll := ll || step;
	-- inbound flows from the internet to the parts and the workloads
	ll := ll || ARRAY(SELECT l.id FROM correlate.relationship l
					  WHERE l.tenant = t AND l.src = ANY (inet_ids) AND l.kind = 'connects_to'
						AND l.dst = ANY (seeds || parts2 || rr));
	-- exposure chains into the focus and the nodes its pods run on
	seeds := focus || ARRAY(SELECT l.dst FROM correlate.relationship l
							WHERE l.tenant = t AND l.src = ANY (focus) AND l.kind = 'runs_on');
	FOR i IN 1..4 LOOP
		SELECT array_agg(l.id), array_agg(DISTINCT l.src) FILTER (WHERE l.src <> ALL (inet_ids)) INTO step, seeds
		FROM correlate.relationship l
		WHERE l.tenant = t AND l.dst = ANY (seeds) AND l.kind IN ('exposes', 'routes_to');
		EXIT WHEN step IS NULL;
		ll := ll || step;
		EXIT WHEN seeds IS NULL;
	END LOOP;
	-- RBAC: every binding (subject -> role), so a target in focus meets all who reach it
	IF rbac THEN
		ll := ll || ARRAY(
			SELECT l.id FROM correlate.relationship l
			WHERE l.tenant = t AND l.kind = 'can_access'
			  AND l.dst = ANY (ARRAY(SELECT r.id FROM correlate.resource r
									 WHERE r.tenant = t AND r.kind IN ('k8s:role', 'k8s:clusterrole'))));
		rr := rr || ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.kind = 'k8s:group');
	END IF;
	relationships := ARRAY(SELECT DISTINCT x FROM unnest(ll) x WHERE x IS NOT NULL);
	rr := rr || ARRAY(SELECT x FROM correlate.relationship l, LATERAL (VALUES (l.src), (l.dst)) v(x)
					  WHERE l.tenant = t AND l.id = ANY (relationships));
	-- a subject or group in focus reaches every target of its cluster
	IF rbac THEN
		rr := rr || ARRAY(
			SELECT r.id FROM correlate.resource r
			WHERE r.tenant = t AND r.kind IN ('k8s:pod', 'k8s:serviceaccount', 'k8s:node', 'k8s:secret', 'k8s:user', 'k8s:group')
			  AND r.cluster IN (SELECT s.cluster FROM correlate.resource s
								WHERE s.tenant = t AND s.id = ANY (focus) AND s.kind IN ('k8s:serviceaccount', 'k8s:user', 'k8s:group')));
	END IF;
	resources := ARRAY(SELECT DISTINCT x FROM unnest(rr) x WHERE x IS NOT NULL);
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
		FROM correlate.resource r
		WHERE r.tenant = t AND NOT r.id = ANY (w.remove_resources) AND (focus IS NULL OR r.id = ANY (rr))
	),
	rel AS MATERIALIZED (
		SELECT l.id, l.src, l.dst, l.kind, l.likelihood, l.props, l.source,
			   CASE WHEN jsonb_typeof(l.props->'fix_cost') = 'number' THEN l.props->'fix_cost' END AS fix_cost
		FROM correlate.relationship l
		WHERE l.tenant = t AND NOT l.id = ANY (w.remove_relationships) AND (focus IS NULL OR l.id = ANY (ll))
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
		FROM correlate.finding f
		WHERE f.tenant = t AND f.status = 'open' AND f.kind IN ('vulnerability', 'exposure')
		  AND NOT f.id = ANY (w.patch) AND NOT f.resource = ANY (w.remove_resources)
		  AND (focus IS NULL OR f.resource = ANY (rr))
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
	LEFT JOIN (SELECT a.* FROM correlate.attack_edge a
			   WHERE a.tenant = t AND (focus IS NULL OR a.src = ANY (focus) OR a.dst = ANY (focus) OR a.src = ANY (pair_src))) a
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
	inet_ids bigint[];
BEGIN
	-- One derivation per tenant at a time; writers of other tenants do not wait.
	PERFORM correlate._work_lock(t, 'derive_attack_edges');
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
	IF cardinality(focus) = 0 AND cardinality(pair_src) = 0 THEN
		inserted := 0; updated := 0; deleted := 0;
	ELSE
		inet_ids := ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.kind = 'internet');
		WITH d AS MATERIALIZED (SELECT * FROM correlate._attack_edges(NULL, focus, pair_src, pair_dst)),
		del AS (
			-- the edges derived anew are the edges with an end in focus (_attack_edges)
			DELETE FROM correlate.attack_edge a
			WHERE a.tenant = t
			  AND (focus IS NULL OR a.dst = ANY (focus) OR (a.src = ANY (focus) AND a.src <> ALL (inet_ids))
				   OR (a.technique = ANY (correlate._attack_pair_techniques())
					   AND (a.src, a.dst) IN (SELECT p.a, p.b FROM unnest(pair_src, pair_dst) p(a, b))))
			  AND NOT EXISTS (SELECT 1 FROM d WHERE d.id = a.id)
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
	PERFORM correlate._attack_derived(catalogue, prior, CASE WHEN focus IS NULL THEN 'from scratch' ELSE 'incremental' END,
									  cardinality(focus) + cardinality(pair_src) / 2);
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
	correlate._attack_focus(bigint[]) TO correlate_reader;
REVOKE ALL ON FUNCTION correlate._attack_dirty_take(text, float8), correlate._attack_derived(text, float8, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION correlate._attack_dirty_take(text, float8), correlate._attack_derived(text, float8, text, bigint) TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate.merge_image_aliases(), correlate.derive_attack_edges(boolean) TO correlate_writer;

-- ==== src/sql/80_risk.sql ====
-- 80_risk.sql: risk scores that explain themselves, toxic combinations, and
-- scheduled rescoring.
--
-- correlate.rescore() recomputes, for the current tenant, one row per resource in
-- correlate.risk_score: a score in [0,100] and the reasons behind it, each a
-- factor with a weight, a readable detail and the ids of its evidence (findings,
-- events, relationships, resources, policy statements).  The factors:
--
--   internet_exposure          most likely path from the internet (graph engine)
--   crown_jewel_access         most likely path to a crown jewel (graph engine)
--   crown_jewel                the resource is a crown jewel itself
--   vulnerability /            worst open vulnerability of the resource, its
--   exploitable_vulnerability  containers and images (exploitable: known exploited,
--                              flagged exploitable, or EPSS >= 0.5)
--   privileged                 privileged / root / host-path / escalation checks
--   excess_permissions /       grants the identity (or the identity a workload runs
--   unused_admin_permissions   as) never used legitimately; admin when an unused grant
--                              is a wildcard, iam: or sts:AssumeRole
--   detection                  detector alerts (Falco...) within the window
--
-- A weight is what the factor alone would score.  Factors combine as independent
-- chances (noisy-OR): score = 100 * (1 - prod(1 - weight/100)), so each factor takes
-- its share of what the others left, no single one saturates the scale, and the
-- score never leaves [0,100].  Toxic combinations (correlate.toxic_rule: named sets
-- of factors that are worse together) add their bonus as one more reason and are
-- recorded in correlate.toxic_combination with their evidence.
--
-- Legitimate use excludes events that correlate.correlate() tied to an incident and
-- detector alerts, so run correlate() first (the scheduled job does both).  One
-- rescoring of a tenant at a time: a per-tenant row of correlate.work_lock.  Scores
-- are derived data; they are dumped only so a restored database shows them before
-- the next rescoring.

-- Misconfiguration checks that mean the workload runs with more power than it needs.
CREATE FUNCTION correlate.risk_privilege_checks()
RETURNS TABLE (check_id text, weight integer, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES
		('privileged', 20, 'privileged container'),
		('KSV017', 20, 'privileged container'),
		('host-path', 12, 'mounts a host path'),
		('KSV023', 12, 'mounts a host path'),
		('host-network', 10, 'shares the host network'),
		('KSV009', 10, 'shares the host network'),
		('host-pid', 10, 'shares the host PID namespace'),
		('KSV010', 10, 'shares the host PID namespace'),
		('host-ipc', 8, 'shares the host IPC namespace'),
		('KSV008', 8, 'shares the host IPC namespace'),
		('sys-admin', 12, 'has CAP_SYS_ADMIN'),
		('KSV005', 12, 'has CAP_SYS_ADMIN'),
		('run-as-root', 6, 'runs as root'),
		('KSV012', 6, 'runs as root'),
		('allow-privilege-escalation', 6, 'allows privilege escalation'),
		('KSV001', 6, 'allows privilege escalation')
$$;
COMMENT ON FUNCTION correlate.risk_privilege_checks()
	IS 'Misconfiguration check ids (correlate''s own and Trivy''s KSV ids) that make the privileged risk factor, with the weight each adds (the factor is capped at 25).';

CREATE TABLE correlate.toxic_rule (
	name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
	description text NOT NULL CHECK (description <> ''),
	factors     text[] NOT NULL CHECK (cardinality(factors) BETWEEN 2 AND 8 AND array_position(factors, NULL) IS NULL
								   AND factors <@ ARRAY['internet_exposure', 'crown_jewel_access', 'crown_jewel',
														'vulnerability', 'exploitable_vulnerability', 'privileged',
														'excess_permissions', 'unused_admin_permissions', 'detection']),
	domains     text[] CHECK (domains IS NULL OR (cardinality(domains) > 0 AND array_position(domains, NULL) IS NULL
								   AND domains <@ ARRAY['network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance'])),
	severity    text NOT NULL DEFAULT 'high' CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	bonus       integer NOT NULL CHECK (bonus BETWEEN 0 AND 50),
	enabled     boolean NOT NULL DEFAULT true,
	builtin     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE correlate.toxic_rule IS 'Named combinations of risk factors that are worse together than apart; a resource whose reasons include every factor matches.';
COMMENT ON COLUMN correlate.toxic_rule.name IS 'Rule name, lower case (e.g. exposed-exploitable-privileged).';
COMMENT ON COLUMN correlate.toxic_rule.description IS 'What the combination means, shown as the reason''s detail.';
COMMENT ON COLUMN correlate.toxic_rule.factors IS 'Risk factors that must all be among the resource''s reasons (2 to 8 of the factors correlate.rescore() computes).';
COMMENT ON COLUMN correlate.toxic_rule.domains IS 'Resource domains the rule applies to; NULL for any.';
COMMENT ON COLUMN correlate.toxic_rule.severity IS 'low, medium, high or critical.';
COMMENT ON COLUMN correlate.toxic_rule.bonus IS 'Weight in [0,50] of the extra reason a match adds to the score.';
COMMENT ON COLUMN correlate.toxic_rule.enabled IS 'Disabled rules are not evaluated.';
COMMENT ON COLUMN correlate.toxic_rule.builtin IS 'True for rules shipped with the extension (not dumped; recreated by CREATE EXTENSION).';

INSERT INTO correlate.toxic_rule (name, description, factors, domains, severity, bonus, builtin) VALUES
	('exposed-exploitable-privileged',
	 'reachable from the internet, carries an exploitable vulnerability and runs privileged: one exploit owns the host',
	 ARRAY['internet_exposure', 'exploitable_vulnerability', 'privileged'], ARRAY['workload'], 'critical', 30, true),
	('data-path-unused-admin',
	 'has a path to sensitive data and carries admin permissions it never uses: compromise turns into a data breach',
	 ARRAY['crown_jewel_access', 'unused_admin_permissions'], ARRAY['workload', 'identity'], 'high', 20, true),
	('exposed-under-attack',
	 'reachable from the internet and a detector is firing on it: likely being exploited now',
	 ARRAY['internet_exposure', 'detection'], ARRAY['workload'], 'critical', 25, true),
	('exploitable-path-to-crown-jewel',
	 'carries an exploitable vulnerability and has a path to a crown jewel',
	 ARRAY['exploitable_vulnerability', 'crown_jewel_access'], ARRAY['workload'], 'high', 15, true);

-- The factors as data: rescore() computes each factor's strength in [0,1] from its
-- evidence (the mapping is fixed code, described in the strength column) and gives the
-- reason weight * strength, rounded.  Admins tune the weight with UPDATE; the builtin
-- values are the defaults (reset with UPDATE ... SET weight = default_weight).  A
-- weight is what the factor alone scores at full strength; 99 is the cap because the
-- noisy-OR never lets one reason reach 100.
CREATE TABLE correlate.risk_factor (
	name           text PRIMARY KEY,
	bit            smallint NOT NULL UNIQUE CHECK (bit BETWEEN 0 AND 14),
	weight         numeric NOT NULL,
	default_weight numeric NOT NULL CHECK (default_weight > 0 AND default_weight <= 99),
	strength       text NOT NULL CHECK (strength <> ''),
	enabled        boolean NOT NULL DEFAULT true,
	CONSTRAINT risk_factor_weight_not_nan CHECK (weight <> 'NaN'::numeric),
	CONSTRAINT risk_factor_weight_not_negative CHECK (weight >= 0),
	CONSTRAINT risk_factor_weight_cap CHECK (weight <= 99 OR weight = 'NaN'::numeric)
);
COMMENT ON TABLE correlate.risk_factor IS 'The risk factors correlate.rescore() computes: the weight in force (what the factor alone scores at full strength), its builtin default, how the evidence maps to a strength in [0,1], and whether it counts.';
COMMENT ON COLUMN correlate.risk_factor.name IS 'Factor name, as in risk_score.reasons and toxic_rule.factors.';
COMMENT ON COLUMN correlate.risk_factor.bit IS 'Bit of the factor in the compact factor sets of correlate.risk_history.';
COMMENT ON COLUMN correlate.risk_factor.weight IS 'Weight in force, in [0,99]; a reason weighs round(weight * strength). Refused: negative, NaN, above 99.';
COMMENT ON COLUMN correlate.risk_factor.default_weight IS 'The builtin weight (what a fresh install uses).';
COMMENT ON COLUMN correlate.risk_factor.strength IS 'How the evidence maps to the factor''s strength in [0,1].';
COMMENT ON COLUMN correlate.risk_factor.enabled IS 'A disabled factor gives no reasons (and so counts in no score or toxic combination).';

INSERT INTO correlate.risk_factor (name, bit, weight, default_weight, strength) VALUES
	('internet_exposure', 0, 30, 30, 'likelihood of the most likely attack path from the internet'),
	('crown_jewel_access', 1, 25, 25, 'likelihood of the most likely attack path to a crown jewel'),
	('crown_jewel', 2, 15, 15, 'the resource''s criticality (crown jewels only)'),
	('vulnerability', 3, 35, 35, 'worst open vulnerability: min(1, (2 x CVSS (or 9.5/7.5/5/2.5 by severity) + 10 if known exploited + 5 x EPSS) / 35)'),
	('exploitable_vulnerability', 4, 35, 35, 'as vulnerability, for one that is known exploited, flagged exploitable or has EPSS >= 0.5'),
	('privileged', 5, 25, 25, 'min(1, sum of the distinct privilege checks'' weights (correlate.risk_privilege_checks()) / 25)'),
	('excess_permissions', 6, 15, 15, 'min(1, 3 x unused grant patterns / 15)'),
	('unused_admin_permissions', 7, 25, 25, 'min(1, (10 + 5 x unused admin patterns + 2 x other unused patterns) / 25)'),
	('detection', 8, 30, 30, 'min(1, (10 x distinct alerting rules + 2 x repeated alerts + 5 if any is high severity) / 30), within the detection window'),
	('toxic_combination', 9, 50, 50, 'the matched toxic rule''s bonus / 50 (correlate.toxic_rule.bonus)');

CREATE TABLE correlate.risk_score (
	tenant      text NOT NULL DEFAULT correlate.current_tenant(),
	resource_id bigint NOT NULL,
	score       smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
	reasons     jsonb NOT NULL CHECK (jsonb_typeof(reasons) = 'array'),
	scored_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, resource_id),
	FOREIGN KEY (tenant, resource_id) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
);
CREATE INDEX risk_score_score_idx ON correlate.risk_score (tenant, score DESC);
COMMENT ON TABLE correlate.risk_score IS 'Risk of each resource with at least one risk factor, and why; rebuilt by correlate.rescore().';
COMMENT ON COLUMN correlate.risk_score.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.risk_score.resource_id IS 'The scored resource.';
COMMENT ON COLUMN correlate.risk_score.score IS 'Risk in [0,100]: 100 * (1 - product of (1 - weight/100)) over the reasons.';
COMMENT ON COLUMN correlate.risk_score.reasons IS 'Array of {factor, weight, detail, evidence}, heaviest first; evidence holds ids of findings, events, relationships, resources and statements.';
COMMENT ON COLUMN correlate.risk_score.scored_at IS 'When the score or its reasons last changed (a rescore that finds both the same leaves the row as it was).';

CREATE TABLE correlate.toxic_combination (
	tenant      text NOT NULL DEFAULT correlate.current_tenant(),
	id          bigint GENERATED ALWAYS AS IDENTITY,
	rule        text NOT NULL REFERENCES correlate.toxic_rule (name) ON DELETE CASCADE ON UPDATE CASCADE,
	resource_id bigint NOT NULL,
	severity    text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	reasons     jsonb NOT NULL CHECK (jsonb_typeof(reasons) = 'array'),
	evidence    jsonb NOT NULL CHECK (jsonb_typeof(evidence) = 'object'),
	first_seen  timestamptz NOT NULL DEFAULT now(),
	last_seen   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, rule, resource_id),
	FOREIGN KEY (tenant, resource_id) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
);
CREATE INDEX toxic_combination_resource_idx ON correlate.toxic_combination (tenant, resource_id);
COMMENT ON TABLE correlate.toxic_combination IS 'Toxic combinations matched by the latest rescoring: which rule, on which resource, with the reasons and evidence that made it.';
COMMENT ON COLUMN correlate.toxic_combination.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.toxic_combination.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.toxic_combination.rule IS 'The matched correlate.toxic_rule.';
COMMENT ON COLUMN correlate.toxic_combination.resource_id IS 'Resource the combination is on.';
COMMENT ON COLUMN correlate.toxic_combination.severity IS 'The rule''s severity.';
COMMENT ON COLUMN correlate.toxic_combination.reasons IS 'The risk reasons (one per factor of the rule) that matched.';
COMMENT ON COLUMN correlate.toxic_combination.evidence IS 'Union of the evidence ids of those reasons.';
COMMENT ON COLUMN correlate.toxic_combination.first_seen IS 'First rescoring that matched it (kept while it keeps matching).';
COMMENT ON COLUMN correlate.toxic_combination.last_seen IS 'Latest rescoring that matched it.';

SELECT correlate._isolate_tenants('correlate.risk_score', 'correlate.toxic_combination');

-- Evidence objects: {"findings": [...], "events": [...], ...}, empty lists left out.
CREATE FUNCTION correlate._evidence(findings bigint[] DEFAULT NULL, events bigint[] DEFAULT NULL,
	relationships bigint[] DEFAULT NULL, resources bigint[] DEFAULT NULL, statements bigint[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'correlate_evidence'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION correlate._evidence(bigint[], bigint[], bigint[], bigint[], bigint[]) IS 'Internal: an evidence object from id lists (sorted, deduplicated, empty lists omitted).';

-- The union of a JSON array of evidence objects.
CREATE FUNCTION correlate._evidence_union(evidences jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(jsonb_object_agg(s.k, s.ids), '{}')
	FROM (SELECT e.key AS k, jsonb_agg(DISTINCT x.v::bigint ORDER BY x.v::bigint) AS ids
		  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(evidences) = 'array' THEN evidences ELSE '[]' END) o(ev)
		  CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(o.ev) = 'object' THEN o.ev ELSE '{}' END) e
		  CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.value) = 'array' THEN e.value ELSE '[]' END) x(v)
		  WHERE x.v ~ '^[0-9]+$'
		  GROUP BY e.key) s;
$$;
COMMENT ON FUNCTION correlate._evidence_union(jsonb) IS 'Internal: merges an array of evidence objects into one (ids deduplicated and sorted per key).';

-- The facts a list of attack edges rests on, as an evidence object.
CREATE FUNCTION correlate._attack_evidence(edges bigint[]) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH y AS (
		SELECT a.because AS b FROM correlate.attack_edge a
		WHERE a.tenant = correlate.current_tenant() AND a.id = ANY (edges)
	), ids AS (
		SELECT k.kind, x::bigint AS id
		FROM y CROSS JOIN LATERAL (VALUES ('findings', 'findings'), ('relationships', 'relationships'),
										  ('relationships', 'exposure'), ('statements', 'statements')) k(kind, key)
		CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(y.b->k.key) = 'array'
														  THEN y.b->k.key ELSE '[]' END) x
		WHERE x ~ '^[0-9]{1,18}$'
	)
	SELECT correlate._evidence(
		findings => ARRAY(SELECT i.id FROM ids i WHERE i.kind = 'findings'),
		relationships => ARRAY(SELECT i.id FROM ids i WHERE i.kind = 'relationships'),
		statements => ARRAY(SELECT i.id FROM ids i WHERE i.kind = 'statements'))
$$;
COMMENT ON FUNCTION correlate._attack_evidence(bigint[]) IS 'Internal: the facts (relationships, findings, statements) a list of attack edges rests on, as an evidence object.';

-- Noisy-OR of weights in [0,100].
CREATE FUNCTION correlate._combine_weights(weights integer[]) RETURNS smallint
AS 'MODULE_PATHNAME', 'correlate_combine_weights'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION correlate._combine_weights(integer[]) IS 'Internal: combines reason weights into a score: 100 * (1 - product of (1 - weight/100)).';

-- Identities a principal used legitimately: its events' actions, except detector
-- alerts and events tied to an incident.
CREATE FUNCTION correlate._legitimate_actions(principal bigint, since timestamptz DEFAULT NULL)
RETURNS TABLE (action text, used bigint, events bigint[], resources text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	RETURN QUERY
	SELECT e.action, count(*), array_agg(e.id ORDER BY e.id),
		   CASE WHEN bool_and(tr.uid LIKE 'arn:%') THEN array_agg(DISTINCT tr.uid ORDER BY tr.uid) END
	FROM correlate.event e
	LEFT JOIN correlate.resource tr ON tr.tenant = t AND tr.id = e.target
	WHERE e.tenant = t AND e.actor = _legitimate_actions.principal AND e.action ~ '^[A-Za-z0-9-]+:[A-Za-z0-9*]+$'
	  AND (since IS NULL OR e.ts >= since)
	  AND e.rule IS NULL
	  AND (e.outcome IS NULL OR lower(e.outcome) IN ('success', 'succeeded', 'ok'))
	  AND NOT EXISTS (SELECT 1 FROM correlate.incident_event ie WHERE ie.tenant = t AND ie.event_id = e.id)
	GROUP BY e.action;
END
$$;
COMMENT ON FUNCTION correlate._legitimate_actions(bigint, timestamptz)
	IS 'Internal: actions a principal performed successfully, outside incidents and detector alerts, with the events and (when every event has an ARN target) the resources.';

-- One row per (resource, factor): the reasons rescore() stores.
CREATE FUNCTION correlate._risk_reasons(as_of timestamptz, detection_window interval)
RETURNS TABLE (resource_id bigint, factor text, weight integer, detail text, evidence jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	inet_id bigint := correlate.resource_id('internet');
	jewel_min real := COALESCE(NULLIF(current_setting('correlate.crown_jewel_criticality', true), '')::real, 0.8);
	on_attack boolean := COALESCE(NULLIF(current_setting('correlate.graph_layer', true), ''), 'attack') = 'attack';
	jewels bigint[];
BEGIN
	jewels := ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.criticality >= jewel_min ORDER BY r.id);

	RETURN QUERY
	WITH RECURSIVE
	res AS MATERIALIZED (
		SELECT r.id, r.kind, r.domain, r.name, r.uid, r.criticality FROM correlate.resource r
		WHERE r.tenant = t AND r.kind NOT IN ('internet', 'network:ip', 'network:cidr')
	),
	rel AS MATERIALIZED (
		SELECT l.id, l.src, l.dst, l.kind, l.likelihood FROM correlate.relationship l WHERE l.tenant = t
	),
	-- A workload's parts: its containers (pod -contains-> container, container -runs_on-> pod)
	-- and the images it or they use.
	parts AS (
		SELECT l.src AS rid, l.dst AS mid FROM rel l JOIN res m ON m.id = l.dst AND m.kind = 'container'
		WHERE l.kind = 'contains'
		UNION
		SELECT l.dst, l.src FROM rel l JOIN res m ON m.id = l.src AND m.kind = 'container'
		JOIN res p ON p.id = l.dst AND p.kind <> 'container'
		WHERE l.kind = 'runs_on'
	),
	members AS MATERIALIZED (
		SELECT r.id AS rid, r.id AS mid FROM res r
		UNION SELECT p.rid, p.mid FROM parts p
		UNION SELECT l.src, l.dst FROM rel l WHERE l.kind = 'uses_image'
		UNION SELECT p.rid, l.dst FROM parts p JOIN rel l ON l.src = p.mid AND l.kind = 'uses_image'
	),
	-- Internet exposure: the most likely path from the internet.  Each node's name and
	-- the edge from its via, looked up once per node.
	from_inet AS MATERIALIZED (
		SELECT b.resource_id, b.hops, b.likelihood, b.via, r.name,
			   CASE WHEN on_attack
					THEN (SELECT a.id FROM correlate.attack_edge a WHERE a.tenant = t AND a.src = b.via AND a.dst = b.resource_id
						  ORDER BY a.likelihood DESC, a.id LIMIT 1)
					ELSE (SELECT l.id FROM correlate.relationship l WHERE l.tenant = t AND l.src = b.via AND l.dst = b.resource_id
						  ORDER BY l.likelihood DESC, l.id LIMIT 1) END AS rel
		FROM correlate.blast_radius(ARRAY[inet_id]) b
		LEFT JOIN correlate.resource r ON r.tenant = t AND r.id = b.resource_id
		WHERE inet_id IS NOT NULL
	),
	-- Each node's path is its via's path and one more hop: every node is visited once.
	inet_walk (rid, names, rels) AS (
		SELECT f.resource_id, ARRAY[f.name], ARRAY[f.rel] FROM from_inet f WHERE f.hops > 0 AND f.via = inet_id
		UNION ALL
		SELECT f.resource_id, w.names || f.name, w.rels || f.rel
		FROM inet_walk w JOIN from_inet f ON f.via = w.rid
	),
	inet_reason AS (
		SELECT f.resource_id AS rid, 'internet_exposure'::text AS factor,
			   round(30 * f.likelihood)::integer AS weight,
			   format('reachable from the internet: internet -> %s (%s %s, likelihood %s)',
					  array_to_string(w.names, ' -> '), f.hops, CASE f.hops WHEN 1 THEN 'hop' ELSE 'hops' END,
					  round(f.likelihood::numeric, 3)) AS detail,
			   CASE WHEN on_attack THEN correlate._attack_evidence(w.rels)
					ELSE correlate._evidence(relationships => w.rels) END AS evidence
		FROM from_inet f JOIN inet_walk w ON w.rid = f.resource_id
		JOIN res r ON r.id = f.resource_id
		WHERE f.hops > 0
	),
	-- Crown jewel access: the most likely path to a crown jewel.  Each node's next hop
	-- (its via), that hop's name and the edge to it, looked up once per node.
	to_jewel AS MATERIALIZED (
		SELECT x.resource_id, x.hops, x.likelihood, x.via, v.name AS via_name,
			   CASE WHEN on_attack
					THEN (SELECT a.id FROM correlate.attack_edge a WHERE a.tenant = t AND a.src = x.resource_id AND a.dst = x.via
						  ORDER BY a.likelihood DESC, a.id LIMIT 1)
					ELSE (SELECT l.id FROM correlate.relationship l WHERE l.tenant = t AND l.src = x.resource_id AND l.dst = x.via
						  ORDER BY l.likelihood DESC, l.id LIMIT 1) END AS rel
		FROM correlate.exposure(jewels) x
		LEFT JOIN correlate.resource v ON v.tenant = t AND v.id = x.via
		WHERE cardinality(jewels) > 0
	),
	-- A node's way to its jewel is one hop to its via, then the via's way: built from
	-- the jewels outwards, every node visited once.
	jewel_walk (rid, jewel, names, rels) AS (
		SELECT x.resource_id, x.via, ARRAY[x.via_name], ARRAY[x.rel] FROM to_jewel x WHERE x.hops = 1
		UNION ALL
		SELECT x.resource_id, w.jewel, x.via_name || w.names, x.rel || w.rels
		FROM jewel_walk w JOIN to_jewel x ON x.via = w.rid
		WHERE x.hops > 1
	),
	jewel_reason AS (
		SELECT x.resource_id AS rid, 'crown_jewel_access'::text AS factor,
			   round(25 * x.likelihood)::integer AS weight,
			   format('can reach crown jewel %s: %s -> %s (%s %s, likelihood %s)',
					  w.names[cardinality(w.names)], r.name, array_to_string(w.names, ' -> '), x.hops,
					  CASE x.hops WHEN 1 THEN 'hop' ELSE 'hops' END, round(x.likelihood::numeric, 3)),
			   CASE WHEN on_attack
					THEN correlate._evidence_union(jsonb_build_array(correlate._attack_evidence(w.rels),
																	 correlate._evidence(resources => ARRAY[w.jewel])))
					ELSE correlate._evidence(relationships => w.rels, resources => ARRAY[w.jewel]) END
		FROM to_jewel x JOIN jewel_walk w ON w.rid = x.resource_id
		JOIN res r ON r.id = x.resource_id
		WHERE x.hops > 0
	),
	crown_reason AS (
		SELECT r.id AS rid, 'crown_jewel'::text AS factor, round(15 * r.criticality)::integer AS weight,
			   format('is a crown jewel (criticality %s)', round(r.criticality::numeric, 2)),
			   correlate._evidence(resources => ARRAY[r.id])
		FROM res r WHERE r.id = ANY (jewels)
	),
	-- Vulnerabilities of the resource and its parts.
	vulns AS (
		SELECT m.rid, f.id AS fid, f.check_id, f.package, f.severity, f.cvss, f.known_exploited, mr.name AS on_name,
			   (f.known_exploited OR lower(COALESCE(f.props->>'exploitable', '')) IN ('true', 'yes')
				OR COALESCE(f.epss, 0) >= 0.5) AS exploitable,
			   LEAST(35, round(2 * COALESCE(f.cvss, CASE f.severity WHEN 'critical' THEN 9.5 WHEN 'high' THEN 7.5
															WHEN 'medium' THEN 5 WHEN 'low' THEN 2.5 ELSE 0 END)
							   + CASE WHEN f.known_exploited THEN 10 ELSE 0 END + 5 * COALESCE(f.epss, 0)))::integer AS w
		FROM members m
		JOIN correlate.finding f ON f.tenant = t AND f.resource = m.mid AND f.kind = 'vulnerability' AND f.status = 'open'
		JOIN res mr ON mr.id = m.mid
	),
	vuln_reason AS (
		SELECT DISTINCT ON (v.rid) v.rid,
			   CASE WHEN v.exploitable THEN 'exploitable_vulnerability' ELSE 'vulnerability' END AS factor,
			   v.w AS weight,
			   format('%s%s on %s: %s%s%s%s', v.check_id, COALESCE(' in ' || NULLIF(v.package, ''), ''), v.on_name, v.severity,
					  ', CVSS ' || v.cvss, CASE WHEN v.known_exploited THEN ', known exploited' WHEN v.exploitable THEN ', exploitable' ELSE '' END,
					  CASE WHEN n.c > 1 THEN format(' (and %s more open)', n.c - 1) ELSE '' END),
			   correlate._evidence(findings => n.ids)
		FROM vulns v
		JOIN (SELECT x.rid, count(*) AS c, array_agg(x.fid) AS ids FROM vulns x GROUP BY x.rid) n ON n.rid = v.rid
		ORDER BY v.rid, v.exploitable DESC, v.w DESC, v.cvss DESC NULLS LAST, v.check_id, v.fid
	),
	-- Privileged, root, host-path and similar misconfigurations.
	privs AS (
		SELECT m.rid, f.id AS fid, c.weight AS w, c.description, f.check_id
		FROM members m
		JOIN correlate.finding f ON f.tenant = t AND f.resource = m.mid AND f.kind = 'misconfiguration' AND f.status = 'open'
		JOIN correlate.risk_privilege_checks() c ON lower(c.check_id) = lower(f.check_id)
	),
	priv_reason AS (
		SELECT p.rid, 'privileged'::text, LEAST(25, sum(DISTINCT p.w))::integer,
			   string_agg(DISTINCT p.description, ', '),
			   correlate._evidence(findings => array_agg(p.fid))
		FROM (SELECT DISTINCT ON (x.rid, x.description) x.* FROM privs x ORDER BY x.rid, x.description, x.w DESC) d
		JOIN privs p ON p.rid = d.rid AND p.description = d.description
		GROUP BY p.rid
	),
	-- Detector alerts on the resource or its parts within the window.
	-- (The window's alerts first, then their resources: no OR join against members.)
	alerts AS MATERIALIZED (
		SELECT e.id, e.rule, e.severity_id, e.actor, e.target FROM correlate.event e
		WHERE e.tenant = t AND (e.rule IS NOT NULL OR e.class_uid = 2004)
		  AND e.ts > as_of - detection_window AND e.ts <= as_of
	),
	dets AS (
		SELECT DISTINCT m.rid, a.id AS eid, a.rule, a.severity_id
		FROM (SELECT a.id, a.rule, a.severity_id, a.actor AS mid FROM alerts a WHERE a.actor IS NOT NULL
			  UNION
			  SELECT a.id, a.rule, a.severity_id, a.target FROM alerts a WHERE a.target IS NOT NULL) a
		JOIN members m ON m.mid = a.mid
	),
	-- Each resource's alerting rules with their counts, most frequent first.
	det_rules AS (
		SELECT z.rid, string_agg(format('%s (%s)', z.rule, z.n), ', ' ORDER BY z.n DESC, z.rule) AS rules
		FROM (SELECT y.rid, COALESCE(y.rule, 'detection finding') AS rule, count(*) AS n FROM dets y GROUP BY 1, 2) z
		GROUP BY z.rid
	),
	det_reason AS (
		SELECT d.rid, 'detection'::text,
			   LEAST(30, 10 * count(DISTINCT COALESCE(d.rule, '')) + 2 * (count(*) - count(DISTINCT COALESCE(d.rule, '')))
						 + CASE WHEN max(d.severity_id) >= 4 THEN 5 ELSE 0 END)::integer,
			   format('%s detector %s in the %s before %s: %s', count(*), CASE count(*) WHEN 1 THEN 'alert' ELSE 'alerts' END,
					  CASE WHEN extract(epoch FROM detection_window) % 86400 = 0
						   THEN (extract(epoch FROM detection_window) / 86400)::bigint || ' days'
						   ELSE round(extract(epoch FROM detection_window) / 3600, 1) || ' hours' END,
					  to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
					  min(dr.rules)),
			   correlate._evidence(events => array_agg(d.eid))
		FROM dets d JOIN det_rules dr ON dr.rid = d.rid GROUP BY d.rid
	),
	-- Grants never used legitimately, per user or role.
	idents AS (
		SELECT r.id FROM res r WHERE r.kind IN ('aws:iam:role', 'aws:iam:user')
	),
	grants AS MATERIALIZED (
		SELECT i.id AS pid, w.action AS pat, w.except_actions, w.statement
		FROM idents i CROSS JOIN LATERAL correlate.what_can(i.id) w
		WHERE w.decision IN ('allow', 'conditional', 'partial')
	),
	-- Legitimate use of every identity in one pass (the rule of _legitimate_actions).
	used AS MATERIALIZED (
		SELECT e.actor AS pid, e.action
		FROM correlate.event e JOIN idents i ON i.id = e.actor
		WHERE e.tenant = t AND e.actor IS NOT NULL AND e.action ~ '^[A-Za-z0-9-]+:[A-Za-z0-9*]+$'
		  AND e.rule IS NULL
		  AND (e.outcome IS NULL OR lower(e.outcome) IN ('success', 'succeeded', 'ok'))
		  AND NOT EXISTS (SELECT 1 FROM correlate.incident_event ie WHERE ie.tenant = t AND ie.event_id = e.id)
		GROUP BY e.actor, e.action
	),
	unused AS (
		SELECT g.pid, g.pat::text AS pat, g.statement,
			   (g.pat::text = '*' OR g.pat::text LIKE '%:*' OR g.pat::text LIKE 'iam:%'
				OR g.pat::text LIKE 'sts:AssumeRole%') AS admin
		FROM grants g
		WHERE NOT EXISTS (SELECT 1 FROM used u WHERE u.pid = g.pid AND g.pat OPERATOR(correlate.~~>) u.action
							AND (g.except_actions IS NULL OR NOT g.except_actions OPERATOR(correlate.~~>) u.action))
	),
	perm_own AS (
		SELECT u.pid,
			   CASE WHEN bool_or(u.admin) THEN 'unused_admin_permissions' ELSE 'excess_permissions' END AS factor,
			   CASE WHEN bool_or(u.admin) THEN LEAST(25, 10 + 5 * count(DISTINCT u.pat) FILTER (WHERE u.admin)
														+ 2 * count(DISTINCT u.pat) FILTER (WHERE NOT u.admin))
					ELSE LEAST(15, 3 * count(DISTINCT u.pat)) END::integer AS weight,
			   string_agg(DISTINCT u.pat, ', ') AS pats,
			   (SELECT string_agg(DISTINCT x.action, ', ') FROM used x WHERE x.pid = u.pid) AS used_actions,
			   array_agg(u.statement) AS stmts
		FROM unused u GROUP BY u.pid
	),
	-- Workloads and service accounts take on the grants of the identities they run as.
	ident_chain AS (
		SELECT l.src AS rid, l.dst AS iid, ARRAY[l.dst] AS via, ARRAY[l.id] AS rels
		FROM rel l WHERE l.kind IN ('runs_as', 'assumes')
		UNION ALL
		SELECT c.rid, l.dst, c.via || l.dst, c.rels || l.id
		FROM ident_chain c JOIN rel l ON l.src = c.iid AND l.kind = 'assumes'
		WHERE cardinality(c.via) < 3 AND NOT l.dst = ANY (c.via) AND l.dst <> c.rid
	),
	perm_reason AS (
		SELECT p.pid AS rid, p.factor, p.weight,
			   format('granted but never used legitimately: %s (used: %s)', p.pats, COALESCE(p.used_actions, 'nothing')),
			   correlate._evidence(statements => p.stmts)
		FROM perm_own p
		UNION ALL
		SELECT * FROM (
		SELECT DISTINCT ON (c.rid) c.rid, p.factor, p.weight,
			   format('runs as %s, granted but never used legitimately: %s (used: %s)',
					  (SELECT string_agg(r.name, ' -> ' ORDER BY o) FROM unnest(c.via) WITH ORDINALITY v(x, o)
					   JOIN correlate.resource r ON r.tenant = t AND r.id = v.x),
					  p.pats, COALESCE(p.used_actions, 'nothing')),
			   correlate._evidence(statements => p.stmts, relationships => c.rels, resources => ARRAY[c.iid])
		FROM ident_chain c JOIN perm_own p ON p.pid = c.iid
		JOIN res r ON r.id = c.rid
		WHERE NOT EXISTS (SELECT 1 FROM perm_own q WHERE q.pid = c.rid)
		ORDER BY c.rid, p.weight DESC, cardinality(c.via), c.iid) via_identity
	),
	all_reasons AS (
		SELECT * FROM inet_reason
		UNION ALL SELECT * FROM jewel_reason
		UNION ALL SELECT * FROM crown_reason
		UNION ALL SELECT * FROM vuln_reason
		UNION ALL SELECT * FROM priv_reason
		UNION ALL SELECT * FROM det_reason
		UNION ALL SELECT * FROM perm_reason
	)
	-- The weight in force: the builtin formula gives weight at the default, scaled to
	-- the factor's weight (exact when they are equal); a tuned weight says so.
	SELECT a.rid, a.factor, w.w, w.detail, a.evidence
	FROM all_reasons a
	JOIN correlate.risk_factor f ON f.name = a.factor AND f.enabled
	CROSS JOIN LATERAL (SELECT round(a.weight * f.weight / f.default_weight)::integer AS w,
							   CASE WHEN f.weight = f.default_weight THEN a.detail
									ELSE format('%s (factor weight %s, default %s)', a.detail,
												f.weight::float8, f.default_weight::float8) END AS detail) w
	WHERE a.weight > 0 AND w.w > 0;
END
$$;
COMMENT ON FUNCTION correlate._risk_reasons(timestamptz, interval) IS 'Internal: the risk reasons of every resource of the tenant, one row per (resource, factor).';

CREATE FUNCTION correlate.rescore(as_of timestamptz DEFAULT NULL, detection_window interval DEFAULT '7 days')
RETURNS TABLE (resources bigint, toxic_combinations bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	at timestamptz := COALESCE(as_of, now());
	n_res bigint;
	n_toxic bigint;
	n_changed bigint;
	keep_history boolean := correlate._risk_history_on();
BEGIN
	IF NOT isfinite(at) THEN
		RAISE EXCEPTION 'as_of must be a finite time'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('as_of is %s.', at);
	END IF;
	IF detection_window IS NULL OR detection_window < interval '0' THEN
		RAISE EXCEPTION 'detection_window must be a non-negative interval'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('detection_window is %s.', COALESCE(detection_window::text, 'NULL'));
	END IF;

	-- One rescoring of a tenant at a time; readers see the previous scores until commit.
	PERFORM correlate._work_lock(t, 'rescore');
	-- Scores walk the attack graph: bring it up to date with the facts first.
	PERFORM correlate.derive_attack_edges();

	-- One statement: the reasons are computed once, then scores and toxic combinations
	-- are replaced (upsert what holds, delete what no longer does).
	WITH reason AS MATERIALIZED (
		SELECT * FROM correlate._risk_reasons(at, detection_window)
	), toxic AS MATERIALIZED (
		-- Every factor of an enabled rule among the resource's reasons.
		SELECT tr.name AS rule, x.resource_id, tr.severity, tr.bonus, tr.description,
			   jsonb_agg(jsonb_build_object('factor', x.factor, 'weight', x.weight, 'detail', x.detail, 'evidence', x.evidence)
						 ORDER BY x.weight DESC, x.factor) AS reasons,
			   correlate._evidence_union(jsonb_agg(x.evidence)) AS evidence
		FROM correlate.toxic_rule tr
		JOIN reason x ON x.factor = ANY (tr.factors)
		JOIN correlate.resource r ON r.tenant = t AND r.id = x.resource_id
		WHERE tr.enabled AND (tr.domains IS NULL OR r.domain = ANY (tr.domains))
		GROUP BY tr.name, x.resource_id, tr.severity, tr.bonus, tr.description, tr.factors
		HAVING count(DISTINCT x.factor) = cardinality(tr.factors)
	), score AS MATERIALIZED (
		SELECT a.resource_id, correlate._combine_weights(array_agg(a.weight)) AS score,
			   jsonb_agg(jsonb_build_object('factor', a.factor, 'weight', a.weight, 'detail', a.detail, 'evidence', a.evidence)
						 ORDER BY a.weight DESC, a.factor, a.detail) AS reasons,
			   bit_or((1::smallint) << a.bit::integer) AS factors
		FROM (SELECT x.resource_id, x.factor, x.weight, x.detail, x.evidence, f.bit FROM reason x
			  JOIN correlate.risk_factor f ON f.name = x.factor
			  UNION ALL
			  -- the toxic_combination factor scales every rule's bonus alike
			  SELECT y.resource_id, 'toxic_combination', w.w,
					 CASE WHEN f.weight = f.default_weight THEN y.rule || ': ' || y.description
						  ELSE format('%s: %s (factor weight %s, default %s)', y.rule, y.description,
									  f.weight::float8, f.default_weight::float8) END,
					 y.evidence, f.bit
			  FROM toxic y JOIN correlate.risk_factor f ON f.name = 'toxic_combination' AND f.enabled
			  CROSS JOIN LATERAL (SELECT round(y.bonus * f.weight / f.default_weight)::integer AS w) w
			  WHERE w.w > 0) a
		GROUP BY a.resource_id
	), hist AS (
		-- What changed, compactly: the score and the set of factors (a bit each), only
		-- for resources whose score or factors differ from what is stored.
		INSERT INTO correlate.risk_history (tenant, resource_id, at, old_score, new_score, added, removed)
		SELECT t, c.resource_id, at, c.old_score, c.new_score, c.new_f & ~c.old_f, c.old_f & ~c.new_f
		FROM (SELECT COALESCE(x.resource_id, p.resource_id) AS resource_id, p.score AS old_score, x.score AS new_score,
					 COALESCE(x.factors, 0::smallint) AS new_f,
					 CASE WHEN p.reasons IS NULL THEN 0::smallint ELSE correlate._factor_bits(p.reasons) END AS old_f
			  FROM score x
			  FULL JOIN (SELECT s.resource_id, s.score, s.reasons FROM correlate.risk_score s WHERE s.tenant = t) p
				  ON p.resource_id = x.resource_id
			  WHERE keep_history
				AND (x.score IS DISTINCT FROM p.score
					 OR (x.reasons IS DISTINCT FROM p.reasons AND x.factors IS DISTINCT FROM correlate._factor_bits(p.reasons)))
			  OFFSET 0) c
		RETURNING 1
	), del_score AS (
		DELETE FROM correlate.risk_score s
		WHERE s.tenant = t AND NOT EXISTS (SELECT 1 FROM score x WHERE x.resource_id = s.resource_id)
		RETURNING 1
	), up_score AS (
		INSERT INTO correlate.risk_score AS s (tenant, resource_id, score, reasons, scored_at)
		SELECT t, x.resource_id, x.score, x.reasons, now() FROM score x
		ON CONFLICT (tenant, resource_id) DO UPDATE SET
			score = EXCLUDED.score, reasons = EXCLUDED.reasons, scored_at = EXCLUDED.scored_at
		-- a score that stays as it was is not rewritten: a scheduled rescore of a
		-- quiet estate then writes (and leaves for vacuum) almost nothing
		WHERE s.score IS DISTINCT FROM EXCLUDED.score OR s.reasons IS DISTINCT FROM EXCLUDED.reasons
		RETURNING 1
	), del_toxic AS (
		DELETE FROM correlate.toxic_combination c
		WHERE c.tenant = t AND NOT EXISTS (SELECT 1 FROM toxic y WHERE y.rule = c.rule AND y.resource_id = c.resource_id)
		RETURNING 1
	), up_toxic AS (
		INSERT INTO correlate.toxic_combination AS c (tenant, rule, resource_id, severity, reasons, evidence, first_seen, last_seen)
		SELECT t, y.rule, y.resource_id, y.severity, y.reasons, y.evidence, at, at FROM toxic y
		ON CONFLICT (tenant, rule, resource_id) DO UPDATE SET
			severity = EXCLUDED.severity, reasons = EXCLUDED.reasons, evidence = EXCLUDED.evidence,
			last_seen = EXCLUDED.last_seen
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM score), (SELECT count(*) FROM up_toxic), (SELECT count(*) FROM hist)
	INTO n_res, n_toxic, n_changed;

	-- Attack-path findings and the run itself (81_risk_history.sql).
	IF keep_history THEN
		PERFORM correlate._record_rescore(at, n_res, n_changed);
	END IF;

	RETURN QUERY SELECT n_res, n_toxic;
END
$$;
COMMENT ON FUNCTION correlate.rescore(timestamptz, interval)
	IS 'Recomputes the current tenant''s risk scores, reasons and toxic combinations (detections count within detection_window before as_of, default now()); returns how many resources were scored and how many toxic combinations matched.';

-- A resource of the current tenant named by id: its kind, or the error the read
-- functions raise for an id the tenant does not have.
CREATE FUNCTION correlate._require_resource(id bigint, hint text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	k text;
BEGIN
	SELECT r.kind INTO k FROM correlate.resource r WHERE r.tenant = t AND r.id = _require_resource.id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'resource % does not exist', _require_resource.id
			USING ERRCODE = 'undefined_object',
				  DETAIL = format('No resource with id %s in tenant "%s".', _require_resource.id, t),
				  HINT = hint;
	END IF;
	RETURN k;
END
$$;
COMMENT ON FUNCTION correlate._require_resource(bigint, text)
	IS 'Internal: the kind of the current tenant''s resource with this id; raises undefined_object (resource N does not exist, with the tenant in the detail and the given hint) when there is none.';

CREATE FUNCTION correlate.explain_risk(resource_id bigint)
RETURNS TABLE (factor text, weight integer, detail text, evidence text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	IF explain_risk.resource_id IS NULL THEN
		RAISE EXCEPTION 'resource_id must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM correlate._require_resource(explain_risk.resource_id, 'Look the id up with correlate.resource_id(uid).');
	RETURN QUERY
	SELECT x.r->>'factor', (x.r->>'weight')::integer, x.r->>'detail',
		   (SELECT string_agg(format('%s %s', e.key, (SELECT string_agg(v, ', ') FROM jsonb_array_elements_text(e.value) v)),
							  '; ' ORDER BY e.key)
			FROM jsonb_each(x.r->'evidence') e)
	FROM correlate.risk_score s, jsonb_array_elements(s.reasons) WITH ORDINALITY x(r, o)
	WHERE s.tenant = t AND s.resource_id = explain_risk.resource_id
	ORDER BY x.o;
END
$$;
COMMENT ON FUNCTION correlate.explain_risk(bigint)
	IS 'The reasons behind a resource''s risk score, heaviest first: factor, weight, a readable detail and the evidence ids (no rows when the resource has no risk factor or was not rescored).';

-- Scheduled rescoring with pg_cron.  The job's command is a fixed call with the
-- tenant as a quoted literal; it runs as the role that scheduled it, so it sees and
-- writes exactly what that role may.
CREATE FUNCTION correlate.run_scheduled_rescore(tenant text)
RETURNS TABLE (incidents bigint, resources bigint, toxic_combinations bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n_inc bigint;
	r record;
BEGIN
	IF run_scheduled_rescore.tenant IS NULL THEN
		RAISE EXCEPTION 'tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM set_config('correlate.tenant', run_scheduled_rescore.tenant, true);
	PERFORM correlate.current_tenant();		-- raises unless the role was granted the tenant
	SELECT count(*) INTO n_inc FROM correlate.correlate_new_events() c WHERE c.created;
	SELECT * INTO r FROM correlate.rescore();
	RETURN QUERY SELECT n_inc, r.resources, r.toxic_combinations;
END
$$;
COMMENT ON FUNCTION correlate.run_scheduled_rescore(text)
	IS 'What the pg_cron job of correlate.schedule_rescoring() runs: in the given tenant, correlate_new_events() (correlate() over what arrived since the last run) then rescore(); returns incidents created, resources scored and toxic combinations.';

-- The pg_cron jobs of the extension (rescoring here, the posture snapshot in
-- 81_risk_history.sql): one named job per kind, tenant and calling role, whose command
-- is a fixed call of run_scheduled_<kind> with the tenant as a quoted literal.
CREATE FUNCTION correlate._cron_schedule(job text, schedule text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	id bigint;
BEGIN
	IF job IS NULL OR job NOT IN ('rescore', 'posture') THEN
		RAISE EXCEPTION 'unknown job kind %', COALESCE(job, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The kinds are rescore and posture.';
	END IF;
	IF schedule IS NULL OR btrim(schedule) = '' THEN
		RAISE EXCEPTION 'schedule must not be empty'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a cron schedule such as ''*/15 * * * *''.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_extension x WHERE x.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = format('The %s job runs as a pg_cron job.', job),
				  HINT = format('Add pg_cron to shared_preload_libraries and run CREATE EXTENSION pg_cron in the database named by cron.database_name, or call correlate.run_scheduled_%s() from your own scheduler.', job);
	END IF;
	-- cron.schedule(name, ...) replaces the calling role's job of that name.
	EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO id
		USING format('correlate-%s/%s', job, t), schedule, format('SELECT * FROM correlate.run_scheduled_%s(%L)', job, t);
	RETURN id;
END
$$;
COMMENT ON FUNCTION correlate._cron_schedule(text, text)
	IS 'Internal: schedules (or replaces) the calling role''s pg_cron job correlate-<job>/<tenant> (job rescore or posture) running run_scheduled_<job>(tenant); errors when the schedule is empty or pg_cron is not installed.';

CREATE FUNCTION correlate._cron_unschedule(job text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	jobname text := format('correlate-%s/%s', job, (SELECT correlate.current_tenant()));
	found_job boolean;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension x WHERE x.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'Nothing can be scheduled without pg_cron.';
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT 1 FROM cron.job j WHERE j.jobname = $1 AND j.username = current_user)'
		INTO found_job USING jobname;
	IF found_job THEN
		EXECUTE 'SELECT cron.unschedule($1)' USING jobname;
	END IF;
	RETURN found_job;
END
$$;
COMMENT ON FUNCTION correlate._cron_unschedule(text)
	IS 'Internal: removes the calling role''s pg_cron job correlate-<job>/<tenant>; false when there was none.';

CREATE FUNCTION correlate.schedule_rescoring(schedule text DEFAULT '*/15 * * * *')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN correlate._cron_schedule('rescore', schedule);
END
$$;
COMMENT ON FUNCTION correlate.schedule_rescoring(text)
	IS 'Schedules correlate() and rescore() for the current tenant as a pg_cron job named correlate-rescore/<tenant>, run as the calling role; returns the job id. Errors when pg_cron is not installed.';

CREATE FUNCTION correlate.unschedule_rescoring()
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN correlate._cron_unschedule('rescore');
END
$$;
COMMENT ON FUNCTION correlate.unschedule_rescoring()
	IS 'Removes the calling role''s rescoring job of the current tenant; false when there was none.';

SELECT pg_catalog.pg_extension_config_dump('correlate.toxic_rule', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('correlate.risk_score', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.toxic_combination', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.toxic_combination', 'id')::regclass, '');

GRANT SELECT ON correlate.risk_factor, correlate.toxic_rule, correlate.risk_score, correlate.toxic_combination TO correlate_reader;
GRANT UPDATE (weight, enabled) ON correlate.risk_factor TO correlate_admin;
GRANT INSERT, UPDATE, DELETE ON correlate.risk_score, correlate.toxic_combination TO correlate_writer;
GRANT INSERT, UPDATE, DELETE ON correlate.toxic_rule TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate.risk_privilege_checks(), correlate.explain_risk(bigint),
	correlate._evidence(bigint[], bigint[], bigint[], bigint[], bigint[]),
	correlate._evidence_union(jsonb), correlate._combine_weights(integer[]),
	correlate._legitimate_actions(bigint, timestamptz), correlate._risk_reasons(timestamptz, interval),
	correlate._require_resource(bigint, text), correlate._attack_evidence(bigint[])
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.rescore(timestamptz, interval), correlate.run_scheduled_rescore(text),
	correlate.schedule_rescoring(text), correlate.unschedule_rescoring(),
	correlate._cron_schedule(text, text), correlate._cron_unschedule(text)
	TO correlate_writer;

-- ==== src/sql/81_risk_history.sql ====
-- 81_risk_history.sql: what changed, over time.  rescore() (80_risk.sql) records
--
--   correlate.risk_history         one compact row per resource whose score or set of
--                                  factors changed (old and new score, factors added
--                                  and removed as bit sets over correlate.risk_factor);
--   correlate.attack_path_finding  each distinct attack path to a crown jewel (its hops,
--                                  entry to jewel) with first seen / last seen / closed
--                                  and the change that opened or closed it;
--   correlate.risk_run             one row per rescored time (as_of), for the posture
--                                  series and to tell new attack edges from old ones.
--
-- A daily posture snapshot (correlate.posture_snapshot) counts critical and high
-- resources, open attack paths and toxic combinations.  Every time is the rescore's
-- as_of, so a rescore or snapshot run twice for the same time records nothing twice.
-- correlate.risk_history_days bounds what is kept (prune_risk_history(), run by the
-- daily posture job); correlate.risk_history = off turns the recording off.

CREATE FUNCTION correlate._risk_history_on() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT COALESCE(NULLIF(current_setting('correlate.risk_history', true), ''), 'on')::boolean $$;
COMMENT ON FUNCTION correlate._risk_history_on() IS 'Internal: whether rescore() records history (the correlate.risk_history setting).';

-- Factor sets as bits of correlate.risk_factor.bit.
CREATE FUNCTION correlate._factor_bits(reasons jsonb) RETURNS smallint
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(bit_or((1::smallint) << f.bit::integer), 0::smallint)
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(reasons) = 'array' THEN reasons ELSE '[]' END) r
	JOIN correlate.risk_factor f ON f.name = r.value->>'factor'
$$;
COMMENT ON FUNCTION correlate._factor_bits(jsonb) IS 'Internal: the set of factors of a reasons array, as bits of correlate.risk_factor.bit.';

CREATE FUNCTION correlate._factor_names(bits smallint) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(array_agg(f.name ORDER BY f.bit), '{}')
	FROM correlate.risk_factor f WHERE bits & ((1::smallint) << f.bit::integer) <> 0
$$;
COMMENT ON FUNCTION correlate._factor_names(smallint) IS 'Internal: the factor names of a bit set of correlate.risk_factor.bit.';

-- Compact on purpose (about 60 bytes a row and 25 of index): no surrogate key, no
-- reasons text, the factor sets as two smallints.  No foreign key either: the
-- history of a deleted resource stays until retention removes it.
CREATE TABLE correlate.risk_history (
	tenant      text NOT NULL DEFAULT correlate.current_tenant(),
	resource_id bigint NOT NULL,
	at          timestamptz NOT NULL,
	old_score   smallint CHECK (old_score BETWEEN 0 AND 100),
	new_score   smallint CHECK (new_score BETWEEN 0 AND 100),
	added       smallint NOT NULL DEFAULT 0,
	removed     smallint NOT NULL DEFAULT 0
);
CREATE INDEX risk_history_resource_idx ON correlate.risk_history (resource_id);
CREATE INDEX risk_history_at_idx ON correlate.risk_history USING brin (at);
COMMENT ON TABLE correlate.risk_history IS 'Every change rescore() made to a score or to the set of factors behind it (only changes are kept).';
COMMENT ON COLUMN correlate.risk_history.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.risk_history.resource_id IS 'The resource (no foreign key: history outlives the resource until retention).';
COMMENT ON COLUMN correlate.risk_history.at IS 'The rescore''s as_of.';
COMMENT ON COLUMN correlate.risk_history.old_score IS 'Score before (NULL: the resource had no score).';
COMMENT ON COLUMN correlate.risk_history.new_score IS 'Score after (NULL: the resource no longer has any risk factor).';
COMMENT ON COLUMN correlate.risk_history.added IS 'Factors that appeared, as bits of correlate.risk_factor.bit (correlate._factor_names() reads them).';
COMMENT ON COLUMN correlate.risk_history.removed IS 'Factors that went away, as bits of correlate.risk_factor.bit.';

CREATE TABLE correlate.risk_run (
	tenant    text NOT NULL DEFAULT correlate.current_tenant(),
	at        timestamptz NOT NULL,
	ran_at    timestamptz NOT NULL DEFAULT now(),
	scored    bigint NOT NULL CHECK (scored >= 0),
	changed   bigint NOT NULL CHECK (changed >= 0),
	last_edge bigint,
	PRIMARY KEY (tenant, at)
);
COMMENT ON TABLE correlate.risk_run IS 'One row per rescored time: how many resources were scored and how many scores changed.';
COMMENT ON COLUMN correlate.risk_run.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.risk_run.at IS 'The rescore''s as_of (a second rescore for the same time adds to this row).';
COMMENT ON COLUMN correlate.risk_run.ran_at IS 'When the (latest) rescore for this time ran.';
COMMENT ON COLUMN correlate.risk_run.scored IS 'Resources scored.';
COMMENT ON COLUMN correlate.risk_run.changed IS 'History rows written (scores or factor sets that changed).';
COMMENT ON COLUMN correlate.risk_run.last_edge IS 'Highest attack edge id at the run: later edges are new to the next run.';

CREATE TABLE correlate.attack_path_finding (
	tenant     text NOT NULL DEFAULT correlate.current_tenant(),
	id         bigint GENERATED ALWAYS AS IDENTITY,
	hops       bigint[] NOT NULL CHECK (cardinality(hops) >= 2),
	names      text[] NOT NULL,
	steps      jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
	likelihood float8 NOT NULL,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	closed_at  timestamptz,
	opened_by  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(opened_by) = 'array'),
	closed_by  jsonb CHECK (jsonb_typeof(closed_by) = 'array'),
	PRIMARY KEY (tenant, id),
	CHECK (first_seen <= last_seen)
);
CREATE UNIQUE INDEX attack_path_finding_open_idx ON correlate.attack_path_finding (tenant, hops) WHERE closed_at IS NULL;
COMMENT ON TABLE correlate.attack_path_finding IS 'Attack paths to crown jewels over time: a path (identified by its hops) found by a rescore stays open while every hop still has an attack edge.';
COMMENT ON COLUMN correlate.attack_path_finding.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.attack_path_finding.id IS 'Surrogate id (a path that closes and comes back is a new finding).';
COMMENT ON COLUMN correlate.attack_path_finding.hops IS 'Resource ids from the entry (the internet) to the crown jewel.';
COMMENT ON COLUMN correlate.attack_path_finding.names IS 'The resources'' names when last seen.';
COMMENT ON COLUMN correlate.attack_path_finding.steps IS 'Per hop {edge, technique, src, dst, facts}: the attack edge and the facts (findings, relationships, statements) it rested on.';
COMMENT ON COLUMN correlate.attack_path_finding.likelihood IS 'Path likelihood when last among the most likely paths.';
COMMENT ON COLUMN correlate.attack_path_finding.first_seen IS 'The rescore (as_of) that first found it.';
COMMENT ON COLUMN correlate.attack_path_finding.last_seen IS 'The latest rescore at which every hop still held.';
COMMENT ON COLUMN correlate.attack_path_finding.closed_at IS 'The rescore at which a hop no longer held (NULL while open).';
COMMENT ON COLUMN correlate.attack_path_finding.opened_by IS 'Why it appeared: [{kind, detail}], kind new_edge, first_rescore or ranked.';
COMMENT ON COLUMN correlate.attack_path_finding.closed_by IS 'Why it closed: [{kind, detail, hop}], kind fixed_vulnerability, fixed_misconfiguration, fixed_finding, removed_permission, removed_relationship, removed_resource or edge_removed.';

CREATE TABLE correlate.posture_snapshot (
	tenant             text NOT NULL DEFAULT correlate.current_tenant(),
	day                date NOT NULL,
	taken_at           timestamptz NOT NULL,
	scored             integer NOT NULL CHECK (scored >= 0),
	critical           integer NOT NULL CHECK (critical >= 0),
	high               integer NOT NULL CHECK (high >= 0),
	attack_paths       integer NOT NULL CHECK (attack_paths >= 0),
	toxic_combinations integer NOT NULL CHECK (toxic_combinations >= 0),
	PRIMARY KEY (tenant, day)
);
COMMENT ON TABLE correlate.posture_snapshot IS 'The tenant''s posture once a day: counts of scored, critical (>= 80) and high (60-79) resources, open attack paths to crown jewels and toxic combinations.';
COMMENT ON COLUMN correlate.posture_snapshot.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.posture_snapshot.day IS 'The day (UTC) of taken_at; a second snapshot that day replaces the first.';
COMMENT ON COLUMN correlate.posture_snapshot.taken_at IS 'The snapshot''s as_of.';
COMMENT ON COLUMN correlate.posture_snapshot.scored IS 'Resources with a score.';
COMMENT ON COLUMN correlate.posture_snapshot.critical IS 'Resources scoring 80 or more.';
COMMENT ON COLUMN correlate.posture_snapshot.high IS 'Resources scoring 60 to 79.';
COMMENT ON COLUMN correlate.posture_snapshot.attack_paths IS 'Open attack-path findings to crown jewels.';
COMMENT ON COLUMN correlate.posture_snapshot.toxic_combinations IS 'Toxic combinations matched by the latest rescore.';

SELECT correlate._isolate_tenants('correlate.risk_history', 'correlate.risk_run', 'correlate.attack_path_finding',
								  'correlate.posture_snapshot');

-- Why a path appeared: the hops whose attack edge is newer than the previous run.
CREATE FUNCTION correlate._path_opened_by(steps jsonb, names text[], prev_edge bigint, first_run boolean)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN first_run THEN jsonb_build_array(jsonb_build_object('kind', 'first_rescore',
											  'detail', 'found by the first recorded rescore'))
		ELSE COALESCE(
			(SELECT jsonb_agg(jsonb_build_object('kind', 'new_edge', 'hop', s.o,
					'detail', format('new edge %s -> %s (%s)%s', names[s.o], names[s.o + 1], s.step->>'technique',
									 COALESCE(' resting on ' || (
										SELECT string_agg(DISTINCT f.check_id || ' on ' || COALESCE(r.name, r.uid), ', ')
										FROM jsonb_array_elements_text(s.step->'facts'->'findings') x
										JOIN correlate.finding f ON f.tenant = correlate.current_tenant() AND f.id = x::bigint
										JOIN correlate.resource r ON r.tenant = f.tenant AND r.id = f.resource), '')))
					ORDER BY s.o)
			 FROM jsonb_array_elements(steps) WITH ORDINALITY s(step, o)
			 WHERE (s.step->>'edge')::bigint > COALESCE(prev_edge, 0)),
			jsonb_build_array(jsonb_build_object('kind', 'ranked',
							  'detail', 'no new edge: the path now ranks among the most likely')))
	END
$$;
COMMENT ON FUNCTION correlate._path_opened_by(jsonb, text[], bigint, boolean)
	IS 'Internal: why an attack path appeared: its hops whose attack edge is newer than the previous rescore (new_edge), first_rescore, or ranked.';

-- Why a path closed: for each hop without an attack edge now, which of the facts the
-- edge rested on went away.
CREATE FUNCTION correlate._path_closed_by(steps jsonb, names text[]) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH broken AS (
		SELECT s.o, s.step, (s.step->>'src')::bigint AS src, (s.step->>'dst')::bigint AS dst
		FROM jsonb_array_elements(steps) WITH ORDINALITY s(step, o)
		WHERE NOT EXISTS (SELECT 1 FROM correlate.attack_edge a
						  WHERE a.tenant = correlate.current_tenant()
							AND a.src = (s.step->>'src')::bigint AND a.dst = (s.step->>'dst')::bigint)
	), hop_of AS (
		SELECT b.o, format('%s -> %s', names[b.o], names[b.o + 1]) AS hop, b.step, b.src, b.dst FROM broken b
	), causes AS (
		SELECT h.o, 1 AS rank, CASE f.kind WHEN 'vulnerability' THEN 'fixed_vulnerability'
										   WHEN 'misconfiguration' THEN 'fixed_misconfiguration'
										   ELSE 'fixed_finding' END AS kind,
			   format('%s on %s %s (hop %s)', f.check_id, COALESCE(r.name, r.uid), f.status, h.hop) AS detail
		FROM hop_of h
		CROSS JOIN LATERAL jsonb_array_elements_text(COALESCE(h.step->'facts'->'findings', '[]')) x
		JOIN correlate.finding f ON f.tenant = correlate.current_tenant() AND f.id = x::bigint AND f.status <> 'open'
		JOIN correlate.resource r ON r.tenant = f.tenant AND r.id = f.resource
		UNION ALL
		SELECT h.o, 2, 'fixed_finding', format('finding %s deleted (hop %s)', x, h.hop)
		FROM hop_of h
		CROSS JOIN LATERAL jsonb_array_elements_text(COALESCE(h.step->'facts'->'findings', '[]')) x
		WHERE NOT EXISTS (SELECT 1 FROM correlate.finding f WHERE f.tenant = correlate.current_tenant() AND f.id = x::bigint)
		UNION ALL
		SELECT h.o, 3, 'removed_permission', format('policy statement %s removed (hop %s)', x, h.hop)
		FROM hop_of h
		CROSS JOIN LATERAL jsonb_array_elements_text(COALESCE(h.step->'facts'->'statements', '[]')) x
		WHERE NOT EXISTS (SELECT 1 FROM correlate.iam_statement s WHERE s.tenant = correlate.current_tenant() AND s.id = x::bigint)
		UNION ALL
		SELECT h.o, 4, 'removed_relationship', format('relationship %s removed (hop %s)', x, h.hop)
		FROM hop_of h
		CROSS JOIN LATERAL jsonb_array_elements_text(COALESCE(h.step->'facts'->'relationships', '[]')) x
		WHERE NOT EXISTS (SELECT 1 FROM correlate.relationship l WHERE l.tenant = correlate.current_tenant() AND l.id = x::bigint)
		UNION ALL
		SELECT h.o, 5, 'removed_resource', format('resource %s removed (hop %s)', v.id, h.hop)
		FROM hop_of h CROSS JOIN LATERAL (VALUES (h.src), (h.dst)) v(id)
		WHERE NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = correlate.current_tenant() AND r.id = v.id)
	)
	SELECT COALESCE(jsonb_agg(jsonb_build_object('kind', x.kind, 'hop', x.o, 'detail', x.detail)
							  ORDER BY x.o, x.rank, x.detail), '[]')
	FROM (SELECT c.o, c.rank, c.kind, c.detail FROM causes c
		  UNION ALL
		  SELECT h.o, 6, 'edge_removed',
				 format('%s (%s) no longer derives', h.hop, h.step->>'technique')
		  FROM hop_of h WHERE NOT EXISTS (SELECT 1 FROM causes c WHERE c.o = h.o)) x
$$;
COMMENT ON FUNCTION correlate._path_closed_by(jsonb, text[])
	IS 'Internal: why an attack path closed: per hop that lost its attack edge, the facts it rested on that were fixed or removed (edge_removed when none was).';

-- The end of a recorded rescore: its run row and the attack-path findings.
CREATE FUNCTION correlate._record_rescore(run_at timestamptz, n_scored bigint, n_changed bigint) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	k integer := COALESCE(NULLIF(current_setting('correlate.risk_path_findings', true), '')::integer, 10);
	on_attack boolean := COALESCE(NULLIF(current_setting('correlate.graph_layer', true), ''), 'attack') = 'attack';
	prev_edge bigint;
	first_run boolean;
BEGIN
	SELECT r.last_edge INTO prev_edge FROM correlate.risk_run r
	WHERE r.tenant = t AND r.at < run_at ORDER BY r.at DESC LIMIT 1;
	first_run := NOT FOUND;

	INSERT INTO correlate.risk_run AS r (tenant, at, ran_at, scored, changed, last_edge)
	VALUES (t, run_at, now(), n_scored, n_changed, (SELECT max(a.id) FROM correlate.attack_edge a WHERE a.tenant = t))
	ON CONFLICT (tenant, at) DO UPDATE SET ran_at = EXCLUDED.ran_at, scored = EXCLUDED.scored,
		changed = r.changed + EXCLUDED.changed, last_edge = EXCLUDED.last_edge;

	-- Paths are attack-graph paths; on the facts layer there are none to track.
	IF NOT on_attack OR k = 0 THEN
		RETURN;
	END IF;

	WITH cur AS MATERIALIZED (
		SELECT array_agg(p.resource_id ORDER BY p.hop) AS hops,
			   array_agg(p.relationship_id ORDER BY p.hop) FILTER (WHERE p.hop > 0) AS edges,
			   max(p.path_likelihood) AS likelihood
		FROM correlate.attack_paths(NULL, NULL, k) p
		GROUP BY p.path_rank
	), cur_steps AS MATERIALIZED (
		SELECT c.hops, c.likelihood,
			   ARRAY(SELECT COALESCE(r.name, r.uid) FROM unnest(c.hops) WITH ORDINALITY h(id, o)
					 JOIN correlate.resource r ON r.tenant = t AND r.id = h.id ORDER BY h.o) AS names,
			   (SELECT jsonb_agg(jsonb_build_object('edge', a.id, 'technique', a.technique, 'src', a.src, 'dst', a.dst,
													'facts', correlate._attack_evidence(ARRAY[a.id])) ORDER BY e.o)
				FROM unnest(c.edges) WITH ORDINALITY e(id, o)
				JOIN correlate.attack_edge a ON a.tenant = t AND a.id = e.id) AS steps
		FROM cur c
	), open_old AS MATERIALIZED (
		SELECT f.id, f.hops,
			   NOT EXISTS (SELECT 1 FROM generate_subscripts(f.hops, 1) i
						   WHERE i < cardinality(f.hops)
							 AND NOT EXISTS (SELECT 1 FROM correlate.attack_edge a
											 WHERE a.tenant = t AND a.src = f.hops[i] AND a.dst = f.hops[i + 1])) AS holds
		FROM correlate.attack_path_finding f
		WHERE f.tenant = t AND f.closed_at IS NULL
	), upd AS (
		UPDATE correlate.attack_path_finding f SET
			last_seen = CASE WHEN o.holds THEN GREATEST(f.last_seen, run_at) ELSE f.last_seen END,
			closed_at = CASE WHEN o.holds THEN NULL ELSE GREATEST(f.last_seen, run_at) END,
			closed_by = CASE WHEN o.holds THEN NULL ELSE correlate._path_closed_by(f.steps, f.names) END,
			steps = COALESCE(c.steps, f.steps), names = COALESCE(c.names, f.names),
			likelihood = COALESCE(c.likelihood, f.likelihood)
		FROM open_old o LEFT JOIN cur_steps c ON c.hops = o.hops
		WHERE f.tenant = t AND f.id = o.id
		RETURNING 1
	)
	INSERT INTO correlate.attack_path_finding (tenant, hops, names, steps, likelihood, first_seen, last_seen, opened_by)
	SELECT t, c.hops, c.names, c.steps, c.likelihood, run_at, run_at,
		   correlate._path_opened_by(c.steps, c.names, prev_edge, first_run)
	FROM cur_steps c
	WHERE c.steps IS NOT NULL AND NOT EXISTS (SELECT 1 FROM open_old o WHERE o.hops = c.hops);
END
$$;
COMMENT ON FUNCTION correlate._record_rescore(timestamptz, bigint, bigint)
	IS 'Internal (called by rescore()): records the run, opens a finding for each of the correlate.risk_path_findings most likely attack paths to crown jewels not already open, keeps open paths whose hops all hold and closes the others with their cause.';

-- Shared argument checks of the history readers.
CREATE FUNCTION correlate._check_range(since timestamptz, until timestamptz) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF since IS NULL OR NOT isfinite(since) THEN
		RAISE EXCEPTION 'since must be a finite time'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('since is %s.', COALESCE(since::text, 'NULL'));
	END IF;
	IF until IS NOT NULL AND until < since THEN
		RAISE EXCEPTION 'until must not be before since'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('since is %s, until is %s.', since, until);
	END IF;
END
$$;
COMMENT ON FUNCTION correlate._check_range(timestamptz, timestamptz)
	IS 'Internal: raises invalid_parameter_value unless since is a finite time and until (NULL: no end) is not before it.';

CREATE FUNCTION correlate.risk_trend(resource_id bigint, since timestamptz, until timestamptz DEFAULT NULL)
RETURNS TABLE (at timestamptz, score smallint, previous smallint, added text[], removed text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	start smallint;
BEGIN
	IF risk_trend.resource_id IS NULL THEN
		RAISE EXCEPTION 'resource_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM correlate._check_range(since, until);
	PERFORM correlate._require_resource(risk_trend.resource_id, 'Look the id up with correlate.resource_id(uid).');
	-- The score in force at since: the last change at or before it, else what the first
	-- change after it started from, else (no change recorded since then) today's.
	SELECT COALESCE(h.new_score, 0) INTO start FROM correlate.risk_history h
	WHERE h.tenant = t AND h.resource_id = risk_trend.resource_id AND h.at <= since
	ORDER BY h.at DESC, h.ctid DESC LIMIT 1;
	IF NOT FOUND THEN
		SELECT COALESCE(h.old_score, 0) INTO start FROM correlate.risk_history h
		WHERE h.tenant = t AND h.resource_id = risk_trend.resource_id AND h.at > since
		ORDER BY h.at, h.ctid LIMIT 1;
		IF NOT FOUND THEN
			start := COALESCE((SELECT s.score FROM correlate.risk_score s
							   WHERE s.tenant = t AND s.resource_id = risk_trend.resource_id), 0);
		END IF;
	END IF;
	RETURN QUERY
	SELECT since, start, NULL::smallint, NULL::text[], NULL::text[]
	UNION ALL
	SELECT x.at, x.score, x.previous, x.added, x.removed FROM (
		SELECT h.at, COALESCE(h.new_score, 0::smallint) AS score, COALESCE(h.old_score, 0::smallint) AS previous,
			   correlate._factor_names(h.added) AS added, correlate._factor_names(h.removed) AS removed
		FROM correlate.risk_history h
		WHERE h.tenant = t AND h.resource_id = risk_trend.resource_id AND h.at > since AND (until IS NULL OR h.at <= until)
		ORDER BY h.at, h.ctid) x;
END
$$;
COMMENT ON FUNCTION correlate.risk_trend(bigint, timestamptz, timestamptz)
	IS 'A resource''s score over time: a first row with the score in force at since, then one row per recorded change in (since, until] with the previous score and the factors added and removed (0 stands for no score).';

CREATE FUNCTION correlate.posture_snapshot(as_of timestamptz DEFAULT NULL)
RETURNS correlate.posture_snapshot
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	at timestamptz := COALESCE(as_of, now());
	r correlate.posture_snapshot;
BEGIN
	IF NOT isfinite(at) THEN
		RAISE EXCEPTION 'as_of must be a finite time'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('as_of is %s.', at);
	END IF;
	INSERT INTO correlate.posture_snapshot AS p (tenant, day, taken_at, scored, critical, high, attack_paths, toxic_combinations)
	SELECT t, (at AT TIME ZONE 'UTC')::date, at, s.scored, s.critical, s.high,
		   (SELECT count(*) FROM correlate.attack_path_finding f
			WHERE f.tenant = t AND f.first_seen <= at AND (f.closed_at IS NULL OR f.closed_at > at)),
		   (SELECT count(*) FROM correlate.toxic_combination c WHERE c.tenant = t)
	FROM (SELECT count(*) AS scored, count(*) FILTER (WHERE x.score >= 80) AS critical,
				 count(*) FILTER (WHERE x.score >= 60 AND x.score < 80) AS high
		  FROM correlate.risk_score x WHERE x.tenant = t) s
	ON CONFLICT (tenant, day) DO UPDATE SET taken_at = EXCLUDED.taken_at, scored = EXCLUDED.scored,
		critical = EXCLUDED.critical, high = EXCLUDED.high, attack_paths = EXCLUDED.attack_paths,
		toxic_combinations = EXCLUDED.toxic_combinations
	RETURNING p.* INTO r;
	RETURN r;
END
$$;
COMMENT ON FUNCTION correlate.posture_snapshot(timestamptz)
	IS 'Records (or replaces) the current tenant''s posture for the UTC day of as_of (default now()) from the latest rescore: resources scored, critical (>= 80), high (60-79), attack paths open at as_of, toxic combinations; returns the row.';

CREATE FUNCTION correlate.posture_series(since date, until date DEFAULT NULL)
RETURNS TABLE (day date, scored integer, critical integer, high integer, attack_paths integer, toxic_combinations integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	IF since IS NULL OR NOT isfinite(since) OR (until IS NOT NULL AND (NOT isfinite(until) OR until < since)) THEN
		RAISE EXCEPTION 'since must be a finite day and until (if given) a finite day not before it'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('since is %s, until is %s.', COALESCE(since::text, 'NULL'), COALESCE(until::text, 'NULL'));
	END IF;
	RETURN QUERY
	SELECT p.day, p.scored, p.critical, p.high, p.attack_paths, p.toxic_combinations
	FROM correlate.posture_snapshot p
	WHERE p.tenant = t AND p.day >= since AND (until IS NULL OR p.day <= until)
	ORDER BY p.day;
END
$$;
COMMENT ON FUNCTION correlate.posture_series(date, date)
	IS 'The current tenant''s daily posture snapshots from since to until (inclusive; NULL: to the latest), one row per day a snapshot was taken.';

CREATE FUNCTION correlate.path_changes(since timestamptz, until timestamptz DEFAULT NULL)
RETURNS TABLE (at timestamptz, change text, path_id bigint, path text, likelihood float8, cause text, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	PERFORM correlate._check_range(since, until);
	RETURN QUERY
	SELECT x.at, x.change, x.id, array_to_string(x.names, ' -> '), x.likelihood, x.by->0->>'kind',
		   (SELECT string_agg(c->>'detail', '; ' ORDER BY o) FROM jsonb_array_elements(x.by) WITH ORDINALITY c(c, o))
	FROM (SELECT f.first_seen AS at, 'new'::text AS change, f.id, f.names, f.likelihood, f.opened_by AS by
		  FROM correlate.attack_path_finding f
		  WHERE f.tenant = t AND f.first_seen > since AND (until IS NULL OR f.first_seen <= until)
		  UNION ALL
		  SELECT f.closed_at, 'closed', f.id, f.names, f.likelihood, f.closed_by
		  FROM correlate.attack_path_finding f
		  WHERE f.tenant = t AND f.closed_at > since AND (until IS NULL OR f.closed_at <= until)) x
	ORDER BY x.at, x.change DESC, x.likelihood DESC, x.id;
END
$$;
COMMENT ON FUNCTION correlate.path_changes(timestamptz, timestamptz)
	IS 'Attack paths to crown jewels that appeared (new) or closed in (since, until], with the kind of the first cause (new_edge, first_rescore, ranked; fixed_vulnerability, fixed_misconfiguration, fixed_finding, removed_permission, removed_relationship, removed_resource, edge_removed) and every cause''s detail.';

CREATE FUNCTION correlate.changes_since(since timestamptz, until timestamptz DEFAULT NULL)
RETURNS TABLE (at timestamptz, change text, resource_id bigint, subject text, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	PERFORM correlate._check_range(since, until);
	RETURN QUERY
	SELECT x.at, x.change, x.resource_id, x.subject, x.detail FROM (
		-- resources that became critical (score crossed 80)
		SELECT h.at, 'new_critical'::text AS change, h.resource_id, COALESCE(r.name, r.uid, h.resource_id::text) AS subject,
			   format('score %s -> %s%s', COALESCE(h.old_score, 0), h.new_score,
					  COALESCE('; added ' || NULLIF(array_to_string(correlate._factor_names(h.added), ', '), ''), '')) AS detail
		FROM correlate.risk_history h
		LEFT JOIN correlate.resource r ON r.tenant = t AND r.id = h.resource_id
		WHERE h.tenant = t AND h.at > since AND (until IS NULL OR h.at <= until)
		  AND h.new_score >= 80 AND COALESCE(h.old_score, 0) < 80
		UNION ALL
		SELECT c.first_seen, 'new_toxic_combination', c.resource_id, COALESCE(r.name, r.uid),
			   format('%s (%s)', c.rule, c.severity)
		FROM correlate.toxic_combination c
		JOIN correlate.resource r ON r.tenant = t AND r.id = c.resource_id
		WHERE c.tenant = t AND c.first_seen > since AND (until IS NULL OR c.first_seen <= until)
		UNION ALL
		SELECT p.at, p.change || '_path', NULL::bigint, p.path,
			   format('%s: %s', p.cause, p.detail)
		FROM correlate.path_changes(since, until) p
		UNION ALL
		SELECT i.created_at, 'new_incident', NULL::bigint, i.title, format('incident %s, %s, rule %s', i.id, i.severity, i.rule)
		FROM correlate.incident i
		WHERE i.tenant = t AND i.created_at > since AND (until IS NULL OR i.created_at <= until)) x
	ORDER BY x.at, x.change, x.subject, x.detail;
END
$$;
COMMENT ON FUNCTION correlate.changes_since(timestamptz, timestamptz)
	IS 'What changed in (since, until] in one list a daily report can show: new_critical (a score crossed 80), new_toxic_combination, new_path and closed_path (with cause), new_incident; times are rescore as_of times (incidents: when created).';

CREATE FUNCTION correlate.prune_risk_history(as_of timestamptz DEFAULT NULL)
RETURNS TABLE (history bigint, paths bigint, snapshots bigint, runs bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	at timestamptz := COALESCE(as_of, now());
	cutoff timestamptz;
	n_h bigint; n_p bigint; n_s bigint; n_r bigint;
BEGIN
	IF NOT isfinite(at) THEN
		RAISE EXCEPTION 'as_of must be a finite time'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('as_of is %s.', at);
	END IF;
	cutoff := at - make_interval(days => COALESCE(NULLIF(current_setting('correlate.risk_history_days', true), '')::integer, 400));
	DELETE FROM correlate.risk_history h WHERE h.tenant = t AND h.at < cutoff;
	GET DIAGNOSTICS n_h = ROW_COUNT;
	DELETE FROM correlate.attack_path_finding f WHERE f.tenant = t AND f.closed_at < cutoff;
	GET DIAGNOSTICS n_p = ROW_COUNT;
	DELETE FROM correlate.posture_snapshot p WHERE p.tenant = t AND p.taken_at < cutoff;
	GET DIAGNOSTICS n_s = ROW_COUNT;
	-- the latest run stays: the next rescore tells new edges from old by it
	DELETE FROM correlate.risk_run r WHERE r.tenant = t AND r.at < cutoff
	  AND r.at < (SELECT max(x.at) FROM correlate.risk_run x WHERE x.tenant = t);
	GET DIAGNOSTICS n_r = ROW_COUNT;
	RETURN QUERY SELECT n_h, n_p, n_s, n_r;
END
$$;
COMMENT ON FUNCTION correlate.prune_risk_history(timestamptz)
	IS 'Deletes the current tenant''s score history, closed attack-path findings, posture snapshots and runs older than correlate.risk_history_days before as_of (default now()); returns how many of each.';

-- pg_cron: the daily posture snapshot (the rescore job of 80_risk.sql records history
-- by itself).
CREATE FUNCTION correlate.run_scheduled_posture(tenant text, as_of timestamptz DEFAULT NULL)
RETURNS TABLE (day date, critical integer, high integer, attack_paths integer, toxic_combinations integer, pruned bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p correlate.posture_snapshot;
	n bigint;
BEGIN
	IF run_scheduled_posture.tenant IS NULL THEN
		RAISE EXCEPTION 'tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM set_config('correlate.tenant', run_scheduled_posture.tenant, true);
	PERFORM correlate.current_tenant();		-- raises unless the role was granted the tenant
	p := correlate.posture_snapshot(as_of);
	SELECT x.history + x.paths + x.snapshots + x.runs INTO n FROM correlate.prune_risk_history(as_of) x;
	RETURN QUERY SELECT p.day, p.critical, p.high, p.attack_paths, p.toxic_combinations, n;
END
$$;
COMMENT ON FUNCTION correlate.run_scheduled_posture(text, timestamptz)
	IS 'What the pg_cron job of correlate.schedule_posture_snapshot() runs: in the given tenant, posture_snapshot(as_of) then prune_risk_history(as_of); returns the day''s counts and how many old rows were pruned.';

CREATE FUNCTION correlate.schedule_posture_snapshot(schedule text DEFAULT '55 23 * * *')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN correlate._cron_schedule('posture', schedule);
END
$$;
COMMENT ON FUNCTION correlate.schedule_posture_snapshot(text)
	IS 'Schedules the daily posture snapshot (and history pruning) of the current tenant as a pg_cron job named correlate-posture/<tenant>, run as the calling role; returns the job id. Errors when pg_cron is not installed.';

CREATE FUNCTION correlate.unschedule_posture_snapshot()
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN correlate._cron_unschedule('posture');
END
$$;
COMMENT ON FUNCTION correlate.unschedule_posture_snapshot()
	IS 'Removes the calling role''s posture snapshot job of the current tenant; false when there was none.';

SELECT pg_catalog.pg_extension_config_dump('correlate.risk_history', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.risk_run', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.attack_path_finding', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.attack_path_finding', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('correlate.posture_snapshot', '');

GRANT SELECT ON correlate.risk_history, correlate.risk_run, correlate.attack_path_finding, correlate.posture_snapshot
	TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.risk_history, correlate.risk_run, correlate.attack_path_finding,
	correlate.posture_snapshot TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate._risk_history_on(), correlate._factor_bits(jsonb), correlate._factor_names(smallint),
	correlate._check_range(timestamptz, timestamptz), correlate.risk_trend(bigint, timestamptz, timestamptz),
	correlate.posture_series(date, date), correlate.path_changes(timestamptz, timestamptz),
	correlate.changes_since(timestamptz, timestamptz)
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate._path_opened_by(jsonb, text[], bigint, boolean), correlate._path_closed_by(jsonb, text[]),
	correlate._record_rescore(timestamptz, bigint, bigint), correlate.posture_snapshot(timestamptz),
	correlate.prune_risk_history(timestamptz), correlate.run_scheduled_posture(text, timestamptz),
	correlate.schedule_posture_snapshot(text), correlate.unschedule_posture_snapshot()
	TO correlate_writer;

-- ==== src/sql/85_incidents.sql ====
-- 85_incidents.sql: multi-domain correlation of events into incidents.
--
-- A correlation rule is data: a row in correlate.correlation_rule and its ordered
-- steps in correlate.correlation_step.  A step matches events by domain, OCSF
-- class, action and detector-rule patterns (globs: * and ?, case-insensitive),
-- minimum severity and target kind.  correlate.correlate() takes each event that
-- matches a rule's first step (the anchor) and looks for the following steps in
-- order, each no earlier than the previous step's first match and all within the
-- rule's time window after the anchor.  Steps chain through entity resolution:
-- an event's entities are its actor and target (or the owner of its source
-- address when it names no actor), extended along the identity chain container
-- -> pod -> service account -> IAM role (contains / runs_on, runs_as, assumes).
-- With link 'identity_chain' a step's events must share an entity with the
-- anchor's; with 'same_resource' they must share the anchor's own actor or target.
--
-- Every matching event of every step joins the incident.  Incidents are keyed by
-- (rule, anchor event), so running correlate() again creates no duplicates: it
-- adds events that arrived since and leaves the rest alone; an event already
-- inside an incident of a rule does not anchor another one of the same rule.
-- incident_event refers to events by id and time without a foreign key (events
-- live in partitions that retention drops); the timeline skips events gone.

CREATE TABLE correlate.correlation_rule (
	name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
	title       text NOT NULL CHECK (title <> '' AND length(title) <= 200),
	description text NOT NULL,
	severity    text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	time_window interval NOT NULL CHECK (time_window > interval '0' AND time_window <= interval '30 days'),
	enabled     boolean NOT NULL DEFAULT true,
	builtin     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE correlate.correlation_rule IS 'Declarative multi-step correlation rules; correlate.correlate() turns their matches into incidents.';
COMMENT ON COLUMN correlate.correlation_rule.name IS 'Rule name, lower case.';
COMMENT ON COLUMN correlate.correlation_rule.title IS 'Incident title for matches of this rule.';
COMMENT ON COLUMN correlate.correlation_rule.description IS 'What the rule detects.';
COMMENT ON COLUMN correlate.correlation_rule.severity IS 'Severity of its incidents: low, medium, high or critical.';
COMMENT ON COLUMN correlate.correlation_rule.time_window IS 'How long after the anchor event (first step) the later steps may happen (at most 30 days).';
COMMENT ON COLUMN correlate.correlation_rule.enabled IS 'Disabled rules are not evaluated.';
COMMENT ON COLUMN correlate.correlation_rule.builtin IS 'True for rules shipped with the extension (not dumped; recreated by CREATE EXTENSION).';

-- A non-empty list of non-empty glob patterns of at most 256 characters.
CREATE FUNCTION correlate._patterns_ok(patterns text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT cardinality(patterns) BETWEEN 1 AND 100
	   AND NOT EXISTS (SELECT 1 FROM unnest(patterns) p WHERE p IS NULL OR p = '' OR length(p) > 256);
$$;
COMMENT ON FUNCTION correlate._patterns_ok(text[]) IS 'Internal: whether a correlation step''s pattern list is 1 to 100 non-empty patterns of at most 256 characters.';

CREATE TABLE correlate.correlation_step (
	rule         text NOT NULL REFERENCES correlate.correlation_rule (name) ON DELETE CASCADE ON UPDATE CASCADE,
	step         integer NOT NULL CHECK (step BETWEEN 1 AND 20),
	label        text NOT NULL CHECK (label <> ''),
	domains      text[] CHECK (domains IS NULL OR (cardinality(domains) > 0 AND array_position(domains, NULL) IS NULL
							  AND domains <@ ARRAY['network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance'])),
	class_uids   integer[] CHECK (class_uids IS NULL OR (cardinality(class_uids) > 0 AND array_position(class_uids, NULL) IS NULL
							  AND 0 <= ALL (class_uids) AND 999999 >= ALL (class_uids))),
	actions      text[] CHECK (actions IS NULL OR correlate._patterns_ok(actions)),
	rules        text[] CHECK (rules IS NULL OR correlate._patterns_ok(rules)),
	min_severity smallint CHECK (min_severity BETWEEN 0 AND 6),
	target_kinds text[] CHECK (target_kinds IS NULL OR (cardinality(target_kinds) > 0 AND array_position(target_kinds, NULL) IS NULL)),
	link         text NOT NULL DEFAULT 'identity_chain' CHECK (link IN ('identity_chain', 'same_resource')),
	PRIMARY KEY (rule, step),
	CHECK (domains IS NOT NULL OR class_uids IS NOT NULL OR actions IS NOT NULL OR rules IS NOT NULL)
);
COMMENT ON TABLE correlate.correlation_step IS 'The ordered steps of a correlation rule: which events each step matches and how it links to the anchor.';
COMMENT ON COLUMN correlate.correlation_step.rule IS 'The rule the step belongs to.';
COMMENT ON COLUMN correlate.correlation_step.step IS 'Position in the rule (1 is the anchor); steps are matched in this order.';
COMMENT ON COLUMN correlate.correlation_step.label IS 'What the step stands for (shown nowhere else but documents the rule).';
COMMENT ON COLUMN correlate.correlation_step.domains IS 'Event domains that match; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.class_uids IS 'OCSF classes that match; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.actions IS 'Glob patterns (* and ?, case-insensitive) one of which the event''s action must match; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.rules IS 'Glob patterns one of which the event''s detector rule, or the title or Sigma id of one of its detections, must match; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.min_severity IS 'Minimum OCSF severity_id; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.target_kinds IS 'Resource kinds the event''s target must have; ''internet'' also matches a destination address no resource owns. NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.link IS 'identity_chain: the event shares an entity (identity chain included) with the anchor; same_resource: it names the anchor''s actor or target.';

INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window, builtin) VALUES
	('workload-compromise-to-data-access',
	 'Compromised workload used its cloud identity to read data',
	 'A detector fires in a workload, the workload connects out to addresses nobody owns, its cloud role is assumed and then used to list or read data.',
	 'critical', '1 hour', true),
	('k8s-exec-then-egress',
	 'Interactive exec into a pod followed by outbound connections',
	 'Someone opens an exec session in a pod and the pod then connects to addresses nobody owns.',
	 'high', '30 minutes', true);
INSERT INTO correlate.correlation_step (rule, step, label, domains, class_uids, actions, rules, min_severity, target_kinds, link) VALUES
	('workload-compromise-to-data-access', 1, 'workload detection', ARRAY['workload'], NULL, NULL, ARRAY['*'], NULL, NULL, 'identity_chain'),
	('workload-compromise-to-data-access', 2, 'outbound connection to an unknown address', ARRAY['network'], ARRAY[4001], NULL, NULL, NULL,
	 ARRAY['internet', 'network:ip'], 'identity_chain'),
	('workload-compromise-to-data-access', 3, 'the workload''s cloud role is assumed', ARRAY['identity'], NULL,
	 ARRAY['sts:AssumeRole*'], NULL, NULL, NULL, 'identity_chain'),
	('workload-compromise-to-data-access', 4, 'data listed or read with the role', ARRAY['data'], NULL,
	 ARRAY['s3:Get*', 's3:List*', 'dynamodb:Get*', 'dynamodb:Scan', 'dynamodb:Query', 'dynamodb:BatchGet*',
		   'secretsmanager:GetSecretValue', 'ssm:GetParameter*', 'kms:Decrypt', 'rds:*Snapshot*'], NULL, NULL, NULL, 'identity_chain'),
	('k8s-exec-then-egress', 1, 'exec into a pod', ARRAY['kubernetes'], NULL, ARRAY['k8s:create pods/exec', 'k8s:get pods/exec'], NULL, NULL, NULL,
	 'identity_chain'),
	('k8s-exec-then-egress', 2, 'outbound connection to an unknown address', ARRAY['network'], ARRAY[4001], NULL, NULL, NULL,
	 ARRAY['internet', 'network:ip'], 'identity_chain');

CREATE TABLE correlate.incident (
	tenant       text NOT NULL DEFAULT correlate.current_tenant(),
	id           bigint GENERATED ALWAYS AS IDENTITY,
	rule         text NOT NULL,
	title        text NOT NULL,
	severity     text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved', 'false_positive')),
	anchor_event bigint NOT NULL,
	first_ts     timestamptz NOT NULL,
	last_ts      timestamptz NOT NULL,
	entities     bigint[] NOT NULL DEFAULT '{}',
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, rule, anchor_event),
	CHECK (first_ts <= last_ts)
);
COMMENT ON TABLE correlate.incident IS 'A match of a correlation rule: events across domains tied to the same entities within the rule''s window.';
COMMENT ON COLUMN correlate.incident.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.incident.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.incident.rule IS 'Name of the correlation rule that matched (kept if the rule is later dropped).';
COMMENT ON COLUMN correlate.incident.title IS 'The rule''s title at the time of the match.';
COMMENT ON COLUMN correlate.incident.severity IS 'The rule''s severity at the time of the match.';
COMMENT ON COLUMN correlate.incident.status IS 'open, acknowledged, resolved or false_positive (set by analysts; correlate() never changes it).';
COMMENT ON COLUMN correlate.incident.anchor_event IS 'Id of the event that matched the first step.';
COMMENT ON COLUMN correlate.incident.first_ts IS 'Time of the earliest event.';
COMMENT ON COLUMN correlate.incident.last_ts IS 'Time of the latest event.';
COMMENT ON COLUMN correlate.incident.entities IS 'Resources the anchor resolved to (its actor and target and their identity chain), sorted.';
COMMENT ON COLUMN correlate.incident.created_at IS 'When correlate() created it.';
COMMENT ON COLUMN correlate.incident.updated_at IS 'When correlate() last added events to it.';

CREATE TABLE correlate.incident_event (
	tenant   text NOT NULL DEFAULT correlate.current_tenant(),
	incident bigint NOT NULL,
	event_id bigint NOT NULL,
	event_ts timestamptz NOT NULL,
	step     integer NOT NULL CHECK (step BETWEEN 1 AND 20),
	PRIMARY KEY (tenant, incident, event_id),
	FOREIGN KEY (tenant, incident) REFERENCES correlate.incident (tenant, id) ON DELETE CASCADE
);
CREATE INDEX incident_event_event_idx ON correlate.incident_event (tenant, event_id);
COMMENT ON TABLE correlate.incident_event IS 'The events of an incident and the rule step each matched.';
COMMENT ON COLUMN correlate.incident_event.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.incident_event.incident IS 'The incident.';
COMMENT ON COLUMN correlate.incident_event.event_id IS 'The event''s id (no foreign key: event partitions are dropped by retention).';
COMMENT ON COLUMN correlate.incident_event.event_ts IS 'The event''s time, so the event is found in its partition.';
COMMENT ON COLUMN correlate.incident_event.step IS 'The rule step the event matched.';

SELECT correlate._isolate_tenants('correlate.incident', 'correlate.incident_event');

-- Glob (* any run, ? one character) to a LIKE pattern; everything else is literal.
CREATE FUNCTION correlate._glob_like(pattern text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT translate(replace(replace(replace(pattern, '\', '\\'), '%', '\%'), '_', '\_'), '*?', '%_');
$$;
COMMENT ON FUNCTION correlate._glob_like(text) IS 'Internal: a glob pattern (* and ?) as a LIKE pattern with the default escape.';

-- The entities of an event: actor and target (or the owner of the source address
-- when there is no actor), and their identity chain.
CREATE FUNCTION correlate._entity_chain(actor bigint, target bigint, src_ip inet, at timestamptz)
RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE
	t AS (SELECT correlate.current_tenant() AS t),
	start AS (
		SELECT x AS id FROM unnest(ARRAY[actor, target,
			CASE WHEN actor IS NULL AND src_ip IS NOT NULL THEN correlate.resolve_ip(src_ip, at) END]) x
		WHERE x IS NOT NULL
	),
	chain (id, depth) AS (
		SELECT s.id, 0 FROM start s
		JOIN correlate.resource r ON r.tenant = (SELECT t FROM t) AND r.id = s.id
		WHERE r.kind NOT IN ('internet', 'network:ip', 'network:cidr')
		UNION
		SELECT n.next, c.depth + 1
		FROM chain c
		CROSS JOIN LATERAL (
			-- container -> pod
			SELECT l.src AS next FROM correlate.relationship l JOIN correlate.resource p ON p.tenant = l.tenant AND p.id = l.src
			WHERE l.tenant = (SELECT t FROM t) AND l.dst = c.id AND l.kind = 'contains' AND p.kind = 'k8s:pod'
			  AND EXISTS (SELECT 1 FROM correlate.resource k WHERE k.tenant = l.tenant AND k.id = c.id AND k.kind = 'container')
			UNION ALL
			SELECT l.dst FROM correlate.relationship l JOIN correlate.resource p ON p.tenant = l.tenant AND p.id = l.dst
			WHERE l.tenant = (SELECT t FROM t) AND l.src = c.id AND l.kind = 'runs_on' AND p.kind = 'k8s:pod'
			UNION ALL
			-- workload -> identity -> assumed identity
			SELECT l.dst FROM correlate.relationship l
			WHERE l.tenant = (SELECT t FROM t) AND l.src = c.id AND l.kind IN ('runs_as', 'assumes')
		) n
		WHERE c.depth < 4
	)
	SELECT ARRAY(SELECT DISTINCT c.id FROM chain c ORDER BY c.id);
$$;
COMMENT ON FUNCTION correlate._entity_chain(bigint, bigint, inet, timestamptz)
	IS 'Internal: an event''s entities (actor, target, or the owner of its source address) and their identity chain container -> pod -> service account -> role.';

CREATE FUNCTION correlate.correlate(since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL)
RETURNS TABLE (incident_id bigint, rule text, created boolean, events integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	-- Ceiling: at most this many events of one step join one incident per run (the
	-- earliest); an anchor that would pull in more is a flood, not a story.
	max_step_events constant integer := 1000;
	max_window interval;
	r record;
	s record;
	a record;
	anchor_chain bigint[];
	anchor_own bigint[];
	prev_ts timestamptz;
	first_ts timestamptz;
	matched_ids bigint[];
	matched_ts timestamptz[];
	matched_steps integer[];
	step_ids bigint[];
	step_ts timestamptz[];
	complete boolean;
	capped boolean := false;
	inc_id bigint;
	was_new boolean;
	n_new integer;
BEGIN
	IF since IS NOT NULL AND until IS NOT NULL AND since > until THEN
		RAISE EXCEPTION 'since must not be after until'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('since is %s and until is %s.', since, until);
	END IF;
	-- One correlation run of a tenant at a time, so two runs never create the same incident.
	PERFORM correlate._work_lock(t, 'correlate');

	-- A run over all history covers every arrival its snapshot sees (arrivals that
	-- commit later stay for correlate_new_events()); this also keeps the table
	-- small for tenants that only ever run full correlations.
	IF since IS NULL AND until IS NULL THEN
		DELETE FROM correlate.event_arrival ea WHERE ea.tenant = t;
	END IF;

	-- One engine: the tenant's Sigma correlation rules (87_detection.sql) run here too,
	-- first, so that their matches (detections) can be steps of the rules below.  Each
	-- match is an incident of rule 'sigma:<id>'.
	RETURN QUERY SELECT m.incident_id, 'sigma:' || m.sigma_id, m.incident_created, m.incident_events
				 FROM correlate._correlate_sigma(since, until, false) m;

	SELECT max(cr.time_window) INTO max_window FROM correlate.correlation_rule cr WHERE cr.enabled;
	IF max_window IS NULL THEN
		RETURN;
	END IF;

	-- Set-based first: every event of the range that matches some step of an enabled
	-- rule, in one pass over the events (anchors in [since, until), later steps up to
	-- the longest window after until) ...
	IF pg_catalog.to_regclass('pg_temp.correlate_cand') IS NOT NULL THEN
		DROP TABLE pg_temp.correlate_cand;		-- left by a run caught in an exception block
	END IF;
	CREATE TEMP TABLE correlate_cand ON COMMIT DROP AS
	WITH st AS MATERIALIZED (
		SELECT cs.rule, cs.step, cs.domains, cs.class_uids, cs.min_severity, cs.target_kinds,
			   CASE WHEN cs.actions IS NOT NULL THEN ARRAY(SELECT correlate._glob_like(p) FROM unnest(cs.actions) p) END AS act_like,
			   CASE WHEN cs.rules IS NOT NULL THEN ARRAY(SELECT correlate._glob_like(p) FROM unnest(cs.rules) p) END AS rule_like
		FROM correlate.correlation_step cs JOIN correlate.correlation_rule cr ON cr.name = cs.rule
		WHERE cr.enabled
	)
	SELECT st.rule, st.step, e.id, e.ts, e.actor, e.target, e.src_ip
	FROM correlate.event e
	LEFT JOIN correlate.resource tr ON tr.tenant = t AND tr.id = e.target
	JOIN st ON (st.domains IS NULL OR e.domain = ANY (st.domains))
		   AND (st.class_uids IS NULL OR e.class_uid = ANY (st.class_uids))
		   AND (st.min_severity IS NULL OR e.severity_id >= st.min_severity)
		   AND (st.act_like IS NULL OR e.action ILIKE ANY (st.act_like))
		   AND (st.rule_like IS NULL OR e.rule ILIKE ANY (st.rule_like)
				-- a Sigma detection on the event counts as a detector alert (87_detection.sql)
				OR EXISTS (SELECT 1 FROM correlate.detection dt
						   WHERE dt.tenant = t AND dt.event_id = e.id AND dt.event_ts = e.ts
							 AND (dt.title ILIKE ANY (st.rule_like) OR dt.sigma_id ILIKE ANY (st.rule_like))))
		   AND (st.target_kinds IS NULL OR tr.kind = ANY (st.target_kinds)
				OR ('internet' = ANY (st.target_kinds) AND e.target IS NULL AND e.dst_ip IS NOT NULL
					AND correlate.resolve_ip(e.dst_ip, e.ts) IS NULL))
	WHERE e.tenant = t AND (since IS NULL OR e.ts >= since) AND (until IS NULL OR e.ts < until + max_window);
	CREATE INDEX ON correlate_cand (rule, step, ts, id);
	CREATE INDEX ON correlate_cand (id);
	CREATE INDEX ON correlate_cand (rule, step, actor, ts);
	CREATE INDEX ON correlate_cand (rule, step, target, ts);

	-- ... then the entities of each such event, from one walk of the identity chain
	-- per distinct start resource rather than one per event and anchor.
	IF pg_catalog.to_regclass('pg_temp.correlate_ent') IS NOT NULL THEN
		DROP TABLE pg_temp.correlate_ent;
	END IF;
	CREATE TEMP TABLE correlate_ent ON COMMIT DROP AS
	WITH RECURSIVE ev AS (
		SELECT DISTINCT c.id, c.ts, c.actor, c.target, c.src_ip FROM correlate_cand c
	), start AS (
		SELECT ev.id AS eid, x.rid
		FROM ev CROSS JOIN LATERAL unnest(ARRAY[ev.actor, ev.target,
			CASE WHEN ev.actor IS NULL AND ev.src_ip IS NOT NULL THEN correlate.resolve_ip(ev.src_ip, ev.ts) END]) x(rid)
		WHERE x.rid IS NOT NULL
	), roots AS (
		SELECT DISTINCT s.rid FROM start s
		JOIN correlate.resource r ON r.tenant = t AND r.id = s.rid
		WHERE r.kind NOT IN ('internet', 'network:ip', 'network:cidr')
	), chain (root, id, depth) AS (
		SELECT ro.rid, ro.rid, 0 FROM roots ro
		UNION
		SELECT c.root, n.next, c.depth + 1
		FROM chain c
		CROSS JOIN LATERAL (
			-- container -> pod
			SELECT l.src AS next FROM correlate.relationship l JOIN correlate.resource p ON p.tenant = l.tenant AND p.id = l.src
			WHERE l.tenant = t AND l.dst = c.id AND l.kind = 'contains' AND p.kind = 'k8s:pod'
			  AND EXISTS (SELECT 1 FROM correlate.resource k WHERE k.tenant = l.tenant AND k.id = c.id AND k.kind = 'container')
			UNION ALL
			SELECT l.dst FROM correlate.relationship l JOIN correlate.resource p ON p.tenant = l.tenant AND p.id = l.dst
			WHERE l.tenant = t AND l.src = c.id AND l.kind = 'runs_on' AND p.kind = 'k8s:pod'
			UNION ALL
			-- workload -> identity -> assumed identity
			SELECT l.dst FROM correlate.relationship l
			WHERE l.tenant = t AND l.src = c.id AND l.kind IN ('runs_as', 'assumes')
		) n
		WHERE c.depth < 4
	)
	-- each event's distinct entities first, then its (rule, step) rows, which are
	-- unique per event already: the distinct runs over events x entities, not over
	-- events x entities x steps
	SELECT c.rule, c.step, ee.entity, c.ts, c.id
	FROM (SELECT DISTINCT s.eid, ch.id AS entity FROM start s JOIN chain ch ON ch.root = s.rid) ee
	JOIN correlate_cand c ON c.id = ee.eid;
	CREATE INDEX ON correlate_ent (rule, step, entity, ts);
	CREATE INDEX ON correlate_ent (id);
	ANALYZE correlate_cand;
	ANALYZE correlate_ent;

	-- Then anchor by anchor, in time order: whether an anchor was already taken into an
	-- incident depends on the anchors before it.  Each step is an index probe per
	-- anchor entity within the window; an anchor whose chain does not complete costs
	-- one ordered probe per entity and step.
	FOR r IN
		SELECT cr.name, cr.title, cr.severity, cr.time_window,
			   (SELECT min(cs.step) FROM correlate.correlation_step cs WHERE cs.rule = cr.name) AS first_step
		FROM correlate.correlation_rule cr WHERE cr.enabled ORDER BY cr.name
	LOOP
		CONTINUE WHEN r.first_step IS NULL;

		-- Anchors in time order, leaving out in the same statement those for which
		-- some later step has no matching event at all within the window (the loop
		-- below checks the steps in order and in full): an anchor that cannot
		-- complete takes no events, so leaving it out changes nothing for the
		-- anchors after it, and most candidate anchors of a busy tenant are such.
		FOR a IN
			SELECT c.id, c.ts, c.actor, c.target FROM correlate_cand c
			WHERE c.rule = r.name AND c.step = r.first_step AND (until IS NULL OR c.ts < until)
			  AND NOT EXISTS (
				  SELECT 1 FROM correlate.correlation_step cs
				  WHERE cs.rule = r.name AND cs.step > r.first_step
					AND NOT CASE WHEN cs.link = 'same_resource' THEN
						EXISTS (SELECT 1 FROM correlate_cand y WHERE y.rule = r.name AND y.step = cs.step
								AND y.actor IN (c.actor, c.target)
								AND y.ts >= c.ts AND y.ts <= c.ts + r.time_window AND y.id <> c.id)
						OR EXISTS (SELECT 1 FROM correlate_cand y WHERE y.rule = r.name AND y.step = cs.step
								   AND y.target IN (c.actor, c.target)
								   AND y.ts >= c.ts AND y.ts <= c.ts + r.time_window AND y.id <> c.id)
					ELSE EXISTS (
						SELECT 1 FROM correlate_ent ax
						JOIN correlate_ent x ON x.rule = r.name AND x.step = cs.step AND x.entity = ax.entity
							 AND x.ts >= c.ts AND x.ts <= c.ts + r.time_window AND x.id <> c.id
						WHERE ax.rule = r.name AND ax.step = r.first_step AND ax.id = c.id)
					END)
			ORDER BY c.ts, c.id
		LOOP
			-- An event already inside an incident of this rule anchors no other one.
			CONTINUE WHEN EXISTS (SELECT 1 FROM correlate.incident_event ie
								  JOIN correlate.incident i ON i.tenant = ie.tenant AND i.id = ie.incident
								  WHERE ie.tenant = t AND ie.event_id = a.id AND i.rule = r.name AND i.anchor_event <> a.id);

			anchor_chain := ARRAY(SELECT DISTINCT x.entity FROM correlate_ent x
								  WHERE x.rule = r.name AND x.step = r.first_step AND x.id = a.id ORDER BY 1);
			CONTINUE WHEN cardinality(anchor_chain) = 0;
			anchor_own := ARRAY(SELECT x FROM unnest(ARRAY[a.actor, a.target]) x WHERE x IS NOT NULL);

			-- Whether the chain completes, before collecting anything: the earliest match
			-- of each later step is one ordered index probe per anchor entity.  Most
			-- anchors fail here, cheaply.
			prev_ts := a.ts;
			complete := true;
			FOR s IN SELECT cs.step, cs.link FROM correlate.correlation_step cs
					 WHERE cs.rule = r.name AND cs.step > r.first_step ORDER BY cs.step LOOP
				IF s.link = 'same_resource' THEN
					SELECT min(m.ts) INTO first_ts
					FROM unnest(anchor_own) o(x)
					CROSS JOIN LATERAL (
						(SELECT c.ts FROM correlate_cand c
						 WHERE c.rule = r.name AND c.step = s.step AND c.actor = o.x
						   AND c.ts >= prev_ts AND c.ts <= a.ts + r.time_window AND c.id <> a.id
						 ORDER BY c.ts LIMIT 1)
						UNION ALL
						(SELECT c.ts FROM correlate_cand c
						 WHERE c.rule = r.name AND c.step = s.step AND c.target = o.x
						   AND c.ts >= prev_ts AND c.ts <= a.ts + r.time_window AND c.id <> a.id
						 ORDER BY c.ts LIMIT 1)) m;
				ELSE
					SELECT min(m.ts) INTO first_ts
					FROM unnest(anchor_chain) en(x)
					CROSS JOIN LATERAL (
						SELECT x.ts FROM correlate_ent x
						WHERE x.rule = r.name AND x.step = s.step AND x.entity = en.x
						  AND x.ts >= prev_ts AND x.ts <= a.ts + r.time_window AND x.id <> a.id
						ORDER BY x.ts LIMIT 1) m;
				END IF;
				IF first_ts IS NULL THEN
					complete := false;
					EXIT;
				END IF;
				prev_ts := first_ts;
			END LOOP;
			CONTINUE WHEN NOT complete;

			-- Complete: collect every matching event of every step.
			prev_ts := a.ts;
			matched_ids := ARRAY[a.id];
			matched_ts := ARRAY[a.ts];
			matched_steps := ARRAY[r.first_step];
			complete := true;

			FOR s IN SELECT cs.step, cs.link FROM correlate.correlation_step cs WHERE cs.rule = r.name ORDER BY cs.step LOOP
				IF s.link = 'same_resource' THEN
					SELECT COALESCE(array_agg(m.id ORDER BY m.ts, m.id), '{}'), COALESCE(array_agg(m.ts ORDER BY m.ts, m.id), '{}')
					INTO step_ids, step_ts
					FROM (SELECT c.id, c.ts FROM correlate_cand c
						  WHERE c.rule = r.name AND c.step = s.step AND c.ts >= prev_ts AND c.ts <= a.ts + r.time_window
							AND c.id <> a.id AND (c.actor = ANY (anchor_own) OR c.target = ANY (anchor_own))
						  ORDER BY c.ts, c.id LIMIT max_step_events + 1) m;
				ELSE
					SELECT COALESCE(array_agg(m.id ORDER BY m.ts, m.id), '{}'), COALESCE(array_agg(m.ts ORDER BY m.ts, m.id), '{}')
					INTO step_ids, step_ts
					FROM (SELECT DISTINCT x.id, x.ts FROM correlate_ent x
						  WHERE x.rule = r.name AND x.step = s.step AND x.entity = ANY (anchor_chain)
							AND x.ts >= prev_ts AND x.ts <= a.ts + r.time_window AND x.id <> a.id
						  ORDER BY x.ts, x.id LIMIT max_step_events + 1) m;
				END IF;
				IF cardinality(step_ids) > max_step_events THEN
					step_ids := step_ids[1:max_step_events];
					step_ts := step_ts[1:max_step_events];
					capped := true;
				END IF;
				IF s.step > r.first_step THEN
					IF cardinality(step_ids) = 0 THEN
						complete := false;
						EXIT;
					END IF;
					prev_ts := step_ts[1];
				END IF;
				matched_ids := matched_ids || step_ids;
				matched_ts := matched_ts || step_ts;
				matched_steps := matched_steps || array_fill(s.step, ARRAY[cardinality(step_ids)]);
			END LOOP;
			CONTINUE WHEN NOT complete;

			INSERT INTO correlate.incident AS i (tenant, rule, title, severity, anchor_event, first_ts, last_ts, entities)
			SELECT t, r.name, r.title, r.severity, a.id, min(x), max(x), anchor_chain FROM unnest(matched_ts) x
			ON CONFLICT (tenant, rule, anchor_event) DO UPDATE SET
				first_ts = LEAST(i.first_ts, EXCLUDED.first_ts), last_ts = GREATEST(i.last_ts, EXCLUDED.last_ts)
			RETURNING i.id, (i.xmax = 0) INTO inc_id, was_new;

			-- An event matching two steps keeps the earlier one.
			INSERT INTO correlate.incident_event (tenant, incident, event_id, event_ts, step)
			SELECT DISTINCT ON (m.id) t, inc_id, m.id, m.ts, m.step
			FROM unnest(matched_ids, matched_ts, matched_steps) m(id, ts, step)
			ORDER BY m.id, m.step
			ON CONFLICT DO NOTHING;
			GET DIAGNOSTICS n_new = ROW_COUNT;
			IF n_new > 0 AND NOT was_new THEN
				UPDATE correlate.incident i SET updated_at = now() WHERE i.tenant = t AND i.id = inc_id;
			END IF;

			incident_id := inc_id;
			rule := r.name;
			created := was_new;
			events := n_new;
			RETURN NEXT;
		END LOOP;
	END LOOP;

	IF capped THEN
		RAISE WARNING 'correlate() kept the first % events of a step of some incidents', max_step_events
			USING DETAIL = 'A rule step matched more events of one incident''s entities within the window than that.',
				  HINT = 'Tighten the rule''s steps or window; run correlate() again to add the events that arrive later.';
	END IF;
	DROP TABLE pg_temp.correlate_ent;
	DROP TABLE pg_temp.correlate_cand;
END
$$;
COMMENT ON FUNCTION correlate.correlate(timestamptz, timestamptz)
	IS 'Runs every enabled correlation rule over the current tenant''s events whose anchor (first step) falls in [since, until) (NULL: unbounded) and creates or extends incidents; idempotent. Returns one row per incident matched, whether it was created and how many events it gained. At most 1000 events of one step join an incident per run.';

CREATE TABLE correlate.correlation_watermark (
	tenant        text PRIMARY KEY DEFAULT correlate.current_tenant(),
	last_event_id bigint NOT NULL,
	last_event_ts timestamptz NOT NULL,
	correlated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE correlate.correlation_watermark IS 'How far correlate.correlate_new_events() has correlated each tenant''s events.';
COMMENT ON COLUMN correlate.correlation_watermark.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.correlation_watermark.last_event_id IS 'Highest event id the last run saw; events above it are new to the next run.';
COMMENT ON COLUMN correlate.correlation_watermark.last_event_ts IS 'Latest event time the last run saw.';
COMMENT ON COLUMN correlate.correlation_watermark.correlated_at IS 'When the last run committed.';
SELECT correlate._isolate_tenants('correlate.correlation_watermark');

-- What committed since the last incremental run, whatever its ids.  Event ids are
-- taken when a row is inserted, not when its transaction commits: an ingest that
-- commits after a correlate_new_events() run can hold ids below the watermark that
-- run set, and "id above the watermark" alone would never see those events.  So
-- every writer of events also leaves, in its own transaction, one row per tenant and
-- transaction with the earliest event time it stored; the row becomes visible with
-- the events, and the next run consumes it.
CREATE TABLE correlate.event_arrival (
	tenant   text NOT NULL DEFAULT correlate.current_tenant(),
	xact     xid8 NOT NULL DEFAULT pg_current_xact_id(),
	first_ts timestamptz NOT NULL,
	events   bigint NOT NULL CHECK (events > 0),
	PRIMARY KEY (tenant, xact)
);
COMMENT ON TABLE correlate.event_arrival IS 'Events stored since the last correlate.correlate_new_events() run, one row per tenant and writing transaction; that run consumes them.';
COMMENT ON COLUMN correlate.event_arrival.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.event_arrival.xact IS 'Transaction that stored the events.';
COMMENT ON COLUMN correlate.event_arrival.first_ts IS 'Earliest time among the events it stored.';
COMMENT ON COLUMN correlate.event_arrival.events IS 'How many events it stored.';
SELECT correlate._isolate_tenants('correlate.event_arrival');

CREATE FUNCTION correlate._note_arrival(first_ts timestamptz, events bigint) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO correlate.event_arrival AS a (tenant, xact, first_ts, events)
	SELECT correlate.current_tenant(), pg_catalog.pg_current_xact_id(), first_ts, events
	WHERE events > 0
	ON CONFLICT (tenant, xact) DO UPDATE SET
		first_ts = LEAST(a.first_ts, EXCLUDED.first_ts),
		events   = a.events + EXCLUDED.events;
$$;
COMMENT ON FUNCTION correlate._note_arrival(timestamptz, bigint)
	IS 'Internal to the event writers: records that this transaction stored events of the current tenant from first_ts on, for correlate_new_events().';

-- Incremental correlation for the scheduled job.  New events are those with an id
-- above the watermark or an arrival committed since the last run (so late
-- arrivals count, whatever their time or id); anchors are
-- re-examined from the earliest new event, or the previous watermark time if that
-- is earlier, minus the longest enabled rule window, which catches every chain a new
-- event can complete or extend, including chains that straddle the watermark.
-- correlate() is idempotent, so the overlap costs time, never duplicates.
CREATE FUNCTION correlate.correlate_new_events()
RETURNS TABLE (incident_id bigint, rule text, created boolean, events integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	wm correlate.correlation_watermark;
	max_window interval;
	top_id bigint;
	top_ts timestamptz;
	new_min timestamptz;
	arrived timestamptz;
	lo timestamptz;
BEGIN
	-- The lock correlate() takes, held from before the watermark is read.
	PERFORM correlate._work_lock(t, 'correlate');

	SELECT * INTO wm FROM correlate.correlation_watermark w WHERE w.tenant = t;
	-- Arrivals committed since the last run (this run's snapshot sees exactly the
	-- ones it consumes; later commits stay for the next run).
	WITH gone AS (
		DELETE FROM correlate.event_arrival a WHERE a.tenant = t RETURNING a.first_ts
	)
	SELECT min(g.first_ts) INTO arrived FROM gone g;
	SELECT max(e.id), max(e.ts) INTO top_id, top_ts FROM correlate.event e WHERE e.tenant = t;
	IF top_id IS NULL THEN
		RETURN;
	END IF;
	IF wm.tenant IS NOT NULL THEN
		-- new: above the watermark (any writer), or arrived (committed after the last run)
		SELECT min(e.ts) INTO new_min FROM correlate.event e WHERE e.tenant = t AND e.id > wm.last_event_id;
		new_min := LEAST(new_min, arrived);
		IF new_min IS NULL THEN
			RETURN;			-- nothing new
		END IF;
		SELECT max(cr.time_window) INTO max_window FROM correlate.correlation_rule cr WHERE cr.enabled;
		-- and the Sigma correlation rules' timespans (87_detection.sql), which correlate() runs too
		SELECT GREATEST(max_window, max(make_interval(secs => (dr.correlation->>'timespan_s')::float8))) INTO max_window
		FROM correlate.detection_rule dr
		WHERE dr.tenant = t AND dr.enabled AND dr.correlation ? 'timespan_s';
		lo := LEAST(new_min, wm.last_event_ts) - COALESCE(max_window, interval '0');
	END IF;

	RETURN QUERY SELECT * FROM correlate.correlate(since => lo);

	INSERT INTO correlate.correlation_watermark AS w (tenant, last_event_id, last_event_ts, correlated_at)
	VALUES (t, top_id, top_ts, now())
	ON CONFLICT (tenant) DO UPDATE SET
		last_event_id = GREATEST(w.last_event_id, EXCLUDED.last_event_id),
		last_event_ts = GREATEST(w.last_event_ts, EXCLUDED.last_event_ts),
		correlated_at = EXCLUDED.correlated_at;
END
$$;
COMMENT ON FUNCTION correlate.correlate_new_events()
	IS 'correlate() over what is new since the last call (all history the first time): anchors from the earliest new event (above the watermark, or committed since the last call) minus the longest rule window; then moves the tenant''s watermark. What the scheduled job runs.';

-- OCSF class names for the classes correlate's ingesters write.
CREATE FUNCTION correlate.ocsf_class_name(class_uid integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE class_uid
		WHEN 1001 THEN 'File System Activity' WHEN 1002 THEN 'Kernel Extension Activity'
		WHEN 1003 THEN 'Kernel Activity' WHEN 1004 THEN 'Memory Activity' WHEN 1005 THEN 'Module Activity'
		WHEN 1006 THEN 'Scheduled Job Activity' WHEN 1007 THEN 'Process Activity'
		WHEN 2001 THEN 'Security Finding' WHEN 2002 THEN 'Vulnerability Finding' WHEN 2003 THEN 'Compliance Finding'
		WHEN 2004 THEN 'Detection Finding'
		WHEN 3001 THEN 'Account Change' WHEN 3002 THEN 'Authentication' WHEN 3003 THEN 'Authorize Session'
		WHEN 3004 THEN 'Entity Management' WHEN 3005 THEN 'User Access Management' WHEN 3006 THEN 'Group Management'
		WHEN 4001 THEN 'Network Activity' WHEN 4002 THEN 'HTTP Activity' WHEN 4003 THEN 'DNS Activity'
		WHEN 4004 THEN 'DHCP Activity' WHEN 4005 THEN 'RDP Activity' WHEN 4006 THEN 'SMB Activity'
		WHEN 4007 THEN 'SSH Activity' WHEN 4008 THEN 'FTP Activity' WHEN 4009 THEN 'Email Activity'
		WHEN 5001 THEN 'Device Inventory Info' WHEN 5002 THEN 'Device Config State'
		WHEN 6001 THEN 'Web Resources Activity' WHEN 6002 THEN 'Application Lifecycle'
		WHEN 6003 THEN 'API Activity' WHEN 6004 THEN 'Web Resource Access Activity' WHEN 6005 THEN 'Datastore Activity'
		ELSE 'class ' || class_uid END;
$$;
COMMENT ON FUNCTION correlate.ocsf_class_name(integer) IS 'The OCSF 1.x name of a class_uid (''class N'' for classes it does not know).';

CREATE FUNCTION correlate.incident_timeline(incident_id bigint)
RETURNS TABLE (ts timestamptz, domain text, class text, actor text, target text, action text, summary text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	IF incident_timeline.incident_id IS NULL THEN
		RAISE EXCEPTION 'incident_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM correlate.incident i WHERE i.tenant = t AND i.id = incident_timeline.incident_id) THEN
		RAISE EXCEPTION 'incident % does not exist', incident_timeline.incident_id
			USING ERRCODE = 'undefined_object',
				  DETAIL = format('No incident with id %s in tenant "%s".', incident_timeline.incident_id, t),
				  HINT = 'List incidents with SELECT id, title FROM correlate.incident; run correlate.correlate() to create them.';
	END IF;
	RETURN QUERY
	SELECT e.ts, e.domain, correlate.ocsf_class_name(e.class_uid),
		   COALESCE(ar.name, ar.uid, host(e.src_ip)),
		   COALESCE(CASE WHEN tr.kind = 'internet' AND e.dst_ip IS NOT NULL THEN NULL ELSE COALESCE(tr.name, tr.uid) END,
					host(e.dst_ip) || COALESCE(':' || e.dst_port, '')),
		   e.action,
		   concat_ws(' ',
			   CASE WHEN e.rule IS NOT NULL THEN e.rule || ':' END,
			   CASE WHEN e.process IS NOT NULL THEN e.process || CASE WHEN e.command_line IS NOT NULL AND e.command_line <> e.process
																	  THEN ' (' || e.command_line || ')' ELSE '' END END,
			   CASE WHEN e.src_ip IS NOT NULL AND e.dst_ip IS NOT NULL
					THEN host(e.src_ip) || ' -> ' || host(e.dst_ip) || COALESCE(':' || e.dst_port, '') END,
			   CASE WHEN e.rule IS NULL AND e.action IS NOT NULL AND (e.src_ip IS NULL OR e.dst_ip IS NULL)
					THEN e.action || COALESCE(' ' || COALESCE(tr.name, tr.uid), '')
						 || COALESCE(' by ' || COALESCE(ar.name, ar.uid), '') || COALESCE(' from ' || host(e.src_ip), '') END,
			   CASE WHEN e.rule IS NULL AND e.outcome IS NOT NULL THEN '[' || e.outcome || ']' END)
	FROM correlate.incident_event ie
	JOIN correlate.event e ON e.tenant = ie.tenant AND e.id = ie.event_id AND e.ts = ie.event_ts
	LEFT JOIN correlate.resource ar ON ar.tenant = e.tenant AND ar.id = e.actor
	LEFT JOIN correlate.resource tr ON tr.tenant = e.tenant AND tr.id = e.target
	WHERE ie.tenant = t AND ie.incident = incident_timeline.incident_id
	ORDER BY e.ts, e.id;
END
$$;
COMMENT ON FUNCTION correlate.incident_timeline(bigint)
	IS 'The events of an incident in time order across domains: time, domain, OCSF class, actor, target, action and a one-line summary.';

SELECT pg_catalog.pg_extension_config_dump('correlate.correlation_rule', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('correlate.correlation_step',
	'WHERE rule NOT IN (SELECT r.name FROM correlate.correlation_rule r WHERE r.builtin)');
SELECT pg_catalog.pg_extension_config_dump('correlate.incident', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.incident_event', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.correlation_watermark', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.event_arrival', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.incident', 'id')::regclass, '');

GRANT SELECT ON correlate.correlation_rule, correlate.correlation_step, correlate.incident, correlate.incident_event,
	correlate.correlation_watermark, correlate.event_arrival
	TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.incident, correlate.incident_event, correlate.correlation_watermark,
	correlate.event_arrival TO correlate_writer;
GRANT INSERT, UPDATE, DELETE ON correlate.correlation_rule, correlate.correlation_step TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate._patterns_ok(text[]), correlate._glob_like(text), correlate._entity_chain(bigint, bigint, inet, timestamptz),
	correlate.ocsf_class_name(integer),
	correlate.incident_timeline(bigint)
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.correlate(timestamptz, timestamptz), correlate.correlate_new_events(),
	correlate._note_arrival(timestamptz, bigint) TO correlate_writer;

-- ==== src/sql/87_detection.sql ====
-- 87_detection.sql: Sigma detection rules (src/detect/) and their detections.
--
-- correlate.load_sigma() / load_sigma_file() parse Sigma YAML in C (libyaml),
-- compile every rule of the input (ERROR naming the rule and the construct on
-- the first one correlate cannot run, so nothing is half-loaded) and store them
-- in correlate.detection_rule, per tenant.  The enabled rules of the tenant run
-- on every event ingest stores (src/ingest/writer.c calls
-- correlate._record_detections) and over stored history through
-- correlate.detect(); each match is a row of correlate.detection, keyed by
-- (rule, event) so both paths are idempotent.  Each backend keeps the tenant's
-- rules compiled; a statement trigger on detection_rule invalidates every
-- backend's copy when rules change.  correlate.correlate() lets a step's
-- `rules` patterns match an event's detections (by Sigma title or id) like a
-- detector alert.

CREATE TABLE correlate.detection_rule (
	tenant      text NOT NULL DEFAULT correlate.current_tenant(),
	id          bigint GENERATED ALWAYS AS IDENTITY,
	sigma_id    text NOT NULL CHECK (sigma_id <> '' AND length(sigma_id) <= 200),
	title       text NOT NULL CHECK (title <> '' AND length(title) <= 1000),
	author      text,
	description text,
	level       text CHECK (level IN ('informational', 'low', 'medium', 'high', 'critical')),
	severity_id smallint NOT NULL DEFAULT 0 CHECK (severity_id BETWEEN 0 AND 6),
	status      text,
	product     text,
	service     text,
	category    text,
	source      text NOT NULL,
	tags        text[] NOT NULL DEFAULT '{}',
	tactics     text[] NOT NULL DEFAULT '{}',
	techniques  text[] NOT NULL DEFAULT '{}',
	rule_text   text NOT NULL,
	name        text,
	correlation jsonb CHECK (correlation IS NULL OR jsonb_typeof(correlation) = 'object'),
	origin      text,
	builtin     boolean NOT NULL DEFAULT false,
	enabled     boolean NOT NULL DEFAULT true,
	loaded_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, sigma_id)
);
COMMENT ON TABLE correlate.detection_rule IS 'Sigma detection rules loaded by correlate.load_sigma(), per tenant; enabled ones run at ingest and in correlate.detect().';
COMMENT ON COLUMN correlate.detection_rule.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.detection_rule.id IS 'Surrogate id; detections refer to it.';
COMMENT ON COLUMN correlate.detection_rule.sigma_id IS 'The rule''s Sigma id; loading a rule with the same id replaces it.';
COMMENT ON COLUMN correlate.detection_rule.title IS 'Sigma title.';
COMMENT ON COLUMN correlate.detection_rule.author IS 'Sigma author, kept on every detection (the Detection Rule License asks for it).';
COMMENT ON COLUMN correlate.detection_rule.description IS 'Sigma description.';
COMMENT ON COLUMN correlate.detection_rule.level IS 'Sigma level: informational, low, medium, high, critical.';
COMMENT ON COLUMN correlate.detection_rule.severity_id IS 'OCSF severity of the level (1 informational ... 5 critical, 0 none), copied to its detections.';
COMMENT ON COLUMN correlate.detection_rule.status IS 'Sigma status (stable, test, experimental...).';
COMMENT ON COLUMN correlate.detection_rule.product IS 'logsource product.';
COMMENT ON COLUMN correlate.detection_rule.service IS 'logsource service.';
COMMENT ON COLUMN correlate.detection_rule.category IS 'logsource category.';
COMMENT ON COLUMN correlate.detection_rule.source IS 'correlate.event.source the rule runs over (cloudtrail, k8s_audit, falco, vpc_flow, ocsf).';
COMMENT ON COLUMN correlate.detection_rule.tags IS 'Sigma tags as written.';
COMMENT ON COLUMN correlate.detection_rule.tactics IS 'MITRE ATT&CK tactics from the tags (attack.<tactic>), hyphenated.';
COMMENT ON COLUMN correlate.detection_rule.techniques IS 'MITRE ATT&CK technique ids from the tags (T1078, T1552.007).';
COMMENT ON COLUMN correlate.detection_rule.rule_text IS 'The rule''s YAML document as loaded; recompiled by each backend.';
COMMENT ON COLUMN correlate.detection_rule.name IS 'Sigma name, by which correlation rules may refer to the rule (as by id or title).';
COMMENT ON COLUMN correlate.detection_rule.correlation IS 'For a Sigma correlation rule: type, rules, group_by, timespan_s, min, field, link, max_hops (correlate.detect_correlations); for a baseline rule: type first_seen or rare, value, learning_s, min_events, rare_share (correlate.detect_baselines); NULL for a detection rule.';
COMMENT ON COLUMN correlate.detection_rule.origin IS 'Where it was loaded from (file path), if from a file.';
COMMENT ON COLUMN correlate.detection_rule.builtin IS 'True for rules of the builtin pack (correlate.load_builtin_detections()).';
COMMENT ON COLUMN correlate.detection_rule.enabled IS 'Disabled rules are kept but not evaluated.';
COMMENT ON COLUMN correlate.detection_rule.loaded_at IS 'When the rule was (re)loaded.';

CREATE TABLE correlate.detection (
	tenant      text NOT NULL DEFAULT correlate.current_tenant(),
	id          bigint GENERATED ALWAYS AS IDENTITY,
	rule_id     bigint NOT NULL,
	sigma_id    text NOT NULL,
	title       text NOT NULL,
	author      text,
	level       text,
	severity_id smallint NOT NULL CHECK (severity_id BETWEEN 0 AND 6),
	tactics     text[] NOT NULL DEFAULT '{}',
	techniques  text[] NOT NULL DEFAULT '{}',
	event_id    bigint NOT NULL,
	event_ts    timestamptz NOT NULL,
	source      text NOT NULL,
	entity      bigint,
	detected_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, rule_id, event_id, event_ts),
	FOREIGN KEY (tenant, rule_id) REFERENCES correlate.detection_rule (tenant, id) ON DELETE CASCADE
);
CREATE INDEX detection_event_idx ON correlate.detection (tenant, event_id, event_ts);
COMMENT ON TABLE correlate.detection IS 'One row per (Sigma rule, event) match, from ingest or correlate.detect().';
COMMENT ON COLUMN correlate.detection.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.detection.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.detection.rule_id IS 'The detection_rule that matched.';
COMMENT ON COLUMN correlate.detection.sigma_id IS 'The rule''s Sigma id (kept with the detection).';
COMMENT ON COLUMN correlate.detection.title IS 'The rule''s title.';
COMMENT ON COLUMN correlate.detection.author IS 'The rule''s author (kept as the rule''s licence asks).';
COMMENT ON COLUMN correlate.detection.level IS 'The rule''s Sigma level.';
COMMENT ON COLUMN correlate.detection.severity_id IS 'OCSF severity from the level: 1 informational ... 5 critical; 0 when the rule has none.';
COMMENT ON COLUMN correlate.detection.tactics IS 'ATT&CK tactics of the rule.';
COMMENT ON COLUMN correlate.detection.techniques IS 'ATT&CK technique ids of the rule.';
COMMENT ON COLUMN correlate.detection.event_id IS 'The event that matched (correlate.event.id; no foreign key, retention drops partitions).';
COMMENT ON COLUMN correlate.detection.event_ts IS 'The event''s time.';
COMMENT ON COLUMN correlate.detection.source IS 'The event''s source.';
COMMENT ON COLUMN correlate.detection.entity IS 'Resource the detection is about, as incidents resolve it: the event''s actor, else the owner of its source address, else its target.';
COMMENT ON COLUMN correlate.detection.detected_at IS 'When the detection was recorded.';

SELECT correlate._isolate_tenants('correlate.detection_rule', 'correlate.detection');

-- ---- C entry points ---------------------------------------------------------

CREATE FUNCTION correlate._sigma_parse(yaml text, origin text)
RETURNS TABLE (sigma_id text, title text, author text, description text, level text, status text,
			   product text, service text, category text, source text, tags text[], rule_text text,
			   name text, correlation text)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'correlate_sigma_parse';
COMMENT ON FUNCTION correlate._sigma_parse(text, text)
	IS 'Internal: parses and compiles every Sigma rule document of yaml (ERROR on the first refused one); one row per rule.';

CREATE FUNCTION correlate._sigma_read(path text) RETURNS TABLE (path text, body text)
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'correlate_sigma_read';
COMMENT ON FUNCTION correlate._sigma_read(text)
	IS 'Internal: the text of a rule file, or of every .yml/.yaml file under a directory (sorted, recursive); needs pg_read_server_files.';

CREATE FUNCTION correlate._sigma_match(source text, record jsonb, only_ids bigint[]) RETURNS bigint[]
LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'correlate_sigma_match';
COMMENT ON FUNCTION correlate._sigma_match(text, jsonb, bigint[])
	IS 'Internal: ids of the tenant''s enabled detection rules for source (restricted to only_ids when not NULL) that match record, or NULL.';

CREATE FUNCTION correlate.sigma_matches(rule text, record jsonb) RETURNS boolean
LANGUAGE C STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'correlate_sigma_matches';
COMMENT ON FUNCTION correlate.sigma_matches(text, jsonb)
	IS 'Whether one Sigma rule (YAML text) matches a record, compiled for this call: for writing and testing rules.';

CREATE FUNCTION correlate._detection_rule_changed() RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'correlate_detection_rule_changed';
COMMENT ON FUNCTION correlate._detection_rule_changed()
	IS 'Internal: statement trigger that makes every backend recompile the detection rules.';

CREATE TRIGGER detection_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON correlate.detection_rule
	FOR EACH STATEMENT EXECUTE FUNCTION correlate._detection_rule_changed();

-- ---- helpers ------------------------------------------------------------------

CREATE FUNCTION correlate._attack_tactics(tags text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(array_agg(DISTINCT x.t ORDER BY x.t), '{}')
	FROM (SELECT replace(lower(substr(g, 8)), '_', '-') AS t FROM unnest(tags) g WHERE lower(g) LIKE 'attack.%') x
	WHERE x.t IN ('reconnaissance', 'resource-development', 'initial-access', 'execution', 'persistence',
				  'privilege-escalation', 'defense-evasion', 'stealth', 'defense-impairment', 'credential-access',
				  'discovery', 'lateral-movement', 'collection', 'command-and-control', 'exfiltration', 'impact')
$$;
COMMENT ON FUNCTION correlate._attack_tactics(text[]) IS 'Internal: ATT&CK tactics named by Sigma tags (attack.credential-access -> credential-access).';

CREATE FUNCTION correlate._attack_techniques(tags text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(array_agg(DISTINCT upper(substr(g, 8)) ORDER BY upper(substr(g, 8))), '{}')
	FROM unnest(tags) g WHERE g ~* '^attack\.t[0-9]{4}(\.[0-9]{3})?$'
$$;
COMMENT ON FUNCTION correlate._attack_techniques(text[]) IS 'Internal: ATT&CK technique ids named by Sigma tags (attack.t1552.007 -> T1552.007).';

CREATE FUNCTION correlate._level_severity(level text) RETURNS smallint
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE level WHEN 'informational' THEN 1 WHEN 'low' THEN 2 WHEN 'medium' THEN 3 WHEN 'high' THEN 4
					  WHEN 'critical' THEN 5 ELSE 0 END::smallint
$$;
COMMENT ON FUNCTION correlate._level_severity(text) IS 'Internal: OCSF severity_id of a Sigma level.';

-- ---- loading --------------------------------------------------------------------

CREATE FUNCTION correlate._store_rules(yaml text, origin text, builtin boolean)
RETURNS TABLE (sigma_id text, title text, source text, replaced boolean)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO correlate.detection_rule AS r (sigma_id, title, author, description, level, severity_id, status, product,
		service, category, source, tags, tactics, techniques, rule_text, name, correlation, origin, builtin)
	SELECT p.sigma_id, p.title, p.author, p.description, p.level, correlate._level_severity(p.level), p.status,
		   p.product, p.service, p.category,
		   p.source, p.tags, correlate._attack_tactics(p.tags), correlate._attack_techniques(p.tags), p.rule_text,
		   p.name, p.correlation::jsonb, origin, builtin
	FROM correlate._sigma_parse(yaml, COALESCE(origin, 'the rule text')) p
	ON CONFLICT (tenant, sigma_id) DO UPDATE
		SET title = EXCLUDED.title, author = EXCLUDED.author, description = EXCLUDED.description,
			level = EXCLUDED.level, severity_id = EXCLUDED.severity_id, status = EXCLUDED.status,
			product = EXCLUDED.product, service = EXCLUDED.service, category = EXCLUDED.category, source = EXCLUDED.source, tags = EXCLUDED.tags, tactics = EXCLUDED.tactics,
			techniques = EXCLUDED.techniques, rule_text = EXCLUDED.rule_text, name = EXCLUDED.name,
			correlation = EXCLUDED.correlation, origin = EXCLUDED.origin,
			builtin = EXCLUDED.builtin, loaded_at = now()
	RETURNING r.sigma_id, r.title, r.source, (r.xmax <> 0)
$$;
COMMENT ON FUNCTION correlate._store_rules(text, text, boolean) IS 'Internal: compiles and upserts the rules of one YAML text.';

CREATE FUNCTION correlate.load_sigma(yaml text)
RETURNS TABLE (sigma_id text, title text, source text, replaced boolean)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.sigma_id, s.title, s.source, s.replaced FROM correlate._store_rules(yaml, NULL, false) s ORDER BY s.sigma_id
$$;
COMMENT ON FUNCTION correlate.load_sigma(text)
	IS 'Loads the Sigma rules of a YAML text (one or more documents) into correlate.detection_rule: all of them or, on any error, none.';

CREATE FUNCTION correlate.load_sigma_file(path text)
RETURNS TABLE (sigma_id text, title text, source text, replaced boolean, file text)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.sigma_id, s.title, s.source, s.replaced, f.path
	FROM correlate._sigma_read(path) f, LATERAL correlate._store_rules(f.body, f.path, false) s
	ORDER BY f.path, s.sigma_id
$$;
COMMENT ON FUNCTION correlate.load_sigma_file(text)
	IS 'Loads the Sigma rules of a server file (one or more documents) or of every .yml/.yaml file under a directory; all or none.';

-- ---- evaluation ---------------------------------------------------------------

CREATE FUNCTION correlate._record_detections(src text, ts timestamptz[], uid text[], rule_ids bigint[]) RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	-- the tenant as an init plan (evaluated once, and a parameter the event identity index can use)
	WITH ins AS (
		INSERT INTO correlate.detection (tenant, rule_id, sigma_id, title, author, level, severity_id, tactics,
										 techniques, event_id, event_ts, source, entity)
		SELECT e.tenant, r.id, r.sigma_id, r.title, r.author, r.level, r.severity_id, r.tactics,
			   r.techniques, e.id, e.ts, e.source,
			   COALESCE(e.actor, CASE WHEN e.src_ip IS NOT NULL THEN correlate.resolve_ip(e.src_ip, e.ts) END, e.target)
		FROM unnest(ts, uid, rule_ids) u(ts, uid, rid)
		JOIN correlate.event e ON e.tenant = (SELECT correlate.current_tenant()) AND e.ts = u.ts
								AND e.source = src AND e.uid = u.uid
		JOIN correlate.detection_rule r ON r.tenant = e.tenant AND r.id = u.rid
		ON CONFLICT (tenant, rule_id, event_id, event_ts) DO NOTHING
		RETURNING 1
	)
	SELECT count(*) FROM ins
$$;
COMMENT ON FUNCTION correlate._record_detections(text, timestamptz[], text[], bigint[])
	IS 'Internal (ingest): stores the detections of events just written, identified by (source, ts, uid).';

CREATE FUNCTION correlate.detect(since timestamptz, until timestamptz, rules text[] DEFAULT NULL)
RETURNS TABLE (sigma_id text, title text, matched bigint, created bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- the scan's cost is the compiled rules (C); JIT-compiling its few expressions cost more than it saved
SET jit = off
AS $$
DECLARE
	t text := correlate.current_tenant();
	only_ids bigint[];
	unknown text;
BEGIN
	IF rules IS NOT NULL THEN
		SELECT u.x INTO unknown FROM unnest(rules) u(x)
		WHERE NOT EXISTS (SELECT 1 FROM correlate.detection_rule r WHERE r.tenant = t AND r.enabled
						  AND (r.sigma_id = u.x OR r.title = u.x))
		LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'unknown detection rule %', COALESCE(quote_literal(unknown), 'NULL')
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'No enabled rule of this tenant has that Sigma id or title.';
		END IF;
		SELECT array_agg(r.id ORDER BY r.id) INTO only_ids FROM correlate.detection_rule r
		WHERE r.tenant = t AND r.enabled AND (r.sigma_id = ANY (rules) OR r.title = ANY (rules));
	END IF;
	RETURN QUERY
	WITH m AS MATERIALIZED (
		SELECT e.id, e.ts, e.source, e.actor, e.target, e.src_ip, x.rid
		FROM correlate.event e
		CROSS JOIN LATERAL unnest(correlate._sigma_match(e.source, e.raw, only_ids)) x(rid)
		WHERE e.tenant = t AND (since IS NULL OR e.ts >= since) AND (until IS NULL OR e.ts < until)
		  AND e.raw IS NOT NULL
		  AND e.source IN (SELECT DISTINCT r.source FROM correlate.detection_rule r WHERE r.tenant = t AND r.enabled)
	), ins AS (
		INSERT INTO correlate.detection (tenant, rule_id, sigma_id, title, author, level, severity_id, tactics,
										 techniques, event_id, event_ts, source, entity)
		SELECT t, r.id, r.sigma_id, r.title, r.author, r.level, r.severity_id, r.tactics,
			   r.techniques, m.id, m.ts, m.source,
			   COALESCE(m.actor, CASE WHEN m.src_ip IS NOT NULL THEN correlate.resolve_ip(m.src_ip, m.ts) END, m.target)
		FROM m JOIN correlate.detection_rule r ON r.tenant = t AND r.id = m.rid
		ON CONFLICT (tenant, rule_id, event_id, event_ts) DO NOTHING
		RETURNING rule_id
	)
	SELECT r.sigma_id, r.title,
		   (SELECT count(*) FROM m WHERE m.rid = r.id),
		   (SELECT count(*) FROM ins WHERE ins.rule_id = r.id)
	FROM correlate.detection_rule r
	WHERE r.tenant = t AND r.id IN (SELECT m.rid FROM m)
	ORDER BY r.sigma_id;
END
$$;
COMMENT ON FUNCTION correlate.detect(timestamptz, timestamptz, text[])
	IS 'Runs the tenant''s enabled Sigma rules (or those named by Sigma id or title) over stored events in [since, until) (NULL: no bound); idempotent.';

-- What a detection's entity can reach within max_hops over the attack graph (the
-- graph functions' default layer, 75_attack.sql): the entity and the workload it
-- runs in (a container's pod: the same workload, not a hop) are the sources; a
-- resource that no longer exists reaches nothing.
CREATE FUNCTION correlate._detection_reach(entity bigint, max_hops integer) RETURNS bigint[]
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	WITH src AS (
		-- a detection outlives its entity (no foreign key): a resource gone reaches nothing
		SELECT r.id FROM correlate.resource r
		WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.id = entity
		UNION
		SELECT l.src FROM correlate.relationship l
		JOIN correlate.resource p ON p.tenant = l.tenant AND p.id = l.src AND p.kind = 'k8s:pod'
		JOIN correlate.resource k ON k.tenant = l.tenant AND k.id = l.dst AND k.kind = 'container'
		WHERE l.tenant = (SELECT correlate.current_tenant()) AND l.dst = entity AND l.kind = 'contains'
	)
	SELECT ARRAY(SELECT s.id FROM src s
				 UNION
				 SELECT b.resource_id FROM correlate.blast_radius(ARRAY(SELECT s.id FROM src s), max_hops) b
				 WHERE EXISTS (SELECT 1 FROM src)
				 ORDER BY 1)
$$;
COMMENT ON FUNCTION correlate._detection_reach(bigint, integer)
	IS 'Internal: the resources a detection''s entity (with the pod of a container) reaches within max_hops over the attack graph, itself included; correlate.reachable(N) grouping.';

-- One engine for correlation rules: each match of a Sigma correlation rule is a
-- detection of the rule on the event that completed it AND an incident (rule
-- 'sigma:<id>', anchored on the first detection's event, with the events of every
-- detection of the match) -- the output correlate()'s step rules write.  One row
-- per match.  strict: a rule that names a rule not loaded is an ERROR (else a
-- WARNING and the rule is skipped, so one broken user rule cannot stop correlate()).
CREATE FUNCTION correlate._correlate_sigma(since timestamptz, until timestamptz, strict boolean)
RETURNS TABLE (sigma_id text, title text, detection_created boolean, incident_id bigint, incident_created boolean,
			   incident_events integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	t text := correlate.current_tenant();
	inc_id bigint;
	was_new boolean;
	n_ev integer;
	cr record;
	w record;
	refs bigint[];
	typ text;
	span interval;
	k integer;
	need integer;
	last_grp text[];
	last_end timestamptz;
	added bigint;
	lnk text;
	hops integer;
BEGIN
	FOR cr IN SELECT r.id, r.sigma_id, r.title, r.level, r.correlation AS c FROM correlate.detection_rule r
			  WHERE r.tenant = t AND r.enabled AND r.correlation IS NOT NULL
				AND r.correlation->>'type' NOT IN ('first_seen', 'rare') ORDER BY r.sigma_id
	LOOP
		-- the rules it names, by Sigma id, name or title, in its order
		SELECT array_agg(x.id ORDER BY x.ord) INTO refs
		FROM (SELECT DISTINCT ON (u.ord) u.ord, d.id
			  FROM jsonb_array_elements_text(cr.c->'rules') WITH ORDINALITY u(ref, ord)
			  -- detection and baseline rules (89_baselines.sql), not other correlation rules
			  JOIN correlate.detection_rule d ON d.tenant = t
											 AND (d.correlation IS NULL OR d.correlation->>'type' IN ('first_seen', 'rare'))
											 AND (d.sigma_id = u.ref OR d.name = u.ref OR d.title = u.ref)
			  ORDER BY u.ord, d.id) x;
		IF (refs IS NULL OR cardinality(refs) < jsonb_array_length(cr.c->'rules')) AND NOT strict THEN
			RAISE WARNING 'correlation rule % names a rule that is not loaded; skipped', quote_literal(cr.title)
				USING DETAIL = 'Rules named: ' || (cr.c->'rules')::text || '.';
			CONTINUE;
		ELSIF refs IS NULL OR cardinality(refs) < jsonb_array_length(cr.c->'rules') THEN
			RAISE EXCEPTION 'correlation rule % names a rule that is not loaded', quote_literal(cr.title)
				USING ERRCODE = 'undefined_object', DETAIL = 'Rules named: ' || (cr.c->'rules')::text || '.';
		END IF;
		typ := cr.c->>'type';
		lnk := cr.c->>'link';
		hops := (cr.c->>'max_hops')::integer;
		span := make_interval(secs => (cr.c->>'timespan_s')::float8);
		k := GREATEST((cr.c->>'min')::integer, 1);
		need := CASE WHEN (cr.c->>'min')::integer > 0 THEN (cr.c->>'min')::integer
					 ELSE (SELECT count(DISTINCT x) FROM unnest(refs) x) END;
		last_grp := NULL;
		last_end := NULL;
		-- every window that meets the condition: from each detection of the group (its start)
		-- to the detection that completes it; then, per group, windows that do not overlap
		FOR w IN
			WITH d0 AS MATERIALIZED (
				SELECT dt.event_id, dt.event_ts AS ts, dt.rule_id, dt.entity, dt.source,
					   CASE WHEN lnk IS NOT NULL THEN ARRAY[dt.entity::text] ELSE
					   ARRAY(SELECT CASE WHEN g.f = 'correlate.entity' THEN dt.entity::text
										 ELSE e.raw #>> pg_catalog.string_to_array(g.f, '.') END
							 FROM jsonb_array_elements_text(cr.c->'group_by') WITH ORDINALITY g(f, o) ORDER BY g.o) END AS grp,
					   e.raw #>> pg_catalog.string_to_array(cr.c->>'field', '.') AS val
				FROM correlate.detection dt
				JOIN correlate.event e ON e.tenant = t AND e.id = dt.event_id AND e.ts = dt.event_ts
				WHERE dt.tenant = t AND dt.rule_id = ANY (refs)
				  AND (since IS NULL OR dt.event_ts >= since) AND (until IS NULL OR dt.event_ts < until + span)
			), ent AS MATERIALIZED (
				-- graph-joined grouping, once per distinct entity: its identity chain (as
				-- incidents resolve it) and what it reaches
				SELECT x.entity, x.chain,
					   CASE WHEN lnk = 'reachable' THEN correlate._detection_reach(x.entity, hops) ELSE x.chain END AS reach
				FROM (SELECT u.entity, correlate._entity_chain(u.entity, NULL, NULL, NULL) AS chain
					  FROM (SELECT DISTINCT d0.entity FROM d0 WHERE lnk IS NOT NULL AND d0.entity IS NOT NULL) u) x
			), d AS MATERIALIZED (
				-- key: what a later detection offers; reach: what an anchor accepts
				SELECT d0.*,
					   CASE WHEN lnk = 'reachable' THEN ARRAY[d0.entity] ELSE ent.chain END AS key,
					   ent.reach
				FROM d0 LEFT JOIN ent ON ent.entity = d0.entity
			)
			SELECT s.grp, s.ts AS start_ts, s.event_id AS start_id, s.entity, s.source, fin.event_id AS end_id,
				   fin.ts AS end_ts, evs.ids, evs.tss, evs.steps
			FROM d s
			CROSS JOIN LATERAL (
				SELECT x.event_id, x.ts FROM (
					SELECT c.event_id, c.ts FROM d c
					WHERE typ = 'event_count' AND (CASE WHEN lnk IS NULL THEN c.grp = s.grp ELSE c.key && s.reach END) AND (c.ts, c.event_id) >= (s.ts, s.event_id)
					  AND c.ts <= s.ts + span
					ORDER BY c.ts, c.event_id OFFSET k - 1 LIMIT 1) x
				UNION ALL
				SELECT x.event_id, x.ts FROM (
					SELECT v.event_id, v.ts, count(*) FILTER (WHERE v.first) OVER (ORDER BY v.ts, v.event_id) AS nd
					FROM (SELECT c.event_id, c.ts,
								 row_number() OVER (PARTITION BY c.val ORDER BY c.ts, c.event_id) = 1 AS first
						  FROM d c
						  WHERE typ = 'value_count' AND (CASE WHEN lnk IS NULL THEN c.grp = s.grp ELSE c.key && s.reach END) AND c.val IS NOT NULL
							AND (c.ts, c.event_id) >= (s.ts, s.event_id) AND c.ts <= s.ts + span) v) x
				WHERE x.nd >= k
				UNION ALL
				SELECT (array_agg(f.event_id ORDER BY f.ts DESC, f.event_id DESC))[1], max(f.ts)
				FROM (SELECT DISTINCT ON (c.rule_id) c.rule_id, c.event_id, c.ts FROM d c
					  WHERE typ = 'temporal' AND (CASE WHEN lnk IS NULL THEN c.grp = s.grp ELSE c.key && s.reach END) AND (c.ts, c.event_id) >= (s.ts, s.event_id)
						AND c.ts <= s.ts + span
					  ORDER BY c.rule_id, c.ts, c.event_id) f
				HAVING typ = 'temporal' AND count(*) >= need
				UNION ALL
				SELECT q.event_id, q.ts FROM (
					WITH RECURSIVE seq (i, event_id, ts) AS (
						SELECT 1, s.event_id, s.ts WHERE typ = 'temporal_ordered' AND s.rule_id = refs[1]
						UNION ALL
						SELECT seq.i + 1, nx.event_id, nx.ts
						FROM seq CROSS JOIN LATERAL (
							SELECT c.event_id, c.ts FROM d c
							WHERE (CASE WHEN lnk IS NULL THEN c.grp = s.grp ELSE c.key && s.reach END) AND c.rule_id = refs[seq.i + 1] AND (c.ts, c.event_id) > (seq.ts, seq.event_id)
							  AND c.ts <= s.ts + span
							ORDER BY c.ts, c.event_id LIMIT 1) nx
						WHERE seq.i < cardinality(refs))
					SELECT seq.event_id, seq.ts FROM seq WHERE seq.i = cardinality(refs)) q
				ORDER BY 2, 1
				LIMIT 1
			) fin
			-- the match's detections: those of the group from the first to the completing one
			CROSS JOIN LATERAL (
				SELECT array_agg(c.event_id ORDER BY c.ts, c.event_id) AS ids, array_agg(c.ts ORDER BY c.ts, c.event_id) AS tss,
					   array_agg(LEAST(array_position(refs, c.rule_id), 20) ORDER BY c.ts, c.event_id) AS steps
				FROM d c
				WHERE (CASE WHEN lnk IS NULL THEN c.grp = s.grp ELSE c.key && s.reach END)
				  AND (c.ts, c.event_id) >= (s.ts, s.event_id) AND (c.ts, c.event_id) <= (fin.ts, fin.event_id)
			) evs
			WHERE (since IS NULL OR s.ts >= since) AND (until IS NULL OR s.ts < until)
			  -- a graph-joined group starts at a detection of the first rule (the workload)
			  AND (lnk IS NULL OR (s.rule_id = refs[1] AND s.reach IS NOT NULL))
			ORDER BY s.grp, s.ts, s.event_id
		LOOP
			IF last_grp IS DISTINCT FROM w.grp OR w.start_ts > last_end THEN
				INSERT INTO correlate.detection (tenant, rule_id, sigma_id, title, author, level, severity_id, tactics,
												 techniques, event_id, event_ts, source, entity)
				SELECT t, r.id, r.sigma_id, r.title, r.author, r.level, r.severity_id, r.tactics, r.techniques,
					   w.end_id, w.end_ts, w.source, w.entity
				FROM correlate.detection_rule r WHERE r.tenant = t AND r.id = cr.id
				ON CONFLICT (tenant, rule_id, event_id, event_ts) DO NOTHING;
				GET DIAGNOSTICS added = ROW_COUNT;
				last_grp := w.grp;
				last_end := w.end_ts;

				INSERT INTO correlate.incident AS i (tenant, rule, title, severity, anchor_event, first_ts, last_ts, entities)
				VALUES (t, 'sigma:' || cr.sigma_id, cr.title,
						CASE cr.level WHEN 'critical' THEN 'critical' WHEN 'high' THEN 'high' WHEN 'medium' THEN 'medium'
									  WHEN 'low' THEN 'low' WHEN 'informational' THEN 'low' ELSE 'medium' END,
						w.start_id, w.start_ts, w.end_ts, correlate._entity_chain(w.entity, NULL, NULL, NULL))
				ON CONFLICT (tenant, rule, anchor_event) DO UPDATE SET
					first_ts = LEAST(i.first_ts, EXCLUDED.first_ts), last_ts = GREATEST(i.last_ts, EXCLUDED.last_ts)
				RETURNING i.id, (i.xmax = 0) INTO inc_id, was_new;
				INSERT INTO correlate.incident_event (tenant, incident, event_id, event_ts, step)
				SELECT DISTINCT ON (m.id) t, inc_id, m.id, m.ts, m.step
				FROM unnest(w.ids, w.tss, w.steps) m(id, ts, step)
				ORDER BY m.id, m.step
				ON CONFLICT DO NOTHING;
				GET DIAGNOSTICS n_ev = ROW_COUNT;
				IF n_ev > 0 AND NOT was_new THEN
					UPDATE correlate.incident i SET updated_at = now() WHERE i.tenant = t AND i.id = inc_id;
				END IF;

				sigma_id := cr.sigma_id;
				title := cr.title;
				detection_created := added > 0;
				incident_id := inc_id;
				incident_created := was_new;
				incident_events := n_ev;
				RETURN NEXT;
			END IF;
		END LOOP;
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate._correlate_sigma(timestamptz, timestamptz, boolean)
	IS 'Internal: evaluates the tenant''s enabled Sigma correlation rules over the detections of [since, until); each match becomes a detection and an incident; one row per match.';

CREATE FUNCTION correlate.detect_correlations(since timestamptz, until timestamptz)
RETURNS TABLE (sigma_id text, title text, matched bigint, created bigint)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.sigma_id, m.title, count(*), count(*) FILTER (WHERE m.detection_created)
	FROM correlate._correlate_sigma(since, until, true) m
	GROUP BY m.sigma_id, m.title ORDER BY m.sigma_id
$$;
COMMENT ON FUNCTION correlate.detect_correlations(timestamptz, timestamptz)
	IS 'Runs the tenant''s enabled Sigma correlation rules (event_count, value_count, temporal, temporal_ordered) over the detections of [since, until); each match is a detection of the correlation rule on the event that completed it, and an incident (rule ''sigma:<id>''); idempotent. correlate() runs them too.';

SELECT pg_catalog.pg_extension_config_dump('correlate.detection_rule', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('correlate.detection', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.detection_rule', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.detection', 'id')::regclass, '');

GRANT SELECT ON correlate.detection_rule, correlate.detection TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.detection TO correlate_writer;
GRANT INSERT, UPDATE, DELETE, TRUNCATE ON correlate.detection_rule TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate._attack_tactics(text[]), correlate._attack_techniques(text[]),
	correlate._detection_reach(bigint, integer),
	correlate._level_severity(text), correlate._sigma_match(text, jsonb, bigint[]),
	correlate.sigma_matches(text, jsonb) TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.detect(timestamptz, timestamptz, text[]),
	correlate.detect_correlations(timestamptz, timestamptz), correlate._correlate_sigma(timestamptz, timestamptz, boolean),
	correlate._record_detections(text, timestamptz[], text[], bigint[]) TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate._sigma_parse(text, text), correlate._sigma_read(text),
	correlate._store_rules(text, text, boolean), correlate.load_sigma(text), correlate.load_sigma_file(text),
	correlate._detection_rule_changed() TO correlate_admin;

-- ==== src/sql/88_detection_pack.sql ====
-- 88_detection_pack.sql: the builtin Sigma rule pack, written by the correlate project for
-- CloudTrail and Kubernetes audit logs (docs/detection.md has its ATT&CK coverage table).
--
-- The pack is data in correlate.detection_pack (one multi-document YAML text per log
-- source), not tenant rules: correlate.load_builtin_detections() loads it into the calling
-- tenant's correlate.detection_rule (builtin = true), and loading it again replaces the
-- rules by their Sigma ids.  CREATE EXTENSION loads nothing into any tenant.

CREATE TABLE correlate.detection_pack (
	name text PRIMARY KEY CHECK (name ~ '^[a-z0-9_]+$'),
	yaml text NOT NULL
);
COMMENT ON TABLE correlate.detection_pack IS 'The builtin Sigma rules (one multi-document YAML text per log source), loaded per tenant by correlate.load_builtin_detections().';
COMMENT ON COLUMN correlate.detection_pack.name IS 'Pack name: the event source its rules run over.';
COMMENT ON COLUMN correlate.detection_pack.yaml IS 'The pack''s Sigma rules, YAML documents separated by ---.';

INSERT INTO correlate.detection_pack (name, yaml) VALUES ('cloudtrail', $sigma$
title: Secrets Manager Secret Values Read By A Long-Term User
id: 3f54e98c-cb33-5bac-9010-e71ead7a7d7b
status: experimental
description: An IAM user or the root user (not a workload role) read secret values from Secrets Manager; workloads read secrets through roles, people rarely need the values.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: secretsmanager.amazonaws.com
    eventName:
      - GetSecretValue
      - BatchGetSecretValue
    userIdentity.type:
      - IAMUser
      - Root
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.credential-access
  - attack.t1555.006
---
title: SSM SecureString Parameters Decrypted By A Long-Term User
id: 6e2a6c3c-e505-5492-b0cd-3ffcd8d9b05f
status: experimental
description: An IAM user or the root user asked Parameter Store for decrypted SecureString values.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ssm.amazonaws.com
    eventName:
      - GetParameter
      - GetParameters
      - GetParametersByPath
    requestParameters.withDecryption: true
    userIdentity.type:
      - IAMUser
      - Root
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.credential-access
  - attack.t1555.006
---
title: CloudTrail Trail Stopped, Deleted Or Narrowed
id: f4f81b2d-9283-538d-a7ea-4b2007342bbf
status: experimental
description: A trail stopped logging, was deleted, or had its event selectors or settings changed, which can blind the audit log.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName:
      - StopLogging
      - DeleteTrail
      - PutEventSelectors
      - UpdateTrail
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: high
tags:
  - attack.defense-evasion
  - attack.t1562.008
---
title: VPC Flow Logs Or DNS Query Logging Removed
id: d2212ab7-6fd0-5188-b033-6ce8232ae8a6
status: experimental
description: Network telemetry was switched off, VPC flow logs deleted or Route 53 Resolver query logging removed.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  flow_logs:
    eventSource: ec2.amazonaws.com
    eventName: DeleteFlowLogs
  dns_logs:
    eventSource: route53resolver.amazonaws.com
    eventName:
      - DeleteResolverQueryLogConfig
      - DisassociateResolverQueryLogConfig
  failed:
    errorCode|exists: true
  condition: (flow_logs or dns_logs) and not failed
level: high
tags:
  - attack.defense-evasion
  - attack.t1562.008
---
title: GPU Or Very Large EC2 Instances Requested
id: 503e165b-5c5c-5802-8f2d-2b0f8c5c224a
status: experimental
description: RunInstances asked for GPU, accelerator or memory-optimised instance families that crypto-mining and model abuse favour; denied attempts count too.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ec2.amazonaws.com
    eventName: RunInstances
    requestParameters.instanceType|startswith:
      - 'p2.'
      - 'p3.'
      - 'p3dn.'
      - 'p4d.'
      - 'p4de.'
      - 'p5.'
      - 'g3.'
      - 'g4dn.'
      - 'g4ad.'
      - 'g5.'
      - 'g6.'
      - 'inf1.'
      - 'inf2.'
      - 'trn1.'
      - 'dl1.'
      - 'x1.'
      - 'x1e.'
      - 'x2'
      - 'u-'
  condition: selection
level: medium
tags:
  - attack.execution
  - attack.impact
  - attack.t1496
---
title: EC2 Instance User Data Modified
id: 3cc7796e-46b3-5ba0-862b-b0a2a334996b
status: experimental
description: ModifyInstanceAttribute changed an instance's user data, the script it runs at boot.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ec2.amazonaws.com
    eventName: ModifyInstanceAttribute
  user_data:
    - requestParameters.userData|exists: true
    - requestParameters.attribute: userData
  failed:
    errorCode|exists: true
  condition: selection and user_data and not failed
level: medium
tags:
  - attack.execution
  - attack.persistence
  - attack.t1059.009
---
title: Commands Or Sessions Started On Instances Through SSM
id: 7f649e9d-9afa-5618-8a43-27195ec6b241
status: experimental
description: SSM Run Command or Session Manager ran commands on instances.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ssm.amazonaws.com
    eventName:
      - SendCommand
      - StartSession
      - ResumeSession
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.execution
  - attack.t1651
---
title: Security Group Opened To Any Address
id: 8f7964e1-a54f-5d72-a676-68f2eb77beb1
status: experimental
description: An ingress rule allowed a /0 block (any IPv4 or IPv6 address).
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ec2.amazonaws.com
    eventName: AuthorizeSecurityGroupIngress
  any_v4:
    - requestParameters.cidrIp|endswith: '/0'
    - requestParameters.ipPermissions.items.ipRanges.items.cidrIp|endswith: '/0'
  any_v6:
    - requestParameters.cidrIpv6|endswith: '::/0'
    - requestParameters.ipPermissions.items.ipv6Ranges.items.cidrIpv6|endswith: '::/0'
  failed:
    errorCode|exists: true
  condition: selection and 1 of any_* and not failed
level: high
tags:
  - attack.exfiltration
  - attack.defense-evasion
  - attack.t1562.007
---
title: Snapshot Or Machine Image Shared With Another Account
id: d4b5cf80-3588-5adb-aeb3-19ab0c64b612
status: experimental
description: An EBS snapshot, AMI or RDS snapshot was shared with another account, a way to copy data out.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  sel_ebs:
    eventName: ModifySnapshotAttribute
    requestParameters.createVolumePermission.add|exists: true
  sel_ami:
    eventName: ModifyImageAttribute
    requestParameters.launchPermission.add|exists: true
  sel_rds:
    eventName:
      - ModifyDBSnapshotAttribute
      - ModifyDBClusterSnapshotAttribute
    requestParameters.attributeName: restore
    requestParameters.valuesToAdd|exists: true
  failed:
    errorCode|exists: true
  condition: 1 of sel_* and not failed
level: high
tags:
  - attack.exfiltration
  - attack.t1537
---
title: Bedrock Foundation Model Access Enabled
id: 88f8669e-cf61-5a64-bd5c-26ac65993bce
status: experimental
description: Someone enabled access to Bedrock foundation models (use case, agreement, entitlement), the first step of model abuse with stolen credentials.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: bedrock.amazonaws.com
    eventName:
      - PutUseCaseForModelAccess
      - CreateFoundationModelAgreement
      - PutFoundationModelEntitlement
  condition: selection
level: medium
tags:
  - attack.impact
  - attack.t1496
---
title: Console Sign-In Without MFA
id: d21fac47-545a-5c98-bf71-98eaf45d4b56
status: experimental
description: A successful AWS console sign-in that did not use MFA.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: signin.amazonaws.com
    eventName: ConsoleLogin
    responseElements.ConsoleLogin: Success
    additionalEventData.MFAUsed: 'No'
  condition: selection
level: medium
tags:
  - attack.initial-access
  - attack.t1078.004
---
title: SSH Key Pushed To An Instance Through EC2 Instance Connect
id: 77c27bad-2d79-5812-8722-e6e5f606e013
status: experimental
description: EC2 Instance Connect installed a temporary SSH key on an instance (or its serial console).
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ec2-instance-connect.amazonaws.com
    eventName:
      - SendSSHPublicKey
      - SendSerialConsoleSSHPublicKey
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.lateral-movement
  - attack.t1021.008
---
title: IAM Role Trust Policy Changed
id: ebf6d63a-1b5b-5797-bec4-d3c802876c40
status: experimental
description: UpdateAssumeRolePolicy changed who may assume a role, the usual way to backdoor one.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName: UpdateAssumeRolePolicy
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.persistence
  - attack.privilege-escalation
  - attack.t1098
---
title: Administrator Policy Attached To An IAM Identity
id: 6b95c266-9e89-55fe-8d5d-a295a3c0054b
status: experimental
description: An AWS managed policy granting full or IAM-wide access was attached to a user, role or group.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName:
      - AttachUserPolicy
      - AttachRolePolicy
      - AttachGroupPolicy
    requestParameters.policyArn|endswith:
      - ':policy/AdministratorAccess'
      - ':policy/IAMFullAccess'
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: high
tags:
  - attack.privilege-escalation
  - attack.persistence
  - attack.t1098.003
---
title: Access Key Created For Another IAM User
id: 591458fc-2a09-519b-9117-62c58d402f38
status: experimental
description: CreateAccessKey for a user other than the caller gives the caller lasting credentials of that user.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName: CreateAccessKey
    requestParameters.userName|exists: true
  own_key:
    userIdentity.arn|fieldref|endswith: requestParameters.userName
  failed:
    errorCode|exists: true
  condition: selection and not own_key and not failed
level: medium
tags:
  - attack.persistence
  - attack.t1098.001
---
title: Console Password Set For Another IAM User
id: f5c7e14d-b68d-5986-9fbd-da69485a7f6e
status: experimental
description: CreateLoginProfile or UpdateLoginProfile for a user other than the caller lets the caller sign in as that user.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName:
      - CreateLoginProfile
      - UpdateLoginProfile
    requestParameters.userName|exists: true
  own_profile:
    userIdentity.arn|fieldref|endswith: requestParameters.userName
  failed:
    errorCode|exists: true
  condition: selection and not own_profile and not failed
level: high
tags:
  - attack.persistence
  - attack.privilege-escalation
  - attack.t1098
---
title: Lambda Function Invocable By Any Principal
id: 702a5f8d-c3ef-59ba-ac7b-c6cf19557e6b
status: experimental
description: A Lambda resource policy statement was added for principal "*", so anyone can invoke the function.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: lambda.amazonaws.com
    eventName|startswith: AddPermission
    requestParameters.principal: '\*'
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: high
tags:
  - attack.persistence
  - attack.t1546
---
title: Lambda Layer Added To A Function
id: 939d2eeb-edcf-5a61-a721-1c41b6a3e2d4
status: experimental
description: UpdateFunctionConfiguration set layers on a function; a layer (or extension) runs code inside every invocation.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: lambda.amazonaws.com
    eventName|startswith: UpdateFunctionConfiguration
    requestParameters.layers|exists: true
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.persistence
  - attack.t1546
---
title: Lambda Function Code Replaced By A Long-Term User
id: 563e92c9-7b9a-57f6-8c08-2ab2538126bd
status: experimental
description: An IAM user or the root user uploaded new code for a function; deployments normally come from pipeline roles.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: lambda.amazonaws.com
    eventName|startswith: UpdateFunctionCode
    userIdentity.type:
      - IAMUser
      - Root
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.persistence
  - attack.execution
  - attack.t1525
---
title: Threat Detection Or Configuration Recording Disabled
id: b6cf20de-d065-55a1-9b5e-3633b95b2acb
status: experimental
description: GuardDuty detectors or members were deleted, or AWS Config recording stopped or removed.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  guardduty:
    eventSource: guardduty.amazonaws.com
    eventName:
      - DeleteDetector
      - DeleteMembers
      - DisassociateFromMasterAccount
      - DisassociateFromAdministratorAccount
  config:
    eventSource: config.amazonaws.com
    eventName:
      - StopConfigurationRecorder
      - DeleteConfigurationRecorder
      - DeleteDeliveryChannel
  failed:
    errorCode|exists: true
  condition: (guardduty or config) and not failed
level: high
tags:
  - attack.defense-evasion
  - attack.t1562.001
---
title: Account-Wide IAM Enumeration
id: 40f00bcc-d7e1-5bcc-8c7d-9184c5c86c3b
status: experimental
description: GetAccountAuthorizationDetails returns every user, role, group and policy of the account at once, a favourite of reconnaissance tools.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName: GetAccountAuthorizationDetails
  condition: selection
level: low
tags:
  - attack.discovery
  - attack.t1087.004
$sigma$), ('k8s_audit', $sigma$
title: Shell Access Into A Pod
id: 4e998374-0ba2-5271-886e-7b7831cb092c
status: experimental
description: Someone opened exec or attach into a running container.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: create
    objectRef.resource: pods
    objectRef.subresource:
      - exec
      - attach
  condition: selection
level: medium
tags:
  - attack.execution
  - attack.t1609
---
title: RBAC Binding Created Or Changed By A User
id: d25bb831-254d-5c0f-b511-cd2a0c03de2d
status: experimental
description: A person (not a control-plane component) created or changed a role binding or cluster role binding, granting a subject new permissions.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource:
      - clusterrolebindings
      - rolebindings
    verb:
      - create
      - update
      - patch
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: medium
tags:
  - attack.privilege-escalation
  - attack.persistence
  - attack.t1098
---
title: Cluster-Admin Or Wildcard Permissions Granted
id: 7e139e64-bfaa-591b-8607-ef1b2b1a501f
status: experimental
description: A binding to cluster-admin, or a role whose rules grant every verb or every resource.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  binding:
    objectRef.resource:
      - clusterrolebindings
      - rolebindings
    verb:
      - create
      - update
      - patch
    requestObject.roleRef.name: cluster-admin
  wildcard_role:
    objectRef.resource:
      - clusterroles
      - roles
    verb:
      - create
      - update
      - patch
  wildcard:
    - requestObject.rules.verbs: '\*'
    - requestObject.rules.resources: '\*'
  condition: binding or (wildcard_role and wildcard)
level: high
tags:
  - attack.privilege-escalation
  - attack.t1078.001
---
title: RBAC Role Created Or Changed By A User
id: 7c1f0706-dec8-53e3-8ee0-e34d8f739a11
status: experimental
description: A person (not a control-plane component) created or changed a role or cluster role.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource:
      - clusterroles
      - roles
    verb:
      - create
      - update
      - patch
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: low
tags:
  - attack.persistence
  - attack.privilege-escalation
  - attack.t1098
---
title: Access Objects Deleted By A User
id: d8e7d320-2cc0-5d5f-9c84-79f5f0e271c1
status: experimental
description: A person deleted roles, bindings or service accounts, which can cut others' access or remove traces.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource:
      - clusterroles
      - clusterrolebindings
      - roles
      - rolebindings
      - serviceaccounts
    verb:
      - delete
      - deletecollection
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: medium
tags:
  - attack.defense-evasion
  - attack.impact
  - attack.t1531
---
title: Workload Created In A System Namespace
id: 2a0a2409-c7e7-5501-805b-a12c4b5ffe0f
status: experimental
description: A pod or workload was created in kube-system or kube-public, where it hides among cluster components and often runs with more privilege.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: create
    objectRef.namespace:
      - kube-system
      - kube-public
    objectRef.resource:
      - pods
      - deployments
      - daemonsets
      - statefulsets
      - replicasets
      - jobs
      - cronjobs
  subresource:
    objectRef.subresource|exists: true
  condition: selection and not subresource
level: medium
tags:
  - attack.persistence
  - attack.defense-evasion
  - attack.t1610
---
title: Service Account Created By A User
id: 5d8931b1-3119-5c95-8c86-67ec5a35d207
status: experimental
description: A person (not a controller) created a service account, an identity that outlives their own access.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: create
    objectRef.resource: serviceaccounts
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: medium
tags:
  - attack.persistence
  - attack.t1136
---
title: Secret Written Or Deleted By A User
id: a80f6b6d-f620-5c28-ae9f-90c5bc43a470
status: experimental
description: A person (not a controller) created, changed or deleted a secret.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource: secrets
    verb:
      - create
      - update
      - patch
      - delete
      - deletecollection
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: medium
tags:
  - attack.credential-access
  - attack.persistence
  - attack.impact
  - attack.t1552.007
---
title: Secrets Read By A User Or In kube-system
id: 533c305b-65a0-528c-a5f0-9c5810e7bcc6
status: experimental
description: A person read or listed secrets, or anyone but a node or controller read secrets of kube-system.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource: secrets
    verb:
      - get
      - list
      - watch
  system_ns:
    objectRef.namespace: kube-system
  system:
    user.username|startswith: 'system:'
  component:
    user.username|startswith:
      - 'system:node:'
      - 'system:kube-'
      - 'system:serviceaccount:kube-system:'
  condition: selection and (not system or (system_ns and not component))
level: medium
tags:
  - attack.credential-access
  - attack.t1552.007
---
title: Workloads, Services Or Namespaces Deleted By A User
id: 4526d124-9e92-528d-afab-cc8652291a33
status: experimental
description: A person deleted deployments, daemon sets, stateful sets, services, config maps or namespaces.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource:
      - deployments
      - daemonsets
      - statefulsets
      - replicasets
      - services
      - configmaps
      - namespaces
    verb:
      - delete
      - deletecollection
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: low
tags:
  - attack.impact
  - attack.t1485
  - attack.t1489
---
title: Namespace Created By A User
id: d355f1c5-4570-5db2-99a6-78b981a593a9
status: experimental
description: A person created a namespace, a fresh place to run workloads away from existing policies and monitoring.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: create
    objectRef.resource: namespaces
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: low
tags:
  - attack.defense-evasion
  - attack.t1564
---
title: Privileged Or Host-Access Pod Created
id: 93197617-aaa8-50b0-8708-4b3ce428f28e
status: experimental
description: A pod (or workload template) asks for a privileged container, added kernel capabilities, the host's PID, IPC or network namespace, or a hostPath volume.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb:
      - create
      - update
      - patch
    objectRef.resource:
      - pods
      - deployments
      - daemonsets
      - statefulsets
      - replicasets
      - jobs
      - cronjobs
  pod_spec:
    - requestObject.spec.containers.securityContext.privileged: true
    - requestObject.spec.initContainers.securityContext.privileged: true
    - requestObject.spec.containers.securityContext.capabilities.add:
        - SYS_ADMIN
        - SYS_PTRACE
        - SYS_MODULE
        - NET_ADMIN
        - ALL
    - requestObject.spec.hostPID: true
    - requestObject.spec.hostIPC: true
    - requestObject.spec.hostNetwork: true
    - requestObject.spec.volumes.hostPath|exists: true
  template_spec:
    - requestObject.spec.template.spec.containers.securityContext.privileged: true
    - requestObject.spec.template.spec.hostPID: true
    - requestObject.spec.template.spec.hostNetwork: true
    - requestObject.spec.template.spec.volumes.hostPath|exists: true
    - requestObject.spec.jobTemplate.spec.template.spec.containers.securityContext.privileged: true
  condition: selection and 1 of *_spec
level: high
tags:
  - attack.privilege-escalation
  - attack.t1611
---
title: Anonymous Request Allowed By The API Server
id: 7ed329d6-21f9-5683-a43a-b69fa1b64422
status: experimental
description: The API server authorised a request from system:anonymous.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    user.username: 'system:anonymous'
    annotations.authorization.k8s.io/decision: allow
  health:
    requestURI:
      - /healthz
      - /livez
      - /readyz
      - /version
  condition: selection and not health
level: high
tags:
  - attack.initial-access
  - attack.t1078.001
$sigma$);

CREATE FUNCTION correlate.load_builtin_detections()
RETURNS TABLE (sigma_id text, title text, source text, replaced boolean)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.sigma_id, s.title, s.source, s.replaced
	FROM correlate.detection_pack p, LATERAL correlate._store_rules(p.yaml, 'builtin pack ' || p.name, true) s
	ORDER BY s.source, s.title
$$;
COMMENT ON FUNCTION correlate.load_builtin_detections()
	IS 'Loads (or refreshes) the builtin Sigma rule pack into the current tenant''s detection rules.';

GRANT SELECT ON correlate.detection_pack TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.load_builtin_detections() TO correlate_admin;

-- ==== src/sql/89_baselines.sql ====
-- 89_baselines.sql: first-seen and rare detections per identity (docs/detection.md, "Baselines").
--
-- A baseline rule is a Sigma document with our `baseline:` block instead of
-- `detection:` (src/detect/sigma_compile.c keeps it as JSON in
-- detection_rule.correlation: type, value, learning_s, min_events, rare_share).
-- correlate.detect_baselines() evaluates it over stored events, per identity (the
-- event's actor), from the events' own times only: an event of an identity that
-- was already active a whole learning window before it, and that made at least
-- min-events events in the learning window just before it, is
--   first_seen  when none of those carried the event's value;
--   rare        when some did, but at most rare-share of them.
-- Each hit is an ordinary detection of the rule (idempotent like detect()), so
-- correlation meta-rules and correlate() steps can use it.

CREATE FUNCTION correlate.user_agent_family(user_agent text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT lower(substring(ltrim(user_agent, '[ ') FROM '^([A-Za-z][A-Za-z0-9._-]{0,63})'))
$$;
COMMENT ON FUNCTION correlate.user_agent_family(text)
	IS 'The product of a user agent, lower case, without its version: ''aws-cli/2.15.0 Python/3.11'' -> ''aws-cli'', ''Boto3/1.34'' -> ''boto3''; NULL when it starts with no name.';

CREATE FUNCTION correlate._baseline_value(what text, action text, src_ip inet, raw jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE what
		WHEN 'action' THEN action
		WHEN 'source_address' THEN host(src_ip)
		WHEN 'source_network' THEN network(set_masklen(src_ip, CASE family(src_ip) WHEN 4 THEN 24 ELSE 64 END))::text
		WHEN 'region' THEN COALESCE(raw->>'awsRegion', raw->>'region')
		WHEN 'user_agent_family' THEN correlate.user_agent_family(raw->>'userAgent')
		ELSE raw #>> string_to_array(what, '.') END
$$;
COMMENT ON FUNCTION correlate._baseline_value(text, text, inet, jsonb)
	IS 'Internal: the value a baseline rule learns: action, source_address, source_network (/24, IPv6 /64), region, user_agent_family, or a dotted path into the raw record.';

CREATE FUNCTION correlate.detect_baselines(since timestamptz, until timestamptz, rules text[] DEFAULT NULL)
RETURNS TABLE (sigma_id text, title text, matched bigint, created bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	t text := correlate.current_tenant();
	br record;
	lrn interval;
BEGIN
	IF since IS NOT NULL AND until IS NOT NULL AND since > until THEN
		RAISE EXCEPTION 'since must not be after until'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('since is %s and until is %s.', since, until);
	END IF;
	IF rules IS NOT NULL AND EXISTS (
		SELECT 1 FROM unnest(rules) u(x) WHERE NOT EXISTS (
			SELECT 1 FROM correlate.detection_rule r WHERE r.tenant = t AND r.enabled
			  AND r.correlation->>'type' IN ('first_seen', 'rare') AND (r.sigma_id = u.x OR r.title = u.x))) THEN
		RAISE EXCEPTION 'unknown baseline rule in %', rules::text
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'No enabled baseline rule of this tenant has one of those Sigma ids or titles.';
	END IF;
	FOR br IN SELECT r.id, r.sigma_id, r.title, r.source, r.correlation AS c FROM correlate.detection_rule r
			  WHERE r.tenant = t AND r.enabled AND r.correlation->>'type' IN ('first_seen', 'rare')
				AND (rules IS NULL OR r.sigma_id = ANY (rules) OR r.title = ANY (rules))
			  ORDER BY r.sigma_id
	LOOP
		lrn := make_interval(secs => (br.c->>'learning_s')::float8);
		RETURN QUERY
		WITH ev AS MATERIALIZED (
			-- the identity's events of the rule's source from one learning window before since
			SELECT e.id, e.ts, e.actor, correlate._baseline_value(br.c->>'value', e.action, e.src_ip, e.raw) AS v
			FROM correlate.event e
			WHERE e.tenant = t AND e.source = br.source AND e.actor IS NOT NULL
			  AND (since IS NULL OR e.ts >= since - lrn) AND (until IS NULL OR e.ts < until)
		), w AS (
			-- what the identity did in [ts - learning, ts): all its events, and those with this value
			SELECT ev.id, ev.ts, ev.actor, ev.v,
				   count(*) OVER (PARTITION BY ev.actor ORDER BY ev.ts
								  RANGE BETWEEN lrn PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS n_all,
				   count(*) OVER (PARTITION BY ev.actor, ev.v ORDER BY ev.ts
								  RANGE BETWEEN lrn PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS n_same
			FROM ev
		), hit AS MATERIALIZED (
			SELECT w.id, w.ts, w.actor FROM w
			WHERE w.v IS NOT NULL AND (since IS NULL OR w.ts >= since)
			  AND w.n_all >= (br.c->>'min_events')::bigint AND w.n_all > 0
			  AND CASE br.c->>'type' WHEN 'first_seen' THEN w.n_same = 0
					ELSE w.n_same >= 1 AND w.n_same <= (br.c->>'rare_share')::float8 * w.n_all END
			  -- learned: the identity was active a whole learning window before
			  AND EXISTS (SELECT 1 FROM correlate.event p WHERE p.tenant = t AND p.actor = w.actor
						  AND p.source = br.source AND p.ts <= w.ts - lrn)
		), ins AS (
			INSERT INTO correlate.detection (tenant, rule_id, sigma_id, title, author, level, severity_id, tactics,
											 techniques, event_id, event_ts, source, entity)
			SELECT t, r.id, r.sigma_id, r.title, r.author, r.level, r.severity_id, r.tactics, r.techniques,
				   h.id, h.ts, br.source, h.actor
			FROM hit h JOIN correlate.detection_rule r ON r.tenant = t AND r.id = br.id
			ON CONFLICT (tenant, rule_id, event_id, event_ts) DO NOTHING
			RETURNING 1
		)
		SELECT br.sigma_id, br.title, (SELECT count(*) FROM hit), (SELECT count(*) FROM ins)
		WHERE EXISTS (SELECT 1 FROM hit);
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate.detect_baselines(timestamptz, timestamptz, text[])
	IS 'Runs the tenant''s enabled baseline rules (first_seen, rare; or those named by Sigma id or title) over the events of [since, until) per identity, learning from the events before each one; each hit is a detection of the rule; idempotent and independent of the clock.';

-- The builtin baseline rules (written here), loaded per tenant like the detection pack.
CREATE FUNCTION correlate.load_builtin_baselines()
RETURNS TABLE (sigma_id text, title text, source text, replaced boolean)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
	SELECT s.sigma_id, s.title, s.source, s.replaced
	FROM correlate._store_rules($sigma$
title: First-Seen API Action For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b01
status: experimental
description: An IAM identity that has been active for the learning window called an API action it did not call in that window.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: first_seen
  value: action
  learning: 7d
  min-events: 5
level: low
tags: [attack.discovery, attack.t1526]
---
title: First-Seen Source Network For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b02
status: experimental
description: An IAM identity called AWS from a /24 network (IPv6 /64) it did not use in the learning window; stolen credentials used elsewhere.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: first_seen
  value: source_network
  learning: 7d
  min-events: 5
level: medium
tags: [attack.initial-access, attack.t1078.004]
---
title: First-Seen Region For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b03
status: experimental
description: An IAM identity acted in an AWS region it did not use in the learning window; resources hidden or mined away from watched regions.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: first_seen
  value: region
  learning: 7d
  min-events: 5
level: medium
tags: [attack.defense-evasion, attack.t1535]
---
title: First-Seen User Agent Family For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b04
status: experimental
description: An IAM identity called AWS with a client (user agent without its version) it did not use in the learning window; its credentials in another tool.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: first_seen
  value: user_agent_family
  learning: 7d
  min-events: 5
level: low
tags: [attack.initial-access, attack.t1078.004]
---
title: Rare Region For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b05
status: experimental
description: An IAM identity acted in a region that carried at most 5% of its calls in the learning window.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: rare
  value: region
  learning: 30d
  min-events: 20
  rare-share: 0.05
level: low
tags: [attack.defense-evasion, attack.t1535]
---
title: Rare Source Network For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b06
status: experimental
description: An IAM identity called AWS from a /24 network that carried at most 5% of its calls in the learning window.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: rare
  value: source_network
  learning: 30d
  min-events: 20
  rare-share: 0.05
level: low
tags: [attack.initial-access, attack.t1078.004]
---
title: First-Seen Kubernetes Action For An Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b07
status: experimental
description: A Kubernetes user or service account that has been active for the learning window made a request (verb and resource) it did not make in that window.
author: correlate project
logsource: {product: kubernetes, service: audit}
baseline:
  type: first_seen
  value: action
  learning: 7d
  min-events: 5
level: low
tags: [attack.discovery, attack.t1613]
---
title: First-Seen Source Network For A Kubernetes Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b08
status: experimental
description: A Kubernetes user or service account called the API server from a /24 network (IPv6 /64) it did not use in the learning window.
author: correlate project
logsource: {product: kubernetes, service: audit}
baseline:
  type: first_seen
  value: source_network
  learning: 7d
  min-events: 5
level: medium
tags: [attack.initial-access, attack.t1078]
---
title: First-Seen User Agent Family For A Kubernetes Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b09
status: experimental
description: A Kubernetes user or service account called the API server with a client it did not use in the learning window (a stolen service-account token in kubectl).
author: correlate project
logsource: {product: kubernetes, service: audit}
baseline:
  type: first_seen
  value: user_agent_family
  learning: 7d
  min-events: 5
level: medium
tags: [attack.credential-access, attack.t1528]
$sigma$, 'builtin baselines', true) s
	ORDER BY s.source, s.title
$fn$;
COMMENT ON FUNCTION correlate.load_builtin_baselines()
	IS 'Loads (or refreshes) the builtin baseline rules (first-seen and rare per identity, CloudTrail and Kubernetes audit) into the current tenant''s detection rules.';

GRANT EXECUTE ON FUNCTION correlate.load_builtin_baselines() TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate.user_agent_family(text), correlate._baseline_value(text, text, inet, jsonb)
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.detect_baselines(timestamptz, timestamptz, text[]) TO correlate_writer;

-- ==== src/sql/90_remediation.sql ====
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
BEGIN
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('k is %s.', COALESCE(k::text, 'NULL'));
	END IF;

	-- The minimum node cut (when one exists: a source next to a target has none).
	BEGIN
		node_cut := ARRAY(SELECT c.resource_id FROM correlate.min_node_cut(sources, targets, 'unit', now_graph) c ORDER BY 1);
	EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
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

-- ==== src/sql/94_data_protection.sql ====
-- 94_data_protection.sql: data protection (docs/data-protection.md).
--
--   retention         per tenant and data class (events, raw payloads, rejects,
--                     closed incidents), default and per source, enforced by
--                     apply_retention() (a pg_cron job: schedule_retention()).
--   pseudonymisation  per tenant and format, rules naming JSON paths to store as
--                     keyed hashes or to drop; applied in C at ingest
--                     (src/ingest/pseudonym*.c) before anything is stored; the
--                     key is readable by no role; reidentify() is admin-only and
--                     audited.
--   correlation scopes  an audited grant letting a role run named read
--                     functions over a set of tenants; every such read is logged.
--   data_inventory()  the personal data each tenant stores, where, for how long
--                     and under which policy (GDPR Art. 30 record basis).
--
-- Functions that cross tenants (apply_retention, the scoped_* readers,
-- reidentify) are SECURITY DEFINER, take no SQL text and check their caller
-- themselves.  The caller is the session's role (SET ROLE, else the session
-- user), which a SECURITY DEFINER function still sees: correlate._caller().

CREATE FUNCTION correlate._caller() RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN current_setting('role') = 'none' THEN session_user
				ELSE current_setting('role')::name END;
$$;
COMMENT ON FUNCTION correlate._caller() IS 'Internal: the role that called (SET ROLE, else the session user), also inside a SECURITY DEFINER function.';

-- ---- retention -----------------------------------------------------------------

CREATE TABLE correlate.retention_policy (
	tenant     text NOT NULL DEFAULT correlate.current_tenant(),
	data_class text NOT NULL CHECK (data_class IN ('events', 'raw', 'rejects', 'incidents')),
	source     text NOT NULL DEFAULT '*' CHECK (source ~ '^(\*|[a-z0-9_.:-]{1,64})$'),
	keep       interval NOT NULL CHECK (keep > interval '0'),
	set_by     name NOT NULL DEFAULT CURRENT_USER,
	set_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, data_class, source),
	CHECK (data_class <> 'incidents' OR source = '*')
);
COMMENT ON TABLE correlate.retention_policy IS 'How long each tenant keeps each class of data, by default (source *) and per source; enforced by correlate.apply_retention().';
COMMENT ON COLUMN correlate.retention_policy.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.retention_policy.data_class IS 'events (event rows), raw (event.raw payloads), rejects (ingest_reject rows), incidents (resolved or false-positive incidents, by last_ts).';
COMMENT ON COLUMN correlate.retention_policy.source IS 'Event source / ingest format the period applies to, or * for every source without its own row.';
COMMENT ON COLUMN correlate.retention_policy.keep IS 'Rows older than this (by event time; rejects by rejection time) are removed.';
COMMENT ON COLUMN correlate.retention_policy.set_by IS 'Role that set the period.';
COMMENT ON COLUMN correlate.retention_policy.set_at IS 'When the period was set.';
SELECT correlate._isolate_tenants('correlate.retention_policy');

CREATE FUNCTION correlate.set_retention(data_class text, keep interval, source text DEFAULT '*')
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
	IF data_class IS NULL OR data_class NOT IN ('events', 'raw', 'rejects', 'incidents') THEN
		RAISE EXCEPTION 'invalid data class "%"', data_class
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid data classes are: events, raw, rejects, incidents.';
	END IF;
	IF keep IS NULL OR keep <= interval '0' THEN
		RAISE EXCEPTION 'keep must be a positive interval, not %', COALESCE(keep::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Remove a period with correlate.clear_retention().';
	END IF;
	IF source IS NULL OR source !~ '^(\*|[a-z0-9_.:-]{1,64})$' THEN
		RAISE EXCEPTION 'invalid source "%"', source
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give an event source such as cloudtrail, or * for the default.';
	END IF;
	IF data_class = 'incidents' AND source <> '*' THEN
		RAISE EXCEPTION 'incidents have one period per tenant, not one per source'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO correlate.retention_policy AS p (tenant, data_class, source, keep)
	VALUES (correlate.current_tenant(), set_retention.data_class, set_retention.source, set_retention.keep)
	ON CONFLICT (tenant, data_class, source)
	DO UPDATE SET keep = EXCLUDED.keep, set_by = CURRENT_USER, set_at = now();
END
$$;
COMMENT ON FUNCTION correlate.set_retention(text, interval, text)
	IS 'Sets how long the current tenant keeps a data class (events, raw, rejects, incidents), by default (source *) or for one source.';

CREATE FUNCTION correlate.clear_retention(data_class text, source text DEFAULT '*')
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH d AS (
		DELETE FROM correlate.retention_policy p
		WHERE p.tenant = correlate.current_tenant() AND p.data_class = clear_retention.data_class
		  AND p.source = clear_retention.source
		RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM d);
$$;
COMMENT ON FUNCTION correlate.clear_retention(text, text)
	IS 'Removes a retention period of the current tenant (its data is then kept until removed otherwise); false when there was none.';

-- Enforces every tenant's periods.  Deletes row by row through the (tenant, ts)
-- keys, so other tenants' data is never touched (dropping a whole partition
-- would drop them too).  An event an incident names is evidence: it is kept,
-- without its raw payload, as long as the incident exists, so the incident's
-- timeline still explains it; the incidents period (resolved and
-- false-positive incidents only) ends that hold.  as_of NULL means now(), capped
-- per tenant at its newest event plus correlate.retention_clock_lead, as in
-- drop_event_partitions(): a clock stepped ahead cannot expire recent data.
CREATE FUNCTION correlate.apply_retention(as_of timestamptz DEFAULT NULL)
RETURNS TABLE (tenant text, data_class text, source text, cutoff timestamptz, rows_affected bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	lead interval := COALESCE(NULLIF(pg_catalog.current_setting('correlate.retention_clock_lead', true), ''), '7 days')::interval;
	t text;
	base timestamptz;
	newest timestamptz;
	p record;
	others text[];
	n bigint;
	c timestamptz;
BEGIN
	IF as_of IS NOT NULL AND NOT isfinite(as_of) THEN
		RAISE EXCEPTION 'as_of must be a finite time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lead < interval '0' THEN
		RAISE EXCEPTION 'correlate.retention_clock_lead must not be negative, not %', lead
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR t IN SELECT DISTINCT r.tenant FROM correlate.retention_policy r ORDER BY 1 LOOP
		base := as_of;
		IF base IS NULL THEN
			SELECT max(e.ts) INTO newest FROM correlate.event e WHERE e.tenant = t;
			base := CASE WHEN newest IS NULL THEN now() ELSE LEAST(now(), newest + lead) END;
		END IF;
		FOR p IN
			SELECT r.data_class, r.source, r.keep FROM correlate.retention_policy r
			WHERE r.tenant = t
			-- per-source rows first, then the default; incidents last (they end evidence holds)
			ORDER BY array_position(ARRAY['raw', 'events', 'rejects', 'incidents'], r.data_class), r.source = '*', r.source
		LOOP
			c := base - p.keep;
			SELECT COALESCE(array_agg(r.source), '{}') INTO others FROM correlate.retention_policy r
			WHERE r.tenant = t AND r.data_class = p.data_class AND r.source <> '*';
			IF p.data_class = 'raw' THEN
				UPDATE correlate.event e SET raw = NULL
				WHERE e.tenant = t AND e.ts < c AND e.raw IS NOT NULL
				  AND (CASE WHEN p.source = '*' THEN e.source <> ALL (others) ELSE e.source = p.source END);
				GET DIAGNOSTICS n = ROW_COUNT;
			ELSIF p.data_class = 'events' THEN
				DELETE FROM correlate.event e
				WHERE e.tenant = t AND e.ts < c
				  AND (CASE WHEN p.source = '*' THEN e.source <> ALL (others) ELSE e.source = p.source END)
				  AND NOT EXISTS (SELECT 1 FROM correlate.incident_event ie WHERE ie.tenant = t AND ie.event_id = e.id);
				GET DIAGNOSTICS n = ROW_COUNT;
				-- evidence kept for an incident: the normalised row stays, the payload goes
				UPDATE correlate.event e SET raw = NULL
				WHERE e.tenant = t AND e.ts < c AND e.raw IS NOT NULL
				  AND (CASE WHEN p.source = '*' THEN e.source <> ALL (others) ELSE e.source = p.source END);
			ELSIF p.data_class = 'rejects' THEN
				DELETE FROM correlate.ingest_reject j
				WHERE j.tenant = t AND j.ts < c
				  AND (CASE WHEN p.source = '*' THEN j.format <> ALL (others) ELSE j.format = p.source END);
				GET DIAGNOSTICS n = ROW_COUNT;
			ELSE
				DELETE FROM correlate.incident i
				WHERE i.tenant = t AND i.last_ts < c AND i.status IN ('resolved', 'false_positive');
				GET DIAGNOSTICS n = ROW_COUNT;
			END IF;
			tenant := t;
			data_class := p.data_class;
			source := p.source;
			cutoff := c;
			rows_affected := n;
			RETURN NEXT;
		END LOOP;
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate.apply_retention(timestamptz)
	IS 'Enforces every tenant''s retention periods as of as_of (default now(), capped per tenant at its newest event plus correlate.retention_clock_lead): deletes expired events (keeping, without raw payload, those an incident names), clears expired raw payloads, deletes expired rejects and closed incidents. One row per period applied.';

CREATE FUNCTION correlate.schedule_retention(schedule text DEFAULT '17 3 * * *')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	job bigint;
BEGIN
	IF schedule IS NULL OR btrim(schedule) = '' THEN
		RAISE EXCEPTION 'schedule must not be empty'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a cron schedule such as ''17 3 * * *''.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_extension x WHERE x.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Retention is enforced by a pg_cron job.',
				  HINT = 'Add pg_cron to shared_preload_libraries and run CREATE EXTENSION pg_cron in the database named by cron.database_name, or call correlate.apply_retention() from your own scheduler.';
	END IF;
	EXECUTE 'SELECT cron.schedule($1, $2, $3)'
		INTO job USING 'correlate-retention', schedule, 'SELECT count(*) FROM correlate.apply_retention()';
	RETURN job;
END
$$;
COMMENT ON FUNCTION correlate.schedule_retention(text)
	IS 'Schedules correlate.apply_retention() as the pg_cron job correlate-retention (daily at 03:17 by default), run as the calling role; returns the job id.';

-- ---- pseudonymisation -------------------------------------------------------------

CREATE TABLE correlate.pseudonym_rule (
	tenant        text NOT NULL DEFAULT correlate.current_tenant(),
	format        text NOT NULL,
	path          text NOT NULL CHECK (path ~ '^[A-Za-z0-9_@$-]+(\.[A-Za-z0-9_@$-]+){0,15}$'),
	action        text NOT NULL CHECK (action IN ('hash', 'hash_tail', 'ip', 'drop')),
	keep_prefixes text[],
	category      text NOT NULL DEFAULT 'identifier',
	set_by        name NOT NULL DEFAULT CURRENT_USER,
	set_at        timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, format, path)
);
COMMENT ON TABLE correlate.pseudonym_rule IS 'Per tenant and ingest format: fields (JSON paths) stored as keyed pseudonyms or dropped at ingest.';
COMMENT ON COLUMN correlate.pseudonym_rule.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.pseudonym_rule.format IS 'Ingest format the rule applies to (every format but vpc_flow).';
COMMENT ON COLUMN correlate.pseudonym_rule.path IS 'Dotted JSON path from the record (or document) root; arrays on the way are followed element by element.';
COMMENT ON COLUMN correlate.pseudonym_rule.action IS 'hash (the value -> ps_<24 hex>), hash_tail (what follows the last / : ARNs), ip (an address -> a keyed address of the same class), drop (remove the field).';
COMMENT ON COLUMN correlate.pseudonym_rule.keep_prefixes IS 'Values starting with one of these are stored as they are (e.g. system: for Kubernetes service accounts).';
COMMENT ON COLUMN correlate.pseudonym_rule.category IS 'Personal data category, for correlate.data_inventory() (identifier, online_identifier, contact, ...).';
COMMENT ON COLUMN correlate.pseudonym_rule.set_by IS 'Role that set the rule.';
COMMENT ON COLUMN correlate.pseudonym_rule.set_at IS 'When the rule was set.';
SELECT correlate._isolate_tenants('correlate.pseudonym_rule');

-- The keys.  No role has any privilege on this table and it is not marked for
-- pg_dump, so neither a reader nor a dump a reader can read holds a key; only
-- the C ingest path (a heap scan in src/ingest/pseudonym.c) and the functions
-- below (SECURITY DEFINER) use it.  Back a key up with pseudonym_key_export().
CREATE TABLE correlate.pseudonym_key (
	tenant     text PRIMARY KEY,
	key        bytea NOT NULL CHECK (octet_length(key) BETWEEN 16 AND 64),
	created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE correlate.pseudonym_key ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE correlate.pseudonym_key IS 'Per-tenant HMAC keys of pseudonymisation; readable by no correlate role, not dumped.';
COMMENT ON COLUMN correlate.pseudonym_key.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.pseudonym_key.key IS 'HMAC-SHA256 key (32 random bytes unless imported).';
COMMENT ON COLUMN correlate.pseudonym_key.created_at IS 'When the key was created or imported.';

CREATE FUNCTION correlate._pseudonym_new_key() RETURNS bytea
AS 'MODULE_PATHNAME', 'correlate_pseudonym_new_key' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION correlate._pseudonym_new_key() IS 'Internal: 32 bytes from pg_strong_random(). Granted to no role.';

CREATE FUNCTION correlate._pseudonyms(tenant text, action text, vals text[]) RETURNS text[]
AS 'MODULE_PATHNAME', 'correlate_pseudonyms' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION correlate._pseudonyms(text, text, text[]) IS 'Internal: each value''s pseudonym under tenant''s key. Granted to no role: correlate.reidentify() is the audited way in.';

-- Creates the tenant's key if it has none.  Internal.
CREATE FUNCTION correlate._ensure_pseudonym_key(tenant text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO correlate.pseudonym_key (tenant, key) VALUES (tenant, correlate._pseudonym_new_key())
	ON CONFLICT DO NOTHING;
$$;
COMMENT ON FUNCTION correlate._ensure_pseudonym_key(text) IS 'Internal: gives tenant a random key unless it has one.';

CREATE FUNCTION correlate.set_pseudonym_rule(format text, path text, action text,
	keep_prefixes text[] DEFAULT NULL, category text DEFAULT 'identifier')
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := correlate.current_tenant();
BEGIN
	IF format IS NULL OR format NOT IN ('aws_iam', 'cloudtrail', 'falco', 'grype', 'k8s_audit', 'k8s_inventory', 'ocsf', 'trivy') THEN
		RAISE EXCEPTION 'pseudonymisation does not support format "%"', format
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = CASE WHEN format = 'vpc_flow' THEN 'VPC flow logs are text lines, not JSON records.'
								ELSE 'Rules name fields of JSON records.' END,
				  HINT = 'Supported formats: aws_iam, cloudtrail, falco, grype, k8s_audit, k8s_inventory, ocsf, trivy.';
	END IF;
	IF path IS NULL OR path !~ '^[A-Za-z0-9_@$-]+(\.[A-Za-z0-9_@$-]+){0,15}$' THEN
		RAISE EXCEPTION 'invalid JSON path "%"', path
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Give object keys separated by dots, e.g. userIdentity.userName (at most 16 keys).';
	END IF;
	IF action IS NULL OR action NOT IN ('hash', 'hash_tail', 'ip', 'drop') THEN
		RAISE EXCEPTION 'invalid pseudonymisation action "%"', action
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid actions are: hash, hash_tail, ip, drop.';
	END IF;
	IF keep_prefixes IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(keep_prefixes) k WHERE k IS NULL OR k = '') THEN
		RAISE EXCEPTION 'keep_prefixes must not hold NULL or empty prefixes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF category IS NULL OR category !~ '^[a-z][a-z_]{0,40}$' THEN
		RAISE EXCEPTION 'invalid category "%"', category
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a lower-case word such as identifier, online_identifier or contact.';
	END IF;
	PERFORM correlate._ensure_pseudonym_key(t);
	INSERT INTO correlate.pseudonym_rule AS r (tenant, format, path, action, keep_prefixes, category)
	VALUES (t, set_pseudonym_rule.format, set_pseudonym_rule.path, set_pseudonym_rule.action,
			set_pseudonym_rule.keep_prefixes, set_pseudonym_rule.category)
	ON CONFLICT (tenant, format, path) DO UPDATE
	SET action = EXCLUDED.action, keep_prefixes = EXCLUDED.keep_prefixes, category = EXCLUDED.category,
		set_by = CURRENT_USER, set_at = now();
END
$$;
COMMENT ON FUNCTION correlate.set_pseudonym_rule(text, text, text, text[], text)
	IS 'Makes ingest of format in the current tenant store the field at path as a keyed pseudonym (hash, hash_tail, ip) or drop it; creates the tenant''s key with its first rule. Applies to records ingested from then on.';

CREATE FUNCTION correlate.clear_pseudonym_rule(format text, path text)
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH d AS (
		DELETE FROM correlate.pseudonym_rule r
		WHERE r.tenant = correlate.current_tenant() AND r.format = clear_pseudonym_rule.format
		  AND r.path = clear_pseudonym_rule.path
		RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM d);
$$;
COMMENT ON FUNCTION correlate.clear_pseudonym_rule(text, text) IS 'Removes a pseudonymisation rule of the current tenant; false when there was none.';

CREATE TABLE correlate.reidentification_log (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at        timestamptz NOT NULL DEFAULT clock_timestamp(),
	caller    name NOT NULL,
	tenant    text NOT NULL,
	pseudonym text NOT NULL,
	reason    text NOT NULL,
	candidates integer NOT NULL,
	found     boolean NOT NULL
);
COMMENT ON TABLE correlate.reidentification_log IS 'Every call of correlate.reidentify(): who, when, which tenant and pseudonym, why, and whether a candidate matched. Append-only: no role may change it.';
COMMENT ON COLUMN correlate.reidentification_log.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.reidentification_log.at IS 'When the call was made.';
COMMENT ON COLUMN correlate.reidentification_log.caller IS 'The calling role (SET ROLE, else the session user).';
COMMENT ON COLUMN correlate.reidentification_log.tenant IS 'Tenant whose key was used.';
COMMENT ON COLUMN correlate.reidentification_log.pseudonym IS 'The pseudonym to re-identify.';
COMMENT ON COLUMN correlate.reidentification_log.reason IS 'The legal process or case reference given.';
COMMENT ON COLUMN correlate.reidentification_log.candidates IS 'How many candidate values were tried.';
COMMENT ON COLUMN correlate.reidentification_log.found IS 'Whether one of them matched.';
-- an administrator reads the calls made in the tenant it works in
SELECT correlate._isolate_tenants('correlate.reidentification_log');

-- No reverse mapping is stored anywhere: a pseudonym is re-identified by
-- recomputing the pseudonyms of candidate values (a directory's user names, a
-- range of addresses) and returning the one that matches.
CREATE FUNCTION correlate.reidentify(pseudonym text, reason text, candidates text[] DEFAULT NULL,
	candidate_net cidr DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := COALESCE(NULLIF(current_setting('correlate.tenant', true), ''), 'default');
	who name := correlate._caller();
	vals text[];
	hit text;
	tok text;
	ps text[];
	pst text[];
BEGIN
	-- the caller's own right to the tenant, checked as the caller would be
	IF NOT (pg_has_role(who, 'correlate_admin', 'MEMBER')
			AND (EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = who AND (r.rolsuper OR r.rolbypassrls))
				 OR EXISTS (SELECT 1 FROM correlate.tenant_access a WHERE a.tenant = t AND pg_has_role(who, a.role, 'MEMBER')))) THEN
		RAISE EXCEPTION 'permission denied to re-identify in tenant "%"', t
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role "%s" is not a correlate_admin granted tenant "%s".', who, t);
	END IF;
	IF pseudonym IS NULL OR pseudonym = '' THEN
		RAISE EXCEPTION 'pseudonym must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF reason IS NULL OR length(btrim(reason)) < 10 THEN
		RAISE EXCEPTION 'a reason of at least 10 characters is required'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the legal process or case that requires re-identification; it is logged.';
	END IF;
	IF candidate_net IS NOT NULL AND masklen(candidate_net) < (CASE WHEN family(candidate_net) = 4 THEN 16 ELSE 112 END) THEN
		RAISE EXCEPTION 'candidate_net % is too large', candidate_net
			USING ERRCODE = 'program_limit_exceeded', HINT = 'Give at most 65536 addresses (a /16 for IPv4, a /112 for IPv6).';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM correlate.pseudonym_key k WHERE k.tenant = t) THEN
		RAISE EXCEPTION 'tenant "%" has no pseudonymisation key', t USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	vals := ARRAY(SELECT DISTINCT c FROM unnest(COALESCE(candidates, '{}')) c WHERE c IS NOT NULL
				  UNION
				  SELECT host(candidate_net + g) FROM generate_series(0::bigint,
						CASE WHEN candidate_net IS NULL THEN -1 ELSE (2::numeric ^ ((CASE WHEN family(candidate_net) = 4 THEN 32 ELSE 128 END) - masklen(candidate_net)))::bigint - 1 END) g);
	IF cardinality(vals) > 100000 THEN
		RAISE EXCEPTION 'too many candidates (%)', cardinality(vals)
			USING ERRCODE = 'program_limit_exceeded', HINT = 'Give at most 100000 candidate values.';
	END IF;
	-- The pseudonym's shape says how it was made: an address (ip), or a token
	-- ps_<24 hex> alone (hash) or after a prefix ending in / (hash_tail, where a
	-- candidate may be the bare name or the whole value).
	IF pseudonym ~ ':' AND pseudonym ~ '^[0-9a-fA-F:]+$' THEN
		ps := correlate._pseudonyms(t, 'ip', vals);
		SELECT vals[i] INTO hit FROM generate_series(1, cardinality(vals)) i
		WHERE ps[i] ~ '^[0-9a-f:]+$' AND ps[i]::inet = pseudonym::inet
		ORDER BY 1 LIMIT 1;
	ELSE
		tok := COALESCE(substring(pseudonym FROM '(ps_[0-9a-f]{24})$'), pseudonym);
		ps := correlate._pseudonyms(t, 'hash', vals);
		pst := correlate._pseudonyms(t, 'hash_tail', vals);
		SELECT vals[i] INTO hit FROM generate_series(1, cardinality(vals)) i
		WHERE ps[i] = tok OR pst[i] = pseudonym
		ORDER BY 1 LIMIT 1;
	END IF;
	INSERT INTO correlate.reidentification_log (caller, tenant, pseudonym, reason, candidates, found)
	VALUES (who, t, pseudonym, btrim(reason), cardinality(vals), hit IS NOT NULL);
	RETURN hit;
END
$$;
COMMENT ON FUNCTION correlate.reidentify(text, text, text[], cidr)
	IS 'correlate_admin only, audited: which of the candidate values (or addresses of candidate_net, at most 65536) has the given pseudonym in the current tenant; NULL when none. Every call is logged in correlate.reidentification_log with the reason.';

CREATE FUNCTION correlate.pseudonym_key_export(reason text) RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := COALESCE(NULLIF(current_setting('correlate.tenant', true), ''), 'default');
	who name := correlate._caller();
	k bytea;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = who AND r.rolsuper) THEN
		RAISE EXCEPTION 'permission denied to export a pseudonymisation key'
			USING ERRCODE = 'insufficient_privilege', DETAIL = 'Only a superuser may export a key (for a backup kept apart from the data).';
	END IF;
	IF reason IS NULL OR length(btrim(reason)) < 10 THEN
		RAISE EXCEPTION 'a reason of at least 10 characters is required' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT x.key INTO k FROM correlate.pseudonym_key x WHERE x.tenant = t;
	IF k IS NULL THEN
		RAISE EXCEPTION 'tenant "%" has no pseudonymisation key', t USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	INSERT INTO correlate.reidentification_log (caller, tenant, pseudonym, reason, candidates, found)
	VALUES (who, t, '(key export)', btrim(reason), 0, true);
	RETURN k;
END
$$;
COMMENT ON FUNCTION correlate.pseudonym_key_export(text)
	IS 'Superuser only, logged: the current tenant''s key, for a backup kept apart from the data (keys are not in pg_dump output); restore it with pseudonym_key_import().';

CREATE FUNCTION correlate.pseudonym_key_import(key bytea) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := COALESCE(NULLIF(current_setting('correlate.tenant', true), ''), 'default');
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = correlate._caller() AND r.rolsuper) THEN
		RAISE EXCEPTION 'permission denied to import a pseudonymisation key' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF key IS NULL OR octet_length(key) NOT BETWEEN 16 AND 64 THEN
		RAISE EXCEPTION 'a key must have 16 to 64 bytes' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO correlate.pseudonym_key AS x VALUES (t, pseudonym_key_import.key, now())
	ON CONFLICT ON CONSTRAINT pseudonym_key_pkey DO UPDATE SET key = EXCLUDED.key, created_at = EXCLUDED.created_at;
END
$$;
COMMENT ON FUNCTION correlate.pseudonym_key_import(bytea) IS 'Superuser only: sets the current tenant''s key (after a restore, from pseudonym_key_export()).';

-- ---- correlation scopes ---------------------------------------------------------

CREATE TABLE correlate.correlation_scope (
	name       text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
	grantee    name NOT NULL,
	tenants    text[] NOT NULL CHECK (cardinality(tenants) BETWEEN 1 AND 1000),
	functions  text[] NOT NULL CHECK (cardinality(functions) >= 1
									  AND functions <@ ARRAY['incidents', 'incident_timeline', 'attack_paths']),
	purpose    text NOT NULL,
	granted_by name NOT NULL,
	granted_at timestamptz NOT NULL DEFAULT now(),
	revoked_by name,
	revoked_at timestamptz
);
COMMENT ON TABLE correlate.correlation_scope IS 'Grants letting a role run named read functions over a set of tenants (MSSP, group). Kept after revocation, as the record of what was allowed when.';
COMMENT ON COLUMN correlate.correlation_scope.name IS 'Scope name, passed to the scoped_* functions.';
COMMENT ON COLUMN correlate.correlation_scope.grantee IS 'Role (and its members) the scope is granted to.';
COMMENT ON COLUMN correlate.correlation_scope.tenants IS 'Tenants the scope opens.';
COMMENT ON COLUMN correlate.correlation_scope.functions IS 'Read functions the scope opens: incidents, incident_timeline, attack_paths.';
COMMENT ON COLUMN correlate.correlation_scope.purpose IS 'Why the scope exists (contract, group policy).';
COMMENT ON COLUMN correlate.correlation_scope.granted_by IS 'Role that granted it.';
COMMENT ON COLUMN correlate.correlation_scope.granted_at IS 'When it was granted.';
COMMENT ON COLUMN correlate.correlation_scope.revoked_by IS 'Role that revoked it, if revoked.';
COMMENT ON COLUMN correlate.correlation_scope.revoked_at IS 'When it was revoked; a revoked scope opens nothing.';
ALTER TABLE correlate.correlation_scope ENABLE ROW LEVEL SECURITY;
CREATE POLICY correlation_scope_read ON correlate.correlation_scope FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, grantee, 'MEMBER')
		   OR pg_catalog.pg_has_role(CURRENT_USER, 'correlate_admin', 'MEMBER'));

CREATE TABLE correlate.scope_read_log (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at       timestamptz NOT NULL DEFAULT clock_timestamp(),
	caller   name NOT NULL,
	scope    text NOT NULL,
	function text NOT NULL,
	tenants  text[] NOT NULL
);
COMMENT ON TABLE correlate.scope_read_log IS 'Every cross-tenant read through a correlation scope: who, when, which scope, function and tenants. Append-only.';
COMMENT ON COLUMN correlate.scope_read_log.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.scope_read_log.at IS 'When the read was made.';
COMMENT ON COLUMN correlate.scope_read_log.caller IS 'The calling role (SET ROLE, else the session user).';
COMMENT ON COLUMN correlate.scope_read_log.scope IS 'Scope used.';
COMMENT ON COLUMN correlate.scope_read_log.function IS 'Read function run.';
COMMENT ON COLUMN correlate.scope_read_log.tenants IS 'Tenants read.';

CREATE FUNCTION correlate.grant_correlation_scope(name text, grantee name, tenants text[], functions text[], purpose text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	who name := correlate._caller();
BEGIN
	IF NOT pg_has_role(who, 'correlate_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to grant a correlation scope' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF name IS NULL OR name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
		RAISE EXCEPTION 'invalid scope name "%"', name USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF grantee IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = grantee) THEN
		RAISE EXCEPTION 'role "%" does not exist', grantee USING ERRCODE = 'undefined_object';
	END IF;
	IF tenants IS NULL OR cardinality(tenants) = 0
	   OR EXISTS (SELECT 1 FROM unnest(tenants) x WHERE x IS NULL OR x !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$') THEN
		RAISE EXCEPTION 'tenants must name at least one tenant, with no NULL or invalid label'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF functions IS NULL OR cardinality(functions) = 0
	   OR NOT (functions <@ ARRAY['incidents', 'incident_timeline', 'attack_paths']) THEN
		RAISE EXCEPTION 'functions must name read functions among incidents, incident_timeline, attack_paths'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF purpose IS NULL OR length(btrim(purpose)) < 10 THEN
		RAISE EXCEPTION 'a purpose of at least 10 characters is required' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM correlate.correlation_scope s WHERE s.name = grant_correlation_scope.name) THEN
		RAISE EXCEPTION 'correlation scope "%" already exists', name
			USING ERRCODE = 'duplicate_object', HINT = 'Scopes are kept after revocation as a record; choose a new name.';
	END IF;
	INSERT INTO correlate.correlation_scope (name, grantee, tenants, functions, purpose, granted_by)
	VALUES (grant_correlation_scope.name, grant_correlation_scope.grantee,
			ARRAY(SELECT DISTINCT x FROM unnest(grant_correlation_scope.tenants) x ORDER BY 1),
			ARRAY(SELECT DISTINCT x FROM unnest(grant_correlation_scope.functions) x ORDER BY 1),
			btrim(purpose), who);
END
$$;
COMMENT ON FUNCTION correlate.grant_correlation_scope(text, name, text[], text[], text)
	IS 'correlate_admin only: lets grantee run the named read functions (incidents, incident_timeline, attack_paths) over tenants through the scoped_* functions; recorded with who granted it and why.';

CREATE FUNCTION correlate.revoke_correlation_scope(name text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	who name := correlate._caller();
BEGIN
	IF NOT pg_has_role(who, 'correlate_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to revoke a correlation scope' USING ERRCODE = 'insufficient_privilege';
	END IF;
	UPDATE correlate.correlation_scope s SET revoked_by = who, revoked_at = now()
	WHERE s.name = revoke_correlation_scope.name AND s.revoked_at IS NULL;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION correlate.revoke_correlation_scope(text) IS 'correlate_admin only: ends a scope (the row stays, with who revoked it and when); false when no such open scope.';

-- Checks that the caller may run fn over the requested tenants through scope,
-- logs the read, and returns the tenants to read (all of the scope's when
-- requested is NULL).  Internal.
CREATE FUNCTION correlate._scope_open(scope text, fn text, requested text[]) RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	who name := correlate._caller();
	s record;
	ts text[];
BEGIN
	SELECT * INTO s FROM correlate.correlation_scope c WHERE c.name = scope AND c.revoked_at IS NULL;
	IF NOT FOUND OR NOT pg_has_role(who, s.grantee, 'MEMBER') OR NOT (fn = ANY (s.functions)) THEN
		RAISE EXCEPTION 'permission denied for % through correlation scope "%"', fn, scope
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role "%s" holds no open scope of that name that opens %s.', who, fn);
	END IF;
	IF requested IS NULL THEN
		ts := s.tenants;
	ELSIF EXISTS (SELECT 1 FROM unnest(requested) x WHERE x IS NULL OR NOT (x = ANY (s.tenants))) THEN
		RAISE EXCEPTION 'correlation scope "%" does not open tenants %', scope,
			(SELECT string_agg(COALESCE(x, 'NULL'), ', ') FROM unnest(requested) x WHERE x IS NULL OR NOT (x = ANY (s.tenants)))
			USING ERRCODE = 'insufficient_privilege';
	ELSE
		ts := ARRAY(SELECT DISTINCT x FROM unnest(requested) x ORDER BY 1);
	END IF;
	INSERT INTO correlate.scope_read_log (caller, scope, function, tenants) VALUES (who, scope, fn, ts);
	RETURN ts;
END
$$;
COMMENT ON FUNCTION correlate._scope_open(text, text, text[]) IS 'Internal: checks and logs a read through a correlation scope; returns the tenants to read.';

CREATE FUNCTION correlate.scoped_incidents(scope text, tenants text[] DEFAULT NULL)
RETURNS TABLE (tenant text, id bigint, rule text, title text, severity text, status text,
			   first_ts timestamptz, last_ts timestamptz, entities bigint[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	ts text[] := correlate._scope_open(scope, 'incidents', tenants);
BEGIN
	RETURN QUERY
	SELECT i.tenant, i.id, i.rule, i.title, i.severity, i.status, i.first_ts, i.last_ts, i.entities
	FROM correlate.incident i WHERE i.tenant = ANY (ts)
	ORDER BY i.tenant, i.id;
END
$$;
COMMENT ON FUNCTION correlate.scoped_incidents(text, text[])
	IS 'The incidents of the tenants a correlation scope opens (or of the listed ones among them), with their tenant; logged in correlate.scope_read_log.';

CREATE FUNCTION correlate.scoped_incident_timeline(scope text, tenant text, incident_id bigint)
RETURNS TABLE (ts timestamptz, domain text, class text, actor text, target text, action text, summary text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	opened text[] := correlate._scope_open(scope, 'incident_timeline', ARRAY[tenant]);
	prev text := current_setting('correlate.tenant', true);
BEGIN
	PERFORM set_config('correlate.tenant', opened[1], true);
	RETURN QUERY SELECT * FROM correlate.incident_timeline(incident_id);
	PERFORM set_config('correlate.tenant', COALESCE(prev, ''), true);
END
$$;
COMMENT ON FUNCTION correlate.scoped_incident_timeline(text, text, bigint)
	IS 'correlate.incident_timeline() of an incident in a tenant a correlation scope opens; logged in correlate.scope_read_log.';

CREATE FUNCTION correlate.scoped_attack_paths(scope text, tenants text[] DEFAULT NULL,
	k integer DEFAULT 10, max_hops integer DEFAULT 8)
RETURNS TABLE (tenant text, path_rank integer, hop integer, resource_id bigint, resource_uid text,
			   relationship_id bigint, likelihood float8, path_likelihood float8)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	opened text[] := correlate._scope_open(scope, 'attack_paths', tenants);
	prev text := current_setting('correlate.tenant', true);
	t text;
BEGIN
	FOREACH t IN ARRAY opened LOOP
		PERFORM set_config('correlate.tenant', t, true);
		RETURN QUERY
		SELECT t, p.path_rank, p.hop, p.resource_id, r.uid, p.relationship_id, p.likelihood, p.path_likelihood
		FROM correlate.attack_paths(k => k, max_hops => max_hops) p
		LEFT JOIN correlate.resource r ON r.tenant = t AND r.id = p.resource_id
		ORDER BY p.path_rank, p.hop;
	END LOOP;
	PERFORM set_config('correlate.tenant', COALESCE(prev, ''), true);
END
$$;
COMMENT ON FUNCTION correlate.scoped_attack_paths(text, text[], integer, integer)
	IS 'correlate.attack_paths() (internet to crown jewels) in each tenant a correlation scope opens, with tenant and resource uid; logged in correlate.scope_read_log.';

-- ---- records of processing -----------------------------------------------------

-- Where each format's personal data lands, for data_inventory().  Builtin rows
-- ship with the extension; an administrator adds rows for fields of their own.
CREATE TABLE correlate.personal_data_field (
	format    text NOT NULL,
	path      text NOT NULL,
	category  text NOT NULL,
	stored_in text[] NOT NULL,
	builtin   boolean NOT NULL DEFAULT false,
	PRIMARY KEY (format, path)
);
COMMENT ON TABLE correlate.personal_data_field IS 'Fields of each ingest format that carry personal data, their category and where correlate stores them.';
COMMENT ON COLUMN correlate.personal_data_field.format IS 'Ingest format.';
COMMENT ON COLUMN correlate.personal_data_field.path IS 'JSON path (or field name) in the record.';
COMMENT ON COLUMN correlate.personal_data_field.category IS 'identifier (user names, ARNs), online_identifier (addresses, user agents), contact (e-mail), content (command lines).';
COMMENT ON COLUMN correlate.personal_data_field.stored_in IS 'Tables and columns the value reaches.';
COMMENT ON COLUMN correlate.personal_data_field.builtin IS 'True for rows shipped with the extension.';

INSERT INTO correlate.personal_data_field (format, path, category, stored_in, builtin) VALUES
	('cloudtrail', 'userIdentity.userName',      'identifier',        ARRAY['event.raw', 'resource.uid', 'resource.name'], true),
	('cloudtrail', 'userIdentity.arn',           'identifier',        ARRAY['event.raw', 'resource.uid', 'resource.name'], true),
	('cloudtrail', 'userIdentity.principalId',   'identifier',        ARRAY['event.raw'], true),
	('cloudtrail', 'sourceIPAddress',            'online_identifier', ARRAY['event.raw', 'event.src_ip', 'resource.uid'], true),
	('cloudtrail', 'userAgent',                  'online_identifier', ARRAY['event.raw'], true),
	('k8s_audit',  'user.username',              'identifier',        ARRAY['event.raw', 'resource.uid', 'resource.name'], true),
	('k8s_audit',  'user.groups',                'identifier',        ARRAY['event.raw'], true),
	('k8s_audit',  'impersonatedUser.username',  'identifier',        ARRAY['event.raw'], true),
	('k8s_audit',  'sourceIPs',                  'online_identifier', ARRAY['event.raw', 'event.src_ip'], true),
	('k8s_audit',  'userAgent',                  'online_identifier', ARRAY['event.raw'], true),
	('falco',      'output_fields.user.name',    'identifier',        ARRAY['event.raw'], true),
	('falco',      'output_fields.proc.cmdline', 'content',           ARRAY['event.raw', 'event.command_line'], true),
	('falco',      'output_fields.fd.sip',       'online_identifier', ARRAY['event.raw', 'event.src_ip', 'event.dst_ip'], true),
	('ocsf',       'actor.user.name',            'identifier',        ARRAY['event.raw', 'resource.uid', 'resource.name'], true),
	('ocsf',       'actor.user.email_addr',      'contact',           ARRAY['event.raw'], true),
	('ocsf',       'src_endpoint.ip',            'online_identifier', ARRAY['event.raw', 'event.src_ip'], true),
	('aws_iam',    'UserDetailList.UserName',    'identifier',        ARRAY['resource.uid', 'resource.name'], true),
	('aws_iam',    'UserDetailList.Arn',         'identifier',        ARRAY['resource.uid'], true),
	('vpc_flow',   'srcaddr',                    'online_identifier', ARRAY['event.raw', 'event.src_ip', 'resource.uid'], true),
	('vpc_flow',   'dstaddr',                    'online_identifier', ARRAY['event.raw', 'event.dst_ip', 'resource.uid'], true),
	('*',          'ingest_reject.raw',          'any',               ARRAY['ingest_reject.raw'], true);

CREATE FUNCTION correlate._retention_of(tenant text, data_class text, source text) RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.keep FROM correlate.retention_policy p
	WHERE p.tenant = _retention_of.tenant AND p.data_class = _retention_of.data_class AND p.source IN (_retention_of.source, '*')
	ORDER BY p.source = '*' LIMIT 1;
$$;
COMMENT ON FUNCTION correlate._retention_of(text, text, text) IS 'Internal: the period of a data class for a source in a tenant (its own, else the default), NULL when none.';

CREATE FUNCTION correlate.data_inventory()
RETURNS TABLE (tenant text, format text, field text, category text, stored_in text[], treatment text,
			   kept_for text, policy text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH ten AS (
		-- superusers and BYPASSRLS roles see every tenant with a grant or a policy; others their own
		SELECT DISTINCT x.t FROM (
			SELECT a.tenant AS t FROM correlate.tenant_access a
			UNION SELECT r.tenant FROM correlate.retention_policy r
			UNION SELECT r.tenant FROM correlate.pseudonym_rule r) x
		WHERE EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
		UNION ALL
		SELECT correlate.current_tenant()
		WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))),
	fields AS (
		SELECT f.format, f.path, f.category, f.stored_in FROM correlate.personal_data_field f
		UNION
		-- fields a tenant's rules name that the catalogue does not list
		SELECT r.format, r.path, r.category, ARRAY['event.raw'] FROM correlate.pseudonym_rule r
		WHERE NOT EXISTS (SELECT 1 FROM correlate.personal_data_field f WHERE f.format = r.format AND f.path = r.path))
	SELECT t.t, f.format, f.path, COALESCE(r.category, f.category), f.stored_in,
		   CASE WHEN f.format = '*' AND EXISTS (SELECT 1 FROM correlate.pseudonym_rule x WHERE x.tenant = t.t)
				THEN 'withheld for formats with pseudonymisation rules, as received for others'
				ELSE CASE r.action WHEN 'drop' THEN 'dropped at ingest'
						 WHEN 'hash' THEN 'pseudonymised (HMAC-SHA256, tenant key)'
						 WHEN 'hash_tail' THEN 'pseudonymised after the last / (HMAC-SHA256, tenant key)'
						 WHEN 'ip' THEN 'pseudonymised address (HMAC-SHA256, tenant key)'
						 ELSE 'stored as received' END END,
		   CASE WHEN r.action = 'drop' THEN 'not stored'
				WHEN f.format = '*' THEN COALESCE(correlate._retention_of(t.t, 'rejects', '*')::text, 'until deleted')
				ELSE concat_ws('; ',
					'events ' || COALESCE(correlate._retention_of(t.t, 'events', f.format)::text, 'until deleted'),
					CASE WHEN 'event.raw' = ANY (f.stored_in)
						 THEN 'raw payload ' || COALESCE(correlate._retention_of(t.t, 'raw', f.format)::text, 'as the event') END,
					CASE WHEN EXISTS (SELECT 1 FROM unnest(f.stored_in) s WHERE s LIKE 'resource.%')
						 THEN 'resources until deleted (inventory, not under retention)' END) END,
		   concat_ws('; ',
			   CASE WHEN r.action IS NOT NULL THEN format('pseudonym_rule %s/%s (set by %s)', f.format, f.path, r.set_by) END,
			   CASE WHEN EXISTS (SELECT 1 FROM correlate.retention_policy p WHERE p.tenant = t.t)
					THEN 'retention_policy of the tenant' ELSE 'no retention period: kept until deleted' END)
	FROM ten t
	CROSS JOIN fields f
	LEFT JOIN correlate.pseudonym_rule r ON r.tenant = t.t AND r.format = f.format AND r.path = f.path
	ORDER BY 1, 2, 3;
$$;
COMMENT ON FUNCTION correlate.data_inventory()
	IS 'Per tenant (the current one; every tenant for superusers and BYPASSRLS roles): which personal data fields each format stores, their category, where they land, whether they are stored, pseudonymised or dropped, for how long and under which policy. The basis of a GDPR Art. 30 record.';

SELECT pg_catalog.pg_extension_config_dump('correlate.retention_policy', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.pseudonym_rule', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.reidentification_log', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.correlation_scope', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.scope_read_log', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.personal_data_field', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.reidentification_log', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.scope_read_log', 'id')::regclass, '');

GRANT SELECT ON correlate.retention_policy, correlate.pseudonym_rule, correlate.personal_data_field TO correlate_reader;
GRANT SELECT ON correlate.correlation_scope TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.retention_policy, correlate.pseudonym_rule TO correlate_admin;
GRANT INSERT, UPDATE, DELETE ON correlate.personal_data_field TO correlate_admin;
GRANT SELECT ON correlate.reidentification_log, correlate.scope_read_log TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate._caller(), correlate._retention_of(text, text, text), correlate.data_inventory(),
	correlate.scoped_incidents(text, text[]), correlate.scoped_incident_timeline(text, text, bigint),
	correlate.scoped_attack_paths(text, text[], integer, integer)
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.set_retention(text, interval, text), correlate.clear_retention(text, text),
	correlate.apply_retention(timestamptz), correlate.schedule_retention(text),
	correlate.set_pseudonym_rule(text, text, text, text[], text), correlate.clear_pseudonym_rule(text, text),
	correlate._ensure_pseudonym_key(text), correlate.reidentify(text, text, text[], cidr),
	correlate.grant_correlation_scope(text, name, text[], text[], text), correlate.revoke_correlation_scope(text)
	TO correlate_admin;
-- pseudonym_key_export / _import check for a superuser themselves; granting them
-- to correlate_admin only lets the check speak instead of a bare permission error.
GRANT EXECUTE ON FUNCTION correlate.pseudonym_key_export(text), correlate.pseudonym_key_import(bytea) TO correlate_admin;

-- ==== src/sql/95_output.sql ====
-- 95_output.sql: pictures of the attack graph (SVG laid out in C, DOT for
-- Graphviz) for attack paths, an incident and a blast radius; the incident
-- report page; Grafana frames; OCSF findings; YAML text.  The C side is
-- src/output/; docs/outputs.md shows every output.

CREATE FUNCTION correlate.xml_escape(value text) RETURNS text
AS 'MODULE_PATHNAME', 'correlate_xml_escape' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.xml_escape(text)
	IS 'The text escaped for XML and HTML (& < > " '' as entities); bytes that are not UTF-8 and characters XML forbids become U+FFFD.';

CREATE FUNCTION correlate._render_graph(format text, title text,
	node_id bigint[], node_label text[], node_kind text[], node_domain text[], node_detail text[], node_flags integer[],
	edge_src bigint[], edge_dst bigint[], edge_technique text[], edge_attack_id text[], edge_likelihood float8[],
	edge_cut boolean[])
RETURNS text
AS 'MODULE_PATHNAME', 'correlate_render_graph' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION correlate._render_graph(text, text, bigint[], text[], text[], text[], text[], integer[], bigint[], bigint[], text[], text[], float8[], boolean[])
	IS 'Internal: lays out and writes a picture (format svg or dot) of the nodes and edges given as parallel arrays; node_flags: 1 source, 2 target, 4 incident entity.';

-- Gathers labels for the edges and nodes to draw, then renders them.  Edges come as
-- (src, dst, attack edge or relationship id, likelihood); an edge without an id is
-- labelled with the most likely technique between its ends.
CREATE FUNCTION correlate._picture(format text, title text, nodes bigint[], sources bigint[], targets bigint[],
	focus bigint[], e_src bigint[], e_dst bigint[], e_rel bigint[], e_likelihood float8[],
	cut_src bigint[], cut_dst bigint[], what_if jsonb)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- queries that grow with the data: no JIT (LLVM does not check for interrupts; 98_interrupts.sql)
SET jit = off
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	facts boolean := COALESCE(NULLIF(current_setting('correlate.graph_layer', true), ''), 'attack') = 'facts';
	result text;
BEGIN
	WITH e AS (
		SELECT DISTINCT ON (x.s, x.d, COALESCE(x.rel, -1)) x.s, x.d, x.rel, x.lik, x.o
		FROM unnest(COALESCE(e_src, '{}'), COALESCE(e_dst, '{}'), COALESCE(e_rel, '{}'), COALESCE(e_likelihood, '{}'))
			 WITH ORDINALITY AS x(s, d, rel, lik, o)
		WHERE x.s IS NOT NULL AND x.d IS NOT NULL
		ORDER BY x.s, x.d, COALESCE(x.rel, -1), x.o
	),
	derived AS MATERIALIZED (
		SELECT a.* FROM correlate.attack_edges_derived(what_if) a WHERE what_if IS NOT NULL AND NOT facts
	),
	labelled AS (
		SELECT e.o, e.s, e.d, COALESCE(e.lik, l.likelihood, 1) AS lik, l.technique, l.attack_id,
			   EXISTS (SELECT 1 FROM unnest(cut_src, cut_dst) c(s, d) WHERE c.s = e.s AND c.d = e.d) AS cut
		FROM e
		LEFT JOIN LATERAL (
			SELECT y.technique, y.attack_id, y.likelihood FROM (
				SELECT r.kind AS technique, NULL::text AS attack_id, r.likelihood::float8 AS likelihood, r.id
				FROM correlate.relationship r
				WHERE facts AND r.tenant = t AND r.src = e.s AND r.dst = e.d
				UNION ALL
				SELECT a.technique, a.attack_id, a.likelihood, a.id
				FROM correlate.attack_edge a
				WHERE NOT facts AND what_if IS NULL AND a.tenant = t AND a.src = e.s AND a.dst = e.d
				UNION ALL
				SELECT a.technique, a.attack_id, a.likelihood, a.id
				FROM derived a WHERE a.src = e.s AND a.dst = e.d
			) y
			ORDER BY (y.id = e.rel AND what_if IS NULL) DESC NULLS LAST, abs(y.likelihood - COALESCE(e.lik, 1)), y.technique
			LIMIT 1
		) l ON true
	),
	n AS (
		SELECT x.id, min(x.o) AS o
		FROM (SELECT u.id, u.o FROM unnest(COALESCE(nodes, '{}')) WITH ORDINALITY AS u(id, o)
			  UNION ALL SELECT labelled.s, 1000000000 + 2 * labelled.o FROM labelled
			  UNION ALL SELECT labelled.d, 1000000001 + 2 * labelled.o FROM labelled) x
		WHERE x.id IS NOT NULL
		GROUP BY x.id
	),
	na AS (
		SELECT array_agg(n.id ORDER BY n.o) AS id, array_agg(COALESCE(r.name, r.uid, '#' || n.id) ORDER BY n.o) AS label,
			   array_agg(r.kind ORDER BY n.o) AS kind, array_agg(r.domain ORDER BY n.o) AS domain,
			   array_agg(r.uid ORDER BY n.o) AS detail,
			   array_agg((CASE WHEN n.id = ANY (sources) THEN 1 ELSE 0 END)
						 | (CASE WHEN n.id = ANY (targets) THEN 2 ELSE 0 END)
						 | (CASE WHEN n.id = ANY (focus) THEN 4 ELSE 0 END) ORDER BY n.o) AS flags
		FROM n LEFT JOIN correlate.resource r ON r.tenant = t AND r.id = n.id
	),
	ea AS (
		SELECT array_agg(s ORDER BY o) AS s, array_agg(d ORDER BY o) AS d, array_agg(technique ORDER BY o) AS technique,
			   array_agg(attack_id ORDER BY o) AS attack_id, array_agg(lik ORDER BY o) AS lik, array_agg(cut ORDER BY o) AS cut
		FROM labelled
	)
	SELECT correlate._render_graph(format, title, COALESCE(na.id, '{}'), COALESCE(na.label, '{}'), COALESCE(na.kind, '{}'),
								   COALESCE(na.domain, '{}'), COALESCE(na.detail, '{}'), COALESCE(na.flags, '{}'),
								   COALESCE(ea.s, '{}'), COALESCE(ea.d, '{}'), COALESCE(ea.technique, '{}'),
								   COALESCE(ea.attack_id, '{}'), COALESCE(ea.lik, '{}'),
								   CASE WHEN cut_src IS NOT NULL THEN COALESCE(ea.cut, '{}') END)
	INTO result
	FROM na, ea;
	RETURN result;
END
$$;
COMMENT ON FUNCTION correlate._picture(text, text, bigint[], bigint[], bigint[], bigint[], bigint[], bigint[], bigint[], float8[], bigint[], bigint[], jsonb)
	IS 'Internal: labels the given edges with their technique (ATT&CK id, likelihood) and the nodes with name, kind and domain, then renders the picture; cut_src/cut_dst NULL: mark the minimum cut of the drawn edges between sources and targets.';

-- The minimum cut between sources and targets as (src, dst) pairs; none when there is
-- no cut to draw (no path, or a source next to a target).
CREATE FUNCTION correlate._picture_cut(sources bigint[], targets bigint[], what_if jsonb,
	OUT src bigint[], OUT dst bigint[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	src := '{}';
	dst := '{}';
	IF cardinality(sources) = 0 OR cardinality(targets) = 0 THEN
		RETURN;
	END IF;
	BEGIN
		SELECT COALESCE(array_agg(c.src ORDER BY c.src, c.dst), '{}'), COALESCE(array_agg(c.dst ORDER BY c.src, c.dst), '{}')
		INTO src, dst
		FROM correlate.min_cut(sources, targets, 'unit', what_if) c;
	EXCEPTION WHEN invalid_parameter_value OR data_exception OR program_limit_exceeded THEN
		src := '{}';
		dst := '{}';
	END;
END
$$;
COMMENT ON FUNCTION correlate._picture_cut(bigint[], bigint[], jsonb)
	IS 'Internal: the minimum edge cut between sources and targets as (src, dst) arrays, empty when there is none.';

CREATE FUNCTION correlate._attack_graph(format text, sources bigint[], targets bigint[], k integer, max_hops integer,
	kinds text[], what_if jsonb)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- queries that grow with the data: no JIT (LLVM does not check for interrupts; 98_interrupts.sql)
SET jit = off
AS $$
DECLARE
	p record;
BEGIN
	WITH h AS MATERIALIZED (
		SELECT * FROM correlate.attack_paths(sources, targets, k, max_hops, kinds, what_if)
	),
	hp AS (
		SELECT h.*, lag(h.resource_id) OVER w AS prev, max(h.hop) OVER (PARTITION BY h.path_rank) AS last
		FROM h WINDOW w AS (PARTITION BY h.path_rank ORDER BY h.hop)
	)
	SELECT COALESCE(array_agg(hp.resource_id ORDER BY hp.path_rank, hp.hop), '{}') AS nodes,
		   COALESCE(array_agg(DISTINCT hp.resource_id) FILTER (WHERE hp.hop = 0), '{}') AS srcs,
		   COALESCE(array_agg(DISTINCT hp.resource_id) FILTER (WHERE hp.hop = hp.last), '{}') AS dsts,
		   COALESCE(array_agg(hp.prev ORDER BY hp.path_rank, hp.hop) FILTER (WHERE hp.hop > 0), '{}') AS e_src,
		   COALESCE(array_agg(hp.resource_id ORDER BY hp.path_rank, hp.hop) FILTER (WHERE hp.hop > 0), '{}') AS e_dst,
		   COALESCE(array_agg(hp.relationship_id ORDER BY hp.path_rank, hp.hop) FILTER (WHERE hp.hop > 0), '{}') AS e_rel,
		   COALESCE(array_agg(hp.likelihood ORDER BY hp.path_rank, hp.hop) FILTER (WHERE hp.hop > 0), '{}') AS e_lik,
		   count(DISTINCT hp.path_rank) AS paths, max(hp.path_likelihood) AS best
	INTO p FROM hp;
	RETURN correlate._picture(format,
		CASE WHEN p.paths = 0 THEN 'Attack paths: none'
			 ELSE format('Attack paths: %s (most likely %s)%s',
						 CASE WHEN p.paths = 1 THEN '1 path' ELSE p.paths || ' paths' END, round(p.best::numeric, 3),
						 CASE WHEN what_if IS NOT NULL THEN ', what-if' ELSE '' END) END,
		p.nodes, p.srcs, p.dsts, '{}', p.e_src, p.e_dst, p.e_rel, p.e_lik, NULL, NULL, what_if);
END
$$;
COMMENT ON FUNCTION correlate._attack_graph(text, bigint[], bigint[], integer, integer, text[], jsonb)
	IS 'Internal: the picture of attack_paths(sources, targets, k, max_hops, kinds, what_if) with the minimum cut marked.';

CREATE FUNCTION correlate.attack_graph_svg(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL,
	k integer DEFAULT 10, max_hops integer DEFAULT 8, kinds text[] DEFAULT NULL, what_if jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN correlate._attack_graph('svg', sources, targets, k, max_hops, kinds, what_if);
COMMENT ON FUNCTION correlate.attack_graph_svg(bigint[], bigint[], integer, integer, text[], jsonb)
	IS 'A self-contained SVG picture of the k most likely attack paths (arguments as for attack_paths): layered by hop, coloured by domain, a shape per kind, edges labelled with technique, ATT&CK id and likelihood, the minimum cut of the drawn paths red and dashed.';

CREATE FUNCTION correlate.attack_graph_dot(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL,
	k integer DEFAULT 10, max_hops integer DEFAULT 8, kinds text[] DEFAULT NULL, what_if jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN correlate._attack_graph('dot', sources, targets, k, max_hops, kinds, what_if);
COMMENT ON FUNCTION correlate.attack_graph_dot(bigint[], bigint[], integer, integer, text[], jsonb)
	IS 'The attack_graph_svg picture as Graphviz DOT (render with: dot -Tsvg).';

CREATE FUNCTION correlate._incident_graph(format text, incident_id bigint, k integer, max_hops integer)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- queries that grow with the data: no JIT (LLVM does not check for interrupts; 98_interrupts.sql)
SET jit = off
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	facts boolean := COALESCE(NULLIF(current_setting('correlate.graph_layer', true), ''), 'attack') = 'facts';
	inc record;
	ins bigint[] := '{}';
	outs bigint[] := '{}';
	srcs bigint[] := '{}';
	dsts bigint[] := '{}';
	nodes bigint[];
	e record;
BEGIN
	IF incident_id IS NULL THEN
		RAISE EXCEPTION 'incident_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT i.id, i.title, i.severity, i.entities INTO inc FROM correlate.incident i WHERE i.tenant = t AND i.id = incident_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', incident_id
			USING ERRCODE = 'undefined_object',
				  DETAIL = format('No incident with id %s in tenant "%s".', incident_id, t),
				  HINT = 'List incidents with SELECT id, title FROM correlate.incident.';
	END IF;
	-- How the attacker could have come in (the internet to the entities) and where they
	-- could go next (the entities to the crown jewels).
	BEGIN
		SELECT COALESCE(array_agg(p.resource_id ORDER BY p.path_rank, p.hop), '{}'),
			   COALESCE(array_agg(DISTINCT p.resource_id) FILTER (WHERE p.hop = 0), '{}')
		INTO ins, srcs
		FROM correlate.attack_paths(NULL, inc.entities, k, max_hops) p;
	EXCEPTION WHEN invalid_parameter_value OR undefined_object OR no_data_found THEN
		ins := '{}';
	END;
	BEGIN
		SELECT COALESCE(array_agg(p.resource_id ORDER BY p.path_rank, p.hop), '{}'),
			   COALESCE(array_agg(DISTINCT p.resource_id) FILTER (WHERE p.hop = x.last), '{}')
		INTO outs, dsts
		FROM correlate.attack_paths(inc.entities, NULL, k, max_hops) p
		JOIN (SELECT q.path_rank, max(q.hop) AS last FROM correlate.attack_paths(inc.entities, NULL, k, max_hops) q
			  GROUP BY q.path_rank) x ON x.path_rank = p.path_rank;
	EXCEPTION WHEN invalid_parameter_value OR undefined_object OR no_data_found THEN
		outs := '{}';
	END;
	nodes := ins || inc.entities || outs;
	-- Every edge among those resources.
	SELECT COALESCE(array_agg(a.src ORDER BY a.src, a.dst, a.id), '{}') AS s,
		   COALESCE(array_agg(a.dst ORDER BY a.src, a.dst, a.id), '{}') AS d,
		   COALESCE(array_agg(a.id ORDER BY a.src, a.dst, a.id), '{}') AS rel,
		   COALESCE(array_agg(a.likelihood ORDER BY a.src, a.dst, a.id), '{}') AS lik
	INTO e
	FROM (SELECT x.id, x.src, x.dst, x.likelihood FROM correlate.attack_edge x
		  WHERE NOT facts AND x.tenant = t AND x.src = ANY (nodes) AND x.dst = ANY (nodes) AND x.src <> x.dst
		  UNION ALL
		  SELECT r.id, r.src, r.dst, r.likelihood FROM correlate.relationship r
		  WHERE facts AND r.tenant = t AND r.src = ANY (nodes) AND r.dst = ANY (nodes) AND r.src <> r.dst) a;
	RETURN correlate._picture(format, format('Incident %s: %s (%s)', inc.id, inc.title, inc.severity),
							  nodes, srcs, dsts, inc.entities, e.s, e.d, e.rel, e.lik, NULL, NULL, NULL);
END
$$;
COMMENT ON FUNCTION correlate._incident_graph(text, bigint, integer, integer)
	IS 'Internal: the picture of an incident: its entities, the k most likely attack paths into them and from them to crown jewels, every attack edge among those resources.';

CREATE FUNCTION correlate.incident_graph_svg(incident_id bigint, k integer DEFAULT 5, max_hops integer DEFAULT 8)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN correlate._incident_graph('svg', incident_id, k, max_hops);
COMMENT ON FUNCTION correlate.incident_graph_svg(bigint, integer, integer)
	IS 'A self-contained SVG picture of an incident: its entities (badged), the k most likely attack paths into them and on to crown jewels, every attack edge among those resources, the minimum cut.';

CREATE FUNCTION correlate.incident_graph_dot(incident_id bigint, k integer DEFAULT 5, max_hops integer DEFAULT 8)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN correlate._incident_graph('dot', incident_id, k, max_hops);
COMMENT ON FUNCTION correlate.incident_graph_dot(bigint, integer, integer)
	IS 'The incident_graph_svg picture as Graphviz DOT.';

CREATE FUNCTION correlate._blast_radius_graph(format text, sources bigint[], max_hops integer, kinds text[], what_if jsonb)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- queries that grow with the data: no JIT (LLVM does not check for interrupts; 98_interrupts.sql)
SET jit = off
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	jewel float8 := COALESCE(NULLIF(current_setting('correlate.crown_jewel_criticality', true), '')::float8, 0.8);
	limit_nodes integer := COALESCE(NULLIF(current_setting('correlate.output_max_nodes', true), '')::integer, 2000);
	b record;
BEGIN
	WITH br AS MATERIALIZED (
		SELECT * FROM correlate.blast_radius(sources, max_hops, kinds, what_if)
	)
	SELECT count(*) AS n,
		   COALESCE(array_agg(br.resource_id ORDER BY br.hops, br.likelihood DESC, br.resource_id), '{}') AS nodes,
		   COALESCE(array_agg(br.resource_id) FILTER (WHERE r.criticality >= jewel AND br.hops > 0), '{}') AS jewels,
		   COALESCE(array_agg(br.via ORDER BY br.hops, br.likelihood DESC, br.resource_id) FILTER (WHERE br.via IS NOT NULL), '{}') AS e_src,
		   COALESCE(array_agg(br.resource_id ORDER BY br.hops, br.likelihood DESC, br.resource_id) FILTER (WHERE br.via IS NOT NULL), '{}') AS e_dst,
		   max(br.hops) AS depth
	INTO b
	FROM br LEFT JOIN correlate.resource r ON r.tenant = t AND r.id = br.resource_id;
	IF b.n > limit_nodes THEN
		RAISE EXCEPTION 'blast radius too large to draw'
			USING ERRCODE = 'program_limit_exceeded',
				  DETAIL = format('It holds %s resources; correlate.output_max_nodes is %s.', b.n, limit_nodes),
				  HINT = 'Lower max_hops or follow fewer kinds.';
	END IF;
	RETURN correlate._picture(format,
		format('Blast radius: %s resources within %s hops%s', b.n, COALESCE(b.depth, 0),
			   CASE WHEN what_if IS NOT NULL THEN ', what-if' ELSE '' END),
		b.nodes, sources, b.jewels, '{}', b.e_src, b.e_dst,
		array_fill(NULL::bigint, ARRAY[cardinality(b.e_src)]), array_fill(NULL::float8, ARRAY[cardinality(b.e_src)]),
		NULL, NULL, what_if);
END
$$;
COMMENT ON FUNCTION correlate._blast_radius_graph(text, bigint[], integer, text[], jsonb)
	IS 'Internal: the picture of blast_radius(sources, max_hops, kinds, what_if): each resource joined to the one before it on its most likely path.';

CREATE FUNCTION correlate.blast_radius_svg(sources bigint[], max_hops integer DEFAULT NULL, kinds text[] DEFAULT NULL,
	what_if jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN correlate._blast_radius_graph('svg', sources, max_hops, kinds, what_if);
COMMENT ON FUNCTION correlate.blast_radius_svg(bigint[], integer, text[], jsonb)
	IS 'A self-contained SVG picture of blast_radius (same arguments): the tree of most likely paths from the sources, crown jewels badged.';

CREATE FUNCTION correlate.blast_radius_dot(sources bigint[], max_hops integer DEFAULT NULL, kinds text[] DEFAULT NULL,
	what_if jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN correlate._blast_radius_graph('dot', sources, max_hops, kinds, what_if);
COMMENT ON FUNCTION correlate.blast_radius_dot(bigint[], integer, text[], jsonb)
	IS 'The blast_radius_svg picture as Graphviz DOT.';

GRANT EXECUTE ON FUNCTION correlate.xml_escape(text),
	correlate._render_graph(text, text, bigint[], text[], text[], text[], text[], integer[], bigint[], bigint[], text[], text[], float8[], boolean[]),
	correlate._picture(text, text, bigint[], bigint[], bigint[], bigint[], bigint[], bigint[], bigint[], float8[], bigint[], bigint[], jsonb),
	correlate._picture_cut(bigint[], bigint[], jsonb),
	correlate._attack_graph(text, bigint[], bigint[], integer, integer, text[], jsonb),
	correlate.attack_graph_svg(bigint[], bigint[], integer, integer, text[], jsonb),
	correlate.attack_graph_dot(bigint[], bigint[], integer, integer, text[], jsonb),
	correlate._incident_graph(text, bigint, integer, integer),
	correlate.incident_graph_svg(bigint, integer, integer), correlate.incident_graph_dot(bigint, integer, integer),
	correlate._blast_radius_graph(text, bigint[], integer, text[], jsonb),
	correlate.blast_radius_svg(bigint[], integer, text[], jsonb), correlate.blast_radius_dot(bigint[], integer, text[], jsonb)
	TO correlate_reader;

-- ==== src/sql/96_yaml.sql ====
-- 96_yaml.sql: YAML text where users apply YAML (kubectl apply -f), and the fix
-- plan's artifacts as the files a user would apply: Kubernetes objects as YAML, IAM
-- policies as JSON documents for aws iam create-policy-version.

-- One scalar: plain when it cannot be misread (no YAML 1.1 booleans, nulls or
-- numbers, no indicator characters), else a JSON string literal, which YAML reads as
-- a double-quoted scalar with the same escapes.
CREATE FUNCTION correlate._yaml_scalar(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
	WHEN jsonb_typeof(v) = 'string'
		 AND (v #>> '{}') ~ '^[A-Za-z_/][A-Za-z0-9_./-]*$'
		 AND lower(v #>> '{}') NOT IN ('y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null')
		THEN v #>> '{}'
	ELSE v::text
END;
COMMENT ON FUNCTION correlate._yaml_scalar(jsonb) IS 'Internal: a JSON scalar as a YAML scalar (plain when safe, else double-quoted).';

CREATE FUNCTION correlate._yaml_key(k text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN correlate._yaml_scalar(to_jsonb(k));
COMMENT ON FUNCTION correlate._yaml_key(text) IS 'Internal: a mapping key as YAML.';

-- A block (lines indented by ind spaces, no final newline) for a non-empty object or array.
CREATE FUNCTION correlate._yaml_block(v jsonb, ind integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	pad text := repeat(' ', ind);
	lines text[] := '{}';
	r record;
	blk text;
BEGIN
	IF jsonb_typeof(v) = 'object' THEN
		FOR r IN SELECT e.key, e.value FROM jsonb_each(v) WITH ORDINALITY AS e(key, value, o)
				 ORDER BY array_position(ARRAY['apiVersion', 'kind', 'metadata', 'spec', 'Version', 'Statement'], e.key) NULLS LAST, e.o
		LOOP
			IF jsonb_typeof(r.value) = 'object' AND r.value <> '{}' THEN
				lines := lines || (pad || correlate._yaml_key(r.key) || E':\n' || correlate._yaml_block(r.value, ind + 2));
			ELSIF jsonb_typeof(r.value) = 'array' AND r.value <> '[]' THEN
				lines := lines || (pad || correlate._yaml_key(r.key) || E':\n' || correlate._yaml_block(r.value, ind));
			ELSE
				lines := lines || (pad || correlate._yaml_key(r.key) || ': ' || correlate._yaml_scalar(r.value));
			END IF;
		END LOOP;
	ELSE
		FOR r IN SELECT e.value FROM jsonb_array_elements(v) WITH ORDINALITY AS e(value, o) ORDER BY e.o LOOP
			IF jsonb_typeof(r.value) = 'object' AND r.value <> '{}' THEN
				blk := correlate._yaml_block(r.value, ind + 2);
				lines := lines || (pad || '- ' || substr(blk, ind + 3));
			ELSIF jsonb_typeof(r.value) = 'array' AND r.value <> '[]' THEN
				lines := lines || (pad || E'-\n' || correlate._yaml_block(r.value, ind + 2));
			ELSE
				lines := lines || (pad || '- ' || correlate._yaml_scalar(r.value));
			END IF;
		END LOOP;
	END IF;
	RETURN array_to_string(lines, E'\n');
END
$$;
COMMENT ON FUNCTION correlate._yaml_block(jsonb, integer) IS 'Internal: a non-empty JSON object or array as an indented YAML block.';

CREATE FUNCTION correlate.to_yaml(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN jsonb_typeof(doc) IN ('object', 'array') AND doc NOT IN ('{}', '[]')
			THEN correlate._yaml_block(doc, 0) ELSE correlate._yaml_scalar(doc) END || E'\n';
COMMENT ON FUNCTION correlate.to_yaml(jsonb)
	IS 'The JSON document as block-style YAML (Kubernetes key order: apiVersion, kind, metadata, spec first); strings that could be misread are double-quoted, so parsing it gives the same document back.';

CREATE FUNCTION correlate.network_policy_yaml(namespace text, cluster text DEFAULT NULL) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN correlate.to_yaml(correlate.network_policy(namespace, cluster));
COMMENT ON FUNCTION correlate.network_policy_yaml(text, text)
	IS 'network_policy(namespace, cluster) as YAML, ready for kubectl apply -f.';

CREATE FUNCTION correlate.fix_plan_artifacts(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL, k integer DEFAULT 10)
RETURNS TABLE (rank integer, kind text, target text, media_type text, filename text, apply text, content text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT f.rank, f.kind, f.target,
		   CASE WHEN f.artifact ? 'apiVersion' THEN 'application/yaml' ELSE 'application/json' END,
		   CASE WHEN f.artifact ? 'apiVersion'
				THEN lower(COALESCE(f.artifact ->> 'kind', 'object')) || '-'
					 || regexp_replace(COALESCE(f.artifact #>> '{metadata,name}', 'unnamed'), '[^A-Za-z0-9_.-]', '_', 'g') || '.yaml'
				ELSE 'policy-' || regexp_replace(COALESCE(f.target, 'unnamed'), '[^A-Za-z0-9_.-]', '_', 'g') || '.json' END,
		   CASE WHEN f.artifact ? 'apiVersion'
				THEN 'kubectl apply -f ' || lower(COALESCE(f.artifact ->> 'kind', 'object')) || '-'
					 || regexp_replace(COALESCE(f.artifact #>> '{metadata,name}', 'unnamed'), '[^A-Za-z0-9_.-]', '_', 'g') || '.yaml'
				ELSE 'aws iam create-policy-version --policy-arn POLICY_ARN --set-as-default --policy-document file://policy-'
					 || regexp_replace(COALESCE(f.target, 'unnamed'), '[^A-Za-z0-9_.-]', '_', 'g') || '.json' END,
		   CASE WHEN f.artifact ? 'apiVersion' THEN correlate.to_yaml(f.artifact)
				ELSE jsonb_pretty(f.artifact) || E'\n' END
	FROM correlate.fix_plan(sources, targets, k) f
	WHERE f.artifact IS NOT NULL
	ORDER BY f.rank;
END;
COMMENT ON FUNCTION correlate.fix_plan_artifacts(bigint[], bigint[], integer)
	IS 'The fix plan''s artifacts as files: Kubernetes objects as YAML (kubectl apply -f), IAM policies as JSON documents (aws iam create-policy-version), each with a file name and the command that applies it.';

GRANT EXECUTE ON FUNCTION correlate._yaml_scalar(jsonb), correlate._yaml_key(text), correlate._yaml_block(jsonb, integer),
	correlate.to_yaml(jsonb), correlate.network_policy_yaml(text, text),
	correlate.fix_plan_artifacts(bigint[], bigint[], integer)
	TO correlate_reader;

-- ==== src/sql/97_report.sql ====
-- 97_report.sql: the incident report, one self-contained HTML page: no scripts, no
-- external fonts, stylesheets or images; every value escaped with correlate.xml_escape.

CREATE FUNCTION correlate._ts(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC';
COMMENT ON FUNCTION correlate._ts(timestamptz) IS 'Internal: a time as the report prints it (UTC, whatever the session time zone).';

CREATE FUNCTION correlate.incident_report(incident_id bigint, k integer DEFAULT 10)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- queries that grow with the data: no JIT (LLVM does not check for interrupts; 98_interrupts.sql)
SET jit = off
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	inc record;
	h text := '';
	part text;
	svg text;
BEGIN
	IF incident_id IS NULL THEN
		RAISE EXCEPTION 'incident_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT i.* INTO inc FROM correlate.incident i WHERE i.tenant = t AND i.id = incident_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', incident_id
			USING ERRCODE = 'undefined_object',
				  DETAIL = format('No incident with id %s in tenant "%s".', incident_id, t),
				  HINT = 'List incidents with SELECT id, title FROM correlate.incident.';
	END IF;
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('k is %s.', COALESCE(k::text, 'NULL'));
	END IF;

	h := '<!DOCTYPE html>' || E'\n' || '<html lang="en"><head><meta charset="utf-8">'
		|| '<meta name="viewport" content="width=device-width, initial-scale=1">'
		|| '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''; img-src data:">'
		|| '<title>' || correlate.xml_escape(format('Incident %s: %s', inc.id, inc.title)) || '</title>'
		|| '<style>'
		|| 'body{font-family:"DejaVu Sans","Liberation Sans",Arial,Helvetica,sans-serif;margin:0;color:#0f172a;background:#f8fafc}'
		|| 'main{max-width:1440px;margin:0 auto;padding:24px 28px 48px}'
		|| 'h1{font-size:24px;margin:6px 0 4px}h2{font-size:17px;margin:30px 0 10px;border-bottom:1px solid #e2e8f0;padding-bottom:6px}'
		|| '.meta{color:#475569;font-size:13px}.sev{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-size:12px;font-weight:700;text-transform:uppercase}'
		|| '.sev-critical{background:#b91c1c}.sev-high{background:#ea580c}.sev-medium{background:#ca8a04}.sev-low{background:#2563eb}'
		|| 'table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}'
		|| 'th{background:#f1f5f9;font-weight:700}td.num{text-align:right;white-space:nowrap}td.ts{white-space:nowrap;font-family:"DejaVu Sans Mono",monospace;font-size:12px}'
		|| '.dom{display:inline-block;padding:1px 7px;border-radius:8px;font-size:11px;border:1px solid #cbd5e1}'
		|| '.dom-workload{background:#e3effa}.dom-network{background:#e4f4e6}.dom-identity{background:#fdf0dc}.dom-data{background:#fbe5ea}.dom-kubernetes{background:#ece8fb}.dom-cloud{background:#e0f4f5}'
		|| '.graph{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:8px;overflow-x:auto}.graph svg{max-width:100%;height:auto}'
		|| 'pre{background:#0f172a;color:#e2e8f0;padding:10px 12px;border-radius:6px;font-size:12px;overflow-x:auto;margin:6px 0}'
		|| '.fix h3{font-size:14px;margin:16px 0 4px}.cmd{font-family:"DejaVu Sans Mono",monospace;font-size:12px;color:#334155}'
		|| 'ul{margin:4px 0;padding-left:20px}footer{margin-top:36px;color:#94a3b8;font-size:12px}'
		|| '</style></head><body><main class="incident-report" data-incident="' || inc.id || '">';

	-- Summary
	SELECT format('<p class="meta">Incident %s &middot; rule <b>%s</b> &middot; status %s &middot; %s to %s</p>',
				  inc.id, correlate.xml_escape(inc.rule), correlate.xml_escape(inc.status),
				  correlate.xml_escape(correlate._ts(inc.first_ts)), correlate.xml_escape(correlate._ts(inc.last_ts)))
		   || format('<h1>%s <span class="sev sev-%s">%s</span></h1>', correlate.xml_escape(inc.title),
					 correlate.xml_escape(inc.severity), correlate.xml_escape(inc.severity))
		   || '<h2 id="summary">Summary</h2><p>'
		   || format('%s events across %s between %s and %s, tied to %s: %s.',
					 count(*), correlate.xml_escape(string_agg(DISTINCT e.domain, ', ' ORDER BY e.domain)),
					 correlate.xml_escape(correlate._ts(inc.first_ts)), correlate.xml_escape(correlate._ts(inc.last_ts)),
					 CASE cardinality(inc.entities) WHEN 1 THEN 'one resource' ELSE cardinality(inc.entities) || ' resources' END,
					 (SELECT correlate.xml_escape(string_agg(COALESCE(r.name, r.uid) || ' (' || r.kind || ')', ', ' ORDER BY r.domain, r.name, r.id))
					  FROM correlate.resource r WHERE r.tenant = t AND r.id = ANY (inc.entities)))
		   || '</p>'
	INTO part
	FROM correlate.incident_event ie JOIN correlate.event e ON e.tenant = ie.tenant AND e.id = ie.event_id AND e.ts = ie.event_ts
	WHERE ie.tenant = t AND ie.incident = inc.id;
	h := h || COALESCE(part, '');

	-- Timeline
	SELECT '<h2 id="timeline">Timeline</h2><table class="timeline"><thead><tr><th>Time</th><th>Domain</th><th>Class</th>'
		   || '<th>Actor</th><th>Target</th><th>What happened</th></tr></thead><tbody>'
		   || COALESCE(string_agg(format('<tr><td class="ts">%s</td><td><span class="dom dom-%s">%s</span></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>',
										 correlate.xml_escape(correlate._ts(tl.ts)), correlate.xml_escape(tl.domain), correlate.xml_escape(tl.domain),
										 correlate.xml_escape(COALESCE(tl.class, '')), correlate.xml_escape(COALESCE(tl.actor, '')),
										 correlate.xml_escape(COALESCE(tl.target, '')), correlate.xml_escape(COALESCE(tl.summary, ''))),
								  '' ORDER BY tl.ts, tl.domain, tl.summary), '')
		   || '</tbody></table>'
	INTO part
	FROM correlate.incident_timeline(inc.id) tl;
	h := h || part;

	-- The attack graph around the incident
	svg := correlate.incident_graph_svg(inc.id, LEAST(k, 10));
	h := h || '<h2 id="attack-graph">Attack graph</h2><p class="meta">The incident''s resources (badged), how an attacker '
		|| 'reaches them from the internet and where they lead; red dashed edges are the minimum cut.</p>'
		|| '<div class="graph">' || svg || '</div>';

	-- Risk reasons of the incident's resources, and their toxic combinations
	SELECT '<h2 id="risk">Risk</h2><table class="risk"><thead><tr><th>Resource</th><th>Score</th><th>Reasons</th></tr></thead><tbody>'
		   || COALESCE(string_agg(format('<tr><td>%s <span class="meta">%s</span></td><td class="num">%s</td><td><ul>%s</ul></td></tr>',
										 correlate.xml_escape(COALESCE(r.name, r.uid)), correlate.xml_escape(r.kind), s.score,
										 (SELECT string_agg(format('<li><b>%s</b> (%s): %s</li>', correlate.xml_escape(x ->> 'factor'),
																   correlate.xml_escape(x ->> 'weight'), correlate.xml_escape(x ->> 'detail')),
															'' ORDER BY o)
										  FROM jsonb_array_elements(s.reasons) WITH ORDINALITY AS y(x, o))),
								  '' ORDER BY s.score DESC, r.name, r.id),
					   '<tr><td colspan="3">No risk scores yet: run correlate.rescore().</td></tr>')
		   || '</tbody></table>'
	INTO part
	FROM correlate.risk_score s JOIN correlate.resource r ON r.tenant = s.tenant AND r.id = s.resource_id
	WHERE s.tenant = t AND s.resource_id = ANY (inc.entities);
	h := h || part;
	SELECT CASE WHEN count(*) = 0 THEN '' ELSE
		   '<h3>Toxic combinations</h3><table class="toxic"><thead><tr><th>Rule</th><th>Severity</th><th>Resource</th><th>Factors</th></tr></thead><tbody>'
		   || string_agg(format('<tr><td>%s</td><td><span class="sev sev-%s">%s</span></td><td>%s</td><td>%s</td></tr>',
								correlate.xml_escape(c.rule), correlate.xml_escape(c.severity), correlate.xml_escape(c.severity),
								correlate.xml_escape(COALESCE(r.name, r.uid)),
								(SELECT correlate.xml_escape(string_agg(x ->> 'factor', ' + ' ORDER BY x ->> 'factor'))
								 FROM jsonb_array_elements(c.reasons) x)),
						 '' ORDER BY CASE c.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 ELSE 2 END, c.rule, r.name, c.id)
		   || '</tbody></table>' END
	INTO part
	FROM correlate.toxic_combination c JOIN correlate.resource r ON r.tenant = c.tenant AND r.id = c.resource_id
	WHERE c.tenant = t AND c.resource_id = ANY (inc.entities);
	h := h || part;

	-- The fix plan, with its artifacts as the files to apply
	SELECT '<h2 id="fix-plan">Fix plan</h2><table class="fixes"><thead><tr><th>#</th><th>Fix</th><th>Target</th><th>What it does</th>'
		   || '<th>Paths removed</th><th>Risk cut</th><th>Effort</th></tr></thead><tbody>'
		   || COALESCE(string_agg(format('<tr><td class="num">%s</td><td>%s</td><td>%s</td><td>%s</td><td class="num">%s/%s</td><td class="num">%s</td><td class="num">%s</td></tr>',
										 f.rank, correlate.xml_escape(f.kind), correlate.xml_escape(COALESCE(f.target, '')),
										 correlate.xml_escape(COALESCE(f.description, '')), f.paths_removed, f.paths_total,
										 COALESCE(f.risk_reduction::text, ''), COALESCE(f.effort::text, '')),
								  '' ORDER BY f.rank),
					   '<tr><td colspan="7">No attack path to fix.</td></tr>')
		   || '</tbody></table>'
	INTO part
	FROM correlate.fix_plan(NULL, NULL, k) f;
	h := h || part;
	SELECT COALESCE(string_agg(format('<div class="fix"><h3>%s. %s: %s</h3><div class="cmd">%s</div><pre>%s</pre></div>',
									  a.rank, correlate.xml_escape(a.kind), correlate.xml_escape(COALESCE(a.target, '')),
									  correlate.xml_escape(a.apply), correlate.xml_escape(a.content)), '' ORDER BY a.rank), '')
	INTO part
	FROM correlate.fix_plan_artifacts(NULL, NULL, k) a;
	h := h || part;

	RETURN h || '<footer>correlate incident report &middot; tenant ' || correlate.xml_escape(t)
		|| ' &middot; self-contained: no scripts, no network</footer></main></body></html>' || E'\n';
END
$$;
COMMENT ON FUNCTION correlate.incident_report(bigint, integer)
	IS 'One self-contained HTML page for an incident (no scripts, no network fetches): summary, timeline, the attack-graph picture, risk reasons and toxic combinations of its resources, the fix plan (k fixes) with its artifacts as YAML or JSON files and the commands that apply them.';

GRANT EXECUTE ON FUNCTION correlate._ts(timestamptz), correlate.incident_report(bigint, integer) TO correlate_reader;

-- ==== src/sql/98_grafana.sql ====
-- 98_grafana.sql: result sets shaped for Grafana's PostgreSQL data source: the Node
-- Graph panel's nodes and edges frames (field names as Grafana reads them: id, title,
-- subtitle, mainstat, secondarystat, arc__*, color, detail__*; id, source, target,
-- mainstat, secondarystat, thickness, highlighted, color), top risks, incidents over
-- time and toxic combinations.  docs/grafana/correlate-dashboard.json uses them.

CREATE FUNCTION correlate.grafana_nodes(k integer DEFAULT 10, max_hops integer DEFAULT 8)
RETURNS TABLE (id text, title text, subtitle text, mainstat float8, secondarystat float8,
			   arc__workload float8, arc__network float8, arc__identity float8, arc__data float8,
			   arc__kubernetes float8, arc__cloud float8, arc__other float8, color text,
			   detail__uid text, detail__domain text, highlighted boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
-- queries that grow with the data: no JIT (LLVM does not check for interrupts; 98_interrupts.sql)
SET jit = off
BEGIN ATOMIC
	WITH p AS (SELECT a.resource_id, min(a.hop) AS hop, bool_or(a.hop = 0) AS is_source
			   FROM correlate.attack_paths(NULL, NULL, k, max_hops) a GROUP BY a.resource_id)
	SELECT r.id::text, COALESCE(r.name, r.uid), r.kind,
		   COALESCE(s.score, 0)::float8, r.criticality::float8,
		   (r.domain = 'workload')::int::float8, (r.domain = 'network')::int::float8, (r.domain = 'identity')::int::float8,
		   (r.domain = 'data')::int::float8, (r.domain = 'kubernetes')::int::float8, (r.domain = 'cloud')::int::float8,
		   (r.domain NOT IN ('workload', 'network', 'identity', 'data', 'kubernetes', 'cloud'))::int::float8,
		   CASE r.domain WHEN 'workload' THEN '#1f63a8' WHEN 'network' THEN '#2e7d32' WHEN 'identity' THEN '#b35f00'
						 WHEN 'data' THEN '#b0243b' WHEN 'kubernetes' THEN '#5b3fb2' WHEN 'cloud' THEN '#00796b' ELSE '#5f6368' END,
		   r.uid, r.domain, p.is_source OR r.criticality >= 0.8
	FROM p JOIN correlate.resource r ON r.tenant = correlate.current_tenant() AND r.id = p.resource_id
	LEFT JOIN correlate.risk_score s ON s.tenant = r.tenant AND s.resource_id = r.id
	ORDER BY p.hop, r.id;
END;
COMMENT ON FUNCTION correlate.grafana_nodes(integer, integer)
	IS 'Grafana Node Graph nodes frame for the k most likely attack paths: id, title (name), subtitle (kind), mainstat (risk score), secondarystat (criticality), arc__<domain> (one-hot, colours the ring), color, detail__uid, detail__domain, highlighted (sources and crown jewels).';

CREATE FUNCTION correlate.grafana_edges(k integer DEFAULT 10, max_hops integer DEFAULT 8)
RETURNS TABLE (id text, source text, target text, mainstat text, secondarystat float8, thickness float8,
			   highlighted boolean, color text, detail__attack_id text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- queries that grow with the data: no JIT (LLVM does not check for interrupts; 98_interrupts.sql)
SET jit = off
AS $$
DECLARE
	c record;
BEGIN
	WITH h AS (SELECT a.*, lag(a.resource_id) OVER (PARTITION BY a.path_rank ORDER BY a.hop) AS prev
			   FROM correlate.attack_paths(NULL, NULL, k, max_hops) a)
	SELECT COALESCE(array_agg(DISTINCT h.resource_id) FILTER (WHERE h.hop = 0), '{}') AS srcs,
		   COALESCE(array_agg(DISTINCT h.resource_id) FILTER (WHERE h.hop > 0 AND NOT EXISTS (
				SELECT 1 FROM h h2 WHERE h2.path_rank = h.path_rank AND h2.hop > h.hop)), '{}') AS dsts
	INTO c FROM h;
	c := correlate._picture_cut(c.srcs, c.dsts, NULL);
	RETURN QUERY
	WITH h AS (SELECT a.*, lag(a.resource_id) OVER (PARTITION BY a.path_rank ORDER BY a.hop) AS prev
			   FROM correlate.attack_paths(NULL, NULL, k, max_hops) a),
	e AS (SELECT DISTINCT h.prev, h.resource_id, h.relationship_id, h.likelihood FROM h WHERE h.hop > 0)
	SELECT e.prev::text || '-' || e.resource_id::text || '-' || COALESCE(e.relationship_id::text, ''),
		   e.prev::text, e.resource_id::text,
		   COALESCE(a.technique, 'edge') || COALESCE(' (' || a.attack_id || ')', ''),
		   e.likelihood, 1 + 4 * e.likelihood,
		   EXISTS (SELECT 1 FROM unnest(c.src, c.dst) x(s, d) WHERE x.s = e.prev AND x.d = e.resource_id),
		   CASE WHEN EXISTS (SELECT 1 FROM unnest(c.src, c.dst) x(s, d) WHERE x.s = e.prev AND x.d = e.resource_id)
				THEN '#d32f2f' ELSE '#64748b' END,
		   a.attack_id
	FROM e LEFT JOIN correlate.attack_edge a ON a.tenant = correlate.current_tenant() AND a.id = e.relationship_id
	ORDER BY e.prev, e.resource_id, e.relationship_id;
END
$$;
COMMENT ON FUNCTION correlate.grafana_edges(integer, integer)
	IS 'Grafana Node Graph edges frame for the same paths as grafana_nodes: id, source, target, mainstat (technique and ATT&CK id), secondarystat (likelihood), thickness, highlighted and color (red: in the minimum cut), detail__attack_id.';

CREATE FUNCTION correlate.grafana_top_risks(n integer DEFAULT 20)
RETURNS TABLE (resource text, kind text, domain text, score integer, reasons text, uid text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT COALESCE(r.name, r.uid), r.kind, r.domain, s.score::integer,
		   (SELECT string_agg((x ->> 'factor') || ' ' || (x ->> 'weight'), ', ' ORDER BY o)
			FROM jsonb_array_elements(s.reasons) WITH ORDINALITY AS y(x, o)), r.uid
	FROM correlate.risk_score s JOIN correlate.resource r ON r.tenant = s.tenant AND r.id = s.resource_id
	WHERE s.tenant = correlate.current_tenant()
	ORDER BY s.score DESC, r.name, r.id
	LIMIT n;
END;
COMMENT ON FUNCTION correlate.grafana_top_risks(integer) IS 'Grafana table: the n riskiest resources with their score and reasons.';

CREATE FUNCTION correlate.grafana_incidents(since timestamptz, until timestamptz, bucket interval DEFAULT '1 hour')
RETURNS TABLE ("time" timestamptz, metric text, value bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT date_bin(bucket, i.first_ts, TIMESTAMPTZ '2000-01-01 00:00:00+00'), i.severity, count(*)
	FROM correlate.incident i
	WHERE i.tenant = correlate.current_tenant() AND i.first_ts >= since AND i.first_ts < until
	GROUP BY 1, 2
	ORDER BY 1, 2;
END;
COMMENT ON FUNCTION correlate.grafana_incidents(timestamptz, timestamptz, interval)
	IS 'Grafana time series (long format: time, metric, value): incidents opened per bucket and severity between since and until.';

CREATE FUNCTION correlate.grafana_toxic_combinations()
RETURNS TABLE (rule text, severity text, resource text, kind text, factors text, last_seen timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.rule, c.severity, COALESCE(r.name, r.uid), r.kind,
		   (SELECT string_agg(x ->> 'factor', ' + ' ORDER BY x ->> 'factor') FROM jsonb_array_elements(c.reasons) x),
		   c.last_seen
	FROM correlate.toxic_combination c JOIN correlate.resource r ON r.tenant = c.tenant AND r.id = c.resource_id
	WHERE c.tenant = correlate.current_tenant()
	ORDER BY CASE c.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, c.rule, r.name, c.id;
END;
COMMENT ON FUNCTION correlate.grafana_toxic_combinations() IS 'Grafana table: toxic combinations, most severe first, with the factors that make them.';

GRANT EXECUTE ON FUNCTION correlate.grafana_nodes(integer, integer), correlate.grafana_edges(integer, integer),
	correlate.grafana_top_risks(integer), correlate.grafana_incidents(timestamptz, timestamptz, interval),
	correlate.grafana_toxic_combinations()
	TO correlate_reader;

-- ==== src/sql/98_interrupts.sql ====
-- 98_interrupts.sql: the functions whose queries grow with the data run with JIT
-- compilation off.
--
-- On a large estate the planner judges their queries expensive enough to JIT-compile,
-- and LLVM compiles inside the executor's start-up without ever checking for
-- interrupts: rescore() and correlate() overran a 100 ms statement_timeout by 4 to 11
-- seconds while LLVM optimised their queries (test/t/cancel.sh; docs/reliability.md).
-- The compilation also costs more than it saves on these queries.  Set by name, so the
-- setting follows a function whose arguments change; a listed name that matches no
-- function stops the install, so a renamed function cannot silently lose the setting.
-- (Functions defined with their own SET jit = off, as in 87_detection.sql and
-- 95_output.sql, need no entry.)  The small per-row helpers are left alone: a SET clause costs every call a
-- GUC save and restore, and they run no query worth compiling.
DO $$
DECLARE
	names text[] := ARRAY['rescore', '_risk_reasons', 'explain_risk', 'run_scheduled_rescore',
						  'correlate', 'correlate_new_events', 'incident_timeline',
						  'refresh_policies', 'refresh_iam_edges', 'who_can', 'what_can', '_iam_evaluate',
						  'iam_admins', 'permission_usage', 'escalation_paths',
						  'attack_edges_derived', '_attack_edges', '_attack_focus', '_attack_region', 'derive_attack_edges',
						  'observed_flows', 'network_policy', 'least_privilege_policy', 'fix_plan',
						  '_record_rescore', 'changes_since', 'posture_snapshot', 'prune_risk_history',
						  'apply_retention', 'data_inventory'];
	missing text;
	f regprocedure;
BEGIN
	SELECT pg_catalog.string_agg(x.n, ', ') INTO missing FROM unnest(names) AS x(n)
	WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
					  WHERE p.pronamespace = 'correlate'::regnamespace AND p.proname = x.n);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION '98_interrupts.sql names functions that do not exist: %', missing;
	END IF;
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'correlate'::regnamespace AND p.prokind = 'f'
		  AND p.prolang <> (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'c')
		  AND p.proname = ANY (names)
		ORDER BY 1
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SET jit = off', f);
	END LOOP;
END
$$;

-- ==== src/sql/98_ocsf.sql ====
-- 98_ocsf.sql: findings out as OCSF 1.2.0 events (jsonb): incidents as Incident
-- Finding (2005); toxic combinations, risky resources and, where issue 13's
-- correlate.detection table exists, Sigma detections as Detection Finding (2004);
-- each with MITRE ATT&CK objects, resources and evidence.  Validated against the
-- schema by test/t/ocsf_export.sh.

CREATE FUNCTION correlate._ocsf_tactic_uid(tactic text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE replace(lower(tactic), '_', '-')
	WHEN 'reconnaissance' THEN 'TA0043' WHEN 'resource-development' THEN 'TA0042' WHEN 'initial-access' THEN 'TA0001'
	WHEN 'execution' THEN 'TA0002' WHEN 'persistence' THEN 'TA0003' WHEN 'privilege-escalation' THEN 'TA0004'
	WHEN 'defense-evasion' THEN 'TA0005' WHEN 'credential-access' THEN 'TA0006' WHEN 'discovery' THEN 'TA0007'
	WHEN 'lateral-movement' THEN 'TA0008' WHEN 'collection' THEN 'TA0009' WHEN 'command-and-control' THEN 'TA0011'
	WHEN 'exfiltration' THEN 'TA0010' WHEN 'impact' THEN 'TA0040' END;
COMMENT ON FUNCTION correlate._ocsf_tactic_uid(text) IS 'Internal: the MITRE ATT&CK tactic id (TA00xx) of a tactic name (initial-access, ...).';

CREATE FUNCTION correlate._ocsf_attacks(edges bigint[]) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT COALESCE(jsonb_agg(DISTINCT jsonb_strip_nulls(jsonb_build_object(
			'version', '14',
			'technique', jsonb_build_object('uid', t.attack_id, 'name', t.name),
			'tactic', CASE WHEN correlate._ocsf_tactic_uid(t.tactic) IS NOT NULL
						   THEN jsonb_build_object('uid', correlate._ocsf_tactic_uid(t.tactic), 'name', initcap(replace(t.tactic, '-', ' '))) END))), '[]')
		FROM correlate.attack_edge a JOIN correlate.attack_technique t ON t.technique = a.technique
		WHERE a.tenant = correlate.current_tenant() AND a.id = ANY (edges));
COMMENT ON FUNCTION correlate._ocsf_attacks(bigint[]) IS 'Internal: OCSF attack objects (ATT&CK technique and tactic) of the given attack edges.';

CREATE FUNCTION correlate._ocsf_resource(id bigint) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
			'uid', r.uid, 'name', r.name, 'type', r.kind, 'region', r.region, 'namespace', r.namespace,
			'criticality', CASE WHEN r.criticality >= 0.8 THEN 'high' WHEN r.criticality >= 0.5 THEN 'medium' ELSE 'low' END,
			'labels', CASE WHEN r.domain IS NOT NULL THEN jsonb_build_array('domain:' || r.domain) END,
			'data', jsonb_build_object('correlate_id', r.id, 'account', r.account, 'cluster', r.cluster)))
		FROM correlate.resource r WHERE r.tenant = correlate.current_tenant() AND r.id = _ocsf_resource.id);
COMMENT ON FUNCTION correlate._ocsf_resource(bigint) IS 'Internal: a resource as an OCSF resource_details object.';

CREATE FUNCTION correlate._ocsf_base(class_uid integer, severity_id integer, t timestamptz) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN jsonb_build_object(
	'category_uid', 2, 'category_name', 'Findings',
	'class_uid', class_uid, 'class_name', CASE class_uid WHEN 2004 THEN 'Detection Finding' ELSE 'Incident Finding' END,
	'activity_id', 1, 'activity_name', 'Create',
	'type_uid', class_uid * 100 + 1,
	'type_name', CASE class_uid WHEN 2004 THEN 'Detection Finding' ELSE 'Incident Finding' END || ': Create',
	'severity_id', severity_id,
	'severity', CASE severity_id WHEN 1 THEN 'Informational' WHEN 2 THEN 'Low' WHEN 3 THEN 'Medium' WHEN 4 THEN 'High'
							   WHEN 5 THEN 'Critical' WHEN 6 THEN 'Fatal' ELSE 'Unknown' END,
	'time', (extract(epoch FROM t) * 1000)::bigint,
	'metadata', jsonb_build_object('version', '1.2.0',
								   'product', jsonb_build_object('name', 'correlate', 'vendor_name', 'correlate',
																 'version', (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'correlate')),
								   'tenant_uid', correlate.current_tenant()));
COMMENT ON FUNCTION correlate._ocsf_base(integer, integer, timestamptz) IS 'Internal: the attributes every exported OCSF finding carries (classification, severity, time, metadata).';

CREATE FUNCTION correlate._ocsf_severity(severity text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE lower(severity) WHEN 'informational' THEN 1 WHEN 'low' THEN 2 WHEN 'medium' THEN 3 WHEN 'high' THEN 4
							WHEN 'critical' THEN 5 ELSE 0 END;
COMMENT ON FUNCTION correlate._ocsf_severity(text) IS 'Internal: OCSF severity_id of a severity name.';

CREATE FUNCTION correlate.export_ocsf(since timestamptz, until timestamptz, classes text[] DEFAULT NULL,
	min_risk integer DEFAULT 50)
RETURNS TABLE (class_uid integer, finding_uid text, finding jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- queries that grow with the data: no JIT (LLVM does not check for interrupts; 98_interrupts.sql)
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	known text[] := ARRAY['incident', 'toxic_combination', 'risk', 'detection'];
	want text[] := COALESCE(classes, known);
	bad text;
BEGIN
	IF since IS NULL OR until IS NULL THEN
		RAISE EXCEPTION 'since and until must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Pass the window to export, e.g. now() - interval ''1 day'' and now().';
	END IF;
	IF since > until THEN
		RAISE EXCEPTION 'since is after until' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('since is %s, until is %s.', since, until);
	END IF;
	SELECT c INTO bad FROM unnest(want) c WHERE c IS NULL OR NOT c = ANY (known) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'unknown finding class "%"', bad USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use incident, toxic_combination, risk or detection.';
	END IF;
	IF min_risk IS NULL OR min_risk < 0 OR min_risk > 100 THEN
		RAISE EXCEPTION 'min_risk must be between 0 and 100' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('min_risk is %s.', COALESCE(min_risk::text, 'NULL'));
	END IF;

	-- Incidents: one Incident Finding each, its events as finding_info_list.
	IF 'incident' = ANY (want) THEN
		RETURN QUERY
		SELECT 2005, 'correlate:incident:' || i.id,
			   correlate._ocsf_base(2005, correlate._ocsf_severity(i.severity), i.last_ts) || jsonb_strip_nulls(jsonb_build_object(
				   'message', i.title,
				   'desc', format('Correlation rule %s matched %s events on %s resources.', i.rule,
								  (SELECT count(*) FROM correlate.incident_event ie WHERE ie.tenant = i.tenant AND ie.incident = i.id),
								  cardinality(i.entities)),
				   'start_time', (extract(epoch FROM i.first_ts) * 1000)::bigint,
				   'end_time', (extract(epoch FROM i.last_ts) * 1000)::bigint,
				   'status_id', CASE i.status WHEN 'open' THEN 1 WHEN 'acknowledged' THEN 2 WHEN 'resolved' THEN 4 ELSE 5 END,
				   'status', CASE i.status WHEN 'open' THEN 'New' WHEN 'acknowledged' THEN 'In Progress' WHEN 'resolved' THEN 'Resolved' ELSE 'Closed' END,
				   'verdict_id', CASE i.status WHEN 'false_positive' THEN 1 END,
				   'priority_id', GREATEST(correlate._ocsf_severity(i.severity) - 1, 1),
				   'is_suspected_breach', i.severity IN ('high', 'critical'),
				   'finding_info_list', (
					   SELECT COALESCE(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
								  'uid', 'correlate:event:' || e.id,
								  'title', COALESCE(e.rule, e.action, correlate.ocsf_class_name(e.class_uid)),
								  'types', jsonb_build_array(e.domain),
								  'first_seen_time', (extract(epoch FROM e.ts) * 1000)::bigint,
								  'data_sources', jsonb_build_array(e.source),
								  'related_events', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
									  'uid', e.id::text, 'type_uid', e.class_uid::bigint * 100 + COALESCE(e.activity_id, 0),
									  'product_uid', e.source))))) ORDER BY e.ts, e.id), '[]')
					   FROM correlate.incident_event ie
					   JOIN correlate.event e ON e.tenant = ie.tenant AND e.id = ie.event_id AND e.ts = ie.event_ts
					   WHERE ie.tenant = i.tenant AND ie.incident = i.id),
				   'attacks', correlate._ocsf_attacks(ARRAY(
					   SELECT a.id FROM correlate.attack_edge a
					   WHERE a.tenant = i.tenant AND (a.src = ANY (i.entities) OR a.dst = ANY (i.entities)) ORDER BY a.id)),
				   'unmapped', jsonb_build_object('correlate_rule', i.rule,
					   'resources', (SELECT COALESCE(jsonb_agg(correlate._ocsf_resource(x) ORDER BY x), '[]') FROM unnest(i.entities) x))))
		FROM correlate.incident i
		WHERE i.tenant = t AND i.last_ts >= since AND i.first_ts < until
		ORDER BY i.id;
	END IF;

	-- Toxic combinations: Detection Findings on the resource, with their reasons as evidence.
	IF 'toxic_combination' = ANY (want) THEN
		RETURN QUERY
		SELECT 2004, 'correlate:toxic_combination:' || c.id,
			   correlate._ocsf_base(2004, correlate._ocsf_severity(c.severity), c.last_seen) || jsonb_strip_nulls(jsonb_build_object(
				   'message', format('%s on %s', c.rule, COALESCE(r.name, r.uid)),
				   'status_id', 1, 'status', 'New',
				   'finding_info', jsonb_strip_nulls(jsonb_build_object(
					   'uid', 'correlate:toxic_combination:' || c.id,
					   'title', COALESCE(tr.description, c.rule),
					   'types', jsonb_build_array('Toxic Combination'),
					   'analytic', jsonb_build_object('name', c.rule, 'type_id', 1, 'type', 'Rule'),
					   'first_seen_time', (extract(epoch FROM c.first_seen) * 1000)::bigint,
					   'last_seen_time', (extract(epoch FROM c.last_seen) * 1000)::bigint,
					   'attacks', correlate._ocsf_attacks(ARRAY(
						   SELECT a.id FROM correlate.attack_edge a
						   WHERE a.tenant = c.tenant AND (a.src = c.resource_id OR a.dst = c.resource_id) ORDER BY a.id)))),
				   'resources', jsonb_build_array(correlate._ocsf_resource(c.resource_id)),
				   'evidences', (SELECT COALESCE(jsonb_agg(jsonb_build_object('data', x) ORDER BY o), '[]')
								 FROM jsonb_array_elements(c.reasons) WITH ORDINALITY AS y(x, o)),
				   'risk_level_id', CASE c.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END,
				   'risk_level', initcap(c.severity)))
		FROM correlate.toxic_combination c
		JOIN correlate.resource r ON r.tenant = c.tenant AND r.id = c.resource_id
		LEFT JOIN correlate.toxic_rule tr ON tr.name = c.rule
		WHERE c.tenant = t AND c.last_seen >= since AND c.first_seen < until
		ORDER BY c.id;
	END IF;

	-- Risky resources: a Detection Finding per resource scoring at least min_risk.
	IF 'risk' = ANY (want) THEN
		RETURN QUERY
		SELECT 2004, 'correlate:risk:' || s.resource_id,
			   correlate._ocsf_base(2004, CASE WHEN s.score >= 80 THEN 5 WHEN s.score >= 60 THEN 4 WHEN s.score >= 40 THEN 3 ELSE 2 END,
									s.scored_at) || jsonb_strip_nulls(jsonb_build_object(
				   'message', format('%s scores %s', COALESCE(r.name, r.uid), s.score),
				   'status_id', 1, 'status', 'New',
				   'finding_info', jsonb_build_object(
					   'uid', 'correlate:risk:' || s.resource_id,
					   'title', format('Risk %s on %s (%s)', s.score, COALESCE(r.name, r.uid), r.kind),
					   'types', jsonb_build_array('Risk'),
					   'analytic', jsonb_build_object('name', 'correlate risk model', 'type_id', 1, 'type', 'Rule'),
					   'attacks', correlate._ocsf_attacks(ARRAY(
						   SELECT a.id FROM correlate.attack_edge a
						   WHERE a.tenant = s.tenant AND (a.src = s.resource_id OR a.dst = s.resource_id) ORDER BY a.id))),
				   'resources', jsonb_build_array(correlate._ocsf_resource(s.resource_id)),
				   'evidences', (SELECT COALESCE(jsonb_agg(jsonb_build_object('data', x) ORDER BY o), '[]')
								 FROM jsonb_array_elements(s.reasons) WITH ORDINALITY AS y(x, o)),
				   'risk_score', s.score::integer,
				   'risk_level_id', CASE WHEN s.score >= 80 THEN 4 WHEN s.score >= 60 THEN 3 WHEN s.score >= 40 THEN 2 WHEN s.score >= 20 THEN 1 ELSE 0 END,
				   'risk_level', CASE WHEN s.score >= 80 THEN 'Critical' WHEN s.score >= 60 THEN 'High' WHEN s.score >= 40 THEN 'Medium'
									  WHEN s.score >= 20 THEN 'Low' ELSE 'Info' END))
		FROM correlate.risk_score s JOIN correlate.resource r ON r.tenant = s.tenant AND r.id = s.resource_id
		WHERE s.tenant = t AND s.score >= min_risk AND s.scored_at >= since AND s.scored_at < until
		ORDER BY s.resource_id;
	END IF;

	-- Sigma detections, when the detection module (correlate.detection) is installed.
	IF 'detection' = ANY (want) AND to_regclass('correlate.detection') IS NOT NULL THEN
		RETURN QUERY EXECUTE $q$
		SELECT 2004, 'correlate:detection:' || d.id,
			   correlate._ocsf_base(2004, LEAST(GREATEST(d.severity_id, 0), 6), d.event_ts) || jsonb_strip_nulls(jsonb_build_object(
				   'message', d.title,
				   'status_id', 1, 'status', 'New',
				   'finding_info', jsonb_strip_nulls(jsonb_build_object(
					   'uid', 'correlate:detection:' || d.id,
					   'title', d.title,
					   'types', jsonb_build_array('Sigma'),
					   'analytic', jsonb_strip_nulls(jsonb_build_object('name', d.title, 'uid', d.sigma_id, 'type_id', 1, 'type', 'Rule')),
					   'related_events', jsonb_build_array(jsonb_build_object('uid', d.event_id::text)),
					   'attacks', (SELECT COALESCE(jsonb_agg(jsonb_build_object('version', '14', 'technique', jsonb_build_object('uid', x))
																	 ORDER BY x), '[]')
								   FROM unnest(d.techniques) x))),
				   'resources', CASE WHEN d.entity IS NOT NULL THEN jsonb_build_array(correlate._ocsf_resource(d.entity)) END,
				   'evidences', jsonb_build_array(jsonb_build_object('data', jsonb_build_object('event', d.event_id, 'source', d.source)))))
		FROM correlate.detection d
		WHERE d.tenant = $1 AND d.event_ts >= $2 AND d.event_ts < $3
		ORDER BY d.id
		$q$ USING t, since, until;
	END IF;
END
$$;
COMMENT ON FUNCTION correlate.export_ocsf(timestamptz, timestamptz, text[], integer)
	IS 'Findings as OCSF 1.2.0 events (one jsonb each): incidents as Incident Finding (2005); toxic combinations, resources scoring at least min_risk and (when correlate.detection exists) Sigma detections as Detection Finding (2004); with ATT&CK attack objects, resources and evidence. classes: incident, toxic_combination, risk, detection (NULL: all).';

GRANT EXECUTE ON FUNCTION correlate._ocsf_tactic_uid(text), correlate._ocsf_attacks(bigint[]), correlate._ocsf_resource(bigint),
	correlate._ocsf_base(integer, integer, timestamptz), correlate._ocsf_severity(text),
	correlate.export_ocsf(timestamptz, timestamptz, text[], integer)
	TO correlate_reader;

-- ==== src/sql/99_security.sql ====
-- 99_security.sql: runs last.  Marks user-data tables for pg_dump and takes
-- every default privilege away from PUBLIC; each concern file grants its own
-- objects to the correlate_* roles.

SELECT pg_catalog.pg_extension_config_dump('correlate.resource', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.relationship', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.event_default', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.finding', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.ip_lease', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.resource_kind', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('correlate.relationship_kind', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('correlate.tenant_access',
	$$WHERE NOT (tenant = 'default' AND role = 'correlate_reader')$$);

-- Identity sequences, so restored databases keep allocating fresh ids.
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.resource', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.relationship', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.event', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.finding', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.ip_lease', 'id')::regclass, '');

REVOKE ALL ON SCHEMA correlate FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA correlate FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA correlate FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA correlate FROM PUBLIC;
GRANT USAGE ON SCHEMA correlate TO correlate_reader;
