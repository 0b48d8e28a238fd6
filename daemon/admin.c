/*
 * The admin listener. POST /v1/posts answers only after the batch is
 * committed: a 200 means every accepted post is durable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "case_detail.h"
#include "case_page.h"
#include "daemon.h"
#include "log.h"
#include "listing.h"
#include "metrics.h"
#include "page.h"
#include "reader.h"
#include "scorecard.h"
#include "buf.h"
#include "verdict.h"
#include "xmalloc.h"

/* A push body larger than this is refused whole (413). */
#define PUSH_MAX_BODY (64 * 1024 * 1024)
/* A verdict body larger than this is refused (413). */
#define VERDICT_MAX_BODY (16 * 1024)
/* Errors listed in one answer; the rest are counted. */
#define PUSH_MAX_ERRORS 100

struct admin {
	struct deflectd *d;
	struct evhttp *http;
	char *token;  /* NULL: push is disabled */
	char **read_tokens; /* admin_read_token_file: may read, never push or change state */
	size_t nread;
	int loopback; /* reads need no token only on a loopback address */
};

/* Sends a JSON body with status code. */
static void
reply_json(struct evhttp_request *req, int code, const char *reason, json_t *body)
{
	struct evbuffer *b = evbuffer_new();
	char *s = json_dumps(body, JSON_COMPACT);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	evbuffer_add_printf(b, "%s\n", s ? s : "{}");
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
	free(s);
	json_decref(body);
}

/* Sends a one-field error document. */
static void
reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
	reply_json(req, code, reason, json_pack("{s:s}", "error", msg));
}

/* What a request's bearer token allows. */
enum access { ACCESS_NONE, ACCESS_READ, ACCESS_PUSH };

/* Is token equal to want? Compared in constant time. */
static int
token_is(const char *token, const char *want)
{
	size_t n = strlen(want);

	return strlen(token) == n && CRYPTO_memcmp(token, want, n) == 0;
}

/* What the request's bearer token allows: push (the admin token), read, or nothing. */
static enum access
authorized(const struct admin *a, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	enum access got = ACCESS_NONE;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return ACCESS_NONE;
	h += 7;
	if (a->token != NULL && token_is(h, a->token))
		got = ACCESS_PUSH;
	/* Every read token is compared, so timing tells nothing of which matched. */
	for (size_t i = 0; i < a->nread; i++)
		if (token_is(h, a->read_tokens[i]) && got == ACCESS_NONE)
			got = ACCESS_READ;
	return got;
}

/* POST /v1/posts: NDJSON posts, one transaction, per-line results. */
static void
on_posts(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	struct deflectd *d = a->d;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in), lineno = 0;
	int accepted = 0, duplicates = 0, rejected = 0, failed = 0;
	json_t *errors = json_array();
	char *body, *p, *end;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		json_decref(errors);
		reply_error(req, 405, "Method Not Allowed", "use POST");
		return;
	}
	if (a->token == NULL) {
		json_decref(errors);
		reply_error(req, 403, "Forbidden", "push is disabled: set admin_token_file");
		return;
	}
	switch (authorized(a, req)) {
	case ACCESS_PUSH:
		break;
	case ACCESS_READ:
		json_decref(errors);
		reply_error(req, 403, "Forbidden", "this token may only read; pushing posts needs "
		    "the admin token");
		return;
	default:
		json_decref(errors);
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer");
		reply_error(req, 401, "Unauthorized", "missing or wrong bearer token");
		return;
	}
	body = (char *)evbuffer_pullup(in, -1);
	end = body + len;
	if (daemon_ingest_begin(d) != 0) {
		json_decref(errors);
		reply_error(req, 503, "Service Unavailable", "state database unavailable");
		return;
	}
	for (p = body; p < end && !failed;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char errbuf[256];
		int rc;

		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0) {
			p = nl ? nl + 1 : end;
			continue;
		}
		if (n > READER_DEFAULT_MAX) {
			snprintf(errbuf, sizeof errbuf, "line longer than %d bytes", READER_DEFAULT_MAX);
			rc = -1;
		} else {
			rc = daemon_ingest_line(d, daemon_source(d, "push"), p, n, errbuf, sizeof errbuf);
		}
		if (rc == 1)
			accepted++;
		else if (rc == 0)
			duplicates++;
		else if (rc == -2)
			failed = 1;
		else {
			rejected++;
			log_info("push: line %zu: %s", lineno, errbuf);
			if (json_array_size(errors) < PUSH_MAX_ERRORS)
				json_array_append_new(errors,
				    json_pack("{s:I, s:s}", "line", (json_int_t)lineno, "error", errbuf));
		}
		p = nl ? nl + 1 : end;
	}
	if (daemon_ingest_end(d, !failed) != 0) {
		json_decref(errors);
		reply_error(req, 503, "Service Unavailable",
		    "state database failed; nothing from this request was kept");
		return;
	}
	reply_json(req, rejected ? 400 : 200, rejected ? "Bad Request" : "OK",
	    json_pack("{s:i, s:i, s:i, s:o}", "accepted", accepted, "duplicates", duplicates,
		"rejected", rejected, "errors", errors));
}

