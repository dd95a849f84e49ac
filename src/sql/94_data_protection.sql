-- 94_data_protection.sql: data protection (docs/data-protection.md).
--
--   retention         per tenant and data class (events, raw payloads, rejects,
--                     closed incidents), default and per source, enforced by
--                     apply_retention() (a pg_cron job: schedule_retention()).
--   pseudonymisation  per tenant and format, rules naming JSON paths to store as
--                     keyed hashes or to drop; applied in C at ingest
--                     (src/ingest/pseudonym*.c) before anything is stored; the
--                     key is readable by no role; reidentify() is admin-only and
--                     audited.
--   correlation scopes  an audited grant letting a role run named read
--                     functions over a set of tenants; every such read is logged.
--   data_inventory()  the personal data each tenant stores, where, for how long
--                     and under which policy (GDPR Art. 30 record basis).
--
-- Functions that cross tenants (apply_retention, the scoped_* readers,
-- reidentify) are SECURITY DEFINER, take no SQL text and check their caller
-- themselves.  The caller is the session's role (SET ROLE, else the session
-- user), which a SECURITY DEFINER function still sees: correlate._caller().

CREATE FUNCTION correlate._caller() RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN current_setting('role') = 'none' THEN session_user
				ELSE current_setting('role')::name END;
$$;
COMMENT ON FUNCTION correlate._caller() IS 'Internal: the role that called (SET ROLE, else the session user), also inside a SECURITY DEFINER function.';

-- ---- retention -----------------------------------------------------------------

CREATE TABLE correlate.retention_policy (
	tenant     text NOT NULL DEFAULT correlate.current_tenant(),
	data_class text NOT NULL CHECK (data_class IN ('events', 'raw', 'rejects', 'incidents')),
	source     text NOT NULL DEFAULT '*' CHECK (source ~ '^(\*|[a-z0-9_.:-]{1,64})$'),
	keep       interval NOT NULL CHECK (keep > interval '0'),
	set_by     name NOT NULL DEFAULT CURRENT_USER,
	set_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, data_class, source),
	CHECK (data_class <> 'incidents' OR source = '*')
);
COMMENT ON TABLE correlate.retention_policy IS 'How long each tenant keeps each class of data, by default (source *) and per source; enforced by correlate.apply_retention().';
COMMENT ON COLUMN correlate.retention_policy.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.retention_policy.data_class IS 'events (event rows), raw (event.raw payloads), rejects (ingest_reject rows), incidents (resolved or false-positive incidents, by last_ts).';
COMMENT ON COLUMN correlate.retention_policy.source IS 'Event source / ingest format the period applies to, or * for every source without its own row.';
COMMENT ON COLUMN correlate.retention_policy.keep IS 'Rows older than this (by event time; rejects by rejection time) are removed.';
COMMENT ON COLUMN correlate.retention_policy.set_by IS 'Role that set the period.';
COMMENT ON COLUMN correlate.retention_policy.set_at IS 'When the period was set.';
SELECT correlate._isolate_tenants('correlate.retention_policy');

