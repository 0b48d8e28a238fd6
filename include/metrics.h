/* The admin API's Prometheus metrics. */
#ifndef DEFLECTD_METRICS_H
#define DEFLECTD_METRICS_H

#include "buf.h"

struct deflectd;

/* Appends every metric in the Prometheus text exposition format. */
void metrics_render(struct deflectd *d, struct buf *out);

#endif
