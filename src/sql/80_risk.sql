-- 80_risk.sql: risk scores that explain themselves, toxic combinations, and
-- scheduled rescoring.
--
-- correlate.rescore() recomputes, for the current tenant, one row per resource in
-- correlate.risk_score: a score in [0,100] and the reasons behind it, each a
-- factor with a weight, a readable detail and the ids of its evidence (findings,
-- events, relationships, resources, policy statements).  The factors:
--
--   internet_exposure          most likely path from the internet (graph engine)
--   crown_jewel_access         most likely path to a crown jewel (graph engine)
--   crown_jewel                the resource is a crown jewel itself
--   vulnerability /            worst open vulnerability of the resource, its
--   exploitable_vulnerability  containers and images (exploitable: known exploited,
--                              flagged exploitable, or EPSS >= 0.5)
--   privileged                 privileged / root / host-path / escalation checks
--   excess_permissions /       grants the identity (or the identity a workload runs
--   unused_admin_permissions   as) never used legitimately; admin when an unused grant
--                              is a wildcard, iam: or sts:AssumeRole
--   detection                  detector alerts (Falco...) within the window
--
-- A weight is what the factor alone would score.  Factors combine as independent
-- chances (noisy-OR): score = 100 * (1 - prod(1 - weight/100)), so each factor takes
-- its share of what the others left, no single one saturates the scale, and the
-- score never leaves [0,100].  Toxic combinations (correlate.toxic_rule: named sets
-- of factors that are worse together) add their bonus as one more reason and are
-- recorded in correlate.toxic_combination with their evidence.
--
-- Legitimate use excludes events that correlate.correlate() tied to an incident and
-- detector alerts, so run correlate() first (the scheduled job does both).  One
-- rescoring of a tenant at a time: a per-tenant row of correlate.work_lock.  Scores
-- are derived data; they are dumped only so a restored database shows them before
-- the next rescoring.