/* Sends a document with a content type. */
static void
reply_text(struct evhttp_request *req, int code, const char *reason, const char *type,
    const char *body)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

/* Guards a read endpoint: GET only, and a token unless the listener is loopback. */
static int
read_allowed(struct admin *a, struct evhttp_request *req)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_error(req, 405, "Method Not Allowed", "use GET");
		return 0;
	}
	if (!a->loopback && authorized(a, req) == ACCESS_NONE) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer");
		reply_error(req, 401, "Unauthorized", "missing or wrong bearer token");
		return 0;
	}
	return 1;
}

/* GET /metrics: Prometheus text format. */
static void
on_metrics(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	struct buf b = BUF_INIT;

	if (!read_allowed(a, req))
		return;
	metrics_render(a->d, &b);
	reply_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b.s ? b.s : "");
	buf_free(&b);
}

/* GET /readyz: rules loaded, state open, sources started. */
static void
on_readyz(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;

	if (a->d->ready)
		reply_text(req, 200, "OK", "text/plain", "ready\n");
	else
		reply_text(req, 503, "Service Unavailable", "text/plain", "starting\n");
}

/* GET /v1/cases, /v1/alerts and /v1/brands with their filters; 400 names what is wrong. */
static void
on_listing(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	enum listing_kind kind = strcmp(path, "/v1/cases") == 0 ? LISTING_CASES :
	    strcmp(path, "/v1/alerts") == 0 ? LISTING_ALERTS : LISTING_BRANDS;
	struct listing_query q;
	json_t *doc;
	char err[512];

	if (!read_allowed(a, req))
		return;
	if (listing_parse(kind, evhttp_uri_get_query(uri), &q, err, sizeof err) != 0) {
		listing_query_free(&q);
		reply_error(req, 400, "Bad Request", err);
		return;
	}
	if (kind == LISTING_CASES)
		doc = listing_cases(a->d->store, &q);
	else if (kind == LISTING_ALERTS)
		doc = listing_alerts(a->d->store, &q);
	else {
		struct scorecard_period p = {"custom", q.since, q.until};

		doc = scorecard_brands(a->d->store, &p);
	}
	listing_query_free(&q);
	if (doc == NULL)
		reply_error(req, 503, "Service Unavailable", "state database unavailable");
	else
		reply_json(req, 200, "OK", doc);
}

/*
 * Guards a state-changing endpoint as POST /v1/posts is guarded: POST only,
 * 403 while no token is set, 401 without the right one.
 */
static int
write_allowed(struct admin *a, struct evhttp_request *req)
{
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		reply_error(req, 405, "Method Not Allowed", "use POST");
		return 0;
	}
	if (a->token == NULL) {
		reply_error(req, 403, "Forbidden", "changes are disabled: set admin_token_file");
		return 0;
	}
	switch (authorized(a, req)) {
	case ACCESS_PUSH:
		return 1;
	case ACCESS_READ:
		reply_error(req, 403, "Forbidden", "this token may only read; changes need the "
		    "admin token");
		return 0;
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer");
		reply_error(req, 401, "Unauthorized", "missing or wrong bearer token");
		return 0;
	}
}

