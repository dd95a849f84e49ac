/*
 * sigma_yaml.c
 *		The only libyaml user: reads YAML text into a palloc'd YNode tree.
 *
 * We drive libyaml's event parser rather than its document loader so that the
 * tree is built in PostgreSQL memory and so that aliases (the "billion laughs"
 * expansion) and deep nesting are refused before they cost anything.  The
 * parser's own state is malloc'd by libyaml; it is released on every path,
 * including errors raised while building the tree (PG_TRY).
 */
#include "postgres.h"

#include <yaml.h>

#include "miscadmin.h"
#include "lib/stringinfo.h"

#include "detect/detect.h"

#define YAML_MAX_DEPTH 64

typedef struct Frame
{
	YNode	   *node;
	char	   *pending_key;	/* YN_MAP: key read, value not yet */
	int			cap;
} Frame;

static YNode *
new_node(YNodeKind kind, int line)
{
	YNode	   *n = palloc0(sizeof(YNode));

	n->kind = kind;
	n->line = line;
	return n;
}

static void
add_item(Frame *f, char *key, YNode *v)
{
	YNode	   *n = f->node;

	if (n->n == f->cap)
	{
		f->cap = f->cap ? f->cap * 2 : 8;
		n->items = n->items ? repalloc(n->items, f->cap * sizeof(YNode *)) : palloc(f->cap * sizeof(YNode *));
		if (n->kind == YN_MAP)
			n->keys = n->keys ? repalloc(n->keys, f->cap * sizeof(char *)) : palloc(f->cap * sizeof(char *));
	}
	if (n->kind == YN_MAP)
		n->keys[n->n] = key;
	n->items[n->n++] = v;
}

/* Copies lines [from, to) (0-based) of text. */
static char *
text_lines(const char *text, size_t len, size_t from, size_t to)
{
	size_t		line = 0;
	size_t		i = 0,
				start = len,
				end = len;

	for (i = 0; i < len && line < from; i++)
		if (text[i] == '\n')
			line++;
	start = i;
	for (; i < len && line < to; i++)
		if (text[i] == '\n')
			line++;
	end = i;
	if (start > len)
		start = len;
	return pnstrdup(text + start, end - start);
}

/* Raises the error for a libyaml failure (parser already deleted). */
static void
yaml_failed(const char *origin, const char *problem, const char *context, int line, int col)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed sigma rule YAML in %s", origin),
			 errdetail("Line %d, column %d: %s%s%s.", line, col, problem ? problem : "syntax error",
					   context ? " " : "", context ? context : "")));
}

typedef struct ParseState
{
	yaml_parser_t parser;
	const char *text;
	size_t		len;
	List	   *docs;
	Frame		stack[YAML_MAX_DEPTH + 1];
	int			depth;
	YNode	   *root;
	size_t		doc_line;
	char	   *err;
	char	   *errctx;
	int			errline;
	int			errcol;
} ParseState;

