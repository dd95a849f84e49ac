/*
 * json_util.c
 *		Record splitting and bounded parsing for JSON and line-oriented
 *		inputs, plus typed field access for the parsers.
 *
 * The JSON splitter is a byte scanner that never builds a tree: it tracks
 * strings, escapes and brackets, and cuts the input into records (see
 * JuSplitOpts) which are then parsed one at a time with json-c.  It streams:
 * input arrives in chunks of any size, a record that lies inside one chunk is
 * handed over in place, and only a record that straddles chunks is copied.  So
 * memory is bounded by the largest record (correlate.ingest_max_document_size),
 * not by the input.  Records deeper than correlate.ingest_max_depth or larger
 * than the size limit are rejected before json-c sees them.
 *
 * After a structural error (a closing bracket of the wrong kind, or text where
 * a JSON value cannot start) the splitter rejects the text up to the end of the
 * line and carries on there, so NDJSON input recovers at the next record.
 *
 * json-c objects are released through a memory context callback (ju_guard),
 * so a handler may raise an ERROR at any point without leaking them.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "ingest/ingest_int.h"
#include "ingest/json_util.h"
#include "ingest/pseudonym.h"

/* ---- json-c object guard ----------------------------------------------------- */

typedef struct JuGuard
{
	MemoryContextCallback cb;
	struct json_object *obj;
} JuGuard;

static void
ju_guard_release(void *arg)
{
	JuGuard    *g = (JuGuard *) arg;

	if (g->obj)
		json_object_put(g->obj);
	g->obj = NULL;
}

static JuGuard *
ju_guard_new(struct json_object *obj)
{
	JuGuard    *g = palloc(sizeof(JuGuard));

	g->obj = obj;
	g->cb.func = ju_guard_release;
	g->cb.arg = g;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &g->cb);
	return g;
}

void
ju_guard(struct json_object *obj)
{
	ju_guard_new(obj);
}

/* ---- parsing ------------------------------------------------------------------- */

static struct json_object *
ju_parse_with(struct json_tokener *tok, const char *text, size_t len, const char **why)
{
	struct json_object *obj;
	enum json_tokener_error err;
	size_t		end;

	if (len > ingest_max_document_bytes())
	{
		*why = psprintf("it is %zu bytes, more than correlate.ingest_max_document_size (%zu bytes)",
						len, ingest_max_document_bytes());
		return NULL;
	}
	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, text, (int) len);
	err = json_tokener_get_error(tok);
	if (obj == NULL && err == json_tokener_continue)
	{
		/* a bare number or literal ends only at a terminator: feed one */
		obj = json_tokener_parse_ex(tok, "", 1);
		err = json_tokener_get_error(tok);
		if (err == json_tokener_success && obj != NULL)
			return obj;
	}
	if (err == json_tokener_continue)
	{
		if (obj)
			json_object_put(obj);
		*why = "it is truncated (the JSON value is not complete)";
		return NULL;
	}
	if (err != json_tokener_success || obj == NULL)
	{
		if (obj)
			json_object_put(obj);
		if (err == json_tokener_success)
			*why = "it is JSON null";
		else if (err == json_tokener_error_depth)
			*why = psprintf("it is nested deeper than correlate.ingest_max_depth (%d)", ingest_max_depth());
		else
			*why = psprintf("it is not valid JSON (%s at byte %zu)", json_tokener_error_desc(err),
							json_tokener_get_parse_end(tok) + 1);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	while (end < len && (text[end] == ' ' || text[end] == '\t' || text[end] == '\n' || text[end] == '\r'))
		end++;
	if (end < len)
	{
		json_object_put(obj);
		*why = psprintf("it has text after the JSON value at byte %zu", end + 1);
		return NULL;
	}
	return obj;
}

