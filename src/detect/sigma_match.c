/*
 * sigma_match.c
 *		Evaluates compiled Sigma rules over one record (jsonb).
 *
 * A field name is a dotted path into the record: at each object the longest
 * run of segments that is a key wins first, so "output_fields.proc.cmdline"
 * finds Falco's key "proc.cmdline" and "userIdentity.arn" a nested object;
 * arrays on the way are crossed without an index (every element is tried).
 * The values a path reaches are strings, numbers (compared as their text),
 * booleans ("true"/"false"), and objects (compared as their JSON text, so
 * "requestParameters|contains: x" searches the whole object); JSON null counts
 * as absent.  Each field's values are looked up once per record and shared by
 * every rule of the set (MatchState), with their lower-case form computed on
 * first use.
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "detect/detect.h"

typedef struct Val
{
	char	   *s;				/* text (len bytes; not always NUL-terminated) */
	int			len;
	char	   *lower;			/* lazily */
	JsonbContainer *obj;		/* object not yet rendered as text */
	bool		num;
} Val;

typedef struct FieldVals
{
	uint64		gen;
	int			n;
	int			cap;
	Val		   *v;
} FieldVals;

struct MatchState
{
	FieldTable *ft;
	MemoryContext cxt;			/* reset per record */
	uint64		gen;
	int			nfields;
	FieldVals  *fields;
	FieldVals	keywords;
	Jsonb	   *record;
};

MatchState *
match_state_create(FieldTable *ft, MemoryContext parent)
{
	MatchState *st = MemoryContextAllocZero(parent, sizeof(MatchState));

	st->ft = ft;
	st->cxt = AllocSetContextCreate(parent, "correlate sigma record", ALLOCSET_DEFAULT_SIZES);
	st->gen = 1;
	st->nfields = ft->n;
	st->fields = MemoryContextAllocZero(parent, sizeof(FieldVals) * (ft->n + 1));
	return st;
}

/* Forgets the previous record: its field values are looked up again on first use. */
void
match_state_reset(MatchState *st)
{
	st->gen++;
	st->record = NULL;
	MemoryContextReset(st->cxt);
}

static void
add_val(MatchState *st, FieldVals *fv, JsonbValue *jv)
{
	Val		   *v;

	if (jv->type == jbvNull)
		return;
	if (fv->n == fv->cap)
	{
		int			cap = fv->cap ? fv->cap * 2 : 4;
		Val		   *nv = MemoryContextAlloc(st->cxt, cap * sizeof(Val));

		if (fv->n)
			memcpy(nv, fv->v, fv->n * sizeof(Val));
		fv->v = nv;
		fv->cap = cap;
	}
	v = &fv->v[fv->n++];
	memset(v, 0, sizeof(Val));
	switch (jv->type)
	{
		case jbvString:
			/* points into the record: not NUL-terminated, valid while it is */
			v->s = jv->val.string.val;
			v->len = jv->val.string.len;
			break;
		case jbvNumeric:
			{
				MemoryContext old = MemoryContextSwitchTo(st->cxt);

				v->s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(jv->val.numeric)));
				v->len = strlen(v->s);
				v->num = true;
				MemoryContextSwitchTo(old);
				break;
			}
		case jbvBool:
			v->s = jv->val.boolean ? "true" : "false";
			v->len = strlen(v->s);
			v->lower = v->s;
			break;
		case jbvBinary:
			v->obj = jv->val.binary.data;
			break;
		default:
			fv->n--;
			break;
	}
}

/* Adds the value at the end of a path: arrays give each element. */
static void
add_leaf(MatchState *st, FieldVals *fv, JsonbValue *jv, int depth)
{
	if (jv->type == jbvBinary && JsonContainerIsArray(jv->val.binary.data))
	{
		JsonbContainer *c = jv->val.binary.data;
		int			n = JsonContainerSize(c);

		if (depth > 32)
			return;
		for (int i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(c, i);

			if (e)
				add_leaf(st, fv, e, depth + 1);
		}
		return;
	}
	if (jv->type == jbvBinary && JsonContainerIsScalar(jv->val.binary.data))
	{
		JsonbValue	sv;

		if (JsonbExtractScalar(jv->val.binary.data, &sv))
			add_val(st, fv, &sv);
		return;
	}
	add_val(st, fv, jv);
}

static void
resolve(MatchState *st, FieldVals *fv, JsonbContainer *c, const char *path, int plen, int depth)
{
	CHECK_FOR_INTERRUPTS();
	if (depth > 64)
		return;
	if (JsonContainerIsArray(c))
	{
		int			n = JsonContainerSize(c);

		for (int i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(c, i);

			if (e && e->type == jbvBinary && !JsonContainerIsScalar(e->val.binary.data))
				resolve(st, fv, e->val.binary.data, path, plen, depth + 1);
		}
		return;
	}
	if (!JsonContainerIsObject(c))
		return;
	/* each prefix of segments as a key, shortest first */
	for (int i = 0; i <= plen; i++)
	{
		JsonbValue	jv;

		if (i < plen && path[i] != '.')
			continue;
		if (getKeyJsonValueFromContainer(c, path, i, &jv) == NULL)
			continue;
		if (i == plen)
			add_leaf(st, fv, &jv, depth);
		else if (jv.type == jbvBinary)
			resolve(st, fv, jv.val.binary.data, path + i + 1, plen - i - 1, depth + 1);
	}
}

