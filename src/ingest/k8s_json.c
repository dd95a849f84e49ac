/*
 * k8s_json.c
 *		json-c helpers shared by the inventory and scanner parsers: typed
 *		member access that records the first type error of a record instead of
 *		raising, JSON text that jsonb accepts, raw text for rejects, and times.
 *
 * json-c accepts input that PostgreSQL's jsonb refuses (NaN, Infinity, the
 * \u0000 escape), so every JSON text a parser hands to the writer goes
 * through kj_text, which checks the serialised form.  Nothing here raises
 * except on out-of-memory; the parsers decide what is a reject.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "ingest/json_util.h"
#include "ingest/k8s_json.h"
#include "ingest/pseudonym.h"

#define KJ_TO_STRING (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void
kj_bad(KjRec *r, const char *fmt,...)
{
	va_list		args;
	StringInfoData buf;

	if (r->why != NULL)
		return;
	initStringInfo(&buf);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	r->why = buf.data;
}

json_object *
kj_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	if (v == NULL || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

const char *
kj_type_name(json_object *v)
{
	switch (json_object_get_type(v))
	{
		case json_type_null:
			return "null";
		case json_type_boolean:
			return "a boolean";
		case json_type_double:
		case json_type_int:
			return "a number";
		case json_type_object:
			return "an object";
		case json_type_array:
			return "an array";
		case json_type_string:
			return "a string";
	}
	return "unknown";
}

const char *
kj_strval(KjRec *r, json_object *v, const char *what)
{
	const char *s;

	if (v == NULL || json_object_is_type(v, json_type_null))
		return NULL;
	if (!json_object_is_type(v, json_type_string))
	{
		kj_bad(r, "\"%s\" is %s, not a string", what, kj_type_name(v));
		return NULL;
	}
	s = json_object_get_string(v);
	if ((size_t) json_object_get_string_len(v) != strlen(s))
	{
		kj_bad(r, "\"%s\" contains a NUL character", what);
		return NULL;
	}
	return s;
}

const char *
kj_str(KjRec *r, json_object *o, const char *key)
{
	return kj_strval(r, kj_get(o, key), key);
}

json_object *
kj_obj(KjRec *r, json_object *o, const char *key)
{
	json_object *v = kj_get(o, key);

	if (v != NULL && !json_object_is_type(v, json_type_object))
	{
		kj_bad(r, "\"%s\" is %s, not an object", key, kj_type_name(v));
		return NULL;
	}
	return v;
}

json_object *
kj_arr(KjRec *r, json_object *o, const char *key)
{
	json_object *v = kj_get(o, key);

	if (v != NULL && !json_object_is_type(v, json_type_array))
	{
		kj_bad(r, "\"%s\" is %s, not an array", key, kj_type_name(v));
		return NULL;
	}
	return v;
}

int
kj_bool(KjRec *r, json_object *o, const char *key)
{
	json_object *v = kj_get(o, key);

	if (v == NULL)
		return -1;
	if (!json_object_is_type(v, json_type_boolean))
	{
		kj_bad(r, "\"%s\" is %s, not a boolean", key, kj_type_name(v));
		return -1;
	}
	return json_object_get_boolean(v) ? 1 : 0;
}

bool
kj_int(KjRec *r, json_object *o, const char *key, int64 *out)
{
	json_object *v = kj_get(o, key);
	double		d;

	if (v == NULL)
		return false;
	if (json_object_is_type(v, json_type_int))
	{
		*out = json_object_get_int64(v);
		return true;
	}
	if (json_object_is_type(v, json_type_double))
	{
		d = json_object_get_double(v);
		if (d == floor(d) && d >= -9.2e18 && d <= 9.2e18)
		{
			*out = (int64) d;
			return true;
		}
	}
	kj_bad(r, "\"%s\" is %s, not an integer", key, kj_type_name(v));
	return false;
}

bool
kj_num(KjRec *r, json_object *o, const char *key, double *out)
{
	json_object *v = kj_get(o, key);
	double		d;

	if (v == NULL)
		return false;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
	{
		kj_bad(r, "\"%s\" is %s, not a number", key, kj_type_name(v));
		return false;
	}
	d = json_object_get_double(v);
	if (isnan(d) || isinf(d))
	{
		kj_bad(r, "\"%s\" is not a finite number", key);
		return false;
	}
	*out = d;
	return true;
}

json_object *
kj_strmap(KjRec *r, json_object *o, const char *key)
{
	json_object *m = kj_obj(r, o, key);

	if (m == NULL)
		return NULL;
	{
		json_object_object_foreach(m, k, v)
		{
			if (v == NULL || !json_object_is_type(v, json_type_string))
			{
				kj_bad(r, "\"%s\" maps \"%s\" to %s; its values must be strings", key, KJ_SHOW(k),
					   v ? kj_type_name(v) : "null");
				return NULL;
			}
			if ((size_t) json_object_get_string_len(v) != strlen(json_object_get_string(v)))
			{
				kj_bad(r, "\"%s\" value of \"%s\" contains a NUL character", key, KJ_SHOW(k));
				return NULL;
			}
		}
	}
	return m;
}

/*
 * Checks serialised JSON for what jsonb cannot hold: the \u0000 escape inside
 * strings and the non-finite numbers json-c accepts (NaN, Infinity).
 */
