/*
 * The X source: the API v2 filtered stream (newline-delimited JSON with
 * "\r\n" keep-alives) and recent search for the conversations of open
 * cases. At start the stream's rules are set to the brand accounts'
 * replies. Reconnects follow X's documented schedules: network errors back
 * off linearly by 250 ms up to 16 s, HTTP errors exponentially from 5 s up
 * to 320 s, and 429 from a minute, doubling. Our own idle timer, re-armed
 * on every byte, detects a stall: libcurl's low-speed limits would cut a
 * stream whose only traffic is keep-alives.
 *
 * A stream cannot be resumed, so the newest tweet id it delivered is kept in
 * the state database ("since"), and after a gap (a restart, a drop) recent
 * search with that since_id reads what the gap held, page by page, newest
 * first. Search lags about 30 s behind the stream and covers up to 30 s ago,
 * so a catch-up starts once the stream has been up for that long: then the
 * search and the stream overlap, and since may move to the newest tweet of
 * either. A catch-up that could not overlap (the stream dropped again, or
 * was down) moves since only to the newest tweet the search found, which
 * every older one of the gap precedes, and another round follows. Ids grow
 * with time, which is what makes an id a position. Posts seen twice are
 * refused by the state database.
 *
 * Owns: the rules, the catch-up and follow-up requests, X's backoff and what
 * a stream line means. The transfer, stall timer and line framing are
 * stream.c's; the daemon is reached only through the ingest handle.
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
#include "map.h"
#include "map_x.h"
#include "post.h"
#include "reader.h"
#include "source_x.h"
#include "stream.h"
#include "xmalloc.h"

#define FIELDS "tweet.fields=conversation_id,in_reply_to_user_id,referenced_tweets," \
	       "author_id,created_at,lang&expansions=author_id&user.fields=username"

enum failure { FAIL_NETWORK, FAIL_HTTP, FAIL_RATE };
enum req_kind { REQ_RULES, REQ_FOLLOW, REQ_CATCHUP };
enum catchup { CATCHUP_NONE, CATCHUP_DUE, CATCHUP_OUT };

/* Search pages per round; a longer gap goes on from its next_token next round. */
#define CATCHUP_PAGES 10
/* How far recent search lags behind the stream, in seconds (X's documentation). */
#define SEARCH_LAG 30

struct xsrc {
	struct ingest *in;
	char *name;
	char *url;
	char *token;
	int64_t stall;
	int64_t poll;
	double scale; /* backoff_scale: tests shrink X's schedules */
	struct source_stats *stats;
	struct curlev *cv;
	struct stream *st; /* the filtered stream */
	struct event *follow;
	int tries;        /* consecutive failures of the current kind */
	enum failure last;
	struct curlev_req *out; /* rules and search requests in flight */
	int inflight;
	char *posname;    /* the saved since_id's name in the state database */
	char since[24];   /* newest tweet id read with nothing missed before it */
	char high[24];    /* newest tweet id the stream delivered */
	enum catchup catchup;
	int pages;        /* pages of the current round */
	char found[24];   /* newest tweet id the current catch-up found */
	char *resume;     /* next_token a capped or failed catch-up goes on from */
	double up_since;  /* monotonic seconds when the stream came up; 0 when down */
	uint64_t conn;    /* stream connections so far */
	uint64_t cu_conn; /* the connection a catch-up started under ... */
	int cu_overlaps;  /* ... and whether it had been up SEARCH_LAG by then */
	struct event *kick;
};

struct req {
	struct curlev_req req; /* first: on x->out */
	struct xsrc *x;
	char *what;
	enum req_kind kind;
	char *token; /* a catch-up page's next_token; NULL for the first */
};

static void connect_stream(struct xsrc *x);
static void catch_up(struct xsrc *x, const char *next_token);

/* Seconds on the monotonic clock, never 0. */
static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + 1;
}

/*
 * Takes tweets in, saving since = to with them when to is newer (to may be
 * NULL: nothing to save). 0 once durable.
 */
static int
take(struct xsrc *x, const struct buf *lines, const char *what, const char *to)
{
	char pos[24];

	if (to == NULL || post_id_cmp(to, x->since) <= 0)
		return ingest_lines(x->in, lines, what, NULL, NULL);
	strcpy(pos, to);
	if (ingest_lines(x->in, lines, what, x->posname, pos) != 0)
		return -1;
	strcpy(x->since, pos);
	return 0;
}

