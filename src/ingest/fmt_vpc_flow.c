/*
 * fmt_vpc_flow.c
 *		Parser for the vpc_flow input format (not implemented yet).
 */
#include "postgres.h"

#include "ingest/ingest.h"

void
fmt_vpc_flow(IngestCtx *ctx, const char *payload, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ingest format \"vpc_flow\" is not implemented yet")));
}

IngestStream *
fmt_vpc_flow_stream(IngestCtx *ctx)
{
	fmt_vpc_flow(ctx, NULL, 0);
	return NULL;
}
