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
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
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
#include "silence.h"
#include "xmalloc.h"

/* A silence request larger than this is refused (413). */
#define SILENCE_MAX_BODY (64 * 1024)
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
	struct client **clients; /* every connection, for the request deadline */
	size_t nclients;
	struct push **pushes; /* the first is being taken in, the others wait */
	size_t npushes;
	struct event *push_ev; /* the next slice */
};

/*
 * One admin connection. evhttp owns the bufferevent; the extra reference
 * taken here keeps it (and its socket) from being finalized under us, so
 * the deadline never shuts down a descriptor reused by someone else.
 */
struct client {
	struct admin *a;
	struct bufferevent *bev;
	struct event *timer;
	struct timeval started; /* first byte of the request being read; 0 = none */
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

/* Drops a client whose connection evhttp has freed. */
static void
client_free(struct client *c)
{
	struct admin *a = c->a;

	for (size_t i = 0; i < a->nclients; i++)
		if (a->clients[i] == c) {
			a->clients[i] = a->clients[--a->nclients];
			break;
		}
	event_free(c->timer);
	bufferevent_decref(c->bev);
	free(c);
}

/*
 * The request deadline: a client gets admin_request_timeout from the first
 * byte of a request to its last, so a slow sender (slowloris) cannot hold a
 * connection open by trickling bytes under evhttp's idle timeout.
 */
static void
on_client_timer(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	bufferevent_event_cb eventcb = NULL;
	struct timeval now, left = {1, 0};
	int64_t limit = c->a->d->cfg->admin_request_timeout;

	(void)fd;
	(void)what;
	/* evhttp clears the callbacks when it frees the connection. */
	bufferevent_getcb(c->bev, NULL, NULL, &eventcb, NULL);
	if (eventcb == NULL) {
		client_free(c);
		return;
	}
	gettimeofday(&now, NULL);
	int64_t usec = (int64_t)(now.tv_sec - c->started.tv_sec) * 1000000 +
	    (now.tv_usec - c->started.tv_usec);

	if (c->started.tv_sec != 0 && usec >= limit * 1000000) {
		log_info("admin: closing a client that took more than %llds to send a request",
		    (long long)limit);
		c->started.tv_sec = 0;
		shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
	} else if (c->started.tv_sec != 0 && limit * 1000000 - usec < 1000000) {
		left.tv_sec = 0;
		left.tv_usec = (suseconds_t)(limit * 1000000 - usec);
	}
	evtimer_add(c->timer, &left);
}

/* Input callback: the first byte of a request starts its deadline. */
static void
on_client_input(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct client *c = arg;

	(void)b;
	if (info->n_added > 0 && c->started.tv_sec == 0)
		gettimeofday(&c->started, NULL);
}

/* Output callback: an answer means the request was read in full. */
static void
on_client_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct client *c = arg;

	(void)b;
	if (info->n_added > 0)
		c->started.tv_sec = 0;
}

/* A request was read whole: its deadline no longer runs while it is handled. */
static void
request_read(struct admin *a, struct evhttp_request *req)
{
	struct bufferevent *bev =
	    evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));

	for (size_t i = 0; i < a->nclients; i++)
		if (a->clients[i]->bev == bev)
			a->clients[i]->started.tv_sec = 0;
}

