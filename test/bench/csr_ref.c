/*
 * csr_ref.c
 *		The physical reference for the graph benchmark: plain C over a CSR.
 *
 * Reads the relationships exported from the database (text COPY lines
 * "src<TAB>dst<TAB>likelihood"), remaps ids to dense ints, builds forward and
 * reverse CSR with float weights -ln(likelihood), and times the kernels the
 * extension's functions are built from: multi-source BFS (optionally hop
 * bounded), hop-bounded best paths (Bellman-Ford in rounds), single-source
 * Dijkstra over the whole graph (and the same by Bellman-Ford in rounds), point-to-point Dijkstra that stops at the
 * target, reverse Dijkstra from the target, Yen's k shortest simple paths, and
 * unit-capacity max flow by Dinic between two sets of vertices (files of ids).
 * Each kernel runs `reps` times; the median wall time is printed.
 *
 *   csr_ref EDGES_FILE -s ID[,ID...] [-t ID] [-k K] [-H MAX_HOPS] [-r REPS]
 *           [-S CUT_SOURCES_FILE -T CUT_TARGETS_FILE]
 *
 * Output, one line per figure: "name<TAB>median_ms<TAB>result".
 * This is a yardstick, not a product: no error recovery beyond a message.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Csr
{
	int32_t		n;
	int64_t		m;
	int64_t    *off;			/* n + 1 */
	int32_t    *adj;			/* m */
	float	   *w;				/* m */
} Csr;

static int32_t n_nodes;
static int32_t *id2ix;			/* external id -> dense index, -1 if absent */
static int64_t *ix2id;
static int64_t max_id;

static void *
xmalloc(size_t sz)
{
	void	   *p = malloc(sz ? sz : 1);

	if (p == NULL)
	{
		fprintf(stderr, "csr_ref: out of memory (%zu bytes)\n", sz);
		exit(2);
	}
	return p;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int32_t
ix_of(int64_t id)
{
	if (id < 0 || id > max_id || id2ix[id] < 0)
	{
		fprintf(stderr, "csr_ref: id %lld is not an endpoint of any edge\n", (long long) id);
		exit(2);
	}
	return id2ix[id];
}

/* Counting sort of the edge list into CSR; rev swaps the ends. */
static void
build_csr(Csr *g, int64_t m, const int32_t *s, const int32_t *d, const float *w, int rev)
{
	int64_t    *pos;

	g->n = n_nodes;
	g->m = m;
	g->off = calloc(n_nodes + 1, sizeof(int64_t));
	g->adj = xmalloc(m * sizeof(int32_t));
	g->w = xmalloc(m * sizeof(float));
	if (g->off == NULL)
		exit(2);
	for (int64_t e = 0; e < m; e++)
		g->off[(rev ? d[e] : s[e]) + 1]++;
	for (int32_t v = 0; v < n_nodes; v++)
		g->off[v + 1] += g->off[v];
	pos = xmalloc(n_nodes * sizeof(int64_t));
	memcpy(pos, g->off, n_nodes * sizeof(int64_t));
	for (int64_t e = 0; e < m; e++)
	{
		int32_t		u = rev ? d[e] : s[e];
		int64_t		p = pos[u]++;

		g->adj[p] = rev ? s[e] : d[e];
		g->w[p] = w[e];
	}
	free(pos);
}

/* ---- BFS ---------------------------------------------------------------- */

static int64_t
bfs(const Csr *g, const int32_t *src, int nsrc, int max_hops, int32_t target, int32_t *level, int32_t *queue)
{
	int64_t		head = 0,
				tail = 0;

	for (int32_t v = 0; v < g->n; v++)
		level[v] = -1;
	for (int i = 0; i < nsrc; i++)
		if (level[src[i]] < 0)
		{
			level[src[i]] = 0;
			queue[tail++] = src[i];
		}
	while (head < tail)
	{
		int32_t		u = queue[head++];

		if (u == target)
			return 1;
		if (max_hops >= 0 && level[u] >= max_hops)
			continue;
		for (int64_t p = g->off[u]; p < g->off[u + 1]; p++)
		{
			int32_t		v = g->adj[p];

			if (level[v] < 0)
			{
				level[v] = level[u] + 1;
				queue[tail++] = v;
			}
		}
	}
	return target >= 0 ? 0 : tail;
}

/* ---- Dijkstra (lazy binary heap) ------------------------------------------ */

typedef struct HeapItem
{
	double		d;
	int32_t		v;
} HeapItem;

typedef struct Heap
{
	HeapItem   *a;
	int64_t		n,
				cap;
} Heap;

static void
heap_push(Heap *h, double d, int32_t v)
{
	int64_t		i;

	if (h->n == h->cap)
	{
		h->cap = h->cap ? h->cap * 2 : 1024;
		h->a = realloc(h->a, h->cap * sizeof(HeapItem));
		if (h->a == NULL)
			exit(2);
	}
	i = h->n++;
	while (i > 0)
	{
		int64_t		p = (i - 1) / 2;

		if (h->a[p].d <= d)
			break;
		h->a[i] = h->a[p];
		i = p;
	}
	h->a[i].d = d;
	h->a[i].v = v;
}

static HeapItem
heap_pop(Heap *h)
{
	HeapItem	top = h->a[0],
				last = h->a[--h->n];
	int64_t		i = 0;

	for (;;)
	{
		int64_t		c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->a[c + 1].d < h->a[c].d)
			c++;
		if (last.d <= h->a[c].d)
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n > 0)
		h->a[i] = last;
	return top;
}

