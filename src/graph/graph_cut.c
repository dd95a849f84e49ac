/*
 * graph_cut.c
 *		Minimum edge cut and minimum node cut between a set of sources and a
 *		set of targets: Dinic's max-flow on the snapshot itself.
 *
 * The flow network is never copied: arcs are enumerated from the forward and
 * reverse CSR, and flow lives in one double per relationship (plus one per
 * resource for the node cut).  Sources act as one super-source of unlimited
 * supply and targets as sinks (a path ends at the first target it meets).
 * Only resources that are reachable from a source and can reach a target
 * take part.
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
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "graph/graph.h"

typedef struct Flow
{
	const GraphSnapshot *g;
	bool		node_cut;
	int32		nv;				/* vertices: n (edge cut) or 2n (node cut) */
	const bool *is_source;
	const bool *is_target;
	const bool *relevant;
	const double *ecap;			/* edge capacity (edge cut) */
	double	   *ncap;			/* node capacity (node cut) */
	double	   *eflow;
	double	   *nflow;
	int32	   *level;
	int32	   *iter;
	double		eps;
} Flow;

static inline int32
start_vertex(const Flow *fl, int32 s)
{
	return fl->node_cut ? 2 * s + 1 : s;
}

static inline bool
is_sink(const Flow *fl, int32 x)
{
	return fl->node_cut ? ((x & 1) == 0 && fl->is_target[x >> 1]) : fl->is_target[x];
}

static inline int32
arc_count(const Flow *fl, int32 x)
{
	const GraphSnapshot *g = fl->g;
	int32		v = fl->node_cut ? x >> 1 : x;
	int32		outdeg = g->fwd_off[v + 1] - g->fwd_off[v];
	int32		indeg = g->rev_off[v + 1] - g->rev_off[v];

	if (!fl->node_cut)
		return outdeg + indeg;
	return (x & 1) ? outdeg + 1 : indeg + 1;
}

/*
 * Arc idx of vertex x: sets *to (-1 when the arc leaves the relevant
 * subgraph) and its residual capacity.
 */
static inline void
arc_at(const Flow *fl, int32 x, int32 idx, int32 *to, double *res)
{
	const GraphSnapshot *g = fl->g;

	if (!fl->node_cut)
	{
		int32		v = x;
		int32		outdeg = g->fwd_off[v + 1] - g->fwd_off[v];

		if (idx < outdeg)
		{
			int32		e = g->fwd_off[v] + idx;
			int32		u = g->fwd_dst[e];

			*to = (fl->relevant[u] && !fl->is_source[u]) ? u : -1;
			*res = fl->ecap[e] - fl->eflow[e];
		}
		else
		{
			int32		j = g->rev_off[v] + idx - outdeg;

			*to = g->rev_src[j];
			*res = fl->eflow[g->rev_edge[j]];
		}
	}
	else
	{
		int32		v = x >> 1;

		if ((x & 1) == 0)
		{
			/* v_in: to v_out, or back along a relationship into v */
			if (idx == 0)
			{
				*to = x + 1;
				*res = fl->ncap[v] - fl->nflow[v];
			}
			else
			{
				int32		j = g->rev_off[v] + idx - 1;

				*to = 2 * g->rev_src[j] + 1;
				*res = fl->eflow[g->rev_edge[j]];
			}
		}
		else
		{
			int32		outdeg = g->fwd_off[v + 1] - g->fwd_off[v];

			/* v_out: along a relationship, or back to v_in */
			if (idx < outdeg)
			{
				int32		e = g->fwd_off[v] + idx;
				int32		u = g->fwd_dst[e];

				*to = (fl->relevant[u] && !fl->is_source[u]) ? 2 * u : -1;
				*res = GRAPH_INF;
			}
			else
			{
				*to = x - 1;
				*res = fl->nflow[v];
			}
		}
	}
}

static inline void
arc_push(Flow *fl, int32 x, int32 idx, double d)
{
	const GraphSnapshot *g = fl->g;

	if (!fl->node_cut)
	{
		int32		outdeg = g->fwd_off[x + 1] - g->fwd_off[x];

		if (idx < outdeg)
			fl->eflow[g->fwd_off[x] + idx] += d;
		else
			fl->eflow[g->rev_edge[g->rev_off[x] + idx - outdeg]] -= d;
	}
	else
	{
		int32		v = x >> 1;

		if ((x & 1) == 0)
		{
			if (idx == 0)
				fl->nflow[v] += d;
			else
				fl->eflow[g->rev_edge[g->rev_off[v] + idx - 1]] -= d;
		}
		else
		{
			int32		outdeg = g->fwd_off[v + 1] - g->fwd_off[v];

			if (idx < outdeg)
				fl->eflow[g->fwd_off[v] + idx] += d;
			else
				fl->nflow[v] -= d;
		}
	}
}

