/* Post parsing, RFC 3339 times and the capped line reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "post.h"
#include "reader.h"

/* Three lines copied verbatim from ../shared/corpus/conversations.ndjson. */
static const char corpus1[] =
    "{\"id\":\"348\",\"platform\":\"twitter\",\"source\":\"twcs\",\"conversation_id\":\"348\","
    "\"in_reply_to_id\":null,\"author\":\"115798\",\"author_is_brand\":false,"
    "\"brand\":\"AirAsiaSupport\",\"created_at\":\"2011-08-29T03:20:05Z\",\"text\":\"Lost your "
    "booking number? No worries, just drop me the passenger's name, flight details and email. "
    "I'll trace it and email u in no time :)\"}";
static const char corpus2[] =
    "{\"id\":\"289165\",\"platform\":\"twitter\",\"source\":\"twcs\",\"conversation_id\":"
    "\"289171\",\"in_reply_to_id\":\"289171\",\"author\":\"184908\",\"author_is_brand\":false,"
    "\"brand\":\"SpotifyCares\",\"created_at\":\"2017-10-06T15:31:09Z\",\"text\":\"@SpotifyCares "
    "Microsoft Lumia 950XL\\r\\rWindows 10 Mobile 10.0.15252.0\\r\\rSpotify 5.2.4.0\"}";
static const char corpus3[] =
    "{\"id\":\"337\",\"platform\":\"twitter\",\"source\":\"twcs\",\"conversation_id\":\"348\","
    "\"in_reply_to_id\":\"335\",\"author\":\"115797\",\"author_is_brand\":false,"
    "\"brand\":\"AirAsiaSupport\",\"created_at\":\"2017-11-09T20:15:48Z\",\"text\":"
    "\"@AirAsiaSupport Hi! i would like to know on my itenerary on how the birthday can be seen. "
    "i would like to double check if i can key in our birthdays right \xf0\x9f\x99\x82\"}";

/* One parser for the whole run, so its reuse across lines is tested too. */
static struct post_parser *pp;

/* Checks that a field is the same string, or absent, on both paths. */
static void
same(const char *what, const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
		fail_msg("%s: fast path \"%s\", jansson \"%s\"", what, a ? a : "(null)",
		    b ? b : "(null)");
}

/* Parses l, which must be valid, and checks that jansson alone reads it the same. */
static void
good(const char *l, struct post *p)
{
	struct post ref;
	char err[256];

	err[0] = '\0';
	if (post_parse(pp, l, strlen(l), p, err, sizeof err) != 0)
		fail_msg("rejected %s: %s", l, err);
	assert_non_null(p->mem);
	if (post_parse(NULL, l, strlen(l), &ref, err, sizeof err) != 0)
		fail_msg("jansson rejected %s: %s", l, err);
	same("id", p->id, ref.id);
	same("platform", p->platform, ref.platform);
	same("conversation_id", p->conversation_id, ref.conversation_id);
	same("in_reply_to_id", p->in_reply_to_id, ref.in_reply_to_id);
	same("author", p->author, ref.author);
	same("brand", p->brand, ref.brand);
	same("url", p->url, ref.url);
	same("lang", p->lang, ref.lang);
	assert_int_equal(p->text_len, ref.text_len);
	assert_memory_equal(p->text, ref.text, ref.text_len);
	assert_int_equal(p->author_is_brand, ref.author_is_brand);
	assert_int_equal(p->created_at, ref.created_at);
	post_release(&ref);
}

