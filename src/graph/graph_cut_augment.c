/*
 * graph_cut_augment.c
 *		The first max-flow phase of the minimum cut (graph_cut.c): augmenting
 *		paths by bidirectional breadth-first search on the snapshot itself,
 *		and Dinic's level graph and blocking flow on the same residual network
 *		(used for the node cut).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "graph/graph_cut.h"

static void
no_node_cut(const Flow *fl, int32 s, int32 t)
{
	const GraphSnapshot *g = fl->g;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("no node cut separates source %lld from target %lld",
					(long long) g->node_id[s], (long long) g->node_id[t]),
			 errdetail("Resource %lld links directly to resource %lld; sources and targets themselves cannot be cut.",
					   (long long) g->node_id[s], (long long) g->node_id[t]),
			 errhint("Use correlate.min_cut() to cut the relationship instead.")));
}

static void
next_generation(Flow *fl)
{
	if (++fl->gen == 0)
	{
		memset(fl->seen_f, 0, sizeof(uint32) * Max(fl->nv, 1));
		memset(fl->seen_b, 0, sizeof(uint32) * Max(fl->nv, 1));
		fl->gen = 1;
	}
}

/*
 * Finds one augmenting path by bidirectional breadth-first search and pushes
 * its bottleneck.  Returns false when no path is left.
 */
bool
cut_augment(Flow *fl, const GraphNodeSet *sources, const GraphNodeSet *targets)
{
	uint32		gen;
	int32		nf = 0,
				nb = 0,
				hf = 0,
				hb = 0,
				endf,
				endb;
	int32		meet = -1;
	double		d = GRAPH_INF;

	next_generation(fl);
	gen = fl->gen;
	for (int32 i = 0; i < sources->n; i++)
	{
		int32		x = start_vertex(fl, sources->nodes[i]);

		if (!fl->relevant[sources->nodes[i]])
			continue;
		fl->seen_f[x] = gen;
		fl->par_f[x] = -1;
		fl->qf[nf++] = x;
	}
	for (int32 i = 0; i < targets->n; i++)
	{
		int32		x = sink_vertex(fl, targets->nodes[i]);

		fl->seen_b[x] = gen;
		fl->par_b[x] = -1;
		fl->qb[nb++] = x;
	}
	endf = nf;
	endb = nb;

	while (meet < 0 && hf < nf && hb < nb)
	{
		CHECK_FOR_INTERRUPTS();
		if (nf - hf <= nb - hb)
		{
			/* one level forward from the sources */
			for (; hf < endf && meet < 0; hf++)
			{
				int32		x = fl->qf[hf];
				int32		narcs = out_count(fl, x);

				fl->work += narcs;
				for (int32 idx = 0; idx < narcs; idx++)
				{
					int32		y,
								e;

					out_arc(fl, x, idx, &y, &e);
					if (y < 0 || fl->seen_f[y] == gen || arc_res(fl, x, y, e) <= fl->eps)
						continue;
					fl->seen_f[y] = gen;
					fl->par_f[y] = x;
					fl->arc_f[y] = e;
					if (fl->seen_b[y] == gen)
					{
						meet = y;
						break;
					}
					fl->qf[nf++] = y;
				}
			}
			endf = nf;
		}
		else
		{
			/* one level backward from the targets */
			for (; hb < endb && meet < 0; hb++)
			{
				int32		x = fl->qb[hb];
				int32		narcs;

				if (is_start(fl, x))
					continue;
				narcs = in_count(fl, x);
				fl->work += narcs;
				for (int32 idx = 0; idx < narcs; idx++)
				{
					int32		y,
								e;

					in_arc(fl, x, idx, &y, &e);
					if (y < 0 || fl->seen_b[y] == gen || is_sink(fl, y) ||
						arc_res(fl, y, x, e) <= fl->eps)
						continue;
					fl->seen_b[y] = gen;
					fl->par_b[y] = x;
					fl->arc_b[y] = e;
					if (fl->seen_f[y] == gen)
					{
						meet = y;
						break;
					}
					fl->qb[nb++] = y;
				}
			}
			endb = nb;
		}
	}
	if (meet < 0)
		return false;

	for (int32 y = meet; fl->par_f[y] >= 0; y = fl->par_f[y])
		d = Min(d, arc_res(fl, fl->par_f[y], y, fl->arc_f[y]));
	for (int32 y = meet; fl->par_b[y] >= 0; y = fl->par_b[y])
		d = Min(d, arc_res(fl, y, fl->par_b[y], fl->arc_b[y]));
	if (isinf(d))
	{
		int32		s = meet,
					t = meet;

		while (fl->par_f[s] >= 0)
			s = fl->par_f[s];
		while (fl->par_b[t] >= 0)
			t = fl->par_b[t];
		no_node_cut(fl, s >> 1, t >> 1);
	}
	for (int32 y = meet; fl->par_f[y] >= 0; y = fl->par_f[y])
		arc_push(fl, fl->par_f[y], y, fl->arc_f[y], d);
	for (int32 y = meet; fl->par_b[y] >= 0; y = fl->par_b[y])
		arc_push(fl, y, fl->par_b[y], fl->arc_b[y], d);
	return true;
}

