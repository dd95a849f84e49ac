/*
 * iam_policy.c
 *		Reading policy statements (jsonb) for correlate.refresh_policies():
 *		validation with a reason, and conversion of Action / Resource /
 *		Principal values into correlate.iam_pattern[].
 *
 * These run once per statement of every document in a refresh, so they are C:
 * SQL helpers would be parsed and planned again for every call.  A value of an
 * Action-like element is a string or a non-empty array of strings.  Policy
 * variables in resources ("${aws:username}") are widened to '*' (AWS's escapes
 * "${*}", "${?}" and "${$}" become their characters); the caller marks such
 * statements conditional.
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "iam/iam.h"

PG_FUNCTION_INFO_V1(iam_list_sql);
PG_FUNCTION_INFO_V1(iam_patterns_sql);
PG_FUNCTION_INFO_V1(iam_principals_sql);
PG_FUNCTION_INFO_V1(iam_statement_problem_sql);

typedef struct StrList
{
	int			n;
	const char **s;
	int		   *len;
} StrList;

/* The value of key in an object container, or NULL. */
static JsonbValue *
get_key(JsonbContainer *obj, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(obj, JB_FOBJECT, &k);
}

/* The strings of a string or a non-empty array of strings; false for anything else. */
static bool
value_strings(JsonbValue *v, StrList *out)
{
	out->n = 0;
	if (v == NULL)
		return false;
	if (v->type == jbvString)
	{
		out->s = palloc(sizeof(char *));
		out->len = palloc(sizeof(int));
		out->s[0] = v->val.string.val;
		out->len[0] = v->val.string.len;
		out->n = 1;
		return true;
	}
	if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data) &&
		!JsonContainerIsScalar(v->val.binary.data))
	{
		JsonbContainer *c = v->val.binary.data;
		int			size = JsonContainerSize(c);

		if (size == 0)
			return false;
		out->s = palloc(size * sizeof(char *));
		out->len = palloc(size * sizeof(int));
		for (int i = 0; i < size; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(c, i);

			if (e == NULL || e->type != jbvString)
				return false;
			out->s[i] = e->val.string.val;
			out->len[i] = e->val.string.len;
		}
		out->n = size;
		return true;
	}
	return false;
}

/* The jsonb value as text, cut to max bytes. */
static char *
value_text(JsonbValue *v, int max)
{
	Jsonb	   *jb = JsonbValueToJsonb(v);
	char	   *s = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

	if ((int) strlen(s) > max)
		s[pg_mbcliplen(s, strlen(s), max)] = '\0';
	return s;
}

/*
 * s with policy variables widened; *had_var says whether a real variable was
 * replaced.  Returns a palloc'd buffer and its length in *outlen.
 */
static char *
expand_vars(const char *s, int len, int *outlen, bool *had_var)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < len; i++)
	{
		if (s[i] == '$' && i + 1 < len && s[i + 1] == '{')
		{
			int			j = i + 2;

			while (j < len && s[j] != '}')
				j++;
			if (j < len)
			{
				int			inner = j - (i + 2);
				const char *in = s + i + 2;

				if (inner == 1 && (in[0] == '*' || in[0] == '?' || in[0] == '$'))
					appendStringInfoChar(&buf, in[0]);
				else
				{
					appendStringInfoChar(&buf, '*');
					if (had_var)
						*had_var = true;
				}
				i = j;
				continue;
			}
		}
		appendStringInfoChar(&buf, s[i]);
	}
	*outlen = buf.len;
	return buf.data;
}

/* Why a list (Action, Resource...) is unusable, or NULL. */
static char *
list_problem(JsonbValue *v, const char *what)
{
	StrList		l;

	if (!value_strings(v, &l))
		return psprintf("%s is %s, not a string or a non-empty array of strings", what, value_text(v, 80));
	for (int i = 0; i < l.n; i++)
	{
		int			elen;
		char	   *e = expand_vars(l.s[i], l.len[i], &elen, NULL);
		const char *why = iam_pattern_problem(e, elen);

		if (why != NULL)
			return psprintf("%s \"%s\" is not a valid pattern: %s", what,
							iam_pattern_show(l.s[i], l.len[i]), why);
	}
	return NULL;
}

