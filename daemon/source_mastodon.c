/*
 * The Mastodon source: follows the streaming API (server-sent events) and
 * follows the thread of every open Mastodon case through the REST context
 * endpoint. A stream that sends nothing, not even its ":thump" heartbeats,
 * for stall_timeout is cut and reconnected with backoff; our own idle timer
 * decides, since libcurl's low-speed limits would cut a quiet healthy
 * stream. Everything runs through libcurl multi on the loop.
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
#include "daemon.h"
#include "log.h"
#include "map_mastodon.h"
#include "source_mastodon.h"
#include "sse.h"
#include "xmalloc.h"

struct masto {
	struct deflectd *d;
	char *name;
	char *url;       /* the instance, for REST */
	char *streaming; /* the streaming base; the instance's own unless configured */
	char *host;      /* the instance host, for accts without one */
	char *token;
	char *stream;    /* "user", "public", ... */
	int64_t stall;   /* seconds without a byte before reconnecting */
	int64_t poll;    /* seconds between thread follow-ups */
	int64_t backoff_base, backoff_max;
	struct source_stats *stats;
	struct curlev *cv;
	struct sse *sse;
	CURL *live;      /* the stream, when connected */
	struct curl_slist *live_headers;
	struct event *idle, *retry, *follow;
	int failures;    /* consecutive failed connections, for the backoff */
	uint64_t connections;
	json_t *conv;    /* status id -> conversation id */
	struct buf lines;
	int inflight;    /* context requests out ... */
	struct ctx_req *out; /* ... and the list of them */
};

static void connect_stream(struct masto *m);

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

/* Takes native lines in as one batch, learning their conversations first. */
static void
ingest(struct masto *m, const struct buf *lines)
{
	learn(m, lines);
	daemon_ingest_lines(m->d, m->stats, lines, "status", NULL, NULL);
}

static const char *
conversation_of(void *arg, const char *status_id)
{
	struct masto *m = arg;

	return json_string_value(json_object_get(m->conv, status_id));
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
		log_info("source %s: malformed %s event: %s", m->name, event, err);
		return;
	}
	ingest(m, &m->lines);
}

/* Re-arms the stall timer: any byte, heartbeat or event, proves the stream alive. */
static void
alive(struct masto *m)
{
	struct timeval tv = {(time_t)m->stall, 0};

	event_add(m->idle, &tv);
}

static size_t
on_stream_bytes(char *data, size_t size, size_t n, void *arg)
{
	struct masto *m = arg;

	alive(m);
	m->failures = 0;
	m->stats->connected = 1;
	m->stats->last_byte = (int64_t)time(NULL);
	sse_feed(m->sse, data, size * n);
	return size * n;
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
	struct timeval tv = {(time_t)delay, 0};
	evtimer_add(m->retry, &tv);
	log_info("source %s: reconnecting in %llds", m->name, (long long)delay);
}

/* Drops the stream's transfer, if any. */
static void
drop_stream(struct masto *m)
{
	if (m->live != NULL) {
		curlev_remove(m->cv, m->live);
		curl_easy_cleanup(m->live);
		m->live = NULL;
	}
	curl_slist_free_all(m->live_headers);
	m->live_headers = NULL;
	event_del(m->idle);
}

/* The stream ended (the server closed it, or an error). */
static void
on_stream_done(void *arg, CURL *e, CURLcode result)
{
	struct masto *m = arg;
	long status = 0;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (result != CURLE_OK || status != 200)
		m->stats->errors++;
	log_warnx("source %s: stream ended: %s", m->name, result != CURLE_OK ?
	    curl_easy_strerror(result) : status != 200 ? "HTTP error" : "closed by the server");
	curl_easy_cleanup(e);
	m->live = NULL;
	drop_stream(m);
	schedule_reconnect(m);
}

/* Nothing came for stall_timeout: cut and reconnect. */
static void
on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct masto *m = arg;

	(void)fd;
	(void)what;
	m->stats->stalls++;
	log_warnx("source %s: no byte for %llds: stream stalled", m->name, (long long)m->stall);
	drop_stream(m);
	schedule_reconnect(m);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_stream(arg);
}

