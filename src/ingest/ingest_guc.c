/*
 * ingest_guc.c
 *		Settings owned by the ingest module: batch size and the limits that
 *		keep memory bounded whatever the input.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "correlate.h"
#include "ingest/ingest.h"
#include "ingest/ingest_int.h"

int			correlate_ingest_batch_size = 5000;
int			correlate_ingest_max_document_size = 64 * 1024;	/* kB */
int			correlate_ingest_max_depth = 256;
int			correlate_ingest_reject_raw_max = 64;	/* kB */

void
ingest_define_gucs(void)
{
	DefineCustomIntVariable("correlate.ingest_batch_size",
							"Records buffered by correlate.ingest before they are written in bulk.",
							"Memory grows with the batch; each flush is a fixed number of statements.",
							&correlate_ingest_batch_size,
							5000, 1, 1000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.ingest_max_document_size",
							"Largest JSON value correlate.ingest parses at once.",
							"A record of a streamed format (CloudTrail, Falco, ...) or the whole input of a "
							"document format (Trivy, IAM, inventory); larger ones are rejected.",
							&correlate_ingest_max_document_size,
							/* below 1 GB: a document must fit a StringInfo with its NUL */
							64 * 1024, 1, 1024 * 1024 - 1,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.ingest_max_depth",
							"Deepest JSON nesting correlate.ingest accepts in a record.",
							NULL,
							&correlate_ingest_max_depth,
							256, 8, 1000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.ingest_reject_raw_max",
							"Raw text kept per rejected record in correlate.ingest_reject.",
							"Longer records are truncated; the reason says so.",
							&correlate_ingest_reject_raw_max,
							64, 0, 1024 * 1024,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
}

size_t
ingest_max_document_bytes(void)
{
	return (size_t) correlate_ingest_max_document_size * 1024;
}

int
ingest_max_depth(void)
{
	return correlate_ingest_max_depth;
}

size_t
ingest_reject_keep_bytes(void)
{
	return (size_t) correlate_ingest_reject_raw_max * 1024;
}
