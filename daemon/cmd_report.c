/*
 * deflectd report: replays recordings through the pipeline on the event
 * clock (as replay does), records what it finds in a private in-memory
 * state database (as the daemon does), and writes the scorecard the
 * daemon's page shows, as one self-contained HTML file, CSV or JSON. No
 * wall clock and no path but the ones given reach the output, so the same
 * input gives the same bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "cmd.h"
#include "listing.h"
#include "page.h"
#include "pipeline.h"
#include "reader.h"
#include "record.h"
#include "scorecard.h"
#include "store.h"
#include "xmalloc.h"

enum report_format { REPORT_HTML, REPORT_CSV, REPORT_JSON };

/* Prints the usage of deflectd report to f. */
static void
report_usage(FILE *f)
{
	fprintf(f,
	    "usage: deflectd report [-c FILE] [--rules DIR]... [--since T] [--until T]\n"
	    "                       [--format html|csv|json] [-o FILE] [--brands LIST] [--sort]\n"
	    "                       FILE...\n"
	    "\n"
	    "  --since T, --until T  count cases deflected and replies posted in [since, until)\n"
	    "                        (RFC 3339 or Unix seconds); --until also moves the clock\n"
	    "                        there, so windows that end before it are decided\n"
	    "  --format F            html (default: one self-contained page), csv or json\n"
	    "  -o FILE               write to FILE instead of standard output\n"
	    "  --brands LIST         comma-separated brand accounts, when the input does not\n"
	    "                        say author_is_brand\n"
	    "  --sort                put each recording in time order first (exports grouped\n"
	    "                        by conversation)\n");
}

/* Pipeline callback: the finding's case as the daemon would store it. */
static void
on_event(void *arg, const struct event *ev)
{
	record_event(arg, ev);
}

/* Pipeline callback: brand replies, the deflection rate's denominator. */
static void
on_tracked(void *arg, const struct post *p, int is_brand, const char *brand, int duplicate)
{
	record_tracked(arg, p, is_brand, brand, duplicate);
}

