/*
 * detect_sql.c
 *		SQL-callable wrappers of the detection module: parse and validate Sigma
 *		text, read rule files, evaluate the cached rules over a record, and the
 *		trigger that invalidates every backend's cache when rules change.
 *
 * Storing rules is SQL's job (src/sql/87_detection.sql): these functions
 * only parse, compile and evaluate, so a load is one INSERT that either stores
 * every rule of its input or, on the first refused rule, none.
 */
#include "postgres.h"

#include <dirent.h>
#include <sys/stat.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "detect/detect.h"
#include "progress.h"

PG_FUNCTION_INFO_V1(correlate_sigma_parse);
PG_FUNCTION_INFO_V1(correlate_sigma_read);
PG_FUNCTION_INFO_V1(correlate_sigma_match);
PG_FUNCTION_INFO_V1(correlate_detection_rule_changed);

static void
check_size(size_t len, const char *origin)
{
	if (len > (size_t) detect_max_rule_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sigma rule text in %s is too large", origin),
				 errdetail("It has %zu bytes; correlate.sigma_max_rule_bytes is %d.", len, detect_max_rule_bytes)));
}

static Datum
text_array(List *l)
{
	Datum	   *d = palloc(sizeof(Datum) * (list_length(l) + 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, l)
		d[n++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Error context: which input (file) a refused rule came from. */
static void
parse_context(void *arg)
{
	errcontext("sigma rules from %s", (const char *) arg);
}

/* correlate._sigma_parse(yaml text, origin text): one row per rule document, after compiling all of them. */
Datum
correlate_sigma_parse(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *t;
	char	   *origin;
	char	   *s;
	List	   *docs;
	List	   *rules = NIL;
	ListCell   *lc;
	FieldTable	ft = {0};
	ErrorContextCallback ctxcb;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("sigma rule text must not be null")));
	t = PG_GETARG_TEXT_PP(0);
	origin = PG_ARGISNULL(1) ? "the rule text" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	check_size(VARSIZE_ANY_EXHDR(t), origin);
	s = text_to_cstring(t);
	ctxcb.callback = parse_context;
	ctxcb.arg = origin;
	ctxcb.previous = error_context_stack;
	error_context_stack = &ctxcb;
	docs = sigma_yaml_parse(s, strlen(s), origin);
	if (docs == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no sigma rule in %s", origin),
				 errdetail("The text holds no YAML document.")));
	foreach(lc, docs)
	{
		SigmaRule  *r = sigma_compile(lfirst(lc), origin, &ft);
		ListCell   *oc;

		foreach(oc, rules)
			if (strcmp(((SigmaRule *) lfirst(oc))->sigma_id, r->sigma_id) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNIQUE_VIOLATION),
						 errmsg("sigma rule id %s appears twice in %s", r->sigma_id, origin),
						 errdetail("Rules \"%s\" and \"%s\" share it.", ((SigmaRule *) lfirst(oc))->title, r->title)));
		rules = lappend(rules, r);
	}
	error_context_stack = ctxcb.previous;

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, rules)
	{
		SigmaRule  *r = lfirst(lc);
		Datum		v[14];
		bool		nulls[14] = {0};
		const char *sv[] = {r->sigma_id, r->title, r->author, r->description, r->level, r->status, r->product,
		r->service, r->category, r->source};

		for (int i = 0; i < 10; i++)
		{
			if (sv[i])
				v[i] = CStringGetTextDatum(sv[i]);
			else
				nulls[i] = true;
		}
		v[10] = text_array(r->tags);
		v[11] = CStringGetTextDatum(r->text);
		v[12] = r->name ? CStringGetTextDatum(r->name) : (Datum) 0;
		nulls[12] = r->name == NULL;
		v[13] = r->correlation ? CStringGetTextDatum(r->correlation) : (Datum) 0;
		nulls[13] = r->correlation == NULL;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
	}
	return (Datum) 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
is_rule_file(const char *name)
{
	size_t		n = strlen(name);

	return (n > 4 && strcmp(name + n - 4, ".yml") == 0) || (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

static void
read_one(ReturnSetInfo *rsinfo, const char *path)
{
	FILE	   *f;
	StringInfoData b;
	char		buf[65536];
	size_t		n;
	Datum		v[2];
	bool		nulls[2] = {0};

	f = AllocateFile(path, PG_BINARY_R);
	if (f == NULL)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open sigma rule file \"%s\": %m", path)));
	initStringInfo(&b);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
	{
		CHECK_FOR_INTERRUPTS();
		if (b.len + n > (size_t) detect_max_rule_bytes)
		{
			FreeFile(f);
			check_size(b.len + n, path);
		}
		appendBinaryStringInfo(&b, buf, n);
	}
	if (ferror(f))
	{
		FreeFile(f);
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not read sigma rule file \"%s\": %m", path)));
	}
	FreeFile(f);
	if (memchr(b.data, '\0', b.len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("sigma rule file \"%s\" contains a NUL byte", path)));
	v[0] = CStringGetTextDatum(path);
	v[1] = PointerGetDatum(cstring_to_text_with_len(b.data, b.len));	/* validated as UTF-8 below */
	pg_verifymbstr(b.data, b.len, false);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
	pfree(b.data);
}

