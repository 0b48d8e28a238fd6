/* The admin API's Prometheus metrics. */
#ifndef DEFLECTD_METRICS_H
#define DEFLECTD_METRICS_H

#include "buf.h"

struct deflectd;
struct ruleset;

/* The brand label of a brand: its name when a [brand] section names it, else "_other". */
const char *metrics_brand_label(const struct deflectd *d, const char *brand);
/* Makes a findings counter for every configured brand (at start and after a reload). */
void metrics_brands_add(struct deflectd *d);
/* Counts one finding of type t (enum finding_type) for brand. */
void metrics_count_finding(struct deflectd *d, const char *brand, int t);
/* Frees the counters metrics_brands_add() made. */
void metrics_free(struct deflectd *d);
/*
 * Keeps counters across a reload: rule match counts move from the old rule
 * set to rules of the same id in the new one, and so does the match-limit count.
 */
void metrics_carry_rules(struct ruleset *to, const struct ruleset *from);
/* Appends every metric in the Prometheus text exposition format. */
void metrics_render(struct deflectd *d, struct buf *out);

#endif
