/* X API v2 documents to native posts, checked by reading every line back with post_parse(). */
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
#include "map_x.h"
#include "post.h"
#include "xmalloc.h"

#include "check_span.h"

/*
 * A customer's reply to a brand as the filtered stream sends it, with the
 * fields and expansions the source requests (shape from the X API v2 tweet
 * object and filtered stream reference).
 */
static const char stream_reply[] =
    "{\"data\":{\"author_id\":\"1539318532171632640\",\"conversation_id\":"
    "\"1790011122233344455\",\"created_at\":\"2024-05-13T09:41:07.000Z\","
    "\"edit_history_tweet_ids\":[\"1790013344455566677\"],\"id\":\"1790013344455566677\","
    "\"in_reply_to_user_id\":\"783214\",\"lang\":\"en\",\"referenced_tweets\":[{\"type\":"
    "\"replied_to\",\"id\":\"1790012233344455566\"}],\"text\":\"@AcmeHelp still no refund "
    "after 3 weeks \\ud83d\\ude21 order #55120\"},\"includes\":{\"users\":[{\"id\":"
    "\"1539318532171632640\",\"name\":\"Dana K\",\"username\":\"dana_k\"},{\"id\":\"783214\","
    "\"name\":\"Acme Support\",\"username\":\"AcmeHelp\"}]},\"matching_rules\":[{\"id\":"
    "\"1790000000000000001\",\"tag\":\"acme\"}]}";

/* The brand's answer: a deflection to DMs, replying to the customer. */
static const char stream_brand[] =
    "{\"data\":{\"author_id\":\"783214\",\"conversation_id\":\"1790011122233344455\","
    "\"created_at\":\"2024-05-13T09:52:40.000Z\",\"edit_history_tweet_ids\":"
    "[\"1790016244455566688\"],\"id\":\"1790016244455566688\",\"in_reply_to_user_id\":"
    "\"1539318532171632640\",\"lang\":\"en\",\"referenced_tweets\":[{\"type\":\"replied_to\","
    "\"id\":\"1790013344455566677\"}],\"text\":\"@dana_k Sorry to hear that! Please send us a "
    "DM with your order number so we can look into it.\"},\"includes\":{\"users\":[{\"id\":"
    "\"783214\",\"name\":\"Acme Support\",\"username\":\"AcmeHelp\"}]},\"matching_rules\":[{"
    "\"id\":\"1790000000000000001\",\"tag\":\"acme\"}]}";

/* A thread's first tweet: no referenced_tweets, its own conversation. */
static const char stream_root[] =
    "{\"data\":{\"author_id\":\"2244994945\",\"conversation_id\":\"1790011122233344455\","
    "\"created_at\":\"2024-05-13T08:00:00.000Z\",\"edit_history_tweet_ids\":"
    "[\"1790011122233344455\"],\"id\":\"1790011122233344455\",\"lang\":\"en\",\"text\":"
    "\"@AcmeHelp my order never arrived\"},\"includes\":{\"users\":[{\"id\":\"2244994945\","
    "\"name\":\"Sam\",\"username\":\"sam\"}]},\"matching_rules\":[{\"id\":"
    "\"1790000000000000001\",\"tag\":\"acme\"}]}";

/* A recent-search page for conversation_id:1790011122233344455. */
static const char search_page[] =
    "{\"data\":[{\"author_id\":\"783214\",\"conversation_id\":\"1790011122233344455\","
    "\"created_at\":\"2024-05-13T10:15:00.000Z\",\"edit_history_tweet_ids\":"
    "[\"1790022000000000001\"],\"id\":\"1790022000000000001\",\"in_reply_to_user_id\":"
    "\"2244994945\",\"lang\":\"en\",\"referenced_tweets\":[{\"type\":\"replied_to\",\"id\":"
    "\"1790011122233344455\"}],\"text\":\"@sam Hi Sam, DM us please.\"},{\"author_id\":"
    "\"2244994945\",\"conversation_id\":\"1790011122233344455\",\"created_at\":"
    "\"2024-05-13T10:20:31.000Z\",\"edit_history_tweet_ids\":[\"1790023000000000002\"],\"id\":"
    "\"1790023000000000002\",\"in_reply_to_user_id\":\"783214\",\"lang\":\"und\","
    "\"referenced_tweets\":[{\"type\":\"quoted\",\"id\":\"1780000000000000000\"},{\"type\":"
    "\"replied_to\",\"id\":\"1790022000000000001\"}],\"text\":\"@AcmeHelp \\ud83d\\ude44\"},"
    "{\"author_id\":\"99\",\"conversation_id\":\"1790011122233344455\",\"created_at\":"
    "\"2024-05-13T10:21:00.000Z\",\"edit_history_tweet_ids\":[\"1790023500000000003\"],"
    "\"id\":\"1790023500000000003\",\"in_reply_to_user_id\":\"2244994945\","
    "\"referenced_tweets\":[{\"type\":\"replied_to\",\"id\":\"1790011122233344455\"}],"
    "\"text\":\"@sam same here\"}],\"includes\":{\"users\":[{\"id\":\"783214\",\"name\":"
    "\"Acme Support\",\"username\":\"AcmeHelp\"},{\"id\":\"2244994945\",\"name\":\"Sam\","
    "\"username\":\"sam\"}]},\"meta\":{\"newest_id\":\"1790023500000000003\",\"oldest_id\":"
    "\"1790022000000000001\",\"result_count\":3}}";

