/*
 * Case and alert listings with keyset paging: rows come newest first by
 * (time, rowid), and a cursor names the last row a page showed, so the
 * next page is one indexed range query however deep the walk goes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <openssl/evp.h>

#include "buf.h"
#include "listing.h"
#include "post.h"
#include "tracker.h"
#include "xmalloc.h"

/* The parameters each listing takes; anything else is refused by name. */
static const char *const known[][10] = {
    [LISTING_CASES] = {"limit", "cursor", "brand", "state", "customer", "rule", "since", "until",
	NULL},
    [LISTING_ALERTS] = {"limit", "cursor", "brand", "state", "customer", "rule", "since", "until",
	"type", NULL},
    [LISTING_BRANDS] = {"since", "until", NULL},
};

/* Is name one of the kind's parameters? */
static int
is_known(enum listing_kind kind, const char *name)
{
	for (int i = 0; known[kind][i] != NULL; i++)
		if (strcmp(known[kind][i], name) == 0)
			return 1;
	return 0;
}

/* Is s a state the kind's rows can be in? */
static int
known_state(enum listing_kind kind, const char *s)
{
	static const char *const alert_states[] = {"pending", "delivered", "dead", "silenced",
	    "too_old", "grouped", NULL};

	if (kind == LISTING_ALERTS) {
		for (size_t i = 0; alert_states[i] != NULL; i++)
			if (strcmp(s, alert_states[i]) == 0)
				return 1;
		return 0;
	}
	for (int i = CASE_DEFLECTED; i <= CASE_CLOSED; i++)
		if (strcmp(s, case_state_name((enum case_state)i)) == 0)
			return 1;
	return 0;
}

int
listing_time(const char *s, int64_t *t)
{
	char *end;

	if (*s != '\0' && strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		long long v = strtoll(s, &end, 10);

		if (errno != 0)
			return -1;
		*t = v;
		return 0;
	}
	return rfc3339_parse(s, t);
}

