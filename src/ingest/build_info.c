/*
 * build_info.c
 *		correlate.build_info(): the library and json-c versions this backend runs,
 *		as JSON text (the SQL wrapper casts it to jsonb).
 *
 * json-c is confined to src/ingest/ (see STYLE.md: it clashes with
 * utils/builtins.h), so even this tiny report builds its answer with json-c and
 * hands Postgres a plain C string.
 */
#include "postgres.h"

#include <json-c/json.h>

#include "fmgr.h"

PG_FUNCTION_INFO_V1(correlate_build_info);
Datum
correlate_build_info(PG_FUNCTION_ARGS)
{
	static const char *const keys[] = {"correlate", "json_c", "postgres"};
	struct json_object *o = json_object_new_object();
	struct json_object *vals[] = {json_object_new_string(CORRELATE_VERSION),
		json_object_new_string(json_c_version()), json_object_new_string(PG_VERSION)};
	bool		ok = o != NULL;
	const char *js = NULL;
	size_t		len;
	text	   *t;

	/*
	 * json-c reports running out of memory with NULLs, not errors: a NULL
	 * value would be added as a JSON null, so every one is checked.
	 */
	for (int i = 0; i < (int) lengthof(vals); i++)
	{
		if (ok && vals[i] != NULL && json_object_object_add(o, keys[i], vals[i]) == 0)
			continue;
		ok = false;
		json_object_put(vals[i]);	/* not added (json_object_put(NULL) does nothing) */
	}
	if (ok)
		js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (js == NULL)
	{
		json_object_put(o);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	len = strlen(js);
	t = (text *) palloc(VARHDRSZ + len);

	SET_VARSIZE(t, VARHDRSZ + len);
	memcpy(VARDATA(t), js, len);
	json_object_put(o);
	PG_RETURN_TEXT_P(t);
}