/*
 * Breadth-first search of the residual network from the sources.  With
 * levels, records each vertex's distance (Dinic's level graph); returns
 * whether a sink was reached.  Sinks are not expanded.
 */
static bool
residual_bfs(Flow *fl, const GraphNodeSet *sources, int32 *queue)
{
	int32		head = 0,
				tail = 0;
	bool		reached = false;

	for (int32 x = 0; x < fl->nv; x++)
		fl->level[x] = -1;
	for (int32 i = 0; i < sources->n; i++)
	{
		int32		x = start_vertex(fl, sources->nodes[i]);

		if (!fl->relevant[sources->nodes[i]] || fl->level[x] >= 0)
			continue;
		fl->level[x] = 0;
		queue[tail++] = x;
	}
	while (head < tail)
	{
		int32		x = queue[head++];
		int32		narcs;

		CHECK_FOR_INTERRUPTS();
		if (is_sink(fl, x))
		{
			reached = true;
			continue;
		}
		narcs = arc_count(fl, x);
		for (int32 idx = 0; idx < narcs; idx++)
		{
			int32		to;
			double		res;

			arc_at(fl, x, idx, &to, &res);
			if (to < 0 || res <= fl->eps || fl->level[to] >= 0)
				continue;
			fl->level[to] = fl->level[x] + 1;
			queue[tail++] = to;
		}
	}
	return reached;
}

/* Pushes a blocking flow through the level graph; returns the flow pushed. */
static double
blocking_flow(Flow *fl, const GraphNodeSet *sources, int32 *stack)
{
	const GraphSnapshot *g = fl->g;
	double		total = 0;

	for (int32 x = 0; x < fl->nv; x++)
		fl->iter[x] = 0;
	for (int32 si = 0; si < sources->n; si++)
	{
		int32		x0 = start_vertex(fl, sources->nodes[si]);
		int32		depth = 0;

		if (fl->level[x0] != 0)
			continue;
		stack[0] = x0;
		while (depth >= 0)
		{
			int32		x = stack[depth];
			int32		narcs;
			bool		advanced = false;

			CHECK_FOR_INTERRUPTS();
			if (is_sink(fl, x))
			{
				double		d = GRAPH_INF;
				int32		to;
				double		res;
				int32		back = 0;

				for (int32 i = 0; i < depth; i++)
				{
					arc_at(fl, stack[i], fl->iter[stack[i]], &to, &res);
					d = Min(d, res);
				}
				if (isinf(d))
				{
					int32		s = fl->node_cut ? x0 >> 1 : x0;
					int32		t = fl->node_cut ? x >> 1 : x;

					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("no node cut separates source %lld from target %lld",
									(long long) g->node_id[s], (long long) g->node_id[t]),
							 errdetail("Resource %lld links directly to resource %lld; sources and targets themselves cannot be cut.",
									   (long long) g->node_id[s], (long long) g->node_id[t]),
							 errhint("Use correlate.min_cut() to cut the relationship instead.")));
				}
				for (int32 i = 0; i < depth; i++)
					arc_push(fl, stack[i], fl->iter[stack[i]], d);
				total += d;
				/* retreat to the tail of the first saturated arc */
				for (int32 i = 0; i < depth; i++)
				{
					arc_at(fl, stack[i], fl->iter[stack[i]], &to, &res);
					if (res <= fl->eps)
					{
						back = i;
						break;
					}
				}
				depth = back;
				continue;
			}
			narcs = arc_count(fl, x);
			while (fl->iter[x] < narcs)
			{
				int32		to;
				double		res;

				arc_at(fl, x, fl->iter[x], &to, &res);
				if (to >= 0 && res > fl->eps && fl->level[to] == fl->level[x] + 1)
				{
					stack[++depth] = to;
					advanced = true;
					break;
				}
				fl->iter[x]++;
			}
			if (!advanced)
			{
				fl->level[x] = -1;	/* dead end for this phase */
				if (--depth >= 0)
					fl->iter[stack[depth]]++;
			}
		}
	}
	return total;
}

