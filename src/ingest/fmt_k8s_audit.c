/*
 * fmt_k8s_audit.c
 *		Parser for the k8s_audit input format (not implemented yet).
 */
#include "postgres.h"

#include "ingest/ingest.h"

void
fmt_k8s_audit(IngestCtx *ctx, const char *payload, size_t len)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ingest format \"k8s_audit\" is not implemented yet")));
}

IngestStream *
fmt_k8s_audit_stream(IngestCtx *ctx)
{
	fmt_k8s_audit(ctx, NULL, 0);
	return NULL;
}