-- Misconfiguration checks that mean the workload runs with more power than it needs.
CREATE FUNCTION correlate.risk_privilege_checks()
RETURNS TABLE (check_id text, weight integer, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES
		('privileged', 20, 'privileged container'),
		('KSV017', 20, 'privileged container'),
		('host-path', 12, 'mounts a host path'),
		('KSV023', 12, 'mounts a host path'),
		('host-network', 10, 'shares the host network'),
		('KSV009', 10, 'shares the host network'),
		('host-pid', 10, 'shares the host PID namespace'),
		('KSV010', 10, 'shares the host PID namespace'),
		('host-ipc', 8, 'shares the host IPC namespace'),
		('KSV008', 8, 'shares the host IPC namespace'),
		('sys-admin', 12, 'has CAP_SYS_ADMIN'),
		('KSV005', 12, 'has CAP_SYS_ADMIN'),
		('run-as-root', 6, 'runs as root'),
		('KSV012', 6, 'runs as root'),
		('allow-privilege-escalation', 6, 'allows privilege escalation'),
		('KSV001', 6, 'allows privilege escalation')
$$;
COMMENT ON FUNCTION correlate.risk_privilege_checks()
	IS 'Misconfiguration check ids (correlate''s own and Trivy''s KSV ids) that make the privileged risk factor, with the weight each adds (the factor is capped at 25).';

CREATE TABLE correlate.toxic_rule (
	name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
	description text NOT NULL CHECK (description <> ''),
	factors     text[] NOT NULL CHECK (cardinality(factors) BETWEEN 2 AND 8 AND array_position(factors, NULL) IS NULL
								   AND factors <@ ARRAY['internet_exposure', 'crown_jewel_access', 'crown_jewel',
														'vulnerability', 'exploitable_vulnerability', 'privileged',
														'excess_permissions', 'unused_admin_permissions', 'detection']),
	domains     text[] CHECK (domains IS NULL OR (cardinality(domains) > 0 AND array_position(domains, NULL) IS NULL
								   AND domains <@ ARRAY['network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance'])),
	severity    text NOT NULL DEFAULT 'high' CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	bonus       integer NOT NULL CHECK (bonus BETWEEN 0 AND 50),
	enabled     boolean NOT NULL DEFAULT true,
	builtin     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE correlate.toxic_rule IS 'Named combinations of risk factors that are worse together than apart; a resource whose reasons include every factor matches.';
COMMENT ON COLUMN correlate.toxic_rule.name IS 'Rule name, lower case (e.g. exposed-exploitable-privileged).';
COMMENT ON COLUMN correlate.toxic_rule.description IS 'What the combination means, shown as the reason''s detail.';
COMMENT ON COLUMN correlate.toxic_rule.factors IS 'Risk factors that must all be among the resource''s reasons (2 to 8 of the factors correlate.rescore() computes).';
COMMENT ON COLUMN correlate.toxic_rule.domains IS 'Resource domains the rule applies to; NULL for any.';
COMMENT ON COLUMN correlate.toxic_rule.severity IS 'low, medium, high or critical.';
COMMENT ON COLUMN correlate.toxic_rule.bonus IS 'Weight in [0,50] of the extra reason a match adds to the score.';
COMMENT ON COLUMN correlate.toxic_rule.enabled IS 'Disabled rules are not evaluated.';
COMMENT ON COLUMN correlate.toxic_rule.builtin IS 'True for rules shipped with the extension (not dumped; recreated by CREATE EXTENSION).';

INSERT INTO correlate.toxic_rule (name, description, factors, domains, severity, bonus, builtin) VALUES
	('exposed-exploitable-privileged',
	 'reachable from the internet, carries an exploitable vulnerability and runs privileged: one exploit owns the host',
	 ARRAY['internet_exposure', 'exploitable_vulnerability', 'privileged'], ARRAY['workload'], 'critical', 30, true),
	('data-path-unused-admin',
	 'has a path to sensitive data and carries admin permissions it never uses: compromise turns into a data breach',
	 ARRAY['crown_jewel_access', 'unused_admin_permissions'], ARRAY['workload', 'identity'], 'high', 20, true),
	('exposed-under-attack',
	 'reachable from the internet and a detector is firing on it: likely being exploited now',
	 ARRAY['internet_exposure', 'detection'], ARRAY['workload'], 'critical', 25, true),
	('exploitable-path-to-crown-jewel',
	 'carries an exploitable vulnerability and has a path to a crown jewel',
	 ARRAY['exploitable_vulnerability', 'crown_jewel_access'], ARRAY['workload'], 'high', 15, true);

-- The factors as data: rescore() computes each factor's strength in [0,1] from its
-- evidence (the mapping is fixed code, described in the strength column) and gives the
-- reason weight * strength, rounded.  Admins tune the weight with UPDATE; the builtin
-- values are the defaults (reset with UPDATE ... SET weight = default_weight).  A
-- weight is what the factor alone scores at full strength; 99 is the cap because the
-- noisy-OR never lets one reason reach 100.
CREATE TABLE correlate.risk_factor (
	name           text PRIMARY KEY,
	bit            smallint NOT NULL UNIQUE CHECK (bit BETWEEN 0 AND 14),
	weight         numeric NOT NULL,
	default_weight numeric NOT NULL CHECK (default_weight > 0 AND default_weight <= 99),
	strength       text NOT NULL CHECK (strength <> ''),
	enabled        boolean NOT NULL DEFAULT true,
	CONSTRAINT risk_factor_weight_not_nan CHECK (weight <> 'NaN'::numeric),
	CONSTRAINT risk_factor_weight_not_negative CHECK (weight >= 0),
	CONSTRAINT risk_factor_weight_cap CHECK (weight <= 99 OR weight = 'NaN'::numeric)
);
COMMENT ON TABLE correlate.risk_factor IS 'The risk factors correlate.rescore() computes: the weight in force (what the factor alone scores at full strength), its builtin default, how the evidence maps to a strength in [0,1], and whether it counts.';
COMMENT ON COLUMN correlate.risk_factor.name IS 'Factor name, as in risk_score.reasons and toxic_rule.factors.';
COMMENT ON COLUMN correlate.risk_factor.bit IS 'Bit of the factor in the compact factor sets of correlate.risk_history.';
COMMENT ON COLUMN correlate.risk_factor.weight IS 'Weight in force, in [0,99]; a reason weighs round(weight * strength). Refused: negative, NaN, above 99.';
COMMENT ON COLUMN correlate.risk_factor.default_weight IS 'The builtin weight (what a fresh install uses).';
COMMENT ON COLUMN correlate.risk_factor.strength IS 'How the evidence maps to the factor''s strength in [0,1].';
COMMENT ON COLUMN correlate.risk_factor.enabled IS 'A disabled factor gives no reasons (and so counts in no score or toxic combination).';

INSERT INTO correlate.risk_factor (name, bit, weight, default_weight, strength) VALUES
	('internet_exposure', 0, 30, 30, 'likelihood of the most likely attack path from the internet'),
	('crown_jewel_access', 1, 25, 25, 'likelihood of the most likely attack path to a crown jewel'),
	('crown_jewel', 2, 15, 15, 'the resource''s criticality (crown jewels only)'),
	('vulnerability', 3, 35, 35, 'worst open vulnerability: min(1, (2 x CVSS (or 9.5/7.5/5/2.5 by severity) + 10 if known exploited + 5 x EPSS) / 35)'),
	('exploitable_vulnerability', 4, 35, 35, 'as vulnerability, for one that is known exploited, flagged exploitable or has EPSS >= 0.5'),
	('privileged', 5, 25, 25, 'min(1, sum of the distinct privilege checks'' weights (correlate.risk_privilege_checks()) / 25)'),
	('excess_permissions', 6, 15, 15, 'min(1, 3 x unused grant patterns / 15)'),
	('unused_admin_permissions', 7, 25, 25, 'min(1, (10 + 5 x unused admin patterns + 2 x other unused patterns) / 25)'),
	('detection', 8, 30, 30, 'min(1, (10 x distinct alerting rules + 2 x repeated alerts + 5 if any is high severity) / 30), within the detection window'),
	('toxic_combination', 9, 50, 50, 'the matched toxic rule''s bonus / 50 (correlate.toxic_rule.bonus)');

CREATE TABLE correlate.risk_score (
	tenant      text NOT NULL DEFAULT correlate.current_tenant(),
	resource_id bigint NOT NULL,
	score       smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
	reasons     jsonb NOT NULL CHECK (jsonb_typeof(reasons) = 'array'),
	scored_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, resource_id),
	FOREIGN KEY (tenant, resource_id) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
);
CREATE INDEX risk_score_score_idx ON correlate.risk_score (tenant, score DESC);
COMMENT ON TABLE correlate.risk_score IS 'Risk of each resource with at least one risk factor, and why; rebuilt by correlate.rescore().';
COMMENT ON COLUMN correlate.risk_score.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.risk_score.resource_id IS 'The scored resource.';
COMMENT ON COLUMN correlate.risk_score.score IS 'Risk in [0,100]: 100 * (1 - product of (1 - weight/100)) over the reasons.';
COMMENT ON COLUMN correlate.risk_score.reasons IS 'Array of {factor, weight, detail, evidence}, heaviest first; evidence holds ids of findings, events, relationships, resources and statements.';
COMMENT ON COLUMN correlate.risk_score.scored_at IS 'When the score or its reasons last changed (a rescore that finds both the same leaves the row as it was).';

CREATE TABLE correlate.toxic_combination (
	tenant      text NOT NULL DEFAULT correlate.current_tenant(),
	id          bigint GENERATED ALWAYS AS IDENTITY,
	rule        text NOT NULL REFERENCES correlate.toxic_rule (name) ON DELETE CASCADE ON UPDATE CASCADE,
	resource_id bigint NOT NULL,
	severity    text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	reasons     jsonb NOT NULL CHECK (jsonb_typeof(reasons) = 'array'),
	evidence    jsonb NOT NULL CHECK (jsonb_typeof(evidence) = 'object'),
	first_seen  timestamptz NOT NULL DEFAULT now(),
	last_seen   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, rule, resource_id),
	FOREIGN KEY (tenant, resource_id) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
);
CREATE INDEX toxic_combination_resource_idx ON correlate.toxic_combination (tenant, resource_id);
COMMENT ON TABLE correlate.toxic_combination IS 'Toxic combinations matched by the latest rescoring: which rule, on which resource, with the reasons and evidence that made it.';
COMMENT ON COLUMN correlate.toxic_combination.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.toxic_combination.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.toxic_combination.rule IS 'The matched correlate.toxic_rule.';
COMMENT ON COLUMN correlate.toxic_combination.resource_id IS 'Resource the combination is on.';
COMMENT ON COLUMN correlate.toxic_combination.severity IS 'The rule''s severity.';
COMMENT ON COLUMN correlate.toxic_combination.reasons IS 'The risk reasons (one per factor of the rule) that matched.';
COMMENT ON COLUMN correlate.toxic_combination.evidence IS 'Union of the evidence ids of those reasons.';
COMMENT ON COLUMN correlate.toxic_combination.first_seen IS 'First rescoring that matched it (kept while it keeps matching).';
COMMENT ON COLUMN correlate.toxic_combination.last_seen IS 'Latest rescoring that matched it.';