/* evhttp's bufferevent factory: one per connection, watched for the deadline. */
static struct bufferevent *
client_new(struct event_base *base, void *arg)
{
	struct admin *a = arg;
	struct client *c = xcalloc(1, sizeof *c);
	struct timeval one = {1, 0};

	c->a = a;
	if ((c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		abort(); /* out of memory */
	bufferevent_incref(c->bev);
	evbuffer_add_cb(bufferevent_get_input(c->bev), on_client_input, c);
	evbuffer_add_cb(bufferevent_get_output(c->bev), on_client_output, c);
	c->timer = evtimer_new(base, on_client_timer, c);
	evtimer_add(c->timer, &one);
	a->clients = xreallocarray(a->clients, a->nclients + 1, sizeof *a->clients);
	a->clients[a->nclients++] = c;
	return c->bev;
}

/*
 * A push being taken in. A large body is processed in slices of at most
 * PUSH_SLICE_USEC, the loop running between them (health checks, other
 * clients, webhooks), while the request stays one transaction: it is
 * answered once, after its commit. Pushes that arrive meanwhile wait their
 * turn in order; any other writer that cannot wait makes the open push
 * finish first (admin_push_settle).
 */
struct push {
	struct admin *a;
	struct evhttp_request *req; /* NULL once the client has gone */
	struct evbuffer *body;      /* taken over from the request; read lines are drained */
	struct buf line;            /* the line being read, copied out whole */
	size_t lineno;
	int accepted, duplicates, rejected, failed, begun;
	json_t *errors;
};

/* Time one slice of a push may hold the loop. */
#define PUSH_SLICE_USEC 20000

/* Runs the next slice once the loop has looked at its sockets (a zero timeout). */
static void
push_soon(struct admin *a)
{
	struct timeval now = {0, 0};

	evtimer_add(a->push_ev, &now);
}

/* The client of a push went away: nothing to answer, but the batch goes on. */
static void
on_push_close(struct evhttp_connection *evcon, void *arg)
{
	struct push *ps = arg;

	(void)evcon;
	ps->req = NULL;
}

/* Commits (or rolls back) a push, answers it and starts the next one. */
static void
push_finish(struct admin *a, struct push *ps)
{
	struct evhttp_request *req = ps->req;
	int ok = ps->begun && daemon_ingest_end(a->d, !ps->failed) == 0;

	memmove(a->pushes, a->pushes + 1, --a->npushes * sizeof *a->pushes);
	if (req != NULL) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL, NULL);
		if (!ps->begun)
			reply_error(req, 503, "Service Unavailable",
			    "state database writes fail; nothing from this request was kept");
		else if (!ok)
			reply_error(req, 503, "Service Unavailable",
			    "state database failed; nothing from this request was kept");
		else
			reply_json(req, ps->rejected ? 400 : 200, ps->rejected ? "Bad Request" : "OK",
			    json_pack("{s:i, s:i, s:i, s:O}", "accepted", ps->accepted, "duplicates",
				ps->duplicates, "rejected", ps->rejected, "errors", ps->errors));
	}
	json_decref(ps->errors);
	evbuffer_free(ps->body);
	buf_free(&ps->line);
	free(ps);
	if (a->npushes > 0)
		push_soon(a);
}

/* Takes lines of the first push in until its end or, when budget, the slice's time. */
static void
push_run(struct admin *a, int budget)
{
	struct push *ps = a->pushes[0];
	struct deflectd *d = a->d;
	struct source_stats *src = daemon_source(d, "push");
	struct timespec t0, t;
	unsigned n = 0;

	if (!ps->begun) {
		if (daemon_ingest_begin(d) != 0) {
			push_finish(a, ps);
			return;
		}
		ps->begun = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/*
	 * Line by line out of the body's chunks: making 64 MiB one block first
	 * (evbuffer_pullup) would itself hold the loop for half a second.
	 */
	while (evbuffer_get_length(ps->body) > 0 && !ps->failed) {
		size_t eol_len = 0;
		struct evbuffer_ptr eol = evbuffer_search_eol(ps->body, NULL, &eol_len,
		    EVBUFFER_EOL_LF);
		size_t len = eol.pos >= 0 ? (size_t)eol.pos : evbuffer_get_length(ps->body);
		char errbuf[256];
		int rc = 0;

		ps->lineno++;
		if (len > READER_DEFAULT_MAX) {
			evbuffer_drain(ps->body, len + eol_len);
			snprintf(errbuf, sizeof errbuf, "line longer than %d bytes", READER_DEFAULT_MAX);
			rc = -1;
		} else {
			buf_reset(&ps->line);
			buf_reserve(&ps->line, len + 1);
			evbuffer_remove(ps->body, ps->line.s, len);
			evbuffer_drain(ps->body, eol_len);
			if (len > 0 && ps->line.s[len - 1] == '\r')
				len--;
			ps->line.s[len] = '\0';
			/* A blank line is skipped silently (rc 2), still within the slice's time. */
			rc = len > 0 ? daemon_ingest_line(d, src, ps->line.s, len, errbuf,
			    sizeof errbuf) : 2;
		}
		if (rc == 1)
			ps->accepted++;
		else if (rc == 0)
			ps->duplicates++;
		else if (rc == -2)
			ps->failed = 1;
		else if (rc == -1) {
			ps->rejected++;
			log_warning("push: line %zu: %s", ps->lineno, errbuf);
			if (json_array_size(ps->errors) < PUSH_MAX_ERRORS)
				json_array_append_new(ps->errors, json_pack("{s:I, s:s}", "line",
				    (json_int_t)ps->lineno, "error", errbuf));
		}
		if (budget && ++n % 256 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 >=
			    PUSH_SLICE_USEC) {
				push_soon(a);
				return;
			}
		}
	}
	push_finish(a, ps);
}

