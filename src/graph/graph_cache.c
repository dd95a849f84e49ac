/*
 * graph_cache.c
 *		Per-backend cache of the graph snapshot, the change log that keeps it
 *		honest, and the trigger that writes the log.
 *
 * Design
 * ------
 * A backend keeps one snapshot (the last tenant and layer it queried: the
 * attack graph, correlate.attack_edge, or with correlate.graph_layer = facts
 * the fact graph, correlate.relationship) in a memory context under
 * TopMemoryContext.  Statement triggers log changes of attack_edge as they
 * do those of resource and relationship.  What-if queries build a snapshot
 * of their own, per call, outside the cache (graph_acquire_args).  The snapshot may be reused by a later
 * query only if that query would see exactly the same resource and
 * relationship rows.  Two mechanisms decide this.
 *
 * 1. Other transactions' changes: the change log.  Statement-level triggers
 *    on resource and relationship insert one row per (writing transaction,
 *    tenant) into correlate.graph_change: (tenant, xid8 of the top-level
 *    transaction).  The table is insert-only, so concurrent writers never
 *    wait for each other or conflict under REPEATABLE READ / SERIALIZABLE
 *    (a per-tenant version row would be a hot row: every writer of a tenant
 *    would queue behind the first one's row lock until it commits, and
 *    repeatable-read writers would fail with serialization errors).  The log
 *    row commits or aborts atomically with the data it describes.
 *
 *    With each snapshot we keep a copy of the MVCC snapshot it was built
 *    under (xmin, xmax, in-progress xids, plus our own xid if we had one).
 *    A change became visible since the build iff the current snapshot sees a
 *    log row whose xid the build snapshot considered in progress or future.
 *    Every such xid is >= build xmin, so validation is one short index range
 *    scan of graph_change on (tenant, xid >= build xmin), for the tenant and
 *    for '' (TRUNCATE is logged with tenant '' and invalidates every tenant).
 *    The triggers read the tenants from the statement's transition tables,
 *    not from the correlate.tenant setting, which a statement can change
 *    before its AFTER triggers fire.  Log rows below every build xmin are
 *    never read; correlate.graph_prune_changes() deletes them and logs a ''
 *    row of its own, so that any snapshot built before the prune is
 *    invalidated rather than trusted.
 *
 *    A query running under an older MVCC snapshot than the build (possible
 *    with imported snapshots or stable functions) must not reuse a newer
 *    graph: validation also requires the current snapshot to see everything
 *    the build snapshot saw.
 *
 * 2. The transaction's own changes: a backend-local counter.  The trigger
 *    bumps it after every writing statement (and a subtransaction abort bumps
 *    it too, since the rows it wrote vanished).  A snapshot built while the
 *    transaction had own changes records (xid, counter) and is valid only in
 *    that transaction with that counter; once the transaction ends, commit or
 *    rollback, it no longer matches and the next query rebuilds, so a
 *    rollback never leaves the cache stale.  A snapshot built without own
 *    changes is valid across transactions, guarded by the log as above.
 *
 * 3. Sharing (graph_shm.c).  With correlate in shared_preload_libraries, a
 *    backend whose snapshot is missing or stale first looks for a snapshot
 *    another backend published in shared memory, and validates it with the
 *    same two rules (its build visibility is kept in the shared segment);
 *    failing that it builds and publishes its own.  A transaction with own
 *    changes (rule 2) neither uses nor publishes a shared snapshot: it builds
 *    privately, so it sees its changes and nobody else does.  The cache entry
 *    then holds a reference to the shared snapshot instead of the arrays.
 *
 * The log insert runs as the table owner (as referential-integrity triggers
 * do), so writers need no privilege on graph_change, and the table is hidden
 * from every other role.  Within a transaction, a tenant is logged once; the
 * memory of that is dropped when a subtransaction aborts (the row may have
 * gone with it), so the next statement logs again.
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/genam.h"
#include "access/relation.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"

#include "correlate.h"
#include "graph/graph.h"

#define CHANGE_INDEX	"graph_change_tenant_xid_idx"

typedef struct GraphCacheEntry
{
	GraphSnapshot *g;			/* allocated in g->ctx, like this entry */
	Oid			resource_relid;
	Oid			relationship_relid;
	Oid			change_relid;
	SnapshotData built;			/* visibility the snapshot was built under */
	FullTransactionId built_fxmin;
	TransactionId own_xid;		/* valid only if built with own changes */
	uint64		own_changes;
	GraphShmHold hold;			/* slot >= 0: g is a shared snapshot (graph_shm.c) */
} GraphCacheEntry;

