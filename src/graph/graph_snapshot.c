/*
 * graph_snapshot.c
 *		Builds the CSR snapshot of one tenant's graph by scanning the heaps of
 *		correlate.resource and of the edge table of the layer walked:
 *		correlate.attack_edge (technique as the kind, because->>'fix_cost') or
 *		correlate.relationship (kind, props->>'fix_cost').  A what-if snapshot
 *		takes its edges from correlate.attack_edges_derived(what_if) through
 *		SPI instead, and is never cached (graph_snapshot_build_what_if).
 *
 * The scans use the active MVCC snapshot, so the graph is exactly what a
 * SELECT in this statement would see, including the transaction's own
 * uncommitted rows.  Heap scans bypass row level security; every row is
 * checked against the tenant instead (the caller obtained the tenant from
 * correlate.current_tenant(), which checks the role's grant).
 *
 * Layout (see graph.h): resources sorted by id become nodes 0..n-1; each
 * relationship becomes one forward edge (destination, weight -ln(likelihood),
 * kind, relationship id) and one reverse entry (source, forward edge index).
 * Weights are 2-byte classes into a table of the distinct costs, stored in
 * both directions, when the tenant has at most 65536 distinct costs (see
 * compress_costs), else 8-byte costs.  That is 22 bytes per relationship
 * (26 with more distinct costs, 4 more when relationship ids of the tenant
 * span more than 2^32) and 21 bytes per resource.
 *
 * The data is never trusted: a relationship whose end is not a resource of
 * the tenant, a self-loop, or a likelihood outside (0,1] (NaN included) is
 * skipped and counted, never an error, so one bad row cannot make the graph
 * unusable.  Self-loops are dropped because no simple path, cut or
 * precondition can use them.
 *
 * Building runs in two memory contexts: the snapshot's own (which the cache
 * re-parents under TopMemoryContext once the build succeeds) and a scratch
 * context for the scan arrays, deleted before returning.  An error anywhere
 * frees both with the transaction.
 *
 * Files: graph_snapshot.h (shared pieces), this file (the scans, the build,
 * lookups), graph_snapshot_csr.c (both CSRs and the cost classes),
 * graph_snapshot_what_if.c (what-if snapshots, relationship fix costs).
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "graph/graph_snapshot.h"


#define NODE_BYTES	(sizeof(int64) + sizeof(float4) + sizeof(uint8) + 2 * sizeof(int32))
/* the smallest layout (cost classes), so that check_memory() is a lower bound */
#define EDGE_BYTES	(sizeof(int32) + 2 * sizeof(uint16) + sizeof(uint16) + sizeof(uint32) + 2 * sizeof(int32))


AttrNumber
snap_column(Oid relid, const char *name, Oid typid)
{
	AttrNumber	att = get_attnum(relid, name);

	if (att == InvalidAttrNumber || get_atttype(relid, att) != typid)
		elog(ERROR, "column \"%s\" of relation %u is missing or has an unexpected type", name, relid);
	return att;
}

/* Does text datum d equal the string s of length len? */
bool
snap_text_matches(Datum d, const char *s, int len)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	bool		eq;

	if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
	{
		struct varlena *t = pg_detoast_datum_packed(v);

		eq = VARSIZE_ANY_EXHDR(t) == (Size) len && memcmp(VARDATA_ANY(t), s, len) == 0;
		if (t != v)
			pfree(t);
		return eq;
	}
	return VARSIZE_ANY_EXHDR(v) == (Size) len && memcmp(VARDATA_ANY(v), s, len) == 0;
}

/* An empty jsonb object ('{}') needs no detoasting to recognise. */
bool
snap_jsonb_is_empty(Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	return !VARATT_IS_EXTENDED(v) || VARATT_IS_SHORT(v) ?
		VARSIZE_ANY_EXHDR(v) <= sizeof(uint32) : false;
}

/*
 * Reads a non-negative finite cost from a jsonb number or numeric string.
 * Anything else (absent, negative, NaN, infinite, text) is "no cost".
 */
bool
snap_jsonb_cost(JsonbValue *v, double *out)
{
	char	   *s;
	char	   *end;
	double		d;

	if (v->type == jbvNumeric)
		s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	else if (v->type == jbvString)
		s = pnstrdup(v->val.string.val, v->val.string.len);
	else
		return false;
	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || isnan(d) || isinf(d) || d < 0)
		return false;
	*out = d;
	return true;
}

