/*
 * detect_cache.c
 *		The per-backend cache of the current tenant's enabled Sigma rules,
 *		compiled once and shared by ingest and correlate.detect().
 *
 * The cache is keyed by tenant and dropped when correlate.detection_rule
 * changes: a statement trigger on that table (correlate._detection_rule_changed)
 * queues a relcache invalidation of the table, which every backend receives
 * (this one at the next command, others when the change commits), and our
 * relcache callback marks the cache stale.  A stale cache is freed and rebuilt
 * on the next use, never inside the callback.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "correlate.h"
#include "detect/detect.h"

static void build_index(RuleSet *rs, MemoryContext cxt);

static MemoryContext cache_cxt = NULL;
static RuleSet *cache_rs = NULL;
static char *cache_tenant = NULL;
static bool cache_valid = false;
static bool callback_registered = false;
static Oid	cache_relid = InvalidOid;

static void
rules_changed(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == cache_relid)
		cache_valid = false;
}

static const char *
tenant_now(void)
{
	return correlate_tenant ? correlate_tenant : "default";
}

static RuleSet *
build(MemoryContext cxt)
{
	RuleSet    *rs = palloc0(sizeof(RuleSet));
	uint64		n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT r.id, r.rule_text FROM correlate.detection_rule r "
					"WHERE r.tenant = (SELECT correlate.current_tenant()) AND r.enabled ORDER BY r.id",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "correlate: reading detection rules failed");
	n = SPI_processed;
	rs->rules = MemoryContextAllocZero(cxt, sizeof(SigmaRule *) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		char	   *text = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		char	   *copy = pstrdup(text);
		List	   *docs;

		CHECK_FOR_INTERRUPTS();
		docs = sigma_yaml_parse(copy, strlen(copy), psprintf("detection rule %lld", (long long) id));
		if (list_length(docs) == 1)
		{
			SigmaRule  *r = sigma_compile(linitial(docs), psprintf("detection rule %lld", (long long) id), &rs->ft);

			r->row_id = id;
			rs->rules[rs->nrules++] = r;
		}
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	rs->st = match_state_create(&rs->ft, cxt);
	build_index(rs, cxt);
	return rs;
}

/* Builds the rule set in a new context, which is deleted again on error. */
static RuleSet *
build_in_context(MemoryContext cxt)
{
	RuleSet    *rs = NULL;
	MemoryContext old = MemoryContextSwitchTo(cxt);

	detect_compiling_stored = true;
	PG_TRY();
	{
		rs = build(cxt);
	}
	PG_CATCH();
	{
		detect_compiling_stored = false;
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		cache_valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	detect_compiling_stored = false;
	MemoryContextSwitchTo(old);
	return rs;
}

RuleSet *
detect_ruleset(void)
{
	const char *tenant = tenant_now();

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(rules_changed, (Datum) 0);
		callback_registered = true;
	}
	if (cache_rs && cache_valid && strcmp(cache_tenant, tenant) == 0)
		return cache_rs;

	if (cache_cxt)
		MemoryContextDelete(cache_cxt);
	cache_cxt = NULL;
	cache_rs = NULL;
	cache_valid = true;			/* an invalidation during the build marks it stale again */
	cache_relid = get_relname_relid("detection_rule", get_namespace_oid("correlate", false));

	{
		MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "correlate sigma rules", ALLOCSET_DEFAULT_SIZES);

		cache_rs = build_in_context(cxt);
		cache_cxt = cxt;
		cache_tenant = MemoryContextStrdup(cxt, tenant);
	}
	return cache_rs;
}

/*
 * A key of a rule: a field that must equal one of some plain literals in every
 * match (case-folded, no wildcards).  A test in the rule's top-level "and" is
 * one; so is an "or" whose every branch has a key on the same field (the union
 * of their literals).
 */
typedef struct KeyCand
{
	int			field;
	List	   *pats;			/* Pattern * */
} KeyCand;

