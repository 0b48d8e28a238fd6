/* The /cases/{id} page: one case's timeline as self-contained HTML. */
#ifndef DEFLECTD_CASE_PAGE_H
#define DEFLECTD_CASE_PAGE_H

#include <jansson.h>

/*
 * Renders a case_detail() document as a page (no external assets, every
 * value escaped, the matched span in <mark>); the caller frees it.
 */
char *case_page(const json_t *c);

#endif
