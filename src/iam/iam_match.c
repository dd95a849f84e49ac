/*
 * iam_match.c
 *		The IAM wildcard matcher: '*' matches any run of characters (also an
 *		empty one), '?' exactly one character, everything else itself.
 *
 * The matcher never backtracks.  A pattern is split at its stars into
 * segments S0 * S1 * ... * Sk.  The string must start with S0 and end with Sk;
 * the middle segments must occur in order, without overlapping, between them,
 * and taking the leftmost occurrence of each one is always safe (a later
 * occurrence can only leave less room for the rest).  Each search resumes
 * where the previous match ended, so every character of the string is looked
 * at once per search: short segments are compared directly (at most 8 steps
 * per position), longer ones with the bit-parallel Shift-And algorithm (one
 * step per position per 64 pattern characters).  Total work is
 * O(n * ceil(m / 64)) for a string of n characters and a pattern of m, so
 * patterns like "*a*a*a*a*b" cost no more than any other.
 *
 * Both sides are decoded to code points first ('?' is one character, not one
 * byte); action patterns fold ASCII letters on both sides.  The same engine
 * decides whether one pattern covers another (iam_covers): the inner pattern
 * is treated as a string of tokens in which its own '*' can only be absorbed
 * by a '*' of the outer pattern and its '?' only by a '?' or '*'.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/builtins.h"

#include "iam/iam.h"

PG_FUNCTION_INFO_V1(iam_pattern_covers_sql);

#define NAIVE_MAX	8			/* segments up to this length are compared directly */
#define STACK_CHARS 256

/* A decoded sequence; buf avoids palloc for short inputs. */
typedef struct IamSeq
{
	uint32	   *v;
	int			n;
	uint32		buf[STACK_CHARS + 1];
} IamSeq;

static bool
all_ascii(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if ((unsigned char) s[i] >= 0x80)
			return false;
	return true;
}

/*
 * Decodes s[0..len) into seq: folds ASCII letters when fold, and maps '*' and
 * '?' to wildcard tokens when wild.
 */
static void
seq_decode(IamSeq *seq, const char *s, int len, bool fold, bool wild)
{
	uint32	   *v;
	int			n;

	if (len >= (int) (MaxAllocSize / sizeof(uint32)) - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("string of %d bytes is too long to match against an IAM pattern", len),
				 errdetail("The matcher handles strings up to %d bytes.",
						   (int) (MaxAllocSize / sizeof(uint32)) - 2)));
	v = (len < STACK_CHARS) ? seq->buf : (uint32 *) palloc((len + 1) * sizeof(uint32));
	if (all_ascii(s, len))
	{
		for (n = 0; n < len; n++)
			v[n] = (unsigned char) s[n];
	}
	else
		n = pg_mb2wchar_with_len(s, (pg_wchar *) v, len);

	for (int i = 0; i < n; i++)
	{
		uint32		c = v[i];

		if (fold && c >= 'A' && c <= 'Z')
			v[i] = c + ('a' - 'A');
		else if (wild && c == '*')
			v[i] = IAM_TOK_STAR;
		else if (wild && c == '?')
			v[i] = IAM_TOK_ONE;
	}
	seq->v = v;
	seq->n = n;
}

static void
seq_free(IamSeq *seq)
{
	if (seq->v != seq->buf)
		pfree(seq->v);
}

/* Whether pattern token p accepts string token t. */
static inline bool
tok_accepts(uint32 p, uint32 t)
{
	if (p == IAM_TOK_ONE)
		return t != IAM_TOK_STAR;
	return p == t && t != IAM_TOK_STAR;
}

static bool
run_equal(const uint32 *p, const uint32 *t, int len)
{
	for (int i = 0; i < len; i++)
		if (!tok_accepts(p[i], t[i]))
			return false;
	return true;
}

/* Non-ASCII literal of a segment and the positions it occupies. */
typedef struct WideMask
{
	uint32		c;
	int			first;			/* index of its first word in the mask pool */
} WideMask;

static int
widemask_cmp(const void *a, const void *b)
{
	uint32		x = ((const WideMask *) a)->c;
	uint32		y = ((const WideMask *) b)->c;

	return (x > y) - (x < y);
}

