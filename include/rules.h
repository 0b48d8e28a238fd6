/*
 * Rule files (SPEC section 3): parsing, PCRE2 compilation and the example /
 * counter checks. Pure: reads buffers, fills a diag, never logs. A rule set
 * with any error is freed by the loader and never handed out.
 */
#ifndef DEFLECTD_RULES_H
#define DEFLECTD_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

enum rule_kind { RULE_DEFLECTION, RULE_RESOLUTION, RULE_ESCALATION, RULE_KINDS };
enum rule_by { BY_ANY, BY_BRAND, BY_CUSTOMER };
enum severity { SEV_INFO, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };

struct matcher; /* one compiled pattern, phrase list or link matcher */
struct rule_lists;

/* An "example" (must match) or "counter" (must not) line of a rule. */
struct rule_example {
	char *text;
	int line, col;
	int counter;
};

struct rule {
	char *id;
	char *description;
	char *file;
	int line; /* of the section header */
	enum rule_kind kind;
	enum rule_by by;
	enum severity severity;
	int enabled;
	int64_t window; /* seconds; 0 = no override */

	struct matcher **any; /* pattern, phrase and link lines: one must match */
	size_t nany;
	struct matcher **require; /* all must match */
	size_t nrequire;
	struct matcher **unless; /* none may match */
	size_t nunless;

	char **tags; size_t ntags;
	char **brands; size_t nbrands;       /* scope; empty = every brand */
	char **platforms; size_t nplatforms; /* scope; empty = every platform */
	char **langs; size_t nlangs;         /* scope; empty = every language */

	struct rule_example *examples; /* checked by ruleset_finish */
	size_t nexamples;

	int errors;    /* parse errors in this rule; the set is unusable when any */
	int broken;    /* a pattern, phrase or link did not compile: examples cannot run */
	uint64_t hits; /* counted by the matcher */
};

struct ruleset {
	struct rule *rules; /* in load order: file order, then position in file */
	size_t n;
	int jit; /* 1 when PCRE2's JIT compiled every pattern */
	struct prefilter *pf; /* literals of every "any" matcher */
	/* Per literal id, the rules one of whose "any" matchers needs it. */
	uint32_t **lit_rules;
	size_t *lit_nrules;
	size_t nlits;
	unsigned char *always; /* per rule: a matcher needs no literal, so it always runs */
	uint64_t limit_hits; /* matches abandoned at the match limit */
	struct rule_lists *lists; /* "[list NAME]" sections, in load order */
};

struct ruleset *ruleset_new(void);
void ruleset_free(struct ruleset *rs);

/*
 * Parses and compiles one rule file held in buf; errors go to d with the file
 * name. Call for each file in order, then ruleset_finish().
 */
void ruleset_add_buffer(struct ruleset *rs, const char *file, const char *buf, size_t len,
    struct diag *d);
/* Cross-file checks (duplicate ids) and the example / counter lines. */
void ruleset_finish(struct ruleset *rs, struct diag *d);

/*
 * Reads every "*.rules" file of dir in lexical order (the one I/O function
 * here). Returns the rule set, or NULL when d holds errors.
 */
struct ruleset *ruleset_load_dir(const char *dir, struct diag *d);

/* The rule with this id, or NULL. */
const struct rule *ruleset_find(const struct ruleset *rs, const char *id);

const char *rule_kind_name(enum rule_kind k);
const char *severity_name(enum severity s);
/* Parses "90s", "15m", "72h", "3d", "1w" (or a sum: "1d12h"); -1 when bad. */
int64_t parse_duration(const char *s);

#endif