CREATE FUNCTION correlate.set_retention(data_class text, keep interval, source text DEFAULT '*')
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
	IF data_class IS NULL OR data_class NOT IN ('events', 'raw', 'rejects', 'incidents') THEN
		RAISE EXCEPTION 'invalid data class "%"', data_class
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid data classes are: events, raw, rejects, incidents.';
	END IF;
	IF keep IS NULL OR keep <= interval '0' THEN
		RAISE EXCEPTION 'keep must be a positive interval, not %', COALESCE(keep::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Remove a period with correlate.clear_retention().';
	END IF;
	IF source IS NULL OR source !~ '^(\*|[a-z0-9_.:-]{1,64})$' THEN
		RAISE EXCEPTION 'invalid source "%"', source
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give an event source such as cloudtrail, or * for the default.';
	END IF;
	IF data_class = 'incidents' AND source <> '*' THEN
		RAISE EXCEPTION 'incidents have one period per tenant, not one per source'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO correlate.retention_policy AS p (tenant, data_class, source, keep)
	VALUES (correlate.current_tenant(), set_retention.data_class, set_retention.source, set_retention.keep)
	ON CONFLICT (tenant, data_class, source)
	DO UPDATE SET keep = EXCLUDED.keep, set_by = CURRENT_USER, set_at = now();
END
$$;
COMMENT ON FUNCTION correlate.set_retention(text, interval, text)
	IS 'Sets how long the current tenant keeps a data class (events, raw, rejects, incidents), by default (source *) or for one source.';

CREATE FUNCTION correlate.clear_retention(data_class text, source text DEFAULT '*')
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH d AS (
		DELETE FROM correlate.retention_policy p
		WHERE p.tenant = correlate.current_tenant() AND p.data_class = clear_retention.data_class
		  AND p.source = clear_retention.source
		RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM d);
$$;
COMMENT ON FUNCTION correlate.clear_retention(text, text)
	IS 'Removes a retention period of the current tenant (its data is then kept until removed otherwise); false when there was none.';

-- Enforces every tenant's periods.  Deletes row by row through the (tenant, ts)
-- keys, so other tenants' data is never touched (dropping a whole partition
-- would drop them too).  An event an incident names is evidence: it is kept,
-- without its raw payload, as long as the incident exists, so the incident's
-- timeline still explains it; the incidents period (resolved and
-- false-positive incidents only) ends that hold.  as_of NULL means now(), capped
-- per tenant at its newest event plus correlate.retention_clock_lead, as in
-- drop_event_partitions(): a clock stepped ahead cannot expire recent data.
CREATE FUNCTION correlate.apply_retention(as_of timestamptz DEFAULT NULL)
RETURNS TABLE (tenant text, data_class text, source text, cutoff timestamptz, rows_affected bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	lead interval := COALESCE(NULLIF(pg_catalog.current_setting('correlate.retention_clock_lead', true), ''), '7 days')::interval;
	t text;
	base timestamptz;
	newest timestamptz;
	p record;
	others text[];
	n bigint;
	c timestamptz;
BEGIN
	IF as_of IS NOT NULL AND NOT isfinite(as_of) THEN
		RAISE EXCEPTION 'as_of must be a finite time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lead < interval '0' THEN
		RAISE EXCEPTION 'correlate.retention_clock_lead must not be negative, not %', lead
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR t IN SELECT DISTINCT r.tenant FROM correlate.retention_policy r ORDER BY 1 LOOP
		base := as_of;
		IF base IS NULL THEN
			SELECT max(e.ts) INTO newest FROM correlate.event e WHERE e.tenant = t;
			base := CASE WHEN newest IS NULL THEN now() ELSE LEAST(now(), newest + lead) END;
		END IF;
		FOR p IN
			SELECT r.data_class, r.source, r.keep FROM correlate.retention_policy r
			WHERE r.tenant = t
			-- per-source rows first, then the default; incidents last (they end evidence holds)
			ORDER BY array_position(ARRAY['raw', 'events', 'rejects', 'incidents'], r.data_class), r.source = '*', r.source
		LOOP
			c := base - p.keep;
			SELECT COALESCE(array_agg(r.source), '{}') INTO others FROM correlate.retention_policy r
			WHERE r.tenant = t AND r.data_class = p.data_class AND r.source <> '*';
			IF p.data_class = 'raw' THEN
				UPDATE correlate.event e SET raw = NULL
				WHERE e.tenant = t AND e.ts < c AND e.raw IS NOT NULL
				  AND (CASE WHEN p.source = '*' THEN e.source <> ALL (others) ELSE e.source = p.source END);
				GET DIAGNOSTICS n = ROW_COUNT;
			ELSIF p.data_class = 'events' THEN
				DELETE FROM correlate.event e
				WHERE e.tenant = t AND e.ts < c
				  AND (CASE WHEN p.source = '*' THEN e.source <> ALL (others) ELSE e.source = p.source END)
				  AND NOT EXISTS (SELECT 1 FROM correlate.incident_event ie WHERE ie.tenant = t AND ie.event_id = e.id);
				GET DIAGNOSTICS n = ROW_COUNT;
				-- evidence kept for an incident: the normalised row stays, the payload goes
				UPDATE correlate.event e SET raw = NULL
				WHERE e.tenant = t AND e.ts < c AND e.raw IS NOT NULL
				  AND (CASE WHEN p.source = '*' THEN e.source <> ALL (others) ELSE e.source = p.source END);
			ELSIF p.data_class = 'rejects' THEN
				DELETE FROM correlate.ingest_reject j
				WHERE j.tenant = t AND j.ts < c
				  AND (CASE WHEN p.source = '*' THEN j.format <> ALL (others) ELSE j.format = p.source END);
				GET DIAGNOSTICS n = ROW_COUNT;
			ELSE
				DELETE FROM correlate.incident i
				WHERE i.tenant = t AND i.last_ts < c AND i.status IN ('resolved', 'false_positive');
				GET DIAGNOSTICS n = ROW_COUNT;
			END IF;
			tenant := t;
			data_class := p.data_class;
			source := p.source;
			cutoff := c;
			rows_affected := n;
			RETURN NEXT;
		END LOOP;
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate.apply_retention(timestamptz)
	IS 'Enforces every tenant''s retention periods as of as_of (default now(), capped per tenant at its newest event plus correlate.retention_clock_lead): deletes expired events (keeping, without raw payload, those an incident names), clears expired raw payloads, deletes expired rejects and closed incidents. One row per period applied.';

CREATE FUNCTION correlate.schedule_retention(schedule text DEFAULT '17 3 * * *')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	job bigint;
BEGIN
	IF schedule IS NULL OR btrim(schedule) = '' THEN
		RAISE EXCEPTION 'schedule must not be empty'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a cron schedule such as ''17 3 * * *''.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_extension x WHERE x.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Retention is enforced by a pg_cron job.',
				  HINT = 'Add pg_cron to shared_preload_libraries and run CREATE EXTENSION pg_cron in the database named by cron.database_name, or call correlate.apply_retention() from your own scheduler.';
	END IF;
	EXECUTE 'SELECT cron.schedule($1, $2, $3)'
		INTO job USING 'correlate-retention', schedule, 'SELECT count(*) FROM correlate.apply_retention()';
	RETURN job;
END
$$;
COMMENT ON FUNCTION correlate.schedule_retention(text)
	IS 'Schedules correlate.apply_retention() as the pg_cron job correlate-retention (daily at 03:17 by default), run as the calling role; returns the job id.';

-- ---- pseudonymisation -------------------------------------------------------------

CREATE TABLE correlate.pseudonym_rule (
	tenant        text NOT NULL DEFAULT correlate.current_tenant(),
	format        text NOT NULL,
	path          text NOT NULL CHECK (path ~ '^[A-Za-z0-9_@$-]+(\.[A-Za-z0-9_@$-]+){0,15}$'),
	action        text NOT NULL CHECK (action IN ('hash', 'hash_tail', 'ip', 'drop')),
	keep_prefixes text[],
	category      text NOT NULL DEFAULT 'identifier',
	set_by        name NOT NULL DEFAULT CURRENT_USER,
	set_at        timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, format, path)
);
COMMENT ON TABLE correlate.pseudonym_rule IS 'Per tenant and ingest format: fields (JSON paths) stored as keyed pseudonyms or dropped at ingest.';
COMMENT ON COLUMN correlate.pseudonym_rule.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.pseudonym_rule.format IS 'Ingest format the rule applies to (every format but vpc_flow).';
COMMENT ON COLUMN correlate.pseudonym_rule.path IS 'Dotted JSON path from the record (or document) root; arrays on the way are followed element by element.';
COMMENT ON COLUMN correlate.pseudonym_rule.action IS 'hash (the value -> ps_<24 hex>), hash_tail (what follows the last / : ARNs), ip (an address -> a keyed address of the same class), drop (remove the field).';
COMMENT ON COLUMN correlate.pseudonym_rule.keep_prefixes IS 'Values starting with one of these are stored as they are (e.g. system: for Kubernetes service accounts).';
COMMENT ON COLUMN correlate.pseudonym_rule.category IS 'Personal data category, for correlate.data_inventory() (identifier, online_identifier, contact, ...).';
COMMENT ON COLUMN correlate.pseudonym_rule.set_by IS 'Role that set the rule.';
COMMENT ON COLUMN correlate.pseudonym_rule.set_at IS 'When the rule was set.';
SELECT correlate._isolate_tenants('correlate.pseudonym_rule');

