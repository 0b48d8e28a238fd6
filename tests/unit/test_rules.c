/*
 * Rule parser and matcher. The parser cases are directories under
 * tests/data/rules: the *.rules files and "expected", the exact error lines
 * (empty for a valid set).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "match.h"
#include "normalize.h"
#include "rule_lists.h"
#include "rules.h"
#include "../../daemon/rules_internal.h"
#include "xmalloc.h"

/* Reads a small file into a new string. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	buf_add(&b, "", 0);
	return b.s;
}

static void
test_data_dirs(void **state)
{
	const char *data = getenv("DEFLECTD_TEST_DATA");
	struct dirent *de;
	DIR *dp;
	int cases = 0;

	(void)state;
	assert_non_null(data);
	char *dir = xasprintf("%s/rules", data);
	assert_int_equal(chdir(dir), 0);
	free(dir);
	dp = opendir(".");
	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL) {
		struct diag d = DIAG_INIT;
		struct buf got = BUF_INIT;
		struct ruleset *rs;
		char *expected, *path;

		if (de->d_name[0] == '.')
			continue;
		rs = ruleset_load_dir(de->d_name, &d);
		for (size_t i = 0; i < d.n; i++) {
			buf_adds(&got, d.msgs[i]);
			buf_addc(&got, '\n');
		}
		path = xasprintf("%s/expected", de->d_name);
		expected = slurp(path);
		if (strcmp(expected, got.s ? got.s : "") != 0) {
			/* cmocka truncates long failure messages, so print first. */
			fprintf(stderr, "case %s:\n--- expected\n%s--- got\n%s", de->d_name,
			    expected, got.s ? got.s : "");
			fail_msg("case %s differs", de->d_name);
		}
		/* A set with errors is never handed out; a clean one always is. */
		assert_true((rs == NULL) == (d.n > 0));
		ruleset_free(rs);
		diag_free(&d);
		buf_free(&got);
		free(expected);
		free(path);
		cases++;
	}
	closedir(dp);
	assert_true(cases >= 7);
}

/* Builds a rule set from text; fails the test on any error. */
static struct ruleset *
load(const char *text)
{
	struct diag d = DIAG_INIT;
	struct ruleset *rs = ruleset_new();

	ruleset_add_buffer(rs, "t.rules", text, strlen(text), &d);
	ruleset_finish(rs, &d);
	for (size_t i = 0; i < d.n; i++)
		print_error("%s\n", d.msgs[i]);
	assert_int_equal(d.n, 0);
	return rs;
}

struct one {
	char ids[256];
	size_t start, end; /* of the first match */
};

/* Runs rs on raw text and lists the matching rule ids. */
static size_t
run(struct ruleset *rs, const char *raw, enum author_role role, const char *brand,
    const char *platform, const char *lang, struct one *o)
{
	struct match_scratch *ms = match_scratch_new();
	struct buf norm = BUF_INIT;
	struct match m[16];
	struct match_input in = {0};
	size_t n;

	normalize(raw, strlen(raw), &norm);
	in.text = norm.s;
	in.len = norm.len;
	in.role = role;
	in.brand = brand;
	in.platform = platform;
	in.lang = lang;
	n = match_run(rs, ms, &in, m, 16);
	o->ids[0] = '\0';
	for (size_t i = 0; i < n && i < 16; i++) {
		if (i)
			strcat(o->ids, ",");
		strcat(o->ids, m[i].rule->id);
	}
	o->start = n ? m[0].start : 0;
	o->end = n ? m[0].end : 0;
	buf_free(&norm);
	match_scratch_free(ms);
	return n;
}

