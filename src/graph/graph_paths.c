/*
 * graph_paths.c
 *		The k most likely simple paths from a set of sources to a set of
 *		targets, with a hop limit: Yen's algorithm with Lawler's refinement,
 *		each spur search an A* label-setting search.
 *
 * Model.  A path is a sequence of at least one relationship from a source to
 * a target, visiting no resource twice; parallel relationships make distinct
 * paths.  Its cost is the sum of the edge weights -ln(likelihood), in fixed
 * point (graph.h), so the cheapest path is the most likely and equal sums
 * tie exactly.  Several sources
 * and targets are handled as one virtual source linked to every source and
 * one virtual target linked from every target, so a path may pass through a
 * target on its way to another.  Paths are ranked by (cost, hops, resource
 * ids along the path, relationship ids along the path), a total order, so
 * the output is deterministic.
 *
 * Search.  Every spur search is an A* search over labels (resource, cost,
 * hops), guided by a lower bound b(v, r) on the cost from v to a target in
 * at most r more hops:
 *
 *	 - for r <= BOUND_LAYERS, an exact layered Bellman-Ford from the targets
 *	   (b(v, r) = min over v -> u of w + b(u, r - 1)), stored as float rounded
 *	   down (computed from the stored values), so it stays a consistent
 *	   lower bound; it is infinite where no target is
 *	   within r hops, which prunes every hopeless label at once;
 *	 - beyond, a bound on the cost of v's cheapest path to a target ignoring
 *	   hops: a reverse Dijkstra from the targets, run only as far as the
 *	   searches need (exact where it has settled v, its radius elsewhere,
 *	   infinite if v reaches no target; see init_bound).
 *
 * b is consistent (b(v, r) <= w + b(u, r - 1) on every edge, also across the
 * switch between the two parts) and stays so in Yen's spur graphs, which
 * only remove nodes and edges; so the first target label popped is optimal.
 * The hop limit is exact: a label is dropped only when an earlier settled
 * label at the same resource has no more cost and no more hops (Pareto
 * dominance), so at most max_hops + 1 labels settle per resource; and label
 * paths are simple, since a label revisiting a resource is dominated by its
 * own ancestor.
 *
 * A limit that binds nothing costs nothing: above FREE_FIRST_HOPS, each spur
 * is first searched ignoring hops (one label per resource, the hop-free
 * bound only), and that path is the answer when it fits the limit, since it
 * comes first in path order among all spurs.  Only when it does not are the
 * layered bound built and the Pareto labels used, for that spur and every
 * later one.  So the work with max_hops 64 is that of the unconstrained
 * problem, whatever the limit, as long as the best paths are shorter.
 *
 * AND nodes.  A resource with props->>'requires' = 'all' can only be
 * entered once all its incoming relationships are satisfiable (one of a kind
 * outside the kinds filter never is).  A forward AND/OR evaluation from the
 * sources (graph_search.c) gives each resource its best cost d(v); an AND
 * node all of whose preconditions are reachable is enabled, and entering it
 * by relationship e costs, besides e itself, the best costs of its other
 * preconditions (the sum of d(p) + w over the other incoming relationships).
 * Disabled AND nodes are never entered.  The reported path is the main
 * chain; the side preconditions are folded into path_likelihood.  Exact for
 * that model; approximate when the side preconditions share resources with
 * the chain (they are counted anyway) and because side preconditions ignore
 * the hop limit.
 *
 * Files: graph_paths.h (the search state), graph_paths_bound.c (the bounds),
 * this file (labels, spur searches, Yen's candidate set and the driver).
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "graph/graph_paths.h"


static int32
new_label(Yen *y, GraphCost g, int32 node, int32 parent, int32 edge, int32 hops)
{
	Label	   *l;

	if (y->nlabels >= y->caplabels)
	{
		y->caplabels *= 2;
		y->labels = repalloc_huge(y->labels, sizeof(Label) * y->caplabels);
	}
	l = &y->labels[y->nlabels];
	l->g = g;
	l->node = node;
	l->parent = parent;
	l->edge = edge;
	l->hops = hops;
	l->next = -1;
	return y->nlabels++;
}

/* Collects the labels of l's chain, first label first; returns the count. */
static int32
label_chain(const Yen *y, int32 l, int32 *out)
{
	int32		n = 0;

	for (int32 x = l; x >= 0; x = y->labels[x].parent)
		n++;
	for (int32 i = n - 1, x = l; x >= 0; x = y->labels[x].parent, i--)
		out[i] = x;
	return n;
}