/*
 * Dijkstra from src (or from every src at distance 0); stops when target is
 * settled.  With pot (exact distances to the target, from a reverse Dijkstra)
 * it is A*: the key is dist + pot, vertices that cannot reach the target are
 * never queued.  banned_v / banned_e (may be NULL) hide vertices and edge slots,
 * for Yen.  Labels are valid only where stamp[v] == gen, so a search costs what
 * it touches, not O(n).  Returns the number of settled vertices; the target's
 * distance goes to *tdist.
 */
typedef struct Search
{
	double	   *dist;
	int64_t    *pred_e;
	int32_t    *pred_v;
	uint32_t   *stamp;
	uint32_t	gen;
	Heap		h;
} Search;

static void
search_init(Search *sr, int32_t n)
{
	sr->dist = xmalloc(n * sizeof(double));
	sr->pred_e = xmalloc(n * sizeof(int64_t));
	sr->pred_v = xmalloc(n * sizeof(int32_t));
	sr->stamp = calloc(n, sizeof(uint32_t));
	sr->gen = 0;
	memset(&sr->h, 0, sizeof(Heap));
}

#define DIST(sr, v) ((sr)->stamp[v] == (sr)->gen ? (sr)->dist[v] : INFINITY)

static int64_t
dijkstra(const Csr *g, const int32_t *src, int nsrc, int32_t target, Search *sr, const double *pot,
		 const char *banned_v, const char *banned_e, double *tdist)
{
	int64_t		settled = 0;
	Heap	   *h = &sr->h;

	sr->gen++;
	h->n = 0;
	for (int i = 0; i < nsrc; i++)
	{
		if (pot && isinf(pot[src[i]]))
			continue;
		sr->stamp[src[i]] = sr->gen;
		sr->dist[src[i]] = 0;
		sr->pred_e[src[i]] = -1;
		sr->pred_v[src[i]] = -1;
		heap_push(h, pot ? pot[src[i]] : 0, src[i]);
	}
	*tdist = INFINITY;
	while (h->n > 0)
	{
		HeapItem	it = heap_pop(h);
		int32_t		u = it.v;
		double		du = sr->dist[u];

		if (it.d > du + (pot ? pot[u] : 0))
			continue;
		settled++;
		if (u == target)
		{
			*tdist = du;
			break;
		}
		for (int64_t p = g->off[u]; p < g->off[u + 1]; p++)
		{
			int32_t		v = g->adj[p];
			double		nd = du + g->w[p];

			if (banned_e && banned_e[p])
				continue;
			if (banned_v && banned_v[v])
				continue;
			if (pot && isinf(pot[v]))
				continue;
			if (nd < DIST(sr, v))
			{
				sr->stamp[v] = sr->gen;
				sr->dist[v] = nd;
				sr->pred_e[v] = p;
				sr->pred_v[v] = u;
				heap_push(h, nd + (pot ? pot[v] : 0), v);
			}
		}
	}
	return settled;
}

/* ---- hop-bounded best paths ----------------------------------------------------- */

/*
 * Best (least-cost) path of at most max_hops edges to every vertex: Bellman-Ford
 * in rounds, round h relaxing only the out-edges of vertices whose best value
 * changed in round h - 1, from the value they had at the end of that round.
 * Returns the number of vertices reached (sources included).
 */