static FieldVals *
field_vals(MatchState *st, int f)
{
	FieldVals  *fv = &st->fields[f];

	if (fv->gen != st->gen)
	{
		const char *path = st->ft->names[f];

		fv->gen = st->gen;
		fv->n = 0;
		fv->cap = 0;
		fv->v = NULL;
		if (!JB_ROOT_IS_SCALAR(st->record))
			resolve(st, fv, &st->record->root, path, strlen(path), 0);
	}
	return fv;
}

/* Every string and number of the record, for keyword searches. */
static void
collect_all(MatchState *st, FieldVals *fv, JsonbContainer *c, int depth)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		CHECK_FOR_INTERRUPTS();
		if ((tok == WJB_VALUE || tok == WJB_ELEM) && (v.type == jbvString || v.type == jbvNumeric))
			add_val(st, fv, &v);
		else if ((tok == WJB_VALUE || tok == WJB_ELEM) && v.type == jbvBinary && depth < 64)
			collect_all(st, fv, v.val.binary.data, depth + 1);
	}
}

static Val *
val_text(MatchState *st, Val *v)
{
	if (v->s == NULL && v->obj)
	{
		MemoryContext old = MemoryContextSwitchTo(st->cxt);

		v->s = JsonbToCString(NULL, v->obj, -1);
		v->len = strlen(v->s);
		MemoryContextSwitchTo(old);
	}
	return v;
}

static const char *
val_lower(MatchState *st, Val *v)
{
	val_text(st, v);
	if (v->lower == NULL)
	{
		char	   *l = MemoryContextAlloc(st->cxt, v->len + 1);

		for (int i = 0; i < v->len; i++)
			l[i] = pg_ascii_tolower((unsigned char) v->s[i]);
		l[v->len] = '\0';
		v->lower = l;
	}
	return v->lower;
}

static bool
glob_match(const int *g, int glen, const char *s, int slen)
{
	int			gi = 0,
				si = 0,
				star = -1,
				mark = 0;

	while (si < slen)
	{
		if (gi < glen && (g[gi] == -2 || (g[gi] >= 0 && g[gi] == (unsigned char) s[si])))
		{
			gi++;
			si++;
		}
		else if (gi < glen && g[gi] == -1)
		{
			star = gi++;
			mark = si;
		}
		else if (star >= 0)
		{
			gi = star + 1;
			si = ++mark;
		}
		else
			return false;
	}
	while (gi < glen && g[gi] == -1)
		gi++;
	return gi == glen;
}

static bool
find(const char *hay, int hlen, const char *needle, int nlen)
{
	if (nlen == 0)
		return true;
	for (int i = 0; i + nlen <= hlen; i++)
	{
		const char *p = memchr(hay + i, needle[0], hlen - i - nlen + 1);

		if (p == NULL)
			return false;
		i = p - hay;
		if (memcmp(p, needle, nlen) == 0)
			return true;
	}
	return false;
}

static bool
text_match(PatOp op, const Pattern *p, const char *s, int len)
{
	if (p->wild)
		return glob_match(p->glob, p->globlen, s, len);
	switch (op)
	{
		case PAT_EQ:
			return len == p->litlen && memcmp(s, p->lit, len) == 0;
		case PAT_CONTAINS:
			return find(s, len, p->lit, p->litlen);
		case PAT_STARTS:
			return len >= p->litlen && memcmp(s, p->lit, p->litlen) == 0;
		case PAT_ENDS:
			return len >= p->litlen && memcmp(s + len - p->litlen, p->lit, p->litlen) == 0;
		default:
			return false;
	}
}

