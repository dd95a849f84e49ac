/*
 * graph_snapshot_what_if.c
 *		Snapshots built for one what-if query from
 *		correlate.attack_edges_derived(what_if), and the relationship fix
 *		costs that min_cut(cost => 'fix_cost') loads on first use.
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

/* A relationship's fix cost, kept to be placed once the CSR exists. */
typedef struct EdgeFixCost
{
	int32		src;
	int32		dst;
	int64		id;
	double		cost;
} EdgeFixCost;

/*
 * Builds a snapshot of the attack graph as it would be after the what-if
 * changes: the tenant's resources, and the edges that
 * correlate.attack_edges_derived(what_if) derives (read-only, through SPI;
 * nothing is written).  Such a snapshot answers one query and is never
 * cached; its edge costs (because->>'fix_cost') are loaded with it.
 */
GraphSnapshot *
graph_snapshot_build_what_if(const char *tenant, Oid resource_relid, Datum what_if, MemoryContext ctx)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "correlate graph build",
												  ALLOCSET_DEFAULT_SIZES);
	GraphSnapshot *g = MemoryContextAllocZero(ctx, sizeof(GraphSnapshot));
	IdMap		map;
	KindMap    *km;
	Oid			argtypes[1] = {JSONBOID};
	Datum		args[1];
	int64		total;
	int64		m = 0;
	int64		emin = PG_INT64_MAX,
				emax = PG_INT64_MIN;
	int32	   *src,
			   *dst;
	int64	   *eid;
	GraphCost  *w;
	uint16	   *kind;
	EdgeFixCost *fc;
	int64		nfc = 0;
	instr_time	start,
				dur;

	INSTR_TIME_SET_CURRENT(start);
	g->ctx = ctx;
	g->tenant = MemoryContextStrdup(ctx, tenant);
	g->attack_layer = true;
	g->what_if = true;
	g->edge_relid = InvalidOid;
	snap_scan_resources(g, resource_relid, &map, scratch);

	args[0] = what_if;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT d.id, d.src, d.dst, d.technique, d.likelihood, "
							  "CASE WHEN pg_catalog.jsonb_typeof(d.because OPERATOR(pg_catalog.->) 'fix_cost') "
							  "OPERATOR(pg_catalog.=) 'number' "
							  "THEN (d.because OPERATOR(pg_catalog.->>) 'fix_cost')::pg_catalog.float8 END "
							  "FROM correlate.attack_edges_derived($1) d",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not derive the what-if attack edges");
	total = (int64) SPI_processed;
	snap_check_memory(g->nnodes, total, tenant);
	MemoryContextSwitchTo(scratch);
	km = palloc0(sizeof(KindMap));
	km->names = palloc(sizeof(char *) * KIND_SLOTS);
	km->lens = palloc(sizeof(int32) * KIND_SLOTS);
	src = MemoryContextAllocHuge(scratch, Max(total, 1) * sizeof(int32));
	dst = MemoryContextAllocHuge(scratch, Max(total, 1) * sizeof(int32));
	eid = MemoryContextAllocHuge(scratch, Max(total, 1) * sizeof(int64));
	w = MemoryContextAllocHuge(scratch, Max(total, 1) * sizeof(GraphCost));
	kind = MemoryContextAllocHuge(scratch, Max(total, 1) * sizeof(uint16));
	fc = MemoryContextAllocHuge(scratch, Max(total, 1) * sizeof(EdgeFixCost));
	for (int64 i = 0; i < total; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		n1,
					n2,
					n3,
					n4,
					n5,
					n6;
		Datum		d_id = SPI_getbinval(tup, td, 1, &n1);
		Datum		d_src = SPI_getbinval(tup, td, 2, &n2);
		Datum		d_dst = SPI_getbinval(tup, td, 3, &n3);
		Datum		d_kind = SPI_getbinval(tup, td, 4, &n4);
		Datum		d_lk = SPI_getbinval(tup, td, 5, &n5);
		Datum		d_cost = SPI_getbinval(tup, td, 6, &n6);
		int32		s,
					d;
		double		lk;

		CHECK_FOR_INTERRUPTS();
		if (n1 || n2 || n3 || n4 || n5)
		{
			g->skipped_edges++;
			continue;
		}
		s = idmap_get(&map, DatumGetInt64(d_src));
		d = idmap_get(&map, DatumGetInt64(d_dst));
		lk = DatumGetFloat8(d_lk);
		if (s < 0 || d < 0 || s == d || !(lk > 0.0 && lk <= 1.0))
		{
			g->skipped_edges++;
			continue;
		}
		src[m] = s;
		dst[m] = d;
		eid[m] = DatumGetInt64(d_id);
		emin = Min(emin, eid[m]);
		emax = Max(emax, eid[m]);
		w[m] = graph_cost_from_likelihood(lk);
		kind[m] = (uint16) snap_kind_intern(km, d_kind);
		if (!n6 && DatumGetFloat8(d_cost) >= 0 && !isinf(DatumGetFloat8(d_cost)))
		{
			fc[nfc].src = s;
			fc[nfc].dst = d;
			fc[nfc].id = eid[m];
			fc[nfc++].cost = DatumGetFloat8(d_cost);
		}
		m++;
	}
	/* kind names were copied; the SPI result goes with SPI_finish */
	MemoryContextSwitchTo(caller);
	SPI_finish();
	MemoryContextSwitchTo(scratch);
	snap_build_csr(g, km, src, dst, eid, w, kind, m, emin, emax, scratch);

	g->edge_cost = MemoryContextAllocHuge(g->ctx, Max(g->nedges, 1) * sizeof(double));
	for (int32 e = 0; e < g->nedges; e++)
		g->edge_cost[e] = 1.0;
	for (int64 i = 0; i < nfc; i++)
		for (int32 e = g->fwd_off[fc[i].src]; e < g->fwd_off[fc[i].src + 1]; e++)
			if (g->fwd_dst[e] == fc[i].dst && graph_edge_id(g, e) == fc[i].id)
				g->edge_cost[e] = fc[i].cost;

	MemoryContextSwitchTo(caller);
	MemoryContextDelete(scratch);
	INSTR_TIME_SET_CURRENT(dur);
	INSTR_TIME_SUBTRACT(dur, start);
	g->build_ms = INSTR_TIME_GET_MILLISEC(dur);
	return g;
}

