/*
 * iam_gin.c
 *		GIN support for correlate.iam_pattern (iam_pattern_ops) and
 *		correlate.iam_pattern[] (iam_pattern_array_ops): index the patterns,
 *		search with a string.
 *
 * The index stores patterns and the query is a string, the reverse of the
 * usual text search: a row matches when everything its pattern requires is
 * present in the string.  Extracting trigrams from patterns does not work well
 * for that, because GIN's consistent function learns which of the query's keys
 * an item holds but not how many keys the item has, so "all of the pattern's
 * trigrams are in the string" cannot be decided and every pattern sharing one
 * trigram with the string becomes a candidate.
 *
 * Instead each pattern contributes exactly two keys: its literal prefix (the
 * text before the first wildcard) and its literal suffix (the text after the
 * last one), each cut to IAM_GIN_KEY_CHARS characters, folded for action
 * patterns and hashed to int4 with a tag saying prefix/suffix and flavour.
 * A pattern can only match a string that starts with its prefix and ends with
 * its suffix, so the query extracts every prefix and every suffix of the
 * string up to that length (the empty ones included, for patterns such as
 * "*" or "s3:*"), and an item is a candidate when at least one of its prefix
 * keys and at least one of its suffix keys are present.  Every item has both
 * kinds, so the test is exact up to hash collisions and the length cut; the
 * exact matcher rechecks every candidate.  GIN puts the rarer prefix keys in
 * its "required" set and only probes the frequent suffix keys (e.g. the empty
 * suffix of every "...*" pattern) for those items.
 *
 * ARN patterns always start with the literal "arn:", so strings that do not
 * start with it only need the action-flavour keys.
 */
#include "postgres.h"

#include "access/gin.h"
#include "access/stratnum.h"
#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "iam/iam.h"

PG_FUNCTION_INFO_V1(iam_gin_extract_value);
PG_FUNCTION_INFO_V1(iam_gin_extract_value_array);
PG_FUNCTION_INFO_V1(iam_gin_extract_query);
PG_FUNCTION_INFO_V1(iam_gin_consistent);
PG_FUNCTION_INFO_V1(iam_gin_triconsistent);

#define IAM_MATCH_STRATEGY	1

#define TAG_CI_PREFIX	'P'
#define TAG_CI_SUFFIX	'S'
#define TAG_CS_PREFIX	'p'
#define TAG_CS_SUFFIX	's'

/* What extra_data of each query key points at. */
static const char key_is_prefix = 'p';
static const char key_is_suffix = 's';

#define FNV_INIT	((uint32) 2166136261U)
#define FNV_PRIME	((uint32) 16777619U)

static inline uint32
fnv_step(uint32 h, unsigned char c)
{
	return (h ^ c) * FNV_PRIME;
}

/* Final avalanche (MurmurHash3 fmix32) so similar keys spread over int4. */
static inline int32
key_finish(uint32 h)
{
	h ^= h >> 16;
	h *= ((uint32) 0x85ebca6bU);
	h ^= h >> 13;
	h *= ((uint32) 0xc2b2ae35U);
	h ^= h >> 16;
	return (int32) h;
}

