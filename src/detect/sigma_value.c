/*
 * sigma_value.c
 *		Turns one detection item (a field with its modifiers and values) into
 *		patterns: wildcard globs, regular expressions, CIDR blocks, numbers,
 *		existence tests and field references.
 *
 * Value transforms (base64, base64offset, windash) run first and may turn one
 * value into several; the match modifier (contains, startswith, endswith, re,
 * cidr, exists, gt/gte/lt/lte, fieldref) then decides how each is compared.
 * Comparisons fold ASCII case unless the item says |cased, as the Sigma
 * specification asks.  Regular expressions use PostgreSQL's engine, which
 * checks for interrupts while it runs; patterns are limited in length and
 * back-references (the one construct with no polynomial bound) are refused.
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "catalog/pg_collation.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"

#include "detect/detect.h"

static void refuse(const char *rule, const char *field, const char *what, const char *detail) pg_attribute_noreturn();

static void
refuse(const char *rule, const char *field, const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("sigma rule \"%s\": %s", rule, what),
			 errdetail("Field \"%s\": %s", field, detail)));
}

static const char *const unsupported_mods[] = {
	"wide", "utf16le", "utf16be", "utf16", "expand", "minute", "hour", "day", "week", "month", "year",
	"neq", NULL
};

static bool
word_in(const char *w, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

/* Base64 of len bytes, NUL-terminated. */
static char *
b64(const unsigned char *s, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char	   *out = palloc(((len + 2) / 3) * 4 + 1);
	char	   *o = out;

	for (size_t i = 0; i < len; i += 3)
	{
		unsigned	v = s[i] << 16;

		if (i + 1 < len)
			v |= s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		*o++ = tab[(v >> 18) & 63];
		*o++ = tab[(v >> 12) & 63];
		*o++ = (i + 1 < len) ? tab[(v >> 6) & 63] : '=';
		*o++ = (i + 2 < len) ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* The three base64 renderings of s at byte offsets 0, 1, 2 with the unstable edges cut (as pySigma). */
static List *
b64offset(const char *s)
{
	static const int start[3] = {0, 2, 3};
	static const int endcut[3] = {0, 3, 2};
	size_t		len = strlen(s);
	List	   *out = NIL;

	for (int i = 0; i < 3; i++)
	{
		char	   *buf = palloc(len + 3);
		char	   *enc;
		int			elen;
		int			cut;

		memset(buf, ' ', i);
		memcpy(buf + i, s, len);
		enc = b64((unsigned char *) buf, len + i);
		elen = strlen(enc);
		cut = endcut[(len + i) % 3];
		if (elen - cut > start[i])
			out = lappend(out, pnstrdup(enc + start[i], elen - cut - start[i]));
	}
	return out;
}

/* Windows dash variants: every '-' or '/' that starts an option, as each of five dashes. */
static List *
windash(const char *s)
{
	static const char *const dashes[] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};
	List	   *out = NIL;

	for (int d = 0; d < 5; d++)
	{
		StringInfoData b;

		initStringInfo(&b);
		for (const char *p = s; *p; p++)
		{
			bool		opt = (*p == '-' || *p == '/') && (p == s || p[-1] == ' ') &&
				(isalnum((unsigned char) p[1]) || p[1] == '?');

			if (opt)
				appendStringInfoString(&b, dashes[d]);
			else
				appendStringInfoChar(&b, *p);
		}
		out = lappend(out, b.data);
	}
	return out;
}

/* Reset callback: releases a compiled regular expression's malloc'd state. */
static void
free_regex(void *arg)
{
	pg_regfree((regex_t *) arg);
}

/* Builds the glob of s for op (contains etc. add the surrounding '*'), resolving Sigma escapes. */
static void
make_glob(Pattern *p, const char *s)
{
	int			n = strlen(s);
	int		   *g = palloc((n + 3) * sizeof(int));
	int			k = 0;
	bool		wild = false;
	char	   *lit = palloc(n + 1);
	int			litlen = 0;

	if (p->op == PAT_CONTAINS || p->op == PAT_ENDS)
		g[k++] = -1;
	for (int i = 0; i < n; i++)
	{
		int			c = (unsigned char) s[i];

		if (c == '\\' && i + 1 < n && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\'))
			c = (unsigned char) s[++i];
		else if (c == '*' || c == '?')
		{
			g[k++] = c == '*' ? -1 : -2;
			wild = true;
			continue;
		}
		if (!p->cased)
			c = pg_ascii_tolower(c);
		g[k++] = c;
		lit[litlen++] = (char) c;
	}
	if (p->op == PAT_CONTAINS || p->op == PAT_STARTS)
		g[k++] = -1;
	lit[litlen] = '\0';
	p->glob = g;
	p->globlen = k;
	p->wild = wild;
	p->lit = lit;
	p->litlen = litlen;
}

static bool
parse_cidr(Pattern *p, const char *s)
{
	char		addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t		alen = slash ? (size_t) (slash - s) : strlen(s);
	char	   *end;
	long		bits;

	if (alen == 0 || alen > INET6_ADDRSTRLEN)
		return false;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p->cidr) == 1)
		p->cidr_family = 4;
	else if (inet_pton(AF_INET6, addr, p->cidr) == 1)
		p->cidr_family = 6;
	else
		return false;
	if (slash == NULL)
		bits = p->cidr_family == 4 ? 32 : 128;
	else
	{
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || *end != '\0' || end == slash + 1 || bits < 0 || bits > (p->cidr_family == 4 ? 32 : 128))
			return false;
	}
	p->cidr_bits = (int) bits;
	return true;
}