static void
test_corpus_lines(void **state)
{
	struct post p;

	(void)state;
	good(corpus1, &p);
	assert_string_equal(p.id, "348");
	assert_string_equal(p.platform, "twitter");
	assert_string_equal(p.conversation_id, "348");
	assert_null(p.in_reply_to_id);
	assert_string_equal(p.author, "115798");
	assert_int_equal(p.author_is_brand, 0);
	assert_string_equal(p.brand, "AirAsiaSupport");
	assert_int_equal(p.created_at, 1314588005);
	assert_int_equal(p.text_len, 138);
	assert_int_equal(p.text_len, strlen(p.text));
	assert_true(strncmp(p.text, "Lost your booking number?", 25) == 0);
	assert_null(p.url);
	assert_null(p.lang);
	post_release(&p);
	assert_null(p.mem);
	assert_null(p.id);
	assert_null(p.text);

	/* "\r" inside text is kept as it was posted. */
	good(corpus2, &p);
	assert_string_equal(p.id, "289165");
	assert_string_equal(p.conversation_id, "289171");
	assert_string_equal(p.in_reply_to_id, "289171");
	assert_string_equal(p.brand, "SpotifyCares");
	assert_int_equal(p.created_at, 1507303869);
	assert_int_equal(p.text_len, 84);
	assert_non_null(strstr(p.text, "950XL\r\rWindows"));
	post_release(&p);

	/* Raw UTF-8 passes through byte for byte. */
	good(corpus3, &p);
	assert_string_equal(p.id, "337");
	assert_string_equal(p.in_reply_to_id, "335");
	assert_int_equal(p.created_at, 1510258548);
	assert_int_equal(p.text_len, 159);
	assert_memory_equal(p.text + p.text_len - 4, "\xf0\x9f\x99\x82", 4);
	post_release(&p);
}

static void
test_defaults_and_integer_ids(void **state)
{
	const char *l = "{\"id\": 12345678901234, \"author\": \"a\", \"created_at\": "
			"\"2026-01-01T00:00:00Z\", \"text\": \"x\", \"in_reply_to_id\": 7, "
			"\"lang\": \"es\", \"url\": \"https://e.example/1\", \"brand\": null}";
	struct post p;

	(void)state;
	good(l, &p);
	assert_string_equal(p.id, "12345678901234");
	assert_string_equal(p.conversation_id, "12345678901234");
	/* The default conversation is the post itself, the same string. */
	assert_ptr_equal(p.conversation_id, p.id);
	assert_string_equal(p.in_reply_to_id, "7");
	assert_string_equal(p.platform, "unknown");
	assert_int_equal(p.author_is_brand, -1);
	assert_null(p.brand);
	assert_string_equal(p.lang, "es");
	assert_string_equal(p.url, "https://e.example/1");
	post_release(&p);

	good("{\"id\":-3,\"conversation_id\":0,\"in_reply_to_id\":null,\"author\":\"a\","
	     "\"created_at\":\"2026-01-01T00:00:00Z\",\"text\":\"\",\"author_is_brand\":null,"
	     "\"lang\":null,\"url\":null,\"platform\":null}",
	    &p);
	assert_string_equal(p.id, "-3");
	assert_string_equal(p.conversation_id, "0");
	assert_null(p.in_reply_to_id);
	assert_int_equal(p.author_is_brand, -1);
	assert_null(p.lang);
	assert_null(p.url);
	assert_string_equal(p.platform, "unknown");
	/* Empty text is a post; the matcher simply finds nothing in it. */
	assert_int_equal(p.text_len, 0);
	post_release(&p);

	/* Empty optional names are treated as absent; unknown fields are ignored. */
	good("  {\"id\":\"9\",\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\","
	     "\"text\":\"x\",\"platform\":\"\",\"brand\":\"\",\"lang\":\"\","
	     "\"author_is_brand\":true,"
	     "\"extra\":{\"deep\":[1,2,{\"id\":5}]},\"favorites\":3.5}\t",
	    &p);
	assert_string_equal(p.platform, "unknown");
	assert_null(p.brand);
	assert_null(p.lang);
	assert_int_equal(p.author_is_brand, 1);
	post_release(&p);

	/* Releasing a post that failed to parse is harmless. */
	assert_int_equal(post_parse(pp, "[]", 2, &p, (char[64]){0}, 64), -1);
	post_release(&p);
	assert_null(p.mem);
}

static void
test_escapes_and_nul(void **state)
{
	const char *l = "{\"id\":\"1\",\"author\":\"\\u00e9l\\u00e8ve\",\"created_at\":"
			"\"2026-01-01T00:00:00Z\",\"text\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" "
			"a\\/b \\t\\n\"}";
	const char *nul = "{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\","
			  "\"text\":\"x\\u0000y\\u0000\"}";
	struct post p;

	(void)state;
	good(l, &p);
	assert_string_equal(p.author, "\xc3\xa9l\xc3\xa8ve");
	assert_string_equal(p.text, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" a/b \t\n");
	assert_int_equal(p.text_len, strlen(p.text));
	post_release(&p);

	/* An escaped NUL keeps the text's full length and bytes. */
	good(nul, &p);
	assert_int_equal(p.text_len, 4);
	assert_memory_equal(p.text, "x\0y\0", 5);
	post_release(&p);
}

