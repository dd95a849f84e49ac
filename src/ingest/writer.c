/*
 * writer.c
 *		The batch writer behind ingest.h: buffers what parsers report, checks
 *		it, and flushes it through the core write API in bulk.
 *
 * Memory.  Three contexts hang off the caller's context: the call context
 * (this struct, catalogs, prepared plans), the batch context (every item of
 * the current batch and its strings; reset after each flush) and the record
 * context (parser scratch space; reset at each ingest_record_start).  So memory
 * is bounded by correlate.ingest_batch_size records plus the largest record,
 * however long the input.
 *
 * Items are appended to one array per entity.  The batch also remembers, per
 * record, where its items start, so that a reject can drop the record's items
 * (nothing of a rejected record is written) and so that a failed flush can be
 * retried on halves of the batch to find the offending record.
 *
 * Flushing.  One flush runs a fixed number of SPI statements whatever the
 * batch size, each taking whole columns as array parameters:
 *	 1. correlate.upsert_resources()	  resources (deduplicated by uid), giving uid -> id
 *	 2. a lookup of uids referenced but not reported in this batch
 *	 3. correlate.link_many()			  relationships
 *	 4. correlate.record_ip_lease()		  over unnest(), in input order
 *	 5. correlate.record_finding()		  over unnest()
 *	 6. correlate._ingest_events()		  events, with IP resolution and flow counts
 * inside a subtransaction.  If the database rejects the batch with a data or
 * integrity error (SQLSTATE classes 22 and 23), the subtransaction is rolled
 * back and the batch is bisected to the first failing record, which is then
 * reported as a reject ('skip') or an ERROR naming its record number
 * ('error').  Other errors (cancel, permission, out of memory) propagate
 * untouched.  Rejects are inserted after the batch, outside the subtransaction.
 *
 * The writer validates in C everything it can attribute to a record (uids,
 * kinds, times, addresses, ranges, JSON that jsonb cannot store), so database
 * errors are the exception, not the control flow.
 */
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
	 * not rewritten by every flush (see flush_resources); bounded by
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

/* ---- string-keyed hash tables ---------------------------------------------- */

typedef struct StrEntry
{
	const char *key;			/* must be first */
	int64		id;
	int			idx;
} StrEntry;

static uint32
str_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	return hash_bytes((const unsigned char *) s, (int) strlen(s));
}

static int
str_match(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(const char *const *) key1, *(const char *const *) key2);
}

