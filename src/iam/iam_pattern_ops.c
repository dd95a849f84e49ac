/*
 * iam_pattern_ops.c
 *		Operators on correlate.iam_pattern: matching a string (~~> and its
 *		commutator <~~, for one pattern and for an array of them), and the
 *		comparison and hash support behind =, <>, <, <=, >, >= so the type works
 *		in joins, GROUP BY, DISTINCT, btree and hash indexes.
 *
 * Equality follows matching: two action patterns that differ only in ASCII
 * case ("s3:GetObject", "S3:getobject") are equal, because AWS treats them as
 * the same action; ARN patterns compare byte for byte.  The order sorts all
 * action patterns before all ARN patterns, then by (folded) bytes, then by
 * length.  Hashing folds the same way, so hash and btree agree with =.
 * Folding works byte by byte: every server encoding keeps ASCII bytes out of
 * multibyte characters, so a byte in 'A'..'Z' is always an ASCII letter.
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "iam/iam.h"

PG_FUNCTION_INFO_V1(iam_pattern_match);
PG_FUNCTION_INFO_V1(iam_text_matched);
PG_FUNCTION_INFO_V1(iam_pattern_array_match);
PG_FUNCTION_INFO_V1(iam_text_matched_array);
PG_FUNCTION_INFO_V1(iam_pattern_first_match);
PG_FUNCTION_INFO_V1(iam_pattern_eq);
PG_FUNCTION_INFO_V1(iam_pattern_ne);
PG_FUNCTION_INFO_V1(iam_pattern_lt);
PG_FUNCTION_INFO_V1(iam_pattern_le);
PG_FUNCTION_INFO_V1(iam_pattern_gt);
PG_FUNCTION_INFO_V1(iam_pattern_ge);
PG_FUNCTION_INFO_V1(iam_pattern_cmp);
PG_FUNCTION_INFO_V1(iam_pattern_hash);
PG_FUNCTION_INFO_V1(iam_pattern_hash_extended);
PG_FUNCTION_INFO_V1(iam_patterns_cover);
PG_FUNCTION_INFO_V1(iam_patterns_overlap);

static inline unsigned char
fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int
iam_pattern_compare(const struct varlena *a, const struct varlena *b)
{
	bool		ca = (IAMPAT_FLAGS(a) & IAMPAT_CI) != 0;
	bool		cb = (IAMPAT_FLAGS(b) & IAMPAT_CI) != 0;
	const unsigned char *x = (const unsigned char *) IAMPAT_TEXT(a);
	const unsigned char *y = (const unsigned char *) IAMPAT_TEXT(b);
	int			lx = IAMPAT_TEXTLEN(a);
	int			ly = IAMPAT_TEXTLEN(b);
	int			n = Min(lx, ly);

	if (ca != cb)
		return ca ? -1 : 1;
	if (ca)
	{
		for (int i = 0; i < n; i++)
		{
			unsigned char fx = fold(x[i]);
			unsigned char fy = fold(y[i]);

			if (fx != fy)
				return fx < fy ? -1 : 1;
		}
	}
	else
	{
		int			r = memcmp(x, y, n);

		if (r != 0)
			return r < 0 ? -1 : 1;
	}
	return (lx > ly) - (lx < ly);
}

#define CMP_BODY(expr) \
	struct varlena *a = PG_GETARG_IAMPAT(0); \
	struct varlena *b = PG_GETARG_IAMPAT(1); \
	int			c = iam_pattern_compare(a, b); \
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1); \
	PG_RETURN_BOOL(expr)

Datum
iam_pattern_eq(PG_FUNCTION_ARGS)
{
	CMP_BODY(c == 0);
}

Datum
iam_pattern_ne(PG_FUNCTION_ARGS)
{
	CMP_BODY(c != 0);
}

Datum
iam_pattern_lt(PG_FUNCTION_ARGS)
{
	CMP_BODY(c < 0);
}

Datum
iam_pattern_le(PG_FUNCTION_ARGS)
{
	CMP_BODY(c <= 0);
}

Datum
iam_pattern_gt(PG_FUNCTION_ARGS)
{
	CMP_BODY(c > 0);
}

Datum
iam_pattern_ge(PG_FUNCTION_ARGS)
{
	CMP_BODY(c >= 0);
}

Datum
iam_pattern_cmp(PG_FUNCTION_ARGS)
{
	struct varlena *a = PG_GETARG_IAMPAT(0);
	struct varlena *b = PG_GETARG_IAMPAT(1);
	int			c = iam_pattern_compare(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	PG_RETURN_INT32(c);
}

/* Hashes the comparison key: flavour plus (folded) bytes. */
static uint64
iam_pattern_hash_key(const struct varlena *p, bool extended, uint64 seed)
{
	bool		ci = (IAMPAT_FLAGS(p) & IAMPAT_CI) != 0;
	int			len = IAMPAT_TEXTLEN(p);
	const unsigned char *s = (const unsigned char *) IAMPAT_TEXT(p);
	unsigned char stackbuf[256];
	unsigned char *buf = stackbuf;
	uint64		h;

	if (len + 1 > (int) sizeof(stackbuf))
		buf = palloc(len + 1);
	buf[0] = ci ? 'a' : 'A';
	for (int i = 0; i < len; i++)
		buf[i + 1] = ci ? fold(s[i]) : s[i];
	if (extended)
		h = hash_bytes_extended(buf, len + 1, seed);
	else
		h = hash_bytes(buf, len + 1);
	if (buf != stackbuf)
		pfree(buf);
	return h;
}

