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

/* Lifecycle, used by the SQL entry points in ingest.c. */
extern IngestCtx *ingest_begin(const char *format, bool skip_errors);
extern void ingest_end(IngestCtx *ctx, IngestCounts *out);

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

/* Parser entry points: each parses a whole payload (len bytes, not NUL-terminated). */
typedef void (*ingest_parser) (IngestCtx *ctx, const char *payload, size_t len);

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