/* A hash table in cxt whose entries start with a C-string key. */
static HTAB *
string_keyed_table(const char *name, long nelem, Size entrysize, MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(char *);
	ctl.entrysize = entrysize;
	ctl.hash = str_hash;
	ctl.match = str_match;
	ctl.hcxt = cxt;
	return hash_create(name, nelem, &ctl, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

static HTAB *
str_table(const char *name, long nelem, MemoryContext cxt)
{
	return string_keyed_table(name, nelem, sizeof(StrEntry), cxt);
}

static StrEntry *
str_lookup(HTAB *h, const char *key)
{
	return (StrEntry *) hash_search(h, &key, HASH_FIND, NULL);
}

static StrEntry *
str_enter(HTAB *h, const char *key, bool *found)
{
	return (StrEntry *) hash_search(h, &key, HASH_ENTER, found);
}

static void flush_widenings(IngestCtx *ctx);
typedef struct IdMap IdMap;
static void lookup_missing(IngestCtx *ctx, IdMap *map, const char **uids, const char **kinds, int n);
static HTAB *cache_table(const char *name, MemoryContext cxt);

/* ---- defaults ---------------------------------------------------------------- */

void
ingest_resource_init(IngestResource *r)
{
	memset(r, 0, sizeof(*r));
	r->criticality = -1;
}

void
ingest_event_init(IngestEvent *e)
{
	memset(e, 0, sizeof(*e));
	e->activity_id = -1;
	e->severity_id = -1;
	e->dst_port = -1;
	e->bytes = -1;
	e->packets = -1;
}

void
ingest_finding_init(IngestFinding *f)
{
	memset(f, 0, sizeof(*f));
	f->cvss = -1;
	f->epss = -1;
}

/* ---- lifecycle --------------------------------------------------------------- */

static void
load_kinds(IngestCtx *ctx)
{
	const char *q[2] = {"SELECT kind FROM correlate.resource_kind",
	"SELECT kind FROM correlate.relationship_kind"};

	ctx->res_kinds = str_table("correlate resource kinds", 128, ctx->callcxt);
	ctx->rel_kinds = str_table("correlate relationship kinds", 64, ctx->callcxt);
	for (int t = 0; t < 2; t++)
	{
		MemoryContext cxt = CurrentMemoryContext;
		int			rc = SPI_execute(q[t], true, 0);

		MemoryContextSwitchTo(cxt);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not read the correlate kind catalogs");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			char	   *k = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			bool		found;

			str_enter(t == 0 ? ctx->res_kinds : ctx->rel_kinds,
					  MemoryContextStrdup(ctx->callcxt, k), &found);
		}
		SPI_freetuptable(SPI_tuptable);
	}
}

IngestCtx *
ingest_begin(const char *format, bool skip_errors)
{
	MemoryContext callcxt;
	IngestCtx  *ctx;

	callcxt = AllocSetContextCreate(CurrentMemoryContext, "correlate ingest",
									ALLOCSET_DEFAULT_SIZES);
	ctx = MemoryContextAllocZero(callcxt, sizeof(IngestCtx));
	ctx->callcxt = callcxt;
	ctx->format = MemoryContextStrdup(callcxt, format);
	ctx->skip_errors = skip_errors;
	ctx->batch_size = correlate_ingest_batch_size;
	ctx->batchcxt = AllocSetContextCreate(callcxt, "correlate ingest batch",
										  ALLOCSET_DEFAULT_SIZES);
	ctx->reccxt = AllocSetContextCreate(callcxt, "correlate ingest record",
										ALLOCSET_DEFAULT_SIZES);
	ctx->cachecxt = AllocSetContextCreate(callcxt, "correlate ingest cache",
										  ALLOCSET_DEFAULT_SIZES);
	ctx->res_cache = cache_table("correlate ingest resource cache", ctx->cachecxt);
	ctx->link_cache = cache_table("correlate ingest edge cache", ctx->cachecxt);
	ctx->canoncxt = AllocSetContextCreate(callcxt, "correlate ingest canonical uids",
										  ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* fail before parsing anything if the session may not write its tenant */
	if (SPI_execute("SELECT correlate.current_tenant()", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not check the session's tenant");
	/* applied by the record drivers before any parser sees a record */
	ctx->pseudo = pseudo_load(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), format, callcxt);
	load_kinds(ctx);
	MemoryContextSwitchTo(callcxt);
	return ctx;
}

PseudoPolicy *
ingest_pseudonym_policy(IngestCtx *ctx)
{
	return ctx->pseudo;
}

const char *
ingest_format(IngestCtx *ctx)
{
	return ctx->format;
}

MemoryContext
ingest_record_context(IngestCtx *ctx)
{
	return ctx->reccxt;
}

bool
ingest_record_rejected(IngestCtx *ctx)
{
	return ctx->rec_rejected;
}

static void flush_batch(IngestCtx *ctx);

void
ingest_record_begin(IngestCtx *ctx, int64 recno, const char *raw, size_t len)
{
	RecMark    *m;

	CHECK_FOR_INTERRUPTS();
	if (ctx->nrecs >= ctx->batch_size)
		flush_batch(ctx);
	MemoryContextReset(ctx->reccxt);

	GROW(ctx->recs, ctx->nrecs, ctx->maxrecs, RecMark);
	m = &ctx->recs[ctx->nrecs++];
	m->recno = recno;
	if (raw)
	{
		m->raw = MemoryContextAllocHuge(ctx->batchcxt, len + 1);
		memcpy(m->raw, raw, len);
		m->raw[len] = '\0';
		m->rawlen = len;
	}
	else
	{
		m->raw = NULL;
		m->rawlen = 0;
	}
	m->res = ctx->nres;
	m->link = ctx->nlinks;
	m->event = ctx->nevents;
	m->finding = ctx->nfindings;
	m->lease = ctx->nleases;
	ctx->recno = recno;
	ctx->in_record = true;
	ctx->rec_rejected = false;
	ctx->cur_raw = m->raw;
	ctx->cur_rawlen = m->rawlen;
	ctx->cur_seen = 0;
}

void
ingest_record_start(IngestCtx *ctx, int64 recno)
{
	ingest_record_begin(ctx, recno, NULL, 0);
}

const char *
ingest_record_raw(IngestCtx *ctx)
{
	return ctx->cur_raw;
}

void
ingest_record_time(IngestCtx *ctx, TimestampTz ts)
{
	if (!TIMESTAMP_NOT_FINITE(ts) && ts >= INGEST_MIN_TS && ts <= INGEST_MAX_TS)
		ctx->cur_seen = ts;
}

void
ingest_end(IngestCtx *ctx, IngestCounts *out)
{
	flush_batch(ctx);
	if (ctx->plan_res)
		flush_widenings(ctx);
	*out = ctx->counts;
	pseudo_release(ctx->pseudo);
	SPI_finish();
	MemoryContextDelete(ctx->callcxt);
}

/* ---- rejects ------------------------------------------------------------------ */

/*
 * Text safe to store in a text column: invalid UTF-8 and NUL bytes become
 * \xNN, and the result stops at correlate.ingest_reject_raw_max bytes.
 */
static char *
printable_raw(const char *raw, size_t len, bool *truncated)
{
	StringInfoData buf;
	size_t		max = (size_t) correlate_ingest_reject_raw_max * 1024;
	size_t		i = 0;

	*truncated = false;
	initStringInfo(&buf);
	while (i < len)
	{
		unsigned char c = (unsigned char) raw[i];
		int			l;

		if (buf.len >= max)
		{
			*truncated = true;
			break;
		}
		if (c != 0 && c < 0x80)
		{
			appendStringInfoChar(&buf, (char) c);
			i++;
			continue;
		}
		l = (c == 0) ? -1 : pg_utf_mblen((const unsigned char *) raw + i);
		if (l > 0 && i + l <= len && pg_utf8_islegal((const unsigned char *) raw + i, l))
		{
			appendBinaryStringInfo(&buf, raw + i, l);
			i += l;
		}
		else
		{
			appendStringInfo(&buf, "\\x%02x", c);
			i++;
		}
	}
	return buf.data;
}

void
ingest_reject(IngestCtx *ctx, int64 recno, const char *raw, size_t rawlen, const char *reason)
{
	MemoryContext old;
	RejectItem *r;
	bool		truncated;
	uint64		h1,
				h2;

	if (!ctx->skip_errors)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("%s record %lld is malformed: %s", ctx->format, (long long) recno, reason),
				 errhint("Pass on_error => 'skip' to store malformed records in correlate.ingest_reject and load the rest.")));

	/* Drop whatever the parser had already reported for this record. */
	if (ctx->in_record && ctx->recno == recno && ctx->nrecs > 0 &&
		ctx->recs[ctx->nrecs - 1].recno == recno)
	{
		RecMark    *m = &ctx->recs[ctx->nrecs - 1];

		if (ctx->rec_rejected)
			return;				/* one reject per record */
		ctx->nres = m->res;
		ctx->nlinks = m->link;
		ctx->nevents = m->event;
		ctx->nfindings = m->finding;
		ctx->nleases = m->lease;
		ctx->rec_rejected = true;
	}

	old = MemoryContextSwitchTo(ctx->batchcxt);
	GROW(ctx->rejects, ctx->nrejects, ctx->maxrejects, RejectItem);
	r = &ctx->rejects[ctx->nrejects++];
	r->recno = recno;
	h1 = hash_bytes_extended((const unsigned char *) (raw ? raw : ""), (int) Min(rawlen, (size_t) INT_MAX), 0);
	h2 = hash_bytes_extended((const unsigned char *) reason, (int) strlen(reason), h1);
	r->digest = psprintf("%016llx%016llx/%zu", (unsigned long long) h1, (unsigned long long) h2, rawlen);
	if (ctx->pseudo)
	{
		/*
		 * A rejected record may not have been pseudonymised (it may not even
		 * parse): under a policy its text is never kept, and its digest is keyed.
		 */
		r->raw = NULL;
		r->reason = psprintf("%s (raw text withheld by the tenant's pseudonymisation policy)", reason);
		r->digest = pseudo_token(ctx->pseudo, r->digest, strlen(r->digest));
	}
	else
	{
		r->raw = printable_raw(raw ? raw : "", raw ? rawlen : 0, &truncated);
		r->reason = truncated
			? psprintf("%s (raw text truncated from %zu bytes)", reason, rawlen)
			: pstrdup(reason);
	}
	MemoryContextSwitchTo(old);
	ctx->counts.rejected++;
}

/* Rejects the current record for a reason the writer found; false means "ignore this call". */
static bool
writer_reject(IngestCtx *ctx, const char *reason)
{
	ingest_reject(ctx, ctx->recno, ctx->cur_raw, ctx->cur_rawlen, reason);
	return false;
}

/* ---- validation ---------------------------------------------------------------- */

static bool
accepting(IngestCtx *ctx)
{
	if (!ctx->in_record)
		elog(ERROR, "ingest parser reported data before ingest_record_start");
	return !ctx->rec_rejected;
}

static char *
bdup(IngestCtx *ctx, const char *s)
{
	return s ? MemoryContextStrdup(ctx->batchcxt, s) : NULL;
}

/*
 * Canonical uid in the batch context, or NULL after rejecting the record.
 * Valid uids are remembered for the call (ctx->canon), invalid ones are not.
 */
static char *
canon_uid(IngestCtx *ctx, const char *uid, const char *what)
{
	const char *why = NULL;
	char	   *c;
	CanonEnt   *e;
	bool		found;
	MemoryContext old;

	if (uid == NULL)
	{
		writer_reject(ctx, psprintf("the %s has no uid", what));
		return NULL;
	}
	/* a copy: the memo may be emptied before the batch holding the result is flushed */
	if (ctx->canon && (e = (CanonEnt *) hash_search(ctx->canon, &uid, HASH_FIND, NULL)) != NULL)
		return bdup(ctx, e->canonical);

	old = MemoryContextSwitchTo(ctx->batchcxt);
	c = uid_canonical_try(uid, &why);
	MemoryContextSwitchTo(old);
	if (c == NULL)
	{
		writer_reject(ctx, psprintf("the %s uid \"%.200s\" is invalid: %s", what, uid, why));
		return NULL;
	}

	if (ctx->canon == NULL || hash_get_num_entries(ctx->canon) >= INGEST_CANON_MAX)
	{
		MemoryContextReset(ctx->canoncxt);
		ctx->canon = string_keyed_table("correlate ingest canonical uids", 1024, sizeof(CanonEnt), ctx->canoncxt);
	}
	old = MemoryContextSwitchTo(ctx->canoncxt);
	uid = pstrdup(uid);
	e = (CanonEnt *) hash_search(ctx->canon, &uid, HASH_ENTER, &found);
	if (!found)
		e->canonical = pstrdup(c);
	MemoryContextSwitchTo(old);
	return c;
}

static bool
json_ok(IngestCtx *ctx, const char *json, const char *what)
{
	const char *why;

	if (json == NULL)
		return true;
	if (!ingest_jsonb_safe(json, strlen(json), &why))
		return writer_reject(ctx, psprintf("%s cannot be stored: %s", what, why));
	return true;
}

static bool
time_ok(IngestCtx *ctx, TimestampTz t, const char *what)
{
	/* event partitions and tstzrange need finite, sane times */
	if (TIMESTAMP_NOT_FINITE(t) || t < INGEST_MIN_TS || t > INGEST_MAX_TS)
		return writer_reject(ctx, psprintf("%s is outside the years 1900 to 9999", what));
	return true;
}

static bool
ip_ok(IngestCtx *ctx, const char *ip, char **out, const char *what)
{
	char		buf[INGEST_IP_BUFLEN];

	*out = NULL;
	if (ip == NULL)
		return true;
	if (!ingest_parse_ip(ip, buf))
		return writer_reject(ctx, psprintf("%s \"%.100s\" is not an IP address", what, ip));
	*out = bdup(ctx, buf);
	return true;
}

/* ---- what parsers call ----------------------------------------------------------- */

void
ingest_resource(IngestCtx *ctx, const IngestResource *r)
{
	ResItem    *it;
	char	   *uid;

	if (!accepting(ctx))
		return;
	if ((uid = canon_uid(ctx, r->uid, "resource")) == NULL)
		return;
	if (r->kind == NULL || str_lookup(ctx->res_kinds, r->kind) == NULL)
	{
		writer_reject(ctx, psprintf("resource \"%.200s\" has unknown kind \"%s\"", uid, r->kind ? r->kind : "(null)"));
		return;
	}
	if (r->criticality > 1 || isnan(r->criticality))
	{
		writer_reject(ctx, psprintf("resource \"%.200s\" has criticality outside [0,1]", uid));
		return;
	}
	if (!json_ok(ctx, r->labels_json, "resource labels") || !json_ok(ctx, r->props_json, "resource props"))
		return;
	if (r->seen_at != 0 && !time_ok(ctx, r->seen_at, "the resource's time"))
		return;

	GROW(ctx->res, ctx->nres, ctx->maxres, ResItem);
	it = &ctx->res[ctx->nres++];
	it->uid = uid;
	it->kind = bdup(ctx, r->kind);
	it->name = bdup(ctx, r->name);
	it->account = bdup(ctx, r->account);
	it->region = bdup(ctx, r->region);
	it->cluster = bdup(ctx, r->cluster);
	it->namespace = bdup(ctx, r->namespace);
	it->labels = bdup(ctx, r->labels_json);
	it->props = bdup(ctx, r->props_json);
	it->criticality = r->criticality;
	it->seen = r->seen_at ? r->seen_at : ctx->cur_seen;
}

void
ingest_link(IngestCtx *ctx, const char *src_uid, const char *dst_uid, const char *kind,
			double likelihood, const char *props_json)
{
	LinkItem   *it;
	char	   *src,
			   *dst;

	if (!accepting(ctx))
		return;
	if ((src = canon_uid(ctx, src_uid, "relationship source")) == NULL ||
		(dst = canon_uid(ctx, dst_uid, "relationship target")) == NULL)
		return;
	if (kind == NULL || str_lookup(ctx->rel_kinds, kind) == NULL)
	{
		writer_reject(ctx, psprintf("unknown relationship kind \"%s\"", kind ? kind : "(null)"));
		return;
	}
	if (likelihood > 1 || isnan(likelihood))
	{
		writer_reject(ctx, psprintf("relationship likelihood %g is outside (0,1]", likelihood));
		return;
	}
	if (!json_ok(ctx, props_json, "relationship props"))
		return;

	GROW(ctx->links, ctx->nlinks, ctx->maxlinks, LinkItem);
	it = &ctx->links[ctx->nlinks++];
	it->src = src;
	it->dst = dst;
	it->kind = bdup(ctx, kind);
	it->likelihood = likelihood;
	it->props = bdup(ctx, props_json);
	it->seen = ctx->cur_seen;
}

static const char *const domains[] = {"network", "identity", "workload", "kubernetes", "data", "cloud", "compliance", NULL};

void
ingest_event(IngestCtx *ctx, const IngestEvent *e)
{
	EventItem  *it;
	char	   *actor = NULL,
			   *target = NULL,
			   *sip,
			   *dip;

	if (!accepting(ctx))
		return;
	if (!time_ok(ctx, e->ts, "the event time"))
		return;
	if (e->class_uid < 0 || e->class_uid > 999999 || e->activity_id > 99 ||
		e->severity_id > 99 || e->dst_port > 65535)
	{
		writer_reject(ctx, psprintf("event field out of range: class_uid %d, activity_id %d, severity_id %d, dst_port %d",
									e->class_uid, e->activity_id, e->severity_id, e->dst_port));
		return;
	}
	if (e->domain)
	{
		int			i;

		for (i = 0; domains[i] && strcmp(domains[i], e->domain) != 0; i++)
			;
		if (domains[i] == NULL)
		{
			writer_reject(ctx, psprintf("unknown event domain \"%s\"", e->domain));
			return;
		}
	}
	if (e->actor_uid && (actor = canon_uid(ctx, e->actor_uid, "event actor")) == NULL)
		return;
	if (e->target_uid && (target = canon_uid(ctx, e->target_uid, "event target")) == NULL)
		return;
	if (!ip_ok(ctx, e->src_ip, &sip, "source address") || !ip_ok(ctx, e->dst_ip, &dip, "destination address"))
		return;
	if (e->link_kind && str_lookup(ctx->rel_kinds, e->link_kind) == NULL)
	{
		writer_reject(ctx, psprintf("unknown relationship kind \"%s\"", e->link_kind));
		return;
	}
	if (e->raw_jsonb == NULL && !json_ok(ctx, e->raw_json, "the record"))
		return;

	GROW(ctx->events, ctx->nevents, ctx->maxevents, EventItem);
	it = &ctx->events[ctx->nevents++];
	it->ts = e->ts;
	if (e->uid)
		it->uid = bdup(ctx, e->uid);
	else
	{
		MemoryContext old = MemoryContextSwitchTo(ctx->batchcxt);

		it->uid = e->raw_json ? ingest_content_hash(e->raw_json, strlen(e->raw_json))
			: ingest_content_hash(ctx->cur_raw ? ctx->cur_raw : "", ctx->cur_rawlen);
		/* a hash of the record as received: keyed when the record held personal data */
		if (ctx->pseudo)
			it->uid = pseudo_token(ctx->pseudo, it->uid, strlen(it->uid));
		MemoryContextSwitchTo(old);
	}
	it->class_uid = e->class_uid;
	it->activity_id = e->activity_id;
	it->domain = bdup(ctx, e->domain);
	it->severity_id = e->severity_id;
	it->actor = actor;
	it->target = target;
	it->src_ip = sip;
	it->dst_ip = dip;
	it->dst_port = e->dst_port;
	it->process = bdup(ctx, e->process);
	it->command_line = bdup(ctx, e->command_line);
	it->action = bdup(ctx, e->action);
	it->outcome = bdup(ctx, e->outcome);
	it->rule = bdup(ctx, e->rule);
	if (e->raw_jsonb)
	{
		it->raw = NULL;
		it->rawb = MemoryContextAlloc(ctx->batchcxt, VARSIZE(e->raw_jsonb));
		memcpy(it->rawb, e->raw_jsonb, VARSIZE(e->raw_jsonb));
	}
	else
	{
		it->rawb = NULL;
		it->raw = (e->raw_json == ctx->cur_raw) ? ctx->cur_raw : bdup(ctx, e->raw_json);
		/* record text as received has not been pseudonymised: not stored under a policy */
		if (ctx->pseudo)
			it->raw = NULL;
	}
	it->src_mode = (e->resolve_src && sip != NULL && actor == NULL) ? (ingest_ip_is_public(sip) ? 2 : 1) : 0;
	it->dst_mode = (e->resolve_dst && dip != NULL && target == NULL) ? (ingest_ip_is_public(dip) ? 2 : 1) : 0;
	it->link_kind = bdup(ctx, e->link_kind);
	it->bytes = e->bytes;
	it->packets = e->packets;
}

static const char *const finding_kinds[] = {"vulnerability", "misconfiguration", "secret", "exposure", "detection", NULL};
static const char *const severities[] = {"unknown", "info", "low", "medium", "high", "critical", NULL};

static const char *
word_in(const char *w, const char *const *list)
{
	if (w == NULL)
		return NULL;
	for (int i = 0; list[i]; i++)
		if (pg_strcasecmp(w, list[i]) == 0)
			return list[i];
	return NULL;
}

void
ingest_finding(IngestCtx *ctx, const IngestFinding *f)
{
	FindingItem *it;
	char	   *res;
	const char *kind,
			   *sev = "unknown";

	if (!accepting(ctx))
		return;
	if ((res = canon_uid(ctx, f->resource_uid, "finding's resource")) == NULL)
		return;
	if ((kind = word_in(f->kind, finding_kinds)) == NULL)
	{
		writer_reject(ctx, psprintf("unknown finding kind \"%s\"", f->kind ? f->kind : "(null)"));
		return;
	}
	if (f->check_id == NULL || f->check_id[0] == '\0')
	{
		writer_reject(ctx, "a finding has no check id");
		return;
	}
	if (f->severity && (sev = word_in(f->severity, severities)) == NULL)
	{
		writer_reject(ctx, psprintf("unknown severity \"%s\"", f->severity));
		return;
	}
	if (f->cvss > 10 || isnan(f->cvss) || f->epss > 1 || isnan(f->epss))
	{
		writer_reject(ctx, psprintf("finding %s: cvss must be in [0,10] and epss in [0,1]", f->check_id));
		return;
	}
	if (!json_ok(ctx, f->props_json, "finding props"))
		return;
	if (f->seen_at != 0 && !time_ok(ctx, f->seen_at, "the finding's time"))
		return;

	GROW(ctx->findings, ctx->nfindings, ctx->maxfindings, FindingItem);
	it = &ctx->findings[ctx->nfindings++];
	it->resource = res;
	it->kind = bdup(ctx, kind);
	it->check_id = bdup(ctx, f->check_id);
	it->package = bdup(ctx, f->package);
	it->title = bdup(ctx, f->title);
	it->severity = bdup(ctx, sev);
	it->cvss = f->cvss;
	it->epss = f->epss;
	it->known_exploited = f->known_exploited;
	it->installed_version = bdup(ctx, f->installed_version);
	it->fixed_version = bdup(ctx, f->fixed_version);
	it->props = bdup(ctx, f->props_json);
	it->seen = f->seen_at ? f->seen_at : ctx->cur_seen;
}

void
ingest_ip_lease(IngestCtx *ctx, const char *ip, const char *resource_uid,
				TimestampTz valid_from, TimestampTz valid_to)
{
	LeaseItem  *it;
	char	   *res,
			   *canon;

	if (!accepting(ctx))
		return;
	if (!ip_ok(ctx, ip, &canon, "leased address") || canon == NULL)
	{
		if (canon == NULL && !ctx->rec_rejected)
			writer_reject(ctx, "an IP lease has no address");
		return;
	}
	if ((res = canon_uid(ctx, resource_uid, "lease's resource")) == NULL)
		return;
	if (!time_ok(ctx, valid_from, "the lease start"))
		return;
	if (valid_to != 0 && (!time_ok(ctx, valid_to, "the lease end") || valid_to <= valid_from))
	{
		if (!ctx->rec_rejected)
			writer_reject(ctx, "an IP lease ends before it starts");
		return;
	}

	GROW(ctx->leases, ctx->nleases, ctx->maxleases, LeaseItem);
	it = &ctx->leases[ctx->nleases++];
	it->ip = canon;
	it->resource = res;
	it->valid_from = valid_from;
	it->valid_to = valid_to;
}

/* ---- flushing -------------------------------------------------------------------- */

/* Column builders: a Datum array plus nulls, turned into an SQL array. */
typedef struct Col
{
	Datum	   *d;
	bool	   *n;
	int			len;
	Oid			elemtype;
} Col;

static void
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

static Datum
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

static SPIPlanPtr
prepare(const char *sql, int nargs, const Oid *types)
{
	MemoryContext cxt = CurrentMemoryContext;
	SPIPlanPtr	p = SPI_prepare(sql, nargs, (Oid *) types);

	MemoryContextSwitchTo(cxt);
	if (p == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	return p;
}

static void
prepare_plans(IngestCtx *ctx)
{
	static const Oid res_types[] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, FLOAT4ARRAYOID, TIMESTAMPTZARRAYOID};
	static const Oid lookup_types[] = {TEXTARRAYOID};
	static const Oid link_types[] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID,
	TEXTARRAYOID, TEXTOID, TIMESTAMPTZARRAYOID};
	static const Oid lease_types[] = {TEXTARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, TEXTOID};
	static const Oid leases_of_types[] = {TEXTARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	static const Oid finding_types[] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, FLOAT4ARRAYOID, FLOAT4ARRAYOID, BOOLARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, TEXTOID, TIMESTAMPTZARRAYOID};
	static const Oid event_types[] = {TEXTOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
		TEXTARRAYOID, INT4ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID, INT4ARRAYOID,
	INT4ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	static const Oid reject_types[] = {TEXTOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	static const Oid widen_res_types[] = {INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID};
	static const Oid widen_link_types[] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
	TIMESTAMPTZARRAYOID};

	if (ctx->plan_res)
		return;
	ctx->plan_res = prepare("SELECT u.stored_uid, u.stored_id FROM correlate._ingest_resources($1, $2, $3, $4, $5, $6, $7, "
							"$8::jsonb[], $9::jsonb[], $10, $11) AS u", 11, res_types);
	ctx->plan_lookup = prepare("SELECT r.uid, r.id, r.kind FROM correlate.resource r "
							   "WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.uid = ANY ($1)",
							   1, lookup_types);
	ctx->plan_link = prepare("SELECT correlate._ingest_links($1, $2, $3, $4, $5::jsonb[], $6, $7)", 7, link_types);
	ctx->plan_lease = prepare("SELECT count(correlate.record_ip_lease(u.ip, u.r, u.f, u.t, $5)) "
							  "FROM unnest($1::inet[], $2, $3, $4) WITH ORDINALITY AS u(ip, r, f, t, o)",
							  5, lease_types);
	ctx->plan_leases_of = prepare("SELECT q.ip, l.resource, lower(l.valid), upper(l.valid), lower_inc(l.valid), "
								  "upper_inc(l.valid), upper_inf(l.valid), l.id "
								  "FROM unnest($1::text[]) AS q(ip) JOIN correlate.ip_lease l "
								  "ON l.tenant = (SELECT correlate.current_tenant()) AND l.ip = q.ip::inet "
								  "WHERE l.valid && tstzrange($2, $3, '[]')",
								  3, leases_of_types);
	ctx->plan_finding = prepare("SELECT count(correlate.record_finding(u.r, u.k, u.c, u.sev, u.title, u.pkg, "
								"u.cvss, u.epss, u.ke, u.iv, u.fv, NULL, u.p::jsonb, $13, u.s)) "
								"FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14) "
								"AS u(r, k, c, sev, title, pkg, cvss, epss, ke, iv, fv, p, s)",
								14, finding_types);
	ctx->plan_event = prepare("SELECT e.events, e.relationships, e.resources FROM correlate._ingest_events($1, $2, $3, $4, $5, $6, $7, $8, $9, "
							  "$10::inet[], $11::inet[], $12, $13, $14, $15, $16, $17, $18, "
							  "$19, $20, $21, $22, $23) AS e", 23, event_types);
	ctx->plan_widen_res = prepare("UPDATE correlate.resource AS r SET first_seen = LEAST(r.first_seen, u.f), "
								  "last_seen = GREATEST(r.last_seen, u.l) "
								  "FROM unnest($1::int8[], $2::timestamptz[], $3::timestamptz[]) AS u(id, f, l) "
								  "WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.id = u.id",
								  3, widen_res_types);
	ctx->plan_widen_link = prepare("UPDATE correlate.relationship AS r SET first_seen = LEAST(r.first_seen, u.f), "
								   "last_seen = GREATEST(r.last_seen, u.l) "
								   "FROM unnest($1::int8[], $2::int8[], $3::text[], $4::timestamptz[], $5::timestamptz[]) "
								   "AS u(src, dst, kind, f, l) "
								   "WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.src = u.src "
								   "AND r.dst = u.dst AND r.kind = u.kind",
								   5, widen_link_types);
	ctx->plan_analyze = prepare("SELECT correlate._ingest_analyze()", 0, NULL);
	ctx->plan_reject = prepare("INSERT INTO correlate.ingest_reject AS j (format, recno, reason, raw, digest) "
							   "SELECT $1, u.r, u.why, u.raw, u.d FROM unnest($2, $3, $4, $5) AS u(r, why, raw, d) "
							   "ON CONFLICT (tenant, format, digest) DO NOTHING",
							   5, reject_types);
}

/* ---- the call's cache of written resources and edges ---------------------------- */

#define INGEST_CACHE_MAX 100000

typedef struct CacheEnt
{
	const char *key;			/* uid, or "src/dst/kind"; must be first */
	int64		id;				/* resource id (0 for edges) */
	int64		src;			/* edge ends */
	int64		dst;
	const char *kind;
	uint64		content;
	TimestampTz first;			/* seen range written to the table */
	TimestampTz last;
	TimestampTz want_first;		/* seen range observed */
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

static HTAB *
cache_table(const char *name, MemoryContext cxt)
{
	return string_keyed_table(name, 1024, sizeof(CacheEnt), cxt);
}

static CacheEnt *
cache_find(HTAB *h, const char *key)
{
	return (CacheEnt *) hash_search(h, &key, HASH_FIND, NULL);
}

static void
pending_add(IngestCtx *ctx, const char *key, int64 id, uint64 content, TimestampTz first, TimestampTz last,
			bool written)
{
	PendEnt    *p;

	if (ctx->npend >= ctx->maxpend)
	{
		ctx->maxpend = ctx->maxpend ? 2 * ctx->maxpend : 256;
		ctx->pend = ctx->pend ? repalloc(ctx->pend, sizeof(PendEnt) * ctx->maxpend)
			: palloc(sizeof(PendEnt) * ctx->maxpend);
	}
	p = &ctx->pend[ctx->npend++];
	memset(p, 0, sizeof(*p));
	p->key = pstrdup(key);
	p->id = id;
	p->content = content;
	p->first = first;
	p->last = last;
	p->written = written;
}

static void
pending_link(IngestCtx *ctx, int64 src, int64 dst, const char *kind, uint64 content,
			 TimestampTz first, TimestampTz last, bool written)
{
	pending_add(ctx, psprintf(INT64_FORMAT "/" INT64_FORMAT "/%s", src, dst, kind), 0, content, first, last, written);
	ctx->pend[ctx->npend - 1].is_link = true;
	ctx->pend[ctx->npend - 1].src = src;
	ctx->pend[ctx->npend - 1].dst = dst;
	ctx->pend[ctx->npend - 1].kind = kind;
}

static void exec_plan(SPIPlanPtr plan, Datum *values, const char *nulls, int expect);

/* The flush's writes committed: remember them. */
static void
pending_merge(IngestCtx *ctx)
{
	MemoryContext old;

	if (hash_get_num_entries(ctx->res_cache) + hash_get_num_entries(ctx->link_cache) + ctx->npend > 2 * INGEST_CACHE_MAX)
		flush_widenings(ctx);
	old = MemoryContextSwitchTo(ctx->cachecxt);
	for (int i = 0; i < ctx->npend; i++)
	{
		PendEnt    *p = &ctx->pend[i];
		HTAB	   *h = p->is_link ? ctx->link_cache : ctx->res_cache;
		const char *key = p->key;
		bool		found;
		CacheEnt   *e;

		if (!p->is_link && p->id == 0)
			continue;			/* not stored (rejected by a later check) */
		e = (CacheEnt *) hash_search(h, &key, HASH_ENTER, &found);
		if (!found)
		{
			e->key = pstrdup(p->key);
			e->kind = p->kind ? pstrdup(p->kind) : NULL;
			e->first = e->want_first = p->first;
			e->last = e->want_last = p->last;
		}
		if (p->written || !found)
		{
			/* the table now holds this content and at least this range */
			e->id = p->id;
			e->src = p->src;
			e->dst = p->dst;
			e->content = p->content;
			e->first = Min(e->first, p->first);
			e->last = Max(e->last, p->last);
		}
		e->want_first = Min(e->want_first, p->first);
		e->want_last = Max(e->want_last, p->last);
	}
	MemoryContextSwitchTo(old);
	ctx->npend = 0;
}

/*
 * Writes the time ranges observed since each cached resource or edge was last
 * written, then forgets the caches.
 */
static void
flush_widenings(IngestCtx *ctx)
{
	HASH_SEQ_STATUS hs;
	CacheEnt   *e;

	if (ctx->res_cache)
	{
		Datum		values[3];
		int64	   *ids;
		TimestampTz *fs,
				   *ls;
		int			n = 0,
					max = hash_get_num_entries(ctx->res_cache);

		ids = palloc(sizeof(int64) * Max(max, 1));
		fs = palloc(sizeof(TimestampTz) * Max(max, 1));
		ls = palloc(sizeof(TimestampTz) * Max(max, 1));
		hash_seq_init(&hs, ctx->res_cache);
		while ((e = (CacheEnt *) hash_seq_search(&hs)) != NULL)
			if (e->want_first < e->first || e->want_last > e->last)
			{
				ids[n] = e->id;
				fs[n] = e->want_first;
				ls[n++] = e->want_last;
			}
		if (n > 0)
		{
			values[0] = PointerGetDatum(construct_array((Datum *) ids, n, INT8OID, 8, true, TYPALIGN_DOUBLE));
			values[1] = PointerGetDatum(construct_array((Datum *) fs, n, TIMESTAMPTZOID, 8, true, TYPALIGN_DOUBLE));
			values[2] = PointerGetDatum(construct_array((Datum *) ls, n, TIMESTAMPTZOID, 8, true, TYPALIGN_DOUBLE));
			exec_plan(ctx->plan_widen_res, values, NULL, SPI_OK_UPDATE);
		}
	}
	if (ctx->link_cache)
	{
		Datum		values[5];
		Col			c[5];
		static const Oid t[] = {INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		int			max = hash_get_num_entries(ctx->link_cache);

		for (int k = 0; k < 5; k++)
			col_init(&c[k], max, t[k]);
		hash_seq_init(&hs, ctx->link_cache);
		while ((e = (CacheEnt *) hash_seq_search(&hs)) != NULL)
			if (e->want_first < e->first || e->want_last > e->last)
			{
				col_datum(&c[0], Int64GetDatum(e->src));
				col_datum(&c[1], Int64GetDatum(e->dst));
				col_text(&c[2], e->kind);
				col_datum(&c[3], TimestampTzGetDatum(e->want_first));
				col_datum(&c[4], TimestampTzGetDatum(e->want_last));
			}
		if (c[0].len > 0)
		{
			for (int k = 0; k < 5; k++)
				values[k] = col_array(&c[k]);
			exec_plan(ctx->plan_widen_link, values, NULL, SPI_OK_UPDATE);
		}
	}
	MemoryContextReset(ctx->cachecxt);
	ctx->res_cache = cache_table("correlate ingest resource cache", ctx->cachecxt);
	ctx->link_cache = cache_table("correlate ingest edge cache", ctx->cachecxt);
}

/* uid -> id of this flush (plus looked-up uids) */
struct IdMap
{
	HTAB	   *h;
};

static int64
id_of(IdMap *m, const char *uid)
{
	StrEntry   *e = str_lookup(m->h, uid);

	return e ? e->id : 0;
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool
same_res(const ResItem *a, const ResItem *b)
{
	return strcmp(a->kind, b->kind) == 0 && same_str(a->name, b->name) &&
		same_str(a->account, b->account) && same_str(a->region, b->region) &&
		same_str(a->cluster, b->cluster) && same_str(a->namespace, b->namespace) &&
		same_str(a->labels, b->labels) && same_str(a->props, b->props) &&
		a->criticality == b->criticality;
}

/*
 * Runs a prepared statement.  SPI leaves CurrentMemoryContext set to its
 * procedure context, which lives until SPI_finish; switching back keeps
 * everything the caller allocates afterwards in the caller's (short-lived)
 * context instead of accumulating there for the whole call.
 */
static void
exec_plan(SPIPlanPtr plan, Datum *values, const char *nulls, int expect)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute_plan(plan, values, nulls, false, 0);

	MemoryContextSwitchTo(cxt);
	if (rc != expect)
		elog(ERROR, "correlate ingest: write failed: %s", SPI_result_code_string(rc));
}

/* Hash of everything but the uid and time of a resource report. */
static uint64
res_content(const ResItem *r)
{
	const char *f[9] = {r->kind, r->name, r->account, r->region, r->cluster, r->namespace, r->labels, r->props, NULL};
	/* a negative criticality means "not given"; converting it to uint64 is undefined */
	uint64		h = r->criticality < 0 ? 0 : (uint64) (r->criticality * 1000003);

	for (int i = 0; i < 8; i++)
		h = hash_bytes_extended((const unsigned char *) (f[i] ? f[i] : "\x01"),
								f[i] ? (int) strlen(f[i]) : 1, h + i);
	return h;
}

/* One deduplicated resource row of a flush. */
typedef struct ResRow
{
	int			item;			/* last report of this content */
	TimestampTz first;
	TimestampTz last;
	int			nvariants;		/* reports of the uid with other content, in this flush */
} ResRow;

/*
 * Upserts the resources of items [lo, hi) and fills map with uid -> id.
 * Identical reports of one uid (the same role behind a thousand events) become
 * one row carrying their time range.  A uid this call already wrote with the
 * same content is not written again: its id comes from the call's cache and
 * its time range is widened once, at the end of the call (see
 * flush_widenings).  Different reports of one uid stay separate rows, merged
 * in order by _ingest_resources.
 */
static void
flush_resources(IngestCtx *ctx, int lo, int hi, IdMap *map)
{
	Col			c[11];
	Datum		values[11];
	HTAB	   *seen;
	int			n = hi - lo;
	ResRow	   *rows;
	int			nrows = 0,
				sent = 0,
				pend_start;
	static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, FLOAT4OID, TIMESTAMPTZOID};

	if (n <= 0)
		return;
	pend_start = ctx->npend;
	rows = palloc(sizeof(ResRow) * n);
	seen = str_table("correlate ingest flush resources", n, CurrentMemoryContext);
	for (int i = lo; i < hi; i++)
	{
		ResItem    *r = &ctx->res[i];
		bool		found;
		StrEntry   *e = str_enter(seen, r->uid, &found);
		TimestampTz s = r->seen ? r->seen : GetCurrentTransactionStartTimestamp();

		if (found && strcmp(ctx->res[rows[e->idx].item].kind, r->kind) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("resource \"%s\" is given two kinds, %s and %s", r->uid,
							ctx->res[rows[e->idx].item].kind, r->kind)));
		if (found && same_res(&ctx->res[rows[e->idx].item], r))
		{
			rows[e->idx].first = Min(rows[e->idx].first, s);
			rows[e->idx].last = Max(rows[e->idx].last, s);
			continue;
		}
		if (found)
			rows[e->idx].nvariants++;
		rows[nrows].item = i;
		rows[nrows].first = rows[nrows].last = s;
		rows[nrows].nvariants = found ? rows[e->idx].nvariants : 0;
		e->idx = nrows++;
	}

	for (int k = 0; k < 11; k++)
		col_init(&c[k], 2 * nrows, types[k]);
	for (int row = 0; row < nrows; row++)
	{
		ResItem    *r = &ctx->res[rows[row].item];
		uint64		content = res_content(r);
		CacheEnt   *ce = cache_find(ctx->res_cache, r->uid);
		StrEntry   *se = str_lookup(seen, r->uid);

		if (ce && ce->content == content && rows[se->idx].nvariants == 0)
		{
			bool		found;
			StrEntry   *m = str_enter(map->h, r->uid, &found);

			m->id = ce->id;
			pending_add(ctx, r->uid, ce->id, content, rows[row].first, rows[row].last, false);
			continue;
		}
		pending_add(ctx, r->uid, 0, content, rows[row].first, rows[row].last, true);
		sent++;
		col_text(&c[0], r->uid);
		col_text(&c[1], r->kind);
		col_text(&c[2], r->name);
		col_text(&c[3], r->account);
		col_text(&c[4], r->region);
		col_text(&c[5], r->cluster);
		col_text(&c[6], r->namespace);
		col_text(&c[7], r->labels);
		col_text(&c[8], r->props);
		if (r->criticality >= 0)
			col_datum(&c[9], Float4GetDatum((float4) r->criticality));
		else
			col_null(&c[9]);
		col_datum(&c[10], TimestampTzGetDatum(rows[row].first));
		if (rows[row].last != rows[row].first)
		{
			/* a second row carries the latest time */
			col_text(&c[0], r->uid);
			col_text(&c[1], r->kind);
			for (int k = 2; k < 10; k++)
				col_null(&c[k]);
			col_datum(&c[10], TimestampTzGetDatum(rows[row].last));
		}
	}
	if (sent == 0)
		return;

	for (int i = 0; i < 11; i++)
		values[i] = col_array(&c[i]);
	exec_plan(ctx->plan_res, values, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull,
					found;
		char	   *uid = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		StrEntry   *e = str_enter(map->h, uid, &found);

		e->id = id;
	}
	SPI_freetuptable(SPI_tuptable);

	/*
	 * A uid not returned was stored before and left unchanged, but by a
	 * transaction that committed after the statement's snapshot was taken (the
	 * statement returns rows it left unchanged only when its snapshot sees
	 * them), or it exists with another kind.  A fresh look tells which.
	 */
	{
		HASH_SEQ_STATUS hs;
		StrEntry   *e;
		int			nmiss = 0,
					max = hash_get_num_entries(seen);
		const char **miss = palloc(sizeof(char *) * Max(max, 1));
		const char **kinds = palloc(sizeof(char *) * Max(max, 1));

		hash_seq_init(&hs, seen);
		while ((e = (StrEntry *) hash_seq_search(&hs)) != NULL)
			if (str_lookup(map->h, e->key) == NULL)
			{
				miss[nmiss] = e->key;
				kinds[nmiss++] = ctx->res[rows[e->idx].item].kind;
			}
		lookup_missing(ctx, map, miss, kinds, nmiss);
		hash_seq_init(&hs, seen);
		while ((e = (StrEntry *) hash_seq_search(&hs)) != NULL)
			if (str_lookup(map->h, e->key) == NULL)
			{
				hash_seq_term(&hs);
				ereport(ERROR,
						(errcode(ERRCODE_UNIQUE_VIOLATION),
						 errmsg("resource \"%s\" already exists with another kind", e->key),
						 errdetail("The input names it as a %s.", ctx->res[rows[e->idx].item].kind),
						 errhint("A uid names one entity; give the other entity its own uid.")));
			}
	}
	for (int i = pend_start; i < ctx->npend; i++)
		if (!ctx->pend[i].is_link && ctx->pend[i].id == 0)
			ctx->pend[i].id = id_of(map, ctx->pend[i].key);
	ctx->counts.resources += sent;
}

/* Looks up uids that items refer to but this flush did not upsert. */
/*
 * Adds to map the ids of stored resources among uids that map lacks; with
 * kinds (parallel to uids), only those stored with that kind.
 */
static void
lookup_missing(IngestCtx *ctx, IdMap *map, const char **uids, const char **kinds, int n)
{
	Col			c;
	Datum		values[1];
	HTAB	   *want;
	int			k = 0;

	if (n == 0)
		return;
	want = str_table("correlate ingest missing uids", n, CurrentMemoryContext);
	col_init(&c, n, TEXTOID);
	for (int i = 0; i < n; i++)
	{
		bool		found;
		StrEntry   *w;

		if (uids[i] == NULL || str_lookup(map->h, uids[i]))
			continue;
		w = str_enter(want, uids[i], &found);
		if (!found)
		{
			w->idx = i;
			col_text(&c, uids[i]);
			k++;
		}
	}
	if (k == 0)
		return;
	values[0] = col_array(&c);
	exec_plan(ctx->plan_lookup, values, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull,
					found;
		char	   *uid = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		StrEntry   *e;

		/* with kinds, a uid stored under another kind is not the one wanted */
		if (kinds)
		{
			StrEntry   *w = str_lookup(want, uid);

			if (w == NULL || strcmp(kinds[w->idx], SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3)) != 0)
				continue;
		}
		e = str_enter(map->h, pstrdup(uid), &found);
		e->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
}

/* ---- addresses to lease holders, for one flush's events ---------------------------- */

typedef struct Lease
{
	int64		resource;
	int64		id;
	TimestampTz lo;
	TimestampTz hi;
	bool		hi_inc;
	bool		hi_inf;
	bool		lo_inc;
} Lease;

typedef struct LeaseList
{
	const char *ip;				/* must be first */
	int			n;
	int			max;
	Lease	   *l;
} LeaseList;

/*
 * Reads, in one statement, every lease of the addresses the flush's events
 * resolve that overlaps the events' time span.  Resolving each event against
 * these (resolve_lease) then gives what correlate.resolve_ip() gives, without
 * two index probes per event.
 */
static HTAB *
load_leases(IngestCtx *ctx, int lo, int hi)
{
	HTAB	   *h;
	Col			ips;
	HTAB	   *asked = str_table("correlate ingest lease addresses", 64, CurrentMemoryContext);
	TimestampTz tmin = DT_NOEND,
				tmax = DT_NOBEGIN;
	Datum		values[3];

	col_init(&ips, 2 * (hi - lo), TEXTOID);
	for (int i = lo; i < hi; i++)
	{
		EventItem  *e = &ctx->events[i];
		bool		found;

		if (e->src_mode == 0 && e->dst_mode == 0)
			continue;
		if (e->src_mode > 0)
		{
			str_enter(asked, e->src_ip, &found);
			if (!found)
				col_text(&ips, e->src_ip);
		}
		if (e->dst_mode > 0)
		{
			str_enter(asked, e->dst_ip, &found);
			if (!found)
				col_text(&ips, e->dst_ip);
		}
		tmin = Min(tmin, e->ts);
		tmax = Max(tmax, e->ts);
	}
	if (ips.len == 0)
		return NULL;

	h = string_keyed_table("correlate ingest leases", 64, sizeof(LeaseList), CurrentMemoryContext);

	values[0] = col_array(&ips);
	values[1] = TimestampTzGetDatum(tmin);
	values[2] = TimestampTzGetDatum(tmax);
	exec_plan(ctx->plan_leases_of, values, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull,
					found;
		char	   *ip;
		LeaseList  *ll;
		Lease	   *l;

		CHECK_FOR_INTERRUPTS();	/* an address reused many times has many leases */
		ip = SPI_getvalue(tup, td, 1);
		ll = (LeaseList *) hash_search(h, &ip, HASH_ENTER, &found);
		if (!found)
		{
			ll->n = 0;
			ll->max = 4;
			ll->l = palloc(sizeof(Lease) * ll->max);
		}
		else if (ll->n == ll->max)
		{
			ll->max *= 2;
			ll->l = repalloc(ll->l, sizeof(Lease) * ll->max);
		}
		l = &ll->l[ll->n++];
		l->resource = DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));
		l->lo = DatumGetTimestampTz(SPI_getbinval(tup, td, 3, &isnull));
		l->hi_inf = DatumGetBool(SPI_getbinval(tup, td, 7, &isnull));
		l->hi = l->hi_inf ? DT_NOEND : DatumGetTimestampTz(SPI_getbinval(tup, td, 4, &isnull));
		l->lo_inc = DatumGetBool(SPI_getbinval(tup, td, 5, &isnull));
		l->hi_inc = DatumGetBool(SPI_getbinval(tup, td, 6, &isnull));
		l->id = DatumGetInt64(SPI_getbinval(tup, td, 8, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return h;
}

/*
 * The holder of ip at ts: of the leases containing ts, the one that began last
 * (then the newest), as correlate.resolve_ip() orders them; 0 if none.
 */
static int64
resolve_lease(HTAB *leases, const char *ip, TimestampTz ts)
{
	LeaseList  *ll;
	const Lease *best = NULL;

	if (leases == NULL || ip == NULL)
		return 0;
	ll = (LeaseList *) hash_search(leases, &ip, HASH_FIND, NULL);
	if (ll == NULL)
		return 0;
	for (int i = 0; i < ll->n; i++)
	{
		const Lease *l = &ll->l[i];

		if (ts < l->lo || (ts == l->lo && !l->lo_inc))
			continue;
		if (!l->hi_inf && (ts > l->hi || (ts == l->hi && !l->hi_inc)))
			continue;
		if (best == NULL || l->lo > best->lo || (l->lo == best->lo && l->id > best->id))
			best = l;
	}
	return best ? best->resource : 0;
}

static int64
need_id(IdMap *map, const char *uid)
{
	int64		id = id_of(map, uid);

	if (id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("resource \"%s\" is referred to but was neither reported nor stored before", uid)));
	return id;
}

/*
 * An event's actor or target column: the resource it names, else the holder of
 * its address at its time (then *mode becomes 0, keep), else NULL with *mode
 * naming the fallback the database applies.
 */
static void
put_end(Col *c, IdMap *map, const char *uid, HTAB *leases, const char *ip, TimestampTz ts, int32 *mode)
{
	int64		held;

	if (uid)
		col_datum(c, Int64GetDatum(need_id(map, uid)));
	else if (*mode > 0 && (held = resolve_lease(leases, ip, ts)) != 0)
	{
		col_datum(c, Int64GetDatum(held));
		*mode = 0;
	}
	else
		col_null(c);
}

static int64
count_result(void)
{
	bool		isnull;
	Datum		d;

	if (SPI_processed != 1)
		return 0;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/* Writes the items of records [rlo, rhi) of the batch. */
static void
flush_range(IngestCtx *ctx, int rlo, int rhi)
{
	RecMark    *a = &ctx->recs[rlo];
	RecMark    *b = rhi < ctx->nrecs ? &ctx->recs[rhi] : NULL;
	int			res_hi = b ? b->res : ctx->nres,
				link_hi = b ? b->link : ctx->nlinks,
				ev_hi = b ? b->event : ctx->nevents,
				fi_hi = b ? b->finding : ctx->nfindings,
				le_hi = b ? b->lease : ctx->nleases;
	IdMap		map;
	const char **refs;
	int			nrefs = 0;
	int			maxrefs;

	map.h = str_table("correlate ingest ids", Max(res_hi - a->res, 16), CurrentMemoryContext);
	flush_resources(ctx, a->res, res_hi, &map);

	maxrefs = 2 * (link_hi - a->link) + 2 * (ev_hi - a->event) + (fi_hi - a->finding) + (le_hi - a->lease);
	refs = palloc(sizeof(char *) * Max(maxrefs, 1));
	for (int i = a->link; i < link_hi; i++)
	{
		refs[nrefs++] = ctx->links[i].src;
		refs[nrefs++] = ctx->links[i].dst;
	}
	for (int i = a->event; i < ev_hi; i++)
	{
		refs[nrefs++] = ctx->events[i].actor;
		refs[nrefs++] = ctx->events[i].target;
	}
	for (int i = a->finding; i < fi_hi; i++)
		refs[nrefs++] = ctx->findings[i].resource;
	for (int i = a->lease; i < le_hi; i++)
		refs[nrefs++] = ctx->leases[i].resource;
	lookup_missing(ctx, &map, refs, NULL, nrefs);

	if (link_hi > a->link)
	{
		int			n = link_hi - a->link;
		Col			c[6];
		Datum		values[7];
		static const Oid t[] = {INT8OID, INT8OID, TEXTOID, FLOAT8OID, TEXTOID, TIMESTAMPTZOID};

		for (int k = 0; k < 6; k++)
			col_init(&c[k], n, t[k]);
		for (int i = a->link; i < link_hi; i++)
		{
			LinkItem   *l = &ctx->links[i];
			int64		src = need_id(&map, l->src);
			int64		dst = need_id(&map, l->dst);
			TimestampTz seen = l->seen ? l->seen : GetCurrentTransactionStartTimestamp();
			uint64		content = hash_bytes_extended((const unsigned char *) (l->props ? l->props : ""),
													  l->props ? (int) strlen(l->props) : 0,
													  (uint64) (l->likelihood * 1000003));
			char	   *key = psprintf(INT64_FORMAT "/" INT64_FORMAT "/%s", src, dst, l->kind);
			CacheEnt   *ce = cache_find(ctx->link_cache, key);

			if (ce && ce->content == content)
			{
				pending_link(ctx, src, dst, l->kind, content, seen, seen, false);
				continue;
			}
			pending_link(ctx, src, dst, l->kind, content, seen, seen, true);
			col_datum(&c[0], Int64GetDatum(src));
			col_datum(&c[1], Int64GetDatum(dst));
			col_text(&c[2], l->kind);
			if (l->likelihood > 0)
				col_datum(&c[3], Float8GetDatum(l->likelihood));
			else
				col_null(&c[3]);
			col_text(&c[4], l->props);
			col_datum(&c[5], TimestampTzGetDatum(seen));
		}
		if (c[0].len > 0)
		{
			for (int k = 0; k < 5; k++)
				values[k] = col_array(&c[k]);
			values[5] = CStringGetTextDatum(ctx->format);
			values[6] = col_array(&c[5]);
			exec_plan(ctx->plan_link, values, NULL, SPI_OK_SELECT);
			ctx->counts.relationships += count_result();
			SPI_freetuptable(SPI_tuptable);
		}
	}

	if (le_hi > a->lease)
	{
		int			n = le_hi - a->lease;
		Col			c[4];
		Datum		values[5];
		static const Oid t[] = {TEXTOID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};

		for (int k = 0; k < 4; k++)
			col_init(&c[k], n, t[k]);
		for (int i = a->lease; i < le_hi; i++)
		{
			LeaseItem  *l = &ctx->leases[i];

			col_text(&c[0], l->ip);
			col_datum(&c[1], Int64GetDatum(need_id(&map, l->resource)));
			col_datum(&c[2], TimestampTzGetDatum(l->valid_from));
			if (l->valid_to)
				col_datum(&c[3], TimestampTzGetDatum(l->valid_to));
			else
				col_null(&c[3]);
		}
		for (int k = 0; k < 4; k++)
			values[k] = col_array(&c[k]);
		values[4] = CStringGetTextDatum(ctx->format);
		exec_plan(ctx->plan_lease, values, NULL, SPI_OK_SELECT);
		SPI_freetuptable(SPI_tuptable);
	}

	if (fi_hi > a->finding)
	{
		int			n = fi_hi - a->finding;
		Col			c[13];
		Datum		values[14];
		static const Oid t[] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, FLOAT4OID,
		FLOAT4OID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID};

		for (int k = 0; k < 13; k++)
			col_init(&c[k], n, t[k]);
		for (int i = a->finding; i < fi_hi; i++)
		{
			FindingItem *f = &ctx->findings[i];

			col_datum(&c[0], Int64GetDatum(need_id(&map, f->resource)));
			col_text(&c[1], f->kind);
			col_text(&c[2], f->check_id);
			col_text(&c[3], f->severity);
			col_text(&c[4], f->title);
			col_text(&c[5], f->package ? f->package : "");
			if (f->cvss >= 0)
				col_datum(&c[6], Float4GetDatum((float4) f->cvss));
			else
				col_null(&c[6]);
			if (f->epss >= 0)
				col_datum(&c[7], Float4GetDatum((float4) f->epss));
			else
				col_null(&c[7]);
			col_datum(&c[8], BoolGetDatum(f->known_exploited));
			col_text(&c[9], f->installed_version);
			col_text(&c[10], f->fixed_version);
			col_text(&c[11], f->props);
			col_datum(&c[12], TimestampTzGetDatum(f->seen ? f->seen : GetCurrentTransactionStartTimestamp()));
		}
		for (int k = 0; k < 12; k++)
			values[k] = col_array(&c[k]);
		values[12] = CStringGetTextDatum(ctx->format);
		values[13] = col_array(&c[12]);
		exec_plan(ctx->plan_finding, values, NULL, SPI_OK_SELECT);
		ctx->counts.findings += count_result();
		SPI_freetuptable(SPI_tuptable);
	}

	if (ev_hi > a->event)
	{
		int			n = ev_hi - a->event;
		Col			c[22];
		Datum		values[23];
		static const Oid t[] = {TIMESTAMPTZOID, TEXTOID, INT4OID, INT4OID, TEXTOID, INT4OID, INT8OID, INT8OID,
			TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, INT4OID,
		INT4OID, TEXTOID, INT8OID, INT8OID};

		HTAB	   *seen_ev = str_table("correlate ingest flush events", n, CurrentMemoryContext);
		HTAB	   *leases = load_leases(ctx, a->event, ev_hi);
		DetectBatch *det = detect_batch_begin(ctx->format);	/* NULL: no Sigma rule for the format */

		for (int k = 0; k < 22; k++)
			col_init(&c[k], n, t[k]);
		for (int i = a->event; i < ev_hi; i++)
		{
			EventItem  *e = &ctx->events[i];
			bool		dup;
			int32		src_mode,
						dst_mode;

			/* the same event twice in one flush is stored once (first wins) */
			str_enter(seen_ev, psprintf("%lld/%s", (long long) e->ts, e->uid), &dup);
			if (dup)
				continue;

			col_datum(&c[0], TimestampTzGetDatum(e->ts));
			col_text(&c[1], e->uid);
			col_datum(&c[2], Int32GetDatum(e->class_uid));
			if (e->activity_id >= 0)
				col_datum(&c[3], Int32GetDatum(e->activity_id));
			else
				col_null(&c[3]);
			col_text(&c[4], e->domain);
			if (e->severity_id >= 0)
				col_datum(&c[5], Int32GetDatum(e->severity_id));
			else
				col_null(&c[5]);
			src_mode = e->src_mode;
			dst_mode = e->dst_mode;
			put_end(&c[6], &map, e->actor, leases, e->src_ip, e->ts, &src_mode);
			put_end(&c[7], &map, e->target, leases, e->dst_ip, e->ts, &dst_mode);
			col_text(&c[8], e->src_ip);
			col_text(&c[9], e->dst_ip);
			if (e->dst_port >= 0)
				col_datum(&c[10], Int32GetDatum(e->dst_port));
			else
				col_null(&c[10]);
			col_text(&c[11], e->process);
			col_text(&c[12], e->command_line);
			col_text(&c[13], e->action);
			col_text(&c[14], e->outcome);
			col_text(&c[15], e->rule);
			if (e->rawb || e->raw)
			{
				Datum		rawd = e->rawb ? PointerGetDatum(e->rawb) : DirectFunctionCall1(jsonb_in, CStringGetDatum(e->raw));

				col_datum(&c[16], rawd);
				if (det)
					detect_batch_add(det, e->ts, e->uid, DatumGetJsonbP(rawd));
			}
			else
				col_null(&c[16]);
			col_datum(&c[17], Int32GetDatum(src_mode));
			col_datum(&c[18], Int32GetDatum(dst_mode));
			col_text(&c[19], e->link_kind);
			if (e->bytes >= 0)
				col_datum(&c[20], Int64GetDatum(e->bytes));
			else
				col_null(&c[20]);
			if (e->packets >= 0)
				col_datum(&c[21], Int64GetDatum(e->packets));
			else
				col_null(&c[21]);
		}
		values[0] = CStringGetTextDatum(ctx->format);
		for (int k = 0; k < 22; k++)
			values[k + 1] = col_array(&c[k]);
		exec_plan(ctx->plan_event, values, NULL, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			bool		isnull;
			Datum		d;

			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			if (!isnull)
				ctx->counts.events += DatumGetInt64(d);
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
			if (!isnull)
				ctx->counts.relationships += DatumGetInt64(d);
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
			if (!isnull)
				ctx->counts.resources += DatumGetInt64(d);
		}
		SPI_freetuptable(SPI_tuptable);
		detect_batch_flush(det);
	}
}

/* Errors that one bad record can cause: data exceptions and integrity violations. */
static bool
record_error(ErrorData *edata)
{
	int			class = ERRCODE_TO_CATEGORY(edata->sqlerrcode);

	return class == ERRCODE_DATA_EXCEPTION || class == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
}

/*
 * Tries records [rlo, rhi) in a subtransaction.  On a record error, returns
 * false with *err set (the subtransaction rolled back); other errors propagate.
 */
static bool
try_range(IngestCtx *ctx, int rlo, int rhi, ErrorData **err)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	MemoryContext work;
	IngestCounts saved = ctx->counts;
	volatile bool ok = true;

	work = AllocSetContextCreate(oldcxt, "correlate ingest flush", ALLOCSET_DEFAULT_SIZES);
	ctx->pend = NULL;
	ctx->npend = ctx->maxpend = 0;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(work);
	PG_TRY();
	{
		flush_range(ctx, rlo, rhi);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ctx->counts = saved;
		if (!record_error(edata))
			ReThrowError(edata);
		*err = edata;
		ok = false;
	}
	PG_END_TRY();
	if (ok)
		pending_merge(ctx);
	ctx->pend = NULL;
	ctx->npend = ctx->maxpend = 0;
	MemoryContextDelete(work);
	return ok;
}