/* Answers with case id in full (GET /v1/cases/{id}), or 404/503. */
static void
reply_case(struct admin *a, struct evhttp_request *req, const char *id)
{
	int missing;
	json_t *c = case_detail(a->d->store, id, &missing);

	if (c != NULL)
		reply_json(req, 200, "OK", c);
	else if (missing)
		reply_json(req, 404, "Not Found", json_pack("{s:s+}", "error", "no case ", id));
	else
		reply_error(req, 503, "Service Unavailable", "state database unavailable");
}

/*
 * POST /v1/cases/{id}/verdict: {"as": "resolved|not-deflection|escalated",
 * "note": TEXT, "author": NAME (optional)}; answers with the closed case.
 */
static void
on_verdict(struct admin *a, struct evhttp_request *req, const char *id)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *key, *as = NULL, *note = NULL, *author = "api";
	json_t *body, *v;
	json_error_t je;
	char err[512];
	int rc;

	if (!write_allowed(a, req))
		return;
	if (len > VERDICT_MAX_BODY) {
		reply_error(req, 413, "Payload Too Large", "a verdict body is at most 16 KiB");
		return;
	}
	body = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &je);
	if (!json_is_object(body)) {
		snprintf(err, sizeof err, body ? "the body must be a JSON object" :
		    "the body is not JSON: %s at column %d", je.text, je.column);
		json_decref(body);
		reply_error(req, 400, "Bad Request", err);
		return;
	}
	json_object_foreach(body, key, v) {
		const char **slot = strcmp(key, "as") == 0 ? &as : strcmp(key, "note") == 0 ? &note :
		    strcmp(key, "author") == 0 ? &author : NULL;

		if (slot == NULL || !json_is_string(v)) {
			snprintf(err, sizeof err, slot ? "\"%s\" must be a string" :
			    "unknown field \"%s\" (as, note, author)", key);
			json_decref(body);
			reply_error(req, 400, "Bad Request", err);
			return;
		}
		*slot = json_string_value(v);
	}
	rc = daemon_case_close(a->d, id, as, note, author, err, sizeof err);
	json_decref(body);
	if (rc == VERDICT_OK)
		reply_case(a, req, id);
	else if (rc == VERDICT_NO_CASE)
		reply_error(req, 404, "Not Found", err);
	else if (rc == VERDICT_CLOSED)
		reply_error(req, 409, "Conflict", err);
	else if (rc == VERDICT_BAD)
		reply_error(req, 400, "Bad Request", err);
	else
		reply_error(req, 503, "Service Unavailable", err);
}

/* /v1/cases/{id} (GET) and /v1/cases/{id}/verdict (POST); rest is the path after /v1/cases/. */
static void
on_case(struct admin *a, struct evhttp_request *req, const char *rest)
{
	const char *slash = strchr(rest, '/');
	char *id = xstrndup(rest, slash ? (size_t)(slash - rest) : strlen(rest));

	if (slash != NULL && strcmp(slash, "/verdict") == 0)
		on_verdict(a, req, id);
	else if (slash != NULL)
		reply_error(req, 404, "Not Found", "no such endpoint");
	else if (read_allowed(a, req))
		reply_case(a, req, id);
	free(id);
}

/* GET /cases/{id}: the case page. */
static void
on_case_page(struct admin *a, struct evhttp_request *req, const char *id)
{
	int missing;
	json_t *c;
	char *page;

	if (!read_allowed(a, req))
		return;
	if ((c = case_detail(a->d->store, id, &missing)) == NULL) {
		reply_text(req, missing ? 404 : 503, missing ? "Not Found" : "Service Unavailable",
		    "text/html; charset=utf-8", missing ?
		    "<!DOCTYPE html>\n<html lang=\"en\"><title>No such case</title><p>No such case. "
		    "<a href=\"/\">Scorecard</a></p></html>\n" :
		    "<!DOCTYPE html>\n<html lang=\"en\"><title>Unavailable</title><p>The state "
		    "database is unavailable.</p></html>\n");
		return;
	}
	page = case_page(c);
	reply_text(req, 200, "OK", "text/html; charset=utf-8", page);
	free(page);
	json_decref(c);
}

