/*
 * One long-lived HTTP stream of a network source (X's filtered stream,
 * Mastodon's streaming API): the transfer on curlev, the stall timer that
 * any byte re-arms, the retry timer, and capped line framing. The platform
 * keeps what differs: what a byte means, how long to back off, what to log
 * when the stream ends.
 */
#ifndef DEFLECTD_STREAM_H
#define DEFLECTD_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "curlev.h"
#include "source.h"

/* The platform's side; arg is the one given to stream_new(). NULL members are skipped. */
struct stream_ops {
	/* The headers ended with this status (the stream is up when it is 200). */
	void (*headers)(void *arg, long status);
	/* Bytes of a stream that answered 200 (an error body is left to ended). */
	void (*bytes)(void *arg, const char *data, size_t len);
	/* One complete line from stream_lines(), without its newline. */
	void (*line)(void *arg, const char *s, size_t len);
	/* The transfer ended; the stream is dropped already. */
	void (*ended)(void *arg, CURLcode result, long status);
	/* No byte for stall seconds; the stream is dropped already. */
	void (*stalled)(void *arg);
	/* The delay given to stream_retry_in() is over. */
	void (*retry)(void *arg);
};

struct stream;

/*
 * A stream for the source called name (for messages), counting into stats;
 * stall is the seconds without a byte after which it is cut (and the
 * connect timeout). Nothing is connected yet.
 */
struct stream *stream_new(struct event_base *base, struct curlev *cv, const char *name,
    struct source_stats *stats, int64_t stall, const struct stream_ops *ops, void *arg);
/* Drops the transfer and frees the timers; NULL is accepted. */
void stream_free(struct stream *s);
/*
 * (Re)connects to url with the bearer token. -1 when libcurl refused the
 * transfer (nothing runs then: the caller schedules a retry).
 */
int stream_connect(struct stream *s, const char *url, const char *token);
/* Drops the transfer, if any, and the unfinished line; the stall timer stops. */
void stream_drop(struct stream *s);
/* Arms the retry timer: ops->retry runs after ms milliseconds. */
void stream_retry_in(struct stream *s, double ms);
/*
 * Splits bytes into lines capped at max bytes for ops->line; a longer line
 * is counted bad, logged and skipped as it streams past.
 */
void stream_lines(struct stream *s, const char *data, size_t len, size_t max);

#endif
