/*
 * Server-sent events, parsed as the bytes arrive (WHATWG HTML, "Parsing an
 * event stream" and "Interpreting an event stream").
 *
 * The parser never holds a whole line. A field name is matched as it
 * arrives; a data value goes straight into the event's data buffer, an event,
 * id or retry value into a small value buffer, and comments and unknown
 * fields are not kept at all. So the cap bounds memory however the stream is
 * chunked, and one byte at a time gives the same events as one large chunk.
 *
 * The standard decodes the whole stream as UTF-8 before it splits lines.
 * Line ends, ':' and ' ' are ASCII, and an ASCII byte always ends an invalid
 * sequence, so decoding each value on its own gives the same text; it is done
 * once a value is complete, which keeps chunk boundaries out of the decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "xmalloc.h"

/* A buffer that grew past this after a large event is given back. */
#define SSE_SHRINK (64 * 1024)

enum sse_state {
	SSE_BOM,   /* at the start of the stream, where one BOM is dropped */
	SSE_START, /* at the start of a line */
	SSE_NAME,  /* in a field name */
	SSE_SPACE, /* just after the colon, where one space is dropped */
	SSE_VALUE, /* in a value, or in a line being skipped */
};

enum sse_field { SSE_OTHER, SSE_COMMENT, SSE_EVENT, SSE_DATA, SSE_ID, SSE_RETRY };

struct sse {
	size_t max;
	sse_event_cb *on_event;
	sse_comment_cb *on_comment;
	void *arg;

	/* The line being read. */
	enum sse_state state;
	size_t bom;     /* bytes of a leading BOM matched so far */
	int cr;         /* the last byte was a CR, so an LF now ends no line */
	size_t linelen; /* bytes of the line so far, without its end */
	char name[6];   /* one more than "event" and "retry", so longer names differ */
	size_t namelen;
	enum sse_field field;
	int skip;         /* the line went over the cap: ignore the rest */
	struct buf value; /* an event, id or retry value */

	/* The event being assembled, and what outlives it. */
	struct buf data; /* the data buffer, without the standard's final LF */
	size_t ndata;    /* data lines so far; one empty line still dispatches */
	int dropped;     /* the event went over the cap */
	struct buf type;   /* the event type buffer */
	struct buf idbuf;  /* the last event ID buffer */
	struct buf lastid; /* the last event ID string, set at each blank line */
	struct buf fixed;  /* data with invalid UTF-8 replaced, for one callback */
	int64_t retry;

	struct sse_stats st;
	int ndropped; /* events dropped during the current sse_feed() */
};

static const char sse_bom[] = "\xef\xbb\xbf";

/*
 * Returns the length of the valid UTF-8 sequence at s, or, negated, the
 * length of the maximal invalid prefix that the standard's decoder turns
 * into one U+FFFD (the byte that broke it is read again).
 */
static int
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else
		return -1;
	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi)
			return -(int)i;
		lo = 0x80;
		hi = 0xbf;
	}
	return (int)i;
}

/*
 * Points *s at a valid UTF-8 form of its len bytes: the bytes themselves
 * when they already are, else a repaired copy that scratch owns.
 */
static void
utf8_clean(const char **s, size_t *len, struct buf *scratch)
{
	const unsigned char *p = (const unsigned char *)*s;
	size_t i = 0, run = 0;
	int n = 0;

	while (i < *len && (n = utf8_seq(p + i, *len - i)) > 0)
		i += (size_t)n;
	if (i == *len)
		return;
	buf_reset(scratch);
	/* Valid runs are copied whole, so repair costs little when errors are rare. */
	for (;;) {
		buf_add(scratch, p + run, i - run);
		if (i == *len)
			break;
		buf_add(scratch, "\xef\xbf\xbd", 3);
		i += (size_t)-n;
		run = i;
		while (i < *len && (n = utf8_seq(p + i, *len - i)) > 0)
			i += (size_t)n;
	}
	*s = scratch->s;
	*len = scratch->len;
}

/* Replaces dst with the decoded form of len bytes at src. */
static void
set_clean(struct sse *s, struct buf *dst, const char *src, size_t len)
{
	utf8_clean(&src, &len, &s->fixed);
	buf_reset(dst);
	buf_add(dst, src, len);
}

