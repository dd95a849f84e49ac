/*
 * writer.c
 *		The batch writer behind ingest.h, lifecycle part: the call (begin, end),
 *		its records (each one's start, raw text and time), rejects, and the flush
 *		of one batch.  The other parts are listed in writer_int.h.
 *
 * Items are appended to one array per entity.  The batch also remembers, per
 * record, where its items start, so that a reject can drop the record's items
 * (nothing of a rejected record is written) and so that a failed flush can be
 * retried on halves of the batch to find the offending record (writer_bisect.c).
 *
 * Flushing.  One flush runs a fixed number of SPI statements whatever the
 * batch size (writer_batch.c), inside a subtransaction.  If the database
 * rejects the batch with a data or integrity error (SQLSTATE classes 22 and
 * 23), the subtransaction is rolled back and the batch is bisected to the
 * first failing record, which is then reported as a reject ('skip') or an
 * ERROR naming its record number ('error').  Other errors (cancel, permission,
 * out of memory) propagate untouched.  Rejects are inserted after the batch,
 * outside the subtransaction.
 *
 * The writer validates in C everything it can attribute to a record (uids,
 * kinds, times, addresses, ranges, JSON that jsonb cannot store;
 * writer_validate.c), so database errors are the exception, not the control flow.
 */
#include "ingest/writer_int.h"

/* ---- lifecycle --------------------------------------------------------------- */

static void
load_kinds(IngestCtx *ctx)
{
	const char *q[2] = {"SELECT kind FROM correlate.resource_kind",
	"SELECT kind FROM correlate.relationship_kind"};

	ctx->res_kinds = wr_str_table("correlate resource kinds", 128, ctx->callcxt);
	ctx->rel_kinds = wr_str_table("correlate relationship kinds", 64, ctx->callcxt);
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

			wr_str_enter(t == 0 ? ctx->res_kinds : ctx->rel_kinds,
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
	ctx->res_cache = wr_cache_table("correlate ingest resource cache", ctx->cachecxt);
	ctx->link_cache = wr_cache_table("correlate ingest edge cache", ctx->cachecxt);
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


void
ingest_record_begin(IngestCtx *ctx, int64 recno, const char *raw, size_t len)
{
	RecMark    *m;

	CHECK_FOR_INTERRUPTS();
	if (ctx->nrecs >= ctx->batch_size)
		wr_flush_batch(ctx);
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
	wr_flush_batch(ctx);
	if (ctx->plan_res)
		wr_flush_widenings(ctx);
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

		if ((size_t) buf.len >= max)
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
bool
wr_reject_record(IngestCtx *ctx, const char *reason)
{
	ingest_reject(ctx, ctx->recno, ctx->cur_raw, ctx->cur_rawlen, reason);
	return false;
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
	wr_exec_plan(ctx->plan_reject, values, NULL, SPI_OK_INSERT);
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
	wr_exec_plan(ctx->plan_analyze, NULL, NULL, SPI_OK_SELECT);
	SPI_freetuptable(SPI_tuptable);
}

void
wr_flush_batch(IngestCtx *ctx)
{
	MemoryContext old;
	ErrorData  *err = NULL;

	ctx->in_record = false;
	if (ctx->nrecs == 0 && ctx->nrejects == 0)
		return;
	old = MemoryContextSwitchTo(ctx->batchcxt);
	wr_prepare_plans(ctx);
	if (ctx->nres + ctx->nlinks + ctx->nevents + ctx->nfindings + ctx->nleases > 0 &&
		!wr_try_range(ctx, 0, ctx->nrecs, &err))
		wr_bisect(ctx, 0, ctx->nrecs, err);
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
