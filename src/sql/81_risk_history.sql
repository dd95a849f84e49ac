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