static bool
num_of(Val *v, double *out)
{
	char		buf[64];
	char	   *end;

	if (v->s == NULL || v->len == 0 || v->len >= (int) sizeof(buf))
		return false;
	memcpy(buf, v->s, v->len);
	buf[v->len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	return errno == 0 && *end == '\0';
}

static bool
cidr_match(const Pattern *p, Val *v)
{
	unsigned char a[16];
	char		buf[65];
	int			bits = p->cidr_bits;

	if (v->s == NULL || v->len > 64)
		return false;
	memcpy(buf, v->s, v->len);
	buf[v->len] = '\0';
	if (p->cidr_family == 4 ? inet_pton(AF_INET, buf, a) != 1 : inet_pton(AF_INET6, buf, a) != 1)
		return false;
	for (int i = 0; bits > 0; i++, bits -= 8)
	{
		unsigned char m = bits >= 8 ? 0xff : (unsigned char) (0xff << (8 - bits));

		if ((a[i] & m) != (p->cidr[i] & m))
			return false;
	}
	return true;
}

static bool
sigma_re_match(MatchState *st, const Pattern *p, Val *v)
{
	pg_wchar   *w;
	int			wlen;
	int			rc;

	val_text(st, v);
	w = MemoryContextAlloc(st->cxt, (v->len + 1) * sizeof(pg_wchar));
	wlen = pg_mb2wchar_with_len(v->s, w, v->len);
	rc = pg_regexec(p->re, w, wlen, 0, NULL, 0, NULL, 0);
	pfree(w);
	if (rc == REG_OKAY)
		return true;
	if (rc != REG_NOMATCH)
	{
		char		msg[256];

		pg_regerror(rc, p->re, msg, sizeof(msg));
		ereport(ERROR, (errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
						errmsg("sigma regular expression failed: %s", msg)));
	}
	return false;
}

static bool
pattern_match(MatchState *st, const Pattern *p, FieldVals *fv)
{
	switch (p->op)
	{
		case PAT_NULL:
			return fv->n == 0;
		case PAT_EXISTS:
			return (fv->n > 0) == p->exists;
		case PAT_FIELDREF:
			{
				FieldVals  *rv = field_vals(st, p->ref);

				for (int i = 0; i < fv->n; i++)
					for (int j = 0; j < rv->n; j++)
					{
						Val		   *a = &fv->v[i],
								   *b = &rv->v[j];
						const char *as = p->cased ? val_text(st, a)->s : val_lower(st, a);
						const char *bs = p->cased ? val_text(st, b)->s : val_lower(st, b);
						int			al = a->len,
									bl = b->len;

						switch (p->refop)
						{
							case PAT_CONTAINS:
								if (find(as, al, bs, bl))
									return true;
								break;
							case PAT_STARTS:
								if (al >= bl && memcmp(as, bs, bl) == 0)
									return true;
								break;
							case PAT_ENDS:
								if (al >= bl && memcmp(as + al - bl, bs, bl) == 0)
									return true;
								break;
							default:
								if (al == bl && memcmp(as, bs, al) == 0)
									return true;
								break;
						}
					}
				return false;
			}
		default:
			break;
	}
	for (int i = 0; i < fv->n; i++)
	{
		Val		   *v = &fv->v[i];

		switch (p->op)
		{
			case PAT_EQ:
			case PAT_CONTAINS:
			case PAT_STARTS:
			case PAT_ENDS:
				{
					const char *s = p->cased ? val_text(st, v)->s : val_lower(st, v);

					if (text_match(p->op, p, s, v->len))
						return true;
					break;
				}
			case PAT_RE:
				if (sigma_re_match(st, p, v))
					return true;
				break;
			case PAT_CIDR:
				if (cidr_match(p, val_text(st, v)))
					return true;
				break;
			case PAT_GT:
			case PAT_GTE:
			case PAT_LT:
			case PAT_LTE:
				{
					double		d;

					if (!num_of(val_text(st, v), &d))
						break;
					if ((p->op == PAT_GT && d > p->num) || (p->op == PAT_GTE && d >= p->num) ||
						(p->op == PAT_LT && d < p->num) || (p->op == PAT_LTE && d <= p->num))
						return true;
					break;
				}
			default:
				break;
		}
	}
	return false;
}

static bool
test_eval(MatchState *st, const FieldTest *t)
{
	FieldVals  *fv;

	if (t->field < 0)
	{
		fv = &st->keywords;
		if (fv->gen != st->gen)
		{
			fv->gen = st->gen;
			fv->n = 0;
			fv->cap = 0;
			fv->v = NULL;
			collect_all(st, fv, &st->record->root, 0);
		}
	}
	else
		fv = field_vals(st, t->field);
	for (int i = 0; i < t->npat; i++)
	{
		bool		m = pattern_match(st, &t->pats[i], fv);

		if (t->all && !m)
			return false;
		if (!t->all && m)
			return true;
	}
	return t->all;
}

static bool
expr_eval(MatchState *st, const SExpr *e)
{
	switch (e->kind)
	{
		case EX_TEST:
			return test_eval(st, e->test);
		case EX_AND:
			for (int i = 0; i < e->n; i++)
				if (!expr_eval(st, e->kids[i]))
					return false;
			return true;
		case EX_OR:
			for (int i = 0; i < e->n; i++)
				if (expr_eval(st, e->kids[i]))
					return true;
			return false;
		case EX_NOT:
			return !expr_eval(st, e->kids[0]);
		case EX_CONST:
			return e->value;
	}
	return false;
}

bool
sigma_eval(MatchState *st, const SigmaRule *rule, Jsonb *record)
{
	st->record = record;
	return expr_eval(st, rule->cond);
}

/* Starts a record: what match_field_lower reads. */
void
match_state_set_record(MatchState *st, Jsonb *record)
{
	st->record = record;
}

/* The number of values field has in the current record. */
int
match_field_count(MatchState *st, int field)
{
	return field_vals(st, field)->n;
}

/* The i-th value of field, lower-cased (ASCII), NUL-terminated, with its length. */
const char *
match_field_lower(MatchState *st, int field, int i, int *len)
{
	Val		   *v = &field_vals(st, field)->v[i];
	const char *l = val_lower(st, v);

	*len = v->len;
	return l;
}
