/*
 * pseudonym.c
 *		A tenant's pseudonymisation policy and key, and the keyed transforms.
 *
 * The key lives in correlate.pseudonym_key, on which no correlate role has
 * any privilege (and which pg_dump does not dump: see 45_privacy.sql); this
 * file reads it with a plain heap scan, so ingest running as a writer can use
 * the key without any role being able to SELECT it.  The rules are ordinary
 * rows (readers may see their tenant's) read through SPI.
 *
 * A pseudonym is HMAC-SHA256(key, value) cut to 96 bits: "ps_" and 24 hex
 * digits for strings.  Addresses stay addresses, so event.src_ip / dst_ip,
 * ip resources and joins on equality keep working: a public address becomes
 * 2001:db8::/32 plus 96 keyed bits (the documentation prefix, never a real
 * host, and still "public" to the model), any other address fd00::/8 plus 120
 * keyed bits (unique local, still "private").  Network prefixes are not kept:
 * CIDR containment over pseudonymised addresses means nothing.
 *
 * Records repeat the same few users and addresses, so pseudonyms are memoised
 * per ingest call (PSEUDO_CACHE_MAX entries, then the memo starts over).
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "access/heapam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "ingest/ingest.h"
#include "ingest/pseudonym.h"

#define PSEUDO_KEY_MAX		64
#define PSEUDO_CACHE_KEY	256		/* longer values are not memoised */
#define PSEUDO_CACHE_MAX	16384
#define PSEUDO_TOKEN_BYTES	12

struct PseudoPolicy
{
	MemoryContext cxt;
	uint8		key[PSEUDO_KEY_MAX];
	int			keylen;
	PseudoRule *rules;
	int			nrules;
	pg_hmac_ctx *hmac;
	bool		reuse_key;		/* see keyed() */
	MemoryContext memocxt;
	HTAB	   *memo;
	long		nmemo;
};

typedef struct MemoEnt
{
	char		key[PSEUDO_CACHE_KEY];	/* action letter + value */
	char	   *out;
} MemoEnt;

static const char hexdigits[] = "0123456789abcdef";

/* Reads tenant's key into p; false when the tenant has none. */
static bool
load_key(PseudoPolicy *p, const char *tenant)
{
	Oid			nsp = get_namespace_oid("correlate", false);
	Oid			relid = get_relname_relid("pseudonym_key", nsp);
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	if (!OidIsValid(relid))
		elog(ERROR, "correlate.pseudonym_key is missing");
	rel = table_open(relid, AccessShareLock);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (!found && (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		t = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);
		char	   *ts;

		if (isnull)
			continue;
		ts = TextDatumGetCString(t);
		if (strcmp(ts, tenant) == 0)
		{
			Datum		k = heap_getattr(tup, 2, RelationGetDescr(rel), &isnull);

			if (!isnull)
			{
				bytea	   *kb = DatumGetByteaPP(k);
				int			len = VARSIZE_ANY_EXHDR(kb);

				if (len < 16 || len > PSEUDO_KEY_MAX)
					elog(ERROR, "the pseudonymisation key of tenant \"%s\" has %d bytes", tenant, len);
				memcpy(p->key, VARDATA_ANY(kb), len);
				p->keylen = len;
				found = true;
			}
		}
		pfree(ts);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

static PseudoPolicy *
policy_new(MemoryContext cxt)
{
	PseudoPolicy *p = MemoryContextAllocZero(cxt, sizeof(PseudoPolicy));

	p->cxt = cxt;
	return p;
}

static PseudoPolicy *
policy_with_key(const char *tenant, MemoryContext cxt)
{
	PseudoPolicy *p = policy_new(cxt);

	if (!load_key(p, tenant))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" has no pseudonymisation key", tenant),
				 errhint("correlate.set_pseudonym_rule() creates one with the tenant's first rule.")));
	return p;
}

static bool
parse_action(const char *a, PseudoAction *out)
{
	if (strcmp(a, "hash") == 0)
		*out = PSEUDO_HASH;
	else if (strcmp(a, "hash_tail") == 0)
		*out = PSEUDO_HASH_TAIL;
	else if (strcmp(a, "ip") == 0)
		*out = PSEUDO_IP;
	else if (strcmp(a, "drop") == 0)
		*out = PSEUDO_DROP;
	else
		return false;
	return true;
}

