/* Post parsing, RFC 3339 times and the capped line reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "post.h"
#include "reader.h"

/* Shaped like a line of ../shared/corpus/conversations.ndjson. */
static const char corpus_line[] =
    "{\"id\":\"343\",\"platform\":\"twitter\",\"source\":\"twcs\",\"conversation_id\":\"348\","
    "\"in_reply_to_id\":\"347\",\"author\":\"AirAsiaSupport\",\"author_is_brand\":true,"
    "\"brand\":\"AirAsiaSupport\",\"created_at\":\"2017-10-31T05:28:49Z\",\"text\":\"@115797 "
    "Sorry, the booking has expired as no payment was made. Please make a new booking - Ed\"}";

static void
test_corpus_line(void **state)
{
	struct post p;
	char err[256];

	(void)state;
	assert_int_equal(post_parse(corpus_line, strlen(corpus_line), &p, err, sizeof err), 0);
	assert_string_equal(p.id, "343");
	assert_string_equal(p.platform, "twitter");
	assert_string_equal(p.conversation_id, "348");
	assert_string_equal(p.in_reply_to_id, "347");
	assert_string_equal(p.author, "AirAsiaSupport");
	assert_int_equal(p.author_is_brand, 1);
	assert_string_equal(p.brand, "AirAsiaSupport");
	assert_int_equal(p.created_at, 1509427729);
	assert_true(strncmp(p.text, "@115797 Sorry", 13) == 0);
	assert_int_equal(p.text_len, strlen(p.text));
	assert_null(p.url);
	assert_null(p.lang);
	post_release(&p);
	assert_null(p.json);
}

static void
test_defaults_and_integer_ids(void **state)
{
	const char *l = "{\"id\": 12345678901234, \"author\": \"a\", \"created_at\": "
			"\"2026-01-01T00:00:00Z\", \"text\": \"x\\u0000y\", \"in_reply_to_id\": 7, "
			"\"lang\": \"es\", \"url\": \"https://e.example/1\", \"brand\": null}";
	struct post p;
	char err[256];

	(void)state;
	assert_int_equal(post_parse(l, strlen(l), &p, err, sizeof err), 0);
	assert_string_equal(p.id, "12345678901234");
	assert_string_equal(p.conversation_id, "12345678901234");
	assert_string_equal(p.in_reply_to_id, "7");
	assert_string_equal(p.platform, "unknown");
	assert_int_equal(p.author_is_brand, -1);
	assert_null(p.brand);
	assert_string_equal(p.lang, "es");
	assert_string_equal(p.url, "https://e.example/1");
	/* An escaped NUL keeps the text's length. */
	assert_int_equal(p.text_len, 3);
	post_release(&p);
}

/* Parses l and checks that it fails with exactly want. */
static void
bad(const char *l, const char *want)
{
	struct post p;
	char err[256];

	assert_int_equal(post_parse(l, strlen(l), &p, err, sizeof err), -1);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("line %s\n  got  \"%s\"\n  want \"%s...\"", l, err, want);
	assert_null(p.json);
}

