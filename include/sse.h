/*
 * An incremental server-sent events parser (WHATWG HTML, "Parsing an event
 * stream" and "Interpreting an event stream"), fed whatever chunks the
 * network delivers. It does no I/O: events and comments come back through
 * callbacks, and every buffer it fills from the stream is capped.
 */
#ifndef DEFLECTD_SSE_H
#define DEFLECTD_SSE_H

#include <stddef.h>
#include <stdint.h>

#define SSE_DEFAULT_MAX (1024 * 1024)

struct sse;

struct sse_stats {
	uint64_t events;    /* dispatched to on_event */
	uint64_t comments;  /* ':' lines, e.g. Mastodon's ":thump" heartbeats */
	uint64_t oversized; /* events dropped for a line or data over the cap */
};

/*
 * event is the event type ("message" when the stream named none), data holds
 * datalen bytes plus a NUL (it may itself contain NULs), id is the last event
 * ID ("" until the stream sets one). All three are valid UTF-8, with invalid
 * input bytes replaced by U+FFFD as the standard's decoder does, and stay
 * valid only during the call.
 */
typedef void sse_event_cb(void *arg, const char *event, const char *data, size_t datalen,
    const char *id);
/* Called once per comment line, so the caller can re-arm a stall timer. */
typedef void sse_comment_cb(void *arg);

/*
 * max caps a line and an event's data, in bytes (0 means SSE_DEFAULT_MAX).
 * on_comment may be NULL. The callbacks must not feed, reset or free the
 * parser that calls them.
 */
struct sse *sse_new(size_t max, sse_event_cb *on_event, sse_comment_cb *on_comment, void *arg);
void sse_free(struct sse *s);

/*
 * Parses the next len bytes of the stream. Returns how many events this
 * chunk made the parser drop for exceeding the cap (0 normally), so the
 * caller can log it once; parsing always continues with the next event.
 */
int sse_feed(struct sse *s, const char *buf, size_t len);

/*
 * Starts a new stream, as after a reconnect: a partial line and a pending
 * event are discarded. The last event ID string and the retry time survive,
 * because a reconnecting client sends the one and waits the other.
 */
void sse_reset(struct sse *s);

void sse_stats(const struct sse *s, struct sse_stats *st);
/* The last event ID string, to send as Last-Event-ID; "" when none. */
const char *sse_last_id(const struct sse *s);
/* The reconnection time in milliseconds the stream asked for, or -1. */
int64_t sse_retry(const struct sse *s);

#endif
