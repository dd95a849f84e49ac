/*
 * fmt_grype.c
 *		Parser for the grype input format (not implemented yet).
 */
#include "postgres.h"

#include "ingest/ingest.h"

void
fmt_grype(IngestCtx *ctx, const char *payload, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ingest format \"grype\" is not implemented yet")));
}
