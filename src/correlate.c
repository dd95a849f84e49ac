/*
 * correlate.c
 *		Library entry point: _PG_init and the GUCs shared by every module.
 *
 * Module-specific settings live with their module (graph_guc.c, ingest_guc.c,
 * iam_guc.c, score_guc.c); this file only calls their define functions so that the whole
 * configuration surface is registered the first time the library loads.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "correlate.h"

PG_MODULE_MAGIC;

char	   *correlate_tenant = NULL;
char	   *correlate_default_cluster = NULL;
char	   *correlate_retention_clock_lead = NULL;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("correlate.tenant",
							   "Tenant whose rows this session reads and writes.",
							   "Row level security shows only this tenant's rows; "
							   "the role must be granted the tenant in correlate.tenant_access.",
							   &correlate_tenant,
							   "default",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("correlate.default_cluster",
							   "Kubernetes cluster name used when an input does not name one.",
							   NULL,
							   &correlate_default_cluster,
							   "default",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("correlate.retention_clock_lead",
							   "How far the clock may run ahead of the newest stored event before retention distrusts it (an interval).",
							   "correlate.drop_event_partitions without as_of counts age from the newest event plus this "
							   "when the clock is further ahead, so a clock stepped forward cannot drop recent events.",
							   &correlate_retention_clock_lead,
							   "7 days",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	graph_define_gucs();
	ingest_define_gucs();
	iam_define_gucs();
	detect_define_gucs();
	output_define_gucs();
	score_define_gucs();
	progress_init();

	MarkGUCPrefixReserved("correlate");
}