bool
snap_jsonb_get(Jsonb *jb, const char *key, JsonbValue *out)
{
	return getKeyJsonValueFromContainer(&jb->root, key, strlen(key), out) != NULL;
}

void
snap_check_memory(int64 nodes, int64 edges, const char *tenant)
{
	Size		need = nodes * NODE_BYTES + edges * EDGE_BYTES;

	if (need / 1024 > (Size) graph_max_memory_kb)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("graph snapshot of tenant \"%s\" exceeds correlate.graph_max_memory", tenant),
				 errdetail("%lld resources and at least %lld relationships need at least %zu kB; the limit is %d kB.",
						   (long long) nodes, (long long) edges, need / 1024, graph_max_memory_kb),
				 errhint("Raise correlate.graph_max_memory (superuser), or split the estate into tenants.")));
}

void *
snap_grow(void *p, int64 *cap, int64 need, Size elem)
{
	int64		ncap;

	if (need <= *cap)
		return p;
	ncap = Max(need, Max(*cap * 2, 1024));
	p = p ? repalloc_huge(p, ncap * elem) : MemoryContextAllocHuge(CurrentMemoryContext, ncap * elem);
	*cap = ncap;
	return p;
}

/* Orders ScanNode or IdCost entries by id (both start with their int64 id). */
static int
leading_id_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	StaticAssertStmt(offsetof(ScanNode, id) == 0 && offsetof(IdCost, id) == 0,
					 "leading_id_cmp needs the id first");
	return (x > y) - (x < y);
}

static void
idmap_build(IdMap *m, const int64 *ids, int32 n)
{
	memset(m, 0, sizeof(*m));
	if (n == 0)
		return;
	m->base = ids[0];
	m->range = ids[n - 1] - ids[0] + 1;
	if (m->range > 0 && m->range <= 4 * (int64) n + 1024)
	{
		m->direct = MemoryContextAllocHuge(CurrentMemoryContext, m->range * sizeof(int32));
		memset(m->direct, 0xff, m->range * sizeof(int32));
		for (int32 i = 0; i < n; i++)
			m->direct[ids[i] - m->base] = i;
	}
	else
	{
		uint64		cap = 1024;

		while (cap < (uint64) n * 2)
			cap <<= 1;
		m->mask = cap - 1;
		m->keys = MemoryContextAllocHuge(CurrentMemoryContext, cap * sizeof(int64));
		m->vals = MemoryContextAllocHuge(CurrentMemoryContext, cap * sizeof(int32));
		memset(m->vals, 0xff, cap * sizeof(int32));
		for (int32 i = 0; i < n; i++)
		{
			uint64		h = hash_bytes_uint32((uint32) ids[i]) ^ (uint64) (ids[i] >> 32);

			for (h &= m->mask; m->vals[h] >= 0; h = (h + 1) & m->mask)
				;
			m->keys[h] = ids[i];
			m->vals[h] = i;
		}
	}
}


int32
snap_kind_intern(KindMap *km, Datum d)
{
	struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
	const char *s = VARDATA_ANY(v);
	int			len = VARSIZE_ANY_EXHDR(v);
	uint32		h = hash_bytes((const unsigned char *) s, len) & (KIND_SLOTS - 1);

	for (;; h = (h + 1) & (KIND_SLOTS - 1))
	{
		int32		k = km->slot[h] - 1;

		if (k < 0)
			break;
		if (km->lens[k] == len && memcmp(km->names[k], s, len) == 0)
			return k;
	}
	if (km->nkinds >= KIND_SLOTS / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many relationship kinds for a graph snapshot"),
				 errdetail("A snapshot holds at most %d distinct relationship kinds.", KIND_SLOTS / 2)));
	km->names[km->nkinds] = pnstrdup(s, len);
	km->lens[km->nkinds] = len;
	km->slot[h] = km->nkinds + 1;
	return km->nkinds++;
}


static int64
reltuples_hint(Relation rel)
{
	double		t = rel->rd_rel->reltuples;

	/* reltuples counts every tenant: trust it only up to a modest size */
	return (t > 1024) ? (int64) Min(t, (double) (1 << 22)) : 1024;
}

