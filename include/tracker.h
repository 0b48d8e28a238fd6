/*
 * Cases (SPEC section 4). Pure: no I/O, no loop, no wall clock. The caller
 * feeds posts in event-time order (the reorder buffer does that) together
 * with what the matcher found, and moves the watermark; the tracker calls
 * back with findings.
 *
 * Case states and the only transitions:
 *
 *   (none) --deflection by the brand--> deflected
 *   deflected --resolution at or before the deadline--> resolved   (closed)
 *   deflected --watermark passes the deadline--> unresolved
 *   unresolved --resolution--> resolved_late                        (closed)
 *
 * Escalations and repeated deflections are counted in deflected and
 * unresolved and emit findings, but change no state. A closed case leaves the
 * tracker; a later deflection with the same key opens a new case. An
 * unresolved case is forgotten once the watermark passes its deadline plus the
 * retention. An operator's verdict takes a held case out without a finding
 * (tracker_close): its deadline never fires.
 */
#ifndef DEFLECTD_TRACKER_H
#define DEFLECTD_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

/* CASE_CLOSED is an operator's verdict (verdict.h); the tracker never sets it. */
enum case_state { CASE_DEFLECTED, CASE_RESOLVED, CASE_UNRESOLVED, CASE_RESOLVED_LATE, CASE_CLOSED };

enum finding_type {
	FINDING_DEFLECTION,        /* a case opened */
	FINDING_REPEAT_DEFLECTION, /* the brand deflected again in an open case */
	FINDING_ESCALATION,        /* the customer escalated in an open case */
	FINDING_RESOLUTION,        /* public resolution before the deadline */
	FINDING_UNRESOLVED,        /* the window passed */
	FINDING_RESOLVED_LATE,     /* public resolution after the deadline */
	FINDING_TYPES
};

/* What one rule kind found in a post; rule is NULL when nothing matched. */
struct verdict {
	const char *rule;
	size_t start, end; /* span in the normalized text */
	int64_t window;    /* deflection rules: window override in seconds, 0 = none */
};

struct tracker_post {
	const char *id;
	const char *platform;
	const char *conversation_id;
	int conversation_implied;   /* the input did not say: a reply joins its parent's */
	const char *in_reply_to_id; /* NULL for a root post */
	const char *author;
	const char *brand;   /* NULL: taken from the case or the parent post */
	const char *mention; /* first @mention that is not a brand account, without '@'; or NULL */
	int is_brand;
	int64_t at;
	struct verdict v[RULE_KINDS]; /* indexed by enum rule_kind */
};

/*
 * A case as findings and the state store see it. Strings are owned by the
 * tracker; a finding's case pointer is valid only during the callback.
 */
struct tcase {
	char *platform;
	char *conversation_id;
	char *customer;
	char *brand;
	enum case_state state;
	int64_t deflected_at;
	int64_t deadline;
	int64_t resolved_at; /* 0 until resolved or resolved late */
	unsigned repeats;
	unsigned escalations;
	char *post_id; /* the deflecting post */
	char *rule;
	size_t start, end;
};

struct finding {
	enum finding_type type;
	int64_t at; /* event time: the post's, or the deadline for unresolved */
	const struct tcase *c;
	const char *post_id; /* the post behind it; the deflecting post for unresolved */
	const char *rule;    /* the rule behind it; the deflection rule for unresolved */
	size_t start, end;
};

typedef void (*finding_fn)(void *arg, const struct finding *f);

struct brand_window {
	const char *brand;
	int64_t window;
};

struct tracker_config {
	int64_t window; /* default seconds a case waits for a public resolution */
	const struct brand_window *brand_windows; /* copied by tracker_new */
	size_t nbrand_windows;
	int64_t retention; /* seconds an unresolved case and a post's author are remembered */
};

struct tracker_stats {
	uint64_t posts;
	uint64_t open;       /* cases in deflected */
	uint64_t unresolved; /* unresolved cases still remembered */
	uint64_t findings[FINDING_TYPES];
	uint64_t no_customer; /* deflections whose customer could not be told */
};

struct tracker *tracker_new(const struct tracker_config *cfg, finding_fn fn, void *arg);
void tracker_free(struct tracker *t);
/* Replaces the configuration (reload); open cases keep their deadlines. */
void tracker_set_config(struct tracker *t, const struct tracker_config *cfg);

/* Feeds one post. Call tracker_advance(t, p->at) first so deadlines before it fire. */
void tracker_post(struct tracker *t, const struct tracker_post *p);
/* Fires every deadline strictly before watermark and forgets what retention allows. */
void tracker_advance(struct tracker *t, int64_t watermark);
/* Expires every case still deflected, as if the watermark passed all deadlines. */
void tracker_drain(struct tracker *t);
/* Puts back a case loaded from the state store (deflected or unresolved). */
void tracker_restore(struct tracker *t, const struct tcase *c);
/*
 * Drops the held case with this key and deflecting post, firing nothing (an
 * operator closed it). Returns 1 when it was held, 0 when not.
 */
int tracker_close(struct tracker *t, const char *platform, const char *conversation_id,
    const char *customer, const char *post_id);
/* Calls fn for every case the tracker holds, in no particular order. */
void tracker_foreach(struct tracker *t, void (*fn)(void *arg, const struct tcase *c), void *arg);
/* Has a post with this platform and id been fed within the retention? */
int tracker_seen(const struct tracker *t, const char *platform, const char *id);
void tracker_stats(const struct tracker *t, struct tracker_stats *st);

const char *finding_type_name(enum finding_type t);
const char *case_state_name(enum case_state s);

#endif
