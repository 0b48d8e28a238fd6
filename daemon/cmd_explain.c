/*
 * deflectd explain: shows the normalized text and every rule that matches
 * it, with the span, so an operator can see why a post is (not) flagged;
 * with --why-not, also every rule whose pattern matched but that was dropped.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "match.h"
#include "normalize.h"
#include "rule_lists.h"

#define EXPLAIN_MAX 256

/* Prints one list item that took part in a match. */
static void
print_list_hit(void *arg, const struct rule_list_hit *h)
{
	const char *text = arg;

	printf("  list:     {%s} item \"%s\" (%s:%d) matched \"%.*s\"\n", h->list, h->item,
	    h->file, h->line, (int)(h->end - h->start), text + h->start);
}

static const char explain_usage[] =
    "usage: deflectd explain [-c FILE] [--rules DIR]... [--by brand|customer] [--brand NAME]\n"
    "                        [--platform NAME] [--lang TAG] [--why-not] TEXT\n"
    "\n"
    "  --rules DIR      read the rules of DIR (repeatable; later override earlier by id)\n"
    "  --by WHO         the text is a brand post (default) or a customer's\n"
    "  --brand NAME     the brand the thread is with, for rules scoped by brand\n"
    "  --platform NAME  the post's platform, for rules scoped by platform\n"
    "  --lang TAG       the post's language, for rules scoped by lang\n"
    "  --why-not        also list rules whose pattern matched but that were dropped,\n"
    "                   and why (unless, require, by, scope, enabled = no)\n"
    "Exit status: 0 when a rule matched, 1 when none did.\n";

/* Ends a rule's "(file:line" with the later files that overrode it. */
static void
print_overrides(const struct rule *r)
{
	for (size_t k = 0; k < r->noverrides; k++)
		printf("%s %s:%d", k ? "," : ", overridden at", r->overrides[k].file,
		    r->overrides[k].line);
	printf(")");
}

/* One scope reason: the rule's key, where it was set, and what the post has instead. */
static void
print_scope(const struct rule *r, const char *key, const char *what, const char *value)
{
	const struct rule_origin *o = rule_key_origin(r, key);

	printf("  because:  %s = %s (%s:%d), but the post is %s%s\n", key, o ? o->value : "?",
	    o ? o->file : r->file, o ? o->line : r->line, what, value);
}

/* Says, for each rule whose pattern matched but that was dropped, every reason. */
static void
print_why_not(struct ruleset *rs, struct match_scratch *ms, const struct match_input *in,
    const char *text)
{
	struct rule_miss m[EXPLAIN_MAX];
	size_t n = match_why_not(rs, ms, in, m, EXPLAIN_MAX);

	if (n > EXPLAIN_MAX)
		n = EXPLAIN_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = m[i].rule;
		const struct rule_origin *o;

		printf("dropped:    %-10s %s (%s:%d", rule_kind_name(r->kind), r->id, r->file,
		    r->line);
		print_overrides(r);
		printf(" pattern matched span %zu-%zu \"%.*s\"\n", m[i].start, m[i].end,
		    (int)(m[i].end - m[i].start), text + m[i].start);
		if (m[i].why & MISS_DISABLED) {
			o = rule_key_origin(r, "enabled");
			printf("  because:  disabled (enabled = %s at %s:%d)\n", o ? o->value : "no",
			    o ? o->file : r->file, o ? o->line : r->line);
		}
		if (m[i].why & MISS_BY)
			printf("  because:  by = %s, but the post is by %s\n",
			    r->by == BY_BRAND ? "brand" : "customer",
			    in->role == ROLE_BRAND ? "the brand" : "a customer");
		if (m[i].why & MISS_BRAND)
			print_scope(r, "brand", in->brand ? "for " : "for no brand",
			    in->brand ? in->brand : "");
		if (m[i].why & MISS_PLATFORM)
			print_scope(r, "platform", in->platform ? "on " : "on no platform (--platform)",
			    in->platform ? in->platform : "");
		if (m[i].why & MISS_LANG)
			print_scope(r, "lang", "in ", in->lang);
		if (m[i].why & MISS_REQUIRE)
			printf("  because:  require at %s:%d did not match\n", m[i].file, m[i].line);
		if (m[i].why & MISS_UNLESS)
			printf("  because:  unless at %s:%d matched span %zu-%zu \"%.*s\"\n", m[i].file,
			    m[i].line, m[i].ustart, m[i].uend, (int)(m[i].uend - m[i].ustart),
			    text + m[i].ustart);
		if (m[i].why & MISS_LIMIT)
			printf("  because:  a match attempt hit the regex match limit\n");
	}
	if (n == 0)
		printf("dropped:    none (no other rule's pattern matched)\n");
}

