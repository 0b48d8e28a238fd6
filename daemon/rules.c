/*
 * Rule files: "[KIND ID]" sections of "key = value" lines (SPEC section 3),
 * compiled once into PCRE2 code. Every error is collected with its
 * file:line:col and parsing goes on, so an operator sees them all at once.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "ini.h"
#include "match.h"
#include "normalize.h"
#include "prefilter.h"
#include "rules.h"
#include "rule_lists.h"
#include "rules_internal.h"
#include "xmalloc.h"

/* Rule files are written by hand; anything this big is a mistake. */
#define RULES_FILE_MAX (16 * 1024 * 1024)

struct parse_state {
	struct ruleset *rs;
	const char *file;
	struct diag *d;
	struct rule *cur; /* NULL outside a rule section, or in a broken header */
	int in_section;   /* a section header was seen, even a broken one */
	size_t first;     /* rules before this index come from earlier files */
	int overriding;   /* cur is an earlier file's rule this section overrides */
	unsigned replaced; /* bits of override_keys this override section has replaced */
	int in_list;      /* inside a "[list NAME]" section */
};

static const char *kind_names[RULE_KINDS] = {"deflection", "resolution", "escalation"};
static const char *severity_names[] = {"info", "low", "medium", "high", "critical"};

const char *
rule_kind_name(enum rule_kind k)
{
	return k < RULE_KINDS ? kind_names[k] : "?";
}

const char *
severity_name(enum severity s)
{
	return s <= SEV_CRITICAL ? severity_names[s] : "?";
}

int64_t
parse_duration(const char *s)
{
	int64_t total = 0;
	int parts = 0;

	while (*s != '\0') {
		int64_t n = 0, unit;
		int digits = 0;

		while (isdigit((unsigned char)*s)) {
			if (n > INT64_MAX / 100000000)
				return -1;
			n = n * 10 + (*s++ - '0');
			digits++;
		}
		if (digits == 0)
			return -1;
		switch (*s) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -1; /* a unit is required: "72" could mean anything */
		}
		s++;
		total += n * unit;
		if (total > (int64_t)100 * 365 * 86400)
			return -1;
		parts++;
	}
	return parts ? total : -1;
}

/* Frees the literals of a requirement. */
static void
mreq_clear(struct mreq *r)
{
	for (size_t k = 0; k < r->n; k++)
		free(r->lits[k]);
	free(r->lits);
	free(r->ids);
}

/* Appends s to a growable string array. */
static void
strv_add(char ***v, size_t *n, const char *s, size_t len)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrndup(s, len);
}

static void
matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	pcre2_code_free(m->code);
	free(m->file);
	free(m->src);
	for (size_t a = 0; a < m->nalts; a++) {
		for (size_t i = 0; i < m->alts[a].n; i++)
			mreq_clear(&m->alts[a].reqs[i]);
		free(m->alts[a].reqs);
	}
	free(m->alts);
	free(m);
}

/* Frees an array of origins and the strings they own. */
static void
origins_free(struct rule_origin *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].key);
		free(o[i].value);
		free(o[i].file);
	}
	free(o);
}

/* Appends an origin; key and value may be NULL (an override's header). */
static void
origin_add(struct rule_origin **o, size_t *n, const char *key, const char *value,
    const char *file, int line, int col)
{
	struct rule_origin *p;

	*o = xreallocarray(*o, *n + 1, sizeof **o);
	p = &(*o)[(*n)++];
	p->key = key ? xstrdup(key) : NULL;
	p->value = value ? xstrdup(value) : NULL;
	p->file = xstrdup(file);
	p->line = line;
	p->col = col;
}

static void
rule_clear(struct rule *r)
{
	free(r->id);
	free(r->description);
	free(r->file);
	for (size_t i = 0; i < r->nany; i++)
		matcher_free(r->any[i]);
	for (size_t i = 0; i < r->nrequire; i++)
		matcher_free(r->require[i]);
	for (size_t i = 0; i < r->nunless; i++)
		matcher_free(r->unless[i]);
	free(r->any);
	free(r->require);
	free(r->unless);
	ini_strv_free(r->tags, r->ntags);
	ini_strv_free(r->brands, r->nbrands);
	ini_strv_free(r->platforms, r->nplatforms);
	ini_strv_free(r->langs, r->nlangs);
	for (size_t i = 0; i < r->nexamples; i++) {
		free(r->examples[i].text);
		free(r->examples[i].file);
	}
	free(r->examples);
	origins_free(r->origins, r->norigins);
	origins_free(r->overrides, r->noverrides);
}

const struct rule *
ruleset_find(const struct ruleset *rs, const char *id)
{
	for (size_t i = 0; rs != NULL && id != NULL && i < rs->n; i++)
		if (strcmp(rs->rules[i].id, id) == 0)
			return &rs->rules[i];
	return NULL;
}

struct ruleset *
ruleset_new(void)
{
	struct ruleset *rs = xcalloc(1, sizeof *rs);

	rs->jit = 1;
	rs->lists = rule_lists_new();
	return rs;
}

void
ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	prefilter_free(rs->pf);
	for (int role = 0; role < 2; role++) {
		prefilter_free(rs->role_pf[role]);
		free(rs->role_lit[role]);
	}
	rule_lists_free(rs->lists);
	for (size_t i = 0; i < rs->nlits; i++)
		free(rs->lit_uses[i]);
	free(rs->lit_uses);
	free(rs->lit_nuses);
	free(rs->any_base);
	free(rs->always);
	for (size_t i = 0; i < rs->n; i++)
		rule_clear(&rs->rules[i]);
	free(rs->rules);
	diag_free(&rs->warnings);
	free(rs);
}

