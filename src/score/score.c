/*
 * score.c
 *		The two small functions every risk reason and score goes through, in C.
 *
 * correlate._evidence() runs once per reason and correlate._combine_weights()
 * once per scored resource.  As SQL functions they pinned search_path (as every
 * SQL function of the extension does), which keeps the planner from inlining
 * them: each call paid a function-call setup and a GUC save/restore, about 2 s
 * and 1 s of a 100k-resource rescore.  Their results are unchanged: the evidence
 * object has the same keys and sorted, deduplicated ids, and the score is the
 * same exactly rounded noisy-OR (computed in numeric, as the SQL did, so no
 * binary rounding moves a score that ends in .5).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "score/score.h"

PG_FUNCTION_INFO_V1(correlate_evidence);
PG_FUNCTION_INFO_V1(correlate_combine_weights);

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * _evidence(findings, events, relationships, resources, statements bigint[]):
 * {"findings": [...], ...} with each list's non-NULL ids sorted and
 * deduplicated, and empty or NULL lists left out.
 */
Datum
correlate_evidence(PG_FUNCTION_ARGS)
{
	static const char *const keys[] = {"findings", "events", "relationships", "resources", "statements"};
	JsonbParseState *state = NULL;
	JsonbValue *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int k = 0; k < (int) lengthof(keys); k++)
	{
		ArrayType  *arr;
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					m = 0;
		int64	   *ids;
		JsonbValue	v;

		CHECK_FOR_INTERRUPTS();
		if (k >= PG_NARGS() || PG_ARGISNULL(k))
			continue;
		arr = PG_GETARG_ARRAYTYPE_P(k);
		deconstruct_array(arr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
		ids = palloc(sizeof(int64) * Max(n, 1));
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				ids[m++] = DatumGetInt64(elems[i]);
		m = score_unique_ids(ids, m);
		if (m == 0)
			continue;

		v.type = jbvString;
		v.val.string.val = (char *) keys[k];
		v.val.string.len = strlen(keys[k]);
		pushJsonbValue(&state, WJB_KEY, &v);
		pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
		for (int i = 0; i < m; i++)
		{
			v.type = jbvNumeric;
			v.val.numeric = int64_to_numeric(ids[i]);
			pushJsonbValue(&state, WJB_ELEM, &v);
		}
		pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}

int
score_unique_ids(int64 *ids, int n)
{
	int			m = 0;

	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(int64), int64_cmp);
	for (int i = 0; i < n; i++)
		if (m == 0 || ids[i] != ids[m - 1])
			ids[m++] = ids[i];
	return m;
}

/*
 * _combine_weights(weights integer[]): the noisy-OR of weights in [0,100],
 * round(100 * (1 - product of (1 - w/100))), each weight clamped to [0,99] and
 * NULLs ignored; 0 for no weights (or only zeros).  The product of the integers (100 - w) is
 * exact in numeric, so is its division by the power of 100 for any realistic
 * number of reasons (numeric keeps at least 16 decimals), and the rounding is
 * numeric's: half away from zero.
 */
Datum
correlate_combine_weights(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT16(0);
	arr = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(arr, INT4OID, sizeof(int32), true, TYPALIGN_INT, &elems, &nulls, &n);
	PG_RETURN_INT16(score_noisy_or(elems, nulls, n));
}

