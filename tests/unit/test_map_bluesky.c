/* Bluesky AppView responses to native posts, checked by reading every line back with post_parse(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "map.h"
#include "map_bluesky.h"
#include "post.h"
#include "xmalloc.h"

#include "check_span.h"

#define ACME "did:plc:acmesupportqzvk7ybx3lwea"
#define DANA "did:plc:dana4kq2xw7ztm3rbv5e6yhc"
#define SAM "did:plc:sam6zq3w4ey7rkxt2bnv5mfa"
#define NEWS "did:plc:news2ab3cd4ef5gh6ij7kl7m"
#define AT(did, rkey) "at://" did "/app.bsky.feed.post/" rkey

#define TVP "\"$type\":\"app.bsky.feed.defs#threadViewPost\""

/*
 * Appends a postView with everything the AppView sends (counts, viewer state,
 * labels, facets), so that the mapper is seen to ignore what it does not use.
 * langs is raw JSON or NULL; root and parent are uris, or NULL for a root post.
 */
static void
pv(struct buf *b, const char *did, const char *handle, const char *rkey, const char *text,
    const char *created, const char *langs, const char *root, const char *parent)
{
	buf_printf(b,
	    "{\"uri\":\"at://%s/app.bsky.feed.post/%s\",\"cid\":"
	    "\"bafyreihx3n2bqfnc5x7kz4vq6y5m2dq4y2lsxq2wdhq3r6jpn7wykk6cwa\",\"author\":{\"did\":"
	    "\"%s\",\"handle\":\"%s\",\"displayName\":\"Someone\",\"avatar\":"
	    "\"https://cdn.bsky.app/img/avatar/plain/%s/bafkreia@jpeg\",\"viewer\":{\"muted\":false,"
	    "\"blockedBy\":false},\"labels\":[],\"createdAt\":\"2023-06-01T10:00:00.000Z\"},"
	    "\"record\":{\"$type\":\"app.bsky.feed.post\",\"createdAt\":\"%s\",",
	    did, rkey, did, handle, did, created);
	if (langs != NULL)
		buf_printf(b, "\"langs\":%s,", langs);
	if (root != NULL)
		buf_printf(b,
		    "\"reply\":{\"parent\":{\"cid\":\"bafyreiaaaa\",\"uri\":\"%s\"},\"root\":{"
		    "\"cid\":\"bafyreibbbb\",\"uri\":\"%s\"}},",
		    parent, root);
	buf_printf(b,
	    "\"facets\":[],\"text\":\"%s\"},\"replyCount\":1,\"repostCount\":0,\"likeCount\":2,"
	    "\"quoteCount\":0,\"indexedAt\":\"%s\",\"viewer\":{\"threadMuted\":false,"
	    "\"embeddingDisabled\":false},\"labels\":[]}",
	    text, created);
}

/* What one output line must read back as. */
struct want {
	const char *id, *conv, *parent, *author, *created, *text, *url, *lang;
};

/* Counts the lines of out. */
static int
lines(const struct buf *out)
{
	int n = 0;

	for (size_t i = 0; i < out->len; i++)
		n += out->s[i] == '\n';
	return n;
}

/* Checks that line number i (0-based) of out parses to w. */
static void
check_line(const struct buf *out, int i, const struct want *w)
{
	const char *s = out->s, *nl;
	struct post p;
	char err[256], when[32];

	for (; i > 0; i--) {
		nl = strchr(s, '\n');
		assert_non_null(nl);
		s = nl + 1;
	}
	nl = strchr(s, '\n');
	assert_non_null(nl);
	if (post_parse(NULL, s, (size_t)(nl - s), &p, err, sizeof err) != 0)
		fail_msg("post_parse rejected %.*s: %s", (int)(nl - s), s, err);
	assert_string_equal(p.platform, "bluesky");
	assert_string_equal(p.id, w->id);
	assert_string_equal(p.conversation_id, w->conv);
	if (w->parent == NULL)
		assert_null(p.in_reply_to_id);
	else
		assert_string_equal(p.in_reply_to_id, w->parent);
	assert_string_equal(p.author, w->author);
	rfc3339_format(p.created_at, when, sizeof when);
	assert_string_equal(when, w->created);
	assert_int_equal(p.text_len, strlen(w->text));
	assert_memory_equal(p.text, w->text, p.text_len);
	assert_string_equal(p.url, w->url);
	if (w->lang == NULL)
		assert_null(p.lang);
	else
		assert_string_equal(p.lang, w->lang);
	assert_int_equal(p.author_is_brand, -1);
	post_release(&p);
	/* created_at is written in the one normalized form, not just parsed. */
	assert_true(memmem(s, (size_t)(nl - s), when, strlen(when)) != NULL);
}

