/*
 * The literal prefilter: what it derives from patterns, the automaton, and
 * the property that matters: with or without it, every post gets exactly
 * the same matches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "buf.h"
#include "match.h"
#include "normalize.h"
#include "prefilter.h"
#include "rules.h"
#include "xmalloc.h"

/*
 * What re needs: literals joined by '|', requirements by " & ", branches by
 * " || "; "*" = always; '^' is a word boundary.
 */
static void
lits(const char *re, const char *want)
{
	struct prefilter_alt *alt;
	char got[1024] = "";
	size_t n = prefilter_alternatives(re, &alt);

	if (n == 0)
		strcpy(got, "*");
	for (size_t a = 0; a < n; a++) {
		if (a)
			strcat(got, " || ");
		for (size_t i = 0; i < alt[a].n; i++) {
			if (i)
				strcat(got, " & ");
			for (size_t k = 0; k < alt[a].reqs[i].n; k++) {
				if (k)
					strcat(got, "|");
				/* The word-boundary mark prints as '^'. */
				for (const char *c = alt[a].reqs[i].lits[k]; *c; c++) {
					size_t len = strlen(got);

					got[len] = *c == '\x01' ? '^' : *c;
					got[len + 1] = '\0';
				}
			}
		}
	}
	prefilter_alternatives_free(alt, n);
	if (strcmp(got, want) != 0)
		fail_msg("literals of %s\n  got  %s\n  want %s", re, got, want);
}

static void
test_literals(void **state)
{
	(void)state;
	lits("\\bdm\\s+us\\b", "^dm  &  us^");   /* whitespace is one ' ' once normalized */
	lits("Direct Message", "direct message");
	lits("e-?mail", "e-mail|email");
	lits("colou?r", "colour|color");
	lits("a(b|c)d", "abd|acd");
	lits("(send|drop)\\s+us", "send |drop  &  us");
	lits("(send|x)\\s+us", "send |x  &  us");
	lits("(?:[\\w-]+\\.)*twitter\\.com(?::\\d+)?/messages/compose\\S*", "twitter.com & /messages/compose");
	lits("(?<!\\w)send\\s+us\\s+a\\s+DM(?!\\w)", "send  &  us  &  a  &  dm");
	lits("[Dd][Mm] us", "dm us");
	lits("(?i)DM(?-i)s", "dms");
	lits("caf\xc3\xa9s", "caf");                  /* non-ASCII is PCRE2's to fold */
	lits("dms?", "dms|dm");
	lits("(dm)+", "dm");
	lits("\\bx{2,}", "^xx & xx");            /* at least two x: starts and ends with "xx" */
	lits("x{1,3}", "*");                     /* "x" alone is too short */
	lits("\\d{3}-[0-9]{4}", "000-0000");     /* any digit is "0" */
	lits("ab{2,3}cd", "abb & bbcd");
	lits("dm*", "*");
	lits("(a)\\1", "*");                     /* backreferences are not modelled */
	lits("(*UTF)dm", "*");
	lits("(?x) d m", "*");
	lits("\\Qdm\\E", "*");
	lits("a|", "*");                         /* one branch matches empty */
	lits("\\bdm\\s+us\\b|\\bcall\\s+us", "^dm  &  us^ || ^call  &  us");
	lits("xy|z", "*");                       /* a branch too short to use */
	lits("(?=dm)\\w+", "*");                 /* lookarounds require nothing */
	lits("[^a]bc", "bc");
	lits("a.bc", "bc");
	lits("\\.com", ".com");
	lits("\\d{1,4}[\\s.-]\\d{3,4}", "0 000|0.000|0-000 & 000");  /* a repeat's head and tail join the run */
}

/* Case-insensitive ASCII substring test. */
static int
contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return n == 0;
}

static void
test_automaton_against_strstr(void **state)
{
	static const char *words[] = {"dm", "dms", "us", "send", "sender", "end", "he", "she",
	    "his", "hers", "a-b", "message", "age", "mess", "ssa"};
	const size_t nw = sizeof words / sizeof words[0];
	struct prefilter *pf = prefilter_new();
	uint32_t seen[32] = {0};
	char text[64];
	uint32_t seed = 1;

	(void)state;
	for (size_t i = 0; i < nw; i++)
		assert_int_equal(prefilter_add(pf, words[i]), i);
	assert_int_equal(prefilter_add(pf, "dm"), 0);
	prefilter_compile(pf);
	assert_int_equal(prefilter_count(pf), nw);
	for (uint32_t stamp = 1; stamp < 20000; stamp++) {
		size_t len = stamp % (sizeof text - 1);

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			text[i] = "dDmMsSuUeEnNhHiIrRaAgG- x\xc3"[(seed >> 16) % 26];
		}
		text[len] = '\0';
		uint32_t list[32];
		size_t nf = prefilter_scan(pf, text, len, seen, stamp, list, 32);
		size_t want = 0;

		for (size_t i = 0; i < nw; i++)
			want += contains_ci(text, words[i]);
		assert_int_equal(nf, want);
		for (size_t i = 0; i < nf; i++)
			assert_int_equal(seen[list[i]], stamp);
		for (size_t i = 0; i < nw; i++)
			if ((seen[i] == stamp) != contains_ci(text, words[i]))
				fail_msg("\"%s\" in \"%s\": scan says %d", words[i], text,
				    seen[i] == stamp);
	}
	prefilter_free(pf);
}