SELECT correlate._isolate_tenants('correlate.risk_score', 'correlate.toxic_combination');

-- Evidence objects: {"findings": [...], "events": [...], ...}, empty lists left out.
CREATE FUNCTION correlate._evidence(findings bigint[] DEFAULT NULL, events bigint[] DEFAULT NULL,
	relationships bigint[] DEFAULT NULL, resources bigint[] DEFAULT NULL, statements bigint[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'correlate_evidence'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION correlate._evidence(bigint[], bigint[], bigint[], bigint[], bigint[]) IS 'Internal: an evidence object from id lists (sorted, deduplicated, empty lists omitted).';

-- The union of a JSON array of evidence objects.
CREATE FUNCTION correlate._evidence_union(evidences jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(jsonb_object_agg(s.k, s.ids), '{}')
	FROM (SELECT e.key AS k, jsonb_agg(DISTINCT x.v::bigint ORDER BY x.v::bigint) AS ids
		  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(evidences) = 'array' THEN evidences ELSE '[]' END) o(ev)
		  CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(o.ev) = 'object' THEN o.ev ELSE '{}' END) e
		  CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.value) = 'array' THEN e.value ELSE '[]' END) x(v)
		  WHERE x.v ~ '^[0-9]+$'
		  GROUP BY e.key) s;
$$;
COMMENT ON FUNCTION correlate._evidence_union(jsonb) IS 'Internal: merges an array of evidence objects into one (ids deduplicated and sorted per key).';

-- The facts a list of attack edges rests on, as an evidence object.
CREATE FUNCTION correlate._attack_evidence(edges bigint[]) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH y AS (
		SELECT a.because AS b FROM correlate.attack_edge a
		WHERE a.tenant = correlate.current_tenant() AND a.id = ANY (edges)
	), ids AS (
		SELECT k.kind, x::bigint AS id
		FROM y CROSS JOIN LATERAL (VALUES ('findings', 'findings'), ('relationships', 'relationships'),
										  ('relationships', 'exposure'), ('statements', 'statements')) k(kind, key)
		CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(y.b->k.key) = 'array'
														  THEN y.b->k.key ELSE '[]' END) x
		WHERE x ~ '^[0-9]{1,18}$'
	)
	SELECT correlate._evidence(
		findings => ARRAY(SELECT i.id FROM ids i WHERE i.kind = 'findings'),
		relationships => ARRAY(SELECT i.id FROM ids i WHERE i.kind = 'relationships'),
		statements => ARRAY(SELECT i.id FROM ids i WHERE i.kind = 'statements'))
$$;
COMMENT ON FUNCTION correlate._attack_evidence(bigint[]) IS 'Internal: the facts (relationships, findings, statements) a list of attack edges rests on, as an evidence object.';

-- Noisy-OR of weights in [0,100].
CREATE FUNCTION correlate._combine_weights(weights integer[]) RETURNS smallint
AS 'MODULE_PATHNAME', 'correlate_combine_weights'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION correlate._combine_weights(integer[]) IS 'Internal: combines reason weights into a score: 100 * (1 - product of (1 - weight/100)).';

