/*
 * Alert documents and their Slack bodies, per type: the summary says what
 * happened without a deadline still to come, an escalation carries the
 * customer's words and a link, quotes never put '>' mid-line, and a digest
 * shows a count and the first few.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert.h"
#include "post.h"

/* 2026-11-23T08:00:00Z and the deadline an hour on. */
#define T0 1795420800
#define DEADLINE (T0 + 3600)

static struct tcase kase = {"twitter", "1849", "jane_doe", "acme", CASE_DEFLECTED, T0, DEADLINE,
    0, 0, 1, "1850", "dm-request", 3, 8};

/* The document of one alert of type t raised by post (NULL: the deflection). */
static json_t *
doc_for(enum finding_type t, const char *type, const char *post_id, const char *text,
    int64_t at)
{
	struct finding f = {t, at, &kase, post_id ? post_id : kase.post_id, kase.rule, 0, 5};
	struct alert_input in;
	char *s;
	json_t *doc;

	memset(&in, 0, sizeof in);
	in.f = &f;
	in.type = type;
	in.id = "dfl_0123456789abcdef01234567";
	in.created_at = at;
	in.text = "So sorry! Please DM us your order number.";
	in.url = "https://twitter.com/AcmeSupport/status/1850";
	in.match = "DM us";
	if (post_id != NULL) {
		in.post_author = "jane_doe";
		in.post_text = text;
		in.post_url = "https://twitter.com/jane_doe/status/1851";
	}
	s = alert_document(&in);
	assert_non_null(s);
	doc = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(doc);
	return doc;
}

/* Checks every mrkdwn text of a Slack body: '>' only starts a quote line or ends a link. */
static void
assert_quotes_ok(json_t *body)
{
	size_t i;
	json_t *b;

	json_array_foreach(json_object_get(body, "blocks"), i, b) {
		json_t *t = json_object_get(json_object_get(b, "text"), "text");
		const char *s = t ? json_string_value(t) :
		    json_string_value(json_object_get(json_array_get(json_object_get(b, "elements"), 0),
			"text"));
		int in_link = 0;

		assert_non_null(s);
		assert_true(strlen(s) <= 3000);
		for (size_t k = 0; s[k]; k++) {
			if (s[k] == '<')
				in_link = 1;
			else if (s[k] == '>' && in_link)
				in_link = 0;
			else if (s[k] == '>')
				assert_true(k == 0 || s[k - 1] == '\n');
		}
	}
}

/* The Slack body of a document, parsed. */
static json_t *
slack_of(json_t *doc)
{
	char *d = json_dumps(doc, JSON_COMPACT), *s = alert_slack(d);
	json_t *body;

	free(d);
	assert_non_null(s);
	body = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(body);
	return body;
}

static void
test_summaries_per_type(void **state)
{
	json_t *det = doc_for(FINDING_DEFLECTION, "deflection.detected", NULL, NULL, T0);
	json_t *unr = doc_for(FINDING_UNRESOLVED, "deflection.unresolved", NULL, NULL, DEADLINE);
	json_t *esc = doc_for(FINDING_ESCALATION, "deflection.escalated", "1851",
	    "@AcmeSupport I DMed you > twice & still nothing", T0 + 600);
	const char *s;

	(void)state;
	s = json_string_value(json_object_get(det, "summary"));
	assert_non_null(strstr(s, "a public resolution is due by 2026-11-23T09:00:00Z"));
	assert_null(strstr(s, "no public resolution"));
	assert_true(json_is_null(json_object_get(det, "post")));
	s = json_string_value(json_object_get(unr, "summary"));
	assert_string_equal(s, "acme sent jane_doe to a private channel on twitter at "
	    "2026-11-23T08:00:00Z (rule dm-request) and there was no public resolution by "
	    "2026-11-23T09:00:00Z");
	s = json_string_value(json_object_get(esc, "summary"));
	assert_null(strstr(s, "no public resolution"));
	assert_non_null(strstr(s, "at 2026-11-23T08:10:00Z they escalated in public: "
	    "\"@AcmeSupport I DMed you > twice & still nothing\""));
	json_t *p = json_object_get(esc, "post");
	assert_string_equal(json_string_value(json_object_get(p, "post_id")), "1851");
	assert_string_equal(json_string_value(json_object_get(p, "kind")), "escalation");
	assert_string_equal(json_string_value(json_object_get(p, "url")),
	    "https://twitter.com/jane_doe/status/1851");
	json_decref(det);
	json_decref(unr);
	json_decref(esc);
}

