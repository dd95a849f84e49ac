/*
 * graph.h
 *		The graph module: a compact CSR snapshot of one tenant's resources and
 *		relationships, its per-backend cache, and the algorithms that run on it.
 *
 * Prototypes are grouped by the file that defines them:
 *
 *	graph_guc.c			settings (ceilings, memory cap, crown-jewel threshold)
 *	graph_snapshot.c	building the CSR by heap scan; lookups
 *	  graph_snapshot_csr.c		the CSR layout and cost classes
 *	  graph_snapshot_what_if.c	what-if snapshots; lazy cost tables
 *	graph_cache.c		per-backend cache, change log and its trigger, graph_stats()
 *	graph_shm.c			the snapshot shared by all backends (dynamic shared memory)
 *	graph_heap.c		the binary heap every search uses
 *	graph_args.c		argument checking shared by the SQL entry points
 *	graph_search.c		best paths (blast radius, exposure), reachability, AND nodes
 *	graph_paths.c		k most likely simple paths (Yen), attack_paths()
 *	  graph_paths_bound.c		the cost-to-go bounds that guide it
 *	graph_chokepoints.c	where most likely paths converge
 *	graph_cut.c			minimum edge cut and node cut (max-flow)
 *	  graph_cut_augment.c		augmenting paths; Dinic on the snapshot
 *	  graph_cut_flat.c			Dinic on a flat copy of the network
 *	graph_sql.c			thin SQL-callable wrappers
 *
 * graph_snapshot.h, graph_paths.h and graph_cut.h are private to their
 * phases.
 *
 * Nodes are dense int32 indices in resource-id order (index i is the i-th
 * smallest resource id), so every tie broken by node index is broken by
 * resource id.  Edges are int32 indices into the forward CSR; within one
 * source they are sorted by (destination, relationship id).
 */
#ifndef CORRELATE_GRAPH_H
#define CORRELATE_GRAPH_H

#include "postgres.h"

#include <math.h>

#include "access/transam.h"
#include "fmgr.h"
#include "storage/dsm.h"
#include "utils/snapshot.h"

/* Node flags. */
#define GRAPH_NODE_INTERNET		0x01	/* kind 'internet': the default source */
#define GRAPH_NODE_AND			0x02	/* props->>'requires' = 'all' */

/* A capacity that cannot be cut. */
#define GRAPH_INF				((double) INFINITY)

/*
 * Path costs are fixed point: -ln(likelihood) in units of 2^-40, as int64.
 * Sums are then exact and associative, so equal paths tie exactly and a
 * cheaper prefix always stays cheaper; one unit is 9e-13, far below any
 * meaningful difference of likelihoods.  Sums saturate below
 * GRAPH_COST_INF (which means "unreached"), a cost no real path reaches
 * (likelihood below e^-8000000).
 */
typedef int64 GraphCost;

#define GRAPH_COST_UNIT			1099511627776.0 /* 2^40 */
#define GRAPH_COST_INF			PG_INT64_MAX

static inline GraphCost
graph_cost_add(GraphCost a, GraphCost b)
{
	if (a == GRAPH_COST_INF || b == GRAPH_COST_INF)
		return GRAPH_COST_INF;
	return (b > GRAPH_COST_INF - 1 - a) ? GRAPH_COST_INF - 1 : a + b;
}

static inline double
graph_cost_value(GraphCost c)
{
	return c == GRAPH_COST_INF ? (double) INFINITY : (double) c / GRAPH_COST_UNIT;
}

typedef struct GraphSnapshot
{
	MemoryContext ctx;			/* owns everything below */
	char	   *tenant;
	bool		attack_layer;	/* edges are attack edges (else relationships) */
	bool		what_if;		/* built for one what-if query, never cached */
	Oid			edge_relid;		/* correlate.attack_edge or correlate.relationship */

	int32		nnodes;
	int32		nedges;

	/* nodes */
	int64	   *node_id;		/* sorted resource ids */
	float4	   *node_crit;		/* criticality */
	uint8	   *node_flags;		/* GRAPH_NODE_* */
	int32		nand;			/* AND nodes, ascending */
	int32	   *and_nodes;
	int32		nnode_cost;		/* resources with a valid props->>'fix_cost' */
	int32	   *node_cost_idx;	/* ascending node indices */
	float8	   *node_cost_val;

	/* forward CSR */
	int32	   *fwd_off;		/* nnodes + 1 */
	int32	   *fwd_dst;
	GraphCost  *fwd_w;			/* -ln(likelihood), fixed point, >= 0; NULL when ... */
	GraphCost  *wtab;			/* ... at most 65536 distinct costs: class -> cost */
	uint16	   *fwd_wc;			/* ... and the class of each edge */
	int32		nwclasses;
	uint16	   *fwd_kind;		/* index into kind_names */
	int64		eid_base;		/* relationship id = eid_base + fwd_eid32[e] ... */
	uint32	   *fwd_eid32;		/* ... when the id range fits 32 bits */
	int64	   *fwd_eid64;		/* ... otherwise the id itself */

	/* reverse CSR */
	int32	   *rev_off;		/* nnodes + 1 */
	int32	   *rev_src;
	int32	   *rev_edge;		/* forward edge index */
	uint16	   *rev_wc;			/* cost class of rev_edge[j] (with wtab), so a
								 * backward search reads costs in order */

	int32		nkinds;
	char	  **kind_names;

	/* loaded on first use (min_cut with cost 'fix_cost') */
	float8	   *edge_cost;

	/*
	 * Scratch for breadth-first searches (graph_search.c), allocated on first
	 * use and reused across calls so that a search costs what it explores,
	 * not the size of the graph: entries are valid where bfs_stamp == bfs_gen.
	 */
	uint32		bfs_gen;
	uint32	   *bfs_stamp;
	int32	   *bfs_level;
	int32	   *bfs_queue;
	int32	   *bfs_and_left;

	/* build statistics */
	int64		skipped_edges;	/* unknown end, self-loop or bad likelihood */
	double		build_ms;
	int64		version;		/* newest change (xid) the snapshot includes */
	Size		shared_bytes;	/* > 0: the arrays live in a shared segment (graph_shm.c) */
} GraphSnapshot;