static void
test_pattern_span_and_roles(void **state)
{
	struct ruleset *rs = load("[deflection dm]\npattern = \\bdm\\s+us\\b\n"
				  "[resolution fixed]\nby = customer\npattern = \\bfixed\\b\n");
	struct one o;

	(void)state;
	assert_int_equal(run(rs, "Sorry! Please  DM us.", ROLE_BRAND, NULL, NULL, NULL, &o), 1);
	assert_string_equal(o.ids, "dm");
	assert_int_equal(o.start, 14);
	assert_int_equal(o.end, 19);
	/* Deflection rules default to by = brand. */
	assert_int_equal(run(rs, "dm us", ROLE_CUSTOMER, NULL, NULL, NULL, &o), 0);
	assert_int_equal(run(rs, "it's FIXED", ROLE_CUSTOMER, NULL, NULL, NULL, &o), 1);
	assert_string_equal(o.ids, "fixed");
	assert_int_equal(run(rs, "it's fixed", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	assert_int_equal(rs->rules[0].hits, 1);
	ruleset_free(rs);
}

static void
test_require_unless(void **state)
{
	struct ruleset *rs = load("[deflection d]\npattern = \\bdm\\b\nrequire = \\b(us|me)\\b\n"
				  "require = \\bplease\\b\nunless = \\bnever\\b\nunless = \\bnot\\b\n");
	struct one o;

	(void)state;
	assert_int_equal(run(rs, "please dm us", ROLE_BRAND, NULL, NULL, NULL, &o), 1);
	assert_int_equal(run(rs, "dm us", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	assert_int_equal(run(rs, "please dm", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	assert_int_equal(run(rs, "please never dm us", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	assert_int_equal(run(rs, "please do not dm us", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	ruleset_free(rs);
}

static void
test_phrases(void **state)
{
	struct ruleset *rs = load("[deflection p]\nphrase = send us a DM\nphrase = e-mail (us)\n"
				  "phrase = café\n");
	struct one o;

	(void)state;
	assert_int_equal(run(rs, "Please send us a  dm!", ROLE_BRAND, NULL, NULL, NULL, &o), 1);
	assert_int_equal(o.start, 7);
	assert_int_equal(o.end, 19);
	/* Literal, not regex: the parentheses are characters. */
	assert_int_equal(run(rs, "E-mail (us) today", ROLE_BRAND, NULL, NULL, NULL, &o), 1);
	assert_int_equal(run(rs, "e-mail us today", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	/* Word edges: no match inside a longer word. */
	assert_int_equal(run(rs, "resend us a dms", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	assert_int_equal(run(rs, "CAFÉ", ROLE_BRAND, NULL, NULL, NULL, &o), 1);
	assert_int_equal(run(rs, "cafés", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	ruleset_free(rs);
}

static void
test_links(void **state)
{
	struct ruleset *rs = load("[deflection l]\nlink = twitter.com/messages/compose\n"
				  "[deflection m]\nlink = m.me\n");
	struct one o;

	(void)state;
	assert_int_equal(run(rs, "DM: https://twitter.com/messages/compose?recipient_id=1 ok",
			     ROLE_BRAND, NULL, NULL, NULL, &o),
	    1);
	assert_string_equal(o.ids, "l");
	assert_int_equal(o.start, 4);
	assert_int_equal(o.end, 55);
	assert_int_equal(run(rs, "mobile.twitter.com/messages/compose", ROLE_BRAND, NULL, NULL,
			     NULL, &o),
	    1);
	assert_int_equal(run(rs, "https://twitter.com/messages", ROLE_BRAND, NULL, NULL, NULL, &o),
	    0);
	assert_int_equal(run(rs, "https://twitter.com.evil.example/messages/compose", ROLE_BRAND,
			     NULL, NULL, NULL, &o),
	    0);
	assert_int_equal(run(rs, "chat at m.me/acme", ROLE_BRAND, NULL, NULL, NULL, &o), 1);
	assert_string_equal(o.ids, "m");
	assert_int_equal(run(rs, "mail help@m.me now", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	assert_int_equal(run(rs, "see xm.me/acme", ROLE_BRAND, NULL, NULL, NULL, &o), 0);
	ruleset_free(rs);
}

static void
test_scope_and_enabled(void **state)
{
	struct ruleset *rs = load("[deflection b]\npattern = \\bdm\\b\nbrand = Acme\n"
				  "[deflection p]\npattern = \\bdm\\b\nplatform = mastodon\n"
				  "[deflection l]\npattern = \\bmd\\b\nlang = es\n"
				  "[deflection off]\npattern = \\bdm\\b\nenabled = no\n"
				  "[deflection any]\nby = any\npattern = \\bdm\\b\n");
	struct one o;

	(void)state;
	assert_int_equal(run(rs, "dm", ROLE_BRAND, "acme", "twitter", NULL, &o), 2);
	assert_string_equal(o.ids, "b,any");
	assert_int_equal(run(rs, "dm", ROLE_BRAND, NULL, "mastodon", NULL, &o), 2);
	assert_string_equal(o.ids, "p,any");
	assert_int_equal(run(rs, "dm", ROLE_CUSTOMER, "acme", "mastodon", NULL, &o), 1);
	assert_string_equal(o.ids, "any");
	/* lang scope: unknown language still applies; es-MX is es. */
	assert_int_equal(run(rs, "md", ROLE_BRAND, NULL, NULL, NULL, &o), 1);
	assert_int_equal(run(rs, "md", ROLE_BRAND, NULL, NULL, "es-MX", &o), 1);
	assert_int_equal(run(rs, "md", ROLE_BRAND, NULL, NULL, "en", &o), 0);
	ruleset_free(rs);
}

static void
test_runaway_pattern_is_bounded(void **state)
{
	struct ruleset *rs = load("[deflection evil]\npattern = ^(\\w+\\s?)+$\n"
				  "[deflection good]\npattern = \\bdm\\b\n");
	char text[200];
	struct one o;

	(void)state;
	memset(text, 'a', sizeof text - 2);
	text[sizeof text - 2] = '!';
	text[sizeof text - 1] = '\0';
	memcpy(text, "dm ", 3);
	/* The runaway rule fails this match and is counted; the other still runs. */
	assert_int_equal(run(rs, text, ROLE_BRAND, NULL, NULL, NULL, &o), 1);
	assert_string_equal(o.ids, "good");
	assert_int_equal(rs->limit_hits, 1);
	ruleset_free(rs);
}

static void
test_durations(void **state)
{
	(void)state;
	assert_int_equal(parse_duration("90s"), 90);
	assert_int_equal(parse_duration("15m"), 900);
	assert_int_equal(parse_duration("72h"), 259200);
	assert_int_equal(parse_duration("3d"), 259200);
	assert_int_equal(parse_duration("1w"), 604800);
	assert_int_equal(parse_duration("1d12h"), 129600);
	assert_int_equal(parse_duration("45"), -1);
	assert_int_equal(parse_duration("0s"), 0);
	assert_int_equal(parse_duration(""), -1);
	assert_int_equal(parse_duration("h"), -1);
	assert_int_equal(parse_duration("3x"), -1);
	assert_int_equal(parse_duration("1h30"), -1);
	assert_int_equal(parse_duration("-1h"), -1);
	assert_int_equal(parse_duration("99999999999999999999d"), -1);
}

/* Collects explain's list hits as "list=item:span" words. */
static void
note_hit(void *arg, const struct rule_list_hit *h)
{
	char *out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%s=%s:%zu-%zu ", h->list, h->item, h->start,
	    h->end);
}

/*
 * A pattern using lists matches as its expansion; the prefilter reads the
 * expanded regex (every branch needs a literal, so the rule does not always
 * run); explain names the item behind each part of a match.
 */
static void
test_lists(void **state)
{
	(void)state;
	struct ruleset *rs = load("[list ok]\nitem = working\\s+now\nitem = sorted\n"
	    "[list thx]\nitem = thanks?\nitem = cheers\n"
	    "[resolution r]\npattern = \\b{thx}\\b.{0,10}\\b{ok}\\b\n"
	    "example = thanks, working now\n");
	struct one o;
	char hits[256] = "";

	assert_int_equal(run(rs, "Cheers!! all sorted", ROLE_CUSTOMER, NULL, NULL, NULL, &o), 1);
	assert_int_equal(run(rs, "sorted, thanks", ROLE_CUSTOMER, NULL, NULL, NULL, &o), 0);
	assert_true(rs->rules[0].any[0]->nalts > 0);
	assert_int_equal(rs->always[0], 0);
	assert_string_equal(rs->rules[0].any[0]->src, "\\b{thx}\\b.{0,10}\\b{ok}\\b");
	assert_int_equal(rule_explain_lists(rs, &rs->rules[0], "cheers, all sorted", 18, 0,
	    note_hit, hits), 2);
	assert_string_equal(hits, "thx=cheers:0-6 ok=sorted:12-18 ");
	ruleset_free(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_dirs),
	    cmocka_unit_test(test_pattern_span_and_roles),
	    cmocka_unit_test(test_require_unless),
	    cmocka_unit_test(test_phrases),
	    cmocka_unit_test(test_links),
	    cmocka_unit_test(test_scope_and_enabled),
	    cmocka_unit_test(test_runaway_pattern_is_bounded),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