static struct json_tokener *
ju_tokener(void)
{
	struct json_tokener *tok = json_tokener_new_ex(ingest_max_depth() + 1);

	if (tok == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	return tok;
}

struct json_object *
ju_parse(const char *text, size_t len, const char **why)
{
	struct json_tokener *tok;
	struct json_object *obj;

	if (!ingest_text_ok(text, len, why))
		return NULL;
	tok = ju_tokener();
	obj = ju_parse_with(tok, text, len, why);
	json_tokener_free(tok);
	return obj;
}

/* Frees the tokener when the stream's context goes away (also on ERROR). */
static void
ju_tokener_release(void *arg)
{
	struct json_tokener **tok = (struct json_tokener **) arg;

	if (*tok)
		json_tokener_free(*tok);
	*tok = NULL;
}

/* ---- the JSON splitter ----------------------------------------------------------- */

typedef enum JuWhere
{
	JU_TOP,						/* between top-level values */
	JU_ARRAY,					/* between elements of the record array */
	JU_WRAPPER,					/* in a wrapper object, outside its record array */
	JU_RECORD,					/* inside a record that is an object or array */
	JU_SCALAR,					/* inside a scalar record (number, literal, string) */
	JU_RESYNC					/* skipping to the end of the line after an error */
} JuWhere;

typedef struct JuJsonStream
{
	IngestStream pub;
	IngestCtx  *ctx;
	const char *const *wrapper_keys;
	ju_record_handler handler;
	void	   *arg;
	struct json_tokener *tok;
	MemoryContextCallback tok_cb;

	int64		recno;
	bool		at_start;		/* nothing seen yet (BOM check) */

	JuWhere		where;
	bool		array_in_wrapper;	/* the record array is a wrapper's member */
	int			wrapper_depth;	/* depth inside the wrapper object (JU_WRAPPER) */

	/* the record being scanned */
	bool		top_object;		/* a top-level object: might be a wrapper */
	bool		scalar_string;	/* JU_SCALAR of a string */
	bool		top_scalar;		/* JU_SCALAR at top level: runs to end of line */
	int			depth;
	bool		in_str;
	bool		esc;
	uint8	   *kinds;			/* bracket kinds, 1 = '{', for depth <= max */
	int			maxdepth;
	bool		too_deep;
	const char *bad;			/* structural problem found */
	size_t		reclen;			/* bytes of the record so far */
	StringInfoData buf;			/* bytes of the record from earlier chunks */
	bool		buffering;		/* buf holds the record's beginning */
	bool		oversize;

	/* wrapper detection at depth 1 of a top-level object */
	int			key_state;		/* 0 none, 1 key string matched, 2 ':' seen */
	size_t		str_start;		/* record offset where the current string began */
} JuJsonStream;

static void
ju_emit(JuJsonStream *s, const char *raw, size_t len)
{
	IngestCtx  *ctx = s->ctx;
	const char *why = NULL;
	struct json_object *obj;
	JuGuard    *g;
	MemoryContext old;

	s->recno++;
	ingest_record_begin(ctx, s->recno, raw, len);
	if (s->bad)
	{
		ingest_reject(ctx, s->recno, raw, len, s->bad);
		return;
	}
	if (s->oversize || len > ingest_max_document_bytes())
	{
		ingest_reject(ctx, s->recno, raw, len,
					  psprintf("the record is %zu bytes, more than correlate.ingest_max_document_size (%zu bytes)",
							   s->oversize ? s->reclen : len, ingest_max_document_bytes()));
		return;
	}
	if (s->too_deep)
	{
		ingest_reject(ctx, s->recno, raw, len,
					  psprintf("the record is nested deeper than correlate.ingest_max_depth (%d)", ingest_max_depth()));
		return;
	}
	if (!ingest_text_ok(raw, len, &why))
	{
		ingest_reject(ctx, s->recno, raw, len, psprintf("the record cannot be read: %s", why));
		return;
	}
	old = MemoryContextSwitchTo(ingest_record_context(ctx));
	obj = ju_parse_with(s->tok, raw, len, &why);
	if (obj == NULL)
	{
		ingest_reject(ctx, s->recno, raw, len, psprintf("the record cannot be parsed: %s", why));
		MemoryContextSwitchTo(old);
		return;
	}
	g = ju_guard_new(obj);
	pseudo_json(ctx, obj);
	s->handler(ctx, obj, ingest_record_raw(ctx), len, s->recno, s->arg);
	json_object_put(obj);
	g->obj = NULL;
	MemoryContextSwitchTo(old);
}

static void
ju_record_reset(JuJsonStream *s)
{
	s->depth = 0;
	s->in_str = false;
	s->esc = false;
	s->too_deep = false;
	s->bad = NULL;
	s->reclen = 0;
	s->buffering = false;
	s->oversize = false;
	s->key_state = 0;
	s->top_object = false;
	s->scalar_string = false;
	s->top_scalar = false;
	resetStringInfo(&s->buf);
}

/* Appends part of a record that is about to leave its chunk. */
static void
ju_keep(JuJsonStream *s, const char *p, size_t n)
{
	size_t		max = ingest_max_document_bytes();

	s->reclen += n;
	if (s->oversize)
		return;
	if ((size_t) s->buf.len + n > max)
	{
		/* keep only what a reject can show */
		size_t		room = ingest_reject_keep_bytes();

		s->oversize = true;
		if ((size_t) s->buf.len < room)
			appendBinaryStringInfo(&s->buf, p, Min(n, room - s->buf.len));
		return;
	}
	appendBinaryStringInfo(&s->buf, p, n);
}

static bool
is_wrapper_key(JuJsonStream *s, const char *key, size_t len)
{
	if (s->wrapper_keys == NULL)
		return false;
	for (int i = 0; s->wrapper_keys[i]; i++)
		if (strlen(s->wrapper_keys[i]) == len && memcmp(s->wrapper_keys[i], key, len) == 0)
			return true;
	return false;
}

/*
 * Ends the record at chunk position end (exclusive) and emits it.  start is
 * where the record began in this chunk (NULL when it began in an earlier one).
 */
static void
ju_finish_record(JuJsonStream *s, const char *start, const char *chunk, const char *end)
{
	if (s->buffering)
	{
		ju_keep(s, chunk, end - chunk);
		ju_emit(s, s->buf.data, s->buf.len);
	}
	else
		ju_emit(s, start, end - start);
	ju_record_reset(s);
}

static void
ju_json_feed(IngestStream *pub, const char *data, size_t len)
{
	JuJsonStream *s = (JuJsonStream *) pub;
	const char *p = data;
	const char *end = data + len;
	const char *start = NULL;	/* where the current record began in this chunk */

	if (s->buffering || s->where == JU_RECORD || s->where == JU_SCALAR)
		start = NULL;			/* record continues from an earlier chunk */

	if (s->at_start && len > 0)
	{
		if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3;
		s->at_start = false;
	}

	while (p < end)
	{
		char		c = *p;

		switch (s->where)
		{
			case JU_TOP:
			case JU_ARRAY:
				if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || (s->where == JU_ARRAY && c == ','))
				{
					p++;
					continue;
				}
				if (s->where == JU_ARRAY && c == ']')
				{
					p++;
					if (s->array_in_wrapper)
					{
						s->where = JU_WRAPPER;
						s->wrapper_depth = 1;
						s->in_str = s->esc = false;
					}
					else
						s->where = JU_TOP;
					continue;
				}
				CHECK_FOR_INTERRUPTS();
				ju_record_reset(s);
				start = p;
				if (c == '{' || c == '[')
				{
					s->top_object = (s->where == JU_TOP && c == '{');
					if (s->where == JU_TOP && c == '[')
					{
						/* a top-level array: its elements are the records */
						s->where = JU_ARRAY;
						s->array_in_wrapper = false;
						p++;
						continue;
					}
					s->where = JU_RECORD;
					s->kinds[0] = (c == '{');
					s->depth = 1;
					p++;
					continue;
				}
				s->top_scalar = (s->where == JU_TOP);
				s->scalar_string = (c == '"');
				s->where = JU_SCALAR;
				p++;
				continue;

			case JU_SCALAR:
				if (s->scalar_string && !s->top_scalar)
				{
					if (s->esc)
						s->esc = false;
					else if (c == '\\')
						s->esc = true;
					else if (c == '"')
					{
						p++;
						s->where = JU_ARRAY;
						ju_finish_record(s, start, data, p);
						start = NULL;
						continue;
					}
					p++;
					continue;
				}
				if (s->top_scalar ? (c == '\n') :
					(c == ',' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t'))
				{
					s->where = s->top_scalar ? JU_TOP : JU_ARRAY;
					ju_finish_record(s, start, data, p);
					start = NULL;
					continue;	/* the delimiter is handled by the outer state */
				}
				p++;
				continue;

			case JU_RECORD:
				if (s->in_str)
				{
					/* fast path through string bodies */
					while (p < end)
					{
						c = *p;
						if (s->esc)
							s->esc = false;
						else if (c == '\\')
							s->esc = true;
						else if (c == '"')
							break;
						p++;
					}
					if (p == end)
						continue;
					s->in_str = false;
					p++;
					if (s->top_object && s->depth == 1)
					{
						/* was it a wrapper key?  (a string at depth 1 of a top-level object) */
						const char *kp;
						size_t		klen;

						if (start)
						{
							kp = start + s->str_start + 1;
							klen = (size_t) (p - start) - s->str_start - 2;
						}
						else
						{
							ju_keep(s, data, p - data);
							data = p;
							kp = s->buf.data + s->str_start + 1;
							klen = s->buf.len - s->str_start - 2;
							if (s->oversize)
								klen = SIZE_MAX;
						}
						s->key_state = (klen < 64 && is_wrapper_key(s, kp, klen)) ? 1 : 0;
					}
					continue;
				}
				switch (c)
				{
					case '"':
						s->in_str = true;
						if (s->top_object && s->depth == 1)
						{
							if (start)
								s->str_start = p - start;
							else
							{
								/* keep what we have so the key's bytes are contiguous */
								ju_keep(s, data, p - data);
								data = p;
								s->str_start = s->oversize ? 0 : s->buf.len;
							}
						}
						s->key_state = 0;
						break;
					case ':':
						if (s->key_state == 1)
							s->key_state = 2;
						break;
					case '{':
					case '[':
						if (s->key_state == 2 && c == '[')
						{
							/* a wrapper: drop what we kept; its array holds the records */
							s->where = JU_ARRAY;
							s->array_in_wrapper = true;
							ju_record_reset(s);
							start = NULL;
							p++;
							continue;
						}
						s->key_state = 0;
						if (s->depth < s->maxdepth)
							s->kinds[s->depth] = (c == '{');
						else
							s->too_deep = true;
						s->depth++;
						break;
					case '}':
					case ']':
						s->key_state = 0;
						s->depth--;
						if (s->depth < s->maxdepth && s->kinds[s->depth] != (c == '}'))
						{
							p++;
							s->bad = "its brackets do not match (a ']' closes a '{' or a '}' closes a '[')";
							s->where = JU_RESYNC;
							ju_finish_record(s, start, data, p);
							start = NULL;
							continue;
						}
						if (s->depth == 0)
						{
							p++;
							s->where = s->top_object ? JU_TOP : JU_ARRAY;
							ju_finish_record(s, start, data, p);
							start = NULL;
							continue;
						}
						break;
					case ' ':
					case '\n':
					case '\r':
					case '\t':
						break;
					default:
						s->key_state = 0;
						break;
				}
				p++;
				continue;

			case JU_WRAPPER:
				/* skip the rest of the wrapper object */
				if (s->in_str)
				{
					if (s->esc)
						s->esc = false;
					else if (c == '\\')
						s->esc = true;
					else if (c == '"')
						s->in_str = false;
				}
				else if (c == '"')
					s->in_str = true;
				else if (c == '{' || c == '[')
					s->wrapper_depth++;
				else if (c == '}' || c == ']')
				{
					if (--s->wrapper_depth == 0)
						s->where = JU_TOP;
				}
				p++;
				continue;

			case JU_RESYNC:
				{
					const char *nl = memchr(p, '\n', end - p);

					if (nl == NULL)
						p = end;
					else
					{
						p = nl + 1;
						s->where = JU_TOP;
					}
					continue;
				}
		}
	}

	/* the chunk ends inside a record: keep its bytes */
	if (s->where == JU_RECORD || s->where == JU_SCALAR)
	{
		const char *from = start ? start : data;

		ju_keep(s, from, end - from);
		s->buffering = true;
	}
}

static void
ju_json_finish(IngestStream *pub)
{
	JuJsonStream *s = (JuJsonStream *) pub;

	switch (s->where)
	{
		case JU_RECORD:
			s->bad = "the input ends inside this record (truncated JSON)";
			ju_emit(s, s->buf.data, s->buf.len);
			break;
		case JU_SCALAR:
			if (s->scalar_string && !s->top_scalar)
				s->bad = "the input ends inside this record (truncated JSON)";
			ju_emit(s, s->buf.data, s->buf.len);
			break;
		case JU_ARRAY:
		case JU_WRAPPER:
			s->bad = "the input ends before the record array is closed (truncated JSON)";
			ju_emit(s, "", 0);
			break;
		case JU_TOP:
		case JU_RESYNC:
			break;
	}
	ju_record_reset(s);
	s->where = JU_TOP;
}

IngestStream *
ju_json_stream(IngestCtx *ctx, const JuSplitOpts *opts, ju_record_handler handler, void *arg)
{
	JuJsonStream *s = palloc0(sizeof(JuJsonStream));

	s->pub.feed = ju_json_feed;
	s->pub.finish = ju_json_finish;
	s->ctx = ctx;
	s->wrapper_keys = opts ? opts->wrapper_keys : NULL;
	s->handler = handler;
	s->arg = arg;
	s->at_start = true;
	s->where = JU_TOP;
	s->maxdepth = ingest_max_depth();
	s->kinds = palloc(s->maxdepth + 1);
	initStringInfo(&s->buf);
	s->tok = ju_tokener();
	s->tok_cb.func = ju_tokener_release;
	s->tok_cb.arg = &s->tok;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &s->tok_cb);
	return &s->pub;
}

void
ju_json_each(IngestCtx *ctx, const char *payload, size_t len, const JuSplitOpts *opts,
			 ju_record_handler handler, void *arg)
{
	IngestStream *s = ju_json_stream(ctx, opts, handler, arg);

	s->feed(s, payload, len);
	s->finish(s);
}

/* ---- the line splitter ------------------------------------------------------------- */

typedef struct JuLineStream
{
	IngestStream pub;
	IngestCtx  *ctx;
	ju_line_handler handler;
	void	   *arg;
	int64		recno;
	StringInfoData buf;			/* a line begun in an earlier chunk */
	bool		oversize;
	size_t		linelen;
} JuLineStream;

static void
ju_line_emit(JuLineStream *s, const char *line, size_t len)
{
	IngestCtx  *ctx = s->ctx;
	const char *why;
	MemoryContext old;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	/* blank lines are not records */
	{
		size_t		i = 0;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len && !s->oversize)
			return;
	}
	s->recno++;
	ingest_record_begin(ctx, s->recno, line, len);
	if (s->oversize)
	{
		ingest_reject(ctx, s->recno, line, len,
					  psprintf("the line is %zu bytes, more than correlate.ingest_max_document_size (%zu bytes)",
							   s->linelen, ingest_max_document_bytes()));
		return;
	}
	if (!ingest_text_ok(line, len, &why))
	{
		ingest_reject(ctx, s->recno, line, len, psprintf("the line cannot be read: %s", why));
		return;
	}
	old = MemoryContextSwitchTo(ingest_record_context(ctx));
	s->handler(ctx, ingest_record_raw(ctx), len, s->recno, s->arg);
	MemoryContextSwitchTo(old);
}

