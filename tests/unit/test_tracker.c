/*
 * Case tracker and reorder buffer. Each test feeds posts the way the pipeline
 * does (tracker_advance to the post's time, then tracker_post) and checks the
 * findings the callback saw, in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reorder.h"
#include "tracker.h"
#include "xmalloc.h"

#define WINDOW 100
#define RETENTION 1000

/* A finding as the callback saw it, with a snapshot of its case. */
struct rec {
	enum finding_type type;
	int64_t at;
	char *post_id;
	char *rule;
	size_t start, end;
	enum case_state state;
	char *customer;
	char *brand;
	char *conv;
	int64_t deflected_at, deadline, resolved_at;
	unsigned repeats, escalations;
};

struct fx {
	struct tracker *t;
	struct rec *r;
	size_t n, cap;
};

/* Copies a string that may be NULL. */
static char *
dup0(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Records a finding and its case, since both die when the callback returns. */
static void
record(void *arg, const struct finding *f)
{
	struct fx *x = arg;
	struct rec *r;

	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		x->r = xreallocarray(x->r, x->cap, sizeof *x->r);
	}
	r = &x->r[x->n++];
	r->type = f->type;
	r->at = f->at;
	r->post_id = dup0(f->post_id);
	r->rule = dup0(f->rule);
	r->start = f->start;
	r->end = f->end;
	r->state = f->c->state;
	r->customer = dup0(f->c->customer);
	r->brand = dup0(f->c->brand);
	r->conv = dup0(f->c->conversation_id);
	r->deflected_at = f->c->deflected_at;
	r->deadline = f->c->deadline;
	r->resolved_at = f->c->resolved_at;
	r->repeats = f->c->repeats;
	r->escalations = f->c->escalations;
}

/* Forgets the recorded findings. */
static void
clear(struct fx *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->r[i].post_id);
		free(x->r[i].rule);
		free(x->r[i].customer);
		free(x->r[i].brand);
		free(x->r[i].conv);
	}
	x->n = 0;
}

static const struct brand_window windows[] = {{"acme", 50}, {"globex", 0}};

/* A tracker with a 100 s window, acme at 50 s, and a 1000 s retention. */
static int
setup(void **state)
{
	struct fx *x = xcalloc(1, sizeof *x);
	struct tracker_config cfg = {WINDOW, windows, 2, RETENTION};

	x->t = tracker_new(&cfg, record, x);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	tracker_free(x->t);
	clear(x);
	free(x->r);
	free(x);
	return 0;
}

/* A post in conversation c1 on twitter with no verdict. */
static struct tracker_post
P(const char *id, const char *parent, const char *author, int is_brand, int64_t at)
{
	struct tracker_post p;

	memset(&p, 0, sizeof p);
	p.id = id;
	p.platform = "twitter";
	p.conversation_id = "c1";
	p.in_reply_to_id = parent;
	p.author = author;
	p.is_brand = is_brand;
	p.at = at;
	return p;
}

/* Gives p a verdict of kind k. */
static struct tracker_post
V(struct tracker_post p, enum rule_kind k, const char *rule)
{
	p.v[k].rule = rule;
	p.v[k].start = 3;
	p.v[k].end = 9;
	return p;
}

/* Feeds a post the way the pipeline does. */
static void
feed(struct fx *x, struct tracker_post p)
{
	tracker_advance(x->t, p.at);
	tracker_post(x->t, &p);
}

/* Shorthands for the common posts. */
static void
cust(struct fx *x, const char *id, const char *parent, const char *who, int64_t at)
{
	feed(x, P(id, parent, who, 0, at));
}

static void
deflect(struct fx *x, const char *id, const char *parent, int64_t at)
{
	feed(x, V(P(id, parent, "AcmeSupport", 1, at), RULE_DEFLECTION, "dm-request"));
}

static struct tracker_stats
stats(struct fx *x)
{
	struct tracker_stats st;

	tracker_stats(x->t, &st);
	return st;
}

/* Counts the cases tracker_foreach reports. */
static void
count_case(void *arg, const struct tcase *c)
{
	(void)c;
	(*(size_t *)arg)++;
}

static size_t
held(struct fx *x)
{
	size_t n = 0;

	tracker_foreach(x->t, count_case, &n);
	return n;
}

/* The usual opening: alice complains at 0, the brand deflects at 10. */
static void
open_alice(struct fx *x)
{
	cust(x, "1", NULL, "alice", 0);
	deflect(x, "2", "1", 10);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->r[0].type, FINDING_DEFLECTION);
}

