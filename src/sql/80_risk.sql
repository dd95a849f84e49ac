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

-- Tuned weights survive pg_dump / restore.  The factor rows belong to the extension
-- (CREATE EXTENSION inserts them, so a restore cannot insert them again); what an
-- admin changed is mirrored, by trigger, into risk_factor_tuning, a configuration
-- table that pg_dump dumps, and a row restored there puts the weight back.
CREATE TABLE correlate.risk_factor_tuning (
	name    text PRIMARY KEY REFERENCES correlate.risk_factor (name) ON DELETE CASCADE ON UPDATE CASCADE,
	weight  numeric NOT NULL,
	enabled boolean NOT NULL
);
COMMENT ON TABLE correlate.risk_factor_tuning IS 'The factors whose weight or enabled flag differs from the builtin, kept by trigger from correlate.risk_factor and dumped by pg_dump; a restored row sets the factor back (change weights in risk_factor, not here).';
COMMENT ON COLUMN correlate.risk_factor_tuning.name IS 'The factor.';
COMMENT ON COLUMN correlate.risk_factor_tuning.weight IS 'Its tuned weight.';
COMMENT ON COLUMN correlate.risk_factor_tuning.enabled IS 'Whether it counts.';

CREATE FUNCTION correlate._risk_factor_tuned() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_TABLE_NAME = 'risk_factor' THEN
		IF NEW.weight = NEW.default_weight AND NEW.enabled THEN
			DELETE FROM correlate.risk_factor_tuning x WHERE x.name = NEW.name;
		ELSE
			DELETE FROM correlate.risk_factor_tuning x
			WHERE x.name = NEW.name AND (x.weight IS DISTINCT FROM NEW.weight OR x.enabled IS DISTINCT FROM NEW.enabled);
			INSERT INTO correlate.risk_factor_tuning
			SELECT NEW.name, NEW.weight, NEW.enabled
			WHERE NOT EXISTS (SELECT 1 FROM correlate.risk_factor_tuning x WHERE x.name = NEW.name);
		END IF;
	ELSE
		-- a restored (or inserted) tuning: the factor takes it; its constraints check it
		UPDATE correlate.risk_factor f SET weight = NEW.weight, enabled = NEW.enabled
		WHERE f.name = NEW.name AND (f.weight IS DISTINCT FROM NEW.weight OR f.enabled IS DISTINCT FROM NEW.enabled);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION correlate._risk_factor_tuned() IS 'Internal: row trigger keeping correlate.risk_factor_tuning the set of tuned factors, and applying a restored tuning to correlate.risk_factor.';
CREATE TRIGGER risk_factor_tuned AFTER UPDATE ON correlate.risk_factor
	FOR EACH ROW EXECUTE FUNCTION correlate._risk_factor_tuned();
CREATE TRIGGER risk_factor_tuning_restored AFTER INSERT OR UPDATE ON correlate.risk_factor_tuning
	FOR EACH ROW EXECUTE FUNCTION correlate._risk_factor_tuned();
SELECT pg_catalog.pg_extension_config_dump('correlate.risk_factor_tuning', '');

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

-- The ids an attack edge's because lists under some keys.
CREATE FUNCTION correlate._because_ids(because jsonb, keys text[]) RETURNS bigint[]
AS 'MODULE_PATHNAME', 'correlate_because_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate._because_ids(jsonb, text[]) IS 'Internal: the ids (elements of 1 to 18 digits) listed under the given keys of an attack edge''s because object; NULL for none.';

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

