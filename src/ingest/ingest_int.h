/*
 * ingest_int.h
 *		Declarations private to the ingest module's plumbing (dispatcher,
 *		writer, settings); parsers use ingest.h and json_util.h only.
 */
#ifndef CORRELATE_INGEST_INT_H
#define CORRELATE_INGEST_INT_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* GUCs (ingest_guc.c) */
extern int	correlate_ingest_batch_size;
extern int	correlate_ingest_max_document_size;	/* kB */
extern int	correlate_ingest_max_depth;
extern int	correlate_ingest_reject_raw_max;	/* kB */

/* Bytes of a rejected record's text worth keeping (correlate.ingest_reject_raw_max). */
extern size_t ingest_reject_keep_bytes(void);

/* Times the writer accepts: 1900-01-01 .. 9999-12-31 (microseconds since 2000-01-01). */
#define INGEST_MIN_TS	INT64CONST(-3155673600000000)
#define INGEST_MAX_TS	INT64CONST(252455615999999999)

#endif							/* CORRELATE_INGEST_INT_H */
