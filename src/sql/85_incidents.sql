-- 85_incidents.sql: multi-domain correlation of events into incidents.
--
-- A correlation rule is data: a row in correlate.correlation_rule and its ordered
-- steps in correlate.correlation_step.  A step matches events by domain, OCSF
-- class, action and detector-rule patterns (globs: * and ?, case-insensitive),
-- minimum severity and target kind.  correlate.correlate() takes each event that
-- matches a rule's first step (the anchor) and looks for the following steps in
-- order, each no earlier than the previous step's first match and all within the
-- rule's time window after the anchor.  Steps chain through entity resolution:
-- an event's entities are its actor and target (or the owner of its source
-- address when it names no actor), extended along the identity chain container
-- -> pod -> service account -> IAM role (contains / runs_on, runs_as, assumes).
-- With link 'identity_chain' a step's events must share an entity with the
-- anchor's; with 'same_resource' they must share the anchor's own actor or target.
--
-- Every matching event of every step joins the incident.  Incidents are keyed by
-- (rule, anchor event), so running correlate() again creates no duplicates: it
-- adds events that arrived since and leaves the rest alone; an event already
-- inside an incident of a rule does not anchor another one of the same rule.
-- incident_event refers to events by id and time without a foreign key (events
-- live in partitions that retention drops); the timeline skips events gone.

