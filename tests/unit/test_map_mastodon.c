/* Mastodon Status JSON to native posts, read back with post_parse(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "map_mastodon.h"
#include "post.h"
#include "xmalloc.h"

#define HOST "mastodon.social"

/*
 * A thread as mastodon.social shows it: a customer on another instance
 * mentions the brand, the brand (a local account, so its acct has no host)
 * answers, the customer replies. Fields follow the Status entity in
 * docs.joinmastodon.org; content is the sanitized HTML Mastodon serves.
 */
static const char customer_root[] =
    "{\"id\":\"112233445566770000\",\"created_at\":\"2024-03-05T13:58:02.000Z\","
    "\"in_reply_to_id\":null,\"in_reply_to_account_id\":null,\"sensitive\":false,"
    "\"spoiler_text\":\"\",\"visibility\":\"public\",\"language\":\"en\","
    "\"uri\":\"https://fosstodon.org/users/jdoe/statuses/112233440000000001\","
    "\"url\":\"https://fosstodon.org/@jdoe/112233440000000001\",\"replies_count\":1,"
    "\"reblogs_count\":0,\"favourites_count\":2,\"edited_at\":null,\"favourited\":false,"
    "\"reblogged\":false,\"muted\":false,\"bookmarked\":false,"
    "\"content\":\"<p><span class=\\\"h-card\\\" translate=\\\"no\\\"><a "
    "href=\\\"https://mastodon.social/@AcmeSupport\\\" class=\\\"u-url mention\\\">@<span>"
    "AcmeSupport</span></a></span> my order <a href=\\\"https://mastodon.social/tags/acme\\\" "
    "class=\\\"mention hashtag\\\" rel=\\\"tag\\\">#<span>acme</span></a> 4471 never arrived "
    "&amp; nobody answers the phone</p>\","
    "\"filtered\":[],\"reblog\":null,\"application\":null,"
    "\"account\":{\"id\":\"109364712345678901\",\"username\":\"jdoe\","
    "\"acct\":\"jdoe@fosstodon.org\",\"display_name\":\"Jane Doe\",\"locked\":false,"
    "\"bot\":false,\"discoverable\":true,\"group\":false,"
    "\"created_at\":\"2022-11-14T00:00:00.000Z\",\"note\":\"<p>tinkerer</p>\","
    "\"url\":\"https://fosstodon.org/@jdoe\",\"avatar\":\"https://files.mastodon.social/"
    "cache/accounts/avatars/109/364/712/345/678/901/original/a.png\",\"followers_count\":120,"
    "\"following_count\":80,\"statuses_count\":900,\"last_status_at\":\"2024-03-05\","
    "\"emojis\":[],\"fields\":[]},"
    "\"media_attachments\":[],\"mentions\":[{\"id\":\"110000000000000001\","
    "\"username\":\"AcmeSupport\",\"url\":\"https://mastodon.social/@AcmeSupport\","
    "\"acct\":\"AcmeSupport\"}],\"tags\":[{\"name\":\"acme\","
    "\"url\":\"https://mastodon.social/tags/acme\"}],\"emojis\":[],\"card\":null,\"poll\":null}";

static const char brand_reply[] =
    "{\"id\":\"112233445566778899\",\"created_at\":\"2024-03-05T14:22:31.407Z\","
    "\"in_reply_to_id\":\"112233445566770000\",\"in_reply_to_account_id\":"
    "\"109364712345678901\",\"sensitive\":false,\"spoiler_text\":\"\","
    "\"visibility\":\"public\",\"language\":\"en\","
    "\"uri\":\"https://mastodon.social/users/AcmeSupport/statuses/112233445566778899\","
    "\"url\":\"https://mastodon.social/@AcmeSupport/112233445566778899\","
    "\"replies_count\":1,\"reblogs_count\":0,\"favourites_count\":0,\"edited_at\":null,"
    "\"favourited\":false,\"reblogged\":false,\"muted\":false,\"bookmarked\":false,"
    "\"pinned\":false,"
    "\"content\":\"<p><span class=\\\"h-card\\\" translate=\\\"no\\\"><a "
    "href=\\\"https://fosstodon.org/@jdoe\\\" class=\\\"u-url mention\\\">@<span>jdoe</span>"
    "</a></span> Sorry to hear that! Please send us a DM with your order number, or reach us "
    "at <a href=\\\"https://acme.example/help/contact?src=mastodon\\\" target=\\\"_blank\\\" "
    "rel=\\\"nofollow noopener noreferrer\\\" translate=\\\"no\\\"><span "
    "class=\\\"invisible\\\">https://</span><span class=\\\"ellipsis\\\">acme.example/help/"
    "contac</span><span class=\\\"invisible\\\">t?src=mastodon</span></a> \\u2014 we\\u2019ll "
    "sort it out.</p>\","
    "\"filtered\":[],\"reblog\":null,\"application\":{\"name\":\"Web\",\"website\":null},"
    "\"account\":{\"id\":\"110000000000000001\",\"username\":\"AcmeSupport\","
    "\"acct\":\"AcmeSupport\",\"display_name\":\"Acme Support\",\"locked\":false,"
    "\"bot\":false,\"discoverable\":true,\"group\":false,"
    "\"created_at\":\"2023-04-01T00:00:00.000Z\",\"note\":\"<p>Help 9-5 CET</p>\","
    "\"url\":\"https://mastodon.social/@AcmeSupport\",\"followers_count\":5400,"
    "\"following_count\":3,\"statuses_count\":18000,\"last_status_at\":\"2024-03-05\","
    "\"emojis\":[],\"fields\":[]},"
    "\"media_attachments\":[],\"mentions\":[{\"id\":\"109364712345678901\","
    "\"username\":\"jdoe\",\"url\":\"https://fosstodon.org/@jdoe\","
    "\"acct\":\"jdoe@fosstodon.org\"}],\"tags\":[],\"emojis\":[],"
    "\"card\":{\"url\":\"https://acme.example/help/contact?src=mastodon\","
    "\"title\":\"Contact Acme\",\"description\":\"\",\"type\":\"link\"},\"poll\":null}";