static int64_t
bellman_ford_hops(const Csr *g, const int32_t *src, int nsrc, int max_hops, double *best,
				  uint32_t *mark, int32_t *front, double *front_d, int32_t *next)
{
	int64_t		nf = 0,
				reached = 0;
	uint32_t	round = 1;

	for (int32_t v = 0; v < g->n; v++)
	{
		best[v] = INFINITY;
		mark[v] = 0;
	}
	for (int i = 0; i < nsrc; i++)
		if (best[src[i]] > 0)
		{
			best[src[i]] = 0;
			front[nf] = src[i];
			front_d[nf++] = 0;
		}
	for (int h = 1; h <= max_hops && nf > 0; h++, round++)
	{
		int64_t		nn = 0;

		for (int64_t i = 0; i < nf; i++)
		{
			int32_t		u = front[i];

			for (int64_t p = g->off[u]; p < g->off[u + 1]; p++)
			{
				int32_t		v = g->adj[p];
				double		nd = front_d[i] + g->w[p];

				if (nd < best[v])
				{
					best[v] = nd;
					if (mark[v] != round)
					{
						mark[v] = round;
						next[nn++] = v;
					}
				}
			}
		}
		for (int64_t i = 0; i < nn; i++)
		{
			front[i] = next[i];
			front_d[i] = best[next[i]];
		}
		nf = nn;
	}
	for (int32_t v = 0; v < g->n; v++)
		reached += !isinf(best[v]);
	return reached;
}

/* ---- Yen's k shortest simple paths ------------------------------------------ */

typedef struct Path
{
	double		cost;
	int			len;			/* edges */
	int32_t    *v;				/* len + 1 vertices */
	int64_t    *e;				/* len CSR slots */
} Path;

static int
path_same_prefix(const Path *a, const Path *b, int upto)
{
	if (a->len < upto || b->len < upto)
		return 0;
	return memcmp(a->v, b->v, (upto + 1) * sizeof(int32_t)) == 0 &&
		memcmp(a->e, b->e, upto * sizeof(int64_t)) == 0;
}

static int
path_equal(const Path *a, const Path *b)
{
	return a->len == b->len && path_same_prefix(a, b, a->len);
}

/*
 * Yen's algorithm; returns how many paths were found (at most k), costs in
 * out_cost.  With rev != NULL every spur search is A* guided by the exact
 * distance to t (one reverse Dijkstra up front), which is what a serious
 * implementation does; with rev == NULL each spur is a plain Dijkstra, as in
 * the textbook (and in pgRouting).
 */
static int
yen(const Csr *g, const Csr *rev, int32_t s, int32_t t, int k, double *out_cost)
{
	Search		sr;
	double	   *pot = NULL;
	char	   *banned_v = calloc(g->n, 1);
	char	   *banned_e = calloc(g->m, 1);
	Path	   *A = xmalloc(k * sizeof(Path));
	Path	   *B = NULL;
	int			nA = 0,
				nB = 0,
				capB = 0;
	double		td;

	search_init(&sr, g->n);
	if (rev)
	{
		pot = xmalloc(g->n * sizeof(double));
		dijkstra(rev, &t, 1, -1, &sr, NULL, NULL, NULL, &td);
		for (int32_t v = 0; v < g->n; v++)
			pot[v] = DIST(&sr, v);
	}
	dijkstra(g, &s, 1, t, &sr, pot, NULL, NULL, &td);
	if (isinf(td))
		goto done;
	{
		int			len = 0;

		for (int32_t v = t; v != s; v = sr.pred_v[v])
			len++;
		A[0].len = len;
		A[0].cost = td;
		A[0].v = xmalloc((len + 1) * sizeof(int32_t));
		A[0].e = xmalloc((len + 1) * sizeof(int64_t));
		for (int32_t v = t, i = len; i >= 0; i--)
		{
			A[0].v[i] = v;
			if (i > 0)
			{
				A[0].e[i - 1] = sr.pred_e[v];
				v = sr.pred_v[v];
			}
		}
		nA = 1;
	}
	while (nA < k)
	{
		Path	   *last = &A[nA - 1];

		for (int i = 0; i < last->len; i++)
		{
			int32_t		spur = last->v[i];
			double		root_cost = 0;

			for (int j = 0; j < i; j++)
				root_cost += g->w[last->e[j]];
			for (int a = 0; a < nA; a++)
				if (path_same_prefix(&A[a], last, i) && A[a].len > i)
					banned_e[A[a].e[i]] = 1;
			for (int j = 0; j < i; j++)
				banned_v[last->v[j]] = 1;
			dijkstra(g, &spur, 1, t, &sr, pot, banned_v, banned_e, &td);
			if (!isinf(td))
			{
				Path		p;
				int			slen = 0;
				int			dup = 0;

				for (int32_t v = t; v != spur; v = sr.pred_v[v])
					slen++;
				p.len = i + slen;
				p.cost = root_cost + td;
				p.v = xmalloc((p.len + 1) * sizeof(int32_t));
				p.e = xmalloc((p.len + 1) * sizeof(int64_t));
				memcpy(p.v, last->v, (i + 1) * sizeof(int32_t));
				memcpy(p.e, last->e, i * sizeof(int64_t));
				for (int32_t v = t, q = p.len; q > i; q--)
				{
					p.v[q] = v;
					p.e[q - 1] = sr.pred_e[v];
					v = sr.pred_v[v];
				}
				for (int b = 0; b < nB && !dup; b++)
					dup = path_equal(&B[b], &p);
				if (dup)
				{
					free(p.v);
					free(p.e);
				}
				else
				{
					if (nB == capB)
					{
						capB = capB ? capB * 2 : 64;
						B = realloc(B, capB * sizeof(Path));
						if (B == NULL)
							exit(2);
					}
					B[nB++] = p;
				}
			}
			for (int a = 0; a < nA; a++)
				if (A[a].len > i)
					banned_e[A[a].e[i]] = 0;
			for (int j = 0; j < i; j++)
				banned_v[last->v[j]] = 0;
		}
		if (nB == 0)
			break;
		{
			int			best = 0;

			for (int b = 1; b < nB; b++)
				if (B[b].cost < B[best].cost)
					best = b;
			A[nA++] = B[best];
			B[best] = B[--nB];
		}
	}
done:
	for (int a = 0; a < nA; a++)
	{
		out_cost[a] = A[a].cost;
		free(A[a].v);
		free(A[a].e);
	}
	for (int b = 0; b < nB; b++)
	{
		free(B[b].v);
		free(B[b].e);
	}
	free(A);
	free(B);
	free(sr.h.a);
	free(sr.dist);
	free(sr.pred_e);
	free(sr.pred_v);
	free(sr.stamp);
	free(pot);
	free(banned_v);
	free(banned_e);
	return nA;
}

