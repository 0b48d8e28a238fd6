/*
 * The case tracker. Pure: posts and the watermark come in, findings go out
 * through the callback, which must not call back into the tracker.
 *
 * Invariants:
 * - Every held case (deflected or unresolved) is in the case table and in
 *   the due heap exactly once. Its due time is its deadline while deflected
 *   (the watermark passing it makes the case unresolved) and deadline +
 *   retention while unresolved (passing that forgets the case). Heap ties
 *   fall to creation order, so deadlines that coincide fire in the order
 *   their cases opened.
 * - A case that closes (resolved, resolved_late) leaves the table and the
 *   heap right after its finding was delivered; the callback sees the new
 *   state.
 * - stats.open and stats.unresolved count held cases by state and change
 *   only together with a state change or with a case entering or leaving.
 * - Remembered posts sit in the post table and on a FIFO in feed order. Posts
 *   are fed in event-time order, so the FIFO's head is the oldest and
 *   forgetting walks from the head.
 * - A case and a remembered post are each one allocation: the struct, then
 *   its table key, then its other strings. The tables find a value's key at
 *   a fixed offset (the struct's size), so no slot or struct spends a
 *   pointer on it.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracker.h"
#include "xmalloc.h"

/* Separates the parts of a table key; never in a handle or an id. */
#define KEY_SEP '\x1f'

/* Keys up to this long are built on the stack, so lookups do not allocate. */
#define KEY_SMALL 192

/*
 * An open-addressing table (linear probing, backward-shift deletion, at most
 * half full) from a string key to a value that holds the key keyoff bytes
 * in. Serves both cases and posts.
 */
struct slot {
	uint64_t hash; /* 0 = empty */
	void *val;
};

struct table {
	struct slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t n;
	size_t keyoff;
};

/* A lookup key: parts joined by KEY_SEP, on the stack when short. */
struct key {
	char *s;
	size_t len;
	uint64_t hash;
	char small[KEY_SMALL];
};

struct icase {
	struct tcase pub;
	size_t heap;  /* index in the due heap */
	uint64_t seq; /* creation order, breaks ties */
	/* the key and the strings of pub follow */
};

struct mpost {
	struct mpost *next; /* FIFO, oldest first */
	int64_t at;
	const char *author;
	const char *customer; /* of a brand post; NULL if unknown or a customer's post */
	const char *brand;    /* NULL when unknown */
	const char *conversation; /* NULL when it is the post's own id */
	int is_brand;
	/* the key and the strings above follow */
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
static const char *state_names[] = {"deflected", "resolved", "unresolved", "resolved_late",
    "closed"};

/* Names a finding type the way alerts and logs spell it. */
const char *
finding_type_name(enum finding_type t)
{
	return (unsigned)t < FINDING_TYPES ? finding_names[t] : "?";
}

/* Names a case state the way alerts and the store spell it. */
const char *
case_state_name(enum case_state s)
{
	return (unsigned)s <= CASE_CLOSED ? state_names[s] : "?";
}

/* Adds without wrapping, so a huge window or retention means "never". */
static int64_t
add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/* FNV-1a with a final mix, so the low bits the table masks with are spread; never 0. */
static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

/* Builds the key a, b[, lower-cased c] into k; key_done releases it. */
static void
key_make(struct key *k, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = c != NULL ? strlen(c) : 0;
	char *s;

	k->len = la + 1 + lb + (c != NULL ? 1 + lc : 0);
	k->s = k->len < sizeof k->small ? k->small : xmalloc(k->len + 1);
	s = k->s;
	memcpy(s, a, la);
	s += la;
	*s++ = KEY_SEP;
	memcpy(s, b, lb);
	s += lb;
	if (c != NULL) {
		*s++ = KEY_SEP;
		for (size_t i = 0; i < lc; i++)
			*s++ = (char)tolower((unsigned char)c[i]);
	}
	*s = '\0';
	k->hash = hash_bytes(k->s, k->len);
}

/* Frees a key that did not fit on the stack. */
static void
key_done(struct key *k)
{
	if (k->s != k->small)
		free(k->s);
}

/* The key a table value holds. */
static const char *
table_key(const struct table *t, const void *val)
{
	return (const char *)val + t->keyoff;
}

/* Finds the value with key k, or NULL. */
static void *
table_get(const struct table *t, const struct key *k)
{
	size_t mask = t->cap - 1;

	if (t->n == 0)
		return NULL;
	for (size_t i = k->hash & mask;; i = (i + 1) & mask) {
		const struct slot *s = &t->slots[i];

		if (s->hash == 0)
			return NULL;
		if (s->hash == k->hash && strcmp(table_key(t, s->val), k->s) == 0)
			return s->val;
	}
}

/* Puts a value into the first free slot of its probe run; there is one. */
static void
table_place(struct slot *slots, size_t cap, uint64_t hash, void *val)
{
	size_t i = hash & (cap - 1);

	while (slots[i].hash != 0)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].val = val;
}