static void
ju_line_feed(IngestStream *pub, const char *data, size_t len)
{
	JuLineStream *s = (JuLineStream *) pub;
	const char *p = data;
	const char *end = data + len;
	size_t		max = ingest_max_document_bytes();

	while (p < end)
	{
		const char *nl = memchr(p, '\n', end - p);
		const char *stop = nl ? nl : end;
		size_t		n = stop - p;

		CHECK_FOR_INTERRUPTS();
		s->linelen += n;
		if (s->buf.len > 0 || s->oversize || nl == NULL)
		{
			if (s->linelen > max)
			{
				if (!s->oversize)
				{
					size_t		room = ingest_reject_keep_bytes();

					if ((size_t) s->buf.len < room)
						appendBinaryStringInfo(&s->buf, p, Min(n, room - s->buf.len));
				}
				s->oversize = true;
			}
			else
				appendBinaryStringInfo(&s->buf, p, n);
			if (nl)
			{
				ju_line_emit(s, s->buf.data, s->buf.len);
				resetStringInfo(&s->buf);
				s->oversize = false;
				s->linelen = 0;
			}
		}
		else
		{
			if (n > max)
				s->oversize = true;
			ju_line_emit(s, p, n);
			s->oversize = false;
			s->linelen = 0;
		}
		p = nl ? nl + 1 : end;
	}
}