static void
test_errors(void **state)
{
	(void)state;
	bad("not json", "not JSON: ");
	bad("{\"id\": \"1\",", "not JSON: ");
	bad("[1]", "not a JSON object");
	bad("{\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\",\"text\":\"x\"}",
	    "missing field \"id\"");
	bad("{\"id\":\"1\",\"created_at\":\"2026-01-01T00:00:00Z\",\"text\":\"x\"}",
	    "missing field \"author\"");
	bad("{\"id\":\"1\",\"author\":\"a\",\"text\":\"x\"}", "missing field \"created_at\"");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\"}",
	    "missing field \"text\"");
	bad("{\"id\":true,\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\",\"text\":\"x\"}",
	    "field \"id\" is not a string");
	bad("{\"id\":\"\",\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\",\"text\":\"x\"}",
	    "field \"id\" is empty");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\",\"text\":5}",
	    "field \"text\" is not a string");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"31/01/2026\",\"text\":\"x\"}",
	    "bad created_at \"31/01/2026\"");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":1700000000,\"text\":\"x\"}",
	    "bad created_at (not a string)");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\",\"text\":\"x\","
	    "\"author_is_brand\":\"yes\"}",
	    "field \"author_is_brand\" is not true or false");
	bad("{\"id\":\"1\",\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\",\"text\":\"x\","
	    "\"lang\":5}",
	    "field \"lang\" is not a string");
	bad("{\"id\":\"1\",\"id\":\"2\",\"author\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\","
	    "\"text\":\"x\"}",
	    "not JSON: duplicate object key");
}

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
test_rfc3339(void **state)
{
	int64_t t;
	char out[32];

	(void)state;
	assert_int_equal(t3339("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(t3339("2017-10-31T05:28:49Z"), 1509427729);
	assert_int_equal(t3339("2017-10-31t05:28:49z"), 1509427729);
	assert_int_equal(t3339("2017-10-31 05:28:49Z"), 1509427729);
	assert_int_equal(t3339("2017-10-31T07:28:49+02:00"), 1509427729);
	assert_int_equal(t3339("2017-10-30T23:58:49-05:30"), 1509427729);
	assert_int_equal(t3339("2017-10-31T05:28:49.999999Z"), 1509427729);
	assert_int_equal(t3339("2016-02-29T00:00:00Z"), 1456704000);
	assert_int_equal(t3339("2000-02-29T00:00:00Z"), 951782400);
	assert_int_equal(t3339("2016-12-31T23:59:60Z"), t3339("2016-12-31T23:59:59Z"));
	assert_int_equal(t3339("1969-12-31T23:59:59Z"), -1);
	static const char *badv[] = {"", "2017-10-31", "2017-10-31T05:28Z", "2017-13-01T00:00:00Z",
	    "2019-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2017-04-31T00:00:00Z",
	    "2017-10-31T24:00:00Z", "2017-10-31T05:60:00Z", "2017-10-31T05:28:61Z",
	    "2017-10-31T05:28:49", "2017-10-31T05:28:49Zjunk", "2017-10-31T05:28:49.Z",
	    "2017-10-31T05:28:49+0200", "2017-10-31T05:28:49+24:00", "2017-1a-31T05:28:49Z",
	    "+017-10-31T05:28:49Z"};
	for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++)
		if (rfc3339_parse(badv[i], &t) == 0)
			fail_msg("accepted \"%s\"", badv[i]);
	/* Format and parse are inverses across four centuries, leap days included. */
	for (int64_t x = -2208988800LL; x < 4102444800LL; x += 86400 * 13 + 3607) {
		rfc3339_format(x, out, sizeof out);
		assert_int_equal(t3339(out), x);
	}
	rfc3339_format(1509427729, out, sizeof out);
	assert_string_equal(out, "2017-10-31T05:28:49Z");
	rfc3339_format(951782400, out, sizeof out);
	assert_string_equal(out, "2000-02-29T00:00:00Z");
}

/* Reads every line of data with the cap; returns "line|line|!|..." (! = too long). */
static char *
read_all(const char *data, size_t len, size_t max, size_t *lines)
{
	FILE *f = fmemopen((void *)data, len, "r");
	struct reader *r = reader_new(f, max);
	static char out[1 << 20];
	const char *line;
	size_t n, pos = 0;
	enum reader_status st;

	out[0] = '\0';
	while ((st = reader_next(r, &line, &n)) != READER_EOF) {
		assert_true(st == READER_LINE || st == READER_TOO_LONG);
		if (pos)
			out[pos++] = '|';
		if (st == READER_TOO_LONG) {
			out[pos++] = '!';
		} else {
			assert_int_equal(strlen(line), n);
			memcpy(out + pos, line, n);
			pos += n;
		}
		out[pos] = '\0';
	}
	*lines = reader_lineno(r);
	reader_free(r);
	fclose(f);
	return out;
}

static void
test_reader_lines(void **state)
{
	size_t n;

	(void)state;
	assert_string_equal(read_all("a\nbb\r\n\nccc", 10, 16, &n), "a|bb||ccc");
	assert_int_equal(n, 4);
	assert_string_equal(read_all("a\n", 2, 16, &n), "a");
	assert_int_equal(n, 1);
	assert_string_equal(read_all("", 0, 16, &n), "");
	assert_int_equal(n, 0);
	/* The cap is inclusive; one more byte is too long, and the next line is read. */
	assert_string_equal(read_all("1234\n12345\n6\n", 13, 4, &n), "1234|!|6");
	assert_int_equal(n, 3);
	/* "\r\n" does not count against the cap. */
	assert_string_equal(read_all("1234\r\n", 6, 4, &n), "1234");
	/* A too-long last line without a newline. */
	assert_string_equal(read_all("ok\n123456789", 12, 4, &n), "ok|!");
	assert_int_equal(n, 2);
}

static void
test_reader_long_lines_stream(void **state)
{
	/* Lines much longer than the reader's chunk, and lines across chunk edges. */
	size_t big = 300000, total = 0, n;
	char *data = malloc(3 * big + 100000);
	char *expect = malloc(200000);
	size_t epos = 0;

	(void)state;
	memset(data, 'x', big);
	data[big] = '\n';
	total = big + 1;
	for (int i = 0; i < 5000; i++) {
		int k = sprintf(data + total, "line%d\n", i);

		epos += (size_t)sprintf(expect + epos, "%sline%d", i ? "|" : "!|", i);
		total += (size_t)k;
	}
	memset(data + total, 'y', big);
	total += big;
	epos += (size_t)sprintf(expect + epos, "|!");
	assert_string_equal(read_all(data, total, 1000, &n), expect);
	assert_int_equal(n, 5002);
	free(data);
	free(expect);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_line),
	    cmocka_unit_test(test_defaults_and_integer_ids),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_rfc3339),
	    cmocka_unit_test(test_reader_lines),
	    cmocka_unit_test(test_reader_long_lines_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
