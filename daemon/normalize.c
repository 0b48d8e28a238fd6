/*
 * The normalizer: one pass over the raw text, so decoded output is never
 * read again ("&lt;3" becomes "<3" and stays text). Output is valid UTF-8.
 *
 * Everything here is ASCII-only on purpose (no <ctype.h>): the result must
 * not depend on the process locale. Every look-ahead is either bounded
 * (TAG_MAX) or cached in struct norm, so hostile input such as a megabyte
 * of "<a" stays linear.
 */
#include <stdint.h>
#include <string.h>

#include "normalize.h"
#include "utf8.h"

/* How far a '<' may be from its '>' to count as a tag; else it is text. */
#define TAG_MAX 2048

/* Printable ASCII that is neither markup nor an entity: copied as it is. */
#define PLAIN(c) ((c) > 0x20 && (c) < 0x7f && (c) != '<' && (c) != '&')

struct norm {
	const char *in;
	size_t len;
	struct buf *out;
	int space;  /* a whitespace run is pending; written before the next text */
	size_t gt;  /* first '>' at or after the last search start, or len */
	size_t cmt; /* first "-->" end ('>') at or after the last search, or len */

	/*
	 * An open <a href> whose text may give way to its href when it closes:
	 * a_mark is where its text starts in out, a_space whether a space was
	 * pending there, href points into the input.
	 */
	int a_open;
	size_t a_mark;
	int a_space;
	const char *href;
	size_t hreflen;
};

/* Is c ASCII whitespace in the HTML and C sense (\t \n \v \f \r space)? */
static int
is_ws(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Is c an ASCII letter? */
static int
is_alpha(unsigned char c)
{
	return (unsigned char)((c | 0x20) - 'a') < 26;
}

/* Is c an ASCII digit? */
static int
is_digit(unsigned char c)
{
	return (unsigned char)(c - '0') < 10;
}

/* Lowercases an ASCII letter and leaves every other byte alone. */
static unsigned char
lc(unsigned char c)
{
	return (unsigned char)(c - 'A') < 26 ? c | 0x20 : c;
}

/* Compares s[0..len) with the lowercase word w, ASCII-caselessly. */
static int
eq_ci(const char *s, size_t len, const char *w)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (w[i] == '\0' || lc((unsigned char)s[i]) != (unsigned char)w[i])
			return 0;
	return w[i] == '\0';
}

/* Does s[0..len) contain the lowercase word w, ASCII-caselessly? */
static int
has_ci(const char *s, size_t len, const char *w)
{
	size_t wl = strlen(w);

	for (size_t i = 0; i + wl <= len; i++)
		if (eq_ci(s + i, wl, w))
			return 1;
	return 0;
}

/* Makes room for k more output bytes and the final NUL. */
static void
room(struct buf *b, size_t k)
{
	if (b->len + k >= b->cap)
		buf_reserve(b, k);
}

/* Starts a piece of text: writes the pending space unless output is empty. */
static void
flush_space(struct norm *n)
{
	struct buf *b = n->out;

	if (n->space && b->len > 0)
		b->s[b->len++] = ' ';
	n->space = 0;
}

/* Writes bytes known to be valid UTF-8 text (not whitespace). */
static void
emit(struct norm *n, const char *s, size_t k)
{
	struct buf *b = n->out;

	room(b, k + 1);
	flush_space(n);
	memcpy(b->s + b->len, s, k);
	b->len += k;
}

/* Writes one non-whitespace code point, valid by construction, as UTF-8. */
static void
emit_utf8(struct norm *n, uint32_t cp)
{
	struct buf *b = n->out;
	unsigned char *s;

	room(b, 5);
	flush_space(n);
	s = (unsigned char *)b->s + b->len;
	if (cp < 0x80) {
		s[0] = (unsigned char)cp;
		b->len += 1;
	} else if (cp < 0x800) {
		s[0] = (unsigned char)(0xc0 | cp >> 6);
		s[1] = (unsigned char)(0x80 | (cp & 0x3f));
		b->len += 2;
	} else if (cp < 0x10000) {
		s[0] = (unsigned char)(0xe0 | cp >> 12);
		s[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp & 0x3f));
		b->len += 3;
	} else {
		s[0] = (unsigned char)(0xf0 | cp >> 18);
		s[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[3] = (unsigned char)(0x80 | (cp & 0x3f));
		b->len += 4;
	}
}

