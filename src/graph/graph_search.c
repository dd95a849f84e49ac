/*
 * graph_search.c
 *		Best paths from a set of sources (blast radius, and exposure on the
 *		reverse graph), hop-bounded reachability, and the AND-node rules they
 *		share.
 *
 * Best paths: the most likely path is the shortest on weights
 * -ln(likelihood); labels are (cost, hops), ties going to fewer hops.  Without
 * AND nodes, Bellman-Ford in rounds (below): round k gives every node its
 * best path of at most k hops, so a hop limit h is exactly h rounds, and no
 * limit is rounds until nothing improves (handing over to Dijkstra if
 * corrections pile up).  With AND nodes, a label-setting Dijkstra.  Without a
 * hop limit every node is settled once.  With a hop limit the cheapest path
 * may be too long, so a node may be settled again by a costlier label with
 * strictly fewer hops (a label is dominated when an earlier one at the node
 * has no more hops); the first label of a node is its best path within the
 * limit, and the later ones only carry the search further.  This is exact:
 * each node is settled at most max_hops + 1 times.  Both give the same rows
 * (costs, hops, predecessors and order).
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
 * Best paths by Bellman-Ford in rounds (no heap): round k relaxes the
 * relationships out of the nodes whose label improved in round k - 1, from
 * the costs they had at the end of that round (kept with the frontier), so
 * after round k every node holds its best path of at most k hops.  With a
 * hop limit h this is exact after h rounds; without, after the round in
 * which nothing improves.  It gives the labels the label-setting search
 * gives, row for row:
 *
 *	- cost: the cheapest path within the limit;
 *	- hops: the round in which the node last improved, i.e. the fewest hops
 *	  of a cheapest path (ties go to fewer hops);
 *	- via: among the frontier nodes of that round offering the same cost
 *	  (all with hops - 1 hops), the one with the smallest (cost, node), which
 *	  is the one Dijkstra settles and hears from first.  A tie compares the
 *	  candidate's round-(k-1) cost with the one remembered for the current
 *	  predecessor (via_cost), never with a cost changed during the round.
 *
 * Only the cost array is read on every relaxation: a relaxation into a node
 * already cheaper than the frontier node cannot improve it (costs are never
 * negative) and is dropped before the relationship's own cost is even
 * loaded; hops, via and via_cost are written only on improvement.  The hops
 * array doubles as the "queued in this round" mark.
 *
 * On the shallow graphs of real estates this converges in a few passes over
 * the reached relationships and beats the heap several times.  Without a hop
 * limit, where corrections pile up (long chains with shortcuts, finely
 * spread random weights), it gives up after budget relaxations and returns
 * false, and the caller runs Dijkstra.
 */
/* graph_cost_add for two finite costs, without branches */
static pg_attribute_always_inline GraphCost
cost_add_finite(GraphCost a, GraphCost b)
{
	uint64		sum = (uint64) a + (uint64) b;	/* both below 2^63: no overflow */

	return (GraphCost) Min(sum, (uint64) (GRAPH_COST_INF - 1));
}

typedef struct RoundsState
{
	GraphCost  *dist;
	int32	   *hops;			/* round of the last improvement; 0 for unreached */
	int32	   *via;
	GraphCost  *via_cost;		/* cost of via when chosen (its round-(k-1) cost) */
	int32	   *cur;			/* frontier: nodes improved in the previous round */
	GraphCost  *cur_dist;		/* ... with their costs at the end of that round */
	int32	   *next;
	int32		ncur;
} RoundsState;

/*
 * One round.  Written once, instantiated for each direction and filter, so
 * that the common case (forward, no filter) has no per-relationship branch
 * on either.  Returns the number of nodes queued for the next round.
 */
static pg_attribute_always_inline int32
relax_round(const GraphSnapshot *g, const GraphFilter *f, bool reverse, bool filtered,
			bool classes, RoundsState *rs, int32 round, int64 *work)
{
	const int32 *off = reverse ? g->rev_off : g->fwd_off;
	const int32 *adj = reverse ? g->rev_src : g->fwd_dst;
	const int32 *rev_edge = g->rev_edge;
	const GraphCost *w = g->fwd_w;
	const GraphCost *wtab = g->wtab;
	const uint16 *wc = reverse ? g->rev_wc : g->fwd_wc;
	const uint16 *kind = g->fwd_kind;
	const bool *allowed = filtered ? f->allowed : NULL;
	GraphCost  *dist = rs->dist;
	int32	   *hops = rs->hops;
	int32	   *via = rs->via;
	GraphCost  *via_cost = rs->via_cost;
	int32	   *next = rs->next;
	int32		nnext = 0;
	int64		scanned = 0;

	for (int32 i = 0; i < rs->ncur; i++)
	{
		int32		v = rs->cur[i];
		GraphCost	dv = rs->cur_dist[i];
		int32		jend = off[v + 1];

		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
		scanned += jend - off[v];
		for (int32 j = off[v]; j < jend; j++)
		{
			int32		u = adj[j];
			GraphCost	du = dist[u];
			int32		e;
			GraphCost	nd;

			/*
			 * Backwards without cost classes, the relationship's cost is a
			 * random load: skip it when u is already cheaper than v (costs
			 * are never negative, so nd >= dv > du).  Otherwise costs are
			 * read in order, and the branch would only cost mispredictions.
			 */
			if (reverse && !classes && du < dv)
				continue;
			e = reverse ? rev_edge[j] : j;
			if (filtered && !allowed[kind[e]])
				continue;
			nd = cost_add_finite(dv, classes ? wtab[wc[j]] : w[e]);
			if (nd < du)
			{
				dist[u] = nd;
				via[u] = v;
				via_cost[u] = dv;
				if (hops[u] != round)
				{
					hops[u] = round;
					next[nnext++] = u;
				}
			}
			else if (nd == du && hops[u] == round &&
					 (dv < via_cost[u] || (dv == via_cost[u] && v < via[u])))
			{
				/* same cost and hops: the predecessor Dijkstra settles first */
				via[u] = v;
				via_cost[u] = dv;
			}
		}
	}
	*work += scanned;
	return nnext;
}

