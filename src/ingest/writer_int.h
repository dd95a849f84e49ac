/*
 * writer_int.h
 *		What the files of the batch writer share (the writer is ingest.h's
 *		implementation; parsers never include this).
 *
 *	 writer.c			lifecycle: the call, its records, rejects, and one batch's flush
 *	 writer_validate.c	record validation: what parsers call, checked and copied into the batch
 *	 writer_cache.c		entity caches: uid/edge memo of what this call wrote, widened at the end
 *	 writer_lease.c		lease resolution: addresses to the resources holding them at an event's time
 *	 writer_batch.c		the batch statements: one SPI statement per entity, whole columns as arrays
 *	 writer_bisect.c	bisection: a batch the database refuses, halved down to the record at fault
 *
 * Memory.  Three contexts hang off the caller's context: the call context
 * (IngestCtx, catalogs, prepared plans), the batch context (every item of the
 * current batch and its strings; reset after each flush) and the record
 * context (parser scratch space; reset at each ingest_record_start).  So memory
 * is bounded by correlate.ingest_batch_size records plus the largest record,
 * however long the input.
 *
 * This header includes utils/builtins.h: json-c users (fmt_*.c) must not include it.
 */
#ifndef CORRELATE_WRITER_INT_H
#define CORRELATE_WRITER_INT_H

#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "detect/detect.h"
#include "ingest/ingest.h"
#include "ingest/ingest_int.h"
#include "ingest/pseudonym.h"
#include "model/uid.h"

typedef struct ResItem
{
	char	   *uid;
	char	   *kind;
	char	   *name;
	char	   *account;
	char	   *region;
	char	   *cluster;
	char	   *namespace;
	char	   *labels;
	char	   *props;
	double		criticality;
	TimestampTz seen;
} ResItem;

typedef struct LinkItem
{
	char	   *src;
	char	   *dst;
	char	   *kind;
	double		likelihood;
	char	   *props;
	TimestampTz seen;
} LinkItem;

typedef struct EventItem
{
	TimestampTz ts;
	char	   *uid;
	int32		class_uid;
	int32		activity_id;
	char	   *domain;
	int32		severity_id;
	char	   *actor;
	char	   *target;
	char	   *src_ip;
	char	   *dst_ip;
	int32		dst_port;
	char	   *process;
	char	   *command_line;
	char	   *action;
	char	   *outcome;
	char	   *rule;
	char	   *raw;
	struct varlena *rawb;		/* raw as jsonb, or NULL (then raw is parsed at flush) */
	int32		src_mode;		/* 0 keep, 1 resolve else ip:// resource, 2 resolve else internet */
	int32		dst_mode;
	char	   *link_kind;
	int64		bytes;
	int64		packets;
} EventItem;

typedef struct FindingItem
{
	char	   *resource;
	char	   *kind;
	char	   *check_id;
	char	   *package;
	char	   *title;
	char	   *severity;
	double		cvss;
	double		epss;
	bool		known_exploited;
	char	   *installed_version;
	char	   *fixed_version;
	char	   *props;
	TimestampTz seen;
} FindingItem;

typedef struct LeaseItem
{
	char	   *ip;
	char	   *resource;
	TimestampTz valid_from;
	TimestampTz valid_to;
} LeaseItem;

typedef struct RejectItem
{
	int64		recno;
	char	   *reason;
	char	   *raw;
	char	   *digest;
} RejectItem;

/* Where one record's items start in each array. */
typedef struct RecMark
{
	int64		recno;
	char	   *raw;			/* NUL-terminated copy in the batch context */
	size_t		rawlen;
	int			res;
	int			link;
	int			event;
	int			finding;
	int			lease;
} RecMark;

#define GROW(arr, n, max, type) \
	do { \
		if ((n) >= (max)) \
		{ \
			(max) = (max) ? (max) * 2 : 64; \
			(arr) = (arr) ? repalloc_huge((arr), sizeof(type) * (max)) \
						  : MemoryContextAllocHuge(ctx->batchcxt, sizeof(type) * (max)); \
		} \
	} while (0)

struct IngestCtx
{
	char	   *format;
	bool		skip_errors;
	int			batch_size;

	MemoryContext callcxt;
	MemoryContext batchcxt;
	MemoryContext reccxt;

	/* the record being parsed */
	int64		recno;
	bool		in_record;
	bool		rec_rejected;
	char	   *cur_raw;
	size_t		cur_rawlen;
	TimestampTz cur_seen;		/* 0 = now() */

	/* the batch */
	RecMark    *recs;
	int			nrecs,
				maxrecs;
	ResItem    *res;
	int			nres,
				maxres;
	LinkItem   *links;
	int			nlinks,
				maxlinks;
	EventItem  *events;
	int			nevents,
				maxevents;
	FindingItem *findings;
	int			nfindings,
				maxfindings;
	LeaseItem  *leases;
	int			nleases,
				maxleases;
	RejectItem *rejects;
	int			nrejects,
				maxrejects;

	/* catalogs, loaded once per call */
	HTAB	   *res_kinds;
	HTAB	   *rel_kinds;

	/* plans, prepared on first flush */
	SPIPlanPtr	plan_res;
	SPIPlanPtr	plan_lookup;
	SPIPlanPtr	plan_link;
	SPIPlanPtr	plan_lease;
	SPIPlanPtr	plan_leases_of;
	SPIPlanPtr	plan_finding;
	SPIPlanPtr	plan_event;
	SPIPlanPtr	plan_reject;
	SPIPlanPtr	plan_analyze;

	/* rows this call has written to resource and relationship when their planner statistics were last refreshed */
	int64		analyzed_at;

