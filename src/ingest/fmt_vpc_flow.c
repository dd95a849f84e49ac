/*
 * fmt_vpc_flow.c
 *		AWS VPC (and Transit Gateway) flow log records -> Network Activity
 *		(4001) events and connects_to edges between the resources that held the
 *		addresses at the time.
 *
 * Input: space-separated text, one record per line, as delivered to S3 or
 * CloudWatch.  Without a header the default version 2 field order applies:
 *	 version account-id interface-id srcaddr dstaddr srcport dstport protocol
 *	 packets bytes start end action log-status
 * A header line (its first field is "version", or it names srcaddr) sets the
 * order for the lines after it, so custom formats (versions 3 to 7, Transit
 * Gateway) work; a header with commas makes the lines comma-separated (CSV
 * exports, with field names using '_' for '-').  A field holding "-" has no
 * value.  NODATA and SKIPDATA records, and other records with no addresses,
 * carry no flow: they are counted neither as events nor as rejects.
 *
 * Each flow is one event at its start time (uid: a content hash of the line).
 * Addresses (pkt-srcaddr / pkt-dstaddr when given, else srcaddr / dstaddr)
 * are resolved through ip_lease at that time; a public address resolves to the
 * internet resource and an unowned private one to its ip:// resource.  An
 * ACCEPTed flow links source -connects_to-> destination, with events, bytes,
 * packets and destination ports accumulated in the edge's props.  See
 * docs/formats/vpc_flow.md.
 */
#include "postgres.h"

#include "ingest/json_util.h"

#define VPC_MAX_FIELDS 64

typedef enum VpcField
{
	F_OTHER = 0,
	F_VERSION,
	F_SRCADDR,
	F_DSTADDR,
	F_SRCPORT,
	F_DSTPORT,
	F_PROTOCOL,
	F_PACKETS,
	F_BYTES,
	F_START,
	F_END,
	F_ACTION,
	F_LOG_STATUS,
	F_PKT_SRCADDR,
	F_PKT_DSTADDR
} VpcField;

typedef struct VpcState
{
	int			nfields;
	char	   *names[VPC_MAX_FIELDS];
	VpcField	roles[VPC_MAX_FIELDS];
	bool		numeric[VPC_MAX_FIELDS];
	char		sep;			/* ' ' or ',' */
	MemoryContext cxt;			/* lives as long as the stream */
} VpcState;

static const char *const default_fields[] = {"version", "account-id", "interface-id", "srcaddr", "dstaddr",
	"srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", NULL};

static const char *const numeric_fields[] = {"version", "srcport", "dstport", "protocol", "packets", "bytes",
	"start", "end", "tcp-flags", "packets-lost-no-route", "packets-lost-blackhole",
"packets-lost-mtu-exceeded", "packets-lost-ttl-expired", NULL};

static VpcField
field_role(const char *n)
{
	static const struct
	{
		const char *name;
		VpcField	role;
	}			map[] = {
		{"version", F_VERSION}, {"srcaddr", F_SRCADDR}, {"dstaddr", F_DSTADDR}, {"srcport", F_SRCPORT},
		{"dstport", F_DSTPORT}, {"protocol", F_PROTOCOL}, {"packets", F_PACKETS}, {"bytes", F_BYTES},
		{"start", F_START}, {"end", F_END}, {"action", F_ACTION}, {"log-status", F_LOG_STATUS},
		{"pkt-srcaddr", F_PKT_SRCADDR}, {"pkt-dstaddr", F_PKT_DSTADDR},
	};

	for (size_t i = 0; i < lengthof(map); i++)
		if (strcmp(map[i].name, n) == 0)
			return map[i].role;
	return F_OTHER;
}

static void
set_fields(VpcState *st, char **names, int n, char sep, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	/* cxt lives as long as the stream: free the names of an earlier header */
	for (int i = 0; i < st->nfields; i++)
		pfree(st->names[i]);
	st->nfields = n;
	st->sep = sep;
	for (int i = 0; i < n; i++)
	{
		char	   *c = pstrdup(names[i]);

		for (char *p = c; *p; p++)
			if (*p == '_')
				*p = '-';
		st->names[i] = c;
		st->roles[i] = field_role(c);
		st->numeric[i] = false;
		for (int k = 0; numeric_fields[k]; k++)
			if (strcmp(numeric_fields[k], c) == 0)
				st->numeric[i] = true;
	}
	MemoryContextSwitchTo(old);
}

