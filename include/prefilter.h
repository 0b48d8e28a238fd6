/*
 * The literal prefilter. From each pattern it derives literals of which any
 * match must contain at least one ("dm us|direct\s+message" needs "dm us"
 * or "message"); one Aho-Corasick pass over a post finds which literals
 * occur, and only patterns with a literal present are run by PCRE2, which
 * confirms the match. Patterns it cannot reason about always run. Pure.
 */
#ifndef DEFLECTD_PREFILTER_H
#define DEFLECTD_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

/* Literals shorter than this rule out too little to be worth a lookup. */
#define PREFILTER_MIN_LITERAL 2

/* Literals of which a match holds at least one (lowercased ASCII). */
struct prefilter_req {
	char **lits;
	size_t n;
};

/* One top-level branch of a pattern: all of its requirements must be met. */
struct prefilter_alt {
	struct prefilter_req *reqs;
	size_t n;
};

/* Branches beyond this are folded into one weaker requirement. */
#define PREFILTER_MAX_ALTS 8

/*
 * Derives what any match of a caseless PCRE2 pattern must hold: one of the
 * returned alternatives (a top-level branch), each of whose requirements is
 * met by one of its literals. Returns how many alternatives, or 0 when
 * nothing can be said (the pattern must always run).
 */
size_t prefilter_alternatives(const char *re, struct prefilter_alt **alts);
void prefilter_alternatives_free(struct prefilter_alt *alts, size_t n);

struct prefilter;

struct prefilter *prefilter_new(void);
void prefilter_free(struct prefilter *pf);
/* Adds a literal (no-op if known) and returns its id, 0-based and dense. */
size_t prefilter_add(struct prefilter *pf, const char *lit);
/* Builds the automaton; call once after the last add. */
void prefilter_compile(struct prefilter *pf);
size_t prefilter_count(const struct prefilter *pf);
/* The literal with that id, as added (boundary marks included). */
const char *prefilter_literal(const struct prefilter *pf, size_t id);
/*
 * Scans text ASCII-caselessly and sets seen[id] = stamp for every literal
 * present (a caller reuses seen across posts by changing the stamp). The
 * ids found go to list, up to max; returns how many were found in all.
 */
size_t prefilter_scan(const struct prefilter *pf, const char *text, size_t len, uint32_t *seen,
    uint32_t stamp, uint32_t *list, size_t max);

#endif