static GraphCacheEntry *cache = NULL;
static int64 cache_hits = 0;
static int64 cache_rebuilds = 0;

/* The current transaction's own graph changes. */
static TransactionId own_xid = InvalidTransactionId;
static uint64 own_changes = 0;
static List *own_logged = NIL;	/* tenants logged by own_xid (TopMemoryContext) */
static bool callbacks_registered = false;

/*
 * A query on a large graph allocates scratch of one entry per resource; once
 * it is freed, glibc keeps much of it in the heap.  With a shared snapshot
 * that slack would be most of what a backend holds, so the transaction's end
 * gives it back (the query's memory is gone by then).
 */
#define TRIM_MIN_NODES	65536
static bool trim_pending = false;

static uint64
current_own_changes(void)
{
	TransactionId xid = GetTopTransactionIdIfAny();

	return (TransactionIdIsValid(xid) && xid == own_xid) ? own_changes : 0;
}

static void
forget_logged(void)
{
	list_free_deep(own_logged);
	own_logged = NIL;
}

static void
graph_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		graph_shm_abort_build();	/* a shared build that failed leaves no entry */
	if (event == SUBXACT_EVENT_ABORT_SUB && own_changes > 0)
	{
		/* rows written in the subtransaction (and maybe our log row) are gone */
		own_changes++;
		forget_logged();
	}
}

static void
graph_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		own_xid = InvalidTransactionId;
		own_changes = 0;
		forget_logged();
	}
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		graph_shm_abort_build();
#ifdef __GLIBC__
	if (trim_pending && (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT))
		malloc_trim(0);
#endif
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		trim_pending = false;
}

static void
ensure_callbacks(void)
{
	if (!callbacks_registered)
	{
		RegisterXactCallback(graph_xact_callback, NULL);
		RegisterSubXactCallback(graph_subxact_callback, NULL);
		callbacks_registered = true;
	}
}

static Oid
correlate_relid(const char *name)
{
	Oid			nsp = get_namespace_oid("correlate", false);
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "relation correlate.%s does not exist", name);
	return relid;
}

const char *
graph_current_tenant(void)
{
	List	   *name = list_make2(makeString("correlate"), makeString("current_tenant"));
	Oid			fn = LookupFuncName(name, 0, NULL, false);

	return TextDatumGetCString(OidFunctionCall0(fn));
}

/* Is top-level xid running (or not yet started) as far as snapshot s knows? */
static bool
top_xid_in_progress(TransactionId xid, const SnapshotData *s)
{
	if (TransactionIdPrecedes(xid, s->xmin))
		return false;
	if (TransactionIdFollowsOrEquals(xid, s->xmax))
		return true;
	for (uint32 i = 0; i < s->xcnt; i++)
		if (s->xip[i] == xid)
			return true;
	if (s->takenDuringRecovery)
		for (int32 i = 0; i < s->subxcnt; i++)
			if (s->subxip[i] == xid)
				return true;
	return false;
}

