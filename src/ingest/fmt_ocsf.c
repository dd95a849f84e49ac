/*
 * fmt_ocsf.c
 *		Parser for the ocsf input format (not implemented yet).
 */
#include "postgres.h"

#include "ingest/ingest.h"

void
fmt_ocsf(IngestCtx *ctx, const char *payload, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ingest format \"ocsf\" is not implemented yet")));
}

IngestStream *
fmt_ocsf_stream(IngestCtx *ctx)
{
	fmt_ocsf(ctx, NULL, 0);
	return NULL;
}
