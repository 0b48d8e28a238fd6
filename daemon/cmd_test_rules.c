/*
 * deflectd test-rules: what fail2ban-regex is to fail2ban. Runs the rules
 * over recordings and reports hits per rule, sample matches and the brand
 * posts no deflection rule caught; with labels, precision, recall and F1 per
 * class and the posts behind every miss, so rule writing is a measured loop.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "buf.h"
#include "case_score.h"
#include "cmd.h"
#include "match.h"
#include "normalize.h"
#include "pipeline.h"
#include "reader.h"
#include "xmalloc.h"

#define TR_MAX_MATCHES 64
#define SAMPLES_PER_RULE 3

/* The classes scored; which ones apply depends on the label file. */
enum cls { C_DM, C_CHANNEL, C_PRIVATE, C_RESOLUTION, C_ESCALATION, C_DEFLECTION, C_N };
static const char *cls_names[C_N] = {"dm", "channel", "dm+channel", "resolution", "escalation",
    "deflection"};

struct label {
	char *id;
	char *label;
	char *conv; /* the follow-up file's conversation_id, else NULL */
	int followup; /* from the follow-up file (else the deflection file) */
	int seen;
};

struct miss {
	enum cls c;
	int fp; /* else a false negative */
	char *id;
	char *label;
	char *rule;
	char *text;
};

struct score {
	unsigned tp, fp, fn, tn;
};

struct tr {
	struct ruleset *rs;
	struct match_scratch *ms;
	struct post_parser *pp;
	struct buf norm;
	struct label *labels;
	size_t nlabels;
	struct score score[C_N];
	int scored[C_N];
	struct miss *misses;
	size_t nmisses;
	uint64_t *hits; /* per rule: posts it matched here (the pipeline's matching is not counted) */
	char ***samples; /* per rule, up to SAMPLES_PER_RULE lines */
	size_t *nsamples;
	char **unmatched; /* brand posts no deflection rule matched (first few) */
	size_t nunmatched;
	size_t unmatched_total;
	size_t brand_posts, customer_posts, posts, bad;
	int ndjson;
	size_t list;
	const struct config *cfg;
	int split; /* -1: every label; else the enum split_half scored */
	unsigned split_out; /* labels left out as the other half */
	struct pipeline *pl; /* the tracker's view, for the case-level scores */
	struct case_score *cs;
	json_t *customer_of; /* customer posts' id -> author: whom a brand post replies to */
};

static const char tr_usage[] =
    "usage: deflectd test-rules [-c FILE] [--rules DIR]... [--brands LIST] [--labels FILE]...\n"
    "                           [--format text|ndjson] [--list N] [--min-f1 CLASS=F1]...\n"
    "                           [--split fit|check] FILE...\n"
    "\n"
    "  --labels FILE     score against hand labels (deflection or follow-up label files)\n"
    "  --format ndjson   one {\"id\",\"matches\"} object per post instead of the report\n"
    "  --list N          list up to N false positives and N false negatives per class\n"
    "                    (default 20; 0 lists none)\n"
    "  --min-f1 C=F      exit 1 when class C scores an F1 below F (dm, channel,\n"
    "                    dm+channel, resolution, escalation, deflection)\n"
    "  --split fit|check score only the labels of one half of the conversations\n"
    "                    (FNV-1a 32-bit hash of the conversation id: even fit, odd check)\n"
    "  --brands LIST     comma-separated brand accounts, when the input does not\n"
    "                    say author_is_brand\n"
    "  --rules DIR       read the rules of DIR (repeatable; later override earlier by id)\n";

/* qsort/bsearch comparator on label ids. */
static int
cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->id, ((const struct label *)b)->id);
}