/* Streamed tweets: they move since only while no gap waits to be read. */
static void
take_streamed(struct xsrc *x, const struct buf *lines, const struct map_span *span)
{
	const char *top = span->newest_id;

	if (post_id_cmp(top, x->high) > 0)
		strcpy(x->high, top);
	/* Refused while the state database fails: a gap for catch-up to read. */
	if (take(x, lines, "stream", x->catchup == CATCHUP_NONE ? top : NULL) != 0 &&
	    x->since[0] != '\0' && x->catchup == CATCHUP_NONE)
		x->catchup = CATCHUP_DUE;
}

/* The stream went down: if a position is kept, what follows is a gap. */
static void
gap_begins(struct xsrc *x)
{
	x->up_since = 0;
	if (x->kick != NULL)
		event_del(x->kick);
	if (x->since[0] != '\0' && x->catchup == CATCHUP_NONE)
		x->catchup = CATCHUP_DUE;
}

/* One complete line of the stream: a keep-alive, a tweet, or an error object. */
static void
stream_line(struct xsrc *x, const char *s, size_t len)
{
	struct buf lines = BUF_INIT;
	struct map_span span;
	char err[256];
	size_t skipped = 0;
	int rc;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len == 0)
		return; /* keep-alive */
	rc = map_x_span(s, len, &lines, &skipped, &span, err, sizeof err);
	if (rc == -2) {
		x->stats->errors++;
		log_warnx("source %s: stream error: %s", x->name, err);
	} else if (rc < 0) {
		x->stats->bad++;
		log_warning("source %s: malformed stream line: %s", x->name, err);
	} else {
		take_streamed(x, &lines, &span);
	}
	buf_free(&lines);
}

/* Bytes of a stream that answered 200: it is up; they are split into capped lines. */
static void
on_stream_bytes(void *arg, const char *data, size_t len)
{
	struct xsrc *x = arg;

	if (x->up_since == 0) {
		/* Up: once search has caught up with this moment, read the gap. */
		struct timeval tv = {(time_t)(SEARCH_LAG * x->scale),
		    (suseconds_t)((long)(SEARCH_LAG * x->scale * 1e6) % 1000000)};

		x->up_since = mono_now();
		x->conn++;
		if (x->catchup == CATCHUP_DUE)
			evtimer_add(x->kick, &tv);
	}
	x->stats->connected = 1;
	x->tries = 0;
	stream_lines(x->st, data, len, READER_DEFAULT_MAX);
}

/* stream.c's line callback. */
static void
on_stream_line(void *arg, const char *s, size_t len)
{
	stream_line(arg, s, len);
}

/* X's reconnect schedules, in milliseconds, scaled for tests. */
static void
schedule_reconnect(struct xsrc *x, enum failure f)
{
	double ms;

	if (f != x->last)
		x->tries = 0;
	x->last = f;
	x->tries++;
	if (f == FAIL_NETWORK)
		ms = 250.0 * x->tries > 16000 ? 16000 : 250.0 * x->tries;
	else if (f == FAIL_HTTP)
		ms = 5000.0 * (1 << (x->tries > 7 ? 6 : x->tries - 1)) > 320000 ? 320000
		    : 5000.0 * (1 << (x->tries > 7 ? 6 : x->tries - 1));
	else
		ms = 60000.0 * (1 << (x->tries > 10 ? 10 : x->tries - 1));
	ms *= x->scale;
	stream_retry_in(x->st, ms);
	gap_begins(x);
	x->stats->reconnects++;
	x->stats->connected = 0;
	if (f != FAIL_NETWORK)
		x->stats->errors++;
	log_info("source %s: reconnecting in %.0f ms", x->name, ms);
}

/* The stream ended: what it answered decides the schedule. */
static void
on_stream_ended(void *arg, CURLcode result, long status)
{
	struct xsrc *x = arg;

	if (result != CURLE_OK || status == 0) {
		log_warnx("source %s: stream: %s", x->name, curl_easy_strerror(result));
		schedule_reconnect(x, FAIL_NETWORK);
	} else if (status == 429) {
		log_warnx("source %s: stream: HTTP 429 (too many connections)", x->name);
		schedule_reconnect(x, FAIL_RATE);
	} else if (status != 200) {
		log_warnx("source %s: stream: HTTP %ld", x->name, status);
		schedule_reconnect(x, FAIL_HTTP);
	} else {
		log_warnx("source %s: stream closed by the server", x->name);
		schedule_reconnect(x, FAIL_NETWORK);
	}
}

/* The stream went silent (stream.c has cut it). */
static void
on_stream_stalled(void *arg)
{
	schedule_reconnect(arg, FAIL_NETWORK);
}

