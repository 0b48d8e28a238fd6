/* The server-sent events parser: the WHATWG rules, chunking and the cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"

/* Feeds a string literal, NULs included. */
#define FEED(s, lit) sse_feed((s), (lit), sizeof(lit) - 1)
/* Runs a string literal through a new parser. */
#define RUN(r, max, lit) run_len((r), (max), (lit), sizeof(lit) - 1)

/*
 * Everything the parser reports, as text: "E<type>|<id>|<len>:<data>\n" per
 * event and "C\n" per comment, so whole runs compare with one string.
 */
struct rec {
	struct buf log;
	int events;
	int comments;
};

/* Logs an event; every test reads the log. */
static void
on_event(void *arg, const char *event, const char *data, size_t datalen, const char *id)
{
	struct rec *r = arg;

	/* The data is NUL-terminated past its length, whatever it holds. */
	assert_int_equal(data[datalen], '\0');
	buf_printf(&r->log, "E%s|%s|%zu:", event, id, datalen);
	buf_add(&r->log, data, datalen);
	buf_addc(&r->log, '\n');
	r->events++;
}

/* Logs a comment, which is all the parser says about it. */
static void
on_comment(void *arg)
{
	struct rec *r = arg;

	buf_adds(&r->log, "C\n");
	r->comments++;
}

/* Runs len bytes through a new parser with cap max in one chunk. */
static struct sse *
run_len(struct rec *r, size_t max, const char *in, size_t len)
{
	struct sse *s = sse_new(max, on_event, on_comment, r);

	memset(r, 0, sizeof *r);
	buf_adds(&r->log, "");
	sse_feed(s, in, len);
	return s;
}

/* Runs a NUL-terminated stream and checks the log; the parser is freed. */
static void
expect(const char *in, const char *want)
{
	struct rec r;
	struct sse *s = run_len(&r, 0, in, strlen(in));

	assert_string_equal(r.log.s, want);
	sse_free(s);
	buf_free(&r.log);
}

static void
test_fields(void **state)
{
	(void)state;
	expect("event: add\ndata: 73857293\n\n", "Eadd||8:73857293\n");
	/* No event field, or an empty one, is "message" (WPT format-field-event-empty). */
	expect("data: x\n\n", "Emessage||1:x\n");
	expect("event: \ndata:data\n\n", "Emessage||4:data\n");
	/* The type applies to one event only. */
	expect("event: a\ndata: 1\n\ndata: 2\n\n", "Ea||1:1\nEmessage||1:2\n");
	/* The last event field wins. */
	expect("event: a\nevent: b\ndata: 1\n\n", "Eb||1:1\n");
	/* Names are case-sensitive and taken up to the first colon only. */
	expect("Data: x\nDATA: y\ndata : z\nfoo: bar\ndata: ok\n\n", "Emessage||2:ok\n");
	expect("data: a:b: c\n\n", "Emessage||6:a:b: c\n");
	/* Longer names that start like known ones are unknown. */
	expect("dataX: a\nevents: b\nretry2: 5\ndata: ok\n\n", "Emessage||2:ok\n");
}

static void
test_space_after_colon(void **state)
{
	(void)state;
	expect("data:x\n\n", "Emessage||1:x\n");
	expect("data: x\n\n", "Emessage||1:x\n");
	/* Only one space goes; tabs and trailing spaces stay. */
	expect("data:  x \n\n", "Emessage||3: x \n");
	expect("data:\tx\n\n", "Emessage||2:\tx\n");
	expect("event:  e\ndata:1\n\n", "E e||1:1\n");
}

static void
test_data_lines(void **state)
{
	(void)state;
	/* WPT format-field-data: "" then "\n"; the last block never ends. */
	expect("data:\n\ndata\ndata\n\ndata:test", "Emessage||0:\nEmessage||1:\n\n");
	expect("data: a\ndata: b\ndata: c\n\n", "Emessage||5:a\nb\nc\n");
	/* Trailing data lines that are empty add their LFs. */
	expect("data: a\ndata:\n\n", "Emessage||2:a\n\n");
	/* WPT format-data-before-final-empty-line. */
	expect("retry:1000\ndata:test1\n\nid:test\ndata:test2", "Emessage||5:test1\n");
	/* Many blank lines dispatch nothing more. */
	expect("\n\n\ndata: x\n\n\n\n", "Emessage||1:x\n");
	/* NUL bytes travel with the length. */
	{
		struct rec r;
		struct sse *s = RUN(&r, 0, "data: a\0b\n\n");

		assert_int_equal(r.events, 1);
		assert_memory_equal(r.log.s, "Emessage||3:a\0b\n", 16);
		sse_free(s);
		buf_free(&r.log);
	}
}

