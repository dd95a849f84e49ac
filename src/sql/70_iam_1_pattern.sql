-- 70_iam_1_pattern.sql: correlate.iam_pattern, the IAM wildcard-pattern type
-- (src/iam/iam_pattern.c, iam_match.c, iam_pattern_ops.c, iam_gin.c).
--
-- A pattern uses '*' (any run of characters) and '?' (one character).  Its
-- flavour comes from its text: "arn:..." is an ARN pattern and matches
-- case-sensitively; anything else (actions, service principals, "*") ignores
-- ASCII case.  pattern ~~> string is true when the pattern matches; the array
-- form is true when any element does.  GIN operator classes index a pattern
-- column (or a pattern-array column) for "which rows match this string".
-- The operators live in schema correlate: put it on the search_path or write
-- OPERATOR(correlate.~~>).

CREATE TYPE correlate.iam_pattern;

CREATE FUNCTION correlate.iam_pattern_in(cstring) RETURNS correlate.iam_pattern
AS 'MODULE_PATHNAME', 'iam_pattern_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_pattern_out(correlate.iam_pattern) RETURNS cstring
AS 'MODULE_PATHNAME', 'iam_pattern_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_pattern_recv(internal) RETURNS correlate.iam_pattern
AS 'MODULE_PATHNAME', 'iam_pattern_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_pattern_send(correlate.iam_pattern) RETURNS bytea
AS 'MODULE_PATHNAME', 'iam_pattern_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE correlate.iam_pattern (
	INPUT = correlate.iam_pattern_in,
	OUTPUT = correlate.iam_pattern_out,
	RECEIVE = correlate.iam_pattern_recv,
	SEND = correlate.iam_pattern_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = extended
);
COMMENT ON TYPE correlate.iam_pattern IS 'IAM wildcard pattern (* and ?): an action such as s3:Get* (ASCII case ignored) or an ARN such as arn:aws:s3:::bucket/* (case-sensitive).';
COMMENT ON FUNCTION correlate.iam_pattern_in(cstring) IS 'Text input of correlate.iam_pattern: rejects empty, oversized (correlate.iam_pattern_max_length), badly encoded and control-character input.';
COMMENT ON FUNCTION correlate.iam_pattern_out(correlate.iam_pattern) IS 'Text output of correlate.iam_pattern: the pattern as given.';
COMMENT ON FUNCTION correlate.iam_pattern_recv(internal) IS 'Binary input of correlate.iam_pattern: a version byte, then the text; validated like text input.';
COMMENT ON FUNCTION correlate.iam_pattern_send(correlate.iam_pattern) IS 'Binary output of correlate.iam_pattern.';

-- Conversions and descriptions.
CREATE FUNCTION correlate.iam_pattern(text) RETURNS correlate.iam_pattern
AS 'MODULE_PATHNAME', 'iam_pattern_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_pattern(text) IS 'Makes a pattern from text (the cast text -> correlate.iam_pattern); raises a clear error for invalid input.';
CREATE FUNCTION correlate._iam_pattern_text(correlate.iam_pattern) RETURNS text
AS 'MODULE_PATHNAME', 'iam_pattern_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (text AS correlate.iam_pattern) WITH FUNCTION correlate.iam_pattern(text) AS ASSIGNMENT;
CREATE CAST (correlate.iam_pattern AS text) WITH FUNCTION correlate._iam_pattern_text(correlate.iam_pattern) AS ASSIGNMENT;