/* The fixed-point cost -ln(l) of a likelihood in (0,1]. */
GraphCost
graph_cost_from_likelihood(double l)
{
	double		c = l >= 1.0 ? 0.0 : -log(l) * GRAPH_COST_UNIT;

	return (GraphCost) llround(Min(c, 9.0e18));
}

/* Scans correlate.resource; fills the node arrays of g.  Returns the id map in *map. */
void
snap_scan_resources(GraphSnapshot *g, Oid relid, IdMap *map, MemoryContext scratch)
{
	int			tlen = strlen(g->tenant);
	Relation	rel = table_open(relid, AccessShareLock);
	AttrNumber	a_tenant = snap_column(relid, "tenant", TEXTOID);
	AttrNumber	a_id = snap_column(relid, "id", INT8OID);
	AttrNumber	a_kind = snap_column(relid, "kind", TEXTOID);
	AttrNumber	a_props = snap_column(relid, "props", JSONBOID);
	AttrNumber	a_crit = snap_column(relid, "criticality", FLOAT4OID);
	int			natts = Max(Max(Max(a_tenant, a_id), Max(a_kind, a_props)), a_crit);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	MemoryContext rowcxt = AllocSetContextCreate(scratch, "graph resource row", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(scratch);
	ScanNode   *nodes = NULL;
	int64		cap = 0;
	int64		n = 0;
	IdCost	   *costs = NULL;
	int64		ccap = 0;
	int64		nc = 0;
	int32		nand = 0;

	nodes = snap_grow(nodes, &cap, reltuples_hint(rel), sizeof(ScanNode));
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *vals;
		bool	   *nulls;
		ScanNode   *nd;

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, natts);
		vals = slot->tts_values;
		nulls = slot->tts_isnull;
		if (nulls[a_tenant - 1] || nulls[a_id - 1] || !snap_text_matches(vals[a_tenant - 1], g->tenant, tlen))
			continue;
		if (n >= INT32_MAX - 1)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("tenant \"%s\" has too many resources for a graph snapshot", g->tenant)));
		if (n >= cap)
		{
			snap_check_memory(n + 1, 0, g->tenant);
			nodes = snap_grow(nodes, &cap, n + 1, sizeof(ScanNode));
		}
		nd = &nodes[n++];
		nd->id = DatumGetInt64(vals[a_id - 1]);
		nd->crit = nulls[a_crit - 1] ? 0 : DatumGetFloat4(vals[a_crit - 1]);
		if (isnan(nd->crit))
			nd->crit = 0;
		nd->flags = 0;
		if (!nulls[a_kind - 1] && snap_text_matches(vals[a_kind - 1], "internet", 8))
			nd->flags |= GRAPH_NODE_INTERNET;
		if (!nulls[a_props - 1] && !snap_jsonb_is_empty(vals[a_props - 1]))
		{
			MemoryContext o = MemoryContextSwitchTo(rowcxt);
			Jsonb	   *jb = DatumGetJsonbP(vals[a_props - 1]);
			JsonbValue	v;
			double		c;

			if (JB_ROOT_IS_OBJECT(jb))
			{
				if (snap_jsonb_get(jb, "requires", &v) && v.type == jbvString &&
					v.val.string.len == 3 && pg_strncasecmp(v.val.string.val, "all", 3) == 0)
				{
					nd->flags |= GRAPH_NODE_AND;
					nand++;
				}
				if (snap_jsonb_get(jb, "fix_cost", &v) && snap_jsonb_cost(&v, &c))
				{
					MemoryContextSwitchTo(scratch);
					costs = snap_grow(costs, &ccap, nc + 1, sizeof(IdCost));
					costs[nc].id = nd->id;
					costs[nc++].cost = c;
				}
			}
			MemoryContextSwitchTo(o);
			MemoryContextReset(rowcxt);
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, NoLock);

	/* Heap order is usually id order; sort only when it is not. */
	for (int64 i = 1; i < n; i++)
		if (nodes[i - 1].id >= nodes[i].id)
		{
			qsort(nodes, n, sizeof(ScanNode), leading_id_cmp);
			break;
		}

	MemoryContextSwitchTo(g->ctx);
	g->nnodes = n;
	g->node_id = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(int64));
	g->node_crit = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(float4));
	g->node_flags = MemoryContextAllocHuge(g->ctx, Max(n, 1) * sizeof(uint8));
	g->and_nodes = graph_alloc(nand, sizeof(int32));
	g->nand = 0;
	for (int64 i = 0; i < n; i++)
	{
		g->node_id[i] = nodes[i].id;
		g->node_crit[i] = nodes[i].crit;
		g->node_flags[i] = nodes[i].flags;
		if (nodes[i].flags & GRAPH_NODE_AND)
			g->and_nodes[g->nand++] = i;
	}
	g->node_cost_idx = graph_alloc(nc, sizeof(int32));
	g->node_cost_val = graph_alloc(nc, sizeof(float8));
	g->nnode_cost = 0;
	MemoryContextSwitchTo(scratch);
	pfree(nodes);

	idmap_build(map, g->node_id, g->nnodes);
	/*
	 * Node indexes follow id order, so costs sorted by id give node_cost_idx
	 * ascending (they come in heap order, like the nodes: sort only if need be).
	 */
	for (int64 i = 1; i < nc; i++)
		if (costs[i - 1].id >= costs[i].id)
		{
			qsort(costs, nc, sizeof(IdCost), leading_id_cmp);
			break;
		}
	for (int64 i = 0; i < nc; i++)
	{
		int32		v = idmap_get(map, costs[i].id);

		CHECK_FOR_INTERRUPTS();
		if (v < 0)
			continue;
		g->node_cost_idx[g->nnode_cost] = v;
		g->node_cost_val[g->nnode_cost] = costs[i].cost;
		g->nnode_cost++;
	}
	MemoryContextSwitchTo(old);
}