static bool
usable(FieldTest *t)
{
	if (t->field < 0 || t->all || t->npat == 0)
		return false;
	for (int i = 0; i < t->npat; i++)
		if (t->pats[i].op != PAT_EQ || t->pats[i].wild || t->pats[i].cased)
			return false;
	return true;
}

static List *
key_cands(SExpr *e, int depth)
{
	List	   *out = NIL;

	if (depth > 16)
		return NIL;
	if (e->kind == EX_TEST && usable(e->test))
	{
		KeyCand    *k = palloc0(sizeof(KeyCand));

		k->field = e->test->field;
		for (int i = 0; i < e->test->npat; i++)
			k->pats = lappend(k->pats, &e->test->pats[i]);
		return list_make1(k);
	}
	if (e->kind == EX_AND)
	{
		for (int i = 0; i < e->n; i++)
			out = list_concat(out, key_cands(e->kids[i], depth + 1));
		return out;
	}
	if (e->kind == EX_OR && e->n > 0)
	{
		List	  **kc = palloc(sizeof(List *) * e->n);
		ListCell   *lc;

		for (int i = 0; i < e->n; i++)
			kc[i] = key_cands(e->kids[i], depth + 1);
		foreach(lc, kc[0])
		{
			KeyCand    *first = lfirst(lc);
			KeyCand    *u = palloc0(sizeof(KeyCand));
			bool		everywhere = true;

			u->field = first->field;
			u->pats = list_copy(first->pats);
			for (int i = 1; i < e->n && everywhere; i++)
			{
				ListCell   *oc;
				bool		found = false;

				foreach(oc, kc[i])
				{
					KeyCand    *o = lfirst(oc);

					if (o->field == u->field)
					{
						u->pats = list_concat(u->pats, o->pats);
						found = true;
						break;
					}
				}
				everywhere = found;
			}
			if (everywhere)
				out = lappend(out, u);
		}
	}
	return out;
}

static int
cmp_entry(const void *a, const void *b)
{
	const KeyEntry *x = a,
			   *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->lit, y->lit, x->len);
}

/* Files every rule under its source and, where it has one, its key test's literals. */
static void
build_index(RuleSet *rs, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	List	  **cands = palloc0(sizeof(List *) * (rs->nrules + 1));
	int		   *weight = palloc0(sizeof(int) * (rs->ft.n + 1));

	rs->sources = palloc0(sizeof(SourceRules) * (rs->nrules + 1));
	rs->mark = palloc0(sizeof(uint32) * (rs->nrules + 1));
	rs->cand = palloc(sizeof(int) * (rs->nrules + 1));

	/*
	 * A field's weight is how many literals the rules' keys give it: the
	 * field most rules name with the most values (CloudTrail's eventName, the
	 * audit log's objectRef.resource) splits the rules best, so each rule is
	 * filed under its key on the heaviest field.
	 */
	for (int r = 0; r < rs->nrules; r++)
	{
		ListCell   *lc;

		cands[r] = key_cands(rs->rules[r]->cond, 0);
		foreach(lc, cands[r])
			weight[((KeyCand *) lfirst(lc))->field] += list_length(((KeyCand *) lfirst(lc))->pats);
	}
	for (int r = 0; r < rs->nrules; r++)
	{
		SigmaRule  *rule = rs->rules[r];
		SourceRules *sr = NULL;
		KeyCand    *best = NULL;
		ListCell   *lc;

		for (int i = 0; i < rs->nsources; i++)
			if (strcmp(rs->sources[i].source, rule->source) == 0)
				sr = &rs->sources[i];
		if (sr == NULL)
		{
			sr = &rs->sources[rs->nsources++];
			sr->source = rule->source;
			sr->plain = palloc(sizeof(int) * (rs->nrules + 1));
			sr->keys = palloc0(sizeof(KeyIndex) * (rs->nrules + 1));
		}
		foreach(lc, cands[r])
		{
			KeyCand    *k = lfirst(lc);

			if (best == NULL || weight[k->field] > weight[best->field])
				best = k;
		}
		if (best == NULL)
		{
			sr->plain[sr->nplain++] = r;
			continue;
		}
		{
			KeyIndex   *k = NULL;

			for (int i = 0; i < sr->nkeys; i++)
				if (sr->keys[i].field == best->field)
					k = &sr->keys[i];
			if (k == NULL)
			{
				k = &sr->keys[sr->nkeys++];
				k->field = best->field;
			}
			foreach(lc, best->pats)
			{
				Pattern    *p = lfirst(lc);

				if (k->n == k->cap)
				{
					k->cap = k->cap ? k->cap * 2 : 16;
					k->e = k->e ? repalloc(k->e, k->cap * sizeof(KeyEntry)) : palloc(k->cap * sizeof(KeyEntry));
				}
				k->e[k->n].lit = p->lit;
				k->e[k->n].len = p->litlen;
				k->e[k->n].rule = r;
				k->n++;
			}
		}
	}
	for (int i = 0; i < rs->nsources; i++)
		for (int j = 0; j < rs->sources[i].nkeys; j++)
			if (rs->sources[i].keys[j].n > 1)
				qsort(rs->sources[i].keys[j].e, rs->sources[i].keys[j].n, sizeof(KeyEntry), cmp_entry);
	MemoryContextSwitchTo(old);
}

