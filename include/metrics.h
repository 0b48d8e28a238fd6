/* The admin API's documents: Prometheus metrics and JSON listings. */
#ifndef DEFLECTD_METRICS_H
#define DEFLECTD_METRICS_H

#include "buf.h"

struct deflectd;

/* Appends every metric in the Prometheus text exposition format. */
void metrics_render(struct deflectd *d, struct buf *out);
/* {"cases": [...]}, newest first, at most 1000; filters may be NULL. Caller frees. */
char *metrics_cases(struct deflectd *d, const char *state, const char *brand);
/* {"alerts": [...]}: deliveries, newest first, at most 1000. Caller frees. */
char *metrics_alerts(struct deflectd *d, const char *state);
/* {"brands": [...]}: the per-brand scorecard. Caller frees. */
char *metrics_brands(struct deflectd *d);
/* The scorecard as an HTML page with inline SVG bars, no external assets. Caller frees. */
char *metrics_page(struct deflectd *d);

#endif
