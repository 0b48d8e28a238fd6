/* libFuzzer target: the X API v2 mapper, with every line it makes read back by post_parse(). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "map_x.h"
#include "post.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Checks what a successful call promises: n lines, each a post that
 * post_parse() accepts, on the twitter platform, with a numeric id and a
 * time in the normalized form.
 */
static void
check_lines(const struct buf *out, int n)
{
	const char *s = out->s, *nl;
	struct post p;
	char err[256], when[32];
	int seen = 0;

	if (n == 0) {
		if (out->len != 0)
			abort();
		return;
	}
	if (out->len == 0 || out->s[out->len - 1] != '\n' || strlen(out->s) != out->len)
		abort();
	for (; (size_t)(s - out->s) < out->len; s = nl + 1, seen++) {
		nl = memchr(s, '\n', out->len - (size_t)(s - out->s));
		if (nl == NULL || post_parse(NULL, s, (size_t)(nl - s), &p, err, sizeof err) != 0)
			abort();
		if (strcmp(p.platform, "twitter") != 0 || p.id[strspn(p.id, "0123456789")] != '\0' ||
		    strlen(p.id) > 32 || p.url == NULL || strncmp(p.url, "https://x.com/", 14) != 0)
			abort();
		rfc3339_format(p.created_at, when, sizeof when);
		if (memmem(s, (size_t)(nl - s), when, strlen(when)) == NULL)
			abort();
		post_release(&p);
	}
	if (seen != n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	char err[128];
	size_t skipped;
	int n;

	memset(err, 'x', sizeof err);
	n = map_x((const char *)data, size, &out, &skipped, err, sizeof err);
	if (memchr(err, '\0', sizeof err) == NULL)
		abort();
	if (n < -2 || (n < 0 && (out.len != 0 || skipped != 0 || err[0] == '\0')) ||
	    (skipped > 0 && err[0] == '\0'))
		abort();
	if (n >= 0)
		check_lines(&out, n);

	/* The same document without room for a reason or a count must give the same answer. */
	buf_reset(&out);
	if (map_x((const char *)data, size, &out, NULL, NULL, 0) != n)
		abort();
	buf_free(&out);
	return 0;
}