static inline int64
graph_edge_id(const GraphSnapshot *g, int32 e)
{
	return g->fwd_eid32 ? g->eid_base + (int64) g->fwd_eid32[e] : g->fwd_eid64[e];
}

/* Cost of forward edge e. */
static inline GraphCost
graph_edge_cost(const GraphSnapshot *g, int32 e)
{
	return g->fwd_wc ? g->wtab[g->fwd_wc[e]] : g->fwd_w[e];
}

/* Source node of forward edge e (binary search over fwd_off). */
extern int32 graph_edge_src(const GraphSnapshot *g, int32 e);

/* Per-resource or per-relationship arrays may exceed 1 GB: allocate them "huge". */
#define graph_alloc(n, elem) \
	MemoryContextAllocHuge(CurrentMemoryContext, (Size) Max((int64) (n), 1) * (elem))
#define graph_alloc0(n, elem) \
	MemoryContextAllocExtended(CurrentMemoryContext, (Size) Max((int64) (n), 1) * (elem), \
							   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO)

/* A hint to fetch memory that will soon be read (no-op where unsupported). */
#if defined(__GNUC__) || defined(__clang__)
#define graph_prefetch(p)	__builtin_prefetch(p)
#else
#define graph_prefetch(p)	((void) 0)
#endif

/* Relationship-kind filter: NULL means every kind. */
typedef struct GraphFilter
{
	bool	   *allowed;		/* nkinds entries */
} GraphFilter;

static inline bool
graph_edge_allowed(const GraphSnapshot *g, const GraphFilter *f, int32 e)
{
	return f == NULL || f->allowed[g->fwd_kind[e]];
}

/* graph_guc.c */
extern int	graph_max_memory_kb;
extern int	graph_max_k;
extern int	graph_max_hops;
extern int	graph_max_rows;
extern double crown_jewel_criticality;
extern int	graph_cut_search_budget;
extern int	graph_layer;

#define GRAPH_LAYER_ATTACK	0
#define GRAPH_LAYER_FACTS	1

/* graph_snapshot.c */
extern GraphSnapshot *graph_snapshot_build(const char *tenant, Oid resource_relid,
										   Oid edge_relid, bool attack_layer, MemoryContext ctx);
extern GraphSnapshot *graph_snapshot_build_what_if(const char *tenant, Oid resource_relid,
												   Datum what_if, MemoryContext ctx);
extern void graph_snapshot_load_edge_costs(GraphSnapshot *g, Oid edge_relid);
extern Size graph_snapshot_memory(const GraphSnapshot *g);
extern GraphCost graph_cost_from_likelihood(double l);
extern int32 graph_node_index(const GraphSnapshot *g, int64 id);
extern double graph_node_cost(const GraphSnapshot *g, int32 v);

/* graph_cache.c */
extern GraphSnapshot *graph_acquire(void);
extern GraphSnapshot *graph_acquire_args(FunctionCallInfo fcinfo, int what_if_arg);
extern const char *graph_current_tenant(void);
extern void graph_ensure_edge_costs(GraphSnapshot *g);
extern void graph_cache_drop(void);
extern GraphSnapshot *graph_cache_peek(bool *current, int64 *hits, int64 *rebuilds);

/* graph_shm.c */
extern int	graph_shared_memory_kb;

typedef struct GraphShmKey
{
	Oid			resource;
	Oid			edge;
	Oid			change;
	const char *tenant;
} GraphShmKey;

/* A reference this backend holds on a shared snapshot. */
typedef struct GraphShmHold
{
	int			slot;			/* -1: none */
	uint64		seq;
	dsm_segment *seg;
} GraphShmHold;

typedef enum GraphShmResult
{
	GRAPH_SHM_PRIVATE,			/* build and keep a private snapshot */
	GRAPH_SHM_BUILD,			/* build, then graph_shm_publish() */
	GRAPH_SHM_ATTACHED			/* a shared snapshot was attached */
} GraphShmResult;

