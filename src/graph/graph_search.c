/*
 * graph_search.c
 *		Best paths from a set of sources (blast radius, and exposure on the
 *		reverse graph), hop-bounded reachability, and the AND-node rules they
 *		share.
 *
 * Best paths: a label-setting Dijkstra on weights -ln(likelihood), so the
 * shortest path is the most likely one.  Without a hop limit every node is
 * settled once.  With a hop limit the cheapest path may be too long, so a
 * node may be settled again by a costlier label with strictly fewer hops
 * (a label is dominated when an earlier one at the node has no more hops);
 * the first label of a node is its best path within the limit, and the
 * later ones only carry the search further.  This is exact: each node is
 * settled at most max_hops + 1 times.
 *
 * AND nodes (forward searches only): a node flagged GRAPH_NODE_AND is
 * reached only when every relationship into it has been crossed (one of a
 * kind the search does not follow never is),
 * each from its source's best path; its cost is the sum of those costs (the
 * product of likelihoods, as if the preconditions were independent) and its
 * hops one more than the longest.  This is Knuth's generalisation of
 * Dijkstra to superior functions and is exact for that cost model; it is an
 * approximation of the true probability when the preconditions share
 * ancestors (counted once per precondition), and, under a hop limit, an
 * AND node whose preconditions' best paths are too long is not reached even
 * if costlier shorter ones exist.  Reverse searches (exposure) treat AND
 * nodes as ordinary nodes: they answer "who could reach the targets if the
 * other preconditions held".
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "graph/graph.h"

static int32 *
fill_int32(int32 n, int32 value)
{
	int32	   *a = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(int32));

	for (int32 i = 0; i < n; i++)
		a[i] = value;
	return a;
}

static GraphCost *
fill_cost(int32 n, GraphCost value)
{
	GraphCost  *a = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(GraphCost));

	for (int32 i = 0; i < n; i++)
		a[i] = value;
	return a;
}

/*
 * Relationships into each AND node (others: 0, never consulted).  Every
 * relationship counts, also those of kinds the search does not follow: a
 * precondition that cannot be crossed is not satisfied.
 */
static int32 *
and_in_degrees(const GraphSnapshot *g)
{
	int32	   *left = MemoryContextAllocHuge(CurrentMemoryContext, Max(g->nnodes, 1) * sizeof(int32));

	memset(left, 0, Max(g->nnodes, 1) * sizeof(int32));
	for (int32 i = 0; i < g->nand; i++)
	{
		int32		a = g->and_nodes[i];

		left[a] = g->rev_off[a + 1] - g->rev_off[a];
	}
	return left;
}

/* Per-node search state, packed so that relaxing an edge touches one line. */
typedef struct BestState
{
	GraphCost	tent;			/* cheapest label pushed */
	int32		tenth;			/* its hops */
	int32		minhops;		/* fewest hops of a settled label; INT32_MAX: unsettled */
} BestState;