/* A page's query: period (default all) and, on a brand page, the cases' cursor. */
static int
page_query(struct evhttp_request *req, const char **period, char **cursor, char *err,
    size_t errlen)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	struct evkeyval *kv;
	int rc = 0;

	*period = "all";
	*cursor = NULL;
	if (q == NULL)
		return 0;
	if (evhttp_parse_query_str(q, &params) != 0) {
		snprintf(err, errlen, "the query string is not well formed");
		return -1;
	}
	TAILQ_FOREACH(kv, &params, next) {
		if (strcmp(kv->key, "period") == 0) {
			static const char *names[] = {"7d", "30d", "90d", "all"};
			size_t i;

			for (i = 0; i < 4 && strcmp(kv->value, names[i]) != 0; i++)
				;
			if (i == 4) {
				snprintf(err, errlen, "period must be 7d, 30d, 90d or all");
				rc = -1;
			} else {
				*period = names[i];
			}
		} else if (strcmp(kv->key, "cursor") == 0) {
			free(*cursor);
			*cursor = xstrdup(kv->value);
		} else {
			snprintf(err, errlen, "unknown parameter: %.100s (pages take period and cursor)",
			    kv->key);
			rc = -1;
		}
	}
	evhttp_clear_headers(&params);
	if (rc != 0) {
		free(*cursor);
		*cursor = NULL;
	}
	return rc;
}

/* Renders / (brand NULL) or /brands/NAME for the period the query asks. */
static void
scorecard_page(struct admin *a, struct evhttp_request *req, const char *brand)
{
	struct deflectd *d = a->d;
	struct page_opts o;
	struct scorecard_period p;
	struct listing_query lq;
	const char *period;
	char *cursor, err[256], rv[96];
	int64_t as_of = scorecard_newest(d->store);
	json_t *doc, *cases = NULL;
	struct buf b = BUF_INIT;

	if (page_query(req, &period, &cursor, err, sizeof err) != 0) {
		reply_text(req, 400, "Bad Request", "text/plain; charset=utf-8", err);
		return;
	}
	scorecard_period_named(&p, period, as_of);
	doc = scorecard_document(d->store, &p, as_of, brand);
	if (doc != NULL && brand != NULL && json_integer_value(json_object_get(json_object_get(doc,
	    "totals"), "replies")) == 0 && json_array_size(json_object_get(doc, "brands")) == 0 &&
	    p.since == SCORECARD_OPEN_SINCE) {
		json_decref(doc);
		free(cursor);
		reply_text(req, 404, "Not Found", "text/plain; charset=utf-8", "no such brand\n");
		return;
	}
	memset(&o, 0, sizeof o);
	if (brand != NULL && doc != NULL) {
		/* Open and unresolved cases of the period, a page at a time. */
		struct buf qs = BUF_INIT;

		buf_adds(&qs, "state=deflected,unresolved&limit=50&brand=");
		page_urlencode(&qs, brand);
		if (p.since != SCORECARD_OPEN_SINCE)
			buf_printf(&qs, "&since=%lld&until=%lld", (long long)p.since, (long long)p.until);
		if (cursor != NULL) {
			buf_adds(&qs, "&cursor=");
			page_urlencode(&qs, cursor);
		}
		if (listing_parse(LISTING_CASES, qs.s, &lq, err, sizeof err) != 0) {
			listing_query_free(&lq);
			buf_free(&qs);
			json_decref(doc);
			free(cursor);
			reply_text(req, 400, "Bad Request", "text/plain; charset=utf-8", err);
			return;
		}
		cases = listing_cases(d->store, &lq);
		listing_query_free(&lq);
		buf_free(&qs);
		o.cases = json_object_get(cases, "cases");
		o.cases_next = json_string_value(json_object_get(cases, "next_cursor"));
		o.cases_first = cursor;
	}
	if (doc == NULL || (brand != NULL && cases == NULL)) {
		json_decref(doc);
		json_decref(cases);
		free(cursor);
		reply_error(req, 503, "Service Unavailable", "state database unavailable");
		return;
	}
	scorecard_rules_version(d->cfg->rules_dir_override ? d->cfg->rules_dir_override :
	    d->cfg->rules_dir, rv, sizeof rv);
	o.live = 1;
	o.rules_version = rv;
	o.window = d->cfg->window;
	o.generated = (int64_t)time(NULL);
	page_scorecard(&b, doc, &o);
	reply_text(req, 200, "OK", "text/html; charset=utf-8", b.s);
	buf_free(&b);
	json_decref(doc);
	json_decref(cases);
	free(cursor);
}

