/*
 * fmt_trivy.c
 *		Parser for the trivy input format (not implemented yet).
 */
#include "postgres.h"

#include "ingest/ingest.h"

void
fmt_trivy(IngestCtx *ctx, const char *payload, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ingest format \"trivy\" is not implemented yet")));
}