/* Timer: the next slice of the push at the head of the queue. */
static void
on_push_slice(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;

	(void)fd;
	(void)what;
	if (a->npushes > 0)
		push_run(a, 1);
}

void
admin_push_settle(struct admin *a)
{
	/* Only a push already in its transaction holds the store. */
	if (a->npushes > 0 && a->pushes[0]->begun)
		push_run(a, 0);
}

/* POST /v1/posts: NDJSON posts, one transaction, per-line results. */
static void
on_posts(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	struct push *ps;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		reply_error(req, 405, "Method Not Allowed", "use POST");
		return;
	}
	if (a->token == NULL) {
		reply_error(req, 403, "Forbidden", "push is disabled: set admin_token_file");
		return;
	}
	switch (authorized(a, req)) {
	case ACCESS_PUSH:
		break;
	case ACCESS_READ:
		reply_error(req, 403, "Forbidden", "this token may only read; pushing posts needs "
		    "the admin token");
		return;
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer");
		reply_error(req, 401, "Unauthorized", "missing or wrong bearer token");
		return;
	}
	request_read(a, req);
	ps = xcalloc(1, sizeof *ps);
	ps->a = a;
	ps->req = req;
	ps->errors = json_array();
	ps->body = evbuffer_new();
	evbuffer_add_buffer(ps->body, evhttp_request_get_input_buffer(req));
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_push_close, ps);
	a->pushes = xreallocarray(a->pushes, a->npushes + 1, sizeof *a->pushes);
	a->pushes[a->npushes++] = ps;
	if (a->npushes == 1)
		push_run(a, 1);
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

	if (a->d->ready && a->d->degraded) {
		char *why = xasprintf("state database writes fail: %s\n", a->d->degraded_why);

		reply_text(req, 503, "Service Unavailable", "text/plain", why);
		free(why);
	} else if (a->d->ready)
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

/* Guards a state-changing endpoint: a token must be set and sent, as for push. */
static int
write_allowed(struct admin *a, struct evhttp_request *req)
{
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

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		reply_error(req, 405, "Method Not Allowed", "use POST");
		return;
	}
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

/* The reason phrase of the statuses the silence endpoints answer with. */
static const char *
status_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	default: return "Internal Server Error";
	}
}