/* Empties b, giving its memory back when one large event made it grow. */
static void
shrink(struct buf *b)
{
	if (b->cap > SSE_SHRINK)
		buf_free(b);
	else
		buf_reset(b);
}

/* Forgets the pending event, but not the ID and retry that outlive it. */
static void
event_reset(struct sse *s)
{
	shrink(&s->data);
	shrink(&s->fixed);
	buf_reset(&s->type);
	s->ndata = 0;
	s->dropped = 0;
}

/* Drops the pending event's data for good; it is counted once. */
static void
drop_event(struct sse *s)
{
	if (!s->dropped) {
		s->dropped = 1;
		s->st.oversized++;
		s->ndropped++;
	}
	shrink(&s->data);
	s->ndata = 0;
}

/* Readies the parser for the next line. */
static void
line_reset(struct sse *s)
{
	s->state = SSE_START;
	s->linelen = 0;
	s->namelen = 0;
	s->field = SSE_OTHER;
	s->skip = 0;
	shrink(&s->value);
}

/*
 * Counts n more bytes of the line. A line over the cap is skipped to its end
 * and drops its event, so no buffer ever holds more than the cap.
 */
static int
line_grow(struct sse *s, size_t n)
{
	if (s->skip)
		return 1;
	s->linelen += n;
	if (s->linelen > s->max) {
		s->skip = 1;
		s->state = SSE_VALUE;
		drop_event(s);
	}
	return s->skip;
}

/* Adds bytes to the data buffer unless that would take it over the cap. */
static void
data_add(struct sse *s, const char *p, size_t n)
{
	if (s->dropped)
		return;
	if (n > s->max - s->data.len)
		drop_event(s);
	else
		buf_add(&s->data, p, n);
}

/*
 * Called once the field name is complete: a data line adds the LF that
 * joins it to the previous one before its value arrives.
 */
static void
field_begin(struct sse *s)
{
	static const struct {
		const char *name;
		enum sse_field field;
	} names[] = {
	    {"event", SSE_EVENT}, {"data", SSE_DATA}, {"id", SSE_ID}, {"retry", SSE_RETRY}};
	size_t i;

	s->field = SSE_OTHER;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strlen(names[i].name) == s->namelen &&
		    memcmp(names[i].name, s->name, s->namelen) == 0)
			s->field = names[i].field;
	}
	buf_reset(&s->value);
	if (s->field == SSE_DATA && !s->dropped) {
		if (s->ndata > 0)
			data_add(s, "\n", 1);
		if (!s->dropped)
			s->ndata++;
	}
}

/* Takes a retry value made only of ASCII digits; anything else is ignored. */
static void
set_retry(struct sse *s, const char *v, size_t len)
{
	int64_t r = 0;
	size_t i;

	if (len == 0)
		return;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return;
	}
	for (i = 0; i < len; i++) {
		int d = v[i] - '0';

		/* A value past int64_t means "wait forever" as well as any. */
		r = r > (INT64_MAX - d) / 10 ? INT64_MAX : r * 10 + d;
	}
	s->retry = r;
}

/*
 * A blank line: the last event ID string is set even when nothing is
 * dispatched, and an event with no data line is not dispatched.
 */
static void
dispatch(struct sse *s)
{
	const char *data;
	size_t len;

	buf_reset(&s->lastid);
	buf_add(&s->lastid, s->idbuf.s, s->idbuf.len);
	if (!s->dropped && s->ndata > 0) {
		data = s->data.s != NULL ? s->data.s : "";
		len = s->data.len;
		utf8_clean(&data, &len, &s->fixed);
		s->st.events++;
		s->on_event(s->arg, s->type.len > 0 ? s->type.s : "message", data, len,
		    s->lastid.s);
	}
	event_reset(s);
}

/* Interprets a complete line; its value is whole now, so it can be decoded. */
static void
end_line(struct sse *s)
{
	const char *v = s->value.s != NULL ? s->value.s : "";

	if (s->state == SSE_START) {
		dispatch(s);
		return;
	}
	if (s->state == SSE_NAME)
		field_begin(s); /* no colon: the line is a name with an empty value */
	if (!s->skip) {
		switch (s->field) {
		case SSE_COMMENT:
			s->st.comments++;
			if (s->on_comment != NULL)
				s->on_comment(s->arg);
			break;
		case SSE_EVENT:
			set_clean(s, &s->type, v, s->value.len);
			break;
		case SSE_ID:
			/* An id holding a NUL is ignored, as the standard says. */
			if (memchr(v, '\0', s->value.len) == NULL)
				set_clean(s, &s->idbuf, v, s->value.len);
			break;
		case SSE_RETRY:
			set_retry(s, v, s->value.len);
			break;
		case SSE_DATA:
		case SSE_OTHER:
			break;
		}
	}
	line_reset(s);
}

