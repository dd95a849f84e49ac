/*
 * graph_search.c
 *		Best paths from a set of sources (blast radius, and exposure on the
 *		reverse graph), hop-bounded reachability, and the AND-node rules they
 *		share.
 *
 * Best paths: a label-setting Dijkstra on weights -ln(likelihood), so the
 * shortest path is the most likely one; labels are (cost, hops), ties going
 * to fewer hops.  Without a hop limit every node is settled once, and label
 * correction (below) usually gets the same answer without a heap.  With a
 * hop limit the cheapest path may be too long, so a node may be settled
 * again by a costlier label with strictly fewer hops (a label is dominated
 * when an earlier one at the node has no more hops); the first label of a
 * node is its best path within the limit, and the later ones only carry the
 * search further.  This is exact: each node is settled at most max_hops + 1
 * times.
 *
 * AND nodes (forward searches only): a node flagged GRAPH_NODE_AND is
 * reached only when every relationship into it has been crossed (one of a
 * kind the search does not follow never is), each from its source's best
 * path; its cost is the sum of those costs (the product of likelihoods, as
 * if the preconditions were independent) and its hops one more than the
 * longest.  This is Knuth's generalisation of Dijkstra to superior functions
 * and is exact for that cost model; it is an approximation of the true
 * probability when the preconditions share ancestors (counted once per
 * precondition), and, under a hop limit, an AND node whose preconditions'
 * best paths are too long is not reached even if costlier shorter ones
 * exist.  Reverse searches (exposure) treat AND nodes as ordinary nodes:
 * they answer "who could reach the targets if the other preconditions held".
 *
 * Reachability: breadth-first search with the same AND rule, on scratch
 * arrays kept in the snapshot so that a search costs what it explores.
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

/*
 * Sorts settled records, given in node order, into Dijkstra's settle order
 * (cost, hops, node): a stable counting sort by hops, then a stable LSD
 * radix sort by cost, 16 bits a pass, skipping passes where all records
 * share the digit.  Linear, and several times faster than a comparison sort.
 */
