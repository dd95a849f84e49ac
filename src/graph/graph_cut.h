/*
 * graph_cut.h
 *		The residual network of the minimum cut (graph_cut.c), shared by its
 *		max-flow phases: augmenting paths and Dinic on the snapshot
 *		(graph_cut_augment.c) and Dinic on a flat copy (graph_cut_flat.c).
 *		Private to the graph module.
 */
#ifndef CORRELATE_GRAPH_CUT_H
#define CORRELATE_GRAPH_CUT_H

#include "graph/graph.h"

typedef struct Flow
{
	const GraphSnapshot *g;
	bool		node_cut;
	int32		nv;				/* vertices: n (edge cut) or 2n (node cut) */
	const bool *is_source;
	const bool *is_target;
	const bool *relevant;		/* can reach a target */
	const double *ecap;			/* edge capacity (edge cut); NULL: all 1 */
	double	   *ncap;			/* node capacity (node cut) */
	double	   *eflow;
	double	   *nflow;
	int32	   *nin;			/* per resource: flow-carrying relationships in */
	int32	   *nout;			/* ... and out */
	double		eps;

	/* Dinic */
	int32	   *level;
	int32	   *base_level;		/* -1: may be entered; -2: never (irrelevant, or a source's inner half) */
	int32	   *iter;

	/* bidirectional search, valid where seen == gen */
	uint32		gen;
	uint32	   *seen_f;
	uint32	   *seen_b;
	int32	   *par_f;
	int32	   *arc_f;
	int32	   *par_b;
	int32	   *arc_b;
	int32	   *qf;
	int32	   *qb;
	int64		work;			/* arcs looked at by the searches so far */
} Flow;

static pg_attribute_always_inline int32
start_vertex(const Flow *fl, int32 s)
{
	return fl->node_cut ? 2 * s + 1 : s;
}

static inline int32
sink_vertex(const Flow *fl, int32 t)
{
	return fl->node_cut ? 2 * t : t;
}

static pg_attribute_always_inline bool
is_sink(const Flow *fl, int32 x)
{
	return fl->node_cut ? ((x & 1) == 0 && fl->is_target[x >> 1]) : fl->is_target[x];
}

static inline bool
is_start(const Flow *fl, int32 x)
{
	return fl->node_cut ? ((x & 1) == 1 && fl->is_source[x >> 1]) : fl->is_source[x];
}

static pg_attribute_always_inline bool
arc_forward(const Flow *fl, int32 b, int32 e)
{
	int32		d = fl->g->fwd_dst[e];

	return fl->node_cut ? b == 2 * d : b == d;
}

/* Residual capacity of the arc a -> b (relationship e, or -1: node arc). */
static pg_attribute_always_inline double
arc_res(const Flow *fl, int32 a, int32 b, int32 e)
{
	if (e < 0)
	{
		int32		v = a >> 1;

		return (a & 1) == 0 ? fl->ncap[v] - fl->nflow[v] : fl->nflow[v];
	}
	if (arc_forward(fl, b, e))
		return fl->node_cut ? GRAPH_INF : (fl->ecap ? fl->ecap[e] : 1.0) - fl->eflow[e];
	return fl->eflow[e];
}

static inline void
add_eflow(Flow *fl, int32 e, int32 src, double d)
{
	bool		before = fl->eflow[e] > fl->eps;
	bool		after;

	fl->eflow[e] += d;
	after = fl->eflow[e] > fl->eps;
	if (before != after)
	{
		int32		delta = after ? 1 : -1;

		fl->nin[fl->g->fwd_dst[e]] += delta;
		fl->nout[src] += delta;
	}
}

/* Pushes d along the arc a -> b. */
static inline void
arc_push(Flow *fl, int32 a, int32 b, int32 e, double d)
{
	if (e < 0)
	{
		int32		v = a >> 1;

		fl->nflow[v] += (a & 1) == 0 ? d : -d;
		return;
	}
	/* e runs a -> b, or b -> a for a residual back-arc: its source is known */
	if (arc_forward(fl, b, e))
		add_eflow(fl, e, fl->node_cut ? a >> 1 : a, d);
	else
		add_eflow(fl, e, fl->node_cut ? b >> 1 : b, -d);
}

/*
 * Residual arcs out of x, by index: sets *to (-1 when unusable: leaving the
 * relevant subgraph or entering a source) and *e.  Back-arcs come last and
 * are counted only when the resource carries flow.
 */