/* A brand's author feed: a pinned post, a reply, a repost, the pinned post again, a deep reply. */
static void
feed_page(struct buf *b)
{
	buf_adds(b, "{\"feed\":[{\"post\":");
	pv(b, ACME, "acme.bsky.social", "3kpinnedaaa2k", "We answer here 9-17 CET.",
	    "2024-04-01T08:00:00.000Z", "[\"en\"]", NULL, NULL);
	buf_adds(b, ",\"reason\":{\"$type\":\"app.bsky.feed.defs#reasonPin\"}},{\"post\":");
	pv(b, ACME, "acme.bsky.social", "3ksb2brand22k", "@dana.bsky.social Sorry! Please DM us.",
	    "2024-05-13T09:52:40.512Z", "[\"en\",\"de\"]", AT(DANA, "3ksa7root222k"),
	    AT(DANA, "3ksa9reply22k"));
	/* The AppView adds the reply's root and parent as views; they are context, not feed. */
	buf_adds(b, ",\"reply\":{\"root\":{\"$type\":\"app.bsky.feed.defs#postView\",");
	buf_adds(b, "\"uri\":\"" AT(DANA, "3ksa7root222k") "\"},\"parent\":{\"$type\":"
		    "\"app.bsky.feed.defs#notFoundPost\",\"uri\":\"" AT(DANA, "3ksa9reply22k")
		    "\",\"notFound\":true}}},{\"post\":");
	pv(b, NEWS, "news.example.com", "3krepost2222k", "Big outage today", "2024-05-13T07:00:00Z",
	    "[\"en\"]", NULL, NULL);
	buf_adds(b, ",\"reason\":{\"$type\":\"app.bsky.feed.defs#reasonRepost\",\"by\":{\"did\":\"" ACME
		    "\",\"handle\":\"acme.bsky.social\"},\"indexedAt\":\"2024-05-13T09:00:00.000Z\"}},"
		    "{\"post\":");
	pv(b, ACME, "acme.bsky.social", "3kpinnedaaa2k", "We answer here 9-17 CET.",
	    "2024-04-01T08:00:00.000Z", "[\"en\"]", NULL, NULL);
	buf_adds(b, "},{\"post\":");
	pv(b, ACME, "acme.bsky.social", "3ksc3deep222k", "Fixed \\u2705 \\\"thanks\\\"\\nbye",
	    "2024-05-13T11:30:00.999+02:00", "[]", AT(SAM, "3ks0root2222k"), AT(SAM, "3ks1mid22222k"));
	buf_adds(b, "}],\"cursor\":\"2024-04-01T08:00:00.000Z\"}");
}

static void
test_feed(void **state)
{
	struct buf doc = BUF_INIT, out = BUF_INIT;
	char cursor[64], err[256];
	size_t skipped = 99;
	const struct want w[] = {
	    {AT(ACME, "3kpinnedaaa2k"), AT(ACME, "3kpinnedaaa2k"), NULL, "acme.bsky.social",
		"2024-04-01T08:00:00Z", "We answer here 9-17 CET.",
		"https://bsky.app/profile/acme.bsky.social/post/3kpinnedaaa2k", "en"},
	    {AT(ACME, "3ksb2brand22k"), AT(DANA, "3ksa7root222k"), AT(DANA, "3ksa9reply22k"),
		"acme.bsky.social", "2024-05-13T09:52:40Z", "@dana.bsky.social Sorry! Please DM us.",
		"https://bsky.app/profile/acme.bsky.social/post/3ksb2brand22k", "en"},
	    {AT(ACME, "3ksc3deep222k"), AT(SAM, "3ks0root2222k"), AT(SAM, "3ks1mid22222k"),
		"acme.bsky.social", "2024-05-13T09:30:00Z", "Fixed \xe2\x9c\x85 \"thanks\"\nbye",
		"https://bsky.app/profile/acme.bsky.social/post/3ksc3deep222k", NULL},
	};

	(void)state;
	feed_page(&doc);
	buf_adds(&out, "before\n");
	assert_int_equal(map_bluesky_feed(doc.s, doc.len, &out, cursor, sizeof cursor, &skipped,
			     err, sizeof err), 3);
	assert_int_equal(skipped, 0);
	assert_string_equal(err, "");
	assert_string_equal(cursor, "2024-04-01T08:00:00.000Z");
	assert_int_equal(lines(&out), 4);
	assert_true(strncmp(out.s, "before\n", 7) == 0);
	for (int i = 0; i < 3; i++)
		check_line(&out, i + 1, &w[i]);

	/* Exactly room for the cursor; then one byte short, which loses the page. */
	buf_reset(&out);
	assert_int_equal(map_bluesky_feed(doc.s, doc.len, &out, cursor, 25, NULL, err, sizeof err),
	    3);
	assert_string_equal(cursor, "2024-04-01T08:00:00.000Z");
	buf_reset(&out);
	assert_int_equal(map_bluesky_feed(doc.s, doc.len, &out, cursor, 24, NULL, err, sizeof err),
	    -1);
	assert_string_equal(err, "field \"cursor\" is longer than 23 bytes");
	assert_string_equal(cursor, "");
	assert_int_equal(out.len, 0);
	/* A caller that does not want the cursor. */
	assert_int_equal(map_bluesky_feed(doc.s, doc.len, &out, NULL, 0, NULL, NULL, 0), 3);
	buf_free(&doc);
	buf_free(&out);
}