static int
cmp_int(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	return x < y ? -1 : x > y;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

static void
add_cand(RuleSet *rs, int *n, int r)
{
	if (rs->mark[r] != rs->gen)
	{
		rs->mark[r] = rs->gen;
		rs->cand[(*n)++] = r;
	}
}

int
detect_match_record(RuleSet *rs, const char *source, Jsonb *record, int64 *out, const int64 *only, int nonly)
{
	SourceRules *sr = NULL;
	int			ncand = 0;
	int			n = 0;

	if (rs->nrules == 0 || record == NULL)
		return 0;
	for (int i = 0; i < rs->nsources; i++)
		if (strcmp(rs->sources[i].source, source) == 0)
			sr = &rs->sources[i];
	if (sr == NULL)
		return 0;
	match_state_reset(rs->st);
	match_state_set_record(rs->st, record);
	if (++rs->gen == 0)
	{
		memset(rs->mark, 0, sizeof(uint32) * rs->nrules);
		rs->gen = 1;
	}

	/* candidates: the plain rules, and the keyed rules whose literal the record has */
	for (int i = 0; i < sr->nplain; i++)
		add_cand(rs, &ncand, sr->plain[i]);
	for (int k = 0; k < sr->nkeys; k++)
	{
		KeyIndex   *ki = &sr->keys[k];
		int			nv = match_field_count(rs->st, ki->field);

		for (int v = 0; v < nv; v++)
		{
			KeyEntry	key;
			int			lo = 0,
						hi = ki->n;

			key.lit = match_field_lower(rs->st, ki->field, v, &key.len);
			while (lo < hi)		/* first entry >= key */
			{
				int			mid = (lo + hi) / 2;

				if (cmp_entry(&ki->e[mid], &key) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < ki->n && cmp_entry(&ki->e[lo], &key) == 0; lo++)
				add_cand(rs, &ncand, ki->e[lo].rule);
		}
	}
	if (ncand > 1)
		qsort(rs->cand, ncand, sizeof(int), cmp_int);

	for (int i = 0; i < ncand; i++)
	{
		SigmaRule  *r = rs->rules[rs->cand[i]];

		if (only && bsearch(&r->row_id, only, nonly, sizeof(int64), cmp_int64) == NULL)
			continue;
		if (sigma_eval(rs->st, r, record))
			out[n++] = r->row_id;
	}
	return n;
}
