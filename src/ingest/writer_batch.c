/*
 * writer_batch.c
 *		The batch statements.  One flush runs a fixed number of SPI statements
 *		whatever the batch size, each taking whole columns as array parameters:
 *		 1. correlate._ingest_resources()	resources (deduplicated by uid), giving uid -> id
 *		 2. a lookup of uids referenced but not reported in this batch
 *		 3. correlate._ingest_links()		relationships
 *		 4. correlate.record_ip_lease()		over unnest(), in input order
 *		 5. correlate.record_finding()		over unnest()
 *		 6. correlate._ingest_events()		events, with fallback resources and flow counts
 *		Plans are prepared at the first flush of a call.
 */
#include "ingest/writer_int.h"

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

void
wr_prepare_plans(IngestCtx *ctx)
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

	bool		defer;

	if (ctx->plan_res)
		return;

	/*
	 * Between a package update and ALTER EXTENSION correlate UPDATE the schema
	 * is 0.1.0, whose batch functions have no p_defer_seen: call them without
	 * it.  They then widen seen ranges themselves, and the end-of-call
	 * widening repeats it, which changes nothing.
	 */
	defer = SPI_execute("SELECT 1 WHERE to_regprocedure('correlate._ingest_links(bigint[], bigint[], text[], "
						"float8[], jsonb[], text, timestamptz[], boolean)') IS NOT NULL", true, 1) == SPI_OK_SELECT
		&& SPI_processed == 1;
	ctx->plan_res = prepare(defer ? "SELECT u.stored_uid, u.stored_id FROM correlate._ingest_resources($1, $2, $3, $4, "
							"$5, $6, $7, $8::jsonb[], $9::jsonb[], $10, $11, true) AS u"
							: "SELECT u.stored_uid, u.stored_id FROM correlate._ingest_resources($1, $2, $3, $4, "
							"$5, $6, $7, $8::jsonb[], $9::jsonb[], $10, $11) AS u", 11, res_types);
	ctx->plan_lookup = prepare("SELECT r.uid, r.id, r.kind FROM correlate.resource r "
							   "WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.uid = ANY ($1)",
							   1, lookup_types);
	ctx->plan_link = prepare(defer ? "SELECT correlate._ingest_links($1, $2, $3, $4, $5::jsonb[], $6, $7, true)"
							 : "SELECT correlate._ingest_links($1, $2, $3, $4, $5::jsonb[], $6, $7)", 7, link_types);
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
	/*
	 * The end-of-call widening of first/last seen (writer_cache.c): only rows
	 * whose range grows are written, and they are locked in id order first, so
	 * that two sessions widening the same rows as they end wait for one another
	 * instead of deadlocking.
	 */
	ctx->plan_widen_res = prepare("UPDATE correlate.resource AS r SET first_seen = LEAST(r.first_seen, u.f), "
								  "last_seen = GREATEST(r.last_seen, u.l) "
								  "FROM (SELECT q.id, x.f, x.l "
								  "      FROM unnest($1::int8[], $2::timestamptz[], $3::timestamptz[]) AS x(id, f, l) "
								  "      JOIN correlate.resource q ON q.tenant = (SELECT correlate.current_tenant()) "
								  "        AND q.id = x.id "
								  "      WHERE q.first_seen > x.f OR q.last_seen < x.l "
								  "      ORDER BY q.id FOR NO KEY UPDATE OF q) AS u "
								  "WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.id = u.id",
								  3, widen_res_types);
	ctx->plan_widen_link = prepare("UPDATE correlate.relationship AS r SET first_seen = LEAST(r.first_seen, u.f), "
								   "last_seen = GREATEST(r.last_seen, u.l) "
								   "FROM (SELECT q.id, x.f, x.l "
								   "      FROM unnest($1::int8[], $2::int8[], $3::text[], $4::timestamptz[], "
								   "                  $5::timestamptz[]) AS x(src, dst, kind, f, l) "
								   "      JOIN correlate.relationship q ON q.tenant = (SELECT correlate.current_tenant()) "
								   "        AND q.src = x.src AND q.dst = x.dst AND q.kind = x.kind "
								   "      WHERE q.first_seen > x.f OR q.last_seen < x.l "
								   "      ORDER BY q.id FOR NO KEY UPDATE OF q) AS u "
								   "WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.id = u.id",
								   5, widen_link_types);
	ctx->plan_analyze = prepare("SELECT correlate._ingest_analyze()", 0, NULL);
	ctx->plan_reject = prepare("INSERT INTO correlate.ingest_reject AS j (format, recno, reason, raw, digest) "
							   "SELECT $1, u.r, u.why, u.raw, u.d FROM unnest($2, $3, $4, $5) AS u(r, why, raw, d) "
							   "ON CONFLICT (tenant, format, digest) DO NOTHING",
							   5, reject_types);
}

