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
		struct diag warn = DIAG_INIT;

		rs = ruleset_load_dirs(de->d_name, &d, &warn);
		if (rs != NULL)
			ruleset_check_scope(rs, NULL, 0, &warn);
		for (size_t i = 0; i < d.n; i++) {
			buf_adds(&got, d.msgs[i]);
			buf_addc(&got, '\n');
		}
		/* A case with a "warnings" file checks them too, after the errors. */
		path = xasprintf("%s/warnings", de->d_name);
		if (access(path, R_OK) == 0) {
			struct buf gotw = BUF_INIT;

			for (size_t i = 0; i < warn.n; i++) {
				buf_adds(&gotw, warn.msgs[i]);
				buf_addc(&gotw, '\n');
			}
			expected = slurp(path);
			if (strcmp(expected, gotw.s ? gotw.s : "") != 0) {
				fprintf(stderr, "case %s:\n--- expected warnings\n%s--- got\n%s",
				    de->d_name, expected, gotw.s ? gotw.s : "");
				fail_msg("case %s: warnings differ", de->d_name);
			}
			free(expected);
			buf_free(&gotw);
		}
		free(path);
		diag_free(&warn);
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

/* Builds a rule set from text ("t.rules"), or from a shipped and a local file. */
static struct ruleset *
parse_files(const char *text, const char *local, struct diag *d)
{
	struct ruleset *rs = ruleset_new();

	ruleset_add_buffer(rs, local ? "10-shipped.rules" : "t.rules", text, strlen(text), d);
	if (local != NULL)
		ruleset_add_buffer(rs, "99-local.rules", local, strlen(local), d);
	ruleset_finish(rs, d);
	return rs;
}

/* parse_files that fails the test on any error. */
static struct ruleset *
load_files(const char *text, const char *local)
{
	struct diag d = DIAG_INIT;
	struct ruleset *rs = parse_files(text, local, &d);

	for (size_t i = 0; i < d.n; i++)
		print_error("%s\n", d.msgs[i]);
	assert_int_equal(d.n, 0);
	return rs;
}

/* One file's rule set. */
static struct ruleset *
load(const char *text)
{
	return load_files(text, NULL);
}

/* A shipped and a local file's rule set. */
static struct ruleset *
load2(const char *shipped_text, const char *local)
{
	return load_files(shipped_text, local);
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


static const char shipped[] =
    "[deflection dm-us]\n"
    "pattern = \\bdm\\s+us\\b\n"
    "unless = \\bnever\\b\n"
    "tags = dm\n"
    "example = please dm us\n"
    "[deflection call-us]\n"
    "pattern = \\bcall\\s+us\\b\n"
    "example = call us\n";

static void
test_override_key_by_key(void **state)
{
	struct ruleset *rs = load2(shipped,
	    "[deflection call-us]\nenabled = no\nwindow = 12h\n"
	    "[deflection dm-us]\nunless = \\bnever\\s+ask\\b\n"
	    "pattern += \\bmessage\\s+us\\b\ntags += local\n");
	const struct rule *r = ruleset_find(rs, "call-us");
	const struct rule_origin *o;
	struct one one;

	(void)state;
	/* Still two rules, in the shipped order. */
	assert_int_equal(rs->n, 2);
	assert_non_null(r);
	assert_int_equal(r->enabled, 0);
	assert_int_equal(r->window, 12 * 3600);
	assert_string_equal(r->file, "10-shipped.rules");
	assert_int_equal(r->noverrides, 1);
	assert_string_equal(r->overrides[0].file, "99-local.rules");
	assert_int_equal(r->overrides[0].line, 1);
	o = rule_key_origin(r, "enabled");
	assert_non_null(o);
	assert_string_equal(o->file, "99-local.rules");
	assert_int_equal(o->line, 2);
	o = rule_key_origin(r, "pattern");
	assert_string_equal(o->file, "10-shipped.rules");
	assert_int_equal(o->line, 7);
	assert_int_equal(run(rs, "call us", ROLE_BRAND, NULL, NULL, NULL, &one), 0);

	/* The unless was narrowed: "never" alone no longer drops the post. */
	r = ruleset_find(rs, "dm-us");
	assert_int_equal(r->nunless, 1);
	assert_int_equal(run(rs, "dm us, never mind", ROLE_BRAND, NULL, NULL, NULL, &one), 1);
	assert_int_equal(run(rs, "we never ask: dm us", ROLE_BRAND, NULL, NULL, NULL, &one), 0);
	/* "+=" added to the shipped pattern and tags instead of replacing them. */
	assert_int_equal(r->nany, 2);
	assert_int_equal(run(rs, "message us", ROLE_BRAND, NULL, NULL, NULL, &one), 1);
	assert_int_equal(r->ntags, 2);
	assert_string_equal(r->tags[1], "local");
	o = rule_key_origin(r, "unless");
	assert_string_equal(o->file, "99-local.rules");
	ruleset_free(rs);
}

/* Loads two files and returns the errors, one line each. */
static char *
load2_errors(const char *shipped_text, const char *local)
{
	struct diag d = DIAG_INIT;
	struct ruleset *rs = parse_files(shipped_text, local, &d);
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d.n; i++) {
		buf_adds(&b, d.msgs[i]);
		buf_addc(&b, '\n');
	}
	diag_free(&d);
	ruleset_free(rs);
	buf_add(&b, "", 0);
	return b.s;
}