/* Does snapshot now see every transaction that snapshot then saw? */
static bool
snapshot_covers(const SnapshotData *now, const SnapshotData *then)
{
	if (TransactionIdPrecedes(now->xmax, then->xmax))
		return false;
	for (uint32 i = 0; i < now->xcnt; i++)
		if (TransactionIdPrecedes(now->xip[i], then->xmax) && !top_xid_in_progress(now->xip[i], then))
			return false;
	if (now->takenDuringRecovery)
		for (int32 i = 0; i < now->subxcnt; i++)
			if (TransactionIdPrecedes(now->subxip[i], then->xmax) &&
				!top_xid_in_progress(now->subxip[i], then))
				return false;
	return true;
}

static FullTransactionId
widen_xid(TransactionId xid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	uint32		epoch = EpochFromFullTransactionId(next);

	if (xid > XidFromFullTransactionId(next))
		epoch--;
	return FullTransactionIdFromEpochAndXid(epoch, xid);
}

/*
 * Copies the visibility information of snap into the cache context; our own
 * top-level xid, if any, counts as in progress (it has not committed).
 */
static void
copy_visibility(SnapshotData *dst, Snapshot snap, MemoryContext ctx)
{
	TransactionId mine = GetTopTransactionIdIfAny();
	uint32		extra = TransactionIdIsValid(mine) ? 1 : 0;

	memset(dst, 0, sizeof(SnapshotData));
	dst->snapshot_type = SNAPSHOT_MVCC;
	dst->xmin = snap->xmin;
	dst->xmax = snap->xmax;
	dst->xcnt = snap->xcnt + extra;
	dst->xip = MemoryContextAlloc(ctx, sizeof(TransactionId) * (dst->xcnt + 1));
	/* memcpy from NULL is undefined even for 0 bytes, and a snapshot's arrays may be NULL */
	if (snap->xcnt > 0)
		memcpy(dst->xip, snap->xip, sizeof(TransactionId) * snap->xcnt);
	if (extra)
	{
		dst->xip[snap->xcnt] = mine;
		if (TransactionIdPrecedes(mine, dst->xmin))
			dst->xmin = mine;
	}
	dst->subxcnt = snap->subxcnt;
	dst->subxip = MemoryContextAlloc(ctx, sizeof(TransactionId) * (dst->subxcnt + 1));
	if (snap->subxcnt > 0)
		memcpy(dst->subxip, snap->subxip, sizeof(TransactionId) * snap->subxcnt);
	dst->suboverflowed = snap->suboverflowed;
	dst->takenDuringRecovery = snap->takenDuringRecovery;
	dst->copied = true;
}

/*
 * Scans the change log for one tenant label.  With built != NULL: returns true
 * as soon as a visible row's xid was in progress for built (a change the
 * snapshot lacks).  With built == NULL: stores the newest visible xid in *max.
 */
static bool
scan_change_log(Oid change_relid, const char *tenant, const SnapshotData *built,
				FullTransactionId from, int64 *max)
{
	Relation	heap = table_open(change_relid, AccessShareLock);
	Relation	index = index_open(get_relname_relid(CHANGE_INDEX, RelationGetNamespace(heap)),
								   AccessShareLock);
	AttrNumber	a_xid = get_attnum(change_relid, "xid");
	ScanKeyData keys[2];
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	bool		changed = false;

	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_TEXTEQ, CStringGetTextDatum(tenant));
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTGreaterEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_XID8GE, FullTransactionIdGetDatum(from));
	scan = index_beginscan(heap, index, GetActiveSnapshot(), built ? 2 : 1, 0);
	index_rescan(scan, keys, built ? 2 : 1, NULL, 0);
	while (index_getnext_slot(scan, built ? ForwardScanDirection : BackwardScanDirection, slot))
	{
		bool		isnull;
		FullTransactionId fx = DatumGetFullTransactionId(slot_getattr(slot, a_xid, &isnull));
		TransactionId xid = XidFromFullTransactionId(fx);

		CHECK_FOR_INTERRUPTS();
		if (isnull)
			continue;
		if (built == NULL)
		{
			*max = Max(*max, (int64) U64FromFullTransactionId(fx));
			break;
		}
		if (TransactionIdIsCurrentTransactionId(xid))
			continue;			/* own changes are tracked by own_changes */
		if (top_xid_in_progress(xid, built))
		{
			changed = true;
			break;
		}
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(heap, NoLock);
	return changed;
}

