/*
 * detect.h
 *		Sigma detection rules: parsing (libyaml), compiling to matchers, and
 *		evaluating them over event records (jsonb) at ingest and over history.
 *
 * Files:
 *	sigma_yaml.c	libyaml event stream -> YNode tree (the only libyaml user)
 *	sigma_compile.c	YNode tree -> SigmaRule (metadata, detection, condition)
 *	sigma_value.c	value patterns: wildcards, modifiers, regex, cidr, base64
 *	sigma_match.c	evaluation of a compiled rule over one jsonb record
 *	detect_cache.c	per-backend cache of the tenant's enabled rules
 *	detect_sql.c	SQL-callable wrappers
 *	detect_guc.c	limits as GUCs
 *
 * This header includes nothing from json-c or libyaml.
 */
#ifndef CORRELATE_DETECT_H
#define CORRELATE_DETECT_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "regex/regex.h"
#include "datatype/timestamp.h"
#include "utils/jsonb.h"

/* ---- GUCs (detect_guc.c) ---- */
extern int	detect_max_rule_bytes;
extern int	detect_max_regex_chars;
extern int	detect_max_values;
extern void detect_define_gucs(void);

/*
 * True while the cache compiles rules already stored: they passed the limits
 * when loaded, and a limit lowered since must not make every ingest fail.
 */
extern bool detect_compiling_stored;

/* ---- YAML tree (sigma_yaml.c) ---- */
typedef enum YNodeKind
{
	YN_SCALAR,
	YN_SEQ,
	YN_MAP
} YNodeKind;

typedef struct YNode
{
	YNodeKind	kind;
	int			line;			/* 1-based line where the node starts */
	char	   *scalar;			/* YN_SCALAR: the text */
	bool		plain;			/* YN_SCALAR: unquoted (may be null/number/bool) */
	int			n;				/* YN_SEQ / YN_MAP: number of items */
	char	  **keys;			/* YN_MAP: keys */
	struct YNode **items;		/* values */
} YNode;

typedef struct YDoc
{
	YNode	   *root;
	char	   *text;			/* the document's own source text */
	int			line;			/* first line of the document */
} YDoc;

/* Parses YAML text (one or more documents) into a List of YDoc *; ERROR on malformed input. */
extern List *sigma_yaml_parse(const char *text, size_t len, const char *origin);
extern YNode *ynode_get(const YNode *map, const char *key);
extern bool ynode_is_null(const YNode *n);

/* ---- compiled rules (sigma_compile.c, sigma_value.c) ---- */

/* What one value pattern tests. */
typedef enum PatOp
{
	PAT_EQ,						/* whole value, with wildcards */
	PAT_CONTAINS,
	PAT_STARTS,
	PAT_ENDS,
	PAT_RE,
	PAT_CIDR,
	PAT_NULL,					/* field absent or null */
	PAT_EXISTS,					/* field present (bool in exists) */
	PAT_GT,
	PAT_GTE,
	PAT_LT,
	PAT_LTE,
	PAT_FIELDREF				/* equality (or contains/starts/ends) with another field */
} PatOp;

typedef struct Pattern
{
	PatOp		op;
	PatOp		refop;			/* PAT_FIELDREF: EQ, CONTAINS, STARTS or ENDS */
	bool		cased;
	bool		wild;			/* glob has * or ? */
	int		   *glob;			/* chars (lowered unless cased), -1 = '*', -2 = '?' */
	int			globlen;
	char	   *lit;			/* the literal when !wild (lowered unless cased) */
	int			litlen;
	regex_t    *re;
	unsigned char cidr[16];
	int			cidr_family;	/* 4 or 6 */
	int			cidr_bits;
	double		num;
	bool		exists;
	int			ref;			/* PAT_FIELDREF: field id */
} Pattern;

typedef struct FieldTest
{
	int			field;			/* field id in the rule's field table; -1 for keywords */
	bool		all;			/* every pattern must match (|all) */
	int			npat;
	Pattern    *pats;
} FieldTest;

typedef enum ExprKind
{
	EX_AND,
	EX_OR,
	EX_NOT,
	EX_TEST,
	EX_CONST
} ExprKind;

typedef struct SExpr
{
	ExprKind	kind;
	bool		value;			/* EX_CONST */
	int			n;
	struct SExpr **kids;
	FieldTest  *test;
} SExpr;

