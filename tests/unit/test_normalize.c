/* The normalizer: exact outputs for every rule it applies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "normalize.h"

/* Normalizes s and checks the result. */
static void
check(const char *in, size_t len, const char *want)
{
	struct buf b = BUF_INIT;

	normalize(in, len, &b);
	if (strcmp(b.s, want) != 0)
		fail_msg("normalize(\"%s\")\n  got  \"%s\"\n  want \"%s\"", in, b.s, want);
	assert_int_equal(b.len, strlen(want));
	buf_free(&b);
}

#define N(in, want) check(in, sizeof(in) - 1, want)

static void
test_plain_and_whitespace(void **state)
{
	(void)state;
	N("", "");
	N("   \t\r\n ", "");
	N("hello", "hello");
	N("  Please   DM\r\nus \t now  ", "Please DM us now");
	N("a\u00a0b\u2003c\u3000d\u2028e", "a b c d e");
	N("zero\u200bwidth\ufeff!", "zerowidth!");
	/* Emoji sequences keep their joiners. */
	N("\U0001F468\u200d\U0001F469", "\U0001F468\u200d\U0001F469");
}

static void
test_entities(void **state)
{
	(void)state;
	N("Tom &amp; Jerry &lt;3 &gt;:( &quot;hi&quot; &apos;x&apos;", "Tom & Jerry <3 >:( \"hi\" 'x'");
	N("we&#39;re &#x27;ok&#X27; &#8217;", "we're 'ok' '");
	N("a&nbsp;&nbsp;b", "a b");
	N("&hellip; &mdash; &ndash;", "... - -");
	/* Decoded once: a double-encoded entity stays one level encoded. */
	N("&amp;amp; &amp;lt;", "&amp; &lt;");
	/* Not entities: left as text. */
	N("AT&T & co &unknown; &#; &#xZZ; &", "AT&T & co &unknown; &#; &#xZZ; &");
	/* Out of range, surrogate and NUL code points become U+FFFD. */
	N("&#0; &#xD800; &#x110000; &#99999999;", "\ufffd \ufffd \ufffd \ufffd");
	/* Too many digits to be an entity. */
	N("&#123456789;", "&#123456789;");
}

static void
test_quotes_folded(void **state)
{
	(void)state;
	N("We\u2019re sorry \u2018x\u2019 \u201cDM us\u201d \u201eq\u201f", "We're sorry 'x' \"DM us\" \"q\"");
	N("&rsquo;&ldquo;&rdquo;", "'\"\"");
	N("wait\u2026 ok \u2013 fine", "wait... ok - fine");
	/* The two non-ASCII letters that caseless matching equates with ASCII ones. */
	N("\u017fend 5\u212a", "send 5K");
}

static void
test_tags(void **state)
{
	(void)state;
	N("<p>Hi <b>there</b></p><p>again</p>", "Hi there again");
	N("line<br>break<br/>x<BR />y", "line break x y");
	N("<3 you", "<3 you");
	N("a < b and c > d", "a < b and c > d");
	N("a<b>c", "ac");
	N("unterminated <span class=\"x\" and more", "unterminated <span class=\"x\" and more");
	N("<!-- hidden --> shown", "shown");
	N("<!-- never closed", "<!-- never closed");
	N("&lt;b&gt;not a tag&lt;/b&gt;", "<b>not a tag</b>");
}

static void
test_mastodon_html(void **state)
{
	(void)state;
	N("<p><span class=\"h-card\"><a href=\"https://mastodon.social/@bob\" class=\"u-url "
	  "mention\">@<span>bob</span></a></span> please DM us: <a "
	  "href=\"https://twitter.com/messages/compose?recipient_id=123\" rel=\"nofollow noopener\" "
	  "target=\"_blank\"><span class=\"invisible\">https://</span><span "
	  "class=\"ellipsis\">twitter.com/messages/com</span><span "
	  "class=\"invisible\">pose?recipient_id=123</span></a></p><p>thanks</p>",
	    "@bob please DM us: https://twitter.com/messages/compose?recipient_id=123 thanks");
	/* Hashtags keep their text; a href's entities are decoded. */
	N("<a href=\"https://m.example/tags/help\" class=\"mention hashtag\">#<span>help</span></a> "
	  "<a href='https://x.example/a?b=1&amp;c=2'>link</a>",
	    "#help https://x.example/a?b=1&c=2");
	/* An anchor without a closing tag keeps its text. */
	N("<a href=\"https://x.example\">text", "text");
	/* Unquoted attribute. */
	N("<a href=https://x.example/p>x</a>", "https://x.example/p");
	/* Visible text starting with @ is a mention even without the class. */
	N("<a href=\"https://m.example/@amy\">@amy</a> hi", "@amy hi");
}

static void
test_tweet_text(void **state)
{
	(void)state;
	N("@115712 Hi! Sorry for the trouble &amp; delay.\r\nPlease DM us \U0001F64F "
	  "https://t.co/abc123",
	    "@115712 Hi! Sorry for the trouble & delay. Please DM us \U0001F64F https://t.co/abc123");
}

static void
test_invalid_utf8(void **state)
{
	(void)state;
	N("a\xff" "b", "a\ufffdb");
	N("a\xc3", "a\ufffd");
	N("\xc0\xaf", "\ufffd\ufffd");           /* overlong */
	N("\xed\xa0\x80", "\ufffd\ufffd\ufffd"); /* a surrogate */
	N("\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"); /* > U+10FFFF */
	N("\xe2\x82" "x", "\ufffdx");            /* truncated: one U+FFFD */
	check("a\0b", 3, "ab");
}

/* Is s[0..len) valid UTF-8 with no control characters? */
static int
valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static void
test_random_bytes_give_valid_output(void **state)
{
	static const char alphabet[] = "<>&#;ax/ \t\n\r\"'=@\xc3\xa9\xe2\x80\x99\xf0\x9f\x98\x80\xff\x80";
	struct buf b = BUF_INIT;
	char in[96];
	uint32_t seed = 12345;

	(void)state;
	for (int iter = 0; iter < 100000; iter++) {
		size_t len = (size_t)(iter % (int)sizeof in);

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* Half the bytes from an alphabet of tricky ones, half anything. */
			in[i] = (seed >> 16) & 1 ? alphabet[(seed >> 17) % (sizeof alphabet - 1)]
			                        : (char)(seed >> 20);
		}
		normalize(in, len, &b);
		assert_true(valid_utf8((const unsigned char *)b.s, b.len));
		assert_int_equal(strlen(b.s), b.len);
		assert_true(b.len == 0 || (b.s[0] != ' ' && b.s[b.len - 1] != ' '));
		assert_null(strstr(b.s, "  "));
	}
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_and_whitespace),
	    cmocka_unit_test(test_entities),
	    cmocka_unit_test(test_quotes_folded),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_mastodon_html),
	    cmocka_unit_test(test_tweet_text),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_random_bytes_give_valid_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
