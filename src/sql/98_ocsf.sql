-- 98_ocsf.sql: findings out as OCSF 1.2.0 events (jsonb): incidents as Incident
-- Finding (2005); toxic combinations, risky resources and, where issue 13's
-- correlate.detection table exists, Sigma detections as Detection Finding (2004);
-- each with MITRE ATT&CK objects, resources and evidence.  Validated against the
-- schema by test/t/ocsf_export.sh.

CREATE FUNCTION correlate._ocsf_tactic_uid(tactic text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE replace(lower(tactic), '_', '-')
	WHEN 'reconnaissance' THEN 'TA0043' WHEN 'resource-development' THEN 'TA0042' WHEN 'initial-access' THEN 'TA0001'
	WHEN 'execution' THEN 'TA0002' WHEN 'persistence' THEN 'TA0003' WHEN 'privilege-escalation' THEN 'TA0004'
	WHEN 'defense-evasion' THEN 'TA0005' WHEN 'credential-access' THEN 'TA0006' WHEN 'discovery' THEN 'TA0007'
	WHEN 'lateral-movement' THEN 'TA0008' WHEN 'collection' THEN 'TA0009' WHEN 'command-and-control' THEN 'TA0011'
	WHEN 'exfiltration' THEN 'TA0010' WHEN 'impact' THEN 'TA0040' END;
COMMENT ON FUNCTION correlate._ocsf_tactic_uid(text) IS 'Internal: the MITRE ATT&CK tactic id (TA00xx) of a tactic name (initial-access, ...).';

CREATE FUNCTION correlate._ocsf_attacks(edges bigint[]) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT COALESCE(jsonb_agg(DISTINCT jsonb_strip_nulls(jsonb_build_object(
			'version', '14',
			'technique', jsonb_build_object('uid', t.attack_id, 'name', t.name),
			'tactic', CASE WHEN correlate._ocsf_tactic_uid(t.tactic) IS NOT NULL
						   THEN jsonb_build_object('uid', correlate._ocsf_tactic_uid(t.tactic), 'name', initcap(replace(t.tactic, '-', ' '))) END))), '[]')
		FROM correlate.attack_edge a JOIN correlate.attack_technique t ON t.technique = a.technique
		WHERE a.tenant = correlate.current_tenant() AND a.id = ANY (edges));
COMMENT ON FUNCTION correlate._ocsf_attacks(bigint[]) IS 'Internal: OCSF attack objects (ATT&CK technique and tactic) of the given attack edges.';

CREATE FUNCTION correlate._ocsf_resource(id bigint) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
			'uid', r.uid, 'name', r.name, 'type', r.kind, 'region', r.region, 'namespace', r.namespace,
			'criticality', CASE WHEN r.criticality >= 0.8 THEN 'high' WHEN r.criticality >= 0.5 THEN 'medium' ELSE 'low' END,
			'labels', CASE WHEN r.domain IS NOT NULL THEN jsonb_build_array('domain:' || r.domain) END,
			'data', jsonb_build_object('correlate_id', r.id, 'account', r.account, 'cluster', r.cluster)))
		FROM correlate.resource r WHERE r.tenant = correlate.current_tenant() AND r.id = _ocsf_resource.id);
COMMENT ON FUNCTION correlate._ocsf_resource(bigint) IS 'Internal: a resource as an OCSF resource_details object.';

CREATE FUNCTION correlate._ocsf_base(class_uid integer, severity_id integer, t timestamptz) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN jsonb_build_object(
	'category_uid', 2, 'category_name', 'Findings',
	'class_uid', class_uid, 'class_name', CASE class_uid WHEN 2004 THEN 'Detection Finding' ELSE 'Incident Finding' END,
	'activity_id', 1, 'activity_name', 'Create',
	'type_uid', class_uid * 100 + 1,
	'type_name', CASE class_uid WHEN 2004 THEN 'Detection Finding' ELSE 'Incident Finding' END || ': Create',
	'severity_id', severity_id,
	'severity', CASE severity_id WHEN 1 THEN 'Informational' WHEN 2 THEN 'Low' WHEN 3 THEN 'Medium' WHEN 4 THEN 'High'
							   WHEN 5 THEN 'Critical' WHEN 6 THEN 'Fatal' ELSE 'Unknown' END,
	'time', (extract(epoch FROM t) * 1000)::bigint,
	'metadata', jsonb_build_object('version', '1.2.0',
								   'product', jsonb_build_object('name', 'correlate', 'vendor_name', 'correlate',
																 'version', (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'correlate')),
								   'tenant_uid', correlate.current_tenant()));
