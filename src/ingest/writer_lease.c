/*
 * writer_lease.c
 *		Lease resolution: the addresses a flush's events resolve, read with their
 *		leases in one statement, and each event's actor / target as the lease
 *		holder at its time (what correlate.resolve_ip() gives for one address).
 */
#include "ingest/writer_int.h"

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
HTAB *
wr_load_leases(IngestCtx *ctx, int lo, int hi)
{
	HTAB	   *h;
	Col			ips;
	HTAB	   *asked = wr_str_table("correlate ingest lease addresses", 64, CurrentMemoryContext);
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
			wr_str_enter(asked, e->src_ip, &found);
			if (!found)
				col_text(&ips, e->src_ip);
		}
		if (e->dst_mode > 0)
		{
			wr_str_enter(asked, e->dst_ip, &found);
			if (!found)
				col_text(&ips, e->dst_ip);
		}
		tmin = Min(tmin, e->ts);
		tmax = Max(tmax, e->ts);
	}
	if (ips.len == 0)
		return NULL;

	h = wr_string_keyed_table("correlate ingest leases", 64, sizeof(LeaseList), CurrentMemoryContext);

	values[0] = col_array(&ips);
	values[1] = TimestampTzGetDatum(tmin);
	values[2] = TimestampTzGetDatum(tmax);
	wr_exec_plan(ctx->plan_leases_of, values, NULL, SPI_OK_SELECT);
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

int64
wr_need_id(IdMap *map, const char *uid)
{
	int64		id = wr_id_of(map, uid);

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
void
wr_put_end(Col *c, IdMap *map, const char *uid, HTAB *leases, const char *ip, TimestampTz ts, int32 *mode)
{
	int64		held;

	if (uid)
		col_datum(c, Int64GetDatum(wr_need_id(map, uid)));
	else if (*mode > 0 && (held = resolve_lease(leases, ip, ts)) != 0)
	{
		col_datum(c, Int64GetDatum(held));
		*mode = 0;
	}
	else
		col_null(c);
}