static void
read_tree(ReturnSetInfo *rsinfo, const char *path, int depth)
{
	struct stat st;

	CHECK_FOR_INTERRUPTS();
	if (stat(path, &st) != 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not stat sigma rule path \"%s\": %m", path)));
	if (S_ISDIR(st.st_mode))
	{
		DIR		   *d;
		struct dirent *de;
		char	  **names = NULL;
		int			n = 0,
					cap = 0;

		if (depth > 16)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("sigma rule directory \"%s\" is nested too deeply", path)));
		d = AllocateDir(path);
		while ((de = ReadDir(d, path)) != NULL)
		{
			if (de->d_name[0] == '.')
				continue;
			if (n == cap)
			{
				cap = cap ? cap * 2 : 64;
				names = names ? repalloc(names, cap * sizeof(char *)) : palloc(cap * sizeof(char *));
			}
			names[n++] = psprintf("%s/%s", path, de->d_name);
		}
		FreeDir(d);
		if (n > 0)
			qsort(names, n, sizeof(char *), cmp_str);
		for (int i = 0; i < n; i++)
		{
			struct stat cs;

			if (stat(names[i], &cs) != 0)
				continue;
			if (S_ISDIR(cs.st_mode))
				read_tree(rsinfo, names[i], depth + 1);
			else if (S_ISREG(cs.st_mode) && is_rule_file(names[i]))
				read_one(rsinfo, names[i]);
		}
	}
	else
		read_one(rsinfo, path);
}

/* correlate._sigma_read(path text): (path, body) of one file, or of every .yml/.yaml under a directory. */
Datum
correlate_sigma_read(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *path;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("sigma rule path must not be null")));
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read sigma rule files"),
				 errdetail("Only roles with privileges of the \"%s\" role may read files on the server.",
						   "pg_read_server_files")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sigma rule path must be absolute"),
				 errdetail("Path: \"%s\".", path)));
	InitMaterializedSRF(fcinfo, 0);
	read_tree(rsinfo, path, 0);
	return (Datum) 0;
}

/*
 * correlate._sigma_match(source text, record jsonb, only bigint[]): ids of the
 * current tenant's enabled rules (restricted to only, when not NULL) that match
 * the record, or NULL when none does.
 */
Datum
correlate_sigma_match(PG_FUNCTION_ARGS)
{
	RuleSet    *rs;
	char		srcbuf[64];
	char	   *source;
	Jsonb	   *rec;
	int64	   *out;
	int64	   *only = NULL;
	int			nonly = 0;
	int			n;
	Datum	   *d;

	progress_advance_by("detect", 1);	/* one event seen by detect() */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	rs = detect_ruleset();
	if (rs->nrules == 0)
		PG_RETURN_NULL();
	{
		text	   *st = PG_GETARG_TEXT_PP(0);
		int			len = VARSIZE_ANY_EXHDR(st);

		if (len >= (int) sizeof(srcbuf))
			PG_RETURN_NULL();	/* no event source is that long */
		memcpy(srcbuf, VARDATA_ANY(st), len);
		srcbuf[len] = '\0';
		source = srcbuf;
	}
	rec = PG_GETARG_JSONB_P(1);
	if (!PG_ARGISNULL(2))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(2);
		Datum	   *elems;
		bool	   *en;

		deconstruct_array(a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &en, &nonly);
		only = palloc(sizeof(int64) * (nonly + 1));
		for (int i = 0; i < nonly; i++)
			only[i] = en[i] ? 0 : DatumGetInt64(elems[i]);
		for (int i = 1; i < nonly; i++)		/* insertion sort: short lists */
			for (int j = i; j > 0 && only[j - 1] > only[j]; j--)
			{
				int64		x = only[j];

				only[j] = only[j - 1];
				only[j - 1] = x;
			}
	}
	out = palloc(sizeof(int64) * (rs->nrules + 1));
	n = detect_match_record(rs, source, rec, out, only, nonly);
	if (n == 0)
		PG_RETURN_NULL();
	d = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(out[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Statement trigger on correlate.detection_rule: every backend drops its compiled rules. */
Datum
correlate_detection_rule_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("correlate._detection_rule_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(correlate_sigma_matches);

/*
 * correlate.sigma_matches(rule text, record jsonb): whether the one Sigma rule
 * in rule matches record, compiled for this call only (tests, rule authoring).
 */
Datum
correlate_sigma_matches(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	Jsonb	   *rec = PG_GETARG_JSONB_P(1);
	char	   *s;
	List	   *docs;
	FieldTable	ft = {0};
	SigmaRule  *r;
	MatchState *st;
	bool		m;

	check_size(VARSIZE_ANY_EXHDR(t), "the rule text");
	s = text_to_cstring(t);
	docs = sigma_yaml_parse(s, strlen(s), "the rule text");
	if (list_length(docs) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sigma_matches takes exactly one rule"),
				 errdetail("The text holds %d YAML documents.", list_length(docs))));
	r = sigma_compile(linitial(docs), "the rule text", &ft);
	st = match_state_create(&ft, CurrentMemoryContext);
	match_state_reset(st);
	m = sigma_eval(st, r, rec);
	PG_RETURN_BOOL(m);
}
