/*
 * writer_validate.c
 *		Record validation: what parsers call (ingest_resource, ingest_link,
 *		ingest_event, ingest_finding, ingest_ip_lease).  Each report is checked
 *		(canonical uids, known kinds, times, addresses, ranges, JSON that jsonb
 *		cannot store) and copied into the batch; a failed check rejects the
 *		whole record (writer.c), so nothing of it is written.
 */
#include "ingest/writer_int.h"

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
		wr_reject_record(ctx, psprintf("the %s has no uid", what));
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
		wr_reject_record(ctx, psprintf("the %s uid \"%.200s\" is invalid: %s", what, uid, why));
		return NULL;
	}

	if (ctx->canon == NULL || hash_get_num_entries(ctx->canon) >= INGEST_CANON_MAX)
	{
		MemoryContextReset(ctx->canoncxt);
		ctx->canon = wr_string_keyed_table("correlate ingest canonical uids", 1024, sizeof(CanonEnt), ctx->canoncxt);
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
		return wr_reject_record(ctx, psprintf("%s cannot be stored: %s", what, why));
	return true;
}

static bool
time_ok(IngestCtx *ctx, TimestampTz t, const char *what)
{
	/* event partitions and tstzrange need finite, sane times */
	if (TIMESTAMP_NOT_FINITE(t) || t < INGEST_MIN_TS || t > INGEST_MAX_TS)
		return wr_reject_record(ctx, psprintf("%s is outside the years 1900 to 9999", what));
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
		return wr_reject_record(ctx, psprintf("%s \"%.100s\" is not an IP address", what, ip));
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
	if (r->kind == NULL || wr_str_lookup(ctx->res_kinds, r->kind) == NULL)
	{
		wr_reject_record(ctx, psprintf("resource \"%.200s\" has unknown kind \"%s\"", uid, r->kind ? r->kind : "(null)"));
		return;
	}
	if (r->criticality > 1 || isnan(r->criticality))
	{
		wr_reject_record(ctx, psprintf("resource \"%.200s\" has criticality outside [0,1]", uid));
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
	if (kind == NULL || wr_str_lookup(ctx->rel_kinds, kind) == NULL)
	{
		wr_reject_record(ctx, psprintf("unknown relationship kind \"%s\"", kind ? kind : "(null)"));
		return;
	}
	if (likelihood > 1 || isnan(likelihood))
	{
		wr_reject_record(ctx, psprintf("relationship likelihood %g is outside (0,1]", likelihood));
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
		wr_reject_record(ctx, psprintf("event field out of range: class_uid %d, activity_id %d, severity_id %d, dst_port %d",
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
			wr_reject_record(ctx, psprintf("unknown event domain \"%s\"", e->domain));
			return;
		}
	}
	if (e->actor_uid && (actor = canon_uid(ctx, e->actor_uid, "event actor")) == NULL)
		return;
	if (e->target_uid && (target = canon_uid(ctx, e->target_uid, "event target")) == NULL)
		return;
	if (!ip_ok(ctx, e->src_ip, &sip, "source address") || !ip_ok(ctx, e->dst_ip, &dip, "destination address"))
		return;
	if (e->link_kind && wr_str_lookup(ctx->rel_kinds, e->link_kind) == NULL)
	{
		wr_reject_record(ctx, psprintf("unknown relationship kind \"%s\"", e->link_kind));
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
		wr_reject_record(ctx, psprintf("unknown finding kind \"%s\"", f->kind ? f->kind : "(null)"));
		return;
	}
	if (f->check_id == NULL || f->check_id[0] == '\0')
	{
		wr_reject_record(ctx, "a finding has no check id");
		return;
	}
	if (f->severity && (sev = word_in(f->severity, severities)) == NULL)
	{
		wr_reject_record(ctx, psprintf("unknown severity \"%s\"", f->severity));
		return;
	}
	if (f->cvss > 10 || isnan(f->cvss) || f->epss > 1 || isnan(f->epss))
	{
		wr_reject_record(ctx, psprintf("finding %s: cvss must be in [0,10] and epss in [0,1]", f->check_id));
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
			wr_reject_record(ctx, "an IP lease has no address");
		return;
	}
	if ((res = canon_uid(ctx, resource_uid, "lease's resource")) == NULL)
		return;
	if (!time_ok(ctx, valid_from, "the lease start"))
		return;
	if (valid_to != 0 && (!time_ok(ctx, valid_to, "the lease end") || valid_to <= valid_from))
	{
		if (!ctx->rec_rejected)
			wr_reject_record(ctx, "an IP lease ends before it starts");
		return;
	}

	GROW(ctx->leases, ctx->nleases, ctx->maxleases, LeaseItem);
	it = &ctx->leases[ctx->nleases++];
	it->ip = canon;
	it->resource = res;
	it->valid_from = valid_from;
	it->valid_to = valid_to;
}
