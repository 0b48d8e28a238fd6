/*
 * The scorecard rendered: one self-contained HTML page (inline CSS, inline
 * SVG charts, a few lines of inline script to sort the table; nothing
 * fetched at view time), or CSV. The daemon's / and /brands/NAME and
 * `deflectd report` render through here from a scorecard_document().
 */
#ifndef DEFLECTD_PAGE_H
#define DEFLECTD_PAGE_H

#include <stdint.h>

#include <jansson.h>

#include "buf.h"

struct page_opts {
	int live;                  /* served by the daemon: period links, brand and case links */
	const char *rules_version; /* scorecard_rules_version() */
	int64_t window;            /* the default case window, seconds */
	int64_t generated;         /* live: wall clock the page was made at; 0 = not shown */
	const char *inputs;        /* report: the recordings it replayed, or NULL */
	const json_t *cases;       /* brand page: a listing_cases() page of open cases, or NULL */
	const char *cases_next;    /* brand page: the cursor of the next page of cases, or NULL */
	const char *cases_first;   /* brand page: set when this is not the first page */
};

/* Appends the scorecard document as a whole HTML page. */
void page_scorecard(struct buf *out, const json_t *doc, const struct page_opts *o);
/* Appends the document's brands (and a TOTAL row) as CSV with a header line. */
void page_csv(struct buf *out, const json_t *doc);
/* Appends s percent-encoded for one URL path segment or query value. */
void page_urlencode(struct buf *out, const char *s);

#endif
