/*
 * sigma_compile.c
 *		Compiles one Sigma rule document into a SigmaRule: its metadata, its
 *		logsource (mapped to the event source it runs over) and its detection
 *		(selections and the condition) as an expression tree of field tests.
 *
 * Selections: a map is the AND of its items, a list of maps the OR of the
 * maps, a list of scalars (or one scalar) keywords searched in every string of
 * the record.  Conditions: and / or / not, parentheses, "1 of X" and "all of
 * X" where X is an identifier pattern with * or "them" (identifiers starting
 * with an underscore are left out of "them", as the specification says).
 * Correlation documents are checked and kept as JSON (compile_correlation).
 * Anything else (aggregations after "|", deprecated timeframe, global action
 * documents) is an ERROR naming the rule and the
 * construct, so a rule set loads completely or not at all.
 */
#include "postgres.h"

#include <math.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/json.h"

#include "detect/detect.h"

int
field_intern(FieldTable *ft, const char *path)
{
	for (int i = 0; i < ft->n; i++)
		if (strcmp(ft->names[i], path) == 0)
			return i;
	if (ft->n == ft->cap)
	{
		ft->cap = ft->cap ? ft->cap * 2 : 32;
		ft->names = ft->names ? repalloc(ft->names, ft->cap * sizeof(char *)) : palloc(ft->cap * sizeof(char *));
	}
	ft->names[ft->n] = pstrdup(path);
	return ft->n++;
}

/* Logsources we map: (product, service) -> event source; category alone is not enough. */
typedef struct LogsourceMap
{
	const char *product;
	const char *service;
	const char *source;
} LogsourceMap;

static const LogsourceMap logsources[] = {
	{"aws", "cloudtrail", "cloudtrail"},
	{"kubernetes", "audit", "k8s_audit"},
	{"falco", NULL, "falco"},
	{"aws", "vpcflowlogs", "vpc_flow"},
	{"aws", "vpcflow", "vpc_flow"},
	{"ocsf", NULL, "ocsf"},
	{NULL, NULL, NULL}
};

const char *
sigma_logsource_source(const char *product, const char *service, const char *category)
{
	if (product == NULL)
		return NULL;
	for (int i = 0; logsources[i].product; i++)
	{
		if (pg_strcasecmp(product, logsources[i].product) != 0)
			continue;
		if (logsources[i].service == NULL || (service && pg_strcasecmp(service, logsources[i].service) == 0))
			return logsources[i].source;
	}
	return NULL;
}

/* Falco fields (proc.name, k8s.ns.name...) live under output_fields with their dots in the key. */
static const char *
map_field(const char *source, const char *field)
{
	static const char *const falco_top[] = {"output", "priority", "rule", "time", "output_fields", "source", "tags",
	"hostname", NULL};

	if (strcmp(source, "falco") == 0)
	{
		const char *dot = strchr(field, '.');
		size_t		len = dot ? (size_t) (dot - field) : strlen(field);

		for (int i = 0; falco_top[i]; i++)
			if (strlen(falco_top[i]) == len && strncmp(field, falco_top[i], len) == 0)
				return field;
		return psprintf("output_fields.%s", field);
	}
	return field;
}

typedef struct Compiler
{
	const char *rule;			/* title or id, for messages */
	const char *source;
	YNode	   *detection;
	SExpr	  **ident_expr;		/* per detection key, compiled lazily */
	FieldTable *ft;
	/* condition tokenizer */
	const char *cond;
	const char *pos;
} Compiler;

static void refuse(Compiler *c, const char *what, const char *detail) pg_attribute_noreturn();

static void
refuse(Compiler *c, const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("sigma rule \"%s\": %s", c->rule, what),
			 detail ? errdetail("%s", detail) : 0));
}

static SExpr *
mk(ExprKind k, int n)
{
	SExpr	   *e = palloc0(sizeof(SExpr));

	e->kind = k;
	e->n = n;
	if (n > 0)
		e->kids = palloc0(n * sizeof(SExpr *));
	return e;
}