/* The cursor for a row: base64url of "time.rowid", without padding. */
static void
cursor_make(int64_t t, int64_t id, char *out, size_t outlen)
{
	char raw[64];
	unsigned char enc[96];
	int n;

	n = snprintf(raw, sizeof raw, "%lld.%lld", (long long)t, (long long)id);
	n = EVP_EncodeBlock(enc, (const unsigned char *)raw, n);
	while (n > 0 && enc[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		enc[i] = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
	snprintf(out, outlen, "%.*s", n, (const char *)enc);
}

/* Reads a cursor back; 0 or -1 for anything we did not make. */
static int
cursor_read(const char *s, int64_t *t, int64_t *id)
{
	size_t n = strlen(s);
	unsigned char in[96], out[96];
	long long a, b;
	char tail;

	if (n == 0 || n > 64)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return -1;
		in[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : (unsigned char)s[i];
	}
	while (n % 4 != 0)
		in[n++] = '=';
	int got = EVP_DecodeBlock(out, in, (int)n);

	if (got < 0 || got >= (int)sizeof out)
		return -1;
	out[got] = '\0'; /* padding decodes to NULs, which end the text too */
	if (sscanf((const char *)out, "%lld.%lld%c", &a, &b, &tail) != 2)
		return -1;
	*t = a;
	*id = b;
	return 0;
}

int
listing_parse(enum listing_kind kind, const char *query, struct listing_query *q, char *err,
    size_t errlen)
{
	struct evkeyval *kv;
	struct buf unknown = BUF_INIT;
	const char *v;

	memset(q, 0, sizeof *q);
	q->kind = kind;
	q->since = INT64_MIN;
	q->until = INT64_MAX;
	q->limit = LISTING_DEFAULT_LIMIT;
	TAILQ_INIT(&q->params);
	if (query != NULL && evhttp_parse_query_str(query, &q->params) != 0) {
		snprintf(err, errlen, "the query string is not well formed");
		return -1;
	}
	TAILQ_FOREACH(kv, &q->params, next) {
		if (!is_known(kind, kv->key))
			buf_printf(&unknown, "%s%s", unknown.len ? ", " : "", kv->key);
	}
	if (unknown.len > 0) {
		struct buf k = BUF_INIT;

		for (int i = 0; known[kind][i] != NULL; i++)
			buf_printf(&k, "%s%s", i ? ", " : "", known[kind][i]);
		snprintf(err, errlen, "unknown parameter%s: %s (this endpoint takes %s)",
		    strchr(unknown.s, ',') ? "s" : "", unknown.s, k.s);
		buf_free(&unknown);
		buf_free(&k);
		return -1;
	}
	q->brand = evhttp_find_header(&q->params, "brand");
	q->customer = evhttp_find_header(&q->params, "customer");
	q->rule = evhttp_find_header(&q->params, "rule");
	q->type = evhttp_find_header(&q->params, "type");
	if ((v = evhttp_find_header(&q->params, "state")) != NULL) {
		/* Several states, comma-separated: any of them. */
		json_t *arr = json_array();
		char *copy = xstrdup(v), *save = NULL;

		for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
			if (!known_state(kind, s)) {
				snprintf(err, errlen, "state \"%s\": must be %s", s,
				    kind == LISTING_ALERTS ?
				    "pending, delivered, dead, silenced, too_old or grouped" :
				    "deflected, resolved, unresolved, resolved_late or closed");
				free(copy);
				json_decref(arr);
				return -1;
			}
			json_array_append_new(arr, json_string(s));
		}
		free(copy);
		if (json_array_size(arr) == 0) {
			snprintf(err, errlen, "state is empty");
			json_decref(arr);
			return -1;
		}
		q->states = json_dumps(arr, JSON_COMPACT);
		json_decref(arr);
	}
	if ((v = evhttp_find_header(&q->params, "since")) != NULL && listing_time(v, &q->since)) {
		snprintf(err, errlen, "since \"%.64s\": expected RFC 3339 time or Unix seconds", v);
		return -1;
	}
	if ((v = evhttp_find_header(&q->params, "until")) != NULL && listing_time(v, &q->until)) {
		snprintf(err, errlen, "until \"%.64s\": expected RFC 3339 time or Unix seconds", v);
		return -1;
	}
	if ((v = evhttp_find_header(&q->params, "limit")) != NULL) {
		char *end;
		long n = strtol(v, &end, 10);

		if (*v == '\0' || *end != '\0' || n < 1 || n > LISTING_MAX_LIMIT) {
			snprintf(err, errlen, "limit \"%.32s\": must be 1 to %d", v, LISTING_MAX_LIMIT);
			return -1;
		}
		q->limit = (int)n;
	}
	if ((v = evhttp_find_header(&q->params, "cursor")) != NULL) {
		if (cursor_read(v, &q->cursor_t, &q->cursor_id) != 0) {
			snprintf(err, errlen, "cursor: not one this server gave out");
			return -1;
		}
		q->cursor = 1;
	}
	return 0;
}

void
listing_query_free(struct listing_query *q)
{
	evhttp_clear_headers(&q->params);
	free(q->states);
	q->states = NULL;
}

/* Rows of one page and where the next begins. */
struct page_rows {
	json_t *arr;
	int limit;
	int more;
	int64_t last_t, last_id;
};

/* A text column as a JSON string, or null. */
static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* store_query callback: one case; the row past the limit only says there is more. */
static void
case_row(void *arg, int n, const char *const *v)
{
	static const char *keys[] = {"platform", "conversation_id", "customer", "brand", "state",
	    "deflected_at", "deadline", "resolved_at", "repeats", "escalations", "rule", "post_id",
	    "url"};
	struct page_rows *pr = arg;
	json_t *o;

	if (n < 15)
		return;
	if ((int)json_array_size(pr->arr) == pr->limit) {
		pr->more = 1;
		return;
	}
	o = json_object();
	json_object_set_new(o, "id", json_integer(strtoll(v[0], NULL, 10)));
	for (int i = 0; i < 13; i++) {
		if (i == 8 || i == 9)
			json_object_set_new(o, keys[i], json_integer(strtoll(v[i + 1] ? v[i + 1] : "0",
			    NULL, 10)));
		else
			json_object_set_new(o, keys[i], str_or_null(v[i + 1]));
	}
	json_array_append_new(pr->arr, o);
	pr->last_t = strtoll(v[14] ? v[14] : "0", NULL, 10);
	pr->last_id = strtoll(v[0], NULL, 10);
}

/* Wraps a page's rows with the cursor of the next page. */
static json_t *
page_doc(const char *name, struct page_rows *pr)
{
	char cur[96];

	if (!pr->more)
		return json_pack("{s:o, s:n}", name, pr->arr, "next_cursor");
	cursor_make(pr->last_t, pr->last_id, cur, sizeof cur);
	return json_pack("{s:o, s:s}", name, pr->arr, "next_cursor", cur);
}

/* The parameters both listings bind, ?1..?10. */
static void
bind_common(const struct listing_query *q, struct store_arg *a)
{
	a[0] = STORE_TEXT(q->brand);
	a[1] = STORE_TEXT(q->customer);
	a[2] = STORE_TEXT(q->rule);
	a[3] = STORE_TEXT(q->states);
	a[4] = STORE_INT(q->since);
	a[5] = STORE_INT(q->until);
	a[6] = q->cursor ? STORE_INT(q->cursor_t) : STORE_TEXT(NULL);
	a[7] = STORE_INT(q->cursor_id);
	a[8] = STORE_INT(q->limit + 1); /* one more than shown: is there a next page? */
	a[9] = STORE_TEXT(q->type);
}

json_t *
listing_cases(struct store *st, const struct listing_query *q)
{
	struct page_rows pr = {json_array(), q->limit, 0, 0, 0};
	struct store_arg a[10];

	bind_common(q, a);
	if (store_query(st, "SELECT rowid, platform, conversation_id, customer, brand, state,"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', deflected_at, 'unixepoch'),"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', deadline, 'unixepoch'),"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', resolved_at, 'unixepoch'),"
	    " repeats, escalations, rule, post_id, url, deflected_at FROM cases"
	    " WHERE (?1 IS NULL OR brand = ?1) AND (?2 IS NULL OR customer = ?2)"
	    " AND (?3 IS NULL OR rule = ?3)"
	    " AND (?4 IS NULL OR state IN (SELECT value FROM json_each(?4)))"
	    " AND deflected_at >= ?5 AND deflected_at < ?6"
	    " AND (?7 IS NULL OR deflected_at < ?7 OR (deflected_at = ?7 AND rowid < ?8))"
	    " ORDER BY deflected_at DESC, rowid DESC LIMIT ?9", a, 9, case_row, &pr) != 0) {
		json_decref(pr.arr);
		return NULL;
	}
	return page_doc("cases", &pr);
}