static void
ju_line_finish(IngestStream *pub)
{
	JuLineStream *s = (JuLineStream *) pub;

	if (s->buf.len > 0 || s->oversize)
		ju_line_emit(s, s->buf.data, s->buf.len);
	resetStringInfo(&s->buf);
	s->oversize = false;
	s->linelen = 0;
}

IngestStream *
ju_line_stream(IngestCtx *ctx, ju_line_handler handler, void *arg)
{
	JuLineStream *s = palloc0(sizeof(JuLineStream));

	s->pub.feed = ju_line_feed;
	s->pub.finish = ju_line_finish;
	s->ctx = ctx;
	s->handler = handler;
	s->arg = arg;
	initStringInfo(&s->buf);
	return &s->pub;
}

void
ju_line_each(IngestCtx *ctx, const char *payload, size_t len, ju_line_handler handler, void *arg)
{
	IngestStream *s = ju_line_stream(ctx, handler, arg);

	s->feed(s, payload, len);
	s->finish(s);
}

/* ---- typed access ------------------------------------------------------------------- */

struct json_object *
ju_get(struct json_object *obj, const char *path)
{
	const char *p = path;

	while (obj != NULL)
	{
		const char *dot = strchr(p, '.');
		struct json_object *next = NULL;

		if (!json_object_is_type(obj, json_type_object))
			return NULL;
		if (dot == NULL)
		{
			if (!json_object_object_get_ex(obj, p, &next))
				return NULL;
			return (next && json_object_is_type(next, json_type_null)) ? NULL : next;
		}
		else
		{
			char		key[128];
			size_t		n = dot - p;

			if (n >= sizeof(key))
				return NULL;
			memcpy(key, p, n);
			key[n] = '\0';
			if (!json_object_object_get_ex(obj, key, &next))
				return NULL;
			obj = next;
			p = dot + 1;
		}
	}
	return NULL;
}

