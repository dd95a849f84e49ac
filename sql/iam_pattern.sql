\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- correlate.iam_pattern: input, flavour, matching, comparison, bad input.
SET search_path = correlate, public;

-- Flavour comes from the text: arn: patterns are case-sensitive, the rest are not.
SELECT p, iam_pattern_flavour(p::iam_pattern) AS flavour
FROM (VALUES ('s3:GetObject'), ('s3:*'), ('*'), ('arn:aws:s3:::bucket/*'), ('ARN:aws:s3:::x'),
			 ('ec2.amazonaws.com')) v(p) ORDER BY 1;

-- Matching: actions ignore ASCII case, ARNs do not; ? is one character (not one byte).
SELECT p, s, p::iam_pattern ~~> s AS matches
FROM (VALUES
	('s3:GetObject', 's3:getobject'),
	('s3:Get*', 'S3:GETOBJECT'),
	('s3:Get*', 's3:PutObject'),
	('s3:*', 's3:'),
	('*', ''),
	('**', 'anything'),
	('ec2:Describe*', 'ec2:DescribeInstances'),
	('ec2:?escribe*', 'ec2:describeInstances'),
	('iam:*Policy', 'iam:AttachRolePolicy'),
	('iam:*Policy', 'iam:AttachRolePolicyVersion'),
	('arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/key'),
	('arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket'),
	('arn:aws:s3:::bucket*', 'arn:aws:s3:::bucket'),
	('arn:aws:s3:::Bucket/*', 'arn:aws:s3:::bucket/key'),
	('arn:aws:iam::*:role/*', 'arn:aws:iam::111122223333:role/legacy-webapp-role'),
	('arn:aws:iam::?????????????:root', 'arn:aws:iam::111122223333:root'),
	('arn:aws:iam::????????????:root', 'arn:aws:iam::111122223333:root'),
	('arn:aws:s3:::b/?', 'arn:aws:s3:::b/€'),
	('arn:aws:s3:::b/??', 'arn:aws:s3:::b/€'),
	('a*b*c', 'abc'),
	('a*b*c', 'acb'),
	('a*bc*bc', 'abcbcbc'),
	('*ab*ab*', 'abab'),
	('*ab*ab*', 'aba'),
	('?', ''),
	('*?', 'x')
) v(p, s) ORDER BY 1, 2;

-- No exponential backtracking: a long string against a hostile pattern answers at once.
SELECT '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'::iam_pattern ~~> repeat('a', 100000) AS hostile,
	   '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'::iam_pattern ~~> (repeat('a', 100000) || 'b') AS hostile_yes,
	   ('*' || repeat('a', 200) || 'b*')::iam_pattern ~~> (repeat('a', 50000) || 'b') AS long_segment,
	   ('*' || repeat('?', 70) || 'b')::iam_pattern ~~> (repeat('€', 69) || 'b') AS multiword_short,
	   ('*' || repeat('?', 70) || 'b')::iam_pattern ~~> (repeat('€', 70) || 'b') AS multiword_exact;

-- The commutator and the array forms.
SELECT 's3:GetObject' <~~ 's3:Get*'::iam_pattern AS commuted,
	   ARRAY['s3:PutObject', 's3:Get*']::iam_pattern[] ~~> 's3:GetObject' AS any_element,
	   ARRAY['s3:PutObject', NULL]::iam_pattern[] ~~> 's3:GetObject' AS null_never_matches,
	   '{}'::iam_pattern[] ~~> 's3:GetObject' AS empty_array,
	   's3:GetObject' <~~ ARRAY['*']::iam_pattern[] AS commuted_array,
	   iam_first_match(ARRAY['ec2:*', 's3:Get*', 's3:*']::iam_pattern[], 's3:GetObject') AS first_match;

-- Covering (one pattern's matches contain another's): used to decide that a Deny covers an Allow.
SELECT o, i, iam_pattern_covers(o::iam_pattern, i::iam_pattern) AS covers
FROM (VALUES ('*', 'arn:aws:s3:::b/*'), ('s3:*', 's3:Get*'), ('s3:Get*', 's3:*'), ('S3:*', 's3:getobject'),
			 ('s3:Get?bject', 's3:GetObject'), ('s3:Get?bject', 's3:Get*'), ('*ab*', '*a*b*'),
			 ('arn:aws:s3:::*', '*'), ('arn:aws:s3:::b*', 'arn:aws:s3:::b/x?'), ('*?*', '?*')) v(o, i)
ORDER BY 1, 2;

