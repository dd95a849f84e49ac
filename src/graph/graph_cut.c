/*
 * graph_cut.c
 *		Minimum edge cut and minimum node cut between a set of sources and a
 *		set of targets: max-flow on the snapshot itself.
 *
 * The augmenting-path searches work on the snapshot itself: arcs are
 * enumerated from the forward and reverse CSR, and flow lives in one double
 * per relationship (plus one per resource for the node cut).  Sources act as
 * one super-source of unlimited supply and targets as sinks (a path ends at
 * the first target it meets).  Only resources that can reach a target take
 * part.
 *
 * Max-flow: augmenting paths found by bidirectional breadth-first search
 * (from the sources and from the targets, always growing the smaller
 * frontier), which in the usual case (a few disjoint attack routes through
 * a large estate) touches a small part of the graph per path; per-resource
 * counts of flow-carrying relationships let every search skip the residual
 * back-arcs of resources that carry no flow.  Dinic's algorithm (level graph
 * + blocking flow) takes over from the flow found so far when the searches
 * together have scanned the graph correlate.graph_cut_search_budget times,
 * and runs alone when the flow may need many paths (more than 64
 * relationships leave the sources and more than 64 enter the targets).  For
 * the edge cut it runs on a flat copy of the part of the graph that matters
 * (resources both reachable from a source and able to reach a target, often
 * half the estate): one arc array with residual mates, integer capacities
 * for unit costs, and an iterative depth-first search with current-arc
 * pointers, so that each phase streams through contiguous memory.
 *
 * Edge cut: each relationship has capacity 1 (cost 'unit') or its
 * props->>'fix_cost' (cost 'fix_cost'; 1 when absent or invalid, 0 allowed).
 * Node cut: each resource v other than the sources and targets is split into
 * v_in -> v_out with capacity 1 or its own props->>'fix_cost'; relationships
 * have unlimited capacity.  A source linked straight to a target has no
 * finite node cut, which is an error naming the pair.
 *
 * The cut reported is the one nearest the sources: the relationships (or
 * resources) leaving the set of vertices still reachable from the sources in
 * the residual network.  By max-flow/min-cut its cost equals the maximum
 * flow, and removing it disconnects every source from every target.
 *
 * AND nodes: flow treats them as ordinary (OR) nodes, so the cut always
 * disconnects, but for AND/OR graphs the true minimum is NP-hard and this one
 * may be larger: cutting any single precondition of an AND node suffices.  A
 * clean-up pass then tries to put each cut item back, costliest first, and
 * keeps it out only if the targets stay unreachable under AND semantics; the
 * result is a cut that is minimal (no item can be dropped) though not
 * necessarily minimum.
 *
 * Files: graph_cut.h (the residual network), graph_cut_augment.c (augmenting
 * paths; Dinic on the snapshot), graph_cut_flat.c (Dinic on the flat copy),
 * and this file (the relevant part, the driver, reading off the cut and its
 * clean-up under AND semantics).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "graph/graph_cut.h"

/* Marks the resources that can reach a target without passing a source. */
static bool *
coreachable(const GraphSnapshot *g, const GraphNodeSet *targets, const bool *is_source, int32 *queue)
{
	bool	   *seen = graph_alloc0(g->nnodes, sizeof(bool));
	int32		head = 0,
				tail = 0;

	for (int32 i = 0; i < targets->n; i++)
	{
		seen[targets->nodes[i]] = true;
		queue[tail++] = targets->nodes[i];
	}
	while (head < tail)
	{
		int32		v = queue[head++];

		CHECK_FOR_INTERRUPTS();
		if (is_source[v])
			continue;
		for (int32 j = g->rev_off[v]; j < g->rev_off[v + 1]; j++)
			if (!seen[g->rev_src[j]])
			{
				seen[g->rev_src[j]] = true;
				queue[tail++] = g->rev_src[j];
			}
	}
	return seen;
}

typedef struct CutItem
{
	int32		item;
	double		cost;
	int64		id;
} CutItem;

static int
cutitem_cost_desc(const void *a, const void *b)
{
	const CutItem *x = a;
	const CutItem *y = b;

	if (x->cost != y->cost)
		return x->cost > y->cost ? -1 : 1;
	return (x->id < y->id) - (x->id > y->id);
}