/* Parses l and checks that it fails with a message starting with want. */
static void
bad_len(const char *l, size_t len, const char *want)
{
	struct post p;
	char err[256];

	char ref[256];

	/* Both paths must refuse it with the same words. */
	for (int fast = 1; fast >= 0; fast--) {
		memset(&p, 0xa5, sizeof p);
		err[0] = '\0';
		assert_int_equal(post_parse(fast ? pp : NULL, l, len, &p, err, sizeof err), -1);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("line %s\n  got  \"%s\"\n  want \"%s...\"", l, err, want);
		assert_null(p.mem);
		assert_null(p.id);
		if (fast)
			memcpy(ref, err, sizeof ref);
		else
			assert_string_equal(err, ref);
	}
}

/* As bad_len() for a NUL-terminated line. */
static void
bad(const char *l, const char *want)
{
	bad_len(l, strlen(l), want);
}

#define T "\"created_at\":\"2026-01-01T00:00:00Z\""

/* Invalid UTF-8 inside a string is replaced by U+FFFD, as the README says. */
static void
test_invalid_utf8_replaced(void **state)
{
	static const char l[] = "{\"id\":\"u1\",\"author\":\"a\"," T ",\"text\":\"caf\xe9 "
	    "\xc3\xa9 \xed\xa0\x80 \xf0\x9f\x99\x82 \xc0\xaf end\"}";
	struct post p;
	char err[256] = "";

	(void)state;
	if (post_parse(pp, l, strlen(l), &p, err, sizeof err) != 0)
		fail_msg("rejected: %s", err);
	assert_string_equal(p.text, "caf\xef\xbf\xbd \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
	    "\xf0\x9f\x99\x82 \xef\xbf\xbd\xef\xbf\xbd end");
	assert_string_equal(p.id, "u1");
	post_release(&p);
}