/* Unlisted, no language, and a time with an offset, as other servers send. */
static const char customer_reply[] =
    "{\"id\":\"112233445566780001\",\"created_at\":\"2024-03-05T16:40:10.5+01:00\","
    "\"in_reply_to_id\":\"112233445566778899\",\"in_reply_to_account_id\":"
    "\"110000000000000001\",\"sensitive\":false,\"spoiler_text\":\"\","
    "\"visibility\":\"unlisted\",\"language\":null,"
    "\"uri\":\"https://fosstodon.org/users/jdoe/statuses/112233440000000002\","
    "\"url\":null,\"replies_count\":0,\"reblogs_count\":0,\"favourites_count\":0,"
    "\"edited_at\":null,\"content\":\"<p><span class=\\\"h-card\\\"><a "
    "href=\\\"https://mastodon.social/@AcmeSupport\\\" class=\\\"u-url mention\\\">@<span>"
    "AcmeSupport</span></a></span> done, thanks. all sorted now!</p>\","
    "\"reblog\":null,\"application\":null,"
    "\"account\":{\"id\":\"109364712345678901\",\"username\":\"jdoe\","
    "\"acct\":\"jdoe@fosstodon.org\",\"display_name\":\"Jane Doe\"},"
    "\"media_attachments\":[],\"mentions\":[],\"tags\":[],\"emojis\":[],\"card\":null,"
    "\"poll\":null}";

/* Conversations the caller remembers, for conversation_of(). */
static const char *
known_conversation(void *arg, const char *status_id)
{
	static const char *const known[][2] = {
	    {"112233445566770000", "112233445566770000"},
	    {"112233445566778899", "112233445566770000"},
	    {"555", ""}, /* a broken memory: must not be used */
	};

	if (arg != NULL)
		(*(int *)arg)++;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (strcmp(known[i][0], status_id) == 0)
			return known[i][1];
	}
	return NULL;
}

/*
 * Returns base with the field at path ("account.acct") set to v, or removed
 * when v is NULL; the caller frees the string.
 */
static char *
variant(const char *base, const char *path, json_t *v)
{
	json_t *root = json_loads(base, 0, NULL), *o = root;
	char key[64];
	const char *dot;
	char *s;

	assert_non_null(root);
	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		assert_non_null(o);
		path = dot + 1;
	}
	if (v == NULL)
		json_object_del(o, path);
	else
		json_object_set_new(o, path, v);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

/* Maps json with the test host and memory, as the live source would. */
static int
map(const char *json, struct buf *out, char *err)
{
	err[0] = '\0';
	return map_mastodon_status(json, strlen(json), HOST, known_conversation, NULL, out, err,
	    256);
}

/* Reads line (one, with its "\n") back as deflectd reads native posts. */
static void
parse_back(const char *line, size_t len, struct post *p)
{
	char err[256];

	assert_true(len > 0 && line[len - 1] == '\n');
	assert_null(memchr(line, '\n', len - 1));
	if (post_parse(NULL, line, len - 1, p, err, sizeof err) != 0)
		fail_msg("post_parse rejected %.*s: %s", (int)len, line, err);
}

