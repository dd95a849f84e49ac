-- 50_ingest.sql: correlate.ingest() and correlate.ingest_file() (C, src/ingest/),
-- the table of rejected records, and the set-based event path the C writer uses.
--
-- The C writer flushes each batch through the core write API
-- (upsert_resources, link_many, record_ip_lease, record_finding) and through
-- correlate._ingest_events below, which adds what only the ingest path needs:
-- resolving addresses through ip_lease at each event's time in bulk, and
-- counting flows on connects_to edges only for events not stored before, so
-- ingesting the same input twice changes nothing.

CREATE TABLE correlate.ingest_reject (
	tenant text NOT NULL DEFAULT correlate.current_tenant(),
	id     bigint GENERATED ALWAYS AS IDENTITY,
	ts     timestamptz NOT NULL DEFAULT now(),
	format text NOT NULL,
	recno  bigint NOT NULL CHECK (recno >= 0),
	reason text NOT NULL,
	raw    text,
	digest text NOT NULL,
	PRIMARY KEY (tenant, id),
	UNIQUE (tenant, format, digest)
);
CREATE INDEX ingest_reject_ts_idx ON correlate.ingest_reject (tenant, ts);

COMMENT ON TABLE correlate.ingest_reject IS 'Records correlate.ingest(..., on_error => ''skip'') could not load, with the reason; nothing else of them was stored.';
COMMENT ON COLUMN correlate.ingest_reject.tenant IS 'Tenant the ingest ran in.';
COMMENT ON COLUMN correlate.ingest_reject.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.ingest_reject.ts IS 'When the record was first rejected.';
COMMENT ON COLUMN correlate.ingest_reject.format IS 'Ingest format (cloudtrail, falco, ...).';
COMMENT ON COLUMN correlate.ingest_reject.recno IS '1-based number of the record in its input (a line, an array element, a document).';
COMMENT ON COLUMN correlate.ingest_reject.reason IS 'Why the record was rejected.';
COMMENT ON COLUMN correlate.ingest_reject.raw IS 'The record as received, up to correlate.ingest_reject_raw_max; NUL bytes and invalid UTF-8 appear as \xNN.';
COMMENT ON COLUMN correlate.ingest_reject.digest IS 'Hash of the full record and reason: the same reject is stored once however often it is ingested.';

SELECT correlate._isolate_tenants('correlate.ingest_reject');