static pg_attribute_always_inline int32
out_count(const Flow *fl, int32 x)
{
	const GraphSnapshot *g = fl->g;
	int32		v = fl->node_cut ? x >> 1 : x;
	int32		outdeg = g->fwd_off[v + 1] - g->fwd_off[v];
	int32		indeg = fl->nin[v] > 0 ? g->rev_off[v + 1] - g->rev_off[v] : 0;

	if (!fl->node_cut)
		return outdeg + indeg;
	return (x & 1) ? outdeg + 1 : indeg + 1;
}

static pg_attribute_always_inline void
out_arc_impl(const Flow *fl, int32 x, int32 idx, int32 *to, int32 *e, bool check_relevant)
{
	const GraphSnapshot *g = fl->g;
	int32		v = fl->node_cut ? x >> 1 : x;
	int32		outdeg = g->fwd_off[v + 1] - g->fwd_off[v];

	if (!fl->node_cut || (x & 1))
	{
		if (idx < outdeg)
		{
			int32		u;

			*e = g->fwd_off[v] + idx;
			u = g->fwd_dst[*e];
			if (check_relevant && (!fl->relevant[u] || fl->is_source[u]))
				*to = -1;
			else
				*to = fl->node_cut ? 2 * u : u;
		}
		else if (fl->node_cut)
		{
			*e = -1;			/* v_out -> v_in, back along the node arc */
			*to = x - 1;
		}
		else
		{
			int32		j = g->rev_off[v] + idx - outdeg;

			*e = g->rev_edge[j];
			*to = g->rev_src[j];
		}
		return;
	}
	/* node cut, v_in: the node arc, then back along relationships into v */
	if (idx == 0)
	{
		*e = -1;
		*to = x + 1;
	}
	else
	{
		int32		j = g->rev_off[v] + idx - 1;

		*e = g->rev_edge[j];
		*to = 2 * g->rev_src[j] + 1;
	}
}

static pg_attribute_always_inline void
out_arc(const Flow *fl, int32 x, int32 idx, int32 *to, int32 *e)
{
	out_arc_impl(fl, x, idx, to, e, true);
}

/* out_arc without the relevance test: the caller's level array encodes it. */
static pg_attribute_always_inline void
out_arc_raw(const Flow *fl, int32 x, int32 idx, int32 *to, int32 *e)
{
	out_arc_impl(fl, x, idx, to, e, false);
}

/* Residual arcs into x (y -> x), by index; the mirror of out_arc. */
static pg_attribute_always_inline int32
in_count(const Flow *fl, int32 x)
{
	const GraphSnapshot *g = fl->g;
	int32		v = fl->node_cut ? x >> 1 : x;
	int32		indeg = g->rev_off[v + 1] - g->rev_off[v];
	int32		outdeg = fl->nout[v] > 0 ? g->fwd_off[v + 1] - g->fwd_off[v] : 0;

	if (!fl->node_cut)
		return indeg + outdeg;
	return (x & 1) ? outdeg + 1 : indeg + 1;
}

static pg_attribute_always_inline void
in_arc(const Flow *fl, int32 x, int32 idx, int32 *from, int32 *e)
{
	const GraphSnapshot *g = fl->g;
	int32		v = fl->node_cut ? x >> 1 : x;
	int32		indeg = g->rev_off[v + 1] - g->rev_off[v];

	if (!fl->node_cut || (x & 1) == 0)
	{
		if (idx < indeg)
		{
			int32		j = g->rev_off[v] + idx;
			int32		u = g->rev_src[j];

			*e = g->rev_edge[j];
			*from = fl->relevant[u] ? (fl->node_cut ? 2 * u + 1 : u) : -1;
		}
		else if (fl->node_cut)
		{
			*e = -1;			/* v_out -> v_in, back along the node arc */
			*from = x + 1;
		}
		else
		{
			*e = g->fwd_off[v] + idx - indeg;
			*from = g->fwd_dst[*e];
		}
		return;
	}
	/* node cut, v_out: from v_in by the node arc, then back from relationships out of v */
	if (idx == 0)
	{
		*e = -1;
		*from = x - 1;
	}
	else
	{
		*e = g->fwd_off[v] + idx - 1;
		*from = 2 * g->fwd_dst[*e];
	}
}

/* graph_cut_augment.c */
extern bool cut_augment(Flow *fl, const GraphNodeSet *sources, const GraphNodeSet *targets);
extern bool cut_residual_bfs(Flow *fl, const GraphNodeSet *sources, int32 *queue, bool stop_at_sink);
extern void cut_blocking_flow(Flow *fl, const GraphNodeSet *sources, int32 *stack);

/* graph_cut_flat.c */
extern void cut_flat_dinic(Flow *fl, const GraphNodeSet *sources);

#endif							/* CORRELATE_GRAPH_CUT_H */
