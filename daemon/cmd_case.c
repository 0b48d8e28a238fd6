/*
 * Operator commands on cases: `case show` prints a case with its timeline,
 * alerts and verdict; `case close` records an operator's verdict; `labels
 * export` writes the verdicts as labels test-rules scores the rules with.
 * They work on the state database directly, also while the daemon runs:
 * the daemon applies a verdict before its next step (verdict.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "case_detail.h"
#include "cmd.h"
#include "log.h"
#include "store.h"
#include "verdict.h"
#include "xmalloc.h"

static const char case_usage[] =
    "usage: deflectd case [-c FILE] show [--json] ID\n"
    "       deflectd case [-c FILE] [--rules DIR]... close ID --as resolved|not-deflection|escalated\n"
    "                     --note TEXT [--author NAME]\n"
    "\n"
    "  show ID        the case, its timeline, alerts and verdict (--json: as the API)\n"
    "  close ID       close it with a verdict: --as resolved, not-deflection or\n"
    "                 escalated, --note why (required), --author (default $USER);\n"
    "                 --rules DIR gives the label its class (default: the config's)\n";

static const char labels_usage[] =
    "usage: deflectd labels [-c FILE] export [-o FILE]\n"
    "\n"
    "  export    one deflection label per verdicted post (the newest verdict wins),\n"
    "            for test-rules --labels; -o FILE instead of standard output\n";

/* A member's string value, or a dash. */
static const char *
s_or_dash(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "-";
}

/* Prints one timeline entry: time, role, finding, rule, the text with its match in [ ]. */
static void
print_entry(const json_t *e)
{
	const char *text = json_string_value(json_object_get(e, "text"));
	const json_t *span = json_object_get(e, "span");

	printf("  %s  %-8s  %-17s  %s\n", s_or_dash(e, "at"), s_or_dash(e, "role"),
	    s_or_dash(e, "finding"), s_or_dash(e, "rule"));
	if (text != NULL && json_is_array(span)) {
		int s = (int)json_integer_value(json_array_get(span, 0));
		int n = (int)json_integer_value(json_array_get(span, 1));

		printf("      %.*s[%.*s]%s\n", s, text, n - s, text + s, text + n);
	} else if (text != NULL)
		printf("      %s\n", text);
	printf("      post %s  %s\n", s_or_dash(e, "post_id"), s_or_dash(e, "url"));
}

/* Prints a case_detail() document for a terminal. */
static void
print_case(const json_t *c)
{
	const json_t *v = json_object_get(c, "operator_verdict"), *x, *d;
	size_t i, j;

	printf("case %lld: %s\n", (long long)json_integer_value(json_object_get(c, "id")),
	    s_or_dash(c, "state"));
	printf("  brand %s, %s conversation %s, customer %s\n", s_or_dash(c, "brand"),
	    s_or_dash(c, "platform"), s_or_dash(c, "conversation_id"), s_or_dash(c, "customer"));
	printf("  deflected %s, deadline %s, resolved %s, %lld repeats, %lld escalations\n",
	    s_or_dash(c, "deflected_at"), s_or_dash(c, "deadline"), s_or_dash(c, "resolved_at"),
	    (long long)json_integer_value(json_object_get(c, "repeats")),
	    (long long)json_integer_value(json_object_get(c, "escalations")));
	if (json_is_object(v))
		printf("operator verdict: %s by %s at %s (the case was %s): %s\n",
		    s_or_dash(v, "verdict"), s_or_dash(v, "author"), s_or_dash(v, "at"),
		    s_or_dash(v, "state_before"), s_or_dash(v, "note"));
	printf("timeline:\n");
	json_array_foreach(json_object_get(c, "timeline"), i, x)
		print_entry(x);
	printf("alerts:%s\n", json_array_size(json_object_get(c, "alerts")) ? "" : " none");
	json_array_foreach(json_object_get(c, "alerts"), i, x) {
		printf("  %s  %s  %s\n", s_or_dash(x, "id"), s_or_dash(x, "type"),
		    s_or_dash(x, "created_at"));
		json_array_foreach(json_object_get(x, "deliveries"), j, d)
			printf("      %s: %s, %lld attempts%s%s\n", s_or_dash(d, "webhook"),
			    s_or_dash(d, "state"),
			    (long long)json_integer_value(json_object_get(d, "attempts")),
			    json_is_string(json_object_get(d, "last_error")) ? ", last error: " : "",
			    json_is_string(json_object_get(d, "last_error")) ?
			    s_or_dash(d, "last_error") : "");
	}
}