-- Equality follows matching: action patterns compare ignoring ASCII case, ARNs exactly.
SELECT 's3:GetObject'::iam_pattern = 'S3:getobject'::iam_pattern AS action_eq,
	   'arn:aws:s3:::B'::iam_pattern = 'arn:aws:s3:::b'::iam_pattern AS arn_eq,
	   's3:a'::iam_pattern < 's3:B'::iam_pattern AS folded_order,
	   '*'::iam_pattern < 'arn:aws:s3:::a'::iam_pattern AS actions_first,
	   _iam_pattern_hash('S3:X') = _iam_pattern_hash('s3:x') AS hash_agrees,
	   _iam_pattern_hash_extended('S3:X', 7) = _iam_pattern_hash_extended('s3:x', 7) AS hash_ext_agrees;

-- GROUP BY, DISTINCT, hash and merge joins, btree and hash indexes.
CREATE TEMP TABLE pats (id int, p iam_pattern);
INSERT INTO pats VALUES (1, 's3:GetObject'), (2, 'S3:GETOBJECT'), (3, 'arn:aws:s3:::b'),
	(4, 'arn:aws:s3:::B'), (5, 's3:*'), (6, 's3:getobject');
SELECT p, count(*) FROM pats GROUP BY p ORDER BY p;
SELECT count(DISTINCT p) AS distinct_patterns FROM pats;
SET enable_mergejoin = off; SET enable_nestloop = off;
SELECT count(*) AS hash_join FROM pats a JOIN pats b ON a.p = b.p;
RESET enable_mergejoin; SET enable_hashjoin = off;
SELECT count(*) AS merge_join FROM pats a JOIN pats b ON a.p = b.p;
RESET enable_hashjoin; RESET enable_nestloop;
CREATE INDEX pats_btree ON pats (p);
CREATE INDEX pats_hash ON pats USING hash (p);
SET enable_seqscan = off;
SELECT id FROM pats WHERE p = 's3:getObject' ORDER BY id;
SELECT id FROM pats WHERE p > 'arn:' ORDER BY p, id;
RESET enable_seqscan;

-- Casts and text round trips.
SELECT 's3:Get*'::text::iam_pattern::text AS round_trip,
	   iam_pattern('arn:aws:s3:::x') AS from_function,
	   ARRAY['a', 'b']::text[]::iam_pattern[] AS array_cast;

-- Binary send/receive round trip through COPY BINARY.
CREATE TEMP TABLE bin_src (p iam_pattern, ps iam_pattern[]);
INSERT INTO bin_src VALUES ('s3:Get*', '{ec2:*,arn:aws:s3:::b/€}');
COPY bin_src TO '/tmp/correlate_iam_pattern.bin' WITH (FORMAT binary);
CREATE TEMP TABLE bin_dst (LIKE bin_src);
COPY bin_dst FROM '/tmp/correlate_iam_pattern.bin' WITH (FORMAT binary);
SELECT p, ps FROM bin_dst;
SELECT iam_pattern_send('s3:x');

-- The operator classes are consistent.
SELECT c.opcname, a.amname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE c.opcnamespace = 'correlate'::regnamespace ORDER BY 1;

-- Bad input errors cleanly (with the detail shown).
\set VERBOSITY default
SELECT ''::iam_pattern;
SELECT iam_pattern('');
SELECT repeat('a', 2049)::iam_pattern;
SELECT E's3:Get\tObject'::iam_pattern;
SELECT E's3:\x01'::iam_pattern;
SELECT ARRAY['s3:*', '']::iam_pattern[];
SELECT iam_pattern_check(''), iam_pattern_check(repeat('a', 3000)), iam_pattern_check(E'x\ny'),
	   iam_pattern_check('s3:*') IS NULL AS ok;
SET correlate.iam_pattern_max_length = 16;
SELECT 'arn:aws:s3:::bucket-x'::iam_pattern;
SELECT p FROM pats WHERE id = 3;	-- stored values stay readable under a lower limit
RESET correlate.iam_pattern_max_length;
SET correlate.iam_pattern_max_length = 1;	-- below the minimum
-- Binary input: invalid UTF-8, an unknown version byte, an empty pattern (COPY BINARY made by printf).
CREATE TEMP TABLE bin_bad (p iam_pattern);
COPY bin_bad FROM PROGRAM $$printf 'PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0\0\1\0\0\0\4\1a\377b\377\377'$$ WITH (FORMAT binary);
COPY bin_bad FROM PROGRAM $$printf 'PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0\0\1\0\0\0\2\7a\377\377'$$ WITH (FORMAT binary);
COPY bin_bad FROM PROGRAM $$printf 'PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0\0\1\0\0\0\1\1\377\377'$$ WITH (FORMAT binary);
COPY bin_bad FROM PROGRAM $$printf 'PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0\0\1\0\0\0\3\1a\1\377\377'$$ WITH (FORMAT binary);
COPY bin_bad FROM PROGRAM $$printf 'PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0\0\1\0\0\0\3\1s3\377\377'$$ WITH (FORMAT binary);
SELECT p FROM bin_bad;
\set VERBOSITY terse

RESET search_path;
