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