	/*
	 * What this call has written, so that unchanged resources and edges are
	 * not rewritten by every flush (see wr_flush_resources); bounded by
	 * INGEST_CACHE_MAX entries each.  Pending entries are those of the flush in
	 * progress, merged into the caches once its subtransaction commits.
	 */
	MemoryContext cachecxt;
	HTAB	   *res_cache;
	HTAB	   *link_cache;
	struct PendEnt *pend;
	int			npend,
				maxpend;
	SPIPlanPtr	plan_widen_res;
	SPIPlanPtr	plan_widen_link;

	/*
	 * uid as reported -> canonical uid, for this call: records repeat the same
	 * few containers, pods and roles, and canonicalising parses each one.
	 * Emptied (with its context) when it reaches INGEST_CANON_MAX entries.
	 */
	MemoryContext canoncxt;
	HTAB	   *canon;

	/* the tenant's pseudonymisation policy for this format, or NULL (pseudonym.c) */
	PseudoPolicy *pseudo;

	IngestCounts counts;
};

#define INGEST_CANON_MAX 16384

typedef struct CanonEnt
{
	const char *key;			/* must be first */
	const char *canonical;
} CanonEnt;

typedef struct StrEntry
{
	const char *key;			/* must be first */
	int64		id;
	int			idx;
} StrEntry;

#define INGEST_CACHE_MAX 100000

typedef struct CacheEnt
{
	const char *key;			/* uid, or "src/dst/kind"; must be first */
	int64		id;				/* resource id (0 for edges) */
	int64		src;			/* edge ends */
	int64		dst;
	const char *kind;
	uint64		content;
	TimestampTz want_first;		/* seen range observed, written at the end of the call */
	TimestampTz want_last;
} CacheEnt;

typedef struct PendEnt
{
	bool		is_link;
	bool		written;		/* sent to the database by this flush */
	char	   *key;
	int64		id;
	int64		src;
	int64		dst;
	const char *kind;
	uint64		content;
	TimestampTz first;
	TimestampTz last;
} PendEnt;

/* uid -> id of this flush (plus looked-up uids) */
typedef struct IdMap
{
	HTAB	   *h;
} IdMap;

/* Column builders: a Datum array plus nulls, turned into an SQL array. */
typedef struct Col
{
	Datum	   *d;
	bool	   *n;
	int			len;
	Oid			elemtype;
} Col;

static inline void
col_init(Col *c, int max, Oid elemtype)
{
	c->d = palloc(sizeof(Datum) * Max(max, 1));
	c->n = palloc(sizeof(bool) * Max(max, 1));
	c->len = 0;
	c->elemtype = elemtype;
}

static inline void
col_null(Col *c)
{
	c->d[c->len] = (Datum) 0;
	c->n[c->len++] = true;
}

static inline void
col_text(Col *c, const char *s)
{
	if (s == NULL)
		col_null(c);
	else
	{
		c->d[c->len] = PointerGetDatum(cstring_to_text(s));
		c->n[c->len++] = false;
	}
}

static inline void
col_datum(Col *c, Datum d)
{
	c->d[c->len] = d;
	c->n[c->len++] = false;
}

static inline Datum
col_array(Col *c)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1];
	int			lbs[1] = {1};

	get_typlenbyvalalign(c->elemtype, &typlen, &typbyval, &typalign);
	dims[0] = c->len;
	return PointerGetDatum(construct_md_array(c->d, c->n, 1, dims, lbs, c->elemtype,
											  typlen, typbyval, typalign));
}

/* writer.c */
extern bool wr_reject_record(IngestCtx *ctx, const char *reason);
extern void wr_flush_batch(IngestCtx *ctx);

/* writer_cache.c */
extern HTAB *wr_string_keyed_table(const char *name, long nelem, Size entrysize, MemoryContext cxt);
extern HTAB *wr_str_table(const char *name, long nelem, MemoryContext cxt);
extern StrEntry *wr_str_lookup(HTAB *h, const char *key);
extern StrEntry *wr_str_enter(HTAB *h, const char *key, bool *found);
extern HTAB *wr_cache_table(const char *name, MemoryContext cxt);
extern CacheEnt *wr_cache_find(HTAB *h, const char *key);
extern void wr_pending_add(IngestCtx *ctx, const char *key, int64 id, uint64 content, TimestampTz first,
						   TimestampTz last, bool written);
extern void wr_pending_link(IngestCtx *ctx, int64 src, int64 dst, const char *kind, uint64 content,
							TimestampTz first, TimestampTz last, bool written);
extern void wr_pending_merge(IngestCtx *ctx);
extern void wr_flush_widenings(IngestCtx *ctx);
extern int64 wr_id_of(IdMap *m, const char *uid);
extern bool wr_same_res(const ResItem *a, const ResItem *b);
extern uint64 wr_res_content(const ResItem *r);

/* writer_lease.c */
extern HTAB *wr_load_leases(IngestCtx *ctx, int lo, int hi);
extern int64 wr_need_id(IdMap *map, const char *uid);
extern void wr_put_end(Col *c, IdMap *map, const char *uid, HTAB *leases, const char *ip, TimestampTz ts, int32 *mode);

/* writer_batch.c */
extern void wr_prepare_plans(IngestCtx *ctx);
extern void wr_exec_plan(SPIPlanPtr plan, Datum *values, const char *nulls, int expect);
extern void wr_lookup_missing(IngestCtx *ctx, IdMap *map, const char **uids, const char **kinds, int n);
extern void wr_flush_range(IngestCtx *ctx, int rlo, int rhi);

/* writer_bisect.c */
extern bool wr_try_range(IngestCtx *ctx, int rlo, int rhi, ErrorData **err);
extern void wr_bisect(IngestCtx *ctx, int rlo, int rhi, ErrorData *err);

#endif							/* CORRELATE_WRITER_INT_H */