static SExpr *
keyword_expr(Compiler *c, YNode *values)
{
	SExpr	   *e = mk(EX_TEST, 0);
	FieldTest  *t = palloc0(sizeof(FieldTest));

	sigma_patterns(c->rule, "keywords", list_make1("contains"), values, c->ft, t);
	t->field = -1;
	e->test = t;
	return e;
}

static SExpr *
map_expr(Compiler *c, YNode *map)
{
	SExpr	   *e = mk(EX_AND, map->n);

	if (map->n == 0)
		refuse(c, "empty selection", "A selection map needs at least one field.");
	for (int i = 0; i < map->n; i++)
	{
		char	   *key = pstrdup(map->keys[i]);
		char	   *bar = strchr(key, '|');
		List	   *mods = NIL;
		FieldTest  *t = palloc0(sizeof(FieldTest));
		SExpr	   *x = mk(EX_TEST, 0);

		CHECK_FOR_INTERRUPTS();
		if (bar)
		{
			char	   *m = bar + 1;

			*bar = '\0';
			for (;;)
			{
				char	   *nb = strchr(m, '|');

				if (nb)
					*nb = '\0';
				if (*m == '\0')
					refuse(c, "empty modifier", psprintf("Field \"%s\" has an empty modifier.", map->keys[i]));
				mods = lappend(mods, m);
				if (!nb)
					break;
				m = nb + 1;
			}
		}
		if (key[0] == '\0')
		{
			/* "|modifier": keywords with modifiers */
			sigma_patterns(c->rule, "keywords", mods, map->items[i], c->ft, t);
			t->field = -1;
		}
		else
		{
			if (map->items[i]->kind == YN_MAP)
				refuse(c, "unsupported value", psprintf("Field \"%s\" has a map as its value.", key));
			sigma_patterns(c->rule, key, mods, map->items[i], c->ft, t);
			t->field = field_intern(c->ft, map_field(c->source, key));
		}
		x->test = t;
		e->kids[i] = x;
	}
	return e->n == 1 ? e->kids[0] : e;
}

static SExpr *
selection_expr(Compiler *c, const char *name, YNode *n)
{
	if (n->kind == YN_MAP)
		return map_expr(c, n);
	if (n->kind == YN_SCALAR)
		return keyword_expr(c, n);
	/* a list: of maps (OR) or of scalars (keywords) */
	if (n->n == 0)
		refuse(c, "empty selection", psprintf("Selection \"%s\" is an empty list.", name));
	if (n->items[0]->kind == YN_MAP)
	{
		SExpr	   *e = mk(EX_OR, n->n);

		for (int i = 0; i < n->n; i++)
		{
			if (n->items[i]->kind != YN_MAP)
				refuse(c, "unsupported selection", psprintf("Selection \"%s\" mixes maps and values.", name));
			e->kids[i] = map_expr(c, n->items[i]);
		}
		return e->n == 1 ? e->kids[0] : e;
	}
	for (int i = 0; i < n->n; i++)
		if (n->items[i]->kind != YN_SCALAR)
			refuse(c, "unsupported selection", psprintf("Selection \"%s\" mixes values and other nodes.", name));
	return keyword_expr(c, n);
}

static SExpr *
ident(Compiler *c, int i)
{
	if (c->ident_expr[i] == NULL)
		c->ident_expr[i] = selection_expr(c, c->detection->keys[i], c->detection->items[i]);
	return c->ident_expr[i];
}

/* ---- condition parser ---- */

typedef enum Tok
{
	T_END,
	T_LP,
	T_RP,
	T_WORD,
	T_PIPE
} Tok;

static Tok
next_tok(Compiler *c, char **word)
{
	const char *p = c->pos;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '\0')
	{
		c->pos = p;
		return T_END;
	}
	if (*p == '(' || *p == ')' || *p == '|')
	{
		c->pos = p + 1;
		return *p == '(' ? T_LP : *p == ')' ? T_RP : T_PIPE;
	}
	{
		const char *s = p;

		while (*p && (isalnum((unsigned char) *p) || *p == '_' || *p == '*' || *p == '-' || *p == '.' || *p == '?'))
			p++;
		if (p == s)
			refuse(c, "unsupported condition",
				   psprintf("Unexpected character \"%c\" in condition \"%s\".", *p, c->cond));
		*word = pnstrdup(s, p - s);
		c->pos = p;
		return T_WORD;
	}
}

