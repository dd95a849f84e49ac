/*
 * graph_heap.c
 *		The 4-ary min-heap every search uses.
 *
 * Items are 16 bytes, ordered by (key, hops, node), a total order, so that
 * every search pops equal-cost entries in the same order on every run: fewer
 * hops first, then the lower node index (lower resource id).  A label
 * search stores a label index in "node" instead and may install a tie-break
 * callback, consulted only when key and hops are equal.  Searches push lazily (no
 * decrease-key) and skip stale entries when they pop them.  Four children
 * per node halve the depth of a binary heap and keep siblings in one cache
 * line.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "graph/graph.h"

static inline bool
item_less(const GraphHeap *h, const GraphHeapItem *a, const GraphHeapItem *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	if (a->hops != b->hops)
		return a->hops < b->hops;
	if (h->tiebreak && a->node != b->node)
		return h->tiebreak(h->arg, a->node, b->node) < 0;
	return a->node < b->node;
}

void
graph_heap_init(GraphHeap *h, int64 cap)
{
	h->cap = Max(cap, 64);
	h->size = 0;
	h->tiebreak = NULL;
	h->arg = NULL;
	h->items = MemoryContextAllocHuge(CurrentMemoryContext, h->cap * sizeof(GraphHeapItem));
}

void
graph_heap_push(GraphHeap *h, GraphCost key, int32 hops, int32 node)
{
	GraphHeapItem it;
	int64		i;

	if (h->size >= h->cap)
	{
		h->cap *= 2;
		h->items = repalloc_huge(h->items, h->cap * sizeof(GraphHeapItem));
	}
	it.key = key;
	it.hops = hops;
	it.node = node;
	i = h->size++;
	while (i > 0)
	{
		int64		parent = (i - 1) >> 2;

		if (!item_less(h, &it, &h->items[parent]))
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i] = it;
}

bool
graph_heap_pop(GraphHeap *h, GraphHeapItem *out)
{
	GraphHeapItem last;
	GraphHeapItem *items = h->items;
	int64		i = 0;
	int64		size;

	if (h->size == 0)
		return false;
	*out = items[0];
	size = --h->size;
	if (size == 0)
		return true;
	last = items[size];
	for (;;)
	{
		int64		first = 4 * i + 1;
		int64		best;
		int64		end;

		if (first >= size)
			break;
		best = first;
		end = Min(first + 4, size);
		for (int64 c = first + 1; c < end; c++)
			if (item_less(h, &items[c], &items[best]))
				best = c;
		if (!item_less(h, &items[best], &last))
			break;
		items[i] = items[best];
		i = best;
	}
	items[i] = last;
	return true;
}

void
graph_heap_free(GraphHeap *h)
{
	if (h->items)
		pfree(h->items);
	h->items = NULL;
	h->size = h->cap = 0;
}