static void
test_override_errors(void **state)
{
	char *e;

	(void)state;
	/* The override replaced the example: the shipped one is not checked, this one is. */
	e = load2_errors(shipped, "[deflection dm-us]\nexample = call me\n");
	assert_string_equal(e, "99-local.rules:2:11: example does not match rule \"dm-us\"\n");
	free(e);
	/* A typo in the id makes a new rule without a pattern. */
	e = load2_errors(shipped, "[deflection dm-uss]\nenabled = no\n");
	assert_string_equal(e, "99-local.rules:1:1: rule \"dm-uss\" has no pattern, phrase or "
	    "link (and no earlier file has a rule with this id to override)\n");
	free(e);
	e = load2_errors(shipped, "[escalation dm-us]\nenabled = no\n");
	assert_string_equal(e, "99-local.rules:1:2: rule \"dm-us\" is a deflection rule "
	    "(10-shipped.rules:1); an override must name the same kind\n");
	free(e);
	e = load2_errors(shipped, "[deflection dm-us]\nenabled += no\n");
	assert_non_null(strstr(e, "99-local.rules:2:1: \"+=\" adds to a list key"));
	free(e);
	/* Within one file a repeated id stays an error. */
	e = load2_errors(shipped, "[deflection x]\npattern = x\n[deflection x]\npattern = y\n");
	assert_string_equal(e, "99-local.rules:3:1: duplicate rule id \"x\" (first defined at "
	    "99-local.rules:1); an override belongs in a later file\n");
	free(e);
}

static void
test_scope_warnings_brands(void **state)
{
	struct ruleset *rs = load("[deflection b]\npattern = \\bdm\\b\nbrand = acme, acmee, zzz\n"
				  "example = dm\n");
	char *brands[] = {"acme", "other"};
	struct diag w = DIAG_INIT;

	(void)state;
	ruleset_check_scope(rs, brands, 2, &w);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.msgs[0], "t.rules:3:15: warning: brand \"acmee\" is not a [brand] "
	    "of the config, so this rule never fires; did you mean \"acme\"?");
	assert_string_equal(w.msgs[1], "t.rules:3:22: warning: brand \"zzz\" is not a [brand] "
	    "of the config, so this rule never fires");
	diag_free(&w);
	/* Without configured brands, any brand name may be right. */
	ruleset_check_scope(rs, NULL, 0, &w);
	assert_int_equal(w.n, 0);
	ruleset_free(rs);
}

static void
test_why_not(void **state)
{
	struct ruleset *rs = load2(shipped, "[deflection call-us]\nenabled = no\n"
	    "[deflection scoped]\npattern = \\bdm\\b\nplatform = mastodon\nby = customer\n"
	    "require = \\bplease\\b\nexample = please dm\n");
	struct match_scratch *ms = match_scratch_new();
	struct buf norm = BUF_INIT;
	struct match_input in = {0};
	struct rule_miss m[8];
	size_t n;

	(void)state;
	normalize("We never DM. Call us, dm us", 27, &norm);
	in.text = norm.s;
	in.len = norm.len;
	in.role = ROLE_BRAND;
	in.platform = "twitter";
	n = match_why_not(rs, ms, &in, m, 8);
	assert_int_equal(n, 3);
	assert_string_equal(m[0].rule->id, "dm-us");
	assert_int_equal(m[0].why, MISS_UNLESS);
	assert_string_equal(m[0].file, "10-shipped.rules");
	assert_int_equal(m[0].line, 3);
	assert_int_equal(m[0].ustart, 3);
	assert_int_equal(m[0].uend, 8);
	assert_string_equal(m[1].rule->id, "call-us");
	assert_int_equal(m[1].why, MISS_DISABLED);
	assert_string_equal(m[2].rule->id, "scoped");
	assert_int_equal(m[2].why, MISS_PLATFORM | MISS_BY | MISS_REQUIRE);
	assert_string_equal(m[2].file, "99-local.rules");
	assert_int_equal(m[2].line, 7);
	buf_free(&norm);
	match_scratch_free(ms);
	ruleset_free(rs);
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
	    cmocka_unit_test(test_override_key_by_key),
	    cmocka_unit_test(test_override_errors),
	    cmocka_unit_test(test_scope_warnings_brands),
	    cmocka_unit_test(test_why_not),
	    cmocka_unit_test(test_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