-- The keys.  No role has any privilege on this table and it is not marked for
-- pg_dump, so neither a reader nor a dump a reader can read holds a key; only
-- the C ingest path (a heap scan in src/ingest/pseudonym.c) and the functions
-- below (SECURITY DEFINER) use it.  Back a key up with pseudonym_key_export().
CREATE TABLE correlate.pseudonym_key (
	tenant     text PRIMARY KEY,
	key        bytea NOT NULL CHECK (octet_length(key) BETWEEN 16 AND 64),
	created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE correlate.pseudonym_key ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE correlate.pseudonym_key IS 'Per-tenant HMAC keys of pseudonymisation; readable by no correlate role, not dumped.';
COMMENT ON COLUMN correlate.pseudonym_key.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.pseudonym_key.key IS 'HMAC-SHA256 key (32 random bytes unless imported).';
COMMENT ON COLUMN correlate.pseudonym_key.created_at IS 'When the key was created or imported.';

CREATE FUNCTION correlate._pseudonym_new_key() RETURNS bytea
AS 'MODULE_PATHNAME', 'correlate_pseudonym_new_key' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION correlate._pseudonym_new_key() IS 'Internal: 32 bytes from pg_strong_random(). Granted to no role.';

CREATE FUNCTION correlate._pseudonyms(tenant text, action text, vals text[]) RETURNS text[]
AS 'MODULE_PATHNAME', 'correlate_pseudonyms' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION correlate._pseudonyms(text, text, text[]) IS 'Internal: each value''s pseudonym under tenant''s key. Granted to no role: correlate.reidentify() is the audited way in.';

-- Creates the tenant's key if it has none.  Internal.
CREATE FUNCTION correlate._ensure_pseudonym_key(tenant text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO correlate.pseudonym_key (tenant, key) VALUES (tenant, correlate._pseudonym_new_key())
	ON CONFLICT DO NOTHING;
$$;
COMMENT ON FUNCTION correlate._ensure_pseudonym_key(text) IS 'Internal: gives tenant a random key unless it has one.';

CREATE FUNCTION correlate.set_pseudonym_rule(format text, path text, action text,
	keep_prefixes text[] DEFAULT NULL, category text DEFAULT 'identifier')
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	t text := correlate.current_tenant();
BEGIN
	IF format IS NULL OR format NOT IN ('aws_iam', 'cloudtrail', 'falco', 'grype', 'k8s_audit', 'k8s_inventory', 'ocsf', 'trivy') THEN
		RAISE EXCEPTION 'pseudonymisation does not support format "%"', format
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = CASE WHEN format = 'vpc_flow' THEN 'VPC flow logs are text lines, not JSON records.'
								ELSE 'Rules name fields of JSON records.' END,
				  HINT = 'Supported formats: aws_iam, cloudtrail, falco, grype, k8s_audit, k8s_inventory, ocsf, trivy.';
	END IF;
	IF path IS NULL OR path !~ '^[A-Za-z0-9_@$-]+(\.[A-Za-z0-9_@$-]+){0,15}$' THEN
		RAISE EXCEPTION 'invalid JSON path "%"', path
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Give object keys separated by dots, e.g. userIdentity.userName (at most 16 keys).';
	END IF;
	IF action IS NULL OR action NOT IN ('hash', 'hash_tail', 'ip', 'drop') THEN
		RAISE EXCEPTION 'invalid pseudonymisation action "%"', action
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid actions are: hash, hash_tail, ip, drop.';
	END IF;
	IF keep_prefixes IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(keep_prefixes) k WHERE k IS NULL OR k = '') THEN
		RAISE EXCEPTION 'keep_prefixes must not hold NULL or empty prefixes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF category IS NULL OR category !~ '^[a-z][a-z_]{0,40}$' THEN
		RAISE EXCEPTION 'invalid category "%"', category
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a lower-case word such as identifier, online_identifier or contact.';
	END IF;
	PERFORM correlate._ensure_pseudonym_key(t);
	INSERT INTO correlate.pseudonym_rule AS r (tenant, format, path, action, keep_prefixes, category)
	VALUES (t, set_pseudonym_rule.format, set_pseudonym_rule.path, set_pseudonym_rule.action,
			set_pseudonym_rule.keep_prefixes, set_pseudonym_rule.category)
	ON CONFLICT (tenant, format, path) DO UPDATE
	SET action = EXCLUDED.action, keep_prefixes = EXCLUDED.keep_prefixes, category = EXCLUDED.category,
		set_by = CURRENT_USER, set_at = now();
END
$$;
COMMENT ON FUNCTION correlate.set_pseudonym_rule(text, text, text, text[], text)
	IS 'Makes ingest of format in the current tenant store the field at path as a keyed pseudonym (hash, hash_tail, ip) or drop it; creates the tenant''s key with its first rule. Applies to records ingested from then on.';

CREATE FUNCTION correlate.clear_pseudonym_rule(format text, path text)
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH d AS (
		DELETE FROM correlate.pseudonym_rule r
		WHERE r.tenant = correlate.current_tenant() AND r.format = clear_pseudonym_rule.format
		  AND r.path = clear_pseudonym_rule.path
		RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM d);
$$;
COMMENT ON FUNCTION correlate.clear_pseudonym_rule(text, text) IS 'Removes a pseudonymisation rule of the current tenant; false when there was none.';

CREATE TABLE correlate.reidentification_log (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at        timestamptz NOT NULL DEFAULT clock_timestamp(),
	caller    name NOT NULL,
	tenant    text NOT NULL,
	pseudonym text NOT NULL,
	reason    text NOT NULL,
	candidates integer NOT NULL,
	found     boolean NOT NULL
);
COMMENT ON TABLE correlate.reidentification_log IS 'Every call of correlate.reidentify(): who, when, which tenant and pseudonym, why, and whether a candidate matched. Append-only: no role may change it.';
COMMENT ON COLUMN correlate.reidentification_log.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.reidentification_log.at IS 'When the call was made.';
COMMENT ON COLUMN correlate.reidentification_log.caller IS 'The calling role (SET ROLE, else the session user).';
COMMENT ON COLUMN correlate.reidentification_log.tenant IS 'Tenant whose key was used.';
COMMENT ON COLUMN correlate.reidentification_log.pseudonym IS 'The pseudonym to re-identify.';
COMMENT ON COLUMN correlate.reidentification_log.reason IS 'The legal process or case reference given.';
COMMENT ON COLUMN correlate.reidentification_log.candidates IS 'How many candidate values were tried.';
COMMENT ON COLUMN correlate.reidentification_log.found IS 'Whether one of them matched.';
-- an administrator reads the calls made in the tenant it works in
SELECT correlate._isolate_tenants('correlate.reidentification_log');

-- No reverse mapping is stored anywhere: a pseudonym is re-identified by
-- recomputing the pseudonyms of candidate values (a directory's user names, a
-- range of addresses) and returning the one that matches.
CREATE FUNCTION correlate.reidentify(pseudonym text, reason text, candidates text[] DEFAULT NULL,
	candidate_net cidr DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := COALESCE(NULLIF(current_setting('correlate.tenant', true), ''), 'default');
	who name := correlate._caller();
	vals text[];
	hit text;
	tok text;
	ps text[];
	pst text[];
BEGIN
	-- the caller's own right to the tenant, checked as the caller would be
	IF NOT (pg_has_role(who, 'correlate_admin', 'MEMBER')
			AND (EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = who AND (r.rolsuper OR r.rolbypassrls))
				 OR EXISTS (SELECT 1 FROM correlate.tenant_access a WHERE a.tenant = t AND pg_has_role(who, a.role, 'MEMBER')))) THEN
		RAISE EXCEPTION 'permission denied to re-identify in tenant "%"', t
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role "%s" is not a correlate_admin granted tenant "%s".', who, t);
	END IF;
	IF pseudonym IS NULL OR pseudonym = '' THEN
		RAISE EXCEPTION 'pseudonym must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF reason IS NULL OR length(btrim(reason)) < 10 THEN
		RAISE EXCEPTION 'a reason of at least 10 characters is required'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the legal process or case that requires re-identification; it is logged.';
	END IF;
	IF candidate_net IS NOT NULL AND masklen(candidate_net) < (CASE WHEN family(candidate_net) = 4 THEN 16 ELSE 112 END) THEN
		RAISE EXCEPTION 'candidate_net % is too large', candidate_net
			USING ERRCODE = 'program_limit_exceeded', HINT = 'Give at most 65536 addresses (a /16 for IPv4, a /112 for IPv6).';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM correlate.pseudonym_key k WHERE k.tenant = t) THEN
		RAISE EXCEPTION 'tenant "%" has no pseudonymisation key', t USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	vals := ARRAY(SELECT DISTINCT c FROM unnest(COALESCE(candidates, '{}')) c WHERE c IS NOT NULL
				  UNION
				  SELECT host(candidate_net + g) FROM generate_series(0::bigint,
						CASE WHEN candidate_net IS NULL THEN -1 ELSE (2::numeric ^ ((CASE WHEN family(candidate_net) = 4 THEN 32 ELSE 128 END) - masklen(candidate_net)))::bigint - 1 END) g);
	IF cardinality(vals) > 100000 THEN
		RAISE EXCEPTION 'too many candidates (%)', cardinality(vals)
			USING ERRCODE = 'program_limit_exceeded', HINT = 'Give at most 100000 candidate values.';
	END IF;
	-- The pseudonym's shape says how it was made: an address (ip), or a token
	-- ps_<24 hex> alone (hash) or after a prefix ending in / (hash_tail, where a
	-- candidate may be the bare name or the whole value).
	IF pseudonym ~ ':' AND pseudonym ~ '^[0-9a-fA-F:]+$' THEN
		ps := correlate._pseudonyms(t, 'ip', vals);
		SELECT vals[i] INTO hit FROM generate_series(1, cardinality(vals)) i
		WHERE ps[i] ~ '^[0-9a-f:]+$' AND ps[i]::inet = pseudonym::inet
		ORDER BY 1 LIMIT 1;
	ELSE
		tok := COALESCE(substring(pseudonym FROM '(ps_[0-9a-f]{24})$'), pseudonym);
		ps := correlate._pseudonyms(t, 'hash', vals);
		pst := correlate._pseudonyms(t, 'hash_tail', vals);
		SELECT vals[i] INTO hit FROM generate_series(1, cardinality(vals)) i
		WHERE ps[i] = tok OR pst[i] = pseudonym
		ORDER BY 1 LIMIT 1;
	END IF;
	INSERT INTO correlate.reidentification_log (caller, tenant, pseudonym, reason, candidates, found)
	VALUES (who, t, pseudonym, btrim(reason), cardinality(vals), hit IS NOT NULL);
	RETURN hit;