static void
test_no_data_no_event(void **state)
{
	(void)state;
	expect("event: x\n\n", "");
	expect("id: 1\n\n", "");
	expect("retry: 5\n\n", "");
	expect("foo\n\n", "");
	/* An unfinished event at the end of the stream is never dispatched. */
	expect("data: x\n", "");
	expect("data: x", "");
	/* A type set in an event with no data does not leak into the next. */
	expect("event: x\n\ndata: 1\n\n", "Emessage||1:1\n");
}

static void
test_comments(void **state)
{
	struct rec r;
	struct sse_stats st;
	struct sse *s;

	(void)state;
	expect(":thump\n", "C\n");
	expect(":\n:\n", "C\nC\n");
	/* A comment inside an event neither ends nor breaks it. */
	expect("data: a\n:thump\ndata: b\n\n", "C\nEmessage||3:a\nb\n");
	/* ": data: x" is a comment, not a field. */
	expect(": data: x\n\n", "C\n");

	s = RUN(&r, 0, ":)\n\n:thump\r\n:thump\r:thump");
	sse_stats(s, &st);
	assert_int_equal(st.comments, 3);
	assert_int_equal(r.comments, 3);
	assert_int_equal(st.events, 0);
	/* The last heartbeat's line ends in the next chunk. */
	FEED(s, "\n");
	sse_stats(s, &st);
	assert_int_equal(st.comments, 4);
	sse_free(s);
	buf_free(&r.log);

	/* Without a comment callback the count still moves. */
	s = sse_new(0, on_event, NULL, &r);
	memset(&r, 0, sizeof r);
	FEED(s, ":thump\ndata: x\n\n");
	sse_stats(s, &st);
	assert_int_equal(st.comments, 1);
	assert_int_equal(st.events, 1);
	assert_int_equal(r.comments, 0);
	sse_free(s);
	buf_free(&r.log);
}

static void
test_line_endings(void **state)
{
	(void)state;
	expect("data: a\r\n\r\n", "Emessage||1:a\n");
	expect("data: a\r\r", "Emessage||1:a\n");
	expect("data: a\n\r\n", "Emessage||1:a\n");
	expect("data: a\r\n\n", "Emessage||1:a\n");
	/* WPT format-newlines. */
	expect("data:test\r\ndata\ndata:test\r\n\r", "Emessage||10:test\n\ntest\n");
	/* "\n\r" is two line ends; "\r\n" one. */
	expect("data: a\n\rdata: b\r\n\r\n", "Emessage||1:a\nEmessage||1:b\n");
	expect("data: a\r\ndata: b\r\rdata: c\n\n", "Emessage||3:a\nb\nEmessage||1:c\n");
	/* A CR as the first byte of the stream is a blank line. */
	expect("\rdata: x\r\r", "Emessage||1:x\n");
}

static void
test_bom(void **state)
{
	struct rec r;
	struct sse *s;

	(void)state;
	expect("\xef\xbb\xbf" "data: x\n\n", "Emessage||1:x\n");
	expect("\xef\xbb\xbf\n" "data: x\n\n", "Emessage||1:x\n");
	/* Only one leading BOM goes; a second one is part of the field name. */
	expect("\xef\xbb\xbf\xef\xbb\xbf" "data: x\n\ndata: y\n\n", "Emessage||1:y\n");
	/* Later, it is just bytes. */
	expect("data: a\n\n\xef\xbb\xbf" "data: b\n\n", "Emessage||1:a\n");
	/* Part of a BOM is text: the name is not "data". */
	expect("\xef\xbb" "data: x\n\ndata: y\n\n", "Emessage||1:y\n");
	/* A BOM-like start of data survives as a value byte. */
	expect("\xef" "\n" "data: x\n\n", "Emessage||1:x\n");

	/* Split across chunks, byte by byte. */
	s = sse_new(0, on_event, on_comment, &r);
	memset(&r, 0, sizeof r);
	FEED(s, "\xef");
	FEED(s, "\xbb");
	FEED(s, "\xbf");
	FEED(s, "d");
	FEED(s, "ata: x\n\n");
	assert_string_equal(r.log.s, "Emessage||1:x\n");
	sse_free(s);
	buf_free(&r.log);
}

