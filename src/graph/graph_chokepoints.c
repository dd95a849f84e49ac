/*
 * graph_chokepoints.c
 *		Where the most likely attack paths converge.
 *
 * Model (no AND nodes).  The k most likely simple paths of at most 8 hops
 * from any source to any target (graph_k_paths, as attack_paths() gives
 * them) are the paths considered, and every one of them counts.  For a
 * resource or relationship x:
 *
 *	 paths_through(x)    = how many of the k paths have x strictly inside
 *						   (a path's first resource and its last do not
 *						   count); a relationship counts on every path using it
 *	 likelihood_share(x) = the summed likelihood of those paths divided by
 *						   the summed likelihood of all k paths
 *
 * so a share of 1 means every path considered crosses x: fixing it closes
 * them all, the natural ranking of fixes.
 *
 * With AND nodes paths are derivation trees, not simple paths; there the
 * older model applies: for each reached target t the paths counted are t's
 * most likely derivations (all ties), each target weighted by their
 * likelihood L(t), computed with Brandes' accumulation over one Dijkstra:
 * sigma(v) counts best paths from the sources to v in settle order, a
 * backward pass accumulates tau(v), the number of best paths from v on to
 * targets, and psi(v), their likelihood per path.  sigma(AND) is the product
 * of the preconditions' sigmas and each precondition relationship carries
 * all of them; counts are approximate when preconditions share ancestors.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "graph/graph.h"

static int
choke_cmp(const void *a, const void *b)
{
	const GraphChoke *x = a;
	const GraphChoke *y = b;

	if (x->share != y->share)
		return x->share > y->share ? -1 : 1;
	if (x->paths != y->paths)
		return x->paths > y->paths ? -1 : 1;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->edge < y->edge ? -1 : (x->edge > y->edge);
}

/*
 * Without AND nodes: the k most likely simple paths (at most
 * GRAPH_CHOKE_HOPS relationships, as attack_paths() by default), and for
 * each resource strictly inside a path and each relationship on one, how
 * many of those k paths pass through it and what share of their summed
 * likelihood.  Every path counts, not only each target's best.
 */
#define GRAPH_CHOKE_HOPS 8

static int
chokepoints_k_paths(const GraphSnapshot *g, const GraphNodeSet *sources, const GraphNodeSet *targets,
					int k, GraphChoke **out)
{
	GraphPath  *paths;
	int			np = graph_k_paths(g, sources, targets, k, GRAPH_CHOKE_HOPS, NULL, &paths);
	double	   *npaths = graph_alloc0(g->nnodes, sizeof(double));
	double	   *nshare = graph_alloc0(g->nnodes, sizeof(double));
	double	   *epaths = graph_alloc0(g->nedges, sizeof(double));
	double	   *eshare = graph_alloc0(g->nedges, sizeof(double));
	double		total = 0;
	GraphChoke *nodes,
			   *edges;
	int32		nn = 0,
				ne = 0;

	*out = NULL;
	for (int i = 0; i < np; i++)
	{
		double		l = graph_likelihood(paths[i].cost);
		int32		v = paths[i].start;

		CHECK_FOR_INTERRUPTS();
		total += l;
		for (int32 j = 0; j < paths[i].nedges; j++)
		{
			int32		e = paths[i].edges[j];

			if (j > 0)
			{
				npaths[v] += 1;
				nshare[v] += l;
			}
			epaths[e] += 1;
			eshare[e] += l;
			v = g->fwd_dst[e];
		}
	}
	if (np == 0 || total <= 0)
		return 0;
	nodes = graph_alloc(Min((int64) g->nnodes, (int64) np * GRAPH_CHOKE_HOPS + 1), sizeof(GraphChoke));
	edges = graph_alloc(Min((int64) g->nedges, (int64) np * GRAPH_CHOKE_HOPS + 1), sizeof(GraphChoke));
	/* visit each path element once, in path order, to collect the rows */
	for (int i = 0; i < np; i++)
	{
		int32		v = paths[i].start;

		for (int32 j = 0; j < paths[i].nedges; j++)
		{
			int32		e = paths[i].edges[j];

			if (j > 0 && npaths[v] > 0)
			{
				nodes[nn].node = v;
				nodes[nn].edge = -1;
				nodes[nn].paths = npaths[v];
				nodes[nn].share = Min(nshare[v] / total, 1.0);
				nn++;
				npaths[v] = 0;	/* collected */
			}
			if (epaths[e] > 0)
			{
				edges[ne].node = -1;
				edges[ne].edge = e;
				edges[ne].paths = epaths[e];
				edges[ne].share = Min(eshare[e] / total, 1.0);
				ne++;
				epaths[e] = 0;
			}
			v = g->fwd_dst[e];
		}
	}
	qsort(nodes, nn, sizeof(GraphChoke), choke_cmp);
	qsort(edges, ne, sizeof(GraphChoke), choke_cmp);
	nn = Min(nn, k);
	ne = Min(ne, k);
	*out = graph_alloc(nn + ne, sizeof(GraphChoke));
	memcpy(*out, nodes, sizeof(GraphChoke) * nn);
	memcpy(*out + nn, edges, sizeof(GraphChoke) * ne);
	qsort(*out, nn + ne, sizeof(GraphChoke), choke_cmp);
	return nn + ne;
}

