-- scripts/pictures.sql: the seed scenario's pictures, written by psql (client side)
-- into the folder in the variable "out" (scripts/pictures.sh sets it to docs/img).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
\o /dev/null
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT * FROM correlate.derive_attack_edges();
SELECT * FROM correlate.correlate();
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
\o
SELECT correlate.attack_graph_svg() \g (format=unaligned tuples_only=on) :out/seed-attack-paths.svg
SELECT correlate.attack_graph_dot() \g (format=unaligned tuples_only=on) :out/seed-attack-paths.dot
SELECT correlate.incident_graph_svg(i.id) FROM correlate.incident i
WHERE i.rule = 'workload-compromise-to-data-access' \g (format=unaligned tuples_only=on) :out/seed-incident.svg
SELECT correlate.blast_radius_svg(ARRAY[correlate.resource_id('internet')]) \g (format=unaligned tuples_only=on) :out/seed-blast-radius.svg
SELECT correlate.incident_report(i.id) FROM correlate.incident i
WHERE i.rule = 'workload-compromise-to-data-access' \g (format=unaligned tuples_only=on) :tmp/seed-incident-report.html