/*
 * GET / and /brands/NAME (the scorecard pages), /cases/{id} (the case page),
 * /v1/cases/{id}; anything else is not found.
 */
static void
on_root(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	if (path != NULL && strncmp(path, "/v1/cases/", 10) == 0) {
		on_case(a, req, path + 10);
		return;
	}
	if (path != NULL && strncmp(path, "/cases/", 7) == 0 && strchr(path + 7, '/') == NULL) {
		on_case_page(a, req, path + 7);
		return;
	}
	if (path != NULL && strcmp(path, "/") == 0) {
		if (read_allowed(a, req))
			scorecard_page(a, req, NULL);
		return;
	}
	if (path != NULL && strncmp(path, "/brands/", 8) == 0 && path[8] != '\0' &&
	    strchr(path + 8, '/') == NULL) {
		char *name = evhttp_uridecode(path + 8, 0, NULL);

		if (name != NULL && read_allowed(a, req))
			scorecard_page(a, req, name);
		else if (name == NULL)
			reply_error(req, 400, "Bad Request", "brand name is not well encoded");
		free(name);
		return;
	}
	reply_error(req, 404, "Not Found", "no such endpoint");
}

/* GET /healthz: the loop is alive if it answers. */
static void
on_healthz(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	evbuffer_add_printf(b, "ok\n");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* Splits "host:port" or "[v6]:port". */
static int
split_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= hostlen)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(close - s - 1), s + 1);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= hostlen)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(colon - s), s);
	}
	char *e;
	long p = strtol(colon + 1, &e, 10);
	if (*e != '\0' || p < 0 || p > 65535 || colon[1] == '\0')
		return -1;
	*port = (int)p;
	return 0;
}

/* Is the host a loopback address? */
static int
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return strcmp(host, "localhost") == 0;
}

/*
 * The tokens of a read-token file's text, one a line; blank lines and lines
 * starting with # are skipped. Cuts all in place; the array is the caller's.
 */