/*
 * Would a snapshot built under visibility built (change log read from fxmin)
 * show exactly what the active snapshot shows of tenant's graph?
 */
static bool
visibility_valid(const SnapshotData *built, FullTransactionId fxmin, const char *tenant, Oid change)
{
	if (!snapshot_covers(GetActiveSnapshot(), built))
		return false;
	if (scan_change_log(change, tenant, built, fxmin, NULL) ||
		scan_change_log(change, "", built, fxmin, NULL))
		return false;
	return true;
}

static bool
cache_valid(GraphCacheEntry *c, const char *tenant, Oid resource, Oid relationship, Oid change)
{
	uint64		mine = current_own_changes();

	if (c == NULL || strcmp(c->g->tenant, tenant) != 0 ||
		c->resource_relid != resource || c->relationship_relid != relationship ||
		c->change_relid != change)
		return false;
	if (c->own_changes != mine ||
		(mine > 0 && c->own_xid != GetTopTransactionIdIfAny()))
		return false;
	if (graph_snapshot_memory(c->g) / 1024 > (Size) graph_max_memory_kb)
		return false;
	return visibility_valid(&c->built, c->built_fxmin, tenant, change);
}

/* graph_shm_lookup's check of a shared snapshot: the same rule as the cache's. */
typedef struct SharedValidArg
{
	const char *tenant;
	Oid			change;
} SharedValidArg;

static bool
shared_valid(GraphSnapshot *g, const SnapshotData *built, FullTransactionId fxmin, void *arg)
{
	SharedValidArg *a = (SharedValidArg *) arg;

	return visibility_valid(built, fxmin, a->tenant, a->change);
}

/* Do we hold a lock that a builder's AccessShareLock would wait for? */
static bool
holds_exclusive(Oid relid)
{
	LOCKTAG		tag;

	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	return LockHeldByMe(&tag, AccessExclusiveLock);
}

/* Frees the cached snapshot, dropping its shared reference if any. */
static void
cache_free(void)
{
	GraphShmHold hold;

	if (cache == NULL)
		return;
	hold = cache->hold;
	MemoryContextDelete(cache->g->ctx);
	cache = NULL;
	if (hold.slot >= 0)
		graph_shm_release(&hold);
}

static void
check_select(Oid relid, const char *name)
{
	AclResult	r = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

	if (r != ACLCHECK_OK)
		aclcheck_error(r, OBJECT_TABLE, name);
}

/*
 * Returns the graph snapshot of the current tenant as this statement sees it,
 * from the cache when it is still exact, else freshly built.
 */