/* Inserts a value whose key (with this hash) is known to be absent. */
static void
table_put(struct table *t, uint64_t hash, void *val)
{
	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct slot *slots = xcalloc(cap, sizeof *slots);

		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i].hash != 0)
				table_place(slots, cap, t->slots[i].hash, t->slots[i].val);
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	table_place(t->slots, t->cap, hash, val);
	t->n++;
}

/* Removes a value known to be in the table, shifting its probe run back. */
static void
table_del(struct table *t, const void *val)
{
	const char *key = table_key(t, val);
	size_t mask = t->cap - 1, i, j;

	i = hash_bytes(key, strlen(key)) & mask;
	while (t->slots[i].val != val)
		i = (i + 1) & mask;
	for (j = (i + 1) & mask; t->slots[j].hash != 0; j = (j + 1) & mask) {
		size_t home = t->slots[j].hash & mask;

		/* j may fill the hole at i unless its home lies cyclically in (i, j]. */
		if (i < j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i].hash = 0;
	t->slots[i].val = NULL;
	t->n--;
}

/* When a held case next needs attention: expiry, or being forgotten. */
static int64_t
case_due(const struct tracker *t, const struct icase *c)
{
	if (c->pub.state == CASE_DEFLECTED)
		return c->pub.deadline;
	return add_sat(c->pub.deadline, t->cfg.retention);
}

/* Does a fall due before b? */
static int
due_before(const struct tracker *t, const struct icase *a, const struct icase *b)
{
	int64_t da = case_due(t, a), db = case_due(t, b);

	return da < db || (da == db && a->seq < b->seq);
}

/* Stores c at heap index i and tells c where it is. */
static void
heap_set(struct tracker *t, size_t i, struct icase *c)
{
	t->heap[i] = c;
	c->heap = i;
}

/* Moves the case at i towards the root while it falls due before its parent. */
static void
heap_up(struct tracker *t, size_t i)
{
	struct icase *c = t->heap[i];

	while (i > 0 && due_before(t, c, t->heap[(i - 1) / 2])) {
		heap_set(t, i, t->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(t, i, c);
}

/* Moves the case at i towards the leaves while a child falls due before it. */
static void
heap_down(struct tracker *t, size_t i)
{
	struct icase *c = t->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = l;

		if (l >= t->nheap)
			break;
		if (l + 1 < t->nheap && due_before(t, t->heap[l + 1], t->heap[l]))
			m = l + 1;
		if (!due_before(t, t->heap[m], c))
			break;
		heap_set(t, i, t->heap[m]);
		i = m;
	}
	heap_set(t, i, c);
}

/* Adds a case to the due heap. */
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

/* Takes any case out of the due heap in O(log n), thanks to its stored index. */
static void
heap_remove(struct tracker *t, struct icase *c)
{
	size_t i = c->heap;
	struct icase *last = t->heap[--t->nheap];

	if (last == c)
		return;
	heap_set(t, i, last);
	heap_up(t, i);
	heap_down(t, last->heap);
}

/* Copies s (NULL as "") to *cur and advances it; returns the copy. */
static char *
put_str(char **cur, const char *s)
{
	char *d = *cur;
	size_t n = s != NULL ? strlen(s) + 1 : 1;

	memcpy(d, s != NULL ? s : "", n);
	*cur += n;
	return d;
}

/*
 * Allocates a case, its key and its strings in one block; the caller fills
 * in the rest and holds it with case_hold.
 */
static struct icase *
case_new(const struct key *k, const char *platform, const char *conv, const char *customer,
    const char *brand, const char *post_id, const char *rule)
{
	const char *strs[] = {platform, conv, customer, brand, post_id, rule};
	size_t size = sizeof(struct icase) + k->len + 1;
	struct icase *c;
	char *cur;

	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		size += (strs[i] != NULL ? strlen(strs[i]) : 0) + 1;
	c = xcalloc(1, size);
	cur = (char *)(c + 1);
	memcpy(cur, k->s, k->len + 1);
	cur += k->len + 1;
	c->pub.platform = put_str(&cur, platform);
	c->pub.conversation_id = put_str(&cur, conv);
	c->pub.customer = put_str(&cur, customer);
	c->pub.brand = put_str(&cur, brand);
	c->pub.post_id = put_str(&cur, post_id);
	c->pub.rule = put_str(&cur, rule);
	return c;
}

/* Counts a held case in or out of the stats for its state. */
static void
case_count(struct tracker *t, const struct icase *c, int in)
{
	uint64_t *n = c->pub.state == CASE_DEFLECTED ? &t->st.open : &t->st.unresolved;

	if (in)
		(*n)++;
	else
		(*n)--;
}

/* Makes a new case (state, times and counts set) held: table, heap, stats. */
static void
case_hold(struct tracker *t, struct icase *c, const struct key *k)
{
	c->seq = t->seq++;
	case_count(t, c, 1);
	table_put(&t->cases, k->hash, c);
	heap_push(t, c);
}

/* Takes a case out of the table and heap and frees it; stats are the caller's. */
static void
case_unhold(struct tracker *t, struct icase *c)
{
	table_del(&t->cases, c);
	heap_remove(t, c);
	free(c);
}

/* Delivers one finding about case c. */
static void
emit(struct tracker *t, enum finding_type type, int64_t at, const struct icase *c,
    const char *post_id, const struct verdict *v)
{
	struct finding f = {type, at, &c->pub, post_id, v->rule, v->start, v->end};

	t->st.findings[type]++;
	t->fn(t->arg, &f);
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

/* Takes a copy of cfg, brand windows included, dropping the old one. */
static void
set_config(struct tracker *t, const struct tracker_config *cfg)
{
	for (size_t i = 0; i < t->cfg.nbrand_windows; i++)
		free((char *)t->windows[i].brand);
	free(t->windows);
	t->cfg = *cfg;
	t->windows = xcalloc(cfg->nbrand_windows, sizeof *t->windows);
	for (size_t i = 0; i < cfg->nbrand_windows; i++) {
		t->windows[i].brand = xstrdup(cfg->brand_windows[i].brand);
		t->windows[i].window = cfg->brand_windows[i].window;
	}
	t->cfg.brand_windows = t->windows;
}

/* Creates a tracker; the brand windows are copied, fn is called with arg. */
struct tracker *
tracker_new(const struct tracker_config *cfg, finding_fn fn, void *arg)
{
	struct tracker *t = xcalloc(1, sizeof *t);

	set_config(t, cfg);
	t->fn = fn;
	t->arg = arg;
	t->cases.keyoff = sizeof(struct icase);
	t->posts.keyoff = sizeof(struct mpost);
	return t;
}

/* New windows and retention apply to cases opened from now on. */
void
tracker_set_config(struct tracker *t, const struct tracker_config *cfg)
{
	set_config(t, cfg);
}

/* Frees the tracker with every case and remembered post; no findings fire. */
void
tracker_free(struct tracker *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nheap; i++)
		free(t->heap[i]);
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

/* Remembers a post under key k: its author, role, customer and brand, in one block. */
static void
remember(struct tracker *t, const struct key *k, const struct tracker_post *p,
    const char *customer, const char *brand)
{
	size_t size = sizeof(struct mpost) + k->len + 1 + strlen(p->author) + 1;
	struct mpost *m;
	char *cur;

	int own = strcmp(p->conversation_id, p->id) == 0;

	size += customer != NULL ? strlen(customer) + 1 : 0;
	size += brand != NULL ? strlen(brand) + 1 : 0;
	size += own ? 0 : strlen(p->conversation_id) + 1;
	m = xmalloc(size);
	cur = (char *)(m + 1);
	memcpy(cur, k->s, k->len + 1);
	cur += k->len + 1;
	m->next = NULL;
	m->at = p->at;
	m->is_brand = p->is_brand;
	m->author = put_str(&cur, p->author);
	m->customer = customer != NULL ? put_str(&cur, customer) : NULL;
	m->brand = brand != NULL ? put_str(&cur, brand) : NULL;
	m->conversation = own ? NULL : put_str(&cur, p->conversation_id);
	table_put(&t->posts, k->hash, m);
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
	struct key k;
	struct mpost *m;

	if (id == NULL || t->posts.n == 0)
		return NULL;
	key_make(&k, platform, id, NULL);
	m = table_get(&t->posts, &k);
	key_done(&k);
	return m;
}

/* Answers whether a post was fed within the retention, so callers can drop duplicates. */
int
tracker_seen(const struct tracker *t, const char *platform, const char *id)
{
	return recall(t, platform, id) != NULL;
}

/* Looks up the case of (platform, conversation, customer). */
static struct icase *
find_case(const struct tracker *t, const struct tracker_post *p, const char *customer)
{
	struct key k;
	struct icase *c;

	if (t->cases.n == 0)
		return NULL;
	key_make(&k, p->platform, p->conversation_id, customer);
	c = table_get(&t->cases, &k);
	key_done(&k);
	return c;
}

/* Opens a case on a brand's deflection of customer. */
static void
open_case(struct tracker *t, const struct tracker_post *p, const char *customer,
    const char *brand)
{
	const struct verdict *v = &p->v[RULE_DEFLECTION];
	struct icase *c;
	struct key k;

	key_make(&k, p->platform, p->conversation_id, customer);
	c = case_new(&k, p->platform, p->conversation_id, customer, brand, p->id, v->rule);
	c->pub.state = CASE_DEFLECTED;
	c->pub.deflected_at = p->at;
	c->pub.deadline = add_sat(p->at, window_for(t, v, brand));
	c->pub.start = v->start;
	c->pub.end = v->end;
	case_hold(t, c, &k);
	key_done(&k);
	emit(t, FINDING_DEFLECTION, p->at, c, p->id, v);
}

/* Closes a case on public resolution evidence: on time or late. */
static void
resolve(struct tracker *t, struct icase *c, const struct tracker_post *p)
{
	int late = c->pub.state == CASE_UNRESOLVED;

	case_count(t, c, 0);
	c->pub.resolved_at = p->at;
	c->pub.state = late ? CASE_RESOLVED_LATE : CASE_RESOLVED;
	emit(t, late ? FINDING_RESOLVED_LATE : FINDING_RESOLUTION, p->at, c, p->id,
	    &p->v[RULE_RESOLUTION]);
	case_unhold(t, c);
}

/*
 * The customer a brand post speaks to: the author of a customer post it
 * replies to, else the customer of a brand post it replies to (a reply in
 * several parts), else the first customer it mentions.
 */
static const char *
brand_post_customer(const struct tracker_post *p, const struct mpost *parent)
{
	if (parent != NULL && !parent->is_brand)
		return parent->author;
	if (parent != NULL && parent->customer != NULL)
		return parent->customer;
	return p->mention;
}

/*
 * Feeds one post. Within a post, resolution evidence beats an escalation,
 * which beats a deflection; resolution or escalation with no case to act on
 * does nothing, so a resolution-and-deflection post opens no case.
 */
void
tracker_post(struct tracker *t, const struct tracker_post *p)
{
	struct mpost *parent = recall(t, p->platform, p->in_reply_to_id);
	struct tracker_post joined;

	/* A reply that did not say its conversation joins its parent's. */
	if (p->conversation_implied && parent != NULL) {
		joined = *p;
		joined.conversation_id = parent->conversation ? parent->conversation :
		    p->in_reply_to_id;
		p = &joined;
	}
	const struct verdict *v = p->v;
	const char *customer, *brand = p->brand;
	struct icase *c = NULL;
	struct key k;

	t->st.posts++;
	if (brand == NULL && p->is_brand)
		brand = p->author;
	if (brand == NULL && parent != NULL)
		brand = parent->brand;
	customer = p->is_brand ? brand_post_customer(p, parent) : p->author;

	/* A post without a verdict only needs its case to learn its brand. */
	if (customer != NULL &&
	    (v[RULE_RESOLUTION].rule != NULL || v[RULE_ESCALATION].rule != NULL ||
	    v[RULE_DEFLECTION].rule != NULL || brand == NULL))
		c = find_case(t, p, customer);
	if (brand == NULL && c != NULL)
		brand = c->pub.brand;

	/*
	 * Remember the post before acting: closing the case frees the brand
	 * string it may have lent. A post fed twice keeps its first memory.
	 */
	key_make(&k, p->platform, p->id, NULL);
	if (table_get(&t->posts, &k) == NULL)
		remember(t, &k, p, p->is_brand ? customer : NULL, brand);
	key_done(&k);

	if (v[RULE_RESOLUTION].rule != NULL) {
		if (c != NULL)
			resolve(t, c, p);
	} else if (v[RULE_ESCALATION].rule != NULL && !p->is_brand) {
		if (c != NULL) {
			c->pub.escalations++;
			emit(t, FINDING_ESCALATION, p->at, c, p->id, &v[RULE_ESCALATION]);
		}
	} else if (v[RULE_DEFLECTION].rule != NULL && p->is_brand) {
		if (c != NULL) {
			c->pub.repeats++;
			emit(t, FINDING_REPEAT_DEFLECTION, p->at, c, p->id, &v[RULE_DEFLECTION]);
		} else if (customer != NULL)
			open_case(t, p, customer, brand);
		else
			t->st.no_customer++;
	}
}

/* Turns a deflected case whose window passed into an unresolved one. */
static void
expire(struct tracker *t, struct icase *c)
{
	case_count(t, c, 0);
	c->pub.state = CASE_UNRESOLVED;
	case_count(t, c, 1);
	heap_down(t, c->heap); /* its due time moved later by the retention */
	emit(t, FINDING_UNRESOLVED, c->pub.deadline, c, c->pub.post_id,
	    &(struct verdict){c->pub.rule, c->pub.start, c->pub.end, 0});
}

/* Fires deadlines before watermark, then forgets old unresolved cases and posts. */
void
tracker_advance(struct tracker *t, int64_t watermark)
{
	if (t->have_watermark && watermark <= t->watermark)
		return;
	t->watermark = watermark;
	t->have_watermark = 1;
	while (t->nheap > 0 && case_due(t, t->heap[0]) < watermark) {
		struct icase *c = t->heap[0];

		if (c->pub.state == CASE_DEFLECTED)
			expire(t, c);
		else {
			case_count(t, c, 0);
			case_unhold(t, c);
		}
	}
	while (t->head != NULL && add_sat(t->head->at, t->cfg.retention) < watermark) {
		struct mpost *m = t->head;

		t->head = m->next;
		if (t->head == NULL)
			t->tail = NULL;
		table_del(&t->posts, m);
		free(m);
	}
}

/* qsort comparator on deadline, then creation order. */
static int
cmp_deadline(const void *a, const void *b)
{
	const struct icase *x = *(struct icase *const *)a, *y = *(struct icase *const *)b;

	if (x->pub.deadline != y->pub.deadline)
		return x->pub.deadline < y->pub.deadline ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Expires every deflected case in deadline order. The heap also holds
 * unresolved cases due later, so the deflected ones are picked and sorted.
 */
void
tracker_drain(struct tracker *t)
{
	struct icase **open;
	size_t n = 0;

	if (t->st.open == 0)
		return;
	open = xreallocarray(NULL, t->st.open, sizeof *open);
	for (size_t i = 0; i < t->nheap; i++)
		if (t->heap[i]->pub.state == CASE_DEFLECTED)
			open[n++] = t->heap[i];
	qsort(open, n, sizeof *open, cmp_deadline);
	for (size_t i = 0; i < n; i++)
		expire(t, open[i]);
	free(open);
}

/*
 * Holds a copy of a stored case. Only deflected and unresolved cases are
 * held, so a closed one is ignored; a case with the same key is replaced.
 */
void
tracker_restore(struct tracker *t, const struct tcase *src)
{
	struct icase *c, *old;
	struct key k;

	if (src->state != CASE_DEFLECTED && src->state != CASE_UNRESOLVED)
		return;
	if (src->platform == NULL || src->conversation_id == NULL || src->customer == NULL)
		return;
	key_make(&k, src->platform, src->conversation_id, src->customer);
	if ((old = table_get(&t->cases, &k)) != NULL) {
		case_count(t, old, 0);
		case_unhold(t, old);
	}
	c = case_new(&k, src->platform, src->conversation_id, src->customer, src->brand,
	    src->post_id, src->rule);
	c->pub.state = src->state;
	c->pub.deflected_at = src->deflected_at;
	c->pub.deadline = src->deadline;
	c->pub.resolved_at = src->resolved_at;
	c->pub.repeats = src->repeats;
	c->pub.escalations = src->escalations;
	c->pub.start = src->start;
	c->pub.end = src->end;
	case_hold(t, c, &k);
	key_done(&k);
}

/* Drops one held case without a finding: an operator's verdict ended it. */
int
tracker_close(struct tracker *t, const char *platform, const char *conversation_id,
    const char *customer, const char *post_id)
{
	struct icase *c;
	struct key k;

	key_make(&k, platform, conversation_id, customer);
	c = table_get(&t->cases, &k);
	key_done(&k);
	/* The key may hold a newer case by now; only the one closed goes. */
	if (c == NULL || strcmp(c->pub.post_id ? c->pub.post_id : "", post_id) != 0)
		return 0;
	case_count(t, c, 0);
	case_unhold(t, c);
	return 1;
}

/* Calls fn for every held case, in heap order. */
void
tracker_foreach(struct tracker *t, void (*fn)(void *arg, const struct tcase *c), void *arg)
{
	for (size_t i = 0; i < t->nheap; i++)
		fn(arg, &t->heap[i]->pub);
}

/* Copies the counters out. */
void
tracker_stats(const struct tracker *t, struct tracker_stats *st)
{
	*st = t->st;
}
