\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- A large ingest call keeps the planner statistics of resource and relationship
-- in step with what it writes (docs/ingest.md, "Statistics during a large load"):
-- the foreign-key checks of the call would otherwise keep a plan made when the
-- tables looked empty.  Fresh tables have no statistics (reltuples = -1).
SELECT c.relname, c.reltuples < 0 AS no_statistics
FROM pg_class c WHERE c.oid IN ('correlate.resource'::regclass, 'correlate.relationship'::regclass)
ORDER BY 1;

-- 800 GetObject calls on distinct objects of one bucket: 802 resources and 800
-- contains edges written by one call, in batches of 100.  In a transaction that
-- is rolled back: autovacuum cannot see its rows, so only the call itself can
-- have refreshed the statistics.
BEGIN;
SET LOCAL correlate.ingest_batch_size = 100;
SELECT events, resources, relationships, rejected
FROM correlate.ingest('cloudtrail', (
	SELECT string_agg(format('{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/app/s1","accountId":"111122223333"},"eventTime":"2026-11-20T10:%s:%sZ","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.1.57","resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::bucket/o%s"},{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::bucket"}],"eventID":"stats-%s"}',
		lpad((i / 60)::text, 2, '0'), lpad((i % 60)::text, 2, '0'), i, i), E'\n')
	FROM generate_series(1, 800) i));

-- The call refreshed them: the statistics now count rows it wrote.
SELECT c.relname, c.reltuples > 0 AS counts_the_load
FROM pg_class c WHERE c.oid IN ('correlate.resource'::regclass, 'correlate.relationship'::regclass)
ORDER BY 1;
ROLLBACK;

-- The refresh is internal: writers may run it, readers may not, nobody else.
SELECT has_function_privilege('correlate_writer', 'correlate._ingest_analyze()', 'EXECUTE') AS writer,
	   has_function_privilege('correlate_reader', 'correlate._ingest_analyze()', 'EXECUTE') AS reader,
	   has_function_privilege('public', 'correlate._ingest_analyze()', 'EXECUTE') AS public;
