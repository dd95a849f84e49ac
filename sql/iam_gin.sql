\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- GIN operator classes for correlate.iam_pattern and correlate.iam_pattern[]:
-- on random patterns and strings (deterministic: setseed), the index answers
-- exactly what a sequential scan answers, and both agree with an independent
-- oracle (the pattern rewritten as an anchored regular expression).
SET search_path = correlate, public;
SELECT setseed(0.4242);

-- A small alphabet (letters in both cases, separators, a multibyte character
-- without case) so that random patterns and strings match often.
CREATE FUNCTION pg_temp.rstr(n integer, alphabet text) RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT COALESCE(string_agg(substr(alphabet, 1 + floor(random() * length(alphabet))::int, 1), ''), '')
	FROM generate_series(1, n)
$$;
-- A pattern derived from a string: characters become * or ? or flip case.
CREATE FUNCTION pg_temp.mutate(s text) RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT COALESCE(string_agg(CASE WHEN r < 0.15 THEN '*' WHEN r < 0.25 THEN '?'
									WHEN r < 0.32 THEN CASE WHEN c = lower(c) THEN upper(c) ELSE lower(c) END
									WHEN r < 0.38 THEN c || '*'
									ELSE c END, '' ORDER BY i), '')
	FROM (SELECT i, substr(s, i, 1) AS c, random() AS r FROM generate_series(1, length(s)) i) x
$$;
CREATE FUNCTION pg_temp.rstring() RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT CASE WHEN random() < 0.5 THEN 'arn:' ELSE '' END
		   || pg_temp.rstr(floor(random() * 24)::int, 'abAB:/-€')
$$;
CREATE FUNCTION pg_temp.rpattern() RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT CASE
		WHEN random() < 0.03 THEN '*'
		WHEN random() < 0.5 THEN NULLIF(pg_temp.mutate(pg_temp.rstring()), '')
		ELSE NULLIF(CASE WHEN random() < 0.4 THEN 'arn:' ELSE '' END
					|| pg_temp.rstr(floor(random() * 8)::int, 'abAB:/€**??'), '') END
$$;

CREATE TEMP TABLE str AS SELECT i AS id, pg_temp.rstring() AS s FROM generate_series(1, 50) i;
CREATE TEMP TABLE pat AS
	SELECT i AS id, COALESCE(pg_temp.rpattern(), 'a*')::iam_pattern AS p FROM generate_series(1, 2500) i;
CREATE TEMP TABLE apat AS
	SELECT i AS id,
		   CASE WHEN i % 50 = 0 THEN '{}'::iam_pattern[]
				ELSE ARRAY(SELECT CASE WHEN random() < 0.05 THEN NULL ELSE COALESCE(pg_temp.rpattern(), 'b?')::iam_pattern END
						   FROM generate_series(1, 1 + (i % 3)) g WHERE i > 0) END AS ps
	FROM generate_series(1, 2500) i;
SELECT (SELECT count(*) FROM str) * (SELECT count(*) FROM pat) AS scalar_cases,
	   (SELECT count(*) FROM str) * (SELECT count(*) FROM apat) AS array_cases;

