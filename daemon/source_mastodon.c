/*
 * The Mastodon source: follows the streaming API (server-sent events),
 * catches up on each brand account's statuses through REST, and follows
 * the thread of every open Mastodon case through the context endpoint.
 *
 * The stream is fast but not complete: it carries nothing while it is down,
 * and a home feed (the "user" stream) leaves out replies to accounts the
 * token's account does not follow, which is what brand replies to customers
 * mostly are. So completeness comes from REST. Each brand account has a
 * saved position, the newest status id fetched from its timeline; a catch-up
 * round asks for the statuses right after it (min_id, oldest page first),
 * and each page is stored in one transaction with the position it reaches.
 * Rounds run at start, each time the stream (re)connects, and every
 * poll_interval; only they move positions, so a status the stream showed
 * never stands for the ones it did not. Posts seen twice are refused by the
 * state database, so the overlap costs nothing.
 *
 * A stream that sends nothing, not even its ":thump" heartbeats, for
 * stall_timeout is cut and reconnected with backoff; our own idle timer
 * decides, since libcurl's low-speed limits would cut a quiet healthy
 * stream. Everything runs through libcurl multi on the loop.
 *
 * Owns: the REST rounds and context requests, the backoff and what an event
 * means. The transfer and its timers are stream.c's, the SSE framing
 * sse.c's; the daemon is reached only through the ingest handle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "buf.h"
#include "curlev.h"
#include "source.h"
#include "log.h"
#include "map_mastodon.h"
#include "post.h"
#include "source_mastodon.h"
#include "sse.h"
#include "stream.h"
#include "xmalloc.h"

/* Mastodon's largest page of an account's statuses. */
#define PAGE_LIMIT 40
/* Pages per account per round; the rest waits for the next round. */
#define ROUND_PAGES 10
/* Context requests out at once. */
#define CONTEXT_MAX 16

enum req_kind { REQ_INSTANCE, REQ_LOOKUP, REQ_STATUSES, REQ_CONTEXT };

/* One REST request to the instance, on the source's list until it ends. */
struct req {
	struct curlev_req req; /* first: on m->out */
	struct masto *m;
	enum req_kind kind;
	char *what; /* the focal status (context) or the account, for messages */
};

/* A brand account the source catches up on. */
struct acct {
	char *name;                       /* as configured: "AcmeCare@social.example" */
	char *key;                        /* its saved position: "SOURCE/since_id/NAME" */
	char id[MAP_MASTODON_ID_MAX + 1]; /* its account id here, once looked up */
	int failing;                      /* the last try failed (logged once) */
};

struct masto {
	struct ingest *in;
	char *name;
	char *url;       /* the instance, for REST */
	char *streaming; /* the streaming base; NULL until known */
	char *host;      /* the instance host, for accts without one */
	char *token;
	char *stream;    /* "user", "public", ... */
	int64_t stall;   /* seconds without a byte before reconnecting */
	int64_t poll;    /* seconds between thread follow-ups and catch-up rounds */
	int64_t backoff_base, backoff_max;
	struct source_stats *stats;
	struct curlev *cv;
	struct sse *sse;
	struct stream *st; /* the streaming API */
	struct event *follow, *kick;
	int failures;    /* consecutive failed connections, for the backoff */
	uint64_t connections;
	json_t *conv;    /* status id -> conversation id */
	struct buf lines;
	struct curlev_req *out; /* REST requests in flight */
	int contexts;    /* context requests among them */

	struct acct *accts;
	size_t naccts;
	size_t round;   /* account being caught up; naccts when no round runs */
	int again;      /* a round was asked for while one ran */
	int pages;      /* pages of the current account this round */
	char cursor[MAP_MASTODON_ID_MAX + 1]; /* its position; "" when none is saved */
};

static void connect_stream(struct masto *m);
static void step(struct masto *m);