END
$$;
COMMENT ON FUNCTION correlate.reidentify(text, text, text[], cidr)
	IS 'correlate_admin only, audited: which of the candidate values (or addresses of candidate_net, at most 65536) has the given pseudonym in the current tenant; NULL when none. Every call is logged in correlate.reidentification_log with the reason.';

CREATE FUNCTION correlate.pseudonym_key_export(reason text) RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := COALESCE(NULLIF(current_setting('correlate.tenant', true), ''), 'default');
	who name := correlate._caller();
	k bytea;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = who AND r.rolsuper) THEN
		RAISE EXCEPTION 'permission denied to export a pseudonymisation key'
			USING ERRCODE = 'insufficient_privilege', DETAIL = 'Only a superuser may export a key (for a backup kept apart from the data).';
	END IF;
	IF reason IS NULL OR length(btrim(reason)) < 10 THEN
		RAISE EXCEPTION 'a reason of at least 10 characters is required' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT x.key INTO k FROM correlate.pseudonym_key x WHERE x.tenant = t;
	IF k IS NULL THEN
		RAISE EXCEPTION 'tenant "%" has no pseudonymisation key', t USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	INSERT INTO correlate.reidentification_log (caller, tenant, pseudonym, reason, candidates, found)
	VALUES (who, t, '(key export)', btrim(reason), 0, true);
	RETURN k;