static void
sort_settled(GraphSettled *a, int32 n)
{
	GraphSettled *tmp;
	GraphSettled *src,
			   *dst;
	int32		maxh = 0;
	int32	   *count;

	if (n < 2)
		return;
	tmp = graph_alloc(n, sizeof(GraphSettled));
	for (int32 i = 0; i < n; i++)
		maxh = Max(maxh, a[i].hops);
	count = graph_alloc0((int64) maxh + 2, sizeof(int32));
	for (int32 i = 0; i < n; i++)
		count[a[i].hops + 1]++;
	for (int32 h = 0; h <= maxh; h++)
		count[h + 1] += count[h];
	for (int32 i = 0; i < n; i++)
		tmp[count[a[i].hops]++] = a[i];
	pfree(count);

	src = tmp;
	dst = a;
	count = graph_alloc(65536, sizeof(int32));
	for (int shift = 0; shift < 64; shift += 16)
	{
		uint32		first = (uint32) (((uint64) src[0].dist >> shift) & 0xffff);
		bool		same = true;

		for (int32 i = 1; i < n && same; i++)
			same = (uint32) (((uint64) src[i].dist >> shift) & 0xffff) == first;
		if (same)
			continue;
		CHECK_FOR_INTERRUPTS();
		memset(count, 0, 65536 * sizeof(int32));
		for (int32 i = 0; i < n; i++)
			count[((uint64) src[i].dist >> shift) & 0xffff]++;
		for (int32 d = 0, sum = 0; d < 65536; d++)
		{
			int32		c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (int32 i = 0; i < n; i++)
			dst[count[((uint64) src[i].dist >> shift) & 0xffff]++] = src[i];
		{
			GraphSettled *t = src;

			src = dst;
			dst = t;
		}
	}
	if (src != a)
		memcpy(a, src, sizeof(GraphSettled) * n);
	pfree(count);
	pfree(tmp);
}

/*
 * Best paths without a hop limit or AND nodes by label correction: rounds
 * of relaxation over the nodes improved in the previous round, no heap.
 * The order on labels is (cost, hops), a monotone path algebra, so this
 * converges to the same labels as Dijkstra; each node keeps the predecessor
 * Dijkstra would (among optimal ones, the smallest (cost, hops, node), which
 * Dijkstra settles and hears from first), and the nodes are sorted in
 * Dijkstra's settle order, so the result is Dijkstra's, row for row.
 *
 * On the shallow graphs of real estates, whose likelihoods take few distinct
 * values, this converges in about one pass over the relationships and beats
 * the heap.  Where corrections pile up (long chains with shortcuts, or
 * finely spread random weights) it gives up after one and a half passes'
 * worth of relaxations and returns false, and the caller runs Dijkstra.
 */
/* Per-node state of label correction, packed: one cache line per visit. */
typedef struct LcState
{
	GraphCost	dist;
	int32		hops;
	uint32		mark;			/* round in which the node was queued */
	int32		via;
} LcState;

static bool
label_correcting(const GraphSnapshot *g, const GraphNodeSet *sources, const GraphFilter *f,
				 bool reverse, GraphBest *out)
{
	int32		n = g->nnodes;
	const int32 *off = reverse ? g->rev_off : g->fwd_off;
	const int32 *adj = reverse ? g->rev_src : g->fwd_dst;
	const GraphCost *w = g->fwd_w;
	LcState    *st = graph_alloc(n, sizeof(LcState));
	int32	   *cur = graph_alloc(n, sizeof(int32));
	int32	   *next = graph_alloc(n, sizeof(int32));
	int32		ncur = 0;
	int32		nreached = 0;
	uint32		round = 1;
	int64		work = 0;
	int64		budget = 3 * ((int64) g->nedges + n) / 2 + 1024;

	for (int32 v = 0; v < n; v++)
	{
		st[v].dist = GRAPH_COST_INF;
		st[v].hops = PG_INT32_MAX;
		st[v].mark = 0;
		st[v].via = -1;
	}
	for (int32 i = 0; i < sources->n; i++)
	{
		int32		s = sources->nodes[i];

		if (st[s].dist == 0)
			continue;
		st[s].dist = 0;
		st[s].hops = 0;
		cur[ncur++] = s;
	}
	while (ncur > 0)
	{
		int32		nnext = 0;

		round++;
		for (int32 i = 0; i < ncur; i++)
		{
			int32		v = cur[i];
			GraphCost	dv = st[v].dist;
			int32		hv = st[v].hops + 1;

			CHECK_FOR_INTERRUPTS();
			work += off[v + 1] - off[v];
			for (int32 j = off[v]; j < off[v + 1]; j++)
			{
				int32		e = reverse ? g->rev_edge[j] : j;
				LcState    *su = &st[adj[j]];
				GraphCost	nd;

				if (!graph_edge_allowed(g, f, e))
					continue;
				nd = graph_cost_add(dv, w[e]);
				if (nd < su->dist || (nd == su->dist && hv < su->hops))
				{
					su->dist = nd;
					su->hops = hv;
					su->via = v;
					if (su->mark != round)
					{
						su->mark = round;
						next[nnext++] = adj[j];
					}
				}
				else if (nd == su->dist && hv == su->hops && su->via != v)
				{
					/*
					 * A tie: keep the predecessor Dijkstra would settle first,
					 * the smallest (cost, hops, node).  Both labels are final
					 * here (had either improved since, u would have too).
					 */
					const LcState *sv = &st[su->via];

					if (dv < sv->dist || (dv == sv->dist && (hv - 1 < sv->hops ||
															 (hv - 1 == sv->hops && v < su->via))))
						su->via = v;
				}
			}
		}
		if (work > budget)
		{
			pfree(st);
			pfree(cur);
			pfree(next);
			return false;
		}
		{
			int32	   *t = cur;

			cur = next;
			next = t;
			ncur = nnext;
		}
	}

	out->dist = graph_alloc(n, sizeof(GraphCost));
	out->settled = graph_alloc(n, sizeof(GraphSettled));
	out->order = graph_alloc(n, sizeof(int32));
	for (int32 v = 0; v < n; v++)
	{
		GraphSettled *r;

		out->dist[v] = st[v].dist;
		if (st[v].dist == GRAPH_COST_INF)
			continue;
		if ((v & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		r = &out->settled[nreached++];
		r->dist = st[v].dist;
		r->node = v;
		r->hops = st[v].hops;
		r->via = st[v].via;
	}
	sort_settled(out->settled, nreached);
	for (int32 i = 0; i < nreached; i++)
		out->order[i] = out->settled[i].node;
	out->norder = nreached;
	pfree(st);
	pfree(cur);
	pfree(next);
	return true;
}

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

	if (!limited && !use_and && label_correcting(g, sources, f, reverse, out))
	{
		pfree(st);
		pfree(tvia);
		return;
	}

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
		contributed = graph_alloc0(n, sizeof(bool));
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
 * target (target_node, or any node flagged in target).  edge_removed and
 * node_removed (either may be NULL) hide parts of the graph; a hidden
 * relationship into an AND node disables that node.  Returns the target
 * reached, or -1.  Uses the snapshot's scratch arrays.
 */
static int32
bfs(GraphSnapshot *g, const int32 *sources, int32 nsources, int32 target_node, const bool *target,
	int max_hops, const bool *edge_removed, const bool *node_removed)
{
	int32		n = g->nnodes;
	uint32		gen;
	int32		head = 0,
				tail = 0;

	if (g->bfs_stamp == NULL)
	{
		g->bfs_stamp = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(uint32));
		memset(g->bfs_stamp, 0, Max(n, 1) * sizeof(uint32));
		g->bfs_level = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(int32));
		g->bfs_queue = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(int32));
		if (g->nand > 0)
			g->bfs_and_left = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(int32));
		g->bfs_gen = 0;
	}
	if (++g->bfs_gen == 0)
	{
		memset(g->bfs_stamp, 0, Max(n, 1) * sizeof(uint32));
		g->bfs_gen = 1;
	}
	gen = g->bfs_gen;
	for (int32 i = 0; i < g->nand; i++)
	{
		int32		a = g->and_nodes[i];

		g->bfs_and_left[a] = g->rev_off[a + 1] - g->rev_off[a];
	}

