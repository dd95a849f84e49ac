/*
 * graph_guc.c
 *		Settings owned by the graph module.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "correlate.h"

void
graph_define_gucs(void)
{
}
