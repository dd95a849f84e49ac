/*
 * graph_sql.c
 *		SQL-callable entry points of the graph module.
 *
 * Each wrapper checks its arguments (cheap checks before the snapshot is
 * acquired, id checks after), calls the plain C algorithm and writes the
 * result into a tuplestore (materialize mode).  A result longer than
 * correlate.graph_max_rows stops there with a NOTICE saying it was
 * truncated; rows come most relevant first, so a truncated result keeps the
 * best ones.
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "graph/graph.h"

/*
 * Gives a result of about nrows rows a tuplestore that holds it in memory:
 * spilling a result the snapshot already paid for to a temporary file only
 * costs time.  Capped by correlate.graph_max_memory.
 */
static void
result_fits(FunctionCallInfo fcinfo, int64 nrows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		kb = nrows * 64 / 1024 + 64;
	MemoryContext old;

	if (kb <= work_mem)
		return;
	kb = Min(kb, (int64) graph_max_memory_kb);
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tuplestore_end(rsinfo->setResult);
	rsinfo->setResult = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
											  false, (int) kb);
	MemoryContextSwitchTo(old);
}

static void
truncated_notice(const char *fname)
{
	ereport(NOTICE,
			(errmsg("%s() result truncated at %d rows", fname, graph_max_rows),
			 errdetail("correlate.graph_max_rows limits the rows a graph function returns; the most relevant rows come first.")));
}

PG_FUNCTION_INFO_V1(correlate_graph_stats);
Datum
correlate_graph_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[10];
	bool		nulls[10] = {false};
	bool		current;
	int64		hits,
				rebuilds;
	GraphSnapshot *g;

	InitMaterializedSRF(fcinfo, 0);
	g = graph_cache_peek(&current, &hits, &rebuilds);
	values[0] = CStringGetTextDatum(graph_current_tenant());
	if (g)
	{
		values[1] = Int64GetDatum(g->nnodes);
		values[2] = Int64GetDatum(g->nedges);
		values[3] = Int64GetDatum((int64) graph_snapshot_memory(g));
		values[4] = Float8GetDatum(g->build_ms);
		values[5] = Int64GetDatum(g->version);
		values[9] = Int64GetDatum(g->skipped_edges);
	}
	else
		nulls[1] = nulls[2] = nulls[3] = nulls[4] = nulls[5] = nulls[9] = true;
	values[6] = BoolGetDatum(current);
	values[7] = Int64GetDatum(hits);
	values[8] = Int64GetDatum(rebuilds);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(correlate_graph_reset);
Datum
correlate_graph_reset(PG_FUNCTION_ARGS)
{
	graph_cache_drop();
	PG_RETURN_VOID();
}

/* How many rows ahead best_paths_srf fetches resource ids. */
#define PREFETCH_ROWS	16