/*
 * Compiles a PCRE2 pattern with deflectd's defaults. On error, reports the
 * pattern offset and PCRE2's own message against the value's column.
 */
static struct matcher *
matcher_compile(struct parse_state *ps, enum matcher_type type, const char *re,
    const struct ini_item *it, int report_col)
{
	struct matcher *m;
	PCRE2_SIZE off;
	int code;
	pcre2_code *c;

	c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
	if (c == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(code, msg, sizeof msg);
		if (type == MATCHER_PATTERN && report_col < 0)
			diag_add(ps->d, ps->file, it->line, it->value_col,
			    "pattern error at offset %zu with its lists expanded: %s", (size_t)off,
			    (char *)msg);
		else if (type == MATCHER_PATTERN)
			diag_add(ps->d, ps->file, it->line, it->value_col + (int)off,
			    "pattern error at offset %zu: %s", (size_t)off, (char *)msg);
		else
			diag_add(ps->d, ps->file, it->line, report_col, "cannot compile %s: %s",
			    type == MATCHER_LINK ? "link" : "phrase", (char *)msg);
		return NULL;
	}
	if (pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) != 0)
		ps->rs->jit = 0;

	/* A pattern that matches empty text would flag every post. */
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	int rc = pcre2_match(c, (PCRE2_SPTR) "", 0, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	if (rc >= 0) {
		diag_add(ps->d, ps->file, it->line, it->value_col,
		    "pattern matches empty text, so it would match every post");
		pcre2_code_free(c);
		return NULL;
	}
	m = xcalloc(1, sizeof *m);
	m->type = type;
	m->code = c;
	struct prefilter_alt *alts;
	m->nalts = prefilter_alternatives(re, &alts);
	m->alts = m->nalts ? xcalloc(m->nalts, sizeof *m->alts) : NULL;
	for (size_t a = 0; a < m->nalts; a++) {
		m->alts[a].n = alts[a].n;
		m->alts[a].reqs = xcalloc(alts[a].n, sizeof *m->alts[a].reqs);
		for (size_t i = 0; i < alts[a].n; i++) {
			struct mreq *r = &m->alts[a].reqs[i];

			/* The literals move here; ids come once the final matchers are known. */
			r->n = alts[a].reqs[i].n;
			r->lits = alts[a].reqs[i].lits;
			r->ids = xcalloc(r->n, sizeof *r->ids);
			alts[a].reqs[i].lits = NULL;
			alts[a].reqs[i].n = 0;
		}
	}
	prefilter_alternatives_free(alts, m->nalts);
	m->file = xstrdup(ps->file);
	m->line = it->line;
	m->col = it->value_col;
	return m;
}

/* Is the byte part of a word for phrase boundaries (ASCII word or any non-ASCII)? */
static int
is_word_byte(unsigned char c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

/* A phrase is a literal: escape it, let any whitespace run match any other, guard word edges. */
static char *
phrase_to_regex(const char *phrase)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(phrase);

	if (is_word_byte((unsigned char)phrase[0]))
		buf_adds(&b, "(?<!\\w)");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)phrase[i];

		if (isspace(c)) {
			while (i + 1 < n && isspace((unsigned char)phrase[i + 1]))
				i++;
			buf_adds(&b, "\\s+");
		} else if (c < 0x80 && !isalnum(c)) {
			buf_addc(&b, '\\');
			buf_addc(&b, (char)c);
		} else {
			buf_addc(&b, (char)c);
		}
	}
	if (is_word_byte((unsigned char)phrase[n - 1]))
		buf_adds(&b, "(?!\\w)");
	return b.s;
}

/*
 * A link matcher "host[/path]" matches a URL in the text on that host or a
 * subdomain, whose path starts with path; the span covers the whole URL.
 * Returns NULL and sets *why for a value that is not host[/path].
 */
static char *
link_to_regex(const char *v, const char **why)
{
	struct buf b = BUF_INIT;
	const char *host, *slash;
	size_t hlen;

	if (strncasecmp(v, "https://", 8) == 0)
		v += 8;
	else if (strncasecmp(v, "http://", 7) == 0)
		v += 7;
	if (strncmp(v, "*.", 2) == 0)
		v += 2;
	host = v;
	slash = strchr(v, '/');
	hlen = slash ? (size_t)(slash - v) : strlen(v);
	if (hlen == 0 || memchr(host, '.', hlen) == NULL) {
		*why = "link must be host[/path], e.g. twitter.com/messages/compose";
		return NULL;
	}
	for (size_t i = 0; i < hlen; i++) {
		if (!isalnum((unsigned char)host[i]) && host[i] != '.' && host[i] != '-') {
			*why = "link host may hold only letters, digits, '.' and '-'";
			return NULL;
		}
	}
	for (const char *p = v; *p; p++) {
		if (isspace((unsigned char)*p)) {
			*why = "link may not contain spaces";
			return NULL;
		}
	}
	buf_adds(&b, "(?<![\\w.@-])(?:https?://)?(?:[\\w-]+\\.)*");
	for (size_t i = 0; i < hlen; i++) {
		if (host[i] == '.' || host[i] == '-')
			buf_addc(&b, '\\');
		buf_addc(&b, host[i]);
	}
	buf_adds(&b, "(?::\\d+)?");
	if (slash != NULL && slash[1] != '\0') {
		for (const char *p = slash; *p; p++) {
			if ((unsigned char)*p < 0x80 && !isalnum((unsigned char)*p))
				buf_addc(&b, '\\');
			buf_addc(&b, *p);
		}
	} else {
		buf_adds(&b, "(?![\\w.-])");
	}
	buf_adds(&b, "\\S*");
	return b.s;
}

