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
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "detect/detect.h"

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
	const char *t = GetConfigOption("correlate.tenant", true, false);

	return t ? t : "default";
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
	return rs;
}

/* Builds the rule set in a new context, which is deleted again on error. */
static RuleSet *
build_in_context(MemoryContext cxt)
{
	RuleSet    *rs = NULL;
	MemoryContext old = MemoryContextSwitchTo(cxt);

	PG_TRY();
	{
		rs = build(cxt);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		cache_valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
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

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

int
detect_match_record(RuleSet *rs, const char *source, Jsonb *record, int64 *out, const int64 *only, int nonly)
{
	int			n = 0;

	if (rs->nrules == 0 || record == NULL)
		return 0;
	match_state_reset(rs->st);
	for (int i = 0; i < rs->nrules; i++)
	{
		SigmaRule  *r = rs->rules[i];

		if (strcmp(r->source, source) != 0)
			continue;
		if (only && bsearch(&r->row_id, only, nonly, sizeof(int64), cmp_int64) == NULL)
			continue;
		if (sigma_eval(rs->st, r, record))
			out[n++] = r->row_id;
	}
	return n;
}
