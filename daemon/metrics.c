/*
 * Prometheus metrics: reads counters and the state database; the admin
 * listener only wraps the result in HTTP. The listings are in listing.c,
 * the scorecard in scorecard.c.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alert.h"
#include "daemon.h"
#include "metrics.h"
#include "verdict.h"
#include "version.h"
#include "webhook.h"
#include "xmalloc.h"

#define OTHER_BRAND "_other"

static void head(struct buf *out, const char *name, const char *type, const char *help);

struct brand_metrics {
	char *label;
	char *shown; /* label as a Prometheus label value */
	uint64_t findings[FINDING_TYPES];
};

/* A label value escaped as the text format wants: a brand name is the operator's free text. */
static char *
label_escape(const char *s)
{
	struct buf b = BUF_INIT;

	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(&b, '\\');
		if (*s == '\n')
			buf_adds(&b, "\\n");
		else
			buf_addc(&b, *s);
	}
	buf_add(&b, "", 0);
	return b.s;
}

static const char *const delivery_states[] = {"pending", "delivered", "dead", "silenced",
    "too_old", "grouped"};
#define NDELIVERY_STATES (sizeof delivery_states / sizeof delivery_states[0])

const char *
metrics_brand_label(const struct deflectd *d, const char *brand)
{
	for (size_t i = 0; brand != NULL && i < d->cfg->nbrands; i++)
		if (strcmp(d->cfg->brands[i], brand) == 0)
			return d->cfg->brands[i];
	return OTHER_BRAND;
}

/* The counters of one brand label, made on first use. */
static struct brand_metrics *
brand_metrics(struct deflectd *d, const char *label)
{
	for (size_t i = 0; i < d->nbm; i++)
		if (strcmp(d->bm[i].label, label) == 0)
			return &d->bm[i];
	d->bm = xreallocarray(d->bm, d->nbm + 1, sizeof *d->bm);
	memset(&d->bm[d->nbm], 0, sizeof *d->bm);
	d->bm[d->nbm].label = xstrdup(label);
	d->bm[d->nbm].shown = label_escape(label);
	return &d->bm[d->nbm++];
}

void
metrics_brands_add(struct deflectd *d)
{
	brand_metrics(d, OTHER_BRAND);
	for (size_t i = 0; i < d->cfg->nbrands; i++)
		brand_metrics(d, d->cfg->brands[i]);
}

void
metrics_count_finding(struct deflectd *d, const char *brand, int t)
{
	if (t >= 0 && t < FINDING_TYPES)
		brand_metrics(d, metrics_brand_label(d, brand))->findings[t]++;
}

void
metrics_free(struct deflectd *d)
{
	for (size_t i = 0; i < d->nbm; i++) {
		free(d->bm[i].label);
		free(d->bm[i].shown);
	}
	free(d->bm);
	d->bm = NULL;
	d->nbm = 0;
}

void
metrics_carry_rules(struct ruleset *to, const struct ruleset *from)
{
	to->limit_hits += from->limit_hits;
	for (size_t i = 0; i < to->n; i++)
		for (size_t j = 0; j < from->n; j++)
			if (strcmp(to->rules[i].id, from->rules[j].id) == 0) {
				to->rules[i].hits += from->rules[j].hits;
				break;
			}
}

/* Index of s in v, or n when absent. */
static size_t
index_of(const char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n && strcmp(v[i], s) != 0; i++)
		;
	return i;
}

/*
 * Counts from the state database, by brand label and one other label: every
 * brand configured now and "_other" get a row, states with no rows give 0.
 */
struct grid {
	struct deflectd *d;
	const char *const *keys; /* the other label's values, e.g. case states */
	size_t nkeys;
	const char **labels;     /* brand labels: configured brands, then "_other" */
	char **shown;            /* the same, escaped for the text format */
	size_t nlabels;
	unsigned long long *n;   /* nlabels x nkeys */
	size_t off;              /* column of the first label value in a row */
};

/* Sets up g's brand labels from the config. */
static void
grid_init(struct grid *g, struct deflectd *d, const char *const *keys, size_t nkeys)
{
	g->d = d;
	g->keys = keys;
	g->nkeys = nkeys;
	g->nlabels = d->cfg->nbrands + 1;
	g->labels = xcalloc(g->nlabels, sizeof *g->labels);
	for (size_t i = 0; i < d->cfg->nbrands; i++)
		g->labels[i] = d->cfg->brands[i];
	g->labels[d->cfg->nbrands] = OTHER_BRAND;
	g->shown = xcalloc(g->nlabels, sizeof *g->shown);
	for (size_t i = 0; i < g->nlabels; i++)
		g->shown[i] = label_escape(g->labels[i]);
	g->n = xcalloc(g->nlabels * nkeys, sizeof *g->n);
}