/*
 * Breadth-first search of the residual network from the sources.  With
 * stop_at_sink, stops after the level where a sink appears (Dinic's level
 * graph); returns whether a sink was reached.  level >= 0 marks the vertices
 * reached; sinks are not expanded.
 */
bool
cut_residual_bfs(Flow *fl, const GraphNodeSet *sources, int32 *queue, bool stop_at_sink)
{
	int32		head = 0,
				tail = 0;
	int32		sink_level = PG_INT32_MAX;

	memcpy(fl->level, fl->base_level, sizeof(int32) * Max(fl->nv, 1));
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
			sink_level = Min(sink_level, fl->level[x]);
			continue;
		}
		if (stop_at_sink && fl->level[x] >= sink_level)
			continue;
		narcs = out_count(fl, x);
		for (int32 idx = 0; idx < narcs; idx++)
		{
			int32		to,
						e;

			out_arc_raw(fl, x, idx, &to, &e);
			if (fl->level[to] != -1 || arc_res(fl, x, to, e) <= fl->eps)
				continue;
			fl->level[to] = fl->level[x] + 1;
			queue[tail++] = to;
		}
	}
	return sink_level != PG_INT32_MAX;
}

/* Dinic: pushes a blocking flow through the level graph. */
void
cut_blocking_flow(Flow *fl, const GraphNodeSet *sources, int32 *stack)
{
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
			bool		advanced = false;

			CHECK_FOR_INTERRUPTS();
			if (is_sink(fl, x))
			{
				double		d = GRAPH_INF;
				int32		back = 0;
				int32		to,
							e;

				for (int32 i = 0; i < depth; i++)
				{
					out_arc_raw(fl, stack[i], fl->iter[stack[i]], &to, &e);
					d = Min(d, arc_res(fl, stack[i], to, e));
				}
				if (isinf(d))
					no_node_cut(fl, x0 >> 1, x >> 1);
				for (int32 i = 0; i < depth; i++)
				{
					out_arc_raw(fl, stack[i], fl->iter[stack[i]], &to, &e);
					arc_push(fl, stack[i], to, e, d);
				}
				/* retreat to the tail of the first saturated arc */
				for (int32 i = 0; i < depth; i++)
				{
					out_arc_raw(fl, stack[i], fl->iter[stack[i]], &to, &e);
					if (arc_res(fl, stack[i], to, e) <= fl->eps)
					{
						back = i;
						break;
					}
				}
				depth = back;
				continue;
			}
			while (fl->iter[x] < out_count(fl, x))
			{
				int32		to,
							e;

				out_arc_raw(fl, x, fl->iter[x], &to, &e);
				if (fl->level[to] == fl->level[x] + 1 && arc_res(fl, x, to, e) > fl->eps)
				{
					stack[++depth] = to;
					advanced = true;
					break;
				}
				fl->iter[x]++;
			}
			if (!advanced)
			{
				fl->level[x] = -3;	/* dead end for this phase */
				if (--depth >= 0)
					fl->iter[stack[depth]]++;
			}
		}
	}
}