static const char *const principal_keys[] = {"AWS", "Service", "Federated", "CanonicalUser", NULL};

/* Why a Principal / NotPrincipal value is unusable, or NULL. */
static char *
principal_problem(JsonbValue *v, const char *what)
{
	JsonbIterator *it;
	JsonbValue	k,
				val;
	JsonbIteratorToken tok;

	if (v->type == jbvString && v->val.string.len == 1 && v->val.string.val[0] == '*')
		return NULL;
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data) ||
		JsonContainerSize(v->val.binary.data) == 0)
		return psprintf("%s is %s, not \"*\" or an object of AWS / Service / Federated / CanonicalUser lists",
						what, value_text(v, 80));

	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		bool		known = false;
		char	   *why;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &val, true);
		for (int i = 0; principal_keys[i]; i++)
			if (strcmp(key, principal_keys[i]) == 0)
				known = true;
		if (!known)
			return psprintf("%s has the unknown key \"%s\"", what, key);
		why = list_problem(&val, psprintf("%s %s", what, key));
		if (why != NULL)
			return why;
	}
	return NULL;
}

/* Why a statement cannot be used, or NULL.  kind: managed, inline, trust or resource. */
static char *
statement_problem(Jsonb *st, const char *kind)
{
	JsonbContainer *c = &st->root;
	JsonbValue *effect;
	JsonbValue *action,
			   *notaction,
			   *resource,
			   *notresource,
			   *principal,
			   *notprincipal,
			   *condition;
	bool		trust = strcmp(kind, "trust") == 0;
	bool		resource_based = trust || strcmp(kind, "resource") == 0;
	char	   *why;

	if (!JB_ROOT_IS_OBJECT(st))
		return "the statement is not a JSON object";

	effect = get_key(c, "Effect");
	if (effect == NULL || effect->type != jbvString ||
		!((effect->val.string.len == 5 && memcmp(effect->val.string.val, "Allow", 5) == 0) ||
		  (effect->val.string.len == 4 && memcmp(effect->val.string.val, "Deny", 4) == 0)))
		return psprintf("Effect is %s, not \"Allow\" or \"Deny\"", effect ? value_text(effect, 40) : "missing");

	action = get_key(c, "Action");
	notaction = get_key(c, "NotAction");
	if ((action != NULL) == (notaction != NULL))
		return "a statement needs exactly one of Action and NotAction";
	resource = get_key(c, "Resource");
	notresource = get_key(c, "NotResource");
	if (!trust && (resource != NULL) == (notresource != NULL))
		return "a statement needs exactly one of Resource and NotResource";
	principal = get_key(c, "Principal");
	notprincipal = get_key(c, "NotPrincipal");
	if (resource_based && (principal != NULL) == (notprincipal != NULL))
		return "a resource-based statement needs exactly one of Principal and NotPrincipal";
	if (!resource_based && (principal != NULL || notprincipal != NULL))
		return "an identity-based policy statement cannot name a Principal";

	condition = get_key(c, "Condition");
	if (condition != NULL)
	{
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken tok;

		if (condition->type != jbvBinary || !JsonContainerIsObject(condition->val.binary.data))
			return "Condition is not an object";
		it = JsonbIteratorInit(condition->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_VALUE &&
				(v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data)))
				return "every Condition operator must map to an object of condition keys";
		}
	}

	if ((why = list_problem(action ? action : notaction, action ? "Action" : "NotAction")) != NULL)
		return why;
	if (!trust &&
		(why = list_problem(resource ? resource : notresource, resource ? "Resource" : "NotResource")) != NULL)
		return why;
	if (resource_based &&
		(why = principal_problem(principal ? principal : notprincipal,
								 principal ? "Principal" : "NotPrincipal")) != NULL)
		return why;
	return NULL;
}

/* Builds an iam_pattern[] from n texts. */
static ArrayType *
pattern_array(char **s, int *len, int n, FunctionCallInfo fcinfo)
{
	Datum	   *elems = palloc(Max(n, 1) * sizeof(Datum));
	Oid			elemtype = get_element_type(get_func_rettype(fcinfo->flinfo->fn_oid));

	if (!OidIsValid(elemtype))
		elog(ERROR, "could not determine the element type of the result");
	for (int i = 0; i < n; i++)
		elems[i] = PointerGetDatum(iam_pattern_make(s[i], len[i], "a policy statement"));
	return construct_array(elems, n, elemtype, -1, false, TYPALIGN_INT);
}

