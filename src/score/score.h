/*
 * score.h
 *		The risk module's C (the scoring itself is SQL, 80_risk.sql): the two
 *		helpers every reason and score goes through, as plain C functions the
 *		fmgr wrappers in score.c call, and the module's settings (score_guc.c).
 */
#ifndef CORRELATE_SCORE_H
#define CORRELATE_SCORE_H

#include "postgres.h"

/* score.c */

/* Sorts ids[0..n) ascending and drops duplicates in place; returns how many remain. */
extern int	score_unique_ids(int64 *ids, int n);

/*
 * The noisy-OR of n weights in [0,100] (NULLs, where nulls[i], ignored; each
 * weight clamped to [0,99]): round(100 * (1 - prod(1 - w/100))), exactly, in
 * numeric; 0 for no weights.
 */
extern int16 score_noisy_or(const Datum *weights, const bool *nulls, int n);

/* score_guc.c: declared in correlate.h with the other modules' define functions. */

#endif							/* CORRELATE_SCORE_H */
