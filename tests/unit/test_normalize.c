/* The normalizer: exact outputs for every rule it applies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "normalize.h"

/* Normalizes in[0..len) into a fresh buffer and checks the exact result. */
static void
check(const char *in, size_t len, const char *want)
{
	struct buf b = BUF_INIT;

	normalize(in, len, &b);
	assert_non_null(b.s);
	if (strcmp(b.s, want) != 0)
		fail_msg("normalize(\"%.*s\")\n  got  \"%s\"\n  want \"%s\"", (int)len, in, b.s,
		         want);
	assert_int_equal(b.len, strlen(want));
	buf_free(&b);
}

#define N(in, want) check(in, sizeof(in) - 1, want)

static void
test_empty_and_whitespace(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	/* Even empty output is a NUL-terminated string. */
	normalize("", 0, &b);
	assert_non_null(b.s);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.s, "");
	buf_free(&b);
	N("", "");
	N(" ", "");
	N("   \t\r\n\f\v ", "");
	N("\u00a0\u3000\u2028 &nbsp; <br>", "");
	N("hello", "hello");
	N("  Please   DM\r\nus \t now  ", "Please DM us now");
	N("a\tb\nc\rd\fe\vf", "a b c d e f");
}

static void
test_unicode_spaces(void **state)
{
	(void)state;
	N("a\u00a0b\u2000c\u2003d\u200ae\u2028f\u2029g", "a b c d e f g");
	N("a\u202fb\u205fc\u3000d\u1680e", "a b c d e");
	/* Mixed runs collapse to one space, leading and trailing ones go. */
	N("\u3000 a \u00a0\t\u2009 b \u2029", "a b");
}

static void
test_invisibles(void **state)
{
	(void)state;
	N("zero\u200bwidth\ufeff!\u2060", "zerowidth!");
	N("\ufeffBOM first", "BOM first");
	/* A soft hyphen would hide "DM" from a rule. */
	N("D\u00adM us", "DM us");
	/* Emoji sequences keep their joiners; ZWNJ is kept too. */
	N("\U0001F468\u200d\U0001F469\u200d\U0001F467",
	  "\U0001F468\u200d\U0001F469\u200d\U0001F467");
	N("a\u200cb", "a\u200cb");
	/* Zero-width characters do not end a whitespace run or start one. */
	N("a \u200b b", "a b");
}

static void
test_controls_and_nul(void **state)
{
	(void)state;
	/* NUL bytes are dropped; they carry nothing. */
	check("a\0b", 3, "ab");
	check("\0\0", 2, "");
	check("a \0 b", 5, "a b");
	/* Other C0 controls, DEL and C1 controls separate words. */
	N("a\x01"
	  "b\x1b"
	  "c\x7f"
	  "d",
	  "a b c d");
	N("a\xc2\x85"
	  "b\xc2\x80"
	  "c\xc2\x9f"
	  "d",
	  "a b c d");
}

static void
test_named_entities(void **state)
{
	(void)state;
	N("Tom &amp; Jerry &lt;3 &gt;:( &quot;hi&quot; &apos;x&apos;",
	  "Tom & Jerry <3 >:( \"hi\" 'x'");
	N("a&nbsp;&nbsp;b", "a b");
	N("&lsquo;a&rsquo; &ldquo;b&rdquo; &sbquo;c &bdquo;d", "'a' \"b\" 'c \"d");
	N("wait&hellip; &mdash; &ndash;", "wait... - -");
	N("&copy;&reg;&trade;&euro;&pound;&laquo;&raquo;&middot;",
	  "\u00a9\u00ae\u2122\u20ac\u00a3\u00ab\u00bb\u00b7");
	N("&eacute;t&eacute; &ntilde; &Eacute; &uuml; &szlig; &ccedil;",
	  "\u00e9t\u00e9 \u00f1 \u00c9 \u00fc \u00df \u00e7");
	N("a&zwj;b&zwnj;c&shy;d", "a\u200db\u200ccd");
	/* Entities next to text with no spaces around them. */
	N("x&amp;y&lt;z", "x&y<z");
	/* The first and last entries of the sorted table are found. */
	N("&AElig; &zwnj;", "\u00c6 \u200c");
}

