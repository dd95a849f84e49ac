/*
 * progress.h
 *		Progress of long work (ingest of a file, detect over history, rescore,
 *		attack-edge derivation): NOTICEs at a bounded rate and the rows of the
 *		correlate.progress view.  See progress.c for the design.
 */
#ifndef CORRELATE_PROGRESS_H
#define CORRELATE_PROGRESS_H

#include "postgres.h"

/* Longest strings a job keeps (bytes, without the terminator); longer input is refused by the SQL wrappers. */
#define PROGRESS_COMMAND_MAX	63
#define PROGRESS_PHASE_MAX		63
#define PROGRESS_UNIT_MAX		31
#define PROGRESS_TENANT_MAX		63

/* GUC correlate.progress_notice_interval, seconds; 0: no NOTICE. */
extern int	progress_notice_interval;

/*
 * Starts a job: tenant NULL means correlate.current_tenant(); total < 0 means
 * unknown.  A job begun inside another is shown as a phase of the outer one.
 * Jobs end with progress_end(), or at the end of their (sub)transaction.
 */
extern void progress_begin(const char *command, const char *tenant, int64 total, const char *unit);
extern void progress_phase(const char *phase);
extern void progress_advance(int64 done);
/* Adds n to done when the innermost job is command (a per-row hook of a query). */
extern void progress_advance_by(const char *command, int64 n);
extern void progress_end(void);

#endif							/* CORRELATE_PROGRESS_H */
