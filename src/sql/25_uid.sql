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