static inline unsigned char
key_byte(unsigned char c, bool fold)
{
	return (fold && c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static inline bool
is_wild(char c)
{
	return c == '*' || c == '?';
}

/*
 * Byte offsets of the character boundaries of s[0..len): off[0] = 0,
 * off[n] = len.  Returns n.
 */
static int
char_offsets(const char *s, int len, int **off_out)
{
	int		   *off = (int *) palloc((len + 1) * sizeof(int));
	int			n = 0;
	int			pos = 0;

	while (pos < len)
	{
		int			step = pg_mblen(s + pos);

		off[n++] = pos;
		pos += Max(step, 1);
	}
	off[n] = len;
	*off_out = off;
	return n;
}

/* Hash of the tag followed by s[from..to) read forwards. */
static int32
key_forward(char tag, const char *s, int from, int to, bool fold)
{
	uint32		h = fnv_step(FNV_INIT, (unsigned char) tag);

	for (int i = from; i < to; i++)
		h = fnv_step(h, key_byte((unsigned char) s[i], fold));
	return key_finish(h);
}

/* Hash of the tag followed by s[from..to) read backwards. */
static int32
key_backward(char tag, const char *s, int from, int to, bool fold)
{
	uint32		h = fnv_step(FNV_INIT, (unsigned char) tag);

	for (int i = to - 1; i >= from; i--)
		h = fnv_step(h, key_byte((unsigned char) s[i], fold));
	return key_finish(h);
}

/*
 * The prefix and suffix keys of one pattern.  '*' and '?' are ASCII, and no
 * server encoding uses ASCII bytes inside a multibyte character, so scanning
 * bytes for them is safe.
 */
void
iam_gin_pattern_keys(const struct varlena *pat, int32 *prefix_key, int32 *suffix_key)
{
	const char *s = IAMPAT_TEXT(pat);
	int			len = IAMPAT_TEXTLEN(pat);
	bool		ci = (IAMPAT_FLAGS(pat) & IAMPAT_CI) != 0;
	int			plen = 0;
	int			sstart = len;
	int			cut = 0;
	int			nch = 0;
	int		   *off;
	int			n;

	while (plen < len && !is_wild(s[plen]))
		plen++;
	while (cut < plen && nch < IAM_GIN_KEY_CHARS)
	{
		cut += Max(pg_mblen(s + cut), 1);
		nch++;
	}
	cut = Min(cut, plen);
	*prefix_key = key_forward(ci ? TAG_CI_PREFIX : TAG_CS_PREFIX, s, 0, cut, ci);

	while (sstart > 0 && !is_wild(s[sstart - 1]))
		sstart--;
	n = char_offsets(s + sstart, len - sstart, &off);
	*suffix_key = key_backward(ci ? TAG_CI_SUFFIX : TAG_CS_SUFFIX, s + sstart,
							   off[Max(n - IAM_GIN_KEY_CHARS, 0)], len - sstart, ci);
	pfree(off);
}

Datum
iam_gin_extract_value(PG_FUNCTION_ARGS)
{
	struct varlena *pat = PG_GETARG_IAMPAT(0);
	int32	   *nkeys = (int32 *) PG_GETARG_POINTER(1);
	Datum	   *keys = (Datum *) palloc(2 * sizeof(Datum));
	int32		pk,
				sk;

	iam_gin_pattern_keys(pat, &pk, &sk);
	keys[0] = Int32GetDatum(pk);
	keys[1] = Int32GetDatum(sk);
	*nkeys = 2;
	PG_RETURN_POINTER(keys);
}

Datum
iam_gin_extract_value_array(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *nkeys = (int32 *) PG_GETARG_POINTER(1);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	Datum	   *keys;
	int			n = 0;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	keys = (Datum *) palloc(Max(2 * nelems, 1) * sizeof(Datum));
	for (int i = 0; i < nelems; i++)
	{
		int32		pk,
					sk;

		if (nulls[i])
			continue;
		iam_gin_pattern_keys(DatumGetIamPatternP(elems[i]), &pk, &sk);
		keys[n++] = Int32GetDatum(pk);
		keys[n++] = Int32GetDatum(sk);
	}
	*nkeys = n;
	PG_RETURN_POINTER(keys);
}

/*
 * Appends the prefix keys (empty one first) and the suffix keys of str for
 * one flavour, marking each key's kind in extra.
 */
static int
string_keys(const char *s, const int *off, int nch, bool ci, Datum *keys, Pointer *extra, int n)
{
	char		ptag = ci ? TAG_CI_PREFIX : TAG_CS_PREFIX;
	char		stag = ci ? TAG_CI_SUFFIX : TAG_CS_SUFFIX;
	int			lim = Min(nch, IAM_GIN_KEY_CHARS);
	uint32		h;

	h = fnv_step(FNV_INIT, (unsigned char) ptag);
	keys[n] = Int32GetDatum(key_finish(h));
	extra[n++] = (Pointer) &key_is_prefix;
	for (int c = 0; c < lim; c++)
	{
		for (int b = off[c]; b < off[c + 1]; b++)
			h = fnv_step(h, key_byte((unsigned char) s[b], ci));
		keys[n] = Int32GetDatum(key_finish(h));
		extra[n++] = (Pointer) &key_is_prefix;
	}

	h = fnv_step(FNV_INIT, (unsigned char) stag);
	keys[n] = Int32GetDatum(key_finish(h));
	extra[n++] = (Pointer) &key_is_suffix;
	for (int c = nch - 1; c >= nch - lim; c--)
	{
		for (int b = off[c + 1] - 1; b >= off[c]; b--)
			h = fnv_step(h, key_byte((unsigned char) s[b], ci));
		keys[n] = Int32GetDatum(key_finish(h));
		extra[n++] = (Pointer) &key_is_suffix;
	}
	return n;
}

Datum
iam_gin_extract_query(PG_FUNCTION_ARGS)
{
	text	   *query = PG_GETARG_TEXT_PP(0);
	int32	   *nkeys = (int32 *) PG_GETARG_POINTER(1);
	StrategyNumber strategy = PG_GETARG_UINT16(2);
	Pointer   **extra_data = (Pointer **) PG_GETARG_POINTER(4);
	int32	   *searchMode = (int32 *) PG_GETARG_POINTER(6);
	const char *s = VARDATA_ANY(query);
	int			len = VARSIZE_ANY_EXHDR(query);
	bool		arn = (len >= 4 && memcmp(s, "arn:", 4) == 0);
	int		   *off;
	int			nch;
	int			max;
	Datum	   *keys;
	Pointer    *extra;
	int			n = 0;

	if (strategy != IAM_MATCH_STRATEGY)
		elog(ERROR, "unrecognized strategy number %d for correlate.iam_pattern", strategy);

	nch = char_offsets(s, len, &off);
	max = 2 * (Min(nch, IAM_GIN_KEY_CHARS) + 1) * (arn ? 2 : 1);
	keys = (Datum *) palloc(max * sizeof(Datum));
	extra = (Pointer *) palloc(max * sizeof(Pointer));

	n = string_keys(s, off, nch, true, keys, extra, n);
	if (arn)
		n = string_keys(s, off, nch, false, keys, extra, n);
	pfree(off);

	*nkeys = n;
	*extra_data = extra;
	*searchMode = GIN_SEARCH_MODE_DEFAULT;
	PG_RETURN_POINTER(keys);
}

/* A candidate needs a prefix key and a suffix key; matching is always rechecked. */
Datum
iam_gin_consistent(PG_FUNCTION_ARGS)
{
	bool	   *check = (bool *) PG_GETARG_POINTER(0);
	int32		nkeys = PG_GETARG_INT32(3);
	Pointer    *extra = (Pointer *) PG_GETARG_POINTER(4);
	bool	   *recheck = (bool *) PG_GETARG_POINTER(5);
	bool		prefix = false;
	bool		suffix = false;

	for (int i = 0; i < nkeys; i++)
	{
		if (!check[i])
			continue;
		if (extra[i] == (Pointer) &key_is_prefix)
			prefix = true;
		else
			suffix = true;
	}
	*recheck = true;
	PG_RETURN_BOOL(prefix && suffix);
}

static inline GinTernaryValue
tri_or(GinTernaryValue acc, GinTernaryValue v)
{
	if (acc == GIN_TRUE || v == GIN_TRUE)
		return GIN_TRUE;
	if (acc == GIN_MAYBE || v == GIN_MAYBE)
		return GIN_MAYBE;
	return GIN_FALSE;
}

Datum
iam_gin_triconsistent(PG_FUNCTION_ARGS)
{
	GinTernaryValue *check = (GinTernaryValue *) PG_GETARG_POINTER(0);
	int32		nkeys = PG_GETARG_INT32(3);
	Pointer    *extra = (Pointer *) PG_GETARG_POINTER(4);
	GinTernaryValue prefix = GIN_FALSE;
	GinTernaryValue suffix = GIN_FALSE;

	for (int i = 0; i < nkeys; i++)
	{
		if (extra[i] == (Pointer) &key_is_prefix)
			prefix = tri_or(prefix, check[i]);
		else
			suffix = tri_or(suffix, check[i]);
	}
	if (prefix == GIN_FALSE || suffix == GIN_FALSE)
		PG_RETURN_GIN_TERNARY_VALUE(GIN_FALSE);
	/* Even a certain key match needs the exact matcher's recheck. */
	PG_RETURN_GIN_TERNARY_VALUE(GIN_MAYBE);
}