static void
test_numeric_entities(void **state)
{
	(void)state;
	N("we&#39;re &#x27;ok&#X27; &#8217; &#x2019;", "we're 'ok' ' '");
	N("&#64;bob &#x1F600;", "@bob \U0001F600");
	N("&#0065;&#x0041;", "AA");
	/* HTML reads &#128;-&#159; as Windows-1252. */
	N("we&#146;re &#147;hi&#148; &#133; &#150; &#128;", "we're \"hi\" ... - \u20ac");
	/* Numeric whitespace and controls behave like the characters. */
	N("a&#10;&#13;&#32;b&#9;c&#160;d", "a b c d");
	N("a&#x81;b", "a b");
	/* Zero, surrogates and beyond U+10FFFF become U+FFFD. */
	N("&#0; &#xD800; &#xdfff; &#x110000; &#1114112; &#99999999; &#xFFFFFFFF;",
	  "\ufffd \ufffd \ufffd \ufffd \ufffd \ufffd \ufffd");
	N("&#x10FFFF;", "\U0010FFFF");
	/* More than eight digits is not an entity. */
	N("&#123456789; &#x123456789;", "&#123456789; &#x123456789;");
}

static void
test_entities_literal(void **state)
{
	(void)state;
	/* Decoded once: a double-encoded entity stays one level encoded. */
	N("&amp;amp; &amp;lt; &amp;#39;", "&amp; &lt; &#39;");
	/* Not entities: left as text. */
	N("AT&T & co &unknown; &#; &#x; &#xZZ; &", "AT&T & co &unknown; &#; &#x; &#xZZ; &");
	N("&amp &lt3 &#39 &", "&amp &lt3 &#39 &");
	N("&AMP; &Amp; &verylongname;", "&AMP; &Amp; &verylongname;");
	N("&", "&");
	N("&#", "&#");
	N("&#x", "&#x");
	N("&a", "&a");
	/* A decoded '<' or '&' is never read as markup or an entity again. */
	N("&lt;b&gt;not a tag&lt;/b&gt;", "<b>not a tag</b>");
	N("&lt;!-- x --&gt;", "<!-- x -->");
	N("&amp;lt;3", "&lt;3");
}

static void
test_folding(void **state)
{
	(void)state;
	N("We\u2019re sorry \u2018x\u2019 \u201cDM us\u201d \u201eq\u201f \u201aa\u201b",
	  "We're sorry 'x' \"DM us\" \"q\" 'a'");
	N("5\u2032 6\u2033 \uff07a\uff07 \uff02b\uff02 we\u02bcre", "5' 6\" 'a' \"b\" we're");
	N("&rsquo;&ldquo;&rdquo;", "'\"\"");
	/* En and em dashes (and their kin) fold to '-'; the ellipsis to "...". */
	N("wait\u2026 ok \u2013 fine\u2014really \u2010\u2011\u2012\u2015\u2212",
	  "wait... ok - fine-really -----");
	/* The two non-ASCII letters that caseless matching equates with ASCII ones. */
	N("\u017fend 5\u212a", "send 5K");
	/* Everything else is kept as it is, case included. */
	N("Caf\u00e9 \u00bfQU\u00c9? \u00ab\u00bb \u00a9 \u4e2d\u6587",
	  "Caf\u00e9 \u00bfQU\u00c9? \u00ab\u00bb \u00a9 \u4e2d\u6587");
}

static void
test_tags(void **state)
{
	(void)state;
	N("<p>Hi <b>there</b></p><p>again</p>", "Hi there again");
	N("line<br>break<br/>x<BR />y<Br>z", "line break x y z");
	N("<div>a</div><div>b</div><ul><li>c</li><li>d</li></ul>", "a b c d");
	N("<h1>T</h1><blockquote>q</blockquote><hr>e", "T q e");
	/* Inline tags join what is around them. */
	N("un<span>believ</span><em>able</em>", "unbelievable");
	N("a<b>c", "ac");
	N("<P CLASS=\"x\">Up</P>", "Up");
	N("<custom-el data-x=1>k</custom-el>", "k");
	/* A '>' inside a quoted value does not end the tag. */
	N("<span title=\"a>b\">t</span> <i title='c>d'>u</i>", "t u");
	/* An unclosed quote falls back to the first '>'. */
	N("<span title=\"a>b</span> c", "b c");
	N("<!-- hidden --> shown", "shown");
	N("a<!---->b<!-->c<!--->d", "abcd");
	N("<!DOCTYPE html><p>x</p>", "x");
	N("a<![CDATA[x]]>b", "ab");
}