/* The backoff is over. */
static void
on_stream_retry(void *arg)
{
	connect_stream(arg);
}

static const struct stream_ops x_stream_ops = {
    NULL, on_stream_bytes, on_stream_line, on_stream_ended, on_stream_stalled,
    on_stream_retry,
};

static void
connect_stream(struct xsrc *x)
{
	char *url = xasprintf("%s/2/tweets/search/stream?" FIELDS, x->url);
	int rc = stream_connect(x->st, url, x->token);

	free(url);
	if (rc != 0)
		schedule_reconnect(x, FAIL_NETWORK);
}

static void
req_free(struct req *r)
{
	curlev_req_clear(&r->req);
	free(r->what);
	free(r->token);
	free(r);
}

/*
 * The last page of a round is in. With the stream up since before the
 * search's reach, the two overlap and since may move to the newest of both;
 * otherwise only to the newest the search found, and another round follows.
 */
static void
settle(struct xsrc *x, const struct buf *lines)
{
	int overlap = x->cu_overlaps && x->cu_conn == x->conn && x->up_since != 0;
	const char *to = x->found;

	if (overlap && post_id_cmp(x->high, to) > 0)
		to = x->high;
	take(x, lines, "catching up", to);
	x->catchup = overlap ? CATCHUP_NONE : CATCHUP_DUE;
	if (!overlap && x->up_since != 0) {
		/* Another round once this connection has been up SEARCH_LAG. */
		double wait = x->up_since + SEARCH_LAG * x->scale - mono_now();
		struct timeval tv = {wait > 0 ? (time_t)wait : 0,
		    wait > 0 ? (suseconds_t)((wait - (time_t)wait) * 1e6) : 0};

		evtimer_add(x->kick, &tv);
	}
	log_info("source %s: caught up to tweet %s%s", x->name, x->since,
	    overlap ? "" : "; the stream was not up throughout, so another round follows");
}

/* Gives a gap up: since moves past it so the source is not stuck on it for ever. */
static void
give_up(struct xsrc *x, const char *why)
{
	struct buf none = BUF_INIT;

	log_warnx("source %s: cannot catch up from tweet %s (%s): tweets of that gap are lost",
	    x->name, x->since, why);
	free(x->resume);
	x->resume = NULL;
	take(x, &none, "catching up", post_id_cmp(x->high, x->found) > 0 ? x->high : x->found);
	x->catchup = x->up_since != 0 ? CATCHUP_NONE : CATCHUP_DUE;
}

/* A catch-up page is in: go on to the next page, or settle the saved id. */
static void
catchup_page(struct xsrc *x, struct req *r)
{
	struct buf lines = BUF_INIT;
	char err[256];
	const struct buf *body = &r->req.body;
	json_t *doc = json_loadb(body->s ? body->s : "", body->len, 0, NULL);
	const char *next = json_string_value(json_object_get(json_object_get(doc, "meta"),
	    "next_token"));
	struct map_span span;
	int rc = map_x_span(body->s ? body->s : "", body->len, &lines, NULL, &span, err,
	    sizeof err);

	if (rc < 0) {
		give_up(x, err);
	} else {
		if (post_id_cmp(span.newest_id, x->found) > 0)
			strcpy(x->found, span.newest_id);
		free(x->resume);
		x->resume = NULL;
		if (next == NULL) {
			settle(x, &lines);
		} else if (++x->pages < CATCHUP_PAGES) {
			take(x, &lines, "catching up", NULL);
			catch_up(x, next);
		} else {
			/* The oldest part of a long gap waits for the next round. */
			take(x, &lines, "catching up", NULL);
			x->resume = xstrdup(next);
			x->catchup = CATCHUP_DUE;
			log_info("source %s: read %d pages of the gap; the rest next round", x->name,
			    x->pages);
		}
	}
	json_decref(doc);
	buf_free(&lines);
}

