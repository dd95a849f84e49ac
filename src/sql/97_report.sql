-- 97_report.sql: the incident report, one self-contained HTML page: no scripts, no
-- external fonts, stylesheets or images; every value escaped with correlate.xml_escape.

CREATE FUNCTION correlate._ts(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC';
COMMENT ON FUNCTION correlate._ts(timestamptz) IS 'Internal: a time as the report prints it (UTC, whatever the session time zone).';

CREATE FUNCTION correlate.incident_report(incident_id bigint, k integer DEFAULT 10)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	inc record;
	h text := '';
	part text;
	svg text;
BEGIN
	IF incident_id IS NULL THEN
		RAISE EXCEPTION 'incident_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT i.* INTO inc FROM correlate.incident i WHERE i.tenant = t AND i.id = incident_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', incident_id
			USING ERRCODE = 'undefined_object',
				  DETAIL = format('No incident with id %s in tenant "%s".', incident_id, t),
				  HINT = 'List incidents with SELECT id, title FROM correlate.incident.';
	END IF;
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('k is %s.', COALESCE(k::text, 'NULL'));
	END IF;

	h := '<!DOCTYPE html>' || E'\n' || '<html lang="en"><head><meta charset="utf-8">'
		|| '<meta name="viewport" content="width=device-width, initial-scale=1">'
		|| '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''; img-src data:">'
		|| '<title>' || correlate.xml_escape(format('Incident %s: %s', inc.id, inc.title)) || '</title>'
		|| '<style>'
		|| 'body{font-family:"DejaVu Sans","Liberation Sans",Arial,Helvetica,sans-serif;margin:0;color:#0f172a;background:#f8fafc}'
		|| 'main{max-width:1440px;margin:0 auto;padding:24px 28px 48px}'
		|| 'h1{font-size:24px;margin:6px 0 4px}h2{font-size:17px;margin:30px 0 10px;border-bottom:1px solid #e2e8f0;padding-bottom:6px}'
		|| '.meta{color:#475569;font-size:13px}.sev{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-size:12px;font-weight:700;text-transform:uppercase}'
		|| '.sev-critical{background:#b91c1c}.sev-high{background:#ea580c}.sev-medium{background:#ca8a04}.sev-low{background:#2563eb}'
		|| 'table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}'
		|| 'th{background:#f1f5f9;font-weight:700}td.num{text-align:right;white-space:nowrap}td.ts{white-space:nowrap;font-family:"DejaVu Sans Mono",monospace;font-size:12px}'
		|| '.dom{display:inline-block;padding:1px 7px;border-radius:8px;font-size:11px;border:1px solid #cbd5e1}'
		|| '.dom-workload{background:#e3effa}.dom-network{background:#e4f4e6}.dom-identity{background:#fdf0dc}.dom-data{background:#fbe5ea}.dom-kubernetes{background:#ece8fb}.dom-cloud{background:#e0f4f5}'
		|| '.graph{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:8px;overflow-x:auto}.graph svg{max-width:100%;height:auto}'
		|| 'pre{background:#0f172a;color:#e2e8f0;padding:10px 12px;border-radius:6px;font-size:12px;overflow-x:auto;margin:6px 0}'
		|| '.fix h3{font-size:14px;margin:16px 0 4px}.cmd{font-family:"DejaVu Sans Mono",monospace;font-size:12px;color:#334155}'
		|| 'ul{margin:4px 0;padding-left:20px}footer{margin-top:36px;color:#94a3b8;font-size:12px}'
		|| '</style></head><body><main class="incident-report" data-incident="' || inc.id || '">';

	-- Summary
	SELECT format('<p class="meta">Incident %s &middot; rule <b>%s</b> &middot; status %s &middot; %s to %s</p>',
				  inc.id, correlate.xml_escape(inc.rule), correlate.xml_escape(inc.status),
				  correlate.xml_escape(correlate._ts(inc.first_ts)), correlate.xml_escape(correlate._ts(inc.last_ts)))
		   || format('<h1>%s <span class="sev sev-%s">%s</span></h1>', correlate.xml_escape(inc.title),
					 correlate.xml_escape(inc.severity), correlate.xml_escape(inc.severity))
		   || '<h2 id="summary">Summary</h2><p>'
		   || format('%s events across %s between %s and %s, tied to %s: %s.',
					 count(*), correlate.xml_escape(string_agg(DISTINCT e.domain, ', ' ORDER BY e.domain)),
					 correlate.xml_escape(correlate._ts(inc.first_ts)), correlate.xml_escape(correlate._ts(inc.last_ts)),
					 CASE cardinality(inc.entities) WHEN 1 THEN 'one resource' ELSE cardinality(inc.entities) || ' resources' END,
					 (SELECT correlate.xml_escape(string_agg(COALESCE(r.name, r.uid) || ' (' || r.kind || ')', ', ' ORDER BY r.domain, r.name, r.id))
					  FROM correlate.resource r WHERE r.tenant = t AND r.id = ANY (inc.entities)))
		   || '</p>'
	INTO part
	FROM correlate.incident_event ie JOIN correlate.event e ON e.tenant = ie.tenant AND e.id = ie.event_id AND e.ts = ie.event_ts
	WHERE ie.tenant = t AND ie.incident = inc.id;
	h := h || COALESCE(part, '');

	-- Timeline
	SELECT '<h2 id="timeline">Timeline</h2><table class="timeline"><thead><tr><th>Time</th><th>Domain</th><th>Class</th>'
		   || '<th>Actor</th><th>Target</th><th>What happened</th></tr></thead><tbody>'
		   || COALESCE(string_agg(format('<tr><td class="ts">%s</td><td><span class="dom dom-%s">%s</span></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>',
										 correlate.xml_escape(correlate._ts(tl.ts)), correlate.xml_escape(tl.domain), correlate.xml_escape(tl.domain),
										 correlate.xml_escape(COALESCE(tl.class, '')), correlate.xml_escape(COALESCE(tl.actor, '')),
										 correlate.xml_escape(COALESCE(tl.target, '')), correlate.xml_escape(COALESCE(tl.summary, ''))),
								  '' ORDER BY tl.ts, tl.domain, tl.summary), '')
		   || '</tbody></table>'
	INTO part
	FROM correlate.incident_timeline(inc.id) tl;
	h := h || part;

	-- The attack graph around the incident
	svg := correlate.incident_graph_svg(inc.id, LEAST(k, 10));
	h := h || '<h2 id="attack-graph">Attack graph</h2><p class="meta">The incident''s resources (badged), how an attacker '
		|| 'reaches them from the internet and where they lead; red dashed edges are the minimum cut.</p>'
		|| '<div class="graph">' || svg || '</div>';

	-- Risk reasons of the incident's resources, and their toxic combinations
	SELECT '<h2 id="risk">Risk</h2><table class="risk"><thead><tr><th>Resource</th><th>Score</th><th>Reasons</th></tr></thead><tbody>'
		   || COALESCE(string_agg(format('<tr><td>%s <span class="meta">%s</span></td><td class="num">%s</td><td><ul>%s</ul></td></tr>',
										 correlate.xml_escape(COALESCE(r.name, r.uid)), correlate.xml_escape(r.kind), s.score,
										 (SELECT string_agg(format('<li><b>%s</b> (%s): %s</li>', correlate.xml_escape(x ->> 'factor'),
																   correlate.xml_escape(x ->> 'weight'), correlate.xml_escape(x ->> 'detail')),
															'' ORDER BY o)
										  FROM jsonb_array_elements(s.reasons) WITH ORDINALITY AS y(x, o))),
								  '' ORDER BY s.score DESC, r.name, r.id),
					   '<tr><td colspan="3">No risk scores yet: run correlate.rescore().</td></tr>')
		   || '</tbody></table>'
	INTO part
	FROM correlate.risk_score s JOIN correlate.resource r ON r.tenant = s.tenant AND r.id = s.resource_id
	WHERE s.tenant = t AND s.resource_id = ANY (inc.entities);
	h := h || part;
	SELECT CASE WHEN count(*) = 0 THEN '' ELSE
		   '<h3>Toxic combinations</h3><table class="toxic"><thead><tr><th>Rule</th><th>Severity</th><th>Resource</th><th>Factors</th></tr></thead><tbody>'
		   || string_agg(format('<tr><td>%s</td><td><span class="sev sev-%s">%s</span></td><td>%s</td><td>%s</td></tr>',
								correlate.xml_escape(c.rule), correlate.xml_escape(c.severity), correlate.xml_escape(c.severity),
								correlate.xml_escape(COALESCE(r.name, r.uid)),
								(SELECT correlate.xml_escape(string_agg(x ->> 'factor', ' + ' ORDER BY x ->> 'factor'))
								 FROM jsonb_array_elements(c.reasons) x)),
						 '' ORDER BY CASE c.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 ELSE 2 END, c.rule, r.name, c.id)
		   || '</tbody></table>' END
	INTO part
	FROM correlate.toxic_combination c JOIN correlate.resource r ON r.tenant = c.tenant AND r.id = c.resource_id
	WHERE c.tenant = t AND c.resource_id = ANY (inc.entities);
	h := h || part;

	-- The fix plan, with its artifacts as the files to apply
	SELECT '<h2 id="fix-plan">Fix plan</h2><table class="fixes"><thead><tr><th>#</th><th>Fix</th><th>Target</th><th>What it does</th>'
		   || '<th>Paths removed</th><th>Risk cut</th><th>Effort</th></tr></thead><tbody>'
		   || COALESCE(string_agg(format('<tr><td class="num">%s</td><td>%s</td><td>%s</td><td>%s</td><td class="num">%s/%s</td><td class="num">%s</td><td class="num">%s</td></tr>',
										 f.rank, correlate.xml_escape(f.kind), correlate.xml_escape(COALESCE(f.target, '')),
										 correlate.xml_escape(COALESCE(f.description, '')), f.paths_removed, f.paths_total,
										 COALESCE(f.risk_reduction::text, ''), COALESCE(f.effort::text, '')),
								  '' ORDER BY f.rank),
					   '<tr><td colspan="7">No attack path to fix.</td></tr>')
		   || '</tbody></table>'
	INTO part
	FROM correlate.fix_plan(NULL, NULL, k) f;
	h := h || part;
	SELECT COALESCE(string_agg(format('<div class="fix"><h3>%s. %s: %s</h3><div class="cmd">%s</div><pre>%s</pre></div>',
									  a.rank, correlate.xml_escape(a.kind), correlate.xml_escape(COALESCE(a.target, '')),
									  correlate.xml_escape(a.apply), correlate.xml_escape(a.content)), '' ORDER BY a.rank), '')
	INTO part
	FROM correlate.fix_plan_artifacts(NULL, NULL, k) a;
	h := h || part;

	RETURN h || '<footer>correlate incident report &middot; tenant ' || correlate.xml_escape(t)
		|| ' &middot; self-contained: no scripts, no network</footer></main></body></html>' || E'\n';
END
$$;
COMMENT ON FUNCTION correlate.incident_report(bigint, integer)
	IS 'One self-contained HTML page for an incident (no scripts, no network fetches): summary, timeline, the attack-graph picture, risk reasons and toxic combinations of its resources, the fix plan (k fixes) with its artifacts as YAML or JSON files and the commands that apply them.';

GRANT EXECUTE ON FUNCTION correlate._ts(timestamptz), correlate.incident_report(bigint, integer) TO correlate_reader;