/* ---- maximum flow (Dinic), the reference for min_cut ---------------------------- */

/*
 * Unit-capacity max flow from every src to every dst, as a competent C
 * implementation does it: prune to the vertices both reachable from a source
 * and able to reach a target (a path ends at the first target; self-loops
 * and arcs into sources are useless), build one arc array with residual
 * mates, then Dinic (levels by BFS from all sources at once, stopping at the
 * first sink level; blocking flow by iterative DFS with current-arc
 * pointers).  Returns the flow value; pruning and building are timed too,
 * as they are part of every min_cut call.
 */
static int64_t
dinic(const Csr *g, const Csr *rv, const int32_t *src, int nsrc, const int32_t *dst, int ndst,
	  int64_t *phases_out)
{
	int32_t		n = g->n;
	char	   *is_s = calloc(n, 1),
			   *is_t = calloc(n, 1),
			   *co = calloc(n, 1);
	int32_t    *vof = xmalloc(n * sizeof(int32_t));
	int32_t    *queue = xmalloc(n * sizeof(int32_t));
	int64_t		head = 0,
				tail = 0,
				narcs = 0,
				flow = 0,
				phases = 0;
	int32_t		nv = 0,
				nstart;
	int64_t    *aoff,
			   *pos,
			   *iter,
			   *mate,
			   *astack;
	int32_t    *ahead,
			   *level,
			   *vstack,
			   *vnode;
	char	   *sink,
			   *cap;

	for (int i = 0; i < nsrc; i++)
		is_s[src[i]] = 1;
	for (int i = 0; i < ndst; i++)
		is_t[dst[i]] = 1;
	/* able to reach a target: reverse BFS from the targets, not through sources */
	for (int i = 0; i < ndst; i++)
		if (!co[dst[i]])
		{
			co[dst[i]] = 1;
			queue[tail++] = dst[i];
		}
	while (head < tail)
	{
		int32_t		v = queue[head++];

		if (is_s[v])
			continue;
		for (int64_t p = rv->off[v]; p < rv->off[v + 1]; p++)
			if (!co[rv->adj[p]])
			{
				co[rv->adj[p]] = 1;
				queue[tail++] = rv->adj[p];
			}
	}
	/* ... and reachable from the sources: forward BFS within it, numbering the vertices */
	for (int32_t v = 0; v < n; v++)
		vof[v] = -1;
	head = tail = 0;
	for (int i = 0; i < nsrc; i++)
		if (co[src[i]] && !is_t[src[i]] && vof[src[i]] < 0)
		{
			vof[src[i]] = nv++;
			queue[tail++] = src[i];
		}
	nstart = nv;
	while (head < tail)
	{
		int32_t		v = queue[head++];

		if (is_t[v])
			continue;
		for (int64_t p = g->off[v]; p < g->off[v + 1]; p++)
		{
			int32_t		u = g->adj[p];

			if (u == v || !co[u] || is_s[u])
				continue;
			if (vof[u] < 0)
			{
				vof[u] = nv++;
				queue[tail++] = u;
			}
			narcs += 2;
		}
	}
	vnode = xmalloc((nv + 1) * sizeof(int32_t));
	memcpy(vnode, queue, nv * sizeof(int32_t));
	sink = xmalloc(nv + 1);
	aoff = calloc(nv + 1, sizeof(int64_t));
	for (int32_t x = 0; x < nv; x++)
	{
		int32_t		v = vnode[x];

		sink[x] = is_t[v];
		if (is_t[v])
			continue;
		for (int64_t p = g->off[v]; p < g->off[v + 1]; p++)
		{
			int32_t		u = g->adj[p];

			if (u == v || !co[u] || is_s[u])
				continue;
			aoff[x + 1]++;
			aoff[vof[u] + 1]++;
		}
	}
	for (int32_t x = 0; x < nv; x++)
		aoff[x + 1] += aoff[x];
	ahead = xmalloc((narcs + 1) * sizeof(int32_t));
	mate = xmalloc((narcs + 1) * sizeof(int64_t));
	cap = xmalloc(narcs + 1);
	pos = xmalloc((nv + 1) * sizeof(int64_t));
	memcpy(pos, aoff, (nv + 1) * sizeof(int64_t));
	for (int32_t x = 0; x < nv; x++)
	{
		int32_t		v = vnode[x];

		if (is_t[v])
			continue;
		for (int64_t p = g->off[v]; p < g->off[v + 1]; p++)
		{
			int32_t		u = g->adj[p];
			int64_t		a,
						b;

			if (u == v || !co[u] || is_s[u])
				continue;
			a = pos[x]++;
			b = pos[vof[u]]++;
			ahead[a] = vof[u];
			ahead[b] = x;
			mate[a] = b;
			mate[b] = a;
			cap[a] = 1;
			cap[b] = 0;
		}
	}

	level = xmalloc((nv + 1) * sizeof(int32_t));
	iter = xmalloc((nv + 1) * sizeof(int64_t));
	vstack = xmalloc((nv + 1) * sizeof(int32_t));
	astack = xmalloc((nv + 1) * sizeof(int64_t));
	for (;;)
	{
		int32_t		sink_level = INT32_MAX;

		/* level graph */
		for (int32_t x = 0; x < nv; x++)
			level[x] = -1;
		head = tail = 0;
		for (int32_t x = 0; x < nstart; x++)
		{
			level[x] = 0;
			queue[tail++] = x;
		}
		while (head < tail)
		{
			int32_t		x = queue[head++];

			if (sink[x])
			{
				if (level[x] < sink_level)
					sink_level = level[x];
				continue;
			}
			if (level[x] >= sink_level)
				break;
			for (int64_t a = aoff[x]; a < aoff[x + 1]; a++)
			{
				int32_t		y = ahead[a];

				if (level[y] >= 0 || !cap[a])
					continue;
				level[y] = level[x] + 1;
				queue[tail++] = y;
			}
		}
		if (sink_level == INT32_MAX)
			break;
		phases++;

		/* blocking flow */
		memcpy(iter, aoff, nv * sizeof(int64_t));
		for (int32_t s = 0; s < nstart; s++)
		{
			int32_t		depth = 0;

			if (level[s] != 0)
				continue;
			vstack[0] = s;
			while (depth >= 0)
			{
				int32_t		x = vstack[depth];
				int64_t		a;

				if (sink[x])
				{
					int32_t		back = 0;

					for (int32_t k = 0; k < depth; k++)
					{
						cap[astack[k]]--;
						cap[mate[astack[k]]]++;
					}
					flow++;
					while (back < depth && cap[astack[back]])
						back++;
					depth = back;
					continue;
				}
				for (a = iter[x]; a < aoff[x + 1]; a++)
					if (cap[a] && level[ahead[a]] == level[x] + 1)
						break;
				iter[x] = a;
				if (a < aoff[x + 1])
				{
					astack[depth] = a;
					vstack[++depth] = ahead[a];
					continue;
				}
				level[x] = -1;
				if (--depth >= 0)
					iter[vstack[depth]]++;
			}
		}
	}
	*phases_out = phases;
	free(is_s);
	free(is_t);
	free(co);
	free(vof);
	free(queue);
	free(vnode);
	free(sink);
	free(aoff);
	free(ahead);
	free(mate);
	free(cap);
	free(pos);
	free(level);
	free(iter);
	free(vstack);
	free(astack);
	return flow;
}