/* Runs the bytes from p to end through the line state machine. */
static void
feed(struct sse *s, const char *p, const char *end)
{
	const char *q;
	unsigned char c;

	while (p < end) {
		c = (unsigned char)*p;
		if (s->state == SSE_BOM) {
			if (c == (unsigned char)sse_bom[s->bom]) {
				p++;
				if (++s->bom == 3)
					s->state = SSE_START;
				continue;
			}
			/* Not a BOM after all: what matched of it is text. */
			s->state = SSE_START;
			feed(s, sse_bom, sse_bom + s->bom);
			continue;
		}
		if (s->cr) {
			s->cr = 0;
			if (c == '\n') {
				p++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			s->cr = c == '\r';
			end_line(s);
			p++;
			continue;
		}
		switch (s->state) {
		case SSE_BOM:
		case SSE_START:
			if (c == ':') {
				p++;
				if (!line_grow(s, 1)) {
					s->field = SSE_COMMENT;
					s->state = SSE_VALUE;
				}
			} else
				s->state = SSE_NAME;
			break;
		case SSE_NAME:
			p++;
			if (line_grow(s, 1))
				break;
			if (c == ':') {
				field_begin(s);
				s->state = SSE_SPACE;
			} else if (s->namelen < sizeof s->name)
				s->name[s->namelen++] = (char)c;
			break;
		case SSE_SPACE:
			s->state = SSE_VALUE;
			if (c == ' ') {
				p++;
				line_grow(s, 1);
			}
			break;
		case SSE_VALUE:
			for (q = p; q < end && *q != '\n' && *q != '\r'; q++)
				;
			if (!line_grow(s, (size_t)(q - p))) {
				if (s->field == SSE_DATA)
					data_add(s, p, (size_t)(q - p));
				else if (s->field == SSE_EVENT || s->field == SSE_ID ||
				    s->field == SSE_RETRY)
					buf_add(&s->value, p, (size_t)(q - p));
			}
			p = q;
			break;
		}
	}
}

/* The parser owns its buffers; the caller keeps arg alive as long as it. */
struct sse *
sse_new(size_t max, sse_event_cb *on_event, sse_comment_cb *on_comment, void *arg)
{
	struct sse *s = xcalloc(1, sizeof *s);

	s->max = max != 0 ? max : SSE_DEFAULT_MAX;
	s->on_event = on_event;
	s->on_comment = on_comment;
	s->arg = arg;
	s->state = SSE_BOM;
	s->retry = -1;
	return s;
}

/* Frees the parser and every buffer it holds. */
void
sse_free(struct sse *s)
{
	if (s == NULL)
		return;
	buf_free(&s->value);
	buf_free(&s->data);
	buf_free(&s->type);
	buf_free(&s->idbuf);
	buf_free(&s->lastid);
	buf_free(&s->fixed);
	free(s);
}

/* Callbacks run from inside this call, in stream order. */
int
sse_feed(struct sse *s, const char *buf, size_t len)
{
	s->ndropped = 0;
	if (len > 0)
		feed(s, buf, buf + len);
	return s->ndropped;
}

/*
 * A new stream starts with empty buffers, the last event ID buffer included
 * (the standard ties them to one stream); the ID string sent on reconnect
 * and the retry time belong to the source and are kept.
 */
void
sse_reset(struct sse *s)
{
	line_reset(s);
	event_reset(s);
	buf_reset(&s->idbuf);
	s->state = SSE_BOM;
	s->bom = 0;
	s->cr = 0;
}

/* Copies the counters, so the caller can diff them between calls. */
void
sse_stats(const struct sse *s, struct sse_stats *st)
{
	*st = s->st;
}

/* The string stays valid until the next feed, reset or free. */
const char *
sse_last_id(const struct sse *s)
{
	return s->lastid.s != NULL ? s->lastid.s : "";
}

/* Milliseconds, as the stream sent them; -1 until it sends a valid one. */
int64_t
sse_retry(const struct sse *s)
{
	return s->retry;
}