/*
 * Heap tie-break for labels of equal cost and hops: the path order's next
 * criteria, resource ids along the path, then relationship ids.  Equal hops
 * mean equal chain lengths.
 */
static int
label_order(void *arg, int32 a, int32 b)
{
	Yen		   *y = (Yen *) arg;
	int32		na,
				nb;

	/* initial labels (the many sources of a search): their resources */
	if (y->labels[a].parent < 0 && y->labels[b].parent < 0)
		return (y->labels[a].node > y->labels[b].node) - (y->labels[a].node < y->labels[b].node);
	na = label_chain(y, a, y->chain_a);
	nb = label_chain(y, b, y->chain_b);

	for (int32 i = 0; i < Min(na, nb); i++)
	{
		int32		x = y->labels[y->chain_a[i]].node;
		int32		z = y->labels[y->chain_b[i]].node;

		if (x != z)
			return x < z ? -1 : 1;
	}
	for (int32 i = 1; i < Min(na, nb); i++)
	{
		int64		x = graph_edge_id(y->g, y->labels[y->chain_a[i]].edge);
		int64		z = graph_edge_id(y->g, y->labels[y->chain_b[i]].edge);

		if (x != z)
			return x < z ? -1 : 1;
	}
	return (na > nb) - (na < nb);
}

/*
 * Is a label (g, hops) at v dominated by one already settled there?  Without
 * pareto (hops do not matter), any settled label dominates.
 */
static inline bool
dominated(const Yen *y, int32 v, GraphCost g, int32 hops, bool pareto)
{
	if (y->stamp[v] != y->gen)
		return false;
	if (!pareto)
		return y->settled[v] >= 0;
	for (int32 l = y->settled[v]; l >= 0; l = y->labels[l].next)
		if (y->labels[l].g <= g && y->labels[l].hops <= hops)
			return true;
	return false;
}

/* Makes v's per-search state current. */
static inline void
touch(Yen *y, int32 v)
{
	if (y->stamp[v] != y->gen)
	{
		y->stamp[v] = y->gen;
		y->settled[v] = -1;
		y->tent[v] = GRAPH_COST_INF;
		y->tenth[v] = PG_INT32_MAX;
	}
}

/* spur_search's answer when the hop-free bound must reach further first */
#define SPUR_NEED_BOUND (-2)

/*
 * How many labels a search without hops may expand beyond the radius of the
 * hop-free bound (where the bound is weak, and the search is Dijkstra's)
 * before it stops for the bound to be extended (which settles as many nodes
 * again): about as many as the bound has settled, so that neither side does
 * much more work than the other.  Whatever the budget, the answer is the
 * same; only the work differs.
 */
#define BEYOND_BUDGET(y) (8 + (y)->nhset)

/*
 * One spur search: from the initial nodes (cost start_cost, start_hops hops),
 * avoiding blocked nodes, not leaving the spur node by the blocked edges, to
 * the cheapest target label within max_hops.  An initial label may itself
 * end the path only if allow_empty.  Returns the label reached, or -1.
 * Without pareto, it stops with SPUR_NEED_BOUND when it has expanded too
 * many labels at nodes the hop-free bound has not settled (BEYOND_BUDGET),
 * so that the bound be extended first (it must stay fixed during a search);
 * it is exact either way.
 */
