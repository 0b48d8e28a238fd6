/*
 * The admin API's case and alert listings: filters, a limit, and an opaque
 * cursor for the next page. Newest first; a page is one bounded query, and
 * walking the cursors visits every matching row exactly once even while
 * new cases arrive (they sort before the cursor).
 */
#ifndef DEFLECTD_LISTING_H
#define DEFLECTD_LISTING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "store.h"

#define LISTING_DEFAULT_LIMIT 100
#define LISTING_MAX_LIMIT 1000

enum listing_kind { LISTING_CASES, LISTING_ALERTS, LISTING_BRANDS };

struct listing_query {
	enum listing_kind kind;
	struct evkeyvalq params; /* the strings below point into it */
	const char *brand, *customer, *rule, *type;
	char *states; /* a JSON array of the states asked for, or NULL for any */
	int64_t since, until; /* [since, until); INT64_MIN / INT64_MAX when open */
	int limit;
	int cursor;                 /* a cursor was given: */
	int64_t cursor_t, cursor_id; /* continue strictly after this row */
};

/*
 * Parses a listing's query string (NULL for none). Unknown parameters, a
 * state the kind does not know, a bad time, limit or cursor are refused: -1
 * with a message naming them in err. Free q with listing_query_free either way.
 */
int listing_parse(enum listing_kind kind, const char *query, struct listing_query *q, char *err,
    size_t errlen);
void listing_query_free(struct listing_query *q);

/*
 * {"cases": [...], "next_cursor": "..." or null}. Each case carries its id
 * (for /v1/cases/ID and /cases/ID). NULL when the database failed.
 */
json_t *listing_cases(struct store *st, const struct listing_query *q);
/* {"alerts": [...], "next_cursor": ...}: deliveries, newest first. NULL on failure. */
json_t *listing_alerts(struct store *st, const struct listing_query *q);

/* Parses a time given as RFC 3339 or as Unix seconds; 0 or -1. */
int listing_time(const char *s, int64_t *t);

#endif