static void
test_open_and_resolve_by_brand(void **state)
{
	struct fx *x = *state;
	struct tracker_stats st;

	cust(x, "1", NULL, "alice", 0);
	assert_int_equal(x->n, 0);
	deflect(x, "2", "1", 10);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->r[0].type, FINDING_DEFLECTION);
	assert_int_equal(x->r[0].at, 10);
	assert_string_equal(x->r[0].post_id, "2");
	assert_string_equal(x->r[0].rule, "dm-request");
	assert_int_equal(x->r[0].start, 3);
	assert_int_equal(x->r[0].end, 9);
	assert_int_equal(x->r[0].state, CASE_DEFLECTED);
	assert_string_equal(x->r[0].customer, "alice");
	assert_string_equal(x->r[0].brand, "AcmeSupport");
	assert_string_equal(x->r[0].conv, "c1");
	assert_int_equal(x->r[0].deflected_at, 10);
	assert_int_equal(x->r[0].deadline, 10 + WINDOW);
	assert_int_equal(x->r[0].resolved_at, 0);
	st = stats(x);
	assert_int_equal(st.open, 1);
	assert_int_equal(held(x), 1);

	feed(x, V(P("3", "2", "AcmeSupport", 1, 50), RULE_RESOLUTION, "brand-fixed"));
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_RESOLUTION);
	assert_int_equal(x->r[1].at, 50);
	assert_string_equal(x->r[1].post_id, "3");
	assert_string_equal(x->r[1].rule, "brand-fixed");
	assert_int_equal(x->r[1].state, CASE_RESOLVED);
	assert_int_equal(x->r[1].resolved_at, 50);
	st = stats(x);
	assert_int_equal(st.open, 0);
	assert_int_equal(st.unresolved, 0);
	assert_int_equal(st.posts, 3);
	assert_int_equal(st.findings[FINDING_DEFLECTION], 1);
	assert_int_equal(st.findings[FINDING_RESOLUTION], 1);
	assert_int_equal(held(x), 0);

	/* Closed: nothing fires when the deadline passes. */
	tracker_advance(x->t, 10000);
	assert_int_equal(x->n, 2);
}

static void
test_resolve_by_customer(void **state)
{
	struct fx *x = *state;

	open_alice(x);
	feed(x, V(P("3", "2", "alice", 0, 60), RULE_RESOLUTION, "customer-fixed"));
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_RESOLUTION);
	assert_string_equal(x->r[1].rule, "customer-fixed");
	assert_int_equal(x->r[1].resolved_at, 60);
	assert_int_equal(stats(x).open, 0);
}

static void
test_resolution_at_deadline_is_on_time(void **state)
{
	struct fx *x = *state;

	open_alice(x);
	tracker_advance(x->t, 10 + WINDOW);
	assert_int_equal(x->n, 1);
	feed(x, V(P("3", "2", "alice", 0, 10 + WINDOW), RULE_RESOLUTION, "customer-fixed"));
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_RESOLUTION);
	assert_int_equal(x->r[1].state, CASE_RESOLVED);
}

static void
test_unresolved_then_late(void **state)
{
	struct fx *x = *state;
	struct tracker_stats st;

	open_alice(x);
	tracker_advance(x->t, 10 + WINDOW + 1);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_UNRESOLVED);
	assert_int_equal(x->r[1].at, 10 + WINDOW);
	assert_string_equal(x->r[1].post_id, "2");
	assert_string_equal(x->r[1].rule, "dm-request");
	assert_int_equal(x->r[1].start, 3);
	assert_int_equal(x->r[1].end, 9);
	assert_int_equal(x->r[1].state, CASE_UNRESOLVED);
	st = stats(x);
	assert_int_equal(st.open, 0);
	assert_int_equal(st.unresolved, 1);
	assert_int_equal(held(x), 1);

	/* Moving the watermark again, or back, fires nothing new. */
	tracker_advance(x->t, 500);
	tracker_advance(x->t, 20);
	assert_int_equal(x->n, 2);

	feed(x, V(P("3", "2", "AcmeSupport", 1, 600), RULE_RESOLUTION, "brand-fixed"));
	assert_int_equal(x->n, 3);
	assert_int_equal(x->r[2].type, FINDING_RESOLVED_LATE);
	assert_int_equal(x->r[2].at, 600);
	assert_string_equal(x->r[2].post_id, "3");
	assert_int_equal(x->r[2].state, CASE_RESOLVED_LATE);
	assert_int_equal(x->r[2].resolved_at, 600);
	st = stats(x);
	assert_int_equal(st.unresolved, 0);
	assert_int_equal(st.findings[FINDING_RESOLVED_LATE], 1);
	assert_int_equal(held(x), 0);
}

static void
test_escalation_and_repeat(void **state)
{
	struct fx *x = *state;

	open_alice(x);
	feed(x, V(P("3", "2", "alice", 0, 20), RULE_ESCALATION, "still-waiting"));
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_ESCALATION);
	assert_int_equal(x->r[1].at, 20);
	assert_string_equal(x->r[1].post_id, "3");
	assert_string_equal(x->r[1].rule, "still-waiting");
	assert_int_equal(x->r[1].escalations, 1);
	assert_int_equal(x->r[1].state, CASE_DEFLECTED);

	deflect(x, "4", "3", 30);
	assert_int_equal(x->n, 3);
	assert_int_equal(x->r[2].type, FINDING_REPEAT_DEFLECTION);
	assert_string_equal(x->r[2].post_id, "4");
	assert_int_equal(x->r[2].repeats, 1);
	assert_int_equal(x->r[2].deadline, 10 + WINDOW); /* unchanged */
	assert_int_equal(x->r[2].deflected_at, 10);

	/* In unresolved too. */
	tracker_advance(x->t, 200);
	assert_int_equal(x->r[3].type, FINDING_UNRESOLVED);
	feed(x, V(P("5", "4", "alice", 0, 210), RULE_ESCALATION, "still-waiting"));
	deflect(x, "6", "5", 220);
	assert_int_equal(x->n, 6);
	assert_int_equal(x->r[4].type, FINDING_ESCALATION);
	assert_int_equal(x->r[4].state, CASE_UNRESOLVED);
	assert_int_equal(x->r[4].escalations, 2);
	assert_int_equal(x->r[5].type, FINDING_REPEAT_DEFLECTION);
	assert_int_equal(x->r[5].state, CASE_UNRESOLVED);
	assert_int_equal(x->r[5].repeats, 2);
	assert_int_equal(stats(x).findings[FINDING_ESCALATION], 2);
	assert_int_equal(stats(x).findings[FINDING_REPEAT_DEFLECTION], 2);
	assert_int_equal(stats(x).unresolved, 1);
}

