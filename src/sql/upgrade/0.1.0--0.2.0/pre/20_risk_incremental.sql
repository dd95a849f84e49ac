-- Issue 19 / 14 (incremental rescore): rescore() takes from_scratch and _risk_reasons() a scope;
-- the old signatures go, the generated part creates the new ones.
DROP FUNCTION correlate.rescore(timestamptz, interval);
DROP FUNCTION correlate._risk_reasons(timestamptz, interval);

-- Tuned weights survive pg_dump (80_risk.sql).
CREATE TABLE correlate.risk_factor_tuning (
	name    text PRIMARY KEY REFERENCES correlate.risk_factor (name) ON DELETE CASCADE ON UPDATE CASCADE,
	weight  numeric NOT NULL,
	enabled boolean NOT NULL
);
COMMENT ON TABLE correlate.risk_factor_tuning IS 'The factors whose weight or enabled flag differs from the builtin, kept by trigger from correlate.risk_factor and dumped by pg_dump; a restored row sets the factor back (change weights in risk_factor, not here).';
COMMENT ON COLUMN correlate.risk_factor_tuning.name IS 'The factor.';
COMMENT ON COLUMN correlate.risk_factor_tuning.weight IS 'Its tuned weight.';
COMMENT ON COLUMN correlate.risk_factor_tuning.enabled IS 'Whether it counts.';
SELECT pg_catalog.pg_extension_config_dump('correlate.risk_factor_tuning', '');

-- The incremental rescore's state and change log (80_risk.sql).
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

GRANT SELECT ON correlate.risk_factor_tuning TO correlate_reader;
GRANT SELECT ON correlate.risk_path_state TO correlate_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON correlate.risk_state, correlate.risk_dirty, correlate.risk_path_state TO correlate_writer;
