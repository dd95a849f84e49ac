\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Bad input, for every format: an error naming the record by default, a reject with
-- 'skip', never a crash, memory bounded (docs/ingest.md).  The 200 MB document is
-- tested by test/t/ingest_big.sh.
SET timezone = 'UTC';
CREATE TEMP TABLE fmt (f text);
INSERT INTO fmt VALUES ('cloudtrail'), ('falco'), ('k8s_audit'), ('vpc_flow'), ('ocsf');

-- 1. Not JSON, truncated JSON, JSON of the wrong shape.
SELECT * FROM correlate.ingest('cloudtrail', 'hello world');
SELECT * FROM correlate.ingest('falco', '{"rule":"r","time":"2026-11-20T10:00:00Z"');
SELECT * FROM correlate.ingest('k8s_audit', '[{"kind":"Event"}, {"kind":');
SELECT * FROM correlate.ingest('ocsf', '{"class_uid": 6003, "time": 1}}');
SELECT f.f, i.* FROM fmt f, correlate.ingest(f.f, 'hello world
{"a": tru}
{"a": [1, 2}
[1, 2, 3]
42
"text"
null
{"unterminated": "str', 'skip') i ORDER BY 1;
SELECT format, recno, reason FROM correlate.ingest_reject ORDER BY format, recno;
TRUNCATE correlate.ingest_reject;

-- 2. Nesting 10,000 deep (arrays, objects, inside a wrapper) is refused before parsing.
SELECT f.f, i.rejected FROM fmt f,
	correlate.ingest(f.f, repeat('[', 10000) || repeat(']', 10000), 'skip') i ORDER BY 1;
SELECT rejected FROM correlate.ingest('cloudtrail', '{"Records":[' || repeat('{"a":', 10000) || '1' || repeat('}', 10000) || ']}', 'skip');
SELECT rejected FROM correlate.ingest('ocsf', repeat('{"a":', 10000) || '1' || repeat('}', 10000), 'skip');
SELECT DISTINCT reason FROM correlate.ingest_reject ORDER BY 1;
SELECT * FROM correlate.ingest('falco', repeat('[', 10000));
TRUNCATE correlate.ingest_reject;

-- 3. A record larger than correlate.ingest_max_document_size is refused, its raw text truncated.
SET correlate.ingest_max_document_size = '64kB';
SELECT rejected FROM correlate.ingest('cloudtrail', '{"Records":[{"eventTime":"2026-11-20T10:00:00Z","pad":"' || repeat('z', 200000) || '"}]}', 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"SchemaVersion":2,"pad":"' || repeat('z', 200000) || '"}', 'skip');
SELECT format, reason, length(raw) AS kept FROM correlate.ingest_reject ORDER BY format;
RESET correlate.ingest_max_document_size;
TRUNCATE correlate.ingest_reject;

-- 4. NUL bytes and invalid UTF-8 (read from files, which text arguments cannot carry) and
-- \u0000 (valid JSON that PostgreSQL cannot store) are rejected; an unpaired surrogate
-- escape is read by json-c as U+FFFD.
\set d `pwd`
\! mkdir -p results && printf '{"rule":"r","time":"2026-11-20T10:00:00Z","output":"a\000b"}\n{"rule":"ok","time":"2026-11-20T10:00:01Z"}\n' > results/ingest_nul.json
\! printf '{"rule":"r","time":"2026-11-20T10:00:00Z","output":"caf\351"}\n{"rule":"r2","time":"2026-11-20T10:00:02Z","output":"\377\376"}\n' > results/ingest_latin1.json
\! printf '2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1795154400 1795154460 ACC\000EPT OK\n' > results/ingest_nul.log
SELECT * FROM correlate.ingest_file('falco', :'d' || '/results/ingest_nul.json');
SELECT * FROM correlate.ingest_file('falco', :'d' || '/results/ingest_nul.json', 'skip');
SELECT * FROM correlate.ingest_file('falco', :'d' || '/results/ingest_latin1.json', 'skip');
SELECT * FROM correlate.ingest_file('vpc_flow', :'d' || '/results/ingest_nul.log', 'skip');
SELECT * FROM correlate.ingest('falco', '{"rule":"r","time":"2026-11-20T10:00:00Z","output":"a\u0000b"}
{"rule":"r","time":"2026-11-20T10:00:01Z","output":"\ud800 alone"}
{"rule":"r","time":"2026-11-20T10:00:02Z","output":"pair \ud83d\ude00 ok"}', 'skip');
SELECT format, recno, reason, raw FROM correlate.ingest_reject ORDER BY format, recno;
SELECT rule, raw->>'output' AS output FROM correlate.event ORDER BY ts;

-- 5. Wrong types in the fields a format reads, for each format.
SELECT * FROM correlate.ingest('cloudtrail', '{"eventTime":12,"eventSource":"s3.amazonaws.com","eventName":"GetObject"}');
SELECT * FROM correlate.ingest('falco', '{"rule":{"name":"r"},"time":"2026-11-20T10:00:00Z"}');
SELECT * FROM correlate.ingest('k8s_audit', '{"kind":"Event","auditID":1,"verb":"get","requestReceivedTimestamp":"2026-11-20T10:00:00Z"}');
SELECT * FROM correlate.ingest('ocsf', '{"class_uid":6003.5,"time":1795168800000}');
SELECT * FROM correlate.ingest('vpc_flow', '2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1795154400 1795154460 ACCEPT OK extra');
-- fields of the wrong type that are not needed are ignored
SELECT events FROM correlate.ingest('cloudtrail', '{"eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"t-1","userIdentity":"root","resources":{"ARN":1},"requestParameters":[],"sourceIPAddress":["1.2.3.4"],"errorCode":false}');

-- 6. A byte-order mark, CRLF line ends and blank lines are accepted.
SELECT events, rejected FROM correlate.ingest('falco', E'\uFEFF{"rule":"bom","time":"2026-11-20T11:00:00Z"}\r\n\r\n{"rule":"crlf","time":"2026-11-20T11:00:01Z"}\r\n');
SELECT events, rejected FROM correlate.ingest('vpc_flow', E'\r\n2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1795154400 1795154460 ACCEPT OK\r\n\r\n');