/* Scans correlate.relationship (or correlate.attack_edge) and builds both CSRs. */
static void
scan_relationships(GraphSnapshot *g, Oid relid, const IdMap *map, MemoryContext scratch)
{
	int			tlen = strlen(g->tenant);
	Relation	rel = table_open(relid, AccessShareLock);
	AttrNumber	a_tenant = snap_column(relid, "tenant", TEXTOID);
	AttrNumber	a_id = snap_column(relid, "id", INT8OID);
	AttrNumber	a_src = snap_column(relid, "src", INT8OID);
	AttrNumber	a_dst = snap_column(relid, "dst", INT8OID);
	AttrNumber	a_kind = snap_column(relid, g->attack_layer ? "technique" : "kind", TEXTOID);
	AttrNumber	a_lk = snap_column(relid, "likelihood", FLOAT8OID);
	int			natts = Max(Max(Max(a_tenant, a_id), Max(a_src, a_dst)), Max(a_kind, a_lk));
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	MemoryContext old = MemoryContextSwitchTo(scratch);
	KindMap    *km = palloc0(sizeof(KindMap));
	int32	   *src = NULL,
			   *dst = NULL;
	int64	   *eid = NULL;
	GraphCost  *w = NULL;
	uint16	   *kind = NULL;
	int64		cap;
	int64		m = 0;
	int32		n = g->nnodes;
	int64		emin = PG_INT64_MAX,
				emax = PG_INT64_MIN;

	km->names = palloc(sizeof(char *) * KIND_SLOTS);
	km->lens = palloc(sizeof(int32) * KIND_SLOTS);

	cap = reltuples_hint(rel);
	snap_check_memory(n, 0, g->tenant);
	src = MemoryContextAllocHuge(scratch, cap * sizeof(int32));
	dst = MemoryContextAllocHuge(scratch, cap * sizeof(int32));
	eid = MemoryContextAllocHuge(scratch, cap * sizeof(int64));
	w = MemoryContextAllocHuge(scratch, cap * sizeof(GraphCost));
	kind = MemoryContextAllocHuge(scratch, cap * sizeof(uint16));

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *vals;
		bool	   *nulls;
		int32		s,
					d;
		double		lk;

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, natts);
		vals = slot->tts_values;
		nulls = slot->tts_isnull;
		if (nulls[a_tenant - 1] || !snap_text_matches(vals[a_tenant - 1], g->tenant, tlen))
			continue;
		if (nulls[a_id - 1] || nulls[a_src - 1] || nulls[a_dst - 1] || nulls[a_kind - 1] || nulls[a_lk - 1])
		{
			g->skipped_edges++;
			continue;
		}
		s = idmap_get(map, DatumGetInt64(vals[a_src - 1]));
		d = idmap_get(map, DatumGetInt64(vals[a_dst - 1]));
		lk = DatumGetFloat8(vals[a_lk - 1]);
		if (s < 0 || d < 0 || s == d || !(lk > 0.0 && lk <= 1.0))
		{
			g->skipped_edges++;
			continue;
		}
		if (m >= INT32_MAX - 1)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("tenant \"%s\" has too many relationships for a graph snapshot", g->tenant)));
		if (m >= cap)
		{
			/* grow by half: the scan arrays are the build's peak memory */
			int64		ncap = Min(cap + cap / 2 + 1024, (int64) INT32_MAX);

			snap_check_memory(n, m + 1, g->tenant);
			src = repalloc_huge(src, ncap * sizeof(int32));
			dst = repalloc_huge(dst, ncap * sizeof(int32));
			eid = repalloc_huge(eid, ncap * sizeof(int64));
			w = repalloc_huge(w, ncap * sizeof(GraphCost));
			kind = repalloc_huge(kind, ncap * sizeof(uint16));
			cap = ncap;
		}
		src[m] = s;
		dst[m] = d;
		eid[m] = DatumGetInt64(vals[a_id - 1]);
		emin = Min(emin, eid[m]);
		emax = Max(emax, eid[m]);
		w[m] = graph_cost_from_likelihood(lk);
		kind[m] = (uint16) snap_kind_intern(km, vals[a_kind - 1]);
		m++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, NoLock);
	snap_check_memory(n, m, g->tenant);
	snap_build_csr(g, km, src, dst, eid, w, kind, m, emin, emax, scratch);
	MemoryContextSwitchTo(old);
}


