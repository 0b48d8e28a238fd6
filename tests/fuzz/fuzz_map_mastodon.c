/*
 * libFuzzer target: the Mastodon mapping. The input is tried as one Status
 * and as a /context answer; whatever comes out must be whole lines that
 * deflectd's own post parser accepts, and the counts must match the lines.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "map_mastodon.h"
#include "post.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A memory that knows every parent whose id starts with a digit, and answers
 * with an id of its own length, so both branches of the lookup run.
 */
static const char *
conversation_of(void *arg, const char *status_id)
{
	(void)arg;
	if (status_id[0] >= '0' && status_id[0] <= '9')
		return status_id[1] != '\0' ? status_id + 1 : "";
	return NULL;
}

/* Checks that out holds exactly n native post lines from offset from on. */
static void
check_lines(const struct buf *out, size_t from, int n)
{
	const char *p = out->s != NULL ? out->s + from : "", *nl;
	struct post post;
	char err[256];
	int seen = 0;

	while (*p != '\0') {
		if ((nl = strchr(p, '\n')) == NULL)
			abort();
		if (post_parse(NULL, p, (size_t)(nl - p), &post, err, sizeof err) != 0)
			abort();
		if (strcmp(post.platform, "mastodon") != 0 || strlen(post.id) > 64 ||
		    strlen(post.conversation_id) > 64 || strchr(post.author, '@') == NULL)
			abort();
		post_release(&post);
		seen++;
		p = nl + 1;
	}
	if (seen != n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	char err[256];
	size_t nbad;
	int r;

	err[0] = '\0';
	r = map_mastodon_status((const char *)data, size, "mastodon.social", conversation_of,
	    NULL, &out, err, sizeof err);
	if (r < -1 || r > 1 || (r == -1 && err[0] == '\0'))
		abort();
	check_lines(&out, 0, r > 0 ? r : 0);

	buf_reset(&out);
	r = map_mastodon_context((const char *)data, size, "109876543210", "mastodon.social",
	    &out, &nbad, err, sizeof err);
	if (r < -1 || (r == -1 && (err[0] == '\0' || out.len != 0)) ||
	    (nbad > 0 && err[0] == '\0'))
		abort();
	check_lines(&out, 0, r > 0 ? r : 0);
	buf_free(&out);
	return 0;
}