static void
test_brand_reply(void **state)
{
	struct buf out = BUF_INIT;
	struct post p;
	char err[256];

	(void)state;
	assert_int_equal(map(brand_reply, &out, err), 1);
	assert_string_equal(err, "");
	/* The whole line, field order included, is the contract with readers. */
	assert_non_null(strstr(out.s,
	    "{\"id\":\"112233445566778899\",\"platform\":\"mastodon\","
	    "\"conversation_id\":\"112233445566770000\","
	    "\"in_reply_to_id\":\"112233445566770000\","
	    "\"author\":\"AcmeSupport@mastodon.social\","
	    "\"created_at\":\"2024-03-05T14:22:31Z\",\"text\":\"<p><span class=\\\"h-card\\\""));
	assert_non_null(strstr(out.s, "\"url\":\"https://mastodon.social/@AcmeSupport/"
				      "112233445566778899\",\"lang\":\"en\"}\n"));

	parse_back(out.s, out.len, &p);
	assert_string_equal(p.id, "112233445566778899");
	assert_string_equal(p.platform, "mastodon");
	assert_string_equal(p.conversation_id, "112233445566770000");
	assert_string_equal(p.in_reply_to_id, "112233445566770000");
	assert_string_equal(p.author, "AcmeSupport@mastodon.social");
	assert_int_equal(p.created_at, 1709648551);
	assert_string_equal(p.url, "https://mastodon.social/@AcmeSupport/112233445566778899");
	assert_string_equal(p.lang, "en");
	assert_null(p.brand);
	assert_int_equal(p.author_is_brand, -1);
	/* The HTML is kept for the normalizer, escapes decoded once by JSON. */
	assert_true(strncmp(p.text, "<p><span class=\"h-card\" translate=\"no\"><a href=\"https://"
				    "fosstodon.org/@jdoe\" class=\"u-url mention\">",
			94) == 0);
	assert_non_null(strstr(p.text, "<span class=\"invisible\">t?src=mastodon</span></a> "
				       "\xe2\x80\x94 we\xe2\x80\x99ll sort it out.</p>"));
	assert_int_equal(p.text_len, strlen(p.text));
	post_release(&p);
	buf_free(&out);
}

static void
test_root_and_remote_author(void **state)
{
	struct buf out = BUF_INIT;
	struct post p;
	char err[256];

	(void)state;
	assert_int_equal(map(customer_root, &out, err), 1);
	parse_back(out.s, out.len, &p);
	/* A root is its own conversation; a remote acct is already qualified. */
	assert_string_equal(p.conversation_id, "112233445566770000");
	assert_null(p.in_reply_to_id);
	assert_string_equal(p.author, "jdoe@fosstodon.org");
	assert_int_equal(p.created_at, 1709647082);
	assert_non_null(strstr(p.text, "4471 never arrived &amp; nobody"));
	assert_non_null(strstr(out.s, "\"in_reply_to_id\":null,"));
	post_release(&p);

	/* Unlisted passes; null url and language are left out; offsets become UTC. */
	buf_reset(&out);
	assert_int_equal(map(customer_reply, &out, err), 1);
	assert_null(strstr(out.s, "\"url\""));
	assert_null(strstr(out.s, "\"lang\""));
	assert_non_null(strstr(out.s, "\"created_at\":\"2024-03-05T15:40:10Z\""));
	parse_back(out.s, out.len, &p);
	assert_null(p.url);
	assert_null(p.lang);
	/* The parent is known, so its conversation carries over. */
	assert_string_equal(p.conversation_id, "112233445566770000");
	assert_string_equal(p.in_reply_to_id, "112233445566778899");
	post_release(&p);
	buf_free(&out);
}

static void
test_conversation(void **state)
{
	struct buf out = BUF_INIT;
	struct post p;
	char err[256], *s;
	int calls = 0;

	(void)state;
	/* Unknown parent: the parent stands in for the root. */
	s = variant(customer_reply, "in_reply_to_id", json_string("999"));
	assert_int_equal(map(s, &out, err), 1);
	parse_back(out.s, out.len, &p);
	assert_string_equal(p.conversation_id, "999");
	post_release(&p);

	/* A memory that returns a bad id is not trusted. */
	buf_reset(&out);
	free(s);
	s = variant(customer_reply, "in_reply_to_id", json_string("555"));
	assert_int_equal(map(s, &out, err), 1);
	parse_back(out.s, out.len, &p);
	assert_string_equal(p.conversation_id, "555");
	post_release(&p);

	/* No memory at all. */
	buf_reset(&out);
	assert_int_equal(map_mastodon_status(customer_reply, strlen(customer_reply), HOST, NULL,
			     NULL, &out, err, sizeof err),
	    1);
	parse_back(out.s, out.len, &p);
	assert_string_equal(p.conversation_id, "112233445566778899");
	post_release(&p);

	/* The memory is asked about the parent only, and not for a root. */
	buf_reset(&out);
	assert_int_equal(map_mastodon_status(customer_reply, strlen(customer_reply), HOST,
			     known_conversation, &calls, &out, err, sizeof err),
	    1);
	assert_int_equal(calls, 1);
	assert_int_equal(map_mastodon_status(customer_root, strlen(customer_root), HOST,
			     known_conversation, &calls, &out, err, sizeof err),
	    1);
	assert_int_equal(calls, 1);
	/* out gathers lines. */
	assert_non_null(strchr(out.s, '\n'));
	assert_int_equal(strchr(out.s, '\n')[1], '{');
	free(s);
	buf_free(&out);
}