/* Remembers each mapped status's conversation, for replies that come later. */
static void
learn(struct masto *m, const struct buf *lines)
{
	for (const char *p = lines->s; p != NULL && p < lines->s + lines->len;) {
		const char *nl = memchr(p, '\n', (size_t)(lines->s + lines->len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(lines->s + lines->len - p);
		json_t *o = json_loadb(p, n, 0, NULL);
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *c = json_string_value(json_object_get(o, "conversation_id"));

		if (id != NULL && c != NULL && json_object_size(m->conv) < 100000)
			json_object_set_new(m->conv, id, json_string(c));
		json_decref(o);
		p += n + 1;
	}
}

/*
 * Takes native lines in as one batch, learning their conversations first;
 * key = value, when key is set, is saved with them. 0 once durable.
 */
static int
ingest(struct masto *m, const struct buf *lines, const char *what, const char *key,
    const char *value)
{
	learn(m, lines);
	return ingest_lines(m->in, lines, what, key, value);
}

/* map_mastodon callback: the conversation of a status seen before, or NULL. */
static const char *
conversation_of(void *arg, const char *status_id)
{
	struct masto *m = arg;

	return json_string_value(json_object_get(m->conv, status_id));
}

/* Says why a request failed, for a log line. */
static const char *
failure(CURLcode result, long status, char *buf, size_t len)
{
	if (result != CURLE_OK)
		return curl_easy_strerror(result);
	snprintf(buf, len, status == 429 ? "HTTP 429 (rate limited)" : "HTTP %ld", status);
	return buf;
}

/* Frees a request that is no longer in flight. */
static void
req_free(struct req *r)
{
	curlev_req_clear(&r->req);
	free(r->what);
	free(r);
}

/* Takes a request off the list of those in flight. */
static void
req_unlink(struct masto *m, struct req *r)
{
	curlev_req_unlink(&m->out, &r->req);
	if (r->kind == REQ_CONTEXT)
		m->contexts--;
}

static void on_req_done(void *arg, CURL *e, CURLcode result);

/*
 * Starts a GET of the instance's path (already escaped), the token as a
 * bearer and the answer capped; NULL when libcurl refused it (logged).
 */
static struct req *
rest_get(struct masto *m, enum req_kind kind, const char *what, const char *path)
{
	struct req *r = xcalloc(1, sizeof *r);
	char *url = xasprintf("%s%s", m->url, path);

	r->m = m;
	r->kind = kind;
	r->what = xstrdup(what);
	curlev_req_init(&r->req, url, m->token);
	curl_easy_setopt(r->req.easy, CURLOPT_USERAGENT, "deflectd/0.1");
	free(url);
	if (curlev_req_start(m->cv, &m->out, &r->req, on_req_done, r) != 0) {
		log_warnx("source %s: %s: request refused by libcurl", m->name, path);
		req_free(r);
		return NULL;
	}
	if (kind == REQ_CONTEXT)
		m->contexts++;
	return r;
}

/* SSE: a status from update / status.update; deletes and others are not posts. */
static void
on_event(void *arg, const char *event, const char *data, size_t len, const char *id)
{
	struct masto *m = arg;
	char err[256];

	(void)id;
	if (strcmp(event, "update") != 0 && strcmp(event, "status.update") != 0)
		return;
	buf_reset(&m->lines);
	if (map_mastodon_status(data, len, m->host, conversation_of, m, &m->lines, err,
	    sizeof err) < 0) {
		m->stats->bad++;
		log_warning("source %s: malformed %s event: %s", m->name, event, err);
		return;
	}
	ingest(m, &m->lines, "status", NULL, NULL);
}

/*
 * The end of the stream's headers: a 200 means the stream is up, and a
 * round run from now on covers whatever it missed before. libcurl refuses
 * new transfers from inside its callbacks, so the round starts from the loop.
 */
static void
on_stream_headers(void *arg, long status)
{
	struct masto *m = arg;
	struct timeval now = {0, 0};

	if (status == 200) {
		m->stats->connected = 1;
		m->failures = 0;
		log_info("source %s: stream connected", m->name);
		evtimer_add(m->kick, &now);
	}
}

/* Bytes of a stream that answered 200: fed to the SSE parser. */
static void
on_stream_bytes(void *arg, const char *data, size_t len)
{
	struct masto *m = arg;

	sse_feed(m->sse, data, len);
}

/* Schedules the next connection: exponential backoff from base, capped. */
static void
schedule_reconnect(struct masto *m)
{
	int64_t delay = m->backoff_base;

	for (int i = 1; i < m->failures && delay < m->backoff_max; i++)
		delay *= 2;
	if (delay > m->backoff_max)
		delay = m->backoff_max;
	m->failures++;
	m->stats->connected = 0;
	m->stats->reconnects++;
	stream_retry_in(m->st, (double)delay * 1000);
	log_info("source %s: reconnecting in %llds", m->name, (long long)delay);
}

/* The stream ended (the server closed it, or an error). */
static void
on_stream_ended(void *arg, CURLcode result, long status)
{
	struct masto *m = arg;
	char why[64];

	if (result != CURLE_OK || status != 200)
		m->stats->errors++;
	log_warnx("source %s: stream ended: %s", m->name, result != CURLE_OK || status != 200 ?
	    failure(result, status, why, sizeof why) : "closed by the server");
	schedule_reconnect(m);
}

/* Nothing came for stall_timeout (stream.c has cut it): reconnect. */
static void
on_stream_stalled(void *arg)
{
	schedule_reconnect(arg);
}

/* The backoff delay is over: connect again. */
static void
on_stream_retry(void *arg)
{
	connect_stream(arg);
}

static const struct stream_ops masto_stream_ops = {
    on_stream_headers, on_stream_bytes, NULL, on_stream_ended, on_stream_stalled,
    on_stream_retry,
};

/* Opens the stream; its end, a stall or a refusal schedules the next try. */
static void
connect_stream(struct masto *m)
{
	char *url = xasprintf("%s/api/v1/streaming/%s", m->streaming, m->stream);

	stream_drop(m->st);
	sse_reset(m->sse);
	if (m->connections++ > 0)
		log_info("source %s: reconnecting to the stream", m->name);
	if (stream_connect(m->st, url, m->token) != 0)
		schedule_reconnect(m);
	free(url);
}

/* Starts the stream at base (an http(s) URL without a trailing slash). */
static void
start_stream(struct masto *m, const char *base)
{
	free(m->streaming);
	m->streaming = xstrdup(base);
	log_info("source %s: streaming %s/api/v1/streaming/%s", m->name, m->streaming, m->stream);
	connect_stream(m);
}

/*
 * The instance's answer: its streaming server, or the instance itself when
 * it names none or cannot be asked. A plain-HTTP streaming server for an
 * HTTPS instance is refused, since the token would travel in clear text.
 */
static void
instance_done(struct masto *m, struct req *r, CURLcode result, long status)
{
	char base[2048], err[256], why[64];
	int rc;

	if (result == CURLE_OK && status == 404) {
		log_notice("source %s: no /api/v2/instance (HTTP 404; Mastodon before 4.0?); "
		    "streaming from %s", m->name, m->url);
		start_stream(m, m->url);
		return;
	}
	if (result != CURLE_OK || status != 200) {
		m->stats->errors++;
		log_warnx("source %s: GET /api/v2/instance: %s; streaming from %s", m->name,
		    failure(result, status, why, sizeof why), m->url);
		start_stream(m, m->url);
		return;
	}
	rc = map_mastodon_streaming_url(r->req.body.s ? r->req.body.s : "", r->req.body.len, base,
	    sizeof base, err, sizeof err);
	if (rc < 0) {
		m->stats->errors++;
		log_warnx("source %s: GET /api/v2/instance: %s; streaming from %s", m->name, err,
		    m->url);
		start_stream(m, m->url);
	} else if (rc == 0) {
		log_info("source %s: the instance names no streaming server; streaming from %s",
		    m->name, m->url);
		start_stream(m, m->url);
	} else if (strncmp(m->url, "https://", 8) == 0 && strncmp(base, "http://", 7) == 0) {
		log_warnx("source %s: the instance names %s, not HTTPS; streaming from %s", m->name,
		    base, m->url);
		start_stream(m, m->url);
	} else {
		start_stream(m, base);
	}
}

/* Logs an account's failure once, until it works again, and counts each. */
static void
acct_failed(struct masto *m, struct acct *a, const char *why)
{
	m->stats->errors++;
	if (!a->failing)
		log_warnx("source %s: catching up on %s: %s; trying again every %llds", m->name,
		    a->name, why, (long long)m->poll);
	a->failing = 1;
}

/* Notes that an account that failed works again, once. */
static void
acct_ok(struct masto *m, struct acct *a)
{
	if (a->failing)
		log_info("source %s: catching up on %s works again", m->name, a->name);
	a->failing = 0;
}

/* Could s be a status id (what map_mastodon accepts: short, printable, no space)? */
static int
plausible_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAP_MASTODON_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * Moves the round to the next account, with its saved position. A saved
 * value that is not an id (edited by hand?) is dropped, as if none were saved.
 */
static void
next_account(struct masto *m)
{
	char *pos;

	m->round++;
	m->pages = 0;
	m->cursor[0] = '\0';
	if (m->round >= m->naccts)
		return;
	pos = ingest_position(m->in, m->accts[m->round].key);
	if (pos != NULL && plausible_id(pos))
		snprintf(m->cursor, sizeof m->cursor, "%s", pos);
	else if (pos != NULL)
		log_notice("source %s: saved position %s is not a status id; starting %s afresh",
		    m->name, m->accts[m->round].key, m->accts[m->round].name);
	free(pos);
}

/* Ends the round at once, forgetting any asked for meanwhile. */
static void
end_round(struct masto *m)
{
	m->round = m->naccts;
	m->again = 0;
}

/* Asks for a round: now when none runs, else once the running one ends. */
static void
catchup(struct masto *m)
{
	if (m->naccts == 0)
		return;
	if (m->round < m->naccts) {
		m->again = 1;
		return;
	}
	m->round = (size_t)-1; /* next_account() steps to the first */
	next_account(m);
	step(m);
}

/*
 * Issues the round's next request: the current account's lookup or its
 * next page. Accounts go one at a time, so a round costs one request at a
 * time against the instance's rate limit.
 */
static void
step(struct masto *m)
{
	CURL *esc = NULL;

	while (m->round < m->naccts) {
		struct acct *a = &m->accts[m->round];
		char *arg = curl_easy_escape(esc, a->id[0] ? a->id : a->name, 0), *path;
		struct req *r;

		if (a->id[0] == '\0') {
			path = xasprintf("/api/v1/accounts/lookup?acct=%s", arg);
			r = rest_get(m, REQ_LOOKUP, a->name, path);
		} else if (m->cursor[0] == '\0') {
			/* Nothing saved: the newest page only, not the account's whole history. */
			path = xasprintf("/api/v1/accounts/%s/statuses?limit=%d", arg, PAGE_LIMIT);
			r = rest_get(m, REQ_STATUSES, a->name, path);
		} else {
			/* min_id: the statuses right after the position, oldest page first. */
			char *min = curl_easy_escape(esc, m->cursor, 0);

			path = xasprintf("/api/v1/accounts/%s/statuses?min_id=%s&limit=%d", arg, min,
			    PAGE_LIMIT);
			r = rest_get(m, REQ_STATUSES, a->name, path);
			curl_free(min);
		}
		free(path);
		curl_free(arg);
		if (r != NULL)
			return;
		next_account(m);
	}
	/* The round is over. */
	if (m->again) {
		m->again = 0;
		catchup(m);
	}
}

/* An account lookup came back: remember the id and go on with its statuses. */
static void
lookup_done(struct masto *m, struct req *r, CURLcode result, long status)
{
	struct acct *a = &m->accts[m->round];
	char err[256];

	if (result != CURLE_OK || status != 200) {
		acct_failed(m, a, failure(result, status, err, sizeof err));
		if (status == 429)
			end_round(m); /* the limit is the token's: the next round tries again */
		else
			next_account(m);
	} else if (map_mastodon_account_id(r->req.body.s ? r->req.body.s : "", r->req.body.len,
	    a->id, sizeof a->id, err, sizeof err) != 0) {
		acct_failed(m, a, err);
		next_account(m);
	} else {
		log_info("source %s: account %s is %s", m->name, a->name, a->id);
	}
	step(m);
}

/*
 * A page of an account's statuses came back: ingest it with the position it
 * reaches in one transaction, then fetch the next page until one brings
 * nothing newer, or the round's pages for the account are spent.
 */
static void
statuses_done(struct masto *m, struct req *r, CURLcode result, long status)
{
	struct acct *a = &m->accts[m->round];
	char err[256], newest[MAP_MASTODON_ID_MAX + 1], *what;
	size_t bad = 0;
	int n, first = m->cursor[0] == '\0', more;

	if (result != CURLE_OK || status != 200) {
		acct_failed(m, a, failure(result, status, err, sizeof err));
		if (status == 404)
			a->id[0] = '\0'; /* moved or gone: look it up again next round */
		if (status == 429)
			end_round(m);
		else
			next_account(m);
		step(m);
		return;
	}
	buf_reset(&m->lines);
	n = map_mastodon_statuses(r->req.body.s ? r->req.body.s : "", r->req.body.len,
	    m->host, conversation_of, m, &m->lines, newest, sizeof newest, &bad, err, sizeof err);
	if (n < 0) {
		acct_failed(m, a, err);
		next_account(m);
		step(m);
		return;
	}
	if (bad > 0) {
		m->stats->bad += bad;
		log_warning("source %s: statuses of %s: %zu malformed, skipped: %s", m->name, a->name,
		    bad, err);
	}
	more = newest[0] != '\0' && (first || post_id_cmp(newest, m->cursor) > 0);
	what = xasprintf("statuses of %s", a->name);
	if (ingest(m, &m->lines, what, more ? a->key : NULL, newest) != 0) {
		/* Nothing was kept: the position stays, and the next round asks again. */
		free(what);
		next_account(m);
		step(m);
		return;
	}
	free(what);
	acct_ok(m, a);
	if (more) {
		snprintf(m->cursor, sizeof m->cursor, "%s", newest);
		log_debug("source %s: %s caught up to %s (%d posts)", m->name, a->name, newest, n);
	}
	if (!more || first)
		next_account(m);
	else if (++m->pages >= ROUND_PAGES) {
		log_info("source %s: %s has more than %d pages to catch up on; the next round "
		    "goes on", m->name, a->name, ROUND_PAGES);
		next_account(m);
	}
	step(m);
}

/* A thread's context came back: map and ingest its statuses. */
static void
context_done(struct masto *m, struct req *r, CURLcode result, long status)
{
	size_t bad = 0;
	char err[256];

	if (result != CURLE_OK || status != 200) {
		log_warnx("source %s: context of %s: %s", m->name, r->what,
		    failure(result, status, err, sizeof err));
		return;
	}
	buf_reset(&m->lines);
	if (map_mastodon_context(r->req.body.s ? r->req.body.s : "", r->req.body.len, r->what,
	    m->host, &m->lines, &bad, err, sizeof err) >= 0)
		ingest(m, &m->lines, "context", NULL, NULL);
	else
		log_warnx("source %s: context of %s: %s", m->name, r->what, err);
}

/* curlev callback of every REST request: hands the answer on, then frees it. */
static void
on_req_done(void *arg, CURL *e, CURLcode result)
{
	struct req *r = arg;
	struct masto *m = r->m;
	long status = 0;

	req_unlink(m, r);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	switch (r->kind) {
	case REQ_INSTANCE: instance_done(m, r, result, status); break;
	case REQ_LOOKUP: lookup_done(m, r, result, status); break;
	case REQ_STATUSES: statuses_done(m, r, result, status); break;
	case REQ_CONTEXT: context_done(m, r, result, status); break;
	}
	req_free(r);
}

/* tracker_foreach callback: fetch the context of each open Mastodon case. */
static void
follow_case(void *arg, const struct tcase *c)
{
	struct masto *m = arg;
	char *path;

	if (strcmp(c->platform, "mastodon") != 0 || m->contexts >= CONTEXT_MAX)
		return;
	path = xasprintf("/api/v1/statuses/%s/context", c->post_id);
	rest_get(m, REQ_CONTEXT, c->post_id, path);
	free(path);
}

/* Every poll_interval: the threads of open cases, and a catch-up round. */
static void
on_follow(evutil_socket_t fd, short what, void *arg)
{
	struct masto *m = arg;

	(void)fd;
	(void)what;
	if (m->contexts == 0)
		ingest_foreach_case(m->in, follow_case, m);
	catchup(m);
}

/* The stream came up: a round, started from the loop rather than a libcurl callback. */
static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	catchup(arg);
}

/* A duration key, or its default. */
static int64_t
duration(const struct config_section *sec, const char *key, int64_t dflt)
{
	const char *v = config_value(sec, key);

	return v ? parse_duration(v) : dflt;
}

/* Frees a source, abandoning its transfers without their callbacks. */
static void
masto_free(struct masto *m)
{
	struct curlev_req *q;

	stream_free(m->st);
	while ((q = curlev_req_abandon(m->cv, &m->out)) != NULL)
		req_free((struct req *)q);
	if (m->follow)
		event_free(m->follow);
	if (m->kick)
		event_free(m->kick);
	curlev_free(m->cv);
	if (m->sse)
		sse_free(m->sse);
	json_decref(m->conv);
	buf_free(&m->lines);
	for (size_t i = 0; i < m->naccts; i++) {
		free(m->accts[i].name);
		free(m->accts[i].key);
	}
	free(m->accts);
	free(m->name);
	free(m->url);
	free(m->streaming);
	free(m->host);
	free(m->token);
	free(m->stream);
	free(m);
}

/* Copies the brand accounts on Mastodon: the config may be swapped by a reload. */
static void
take_accounts(struct masto *m, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct brand_account *b = &cfg->accounts[i];
		struct acct *a;

		if (b->platform == NULL || strcmp(b->platform, "mastodon") != 0)
			continue;
		m->accts = xreallocarray(m->accts, m->naccts + 1, sizeof *m->accts);
		a = &m->accts[m->naccts++];
		memset(a, 0, sizeof *a);
		a->name = xstrdup(b->account);
		a->key = xasprintf("%s/since_id/%s", m->name, b->account);
	}
	m->round = m->naccts;
}

