/*
 * graph_paths_bound.c
 *		Lower bounds on the cost to go for the k most likely paths search
 *		(graph_paths.c): hop layers from the sources, the hop-free bound by a
 *		lazy reverse Dijkstra, the layered (cost, hops) bound when a hop limit
 *		binds, and the side costs of AND nodes.  The reasoning is in
 *		graph_paths.c's header comment.
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "graph/graph_paths.h"


/*
 * Hop distance from the sources (breadth first, at most max_hops): every
 * label at v has at least df[v] hops, so only b(v, r) with r <= max_hops -
 * df[v] is ever read.
 */
static int32 *
source_depths(Yen *y, const GraphNodeSet *sources)
{
	const GraphSnapshot *g = y->g;
	int32	   *df = graph_alloc(y->n, sizeof(int32));
	int32	   *queue = graph_alloc(y->n, sizeof(int32));
	int32		head = 0,
				tail = 0;

	for (int32 v = 0; v < y->n; v++)
		df[v] = PG_INT32_MAX;
	for (int32 i = 0; i < sources->n; i++)
	{
		df[sources->nodes[i]] = 0;
		queue[tail++] = sources->nodes[i];
	}
	while (head < tail)
	{
		int32		v = queue[head++];

		CHECK_FOR_INTERRUPTS();
		if (df[v] >= y->max_hops)
			continue;
		for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
		{
			int32		u = g->fwd_dst[e];

			if (df[u] == PG_INT32_MAX && graph_edge_allowed(g, y->f, e))
			{
				df[u] = df[v] + 1;
				queue[tail++] = u;
			}
		}
	}
	pfree(queue);
	return df;
}

/*
 * Layered Bellman-Ford from the targets: layer[r][v] is the cheapest cost
 * from v to a target in at most r hops.  Each layer relaxes only the
 * in-edges of nodes that improved in the previous one, and only into nodes
 * whose layer r can be read (r <= max_hops - df), so the work meets in the
 * middle between sources and targets instead of covering the graph.
 */
void
yen_compute_layers(Yen *y, const GraphNodeSet *sources, const GraphNodeSet *targets)
{
	const GraphSnapshot *g = y->g;
	int32	   *changed;
	int32	   *next;
	uint32	   *mark;
	int32	   *df;
	int32		nchanged = 0;

	if (y->nlayers == 0)
		return;
	df = source_depths(y, sources);
	changed = graph_alloc(y->n, sizeof(int32));
	next = graph_alloc(y->n, sizeof(int32));
	mark = graph_alloc(y->n, sizeof(uint32));
	memset(mark, 0, sizeof(uint32) * Max(y->n, 1));
	y->layer = palloc(sizeof(float4 *) * y->nlayers);
	y->layer[0] = graph_alloc(y->n, sizeof(float4));
	for (int32 v = 0; v < y->n; v++)
		y->layer[0][v] = INFINITY;
	for (int32 i = 0; i < targets->n; i++)
	{
		y->layer[0][targets->nodes[i]] = 0;
		changed[nchanged++] = targets->nodes[i];
	}
	for (int r = 1; r < y->nlayers; r++)
	{
		const float4 *prev = y->layer[r - 1];
		float4	   *cur = graph_alloc(y->n, sizeof(float4));
		int32		nnext = 0;
		int32	   *tmp;

		memcpy(cur, prev, sizeof(float4) * Max(y->n, 1));
		for (int32 i = 0; i < nchanged; i++)
		{
			int32		v = changed[i];

			CHECK_FOR_INTERRUPTS();
			for (int32 j = g->rev_off[v]; j < g->rev_off[v + 1]; j++)
			{
				int32		e = g->rev_edge[j];
				int32		u = g->rev_src[j];
				float4		c;

				if (df[u] > y->max_hops - r || !graph_edge_allowed(g, y->f, e))
					continue;
				c = float_down(graph_cost_add(isinf(prev[v]) ? GRAPH_COST_INF : (GraphCost) prev[v],
											  graph_edge_cost(g, e)));
				if (c < cur[u])
				{
					cur[u] = c;
					if (mark[u] != (uint32) r)
					{
						mark[u] = r;
						next[nnext++] = u;
					}
				}
			}
		}
		y->layer[r] = cur;
		tmp = changed;
		changed = next;
		next = tmp;
		nchanged = nnext;
	}
	pfree(changed);
	pfree(next);
	pfree(mark);
	pfree(df);
}