/* Is cp a Unicode space that should separate words like ' ' does? */
static int
is_space_cp(uint32_t cp)
{
	return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/*
 * Writes one decoded code point, folding what rules should not have to
 * spell out: quote look-alikes, dashes, the ellipsis, spaces, invisibles.
 */
static void
emit_cp(struct norm *n, uint32_t cp)
{
	if (cp < 0xa0) {
		if (cp == 0)
			return; /* NUL carries nothing and would end C strings */
		if (cp <= 0x20 || cp >= 0x7f)
			n->space = 1; /* C0, DEL and C1 controls separate words */
		else
			emit_utf8(n, cp);
		return;
	}
	switch (cp) {
	case 0x00ad: /* soft hyphen: invisible, yet splits "D\u00adM" */
	case 0x200b: /* zero width space */
	case 0x2060: /* word joiner */
	case 0xfeff: /* byte order mark, zero width no-break space */
		return;
	case 0x02bc: /* modifier letter apostrophe */
	case 0x2018:
	case 0x2019:
	case 0x201a:
	case 0x201b:
	case 0x2032:
	case 0xff07:
		emit(n, "'", 1);
		return;
	case 0x201c:
	case 0x201d:
	case 0x201e:
	case 0x201f:
	case 0x2033:
	case 0xff02:
		emit(n, "\"", 1);
		return;
	case 0x2010:
	case 0x2011:
	case 0x2012:
	case 0x2013:
	case 0x2014:
	case 0x2015:
	case 0x2212:
		emit(n, "-", 1);
		return;
	case 0x2026:
		emit(n, "...", 3);
		return;
	/*
	 * Caseless PCRE2 matches these for ASCII 's' and 'k'; folding them
	 * keeps the ASCII literal prefilter exact.
	 */
	case 0x017f:
		emit(n, "s", 1);
		return;
	case 0x212a:
		emit(n, "K", 1);
		return;
	}
	if (is_space_cp(cp))
		n->space = 1;
	else
		emit_utf8(n, cp);
}


/* Named entities we decode, sorted for binary search; others stay text. */
static const struct entity {
	const char *name;
	uint32_t cp;
} entities[] = {
    {"AElig", 0xc6},    {"Aacute", 0xc1},  {"Agrave", 0xc0},  {"Auml", 0xc4},     {"Ccedil", 0xc7},
    {"Eacute", 0xc9},   {"Egrave", 0xc8},  {"Iacute", 0xcd},  {"Ntilde", 0xd1},   {"Oacute", 0xd3},
    {"Ouml", 0xd6},     {"Uacute", 0xda},  {"Uuml", 0xdc},    {"aacute", 0xe1},   {"acirc", 0xe2},
    {"aelig", 0xe6},    {"agrave", 0xe0},  {"amp", '&'},      {"apos", '\''},     {"atilde", 0xe3},
    {"auml", 0xe4},     {"bdquo", 0x201e}, {"bull", 0x2022},  {"ccedil", 0xe7},   {"cent", 0xa2},
    {"copy", 0xa9},     {"deg", 0xb0},     {"eacute", 0xe9},  {"ecirc", 0xea},    {"egrave", 0xe8},
    {"emsp", 0x2003},   {"ensp", 0x2002},  {"euml", 0xeb},    {"euro", 0x20ac},   {"gt", '>'},
    {"hellip", 0x2026}, {"iacute", 0xed},  {"icirc", 0xee},   {"iexcl", 0xa1},    {"iquest", 0xbf},
    {"iuml", 0xef},     {"laquo", 0xab},   {"ldquo", 0x201c}, {"lsaquo", 0x2039}, {"lsquo", 0x2018},
    {"lt", '<'},        {"mdash", 0x2014}, {"middot", 0xb7},  {"nbsp", 0xa0},     {"ndash", 0x2013},
    {"ntilde", 0xf1},   {"oacute", 0xf3},  {"ocirc", 0xf4},   {"otilde", 0xf5},   {"ouml", 0xf6},
    {"pound", 0xa3},    {"quot", '"'},     {"raquo", 0xbb},   {"rdquo", 0x201d},  {"reg", 0xae},
    {"rsaquo", 0x203a}, {"rsquo", 0x2019}, {"sbquo", 0x201a}, {"shy", 0xad},      {"szlig", 0xdf},
    {"thinsp", 0x2009}, {"times", 0xd7},   {"trade", 0x2122}, {"uacute", 0xfa},   {"ucirc", 0xfb},
    {"ugrave", 0xf9},   {"uuml", 0xfc},    {"yen", 0xa5},     {"zwj", 0x200d},    {"zwnj", 0x200c},
};

/* Looks a named entity up; returns 0 when we do not know it. */
static int
entity_lookup(const char *name, size_t nl, uint32_t *cp)
{
	size_t lo = 0, hi = sizeof entities / sizeof entities[0];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *e = entities[mid].name;
		int c = strncmp(e, name, nl);

		if (c == 0 && e[nl] != '\0')
			c = 1;
		if (c == 0) {
			*cp = entities[mid].cp;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * Windows-1252 meanings of &#128; to &#159;, which HTML uses instead of the
 * C1 controls (so "we&#146;re" reads "we're"); 0 where 1252 has a hole.
 */
static const uint16_t cp1252[32] = {
    0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
};

/*
 * Decodes an entity at s ('&'); returns its length with *cp set, or 0 when
 * it is not one and the '&' is text. The ';' is required: "AT&T" and
 * "&copy" in prose stay as written.
 */
static size_t
decode_entity(const char *s, size_t len, uint32_t *cp)
{
	size_t i, start;
	uint32_t v = 0;

	if (len > 2 && s[1] == '#') {
		int hex = len > 3 && (s[2] == 'x' || s[2] == 'X');

		start = i = hex ? 3 : 2;
		/* Eight digits are more than any code point needs; v cannot overflow. */
		for (; i < len && i - start < 8; i++) {
			unsigned char c = (unsigned char)s[i];

			if (is_digit(c))
				v = v * (hex ? 16 : 10) + (uint32_t)(c - '0');
			else if (hex && (unsigned char)(lc(c) - 'a') < 6)
				v = v * 16 + (uint32_t)(lc(c) - 'a' + 10);
			else
				break;
		}
		if (i == start || i >= len || s[i] != ';')
			return 0;
		if (v >= 0x80 && v < 0xa0 && cp1252[v - 0x80] != 0)
			v = cp1252[v - 0x80];
		if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			v = 0xfffd;
		*cp = v;
		return i + 1;
	}
	for (i = 1;
	     i < len && i <= 8 && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]));
	     i++)
		;
	if (i == 1 || i >= len || s[i] != ';' || !entity_lookup(s + 1, i - 1, cp))
		return 0;
	return i + 1;
}

