/*
 * The INI-like line syntax shared by rule files and the config file. It
 * knows nothing of the keys; callers check those and report against the
 * line and column it hands them.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ini.h"
#include "xmalloc.h"

/* Is c blank for the purpose of trimming (ASCII space and tab)? */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int
ini_parse(const char *buf, size_t len, const char *file,
    void (*fn)(void *arg, const struct ini_item *it), void *arg, struct diag *d)
{
	struct buf line = BUF_INIT;
	struct ini_item it;
	const char *p = buf, *end = buf + len;
	int lineno = 0, errors = 0;

	/* A UTF-8 byte order mark is an editor's, not the operator's. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *s, *e;

		lineno++;
		buf_reset(&line);
		buf_add(&line, p, n);
		p += n + (nl != NULL);
		if (memchr(line.s, '\0', n) != NULL) {
			diag_add(d, file, lineno, (int)strlen(line.s) + 1, "NUL byte in line");
			errors++;
			continue;
		}
		s = line.s;
		e = s + line.len;
		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		*e = '\0';
		if (s == e || *s == '#' || *s == ';')
			continue;
		memset(&it, 0, sizeof it);
		it.line = lineno;
		if (*s == '[') {
			char *close = strrchr(s, ']');
			char *w = s + 1;

			if (close == NULL || close[1] != '\0') {
				diag_add(d, file, lineno, (int)(s - line.s) + 1,
				    "section header must end with ']'");
				errors++;
				continue;
			}
			*close = '\0';
			while (is_blank(*w))
				w++;
			for (char *t = close; t > w && is_blank(t[-1]); t--)
				t[-1] = '\0';
			it.section = w;
			it.col = (int)(w - line.s) + 1;
			fn(arg, &it);
			continue;
		}
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			diag_add(d, file, lineno, (int)(s - line.s) + 1,
			    "expected \"key = value\" or \"[section]\"");
			errors++;
			continue;
		}
		char *ke = eq;
		while (ke > s && is_blank(ke[-1]))
			ke--;
		if (ke == s) {
			diag_add(d, file, lineno, (int)(s - line.s) + 1, "missing key before '='");
			errors++;
			continue;
		}
		*ke = '\0';
		char *v = eq + 1;
		while (v < e && is_blank(*v))
			v++;
		it.key = s;
		it.col = (int)(s - line.s) + 1;
		it.value = v;
		it.value_col = (int)(v - line.s) + 1;
		fn(arg, &it);
	}
	buf_free(&line);
	return errors;
}

int
ini_split_list(const char *value, char ***v, size_t *n)
{
	const char *p = value;

	for (;;) {
		const char *comma = strchr(p, ',');
		const char *e = comma ? comma : p + strlen(p);
		const char *s = p;

		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		if (s == e)
			return -1;
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		(*v)[(*n)++] = xstrndup(s, (size_t)(e - s));
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

void
ini_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