static void
make_regex(Pattern *p, const char *rule, const char *field, const char *s, bool fi, bool fm, bool fs)
{
	int			len = strlen(s);
	pg_wchar   *w;
	int			wlen;
	int			flags = REG_ADVANCED | REG_NOSUB;
	int			rc;
	MemoryContextCallback *cb;

	if (len > detect_max_regex_chars && !detect_compiling_stored)
		refuse(rule, field, "regular expression too long",
			   psprintf("The pattern has %d characters; correlate.sigma_max_regex_chars is %d.", len, detect_max_regex_chars));
	for (int i = 0; i < len; i++)
	{
		if (s[i] == '\\' && i + 1 < len)
		{
			if (s[i + 1] >= '1' && s[i + 1] <= '9')
				refuse(rule, field, "unsupported regular expression construct",
					   "Back-references have no bound on matching time and are not accepted.");
			i++;
		}
		else if (s[i] == '(' && i + 2 < len && s[i + 1] == '?' && s[i + 2] == 'P')
			refuse(rule, field, "unsupported regular expression construct",
				   "Python named groups (?P...) are not accepted.");
	}
	if (fi)
		flags |= REG_ICASE;
	if (fm)
		flags |= REG_NLANCH;
	if (!fs)
		flags |= REG_NLSTOP;
	w = palloc((len + 1) * sizeof(pg_wchar));
	wlen = pg_mb2wchar_with_len(s, w, len);
	p->re = palloc(sizeof(regex_t));
	rc = pg_regcomp(p->re, w, wlen, flags, C_COLLATION_OID);
	if (rc != REG_OKAY)
	{
		char		msg[256];

		pg_regerror(rc, p->re, msg, sizeof(msg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("sigma rule \"%s\": invalid regular expression", rule),
				 errdetail("Field \"%s\": %s.", field, msg)));
	}
	/* PostgreSQL 15's regex engine mallocs: free it with the context the rule lives in */
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = free_regex;
	cb->arg = p->re;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
}

/* Scalar text of a value node; lists and maps are refused. */
static const char *
scalar_of(const char *rule, const char *field, YNode *v)
{
	if (v->kind != YN_SCALAR)
		refuse(rule, field, "unsupported value", "A value must be a scalar or a list of scalars.");
	return v->scalar;
}