int16
score_noisy_or(const Datum *weights, const bool *nulls, int n)
{
	int			m = 0;
	Datum		prod,
				scale,
				score;

	prod = NumericGetDatum(int64_to_numeric(1));
	scale = prod;
	for (int i = 0; i < n; i++)
	{
		int32		w;

		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			continue;
		w = Min(Max(DatumGetInt32(weights[i]), 0), 99);
		if (w == 0)
			continue;			/* a factor of exactly 1 */
		prod = DirectFunctionCall2(numeric_mul, prod, NumericGetDatum(int64_to_numeric(100 - w)));
		scale = DirectFunctionCall2(numeric_mul, scale, NumericGetDatum(int64_to_numeric(100)));
		m++;

		/*
		 * Once 100 * prod / scale < 0.5 the score rounds to 100 whatever follows
		 * (every factor is at most 1).  Each weight of 1 or more shrinks the
		 * product by 1% at least, so this bounds the work (and the size of the
		 * numerics) at a few hundred weights however long the array.
		 */
		if (DatumGetBool(DirectFunctionCall2(numeric_lt,
											 DirectFunctionCall2(numeric_mul, prod,
																 NumericGetDatum(int64_to_numeric(200))),
											 scale)))
			return 100;
	}
	if (m == 0)
		return 0;
	/* 100 * (1 - prod / scale) = 100 - prod / (scale / 100) */
	score = DirectFunctionCall2(numeric_sub, NumericGetDatum(int64_to_numeric(100)),
								DirectFunctionCall2(numeric_div, prod,
													DirectFunctionCall2(numeric_div_trunc, scale,
																		NumericGetDatum(int64_to_numeric(100)))));
	score = DirectFunctionCall2(numeric_round, score, Int32GetDatum(0));
	return DatumGetInt16(DirectFunctionCall1(numeric_int2, score));
}

PG_FUNCTION_INFO_V1(correlate_because_ids);

/*
 * _because_ids(because jsonb, keys text[]): the ids listed under the given keys of
 * an attack edge's because object, as bigint[] (NULL for none), in order and with
 * duplicates (_evidence sorts and deduplicates).  An element counts when its text
 * is 1 to 18 digits (what the SQL it replaces matched with '^[0-9]{1,18}$'): a
 * number such as 7 or a string such as "7", not 7.5, -7 or a nested value.
 * rescore() calls it once per edge of a path instead of three subqueries.
 */
Datum
correlate_because_ids(PG_FUNCTION_ARGS)
{
	Jsonb	   *because;
	ArrayType  *keys;
	Datum	   *kd;
	bool	   *kn;
	int			nk;
	Datum	   *out = NULL;
	int			n = 0,
				cap = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	because = PG_GETARG_JSONB_P(0);
	keys = PG_GETARG_ARRAYTYPE_P(1);
	if (!JB_ROOT_IS_OBJECT(because))
		PG_RETURN_NULL();
	deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &kd, &kn, &nk);
	for (int k = 0; k < nk; k++)
	{
		JsonbValue	key;
		JsonbValue *v;
		JsonbIterator *it;
		JsonbValue	e;
		JsonbIteratorToken tok;
		text	   *kt;

		CHECK_FOR_INTERRUPTS();
		if (kn[k])
			continue;
		kt = DatumGetTextPP(kd[k]);
		key.type = jbvString;
		key.val.string.val = VARDATA_ANY(kt);
		key.val.string.len = VARSIZE_ANY_EXHDR(kt);
		v = findJsonbValueFromContainer(&because->root, JB_FOBJECT, &key);
		if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
			continue;
		it = JsonbIteratorInit(v->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			char	   *s;
			int			len;
			bool		ok;

			if (tok != WJB_ELEM)
				continue;
			if (e.type == jbvNumeric)
			{
				s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(e.val.numeric)));
				len = strlen(s);
			}
			else if (e.type == jbvString)
			{
				s = e.val.string.val;
				len = e.val.string.len;
			}
			else
				continue;
			ok = len >= 1 && len <= 18;
			for (int i = 0; ok && i < len; i++)
				ok = s[i] >= '0' && s[i] <= '9';
			if (!ok)
				continue;
			if (n == cap)
			{
				cap = cap ? cap * 2 : 8;
				out = out ? repalloc(out, sizeof(Datum) * cap) : palloc(sizeof(Datum) * cap);
			}
			{
				int64		id = 0;

				for (int i = 0; i < len; i++)
					id = id * 10 + (s[i] - '0');
				out[n++] = Int64GetDatum(id);
			}
		}
	}
	if (n == 0)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
