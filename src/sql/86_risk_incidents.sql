-- 86_risk_incidents.sql: the incremental rescore's change log (80_risk.sql) follows
-- incident_event too: an event tied to an incident, or freed from one, stops or
-- starts counting as its actor's legitimate use of a permission.
SELECT correlate._risk_dirty_triggers('correlate.incident_event', ARRAY['INSERT', 'DELETE', 'TRUNCATE']);