static void
test_skipped(void **state)
{
	struct buf out = BUF_INIT;
	char err[256], *s;
	static const char *const hidden[] = {"private", "direct", "limited", "local", ""};
	json_t *boost;

	(void)state;
	buf_adds(&out, "keep");
	/* A boost: its own fields are fine, the wrapped status is someone else's. */
	boost = json_loads(brand_reply, 0, NULL);
	s = variant(customer_root, "reblog", boost);
	assert_int_equal(map(s, &out, err), 0);
	free(s);
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
		s = variant(brand_reply, "visibility", json_string(hidden[i]));
		assert_int_equal(map(s, &out, err), 0);
		free(s);
	}
	/* A skipped status is not checked further. */
	s = variant(brand_reply, "account", NULL);
	{
		char *t = variant(s, "visibility", json_string("private"));

		assert_int_equal(map(t, &out, err), 0);
		free(t);
	}
	free(s);
	assert_string_equal(out.s, "keep");
	assert_string_equal(err, "");
	buf_free(&out);
}

/* Maps json, which must fail with a message starting with want, leaving out alone. */
static void
bad(const char *json, size_t len, const char *host, const char *want)
{
	struct buf out = BUF_INIT;
	char err[256];

	buf_adds(&out, "keep");
	err[0] = '\0';
	if (map_mastodon_status(json, len, host, known_conversation, NULL, &out, err,
		sizeof err) != -1)
		fail_msg("accepted %.*s", (int)len, json);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got  \"%s\"\nwant \"%s...\"", err, want);
	assert_string_equal(out.s, "keep");
	assert_int_equal(out.len, 4);
	buf_free(&out);
}

/* As bad(), for brand_reply with one field changed (or removed when v is NULL). */
static void
bad_field(const char *path, json_t *v, const char *want)
{
	char *s = variant(brand_reply, path, v);

	bad(s, strlen(s), HOST, want);
	free(s);
}

