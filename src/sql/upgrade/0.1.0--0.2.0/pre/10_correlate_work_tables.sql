-- 0.2.0: correlate() keeps its candidates in two unlogged work tables instead of two
-- temporary tables created per run (85_incidents.sql); correlate._correlate_analyze() and its
-- grant come from the generated part.
-- correlate()'s work tables: the events of a run that match some step of an enabled
-- rule, and their entities.  Unlogged and emptied by each run before it returns (no
-- table is created per run, so pg_cron runs leave nothing in the catalog); never dumped.
CREATE UNLOGGED TABLE correlate.correlate_cand (
	tenant text NOT NULL,
	run    xid8 NOT NULL,
	rule   text NOT NULL,
	step   integer NOT NULL,
	id     bigint NOT NULL,
	ts     timestamptz NOT NULL,
	actor  bigint,
	target bigint,
	src_ip inet
);
COMMENT ON TABLE correlate.correlate_cand IS 'Internal work table of correlate(): the events of the running correlation that match a step of an enabled rule (empty between runs).';
COMMENT ON COLUMN correlate.correlate_cand.tenant IS 'Tenant of the running correlation.';
COMMENT ON COLUMN correlate.correlate_cand.run IS 'Transaction of the running correlation.';
COMMENT ON COLUMN correlate.correlate_cand.rule IS 'Correlation rule whose step the event matches.';
COMMENT ON COLUMN correlate.correlate_cand.step IS 'The step it matches.';
COMMENT ON COLUMN correlate.correlate_cand.id IS 'Event id.';
COMMENT ON COLUMN correlate.correlate_cand.ts IS 'Event time.';
COMMENT ON COLUMN correlate.correlate_cand.actor IS 'The event''s actor.';
COMMENT ON COLUMN correlate.correlate_cand.target IS 'The event''s target.';
COMMENT ON COLUMN correlate.correlate_cand.src_ip IS 'The event''s source address.';
CREATE INDEX correlate_cand_step_idx ON correlate.correlate_cand (tenant, run, rule, step, ts, id);
CREATE INDEX correlate_cand_id_idx ON correlate.correlate_cand (tenant, run, id);
CREATE INDEX correlate_cand_actor_idx ON correlate.correlate_cand (tenant, run, rule, step, actor, ts);
CREATE INDEX correlate_cand_target_idx ON correlate.correlate_cand (tenant, run, rule, step, target, ts);
SELECT correlate._isolate_tenants('correlate.correlate_cand');

CREATE UNLOGGED TABLE correlate.correlate_ent (
	tenant text NOT NULL,
	run    xid8 NOT NULL,
	rule   text NOT NULL,
	step   integer NOT NULL,
	entity bigint NOT NULL,
	ts     timestamptz NOT NULL,
	id     bigint NOT NULL
);
COMMENT ON TABLE correlate.correlate_ent IS 'Internal work table of correlate(): the entities (identity chain) of each candidate event of the running correlation (empty between runs).';
COMMENT ON COLUMN correlate.correlate_ent.tenant IS 'Tenant of the running correlation.';
COMMENT ON COLUMN correlate.correlate_ent.run IS 'Transaction of the running correlation.';
COMMENT ON COLUMN correlate.correlate_ent.rule IS 'Correlation rule whose step the event matches.';
COMMENT ON COLUMN correlate.correlate_ent.step IS 'The step it matches.';
COMMENT ON COLUMN correlate.correlate_ent.entity IS 'A resource in the event''s identity chain.';
COMMENT ON COLUMN correlate.correlate_ent.ts IS 'Event time.';
COMMENT ON COLUMN correlate.correlate_ent.id IS 'Event id.';
CREATE INDEX correlate_ent_entity_idx ON correlate.correlate_ent (tenant, run, rule, step, entity, ts);
CREATE INDEX correlate_ent_id_idx ON correlate.correlate_ent (tenant, run, id);
SELECT correlate._isolate_tenants('correlate.correlate_ent');
GRANT SELECT, INSERT, DELETE ON correlate.correlate_cand, correlate.correlate_ent TO correlate_writer;
