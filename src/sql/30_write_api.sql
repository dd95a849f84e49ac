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
	p_seen          timestamptz[],
	p_defer_seen    boolean DEFAULT false)
RETURNS TABLE (stored_uid text, stored_id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	id_seq regclass := pg_get_serial_sequence('correlate.resource', 'id')::regclass;
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
	), cur AS (
		-- Each row, and whether it is stored (and visible) with this kind and the
		-- merge would leave it as it is: such rows are returned without being
		-- written or locked, so concurrent loads that report the same resources
		-- do not wait for one another.  With p_defer_seen the caller widens
		-- first/last seen itself later (the C writer does, once per call, at its
		-- end), so a wider seen range alone is no change here.
		SELECT m.*, k.domain, r.id AS cur_id,
			   COALESCE(r.kind = m.kind AND (m.name IS NULL OR m.name = r.name)
				AND (m.account IS NULL OR m.account = r.account) AND (m.region IS NULL OR m.region = r.region)
				AND (m.cluster IS NULL OR m.cluster = r.cluster)
				AND (m.namespace IS NULL OR m.namespace = r.namespace)
				AND r.labels || m.l = r.labels AND r.props || m.p = r.props
				AND (m.c IS NULL OR m.c = r.criticality)
				AND (p_defer_seen OR (m.first_s >= r.first_seen AND m.last_s <= r.last_seen)), false) AS same
		FROM merged m JOIN correlate.resource_kind k ON k.kind = m.kind
		LEFT JOIN correlate.resource r ON r.tenant = t AND r.uid = m.uid
	), keep_crit AS (
		INSERT INTO correlate.resource AS r (tenant, uid, kind, domain, name, account, region, cluster, namespace,
			labels, props, criticality, first_seen, last_seen)
		SELECT t, m.uid, m.kind, m.domain, m.name, m.account, m.region, m.cluster, m.namespace, m.l, m.p, 0,
			   m.first_s, m.last_s
		-- in uid order: two writers upserting overlapping resources lock the rows in the same
		-- order, so neither can hold one the other needs while waiting for one it holds
		FROM (SELECT c.* FROM cur c WHERE c.c IS NULL ORDER BY c.uid OFFSET 0) m
		-- A row left as it is still takes its id from the sequence, in turn, as the
		-- upsert of every row did before: the ids given to new rows stay what they were.
		WHERE NOT m.same OR nextval(id_seq) IS NULL
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
		SELECT t, m.uid, m.kind, m.domain, m.name, m.account, m.region, m.cluster, m.namespace, m.l, m.p, m.c,
			   m.first_s, m.last_s
		FROM (SELECT c.* FROM cur c WHERE c.c IS NOT NULL ORDER BY c.uid OFFSET 0) m
		WHERE NOT m.same OR nextval(id_seq) IS NULL
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
	SELECT c.uid, c.cur_id FROM cur c WHERE c.same
	UNION ALL
	-- stored before and left as it was, by a transaction this statement's snapshot
	-- does not see: no new row version (a row rewritten by every batch of one
	-- transaction grows a chain every later lookup walks)
	SELECT r.uid, r.id
	FROM cur m CROSS JOIN written w
	JOIN correlate.resource r ON r.tenant = t AND r.uid = m.uid AND r.kind = m.kind
	WHERE NOT m.same AND NOT COALESCE(w.ids ? m.uid, false);
END
$$;
COMMENT ON FUNCTION correlate._ingest_resources(text[], text[], text[], text[], text[], text[], text[], jsonb[], jsonb[], real[], timestamptz[], boolean)
	IS 'Internal to correlate.ingest: upserts a batch of validated resources with the merge rules of upsert_resources (without writing or locking those it would leave unchanged; with p_defer_seen a wider seen range alone does not count as a change); returns uid and id of each one stored.';

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
	p_seen        timestamptz[],
	p_defer_seen  boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	n bigint;
	id_seq regclass := pg_get_serial_sequence('correlate.relationship', 'id')::regclass;
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
	), cur AS (
		-- Edges stored (and visible) that the merge would leave as they are are
		-- neither written nor locked (see _ingest_resources; p_defer_seen alike).
		SELECT m.*, EXISTS (
			SELECT 1 FROM correlate.relationship r
			WHERE r.tenant = t AND r.src = m.src AND r.dst = m.dst AND r.kind = m.kind
			  AND (m.lk IS NULL OR m.lk = r.likelihood) AND r.props || m.p = r.props
			  AND (p_source IS NULL OR p_source = r.source)
			  AND (p_defer_seen OR (m.first_s >= r.first_seen AND m.last_s <= r.last_seen))) AS same
		FROM merged m
	), keep_lk AS (
		INSERT INTO correlate.relationship AS r (tenant, src, dst, kind, likelihood, props, source, first_seen, last_seen)
		SELECT t, m.src, m.dst, m.kind, k.default_likelihood, m.p, p_source, m.first_s, m.last_s
		FROM cur m JOIN correlate.relationship_kind k ON k.kind = m.kind
		-- an edge left as it is still takes its id from the sequence, as its upsert did
		-- before (see _ingest_resources)
		WHERE m.lk IS NULL AND (NOT m.same OR nextval(id_seq) IS NULL)
		ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET
			props      = r.props || EXCLUDED.props,
			source     = COALESCE(EXCLUDED.source, r.source),
			first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen  = GREATEST(r.last_seen, EXCLUDED.last_seen)
		RETURNING 1
	), set_lk AS (
		INSERT INTO correlate.relationship AS r (tenant, src, dst, kind, likelihood, props, source, first_seen, last_seen)
		SELECT t, m.src, m.dst, m.kind, m.lk, m.p, p_source, m.first_s, m.last_s
		FROM cur m
		WHERE m.lk IS NOT NULL AND (NOT m.same OR nextval(id_seq) IS NULL)
		ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET
			likelihood = EXCLUDED.likelihood,
			props      = r.props || EXCLUDED.props,
			source     = COALESCE(EXCLUDED.source, r.source),
			first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen  = GREATEST(r.last_seen, EXCLUDED.last_seen)
		RETURNING 1
	)
	-- every edge of the batch counts as written, as when each one was upserted
	SELECT (SELECT count(*) FROM keep_lk) + (SELECT count(*) FROM set_lk)
		   + (SELECT count(*) FROM cur c WHERE c.same) INTO n;
	RETURN n;
END
$$;
COMMENT ON FUNCTION correlate._ingest_links(bigint[], bigint[], text[], float8[], jsonb[], text, timestamptz[], boolean)
	IS 'Internal to correlate.ingest: upserts a batch of validated relationships with the merge rules of link_many (without writing or locking those it would leave unchanged; with p_defer_seen a wider seen range alone does not count as a change); returns how many edges the batch holds.';

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
-- _ingest_resources and _ingest_links draw an id for each row they leave as it is
-- (so ids stay what the upsert of every row gave): nextval needs USAGE.
GRANT USAGE ON SEQUENCE correlate.resource_id_seq, correlate.relationship_id_seq TO correlate_writer;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._check_lengths(text, integer, integer[])
	IS 'Internal: raises unless every non-NULL array length equals n (the bulk write API''s parallel arrays).';
COMMENT ON FUNCTION correlate._check_time(text, bigint, timestamptz)
	IS 'Internal: raises for a NULL or infinite time of the record at position ord.';