static void
connect_stream(struct masto *m)
{
	char *url = xasprintf("%s/api/v1/streaming/%s", m->streaming, m->stream);

	drop_stream(m);
	sse_reset(m->sse);
	m->live = curl_easy_init();
	m->live_headers = curlev_bearer(NULL, m->token);
	curl_easy_setopt(m->live, CURLOPT_URL, url);
	curl_easy_setopt(m->live, CURLOPT_HTTPHEADER, m->live_headers);
	curl_easy_setopt(m->live, CURLOPT_USERAGENT, "deflectd/0.1");
	curl_easy_setopt(m->live, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m->live, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(m->live, CURLOPT_CONNECTTIMEOUT, (long)m->stall);
	curl_easy_setopt(m->live, CURLOPT_WRITEFUNCTION, on_stream_bytes);
	curl_easy_setopt(m->live, CURLOPT_WRITEDATA, m);
	free(url);
	if (m->connections++ > 0)
		log_info("source %s: reconnecting to the stream", m->name);
	if (curlev_add(m->cv, m->live, on_stream_done, m) != 0) {
		curl_easy_cleanup(m->live);
		m->live = NULL;
		schedule_reconnect(m);
		return;
	}
	alive(m);
}

struct ctx_req {
	struct ctx_req *next;
	CURL *easy;
	struct masto *m;
	char *focal;
	struct buf body;
	struct curl_slist *h;
};

/* A thread's context came back: map and ingest its statuses. */
static void
on_ctx_done(void *arg, CURL *e, CURLcode result)
{
	struct ctx_req *r = arg;
	struct masto *m = r->m;
	long status = 0;
	size_t bad = 0;
	char err[256];

	m->inflight--;
	for (struct ctx_req **p = &m->out; *p != NULL; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (result == CURLE_OK && status == 200) {
		buf_reset(&m->lines);
		if (map_mastodon_context(r->body.s ? r->body.s : "", r->body.len, r->focal, m->host,
		    &m->lines, &bad, err, sizeof err) >= 0)
			ingest(m, &m->lines);
		else
			log_warnx("source %s: context of %s: %s", m->name, r->focal, err);
	} else {
		log_warnx("source %s: context of %s: %s", m->name, r->focal,
		    result != CURLE_OK ? curl_easy_strerror(result) : "HTTP error");
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(r->h);
	buf_free(&r->body);
	free(r->focal);
	free(r);
}

/* tracker_foreach callback: fetch the context of each open Mastodon case. */
static void
follow_case(void *arg, const struct tcase *c)
{
	struct masto *m = arg;
	struct ctx_req *r;
	CURL *e;

	if (strcmp(c->platform, "mastodon") != 0 || m->inflight >= 16)
		return;
	r = xcalloc(1, sizeof *r);
	r->m = m;
	r->focal = xstrdup(c->post_id);
	r->h = curlev_bearer(NULL, m->token);
	e = curl_easy_init();
	char *url = xasprintf("%s/api/v1/statuses/%s/context", m->url, c->post_id);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->h);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curlev_collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
	free(url);
	if (curlev_add(m->cv, e, on_ctx_done, r) != 0) {
		curl_easy_cleanup(e);
		curl_slist_free_all(r->h);
		free(r->focal);
		free(r);
		return;
	}
	r->easy = e;
	r->next = m->out;
	m->out = r;
	m->inflight++;
}

static void
on_follow(evutil_socket_t fd, short what, void *arg)
{
	struct masto *m = arg;

	(void)fd;
	(void)what;
	if (m->inflight == 0)
		tracker_foreach(pipeline_tracker(m->d->pl), follow_case, m);
}

/* A duration key, or its default; -1 when bad. */
static int64_t
duration(const struct config_section *sec, const char *key, int64_t dflt)
{
	const char *v = config_value(sec, key);

	return v ? parse_duration(v) : dflt;
}

static void
masto_free(struct masto *m)
{
	drop_stream(m);
	while (m->out != NULL) {
		struct ctx_req *r = m->out;

		m->out = r->next;
		curlev_remove(m->cv, r->easy);
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->h);
		buf_free(&r->body);
		free(r->focal);
		free(r);
	}
	if (m->idle)
		event_free(m->idle);
	if (m->retry)
		event_free(m->retry);
	if (m->follow)
		event_free(m->follow);
	curlev_free(m->cv);
	if (m->sse)
		sse_free(m->sse);
	json_decref(m->conv);
	buf_free(&m->lines);
	free(m->name);
	free(m->url);
	free(m->streaming);
	free(m->host);
	free(m->token);
	free(m->stream);
	free(m);
}

int
source_mastodon_start_all(struct deflectd *d, char *err, size_t errlen)
{
	for (size_t i = 0; i < d->cfg->nsources; i++) {
		const struct config_section *sec = &d->cfg->sources[i];
		const char *type = config_value(sec, "type"), *url = config_value(sec, "url");
		struct masto *m;

		if (type == NULL || strcmp(type, "mastodon") != 0)
			continue;
		m = xcalloc(1, sizeof *m);
		m->d = d;
		m->name = xstrdup(sec->name);
		m->url = xstrdup(url);
		while (strlen(m->url) > 0 && m->url[strlen(m->url) - 1] == '/')
			m->url[strlen(m->url) - 1] = '\0';
		m->streaming = xstrdup(config_value(sec, "streaming_url") ? config_value(sec, "streaming_url") : m->url);
		/* Local accounts come without a host: theirs is the instance's. */
		const char *h = strstr(m->url, "://");
		h = h ? h + 3 : m->url;
		m->host = config_value(sec, "instance") ? xstrdup(config_value(sec, "instance"))
		                              : xstrndup(h, strcspn(h, "/:"));
		m->stream = xstrdup(config_value(sec, "stream") ? config_value(sec, "stream") : "user");
		m->stall = duration(sec, "stall_timeout", 30);
		m->poll = duration(sec, "poll_interval", 60);
		m->backoff_base = duration(sec, "backoff_base", 5);
		m->backoff_max = duration(sec, "backoff_max", 320);
		if (m->stall <= 0 || m->poll <= 0 || m->backoff_base <= 0 || m->backoff_max <= 0) {
			snprintf(err, errlen, "%s:%d: [source %s]: a duration is not valid", d->cfg->path,
			    sec->line, sec->name);
			masto_free(m);
			return -1;
		}
		m->token = daemon_read_secret(d->cfg, config_value(sec, "token_file"), err, errlen);
		if (m->token == NULL) {
			masto_free(m);
			return -1;
		}
		char *stat = xasprintf("mastodon:%s", sec->name);
		m->stats = daemon_source(d, stat);
		m->stats->network = 1;
		free(stat);
		m->cv = curlev_new(d->base);
		m->sse = sse_new(SSE_DEFAULT_MAX, on_event, NULL, m);
		m->conv = json_object();
		m->idle = evtimer_new(d->base, on_idle, m);
		m->retry = evtimer_new(d->base, on_retry, m);
		m->follow = event_new(d->base, -1, EV_PERSIST, on_follow, m);
		struct timeval tv = {(time_t)m->poll, 0};
		event_add(m->follow, &tv);
		d->masto = xreallocarray(d->masto, d->nmasto + 1, sizeof *d->masto);
		d->masto[d->nmasto++] = m;
		log_info("source %s: streaming %s/api/v1/streaming/%s", m->name, m->streaming,
		    m->stream);
		connect_stream(m);
	}
	return 0;
}

void
source_mastodon_stop_all(struct deflectd *d)
{
	for (size_t i = 0; i < d->nmasto; i++)
		masto_free(d->masto[i]);
	free(d->masto);
	d->masto = NULL;
	d->nmasto = 0;
}
