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
	struct json_object *o = json_object_new_object();
	const char *js = NULL;
	size_t		len;
	text	   *t;

	/* json-c reports running out of memory with NULLs, not errors */
	if (o != NULL &&
		json_object_object_add(o, "correlate", json_object_new_string(CORRELATE_VERSION)) == 0 &&
		json_object_object_add(o, "json_c", json_object_new_string(json_c_version())) == 0 &&
		json_object_object_add(o, "postgres", json_object_new_string(PG_VERSION)) == 0)
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