/* ---- main ---------------------------------------------------------------------- */

static int
parse_ids(const char *arg, int32_t **out)
{
	int			n = 1;
	char	   *copy = strdup(arg),
			   *tok,
			   *save = NULL;

	for (const char *c = arg; *c; c++)
		n += (*c == ',');
	*out = xmalloc(n * sizeof(int32_t));
	n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		(*out)[n++] = ix_of(strtoll(tok, NULL, 10));
	free(copy);
	return n;
}

/* Reads a file of ids, one a line; ids that are no edge's endpoint cannot matter and are dropped. */
static int
read_ids(const char *file, int32_t **out)
{
	FILE	   *f = fopen(file, "r");
	int			n = 0,
				cap = 1024;
	char		line[64];

	if (f == NULL)
	{
		fprintf(stderr, "csr_ref: cannot open %s: %s\n", file, strerror(errno));
		exit(2);
	}
	*out = xmalloc(cap * sizeof(int32_t));
	while (fgets(line, sizeof(line), f))
	{
		int64_t		id = strtoll(line, NULL, 10);

		if (id < 0 || id > max_id || id2ix[id] < 0)
			continue;
		if (n == cap)
		{
			cap *= 2;
			*out = realloc(*out, cap * sizeof(int32_t));
			if (*out == NULL)
				exit(2);
		}
		(*out)[n++] = id2ix[id];
	}
	fclose(f);
	return n;
}