static void
test_errors(void **state)
{
	char long_id[MAP_MASTODON_ID_MAX + 2];
	char ok_id[MAP_MASTODON_ID_MAX + 1];
	struct buf out = BUF_INIT;
	char err[256], *s;

	(void)state;
	bad("", 0, HOST, "not JSON: ");
	bad("{\"id\":", 6, HOST, "not JSON: ");
	bad("[1,2]", 5, HOST, "not a JSON object");
	bad("\"update\"", 8, HOST, "not a JSON object");
	bad("{\"id\":\"1\",\"id\":\"2\"}", 19, HOST, "not JSON: duplicate object key");
	/* jansson refuses an escaped NUL, so no string here can hide one. */
	bad("{\"id\":\"1\\u0000\"}", 15, HOST, "not JSON: ");
	/* Invalid UTF-8 anywhere. */
	bad("{\"id\":\"\xff\"}", 10, HOST, "not JSON: ");
	/* The length given is the document: a NUL-terminated prefix is not read past. */
	bad(brand_reply, 40, HOST, "not JSON: ");

	bad_field("id", NULL, "missing field \"id\"");
	bad_field("id", json_null(), "missing field \"id\"");
	bad_field("id", json_integer(112233), "field \"id\" is not a string");
	bad_field("id", json_string(""), "field \"id\" is empty");
	bad_field("id", json_string("11 22"), "field \"id\" holds a space or a non-ASCII byte");
	bad_field("id", json_string("caf\xc3\xa9"), "field \"id\" holds a space");
	memset(long_id, '7', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	bad_field("id", json_string(long_id), "field \"id\" is longer than 64 bytes");
	bad_field("reblog", json_string("x"), "field \"reblog\" is not an object or null");
	bad_field("reblog", json_false(), "field \"reblog\" is not an object or null");
	bad_field("visibility", NULL, "missing field \"visibility\"");
	bad_field("visibility", json_integer(1), "field \"visibility\" is not a string");
	bad_field("in_reply_to_id", json_integer(5), "field \"in_reply_to_id\" is not a string");
	bad_field("in_reply_to_id", json_string(""), "field \"in_reply_to_id\" is empty");
	bad_field("in_reply_to_id", json_string(long_id), "field \"in_reply_to_id\" is longer");
	bad_field("account", NULL, "missing field \"account\"");
	bad_field("account", json_string("AcmeSupport"), "field \"account\" is not an object");
	bad_field("account.acct", NULL, "missing field \"account.acct\"");
	bad_field("account.acct", json_null(), "missing field \"account.acct\"");
	bad_field("account.acct", json_integer(3), "field \"account.acct\" is not a string");
	bad_field("account.acct", json_string(""), "field \"account.acct\" is empty");
	bad_field("account.acct", json_string("a@b@c"), "bad account.acct \"a@b@c\"");
	bad_field("account.acct", json_string("@fosstodon.org"), "bad account.acct");
	bad_field("account.acct", json_string("jdoe@"), "bad account.acct");
	bad_field("account.acct", json_string("j doe"), "bad account.acct");
	bad_field("account.acct", json_string("jdoe\n@x"), "bad account.acct");
	bad_field("created_at", NULL, "missing field \"created_at\"");
	bad_field("created_at", json_integer(1709648551), "field \"created_at\" is not a string");
	bad_field("created_at", json_string("yesterday"), "bad created_at \"yesterday\"");
	bad_field("created_at", json_string("2024-02-30T00:00:00Z"), "bad created_at");
	bad_field("created_at", json_string("2024-03-05T14:22:31"), "bad created_at");
	bad_field("created_at", json_string("0000-01-01T00:30:00+01:00"),
	    "created_at \"0000-01-01T00:30:00+01:00\" is out of range");
	bad_field("content", NULL, "missing field \"content\"");
	bad_field("content", json_null(), "missing field \"content\"");
	bad_field("content", json_array(), "field \"content\" is not a string");
	bad_field("url", json_integer(1), "field \"url\" is not a string");
	bad_field("language", json_true(), "field \"language\" is not a string");

	/* A local account needs the caller's host, and a sane one. */
	bad(brand_reply, strlen(brand_reply), NULL,
	    "local account \"AcmeSupport\" and no instance host");
	bad(brand_reply, strlen(brand_reply), "", "local account");
	bad(brand_reply, strlen(brand_reply), "mastodon social", "bad instance host");
	bad(brand_reply, strlen(brand_reply), "u@mastodon.social", "bad instance host");
	bad(brand_reply, strlen(brand_reply), "m\xc3\xa9.social", "bad instance host");
	/* A remote one does not. */
	assert_int_equal(map_mastodon_status(customer_root, strlen(customer_root), NULL, NULL, NULL,
			     &out, err, sizeof err),
	    1);

	/* The limits themselves pass: a 64-byte id, empty content, extra fields. */
	memset(ok_id, '8', sizeof ok_id - 1);
	ok_id[sizeof ok_id - 1] = '\0';
	s = variant(brand_reply, "id", json_string(ok_id));
	buf_reset(&out);
	assert_int_equal(map(s, &out, err), 1);
	free(s);
	s = variant(brand_reply, "content", json_string(""));
	assert_int_equal(map(s, &out, err), 1);
	assert_non_null(strstr(out.s, "\"text\":\"\""));
	free(s);
	/* A tiny error buffer is cut short, never overrun. */
	assert_int_equal(map_mastodon_status("[]", 2, HOST, NULL, NULL, &out, err, 5), -1);
	assert_string_equal(err, "not ");
	assert_int_equal(map_mastodon_status("[]", 2, HOST, NULL, NULL, &out, NULL, 0), -1);
	buf_free(&out);
}

/* Builds a /context answer from status documents. */
static char *
context(const char *const *anc, size_t nanc, const char *const *desc, size_t ndesc)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "{\"ancestors\":[");
	for (size_t i = 0; i < nanc; i++)
		buf_printf(&b, "%s%s", i ? "," : "", anc[i]);
	buf_adds(&b, "],\"descendants\":[");
	for (size_t i = 0; i < ndesc; i++)
		buf_printf(&b, "%s%s", i ? "," : "", desc[i]);
	buf_adds(&b, "]}");
	return b.s;
}

/* Splits out into lines and parses each; returns how many. */
static size_t
parse_lines(const struct buf *out, struct post *posts, size_t max)
{
	const char *p = out->s, *nl;
	size_t n = 0;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true(n < max);
		parse_back(p, (size_t)(nl - p + 1), &posts[n++]);
		p = nl + 1;
	}
	return n;
}

