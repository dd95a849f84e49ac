-- 89_baselines.sql: first-seen and rare detections per identity (docs/detection.md, "Baselines").
--
-- A baseline rule is a Sigma document with our `baseline:` block instead of
-- `detection:` (src/detect/sigma_compile.c keeps it as JSON in
-- detection_rule.correlation: type, value, learning_s, min_events, rare_share).
-- correlate.detect_baselines() evaluates it over stored events, per identity (the
-- event's actor), from the events' own times only: an event of an identity that
-- was already active a whole learning window before it, and that made at least
-- min-events events in the learning window just before it, is
--   first_seen  when none of those carried the event's value;
--   rare        when some did, but at most rare-share of them.
-- Each hit is an ordinary detection of the rule (idempotent like detect()), so
-- correlation meta-rules and correlate() steps can use it.

CREATE FUNCTION correlate.user_agent_family(user_agent text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT lower(substring(ltrim(user_agent, '[ ') FROM '^([A-Za-z][A-Za-z0-9._-]{0,63})'))
$$;
COMMENT ON FUNCTION correlate.user_agent_family(text)
	IS 'The product of a user agent, lower case, without its version: ''aws-cli/2.15.0 Python/3.11'' -> ''aws-cli'', ''Boto3/1.34'' -> ''boto3''; NULL when it starts with no name.';

CREATE FUNCTION correlate._baseline_value(what text, action text, src_ip inet, raw jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE what
		WHEN 'action' THEN action
		WHEN 'source_address' THEN host(src_ip)
		WHEN 'source_network' THEN network(set_masklen(src_ip, CASE family(src_ip) WHEN 4 THEN 24 ELSE 64 END))::text
		WHEN 'region' THEN COALESCE(raw->>'awsRegion', raw->>'region')
		WHEN 'user_agent_family' THEN correlate.user_agent_family(raw->>'userAgent')
		ELSE raw #>> string_to_array(what, '.') END
$$;
COMMENT ON FUNCTION correlate._baseline_value(text, text, inet, jsonb)
	IS 'Internal: the value a baseline rule learns: action, source_address, source_network (/24, IPv6 /64), region, user_agent_family, or a dotted path into the raw record.';

CREATE FUNCTION correlate.detect_baselines(since timestamptz, until timestamptz, rules text[] DEFAULT NULL)
RETURNS TABLE (sigma_id text, title text, matched bigint, created bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	t text := correlate.current_tenant();
	br record;
	lrn interval;
BEGIN
	IF since IS NOT NULL AND until IS NOT NULL AND since > until THEN
		RAISE EXCEPTION 'since must not be after until'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('since is %s and until is %s.', since, until);
	END IF;
	IF rules IS NOT NULL AND EXISTS (
		SELECT 1 FROM unnest(rules) u(x) WHERE NOT EXISTS (
			SELECT 1 FROM correlate.detection_rule r WHERE r.tenant = t AND r.enabled
			  AND r.correlation->>'type' IN ('first_seen', 'rare') AND (r.sigma_id = u.x OR r.title = u.x))) THEN
		RAISE EXCEPTION 'unknown baseline rule in %', rules::text
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'No enabled baseline rule of this tenant has one of those Sigma ids or titles.';
	END IF;
	FOR br IN SELECT r.id, r.sigma_id, r.title, r.source, r.correlation AS c FROM correlate.detection_rule r
			  WHERE r.tenant = t AND r.enabled AND r.correlation->>'type' IN ('first_seen', 'rare')
				AND (rules IS NULL OR r.sigma_id = ANY (rules) OR r.title = ANY (rules))
			  ORDER BY r.sigma_id
	LOOP
		lrn := make_interval(secs => (br.c->>'learning_s')::float8);
		RETURN QUERY
		WITH ev AS MATERIALIZED (
			-- the identity's events of the rule's source from one learning window before since
			SELECT e.id, e.ts, e.actor, correlate._baseline_value(br.c->>'value', e.action, e.src_ip, e.raw) AS v
			FROM correlate.event e
			WHERE e.tenant = t AND e.source = br.source AND e.actor IS NOT NULL
			  AND (since IS NULL OR e.ts >= since - lrn) AND (until IS NULL OR e.ts < until)
		), w AS (
			-- what the identity did in [ts - learning, ts): all its events, and those with this value
			SELECT ev.id, ev.ts, ev.actor, ev.v,
				   count(*) OVER (PARTITION BY ev.actor ORDER BY ev.ts
								  RANGE BETWEEN lrn PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS n_all,
				   count(*) OVER (PARTITION BY ev.actor, ev.v ORDER BY ev.ts
								  RANGE BETWEEN lrn PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS n_same
			FROM ev
		), hit AS MATERIALIZED (
			SELECT w.id, w.ts, w.actor FROM w
			WHERE w.v IS NOT NULL AND (since IS NULL OR w.ts >= since)
			  AND w.n_all >= (br.c->>'min_events')::bigint AND w.n_all > 0
			  AND CASE br.c->>'type' WHEN 'first_seen' THEN w.n_same = 0
					ELSE w.n_same >= 1 AND w.n_same <= (br.c->>'rare_share')::float8 * w.n_all END
			  -- learned: the identity was active a whole learning window before
			  AND EXISTS (SELECT 1 FROM correlate.event p WHERE p.tenant = t AND p.actor = w.actor
						  AND p.source = br.source AND p.ts <= w.ts - lrn)
		), ins AS (
			INSERT INTO correlate.detection (tenant, rule_id, sigma_id, title, author, level, severity_id, tactics,
											 techniques, event_id, event_ts, source, entity)
			SELECT t, r.id, r.sigma_id, r.title, r.author, r.level, r.severity_id, r.tactics, r.techniques,
				   h.id, h.ts, br.source, h.actor
			FROM hit h JOIN correlate.detection_rule r ON r.tenant = t AND r.id = br.id
			ON CONFLICT (tenant, rule_id, event_id, event_ts) DO NOTHING
			RETURNING 1
		)
		SELECT br.sigma_id, br.title, (SELECT count(*) FROM hit), (SELECT count(*) FROM ins)
		WHERE EXISTS (SELECT 1 FROM hit);
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate.detect_baselines(timestamptz, timestamptz, text[])
	IS 'Runs the tenant''s enabled baseline rules (first_seen, rare; or those named by Sigma id or title) over the events of [since, until) per identity, learning from the events before each one; each hit is a detection of the rule; idempotent and independent of the clock.';

-- The builtin baseline rules (written here), loaded per tenant like the detection pack.
CREATE FUNCTION correlate.load_builtin_baselines()
RETURNS TABLE (sigma_id text, title text, source text, replaced boolean)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
	SELECT s.sigma_id, s.title, s.source, s.replaced
	FROM correlate._store_rules($sigma$
title: First-Seen API Action For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b01
status: experimental
description: An IAM identity that has been active for the learning window called an API action it did not call in that window.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: first_seen
  value: action
  learning: 7d
  min-events: 5
level: low
tags: [attack.discovery, attack.t1526]
---
title: First-Seen Source Network For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b02
status: experimental
description: An IAM identity called AWS from a /24 network (IPv6 /64) it did not use in the learning window; stolen credentials used elsewhere.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: first_seen
  value: source_network
  learning: 7d
  min-events: 5
level: medium
tags: [attack.initial-access, attack.t1078.004]
---
title: First-Seen Region For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b03
status: experimental
description: An IAM identity acted in an AWS region it did not use in the learning window; resources hidden or mined away from watched regions.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: first_seen
  value: region
  learning: 7d
  min-events: 5
level: medium
tags: [attack.defense-evasion, attack.t1535]
---
title: First-Seen User Agent Family For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b04
status: experimental
description: An IAM identity called AWS with a client (user agent without its version) it did not use in the learning window; its credentials in another tool.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: first_seen
  value: user_agent_family
  learning: 7d
  min-events: 5
level: low
tags: [attack.initial-access, attack.t1078.004]
---
title: Rare Region For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b05
status: experimental
description: An IAM identity acted in a region that carried at most 5% of its calls in the learning window.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: rare
  value: region
  learning: 30d
  min-events: 20
  rare-share: 0.05
level: low
tags: [attack.defense-evasion, attack.t1535]
---
title: Rare Source Network For An AWS Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b06
status: experimental
description: An IAM identity called AWS from a /24 network that carried at most 5% of its calls in the learning window.
author: correlate project
logsource: {product: aws, service: cloudtrail}
baseline:
  type: rare
  value: source_network
  learning: 30d
  min-events: 20
  rare-share: 0.05
level: low
tags: [attack.initial-access, attack.t1078.004]
---
title: First-Seen Kubernetes Action For An Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b07
status: experimental
description: A Kubernetes user or service account that has been active for the learning window made a request (verb and resource) it did not make in that window.
author: correlate project
logsource: {product: kubernetes, service: audit}
baseline:
  type: first_seen
  value: action
  learning: 7d
  min-events: 5
level: low
tags: [attack.discovery, attack.t1613]
---
title: First-Seen Source Network For A Kubernetes Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b08
status: experimental
description: A Kubernetes user or service account called the API server from a /24 network (IPv6 /64) it did not use in the learning window.
author: correlate project
logsource: {product: kubernetes, service: audit}
baseline:
  type: first_seen
  value: source_network
  learning: 7d
  min-events: 5
level: medium
tags: [attack.initial-access, attack.t1078]
---
title: First-Seen User Agent Family For A Kubernetes Identity
id: 5b0c2f3e-7a41-4c1e-9b6a-0d1e2f3a4b09
status: experimental
description: A Kubernetes user or service account called the API server with a client it did not use in the learning window (a stolen service-account token in kubectl).
author: correlate project
logsource: {product: kubernetes, service: audit}
baseline:
  type: first_seen
  value: user_agent_family
  learning: 7d
  min-events: 5
level: medium
tags: [attack.credential-access, attack.t1528]
$sigma$, 'builtin baselines', true) s
	ORDER BY s.source, s.title
$fn$;
COMMENT ON FUNCTION correlate.load_builtin_baselines()
	IS 'Loads (or refreshes) the builtin baseline rules (first-seen and rare per identity, CloudTrail and Kubernetes audit) into the current tenant''s detection rules.';

GRANT EXECUTE ON FUNCTION correlate.load_builtin_baselines() TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate.user_agent_family(text), correlate._baseline_value(text, text, inet, jsonb)
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.detect_baselines(timestamptz, timestamptz, text[]) TO correlate_writer;
