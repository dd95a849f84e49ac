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
 * Instead a pattern is keyed by its literal ends: the text before its first
 * wildcard (prefix) and after its last (suffix), each cut to the largest
 * "checkpoint" length it reaches (at most IAM_GIN_KEY_CHARS characters),
 * folded for action patterns, and hashed to int4 together with a tag.  The tag says which shape the pattern has, so
 * that the consistent function knows which keys an item holds:
 *
 *	 X  no wildcard: one key, the whole text      ("s3:GetObject")
 *	 A  prefix only (ends with a wildcard)         ("s3:Get*")
 *	 B  suffix only (starts with a wildcard)       ("*Object")
 *	 P+S prefix and suffix (wildcards inside)     ("s3:Get*Policy")
 *	 Z  neither (nothing but wildcards)            ("*", "?*")
 *
 * A pattern can only match a string that starts with its prefix and ends
 * with its suffix, so the query extracts the whole string and its prefixes
 * and suffixes at the checkpoint lengths under every tag, and an
 * item is a candidate when it holds the X, an A, a B, the Z key, or both a P
 * and an S key.  That is exact up to hash collisions and the cut; the matcher
 * rechecks every candidate.  No key is shared by all patterns ending in "*"
 * (the bulk of IAM), so no posting list grows with the index, and GIN can
 * skip through the rare ones.  ARN patterns start with the literal "arn:", so
 * they are never B or Z and their prefixes have at least four characters;
 * strings not starting with "arn:" skip the ARN keys altogether.
 */
#include "postgres.h"

#include "access/gin.h"
#include "access/stratnum.h"
#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "iam/iam.h"

PG_FUNCTION_INFO_V1(iam_gin_extract_value);
PG_FUNCTION_INFO_V1(iam_gin_extract_value_array);
PG_FUNCTION_INFO_V1(iam_gin_extract_query);
PG_FUNCTION_INFO_V1(iam_gin_consistent);
PG_FUNCTION_INFO_V1(iam_gin_triconsistent);

#define IAM_MATCH_STRATEGY	1

/* Key tags: the shape letter, lower case for ARN (case-sensitive) patterns. */
#define TAG_EXACT	'X'
#define TAG_PREFIX_ONLY 'A'
#define TAG_SUFFIX_ONLY 'B'
#define TAG_PREFIX	'P'
#define TAG_SUFFIX	'S'
#define TAG_STARS	'Z'

static inline char
tag_of(char shape, bool ci)
{
	return ci ? shape : (char) (shape + ('a' - 'A'));
}

/* What extra_data of each query key points at: its shape. */
static const char kind_exact = 'X';
static const char kind_prefix_only = 'A';
static const char kind_suffix_only = 'B';
static const char kind_prefix = 'P';
static const char kind_suffix = 'S';
static const char kind_stars = 'Z';

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

/*
 * Lengths (in characters) at which prefixes and suffixes are keyed: a
 * pattern's literal end is cut to the largest checkpoint it reaches, and a
 * query emits its prefixes and suffixes at the checkpoints only.  Dense for
 * short ends, sparse for long ones, which keeps queries on long ARNs to a few
 * dozen keys.
 */
static const int checkpoints[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 19, 22, 26, 30, 35, 40, 46, 52, 58, IAM_GIN_KEY_CHARS};
#define NCHECKPOINTS ((int) lengthof(checkpoints))

/* The largest checkpoint not above n (0 when n is 0). */
static int
checkpoint_floor(int n)
{
	int			c = 0;

	for (int i = 0; i < NCHECKPOINTS && checkpoints[i] <= n; i++)
		c = checkpoints[i];
	return c;
}

