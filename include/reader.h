/*
 * Reads newline-terminated lines from a stream with a hard cap on line length
 * (STYLE.md 9): an overlong line is reported and skipped, never buffered whole.
 */
#ifndef DEFLECTD_READER_H
#define DEFLECTD_READER_H

#include <stddef.h>
#include <stdio.h>

#define READER_DEFAULT_MAX (1024 * 1024)

enum reader_status {
	READER_LINE = 1, /* *line holds a line without its "\n" (and "\r\n") */
	READER_EOF = 0,
	READER_TOO_LONG = -1, /* the line was longer than the cap; skipped */
	READER_IO = -2,       /* read error; errno is set */
};

struct reader;

/* The reader does not own f. */
struct reader *reader_new(FILE *f, size_t max_line);
void reader_free(struct reader *r);
/* The line stays valid until the next call. */
enum reader_status reader_next(struct reader *r, const char **line, size_t *len);
/* 1-based number of the line last returned (or skipped). */
size_t reader_lineno(const struct reader *r);

#endif
