/*
 * score_guc.c
 *		Settings owned by the risk module: score history, its retention, how
 *		many attack paths rescore() tracks as findings, and when an incremental
 *		rescore gives way to a full one.
 *
 * All are read from SQL with current_setting(); defining them here gives them a
 * type, a range and a description, and refuses bad values when they are set.
 * History on/off is PGC_SUSET: turning it off loses what changed, so only an
 * administrator (or a benchmark) may.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "correlate.h"

static bool risk_history = true;
static int	risk_history_days = 400;
static int	risk_path_findings = 10;
static double rescore_incremental_limit = 0.25;

void
score_define_gucs(void)
{
	DefineCustomBoolVariable("correlate.risk_history",
							 "Whether rescore() records score changes, attack-path findings and the run.",
							 "Off, a rescore only replaces the scores (what changed is not kept).",
							 &risk_history,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.risk_history_days",
							"How many days of score history, closed attack paths and posture snapshots to keep.",
							"correlate.prune_risk_history() (run by the daily posture job) deletes what is older.",
							&risk_history_days,
							400,
							1,
							100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("correlate.rescore_incremental_limit",
							 "Share of the tenant's resources above which rescore() recomputes everything instead of what changed.",
							 "0 rescores from scratch every time; 1 always rescores incrementally.",
							 &rescore_incremental_limit,
							 0.25,
							 0.0,
							 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.risk_path_findings",
							"How many of the most likely attack paths to crown jewels each rescore() records as findings.",
							NULL,
							&risk_path_findings,
							10,
							0,
							1000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}