PseudoPolicy *
pseudo_load(const char *tenant, const char *format, MemoryContext cxt)
{
	Datum		args[2];
	Oid			types[2] = {TEXTOID, TEXTOID};
	PseudoPolicy *p;
	MemoryContext old;
	uint64		n;

	args[0] = CStringGetTextDatum(tenant);
	args[1] = CStringGetTextDatum(format);
	if (SPI_execute_with_args("SELECT r.path, r.action, r.keep_prefixes FROM correlate.pseudonym_rule r "
							  "WHERE r.tenant = $1 AND r.format = $2 ORDER BY r.path",
							  2, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the pseudonymisation rules");
	n = SPI_processed;
	if (n == 0)
		return NULL;

	p = policy_with_key(tenant, cxt);
	old = MemoryContextSwitchTo(cxt);
	p->rules = palloc0(sizeof(PseudoRule) * n);
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		PseudoRule *r = &p->rules[p->nrules];
		char	   *path = SPI_getvalue(tup, desc, 1);
		char	   *action = SPI_getvalue(tup, desc, 2);
		bool		isnull;
		Datum		keep = SPI_getbinval(tup, desc, 3, &isnull);

		if (path == NULL || action == NULL || !parse_action(action, &r->action))
			elog(ERROR, "invalid pseudonymisation rule");
		{
			char	   *seg = pstrdup(path);
			int			cap = 1;

			for (char *c = seg; *c; c++)
				if (*c == '.')
					cap++;
			r->segs = palloc(sizeof(char *) * cap);
			r->segs[r->nsegs++] = seg;
			for (char *c = seg; *c; c++)
				if (*c == '.')
				{
					*c = '\0';
					r->segs[r->nsegs++] = c + 1;
				}
		}
		if (!isnull)
		{
			ArrayType  *arr = DatumGetArrayTypeP(keep);
			Datum	   *elems;
			bool	   *enulls;
			int			ne;

			deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &ne);
			r->keep = palloc(sizeof(char *) * Max(ne, 1));
			for (int j = 0; j < ne; j++)
				if (!enulls[j])
					r->keep[r->nkeep++] = TextDatumGetCString(elems[j]);
		}
		p->nrules++;
	}
	MemoryContextSwitchTo(old);
	return p;
}

void
pseudo_release(PseudoPolicy *p)
{
	if (p == NULL)
		return;
	if (p->hmac)
		pg_hmac_free(p->hmac);
	p->hmac = NULL;
	explicit_bzero(p->key, sizeof(p->key));
}

int
pseudo_nrules(const PseudoPolicy *p)
{
	return p ? p->nrules : 0;
}

const PseudoRule *
pseudo_rule(const PseudoPolicy *p, int i)
{
	return &p->rules[i];
}

static void
hmac_fail(PseudoPolicy *p)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("could not compute a pseudonym: %s", pg_hmac_error(p->hmac))));
}

static void
hmac_once(PseudoPolicy *p, const uint8 *key, size_t keylen, const char *data, size_t len, uint8 *mac)
{
	if (pg_hmac_init(p->hmac, key, keylen) < 0 ||
		pg_hmac_update(p->hmac, (const uint8 *) data, len) < 0 ||
		pg_hmac_final(p->hmac, mac, PG_SHA256_DIGEST_LENGTH) < 0)
		hmac_fail(p);
}

/*
 * HMAC-SHA256(key, data), its first 16 bytes into out.
 *
 * Setting the key (hashing the padded key twice) costs more than the HMAC of
 * a short value.  OpenSSL's HMAC_Init_ex, behind pg_hmac_init, keeps the
 * padded key's state and reuses it when called again with no key, which makes
 * a pseudonym 2-3 times cheaper.  That is OpenSSL's behaviour, not a promise
 * of pg_hmac_init, so it is used only after a test at first use shows that a
 * keyless init gives the same HMAC as a keyed one; otherwise (another crypto
 * library) every value sets the key.
 */
