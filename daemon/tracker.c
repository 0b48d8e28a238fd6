/*
 * The case tracker. Pure: posts and the watermark come in, findings go out
 * through the callback.
 *
 * Invariants:
 * - Every held case is in the case table and in the due heap exactly once.
 *   Its due time is its deadline while deflected (the watermark passing it
 *   makes the case unresolved) and deadline + retention while unresolved
 *   (passing that forgets the case).
 * - A case that closes (resolved, resolved_late) leaves both at once, after
 *   its finding was delivered.
 * - Remembered posts sit in the post table and on a FIFO in feed order; the
 *   FIFO's head is the oldest, so forgetting walks from the head.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracker.h"
#include "xmalloc.h"

/* Separates the parts of a table key; never in a handle or an id. */
#define KEY_SEP '\x1f'

/*
 * An open-addressing table (linear probing, backward-shift deletion) from a
 * string key to a value that owns the key. Serves both cases and posts.
 */
struct slot {
	uint64_t hash; /* 0 = empty */
	const char *key;
	void *val;
};

struct table {
	struct slot *slots;
	size_t cap; /* a power of two */
	size_t n;
};

struct icase {
	struct tcase pub;
	char *key;
	size_t heap;   /* index in the due heap */
	int64_t due;
	uint64_t seq;  /* creation order, breaks ties */
};

struct mpost {
	struct mpost *next; /* FIFO */
	int64_t at;
	int is_brand;
	char *key;
	char *author;
	char *customer; /* of a brand post; NULL when unknown or for a customer post */
	char *brand;
};

struct tracker {
	struct tracker_config cfg;
	struct brand_window *windows; /* owned copies */
	finding_fn fn;
	void *arg;
	struct table cases;
	struct table posts;
	struct icase **heap;
	size_t nheap, capheap;
	struct mpost *head, *tail;
	uint64_t seq;
	int64_t watermark;
	int have_watermark;
	struct tracker_stats st;
};

static const char *finding_names[FINDING_TYPES] = {"deflection", "repeat_deflection",
    "escalation", "resolution", "unresolved", "resolved_late"};
static const char *state_names[] = {"deflected", "resolved", "unresolved", "resolved_late"};

const char *
finding_type_name(enum finding_type t)
{
	return t < FINDING_TYPES ? finding_names[t] : "?";
}

const char *
case_state_name(enum case_state s)
{
	return s <= CASE_RESOLVED_LATE ? state_names[s] : "?";
}

/* FNV-1a, never 0 so that 0 can mark an empty slot. */
static uint64_t
hash_key(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 0x100000001b3ULL;
	return h ? h : 1;
}

