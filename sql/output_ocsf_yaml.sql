-- OCSF export (shape on the seed, the detection part skipped without the detection
-- module, bad input) and YAML text (the NetworkPolicy, the fix plan's artifacts as
-- files). test/t/ocsf_export.sh validates the events against the schema and
-- test/t/yaml_roundtrip.sh parses the YAML back.
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

-- The incident as an Incident Finding (2005): times of its events, its nine events
-- in order, the ATT&CK techniques around its resources.
SELECT f.class_uid, f.finding_uid, f.finding ->> 'type_uid' AS type_uid, f.finding ->> 'severity' AS severity,
	   to_timestamp((f.finding ->> 'start_time')::bigint / 1000.0) AS start_time,
	   to_timestamp((f.finding ->> 'time')::bigint / 1000.0) AS time,
	   f.finding ->> 'status' AS status, jsonb_array_length(f.finding -> 'finding_info_list') AS events,
	   f.finding #>> '{metadata,version}' AS ocsf
FROM correlate.export_ocsf('2026-11-20', '2026-11-21', ARRAY['incident']) f;
SELECT x ->> 'title' AS event_title, x -> 'types' AS domain
FROM correlate.export_ocsf('2026-11-20', '2026-11-21', ARRAY['incident']) f,
	 jsonb_array_elements(f.finding -> 'finding_info_list') WITH ORDINALITY AS y(x, o)
ORDER BY o;
SELECT a #>> '{technique,uid}' AS technique, a #>> '{technique,name}' AS name, a #>> '{tactic,uid}' AS tactic,
	   a #>> '{tactic,name}' AS tactic_name
FROM correlate.export_ocsf('2026-11-20', '2026-11-21', ARRAY['incident']) f, jsonb_array_elements(f.finding -> 'attacks') a
ORDER BY 1;
-- Outside the window: nothing.
SELECT count(*) AS none FROM correlate.export_ocsf('2026-11-21', '2026-11-22', ARRAY['incident']);

-- Toxic combinations and risky resources as Detection Findings (2004), with resources and evidence.
SELECT f.class_uid, f.finding #>> '{finding_info,types,0}' AS type, f.finding #>> '{finding_info,title}' AS title,
	   f.finding ->> 'severity' AS severity, f.finding ->> 'risk_level' AS risk_level, f.finding ->> 'risk_score' AS risk_score,
	   f.finding #>> '{resources,0,name}' AS resource, jsonb_array_length(f.finding -> 'evidences') AS evidences,
	   jsonb_array_length(f.finding #> '{finding_info,attacks}') AS attacks
FROM correlate.export_ocsf('-infinity', 'infinity', ARRAY['toxic_combination', 'risk'], min_risk => 60) f
ORDER BY 2, 3;
-- Without the detection module (no correlate.detection table) detections are skipped.
SELECT count(*) AS detections FROM correlate.export_ocsf('-infinity', 'infinity', ARRAY['detection']);

-- Bad input.
SELECT * FROM correlate.export_ocsf(NULL, now());
SELECT * FROM correlate.export_ocsf('2026-11-21', '2026-11-20');
SELECT * FROM correlate.export_ocsf('2026-11-20', '2026-11-21', ARRAY['alerts']);
SELECT * FROM correlate.export_ocsf('2026-11-20', '2026-11-21', ARRAY[NULL]::text[]);
SELECT * FROM correlate.export_ocsf('2026-11-20', '2026-11-21', min_risk => 101);

-- YAML: the NetworkPolicy as kubectl applies it.
SELECT correlate.network_policy_yaml('legacy-webapp');
-- The fix plan's artifacts as files, with the command that applies each.
SELECT rank, kind, media_type, filename, apply FROM correlate.fix_plan_artifacts(k => 12);
SELECT content FROM correlate.fix_plan_artifacts(k => 12) WHERE media_type = 'application/json';
-- Scalars YAML would misread are quoted; empty collections stay empty.
SELECT correlate.to_yaml('{"a": "yes", "b": "1.0", "c": "x: y", "d": "", "e": [], "f": {}, "g": null, "h": [[1], {"i": "j"}], "k l": "plain-ok"}');
SELECT correlate.to_yaml('"top"'), correlate.to_yaml('[]'), correlate.to_yaml(NULL);
SELECT correlate.network_policy_yaml('no-such-namespace');