void
sigma_patterns(const char *rule, const char *field, List *modifiers, YNode *values, FieldTable *ft, FieldTest *out)
{
	PatOp		op = PAT_EQ;
	bool		any_match_mod = false;
	bool		cased = false,
				all = false,
				fi = false,
				fm = false,
				fs = false,
				is_re = false,
				fieldref = false;
	List	   *transforms = NIL;
	List	   *vals = NIL;
	List	   *strs = NIL;
	ListCell   *lc;
	int			cap;

	foreach(lc, modifiers)
	{
		char	   *m = lfirst(lc);
		PatOp		mop = -1;

		if (strcmp(m, "contains") == 0)
			mop = PAT_CONTAINS;
		else if (strcmp(m, "startswith") == 0)
			mop = PAT_STARTS;
		else if (strcmp(m, "endswith") == 0)
			mop = PAT_ENDS;
		else if (strcmp(m, "re") == 0)
			mop = PAT_RE, is_re = true;
		else if (strcmp(m, "cidr") == 0)
			mop = PAT_CIDR;
		else if (strcmp(m, "exists") == 0)
			mop = PAT_EXISTS;
		else if (strcmp(m, "gt") == 0)
			mop = PAT_GT;
		else if (strcmp(m, "gte") == 0)
			mop = PAT_GTE;
		else if (strcmp(m, "lt") == 0)
			mop = PAT_LT;
		else if (strcmp(m, "lte") == 0)
			mop = PAT_LTE;
		else if (strcmp(m, "fieldref") == 0)
		{
			fieldref = true;
			continue;
		}
		else if (strcmp(m, "all") == 0)
		{
			all = true;
			continue;
		}
		else if (strcmp(m, "cased") == 0)
		{
			cased = true;
			continue;
		}
		else if (is_re && (strcmp(m, "i") == 0 || strcmp(m, "ignorecase") == 0))
		{
			fi = true;
			continue;
		}
		else if (is_re && (strcmp(m, "m") == 0 || strcmp(m, "multiline") == 0))
		{
			fm = true;
			continue;
		}
		else if (is_re && (strcmp(m, "s") == 0 || strcmp(m, "dotall") == 0))
		{
			fs = true;
			continue;
		}
		else if (strcmp(m, "base64") == 0 || strcmp(m, "base64offset") == 0 || strcmp(m, "windash") == 0)
		{
			if (any_match_mod)
				refuse(rule, field, psprintf("modifier \"%s\" after a match modifier", m),
					   "Value transforms (base64, base64offset, windash) come before contains, startswith, endswith.");
			transforms = lappend(transforms, m);
			continue;
		}
		else if (word_in(m, unsupported_mods))
			refuse(rule, field, psprintf("unsupported modifier \"%s\"", m),
				   "correlate evaluates JSON records; this modifier is not supported.");
		else
			refuse(rule, field, psprintf("unknown modifier \"%s\"", m),
				   "Known modifiers: contains, startswith, endswith, all, re (i, m, s), cidr, base64, base64offset, windash, exists, gt, gte, lt, lte, fieldref, cased.");
		if (any_match_mod && !(fieldref && (mop == PAT_CONTAINS || mop == PAT_STARTS || mop == PAT_ENDS)))
			refuse(rule, field, psprintf("modifier \"%s\" combined with another match modifier", m),
				   "An item takes at most one of contains, startswith, endswith, re, cidr, exists, gt, gte, lt, lte.");
		op = mop;
		any_match_mod = true;
	}

	if (values->kind == YN_SEQ)
	{
		for (int i = 0; i < values->n; i++)
			vals = lappend(vals, values->items[i]);
	}
	else
		vals = list_make1(values);
	if (list_length(vals) > detect_max_values && !detect_compiling_stored)
		refuse(rule, field, "too many values",
			   psprintf("The item has %d values; correlate.sigma_max_values is %d.", list_length(vals), detect_max_values));
	if (vals == NIL)
		refuse(rule, field, "empty value list", "A field needs at least one value.");

	out->all = all;
	cap = list_length(vals) * 5 + 1;
	out->pats = palloc0(sizeof(Pattern) * cap);
	out->npat = 0;

	foreach(lc, vals)
	{
		YNode	   *v = lfirst(lc);
		ListCell   *tc;

		CHECK_FOR_INTERRUPTS();
		if (out->npat + 1 >= cap)
		{
			cap *= 2;
			out->pats = repalloc(out->pats, sizeof(Pattern) * cap);
		}
		if (ynode_is_null(v))
		{
			Pattern    *p = &out->pats[out->npat++];

			memset(p, 0, sizeof(Pattern));
			if (op != PAT_EQ || fieldref || transforms != NIL)
				refuse(rule, field, "null with a modifier", "A null value takes no modifier.");
			p->op = PAT_NULL;
			continue;
		}
		if (op == PAT_EXISTS)
		{
			const char *s = scalar_of(rule, field, v);
			Pattern    *p = &out->pats[out->npat++];

			memset(p, 0, sizeof(Pattern));
			p->op = PAT_EXISTS;
			if (pg_strcasecmp(s, "true") == 0 || pg_strcasecmp(s, "yes") == 0)
				p->exists = true;
			else if (pg_strcasecmp(s, "false") == 0 || pg_strcasecmp(s, "no") == 0)
				p->exists = false;
			else
				refuse(rule, field, "invalid value for exists", "The exists modifier takes true or false.");
			continue;
		}
		strs = list_make1(pstrdup(scalar_of(rule, field, v)));
		foreach(tc, transforms)
		{
			char	   *t = lfirst(tc);
			List	   *next = NIL;
			ListCell   *sc;

			foreach(sc, strs)
			{
				if (strcmp(t, "base64") == 0)
					next = lappend(next, b64((unsigned char *) lfirst(sc), strlen(lfirst(sc))));
				else if (strcmp(t, "base64offset") == 0)
					next = list_concat(next, b64offset(lfirst(sc)));
				else
					next = list_concat(next, windash(lfirst(sc)));
			}
			strs = next;
			if (strcmp(t, "windash") != 0)
				cased = true;	/* base64 text is case-sensitive */
		}
		foreach(tc, strs)
		{
			const char *s = lfirst(tc);
			Pattern    *p;

			if (out->npat >= cap)
			{
				cap *= 2;
				out->pats = repalloc(out->pats, sizeof(Pattern) * cap);
			}
			p = &out->pats[out->npat++];
			memset(p, 0, sizeof(Pattern));
			p->cased = cased;
			if (fieldref)
			{
				p->op = PAT_FIELDREF;
				p->refop = op == PAT_EQ ? PAT_EQ : op;
				if (op != PAT_EQ && op != PAT_CONTAINS && op != PAT_STARTS && op != PAT_ENDS)
					refuse(rule, field, "fieldref with an unsupported match modifier",
						   "fieldref combines only with contains, startswith and endswith.");
				p->ref = field_intern(ft, s);
				continue;
			}
			p->op = op;
			switch (op)
			{
				case PAT_EQ:
				case PAT_CONTAINS:
				case PAT_STARTS:
				case PAT_ENDS:
					make_glob(p, s);
					break;
				case PAT_RE:
					make_regex(p, rule, field, s, fi, fm, fs);
					break;
				case PAT_CIDR:
					if (!parse_cidr(p, s))
						refuse(rule, field, "invalid cidr value", psprintf("\"%s\" is not an address block.", s));
					break;
				case PAT_GT:
				case PAT_GTE:
				case PAT_LT:
				case PAT_LTE:
					{
						char	   *end;

						errno = 0;
						p->num = strtod(s, &end);
						if (errno || end == s || *end != '\0')
							refuse(rule, field, "invalid number", psprintf("\"%s\" is not a number.", s));
						break;
					}
				default:
					break;
			}
		}
	}
}
