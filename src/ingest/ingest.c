/*
 * ingest.c
 *		SQL entry points correlate.ingest() and correlate.ingest_file(), and
 *		the dispatcher that maps a format name to its parser.
 *
 * ingest() hands the payload to the format's parser in one piece (it is in
 * memory already).  ingest_file() streams: formats that have a stream opener
 * get the file in chunks of INGEST_FILE_CHUNK bytes, so a file of any size is
 * read with memory bounded by the batch and the largest record; document
 * formats (a Trivy report, an IAM dump) get the whole file, up to
 * correlate.ingest_max_document_size.  Reading server files needs superuser or
 * pg_read_server_files, as COPY FROM a file does.
 *
 * Both return one row of counters (see docs/ingest.md for what they count).
 */
#include "postgres.h"

#include <sys/stat.h>

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "ingest/ingest.h"
#include "ingest/ingest_int.h"
#include "progress.h"

#define INGEST_FILE_CHUNK (1024 * 1024)

typedef struct IngestFormat
{
	const char *name;
	ingest_parser parse;
	ingest_stream_opener stream;	/* NULL: a document format */
} IngestFormat;

/* Sorted by name: the hint lists them in this order. */
static const IngestFormat formats[] = {
	{"aws_iam", fmt_aws_iam, NULL},
	{"cloudtrail", fmt_cloudtrail, fmt_cloudtrail_stream},
	{"falco", fmt_falco, fmt_falco_stream},
	{"grype", fmt_grype, NULL},
	{"k8s_audit", fmt_k8s_audit, fmt_k8s_audit_stream},
	{"k8s_inventory", fmt_k8s_inventory, NULL},
	{"ocsf", fmt_ocsf, fmt_ocsf_stream},
	{"trivy", fmt_trivy, NULL},
	{"vpc_flow", fmt_vpc_flow, fmt_vpc_flow_stream},
};

static const IngestFormat *
find_format(const char *name)
{
	StringInfoData valid;

	for (size_t i = 0; i < lengthof(formats); i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];

	initStringInfo(&valid);
	for (size_t i = 0; i < lengthof(formats); i++)
		appendStringInfo(&valid, "%s%s", i ? ", " : "", formats[i].name);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown ingest format \"%s\"", name),
			 errhint("Valid formats are: %s.", valid.data)));
	return NULL;
}

static bool
parse_on_error(const char *v)
{
	if (strcmp(v, "error") == 0)
		return false;
	if (strcmp(v, "skip") == 0)
		return true;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid on_error value \"%s\"", v),
			 errhint("Valid values are: error (stop at the first malformed record), skip (store it in correlate.ingest_reject and go on).")));
	return false;
}

static char *
arg_text(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static void
check_encoding(void)
{
	int			enc = GetDatabaseEncoding();

	if (enc != PG_UTF8 && enc != PG_SQL_ASCII)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("correlate.ingest needs a UTF8 database"),
				 errdetail("The database encoding is %s; telemetry is UTF-8 JSON and text.", GetDatabaseEncodingName())));
}

/* A document format's whole input, as one record, within the size limit. */
static void
parse_document(IngestCtx *ctx, const IngestFormat *f, const char *data, size_t len)
{
	if (len > ingest_max_document_bytes())
	{
		ingest_record_begin(ctx, 1, data, Min(len, ingest_reject_keep_bytes()));
		ingest_reject(ctx, 1, data, len,
					  psprintf("the document is %zu bytes, more than correlate.ingest_max_document_size (%zu bytes)",
							   len, ingest_max_document_bytes()));
		return;
	}
	f->parse(ctx, data, len);
}

static void
return_counts(FunctionCallInfo fcinfo, const IngestCounts *c)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	InitMaterializedSRF(fcinfo, 0);
	values[0] = Int64GetDatum(c->events);
	values[1] = Int64GetDatum(c->resources);
	values[2] = Int64GetDatum(c->relationships);
	values[3] = Int64GetDatum(c->findings);
	values[4] = Int64GetDatum(c->rejected);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(correlate_ingest);
