/* What rules.c and match.c share about compiled matchers; nobody else looks. */
#ifndef DEFLECTD_RULES_INTERNAL_H
#define DEFLECTD_RULES_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum matcher_type { MATCHER_PATTERN, MATCHER_PHRASE, MATCHER_LINK };

struct matcher {
	enum matcher_type type;
	pcre2_code *code;
	char *file;    /* where it was written: an override's lines come from another file */
	int line, col;
	char *src; /* the pattern as written, when it used a list; else NULL */
	struct malt *alts; /* what a match holds: one of these branches ... */
	size_t nalts;      /* ... (0: nothing is known, always run) */
};

/*
 * One requirement: literals, one of which a match holds, with their
 * prefilter ids, and its number among the requirements the match step
 * checks (those of branches with more than one).
 */
struct mreq {
	char **lits;
	size_t *ids;
	size_t n;
	size_t slot;
};

/* One branch: every requirement must be met. */
struct malt {
	struct mreq *reqs;
	size_t n;
};

/* A match attempt: 1 match, 0 none, -1 abandoned at a limit. */
int matcher_run(const struct matcher *m, pcre2_match_data *md, pcre2_match_context *mc,
    const char *text, size_t len, size_t *start, size_t *end);

#endif
