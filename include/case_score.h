/*
 * Case-level scores for test-rules: each case the tracker opened, its final
 * verdict (resolved in public, escalated, unresolved) against the verdict the
 * hand labels of its conversation give. Also the stable fit/check split of
 * labels by conversation. Pure: no I/O.
 */
#ifndef DEFLECTD_CASE_SCORE_H
#define DEFLECTD_CASE_SCORE_H

#include <stdint.h>

#include "tracker.h"

enum case_verdict { CV_RESOLVED, CV_ESCALATED, CV_UNRESOLVED, CV_N };

/* Which half of a split a conversation is in. */
enum split_half { SPLIT_FIT, SPLIT_CHECK };

/*
 * The half of conversation_id: FNV-1a 32-bit over its bytes (offset basis
 * 2166136261, prime 16777619), even is fit and odd is check. Stable across
 * runs, machines and label files.
 */
enum split_half split_half_of(const char *conversation_id);

struct case_counts {
	/* n[truth][predicted] over the cases whose conversation has follow-up labels. */
	unsigned n[CV_N][CV_N];
	unsigned cases;     /* cases the tracker opened */
	unsigned unlabeled; /* of those, cases with no follow-up label after the deflection */
};

struct case_score;

struct case_score *case_score_new(void);
void case_score_free(struct case_score *cs);
/*
 * Records the hand label of a follow-up post (copied). customer is the
 * post's author for a customer's post, and for a brand post the customer it
 * replies to: the label then counts only for that customer's cases. A brand
 * post replying to no known customer (NULL) counts for every case of its
 * conversation.
 */
void case_score_label(struct case_score *cs, const char *conversation_id, const char *post_id,
    const char *customer, int64_t at, const char *label);
/* Records a tracker finding (what it needs is copied). */
void case_score_finding(struct case_score *cs, const struct finding *f);
/*
 * Compares every case with its labels: the truth is resolved when a post
 * after the deflection is labelled resolution, else escalated when one is
 * labelled escalation, else unresolved; the prediction is resolved when the
 * tracker closed the case (in time or late), else escalated when it saw an
 * escalation, else unresolved.
 */
void case_score_count(struct case_score *cs, struct case_counts *out);
/*
 * After case_score_count: calls fn for every scored case whose verdict differs
 * from its labels, in conversation order, with the deflecting post's id.
 */
void case_score_misses(const struct case_score *cs, void (*fn)(void *arg, const char *conv,
    const char *post_id, enum case_verdict truth, enum case_verdict pred), void *arg);

const char *case_verdict_name(enum case_verdict v);

#endif