/*
 * Loads props->>'fix_cost' of every relationship into g->edge_cost (1 when
 * absent or invalid).  The cache only calls this while the snapshot is
 * current, so the scan sees exactly the rows the snapshot was built from.
 */
void
graph_snapshot_load_edge_costs(GraphSnapshot *g, Oid relid)
{
	int			tlen = strlen(g->tenant);
	Relation	rel = table_open(relid, AccessShareLock);
	AttrNumber	a_tenant = snap_column(relid, "tenant", TEXTOID);
	AttrNumber	a_id = snap_column(relid, "id", INT8OID);
	AttrNumber	a_src = snap_column(relid, "src", INT8OID);
	AttrNumber	a_dst = snap_column(relid, "dst", INT8OID);
	AttrNumber	a_props = snap_column(relid, g->attack_layer ? "because" : "props", JSONBOID);
	int			natts = Max(Max(Max(a_tenant, a_id), Max(a_src, a_dst)), a_props);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "graph relationship row",
												 ALLOCSET_SMALL_SIZES);
	/*
	 * Built in a context of its own, joined to the snapshot's (which lives
	 * under TopMemoryContext) only when complete: an error or cancel during
	 * the scan must not leave an unreferenced array in the cached snapshot.
	 */
	MemoryContext costcxt = AllocSetContextCreate(CurrentMemoryContext, "graph edge costs",
												  ALLOCSET_SMALL_SIZES);
	double	   *cost = MemoryContextAllocHuge(costcxt, Max(g->nedges, 1) * sizeof(double));

	for (int32 e = 0; e < g->nedges; e++)
		cost[e] = 1.0;
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *vals;
		bool	   *nulls;
		MemoryContext o;
		Jsonb	   *jb;
		JsonbValue	v;
		double		c;

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, natts);
		vals = slot->tts_values;
		nulls = slot->tts_isnull;
		if (nulls[a_tenant - 1] || nulls[a_props - 1] || nulls[a_id - 1] || nulls[a_src - 1] ||
			nulls[a_dst - 1] || snap_jsonb_is_empty(vals[a_props - 1]) ||
			!snap_text_matches(vals[a_tenant - 1], g->tenant, tlen))
			continue;
		o = MemoryContextSwitchTo(rowcxt);
		jb = DatumGetJsonbP(vals[a_props - 1]);
		if (JB_ROOT_IS_OBJECT(jb) && snap_jsonb_get(jb, "fix_cost", &v) && snap_jsonb_cost(&v, &c))
		{
			int32		s = graph_node_index(g, DatumGetInt64(vals[a_src - 1]));
			int32		d = graph_node_index(g, DatumGetInt64(vals[a_dst - 1]));
			int64		id = DatumGetInt64(vals[a_id - 1]);

			if (s >= 0 && d >= 0)
				for (int32 e = g->fwd_off[s]; e < g->fwd_off[s + 1] && g->fwd_dst[e] <= d; e++)
					if (g->fwd_dst[e] == d && graph_edge_id(g, e) == id)
						cost[e] = c;
		}
		MemoryContextSwitchTo(o);
		MemoryContextReset(rowcxt);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, NoLock);
	MemoryContextDelete(rowcxt);
	MemoryContextSetParent(costcxt, g->ctx);
	g->edge_cost = cost;
}
