/*
 * ingest_guc.c
 *		Settings owned by the ingest module.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "correlate.h"

void
ingest_define_gucs(void)
{
}
