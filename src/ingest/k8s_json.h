/*
 * k8s_json.h
 *		json-c helpers shared by the inventory and scanner parsers
 *		(fmt_k8s_inventory.c, fmt_trivy.c, fmt_grype.c).
 *
 * The getters never raise: a value of the wrong type is reported once per
 * record through KjRec.why and read as absent, so a parser walks the whole
 * record and then rejects it (ingest_reject) with the first reason found.
 * Strings returned point into json-c objects; everything else is palloc'd in
 * CurrentMemoryContext.  This header includes json-c, so it must never be
 * included next to utils/builtins.h.
 */
#ifndef CORRELATE_K8S_JSON_H
#define CORRELATE_K8S_JSON_H

#include "postgres.h"

#include <json-c/json.h>

#include "datatype/timestamp.h"
#include "ingest/ingest.h"

/* Longest raw text kept with a rejected record. */
#define KJ_MAX_RAW 65536

/* Per-record state: the first problem found, or NULL. */
typedef struct KjRec
{
	const char *why;
} KjRec;

/* Records a problem (the first one wins); fmt is printf-like. */
extern void kj_bad(KjRec *r, const char *fmt,...) pg_attribute_printf(2, 3);

/* "a string", "an object", ... for messages. */
extern const char *kj_type_name(json_object *v);

/* Member lookup; JSON null reads as absent.  NULL when o is not an object. */
extern json_object *kj_get(json_object *o, const char *key);

/* Typed getters: absent -> NULL / false; wrong type -> absent plus r->why. */
extern const char *kj_str(KjRec *r, json_object *o, const char *key);
extern const char *kj_strval(KjRec *r, json_object *v, const char *what);
extern json_object *kj_obj(KjRec *r, json_object *o, const char *key);
extern json_object *kj_arr(KjRec *r, json_object *o, const char *key);
extern int	kj_bool(KjRec *r, json_object *o, const char *key);	/* -1 absent, 0, 1 */
extern bool kj_int(KjRec *r, json_object *o, const char *key, int64 *out);
extern bool kj_num(KjRec *r, json_object *o, const char *key, double *out);

/* A string-to-string map (labels, selectors); wrong member types go to r->why. */
extern json_object *kj_strmap(KjRec *r, json_object *o, const char *key);

/* JSON text of o, checked to be storable as jsonb (no NaN/Infinity, no \u0000). */
extern char *kj_text(KjRec *r, json_object *o, const char *what);

/* Like kj_text, and puts (releases) o. */
extern char *kj_text_put(KjRec *r, json_object *o, const char *what);

/* Raw text of o for a reject, clipped to KJ_MAX_RAW bytes at a character boundary. */
extern char *kj_raw(json_object *o, size_t *rawlen);
extern char *kj_raw_bytes(const char *data, size_t len, size_t *rawlen);

/*
 * Parses a payload that is one whole report (a scanner run, an inventory dump);
 * returns NULL after rejecting it as record 1 when it cannot be read.
 */
extern json_object *kj_parse_report(IngestCtx *ctx, const char *payload, size_t len);

/* An ISO 8601 / RFC 3339 time member ("2023-04-05T19:38:08Z", fractions, offsets). */
extern bool kj_time(KjRec *r, json_object *o, const char *key, TimestampTz *out);

/* Adds a string / a shared reference to v under key in obj, skipping NULLs. */
extern void kj_add_str(json_object *obj, const char *key, const char *val);
extern void kj_add_ref(json_object *obj, const char *key, json_object *v);
extern void kj_add_bool(json_object *obj, const char *key, bool val);
extern void kj_add_int(json_object *obj, const char *key, int64 val);

/* s cut to at most maxbytes at a character boundary (palloc'd), or NULL. */
extern char *kj_clip(const char *s, int maxbytes);

/* An input value quoted in a reject reason: at most 100 bytes, cut at a character boundary. */
#define KJ_SHOW(s) kj_clip((s), 100)

/* Case-insensitive string equality, NULL-safe. */
extern bool kj_eq(const char *a, const char *b);

/* Normalises a scanner severity word to unknown/info/low/medium/high/critical. */
extern const char *kj_severity(const char *s);

#endif							/* CORRELATE_K8S_JSON_H */