static void
add_matcher(struct matcher ***v, size_t *n, struct matcher *m)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = m;
}

/*
 * Compiles a pattern, require or unless value: {NAME} list uses are expanded
 * first, and the pattern as written is kept for explain. NULL on error.
 */
static struct matcher *
compile_pattern(struct parse_state *ps, const struct ini_item *it)
{
	int bad;
	char *re = rule_lists_expand(ps->rs->lists, it->value, ps->file, it->line, it->value_col,
	    &bad, ps->d);
	struct matcher *m;

	if (bad)
		return NULL;
	if (re == NULL)
		return matcher_compile(ps, MATCHER_PATTERN, it->value, it, it->value_col);
	m = matcher_compile(ps, MATCHER_PATTERN, re, it, -1);
	free(re);
	if (m != NULL)
		m->src = xstrdup(it->value);
	return m;
}

/* Starts a "[list NAME]" section; its "item" lines go to the rule set's lists. */
static void
begin_list(struct parse_state *ps, const struct ini_item *it)
{
	const char *name = it->section + 4;

	ps->cur = NULL;
	ps->in_section = 1;
	ps->in_list = 1;
	while (*name == ' ' || *name == '\t')
		name++;
	rule_lists_begin(ps->rs->lists, name, ps->file, it->line,
	    it->col + (int)(name - it->section), ps->d);
}

/* Handles one line of a list section: "item = REGEX". */
static void
list_key(struct parse_state *ps, const struct ini_item *it)
{
	if (strcmp(it->key, "item") != 0)
		diag_add(ps->d, ps->file, it->line, it->col,
		    "unknown key \"%s\" in a list (expected item = ...)", it->key);
	else if (*it->value == '\0')
		diag_add(ps->d, ps->file, it->line, it->value_col, "empty value");
	else
		rule_lists_add(ps->rs->lists, it->value, ps->file, it->line, it->value_col, ps->d);
}

/* Reports an error in the current rule, which marks it unusable. */
static void
rule_error(struct parse_state *ps, int line, int col, const char *msg)
{
	diag_add(ps->d, ps->file, line, col, "%s", msg);
	if (ps->cur != NULL)
		ps->cur->errors++;
}

/* The first rule loaded with this id, or NULL. */
static struct rule *
rule_named(struct ruleset *rs, const char *id, size_t idlen)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strncmp(rs->rules[i].id, id, idlen) == 0 && rs->rules[i].id[idlen] == '\0')
			return &rs->rules[i];
	return NULL;
}

/*
 * A "[KIND ID]" header naming a rule of an earlier file: the keys of this
 * section replace that rule's, key by key, so an operator's later file can
 * retune a shipped rule without copying it. The kind must be the same: a
 * section that changed it would be a different rule under a taken id.
 */
static void
begin_override(struct parse_state *ps, const struct ini_item *it, int kind, struct rule *base)
{
	if ((int)base->kind != kind) {
		diag_add(ps->d, ps->file, it->line, it->col,
		    "rule \"%s\" is a %s rule (%s:%d); an override must name the same kind",
		    base->id, kind_names[base->kind], base->file, base->line);
		return;
	}
	for (size_t i = 0; i < base->noverrides; i++) {
		if (strcmp(base->overrides[i].file, ps->file) == 0) {
			diag_add(ps->d, ps->file, it->line, 1,
			    "duplicate rule id \"%s\" (this file overrides it already at line %d)",
			    base->id, base->overrides[i].line);
			base->errors++;
			return;
		}
	}
	origin_add(&base->overrides, &base->noverrides, NULL, NULL, ps->file, it->line, it->col);
	ps->cur = base;
	ps->overriding = 1;
}

