/*
 * fmt_cloudtrail.c
 *		Parser for the cloudtrail input format (not implemented yet).
 */
#include "postgres.h"

#include "ingest/ingest.h"

void
fmt_cloudtrail(IngestCtx *ctx, const char *payload, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ingest format \"cloudtrail\" is not implemented yet")));
}
