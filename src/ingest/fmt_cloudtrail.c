/*
 * fmt_cloudtrail.c
 *		Parser for the cloudtrail input format (placeholder).
 */
#include "postgres.h"

#include "ingest/json_util.h"

static const char *const ct_wrappers[] = {"Records", NULL};
static const JuSplitOpts ct_split = {ct_wrappers};

static void
ct_record(IngestCtx *ctx, struct json_object *rec, const char *raw, size_t rawlen, int64 recno, void *arg)
{
	IngestEvent e;
	const char *t = ju_str(rec, "eventTime");

	ingest_event_init(&e);
	if (!json_object_is_type(rec, json_type_object))
	{
		ingest_reject(ctx, recno, raw, rawlen, "the record is not a JSON object");
		return;
	}
	if (!ingest_parse_time(t, &e.ts))
	{
		ingest_reject(ctx, recno, raw, rawlen, "eventTime is missing or not an ISO 8601 time");
		return;
	}
	e.uid = ju_str(rec, "eventID");
	e.class_uid = 6003;
	e.raw_json = raw;
	ingest_event(ctx, &e);
}

IngestStream *
fmt_cloudtrail_stream(IngestCtx *ctx)
{
	return ju_json_stream(ctx, &ct_split, ct_record, NULL);
}

void
fmt_cloudtrail(IngestCtx *ctx, const char *payload, size_t len)
{
	ju_json_each(ctx, payload, len, &ct_split, ct_record, NULL);
}
