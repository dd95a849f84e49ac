/*
 * pseudonym.h
 *		Pseudonymisation at ingest: a tenant's policy (correlate.pseudonym_rule)
 *		and key (correlate.pseudonym_key), and the keyed transforms applied to
 *		the fields it names before anything of a record is stored.
 *
 * pseudonym.c loads the policy and computes pseudonyms (HMAC-SHA256 with the
 * tenant's key, through PostgreSQL's common/hmac.h); pseudonym_json.c walks a
 * parsed json-c record and rewrites the fields the rules name.  This header
 * includes neither json-c nor utils/builtins.h, so both sides can use it.
 *
 * The same value always gets the same pseudonym within a tenant, whatever
 * field or format it appears in, so entity resolution, correlation and
 * detection work on pseudonyms as they did on the values.
 */
#ifndef CORRELATE_PSEUDONYM_H
#define CORRELATE_PSEUDONYM_H

#include "postgres.h"

typedef enum PseudoAction
{
	PSEUDO_HASH,				/* the whole string -> ps_<24 hex> */
	PSEUDO_HASH_TAIL,			/* what follows the last '/' (ARN names, session names) */
	PSEUDO_IP,					/* an address -> a keyed IPv6 address of the same class */
	PSEUDO_DROP					/* remove the field */
} PseudoAction;

typedef struct PseudoRule
{
	char	  **segs;			/* the JSON path, split at '.' */
	int			nsegs;
	PseudoAction action;
	char	  **keep;			/* values starting with one of these stay as they are */
	int			nkeep;
} PseudoRule;

typedef struct PseudoPolicy PseudoPolicy;

/*
 * The rules of tenant for format, with the tenant's key, allocated in cxt; NULL
 * when the tenant has no rule for the format.  Reads the key table directly,
 * so the calling role needs no privilege on it.
 */
extern PseudoPolicy *pseudo_load(const char *tenant, const char *format, MemoryContext cxt);
extern void pseudo_release(PseudoPolicy *p);

extern int	pseudo_nrules(const PseudoPolicy *p);
extern const PseudoRule *pseudo_rule(const PseudoPolicy *p, int i);

/*
 * The pseudonym of a string value under action (not PSEUDO_DROP), or NULL when
 * the rule's keep prefixes leave it as it is.  The result lives as long as the
 * policy.
 */
extern const char *pseudo_apply(PseudoPolicy *p, const PseudoRule *r, const char *value);

/* The keyed pseudonym of arbitrary bytes as ps_<24 hex>, palloc'd (event uids of id-less records). */
extern char *pseudo_token(PseudoPolicy *p, const char *data, size_t len);

/* The policy of the ingest in progress (writer.c), NULL when it has no rule for the format. */
struct IngestCtx;
extern PseudoPolicy *ingest_pseudonym_policy(struct IngestCtx *ctx);

/*
 * Rewrites the fields of a parsed record (or document) that the ingest's
 * policy names, in place (pseudonym_json.c).  Called by the record drivers
 * right after parsing, before any parser sees the record.
 */
struct json_object;
extern void pseudo_json(struct IngestCtx *ctx, struct json_object *rec);

#endif							/* CORRELATE_PSEUDONYM_H */