static Tok
peek_tok(Compiler *c, char **word)
{
	const char *save = c->pos;
	Tok			t = next_tok(c, word);

	c->pos = save;
	return t;
}

static bool
is_kw(const char *w, const char *kw)
{
	return pg_strcasecmp(w, kw) == 0;
}

/* Sigma identifier wildcard match (* and ?), case-sensitive. */
static bool
ident_match(const char *pat, const char *s)
{
	if (*pat == '\0')
		return *s == '\0';
	if (*pat == '*')
		return ident_match(pat + 1, s) || (*s && ident_match(pat, s + 1));
	if (*s && (*pat == '?' || *pat == *s))
		return ident_match(pat + 1, s + 1);
	return false;
}

static SExpr *parse_or(Compiler *c, int depth);

static SExpr *
parse_primary(Compiler *c, int depth)
{
	char	   *w = NULL;
	Tok			t = next_tok(c, &w);

	CHECK_FOR_INTERRUPTS();
	if (depth > 100)
		refuse(c, "condition nested too deeply", NULL);
	if (t == T_LP)
	{
		SExpr	   *e = parse_or(c, depth + 1);

		if (next_tok(c, &w) != T_RP)
			refuse(c, "unbalanced parentheses", psprintf("Condition: \"%s\".", c->cond));
		return e;
	}
	if (t == T_PIPE)
		refuse(c, "unsupported construct: aggregation in condition",
			   psprintf("Condition \"%s\" uses \"|\" (count, near...): write a correlation rule instead.", c->cond));
	if (t != T_WORD)
		refuse(c, "unsupported condition", psprintf("Condition \"%s\" ends early or has an extra \")\".", c->cond));
	if (is_kw(w, "not"))
	{
		SExpr	   *e = mk(EX_NOT, 1);

		e->kids[0] = parse_primary(c, depth + 1);
		return e;
	}
	if (is_kw(w, "all") || is_kw(w, "any") || strspn(w, "0123456789") == strlen(w))
	{
		char	   *w2 = NULL;
		char	   *target = NULL;
		bool		all = is_kw(w, "all");
		List	   *kids = NIL;
		SExpr	   *e;

		if (next_tok(c, &w2) != T_WORD || !is_kw(w2, "of"))
			refuse(c, "unsupported condition", psprintf("\"%s\" must be followed by \"of\" in \"%s\".", w, c->cond));
		if (!all && !is_kw(w, "any") && strcmp(w, "1") != 0)
			refuse(c, psprintf("unsupported construct: \"%s of\"", w), "Only \"1 of\" and \"all of\" are supported.");
		if (next_tok(c, &target) != T_WORD)
			refuse(c, "unsupported condition", psprintf("\"of\" needs a target in \"%s\".", c->cond));
		for (int i = 0; i < c->detection->n; i++)
		{
			const char *k = c->detection->keys[i];

			if (strcmp(k, "condition") == 0)
				continue;
			if (is_kw(target, "them") ? k[0] != '_' : ident_match(target, k))
				kids = lappend(kids, ident(c, i));
		}
		if (kids == NIL)
			refuse(c, "condition names no selection", psprintf("\"%s of %s\" matches no selection.", w, target));
		e = mk(all ? EX_AND : EX_OR, list_length(kids));
		for (int i = 0; i < e->n; i++)
			e->kids[i] = list_nth(kids, i);
		return e;
	}
	if (is_kw(w, "and") || is_kw(w, "or") || is_kw(w, "of") || is_kw(w, "them"))
		refuse(c, "unsupported condition", psprintf("Unexpected \"%s\" in \"%s\".", w, c->cond));
	for (int i = 0; i < c->detection->n; i++)
		if (strcmp(c->detection->keys[i], w) == 0 && strcmp(w, "condition") != 0)
			return ident(c, i);
	refuse(c, "condition names an unknown selection", psprintf("\"%s\" in \"%s\".", w, c->cond));
	return NULL;
}

