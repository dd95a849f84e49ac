/*
 * graph_shm.c
 *		One graph snapshot shared by every backend: a directory in the main
 *		shared memory (tenant, layer, version -> dynamic shared memory segment,
 *		reference count, size) and the segments themselves.
 *
 * Only when correlate is in shared_preload_libraries: PostgreSQL 15 has no
 * DSM registry, so the directory is requested at startup (shmem_request_hook,
 * shmem_startup_hook).  Without the preload, or with
 * correlate.graph_shared_memory = 0, every backend builds and keeps its own
 * snapshot exactly as before (graph_cache.c).
 *
 * Life of an entry
 * ----------------
 * - A backend whose cached snapshot is missing or stale looks for a READY
 *   entry of its key (database, resource/edge/change-log relations, tenant),
 *   newest first.  It attaches the segment, takes a reference, and lets the
 *   caller validate it exactly as it would validate its own cached snapshot
 *   (graph_cache.c: the build's MVCC visibility, kept in the segment, against
 *   the change log).  An entry that does not validate is released again.
 * - If another backend is BUILDING the key, it waits for that build (in
 *   100 ms sleeps, cancellable) and looks again: a graph is built once.
 * - Otherwise it reserves a BUILDING entry, builds the snapshot privately
 *   (graph_snapshot_build), then publishes it: room is made under the ceiling
 *   correlate.graph_shared_memory by freeing idle entries (no reference),
 *   least recently used first, the segment is created and the arrays copied
 *   into it, and the entry becomes READY with the builder's reference.  If
 *   there is no room (every byte in use), the builder keeps its private
 *   snapshot.
 * - A backend drops its reference when it moves to another snapshot, on
 *   correlate.graph_reset(), and at exit.  An entry nobody references is freed
 *   at once when a newer entry of its key exists (it is superseded); the
 *   newest entry of a key stays, idle, so that the next connection attaches
 *   instead of building, until the ceiling needs its room.
 *
 * Safety
 * ------
 * The segment is position-independent: a header with the scalars of the
 * snapshot, the build's visibility and offsets of every array.  An attaching
 * backend makes a small local GraphSnapshot whose pointers point into its
 * mapping; the algorithms read it like a private snapshot and never write it
 * (their scratch arrays live in the local context).  References are counted
 * under the directory's LWLock, and a segment is attached while that lock is
 * held, so it cannot be freed between lookup and attach; segments are pinned
 * (dsm_pin_segment) while listed and unpinned when freed, so they survive
 * moments with no backend attached.  A build that fails or is cancelled
 * leaves no entry: the reservation is undone by the (sub)transaction abort
 * callback, and an unpublished segment is released with its resource owner.
 * A backend that exits drops its references in a before_shmem_exit callback.
 *
 * The MVCC rule: a backend with uncommitted graph changes of its own neither
 * attaches nor publishes; it builds privately (graph_cache.c decides).
 */
#include "postgres.h"

#include <limits.h>

#include "access/transam.h"
#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "catalog/namespace.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "graph/graph.h"

#define SHM_SLOTS		64
#define SHM_TENANT_MAX	128
#define SHM_MAGIC		0x47524150	/* "GRAP" */

int			graph_shared_memory_kb = 2 * 1024 * 1024;	/* 2 GB */

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_BUILDING,
	SLOT_READY
} SlotState;

typedef struct ShmSlot
{
	SlotState	state;
	Oid			db;
	Oid			resource;
	Oid			edge;
	Oid			change;
	char		tenant[SHM_TENANT_MAX];
	dsm_handle	handle;
	int32		refcount;
	int			builder_pid;
	Size		size;			/* reserved bytes while BUILDING */
	uint64		seq;			/* publication order */
	TimestampTz last_used;
	int64		version;
	int32		nnodes;
	int32		nedges;
	bool		attack_layer;
	double		build_ms;
} ShmSlot;

typedef struct ShmDir
{
	LWLock	   *lock;
	ConditionVariable cv;		/* broadcast when a build ends */
	uint64		next_seq;
	int64		builds;
	int64		attaches;
	int64		evictions;
	ShmSlot		slot[SHM_SLOTS];
} ShmDir;

