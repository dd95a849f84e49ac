-- Risk factors as data and risk history: tunable weights, compact score history,
-- attack-path findings over time, posture snapshots and changes_since, all at fixed
-- as_of times on the seed scenario; bad input.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
DROP ROLE IF EXISTS history_globex;
RESET client_min_messages;
SET TIME ZONE 'UTC';

-- The factor table: builtin weights, the bits of the compact history.
SELECT name, bit, weight, default_weight, enabled FROM correlate.risk_factor ORDER BY bit;

\o /dev/null
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT correlate.correlate();
\o
\set pod 'correlate.resource_id(''k8s://prod-eks/legacy-webapp/pod/webapp-7d4b9c6f5-x2x9k'')'

-- First rescore: every scored resource gets one history row (from no score).
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT count(*) AS rows, count(*) FILTER (WHERE old_score IS NULL AND removed = 0) AS from_nothing,
	   (SELECT count(*) FROM correlate.risk_score) AS scored
FROM correlate.risk_history;
-- ...and the most likely attack paths to crown jewels become findings.
SELECT id, array_to_string(names, ' -> ') AS path, round(likelihood::numeric, 3) AS likelihood,
	   first_seen, opened_by->0->>'kind' AS opened_by
FROM correlate.attack_path_finding ORDER BY likelihood DESC, id;