static void
test_tags_literal(void **state)
{
	char big[2200];

	(void)state;
	N("<3 you", "<3 you");
	N("I </3 mondays >:(", "I </3 mondays >:(");
	N("a < b and c > d", "a < b and c > d");
	N("1<2 and 3>2", "1<2 and 3>2");
	N("<<<>>>", "<<<>>>");
	N("<", "<");
	N("<a", "<a");
	N("<p", "<p");
	N("</", "</");
	N("<!", "<!");
	N("<!-", "<!-");
	N("<! wow >", "<! wow >");
	N("<>", "<>");
	N("< p>", "< p>");
	N("</ p>", "</ p>");
	/* Angle-bracketed addresses and URLs are text, not tags. */
	N("mail <help@example.com> or <https://example.com/dm>",
	  "mail <help@example.com> or <https://example.com/dm>");
	/* No '>' at all: the '<' is text. */
	N("unterminated <span class=\"x\" and more", "unterminated <span class=\"x\" and more");
	N("<!-- never closed", "<!-- never closed");
	N("<!-- never -- closed ->", "<!-- never -- closed ->");
	/* A '>' too far away does not make a tag. */
	memset(big, 'x', sizeof big);
	memcpy(big, "<b ", 3);
	big[sizeof big - 1] = '>';
	{
		struct buf b = BUF_INIT;

		normalize(big, sizeof big, &b);
		assert_int_equal(b.len, sizeof big);
		assert_memory_equal(b.s, big, sizeof big);
		memcpy(big, "<!--", 4);
		memcpy(big + sizeof big - 3, "-->", 3);
		normalize(big, sizeof big, &b);
		assert_int_equal(b.len, sizeof big);
		buf_free(&b);
	}
	/* A tag that is within reach still goes. */
	memset(big, 'x', sizeof big);
	memcpy(big, "<b ", 3);
	big[2000] = '>';
	{
		struct buf b = BUF_INIT;

		normalize(big, sizeof big, &b);
		assert_int_equal(b.len, sizeof big - 2001);
		buf_free(&b);
	}
}

static void
test_mastodon_html(void **state)
{
	(void)state;
	N("<p><span class=\"h-card\"><a href=\"https://mastodon.social/@bob\" class=\"u-url "
	  "mention\">@<span>bob</span></a></span> please DM us: <a "
	  "href=\"https://twitter.com/messages/compose?recipient_id=123\" rel=\"nofollow "
	  "noopener\" "
	  "target=\"_blank\"><span class=\"invisible\">https://</span><span "
	  "class=\"ellipsis\">twitter.com/messages/com</span><span "
	  "class=\"invisible\">pose?recipient_id=123</span></a></p><p>thanks</p>",
	  "@bob please DM us: https://twitter.com/messages/compose?recipient_id=123 thanks");
	/* Hashtags keep their text; a href's entities are decoded. */
	N("<a href=\"https://m.example/tags/help\" class=\"mention hashtag\" "
	  "rel=\"tag\">#<span>help</span></a> "
	  "<a href='https://x.example/a?b=1&amp;c=2&#38;d=3'>link</a>",
	  "#help https://x.example/a?b=1&c=2&d=3");
	/* The class alone makes a mention, whatever the text says. */
	N("<a href=\"https://m.example/@amy\" class=\"u-url MENTION\">amy</a>!", "amy!");
	/* Visible text starting with @ or # is kept even without the class. */
	N("<a href=\"https://m.example/@amy\">@amy</a> hi", "@amy hi");
	N("<a href=\"https://m.example/tags/x\"> <span>#x</span></a>", "#x");
	/* Unquoted and single-quoted values, attributes in any order and case. */
	N("<a href=https://x.example/p>x</a>", "https://x.example/p");
	N("<a rel=nofollow HREF = 'https://x.example/q' target=_blank>y</a>",
	  "https://x.example/q");
	N("<a href=https://x.example/r/>z</a>", "https://x.example/r/");
	/* Only the href attribute counts, not a name ending in it or a quoted value. */
	N("<a data-href=\"https://evil.example\" title=\" href=https://evil2.example\">t</a>", "t");
	N("<a title='x' href=\"https://a.example\" href=\"https://b.example\">t</a>",
	  "https://a.example");
	/* No href, or an empty one: the text stays. */
	N("<a name=\"top\">top</a> <a href=\"\">e</a> <a href>f</a>", "top e f");
	/* Spaces around the anchor survive the replacement. */
	N("see<a href=\"https://u.example\"> link </a>now", "see https://u.example now");
	N("see <a href=\"https://u.example\">link</a> now", "see https://u.example now");
	N("(<a href=\"https://u.example\">link</a>)", "(https://u.example)");
	N("<a href=\"https://u.example\"></a> x", "https://u.example x");
	/* An anchor without a closing tag keeps its text. */
	N("<a href=\"https://x.example\">text", "text");
	N("<a href=\"https://x.example\">text</p>more", "text more");
	/* A second <a> closes the first, as browsers do; a stray </a> is nothing. */
	N("<a href=\"https://1.example\">one <a href=\"https://2.example\">two</a></a>",
	  "https://1.example https://2.example");
	N("a</a>b", "ab");
	/* An unterminated quote in a href runs to the end of the tag. */
	N("<a href=\"https://x.example/a>t</a>", "https://x.example/a");
	/* Hrefs get the same decoding, folding and UTF-8 repair as text. */
	N("<a href=\"https://x.example/\xff&nbsp;\u2019\">t</a>", "https://x.example/\ufffd '");
}

