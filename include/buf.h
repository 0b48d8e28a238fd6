/* A growable byte buffer, always NUL-terminated; the owner frees it. */
#ifndef DEFLECTD_BUF_H
#define DEFLECTD_BUF_H

#include <stddef.h>

struct buf {
	char *s; /* NUL-terminated when cap > 0 */
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addc(struct buf *b, char c);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with HTML's special characters (& < > " ') escaped; NULL adds nothing. */
void buf_add_html(struct buf *b, const char *s);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