static void
test_escalation_not_by_the_customer(void **state)
{
	struct fx *x = *state;

	open_alice(x);
	/* bob in the same conversation: his own (absent) case. */
	feed(x, V(P("3", "2", "bob", 0, 20), RULE_ESCALATION, "still-waiting"));
	/* The brand matching an escalation rule is no escalation. */
	feed(x, V(P("4", "1", "AcmeSupport", 1, 30), RULE_ESCALATION, "still-waiting"));
	assert_int_equal(x->n, 1);
	/* Nor are resolution and escalation without a case anything. */
	cust(x, "5", NULL, "carol", 40);
	feed(x, V(P("6", "5", "AcmeSupport", 1, 41), RULE_RESOLUTION, "brand-fixed"));
	feed(x, V(P("7", "6", "carol", 0, 42), RULE_ESCALATION, "still-waiting"));
	feed(x, V(P("8", "6", "carol", 0, 43), RULE_RESOLUTION, "customer-fixed"));
	assert_int_equal(x->n, 1);
	assert_int_equal(stats(x).posts, 8);
	assert_int_equal(stats(x).open, 1);
}

static void
test_deflection_by_customer_ignored(void **state)
{
	struct fx *x = *state;

	cust(x, "1", NULL, "alice", 0);
	feed(x, V(P("2", "1", "bob", 0, 10), RULE_DEFLECTION, "dm-request"));
	assert_int_equal(x->n, 0);
	assert_int_equal(stats(x).open, 0);
	assert_int_equal(stats(x).no_customer, 0);
}

static void
test_precedence(void **state)
{
	struct fx *x = *state;
	struct tracker_post p;

	open_alice(x);
	/* Resolution beats escalation in one customer post. */
	p = V(V(P("3", "2", "alice", 0, 20), RULE_ESCALATION, "still-waiting"), RULE_RESOLUTION,
	    "customer-fixed");
	feed(x, p);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_RESOLUTION);
	assert_int_equal(x->r[1].escalations, 0);

	/* Resolution beats deflection in a brand post, even with no case. */
	p = V(V(P("4", "3", "AcmeSupport", 1, 30), RULE_DEFLECTION, "dm-request"),
	    RULE_RESOLUTION, "brand-fixed");
	feed(x, p);
	assert_int_equal(x->n, 2);
	assert_int_equal(stats(x).open, 0);

	/* A brand post's escalation verdict does not hide its deflection. */
	p = V(V(P("5", "3", "AcmeSupport", 1, 40), RULE_ESCALATION, "still-waiting"),
	    RULE_DEFLECTION, "dm-request");
	feed(x, p);
	assert_int_equal(x->n, 3);
	assert_int_equal(x->r[2].type, FINDING_DEFLECTION);
}

static void
test_customer_from_brand_parent(void **state)
{
	struct fx *x = *state;

	/* A reply in two parts: "Sorry!" then "DM us", the second to the first. */
	cust(x, "1", NULL, "alice", 0);
	feed(x, P("2", "1", "AcmeSupport", 1, 5));
	deflect(x, "3", "2", 6);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->r[0].customer, "alice");
	/* And a third part learns it from the second. */
	feed(x, V(P("4", "3", "AcmeHelp", 1, 7), RULE_DEFLECTION, "dm-request"));
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_REPEAT_DEFLECTION);
}

static void
test_customer_from_mention(void **state)
{
	struct fx *x = *state;
	struct tracker_post p;

	/* The parent is unknown: the mention names the customer. */
	p = V(P("2", "1", "AcmeSupport", 1, 10), RULE_DEFLECTION, "dm-request");
	p.mention = "Dave";
	feed(x, p);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->r[0].customer, "Dave");

	/* A brand parent without a customer: the mention again. */
	feed(x, P("3", NULL, "AcmeSupport", 1, 11));
	p = V(P("4", "3", "AcmeSupport", 1, 12), RULE_DEFLECTION, "dm-request");
	p.mention = "erin";
	feed(x, p);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_DEFLECTION);
	assert_string_equal(x->r[1].customer, "erin");

	/* The customer's own reply finds the case, whatever the case of the handle. */
	feed(x, V(P("5", "2", "dave", 0, 13), RULE_RESOLUTION, "customer-fixed"));
	assert_int_equal(x->n, 3);
	assert_int_equal(x->r[2].type, FINDING_RESOLUTION);
	assert_string_equal(x->r[2].customer, "Dave");
}

