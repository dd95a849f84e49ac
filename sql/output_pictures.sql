-- Pictures of the attack graph: SVG (laid out in C) and DOT for the seed's attack
-- paths, its incident and a blast radius; the layout on a synthetic graph with long,
-- back and flat edges (no overlaps, crossings reduced, deterministic); escaping of
-- hostile names; bad input and limits.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
SET TIME ZONE 'UTC';

-- Nodes of a picture: (id, kind, x, y) from the SVG, parsed as XML.
CREATE FUNCTION pg_temp.nodes(svg text) RETURNS TABLE (id bigint, kind text, x float8, y float8)
LANGUAGE sql AS $$
	SELECT (xpath('/*/@data-id', g))[1]::text::bigint, (xpath('/*/@data-kind', g))[1]::text,
		   split_part(substring((xpath('/*/@transform', g))[1]::text FROM 'translate\(([^)]*)\)'), ',', 1)::float8,
		   split_part(substring((xpath('/*/@transform', g))[1]::text FROM 'translate\(([^)]*)\)'), ',', 2)::float8
	FROM unnest(xpath('//s:g[@class="cg-node"]', svg::xml, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])) g
$$;
-- Edge labels: (column x, y, technique line, likelihood line).
CREATE FUNCTION pg_temp.labels(svg text) RETURNS TABLE (x float8, y float8, tech text, prob text)
LANGUAGE sql AS $$
	SELECT split_part(substring((xpath('/*/@transform', g))[1]::text FROM 'translate\(([^)]*)\)'), ',', 1)::float8,
		   split_part(substring((xpath('/*/@transform', g))[1]::text FROM 'translate\(([^)]*)\)'), ',', 2)::float8,
		   (xpath('/*/s:text[1]/text()', g, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text,
		   (xpath('/*/s:text[2]/text()', g, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text
	FROM unnest(xpath('//s:g[starts-with(@class, "cg-elabel")]', svg::xml, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])) g
$$;

-- An empty estate: a valid picture that says there is nothing to draw.
SELECT xml_is_well_formed_document(s) AS well_formed, s LIKE '%Nothing to draw%' AS says_so,
	   (SELECT count(*) FROM pg_temp.nodes(s)) AS nodes
FROM correlate.attack_graph_svg() s;

\o /dev/null
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT * FROM correlate.derive_attack_edges();
SELECT * FROM correlate.correlate();
\o

-- The seed's attack path: five resources left to right, one per hop, each edge
-- labelled with its technique, ATT&CK id and likelihood; the entry edge is the minimum cut.
SELECT xml_is_well_formed_document(s) AS well_formed, s LIKE '<svg xmlns="http://www.w3.org/2000/svg"%' AS svg_root,
	   s !~* '(href|<script|<image|url\(http|@import)' AS self_contained,
	   (SELECT count(*) FROM regexp_matches(s, 'class="cg-edge cg-cut"', 'g')) AS cut_edges,
	   s = correlate.attack_graph_svg() AS deterministic
FROM correlate.attack_graph_svg() s;
SELECT r.name, n.kind, n.x, rank() OVER (ORDER BY n.x) AS column_
FROM pg_temp.nodes(correlate.attack_graph_svg()) n JOIN correlate.resource r ON r.id = n.id
ORDER BY n.x;
SELECT tech, prob FROM pg_temp.labels(correlate.attack_graph_svg()) ORDER BY x;

-- DOT for Graphviz: the same nodes and edges.
SELECT line FROM regexp_split_to_table(correlate.attack_graph_dot(), E'\n') line
WHERE line ~ '->|^digraph|rankdir' ORDER BY line;

-- What-if: with Log4Shell patched there is no path and nothing to draw.
SELECT (SELECT count(*) FROM pg_temp.nodes(s)) AS nodes, s LIKE '%Attack paths: none%' AS titled
FROM correlate.attack_graph_svg(what_if => jsonb_build_object('patch',
	(SELECT jsonb_agg(f.id) FROM correlate.finding f WHERE f.check_id = 'CVE-2021-44228'))) s;
-- kinds and max_hops narrow it as they narrow attack_paths.
SELECT (SELECT count(*) FROM pg_temp.nodes(correlate.attack_graph_svg(max_hops => 3))) AS within_3_hops,
	   (SELECT count(*) FROM pg_temp.nodes(correlate.attack_graph_svg(max_hops => 4))) AS within_4_hops,
	   (SELECT count(*) FROM pg_temp.nodes(correlate.attack_graph_svg(kinds => ARRAY['exploit_public_workload']))) AS one_technique;

-- The incident: its four resources badged, the path in from the internet and on to the bucket.
SELECT r.name, (xpath('count(//s:g[@data-id="' || r.id || '"]/s:g[@class="cg-badge"])', s::xml,
					  ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS badges
FROM correlate.incident i, correlate.incident_graph_svg(i.id) s, pg_temp.nodes(s) n
JOIN correlate.resource r ON r.id = n.id
ORDER BY n.x, n.y;
SELECT count(*) AS dot_edges FROM correlate.incident i, regexp_split_to_table(correlate.incident_graph_dot(i.id), E'\n') l
WHERE l ~ ' -> ';

-- The blast radius of the pod: a tree by hop, crown jewel badged.
SELECT r.name, n.x > 0 AS right_of_start
FROM pg_temp.nodes(correlate.blast_radius_svg(ARRAY[correlate.resource_id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k')])) n
JOIN correlate.resource r ON r.id = n.id
ORDER BY n.x, r.name;
SELECT count(*) AS crown_jewel_badges
FROM regexp_matches(correlate.blast_radius_svg(ARRAY[correlate.resource_id('k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k')]),
					'>crown jewel<', 'g');

-- The blast radius as if Log4Shell were patched: only the internet is left.
SELECT count(*) AS resources_left
FROM pg_temp.nodes(correlate.blast_radius_svg(ARRAY[correlate.resource_id('internet')],
	what_if => jsonb_build_object('patch', (SELECT jsonb_agg(f.id) FROM correlate.finding f WHERE f.check_id = 'CVE-2021-44228'))));
-- On the facts layer, edges are labelled with the relationship kind.
SET correlate.graph_layer = 'facts';
SELECT tech, prob FROM pg_temp.labels(correlate.attack_graph_svg(k => 3)) ORDER BY x, y, tech;
RESET correlate.graph_layer;

-- Names are attacker-controlled: markup, quotes, ampersands, control characters are
-- escaped in the SVG, the DOT and the report; the document stays well-formed.
UPDATE correlate.resource SET name = '\N <script>alert("x")</script> & ''pwn'' ' || chr(1)
WHERE uid = 'k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k';
SELECT xml_is_well_formed_document(s) AS well_formed, s LIKE '%<script%' AS raw_script,
	   s LIKE '%\N &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;pwn&#39; �%' AS escaped
FROM correlate.attack_graph_svg() s;
SELECT l AS dot_label FROM regexp_split_to_table(correlate.attack_graph_dot(), E'\n') l WHERE l LIKE '%alert%';
SELECT i.id IS NOT NULL AS report, r LIKE '%<script%' AS raw_script, r LIKE '%&lt;script&gt;%' AS escaped
FROM correlate.incident i, correlate.incident_report(i.id) r;
SELECT correlate.xml_escape(E'a\x01b' || chr(65534) || 'c<>&"''') AS escaped;
-- Long names are cut with an ellipsis in the picture (the tooltip keeps them whole).
SET correlate.output_max_label = 10;
SELECT (xpath('//s:g[@class="cg-node"]/s:text[1]/text()', correlate.attack_graph_svg()::xml,
			  ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[2]::text AS cut_label;
RESET correlate.output_max_label;

-- Layout on a synthetic graph: a diamond lattice with a long edge (1 -> 9), a back
-- edge closing a cycle (9 -> 2), drawn in an order that starts with crossings.
CREATE TEMP TABLE syn AS
SELECT correlate._render_graph('svg', 'synthetic',
	ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9]::bigint[],
	ARRAY['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
	ARRAY['internet', 'k8s:pod', 'k8s:pod', 'aws:iam:role', 'aws:s3:bucket', 'k8s:node', 'container:image', 'k8s:namespace', 'aws:s3:object'],
	ARRAY['network', 'workload', 'workload', 'identity', 'data', 'workload', 'workload', 'kubernetes', 'data'],
	NULL::text[] || ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL]::text[],
	ARRAY[1, 0, 0, 0, 0, 0, 0, 0, 2],
	ARRAY[1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 1, 9, 3]::bigint[],
	ARRAY[2, 3, 4, 8, 5, 7, 6, 6, 7, 9, 9, 9, 9, 9, 2, 4]::bigint[],
	ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'long', 'back', 'flat'],
	ARRAY['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9', 'T10', 'T11', 'T12', 'T13', 'T14', 'T15', 'T16'],
	ARRAY[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 1, 1, 1, 1, 0.05, 0.5, 0.5]::float8[],
	ARRAY[false, false, false, false, false, false, false, false, false, true, true, true, true, true, false, false]) AS s;
SELECT xml_is_well_formed_document(s) AS well_formed,
	   (xpath('/s:svg/@data-crossings', s::xml, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS crossings,
	   s = (SELECT correlate._render_graph('svg', 'synthetic', ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9]::bigint[],
			ARRAY['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
			ARRAY['internet', 'k8s:pod', 'k8s:pod', 'aws:iam:role', 'aws:s3:bucket', 'k8s:node', 'container:image', 'k8s:namespace', 'aws:s3:object'],
			ARRAY['network', 'workload', 'workload', 'identity', 'data', 'workload', 'workload', 'kubernetes', 'data'],
			ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL]::text[], ARRAY[1, 0, 0, 0, 0, 0, 0, 0, 2],
			ARRAY[1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 1, 9, 3]::bigint[], ARRAY[2, 3, 4, 8, 5, 7, 6, 6, 7, 9, 9, 9, 9, 9, 2, 4]::bigint[],
			ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'long', 'back', 'flat'],
			ARRAY['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9', 'T10', 'T11', 'T12', 'T13', 'T14', 'T15', 'T16'],
			ARRAY[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 1, 1, 1, 1, 0.05, 0.5, 0.5]::float8[],
			ARRAY[false, false, false, false, false, false, false, false, false, true, true, true, true, true, false, false])) AS deterministic
FROM syn;
-- Layers by hop, and no two nodes of a column overlap (boxes are 48 px high).
SELECT n.id, dense_rank() OVER (ORDER BY n.x) - 1 AS layer FROM syn, pg_temp.nodes(syn.s) n ORDER BY n.id;
SELECT count(*) AS overlapping_nodes
FROM syn, pg_temp.nodes(syn.s) a, pg_temp.nodes(syn.s) b
WHERE a.id < b.id AND a.x = b.x AND abs(a.y - b.y) < 48;
SELECT count(*) AS overlapping_labels
FROM syn, pg_temp.labels(syn.s) a, pg_temp.labels(syn.s) b
WHERE (a.x, a.y, a.tech) < (b.x, b.y, b.tech) AND a.x = b.x AND abs(a.y - b.y) < 28;
SELECT count(*) FILTER (WHERE m[1] = 'cg-edge cg-cut') AS cut_paths, count(*) AS paths
FROM syn, regexp_matches(syn.s, 'class="(cg-edge(?: cg-cut)?)" data-src', 'g') m;

-- Without a given cut, the picture marks the minimum cut of what it draws: from one to
-- nine that is the four edges out of one (a, b, c and the long one), not the five into nine.
SELECT count(*) FILTER (WHERE m[1] = 'cg-edge cg-cut') AS cut_paths,
	   string_agg(m[2] || '->' || m[3], ' ' ORDER BY m[2], m[3]) FILTER (WHERE m[1] = 'cg-edge cg-cut') AS cut
FROM regexp_matches(correlate._render_graph('svg', 'synthetic', ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9]::bigint[],
		ARRAY['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
		ARRAY['internet', 'k8s:pod', 'k8s:pod', 'aws:iam:role', 'aws:s3:bucket', 'k8s:node', 'container:image', 'k8s:namespace', 'aws:s3:object'],
		ARRAY['network', 'workload', 'workload', 'identity', 'data', 'workload', 'workload', 'kubernetes', 'data'],
		ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL]::text[], ARRAY[1, 0, 0, 0, 0, 0, 0, 0, 2],
		ARRAY[1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 1, 9, 3]::bigint[], ARRAY[2, 3, 4, 8, 5, 7, 6, 6, 7, 9, 9, 9, 9, 9, 2, 4]::bigint[],
		ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'long', 'back', 'flat'],
		ARRAY['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9', 'T10', 'T11', 'T12', 'T13', 'T14', 'T15', 'T16'],
		ARRAY[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 1, 1, 1, 1, 0.05, 0.5, 0.5]::float8[], NULL),
	'class="(cg-edge(?: cg-cut)?)" data-src="([0-9]+)" data-dst="([0-9]+)"', 'g') m;

-- Bad input: clear errors, never a crash.
SELECT correlate.attack_graph_svg(k => 1000000);
SELECT correlate.attack_graph_svg(k => 0);
SELECT correlate.attack_graph_svg(max_hops => -1);
SELECT correlate.incident_graph_svg(424242);
SELECT correlate.incident_graph_svg(NULL);
SELECT correlate.incident_report(424242);
SELECT correlate.blast_radius_svg(ARRAY[-5]::bigint[]);
SELECT correlate._render_graph('png', NULL, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}');
SELECT correlate._render_graph(NULL, NULL, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}');
SELECT correlate._render_graph('svg', NULL, '{1}', '{a}', '{k}', '{d}', '{x}', '{0}', '{1}', '{1}', '{t}', '{T}', ARRAY['NaN']::float8[], '{f}');
SELECT correlate._render_graph('svg', NULL, '{1}', '{a}', '{k}', '{d}', '{x}', '{0}', '{1}', '{1}', '{t}', '{T}', ARRAY[2]::float8[], '{f}');
SELECT correlate._render_graph('svg', NULL, '{1,2}', '{a}', '{k}', '{d}', '{x}', '{0}', '{}', '{}', '{}', '{}', '{}', '{}');
SELECT correlate._render_graph('svg', NULL, '{1}', '{a}', '{k}', '{d}', '{x}', '{0}', '{1}', '{7}', '{t}', '{T}', '{0.5}', '{f}');
SELECT correlate._render_graph('svg', NULL, '{1,1}', '{a,b}', '{k,k}', '{d,d}', '{x,x}', '{0,0}', '{}', '{}', '{}', '{}', '{}', '{}');
SELECT correlate._render_graph('dot', NULL, '{{1}}', '{a}', '{k}', '{d}', '{x}', '{0}', '{}', '{}', '{}', '{}', '{}', '{}');
-- Limits are settings: a picture larger than correlate.output_max_nodes is refused.
SET correlate.output_max_nodes = 3;
SELECT correlate.attack_graph_svg();
SELECT correlate.attack_graph_dot();
SELECT correlate.blast_radius_svg(ARRAY[correlate.resource_id('internet')]);
RESET correlate.output_max_nodes;
