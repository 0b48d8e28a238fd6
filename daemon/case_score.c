/*
 * Case-level scores: findings and labels are collected as they come, then
 * sorted by conversation so each case meets the labels of its conversation
 * in one merge pass.
 */
#include <stdlib.h>
#include <string.h>

#include "case_score.h"
#include "xmalloc.h"

/* One case the tracker opened, keyed by its conversation, customer and deflecting post. */
struct cs_case {
	char *conv, *customer, *post_id;
	int64_t deflected_at;
	int resolved, escalated;
	int scored;                    /* set by case_score_count */
	enum case_verdict truth, pred; /* valid when scored */
};

struct cs_label {
	char *conv, *post_id, *label;
	char *customer; /* whose case it speaks of; NULL: any in its conversation */
	int64_t at;
};

struct case_score {
	struct cs_case *cases;
	size_t ncases;
	struct cs_label *labels;
	size_t nlabels;
};

static const char *verdict_names[CV_N] = {"resolved", "escalated", "unresolved"};

const char *
case_verdict_name(enum case_verdict v)
{
	return v < CV_N ? verdict_names[v] : "?";
}

enum split_half
split_half_of(const char *conversation_id)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)conversation_id; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return (h & 1) ? SPLIT_CHECK : SPLIT_FIT;
}

struct case_score *
case_score_new(void)
{
	return xcalloc(1, sizeof(struct case_score));
}

void
case_score_free(struct case_score *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->ncases; i++) {
		free(cs->cases[i].conv);
		free(cs->cases[i].customer);
		free(cs->cases[i].post_id);
	}
	for (size_t i = 0; i < cs->nlabels; i++) {
		free(cs->labels[i].conv);
		free(cs->labels[i].post_id);
		free(cs->labels[i].label);
		free(cs->labels[i].customer);
	}
	free(cs->cases);
	free(cs->labels);
	free(cs);
}

void
case_score_label(struct case_score *cs, const char *conversation_id, const char *post_id,
    const char *customer, int64_t at, const char *label)
{
	struct cs_label *l;

	cs->labels = xreallocarray(cs->labels, cs->nlabels + 1, sizeof *cs->labels);
	l = &cs->labels[cs->nlabels++];
	l->conv = xstrdup(conversation_id);
	l->post_id = xstrdup(post_id);
	l->label = xstrdup(label);
	l->customer = customer ? xstrdup(customer) : NULL;
	l->at = at;
}

/* Null-safe string equality for case keys (a customer may be unknown). */
static int
same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Finds the case a finding belongs to. A new case is always the latest one
 * recorded for its key, so the search runs backwards.
 */
static struct cs_case *
find_case(struct case_score *cs, const struct tcase *c)
{
	for (size_t i = cs->ncases; i-- > 0;) {
		struct cs_case *x = &cs->cases[i];

		if (same(x->post_id, c->post_id) && same(x->conv, c->conversation_id) &&
		    same(x->customer, c->customer))
			return x;
	}
	return NULL;
}

void
case_score_finding(struct case_score *cs, const struct finding *f)
{
	const struct tcase *c = f->c;
	struct cs_case *x;

	if (f->type == FINDING_DEFLECTION) {
		cs->cases = xreallocarray(cs->cases, cs->ncases + 1, sizeof *cs->cases);
		x = &cs->cases[cs->ncases++];
		x->conv = xstrdup(c->conversation_id ? c->conversation_id : "");
		x->customer = c->customer ? xstrdup(c->customer) : NULL;
		x->post_id = c->post_id ? xstrdup(c->post_id) : NULL;
		x->deflected_at = c->deflected_at;
		x->resolved = x->escalated = x->scored = 0;
		return;
	}
	if ((x = find_case(cs, c)) == NULL)
		return;
	if (f->type == FINDING_RESOLUTION || f->type == FINDING_RESOLVED_LATE)
		x->resolved = 1;
	else if (f->type == FINDING_ESCALATION)
		x->escalated = 1;
}

/* qsort comparator: cases by conversation. */
static int
cmp_case(const void *a, const void *b)
{
	return strcmp(((const struct cs_case *)a)->conv, ((const struct cs_case *)b)->conv);
}

/* qsort comparator: labels by conversation. */
static int
cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct cs_label *)a)->conv, ((const struct cs_label *)b)->conv);
}

void
case_score_count(struct case_score *cs, struct case_counts *out)
{
	size_t l = 0;

	memset(out, 0, sizeof *out);
	/* qsort may not be handed a NULL array, even an empty one. */
	if (cs->ncases > 0)
		qsort(cs->cases, cs->ncases, sizeof *cs->cases, cmp_case);
	if (cs->nlabels > 0)
		qsort(cs->labels, cs->nlabels, sizeof *cs->labels, cmp_label);
	for (size_t i = 0; i < cs->ncases; i++) {
		struct cs_case *x = &cs->cases[i];
		int res = 0, esc = 0, seen = 0;
		enum case_verdict truth, pred;

		out->cases++;
		while (l < cs->nlabels && strcmp(cs->labels[l].conv, x->conv) < 0)
			l++;
		/* Labels stay in place: several cases may share a conversation. */
		for (size_t k = l; k < cs->nlabels && strcmp(cs->labels[k].conv, x->conv) == 0; k++) {
			const struct cs_label *lb = &cs->labels[k];

			if (lb->at < x->deflected_at || same(lb->post_id, x->post_id))
				continue;
			/* A post by or to another customer in the same thread says nothing of this case. */
			if (lb->customer != NULL && x->customer != NULL &&
			    strcmp(lb->customer, x->customer) != 0)
				continue;
			seen = 1;
			res |= strcmp(lb->label, "resolution") == 0;
			esc |= strcmp(lb->label, "escalation") == 0;
		}
		x->scored = seen;
		if (!seen) {
			out->unlabeled++;
			continue;
		}
		truth = res ? CV_RESOLVED : esc ? CV_ESCALATED : CV_UNRESOLVED;
		pred = x->resolved ? CV_RESOLVED : x->escalated ? CV_ESCALATED : CV_UNRESOLVED;
		x->truth = truth;
		x->pred = pred;
		out->n[truth][pred]++;
	}
}

void
case_score_misses(const struct case_score *cs, void (*fn)(void *arg, const char *conv,
    const char *post_id, enum case_verdict truth, enum case_verdict pred), void *arg)
{
	for (size_t i = 0; i < cs->ncases; i++) {
		const struct cs_case *x = &cs->cases[i];

		if (x->scored && x->truth != x->pred)
			fn(arg, x->conv, x->post_id ? x->post_id : "", x->truth, x->pred);
	}
}