/* Reads a label file: {"id", "label", "unsure"} plus "brand" or "conversation_id". */
static int
load_labels(struct tr *t, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct reader *rd;
	const char *line;
	size_t len;
	enum reader_status st;
	int errors = 0;

	if (f == NULL) {
		fprintf(stderr, "deflectd test-rules: %s: %m\n", path);
		return -1;
	}
	rd = reader_new(f, READER_DEFAULT_MAX);
	while ((st = reader_next(rd, &line, &len)) != READER_EOF) {
		json_error_t je;
		json_t *o, *id, *lab, *unsure;

		if (st != READER_LINE) {
			fprintf(stderr, "%s:%zu: unreadable line\n", path, reader_lineno(rd));
			errors++;
			continue;
		}
		if (len == 0)
			continue;
		o = json_loadb(line, len, 0, &je);
		id = o ? json_object_get(o, "id") : NULL;
		lab = o ? json_object_get(o, "label") : NULL;
		unsure = o ? json_object_get(o, "unsure") : NULL;
		if (!json_is_string(id) || !json_is_string(lab)) {
			fprintf(stderr, "%s:%zu: not a label object with \"id\" and \"label\"\n", path,
			    reader_lineno(rd));
			errors++;
			json_decref(o);
			continue;
		}
		if (!json_is_true(unsure)) {
			struct label *l;

			t->labels = xreallocarray(t->labels, t->nlabels + 1, sizeof *t->labels);
			l = &t->labels[t->nlabels++];
			l->id = xstrdup(json_string_value(id));
			l->label = xstrdup(json_string_value(lab));
			json_t *conv = json_object_get(o, "conversation_id");

			l->followup = conv != NULL;
			l->conv = json_is_string(conv) ? xstrdup(json_string_value(conv)) : NULL;
			l->seen = 0;
		}
		json_decref(o);
	}
	reader_free(rd);
	fclose(f);
	return errors ? -1 : 0;
}

/* Keeps a false positive or negative for the report. */
static void
add_miss(struct tr *t, enum cls c, int fp, const char *id, const char *label,
    const struct match *m, size_t nm, enum rule_kind kind)
{
	struct miss *x;
	const char *rule = NULL;

	for (size_t i = 0; i < nm && rule == NULL; i++)
		if (m[i].rule->kind == kind)
			rule = m[i].rule->id;
	t->misses = xreallocarray(t->misses, t->nmisses + 1, sizeof *t->misses);
	x = &t->misses[t->nmisses++];
	x->c = c;
	x->fp = fp;
	x->id = xstrdup(id);
	x->label = xstrdup(label);
	x->rule = rule ? xstrdup(rule) : NULL;
	x->text = xstrdup(t->norm.s);
}

/* Counts one class decision. */
static void
score(struct tr *t, enum cls c, int truth, int pred, const struct label *l,
    const struct match *m, size_t nm, enum rule_kind kind)
{
	struct score *s = &t->score[c];

	t->scored[c] = 1;
	if (truth && pred)
		s->tp++;
	else if (!truth && pred) {
		s->fp++;
		add_miss(t, c, 1, l->id, l->label, m, nm, kind);
	} else if (truth && !pred) {
		s->fn++;
		add_miss(t, c, 0, l->id, l->label, m, nm, kind);
	} else
		s->tn++;
}

/* Does any deflection match carry this tag? */
static int
has_tag(const struct match *m, size_t nm, const char *tag)
{
	for (size_t i = 0; i < nm; i++) {
		const struct rule *r = m[i].rule;

		if (r->kind != RULE_DEFLECTION)
			continue;
		for (size_t j = 0; j < r->ntags; j++)
			if (strcmp(r->tags[j], tag) == 0)
				return 1;
	}
	return 0;
}