static SExpr *
parse_and(Compiler *c, int depth)
{
	SExpr	   *l = parse_primary(c, depth);
	char	   *w = NULL;

	while (peek_tok(c, &w) == T_WORD && is_kw(w, "and"))
	{
		SExpr	   *e = mk(EX_AND, 2);

		next_tok(c, &w);
		e->kids[0] = l;
		e->kids[1] = parse_primary(c, depth);
		l = e;
	}
	return l;
}

static SExpr *
parse_or(Compiler *c, int depth)
{
	SExpr	   *l = parse_and(c, depth);
	char	   *w = NULL;

	while (peek_tok(c, &w) == T_WORD && is_kw(w, "or"))
	{
		SExpr	   *e = mk(EX_OR, 2);

		next_tok(c, &w);
		e->kids[0] = l;
		e->kids[1] = parse_and(c, depth);
		l = e;
	}
	return l;
}

static SExpr *
parse_condition(Compiler *c, const char *cond)
{
	SExpr	   *e;
	char	   *w = NULL;
	Tok			t;

	c->cond = cond;
	c->pos = cond;
	e = parse_or(c, 0);
	t = next_tok(c, &w);
	if (t == T_PIPE)
		refuse(c, "unsupported construct: aggregation in condition",
			   psprintf("Condition \"%s\" uses \"|\" (count, near...): write a correlation rule instead.", cond));
	if (t != T_END)
		refuse(c, "unsupported condition", psprintf("Unexpected text after the expression in \"%s\".", cond));
	return e;
}

static char *
meta_string(Compiler *c, YNode *doc, const char *key, bool required)
{
	YNode	   *n = ynode_get(doc, key);

	if (n == NULL || ynode_is_null(n))
	{
		if (required)
			refuse(c, psprintf("missing \"%s\"", key), "Sigma rules need title, id, logsource and detection.");
		return NULL;
	}
	if (n->kind != YN_SCALAR)
	{
		if (strcmp(key, "author") == 0 && n->kind == YN_SEQ)
		{
			StringInfoData b;

			initStringInfo(&b);
			for (int i = 0; i < n->n; i++)
				if (n->items[i]->kind == YN_SCALAR)
					appendStringInfo(&b, "%s%s", b.len ? ", " : "", n->items[i]->scalar);
			return b.data;
		}
		refuse(c, psprintf("\"%s\" is not a string", key), NULL);
	}
	/* the limits of detection_rule's columns, said here with the rule's name */
	if (strcmp(key, "title") == 0 || strcmp(key, "id") == 0)
	{
		int			limit = strcmp(key, "title") == 0 ? 1000 : 200;
		int			len = pg_mbstrlen(n->scalar);

		if (len == 0)
			refuse(c, psprintf("empty \"%s\"", key), "Sigma rules need a non-empty title and id.");
		if (len > limit)
			refuse(c, psprintf("\"%s\" is too long", key),
				   psprintf("It has %d characters; at most %d are allowed.", len, limit));
	}
	return pstrdup(n->scalar);
}

