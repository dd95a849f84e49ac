/*
 * iam_guc.c
 *		Settings owned by the iam module.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "correlate.h"

void
iam_define_gucs(void)
{
}
