/*
 * The normalizer: one pass over the raw text, so decoded output is never
 * read again ("&lt;3" becomes "<3" and stays text). Output is valid UTF-8.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"

/* How far a '<' may be from its '>' to count as a tag; else it is text. */
#define TAG_MAX 2048
/* How far an <a> may be from its </a> for its href to replace the text. */
#define ANCHOR_MAX 8192

struct norm {
	struct buf *out;
	int space; /* a whitespace run is pending */
};

/* Appends a code point as UTF-8. */
static void
put_utf8(struct buf *b, uint32_t cp)
{
	char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (char)(0xc0 | cp >> 6);
		s[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (char)(0xe0 | cp >> 12);
		s[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		s[0] = (char)(0xf0 | cp >> 18);
		s[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		s[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, s, n);
}

/* Emits text, first flushing a pending space unless at the start. */
static void
emit(struct norm *n, const char *s, size_t len)
{
	if (n->space && n->out->len > 0)
		buf_addc(n->out, ' ');
	n->space = 0;
	buf_add(n->out, s, len);
}

/* Is cp whitespace for collapsing? */
static int
is_space_cp(uint32_t cp)
{
	return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0xa0 ||
	    cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Emits one code point with folding: quotes, dashes, ellipsis, spaces. */
static void
emit_cp(struct norm *n, uint32_t cp)
{
	char s[4];

	if (is_space_cp(cp) || (cp < 0x20 && cp != 0)) {
		n->space = 1;
		return;
	}
	switch (cp) {
	case 0:
	case 0x7f:
	case 0x200b: /* zero width space */
	case 0x2060: /* word joiner */
	case 0xfeff: /* byte order mark */
		return;
	case 0x2018: case 0x2019: case 0x201a: case 0x201b: case 0x2032: case 0xff07:
		emit(n, "'", 1);
		return;
	case 0x201c: case 0x201d: case 0x201e: case 0x201f: case 0x2033: case 0xff02:
		emit(n, "\"", 1);
		return;
	case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2212:
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
	if (cp < 0x80) {
		s[0] = (char)cp;
		emit(n, s, 1);
		return;
	}
	emit(n, "", 0);
	put_utf8(n->out, cp);
}

/*
 * Decodes one UTF-8 sequence at s (len > 0). Returns its length, with *cp
 * U+FFFD for an invalid sequence (consuming its maximal subpart).
 */
static size_t
decode_utf8(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t need, i;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		min = 0x10000;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= len || (s[i] & 0xc0) != 0x80)
			break;
		/* Reject overlongs, surrogates and > U+10FFFF at the second byte. */
		if (i == 1 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
		    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f)))
			break;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (i <= need || v < min) {
		*cp = 0xfffd;
		return i;
	}
	*cp = v;
	return need + 1;
}

static const struct {
	const char *name;
	uint32_t cp;
} entities[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
    {"nbsp", 0xa0}, {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
    {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201c}, {"rdquo", 0x201d},
    {"sbquo", 0x201a}, {"bdquo", 0x201e}, {"laquo", 0xab}, {"raquo", 0xbb},
    {"copy", 0xa9}, {"reg", 0xae}, {"trade", 0x2122}, {"euro", 0x20ac},
    {"pound", 0xa3}, {"middot", 0xb7}, {"bull", 0x2022}, {"zwj", 0x200d},
    {"zwnj", 0x200c}, {"shy", 0xad}, {"times", 0xd7},
};

/*
 * Decodes an entity at s ('&'); returns its length with *cp set, or 0 when
 * it is not one (the '&' is then text).
 */
static size_t
decode_entity(const char *s, size_t len, uint32_t *cp)
{
	size_t i = 1;
	uint32_t v = 0;

	if (len > 2 && s[1] == '#') {
		int hex = len > 3 && (s[2] == 'x' || s[2] == 'X');
		size_t start = i = hex ? 3 : 2;

		for (; i < len && i - start < 8; i++) {
			int c = (unsigned char)s[i], d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && isxdigit(c))
				d = (tolower(c) - 'a') + 10;
			else
				break;
			v = v * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (i == start || i >= len || s[i] != ';')
			return 0;
		if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			v = 0xfffd;
		*cp = v;
		return i + 1;
	}
	while (i < len && i < 10 && isalnum((unsigned char)s[i]))
		i++;
	if (i == 1 || i >= len || s[i] != ';')
		return 0;
	for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++) {
		if (strlen(entities[e].name) == i - 1 && strncmp(entities[e].name, s + 1, i - 1) == 0) {
			*cp = entities[e].cp;
			return i + 1;
		}
	}
	return 0;
}

/* Finds needle case-insensitively in s[0..len); returns its offset or -1. */
static long
find_ci(const char *s, size_t len, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++)
		if (strncasecmp(s + i, needle, nl) == 0)
			return (long)i;
	return -1;
}

/* Finds attribute name's value in a tag's text; sets *v and *vl, or returns 0. */
static int
attr(const char *tag, size_t len, const char *name, const char **v, size_t *vl)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl < len; i++) {
		if (!isspace((unsigned char)tag[i]) || strncasecmp(tag + i + 1, name, nl) != 0)
			continue;
		size_t j = i + 1 + nl;
		while (j < len && isspace((unsigned char)tag[j]))
			j++;
		if (j >= len || tag[j] != '=')
			continue;
		j++;
		while (j < len && isspace((unsigned char)tag[j]))
			j++;
		if (j < len && (tag[j] == '"' || tag[j] == '\'')) {
			const char *q = memchr(tag + j + 1, tag[j], len - j - 1);

			if (q == NULL)
				return 0;
			*v = tag + j + 1;
			*vl = (size_t)(q - *v);
			return 1;
		}
		size_t k = j;
		while (k < len && !isspace((unsigned char)tag[k]) && tag[k] != '>')
			k++;
		*v = tag + j;
		*vl = k - j;
		return 1;
	}
	return 0;
}

