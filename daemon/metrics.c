/*
 * What the admin API shows: Prometheus metrics, case and alert listings,
 * and the per-brand scorecard. Reads counters and the state database; the
 * admin listener only wraps the results in HTTP.
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
	head(out, "deflectd_alert_deliveries", "gauge", "Alert deliveries, by type and state.");
	store_rows(d->store, "SELECT o.type, d.state, count(*) FROM deliveries d JOIN outbox o ON"
	    " o.id = d.alert_id GROUP BY o.type, d.state ORDER BY 1, 2", NULL, NULL, alert_row, out);
	head(out, "deflectd_reloads_total", "counter", "SIGHUP reloads, by result.");
	buf_printf(out, "deflectd_reloads_total{result=\"success\"} %llu\n"
	    "deflectd_reloads_total{result=\"failure\"} %llu\n", (unsigned long long)d->reloads,
	    (unsigned long long)d->reload_failures);
	webhooks_metrics(d->hooks, out);
}

/* store_rows callback: one case as a JSON object. */
static void
case_row(void *arg, int n, const char *const *v)
{
	static const char *keys[] = {"platform", "conversation_id", "customer", "brand", "state",
	    "deflected_at", "deadline", "resolved_at", "repeats", "escalations", "rule", "post_id"};
	json_t *o = json_object();

	for (int i = 0; i < n && i < 12; i++) {
		if (v[i] == NULL)
			json_object_set_new(o, keys[i], json_null());
		else if (i == 8 || i == 9)
			json_object_set_new(o, keys[i], json_integer(strtoll(v[i], NULL, 10)));
		else
			json_object_set_new(o, keys[i], json_string(v[i]));
	}
	json_array_append_new(arg, o);
}

char *
metrics_cases(struct deflectd *d, const char *state, const char *brand)
{
	json_t *arr = json_array(), *doc;
	char *s;

	store_rows(d->store, "SELECT platform, conversation_id, customer, brand, state,"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', deflected_at, 'unixepoch'),"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', deadline, 'unixepoch'),"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', resolved_at, 'unixepoch'),"
	    " repeats, escalations, rule, post_id FROM cases"
	    " WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR brand = ?2)"
	    " ORDER BY deflected_at DESC LIMIT 1000", state, brand, case_row, arr);
	doc = json_pack("{s:o}", "cases", arr);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* store_rows callback: one delivery as a JSON object. */
static void
alert_item(void *arg, int n, const char *const *v)
{
	if (n >= 7)
		json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s?, s:s?}", "id",
		    v[0], "type", v[1], "webhook", v[2], "state", v[3], "attempts",
		    (json_int_t)strtoll(v[4] ? v[4] : "0", NULL, 10), "last_error", v[5],
		    "created_at", v[6]));
}

char *
metrics_alerts(struct deflectd *d, const char *state)
{
	json_t *arr = json_array(), *doc;
	char *s;

	store_rows(d->store, "SELECT d.alert_id, o.type, d.webhook, d.state, d.attempts,"
	    " d.last_error, strftime('%Y-%m-%dT%H:%M:%SZ', o.created_at, 'unixepoch')"
	    " FROM deliveries d JOIN outbox o ON o.id = d.alert_id"
	    " WHERE ?1 IS NULL OR d.state = ?1 ORDER BY o.created_at DESC LIMIT 1000", state, NULL,
	    alert_item, arr);
	doc = json_pack("{s:o}", "alerts", arr);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* store_rows callback: one brand's scorecard. */
static void
brand_row(void *arg, int n, const char *const *v)
{
	if (n < 7)
		return;
	long long replies = strtoll(v[1] ? v[1] : "0", NULL, 10);
	long long cases = strtoll(v[2] ? v[2] : "0", NULL, 10);
	long long resolved = strtoll(v[3] ? v[3] : "0", NULL, 10);
	long long closed = strtoll(v[4] ? v[4] : "0", NULL, 10);
	json_t *o = json_pack("{s:s, s:I, s:I, s:f, s:I, s:f, s:I}", "brand", v[0], "replies",
	    (json_int_t)replies, "deflections", (json_int_t)cases, "deflection_rate",
	    replies ? (double)cases / (double)replies : 0.0, "resolved_in_public",
	    (json_int_t)resolved, "public_resolution_rate",
	    closed ? (double)resolved / (double)closed : 0.0, "escalations",
	    (json_int_t)strtoll(v[5] ? v[5] : "0", NULL, 10));

	json_object_set_new(o, "median_time_to_resolution",
	    v[6] ? json_integer(strtoll(v[6], NULL, 10)) : json_null());
	json_array_append_new(arg, o);
}

char *
metrics_brands(struct deflectd *d)
{
	json_t *arr = json_array(), *doc;
	char *s;

	/*
	 * Resolved in public: resolved or resolved late. Decided: those plus the
	 * unresolved. The median comes from the middle row of the brand's times.
	 */
	store_rows(d->store,
	    "WITH b AS (SELECT brand FROM brand_replies UNION SELECT brand FROM cases),"
	    " t AS (SELECT brand, resolved_at - deflected_at AS ttr,"
	    "  row_number() OVER (PARTITION BY brand ORDER BY resolved_at - deflected_at) AS k,"
	    "  count(*) OVER (PARTITION BY brand) AS n FROM cases WHERE resolved_at IS NOT NULL)"
	    " SELECT b.brand, coalesce((SELECT replies FROM brand_replies r WHERE r.brand = b.brand), 0),"
	    " (SELECT count(*) FROM cases c WHERE c.brand = b.brand),"
	    " (SELECT count(*) FROM cases c WHERE c.brand = b.brand AND c.state IN ('resolved',"
	    "  'resolved_late')),"
	    " (SELECT count(*) FROM cases c WHERE c.brand = b.brand AND c.state != 'deflected'),"
	    " (SELECT coalesce(sum(escalations), 0) FROM cases c WHERE c.brand = b.brand),"
	    " (SELECT ttr FROM t WHERE t.brand = b.brand AND t.k = (t.n + 1) / 2)"
	    " FROM b ORDER BY b.brand", NULL, NULL, brand_row, arr);
	doc = json_pack("{s:o}", "brands", arr);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* Appends text with HTML's special characters escaped. */
static void
html_escape(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		default: buf_addc(b, *s);
		}
	}
}