/* The arrays of a snapshot, with their lengths. */
#define SHM_ARRAYS(X) \
	X(node_id, g->nnodes) X(node_crit, g->nnodes) X(node_flags, g->nnodes) \
	X(and_nodes, g->nand) X(node_cost_idx, g->nnode_cost) X(node_cost_val, g->nnode_cost) \
	X(fwd_off, (int64) g->nnodes + 1) X(fwd_dst, g->nedges) X(fwd_w, g->nedges) \
	X(wtab, g->nwclasses) X(fwd_wc, g->nedges) X(fwd_kind, g->nedges) \
	X(fwd_eid32, g->nedges) X(fwd_eid64, g->nedges) \
	X(rev_off, (int64) g->nnodes + 1) X(rev_src, g->nedges) X(rev_edge, g->nedges) X(rev_wc, g->nedges)

#define SHM_ENUM(f, n) ARR_##f,
enum
{
	SHM_ARRAYS(SHM_ENUM) SHM_NARRAYS
};

/* The segment's header; offsets are from the segment's start, 0 = absent. */
typedef struct ShmSeg
{
	uint32		magic;
	Size		size;
	int32		nnodes;
	int32		nedges;
	int32		nand;
	int32		nnode_cost;
	int32		nwclasses;
	int32		nkinds;
	bool		attack_layer;
	int64		eid_base;
	int64		skipped_edges;
	int64		version;
	double		build_ms;
	/* the MVCC visibility the snapshot was built under */
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	int32		subxcnt;
	bool		suboverflowed;
	bool		taken_during_recovery;
	FullTransactionId fxmin;
	Size		xip_off;
	Size		subxip_off;
	Size		kind_off;		/* nkinds offsets of NUL-terminated names */
	Size		arr_off[SHM_NARRAYS];
} ShmSeg;

static ShmDir *dir = NULL;
static bool preloaded = false;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Backend-local bookkeeping: references held, and a reservation being built. */
static GraphShmHold held[SHM_SLOTS];
static int	nheld = 0;
static int	building_slot = -1;
static bool exit_registered = false;

static void
shm_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(ShmDir)));
	RequestNamedLWLockTranche("correlate_graph_shared", 1);
}