/* case show: the case as text or as the API's JSON. */
static int
case_show(struct store *st, const char *id, int as_json)
{
	int missing;
	json_t *c = case_detail(st, id, &missing);

	if (c == NULL) {
		if (missing)
			fprintf(stderr, "deflectd case: no case %s\n", id);
		return 1;
	}
	if (as_json) {
		json_dumpf(c, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else
		print_case(c);
	json_decref(c);
	return 0;
}

/* case close: one transaction; every refusal changes nothing. */
static int
case_close(struct store *st, const struct ruleset *rs, const char *id, const char *as,
    const char *note, const char *author)
{
	char err[512];
	int rc;

	if (store_begin(st) != 0)
		return 1;
	rc = verdict_close(st, rs, id, as, note, author, (int64_t)time(NULL), err, sizeof err);
	if (rc != VERDICT_OK || store_commit(st) != 0) {
		store_rollback(st);
		if (rc != VERDICT_OK && rc != VERDICT_FAILED)
			fprintf(stderr, "deflectd case: %s\n", err);
		return rc == VERDICT_BAD ? 2 : 1;
	}
	printf("case %s closed as %s\n", id, as);
	return 0;
}

int
cmd_case(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rules", required_argument, NULL, 'r'},
	    {"json", no_argument, NULL, 'j'},
	    {"as", required_argument, NULL, 'a'},
	    {"note", required_argument, NULL, 'n'},
	    {"author", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *rules_dir = NULL, *as = NULL, *note = NULL;
	char rules_buf[CMD_RULES_MAX] = "";
	const char *author = NULL, *sub, *id;
	struct ruleset *rs = NULL;
	struct config *cfg;
	struct store *st;
	int ch, as_json = 0, rc;

	log_init(0);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'r':
			if (cmd_rules_arg(rules_buf, sizeof rules_buf, optarg) != 0)
				return 2;
			rules_dir = rules_buf;
			break;
		case 'j': as_json = 1; break;
		case 'a': as = optarg; break;
		case 'n': note = optarg; break;
		case 'u': author = optarg; break;
		case 'h': fputs(case_usage, stdout); return 0;
		default: fputs(case_usage, stderr); return 2;
		}
	}
	if (argc - optind != 2 || (strcmp(argv[optind], "show") != 0 &&
	    strcmp(argv[optind], "close") != 0)) {
		fputs(case_usage, stderr);
		return 2;
	}
	sub = argv[optind];
	id = argv[optind + 1];
	if (strcmp(sub, "close") == 0 && (as == NULL || note == NULL)) {
		fprintf(stderr, "deflectd case: close needs --as resolved|not-deflection|escalated "
		    "and --note TEXT\n");
		return 2;
	}
	if (author == NULL)
		author = getenv("USER") && *getenv("USER") ? getenv("USER") : "operator";
	/* close reads the rules too: the label takes the deflection rule's dm/channel tag. */
	st = load_open_state(config_path, rules_dir, &cfg, strcmp(sub, "close") == 0 ? &rs : NULL);
	if (st == NULL)
		return 1;
	if (strcmp(sub, "show") == 0)
		rc = case_show(st, id, as_json);
	else
		rc = case_close(st, rs, id, as, note, author);
	store_close(st);
	ruleset_free(rs);
	config_free(cfg);
	return rc;
}

int
cmd_labels(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *out = NULL;
	struct config *cfg;
	struct store *st;
	FILE *f = stdout;
	long n;
	int ch;

	log_init(0);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'o': out = optarg; break;
		case 'h': fputs(labels_usage, stdout); return 0;
		default: fputs(labels_usage, stderr); return 2;
		}
	}
	if (argc - optind != 1 || strcmp(argv[optind], "export") != 0) {
		fputs(labels_usage, stderr);
		return 2;
	}
	if ((st = load_open_state(config_path, NULL, &cfg, NULL)) == NULL)
		return 1;
	if (out != NULL && (f = fopen(out, "w")) == NULL) {
		fprintf(stderr, "deflectd labels: %s: %m\n", out);
		store_close(st);
		config_free(cfg);
		return 1;
	}
	n = verdict_labels_export(st, f);
	if (f != stdout && fclose(f) != 0 && n >= 0) {
		fprintf(stderr, "deflectd labels: %s: %m\n", out);
		n = -1;
	}
	if (n >= 0)
		fprintf(stderr, "deflectd labels: %ld labels%s%s\n", n, out ? " written to " : "",
		    out ? out : "");
	store_close(st);
	config_free(cfg);
	return n < 0;
}