GraphSnapshot *
graph_acquire(void)
{
	const char *tenant = graph_current_tenant();
	bool		attack = graph_layer == GRAPH_LAYER_ATTACK;
	Oid			resource = correlate_relid("resource");
	Oid			relationship = correlate_relid(attack ? "attack_edge" : "relationship");
	Oid			change = correlate_relid("graph_change");
	MemoryContext ctx;
	GraphCacheEntry *c;
	int64		version = 0;
	GraphShmKey key;
	SharedValidArg va;
	GraphShmResult shm = GRAPH_SHM_PRIVATE;
	instr_time	start,
				dur;

	if (!ActiveSnapshotSet())
		elog(ERROR, "graph functions need an active snapshot");
	check_select(resource, "resource");
	check_select(relationship, attack ? "attack_edge" : "relationship");
	LockRelationOid(resource, AccessShareLock);
	LockRelationOid(relationship, AccessShareLock);
	ensure_callbacks();

	if (cache_valid(cache, tenant, resource, relationship, change))
	{
		cache_hits++;
		trim_pending |= cache->hold.slot >= 0 && cache->g->nnodes >= TRIM_MIN_NODES;
		return cache->g;
	}

	/* Free the old snapshot first: two large graphs need not coexist. */
	cache_free();
	graph_shm_release_all();	/* references an error left behind */
	ctx = AllocSetContextCreate(CurrentMemoryContext, "correlate graph snapshot",
								ALLOCSET_DEFAULT_SIZES);
	c = MemoryContextAllocZero(ctx, sizeof(GraphCacheEntry));
	c->resource_relid = resource;
	c->relationship_relid = relationship;
	c->change_relid = change;
	c->hold.slot = -1;
	c->own_changes = current_own_changes();
	c->own_xid = c->own_changes > 0 ? GetTopTransactionIdIfAny() : InvalidTransactionId;

	/*
	 * The shared snapshot, unless this transaction changed the graph itself
	 * (then only a private build shows those changes), or holds a lock that
	 * would block the backend building it.
	 */
	key.resource = resource;
	key.edge = relationship;
	key.change = change;
	key.tenant = tenant;
	va.tenant = tenant;
	va.change = change;
	INSTR_TIME_SET_CURRENT(start);
	if (c->own_changes == 0 && !holds_exclusive(resource) && !holds_exclusive(relationship) &&
		!holds_exclusive(change))
		shm = graph_shm_lookup(&key, shared_valid, &va, ctx, &c->g, &c->built, &c->built_fxmin,
							   &c->hold);
	if (shm == GRAPH_SHM_ATTACHED)
	{
		INSTR_TIME_SET_CURRENT(dur);
		INSTR_TIME_SUBTRACT(dur, start);
		elog(DEBUG1, "correlate: attached the shared graph snapshot of tenant \"%s\" (%zu bytes) in %.3f ms",
			 tenant, c->g->shared_bytes, INSTR_TIME_GET_MILLISEC(dur));
	}
	if (shm != GRAPH_SHM_ATTACHED)
	{
		copy_visibility(&c->built, GetActiveSnapshot(), ctx);
		c->built_fxmin = widen_xid(c->built.xmin);
		c->g = graph_snapshot_build(tenant, resource, relationship, attack, ctx);
		scan_change_log(change, tenant, NULL, FirstNormalFullTransactionId, &version);
		scan_change_log(change, "", NULL, FirstNormalFullTransactionId, &version);
		c->g->version = version;
	}
	if (shm == GRAPH_SHM_BUILD)
	{
		/* copy into shared memory, then keep only the shared copy */
		MemoryContext sctx = AllocSetContextCreate(CurrentMemoryContext, "correlate shared graph snapshot",
												   ALLOCSET_SMALL_SIZES);
		GraphCacheEntry *sc = MemoryContextAllocZero(sctx, sizeof(GraphCacheEntry));

		*sc = *c;
		sc->g = graph_shm_publish(&key, c->g, &c->built, c->built_fxmin, sctx, &sc->built, &sc->hold);
		if (sc->g != NULL)
		{
			MemoryContextDelete(ctx);
			ctx = sctx;
			c = sc;
#ifdef __GLIBC__
			/* give the private copy's pages back, or the builder keeps them */
			malloc_trim(0);
#endif
		}
		else
			MemoryContextDelete(sctx);
	}

	if (shm != GRAPH_SHM_ATTACHED)
	{
		INSTR_TIME_SET_CURRENT(dur);
		INSTR_TIME_SUBTRACT(dur, start);
		elog(DEBUG1, "correlate: built the graph snapshot of tenant \"%s\" (%zu bytes, %s) in %.3f ms",
			 tenant, graph_snapshot_memory(c->g), c->hold.slot >= 0 ? "shared" : "private",
			 INSTR_TIME_GET_MILLISEC(dur));
	}

	/* Built or attached: from now on the snapshot outlives the statement. */
	MemoryContextSetParent(ctx, TopMemoryContext);
	cache = c;
	cache_rebuilds++;
	trim_pending |= c->hold.slot >= 0 && c->g->nnodes >= TRIM_MIN_NODES;
	return c->g;
}

