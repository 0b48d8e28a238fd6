/* The reorder buffer: a binary min-heap on (event time, arrival order). */
#include <stdlib.h>

#include "reorder.h"
#include "xmalloc.h"

struct slot {
	int64_t at;
	uint64_t seq;
	void *item;
};

struct reorder {
	struct slot *heap;
	size_t n, cap;
	uint64_t seq;
};

/* Does a come out before b? */
static int
before(const struct slot *a, const struct slot *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

struct reorder *
reorder_new(void)
{
	return xcalloc(1, sizeof(struct reorder));
}

void
reorder_free(struct reorder *r, void (*free_item)(void *))
{
	if (r == NULL)
		return;
	for (size_t i = 0; free_item != NULL && i < r->n; i++)
		free_item(r->heap[i].item);
	free(r->heap);
	free(r);
}

void
reorder_push(struct reorder *r, int64_t at, void *item)
{
	size_t i;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->heap = xreallocarray(r->heap, r->cap, sizeof *r->heap);
	}
	i = r->n++;
	r->heap[i] = (struct slot){at, r->seq++, item};
	while (i > 0 && before(&r->heap[i], &r->heap[(i - 1) / 2])) {
		struct slot t = r->heap[i];

		r->heap[i] = r->heap[(i - 1) / 2];
		r->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

void *
reorder_pop(struct reorder *r, int64_t upto)
{
	void *item;
	size_t i = 0;

	if (r->n == 0 || r->heap[0].at > upto)
		return NULL;
	item = r->heap[0].item;
	r->heap[0] = r->heap[--r->n];
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < r->n && before(&r->heap[l], &r->heap[m]))
			m = l;
		if (l + 1 < r->n && before(&r->heap[l + 1], &r->heap[m]))
			m = l + 1;
		if (m == i)
			break;
		struct slot t = r->heap[i];
		r->heap[i] = r->heap[m];
		r->heap[m] = t;
		i = m;
	}
	return item;
}

int64_t
reorder_peek_time(const struct reorder *r)
{
	return r->heap[0].at;
}

size_t
reorder_len(const struct reorder *r)
{
	return r->n;
}
