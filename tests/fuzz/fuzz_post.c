/* libFuzzer target: the post parser, and the capped reader over the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "normalize.h"
#include "post.h"
#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed time must survive formatting whenever the year fits four digits. */
static void
check_time(int64_t t)
{
	char out[32];
	int64_t back;

	rfc3339_format(t, out, sizeof out);
	if (t >= -62167219200LL && t <= 253402300799LL) {
		if (rfc3339_parse(out, &back) != 0 || back != t)
			abort();
	}
}

/* Parses one line fully and releases it, as the daemon does. */
static void
one_post(const char *line, size_t len, struct buf *norm)
{
	struct post p;
	char err[256];

	if (post_parse(line, len, &p, err, sizeof err) != 0) {
		if (p.json != NULL)
			abort();
		return;
	}
	if (p.id == NULL || p.author == NULL || p.text == NULL || p.platform == NULL ||
	    p.conversation_id == NULL)
		abort();
	normalize(p.text, p.text_len, norm);
	check_time(p.created_at);
	post_release(&p);
}

/*
 * The first byte picks the reader's cap (0-63) so that the fuzzer reaches
 * both sides of the boundary; the whole input is still the stream.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf norm = BUF_INIT;
	struct reader *r;
	const char *line;
	size_t len, max, last = 0;
	enum reader_status st;
	FILE *f;

	one_post((const char *)data, size, &norm);
	/* The cap comes from data[0], so an empty input has no stream to read. */
	if (size > 0 && (f = fmemopen((void *)data, size, "r")) != NULL) {
		max = data[0] % 64;
		r = reader_new(f, max);
		while ((st = reader_next(r, &line, &len)) != READER_EOF && st != READER_IO) {
			if (reader_lineno(r) != last + 1)
				abort();
			last = reader_lineno(r);
			if (st != READER_LINE)
				continue;
			if (len > max || line[len] != '\0')
				abort();
			one_post(line, len, &norm);
		}
		reader_free(r);
		fclose(f);
	}
	buf_free(&norm);
	return 0;
}