-- Incremental rescoring.  A rescore recomputes only the resources whose reasons can
-- have changed since the tenant's last rescore, and gives exactly what a rescore from
-- scratch would (sql/risk_incremental.sql compares the two after random changes):
--
--   correlate.risk_state       per tenant, what the last rescore ran with: as_of, the
--                              detection window, a digest of the settings (factor
--                              weights, toxic rules, the crown-jewel threshold, the
--                              graph layer, the event partitions) and the highest
--                              event id it saw;
--   correlate.risk_dirty       resources written since (statement triggers on
--                              resource, relationship, finding, attack_edge, event
--                              updates and deletes, incident_event); a NULL resource
--                              (a truncate, an IAM policy change, a from-scratch
--                              attack graph) means rescore everything;
--   correlate.risk_path_state  the most likely path of each resource from the internet
--                              and to a crown jewel as the graph engine gave it (hops,
--                              likelihood, next resource, attack edge).
--
-- The resources to rescore: those logged, those with events new since the last
-- rescore (and, when as_of moved, those with alerts in the old or the new window),
-- their owners (the workload a container or image belongs to, two steps) and what
-- runs as them (three steps of runs_as / assumes), and every resource whose path
-- factor moved: the graph engine's paths are recomputed whole (one search each way),
-- compared with risk_path_state, and a changed resource passes the change to every
-- resource whose path runs through it.  Everything is rescored when there is no state
-- (first rescore, after a restore), when a setting changed, when the log says so,
-- when more than correlate.rescore_incremental_limit (a quarter) of the resources
-- would be, or with from_scratch => true.
CREATE TABLE correlate.risk_state (
	tenant           text PRIMARY KEY,
	as_of            timestamptz NOT NULL,
	detection_window interval NOT NULL,
	settings         text NOT NULL,
	last_event       bigint,
	mode             text NOT NULL CHECK (mode IN ('from scratch', 'incremental')),
	rescored         bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE correlate.risk_state IS 'Internal: what each tenant''s last rescore ran with, so the next one can rescore only what changed; no row: the next rescore starts from scratch.';
COMMENT ON COLUMN correlate.risk_state.tenant IS 'Tenant.';
COMMENT ON COLUMN correlate.risk_state.as_of IS 'The last rescore''s as_of.';
COMMENT ON COLUMN correlate.risk_state.detection_window IS 'The last rescore''s detection window.';
COMMENT ON COLUMN correlate.risk_state.settings IS 'md5 of the factor weights, toxic rules, crown-jewel threshold, graph layer and event partitions it ran with (any change: rescore from scratch).';
COMMENT ON COLUMN correlate.risk_state.last_event IS 'Highest event id it saw: events above are new to the next rescore.';
COMMENT ON COLUMN correlate.risk_state.mode IS 'How it ran: from scratch or incremental.';
COMMENT ON COLUMN correlate.risk_state.rescored IS 'Incremental: how many resources it recomputed.';

CREATE TABLE correlate.risk_dirty (
	tenant   text NOT NULL,
	resource bigint,
	other    bigint,
	what     "char" NOT NULL CHECK (what IN ('r', 'n', 'a', 'e', 'f'))
);
CREATE INDEX risk_dirty_tenant_idx ON correlate.risk_dirty (tenant);
COMMENT ON TABLE correlate.risk_dirty IS 'Internal: resources whose risk inputs were written since the tenant''s last rescore (NULL: everything may have changed).';
COMMENT ON COLUMN correlate.risk_dirty.tenant IS 'Tenant of the write.';
COMMENT ON COLUMN correlate.risk_dirty.resource IS 'The resource (r, n), the source of the edges (a, f) or the attack edge (e); NULL: rescore everything.';
COMMENT ON COLUMN correlate.risk_dirty.other IS 'The destination of the edge (a, f).';
COMMENT ON COLUMN correlate.risk_dirty.what IS 'r: an input of the resource''s reasons (its findings, events, parts, identities); n: the resource itself (name, kind, criticality...); a: the attack edges between resource and other; e: an attack edge written; f: the relationships between them (read by the path factors on the facts layer only).';

CREATE TABLE correlate.risk_path_state (
	tenant      text NOT NULL,
	toward      "char" NOT NULL CHECK (toward IN ('i', 'j')),
	resource_id bigint NOT NULL,
	hops        integer NOT NULL,
	likelihood  float8 NOT NULL,
	via         bigint,
	edge        bigint,
	PRIMARY KEY (tenant, toward, resource_id)
);
-- (tenant, via, toward), not (tenant, toward, via): a probe by resource then matches
-- more of the key than of this index, and a probe by via more of this index than of
-- the key, whatever row counts the planner believes after a rewrite.
CREATE INDEX risk_path_state_via_idx ON correlate.risk_path_state (tenant, via, toward);
COMMENT ON TABLE correlate.risk_path_state IS 'Internal: each resource''s most likely path from the internet (toward i) and to a crown jewel (toward j) as of the last rescore: what the two path factors are built from.';
COMMENT ON COLUMN correlate.risk_path_state.tenant IS 'Tenant.';
COMMENT ON COLUMN correlate.risk_path_state.toward IS 'i: from the internet (blast_radius); j: to a crown jewel (exposure).';
COMMENT ON COLUMN correlate.risk_path_state.resource_id IS 'The resource.';
COMMENT ON COLUMN correlate.risk_path_state.hops IS 'Hops of the path (0: the internet or the jewel itself).';
COMMENT ON COLUMN correlate.risk_path_state.likelihood IS 'Likelihood of the path.';
COMMENT ON COLUMN correlate.risk_path_state.via IS 'The resource before it (i) or after it (j) on the path.';
COMMENT ON COLUMN correlate.risk_path_state.edge IS 'The most likely attack edge (or relationship, on the facts layer) between it and via.';

SELECT correlate._isolate_tenants('correlate.risk_state', 'correlate.risk_dirty', 'correlate.risk_path_state');

-- The log's writer: as the owner, tenants read from the written rows (as
-- _attack_dirty_log does), only for tenants rescored at least once.
CREATE FUNCTION correlate._risk_dirty_log() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cols text;
	ends text;
	changed text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM correlate.risk_state) THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'TRUNCATE' THEN
		-- every tenant rescores from scratch
		INSERT INTO correlate.risk_dirty (tenant, resource, what) SELECT s.tenant, NULL, 'r' FROM correlate.risk_state s;
		RETURN NULL;
	END IF;
	IF TG_TABLE_NAME = 'incident_event' THEN
		-- an event tied to an incident (or freed from one) changes its actor's legitimate use
		EXECUTE format('INSERT INTO correlate.risk_dirty (tenant, resource, what) '
					   'SELECT DISTINCT x.tenant, e.actor, ''r'' FROM %s x '
					   'JOIN correlate.event e ON e.tenant = x.tenant AND e.id = x.event_id AND e.ts = x.event_ts '
					   'WHERE e.actor IS NOT NULL AND x.tenant IN (SELECT s.tenant FROM correlate.risk_state s)',
					   CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END);
		RETURN NULL;
	END IF;
	IF TG_TABLE_NAME = 'attack_edge' AND TG_OP = 'INSERT' THEN
		-- (a query naming new_rows only where the trigger has it)
		IF (SELECT count(*) > 20000 FROM new_rows) THEN
			-- a derivation from scratch: cheaper to rescore everything than to log it
			INSERT INTO correlate.risk_dirty (tenant, resource, what)
			SELECT DISTINCT n.tenant, NULL::bigint, 'r' FROM new_rows n WHERE n.tenant IN (SELECT s.tenant FROM correlate.risk_state s);
			RETURN NULL;
		END IF;
	END IF;
	IF TG_TABLE_NAME IN ('iam_statement', 'iam_attachment') THEN
		-- grants reach identities through what_can: every tenant written rescores from scratch
		EXECUTE format('INSERT INTO correlate.risk_dirty (tenant, resource, what) '
					   'SELECT DISTINCT x.tenant, NULL::bigint, ''r'' FROM (%s) x '
					   'WHERE x.tenant IN (SELECT s.tenant FROM correlate.risk_state s)',
					   CASE TG_OP WHEN 'INSERT' THEN 'SELECT tenant FROM new_rows' WHEN 'DELETE' THEN 'SELECT tenant FROM old_rows'
							ELSE 'SELECT tenant FROM new_rows UNION ALL SELECT tenant FROM old_rows' END);
		RETURN NULL;
	END IF;
	-- the columns the reasons read, and what a changed row touches: a resource (n),
	-- the reasons' inputs (r: the resource of a finding, an event's actor and target,
	-- both ends of the relationships that make a workload's parts and identities),
	-- edges (a: attack edges; f: relationships, for the facts layer); event inserts
	-- are found by id (risk_state.last_event), not logged
	CASE TG_TABLE_NAME
	WHEN 'resource' THEN
		cols := 'tenant, id, uid, kind, domain, name, account, criticality'; ends := '(x.id, NULL::bigint, ''n''::"char")';
	WHEN 'relationship' THEN
		cols := 'tenant, id, src, dst, kind, likelihood';
		-- the end whose reasons read it: the workload of a part or image, what runs as an identity
		ends := '(CASE WHEN x.kind IN (''contains'', ''uses_image'', ''runs_as'', ''assumes'') THEN x.src '
				'WHEN x.kind = ''runs_on'' THEN x.dst END, NULL::bigint, ''r''::"char"), (x.src, x.dst, ''f'')';
	WHEN 'attack_edge' THEN
		-- the pair (a better edge between them may appear) and the edge itself (its facts)
		cols := 'tenant, id, src, dst, likelihood, because'; ends := '(x.src, x.dst, ''a''::"char"), (x.id, NULL, ''e'')';
	WHEN 'finding' THEN
		cols := 'tenant, id, resource, kind, check_id, package, severity, cvss, epss, known_exploited, status, props';
		ends := '(x.resource, NULL::bigint, ''r''::"char")';
	ELSE
		cols := 'tenant, id, ts, actor, target, class_uid, severity_id, action, outcome, rule';
		ends := '(x.actor, NULL::bigint, ''r''::"char"), (x.target, NULL, ''r'')';
	END CASE;
	changed := CASE TG_OP
		WHEN 'INSERT' THEN format('SELECT %s FROM new_rows', cols)
		WHEN 'DELETE' THEN format('SELECT %s FROM old_rows', cols)
		ELSE format('(SELECT %1$s FROM new_rows EXCEPT ALL SELECT %1$s FROM old_rows) UNION ALL '
					'(SELECT %1$s FROM old_rows EXCEPT ALL SELECT %1$s FROM new_rows)', cols) END;
	EXECUTE format('INSERT INTO correlate.risk_dirty (tenant, resource, other, what) '
				   'SELECT DISTINCT x.tenant, e.id, e.other, e.what FROM (%s) x CROSS JOIN LATERAL (VALUES %s) e(id, other, what) '
				   'WHERE e.id IS NOT NULL AND x.tenant IN (SELECT s.tenant FROM correlate.risk_state s)',
				   changed, ends);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION correlate._risk_dirty_log() IS 'Internal: statement trigger that logs into risk_dirty the resources whose risk inputs a statement changed (for tenants rescored at least once).';

