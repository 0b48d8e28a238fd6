/*
 * The text every matcher sees. Decodes HTML entities, strips HTML tags
 * (Mastodon content is HTML; a link's href is kept so link matchers see it),
 * folds curly quotes and apostrophes to ASCII, collapses all whitespace runs
 * to one space, trims, and replaces invalid UTF-8 with U+FFFD so that PCRE2
 * may skip its UTF check. URLs and @mentions are kept as they are.
 */
#ifndef DEFLECTD_NORMALIZE_H
#define DEFLECTD_NORMALIZE_H

#include <stddef.h>

#include "buf.h"

/* Resets out and writes the normalized form of text[0..len) into it. */
void normalize(const char *text, size_t len, struct buf *out);

#endif
