/*
 * output_layout.c
 *		Layered (Sugiyama) layout of an attack graph, left to right by hop.
 *
 * 1. Layers: edges that close a cycle (found depth-first from the sources)
 *    are set aside; on the rest, a DAG, a node's layer is the longest chain
 *    of hops that leads to it, so edges point right.  The set-aside edges
 *    are laid out reversed and drawn pointing left; a self-loop is drawn as
 *    an arc beside its node.
 * 2. Long edges get one dummy vertex per layer they cross, so they take a
 *    slot of their own and never run through a node.
 * 3. Order within layers: barycenter sweeps, down then up, keeping the
 *    order with the fewest crossings (counted exactly, O(E log V) per layer
 *    pair with a Fenwick tree).
 * 4. Vertical positions: each vertex moves towards the mean of its
 *    neighbours in the previous layer, subject to keeping its order and a
 *    gap to the next; the constrained least-squares fit is isotonic
 *    regression (pool adjacent violators), so nodes never overlap.
 * 5. Edge labels sit in the gap between columns near their edge's first
 *    segment, and are spread with the same fit so they never overlap each
 *    other.
 * Everything depends only on the input order, so the same input draws the
 * same picture.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"

#include "output/output.h"

typedef struct SortKey
{
	double		key;
	int			order;
	int			v;
} SortKey;

static int
sortkey_cmp(const void *a, const void *b)
{
	const SortKey *x = a;
	const SortKey *y = b;

	if (x->key != y->key)
		return (x->key < y->key) ? -1 : 1;
	if (x->order != y->order)
		return (x->order < y->order) ? -1 : 1;
	return (x->v < y->v) ? -1 : (x->v > y->v);
}

typedef struct Pair
{
	int			a;
	int			b;
} Pair;

static int
pair_cmp(const void *p, const void *q)
{
	const Pair *x = p;
	const Pair *y = q;

	if (x->a != y->a)
		return (x->a < y->a) ? -1 : 1;
	return (x->b < y->b) ? -1 : (x->b > y->b);
}

/* Left edge of a layer's column. */
double
output_column_x(int layer)
{
	return OUT_MARGIN + layer * (OUT_NODE_W + OUT_GAP_X);
}

/*
 * Places k items in order as close as possible (least squares) to their
 * desired centres, each at least sep[i] below the one before.
 */
static void
fit_in_order(int k, const double *desired, const double *sep, double *out)
{
	double	   *off = palloc(sizeof(double) * k);
	double	   *bsum = palloc(sizeof(double) * k);
	int		   *bcnt = palloc(sizeof(int) * k);
	int			nb = 0;
	int			idx = 0;

	for (int i = 0; i < k; i++)
	{
		off[i] = (i == 0) ? 0 : off[i - 1] + sep[i - 1];
		bsum[nb] = desired[i] - off[i];
		bcnt[nb] = 1;
		nb++;
		while (nb > 1 && bsum[nb - 2] * bcnt[nb - 1] > bsum[nb - 1] * bcnt[nb - 2])
		{
			bsum[nb - 2] += bsum[nb - 1];
			bcnt[nb - 2] += bcnt[nb - 1];
			nb--;
		}
	}
	for (int b = 0; b < nb; b++)
		for (int j = 0; j < bcnt[b]; j++, idx++)
			out[idx] = bsum[b] / bcnt[b] + off[idx];
	pfree(off);
	pfree(bsum);
	pfree(bcnt);
}

/* Crossings between adjacent layers for the current order. */
static int64
count_crossings(OutputLayout *l, Pair *segs, int nsegs, Pair *buf, int *tree, int maxw)
{
	int64		total = 0;

	for (int L = 0; L + 1 < l->nlayers; L++)
	{
		int			n = 0;
		int			w = l->layer_size[L + 1];

		CHECK_FOR_INTERRUPTS();
		for (int s = 0; s < nsegs; s++)
		{
			OutputVertex *u = &l->verts[segs[s].a];
			OutputVertex *v = &l->verts[segs[s].b];

			if (u->layer == L)
			{
				buf[n].a = u->order;
				buf[n].b = v->order;
				n++;
			}
		}
		qsort(buf, n, sizeof(Pair), pair_cmp);
		memset(tree, 0, sizeof(int) * (maxw + 1));
		for (int i = 0; i < n; i++)
		{
			int			greater = i;

			/* inserted so far with b <= this b */
			for (int j = buf[i].b + 1; j > 0; j -= j & (-j))
				greater -= tree[j];
			total += greater;
			for (int j = buf[i].b + 1; j <= w; j += j & (-j))
				tree[j]++;
		}
	}
	return total;
}

