/*
 * One case in full, read from the state database in a handful of queries
 * and returned as one JSON document that the CLI, the API and the page all
 * render, so the three never differ.
 */
#include <stdlib.h>
#include <string.h>

#include "case_detail.h"
#include "post.h"

/* A time column (Unix seconds as text) as RFC 3339, or null. */
static json_t *
jtime(const char *v)
{
	char out[32];

	if (v == NULL)
		return json_null();
	rfc3339_format(strtoll(v, NULL, 10), out, sizeof out);
	return json_string(out);
}

/* A text column, or null. */
static json_t *
jstr(const char *v)
{
	return v != NULL ? json_string(v) : json_null();
}

/* An integer column, or null. */
static json_t *
jint(const char *v)
{
	return v != NULL ? json_integer(strtoll(v, NULL, 10)) : json_null();
}

/*
 * A timeline entry: the span (byte offsets into text, the normalized text
 * rules ran on) and the matched text when the span lies within it.
 */
static json_t *
entry(const char *post_id, const char *at, const char *role, const char *author,
    const char *finding, const char *rule, const char *start, const char *end,
    const char *text, const char *url)
{
	json_t *o = json_object();
	long long s = start ? strtoll(start, NULL, 10) : -1, e = end ? strtoll(end, NULL, 10) : -1;
	size_t len = text ? strlen(text) : 0;

	json_object_set_new(o, "post_id", jstr(post_id));
	json_object_set_new(o, "at", jtime(at));
	json_object_set_new(o, "role", jstr(role));
	json_object_set_new(o, "author", jstr(author));
	json_object_set_new(o, "finding", jstr(finding));
	json_object_set_new(o, "rule", jstr(rule));
	if (s >= 0 && e >= s && (size_t)e <= len) {
		json_object_set_new(o, "span", json_pack("[II]", (json_int_t)s, (json_int_t)e));
		json_object_set_new(o, "match", json_stringn_nocheck(text + s, (size_t)(e - s)));
	} else {
		json_object_set_new(o, "span", json_null());
		json_object_set_new(o, "match", json_null());
	}
	json_object_set_new(o, "text", jstr(text));
	json_object_set_new(o, "url", jstr(url));
	return o;
}

/* store_rows callback: the case's own columns. */
static void
case_row(void *arg, int n, const char *const *v)
{
	json_t **out = arg;
	json_t *o;

	if (n < 13 || *out != NULL)
		return;
	o = json_object();
	json_object_set_new(o, "id", jint(v[0]));
	json_object_set_new(o, "platform", jstr(v[1]));
	json_object_set_new(o, "conversation_id", jstr(v[2]));
	json_object_set_new(o, "customer", jstr(v[3]));
	json_object_set_new(o, "post_id", jstr(v[4]));
	json_object_set_new(o, "brand", jstr(v[5]));
	json_object_set_new(o, "state", jstr(v[6]));
	json_object_set_new(o, "deflected_at", jtime(v[7]));
	json_object_set_new(o, "deadline", jtime(v[8]));
	json_object_set_new(o, "resolved_at", jtime(v[9]));
	json_object_set_new(o, "time_to_resolution", v[9] && v[7] ?
	    json_integer(strtoll(v[9], NULL, 10) - strtoll(v[7], NULL, 10)) : json_null());
	json_object_set_new(o, "repeats", jint(v[10]));
	json_object_set_new(o, "escalations", jint(v[11]));
	json_object_set_new(o, "rule", jstr(v[12]));
	*out = o;
}

/* store_rows callback: the deflecting post opens the timeline. */
static void
case_text(void *arg, int n, const char *const *v)
{
	if (n >= 8)
		json_array_append_new(arg, entry(v[0], v[1], "brand", v[7], "deflection", v[2], v[3],
		    v[4], v[5], v[6]));
}

/* store_rows callback: one later post of the case. */
static void
evidence_row(void *arg, int n, const char *const *v)
{
	const char *role;

	if (n < 10)
		return;
	role = v[7];
	/* Rows kept before case_posts existed: the kind still tells most roles. */
	if (role == NULL && v[1] != NULL)
		role = strcmp(v[1], "escalation") == 0 ? "customer" :
		    strcmp(v[1], "repeat_deflection") == 0 ? "brand" : NULL;
	json_array_append_new(arg, entry(v[0], v[2], role, v[6], v[1], v[3], v[8], v[9], v[4],
	    v[5]));
}

/* store_rows callback: one alert the case raised. */
static void
alert_row(void *arg, int n, const char *const *v)
{
	if (n >= 3)
		json_array_append_new(arg, json_pack("{s:s?, s:s?, s:o, s:[]}", "id", v[0], "type",
		    v[1], "created_at", jtime(v[2]), "deliveries"));
}

