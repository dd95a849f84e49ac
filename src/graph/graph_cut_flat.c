/*
 * graph_cut_flat.c
 *		The second max-flow phase of the edge cut (graph_cut.c): Dinic's
 *		algorithm on a flat copy of the part of the graph that matters.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "graph/graph_cut.h"

/*
 * The edge-cut flow network as flat arrays, built once per call for Dinic:
 * only the resources both reachable from a source and able to reach a
 * target take part (renumbered densely), each relationship between two of
 * them becomes an arc and its residual mate (arc a's mate is mate[a]), and
 * the arcs out of a vertex are contiguous.  Residual capacities are integers
 * for unit costs (exact, no epsilon) and doubles for fix_cost.
 */
typedef struct FlatNet
{
	int32		nv;
	int32	   *vof;			/* node -> vertex, -1 if not in the network */
	int32	   *node;			/* vertex -> node */
	bool	   *sink;			/* vertex is a target */
	int32	   *aoff;			/* nv + 1 */
	int32	   *head;			/* arc -> vertex it enters */
	int32	   *mate;
	int32	   *rcap_i;			/* unit: residual capacity */
	double	   *rcap_d;			/* fix_cost: residual capacity */
	double		eps;
	int32	   *starts;			/* vertices of the sources */
	int32		nstarts;
	int32	   *level;
	int32	   *iter;
	int32	   *queue;
	int32	   *vstack;
	int32	   *astack;
} FlatNet;

/*
 * Builds the network from the resources in fl->relevant that the sources
 * reach (a breadth-first search that neither expands targets nor enters
 * sources), with the flow already in fl->eflow (none if NULL).
 */