/* Splits line (modified in place) into at most max fields. */
static int
split(char *line, char sep, char **out, int max)
{
	int			n = 0;
	char	   *p = line;

	if (sep == ',')
	{
		for (;;)
		{
			char	   *c = strchr(p, ',');

			if (n == max)
				return max + 1;
			out[n++] = p;
			if (c == NULL)
				break;
			*c = '\0';
			p = c + 1;
		}
		return n;
	}
	while (*p)
	{
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n == max)
			return max + 1;
		out[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static bool
is_header(char **tok, int n)
{
	if (n == 0)
		return false;
	if (strcmp(tok[0], "version") == 0)
		return true;
	for (int i = 0; i < n; i++)
		if (strcmp(tok[i], "srcaddr") == 0)
			return true;
	return false;
}

static bool
to_int64(const char *s, int64 *out)
{
	char	   *e;
	long long	v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno != 0 || *e != '\0')
		return false;
	*out = v;
	return true;
}

static void
vpc_line(IngestCtx *ctx, const char *line, size_t len, int64 recno, void *arg)
{
	VpcState   *st = (VpcState *) arg;
	char	   *copy = pnstrdup(line, len);
	char	   *tok[VPC_MAX_FIELDS + 1];
	const char *val[F_PKT_DSTADDR + 1];
	char		sep = (st->nfields > 0) ? st->sep : (memchr(line, ',', len) ? ',' : ' ');
	int			n;
	IngestEvent e;
	char		sip[INGEST_IP_BUFLEN],
				dip[INGEST_IP_BUFLEN];
	int64		start,
				v;
	JuBuild		raw;
	const char *src,
			   *dst;

	n = split(copy, sep, tok, VPC_MAX_FIELDS);
	if (n > VPC_MAX_FIELDS)
	{
		ingest_reject(ctx, recno, line, len, psprintf("the line has more than %d fields", VPC_MAX_FIELDS));
		return;
	}
	if (is_header(tok, n))
	{
		set_fields(st, tok, n, sep, st->cxt);
		return;
	}
	if (st->nfields == 0)
	{
		int			k = 0;

		while (default_fields[k])
			k++;
		set_fields(st, (char **) default_fields, k, ' ', st->cxt);
		if (sep == ',')
		{
			ingest_reject(ctx, recno, line, len, "comma-separated flow records need a header line naming the fields");
			return;
		}
	}
	if (n != st->nfields)
	{
		ingest_reject(ctx, recno, line, len,
					  psprintf("the line has %d fields but the format has %d (%s)", n, st->nfields,
							   st->nfields == 14 ? "version 2 default order" : "from the header line"));
		return;
	}

	memset(val, 0, sizeof(val));
	jb_begin(&raw);
	for (int i = 0; i < n; i++)
	{
		const char *t = tok[i];

		if (strcmp(t, "-") == 0)
			continue;
		if (st->roles[i] != F_OTHER)
			val[st->roles[i]] = t;
		if (st->numeric[i] && to_int64(t, &v))
			jb_int(&raw, st->names[i], v);
		else
			jb_str(&raw, st->names[i], t);
	}

	/* records without a flow */
	if (val[F_LOG_STATUS] && (strcmp(val[F_LOG_STATUS], "NODATA") == 0 || strcmp(val[F_LOG_STATUS], "SKIPDATA") == 0))
		return;
	src = val[F_PKT_SRCADDR] ? val[F_PKT_SRCADDR] : val[F_SRCADDR];
	dst = val[F_PKT_DSTADDR] ? val[F_PKT_DSTADDR] : val[F_DSTADDR];
	if (src == NULL && dst == NULL)
		return;

	ingest_event_init(&e);
	if (!to_int64(val[F_START], &start) || !ingest_epoch_to_ts((double) start, &e.ts))
	{
		ingest_reject(ctx, recno, line, len, "the start field is missing or not a Unix time in seconds");
		return;
	}
	if ((src && !ingest_parse_ip(src, sip)) || (dst && !ingest_parse_ip(dst, dip)))
	{
		ingest_reject(ctx, recno, line, len, "srcaddr or dstaddr is not an IP address");
		return;
	}
	if (val[F_DSTPORT])
	{
		if (!to_int64(val[F_DSTPORT], &v) || v < 0 || v > 65535)
		{
			ingest_reject(ctx, recno, line, len, "dstport is not a port number");
			return;
		}
		e.dst_port = (int) v;
	}
	if (val[F_BYTES] && to_int64(val[F_BYTES], &v) && v >= 0)
		e.bytes = v;
	if (val[F_PACKETS] && to_int64(val[F_PACKETS], &v) && v >= 0)
		e.packets = v;

	ingest_record_time(ctx, e.ts);
	e.class_uid = 4001;
	e.domain = "network";
	e.severity_id = 1;
	if (val[F_ACTION] && strcmp(val[F_ACTION], "REJECT") == 0)
	{
		e.activity_id = 5;		/* Refuse */
		e.action = "reject";
		e.outcome = "failure";
	}
	else
	{
		e.activity_id = 6;		/* Traffic */
		e.action = "accept";
		e.outcome = "success";
		e.link_kind = "connects_to";
	}
	e.src_ip = src ? sip : NULL;
	e.dst_ip = dst ? dip : NULL;
	e.resolve_src = true;
	e.resolve_dst = true;
	e.uid = ingest_content_hash(line, len);
	e.raw_json = jb_end(&raw);
	ingest_event(ctx, &e);
}

static VpcState *
vpc_state(void)
{
	VpcState   *st = palloc0(sizeof(VpcState));

	st->cxt = CurrentMemoryContext;
	return st;
}

IngestStream *
fmt_vpc_flow_stream(IngestCtx *ctx)
{
	return ju_line_stream(ctx, vpc_line, vpc_state());
}

void
fmt_vpc_flow(IngestCtx *ctx, const char *payload, size_t len)
{
	ju_line_each(ctx, payload, len, vpc_line, vpc_state());
}