/* Feeds one native NDJSON recording; bad lines are reported and skipped. Returns -1 on I/O. */
static int
feed(struct pipeline *pl, struct post_parser *pp, const char *path, uint64_t *posts,
    uint64_t *bad)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct reader *rd;
	enum reader_status st;
	const char *line;
	size_t len;
	char err[256];
	struct post p;
	int rc = 0;

	if (in == NULL) {
		fprintf(stderr, "deflectd report: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rd = reader_new(in, READER_DEFAULT_MAX);
	while ((st = reader_next(rd, &line, &len)) != READER_EOF) {
		if (st == READER_IO) {
			fprintf(stderr, "%s:%zu: read error: %s\n", path, reader_lineno(rd),
			    strerror(errno));
			rc = -1;
			break;
		}
		if (st == READER_TOO_LONG) {
			fprintf(stderr, "%s:%zu: line longer than %d bytes\n", path, reader_lineno(rd),
			    READER_DEFAULT_MAX);
			(*bad)++;
			continue;
		}
		if (len == 0 || strspn(line, " \t\r") == len)
			continue;
		if (post_parse(pp, line, len, &p, err, sizeof err) != 0) {
			fprintf(stderr, "%s:%zu: %s\n", path, reader_lineno(rd), err);
			(*bad)++;
			continue;
		}
		pipeline_post(pl, &p);
		(*posts)++;
	}
	reader_free(rd);
	if (in != stdin)
		fclose(in);
	return rc;
}

/* Writes out to path (or stdout); 0 or -1 with a message. */
static int
write_out(const char *path, const struct buf *out)
{
	FILE *f = path ? fopen(path, "wb") : stdout;

	if (f == NULL) {
		fprintf(stderr, "deflectd report: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fwrite(out->s, 1, out->len, f) != out->len || fflush(f) != 0 ||
	    (path && fclose(f) != 0)) {
		fprintf(stderr, "deflectd report: %s: %s\n", path ? path : "<stdout>",
		    strerror(errno));
		if (path)
			fclose(f);
		return -1;
	}
	return 0;
}

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rules", required_argument, NULL, 'r'},
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"brands", required_argument, NULL, 'b'},
	    {"sort", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *rules_dir = NULL, *output = NULL, *brands = NULL;
	char rules_buf[CMD_RULES_MAX] = "";
	struct scorecard_period p = {"all", SCORECARD_OPEN_SINCE, SCORECARD_OPEN_UNTIL};
	enum report_format fmt = REPORT_HTML;
	int sort = 0, ch, rc = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'r':
			if (cmd_rules_arg(rules_buf, sizeof rules_buf, optarg) != 0)
				return 2;
			rules_dir = rules_buf;
			break;
		case 'o': output = optarg; break;
		case 'b': brands = optarg; break;
		case 'S': sort = 1; break;
		case 's':
		case 'u':
			if (listing_time(optarg, ch == 's' ? &p.since : &p.until) != 0) {
				fprintf(stderr, "deflectd report: --%s \"%s\": expected RFC 3339 time or "
				    "Unix seconds\n", ch == 's' ? "since" : "until", optarg);
				return 2;
			}
			p.name = "custom";
			break;
		case 'f':
			if (strcmp(optarg, "html") == 0)
				fmt = REPORT_HTML;
			else if (strcmp(optarg, "csv") == 0)
				fmt = REPORT_CSV;
			else if (strcmp(optarg, "json") == 0)
				fmt = REPORT_JSON;
			else {
				fprintf(stderr, "deflectd report: --format is html, csv or json\n");
				return 2;
			}
			break;
		case 'h': report_usage(stdout); return 0;
		default: report_usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		report_usage(stderr);
		return 2;
	}
	if (p.since >= p.until) {
		fprintf(stderr, "deflectd report: --since must be before --until\n");
		return 2;
	}

	struct config *cfg;
	struct ruleset *rs;
	struct store *st;
	struct pipeline *pl;
	struct pipeline_config pc;
	struct post_parser *pp;
	char err[512], rv[96];
	uint64_t posts = 0, bad = 0;

	if (load_quiet(config_path, rules_dir, &cfg, &rs) != 0)
		return 1;
	if (brands != NULL)
		config_add_brand_list(cfg, brands);
	if (sort)
		cfg->lateness = INT64_MAX / 4;
	if ((st = store_open(NULL, err, sizeof err)) == NULL) {
		fprintf(stderr, "deflectd report: %s\n", err);
		ruleset_free(rs);
		config_free(cfg);
		return 1;
	}
	config_pipeline(cfg, &pc, 1);
	pc.tracked = on_tracked;
	pp = post_parser_new();
	store_begin(st);
	pl = pipeline_new(&pc, rs, on_event, st);
	for (int i = optind; i < argc && rc == 0; i++)
		if (feed(pl, pp, argv[i], &posts, &bad) != 0)
			rc = 1;
	pipeline_flush(pl);
	/* The clock stands at the newest post; --until moves it on to decide older windows. */
	if (p.until != SCORECARD_OPEN_UNTIL)
		pipeline_advance(pl, p.until);
	pipeline_free(pl);
	if (store_commit(st) != 0)
		rc = 1;

	int64_t as_of = scorecard_newest(st);
	json_t *doc = rc == 0 ? scorecard_document(st, &p, as_of, NULL) : NULL;
	struct buf inputs = BUF_INIT, out = BUF_INIT;

	for (int i = optind; i < argc; i++)
		buf_printf(&inputs, "%s%s", i > optind ? ", " : "", argv[i]);
	scorecard_rules_version(rules_dir ? rules_dir : cfg->rules_dir, rv, sizeof rv);
	if (doc == NULL)
		rc = 1;
	else if (fmt == REPORT_HTML) {
		struct page_opts o;

		memset(&o, 0, sizeof o);
		o.rules_version = rv;
		o.window = cfg->window;
		o.inputs = inputs.s;
		page_scorecard(&out, doc, &o);
	} else if (fmt == REPORT_CSV) {
		page_csv(&out, doc);
	} else {
		json_object_set_new(doc, "methods", json_pack("{s:I, s:s, s:s, s:s}",
		    "window_seconds", (json_int_t)cfg->window, "rules_version", rv, "inputs",
		    inputs.s, "resolved_in_public", "the brand or the customer said in the same "
		    "public conversation that the problem was solved, in the window (resolved) or "
		    "after it (resolved_late); the rate divides by decided cases (those plus "
		    "unresolved)"));
		char *s = json_dumps(doc, JSON_INDENT(2));

		buf_adds(&out, s);
		buf_addc(&out, '\n');
		free(s);
	}
	if (rc == 0 && write_out(output, &out) != 0)
		rc = 1;
	fprintf(stderr, "report: %llu posts, %llu bad lines\n", (unsigned long long)posts,
	    (unsigned long long)bad);
	json_decref(doc);
	buf_free(&out);
	buf_free(&inputs);
	post_parser_free(pp);
	store_close(st);
	ruleset_free(rs);
	config_free(cfg);
	return rc;
}