/*
 * Runs a prepared statement.  SPI leaves CurrentMemoryContext set to its
 * procedure context, which lives until SPI_finish; switching back keeps
 * everything the caller allocates afterwards in the caller's (short-lived)
 * context instead of accumulating there for the whole call.
 */
void
wr_exec_plan(SPIPlanPtr plan, Datum *values, const char *nulls, int expect)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute_plan(plan, values, nulls, false, 0);

	MemoryContextSwitchTo(cxt);
	if (rc != expect)
		elog(ERROR, "correlate ingest: write failed: %s", SPI_result_code_string(rc));
}


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
 * wr_flush_widenings).  Different reports of one uid stay separate rows, merged
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
	seen = wr_str_table("correlate ingest flush resources", n, CurrentMemoryContext);
	for (int i = lo; i < hi; i++)
	{
		ResItem    *r = &ctx->res[i];
		bool		found;
		StrEntry   *e = wr_str_enter(seen, r->uid, &found);
		TimestampTz s = r->seen ? r->seen : GetCurrentTransactionStartTimestamp();

		if (found && strcmp(ctx->res[rows[e->idx].item].kind, r->kind) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("resource \"%s\" is given two kinds, %s and %s", r->uid,
							ctx->res[rows[e->idx].item].kind, r->kind)));
		if (found && wr_same_res(&ctx->res[rows[e->idx].item], r))
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
		uint64		content = wr_res_content(r);
		CacheEnt   *ce = wr_cache_find(ctx->res_cache, r->uid);
		StrEntry   *se = wr_str_lookup(seen, r->uid);

		if (ce && ce->content == content && rows[se->idx].nvariants == 0)
		{
			bool		found;
			StrEntry   *m = wr_str_enter(map->h, r->uid, &found);

			m->id = ce->id;
			wr_pending_add(ctx, r->uid, ce->id, content, rows[row].first, rows[row].last, false);
			continue;
		}
		wr_pending_add(ctx, r->uid, 0, content, rows[row].first, rows[row].last, true);
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
	wr_exec_plan(ctx->plan_res, values, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull,
					found;
		char	   *uid = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		StrEntry   *e = wr_str_enter(map->h, uid, &found);

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
			if (wr_str_lookup(map->h, e->key) == NULL)
			{
				miss[nmiss] = e->key;
				kinds[nmiss++] = ctx->res[rows[e->idx].item].kind;
			}
		wr_lookup_missing(ctx, map, miss, kinds, nmiss);
		hash_seq_init(&hs, seen);
		while ((e = (StrEntry *) hash_seq_search(&hs)) != NULL)
			if (wr_str_lookup(map->h, e->key) == NULL)
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
			ctx->pend[i].id = wr_id_of(map, ctx->pend[i].key);
	ctx->counts.resources += sent;
}

/* Looks up uids that items refer to but this flush did not upsert. */
/*
 * Adds to map the ids of stored resources among uids that map lacks; with
 * kinds (parallel to uids), only those stored with that kind.
 */
