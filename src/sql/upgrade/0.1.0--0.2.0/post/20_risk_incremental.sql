-- Issue 19 (tuned weights in pg_dump): the triggers that keep risk_factor_tuning, and the tuning
-- already made under 0.1.0 copied into it.
CREATE TRIGGER risk_factor_tuned AFTER UPDATE ON correlate.risk_factor
	FOR EACH ROW EXECUTE FUNCTION correlate._risk_factor_tuned();
CREATE TRIGGER risk_factor_tuning_restored AFTER INSERT OR UPDATE ON correlate.risk_factor_tuning
	FOR EACH ROW EXECUTE FUNCTION correlate._risk_factor_tuned();
INSERT INTO correlate.risk_factor_tuning (name, weight, enabled)
SELECT f.name, f.weight, f.enabled FROM correlate.risk_factor f WHERE NOT (f.weight = f.default_weight AND f.enabled);

-- Issue 19 / 14 (incremental rescore): the change log's statement triggers (80_risk.sql, 86_risk_incidents.sql).
SELECT correlate._risk_dirty_triggers('correlate.resource', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.relationship', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.finding', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.attack_edge', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.event', ARRAY['UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.iam_statement', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.iam_attachment', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']);
SELECT correlate._risk_dirty_triggers('correlate.incident_event', ARRAY['INSERT', 'DELETE', 'TRUNCATE']);
