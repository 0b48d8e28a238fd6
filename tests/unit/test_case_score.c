/*
 * Case-level scores: findings as the tracker emits them and follow-up labels,
 * counted into truth x predicted; and the stable fit/check split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "case_score.h"

/* Feeds one finding of type for the case c. */
static void
feed(struct case_score *cs, enum finding_type type, const struct tcase *c, int64_t at)
{
	struct finding f = {type, at, c, c->post_id, "r", 0, 0};

	case_score_finding(cs, &f);
}

/* A case with its conversation, customer, deflecting post and time. */
static struct tcase
mkcase(const char *conv, const char *customer, const char *post, int64_t at)
{
	struct tcase c;

	memset(&c, 0, sizeof c);
	c.conversation_id = (char *)conv;
	c.customer = (char *)customer;
	c.post_id = (char *)post;
	c.deflected_at = at;
	return c;
}

/* Each truth meets each prediction; labels before the deflection do not count. */
static void
test_counts(void **state)
{
	(void)state;
	struct case_score *cs = case_score_new();
	struct tcase a = mkcase("c1", "u1", "p1", 100), b = mkcase("c2", "u2", "p2", 100),
		     c = mkcase("c3", "u3", "p3", 100), d = mkcase("c4", "u4", "p4", 100),
		     e = mkcase("c5", "u5", "p5", 100);
	struct case_counts cc;

	feed(cs, FINDING_DEFLECTION, &a, 100);
	feed(cs, FINDING_RESOLUTION, &a, 150); /* resolved, labelled resolved */
	feed(cs, FINDING_DEFLECTION, &b, 100);
	feed(cs, FINDING_ESCALATION, &b, 120); /* escalated, labelled resolved */
	feed(cs, FINDING_DEFLECTION, &c, 100);
	feed(cs, FINDING_UNRESOLVED, &c, 200); /* unresolved, labelled escalated */
	feed(cs, FINDING_DEFLECTION, &d, 100);
	feed(cs, FINDING_RESOLVED_LATE, &d, 300); /* resolved late, labelled none */
	feed(cs, FINDING_DEFLECTION, &e, 100); /* no label after the deflection */
	case_score_label(cs, "c1", "x1", NULL, 150, "resolution");
	case_score_label(cs, "c2", "x2", NULL, 120, "escalation");
	case_score_label(cs, "c2", "x3", NULL, 130, "resolution");
	case_score_label(cs, "c3", "x4", NULL, 150, "escalation");
	case_score_label(cs, "c4", "x5", NULL, 150, "none");
	case_score_label(cs, "c5", "x6", NULL, 50, "resolution"); /* before the deflection */
	case_score_label(cs, "c5", "p5", NULL, 100, "deflection"); /* the deflecting post itself */
	case_score_count(cs, &cc);
	assert_int_equal(cc.cases, 5);
	assert_int_equal(cc.unlabeled, 1);
	assert_int_equal(cc.n[CV_RESOLVED][CV_RESOLVED], 1);
	assert_int_equal(cc.n[CV_RESOLVED][CV_ESCALATED], 1);
	assert_int_equal(cc.n[CV_ESCALATED][CV_UNRESOLVED], 1);
	assert_int_equal(cc.n[CV_UNRESOLVED][CV_RESOLVED], 1);
	assert_int_equal(cc.n[CV_UNRESOLVED][CV_UNRESOLVED], 0);
	case_score_free(cs);
}

/*
 * One conversation, two customers' cases: u1's deflected at 100, u2's at 200
 * and closed by a resolution at 250.
 */
static struct case_score *
two_customers(void)
{
	struct case_score *cs = case_score_new();
	struct tcase a = mkcase("c1", "u1", "p1", 100), b = mkcase("c1", "u2", "p2", 200);

	feed(cs, FINDING_DEFLECTION, &a, 100);
	feed(cs, FINDING_DEFLECTION, &b, 200);
	feed(cs, FINDING_RESOLUTION, &b, 250);
	return cs;
}

/* Two cases in one conversation (two customers) both see a brand label addressed to no one known. */
static void
test_shared_conversation(void **state)
{
	(void)state;
	struct case_score *cs = two_customers();
	struct case_counts cc;

	case_score_label(cs, "c1", "x1", NULL, 250, "resolution");
	case_score_count(cs, &cc);
	assert_int_equal(cc.cases, 2);
	assert_int_equal(cc.n[CV_RESOLVED][CV_RESOLVED], 1);
	assert_int_equal(cc.n[CV_RESOLVED][CV_UNRESOLVED], 1);
	case_score_free(cs);
}

/* A brand post replying to one customer speaks of that customer's case only. */
static void
test_brand_reply_to_one_customer(void **state)
{
	(void)state;
	struct case_score *cs = two_customers();
	struct case_counts cc;

	case_score_label(cs, "c1", "x1", "u2", 250, "resolution");
	case_score_label(cs, "c1", "x2", "u1", 260, "none");
	case_score_count(cs, &cc);
	assert_int_equal(cc.cases, 2);
	assert_int_equal(cc.n[CV_RESOLVED][CV_RESOLVED], 1);    /* u2's */
	assert_int_equal(cc.n[CV_UNRESOLVED][CV_UNRESOLVED], 1); /* u1's */
	assert_int_equal(cc.n[CV_RESOLVED][CV_UNRESOLVED], 0);
	case_score_free(cs);
}

/* The split is FNV-1a: fixed values, and roughly half of many ids each way. */
static void
test_split(void **state)
{
	(void)state;
	char id[32];
	int fit = 0;

	/* FNV-1a("") = 0x811c9dc5 (odd), FNV-1a("a") = 0xe40c292c (even). */
	assert_int_equal(split_half_of(""), SPLIT_CHECK);
	assert_int_equal(split_half_of("a"), SPLIT_FIT);
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof id, "%d", 1000000 + i * 7);
		fit += split_half_of(id) == SPLIT_FIT;
	}
	assert_true(fit > 4500 && fit < 5500);
}

/* A customer's label counts for that customer's case only; a brand's for every case. */
static void
test_label_author(void **state)
{
	(void)state;
	struct case_score *cs = case_score_new();
	struct tcase a = mkcase("c1", "u1", "p1", 100), b = mkcase("c1", "u2", "p2", 100);
	struct case_counts cc;

	feed(cs, FINDING_DEFLECTION, &a, 100);
	feed(cs, FINDING_DEFLECTION, &b, 100);
	case_score_label(cs, "c1", "x1", "u1", 150, "escalation");
	case_score_label(cs, "c1", "x2", NULL, 160, "none");
	case_score_count(cs, &cc);
	assert_int_equal(cc.n[CV_ESCALATED][CV_UNRESOLVED], 1); /* u1's case */
	assert_int_equal(cc.n[CV_UNRESOLVED][CV_UNRESOLVED], 1); /* u2's: only the brand post */
	case_score_free(cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_shared_conversation),
	    cmocka_unit_test(test_brand_reply_to_one_customer),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_label_author),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