/* Starts a rule from a "[KIND ID]" header. */
static void
begin_section(struct parse_state *ps, const struct ini_item *it)
{
	struct ruleset *rs = ps->rs;
	const char *s = it->section, *sp;
	struct rule *r;
	int kind = -1;
	size_t klen;

	ps->cur = NULL;
	ps->in_section = 1;
	ps->overriding = 0;
	ps->replaced = 0;
	ps->in_list = 0;
	if (strncmp(s, "list", 4) == 0 && (s[4] == ' ' || s[4] == '\t')) {
		begin_list(ps, it);
		return;
	}
	sp = s + strcspn(s, " \t");
	klen = (size_t)(sp - s);
	for (int k = 0; k < RULE_KINDS; k++)
		if (strlen(kind_names[k]) == klen && strncmp(s, kind_names[k], klen) == 0)
			kind = k;
	if (kind < 0) {
		diag_add(ps->d, ps->file, it->line, it->col,
		    "unknown rule kind \"%.*s\" (expected deflection, resolution, escalation "
		    "or list)",
		    (int)klen, s);
		return;
	}
	while (*sp == ' ' || *sp == '\t')
		sp++;
	int idcol = it->col + (int)(sp - s);
	size_t idlen = strcspn(sp, " \t");
	if (idlen == 0) {
		diag_add(ps->d, ps->file, it->line, idcol, "missing rule id after \"%s\"",
		    kind_names[kind]);
		return;
	}
	if (sp[idlen] != '\0') {
		diag_add(ps->d, ps->file, it->line, idcol + (int)idlen + 1,
		    "unexpected text after the rule id");
		return;
	}
	for (size_t i = 0; i < idlen; i++) {
		char c = sp[i];

		if (!isalnum((unsigned char)c) && c != '-' && c != '_' && c != '.') {
			diag_add(ps->d, ps->file, it->line, idcol + (int)i,
			    "rule id may hold only letters, digits, '-', '_' and '.'");
			return;
		}
	}
	struct rule *prev = rule_named(rs, sp, idlen);
	size_t previ = prev ? (size_t)(prev - rs->rules) : 0;

	if (prev != NULL && previ < ps->first) {
		begin_override(ps, it, kind, prev);
		return;
	}
	rs->rules = xreallocarray(rs->rules, rs->n + 1, sizeof *rs->rules);
	r = &rs->rules[rs->n++];
	memset(r, 0, sizeof *r);
	if (prev != NULL) {
		prev = &rs->rules[previ]; /* the array may have moved */
		diag_add(ps->d, ps->file, it->line, 1,
		    "duplicate rule id \"%.*s\" (first defined at %s:%d); an override belongs "
		    "in a later file", (int)idlen, sp, prev->file, prev->line);
		r->errors++;
	}
	r->id = xstrndup(sp, idlen);
	r->file = xstrdup(ps->file);
	r->line = it->line;
	r->kind = (enum rule_kind)kind;
	r->by = kind == RULE_DEFLECTION ? BY_BRAND : kind == RULE_ESCALATION ? BY_CUSTOMER : BY_ANY;
	r->severity = SEV_MEDIUM;
	r->enabled = 1;
	ps->cur = r;
}

/* Parses a yes/no value; -1 when it is neither. */
static int
parse_bool(const char *v)
{
	static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Handles one "key = value" line of the current rule. */
static void
rule_key(struct parse_state *ps, const struct ini_item *it)
{
	struct rule *r = ps->cur;
	const char *k = it->key, *v = it->value;
	struct matcher *m;

	if (*v == '\0') {
		rule_error(ps, it->line, it->value_col, "empty value");
		return;
	}
	if (strcmp(k, "pattern") == 0 || strcmp(k, "require") == 0 || strcmp(k, "unless") == 0) {
		if ((m = compile_pattern(ps, it)) == NULL) {
			r->errors++;
			r->broken = 1;
			return;
		}
		if (k[0] == 'p')
			add_matcher(&r->any, &r->nany, m);
		else if (k[0] == 'r')
			add_matcher(&r->require, &r->nrequire, m);
		else
			add_matcher(&r->unless, &r->nunless, m);
	} else if (strcmp(k, "phrase") == 0 || strcmp(k, "link") == 0) {
		enum matcher_type type = k[0] == 'p' ? MATCHER_PHRASE : MATCHER_LINK;
		const char *why = NULL;
		char *re = type == MATCHER_PHRASE ? phrase_to_regex(v) : link_to_regex(v, &why);

		if (re == NULL) {
			rule_error(ps, it->line, it->value_col, why);
			r->broken = 1;
			return;
		}
		m = matcher_compile(ps, type, re, it, it->value_col);
		free(re);
		if (m == NULL) {
			r->errors++;
			r->broken = 1;
			return;
		}
		add_matcher(&r->any, &r->nany, m);
	} else if (strcmp(k, "description") == 0) {
		free(r->description);
		r->description = xstrdup(v);
	} else if (strcmp(k, "by") == 0) {
		if (strcmp(v, "brand") == 0)
			r->by = BY_BRAND;
		else if (strcmp(v, "customer") == 0)
			r->by = BY_CUSTOMER;
		else if (strcmp(v, "any") == 0)
			r->by = BY_ANY;
		else
			rule_error(ps, it->line, it->value_col,
			    "by must be brand, customer or any");
	} else if (strcmp(k, "severity") == 0) {
		int s = -1;

		for (int i = 0; i <= SEV_CRITICAL; i++)
			if (strcmp(v, severity_names[i]) == 0)
				s = i;
		if (s < 0)
			rule_error(ps, it->line, it->value_col,
			    "severity must be info, low, medium, high or critical");
		else
			r->severity = (enum severity)s;
	} else if (strcmp(k, "enabled") == 0) {
		int b = parse_bool(v);

		if (b < 0)
			rule_error(ps, it->line, it->value_col, "enabled must be yes or no");
		else
			r->enabled = b;
	} else if (strcmp(k, "window") == 0) {
		int64_t w = parse_duration(v);

		if (r->kind != RULE_DEFLECTION)
			rule_error(ps, it->line, it->col, "window applies to deflection rules only");
		else if (w <= 0)
			rule_error(ps, it->line, it->value_col,
			    "window must be a duration such as 90s, 15m, 72h or 3d");
		else
			r->window = w;
	} else if (strcmp(k, "tags") == 0 || strcmp(k, "brand") == 0 ||
	    strcmp(k, "platform") == 0 || strcmp(k, "lang") == 0) {
		char ***lv = k[0] == 't' ? &r->tags : k[0] == 'b' ? &r->brands :
		    k[0] == 'p' ? &r->platforms : &r->langs;
		size_t *ln = k[0] == 't' ? &r->ntags : k[0] == 'b' ? &r->nbrands :
		    k[0] == 'p' ? &r->nplatforms : &r->nlangs;

		if (ini_split_list(v, lv, ln) != 0)
			rule_error(ps, it->line, it->value_col, "empty item in list");
	} else if (strcmp(k, "example") == 0 || strcmp(k, "counter") == 0) {
		struct rule_example *e;

		r->examples = xreallocarray(r->examples, r->nexamples + 1, sizeof *r->examples);
		e = &r->examples[r->nexamples++];
		e->text = xstrdup(v);
		e->file = xstrdup(ps->file);
		e->line = it->line;
		e->col = it->value_col;
		e->counter = k[0] == 'c';
	} else {
		diag_add(ps->d, ps->file, it->line, it->col, "unknown key \"%s\" in rule \"%s\"", k,
		    r->id);
		r->errors++;
	}
}

/* The keys an override replaces one by one; the bit of each in parse_state.replaced. */
static const char *override_keys[] = {"description", "by", "severity", "enabled", "window",
    "pattern", "phrase", "link", "require", "unless", "tags", "brand", "platform", "lang",
    "example", "counter", NULL};

/* Index of key in override_keys, or -1 for a key rules do not have. */
static int
override_key_index(const char *key)
{
	for (int i = 0; override_keys[i] != NULL; i++)
		if (strcmp(override_keys[i], key) == 0)
			return i;
	return -1;
}

/* Is the key one whose lines add up to a list (so "+=" can extend it)? */
static int
is_list_key(const char *key)
{
	int i = override_key_index(key);

	return i >= 5; /* pattern onwards in override_keys */
}

/* Drops the matchers of one type from a matcher array. */
static void
drop_matchers(struct matcher **v, size_t *n, int all, enum matcher_type type)
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		if (all || v[i]->type == type)
			matcher_free(v[i]);
		else
			v[k++] = v[i];
	}
	*n = k;
}