COMMENT ON FUNCTION correlate._ocsf_base(integer, integer, timestamptz) IS 'Internal: the attributes every exported OCSF finding carries (classification, severity, time, metadata).';

CREATE FUNCTION correlate._ocsf_severity(severity text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE lower(severity) WHEN 'informational' THEN 1 WHEN 'low' THEN 2 WHEN 'medium' THEN 3 WHEN 'high' THEN 4
							WHEN 'critical' THEN 5 ELSE 0 END;
COMMENT ON FUNCTION correlate._ocsf_severity(text) IS 'Internal: OCSF severity_id of a severity name.';

CREATE FUNCTION correlate.export_ocsf(since timestamptz, until timestamptz, classes text[] DEFAULT NULL,
	min_risk integer DEFAULT 50)
RETURNS TABLE (class_uid integer, finding_uid text, finding jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	known text[] := ARRAY['incident', 'toxic_combination', 'risk', 'detection'];
	want text[] := COALESCE(classes, known);
	bad text;
BEGIN
	IF since IS NULL OR until IS NULL THEN
		RAISE EXCEPTION 'since and until must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Pass the window to export, e.g. now() - interval ''1 day'' and now().';
	END IF;
	IF since > until THEN
		RAISE EXCEPTION 'since is after until' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('since is %s, until is %s.', since, until);
	END IF;
	SELECT c INTO bad FROM unnest(want) c WHERE c IS NULL OR NOT c = ANY (known) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'unknown finding class "%"', bad USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use incident, toxic_combination, risk or detection.';
	END IF;
	IF min_risk IS NULL OR min_risk < 0 OR min_risk > 100 THEN
		RAISE EXCEPTION 'min_risk must be between 0 and 100' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('min_risk is %s.', COALESCE(min_risk::text, 'NULL'));
	END IF;

	-- Incidents: one Incident Finding each, its events as finding_info_list.
	IF 'incident' = ANY (want) THEN
		RETURN QUERY
		SELECT 2005, 'correlate:incident:' || i.id,
			   correlate._ocsf_base(2005, correlate._ocsf_severity(i.severity), i.last_ts) || jsonb_strip_nulls(jsonb_build_object(
				   'message', i.title,
				   'desc', format('Correlation rule %s matched %s events on %s resources.', i.rule,
								  (SELECT count(*) FROM correlate.incident_event ie WHERE ie.tenant = i.tenant AND ie.incident = i.id),
								  cardinality(i.entities)),
				   'start_time', (extract(epoch FROM i.first_ts) * 1000)::bigint,
				   'end_time', (extract(epoch FROM i.last_ts) * 1000)::bigint,
				   'status_id', CASE i.status WHEN 'open' THEN 1 WHEN 'acknowledged' THEN 2 WHEN 'resolved' THEN 4 ELSE 5 END,
				   'status', CASE i.status WHEN 'open' THEN 'New' WHEN 'acknowledged' THEN 'In Progress' WHEN 'resolved' THEN 'Resolved' ELSE 'Closed' END,
				   'verdict_id', CASE i.status WHEN 'false_positive' THEN 1 END,
				   'priority_id', GREATEST(correlate._ocsf_severity(i.severity) - 1, 1),
				   'is_suspected_breach', i.severity IN ('high', 'critical'),
				   'finding_info_list', (
					   SELECT COALESCE(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
								  'uid', 'correlate:event:' || e.id,
								  'title', COALESCE(e.rule, e.action, correlate.ocsf_class_name(e.class_uid)),
								  'types', jsonb_build_array(e.domain),
								  'first_seen_time', (extract(epoch FROM e.ts) * 1000)::bigint,
								  'data_sources', jsonb_build_array(e.source),
								  'related_events', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
									  'uid', e.id::text, 'type_uid', e.class_uid::bigint * 100 + COALESCE(e.activity_id, 0),
									  'product_uid', e.source))))) ORDER BY e.ts, e.id), '[]')
					   FROM correlate.incident_event ie
					   JOIN correlate.event e ON e.tenant = ie.tenant AND e.id = ie.event_id AND e.ts = ie.event_ts
					   WHERE ie.tenant = i.tenant AND ie.incident = i.id),
				   'attacks', correlate._ocsf_attacks(ARRAY(
					   SELECT a.id FROM correlate.attack_edge a
					   WHERE a.tenant = i.tenant AND (a.src = ANY (i.entities) OR a.dst = ANY (i.entities)) ORDER BY a.id)),
				   'unmapped', jsonb_build_object('correlate_rule', i.rule,
					   'resources', (SELECT COALESCE(jsonb_agg(correlate._ocsf_resource(x) ORDER BY x), '[]') FROM unnest(i.entities) x))))
		FROM correlate.incident i
		WHERE i.tenant = t AND i.last_ts >= since AND i.first_ts < until
		ORDER BY i.id;
	END IF;

	-- Toxic combinations: Detection Findings on the resource, with their reasons as evidence.
	IF 'toxic_combination' = ANY (want) THEN
		RETURN QUERY
		SELECT 2004, 'correlate:toxic_combination:' || c.id,
			   correlate._ocsf_base(2004, correlate._ocsf_severity(c.severity), c.last_seen) || jsonb_strip_nulls(jsonb_build_object(
				   'message', format('%s on %s', c.rule, COALESCE(r.name, r.uid)),
				   'status_id', 1, 'status', 'New',
				   'finding_info', jsonb_strip_nulls(jsonb_build_object(
					   'uid', 'correlate:toxic_combination:' || c.id,
					   'title', COALESCE(tr.description, c.rule),
					   'types', jsonb_build_array('Toxic Combination'),
					   'analytic', jsonb_build_object('name', c.rule, 'type_id', 1, 'type', 'Rule'),
					   'first_seen_time', (extract(epoch FROM c.first_seen) * 1000)::bigint,
					   'last_seen_time', (extract(epoch FROM c.last_seen) * 1000)::bigint,
					   'attacks', correlate._ocsf_attacks(ARRAY(
						   SELECT a.id FROM correlate.attack_edge a
						   WHERE a.tenant = c.tenant AND (a.src = c.resource_id OR a.dst = c.resource_id) ORDER BY a.id)))),
				   'resources', jsonb_build_array(correlate._ocsf_resource(c.resource_id)),
				   'evidences', (SELECT COALESCE(jsonb_agg(jsonb_build_object('data', x) ORDER BY o), '[]')
								 FROM jsonb_array_elements(c.reasons) WITH ORDINALITY AS y(x, o)),
				   'risk_level_id', CASE c.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END,
				   'risk_level', initcap(c.severity)))
		FROM correlate.toxic_combination c
		JOIN correlate.resource r ON r.tenant = c.tenant AND r.id = c.resource_id
		LEFT JOIN correlate.toxic_rule tr ON tr.name = c.rule
		WHERE c.tenant = t AND c.last_seen >= since AND c.first_seen < until
		ORDER BY c.id;
	END IF;

	-- Risky resources: a Detection Finding per resource scoring at least min_risk.
	IF 'risk' = ANY (want) THEN
		RETURN QUERY
		SELECT 2004, 'correlate:risk:' || s.resource_id,
			   correlate._ocsf_base(2004, CASE WHEN s.score >= 80 THEN 5 WHEN s.score >= 60 THEN 4 WHEN s.score >= 40 THEN 3 ELSE 2 END,
									s.scored_at) || jsonb_strip_nulls(jsonb_build_object(
				   'message', format('%s scores %s', COALESCE(r.name, r.uid), s.score),
				   'status_id', 1, 'status', 'New',
				   'finding_info', jsonb_build_object(
					   'uid', 'correlate:risk:' || s.resource_id,
					   'title', format('Risk %s on %s (%s)', s.score, COALESCE(r.name, r.uid), r.kind),
					   'types', jsonb_build_array('Risk'),
					   'analytic', jsonb_build_object('name', 'correlate risk model', 'type_id', 1, 'type', 'Rule'),
					   'attacks', correlate._ocsf_attacks(ARRAY(
						   SELECT a.id FROM correlate.attack_edge a
						   WHERE a.tenant = s.tenant AND (a.src = s.resource_id OR a.dst = s.resource_id) ORDER BY a.id))),
				   'resources', jsonb_build_array(correlate._ocsf_resource(s.resource_id)),
				   'evidences', (SELECT COALESCE(jsonb_agg(jsonb_build_object('data', x) ORDER BY o), '[]')
								 FROM jsonb_array_elements(s.reasons) WITH ORDINALITY AS y(x, o)),
				   'risk_score', s.score::integer,
				   'risk_level_id', CASE WHEN s.score >= 80 THEN 4 WHEN s.score >= 60 THEN 3 WHEN s.score >= 40 THEN 2 WHEN s.score >= 20 THEN 1 ELSE 0 END,
				   'risk_level', CASE WHEN s.score >= 80 THEN 'Critical' WHEN s.score >= 60 THEN 'High' WHEN s.score >= 40 THEN 'Medium'
									  WHEN s.score >= 20 THEN 'Low' ELSE 'Info' END))
		FROM correlate.risk_score s JOIN correlate.resource r ON r.tenant = s.tenant AND r.id = s.resource_id
		WHERE s.tenant = t AND s.score >= min_risk AND s.scored_at >= since AND s.scored_at < until
		ORDER BY s.resource_id;
	END IF;

	-- Sigma detections, when the detection module (correlate.detection) is installed.
	IF 'detection' = ANY (want) AND to_regclass('correlate.detection') IS NOT NULL THEN
		RETURN QUERY EXECUTE $q$
		SELECT 2004, 'correlate:detection:' || d.id,
			   correlate._ocsf_base(2004, LEAST(GREATEST(d.severity_id, 0), 6), d.event_ts) || jsonb_strip_nulls(jsonb_build_object(
				   'message', d.title,
				   'status_id', 1, 'status', 'New',
				   'finding_info', jsonb_strip_nulls(jsonb_build_object(
					   'uid', 'correlate:detection:' || d.id,
					   'title', d.title,
					   'types', jsonb_build_array('Sigma'),
					   'analytic', jsonb_strip_nulls(jsonb_build_object('name', d.title, 'uid', d.sigma_id, 'type_id', 1, 'type', 'Rule')),
					   'related_events', jsonb_build_array(jsonb_build_object('uid', d.event_id::text)),
					   'attacks', (SELECT COALESCE(jsonb_agg(jsonb_build_object('version', '14', 'technique', jsonb_build_object('uid', x))
																	 ORDER BY x), '[]')
								   FROM unnest(d.techniques) x))),
				   'resources', CASE WHEN d.entity IS NOT NULL THEN jsonb_build_array(correlate._ocsf_resource(d.entity)) END,
				   'evidences', jsonb_build_array(jsonb_build_object('data', jsonb_build_object('event', d.event_id, 'source', d.source)))))
		FROM correlate.detection d
		WHERE d.tenant = $1 AND d.event_ts >= $2 AND d.event_ts < $3
		ORDER BY d.id
		$q$ USING t, since, until;
	END IF;
END
$$;
COMMENT ON FUNCTION correlate.export_ocsf(timestamptz, timestamptz, text[], integer)
	IS 'Findings as OCSF 1.2.0 events (one jsonb each): incidents as Incident Finding (2005); toxic combinations, resources scoring at least min_risk and (when correlate.detection exists) Sigma detections as Detection Finding (2004); with ATT&CK attack objects, resources and evidence. classes: incident, toxic_combination, risk, detection (NULL: all).';

GRANT EXECUTE ON FUNCTION correlate._ocsf_tactic_uid(text), correlate._ocsf_attacks(bigint[]), correlate._ocsf_resource(bigint),
	correlate._ocsf_base(integer, integer, timestamptz), correlate._ocsf_severity(text),
	correlate.export_ocsf(timestamptz, timestamptz, text[], integer)
	TO correlate_reader;
