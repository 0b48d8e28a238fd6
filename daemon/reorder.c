/*
 * The reorder buffer: a binary min-heap on (event time, arrival order). The
 * arrival sequence makes the order total, so posts with the same time come
 * out in the order they came in, and a replay gives the same result every
 * run.
 */
#include <stdlib.h>

#include "reorder.h"
#include "xmalloc.h"

struct held {
	int64_t at;
	uint64_t seq;
	void *item;
};

struct reorder {
	struct held *heap;
	size_t n, cap;
	uint64_t seq;
};

/* Does a come out before b? */
static int
before(const struct held *a, const struct held *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* Creates an empty buffer. */
struct reorder *
reorder_new(void)
{
	return xcalloc(1, sizeof(struct reorder));
}

/* Frees the buffer; the items still held go to free_item. */
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

/* Adds an item, sifting the hole up from the end. */
void
reorder_push(struct reorder *r, int64_t at, void *item)
{
	struct held h = {at, r->seq++, item};
	size_t i;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->heap = xreallocarray(r->heap, r->cap, sizeof *r->heap);
	}
	for (i = r->n++; i > 0 && before(&h, &r->heap[(i - 1) / 2]); i = (i - 1) / 2)
		r->heap[i] = r->heap[(i - 1) / 2];
	r->heap[i] = h;
}

/* Takes the earliest item if its time has come, sifting the last one down. */
void *
reorder_pop(struct reorder *r, int64_t upto)
{
	struct held last;
	void *item;
	size_t i = 0;

	if (r->n == 0 || r->heap[0].at > upto)
		return NULL;
	item = r->heap[0].item;
	last = r->heap[--r->n];
	for (;;) {
		size_t m = 2 * i + 1;

		if (m >= r->n)
			break;
		if (m + 1 < r->n && before(&r->heap[m + 1], &r->heap[m]))
			m++;
		if (!before(&r->heap[m], &last))
			break;
		r->heap[i] = r->heap[m];
		i = m;
	}
	if (r->n > 0)
		r->heap[i] = last;
	return item;
}

/* Time of the earliest item; the caller checks reorder_len first. */
int64_t
reorder_peek_time(const struct reorder *r)
{
	return r->heap[0].at;
}

/* Number of items held. */
size_t
reorder_len(const struct reorder *r)
{
	return r->n;
}