/*
 * Forgets what the rule holds for key, before an override's first line of
 * that key sets it anew. Scalar keys are simply overwritten; only where they
 * came from is dropped.
 */
static void
override_clear(struct rule *r, const char *key)
{
	size_t k = 0;

	if (strcmp(key, "pattern") == 0)
		drop_matchers(r->any, &r->nany, 0, MATCHER_PATTERN);
	else if (strcmp(key, "phrase") == 0)
		drop_matchers(r->any, &r->nany, 0, MATCHER_PHRASE);
	else if (strcmp(key, "link") == 0)
		drop_matchers(r->any, &r->nany, 0, MATCHER_LINK);
	else if (strcmp(key, "require") == 0)
		drop_matchers(r->require, &r->nrequire, 1, MATCHER_PATTERN);
	else if (strcmp(key, "unless") == 0)
		drop_matchers(r->unless, &r->nunless, 1, MATCHER_PATTERN);
	else if (strcmp(key, "tags") == 0 || strcmp(key, "brand") == 0 ||
	    strcmp(key, "platform") == 0 || strcmp(key, "lang") == 0) {
		char ***lv = key[0] == 't' ? &r->tags : key[0] == 'b' ? &r->brands :
		    key[0] == 'p' ? &r->platforms : &r->langs;
		size_t *ln = key[0] == 't' ? &r->ntags : key[0] == 'b' ? &r->nbrands :
		    key[0] == 'p' ? &r->nplatforms : &r->nlangs;

		ini_strv_free(*lv, *ln);
		*lv = NULL;
		*ln = 0;
	} else if (strcmp(key, "example") == 0 || strcmp(key, "counter") == 0) {
		int counter = key[0] == 'c';

		for (size_t i = 0; i < r->nexamples; i++) {
			if (r->examples[i].counter == counter) {
				free(r->examples[i].text);
				free(r->examples[i].file);
			} else {
				r->examples[k++] = r->examples[i];
			}
		}
		r->nexamples = k;
		k = 0;
	}
	for (size_t i = 0; i < r->norigins; i++) {
		struct rule_origin *o = &r->origins[i];

		if (strcmp(o->key, key) == 0) {
			free(o->key);
			free(o->value);
			free(o->file);
		} else {
			r->origins[k++] = *o;
		}
	}
	r->norigins = k;
}

/* Does the pattern start with inline options that turn on extended mode, "(?x)" or "(?ix:"? */
static int
extended_mode(const char *v)
{
	if (strncmp(v, "(?", 2) != 0)
		return 0;
	for (v += 2; isalpha((unsigned char)*v); v++)
		if (*v == 'x')
			return 1;
	return 0;
}

/*
 * Warns about what reads as an inline comment in a pattern: a '#' after
 * blank space that is followed by blank space or ends the value, or comes
 * after a run of blanks (aligned). Rule files have comment lines only, so
 * it is part of the regex and the pattern silently stops matching. A
 * hashtag ("use #AcmeHelp"), an escaped '#', one in a character class and
 * patterns in extended mode, where '#' does start a comment, are left alone.
 */
static void
warn_inline_comment(struct parse_state *ps, const struct ini_item *it)
{
	const char *v = it->value;
	int in_class = 0;

	if (extended_mode(v))
		return;
	for (size_t i = 0; v[i] != '\0'; i++) {
		if (v[i] == '\\' && v[i + 1] != '\0') {
			i++;
		} else if (v[i] == '[') {
			in_class = 1;
		} else if (v[i] == ']') {
			in_class = 0;
		} else if (v[i] == '#' && !in_class && i > 0 && isblank((unsigned char)v[i - 1]) &&
		    (isblank((unsigned char)v[i + 1]) || v[i + 1] == '\0' ||
		    (i > 1 && isblank((unsigned char)v[i - 2])))) {
			diag_add(&ps->rs->warnings, ps->file, it->line, it->value_col + (int)i,
			    "warning: \"%s\" is part of the %s, not a comment (comments go on a "
			    "line of their own; write \\# for a literal '#')", v + i, it->key);
			return;
		}
	}
}