/*
 * A configured streaming_url may be written as the instance reports it
 * (wss://...); the streaming API serves SSE over HTTP(S) on the same base.
 */
static char *
stream_base(const char *v)
{
	char *s;

	if (strncmp(v, "wss://", 6) == 0)
		s = xasprintf("https://%s", v + 6);
	else if (strncmp(v, "ws://", 5) == 0)
		s = xasprintf("http://%s", v + 5);
	else
		s = xstrdup(v);
	curlev_trim_slashes(s);
	return s;
}

/* Does v start with scheme:// and have something after it? */
static int
has_scheme(const char *v, const char *scheme)
{
	size_t n = strlen(scheme);

	return strncmp(v, scheme, n) == 0 && strncmp(v + n, "://", 3) == 0 && v[n + 3] != '\0' &&
	    v[n + 3] != '/';
}

/*
 * A Mastodon source's url is the instance's HTTP(S) base; its streaming_url
 * may also be written as the instance reports it, ws:// or wss://.
 */
void
source_mastodon_check(const struct config_section *sec, const char *file, struct diag *d)
{
	int line = sec->line;
	const char *v;

	if ((v = config_value_at(sec, "url", &line)) != NULL && !has_scheme(v, "http") &&
	    !has_scheme(v, "https"))
		diag_add(d, file, line, 1, "[source %s]: url must start with http:// or "
		    "https://", sec->name);
	if ((v = config_value_at(sec, "streaming_url", &line)) != NULL && !has_scheme(v, "http") &&
	    !has_scheme(v, "https") && !has_scheme(v, "ws") && !has_scheme(v, "wss"))
		diag_add(d, file, line, 1, "[source %s]: streaming_url must start with "
		    "https://, http://, wss:// or ws://", sec->name);
}