int
main(int argc, char **argv)
{
	const char *file = NULL,
			   *src_arg = NULL,
			   *cut_src_file = NULL,
			   *cut_dst_file = NULL;
	int64_t		target_id = -1;
	int			k = 10,
				max_hops = -1,
				reps = 5;
	FILE	   *f;
	int64_t		m = 0,
				cap = 1 << 20;
	int64_t    *es,
			   *ed;
	float	   *ew;
	int32_t    *s32,
			   *d32;
	Csr			fwd,
				rev;
	int32_t    *srcs,
				target = -1;
	int			nsrc;
	double	   *times,
				t0;
	char		line[256];

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			src_arg = argv[++i];
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			target_id = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
			k = atoi(argv[++i]);
		else if (strcmp(argv[i], "-S") == 0 && i + 1 < argc)
			cut_src_file = argv[++i];
		else if (strcmp(argv[i], "-T") == 0 && i + 1 < argc)
			cut_dst_file = argv[++i];
		else if (strcmp(argv[i], "-H") == 0 && i + 1 < argc)
			max_hops = atoi(argv[++i]);
		else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (file == NULL)
			file = argv[i];
		else
		{
			fprintf(stderr, "usage: csr_ref EDGES -s ID[,ID..] [-t ID] [-k K] [-H HOPS] [-r REPS] [-S CUT_SOURCES -T CUT_TARGETS]\n");
			return 2;
		}
	}
	if (file == NULL || src_arg == NULL || reps < 1 || k < 1)
	{
		fprintf(stderr, "usage: csr_ref EDGES -s ID[,ID..] [-t ID] [-k K] [-H HOPS] [-r REPS] [-S CUT_SOURCES -T CUT_TARGETS]\n");
		return 2;
	}
	f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (f == NULL)
	{
		fprintf(stderr, "csr_ref: cannot open %s: %s\n", file, strerror(errno));
		return 2;
	}

	t0 = now_ms();
	es = xmalloc(cap * sizeof(int64_t));
	ed = xmalloc(cap * sizeof(int64_t));
	ew = xmalloc(cap * sizeof(float));
	while (fgets(line, sizeof(line), f))
	{
		char	   *p = line;
		int64_t		a = strtoll(p, &p, 10),
					b = strtoll(p, &p, 10);
		double		l = strtod(p, NULL);

		if (m == cap)
		{
			cap *= 2;
			es = realloc(es, cap * sizeof(int64_t));
			ed = realloc(ed, cap * sizeof(int64_t));
			ew = realloc(ew, cap * sizeof(float));
			if (!es || !ed || !ew)
				return 2;
		}
		es[m] = a;
		ed[m] = b;
		ew[m] = (float) -log(l);
		if (a > max_id)
			max_id = a;
		if (b > max_id)
			max_id = b;
		m++;
	}
	if (f != stdin)
		fclose(f);
	printf("load_text\t%.1f\t%lld edges\n", now_ms() - t0, (long long) m);

	times = xmalloc(reps * sizeof(double));

	/* Build: remap ids to dense ints, then both CSRs (what a snapshot build does after the scan). */
	for (int r = 0; r < reps; r++)
	{
		t0 = now_ms();
		if (r > 0)
		{
			free(id2ix);
			free(ix2id);
			free(s32);
			free(d32);
			free(fwd.off);
			free(fwd.adj);
			free(fwd.w);
			free(rev.off);
			free(rev.adj);
			free(rev.w);
		}
		id2ix = xmalloc((max_id + 1) * sizeof(int32_t));
		memset(id2ix, 0xff, (max_id + 1) * sizeof(int32_t));
		n_nodes = 0;
		s32 = xmalloc(m * sizeof(int32_t));
		d32 = xmalloc(m * sizeof(int32_t));
		for (int64_t e = 0; e < m; e++)
		{
			if (id2ix[es[e]] < 0)
				id2ix[es[e]] = n_nodes++;
			if (id2ix[ed[e]] < 0)
				id2ix[ed[e]] = n_nodes++;
			s32[e] = id2ix[es[e]];
			d32[e] = id2ix[ed[e]];
		}
		ix2id = xmalloc(n_nodes * sizeof(int64_t));
		for (int64_t id = 0; id <= max_id; id++)
			if (id2ix[id] >= 0)
				ix2id[id2ix[id]] = id;
		build_csr(&fwd, m, s32, d32, ew, 0);
		build_csr(&rev, m, s32, d32, ew, 1);
		times[r] = now_ms() - t0;
	}
	printf("build_csr\t%.1f\t%d nodes, %.1f bytes/edge (fwd+rev CSR)\n", median(times, reps), n_nodes,
		   (2.0 * (n_nodes + 1) * sizeof(int64_t) + 2.0 * m * (sizeof(int32_t) + sizeof(float))) / m);

	nsrc = parse_ids(src_arg, &srcs);
	if (target_id >= 0)
		target = ix_of(target_id);

	{
		int32_t    *level = xmalloc(n_nodes * sizeof(int32_t));
		int32_t    *queue = xmalloc(n_nodes * sizeof(int32_t));
		Search		sr;
		int64_t		res = 0;
		double		td = 0;

		search_init(&sr, n_nodes);
		for (int r = 0; r < reps; r++)
		{
			t0 = now_ms();
			res = bfs(&fwd, srcs, nsrc, -1, -1, level, queue);
			times[r] = now_ms() - t0;
		}
		printf("bfs\t%.3f\t%lld reached\n", median(times, reps), (long long) res);

		if (max_hops >= 0)
		{
			for (int r = 0; r < reps; r++)
			{
				t0 = now_ms();
				res = bfs(&fwd, srcs, nsrc, max_hops, -1, level, queue);
				times[r] = now_ms() - t0;
			}
			printf("bfs_hops\t%.3f\t%lld reached within %d hops\n", median(times, reps), (long long) res, max_hops);

			{
				double	   *best = xmalloc(n_nodes * sizeof(double));
				uint32_t   *mark = xmalloc(n_nodes * sizeof(uint32_t));
				int32_t    *front = xmalloc(n_nodes * sizeof(int32_t));
				double	   *front_d = xmalloc(n_nodes * sizeof(double));
				int32_t    *next = xmalloc(n_nodes * sizeof(int32_t));

				for (int r = 0; r < reps; r++)
				{
					t0 = now_ms();
					res = bellman_ford_hops(&fwd, srcs, nsrc, max_hops, best, mark, front, front_d, next);
					times[r] = now_ms() - t0;
				}
				printf("best_hops\t%.3f\t%lld reached within %d hops", median(times, reps), (long long) res,
					   max_hops);
				if (target >= 0)
					printf(", best cost to target %.9f", best[target]);
				printf("\n");
				free(best);
				free(mark);
				free(front);
				free(front_d);
				free(next);
			}
		}

		for (int r = 0; r < reps; r++)
		{
			t0 = now_ms();
			res = dijkstra(&fwd, srcs, nsrc, -1, &sr, NULL, NULL, NULL, &td);
			times[r] = now_ms() - t0;
		}
		printf("dijkstra\t%.3f\t%lld settled\n", median(times, reps), (long long) res);

		/* The same distances by Bellman-Ford in rounds, run until nothing changes. */
		{
			double	   *best = xmalloc(n_nodes * sizeof(double));
			uint32_t   *mark = xmalloc(n_nodes * sizeof(uint32_t));
			int32_t    *front = xmalloc(n_nodes * sizeof(int32_t));
			double	   *front_d = xmalloc(n_nodes * sizeof(double));
			int32_t    *next = xmalloc(n_nodes * sizeof(int32_t));
			int64_t		differ = 0;

			for (int dir = 0; dir <= (target >= 0 ? 1 : 0); dir++)
			{
				for (int r = 0; r < reps; r++)
				{
					t0 = now_ms();
					res = bellman_ford_hops(dir ? &rev : &fwd, dir ? &target : srcs, dir ? 1 : nsrc, INT32_MAX,
											best, mark, front, front_d, next);
					times[r] = now_ms() - t0;
				}
				dijkstra(dir ? &rev : &fwd, dir ? &target : srcs, dir ? 1 : nsrc, -1, &sr, NULL, NULL, NULL, &td);
				differ = 0;
				for (int32_t v = 0; v < n_nodes; v++)
					differ += fabs(best[v] - DIST(&sr, v)) > 1e-9 && !(isinf(best[v]) && isinf(DIST(&sr, v)));
				printf("%s\t%.3f\t%lld reached, %lld distances differ from Dijkstra's\n",
					   dir ? "bellman_ford_rev" : "bellman_ford", median(times, reps), (long long) res,
					   (long long) differ);
			}
			free(best);
			free(mark);
			free(front);
			free(front_d);
			free(next);
		}

		if (target >= 0)
		{
			int32_t		tgt1 = target;

			for (int r = 0; r < reps; r++)
			{
				t0 = now_ms();
				res = bfs(&fwd, srcs, nsrc, max_hops, target, level, queue);
				times[r] = now_ms() - t0;
			}
			printf("bfs_p2p\t%.3f\t%s\n", median(times, reps), res ? "reachable" : "unreachable");

			for (int r = 0; r < reps; r++)
			{
				t0 = now_ms();
				res = dijkstra(&fwd, srcs, nsrc, target, &sr, NULL, NULL, NULL, &td);
				times[r] = now_ms() - t0;
			}
			printf("dijkstra_p2p\t%.3f\tcost %.9f (likelihood %.6g), %lld settled\n", median(times, reps), td,
				   exp(-td), (long long) res);

			for (int r = 0; r < reps; r++)
			{
				t0 = now_ms();
				res = dijkstra(&rev, &tgt1, 1, -1, &sr, NULL, NULL, NULL, &td);
				times[r] = now_ms() - t0;
			}
			printf("dijkstra_rev\t%.3f\t%lld settled\n", median(times, reps), (long long) res);

			if (nsrc == 1)
			{
				double	   *costs = xmalloc(k * sizeof(double));
				int			found = 0;

				for (int astar = 0; astar <= 1; astar++)
				{
					int			r;

					/* the textbook form is slow on big graphs: once is enough past 2 s */
					for (r = 0; r < reps; r++)
					{
						t0 = now_ms();
						found = yen(&fwd, astar ? &rev : NULL, srcs[0], target, k, costs);
						times[r] = now_ms() - t0;
						if (times[r] > 2000)
						{
							r++;
							break;
						}
					}
					printf("%s_k%d\t%.3f\t%d paths, costs", astar ? "yen_astar" : "yen", k,
						   median(times, r), found);
					for (int i = 0; i < found; i++)
						printf(" %.9f", costs[i]);
					printf("\n");
				}
			}
		}
	}
	if (cut_src_file && cut_dst_file)
	{
		int32_t    *cs,
				   *ct;
		int			ncs = read_ids(cut_src_file, &cs),
					nct = read_ids(cut_dst_file, &ct);
		int64_t		flow = 0,
					phases = 0;

		for (int r = 0; r < reps; r++)
		{
			t0 = now_ms();
			flow = dinic(&fwd, &rev, cs, ncs, ct, nct, &phases);
			times[r] = now_ms() - t0;
		}
		printf("dinic\t%.3f\tmax flow %lld (%d sources, %d targets, %lld phases)\n", median(times, reps),
			   (long long) flow, ncs, nct, (long long) phases);
	}
	return 0;
}
