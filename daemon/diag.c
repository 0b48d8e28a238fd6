/* Collected "file:line:col: message" diagnostics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
