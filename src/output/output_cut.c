/*
 * output_cut.c
 *		The minimum cut of a picture: the fewest drawn edges whose removal
 *		disconnects every source node from every target node.
 *
 * A picture holds the k most likely paths, not the whole attack graph, so
 * the cut it marks is the cut of what is drawn: computed here on the drawn
 * edges (unit capacities, Edmonds-Karp from a super source to a super sink)
 * instead of by min_cut over the whole graph, which at a million resources
 * costs more than drawing.  A node that is both a source and a target
 * counts as a source only.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "output/output.h"

#define CAP_INF 1000000000

typedef struct Arc
{
	int			to;
	int			cap;
	int			next;			/* next arc out of the same vertex, -1 at the end */
} Arc;

static int
add_arc(Arc *arcs, int *head, int *narcs, int from, int to, int cap)
{
	int			a = (*narcs)++;

	arcs[a].to = to;
	arcs[a].cap = cap;
	arcs[a].next = head[from];
	head[from] = a;
	/* the reverse arc follows its arc, so a ^ 1 finds it */
	arcs[a + 1].to = from;
	arcs[a + 1].cap = 0;
	arcs[a + 1].next = head[to];
	head[to] = a + 1;
	(*narcs)++;
	return a;
}

void
output_min_cut(OutputGraph *g)
{
	int			n = g->nnodes;
	int			nv = n + 2;
	int			S = n,
				T = n + 1;
	int			maxarcs = 2 * (g->nedges + 2 * n);
	Arc		   *arcs = palloc(sizeof(Arc) * Max(maxarcs, 2));
	int		   *head = palloc(sizeof(int) * nv);
	int		   *edge_arc = palloc(sizeof(int) * Max(g->nedges, 1));
	int		   *prev = palloc(sizeof(int) * nv);
	int		   *queue = palloc(sizeof(int) * nv);
	int			narcs = 0;
	bool		any_source = false,
				any_target = false;

	for (int e = 0; e < g->nedges; e++)
		g->edges[e].cut = false;
	for (int v = 0; v < nv; v++)
		head[v] = -1;
	for (int i = 0; i < n; i++)
	{
		if (g->nodes[i].flags & OUTPUT_SOURCE)
		{
			add_arc(arcs, head, &narcs, S, i, CAP_INF);
			any_source = true;
		}
		else if (g->nodes[i].flags & OUTPUT_TARGET)
		{
			add_arc(arcs, head, &narcs, i, T, CAP_INF);
			any_target = true;
		}
	}
	if (!any_source || !any_target)
		return;
	for (int e = 0; e < g->nedges; e++)
		edge_arc[e] = (g->edges[e].src == g->edges[e].dst) ? -1 :
			add_arc(arcs, head, &narcs, g->edges[e].src, g->edges[e].dst, 1);

	/* augment along shortest paths until none is left */
	for (;;)
	{
		int			qh = 0,
					qt = 0;
		int			v;

		CHECK_FOR_INTERRUPTS();
		for (v = 0; v < nv; v++)
			prev[v] = -2;
		prev[S] = -1;
		queue[qt++] = S;
		while (qh < qt && prev[T] == -2)
		{
			int			u = queue[qh++];

			for (int a = head[u]; a >= 0; a = arcs[a].next)
				if (arcs[a].cap > 0 && prev[arcs[a].to] == -2)
				{
					prev[arcs[a].to] = a;
					queue[qt++] = arcs[a].to;
				}
		}
		if (prev[T] == -2)
			break;
		for (v = T; v != S; v = arcs[prev[v] ^ 1].to)
		{
			arcs[prev[v]].cap -= 1;
			arcs[prev[v] ^ 1].cap += 1;
		}
	}

	/* the cut: drawn edges from the side the source still reaches to the other */
	{
		int			qh = 0,
					qt = 0;

		for (int v = 0; v < nv; v++)
			prev[v] = 0;
		prev[S] = 1;
		queue[qt++] = S;
		while (qh < qt)
		{
			int			u = queue[qh++];

			for (int a = head[u]; a >= 0; a = arcs[a].next)
				if (arcs[a].cap > 0 && !prev[arcs[a].to])
				{
					prev[arcs[a].to] = 1;
					queue[qt++] = arcs[a].to;
				}
		}
		for (int e = 0; e < g->nedges; e++)
			if (edge_arc[e] >= 0 && prev[g->edges[e].src] && !prev[g->edges[e].dst])
				g->edges[e].cut = true;
	}
	pfree(arcs);
	pfree(head);
	pfree(edge_arc);
	pfree(prev);
	pfree(queue);
}
