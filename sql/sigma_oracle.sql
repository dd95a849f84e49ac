\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- The 55 SigmaHQ rules for CloudTrail and Kubernetes audit (test/data/sigma, DRL 1.1, authors kept) against
-- pySigma's matches on the repo's sample logs (test/data/sigma/expected-matches.json): exactly the same
-- (rule, file, record) set, at ingest and with detect() over history.  No difference on purpose.
SET timezone = 'UTC';
\set d `pwd`

-- 1. Load the whole folder (a directory, recursively): every rule loads, none is refused.
SELECT source, count(*) AS rules FROM correlate.load_sigma_file(:'d' || '/test/data/sigma/rules') GROUP BY 1 ORDER BY 1;
SELECT count(*) AS loaded, count(*) FILTER (WHERE author IS NOT NULL) AS with_author FROM correlate.detection_rule;

-- 2. Ingest the sample logs: rules run as events land.
CREATE TEMP TABLE samples (f text, format text);
\copy samples (f) FROM PROGRAM 'cd test/data && ls cloudtrail/*/*.json k8s-audit/*/*.json'
UPDATE samples SET format = CASE WHEN f LIKE 'cloudtrail/%' THEN 'cloudtrail' ELSE 'k8s_audit' END;
SELECT format, sum(i.events) AS events, sum(i.rejected) AS rejected
FROM samples s, correlate.ingest_file(s.format, :'d' || '/test/data/' || s.f) i GROUP BY 1 ORDER BY 1;

-- Records by (file, index) as the oracle numbers them, tied to the stored event by content.
CREATE TEMP TABLE rec AS
SELECT s.f, r.idx - 1 AS idx, e.id AS event_id
FROM samples s
CROSS JOIN LATERAL (SELECT pg_read_file(:'d' || '/test/data/' || s.f)::jsonb AS j) d
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(d.j) = 'array' THEN d.j
											 WHEN d.j ? 'Records' THEN d.j->'Records'
											 WHEN d.j ? 'items' THEN d.j->'items'
											 ELSE jsonb_build_array(d.j) END) WITH ORDINALITY r(rec, idx)
JOIN correlate.event e ON e.raw = r.rec;
SELECT count(*) AS records, count(DISTINCT event_id) AS events FROM rec;

CREATE TEMP TABLE oracle AS
SELECT x.value->>'id' AS sigma_id, m->>0 AS f, (m->>1)::int AS idx
FROM jsonb_each(pg_read_file(:'d' || '/test/data/sigma/expected-matches.json')::jsonb->'rules') x,
	 jsonb_array_elements(x.value->'matches') m;

CREATE TEMP VIEW ours AS
SELECT dt.sigma_id, rec.f, rec.idx FROM correlate.detection dt JOIN rec ON rec.event_id = dt.event_id;

-- 3. Rule by rule: our detections and the oracle's matches.
SELECT r.title, (SELECT count(*) FROM oracle o WHERE o.sigma_id = r.sigma_id) AS oracle,
	   (SELECT count(*) FROM ours o WHERE o.sigma_id = r.sigma_id) AS ours
FROM correlate.detection_rule r
WHERE EXISTS (SELECT 1 FROM oracle o WHERE o.sigma_id = r.sigma_id) OR EXISTS (SELECT 1 FROM ours o WHERE o.sigma_id = r.sigma_id)
ORDER BY r.title;
-- Differences (none): in the oracle only, or ours only.
(SELECT 'oracle only' AS side, * FROM oracle EXCEPT SELECT 'oracle only', * FROM ours)
UNION ALL
(SELECT 'ours only', * FROM ours EXCEPT SELECT 'ours only', * FROM oracle)
ORDER BY 1, 2, 3, 4;
SELECT count(*) AS detections, count(DISTINCT sigma_id) AS rules FROM correlate.detection;

-- Detections keep the rule's author, id and title (Detection Rule License), its ATT&CK tags and level.
SELECT dt.title, dt.author, dt.level, dt.severity_id, dt.tactics, dt.techniques
FROM correlate.detection dt JOIN rec ON rec.event_id = dt.event_id
WHERE rec.f LIKE '%iam-update-user-login-profile%' OR rec.f LIKE '%delete_deployment%'
ORDER BY dt.title;
-- The entity is the event's actor, as incidents resolve it.
SELECT dt.title, r.uid AS entity
FROM correlate.detection dt JOIN correlate.event e ON e.id = dt.event_id LEFT JOIN correlate.resource r ON r.id = dt.entity
WHERE dt.title IN ('AWS User Login Profile Was Modified', 'Deployment Deleted From Kubernetes Cluster')
ORDER BY 1;

-- 4. detect() over history finds the same matches, creates nothing twice; after deleting the
-- detections it recreates exactly them.
SELECT sum(matched) AS matched, sum(created) AS created FROM correlate.detect(NULL, NULL);
DELETE FROM correlate.detection;
SELECT sum(matched) AS matched, sum(created) AS created FROM correlate.detect(NULL, NULL);
(SELECT * FROM oracle EXCEPT SELECT * FROM ours) UNION ALL (SELECT * FROM ours EXCEPT SELECT * FROM oracle);
-- Restricted to named rules (by Sigma id or title), and to a time range.
DELETE FROM correlate.detection;
SELECT title, matched, created FROM correlate.detect(NULL, NULL, ARRAY['Kubernetes Secrets Modified or Deleted', '40967487-139b-4811-81d9-c9767a92aa5a']);
SELECT count(*) AS detections FROM correlate.detect('2100-01-01', '2100-01-02');

-- Re-ingesting the same files stores no event and no detection twice.
SELECT sum(matched) AS matched, sum(created) AS created FROM correlate.detect(NULL, NULL);
SELECT sum(i.events) AS new_events FROM samples s, correlate.ingest_file(s.format, :'d' || '/test/data/' || s.f) i;
SELECT count(*) AS detections FROM correlate.detection;