CREATE FUNCTION correlate.iam_pattern_flavour(correlate.iam_pattern) RETURNS text
AS 'MODULE_PATHNAME', 'iam_pattern_flavour' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_pattern_flavour(correlate.iam_pattern) IS '''arn'' for patterns starting with arn: (matched case-sensitively), else ''action'' (ASCII case ignored).';

CREATE FUNCTION correlate.iam_pattern_check(text) RETURNS text
AS 'MODULE_PATHNAME', 'iam_pattern_check' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_pattern_check(text) IS 'NULL when the text is a valid IAM pattern, else why it is not (validates without raising).';

-- Matching.
CREATE FUNCTION correlate.iam_match(correlate.iam_pattern, text) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_match(correlate.iam_pattern, text) IS 'Whether the pattern matches the string (the ~~> operator); linear in the string''s length.';
CREATE FUNCTION correlate._iam_matched(text, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_text_matched' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_match(correlate.iam_pattern[], text) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_array_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_match(correlate.iam_pattern[], text) IS 'Whether any pattern of the array matches the string (NULL elements never match).';
CREATE FUNCTION correlate._iam_matched(text, correlate.iam_pattern[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_text_matched_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate.iam_first_match(correlate.iam_pattern[], text) RETURNS correlate.iam_pattern
AS 'MODULE_PATHNAME', 'iam_pattern_first_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_first_match(correlate.iam_pattern[], text) IS 'The first pattern of the array that matches the string, or NULL.';
CREATE FUNCTION correlate.iam_pattern_covers(outer_pattern correlate.iam_pattern, inner_pattern correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_covers_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_pattern_covers(correlate.iam_pattern, correlate.iam_pattern) IS 'Whether every string inner_pattern matches is matched by outer_pattern (sound: true is always right; rare covered pairs answer false).';

CREATE FUNCTION correlate.iam_patterns_cover(outer_patterns correlate.iam_pattern[], inner_patterns correlate.iam_pattern[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_patterns_cover' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_patterns_cover(correlate.iam_pattern[], correlate.iam_pattern[]) IS 'Whether every pattern of inner_patterns is covered by some pattern of outer_patterns.';
CREATE FUNCTION correlate.iam_patterns_overlap(correlate.iam_pattern[], correlate.iam_pattern[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_patterns_overlap' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION correlate.iam_patterns_overlap(correlate.iam_pattern[], correlate.iam_pattern[]) IS 'Whether some pattern of each array may match a common string (one covers or matches the other; errs towards true).';

CREATE OPERATOR correlate.~~> (
	LEFTARG = correlate.iam_pattern, RIGHTARG = text,
	FUNCTION = correlate.iam_match,
	COMMUTATOR = OPERATOR(correlate.<~~),
	RESTRICT = matchingsel, JOIN = matchingjoinsel
);
CREATE OPERATOR correlate.<~~ (
	LEFTARG = text, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_matched,
	COMMUTATOR = OPERATOR(correlate.~~>),
	RESTRICT = matchingsel, JOIN = matchingjoinsel
);
CREATE OPERATOR correlate.~~> (
	LEFTARG = correlate.iam_pattern[], RIGHTARG = text,
	FUNCTION = correlate.iam_match,
	COMMUTATOR = OPERATOR(correlate.<~~),
	RESTRICT = matchingsel, JOIN = matchingjoinsel
);
CREATE OPERATOR correlate.<~~ (
	LEFTARG = text, RIGHTARG = correlate.iam_pattern[],
	FUNCTION = correlate._iam_matched,
	COMMUTATOR = OPERATOR(correlate.~~>),
	RESTRICT = matchingsel, JOIN = matchingjoinsel
);
COMMENT ON OPERATOR correlate.~~> (correlate.iam_pattern, text) IS 'pattern matches string';
COMMENT ON OPERATOR correlate.<~~ (text, correlate.iam_pattern) IS 'string is matched by pattern';
COMMENT ON OPERATOR correlate.~~> (correlate.iam_pattern[], text) IS 'some pattern of the array matches string';
COMMENT ON OPERATOR correlate.<~~ (text, correlate.iam_pattern[]) IS 'string is matched by some pattern of the array';

-- Comparison: equality ignores ASCII case for action patterns, as matching does.
CREATE FUNCTION correlate._iam_pattern_eq(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_ne(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_lt(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_le(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_gt(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_ge(correlate.iam_pattern, correlate.iam_pattern) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_pattern_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_cmp(correlate.iam_pattern, correlate.iam_pattern) RETURNS integer
AS 'MODULE_PATHNAME', 'iam_pattern_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_hash(correlate.iam_pattern) RETURNS integer
AS 'MODULE_PATHNAME', 'iam_pattern_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION correlate._iam_pattern_hash_extended(correlate.iam_pattern, bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'iam_pattern_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR correlate.= (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_eq,
	COMMUTATOR = OPERATOR(correlate.=), NEGATOR = OPERATOR(correlate.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR correlate.<> (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_ne,
	COMMUTATOR = OPERATOR(correlate.<>), NEGATOR = OPERATOR(correlate.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR correlate.< (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_lt,
	COMMUTATOR = OPERATOR(correlate.>), NEGATOR = OPERATOR(correlate.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR correlate.<= (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_le,
	COMMUTATOR = OPERATOR(correlate.>=), NEGATOR = OPERATOR(correlate.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR correlate.> (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_gt,
	COMMUTATOR = OPERATOR(correlate.<), NEGATOR = OPERATOR(correlate.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR correlate.>= (
	LEFTARG = correlate.iam_pattern, RIGHTARG = correlate.iam_pattern,
	FUNCTION = correlate._iam_pattern_ge,
	COMMUTATOR = OPERATOR(correlate.<=), NEGATOR = OPERATOR(correlate.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR correlate.= (correlate.iam_pattern, correlate.iam_pattern) IS 'same pattern (action patterns ignore ASCII case)';
COMMENT ON OPERATOR correlate.<> (correlate.iam_pattern, correlate.iam_pattern) IS 'different patterns';
COMMENT ON OPERATOR correlate.< (correlate.iam_pattern, correlate.iam_pattern) IS 'sorts before (action patterns first, then ARN patterns)';
COMMENT ON OPERATOR correlate.<= (correlate.iam_pattern, correlate.iam_pattern) IS 'sorts before or equal';
COMMENT ON OPERATOR correlate.> (correlate.iam_pattern, correlate.iam_pattern) IS 'sorts after';
COMMENT ON OPERATOR correlate.>= (correlate.iam_pattern, correlate.iam_pattern) IS 'sorts after or equal';

CREATE OPERATOR CLASS correlate.iam_pattern_btree_ops
DEFAULT FOR TYPE correlate.iam_pattern USING btree AS
	OPERATOR 1 correlate.<,
	OPERATOR 2 correlate.<=,
	OPERATOR 3 correlate.=,
	OPERATOR 4 correlate.>=,
	OPERATOR 5 correlate.>,
	FUNCTION 1 correlate._iam_pattern_cmp(correlate.iam_pattern, correlate.iam_pattern);

CREATE OPERATOR CLASS correlate.iam_pattern_hash_ops
DEFAULT FOR TYPE correlate.iam_pattern USING hash AS
	OPERATOR 1 correlate.=,
	FUNCTION 1 correlate._iam_pattern_hash(correlate.iam_pattern),
	FUNCTION 2 correlate._iam_pattern_hash_extended(correlate.iam_pattern, bigint);

-- GIN: each pattern is indexed by its literal prefix and suffix (see iam_gin.c).
CREATE FUNCTION correlate._iam_gin_extract_value(correlate.iam_pattern, internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'iam_gin_extract_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_extract_query(correlate.iam_pattern, internal, int2, internal, internal, internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'iam_gin_extract_query' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_consistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal, internal) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_gin_consistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_triconsistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal) RETURNS "char"
AS 'MODULE_PATHNAME', 'iam_gin_triconsistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION correlate._iam_gin_extract_value_array(correlate.iam_pattern[], internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'iam_gin_extract_value_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_extract_query_array(correlate.iam_pattern[], internal, int2, internal, internal, internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'iam_gin_extract_query' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_consistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal, internal) RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_gin_consistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_gin_triconsistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal) RETURNS "char"
AS 'MODULE_PATHNAME', 'iam_gin_triconsistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS correlate.iam_pattern_ops
DEFAULT FOR TYPE correlate.iam_pattern USING gin AS
	OPERATOR 1 correlate.~~> (correlate.iam_pattern, text),
	FUNCTION 1 pg_catalog.btint4cmp(int4, int4),
	FUNCTION 2 correlate._iam_gin_extract_value(correlate.iam_pattern, internal, internal),
	FUNCTION 3 correlate._iam_gin_extract_query(correlate.iam_pattern, internal, int2, internal, internal, internal, internal),
	FUNCTION 4 correlate._iam_gin_consistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal, internal),
	FUNCTION 6 correlate._iam_gin_triconsistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal),
	STORAGE int4;

CREATE OPERATOR CLASS correlate.iam_pattern_array_ops
DEFAULT FOR TYPE correlate.iam_pattern[] USING gin AS
	OPERATOR 1 correlate.~~> (correlate.iam_pattern[], text),
	FUNCTION 1 pg_catalog.btint4cmp(int4, int4),
	FUNCTION 2 correlate._iam_gin_extract_value_array(correlate.iam_pattern[], internal, internal),
	FUNCTION 3 correlate._iam_gin_extract_query_array(correlate.iam_pattern[], internal, int2, internal, internal, internal, internal),
	FUNCTION 4 correlate._iam_gin_consistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal, internal),
	FUNCTION 6 correlate._iam_gin_triconsistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal),
	STORAGE int4;

GRANT EXECUTE ON FUNCTION
	correlate.iam_pattern_in(cstring), correlate.iam_pattern_out(correlate.iam_pattern),
	correlate.iam_pattern_recv(internal), correlate.iam_pattern_send(correlate.iam_pattern),
	correlate.iam_pattern(text), correlate._iam_pattern_text(correlate.iam_pattern),
	correlate.iam_pattern_flavour(correlate.iam_pattern), correlate.iam_pattern_check(text),
	correlate.iam_match(correlate.iam_pattern, text), correlate._iam_matched(text, correlate.iam_pattern),
	correlate.iam_match(correlate.iam_pattern[], text), correlate._iam_matched(text, correlate.iam_pattern[]),
	correlate.iam_first_match(correlate.iam_pattern[], text),
	correlate.iam_pattern_covers(correlate.iam_pattern, correlate.iam_pattern),
	correlate.iam_patterns_cover(correlate.iam_pattern[], correlate.iam_pattern[]),
	correlate.iam_patterns_overlap(correlate.iam_pattern[], correlate.iam_pattern[]),
	correlate._iam_pattern_eq(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_ne(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_lt(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_le(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_gt(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_ge(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_cmp(correlate.iam_pattern, correlate.iam_pattern),
	correlate._iam_pattern_hash(correlate.iam_pattern),
	correlate._iam_pattern_hash_extended(correlate.iam_pattern, bigint),
	correlate._iam_gin_extract_value(correlate.iam_pattern, internal, internal),
	correlate._iam_gin_extract_query(correlate.iam_pattern, internal, int2, internal, internal, internal, internal),
	correlate._iam_gin_consistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal, internal),
	correlate._iam_gin_triconsistent(internal, int2, correlate.iam_pattern, int4, internal, internal, internal),
	correlate._iam_gin_extract_value_array(correlate.iam_pattern[], internal, internal),
	correlate._iam_gin_extract_query_array(correlate.iam_pattern[], internal, int2, internal, internal, internal, internal),
	correlate._iam_gin_consistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal, internal),
	correlate._iam_gin_triconsistent_array(internal, int2, correlate.iam_pattern[], int4, internal, internal, internal)
	TO correlate_reader;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._iam_pattern_text(correlate.iam_pattern)
	IS 'Internal: the pattern as text (the cast iam_pattern -> text).';
COMMENT ON FUNCTION correlate._iam_matched(text, correlate.iam_pattern)
	IS 'Internal: commutator of iam_match (the <~~ operator): the string is matched by the pattern.';
COMMENT ON FUNCTION correlate._iam_matched(text, correlate.iam_pattern[])
	IS 'Internal: commutator of iam_match for arrays (the <~~ operator): the string is matched by some pattern.';
COMMENT ON FUNCTION correlate._iam_pattern_eq(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: = of iam_pattern (ASCII case ignored for action patterns).';
COMMENT ON FUNCTION correlate._iam_pattern_ne(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: <> of iam_pattern.';
COMMENT ON FUNCTION correlate._iam_pattern_lt(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: < of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_le(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: <= of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_gt(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: > of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_ge(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: >= of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_cmp(correlate.iam_pattern, correlate.iam_pattern)
	IS 'Internal: comparison support function of the iam_pattern btree opclass.';
COMMENT ON FUNCTION correlate._iam_pattern_hash(correlate.iam_pattern)
	IS 'Internal: hash support function of the iam_pattern hash opclass (consistent with =).';
COMMENT ON FUNCTION correlate._iam_pattern_hash_extended(correlate.iam_pattern, bigint)
	IS 'Internal: seeded hash support function of the iam_pattern hash opclass.';
COMMENT ON FUNCTION correlate._iam_gin_extract_value(correlate.iam_pattern, internal, internal)
	IS 'Internal: GIN extractValue: a pattern''s keys (its literal prefix and suffix, tagged by shape).';
COMMENT ON FUNCTION correlate._iam_gin_extract_query(correlate.iam_pattern, internal, smallint, internal, internal, internal, internal)
	IS 'Internal: GIN extractQuery for a pattern operand.';
COMMENT ON FUNCTION correlate._iam_gin_consistent(internal, smallint, correlate.iam_pattern, integer, internal, internal, internal, internal)
	IS 'Internal: GIN consistent for a pattern operand (always rechecked by the exact matcher).';
COMMENT ON FUNCTION correlate._iam_gin_triconsistent(internal, smallint, correlate.iam_pattern, integer, internal, internal, internal)
	IS 'Internal: GIN triConsistent for a pattern operand.';
COMMENT ON FUNCTION correlate._iam_gin_extract_value_array(correlate.iam_pattern[], internal, internal)
	IS 'Internal: GIN extractValue for iam_pattern[] columns: the keys of every pattern of the array.';
COMMENT ON FUNCTION correlate._iam_gin_extract_query_array(correlate.iam_pattern[], internal, smallint, internal, internal, internal, internal)
	IS 'Internal: GIN extractQuery for the iam_pattern[] opclass.';
COMMENT ON FUNCTION correlate._iam_gin_consistent_array(internal, smallint, correlate.iam_pattern[], integer, internal, internal, internal, internal)
	IS 'Internal: GIN consistent for the iam_pattern[] opclass (always rechecked by the exact matcher).';
COMMENT ON FUNCTION correlate._iam_gin_triconsistent_array(internal, smallint, correlate.iam_pattern[], integer, internal, internal, internal)
	IS 'Internal: GIN triConsistent for the iam_pattern[] opclass.';