static void
flat_build(const Flow *fl, const GraphNodeSet *sources, FlatNet *net)
{
	const GraphSnapshot *g = fl->g;
	int32		n = g->nnodes;
	int32		nv = 0;
	int64		narcs = 0;
	int32		head = 0,
				tail = 0;
	int32	   *queue = graph_alloc(n, sizeof(int32));
	int32	   *deg = graph_alloc0(n, sizeof(int32));
	bool	   *enter = graph_alloc(n, sizeof(bool));
	int32	   *pos;

	/* a relationship may enter a resource that can reach a target and is not a source */
	for (int32 v = 0; v < n; v++)
		enter[v] = fl->relevant[v] && !fl->is_source[v];
	net->vof = graph_alloc(n, sizeof(int32));
	memset(net->vof, 0xff, sizeof(int32) * Max(n, 1));
	for (int32 i = 0; i < sources->n; i++)
	{
		int32		s = sources->nodes[i];

		if (!fl->relevant[s] || net->vof[s] >= 0)
			continue;
		net->vof[s] = nv++;
		queue[tail++] = s;
	}
	net->nstarts = tail;

	/*
	 * Every relationship the search looks at from a resource it expands, into
	 * a resource it may enter, is an arc: count them (and their mates) on the
	 * way.  Targets are not expanded: a path ends at the first target.
	 */
	while (head < tail)
	{
		int32		x = head;
		int32		v = queue[head++];

		CHECK_FOR_INTERRUPTS();
		if (fl->is_target[v])
			continue;
		for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
		{
			int32		u = g->fwd_dst[e];

			if (!enter[u])
				continue;
			if (net->vof[u] < 0)
			{
				net->vof[u] = nv++;
				queue[tail++] = u;
			}
			deg[x]++;
			deg[net->vof[u]]++;
			narcs += 2;
		}
	}
	pfree(enter);
	if (narcs > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("min_cut flow network too large"),
				 errdetail("The network has %lld arcs; at most %d are supported.",
						   (long long) narcs, PG_INT32_MAX)));

	/*
	 * Vertices are numbered in discovery order: queue[x] is vertex x, and
	 * the sources come first.  From here on vof maps only the resources a
	 * relationship may enter (not the sources), so that one load decides
	 * whether a relationship becomes an arc.
	 */
	net->nv = nv;
	net->node = queue;
	net->starts = graph_alloc(net->nstarts, sizeof(int32));
	for (int32 i = 0; i < net->nstarts; i++)
	{
		net->starts[i] = i;
		net->vof[queue[i]] = -1;
	}
	net->sink = graph_alloc(nv, sizeof(bool));
	net->aoff = graph_alloc((int64) nv + 1, sizeof(int32));
	net->aoff[0] = 0;
	for (int32 x = 0; x < nv; x++)
	{
		net->sink[x] = fl->is_target[queue[x]];
		net->aoff[x + 1] = net->aoff[x] + deg[x];
	}
	pfree(deg);
	net->head = graph_alloc(narcs, sizeof(int32));
	net->mate = graph_alloc(narcs, sizeof(int32));
	if (fl->ecap)
		net->rcap_d = graph_alloc(narcs, sizeof(double));
	else
		net->rcap_i = graph_alloc(narcs, sizeof(int32));
	pos = graph_alloc(nv, sizeof(int32));
	memcpy(pos, net->aoff, sizeof(int32) * Max(nv, 1));
	for (int32 x = 0; x < nv; x++)
	{
		int32		v = queue[x];

		CHECK_FOR_INTERRUPTS();
		if (net->sink[x])
			continue;
		for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
		{
			int32		y = net->vof[g->fwd_dst[e]];
			int32		a,
						b;
			double		flow;

			if (y < 0)
				continue;
			a = pos[x]++;
			b = pos[y]++;
			net->head[a] = y;
			net->head[b] = x;
			net->mate[a] = b;
			net->mate[b] = a;
			flow = fl->eflow ? fl->eflow[e] : 0;
			if (fl->ecap)
			{
				net->rcap_d[a] = fl->ecap[e] - flow;
				net->rcap_d[b] = flow;
			}
			else
			{
				net->rcap_i[a] = flow > fl->eps ? 0 : 1;
				net->rcap_i[b] = 1 - net->rcap_i[a];
			}
		}
	}
	pfree(pos);
	net->eps = fl->eps;
	net->level = graph_alloc(nv, sizeof(int32));
	net->iter = graph_alloc(nv, sizeof(int32));
	net->queue = graph_alloc(nv, sizeof(int32));
	net->vstack = graph_alloc((int64) nv + 1, sizeof(int32));
	net->astack = graph_alloc((int64) nv + 1, sizeof(int32));
}

static pg_attribute_always_inline bool
flat_open(const FlatNet *net, bool unit, int32 a)
{
	return unit ? net->rcap_i[a] > 0 : net->rcap_d[a] > net->eps;
}

/*
 * Dinic's level graph: breadth-first search of the residual network from the
 * sources, stopping after the level where a sink first appears (sinks are
 * not expanded).  Returns whether a sink was reached.
 */