/* Writes text that came from an attribute (a href), entities decoded. */
static void
emit_attr(struct norm *n, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = s[i] == '&' ? decode_entity(s + i, len - i, &cp) : 0;

		if (k == 0)
			k = utf8_decode((const unsigned char *)s + i, len - i, &cp);
		emit_cp(n, cp);
		i += k;
	}
}

/*
 * Ends the open anchor. Mastodon shortens a link's visible text with hidden
 * spans, so the full href replaces it, unless the text is a @mention or
 * #hashtag, which matchers want as written.
 */
static void
close_anchor(struct norm *n)
{
	struct buf *b = n->out;
	size_t p = n->a_mark;
	int lead, trail;

	if (!n->a_open)
		return;
	n->a_open = 0;
	if (p < b->len && b->s[p] == ' ')
		p++;
	if (p < b->len && (b->s[p] == '@' || b->s[p] == '#'))
		return;
	/* Whitespace around the text still separates the href from its neighbours. */
	lead = n->a_space || (b->len > n->a_mark && b->s[n->a_mark] == ' ') ||
	       (b->len == n->a_mark && n->space);
	trail = n->space;
	b->len = n->a_mark;
	n->space = lead;
	emit_attr(n, n->href, n->hreflen);
	n->space |= trail;
}

/*
 * Reads an <a> tag's attributes s[0..len) (after the name, before '>') and
 * opens an anchor when it has an href and is not a mention or hashtag.
 * Values may be double-, single- or unquoted; an unterminated quote runs
 * to the end of the tag.
 */