static int32
spur_search(Yen *y, const int32 *starts, int32 nstarts, GraphCost start_cost, int32 start_hops,
			const int32 *blocked_edges, int32 nblocked_edges, bool allow_empty, bool pareto)
{
	const GraphSnapshot *g = y->g;
	GraphHeapItem it;
	uint32		gen = y->gen;
	int32		beyond = 0;		/* labels expanded beyond the bound's radius */

	y->nlabels = 0;
	y->heap.size = 0;
	for (int32 i = 0; i < nstarts; i++)
	{
		int32		s = starts[i];
		GraphCost	b = pareto ? bound(y, s, y->max_hops - start_hops) : hfree(y, s);

		if (b == GRAPH_COST_INF)
			continue;
		graph_heap_push(&y->heap, graph_cost_add(start_cost, b), start_hops,
						new_label(y, start_cost, s, -1, -1, start_hops));
	}

	while (graph_heap_pop(&y->heap, &it))
	{
		int32		li = it.node;	/* a label index */
		Label		cur = y->labels[li];
		int32		v = cur.node;

		CHECK_FOR_INTERRUPTS();
		if (dominated(y, v, cur.g, cur.hops, pareto))
			continue;
		if (!pareto && !y->hset[v] && y->hradius != GRAPH_COST_INF &&
			++beyond > BEYOND_BUDGET(y))
			return SPUR_NEED_BOUND;
		touch(y, v);
		y->labels[li].next = y->settled[v];
		y->settled[v] = li;
		if (y->is_target[v] && (cur.parent >= 0 || allow_empty))
			return li;
		if (pareto && cur.hops >= y->max_hops)
			continue;

		for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
		{
			int32		u = g->fwd_dst[e];
			int32		nh = cur.hops + 1;
			GraphCost	w,
						ng,
						b;
			bool		skip = false;

			if (!graph_edge_allowed(g, y->f, e) || y->blocked[u] == gen)
				continue;
			b = pareto ? bound(y, u, y->max_hops - nh) : hfree(y, u);
			if (b == GRAPH_COST_INF)
				continue;		/* no target within the hops left */
			if (cur.parent < 0)
				for (int32 i = 0; i < nblocked_edges && !skip; i++)
					skip = blocked_edges[i] == e;
			if (skip)
				continue;
			w = edge_cost(y, e, u);
			if (w == GRAPH_COST_INF)
				continue;
			ng = graph_cost_add(cur.g, w);
			if (dominated(y, u, ng, nh, pareto))
				continue;
			touch(y, u);
			/*
			 * A queued label is cheaper, or as cheap and (where it matters)
			 * shorter.  Exact ties are queued too: the heap's tie-break
			 * settles the one earlier in path order first.
			 */
			if (pareto ? (y->tent[u] <= ng && y->tenth[u] <= nh &&
						  (y->tent[u] < ng || y->tenth[u] < nh))
				: (y->tent[u] < ng || (y->tent[u] == ng && y->tenth[u] < nh)))
				continue;
			if (ng < y->tent[u] || (ng == y->tent[u] && nh < y->tenth[u]))
			{
				y->tent[u] = ng;
				y->tenth[u] = nh;
			}
			graph_heap_push(&y->heap, graph_cost_add(ng, b), nh, new_label(y, ng, u, li, e, nh));
		}
	}
	return -1;
}

/* Fresh per-search state: a new generation, the root nodes blocked again. */
static void
next_generation(Yen *y)
{
	if (++y->gen == 0)
	{
		/* stamps wrapped: clear them so no old search looks current */
		memset(y->stamp, 0, sizeof(uint32) * Max(y->n, 1));
		memset(y->blocked, 0, sizeof(uint32) * Max(y->n, 1));
		y->gen = 1;
	}
	for (int32 i = 0; i < y->nroot; i++)
		y->blocked[y->root[i]] = y->gen;
}

/*
 * The best spur within the hop limit.  Above FREE_FIRST_HOPS (until a limit
 * has bound once), first search ignoring hops (each resource settled once),
 * extending the hop-free bound (doubling what it settled) whenever the
 * search strays too far beyond it: if that path fits the limit it is
 * optimal, since the unconstrained optimum, first in path order among all
 * spurs, is first among those that fit.  So the work does not depend on a
 * limit that binds nothing.  Otherwise, and always for small limits, search
 * with Pareto labels; the layered bound is built the first time a limit
 * binds, and the hop-free one completed when it is read (limits above
 * BOUND_LAYERS).
 */