static void
test_context(void **state)
{
	struct buf out = BUF_INIT;
	struct post p[8];
	char err[256], *doc, *priv, *broken, *boost;
	size_t bad_count = 99, n, i;
	json_t *inner;

	(void)state;
	/* The focal status is the customer's reply: the root and the brand precede it. */
	priv = variant(customer_reply, "visibility", json_string("direct"));
	broken = variant(customer_reply, "account.acct", NULL);
	inner = json_loads(customer_root, 0, NULL);
	boost = variant(brand_reply, "reblog", inner);
	{
		const char *anc[] = {customer_root, brand_reply};
		const char *desc[] = {brand_reply, priv, broken, boost, customer_reply};

		doc = context(anc, 2, desc, 5);
	}
	buf_adds(&out, "");
	assert_int_equal(map_mastodon_context(doc, strlen(doc), "112233445566780001", HOST, &out,
			     &bad_count, err, sizeof err),
	    4);
	assert_int_equal(bad_count, 1);
	assert_string_equal(err, "descendants[2]: missing field \"account.acct\"");
	n = parse_lines(&out, p, 8);
	assert_int_equal(n, 4);
	/* Everyone, the root included, is in the root's conversation. */
	for (i = 0; i < n; i++) {
		assert_string_equal(p[i].conversation_id, "112233445566770000");
		assert_string_equal(p[i].platform, "mastodon");
	}
	assert_string_equal(p[0].id, "112233445566770000");
	assert_null(p[0].in_reply_to_id);
	assert_string_equal(p[1].author, "AcmeSupport@mastodon.social");
	assert_string_equal(p[3].id, "112233445566780001");
	assert_string_equal(p[3].in_reply_to_id, "112233445566778899");
	for (i = 0; i < n; i++)
		post_release(&p[i]);
	free(doc);

	/* No ancestors: the focal status is the root. */
	buf_reset(&out);
	{
		const char *desc[] = {brand_reply, customer_reply};

		doc = context(NULL, 0, desc, 2);
	}
	assert_int_equal(map_mastodon_context(doc, strlen(doc), "112233445566770000", HOST, &out,
			     NULL, err, sizeof err),
	    2);
	assert_string_equal(err, "");
	n = parse_lines(&out, p, 8);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].conversation_id, "112233445566770000");
	assert_string_equal(p[1].conversation_id, "112233445566770000");
	post_release(&p[0]);
	post_release(&p[1]);
	free(doc);

	/* An empty thread. */
	buf_reset(&out);
	assert_int_equal(map_mastodon_context("{\"ancestors\":[],\"descendants\":[]}", 33, "1",
			     HOST, &out, &bad_count, err, sizeof err),
	    0);
	assert_int_equal(bad_count, 0);
	assert_int_equal(out.len, 0);

	free(priv);
	free(broken);
	free(boost);
	buf_free(&out);
}

/* The context document must fail as a whole with want, leaving out alone. */
static void
bad_context(const char *doc, const char *focal, const char *want)
{
	struct buf out = BUF_INIT;
	char err[256];
	size_t nbad = 99;

	buf_adds(&out, "keep");
	if (map_mastodon_context(doc, strlen(doc), focal, HOST, &out, &nbad, err, sizeof err) !=
	    -1)
		fail_msg("accepted %s", doc);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got  \"%s\"\nwant \"%s...\"", err, want);
	assert_string_equal(out.s, "keep");
	assert_int_equal(nbad, 0);
	buf_free(&out);
}

static void
test_context_errors(void **state)
{
	char *doc, *noid;

	(void)state;
	bad_context("{", "1", "not JSON: ");
	bad_context("[]", "1", "not a JSON object");
	bad_context("{\"descendants\":[]}", "1", "missing field \"ancestors\"");
	bad_context("{\"ancestors\":[]}", "1", "missing field \"descendants\"");
	bad_context("{\"ancestors\":{},\"descendants\":[]}", "1",
	    "field \"ancestors\" is not an array");
	bad_context("{\"ancestors\":[],\"descendants\":\"\"}", "1",
	    "field \"descendants\" is not an array");
	bad_context("{\"ancestors\":[],\"descendants\":[]}", "", "bad focal status id");
	bad_context("{\"ancestors\":[],\"descendants\":[]}", "a b", "bad focal status id");
	bad_context("{\"ancestors\":[],\"descendants\":[]}", NULL, "bad focal status id");
	/* Without a usable root there is no conversation to put anyone in. */
	bad_context("{\"ancestors\":[7],\"descendants\":[]}", "1",
	    "ancestors[0]: status is not a JSON object");
	noid = variant(customer_root, "id", NULL);
	{
		const char *anc[] = {noid, brand_reply};

		doc = context(anc, 2, NULL, 0);
	}
	bad_context(doc, "1", "ancestors[0]: missing field \"id\"");
	free(doc);
	free(noid);
}

static void
test_id_order(void **state)
{
	(void)state;
	assert_true(post_id_cmp("9", "10") < 0);
	assert_true(post_id_cmp("10", "9") > 0);
	assert_true(post_id_cmp("112233445566778899", "112233445566780001") < 0);
	assert_int_equal(post_id_cmp("112233445566778899", "112233445566778899"), 0);
	assert_true(post_id_cmp("", "1") < 0);
}

/* Sets a status's id and parent (NULL: none); the caller frees the string. */
static char *
with_ids(const char *base, const char *id, const char *parent)
{
	char *a = variant(base, "id", json_string(id));
	char *b = variant(a, "in_reply_to_id", parent ? json_string(parent) : json_null());

	free(a);
	return b;
}