/* store_rows callback: (brand, key, count) adds count to its cell. */
static void
grid_row(void *arg, int n, const char *const *v)
{
	struct grid *g = arg;
	const char *label;
	size_t b, k;

	if (n < 3 || v[1] == NULL)
		return;
	label = metrics_brand_label(g->d, v[0]);
	b = index_of(g->labels, g->nlabels, label);
	k = index_of(g->keys, g->nkeys, v[1]);
	if (b < g->nlabels && k < g->nkeys)
		g->n[b * g->nkeys + k] += strtoull(v[2] ? v[2] : "0", NULL, 10);
}

static void
grid_free(struct grid *g)
{
	for (size_t i = 0; i < g->nlabels; i++)
		free(g->shown[i]);
	free(g->shown);
	free(g->labels);
	free(g->n);
}

/* process_* metrics of the Prometheus client libraries, from /proc. */
static void
process_metrics(struct deflectd *d, struct buf *out)
{
	long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
	unsigned long long vsize = 0, rss = 0, ut = 0, st = 0;
	size_t fds = 0;
	char line[1024];
	struct dirent *de;
	FILE *f;
	DIR *dp;

	if ((f = fopen("/proc/self/stat", "r")) != NULL) {
		/* Fields after the command name, which may hold spaces: find its last ')'. */
		if (fgets(line, sizeof line, f) != NULL) {
			char *p = strrchr(line, ')');

			if (p != NULL)
				sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu"
				    " %*d %*d %*d %*d %*d %*d %*u %llu %llu", &ut, &st, &vsize, &rss);
		}
		fclose(f);
	}
	if ((dp = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(dp)) != NULL)
			if (de->d_name[0] != '.')
				fds++;
		closedir(dp);
		fds--; /* the directory stream's own descriptor */
	}
	head(out, "process_start_time_seconds", "gauge", "Start time of the process (Unix time).");
	buf_printf(out, "process_start_time_seconds %.3f\n", d->started_at);
	head(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
	buf_printf(out, "process_cpu_seconds_total %.2f\n",
	    ticks > 0 ? (double)(ut + st) / (double)ticks : 0.0);
	head(out, "process_resident_memory_bytes", "gauge", "Resident memory size.");
	buf_printf(out, "process_resident_memory_bytes %llu\n", rss * (unsigned long long)page);
	head(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size.");
	buf_printf(out, "process_virtual_memory_bytes %llu\n", vsize);
	head(out, "process_open_fds", "gauge", "Open file descriptors.");
	buf_printf(out, "process_open_fds %zu\n", fds);
	head(out, "process_max_fds", "gauge", "Limit on open file descriptors.");
	buf_printf(out, "process_max_fds %ld\n", sysconf(_SC_OPEN_MAX));
}

/* A metric with one label, its rows from a query of (label value, count). */
struct labelled {
	struct buf *out;
	const char *metric;
	const char *label;
};

/* store_rows callback: one row of a struct labelled metric. */
static void
labelled_row(void *arg, int n, const char *const *v)
{
	struct labelled *l = arg;

	if (n >= 2 && v[0] != NULL)
		buf_printf(l->out, "%s{%s=\"%s\"} %s\n", l->metric, l->label, v[0], v[1] ? v[1] : "0");
}

/* Writes a counter's HELP and TYPE lines. */
static void
head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_render(struct deflectd *d, struct buf *out)
{
	struct pipeline_stats ps;

	const char *case_states[CASE_CLOSED + 1], *verdicts[VERDICTS];
	struct grid g;

	for (int i = 0; i <= CASE_CLOSED; i++)
		case_states[i] = case_state_name((enum case_state)i);
	for (int i = 0; i < VERDICTS; i++)
		verdicts[i] = verdict_name(i);
	pipeline_stats(d->pl, &ps);
	head(out, "deflectd_build_info", "gauge",
	    "Always 1; the labels name deflectd's version and the libraries it runs with.");
	buf_adds(out, "deflectd_build_info{");
	version_labels(out);
	buf_adds(out, "} 1\n");
	head(out, "deflectd_up", "gauge", "1 while the event loop answers.");
	buf_adds(out, "deflectd_up 1\n");
	head(out, "deflectd_posts_total", "counter", "Posts accepted, by input.");
	for (size_t i = 0; i < d->nsources; i++)
		buf_printf(out, "deflectd_posts_total{source=\"%s\"} %llu\n", d->sources[i]->name,
		    (unsigned long long)d->sources[i]->posts);
	head(out, "deflectd_duplicate_posts_total", "counter", "Posts refused as already seen.");
	for (size_t i = 0; i < d->nsources; i++)
		buf_printf(out, "deflectd_duplicate_posts_total{source=\"%s\"} %llu\n",
		    d->sources[i]->name, (unsigned long long)d->sources[i]->duplicates);
	head(out, "deflectd_parse_errors_total", "counter", "Input lines rejected, by input.");
	for (size_t i = 0; i < d->nsources; i++)
		buf_printf(out, "deflectd_parse_errors_total{source=\"%s\"} %llu\n",
		    d->sources[i]->name, (unsigned long long)d->sources[i]->bad);
	head(out, "deflectd_future_posts_total", "counter",
	    "Posts refused as dated more than clock_skew ahead (also parse errors), by input.");
	for (size_t i = 0; i < d->nsources; i++)
		buf_printf(out, "deflectd_future_posts_total{source=\"%s\"} %llu\n",
		    d->sources[i]->name, (unsigned long long)d->sources[i]->future);
	head(out, "deflectd_source_connected", "gauge",
	    "1 while a network source streams or its last poll answered.");
	for (size_t i = 0; i < d->nsources; i++)
		if (d->sources[i]->network)
			buf_printf(out, "deflectd_source_connected{source=\"%s\"} %d\n",
			    d->sources[i]->name, d->sources[i]->connected);
	head(out, "deflectd_source_last_byte_timestamp_seconds", "gauge",
	    "When a network source last received a byte (Unix time; 0 = never).");
	for (size_t i = 0; i < d->nsources; i++)
		if (d->sources[i]->network)
			buf_printf(out, "deflectd_source_last_byte_timestamp_seconds{source=\"%s\"} %lld\n",
			    d->sources[i]->name, (long long)d->sources[i]->last_byte);
	head(out, "deflectd_source_reconnects_total", "counter", "Network source reconnects.");
	for (size_t i = 0; i < d->nsources; i++)
		if (d->sources[i]->network)
			buf_printf(out, "deflectd_source_reconnects_total{source=\"%s\"} %llu\n",
			    d->sources[i]->name, (unsigned long long)d->sources[i]->reconnects);
	head(out, "deflectd_source_stalls_total", "counter", "Streams cut for silence.");
	for (size_t i = 0; i < d->nsources; i++)
		if (d->sources[i]->network)
			buf_printf(out, "deflectd_source_stalls_total{source=\"%s\"} %llu\n",
			    d->sources[i]->name, (unsigned long long)d->sources[i]->stalls);
	head(out, "deflectd_source_errors_total", "counter",
	    "Network source errors: HTTP errors, in-stream error objects, failed polls.");
	for (size_t i = 0; i < d->nsources; i++)
		if (d->sources[i]->network)
			buf_printf(out, "deflectd_source_errors_total{source=\"%s\"} %llu\n",
			    d->sources[i]->name, (unsigned long long)d->sources[i]->errors);
	head(out, "deflectd_posts_tracked_total", "counter", "Posts through the tracker.");
	buf_printf(out, "deflectd_posts_tracked_total %llu\n", (unsigned long long)ps.posts);
	head(out, "deflectd_posts_buffered", "gauge", "Posts waiting out the lateness.");
	buf_printf(out, "deflectd_posts_buffered %llu\n", (unsigned long long)ps.buffered);
	head(out, "deflectd_rule_matches_total", "counter",
	    "Posts each rule decided (the first rule of its kind to match).");
	for (size_t i = 0; i < d->rs->n; i++)
		buf_printf(out, "deflectd_rule_matches_total{rule=\"%s\",kind=\"%s\"} %llu\n",
		    d->rs->rules[i].id, rule_kind_name(d->rs->rules[i].kind),
		    (unsigned long long)d->rs->rules[i].hits);
	head(out, "deflectd_regex_match_limit_hits_total", "counter",
	    "Matches abandoned at PCRE2's match limit.");
	buf_printf(out, "deflectd_regex_match_limit_hits_total %llu\n",
	    (unsigned long long)d->rs->limit_hits);
	head(out, "deflectd_findings_total", "counter", "Findings since start, by type and brand.");
	for (size_t i = 0; i < d->nbm; i++)
		for (int t = 0; t < FINDING_TYPES; t++)
			buf_printf(out, "deflectd_findings_total{type=\"%s\",brand=\"%s\"} %llu\n",
			    finding_type_name((enum finding_type)t), d->bm[i].shown,
			    (unsigned long long)d->bm[i].findings[t]);
	head(out, "deflectd_cases", "gauge", "Cases in the state database, by state and brand.");
	grid_init(&g, d, case_states, CASE_CLOSED + 1);
	store_rows(d->store, "SELECT brand, state, count(*) FROM cases GROUP BY brand, state",
	    NULL, NULL, grid_row, &g);
	for (size_t b = 0; b < g.nlabels; b++)
		for (size_t k = 0; k < g.nkeys; k++)
			buf_printf(out, "deflectd_cases{state=\"%s\",brand=\"%s\"} %llu\n", g.keys[k],
			    g.shown[b], g.n[b * g.nkeys + k]);
	grid_free(&g);
	head(out, "deflectd_case_verdicts", "gauge", "Operator verdicts on cases, by verdict and brand.");
	grid_init(&g, d, verdicts, VERDICTS);
	store_rows(d->store, "SELECT brand, verdict, count(*) FROM case_verdicts GROUP BY 1, 2",
	    NULL, NULL, grid_row, &g);
	for (size_t b = 0; b < g.nlabels; b++)
		for (size_t k = 0; k < g.nkeys; k++)
			buf_printf(out, "deflectd_case_verdicts{verdict=\"%s\",brand=\"%s\"} %llu\n",
			    g.keys[k], g.shown[b], g.n[b * g.nkeys + k]);
	grid_free(&g);
	/* One grid per alert type: the type is a third label. */
	head(out, "deflectd_alert_deliveries", "gauge",
	    "Alert deliveries, by type, delivery state and brand.");
	for (int t = 0; t < FINDING_TYPES; t++) {
		/* Every type an alert can have, detected included (alert_detected may be off now). */
		const char *type = alert_type((enum finding_type)t, 1);

		if (type == NULL)
			continue;
		grid_init(&g, d, delivery_states, NDELIVERY_STATES);
		store_rows(d->store, "SELECT json_extract(o.body, '$.case.brand'), d.state, count(*)"
		    " FROM deliveries d JOIN outbox o ON o.id = d.alert_id WHERE o.type = ?1"
		    " GROUP BY 1, 2", type, NULL, grid_row, &g);
		for (size_t b = 0; b < g.nlabels; b++)
			for (size_t k = 0; k < g.nkeys; k++)
				buf_printf(out, "deflectd_alert_deliveries{type=\"%s\",state=\"%s\","
				    "brand=\"%s\"} %llu\n", type, g.keys[k], g.shown[b],
				    g.n[b * g.nkeys + k]);
		grid_free(&g);
	}
	head(out, "deflectd_alerts_held_total", "counter",
	    "Alerts recorded but sent to no webhook, by reason.");
	struct labelled held = {out, "deflectd_alerts_held_total", "reason"};
	store_rows(d->store, "SELECT 'silenced', count(*) FROM outbox WHERE silence_id IS NOT NULL"
	    " UNION ALL SELECT 'too_old', count(*) FROM outbox WHERE held IS NOT NULL AND"
	    " silence_id IS NULL", NULL, NULL, labelled_row, &held);
	head(out, "deflectd_silences", "gauge", "Silences in the state database, by state.");
	struct labelled sil = {out, "deflectd_silences", "state"};
	store_rows(d->store, "SELECT 'active', count(*) FROM silences WHERE starts_at <= unixepoch()"
	    " AND ends_at > unixepoch() UNION ALL SELECT 'pending', count(*) FROM silences"
	    " WHERE starts_at > unixepoch() UNION ALL SELECT 'expired', count(*) FROM silences"
	    " WHERE ends_at <= unixepoch()", NULL, NULL, labelled_row, &sil);
	head(out, "deflectd_reloads_total", "counter", "SIGHUP reloads, by result.");
	buf_printf(out, "deflectd_reloads_total{result=\"success\"} %llu\n"
	    "deflectd_reloads_total{result=\"failure\"} %llu\n", (unsigned long long)d->reloads,
	    (unsigned long long)d->reload_failures);
	webhooks_metrics(d->hooks, out);
	process_metrics(d, out);
}
