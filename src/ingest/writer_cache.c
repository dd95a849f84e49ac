/*
 * writer_cache.c
 *		Entity caches: string-keyed hash tables, and the call's memo of the
 *		resources and edges it has written (content hash and seen range), so that
 *		later flushes do not rewrite unchanged ones; the seen ranges observed since
 *		are written once, at the end of the call or when the memo is full
 *		(wr_flush_widenings).
 */
#include "ingest/writer_int.h"

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
HTAB *
wr_string_keyed_table(const char *name, long nelem, Size entrysize, MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(char *);
	ctl.entrysize = entrysize;
	ctl.hash = str_hash;
	ctl.match = str_match;
	ctl.hcxt = cxt;
	return hash_create(name, nelem, &ctl, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

HTAB *
wr_str_table(const char *name, long nelem, MemoryContext cxt)
{
	return wr_string_keyed_table(name, nelem, sizeof(StrEntry), cxt);
}

StrEntry *
wr_str_lookup(HTAB *h, const char *key)
{
	return (StrEntry *) hash_search(h, &key, HASH_FIND, NULL);
}

StrEntry *
wr_str_enter(HTAB *h, const char *key, bool *found)
{
	return (StrEntry *) hash_search(h, &key, HASH_ENTER, found);
}

HTAB *
wr_cache_table(const char *name, MemoryContext cxt)
{
	return wr_string_keyed_table(name, 1024, sizeof(CacheEnt), cxt);
}

CacheEnt *
wr_cache_find(HTAB *h, const char *key)
{
	return (CacheEnt *) hash_search(h, &key, HASH_FIND, NULL);
}

void
wr_pending_add(IngestCtx *ctx, const char *key, int64 id, uint64 content, TimestampTz first, TimestampTz last,
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

void
wr_pending_link(IngestCtx *ctx, int64 src, int64 dst, const char *kind, uint64 content,
			 TimestampTz first, TimestampTz last, bool written)
{
	wr_pending_add(ctx, psprintf(INT64_FORMAT "/" INT64_FORMAT "/%s", src, dst, kind), 0, content, first, last, written);
	ctx->pend[ctx->npend - 1].is_link = true;
	ctx->pend[ctx->npend - 1].src = src;
	ctx->pend[ctx->npend - 1].dst = dst;
	ctx->pend[ctx->npend - 1].kind = kind;
}


/* The flush's writes committed: remember them. */
void
wr_pending_merge(IngestCtx *ctx)
{
	MemoryContext old;

	if (hash_get_num_entries(ctx->res_cache) + hash_get_num_entries(ctx->link_cache) + ctx->npend > 2 * INGEST_CACHE_MAX)
		wr_flush_widenings(ctx);
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
			e->want_first = p->first;
			e->want_last = p->last;
		}
		if (p->written || !found)
		{
			/*
			 * The table now holds this content.  Its seen range may not have
			 * been written (_ingest_resources and _ingest_links defer it): the
			 * range observed is written once, by wr_flush_widenings.
			 */
			e->id = p->id;
			e->src = p->src;
			e->dst = p->dst;
			e->content = p->content;
		}
		e->want_first = Min(e->want_first, p->first);
		e->want_last = Max(e->want_last, p->last);
	}
	MemoryContextSwitchTo(old);
	ctx->npend = 0;
}

/*
 * Writes the seen range observed for each cached resource and edge (only rows
 * whose stored range it widens are touched), then forgets the caches.
 */
void
wr_flush_widenings(IngestCtx *ctx)
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
			wr_exec_plan(ctx->plan_widen_res, values, NULL, SPI_OK_UPDATE);
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
			wr_exec_plan(ctx->plan_widen_link, values, NULL, SPI_OK_UPDATE);
		}
	}
	MemoryContextReset(ctx->cachecxt);
	ctx->res_cache = wr_cache_table("correlate ingest resource cache", ctx->cachecxt);
	ctx->link_cache = wr_cache_table("correlate ingest edge cache", ctx->cachecxt);
}

int64
wr_id_of(IdMap *m, const char *uid)
{
	StrEntry   *e = wr_str_lookup(m->h, uid);

	return e ? e->id : 0;
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool
wr_same_res(const ResItem *a, const ResItem *b)
{
	return strcmp(a->kind, b->kind) == 0 && same_str(a->name, b->name) &&
		same_str(a->account, b->account) && same_str(a->region, b->region) &&
		same_str(a->cluster, b->cluster) && same_str(a->namespace, b->namespace) &&
		same_str(a->labels, b->labels) && same_str(a->props, b->props) &&
		a->criticality == b->criticality;
}

uint64
wr_res_content(const ResItem *r)
{
	const char *f[9] = {r->kind, r->name, r->account, r->region, r->cluster, r->namespace, r->labels, r->props, NULL};
	/* a negative criticality means "not given"; converting it to uint64 is undefined */
	uint64		h = r->criticality < 0 ? 0 : (uint64) (r->criticality * 1000003);

	for (int i = 0; i < 8; i++)
		h = hash_bytes_extended((const unsigned char *) (f[i] ? f[i] : "\x01"),
								f[i] ? (int) strlen(f[i]) : 1, h + i);
	return h;
}