void *
source_mastodon_start(const struct config_section *sec, struct ingest *in, char *err,
    size_t errlen)
{
	struct event_base *base = ingest_base(in);
	const char *url = config_value(sec, "url");
	const char *streaming = config_value(sec, "streaming_url");
	struct masto *m;

	m = xcalloc(1, sizeof *m);
	m->in = in;
	m->name = xstrdup(sec->name);
	m->url = xstrdup(url);
	curlev_trim_slashes(m->url);
	/* Local accounts come without a host: theirs is the instance's. */
	const char *h = strstr(m->url, "://");
	h = h ? h + 3 : m->url;
	m->host = config_value(sec, "instance") ? xstrdup(config_value(sec, "instance"))
	                              : xstrndup(h, strcspn(h, "/:"));
	m->stream = xstrdup(config_value(sec, "stream") ? config_value(sec, "stream") : "user");
	m->stall = duration(sec, "stall_timeout", 30);
	m->poll = duration(sec, "poll_interval", 60);
	m->backoff_base = duration(sec, "backoff_base", 5);
	m->backoff_max = duration(sec, "backoff_max", 320); /* config.c checked them */
	m->token = ingest_token(in, sec, err, errlen);
	if (m->token == NULL) {
		masto_free(m);
		return NULL;
	}
	m->stats = ingest_stats(in);
	m->stats->network = 1;
	m->cv = curlev_new(base);
	m->sse = sse_new(SSE_DEFAULT_MAX, on_event, NULL, m);
	m->conv = json_object();
	m->st = stream_new(base, m->cv, m->name, m->stats, m->stall, &masto_stream_ops, m);
	m->kick = evtimer_new(base, on_kick, m);
	m->follow = event_new(base, -1, EV_PERSIST, on_follow, m);
	struct timeval tv = {(time_t)m->poll, 0};
	event_add(m->follow, &tv);
	take_accounts(m, ingest_config(in));
	if (streaming != NULL) {
		char *sb = stream_base(streaming);

		start_stream(m, sb);
		free(sb);
	} else if (rest_get(m, REQ_INSTANCE, "instance", "/api/v2/instance") == NULL) {
		start_stream(m, m->url);
	}
	catchup(m);
	return m;
}

void
source_mastodon_stop(void *src)
{
	masto_free(src);
}
