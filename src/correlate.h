/*
 * correlate.h
 *		Module-wide declarations: GUC variables and the per-module init hooks
 *		that _PG_init calls.  Each src/<module>/ folder owns its own header.
 */
#ifndef CORRELATE_H
#define CORRELATE_H

#include "postgres.h"

/* GUCs defined in correlate.c */
extern char *correlate_tenant;
extern char *correlate_default_cluster;
extern char *correlate_retention_clock_lead;

/* Per-module GUC definitions, each in the module's own *_guc.c file. */
extern void graph_define_gucs(void);
extern void ingest_define_gucs(void);
extern void iam_define_gucs(void);
extern void detect_define_gucs(void);
extern void output_define_gucs(void);
extern void score_define_gucs(void);
extern void progress_init(void);	/* progress.c: GUC, shared memory, callbacks */

#endif							/* CORRELATE_H */
