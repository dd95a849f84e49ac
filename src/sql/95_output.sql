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