static void
test_tweet_text(void **state)
{
	(void)state;
	/* Lines from ../shared/corpus. */
	N("@SpotifyCares Microsoft Lumia 950XL\r\rWindows 10 Mobile 10.0.15252.0\r\rSpotify "
	  "5.2.4.0",
	  "@SpotifyCares Microsoft Lumia 950XL Windows 10 Mobile 10.0.15252.0 Spotify 5.2.4.0");
	N("@SpotifyCares Fixed. ty &lt;3", "@SpotifyCares Fixed. ty <3");
	N("@162355 Let's have you log out of the NRC app&gt; restart your device&gt; log back in",
	  "@162355 Let's have you log out of the NRC app> restart your device> log back in");
	N("@115712 Hi! Sorry for the trouble &amp; delay.\r\nPlease DM us \U0001F64F "
	  "https://t.co/abc123",
	  "@115712 Hi! Sorry for the trouble & delay. Please DM us \U0001F64F https://t.co/abc123");
	N("@AirAsiaSupport i can key in our birthdays right \xf0\x9f\x99\x82",
	  "@AirAsiaSupport i can key in our birthdays right \xf0\x9f\x99\x82");
	/* URLs and mentions pass through untouched, query strings included. */
	N("@Acme_Help see https://example.com/a/b?c=d&amp;e=F#G_h-i~j%20k",
	  "@Acme_Help see https://example.com/a/b?c=d&e=F#G_h-i~j%20k");
}

static void
test_invalid_utf8(void **state)
{
	(void)state;
	N("a\xff"
	  "b",
	  "a\ufffdb");
	N("\x80\xbf", "\ufffd\ufffd");                     /* lone continuation bytes */
	N("\xc0\xaf", "\ufffd\ufffd");                     /* overlong, C0/C1 leads */
	N("\xe0\x80\xaf", "\ufffd\ufffd\ufffd");           /* overlong three-byte */
	N("\xf0\x80\x80\xaf", "\ufffd\ufffd\ufffd\ufffd"); /* overlong four-byte */
	N("\xed\xa0\x80", "\ufffd\ufffd\ufffd");           /* an encoded surrogate */
	N("\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"); /* > U+10FFFF */
	N("\xf5\x80", "\ufffd\ufffd");
	/* Truncated sequences: one U+FFFD for the maximal subpart. */
	N("a\xc3", "a\ufffd");
	N("\xe2\x82"
	  "x",
	  "\ufffdx");
	N("\xf0\x9f\x98"
	  " x",
	  "\ufffd x");
	N("\xe2\x82\xe2\x82\xac", "\ufffd\u20ac");
	/* The largest valid sequences pass. */
	N("\xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf", "\ud7ff \ue000 \U0010FFFF");
	/* Invalid bytes next to markup and entities. */
	N("\xff<b>\xfe</b>&amp;\xc3", "\ufffd\ufffd&\ufffd");
}

static void
test_buffer_reused(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	normalize("first   text", 12, &b);
	assert_string_equal(b.s, "first text");
	normalize("x", 1, &b);
	assert_string_equal(b.s, "x");
	assert_int_equal(b.len, 1);
	normalize("  ", 2, &b);
	assert_string_equal(b.s, "");
	assert_int_equal(b.len, 0);
	/* Growth past the input's length (U+FFFD is three bytes for one). */
	normalize(
	    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
	    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
	    40, &b);
	assert_int_equal(b.len, 120);
	assert_int_equal(strlen(b.s), 120);
	buf_free(&b);
}