/* store_query callback: one delivery of an alert. */
static void
alert_row(void *arg, int n, const char *const *v)
{
	struct page_rows *pr = arg;

	if (n < 15)
		return;
	if ((int)json_array_size(pr->arr) == pr->limit) {
		pr->more = 1;
		return;
	}
	json_array_append_new(pr->arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o,"
	    " s:o, s:o, s:o}",
	    "id", v[1] ? v[1] : "", "type", v[2] ? v[2] : "", "webhook", v[3] ? v[3] : "", "state",
	    v[4] ? v[4] : "", "attempts", (json_int_t)strtoll(v[5] ? v[5] : "0", NULL, 10),
	    "last_error", str_or_null(v[6]), "created_at", str_or_null(v[7]), "brand",
	    str_or_null(v[9]), "customer", str_or_null(v[10]), "rule", str_or_null(v[11]),
	    "reason", str_or_null(v[12]), "silence_id", str_or_null(v[13]), "digest_id",
	    str_or_null(v[14])));
	pr->last_t = strtoll(v[8] ? v[8] : "0", NULL, 10);
	pr->last_id = strtoll(v[0], NULL, 10);
}

json_t *
listing_alerts(struct store *st, const struct listing_query *q)
{
	struct page_rows pr = {json_array(), q->limit, 0, 0, 0};
	struct store_arg a[10];

	bind_common(q, a);
	if (store_query(st, "SELECT d.rowid, d.alert_id, o.type, d.webhook, d.state, d.attempts,"
	    " d.last_error, strftime('%Y-%m-%dT%H:%M:%SZ', o.created_at, 'unixepoch'), o.created_at,"
	    " json_extract(o.body, '$.case.brand'), json_extract(o.body, '$.case.customer'),"
	    " json_extract(o.body, '$.deflection.rule'),"
	    STORE_SQL_DELIVERY_REASON ","
	    " o.silence_id, d.digest_id FROM deliveries d JOIN outbox o ON o.id = d.alert_id"
	    STORE_SQL_DIGEST_JOIN
	    " WHERE (?1 IS NULL OR json_extract(o.body, '$.case.brand') = ?1)"
	    " AND (?2 IS NULL OR json_extract(o.body, '$.case.customer') = ?2)"
	    " AND (?3 IS NULL OR json_extract(o.body, '$.deflection.rule') = ?3)"
	    " AND (?4 IS NULL OR d.state IN (SELECT value FROM json_each(?4)))"
	    " AND o.created_at >= ?5 AND o.created_at < ?6"
	    " AND (?7 IS NULL OR o.created_at < ?7 OR (o.created_at = ?7 AND d.rowid < ?8))"
	    " AND (?10 IS NULL OR o.type = ?10)"
	    " ORDER BY o.created_at DESC, d.rowid DESC LIMIT ?9", a, 10, alert_row, &pr) != 0) {
		json_decref(pr.arr);
		return NULL;
	}
	return page_doc("alerts", &pr);
}