const char *
ju_cstr(struct json_object *v)
{
	const char *s;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (s == NULL || *s == '\0' || strlen(s) != (size_t) json_object_get_string_len(v))
		return NULL;
	return s;
}

const char *
ju_str(struct json_object *obj, const char *path)
{
	return ju_cstr(ju_get(obj, path));
}

const char *
ju_str_any(struct json_object *obj, const char *path)
{
	struct json_object *v = ju_get(obj, path);

	if (v == NULL)
		return NULL;
	switch (json_object_get_type(v))
	{
		case json_type_string:
			return ju_cstr(v);
		case json_type_int:
		case json_type_double:
		case json_type_boolean:
			return json_object_get_string(v);
		default:
			return NULL;
	}
}

bool
ju_int64(struct json_object *obj, const char *path, int64 *out)
{
	struct json_object *v = ju_get(obj, path);

	if (v == NULL)
		return false;
	if (json_object_is_type(v, json_type_int))
	{
		*out = json_object_get_int64(v);
		return true;
	}
	if (json_object_is_type(v, json_type_string))
	{
		const char *s = json_object_get_string(v);
		char	   *e;
		long long	x;

		errno = 0;
		x = strtoll(s, &e, 10);
		if (errno == 0 && e != s && *e == '\0')
		{
			*out = (int64) x;
			return true;
		}
	}
	return false;
}