/* Pathological markup must stay linear; this would take minutes otherwise. */
static void
test_hostile_markup_is_linear(void **state)
{
	static const char *const unit[] = {"<a",          "<a ",         "<!--",   "<!-- -",
	                                   "<a href=x>@", "<a href=x>y", "<b x='", "<b x='>",
	                                   "<a x=\">",    "&#x1"};
	size_t len = 1 << 20;
	char *in = malloc(len);
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(in);
	for (size_t u = 0; u < sizeof unit / sizeof unit[0]; u++) {
		size_t ul = strlen(unit[u]);

		for (size_t i = 0; i < len; i++)
			in[i] = unit[u][i % ul];
		in[len - 1] = '>';
		normalize(in, len, &b);
		assert_int_equal(strlen(b.s), b.len);
	}
	buf_free(&b);
	free(in);
}

/*
 * Is s[0..len) valid UTF-8 in normalized form: no control characters, no
 * whitespace but single inner spaces, none of the dropped invisibles?
 */
static int
valid_output(const unsigned char *s, size_t len)
{
	if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
		return 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			if (c == ' ' && i + 1 < len && s[i + 1] == ' ')
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		if (cp < 0xa0 || cp == 0xa0 || cp == 0xad || (cp >= 0x2000 && cp <= 0x200b) ||
		    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x2060 ||
		    cp == 0x3000 || cp == 0xfeff || cp == 0x2018 || cp == 0x2019 || cp == 0x201c ||
		    cp == 0x201d || cp == 0x2026)
			return 0;
		i += n + 1;
	}
	return 1;
}

static void
test_random_bytes_give_valid_output(void **state)
{
	static const char alphabet[] =
	    "<>&#;ax/!- \t\n\r\"'=@\xc3\xa9\xe2\x80\x99\xf0\x9f\x98\x80\xff\x80"
	    "\xc2\xa0\xe2\x80\x8b\xed\xa0";
	static const char *const words[] = {
	    "<a href=", "</a>",          "<p>",    "<!--",         "-->",          "&amp;", "&#x",
	    "&#",       "class=mention", "&nbsp;", "\xe2\x80\xa6", "\xe3\x80\x80", "<br/>"};
	struct buf b = BUF_INIT;
	char in[160];
	uint32_t seed = 12345;

	(void)state;
	for (int iter = 0; iter < 100000; iter++) {
		size_t len = (size_t)(iter % 150), i = 0;

		while (i < len) {
			seed = seed * 1103515245u + 12345u;
			switch ((seed >> 16) & 3) {
			case 0: /* any byte */
				in[i++] = (char)(seed >> 20);
				break;
			case 1: /* a whole markup or entity fragment */
			{
				const char *w =
				    words[(seed >> 18) % (sizeof words / sizeof words[0])];
				size_t wl = strlen(w);

				if (i + wl > len)
					wl = len - i;
				memcpy(in + i, w, wl);
				i += wl;
				break;
			}
			default: /* a byte from the tricky ones */
				in[i++] = alphabet[(seed >> 18) % (sizeof alphabet - 1)];
				break;
			}
		}
		normalize(in, len, &b);
		assert_int_equal(strlen(b.s), b.len);
		if (!valid_output((const unsigned char *)b.s, b.len))
			fail_msg("iteration %d: bad output \"%s\"", iter, b.s);
		/* Nothing the normalizer does grows its input more than threefold. */
		assert_true(b.len <= 3 * len);
	}
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_and_whitespace),
	    cmocka_unit_test(test_unicode_spaces),
	    cmocka_unit_test(test_invisibles),
	    cmocka_unit_test(test_controls_and_nul),
	    cmocka_unit_test(test_named_entities),
	    cmocka_unit_test(test_numeric_entities),
	    cmocka_unit_test(test_entities_literal),
	    cmocka_unit_test(test_folding),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_tags_literal),
	    cmocka_unit_test(test_mastodon_html),
	    cmocka_unit_test(test_tweet_text),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_buffer_reused),
	    cmocka_unit_test(test_hostile_markup_is_linear),
	    cmocka_unit_test(test_random_bytes_give_valid_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