/* Loads a rule directory or fails. */
static struct ruleset *
load_dir(const char *dir)
{
	struct diag d = DIAG_INIT;
	struct ruleset *rs = ruleset_load_dir(dir, &d);

	for (size_t i = 0; i < d.n; i++)
		print_error("%s\n", d.msgs[i]);
	assert_non_null(rs);
	diag_free(&d);
	return rs;
}

/* Runs text through both paths, as brand and as customer; they must agree. */
static void
same_both_ways(struct ruleset *rs, struct match_scratch *ms, struct buf *norm, const char *text,
    size_t len)
{
	struct match a[64], b[64];
	struct match_input in = {0};
	struct prefilter *pf = rs->pf;

	normalize(text, len, norm);
	in.text = norm->s;
	in.len = norm->len;
	for (int role = ROLE_BRAND; role <= ROLE_CUSTOMER; role++) {
		in.role = (enum author_role)role;
		size_t na = match_run(rs, ms, &in, a, 64);
		rs->pf = NULL;
		size_t nb = match_run(rs, ms, &in, b, 64);
		rs->pf = pf;
		if (na != nb)
			fail_msg("\"%s\": %zu matches with the prefilter, %zu without", norm->s, na,
			    nb);
		for (size_t i = 0; i < na && i < 64; i++) {
			assert_ptr_equal(a[i].rule, b[i].rule);
			assert_int_equal(a[i].start, b[i].start);
			assert_int_equal(a[i].end, b[i].end);
		}
	}
}

static void
test_same_matches_with_and_without(void **state)
{
	const char *data = getenv("DEFLECTD_TEST_DATA"), *corpus = getenv("CORPUS");
	struct match_scratch *ms = match_scratch_new();
	struct buf norm = BUF_INIT;
	char *dir = xasprintf("%s/../../rules", data);
	struct ruleset *rs;
	size_t checked = 0;

	(void)state;
	assert_non_null(data);
	rs = load_dir(dir);
	assert_non_null(rs->pf);
	/* Every example and counter of the shipped rules, and mangled copies of them. */
	for (size_t i = 0; i < rs->n; i++) {
		for (size_t k = 0; k < rs->rules[i].nexamples; k++) {
			char *t = xstrdup(rs->rules[i].examples[k].text);
			size_t len = strlen(t);

			same_both_ways(rs, ms, &norm, t, len);
			/* Letters caseless matching folds to ASCII ones, mixed in. */
			char *odd = xasprintf("\u017f%s \u212a\u017f", t);
			same_both_ways(rs, ms, &norm, odd, strlen(odd));
			free(odd);
			for (size_t j = 0; j < len; j++)
				t[j] = (char)(j % 3 ? toupper((unsigned char)t[j]) : t[j]);
			same_both_ways(rs, ms, &norm, t, len);
			for (size_t cut = 1; cut < len; cut += 3)
				same_both_ways(rs, ms, &norm, t + cut, len - cut);
			checked += 2 + len / 3;
			free(t);
		}
	}
	/* Every post of the corpus, when it is there. */
	for (int f = 0; corpus != NULL && f < 2; f++) {
		char *path = xasprintf("%s/%s", corpus,
		    f ? "brand-replies.ndjson" : "conversations.ndjson");
		FILE *fp = fopen(path, "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		free(path);
		if (fp == NULL)
			continue;
		while ((n = getline(&line, &cap, fp)) > 0) {
			json_t *o = json_loadb(line, (size_t)n, 0, NULL);
			json_t *t = json_object_get(o, "text");

			if (json_is_string(t)) {
				same_both_ways(rs, ms, &norm, json_string_value(t), json_string_length(t));
				checked++;
			}
			json_decref(o);
		}
		free(line);
		fclose(fp);
	}
	print_message("checked %zu texts\n", checked);
	assert_true(checked > 100);
	ruleset_free(rs);
	free(dir);
	buf_free(&norm);
	match_scratch_free(ms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_literals),
	    cmocka_unit_test(test_automaton_against_strstr),
	    cmocka_unit_test(test_same_matches_with_and_without),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
