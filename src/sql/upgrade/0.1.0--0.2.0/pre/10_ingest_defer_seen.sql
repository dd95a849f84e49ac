-- Issue 14 (ingest): _ingest_resources and _ingest_links take p_defer_seen (the end-of-call widening);
-- the old signatures go, the generated part creates the new ones.
DROP FUNCTION correlate._ingest_resources(text[], text[], text[], text[], text[], text[], text[], jsonb[], jsonb[], real[], timestamptz[]);
DROP FUNCTION correlate._ingest_links(bigint[], bigint[], text[], float8[], jsonb[], text, timestamptz[]);
-- rows left as they are still draw their ids from the sequences
GRANT USAGE ON SEQUENCE correlate.resource_id_seq, correlate.relationship_id_seq TO correlate_writer;
