/*
 * Named word lists of the rule language: a "[list NAME]" section holds one
 * "item = REGEX" line per phrasing, and a pattern, require or unless line
 * writes {NAME} where any one of them may stand. A use is expanded to
 * (?:item|item|...) before PCRE2 compiles the pattern, so matching and the
 * literal prefilter see an ordinary regex. A list is visible from its
 * section on, in load order, across files. Pure: fills a diag, never logs.
 */
#ifndef DEFLECTD_RULE_LISTS_H
#define DEFLECTD_RULE_LISTS_H

#include <stddef.h>

#include "diag.h"

struct rule_lists;

struct rule_lists *rule_lists_new(void);
void rule_lists_free(struct rule_lists *rl);

/*
 * Starts the list NAME (from a "[list NAME]" header at file:line:col). Returns
 * 0, or -1 with the error in d (bad or duplicate name); items then go nowhere.
 */
int rule_lists_begin(struct rule_lists *rl, const char *name, const char *file, int line,
    int col, struct diag *d);
/*
 * Adds an item, a regex fragment that may itself use lists defined before,
 * to the list begun last; errors (unknown list, bad regex) go to d at
 * file:line:col.
 */
void rule_lists_add(struct rule_lists *rl, const char *item, const char *file, int line,
    int col, struct diag *d);

/*
 * Expands every {NAME} in src. Returns NULL when src uses no list; else the
 * expanded pattern (caller frees), or NULL with *bad set and the error in d,
 * placed at col plus the offset of the use. A { not followed by a letter is
 * left to PCRE2 (quantifiers such as {2,3}).
 */
char *rule_lists_expand(struct rule_lists *rl, const char *src, const char *file, int line,
    int col, int *bad, struct diag *d);

/* Adds an error at its header for every list no pattern or item used. */
void rule_lists_check_unused(const struct rule_lists *rl, struct diag *d);

/* One list item found in a match, for explain. */
struct rule_list_hit {
	const char *list;
	const char *item;
	const char *file;
	int line;
	size_t start, end; /* span of the item in the text */
};

/*
 * Which list items a pattern's match at [start, end) of text used: the
 * pattern is expanded again with each item in a named group and matched
 * there. Calls fn once per item that took part. Returns the number of hits.
 */
size_t rule_lists_explain(struct rule_lists *rl, const char *src, const char *text, size_t len,
    size_t start, void (*fn)(void *arg, const struct rule_list_hit *h), void *arg);

struct ruleset;
struct rule;
/*
 * Calls fn for every list item in the match of one of r's patterns that
 * starts at start in text (explain). Returns how many there were.
 */
size_t rule_explain_lists(const struct ruleset *rs, const struct rule *r, const char *text,
    size_t len, size_t start, void (*fn)(void *arg, const struct rule_list_hit *h), void *arg);

#endif
