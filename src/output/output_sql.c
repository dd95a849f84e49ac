/*
 * output_sql.c
 *		SQL-callable entry points of the output module.
 *
 * correlate._render_graph takes what the SQL side gathered (nodes and edges
 * as parallel arrays, src/sql/95_output.sql) and returns SVG or DOT text;
 * edge_cut NULL asks for the minimum cut of the drawn graph (output_cut.c).
 * correlate.xml_escape exposes the escaper to the report page.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "output/output.h"

PG_FUNCTION_INFO_V1(correlate_render_graph);
PG_FUNCTION_INFO_V1(correlate_xml_escape);

typedef struct IdIndex
{
	int64		id;
	int			index;
} IdIndex;

static int
idindex_cmp(const void *a, const void *b)
{
	const IdIndex *x = a;
	const IdIndex *y = b;

	if (x->id != y->id)
		return (x->id < y->id) ? -1 : 1;
	return (x->index < y->index) ? -1 : (x->index > y->index);
}

/* Index of the node with this id, or -1. */
static int
find_node(const IdIndex *ids, int n, int64 id)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid].id == id)
			return ids[mid].index;
		if (ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Elements of a one-dimensional array argument (NULL argument: none). */
static int
array_arg(FunctionCallInfo fcinfo, int argno, Oid type, const char *name, Datum **values, bool **nulls)
{
	ArrayType  *a;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	if (PG_ARGISNULL(argno))
	{
		*values = NULL;
		*nulls = NULL;
		return 0;
	}
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", name)));
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(a, type, typlen, typbyval, typalign, values, nulls, &n);
	return n;
}

static void
same_length(int n, int expected, const char *name, const char *of)
{
	if (n != expected)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s has %d elements, %s has %d", name, n, of, expected),
				 errdetail("Every node array has one element per node and every edge array one per edge.")));
}

static const char *
text_at(Datum *v, bool *nulls, int i)
{
	return (nulls == NULL || nulls[i]) ? NULL : TextDatumGetCString(v[i]);
}

/*
 * _render_graph(format, title, node_id, node_label, node_kind, node_domain,
 *   node_detail, node_flags, edge_src, edge_dst, edge_technique,
 *   edge_attack_id, edge_likelihood, edge_cut) -> text
 */