/*
 * The snapshot a graph function with an optional what_if argument (at
 * position what_if_arg) works on: the cached graph of the layer, or, when
 * what_if is given, an attack graph derived for the hypothetical changes.
 */
GraphSnapshot *
graph_acquire_args(FunctionCallInfo fcinfo, int what_if_arg)
{
	MemoryContext ctx;

	if (PG_NARGS() <= what_if_arg || PG_ARGISNULL(what_if_arg))
		return graph_acquire();
	if (graph_layer != GRAPH_LAYER_ATTACK)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("what_if needs the attack graph"),
				 errdetail("correlate.graph_layer is \"facts\"; hypothetical changes re-derive attack edges."),
				 errhint("SET correlate.graph_layer = attack.")));
	if (!ActiveSnapshotSet())
		elog(ERROR, "graph functions need an active snapshot");
	check_select(correlate_relid("resource"), "resource");
	check_select(correlate_relid("relationship"), "relationship");
	check_select(correlate_relid("finding"), "finding");
	ctx = AllocSetContextCreate(CurrentMemoryContext, "correlate what-if graph", ALLOCSET_DEFAULT_SIZES);
	return graph_snapshot_build_what_if(graph_current_tenant(), correlate_relid("resource"),
										PG_GETARG_DATUM(what_if_arg), ctx);
}

/* Loads relationship fix costs into the cached snapshot if not yet there. */
void
graph_ensure_edge_costs(GraphSnapshot *g)
{
	if (g->edge_cost == NULL)
		graph_snapshot_load_edge_costs(g, g->edge_relid);
}

/*
 * Adds to tenants (a list of C strings) each tenant that appears in a
 * transition table of the statement; returns the list.  Only the tenant
 * column is deformed, and a row whose tenant equals the previous row's costs
 * one memcmp, so a statement that wrote one tenant pays a few instructions
 * per row.
 */
static List *
transition_tenants(Tuplestorestate *ts, TupleDesc desc, AttrNumber att, List *tenants)
{
	TupleTableSlot *slot;
	int			ptr;
	const char *last = NULL;
	int			lastlen = -1;

	if (ts == NULL)
		return tenants;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	/* a read pointer of our own: other triggers may read the same store */
	ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(ts, ptr);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;
		Datum		d;
		text	   *t;
		const char *p;
		int			len;
		ListCell   *lc;
		bool		seen = false;

		CHECK_FOR_INTERRUPTS();
		d = slot_getattr(slot, att, &isnull);
		if (isnull)
			continue;
		t = (text *) PG_DETOAST_DATUM_PACKED(d);
		p = VARDATA_ANY(t);
		len = VARSIZE_ANY_EXHDR(t);
		if (len == lastlen && memcmp(p, last, len) == 0)
			continue;
		foreach(lc, tenants)
		{
			const char *x = (const char *) lfirst(lc);

			if ((int) strlen(x) == len && memcmp(x, p, len) == 0)
			{
				last = x;
				seen = true;
				break;
			}
		}
		if (!seen)
		{
			last = pnstrdup(p, len);
			tenants = lappend(tenants, (char *) last);
		}
		lastlen = len;
	}
	tuplestore_select_read_pointer(ts, 0);
	ExecDropSingleTupleTableSlot(slot);
	return tenants;
}

