/*
 * json_util.h
 *		Shared helpers for the format parsers: streaming record splitting,
 *		bounded json-c parsing with cleanup on error, typed field access, and
 *		small value parsers (ISO 8601 times, IP addresses, content hashes).
 *
 * Only parser files include this header (it includes json-c, so they must not
 * include utils/builtins.h).  Everything a parser allocates while handling one
 * record lives in the per-record memory context the driver resets between
 * records; json-c objects are freed by the driver, also when the handler
 * raises an ERROR.
 *
 * A record handler gets the parsed record, its exact source text (for
 * IngestEvent.raw_json) and its 1-based number.  It either describes the
 * record through the ingest_* calls of ingest.h or calls ingest_reject() and
 * returns.
 */
#ifndef CORRELATE_JSON_UTIL_H
#define CORRELATE_JSON_UTIL_H

#include "postgres.h"

#include <json-c/json.h>

#include "lib/stringinfo.h"

#include "ingest/ingest.h"

/* ---- record drivers -------------------------------------------------------- */

typedef void (*ju_record_handler) (IngestCtx *ctx, struct json_object *rec,
								   const char *raw, size_t rawlen, int64 recno, void *arg);

/*
 * How a JSON input is cut into records.  The input is a sequence of top-level
 * JSON values (one value, or NDJSON / concatenated values).  A top-level array
 * yields its elements; a top-level object that has one of wrapper_keys with an
 * array value yields that array's elements (e.g. CloudTrail's {"Records":[...]},
 * a Kubernetes EventList's "items"); any other top-level value is one record.
 */
typedef struct JuSplitOpts
{
	const char *const *wrapper_keys;	/* NULL-terminated, or NULL */
} JuSplitOpts;

/* A streaming JSON splitter+parser, for ingest_file(). */
extern IngestStream *ju_json_stream(IngestCtx *ctx, const JuSplitOpts *opts,
									ju_record_handler handler, void *arg);

/* Whole-payload convenience: open, feed, finish. */
extern void ju_json_each(IngestCtx *ctx, const char *payload, size_t len, const JuSplitOpts *opts,
						 ju_record_handler handler, void *arg);

/*
 * Line-oriented text (VPC flow logs): the handler gets each non-empty line
 * without its line terminator, already checked for NUL bytes, valid UTF-8 and
 * the record size limit.
 */
typedef void (*ju_line_handler) (IngestCtx *ctx, const char *line, size_t len, int64 recno, void *arg);

extern IngestStream *ju_line_stream(IngestCtx *ctx, ju_line_handler handler, void *arg);
extern void ju_line_each(IngestCtx *ctx, const char *payload, size_t len, ju_line_handler handler, void *arg);

/*
 * Parses one JSON document (for whole-document formats such as Trivy or the
 * IAM authorization details).  Returns NULL and sets *why when the text is not
 * one well-formed JSON value within the depth and size limits.  The caller owns
 * the result: free it with json_object_put (use ju_guard so an ERROR frees it).
 */
extern struct json_object *ju_parse(const char *text, size_t len, const char **why);

/*
 * ju_guard: frees a json-c object when the current memory context is reset or
 * deleted (which happens on ERROR too), so a parser that raises never leaks
 * json-c memory.  Register right after parsing, in a short-lived context.
 */
extern void ju_guard(struct json_object *obj);

/* ---- typed access ---------------------------------------------------------- */

/*
 * Field access.  ju_get follows a dotted path ("userIdentity.arn"); a missing
 * key or JSON null gives NULL.  The string getters return json-c's buffer (valid
 * while the record lives) or NULL when the value is missing, null, or not a
 * string; ju_str_any also renders numbers and booleans as text.
 */
extern struct json_object *ju_get(struct json_object *obj, const char *path);
extern const char *ju_str(struct json_object *obj, const char *path);
extern const char *ju_str_any(struct json_object *obj, const char *path);
extern bool ju_int64(struct json_object *obj, const char *path, int64 *out);
extern bool ju_double(struct json_object *obj, const char *path, double *out);
extern bool ju_is_type(struct json_object *obj, const char *path, json_type t);

/* NUL-free, non-empty string value or NULL (a string with an embedded NUL is NULL). */
extern const char *ju_cstr(struct json_object *v);

/* JSON text of a value, palloc'd; NULL for NULL or a value jsonb cannot store. */
/* v as compact JSON text, owned by v (json-c's buffer); out of memory is an ERROR, never a NULL. */
extern const char *ju_serialize(struct json_object *v);
extern char *ju_to_text(struct json_object *v);

/*
 * The value as a jsonb datum (a varlena, palloc'd), built straight from the
 * json-c tree, which costs a fraction of re-parsing its text with jsonb_in.
 * NULL when the value holds a string jsonb cannot store (a NUL character).
 * For IngestEvent.raw_jsonb.
 */
extern struct varlena *ju_jsonb(struct json_object *v);

/*
 * A time given as an ISO 8601 string, or as a number of seconds,
 * milliseconds or nanoseconds since the Unix epoch (told apart by magnitude).
 */
extern bool ju_time(struct json_object *v, TimestampTz *out);

/* ---- building small JSON objects (props, labels) ----------------------------- */

typedef struct JuBuild
{
	StringInfoData buf;
	int			n;
} JuBuild;

extern void jb_begin(JuBuild *b);
extern void jb_str(JuBuild *b, const char *key, const char *val);	/* NULL val: skipped */
extern void jb_int(JuBuild *b, const char *key, int64 val);
extern void jb_bool(JuBuild *b, const char *key, bool val);
extern void jb_json(JuBuild *b, const char *key, const char *json);	/* NULL: skipped */
extern char *jb_end(JuBuild *b);	/* NULL when empty */
extern void jb_escape(StringInfo out, const char *s);	/* a JSON string literal */

#endif							/* CORRELATE_JSON_UTIL_H */
