/*
 * graph_args.c
 *		Argument checking shared by the graph functions: resource-id arrays,
 *		default sources and targets, relationship-kind filters, k and hops.
 *
 * Every check raises a clear error naming the argument; an id the tenant does
 * not have (including an id of another tenant) is "unknown", with the same
 * message either way, so errors reveal nothing about other tenants.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "graph/graph.h"

static int
int32_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

static void
set_from_list(GraphNodeSet *out, int32 *nodes, int32 n)
{
	int32		m = 0;

	qsort(nodes, n, sizeof(int32), int32_cmp);
	for (int32 i = 0; i < n; i++)
		if (m == 0 || nodes[m - 1] != nodes[i])
			nodes[m++] = nodes[i];
	out->nodes = nodes;
	out->n = m;
}

/*
 * Converts a bigint[] of resource ids into a set of node indices.  NULL, an
 * empty array, a NULL element or an id the tenant does not have is an error.
 */
void
graph_nodes_from_array(const GraphSnapshot *g, Datum arr, bool isnull,
					   const char *argname, GraphNodeSet *out)
{
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int32	   *nodes;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname)));
	a = DatumGetArrayTypeP(arr);
	deconstruct_array(a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", argname),
				 errhint("Pass NULL for the default, where the function has one.")));
	nodes = graph_alloc(n, sizeof(int32));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname),
					 errdetail("Element %d is NULL.", i + 1)));
		nodes[i] = graph_node_index(g, DatumGetInt64(elems[i]));
		if (nodes[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown resource id %lld in %s", (long long) DatumGetInt64(elems[i]), argname),
					 errdetail("No resource with id %lld in tenant \"%s\".",
							   (long long) DatumGetInt64(elems[i]), g->tenant)));
	}
	set_from_list(out, nodes, n);
}

/* Default sources: the tenant's internet resource(s), so paths start outside. */
void
graph_default_sources(const GraphSnapshot *g, GraphNodeSet *out)
{
	int32	   *nodes = graph_alloc(g->nnodes, sizeof(int32));
	int32		m = 0;

	for (int32 v = 0; v < g->nnodes; v++)
		if (g->node_flags[v] & GRAPH_NODE_INTERNET)
			nodes[m++] = v;
	out->nodes = nodes;
	out->n = m;
}

/* Default targets: crown jewels, criticality >= correlate.crown_jewel_criticality. */
void
graph_default_targets(const GraphSnapshot *g, GraphNodeSet *out)
{
	int32	   *nodes = graph_alloc(g->nnodes, sizeof(int32));
	int32		m = 0;
	float4		threshold = (float4) crown_jewel_criticality;

	/* compare as real, the column's type, so 0.9 means the stored 0.9 */
	for (int32 v = 0; v < g->nnodes; v++)
		if (g->node_crit[v] >= threshold)
			nodes[m++] = v;
	out->nodes = nodes;
	out->n = m;
}

/*
 * Builds the relationship-kind filter of a text[] argument (NULL: every kind).
 * Every name must be in correlate.relationship_kind; a known kind that the
 * snapshot does not contain simply matches nothing.
 */
GraphFilter *
graph_filter_from_array(const GraphSnapshot *g, Datum arr, bool isnull)
{
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	GraphFilter *f;
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		args[1];

	if (isnull)
		return NULL;
	a = DatumGetArrayTypeP(arr);
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kinds must not be empty"),
				 errhint("Pass NULL to follow every relationship kind.")));
	for (int i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("kinds must not contain NULL"),
					 errdetail("Element %d is NULL.", i + 1)));

	args[0] = PointerGetDatum(a);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(g->attack_layer ?
							  "SELECT u.k FROM pg_catalog.unnest($1) AS u(k) "
							  "WHERE NOT EXISTS (SELECT 1 FROM correlate.attack_technique r "
							  "WHERE r.technique OPERATOR(pg_catalog.=) u.k) LIMIT 1" :
							  "SELECT u.k FROM pg_catalog.unnest($1) AS u(k) "
							  "WHERE NOT EXISTS (SELECT 1 FROM correlate.relationship_kind r "
							  "WHERE r.kind OPERATOR(pg_catalog.=) u.k) LIMIT 1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not check relationship kinds");
	if (SPI_processed > 0)
	{
		char	   *bad = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(g->attack_layer ? "unknown attack technique \"%s\"" : "unknown relationship kind \"%s\"", bad),
				 errhint(g->attack_layer ? "Use a technique from correlate.attack_technique (or SET correlate.graph_layer = facts to follow relationship kinds)." :
						 "Use a kind from correlate.relationship_kind.")));
	}
	SPI_finish();

	f = palloc(sizeof(GraphFilter));
	f->allowed = palloc0(sizeof(bool) * Max(g->nkinds, 1));
	for (int i = 0; i < n; i++)
	{
		char	   *name = TextDatumGetCString(elems[i]);

		for (int32 k = 0; k < g->nkinds; k++)
			if (strcmp(g->kind_names[k], name) == 0)
				f->allowed[k] = true;
	}
	return f;
}

/*
 * Checks a max_hops argument: returns the limit, or -1 for "no limit" (NULL,
 * where the function allows it).  Values above correlate.graph_max_hops are
 * refused.
 */
int
graph_check_hops(const char *fname, bool isnull, int32 hops, bool null_means_unlimited,
				 int32 dflt, int32 min)
{
	if (isnull)
	{
		if (null_means_unlimited)
			return -1;
		hops = dflt;
	}
	if (hops < min)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_hops must be at least %d", min),
				 errdetail("%s() was called with max_hops %d.", fname, hops)));
	if (hops > graph_max_hops)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("max_hops %d exceeds correlate.graph_max_hops (%d)", hops, graph_max_hops),
				 errhint("Ask a superuser to raise correlate.graph_max_hops%s.",
						 null_means_unlimited ? ", or pass NULL for no limit" : "")));
	return hops;
}

int
graph_check_k(const char *fname, bool isnull, int32 k)
{
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be NULL")));
	if (k <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1"),
				 errdetail("%s() was called with k %d.", fname, k)));
	if (k > graph_max_k)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("k %d exceeds correlate.graph_max_k (%d)", k, graph_max_k),
				 errhint("Ask a superuser to raise correlate.graph_max_k.")));
	return k;
}

/*
 * The likelihood exp(-cost), rounded to 10 significant digits: fixed-point
 * costs carry a relative error below 1e-12 per relationship, so rounding
 * gives back 0.9 for a 0.9 relationship, and 0.81 for two of them, rather
 * than digits that only reflect the representation.  For likelihoods down to
 * 1e-12, rint(l * 10^k) / 10^k divides two exactly representable numbers and
 * is the double nearest the 10-digit decimal, without formatting.
 */
double
graph_likelihood(GraphCost cost)
{
	static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	double		l;
	char		buf[64];
	int			k;

	if (cost == GRAPH_COST_INF)
		return 0;
	l = exp(-graph_cost_value(cost));
	if (l == 0 || !isfinite(l))
		return l;
	if (l >= 1e-12 && l <= 1)
	{
		/* l in [10^-(d+1), 10^-d): 10 significant digits need 10 + d decimals */
		k = 9;
		while (l * pow10[k - 9] < 1.0)
			k++;
		if (k <= 22)
			return rint(l * pow10[k]) / pow10[k];
	}
	snprintf(buf, sizeof(buf), "%.10g", l);
	return strtod(buf, NULL);
}