/* Seconds of a Sigma timespan ("30s", "5m", "1h", "2d", "1w"), or -1. */
static double
timespan_seconds(const char *s)
{
	char	   *end;
	double		n;

	errno = 0;
	n = strtod(s, &end);
	if (errno || end == s || n <= 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (*end)
	{
		case 's':
			return n;
		case 'm':
			return n * 60;
		case 'h':
			return n * 3600;
		case 'd':
			return n * 86400;
		case 'w':
			return n * 604800;
	}
	return -1;
}

static void
json_strings(StringInfo b, Compiler *c, YNode *n, const char *what, bool required)
{
	appendStringInfoChar(b, '[');
	if (n && n->kind == YN_SCALAR && !ynode_is_null(n))
		escape_json(b, n->scalar);
	else if (n && n->kind == YN_SEQ)
	{
		for (int i = 0; i < n->n; i++)
		{
			if (n->items[i]->kind != YN_SCALAR)
				refuse(c, psprintf("correlation \"%s\" must list strings", what), NULL);
			if (i)
				appendStringInfoString(b, ", ");
			escape_json(b, n->items[i]->scalar);
		}
		if (n->n == 0 && required)
			refuse(c, psprintf("correlation \"%s\" is empty", what), NULL);
	}
	else if (required)
		refuse(c, psprintf("correlation needs \"%s\"", what), NULL);
	appendStringInfoChar(b, ']');
}

/*
 * Our group-by extension (docs/detection.md, "Graph-joined correlation"): a
 * group-by entry in the correlate. namespace.  correlate.entity groups by the
 * detections' resolved entity (an ordinary key); correlate.identity_chain and
 * correlate.reachable(N) join detections through the identity chain or the
 * attack graph instead of by equal keys, so they stand alone.  Returns the link
 * ("identity_chain", "reachable") or NULL, and the hops of reachable(N).
 */
#define CORRELATE_MAX_HOPS 10

static const char *
correlation_link(Compiler *c, YNode *gb, int *hops)
{
	const char *link = NULL;
	int			n;

	if (gb == NULL || gb->kind == YN_MAP)
		return NULL;			/* json_strings refuses a map */
	n = gb->kind == YN_SEQ ? gb->n : 1;
	for (int i = 0; i < n; i++)
	{
		YNode	   *it = gb->kind == YN_SEQ ? gb->items[i] : gb;
		const char *f;

		if (it->kind != YN_SCALAR || ynode_is_null(it))
			continue;
		f = it->scalar;
		if (strncmp(f, "correlate.", 10) != 0 || strcmp(f, "correlate.entity") == 0)
			continue;
		if (strcmp(f, "correlate.identity_chain") == 0)
			link = "identity_chain";
		else if (strncmp(f, "correlate.reachable(", 20) == 0)
		{
			char	   *end;
			long		v;

			errno = 0;
			v = strtol(f + 20, &end, 10);
			if (errno || end == f + 20 || strcmp(end, ")") != 0 || v < 1 || v > CORRELATE_MAX_HOPS)
				refuse(c, psprintf("invalid group-by \"%s\"", f),
					   psprintf("Write correlate.reachable(N) with N hops from 1 to %d.", CORRELATE_MAX_HOPS));
			link = "reachable";
			*hops = (int) v;
		}
		else
			refuse(c, psprintf("unknown group-by \"%s\"", f),
				   "Our group-by extensions: correlate.entity, correlate.identity_chain, correlate.reachable(N).");
		if (n > 1)
			refuse(c, psprintf("group-by \"%s\" must stand alone", f),
				   "It joins detections through the identity chain or the attack graph, not by equal field values.");
	}
	return link;
}

/*
 * A correlation rule (event_count, value_count, temporal, temporal_ordered):
 * checked here, stored as JSON, evaluated over detections by SQL
 * (correlate.detect_correlations).
 */
static void
compile_correlation(Compiler *c, YNode *root, SigmaRule *r)
{
	YNode	   *corr = ynode_get(root, "correlation");
	YNode	   *type = ynode_get(corr, "type");
	YNode	   *span = ynode_get(corr, "timespan");
	YNode	   *cond = ynode_get(corr, "condition");
	StringInfoData b;
	double		secs;
	const char *t;
	bool		counted;
	const char *op = NULL;
	double		value = 0;
	const char *field = NULL;
	const char *link;
	int			hops = 0;

	if (corr == NULL || corr->kind != YN_MAP)
		refuse(c, "correlation is not a map", NULL);
	if (type == NULL || type->kind != YN_SCALAR)
		refuse(c, "correlation needs a type", "Types: event_count, value_count, temporal, temporal_ordered.");
	t = type->scalar;
	if (strcmp(t, "event_count") != 0 && strcmp(t, "value_count") != 0 && strcmp(t, "temporal") != 0 &&
		strcmp(t, "temporal_ordered") != 0)
		refuse(c, psprintf("unsupported correlation type \"%s\"", t),
			   "Types: event_count, value_count, temporal, temporal_ordered.");
	counted = strcmp(t, "event_count") == 0 || strcmp(t, "value_count") == 0;
	if (ynode_get(corr, "aliases"))
		refuse(c, "unsupported construct: correlation aliases", NULL);
	if (span == NULL || span->kind != YN_SCALAR || (secs = timespan_seconds(span->scalar)) <= 0)
		refuse(c, "correlation needs a timespan", "A timespan is a number and a unit: 30s, 5m, 1h, 2d, 1w.");
	if (secs > 30 * 86400)
		refuse(c, "correlation timespan longer than 30 days", NULL);
	if (cond && cond->kind == YN_MAP)
	{
		for (int i = 0; i < cond->n; i++)
		{
			const char *k = cond->keys[i];

			if (strcmp(k, "field") == 0 && cond->items[i]->kind == YN_SCALAR)
				field = cond->items[i]->scalar;
			else if ((strcmp(k, "gte") == 0 || strcmp(k, "gt") == 0) && cond->items[i]->kind == YN_SCALAR)
			{
				char	   *end;

				op = k;
				errno = 0;
				value = strtod(cond->items[i]->scalar, &end);
				if (errno || *end != '\0' || value < 0 || value > 1e9)
					refuse(c, "invalid correlation condition", "The threshold is a number.");
			}
			else
				refuse(c, psprintf("unsupported correlation condition \"%s\"", k),
					   "Supported: gte and gt (and field for value_count).");
		}
	}
	else if (cond)
		refuse(c, "invalid correlation condition", "The condition is a map such as {gte: 10}.");
	if (counted && op == NULL)
		refuse(c, "correlation needs a condition", "event_count and value_count need gte or gt.");
	if (strcmp(t, "value_count") == 0 && field == NULL)
		refuse(c, "value_count needs a condition field", NULL);

	link = correlation_link(c, ynode_get(corr, "group-by"), &hops);

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"type\": ");
	escape_json(&b, t);
	appendStringInfoString(&b, ", \"rules\": ");
	json_strings(&b, c, ynode_get(corr, "rules"), "rules", true);
	appendStringInfoString(&b, ", \"group_by\": ");
	json_strings(&b, c, ynode_get(corr, "group-by"), "group-by", false);
	appendStringInfo(&b, ", \"timespan_s\": %.0f, \"min\": %.0f", secs,
					 op == NULL ? 0 : strcmp(op, "gt") == 0 ? floor(value) + 1 : ceil(value));
	if (field)
	{
		appendStringInfoString(&b, ", \"field\": ");
		escape_json(&b, field);
	}
	if (link)
	{
		appendStringInfoString(&b, ", \"link\": ");
		escape_json(&b, link);
		if (hops > 0)
			appendStringInfo(&b, ", \"max_hops\": %d", hops);
	}
	appendStringInfoChar(&b, '}');
	r->correlation = b.data;
	r->source = "correlation";
	r->cond = mk(EX_CONST, 0);
	r->cond->value = false;
}

