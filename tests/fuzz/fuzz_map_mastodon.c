/*
 * libFuzzer target: the Mastodon mapping. The input is tried as one Status,
 * as a /context answer, as a page of an account's statuses, as an Account
 * and as an Instance; whatever comes out must be whole lines that deflectd's
 * own post parser accepts, the counts must match the lines, and ids and the
 * streaming base must be short plain strings.
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

	char newest[MAP_MASTODON_ID_MAX + 1], url[256];

	buf_reset(&out);
	r = map_mastodon_statuses((const char *)data, size, "mastodon.social", conversation_of,
	    NULL, &out, newest, sizeof newest, &nbad, err, sizeof err);
	if (r < -1 || (r == -1 && (err[0] == '\0' || out.len != 0 || newest[0] != '\0')) ||
	    (nbad > 0 && err[0] == '\0') || strlen(newest) > MAP_MASTODON_ID_MAX ||
	    strchr(newest, ' ') != NULL)
		abort();
	check_lines(&out, 0, r > 0 ? r : 0);

	r = map_mastodon_account_id((const char *)data, size, newest, sizeof newest, err,
	    sizeof err);
	if ((r != 0 && r != -1) || (r == 0 && newest[0] == '\0') || (r == -1 && err[0] == '\0'))
		abort();

	r = map_mastodon_streaming_url((const char *)data, size, url, sizeof url, err, sizeof err);
	if (r < -1 || r > 1 || (r != 1 && url[0] != '\0') || (r == -1 && err[0] == '\0') ||
	    (r == 1 && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
	    (r == 1 && (strchr(url, ' ') != NULL || strchr(url, '@') != NULL)))
		abort();
	buf_free(&out);
	return 0;
}