static void
sort_layer(OutputLayout *l, int L)
{
	SortKey    *keys = palloc(sizeof(SortKey) * l->layer_size[L]);

	for (int i = 0; i < l->layer_size[L]; i++)
	{
		keys[i].v = l->layer[L][i];
		keys[i].order = l->verts[keys[i].v].order;
		keys[i].key = keys[i].order;
	}
	qsort(keys, l->layer_size[L], sizeof(SortKey), sortkey_cmp);
	for (int i = 0; i < l->layer_size[L]; i++)
	{
		l->layer[L][i] = keys[i].v;
		l->verts[keys[i].v].order = i;
	}
	pfree(keys);
}

OutputLayout *
output_layout(const OutputGraph *g)
{
	OutputLayout *l = palloc0(sizeof(OutputLayout));
	int			n = g->nnodes;
	int			m = g->nedges;
	int		   *layer = palloc(sizeof(int) * Max(n, 1));
	int		   *outstart = palloc0(sizeof(int) * (n + 1));
	int		   *outadj = palloc(sizeof(int) * Max(m, 1));
	int		   *queue = palloc(sizeof(int) * Max(n, 1));
	bool	   *back;
	int		   *fill = palloc0(sizeof(int) * (n + 1));
	int			qh = 0,
				qt = 0;
	int			nverts;
	int64		ndummies = 0;
	Pair	   *segs;
	int			nsegs = 0;
	int		   *upstart,
			   *upadj,
			   *downstart,
			   *downadj;
	int		   *best;
	int64		bestc;
	int			maxw = 0;
	Pair	   *buf;
	int		   *tree;

	/*
	 * 1. layers.  A depth-first search from the sources (then from any node
	 * left) finds the edges that close cycles; without them the graph is a
	 * DAG, and each node's layer is the longest chain of hops leading to it,
	 * so every other edge points right.
	 */
	for (int e = 0; e < m; e++)
		outstart[g->edges[e].src + 1]++;
	for (int i = 0; i < n; i++)
		outstart[i + 1] += outstart[i];
	for (int e = 0; e < m; e++)
		outadj[outstart[g->edges[e].src] + fill[g->edges[e].src]++] = e;
	{
		char	   *state = palloc0(Max(n, 1));	/* 0 new, 1 on the stack, 2 done */
		int		   *next = palloc0(sizeof(int) * Max(n, 1));
		int		   *indeg = palloc0(sizeof(int) * Max(n, 1));

		back = palloc0(sizeof(bool) * Max(m, 1));
		for (int pass = 0; pass < 2; pass++)
			for (int root = 0; root < n; root++)
			{
				int			sp = 0;

				if (state[root] != 0 || (pass == 0 && !(g->nodes[root].flags & OUTPUT_SOURCE)))
					continue;
				queue[sp++] = root;
				state[root] = 1;
				next[root] = outstart[root];
				while (sp > 0)
				{
					int			u = queue[sp - 1];

					CHECK_FOR_INTERRUPTS();
					if (next[u] < outstart[u + 1])
					{
						int			e = outadj[next[u]++];
						int			d = g->edges[e].dst;

						if (state[d] == 1)
							back[e] = true;
						else if (state[d] == 0)
						{
							state[d] = 1;
							next[d] = outstart[d];
							queue[sp++] = d;
						}
					}
					else
					{
						state[u] = 2;
						sp--;
					}
				}
			}
		for (int e = 0; e < m; e++)
			if (!back[e])
				indeg[g->edges[e].dst]++;
		for (int i = 0; i < n; i++)
		{
			layer[i] = 0;
			if (indeg[i] == 0)
				queue[qt++] = i;
		}
		while (qh < qt)
		{
			int			u = queue[qh++];

			CHECK_FOR_INTERRUPTS();
			for (int j = outstart[u]; j < outstart[u + 1]; j++)
			{
				int			e = outadj[j];
				int			d = g->edges[e].dst;

				if (back[e])
					continue;
				layer[d] = Max(layer[d], layer[u] + 1);
				if (--indeg[d] == 0)
					queue[qt++] = d;
			}
		}
		Assert(qt == n);
		pfree(state);
		pfree(next);
		pfree(indeg);
	}
	l->nlayers = 0;
	for (int i = 0; i < n; i++)
		l->nlayers = Max(l->nlayers, layer[i] + 1);

	/* 2. dummies on long edges */
	for (int e = 0; e < m; e++)
	{
		int			span = abs(layer[g->edges[e].dst] - layer[g->edges[e].src]);

		if (span > 1)
			ndummies += span - 1;
	}
	if (n + ndummies > (int64) output_max_nodes * 20)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("attack graph picture too large to lay out"),
				 errdetail("%d resources and %d edges need " INT64_FORMAT " layout vertices.", n, m, n + ndummies),
				 errhint("Narrow it with k, max_hops or kinds.")));
	nverts = n + (int) ndummies;
	l->nverts = nverts;
	l->verts = palloc0(sizeof(OutputVertex) * Max(nverts, 1));
	for (int i = 0; i < n; i++)
	{
		l->verts[i].node = i;
		l->verts[i].layer = layer[i];
		l->verts[i].h = OUT_NODE_H;
	}
	l->routes = palloc0(sizeof(OutputRoute) * Max(m, 1));
	segs = palloc(sizeof(Pair) * Max(nverts + m, 1));
	{
		int			next = n;

		for (int e = 0; e < m; e++)
		{
			int			s = g->edges[e].src;
			int			d = g->edges[e].dst;
			int			ls = layer[s];
			int			ld = layer[d];
			OutputRoute *r = &l->routes[e];
			int			span = abs(ld - ls);

			CHECK_FOR_INTERRUPTS();
			r->kind = (ld > ls) ? OUTPUT_ROUTE_FORWARD : (ld < ls) ? OUTPUT_ROUTE_BACK : OUTPUT_ROUTE_FLAT;
			r->nverts = (span > 1) ? span + 1 : 2;
			r->verts = palloc(sizeof(int) * r->nverts);
			r->verts[0] = s;
			r->verts[r->nverts - 1] = d;
			for (int k = 1; k < r->nverts - 1; k++)
			{
				OutputVertex *v = &l->verts[next];

				v->node = -1;
				v->layer = (ld > ls) ? ls + k : ls - k;
				v->h = OUT_DUMMY_H;
				r->verts[k] = next++;
			}
			if (r->kind != OUTPUT_ROUTE_FLAT)
				for (int k = 0; k + 1 < r->nverts; k++)
				{
					int			a = r->verts[k],
								b = r->verts[k + 1];

					if (l->verts[a].layer > l->verts[b].layer)
					{
						int			t = a;

						a = b;
						b = t;
					}
					segs[nsegs].a = a;
					segs[nsegs].b = b;
					nsegs++;
				}
		}
	}

	/* neighbour lists (CSR) above and below each vertex */
	upstart = palloc0(sizeof(int) * (nverts + 1));
	downstart = palloc0(sizeof(int) * (nverts + 1));
	upadj = palloc(sizeof(int) * Max(nsegs, 1));
	downadj = palloc(sizeof(int) * Max(nsegs, 1));
	for (int s = 0; s < nsegs; s++)
	{
		upstart[segs[s].b + 1]++;
		downstart[segs[s].a + 1]++;
	}
	for (int v = 0; v < nverts; v++)
	{
		upstart[v + 1] += upstart[v];
		downstart[v + 1] += downstart[v];
	}
	{
		int		   *uf = palloc0(sizeof(int) * (nverts + 1));
		int		   *df = palloc0(sizeof(int) * (nverts + 1));

		for (int s = 0; s < nsegs; s++)
		{
			upadj[upstart[segs[s].b] + uf[segs[s].b]++] = segs[s].a;
			downadj[downstart[segs[s].a] + df[segs[s].a]++] = segs[s].b;
		}
		pfree(uf);
		pfree(df);
	}

	/* layers in input order */
	l->layer_size = palloc0(sizeof(int) * Max(l->nlayers, 1));
	l->layer = palloc0(sizeof(int *) * Max(l->nlayers, 1));
	for (int v = 0; v < nverts; v++)
		l->layer_size[l->verts[v].layer]++;
	for (int L = 0; L < l->nlayers; L++)
	{
		l->layer[L] = palloc(sizeof(int) * Max(l->layer_size[L], 1));
		maxw = Max(maxw, l->layer_size[L]);
		l->layer_size[L] = 0;
	}
	for (int v = 0; v < nverts; v++)
	{
		int			L = l->verts[v].layer;

		l->verts[v].order = l->layer_size[L];
		l->layer[L][l->layer_size[L]++] = v;
	}

	/* 3. barycenter sweeps, keeping the best order */
	buf = palloc(sizeof(Pair) * Max(nsegs, 1));
	tree = palloc(sizeof(int) * (maxw + 2));
	best = palloc(sizeof(int) * Max(nverts, 1));
	bestc = count_crossings(l, segs, nsegs, buf, tree, maxw);
	for (int v = 0; v < nverts; v++)
		best[v] = l->verts[v].order;
	for (int iter = 0; iter < 24 && bestc > 0; iter++)
	{
		bool		down = (iter % 2 == 0);
		int64		c;

		for (int step = 0; step < l->nlayers; step++)
		{
			int			L = down ? step : l->nlayers - 1 - step;
			SortKey    *keys;

			CHECK_FOR_INTERRUPTS();
			if ((down && L == 0) || (!down && L == l->nlayers - 1))
				continue;
			keys = palloc(sizeof(SortKey) * Max(l->layer_size[L], 1));
			for (int i = 0; i < l->layer_size[L]; i++)
			{
				int			v = l->layer[L][i];
				int			from = down ? upstart[v] : downstart[v];
				int			to = down ? upstart[v + 1] : downstart[v + 1];
				double		sum = 0;

				for (int j = from; j < to; j++)
					sum += l->verts[down ? upadj[j] : downadj[j]].order;
				keys[i].v = v;
				keys[i].order = i;
				keys[i].key = (to > from) ? sum / (to - from) : i;
			}
			qsort(keys, l->layer_size[L], sizeof(SortKey), sortkey_cmp);
			for (int i = 0; i < l->layer_size[L]; i++)
			{
				l->layer[L][i] = keys[i].v;
				l->verts[keys[i].v].order = i;
			}
			pfree(keys);
		}
		c = count_crossings(l, segs, nsegs, buf, tree, maxw);
		if (c < bestc)
		{
			bestc = c;
			for (int v = 0; v < nverts; v++)
				best[v] = l->verts[v].order;
		}
	}
	for (int v = 0; v < nverts; v++)
		l->verts[v].order = best[v];
	for (int L = 0; L < l->nlayers; L++)
		sort_layer(l, L);
	l->crossings = (int) Min(bestc, INT_MAX);

	/* 4. vertical positions: stacked, then pulled towards neighbours */
	{
		double	   *desired = palloc(sizeof(double) * Max(maxw, 1));
		double	   *sep = palloc(sizeof(double) * Max(maxw, 1));
		double	   *out = palloc(sizeof(double) * Max(maxw, 1));

		for (int L = 0; L < l->nlayers; L++)
		{
			double		y = 0;

			for (int i = 0; i < l->layer_size[L]; i++)
			{
				OutputVertex *v = &l->verts[l->layer[L][i]];

				if (i > 0)
					y += (l->verts[l->layer[L][i - 1]].h + v->h) / 2 +
						((v->node >= 0 && l->verts[l->layer[L][i - 1]].node >= 0) ? OUT_GAP_Y : OUT_GAP_Y / 2);
				v->y = y;
			}
		}
		for (int iter = 0; iter < 8; iter++)
		{
			bool		down = (iter % 2 == 0);

			for (int step = 0; step < l->nlayers; step++)
			{
				int			L = down ? step : l->nlayers - 1 - step;
				int			k = l->layer_size[L];

				CHECK_FOR_INTERRUPTS();
				for (int i = 0; i < k; i++)
				{
					int			v = l->layer[L][i];
					int			from = down ? upstart[v] : downstart[v];
					int			to = down ? upstart[v + 1] : downstart[v + 1];
					double		sum = 0;

					for (int j = from; j < to; j++)
						sum += l->verts[down ? upadj[j] : downadj[j]].y;
					/* the last pass also listens to the other side */
					desired[i] = (to > from) ? sum / (to - from) : l->verts[v].y;
					if (i + 1 < k)
					{
						OutputVertex *a = &l->verts[v];
						OutputVertex *b = &l->verts[l->layer[L][i + 1]];

						sep[i] = (a->h + b->h) / 2 + ((a->node >= 0 && b->node >= 0) ? OUT_GAP_Y : OUT_GAP_Y / 2);
					}
				}
				fit_in_order(k, desired, sep, out);
				for (int i = 0; i < k; i++)
					l->verts[l->layer[L][i]].y = out[i];
			}
		}
		pfree(desired);
		pfree(sep);
		pfree(out);
	}

	/* parallel and antiparallel edges between the same two nodes fan out */
	{
		SortKey    *keys = palloc(sizeof(SortKey) * Max(m, 1));

		for (int e = 0; e < m; e++)
		{
			int			a = Min(g->edges[e].src, g->edges[e].dst);
			int			b = Max(g->edges[e].src, g->edges[e].dst);

			keys[e].key = (double) a * (n + 1) + b;
			keys[e].order = e;
			keys[e].v = e;
		}
		qsort(keys, m, sizeof(SortKey), sortkey_cmp);
		for (int i = 0; i < m;)
		{
			int			j = i;

			CHECK_FOR_INTERRUPTS();
			while (j < m && keys[j].key == keys[i].key)
				j++;
			for (int k = i; k < j; k++)
				l->routes[keys[k].v].offset = ((k - i) - (j - i - 1) / 2.0) * 10.0;
			i = j;
		}
		pfree(keys);
	}

	/* 5. labels, per gap between columns, spread so they do not overlap */
	{
		double		minv = 0,
					maxv = 0;
		bool		flat_last = false;
		SortKey    *keys = palloc(sizeof(SortKey) * Max(m, 1));
		double	   *desired = palloc(sizeof(double) * Max(m, 1));
		double	   *sep = palloc(sizeof(double) * Max(m, 1));
		double	   *out = palloc(sizeof(double) * Max(m, 1));
		int		   *gap = palloc(sizeof(int) * Max(m, 1));

		for (int e = 0; e < m; e++)
		{
			OutputRoute *r = &l->routes[e];
			OutputVertex *a = &l->verts[r->verts[0]];
			OutputVertex *b = &l->verts[r->verts[1]];
			double		ya = a->y + r->offset;
			double		yb = b->y + ((b->node >= 0) ? r->offset : 0);

			gap[e] = (r->kind == OUTPUT_ROUTE_BACK) ? a->layer - 1 : a->layer;
			if (r->kind == OUTPUT_ROUTE_FLAT && a->layer == l->nlayers - 1)
				flat_last = true;
			r->label_y = (ya + yb) / 2;
			r->label_x = output_column_x(gap[e]) + OUT_NODE_W + OUT_GAP_X / 2;
		}
		for (int G = 0; G < l->nlayers; G++)
		{
			int			k = 0;

			CHECK_FOR_INTERRUPTS();
			for (int e = 0; e < m; e++)
				if (gap[e] == G)
				{
					keys[k].key = l->routes[e].label_y;
					keys[k].order = e;
					keys[k].v = e;
					k++;
				}
			if (k == 0)
				continue;
			qsort(keys, k, sizeof(SortKey), sortkey_cmp);
			for (int i = 0; i < k; i++)
			{
				desired[i] = keys[i].key;
				sep[i] = OUT_LABEL_H + 4;
			}
			fit_in_order(k, desired, sep, out);
			for (int i = 0; i < k; i++)
				l->routes[keys[i].v].label_y = out[i];
		}

		/* shift everything so the drawing starts below the header */
		for (int v = 0; v < nverts; v++)
		{
			double		top = l->verts[v].y - l->verts[v].h / 2 - 14;	/* room for a badge */
			double		bottom = l->verts[v].y + l->verts[v].h / 2;

			if (v == 0 || top < minv)
				minv = top;
			if (v == 0 || bottom > maxv)
				maxv = bottom;
		}
		for (int e = 0; e < m; e++)
		{
			minv = Min(minv, l->routes[e].label_y - OUT_LABEL_H / 2);
			maxv = Max(maxv, l->routes[e].label_y + OUT_LABEL_H / 2);
		}
		for (int v = 0; v < nverts; v++)
			l->verts[v].y += OUT_HEADER - minv;
		for (int e = 0; e < m; e++)
			l->routes[e].label_y += OUT_HEADER - minv;
		l->top = OUT_HEADER;
		l->height = (nverts > 0 ? maxv - minv : 40) + OUT_HEADER + OUT_FOOTER;
		l->width = output_column_x(Max(l->nlayers, 1) - 1) + OUT_NODE_W + OUT_MARGIN + (flat_last ? OUT_GAP_X : 0);
		l->width = Max(l->width, 940);
		pfree(keys);
		pfree(desired);
		pfree(sep);
		pfree(out);
		pfree(gap);
	}

	pfree(layer);
	pfree(back);
	pfree(outstart);
	pfree(outadj);
	pfree(queue);
	pfree(fill);
	pfree(segs);
	pfree(upstart);
	pfree(upadj);
	pfree(downstart);
	pfree(downadj);
	pfree(best);
	pfree(buf);
	pfree(tree);
	return l;
}