Datum
correlate_render_graph(PG_FUNCTION_ARGS)
{
	char	   *format;
	OutputGraph g;
	Datum	   *id, *label, *kind, *domain, *detail, *flags;
	bool	   *idn, *labeln, *kindn, *domainn, *detailn, *flagsn;
	Datum	   *esrc, *edst, *etech, *eatt, *elik, *ecut;
	bool	   *esrcn, *edstn, *etechn, *eattn, *elikn, *ecutn;
	int			n, m;
	char	   *out;
	IdIndex    *ids;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("format must not be null"),
				 errhint("Use 'svg' or 'dot'.")));
	format = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(format, "svg") != 0 && strcmp(format, "dot") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown picture format \"%s\"", format),
				 errhint("Use 'svg' or 'dot'.")));
	g.title = PG_ARGISNULL(1) ? "Attack graph" : text_to_cstring(PG_GETARG_TEXT_PP(1));

	n = array_arg(fcinfo, 2, INT8OID, "node_id", &id, &idn);
	same_length(array_arg(fcinfo, 3, TEXTOID, "node_label", &label, &labeln), n, "node_label", "node_id");
	same_length(array_arg(fcinfo, 4, TEXTOID, "node_kind", &kind, &kindn), n, "node_kind", "node_id");
	same_length(array_arg(fcinfo, 5, TEXTOID, "node_domain", &domain, &domainn), n, "node_domain", "node_id");
	same_length(array_arg(fcinfo, 6, TEXTOID, "node_detail", &detail, &detailn), n, "node_detail", "node_id");
	same_length(array_arg(fcinfo, 7, INT4OID, "node_flags", &flags, &flagsn), n, "node_flags", "node_id");
	m = array_arg(fcinfo, 8, INT8OID, "edge_src", &esrc, &esrcn);
	same_length(array_arg(fcinfo, 9, INT8OID, "edge_dst", &edst, &edstn), m, "edge_dst", "edge_src");
	same_length(array_arg(fcinfo, 10, TEXTOID, "edge_technique", &etech, &etechn), m, "edge_technique", "edge_src");
	same_length(array_arg(fcinfo, 11, TEXTOID, "edge_attack_id", &eatt, &eattn), m, "edge_attack_id", "edge_src");
	same_length(array_arg(fcinfo, 12, FLOAT8OID, "edge_likelihood", &elik, &elikn), m, "edge_likelihood", "edge_src");
	/* edge_cut NULL: mark the minimum cut of the drawn graph */
	if (!PG_ARGISNULL(13))
		same_length(array_arg(fcinfo, 13, BOOLOID, "edge_cut", &ecut, &ecutn), m, "edge_cut", "edge_src");
	else
		ecut = NULL, ecutn = NULL;
	if (n > output_max_nodes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("attack graph picture has too many resources"),
				 errdetail("It holds %d resources; correlate.output_max_nodes is %d.", n, output_max_nodes),
				 errhint("Narrow it with k, max_hops or kinds.")));

	g.nnodes = n;
	g.nodes = palloc0(sizeof(OutputNode) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (idn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("node_id must not contain nulls"),
					 errdetail("Element %d is null.", i + 1)));
		g.nodes[i].id = DatumGetInt64(id[i]);
		g.nodes[i].label = text_at(label, labeln, i);
		g.nodes[i].kind = text_at(kind, kindn, i);
		g.nodes[i].domain = text_at(domain, domainn, i);
		g.nodes[i].detail = text_at(detail, detailn, i);
		g.nodes[i].flags = (flagsn[i]) ? 0 : DatumGetInt32(flags[i]);
	}
	ids = palloc(sizeof(IdIndex) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		ids[i].id = g.nodes[i].id;
		ids[i].index = i;
	}
	qsort(ids, n, sizeof(IdIndex), idindex_cmp);
	for (int i = 1; i < n; i++)
		if (ids[i].id == ids[i - 1].id)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("node " INT64_FORMAT " appears twice", ids[i].id),
					 errdetail("Elements %d and %d of node_id are equal.", ids[i - 1].index + 1, ids[i].index + 1)));

	g.nedges = m;
	g.edges = palloc0(sizeof(OutputEdge) * Max(m, 1));
	for (int e = 0; e < m; e++)
	{
		int64		s,
					d;

		CHECK_FOR_INTERRUPTS();
		if (esrcn[e] || edstn[e])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("edge_src and edge_dst must not contain nulls"),
					 errdetail("Edge %d has a null end.", e + 1)));
		s = DatumGetInt64(esrc[e]);
		d = DatumGetInt64(edst[e]);
		g.edges[e].src = find_node(ids, n, s);
		g.edges[e].dst = find_node(ids, n, d);
		if (g.edges[e].src < 0 || g.edges[e].dst < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("edge %d ends at a resource that is not a node", e + 1),
					 errdetail("Edge " INT64_FORMAT " -> " INT64_FORMAT " names a resource missing from node_id.", s, d)));
		g.edges[e].technique = text_at(etech, etechn, e);
		g.edges[e].attack_id = text_at(eatt, eattn, e);
		g.edges[e].likelihood = elikn[e] ? 1.0 : DatumGetFloat8(elik[e]);
		if (isnan(g.edges[e].likelihood) || g.edges[e].likelihood < 0 || g.edges[e].likelihood > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("edge likelihood must be between 0 and 1"),
					 errdetail("Edge %d (" INT64_FORMAT " -> " INT64_FORMAT ") has likelihood %g.", e + 1, s, d,
							   g.edges[e].likelihood)));
		g.edges[e].cut = ecut != NULL && !ecutn[e] && DatumGetBool(ecut[e]);
	}
	if (PG_ARGISNULL(13))
		output_min_cut(&g);

	out = (strcmp(format, "svg") == 0) ? output_svg(&g) : output_dot(&g);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

/* xml_escape(text) -> text: the escaper every picture and the report use. */
Datum
correlate_xml_escape(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	output_append_xml(&buf, text_to_cstring(PG_GETARG_TEXT_PP(0)), 0);
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
