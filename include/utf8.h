/* UTF-8: decoding one sequence, and escaping bytes that must not reach a log. */
#ifndef DEFLECTD_UTF8_H
#define DEFLECTD_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Decodes one UTF-8 sequence at s (len > 0). Returns its length, with *cp
 * U+FFFD for an invalid sequence, consuming only its maximal subpart so the
 * bytes after it are decoded afresh (Unicode's recommended practice).
 */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
/* Is the sequence utf8_decode() read (n bytes at s, giving cp) valid UTF-8? */
int utf8_is_valid(const unsigned char *s, size_t n, uint32_t cp);
/*
 * Appends s to out with control characters and invalid UTF-8 written as
 * \xNN, so text read from a file can go into a log line as it is.
 */
void utf8_escape(const char *s, struct buf *out);

#endif