static void
test_unknown_customer(void **state)
{
	struct fx *x = *state;
	struct tracker_stats st;

	deflect(x, "2", "1", 10);  /* unknown parent, no mention */
	deflect(x, "3", NULL, 11); /* root post */
	feed(x, P("4", NULL, "AcmeSupport", 1, 12));
	deflect(x, "5", "4", 13); /* brand parent without a customer */
	assert_int_equal(x->n, 0);
	st = stats(x);
	assert_int_equal(st.no_customer, 3);
	assert_int_equal(st.open, 0);
	assert_int_equal(st.posts, 4);
}

static void
test_customer_case_insensitive(void **state)
{
	struct fx *x = *state;

	cust(x, "1", NULL, "Alice", 0);
	deflect(x, "2", "1", 10);
	assert_string_equal(x->r[0].customer, "Alice");
	feed(x, V(P("3", "2", "ALICE", 0, 20), RULE_ESCALATION, "still-waiting"));
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_ESCALATION);
	assert_string_equal(x->r[1].customer, "Alice");
}

static void
test_windows(void **state)
{
	struct fx *x = *state;
	struct tracker_post p;

	/* Global: the brand has no window (AcmeSupport is not "acme"). */
	cust(x, "1", NULL, "a", 0);
	deflect(x, "2", "1", 0);
	assert_int_equal(x->r[0].deadline, WINDOW);

	/* Brand window, when the post names its brand. */
	cust(x, "3", NULL, "b", 0);
	p = V(P("4", "3", "AcmeSupport", 1, 0), RULE_DEFLECTION, "dm-request");
	p.brand = "acme";
	feed(x, p);
	assert_int_equal(x->r[1].deadline, 50);
	assert_string_equal(x->r[1].brand, "acme");

	/* The rule's window beats the brand's. */
	cust(x, "5", NULL, "c", 0);
	p = V(P("6", "5", "AcmeSupport", 1, 0), RULE_DEFLECTION, "dm-request");
	p.brand = "acme";
	p.v[RULE_DEFLECTION].window = 7;
	feed(x, p);
	assert_int_equal(x->r[2].deadline, 7);

	/* A brand listed with no window falls back to the global one. */
	cust(x, "7", NULL, "d", 0);
	p = V(P("8", "7", "GlobexCare", 1, 0), RULE_DEFLECTION, "dm-request");
	p.brand = "globex";
	feed(x, p);
	assert_int_equal(x->r[3].deadline, WINDOW);

	/* Brand names match exactly. */
	cust(x, "9", NULL, "e", 0);
	p = V(P("10", "9", "AcmeSupport", 1, 0), RULE_DEFLECTION, "dm-request");
	p.brand = "ACME";
	feed(x, p);
	assert_int_equal(x->r[4].deadline, WINDOW);
}

static void
test_brand_of_posts(void **state)
{
	struct fx *x = *state;
	struct tracker_post p;

	/* The brand the post names wins over its author. */
	cust(x, "1", NULL, "alice", 0);
	p = V(P("2", "1", "AcmeSupport", 1, 1), RULE_DEFLECTION, "dm-request");
	p.brand = "acme";
	feed(x, p);
	assert_string_equal(x->r[0].brand, "acme");

	/* Else a brand account speaks for itself, whatever its parent said. */
	p = P("3", NULL, "bob", 0, 2);
	p.brand = "globex";
	feed(x, p);
	deflect(x, "4", "3", 3);
	assert_string_equal(x->r[1].brand, "AcmeSupport");

	/* Findings about a case carry the deflecting post's brand. */
	feed(x, V(P("5", "4", "AcmeHelp", 1, 4), RULE_DEFLECTION, "dm-request"));
	assert_int_equal(x->r[2].type, FINDING_REPEAT_DEFLECTION);
	assert_string_equal(x->r[2].brand, "AcmeSupport");
}

static void
test_two_customers(void **state)
{
	struct fx *x = *state;

	cust(x, "1", NULL, "alice", 0);
	cust(x, "2", "1", "bob", 1);
	deflect(x, "3", "1", 10);
	deflect(x, "4", "2", 11);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[0].type, FINDING_DEFLECTION);
	assert_int_equal(x->r[1].type, FINDING_DEFLECTION);
	assert_string_equal(x->r[0].customer, "alice");
	assert_string_equal(x->r[1].customer, "bob");
	assert_int_equal(stats(x).open, 2);

	feed(x, V(P("5", "4", "bob", 0, 20), RULE_RESOLUTION, "customer-fixed"));
	assert_int_equal(x->n, 3);
	assert_string_equal(x->r[2].customer, "bob");
	assert_int_equal(stats(x).open, 1);

	/* The same conversation id on another platform is another case. */
	struct tracker_post p = V(P("9", "8", "AcmeSupport", 1, 21), RULE_DEFLECTION, "x");
	p.platform = "mastodon";
	p.mention = "alice";
	feed(x, p);
	assert_int_equal(x->r[3].type, FINDING_DEFLECTION);
	assert_int_equal(stats(x).open, 2);

	tracker_advance(x->t, 1000);
	assert_int_equal(x->n, 6);
	assert_int_equal(x->r[4].type, FINDING_UNRESOLVED);
	assert_string_equal(x->r[4].customer, "alice");
	assert_int_equal(x->r[5].type, FINDING_UNRESOLVED);
}