static void
bisect(IngestCtx *ctx, int rlo, int rhi, ErrorData *err)
{
	int			mid;
	ErrorData  *e2 = NULL;

	CHECK_FOR_INTERRUPTS();
	if (rhi - rlo == 1)
	{
		RecMark    *m = &ctx->recs[rlo];

		if (!ctx->skip_errors)
			ereport(ERROR,
					(errcode(err->sqlerrcode),
					 errmsg("%s record %lld could not be stored: %s", ctx->format, (long long) m->recno, err->message),
					 err->detail ? errdetail_internal("%s", err->detail) : 0,
					 errhint("Pass on_error => 'skip' to store such records in correlate.ingest_reject and load the rest.")));
		ctx->in_record = false;
		ingest_reject(ctx, m->recno, m->raw, m->rawlen,
					  psprintf("could not be stored: %s%s%s", err->message,
							   err->detail ? " " : "", err->detail ? err->detail : ""));
		return;
	}
	mid = rlo + (rhi - rlo) / 2;
	if (!try_range(ctx, rlo, mid, &e2))
		bisect(ctx, rlo, mid, e2);
	if (!try_range(ctx, mid, rhi, &e2))
		bisect(ctx, mid, rhi, e2);
}

static void
flush_rejects(IngestCtx *ctx)
{
	Col			c[4];
	Datum		values[5];
	static const Oid t[] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};

	if (ctx->nrejects == 0)
		return;
	for (int k = 0; k < 4; k++)
		col_init(&c[k], ctx->nrejects, t[k]);
	for (int i = 0; i < ctx->nrejects; i++)
	{
		col_datum(&c[0], Int64GetDatum(ctx->rejects[i].recno));
		col_text(&c[1], ctx->rejects[i].reason);
		col_text(&c[2], ctx->rejects[i].raw);
		col_text(&c[3], ctx->rejects[i].digest);
	}
	values[0] = CStringGetTextDatum(ctx->format);
	for (int k = 0; k < 4; k++)
		values[k + 1] = col_array(&c[k]);
	exec_plan(ctx->plan_reject, values, NULL, SPI_OK_INSERT);
}