static struct slot *
table_find(const struct table *t, const char *key, uint64_t h)
{
	if (t->cap == 0)
		return NULL;
	for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct slot *s = &t->slots[i];

		if (s->hash == 0)
			return NULL;
		if (s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
}

static void *
table_get(const struct table *t, const char *key)
{
	struct slot *s = table_find(t, key, hash_key(key));

	return s ? s->val : NULL;
}

/* Inserts a key known to be absent; the value owns the key. */
static void
table_put(struct table *t, const char *key, void *val)
{
	uint64_t h = hash_key(key);

	if ((t->n + 1) * 2 > t->cap) {
		struct table bigger = {NULL, t->cap ? t->cap * 2 : 64, 0};

		bigger.slots = xcalloc(bigger.cap, sizeof *bigger.slots);
		for (size_t i = 0; i < t->cap; i++) {
			struct slot *s = &t->slots[i];

			if (s->hash == 0)
				continue;
			size_t j = s->hash & (bigger.cap - 1);
			while (bigger.slots[j].hash != 0)
				j = (j + 1) & (bigger.cap - 1);
			bigger.slots[j] = *s;
		}
		free(t->slots);
		bigger.n = t->n;
		*t = bigger;
	}
	size_t i = h & (t->cap - 1);
	while (t->slots[i].hash != 0)
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = (struct slot){h, key, val};
	t->n++;
}

/* Removes a key, shifting later entries of its probe run back. */
static void
table_del(struct table *t, const char *key)
{
	struct slot *s = table_find(t, key, hash_key(key));
	size_t i, j, mask = t->cap - 1;

	if (s == NULL)
		return;
	i = (size_t)(s - t->slots);
	for (j = (i + 1) & mask; t->slots[j].hash != 0; j = (j + 1) & mask) {
		size_t home = t->slots[j].hash & mask;

		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].hash = 0;
	t->n--;
}

/* Does a fall due before b? */
static int
due_before(const struct icase *a, const struct icase *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_set(struct tracker *t, size_t i, struct icase *c)
{
	t->heap[i] = c;
	c->heap = i;
}

static void
heap_up(struct tracker *t, size_t i)
{
	struct icase *c = t->heap[i];

	while (i > 0 && due_before(c, t->heap[(i - 1) / 2])) {
		heap_set(t, i, t->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(t, i, c);
}

static void
heap_down(struct tracker *t, size_t i)
{
	struct icase *c = t->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = l;

		if (l >= t->nheap)
			break;
		if (l + 1 < t->nheap && due_before(t->heap[l + 1], t->heap[l]))
			m = l + 1;
		if (!due_before(t->heap[m], c))
			break;
		heap_set(t, i, t->heap[m]);
		i = m;
	}
	heap_set(t, i, c);
}

static void
heap_push(struct tracker *t, struct icase *c)
{
	if (t->nheap == t->capheap) {
		t->capheap = t->capheap ? t->capheap * 2 : 64;
		t->heap = xreallocarray(t->heap, t->capheap, sizeof *t->heap);
	}
	t->heap[t->nheap++] = c;
	heap_up(t, t->nheap - 1);
}

static void
heap_remove(struct tracker *t, struct icase *c)
{
	size_t i = c->heap;
	struct icase *last = t->heap[--t->nheap];

	if (i == t->nheap)
		return;
	heap_set(t, i, last);
	heap_up(t, i);
	heap_down(t, last->heap);
}

/* Builds "a\x1fb\x1fc" with c lowercased: a case key. */
static char *
case_key(const char *platform, const char *conv, const char *customer)
{
	char *k = xasprintf("%s%c%s%c%s", platform, KEY_SEP, conv, KEY_SEP, customer);

	for (char *p = k + strlen(platform) + strlen(conv) + 2; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

static void
case_free(struct icase *c)
{
	free(c->pub.platform);
	free(c->pub.conversation_id);
	free(c->pub.customer);
	free(c->pub.brand);
	free(c->pub.post_id);
	free(c->pub.rule);
	free(c->key);
	free(c);
}

/* Delivers one finding about case c. */
static void
emit(struct tracker *t, enum finding_type type, int64_t at, const struct icase *c,
    const char *post_id, const char *rule, size_t start, size_t end)
{
	struct finding f = {type, at, &c->pub, post_id, rule, start, end};

	t->st.findings[type]++;
	t->fn(t->arg, &f);
}

/* Takes a case out of the tracker and frees it. */
static void
case_drop(struct tracker *t, struct icase *c)
{
	if (c->pub.state == CASE_DEFLECTED)
		t->st.open--;
	else if (c->pub.state == CASE_UNRESOLVED)
		t->st.unresolved--;
	table_del(&t->cases, c->key);
	heap_remove(t, c);
	case_free(c);
}

/* Adds a case (state, times and counts already set) to the table and heap. */
static void
case_hold(struct tracker *t, struct icase *c)
{
	c->seq = t->seq++;
	if (c->pub.state == CASE_DEFLECTED) {
		c->due = c->pub.deadline;
		t->st.open++;
	} else {
		c->due = c->pub.deadline + t->cfg.retention;
		t->st.unresolved++;
	}
	table_put(&t->cases, c->key, c);
	heap_push(t, c);
}

/* The window for a new case: the rule's, else the brand's, else the default. */
static int64_t
window_for(const struct tracker *t, const struct verdict *v, const char *brand)
{
	if (v->window > 0)
		return v->window;
	for (size_t i = 0; brand != NULL && i < t->cfg.nbrand_windows; i++)
		if (t->windows[i].window > 0 && strcmp(t->windows[i].brand, brand) == 0)
			return t->windows[i].window;
	return t->cfg.window;
}

struct tracker *
tracker_new(const struct tracker_config *cfg, finding_fn fn, void *arg)
{
	struct tracker *t = xcalloc(1, sizeof *t);

	t->cfg = *cfg;
	t->windows = xcalloc(cfg->nbrand_windows, sizeof *t->windows);
	for (size_t i = 0; i < cfg->nbrand_windows; i++) {
		t->windows[i].brand = xstrdup(cfg->brand_windows[i].brand);
		t->windows[i].window = cfg->brand_windows[i].window;
	}
	t->cfg.brand_windows = t->windows;
	t->fn = fn;
	t->arg = arg;
	return t;
}

void
tracker_free(struct tracker *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nheap; i++)
		case_free(t->heap[i]);
	free(t->heap);
	free(t->cases.slots);
	while (t->head != NULL) {
		struct mpost *next = t->head->next;

		free(t->head);
		t->head = next;
	}
	free(t->posts.slots);
	for (size_t i = 0; i < t->cfg.nbrand_windows; i++)
		free((char *)t->windows[i].brand);
	free(t->windows);
	free(t);
}

/* Remembers a post's author, role, customer and brand, in one allocation. */
static void
remember(struct tracker *t, const struct tracker_post *p, const char *customer,
    const char *brand)
{
	size_t lk = strlen(p->platform) + 1 + strlen(p->id) + 1, la = strlen(p->author) + 1;
	size_t lc = customer ? strlen(customer) + 1 : 0, lb = brand ? strlen(brand) + 1 : 0;
	struct mpost *m = xmalloc(sizeof *m + lk + la + lc + lb);
	char *s = (char *)(m + 1);

	m->next = NULL;
	m->at = p->at;
	m->is_brand = p->is_brand;
	m->key = s;
	s += snprintf(s, lk, "%s%c%s", p->platform, KEY_SEP, p->id) + 1;
	m->author = memcpy(s, p->author, la);
	s += la;
	m->customer = customer ? memcpy(s, customer, lc) : NULL;
	s += lc;
	m->brand = brand ? memcpy(s, brand, lb) : NULL;
	table_put(&t->posts, m->key, m);
	if (t->tail != NULL)
		t->tail->next = m;
	else
		t->head = m;
	t->tail = m;
}

/* Looks up a remembered post by platform and id. */
static struct mpost *
recall(const struct tracker *t, const char *platform, const char *id)
{
	char *k;
	struct mpost *m;

	if (id == NULL || t->posts.n == 0)
		return NULL;
	k = xasprintf("%s%c%s", platform, KEY_SEP, id);
	m = table_get(&t->posts, k);
	free(k);
	return m;
}

int
tracker_seen(const struct tracker *t, const char *platform, const char *id)
{
	return recall(t, platform, id) != NULL;
}

/* Looks up the case of (platform, conversation, customer). */
static struct icase *
find_case(const struct tracker *t, const struct tracker_post *p, const char *customer)
{
	char *k;
	struct icase *c;

	if (customer == NULL || t->cases.n == 0)
		return NULL;
	k = case_key(p->platform, p->conversation_id, customer);
	c = table_get(&t->cases, k);
	free(k);
	return c;
}

/* Opens a case on a brand's deflection. */
static void
open_case(struct tracker *t, const struct tracker_post *p, const char *customer,
    const char *brand)
{
	const struct verdict *v = &p->v[RULE_DEFLECTION];
	struct icase *c = xcalloc(1, sizeof *c);

	c->key = case_key(p->platform, p->conversation_id, customer);
	c->pub.platform = xstrdup(p->platform);
	c->pub.conversation_id = xstrdup(p->conversation_id);
	c->pub.customer = xstrdup(customer);
	c->pub.brand = xstrdup(brand ? brand : p->author);
	c->pub.state = CASE_DEFLECTED;
	c->pub.deflected_at = p->at;
	c->pub.deadline = p->at + window_for(t, v, c->pub.brand);
	c->pub.post_id = xstrdup(p->id);
	c->pub.rule = xstrdup(v->rule);
	c->pub.start = v->start;
	c->pub.end = v->end;
	case_hold(t, c);
	emit(t, FINDING_DEFLECTION, p->at, c, p->id, v->rule, v->start, v->end);
}

/* Closes a case on public resolution evidence. */
static void
resolve(struct tracker *t, struct icase *c, const struct tracker_post *p)
{
	const struct verdict *v = &p->v[RULE_RESOLUTION];
	int late = c->pub.state == CASE_UNRESOLVED;

	c->pub.resolved_at = p->at;
	c->pub.state = late ? CASE_RESOLVED_LATE : CASE_RESOLVED;
	/* case_drop counts by state: restore the one it was held in. */
	emit(t, late ? FINDING_RESOLVED_LATE : FINDING_RESOLUTION, p->at, c, p->id, v->rule,
	    v->start, v->end);
	c->pub.state = late ? CASE_UNRESOLVED : CASE_DEFLECTED;
	case_drop(t, c);
}

void
tracker_post(struct tracker *t, const struct tracker_post *p)
{
	const struct verdict *v = p->v;
	struct mpost *parent = recall(t, p->platform, p->in_reply_to_id);
	const char *customer = NULL, *brand = p->brand;
	struct icase *c;

	t->st.posts++;
	if (brand == NULL && parent != NULL)
		brand = parent->brand;
	if (p->is_brand) {
		if (brand == NULL)
			brand = p->author;
		if (parent != NULL && !parent->is_brand)
			customer = parent->author;
		else if (parent != NULL && parent->customer != NULL)
			customer = parent->customer;
		else
			customer = p->mention;
		c = find_case(t, p, customer);
		if (v[RULE_RESOLUTION].rule != NULL) {
			if (c != NULL)
				resolve(t, c, p);
		} else if (v[RULE_DEFLECTION].rule != NULL) {
			if (c != NULL) {
				c->pub.repeats++;
				emit(t, FINDING_REPEAT_DEFLECTION, p->at, c, p->id,
				    v[RULE_DEFLECTION].rule, v[RULE_DEFLECTION].start,
				    v[RULE_DEFLECTION].end);
			} else if (customer != NULL) {
				open_case(t, p, customer, brand);
			} else {
				t->st.no_customer++;
			}
		}
	} else if ((c = find_case(t, p, p->author)) != NULL) {
		if (brand == NULL)
			brand = c->pub.brand;
		if (v[RULE_RESOLUTION].rule != NULL) {
			resolve(t, c, p);
		} else if (v[RULE_ESCALATION].rule != NULL) {
			c->pub.escalations++;
			emit(t, FINDING_ESCALATION, p->at, c, p->id, v[RULE_ESCALATION].rule,
			    v[RULE_ESCALATION].start, v[RULE_ESCALATION].end);
		}
	}
	if (recall(t, p->platform, p->id) == NULL)
		remember(t, p, p->is_brand ? customer : NULL, brand);
}

/* Turns a deflected case whose window passed into an unresolved one. */
static void
expire(struct tracker *t, struct icase *c)
{
	c->pub.state = CASE_UNRESOLVED;
	t->st.open--;
	t->st.unresolved++;
	c->due = c->pub.deadline + t->cfg.retention;
	heap_down(t, c->heap);
	emit(t, FINDING_UNRESOLVED, c->pub.deadline, c, c->pub.post_id, c->pub.rule,
	    c->pub.start, c->pub.end);
}

void
tracker_advance(struct tracker *t, int64_t watermark)
{
	if (t->have_watermark && watermark <= t->watermark)
		return;
	t->watermark = watermark;
	t->have_watermark = 1;
	while (t->nheap > 0 && t->heap[0]->due < watermark) {
		struct icase *c = t->heap[0];

		if (c->pub.state == CASE_DEFLECTED)
			expire(t, c);
		else
			case_drop(t, c);
	}
	while (t->head != NULL && t->head->at < watermark - t->cfg.retention) {
		struct mpost *m = t->head;

		t->head = m->next;
		if (t->head == NULL)
			t->tail = NULL;
		table_del(&t->posts, m->key);
		free(m);
	}
}

/* qsort comparator: deflected cases in due order. */
static int
cmp_due(const void *a, const void *b)
{
	const struct icase *x = *(struct icase *const *)a, *y = *(struct icase *const *)b;

	return due_before(x, y) ? -1 : due_before(y, x) ? 1 : 0;
}

void
tracker_drain(struct tracker *t)
{
	struct icase **open = xcalloc(t->nheap, sizeof *open);
	size_t n = 0;

	for (size_t i = 0; i < t->nheap; i++)
		if (t->heap[i]->pub.state == CASE_DEFLECTED)
			open[n++] = t->heap[i];
	qsort(open, n, sizeof *open, cmp_due);
	for (size_t i = 0; i < n; i++)
		expire(t, open[i]);
	free(open);
}

void
tracker_restore(struct tracker *t, const struct tcase *src)
{
	struct icase *c = xcalloc(1, sizeof *c);
	char *k = case_key(src->platform, src->conversation_id, src->customer);

	/* A case restored twice replaces the first copy. */
	struct icase *old = table_get(&t->cases, k);
	if (old != NULL)
		case_drop(t, old);
	c->key = k;
	c->pub = *src;
	c->pub.platform = xstrdup(src->platform);
	c->pub.conversation_id = xstrdup(src->conversation_id);
	c->pub.customer = xstrdup(src->customer);
	c->pub.brand = xstrdup(src->brand);
	c->pub.post_id = xstrdup(src->post_id);
	c->pub.rule = xstrdup(src->rule);
	if (c->pub.state != CASE_UNRESOLVED)
		c->pub.state = CASE_DEFLECTED;
	case_hold(t, c);
}

void
tracker_foreach(struct tracker *t, void (*fn)(void *arg, const struct tcase *c), void *arg)
{
	for (size_t i = 0; i < t->nheap; i++)
		fn(arg, &t->heap[i]->pub);
}

void
tracker_stats(const struct tracker *t, struct tracker_stats *st)
{
	*st = t->st;
}