/* An inline SVG bar for a rate from 0 to 1, with its percentage. */
static void
bar(struct buf *b, double rate, const char *colour, const char *label)
{
	double w = rate < 0 ? 0 : rate > 1 ? 120 : rate * 120;

	buf_printf(b, "<svg width=\"170\" height=\"18\" role=\"img\" aria-label=\"%s %.1f%%\">"
	    "<rect width=\"120\" height=\"14\" y=\"2\" fill=\"#eee\"/>"
	    "<rect class=\"bar\" width=\"%.1f\" height=\"14\" y=\"2\" fill=\"%s\"/>"
	    "<text x=\"126\" y=\"14\" font-size=\"12\">%.0f%%</text></svg>", label, rate * 100, w,
	    colour, rate * 100);
}

char *
metrics_page(struct deflectd *d)
{
	char *doc = metrics_brands(d);
	json_t *o = doc ? json_loads(doc, 0, NULL) : NULL, *b;
	struct buf h = BUF_INIT;
	size_t i;

	buf_adds(&h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		     "<title>deflectd scorecard</title><style>"
		     "body{font-family:sans-serif;margin:2em;color:#222}"
		     "table{border-collapse:collapse}td,th{padding:.4em .8em;text-align:left;"
		     "border-bottom:1px solid #ddd}th{background:#f4f4f4}"
		     "td.n{text-align:right}</style></head><body>"
		     "<h1>Deflections by brand</h1>"
		     "<p>A deflection moves a public complaint into private messages or another "
		     "private channel. A public resolution is the brand or the customer saying in "
		     "the open that the problem is solved.</p>"
		     "<table id=\"brands\"><thead><tr><th>Brand</th><th>Replies</th>"
		     "<th>Deflections</th><th>Deflection rate</th><th>Resolved in public</th>"
		     "<th>Median time to resolution</th><th>Escalations</th></tr></thead><tbody>");
	json_array_foreach(json_object_get(o, "brands"), i, b) {
		json_t *m = json_object_get(b, "median_time_to_resolution");

		buf_adds(&h, "<tr><td>");
		html_escape(&h, json_string_value(json_object_get(b, "brand")));
		buf_printf(&h, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td>",
		    (long long)json_integer_value(json_object_get(b, "replies")),
		    (long long)json_integer_value(json_object_get(b, "deflections")));
		bar(&h, json_real_value(json_object_get(b, "deflection_rate")), "#c0392b",
		    "deflection rate");
		buf_adds(&h, "</td><td>");
		bar(&h, json_real_value(json_object_get(b, "public_resolution_rate")), "#27ae60",
		    "resolved in public");
		if (json_is_integer(m))
			buf_printf(&h, "</td><td class=\"n\">%lldh %02lldm</td>",
			    (long long)json_integer_value(m) / 3600,
			    (long long)json_integer_value(m) / 60 % 60);
		else
			buf_adds(&h, "</td><td class=\"n\">-</td>");
		buf_printf(&h, "<td class=\"n\">%lld</td></tr>",
		    (long long)json_integer_value(json_object_get(b, "escalations")));
	}
	buf_adds(&h, "</tbody></table></body></html>\n");
	json_decref(o);
	free(doc);
	return h.s;
}