static inline bool
is_checkpoint(int n)
{
	return checkpoint_floor(n) == n && n > 0;
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
 * The keys of one pattern (one or two) into keys; returns how many.  '*' and
 * '?' are ASCII, and no server encoding uses ASCII bytes inside a multibyte
 * character, so scanning bytes for them is safe.
 */
int
iam_gin_pattern_keys(const struct varlena *pat, int32 *keys)
{
	const char *s = IAMPAT_TEXT(pat);
	int			len = IAMPAT_TEXTLEN(pat);
	bool		ci = (IAMPAT_FLAGS(pat) & IAMPAT_CI) != 0;
	int			plen = 0;
	int			sstart = len;
	int			pcut = 0;
	int			scut;
	int			nch = 0;
	int		   *off;
	int			n;

	if (!(IAMPAT_FLAGS(pat) & IAMPAT_WILD))
	{
		keys[0] = key_forward(tag_of(TAG_EXACT, ci), s, 0, len, ci);
		return 1;
	}

	while (plen < len && !is_wild(s[plen]))
		plen++;
	while (sstart > 0 && !is_wild(s[sstart - 1]))
		sstart--;
	if (plen == 0 && sstart == len)
	{
		keys[0] = key_forward(tag_of(TAG_STARS, ci), s, 0, 0, ci);
		return 1;
	}

	/* the prefix's character count, then its cut at a checkpoint */
	while (pcut < plen)
	{
		pcut += Max(pg_mblen(s + pcut), 1);
		nch++;
	}
	nch = checkpoint_floor(nch);
	pcut = 0;
	for (int c = 0; c < nch; c++)
		pcut += Max(pg_mblen(s + pcut), 1);
	pcut = Min(pcut, plen);
	n = char_offsets(s + sstart, len - sstart, &off);
	scut = off[n - checkpoint_floor(n)];

	if (plen > 0 && sstart < len)
	{
		keys[0] = key_forward(tag_of(TAG_PREFIX, ci), s, 0, pcut, ci);
		keys[1] = key_backward(tag_of(TAG_SUFFIX, ci), s + sstart, scut, len - sstart, ci);
		pfree(off);
		return 2;
	}
	if (plen > 0)
		keys[0] = key_forward(tag_of(TAG_PREFIX_ONLY, ci), s, 0, pcut, ci);
	else
		keys[0] = key_backward(tag_of(TAG_SUFFIX_ONLY, ci), s + sstart, scut, len - sstart, ci);
	pfree(off);
	return 1;
}

Datum
iam_gin_extract_value(PG_FUNCTION_ARGS)
{
	struct varlena *pat = PG_GETARG_IAMPAT(0);
	int32	   *nkeys = (int32 *) PG_GETARG_POINTER(1);
	Datum	   *keys = (Datum *) palloc(2 * sizeof(Datum));
	int32		k[2];
	int			n = iam_gin_pattern_keys(pat, k);

	for (int i = 0; i < n; i++)
		keys[i] = Int32GetDatum(k[i]);
	*nkeys = n;
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
		int32		k[2];
		int			m;

		if (nulls[i])
			continue;
		m = iam_gin_pattern_keys(DatumGetIamPatternP(elems[i]), k);
		for (int j = 0; j < m; j++)
			keys[n++] = Int32GetDatum(k[j]);
	}
	*nkeys = n;
	PG_RETURN_POINTER(keys);
}

/* Appends one key with its shape. */
#define ADD_KEY(hash, kind) \
	do { keys[n] = Int32GetDatum(hash); extra[n++] = (Pointer) &(kind); } while (0)

/*
 * Character boundaries of a query string's first and last IAM_GIN_KEY_CHARS
 * characters, found in one pass with a ring buffer, so memory stays small
 * however long the string is.
 */
typedef struct Bounds
{
	int			nch;			/* characters in the string */
	int			n;				/* Min(nch, IAM_GIN_KEY_CHARS) */
	int			head[IAM_GIN_KEY_CHARS + 1];	/* head[c]: start of character c; head[n]: its end */
	int			tail[IAM_GIN_KEY_CHARS + 1];	/* tail[i]: start of character nch - n + i; tail[n] = len */
} Bounds;

