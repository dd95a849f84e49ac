-- Grafana: every panel query of docs/grafana/correlate-dashboard.json runs against the
-- seed (Grafana's time macros replaced by fixed times) and returns the columns and
-- types Grafana's PostgreSQL data source and Node Graph panel read.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
SET TIME ZONE 'UTC';
\o /dev/null
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT * FROM correlate.derive_attack_edges();
SELECT * FROM correlate.correlate();
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
\o
\set d `pwd`

CREATE TEMP TABLE panel_query AS
SELECT (p ->> 'id')::int AS panel, p ->> 'type' AS type, t ->> 'refId' AS ref, t ->> 'format' AS format,
	   replace(replace(t ->> 'rawSql', '$__timeFrom()', '''2026-11-20T00:00:00Z'''), '$__timeTo()', '''2026-11-21T00:00:00Z''') AS q
FROM jsonb_array_elements((pg_read_file(:'d' || '/docs/grafana/correlate-dashboard.json'))::jsonb -> 'panels') p,
	 jsonb_array_elements(p -> 'targets') t;
SELECT panel, type, ref, format, q FROM panel_query ORDER BY panel, ref;

CREATE TEMP TABLE panel_result (panel int, ref text, col text, pos int, type text, rows bigint);
DO $$
DECLARE
	r record;
	n bigint;
BEGIN
	FOR r IN SELECT * FROM panel_query ORDER BY panel, ref LOOP
		EXECUTE format('CREATE TEMP TABLE pq_%s_%s AS %s', r.panel, r.ref, r.q);
		EXECUTE format('SELECT count(*) FROM pq_%s_%s', r.panel, r.ref) INTO n;
		INSERT INTO panel_result
		SELECT r.panel, r.ref, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), n
		FROM pg_attribute a WHERE a.attrelid = format('pq_%s_%s', r.panel, r.ref)::regclass AND a.attnum > 0;
	END LOOP;
END
$$;
SELECT panel, ref, rows, string_agg(col || ' ' || type, ', ' ORDER BY pos) AS columns
FROM panel_result GROUP BY panel, ref, rows ORDER BY panel, ref;

-- Node Graph's contract: node ids are unique strings, every edge joins two nodes,
-- arcs of a node sum to 1, the minimum-cut edge is highlighted.
SELECT count(*) AS nodes, count(DISTINCT id) AS distinct_ids,
	   bool_and(arc__workload + arc__network + arc__identity + arc__data + arc__kubernetes + arc__cloud + arc__other = 1) AS arcs_sum_to_1
FROM pq_1_nodes;
SELECT e.source, e.target, e.mainstat, e.secondarystat, e.highlighted
FROM pq_1_edges e ORDER BY e.secondarystat DESC, e.mainstat;
SELECT count(*) AS dangling_edges FROM pq_1_edges e
WHERE e.source NOT IN (SELECT id FROM pq_1_nodes) OR e.target NOT IN (SELECT id FROM pq_1_nodes);
SELECT title, subtitle, mainstat, color, highlighted FROM pq_1_nodes ORDER BY title;
SELECT "time", metric, value FROM pq_3_a ORDER BY 1, 2;

-- Bad input.
SELECT * FROM correlate.grafana_nodes(0);
SELECT * FROM correlate.grafana_edges(10, 0);