/*
 * Leftmost k in [lo, hi - len] where seg[0..len) matches t[k..k+len), or -1.
 */
static int
find_segment(const uint32 *seg, int len, const uint32 *t, int lo, int hi)
{
	int			words;
	uint64	   *ascii;			/* 128 masks of `words` words each */
	uint64	   *one;			/* positions holding '?' */
	uint64	   *state;
	uint64	   *pool = NULL;	/* masks of the non-ASCII literals */
	WideMask   *wide = NULL;
	int			nwide = 0;
	int			found = -1;
	uint64		stackmem[128 + 2];
	bool		onstack;

	if (hi - lo < len)
		return -1;
	if (len <= NAIVE_MAX)
	{
		for (int k = lo; k <= hi - len; k++)
		{
			if ((k & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			if (run_equal(seg, t + k, len))
				return k;
		}
		return -1;
	}

	/* Shift-And: bit j of state is set when seg[0..j] ends at the current position. */
	words = (len + 63) / 64;
	onstack = (words == 1);
	ascii = onstack ? stackmem : (uint64 *) palloc((128 + 2) * words * sizeof(uint64));
	one = ascii + 128 * words;
	state = one + words;
	memset(ascii, 0, (128 + 2) * words * sizeof(uint64));

	for (int j = 0; j < len; j++)
	{
		uint32		c = seg[j];
		uint64		bit = UINT64CONST(1) << (j % 64);

		if (c == IAM_TOK_ONE)
			one[j / 64] |= bit;
		else if (c < 128)
			ascii[c * words + j / 64] |= bit;
		else
		{
			if (wide == NULL)
			{
				wide = (WideMask *) palloc(len * sizeof(WideMask));
				pool = (uint64 *) palloc0((Size) len * words * sizeof(uint64));
			}
			wide[nwide].c = c;
			wide[nwide].first = nwide * words;
			pool[nwide * words + j / 64] |= bit;
			nwide++;
		}
	}
	/* Merge equal non-ASCII literals so lookups can bsearch. */
	if (nwide > 1)
	{
		int			out = 0;

		qsort(wide, nwide, sizeof(WideMask), widemask_cmp);
		for (int i = 1; i < nwide; i++)
		{
			if (wide[i].c == wide[out].c)
			{
				for (int w = 0; w < words; w++)
					pool[wide[out].first + w] |= pool[wide[i].first + w];
			}
			else
				wide[++out] = wide[i];
		}
		nwide = out + 1;
	}
	/* '?' positions accept every character. */
	for (int i = 0; i < 128; i++)
		for (int w = 0; w < words; w++)
			ascii[i * words + w] |= one[w];
	for (int i = 0; i < nwide; i++)
		for (int w = 0; w < words; w++)
			pool[wide[i].first + w] |= one[w];

	for (int x = lo; x < hi; x++)
	{
		uint32		c = t[x];
		const uint64 *mask;
		uint64		carry = 1;

		if ((x & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (c < 128)
			mask = ascii + c * words;
		else if (c == IAM_TOK_STAR)
			mask = NULL;		/* only a '*' of the outer pattern absorbs it */
		else if (c != IAM_TOK_ONE && nwide > 0)
		{
			WideMask	key;
			WideMask   *hit;

			key.c = c;
			hit = bsearch(&key, wide, nwide, sizeof(WideMask), widemask_cmp);
			mask = hit ? pool + hit->first : one;
		}
		else
			mask = one;

		for (int w = 0; w < words; w++)
		{
			uint64		next = state[w] >> 63;

			state[w] = ((state[w] << 1) | carry) & (mask ? mask[w] : 0);
			carry = next;
		}
		if (state[(len - 1) / 64] & (UINT64CONST(1) << ((len - 1) % 64)))
		{
			found = x - len + 1;
			break;
		}
	}

	if (!onstack)
		pfree(ascii);
	if (wide != NULL)
	{
		pfree(wide);
		pfree(pool);
	}
	return found;
}

/* Whether pattern tokens p[0..m) accept token string t[0..n). */
static bool
seq_match(const uint32 *p, int m, const uint32 *t, int n)
{
	int			first = -1;
	int			last = -1;
	int			head,
				tail,
				pos,
				end;

	for (int i = 0; i < m; i++)
	{
		if (p[i] == IAM_TOK_STAR)
		{
			if (first < 0)
				first = i;
			last = i;
		}
	}
	if (first < 0)
		return m == n && run_equal(p, t, m);

	head = first;
	tail = m - last - 1;
	if (head + tail > n)
		return false;
	if (!run_equal(p, t, head) || !run_equal(p + last + 1, t + n - tail, tail))
		return false;

	pos = head;
	end = n - tail;
	for (int i = first + 1; i < last;)
	{
		int			j = i;
		int			k;

		CHECK_FOR_INTERRUPTS();
		if (p[i] == IAM_TOK_STAR)
		{
			i++;
			continue;
		}
		while (p[j] != IAM_TOK_STAR)
			j++;
		k = find_segment(p + i, j - i, t, pos, end);
		if (k < 0)
			return false;
		pos = k + (j - i);
		i = j;
	}
	return true;
}

/* ASCII-only case-insensitive equality of two byte strings of equal length. */
static bool
ascii_caseeq(const char *a, const char *b, int len)
{
	for (int i = 0; i < len; i++)
	{
		unsigned char x = (unsigned char) a[i];
		unsigned char y = (unsigned char) b[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

/* Whether pat[0..len) is nothing but '*' (and so matches every string). */
static bool
only_stars(const char *pat, int len)
{
	for (int i = 0; i < len; i++)
		if (pat[i] != '*')
			return false;
	return true;
}

/*
 * Whether pattern pat[0..patlen) matches str[0..len); ci ignores ASCII case.
 */
bool
iam_match(const char *pat, int patlen, bool ci, const char *str, int len)
{
	IamSeq		p,
				t;
	bool		wild = false;
	bool		result;

	if (only_stars(pat, patlen))
		return true;
	for (int i = 0; i < patlen && !wild; i++)
		if (pat[i] == '*' || pat[i] == '?')
			wild = true;
	if (!wild)
	{
		if (patlen != len)
			return false;
		if (!ci)
			return memcmp(pat, str, len) == 0;
		if (all_ascii(pat, patlen) && all_ascii(str, len))
			return ascii_caseeq(pat, str, len);
	}

	seq_decode(&p, pat, patlen, ci, true);
	seq_decode(&t, str, len, ci, false);
	result = seq_match(p.v, p.n, t.v, t.n);
	seq_free(&p);
	seq_free(&t);
	return result;
}

bool
iam_pattern_matches(const struct varlena *pat, const char *str, int len)
{
	return iam_match(IAMPAT_TEXT(pat), IAMPAT_TEXTLEN(pat),
					 (IAMPAT_FLAGS(pat) & IAMPAT_CI) != 0, str, len);
}

/*
 * Whether every string the inner pattern matches is also matched by the outer
 * one.  Sound but not complete: a true answer is always right; a few exotic
 * pairs (e.g. "??*" over "?*?") are answered false although they are covered.
 */
bool
iam_covers(const char *outer, int outerlen, uint8 outerflags,
		   const char *inner, int innerlen, uint8 innerflags)
{
	IamSeq		o,
				i;
	bool		fold;
	bool		result;

	if (only_stars(outer, outerlen))
		return true;

	/* A case-sensitive pattern cannot cover one that matches every case. */
	if (!(outerflags & IAMPAT_CI) && (innerflags & IAMPAT_CI))
		return false;
	fold = (outerflags & IAMPAT_CI) != 0;

	seq_decode(&o, outer, outerlen, fold, true);
	seq_decode(&i, inner, innerlen, fold, true);
	result = seq_match(o.v, o.n, i.v, i.n);
	seq_free(&o);
	seq_free(&i);
	return result;
}

Datum
iam_pattern_covers_sql(PG_FUNCTION_ARGS)
{
	struct varlena *a = PG_GETARG_IAMPAT(0);
	struct varlena *b = PG_GETARG_IAMPAT(1);

	PG_RETURN_BOOL(iam_covers(IAMPAT_TEXT(a), IAMPAT_TEXTLEN(a), IAMPAT_FLAGS(a),
							  IAMPAT_TEXT(b), IAMPAT_TEXTLEN(b), IAMPAT_FLAGS(b)));
}