static void
test_id(void **state)
{
	struct rec r;
	struct sse *s;

	(void)state;
	expect("id: 1\ndata: a\n\ndata: b\n\n", "Emessage|1|1:a\nEmessage|1|1:b\n");
	/* An empty id clears it; "id" alone too. */
	expect("id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\ndata: c\n\nid:\ndata: d\n\n",
	    "Emessage|1|1:a\nEmessage||1:b\nEmessage|2|1:c\nEmessage||1:d\n");
	/* An id with a NUL is ignored. */
	{
		const char in[] = "id: 7\ndata: a\n\nid: 8\0x\ndata: b\n\n";

		s = run_len(&r, 0, in, sizeof in - 1);
		assert_string_equal(r.log.s, "Emessage|7|1:a\nEmessage|7|1:b\n");
		sse_free(s);
		buf_free(&r.log);
	}
	/* The ID string moves at every blank line, even with nothing dispatched. */
	s = RUN(&r, 0, "data: a\n\n");
	assert_string_equal(sse_last_id(s), "");
	FEED(s, "id: 42\n");
	assert_string_equal(sse_last_id(s), "");
	FEED(s, "\n");
	assert_string_equal(sse_last_id(s), "42");
	assert_int_equal(r.events, 1);
	/* The id set after the data still counts for that event. */
	FEED(s, "data: b\nid: 43\n\n");
	assert_string_equal(sse_last_id(s), "43");
	assert_string_equal(r.log.s, "Emessage||1:a\nEmessage|43|1:b\n");
	sse_free(s);
	buf_free(&r.log);
}

static void
test_retry(void **state)
{
	struct rec r;
	struct sse *s;

	(void)state;
	s = RUN(&r, 0, "");
	assert_int_equal(sse_retry(s), -1);
	FEED(s, "retry: 1000\n");
	assert_int_equal(sse_retry(s), 1000);
	/* Anything but ASCII digits is ignored, the old value kept. */
	FEED(s, "retry: 10a\nretry: -5\nretry: 5 \nretry: \nretry\nretry: +3\n");
	assert_int_equal(sse_retry(s), 1000);
	FEED(s, "retry:0\n");
	assert_int_equal(sse_retry(s), 0);
	FEED(s, "retry: 99999999999999999999999999\n");
	assert_int_equal(sse_retry(s), INT64_MAX);
	/* retry is stream state: no event and no blank line needed. */
	FEED(s, "retry: 3000");
	assert_int_equal(sse_retry(s), INT64_MAX);
	FEED(s, "\r");
	assert_int_equal(sse_retry(s), 3000);
	assert_int_equal(r.events, 0);
	sse_free(s);
	buf_free(&r.log);
}

static void
test_utf8(void **state)
{
	(void)state;
	/* Valid text passes untouched. */
	expect("data: caf\xc3\xa9 \xf0\x9f\x98\x80\n\n", "Emessage||10:caf\xc3\xa9 \xf0\x9f\x98\x80\n");
	/* One U+FFFD per maximal invalid prefix, as the standard's decoder gives. */
	expect("data: a\xffz\n\n", "Emessage||5:a\xef\xbf\xbdz\n");
	expect("data: \xe2\x82\n\n", "Emessage||3:\xef\xbf\xbd\n");
	expect("data: \xe2\x82z\n\n", "Emessage||4:\xef\xbf\xbdz\n");
	expect("data: \xed\xa0\x80\n\n", "Emessage||9:\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n");
	expect("data: \xc0\xaf\n\n", "Emessage||6:\xef\xbf\xbd\xef\xbf\xbd\n");
	expect("data: \xf4\x90\x80\x80\n\n",
	    "Emessage||12:\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n");
	/* A sequence cut by a line end is broken on both sides of it. */
	expect("data: \xe2\x82\ndata: \xac\n\n", "Emessage||7:\xef\xbf\xbd\n\xef\xbf\xbd\n");
	/* Types and ids are decoded the same way. */
	expect("event: \xff\nid: \xfe\ndata: x\n\n", "E\xef\xbf\xbd|\xef\xbf\xbd|1:x\n");
}

