/*
 * detect_ingest.c
 *		Sigma rules at ingest: the writer hands each event it is about to
 *		store to detect_batch_add() and calls detect_batch_flush() once the
 *		batch's events are written; the matches go to correlate.detection
 *		through correlate._record_detections in one statement per batch.
 *
 * When the tenant has no enabled rule for the source, detect_batch_begin()
 * returns NULL after a look at the cached rule set, so ingest pays nothing else.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "detect/detect.h"

struct DetectBatch
{
	RuleSet    *rs;
	char	   *source;
	int			n;
	int			cap;
	Datum	   *ts;
	Datum	   *uid;
	Datum	   *rid;
	int64	   *out;
};

DetectBatch *
detect_batch_begin(const char *source)
{
	RuleSet    *rs = detect_ruleset();
	DetectBatch *b;
	bool		any = false;

	for (int i = 0; i < rs->nrules && !any; i++)
		any = strcmp(rs->rules[i]->source, source) == 0;
	if (!any)
		return NULL;
	b = palloc0(sizeof(DetectBatch));
	b->rs = rs;
	b->source = pstrdup(source);
	b->out = palloc(sizeof(int64) * (rs->nrules + 1));
	return b;
}

void
detect_batch_add(DetectBatch *b, TimestampTz ts, const char *uid, Jsonb *record)
{
	int			n;

	if (record == NULL)
		return;
	n = detect_match_record(b->rs, b->source, record, b->out, NULL, 0);
	for (int i = 0; i < n; i++)
	{
		if (b->n == b->cap)
		{
			b->cap = b->cap ? b->cap * 2 : 64;
			b->ts = b->ts ? repalloc(b->ts, b->cap * sizeof(Datum)) : palloc(b->cap * sizeof(Datum));
			b->uid = b->uid ? repalloc(b->uid, b->cap * sizeof(Datum)) : palloc(b->cap * sizeof(Datum));
			b->rid = b->rid ? repalloc(b->rid, b->cap * sizeof(Datum)) : palloc(b->cap * sizeof(Datum));
		}
		b->ts[b->n] = TimestampTzGetDatum(ts);
		b->uid[b->n] = CStringGetTextDatum(uid);
		b->rid[b->n] = Int64GetDatum(b->out[i]);
		b->n++;
	}
}

void
detect_batch_flush(DetectBatch *b)
{
	Oid			types[4] = {TEXTOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, INT8ARRAYOID};
	Datum		values[4];
	int			rc;

	if (b == NULL)
		return;
	if (b->n > 0)
	{
		values[0] = CStringGetTextDatum(b->source);
		values[1] = PointerGetDatum(construct_array(b->ts, b->n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[2] = PointerGetDatum(construct_array(b->uid, b->n, TEXTOID, -1, false, TYPALIGN_INT));
		values[3] = PointerGetDatum(construct_array(b->rid, b->n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = SPI_execute_with_args("SELECT correlate._record_detections($1, $2, $3, $4)", 4, types, values, NULL,
								   false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "correlate: storing detections failed: %s", SPI_result_code_string(rc));
		SPI_finish();
	}
	pfree(b);
}