CREATE TABLE correlate.correlation_rule (
	name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
	title       text NOT NULL CHECK (title <> '' AND length(title) <= 200),
	description text NOT NULL,
	severity    text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	time_window interval NOT NULL CHECK (time_window > interval '0' AND time_window <= interval '30 days'),
	enabled     boolean NOT NULL DEFAULT true,
	builtin     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE correlate.correlation_rule IS 'Declarative multi-step correlation rules; correlate.correlate() turns their matches into incidents.';
COMMENT ON COLUMN correlate.correlation_rule.name IS 'Rule name, lower case.';
COMMENT ON COLUMN correlate.correlation_rule.title IS 'Incident title for matches of this rule.';
COMMENT ON COLUMN correlate.correlation_rule.description IS 'What the rule detects.';
COMMENT ON COLUMN correlate.correlation_rule.severity IS 'Severity of its incidents: low, medium, high or critical.';
COMMENT ON COLUMN correlate.correlation_rule.time_window IS 'How long after the anchor event (first step) the later steps may happen (at most 30 days).';
COMMENT ON COLUMN correlate.correlation_rule.enabled IS 'Disabled rules are not evaluated.';
COMMENT ON COLUMN correlate.correlation_rule.builtin IS 'True for rules shipped with the extension (not dumped; recreated by CREATE EXTENSION).';

-- A non-empty list of non-empty glob patterns of at most 256 characters.
CREATE FUNCTION correlate._patterns_ok(patterns text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT cardinality(patterns) BETWEEN 1 AND 100
	   AND NOT EXISTS (SELECT 1 FROM unnest(patterns) p WHERE p IS NULL OR p = '' OR length(p) > 256);
$$;
COMMENT ON FUNCTION correlate._patterns_ok(text[]) IS 'Internal: whether a correlation step''s pattern list is 1 to 100 non-empty patterns of at most 256 characters.';

CREATE TABLE correlate.correlation_step (
	rule         text NOT NULL REFERENCES correlate.correlation_rule (name) ON DELETE CASCADE ON UPDATE CASCADE,
	step         integer NOT NULL CHECK (step BETWEEN 1 AND 20),
	label        text NOT NULL CHECK (label <> ''),
	domains      text[] CHECK (domains IS NULL OR (cardinality(domains) > 0 AND array_position(domains, NULL) IS NULL
							  AND domains <@ ARRAY['network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance'])),
	class_uids   integer[] CHECK (class_uids IS NULL OR (cardinality(class_uids) > 0 AND array_position(class_uids, NULL) IS NULL
							  AND 0 <= ALL (class_uids) AND 999999 >= ALL (class_uids))),
	actions      text[] CHECK (actions IS NULL OR correlate._patterns_ok(actions)),
	rules        text[] CHECK (rules IS NULL OR correlate._patterns_ok(rules)),
	min_severity smallint CHECK (min_severity BETWEEN 0 AND 6),
	target_kinds text[] CHECK (target_kinds IS NULL OR (cardinality(target_kinds) > 0 AND array_position(target_kinds, NULL) IS NULL)),
	link         text NOT NULL DEFAULT 'identity_chain' CHECK (link IN ('identity_chain', 'same_resource')),
	PRIMARY KEY (rule, step),
	CHECK (domains IS NOT NULL OR class_uids IS NOT NULL OR actions IS NOT NULL OR rules IS NOT NULL)
);
COMMENT ON TABLE correlate.correlation_step IS 'The ordered steps of a correlation rule: which events each step matches and how it links to the anchor.';
COMMENT ON COLUMN correlate.correlation_step.rule IS 'The rule the step belongs to.';
COMMENT ON COLUMN correlate.correlation_step.step IS 'Position in the rule (1 is the anchor); steps are matched in this order.';
COMMENT ON COLUMN correlate.correlation_step.label IS 'What the step stands for (shown nowhere else but documents the rule).';
COMMENT ON COLUMN correlate.correlation_step.domains IS 'Event domains that match; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.class_uids IS 'OCSF classes that match; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.actions IS 'Glob patterns (* and ?, case-insensitive) one of which the event''s action must match; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.rules IS 'Glob patterns one of which the event''s detector rule, or the title or Sigma id of one of its detections, must match; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.min_severity IS 'Minimum OCSF severity_id; NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.target_kinds IS 'Resource kinds the event''s target must have; ''internet'' also matches a destination address no resource owns. NULL for any.';
COMMENT ON COLUMN correlate.correlation_step.link IS 'identity_chain: the event shares an entity (identity chain included) with the anchor; same_resource: it names the anchor''s actor or target.';

INSERT INTO correlate.correlation_rule (name, title, description, severity, time_window, builtin) VALUES
	('workload-compromise-to-data-access',
	 'Compromised workload used its cloud identity to read data',
	 'A detector fires in a workload, the workload connects out to addresses nobody owns, its cloud role is assumed and then used to list or read data.',
	 'critical', '1 hour', true),
	('k8s-exec-then-egress',
	 'Interactive exec into a pod followed by outbound connections',
	 'Someone opens an exec session in a pod and the pod then connects to addresses nobody owns.',
	 'high', '30 minutes', true);
INSERT INTO correlate.correlation_step (rule, step, label, domains, class_uids, actions, rules, min_severity, target_kinds, link) VALUES
	('workload-compromise-to-data-access', 1, 'workload detection', ARRAY['workload'], NULL, NULL, ARRAY['*'], NULL, NULL, 'identity_chain'),
	('workload-compromise-to-data-access', 2, 'outbound connection to an unknown address', ARRAY['network'], ARRAY[4001], NULL, NULL, NULL,
	 ARRAY['internet', 'network:ip'], 'identity_chain'),
	('workload-compromise-to-data-access', 3, 'the workload''s cloud role is assumed', ARRAY['identity'], NULL,
	 ARRAY['sts:AssumeRole*'], NULL, NULL, NULL, 'identity_chain'),
	('workload-compromise-to-data-access', 4, 'data listed or read with the role', ARRAY['data'], NULL,
	 ARRAY['s3:Get*', 's3:List*', 'dynamodb:Get*', 'dynamodb:Scan', 'dynamodb:Query', 'dynamodb:BatchGet*',
		   'secretsmanager:GetSecretValue', 'ssm:GetParameter*', 'kms:Decrypt', 'rds:*Snapshot*'], NULL, NULL, NULL, 'identity_chain'),
	('k8s-exec-then-egress', 1, 'exec into a pod', ARRAY['kubernetes'], NULL, ARRAY['k8s:create pods/exec', 'k8s:get pods/exec'], NULL, NULL, NULL,
	 'identity_chain'),
	('k8s-exec-then-egress', 2, 'outbound connection to an unknown address', ARRAY['network'], ARRAY[4001], NULL, NULL, NULL,
	 ARRAY['internet', 'network:ip'], 'identity_chain');

CREATE TABLE correlate.incident (
	tenant       text NOT NULL DEFAULT correlate.current_tenant(),
	id           bigint GENERATED ALWAYS AS IDENTITY,
	rule         text NOT NULL,
	title        text NOT NULL,
	severity     text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved', 'false_positive')),
	anchor_event bigint NOT NULL,
	first_ts     timestamptz NOT NULL,
	last_ts      timestamptz NOT NULL,
	entities     bigint[] NOT NULL DEFAULT '{}',
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, rule, anchor_event),
	CHECK (first_ts <= last_ts)
);
COMMENT ON TABLE correlate.incident IS 'A match of a correlation rule: events across domains tied to the same entities within the rule''s window.';
COMMENT ON COLUMN correlate.incident.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.incident.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.incident.rule IS 'Name of the correlation rule that matched (kept if the rule is later dropped).';
COMMENT ON COLUMN correlate.incident.title IS 'The rule''s title at the time of the match.';
COMMENT ON COLUMN correlate.incident.severity IS 'The rule''s severity at the time of the match.';
COMMENT ON COLUMN correlate.incident.status IS 'open, acknowledged, resolved or false_positive (set by analysts; correlate() never changes it).';
COMMENT ON COLUMN correlate.incident.anchor_event IS 'Id of the event that matched the first step.';
COMMENT ON COLUMN correlate.incident.first_ts IS 'Time of the earliest event.';
COMMENT ON COLUMN correlate.incident.last_ts IS 'Time of the latest event.';
COMMENT ON COLUMN correlate.incident.entities IS 'Resources the anchor resolved to (its actor and target and their identity chain), sorted.';
COMMENT ON COLUMN correlate.incident.created_at IS 'When correlate() created it.';
COMMENT ON COLUMN correlate.incident.updated_at IS 'When correlate() last added events to it.';

CREATE TABLE correlate.incident_event (
	tenant   text NOT NULL DEFAULT correlate.current_tenant(),
	incident bigint NOT NULL,
	event_id bigint NOT NULL,
	event_ts timestamptz NOT NULL,
	step     integer NOT NULL CHECK (step BETWEEN 1 AND 20),
	PRIMARY KEY (tenant, incident, event_id),
	FOREIGN KEY (tenant, incident) REFERENCES correlate.incident (tenant, id) ON DELETE CASCADE
);
CREATE INDEX incident_event_event_idx ON correlate.incident_event (tenant, event_id);
COMMENT ON TABLE correlate.incident_event IS 'The events of an incident and the rule step each matched.';
COMMENT ON COLUMN correlate.incident_event.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.incident_event.incident IS 'The incident.';
COMMENT ON COLUMN correlate.incident_event.event_id IS 'The event''s id (no foreign key: event partitions are dropped by retention).';
COMMENT ON COLUMN correlate.incident_event.event_ts IS 'The event''s time, so the event is found in its partition.';
COMMENT ON COLUMN correlate.incident_event.step IS 'The rule step the event matched.';

SELECT correlate._isolate_tenants('correlate.incident', 'correlate.incident_event');

-- Glob (* any run, ? one character) to a LIKE pattern; everything else is literal.
CREATE FUNCTION correlate._glob_like(pattern text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT translate(replace(replace(replace(pattern, '\', '\\'), '%', '\%'), '_', '\_'), '*?', '%_');
$$;
COMMENT ON FUNCTION correlate._glob_like(text) IS 'Internal: a glob pattern (* and ?) as a LIKE pattern with the default escape.';

-- The entities of an event: actor and target (or the owner of the source address
-- when there is no actor), and their identity chain.
CREATE FUNCTION correlate._entity_chain(actor bigint, target bigint, src_ip inet, at timestamptz)
RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE
	t AS (SELECT correlate.current_tenant() AS t),
	start AS (
		SELECT x AS id FROM unnest(ARRAY[actor, target,
			CASE WHEN actor IS NULL AND src_ip IS NOT NULL THEN correlate.resolve_ip(src_ip, at) END]) x
		WHERE x IS NOT NULL
	),
	chain (id, depth) AS (
		SELECT s.id, 0 FROM start s
		JOIN correlate.resource r ON r.tenant = (SELECT t FROM t) AND r.id = s.id
		WHERE r.kind NOT IN ('internet', 'network:ip', 'network:cidr')
		UNION
		SELECT n.next, c.depth + 1
		FROM chain c
		CROSS JOIN LATERAL (
			-- container -> pod
			SELECT l.src AS next FROM correlate.relationship l JOIN correlate.resource p ON p.tenant = l.tenant AND p.id = l.src
			WHERE l.tenant = (SELECT t FROM t) AND l.dst = c.id AND l.kind = 'contains' AND p.kind = 'k8s:pod'
			  AND EXISTS (SELECT 1 FROM correlate.resource k WHERE k.tenant = l.tenant AND k.id = c.id AND k.kind = 'container')
			UNION ALL
			SELECT l.dst FROM correlate.relationship l JOIN correlate.resource p ON p.tenant = l.tenant AND p.id = l.dst
			WHERE l.tenant = (SELECT t FROM t) AND l.src = c.id AND l.kind = 'runs_on' AND p.kind = 'k8s:pod'
			UNION ALL
			-- workload -> identity -> assumed identity
			SELECT l.dst FROM correlate.relationship l
			WHERE l.tenant = (SELECT t FROM t) AND l.src = c.id AND l.kind IN ('runs_as', 'assumes')
		) n
		WHERE c.depth < 4
	)
	SELECT ARRAY(SELECT DISTINCT c.id FROM chain c ORDER BY c.id);
$$;
COMMENT ON FUNCTION correlate._entity_chain(bigint, bigint, inet, timestamptz)
	IS 'Internal: an event''s entities (actor, target, or the owner of its source address) and their identity chain container -> pod -> service account -> role.';

CREATE FUNCTION correlate.correlate(since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL)
RETURNS TABLE (incident_id bigint, rule text, created boolean, events integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	-- Ceiling: at most this many events of one step join one incident per run (the
	-- earliest); an anchor that would pull in more is a flood, not a story.
	max_step_events constant integer := 1000;
	max_window interval;
	r record;
	s record;
	a record;
	anchor_chain bigint[];
	anchor_own bigint[];
	prev_ts timestamptz;
	first_ts timestamptz;
	matched_ids bigint[];
	matched_ts timestamptz[];
	matched_steps integer[];
	step_ids bigint[];
	step_ts timestamptz[];
	complete boolean;
	capped boolean := false;
	inc_id bigint;
	was_new boolean;
	n_new integer;
BEGIN
	IF since IS NOT NULL AND until IS NOT NULL AND since > until THEN
		RAISE EXCEPTION 'since must not be after until'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('since is %s and until is %s.', since, until);
	END IF;
	-- One correlation run of a tenant at a time, so two runs never create the same incident.
	PERFORM correlate._work_lock(t, 'correlate');

	-- A run over all history covers every arrival its snapshot sees (arrivals that
	-- commit later stay for correlate_new_events()); this also keeps the table
	-- small for tenants that only ever run full correlations.
	IF since IS NULL AND until IS NULL THEN
		DELETE FROM correlate.event_arrival ea WHERE ea.tenant = t;
	END IF;

	-- One engine: the tenant's Sigma correlation rules (87_detection.sql) run here too,
	-- first, so that their matches (detections) can be steps of the rules below.  Each
	-- match is an incident of rule 'sigma:<id>'.
	RETURN QUERY SELECT m.incident_id, 'sigma:' || m.sigma_id, m.incident_created, m.incident_events
				 FROM correlate._correlate_sigma(since, until, false) m;

	SELECT max(cr.time_window) INTO max_window FROM correlate.correlation_rule cr WHERE cr.enabled;
	IF max_window IS NULL THEN
		RETURN;
	END IF;

	-- Set-based first: every event of the range that matches some step of an enabled
	-- rule, in one pass over the events (anchors in [since, until), later steps up to
	-- the longest window after until) ...
	IF pg_catalog.to_regclass('pg_temp.correlate_cand') IS NOT NULL THEN
		DROP TABLE pg_temp.correlate_cand;		-- left by a run caught in an exception block
	END IF;
	CREATE TEMP TABLE correlate_cand ON COMMIT DROP AS
	WITH st AS MATERIALIZED (
		SELECT cs.rule, cs.step, cs.domains, cs.class_uids, cs.min_severity, cs.target_kinds,
			   CASE WHEN cs.actions IS NOT NULL THEN ARRAY(SELECT correlate._glob_like(p) FROM unnest(cs.actions) p) END AS act_like,
			   CASE WHEN cs.rules IS NOT NULL THEN ARRAY(SELECT correlate._glob_like(p) FROM unnest(cs.rules) p) END AS rule_like
		FROM correlate.correlation_step cs JOIN correlate.correlation_rule cr ON cr.name = cs.rule
		WHERE cr.enabled
	)
	SELECT st.rule, st.step, e.id, e.ts, e.actor, e.target, e.src_ip
	FROM correlate.event e
	LEFT JOIN correlate.resource tr ON tr.tenant = t AND tr.id = e.target
	JOIN st ON (st.domains IS NULL OR e.domain = ANY (st.domains))
		   AND (st.class_uids IS NULL OR e.class_uid = ANY (st.class_uids))
		   AND (st.min_severity IS NULL OR e.severity_id >= st.min_severity)
		   AND (st.act_like IS NULL OR e.action ILIKE ANY (st.act_like))
		   AND (st.rule_like IS NULL OR e.rule ILIKE ANY (st.rule_like)
				-- a Sigma detection on the event counts as a detector alert (87_detection.sql)
				OR EXISTS (SELECT 1 FROM correlate.detection dt
						   WHERE dt.tenant = t AND dt.event_id = e.id AND dt.event_ts = e.ts
							 AND (dt.title ILIKE ANY (st.rule_like) OR dt.sigma_id ILIKE ANY (st.rule_like))))
		   AND (st.target_kinds IS NULL OR tr.kind = ANY (st.target_kinds)
				OR ('internet' = ANY (st.target_kinds) AND e.target IS NULL AND e.dst_ip IS NOT NULL
					AND correlate.resolve_ip(e.dst_ip, e.ts) IS NULL))
	WHERE e.tenant = t AND (since IS NULL OR e.ts >= since) AND (until IS NULL OR e.ts < until + max_window);
	CREATE INDEX ON correlate_cand (rule, step, ts, id);
	CREATE INDEX ON correlate_cand (id);
	CREATE INDEX ON correlate_cand (rule, step, actor, ts);
	CREATE INDEX ON correlate_cand (rule, step, target, ts);

	-- ... then the entities of each such event, from one walk of the identity chain
	-- per distinct start resource rather than one per event and anchor.
	IF pg_catalog.to_regclass('pg_temp.correlate_ent') IS NOT NULL THEN
		DROP TABLE pg_temp.correlate_ent;
	END IF;
	CREATE TEMP TABLE correlate_ent ON COMMIT DROP AS
	WITH RECURSIVE ev AS (
		SELECT DISTINCT c.id, c.ts, c.actor, c.target, c.src_ip FROM correlate_cand c
	), start AS (
		SELECT ev.id AS eid, x.rid
		FROM ev CROSS JOIN LATERAL unnest(ARRAY[ev.actor, ev.target,
			CASE WHEN ev.actor IS NULL AND ev.src_ip IS NOT NULL THEN correlate.resolve_ip(ev.src_ip, ev.ts) END]) x(rid)
		WHERE x.rid IS NOT NULL
	), roots AS (
		SELECT DISTINCT s.rid FROM start s
		JOIN correlate.resource r ON r.tenant = t AND r.id = s.rid
		WHERE r.kind NOT IN ('internet', 'network:ip', 'network:cidr')
	), chain (root, id, depth) AS (
		SELECT ro.rid, ro.rid, 0 FROM roots ro
		UNION
		SELECT c.root, n.next, c.depth + 1
		FROM chain c
		CROSS JOIN LATERAL (
			-- container -> pod
			SELECT l.src AS next FROM correlate.relationship l JOIN correlate.resource p ON p.tenant = l.tenant AND p.id = l.src
			WHERE l.tenant = t AND l.dst = c.id AND l.kind = 'contains' AND p.kind = 'k8s:pod'
			  AND EXISTS (SELECT 1 FROM correlate.resource k WHERE k.tenant = l.tenant AND k.id = c.id AND k.kind = 'container')
			UNION ALL
			SELECT l.dst FROM correlate.relationship l JOIN correlate.resource p ON p.tenant = l.tenant AND p.id = l.dst
			WHERE l.tenant = t AND l.src = c.id AND l.kind = 'runs_on' AND p.kind = 'k8s:pod'
			UNION ALL
			-- workload -> identity -> assumed identity
			SELECT l.dst FROM correlate.relationship l
			WHERE l.tenant = t AND l.src = c.id AND l.kind IN ('runs_as', 'assumes')
		) n
		WHERE c.depth < 4
	)
	-- each event's distinct entities first, then its (rule, step) rows, which are
	-- unique per event already: the distinct runs over events x entities, not over
	-- events x entities x steps
	SELECT c.rule, c.step, ee.entity, c.ts, c.id
	FROM (SELECT DISTINCT s.eid, ch.id AS entity FROM start s JOIN chain ch ON ch.root = s.rid) ee
	JOIN correlate_cand c ON c.id = ee.eid;
	CREATE INDEX ON correlate_ent (rule, step, entity, ts);
	CREATE INDEX ON correlate_ent (id);
	ANALYZE correlate_cand;
	ANALYZE correlate_ent;

	-- Then anchor by anchor, in time order: whether an anchor was already taken into an
	-- incident depends on the anchors before it.  Each step is an index probe per
	-- anchor entity within the window; an anchor whose chain does not complete costs
	-- one ordered probe per entity and step.
	FOR r IN
		SELECT cr.name, cr.title, cr.severity, cr.time_window,
			   (SELECT min(cs.step) FROM correlate.correlation_step cs WHERE cs.rule = cr.name) AS first_step
		FROM correlate.correlation_rule cr WHERE cr.enabled ORDER BY cr.name
	LOOP
		CONTINUE WHEN r.first_step IS NULL;

		-- Anchors in time order, leaving out in the same statement those for which
		-- some later step has no matching event at all within the window (the loop
		-- below checks the steps in order and in full): an anchor that cannot
		-- complete takes no events, so leaving it out changes nothing for the
		-- anchors after it, and most candidate anchors of a busy tenant are such.
		FOR a IN
			SELECT c.id, c.ts, c.actor, c.target FROM correlate_cand c
			WHERE c.rule = r.name AND c.step = r.first_step AND (until IS NULL OR c.ts < until)
			  AND NOT EXISTS (
				  SELECT 1 FROM correlate.correlation_step cs
				  WHERE cs.rule = r.name AND cs.step > r.first_step
					AND NOT CASE WHEN cs.link = 'same_resource' THEN
						EXISTS (SELECT 1 FROM correlate_cand y WHERE y.rule = r.name AND y.step = cs.step
								AND y.actor IN (c.actor, c.target)
								AND y.ts >= c.ts AND y.ts <= c.ts + r.time_window AND y.id <> c.id)
						OR EXISTS (SELECT 1 FROM correlate_cand y WHERE y.rule = r.name AND y.step = cs.step
								   AND y.target IN (c.actor, c.target)
								   AND y.ts >= c.ts AND y.ts <= c.ts + r.time_window AND y.id <> c.id)
					ELSE EXISTS (
						SELECT 1 FROM correlate_ent ax
						JOIN correlate_ent x ON x.rule = r.name AND x.step = cs.step AND x.entity = ax.entity
							 AND x.ts >= c.ts AND x.ts <= c.ts + r.time_window AND x.id <> c.id
						WHERE ax.rule = r.name AND ax.step = r.first_step AND ax.id = c.id)
					END)
			ORDER BY c.ts, c.id
		LOOP
			-- An event already inside an incident of this rule anchors no other one.
			CONTINUE WHEN EXISTS (SELECT 1 FROM correlate.incident_event ie
								  JOIN correlate.incident i ON i.tenant = ie.tenant AND i.id = ie.incident
								  WHERE ie.tenant = t AND ie.event_id = a.id AND i.rule = r.name AND i.anchor_event <> a.id);

			anchor_chain := ARRAY(SELECT DISTINCT x.entity FROM correlate_ent x
								  WHERE x.rule = r.name AND x.step = r.first_step AND x.id = a.id ORDER BY 1);
			CONTINUE WHEN cardinality(anchor_chain) = 0;
			anchor_own := ARRAY(SELECT x FROM unnest(ARRAY[a.actor, a.target]) x WHERE x IS NOT NULL);

			-- Whether the chain completes, before collecting anything: the earliest match
			-- of each later step is one ordered index probe per anchor entity.  Most
			-- anchors fail here, cheaply.
			prev_ts := a.ts;
			complete := true;
			FOR s IN SELECT cs.step, cs.link FROM correlate.correlation_step cs
					 WHERE cs.rule = r.name AND cs.step > r.first_step ORDER BY cs.step LOOP
				IF s.link = 'same_resource' THEN
					SELECT min(m.ts) INTO first_ts
					FROM unnest(anchor_own) o(x)
					CROSS JOIN LATERAL (
						(SELECT c.ts FROM correlate_cand c
						 WHERE c.rule = r.name AND c.step = s.step AND c.actor = o.x
						   AND c.ts >= prev_ts AND c.ts <= a.ts + r.time_window AND c.id <> a.id
						 ORDER BY c.ts LIMIT 1)
						UNION ALL
						(SELECT c.ts FROM correlate_cand c
						 WHERE c.rule = r.name AND c.step = s.step AND c.target = o.x
						   AND c.ts >= prev_ts AND c.ts <= a.ts + r.time_window AND c.id <> a.id
						 ORDER BY c.ts LIMIT 1)) m;
				ELSE
					SELECT min(m.ts) INTO first_ts
					FROM unnest(anchor_chain) en(x)
					CROSS JOIN LATERAL (
						SELECT x.ts FROM correlate_ent x
						WHERE x.rule = r.name AND x.step = s.step AND x.entity = en.x
						  AND x.ts >= prev_ts AND x.ts <= a.ts + r.time_window AND x.id <> a.id
						ORDER BY x.ts LIMIT 1) m;
				END IF;
				IF first_ts IS NULL THEN
					complete := false;
					EXIT;
				END IF;
				prev_ts := first_ts;
			END LOOP;
			CONTINUE WHEN NOT complete;

			-- Complete: collect every matching event of every step.
			prev_ts := a.ts;
			matched_ids := ARRAY[a.id];
			matched_ts := ARRAY[a.ts];
			matched_steps := ARRAY[r.first_step];
			complete := true;

			FOR s IN SELECT cs.step, cs.link FROM correlate.correlation_step cs WHERE cs.rule = r.name ORDER BY cs.step LOOP
				IF s.link = 'same_resource' THEN
					SELECT COALESCE(array_agg(m.id ORDER BY m.ts, m.id), '{}'), COALESCE(array_agg(m.ts ORDER BY m.ts, m.id), '{}')
					INTO step_ids, step_ts
					FROM (SELECT c.id, c.ts FROM correlate_cand c
						  WHERE c.rule = r.name AND c.step = s.step AND c.ts >= prev_ts AND c.ts <= a.ts + r.time_window
							AND c.id <> a.id AND (c.actor = ANY (anchor_own) OR c.target = ANY (anchor_own))
						  ORDER BY c.ts, c.id LIMIT max_step_events + 1) m;
				ELSE
					SELECT COALESCE(array_agg(m.id ORDER BY m.ts, m.id), '{}'), COALESCE(array_agg(m.ts ORDER BY m.ts, m.id), '{}')
					INTO step_ids, step_ts
					FROM (SELECT DISTINCT x.id, x.ts FROM correlate_ent x
						  WHERE x.rule = r.name AND x.step = s.step AND x.entity = ANY (anchor_chain)
							AND x.ts >= prev_ts AND x.ts <= a.ts + r.time_window AND x.id <> a.id
						  ORDER BY x.ts, x.id LIMIT max_step_events + 1) m;
				END IF;
				IF cardinality(step_ids) > max_step_events THEN
					step_ids := step_ids[1:max_step_events];
					step_ts := step_ts[1:max_step_events];
					capped := true;
				END IF;
				IF s.step > r.first_step THEN
					IF cardinality(step_ids) = 0 THEN
						complete := false;
						EXIT;
					END IF;
					prev_ts := step_ts[1];
				END IF;
				matched_ids := matched_ids || step_ids;
				matched_ts := matched_ts || step_ts;
				matched_steps := matched_steps || array_fill(s.step, ARRAY[cardinality(step_ids)]);
			END LOOP;
			CONTINUE WHEN NOT complete;

			INSERT INTO correlate.incident AS i (tenant, rule, title, severity, anchor_event, first_ts, last_ts, entities)
			SELECT t, r.name, r.title, r.severity, a.id, min(x), max(x), anchor_chain FROM unnest(matched_ts) x
			ON CONFLICT (tenant, rule, anchor_event) DO UPDATE SET
				first_ts = LEAST(i.first_ts, EXCLUDED.first_ts), last_ts = GREATEST(i.last_ts, EXCLUDED.last_ts)
			RETURNING i.id, (i.xmax = 0) INTO inc_id, was_new;

			-- An event matching two steps keeps the earlier one.
			INSERT INTO correlate.incident_event (tenant, incident, event_id, event_ts, step)
			SELECT DISTINCT ON (m.id) t, inc_id, m.id, m.ts, m.step
			FROM unnest(matched_ids, matched_ts, matched_steps) m(id, ts, step)
			ORDER BY m.id, m.step
			ON CONFLICT DO NOTHING;
			GET DIAGNOSTICS n_new = ROW_COUNT;
			IF n_new > 0 AND NOT was_new THEN
				UPDATE correlate.incident i SET updated_at = now() WHERE i.tenant = t AND i.id = inc_id;
			END IF;

			incident_id := inc_id;
			rule := r.name;
			created := was_new;
			events := n_new;
			RETURN NEXT;
		END LOOP;
	END LOOP;

	IF capped THEN
		RAISE WARNING 'correlate() kept the first % events of a step of some incidents', max_step_events
			USING DETAIL = 'A rule step matched more events of one incident''s entities within the window than that.',
				  HINT = 'Tighten the rule''s steps or window; run correlate() again to add the events that arrive later.';
	END IF;
	DROP TABLE pg_temp.correlate_ent;
	DROP TABLE pg_temp.correlate_cand;
END
$$;
COMMENT ON FUNCTION correlate.correlate(timestamptz, timestamptz)
	IS 'Runs every enabled correlation rule over the current tenant''s events whose anchor (first step) falls in [since, until) (NULL: unbounded) and creates or extends incidents; idempotent. Returns one row per incident matched, whether it was created and how many events it gained. At most 1000 events of one step join an incident per run.';

CREATE TABLE correlate.correlation_watermark (
	tenant        text PRIMARY KEY DEFAULT correlate.current_tenant(),
	last_event_id bigint NOT NULL,
	last_event_ts timestamptz NOT NULL,
	correlated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE correlate.correlation_watermark IS 'How far correlate.correlate_new_events() has correlated each tenant''s events.';
COMMENT ON COLUMN correlate.correlation_watermark.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.correlation_watermark.last_event_id IS 'Highest event id the last run saw; events above it are new to the next run.';
COMMENT ON COLUMN correlate.correlation_watermark.last_event_ts IS 'Latest event time the last run saw.';
COMMENT ON COLUMN correlate.correlation_watermark.correlated_at IS 'When the last run committed.';
SELECT correlate._isolate_tenants('correlate.correlation_watermark');

-- What committed since the last incremental run, whatever its ids.  Event ids are
-- taken when a row is inserted, not when its transaction commits: an ingest that
-- commits after a correlate_new_events() run can hold ids below the watermark that
-- run set, and "id above the watermark" alone would never see those events.  So
-- every writer of events also leaves, in its own transaction, one row per tenant and
-- transaction with the earliest event time it stored; the row becomes visible with
-- the events, and the next run consumes it.
CREATE TABLE correlate.event_arrival (
	tenant   text NOT NULL DEFAULT correlate.current_tenant(),
	xact     xid8 NOT NULL DEFAULT pg_current_xact_id(),
	first_ts timestamptz NOT NULL,
	events   bigint NOT NULL CHECK (events > 0),
	PRIMARY KEY (tenant, xact)
);
COMMENT ON TABLE correlate.event_arrival IS 'Events stored since the last correlate.correlate_new_events() run, one row per tenant and writing transaction; that run consumes them.';
COMMENT ON COLUMN correlate.event_arrival.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.event_arrival.xact IS 'Transaction that stored the events.';
COMMENT ON COLUMN correlate.event_arrival.first_ts IS 'Earliest time among the events it stored.';
COMMENT ON COLUMN correlate.event_arrival.events IS 'How many events it stored.';
SELECT correlate._isolate_tenants('correlate.event_arrival');

CREATE FUNCTION correlate._note_arrival(first_ts timestamptz, events bigint) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO correlate.event_arrival AS a (tenant, xact, first_ts, events)
	SELECT correlate.current_tenant(), pg_catalog.pg_current_xact_id(), first_ts, events
	WHERE events > 0
	ON CONFLICT (tenant, xact) DO UPDATE SET
		first_ts = LEAST(a.first_ts, EXCLUDED.first_ts),
		events   = a.events + EXCLUDED.events;
$$;
COMMENT ON FUNCTION correlate._note_arrival(timestamptz, bigint)
	IS 'Internal to the event writers: records that this transaction stored events of the current tenant from first_ts on, for correlate_new_events().';

-- Incremental correlation for the scheduled job.  New events are those with an id
-- above the watermark or an arrival committed since the last run (so late
-- arrivals count, whatever their time or id); anchors are
-- re-examined from the earliest new event, or the previous watermark time if that
-- is earlier, minus the longest enabled rule window, which catches every chain a new
-- event can complete or extend, including chains that straddle the watermark.
-- correlate() is idempotent, so the overlap costs time, never duplicates.
CREATE FUNCTION correlate.correlate_new_events()
RETURNS TABLE (incident_id bigint, rule text, created boolean, events integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
	wm correlate.correlation_watermark;
	max_window interval;
	top_id bigint;
	top_ts timestamptz;
	new_min timestamptz;
	arrived timestamptz;
	lo timestamptz;
BEGIN
	-- The lock correlate() takes, held from before the watermark is read.
	PERFORM correlate._work_lock(t, 'correlate');

	SELECT * INTO wm FROM correlate.correlation_watermark w WHERE w.tenant = t;
	-- Arrivals committed since the last run (this run's snapshot sees exactly the
	-- ones it consumes; later commits stay for the next run).
	WITH gone AS (
		DELETE FROM correlate.event_arrival a WHERE a.tenant = t RETURNING a.first_ts
	)
	SELECT min(g.first_ts) INTO arrived FROM gone g;
	SELECT max(e.id), max(e.ts) INTO top_id, top_ts FROM correlate.event e WHERE e.tenant = t;
	IF top_id IS NULL THEN
		RETURN;
	END IF;
	IF wm.tenant IS NOT NULL THEN
		-- new: above the watermark (any writer), or arrived (committed after the last run)
		SELECT min(e.ts) INTO new_min FROM correlate.event e WHERE e.tenant = t AND e.id > wm.last_event_id;
		new_min := LEAST(new_min, arrived);
		IF new_min IS NULL THEN
			RETURN;			-- nothing new
		END IF;
		SELECT max(cr.time_window) INTO max_window FROM correlate.correlation_rule cr WHERE cr.enabled;
		-- and the Sigma correlation rules' timespans (87_detection.sql), which correlate() runs too
		SELECT GREATEST(max_window, max(make_interval(secs => (dr.correlation->>'timespan_s')::float8))) INTO max_window
		FROM correlate.detection_rule dr
		WHERE dr.tenant = t AND dr.enabled AND dr.correlation ? 'timespan_s';
		lo := LEAST(new_min, wm.last_event_ts) - COALESCE(max_window, interval '0');
	END IF;

	RETURN QUERY SELECT * FROM correlate.correlate(since => lo);

	INSERT INTO correlate.correlation_watermark AS w (tenant, last_event_id, last_event_ts, correlated_at)
	VALUES (t, top_id, top_ts, now())
	ON CONFLICT (tenant) DO UPDATE SET
		last_event_id = GREATEST(w.last_event_id, EXCLUDED.last_event_id),
		last_event_ts = GREATEST(w.last_event_ts, EXCLUDED.last_event_ts),
		correlated_at = EXCLUDED.correlated_at;
END
$$;
COMMENT ON FUNCTION correlate.correlate_new_events()
	IS 'correlate() over what is new since the last call (all history the first time): anchors from the earliest new event (above the watermark, or committed since the last call) minus the longest rule window; then moves the tenant''s watermark. What the scheduled job runs.';

-- OCSF class names for the classes correlate's ingesters write.
CREATE FUNCTION correlate.ocsf_class_name(class_uid integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE class_uid
		WHEN 1001 THEN 'File System Activity' WHEN 1002 THEN 'Kernel Extension Activity'
		WHEN 1003 THEN 'Kernel Activity' WHEN 1004 THEN 'Memory Activity' WHEN 1005 THEN 'Module Activity'
		WHEN 1006 THEN 'Scheduled Job Activity' WHEN 1007 THEN 'Process Activity'
		WHEN 2001 THEN 'Security Finding' WHEN 2002 THEN 'Vulnerability Finding' WHEN 2003 THEN 'Compliance Finding'
		WHEN 2004 THEN 'Detection Finding'
		WHEN 3001 THEN 'Account Change' WHEN 3002 THEN 'Authentication' WHEN 3003 THEN 'Authorize Session'
		WHEN 3004 THEN 'Entity Management' WHEN 3005 THEN 'User Access Management' WHEN 3006 THEN 'Group Management'
		WHEN 4001 THEN 'Network Activity' WHEN 4002 THEN 'HTTP Activity' WHEN 4003 THEN 'DNS Activity'
		WHEN 4004 THEN 'DHCP Activity' WHEN 4005 THEN 'RDP Activity' WHEN 4006 THEN 'SMB Activity'
		WHEN 4007 THEN 'SSH Activity' WHEN 4008 THEN 'FTP Activity' WHEN 4009 THEN 'Email Activity'
		WHEN 5001 THEN 'Device Inventory Info' WHEN 5002 THEN 'Device Config State'
		WHEN 6001 THEN 'Web Resources Activity' WHEN 6002 THEN 'Application Lifecycle'
		WHEN 6003 THEN 'API Activity' WHEN 6004 THEN 'Web Resource Access Activity' WHEN 6005 THEN 'Datastore Activity'
		ELSE 'class ' || class_uid END;
$$;
COMMENT ON FUNCTION correlate.ocsf_class_name(integer) IS 'The OCSF 1.x name of a class_uid (''class N'' for classes it does not know).';

CREATE FUNCTION correlate.incident_timeline(incident_id bigint)
RETURNS TABLE (ts timestamptz, domain text, class text, actor text, target text, action text, summary text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := (SELECT correlate.current_tenant());
BEGIN
	IF incident_timeline.incident_id IS NULL THEN
		RAISE EXCEPTION 'incident_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM correlate.incident i WHERE i.tenant = t AND i.id = incident_timeline.incident_id) THEN
		RAISE EXCEPTION 'incident % does not exist', incident_timeline.incident_id
			USING ERRCODE = 'undefined_object',
				  DETAIL = format('No incident with id %s in tenant "%s".', incident_timeline.incident_id, t),
				  HINT = 'List incidents with SELECT id, title FROM correlate.incident; run correlate.correlate() to create them.';
	END IF;
	RETURN QUERY
	SELECT e.ts, e.domain, correlate.ocsf_class_name(e.class_uid),
		   COALESCE(ar.name, ar.uid, host(e.src_ip)),
		   COALESCE(CASE WHEN tr.kind = 'internet' AND e.dst_ip IS NOT NULL THEN NULL ELSE COALESCE(tr.name, tr.uid) END,
					host(e.dst_ip) || COALESCE(':' || e.dst_port, '')),
		   e.action,
		   concat_ws(' ',
			   CASE WHEN e.rule IS NOT NULL THEN e.rule || ':' END,
			   CASE WHEN e.process IS NOT NULL THEN e.process || CASE WHEN e.command_line IS NOT NULL AND e.command_line <> e.process
																	  THEN ' (' || e.command_line || ')' ELSE '' END END,
			   CASE WHEN e.src_ip IS NOT NULL AND e.dst_ip IS NOT NULL
					THEN host(e.src_ip) || ' -> ' || host(e.dst_ip) || COALESCE(':' || e.dst_port, '') END,
			   CASE WHEN e.rule IS NULL AND e.action IS NOT NULL AND (e.src_ip IS NULL OR e.dst_ip IS NULL)
					THEN e.action || COALESCE(' ' || COALESCE(tr.name, tr.uid), '')
						 || COALESCE(' by ' || COALESCE(ar.name, ar.uid), '') || COALESCE(' from ' || host(e.src_ip), '') END,
			   CASE WHEN e.rule IS NULL AND e.outcome IS NOT NULL THEN '[' || e.outcome || ']' END)
	FROM correlate.incident_event ie
	JOIN correlate.event e ON e.tenant = ie.tenant AND e.id = ie.event_id AND e.ts = ie.event_ts
	LEFT JOIN correlate.resource ar ON ar.tenant = e.tenant AND ar.id = e.actor
	LEFT JOIN correlate.resource tr ON tr.tenant = e.tenant AND tr.id = e.target
	WHERE ie.tenant = t AND ie.incident = incident_timeline.incident_id
	ORDER BY e.ts, e.id;
END
$$;
COMMENT ON FUNCTION correlate.incident_timeline(bigint)
	IS 'The events of an incident in time order across domains: time, domain, OCSF class, actor, target, action and a one-line summary.';

SELECT pg_catalog.pg_extension_config_dump('correlate.correlation_rule', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('correlate.correlation_step',
	'WHERE rule NOT IN (SELECT r.name FROM correlate.correlation_rule r WHERE r.builtin)');
SELECT pg_catalog.pg_extension_config_dump('correlate.incident', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.incident_event', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.correlation_watermark', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.event_arrival', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.incident', 'id')::regclass, '');

GRANT SELECT ON correlate.correlation_rule, correlate.correlation_step, correlate.incident, correlate.incident_event,
	correlate.correlation_watermark, correlate.event_arrival
	TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.incident, correlate.incident_event, correlate.correlation_watermark,
	correlate.event_arrival TO correlate_writer;
GRANT INSERT, UPDATE, DELETE ON correlate.correlation_rule, correlate.correlation_step TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate._patterns_ok(text[]), correlate._glob_like(text), correlate._entity_chain(bigint, bigint, inet, timestamptz),
	correlate.ocsf_class_name(integer),
	correlate.incident_timeline(bigint)
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.correlate(timestamptz, timestamptz), correlate.correlate_new_events(),
	correlate._note_arrival(timestamptz, bigint) TO correlate_writer;