/* What one output line must read back as. */
struct want {
	const char *id, *conv, *parent, *author, *created, *text, *url, *lang;
};

/* Maps doc, which must succeed with n lines, and returns the lines in out. */
static void
map_ok(const char *doc, size_t len, int n, struct buf *out)
{
	char err[256];
	size_t skipped = 99;
	int r;

	err[0] = '\0';
	r = map_x(doc, len, out, &skipped, err, sizeof err);
	if (r != n)
		fail_msg("map_x returned %d, want %d (%s) for %.200s", r, n, err, doc);
	assert_int_equal(skipped, 0);
	assert_string_equal(err, "");
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
	assert_string_equal(p.platform, "twitter");
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
	assert_null(p.brand);
	post_release(&p);
	/* created_at is written in the one normalized form, not just parsed. */
	assert_non_null(strstr(s, when));
}

/* Counts the lines of out. */
static int
lines(const struct buf *out)
{
	int n = 0;

	for (size_t i = 0; i < out->len; i++)
		n += out->s[i] == '\n';
	return n;
}

static void
test_stream_reply(void **state)
{
	struct buf out = BUF_INIT;
	const struct want w = {"1790013344455566677", "1790011122233344455",
	    "1790012233344455566", "dana_k", "2024-05-13T09:41:07Z",
	    "@AcmeHelp still no refund after 3 weeks \xf0\x9f\x98\xa1 order #55120",
	    "https://x.com/dana_k/status/1790013344455566677", "en"};

	(void)state;
	map_ok(stream_reply, strlen(stream_reply), 1, &out);
	assert_int_equal(lines(&out), 1);
	check_line(&out, 0, &w);
	buf_free(&out);
}

static void
test_stream_brand_and_root(void **state)
{
	struct buf out = BUF_INIT;
	const struct want brand = {"1790016244455566688", "1790011122233344455",
	    "1790013344455566677", "AcmeHelp", "2024-05-13T09:52:40Z",
	    "@dana_k Sorry to hear that! Please send us a DM with your order number so we can look "
	    "into it.",
	    "https://x.com/AcmeHelp/status/1790016244455566688", "en"};
	const struct want root = {"1790011122233344455", "1790011122233344455", NULL, "sam",
	    "2024-05-13T08:00:00Z", "@AcmeHelp my order never arrived",
	    "https://x.com/sam/status/1790011122233344455", "en"};

	(void)state;
	/* Lines are appended: what out held before stays in front. */
	map_ok(stream_brand, strlen(stream_brand), 1, &out);
	map_ok(stream_root, strlen(stream_root), 1, &out);
	assert_int_equal(lines(&out), 2);
	check_line(&out, 0, &brand);
	check_line(&out, 1, &root);
	buf_free(&out);
}