static pg_attribute_always_inline bool
flat_levels(FlatNet *net, bool unit)
{
	int32		head = 0,
				tail = 0;
	int32		sink_level = PG_INT32_MAX;

	memset(net->level, 0xff, sizeof(int32) * Max(net->nv, 1));
	for (int32 i = 0; i < net->nstarts; i++)
	{
		net->level[net->starts[i]] = 0;
		net->queue[tail++] = net->starts[i];
	}
	while (head < tail)
	{
		int32		x = net->queue[head++];
		int32		lx = net->level[x];

		if ((head & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
		if (net->sink[x])
		{
			sink_level = Min(sink_level, lx);
			continue;
		}
		if (lx >= sink_level)
			break;				/* BFS order: every later vertex is as deep */
		for (int32 a = net->aoff[x]; a < net->aoff[x + 1]; a++)
		{
			int32		y;

			/* capacity first: read in order, and half the arcs are empty mates */
			if (!flat_open(net, unit, a))
				continue;
			y = net->head[a];
			if (net->level[y] >= 0)
				continue;
			net->level[y] = lx + 1;
			net->queue[tail++] = y;
		}
	}
	return sink_level != PG_INT32_MAX;
}

/*
 * Dinic's blocking flow: depth-first search along the level graph with
 * current-arc pointers, iterative; a vertex that leads nowhere leaves the
 * level graph for the rest of the phase.
 */
static pg_attribute_always_inline void
flat_blocking_flow(FlatNet *net, bool unit)
{
	int32	   *level = net->level;
	int32	   *iter = net->iter;
	int32	   *vstack = net->vstack;
	int32	   *astack = net->astack;
	int64		steps = 0;

	memcpy(iter, net->aoff, sizeof(int32) * Max(net->nv, 1));
	for (int32 i = 0; i < net->nstarts; i++)
	{
		int32		depth = 0;

		if (level[net->starts[i]] != 0)
			continue;
		vstack[0] = net->starts[i];
		while (depth >= 0)
		{
			int32		x = vstack[depth];
			int32		end = net->aoff[x + 1];
			int32		a;

			if ((++steps & 0x3ff) == 0)
				CHECK_FOR_INTERRUPTS();
			if (net->sink[x])
			{
				/* augment along astack[0 .. depth-1], then back to the first full arc */
				int32		back = 0;

				if (unit)
				{
					for (int32 k = 0; k < depth; k++)
					{
						net->rcap_i[astack[k]]--;
						net->rcap_i[net->mate[astack[k]]]++;
					}
					for (back = 0; back < depth && net->rcap_i[astack[back]] > 0; back++)
						;
				}
				else
				{
					double		d = GRAPH_INF;

					for (int32 k = 0; k < depth; k++)
						d = Min(d, net->rcap_d[astack[k]]);
					for (int32 k = 0; k < depth; k++)
					{
						net->rcap_d[astack[k]] -= d;
						net->rcap_d[net->mate[astack[k]]] += d;
					}
					for (back = 0; back < depth && net->rcap_d[astack[back]] > net->eps; back++)
						;
				}
				depth = back;
				continue;
			}
			for (a = iter[x]; a < end; a++)
			{
				if (flat_open(net, unit, a) && level[net->head[a]] == level[x] + 1)
					break;
			}
			iter[x] = a;
			if (a < end)
			{
				astack[depth] = a;
				vstack[++depth] = net->head[a];
				continue;
			}
			/* dead end for this phase */
			level[x] = -1;
			if (--depth >= 0)
				iter[vstack[depth]]++;
		}
	}
}

/*
 * Max flow by Dinic on the flat network, from the flow already in fl;
 * leaves fl->level >= 0 on exactly the resources the sources still reach in
 * the residual network (the source side of the cut nearest the sources).
 */
void
cut_flat_dinic(Flow *fl, const GraphNodeSet *sources)
{
	FlatNet		net;
	bool		unit = fl->ecap == NULL;

	memset(&net, 0, sizeof(net));
	flat_build(fl, sources, &net);
	if (unit)
	{
		while (flat_levels(&net, true))
			flat_blocking_flow(&net, true);
	}
	else
	{
		while (flat_levels(&net, false))
			flat_blocking_flow(&net, false);
	}
	/* the last search reached no sink, so it went everywhere it could */
	memset(fl->level, 0xff, sizeof(int32) * Max(fl->nv, 1));
	for (int32 x = 0; x < net.nv; x++)
		if (net.level[x] >= 0)
			fl->level[net.node[x]] = 0;
	pfree(net.vof);
	pfree(net.node);
	pfree(net.starts);
	pfree(net.sink);
	pfree(net.aoff);
	pfree(net.head);
	pfree(net.mate);
	if (net.rcap_i)
		pfree(net.rcap_i);
	if (net.rcap_d)
		pfree(net.rcap_d);
	pfree(net.level);
	pfree(net.iter);
	pfree(net.queue);
	pfree(net.vstack);
	pfree(net.astack);
}