static void
test_new_case_after_close(void **state)
{
	struct fx *x = *state;

	open_alice(x);
	feed(x, V(P("3", "2", "alice", 0, 20), RULE_RESOLUTION, "customer-fixed"));
	cust(x, "4", "3", "alice", 30);
	deflect(x, "5", "4", 40);
	assert_int_equal(x->n, 3);
	assert_int_equal(x->r[2].type, FINDING_DEFLECTION);
	assert_int_equal(x->r[2].deflected_at, 40);
	assert_int_equal(x->r[2].deadline, 40 + WINDOW);
	assert_int_equal(x->r[2].repeats, 0);

	/* And after a late resolution. */
	tracker_advance(x->t, 200);
	feed(x, V(P("6", "5", "alice", 0, 210), RULE_RESOLUTION, "customer-fixed"));
	assert_int_equal(x->r[4].type, FINDING_RESOLVED_LATE);
	deflect(x, "7", "6", 220);
	assert_int_equal(x->n, 6);
	assert_int_equal(x->r[5].type, FINDING_DEFLECTION);
}

static void
test_retention(void **state)
{
	struct fx *x = *state;

	open_alice(x);
	tracker_advance(x->t, 200);
	assert_int_equal(stats(x).unresolved, 1);
	assert_true(tracker_seen(x->t, "twitter", "1"));
	assert_false(tracker_seen(x->t, "mastodon", "1"));
	assert_false(tracker_seen(x->t, "twitter", "99"));

	/* Still held at exactly deadline + retention; post "2" (t 10) too, just. */
	tracker_advance(x->t, 10 + RETENTION);
	assert_true(tracker_seen(x->t, "twitter", "2"));
	assert_false(tracker_seen(x->t, "twitter", "1"));
	tracker_advance(x->t, 10 + WINDOW + RETENTION);
	assert_int_equal(stats(x).unresolved, 1);
	assert_false(tracker_seen(x->t, "twitter", "2"));
	tracker_advance(x->t, 10 + WINDOW + RETENTION + 1);
	assert_int_equal(stats(x).unresolved, 0);
	assert_int_equal(held(x), 0);
	assert_int_equal(x->n, 2);

	/* Forgotten: a late resolution does nothing. */
	feed(x, V(P("3", "2", "alice", 0, 1200), RULE_RESOLUTION, "customer-fixed"));
	assert_int_equal(x->n, 2);

	assert_true(tracker_seen(x->t, "twitter", "3"));

	/* A reply to a forgotten post cannot tell its customer. */
	deflect(x, "4", "1", 1201);
	assert_int_equal(x->n, 2);
	assert_int_equal(stats(x).no_customer, 1);
}

static void
test_posts_remembered_in_bulk(void **state)
{
	struct fx *x = *state;
	char id[32];

	/* Enough posts to grow the table, then forget half: deletion keeps the rest findable. */
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof id, "p%d", i);
		cust(x, id, NULL, "someone", i / 10);
	}
	tracker_advance(x->t, 250 + RETENTION);
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof id, "p%d", i);
		assert_int_equal(tracker_seen(x->t, "twitter", id), i >= 2500);
	}

	/* A post fed twice keeps its first memory: still a customer post. */
	cust(x, "p4999", NULL, "other", 1300);
	deflect(x, "r", "p4999", 1301);
	assert_string_equal(x->r[0].customer, "someone");
}

static void
test_long_keys(void **state)
{
	struct fx *x = *state;
	char conv[600], who[400];
	struct tracker_post p;

	memset(conv, 'c', sizeof conv - 1);
	conv[sizeof conv - 1] = '\0';
	memset(who, 'W', sizeof who - 1);
	who[sizeof who - 1] = '\0';
	p = P(conv, NULL, who, 0, 0);
	p.conversation_id = conv;
	feed(x, p);
	p = V(P("2", conv, "AcmeSupport", 1, 1), RULE_DEFLECTION, "dm-request");
	p.conversation_id = conv;
	feed(x, p);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->r[0].customer, who);
	assert_true(tracker_seen(x->t, "twitter", conv));
	for (size_t i = 0; i < sizeof who - 1; i++)
		who[i] = 'w';
	p = V(P("3", "2", who, 0, 2), RULE_RESOLUTION, "customer-fixed");
	p.conversation_id = conv;
	feed(x, p);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[1].type, FINDING_RESOLUTION);
}

static void
test_drain(void **state)
{
	struct fx *x = *state;
	struct tracker_post p;
	const char *who[] = {"a", "b", "c", "d", "e"};
	const int64_t win[] = {300, 100, 200, 100, 5};

	for (int i = 0; i < 5; i++) {
		char id[8];

		snprintf(id, sizeof id, "d%d", i);
		p = V(P(id, NULL, "AcmeSupport", 1, i), RULE_DEFLECTION, "dm-request");
		p.mention = who[i];
		p.v[RULE_DEFLECTION].window = win[i];
		feed(x, p);
	}
	/* e (deadline 9) is already unresolved and must not fire again. */
	tracker_advance(x->t, 10);
	assert_int_equal(x->n, 6);
	assert_string_equal(x->r[5].customer, "e");
	tracker_drain(x->t);
	assert_int_equal(x->n, 10);
	/* Deadlines: b 101, d 103, c 202, a 300. */
	assert_string_equal(x->r[6].customer, "b");
	assert_string_equal(x->r[7].customer, "d");
	assert_string_equal(x->r[8].customer, "c");
	assert_string_equal(x->r[9].customer, "a");
	for (int i = 6; i < 10; i++) {
		assert_int_equal(x->r[i].type, FINDING_UNRESOLVED);
		assert_int_equal(x->r[i].at, x->r[i].deadline);
	}
	assert_int_equal(stats(x).open, 0);
	assert_int_equal(stats(x).unresolved, 5);
	tracker_drain(x->t);
	assert_int_equal(x->n, 10);
}