static char **
token_lines(char *all, size_t *n)
{
	char **v = NULL, *save = NULL;

	*n = 0;
	for (char *l = strtok_r(all, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(l);

		while (len > 0 && (l[len - 1] == '\r' || l[len - 1] == ' ' || l[len - 1] == '\t'))
			l[--len] = '\0';
		l += strspn(l, " \t");
		if (*l == '\0' || *l == '#')
			continue;
		v = xreallocarray(v, *n + 1, sizeof *v);
		v[(*n)++] = l;
	}
	return v;
}

/* Reads admin_read_token_file into a->read_tokens (admin_check reported any error). */
static void
admin_read_tokens(struct admin *a, const struct config *cfg)
{
	char err[512];
	char *all = daemon_read_secret(cfg, cfg->admin_read_token_file, err, sizeof err);
	size_t len = all ? strlen(all) : 0, n;
	char **v;

	if (all == NULL)
		return;
	v = token_lines(all, &n);
	a->read_tokens = xreallocarray(NULL, n ? n : 1, sizeof *a->read_tokens);
	for (size_t i = 0; i < n; i++)
		a->read_tokens[a->nread++] = xstrdup(v[i]);
	free(v);
	OPENSSL_cleanse(all, len);
	free(all);
}

/*
 * Checks admin_listen and the token as the daemon will use them, reading the
 * token (returned in *token when wanted). Problems go to d; returns their count.
 */
int
admin_check(const struct config *cfg, struct diag *d, char *host, size_t hostlen, int *port,
    char **token)
{
	const char *file = cfg->path ? cfg->path : "(defaults)";
	char err[512], *tok = NULL;
	size_t n = d->n;

	if (split_listen(cfg->admin_listen, host, hostlen, port) != 0)
		diag_add(d, file, cfg->admin_listen_line, 1,
		    "admin_listen \"%s\": expected HOST:PORT with a port from 0 to 65535",
		    cfg->admin_listen);
	if (cfg->admin_token_file != NULL &&
	    (tok = daemon_read_secret(cfg, cfg->admin_token_file, err, sizeof err)) == NULL)
		diag_add(d, file, cfg->admin_token_file_line, 1, "admin_token_file: %s", err);
	if (cfg->admin_read_token_file != NULL) {
		char *rt = daemon_read_secret(cfg, cfg->admin_read_token_file, err, sizeof err);

		size_t len = rt ? strlen(rt) : 0, nt = 0;
		char **v = rt ? token_lines(rt, &nt) : NULL;

		if (rt == NULL)
			diag_add(d, file, cfg->admin_read_token_file_line, 1, "admin_read_token_file: %s",
			    err);
		else if (nt == 0)
			diag_add(d, file, cfg->admin_read_token_file_line, 1, "admin_read_token_file: "
			    "holds no token (only blank or # lines)");
		for (size_t i = 0; i < nt; i++)
			if (tok != NULL && strcmp(v[i], tok) == 0)
				diag_add(d, file, cfg->admin_read_token_file_line, 1,
				    "admin_read_token_file: holds the admin (push) token; a read token "
				    "must differ from it");
		free(v);
		if (rt != NULL) {
			OPENSSL_cleanse(rt, len);
			free(rt);
		}
	}
	if (d->n == n && !is_loopback(host) && cfg->admin_token_file == NULL)
		diag_add(d, file, cfg->admin_listen_line, 1,
		    "admin_listen %s is not loopback: admin_token_file is required",
		    cfg->admin_listen);
	if (token != NULL)
		*token = tok;
	else if (tok != NULL) {
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
	}
	return (int)(d->n - n);
}

struct admin *
admin_new(struct deflectd *d, char *err, size_t errlen)
{
	struct admin *a = xcalloc(1, sizeof *a);
	struct evhttp_bound_socket *bs;
	struct diag dg = DIAG_INIT;
	char host[256];
	int port = 0;

	a->d = d;
	if (admin_check(d->cfg, &dg, host, sizeof host, &port, &a->token) != 0) {
		snprintf(err, errlen, "%s", dg.msgs[0]);
		diag_free(&dg);
		admin_free(a);
		return NULL;
	}
	if (d->cfg->admin_read_token_file != NULL)
		admin_read_tokens(a, d->cfg);
	a->loopback = is_loopback(host);
	a->http = evhttp_new(d->base);
	evhttp_set_max_body_size(a->http, PUSH_MAX_BODY);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_cb(a->http, "/v1/posts", on_posts, a);
	evhttp_set_cb(a->http, "/healthz", on_healthz, a);
	evhttp_set_cb(a->http, "/readyz", on_readyz, a);
	evhttp_set_gencb(a->http, on_root, a);
	evhttp_set_cb(a->http, "/metrics", on_metrics, a);
	evhttp_set_cb(a->http, "/v1/cases", on_listing, a);
	evhttp_set_cb(a->http, "/v1/alerts", on_listing, a);
	evhttp_set_cb(a->http, "/v1/brands", on_listing, a);
	if ((bs = evhttp_bind_socket_with_handle(a->http, host, (ev_uint16_t)port)) == NULL) {
		snprintf(err, errlen, "admin_listen %s: cannot bind: %s", d->cfg->admin_listen,
		    strerror(errno));
		admin_free(a);
		return NULL;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char addr[INET6_ADDRSTRLEN] = "?";
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof addr);
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof addr);
			port = ntohs(sin6->sin6_port);
		}
	}
	log_info("admin listening on %s port %d%s%s", addr, port,
	    a->token ? "" : " (push disabled: no admin_token_file)",
	    a->nread ? " (read tokens loaded)" : "");
	return a;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->http != NULL)
		evhttp_free(a->http);
	if (a->token != NULL)
		OPENSSL_cleanse(a->token, strlen(a->token));
	free(a->token);
	for (size_t i = 0; i < a->nread; i++) {
		OPENSSL_cleanse(a->read_tokens[i], strlen(a->read_tokens[i]));
		free(a->read_tokens[i]);
	}
	free(a->read_tokens);
	free(a);
}
