/*
 * fmt_aws_iam.c
 *		Parser for the aws_iam input format (not implemented yet).
 */
#include "postgres.h"

#include "ingest/ingest.h"

void
fmt_aws_iam(IngestCtx *ctx, const char *payload, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ingest format \"aws_iam\" is not implemented yet")));
}