/* Emits an attribute value with its entities decoded. */
static void
emit_decoded(struct norm *n, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = s[i] == '&' ? decode_entity(s + i, len - i, &cp) : 0;

		if (k == 0)
			k = decode_utf8((const unsigned char *)s + i, len - i, &cp);
		emit_cp(n, cp);
		i += k;
	}
}

/* Does an anchor's visible text (tags skipped) start with '@' or '#'? */
static int
visible_starts_tagged(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (s[i] == '<') {
			const char *gt = memchr(s + i, '>', len - i);

			if (gt == NULL)
				return 0;
			i = (size_t)(gt - s) + 1;
		} else if (isspace((unsigned char)s[i])) {
			i++;
		} else {
			return s[i] == '@' || s[i] == '#';
		}
	}
	return 0;
}

static const char *block_tags[] = {"br", "p", "div", "li", "ul", "ol", "blockquote", "pre",
    "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "hr", "table", NULL};

/*
 * Handles a tag at s ('<'). Returns the bytes consumed, or 0 when it is not
 * a tag and the '<' is text.
 */
static size_t
do_tag(struct norm *n, const char *s, size_t len)
{
	size_t lim = len < TAG_MAX ? len : TAG_MAX;
	const char *gt;
	char name[12];
	size_t i = 1, nl = 0, taglen;
	int closing = 0;

	if (len < 3 || !(isalpha((unsigned char)s[1]) || s[1] == '/' || s[1] == '!'))
		return 0;
	if (strncmp(s, "<!--", 4) == 0) {
		long end = find_ci(s + 4, len - 4 < ANCHOR_MAX ? len - 4 : ANCHOR_MAX, "-->");

		return end < 0 ? 0 : (size_t)end + 7;
	}
	if ((gt = memchr(s, '>', lim)) == NULL)
		return 0;
	taglen = (size_t)(gt - s) + 1;
	if (s[1] == '/') {
		closing = 1;
		i = 2;
	}
	while (i < taglen && isalnum((unsigned char)s[i]) && nl < sizeof name - 1)
		name[nl++] = (char)tolower((unsigned char)s[i++]);
	name[nl] = '\0';
	if (nl == 0 && s[1] != '!')
		return 0;
	for (size_t b = 0; block_tags[b] != NULL; b++)
		if (strcmp(name, block_tags[b]) == 0)
			n->space = 1;
	if (closing || strcmp(name, "a") != 0)
		return taglen;

	/* An anchor: its href stands for a link whose text Mastodon truncates. */
	const char *href, *cls;
	size_t hl, cl;
	size_t rest = len - taglen < ANCHOR_MAX ? len - taglen : ANCHOR_MAX;
	long close = find_ci(s + taglen, rest, "</a>");

	if (close < 0 || !attr(s, taglen, "href", &href, &hl) || hl == 0)
		return taglen;
	if (attr(s, taglen, "class", &cls, &cl) &&
	    (find_ci(cls, cl, "mention") >= 0 || find_ci(cls, cl, "hashtag") >= 0))
		return taglen;
	if (visible_starts_tagged(s + taglen, (size_t)close))
		return taglen;
	emit_decoded(n, href, hl);
	return taglen + (size_t)close + 4;
}

void
normalize(const char *text, size_t len, struct buf *out)
{
	struct norm n = {out, 0};
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	buf_reset(out);
	buf_reserve(out, len);
	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t k;

		/* Plain ASCII text is the common case: copy runs of it. */
		if (c >= 0x21 && c < 0x7f && c != '<' && c != '&') {
			size_t j = i + 1;

			while (j < len && s[j] >= 0x21 && s[j] < 0x7f && s[j] != '<' && s[j] != '&')
				j++;
			emit(&n, text + i, j - i);
			i = j;
			continue;
		}
		if (c == '<' && (k = do_tag(&n, text + i, len - i)) > 0) {
			i += k;
			continue;
		}
		if (c == '&' && (k = decode_entity(text + i, len - i, &cp)) > 0) {
			emit_cp(&n, cp);
			i += k;
			continue;
		}
		k = decode_utf8(s + i, len - i, &cp);
		emit_cp(&n, cp);
		i += k;
	}
	buf_add(out, "", 0);
}