static void
test_statuses(void **state)
{
	struct buf out = BUF_INIT;
	struct post p[8];
	char err[256], newest[MAP_MASTODON_ID_MAX + 1], *priv, *broken, *boost, *doc;
	char *a, *b, *c, *hidden;
	size_t nbad = 99, n;
	int calls = 0;

	(void)state;
	/* Newest first, as Mastodon answers, with statuses that are not posts of ours. */
	hidden = variant(customer_reply, "visibility", json_string("private"));
	priv = with_ids(hidden, "112233445566790000", NULL);
	free(hidden);
	broken = variant(customer_reply, "account.acct", NULL);
	boost = variant(brand_reply, "reblog", json_loads(customer_root, 0, NULL));
	{
		struct buf d = BUF_INIT;

		buf_printf(&d, "[%s,%s,%s,%s,%s]", priv, broken, customer_reply, boost,
		           customer_root);
		doc = d.s;
	}
	assert_int_equal(map_mastodon_statuses(doc, strlen(doc), HOST, known_conversation, &calls,
	                                       &out, newest, sizeof newest, &nbad, err, sizeof err),
	                 2);
	assert_int_equal(nbad, 1);
	assert_string_equal(err, "status 112233445566780001: missing field \"account.acct\"");
	/* The private status is the newest place in the timeline, though not a post. */
	assert_string_equal(newest, "112233445566790000");
	n = parse_lines(&out, p, 8);
	assert_int_equal(n, 2);
	/* Oldest first. */
	assert_string_equal(p[0].id, "112233445566770000");
	assert_string_equal(p[1].id, "112233445566780001");
	assert_string_equal(p[1].conversation_id, "112233445566770000");
	assert_true(calls > 0);
	post_release(&p[0]);
	post_release(&p[1]);
	free(doc);

	/*
	 * A thread inside one page, unknown to the caller: each reply joins the
	 * conversation of the status before it in the page.
	 */
	a = with_ids(brand_reply, "900", NULL);
	b = with_ids(brand_reply, "1000", "900");
	c = with_ids(brand_reply, "1001", "1000");
	{
		struct buf d = BUF_INIT;

		buf_printf(&d, "[%s,%s,%s]", c, b, a);
		doc = d.s;
	}
	buf_reset(&out);
	assert_int_equal(map_mastodon_statuses(doc, strlen(doc), HOST, NULL, NULL, &out, newest,
	                                       sizeof newest, NULL, err, sizeof err),
	                 3);
	assert_string_equal(newest, "1001");
	n = parse_lines(&out, p, 8);
	assert_int_equal(n, 3);
	assert_string_equal(p[0].id, "900");
	assert_string_equal(p[2].id, "1001");
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(p[i].conversation_id, "900");
		post_release(&p[i]);
	}
	free(doc);
	free(a);
	free(b);
	free(c);

	/* An empty page, and documents that are not pages. */
	buf_reset(&out);
	assert_int_equal(map_mastodon_statuses("[]", strlen("[]"), HOST, NULL, NULL, &out, newest,
	                                       sizeof newest, &nbad, err, sizeof err),
	                 0);
	assert_string_equal(newest, "");
	assert_int_equal(nbad, 0);
	buf_adds(&out, "keep");
	assert_int_equal(map_mastodon_statuses("{}", strlen("{}"), HOST, NULL, NULL, &out, newest,
	                                       sizeof newest, &nbad, err, sizeof err),
	                 -1);
	assert_string_equal(err, "not a JSON array");
	assert_int_equal(map_mastodon_statuses("[", strlen("["), HOST, NULL, NULL, &out, newest,
	                                       sizeof newest, &nbad, err, sizeof err),
	                 -1);
	assert_true(strncmp(err, "not JSON: ", 10) == 0);
	assert_string_equal(out.s, "keep");
	/* Elements that are not statuses are bad statuses, not a bad page. */
	assert_int_equal(map_mastodon_statuses("[1,{\"id\":\"a b\"}]",
	                                       strlen("[1,{\"id\":\"a b\"}]"), HOST, NULL, NULL,
	                                       &out, newest, sizeof newest, &nbad, err, sizeof err),
	                 0);
	assert_int_equal(nbad, 2);
	assert_string_equal(newest, "");
	free(priv);
	free(broken);
	free(boost);
	buf_free(&out);
}

