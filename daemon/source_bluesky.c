/*
 * The Bluesky source: polls the public AppView for each brand account's
 * author feed (to find deflections) and for the thread of every open
 * Bluesky case (to see what follows), through libcurl multi on the loop.
 *
 * A feed is read newest first and its cursor pages back in time. Each
 * account keeps, in the state database, the newest post time it has read
 * up to ("seen"); when the newest page does not reach back to it (more
 * posts came since than a page holds: a long poll interval, a restart), the
 * source follows the cursor back until it does, saving the cursor and the
 * round's newest time with each page, so a restart mid-way resumes there.
 * Posts seen again are refused by the state database. The page's time span
 * comes back from the mapping (map.h): the posts are parsed once, by the
 * ingest; the daemon is reached only through the ingest handle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include <jansson.h>

#include "buf.h"
#include "curlev.h"
#include "source.h"
#include "log.h"
#include "map.h"
#include "map_bluesky.h"
#include "post.h"
#include "source_bluesky.h"
#include "xmalloc.h"

/* Pages one catch-up may follow back before it settles for what it read. */
#define MAX_PAGES 20

/* Where an account's feed has been read to; persisted as JSON. */
struct feed {
	char *account;
	char *posname;
	int64_t seen;    /* newest post time read up to; 0 before the first page */
	int64_t high;    /* during a catch-up: the newest time of the round */
	char cursor[512]; /* during a catch-up: the next page back; "" otherwise */
	int pages;       /* pages followed back in this catch-up */
};

struct bsky {
	struct ingest *in;
	char *name;
	char *url;
	int64_t interval;
	struct feed *feeds;
	size_t nfeeds;
	struct source_stats *stats;
	struct curlev *cv;
	struct event *timer;
	struct curlev_req *out; /* requests in flight, freed with the source */
};

struct request {
	struct curlev_req req; /* first: on b->out */
	struct bsky *b;
	struct feed *feed; /* getAuthorFeed for this account; NULL for getPostThread */
	char *what;
};

/* Frees a request that is no longer in flight. */
static void
request_free(struct request *r)
{
	curlev_req_clear(&r->req);
	free(r->what);
	free(r);
}

static void fetch_feed(struct bsky *b, struct feed *f);

/*
 * The oldest and newest post times of a page (what the mapping told back);
 * 0 and 0 when there are none. createdAt is the client's clock, so a time
 * ahead of ours counts as now: a post from the future must not put every
 * later one behind "seen".
 */
static void
page_span(const struct map_span *span, int64_t *oldest, int64_t *newest)
{
	int64_t now = (int64_t)time(NULL);

	*oldest = *newest = 0;
	if (span->posts == 0)
		return;
	*oldest = span->oldest < now ? span->oldest : now;
	*newest = span->newest < now ? span->newest : now;
}