static void
test_errors(void **state)
{
	char err[8];
	struct post p;

	(void)state;
	/* Not JSON: jansson's text and the (character) column of the error. */
	bad("not json", "not JSON: invalid token near 'not' at column 3");
	bad("{\"id\": \"1\",", "not JSON: string or '}' expected near end of file at column 11");
	bad("", "not JSON: ");
	bad("{\"a\":1} x", "not JSON: end of file expected near 'x' at column 9");
	bad("{\"id\":99999999999999999999}", "not JSON: too big integer");
	bad("{\"t\":\"\\ud800\"}", "not JSON: invalid Unicode");
	/* Invalid UTF-8 is replaced (see test_invalid_utf8_replaced), so this is the next error. */
	bad("{\"t\":\"\xff\"}", "missing field \"id\"");
	/* Outside a string it is still not JSON, and the error names the byte. */
	bad("{\"t\":\xff}", "not JSON: unable to decode byte 0xff");
	bad("{\"a\\u0000b\":1}", "not JSON: NUL byte in object key");
	bad_len("{\"id\":\"1\"}\0junk", 15, "not JSON: ");
	/* Duplicate keys are rejected: which one would win is anyone's guess. */
	bad("{\"id\":\"1\",\"x\":1,\"id\":\"2\"}", "not JSON: duplicate object key");
	bad("{\"x\":1,\"\\u0078\":2}", "not JSON: duplicate object key");
	/* Where the two parsers' edges differ, jansson's word stands. */
	bad("{\"id\":18446744073709551615}", "not JSON: too big integer");
	bad("{\"id\":-99999999999999999999}", "not JSON: too big negative integer");
	bad("{\"t\":\"\\udc00\"}", "not JSON: invalid Unicode");
	bad("{\"x\":1e400}", "not JSON: real number overflow");
	bad("{\"id\":1.5,\"author\":\"a\"}", "field \"id\" is not a string");
	bad("\xef\xbb\xbf{\"id\":\"1\"}", "not JSON: ");
	bad("{\"id\":\"1\",\"id\":\"2\",\"author\":\"a\"," T ",\"text\":\"x\"}",
	    "not JSON: duplicate object key near '\"id\"'");

	bad("[1]", "not a JSON object");
	bad("5", "not a JSON object");
	bad("\"x\"", "not a JSON object");
	bad("null", "not a JSON object");

	bad("{\"author\":\"a\"," T ",\"text\":\"x\"}", "missing field \"id\"");
	bad("{\"id\":null,\"author\":\"a\"," T ",\"text\":\"x\"}", "missing field \"id\"");
	bad("{\"id\":\"1\"," T ",\"text\":\"x\"}", "missing field \"author\"");
	bad("{\"id\":\"1\",\"author\":\"a\",\"text\":\"x\"}", "missing field \"created_at\"");
	bad("{\"id\":\"1\",\"author\":\"a\"," T "}", "missing field \"text\"");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":null}", "missing field \"text\"");

	bad("{\"id\":true,\"author\":\"a\"," T ",\"text\":\"x\"}", "field \"id\" is not a string");
	bad("{\"id\":1.5,\"author\":\"a\"," T ",\"text\":\"x\"}", "field \"id\" is not a string");
	bad("{\"id\":\"1\",\"author\":7," T ",\"text\":\"x\"}", "field \"author\" is not a string");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":1700000000,\"text\":\"x\"}",
	    "field \"created_at\" is not a string");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":5}", "field \"text\" is not a string");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"conversation_id\":[]}",
	    "field \"conversation_id\" is not a string");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"in_reply_to_id\":false}",
	    "field \"in_reply_to_id\" is not a string");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"platform\":1}",
	    "field \"platform\" is not a string");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"brand\":{}}",
	    "field \"brand\" is not a string");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"url\":true}",
	    "field \"url\" is not a string");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"lang\":5}",
	    "field \"lang\" is not a string");

	bad("{\"id\":\"\",\"author\":\"a\"," T ",\"text\":\"x\"}", "field \"id\" is empty");
	bad("{\"id\":\"1\",\"author\":\"\"," T ",\"text\":\"x\"}", "field \"author\" is empty");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"conversation_id\":\"\"}",
	    "field \"conversation_id\" is empty");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"in_reply_to_id\":\"\"}",
	    "field \"in_reply_to_id\" is empty");

	/* Only text may hold a NUL; elsewhere it would cut the C string short. */
	bad("{\"id\":\"1\\u0000\",\"author\":\"a\"," T ",\"text\":\"x\"}",
	    "field \"id\" contains a NUL byte");
	bad("{\"id\":\"1\",\"author\":\"a\\u0000b\"," T ",\"text\":\"x\"}",
	    "field \"author\" contains a NUL byte");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\\u0000x\","
	    "\"text\":\"x\"}",
	    "field \"created_at\" contains a NUL byte");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"lang\":\"e\\u0000\"}",
	    "field \"lang\" contains a NUL byte");

	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"yesterday\",\"text\":\"x\"}",
	    "bad created_at \"yesterday\" (want RFC 3339");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"31/01/2026\",\"text\":\"x\"}",
	    "bad created_at \"31/01/2026\"");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"2019-02-29T00:00:00Z\","
	    "\"text\":\"x\"}",
	    "bad created_at \"2019-02-29T00:00:00Z\"");
	/* A long bad value is cut to 40 bytes and says so. */
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":"
	    "\"2026-01-01T00:00:00Z and then a very long tail\",\"text\":\"x\"}",
	    "bad created_at \"2026-01-01T00:00:00Z and then a very lon...\" (want");

	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"author_is_brand\":\"yes\"}",
	    "field \"author_is_brand\" is not true or false");
	bad("{\"id\":\"1\",\"author\":\"a\"," T ",\"text\":\"x\",\"author_is_brand\":1}",
	    "field \"author_is_brand\" is not true or false");

	/* A tiny error buffer truncates the message but stays terminated. */
	assert_int_equal(post_parse(pp, "[1]", 3, &p, err, sizeof err), -1);
	assert_string_equal(err, "not a J");
}

#undef T