static void
test_deadline_ties_in_creation_order(void **state)
{
	struct fx *x = *state;
	struct tracker_post p;
	const char *who[] = {"m", "k", "z", "a"};

	for (int i = 0; i < 4; i++) {
		char id[8];

		snprintf(id, sizeof id, "d%d", i);
		p = V(P(id, NULL, "AcmeSupport", 1, 10 * i), RULE_DEFLECTION, "dm-request");
		p.mention = who[i];
		p.v[RULE_DEFLECTION].window = 100 - 10 * i; /* all due at 100 */
		feed(x, p);
	}
	tracker_advance(x->t, 101);
	assert_int_equal(x->n, 8);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(x->r[4 + i].at, 100);
		assert_string_equal(x->r[4 + i].customer, who[i]);
	}
}

/* Collects deep copies of the cases foreach reports. */
struct saved {
	struct tcase c[16];
	size_t n;
};

static void
save_case(void *arg, const struct tcase *c)
{
	struct saved *s = arg;
	struct tcase *d = &s->c[s->n++];

	*d = *c;
	d->platform = xstrdup(c->platform);
	d->conversation_id = xstrdup(c->conversation_id);
	d->customer = xstrdup(c->customer);
	d->brand = xstrdup(c->brand);
	d->post_id = xstrdup(c->post_id);
	d->rule = xstrdup(c->rule);
}

static void
saved_free(struct saved *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->c[i].platform);
		free(s->c[i].conversation_id);
		free(s->c[i].customer);
		free(s->c[i].brand);
		free(s->c[i].post_id);
		free(s->c[i].rule);
	}
	s->n = 0;
}

/* Finds a saved case by customer. */
static const struct tcase *
saved_find(const struct saved *s, const char *customer)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->c[i].customer, customer) == 0)
			return &s->c[i];
	fail_msg("no case for %s", customer);
	return NULL;
}

static void
assert_case_equal(const struct tcase *a, const struct tcase *b)
{
	assert_string_equal(a->platform, b->platform);
	assert_string_equal(a->conversation_id, b->conversation_id);
	assert_string_equal(a->customer, b->customer);
	assert_string_equal(a->brand, b->brand);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->deflected_at, b->deflected_at);
	assert_int_equal(a->deadline, b->deadline);
	assert_int_equal(a->resolved_at, b->resolved_at);
	assert_int_equal(a->repeats, b->repeats);
	assert_int_equal(a->escalations, b->escalations);
	assert_string_equal(a->post_id, b->post_id);
	assert_string_equal(a->rule, b->rule);
	assert_int_equal(a->start, b->start);
	assert_int_equal(a->end, b->end);
}

