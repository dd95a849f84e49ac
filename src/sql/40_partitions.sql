-- 40_partitions.sql: monthly partitions of correlate.event, created ahead and
-- dropped after a retention period.
--
-- Both functions are SECURITY DEFINER because attaching and dropping partitions
-- needs ownership of correlate.event; they take no SQL text and are granted to
-- correlate_admin only (and suit a pg_cron job).  Rows that landed in the
-- default partition before their month's partition existed are moved into it.

CREATE FUNCTION correlate.create_event_partitions(ahead integer DEFAULT 3, start_at timestamptz DEFAULT now())
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m timestamptz;
	lo timestamptz;
	hi timestamptz;
	part text;
BEGIN
	IF ahead IS NULL OR ahead < 0 OR ahead > 120 THEN
		RAISE EXCEPTION 'ahead must be between 0 and 120 months, not %', ahead
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF start_at IS NULL OR NOT isfinite(start_at) THEN
		RAISE EXCEPTION 'start_at must be a finite time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- Partition bounds are whole UTC months whatever the session's time zone.
	FOR i IN 0..ahead LOOP
		lo := (date_trunc('month', start_at AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
		hi := (date_trunc('month', start_at AT TIME ZONE 'UTC') + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
		part := 'event_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM');
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
							  WHERE n.nspname = 'correlate' AND c.relname = part);
		IF EXISTS (SELECT 1 FROM correlate.event_default WHERE ts >= lo AND ts < hi) THEN
			ALTER TABLE correlate.event DETACH PARTITION correlate.event_default;
			EXECUTE format('CREATE TABLE correlate.%I PARTITION OF correlate.event FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
			PERFORM correlate._event_partition_setup(format('correlate.%I', part)::regclass);
			EXECUTE format('INSERT INTO correlate.%I OVERRIDING SYSTEM VALUE SELECT * FROM correlate.event_default WHERE ts >= %L AND ts < %L', part, lo, hi);
			DELETE FROM correlate.event_default WHERE ts >= lo AND ts < hi;
			ALTER TABLE correlate.event ATTACH PARTITION correlate.event_default DEFAULT;
		ELSE
			EXECUTE format('CREATE TABLE correlate.%I PARTITION OF correlate.event FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
			PERFORM correlate._event_partition_setup(format('correlate.%I', part)::regclass);
		END IF;
		EXECUTE format('COMMENT ON TABLE correlate.%I IS %L', part, 'Events of ' || to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM') || ' (UTC).');
		RETURN NEXT part;
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate.create_event_partitions(integer, timestamptz)
	IS 'Creates monthly partitions of correlate.event from start_at''s month to ahead months later; moves matching rows out of the default partition. Returns the partitions created.';

CREATE FUNCTION correlate.drop_event_partitions(retention interval, as_of timestamptz DEFAULT NULL)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cutoff timestamptz;
	newest timestamptz;
	-- registered when the library loads; read as text so it works before that too
	lead interval := COALESCE(NULLIF(pg_catalog.current_setting('correlate.retention_clock_lead', true), ''), '7 days')::interval;
	p record;
BEGIN
	IF retention IS NULL OR retention < interval '0' THEN
		RAISE EXCEPTION 'retention must be a non-negative interval, not %', retention
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF as_of IS NOT NULL AND NOT isfinite(as_of) THEN
		RAISE EXCEPTION 'as_of must be a finite time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lead < interval '0' THEN
		RAISE EXCEPTION 'correlate.retention_clock_lead must not be negative, not %', lead
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF as_of IS NOT NULL THEN
		cutoff := as_of - retention;
	ELSE
		-- The clock is trusted only as far as the data agrees with it: a clock stepped
		-- years ahead (NTP, a VM restored from an old snapshot then corrected, a bad
		-- RTC) must not make one scheduled run drop every event. Age is measured from
		-- the newest stored event when the clock runs ahead of it by more than
		-- correlate.retention_clock_lead; an explicit as_of is used as given.
		-- the newest event of each tenant through the (tenant, ts, ...) key: a skip scan
		-- over the tenants, then one backward probe each, not a scan of every event
		WITH RECURSIVE ten AS (
			SELECT min(e.tenant) AS tenant FROM correlate.event e
			UNION ALL
			SELECT (SELECT min(e.tenant) FROM correlate.event e WHERE e.tenant > ten.tenant)
			FROM ten WHERE ten.tenant IS NOT NULL)
		SELECT max((SELECT max(e.ts) FROM correlate.event e WHERE e.tenant = ten.tenant)) INTO newest
		FROM ten WHERE ten.tenant IS NOT NULL;
		cutoff := now() - retention;
		IF newest IS NOT NULL AND now() > newest + lead THEN
			cutoff := LEAST(cutoff, newest + lead - retention);
			RAISE NOTICE 'the clock is % ahead of the newest stored event: retention counts from % instead',
				now() - newest, newest + lead
				USING HINT = 'Pass as_of to drop_event_partitions to use another time as given.';
		END IF;
	END IF;
	FOR p IN
		SELECT c.relname,
			   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
		FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'correlate.event'::regclass AND c.relname <> 'event_default'
		ORDER BY c.relname
	LOOP
		IF p.upper_bound <= cutoff THEN
			EXECUTE format('DROP TABLE correlate.%I', p.relname);
			RETURN NEXT p.relname;
		END IF;
	END LOOP;
	DELETE FROM correlate.event_default WHERE ts < cutoff;
END
$$;
COMMENT ON FUNCTION correlate.drop_event_partitions(interval, timestamptz)
	IS 'Drops event partitions wholly older than as_of - retention (and deletes such rows from the default partition); as_of defaults to now(), capped at the newest stored event plus correlate.retention_clock_lead so a clock stepped ahead cannot drop recent data. Returns the partitions dropped.';

GRANT EXECUTE ON FUNCTION correlate.create_event_partitions(integer, timestamptz),
	correlate.drop_event_partitions(interval, timestamptz) TO correlate_admin;