/* store_rows callback: one delivery of an alert. */
static void
delivery_row(void *arg, int n, const char *const *v)
{
	if (n < 6)
		return;
	/* A delivery a silence held back will say so here, with the silence's id. */
	json_array_append_new(arg, json_pack("{s:s?, s:s?, s:o, s:o, s:s?, s:o}", "webhook",
	    v[0], "state", v[1], "attempts", jint(v[2]), "last_status", jint(v[3]), "last_error",
	    v[4], "updated_at", jtime(v[5])));
}

/* store_rows callback: the operator's verdict. */
static void
verdict_row(void *arg, int n, const char *const *v)
{
	json_t *c = arg;

	if (n >= 6)
		json_object_set_new(c, "operator_verdict", json_pack("{s:s?, s:s?, s:s?, s:o, s:s?,"
		    " s:s?}", "verdict", v[0], "note", v[1], "author", v[2], "at", jtime(v[3]),
		    "state_before", v[4], "label", v[5]));
}

int
case_id_valid(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 18 && s[n] == '\0';
}

json_t *
case_detail(struct store *st, const char *id, int *missing)
{
	json_t *c = NULL, *alerts, *a;
	size_t i;
	int failed = 0;

	*missing = 0;
	if (!case_id_valid(id)) {
		*missing = 1;
		return NULL;
	}
	if (store_rows(st, "SELECT rowid, platform, conversation_id, customer, post_id, brand,"
	    " state, deflected_at, deadline, resolved_at, repeats, escalations, rule FROM cases"
	    " WHERE rowid = CAST(?1 AS INTEGER)", id, NULL, case_row, &c) != 0)
		return NULL;
	if (c == NULL) {
		*missing = 1;
		return NULL;
	}
	json_object_set_new(c, "timeline", json_array());
	failed |= store_rows(st, "SELECT c.post_id, c.deflected_at, c.rule, c.span_start,"
	    " c.span_end, c.text, c.url, p.author FROM cases c LEFT JOIN case_posts p"
	    " ON p.platform = c.platform AND p.post_id = c.post_id AND p.kind = 'deflection'"
	    " WHERE c.rowid = CAST(?1 AS INTEGER)", id, NULL, case_text,
	    json_object_get(c, "timeline"));
	failed |= store_rows(st, "SELECT e.post_id, e.kind, e.at, e.rule, e.text, e.url, p.author,"
	    " p.role, p.span_start, p.span_end FROM cases c JOIN evidence e"
	    " ON (e.platform, e.conversation_id, e.customer, e.case_post_id) ="
	    " (c.platform, c.conversation_id, c.customer, c.post_id)"
	    " LEFT JOIN case_posts p ON p.platform = e.platform AND p.post_id = e.post_id"
	    " AND p.kind = e.kind WHERE c.rowid = CAST(?1 AS INTEGER) ORDER BY e.at, e.post_id",
	    id, NULL, evidence_row, json_object_get(c, "timeline"));
	alerts = json_array();
	failed |= store_rows(st, "SELECT o.id, o.type, o.created_at FROM cases c JOIN outbox o"
	    " ON json_extract(o.body, '$.case.platform') = c.platform"
	    " AND json_extract(o.body, '$.case.conversation_id') = c.conversation_id"
	    " AND json_extract(o.body, '$.case.customer') = c.customer"
	    " AND json_extract(o.body, '$.deflection.post_id') = c.post_id"
	    " WHERE c.rowid = CAST(?1 AS INTEGER) ORDER BY o.created_at, o.id", id, NULL,
	    alert_row, alerts);
	json_array_foreach(alerts, i, a)
		failed |= store_rows(st, "SELECT webhook, state, attempts, last_status, last_error,"
		    " updated_at FROM deliveries WHERE alert_id = ?1 ORDER BY webhook",
		    json_string_value(json_object_get(a, "id")), NULL, delivery_row,
		    json_object_get(a, "deliveries"));
	json_object_set_new(c, "alerts", alerts);
	/* Silences that held back this case's alerts (filled once silences exist). */
	json_object_set_new(c, "silences", json_array());
	json_object_set_new(c, "operator_verdict", json_null());
	failed |= store_rows(st, "SELECT v.verdict, v.note, v.author, v.at, v.state_before,"
	    " v.label FROM cases c JOIN case_verdicts v ON (v.platform, v.conversation_id,"
	    " v.customer, v.post_id) = (c.platform, c.conversation_id, c.customer, c.post_id)"
	    " WHERE c.rowid = CAST(?1 AS INTEGER)", id, NULL, verdict_row, c);
	if (failed) {
		json_decref(c);
		return NULL;
	}
	return c;
}
