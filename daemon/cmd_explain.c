/*
 * deflectd explain: shows the normalized text and every rule that matches
 * it, with the span, so an operator can see why a post is (not) flagged.
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
    "usage: deflectd explain [-c FILE] [--rules DIR] [--by brand|customer] [--brand NAME]\n"
    "                        [--platform NAME] [--lang TAG] TEXT\n";

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
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *rules_dir = NULL;
	struct match_input in = {0};
	struct match m[EXPLAIN_MAX];
	struct buf norm = BUF_INIT;
	struct config *cfg;
	struct ruleset *rs;
	int ch;

	in.role = ROLE_BRAND;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'r': rules_dir = optarg; break;
		case 'b': in.brand = optarg; break;
		case 'p': in.platform = optarg; break;
		case 'l': in.lang = optarg; break;
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
	if (cmd_load(config_path, rules_dir, &cfg, &rs) != 0)
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

		printf("match:      %-10s %s (%s:%d)", rule_kind_name(r->kind), r->id, r->file,
		    r->line);
		for (size_t t = 0; t < r->ntags; t++)
			printf("%s%s", t ? "," : " [", r->tags[t]);
		printf("%s span %zu-%zu \"%.*s\"\n", r->ntags ? "]" : "", m[i].start, m[i].end,
		    (int)(m[i].end - m[i].start), norm.s + m[i].start);
		rule_explain_lists(rs, r, norm.s, norm.len, m[i].start, print_list_hit, norm.s);
	}
	if (n == 0)
		printf("no rule matched\n");
	if (rs->limit_hits)
		printf("warning: %llu match attempts hit the regex match limit\n",
		    (unsigned long long)rs->limit_hits);
	match_scratch_free(ms);
	buf_free(&norm);
	ruleset_free(rs);
	config_free(cfg);
	return n > 0 ? 0 : 1;
}