#define SEEN(v)		(g->bfs_stamp[v] == gen)
#define IS_TARGET(v)	((v) == target_node || (target && target[v]))
	for (int32 i = 0; i < nsources; i++)
	{
		int32		s = sources[i];

		if (SEEN(s))
			continue;
		g->bfs_stamp[s] = gen;
		g->bfs_level[s] = 0;
		g->bfs_queue[tail++] = s;
		if (IS_TARGET(s))
			return s;
	}
	while (head < tail)
	{
		int32		v = g->bfs_queue[head++];

		CHECK_FOR_INTERRUPTS();
		if (max_hops >= 0 && g->bfs_level[v] >= max_hops)
			continue;
		for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
		{
			int32		u = g->fwd_dst[e];

			if (SEEN(u) || (edge_removed && edge_removed[e]) || (node_removed && node_removed[u]))
				continue;
			if ((g->node_flags[u] & GRAPH_NODE_AND) && --g->bfs_and_left[u] > 0)
				continue;
			g->bfs_stamp[u] = gen;
			g->bfs_level[u] = g->bfs_level[v] + 1;
			g->bfs_queue[tail++] = u;
			if (IS_TARGET(u))
				return u;
		}
	}
#undef SEEN
#undef IS_TARGET
	return -1;
}

/* Can target be reached from source in at most max_hops hops (-1: any)? */
bool
graph_reachable(GraphSnapshot *g, int32 source, int32 target, int max_hops)
{
	return bfs(g, &source, 1, target, NULL, max_hops, NULL, NULL) >= 0;
}

/* Does any target remain reachable from the sources with these parts hidden? */
bool
graph_targets_reachable(GraphSnapshot *g, const GraphNodeSet *sources, const bool *target,
						const bool *edge_removed, const bool *node_removed)
{
	return bfs(g, sources->nodes, sources->n, -1, target, -1, edge_removed, node_removed) >= 0;
}