static void
test_restore_round_trip(void **state)
{
	struct fx *x = *state, y = {0};
	struct tracker_config cfg = {WINDOW, windows, 2, RETENTION};
	struct saved before = {0}, after = {0};
	struct tracker_stats st;
	struct tcase closed;

	/* alice: unresolved with an escalation; Bob: deflected with a repeat. */
	open_alice(x);
	feed(x, V(P("3", "2", "alice", 0, 20), RULE_ESCALATION, "still-waiting"));
	tracker_advance(x->t, 150);
	cust(x, "4", NULL, "Bob", 150);
	deflect(x, "5", "4", 160);
	deflect(x, "6", "5", 170);
	tracker_foreach(x->t, save_case, &before);
	assert_int_equal(before.n, 2);
	assert_int_equal(saved_find(&before, "alice")->state, CASE_UNRESOLVED);
	assert_int_equal(saved_find(&before, "alice")->escalations, 1);
	assert_int_equal(saved_find(&before, "Bob")->state, CASE_DEFLECTED);
	assert_int_equal(saved_find(&before, "Bob")->repeats, 1);

	y.t = tracker_new(&cfg, record, &y);
	for (size_t i = 0; i < before.n; i++)
		tracker_restore(y.t, &before.c[i]);
	/* A closed case is not held; restoring a key twice keeps one copy. */
	closed = before.c[0];
	closed.state = CASE_RESOLVED;
	closed.customer = "zed";
	tracker_restore(y.t, &closed);
	tracker_restore(y.t, saved_find(&before, "Bob"));
	tracker_stats(y.t, &st);
	assert_int_equal(st.open, 1);
	assert_int_equal(st.unresolved, 1);
	assert_int_equal(y.n, 0);
	tracker_foreach(y.t, save_case, &after);
	assert_int_equal(after.n, 2);
	assert_case_equal(saved_find(&after, "alice"), saved_find(&before, "alice"));
	assert_case_equal(saved_find(&after, "Bob"), saved_find(&before, "Bob"));

	/* The restored cases live on: Bob's deadline fires, alice resolves late. */
	tracker_advance(y.t, 160 + WINDOW + 1);
	assert_int_equal(y.n, 1);
	assert_int_equal(y.r[0].type, FINDING_UNRESOLVED);
	assert_string_equal(y.r[0].customer, "Bob");
	assert_string_equal(y.r[0].post_id, "5");
	assert_int_equal(y.r[0].repeats, 1);
	struct tracker_post p = V(P("7", NULL, "alice", 0, 300), RULE_RESOLUTION, "customer-fixed");
	tracker_advance(y.t, p.at);
	tracker_post(y.t, &p);
	assert_int_equal(y.n, 2);
	assert_int_equal(y.r[1].type, FINDING_RESOLVED_LATE);
	assert_int_equal(y.r[1].escalations, 1);

	tracker_free(y.t);
	clear(&y);
	free(y.r);
	saved_free(&before);
	saved_free(&after);
}

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_heap_order(void **state)
{
	struct fx *x = *state;
	enum { N = 10000 };
	uint64_t seed = 42;
	size_t resolved = 0, fired;
	char id[32], who[32];
	struct tracker_post p;

	/* N cases, all opened at 0, random deadlines with many ties. */
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof id, "d%d", i);
		snprintf(who, sizeof who, "u%d", i);
		p = V(P(id, NULL, "AcmeSupport", 1, 0), RULE_DEFLECTION, "dm-request");
		p.mention = who;
		p.v[RULE_DEFLECTION].window = 1 + (int64_t)(rnd(&seed) % 5000);
		tracker_post(x->t, &p);
	}
	assert_int_equal(stats(x).open, N);
	/* Resolve a random third from the middle of the heap. */
	for (int i = 0; i < N; i++) {
		if (rnd(&seed) % 3 != 0)
			continue;
		snprintf(id, sizeof id, "r%d", i);
		snprintf(who, sizeof who, "U%d", i);
		p = V(P(id, NULL, who, 0, 0), RULE_RESOLUTION, "customer-fixed");
		tracker_post(x->t, &p);
		resolved++;
	}
	assert_int_equal(x->n, N + resolved);
	tracker_advance(x->t, 2500);
	assert_int_equal(held(x), stats(x).open + stats(x).unresolved);
	tracker_advance(x->t, 5001);
	fired = x->n - N - resolved;
	assert_int_equal(fired, N - resolved);
	for (size_t i = N + resolved; i < x->n; i++) {
		assert_int_equal(x->r[i].type, FINDING_UNRESOLVED);
		assert_int_equal(x->r[i].at, x->r[i].deadline);
		if (i > N + resolved) {
			const struct rec *a = &x->r[i - 1], *b = &x->r[i];

			assert_true(a->at <= b->at);
			/* Ties in creation order: u<n> was created n-th. */
			if (a->at == b->at)
				assert_true(atoi(a->customer + 1) < atoi(b->customer + 1));
		}
	}
	assert_int_equal(stats(x).open, 0);
	assert_int_equal(stats(x).findings[FINDING_UNRESOLVED], N - resolved);
	/* Retention forgets them as their deadlines age, then all. */
	assert_true(stats(x).unresolved < N - resolved);
	tracker_advance(x->t, 5001 + RETENTION);
	assert_int_equal(stats(x).unresolved, 0);
	assert_int_equal(held(x), 0);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(finding_type_name(FINDING_DEFLECTION), "deflection");
	assert_string_equal(finding_type_name(FINDING_REPEAT_DEFLECTION), "repeat_deflection");
	assert_string_equal(finding_type_name(FINDING_ESCALATION), "escalation");
	assert_string_equal(finding_type_name(FINDING_RESOLUTION), "resolution");
	assert_string_equal(finding_type_name(FINDING_UNRESOLVED), "unresolved");
	assert_string_equal(finding_type_name(FINDING_RESOLVED_LATE), "resolved_late");
	assert_string_equal(finding_type_name(FINDING_TYPES), "?");
	assert_string_equal(case_state_name(CASE_DEFLECTED), "deflected");
	assert_string_equal(case_state_name(CASE_RESOLVED), "resolved");
	assert_string_equal(case_state_name(CASE_UNRESOLVED), "unresolved");
	assert_string_equal(case_state_name(CASE_RESOLVED_LATE), "resolved_late");
	assert_string_equal(case_state_name(CASE_CLOSED), "closed");
}

static void
test_reorder(void **state)
{
	struct reorder *r = reorder_new();
	int v[8];

	(void)state;
	assert_int_equal(reorder_len(r), 0);
	assert_null(reorder_pop(r, INT64_MAX));
	/* Times 5 5 3 9 5 3: ties come out in arrival order. */
	reorder_push(r, 5, &v[0]);
	reorder_push(r, 5, &v[1]);
	reorder_push(r, 3, &v[2]);
	reorder_push(r, 9, &v[3]);
	reorder_push(r, 5, &v[4]);
	reorder_push(r, 3, &v[5]);
	assert_int_equal(reorder_len(r), 6);
	assert_int_equal(reorder_peek_time(r), 3);
	assert_null(reorder_pop(r, 2));
	assert_ptr_equal(reorder_pop(r, 3), &v[2]);
	assert_ptr_equal(reorder_pop(r, 3), &v[5]);
	assert_null(reorder_pop(r, 4));
	assert_int_equal(reorder_peek_time(r), 5);
	/* A late arrival at the same time queues behind the others. */
	reorder_push(r, 5, &v[6]);
	assert_ptr_equal(reorder_pop(r, 8), &v[0]);
	assert_ptr_equal(reorder_pop(r, 8), &v[1]);
	assert_ptr_equal(reorder_pop(r, 8), &v[4]);
	assert_ptr_equal(reorder_pop(r, 8), &v[6]);
	assert_null(reorder_pop(r, 8));
	assert_int_equal(reorder_len(r), 1);
	assert_ptr_equal(reorder_pop(r, 9), &v[3]);
	assert_int_equal(reorder_len(r), 0);
	assert_null(reorder_pop(r, INT64_MAX));
	reorder_free(r, NULL);
}