/*
 * One "key = value" (or "key += value") line of a rule section. In an
 * override, the first line of a key replaces what the earlier file set for
 * it and further lines of that key add to it; "+=" always adds, so an
 * operator can extend a shipped list without copying it. Every line that
 * takes effect is kept as an origin, so check can say where a key came from.
 */
static void
rule_line(struct parse_state *ps, const struct ini_item *it)
{
	struct rule *r = ps->cur;
	struct ini_item item = *it;
	char buf[64];
	const char *key = it->key;
	size_t klen = strlen(key);
	int append = 0, errors = r->errors, ki;

	if (klen > 0 && key[klen - 1] == '+') {
		append = 1;
		klen--;
		while (klen > 0 && (key[klen - 1] == ' ' || key[klen - 1] == '\t'))
			klen--;
		if (klen >= sizeof buf)
			klen = sizeof buf - 1;
		memcpy(buf, key, klen);
		buf[klen] = '\0';
		item.key = key = buf;
	}
	ki = override_key_index(key);
	if (append && !is_list_key(key)) {
		diag_add(ps->d, ps->file, it->line, it->col,
		    "\"+=\" adds to a list key (pattern, phrase, link, require, unless, tags, "
		    "brand, platform, lang, example, counter); use \"%s =\"", key);
		r->errors++;
		return;
	}
	if (ps->overriding && ki >= 0 && !append && !(ps->replaced & (1u << ki))) {
		override_clear(r, key);
		ps->replaced |= 1u << ki;
	}
	if (ki >= 5 && ki <= 9)
		warn_inline_comment(ps, &item);
	rule_key(ps, &item);
	if (r->errors == errors && ki >= 0)
		origin_add(&r->origins, &r->norigins, key, it->value, ps->file, it->line,
		    it->value_col);
}

const struct rule_origin *
rule_key_origin(const struct rule *r, const char *key)
{
	for (size_t i = r->norigins; i-- > 0;)
		if (strcmp(r->origins[i].key, key) == 0)
			return &r->origins[i];
	return NULL;
}

/* ini_parse callback: dispatches headers and keys. */
static void
on_item(void *arg, const struct ini_item *it)
{
	struct parse_state *ps = arg;

	if (it->section != NULL) {
		begin_section(ps, it);
		return;
	}
	if (ps->in_list) {
		list_key(ps, it);
		return;
	}
	if (ps->cur != NULL) {
		rule_line(ps, it);
		return;
	}
	/* Keys under a broken header were already reported with the header. */
	if (!ps->in_section)
		diag_add(ps->d, ps->file, it->line, it->col,
		    "\"%s\" outside a rule section; start one with [deflection ID]", it->key);
}

/* Checks that the rules the file just added are complete. */
static void
check_rules(struct parse_state *ps, size_t first)
{
	for (size_t i = first; i < ps->rs->n; i++) {
		struct rule *r = &ps->rs->rules[i];

		if (r->nany == 0 && r->errors == 0) {
			/* Likely an override whose id or file order is wrong: say so. */
			diag_add(ps->d, r->file, r->line, 1,
			    "rule \"%s\" has no pattern, phrase or link%s", r->id,
			    first > 0 ? " (and no earlier file has a rule with this id to override)" :
			    "");
			r->errors++;
		}
	}
}

void
ruleset_add_buffer(struct ruleset *rs, const char *file, const char *buf, size_t len,
    struct diag *d)
{
	size_t first = rs->n;
	struct parse_state ps = {rs, file, d, NULL, 0, first, 0, 0, 0};

	ini_parse(buf, len, file, on_item, &ps, d);
	check_rules(&ps, first);
}

/*
 * How rare a requirement's literals are likely to be: the length of its
 * shortest one, since a longer literal occurs in fewer posts.
 */
static size_t
req_rarity(const struct mreq *q)
{
	size_t best = SIZE_MAX;

	for (size_t k = 0; k < q->n; k++) {
		size_t n = strlen(q->lits[k]);

		if (n < best)
			best = n;
	}
	return best;
}

/* Notes that literal id may wake "any" matcher slot of rule i through branch alt. */
static void
add_use(struct ruleset *rs, size_t id, size_t i, size_t slot, const struct malt *alt)
{
	size_t n = rs->lit_nuses[id];
	struct lit_use *last = n > 0 ? &rs->lit_uses[id][n - 1] : NULL;

	/* A branch needing nothing else already wakes the matcher on its own. */
	if (last != NULL && last->any == slot && (last->alt == NULL || alt == NULL)) {
		last->alt = NULL;
		return;
	}
	rs->lit_uses[id] = xreallocarray(rs->lit_uses[id], n + 1, sizeof **rs->lit_uses);
	rs->lit_uses[id][n] = (struct lit_use){(uint32_t)i, (uint32_t)slot, alt};
	rs->lit_nuses[id] = n + 1;
}

/* The distinct literal sets of requirements numbered so far. */
struct req_sets {
	struct req_set {
		size_t *ids; /* sorted */
		size_t n, slot;
	} *v;
	size_t n;
};

