/*
 * libFuzzer target: the post parser, both its paths (simdjson with jansson
 * behind it, and jansson alone) compared, and the capped reader over the
 * same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Two fields agree when both are absent or both hold the same string. */
static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Parses one line fully on both paths, which must agree, and releases it. */
static void
one_post(struct post_parser *pp, const char *line, size_t len, struct buf *norm)
{
	struct post p, ref;
	char err[256], referr[256];
	int rc = post_parse(pp, line, len, &p, err, sizeof err);

	if (post_parse(NULL, line, len, &ref, referr, sizeof referr) != rc)
		abort();
	if (rc != 0) {
		if (p.mem != NULL || strcmp(err, referr) != 0)
			abort();
		return;
	}
	if (!same(p.id, ref.id) || !same(p.platform, ref.platform) ||
	    !same(p.conversation_id, ref.conversation_id) ||
	    !same(p.in_reply_to_id, ref.in_reply_to_id) || !same(p.author, ref.author) ||
	    !same(p.brand, ref.brand) || !same(p.url, ref.url) || !same(p.lang, ref.lang) ||
	    p.text_len != ref.text_len || memcmp(p.text, ref.text, p.text_len) != 0 ||
	    p.author_is_brand != ref.author_is_brand || p.created_at != ref.created_at)
		abort();
	post_release(&ref);
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
	static struct post_parser *pp; /* kept across inputs, as a reading loop keeps it */
	struct buf norm = BUF_INIT;
	struct reader *r;
	const char *line;
	size_t len, max, last = 0;
	enum reader_status st;
	FILE *f;

	if (pp == NULL)
		pp = post_parser_new();
	one_post(pp, (const char *)data, size, &norm);
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
			one_post(pp, line, len, &norm);
		}
		reader_free(r);
		fclose(f);
	}
	buf_free(&norm);
	return 0;
}