static void
keyed(PseudoPolicy *p, const char *data, size_t len, uint8 *out)
{
	uint8		mac[PG_SHA256_DIGEST_LENGTH];

	if (p->hmac == NULL)
	{
		uint8		a[PG_SHA256_DIGEST_LENGTH];
		uint8		b[PG_SHA256_DIGEST_LENGTH];
		static const char probe[] = "correlate pseudonym key reuse probe";

		p->hmac = pg_hmac_create(PG_SHA256);
		if (p->hmac == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		hmac_once(p, p->key, p->keylen, probe, sizeof(probe) - 1, a);
		p->reuse_key = pg_hmac_init(p->hmac, NULL, 0) >= 0 &&
			pg_hmac_update(p->hmac, (const uint8 *) probe, sizeof(probe) - 1) >= 0 &&
			pg_hmac_final(p->hmac, b, sizeof(b)) >= 0 &&
			memcmp(a, b, sizeof(a)) == 0;
		/* leave the context keyed whatever the probe did */
		hmac_once(p, p->key, p->keylen, probe, sizeof(probe) - 1, b);
	}
	if (p->reuse_key)
	{
		if (pg_hmac_init(p->hmac, NULL, 0) < 0 ||
			pg_hmac_update(p->hmac, (const uint8 *) data, len) < 0 ||
			pg_hmac_final(p->hmac, mac, sizeof(mac)) < 0)
			hmac_fail(p);
	}
	else
		hmac_once(p, p->key, p->keylen, data, len, mac);
	memcpy(out, mac, 16);
}

static char *
token_text(PseudoPolicy *p, const char *data, size_t len, const char *prefix, size_t prefixlen)
{
	uint8		mac[16];
	char	   *s = palloc(prefixlen + 3 + PSEUDO_TOKEN_BYTES * 2 + 1);
	char	   *o = s;

	keyed(p, data, len, mac);
	memcpy(o, prefix, prefixlen);
	o += prefixlen;
	memcpy(o, "ps_", 3);
	o += 3;
	for (int i = 0; i < PSEUDO_TOKEN_BYTES; i++)
	{
		*o++ = hexdigits[mac[i] >> 4];
		*o++ = hexdigits[mac[i] & 15];
	}
	*o = '\0';
	return s;
}

char *
pseudo_token(PseudoPolicy *p, const char *data, size_t len)
{
	return token_text(p, data, len, "", 0);
}

/* A keyed address of the same class (public or not) as the canonical address ip. */
static char *
ip_pseudonym(PseudoPolicy *p, const char *ip)
{
	uint8		mac[16];
	unsigned char a[16];
	char		buf[INET6_ADDRSTRLEN];

	keyed(p, ip, strlen(ip), mac);
	if (ingest_ip_is_public(ip))
	{
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
		memcpy(a + 4, mac, 12);
	}
	else
	{
		a[0] = 0xfd;
		memcpy(a + 1, mac, 15);
	}
	if (inet_ntop(AF_INET6, a, buf, sizeof(buf)) == NULL)
		elog(ERROR, "could not format a pseudonymous address");
	return pstrdup(buf);
}

static char *
compute(PseudoPolicy *p, PseudoAction a, const char *v)
{
	switch (a)
	{
		case PSEUDO_HASH:
			return token_text(p, v, strlen(v), "", 0);
		case PSEUDO_HASH_TAIL:
			{
				const char *slash = strrchr(v, '/');

				if (slash == NULL || slash[1] == '\0')
					return token_text(p, v, strlen(v), "", 0);
				return token_text(p, slash + 1, strlen(slash + 1), v, slash + 1 - v);
			}
		case PSEUDO_IP:
			{
				char		canon[INGEST_IP_BUFLEN];

				/* "AWS Internal", a host name: not an address, so a string pseudonym */
				if (!ingest_parse_ip(v, canon))
					return token_text(p, v, strlen(v), "", 0);
				return ip_pseudonym(p, canon);
			}
		case PSEUDO_DROP:
			break;
	}
	elog(ERROR, "unexpected pseudonymisation action %d", (int) a);
	return NULL;
}

const char *
pseudo_apply(PseudoPolicy *p, const PseudoRule *r, const char *value)
{
	size_t		len = strlen(value);
	MemoEnt    *e;
	bool		found;
	char		key[PSEUDO_CACHE_KEY];
	MemoryContext old;
	char	   *out;

	for (int i = 0; i < r->nkeep; i++)
		if (strncmp(value, r->keep[i], strlen(r->keep[i])) == 0)
			return NULL;

	if (len + 1 >= PSEUDO_CACHE_KEY)
	{
		old = MemoryContextSwitchTo(p->cxt);
		out = compute(p, r->action, value);
		MemoryContextSwitchTo(old);
		return out;
	}
	if (p->memo == NULL || p->nmemo >= PSEUDO_CACHE_MAX)
	{
		HASHCTL		hc;

		if (p->memocxt)
			MemoryContextDelete(p->memocxt);
		p->memocxt = AllocSetContextCreate(p->cxt, "correlate pseudonyms", ALLOCSET_DEFAULT_SIZES);
		memset(&hc, 0, sizeof(hc));
		hc.keysize = PSEUDO_CACHE_KEY;
		hc.entrysize = sizeof(MemoEnt);
		hc.hcxt = p->memocxt;
		p->memo = hash_create("correlate pseudonyms", 1024, &hc, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		p->nmemo = 0;
	}
	key[0] = 'a' + (char) r->action;
	memcpy(key + 1, value, len + 1);
	e = (MemoEnt *) hash_search(p->memo, key, HASH_ENTER, &found);
	if (!found)
	{
		e->out = NULL;
		old = MemoryContextSwitchTo(p->memocxt);
		e->out = compute(p, r->action, value);
		MemoryContextSwitchTo(old);
		p->nmemo++;
	}
	return e->out;
}

/* ---- SQL entry points -------------------------------------------------------- */

/*
 * correlate._pseudonyms(tenant, action, values text[]) -> text[]: each value's
 * pseudonym under tenant's key, for correlate.reidentify() (which audits the
 * call).  Granted to no role.
 */
PG_FUNCTION_INFO_V1(correlate_pseudonyms);
Datum
correlate_pseudonyms(PG_FUNCTION_ARGS)
{
	char	   *tenant;
	char	   *action;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Datum	   *out;
	PseudoPolicy *p;
	PseudoRule	r;
	MemoryContext cxt;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	tenant = text_to_cstring(PG_GETARG_TEXT_PP(0));
	action = text_to_cstring(PG_GETARG_TEXT_PP(1));
	arr = PG_GETARG_ARRAYTYPE_P(2);
	memset(&r, 0, sizeof(r));
	if (!parse_action(action, &r.action) || r.action == PSEUDO_DROP)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid pseudonymisation action \"%s\"", action),
				 errhint("Valid actions with a pseudonym are: hash, hash_tail, ip.")));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "correlate pseudonyms", ALLOCSET_DEFAULT_SIZES);
	p = policy_with_key(tenant, cxt);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	out = palloc(sizeof(Datum) * Max(n, 1));
	PG_TRY();
	{
		for (int i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (nulls[i])
				continue;
			out[i] = CStringGetTextDatum(pseudo_apply(p, &r, TextDatumGetCString(elems[i])));
		}
	}
	PG_FINALLY();
	{
		pseudo_release(p);
	}
	PG_END_TRY();
	{
		int			dims[1] = {n};
		int			lbs[1] = {1};

		PG_RETURN_ARRAYTYPE_P(construct_md_array(out, nulls, n > 0 ? 1 : 0, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	}
}

/* correlate._pseudonym_new_key() -> 32 random bytes from pg_strong_random.  Granted to no role. */
PG_FUNCTION_INFO_V1(correlate_pseudonym_new_key);
Datum
correlate_pseudonym_new_key(PG_FUNCTION_ARGS)
{
	bytea	   *k = palloc(VARHDRSZ + 32);

	SET_VARSIZE(k, VARHDRSZ + 32);
	if (!pg_strong_random(VARDATA(k), 32))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random key")));
	PG_RETURN_BYTEA_P(k);
}