int
graph_chokepoints(const GraphSnapshot *g, const GraphNodeSet *sources, const GraphNodeSet *targets,
				  int k, GraphChoke **out)
{
	int32		n = g->nnodes;
	GraphBest	best;
	int32	   *pos;
	double	   *sigma,
			   *tau,
			   *psi;
	bool	   *is_source = graph_alloc0(n, sizeof(bool));
	bool	   *is_target = graph_alloc0(n, sizeof(bool));
	double		total = 0;
	GraphChoke *nodes;
	GraphChoke *edges;
	int32		nn = 0,
				ne = 0,
				capedges = 1024;
	int			nout;

	*out = NULL;
	if (sources->n == 0 || targets->n == 0)
		return 0;
	if (g->nand == 0)
		return chokepoints_k_paths(g, sources, targets, k, out);
	for (int32 i = 0; i < sources->n; i++)
		is_source[sources->nodes[i]] = true;
	for (int32 i = 0; i < targets->n; i++)
		is_target[targets->nodes[i]] = true;

	graph_best_paths(g, sources, NULL, -1, false, true, &best);
	pos = graph_alloc(n, sizeof(int32));
	sigma = graph_alloc(n, sizeof(double));
	tau = graph_alloc(n, sizeof(double));
	psi = graph_alloc(n, sizeof(double));
	for (int32 v = 0; v < n; v++)
	{
		pos[v] = -1;
		sigma[v] = tau[v] = psi[v] = 0;
	}
	for (int32 i = 0; i < best.norder; i++)
		pos[best.order[i]] = i;

#define IS_AND(v)		((g->node_flags[v] & GRAPH_NODE_AND) && !is_source[v])
#define DAG_EDGE(u, e, v) \
	(pos[u] >= 0 && pos[u] < pos[v] && \
	 (IS_AND(v) || graph_cost_add(best.dist[u], graph_edge_cost(g, e)) == best.dist[v]))

	/* forward: number of best paths (derivation trees) from the sources */
	for (int32 i = 0; i < best.norder; i++)
	{
		int32		v = best.order[i];

		CHECK_FOR_INTERRUPTS();
		if (is_source[v])
		{
			sigma[v] = 1;
			continue;
		}
		sigma[v] = IS_AND(v) ? 1 : 0;
		for (int32 j = g->rev_off[v]; j < g->rev_off[v + 1]; j++)
		{
			int32		u = g->rev_src[j];
			int32		e = g->rev_edge[j];

			if (!DAG_EDGE(u, e, v))
				continue;
			if (IS_AND(v))
				sigma[v] *= sigma[u];
			else
				sigma[v] += sigma[u];
		}
	}

	/* backward: paths on from v to targets, and their likelihood per path */
	for (int32 i = best.norder - 1; i >= 0; i--)
	{
		int32		v = best.order[i];

		CHECK_FOR_INTERRUPTS();
		if (is_target[v] && sigma[v] > 0)
		{
			double		l = exp(-graph_cost_value(best.dist[v]));

			tau[v] += 1;
			psi[v] += l / sigma[v];
			if (!is_source[v])
				total += l;
		}
		for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
		{
			int32		u = g->fwd_dst[e];
			double		coef;

			if (is_source[u] || !DAG_EDGE(v, e, u) || sigma[v] <= 0)
				continue;
			coef = IS_AND(u) ? sigma[u] / sigma[v] : 1.0;
			tau[v] += tau[u] * coef;
			psi[v] += psi[u] * coef;
		}
	}
	if (total <= 0)
		return 0;

	nodes = graph_alloc(best.norder, sizeof(GraphChoke));
	edges = palloc(sizeof(GraphChoke) * capedges);
	for (int32 i = 0; i < best.norder; i++)
	{
		int32		v = best.order[i];

		CHECK_FOR_INTERRUPTS();
		if (!is_source[v] && sigma[v] > 0)
		{
			double		through = sigma[v] * (tau[v] - (is_target[v] ? 1 : 0));
			double		share = sigma[v] * psi[v] - (is_target[v] ? exp(-graph_cost_value(best.dist[v])) : 0);

			if (through > 0.5)
			{
				nodes[nn].node = v;
				nodes[nn].edge = -1;
				nodes[nn].paths = through;
				nodes[nn].share = Min(Max(share / total, 0.0), 1.0);
				nn++;
			}
		}
		if (is_target[v] && !is_source[v])
			continue;			/* paths end at a target; they do not leave it */
		for (int32 e = g->fwd_off[v]; e < g->fwd_off[v + 1]; e++)
		{
			int32		u = g->fwd_dst[e];
			double		coef;

			if (is_source[u] || !DAG_EDGE(v, e, u) || sigma[v] <= 0 || tau[u] <= 0)
				continue;
			coef = IS_AND(u) ? sigma[u] / sigma[v] : 1.0;
			if (ne >= capedges)
			{
				capedges *= 2;
				edges = repalloc_huge(edges, sizeof(GraphChoke) * capedges);
			}
			edges[ne].node = -1;
			edges[ne].edge = e;
			edges[ne].paths = sigma[v] * tau[u] * coef;
			edges[ne].share = Min(Max(sigma[v] * psi[u] * coef / total, 0.0), 1.0);
			ne++;
		}
	}
#undef DAG_EDGE
#undef IS_AND

	qsort(nodes, nn, sizeof(GraphChoke), choke_cmp);
	qsort(edges, ne, sizeof(GraphChoke), choke_cmp);
	nn = Min(nn, k);
	ne = Min(ne, k);
	*out = graph_alloc(nn + ne, sizeof(GraphChoke));
	memcpy(*out, nodes, sizeof(GraphChoke) * nn);
	memcpy(*out + nn, edges, sizeof(GraphChoke) * ne);
	nout = nn + ne;
	qsort(*out, nout, sizeof(GraphChoke), choke_cmp);
	return nout;
}