/*
 * The bound ignoring hops: a reverse Dijkstra from the targets (base
 * weights), resumable.  yen_extend_bound(more) settles that many more nodes
 * (cheapest first); a node not settled yet is bounded by hradius, the least
 * tentative cost left in the queue, which no unsettled node beats.
 *
 * That bound is consistent on every edge v -> u of weight w (so A* with it
 * is exact whatever the radius, and stays so in spur graphs): both settled,
 * it is the exact distance; v settled, u not: h(v) <= hradius <= w +
 * hradius; u settled, v not: v was relaxed to at most w + h(u) when u was
 * settled, and that tentative cost is >= hradius; neither settled: hradius
 * <= w + hradius.  The radius only matters for speed.  A node that reaches
 * no target (a breadth-first search backwards from the targets, over the
 * same relationships, finds them all first) is bounded by infinity, which
 * keeps the bound consistent (whatever such a node links to reaches no
 * target either) and prunes it at once.
 */
void
yen_init_bound(Yen *y, const GraphNodeSet *targets)
{
	const GraphSnapshot *g = y->g;
	int32	   *queue = graph_alloc(y->n, sizeof(int32));
	int32		head = 0,
				tail = 0;

	y->live = graph_alloc0(y->n, sizeof(bool));
	for (int32 i = 0; i < targets->n; i++)
	{
		y->live[targets->nodes[i]] = true;
		queue[tail++] = targets->nodes[i];
	}
	while (head < tail)
	{
		int32		v = queue[head++];

		CHECK_FOR_INTERRUPTS();
		for (int32 i = g->rev_off[v]; i < g->rev_off[v + 1]; i++)
		{
			int32		u = g->rev_src[i];

			if (!y->live[u] && graph_edge_allowed(g, y->f, g->rev_edge[i]))
			{
				y->live[u] = true;
				queue[tail++] = u;
			}
		}
	}
	pfree(queue);

	y->h = graph_alloc(y->n, sizeof(GraphCost));
	for (int32 v = 0; v < y->n; v++)
		y->h[v] = GRAPH_COST_INF;
	y->hset = graph_alloc0(y->n, sizeof(bool));
	graph_heap_init(&y->rheap, 1024);
	for (int32 i = 0; i < targets->n; i++)
	{
		y->h[targets->nodes[i]] = 0;
		graph_heap_push(&y->rheap, 0, 0, targets->nodes[i]);
	}
	y->hradius = 0;
}

void
yen_extend_bound(Yen *y, int64 more)
{
	const GraphSnapshot *g = y->g;
	GraphHeap  *heap = &y->rheap;

	for (int64 done = 0;; done++)
	{
		GraphHeapItem it;
		int32		v;

		/* drop stale entries, so that the top is a live tentative cost */
		while (heap->size > 0 && y->hset[heap->items[0].node])
			graph_heap_pop(heap, &it);
		if (heap->size == 0)
		{
			y->hradius = GRAPH_COST_INF;
			return;
		}
		if (done >= more)
		{
			y->hradius = heap->items[0].key;
			return;
		}
		graph_heap_pop(heap, &it);
		CHECK_FOR_INTERRUPTS();
		v = it.node;
		y->hset[v] = true;
		y->nhset++;
		y->h[v] = it.key;
		for (int32 i = g->rev_off[v]; i < g->rev_off[v + 1]; i++)
		{
			int32		u = g->rev_src[i];
			GraphCost	nk;

			if (y->hset[u])
				continue;
			/* costs read in reverse order where the snapshot keeps them so */
			nk = graph_cost_add(it.key, g->rev_wc ? g->wtab[g->rev_wc[i]] :
								graph_edge_cost(g, g->rev_edge[i]));
			if (nk < y->h[u] && graph_edge_allowed(g, y->f, g->rev_edge[i]))
			{
				y->h[u] = nk;
				graph_heap_push(heap, nk, 0, u);
			}
		}
	}
}

void
yen_compute_and(Yen *y, const GraphNodeSet *sources)
{
	const GraphSnapshot *g = y->g;
	GraphBest	best;

	graph_best_paths(g, sources, y->f, -1, false, true, &best);
	y->and_dist = best.dist;
	y->and_side = graph_alloc(y->n, sizeof(GraphCost));
	for (int32 i = 0; i < g->nand; i++)
	{
		int32		a = g->and_nodes[i];
		GraphCost	side = 0;
		int			npre = 0;

		for (int32 j = g->rev_off[a]; j < g->rev_off[a + 1]; j++)
		{
			int32		e = g->rev_edge[j];

			/* a precondition the kind filter hides cannot be satisfied */
			side = graph_edge_allowed(g, y->f, e) ?
				graph_cost_add(side, graph_cost_add(best.dist[g->rev_src[j]], graph_edge_cost(g, e))) :
				GRAPH_COST_INF;
			npre++;
		}
		y->and_side[a] = npre > 0 ? side : GRAPH_COST_INF;
	}
	pfree(best.order);
	pfree(best.settled);
	pfree(best.via);
}
