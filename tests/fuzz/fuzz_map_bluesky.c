/* libFuzzer target: both Bluesky mappers on the same bytes, with every line read back by post_parse(). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "map_bluesky.h"
#include "post.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Checks what a successful call promises: n lines, each a post that
 * post_parse() accepts, on the bluesky platform, with an at:// id, a time in
 * the normalized form, and no id twice.
 */
static void
check_lines(const struct buf *out, int n)
{
	const char *s = out->s, *nl;
	struct post p;
	json_t *ids = json_object();
	char err[256], when[32];
	int seen = 0;

	if (n == 0 && out->len != 0)
		abort();
	if (n > 0 && (out->s[out->len - 1] != '\n' || strlen(out->s) != out->len))
		abort();
	for (; (size_t)(s - out->s) < out->len; s = nl + 1, seen++) {
		nl = memchr(s, '\n', out->len - (size_t)(s - out->s));
		if (nl == NULL || post_parse(NULL, s, (size_t)(nl - s), &p, err, sizeof err) != 0)
			abort();
		if (strcmp(p.platform, "bluesky") != 0 || strncmp(p.id, "at://", 5) != 0 ||
		    strncmp(p.conversation_id, "at://", 5) != 0 ||
		    (p.in_reply_to_id != NULL && strncmp(p.in_reply_to_id, "at://", 5) != 0) ||
		    p.url == NULL || strncmp(p.url, "https://bsky.app/profile/", 25) != 0)
			abort();
		if (json_object_get(ids, p.id) != NULL)
			abort();
		json_object_set_new(ids, p.id, json_true());
		rfc3339_format(p.created_at, when, sizeof when);
		if (memmem(s, (size_t)(nl - s), when, strlen(when)) == NULL)
			abort();
		post_release(&p);
	}
	if (seen != n)
		abort();
	json_decref(ids);
}

/* Checks the promises every call keeps, whatever it returns. */
static void
check_result(int n, const struct buf *out, size_t skipped, const char *err, size_t errlen)
{
	if (memchr(err, '\0', errlen) == NULL)
		abort();
	if (n < -2 || (n < 0 && (out->len != 0 || skipped != 0 || err[0] == '\0')) ||
	    (skipped > 0 && err[0] == '\0'))
		abort();
	if (n >= 0)
		check_lines(out, n);
}

/* The cursor buffer is small on purpose, so that the too-long path is reached too. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	char err[128], cursor[16];
	size_t skipped;
	int n;

	memset(err, 'x', sizeof err);
	memset(cursor, 'x', sizeof cursor);
	n = map_bluesky_feed((const char *)data, size, &out, cursor, sizeof cursor, &skipped, err,
	    sizeof err);
	check_result(n, &out, skipped, err, sizeof err);
	if (memchr(cursor, '\0', sizeof cursor) == NULL || (n < 0 && cursor[0] != '\0'))
		abort();
	/* Without a cursor buffer, only a cursor too long for one can change the answer. */
	buf_reset(&out);
	if (map_bluesky_feed((const char *)data, size, &out, NULL, 0, NULL, NULL, 0) != n &&
	    !(n == -1 && strstr(err, "field \"cursor\" is longer than") != NULL))
		abort();

	buf_reset(&out);
	memset(err, 'x', sizeof err);
	n = map_bluesky_thread((const char *)data, size, &out, &skipped, err, sizeof err);
	check_result(n, &out, skipped, err, sizeof err);
	buf_reset(&out);
	if (map_bluesky_thread((const char *)data, size, &out, NULL, NULL, 0) != n)
		abort();
	buf_free(&out);
	return 0;
}
