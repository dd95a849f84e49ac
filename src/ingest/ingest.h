/*
 * ingest.h
 *		The contract between format parsers and the batch writer.
 *
 * Parsers (fmt_*.c, which may include json-c) read their input and describe
 * what they saw by calling the ingest_* functions below, naming resources only
 * by canonical uid (see model/uid.h).  The writer (writer.c, which must not
 * include json-c) buffers records in batches of correlate.ingest_batch_size and
 * flushes them through the core write API in bulk: resources first (building a
 * uid -> id map), then relationships, ip leases, findings and events with their
 * uids resolved to ids.  Strings passed in are copied; JSON arguments are JSON
 * text (e.g. from json_object_to_json_string) or NULL.
 *
 * Parsers build IngestResource / IngestEvent / IngestFinding with the
 * ingest_*_init() functions (which set every "not given" field) and then fill
 * in what the input has.  Records are handled one at a time: the driver calls
 * ingest_record_start() before each one (json_util.c does this for JSON and
 * line-oriented inputs), everything passed to the writer after it belongs to
 * that record, and a reject discards all of it.  Strings the parser allocates
 * for one record belong in ingest_record_context(), which is reset per record.
 *
 * This header deliberately includes nothing from utils/builtins.h so that json-c
 * users can include it.
 */
#ifndef CORRELATE_INGEST_H
#define CORRELATE_INGEST_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef struct IngestCtx IngestCtx;

/* Counters returned by correlate.ingest(). */
typedef struct IngestCounts
{
	int64		events;
	int64		resources;
	int64		relationships;
	int64		findings;
	int64		rejected;
} IngestCounts;

typedef struct IngestResource
{
	const char *uid;			/* canonical uid (required) */
	const char *kind;			/* correlate.resource_kind (required) */
	const char *name;
	const char *account;
	const char *region;
	const char *cluster;
	const char *namespace;
	const char *labels_json;	/* JSON object text or NULL */
	const char *props_json;		/* JSON object text or NULL */
	double		criticality;	/* < 0 means "not given" */
	TimestampTz seen_at;		/* 0 means now() */
} IngestResource;

typedef struct IngestEvent
{
	TimestampTz ts;				/* required */
	const char *uid;			/* source's event id; NULL = content hash */
	int			class_uid;		/* OCSF class (required) */
	int			activity_id;	/* < 0 = not given */
	const char *domain;			/* NULL = from class_uid */
	int			severity_id;	/* < 0 = not given */
	const char *actor_uid;		/* resource uids (must also be ingest_resource'd) or NULL */
	const char *target_uid;
	const char *src_ip;			/* textual addresses or NULL */
	const char *dst_ip;
	int			dst_port;		/* < 0 = not given */
	const char *process;
	const char *command_line;
	const char *action;
	const char *outcome;
	const char *rule;
	const char *raw_json;		/* the record as JSON text */

	/*
	 * Added for network telemetry (VPC flow, Falco connections): resolve the
	 * actor / target from src_ip / dst_ip through correlate.ip_lease at ts when
	 * actor_uid / target_uid is NULL (a public address resolves to the
	 * "internet" resource, an unowned private one to its ip:// resource), and,
	 * when link_kind is set, link actor -[link_kind]-> target once per newly
	 * stored event, counting events, bytes and packets and listing dst ports in
	 * the relationship's props.
	 */
	bool		resolve_src;
	bool		resolve_dst;
	const char *link_kind;		/* e.g. "connects_to", or NULL */
	int64		bytes;			/* < 0 = not given */
	int64		packets;		/* < 0 = not given */
} IngestEvent;

typedef struct IngestFinding
{
	const char *resource_uid;	/* required */
	const char *kind;			/* vulnerability, misconfiguration, secret, exposure, detection */
	const char *check_id;		/* required */
	const char *package;
	const char *title;
	const char *severity;		/* unknown/info/low/medium/high/critical (case-insensitive) */
	double		cvss;			/* < 0 = not given */
	double		epss;			/* < 0 = not given */
	bool		known_exploited;
	const char *installed_version;
	const char *fixed_version;
	const char *props_json;
	TimestampTz seen_at;		/* 0 = now() */
} IngestFinding;

/* Set every field to "not given" (NULL, -1, 0 for times). */
extern void ingest_resource_init(IngestResource *r);
extern void ingest_event_init(IngestEvent *e);
extern void ingest_finding_init(IngestFinding *f);

/* Lifecycle, used by the SQL entry points in ingest.c. */
extern IngestCtx *ingest_begin(const char *format, bool skip_errors);
extern void ingest_end(IngestCtx *ctx, IngestCounts *out);

/* The format being ingested ("cloudtrail", ...). */
extern const char *ingest_format(IngestCtx *ctx);

/* Memory context reset at every ingest_record_start(): per-record scratch space. */
extern MemoryContext ingest_record_context(IngestCtx *ctx);

/* True once the current record has been rejected (later calls for it are ignored). */
extern bool ingest_record_rejected(IngestCtx *ctx);

/* Largest JSON value (record or document) parsed at once, in bytes, and the nesting limit. */
extern size_t ingest_max_document_bytes(void);
extern int	ingest_max_depth(void);

/* What parsers call.  recno is the 1-based record number in the input. */
extern void ingest_resource(IngestCtx *ctx, const IngestResource *r);
extern void ingest_link(IngestCtx *ctx, const char *src_uid, const char *dst_uid, const char *kind,
						double likelihood /* <= 0: kind default */ , const char *props_json);
