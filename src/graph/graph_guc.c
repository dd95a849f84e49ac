/*
 * graph_guc.c
 *		Settings owned by the graph module.
 *
 * The ceilings (memory, k, hops, rows) are PGC_SUSET so that an ordinary
 * role can lower them for its session but not raise them: they protect the
 * server, not the query.  The crown-jewel threshold is a matter of taste and
 * any role may set it.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "correlate.h"
#include "graph/graph.h"

int			graph_max_memory_kb = 1024 * 1024;	/* 1 GB */
int			graph_max_k = 1000;
int			graph_max_hops = 64;
int			graph_max_rows = 10000000;
double		crown_jewel_criticality = 0.8;
int			graph_cut_search_budget = 2;
int			graph_layer = GRAPH_LAYER_ATTACK;
double		attack_unknown_weakness_prior = 0.0;

static const struct config_enum_entry graph_layer_options[] = {
	{"attack", GRAPH_LAYER_ATTACK, false},
	{"facts", GRAPH_LAYER_FACTS, false},
	{NULL, 0, false}
};

void
graph_define_gucs(void)
{
	DefineCustomIntVariable("correlate.graph_max_memory",
							"Largest graph snapshot a backend may build.",
							"A snapshot that would exceed this raises an error naming its size; "
							"It costs about 22 bytes per relationship and 21 per resource.",
							&graph_max_memory_kb,
							1024 * 1024,
							1024,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.graph_max_k",
							"Largest k accepted by attack_paths() and chokepoints().",
							NULL,
							&graph_max_k,
							1000,
							1,
							1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.graph_max_hops",
							"Largest max_hops accepted by the graph functions.",
							"A NULL max_hops (no limit) is always accepted where the function allows it.",
							&graph_max_hops,
							64,
							1,
							100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.graph_max_rows",
							"Most rows a graph function returns before it stops with a \"truncated\" notice.",
							NULL,
							&graph_max_rows,
							10000000,
							1,
							INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("correlate.crown_jewel_criticality",
							 "Criticality from which a resource counts as a crown jewel (the default attack-path target).",
							 NULL,
							 &crown_jewel_criticality,
							 0.8,
							 0.0,
							 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("correlate.graph_layer",
							 "Which graph the graph functions walk: the derived attack graph or the fact graph.",
							 "attack (default): correlate.attack_edge, edges that are attack techniques; "
							 "facts: correlate.relationship, the inventory's topology as stored.",
							 &graph_layer,
							 GRAPH_LAYER_ATTACK,
							 graph_layer_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("correlate.attack_unknown_weakness_prior",
							 "Likelihood of an entry into an exposed workload that has no known exploitable weakness.",
							 "0 (default): exposure alone is no entry; an exploitable finding is needed.",
							 &attack_unknown_weakness_prior,
							 0.0,
							 0.0,
							 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("correlate.graph_cut_search_budget",
							"How many times the graph min_cut's augmenting-path searches may scan before Dinic takes over.",
							"A developer setting: 0 runs Dinic's algorithm alone (tests use it to check both paths).",
							&graph_cut_search_budget,
							2,
							0,
							1000,
							PGC_USERSET,
							GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);

	/* the shared snapshot's ceiling, and its shared memory hooks when preloaded */
	graph_shm_init();
}
