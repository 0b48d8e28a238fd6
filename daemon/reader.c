/*
 * Capped line reader. Holds at most max_line bytes of one line: a longer
 * line is skipped as it streams past, never buffered whole.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"
#include "xmalloc.h"

#define READ_CHUNK 65536

struct reader {
	FILE *f;
	size_t max;
	char *buf; /* max + READ_CHUNK + 1 bytes */
	size_t cap;
	size_t start, end; /* unread bytes are buf[start..end) */
	size_t lineno;
	int eof;
	int err;
};

/* The buffer is sized once here; reading never allocates again. */
struct reader *
reader_new(FILE *f, size_t max_line)
{
	struct reader *r = xcalloc(1, sizeof *r);

	/* A cap near SIZE_MAX would wrap the buffer size; no line gets that long. */
	if (max_line > SIZE_MAX / 2)
		max_line = SIZE_MAX / 2;
	r->f = f;
	r->max = max_line;
	r->cap = max_line + READ_CHUNK + 2;
	r->buf = xmalloc(r->cap);
	return r;
}

/* Leaves the stream open: the caller owns it. */
void
reader_free(struct reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

/* Counts skipped lines too, so a caller's FILE:LINE matches the file. */
size_t
reader_lineno(const struct reader *r)
{
	return r->lineno;
}

/* Moves unread bytes to the front and reads more; returns bytes added. */
static size_t
fill(struct reader *r)
{
	size_t n;

	if (r->eof || r->err)
		return 0;
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	errno = 0; /* so that a stale errno is not blamed on this read */
	n = fread(r->buf + r->end, 1, r->cap - 1 - r->end, r->f);
	r->end += n;
	if (n == 0) {
		if (ferror(r->f))
			r->err = errno ? errno : EIO;
		else
			r->eof = 1;
	}
	return n;
}

/*
 * Searches only bytes not searched before, so a line split over many reads
 * costs one pass; the returned line is NUL-terminated in place.
 */
enum reader_status
reader_next(struct reader *r, const char **line, size_t *len)
{
	size_t scanned = 0;

	for (;;) {
		char *s = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = memchr(s + scanned, '\n', avail - scanned);

		if (nl != NULL) {
			size_t n = (size_t)(nl - s);

			r->start += n + 1;
			r->lineno++;
			if (n > 0 && s[n - 1] == '\r')
				n--;
			if (n > r->max)
				return READER_TOO_LONG;
			s[n] = '\0';
			*line = s;
			*len = n;
			return READER_LINE;
		}
		scanned = avail;
		/* One byte of slack for a "\r" before the newline. */
		if (avail > r->max + 1) {
			r->lineno++;
			r->start = r->end = 0;
			for (;;) {
				if (fill(r) == 0) {
					errno = r->err;
					return r->err ? READER_IO : READER_TOO_LONG;
				}
				nl = memchr(r->buf, '\n', r->end);
				if (nl != NULL) {
					r->start = (size_t)(nl - r->buf) + 1;
					return READER_TOO_LONG;
				}
				r->end = 0;
			}
		}
		if (fill(r) > 0)
			continue;
		if (r->err) {
			errno = r->err;
			return READER_IO;
		}
		if (avail == 0)
			return READER_EOF;
		/* A last line without a newline; fill() may have moved it. */
		s = r->buf + r->start;
		r->start = r->end;
		r->lineno++;
		if (s[avail - 1] == '\r')
			avail--;
		if (avail > r->max)
			return READER_TOO_LONG;
		s[avail] = '\0';
		*line = s;
		*len = avail;
		return READER_LINE;
	}
}