/*
 * Our baseline extension (docs/detection.md, "Baselines"): instead of
 * "detection", a rule may have
 *     baseline: {type: first_seen | rare, value: action | source_address |
 *                source_network | region | user_agent_family | <dotted field>,
 *                learning: 14d, min-events: 5, rare-share: 0.05}
 * It is kept as JSON in the correlation column and evaluated over stored events
 * per identity by correlate.detect_baselines(); it never matches one record
 * alone, so ingest's matcher sees a constant false.
 */
static void
compile_baseline(Compiler *c, YNode *root, SigmaRule *r)
{
	YNode	   *bl = ynode_get(root, "baseline");
	const char *type = NULL;
	const char *value = NULL;
	double		learning = 14 * 86400;
	double		min_events = 5;
	double		share = 0.05;
	StringInfoData b;

	if (bl == NULL || bl->kind != YN_MAP)
		refuse(c, "baseline is not a map", NULL);
	for (int i = 0; i < bl->n; i++)
	{
		const char *k = bl->keys[i];
		YNode	   *v = bl->items[i];
		char	   *end;

		if (v->kind != YN_SCALAR || ynode_is_null(v))
			refuse(c, psprintf("baseline \"%s\" is not a value", k), NULL);
		if (strcmp(k, "type") == 0)
		{
			if (strcmp(v->scalar, "first_seen") != 0 && strcmp(v->scalar, "rare") != 0)
				refuse(c, psprintf("unsupported baseline type \"%s\"", v->scalar), "Types: first_seen, rare.");
			type = v->scalar;
		}
		else if (strcmp(k, "value") == 0)
		{
			const char *f = v->scalar;

			if (strlen(f) == 0 || strlen(f) > 200 || strspn(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(f) ||
				f[0] == '.' || f[strlen(f) - 1] == '.' || strstr(f, "..") != NULL)
				refuse(c, psprintf("invalid baseline value \"%s\"", f),
					   "action, source_address, source_network, region, user_agent_family, or a dotted field path.");
			value = f;
		}
		else if (strcmp(k, "learning") == 0)
		{
			learning = timespan_seconds(v->scalar);
			if (learning <= 0 || learning > 366 * 86400)
				refuse(c, "invalid baseline learning window", "A timespan from 1s to 366d: 7d, 2w.");
		}
		else if (strcmp(k, "min-events") == 0 || strcmp(k, "rare-share") == 0)
		{
			double		n;

			errno = 0;
			n = strtod(v->scalar, &end);
			if (errno || *end != '\0' || end == v->scalar || !(n >= 0) ||
				(k[0] == 'm' ? (n > 1e9 || n != floor(n)) : (n <= 0 || n >= 1)))
				refuse(c, psprintf("invalid baseline \"%s\"", k),
					   "min-events is a whole number; rare-share is a fraction between 0 and 1.");
			if (k[0] == 'm')
				min_events = n;
			else
				share = n;
		}
		else
			refuse(c, psprintf("unsupported baseline key \"%s\"", k),
				   "Keys: type, value, learning, min-events, rare-share.");
	}
	if (type == NULL || value == NULL)
		refuse(c, "baseline needs a type and a value", NULL);
	initStringInfo(&b);
	appendStringInfoString(&b, "{\"type\": ");
	escape_json(&b, type);
	appendStringInfoString(&b, ", \"value\": ");
	escape_json(&b, value);
	appendStringInfo(&b, ", \"learning_s\": %.0f, \"min_events\": %.0f, \"rare_share\": %g}",
					 learning, min_events, share);
	r->correlation = b.data;
	r->cond = mk(EX_CONST, 0);
	r->cond->value = false;
}

SigmaRule *
sigma_compile(YDoc *doc, const char *origin, FieldTable *ft)
{
	Compiler	c = {0};
	SigmaRule  *r = palloc0(sizeof(SigmaRule));
	YNode	   *root = doc->root;
	YNode	   *ls,
			   *det,
			   *cond,
			   *tags;
	static const char *const levels[] = {"informational", "low", "medium", "high", "critical", NULL};

	c.ft = ft;
	c.rule = psprintf("%s, line %d", origin, doc->line);
	if (root == NULL || root->kind != YN_MAP)
		refuse(&c, "not a sigma rule", "A rule document is a YAML mapping.");
	/* errors name the rule by its title, when it has one fit to print */
	if (ynode_get(root, "title") && ynode_get(root, "title")->kind == YN_SCALAR &&
		ynode_get(root, "title")->scalar[0] != '\0' && pg_mbstrlen(ynode_get(root, "title")->scalar) <= 1000)
		c.rule = ynode_get(root, "title")->scalar;
	if (ynode_get(root, "action"))
		refuse(&c, "unsupported construct: action", "Rule collections (action: global, reset, repeat) are not supported.");
	r->title = meta_string(&c, root, "title", true);
	r->sigma_id = meta_string(&c, root, "id", true);
	r->author = meta_string(&c, root, "author", false);
	r->description = meta_string(&c, root, "description", false);
	r->status = meta_string(&c, root, "status", false);
	r->name = meta_string(&c, root, "name", false);
	r->level = meta_string(&c, root, "level", false);
	if (r->level)
	{
		bool		ok = false;

		for (int i = 0; levels[i]; i++)
			if (pg_strcasecmp(r->level, levels[i]) == 0)
			{
				r->level = pstrdup(levels[i]);
				ok = true;
			}
		if (!ok)
			refuse(&c, psprintf("unknown level \"%s\"", r->level),
				   "Levels are informational, low, medium, high, critical.");
	}
	tags = ynode_get(root, "tags");
	if (tags && !ynode_is_null(tags))
	{
		if (tags->kind != YN_SEQ)
			refuse(&c, "\"tags\" is not a list", NULL);
		for (int i = 0; i < tags->n; i++)
			if (tags->items[i]->kind == YN_SCALAR)
				r->tags = lappend(r->tags, pstrdup(tags->items[i]->scalar));
	}
	if (ynode_get(root, "correlation"))
	{
		compile_correlation(&c, root, r);
		r->text = doc->text;
		return r;
	}
	ls = ynode_get(root, "logsource");
	if (ls == NULL || ls->kind != YN_MAP)
		refuse(&c, "missing \"logsource\"", "Sigma rules need title, id, logsource and detection.");
	r->product = meta_string(&c, ls, "product", false);
	r->service = meta_string(&c, ls, "service", false);
	r->category = meta_string(&c, ls, "category", false);
	r->source = (char *) sigma_logsource_source(r->product, r->service, r->category);
	if (r->source == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("sigma rule \"%s\": unknown logsource", c.rule),
				 errdetail("product \"%s\", service \"%s\", category \"%s\" maps to no event source.",
						   r->product ? r->product : "", r->service ? r->service : "", r->category ? r->category : ""),
				 errhint("Supported: aws/cloudtrail, kubernetes/audit, falco, aws/vpcflowlogs, ocsf (docs/detection.md).")));
	c.source = r->source;

	if (ynode_get(root, "baseline"))
	{
		if (ynode_get(root, "detection"))
			refuse(&c, "a rule has either \"detection\" or \"baseline\"", NULL);
		compile_baseline(&c, root, r);
		r->text = doc->text;
		return r;
	}

	det = ynode_get(root, "detection");
	if (det == NULL || det->kind != YN_MAP)
		refuse(&c, "missing \"detection\"", "Sigma rules need title, id, logsource and detection.");
	if (ynode_get(det, "timeframe"))
		refuse(&c, "unsupported construct: timeframe", "Aggregations over time belong in correlation rules.");
	c.detection = det;
	c.ident_expr = palloc0(sizeof(SExpr *) * (det->n + 1));
	cond = ynode_get(det, "condition");
	if (cond == NULL || ynode_is_null(cond))
		refuse(&c, "missing condition", "The detection needs a condition.");
	if (cond->kind == YN_SCALAR)
		r->cond = parse_condition(&c, cond->scalar);
	else if (cond->kind == YN_SEQ && cond->n > 0)
	{
		SExpr	   *e = mk(EX_OR, cond->n);

		for (int i = 0; i < cond->n; i++)
		{
			if (cond->items[i]->kind != YN_SCALAR)
				refuse(&c, "unsupported condition", "A condition list holds strings.");
			e->kids[i] = parse_condition(&c, cond->items[i]->scalar);
		}
		r->cond = e;
	}
	else
		refuse(&c, "unsupported condition", "The condition is a string or a list of strings.");
	/* compile every selection, used or not, so a bad one is caught at load */
	for (int i = 0; i < det->n; i++)
		if (strcmp(det->keys[i], "condition") != 0)
			(void) ident(&c, i);
	r->text = doc->text;
	return r;
}