static const char *
kj_jsonb_problem(const char *s)
{
	bool		in_str = false;

	for (const char *p = s; *p; p++)
	{
		if (in_str)
		{
			if (*p == '\\')
			{
				if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0)
					return "it contains a NUL character (\\u0000), which PostgreSQL cannot store";
				if (p[1] != '\0')
					p++;
			}
			else if (*p == '"')
				in_str = false;
		}
		else if (*p == '"')
			in_str = true;
		else if (*p == 'N' || *p == 'I' || *p == 'n' || *p == 'i')
		{
			/* null is the only bare word starting with n; the others are NaN / Infinity */
			if (strncmp(p, "null", 4) != 0)
				return "it contains a non-finite number (NaN or Infinity)";
			p += 3;
		}
	}
	return NULL;
}

char *
kj_text(KjRec *r, json_object *o, const char *what)
{
	const char *s;
	const char *problem;

	if (o == NULL)
		return NULL;
	s = json_object_to_json_string_ext(o, KJ_TO_STRING);
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory serialising JSON")));
	problem = kj_jsonb_problem(s);
	if (problem != NULL)
	{
		kj_bad(r, "%s cannot be stored: %s", what, problem);
		return NULL;
	}
	return pstrdup(s);
}

char *
kj_text_put(KjRec *r, json_object *o, const char *what)
{
	char	   *s = kj_text(r, o, what);

	if (o)
		json_object_put(o);
	return s;
}

char *
kj_raw_bytes(const char *data, size_t len, size_t *rawlen)
{
	int			n = (int) Min(len, (size_t) KJ_MAX_RAW);

	/* Keep the longest prefix that is valid in the database encoding (no NULs). */
	n = pg_encoding_verifymbstr(GetDatabaseEncoding(), data, n);
	*rawlen = (size_t) n;
	return pnstrdup(data, n);
}

char *
kj_raw(json_object *o, size_t *rawlen)
{
	const char *s;

	if (o == NULL)
	{
		*rawlen = 0;
		return pstrdup("");
	}
	s = json_object_to_json_string_ext(o, KJ_TO_STRING);
	if (s == NULL)
	{
		*rawlen = 0;
		return pstrdup("");
	}
	return kj_raw_bytes(s, strlen(s), rawlen);
}

bool
kj_time(KjRec *r, json_object *o, const char *key, TimestampTz *out)
{
	const char *s = kj_str(r, o, key);

	if (s == NULL || *s == '\0')
		return false;
	if (!ingest_parse_time(s, out))
	{
		kj_bad(r, "\"%s\" is not an RFC 3339 time: \"%s\"", key, KJ_SHOW(s));
		return false;
	}
	return true;
}

void
kj_add_str(json_object *obj, const char *key, const char *val)
{
	if (val != NULL)
		json_object_object_add(obj, key, json_object_new_string(val));
}

void
kj_add_ref(json_object *obj, const char *key, json_object *v)
{
	if (v != NULL)
		json_object_object_add(obj, key, json_object_get(v));
}

void
kj_add_bool(json_object *obj, const char *key, bool val)
{
	json_object_object_add(obj, key, json_object_new_boolean(val));
}

void
kj_add_int(json_object *obj, const char *key, int64 val)
{
	json_object_object_add(obj, key, json_object_new_int64(val));
}

char *
kj_clip(const char *s, int maxbytes)
{
	int			len;

	if (s == NULL)
		return NULL;
	len = (int) Min(strlen(s), (size_t) INT_MAX);
	if (len <= maxbytes)
		return pstrdup(s);
	return pnstrdup(s, pg_encoding_mbcliplen(PG_UTF8, s, len, maxbytes));
}

bool
kj_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return false;
	return pg_strcasecmp(a, b) == 0;
}

const char *
kj_severity(const char *s)
{
	if (s == NULL)
		return "unknown";
	if (kj_eq(s, "critical"))
		return "critical";
	if (kj_eq(s, "high"))
		return "high";
	if (kj_eq(s, "medium") || kj_eq(s, "moderate"))
		return "medium";
	if (kj_eq(s, "low"))
		return "low";
	if (kj_eq(s, "negligible") || kj_eq(s, "info") || kj_eq(s, "informational") || kj_eq(s, "none"))
		return "info";
	return "unknown";
}

json_object *
kj_parse_report(IngestCtx *ctx, const char *payload, size_t len)
{
	const char *why = NULL;
	json_object *doc = ju_parse(payload, len, &why);

	if (doc == NULL)
	{
		size_t		rawlen;
		char	   *raw = kj_raw_bytes(payload, len, &rawlen);

		ingest_record_begin(ctx, 1, raw, rawlen);
		ingest_reject(ctx, 1, raw, rawlen, psprintf("the report cannot be read: %s", why));
	}
	else
		pseudo_json(ctx, doc);
	return doc;
}