static void
test_oversized(void **state)
{
	struct rec r;
	struct sse_stats st;
	struct sse *s;
	char big[200];
	char *huge;
	size_t i, hugelen = 10 * 1024 * 1024;

	(void)state;
	memset(big, 'x', sizeof big);

	/* A data line over the cap drops its event; the next one is fine. */
	s = RUN(&r, 64, "");
	assert_int_equal(FEED(s, "event: update\ndata: "), 0);
	assert_int_equal(sse_feed(s, big, 100), 1);
	assert_int_equal(FEED(s, "\ndata: more\n\nevent: delete\ndata: 1\n\n"), 0);
	assert_string_equal(r.log.s, "Edelete||1:1\n");
	sse_stats(s, &st);
	assert_int_equal(st.oversized, 1);
	assert_int_equal(st.events, 1);

	/* Data lines that each fit but together do not: dropped once. */
	buf_reset(&r.log);
	for (i = 0; i < 5; i++) {
		FEED(s, "data: ");
		sse_feed(s, big, 20);
		FEED(s, "\n");
	}
	FEED(s, "\ndata: ok\n\n");
	assert_string_equal(r.log.s, "Emessage||2:ok\n");
	sse_stats(s, &st);
	assert_int_equal(st.oversized, 2);

	/* A comment or an unknown field over the cap is an overlong line too. */
	buf_reset(&r.log);
	FEED(s, "data: lost\n:");
	sse_feed(s, big, 80);
	FEED(s, "\n\ndata: kept\n\n");
	assert_string_equal(r.log.s, "Emessage||4:kept\n");
	sse_stats(s, &st);
	assert_int_equal(st.oversized, 3);
	assert_int_equal(st.comments, 0);
	sse_free(s);
	buf_free(&r.log);

	/* Exactly the cap is allowed: line and data both 64 bytes. */
	s = RUN(&r, 64, "data:");
	sse_feed(s, big, 59);
	FEED(s, "\n\n");
	assert_int_equal(r.events, 1);
	FEED(s, "data:");
	sse_feed(s, big, 60);
	FEED(s, "\n\n");
	assert_int_equal(r.events, 1);
	/* Joined data of exactly 64 bytes: 31 + LF + 32. */
	FEED(s, "data:");
	sse_feed(s, big, 31);
	FEED(s, "\ndata:");
	sse_feed(s, big, 32);
	FEED(s, "\n\n");
	assert_int_equal(r.events, 2);
	FEED(s, "data:");
	sse_feed(s, big, 31);
	FEED(s, "\ndata:");
	sse_feed(s, big, 33);
	FEED(s, "\n\n");
	assert_int_equal(r.events, 2);
	sse_stats(s, &st);
	assert_int_equal(st.oversized, 2);
	sse_free(s);
	buf_free(&r.log);

	/*
	 * Ten megabytes of one data line in 4 KiB chunks under the default cap,
	 * then a good event; ASan would catch a buffer that held it all only by
	 * its size, so the drop is checked through the stats.
	 */
	huge = malloc(hugelen);
	assert_non_null(huge);
	memset(huge, 'y', hugelen);
	s = RUN(&r, 0, "data: ");
	for (i = 0; i < hugelen; i += 4096)
		sse_feed(s, huge + i, hugelen - i < 4096 ? hugelen - i : 4096);
	FEED(s, "\r\n\r\nevent: update\r\ndata: {}\r\n\r\n");
	assert_string_equal(r.log.s, "Eupdate||2:{}\n");
	sse_stats(s, &st);
	assert_int_equal(st.oversized, 1);
	free(huge);
	sse_free(s);
	buf_free(&r.log);
}