static void
shm_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	dir = ShmemInitStruct("correlate graph snapshots", sizeof(ShmDir), &found);
	if (!found)
	{
		memset(dir, 0, sizeof(ShmDir));
		dir->lock = &(GetNamedLWLockTranche("correlate_graph_shared"))->lock;
		ConditionVariableInit(&dir->cv);
		dir->next_seq = 1;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init: the ceiling GUC, and the shared memory hooks when preloaded. */
void
graph_shm_init(void)
{
	DefineCustomIntVariable("correlate.graph_shared_memory",
							"Ceiling of the graph snapshots shared by all backends (needs correlate in shared_preload_libraries).",
							"Idle snapshots are freed, least recently used first, to make room; a snapshot that "
							"does not fit stays private to the backend that built it.  0 turns sharing off.",
							&graph_shared_memory_kb,
							2 * 1024 * 1024,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	preloaded = true;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shm_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shm_startup;
}

bool
graph_shm_enabled(void)
{
	return preloaded && dir != NULL && graph_shared_memory_kb > 0;
}

static bool
slot_matches(const ShmSlot *s, const GraphShmKey *key)
{
	return s->db == MyDatabaseId && s->resource == key->resource && s->edge == key->edge &&
		s->change == key->change && strcmp(s->tenant, key->tenant) == 0;
}

/* Frees an entry nobody references; the caller holds the lock exclusively. */
static void
slot_free(ShmSlot *s)
{
	Assert(s->refcount == 0);
	if (s->state == SLOT_READY)
		dsm_unpin_segment(s->handle);
	memset(s, 0, sizeof(ShmSlot));
}

/* Is there an entry of s's key published after s?  (lock held) */
static bool
superseded(const ShmSlot *s)
{
	for (int i = 0; i < SHM_SLOTS; i++)
	{
		const ShmSlot *t = &dir->slot[i];

		if (t != s && t->state == SLOT_READY && t->seq > s->seq && t->db == s->db &&
			t->resource == s->resource && t->edge == s->edge && t->change == s->change &&
			strcmp(t->tenant, s->tenant) == 0)
			return true;
	}
	return false;
}

static void
shm_exit(int code, Datum arg)
{
	graph_shm_release_all();
	graph_shm_abort_build();
}

static void
ensure_exit_callback(void)
{
	if (!exit_registered)
	{
		before_shmem_exit(shm_exit, 0);
		exit_registered = true;
	}
}

/* Drops one reference (from held[i]) and detaches. */
static void
release_held(int i)
{
	GraphShmHold h = held[i];
	ShmSlot    *s = &dir->slot[h.slot];

	held[i] = held[--nheld];
	LWLockAcquire(dir->lock, LW_EXCLUSIVE);
	if (s->state == SLOT_READY && s->seq == h.seq)
	{
		s->refcount--;
		s->last_used = GetCurrentTimestamp();
		if (s->refcount == 0 && superseded(s))
			slot_free(s);
	}
	LWLockRelease(dir->lock);
	dsm_detach(h.seg);
}

void
graph_shm_release(const GraphShmHold *hold)
{
	if (dir == NULL)
		return;
	for (int i = 0; i < nheld; i++)
		if (held[i].slot == hold->slot && held[i].seq == hold->seq)
		{
			release_held(i);
			return;
		}
}

/* Drops every reference except keep (NULL: all). */
void
graph_shm_release_others(const GraphShmHold *keep)
{
	if (dir == NULL)
		return;
	for (int i = nheld - 1; i >= 0; i--)
		if (keep == NULL || held[i].slot != keep->slot || held[i].seq != keep->seq)
			release_held(i);
}

void
graph_shm_release_all(void)
{
	graph_shm_release_others(NULL);
}

/* Undoes a reservation whose build failed or was cancelled (abort callbacks, exit). */
void
graph_shm_abort_build(void)
{
	ShmSlot    *s;

	if (building_slot < 0 || dir == NULL)
		return;
	s = &dir->slot[building_slot];
	building_slot = -1;
	LWLockAcquire(dir->lock, LW_EXCLUSIVE);
	if (s->state == SLOT_BUILDING && s->builder_pid == MyProcPid)
		memset(s, 0, sizeof(ShmSlot));
	LWLockRelease(dir->lock);
	ConditionVariableBroadcast(&dir->cv);
}

/* A local snapshot header over an attached segment, in ctx. */
static GraphSnapshot *
local_header(dsm_segment *seg, const GraphShmKey *key, MemoryContext ctx, SnapshotData *built,
			 FullTransactionId *fxmin)
{
	char	   *base = dsm_segment_address(seg);
	ShmSeg	   *h = (ShmSeg *) base;
	GraphSnapshot *g = MemoryContextAllocZero(ctx, sizeof(GraphSnapshot));
	Size	   *kinds = (Size *) (base + h->kind_off);

	if (h->magic != SHM_MAGIC)
		elog(ERROR, "shared graph snapshot segment is corrupt");
	g->ctx = ctx;
	g->tenant = MemoryContextStrdup(ctx, key->tenant);
	g->attack_layer = h->attack_layer;
	g->edge_relid = key->edge;
	g->nnodes = h->nnodes;
	g->nedges = h->nedges;
	g->nand = h->nand;
	g->nnode_cost = h->nnode_cost;
	g->nwclasses = h->nwclasses;
	g->eid_base = h->eid_base;
	g->skipped_edges = h->skipped_edges;
	g->version = h->version;
	g->build_ms = h->build_ms;
	g->shared_bytes = h->size;
#define SHM_POINT(f, n) \
	g->f = h->arr_off[ARR_##f] ? (void *) (base + h->arr_off[ARR_##f]) : NULL;
	SHM_ARRAYS(SHM_POINT)
#undef SHM_POINT
	g->nkinds = h->nkinds;
	g->kind_names = MemoryContextAlloc(ctx, Max(h->nkinds, 1) * sizeof(char *));
	for (int32 k = 0; k < h->nkinds; k++)
		g->kind_names[k] = base + kinds[k];

	memset(built, 0, sizeof(SnapshotData));
	built->snapshot_type = SNAPSHOT_MVCC;
	built->xmin = h->xmin;
	built->xmax = h->xmax;
	built->xcnt = h->xcnt;
	built->xip = (TransactionId *) (base + h->xip_off);
	built->subxcnt = h->subxcnt;
	built->subxip = (TransactionId *) (base + h->subxip_off);
	built->suboverflowed = h->suboverflowed;
	built->takenDuringRecovery = h->taken_during_recovery;
	built->copied = true;
	*fxmin = h->fxmin;
	return g;
}

/*
 * Looks for a shared snapshot of key that valid() accepts.  Returns
 * GRAPH_SHM_ATTACHED with *g, *built, *fxmin and *hold set (g in ctx);
 * GRAPH_SHM_BUILD when the caller should build and then publish (an entry
 * is reserved for it); GRAPH_SHM_PRIVATE when it should build for itself.
 */
GraphShmResult
graph_shm_lookup(const GraphShmKey *key, GraphShmValid valid, void *arg, MemoryContext ctx,
				 GraphSnapshot **g, SnapshotData *built, FullTransactionId *fxmin,
				 GraphShmHold *hold)
{
	uint64		tried[SHM_SLOTS];
	int			ntried = 0;

	if (!graph_shm_enabled() || strlen(key->tenant) >= SHM_TENANT_MAX || nheld >= SHM_SLOTS - 1)
		return GRAPH_SHM_PRIVATE;
	ensure_exit_callback();
	graph_shm_abort_build();	/* a reservation left by an error is void */

	for (;;)
	{
		ShmSlot    *best = NULL;
		bool		building = false;
		int			free_slot = -1;
		dsm_segment *seg = NULL;
		int			bi = -1;

		CHECK_FOR_INTERRUPTS();
		LWLockAcquire(dir->lock, LW_EXCLUSIVE);
		for (int i = 0; i < SHM_SLOTS; i++)
		{
			ShmSlot    *s = &dir->slot[i];
			bool		seen = false;

			if (s->state == SLOT_READY && s->refcount == 0 && s->db == MyDatabaseId &&
				s->resource != key->resource)
			{
				/* of a dropped installation of the extension in this database */
				slot_free(s);
				dir->evictions++;
			}
			if (s->state == SLOT_FREE)
			{
				if (free_slot < 0)
					free_slot = i;
				continue;
			}
			if (!slot_matches(s, key))
				continue;
			if (s->state == SLOT_BUILDING)
			{
				building = true;
				continue;
			}
			for (int j = 0; j < ntried; j++)
				if (tried[j] == s->seq)
					seen = true;
			if (!seen && (best == NULL || s->seq > best->seq))
			{
				best = s;
				bi = i;
			}
		}
		if (ntried >= SHM_SLOTS)
			best = NULL;		/* cannot happen: fewer entries than slots */
		if (best && best->size / 1024 <= (Size) graph_max_memory_kb &&
			(seg = dsm_attach(best->handle)) != NULL)
		{
			GraphShmHold *h = &held[nheld];

			dsm_pin_mapping(seg);
			best->refcount++;
			best->last_used = GetCurrentTimestamp();
			dir->attaches++;
			h->slot = bi;
			h->seq = best->seq;
			h->seg = seg;
			nheld++;
			tried[ntried++] = best->seq;
			LWLockRelease(dir->lock);

			*g = local_header(seg, key, ctx, built, fxmin);
			*hold = *h;
			if (valid(*g, built, *fxmin, arg))
				return GRAPH_SHM_ATTACHED;
			/* stale for this backend: drop it and look further */
			pfree(*g);
			*g = NULL;
			graph_shm_release(hold);
			continue;
		}
		if (best)
		{
			/* too large for this backend's graph_max_memory, or gone */
			tried[ntried++] = best->seq;
			LWLockRelease(dir->lock);
			continue;
		}
		if (building)
		{
			/* someone builds this key: wait for it, then look again */
			LWLockRelease(dir->lock);
			ConditionVariablePrepareToSleep(&dir->cv);
			ConditionVariableTimedSleep(&dir->cv, 100, PG_WAIT_EXTENSION);
			ConditionVariableCancelSleep();
			ntried = 0;
			continue;
		}
		if (free_slot < 0)
		{
			/* a full directory: free an idle entry, least recently used */
			ShmSlot    *lru = NULL;

			for (int i = 0; i < SHM_SLOTS; i++)
			{
				ShmSlot    *s = &dir->slot[i];

				if (s->state == SLOT_READY && s->refcount == 0 &&
					(lru == NULL || s->last_used < lru->last_used))
				{
					lru = s;
					free_slot = i;
				}
			}
			if (lru)
			{
				slot_free(lru);
				dir->evictions++;
			}
		}
		if (free_slot < 0)
		{
			LWLockRelease(dir->lock);
			return GRAPH_SHM_PRIVATE;
		}
		{
			ShmSlot    *s = &dir->slot[free_slot];

			memset(s, 0, sizeof(ShmSlot));
			s->state = SLOT_BUILDING;
			s->db = MyDatabaseId;
			s->resource = key->resource;
			s->edge = key->edge;
			s->change = key->change;
			strlcpy(s->tenant, key->tenant, SHM_TENANT_MAX);
			s->builder_pid = MyProcPid;
			building_slot = free_slot;
		}
		LWLockRelease(dir->lock);
		return GRAPH_SHM_BUILD;
	}
}

/* Bytes used or reserved by entries other than except (lock held). */
static Size
used_bytes(const ShmSlot *except)
{
	Size		used = 0;

	for (int i = 0; i < SHM_SLOTS; i++)
		if (&dir->slot[i] != except && dir->slot[i].state != SLOT_FREE)
			used += dir->slot[i].size;
	return used;
}

/*
 * Publishes the privately built snapshot priv (built under visibility built)
 * into the entry reserved by graph_shm_lookup.  Returns a local header over
 * the shared copy, in ctx, with *hold set, or NULL if there is no room (the
 * caller keeps priv).  The caller frees priv's context on success.
 */
GraphSnapshot *
graph_shm_publish(const GraphShmKey *key, const GraphSnapshot *g, const SnapshotData *vis,
				  FullTransactionId fxmin, MemoryContext ctx, SnapshotData *built,
				  GraphShmHold *hold)
{
	Size		size = MAXALIGN(sizeof(ShmSeg));
	Size		off[SHM_NARRAYS];
	Size		xip_off,
				subxip_off,
				kind_off,
				names_off;
	ShmSlot    *s;
	dsm_segment *seg;
	char	   *base;
	ShmSeg	   *h;
	Size		ceiling = (Size) graph_shared_memory_kb * 1024;
	FullTransactionId dummy;
	GraphSnapshot *out;

	if (building_slot < 0)
		return NULL;
	if (nheld >= SHM_SLOTS)
	{
		graph_shm_abort_build();
		return NULL;
	}
	s = &dir->slot[building_slot];

	/* the layout */
#define SHM_LAYOUT(f, n) \
	off[ARR_##f] = 0; \
	if (g->f != NULL) \
	{ \
		off[ARR_##f] = size; \
		size += MAXALIGN((Size) Max((int64) (n), 1) * sizeof(*g->f)); \
	}
	SHM_ARRAYS(SHM_LAYOUT)
#undef SHM_LAYOUT
	xip_off = size;
	size += MAXALIGN(sizeof(TransactionId) * (vis->xcnt + 1));
	subxip_off = size;
	size += MAXALIGN(sizeof(TransactionId) * (Max(vis->subxcnt, 0) + 1));
	kind_off = size;
	size += MAXALIGN(sizeof(Size) * Max(g->nkinds, 1));
	names_off = size;
	for (int32 k = 0; k < g->nkinds; k++)
		size += strlen(g->kind_names[k]) + 1;
	size = MAXALIGN(size);

	/* make room under the ceiling, or give up */
	LWLockAcquire(dir->lock, LW_EXCLUSIVE);
	while (size > ceiling || used_bytes(s) + size > ceiling)
	{
		ShmSlot    *lru = NULL;

		if (size > ceiling)
			break;
		for (int i = 0; i < SHM_SLOTS; i++)
		{
			ShmSlot    *t = &dir->slot[i];

			if (t->state == SLOT_READY && t->refcount == 0 &&
				(lru == NULL || t->last_used < lru->last_used))
				lru = t;
		}
		if (lru == NULL)
			break;
		slot_free(lru);
		dir->evictions++;
	}
	if (size > ceiling || used_bytes(s) + size > ceiling)
	{
		LWLockRelease(dir->lock);
		graph_shm_abort_build();
		return NULL;
	}
	s->size = size;				/* reserved while we copy */
	LWLockRelease(dir->lock);

	/* an error from here on voids the reservation (abort callback) */
	seg = dsm_create(size, 0);
	base = dsm_segment_address(seg);
	h = (ShmSeg *) base;
	memset(h, 0, sizeof(ShmSeg));
	h->size = size;
	h->nnodes = g->nnodes;
	h->nedges = g->nedges;
	h->nand = g->nand;
	h->nnode_cost = g->nnode_cost;
	h->nwclasses = g->nwclasses;
	h->nkinds = g->nkinds;
	h->attack_layer = g->attack_layer;
	h->eid_base = g->eid_base;
	h->skipped_edges = g->skipped_edges;
	h->version = g->version;
	h->build_ms = g->build_ms;
#define SHM_COPY(f, n) \
	h->arr_off[ARR_##f] = off[ARR_##f]; \
	if (g->f != NULL) \
	{ \
		CHECK_FOR_INTERRUPTS(); \
		memcpy(base + off[ARR_##f], g->f, (Size) (n) * sizeof(*g->f)); \
	}
	SHM_ARRAYS(SHM_COPY)
#undef SHM_COPY
	h->xmin = vis->xmin;
	h->xmax = vis->xmax;
	h->xcnt = vis->xcnt;
	h->subxcnt = vis->subxcnt;
	h->suboverflowed = vis->suboverflowed;
	h->taken_during_recovery = vis->takenDuringRecovery;
	h->fxmin = fxmin;
	h->xip_off = xip_off;
	h->subxip_off = subxip_off;
	if (vis->xcnt > 0)
		memcpy(base + xip_off, vis->xip, sizeof(TransactionId) * vis->xcnt);
	if (vis->subxcnt > 0)
		memcpy(base + subxip_off, vis->subxip, sizeof(TransactionId) * vis->subxcnt);
	h->kind_off = kind_off;
	for (int32 k = 0; k < g->nkinds; k++)
	{
		Size		len = strlen(g->kind_names[k]) + 1;

		((Size *) (base + kind_off))[k] = names_off;
		memcpy(base + names_off, g->kind_names[k], len);
		names_off += len;
	}
	h->magic = SHM_MAGIC;

	/* list it */
	LWLockAcquire(dir->lock, LW_EXCLUSIVE);
	dsm_pin_segment(seg);
	dsm_pin_mapping(seg);
	s->handle = dsm_segment_handle(seg);
	s->state = SLOT_READY;
	s->refcount = 1;
	s->seq = dir->next_seq++;
	s->last_used = GetCurrentTimestamp();
	s->version = g->version;
	s->nnodes = g->nnodes;
	s->nedges = g->nedges;
	s->build_ms = g->build_ms;
	s->attack_layer = g->attack_layer;
	dir->builds++;
	hold->slot = building_slot;
	hold->seq = s->seq;
	hold->seg = seg;
	held[nheld++] = *hold;
	building_slot = -1;
	/* older idle entries of the key are superseded */
	for (int i = 0; i < SHM_SLOTS; i++)
	{
		ShmSlot    *t = &dir->slot[i];

		if (t != s && t->state == SLOT_READY && t->refcount == 0 && slot_matches(t, key) &&
			t->seq < s->seq)
			slot_free(t);
	}
	LWLockRelease(dir->lock);
	ConditionVariableBroadcast(&dir->cv);

	out = local_header(seg, key, ctx, built, &dummy);
	return out;
}

/*
 * correlate.graph_shared_stats(): the shared directory's entries of this
 * database and the current tenant (sizes and counts only).
 */
PG_FUNCTION_INFO_V1(correlate_graph_shared_stats);
Datum
correlate_graph_shared_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ShmSlot    *copy;
	const char *tenant;
	Oid			resource;

	InitMaterializedSRF(fcinfo, 0);
	tenant = graph_current_tenant();	/* checks the role's grant */
	resource = get_relname_relid("resource", get_namespace_oid("correlate", false));
	if (dir == NULL)
		return (Datum) 0;
	copy = palloc(sizeof(ShmSlot) * SHM_SLOTS);
	LWLockAcquire(dir->lock, LW_SHARED);
	memcpy(copy, dir->slot, sizeof(ShmSlot) * SHM_SLOTS);
	LWLockRelease(dir->lock);
	for (int i = 0; i < SHM_SLOTS; i++)
	{
		Datum		values[11];
		bool		nulls[11] = {false};
		bool		mine = false;

		if (copy[i].state == SLOT_FREE || copy[i].db != MyDatabaseId ||
			copy[i].resource != resource || strcmp(copy[i].tenant, tenant) != 0)
			continue;
		for (int j = 0; j < nheld; j++)
			if (held[j].slot == i && held[j].seq == copy[i].seq)
				mine = true;
		values[0] = CStringGetTextDatum(copy[i].tenant);
		values[1] = CStringGetTextDatum(copy[i].state == SLOT_READY ? "ready" : "building");
		values[2] = CStringGetTextDatum(copy[i].attack_layer ? "attack" : "facts");
		nulls[2] = copy[i].state != SLOT_READY;
		values[3] = Int64GetDatum(copy[i].version);
		values[4] = Int64GetDatum(copy[i].nnodes);
		values[5] = Int64GetDatum(copy[i].nedges);
		values[6] = Int64GetDatum((int64) copy[i].size);
		values[7] = Int32GetDatum(copy[i].refcount);
		values[8] = BoolGetDatum(mine);
		values[9] = Float8GetDatum(copy[i].build_ms);
		values[10] = Int32GetDatum(copy[i].builder_pid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