SELECT pg_catalog.pg_extension_config_dump('correlate.ingest_reject', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.ingest_reject', 'id')::regclass, '');

-- Events of one flush.  Parallel arrays, one element per event; the C writer
-- has validated every field and has already resolved addresses through ip_lease
-- at each event's time (resolve_lease in src/ingest/writer.c).  src_modes /
-- dst_modes, for an address no lease covered: 0 keep actor / target as given,
-- 1 use the address's own network:ip resource, 2 use the internet resource.
CREATE FUNCTION correlate._ingest_events(
	p_source        text,
	p_ts            timestamptz[],
	p_uids          text[],
	p_class_uids    integer[],
	p_activity_ids  integer[],
	p_domains       text[],
	p_severity_ids  integer[],
	p_actors        bigint[],
	p_targets       bigint[],
	p_src_ips       inet[],
	p_dst_ips       inet[],
	p_dst_ports     integer[],
	p_processes     text[],
	p_command_lines text[],
	p_actions       text[],
	p_outcomes      text[],
	p_rules         text[],
	p_raws          jsonb[],
	p_src_modes     integer[],
	p_dst_modes     integer[],
	p_link_kinds    text[],
	p_bytes         bigint[],
	p_packets       bigint[])
RETURNS TABLE (events bigint, relationships bigint, resources bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	n integer := COALESCE(cardinality(p_ts), 0);
	inet_id bigint;
	ip_uids text[];
	ip_names text[];
	ip_seen timestamptz[];
	ip_ids bigint[];
	n_ev bigint := 0;
	n_rel bigint := 0;
	n_res bigint := 0;
	first_new timestamptz;
	span_lo timestamptz;
	span_hi timestamptz;
	stored boolean := false;
	-- the events of a batch, without links; $1 tenant, $2 source, $3.. the arrays
	ins_sql constant text := 'INSERT INTO correlate.event AS e (tenant, ts, uid, source, class_uid, activity_id, '
		'domain, severity_id, actor, target, src_ip, dst_ip, dst_port, process, command_line, action, outcome, rule, raw) '
		'SELECT $1, u.ts, u.uid, $2, u.c, u.a, u.dom, u.sev, u.actor, u.target, u.sip, u.dip, u.dport, u.proc, '
		'u.cmd, u.act, u.outc, u.rule, u.raw '
		'FROM unnest($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) '
		'AS u(ts, uid, c, a, dom, sev, actor, target, sip, dip, dport, proc, cmd, act, outc, rule, raw)';
BEGIN
	PERFORM correlate._check_lengths('_ingest_events', n, cardinality(p_uids), cardinality(p_class_uids),
		cardinality(p_activity_ids), cardinality(p_domains), cardinality(p_severity_ids), cardinality(p_actors),
		cardinality(p_targets), cardinality(p_src_ips), cardinality(p_dst_ips), cardinality(p_dst_ports),
		cardinality(p_processes), cardinality(p_command_lines), cardinality(p_actions), cardinality(p_outcomes),
		cardinality(p_rules), cardinality(p_raws), cardinality(p_src_modes), cardinality(p_dst_modes),
		cardinality(p_link_kinds), cardinality(p_bytes), cardinality(p_packets));
	IF n = 0 THEN
		RETURN QUERY SELECT 0::bigint, 0::bigint;
		RETURN;
	END IF;

	-- Addresses no lease covered: the internet, or the address's own resource.
	IF EXISTS (SELECT 1 FROM unnest(p_src_modes, p_dst_modes) AS m(s, d) WHERE m.s > 0 OR m.d > 0) THEN
		IF EXISTS (SELECT 1 FROM unnest(p_actors, p_src_modes, p_targets, p_dst_modes) AS u(a, sm, b, dm)
				   WHERE (u.a IS NULL AND u.sm = 2) OR (u.b IS NULL AND u.dm = 2)) THEN
			inet_id := correlate.internet();
		END IF;

		-- An address is seen when its events happened, not when they were loaded: a
		-- back-filled log keeps its own times whatever the clock says.
		SELECT array_agg('ip://' || x.h ORDER BY x.h), array_agg(x.h ORDER BY x.h), array_agg(x.seen ORDER BY x.h)
		INTO ip_uids, ip_names, ip_seen
		FROM (SELECT y.h, min(y.ts) AS seen
			  FROM (SELECT host(u.sip) AS h, u.ts FROM unnest(p_actors, p_src_ips, p_src_modes, p_ts) AS u(a, sip, m, ts)
					WHERE u.a IS NULL AND u.m = 1
					UNION ALL
					SELECT host(u.dip), u.ts FROM unnest(p_targets, p_dst_ips, p_dst_modes, p_ts) AS u(a, dip, m, ts)
					WHERE u.a IS NULL AND u.m = 1) y
			  GROUP BY y.h) x;
		IF ip_uids IS NOT NULL THEN
			-- the addresses seen for the first time, for the call's resource count
			SELECT count(*) INTO n_res FROM unnest(ip_uids) AS x(uid)
			WHERE NOT EXISTS (SELECT 1 FROM correlate.resource r WHERE r.tenant = t AND r.uid = x.uid);
			SELECT array_agg(r.stored_id ORDER BY x.o) INTO ip_ids
			FROM unnest(ip_uids) WITH ORDINALITY AS x(uid, o)
			JOIN correlate._ingest_resources(ip_uids, array_fill('network:ip'::text, ARRAY[cardinality(ip_uids)]),
											 ip_names, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
											 ip_seen) AS r ON r.stored_uid = x.uid;
		END IF;

		SELECT array_agg(COALESCE(u.a, CASE u.sm WHEN 2 THEN inet_id WHEN 1 THEN s.id END) ORDER BY u.o),
			   array_agg(COALESCE(u.b, CASE u.dm WHEN 2 THEN inet_id WHEN 1 THEN d.id END) ORDER BY u.o)
		INTO p_actors, p_targets
		FROM unnest(p_actors, p_targets, p_src_ips, p_dst_ips, p_src_modes, p_dst_modes)
			 WITH ORDINALITY AS u(a, b, sip, dip, sm, dm, o)
		LEFT JOIN unnest(ip_names, ip_ids) AS s(h, id) ON u.a IS NULL AND u.sm = 1 AND s.h = host(u.sip)
		LEFT JOIN unnest(ip_names, ip_ids) AS d(h, id) ON u.b IS NULL AND u.dm = 1 AND d.h = host(u.dip);
	END IF;

	-- The default domain of each class, computed once per class rather than once per event.
	IF EXISTS (SELECT 1 FROM unnest(p_domains) AS d WHERE d IS NULL) THEN
		SELECT array_agg(COALESCE(u.dom, k.dom) ORDER BY u.o) INTO p_domains
		FROM unnest(p_domains, p_class_uids) WITH ORDINALITY AS u(dom, c, o)
		LEFT JOIN (SELECT x.c, correlate.ocsf_domain(x.c) AS dom
				   FROM (SELECT DISTINCT y.c FROM unnest(p_class_uids) AS y(c)) x) k ON k.c = u.c;
	END IF;

	-- Identity is (tenant, ts, source, uid), unique in every partition, and ts is
	-- the partition key: two rows with one identity always meet in one partition,
	-- so its unique index decides.  ON CONFLICT DO NOTHING (with no conflict
	-- target, which a partitioned parent with no index of its own allows) skips an
	-- event already stored and, for one another session has stored but not yet
	-- committed, waits for that session to end and then skips or stores it.  No
	-- lock serialises the writers of one tenant and source: two sessions loading
	-- different files of one source run side by side, and overlapping files are
	-- stored exactly once.  The C writer has removed duplicates within the batch.
	-- tenant is given explicitly: the column default would call current_tenant()
	-- once per row.
	IF NOT EXISTS (SELECT 1 FROM unnest(p_link_kinds) AS k WHERE k IS NOT NULL) THEN
		-- A batch whose time span holds none of the events this source has stored
		-- (and this transaction sees) cannot repeat a stored one: it goes in with a
		-- plain INSERT, without ON CONFLICT's probe of both unique keys per event
		-- (loading new logs, the common case).  Another session may have stored some
		-- of its events without committing yet: the insert then waits for that
		-- session, fails with unique_violation if it commits, and the batch is stored
		-- again with ON CONFLICT DO NOTHING, which skips them.
		SELECT min(x), max(x) INTO span_lo, span_hi FROM unnest(p_ts) AS x;
		IF NOT EXISTS (SELECT 1 FROM correlate.event old
					   WHERE old.tenant = t AND old.source = p_source AND old.ts BETWEEN span_lo AND span_hi) THEN
			BEGIN
				EXECUTE ins_sql USING t, p_source, p_ts, p_uids, p_class_uids, p_activity_ids, p_domains,
					p_severity_ids, p_actors, p_targets, p_src_ips, p_dst_ips, p_dst_ports, p_processes,
					p_command_lines, p_actions, p_outcomes, p_rules, p_raws;
				GET DIAGNOSTICS n_ev = ROW_COUNT;
				first_new := span_lo;
				stored := true;
			EXCEPTION WHEN unique_violation THEN
				stored := false;
			END;
		END IF;
		IF NOT stored THEN
			EXECUTE 'WITH ins AS (' || ins_sql || ' ON CONFLICT DO NOTHING RETURNING e.ts) '
					'SELECT count(*), min(ins.ts) FROM ins'
			INTO n_ev, first_new
			USING t, p_source, p_ts, p_uids, p_class_uids, p_activity_ids, p_domains,
				p_severity_ids, p_actors, p_targets, p_src_ips, p_dst_ips, p_dst_ports, p_processes,
				p_command_lines, p_actions, p_outcomes, p_rules, p_raws;
		END IF;
		PERFORM correlate._note_arrival(first_new, n_ev);
		RETURN QUERY SELECT n_ev, 0::bigint, n_res;
		RETURN;
	END IF;

	-- With link kinds: count what each newly stored event adds to its edge.
	WITH input AS (
		SELECT u.* FROM unnest(p_ts, p_uids, p_class_uids, p_activity_ids, p_domains, p_severity_ids, p_actors,
							   p_targets, p_src_ips, p_dst_ips, p_dst_ports, p_processes, p_command_lines,
							   p_actions, p_outcomes, p_rules, p_raws, p_link_kinds, p_bytes, p_packets)
			 WITH ORDINALITY AS u(ts, uid, c, a, dom, sev, actor, target, sip, dip, dport, proc, cmd, act, outc,
								  rule, raw, lk, nbytes, npackets, o)
	), ins AS (
		INSERT INTO correlate.event AS e (tenant, ts, uid, source, class_uid, activity_id, domain, severity_id,
			actor, target, src_ip, dst_ip, dst_port, process, command_line, action, outcome, rule, raw)
		SELECT t, i.ts, i.uid, p_source, i.c, i.a, i.dom, i.sev, i.actor,
			   i.target, i.sip, i.dip, i.dport, i.proc, i.cmd, i.act, i.outc, i.rule, i.raw
		FROM input i
		ON CONFLICT DO NOTHING
		RETURNING e.uid, e.ts
	), added AS (
		SELECT i.* FROM ins JOIN input i ON i.uid = ins.uid AND i.ts = ins.ts
	), flows AS (
		SELECT a.actor, a.target, a.lk, count(*) AS nev, sum(a.nbytes) AS nbytes, sum(a.npackets) AS npackets,
			   min(a.ts) AS first_ts, max(a.ts) AS last_ts,
			   array_agg(DISTINCT a.dport) FILTER (WHERE a.dport IS NOT NULL) AS ports
		FROM added a
		WHERE a.lk IS NOT NULL AND a.actor IS NOT NULL AND a.target IS NOT NULL AND a.actor <> a.target
		GROUP BY a.actor, a.target, a.lk
	), links AS (
		-- counts are added to the edge's, through the unique key (no lookup the planner could misroute)
		INSERT INTO correlate.relationship AS r (tenant, src, dst, kind, likelihood, props, source, first_seen, last_seen)
		SELECT t, f.actor, f.target, f.lk, k.default_likelihood,
			   jsonb_strip_nulls(jsonb_build_object('events', f.nev, 'bytes', f.nbytes, 'packets', f.npackets,
				   'ports', (SELECT jsonb_agg(x.p ORDER BY x.p) FROM (SELECT DISTINCT y.p FROM unnest(f.ports) AS y(p)
																	  ORDER BY 1 LIMIT 64) x))),
			   p_source, f.first_ts, f.last_ts
		FROM flows f JOIN correlate.relationship_kind k ON k.kind = f.lk
		ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET
			props = r.props || jsonb_strip_nulls(jsonb_build_object(
				'events', COALESCE((r.props->>'events')::bigint, 0) + (EXCLUDED.props->>'events')::bigint,
				'bytes', CASE WHEN EXCLUDED.props ? 'bytes'
							  THEN to_jsonb(COALESCE((r.props->>'bytes')::numeric, 0) + (EXCLUDED.props->>'bytes')::numeric)
							  ELSE r.props->'bytes' END,
				'packets', CASE WHEN EXCLUDED.props ? 'packets'
								THEN to_jsonb(COALESCE((r.props->>'packets')::numeric, 0) + (EXCLUDED.props->>'packets')::numeric)
								ELSE r.props->'packets' END,
				'ports', (SELECT jsonb_agg(x.p ORDER BY x.p)
						  FROM (SELECT DISTINCT y.p::integer AS p
								FROM jsonb_array_elements_text(
										 CASE WHEN jsonb_typeof(r.props->'ports') = 'array' THEN r.props->'ports' ELSE '[]' END
										 || COALESCE(EXCLUDED.props->'ports', '[]')) AS y(p)
								ORDER BY 1 LIMIT 64) x))),
			source     = EXCLUDED.source,
			first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
			last_seen  = GREATEST(r.last_seen, EXCLUDED.last_seen)
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM ins), (SELECT min(ins.ts) FROM ins), (SELECT count(*) FROM links)
	INTO n_ev, first_new, n_rel;
	PERFORM correlate._note_arrival(first_new, n_ev);

	RETURN QUERY SELECT n_ev, n_rel, n_res;
END
$$;
COMMENT ON FUNCTION correlate._ingest_events(text, timestamptz[], text[], integer[], integer[], text[], integer[], bigint[], bigint[], inet[], inet[], integer[], text[], text[], text[], text[], text[], jsonb[], integer[], integer[], text[], bigint[], bigint[])
	IS 'Internal to correlate.ingest: stores a batch of validated events (idempotent on source, uid and ts), giving addresses no lease covered their fallback resource and counting flows on links for newly stored events; returns the events stored, the edges written and the address resources created.';

-- Refreshes the planner's statistics of the tables an ingest call grows, from
-- inside the call (ANALYZE counts the transaction's own rows and invalidates
-- cached plans, the foreign-key checks' among them); see keep_statistics() in
-- src/ingest/writer.c.  SECURITY DEFINER because ANALYZE needs the tables'
-- owner; it takes no input and touches nothing but statistics.  SKIP_LOCKED:
-- an ANALYZE inside a transaction keeps its table lock until commit, so a second
-- ingest (another tenant, another source) skips the refresh rather than wait for
-- the first to finish (or deadlock with it), and quietly: a skipped refresh is
-- not the caller's concern.
CREATE FUNCTION correlate._ingest_analyze() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET client_min_messages = error
AS $$
BEGIN
	ANALYZE (SKIP_LOCKED) correlate.resource, correlate.relationship;
END
$$;
COMMENT ON FUNCTION correlate._ingest_analyze()
	IS 'Internal to correlate.ingest: refreshes the planner statistics of resource and relationship while a large ingest call grows them.';

CREATE FUNCTION correlate.ingest(format text, payload text, on_error text DEFAULT 'error')
RETURNS TABLE (events bigint, resources bigint, relationships bigint, findings bigint, rejected bigint)
AS 'MODULE_PATHNAME', 'correlate_ingest'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION correlate.ingest(text, text, text)
	IS 'Parses telemetry of the given format (cloudtrail, falco, k8s_audit, vpc_flow, ocsf, k8s_inventory, aws_iam, trivy, grype) and stores its events, resources, relationships and findings; on_error is ''error'' or ''skip''.';

CREATE FUNCTION correlate.ingest_file(format text, path text, on_error text DEFAULT 'error')
RETURNS TABLE (events bigint, resources bigint, relationships bigint, findings bigint, rejected bigint)
AS 'MODULE_PATHNAME', 'correlate_ingest_file'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION correlate.ingest_file(text, text, text)
	IS 'correlate.ingest() reading a file on the database server, streamed in chunks; needs superuser or pg_read_server_files.';

GRANT SELECT ON correlate.ingest_reject TO correlate_reader;
GRANT INSERT, DELETE ON correlate.ingest_reject TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate.ingest(text, text, text), correlate.ingest_file(text, text, text),
	correlate._ingest_analyze(),
	correlate._ingest_resources(text[], text[], text[], text[], text[], text[], text[], jsonb[], jsonb[], real[], timestamptz[], boolean),
	correlate._ingest_links(bigint[], bigint[], text[], float8[], jsonb[], text, timestamptz[], boolean),
	correlate._ingest_events(text, timestamptz[], text[], integer[], integer[], text[], integer[], bigint[], bigint[], inet[], inet[], integer[], text[], text[], text[], text[], text[], jsonb[], integer[], integer[], text[], bigint[], bigint[])
	TO correlate_writer;
