/*
 * writer_bisect.c
 *		Bisection of refused batches: a flush runs in a subtransaction; when the
 *		database refuses it with an error one record can cause (a data exception
 *		or an integrity violation), the halves are retried until the record at
 *		fault is found, which becomes a reject (on_error 'skip') or an ERROR
 *		naming it.  Other errors propagate untouched.
 */
#include "ingest/writer_int.h"

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
bool
wr_try_range(IngestCtx *ctx, int rlo, int rhi, ErrorData **err)
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
		wr_flush_range(ctx, rlo, rhi);
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
		wr_pending_merge(ctx);
	ctx->pend = NULL;
	ctx->npend = ctx->maxpend = 0;
	MemoryContextDelete(work);
	return ok;
}

void
wr_bisect(IngestCtx *ctx, int rlo, int rhi, ErrorData *err)
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
	if (!wr_try_range(ctx, rlo, mid, &e2))
		wr_bisect(ctx, rlo, mid, e2);
	if (!wr_try_range(ctx, mid, rhi, &e2))
		wr_bisect(ctx, mid, rhi, e2);
}