-- The oracle: * -> .*, ? -> ., anchored; action patterns compared case-insensitively.
CREATE FUNCTION pg_temp.oracle(p iam_pattern, s text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN iam_pattern_flavour(p) = 'arn'
				THEN s ~ ('^' || replace(replace(p::text, '*', '.*'), '?', '.') || '$')
				ELSE s ~* ('^' || replace(replace(p::text, '*', '.*'), '?', '.') || '$') END
$$;

-- Sequential scan answers.
SET enable_indexscan = off; SET enable_bitmapscan = off;
CREATE TEMP TABLE seq_scalar AS SELECT s.id AS sid, p.id AS pid FROM str s JOIN pat p ON p.p ~~> s.s;
CREATE TEMP TABLE seq_array AS SELECT s.id AS sid, a.id AS aid FROM str s JOIN apat a ON a.ps ~~> s.s;
RESET enable_indexscan; RESET enable_bitmapscan;

-- Oracle answers (ordered by pattern so each regular expression compiles once).
CREATE TEMP TABLE oracle_scalar AS
	SELECT s.id AS sid, p.id AS pid FROM pat p CROSS JOIN str s WHERE pg_temp.oracle(p.p, s.s);
CREATE TEMP TABLE oracle_array AS
	SELECT DISTINCT s.id AS sid, a.id AS aid
	FROM apat a CROSS JOIN LATERAL unnest(a.ps) e(p) CROSS JOIN str s
	WHERE e.p IS NOT NULL AND pg_temp.oracle(e.p, s.s);

-- Index answers.
CREATE INDEX pat_gin ON pat USING gin (p);
CREATE INDEX apat_gin ON apat USING gin (ps);
ANALYZE pat; ANALYZE apat; ANALYZE str;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM pat WHERE p ~~> 'arn:ab';
EXPLAIN (COSTS OFF) SELECT id FROM apat WHERE 'arn:ab' <~~ ps;
CREATE TEMP TABLE idx_scalar (sid int, pid int);
CREATE TEMP TABLE idx_array (sid int, aid int);
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT id, s FROM str ORDER BY id LOOP
		INSERT INTO idx_scalar SELECT r.id, p.id FROM pat p WHERE p.p ~~> r.s;
		INSERT INTO idx_array SELECT r.id, a.id FROM apat a WHERE a.ps ~~> r.s;
	END LOOP;
END
$$;
RESET enable_seqscan;

SELECT 'scalar' AS opclass,
	   (SELECT count(*) FROM seq_scalar) AS seq_matches,
	   (SELECT count(*) FROM idx_scalar) AS index_matches,
	   (SELECT count(*) FROM (SELECT * FROM seq_scalar EXCEPT SELECT * FROM idx_scalar) d) AS seq_not_index,
	   (SELECT count(*) FROM (SELECT * FROM idx_scalar EXCEPT SELECT * FROM seq_scalar) d) AS index_not_seq,
	   (SELECT count(*) FROM (SELECT * FROM seq_scalar EXCEPT SELECT * FROM oracle_scalar) d) AS seq_not_oracle,
	   (SELECT count(*) FROM (SELECT * FROM oracle_scalar EXCEPT SELECT * FROM seq_scalar) d) AS oracle_not_seq
UNION ALL
SELECT 'array',
	   (SELECT count(*) FROM seq_array), (SELECT count(*) FROM idx_array),
	   (SELECT count(*) FROM (SELECT * FROM seq_array EXCEPT SELECT * FROM idx_array) d),
	   (SELECT count(*) FROM (SELECT * FROM idx_array EXCEPT SELECT * FROM seq_array) d),
	   (SELECT count(*) FROM (SELECT * FROM seq_array EXCEPT SELECT * FROM oracle_array) d),
	   (SELECT count(*) FROM (SELECT * FROM oracle_array EXCEPT SELECT * FROM seq_array) d);

-- Both flavours and long literal runs (longer than the 64 characters a key covers) take part.
SELECT iam_pattern_flavour(p) AS flavour, count(*) > 100 AS plenty FROM pat GROUP BY 1 ORDER BY 1;
INSERT INTO pat VALUES (9001, ('arn:aws:s3:::' || repeat('x', 100) || '/*')::iam_pattern),
					   (9002, ('*/' || repeat('y', 100))::iam_pattern),
					   (9003, ('arn:aws:s3:::' || repeat('x', 100) || '/?')::iam_pattern);
SET enable_seqscan = off;
SELECT id FROM pat WHERE p ~~> ('arn:aws:s3:::' || repeat('x', 100) || '/k') AND id > 9000 ORDER BY id;
SELECT id FROM pat WHERE p ~~> ('arn:aws:s3:::' || repeat('x', 99) || '/k') AND id > 9000 ORDER BY id;
SELECT id FROM pat WHERE p ~~> ('z/' || repeat('y', 100)) AND id > 9000 ORDER BY id;
SELECT id FROM pat WHERE p ~~> ('z/' || repeat('y', 99)) AND id > 9000 ORDER BY id;
-- A long query string (100 kB) costs keys for its ends only; answers agree with a scan.
SELECT count(*) AS index_long FROM pat WHERE p ~~> ('arn:' || repeat('ab', 50000));
RESET enable_seqscan;
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT count(*) AS seq_long FROM pat WHERE p ~~> ('arn:' || repeat('ab', 50000));
RESET enable_indexscan; RESET enable_bitmapscan;
SET enable_seqscan = off;
-- Index maintenance: inserts, deletes and updates stay consistent after VACUUM.
DELETE FROM pat WHERE id % 3 = 0;
UPDATE pat SET p = 's3:Get*' WHERE id % 7 = 0;
VACUUM pat;
SELECT count(*) AS index_after_churn FROM pat WHERE p ~~> 's3:GetObject';
RESET enable_seqscan;
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT count(*) AS seq_after_churn FROM pat WHERE p ~~> 's3:GetObject';
RESET enable_indexscan; RESET enable_bitmapscan;

RESET search_path;