static void
open_anchor(struct norm *n, const char *s, size_t len)
{
	const char *href = NULL, *cls = NULL;
	size_t hl = 0, cl = 0, i = 0;

	while (i < len) {
		size_t name, nl, v, vl;

		while (i < len && (is_ws((unsigned char)s[i]) || s[i] == '/'))
			i++;
		name = i;
		while (i < len && !is_ws((unsigned char)s[i]) && s[i] != '/' && s[i] != '=')
			i++;
		nl = i - name;
		while (i < len && is_ws((unsigned char)s[i]))
			i++;
		if (i >= len || s[i] != '=') {
			if (nl == 0)
				i++; /* a stray byte such as a quote: skip it */
			continue;
		}
		i++;
		while (i < len && is_ws((unsigned char)s[i]))
			i++;
		if (i < len && (s[i] == '"' || s[i] == '\'')) {
			const char *q = memchr(s + i + 1, s[i], len - i - 1);

			v = i + 1;
			vl = q != NULL ? (size_t)(q - s) - v : len - v;
			i = v + vl + 1;
		} else {
			v = i;
			while (i < len && !is_ws((unsigned char)s[i]))
				i++;
			vl = i - v;
		}
		/* The first of a repeated attribute wins, as in browsers. */
		if (href == NULL && eq_ci(s + name, nl, "href")) {
			href = s + v;
			hl = vl;
		} else if (cls == NULL && eq_ci(s + name, nl, "class")) {
			cls = s + v;
			cl = vl;
		}
	}
	if (hl == 0 || (cls != NULL && (has_ci(cls, cl, "mention") || has_ci(cls, cl, "hashtag"))))
		return;
	n->a_open = 1;
	n->a_mark = n->out->len;
	n->a_space = n->space;
	n->href = href;
	n->hreflen = hl;
}

/* Is the tag name s[0..len) one that breaks a line or block when rendered? */
static int
is_block(const char *s, size_t len)
{
	/* Grouped by first letter: Mastodon posts have a dozen tags each. */
	static const char *const block[26][6] = {
	    ['a' - 'a'] = {"address", "article", "aside"},
	    ['b' - 'a'] = {"blockquote", "br"},
	    ['d' - 'a'] = {"dd", "div", "dl", "dt"},
	    ['f' - 'a'] = {"figcaption", "figure", "footer"},
	    ['h' - 'a'] = {"h1", "h2", "h3", "h4", "h5", "h6"},
	    ['l' - 'a'] = {"li"},
	    ['m' - 'a'] = {"main"},
	    ['n' - 'a'] = {"nav"},
	    ['o' - 'a'] = {"ol"},
	    ['p' - 'a'] = {"p", "pre"},
	    ['s' - 'a'] = {"section"},
	    ['t' - 'a'] = {"table", "td", "th", "tr"},
	    ['u' - 'a'] = {"ul"},
	};
	const char *const *b = block[lc((unsigned char)s[0]) - 'a'];

	for (size_t i = 0; i < 6 && b[i] != NULL; i++)
		if (eq_ci(s, len, b[i]))
			return 1;
	return 0;
}

/* Returns the first '>' at or after from (or len), searching each byte once per call. */
static size_t
next_gt(struct norm *n, size_t from)
{
	if (n->gt < from) {
		const char *p = memchr(n->in + from, '>', n->len - from);

		n->gt = p != NULL ? (size_t)(p - n->in) : n->len;
	}
	return n->gt;
}

/* Returns the '>' of the first "-->" ending at or after from, or len. */
static size_t
next_comment_end(struct norm *n, size_t from)
{
	size_t p;

	if (n->cmt >= from)
		return n->cmt;
	for (p = from;; p++) {
		const char *q = memchr(n->in + p, '>', n->len - p);

		if (q == NULL) {
			p = n->len;
			break;
		}
		p = (size_t)(q - n->in);
		if (n->in[p - 1] == '-' && n->in[p - 2] == '-')
			break;
	}
	return n->cmt = p;
}

/*
 * Finds the '>' that ends the tag opened at i, skipping quoted attribute
 * values so "title='a>b'" does not end it. gt is the first '>' after i,
 * the fallback when a quote is never closed within TAG_MAX.
 */
static size_t
tag_end(const struct norm *n, size_t i, size_t gt)
{
	const char *s = n->in;
	size_t lim = n->len - i > TAG_MAX ? i + TAG_MAX : n->len;

	for (size_t j = i + 1; j < lim; j++) {
		if (s[j] == '>')
			return j;
		if (s[j] != '=')
			continue;
		while (j + 1 < lim && is_ws((unsigned char)s[j + 1]))
			j++;
		if (j + 1 < lim && (s[j + 1] == '"' || s[j + 1] == '\'')) {
			const char *q = memchr(s + j + 2, s[j + 1], lim - j - 2);

			if (q == NULL)
				return gt;
			j = (size_t)(q - s);
		}
	}
	return gt;
}

