/*
 * graph_snapshot_csr.c
 *		The CSR layout of a snapshot (see graph_snapshot.c and graph.h): edges
 *		collected by a scan become the forward and reverse CSR, each adjacency
 *		list sorted by (destination, relationship id), with costs compressed
 *		to 2-byte classes where possible.
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

static void compress_costs(GraphSnapshot *g, MemoryContext scratch);

/* Sorts the edges of one adjacency list by (destination, relationship id). */
typedef struct AdjEntry
{
	int32		dst;
	uint16		kind;
	int64		eid;
	GraphCost	w;
} AdjEntry;

static int
adj_cmp(const void *a, const void *b)
{
	const AdjEntry *x = a;
	const AdjEntry *y = b;

	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	return (x->eid > y->eid) - (x->eid < y->eid);
}

static void
sort_adjacency(int32 lo, int32 hi, int32 *dst, GraphCost *w, uint16 *kind, int64 *eid, AdjEntry **buf, int64 *bufcap)
{
	int32		len = hi - lo;
	bool		sorted = true;

	for (int32 i = lo + 1; i < hi && sorted; i++)
		if (dst[i - 1] > dst[i] || (dst[i - 1] == dst[i] && eid[i - 1] > eid[i]))
			sorted = false;
	if (sorted)
		return;
	*buf = snap_grow(*buf, bufcap, len, sizeof(AdjEntry));
	for (int32 i = 0; i < len; i++)
	{
		(*buf)[i].dst = dst[lo + i];
		(*buf)[i].kind = kind[lo + i];
		(*buf)[i].eid = eid[lo + i];
		(*buf)[i].w = w[lo + i];
	}
	qsort(*buf, len, sizeof(AdjEntry), adj_cmp);
	for (int32 i = 0; i < len; i++)
	{
		dst[lo + i] = (*buf)[i].dst;
		kind[lo + i] = (*buf)[i].kind;
		eid[lo + i] = (*buf)[i].eid;
		w[lo + i] = (*buf)[i].w;
	}
}

/*
 * Builds both CSRs of g from m collected edges (node indices, ids, costs,
 * kinds), freeing the arrays, which live in scratch.
 */
void
snap_build_csr(GraphSnapshot *g, KindMap *km, int32 *src, int32 *dst, int64 *eid, GraphCost *w,
		  uint16 *kind, int64 m, int64 emin, int64 emax, MemoryContext scratch)
{
	int32		n = g->nnodes;
	int32	   *pos;
	int32	   *cursor;
	AdjEntry   *buf = NULL;
	int64		bufcap = 0;
	MemoryContext old = CurrentMemoryContext;

	/* Counting sort by source: pos[e] is edge e's slot in the forward CSR. */
	MemoryContextSwitchTo(g->ctx);
	g->nedges = m;
	g->fwd_off = MemoryContextAllocHuge(g->ctx, (n + 1) * sizeof(int32));
	memset(g->fwd_off, 0, (n + 1) * sizeof(int32));
	for (int64 e = 0; e < m; e++)
		g->fwd_off[src[e] + 1]++;
	for (int32 v = 0; v < n; v++)
		g->fwd_off[v + 1] += g->fwd_off[v];

	MemoryContextSwitchTo(scratch);
	pos = MemoryContextAllocHuge(scratch, Max(m, 1) * sizeof(int32));
	cursor = MemoryContextAllocHuge(scratch, (n + 1) * sizeof(int32));
	memcpy(cursor, g->fwd_off, (n + 1) * sizeof(int32));
	for (int64 e = 0; e < m; e++)
		pos[e] = cursor[src[e]]++;
	pfree(src);

	/* Scatter one field at a time so that peak memory stays near one copy. */
	{
		int32	   *fdst = MemoryContextAllocHuge(g->ctx, Max(m, 1) * sizeof(int32));
		GraphCost  *fw = MemoryContextAllocHuge(g->ctx, Max(m, 1) * sizeof(GraphCost));
		uint16	   *fkind = MemoryContextAllocHuge(g->ctx, Max(m, 1) * sizeof(uint16));
		int64	   *feid;

		for (int64 e = 0; e < m; e++)
			fdst[pos[e]] = dst[e];
		pfree(dst);
		for (int64 e = 0; e < m; e++)
			fw[pos[e]] = w[e];
		pfree(w);
		for (int64 e = 0; e < m; e++)
			fkind[pos[e]] = kind[e];
		pfree(kind);
		feid = MemoryContextAllocHuge(scratch, Max(m, 1) * sizeof(int64));
		for (int64 e = 0; e < m; e++)
			feid[pos[e]] = eid[e];
		pfree(eid);
		pfree(pos);

		for (int32 v = 0; v < n; v++)
		{
			if ((v & 0xffff) == 0)
				CHECK_FOR_INTERRUPTS();
			if (g->fwd_off[v + 1] - g->fwd_off[v] > 1)
				sort_adjacency(g->fwd_off[v], g->fwd_off[v + 1], fdst, fw, fkind, feid, &buf, &bufcap);
		}
		g->fwd_dst = fdst;
		g->fwd_w = fw;
		g->fwd_kind = fkind;

		if (m == 0 || emax - emin <= (int64) PG_UINT32_MAX)
		{
			g->eid_base = m > 0 ? emin : 0;
			g->fwd_eid32 = MemoryContextAllocHuge(g->ctx, Max(m, 1) * sizeof(uint32));
			for (int64 e = 0; e < m; e++)
				g->fwd_eid32[e] = (uint32) (feid[e] - g->eid_base);
			pfree(feid);
		}
		else
		{
			g->fwd_eid64 = MemoryContextAllocHuge(g->ctx, Max(m, 1) * sizeof(int64));
			memcpy(g->fwd_eid64, feid, m * sizeof(int64));
			pfree(feid);
		}
	}

	/* Reverse CSR, filled in forward order so each list is sorted by source. */
	g->rev_off = MemoryContextAllocHuge(g->ctx, (n + 1) * sizeof(int32));
	memset(g->rev_off, 0, (n + 1) * sizeof(int32));
	for (int64 e = 0; e < m; e++)
		g->rev_off[g->fwd_dst[e] + 1]++;
	for (int32 v = 0; v < n; v++)
		g->rev_off[v + 1] += g->rev_off[v];
	memcpy(cursor, g->rev_off, (n + 1) * sizeof(int32));
	g->rev_src = MemoryContextAllocHuge(g->ctx, Max(m, 1) * sizeof(int32));
	g->rev_edge = MemoryContextAllocHuge(g->ctx, Max(m, 1) * sizeof(int32));
	for (int32 u = 0; u < n; u++)
		for (int32 e = g->fwd_off[u]; e < g->fwd_off[u + 1]; e++)
		{
			int32		slotno = cursor[g->fwd_dst[e]]++;

			g->rev_src[slotno] = u;
			g->rev_edge[slotno] = e;
		}

	compress_costs(g, scratch);

	g->nkinds = km->nkinds;
	g->kind_names = MemoryContextAlloc(g->ctx, Max(km->nkinds, 1) * sizeof(char *));
	for (int32 k = 0; k < km->nkinds; k++)
		g->kind_names[k] = MemoryContextStrdup(g->ctx, km->names[k]);
	MemoryContextSwitchTo(old);
}

