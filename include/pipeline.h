/*
 * The one data path (STYLE.md 3): post -> normalize -> match -> reorder ->
 * track. replay and the daemon both feed posts here and get events back,
 * so they run the same code. Pure: the clock is whatever the caller says.
 */
#ifndef DEFLECTD_PIPELINE_H
#define DEFLECTD_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "post.h"
#include "rules.h"
#include "tracker.h"

/* One brand account: author handle on a platform (NULL = any platform). */
struct brand_account {
	const char *platform;
	const char *account;
	const char *brand;
};

struct pipeline_config {
	int64_t window;    /* default case window, seconds */
	int64_t lateness;  /* how late an out-of-order post may arrive, seconds */
	int64_t retention; /* see struct tracker_config */
	const struct brand_account *accounts; /* copied */
	size_t naccounts;
	const struct brand_window *brand_windows; /* copied */
	size_t nbrand_windows;
	int event_clock; /* replay: the clock is the latest event time seen */
	/*
	 * Called once a post was tracked, with whether a brand wrote it and the
	 * brand (NULL when unknown), or skipped as a duplicate (duplicate set).
	 * May be NULL.
	 */
	void (*tracked)(void *arg, const struct post *p, int is_brand, const char *brand,
	    int duplicate);
};

/* A finding with what caused it, for output and alerts. */
struct event {
	const struct finding *f;
	const struct rule *rule;  /* the rule behind the finding, when still loaded */
	const struct post *post;  /* the post behind it; NULL for unresolved */
	const char *text;         /* that post's normalized text (span refers to it) */
	size_t len;
};

typedef void (*event_fn)(void *arg, const struct event *ev);

struct pipeline_stats {
	uint64_t posts;      /* accepted */
	uint64_t duplicates; /* skipped: same platform and id seen before */
	uint64_t late;       /* arrived after the watermark passed their time */
	uint64_t matched[RULE_KINDS];
	uint64_t buffered; /* waiting in the reorder buffer now */
};

/* rs is borrowed; it must outlive the pipeline or be swapped first. */
struct pipeline *pipeline_new(const struct pipeline_config *cfg, struct ruleset *rs, event_fn fn,
    void *arg);
void pipeline_free(struct pipeline *pl);
/* Swaps in a new rule set (reload); the caller frees the old one. */
void pipeline_set_rules(struct pipeline *pl, struct ruleset *rs);
/* Applies a new configuration (reload): accounts, windows, lateness, retention. */
void pipeline_reconfigure(struct pipeline *pl, const struct pipeline_config *cfg);
/* Takes the post over (p is left empty). */
void pipeline_post(struct pipeline *pl, struct post *p);
/* Moves the clock to now (live mode); releases and expires what it passed. */
void pipeline_advance(struct pipeline *pl, int64_t now);
/*
 * The same, tracking at most max posts (a backlog of a large push, say);
 * returns 1 when more wait: call again, soon. Meanwhile new posts only wait
 * in the reorder buffer, so every post is still tracked in time order.
 */
int pipeline_advance_some(struct pipeline *pl, int64_t now, size_t max);
/* Releases every buffered post (end of a recording). */
void pipeline_flush(struct pipeline *pl);
/* Expires every still-open case at once (replay --drain). */
void pipeline_drain(struct pipeline *pl);
void pipeline_stats(const struct pipeline *pl, struct pipeline_stats *st);
struct tracker *pipeline_tracker(struct pipeline *pl);

/*
 * Who wrote a post: returns 1 for a brand account (the input's
 * author_is_brand, else the accounts list) and sets *brand to the post's
 * brand (its own field, else the account's brand, else the author for a
 * brand; NULL for a customer post that names none).
 */
int post_role(const struct brand_account *a, size_t n, const struct post *p,
    const char **brand);

/* Is author one of the brand accounts on platform? Returns its brand or NULL. */
const char *brand_account_find(const struct brand_account *a, size_t n, const char *platform,
    const char *author);

#endif
