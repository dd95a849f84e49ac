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
#include "port/pg_bitutils.h"
#include "utils/memutils.h"

#include "graph/graph.h"

static int32 *
fill_int32(int32 n, int32 value)
{
	int32	   *a = graph_alloc(n, sizeof(int32));

	for (int32 i = 0; i < n; i++)
		a[i] = value;
	return a;
}

static GraphCost *
fill_cost(int32 n, GraphCost value)
{
	GraphCost  *a = graph_alloc(n, sizeof(GraphCost));

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
	int32	   *left = graph_alloc0(g->nnodes, sizeof(int32));

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
 * radix sort by cost, 16 bits a pass (faster here than 11), skipping the
 * digits all records share.  Linear, and several times faster than a
 * comparison sort.
 */
#define RADIX_BITS	16
#define RADIX		(1 << RADIX_BITS)

static void
sort_settled(GraphSettled *a, int32 n)
{
	GraphSettled *tmp;
	GraphSettled *src,
			   *dst;
	int32		maxh = 0;
	int32	   *count;
	uint64		diff = 0;

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

	/* digits where every cost agrees are skipped */
	for (int32 i = 1; i < n; i++)
		diff |= (uint64) tmp[i].dist ^ (uint64) tmp[0].dist;
	src = tmp;
	dst = a;
	count = graph_alloc(RADIX, sizeof(int32));
	for (int shift = 0; shift < 64; shift += RADIX_BITS)
	{
		if (((diff >> shift) & (RADIX - 1)) == 0)
			continue;
		CHECK_FOR_INTERRUPTS();
		memset(count, 0, RADIX * sizeof(int32));
		for (int32 i = 0; i < n; i++)
			count[((uint64) src[i].dist >> shift) & (RADIX - 1)]++;
		for (int32 d = 0, sum = 0; d < RADIX; d++)
		{
			int32		c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (int32 i = 0; i < n; i++)
			dst[count[((uint64) src[i].dist >> shift) & (RADIX - 1)]++] = src[i];
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
 * Best paths by Bellman-Ford in rounds (no heap): each round relaxes the
 * relationships out of the nodes whose label improved in the round before,
 * taken in node order (a bitmap collects them), so that a round sweeps the
 * CSR forwards.  Two modes:
 *
 *	- with a hop limit h, by rounds: round k relaxes from the costs the
 *	  frontier had at the end of round k - 1 (kept with the frontier), so
 *	  after round k every node holds its best path of at most k hops, and h
 *	  rounds are exact.  A node's hops are the round of its last improvement
 *	  (the fewest hops of a cheapest path within the limit); among frontier
 *	  nodes offering the same cost in that round (all with hops - 1 hops) the
 *	  predecessor is the one with the smallest (cost, node), compared with
 *	  the round-(k-1) cost remembered for the current one (via_cost), never a
 *	  cost changed during the round.
 *	- without, in place (label correction): a node relaxes from its current
 *	  label (cost, hops), ordered lexicographically, which is a monotone path
 *	  algebra, so rounds until nothing improves converge to Dijkstra's labels;
 *	  a tie keeps the predecessor with the smallest (cost, hops, node), which
 *	  Dijkstra settles and hears from first.  In place corrects less than by
 *	  rounds (about one pass over the relationships on real estates).
 *
 * Either way the rows are the label-setting search's, row for row, once
 * sorted in its settle order (cost, hops, node).  Only the cost array is
 * read on every relaxation; hops, via and via_cost are written only on
 * improvement.
 *
 * On the shallow graphs of real estates this beats the heap several times.
 * Without a hop limit, where corrections pile up (long chains with
 * shortcuts, finely spread random weights), it gives up after budget
 * relaxations and returns false, and the caller runs Dijkstra.
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
	int32	   *hops;			/* hops of the label; 0 for unreached */
	int32	   *via;
	GraphCost  *via_cost;		/* by rounds: via's round-(k-1) cost when chosen */
	int32	   *cur;			/* frontier: nodes improved in the previous round, ascending */
	GraphCost  *cur_dist;		/* ... with their costs at the end of that round (by rounds) */
	uint64	   *next;			/* bitmap of the nodes improved in this round */
	int32		ncur;
} RoundsState;

/*
 * One round.  Written once, instantiated for each direction, filter, cost
 * layout and mode, so that no relationship pays a branch on any of them.
 * Returns the number of nodes queued for the next round.
 */
static pg_attribute_always_inline int32
relax_round(const GraphSnapshot *g, const GraphFilter *f, bool reverse, bool filtered,
			bool classes, bool inplace, RoundsState *rs, int32 round, int64 *work)
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
	uint64	   *next = rs->next;
	int32		nnext = 0;
	int64		scanned = 0;

	for (int32 i = 0; i < rs->ncur; i++)
	{
		int32		v = rs->cur[i];
		GraphCost	dv = inplace ? dist[v] : rs->cur_dist[i];
		int32		hv = inplace ? hops[v] + 1 : round;
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
			if (nd < du || (inplace && nd == du && hv < hops[u]))
			{
				uint64		bit = UINT64CONST(1) << (u & 63);

				dist[u] = nd;
				hops[u] = hv;
				via[u] = v;
				if (!inplace)
					via_cost[u] = dv;
				if (!(next[u >> 6] & bit))
				{
					next[u >> 6] |= bit;
					nnext++;
				}
			}
			else if (nd == du && hv == hops[u] && v != via[u])
			{
				/*
				 * Same cost and hops: keep the predecessor Dijkstra settles
				 * first, the smaller (cost, hops, node).  In place, both
				 * labels are final here if it matters (had either improved
				 * since, u would improve again); by rounds, both
				 * predecessors have hops - 1 hops, and the current one's
				 * round-(k-1) cost is in via_cost.
				 */
				int32		a = via[u];

				if (inplace ? (dv < dist[a] ||
							   (dv == dist[a] && (hv - 1 < hops[a] || (hv - 1 == hops[a] && v < a))))
					: (dv < via_cost[u] || (dv == via_cost[u] && v < a)))
				{
					via[u] = v;
					if (!inplace)
						via_cost[u] = dv;
				}
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
	bool		limited = max_hops >= 0;

	rs.dist = graph_alloc(n, sizeof(GraphCost));
	rs.hops = graph_alloc0(n, sizeof(int32));
	rs.via = graph_alloc(n, sizeof(int32));
	rs.cur = graph_alloc(n, sizeof(int32));
	/* only by rounds (with a hop limit): the frontier's costs and via's */
	rs.via_cost = limited ? graph_alloc(n, sizeof(GraphCost)) : NULL;
	rs.cur_dist = limited ? graph_alloc(n, sizeof(GraphCost)) : NULL;
	rs.next = graph_alloc0(((int64) n + 63) / 64, sizeof(uint64));
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
		if (limited)
			rs.cur_dist[rs.ncur] = 0;
		rs.cur[rs.ncur++] = s;
	}

	for (round = 1; rs.ncur > 0 && (max_hops < 0 || round <= max_hops); round++)
	{
		int32		nnext;

		/* one instance per direction, filter, cost layout and mode */
		switch ((limited ? 8 : 0) | (reverse ? 4 : 0) | (f ? 2 : 0) | (g->fwd_wc ? 1 : 0))
		{
#define RELAX(rev, filt, cls, inpl) \
			nnext = relax_round(g, f, rev, filt, cls, inpl, &rs, round, &work); \
			break
			case 0:
				RELAX(false, false, false, true);
			case 1:
				RELAX(false, false, true, true);
			case 2:
				RELAX(false, true, false, true);
			case 3:
				RELAX(false, true, true, true);
			case 4:
				RELAX(true, false, false, true);
			case 5:
				RELAX(true, false, true, true);
			case 6:
				RELAX(true, true, false, true);
			case 7:
				RELAX(true, true, true, true);
			case 8:
				RELAX(false, false, false, false);
			case 9:
				RELAX(false, false, true, false);
			case 10:
				RELAX(false, true, false, false);
			case 11:
				RELAX(false, true, true, false);
			case 12:
				RELAX(true, false, false, false);
			case 13:
				RELAX(true, false, true, false);
			case 14:
				RELAX(true, true, false, false);
			default:
				RELAX(true, true, true, false);
#undef RELAX
		}
		if (budget >= 0 && work > budget)
		{
			pfree(rs.dist);
			pfree(rs.hops);
			pfree(rs.via);
			pfree(rs.cur);
			pfree(rs.next);
			if (limited)
			{
				pfree(rs.via_cost);
				pfree(rs.cur_dist);
			}
			return false;
		}
		/*
		 * The new frontier in node order (so that the next round sweeps the
		 * CSR forwards), with the costs it ends this round with.
		 */
		rs.ncur = 0;
		for (int32 wi = 0; nnext > 0 && rs.ncur < nnext; wi++)
		{
			uint64		bits = rs.next[wi];

			rs.next[wi] = 0;
			while (bits)
			{
				int32		v = wi * 64 + pg_rightmost_one_pos64(bits);

				bits &= bits - 1;
				if (limited)
					rs.cur_dist[rs.ncur] = rs.dist[v];
				rs.cur[rs.ncur++] = v;
			}
		}
	}

	out->dist = rs.dist;
	out->via = rs.via;
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
	}
	pfree(rs.hops);
	if (limited)
	{
		pfree(rs.via_cost);
		pfree(rs.cur_dist);
	}
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

	st = graph_alloc(n, sizeof(BestState));
	tvia = graph_alloc(n, sizeof(int32));

	for (int32 v = 0; v < n; v++)
	{
		st[v].tent = GRAPH_COST_INF;
		st[v].tenth = PG_INT32_MAX;
		st[v].minhops = PG_INT32_MAX;
	}
	out->dist = fill_cost(n, GRAPH_COST_INF);
	out->order = graph_alloc(n, sizeof(int32));
	out->settled = graph_alloc(n, sizeof(GraphSettled));
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
	out->via = tvia;			/* final once a node is first settled */
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
		/*
		 * bfs_stamp is set last: it marks the arrays as present, so an
		 * out-of-memory error part way must leave it NULL in the cached
		 * snapshot, not leave the others NULL behind it.
		 */
		uint32	   *stamp;

		g->bfs_level = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(int32));
		g->bfs_queue = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(int32));
		if (g->nand > 0)
			g->bfs_and_left = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(int32));
		stamp = MemoryContextAllocExtended(g->ctx, Max(n, 1) * sizeof(uint32),
										   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		g->bfs_gen = 0;
		g->bfs_stamp = stamp;
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
