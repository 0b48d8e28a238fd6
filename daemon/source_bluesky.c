/*
 * The Bluesky source: polls the public AppView for each brand account's
 * author feed (to find deflections) and for the thread of every open
 * Bluesky case (to see what follows), through libcurl multi on the loop.
 * Posts seen again are refused by the state database, so polling the
 * newest page each time misses nothing between polls that fit in a page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "buf.h"
#include "curlev.h"
#include "daemon.h"
#include "log.h"
#include "map_bluesky.h"
#include "source_bluesky.h"
#include "xmalloc.h"

struct bsky {
	struct deflectd *d;
	char *name;
	char *url;
	int64_t interval;
	struct source_stats *stats;
	struct curlev *cv;
	struct event *timer;
	int inflight;
	struct request *out; /* requests in flight, freed with the source */
};

struct request {
	struct request *next;
	struct bsky *b;
	int thread; /* getPostThread, else getAuthorFeed */
	char *what;
	struct buf body;
	CURL *easy;
};

/* Takes a finished request off the in-flight list. */
static void
unlink_request(struct bsky *b, struct request *r)
{
	for (struct request **p = &b->out; *p != NULL; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	b->inflight--;
}

static void
request_free(struct request *r)
{
	buf_free(&r->body);
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	free(r->what);
	free(r);
}

/* curlev callback: maps and ingests one AppView answer. */
static void
on_done(void *arg, CURL *e, CURLcode result)
{
	struct request *r = arg;
	struct bsky *b = r->b;
	struct buf lines = BUF_INIT;
	char err[256] = "", cursor[512];
	size_t skipped = 0;
	long status = 0;
	int rc;

	unlink_request(b, r);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (result == CURLE_OK)
		b->stats->last_byte = (int64_t)time(NULL);
	b->stats->connected = result == CURLE_OK && status == 200;
	if (result != CURLE_OK || status != 200) {
		b->stats->errors++;
		log_warnx("source %s: %s: %s", b->name, r->what,
		    result != CURLE_OK ? curl_easy_strerror(result) : status == 429 ?
		    "HTTP 429 (rate limited): trying again next poll" : "HTTP error");
	} else {
		rc = r->thread ? map_bluesky_thread(r->body.s, r->body.len, &lines, &skipped, err,
		    sizeof err) : map_bluesky_feed(r->body.s, r->body.len, &lines, cursor,
		    sizeof cursor, &skipped, err, sizeof err);
		if (rc < 0) {
			b->stats->errors++;
			log_warnx("source %s: %s: %s", b->name, r->what, err);
		} else {
			if (skipped > 0)
				log_info("source %s: %s: %zu posts skipped: %s", b->name, r->what,
				    skipped, err);
			daemon_ingest_lines(b->d, b->stats, &lines, r->what);
		}
	}
	buf_free(&lines);
	request_free(r);
}

/* Starts one GET of path (already escaped) on the AppView. */
static void
fetch(struct bsky *b, const char *path, int thread, const char *what)
{
	struct request *r = xcalloc(1, sizeof *r);
	char *url = xasprintf("%s%s", b->url, path);

	r->b = b;
	r->thread = thread;
	r->what = xstrdup(what);
	r->easy = curl_easy_init();
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "deflectd/0.1");
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, curlev_collect);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, &r->body);
	free(url);
	if (curlev_add(b->cv, r->easy, on_done, r) != 0) {
		request_free(r);
		return;
	}
	r->next = b->out;
	b->out = r;
	b->inflight++;
}

struct open_threads {
	struct bsky *b;
	char **roots;
	size_t n;
};

/* tracker_foreach callback: the root of every open Bluesky case, once each. */
static void
collect_root(void *arg, const struct tcase *c)
{
	struct open_threads *o = arg;

	if (strcmp(c->platform, "bluesky") != 0)
		return;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->roots[i], c->conversation_id) == 0)
			return;
	o->roots = xreallocarray(o->roots, o->n + 1, sizeof *o->roots);
	o->roots[o->n++] = xstrdup(c->conversation_id);
}

