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

CREATE FUNCTION correlate.drop_event_partitions(retention interval)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cutoff timestamptz;
	p record;
BEGIN
	IF retention IS NULL OR retention < interval '0' THEN
		RAISE EXCEPTION 'retention must be a non-negative interval, not %', retention
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	cutoff := now() - retention;
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
COMMENT ON FUNCTION correlate.drop_event_partitions(interval)
	IS 'Drops event partitions wholly older than now() - retention (and deletes such rows from the default partition). Returns the partitions dropped.';

GRANT EXECUTE ON FUNCTION correlate.create_event_partitions(integer, timestamptz),
	correlate.drop_event_partitions(interval) TO correlate_admin;