/* A stream that exercises every rule at once, for the chunking tests. */
static const char stream[] =
    "\xef\xbb\xbf:welcome\r\n"
    "retry: 2500\r\n"
    "event: update\r\n"
    "id: 17\n"
    "data: {\"id\":\"1\",\r"
    "data:\"content\":\"<p>caf\xc3\xa9</p>\"}\r\n"
    "\r\n"
    ":thump\n"
    "event: delete\rdata: 109876\r\r"
    "data\n\n"
    "data:\n"
    "data:  two spaces\n"
    "unknown: field\n"
    "event:status.update\n"
    "data: \xe2\x82 broken\n"
    "\n"
    "data: " "0123456789012345678901234567890123456789012345678901234567890123456789" "\n"
    "\n"
    "id\n"
    "data: after the big one\r\n"
    "\r\n"
    "event: unfinished\n"
    "data: never";

/* Feeds the stream in the given chunk lengths (the rest in one last chunk). */
static void
run_chunks(struct rec *r, const size_t *cuts, size_t ncuts, struct sse_stats *st)
{
	struct sse *s = sse_new(64, on_event, on_comment, r);
	size_t at = 0, len = sizeof stream - 1, n;

	memset(r, 0, sizeof *r);
	buf_adds(&r->log, "");
	for (size_t i = 0; i < ncuts && at < len; i++) {
		n = cuts[i] < len - at ? cuts[i] : len - at;
		sse_feed(s, stream + at, n);
		at += n;
	}
	sse_feed(s, stream + at, len - at);
	buf_printf(&r->log, "retry=%lld last=%s", (long long)sse_retry(s), sse_last_id(s));
	sse_stats(s, st);
	sse_free(s);
}

static void
test_chunking(void **state)
{
	struct rec whole, r;
	struct sse_stats st0, st;
	size_t len = sizeof stream - 1, cuts[sizeof stream], i, j, n;
	const char *want = "C\n"
			   "Eupdate|17|36:{\"id\":\"1\",\n\"content\":\"<p>caf\xc3\xa9</p>\"}\n"
			   "C\n"
			   "Edelete|17|6:109876\n"
			   "Emessage|17|0:\n"
			   "Estatus.update|17|23:\n two spaces\n\xef\xbf\xbd broken\n"
			   "Emessage||17:after the big one\n"
			   "retry=2500 last=";

	(void)state;
	run_chunks(&whole, NULL, 0, &st0);
	assert_string_equal(whole.log.s, want);
	assert_int_equal(st0.events, 5);
	assert_int_equal(st0.comments, 2);
	assert_int_equal(st0.oversized, 1);

	/* One byte at a time. */
	for (i = 0; i < len; i++)
		cuts[i] = 1;
	run_chunks(&r, cuts, len, &st);
	assert_string_equal(r.log.s, whole.log.s);
	assert_memory_equal(&st, &st0, sizeof st);
	buf_free(&r.log);

	/* Two chunks, split at every byte boundary. */
	for (i = 0; i <= len; i++) {
		cuts[0] = i;
		run_chunks(&r, cuts, 1, &st);
		if (strcmp(r.log.s, whole.log.s) != 0)
			fail_msg("split at %zu:\n%s\nwant\n%s", i, r.log.s, whole.log.s);
		assert_memory_equal(&st, &st0, sizeof st);
		buf_free(&r.log);
	}

	/* Three chunks, every pair of split points. */
	for (i = 0; i <= len; i += 3) {
		for (j = 0; i + j <= len; j++) {
			cuts[0] = i;
			cuts[1] = j;
			run_chunks(&r, cuts, 2, &st);
			if (strcmp(r.log.s, whole.log.s) != 0)
				fail_msg("split at %zu+%zu", i, j);
			buf_free(&r.log);
		}
	}

	/* Random chunk sizes from a fixed seed, so failures repeat. */
	srand(20240229);
	for (i = 0; i < 500; i++) {
		for (n = 0; n < len; n++)
			cuts[n] = (size_t)(rand() % 9);
		run_chunks(&r, cuts, len, &st);
		if (strcmp(r.log.s, whole.log.s) != 0)
			fail_msg("random run %zu differs", i);
		assert_memory_equal(&st, &st0, sizeof st);
		buf_free(&r.log);
	}
	buf_free(&whole.log);
}