/* A field name interned per rule set; path is the mapped raw path. */
typedef struct FieldTable
{
	int			n;
	int			cap;
	char	  **names;			/* mapped path as given ("a.b.c") */
} FieldTable;

typedef struct SigmaRule
{
	char	   *sigma_id;
	char	   *title;
	char	   *author;
	char	   *description;
	char	   *level;
	char	   *status;
	char	   *product;
	char	   *service;
	char	   *category;
	char	   *source;			/* correlate.event.source the rule runs over */
	List	   *tags;			/* char * */
	char	   *text;
	char	   *name;			/* Sigma "name" (how correlation rules may refer to it) */
	char	   *correlation;	/* correlation rules: their definition as JSON text; else NULL */
	SExpr	   *cond;
	int64		row_id;			/* correlate.detection_rule.id once loaded */
} SigmaRule;

/* Compiles one YAML document into a rule (fields interned into ft); ERROR naming the rule on anything unsupported. */
extern SigmaRule *sigma_compile(YDoc *doc, const char *origin, FieldTable *ft);
extern int	field_intern(FieldTable *ft, const char *path);

/* Maps a Sigma logsource to an event source, or NULL when unknown. */
extern const char *sigma_logsource_source(const char *product, const char *service, const char *category);

/* Builds the patterns for one field's values and modifiers (sigma_value.c). */
extern void sigma_patterns(const char *rule, const char *field, List *modifiers, YNode *values,
						   FieldTable *ft, FieldTest *out);

/* ---- evaluation (sigma_match.c) ---- */
typedef struct MatchState MatchState;

extern MatchState *match_state_create(FieldTable *ft, MemoryContext cxt);
/* Evaluates rule over record (whose fields are cached in st until match_state_reset). */
extern bool sigma_eval(MatchState *st, const SigmaRule *rule, Jsonb *record);
extern void match_state_reset(MatchState *st);
extern void match_state_set_record(MatchState *st, Jsonb *record);
extern int	match_field_count(MatchState *st, int field);
extern const char *match_field_lower(MatchState *st, int field, int i, int *len);

/* ---- per-backend cache (detect_cache.c) ---- */
/*
 * Rules of one event source, indexed: most rules require one field to equal
 * one of a few literals (eventName: [...]), so each such rule is filed under
 * those literals of its key field and only looked at when the record has one
 * of them; the others (plain) are evaluated for every record.
 */
typedef struct KeyEntry
{
	const char *lit;			/* lower-cased literal */
	int			len;
	int			rule;			/* index in RuleSet.rules */
} KeyEntry;

typedef struct KeyIndex
{
	int			field;
	int			n;
	int			cap;
	KeyEntry   *e;				/* sorted by (len, bytes) */
} KeyIndex;

typedef struct SourceRules
{
	const char *source;
	int			nplain;
	int		   *plain;
	int			nkeys;
	KeyIndex   *keys;
} SourceRules;

typedef struct RuleSet
{
	int			nrules;
	SigmaRule **rules;
	FieldTable	ft;
	MatchState *st;
	int			nsources;
	SourceRules *sources;
	uint32	   *mark;			/* per rule: generation it was last made a candidate */
	uint32		gen;
	int		   *cand;
} RuleSet;

/* The current tenant's enabled rules (compiled, cached); never NULL. */
extern RuleSet *detect_ruleset(void);

/*
 * Evaluates the rule set over one record of source; writes matching rule row
 * ids to out (capacity ruleset->nrules) and returns how many.  only (may be
 * NULL) restricts to rule row ids in the sorted array only[nonly].
 */
extern int	detect_match_record(RuleSet *rs, const char *source, Jsonb *record,
								int64 *out, const int64 *only, int nonly);

/* ---- at ingest (detect_ingest.c) ---- */
typedef struct DetectBatch DetectBatch;

/* A batch for events of source, or NULL when the tenant has no enabled rule for it (the cheap path). */
extern DetectBatch *detect_batch_begin(const char *source);
/* Evaluates the rules on one event about to be stored (record may be NULL). */
extern void detect_batch_add(DetectBatch *b, TimestampTz ts, const char *uid, Jsonb *record);
/* Stores the batch's detections (after its events are written) and frees it. */
extern void detect_batch_flush(DetectBatch *b);

#endif							/* CORRELATE_DETECT_H */
