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

/* Why a rule whose pattern matched a post was dropped; several may hold at once. */
enum miss_reason {
	MISS_DISABLED = 1 << 0, /* enabled = no */
	MISS_BY = 1 << 1,       /* written by the other side */
	MISS_BRAND = 1 << 2,    /* brand scope */
	MISS_PLATFORM = 1 << 3, /* platform scope */
	MISS_LANG = 1 << 4,     /* lang scope */
	MISS_REQUIRE = 1 << 5,  /* a require did not match */
	MISS_UNLESS = 1 << 6,   /* an unless matched */
	MISS_LIMIT = 1 << 7,    /* a match attempt hit the regex limits */
};

/* A rule dropped although one of its pattern, phrase or link lines matched. */
struct rule_miss {
	const struct rule *rule;
	unsigned why;       /* MISS_* bits */
	size_t start, end;  /* the span the pattern matched */
	const char *file;   /* the require that failed or the unless that matched ... */
	int line;           /* ... and where it was written */
	size_t ustart, uend; /* the span the unless matched */
};

/*
 * Fills out with up to max rules whose text would have matched but that were
 * dropped, with every reason, in rule order; returns how many there are.
 */
size_t match_why_not(struct ruleset *rs, struct match_scratch *ms, const struct match_input *in,
    struct rule_miss *out, size_t max);

/* Tests one rule's text matchers alone (no role or scope): 1 match, 0 none, -1 match limit. */
int match_rule_text(struct rule *r, struct match_scratch *ms, const char *text, size_t len,
    size_t *start, size_t *end);

#endif