static void
string_bounds(const char *s, int len, Bounds *b)
{
	int			ring[IAM_GIN_KEY_CHARS + 1];
	int			pos = 0;
	int			nch = 0;

	while (pos < len)
	{
		if (nch <= IAM_GIN_KEY_CHARS)
			b->head[nch] = pos;
		ring[nch % (IAM_GIN_KEY_CHARS + 1)] = pos;
		pos += Max(pg_mblen(s + pos), 1);
		nch++;
		if ((nch & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pos = Min(pos, len);
	b->nch = nch;
	b->n = Min(nch, IAM_GIN_KEY_CHARS);
	if (nch <= IAM_GIN_KEY_CHARS)
		b->head[nch] = pos;
	for (int i = 0; i < b->n; i++)
		b->tail[i] = ring[(nch - b->n + i) % (IAM_GIN_KEY_CHARS + 1)];
	b->tail[b->n] = pos;
}

/*
 * Appends the keys a pattern of one flavour could hold if it matched s: the
 * whole text, its prefixes and suffixes at the checkpoint lengths under each
 * shape, and the all-wildcards key.
 */
static int
string_keys(const char *s, int len, const Bounds *bd, bool ci, Datum *keys, Pointer *extra, int n)
{
	int			minpfx = ci ? 1 : 4;	/* ARN patterns start with "arn:" */
	uint32		ha = fnv_step(FNV_INIT, (unsigned char) tag_of(TAG_PREFIX_ONLY, ci));
	uint32		hp = fnv_step(FNV_INIT, (unsigned char) tag_of(TAG_PREFIX, ci));
	uint32		hb = fnv_step(FNV_INIT, (unsigned char) tag_of(TAG_SUFFIX_ONLY, ci));
	uint32		hs = fnv_step(FNV_INIT, (unsigned char) tag_of(TAG_SUFFIX, ci));

	ADD_KEY(key_forward(tag_of(TAG_EXACT, ci), s, 0, len, ci), kind_exact);
	if (ci)
		ADD_KEY(key_forward(tag_of(TAG_STARS, ci), s, 0, 0, ci), kind_stars);

	for (int c = 0; c < bd->n; c++)
	{
		for (int b = bd->head[c]; b < bd->head[c + 1]; b++)
		{
			unsigned char k = key_byte((unsigned char) s[b], ci);

			ha = fnv_step(ha, k);
			hp = fnv_step(hp, k);
		}
		if (c + 1 >= minpfx && is_checkpoint(c + 1))
		{
			ADD_KEY(key_finish(ha), kind_prefix_only);
			ADD_KEY(key_finish(hp), kind_prefix);
		}
	}
	for (int i = bd->n - 1; i >= 0; i--)
	{
		for (int b = bd->tail[i + 1] - 1; b >= bd->tail[i]; b--)
		{
			unsigned char k = key_byte((unsigned char) s[b], ci);

			hb = fnv_step(hb, k);
			hs = fnv_step(hs, k);
		}
		if (!is_checkpoint(bd->n - i))
			continue;
		if (ci)
			ADD_KEY(key_finish(hb), kind_suffix_only);
		ADD_KEY(key_finish(hs), kind_suffix);
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
	Bounds		bd;
	int			max;
	Datum	   *keys;
	Pointer    *extra;
	int			n = 0;

	if (strategy != IAM_MATCH_STRATEGY)
		elog(ERROR, "unrecognized strategy number %d for correlate.iam_pattern", strategy);

	string_bounds(s, len, &bd);
	max = (2 + 4 * bd.n) * (arn ? 2 : 1);
	keys = (Datum *) palloc(max * sizeof(Datum));
	extra = (Pointer *) palloc(max * sizeof(Pointer));

	n = string_keys(s, len, &bd, true, keys, extra, n);
	if (arn)
		n = string_keys(s, len, &bd, false, keys, extra, n);

	*nkeys = n;
	*extra_data = extra;
	*searchMode = GIN_SEARCH_MODE_DEFAULT;
	PG_RETURN_POINTER(keys);
}

/*
 * A candidate holds an X, A, B or Z key, or both a P and an S key; matching is
 * always rechecked.
 */
Datum
iam_gin_consistent(PG_FUNCTION_ARGS)
{
	bool	   *check = (bool *) PG_GETARG_POINTER(0);
	int32		nkeys = PG_GETARG_INT32(3);
	Pointer    *extra = (Pointer *) PG_GETARG_POINTER(4);
	bool	   *recheck = (bool *) PG_GETARG_POINTER(5);
	bool		prefix = false;
	bool		suffix = false;
	bool		result = false;

	for (int i = 0; i < nkeys && !result; i++)
	{
		char		kind;

		if (!check[i])
			continue;
		kind = *extra[i];
		if (kind == kind_prefix)
			prefix = true;
		else if (kind == kind_suffix)
			suffix = true;
		else
			result = true;
		if (prefix && suffix)
			result = true;
	}
	*recheck = true;
	PG_RETURN_BOOL(result);
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
	GinTernaryValue single = GIN_FALSE;
	GinTernaryValue prefix = GIN_FALSE;
	GinTernaryValue suffix = GIN_FALSE;
	GinTernaryValue both;

	for (int i = 0; i < nkeys; i++)
	{
		char		kind = *extra[i];

		if (kind == kind_prefix)
			prefix = tri_or(prefix, check[i]);
		else if (kind == kind_suffix)
			suffix = tri_or(suffix, check[i]);
		else
			single = tri_or(single, check[i]);
	}
	if (prefix == GIN_FALSE || suffix == GIN_FALSE)
		both = GIN_FALSE;
	else if (prefix == GIN_TRUE && suffix == GIN_TRUE)
		both = GIN_TRUE;
	else
		both = GIN_MAYBE;
	if (tri_or(single, both) == GIN_FALSE)
		PG_RETURN_GIN_TERNARY_VALUE(GIN_FALSE);
	/* Even a certain key match needs the exact matcher's recheck. */
	PG_RETURN_GIN_TERNARY_VALUE(GIN_MAYBE);
}