/* Scores one labelled post. */
static void
score_post(struct tr *t, struct label *l, const struct match *m, size_t nm, int is_brand)
{
	int kinds[RULE_KINDS] = {0};

	l->seen = 1;
	for (size_t i = 0; i < nm; i++)
		kinds[m[i].rule->kind] = 1;
	if (!l->followup) {
		int dm = has_tag(m, nm, "dm");
		int ch = !dm && has_tag(m, nm, "channel");

		score(t, C_DM, strcmp(l->label, "dm") == 0, dm, l, m, nm, RULE_DEFLECTION);
		score(t, C_CHANNEL, strcmp(l->label, "channel") == 0, ch, l, m, nm, RULE_DEFLECTION);
		score(t, C_PRIVATE, strcmp(l->label, "dm") == 0 || strcmp(l->label, "channel") == 0,
		    kinds[RULE_DEFLECTION], l, m, nm, RULE_DEFLECTION);
		return;
	}
	/*
	 * One verdict per follow-up, what a case would record: the tracker takes
	 * escalations from customers and deflections from brands only, and then
	 * resolution over escalation over deflection.
	 */
	kinds[RULE_ESCALATION] &= !is_brand;
	kinds[RULE_DEFLECTION] &= is_brand;
	if (kinds[RULE_RESOLUTION])
		kinds[RULE_ESCALATION] = kinds[RULE_DEFLECTION] = 0;
	else if (kinds[RULE_ESCALATION])
		kinds[RULE_DEFLECTION] = 0;
	score(t, C_RESOLUTION, strcmp(l->label, "resolution") == 0, kinds[RULE_RESOLUTION], l, m,
	    nm, RULE_RESOLUTION);
	score(t, C_ESCALATION, strcmp(l->label, "escalation") == 0, kinds[RULE_ESCALATION], l, m,
	    nm, RULE_ESCALATION);
	score(t, C_DEFLECTION, strcmp(l->label, "deflection") == 0, kinds[RULE_DEFLECTION], l, m,
	    nm, RULE_DEFLECTION);
}

/* Prints one post's matches as a JSON line. */
static void
print_ndjson(const struct post *p, const struct match *m, size_t nm)
{
	json_t *o = json_object(), *arr = json_array();

	json_object_set_new(o, "id", json_string(p->id));
	for (size_t i = 0; i < nm; i++) {
		const struct rule *r = m[i].rule;
		json_t *x = json_object(), *tags = json_array();

		for (size_t j = 0; j < r->ntags; j++)
			json_array_append_new(tags, json_string(r->tags[j]));
		json_object_set_new(x, "rule", json_string(r->id));
		json_object_set_new(x, "kind", json_string(rule_kind_name(r->kind)));
		json_object_set_new(x, "tags", tags);
		json_object_set_new(x, "span",
		    json_pack("[II]", (json_int_t)m[i].start, (json_int_t)m[i].end));
		json_array_append_new(arr, x);
	}
	json_object_set_new(o, "matches", arr);
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(o);
}

/*
 * Scores a labelled post when its conversation is in the half asked for; a
 * follow-up label also goes to the case-level scores.
 */
static void
label_post(struct tr *t, struct label *l, const struct post *p, const struct match *m,
    size_t nm, int is_brand)
{
	const char *conv = l->conv ? l->conv : p->conversation_id ? p->conversation_id : p->id;

	if (t->split >= 0 && split_half_of(conv) != (enum split_half)t->split) {
		l->seen = 1;
		t->split_out++;
		return;
	}
	score_post(t, l, m, nm, is_brand);
	if (l->followup) {
		const char *customer = is_brand && p->in_reply_to_id
		    ? json_string_value(json_object_get(t->customer_of, p->in_reply_to_id))
		    : is_brand ? NULL : p->author;

		case_score_label(t->cs, conv, p->id, customer, p->created_at, l->label);
	}
}

/* Pipeline callback: the findings of cases in the half asked for. */
static void
on_event(void *arg, const struct event *ev)
{
	struct tr *t = arg;
	const char *conv = ev->f->c->conversation_id ? ev->f->c->conversation_id : "";

	if (t->split >= 0 && split_half_of(conv) != (enum split_half)t->split)
		return;
	case_score_finding(t->cs, ev->f);
}

