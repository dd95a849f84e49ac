/*
 * iam_guc.c
 *		Settings owned by the iam module.
 *
 * correlate.iam_pattern_max_length bounds what correlate.iam_pattern accepts
 * as input (text and binary).  Values already stored stay valid when the limit
 * is lowered; only new input is checked.  It is superuser-only because it is a
 * resource guard, not a per-query preference; its ceiling (8192) bounds the
 * matcher's per-segment tables.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "correlate.h"
#include "iam/iam.h"

int			iam_pattern_max_length = 2048;

void
iam_define_gucs(void)
{
	DefineCustomIntVariable("correlate.iam_pattern_max_length",
							"Longest IAM pattern, in bytes, that correlate.iam_pattern accepts.",
							"AWS limits ARNs to 2048 characters; longer input is rejected with an error.",
							&iam_pattern_max_length,
							2048,
							16, 8192,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}
