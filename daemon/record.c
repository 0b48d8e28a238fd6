/*
 * The pipeline's findings as rows of the state database. Failures are
 * logged here, once, with the conversation they concern.
 */
#include <stdlib.h>

#include "log.h"
#include "record.h"
#include "xmalloc.h"

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
	} else if (f->type != FINDING_UNRESOLVED && ev->post != NULL) {
		store_evidence_add(st, f->c, f->post_id, finding_type_name(f->type), f->at, f->rule,
		    ev->text, ev->post->url);
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