bool
ju_double(struct json_object *obj, const char *path, double *out)
{
	struct json_object *v = ju_get(obj, path);

	if (v == NULL)
		return false;
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
	{
		*out = json_object_get_double(v);
		return true;
	}
	if (json_object_is_type(v, json_type_string))
	{
		const char *s = json_object_get_string(v);
		char	   *e;
		double		x;

		errno = 0;
		x = strtod(s, &e);
		if (errno == 0 && e != s && *e == '\0')
		{
			*out = x;
			return true;
		}
	}
	return false;
}

bool
ju_is_type(struct json_object *obj, const char *path, json_type t)
{
	struct json_object *v = ju_get(obj, path);

	return v != NULL && json_object_is_type(v, t);
}

const char *
ju_serialize(struct json_object *v)
{
	const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

	if (s == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory serialising JSON")));
	return s;
}

char *
ju_to_text(struct json_object *v)
{
	const char *s;
	const char *why;

	if (v == NULL)
		return NULL;
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || !ingest_jsonb_safe(s, strlen(s), &why))
		return NULL;
	return pstrdup(s);
}

bool
ju_time(struct json_object *v, TimestampTz *out)
{
	if (v == NULL)
		return false;
	if (json_object_is_type(v, json_type_string))
	{
		const char *s = json_object_get_string(v);
		char	   *e;
		double		d;

		if (ingest_parse_time(s, out))
			return true;
		errno = 0;
		d = strtod(s, &e);
		if (errno != 0 || e == s || *e != '\0')
			return false;
		v = NULL;
		/* inf and anything past int64 cannot be cast (undefined behaviour); NaN fails below */
		if (d >= (double) PG_INT64_MAX)
			return false;
		if (d > 1e17)
			return ingest_epoch_ns_to_ts((int64) d, out);
		return ingest_epoch_to_ts(d > 1e11 ? d / 1000.0 : d, out);
	}
	if (json_object_is_type(v, json_type_int))
	{
		int64		i = json_object_get_int64(v);

		if (i > INT64CONST(100000000000000000))
			return ingest_epoch_ns_to_ts(i, out);
		if (i > INT64CONST(100000000000))
			return ingest_epoch_to_ts((double) i / 1000.0, out);
		return ingest_epoch_to_ts((double) i, out);
	}
	if (json_object_is_type(v, json_type_double))
	{
		double		d = json_object_get_double(v);

		return ingest_epoch_to_ts(d > 1e11 ? d / 1000.0 : d, out);
	}
	return false;
}