static void
test_account_id(void **state)
{
	char id[MAP_MASTODON_ID_MAX + 1], err[256];
	const char *ok = "{\"id\":\"109364712345678901\",\"username\":\"AcmeSupport\","
	                 "\"acct\":\"AcmeSupport\"}";

	(void)state;
	assert_int_equal(map_mastodon_account_id(ok, strlen(ok), id, sizeof id, err, sizeof err),
	                 0);
	assert_string_equal(id, "109364712345678901");
	assert_int_equal(map_mastodon_account_id("{\"error\":\"Record not found\"}",
	                                         strlen("{\"error\":\"Record not found\"}"), id,
	                                         sizeof id, err, sizeof err),
	                 -1);
	assert_string_equal(err, "missing field \"id\"");
	assert_int_equal(
	    map_mastodon_account_id("[]", strlen("[]"), id, sizeof id, err, sizeof err), -1);
	assert_string_equal(err, "not a JSON object");
	assert_int_equal(map_mastodon_account_id("{\"id\":\"1 2\"}", strlen("{\"id\":\"1 2\"}"), id,
	                                         sizeof id, err, sizeof err),
	                 -1);
	assert_int_equal(map_mastodon_account_id(ok, strlen(ok), id, 5, err, sizeof err), -1);
	assert_string_equal(err, "field \"id\" is too long");
}

/* The streaming base read from an instance answer whose streaming URL is v. */
static int
streaming(const char *v, char *out, size_t outlen, char *err)
{
	char *doc = xasprintf("{\"domain\":\"mastodon.social\",\"configuration\":{\"urls\":"
	                      "{\"streaming\":%s},\"statuses\":{\"max_characters\":500}}}",
	                      v);
	int rc = map_mastodon_streaming_url(doc, strlen(doc), out, outlen, err, 256);

	free(doc);
	return rc;
}

static void
test_streaming_url(void **state)
{
	char out[256], err[256];

	(void)state;
	/* As docs.joinmastodon.org shows it, and as a test server gives it. */
	assert_int_equal(streaming("\"wss://streaming.example.social\"", out, sizeof out, err), 1);
	assert_string_equal(out, "https://streaming.example.social");
	assert_int_equal(streaming("\"ws://127.0.0.1:4000/base//\"", out, sizeof out, err), 1);
	assert_string_equal(out, "http://127.0.0.1:4000/base");
	assert_int_equal(streaming("\"https://m.example:8443\"", out, sizeof out, err), 1);
	assert_string_equal(out, "https://m.example:8443");
	/* The instance does not say: the caller keeps its own. */
	assert_int_equal(streaming("null", out, sizeof out, err), 0);
	assert_int_equal(streaming("\"\"", out, sizeof out, err), 0);
	assert_string_equal(out, "");
	assert_int_equal(map_mastodon_streaming_url("{\"domain\":\"x\"}",
	                                            strlen("{\"domain\":\"x\"}"), out, sizeof out,
	                                            err, sizeof err),
	                 0);
	assert_int_equal(map_mastodon_streaming_url("{\"configuration\":{}}",
	                                            strlen("{\"configuration\":{}}"), out,
	                                            sizeof out, err, sizeof err),
	                 0);
	/* Malformed. */
	assert_int_equal(streaming("5", out, sizeof out, err), -1);
	assert_string_equal(err, "field \"configuration.urls.streaming\" is not a string");
	assert_int_equal(streaming("\"ftp://x.example\"", out, sizeof out, err), -1);
	assert_string_equal(err, "bad configuration.urls.streaming \"ftp://x.example\"");
	assert_int_equal(streaming("\"wss://\"", out, sizeof out, err), -1);
	assert_int_equal(streaming("\"wss:///x\"", out, sizeof out, err), -1);
	assert_int_equal(streaming("\"wss://a b.example\"", out, sizeof out, err), -1);
	assert_int_equal(streaming("\"wss://user@evil.example\"", out, sizeof out, err), -1);
	assert_int_equal(streaming("\"wss://x.example/?q\"", out, sizeof out, err), -1);
	assert_int_equal(streaming("\"wss://x.example\"", out, 10, err), -1);
	assert_string_equal(err, "configuration.urls.streaming is too long");
	assert_string_equal(out, "");
	assert_int_equal(map_mastodon_streaming_url("{\"configuration\":3}",
	                                            strlen("{\"configuration\":3}"), out,
	                                            sizeof out, err, sizeof err),
	                 -1);
	assert_string_equal(err, "field \"configuration\" is not an object");
	assert_int_equal(map_mastodon_streaming_url("{\"configuration\":{\"urls\":[]}}",
	                                            strlen("{\"configuration\":{\"urls\":[]}}"),
	                                            out, sizeof out, err, sizeof err),
	                 -1);
	assert_int_equal(
	    map_mastodon_streaming_url("[]", strlen("[]"), out, sizeof out, err, sizeof err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_brand_reply),
	    cmocka_unit_test(test_root_and_remote_author),
	    cmocka_unit_test(test_conversation),
	    cmocka_unit_test(test_skipped),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_context),
	    cmocka_unit_test(test_context_errors),
	    cmocka_unit_test(test_id_order),
	    cmocka_unit_test(test_statuses),
	    cmocka_unit_test(test_account_id),
	    cmocka_unit_test(test_streaming_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
