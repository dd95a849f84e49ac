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
	-- progress (15_progress.sql): _sigma_match counts each event it sees (src/detect/detect_sql.c)
	PERFORM correlate._progress_begin('detect', (SELECT count(*) FROM correlate.event e WHERE e.tenant = t
		AND (since IS NULL OR e.ts >= since) AND (until IS NULL OR e.ts < until)
		AND e.source IN (SELECT r.source FROM correlate.detection_rule r WHERE r.tenant = t AND r.enabled)), 'events');
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
	PERFORM correlate._progress_end();
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