static void
test_reorder_many(void **state)
{
	struct reorder *r = reorder_new();
	enum { N = 20000 };
	struct item {
		int64_t at;
		int seq;
	} *it = xcalloc(N, sizeof *it), *p, *prev = NULL;
	uint64_t seed = 7;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		it[i].at = (int64_t)(rnd(&seed) % 1000);
		it[i].seq = i;
		reorder_push(r, it[i].at, &it[i]);
	}
	while ((p = reorder_pop(r, 499)) != NULL) {
		assert_true(p->at <= 499);
		if (prev != NULL)
			assert_true(prev->at < p->at || (prev->at == p->at && prev->seq < p->seq));
		prev = p;
		n++;
	}
	assert_true(reorder_len(r) == 0 || reorder_peek_time(r) >= 500);
	while ((p = reorder_pop(r, INT64_MAX)) != NULL) {
		assert_true(prev->at < p->at || (prev->at == p->at && prev->seq < p->seq));
		prev = p;
		n++;
	}
	assert_int_equal(n, N);
	reorder_free(r, NULL);
	free(it);
}

/* Counts the items reorder_free hands back. */
static int freed;

static void
count_free(void *item)
{
	freed++;
	free(item);
}

static void
test_reorder_free_items(void **state)
{
	struct reorder *r = reorder_new();

	(void)state;
	for (int i = 0; i < 100; i++)
		reorder_push(r, i % 7, xmalloc(16));
	free(reorder_pop(r, 0));
	freed = 0;
	reorder_free(r, count_free);
	assert_int_equal(freed, 99);
	reorder_free(NULL, NULL);
}

/* An operator's verdict drops the case: its deadline never fires, later posts find none. */
static void
test_operator_close(void **state)
{
	struct fx *x = *state;
	struct tracker_stats st;

	open_alice(x);
	/* Another deflecting post under the same key, or another key, is not this case. */
	assert_int_equal(tracker_close(x->t, "twitter", "c1", "alice", "9"), 0);
	assert_int_equal(tracker_close(x->t, "twitter", "c1", "bob", "2"), 0);
	assert_int_equal(held(x), 1);
	assert_int_equal(tracker_close(x->t, "twitter", "c1", "ALICE", "2"), 1);
	assert_int_equal(tracker_close(x->t, "twitter", "c1", "alice", "2"), 0);
	st = stats(x);
	assert_int_equal(st.open, 0);
	assert_int_equal(held(x), 0);
	tracker_advance(x->t, 10 + WINDOW + 1);
	feed(x, V(P("3", "2", "alice", 0, 200), RULE_RESOLUTION, "customer-fixed"));
	assert_int_equal(x->n, 1);

	/* An unresolved case goes the same way, and its count with it. */
	feed(x, V(P("4", "3", "AcmeSupport", 1, 300), RULE_DEFLECTION, "dm-request"));
	tracker_advance(x->t, 300 + WINDOW + 1);
	assert_int_equal(x->n, 3);
	assert_int_equal(stats(x).unresolved, 1);
	assert_int_equal(tracker_close(x->t, "twitter", "c1", "alice", "4"), 1);
	st = stats(x);
	assert_int_equal(st.unresolved, 0);
	assert_int_equal(st.open, 0);
	feed(x, V(P("5", "4", "alice", 0, 500), RULE_RESOLUTION, "customer-fixed"));
	assert_int_equal(x->n, 3);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_open_and_resolve_by_brand),
	    T(test_resolve_by_customer),
	    T(test_resolution_at_deadline_is_on_time),
	    T(test_unresolved_then_late),
	    T(test_escalation_and_repeat),
	    T(test_escalation_not_by_the_customer),
	    T(test_deflection_by_customer_ignored),
	    T(test_precedence),
	    T(test_customer_from_brand_parent),
	    T(test_customer_from_mention),
	    T(test_unknown_customer),
	    T(test_customer_case_insensitive),
	    T(test_windows),
	    T(test_brand_of_posts),
	    T(test_two_customers),
	    T(test_new_case_after_close),
	    T(test_retention),
	    T(test_posts_remembered_in_bulk),
	    T(test_long_keys),
	    T(test_drain),
	    T(test_deadline_ties_in_creation_order),
	    T(test_restore_round_trip),
	    T(test_heap_order),
	    T(test_operator_close),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_reorder),
	    cmocka_unit_test(test_reorder_many),
	    cmocka_unit_test(test_reorder_free_items),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