/*
 * Keeps the planner's statistics of resource and relationship in step with
 * what this call writes.  Every foreign-key check of the call reuses one plan,
 * made when the tables looked as they did at the first flush; when the
 * statistics say "nearly empty" that plan can scan all of the tenant's
 * resources for each check, and a 100,000-record load took 40 s instead of 5.
 * ANALYZE counts this transaction's own rows and invalidates those plans, so
 * the next check is planned for the table as it now is.  Run when what this
 * call wrote has grown fourfold (from 1,000 rows) and the tables' statistics
 * count fewer rows than that: a handful of times per call, never for a load
 * into tables that are already large.
 */
static void
keep_statistics(IngestCtx *ctx)
{
	int64		written = ctx->counts.resources + ctx->counts.relationships;
	float4		known = 0;
	Oid			nsp,
				rel;
	HeapTuple	tup;

	if (written < 1000 || written < 4 * ctx->analyzed_at)
		return;
	ctx->analyzed_at = written;
	nsp = get_namespace_oid("correlate", false);
	rel = get_relname_relid("resource", nsp);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
	if (HeapTupleIsValid(tup))
	{
		known = ((Form_pg_class) GETSTRUCT(tup))->reltuples;
		ReleaseSysCache(tup);
	}
	if (known >= (float4) written)
		return;
	exec_plan(ctx->plan_analyze, NULL, NULL, SPI_OK_SELECT);
	SPI_freetuptable(SPI_tuptable);
}

