/*
 * The pipeline's findings as rows of the state database. Failures are
 * logged here, once, with the conversation they concern.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "log.h"
#include "record.h"
#include "xmalloc.h"

/*
 * Keeps who wrote a post of a case and the span that matched, for the case
 * timeline. A resolution may come from the brand or the customer; only the
 * customer's handle tells which.
 */
static void
case_post_add(struct store *st, const struct event *ev)
{
	const struct finding *f = ev->f;
	const char *role = f->type == FINDING_DEFLECTION ||
	    f->type == FINDING_REPEAT_DEFLECTION ? "brand" :
	    f->type == FINDING_ESCALATION ? "customer" :
	    strcasecmp(ev->post->author, f->c->customer) == 0 ? "customer" : "brand";
	char start[24], end[24];

	snprintf(start, sizeof start, "%zu", f->start);
	snprintf(end, sizeof end, "%zu", f->end);
	const char *args[7] = {ev->post->platform, f->post_id, finding_type_name(f->type),
	    ev->post->author, role, start, end};
	store_write(st, "INSERT OR IGNORE INTO case_posts (platform, post_id, kind,"
	    " author, role, span_start, span_end) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", args, 7);
}

void
record_event(struct store *st, const struct event *ev)
{
	const struct finding *f = ev->f;

	if (store_case_put(st, f->c) != 0)
		log_warnx("case of conversation %s not stored", f->c->conversation_id);
	if (f->type == FINDING_DEFLECTION && ev->post != NULL) {
		char *match = xstrndup(ev->text + f->start, f->end - f->start);

		store_case_text_set(st, f->c, ev->text, ev->post->url, match);
		free(match);
		case_post_add(st, ev);
	} else if (f->type != FINDING_UNRESOLVED && ev->post != NULL) {
		store_evidence_add(st, f->c, f->post_id, finding_type_name(f->type), f->at, f->rule,
		    ev->text, ev->post->url);
		case_post_add(st, ev);
	}
}

void
record_tracked(struct store *st, const struct post *p, int is_brand, const char *brand,
    int duplicate)
{
	/* Replies seen per brand: the denominator of the scorecard's deflection rate. */
	if (is_brand && !duplicate && brand != NULL &&
	    store_brand_reply(st, brand, p->created_at) != 0)
		log_warnx("reply %s/%s of brand %s not counted", p->platform, p->id, brand);
}