/* _iam_list(jsonb): a string or array of strings as text[]; NULL otherwise. */
Datum
iam_list_sql(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	JsonbValue	v;
	StrList		l;
	Datum	   *elems;

	v.type = jbvBinary;
	v.val.binary.data = &jb->root;
	v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	if (JB_ROOT_IS_SCALAR(jb))
	{
		JsonbValue *scalar = getIthJsonbValueFromContainer(&jb->root, 0);

		if (!value_strings(scalar, &l))
			PG_RETURN_NULL();
	}
	else if (!value_strings(&v, &l))
		PG_RETURN_NULL();
	elems = palloc(l.n * sizeof(Datum));
	for (int i = 0; i < l.n; i++)
		elems[i] = PointerGetDatum(cstring_to_text_with_len(l.s[i], l.len[i]));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, l.n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* The top-level value of a jsonb datum as a JsonbValue. */
static JsonbValue *
root_value(Jsonb *jb, JsonbValue *buf)
{
	if (JB_ROOT_IS_SCALAR(jb))
		return getIthJsonbValueFromContainer(&jb->root, 0);
	buf->type = jbvBinary;
	buf->val.binary.data = &jb->root;
	buf->val.binary.len = VARSIZE(jb) - VARHDRSZ;
	return buf;
}

/* _iam_patterns(jsonb): the patterns of a list, policy variables widened. */
Datum
iam_patterns_sql(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	JsonbValue	buf;
	StrList		l;
	char	  **s;
	int		   *len;

	if (!value_strings(root_value(jb, &buf), &l))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a policy list must be a string or a non-empty array of strings")));
	s = palloc(l.n * sizeof(char *));
	len = palloc(l.n * sizeof(int));
	for (int i = 0; i < l.n; i++)
		s[i] = expand_vars(l.s[i], l.len[i], &len[i], NULL);
	PG_RETURN_ARRAYTYPE_P(pattern_array(s, len, l.n, fcinfo));
}

static bool
all_digits12(const char *s, int len)
{
	if (len != 12)
		return false;
	for (int i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * _iam_principals(jsonb): "*", or every AWS / Service / Federated /
 * CanonicalUser value; a 12-digit AWS account id becomes arn:aws:iam::ID:root.
 */
Datum
iam_principals_sql(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	JsonbValue	buf;
	JsonbValue *v = root_value(jb, &buf);
	int			max = 16;
	int			n = 0;
	char	  **s = palloc(max * sizeof(char *));
	int		   *len = palloc(max * sizeof(int));

	if (v->type == jbvString)
	{
		s[0] = pnstrdup(v->val.string.val, v->val.string.len);
		len[0] = v->val.string.len;
		n = 1;
	}
	else if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	k,
					val;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			StrList		l;
			bool		aws;

			if (tok != WJB_KEY)
				continue;
			aws = (k.val.string.len == 3 && memcmp(k.val.string.val, "AWS", 3) == 0);
			JsonbIteratorNext(&it, &val, true);
			if (!value_strings(&val, &l))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a Principal value must be a string or a non-empty array of strings")));
			for (int i = 0; i < l.n; i++)
			{
				if (n == max)
				{
					max *= 2;
					s = repalloc(s, max * sizeof(char *));
					len = repalloc(len, max * sizeof(int));
				}
				if (aws && all_digits12(l.s[i], l.len[i]))
					s[n] = psprintf("arn:aws:iam::%.*s:root", l.len[i], l.s[i]);
				else
					s[n] = pnstrdup(l.s[i], l.len[i]);
				len[n] = strlen(s[n]);
				n++;
			}
		}
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a Principal must be \"*\" or an object")));
	PG_RETURN_ARRAYTYPE_P(pattern_array(s, len, n, fcinfo));
}

/* _iam_statement_problem(statement jsonb, kind text): why it cannot be used, or NULL. */
Datum
iam_statement_problem_sql(PG_FUNCTION_ARGS)
{
	Jsonb	   *st = PG_GETARG_JSONB_P(0);
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *why = statement_problem(st, kind);

	if (why == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(why));
}