/* One round: every brand account's feed, then every open case's thread. */
static void
poll_once(struct bsky *b)
{
	const struct config *cfg = b->d->cfg;
	struct open_threads o = {b, NULL, 0};
	CURL *esc = curl_easy_init();

	if (b->inflight > 0)
		return; /* the last round is still out: skip rather than pile up */
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct brand_account *a = &cfg->accounts[i];

		if (a->platform == NULL || strcmp(a->platform, "bluesky") != 0)
			continue;
		char *actor = curl_easy_escape(esc, a->account, 0);
		char *path = xasprintf("/xrpc/app.bsky.feed.getAuthorFeed?actor=%s"
		    "&filter=posts_with_replies&limit=50", actor);

		fetch(b, path, 0, a->account);
		free(path);
		curl_free(actor);
	}
	tracker_foreach(pipeline_tracker(b->d->pl), collect_root, &o);
	for (size_t i = 0; i < o.n; i++) {
		char *uri = curl_easy_escape(esc, o.roots[i], 0);
		char *path = xasprintf("/xrpc/app.bsky.feed.getPostThread?uri=%s&depth=20", uri);

		fetch(b, path, 1, o.roots[i]);
		free(path);
		curl_free(uri);
		free(o.roots[i]);
	}
	free(o.roots);
	curl_easy_cleanup(esc);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	poll_once(arg);
}

int
source_bluesky_start_all(struct deflectd *d, char *err, size_t errlen)
{
	for (size_t i = 0; i < d->cfg->nsources; i++) {
		const struct config_section *sec = &d->cfg->sources[i];
		const char *type = config_value(sec, "type"), *url = config_value(sec, "url");
		const char *iv = config_value(sec, "poll_interval");
		struct bsky *b;

		if (type == NULL || strcmp(type, "bluesky") != 0)
			continue;
		b = xcalloc(1, sizeof *b);
		b->d = d;
		b->name = xstrdup(sec->name);
		b->url = xstrdup(url ? url : "https://public.api.bsky.app");
		while (strlen(b->url) > 0 && b->url[strlen(b->url) - 1] == '/')
			b->url[strlen(b->url) - 1] = '\0';
		b->interval = iv ? parse_duration(iv) : 60;
		if (b->interval <= 0) {
			snprintf(err, errlen, "%s:%d: [source %s]: poll_interval must be a duration",
			    d->cfg->path, sec->line, sec->name);
			free(b->name);
			free(b->url);
			free(b);
			return -1;
		}
		char *stat = xasprintf("bluesky:%s", sec->name);
		b->stats = daemon_source(d, stat);
		b->stats->network = 1;
		free(stat);
		b->cv = curlev_new(d->base);
		b->timer = event_new(d->base, -1, EV_PERSIST, on_timer, b);
		struct timeval tv = {(time_t)b->interval, 0};
		event_add(b->timer, &tv);
		d->bsky = xreallocarray(d->bsky, d->nbsky + 1, sizeof *d->bsky);
		d->bsky[d->nbsky++] = b;
		log_info("source %s: polling %s every %llds", b->name, b->url,
		    (long long)b->interval);
		poll_once(b);
	}
	return 0;
}

void
source_bluesky_stop_all(struct deflectd *d)
{
	for (size_t i = 0; i < d->nbsky; i++) {
		struct bsky *b = d->bsky[i];

		event_free(b->timer);
		/* Abandoned: the next start polls again. */
		while (b->out != NULL) {
			struct request *r = b->out;

			b->out = r->next;
			curlev_remove(b->cv, r->easy);
			request_free(r);
		}
		curlev_free(b->cv);
		free(b->name);
		free(b->url);
		free(b);
	}
	free(d->bsky);
	d->bsky = NULL;
	d->nbsky = 0;
}
