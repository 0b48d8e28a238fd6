/*
 * Collected diagnostics, each "file:line:col: message". Pure modules (rule
 * parser, config parser) add to it and keep going so that every error of a
 * load is reported; the caller prints them.
 */
#ifndef DEFLECTD_DIAG_H
#define DEFLECTD_DIAG_H

#include <stddef.h>

struct diag {
	char **msgs; /* owned */
	size_t n;
	size_t cap;
};

#define DIAG_INIT {NULL, 0, 0}

/* line and col are 1-based; 0 leaves that part out. */
void diag_add(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_free(struct diag *d);
/*
 * Sorts the messages from first on by place (file, line, column; as added
 * when equal), so an operator reads each file top down.
 */
void diag_sort(struct diag *d, size_t first);

#endif
