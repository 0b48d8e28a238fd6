/*
 * Prometheus metrics: reads counters and the state database; the admin
 * listener only wraps the result in HTTP. The listings are in listing.c,
 * the scorecard in scorecard.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "metrics.h"
#include "webhook.h"
#include "xmalloc.h"

/* store_rows callback: "name{label="v"} n" lines from (label, n) rows. */
struct labelled {
	struct buf *out;
	const char *metric;
	const char *label;
};

static void
labelled_row(void *arg, int n, const char *const *v)
{
	struct labelled *l = arg;

	if (n >= 2 && v[0] != NULL)
		buf_printf(l->out, "%s{%s=\"%s\"} %s\n", l->metric, l->label, v[0], v[1] ? v[1] : "0");
}

/* store_rows callback: alerts by type and delivery state. */
static void
alert_row(void *arg, int n, const char *const *v)
{
	if (n >= 3)
		buf_printf(arg, "deflectd_alert_deliveries{type=\"%s\",state=\"%s\"} %s\n", v[0], v[1],
		    v[2]);
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
	struct tracker_stats ts;

	pipeline_stats(d->pl, &ps);
	tracker_stats(pipeline_tracker(d->pl), &ts);
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
	    "Matches abandoned at PCRE2's match limit (since the last reload).");
	buf_printf(out, "deflectd_regex_match_limit_hits_total %llu\n",
	    (unsigned long long)d->rs->limit_hits);
	head(out, "deflectd_findings_total", "counter", "Findings since start, by type.");
	for (int t = 0; t < FINDING_TYPES; t++)
		buf_printf(out, "deflectd_findings_total{type=\"%s\"} %llu\n",
		    finding_type_name((enum finding_type)t), (unsigned long long)ts.findings[t]);
	head(out, "deflectd_cases", "gauge", "Cases in the state database, by state.");
	struct labelled l = {out, "deflectd_cases", "state"};
	store_rows(d->store, "SELECT state, count(*) FROM cases GROUP BY state ORDER BY state", NULL,
	    NULL, labelled_row, &l);
	head(out, "deflectd_case_verdicts", "gauge", "Operator verdicts on cases, by verdict.");
	struct labelled v = {out, "deflectd_case_verdicts", "verdict"};
	store_rows(d->store, "SELECT verdict, count(*) FROM case_verdicts GROUP BY verdict"
	    " ORDER BY verdict", NULL, NULL, labelled_row, &v);
	head(out, "deflectd_alert_deliveries", "gauge", "Alert deliveries, by type and state.");
	store_rows(d->store, "SELECT o.type, d.state, count(*) FROM deliveries d JOIN outbox o ON"
	    " o.id = d.alert_id GROUP BY o.type, d.state ORDER BY 1, 2", NULL, NULL, alert_row, out);
	head(out, "deflectd_reloads_total", "counter", "SIGHUP reloads, by result.");
	buf_printf(out, "deflectd_reloads_total{result=\"success\"} %llu\n"
	    "deflectd_reloads_total{result=\"failure\"} %llu\n", (unsigned long long)d->reloads,
	    (unsigned long long)d->reload_failures);
	webhooks_metrics(d->hooks, out);
}