-- Identities a principal used legitimately: its events' actions, except detector
-- alerts and events tied to an incident.
CREATE FUNCTION correlate._legitimate_actions(principal bigint, since timestamptz DEFAULT NULL)
RETURNS TABLE (action text, used bigint, events bigint[], resources text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	RETURN QUERY
	SELECT e.action, count(*), array_agg(e.id ORDER BY e.id),
		   CASE WHEN bool_and(tr.uid LIKE 'arn:%') THEN array_agg(DISTINCT tr.uid ORDER BY tr.uid) END
	FROM correlate.event e
	LEFT JOIN correlate.resource tr ON tr.tenant = t AND tr.id = e.target
	WHERE e.tenant = t AND e.actor = _legitimate_actions.principal AND e.action ~ '^[A-Za-z0-9-]+:[A-Za-z0-9*]+$'
	  AND (since IS NULL OR e.ts >= since)
	  AND e.rule IS NULL
	  AND (e.outcome IS NULL OR lower(e.outcome) IN ('success', 'succeeded', 'ok'))
	  AND NOT EXISTS (SELECT 1 FROM correlate.incident_event ie WHERE ie.tenant = t AND ie.event_id = e.id)
	GROUP BY e.action;
END
$$;
COMMENT ON FUNCTION correlate._legitimate_actions(bigint, timestamptz)
	IS 'Internal: actions a principal performed successfully, outside incidents and detector alerts, with the events and (when every event has an ARN target) the resources.';

-- One row per (resource, factor): the reasons rescore() stores.
CREATE FUNCTION correlate._risk_reasons(as_of timestamptz, detection_window interval)
RETURNS TABLE (resource_id bigint, factor text, weight integer, detail text, evidence jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	inet_id bigint := correlate.resource_id('internet');
	jewel_min real := COALESCE(NULLIF(current_setting('correlate.crown_jewel_criticality', true), '')::real, 0.8);
	on_attack boolean := COALESCE(NULLIF(current_setting('correlate.graph_layer', true), ''), 'attack') = 'attack';
	jewels bigint[];
BEGIN
	jewels := ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.criticality >= jewel_min ORDER BY r.id);

	RETURN QUERY
	WITH RECURSIVE
	res AS MATERIALIZED (
		SELECT r.id, r.kind, r.domain, r.name, r.uid, r.criticality FROM correlate.resource r
		WHERE r.tenant = t AND r.kind NOT IN ('internet', 'network:ip', 'network:cidr')
	),
	rel AS MATERIALIZED (
		SELECT l.id, l.src, l.dst, l.kind, l.likelihood FROM correlate.relationship l WHERE l.tenant = t
	),
	-- A workload's parts: its containers (pod -contains-> container, container -runs_on-> pod)
	-- and the images it or they use.
	parts AS (
		SELECT l.src AS rid, l.dst AS mid FROM rel l JOIN res m ON m.id = l.dst AND m.kind = 'container'
		WHERE l.kind = 'contains'
		UNION
		SELECT l.dst, l.src FROM rel l JOIN res m ON m.id = l.src AND m.kind = 'container'
		JOIN res p ON p.id = l.dst AND p.kind <> 'container'
		WHERE l.kind = 'runs_on'
	),
	members AS MATERIALIZED (
		SELECT r.id AS rid, r.id AS mid FROM res r
		UNION SELECT p.rid, p.mid FROM parts p
		UNION SELECT l.src, l.dst FROM rel l WHERE l.kind = 'uses_image'
		UNION SELECT p.rid, l.dst FROM parts p JOIN rel l ON l.src = p.mid AND l.kind = 'uses_image'
	),
	-- Internet exposure: the most likely path from the internet.  Each node's name and
	-- the edge from its via, looked up once per node.
	from_inet AS MATERIALIZED (
		SELECT b.resource_id, b.hops, b.likelihood, b.via, r.name,
			   CASE WHEN on_attack
					THEN (SELECT a.id FROM correlate.attack_edge a WHERE a.tenant = t AND a.src = b.via AND a.dst = b.resource_id
						  ORDER BY a.likelihood DESC, a.id LIMIT 1)
					ELSE (SELECT l.id FROM correlate.relationship l WHERE l.tenant = t AND l.src = b.via AND l.dst = b.resource_id
						  ORDER BY l.likelihood DESC, l.id LIMIT 1) END AS rel
		FROM correlate.blast_radius(ARRAY[inet_id]) b
		LEFT JOIN correlate.resource r ON r.tenant = t AND r.id = b.resource_id
		WHERE inet_id IS NOT NULL
	),
	-- Each node's path is its via's path and one more hop: every node is visited once.
	inet_walk (rid, names, rels) AS (
		SELECT f.resource_id, ARRAY[f.name], ARRAY[f.rel] FROM from_inet f WHERE f.hops > 0 AND f.via = inet_id
		UNION ALL
		SELECT f.resource_id, w.names || f.name, w.rels || f.rel
		FROM inet_walk w JOIN from_inet f ON f.via = w.rid
	),
	inet_reason AS (
		SELECT f.resource_id AS rid, 'internet_exposure'::text AS factor,
			   round(30 * f.likelihood)::integer AS weight,
			   format('reachable from the internet: internet -> %s (%s %s, likelihood %s)',
					  array_to_string(w.names, ' -> '), f.hops, CASE f.hops WHEN 1 THEN 'hop' ELSE 'hops' END,
					  round(f.likelihood::numeric, 3)) AS detail,
			   CASE WHEN on_attack THEN correlate._attack_evidence(w.rels)
					ELSE correlate._evidence(relationships => w.rels) END AS evidence
		FROM from_inet f JOIN inet_walk w ON w.rid = f.resource_id
		JOIN res r ON r.id = f.resource_id
		WHERE f.hops > 0
	),
	-- Crown jewel access: the most likely path to a crown jewel.  Each node's next hop
	-- (its via), that hop's name and the edge to it, looked up once per node.
	to_jewel AS MATERIALIZED (
		SELECT x.resource_id, x.hops, x.likelihood, x.via, v.name AS via_name,
			   CASE WHEN on_attack
					THEN (SELECT a.id FROM correlate.attack_edge a WHERE a.tenant = t AND a.src = x.resource_id AND a.dst = x.via
						  ORDER BY a.likelihood DESC, a.id LIMIT 1)
					ELSE (SELECT l.id FROM correlate.relationship l WHERE l.tenant = t AND l.src = x.resource_id AND l.dst = x.via
						  ORDER BY l.likelihood DESC, l.id LIMIT 1) END AS rel
		FROM correlate.exposure(jewels) x
		LEFT JOIN correlate.resource v ON v.tenant = t AND v.id = x.via
		WHERE cardinality(jewels) > 0
	),
	-- A node's way to its jewel is one hop to its via, then the via's way: built from
	-- the jewels outwards, every node visited once.
	jewel_walk (rid, jewel, names, rels) AS (
		SELECT x.resource_id, x.via, ARRAY[x.via_name], ARRAY[x.rel] FROM to_jewel x WHERE x.hops = 1
		UNION ALL
		SELECT x.resource_id, w.jewel, x.via_name || w.names, x.rel || w.rels
		FROM jewel_walk w JOIN to_jewel x ON x.via = w.rid
		WHERE x.hops > 1
	),
	jewel_reason AS (
		SELECT x.resource_id AS rid, 'crown_jewel_access'::text AS factor,
			   round(25 * x.likelihood)::integer AS weight,
			   format('can reach crown jewel %s: %s -> %s (%s %s, likelihood %s)',
					  w.names[cardinality(w.names)], r.name, array_to_string(w.names, ' -> '), x.hops,
					  CASE x.hops WHEN 1 THEN 'hop' ELSE 'hops' END, round(x.likelihood::numeric, 3)),
			   CASE WHEN on_attack
					THEN correlate._evidence_union(jsonb_build_array(correlate._attack_evidence(w.rels),
																	 correlate._evidence(resources => ARRAY[w.jewel])))
					ELSE correlate._evidence(relationships => w.rels, resources => ARRAY[w.jewel]) END
		FROM to_jewel x JOIN jewel_walk w ON w.rid = x.resource_id
		JOIN res r ON r.id = x.resource_id
		WHERE x.hops > 0
	),
	crown_reason AS (
		SELECT r.id AS rid, 'crown_jewel'::text AS factor, round(15 * r.criticality)::integer AS weight,
			   format('is a crown jewel (criticality %s)', round(r.criticality::numeric, 2)),
			   correlate._evidence(resources => ARRAY[r.id])
		FROM res r WHERE r.id = ANY (jewels)
	),
	-- Vulnerabilities of the resource and its parts.
	vulns AS (
		SELECT m.rid, f.id AS fid, f.check_id, f.package, f.severity, f.cvss, f.known_exploited, mr.name AS on_name,
			   (f.known_exploited OR lower(COALESCE(f.props->>'exploitable', '')) IN ('true', 'yes')
				OR COALESCE(f.epss, 0) >= 0.5) AS exploitable,
			   LEAST(35, round(2 * COALESCE(f.cvss, CASE f.severity WHEN 'critical' THEN 9.5 WHEN 'high' THEN 7.5
															WHEN 'medium' THEN 5 WHEN 'low' THEN 2.5 ELSE 0 END)
							   + CASE WHEN f.known_exploited THEN 10 ELSE 0 END + 5 * COALESCE(f.epss, 0)))::integer AS w
		FROM members m
		JOIN correlate.finding f ON f.tenant = t AND f.resource = m.mid AND f.kind = 'vulnerability' AND f.status = 'open'
		JOIN res mr ON mr.id = m.mid
	),
	vuln_reason AS (
		SELECT DISTINCT ON (v.rid) v.rid,
			   CASE WHEN v.exploitable THEN 'exploitable_vulnerability' ELSE 'vulnerability' END AS factor,
			   v.w AS weight,
			   format('%s%s on %s: %s%s%s%s', v.check_id, COALESCE(' in ' || NULLIF(v.package, ''), ''), v.on_name, v.severity,
					  ', CVSS ' || v.cvss, CASE WHEN v.known_exploited THEN ', known exploited' WHEN v.exploitable THEN ', exploitable' ELSE '' END,
					  CASE WHEN n.c > 1 THEN format(' (and %s more open)', n.c - 1) ELSE '' END),
			   correlate._evidence(findings => n.ids)
		FROM vulns v
		JOIN (SELECT x.rid, count(*) AS c, array_agg(x.fid) AS ids FROM vulns x GROUP BY x.rid) n ON n.rid = v.rid
		ORDER BY v.rid, v.exploitable DESC, v.w DESC, v.cvss DESC NULLS LAST, v.check_id, v.fid
	),
	-- Privileged, root, host-path and similar misconfigurations.
	privs AS (
		SELECT m.rid, f.id AS fid, c.weight AS w, c.description, f.check_id
		FROM members m
		JOIN correlate.finding f ON f.tenant = t AND f.resource = m.mid AND f.kind = 'misconfiguration' AND f.status = 'open'
		JOIN correlate.risk_privilege_checks() c ON lower(c.check_id) = lower(f.check_id)
	),
	priv_reason AS (
		SELECT p.rid, 'privileged'::text, LEAST(25, sum(DISTINCT p.w))::integer,
			   string_agg(DISTINCT p.description, ', '),
			   correlate._evidence(findings => array_agg(p.fid))
		FROM (SELECT DISTINCT ON (x.rid, x.description) x.* FROM privs x ORDER BY x.rid, x.description, x.w DESC) d
		JOIN privs p ON p.rid = d.rid AND p.description = d.description
		GROUP BY p.rid
	),
	-- Detector alerts on the resource or its parts within the window.
	-- (The window's alerts first, then their resources: no OR join against members.)
	alerts AS MATERIALIZED (
		SELECT e.id, e.rule, e.severity_id, e.actor, e.target FROM correlate.event e
		WHERE e.tenant = t AND (e.rule IS NOT NULL OR e.class_uid = 2004)
		  AND e.ts > as_of - detection_window AND e.ts <= as_of
	),
	dets AS (
		SELECT DISTINCT m.rid, a.id AS eid, a.rule, a.severity_id
		FROM (SELECT a.id, a.rule, a.severity_id, a.actor AS mid FROM alerts a WHERE a.actor IS NOT NULL
			  UNION
			  SELECT a.id, a.rule, a.severity_id, a.target FROM alerts a WHERE a.target IS NOT NULL) a
		JOIN members m ON m.mid = a.mid
	),
	-- Each resource's alerting rules with their counts, most frequent first.
	det_rules AS (
		SELECT z.rid, string_agg(format('%s (%s)', z.rule, z.n), ', ' ORDER BY z.n DESC, z.rule) AS rules
		FROM (SELECT y.rid, COALESCE(y.rule, 'detection finding') AS rule, count(*) AS n FROM dets y GROUP BY 1, 2) z
		GROUP BY z.rid
	),
	det_reason AS (
		SELECT d.rid, 'detection'::text,
			   LEAST(30, 10 * count(DISTINCT COALESCE(d.rule, '')) + 2 * (count(*) - count(DISTINCT COALESCE(d.rule, '')))
						 + CASE WHEN max(d.severity_id) >= 4 THEN 5 ELSE 0 END)::integer,
			   format('%s detector %s in the %s before %s: %s', count(*), CASE count(*) WHEN 1 THEN 'alert' ELSE 'alerts' END,
					  CASE WHEN extract(epoch FROM detection_window) % 86400 = 0
						   THEN (extract(epoch FROM detection_window) / 86400)::bigint || ' days'
						   ELSE round(extract(epoch FROM detection_window) / 3600, 1) || ' hours' END,
					  to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
					  min(dr.rules)),
			   correlate._evidence(events => array_agg(d.eid))
		FROM dets d JOIN det_rules dr ON dr.rid = d.rid GROUP BY d.rid
	),
	-- Grants never used legitimately, per user or role.
	idents AS (
		SELECT r.id FROM res r WHERE r.kind IN ('aws:iam:role', 'aws:iam:user')
	),
	grants AS MATERIALIZED (
		SELECT i.id AS pid, w.action AS pat, w.except_actions, w.statement
		FROM idents i CROSS JOIN LATERAL correlate.what_can(i.id) w
		WHERE w.decision IN ('allow', 'conditional', 'partial')
	),
	-- Legitimate use of every identity in one pass (the rule of _legitimate_actions).
	used AS MATERIALIZED (
		SELECT e.actor AS pid, e.action
		FROM correlate.event e JOIN idents i ON i.id = e.actor
		WHERE e.tenant = t AND e.actor IS NOT NULL AND e.action ~ '^[A-Za-z0-9-]+:[A-Za-z0-9*]+$'
		  AND e.rule IS NULL
		  AND (e.outcome IS NULL OR lower(e.outcome) IN ('success', 'succeeded', 'ok'))
		  AND NOT EXISTS (SELECT 1 FROM correlate.incident_event ie WHERE ie.tenant = t AND ie.event_id = e.id)
		GROUP BY e.actor, e.action
	),
	unused AS (
		SELECT g.pid, g.pat::text AS pat, g.statement,
			   (g.pat::text = '*' OR g.pat::text LIKE '%:*' OR g.pat::text LIKE 'iam:%'
				OR g.pat::text LIKE 'sts:AssumeRole%') AS admin
		FROM grants g
		WHERE NOT EXISTS (SELECT 1 FROM used u WHERE u.pid = g.pid AND g.pat OPERATOR(correlate.~~>) u.action
							AND (g.except_actions IS NULL OR NOT g.except_actions OPERATOR(correlate.~~>) u.action))
	),
	perm_own AS (
		SELECT u.pid,
			   CASE WHEN bool_or(u.admin) THEN 'unused_admin_permissions' ELSE 'excess_permissions' END AS factor,
			   CASE WHEN bool_or(u.admin) THEN LEAST(25, 10 + 5 * count(DISTINCT u.pat) FILTER (WHERE u.admin)
														+ 2 * count(DISTINCT u.pat) FILTER (WHERE NOT u.admin))
					ELSE LEAST(15, 3 * count(DISTINCT u.pat)) END::integer AS weight,
			   string_agg(DISTINCT u.pat, ', ') AS pats,
			   (SELECT string_agg(DISTINCT x.action, ', ') FROM used x WHERE x.pid = u.pid) AS used_actions,
			   array_agg(u.statement) AS stmts
		FROM unused u GROUP BY u.pid
	),
	-- Workloads and service accounts take on the grants of the identities they run as.
	ident_chain AS (
		SELECT l.src AS rid, l.dst AS iid, ARRAY[l.dst] AS via, ARRAY[l.id] AS rels
		FROM rel l WHERE l.kind IN ('runs_as', 'assumes')
		UNION ALL
		SELECT c.rid, l.dst, c.via || l.dst, c.rels || l.id
		FROM ident_chain c JOIN rel l ON l.src = c.iid AND l.kind = 'assumes'
		WHERE cardinality(c.via) < 3 AND NOT l.dst = ANY (c.via) AND l.dst <> c.rid
	),
	perm_reason AS (
		SELECT p.pid AS rid, p.factor, p.weight,
			   format('granted but never used legitimately: %s (used: %s)', p.pats, COALESCE(p.used_actions, 'nothing')),
			   correlate._evidence(statements => p.stmts)
		FROM perm_own p
		UNION ALL
		SELECT * FROM (
		SELECT DISTINCT ON (c.rid) c.rid, p.factor, p.weight,
			   format('runs as %s, granted but never used legitimately: %s (used: %s)',
					  (SELECT string_agg(r.name, ' -> ' ORDER BY o) FROM unnest(c.via) WITH ORDINALITY v(x, o)
					   JOIN correlate.resource r ON r.tenant = t AND r.id = v.x),
					  p.pats, COALESCE(p.used_actions, 'nothing')),
			   correlate._evidence(statements => p.stmts, relationships => c.rels, resources => ARRAY[c.iid])
		FROM ident_chain c JOIN perm_own p ON p.pid = c.iid
		JOIN res r ON r.id = c.rid
		WHERE NOT EXISTS (SELECT 1 FROM perm_own q WHERE q.pid = c.rid)
		ORDER BY c.rid, p.weight DESC, cardinality(c.via), c.iid) via_identity
	),
	all_reasons AS (
		SELECT * FROM inet_reason
		UNION ALL SELECT * FROM jewel_reason
		UNION ALL SELECT * FROM crown_reason
		UNION ALL SELECT * FROM vuln_reason
		UNION ALL SELECT * FROM priv_reason
		UNION ALL SELECT * FROM det_reason
		UNION ALL SELECT * FROM perm_reason
	)
	-- The weight in force: the builtin formula gives weight at the default, scaled to
	-- the factor's weight (exact when they are equal); a tuned weight says so.
	SELECT a.rid, a.factor, w.w, w.detail, a.evidence
	FROM all_reasons a
	JOIN correlate.risk_factor f ON f.name = a.factor AND f.enabled
	CROSS JOIN LATERAL (SELECT round(a.weight * f.weight / f.default_weight)::integer AS w,
							   CASE WHEN f.weight = f.default_weight THEN a.detail
									ELSE format('%s (factor weight %s, default %s)', a.detail,
												f.weight::float8, f.default_weight::float8) END AS detail) w
	WHERE a.weight > 0 AND w.w > 0;
END
$$;
COMMENT ON FUNCTION correlate._risk_reasons(timestamptz, interval) IS 'Internal: the risk reasons of every resource of the tenant, one row per (resource, factor).';

CREATE FUNCTION correlate.rescore(as_of timestamptz DEFAULT NULL, detection_window interval DEFAULT '7 days')
RETURNS TABLE (resources bigint, toxic_combinations bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	at timestamptz := COALESCE(as_of, now());
	n_res bigint;
	n_toxic bigint;
	n_changed bigint;
	keep_history boolean := correlate._risk_history_on();
BEGIN
	IF NOT isfinite(at) THEN
		RAISE EXCEPTION 'as_of must be a finite time'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('as_of is %s.', at);
	END IF;
	IF detection_window IS NULL OR detection_window < interval '0' THEN
		RAISE EXCEPTION 'detection_window must be a non-negative interval'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('detection_window is %s.', COALESCE(detection_window::text, 'NULL'));
	END IF;

	-- One rescoring of a tenant at a time; readers see the previous scores until commit.
	PERFORM correlate._progress_begin('rescore', 3, 'steps'), correlate._progress_phase('waiting for the tenant''s lock');
	PERFORM correlate._work_lock(t, 'rescore');
	-- Scores walk the attack graph: bring it up to date with the facts first.
	PERFORM correlate._progress_phase('deriving attack edges');
	PERFORM correlate.derive_attack_edges();
	PERFORM correlate._progress_phase('scoring', 1);

	-- One statement: the reasons are computed once, then scores and toxic combinations
	-- are replaced (upsert what holds, delete what no longer does).
	WITH reason AS MATERIALIZED (
		SELECT * FROM correlate._risk_reasons(at, detection_window)
	), toxic AS MATERIALIZED (
		-- Every factor of an enabled rule among the resource's reasons.
		SELECT tr.name AS rule, x.resource_id, tr.severity, tr.bonus, tr.description,
			   jsonb_agg(jsonb_build_object('factor', x.factor, 'weight', x.weight, 'detail', x.detail, 'evidence', x.evidence)
						 ORDER BY x.weight DESC, x.factor) AS reasons,
			   correlate._evidence_union(jsonb_agg(x.evidence)) AS evidence
		FROM correlate.toxic_rule tr
		JOIN reason x ON x.factor = ANY (tr.factors)
		JOIN correlate.resource r ON r.tenant = t AND r.id = x.resource_id
		WHERE tr.enabled AND (tr.domains IS NULL OR r.domain = ANY (tr.domains))
		GROUP BY tr.name, x.resource_id, tr.severity, tr.bonus, tr.description, tr.factors
		HAVING count(DISTINCT x.factor) = cardinality(tr.factors)
	), score AS MATERIALIZED (
		SELECT a.resource_id, correlate._combine_weights(array_agg(a.weight)) AS score,
			   jsonb_agg(jsonb_build_object('factor', a.factor, 'weight', a.weight, 'detail', a.detail, 'evidence', a.evidence)
						 ORDER BY a.weight DESC, a.factor, a.detail) AS reasons,
			   bit_or((1::smallint) << a.bit::integer) AS factors
		FROM (SELECT x.resource_id, x.factor, x.weight, x.detail, x.evidence, f.bit FROM reason x
			  JOIN correlate.risk_factor f ON f.name = x.factor
			  UNION ALL
			  -- the toxic_combination factor scales every rule's bonus alike
			  SELECT y.resource_id, 'toxic_combination', w.w,
					 CASE WHEN f.weight = f.default_weight THEN y.rule || ': ' || y.description
						  ELSE format('%s: %s (factor weight %s, default %s)', y.rule, y.description,
									  f.weight::float8, f.default_weight::float8) END,
					 y.evidence, f.bit
			  FROM toxic y JOIN correlate.risk_factor f ON f.name = 'toxic_combination' AND f.enabled
			  CROSS JOIN LATERAL (SELECT round(y.bonus * f.weight / f.default_weight)::integer AS w) w
			  WHERE w.w > 0) a
		GROUP BY a.resource_id
	), hist AS (
		-- What changed, compactly: the score and the set of factors (a bit each), only
		-- for resources whose score or factors differ from what is stored.
		INSERT INTO correlate.risk_history (tenant, resource_id, at, old_score, new_score, added, removed)
		SELECT t, c.resource_id, at, c.old_score, c.new_score, c.new_f & ~c.old_f, c.old_f & ~c.new_f
		FROM (SELECT COALESCE(x.resource_id, p.resource_id) AS resource_id, p.score AS old_score, x.score AS new_score,
					 COALESCE(x.factors, 0::smallint) AS new_f,
					 CASE WHEN p.reasons IS NULL THEN 0::smallint ELSE correlate._factor_bits(p.reasons) END AS old_f
			  FROM score x
			  FULL JOIN (SELECT s.resource_id, s.score, s.reasons FROM correlate.risk_score s WHERE s.tenant = t) p
				  ON p.resource_id = x.resource_id
			  WHERE keep_history
				AND (x.score IS DISTINCT FROM p.score
					 OR (x.reasons IS DISTINCT FROM p.reasons AND x.factors IS DISTINCT FROM correlate._factor_bits(p.reasons)))
			  OFFSET 0) c
		RETURNING 1
	), del_score AS (
		DELETE FROM correlate.risk_score s
		WHERE s.tenant = t AND NOT EXISTS (SELECT 1 FROM score x WHERE x.resource_id = s.resource_id)
		RETURNING 1
	), up_score AS (
		INSERT INTO correlate.risk_score AS s (tenant, resource_id, score, reasons, scored_at)
		SELECT t, x.resource_id, x.score, x.reasons, now() FROM score x
		ON CONFLICT (tenant, resource_id) DO UPDATE SET
			score = EXCLUDED.score, reasons = EXCLUDED.reasons, scored_at = EXCLUDED.scored_at
		-- a score that stays as it was is not rewritten: a scheduled rescore of a
		-- quiet estate then writes (and leaves for vacuum) almost nothing
		WHERE s.score IS DISTINCT FROM EXCLUDED.score OR s.reasons IS DISTINCT FROM EXCLUDED.reasons
		RETURNING 1
	), del_toxic AS (
		DELETE FROM correlate.toxic_combination c
		WHERE c.tenant = t AND NOT EXISTS (SELECT 1 FROM toxic y WHERE y.rule = c.rule AND y.resource_id = c.resource_id)
		RETURNING 1
	), up_toxic AS (
		INSERT INTO correlate.toxic_combination AS c (tenant, rule, resource_id, severity, reasons, evidence, first_seen, last_seen)
		SELECT t, y.rule, y.resource_id, y.severity, y.reasons, y.evidence, at, at FROM toxic y
		ON CONFLICT (tenant, rule, resource_id) DO UPDATE SET
			severity = EXCLUDED.severity, reasons = EXCLUDED.reasons, evidence = EXCLUDED.evidence,
			last_seen = EXCLUDED.last_seen
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM score), (SELECT count(*) FROM up_toxic), (SELECT count(*) FROM hist)
	INTO n_res, n_toxic, n_changed;

	-- Attack-path findings and the run itself (81_risk_history.sql).
	IF keep_history THEN
		PERFORM correlate._progress_phase('recording history', 2);
		PERFORM correlate._record_rescore(at, n_res, n_changed);
	END IF;
	PERFORM correlate._progress_end();

	RETURN QUERY SELECT n_res, n_toxic;
END
$$;
COMMENT ON FUNCTION correlate.rescore(timestamptz, interval)
	IS 'Recomputes the current tenant''s risk scores, reasons and toxic combinations (detections count within detection_window before as_of, default now()); returns how many resources were scored and how many toxic combinations matched.';

-- A resource of the current tenant named by id: its kind, or the error the read
-- functions raise for an id the tenant does not have.
CREATE FUNCTION correlate._require_resource(id bigint, hint text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	k text;
BEGIN
	SELECT r.kind INTO k FROM correlate.resource r WHERE r.tenant = t AND r.id = _require_resource.id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'resource % does not exist', _require_resource.id
			USING ERRCODE = 'undefined_object',
				  DETAIL = format('No resource with id %s in tenant "%s".', _require_resource.id, t),
				  HINT = hint;
	END IF;
	RETURN k;
END
$$;
COMMENT ON FUNCTION correlate._require_resource(bigint, text)
	IS 'Internal: the kind of the current tenant''s resource with this id; raises undefined_object (resource N does not exist, with the tenant in the detail and the given hint) when there is none.';

CREATE FUNCTION correlate.explain_risk(resource_id bigint)
RETURNS TABLE (factor text, weight integer, detail text, evidence text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	IF explain_risk.resource_id IS NULL THEN
		RAISE EXCEPTION 'resource_id must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM correlate._require_resource(explain_risk.resource_id, 'Look the id up with correlate.resource_id(uid).');
	RETURN QUERY
	SELECT x.r->>'factor', (x.r->>'weight')::integer, x.r->>'detail',
		   (SELECT string_agg(format('%s %s', e.key, (SELECT string_agg(v, ', ') FROM jsonb_array_elements_text(e.value) v)),
							  '; ' ORDER BY e.key)
			FROM jsonb_each(x.r->'evidence') e)
	FROM correlate.risk_score s, jsonb_array_elements(s.reasons) WITH ORDINALITY x(r, o)
	WHERE s.tenant = t AND s.resource_id = explain_risk.resource_id
	ORDER BY x.o;
END
$$;
COMMENT ON FUNCTION correlate.explain_risk(bigint)
	IS 'The reasons behind a resource''s risk score, heaviest first: factor, weight, a readable detail and the evidence ids (no rows when the resource has no risk factor or was not rescored).';

-- Scheduled rescoring with pg_cron.  The job's command is a fixed call with the
-- tenant as a quoted literal; it runs as the role that scheduled it, so it sees and
-- writes exactly what that role may.
CREATE FUNCTION correlate.run_scheduled_rescore(tenant text)
RETURNS TABLE (incidents bigint, resources bigint, toxic_combinations bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n_inc bigint;
	r record;
BEGIN
	IF run_scheduled_rescore.tenant IS NULL THEN
		RAISE EXCEPTION 'tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM set_config('correlate.tenant', run_scheduled_rescore.tenant, true);
	PERFORM correlate.current_tenant();		-- raises unless the role was granted the tenant
	SELECT count(*) INTO n_inc FROM correlate.correlate_new_events() c WHERE c.created;
	SELECT * INTO r FROM correlate.rescore();
	RETURN QUERY SELECT n_inc, r.resources, r.toxic_combinations;
END
$$;
COMMENT ON FUNCTION correlate.run_scheduled_rescore(text)
	IS 'What the pg_cron job of correlate.schedule_rescoring() runs: in the given tenant, correlate_new_events() (correlate() over what arrived since the last run) then rescore(); returns incidents created, resources scored and toxic combinations.';

-- The pg_cron jobs of the extension (rescoring here, the posture snapshot in
-- 81_risk_history.sql): one named job per kind, tenant and calling role, whose command
-- is a fixed call of run_scheduled_<kind> with the tenant as a quoted literal.
CREATE FUNCTION correlate._cron_schedule(job text, schedule text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	id bigint;
BEGIN
	IF job IS NULL OR job NOT IN ('rescore', 'posture') THEN
		RAISE EXCEPTION 'unknown job kind %', COALESCE(job, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The kinds are rescore and posture.';
	END IF;
	IF schedule IS NULL OR btrim(schedule) = '' THEN
		RAISE EXCEPTION 'schedule must not be empty'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a cron schedule such as ''*/15 * * * *''.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_extension x WHERE x.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = format('The %s job runs as a pg_cron job.', job),
				  HINT = format('Add pg_cron to shared_preload_libraries and run CREATE EXTENSION pg_cron in the database named by cron.database_name, or call correlate.run_scheduled_%s() from your own scheduler.', job);
	END IF;
	-- cron.schedule(name, ...) replaces the calling role's job of that name.
	EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO id
		USING format('correlate-%s/%s', job, t), schedule, format('SELECT * FROM correlate.run_scheduled_%s(%L)', job, t);
	RETURN id;
END
$$;
COMMENT ON FUNCTION correlate._cron_schedule(text, text)
	IS 'Internal: schedules (or replaces) the calling role''s pg_cron job correlate-<job>/<tenant> (job rescore or posture) running run_scheduled_<job>(tenant); errors when the schedule is empty or pg_cron is not installed.';

CREATE FUNCTION correlate._cron_unschedule(job text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	jobname text := format('correlate-%s/%s', job, (SELECT correlate.current_tenant()));
	found_job boolean;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension x WHERE x.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'Nothing can be scheduled without pg_cron.';
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT 1 FROM cron.job j WHERE j.jobname = $1 AND j.username = current_user)'
		INTO found_job USING jobname;
	IF found_job THEN
		EXECUTE 'SELECT cron.unschedule($1)' USING jobname;
	END IF;
	RETURN found_job;
END
$$;
COMMENT ON FUNCTION correlate._cron_unschedule(text)
	IS 'Internal: removes the calling role''s pg_cron job correlate-<job>/<tenant>; false when there was none.';

CREATE FUNCTION correlate.schedule_rescoring(schedule text DEFAULT '*/15 * * * *')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN correlate._cron_schedule('rescore', schedule);
END
$$;
COMMENT ON FUNCTION correlate.schedule_rescoring(text)
	IS 'Schedules correlate() and rescore() for the current tenant as a pg_cron job named correlate-rescore/<tenant>, run as the calling role; returns the job id. Errors when pg_cron is not installed.';

CREATE FUNCTION correlate.unschedule_rescoring()
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN correlate._cron_unschedule('rescore');
END
$$;
COMMENT ON FUNCTION correlate.unschedule_rescoring()
	IS 'Removes the calling role''s rescoring job of the current tenant; false when there was none.';

SELECT pg_catalog.pg_extension_config_dump('correlate.toxic_rule', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('correlate.risk_score', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.toxic_combination', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.toxic_combination', 'id')::regclass, '');

GRANT SELECT ON correlate.risk_factor, correlate.toxic_rule, correlate.risk_score, correlate.toxic_combination TO correlate_reader;
GRANT UPDATE (weight, enabled) ON correlate.risk_factor TO correlate_admin;
GRANT INSERT, UPDATE, DELETE ON correlate.risk_score, correlate.toxic_combination TO correlate_writer;
GRANT INSERT, UPDATE, DELETE ON correlate.toxic_rule TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate.risk_privilege_checks(), correlate.explain_risk(bigint),
	correlate._evidence(bigint[], bigint[], bigint[], bigint[], bigint[]),
	correlate._evidence_union(jsonb), correlate._combine_weights(integer[]),
	correlate._legitimate_actions(bigint, timestamptz), correlate._risk_reasons(timestamptz, interval),
	correlate._require_resource(bigint, text), correlate._attack_evidence(bigint[])
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.rescore(timestamptz, interval), correlate.run_scheduled_rescore(text),
	correlate.schedule_rescoring(text), correlate.unschedule_rescoring(),
	correlate._cron_schedule(text, text), correlate._cron_unschedule(text)
	TO correlate_writer;
