/* UTF-8 decoding shared by the normalizer, the post reader and diagnostics. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t need, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= len || (s[i] & 0xc0) != 0x80)
			break;
		/* Overlongs, surrogates and > U+10FFFF show at the second byte. */
		if (i == 1 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
		               (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f)))
			break;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (i <= need) {
		*cp = 0xfffd;
		return i;
	}
	*cp = v;
	return need + 1;
}

int
utf8_is_valid(const unsigned char *s, size_t n, uint32_t cp)
{
	/* U+FFFD written out is valid; one made up for bad bytes is not. */
	return cp != 0xfffd || (n == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] == 0xbd);
}

void
utf8_escape(const char *s, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);

		if (!utf8_is_valid(u + i, n, cp) || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			for (size_t k = 0; k < n; k++)
				buf_printf(out, "\\x%02x", u[i + k]);
		} else {
			buf_add(out, s + i, n);
		}
		i += n;
	}
}