static void
test_slack_per_type(void **state)
{
	json_t *esc = doc_for(FINDING_ESCALATION, "deflection.escalated", "1851",
	    "@AcmeSupport I DMed you > twice & still nothing", T0 + 600);
	json_t *det = doc_for(FINDING_DEFLECTION, "deflection.detected", NULL, NULL, T0);
	json_t *b = slack_of(esc), *d = slack_of(det);
	const char *text = json_string_value(json_object_get(b, "text"));
	char *all = json_dumps(json_object_get(b, "blocks"), 0);

	(void)state;
	assert_non_null(strstr(text, "Customer escalated after a deflection: "));
	assert_null(strstr(text, "no public resolution"));
	assert_null(strstr(json_string_value(json_object_get(d, "text")), "no public resolution"));
	/* The customer's words, escaped, as a quote of their own, and a link to their post. */
	assert_non_null(strstr(all, "*The customer wrote* (jane_doe):\\n>@AcmeSupport I DMed you "
	    "&gt; twice &amp; still nothing\\n<https://twitter.com/jane_doe/status/1851|View the "
	    "post>"));
	assert_non_null(strstr(all, "\\n>So sorry! Please DM us your order number.\\n"
	    "<https://twitter.com/AcmeSupport/status/1850|View the deflecting post>"));
	assert_quotes_ok(b);
	assert_quotes_ok(d);
	free(all);
	json_decref(b);
	json_decref(d);
	json_decref(esc);
	json_decref(det);
}

static void
test_digest(void **state)
{
	json_t *alerts = json_array(), *doc, *body;
	char *s, *all;

	(void)state;
	for (int i = 0; i < 7; i++)
		json_array_append_new(alerts, doc_for(FINDING_UNRESOLVED, "deflection.unresolved",
		    NULL, NULL, DEADLINE));
	s = alert_digest("dgst_0123456789abcdef01234567", "ops", "{\"brand\":\"acme\"}", DEADLINE,
	    alerts);
	assert_non_null(s);
	doc = json_loads(s, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(doc, "type")), "deflection.digest");
	assert_int_equal(json_integer_value(json_object_get(doc, "count")), 7);
	assert_int_equal(json_array_size(json_object_get(doc, "alerts")), 7);
	assert_string_equal(json_string_value(json_object_get(doc, "summary")),
	    "7 alerts, brand acme");
	body = slack_of(doc);
	assert_string_equal(json_string_value(json_object_get(body, "text")),
	    "Digest: 7 alerts, brand acme");
	all = json_dumps(json_object_get(body, "blocks"), 0);
	size_t bullets = 0;
	for (const char *p = all; (p = strstr(p, "• *Unresolved deflection*")) != NULL; p++)
		bullets++;
	assert_int_equal(bullets, 5);
	assert_non_null(strstr(all, "...and 2 more in this digest"));
	assert_non_null(strstr(all, "dgst_0123456789abcdef01234567"));
	assert_quotes_ok(body);
	free(all);
	free(s);
	json_decref(body);
	json_decref(doc);
}

/* Posts are anyone's: escaping and long fields never take a Slack text past 3000 bytes. */
static void
test_hostile_text_stays_within_slack_limits(void **state)
{
	char *text = malloc(20001), *s;
	json_t *alerts = json_array(), *doc, *body;

	(void)state;
	memset(text, '&', 20000);
	text[20000] = '\0';
	for (int i = 0; i < 7; i++)
		json_array_append_new(alerts, doc_for(FINDING_ESCALATION, "deflection.escalated", "1851",
		    text, T0 + 600));
	body = slack_of(json_array_get(alerts, 0));
	assert_quotes_ok(body);
	json_decref(body);
	s = alert_digest("dgst_0123456789abcdef01234567", "ops", "{\"brand\":\"acme\"}", T0,
	    alerts);
	doc = json_loads(s, 0, NULL);
	body = slack_of(doc);
	assert_quotes_ok(body);
	char *all = json_dumps(json_object_get(body, "blocks"), 0);
	assert_non_null(strstr(all, "more in this digest")); /* fewer than 7 fit */
	free(all);
	json_decref(body);
	json_decref(doc);
	free(s);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_summaries_per_type),
	    cmocka_unit_test(test_slack_per_type),
	    cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_hostile_text_stays_within_slack_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