static int32
best_spur(Yen *y, const int32 *starts, int32 nstarts, GraphCost start_cost, int32 start_hops,
		  const int32 *blocked_edges, int32 nblocked_edges, bool allow_empty)
{
	if (y->free_first)
	{
		int32		l;

		for (;;)
		{
			l = spur_search(y, starts, nstarts, start_cost, start_hops,
							blocked_edges, nblocked_edges, allow_empty, false);
			if (l != SPUR_NEED_BOUND)
				break;
			yen_extend_bound(y, Max(Max(y->nhset, nstarts), 64));
			next_generation(y);
		}
		if (l < 0 || y->labels[l].hops <= y->max_hops)
			return l;
		/* the limit binds: hop-aware searches from now on */
		y->free_first = false;
		next_generation(y);
		if (y->layer == NULL && y->nlayers > 0)
			yen_compute_layers(y, y->sources, y->targets);
	}
	if (y->max_hops >= y->nlayers && y->hradius != GRAPH_COST_INF)
		yen_extend_bound(y, PG_INT64_MAX);
	return spur_search(y, starts, nstarts, start_cost, start_hops,
					   blocked_edges, nblocked_edges, allow_empty, true);
}

/* Node i of path p (0 = start). */
static inline int32
path_node(const GraphSnapshot *g, const GraphPath *p, int32 i)
{
	return i == 0 ? p->start : g->fwd_dst[p->edges[i - 1]];
}

/* Total order on paths: cost, hops, resource ids, relationship ids. */
static int
path_cmp(const GraphSnapshot *g, const GraphPath *a, const GraphPath *b)
{
	if (a->cost != b->cost)
		return a->cost < b->cost ? -1 : 1;
	if (a->nedges != b->nedges)
		return a->nedges < b->nedges ? -1 : 1;
	for (int32 i = 0; i <= a->nedges; i++)
	{
		int32		x = path_node(g, a, i);
		int32		z = path_node(g, b, i);

		if (x != z)
			return x < z ? -1 : 1;
	}
	for (int32 i = 0; i < a->nedges; i++)
	{
		int64		x = graph_edge_id(g, a->edges[i]);
		int64		z = graph_edge_id(g, b->edges[i]);

		if (x != z)
			return x < z ? -1 : 1;
	}
	return 0;
}

static bool
path_equal(const GraphPath *a, const GraphPath *b)
{
	return a->start == b->start && a->nedges == b->nedges &&
		memcmp(a->edges, b->edges, sizeof(int32) * a->nedges) == 0;
}

static uint32
path_hash(const GraphPath *p)
{
	uint32		h = hash_bytes_uint32((uint32) p->start);

	return hash_combine(h, hash_bytes((const unsigned char *) p->edges, sizeof(int32) * p->nedges));
}

/* A path with the index it deviated from its parent (Lawler). */
typedef struct Cand
{
	GraphPath	path;
	int32		dev;
} Cand;

/* Set of every path generated so far (accepted or candidate). */
typedef struct PathSet
{
	Cand	  **slots;
	uint32		mask;
	uint32		count;
} PathSet;

static bool
pathset_add(PathSet *s, Cand *c)
{
	uint32		i;

	if ((s->count + 1) * 2 > s->mask + 1)
	{
		PathSet		bigger;

		bigger.mask = s->mask * 2 + 1;
		bigger.count = 0;
		bigger.slots = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(Cand *) * (bigger.mask + 1));
		memset(bigger.slots, 0, sizeof(Cand *) * (bigger.mask + 1));
		for (uint32 j = 0; j <= s->mask; j++)
			if (s->slots[j])
				pathset_add(&bigger, s->slots[j]);
		pfree(s->slots);
		*s = bigger;
	}
	for (i = path_hash(&c->path) & s->mask; s->slots[i]; i = (i + 1) & s->mask)
		if (path_equal(&s->slots[i]->path, &c->path))
			return false;
	s->slots[i] = c;
	s->count++;
	return true;
}

/* Candidate min-heap ordered by path_cmp. */
typedef struct CandHeap
{
	Cand	  **items;
	int32		size;
	int32		cap;
} CandHeap;

static void
cand_push(const GraphSnapshot *g, CandHeap *h, Cand *c)
{
	int32		i;

	if (h->size >= h->cap)
	{
		h->cap = Max(h->cap * 2, 64);
		h->items = h->items ? repalloc_huge(h->items, sizeof(Cand *) * h->cap)
			: palloc(sizeof(Cand *) * h->cap);
	}
	for (i = h->size++; i > 0; i = (i - 1) / 2)
	{
		if (path_cmp(g, &c->path, &h->items[(i - 1) / 2]->path) >= 0)
			break;
		h->items[i] = h->items[(i - 1) / 2];
	}
	h->items[i] = c;
}