/* A rules or search request ended. */
static void
on_req_done(void *arg, CURL *e, CURLcode result)
{
	struct req *r = arg;
	struct xsrc *x = r->x;
	long status = 0;

	(void)e;
	x->inflight--;
	curlev_req_unlink(&x->out, &r->req);
	curl_easy_getinfo(r->req.easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->kind == REQ_CATCHUP && result == CURLE_OK && status >= 400 && status < 500 &&
	    status != 429) {
		/* Refused for good (a since_id past search's 7 days, a bad token). */
		char why[32];

		snprintf(why, sizeof why, "HTTP %ld", status);
		give_up(x, why);
	} else if (result != CURLE_OK || status < 200 || status > 299) {
		log_warnx("source %s: %s: %s", x->name, r->what,
		    result != CURLE_OK ? curl_easy_strerror(result) : "HTTP error");
		if (r->kind == REQ_CATCHUP) {
			/* Again at the next follow-up tick, from the same page. */
			free(x->resume);
			x->resume = r->token ? xstrdup(r->token) : NULL;
			x->catchup = CATCHUP_DUE;
		}
	} else if (r->kind == REQ_CATCHUP) {
		catchup_page(x, r);
	} else if (r->kind == REQ_FOLLOW) {
		struct buf lines = BUF_INIT;
		char err[256];
		size_t skipped = 0;

		if (map_x(r->req.body.s ? r->req.body.s : "", r->req.body.len, &lines, &skipped,
		    err, sizeof err) >= 0)
			ingest_lines(x->in, &lines, r->what, NULL, NULL);
		else
			log_warnx("source %s: %s: %s", x->name, r->what, err);
		buf_free(&lines);
	} else {
		log_info("source %s: stream rules set", x->name);
	}
	req_free(r);
}

/* Starts a REST request; body non-NULL makes it a JSON POST. NULL when refused. */
static struct req *
request(struct xsrc *x, const char *path, const char *body, enum req_kind kind, const char *what)
{
	struct req *r = xcalloc(1, sizeof *r);
	char *url = xasprintf("%s%s", x->url, path);

	r->x = x;
	r->kind = kind;
	r->what = xstrdup(what);
	curlev_req_init(&r->req, url, x->token);
	if (body != NULL) {
		r->req.h = curl_slist_append(r->req.h, "Content-Type: application/json");
		curl_easy_setopt(r->req.easy, CURLOPT_HTTPHEADER, r->req.h);
		curl_easy_setopt(r->req.easy, CURLOPT_COPYPOSTFIELDS, body);
	}
	free(url);
	if (curlev_req_start(x->cv, &x->out, &r->req, on_req_done, r) != 0) {
		req_free(r);
		return NULL;
	}
	x->inflight++;
	return r;
}

/* Replies from, and posts to, every configured brand account on X. */
static void
brand_query(const struct config *cfg, struct buf *q)
{
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct brand_account *a = &cfg->accounts[i];

		if (a->platform == NULL || strcmp(a->platform, "twitter") != 0)
			continue;
		buf_printf(q, "%sfrom:%s OR to:%s", q->len ? " OR " : "", a->account, a->account);
	}
}

/*
 * Recent search for what the stream's rules matched after since: a round's
 * first page (next_token NULL), or the page a round goes on from.
 */
static void
catch_up(struct xsrc *x, const char *next_token)
{
	struct buf q = BUF_INIT;
	CURL *esc;
	struct req *r;

	brand_query(ingest_config(x->in), &q);
	if (x->since[0] == '\0' || q.len == 0) {
		buf_free(&q);
		x->catchup = CATCHUP_NONE;
		return;
	}
	if (next_token == NULL) {
		/*
		 * A new search: is the stream up since before what search can see?
		 * A round that goes on from a token keeps its search's answer.
		 */
		x->pages = 0;
		x->cu_conn = x->conn;
		x->cu_overlaps = x->up_since != 0 && mono_now() - x->up_since >= SEARCH_LAG * x->scale;
		x->found[0] = '\0';
	} else if (x->catchup == CATCHUP_DUE) {
		x->pages = 0;
	}
	x->catchup = CATCHUP_OUT;
	esc = curl_easy_init();
	char *qe = curl_easy_escape(esc, q.s, 0);
	char *te = next_token ? curl_easy_escape(esc, next_token, 0) : NULL;
	if (esc == NULL || qe == NULL || (next_token != NULL && te == NULL))
		abort(); /* libcurl fails these only when out of memory */
	char *path = xasprintf("/2/tweets/search/recent?query=%s&since_id=%s&max_results=100&"
	    FIELDS "%s%s", qe, x->since, te ? "&next_token=" : "", te ? te : "");

	if ((r = request(x, path, NULL, REQ_CATCHUP, "catching up")) != NULL && next_token != NULL)
		r->token = xstrdup(next_token);
	else if (r == NULL)
		x->catchup = CATCHUP_DUE;
	free(path);
	curl_free(te);
	curl_free(qe);
	curl_easy_cleanup(esc);
	buf_free(&q);
}

/* Starts the catch-up that is due, from where the last round left off. */
static void
catch_up_due(struct xsrc *x)
{
	char *from;

	if (x->catchup != CATCHUP_DUE)
		return;
	from = x->resume;
	x->resume = NULL;
	catch_up(x, from);
	free(from);
}