/* Would a snapshot built under visibility built (change log from fxmin) serve now? */
typedef bool (*GraphShmValid) (GraphSnapshot *g, const SnapshotData *built,
							   FullTransactionId fxmin, void *arg);

extern void graph_shm_init(void);
extern bool graph_shm_enabled(void);
extern GraphShmResult graph_shm_lookup(const GraphShmKey *key, GraphShmValid valid, void *arg,
									   MemoryContext ctx, GraphSnapshot **g, SnapshotData *built,
									   FullTransactionId *fxmin, GraphShmHold *hold);
extern GraphSnapshot *graph_shm_publish(const GraphShmKey *key, const GraphSnapshot *g,
										const SnapshotData *vis, FullTransactionId fxmin,
										MemoryContext ctx, SnapshotData *built, GraphShmHold *hold);
extern void graph_shm_release(const GraphShmHold *hold);
extern void graph_shm_release_others(const GraphShmHold *keep);
extern void graph_shm_release_all(void);
extern void graph_shm_abort_build(void);

/* graph_heap.c */
typedef struct GraphHeapItem
{
	GraphCost	key;
	int32		hops;
	int32		node;			/* or a label index, for label searches */
} GraphHeapItem;

typedef struct GraphHeap
{
	GraphHeapItem *items;
	int64		size;
	int64		cap;
	/* optional: orders items of equal key and hops (default: by node) */
	int			(*tiebreak) (void *arg, int32 a, int32 b);
	void	   *arg;
} GraphHeap;

extern void graph_heap_init(GraphHeap *h, int64 cap);
extern void graph_heap_push(GraphHeap *h, GraphCost key, int32 hops, int32 node);
extern bool graph_heap_pop(GraphHeap *h, GraphHeapItem *out);
extern void graph_heap_free(GraphHeap *h);

/* graph_args.c */
typedef struct GraphNodeSet
{
	int32	   *nodes;			/* distinct, ascending */
	int32		n;
} GraphNodeSet;

extern void graph_nodes_from_array(const GraphSnapshot *g, Datum arr, bool isnull,
								   const char *argname, GraphNodeSet *out);
extern void graph_default_sources(const GraphSnapshot *g, GraphNodeSet *out);
extern void graph_default_targets(const GraphSnapshot *g, GraphNodeSet *out);
extern GraphFilter *graph_filter_from_array(const GraphSnapshot *g, Datum arr, bool isnull);
extern int	graph_check_hops(const char *fname, bool isnull, int32 hops, bool null_means_unlimited,
							 int32 dflt, int32 min);
extern int	graph_check_k(const char *fname, bool isnull, int32 k);
extern double graph_likelihood(GraphCost cost);

/* graph_search.c */
typedef struct GraphSettled
{
	GraphCost	dist;			/* -ln of the best path likelihood */
	int32		node;
	int32		hops;			/* hops of that path */
} GraphSettled;

typedef struct GraphBest
{
	GraphCost  *dist;			/* per node: best cost; GRAPH_COST_INF if unreached */
	int32	   *via;			/* per reached node: predecessor; -1 for a source */
	int32	   *order;			/* reached nodes, most likely first */
	GraphSettled *settled;		/* the same, with cost and hops */
	int32		norder;
} GraphBest;

extern void graph_best_paths(const GraphSnapshot *g, const GraphNodeSet *sources,
							 const GraphFilter *f, int max_hops, bool reverse,
							 bool and_nodes, GraphBest *out);
extern bool graph_reachable(GraphSnapshot *g, int32 source, int32 target, int max_hops);
extern bool graph_targets_reachable(GraphSnapshot *g, const GraphNodeSet *sources,
									const bool *target, const bool *edge_removed,
									const bool *node_removed);

/* graph_paths.c */
typedef struct GraphPath
{
	GraphCost	cost;			/* sum of effective edge costs */
	int32		start;			/* first node */
	int32		nedges;
	int32	   *edges;			/* forward edge indices */
} GraphPath;

extern int	graph_k_paths(const GraphSnapshot *g, const GraphNodeSet *sources,
						  const GraphNodeSet *targets, int k, int max_hops,
						  const GraphFilter *f, GraphPath **paths);

/* graph_chokepoints.c */
typedef struct GraphChoke
{
	int32		node;			/* -1 for an edge row */
	int32		edge;			/* -1 for a node row */
	double		paths;			/* most likely paths through it */
	double		share;			/* share of the total likelihood through it */
} GraphChoke;

extern int	graph_chokepoints(const GraphSnapshot *g, const GraphNodeSet *sources,
							  const GraphNodeSet *targets, int k, GraphChoke **out);

/* graph_cut.c */
typedef struct GraphCut
{
	int32		n;
	int32	   *items;			/* edge indices (edge cut) or node indices (node cut) */
	double	   *cost;
	double		total;
} GraphCut;

extern void graph_min_cut(GraphSnapshot *g, const GraphNodeSet *sources,
						  const GraphNodeSet *targets, bool fix_cost, bool node_cut,
						  GraphCut *out);

#endif							/* CORRELATE_GRAPH_H */