Datum
iam_pattern_hash(PG_FUNCTION_ARGS)
{
	struct varlena *p = PG_GETARG_IAMPAT(0);

	PG_RETURN_UINT32((uint32) iam_pattern_hash_key(p, false, 0));
}

Datum
iam_pattern_hash_extended(PG_FUNCTION_ARGS)
{
	struct varlena *p = PG_GETARG_IAMPAT(0);

	PG_RETURN_UINT64(iam_pattern_hash_key(p, true, PG_GETARG_INT64(1)));
}

/* pattern ~~> string */
Datum
iam_pattern_match(PG_FUNCTION_ARGS)
{
	struct varlena *p = PG_GETARG_IAMPAT(0);
	text	   *s = PG_GETARG_TEXT_PP(1);

	PG_RETURN_BOOL(iam_pattern_matches(p, VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s)));
}

/* string <~~ pattern */
Datum
iam_text_matched(PG_FUNCTION_ARGS)
{
	text	   *s = PG_GETARG_TEXT_PP(0);
	struct varlena *p = PG_GETARG_IAMPAT(1);

	PG_RETURN_BOOL(iam_pattern_matches(p, VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s)));
}

/*
 * The first non-NULL element of arr that matches str, as a datum, or
 * (Datum) 0 when none does.
 */
static Datum
array_first_match(ArrayType *arr, const char *str, int len, bool *found)
{
	ArrayIterator it;
	ArrayMetaState meta;
	Datum		d;
	bool		isnull;

	*found = false;
	if (ARR_NDIM(arr) == 0)
		return (Datum) 0;

	/* The element type is ours, so its storage properties are known. */
	memset(&meta, 0, sizeof(meta));
	meta.element_type = ARR_ELEMTYPE(arr);
	meta.typlen = -1;
	meta.typbyval = false;
	meta.typalign = TYPALIGN_INT;
	it = array_create_iterator(arr, 0, &meta);
	while (array_iterate(it, &d, &isnull))
	{
		if (isnull)
			continue;
		if (iam_pattern_matches(DatumGetIamPatternP(d), str, len))
		{
			*found = true;
			break;
		}
	}
	array_free_iterator(it);
	return *found ? d : (Datum) 0;
}

/* patterns ~~> string: some element matches (NULL elements never do). */
Datum
iam_pattern_array_match(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	text	   *s = PG_GETARG_TEXT_PP(1);
	bool		found;

	(void) array_first_match(arr, VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s), &found);
	PG_RETURN_BOOL(found);
}

/* string <~~ patterns */
Datum
iam_text_matched_array(PG_FUNCTION_ARGS)
{
	text	   *s = PG_GETARG_TEXT_PP(0);
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	bool		found;

	(void) array_first_match(arr, VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s), &found);
	PG_RETURN_BOOL(found);
}

/* The first element of patterns that matches string, or NULL. */
Datum
iam_pattern_first_match(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	text	   *s = PG_GETARG_TEXT_PP(1);
	bool		found;
	Datum		d = array_first_match(arr, VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s), &found);

	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PointerGetDatum(PG_DETOAST_DATUM_COPY(d)));
}

/* Elements of a pattern array, NULLs dropped; *n receives the count. */
static struct varlena **
array_patterns(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	struct varlena **out;
	int			k = 0;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	out = (struct varlena **) palloc(Max(nelems, 1) * sizeof(struct varlena *));
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			out[k++] = DatumGetIamPatternP(elems[i]);
	*n = k;
	return out;
}

static bool
covers_one(const struct varlena *o, const struct varlena *i)
{
	return iam_covers(IAMPAT_TEXT(o), IAMPAT_TEXTLEN(o), IAMPAT_FLAGS(o),
					  IAMPAT_TEXT(i), IAMPAT_TEXTLEN(i), IAMPAT_FLAGS(i));
}

/*
 * Whether every element of inner is covered by some element of outer (an
 * empty inner is covered by anything).
 */
Datum
iam_patterns_cover(PG_FUNCTION_ARGS)
{
	int			no,
				ni;
	struct varlena **o = array_patterns(PG_GETARG_ARRAYTYPE_P(0), &no);
	struct varlena **in = array_patterns(PG_GETARG_ARRAYTYPE_P(1), &ni);

	for (int i = 0; i < ni; i++)
	{
		bool		hit = false;

		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < no && !hit; j++)
			hit = covers_one(o[j], in[i]);
		if (!hit)
			PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}

/*
 * Whether some element of a and some element of b may match a common string:
 * one covers the other, or one matches the other's text.  An approximation
 * that errs towards true; used to flag partial denials.
 */
Datum
iam_patterns_overlap(PG_FUNCTION_ARGS)
{
	int			na,
				nb;
	struct varlena **a = array_patterns(PG_GETARG_ARRAYTYPE_P(0), &na);
	struct varlena **b = array_patterns(PG_GETARG_ARRAYTYPE_P(1), &nb);

	for (int i = 0; i < na; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < nb; j++)
		{
			if (covers_one(a[i], b[j]) || covers_one(b[j], a[i]) ||
				iam_pattern_matches(a[i], IAMPAT_TEXT(b[j]), IAMPAT_TEXTLEN(b[j])) ||
				iam_pattern_matches(b[j], IAMPAT_TEXT(a[i]), IAMPAT_TEXTLEN(a[i])))
				PG_RETURN_BOOL(true);
		}
	}
	PG_RETURN_BOOL(false);
}
