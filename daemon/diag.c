/* Collected "file:line:col: message" diagnostics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "utf8.h"
#include "xmalloc.h"

void
diag_add(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (file != NULL)
		buf_printf(&b, "%s:", file);
	if (line > 0)
		buf_printf(&b, "%d:", line);
	if (line > 0 && col > 0)
		buf_printf(&b, "%d:", col);
	/* A message may quote a binary file's bytes: they are escaped, not logged raw. */
	buf_adds(&b, b.len ? " " : "");
	utf8_escape(msg ? msg : "(out of memory)", &b);
	free(msg);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->msgs = xreallocarray(d->msgs, d->cap, sizeof *d->msgs);
	}
	d->msgs[d->n++] = b.s;
}

void
diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = d->cap = 0;
}

/* A diagnostic's place, for sorting: "file:line:col: ..." (line, col 0 when absent). */
struct diag_place {
	const char *msg;
	size_t filelen;
	long line, col;
	size_t index;
};

/* Finds where the file name ends and reads the line and column after it. */
static void
place_of(struct diag_place *p)
{
	const char *s = p->msg;

	p->filelen = strlen(s);
	p->line = p->col = 0;
	for (const char *c = strchr(s, ':'); c != NULL; c = strchr(c + 1, ':')) {
		char *e;
		long line = strtol(c + 1, &e, 10);

		if (e != c + 1 && *e == ':') {
			p->filelen = (size_t)(c - s);
			p->line = line;
			p->col = strtol(e + 1, &e, 10);
			return;
		}
	}
}

/* qsort comparator: by file, line, column, then as reported. */
static int
cmp_place(const void *a, const void *b)
{
	const struct diag_place *x = a, *y = b;
	size_t n = x->filelen < y->filelen ? x->filelen : y->filelen;
	int c = strncmp(x->msg, y->msg, n);

	if (c != 0)
		return c;
	if (x->filelen != y->filelen)
		return x->filelen < y->filelen ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

void
diag_sort(struct diag *d, size_t first)
{
	size_t n = d->n - first;
	struct diag_place *p;

	if (n < 2)
		return;
	p = xcalloc(n, sizeof *p);
	for (size_t i = 0; i < n; i++) {
		p[i].msg = d->msgs[first + i];
		p[i].index = i;
		place_of(&p[i]);
	}
	qsort(p, n, sizeof *p, cmp_place);
	for (size_t i = 0; i < n; i++)
		d->msgs[first + i] = (char *)p[i].msg;
	free(p);
}