/* blast_radius() and exposure(): best paths from (or, reversed, to) a set. */
static Datum
best_paths_srf(FunctionCallInfo fcinfo, bool reverse, const char *fname, const char *argname)
{
	ReturnSetInfo *rsinfo;
	GraphSnapshot *g;
	GraphNodeSet set;
	GraphFilter *f;
	GraphBest	best;
	int			hops;
	Datum		values[4];
	bool		nulls[4] = {false};
	GraphCost	last_cost = -1;
	double		last_likelihood = 0;

	hops = graph_check_hops(fname, PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1), true, 0, 0);
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	g = graph_acquire_args(fcinfo, 3);
	graph_nodes_from_array(g, PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0), PG_ARGISNULL(0), argname, &set);
	f = graph_filter_from_array(g, PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2));
	graph_best_paths(g, &set, f, hops, reverse, true, &best);
	result_fits(fcinfo, Min(best.norder, graph_max_rows));

	/*
	 * Rows come in cost order, so the ids are random loads: fetch them a few
	 * rows ahead.  Equal costs come together, so the likelihood of the
	 * previous row usually serves.
	 */
	for (int32 i = 0; i < best.norder; i++)
	{
		const GraphSettled *r = &best.settled[i];
		int32		via;

		CHECK_FOR_INTERRUPTS();
		if (i >= graph_max_rows)
		{
			truncated_notice(fname);
			break;
		}
		if (i + PREFETCH_ROWS < best.norder)
		{
			int32		ahead = best.settled[i + PREFETCH_ROWS].node;
			int32		via_ahead;

			graph_prefetch(&g->node_id[ahead]);
			graph_prefetch(&best.via[ahead]);
			/* the predecessor's own id a little later, once its index has arrived */
			via_ahead = best.via[best.settled[i + PREFETCH_ROWS / 2].node];
			if (via_ahead >= 0)
				graph_prefetch(&g->node_id[via_ahead]);
		}
		if (r->dist != last_cost)
		{
			last_cost = r->dist;
			last_likelihood = graph_likelihood(r->dist);
		}
		values[0] = Int64GetDatum(g->node_id[r->node]);
		values[1] = Int32GetDatum(r->hops);
		values[2] = Float8GetDatum(last_likelihood);
		via = best.via[r->node];
		nulls[3] = via < 0;
		values[3] = Int64GetDatum(via >= 0 ? g->node_id[via] : 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(correlate_blast_radius);
Datum
correlate_blast_radius(PG_FUNCTION_ARGS)
{
	return best_paths_srf(fcinfo, false, "blast_radius", "sources");
}

PG_FUNCTION_INFO_V1(correlate_exposure);
Datum
correlate_exposure(PG_FUNCTION_ARGS)
{
	return best_paths_srf(fcinfo, true, "exposure", "targets");
}

PG_FUNCTION_INFO_V1(correlate_reachable);
Datum
correlate_reachable(PG_FUNCTION_ARGS)
{
	GraphSnapshot *g;
	int			hops;
	int32		s,
				t;

	hops = graph_check_hops("reachable", PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2), true, 0, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	g = graph_acquire_args(fcinfo, 3);
	s = graph_node_index(g, PG_GETARG_INT64(0));
	t = graph_node_index(g, PG_GETARG_INT64(1));
	if (s < 0 || t < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown resource id %lld in %s", (long long) PG_GETARG_INT64(s < 0 ? 0 : 1),
						s < 0 ? "source" : "target"),
				 errdetail("No resource with id %lld in tenant \"%s\".",
						   (long long) PG_GETARG_INT64(s < 0 ? 0 : 1), g->tenant)));
	PG_RETURN_BOOL(s == t || graph_reachable(g, s, t, hops));
}

/* sources / targets arguments: NULL picks the default set. */
static void
node_set_arg(FunctionCallInfo fcinfo, int argno, const GraphSnapshot *g, const char *argname,
			 bool targets, GraphNodeSet *out)
{
	if (PG_ARGISNULL(argno))
	{
		if (targets)
			graph_default_targets(g, out);
		else
			graph_default_sources(g, out);
	}
	else
		graph_nodes_from_array(g, PG_GETARG_DATUM(argno), false, argname, out);
}