static void
test_feed_last_page(void **state)
{
	struct buf out = BUF_INIT;
	char cursor[16] = "stale";
	static const char empty[] = "{\"feed\":[]}";
	static const char reposts[] =
	    "{\"feed\":[{\"post\":{\"uri\":\"" AT(NEWS, "3kx") "\"},\"reason\":{\"$type\":"
	    "\"app.bsky.feed.defs#reasonRepost\",\"by\":{\"did\":\"" ACME "\",\"handle\":"
	    "\"acme.bsky.social\"},\"indexedAt\":\"2024-05-13T09:00:00.000Z\"}}],\"cursor\":null}";

	(void)state;
	/* No cursor: the feed has no more pages, and the old one must not linger. */
	assert_int_equal(map_bluesky_feed(empty, strlen(empty), &out, cursor, sizeof cursor, NULL,
			     NULL, 0), 0);
	assert_string_equal(cursor, "");
	/* A repost gives no line, even one the mapper could not have mapped. */
	strcpy(cursor, "stale");
	assert_int_equal(map_bluesky_feed(reposts, strlen(reposts), &out, cursor, sizeof cursor,
			     NULL, NULL, 0), 0);
	assert_string_equal(cursor, "");
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

/*
 * A thread asked for at Dana's second post: the ancestors come nested in
 * parent, the replies in replies, four levels deep, with a deleted reply, a
 * blocked one, an unknown kind of item and the brand's answer a second time.
 */
static void
thread_doc(struct buf *b)
{
	buf_adds(b, "{\"thread\":{" TVP ",\"post\":");
	pv(b, DANA, "dana.bsky.social", "3kc2dana2222k", "@acme.bsky.social it is order 55120",
	    "2024-05-13T10:00:00.000Z", "[\"en\"]", AT(DANA, "3kr0root2222k"),
	    AT(ACME, "3kb1acme2222k"));
	buf_adds(b, ",\"parent\":{" TVP ",\"post\":");
	pv(b, ACME, "acme.bsky.social", "3kb1acme2222k", "@dana.bsky.social Which order?",
	    "2024-05-13T09:30:00.000Z", "[\"en\"]", AT(DANA, "3kr0root2222k"),
	    AT(DANA, "3kr0root2222k"));
	buf_adds(b, ",\"parent\":{" TVP ",\"post\":");
	pv(b, DANA, "dana.bsky.social", "3kr0root2222k", "@acme.bsky.social my parcel is lost",
	    "2024-05-13T09:00:00.000Z", "[\"en\"]", NULL, NULL);
	buf_adds(b, ",\"replies\":[]}},\"replies\":[{" TVP ",\"post\":");
	pv(b, ACME, "acme.bsky.social", "3kb2acme2222k", "Thanks! Please DM us your address.",
	    "2024-05-13T10:05:00.000Z", "[\"en\"]", AT(DANA, "3kr0root2222k"),
	    AT(DANA, "3kc2dana2222k"));
	buf_adds(b, ",\"replies\":[{" TVP ",\"post\":");
	pv(b, DANA, "dana.bsky.social", "3kc3dana2222k", "Why not here?", "2024-05-13T10:06:00Z",
	    NULL, AT(DANA, "3kr0root2222k"), AT(ACME, "3kb2acme2222k"));
	buf_adds(b, ",\"replies\":[{" TVP ",\"post\":");
	pv(b, ACME, "acme.bsky.social", "3kb3acme2222k", "Privacy. DM please.",
	    "2024-05-13T10:07:00Z", "[\"en\"]", AT(DANA, "3kr0root2222k"),
	    AT(DANA, "3kc3dana2222k"));
	buf_adds(b, ",\"replies\":[{" TVP ",\"post\":");
	/* An author whose handle no longer verifies is shown under the DID. */
	pv(b, SAM, "handle.invalid", "3kd4sam22222k", "same thing happened to me",
	    "2024-05-13T10:08:00Z", "[\"en-GB\"]", AT(DANA, "3kr0root2222k"),
	    AT(ACME, "3kb3acme2222k"));
	buf_adds(b, ",\"replies\":[]}]}]}]},"
		    "{\"$type\":\"app.bsky.feed.defs#notFoundPost\",\"uri\":\"" AT(SAM, "3kgone22222k")
		    "\",\"notFound\":true},"
		    "{\"$type\":\"app.bsky.feed.defs#blockedPost\",\"uri\":\"" AT(NEWS, "3kblock2222k")
		    "\",\"blocked\":true,\"author\":{\"did\":\"" NEWS "\",\"viewer\":{\"blockedBy\":"
		    "true}}},"
		    "{\"$type\":\"app.bsky.feed.defs#futureThing\",\"uri\":\"" AT(NEWS, "3kfut22222k")
		    "\"},"
		    "{\"uri\":\"" AT(NEWS, "3kold22222k") "\",\"notFound\":true},"
		    "{" TVP ",\"post\":");
	pv(b, ACME, "acme.bsky.social", "3kb2acme2222k", "Thanks! Please DM us your address.",
	    "2024-05-13T10:05:00.000Z", "[\"en\"]", AT(DANA, "3kr0root2222k"),
	    AT(DANA, "3kc2dana2222k"));
	buf_adds(b, "}]},\"threadgate\":null}");
}

static void
test_thread(void **state)
{
	struct buf doc = BUF_INIT, out = BUF_INIT;
	char err[256];
	size_t skipped = 99;
	const char *root = AT(DANA, "3kr0root2222k");
	const struct want w[] = {
	    {AT(DANA, "3kr0root2222k"), root, NULL, "dana.bsky.social", "2024-05-13T09:00:00Z",
		"@acme.bsky.social my parcel is lost",
		"https://bsky.app/profile/dana.bsky.social/post/3kr0root2222k", "en"},
	    {AT(ACME, "3kb1acme2222k"), root, root, "acme.bsky.social", "2024-05-13T09:30:00Z",
		"@dana.bsky.social Which order?",
		"https://bsky.app/profile/acme.bsky.social/post/3kb1acme2222k", "en"},
	    {AT(DANA, "3kc2dana2222k"), root, AT(ACME, "3kb1acme2222k"), "dana.bsky.social",
		"2024-05-13T10:00:00Z", "@acme.bsky.social it is order 55120",
		"https://bsky.app/profile/dana.bsky.social/post/3kc2dana2222k", "en"},
	    {AT(ACME, "3kb2acme2222k"), root, AT(DANA, "3kc2dana2222k"), "acme.bsky.social",
		"2024-05-13T10:05:00Z", "Thanks! Please DM us your address.",
		"https://bsky.app/profile/acme.bsky.social/post/3kb2acme2222k", "en"},
	    {AT(DANA, "3kc3dana2222k"), root, AT(ACME, "3kb2acme2222k"), "dana.bsky.social",
		"2024-05-13T10:06:00Z", "Why not here?",
		"https://bsky.app/profile/dana.bsky.social/post/3kc3dana2222k", NULL},
	    {AT(ACME, "3kb3acme2222k"), root, AT(DANA, "3kc3dana2222k"), "acme.bsky.social",
		"2024-05-13T10:07:00Z", "Privacy. DM please.",
		"https://bsky.app/profile/acme.bsky.social/post/3kb3acme2222k", "en"},
	    {AT(SAM, "3kd4sam22222k"), root, AT(ACME, "3kb3acme2222k"), SAM,
		"2024-05-13T10:08:00Z", "same thing happened to me",
		"https://bsky.app/profile/" SAM "/post/3kd4sam22222k", "en-GB"},
	};

	(void)state;
	thread_doc(&doc);
	assert_int_equal(map_bluesky_thread(doc.s, doc.len, &out, &skipped, err, sizeof err), 7);
	assert_int_equal(skipped, 0);
	assert_string_equal(err, "");
	assert_int_equal(lines(&out), 7);
	for (int i = 0; i < 7; i++)
		check_line(&out, i, &w[i]);
	buf_free(&doc);
	buf_free(&out);
}

static void
test_thread_gone_or_cut(void **state)
{
	struct buf doc = BUF_INIT, out = BUF_INIT;
	char err[256];
	static const char gone[] =
	    "{\"thread\":{\"$type\":\"app.bsky.feed.defs#notFoundPost\",\"uri\":\"" AT(DANA, "3kx")
	    "\",\"notFound\":true}}";
	static const char blocked[] =
	    "{\"thread\":{\"$type\":\"app.bsky.feed.defs#blockedPost\",\"uri\":\"" AT(DANA, "3kx")
	    "\",\"blocked\":true,\"author\":{\"did\":\"" DANA "\"}}}";
	const struct want w = {AT(ACME, "3kb1acme2222k"), AT(DANA, "3kr0root2222k"),
	    AT(DANA, "3kr0root2222k"), "acme.bsky.social", "2024-05-13T09:30:00Z", "Which order?",
	    "https://bsky.app/profile/acme.bsky.social/post/3kb1acme2222k", NULL};

	(void)state;
	assert_int_equal(map_bluesky_thread(gone, strlen(gone), &out, NULL, err, sizeof err), 0);
	assert_int_equal(map_bluesky_thread(blocked, strlen(blocked), &out, NULL, err, sizeof err),
	    0);
	assert_int_equal(out.len, 0);

	/* The root was deleted: the chain ends there and the rest still maps. */
	buf_adds(&doc, "{\"thread\":{" TVP ",\"post\":");
	pv(&doc, ACME, "acme.bsky.social", "3kb1acme2222k", "Which order?", "2024-05-13T09:30:00Z",
	    NULL, AT(DANA, "3kr0root2222k"), AT(DANA, "3kr0root2222k"));
	buf_adds(&doc, ",\"parent\":{\"$type\":\"app.bsky.feed.defs#notFoundPost\",\"uri\":\"" AT(
			   DANA, "3kr0root2222k") "\",\"notFound\":true}}}");
	assert_int_equal(map_bluesky_thread(doc.s, doc.len, &out, NULL, err, sizeof err), 1);
	check_line(&out, 0, &w);
	buf_free(&doc);
	buf_free(&out);
}

static void
test_deep_thread(void **state)
{
	enum { UP = 200, DOWN = 300 };
	struct buf doc = BUF_INIT, out = BUF_INIT, parent = BUF_INIT;
	char rkey[32], err[256];
	int i;

	(void)state;
	/* Post i replies to post i - 1; the thread is asked for at post UP. */
	buf_adds(&doc, "{\"thread\":");
	for (i = UP; i >= 0; i--) {
		snprintf(rkey, sizeof rkey, "3k%06d", i);
		buf_reset(&parent);
		buf_printf(&parent, "at://" DANA "/app.bsky.feed.post/3k%06d", i - 1);
		buf_adds(&doc, "{" TVP ",\"post\":");
		pv(&doc, DANA, "dana.bsky.social", rkey, "up", "2024-01-01T00:00:00Z", NULL,
		    i > 0 ? AT(DANA, "3k000000") : NULL, i > 0 ? parent.s : NULL);
		if (i == UP) {
			/* The anchor's replies go down DOWN levels before its parent goes up. */
			buf_adds(&doc, ",\"replies\":[");
			for (int j = UP + 1; j <= UP + DOWN; j++) {
				snprintf(rkey, sizeof rkey, "3k%06d", j);
				buf_reset(&parent);
				buf_printf(&parent, "at://" DANA "/app.bsky.feed.post/3k%06d", j - 1);
				buf_adds(&doc, "{" TVP ",\"post\":");
				pv(&doc, DANA, "dana.bsky.social", rkey, "down",
				    "2024-01-01T00:00:00Z", NULL, AT(DANA, "3k000000"), parent.s);
				buf_adds(&doc, j < UP + DOWN ? ",\"replies\":[" : "");
			}
			for (int j = UP + 1; j <= UP + DOWN; j++)
				buf_adds(&doc, j < UP + DOWN ? "}]" : "}");
			buf_adds(&doc, "]");
		}
		buf_adds(&doc, i > 0 ? ",\"parent\":" : "");
	}
	for (i = UP; i >= 0; i--)
		buf_adds(&doc, "}");
	buf_adds(&doc, "}");

	assert_int_equal(map_bluesky_thread(doc.s, doc.len, &out, NULL, err, sizeof err),
	    UP + DOWN + 1);
	/* Conversation order: post i is line i. */
	for (i = 0; i <= UP + DOWN; i++) {
		struct want w = {NULL, AT(DANA, "3k000000"), NULL, "dana.bsky.social",
		    "2024-01-01T00:00:00Z", i <= UP ? "up" : "down", NULL, NULL};
		char id[96], par[96], url[96];

		snprintf(id, sizeof id, "at://" DANA "/app.bsky.feed.post/3k%06d", i);
		snprintf(par, sizeof par, "at://" DANA "/app.bsky.feed.post/3k%06d", i - 1);
		snprintf(url, sizeof url, "https://bsky.app/profile/dana.bsky.social/post/3k%06d", i);
		w.id = id;
		w.parent = i > 0 ? par : NULL;
		w.url = url;
		check_line(&out, i, &w);
	}
	buf_free(&doc);
	buf_free(&out);
	buf_free(&parent);
}

static void
test_xrpc_errors(void **state)
{
	struct buf out = BUF_INIT;
	char err[256], cursor[8];
	static const char notfound[] =
	    "{\"error\":\"NotFound\",\"message\":\"Post not found: " AT(DANA, "3kx") "\"}";
	static const char blocked[] = "{\"error\":\"BlockedActor\"}";

	(void)state;
	assert_int_equal(map_bluesky_thread(notfound, strlen(notfound), &out, NULL, err,
			     sizeof err), -2);
	assert_string_equal(err, "NotFound: Post not found: " AT(DANA, "3kx"));
	assert_int_equal(map_bluesky_feed(blocked, strlen(blocked), &out, cursor, sizeof cursor,
			     NULL, err, sizeof err), -2);
	assert_string_equal(err, "BlockedActor");
	/* An empty error name still makes a message. */
	assert_int_equal(map_bluesky_thread("{\"error\":\"\",\"message\":\"\"}", 25, &out, NULL,
			     err, sizeof err), -2);
	assert_string_equal(err, "XRPC error");
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

/* A minimal postView with one part replaced, for the table of posts that are skipped. */
#define URI "\"uri\":\"" AT(DANA, "3kok") "\""
#define AUTHOR "\"author\":{\"did\":\"" DANA "\",\"handle\":\"dana.bsky.social\"}"
#define TEXT "\"text\":\"t\""
#define WHEN "\"createdAt\":\"2024-01-01T00:00:00Z\""
#define REC(...) "\"record\":{" __VA_ARGS__ "}"
#define REPLY(root, parent)                                                                    \
	"\"reply\":{\"root\":{\"cid\":\"c\",\"uri\":\"" root "\"},\"parent\":{\"cid\":\"c\","     \
	"\"uri\":\"" parent "\"}}"

static const struct {
	const char *pv, *want;
} bad_posts[] = {
    {"17", "not an object"},
    {"{" AUTHOR "," REC(TEXT "," WHEN) "}", "missing field \"uri\""},
    {"{\"uri\":5," AUTHOR "," REC(TEXT "," WHEN) "}", "field \"uri\" is not a string"},
    {"{\"uri\":\"https://bsky.app/profile/x/post/3k\"," AUTHOR "," REC(TEXT "," WHEN) "}",
	"field \"uri\" is not the at:// uri of a post: \"https://bsky.app/profile/x/post/3k\""},
    {"{\"uri\":\"at://" DANA "/app.bsky.feed.like/3k\"," AUTHOR "," REC(TEXT "," WHEN) "}",
	"is not the at:// uri of a post"},
    {"{\"uri\":\"at://" DANA "/app.bsky.feed.post/\"," AUTHOR "," REC(TEXT "," WHEN) "}",
	"is not the at:// uri of a post"},
    {"{\"uri\":\"at://" DANA "/app.bsky.feed.post/..\"," AUTHOR "," REC(TEXT "," WHEN) "}",
	"is not the at:// uri of a post"},
    {"{\"uri\":\"at://" DANA "/app.bsky.feed.post/a/b\"," AUTHOR "," REC(TEXT "," WHEN) "}",
	"is not the at:// uri of a post"},
    {"{\"uri\":\"at:///app.bsky.feed.post/3k\"," AUTHOR "," REC(TEXT "," WHEN) "}",
	"is not the at:// uri of a post"},
    {"{\"uri\":\"at://did:plc:a b/app.bsky.feed.post/3k\"," AUTHOR "," REC(TEXT "," WHEN) "}",
	"is not the at:// uri of a post"},
    {"{\"uri\":\"at://" DANA "/app.bsky.feed.post/3k\\u0000\"," AUTHOR "," REC(TEXT "," WHEN)
     "}",
	"field \"uri\" contains a NUL byte"},
    {"{" URI "," REC(TEXT "," WHEN) "}", AT(DANA, "3kok") ": missing field \"author\""},
    {"{" URI ",\"author\":[]," REC(TEXT "," WHEN) "}", "field \"author\" is not an object"},
    {"{" URI ",\"author\":{\"did\":\"" DANA "\"}," REC(TEXT "," WHEN) "}",
	"missing field \"author.handle\""},
    {"{" URI ",\"author\":{\"handle\":\"dana/../x\"}," REC(TEXT "," WHEN) "}",
	"field \"author.handle\" is not a handle"},
    {"{" URI ",\"author\":{\"handle\":\"handle.invalid\"}," REC(TEXT "," WHEN) "}",
	"missing field \"author.did\""},
    {"{" URI ",\"author\":{\"handle\":\"handle.invalid\",\"did\":\"plc:x\"}," REC(TEXT "," WHEN)
     "}",
	"field \"author.did\" is not a DID"},
    {"{" URI "," AUTHOR "}", "missing field \"record\""},
    {"{" URI "," AUTHOR ",\"record\":\"t\"}", "field \"record\" is not an object"},
    {"{" URI "," AUTHOR "," REC(WHEN) "}", "missing field \"record.text\""},
    {"{" URI "," AUTHOR "," REC("\"text\":{}," WHEN) "}", "field \"record.text\" is not a string"},
    {"{" URI "," AUTHOR "," REC(TEXT) "}", "missing field \"record.createdAt\""},
    {"{" URI "," AUTHOR "," REC(TEXT ",\"createdAt\":1715590000") "}",
	"field \"record.createdAt\" is not a string"},
    {"{" URI "," AUTHOR "," REC(TEXT ",\"createdAt\":\"2024-05-13T09:00:00\"") "}",
	"field \"record.createdAt\" is not an RFC 3339 time: \"2024-05-13T09:00:00\""},
    {"{" URI "," AUTHOR "," REC(TEXT ",\"createdAt\":\"0000-01-01T00:30:00+01:00\"") "}",
	"is not an RFC 3339 time"},
    {"{" URI "," AUTHOR "," REC(TEXT "," WHEN ",\"langs\":\"en\"") "}",
	"field \"record.langs\" is not an array"},
    {"{" URI "," AUTHOR "," REC(TEXT "," WHEN ",\"langs\":[1]") "}",
	"field \"record.langs[0]\" is not a string"},
    {"{" URI "," AUTHOR "," REC(TEXT "," WHEN ",\"reply\":[]") "}",
	"field \"record.reply\" is not an object"},
    {"{" URI "," AUTHOR "," REC(TEXT "," WHEN ",\"reply\":{\"parent\":{\"uri\":\"" AT(DANA, "p")
					   "\"}}") "}",
	"missing field \"record.reply.root\""},
    {"{" URI "," AUTHOR "," REC(TEXT "," WHEN ",\"reply\":{\"root\":{\"uri\":\"" AT(DANA, "p")
					   "\"}}") "}",
	"missing field \"record.reply.parent\""},
    {"{" URI "," AUTHOR "," REC(TEXT "," WHEN ",\"reply\":{\"root\":{\"cid\":\"c\"},"
				   "\"parent\":{\"uri\":\"" AT(DANA, "p") "\"}}") "}",
	"missing field \"record.reply.root.uri\""},
    {"{" URI "," AUTHOR "," REC(TEXT "," WHEN "," REPLY("at://x", AT(DANA, "p"))) "}",
	"field \"record.reply.root.uri\" is not the at:// uri of a post"},
    {"{" URI "," AUTHOR "," REC(TEXT "," WHEN "," REPLY(AT(DANA, "r"), "")) "}",
	"field \"record.reply.parent.uri\" is not the at:// uri of a post"},
};

static void
test_bad_posts_skipped(void **state)
{
	struct buf doc = BUF_INIT, out = BUF_INIT;
	char err[256], cursor[8];
	size_t skipped;
	const struct want good = {AT(DANA, "3kgood"), AT(DANA, "3kgood"), NULL, "dana.bsky.social",
	    "2024-01-01T00:00:00Z", "t", "https://bsky.app/profile/dana.bsky.social/post/3kgood",
	    NULL};
	static const char good_pv[] = "{\"uri\":\"" AT(DANA, "3kgood") "\"," AUTHOR "," REC(
	    TEXT "," WHEN) "}";

	(void)state;
	for (size_t i = 0; i < sizeof bad_posts / sizeof bad_posts[0]; i++) {
		/* In a feed, between good posts. */
		buf_reset(&doc);
		buf_reset(&out);
		buf_printf(&doc, "{\"feed\":[{\"post\":%s},{\"post\":%s}],\"cursor\":\"c1\"}",
		    bad_posts[i].pv, good_pv);
		if (map_bluesky_feed(doc.s, doc.len, &out, cursor, sizeof cursor, &skipped, err,
			sizeof err) != 1)
			fail_msg("feed case %zu: %s", i, err);
		assert_int_equal(skipped, 1);
		if (strstr(err, bad_posts[i].want) == NULL)
			fail_msg("feed case %zu: \"%s\" lacks \"%s\"", i, err, bad_posts[i].want);
		assert_string_equal(cursor, "c1");
		check_line(&out, 0, &good);

		/* In a thread, as the anchor with a good reply. */
		buf_reset(&doc);
		buf_reset(&out);
		buf_printf(&doc, "{\"thread\":{" TVP ",\"post\":%s,\"replies\":[{" TVP
				 ",\"post\":%s}]}}",
		    bad_posts[i].pv, good_pv);
		if (map_bluesky_thread(doc.s, doc.len, &out, &skipped, err, sizeof err) != 1)
			fail_msg("thread case %zu: %s", i, err);
		assert_int_equal(skipped, 1);
		if (strstr(err, bad_posts[i].want) == NULL)
			fail_msg("thread case %zu: \"%s\" lacks \"%s\"", i, err, bad_posts[i].want);
		check_line(&out, 0, &good);
	}

	/* A missing post; and with two bad posts, the first reason is the one kept. */
	buf_reset(&doc);
	buf_reset(&out);
	buf_printf(&doc, "{\"feed\":[{},{\"post\":null},{\"post\":%s}]}", bad_posts[1].pv);
	assert_int_equal(map_bluesky_feed(doc.s, doc.len, &out, NULL, 0, &skipped, err, sizeof err),
	    0);
	assert_int_equal(skipped, 3);
	assert_string_equal(err, "feed[0].post: missing");
	buf_reset(&doc);
	buf_printf(&doc, "{\"thread\":{" TVP ",\"post\":%s}}", bad_posts[0].pv);
	assert_int_equal(map_bluesky_thread(doc.s, doc.len, &out, &skipped, err, sizeof err), 0);
	assert_int_equal(skipped, 1);
	assert_string_equal(err, "thread item: not an object");
	buf_free(&doc);
	buf_free(&out);
}

static void
test_text_nul_and_escapes(void **state)
{
	struct buf out = BUF_INIT;
	static const char doc[] =
	    "{\"feed\":[{\"post\":{\"uri\":\"" AT(DANA, "3kn") "\"," AUTHOR ",\"record\":{\"text\":"
	    "\"a\\u0000b\\n\\\\</script>\",\"createdAt\":\"2024-01-01T00:00:00.123456Z\","
	    "\"langs\":[\"\",\"de\"]}}}]}";
	static const char text[] = "a\0b\n\\</script>";
	struct post p;
	char err[256];

	(void)state;
	assert_int_equal(map_bluesky_feed(doc, sizeof doc - 1, &out, NULL, 0, NULL, err, sizeof err),
	    1);
	assert_int_equal(lines(&out), 1);
	assert_int_equal(post_parse(NULL, out.s, out.len - 1, &p, err, sizeof err), 0);
	assert_int_equal(p.text_len, sizeof text - 1);
	assert_memory_equal(p.text, text, sizeof text - 1);
	/* An empty first language says nothing; it is not replaced by the second. */
	assert_null(p.lang);
	assert_int_equal(p.created_at, 1704067200);
	post_release(&p);
	buf_free(&out);
}

/* Maps doc with the feed mapper (feed != 0) or the thread one; it must fail with -1 and want. */
static void
malformed(int feed, const char *doc, const char *want)
{
	struct buf out = BUF_INIT;
	char err[256], cursor[8] = "x";
	size_t skipped = 99;
	int r;

	buf_adds(&out, "kept\n");
	if (feed)
		r = map_bluesky_feed(doc, strlen(doc), &out, cursor, sizeof cursor, &skipped, err,
		    sizeof err);
	else
		r = map_bluesky_thread(doc, strlen(doc), &out, &skipped, err, sizeof err);
	if (r != -1)
		fail_msg("returned %d, want -1 (%s) for %s", r, err, doc);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\" for %s", err, want, doc);
	assert_string_equal(out.s, "kept\n");
	assert_int_equal(out.len, 5);
	assert_int_equal(skipped, 0);
	/* A malformed page leaves no cursor to resume from. */
	assert_string_equal(cursor, feed ? "" : "x");
	buf_free(&out);
}

#define GOOD_POST "{\"uri\":\"" AT(DANA, "3kgood") "\"," AUTHOR "," REC(TEXT "," WHEN) "}"

static void
test_malformed(void **state)
{
	(void)state;
	malformed(1, "", "not JSON: ");
	malformed(1, "{\"feed\":[", "not JSON: ");
	malformed(1, "[]", "not a JSON object");
	malformed(1, "null", "not a JSON object");
	malformed(1, "{}", "missing field \"feed\"");
	malformed(1, "{\"feed\":null,\"error\":5}", "missing field \"feed\"");
	malformed(1, "{\"feed\":{}}", "field \"feed\" is not an array");
	malformed(1, "{\"feed\":[],\"cursor\":7}", "feed page: field \"cursor\" is not a string");
	malformed(1, "{\"feed\":[],\"cursor\":\"a\\u0000b\"}", "field \"cursor\" contains a NUL");
	malformed(1, "{\"feed\":[],\"cursor\":\"12345678\"}", "longer than 7 bytes");
	/* Lines of posts before the bad item are taken back. */
	malformed(1, "{\"feed\":[{\"post\":" GOOD_POST "},3]}", "field \"feed[1]\" is not an object");

	malformed(0, "{\"thread\":", "not JSON: ");
	malformed(0, "\"thread\"", "not a JSON object");
	malformed(0, "{\"feed\":[]}", "missing field \"thread\"");
	malformed(0, "{\"thread\":[]}", "response: field \"thread\" is not an object");
	malformed(0, "{\"thread\":{\"$type\":7}}", "field \"thread.$type\" is not a string");
	malformed(0, "{\"thread\":{\"uri\":\"x\"}}", "field \"thread\" is not a thread item");
	malformed(0, "{\"thread\":{" TVP ",\"post\":" GOOD_POST ",\"parent\":\"up\"}}",
	    AT(DANA, "3kgood") ": field \"parent\" is not an object");
	malformed(0, "{\"thread\":{" TVP ",\"post\":" GOOD_POST ",\"parent\":{\"post\":7,"
		     "\"parent\":{}}}}",
	    "thread item: field \"parent\" is not a thread item");
	malformed(0, "{\"thread\":{" TVP ",\"post\":" GOOD_POST ",\"replies\":{}}}",
	    AT(DANA, "3kgood") ": field \"replies\" is not an array");
	malformed(0, "{\"thread\":{" TVP ",\"post\":" GOOD_POST ",\"replies\":[{" TVP ",\"post\":"
		     GOOD_POST "},null]}}",
	    AT(DANA, "3kgood") ": field \"replies[1]\" is not an object");
	/* Found deeper, after lines were made: they are taken back. */
	malformed(0, "{\"thread\":{" TVP ",\"post\":" GOOD_POST ",\"replies\":[{\"post\":"
		     "{\"uri\":\"at://" DANA "/app.bsky.feed.post/3kb\"},\"replies\":[{}]}]}}",
	    AT(DANA, "3kb") ": field \"replies[0]\" is not a thread item");
}

/* map_bluesky_feed_span() tells back the page's time span; a malformed page tells nothing. */
static void
test_feed_span(void **state)
{
	struct buf doc = BUF_INIT, out = BUF_INIT;
	struct map_span span;
	char err[256], cursor[64];
	static const char bad[] = "{\"feed\":[{\"post\":{}}, 7]}";

	(void)state;
	feed_page(&doc);
	buf_adds(&out, "before\n");
	assert_int_equal(map_bluesky_feed_span(doc.s, doc.len, &out, cursor, sizeof cursor, NULL,
	    &span, err, sizeof err), 3);
	assert_int_equal(span.posts, 3);
	assert_true(span.oldest < span.newest);
	check_span(&out, 7, &span);
	assert_int_equal(map_bluesky_feed_span(bad, strlen(bad), &out, cursor, sizeof cursor, NULL,
	    &span, err, sizeof err), -1);
	assert_int_equal(span.posts, 0);
	buf_free(&doc);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_feed),
	    cmocka_unit_test(test_feed_last_page),
	    cmocka_unit_test(test_feed_span),
	    cmocka_unit_test(test_thread),
	    cmocka_unit_test(test_thread_gone_or_cut),
	    cmocka_unit_test(test_deep_thread),
	    cmocka_unit_test(test_xrpc_errors),
	    cmocka_unit_test(test_bad_posts_skipped),
	    cmocka_unit_test(test_text_nul_and_escapes),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