/* Parses s; returns the time or fails the test. */
static int64_t
t3339(const char *s)
{
	int64_t t;

	if (rfc3339_parse(s, &t) != 0)
		fail_msg("rfc3339_parse(\"%s\") failed", s);
	return t;
}

static void
test_rfc3339_parse(void **state)
{
	static const char *badv[] = {"", "2017-10-31", "2017-10-31T05:28Z",
	    "2017-10-31T05:28:49", "2017-10-31T05:28:49Zjunk", "2017-10-31T05:28:49Z ",
	    " 2017-10-31T05:28:49Z", "2017-10-31T05:28:49 Z", "2017-10-31T05:28:49.Z",
	    "2017-10-31T05:28:49.5", "2017-10-31T05:28:49+0200", "2017-10-31T05:28:49+02",
	    "2017-10-31T05:28:49+02:0", "2017-10-31T05:28:49+24:00", "2017-10-31T05:28:49+02:60",
	    "2017-10-31T05:28:49UTC", "2017-1a-31T05:28:49Z", "+017-10-31T05:28:49Z",
	    "17-10-31T05:28:49Z", "2017-1-31T05:28:49Z", "2017-10-3T05:28:49Z",
	    "2017-10-31T5:28:49Z", "2017/10/31T05:28:49Z", "2017-10-31X05:28:49Z",
	    "2017-10-31T05-28-49Z", "20171031T052849Z",
	    /* Out of range. */
	    "2017-00-01T00:00:00Z", "2017-13-01T00:00:00Z", "2017-01-00T00:00:00Z",
	    "2017-01-32T00:00:00Z", "2017-04-31T00:00:00Z", "2017-06-31T00:00:00Z",
	    "2017-09-31T00:00:00Z", "2017-11-31T00:00:00Z", "2017-02-30T00:00:00Z",
	    "2019-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
	    "2017-10-31T24:00:00Z", "2017-10-31T05:60:00Z", "2017-10-31T05:28:61Z",
	    "2017-10-31T99:99:99Z"};
	int64_t t;

	(void)state;
	assert_int_equal(t3339("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(t3339("1969-12-31T23:59:59Z"), -1);
	assert_int_equal(t3339("2017-10-31T05:28:49Z"), 1509427729);
	/* Lower case T and Z, and a space for T. */
	assert_int_equal(t3339("2017-10-31t05:28:49z"), 1509427729);
	assert_int_equal(t3339("2017-10-31 05:28:49Z"), 1509427729);
	/* Offsets, including ones that move the date across a day and a year. */
	assert_int_equal(t3339("2017-10-31T07:28:49+02:00"), 1509427729);
	assert_int_equal(t3339("2017-10-30T23:58:49-05:30"), 1509427729);
	assert_int_equal(t3339("2017-10-31T05:28:49+00:00"), 1509427729);
	assert_int_equal(t3339("2017-10-31T05:28:49-00:00"), 1509427729);
	assert_int_equal(t3339("2018-01-01T00:30:00+01:00"), t3339("2017-12-31T23:30:00Z"));
	assert_int_equal(t3339("2017-12-31T23:30:00-23:59"), t3339("2018-01-01T23:29:00Z"));
	/* Fractions of any length are dropped, never rounded up. */
	assert_int_equal(t3339("2017-10-31T05:28:49.999999999999Z"), 1509427729);
	assert_int_equal(t3339("2017-10-31T05:28:49.0+02:00"), 1509427729 - 7200);
	assert_int_equal(t3339("2017-10-31T05:28:49.1z"), 1509427729);
	/* Leap years: every fourth, not every hundredth, but every four hundredth. */
	assert_int_equal(t3339("2016-02-29T00:00:00Z"), 1456704000);
	assert_int_equal(t3339("2000-02-29T00:00:00Z"), 951782400);
	assert_int_equal(t3339("2400-02-29T12:00:00Z"), 13574606400LL);
	assert_int_equal(t3339("2016-12-31T00:00:00Z") - t3339("2016-01-01T00:00:00Z"),
	    365 * 86400);
	assert_int_equal(t3339("2100-03-01T00:00:00Z") - t3339("2100-02-28T00:00:00Z"), 86400);
	/* A leap second counts as the second before it. */
	assert_int_equal(t3339("2016-12-31T23:59:60Z"), t3339("2016-12-31T23:59:59Z"));
	/* The ends of the four-digit range. */
	assert_int_equal(t3339("0000-01-01T00:00:00Z"), -62167219200LL);
	assert_int_equal(t3339("0000-02-29T00:00:00Z"), -62167219200LL + 59 * 86400);
	assert_int_equal(t3339("9999-12-31T23:59:59Z"), 253402300799LL);
	assert_int_equal(t3339("9999-12-31T23:59:59-23:59"), 253402300799LL + 86340);

	for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++) {
		t = 42;
		if (rfc3339_parse(badv[i], &t) == 0)
			fail_msg("accepted \"%s\"", badv[i]);
		assert_int_equal(t, 42);
	}
}

static void
test_rfc3339_format(void **state)
{
	char out[32];
	uint64_t seed = 1;
	int64_t leapend = t3339("2400-04-01T00:00:00Z");

	(void)state;
	rfc3339_format(0, out, sizeof out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	rfc3339_format(-1, out, sizeof out);
	assert_string_equal(out, "1969-12-31T23:59:59Z");
	rfc3339_format(1509427729, out, sizeof out);
	assert_string_equal(out, "2017-10-31T05:28:49Z");
	rfc3339_format(951782400, out, sizeof out);
	assert_string_equal(out, "2000-02-29T00:00:00Z");
	rfc3339_format(-62167219200LL, out, sizeof out);
	assert_string_equal(out, "0000-01-01T00:00:00Z");
	rfc3339_format(253402300799LL, out, sizeof out);
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	/* Far outside the range nothing overflows (UBSan watches). */
	rfc3339_format(INT64_MIN, out, sizeof out);
	rfc3339_format(INT64_MAX, out, sizeof out);
	/* A short buffer is cut, not overrun. */
	rfc3339_format(0, out, 5);
	assert_string_equal(out, "1970");

	/* Format and parse are inverses over four centuries, leap days included... */
	for (int64_t x = -2208988800LL; x < 4102444800LL; x += 86400 * 13 + 3607) {
		rfc3339_format(x, out, sizeof out);
		assert_int_equal(t3339(out), x);
	}
	/* ...at every midnight and last second of a day around a leap day... */
	for (int64_t d = t3339("2399-12-01T00:00:00Z"); d < leapend; d += 86400) {
		rfc3339_format(d, out, sizeof out);
		assert_int_equal(t3339(out), d);
		rfc3339_format(d + 86399, out, sizeof out);
		assert_int_equal(t3339(out), d + 86399);
	}
	/* ...and at random seconds of years 0000-9999. */
	for (int i = 0; i < 200000; i++) {
		int64_t x;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		x = -62167219200LL + (int64_t)((seed >> 11) % (253402300800ULL + 62167219200ULL));
		rfc3339_format(x, out, sizeof out);
		assert_int_equal(strlen(out), 20);
		assert_int_equal(t3339(out), x);
	}
}

/*
 * Appends one result in a form where no line content can pass for another
 * result, with the line number the reader reported.
 */
static void
record(struct buf *out, enum reader_status st, const char *line, size_t len, size_t lineno)
{
	if (st == READER_TOO_LONG) {
		buf_printf(out, "%zu:!\n", lineno);
		return;
	}
	buf_printf(out, "%zu:%zu=", lineno, len);
	buf_add(out, line, len);
	buf_addc(out, '\n');
}

/* What the reader must produce, computed the obvious way over the whole input. */
static void
reference(const char *d, size_t n, size_t max, struct buf *out)
{
	size_t i = 0, lineno = 0;

	buf_reset(out);
	while (i < n) {
		const char *nl = memchr(d + i, '\n', n - i);
		size_t end = nl != NULL ? (size_t)(nl - d) : n;
		size_t len = end - i;

		if (len > 0 && d[i + len - 1] == '\r')
			len--;
		record(out, len > max ? READER_TOO_LONG : READER_LINE, d + i, len, ++lineno);
		i = end + 1;
	}
}

/* Runs the reader over f until EOF, recording every result. */
static void
drain(FILE *f, size_t max, struct buf *out)
{
	struct reader *r = reader_new(f, max);
	const char *line;
	size_t len;
	enum reader_status st;

	buf_reset(out);
	while ((st = reader_next(r, &line, &len)) != READER_EOF) {
		assert_int_not_equal(st, READER_IO);
		if (st == READER_LINE) {
			assert_true(len <= max);
			assert_int_equal(line[len], '\0');
		}
		record(out, st, line, len, reader_lineno(r));
	}
	/* EOF is sticky and leaves the count alone. */
	assert_int_equal(reader_next(r, &line, &len), READER_EOF);
	reader_free(r);
}

/* Reads data through fmemopen (or a temporary file) and compares with reference(). */
static void
check_reader(const char *data, size_t n, size_t max, int use_tmpfile)
{
	struct buf want = BUF_INIT, got = BUF_INIT;
	FILE *f;

	if (use_tmpfile) {
		f = tmpfile();
		assert_non_null(f);
		assert_int_equal(fwrite(data, 1, n, f), n);
		rewind(f);
	} else {
		f = fmemopen((void *)data, n, "r");
		assert_non_null(f);
	}
	reference(data, n, max, &want);
	drain(f, max, &got);
	fclose(f);
	if (got.len != want.len || (got.len > 0 && memcmp(got.s, want.s, got.len) != 0))
		fail_msg("reader differs (n %zu, max %zu)\n  got  %.300s\n  want %.300s", n, max,
		    got.s, want.s);
	buf_free(&want);
	buf_free(&got);
}

/* Reads data with the cap and returns the results as check_reader() records them. */
static char *
read_all(const char *data, size_t max)
{
	struct buf got = BUF_INIT;
	FILE *f = fmemopen((void *)data, strlen(data), "r");

	assert_non_null(f);
	drain(f, max, &got);
	fclose(f);
	buf_addc(&got, '\0');
	return got.s;
}

/* Compares read_all() with want and frees the result. */
static void
expect_lines(const char *data, size_t max, const char *want)
{
	char *got = read_all(data, max);

	if (strcmp(got, want) != 0)
		fail_msg("input \"%s\" max %zu\n  got:\n%s  want:\n%s", data, max, got, want);
	free(got);
}

static void
test_reader_lines(void **state)
{
	(void)state;
	expect_lines("", 16, "");
	expect_lines("a\n", 16, "1:1=a\n");
	/* CRLF, an empty line, a last line without a newline. */
	expect_lines("a\nbb\r\n\nccc", 16, "1:1=a\n2:2=bb\n3:0=\n4:3=ccc\n");
	/* Blank lines come back as empty lines for the caller to skip. */
	expect_lines("\n\n\r\n", 16, "1:0=\n2:0=\n3:0=\n");
	/* Only one "\r" goes, and only at the end. */
	expect_lines("a\r\r\nb\rc\n\r", 16, "1:2=a\r\n2:3=b\rc\n3:0=\n");
	/* The cap is inclusive; one more byte is too long, and the next line is read. */
	expect_lines("1234\n12345\n6\n", 4, "1:4=1234\n2:!\n3:1=6\n");
	/* "\r\n" does not count against the cap, in the middle or at the end. */
	expect_lines("1234\r\nx\n1234\r", 4, "1:4=1234\n2:1=x\n3:4=1234\n");
	expect_lines("12345\r\nx", 4, "1:!\n2:1=x\n");
	/* An overlong line in the middle, then more: numbers stay right. */
	expect_lines("a\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nc\n\nd", 4,
	    "1:1=a\n2:!\n3:1=c\n4:0=\n5:1=d\n");
	/* Overlong lines back to back, and one last without a newline. */
	expect_lines("aaaaaa\nbbbbbb\r\nok\n123456789", 4, "1:!\n2:!\n3:2=ok\n4:!\n");
	/* A cap of zero passes only empty lines. */
	expect_lines("\nx\n\r\n", 0, "1:0=\n2:!\n3:0=\n");
}

static void
test_reader_long_lines_stream(void **state)
{
	/* Lines far longer than the reader's chunk, and many lines across chunk edges. */
	size_t big = 300000, total, cap = 3 * big + 100000;
	char *data = malloc(cap);

	(void)state;
	memset(data, 'x', big);
	data[big] = '\n';
	total = big + 1;
	for (int i = 0; i < 5000; i++)
		total += (size_t)sprintf(data + total, "line%d\r\n", i);
	memset(data + total, 'y', big);
	total += big;
	check_reader(data, total, 1000, 0);
	check_reader(data, total, 1000, 1);
	/* A cap larger than the whole input. */
	check_reader(data, total, READER_DEFAULT_MAX, 0);
	free(data);
}

/*
 * Slides a line of exactly the cap, ended by "\r\n", across the first chunk
 * edge one byte at a time so that the edge falls at every position in it,
 * including between "\r" and "\n". The edge is near max + 64 KiB.
 */
static void
test_reader_chunk_edges(void **state)
{
	size_t max = 10, base = 65536 + max - 16, n;
	char *data = malloc(base + 200);

	(void)state;
	for (size_t shift = 0; shift < 40; shift++) {
		size_t prefix = base + shift;

		n = 0;
		while (prefix - n >= 10) {
			memcpy(data + n, "xxxxxxxxx\n", 10);
			n += 10;
		}
		if (prefix > n) {
			memset(data + n, 'y', prefix - n - 1);
			data[prefix - 1] = '\n';
			n = prefix;
		}
		memcpy(data + n, "0123456789\r\n01234567890\r\nend", 28);
		n += 28;
		check_reader(data, n, max, 0);
		check_reader(data, n, max, 1);
	}
	free(data);
}

/* Returns the next number of a fixed pseudo-random sequence. */
static uint32_t
next_rand(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*seed >> 33);
}

static void
test_reader_random(void **state)
{
	static const size_t caps[] = {0, 1, 7, 100, 4096, 70000, READER_DEFAULT_MAX};
	static const char alphabet[] = "ab\r|\0\n";
	uint64_t seed = 42;
	size_t room = 600000;
	char *data = malloc(room);

	(void)state;
	for (int round = 0; round < 120; round++) {
		size_t max = caps[next_rand(&seed) % (sizeof caps / sizeof caps[0])];
		size_t want = next_rand(&seed) % 400000, n = 0;

		while (n < want) {
			uint32_t kind = next_rand(&seed) % 16;
			size_t len;

			if (kind < 10)
				len = next_rand(&seed) % 80;
			else if (kind < 14)
				len = max + next_rand(&seed) % 5 - (max >= 2 ? 2 : max);
			else
				len = next_rand(&seed) % 200000;
			if (n + len + 2 > room)
				break;
			for (size_t i = 0; i < len; i++)
				data[n + i] = alphabet[next_rand(&seed) % 5];
			n += len;
			if (next_rand(&seed) % 4 == 0)
				data[n++] = '\r';
			data[n++] = '\n';
		}
		/* Half the inputs end without a newline. */
		if (n > 0 && round % 2)
			n--;
		check_reader(data, n, max, round % 3 == 0);
	}
	free(data);
}

static void
test_reader_io_error(void **state)
{
	FILE *f = fopen("/dev/null", "w");
	struct reader *r;
	const char *line;
	size_t len;

	(void)state;
	assert_non_null(f);
	r = reader_new(f, 16);
	errno = 0;
	assert_int_equal(reader_next(r, &line, &len), READER_IO);
	assert_int_equal(errno, EBADF);
	/* It stays an error; it does not turn into a clean end of file. */
	assert_int_equal(reader_next(r, &line, &len), READER_IO);
	reader_free(r);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_lines),
	    cmocka_unit_test(test_defaults_and_integer_ids),
	    cmocka_unit_test(test_escapes_and_nul),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_invalid_utf8_replaced),
	    cmocka_unit_test(test_rfc3339_parse),
	    cmocka_unit_test(test_rfc3339_format),
	    cmocka_unit_test(test_reader_lines),
	    cmocka_unit_test(test_reader_long_lines_stream),
	    cmocka_unit_test(test_reader_chunk_edges),
	    cmocka_unit_test(test_reader_random),
	    cmocka_unit_test(test_reader_io_error),
	};

	int failed;

	pp = post_parser_new();
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	post_parser_free(pp);
	return failed;
}
