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
static bool
augment(Flow *fl, const GraphNodeSet *sources, const GraphNodeSet *targets)
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
static bool
residual_bfs(Flow *fl, const GraphNodeSet *sources, int32 *queue, bool stop_at_sink)
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
static void
blocking_flow(Flow *fl, const GraphNodeSet *sources, int32 *stack)
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
static void
flat_dinic(Flow *fl, const GraphNodeSet *sources)
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
	while (fl->work <= budget && augment(fl, sources, targets))
		;
	if (fl->work > budget && !fl->node_cut)
		flat_dinic(fl, sources);
	else if (fl->work > budget)
	{
		while (residual_bfs(fl, sources, queue, true))
			blocking_flow(fl, sources, queue);
		/* the last search reached no sink, so it went everywhere it could */
	}
	else
		residual_bfs(fl, sources, queue, false);
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
		flat_dinic(&fl, sources);
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
