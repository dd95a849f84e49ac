/*
 * output_guc.c
 *		Settings owned by the output module.
 *
 * correlate.output_max_nodes protects the server (PGC_SUSET: a role may
 * lower it, not raise it); the label length is a matter of taste.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "correlate.h"
#include "output/output.h"

int			output_max_nodes = 2000;
int			output_max_label = 28;

void
output_define_gucs(void)
{
	DefineCustomIntVariable("correlate.output_max_nodes",
							"Most resources a picture of the attack graph may hold.",
							"A larger graph raises an error; narrow it with k, max_hops or kinds.",
							&output_max_nodes,
							2000,
							1,
							100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.output_max_label",
							"Characters of a name shown in a picture before it is cut with an ellipsis.",
							"The full name stays in the node's tooltip.",
							&output_max_label,
							28,
							8,
							200,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
}