/* Runs the event loop; sets ps->err instead of raising for YAML problems. */
static void
parse_events(ParseState *ps)
{
	yaml_event_t event;
	bool		done = false;

	while (!done && ps->err == NULL)
	{
		CHECK_FOR_INTERRUPTS();
		if (!yaml_parser_parse(&ps->parser, &event))
		{
			ps->err = pstrdup(ps->parser.problem ? ps->parser.problem : "syntax error");
			ps->errctx = ps->parser.context ? pstrdup(ps->parser.context) : NULL;
			ps->errline = (int) ps->parser.problem_mark.line + 1;
			ps->errcol = (int) ps->parser.problem_mark.column + 1;
			break;
		}
		switch (event.type)
		{
			case YAML_STREAM_END_EVENT:
				done = true;
				break;
			case YAML_DOCUMENT_START_EVENT:
				ps->doc_line = event.start_mark.line;
				ps->root = NULL;
				ps->depth = 0;
				break;
			case YAML_DOCUMENT_END_EVENT:
				{
					size_t		end_line = event.end_mark.line + (event.end_mark.column > 0 ? 1 : 0);

					if (ps->root != NULL)
					{
						YDoc	   *d = palloc0(sizeof(YDoc));

						d->root = ps->root;
						d->line = (int) ps->doc_line + 1;
						d->text = text_lines(ps->text, ps->len, ps->doc_line, end_line);
						ps->docs = lappend(ps->docs, d);
					}
					break;
				}
			case YAML_ALIAS_EVENT:
				ps->err = pstrdup("aliases are not accepted in sigma rules");
				ps->errline = (int) event.start_mark.line + 1;
				ps->errcol = (int) event.start_mark.column + 1;
				break;
			case YAML_SCALAR_EVENT:
			case YAML_SEQUENCE_START_EVENT:
			case YAML_MAPPING_START_EVENT:
				{
					YNode	   *n;
					int			line = (int) event.start_mark.line + 1;

					ps->errline = line;
					ps->errcol = (int) event.start_mark.column + 1;
					if (event.type == YAML_SCALAR_EVENT)
					{
						n = new_node(YN_SCALAR, line);
						n->scalar = pnstrdup((const char *) event.data.scalar.value, event.data.scalar.length);
						if (strlen(n->scalar) != event.data.scalar.length)
						{
							ps->err = pstrdup("a scalar contains a NUL character");
							break;
						}
						n->plain = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
					}
					else
						n = new_node(event.type == YAML_MAPPING_START_EVENT ? YN_MAP : YN_SEQ, line);

					if (ps->depth == 0)
					{
						if (ps->root != NULL)
						{
							ps->err = pstrdup("more than one root node");
							break;
						}
						ps->root = n;
					}
					else
					{
						Frame	   *f = &ps->stack[ps->depth - 1];

						if (f->node->kind == YN_MAP && f->pending_key == NULL)
						{
							if (n->kind != YN_SCALAR)
							{
								ps->err = pstrdup("mapping keys must be scalars");
								break;
							}
							f->pending_key = n->scalar;
							break;
						}
						add_item(f, f->pending_key, n);
						f->pending_key = NULL;
					}
					if (n->kind != YN_SCALAR)
					{
						if (ps->depth >= YAML_MAX_DEPTH)
						{
							ps->err = psprintf("nesting deeper than %d levels", YAML_MAX_DEPTH);
							break;
						}
						ps->stack[ps->depth].node = n;
						ps->stack[ps->depth].pending_key = NULL;
						ps->stack[ps->depth].cap = 0;
						ps->depth++;
					}
					break;
				}
			case YAML_SEQUENCE_END_EVENT:
			case YAML_MAPPING_END_EVENT:
				ps->depth--;
				break;
			default:
				break;
		}
		yaml_event_delete(&event);
	}
}

List *
sigma_yaml_parse(const char *text, size_t len, const char *origin)
{
	ParseState *ps = palloc0(sizeof(ParseState));

	ps->text = text;
	ps->len = len;
	if (!yaml_parser_initialize(&ps->parser))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory initialising the YAML parser")));
	yaml_parser_set_input_string(&ps->parser, (const unsigned char *) text, len);
	PG_TRY();
	{
		parse_events(ps);
	}
	PG_CATCH();
	{
		yaml_parser_delete(&ps->parser);
		PG_RE_THROW();
	}
	PG_END_TRY();
	yaml_parser_delete(&ps->parser);
	if (ps->err)
		yaml_failed(origin, ps->err, ps->errctx, ps->errline, ps->errcol);
	return ps->docs;
}

/* The value of key in a map (exact, case-sensitive), or NULL. */
YNode *
ynode_get(const YNode *map, const char *key)
{
	if (map == NULL || map->kind != YN_MAP)
		return NULL;
	for (int i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

/* True for YAML null: an unquoted empty scalar, null, Null, NULL or ~. */
bool
ynode_is_null(const YNode *n)
{
	if (n == NULL)
		return true;
	if (n->kind != YN_SCALAR || !n->plain)
		return false;
	return n->scalar[0] == '\0' || strcmp(n->scalar, "~") == 0 || strcmp(n->scalar, "null") == 0 ||
		strcmp(n->scalar, "Null") == 0 || strcmp(n->scalar, "NULL") == 0;
}