Datum
correlate_ingest(PG_FUNCTION_ARGS)
{
	char	   *format = arg_text(fcinfo, 0, "format");
	const IngestFormat *f = find_format(format);
	bool		skip;
	text	   *payload;
	IngestCtx  *ctx;
	IngestCounts counts;

	skip = parse_on_error(arg_text(fcinfo, 2, "on_error"));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("payload must not be NULL")));
	check_encoding();
	payload = PG_GETARG_TEXT_PP(1);

	ctx = ingest_begin(f->name, skip);
	if (f->stream)
		f->parse(ctx, VARDATA_ANY(payload), VARSIZE_ANY_EXHDR(payload));
	else
		parse_document(ctx, f, VARDATA_ANY(payload), VARSIZE_ANY_EXHDR(payload));
	ingest_end(ctx, &counts);

	return_counts(fcinfo, &counts);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(correlate_ingest_file);
Datum
correlate_ingest_file(PG_FUNCTION_ARGS)
{
	char	   *format = arg_text(fcinfo, 0, "format");
	const IngestFormat *f = find_format(format);
	char	   *path = arg_text(fcinfo, 1, "path");
	bool		skip = parse_on_error(arg_text(fcinfo, 2, "on_error"));
	FILE	   *file;
	IngestCtx  *ctx;
	IngestCounts counts;
	char	   *chunk;
	struct stat st = {0};

	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read files on the server"),
				 errdetail("Only roles with privileges of the \"%s\" role may ingest files.", "pg_read_server_files"),
				 errhint("Pass the file's contents to correlate.ingest() instead.")));
	check_encoding();

	file = AllocateFile(path, PG_BINARY_R);
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", path)));
	if (fstat(fileno(file), &st) == 0 && S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a directory", path)));

	progress_begin("ingest_file", NULL, S_ISREG(st.st_mode) ? (int64) st.st_size : -1, "bytes");
	ctx = ingest_begin(f->name, skip);
	chunk = palloc(INGEST_FILE_CHUNK);
	if (f->stream)
	{
		IngestStream *s = f->stream(ctx);
		size_t		n;
		int64		done = 0;

		while ((n = fread(chunk, 1, INGEST_FILE_CHUNK, file)) > 0)
		{
			CHECK_FOR_INTERRUPTS();
			s->feed(s, chunk, n);
			progress_advance(done += n);
		}
		if (ferror(file))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", path)));
		s->finish(s);
	}
	else
	{
		StringInfoData doc;
		size_t		max = ingest_max_document_bytes();
		size_t		total = 0;
		size_t		n;

		initStringInfo(&doc);
		while ((n = fread(chunk, 1, INGEST_FILE_CHUNK, file)) > 0)
		{
			CHECK_FOR_INTERRUPTS();
			total += n;
			progress_advance(total);
			if (total <= max)
				appendBinaryStringInfo(&doc, chunk, n);
			else if ((size_t) doc.len < ingest_reject_keep_bytes())
				appendBinaryStringInfo(&doc, chunk, Min(n, ingest_reject_keep_bytes() - doc.len));
		}
		if (ferror(file))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", path)));
		progress_phase("parsing");
		if (total > max)
		{
			ingest_record_begin(ctx, 1, doc.data, doc.len);
			ingest_reject(ctx, 1, doc.data, doc.len,
						  psprintf("the document is %zu bytes, more than correlate.ingest_max_document_size (%zu bytes)",
								   total, max));
		}
		else
			f->parse(ctx, doc.data, doc.len);
		pfree(doc.data);
	}
	FreeFile(file);
	ingest_end(ctx, &counts);
	progress_end();

	return_counts(fcinfo, &counts);
	return (Datum) 0;
}