/* Marks resources reachable from from[] (forward or reverse), not passing through stop[]. */
static bool *
reach(const GraphSnapshot *g, const GraphNodeSet *from, const bool *stop, bool reverse, int32 *queue)
{
	bool	   *seen = palloc0(Max(g->nnodes, 1));
	int32		head = 0,
				tail = 0;

	for (int32 i = 0; i < from->n; i++)
	{
		seen[from->nodes[i]] = true;
		queue[tail++] = from->nodes[i];
	}
	while (head < tail)
	{
		int32		v = queue[head++];

		CHECK_FOR_INTERRUPTS();
		if (stop[v])
			continue;
		if (!reverse)
		{
			for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
				if (!seen[g->fwd_dst[e]])
				{
					seen[g->fwd_dst[e]] = true;
					queue[tail++] = g->fwd_dst[e];
				}
		}
		else
		{
			for (int32 j = g->rev_off[v]; j < g->rev_off[v + 1]; j++)
				if (!seen[g->rev_src[j]])
				{
					seen[g->rev_src[j]] = true;
					queue[tail++] = g->rev_src[j];
				}
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

void
graph_min_cut(const GraphSnapshot *g, const GraphNodeSet *sources, const GraphNodeSet *targets,
			  bool fix_cost, bool node_cut, GraphCut *out)
{
	int32		n = g->nnodes;
	int32		m = g->nedges;
	bool	   *is_source = palloc0(Max(n, 1));
	bool	   *is_target = palloc0(Max(n, 1));
	int32	   *queue;
	bool	   *fwd,
			   *bwd,
			   *relevant;
	Flow		fl;
	double		maxcap = 0;
	CutItem    *items;
	int32		nitems = 0;

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

	queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * Max(2 * (int64) n, 1));
	fwd = reach(g, sources, is_target, false, queue);
	bwd = reach(g, targets, is_source, true, queue);
	relevant = fwd;
	for (int32 v = 0; v < n; v++)
		relevant[v] = fwd[v] && bwd[v];
	pfree(bwd);

	memset(&fl, 0, sizeof(fl));
	fl.g = g;
	fl.node_cut = node_cut;
	fl.nv = node_cut ? 2 * n : n;
	fl.is_source = is_source;
	fl.is_target = is_target;
	fl.relevant = relevant;
	fl.eflow = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(m, 1));
	memset(fl.eflow, 0, sizeof(double) * Max(m, 1));
	if (node_cut)
	{
		fl.ncap = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
		fl.nflow = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
		for (int32 v = 0; v < n; v++)
		{
			fl.nflow[v] = 0;
			if (is_source[v] || is_target[v])
				fl.ncap[v] = GRAPH_INF;
			else
			{
				fl.ncap[v] = fix_cost ? graph_node_cost(g, v) : 1.0;
				if (relevant[v])
					maxcap = Max(maxcap, fl.ncap[v]);
			}
		}
	}
	else
	{
		double	   *ecap = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(m, 1));

		for (int32 e = 0; e < m; e++)
		{
			ecap[e] = fix_cost ? g->edge_cost[e] : 1.0;
			maxcap = Max(maxcap, ecap[e]);
		}
		fl.ecap = ecap;
	}
	fl.eps = 1e-9 * maxcap;
	fl.level = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * Max(fl.nv, 1));
	fl.iter = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * Max(fl.nv, 1));

	while (residual_bfs(&fl, sources, queue))
		blocking_flow(&fl, sources, queue);

	/* after the last search, level >= 0 marks the source side of the cut */
	items = palloc(sizeof(CutItem) * 64);
	{
		int32		capitems = 64;

		for (int32 v = 0; v < n; v++)
		{
			CHECK_FOR_INTERRUPTS();
			if (!relevant[v])
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

				if (!relevant[u] || is_source[u] || fl.level[u] >= 0)
					continue;
				if (nitems >= capitems)
					items = repalloc_huge(items, sizeof(CutItem) * (capitems *= 2));
				items[nitems].item = e;
				items[nitems].cost = fl.ecap[e];
				items[nitems++].id = graph_edge_id(g, e);
			}
		}
	}

	/* AND nodes: drop every cut item the AND semantics do not need */
	if (g->nand > 0 && nitems > 0)
	{
		bool	   *edge_removed = node_cut ? NULL : palloc0(Max(m, 1));
		bool	   *node_removed = node_cut ? palloc0(Max(n, 1)) : NULL;
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
	out->items = palloc(sizeof(int32) * Max(nitems, 1));
	out->cost = palloc(sizeof(double) * Max(nitems, 1));
	for (int32 i = 0; i < nitems; i++)
	{
		out->items[i] = items[i].item;
		out->cost[i] = items[i].cost;
		out->total += items[i].cost;
	}
}