static int
cutitem_id_asc(const void *a, const void *b)
{
	const CutItem *x = a;
	const CutItem *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/*
 * An upper bound on the number of augmenting paths: relationships leaving
 * the sources, or entering the targets, whichever are fewer.
 */
static int64
flow_bound(const GraphSnapshot *g, const GraphNodeSet *sources, const GraphNodeSet *targets,
		   bool node_cut)
{
	int64		out = 0,
				in = 0;

	for (int32 i = 0; i < sources->n; i++)
		out += g->fwd_off[sources->nodes[i] + 1] - g->fwd_off[sources->nodes[i]];
	for (int32 i = 0; i < targets->n; i++)
		in += g->rev_off[targets->nodes[i] + 1] - g->rev_off[targets->nodes[i]];
	return Min(out, in);
}

/* How much augmenting-path search may touch before Dinic takes over. */
#define AUGMENT_BUDGET(fl, m)	((int64) graph_cut_search_budget * ((int64) (fl)->nv + 2 * (int64) (m)))

/*
 * Augmenting paths while they stay cheap, then Dinic for the rest (on the
 * flat network for the edge cut).  A node cut whose flow may need many paths
 * goes to Dinic at once.  Leaves fl->level >= 0 on the source side.
 */
static void
augment_then_dinic(Flow *fl, const GraphNodeSet *sources, const GraphNodeSet *targets, int32 *queue)
{
	int64		budget = AUGMENT_BUDGET(fl, fl->g->nedges);

	fl->seen_f = graph_alloc0(fl->nv, sizeof(uint32));
	fl->seen_b = graph_alloc0(fl->nv, sizeof(uint32));
	fl->par_f = graph_alloc(fl->nv, sizeof(int32));
	fl->arc_f = graph_alloc(fl->nv, sizeof(int32));
	fl->par_b = graph_alloc(fl->nv, sizeof(int32));
	fl->arc_b = graph_alloc(fl->nv, sizeof(int32));
	fl->qf = graph_alloc(fl->nv, sizeof(int32));
	fl->qb = graph_alloc(fl->nv, sizeof(int32));
	fl->iter = graph_alloc(fl->nv, sizeof(int32));
	fl->base_level = graph_alloc(fl->nv, sizeof(int32));
	for (int32 x = 0; x < fl->nv; x++)
	{
		int32		v = fl->node_cut ? x >> 1 : x;

		/* never enter an irrelevant resource, or a source (it starts at level 0) */
		fl->base_level[x] = (!fl->relevant[v] ||
							 (fl->is_source[v] && (!fl->node_cut || (x & 1) == 0))) ? -2 : -1;
	}

	if (flow_bound(fl->g, sources, targets, fl->node_cut) > 64)
		fl->work = budget + 1;
	while (fl->work <= budget && cut_augment(fl, sources, targets))
		;
	if (fl->work > budget && !fl->node_cut)
		cut_flat_dinic(fl, sources);
	else if (fl->work > budget)
	{
		while (cut_residual_bfs(fl, sources, queue, true))
			cut_blocking_flow(fl, sources, queue);
		/* the last search reached no sink, so it went everywhere it could */
	}
	else
		cut_residual_bfs(fl, sources, queue, false);
}

void
graph_min_cut(GraphSnapshot *g, const GraphNodeSet *sources, const GraphNodeSet *targets,
			  bool fix_cost, bool node_cut, GraphCut *out)
{
	int32		n = g->nnodes;
	int32		m = g->nedges;
	bool	   *is_source = graph_alloc0(n, sizeof(bool));
	bool	   *is_target = graph_alloc0(n, sizeof(bool));
	int32	   *queue;
	Flow		fl;
	double		maxcap = 0;
	CutItem    *items;
	int32		nitems = 0;
	int32		capitems = 64;
	bool		flat_only;

	memset(out, 0, sizeof(*out));
	for (int32 i = 0; i < sources->n; i++)
		is_source[sources->nodes[i]] = true;
	for (int32 i = 0; i < targets->n; i++)
	{
		if (is_source[targets->nodes[i]])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("resource %lld is both a source and a target",
							(long long) g->node_id[targets->nodes[i]]),
					 errdetail("No cut can separate a resource from itself.")));
		is_target[targets->nodes[i]] = true;
	}
	if (sources->n == 0 || targets->n == 0)
		return;

	memset(&fl, 0, sizeof(fl));
	fl.g = g;
	fl.node_cut = node_cut;
	if (node_cut && n > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("graph of %d resources is too large for a node cut", n),
				 errdetail("A node cut splits each resource in two, and at most %d resources can be split.",
						   PG_INT32_MAX / 2)));
	fl.nv = node_cut ? 2 * n : n;
	fl.is_source = is_source;
	fl.is_target = is_target;
	queue = graph_alloc(fl.nv, sizeof(int32));
	fl.relevant = coreachable(g, targets, is_source, queue);

	/*
	 * An edge cut whose flow may need many paths (more than the sources' or
	 * the targets' relationships, whichever are fewer, can carry) goes to
	 * Dinic on the flat network at once, without the per-relationship flow
	 * arrays of the augmenting-path searches.
	 */
	flat_only = !node_cut && flow_bound(g, sources, targets, node_cut) > 64;
	if (!flat_only)
	{
		fl.eflow = graph_alloc0(m, sizeof(double));
		fl.nin = graph_alloc0(n, sizeof(int32));
		fl.nout = graph_alloc0(n, sizeof(int32));
	}
	if (node_cut)
	{
		fl.ncap = graph_alloc(n, sizeof(double));
		fl.nflow = graph_alloc(n, sizeof(double));
		for (int32 v = 0; v < n; v++)
		{
			fl.nflow[v] = 0;
			if (is_source[v] || is_target[v])
				fl.ncap[v] = GRAPH_INF;
			else
			{
				fl.ncap[v] = fix_cost ? graph_node_cost(g, v) : 1.0;
				if (fl.relevant[v])
					maxcap = Max(maxcap, fl.ncap[v]);
			}
		}
	}
	else
	{
		if (fix_cost)
		{
			fl.ecap = g->edge_cost;
			for (int32 e = 0; e < m; e++)
				maxcap = Max(maxcap, g->edge_cost[e]);
		}
		else
			maxcap = 1.0;
	}
	fl.eps = 1e-9 * maxcap;
	fl.level = graph_alloc(fl.nv, sizeof(int32));
	if (flat_only)
		cut_flat_dinic(&fl, sources);
	else
		augment_then_dinic(&fl, sources, targets, queue);
	/* level >= 0 now marks the source side of the cut: what the sources still reach */

	items = palloc(sizeof(CutItem) * capitems);
	for (int32 v = 0; v < n; v++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!fl.relevant[v])
			continue;
		if (node_cut)
		{
			if (fl.level[2 * v] >= 0 && fl.level[2 * v + 1] < 0 && !is_source[v] && !is_target[v])
			{
				if (nitems >= capitems)
					items = repalloc_huge(items, sizeof(CutItem) * (capitems *= 2));
				items[nitems].item = v;
				items[nitems].cost = fl.ncap[v];
				items[nitems++].id = g->node_id[v];
			}
			continue;
		}
		if (fl.level[v] < 0 || is_target[v])
			continue;
		for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
		{
			int32		u = g->fwd_dst[e];

			if (!fl.relevant[u] || is_source[u] || fl.level[u] >= 0)
				continue;
			if (nitems >= capitems)
				items = repalloc_huge(items, sizeof(CutItem) * (capitems *= 2));
			items[nitems].item = e;
			items[nitems].cost = fl.ecap ? fl.ecap[e] : 1.0;
			items[nitems++].id = graph_edge_id(g, e);
		}
	}

	/* AND nodes: drop every cut item the AND semantics do not need */
	if (g->nand > 0 && nitems > 0)
	{
		bool	   *edge_removed = node_cut ? NULL : graph_alloc0(m, sizeof(bool));
		bool	   *node_removed = node_cut ? graph_alloc0(n, sizeof(bool)) : NULL;
		int32		kept = 0;

		for (int32 i = 0; i < nitems; i++)
			(node_cut ? node_removed : edge_removed)[items[i].item] = true;
		qsort(items, nitems, sizeof(CutItem), cutitem_cost_desc);
		for (int32 i = 0; i < nitems; i++)
		{
			bool	   *removed = node_cut ? node_removed : edge_removed;

			removed[items[i].item] = false;
			if (graph_targets_reachable(g, sources, is_target, edge_removed, node_removed))
			{
				removed[items[i].item] = true;
				items[kept++] = items[i];
			}
		}
		nitems = kept;
	}

	qsort(items, nitems, sizeof(CutItem), cutitem_id_asc);
	out->n = nitems;
	out->items = graph_alloc(nitems, sizeof(int32));
	out->cost = graph_alloc(nitems, sizeof(double));
	for (int32 i = 0; i < nitems; i++)
	{
		out->items[i] = items[i].item;
		out->cost[i] = items[i].cost;
		out->total += items[i].cost;
	}
}