int
cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rules", required_argument, NULL, 'r'},
	    {"by", required_argument, NULL, 'y'},
	    {"brand", required_argument, NULL, 'b'},
	    {"platform", required_argument, NULL, 'p'},
	    {"lang", required_argument, NULL, 'l'},
	    {"why-not", no_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *rules_dir = NULL;
	char rules_buf[LOAD_RULES_MAX] = "";
	struct match_input in = {0};
	struct match m[EXPLAIN_MAX];
	struct buf norm = BUF_INIT;
	struct config *cfg;
	struct ruleset *rs;
	int ch, why_not = 0;

	in.role = ROLE_BRAND;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'r':
			if (load_rules_arg(rules_buf, sizeof rules_buf, optarg) != 0)
				return 2;
			rules_dir = rules_buf;
			break;
		case 'b': in.brand = optarg; break;
		case 'p': in.platform = optarg; break;
		case 'l': in.lang = optarg; break;
		case 'w': why_not = 1; break;
		case 'y':
			if (strcmp(optarg, "brand") == 0)
				in.role = ROLE_BRAND;
			else if (strcmp(optarg, "customer") == 0)
				in.role = ROLE_CUSTOMER;
			else {
				fprintf(stderr, "deflectd explain: --by must be brand or customer\n");
				return 2;
			}
			break;
		case 'h': fputs(explain_usage, stdout); return 0;
		default: fputs(explain_usage, stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(explain_usage, stderr);
		return 2;
	}
	if (load_quiet(config_path, rules_dir, &cfg, &rs) != 0)
		return 1;
	normalize(argv[optind], strlen(argv[optind]), &norm);
	in.text = norm.s;
	in.len = norm.len;
	printf("normalized: %s\n", norm.s);
	printf("as:         %s post%s%s\n", in.role == ROLE_BRAND ? "brand" : "customer",
	    in.brand ? " for brand " : "", in.brand ? in.brand : "");

	struct match_scratch *ms = match_scratch_new();
	size_t n = match_run(rs, ms, &in, m, EXPLAIN_MAX);

	if (n > EXPLAIN_MAX)
		n = EXPLAIN_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = m[i].rule;

		printf("match:      %-10s %s (%s:%d", rule_kind_name(r->kind), r->id, r->file,
		    r->line);
		print_overrides(r);
		for (size_t t = 0; t < r->ntags; t++)
			printf("%s%s", t ? "," : " [", r->tags[t]);
		printf("%s span %zu-%zu \"%.*s\"\n", r->ntags ? "]" : "", m[i].start, m[i].end,
		    (int)(m[i].end - m[i].start), norm.s + m[i].start);
		rule_explain_lists(rs, r, norm.s, norm.len, m[i].start, print_list_hit, norm.s);
	}
	if (n == 0)
		printf("no rule matched\n");
	if (why_not)
		print_why_not(rs, ms, &in, norm.s);
	if (rs->limit_hits)
		printf("warning: %llu match attempts hit the regex match limit\n",
		    (unsigned long long)rs->limit_hits);
	match_scratch_free(ms);
	buf_free(&norm);
	ruleset_free(rs);
	config_free(cfg);
	return n > 0 ? 0 : 1;
}