/* ---- JSON builder ------------------------------------------------------------------- */

void
jb_escape(StringInfo out, const char *s)
{
	appendStringInfoChar(out, '"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				appendStringInfoString(out, "\\\"");
				break;
			case '\\':
				appendStringInfoString(out, "\\\\");
				break;
			case '\n':
				appendStringInfoString(out, "\\n");
				break;
			case '\r':
				appendStringInfoString(out, "\\r");
				break;
			case '\t':
				appendStringInfoString(out, "\\t");
				break;
			default:
				if (*p < 0x20)
					appendStringInfo(out, "\\u%04x", *p);
				else
					appendStringInfoChar(out, (char) *p);
		}
	}
	appendStringInfoChar(out, '"');
}

void
jb_begin(JuBuild *b)
{
	initStringInfo(&b->buf);
	appendStringInfoChar(&b->buf, '{');
	b->n = 0;
}

static void
jb_key(JuBuild *b, const char *key)
{
	if (b->n++)
		appendStringInfoString(&b->buf, ", ");
	jb_escape(&b->buf, key);
	appendStringInfoString(&b->buf, ": ");
}

void
jb_str(JuBuild *b, const char *key, const char *val)
{
	if (val == NULL)
		return;
	jb_key(b, key);
	jb_escape(&b->buf, val);
}

void
jb_int(JuBuild *b, const char *key, int64 val)
{
	jb_key(b, key);
	appendStringInfo(&b->buf, INT64_FORMAT, val);
}

void
jb_bool(JuBuild *b, const char *key, bool val)
{
	jb_key(b, key);
	appendStringInfoString(&b->buf, val ? "true" : "false");
}