-- Installs the log's triggers on a table: the events given, each with the transition
-- tables it has, and TRUNCATE.
CREATE FUNCTION correlate._risk_dirty_triggers(tbl regclass, events text[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ev text;
BEGIN
	FOREACH ev IN ARRAY events LOOP
		EXECUTE format('CREATE TRIGGER risk_dirty_%s AFTER %s ON %s %s FOR EACH STATEMENT EXECUTE FUNCTION correlate._risk_dirty_log()',
					   lower(ev), ev, tbl,
					   CASE ev WHEN 'INSERT' THEN 'REFERENCING NEW TABLE AS new_rows'
							   WHEN 'UPDATE' THEN 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
							   WHEN 'DELETE' THEN 'REFERENCING OLD TABLE AS old_rows' ELSE '' END);
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER risk_dirty_%s', tbl, lower(ev));
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate._risk_dirty_triggers(regclass, text[]) IS 'Internal (install time): creates the risk_dirty_<event> statement triggers of a table.';

SELECT correlate._risk_dirty_triggers('correlate.resource', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.relationship', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.finding', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.attack_edge', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.event', ARRAY['UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.iam_statement', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']),
	   correlate._risk_dirty_triggers('correlate.iam_attachment', ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']);

-- Fresh statistics for risk_path_state after a large rewrite: the walks probe it by
-- key, and stale row counts (an empty table, or one rewritten in this transaction)
-- make the planner pick another index and scan it per step.  ANALYZE needs the
-- owner; rescore() runs as the writer.
CREATE FUNCTION correlate._risk_path_analyze() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	ANALYZE correlate.risk_path_state;
END
$$;
COMMENT ON FUNCTION correlate._risk_path_analyze() IS 'Internal (rescore()): ANALYZE of risk_path_state after a large rewrite.';

-- The path factors' inputs: the graph engine's most likely path of every resource
-- from the internet and to a crown jewel, kept in risk_path_state.  Returns the
-- resources whose path factor may have changed: those whose path (hops, likelihood,
-- next resource) differs from the stored one, that were written themselves
-- (changed: a name), or whose edge to the next resource changed (edges written
-- between the pairs pair_src -> pair_dst: another edge is now the most likely, or
-- the stored one is among edges, written), and everything whose path runs through
-- them; NULL with from_scratch (everything is rescored).
CREATE FUNCTION correlate._risk_paths(from_scratch boolean, changed bigint[], pair_src bigint[], pair_dst bigint[],
	edges bigint[])
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	inet_id bigint := correlate.resource_id('internet');
	jewel_min real := COALESCE(NULLIF(current_setting('correlate.crown_jewel_criticality', true), '')::real, 0.8);
	on_attack boolean := COALESCE(NULLIF(current_setting('correlate.graph_layer', true), ''), 'attack') = 'attack';
	jewels bigint[];
	ci bigint[];
	cj bigint[];
BEGIN
	jewels := ARRAY(SELECT r.id FROM correlate.resource r WHERE r.tenant = t AND r.criticality >= jewel_min ORDER BY r.id);
	IF from_scratch THEN
		DELETE FROM correlate.risk_path_state s WHERE s.tenant = t;
	END IF;
	WITH fresh AS MATERIALIZED (
		SELECT 'i'::"char" AS toward, b.resource_id, b.hops, b.likelihood, b.via
		FROM correlate.blast_radius(ARRAY[inet_id]) b WHERE inet_id IS NOT NULL
		UNION ALL
		SELECT 'j'::"char", x.resource_id, x.hops, x.likelihood, x.via
		FROM correlate.exposure(jewels) x WHERE cardinality(jewels) > 0
	), d AS MATERIALIZED (
		SELECT DISTINCT x AS id FROM unnest(changed) x
	), pr AS MATERIALIZED (
		SELECT DISTINCT p.s, p.d FROM unnest(pair_src, pair_dst) p(s, d)
	), cand AS MATERIALIZED (
		-- what may have changed: the path, the resource, or the edges of the pair
		SELECT COALESCE(f.toward, s.toward) AS toward, COALESCE(f.resource_id, s.resource_id) AS resource_id,
			   f.hops, f.likelihood, f.via, f.resource_id IS NULL AS gone, s.edge AS old_edge,
			   (s.resource_id IS NULL OR f.hops <> s.hops OR f.likelihood <> s.likelihood OR f.via IS DISTINCT FROM s.via
				OR f.resource_id IN (SELECT d.id FROM d)) AS moved
		FROM fresh f
		FULL JOIN (SELECT s.toward, s.resource_id, s.hops, s.likelihood, s.via, s.edge FROM correlate.risk_path_state s
				   WHERE s.tenant = t) s
			ON s.toward = f.toward AND s.resource_id = f.resource_id
		WHERE f.resource_id IS NULL OR s.resource_id IS NULL
		   OR f.hops <> s.hops OR f.likelihood <> s.likelihood OR f.via IS DISTINCT FROM s.via
		   OR f.resource_id IN (SELECT d.id FROM d)
		   OR (f.toward = 'i' AND (f.via, f.resource_id) IN (SELECT p.s, p.d FROM pr p))
		   OR (f.toward = 'j' AND (f.resource_id, f.via) IN (SELECT p.s, p.d FROM pr p))
	), looked AS MATERIALIZED (
		SELECT c.*,
			   CASE WHEN c.via IS NULL OR c.gone THEN NULL
					WHEN on_attack THEN
						(SELECT a.id FROM correlate.attack_edge a
						 WHERE a.tenant = t AND a.src = CASE c.toward WHEN 'i' THEN c.via ELSE c.resource_id END
						   AND a.dst = CASE c.toward WHEN 'i' THEN c.resource_id ELSE c.via END
						 ORDER BY a.likelihood DESC, a.id LIMIT 1)
					ELSE (SELECT l.id FROM correlate.relationship l
						  WHERE l.tenant = t AND l.src = CASE c.toward WHEN 'i' THEN c.via ELSE c.resource_id END
							AND l.dst = CASE c.toward WHEN 'i' THEN c.resource_id ELSE c.via END
						  ORDER BY l.likelihood DESC, l.id LIMIT 1) END AS edge
		FROM cand c
	), diff AS MATERIALIZED (
		SELECT x.* FROM looked x
		WHERE x.gone OR x.moved OR x.edge IS DISTINCT FROM x.old_edge OR x.old_edge IN (SELECT e FROM unnest(edges) e)
	), del AS (
		DELETE FROM correlate.risk_path_state s USING diff x
		WHERE s.tenant = t AND x.gone AND s.toward = x.toward AND s.resource_id = x.resource_id
	), up AS (
		INSERT INTO correlate.risk_path_state AS s (tenant, toward, resource_id, hops, likelihood, via, edge)
		SELECT t, x.toward, x.resource_id, x.hops, x.likelihood, x.via, x.edge
		FROM diff x WHERE NOT x.gone
		ON CONFLICT (tenant, toward, resource_id) DO UPDATE SET
			hops = EXCLUDED.hops, likelihood = EXCLUDED.likelihood, via = EXCLUDED.via, edge = EXCLUDED.edge
	)
	SELECT array_agg(x.resource_id) FILTER (WHERE x.toward = 'i'), array_agg(x.resource_id) FILTER (WHERE x.toward = 'j')
	INTO ci, cj FROM diff x;
	IF from_scratch OR COALESCE(cardinality(ci), 0) + COALESCE(cardinality(cj), 0)
					   > (SELECT count(*) FROM correlate.risk_path_state s WHERE s.tenant = t) / 10 THEN
		PERFORM correlate._risk_path_analyze();
	END IF;
	IF from_scratch THEN
		RETURN NULL;
	END IF;
	-- everything whose path runs through a changed resource (the paths as now stored)
	RETURN ARRAY(
		WITH RECURSIVE down (toward, id) AS (
			SELECT 'i'::"char", x FROM unnest(ci) x
			UNION SELECT 'j'::"char", x FROM unnest(cj) x
			UNION
			SELECT s.toward, s.resource_id FROM down w
			CROSS JOIN LATERAL (SELECT s.toward, s.resource_id FROM correlate.risk_path_state s
								WHERE s.tenant = t AND s.toward = w.toward AND s.via = w.id OFFSET 0) s
		)
		SELECT DISTINCT w.id FROM down w);
END
$$;
COMMENT ON FUNCTION correlate._risk_paths(boolean, bigint[], bigint[], bigint[], bigint[])
	IS 'Internal (rescore()): brings risk_path_state up to date with the graph engine; returns the resources whose path factors may have changed (NULL with from_scratch: all of them).';

-- The resources whose reasons read what a resource carries: the workloads it is a part
-- or an image of (two steps), and what runs as or assumes it (three steps).
CREATE FUNCTION correlate._risk_dependents(ids bigint[]) RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH b AS MATERIALIZED (
		SELECT DISTINCT x AS id FROM unnest(ids) x WHERE x IS NOT NULL
	), o1 AS MATERIALIZED (
		SELECT b.id FROM b
		UNION SELECT l.src FROM b JOIN correlate.relationship l
			ON l.tenant = correlate.current_tenant() AND l.dst = b.id AND l.kind IN ('contains', 'uses_image')
		UNION SELECT l.dst FROM b JOIN correlate.relationship l
			ON l.tenant = correlate.current_tenant() AND l.src = b.id AND l.kind = 'runs_on'
	), o2 AS MATERIALIZED (
		SELECT o.id FROM o1 o
		UNION SELECT l.src FROM o1 o JOIN correlate.relationship l
			ON l.tenant = correlate.current_tenant() AND l.dst = o.id AND l.kind IN ('contains', 'uses_image')
		UNION SELECT l.dst FROM o1 o JOIN correlate.relationship l
			ON l.tenant = correlate.current_tenant() AND l.src = o.id AND l.kind = 'runs_on'
	), c1 AS MATERIALIZED (
		SELECT o.id FROM o2 o
		UNION SELECT l.src FROM o2 o JOIN correlate.relationship l
			ON l.tenant = correlate.current_tenant() AND l.dst = o.id AND l.kind IN ('runs_as', 'assumes')
	), c2 AS MATERIALIZED (
		SELECT c.id FROM c1 c
		UNION SELECT l.src FROM c1 c JOIN correlate.relationship l
			ON l.tenant = correlate.current_tenant() AND l.dst = c.id AND l.kind IN ('runs_as', 'assumes')
	)
	SELECT ARRAY(SELECT c.id FROM c2 c
				 UNION SELECT l.src FROM c2 c JOIN correlate.relationship l
					ON l.tenant = correlate.current_tenant() AND l.dst = c.id AND l.kind IN ('runs_as', 'assumes'))
$$;
COMMENT ON FUNCTION correlate._risk_dependents(bigint[])
	IS 'Internal (rescore()): the resources given, the workloads they are parts or images of (two steps) and the resources that run as or assume those (three steps).';

-- One row per (resource, factor): the reasons rescore() stores, for the resources in
-- scope (NULL: every resource).  The path factors read risk_path_state, which
-- _risk_paths() brings up to date.
CREATE FUNCTION correlate._risk_reasons(as_of timestamptz, detection_window interval, scope bigint[] DEFAULT NULL)
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
	-- The resources in scope, and those of them that can carry reasons.
	sc AS MATERIALIZED (
		SELECT r.id, r.kind, r.domain, r.name, r.uid, r.criticality FROM correlate.resource r
		WHERE r.tenant = t AND (scope IS NULL OR r.id = ANY (scope))
	),
	res AS MATERIALIZED (
		SELECT s.id, s.kind, s.domain, s.name, s.uid, s.criticality FROM sc s
		WHERE s.kind NOT IN ('internet', 'network:ip', 'network:cidr')
	),
	-- A workload's parts: its containers (pod -contains-> container, container -runs_on-> pod)
	-- and the images it or they use.
	parts AS (
		SELECT l.src AS rid, l.dst AS mid FROM sc
		JOIN correlate.relationship l ON l.tenant = t AND l.src = sc.id AND l.kind = 'contains'
		JOIN correlate.resource m ON m.tenant = t AND m.id = l.dst AND m.kind = 'container'
		UNION
		SELECT l.dst, l.src FROM res p
		JOIN correlate.relationship l ON l.tenant = t AND l.dst = p.id AND l.kind = 'runs_on'
		JOIN correlate.resource m ON m.tenant = t AND m.id = l.src AND m.kind = 'container'
		WHERE p.kind <> 'container'
	),
	members AS MATERIALIZED (
		SELECT r.id AS rid, r.id AS mid FROM res r
		UNION SELECT p.rid, p.mid FROM parts p
		UNION SELECT l.src, l.dst FROM sc JOIN correlate.relationship l ON l.tenant = t AND l.src = sc.id AND l.kind = 'uses_image'
		UNION SELECT p.rid, l.dst FROM parts p JOIN correlate.relationship l ON l.tenant = t AND l.src = p.mid AND l.kind = 'uses_image'
	),
	-- The path factors: each resource's stored path (risk_path_state), walked from the
	-- resource towards the internet (i) or its crown jewel (j), collecting the names and
	-- the edges on the way.
	pstart AS MATERIALIZED (
		SELECT p.toward, p.resource_id, p.hops, p.likelihood, p.via, p.edge FROM correlate.risk_path_state p
		WHERE p.tenant = t AND p.hops > 0 AND (scope IS NULL OR p.resource_id IN (SELECT s.id FROM res s))
	),
	-- Each step adds the edge's facts (the attack layer: what its because lists; the
	-- facts layer: the relationship itself), looked up by id as it goes.  The next
	-- step is a probe of risk_path_state's key (OFFSET 0 keeps it one: rescore()
	-- has just rewritten the table, so the planner's row counts for it are stale).
	inet_up (rid, hops, likelihood, nxt, names, f, r, s, done, depth) AS (
		SELECT p.resource_id, p.hops, p.likelihood, p.via, ARRAY[n.name],
			   correlate._because_ids(a.because, '{findings}'),
			   CASE WHEN on_attack THEN correlate._because_ids(a.because, '{relationships,exposure}') ELSE ARRAY[p.edge] END,
			   correlate._because_ids(a.because, '{statements}'), p.via = inet_id, 1
		FROM pstart p
		LEFT JOIN correlate.resource n ON n.tenant = t AND n.id = p.resource_id
		LEFT JOIN correlate.attack_edge a ON on_attack AND a.tenant = t AND a.id = p.edge
		WHERE p.toward = 'i' AND inet_id IS NOT NULL
		UNION ALL
		SELECT u.rid, u.hops, u.likelihood, y.via, n.name || u.names,
			   u.f || correlate._because_ids(a.because, '{findings}'),
			   u.r || CASE WHEN on_attack THEN correlate._because_ids(a.because, '{relationships,exposure}') ELSE ARRAY[y.edge] END,
			   u.s || correlate._because_ids(a.because, '{statements}'), y.via = inet_id, u.depth + 1
		FROM inet_up u
		CROSS JOIN LATERAL (SELECT y.resource_id, y.via, y.edge FROM correlate.risk_path_state y
							WHERE y.tenant = t AND y.toward = 'i' AND y.resource_id = u.nxt AND y.hops > 0 OFFSET 0) y
		LEFT JOIN correlate.resource n ON n.tenant = t AND n.id = y.resource_id
		LEFT JOIN correlate.attack_edge a ON on_attack AND a.tenant = t AND a.id = y.edge
		WHERE NOT u.done AND u.depth < 1000
	),
	jewel_up (rid, hops, likelihood, nxt, jewel, names, f, r, s, done, depth) AS (
		SELECT p.resource_id, p.hops, p.likelihood, p.via, p.via, ARRAY[n.name],
			   correlate._because_ids(a.because, '{findings}'),
			   CASE WHEN on_attack THEN correlate._because_ids(a.because, '{relationships,exposure}') ELSE ARRAY[p.edge] END,
			   correlate._because_ids(a.because, '{statements}'), p.hops = 1, 1
		FROM pstart p
		LEFT JOIN correlate.resource n ON n.tenant = t AND n.id = p.via
		LEFT JOIN correlate.attack_edge a ON on_attack AND a.tenant = t AND a.id = p.edge
		WHERE p.toward = 'j'
		UNION ALL
		SELECT u.rid, u.hops, u.likelihood, y.via, y.via, u.names || n.name,
			   u.f || correlate._because_ids(a.because, '{findings}'),
			   u.r || CASE WHEN on_attack THEN correlate._because_ids(a.because, '{relationships,exposure}') ELSE ARRAY[y.edge] END,
			   u.s || correlate._because_ids(a.because, '{statements}'), y.hops = 1, u.depth + 1
		FROM jewel_up u
		CROSS JOIN LATERAL (SELECT y.via, y.hops, y.edge FROM correlate.risk_path_state y
							WHERE y.tenant = t AND y.toward = 'j' AND y.resource_id = u.nxt AND y.hops > 0 OFFSET 0) y
		LEFT JOIN correlate.resource n ON n.tenant = t AND n.id = y.via
		LEFT JOIN correlate.attack_edge a ON on_attack AND a.tenant = t AND a.id = y.edge
		WHERE NOT u.done AND u.depth < 1000
	),
	-- (joined to the resource by its index, whatever the planner guesses of the walks)
	inet_reason AS (
		SELECT u.rid, 'internet_exposure'::text AS factor,
			   round(30 * u.likelihood)::integer AS weight,
			   format('reachable from the internet: internet -> %s (%s %s, likelihood %s)',
					  array_to_string(u.names, ' -> '), u.hops, CASE u.hops WHEN 1 THEN 'hop' ELSE 'hops' END,
					  round(u.likelihood::numeric, 3)) AS detail,
			   correlate._evidence(findings => u.f, relationships => u.r, statements => u.s) AS evidence
		FROM inet_up u
		JOIN correlate.resource r ON r.tenant = t AND r.id = u.rid AND r.kind NOT IN ('internet', 'network:ip', 'network:cidr')
		WHERE u.done
	),
	jewel_reason AS (
		SELECT u.rid, 'crown_jewel_access'::text AS factor,
			   round(25 * u.likelihood)::integer AS weight,
			   format('can reach crown jewel %s: %s -> %s (%s %s, likelihood %s)',
					  u.names[cardinality(u.names)], r.name, array_to_string(u.names, ' -> '), u.hops,
					  CASE u.hops WHEN 1 THEN 'hop' ELSE 'hops' END, round(u.likelihood::numeric, 3)),
			   correlate._evidence(findings => u.f, relationships => u.r, resources => ARRAY[u.jewel], statements => u.s)
		FROM jewel_up u
		JOIN correlate.resource r ON r.tenant = t AND r.id = u.rid AND r.kind NOT IN ('internet', 'network:ip', 'network:cidr')
		WHERE u.done
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
		JOIN correlate.resource mr ON mr.tenant = t AND mr.id = m.mid AND mr.kind NOT IN ('internet', 'network:ip', 'network:cidr')
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
	-- Workloads and service accounts take on the grants of the identities they run as.
	ident_chain AS (
		SELECT l.src AS rid, l.dst AS iid, ARRAY[l.dst] AS via, ARRAY[l.id] AS rels
		FROM res r JOIN correlate.relationship l ON l.tenant = t AND l.src = r.id AND l.kind IN ('runs_as', 'assumes')
		UNION ALL
		SELECT c.rid, l.dst, c.via || l.dst, c.rels || l.id
		FROM ident_chain c JOIN correlate.relationship l ON l.tenant = t AND l.src = c.iid AND l.kind = 'assumes'
		WHERE cardinality(c.via) < 3 AND NOT l.dst = ANY (c.via) AND l.dst <> c.rid
	),
	-- Grants never used legitimately, per user or role: those in scope and those
	-- a resource in scope runs as.
	idents AS MATERIALIZED (
		SELECT r.id FROM res r WHERE r.kind IN ('aws:iam:role', 'aws:iam:user')
		UNION
		SELECT i.id FROM correlate.resource i
		WHERE scope IS NOT NULL AND i.tenant = t AND i.id IN (SELECT c.iid FROM ident_chain c)
		  AND i.kind IN ('aws:iam:role', 'aws:iam:user')
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
	perm_reason AS (
		SELECT p.pid AS rid, p.factor, p.weight,
			   format('granted but never used legitimately: %s (used: %s)', p.pats, COALESCE(p.used_actions, 'nothing')),
			   correlate._evidence(statements => p.stmts)
		FROM perm_own p
		WHERE p.pid IN (SELECT r.id FROM res r)
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
COMMENT ON FUNCTION correlate._risk_reasons(timestamptz, interval, bigint[]) IS 'Internal: the risk reasons of the tenant''s resources in scope (NULL: all), one row per (resource, factor); the path factors read risk_path_state.';

CREATE FUNCTION correlate.rescore(as_of timestamptz DEFAULT NULL, detection_window interval DEFAULT '7 days',
	from_scratch boolean DEFAULT false)
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
	st correlate.risk_state;
	settings text;
	last_ev bigint;
	everything boolean;
	dirty bigint[];
	renamed bigint[];
	psrc bigint[];
	pdst bigint[];
	written bigint[];
	edge_kind "char" := CASE WHEN COALESCE(NULLIF(current_setting('correlate.graph_layer', true), ''), 'attack') = 'attack'
							 THEN 'a' ELSE 'f' END;
	scope bigint[];
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
	IF from_scratch IS NULL THEN
		RAISE EXCEPTION 'from_scratch must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;

	-- One rescoring of a tenant at a time; readers see the previous scores until commit.
	PERFORM correlate._progress_begin('rescore', 3, 'steps'), correlate._progress_phase('waiting for the tenant''s lock');
	PERFORM correlate._work_lock(t, 'rescore');
	-- Scores walk the attack graph: bring it up to date with the facts first.
	PERFORM correlate._progress_phase('deriving attack edges');
	PERFORM correlate.derive_attack_edges();
	PERFORM correlate._progress_phase('scoring', 1);

	-- What to rescore: everything, or what changed since the last rescore (see
	-- risk_state above).  The log is taken in both cases.
	settings := md5(concat_ws('|',
		(SELECT string_agg(concat_ws(',', f.name, f.bit, f.weight, f.default_weight, f.enabled), ';' ORDER BY f.name)
		 FROM correlate.risk_factor f),
		(SELECT string_agg(concat_ws(',', r.name, r.description, r.factors, r.domains, r.severity, r.bonus, r.enabled), ';'
							ORDER BY r.name) FROM correlate.toxic_rule r),
		COALESCE(NULLIF(current_setting('correlate.crown_jewel_criticality', true), '')::real, 0.8),
		COALESCE(NULLIF(current_setting('correlate.graph_layer', true), ''), 'attack'),
		(SELECT string_agg(i.inhrelid::text, ',' ORDER BY i.inhrelid) FROM pg_inherits i
		 WHERE i.inhparent = 'correlate.event'::regclass)));
	last_ev := (SELECT max(e.id) FROM correlate.event e WHERE e.tenant = t);
	SELECT * INTO st FROM correlate.risk_state s WHERE s.tenant = t;
	WITH d AS (DELETE FROM correlate.risk_dirty x WHERE x.tenant = t RETURNING x.resource, x.other, x.what)
	SELECT COALESCE(bool_or(d.resource IS NULL AND d.what = 'r'), false),
		   array_agg(DISTINCT d.resource) FILTER (WHERE d.what IN ('r', 'n') AND d.resource IS NOT NULL),
		   array_agg(DISTINCT d.resource) FILTER (WHERE d.what = 'n'),
		   -- the two lists in step: the same filter, the same order
		   array_agg(d.resource) FILTER (WHERE d.what = edge_kind), array_agg(d.other) FILTER (WHERE d.what = edge_kind),
		   array_agg(DISTINCT d.resource) FILTER (WHERE d.what = 'e' AND edge_kind = 'a')
	INTO everything, dirty, renamed, psrc, pdst, written FROM d;
	everything := everything OR from_scratch OR st.tenant IS NULL OR st.settings <> settings
				  OR st.detection_window <> detection_window;
	IF NOT everything THEN
		-- events since the last rescore: their actors' use, their alerts' resources
		dirty := COALESCE(dirty, '{}') || ARRAY(
			SELECT DISTINCT v.id FROM correlate.event e
			CROSS JOIN LATERAL (VALUES (e.actor), (CASE WHEN e.rule IS NOT NULL OR e.class_uid = 2004 THEN e.target END)) v(id)
			WHERE e.tenant = t AND e.id > COALESCE(st.last_event, 0) AND v.id IS NOT NULL);
		-- a moved window: the alerts that entered or left it (and every alert's detail names as_of)
		IF st.as_of <> at THEN
			dirty := dirty || ARRAY(
				SELECT DISTINCT v.id FROM correlate.event e CROSS JOIN LATERAL (VALUES (e.actor), (e.target)) v(id)
				WHERE e.tenant = t AND (e.rule IS NOT NULL OR e.class_uid = 2004) AND v.id IS NOT NULL
				  AND ((e.ts > at - detection_window AND e.ts <= at)
					   OR (e.ts > st.as_of - st.detection_window AND e.ts <= st.as_of)));
		END IF;
		scope := ARRAY(SELECT DISTINCT x FROM unnest(correlate._risk_dependents(dirty)
													  || correlate._risk_paths(false, renamed, psrc, pdst, written)) x);
		everything := cardinality(scope) > (SELECT count(*) FROM correlate.resource r WHERE r.tenant = t)
					  * COALESCE(NULLIF(current_setting('correlate.rescore_incremental_limit', true), '')::float8, 0.25);
	END IF;
	IF everything THEN
		PERFORM correlate._risk_paths(true, NULL, NULL, NULL, NULL);
		scope := NULL;
	END IF;

	-- One statement: the reasons are computed once, then scores and toxic combinations
	-- are replaced (upsert what holds, delete what no longer does) for the resources in
	-- scope.
	WITH sc AS MATERIALIZED (
		SELECT x AS id FROM unnest(scope) x
	), reason AS MATERIALIZED (
		SELECT * FROM correlate._risk_reasons(at, detection_window, scope)
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
	), prev AS MATERIALIZED (
		SELECT s.resource_id, s.score, s.reasons FROM correlate.risk_score s
		WHERE s.tenant = t AND (scope IS NULL OR s.resource_id IN (SELECT sc.id FROM sc))
	), hist AS (
		-- What changed, compactly: the score and the set of factors (a bit each), only
		-- for resources whose score or factors differ from what is stored.
		INSERT INTO correlate.risk_history (tenant, resource_id, at, old_score, new_score, added, removed)
		SELECT t, c.resource_id, at, c.old_score, c.new_score, c.new_f & ~c.old_f, c.old_f & ~c.new_f
		FROM (SELECT COALESCE(x.resource_id, p.resource_id) AS resource_id, p.score AS old_score, x.score AS new_score,
					 COALESCE(x.factors, 0::smallint) AS new_f,
					 CASE WHEN p.reasons IS NULL THEN 0::smallint ELSE correlate._factor_bits(p.reasons) END AS old_f
			  FROM score x
			  FULL JOIN prev p ON p.resource_id = x.resource_id
			  WHERE keep_history
				AND (x.score IS DISTINCT FROM p.score
					 OR (x.reasons IS DISTINCT FROM p.reasons AND x.factors IS DISTINCT FROM correlate._factor_bits(p.reasons)))
			  OFFSET 0) c
		RETURNING 1
	), del_score AS (
		DELETE FROM correlate.risk_score s USING prev p
		WHERE s.tenant = t AND s.resource_id = p.resource_id AND NOT EXISTS (SELECT 1 FROM score x WHERE x.resource_id = p.resource_id)
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
		WHERE c.tenant = t AND (scope IS NULL OR c.resource_id IN (SELECT sc.id FROM sc))
		  AND NOT EXISTS (SELECT 1 FROM toxic y WHERE y.rule = c.rule AND y.resource_id = c.resource_id)
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

	IF scope IS NOT NULL THEN
		-- the combinations outside the scope still match: seen by this rescore too
		UPDATE correlate.toxic_combination c SET last_seen = at
		WHERE c.tenant = t AND c.last_seen IS DISTINCT FROM at AND NOT c.resource_id = ANY (scope);
		n_res := (SELECT count(*) FROM correlate.risk_score s WHERE s.tenant = t);
		n_toxic := (SELECT count(*) FROM correlate.toxic_combination c WHERE c.tenant = t);
	END IF;
	INSERT INTO correlate.risk_state AS s (tenant, as_of, detection_window, settings, last_event, mode, rescored)
	VALUES (t, at, detection_window, settings, last_ev, CASE WHEN scope IS NULL THEN 'from scratch' ELSE 'incremental' END,
			COALESCE(cardinality(scope), 0))
	ON CONFLICT (tenant) DO UPDATE SET as_of = EXCLUDED.as_of, detection_window = EXCLUDED.detection_window,
		settings = EXCLUDED.settings, last_event = EXCLUDED.last_event, mode = EXCLUDED.mode, rescored = EXCLUDED.rescored;

	-- Attack-path findings and the run itself (81_risk_history.sql).
	IF keep_history THEN
		PERFORM correlate._progress_phase('recording history', 2);
		PERFORM correlate._record_rescore(at, n_res, n_changed);
	END IF;
	PERFORM correlate._progress_end();

	RETURN QUERY SELECT n_res, n_toxic;
END
$$;
COMMENT ON FUNCTION correlate.rescore(timestamptz, interval, boolean)
	IS 'Recomputes the current tenant''s risk scores, reasons and toxic combinations (detections count within detection_window before as_of, default now()): only the resources whose inputs changed since the last rescore, or all of them with from_scratch (or on the first rescore, or after a change of weights, rules or settings); returns how many resources are scored and how many toxic combinations match.';

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
GRANT SELECT ON correlate.risk_factor_tuning TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.risk_score, correlate.toxic_combination TO correlate_writer;
GRANT SELECT ON correlate.risk_path_state TO correlate_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON correlate.risk_state, correlate.risk_dirty, correlate.risk_path_state TO correlate_writer;
GRANT INSERT, UPDATE, DELETE ON correlate.toxic_rule TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate.risk_privilege_checks(), correlate.explain_risk(bigint),
	correlate._evidence(bigint[], bigint[], bigint[], bigint[], bigint[]),
	correlate._evidence_union(jsonb), correlate._combine_weights(integer[]), correlate._because_ids(jsonb, text[]),
	correlate._legitimate_actions(bigint, timestamptz), correlate._risk_reasons(timestamptz, interval, bigint[]),
	correlate._require_resource(bigint, text), correlate._attack_evidence(bigint[])
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.rescore(timestamptz, interval, boolean), correlate.run_scheduled_rescore(text),
	correlate._risk_paths(boolean, bigint[], bigint[], bigint[], bigint[]), correlate._risk_dependents(bigint[]),
	correlate._risk_path_analyze(),
	correlate.schedule_rescoring(text), correlate.unschedule_rescoring(),
	correlate._cron_schedule(text, text), correlate._cron_unschedule(text)
	TO correlate_writer;