/*
 * Replaces the 8-byte cost of every relationship by a 2-byte class into a
 * table of the distinct costs, when there are at most 65536 of them (the
 * usual case: likelihoods come from a few kind defaults and factors), and
 * keeps the classes in reverse order as well, so that backward searches read
 * costs in order instead of through rev_edge.  4 bytes per relationship less
 * than fwd_w alone.  With more distinct costs fwd_w stays as it is.
 */
#define COST_CLASSES	65536

static void
compress_costs(GraphSnapshot *g, MemoryContext scratch)
{
	int32		m = g->nedges;
	uint32		mask = 2 * COST_CLASSES - 1;
	GraphCost  *keys;
	int32	   *cls;
	GraphCost  *tab;
	uint16	   *fwc;
	int32		ncls = 0;

	if (m == 0)
		return;
	keys = MemoryContextAllocHuge(scratch, (Size) (mask + 1) * sizeof(GraphCost));
	cls = MemoryContextAllocHuge(scratch, (Size) (mask + 1) * sizeof(int32));
	memset(cls, 0xff, (Size) (mask + 1) * sizeof(int32));
	tab = MemoryContextAlloc(scratch, COST_CLASSES * sizeof(GraphCost));
	fwc = MemoryContextAllocHuge(g->ctx, (Size) m * sizeof(uint16));
	for (int32 e = 0; e < m; e++)
	{
		GraphCost	c = g->fwd_w[e];
		uint32		h = murmurhash32((uint32) c ^ (uint32) ((uint64) c >> 32)) & mask;

		if ((e & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		while (cls[h] >= 0 && keys[h] != c)
			h = (h + 1) & mask;
		if (cls[h] < 0)
		{
			if (ncls == COST_CLASSES)
			{
				/* too many distinct costs: keep the plain array */
				pfree(fwc);
				pfree(keys);
				pfree(cls);
				pfree(tab);
				return;
			}
			keys[h] = c;
			cls[h] = ncls;
			tab[ncls++] = c;
		}
		fwc[e] = (uint16) cls[h];
	}
	g->nwclasses = ncls;
	g->wtab = MemoryContextAlloc(g->ctx, ncls * sizeof(GraphCost));
	memcpy(g->wtab, tab, ncls * sizeof(GraphCost));
	g->fwd_wc = fwc;
	g->rev_wc = MemoryContextAllocHuge(g->ctx, (Size) m * sizeof(uint16));
	for (int32 j = 0; j < m; j++)
		g->rev_wc[j] = fwc[g->rev_edge[j]];
	pfree(g->fwd_w);
	g->fwd_w = NULL;
	pfree(keys);
	pfree(cls);
	pfree(tab);
}
