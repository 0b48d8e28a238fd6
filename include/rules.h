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
	char *file; /* an override may add examples from another file */
	int line, col;
	int counter;
};

/*
 * Where one key line of a rule was written. An override in a later file
 * replaces a key's lines with its own, so these say where each key of the
 * rule in effect came from.
 */
struct rule_origin {
	char *key;   /* "pattern", "enabled", ...; NULL for an override's header */
	char *value; /* as written; NULL for an override's header */
	char *file;
	int line, col; /* col of the value (of the header for an override) */
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

	struct rule_origin *origins; /* every key line in effect, in the order read */
	size_t norigins;
	struct rule_origin *overrides; /* "[KIND ID]" sections of later files that changed it */
	size_t noverrides;

	int errors;    /* parse errors in this rule; the set is unusable when any */
	int broken;    /* a pattern, phrase or link did not compile: examples cannot run */
	uint64_t hits; /* counted by the matcher */
};

/*
 * A literal waking one "any" matcher of a rule: the matcher may match when
 * the branch's other requirements hold too (alt NULL: it has none).
 */
struct lit_use {
	uint32_t rule;
	uint32_t any;
	const struct malt *alt;
};

struct ruleset {
	struct rule *rules; /* in load order: file order, then position in file */
	size_t n;
	int jit; /* 1 when PCRE2's JIT compiled every pattern */
	struct prefilter *pf; /* literals of every "any" matcher, numbered; NULL: none */
	/*
	 * Per author role (enum author_role), the automaton over the literals
	 * of the rules that apply to it, and its literal ids mapped to pf's.
	 */
	struct prefilter *role_pf[2];
	uint32_t *role_lit[2];
	/* Per literal id, the "any" matchers it may wake. */
	struct lit_use **lit_uses;
	size_t *lit_nuses;
	size_t nlits;
	size_t nreqs; /* distinct requirements of branches needing several literals */
	size_t *any_base; /* per rule: the number of its first "any" matcher */
	size_t nanys;     /* "any" matchers of every rule, numbered in rule order */
	unsigned char *always; /* per rule: a matcher needs no literal, so it always runs */
	uint64_t limit_hits; /* matches abandoned at the match limit */
	struct diag warnings; /* "file:line:col: warning: ..." found while loading */
	struct rule_lists *lists; /* "[list NAME]" sections, in load order */
};

struct ruleset *ruleset_new(void);
void ruleset_free(struct ruleset *rs);

/*
 * Parses and compiles one rule file held in buf; errors go to d with the file
 * name, warnings to rs->warnings. Call for each file in order, then
 * ruleset_finish(): a section naming the kind and id of a rule from an
 * earlier call overrides that rule key by key.
 */
void ruleset_add_buffer(struct ruleset *rs, const char *file, const char *buf, size_t len,
    struct diag *d);
/* The example / counter lines, run on each rule as overridden, and the no-example warnings. */
void ruleset_finish(struct ruleset *rs, struct diag *d);

/*
 * Reads every "*.rules" file of each directory in dirs, a comma-separated
 * list, in lexical order within a directory and directory after directory
 * (the one I/O function here): a section in a later file with the kind and
 * id of an earlier rule overrides that rule key by key. Returns the rule set,
 * or NULL when d holds errors. Warnings go to warn (dropped when NULL),
 * whether or not the load failed.
 */
struct ruleset *ruleset_load_dirs(const char *dirs, struct diag *d, struct diag *warn);
/* ruleset_load_dirs without the warnings. */
struct ruleset *ruleset_load_dir(const char *dir, struct diag *d);

/*
 * Adds a warning to warn for each scope value that can never match: a
 * platform deflectd does not know, a malformed language tag and, when
 * nbrands > 0, a brand that is not among brands (the config's). Sorts
 * every warning in warn by place, so a file reads top down.
 */
void ruleset_check_scope(const struct ruleset *rs, char *const *brands, size_t nbrands,
    struct diag *warn);

/* The line that set key in the rule in effect (the last one for a list), or NULL. */
const struct rule_origin *rule_key_origin(const struct rule *r, const char *key);

/* The rule with this id, or NULL. */
const struct rule *ruleset_find(const struct ruleset *rs, const char *id);

const char *rule_kind_name(enum rule_kind k);
const char *severity_name(enum severity s);
/* Parses "90s", "15m", "72h", "3d", "1w" (or a sum: "1d12h"); -1 when bad. */
int64_t parse_duration(const char *s);

#endif
