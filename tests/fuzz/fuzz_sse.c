/*
 * libFuzzer target: the SSE parser. The first three bytes pick the cap and
 * two cut points; the rest is the stream, fed whole to one parser and in up
 * to three chunks to another. Both must report exactly the same, and every
 * event must respect the cap and be valid UTF-8.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct buf log;
	size_t max;
};

/* Checks UTF-8 by decoding code points, independently of the parser's way. */
static int
valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Logs the event after checking what sse.h promises about it. */
static void
on_event(void *arg, const char *event, const char *data, size_t datalen, const char *id)
{
	struct run *r = arg;

	/* At most max input bytes, each of which may become a 3-byte U+FFFD. */
	if (datalen > 3 * r->max || data[datalen] != '\0')
		abort();
	if (!valid_utf8((const unsigned char *)data, datalen) ||
	    !valid_utf8((const unsigned char *)event, strlen(event)) ||
	    !valid_utf8((const unsigned char *)id, strlen(id)))
		abort();
	buf_printf(&r->log, "E%s|%s|%zu:", event, id, datalen);
	buf_add(&r->log, data, datalen);
}

/* Logs a comment. */
static void
on_comment(void *arg)
{
	struct run *r = arg;

	buf_addc(&r->log, 'C');
}

/* Adds the parser's counters and stream state to the log, to compare them too. */
static void
finish(struct sse *s, struct run *r)
{
	struct sse_stats st;

	sse_stats(s, &st);
	buf_printf(&r->log, "|%llu %llu %llu %lld %s", (unsigned long long)st.events,
	    (unsigned long long)st.comments, (unsigned long long)st.oversized,
	    (long long)sse_retry(s), sse_last_id(s));
}

/* Are the two logs the same bytes, up to n of the first? */
static int
same(const struct buf *a, size_t n, const struct buf *b)
{
	return n == b->len && (n == 0 || memcmp(a->s, b->s, n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = {BUF_INIT, 0}, cut = {BUF_INIT, 0};
	struct sse *a, *b;
	const char *in;
	size_t len, max, c1, c2, evlen;
	int dropped;

	if (size < 3)
		return 0;
	/* Small caps reach the boundaries; 0 and 0xff try the default. */
	max = data[0] == 0xff ? 0 : (size_t)data[0] % 96;
	in = (const char *)data + 3;
	len = size - 3;
	c1 = data[1] * len / 255;
	c2 = c1 + data[2] * (len - c1) / 255;

	whole.max = cut.max = max != 0 ? max : SSE_DEFAULT_MAX;
	buf_adds(&whole.log, "");
	buf_adds(&cut.log, "");
	a = sse_new(max, on_event, on_comment, &whole);
	b = sse_new(max, on_event, on_comment, &cut);
	dropped = sse_feed(a, in, len);
	dropped -= sse_feed(b, in, c1);
	dropped -= sse_feed(b, in + c1, c2 - c1);
	dropped -= sse_feed(b, in + c2, len - c2);
	if (dropped != 0)
		abort();
	evlen = whole.log.len;
	finish(a, &whole);
	finish(b, &cut);
	if (!same(&whole.log, whole.log.len, &cut.log))
		abort();

	/* After a reset, the same stream gives the same events again. */
	buf_reset(&cut.log);
	sse_reset(b);
	sse_feed(b, in, len);
	if (!same(&whole.log, evlen, &cut.log))
		abort();

	sse_free(a);
	sse_free(b);
	buf_free(&whole.log);
	buf_free(&cut.log);
	return 0;
}