extern void ingest_event(IngestCtx *ctx, const IngestEvent *e);
extern void ingest_finding(IngestCtx *ctx, const IngestFinding *f);
extern void ingest_ip_lease(IngestCtx *ctx, const char *ip, const char *resource_uid,
							TimestampTz valid_from, TimestampTz valid_to /* 0 = open */ );

/*
 * A malformed record: raises ERROR (format, record number, reason) in the
 * default mode; with on_error => 'skip' stores raw text and reason in
 * correlate.ingest_reject and returns, and the parser moves to the next record.
 * Records a parser had already passed to the writer for this record number
 * are discarded too, so a rejected record leaves nothing behind.
 */
extern void ingest_reject(IngestCtx *ctx, int64 recno, const char *raw, size_t rawlen, const char *reason);

/* Marks the start of record recno, so a later reject can discard its partial output. */
extern void ingest_record_start(IngestCtx *ctx, int64 recno);

/*
 * ingest_record_start plus the record's source text (kept with the batch so a
 * record that the database refuses at flush time can still be stored as a
 * reject).  ingest_record_raw() returns that text NUL-terminated: passing it as
 * IngestEvent.raw_json costs no copy.
 */
extern void ingest_record_begin(IngestCtx *ctx, int64 recno, const char *raw, size_t len);
extern const char *ingest_record_raw(IngestCtx *ctx);

/*
 * When the current record was observed (e.g. the event time): resources,
 * relationships and findings reported with no time of their own take it.
 * Without it they take now().
 */
extern void ingest_record_time(IngestCtx *ctx, TimestampTz ts);

/* ---- value helpers shared by parsers (values.c; no json-c) ---- */

/* ISO 8601 / RFC 3339 time ("2026-11-20T10:06:00Z", fractions, offsets, date only). */
extern bool ingest_parse_time(const char *s, TimestampTz *out);

/* Seconds since the Unix epoch (fractions allowed), and nanoseconds. */
extern bool ingest_epoch_to_ts(double secs, TimestampTz *out);
extern bool ingest_epoch_ns_to_ts(int64 ns, TimestampTz *out);

/*
 * Canonical text of one IPv4/IPv6 address into buf (INGEST_IP_BUFLEN bytes);
 * IPv4 octets may have leading zeros (read as decimal).  False if not an address.
 */
#define INGEST_IP_BUFLEN 64
extern bool ingest_parse_ip(const char *s, char *buf);

/*
 * True for a canonical address that is not private (RFC 1918, ULA), loopback,
 * link-local, CGNAT, multicast, unspecified or reserved.  Documentation ranges
 * (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) count as public, because
 * examples use them for internet hosts.
 */
extern bool ingest_ip_is_public(const char *canonical_ip);

/* 32 hex digits identifying len bytes (128-bit, not cryptographic): the uid of id-less events. */
extern char *ingest_content_hash(const char *data, size_t len);

/* False (with *why) when text has a NUL byte or invalid UTF-8. */
extern bool ingest_text_ok(const char *text, size_t len, const char **why);

/* False (with *why) for valid JSON that jsonb refuses: \u0000, an unpaired surrogate escape. */
extern bool ingest_jsonb_safe(const char *json, size_t len, const char **why);

/* Parser entry points: each parses a whole payload (len bytes, not NUL-terminated). */
typedef void (*ingest_parser) (IngestCtx *ctx, const char *payload, size_t len);

/*
 * Streaming parsers (added for ingest_file on large inputs): feed() takes the
 * input in arbitrary chunks, finish() handles what is left at the end.  A
 * format with an opener is read from files in chunks with memory bounded by
 * the batch size and the largest record; other formats get the whole file.
 */
typedef struct IngestStream IngestStream;
struct IngestStream
{
	void		(*feed) (IngestStream *s, const char *buf, size_t len);
	void		(*finish) (IngestStream *s);
};
typedef IngestStream *(*ingest_stream_opener) (IngestCtx *ctx);

extern IngestStream *fmt_cloudtrail_stream(IngestCtx *ctx);
extern IngestStream *fmt_falco_stream(IngestCtx *ctx);
extern IngestStream *fmt_k8s_audit_stream(IngestCtx *ctx);
extern IngestStream *fmt_vpc_flow_stream(IngestCtx *ctx);
extern IngestStream *fmt_ocsf_stream(IngestCtx *ctx);

extern void fmt_cloudtrail(IngestCtx *ctx, const char *payload, size_t len);
extern void fmt_falco(IngestCtx *ctx, const char *payload, size_t len);
extern void fmt_k8s_audit(IngestCtx *ctx, const char *payload, size_t len);
extern void fmt_vpc_flow(IngestCtx *ctx, const char *payload, size_t len);
extern void fmt_ocsf(IngestCtx *ctx, const char *payload, size_t len);
extern void fmt_k8s_inventory(IngestCtx *ctx, const char *payload, size_t len);
extern void fmt_trivy(IngestCtx *ctx, const char *payload, size_t len);
extern void fmt_grype(IngestCtx *ctx, const char *payload, size_t len);
extern void fmt_aws_iam(IngestCtx *ctx, const char *payload, size_t len);

#endif							/* CORRELATE_INGEST_H */