static void
test_search_page(void **state)
{
	struct buf out = BUF_INIT;
	const struct want w0 = {"1790022000000000001", "1790011122233344455",
	    "1790011122233344455", "AcmeHelp", "2024-05-13T10:15:00Z", "@sam Hi Sam, DM us please.",
	    "https://x.com/AcmeHelp/status/1790022000000000001", "en"};
	/* A quote that is also a reply: the parent is the replied_to entry, wherever it is. */
	const struct want w1 = {"1790023000000000002", "1790011122233344455",
	    "1790022000000000001", "sam", "2024-05-13T10:20:31Z", "@AcmeHelp \xf0\x9f\x99\x84",
	    "https://x.com/sam/status/1790023000000000002", "und"};
	/* The author is missing from includes (suspended, say): the id stands in. */
	const struct want w2 = {"1790023500000000003", "1790011122233344455",
	    "1790011122233344455", "99", "2024-05-13T10:21:00Z", "@sam same here",
	    "https://x.com/i/web/status/1790023500000000003", NULL};

	(void)state;
	map_ok(search_page, strlen(search_page), 3, &out);
	assert_int_equal(lines(&out), 3);
	check_line(&out, 0, &w0);
	check_line(&out, 1, &w1);
	check_line(&out, 2, &w2);
	buf_free(&out);
}

static void
test_no_includes_and_nulls(void **state)
{
	struct buf out = BUF_INIT;
	/* No includes at all; null optional fields; an offset time; an empty lang. */
	static const char doc[] =
	    "{\"data\":{\"id\":\"20\",\"text\":\"hi\",\"author_id\":\"12\",\"conversation_id\":\"20\","
	    "\"created_at\":\"2006-03-21T22:50:00.250+02:00\",\"lang\":\"\","
	    "\"referenced_tweets\":null},\"includes\":null}";
	static const char doc2[] =
	    "{\"data\":{\"id\":\"21\",\"text\":\"x\",\"author_id\":\"12\",\"conversation_id\":\"20\","
	    "\"created_at\":\"2006-03-21T20:51:00Z\",\"lang\":null,\"referenced_tweets\":[]},"
	    "\"includes\":{\"tweets\":[]}}";
	const struct want w = {"20", "20", NULL, "12", "2006-03-21T20:50:00Z", "hi",
	    "https://x.com/i/web/status/20", NULL};
	const struct want w2 = {"21", "20", NULL, "12", "2006-03-21T20:51:00Z", "x",
	    "https://x.com/i/web/status/21", NULL};

	(void)state;
	map_ok(doc, strlen(doc), 1, &out);
	map_ok(doc2, strlen(doc2), 1, &out);
	check_line(&out, 0, &w);
	check_line(&out, 1, &w2);
	buf_free(&out);
}

static void
test_text_escapes(void **state)
{
	struct buf out = BUF_INIT;
	/* Newlines, quotes, a backslash, an entity and a NUL all survive, on one line. */
	static const char doc[] =
	    "{\"data\":{\"id\":\"5\",\"text\":\"a\\nb\\r\\n\\\"q\\\" \\\\ &amp; \\u0000z\","
	    "\"author_id\":\"7\",\"conversation_id\":\"5\",\"created_at\":"
	    "\"2024-01-01T00:00:00.000Z\"},\"includes\":{\"users\":[{\"id\":\"7\",\"username\":"
	    "\"a_1\"}]}}";
	static const char text[] = "a\nb\r\n\"q\" \\ &amp; \0z";
	struct post p;
	char err[256];

	(void)state;
	map_ok(doc, sizeof doc - 1, 1, &out);
	assert_int_equal(lines(&out), 1);
	assert_int_equal(out.s[out.len - 1], '\n');
	assert_int_equal(post_parse(NULL, out.s, out.len - 1, &p, err, sizeof err), 0);
	assert_int_equal(p.text_len, sizeof text - 1);
	assert_memory_equal(p.text, text, sizeof text - 1);
	assert_string_equal(p.url, "https://x.com/a_1/status/5");
	post_release(&p);
	buf_free(&out);
}

static void
test_long_post(void **state)
{
	struct buf out = BUF_INIT;
	/* text is the 280-character preview; note_tweet.text is the post. */
	static const char doc[] =
	    "{\"data\":{\"id\":\"6\",\"text\":\"Long story short\\u2026 https://t.co/x\","
	    "\"note_tweet\":{\"text\":\"Long story short: the whole thing.\",\"entities\":{}},"
	    "\"author_id\":\"7\",\"conversation_id\":\"6\",\"created_at\":"
	    "\"2024-01-01T00:00:00.000Z\"}}";
	static const char doc2[] =
	    "{\"data\":{\"id\":\"8\",\"text\":\"short\",\"note_tweet\":{},"
	    "\"author_id\":\"7\",\"conversation_id\":\"6\",\"created_at\":"
	    "\"2024-01-01T00:00:00.000Z\"}}";
	const struct want w = {"6", "6", NULL, "7", "2024-01-01T00:00:00Z",
	    "Long story short: the whole thing.", "https://x.com/i/web/status/6", NULL};
	const struct want w2 = {"8", "6", NULL, "7", "2024-01-01T00:00:00Z", "short",
	    "https://x.com/i/web/status/8", NULL};

	(void)state;
	map_ok(doc, strlen(doc), 1, &out);
	map_ok(doc2, strlen(doc2), 1, &out);
	check_line(&out, 0, &w);
	check_line(&out, 1, &w2);
	buf_free(&out);
}