/* Matches one post and records everything the report needs. */
static void
test_post(struct tr *t, const struct post *p)
{
	struct match m[TR_MAX_MATCHES];
	struct match_input in = {0};
	const char *brand;
	int is_brand = post_role(t->cfg->accounts, t->cfg->naccounts, p, &brand);
	size_t nm;

	normalize(p->text, p->text_len, &t->norm);
	in.text = t->norm.s;
	in.len = t->norm.len;
	in.role = is_brand ? ROLE_BRAND : ROLE_CUSTOMER;
	in.brand = brand;
	in.platform = p->platform;
	in.lang = p->lang;
	nm = match_run(t->rs, t->ms, &in, m, TR_MAX_MATCHES);
	if (nm > TR_MAX_MATCHES)
		nm = TR_MAX_MATCHES;
	t->posts++;
	*(is_brand ? &t->brand_posts : &t->customer_posts) += 1;
	if (t->ndjson)
		print_ndjson(p, m, nm);

	int deflected = 0;
	for (size_t i = 0; i < nm; i++) {
		size_t r = (size_t)(m[i].rule - t->rs->rules);

		deflected |= m[i].rule->kind == RULE_DEFLECTION;
		t->hits[r]++;
		if (t->nsamples[r] < SAMPLES_PER_RULE) {
			t->samples[r] = xreallocarray(t->samples[r], t->nsamples[r] + 1, sizeof(char *));
			t->samples[r][t->nsamples[r]++] = xasprintf("%s: %.*s[%.*s]%s", p->id,
			    (int)m[i].start, t->norm.s, (int)(m[i].end - m[i].start),
			    t->norm.s + m[i].start, t->norm.s + m[i].end);
		}
	}
	if (is_brand && !deflected) {
		if (t->nunmatched < 10) {
			t->unmatched = xreallocarray(t->unmatched, t->nunmatched + 1, sizeof(char *));
			t->unmatched[t->nunmatched++] = xasprintf("%s: %s", p->id, t->norm.s);
		}
		t->unmatched_total++;
	}
	if (t->nlabels && !is_brand && p->author != NULL)
		json_object_set_new(t->customer_of, p->id, json_string(p->author));
	if (t->nlabels) {
		struct label key = {(char *)p->id, NULL, NULL, 0, 0};
		struct label *l = bsearch(&key, t->labels, t->nlabels, sizeof key, cmp_label);

		/* An id may carry a deflection label and a follow-up label. */
		for (; l != NULL && l > t->labels && strcmp(l[-1].id, p->id) == 0; l--)
			;
		for (; l != NULL && l < t->labels + t->nlabels && strcmp(l->id, p->id) == 0; l++)
			if (!l->seen)
				label_post(t, l, p, m, nm, is_brand);
	}
}

/* Runs every post of one recording. */
static int
test_file(struct tr *t, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct reader *rd;
	const char *line;
	size_t len;
	enum reader_status st;
	char err[256];
	struct post p;

	if (f == NULL) {
		fprintf(stderr, "deflectd test-rules: %s: %m\n", path);
		return -1;
	}
	rd = reader_new(f, READER_DEFAULT_MAX);
	while ((st = reader_next(rd, &line, &len)) != READER_EOF) {
		if (st != READER_LINE) {
			fprintf(stderr, "%s:%zu: %s\n", path, reader_lineno(rd),
			    st == READER_TOO_LONG ? "line too long" : "read error");
			t->bad++;
			if (st == READER_IO)
				break;
			continue;
		}
		if (len == 0)
			continue;
		if (post_parse(t->pp, line, len, &p, err, sizeof err) != 0) {
			fprintf(stderr, "%s:%zu: %s\n", path, reader_lineno(rd), err);
			t->bad++;
			continue;
		}
		test_post(t, &p);
		pipeline_post(t->pl, &p); /* takes the post over */
	}
	reader_free(rd);
	if (f != stdin)
		fclose(f);
	return 0;
}

/* Precision, recall and F1 from counts; an empty denominator counts as perfect. */
static void
prf(unsigned tp, unsigned fp, unsigned fn, double *p, double *r, double *f)
{
	*p = tp + fp ? (double)tp / (tp + fp) : 1.0;
	*r = tp + fn ? (double)tp / (tp + fn) : 1.0;
	*f = *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0.0;
}

/* Lists one case whose verdict differs from its labels (up to --list of them). */
static void
print_case_miss(void *arg, const char *conv, const char *post_id, enum case_verdict truth,
    enum case_verdict pred)
{
	size_t *left = arg;