/* The stream has been up SEARCH_LAG: search now overlaps it. */
static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	catch_up_due(arg);
}

/* Stream rules: the brand query, tagged so that ours are told apart. */
static void
set_rules(struct xsrc *x)
{
	struct buf q = BUF_INIT;
	json_t *doc;
	char *s;

	brand_query(ingest_config(x->in), &q);
	if (q.len == 0) {
		buf_free(&q);
		return;
	}
	doc = json_pack("{s:[{s:s, s:s}]}", "add", "value", q.s, "tag", "deflectd");
	s = json_dumps(doc, JSON_COMPACT);
	request(x, "/2/tweets/search/stream/rules", s, REQ_RULES, "setting stream rules");
	free(s);
	json_decref(doc);
	buf_free(&q);
}

/* tracker_foreach callback: recent search for each open X conversation. */
static void
follow_case(void *arg, const struct tcase *c)
{
	struct xsrc *x = arg;
	CURL *esc;
	char *q, *path;

	if (strcmp(c->platform, "twitter") != 0 || x->inflight >= 16)
		return;
	esc = curl_easy_init();
	char *raw = xasprintf("conversation_id:%s", c->conversation_id);
	q = curl_easy_escape(esc, raw, 0);
	path = xasprintf("/2/tweets/search/recent?query=%s&max_results=100&" FIELDS, q);
	request(x, path, NULL, REQ_FOLLOW, c->conversation_id);
	free(path);
	curl_free(q);
	free(raw);
	curl_easy_cleanup(esc);
}

static void
on_follow(evutil_socket_t fd, short what, void *arg)
{
	struct xsrc *x = arg;

	(void)fd;
	(void)what;
	catch_up_due(x);
	if (x->inflight == 0)
		ingest_foreach_case(x->in, follow_case, x);
}

static void
xsrc_free(struct xsrc *x)
{
	struct curlev_req *q;

	stream_free(x->st);
	while ((q = curlev_req_abandon(x->cv, &x->out)) != NULL)
		req_free((struct req *)q);
	if (x->follow)
		event_free(x->follow);
	if (x->kick)
		event_free(x->kick);
	curlev_free(x->cv);
	free(x->resume);
	free(x->name);
	free(x->url);
	free(x->token);
	free(x->posname);
	free(x);
}

void *
source_x_start(const struct config_section *sec, struct ingest *in, char *err, size_t errlen)
{
	struct event_base *base = ingest_base(in);
	const char *url = config_value(sec, "url");
	const char *st = config_value(sec, "stall_timeout"), *pi = config_value(sec, "poll_interval");
	const char *sc = config_value(sec, "backoff_scale");
	struct xsrc *x;

	x = xcalloc(1, sizeof *x);
	x->in = in;
	x->name = xstrdup(sec->name);
	x->url = xstrdup(url ? url : "https://api.x.com");
	curlev_trim_slashes(x->url);
	x->stall = st ? parse_duration(st) : 30;
	x->poll = pi ? parse_duration(pi) : 300;
	x->scale = sc ? strtod(sc, NULL) : 1.0; /* config.c checked these values */
	x->token = ingest_token(in, sec, err, errlen);
	if (x->token == NULL) {
		xsrc_free(x);
		return NULL;
	}
	x->stats = ingest_stats(in);
	x->stats->network = 1;
	x->posname = xasprintf("x:%s/since_id", sec->name);
	char *since = ingest_position(in, x->posname);
	if (since != NULL && strlen(since) < sizeof x->since &&
	    strspn(since, "0123456789") == strlen(since)) {
		strcpy(x->since, since);
		x->catchup = CATCHUP_DUE; /* the time it was down is a gap */
	} else if (since != NULL) {
		log_warnx("source %s: saved since_id \"%s\" is damaged; starting from the "
		    "stream", x->name, since);
	}
	free(since);
	x->cv = curlev_new(base);
	x->st = stream_new(base, x->cv, x->name, x->stats, x->stall, &x_stream_ops, x);
	x->kick = evtimer_new(base, on_kick, x);
	x->follow = event_new(base, -1, EV_PERSIST, on_follow, x);
	struct timeval tv = {(time_t)x->poll, 0};
	event_add(x->follow, &tv);
	log_info("source %s: filtered stream at %s", x->name, x->url);
	set_rules(x);
	connect_stream(x);
	return x;
}

void
source_x_stop(void *src)
{
	xsrc_free(src);
}