static void
test_retweet_and_empty(void **state)
{
	struct buf out = BUF_INIT;
	static const char retweet[] =
	    "{\"data\":{\"id\":\"30\",\"text\":\"RT @dana_k: still no refund\",\"author_id\":\"783214\","
	    "\"conversation_id\":\"30\",\"created_at\":\"2024-05-13T09:41:07.000Z\","
	    "\"referenced_tweets\":[{\"type\":\"retweeted\",\"id\":\"1790013344455566677\"}]},"
	    "\"includes\":{\"users\":[{\"id\":\"783214\",\"username\":\"AcmeHelp\"}]}}";
	static const char empty_page[] = "{\"meta\":{\"result_count\":0}}";
	static const char empty_array[] = "{\"data\":[],\"meta\":{\"result_count\":0}}";
	static const char *const keepalives[] = {"", "\r", "\r\n", "\n", "  \t"};

	(void)state;
	buf_adds(&out, "before\n");
	map_ok(retweet, strlen(retweet), 0, &out);
	map_ok(empty_page, strlen(empty_page), 0, &out);
	map_ok(empty_array, strlen(empty_array), 0, &out);
	for (size_t i = 0; i < sizeof keepalives / sizeof keepalives[0]; i++)
		map_ok(keepalives[i], strlen(keepalives[i]), 0, &out);
	/* A NULL pointer with no length is a keep-alive too. */
	map_ok(NULL, 0, 0, &out);
	assert_string_equal(out.s, "before\n");
	buf_free(&out);
}

static void
test_partial_errors_with_data(void **state)
{
	struct buf out = BUF_INIT;
	/* X reports a referenced tweet it could not expand next to data; the data stands. */
	static const char doc[] =
	    "{\"data\":[{\"id\":\"40\",\"text\":\"t\",\"author_id\":\"7\",\"conversation_id\":\"40\","
	    "\"created_at\":\"2024-01-01T00:00:00.000Z\"}],\"errors\":[{\"value\":\"39\","
	    "\"detail\":\"Could not find tweet with referenced_tweets.id: [39].\",\"title\":"
	    "\"Not Found Error\",\"resource_type\":\"tweet\",\"parameter\":\"referenced_tweets.id\","
	    "\"resource_id\":\"39\",\"type\":\"https://api.twitter.com/2/problems/resource-not-found\""
	    "}],\"meta\":{\"result_count\":1}}";

	(void)state;
	map_ok(doc, strlen(doc), 1, &out);
	buf_free(&out);
}

/* Maps doc, which must fail with rc; err must contain want and out must be untouched. */
static void
map_fails(const char *doc, int rc, const char *want)
{
	struct buf out = BUF_INIT;
	char err[256];
	size_t skipped = 99;
	int r;

	buf_adds(&out, "kept\n");
	r = map_x(doc, strlen(doc), &out, &skipped, err, sizeof err);
	if (r != rc)
		fail_msg("map_x returned %d, want %d (%s) for %s", r, rc, err, doc);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\" for %s", err, want, doc);
	assert_string_equal(out.s, "kept\n");
	assert_int_equal(out.len, 5);
	assert_int_equal(skipped, 0);
	buf_free(&out);
}

