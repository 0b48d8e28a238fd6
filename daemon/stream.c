/*
 * A network source's long-lived HTTP stream: the transfer, the stall and
 * retry timers and line framing, shared by the X and Mastodon sources. The
 * stream owns its transfer and timers; the platform owns what the bytes
 * mean and its backoff (stream.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "stream.h"
#include "xmalloc.h"

struct stream {
	struct curlev *cv;
	char *name;
	struct source_stats *stats;
	int64_t stall;
	const struct stream_ops *ops;
	void *arg;
	CURL *live;
	struct curl_slist *headers;
	struct event *idle, *retry;
	struct buf line; /* the unfinished line */
	int skipping;    /* inside a line over the cap */
};

/* Re-arms the stall timer: any byte, heartbeat or event, proves the stream alive. */
static void
alive(struct stream *s)
{
	struct timeval tv = {(time_t)s->stall, 0};

	event_add(s->idle, &tv);
}

/* Nothing came for stall seconds: cut, and let the platform schedule the next try. */
static void
on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;

	(void)fd;
	(void)what;
	s->stats->stalls++;
	log_warnx("source %s: no byte for %llds: stream stalled", s->name, (long long)s->stall);
	stream_drop(s);
	if (s->ops->stalled != NULL)
		s->ops->stalled(s->arg);
}

/* The backoff delay is over. */
static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;

	(void)fd;
	(void)what;
	if (s->ops->retry != NULL)
		s->ops->retry(s->arg);
}

struct stream *
stream_new(struct event_base *base, struct curlev *cv, const char *name,
    struct source_stats *stats, int64_t stall, const struct stream_ops *ops, void *arg)
{
	struct stream *s = xcalloc(1, sizeof *s);

	s->cv = cv;
	s->name = xstrdup(name);
	s->stats = stats;
	s->stall = stall;
	s->ops = ops;
	s->arg = arg;
	s->idle = evtimer_new(base, on_idle, s);
	s->retry = evtimer_new(base, on_retry, s);
	return s;
}

void
stream_free(struct stream *s)
{
	if (s == NULL)
		return;
	stream_drop(s);
	event_free(s->idle);
	event_free(s->retry);
	buf_free(&s->line);
	free(s->name);
	free(s);
}

void
stream_drop(struct stream *s)
{
	if (s->live != NULL) {
		curlev_remove(s->cv, s->live);
		curl_easy_cleanup(s->live);
		s->live = NULL;
	}
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	buf_reset(&s->line);
	s->skipping = 0;
	event_del(s->idle);
}

/* Header lines: only the blank one that ends them matters, for ops->headers. */
static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	long status = 0;

	if (size * n > 2 || (size * n > 0 && data[0] != '\r' && data[0] != '\n'))
		return size * n;
	curl_easy_getinfo(s->live, CURLINFO_RESPONSE_CODE, &status);
	if (s->ops->headers != NULL)
		s->ops->headers(s->arg, status);
	return size * n;
}

/* Bytes of the stream: they prove it alive; a 200's go to the platform. */
static size_t
on_bytes(char *data, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	long status = 0;

	alive(s);
	s->stats->last_byte = (int64_t)time(NULL);
	curl_easy_getinfo(s->live, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return size * n; /* an error body: the status decides, in ops->ended */
	if (s->ops->bytes != NULL)
		s->ops->bytes(s->arg, data, size * n);
	return size * n;
}

/* The transfer ended (the server closed it, or an error). */
static void
on_done(void *arg, CURL *e, CURLcode result)
{
	struct stream *s = arg;
	long status = 0;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	s->live = NULL;
	stream_drop(s);
	if (s->ops->ended != NULL)
		s->ops->ended(s->arg, result, status);
}

int
stream_connect(struct stream *s, const char *url, const char *token)
{
	stream_drop(s);
	s->live = curl_easy_init();
	s->headers = curlev_bearer(NULL, token);
	curl_easy_setopt(s->live, CURLOPT_URL, url);
	curl_easy_setopt(s->live, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->live, CURLOPT_USERAGENT, "deflectd/0.1");
	curl_easy_setopt(s->live, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->live, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->live, CURLOPT_CONNECTTIMEOUT, (long)s->stall);
	curl_easy_setopt(s->live, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->live, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->live, CURLOPT_WRITEFUNCTION, on_bytes);
	curl_easy_setopt(s->live, CURLOPT_WRITEDATA, s);
	if (curlev_add(s->cv, s->live, on_done, s) != 0) {
		curl_easy_cleanup(s->live);
		s->live = NULL;
		return -1;
	}
	alive(s);
	return 0;
}

void
stream_retry_in(struct stream *s, double ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((long)ms % 1000 * 1000)};

	evtimer_add(s->retry, &tv);
}

void
stream_lines(struct stream *s, const char *data, size_t len, size_t max)
{
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t k = nl ? (size_t)(nl - (data + i)) : len - i;

		if (!s->skipping) {
			if (s->line.len + k > max) {
				s->stats->bad++;
				log_warning("source %s: stream line over %zu bytes skipped", s->name, max);
				s->skipping = 1;
				buf_reset(&s->line);
			} else {
				buf_add(&s->line, data + i, k);
			}
		}
		if (nl == NULL)
			break;
		/* The line is handed over whole; a drop from inside ops->line is safe after. */
		if (!s->skipping && s->ops->line != NULL)
			s->ops->line(s->arg, s->line.s ? s->line.s : "", s->line.len);
		s->skipping = 0;
		buf_reset(&s->line);
		i += k + 1;
	}
}