/* qsort comparator for literal ids. */
static int
cmp_ids(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Gives a requirement its slot. Requirements with the same literals (a word
 * list used in several patterns) share one, so the match step checks them
 * once per post.
 */
static void
number_req(struct ruleset *rs, struct mreq *r, struct req_sets *seen)
{
	size_t *ids = xcalloc(r->n, sizeof *ids);

	memcpy(ids, r->ids, r->n * sizeof *ids);
	qsort(ids, r->n, sizeof *ids, cmp_ids);
	for (size_t i = 0; i < seen->n; i++)
		if (seen->v[i].n == r->n && memcmp(seen->v[i].ids, ids, r->n * sizeof *ids) == 0) {
			r->slot = seen->v[i].slot;
			free(ids);
			return;
		}
	r->slot = rs->nreqs++;
	seen->v = xreallocarray(seen->v, seen->n + 1, sizeof *seen->v);
	seen->v[seen->n++] = (struct req_set){ids, r->n, r->slot};
}

/* Puts a branch's rarest requirement first, where the index looks for it. */
static void
order_alt(struct malt *alt)
{
	size_t pick = 0;

	for (size_t q = 1; q < alt->n; q++) {
		size_t rq = req_rarity(&alt->reqs[q]);
		size_t rp = req_rarity(&alt->reqs[pick]);

		if (rq > rp || (rq == rp && alt->reqs[q].n < alt->reqs[pick].n))
			pick = q;
	}
	struct mreq first = alt->reqs[pick];

	alt->reqs[pick] = alt->reqs[0];
	alt->reqs[0] = first;
}

/* Numbers a literal of rule r and adds it to the automaton of each role r applies to. */
static size_t
add_literal(struct ruleset *rs, const struct rule *r, const char *lit)
{
	size_t id;

	if (rs->pf == NULL)
		rs->pf = prefilter_new();
	id = prefilter_add(rs->pf, lit);
	for (int role = ROLE_BRAND; role <= ROLE_CUSTOMER; role++) {
		struct prefilter **pf = &rs->role_pf[role];

		if ((role == ROLE_BRAND && r->by == BY_CUSTOMER) ||
		    (role == ROLE_CUSTOMER && r->by == BY_BRAND))
			continue;
		if (*pf == NULL)
			*pf = prefilter_new();
		size_t local = prefilter_add(*pf, lit);

		if (local + 1 == prefilter_count(*pf)) {
			/* A new literal for this role: one more entry, none for a repeat. */
			rs->role_lit[role] = xreallocarray(rs->role_lit[role], local + 1,
			    sizeof *rs->role_lit[role]);
			rs->role_lit[role][local] = (uint32_t)id;
		}
	}
	return id;
}

/*
 * Builds the prefilters from the literals of every rule's "any" matchers, as
 * loaded and overridden ("require" and "unless" matchers always run, so
 * their literals would only slow the scan). A post is scanned only for the
 * literals of rules that apply to its author: brand posts, the most of them,
 * skip the words of the customer rules.
 */
static void
build_prefilter(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		for (size_t j = 0; j < rs->rules[i].nany; j++) {
			struct matcher *m = rs->rules[i].any[j];

			for (size_t a = 0; a < m->nalts; a++) {
				order_alt(&m->alts[a]);
				for (size_t q = 0; q < m->alts[a].n; q++) {
					struct mreq *r = &m->alts[a].reqs[q];

					for (size_t k = 0; k < r->n; k++)
						r->ids[k] = add_literal(rs, &rs->rules[i], r->lits[k]);
				}
			}
		}
	for (int role = ROLE_BRAND; role <= ROLE_CUSTOMER; role++)
		if (rs->role_pf[role] != NULL)
			prefilter_compile(rs->role_pf[role]);
}

/*
 * Inverts the prefilter: for each literal, the "any" matchers that may need
 * it, so a post's candidate matchers come from the literals it holds, not
 * from a walk over every rule. A branch needs all of its requirements, so it
 * is indexed under one, the rarest (a matcher whose branches all share a
 * common word, "dm", is not woken by every post holding that word), and the
 * others are checked when it shows.
 */
static void
index_literals(struct ruleset *rs)
{
	struct req_sets seen = {NULL, 0};

	build_prefilter(rs);
	rs->nlits = rs->pf ? prefilter_count(rs->pf) : 0;
	rs->lit_uses = xcalloc(rs->nlits, sizeof *rs->lit_uses);
	rs->lit_nuses = xcalloc(rs->nlits, sizeof *rs->lit_nuses);
	rs->always = xcalloc(rs->n, 1);
	rs->any_base = xcalloc(rs->n, sizeof *rs->any_base);
	for (size_t i = 0; i < rs->n; i++) {
		struct rule *r = &rs->rules[i];

		rs->any_base[i] = rs->nanys;
		for (size_t j = 0; j < r->nany; j++) {
			struct matcher *m = r->any[j];
			size_t slot = rs->nanys++;

			if (m->nalts == 0)
				rs->always[i] = 1;
			for (size_t a = 0; a < m->nalts; a++) {
				const struct malt *alt = &m->alts[a];

				/* The rarest requirement comes first (prune_alt). */
				for (size_t k = 0; k < alt->reqs[0].n; k++)
					add_use(rs, alt->reqs[0].ids[k], i, slot,
					    alt->n > 1 ? alt : NULL);
				for (size_t q = 0; q < alt->n && alt->n > 1; q++)
					number_req(rs, &alt->reqs[q], &seen);
			}
		}
	}
	for (size_t i = 0; i < seen.n; i++)
		free(seen.v[i].ids);
	free(seen.v);
}

/* Warns about a rule without an example: nothing then shows that it can fire. */
static void
warn_no_example(struct ruleset *rs, const struct rule *r)
{
	for (size_t k = 0; k < r->nexamples; k++)
		if (!r->examples[k].counter)
			return;
	if (r->errors == 0)
		diag_add(&rs->warnings, r->file, r->line, 1,
		    "warning: rule \"%s\" has no example (add \"example = ...\" with a post it "
		    "must match; loading checks it)", r->id);
}

void
ruleset_finish(struct ruleset *rs, struct diag *d)
{
	struct match_scratch *ms = match_scratch_new();
	struct buf norm = BUF_INIT;

	for (size_t i = 0; i < rs->n; i++) {
		struct rule *r = &rs->rules[i];

		warn_no_example(rs, r);
		/* Other errors do not stop the examples: every error shows in one go. */
		if (r->broken || r->nany == 0)
			continue;
		for (size_t k = 0; k < r->nexamples; k++) {
			struct rule_example *e = &r->examples[k];
			size_t s, en;
			int rc;

			normalize(e->text, strlen(e->text), &norm);
			rc = match_rule_text(r, ms, norm.s, norm.len, &s, &en);
			if (rc < 0)
				diag_add(d, e->file, e->line, e->col,
				    "%s hits the regex match limit in rule \"%s\"",
				    e->counter ? "counter" : "example", r->id);
			else if (!e->counter && rc == 0)
				diag_add(d, e->file, e->line, e->col,
				    "example does not match rule \"%s\"", r->id);
			else if (e->counter && rc == 1)
				diag_add(d, e->file, e->line, e->col,
				    "counter matches rule \"%s\" at \"%.*s\"", r->id, (int)(en - s),
				    norm.s + s);
		}
	}
	buf_free(&norm);
	match_scratch_free(ms);
	rule_lists_check_unused(rs->lists, d);
	index_literals(rs);
}

/* qsort comparator for file names. */
static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole rule file; returns NULL with an error added to d. */
static char *
read_file(const char *path, size_t *len, struct diag *d)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;

	if (f == NULL) {
		diag_add(d, path, 0, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_add(&b, chunk, n);
		if (b.len > RULES_FILE_MAX) {
			diag_add(d, path, 0, 0, "larger than %d bytes", RULES_FILE_MAX);
			fclose(f);
			buf_free(&b);
			return NULL;
		}
	}
	if (ferror(f)) {
		diag_add(d, path, 0, 0, "read error: %s", strerror(errno));
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	buf_reserve(&b, 0);
	*len = b.len;
	return b.s;
}

/*
 * Adds the "*.rules" files of dir, sorted, to *names as "dir/file". Returns
 * -1 with an error in d when the directory cannot be read.
 */
static int
list_rule_files(const char *dir, char ***names, size_t *nnames, struct diag *d)
{
	size_t first = *nnames;
	struct dirent *de;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL) {
		diag_add(d, dir, 0, 0, "cannot open rules directory: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] != '.' && l > 6 && strcmp(de->d_name + l - 6, ".rules") == 0)
			strv_add(names, nnames, de->d_name, l);
	}
	closedir(dp);
	if (*nnames - first > 1)
		qsort(*names + first, *nnames - first, sizeof **names, cmp_names);
	for (size_t i = first; i < *nnames; i++) {
		char *path = xasprintf("%s/%s", dir, (*names)[i]);

		free((*names)[i]);
		(*names)[i] = path;
	}
	return 0;
}

struct ruleset *
ruleset_load_dirs(const char *dirs, struct diag *d, struct diag *warn)
{
	struct ruleset *rs = ruleset_new();
	size_t nerr = d->n, nwarn = warn ? warn->n : 0, nnames = 0, ndirs = 0;
	char **names = NULL, **dirv = NULL;
	int failed = 0;

	if (ini_split_list(dirs, &dirv, &ndirs) != 0 || ndirs == 0) {
		diag_add(d, dirs, 0, 0, "empty item in the list of rules directories");
		failed = 1;
	}
	/* Later directories override earlier ones: the operator's after the shipped. */
	for (size_t i = 0; i < ndirs; i++)
		if (list_rule_files(dirv[i], &names, &nnames, d) != 0)
			failed = 1;
	if (nnames == 0 && !failed)
		diag_add(d, dirs, 0, 0, ndirs > 1 ? "no *.rules files in any of the rules "
		    "directories" : "no *.rules files in the rules directory");
	for (size_t i = 0; i < nnames; i++) {
		size_t len;
		char *text = read_file(names[i], &len, d);

		if (text != NULL)
			ruleset_add_buffer(rs, names[i], text, len, d);
		free(text);
	}
	ini_strv_free(names, nnames);
	ini_strv_free(dirv, ndirs);
	ruleset_finish(rs, d);
	diag_sort(d, nerr);
	if (warn != NULL) {
		for (size_t i = 0; i < rs->warnings.n; i++)
			diag_add(warn, NULL, 0, 0, "%s", rs->warnings.msgs[i]);
		diag_sort(warn, nwarn);
	}
	if (d->n != nerr) {
		ruleset_free(rs);
		return NULL;
	}
	return rs;
}

struct ruleset *
ruleset_load_dir(const char *dir, struct diag *d)
{
	return ruleset_load_dirs(dir, d, NULL);
}
