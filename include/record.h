/*
 * What the state database keeps of the pipeline's output: cases, the
 * deflecting post's text, evidence posts and brand replies. The daemon and
 * `deflectd report` record through here, so the scorecard both show is
 * computed from the same rows.
 */
#ifndef DEFLECTD_RECORD_H
#define DEFLECTD_RECORD_H

#include "pipeline.h"
#include "store.h"

/* Stores the case a finding changed, with its deflecting post or evidence. */
void record_event(struct store *st, const struct event *ev);
/* Counts a brand's reply (the deflection rate's denominator) at its event time. */
void record_tracked(struct store *st, const struct post *p, int is_brand, const char *brand,
    int duplicate);

#endif