PG_FUNCTION_INFO_V1(correlate_attack_paths);
Datum
correlate_attack_paths(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	GraphSnapshot *g;
	GraphNodeSet src,
				dst;
	GraphFilter *f;
	GraphPath  *paths;
	int			k,
				hops,
				npaths;
	int64		rows = 0;

	k = graph_check_k("attack_paths", PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2));
	hops = graph_check_hops("attack_paths", PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3), true, 0, 1);
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	g = graph_acquire_args(fcinfo, 5);
	node_set_arg(fcinfo, 0, g, "sources", false, &src);
	node_set_arg(fcinfo, 1, g, "targets", true, &dst);
	f = graph_filter_from_array(g, PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4), PG_ARGISNULL(4));
	if (hops < 0)
		hops = Max(g->nnodes, 1);	/* no limit: a simple path has fewer hops than nodes */
	npaths = graph_k_paths(g, &src, &dst, k, hops, f, &paths);

	for (int32 r = 0; r < npaths; r++)
	{
		GraphPath  *p = &paths[r];
		double		pl = graph_likelihood(p->cost);

		for (int32 i = 0; i <= p->nedges; i++)
		{
			Datum		values[6];
			bool		nulls[6] = {false};

			if (rows++ >= graph_max_rows)
			{
				truncated_notice("attack_paths");
				return (Datum) 0;
			}
			values[0] = Int32GetDatum(r + 1);
			values[1] = Int32GetDatum(i);
			if (i == 0)
			{
				values[2] = Int64GetDatum(g->node_id[p->start]);
				nulls[3] = nulls[4] = true;
			}
			else
			{
				int32		e = p->edges[i - 1];

				values[2] = Int64GetDatum(g->node_id[g->fwd_dst[e]]);
				values[3] = Int64GetDatum(graph_edge_id(g, e));
				values[4] = Float8GetDatum(graph_likelihood(graph_edge_cost(g, e)));
			}
			values[5] = Float8GetDatum(pl);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(correlate_chokepoints);
Datum
correlate_chokepoints(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	GraphSnapshot *g;
	GraphNodeSet src,
				dst;
	GraphChoke *rows;
	int			k,
				n;

	k = graph_check_k("chokepoints", PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2));
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	g = graph_acquire_args(fcinfo, 3);
	node_set_arg(fcinfo, 0, g, "sources", false, &src);
	node_set_arg(fcinfo, 1, g, "targets", true, &dst);
	n = graph_chokepoints(g, &src, &dst, k, &rows);
	for (int i = 0; i < n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false};
		double		paths = rows[i].paths;

		if (i >= graph_max_rows)
		{
			truncated_notice("chokepoints");
			break;
		}
		if (rows[i].node >= 0)
		{
			values[0] = Int64GetDatum(g->node_id[rows[i].node]);
			nulls[1] = true;
		}
		else
		{
			nulls[0] = true;
			values[1] = Int64GetDatum(graph_edge_id(g, rows[i].edge));
		}
		values[2] = Int64GetDatum(paths >= 9.2e18 ? PG_INT64_MAX : (int64) rint(paths));
		values[3] = Float8GetDatum(rows[i].share);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

static bool
cost_arg(FunctionCallInfo fcinfo, int argno, const char *fname)
{
	char	   *cost;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cost must not be NULL"),
				 errhint("Use 'unit' or 'fix_cost'.")));
	cost = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(cost, "unit") == 0)
		return false;
	if (strcmp(cost, "fix_cost") == 0)
		return true;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown cost \"%s\"", cost),
			 errdetail("%s() counts each item as 1 ('unit') or by its props->>'fix_cost' ('fix_cost').", fname),
			 errhint("Use 'unit' or 'fix_cost'.")));
	return false;				/* keep compiler quiet */
}

static Datum
min_cut_srf(FunctionCallInfo fcinfo, bool node_cut)
{
	const char *fname = node_cut ? "min_node_cut" : "min_cut";
	ReturnSetInfo *rsinfo;
	GraphSnapshot *g;
	GraphNodeSet src,
				dst;
	GraphCut	cut;
	bool		fix_cost = cost_arg(fcinfo, 2, fname);

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	g = graph_acquire_args(fcinfo, 3);
	node_set_arg(fcinfo, 0, g, "sources", false, &src);
	node_set_arg(fcinfo, 1, g, "targets", true, &dst);
	if (fix_cost && !node_cut)
		graph_ensure_edge_costs(g);
	graph_min_cut(g, &src, &dst, fix_cost, node_cut, &cut);
	for (int32 i = 0; i < cut.n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false};

		if (i >= graph_max_rows)
		{
			truncated_notice(fname);
			break;
		}
		if (node_cut)
		{
			values[0] = Int64GetDatum(g->node_id[cut.items[i]]);
			values[1] = Float8GetDatum(cut.cost[i]);
		}
		else
		{
			int32		e = cut.items[i];

			values[0] = Int64GetDatum(graph_edge_id(g, e));
			values[1] = Int64GetDatum(g->node_id[graph_edge_src(g, e)]);
			values[2] = Int64GetDatum(g->node_id[g->fwd_dst[e]]);
			values[3] = Float8GetDatum(cut.cost[i]);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(correlate_min_cut);
Datum
correlate_min_cut(PG_FUNCTION_ARGS)
{
	return min_cut_srf(fcinfo, false);
}

PG_FUNCTION_INFO_V1(correlate_min_node_cut);
Datum
correlate_min_node_cut(PG_FUNCTION_ARGS)
{
	return min_cut_srf(fcinfo, true);
}