GraphSnapshot *
graph_snapshot_build(const char *tenant, Oid resource_relid, Oid relationship_relid, bool attack_layer,
					 MemoryContext ctx)
{
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "correlate graph build",
												  ALLOCSET_DEFAULT_SIZES);
	GraphSnapshot *g = MemoryContextAllocZero(ctx, sizeof(GraphSnapshot));
	IdMap		map;
	instr_time	start,
				dur;

	INSTR_TIME_SET_CURRENT(start);
	g->ctx = ctx;
	g->tenant = MemoryContextStrdup(ctx, tenant);
	g->attack_layer = attack_layer;
	g->edge_relid = relationship_relid;
	snap_scan_resources(g, resource_relid, &map, scratch);
	scan_relationships(g, relationship_relid, &map, scratch);
	MemoryContextDelete(scratch);
	if (graph_snapshot_memory(g) / 1024 > (Size) graph_max_memory_kb)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("graph snapshot of tenant \"%s\" exceeds correlate.graph_max_memory", tenant),
				 errdetail("%d resources and %d relationships take %zu kB; the limit is %d kB.",
						   g->nnodes, g->nedges, graph_snapshot_memory(g) / 1024, graph_max_memory_kb),
				 errhint("Raise correlate.graph_max_memory (superuser), or split the estate into tenants.")));
	INSTR_TIME_SET_CURRENT(dur);
	INSTR_TIME_SUBTRACT(dur, start);
	g->build_ms = INSTR_TIME_GET_MILLISEC(dur);
	return g;
}


/* The snapshot's size: its context, plus its shared segment if it has one. */
Size
graph_snapshot_memory(const GraphSnapshot *g)
{
	return MemoryContextMemAllocated(g->ctx, true) + g->shared_bytes;
}

int32
graph_node_index(const GraphSnapshot *g, int64 id)
{
	int32		lo = 0,
				hi = g->nnodes - 1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (g->node_id[mid] == id)
			return mid;
		if (g->node_id[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

int32
graph_edge_src(const GraphSnapshot *g, int32 e)
{
	int32		lo = 0,
				hi = g->nnodes - 1;

	/* the last node u with fwd_off[u] <= e < fwd_off[u + 1] */
	while (lo < hi)
	{
		int32		mid = lo + (hi - lo + 1) / 2;

		if (g->fwd_off[mid] <= e)
			lo = mid;
		else
			hi = mid - 1;
	}
	while (g->fwd_off[lo + 1] <= e)
		lo++;
	return lo;
}

double
graph_node_cost(const GraphSnapshot *g, int32 v)
{
	int32		lo = 0,
				hi = g->nnode_cost - 1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (g->node_cost_idx[mid] == v)
			return g->node_cost_val[mid];
		if (g->node_cost_idx[mid] < v)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 1.0;
}