void
graph_best_paths(const GraphSnapshot *g, const GraphNodeSet *sources, const GraphFilter *f,
				 int max_hops, bool reverse, bool and_nodes, GraphBest *out)
{
	int32		n = g->nnodes;
	bool		limited = max_hops >= 0;
	bool		use_and = and_nodes && !reverse && g->nand > 0;
	BestState  *st = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(BestState));
	int32	   *tvia = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(int32));
	int32	   *and_left = NULL;
	GraphCost  *and_acc = NULL;
	int32	   *and_maxh = NULL;
	int32	   *and_via = NULL;
	GraphCost  *and_viacost = NULL;
	bool	   *contributed = NULL;
	const int32 *off = reverse ? g->rev_off : g->fwd_off;
	const int32 *adj = reverse ? g->rev_src : g->fwd_dst;
	GraphHeap	heap;
	GraphHeapItem it;

	for (int32 v = 0; v < n; v++)
	{
		st[v].tent = GRAPH_COST_INF;
		st[v].tenth = PG_INT32_MAX;
		st[v].minhops = PG_INT32_MAX;
	}
	out->dist = fill_cost(n, GRAPH_COST_INF);
	out->order = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(int32));
	out->settled = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(GraphSettled));
	out->norder = 0;
	if (use_and)
	{
		and_left = and_in_degrees(g);
		and_acc = fill_cost(n, 0);
		and_maxh = fill_int32(n, 0);
		and_via = fill_int32(n, -1);
		and_viacost = fill_cost(n, -1);
		contributed = palloc0(Max(n, 1) * sizeof(bool));
	}

	graph_heap_init(&heap, Max(sources->n, 1024));
	for (int32 i = 0; i < sources->n; i++)
	{
		int32		s = sources->nodes[i];

		if (st[s].tent > 0)
		{
			st[s].tent = 0;
			st[s].tenth = 0;
			tvia[s] = -1;
			graph_heap_push(&heap, 0, 0, s);
		}
	}

	while (graph_heap_pop(&heap, &it))
	{
		int32		v = it.node;
		int32		h = it.hops;
		bool		first = st[v].minhops == PG_INT32_MAX;
		bool		contribute = false;

		CHECK_FOR_INTERRUPTS();
		if (!first && (!limited || h >= st[v].minhops))
			continue;
		st[v].minhops = h;
		if (first)
		{
			GraphSettled *r = &out->settled[out->norder];

			r->dist = it.key;
			r->node = v;
			r->hops = h;
			r->via = tvia[v];
			out->dist[v] = it.key;
			out->order[out->norder++] = v;
		}
		if (limited && h >= max_hops)
			continue;
		if (use_and && !contributed[v])
			contributed[v] = contribute = true;

		for (int32 i = off[v]; i < off[v + 1]; i++)
		{
			int32		e = reverse ? g->rev_edge[i] : i;
			int32		u = adj[i];
			BestState  *su = &st[u];
			GraphCost	nk;

			if (!graph_edge_allowed(g, f, e))
				continue;
			nk = graph_cost_add(it.key, g->fwd_w[e]);
			if (use_and && (g->node_flags[u] & GRAPH_NODE_AND))
			{
				if (!contribute || su->minhops != PG_INT32_MAX)
					continue;
				and_acc[u] = graph_cost_add(and_acc[u], nk);
				and_maxh[u] = Max(and_maxh[u], h + 1);
				if (nk > and_viacost[u])
				{
					and_viacost[u] = nk;
					and_via[u] = v;
				}
				if (--and_left[u] == 0 && and_acc[u] < su->tent)
				{
					su->tent = and_acc[u];
					su->tenth = and_maxh[u];
					tvia[u] = and_via[u];
					graph_heap_push(&heap, and_acc[u], and_maxh[u], u);
				}
				continue;
			}
			if (su->minhops != PG_INT32_MAX && (!limited || h + 1 >= su->minhops))
				continue;
			/* dominated by an earlier label: as cheap and (where it matters) as short */
			if (limited ? (su->tent <= nk && su->tenth <= h + 1)
				: (su->tent < nk || (su->tent == nk && su->tenth <= h + 1)))
				continue;
			if (nk < su->tent || (nk == su->tent && h + 1 < su->tenth))
			{
				su->tent = nk;
				su->tenth = h + 1;
				tvia[u] = v;
			}
			graph_heap_push(&heap, nk, h + 1, u);
		}
	}
	graph_heap_free(&heap);
	pfree(st);
	pfree(tvia);
}

/*
 * Breadth-first search from sources with AND nodes, stopping at the first
 * target.  edge_removed and node_removed (either may be NULL) hide parts of
 * the graph; a hidden relationship into an AND node disables that node.
 * Returns the target reached, or -1.
 */
static int32
bfs(const GraphSnapshot *g, const int32 *sources, int32 nsources, const bool *target,
	int max_hops, const bool *edge_removed, const bool *node_removed)
{
	int32		n = g->nnodes;
	int32	   *level = fill_int32(n, -1);
	int32	   *queue = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(int32));
	int32	   *and_left = g->nand > 0 ? and_in_degrees(g) : NULL;
	int32		head = 0,
				tail = 0;
	int32		found = -1;

	for (int32 i = 0; i < nsources; i++)
	{
		int32		s = sources[i];

		if (level[s] >= 0)
			continue;
		level[s] = 0;
		queue[tail++] = s;
		if (target[s])
		{
			found = s;
			goto done;
		}
	}
	while (head < tail)
	{
		int32		v = queue[head++];

		CHECK_FOR_INTERRUPTS();
		if (max_hops >= 0 && level[v] >= max_hops)
			continue;
		for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
		{
			int32		u = g->fwd_dst[e];

			if (level[u] >= 0 || (edge_removed && edge_removed[e]) ||
				(node_removed && node_removed[u]))
				continue;
			if (and_left && (g->node_flags[u] & GRAPH_NODE_AND) && --and_left[u] > 0)
				continue;
			level[u] = level[v] + 1;
			queue[tail++] = u;
			if (target[u])
			{
				found = u;
				goto done;
			}
		}
	}
done:
	pfree(level);
	pfree(queue);
	if (and_left)
		pfree(and_left);
	return found;
}

/* Can target be reached from source in at most max_hops hops (-1: any)? */
bool
graph_reachable(const GraphSnapshot *g, int32 source, int32 target, int max_hops)
{
	bool	   *is_target = palloc0(Max(g->nnodes, 1) * sizeof(bool));
	bool		r;

	is_target[target] = true;
	r = bfs(g, &source, 1, is_target, max_hops, NULL, NULL) >= 0;
	pfree(is_target);
	return r;
}

/* Does any target remain reachable from the sources with these parts hidden? */
bool
graph_targets_reachable(const GraphSnapshot *g, const GraphNodeSet *sources, const bool *target,
						const bool *edge_removed, const bool *node_removed)
{
	return bfs(g, sources->nodes, sources->n, target, -1, edge_removed, node_removed) >= 0;
}