-- A rerun for the same time records nothing more; a later one whose reasons differ
-- only in wording (the detection window's end) records nothing either.
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SELECT * FROM correlate.rescore(as_of => '2026-11-22');
SELECT count(*) AS rows FROM correlate.risk_history;
SELECT at, scored, changed FROM correlate.risk_run ORDER BY at;
SELECT count(*) FILTER (WHERE last_seen = '2026-11-22') AS paths_seen_again, count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed
FROM correlate.attack_path_finding;

-- Halving a weight changes the next rescore's scores and says so in the explanation.
SELECT factor, weight, detail FROM correlate.explain_risk(:pod) WHERE factor = 'internet_exposure';
UPDATE correlate.risk_factor SET weight = 15 WHERE name = 'internet_exposure';
SELECT * FROM correlate.rescore(as_of => '2026-11-23');
SELECT factor, weight, detail FROM correlate.explain_risk(:pod) WHERE factor = 'internet_exposure';
-- History rows only for the resources whose score moved (the exposed ones).
SELECT count(*) AS changed, count(*) FILTER (WHERE new_score < old_score) AS lower,
	   count(*) FILTER (WHERE added <> 0 OR removed <> 0) AS factor_sets_changed
FROM correlate.risk_history WHERE at = '2026-11-23';
SELECT count(*) AS exposed FROM correlate.risk_score s, jsonb_array_elements(s.reasons) x
WHERE x->>'factor' = 'internet_exposure';
-- A weight of 0 drops the factor's reasons; a disabled factor too.
UPDATE correlate.risk_factor SET weight = 0 WHERE name = 'privileged';
UPDATE correlate.risk_factor SET enabled = false WHERE name = 'detection';
SELECT * FROM correlate.rescore(as_of => '2026-11-24');
SELECT factor, weight FROM correlate.explain_risk(:pod);
SELECT at, score, previous, added, removed FROM correlate.risk_trend(:pod, '2026-11-20');
-- Back to the builtin weights: the scores come back to what they were.
UPDATE correlate.risk_factor SET weight = default_weight, enabled = true;
SELECT * FROM correlate.rescore(as_of => '2026-11-25');
SELECT count(*) AS differ_from_first FROM correlate.risk_score s
WHERE s.score <> (SELECT h.new_score FROM correlate.risk_history h
				  WHERE h.resource_id = s.resource_id AND h.at = '2026-11-21');
SELECT at, score, previous, added, removed FROM correlate.risk_trend(:pod, '2026-11-20');
-- A window: the score in force at since, then the changes up to until.
SELECT at, score, previous, added, removed FROM correlate.risk_trend(:pod, '2026-11-23 12:00', '2026-11-24 12:00');

-- The CVE is fixed between two rescores: the paths through it close, with the fix as
-- their cause.
UPDATE correlate.finding SET status = 'fixed' WHERE check_id = 'CVE-2021-44228';
SELECT * FROM correlate.rescore(as_of => '2026-11-26');
SELECT at, change, path, cause, detail FROM correlate.path_changes('2026-11-25');
SELECT count(*) FILTER (WHERE closed_at IS NULL) AS open, count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed
FROM correlate.attack_path_finding;
-- The CVE comes back: the path is a new finding, opened by the new edge.
UPDATE correlate.finding SET status = 'open' WHERE check_id = 'CVE-2021-44228';
SELECT * FROM correlate.rescore(as_of => '2026-11-27');
SELECT at, change, path, cause, detail FROM correlate.path_changes('2026-11-26');

-- A permission removed (the role's statements that let it read the bucket) closes
-- the path with that removal as cause.
BEGIN;
DELETE FROM correlate.iam_statement s
WHERE s.id IN (SELECT x::bigint FROM correlate.attack_path_finding f,
					  jsonb_array_elements(f.steps) st, jsonb_array_elements_text(st->'facts'->'statements') x
			   WHERE f.closed_at IS NULL AND (st->>'dst')::bigint = correlate.resource_id('arn:aws:s3:::acme-customer-pii'));
SELECT count(*) >= 0 AS refreshed FROM correlate.refresh_iam_edges();
SELECT * FROM correlate.rescore(as_of => '2026-11-27 12:00');
SELECT at, change, path, cause, regexp_replace(detail, 'statement [0-9]+', 'statement N', 'g') AS detail
FROM correlate.path_changes('2026-11-27');
ROLLBACK;

-- What changed since a day: critical resources, toxic combinations, paths, incidents.
SELECT at, change, subject, detail FROM correlate.changes_since('2026-11-25 12:00', '2026-11-27')
ORDER BY at, change, subject;
-- Incidents are dated by their creation (now), so only their count is shown.
SELECT change, count(*) FROM correlate.changes_since('2026-01-01') GROUP BY change ORDER BY change;

-- Posture: one snapshot per day; twice for the same time keeps one row.
SELECT day, scored, critical, high, attack_paths, toxic_combinations FROM correlate.posture_snapshot('2026-11-27 23:55');
SELECT day, scored, critical, high, attack_paths, toxic_combinations FROM correlate.posture_snapshot('2026-11-27 23:55');
UPDATE correlate.finding SET status = 'fixed' WHERE check_id = 'CVE-2021-44228';
SELECT * FROM correlate.rescore(as_of => '2026-11-28');
SELECT day FROM correlate.posture_snapshot('2026-11-28 23:55');
SELECT * FROM correlate.posture_series('2026-11-01');
SELECT * FROM correlate.run_scheduled_posture(correlate.current_tenant(), '2026-11-28 23:55');
SELECT count(*) AS snapshots FROM correlate.posture_snapshot;

-- The history is compact: a few smallints per change, no reasons text.
SELECT pg_column_size(h.*) <= 64 AS compact_rows FROM correlate.risk_history h LIMIT 1;

-- Retention: with 3 days kept, pruning as of 2026-11-28 drops what is older than the 25th.
SET correlate.risk_history_days = 3;
SELECT * FROM correlate.prune_risk_history('2026-11-28');
SELECT min(at) AS oldest_change, (SELECT min(at) FROM correlate.risk_run) AS oldest_run FROM correlate.risk_history;
-- The trend still starts from the right score after pruning (the first kept change's old score).
SELECT at, score, previous FROM correlate.risk_trend(:pod, '2026-11-20');
RESET correlate.risk_history_days;

-- With history off (superuser setting), a rescore records nothing.
SET correlate.risk_history = off;
UPDATE correlate.finding SET status = 'open' WHERE check_id = 'CVE-2021-44228';
SELECT count(*) AS before FROM correlate.risk_history \gset
SELECT * FROM correlate.rescore(as_of => '2026-11-29');
SELECT count(*) - :before AS added_rows FROM correlate.risk_history;
RESET correlate.risk_history;

-- Invalid weights are refused by constraints.
UPDATE correlate.risk_factor SET weight = -1 WHERE name = 'detection';
UPDATE correlate.risk_factor SET weight = 'NaN' WHERE name = 'detection';
UPDATE correlate.risk_factor SET weight = 100 WHERE name = 'detection';
UPDATE correlate.risk_factor SET weight = 'Infinity' WHERE name = 'detection';
UPDATE correlate.risk_factor SET weight = NULL WHERE name = 'detection';
UPDATE correlate.risk_factor SET bit = 15 WHERE name = 'detection';
SELECT count(*) AS untouched FROM correlate.risk_factor WHERE weight = default_weight;

-- Bad input.
SELECT * FROM correlate.risk_trend(NULL, '2026-11-20');
SELECT * FROM correlate.risk_trend(-1, '2026-11-20');
SELECT * FROM correlate.risk_trend(:pod, NULL);
SELECT * FROM correlate.risk_trend(:pod, '-infinity');
SELECT * FROM correlate.risk_trend(:pod, '2026-11-20', '2026-11-19');
SELECT * FROM correlate.path_changes(NULL);
SELECT * FROM correlate.path_changes('2026-11-20', '2026-11-01');
SELECT * FROM correlate.changes_since('infinity');
SELECT * FROM correlate.posture_series(NULL);
SELECT * FROM correlate.posture_series('2026-11-20', '2026-11-01');
SELECT * FROM correlate.posture_snapshot('infinity');
SELECT * FROM correlate.prune_risk_history('infinity');
SELECT * FROM correlate.run_scheduled_posture(NULL);
SET correlate.risk_history_days = 0;
SET correlate.risk_path_findings = -1;
SET correlate.risk_history = maybe;
-- pg_cron is not installed in the regression database.
SELECT correlate.schedule_posture_snapshot();
SELECT correlate.schedule_posture_snapshot(' ');
SELECT correlate.unschedule_posture_snapshot();
-- The scheduling helper runs only the extension's own jobs, never a given command.
SELECT correlate._cron_schedule('drop-everything', '* * * * *');
SELECT correlate._cron_schedule(NULL, '* * * * *');

-- Tenancy: another tenant sees none of this history, and its own is empty.
CREATE ROLE history_globex IN ROLE correlate_writer;
SELECT correlate.grant_tenant('globex', 'history_globex');
SET ROLE history_globex;
SET correlate.tenant = 'globex';
SELECT (SELECT count(*) FROM correlate.risk_history) AS history, (SELECT count(*) FROM correlate.attack_path_finding) AS paths,
	   (SELECT count(*) FROM correlate.posture_snapshot) AS snapshots, (SELECT count(*) FROM correlate.risk_run) AS runs;
SELECT count(*) FROM correlate.changes_since('2026-01-01');
SELECT * FROM correlate.risk_trend(:pod, '2026-11-20');
-- Only an administrator may tune weights.
UPDATE correlate.risk_factor SET weight = 1 WHERE name = 'detection';
RESET ROLE;
RESET correlate.tenant;

DROP EXTENSION correlate CASCADE;
DROP ROLE history_globex;