	if (*left == 0)
		return;
	(*left)--;
	printf("  conversation %s, deflected by %s: labelled %s, tracker says %s\n", conv, post_id,
	    case_verdict_name(truth), case_verdict_name(pred));
}

/* Prints the tracker's verdict per case against the labels of its conversation. */
static void
report_cases(struct tr *t)
{
	struct case_counts cc;
	unsigned labeled = 0;

	case_score_count(t->cs, &cc);
	for (int a = 0; a < CV_N; a++)
		for (int b = 0; b < CV_N; b++)
			labeled += cc.n[a][b];
	printf("\nCases: %u opened by the tracker, %u with follow-up labels after the "
	    "deflection\n", cc.cases, labeled);
	printf("  %-12s %6s %6s %6s %9s %9s %9s\n", "verdict", "tp", "fp", "fn", "precision",
	    "recall", "f1");
	for (int v = 0; v < CV_N; v++) {
		unsigned tp = cc.n[v][v], fp = 0, fn = 0;
		double p, r, f;

		for (int o = 0; o < CV_N; o++) {
			fp += o != v ? cc.n[o][v] : 0;
			fn += o != v ? cc.n[v][o] : 0;
		}
		prf(tp, fp, fn, &p, &r, &f);
		printf("  %-12s %6u %6u %6u %9.4f %9.4f %9.4f\n", case_verdict_name((enum case_verdict)v),
		    tp, fp, fn, p, r, f);
	}
	unsigned resolved = cc.n[CV_RESOLVED][CV_RESOLVED] + cc.n[CV_RESOLVED][CV_ESCALATED] +
	    cc.n[CV_RESOLVED][CV_UNRESOLVED];
	unsigned missed = resolved - cc.n[CV_RESOLVED][CV_RESOLVED];

	printf("  resolved in public but alerted as unresolved: %u of %u (%.1f%%)\n", missed,
	    resolved, resolved ? 100.0 * missed / resolved : 0.0);
	if (t->list > 0 && cc.cases > 0) {
		size_t left = t->list;

		printf("\ncases whose verdict differs from the labels:\n");
		case_score_misses(t->cs, print_case_miss, &left);
	}
}

/* Prints the fail2ban-regex style report and the label scores. */
static void
report(struct tr *t)
{
	printf("Posts: %zu (%zu brand, %zu customer), %zu bad lines\n", t->posts, t->brand_posts,
	    t->customer_posts, t->bad);
	printf("Rules: %zu loaded, PCRE2 JIT %s, %llu match-limit hits\n\n", t->rs->n,
	    t->rs->jit ? "on" : "off", (unsigned long long)t->rs->limit_hits);
	printf("Hits per rule:\n");
	for (size_t i = 0; i < t->rs->n; i++) {
		const struct rule *r = &t->rs->rules[i];

		printf("  %8llu  %-10s %s%s\n", (unsigned long long)t->hits[i], rule_kind_name(r->kind),
		    r->id, r->enabled ? "" : " (disabled)");
		for (size_t j = 0; j < t->nsamples[i]; j++)
			printf("            | %s\n", t->samples[i][j]);
	}
	printf("\nBrand posts no deflection rule matched: %zu\n", t->unmatched_total);
	for (size_t i = 0; i < t->nunmatched; i++)
		printf("  %s\n", t->unmatched[i]);
	if (t->nlabels == 0)
		return;

	size_t unseen = 0;
	for (size_t i = 0; i < t->nlabels; i++)
		unseen += !t->labels[i].seen;
	printf("\nLabels: %zu (unsure left out), %zu with no post in the input\n", t->nlabels,
	    unseen);
	if (t->split >= 0)
		printf("Split: %s half only (%u labels of the other half left out)\n",
		    t->split == SPLIT_FIT ? "fit" : "check", t->split_out);
	printf("  %-12s %6s %6s %6s %9s %9s %9s\n", "class", "tp", "fp", "fn", "precision",
	    "recall", "f1");
	for (int c = 0; c < C_N; c++) {
		const struct score *s = &t->score[c];
		double p, r, f;

		if (!t->scored[c])
			continue;
		prf(s->tp, s->fp, s->fn, &p, &r, &f);
		printf("  %-12s %6u %6u %6u %9.4f %9.4f %9.4f\n", cls_names[c], s->tp, s->fp, s->fn,
		    p, r, f);
	}
	if (t->scored[C_RESOLUTION])
		report_cases(t);
	for (int c = 0; c < C_N; c++) {
		for (int fp = 1; fp >= 0; fp--) {
			size_t shown = 0, total = 0;

			for (size_t i = 0; i < t->nmisses; i++)
				total += t->misses[i].c == (enum cls)c && t->misses[i].fp == fp;
			if (total == 0 || t->list == 0)
				continue;
			printf("\n%s %s (%zu):\n", cls_names[c],
			    fp ? "false positives" : "false negatives", total);
			for (size_t i = 0; i < t->nmisses && shown < t->list; i++) {
				const struct miss *x = &t->misses[i];

				if (x->c != (enum cls)c || x->fp != fp)
					continue;
				printf("  %s [%s%s%s] %s\n", x->id, x->label, x->rule ? " by " : "",
				    x->rule ? x->rule : "", x->text);
				shown++;
			}
		}
	}
}

