/*
 * fmt_falco.c
 *		Parser for the falco input format (not implemented yet).
 */
#include "postgres.h"

#include "ingest/ingest.h"

void
fmt_falco(IngestCtx *ctx, const char *payload, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ingest format \"falco\" is not implemented yet")));
}

IngestStream *
fmt_falco_stream(IngestCtx *ctx)
{
	fmt_falco(ctx, NULL, 0);
	return NULL;
}