static Cand *
cand_pop(const GraphSnapshot *g, CandHeap *h)
{
	Cand	   *top,
			   *last;
	int32		i = 0;

	if (h->size == 0)
		return NULL;
	top = h->items[0];
	last = h->items[--h->size];
	for (;;)
	{
		int32		c = 2 * i + 1;

		if (c >= h->size)
			break;
		if (c + 1 < h->size && path_cmp(g, &h->items[c + 1]->path, &h->items[c]->path) < 0)
			c++;
		if (path_cmp(g, &h->items[c]->path, &last->path) >= 0)
			break;
		h->items[i] = h->items[c];
		i = c;
	}
	if (h->size > 0)
		h->items[i] = last;
	return top;
}

/* Builds root (first nroot edges of base) + the search result ending at label. */
static Cand *
make_candidate(Yen *y, const GraphPath *base, int32 nroot, int32 label, int32 dev)
{
	Cand	   *c = palloc(sizeof(Cand));
	int32		nspur = 0;
	int32		l;

	for (l = label; y->labels[l].parent >= 0; l = y->labels[l].parent)
		nspur++;
	c->dev = dev;
	c->path.cost = y->labels[label].g;
	c->path.nedges = nroot + nspur;
	c->path.edges = palloc(sizeof(int32) * Max(c->path.nedges, 1));
	c->path.start = base ? base->start : y->labels[l].node;
	if (nroot > 0)
		memcpy(c->path.edges, base->edges, sizeof(int32) * nroot);
	for (l = label; y->labels[l].parent >= 0; l = y->labels[l].parent)
		c->path.edges[nroot + --nspur] = y->labels[l].edge;
	return c;
}

static bool
same_root(const GraphPath *a, const GraphPath *b, int32 nroot)
{
	return a->start == b->start && a->nedges >= nroot && b->nedges >= nroot &&
		memcmp(a->edges, b->edges, sizeof(int32) * nroot) == 0;
}