void
jb_json(JuBuild *b, const char *key, const char *json)
{
	if (json == NULL)
		return;
	jb_key(b, key);
	appendStringInfoString(&b->buf, json);
}

char *
jb_end(JuBuild *b)
{
	if (b->n == 0)
		return NULL;
	appendStringInfoChar(&b->buf, '}');
	return b->buf.data;
}

/* ---- json-c -> jsonb ------------------------------------------------------------------ */

/* numeric_in, declared here because its header (utils/fmgrprotos.h) clashes with json-c */
extern Datum numeric_in(PG_FUNCTION_ARGS);

static bool
jsonb_scalar(struct json_object *v, JsonbValue *out)
{
	switch (json_object_get_type(v))
	{
		case json_type_null:
			out->type = jbvNull;
			return true;
		case json_type_boolean:
			out->type = jbvBool;
			out->val.boolean = json_object_get_boolean(v);
			return true;
		case json_type_int:
			out->type = jbvNumeric;
			if (json_object_get_int64(v) == INT64_MAX)
			{
				/* json-c keeps integers above int64 as uint64: go through text */
				out->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
																	   CStringGetDatum(json_object_get_string(v)),
																	   ObjectIdGetDatum(InvalidOid),
																	   Int32GetDatum(-1)));
			}
			else
				out->val.numeric = int64_to_numeric(json_object_get_int64(v));
			return true;
		case json_type_double:
			out->type = jbvNumeric;
			out->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
																   CStringGetDatum(json_object_get_string(v)),
																   ObjectIdGetDatum(InvalidOid),
																   Int32GetDatum(-1)));
			return true;
		case json_type_string:
			{
				int			len = json_object_get_string_len(v);
				const char *str = json_object_get_string(v);

				if (memchr(str, '\0', len) != NULL)
					return false;
				out->type = jbvString;
				out->val.string.val = (char *) str;
				out->val.string.len = len;
				return true;
			}
		default:
			return false;
	}
}

static bool
jsonb_push(JsonbParseState **st, struct json_object *v, JsonbIteratorToken tok, JsonbValue **res)
{
	JsonbValue	jv;

	check_stack_depth();
	if (v == NULL || json_object_is_type(v, json_type_null))
	{
		jv.type = jbvNull;
		*res = pushJsonbValue(st, tok, &jv);
		return true;
	}
	if (json_object_is_type(v, json_type_object))
	{
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		{
			json_object_object_foreach(v, key, val)
			{
				JsonbValue	k;

				k.type = jbvString;
				k.val.string.val = key;
				k.val.string.len = strlen(key);
				pushJsonbValue(st, WJB_KEY, &k);
				if (!jsonb_push(st, val, WJB_VALUE, res))
					return false;
			}
		}
		*res = pushJsonbValue(st, WJB_END_OBJECT, NULL);
		return true;
	}
	if (json_object_is_type(v, json_type_array))
	{
		size_t		n = json_object_array_length(v);

		pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
		for (size_t i = 0; i < n; i++)
			if (!jsonb_push(st, json_object_array_get_idx(v, i), WJB_ELEM, res))
				return false;
		*res = pushJsonbValue(st, WJB_END_ARRAY, NULL);
		return true;
	}
	if (!jsonb_scalar(v, &jv))
		return false;
	if (tok == WJB_BEGIN_ARRAY)
	{
		/* a scalar document is a one-element raw-scalar array */
		JsonbValue	arr;

		arr.type = jbvArray;
		arr.val.array.rawScalar = true;
		arr.val.array.nElems = 1;
		pushJsonbValue(st, WJB_BEGIN_ARRAY, &arr);
		pushJsonbValue(st, WJB_ELEM, &jv);
		*res = pushJsonbValue(st, WJB_END_ARRAY, NULL);
		return true;
	}
	*res = pushJsonbValue(st, tok, &jv);
	return true;
}

struct varlena *
ju_jsonb(struct json_object *v)
{
	JsonbParseState *st = NULL;
	JsonbValue *res = NULL;

	if (!jsonb_push(&st, v, WJB_BEGIN_ARRAY, &res) || res == NULL)
		return NULL;
	return (struct varlena *) JsonbValueToJsonb(res);
}