static bool
best_paths_rounds(const GraphSnapshot *g, const GraphNodeSet *sources, const GraphFilter *f,
				  int max_hops, bool reverse, int64 budget, GraphBest *out)
{
	int32		n = g->nnodes;
	RoundsState rs;
	int32		nreached = 0;
	int64		work = 0;
	int32		round;

	rs.dist = graph_alloc(n, sizeof(GraphCost));
	rs.hops = graph_alloc0(n, sizeof(int32));
	rs.via = graph_alloc(n, sizeof(int32));
	rs.via_cost = graph_alloc(n, sizeof(GraphCost));
	rs.cur = graph_alloc(n, sizeof(int32));
	rs.cur_dist = graph_alloc(n, sizeof(GraphCost));
	rs.next = graph_alloc(n, sizeof(int32));
	rs.ncur = 0;
	for (int32 v = 0; v < n; v++)
		rs.dist[v] = GRAPH_COST_INF;
	for (int32 i = 0; i < sources->n; i++)
	{
		int32		s = sources->nodes[i];

		if (rs.dist[s] == 0)
			continue;
		rs.dist[s] = 0;
		rs.via[s] = -1;
		rs.cur[rs.ncur] = s;
		rs.cur_dist[rs.ncur++] = 0;
	}

	for (round = 1; rs.ncur > 0 && (max_hops < 0 || round <= max_hops); round++)
	{
		int32		nnext;

		/* one instance per direction, filter and cost layout */
		switch ((reverse ? 4 : 0) | (f ? 2 : 0) | (g->fwd_wc ? 1 : 0))
		{
			case 0:
				nnext = relax_round(g, f, false, false, false, &rs, round, &work);
				break;
			case 1:
				nnext = relax_round(g, f, false, false, true, &rs, round, &work);
				break;
			case 2:
				nnext = relax_round(g, f, false, true, false, &rs, round, &work);
				break;
			case 3:
				nnext = relax_round(g, f, false, true, true, &rs, round, &work);
				break;
			case 4:
				nnext = relax_round(g, f, true, false, false, &rs, round, &work);
				break;
			case 5:
				nnext = relax_round(g, f, true, false, true, &rs, round, &work);
				break;
			case 6:
				nnext = relax_round(g, f, true, true, false, &rs, round, &work);
				break;
			default:
				nnext = relax_round(g, f, true, true, true, &rs, round, &work);
				break;
		}
		if (budget >= 0 && work > budget)
		{
			pfree(rs.dist);
			pfree(rs.hops);
			pfree(rs.via);
			pfree(rs.via_cost);
			pfree(rs.cur);
			pfree(rs.cur_dist);
			pfree(rs.next);
			return false;
		}
		/* the new frontier, with the costs it ends this round with */
		{
			int32	   *t = rs.cur;

			rs.cur = rs.next;
			rs.next = t;
			rs.ncur = nnext;
			for (int32 i = 0; i < nnext; i++)
				rs.cur_dist[i] = rs.dist[rs.cur[i]];
		}
	}

	out->dist = rs.dist;
	out->settled = graph_alloc(n, sizeof(GraphSettled));
	for (int32 v = 0; v < n; v++)
	{
		GraphSettled *r;

		if (rs.dist[v] == GRAPH_COST_INF)
			continue;
		r = &out->settled[nreached++];
		r->dist = rs.dist[v];
		r->node = v;
		r->hops = rs.hops[v];
		r->via = rs.via[v];
	}
	pfree(rs.hops);
	pfree(rs.via);
	pfree(rs.via_cost);
	pfree(rs.cur_dist);
	pfree(rs.next);
	sort_settled(out->settled, nreached);
	out->order = rs.cur;		/* n entries, free now */
	for (int32 i = 0; i < nreached; i++)
		out->order[i] = out->settled[i].node;
	out->norder = nreached;
	return true;
}

void
graph_best_paths(const GraphSnapshot *g, const GraphNodeSet *sources, const GraphFilter *f,
				 int max_hops, bool reverse, bool and_nodes, GraphBest *out)
{
	int32		n = g->nnodes;
	bool		limited = max_hops >= 0;
	bool		use_and = and_nodes && !reverse && g->nand > 0;
	BestState  *st;
	int32	   *tvia;
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

	/*
	 * Without AND nodes, rounds: exact with a hop limit, and without one
	 * unless corrections pile up past two passes' worth of
	 * relaxations, when Dijkstra below takes over.
	 */
	if (!use_and &&
		best_paths_rounds(g, sources, f, max_hops, reverse,
						  limited ? -1 : 2 * ((int64) g->nedges + n) + 1024, out))
		return;

	st = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(BestState));
	tvia = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(int32));

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
			nk = graph_cost_add(it.key, graph_edge_cost(g, e));
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
