\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- correlate.ingest() / ingest_file(): arguments, permissions, tenancy, batching, the
-- reject table and the limits (docs/ingest.md).
SET timezone = 'UTC';

-- 1. Signatures and argument errors.
SELECT p.oid::regprocedure, pg_get_function_result(p.oid), pg_get_function_arguments(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'correlate' AND p.proname IN ('ingest', 'ingest_file') ORDER BY 1::text;
SELECT * FROM correlate.ingest('syslog', '{}');
SELECT * FROM correlate.ingest('CloudTrail', '{}');
SELECT * FROM correlate.ingest('cloudtrail', '{}', 'ignore');
SELECT * FROM correlate.ingest(NULL, '{}');
SELECT * FROM correlate.ingest('cloudtrail', NULL);
SELECT * FROM correlate.ingest('cloudtrail', '{}', NULL);
SELECT * FROM correlate.ingest('cloudtrail', '');
SELECT * FROM correlate.ingest('cloudtrail', '   ');
SELECT * FROM correlate.ingest('cloudtrail', '{"Records":[]}');

-- 2. ingest_file: superuser or pg_read_server_files only; missing files and directories.
SELECT * FROM correlate.ingest_file('cloudtrail', '/nonexistent/ct.json');
SELECT * FROM correlate.ingest_file('cloudtrail', '/');
CREATE ROLE ingest_api_writer;
GRANT correlate_writer TO ingest_api_writer;
CREATE ROLE ingest_api_reader;
GRANT correlate_reader TO ingest_api_reader;
SELECT correlate.grant_tenant('default', 'ingest_api_writer'), correlate.grant_tenant('default', 'ingest_api_reader');
SET ROLE ingest_api_writer;
SELECT * FROM correlate.ingest_file('cloudtrail', '/nonexistent/ct.json');
SELECT * FROM correlate.ingest('cloudtrail', '{"eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"w-1"}');
RESET ROLE;
GRANT pg_read_server_files TO ingest_api_writer;
SET ROLE ingest_api_writer;
SELECT * FROM correlate.ingest_file('cloudtrail', '/nonexistent/ct.json');
RESET ROLE;
SET ROLE ingest_api_reader;
SELECT * FROM correlate.ingest('cloudtrail', '{}');
SELECT count(*) FROM correlate.ingest_reject;
RESET ROLE;

-- 3. Tenancy: rows, rejects included, land in the session's tenant.
SELECT correlate.grant_tenant('acme', 'correlate_writer');
SET ROLE ingest_api_writer;
SET correlate.tenant = 'acme';
SELECT * FROM correlate.ingest('cloudtrail', '{"eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"w-2"}
not json', 'skip');
SELECT uid FROM correlate.event ORDER BY uid;
SELECT recno, reason FROM correlate.ingest_reject;
RESET correlate.tenant;
SELECT uid FROM correlate.event ORDER BY uid;
SELECT count(*) AS rejects_seen_from_default FROM correlate.ingest_reject;
SET correlate.tenant = 'other';
SELECT * FROM correlate.ingest('cloudtrail', '{}');
RESET correlate.tenant;
RESET ROLE;
SELECT tenant, format, recno FROM correlate.ingest_reject ORDER BY tenant;

-- 4. The same reject twice is stored once.
SELECT rejected FROM correlate.ingest('falco', 'nope', 'skip');
SELECT rejected FROM correlate.ingest('falco', 'nope', 'skip');
SELECT format, recno, reason, raw FROM correlate.ingest_reject WHERE format = 'falco';

-- 5. Batches: many small flushes give the same result; a record the database refuses at
-- flush time is found by bisection and named (error) or rejected alone (skip).
SET correlate.ingest_batch_size = 2;
SELECT correlate.upsert_resource('arn:aws:iam::123456789012:user/Mallory', 'aws:iam:role') > 0 AS clash_prepared;
\set recs '{"eventTime":"2026-11-20T10:00:01Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"b-1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/Alice"}}\n{"eventTime":"2026-11-20T10:00:02Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"b-2","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/Bob"}}\n{"eventTime":"2026-11-20T10:00:03Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"b-3","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/Mallory"}}\n{"eventTime":"2026-11-20T10:00:04Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"b-4","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/Alice"}}\n{"eventTime":"2026-11-20T10:00:05Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"b-5","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/Carol"}}'
SELECT * FROM correlate.ingest('cloudtrail', replace(:'recs', '\n', E'\n'));
SELECT count(*) AS stored FROM correlate.event WHERE uid LIKE 'b-%';
SELECT * FROM correlate.ingest('cloudtrail', replace(:'recs', '\n', E'\n'), 'skip');
SELECT e.uid, r.uid AS actor FROM correlate.event e JOIN correlate.resource r ON r.id = e.actor
WHERE e.uid LIKE 'b-%' ORDER BY e.uid;
SELECT recno, reason FROM correlate.ingest_reject WHERE format = 'cloudtrail' AND recno = 3;
-- first/last seen of a resource reported in several flushes
SELECT uid, first_seen, last_seen FROM correlate.resource WHERE uid LIKE '%user/Alice';
RESET correlate.ingest_batch_size;

-- 6. Limits are settings.
SHOW correlate.ingest_batch_size;
SHOW correlate.ingest_max_document_size;
SHOW correlate.ingest_max_depth;
SHOW correlate.ingest_reject_raw_max;
SET correlate.ingest_batch_size = 0;
SET correlate.ingest_max_depth = 5;
SET correlate.ingest_max_document_size = '1kB';
SELECT rejected FROM correlate.ingest('falco', '{"rule":"r","time":"2026-11-20T10:00:00Z","output":"' || repeat('x', 2000) || '"}', 'skip');
SELECT reason FROM correlate.ingest_reject WHERE reason LIKE '%max_document_size%';
RESET correlate.ingest_max_document_size;
SET correlate.ingest_reject_raw_max = '1kB';
SELECT rejected FROM correlate.ingest('falco', '{"time":"2026-11-20T10:00:00Z","output":"' || repeat('y', 3000) || '"}', 'skip');
SELECT reason, length(raw) FROM correlate.ingest_reject WHERE raw LIKE '%yyy%';
RESET correlate.ingest_reject_raw_max;

-- 7. Documentation and privileges of the reject table.
SELECT obj_description('correlate.ingest_reject'::regclass, 'pg_class') IS NOT NULL AS commented;
SELECT relrowsecurity FROM pg_class WHERE oid = 'correlate.ingest_reject'::regclass;
SELECT has_table_privilege('correlate_reader', 'correlate.ingest_reject', 'SELECT') AS reader_select,
	   has_table_privilege('correlate_reader', 'correlate.ingest_reject', 'INSERT') AS reader_insert,
	   has_table_privilege('correlate_writer', 'correlate.ingest_reject', 'DELETE') AS writer_delete,
	   has_function_privilege('correlate_reader', 'correlate.ingest(text, text, text)', 'EXECUTE') AS reader_ingest,
	   has_function_privilege('correlate_writer', 'correlate.ingest_file(text, text, text)', 'EXECUTE') AS writer_ingest_file;
SELECT count(*) AS dumped FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'correlate' AND c = 'correlate.ingest_reject'::regclass;

DROP OWNED BY ingest_api_writer, ingest_api_reader;
DROP ROLE ingest_api_writer;
DROP ROLE ingest_api_reader;