static void
test_error_objects(void **state)
{
	(void)state;
	map_fails("{\"errors\":[{\"title\":\"operational-disconnect\",\"disconnect_type\":"
	    "\"UpstreamOperationalDisconnect\",\"detail\":\"This stream has been disconnected "
	    "upstream for operational reasons.\",\"type\":"
	    "\"https://api.twitter.com/2/problems/operational-disconnect\"}]}", -2,
	    "operational-disconnect: This stream has been disconnected upstream for operational "
	    "reasons.");
	map_fails("{\"errors\":[{\"title\":\"a\"},{\"title\":\"b\"}]}", -2, "a (and more errors)");
	map_fails("{\"errors\":[{\"detail\":\"no title\"}]}", -2, "error: no title");
	map_fails("{\"errors\":[17]}", -2, "error");
	/* A bare problem, as a connection-limit response carries. */
	map_fails("{\"title\":\"ConnectionException\",\"detail\":\"This stream is currently at the "
	    "maximum allowed connection limit.\",\"connection_issue\":\"TooManyConnections\","
	    "\"type\":\"https://api.twitter.com/2/problems/streaming-connection\"}", -2,
	    "ConnectionException: This stream is currently at the maximum allowed connection limit.");
	map_fails("{\"title\":\"Unauthorized\",\"type\":\"about:blank\",\"status\":401}", -2,
	    "Unauthorized");
	/* Found by fuzz_map_x: an empty title still makes a message. */
	map_fails("{\"title\":\"\"}", -2, "error");
	map_fails("{\"errors\":[{\"title\":\"\\u0000x\",\"detail\":\"\"}]}", -2, "error");
}

/* A valid stream document with one field of data replaced by FIELD, for the error table. */
#define TWEET(FIELD)                                                                           \
	"{\"data\":{" FIELD "},\"includes\":{\"users\":[{\"id\":\"7\",\"username\":\"u\"}]}}"
#define GOOD_ID "\"id\":\"1\""
#define GOOD_TEXT "\"text\":\"t\""
#define GOOD_AUTHOR "\"author_id\":\"7\""
#define GOOD_CONV "\"conversation_id\":\"1\""
#define GOOD_TIME "\"created_at\":\"2024-01-01T00:00:00.000Z\""
#define REST_AFTER_ID GOOD_TEXT "," GOOD_AUTHOR "," GOOD_CONV "," GOOD_TIME
#define ALL GOOD_ID "," REST_AFTER_ID