static void
flush_batch(IngestCtx *ctx)
{
	MemoryContext old;
	ErrorData  *err = NULL;

	ctx->in_record = false;
	if (ctx->nrecs == 0 && ctx->nrejects == 0)
		return;
	old = MemoryContextSwitchTo(ctx->batchcxt);
	prepare_plans(ctx);
	if (ctx->nres + ctx->nlinks + ctx->nevents + ctx->nfindings + ctx->nleases > 0 &&
		!try_range(ctx, 0, ctx->nrecs, &err))
		bisect(ctx, 0, ctx->nrecs, err);
	flush_rejects(ctx);
	keep_statistics(ctx);
	MemoryContextSwitchTo(old);

	MemoryContextReset(ctx->batchcxt);
	ctx->recs = NULL;
	ctx->nrecs = ctx->maxrecs = 0;
	ctx->res = NULL;
	ctx->nres = ctx->maxres = 0;
	ctx->links = NULL;
	ctx->nlinks = ctx->maxlinks = 0;
	ctx->events = NULL;
	ctx->nevents = ctx->maxevents = 0;
	ctx->findings = NULL;
	ctx->nfindings = ctx->maxfindings = 0;
	ctx->leases = NULL;
	ctx->nleases = ctx->maxleases = 0;
	ctx->rejects = NULL;
	ctx->nrejects = ctx->maxrejects = 0;
}