/* A Status as Mastodon's streaming server writes it: one line of JSON. */
#define STATUS_JSON                                                                             \
	"{\"id\":\"112233445566778899\",\"created_at\":\"2024-03-05T14:22:31.407Z\","         \
	"\"in_reply_to_id\":\"112233445566770000\",\"in_reply_to_account_id\":\"109\","       \
	"\"sensitive\":false,\"spoiler_text\":\"\",\"visibility\":\"public\",\"language\":"      \
	"\"en\",\"uri\":\"https://mastodon.social/users/AcmeSupport/statuses/"                 \
	"112233445566778899\",\"url\":\"https://mastodon.social/@AcmeSupport/"                 \
	"112233445566778899\",\"replies_count\":0,\"reblogs_count\":0,\"favourites_count\":0,"  \
	"\"edited_at\":null,\"content\":\"<p><span class=\\\"h-card\\\"><a href=\\\""          \
	"https://fosstodon.org/@jdoe\\\" class=\\\"u-url mention\\\">@<span>jdoe</span></a>"   \
	"</span> Sorry to hear that! Please DM us your order number.</p>\",\"reblog\":null,"    \
	"\"account\":{\"id\":\"110\",\"username\":\"AcmeSupport\",\"acct\":\"AcmeSupport\"},"  \
	"\"media_attachments\":[],\"mentions\":[],\"tags\":[],\"emojis\":[],\"card\":null,"     \
	"\"poll\":null}"

static void
test_mastodon_stream(void **state)
{
	struct rec r;
	struct sse_stats st;
	struct sse *s;
	const char *in = ":)\n"
			 "\n"
			 "event: update\n"
			 "data: " STATUS_JSON "\n"
			 "\n"
			 ":thump\n"
			 "event: delete\n"
			 "data: 112233445566778899\n"
			 "\n"
			 "event: status.update\n"
			 "data: " STATUS_JSON "\n"
			 "\n"
			 ":thump\n";
	struct buf want = BUF_INIT;

	(void)state;
	buf_printf(&want, "C\nEupdate||%zu:%s\nC\nEdelete||18:112233445566778899\n"
			  "Estatus.update||%zu:%s\nC\n",
	    strlen(STATUS_JSON), STATUS_JSON, strlen(STATUS_JSON), STATUS_JSON);
	s = run_len(&r, 0, in, strlen(in));
	assert_string_equal(r.log.s, want.s);
	sse_stats(s, &st);
	assert_int_equal(st.events, 3);
	assert_int_equal(st.comments, 3);
	assert_int_equal(st.oversized, 0);
	/* Mastodon sends neither ids nor retry. */
	assert_string_equal(sse_last_id(s), "");
	assert_int_equal(sse_retry(s), -1);
	sse_free(s);
	buf_free(&r.log);
	buf_free(&want);
}

static void
test_reset(void **state)
{
	struct rec r;
	struct sse *s;

	(void)state;
	s = RUN(&r, 0, "retry: 700\nid: 5\ndata: a\n\nid: 6\nevent: x\ndata: half");
	assert_string_equal(r.log.s, "Emessage|5|1:a\n");
	sse_reset(s);
	/* The half event is gone, the retry and ID string stay, a BOM is new again. */
	assert_int_equal(sse_retry(s), 700);
	assert_string_equal(sse_last_id(s), "5");
	FEED(s, "\xef\xbb\xbf" "data: b\n\n");
	/* The ID buffer belonged to the old stream. */
	assert_string_equal(r.log.s, "Emessage|5|1:a\nEmessage||1:b\n");
	/* A CR at the end of the old stream does not eat the new stream's LF. */
	FEED(s, "data: c\r");
	sse_reset(s);
	FEED(s, "\ndata: d\n\n");
	assert_string_equal(r.log.s, "Emessage|5|1:a\nEmessage||1:b\nEmessage||1:d\n");
	sse_free(s);
	sse_free(NULL);
	buf_free(&r.log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_space_after_colon),
	    cmocka_unit_test(test_data_lines),
	    cmocka_unit_test(test_no_data_no_event),
	    cmocka_unit_test(test_comments),
	    cmocka_unit_test(test_line_endings),
	    cmocka_unit_test(test_bom),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_retry),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_chunking),
	    cmocka_unit_test(test_mastodon_stream),
	    cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
