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