/* Parses "CLASS=F1"; returns the class, or -1 with a message printed. */
static int
parse_min(const char *arg, double *want)
{
	const char *eq = strchr(arg, '=');
	char *end;

	for (int c = 0; eq != NULL && c < C_N; c++) {
		if (strlen(cls_names[c]) != (size_t)(eq - arg) ||
		    strncmp(cls_names[c], arg, (size_t)(eq - arg)) != 0)
			continue;
		*want = strtod(eq + 1, &end);
		if (end == eq + 1 || *end != '\0' || *want < 0 || *want > 1) {
			fprintf(stderr, "deflectd test-rules: --min-f1 %s: the F1 must be a number "
			    "from 0 to 1\n", arg);
			return -1;
		}
		return c;
	}
	fprintf(stderr, "deflectd test-rules: --min-f1 %s: expected CLASS=F1 with CLASS one of "
	    "dm, channel, dm+channel, resolution, escalation, deflection\n", arg);
	return -1;
}

/* Is every --min-f1 threshold met? Prints the ones that are not. */
static int
check_thresholds(const struct tr *t, char **mins, size_t nmins)
{
	int ok = 1;

	for (size_t i = 0; i < nmins; i++) {
		double want;
		int c = parse_min(mins[i], &want);
		const struct score *s = &t->score[c];

		if (!t->scored[c]) {
			fprintf(stderr, "deflectd test-rules: %s was not scored: no --labels file "
			    "has labels for it\n", cls_names[c]);
			ok = 0;
			continue;
		}
		double p, r, f;

		prf(s->tp, s->fp, s->fn, &p, &r, &f);

		if (f < want) {
			fprintf(stderr, "deflectd test-rules: %s F1 %.4f is below %.4f\n",
			    cls_names[c], f, want);
			ok = 0;
		}
	}
	return ok;
}