/* The feed's position as stored. */
static char *
feed_position(const struct feed *f)
{
	json_t *o = json_pack("{sIsIss}", "seen", (json_int_t)f->seen, "high",
	    (json_int_t)f->high, "cursor", f->cursor);
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

/* Reads a stored position back; a damaged one starts the account afresh. */
static void
feed_restore(struct bsky *b, struct feed *f)
{
	char *v = ingest_position(b->in, f->posname);
	json_t *o, *seen, *high, *cur;

	if (v == NULL)
		return;
	o = json_loads(v, 0, NULL);
	seen = json_object_get(o, "seen");
	high = json_object_get(o, "high");
	cur = json_object_get(o, "cursor");
	if (json_is_integer(seen) && json_is_integer(high) && json_is_string(cur) &&
	    json_string_length(cur) < sizeof f->cursor) {
		f->seen = json_integer_value(seen);
		f->high = json_integer_value(high);
		snprintf(f->cursor, sizeof f->cursor, "%s", json_string_value(cur));
	} else {
		log_warnx("source %s: %s: saved position \"%s\" is damaged; reading from "
		    "the newest page", b->name, f->account, v);
	}
	json_decref(o);
	free(v);
}

/* Closes the account's catch-up round: what it read up to becomes "seen". */
static void
end_round(struct feed *f)
{
	f->seen = f->high > f->seen ? f->high : f->seen;
	f->high = 0;
	f->cursor[0] = '\0';
	f->pages = 0;
}

/* Stores lines with the position next in one transaction; next is f's once durable. */
static int
store_page(struct bsky *b, struct feed *f, const struct buf *lines, const struct feed *next)
{
	char *pos = feed_position(next);
	int rc = ingest_lines(b->in, lines, f->account, f->posname, pos);

	if (rc == 0)
		*f = *next;
	free(pos);
	return rc;
}

/*
 * Takes one page of an account's feed in, with the position it leads to in
 * the same transaction, and follows the cursor back while the page does not
 * yet reach what an earlier round read.
 */
static void
feed_page(struct bsky *b, struct feed *f, const struct buf *lines, const struct map_span *span,
    const char *cursor)
{
	int64_t oldest, newest;
	struct feed next = *f;
	int more;

	page_span(span, &oldest, &newest);
	if (f->cursor[0] == '\0') /* the newest page opens a round */
		next.high = newest > f->seen ? newest : f->seen;
	next.pages = f->pages + 1;
	/*
	 * A first start takes the newest page only: history is not a backlog.
	 * A page reaching back only to the second of "seen" may have more of
	 * that second behind it, so that one more page is read; so is the page
	 * after one with no post of the brand's own (all reposts).
	 */
	int behind = f->seen != 0 && (lines->len == 0 || oldest >= f->seen) &&
	    cursor[0] != '\0';

	more = behind && next.pages < MAX_PAGES;
	if (more) {
		snprintf(next.cursor, sizeof next.cursor, "%s", cursor);
	} else {
		if (behind)
			log_warnx("source %s: %s: stopped catching up after %d pages; posts "
			    "older than %lld may be missed", b->name, f->account, next.pages,
			    (long long)oldest);
		end_round(&next);
	}
	if (store_page(b, f, lines, &next) == 0 && more)
		fetch_feed(b, f);
}

/* curlev callback: maps and ingests one AppView answer. */
static void
on_done(void *arg, CURL *e, CURLcode result)
{
	struct request *r = arg;
	struct bsky *b = r->b;
	struct buf lines = BUF_INIT;
	struct map_span span = {0};
	char err[256] = "", cursor[512] = "";
	size_t skipped = 0;
	long status = 0;
	int rc;

	curlev_req_unlink(&b->out, &r->req);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (result == CURLE_OK)
		b->stats->last_byte = (int64_t)time(NULL);
	b->stats->connected = result == CURLE_OK && status == 200;
	if (result == CURLE_OK && status == 400 && r->feed != NULL && r->feed->cursor[0] != '\0') {
		/* A saved cursor the AppView no longer takes: give that gap up. */
		struct feed next = *r->feed;
		struct buf none = BUF_INIT;

		b->stats->errors++;
		log_warnx("source %s: %s: cursor refused (HTTP 400); the rest of that gap is lost",
		    b->name, r->what);
		end_round(&next);
		store_page(b, r->feed, &none, &next);
	} else if (result != CURLE_OK || status != 200) {
		b->stats->errors++;
		log_warnx("source %s: %s: %s", b->name, r->what,
		    result != CURLE_OK ? curl_easy_strerror(result) : status == 429 ?
		    "HTTP 429 (rate limited): trying again next poll" : "HTTP error");
	} else {
		const struct buf *body = &r->req.body;

		rc = r->feed == NULL ? map_bluesky_thread(body->s, body->len, &lines, &skipped, err,
		    sizeof err) : map_bluesky_feed_span(body->s, body->len, &lines, cursor,
		    sizeof cursor, &skipped, &span, err, sizeof err);
		if (rc < 0) {
			b->stats->errors++;
			log_warnx("source %s: %s: %s", b->name, r->what, err);
		} else {
			if (skipped > 0)
				log_warning("source %s: %s: %zu posts skipped: %s", b->name, r->what,
				    skipped, err);
			if (r->feed != NULL)
				feed_page(b, r->feed, &lines, &span, cursor);
			else
				ingest_lines(b->in, &lines, r->what, NULL, NULL);
		}
	}
	buf_free(&lines);
	request_free(r);
}

/* Starts one GET of path (already escaped) on the AppView. */
static void
fetch(struct bsky *b, const char *path, struct feed *feed, const char *what)
{
	struct request *r = xcalloc(1, sizeof *r);
	char *url = xasprintf("%s%s", b->url, path);

	r->b = b;
	r->feed = feed;
	r->what = xstrdup(what);
	curlev_req_init(&r->req, url, NULL);
	curl_easy_setopt(r->req.easy, CURLOPT_USERAGENT, "deflectd/0.1");
	free(url);
	if (curlev_req_start(b->cv, &b->out, &r->req, on_done, r) != 0)
		request_free(r);
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

/* Asks for the account's next page: the newest, or the one a catch-up is at. */
static void
fetch_feed(struct bsky *b, struct feed *f)
{
	CURL *esc = curl_easy_init();
	char *actor = curl_easy_escape(esc, f->account, 0);
	char *cur = f->cursor[0] ? curl_easy_escape(esc, f->cursor, 0) : NULL;
	char *path = xasprintf("/xrpc/app.bsky.feed.getAuthorFeed?actor=%s"
	    "&filter=posts_with_replies&limit=50%s%s", actor, cur ? "&cursor=" : "",
	    cur ? cur : "");

	fetch(b, path, f, f->account);
	free(path);
	curl_free(cur);
	curl_free(actor);
	curl_easy_cleanup(esc);
}

/* Is a request for this feed (or, with feed NULL, this thread) still out? */
static int
out_already(const struct bsky *b, const struct feed *feed, const char *root)
{
	for (const struct curlev_req *q = b->out; q != NULL; q = q->next) {
		const struct request *r = (const struct request *)q;

		if (feed != NULL ? r->feed == feed :
		    r->feed == NULL && root != NULL && strcmp(r->what, root) == 0)
			return 1;
	}
	return 0;
}

/*
 * One round: every brand account's feed, then every open case's thread.
 * What is still out from the last round is not asked again, so a slow
 * answer neither piles requests up nor holds the others back.
 */
static void
poll_once(struct bsky *b)
{
	struct open_threads o = {b, NULL, 0};
	CURL *esc = curl_easy_init();

	for (size_t i = 0; i < b->nfeeds; i++)
		if (!out_already(b, &b->feeds[i], NULL))
			fetch_feed(b, &b->feeds[i]);
	ingest_foreach_case(b->in, collect_root, &o);
	for (size_t i = 0; i < o.n; i++) {
		char *uri = curl_easy_escape(esc, o.roots[i], 0);
		char *path = xasprintf("/xrpc/app.bsky.feed.getPostThread?uri=%s&depth=20", uri);

		if (!out_already(b, NULL, o.roots[i]))
			fetch(b, path, NULL, o.roots[i]);
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

void *
source_bluesky_start(const struct config_section *sec, struct ingest *in, char *err,
    size_t errlen)
{
	const struct config *cfg = ingest_config(in);
	const char *url = config_value(sec, "url"), *iv = config_value(sec, "poll_interval");
	struct bsky *b;

	(void)err; /* config.c has checked the keys: nothing left to refuse */
	(void)errlen;
	b = xcalloc(1, sizeof *b);
	b->in = in;
	b->name = xstrdup(sec->name);
	b->url = xstrdup(url ? url : "https://public.api.bsky.app");
	curlev_trim_slashes(b->url);
	b->interval = iv ? parse_duration(iv) : 60; /* config.c checked it */
	b->stats = ingest_stats(in);
	b->stats->network = 1;
	for (size_t k = 0; k < cfg->naccounts; k++) {
		const struct brand_account *a = &cfg->accounts[k];
		struct feed *f;

		if (a->platform == NULL || strcmp(a->platform, "bluesky") != 0)
			continue;
		b->feeds = xreallocarray(b->feeds, b->nfeeds + 1, sizeof *b->feeds);
		f = &b->feeds[b->nfeeds++];
		memset(f, 0, sizeof *f);
		f->account = xstrdup(a->account);
		f->posname = xasprintf("bluesky:%s/%s", sec->name, a->account);
		feed_restore(b, f);
	}
	b->cv = curlev_new(ingest_base(in));
	b->timer = event_new(ingest_base(in), -1, EV_PERSIST, on_timer, b);
	struct timeval tv = {(time_t)b->interval, 0};
	event_add(b->timer, &tv);
	log_info("source %s: polling %s every %llds", b->name, b->url, (long long)b->interval);
	poll_once(b);
	return b;
}

void
source_bluesky_stop(void *src)
{
	struct bsky *b = src;
	struct curlev_req *q;

	event_free(b->timer);
	/* Abandoned: the next start polls again. */
	while ((q = curlev_req_abandon(b->cv, &b->out)) != NULL)
		request_free((struct request *)q);
	curlev_free(b->cv);
	for (size_t k = 0; k < b->nfeeds; k++) {
		free(b->feeds[k].account);
		free(b->feeds[k].posname);
	}
	free(b->feeds);
	free(b->name);
	free(b->url);
	free(b);
}