static void
test_malformed(void **state)
{
	static const struct {
		const char *doc, *want;
	} cases[] = {
	    {"{\"data\":", "not JSON: "},
	    {"{\"data\":{\"id\":\"1\"}} trailing", "not JSON: "},
	    {"\xff", "not JSON: "},
	    {"[1,2]", "not a JSON object"},
	    {"42", "not a JSON object"},
	    {"\"x\"", "not a JSON object"},
	    {"{}", "missing field \"data\""},
	    {"{\"data\":null}", "missing field \"data\""},
	    {"{\"meta\":3}", "missing field \"data\""},
	    {"{\"data\":\"x\"}", "field \"data\" is not an object or an array"},
	    {"{\"data\":7}", "field \"data\" is not an object or an array"},
	    {TWEET(REST_AFTER_ID), "missing field \"data.id\""},
	    {TWEET("\"id\":null," REST_AFTER_ID), "missing field \"data.id\""},
	    {TWEET("\"id\":1," REST_AFTER_ID), "field \"data.id\" is not a string"},
	    {TWEET("\"id\":\"\"," REST_AFTER_ID), "field \"data.id\" is not an id of 1 to 32 digits"},
	    {TWEET("\"id\":\"12a\"," REST_AFTER_ID), "field \"data.id\" is not an id"},
	    {TWEET("\"id\":\"-1\"," REST_AFTER_ID), "field \"data.id\" is not an id"},
	    {TWEET("\"id\":\"123456789012345678901234567890123\"," REST_AFTER_ID),
		"field \"data.id\" is not an id"},
	    {TWEET("\"id\":\"1\\u00002\"," REST_AFTER_ID), "field \"data.id\" contains a NUL byte"},
	    {TWEET(GOOD_ID "," GOOD_AUTHOR "," GOOD_CONV "," GOOD_TIME),
		"missing field \"data.text\""},
	    {TWEET(GOOD_ID ",\"text\":[]," GOOD_AUTHOR "," GOOD_CONV "," GOOD_TIME),
		"field \"data.text\" is not a string"},
	    {TWEET(ALL ",\"note_tweet\":\"long\""), "field \"data.note_tweet\" is not an object"},
	    {TWEET(ALL ",\"note_tweet\":{\"text\":5}"),
		"field \"data.note_tweet.text\" is not a string"},
	    {TWEET(GOOD_ID "," GOOD_TEXT "," GOOD_CONV "," GOOD_TIME),
		"missing field \"data.author_id\""},
	    {TWEET(GOOD_ID "," GOOD_TEXT ",\"author_id\":\"@u\"," GOOD_CONV "," GOOD_TIME),
		"field \"data.author_id\" is not an id"},
	    {TWEET(GOOD_ID "," GOOD_TEXT "," GOOD_AUTHOR "," GOOD_TIME),
		"missing field \"data.conversation_id\""},
	    {TWEET(GOOD_ID "," GOOD_TEXT "," GOOD_AUTHOR ",\"conversation_id\":1," GOOD_TIME),
		"field \"data.conversation_id\" is not a string"},
	    {TWEET(GOOD_ID "," GOOD_TEXT "," GOOD_AUTHOR "," GOOD_CONV),
		"missing field \"data.created_at\""},
	    {TWEET(GOOD_ID "," GOOD_TEXT "," GOOD_AUTHOR "," GOOD_CONV ",\"created_at\":0"),
		"field \"data.created_at\" is not a string"},
	    {TWEET(GOOD_ID "," GOOD_TEXT "," GOOD_AUTHOR "," GOOD_CONV
		",\"created_at\":\"Wed Jan 06 18:40:40 +0000 2021\""),
		"field \"data.created_at\" is not an RFC 3339 time: \"Wed Jan 06 18:40:40 +0000 "
		"2021\""},
	    {TWEET(GOOD_ID "," GOOD_TEXT "," GOOD_AUTHOR "," GOOD_CONV
		",\"created_at\":\"2024-02-30T00:00:00Z\""),
		"is not an RFC 3339 time"},
	    /* Parses, but lands before year 0000, which no post can carry. */
	    {TWEET(GOOD_ID "," GOOD_TEXT "," GOOD_AUTHOR "," GOOD_CONV
		",\"created_at\":\"0000-01-01T00:00:00+01:00\""),
		"is not an RFC 3339 time"},
	    {TWEET(ALL ",\"lang\":1"), "field \"data.lang\" is not a string"},
	    {TWEET(ALL ",\"referenced_tweets\":{}"),
		"field \"data.referenced_tweets\" is not an array"},
	    {TWEET(ALL ",\"referenced_tweets\":[\"2\"]"),
		"field \"data.referenced_tweets[0]\" is not an object"},
	    {TWEET(ALL ",\"referenced_tweets\":[{\"type\":\"quoted\",\"id\":\"2\"},{\"id\":\"3\"}]"),
		"missing field \"data.referenced_tweets[1].type\""},
	    {TWEET(ALL ",\"referenced_tweets\":[{\"type\":\"replied_to\",\"id\":2}]"),
		"field \"data.referenced_tweets[0].id\" is not a string"},
	    {TWEET(ALL ",\"referenced_tweets\":[{\"type\":\"replied_to\"}]"),
		"missing field \"data.referenced_tweets[0].id\""},
	    {"{\"data\":{" ALL "},\"includes\":[]}", "field \"includes\" is not an object"},
	    {"{\"data\":{" ALL "},\"includes\":{\"users\":{}}}",
		"field \"includes.users\" is not an array"},
	    {"{\"data\":{" ALL "},\"includes\":{\"users\":[null]}}",
		"field \"includes.users[0]\" is not an object"},
	    {"{\"data\":{" ALL "},\"includes\":{\"users\":[{\"username\":\"u\"}]}}",
		"missing field \"includes.users[0].id\""},
	    {"{\"data\":{" ALL "},\"includes\":{\"users\":[{\"id\":\"7\"}]}}",
		"missing field \"includes.users[0].username\""},
	    {"{\"data\":{" ALL "},\"includes\":{\"users\":[{\"id\":\"8\",\"username\":\"u\"},{\"id\":"
	     "\"7\",\"username\":\"../../evil\"}]}}",
		"field \"includes.users[1].username\" is not an X username"},
	    {"{\"data\":{" ALL "},\"includes\":{\"users\":[{\"id\":\"7\",\"username\":\"\"}]}}",
		"is not an X username"},
	    /* A bad data entry in a stream document is the whole document. */
	    {"{\"data\":{\"id\":\"1\",\"text\":\"t\"}}", "missing field \"data.author_id\""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		map_fails(cases[i].doc, -1, cases[i].want);
}

static void
test_page_skips_bad_tweets(void **state)
{
	struct buf out = BUF_INIT;
	static const char doc[] =
	    "{\"data\":[{\"id\":\"1\",\"text\":\"a\",\"author_id\":\"7\",\"conversation_id\":\"1\"},"
	    "{" ALL "},7,{\"id\":\"3\",\"text\":\"c\",\"author_id\":\"7\",\"conversation_id\":\"1\","
	    "\"created_at\":\"2024-01-01T00:00:01Z\"}],\"includes\":{\"users\":[{\"id\":\"7\","
	    "\"username\":\"u\"}]},\"meta\":{\"result_count\":4}}";
	const struct want w0 = {"1", "1", NULL, "u", "2024-01-01T00:00:00Z", "t",
	    "https://x.com/u/status/1", NULL};
	const struct want w1 = {"3", "1", NULL, "u", "2024-01-01T00:00:01Z", "c",
	    "https://x.com/u/status/3", NULL};
	size_t skipped;
	char err[256];

	(void)state;
	assert_int_equal(map_x(doc, strlen(doc), &out, &skipped, err, sizeof err), 2);
	assert_int_equal(skipped, 2);
	/* The first reason is kept, not the last. */
	assert_string_equal(err, "missing field \"data[0].created_at\"");
	check_line(&out, 0, &w0);
	check_line(&out, 1, &w1);

	/* The caller may ignore the count and the reason. */
	buf_reset(&out);
	assert_int_equal(map_x(doc, strlen(doc), &out, NULL, NULL, 0), 2);
	assert_int_equal(map_x("{", 1, &out, NULL, NULL, 0), -1);
	assert_int_equal(map_x("{\"errors\":[{}]}", 15, &out, NULL, NULL, 0), -2);
	assert_int_equal(lines(&out), 2);

	/* A small err buffer cuts the reason short but stays terminated. */
	assert_int_equal(map_x("{\"data\":1}", 10, &out, NULL, err, 8), -1);
	assert_string_equal(err, "field \"");
	buf_free(&out);
}

static void
test_id_limits(void **state)
{
	struct buf out = BUF_INIT;
	/* 32 digits is the most an id may have. */
	static const char doc[] =
	    "{\"data\":{\"id\":\"12345678901234567890123456789012\",\"text\":\"t\",\"author_id\":"
	    "\"0\",\"conversation_id\":\"12345678901234567890123456789012\",\"created_at\":"
	    "\"9999-12-31T23:59:59.999Z\"}}";
	const struct want w = {"12345678901234567890123456789012",
	    "12345678901234567890123456789012", NULL, "0", "9999-12-31T23:59:59Z", "t",
	    "https://x.com/i/web/status/12345678901234567890123456789012", NULL};

	(void)state;
	map_ok(doc, strlen(doc), 1, &out);
	check_line(&out, 0, &w);
	buf_free(&out);
}

/* map_x_span() tells back the tweets it appended, so the X source never reads them again. */
static void
test_span(void **state)
{
	struct buf out = BUF_INIT;
	struct map_span span;
	char err[256];

	(void)state;
	int n = map_x_span(search_page, strlen(search_page), &out, NULL, &span, err, sizeof err);

	assert_true(n > 1);
	assert_int_equal(span.posts, n);
	assert_true(span.oldest < span.newest);
	check_span(&out, 0, &span);
	buf_reset(&out);
	assert_int_equal(map_x_span(stream_reply, strlen(stream_reply), &out, NULL, &span, err,
	    sizeof err), 1);
	assert_string_equal(span.newest_id, "1790013344455566677");
	check_span(&out, 0, &span);
	/* A keep-alive appends nothing and leaves nothing from before. */
	assert_int_equal(map_x_span("", 0, &out, NULL, &span, err, sizeof err), 0);
	assert_int_equal(span.posts, 0);
	assert_string_equal(span.newest_id, "");
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream_reply),
	    cmocka_unit_test(test_stream_brand_and_root),
	    cmocka_unit_test(test_search_page),
	    cmocka_unit_test(test_no_includes_and_nulls),
	    cmocka_unit_test(test_text_escapes),
	    cmocka_unit_test(test_long_post),
	    cmocka_unit_test(test_retweet_and_empty),
	    cmocka_unit_test(test_partial_errors_with_data),
	    cmocka_unit_test(test_error_objects),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_page_skips_bad_tweets),
	    cmocka_unit_test(test_id_limits),
	    cmocka_unit_test(test_span),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
