/*
 * Runs a rule set over normalized text. Pure; the scratch space is the
 * caller's so the daemon and replay reuse it across posts.
 */
#ifndef DEFLECTD_MATCH_H
#define DEFLECTD_MATCH_H

#include <stddef.h>

#include "rules.h"

enum author_role { ROLE_BRAND, ROLE_CUSTOMER };

struct match_input {
	const char *text; /* normalized, valid UTF-8 */
	size_t len;
	enum author_role role;
	const char *brand;    /* NULL when unknown: brand-scoped rules then do not apply */
	const char *platform;
	const char *lang;     /* NULL when unknown: lang-scoped rules still apply */
	/* Stop at the first rule of each kind (what the tracker uses); else report all. */
	int first_per_kind;
};

struct match {
	const struct rule *rule;
	size_t start, end; /* byte span in the normalized text */
};

struct match_scratch;

struct match_scratch *match_scratch_new(void);
void match_scratch_free(struct match_scratch *ms);

/*
 * Fills out with up to max matches, in rule order, and returns how many rules
 * matched (which may exceed max). Enabled rules only, unless all is set.
 */
size_t match_run(struct ruleset *rs, struct match_scratch *ms, const struct match_input *in,
    struct match *out, size_t max);

/* Tests one rule's text matchers alone (no role or scope): 1 match, 0 none, -1 match limit. */
int match_rule_text(struct rule *r, struct match_scratch *ms, const char *text, size_t len,
    size_t *start, size_t *end);

#endif