int
graph_k_paths(const GraphSnapshot *g, const GraphNodeSet *sources, const GraphNodeSet *targets,
			  int k, int max_hops, const GraphFilter *f, GraphPath **paths)
{
	Yen			y;
	Cand	  **accepted = palloc(sizeof(Cand *) * k);
	int32		naccepted = 0;
	CandHeap	cands = {NULL, 0, 0};
	PathSet		seen;
	int32	   *starts = graph_alloc(sources->n, sizeof(int32));
	int32	   *blocked_edges = palloc(sizeof(int32) * k);
	GraphCost  *cum = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(GraphCost) * ((Size) max_hops + 2));

	*paths = NULL;
	if (sources->n == 0 || targets->n == 0)
		return 0;

	memset(&y, 0, sizeof(y));
	y.g = g;
	y.f = f;
	y.max_hops = max_hops;
	y.n = g->nnodes;
	y.is_source = graph_alloc0(y.n, sizeof(bool));
	y.is_target = graph_alloc0(y.n, sizeof(bool));
	for (int32 i = 0; i < sources->n; i++)
		y.is_source[sources->nodes[i]] = true;
	for (int32 i = 0; i < targets->n; i++)
		y.is_target[targets->nodes[i]] = true;
	/* no layers when the limit cannot bind (a simple path has < n hops) */
	y.nlayers = max_hops >= y.n - 1 ? 0 : Min(max_hops, BOUND_LAYERS) + 1;
	y.sources = sources;
	y.targets = targets;
	y.free_first = max_hops > FREE_FIRST_HOPS;
	if (!y.free_first)
		yen_compute_layers(&y, sources, targets);
	if (max_hops >= y.nlayers || y.free_first)
		yen_init_bound(&y, targets);
	if (g->nand > 0)
	{
		y.use_and = true;
		yen_compute_and(&y, sources);
	}
	y.stamp = graph_alloc(y.n, sizeof(uint32));
	memset(y.stamp, 0, sizeof(uint32) * Max(y.n, 1));
	y.blocked = graph_alloc(y.n, sizeof(uint32));
	memset(y.blocked, 0, sizeof(uint32) * Max(y.n, 1));
	y.settled = graph_alloc(y.n, sizeof(int32));
	y.tent = graph_alloc(y.n, sizeof(GraphCost));
	y.tenth = graph_alloc(y.n, sizeof(int32));
	y.root = graph_alloc((int64) max_hops + 1, sizeof(int32));
	y.chain_a = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * ((Size) Max(max_hops, y.n) + 2));
	y.chain_b = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * ((Size) Max(max_hops, y.n) + 2));
	y.caplabels = 1024;
	y.labels = palloc(sizeof(Label) * y.caplabels);
	graph_heap_init(&y.heap, 1024);
	y.heap.tiebreak = label_order;
	y.heap.arg = &y;
	seen.mask = 1023;
	seen.count = 0;
	seen.slots = palloc0(sizeof(Cand *) * (seen.mask + 1));

	/* The first path: a spur from the virtual source with nothing blocked. */
	y.gen++;
	{
		int32		label = best_spur(&y, sources->nodes, sources->n, 0, 0, NULL, 0, false);

		if (label >= 0)
		{
			Cand	   *c = make_candidate(&y, NULL, 0, label, -1);

			pathset_add(&seen, c);
			cand_push(g, &cands, c);
		}
	}

	while (naccepted < k)
	{
		Cand	   *best = cand_pop(g, &cands);
		const GraphPath *p;

		if (best == NULL)
			break;
		accepted[naccepted++] = best;
		if (naccepted == k)
			break;
		p = &best->path;

		/* prefix costs of the new path, summed in path order */
		cum[0] = 0;
		for (int32 i = 0; i < p->nedges; i++)
			cum[i + 1] = graph_cost_add(cum[i], edge_cost(&y, p->edges[i], g->fwd_dst[p->edges[i]]));

		for (int32 i = best->dev; i <= p->nedges; i++)
		{
			int32		nblocked = 0;
			bool		allow_empty = true;
			int32		label;
			int32		nstarts = 0;

			CHECK_FOR_INTERRUPTS();
			y.nroot = 0;
			next_generation(&y);

			if (i < 0)
			{
				/* change the source: every source an accepted path used is blocked */
				for (int32 s = 0; s < sources->n; s++)
				{
					bool		used = false;

					for (int32 a = 0; a < naccepted && !used; a++)
						used = accepted[a]->path.start == sources->nodes[s];
					if (!used)
						starts[nstarts++] = sources->nodes[s];
				}
				y.nroot = 0;
				label = best_spur(&y, starts, nstarts, 0, 0, NULL, 0, false);
				if (label >= 0)
				{
					Cand	   *c = make_candidate(&y, NULL, 0, label, -1);

					if (pathset_add(&seen, c))
						cand_push(g, &cands, c);
				}
				continue;
			}

			if (i >= max_hops)
				break;
			if (i == p->nedges && targets->n == 1)
				break;			/* a path cannot go on from the only target */
			y.nroot = i;
			for (int32 r = 0; r < i; r++)
				y.blocked[y.root[r] = path_node(g, p, r)] = y.gen;
			for (int32 a = 0; a < naccepted; a++)
			{
				const GraphPath *q = &accepted[a]->path;

				if (!same_root(q, p, i))
					continue;
				if (q->nedges > i)
					blocked_edges[nblocked++] = q->edges[i];
				else
					allow_empty = false;
			}
			if (i == 0)
				allow_empty = false;	/* a path needs a relationship */
			starts[0] = path_node(g, p, i);
			label = best_spur(&y, starts, 1, cum[i], i, blocked_edges, nblocked, allow_empty);
			if (label >= 0)
			{
				Cand	   *c = make_candidate(&y, p, i, label, i);

				if (pathset_add(&seen, c))
					cand_push(g, &cands, c);
			}
		}
	}

	graph_heap_free(&y.heap);
	if (y.h)
		graph_heap_free(&y.rheap);
	*paths = palloc(sizeof(GraphPath) * Max(naccepted, 1));
	for (int32 i = 0; i < naccepted; i++)
		(*paths)[i] = accepted[i]->path;
	return naccepted;
}