void
wr_lookup_missing(IngestCtx *ctx, IdMap *map, const char **uids, const char **kinds, int n)
{
	Col			c;
	Datum		values[1];
	HTAB	   *want;
	int			k = 0;

	if (n == 0)
		return;
	want = wr_str_table("correlate ingest missing uids", n, CurrentMemoryContext);
	col_init(&c, n, TEXTOID);
	for (int i = 0; i < n; i++)
	{
		bool		found;
		StrEntry   *w;

		if (uids[i] == NULL || wr_str_lookup(map->h, uids[i]))
			continue;
		w = wr_str_enter(want, uids[i], &found);
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
	wr_exec_plan(ctx->plan_lookup, values, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull,
					found;
		char	   *uid = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		StrEntry   *e;

		/* with kinds, a uid stored under another kind is not the one wanted */
		if (kinds)
		{
			StrEntry   *w = wr_str_lookup(want, uid);

			if (w == NULL || strcmp(kinds[w->idx], SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3)) != 0)
				continue;
		}
		e = wr_str_enter(map->h, pstrdup(uid), &found);
		e->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
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
void
wr_flush_range(IngestCtx *ctx, int rlo, int rhi)
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

	map.h = wr_str_table("correlate ingest ids", Max(res_hi - a->res, 16), CurrentMemoryContext);
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
	wr_lookup_missing(ctx, &map, refs, NULL, nrefs);

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
			int64		src = wr_need_id(&map, l->src);
			int64		dst = wr_need_id(&map, l->dst);
			TimestampTz seen = l->seen ? l->seen : GetCurrentTransactionStartTimestamp();
			uint64		content = hash_bytes_extended((const unsigned char *) (l->props ? l->props : ""),
													  l->props ? (int) strlen(l->props) : 0,
													  (uint64) (l->likelihood * 1000003));
			char	   *key = psprintf(INT64_FORMAT "/" INT64_FORMAT "/%s", src, dst, l->kind);
			CacheEnt   *ce = wr_cache_find(ctx->link_cache, key);

			if (ce && ce->content == content)
			{
				wr_pending_link(ctx, src, dst, l->kind, content, seen, seen, false);
				continue;
			}
			wr_pending_link(ctx, src, dst, l->kind, content, seen, seen, true);
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
			wr_exec_plan(ctx->plan_link, values, NULL, SPI_OK_SELECT);
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
			col_datum(&c[1], Int64GetDatum(wr_need_id(&map, l->resource)));
			col_datum(&c[2], TimestampTzGetDatum(l->valid_from));
			if (l->valid_to)
				col_datum(&c[3], TimestampTzGetDatum(l->valid_to));
			else
				col_null(&c[3]);
		}
		for (int k = 0; k < 4; k++)
			values[k] = col_array(&c[k]);
		values[4] = CStringGetTextDatum(ctx->format);
		wr_exec_plan(ctx->plan_lease, values, NULL, SPI_OK_SELECT);
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

			col_datum(&c[0], Int64GetDatum(wr_need_id(&map, f->resource)));
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
		wr_exec_plan(ctx->plan_finding, values, NULL, SPI_OK_SELECT);
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

		HTAB	   *seen_ev = wr_str_table("correlate ingest flush events", n, CurrentMemoryContext);
		HTAB	   *leases = wr_load_leases(ctx, a->event, ev_hi);
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
			wr_str_enter(seen_ev, psprintf("%lld/%s", (long long) e->ts, e->uid), &dup);
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
			wr_put_end(&c[6], &map, e->actor, leases, e->src_ip, e->ts, &src_mode);
			wr_put_end(&c[7], &map, e->target, leases, e->dst_ip, e->ts, &dst_mode);
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
		wr_exec_plan(ctx->plan_event, values, NULL, SPI_OK_SELECT);
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