/* Inserts the log row (tenant, current top-level xid) as the log's owner. */
static void
log_change(const char *tenant)
{
	Relation	rel = table_open(correlate_relid("graph_change"), RowExclusiveLock);
	Oid			owner = rel->rd_rel->relowner;
	Oid			save_user;
	int			save_sec;
	Oid			types[2] = {TEXTOID, XID8OID};
	Datum		args[2];
	MemoryContext old;

	table_close(rel, NoLock);
	args[0] = CStringGetTextDatum(tenant);
	args[1] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("INSERT INTO correlate.graph_change (tenant, xid) VALUES ($1, $2)",
							  2, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not log a graph change");
	SPI_finish();
	SetUserIdAndSecContext(save_user, save_sec);

	old = MemoryContextSwitchTo(TopMemoryContext);
	own_logged = lappend(own_logged, pstrdup(tenant));
	MemoryContextSwitchTo(old);
}

/*
 * Trigger on resource and relationship (FOR EACH STATEMENT, one per event so
 * that INSERT, UPDATE and DELETE can have transition tables): records that the
 * current transaction changed the graphs of the tenants it wrote.
 *
 * The tenants come from the rows themselves (the statement's transition
 * tables), never from the correlate.tenant setting: a statement may change
 * the setting before its AFTER triggers run (set_config() in the same query),
 * and row level security checked the rows against the setting as it was when
 * they were written.  TRUNCATE has no transition table and may have removed
 * any tenant's rows: it logs '' (every tenant), as does a trigger defined
 * without transition tables.
 */
PG_FUNCTION_INFO_V1(correlate_graph_changed);
Datum
correlate_graph_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	TransactionId xid;
	List	   *tenants = NIL;
	ListCell   *lc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("correlate._graph_changed() must be called as a statement trigger")));
	ensure_callbacks();

	if (TRIGGER_FIRED_BY_TRUNCATE(trig->tg_event) ||
		(trig->tg_oldtable == NULL && trig->tg_newtable == NULL))
		tenants = list_make1("");
	else
	{
		Relation	rel = trig->tg_relation;
		AttrNumber	att = get_attnum(RelationGetRelid(rel), "tenant");

		if (att == InvalidAttrNumber)
			elog(ERROR, "relation \"%s\" has no tenant column", RelationGetRelationName(rel));
		tenants = transition_tenants(trig->tg_oldtable, RelationGetDescr(rel), att, tenants);
		tenants = transition_tenants(trig->tg_newtable, RelationGetDescr(rel), att, tenants);
		/* a statement that wrote no row changed nothing */
		if (tenants == NIL)
			PG_RETURN_POINTER(NULL);
	}

	xid = GetTopTransactionId();
	if (xid != own_xid)
	{
		own_xid = xid;
		own_changes = 0;
		forget_logged();
	}
	own_changes++;

	foreach(lc, tenants)
	{
		const char *tenant = (const char *) lfirst(lc);
		ListCell   *lc2;
		bool		logged = false;

		foreach(lc2, own_logged)
			if (strcmp((char *) lfirst(lc2), tenant) == 0)
			{
				logged = true;
				break;
			}
		if (!logged)
			log_change(tenant);
	}
	PG_RETURN_POINTER(NULL);
}

/* Frees the cached snapshot (a shared one is only released). */
void
graph_cache_drop(void)
{
	cache_free();
	graph_shm_release_all();
}

/*
 * Describes the cache for graph_stats(): the snapshot of the current tenant
 * (NULL when none is cached), whether it is current, and the counters.
 */
GraphSnapshot *
graph_cache_peek(bool *current, int64 *hits, int64 *rebuilds)
{
	const char *tenant = graph_current_tenant();
	Oid			resource = correlate_relid("resource");
	Oid			relationship = correlate_relid(graph_layer == GRAPH_LAYER_ATTACK ? "attack_edge" : "relationship");
	Oid			change = correlate_relid("graph_change");

	*hits = cache_hits;
	*rebuilds = cache_rebuilds;
	*current = false;
	if (cache == NULL || strcmp(cache->g->tenant, tenant) != 0)
		return NULL;
	*current = ActiveSnapshotSet() && cache_valid(cache, tenant, resource, relationship, change);
	return cache->g;
}
