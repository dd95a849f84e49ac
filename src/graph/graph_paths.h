/*
 * graph_paths.h
 *		The state of the k most likely paths search (graph_paths.c) and the
 *		cost-to-go bounds that guide it (graph_paths_bound.c).  Private to the
 *		graph module.
 */
#ifndef CORRELATE_GRAPH_PATHS_H
#define CORRELATE_GRAPH_PATHS_H

#include "graph/graph.h"

typedef struct Label
{
	GraphCost	g;
	int32		node;
	int32		parent;			/* label index, -1 for an initial label */
	int32		edge;			/* edge from the parent's node, -1 initially */
	int32		hops;
	int32		next;			/* next settled label of the same node */
} Label;

/* Hop counts up to which the bound is exact per hop budget. */
#define BOUND_LAYERS 16

/*
 * Above this hop limit, every spur is first searched ignoring hops, and the
 * hop-aware search (with the layered bound, built then) runs only for a spur
 * whose unconstrained optimum does not fit the limit.
 */
#define FREE_FIRST_HOPS 4

typedef struct Yen
{
	const GraphSnapshot *g;
	const GraphFilter *f;
	int			max_hops;
	int32		n;

	bool	   *is_source;
	bool	   *is_target;
	int			nlayers;		/* layered bounds b(., r) for r < nlayers */
	float4	  **layer;			/* NULL until computed */
	const GraphNodeSet *sources;
	const GraphNodeSet *targets;
	bool		free_first;		/* search ignoring hops first (best_spur) */

	/*
	 * The bound ignoring hops, for r >= nlayers: a reverse Dijkstra from the
	 * targets, run only as far as the searches need (extend_bound).  h[v] is
	 * exact where hset[v]; every other node is at least hradius away
	 * (GRAPH_COST_INF once the search is exhausted).
	 */
	GraphCost  *h;
	bool	   *hset;
	bool	   *live;			/* reaches a target (else the bound is infinite) */
	GraphCost	hradius;
	int32		nhset;			/* nodes settled so far */
	GraphHeap	rheap;

	/* AND nodes */
	bool		use_and;
	GraphCost  *and_dist;		/* forward AND/OR best cost from the sources */
	GraphCost  *and_side;		/* sum over preconditions of d(p) + w */

	/* per-search scratch, valid where stamp[v] == gen */
	uint32		gen;
	uint32	   *stamp;
	int32	   *settled;		/* settled labels of the node, a list via Label.next */
	GraphCost  *tent;
	int32	   *tenth;
	uint32	   *blocked;		/* == gen: node is in the root */

	int32	   *root;			/* nodes blocked for the current spur */
	int32		nroot;
	int32	   *chain_a;		/* scratch for comparing label chains */
	int32	   *chain_b;

	Label	   *labels;
	int32		nlabels;
	int32		caplabels;
	GraphHeap	heap;
} Yen;

/* Lower bound on the cost from v to a target, ignoring hops. */
static inline GraphCost
hfree(const Yen *y, int32 v)
{
	return y->hset[v] ? y->h[v] : y->live[v] ? y->hradius : GRAPH_COST_INF;
}

/* Lower bound on the cost from v to a target in at most r hops. */
static inline GraphCost
bound(const Yen *y, int32 v, int r)
{
	float4		b;

	if (r >= y->nlayers)
		return hfree(y, v);
	b = y->layer[r][v];
	return isinf(b) ? GRAPH_COST_INF : (GraphCost) b;
}

/* Weight of edge e into node u as path search sees it; inf if u is closed. */
static inline GraphCost
edge_cost(const Yen *y, int32 e, int32 u)
{
	GraphCost	w = graph_edge_cost(y->g, e);

	if (y->use_and && (y->g->node_flags[u] & GRAPH_NODE_AND) && !y->is_source[u])
	{
		int32		src;
		GraphCost	side;

		if (y->and_side[u] == GRAPH_COST_INF)
			return GRAPH_COST_INF;
		/* the other preconditions: the sum of all minus this one (exact) */
		src = graph_edge_src(y->g, e);
		side = y->and_side[u] - graph_cost_add(y->and_dist[src], w);
		w = graph_cost_add(w, Max(side, 0));
	}
	return w;
}

/* Rounds a cost down to float, so that the stored bound stays a lower bound. */
static inline float4
float_down(GraphCost c)
{
	float4		f;

	if (c == GRAPH_COST_INF)
		return INFINITY;
	if (c >= ((GraphCost) 1 << 62))
		return (float4) ((GraphCost) 1 << 62);
	f = (float4) c;
	while ((GraphCost) f > c)
		f = nextafterf(f, 0);
	return f;
}

/* graph_paths_bound.c */
extern void yen_compute_layers(Yen *y, const GraphNodeSet *sources, const GraphNodeSet *targets);
extern void yen_init_bound(Yen *y, const GraphNodeSet *targets);
extern void yen_extend_bound(Yen *y, int64 more);
extern void yen_compute_and(Yen *y, const GraphNodeSet *sources);

#endif							/* CORRELATE_GRAPH_PATHS_H */