int
cmd_test_rules(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rules", required_argument, NULL, 'r'},
	    {"brands", required_argument, NULL, 'b'},
	    {"labels", required_argument, NULL, 'L'},
	    {"format", required_argument, NULL, 'f'},
	    {"list", required_argument, NULL, 'n'},
	    {"min-f1", required_argument, NULL, 'm'},
	    {"split", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *rules_dir = NULL, *brands = NULL;
	char rules_buf[CMD_RULES_MAX] = "";
	char **labels = NULL, **mins = NULL;
	size_t nlabels = 0, nmins = 0;
	struct tr t;
	struct config *cfg;
	int ch, rc = 0;

	memset(&t, 0, sizeof t);
	t.list = 20;
	t.split = -1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'r':
			if (cmd_rules_arg(rules_buf, sizeof rules_buf, optarg) != 0) {
				free(labels);
				free(mins);
				return 2;
			}
			rules_dir = rules_buf;
			break;
		case 'b': brands = optarg; break;
		case 'L':
			labels = xreallocarray(labels, nlabels + 1, sizeof *labels);
			labels[nlabels++] = optarg;
			break;
		case 'm': {
			double want;

			if (parse_min(optarg, &want) < 0) {
				free(labels);
				free(mins);
				return 2;
			}
			mins = xreallocarray(mins, nmins + 1, sizeof *mins);
			mins[nmins++] = optarg;
			break;
		}
		case 'n': {
			char *end;

			t.list = (size_t)strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || *optarg == '-') {
				fprintf(stderr, "deflectd test-rules: --list takes a number\n");
				free(labels);
				free(mins);
				return 2;
			}
			break;
		}
		case 's':
			if (strcmp(optarg, "fit") == 0)
				t.split = SPLIT_FIT;
			else if (strcmp(optarg, "check") == 0)
				t.split = SPLIT_CHECK;
			else {
				fprintf(stderr, "deflectd test-rules: --split is fit or check\n");
				free(labels);
				free(mins);
				return 2;
			}
			break;
		case 'f':
			if (strcmp(optarg, "ndjson") == 0)
				t.ndjson = 1;
			else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr, "deflectd test-rules: --format is text or ndjson\n");
				return 2;
			}
			break;
		case 'h': fputs(tr_usage, stdout); return 0;
		default: fputs(tr_usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(tr_usage, stderr);
		free(labels);
		free(mins);
		return 2;
	}
	if (cmd_load(config_path, rules_dir, &cfg, &t.rs) != 0) {
		free(labels);
		free(mins);
		return 1;
	}
	if (brands != NULL)
		config_add_brand_list(cfg, brands);
	for (size_t i = 0; i < nlabels; i++)
		if (load_labels(&t, labels[i]) != 0)
			rc = 1;
	if (rc == 0) {
		if (t.nlabels > 0)
			qsort(t.labels, t.nlabels, sizeof *t.labels, cmp_label);
		struct pipeline_config pc;

		t.cfg = cfg;
		/* The whole recording is buffered and tracked in time order, as replay --sort. */
		cfg->lateness = INT64_MAX / 4;
		config_pipeline(cfg, &pc, 1);
		t.pl = pipeline_new(&pc, t.rs, on_event, &t);
		t.cs = case_score_new();
		t.customer_of = json_object();
		t.ms = match_scratch_new();
		t.pp = post_parser_new();
		t.samples = xcalloc(t.rs->n, sizeof *t.samples);
		t.nsamples = xcalloc(t.rs->n, sizeof *t.nsamples);
		t.hits = xcalloc(t.rs->n, sizeof *t.hits);
		for (int i = optind; i < argc && rc == 0; i++)
			if (test_file(&t, argv[i]) != 0)
				rc = 1;
		pipeline_drain(t.pl);
		if (rc == 0 && !t.ndjson)
			report(&t);
		if (rc == 0 && !check_thresholds(&t, mins, nmins))
			rc = 1;
		for (size_t i = 0; i < t.rs->n; i++) {
			for (size_t j = 0; j < t.nsamples[i]; j++)
				free(t.samples[i][j]);
			free(t.samples[i]);
		}
		free(t.samples);
		free(t.nsamples);
		free(t.hits);
		match_scratch_free(t.ms);
		post_parser_free(t.pp);
		pipeline_free(t.pl);
		case_score_free(t.cs);
		json_decref(t.customer_of);
	}
	for (size_t i = 0; i < t.nunmatched; i++)
		free(t.unmatched[i]);
	free(t.unmatched);
	for (size_t i = 0; i < t.nmisses; i++) {
		free(t.misses[i].id);
		free(t.misses[i].label);
		free(t.misses[i].rule);
		free(t.misses[i].text);
	}
	free(t.misses);
	for (size_t i = 0; i < t.nlabels; i++) {
		free(t.labels[i].id);
		free(t.labels[i].label);
		free(t.labels[i].conv);
	}
	free(t.labels);
	buf_free(&t.norm);
	ruleset_free(t.rs);
	config_free(cfg);
	free(labels);
	free(mins);
	return rc;
}
