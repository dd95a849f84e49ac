/*
 * graph_snapshot.h
 *		The pieces of the snapshot build shared by its phases: scanning
 *		(graph_snapshot.c), the CSR layout (graph_snapshot_csr.c) and the
 *		what-if build and lazy cost tables (graph_snapshot_what_if.c).
 *		Private to the graph module.
 */
#ifndef CORRELATE_GRAPH_SNAPSHOT_H
#define CORRELATE_GRAPH_SNAPSHOT_H

#include "common/hashfn.h"
#include "utils/jsonb.h"

#include "graph/graph.h"

typedef struct ScanNode
{
	int64		id;
	float4		crit;
	uint8		flags;
} ScanNode;

typedef struct IdCost
{
	int64		id;
	double		cost;
} IdCost;

/* Maps resource ids to node indices: a direct table when ids are dense, else a hash. */
typedef struct IdMap
{
	int64		base;
	int64		range;
	int32	   *direct;			/* range entries, -1 = absent */
	int64	   *keys;			/* open addressing, cap entries */
	int32	   *vals;			/* -1 = empty slot */
	uint64		mask;
} IdMap;

/* Interns relationship-kind names to small integers. */
#define KIND_SLOTS 1024
typedef struct KindMap
{
	int32		nkinds;
	char	  **names;
	int32	   *lens;
	int32		slot[KIND_SLOTS];	/* kind index + 1, 0 = empty */
} KindMap;

static inline int32
idmap_get(const IdMap *m, int64 id)
{
	if (m->direct)
	{
		int64		off = id - m->base;

		return (off >= 0 && off < m->range) ? m->direct[off] : -1;
	}
	if (m->vals == NULL)
		return -1;
	for (uint64 h = (hash_bytes_uint32((uint32) id) ^ (uint64) (id >> 32)) & m->mask;
		 m->vals[h] >= 0; h = (h + 1) & m->mask)
		if (m->keys[h] == id)
			return m->vals[h];
	return -1;
}

/* graph_snapshot.c */
extern AttrNumber snap_column(Oid relid, const char *name, Oid typid);
extern bool snap_text_matches(Datum d, const char *s, int len);
extern bool snap_jsonb_is_empty(Datum d);
extern bool snap_jsonb_cost(JsonbValue *v, double *out);
extern bool snap_jsonb_get(Jsonb *jb, const char *key, JsonbValue *out);
extern void snap_check_memory(int64 nodes, int64 edges, const char *tenant);
extern int32 snap_kind_intern(KindMap *km, Datum d);
extern void snap_scan_resources(GraphSnapshot *g, Oid relid, IdMap *map, MemoryContext scratch);
extern void *snap_grow(void *p, int64 *cap, int64 need, Size elem);

/* graph_snapshot_csr.c */
extern void snap_build_csr(GraphSnapshot *g, KindMap *km, int32 *src, int32 *dst, int64 *eid, GraphCost *w,
						   uint16 *kind, int64 m, int64 emin, int64 emax, MemoryContext scratch);

#endif							/* CORRELATE_GRAPH_SNAPSHOT_H */