END
$$;
COMMENT ON FUNCTION correlate.pseudonym_key_export(text)
	IS 'Superuser only, logged: the current tenant''s key, for a backup kept apart from the data (keys are not in pg_dump output); restore it with pseudonym_key_import().';

CREATE FUNCTION correlate.pseudonym_key_import(key bytea) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := COALESCE(NULLIF(current_setting('correlate.tenant', true), ''), 'default');
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = correlate._caller() AND r.rolsuper) THEN
		RAISE EXCEPTION 'permission denied to import a pseudonymisation key' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF key IS NULL OR octet_length(key) NOT BETWEEN 16 AND 64 THEN
		RAISE EXCEPTION 'a key must have 16 to 64 bytes' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO correlate.pseudonym_key AS x VALUES (t, pseudonym_key_import.key, now())
	ON CONFLICT ON CONSTRAINT pseudonym_key_pkey DO UPDATE SET key = EXCLUDED.key, created_at = EXCLUDED.created_at;
END
$$;
COMMENT ON FUNCTION correlate.pseudonym_key_import(bytea) IS 'Superuser only: sets the current tenant''s key (after a restore, from pseudonym_key_export()).';

-- ---- correlation scopes ---------------------------------------------------------

CREATE TABLE correlate.correlation_scope (
	name       text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
	grantee    name NOT NULL,
	tenants    text[] NOT NULL CHECK (cardinality(tenants) BETWEEN 1 AND 1000),
	functions  text[] NOT NULL CHECK (cardinality(functions) >= 1
									  AND functions <@ ARRAY['incidents', 'incident_timeline', 'attack_paths']),
	purpose    text NOT NULL,
	granted_by name NOT NULL,
	granted_at timestamptz NOT NULL DEFAULT now(),
	revoked_by name,
	revoked_at timestamptz
);
COMMENT ON TABLE correlate.correlation_scope IS 'Grants letting a role run named read functions over a set of tenants (MSSP, group). Kept after revocation, as the record of what was allowed when.';
COMMENT ON COLUMN correlate.correlation_scope.name IS 'Scope name, passed to the scoped_* functions.';
COMMENT ON COLUMN correlate.correlation_scope.grantee IS 'Role (and its members) the scope is granted to.';
COMMENT ON COLUMN correlate.correlation_scope.tenants IS 'Tenants the scope opens.';
COMMENT ON COLUMN correlate.correlation_scope.functions IS 'Read functions the scope opens: incidents, incident_timeline, attack_paths.';
COMMENT ON COLUMN correlate.correlation_scope.purpose IS 'Why the scope exists (contract, group policy).';
COMMENT ON COLUMN correlate.correlation_scope.granted_by IS 'Role that granted it.';
COMMENT ON COLUMN correlate.correlation_scope.granted_at IS 'When it was granted.';
COMMENT ON COLUMN correlate.correlation_scope.revoked_by IS 'Role that revoked it, if revoked.';
COMMENT ON COLUMN correlate.correlation_scope.revoked_at IS 'When it was revoked; a revoked scope opens nothing.';
ALTER TABLE correlate.correlation_scope ENABLE ROW LEVEL SECURITY;
CREATE POLICY correlation_scope_read ON correlate.correlation_scope FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, grantee, 'MEMBER')
		   OR pg_catalog.pg_has_role(CURRENT_USER, 'correlate_admin', 'MEMBER'));

CREATE TABLE correlate.scope_read_log (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at       timestamptz NOT NULL DEFAULT clock_timestamp(),
	caller   name NOT NULL,
	scope    text NOT NULL,
	function text NOT NULL,
	tenants  text[] NOT NULL
);
COMMENT ON TABLE correlate.scope_read_log IS 'Every cross-tenant read through a correlation scope: who, when, which scope, function and tenants. Append-only.';
COMMENT ON COLUMN correlate.scope_read_log.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.scope_read_log.at IS 'When the read was made.';
COMMENT ON COLUMN correlate.scope_read_log.caller IS 'The calling role (SET ROLE, else the session user).';
COMMENT ON COLUMN correlate.scope_read_log.scope IS 'Scope used.';
COMMENT ON COLUMN correlate.scope_read_log.function IS 'Read function run.';
COMMENT ON COLUMN correlate.scope_read_log.tenants IS 'Tenants read.';

