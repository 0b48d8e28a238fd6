/* check_span(): the one check of a mapping's map_span, shared by the mapper tests. */
#ifndef DEFLECTD_TEST_CHECK_SPAN_H
#define DEFLECTD_TEST_CHECK_SPAN_H

/*
 * The span a mapping tells back is what reading its lines back gives: the
 * greatest all-digit id, the oldest and newest time, the number of posts.
 */
static void
check_span(const struct buf *out, size_t from, const struct map_span *span)
{
	struct map_span want;
	char err[256];

	memset(&want, 0, sizeof want);
	for (const char *s = out->s + from; s < out->s + out->len;) {
		const char *nl = strchr(s, '\n');
		struct post p;

		assert_non_null(nl);
		assert_int_equal(post_parse(NULL, s, (size_t)(nl - s), &p, err, sizeof err), 0);
		map_span_add(&want, p.id, p.created_at);
		post_release(&p);
		s = nl + 1;
	}
	assert_int_equal(span->posts, want.posts);
	assert_string_equal(span->newest_id, want.newest_id);
	assert_true(span->oldest == want.oldest);
	assert_true(span->newest == want.newest);
}

#endif