/* GET /v1/silences?state=, POST /v1/silences (a new silence). */
static void
on_silences(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	int64_t now = (int64_t)time(NULL);

	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(in);
		json_error_t je;
		json_t *body, *s;
		char err[512];
		int status;

		if (!write_allowed(a, req))
			return;
		if (len > SILENCE_MAX_BODY) {
			reply_error(req, 413, status_reason(413), "a silence is at most 64 KiB");
			return;
		}
		body = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &je);
		if (body == NULL) {
			snprintf(err, sizeof err, "not JSON: %s at offset %d", je.text, je.position);
			reply_error(req, 400, status_reason(400), err);
			return;
		}
		s = silence_create(a->d->store, body, now, &status, err, sizeof err);
		json_decref(body);
		if (s == NULL) {
			reply_error(req, status, status_reason(status), err);
			return;
		}
		log_info("silence %s added by %s", json_string_value(json_object_get(s, "id")),
		    json_string_value(json_object_get(s, "author")));
		reply_json(req, 201, status_reason(201), s);
		return;
	}
	if (!read_allowed(a, req))
		return;
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	struct evkeyval *kv;
	const char *state;

	TAILQ_INIT(&params);
	if (q != NULL && evhttp_parse_query_str(q, &params) != 0) {
		reply_error(req, 400, status_reason(400), "the query string is not well formed");
		return;
	}
	/* As the other listings: a misspelt filter is an error, not "everything". */
	TAILQ_FOREACH(kv, &params, next) {
		if (strcmp(kv->key, "state") != 0) {
			char err[256];

			snprintf(err, sizeof err,
			    "unknown parameter: %.64s (this endpoint takes state)", kv->key);
			reply_error(req, 400, status_reason(400), err);
			evhttp_clear_headers(&params);
			return;
		}
	}
	state = evhttp_find_header(&params, "state");
	if (state != NULL && *state == '\0')
		state = NULL;
	if (!silence_state_known(state))
		reply_error(req, 400, status_reason(400), "state must be active, pending or expired");
	else
		reply_json(req, 200, "OK", silence_list(a->d->store, now, state));
	evhttp_clear_headers(&params);
}

/* DELETE /v1/silences/ID: ends a silence now. */
static void
on_silence_item(struct admin *a, struct evhttp_request *req, const char *id)
{
	char err[256];
	int status;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_DELETE) {
		reply_error(req, 405, "Method Not Allowed", "use DELETE to expire a silence");
		return;
	}
	if (!write_allowed(a, req))
		return;
	if (silence_expire(a->d->store, id, (int64_t)time(NULL), &status, err, sizeof err) != 0) {
		reply_error(req, status, status_reason(status), err);
		return;
	}
	log_info("silence %s expired", id);
	reply_json(req, 200, "OK", json_pack("{s:s, s:s}", "id", id, "state", "expired"));
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
	if (path != NULL && strncmp(path, "/v1/silences/", 13) == 0 && path[13] != '\0') {
		on_silence_item(a, req, path + 13);
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
	evhttp_set_bevcb(a->http, client_new, a);
	a->push_ev = evtimer_new(d->base, on_push_slice, a);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_DELETE);
	evhttp_set_cb(a->http, "/v1/posts", on_posts, a);
	evhttp_set_cb(a->http, "/healthz", on_healthz, a);
	evhttp_set_cb(a->http, "/readyz", on_readyz, a);
	evhttp_set_gencb(a->http, on_root, a);
	evhttp_set_cb(a->http, "/metrics", on_metrics, a);
	evhttp_set_cb(a->http, "/v1/cases", on_listing, a);
	evhttp_set_cb(a->http, "/v1/alerts", on_listing, a);
	evhttp_set_cb(a->http, "/v1/brands", on_listing, a);
	evhttp_set_cb(a->http, "/v1/silences", on_silences, a);
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
	while (a->nclients > 0)
		client_free(a->clients[a->nclients - 1]);
	free(a->clients);
	/* Stopping: a push not yet committed was never acknowledged. */
	if (a->npushes > 0 && a->pushes[0]->begun)
		daemon_ingest_abandon(a->d);
	for (size_t i = 0; i < a->npushes; i++) {
		json_decref(a->pushes[i]->errors);
		evbuffer_free(a->pushes[i]->body);
		buf_free(&a->pushes[i]->line);
		free(a->pushes[i]);
	}
	free(a->pushes);
	if (a->push_ev != NULL)
		event_free(a->push_ev);
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