CREATE FUNCTION correlate.grant_correlation_scope(name text, grantee name, tenants text[], functions text[], purpose text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	who name := correlate._caller();
BEGIN
	IF NOT pg_has_role(who, 'correlate_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to grant a correlation scope' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF name IS NULL OR name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
		RAISE EXCEPTION 'invalid scope name "%"', name USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF grantee IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = grantee) THEN
		RAISE EXCEPTION 'role "%" does not exist', grantee USING ERRCODE = 'undefined_object';
	END IF;
	IF tenants IS NULL OR cardinality(tenants) = 0
	   OR EXISTS (SELECT 1 FROM unnest(tenants) x WHERE x IS NULL OR x !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$') THEN
		RAISE EXCEPTION 'tenants must name at least one tenant, with no NULL or invalid label'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF functions IS NULL OR cardinality(functions) = 0
	   OR NOT (functions <@ ARRAY['incidents', 'incident_timeline', 'attack_paths']) THEN
		RAISE EXCEPTION 'functions must name read functions among incidents, incident_timeline, attack_paths'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF purpose IS NULL OR length(btrim(purpose)) < 10 THEN
		RAISE EXCEPTION 'a purpose of at least 10 characters is required' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM correlate.correlation_scope s WHERE s.name = grant_correlation_scope.name) THEN
		RAISE EXCEPTION 'correlation scope "%" already exists', name
			USING ERRCODE = 'duplicate_object', HINT = 'Scopes are kept after revocation as a record; choose a new name.';
	END IF;
	INSERT INTO correlate.correlation_scope (name, grantee, tenants, functions, purpose, granted_by)
	VALUES (grant_correlation_scope.name, grant_correlation_scope.grantee,
			ARRAY(SELECT DISTINCT x FROM unnest(grant_correlation_scope.tenants) x ORDER BY 1),
			ARRAY(SELECT DISTINCT x FROM unnest(grant_correlation_scope.functions) x ORDER BY 1),
			btrim(purpose), who);
END
$$;
COMMENT ON FUNCTION correlate.grant_correlation_scope(text, name, text[], text[], text)
	IS 'correlate_admin only: lets grantee run the named read functions (incidents, incident_timeline, attack_paths) over tenants through the scoped_* functions; recorded with who granted it and why.';

CREATE FUNCTION correlate.revoke_correlation_scope(name text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	who name := correlate._caller();
BEGIN
	IF NOT pg_has_role(who, 'correlate_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to revoke a correlation scope' USING ERRCODE = 'insufficient_privilege';
	END IF;
	UPDATE correlate.correlation_scope s SET revoked_by = who, revoked_at = now()
	WHERE s.name = revoke_correlation_scope.name AND s.revoked_at IS NULL;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION correlate.revoke_correlation_scope(text) IS 'correlate_admin only: ends a scope (the row stays, with who revoked it and when); false when no such open scope.';

-- Checks that the caller may run fn over the requested tenants through scope,
-- logs the read, and returns the tenants to read (all of the scope's when
-- requested is NULL).  Internal.
CREATE FUNCTION correlate._scope_open(scope text, fn text, requested text[]) RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	who name := correlate._caller();
	s record;
	ts text[];
BEGIN
	SELECT * INTO s FROM correlate.correlation_scope c WHERE c.name = scope AND c.revoked_at IS NULL;
	IF NOT FOUND OR NOT pg_has_role(who, s.grantee, 'MEMBER') OR NOT (fn = ANY (s.functions)) THEN
		RAISE EXCEPTION 'permission denied for % through correlation scope "%"', fn, scope
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role "%s" holds no open scope of that name that opens %s.', who, fn);
	END IF;
	IF requested IS NULL THEN
		ts := s.tenants;
	ELSIF EXISTS (SELECT 1 FROM unnest(requested) x WHERE x IS NULL OR NOT (x = ANY (s.tenants))) THEN
		RAISE EXCEPTION 'correlation scope "%" does not open tenants %', scope,
			(SELECT string_agg(COALESCE(x, 'NULL'), ', ') FROM unnest(requested) x WHERE x IS NULL OR NOT (x = ANY (s.tenants)))
			USING ERRCODE = 'insufficient_privilege';
	ELSE
		ts := ARRAY(SELECT DISTINCT x FROM unnest(requested) x ORDER BY 1);
	END IF;
	INSERT INTO correlate.scope_read_log (caller, scope, function, tenants) VALUES (who, scope, fn, ts);
	RETURN ts;
END
$$;
COMMENT ON FUNCTION correlate._scope_open(text, text, text[]) IS 'Internal: checks and logs a read through a correlation scope; returns the tenants to read.';

CREATE FUNCTION correlate.scoped_incidents(scope text, tenants text[] DEFAULT NULL)
RETURNS TABLE (tenant text, id bigint, rule text, title text, severity text, status text,
			   first_ts timestamptz, last_ts timestamptz, entities bigint[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	ts text[] := correlate._scope_open(scope, 'incidents', tenants);
BEGIN
	RETURN QUERY
	SELECT i.tenant, i.id, i.rule, i.title, i.severity, i.status, i.first_ts, i.last_ts, i.entities
	FROM correlate.incident i WHERE i.tenant = ANY (ts)
	ORDER BY i.tenant, i.id;
END
$$;
COMMENT ON FUNCTION correlate.scoped_incidents(text, text[])
	IS 'The incidents of the tenants a correlation scope opens (or of the listed ones among them), with their tenant; logged in correlate.scope_read_log.';

CREATE FUNCTION correlate.scoped_incident_timeline(scope text, tenant text, incident_id bigint)
RETURNS TABLE (ts timestamptz, domain text, class text, actor text, target text, action text, summary text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	opened text[] := correlate._scope_open(scope, 'incident_timeline', ARRAY[tenant]);
	prev text := current_setting('correlate.tenant', true);
BEGIN
	PERFORM set_config('correlate.tenant', opened[1], true);
	RETURN QUERY SELECT * FROM correlate.incident_timeline(incident_id);
	PERFORM set_config('correlate.tenant', COALESCE(prev, ''), true);
END
$$;
COMMENT ON FUNCTION correlate.scoped_incident_timeline(text, text, bigint)
	IS 'correlate.incident_timeline() of an incident in a tenant a correlation scope opens; logged in correlate.scope_read_log.';

CREATE FUNCTION correlate.scoped_attack_paths(scope text, tenants text[] DEFAULT NULL,
	k integer DEFAULT 10, max_hops integer DEFAULT 8)
RETURNS TABLE (tenant text, path_rank integer, hop integer, resource_id bigint, resource_uid text,
			   relationship_id bigint, likelihood float8, path_likelihood float8)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	opened text[] := correlate._scope_open(scope, 'attack_paths', tenants);
	prev text := current_setting('correlate.tenant', true);
	t text;
BEGIN
	FOREACH t IN ARRAY opened LOOP
		PERFORM set_config('correlate.tenant', t, true);
		RETURN QUERY
		SELECT t, p.path_rank, p.hop, p.resource_id, r.uid, p.relationship_id, p.likelihood, p.path_likelihood
		FROM correlate.attack_paths(k => k, max_hops => max_hops) p
		LEFT JOIN correlate.resource r ON r.tenant = t AND r.id = p.resource_id
		ORDER BY p.path_rank, p.hop;
	END LOOP;
	PERFORM set_config('correlate.tenant', COALESCE(prev, ''), true);
END
$$;
COMMENT ON FUNCTION correlate.scoped_attack_paths(text, text[], integer, integer)
	IS 'correlate.attack_paths() (internet to crown jewels) in each tenant a correlation scope opens, with tenant and resource uid; logged in correlate.scope_read_log.';

-- ---- records of processing -----------------------------------------------------

-- Where each format's personal data lands, for data_inventory().  Builtin rows
-- ship with the extension; an administrator adds rows for fields of their own.
CREATE TABLE correlate.personal_data_field (
	format    text NOT NULL,
	path      text NOT NULL,
	category  text NOT NULL,
	stored_in text[] NOT NULL,
	builtin   boolean NOT NULL DEFAULT false,
	PRIMARY KEY (format, path)
);
COMMENT ON TABLE correlate.personal_data_field IS 'Fields of each ingest format that carry personal data, their category and where correlate stores them.';
COMMENT ON COLUMN correlate.personal_data_field.format IS 'Ingest format.';
COMMENT ON COLUMN correlate.personal_data_field.path IS 'JSON path (or field name) in the record.';
COMMENT ON COLUMN correlate.personal_data_field.category IS 'identifier (user names, ARNs), online_identifier (addresses, user agents), contact (e-mail), content (command lines).';
COMMENT ON COLUMN correlate.personal_data_field.stored_in IS 'Tables and columns the value reaches.';
COMMENT ON COLUMN correlate.personal_data_field.builtin IS 'True for rows shipped with the extension.';

INSERT INTO correlate.personal_data_field (format, path, category, stored_in, builtin) VALUES
	('cloudtrail', 'userIdentity.userName',      'identifier',        ARRAY['event.raw', 'resource.uid', 'resource.name'], true),
	('cloudtrail', 'userIdentity.arn',           'identifier',        ARRAY['event.raw', 'resource.uid', 'resource.name'], true),
	('cloudtrail', 'userIdentity.principalId',   'identifier',        ARRAY['event.raw'], true),
	('cloudtrail', 'sourceIPAddress',            'online_identifier', ARRAY['event.raw', 'event.src_ip', 'resource.uid'], true),
	('cloudtrail', 'userAgent',                  'online_identifier', ARRAY['event.raw'], true),
	('k8s_audit',  'user.username',              'identifier',        ARRAY['event.raw', 'resource.uid', 'resource.name'], true),
	('k8s_audit',  'user.groups',                'identifier',        ARRAY['event.raw'], true),
	('k8s_audit',  'impersonatedUser.username',  'identifier',        ARRAY['event.raw'], true),
	('k8s_audit',  'sourceIPs',                  'online_identifier', ARRAY['event.raw', 'event.src_ip'], true),
	('k8s_audit',  'userAgent',                  'online_identifier', ARRAY['event.raw'], true),
	('falco',      'output_fields.user.name',    'identifier',        ARRAY['event.raw'], true),
	('falco',      'output_fields.proc.cmdline', 'content',           ARRAY['event.raw', 'event.command_line'], true),
	('falco',      'output_fields.fd.sip',       'online_identifier', ARRAY['event.raw', 'event.src_ip', 'event.dst_ip'], true),
	('ocsf',       'actor.user.name',            'identifier',        ARRAY['event.raw', 'resource.uid', 'resource.name'], true),
	('ocsf',       'actor.user.email_addr',      'contact',           ARRAY['event.raw'], true),
	('ocsf',       'src_endpoint.ip',            'online_identifier', ARRAY['event.raw', 'event.src_ip'], true),
	('aws_iam',    'UserDetailList.UserName',    'identifier',        ARRAY['resource.uid', 'resource.name'], true),
	('aws_iam',    'UserDetailList.Arn',         'identifier',        ARRAY['resource.uid'], true),
	('vpc_flow',   'srcaddr',                    'online_identifier', ARRAY['event.raw', 'event.src_ip', 'resource.uid'], true),
	('vpc_flow',   'dstaddr',                    'online_identifier', ARRAY['event.raw', 'event.dst_ip', 'resource.uid'], true),
	('*',          'ingest_reject.raw',          'any',               ARRAY['ingest_reject.raw'], true);

CREATE FUNCTION correlate._retention_of(tenant text, data_class text, source text) RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.keep FROM correlate.retention_policy p
	WHERE p.tenant = _retention_of.tenant AND p.data_class = _retention_of.data_class AND p.source IN (_retention_of.source, '*')
	ORDER BY p.source = '*' LIMIT 1;
$$;
COMMENT ON FUNCTION correlate._retention_of(text, text, text) IS 'Internal: the period of a data class for a source in a tenant (its own, else the default), NULL when none.';

CREATE FUNCTION correlate.data_inventory()
RETURNS TABLE (tenant text, format text, field text, category text, stored_in text[], treatment text,
			   kept_for text, policy text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH ten AS (
		-- superusers and BYPASSRLS roles see every tenant with a grant or a policy; others their own
		SELECT DISTINCT x.t FROM (
			SELECT a.tenant AS t FROM correlate.tenant_access a
			UNION SELECT r.tenant FROM correlate.retention_policy r
			UNION SELECT r.tenant FROM correlate.pseudonym_rule r) x
		WHERE EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
		UNION ALL
		SELECT correlate.current_tenant()
		WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))),
	fields AS (
		SELECT f.format, f.path, f.category, f.stored_in FROM correlate.personal_data_field f
		UNION
		-- fields a tenant's rules name that the catalogue does not list
		SELECT r.format, r.path, r.category, ARRAY['event.raw'] FROM correlate.pseudonym_rule r
		WHERE NOT EXISTS (SELECT 1 FROM correlate.personal_data_field f WHERE f.format = r.format AND f.path = r.path))
	SELECT t.t, f.format, f.path, COALESCE(r.category, f.category), f.stored_in,
		   CASE WHEN f.format = '*' AND EXISTS (SELECT 1 FROM correlate.pseudonym_rule x WHERE x.tenant = t.t)
				THEN 'withheld for formats with pseudonymisation rules, as received for others'
				ELSE CASE r.action WHEN 'drop' THEN 'dropped at ingest'
						 WHEN 'hash' THEN 'pseudonymised (HMAC-SHA256, tenant key)'
						 WHEN 'hash_tail' THEN 'pseudonymised after the last / (HMAC-SHA256, tenant key)'
						 WHEN 'ip' THEN 'pseudonymised address (HMAC-SHA256, tenant key)'
						 ELSE 'stored as received' END END,
		   CASE WHEN r.action = 'drop' THEN 'not stored'
				WHEN f.format = '*' THEN COALESCE(correlate._retention_of(t.t, 'rejects', '*')::text, 'until deleted')
				ELSE concat_ws('; ',
					'events ' || COALESCE(correlate._retention_of(t.t, 'events', f.format)::text, 'until deleted'),
					CASE WHEN 'event.raw' = ANY (f.stored_in)
						 THEN 'raw payload ' || COALESCE(correlate._retention_of(t.t, 'raw', f.format)::text, 'as the event') END,
					CASE WHEN EXISTS (SELECT 1 FROM unnest(f.stored_in) s WHERE s LIKE 'resource.%')
						 THEN 'resources until deleted (inventory, not under retention)' END) END,
		   concat_ws('; ',
			   CASE WHEN r.action IS NOT NULL THEN format('pseudonym_rule %s/%s (set by %s)', f.format, f.path, r.set_by) END,
			   CASE WHEN EXISTS (SELECT 1 FROM correlate.retention_policy p WHERE p.tenant = t.t)
					THEN 'retention_policy of the tenant' ELSE 'no retention period: kept until deleted' END)
	FROM ten t
	CROSS JOIN fields f
	LEFT JOIN correlate.pseudonym_rule r ON r.tenant = t.t AND r.format = f.format AND r.path = f.path
	ORDER BY 1, 2, 3;
$$;
COMMENT ON FUNCTION correlate.data_inventory()
	IS 'Per tenant (the current one; every tenant for superusers and BYPASSRLS roles): which personal data fields each format stores, their category, where they land, whether they are stored, pseudonymised or dropped, for how long and under which policy. The basis of a GDPR Art. 30 record.';

SELECT pg_catalog.pg_extension_config_dump('correlate.retention_policy', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.pseudonym_rule', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.reidentification_log', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.correlation_scope', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.scope_read_log', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.personal_data_field', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.reidentification_log', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.scope_read_log', 'id')::regclass, '');

GRANT SELECT ON correlate.retention_policy, correlate.pseudonym_rule, correlate.personal_data_field TO correlate_reader;
GRANT SELECT ON correlate.correlation_scope TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.retention_policy, correlate.pseudonym_rule TO correlate_admin;
GRANT INSERT, UPDATE, DELETE ON correlate.personal_data_field TO correlate_admin;
GRANT SELECT ON correlate.reidentification_log, correlate.scope_read_log TO correlate_admin;
GRANT EXECUTE ON FUNCTION correlate._caller(), correlate._retention_of(text, text, text), correlate.data_inventory(),
	correlate.scoped_incidents(text, text[]), correlate.scoped_incident_timeline(text, text, bigint),
	correlate.scoped_attack_paths(text, text[], integer, integer)
	TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.set_retention(text, interval, text), correlate.clear_retention(text, text),
	correlate.apply_retention(timestamptz), correlate.schedule_retention(text),
	correlate.set_pseudonym_rule(text, text, text, text[], text), correlate.clear_pseudonym_rule(text, text),
	correlate._ensure_pseudonym_key(text), correlate.reidentify(text, text, text[], cidr),
	correlate.grant_correlation_scope(text, name, text[], text[], text), correlate.revoke_correlation_scope(text)
	TO correlate_admin;
-- pseudonym_key_export / _import check for a superuser themselves; granting them
-- to correlate_admin only lets the check speak instead of a bare permission error.
GRANT EXECUTE ON FUNCTION correlate.pseudonym_key_export(text), correlate.pseudonym_key_import(bytea) TO correlate_admin;