/*
 * Handles markup at in[i] ('<'). Returns the bytes consumed, or 0 when the
 * '<' is text: "<3", "</3", "a < b", "<me@example.com>", or a '<' with no
 * '>' within TAG_MAX.
 */
static size_t
do_tag(struct norm *n, size_t i)
{
	const char *s = n->in + i;
	size_t rest = n->len - i, name, nl, end;
	int closing;

	if (rest < 3)
		return 0;
	if (s[1] == '!') {
		if (rest >= 4 && s[2] == '-' && s[3] == '-') {
			/* "<!-->" and "<!--->" are complete (empty) comments in HTML. */
			end = next_comment_end(n, i + 4);
		} else if (is_alpha((unsigned char)s[2]) || s[2] == '[')
			end = next_gt(n, i + 2); /* <!DOCTYPE ...>, <![CDATA[...]]> */
		else
			return 0;
		if (end >= n->len || end - i >= TAG_MAX)
			return 0;
		return end - i + 1;
	}
	closing = s[1] == '/';
	name = closing ? 2 : 1;
	if (name >= rest || !is_alpha((unsigned char)s[name]))
		return 0;
	for (nl = 1;
	     name + nl < rest && (is_alpha((unsigned char)s[name + nl]) ||
	                          is_digit((unsigned char)s[name + nl]) || s[name + nl] == '-');
	     nl++)
		;
	/* A real tag name ends the way HTML's do; "<me@example.com>" is text. */
	if (name + nl < rest && !is_ws((unsigned char)s[name + nl]) && s[name + nl] != '/' &&
	    s[name + nl] != '>')
		return 0;
	end = next_gt(n, i + name + nl);
	if (end >= n->len || end - i >= TAG_MAX)
		return 0;
	if (!closing)
		end = tag_end(n, i, end);
	if (is_block(s + name, nl))
		n->space = 1;
	if (eq_ci(s + name, nl, "a")) {
		/* A new <a> closes an open one, as browsers do. */
		close_anchor(n);
		if (!closing)
			open_anchor(n, s + name + nl, end - i - name - nl);
	}
	return end - i + 1;
}

/* The one pass: plain text is copied in runs, everything else decoded byte by byte. */
void
normalize(const char *text, size_t len, struct buf *out)
{
	struct norm n;
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	memset(&n, 0, sizeof n);
	n.in = text;
	n.len = len;
	n.out = out;
	buf_reset(out);
	/* Output is rarely longer than input (only U+FFFD grows it). */
	buf_reserve(out, len);
	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t k;

		/*
		 * Printable ASCII with single spaces is the common case: copy
		 * it in one tight loop, which writes at most one byte (a
		 * pending space) more than it reads.
		 */
		if (PLAIN(c)) {
			char *o;

			room(out, len - i + 1);
			flush_space(&n);
			o = out->s + out->len;
			*o++ = (char)c;
			i++;
			for (;;) {
				while (i < len && PLAIN(s[i]))
					*o++ = (char)s[i++];
				if (i + 1 < len && s[i] == ' ' && PLAIN(s[i + 1])) {
					*o++ = ' ';
					*o++ = (char)s[i + 1];
					i += 2;
					continue;
				}
				break;
			}
			out->len = (size_t)(o - out->s);
			continue;
		}
		if (c == ' ') {
			n.space = 1;
			i++;
			continue;
		}
		if (c == '<') {
			if ((k = do_tag(&n, i)) == 0) {
				emit(&n, "<", 1);
				k = 1;
			}
			i += k;
			continue;
		}
		if (c == '&') {
			if ((k = decode_entity(text + i, len - i, &cp)) == 0) {
				emit(&n, "&", 1);
				k = 1;
			} else
				emit_cp(&n, cp);
			i += k;
			continue;
		}
		k = utf8_decode(s + i, len - i, &cp);
		emit_cp(&n, cp);
		i += k;
	}
	/* An anchor never closed keeps its text: there is no end to replace. */
	room(out, 0);
	out->s[out->len] = '\0';
}
