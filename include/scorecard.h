/*
 * The scorecard: per-brand and overall deflection and public-resolution
 * figures over a period, and their weekly trend, computed from the state
 * database. The admin API (/v1/brands), the pages (/ and /brands/NAME) and
 * `deflectd report` all take their numbers from here.
 *
 * A case counts in the period its deflection happened in; a reply in the
 * period it was posted in. Rates are JSON null when their denominator is 0.
 */
#ifndef DEFLECTD_SCORECARD_H
#define DEFLECTD_SCORECARD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/* Event time in [since, until); SCORECARD_OPEN_* when unbounded. */
struct scorecard_period {
	const char *name; /* "7d", "30d", "90d", "all", or "custom" */
	int64_t since;
	int64_t until;
};

#define SCORECARD_OPEN_SINCE INT64_MIN
#define SCORECARD_OPEN_UNTIL INT64_MAX

/* The newest event time the database knows (a deflection or a brand reply); 0 when empty. */
int64_t scorecard_newest(struct store *st);

/*
 * Sets p from a period name relative to as_of (the newest data, so a
 * recording from years ago still has a "last 7 days"). Returns -1 for a
 * name other than 7d, 30d, 90d and all.
 */
int scorecard_period_named(struct scorecard_period *p, const char *name, int64_t as_of);

/* {"brands": [...]} over the period, names sorted case-insensitively. Caller owns it. */
json_t *scorecard_brands(struct store *st, const struct scorecard_period *p);

/*
 * The whole scorecard document: period (with as_of), totals, one entry per
 * week from the period's first to its last week (empty weeks included, so a
 * chart shows gaps), and brands (or, with brand set, that brand only).
 * NULL when the database failed. Caller owns it.
 */
json_t *scorecard_document(struct store *st, const struct scorecard_period *p, int64_t as_of,
    const char *brand);

/* "sha256:" and 12 hex digits over the *.rules files of dirs (one directory or a
 * comma-separated list) in load order, or "unknown". */
void scorecard_rules_version(const char *dirs, char *out, size_t outlen);

#endif
