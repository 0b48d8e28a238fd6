/*
 * The literal prefilter: a conservative reading of PCRE2 syntax that only
 * ever widens (a pattern may be run when it cannot match, never skipped when
 * it can), and an Aho-Corasick automaton over every literal.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "prefilter.h"
#include "xmalloc.h"

/* Bounds that keep literal sets small; past them a node means "anything". */
#define MAX_SET 64
#define MAX_PRODUCT 16
#define MAX_LIT 48

/*
 * What a regex node is known to match. exact: it matches exactly one of s[]
 * ("" allowed). Otherwise s[] are literals one of which every match holds;
 * n == 0 means nothing is known.
 */
struct info {
	int exact;
	size_t n;
	char *s[MAX_SET];
};

struct parser {
	const char *p;
	int failed; /* a construct we do not model: give up on the pattern */
};

/* Requirements that must all hold: collected from the top-level sequence. */
#define MAX_AND 4

struct andlist {
	struct info set[MAX_AND];
	size_t n;
	int off; /* the top level is an alternation: only the single best set counts */
};

static void
info_clear(struct info *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->s[i]);
	x->n = 0;
	x->exact = 0;
}

static void
info_any(struct info *x)
{
	info_clear(x);
}

static void
info_exact1(struct info *x, const char *s, size_t len)
{
	info_clear(x);
	x->exact = 1;
	x->n = 1;
	x->s[0] = xstrndup(s, len);
}

/* Adds s to a set unless present; returns -1 when the set is full. */
static int
set_add(struct info *x, const char *s)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->s[i], s) == 0)
			return 0;
	if (x->n == MAX_SET)
		return -1;
	x->s[x->n++] = xstrdup(s);
	return 0;
}

/* Shortest string of a set; 0 for an empty set. */
static size_t
min_len(const struct info *x)
{
	size_t m = (size_t)-1;

	for (size_t i = 0; i < x->n; i++)
		if (strlen(x->s[i]) < m)
			m = strlen(x->s[i]);
	return x->n ? m : 0;
}

/*
 * Turns a node into a requirement: exact strings are literals a match holds;
 * a set with "" (or nothing) requires nothing.
 */
static void
to_required(struct info *x)
{
	if (min_len(x) == 0)
		info_any(x);
	x->exact = 0;
}

/* The better of two requirements: the one whose shortest literal is longer. */
static void
keep_better(struct info *a, struct info *b)
{
	to_required(a);
	to_required(b);
	if (b->n > 0 && (a->n == 0 || min_len(b) > min_len(a) ||
	    (min_len(b) == min_len(a) && b->n < a->n))) {
		struct info t = *a;

		*a = *b;
		*b = t;
	}
	info_clear(b);
}

/* a = a followed by b; b is consumed. */
static void
concat(struct info *a, struct info *b)
{
	if (a->exact && b->exact && a->n * b->n <= MAX_PRODUCT) {
		struct info r = {1, 0, {NULL}};

		for (size_t i = 0; i < a->n; i++) {
			for (size_t j = 0; j < b->n; j++) {
				size_t la = strlen(a->s[i]), lb = strlen(b->s[j]);

				if (la + lb > MAX_LIT)
					goto split;
				char *s = xmalloc(la + lb + 1);
				memcpy(s, a->s[i], la);
				memcpy(s + la, b->s[j], lb + 1);
				set_add(&r, s);
				free(s);
			}
		}
		info_clear(a);
		info_clear(b);
		*a = r;
		return;
	split:
		info_clear(&r);
	}
	keep_better(a, b);
}

/* a = a | b; b is consumed. */
static void
alternate(struct info *a, struct info *b)
{
	int exact = a->exact && b->exact;

	if (!exact) {
		to_required(a);
		to_required(b);
		if (a->n == 0 || b->n == 0) {
			info_any(a);
			info_clear(b);
			return;
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		if (set_add(a, b->s[i]) != 0) {
			info_any(a);
			break;
		}
	}
	if (a->n > 0)
		a->exact = exact;
	info_clear(b);
}

static void parse_alt(struct parser *ps, struct info *out, struct andlist *al);

/* Skips a character class "[...]"; returns its members when it is a few ASCII literals. */
static void
parse_class(struct parser *ps, struct info *out)
{
	const char *p = ps->p + 1;
	char members[8];
	size_t n = 0;
	int simple = 1;

	if (*p == '^') {
		simple = 0;
		p++;
	}
	if (*p == ']') {
		if (n < sizeof members)
			members[n++] = ']';
		p++;
	}
	while (*p != '\0' && *p != ']') {
		if (*p == '[' && p[1] == ':') {
			const char *e = strstr(p, ":]");

			if (e == NULL) {
				ps->failed = 1;
				return;
			}
			p = e + 2;
			simple = 0;
			continue;
		}
		if (*p == '\\') {
			if (p[1] == '\0') {
				ps->failed = 1;
				return;
			}
			if (ispunct((unsigned char)p[1]) && n < sizeof members)
				members[n++] = p[1];
			else
				simple = 0;
			p += 2;
			continue;
		}
		if (p[1] == '-' && p[2] != ']' && p[2] != '\0')
			simple = 0;
		if ((unsigned char)*p >= 0x80)
			simple = 0;
		if (n < sizeof members)
			members[n++] = (char)tolower((unsigned char)*p);
		else
			simple = 0;
		p++;
	}
	if (*p != ']') {
		ps->failed = 1;
		return;
	}
	ps->p = p + 1;
	info_any(out);
	if (!simple || n == 0 || n > 4)
		return;
	out->exact = 1;
	for (size_t i = 0; i < n; i++) {
		char s[2] = {members[i], '\0'};

		set_add(out, s);
	}
}

/* Parses "\X" at ps->p into out. */
static void
parse_escape(struct parser *ps, struct info *out)
{
	char c = ps->p[1];

	if (c == '\0') {
		ps->failed = 1;
		return;
	}
	ps->p += 2;
	switch (c) {
	case 'b': case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
		info_exact1(out, "", 0); /* zero-width */
		return;
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S': case 'h': case 'H':
	case 'v': case 'V': case 'R': case 'N': case 'X': case 'C':
		info_any(out);
		return;
	case 'p': case 'P':
		if (*ps->p == '{') {
			const char *e = strchr(ps->p, '}');

			if (e == NULL) {
				ps->failed = 1;
				return;
			}
			ps->p = e + 1;
		} else if (*ps->p != '\0') {
			ps->p++;
		}
		info_any(out);
		return;
	case 'x':
		if (*ps->p == '{') {
			const char *e = strchr(ps->p, '}');

			if (e == NULL) {
				ps->failed = 1;
				return;
			}
			ps->p = e + 1;
		} else {
			while (isxdigit((unsigned char)*ps->p) && c++ < 'x' + 2)
				ps->p++;
		}
		info_any(out);
		return;
	}
	if (isalnum((unsigned char)c) || (unsigned char)c >= 0x80) {
		/* Backreferences, \Q..\E, \t and other letters: not modelled. */
		ps->failed = 1;
		return;
	}
	info_exact1(out, &c, 1);
}

/* Parses one atom (without its quantifier) into out. */
static void
parse_atom(struct parser *ps, struct info *out)
{
	unsigned char c = (unsigned char)*ps->p;

	switch (c) {
	case '(':
		if (ps->p[1] == '*') {
			ps->failed = 1;
			return;
		}
		if (ps->p[1] == '?') {
			const char *q = ps->p + 2;

			if (*q == ':') {
				ps->p = q + 1;
			} else if (*q == '=' || *q == '!' || (*q == '<' && (q[1] == '=' || q[1] == '!'))) {
				/* Lookaround: zero-width here, whatever it holds. */
				struct info ignored = {0, 0, {NULL}};

				ps->p = q + (*q == '<' ? 2 : 1);
				parse_alt(ps, &ignored, NULL);
				info_clear(&ignored);
				if (*ps->p != ')') {
					ps->failed = 1;
					return;
				}
				ps->p++;
				info_exact1(out, "", 0);
				return;
			} else {
				/* Option settings like (?i) or (?-i:...) keep the text as is. */
				const char *o = q;

				while (*o == '-' || *o == '^' || (isalpha((unsigned char)*o) && *o != 'x'))
					o++;
				if (o == q || (*o != ')' && *o != ':')) {
					ps->failed = 1;
					return;
				}
				if (*o == ')') {
					ps->p = o + 1;
					info_exact1(out, "", 0);
					return;
				}
				ps->p = o + 1;
			}
		} else {
			ps->p++;
		}
		parse_alt(ps, out, NULL);
		if (*ps->p != ')') {
			ps->failed = 1;
			return;
		}
		ps->p++;
		return;
	case '[':
		parse_class(ps, out);
		return;
	case '\\':
		parse_escape(ps, out);
		return;
	case '^':
	case '$':
		ps->p++;
		info_exact1(out, "", 0);
		return;
	case '.':
		ps->p++;
		info_any(out);
		return;
	}
	if (c >= 0x80) {
		/* A non-ASCII character: caseless matching of it is PCRE2's business. */
		ps->p++;
		while (((unsigned char)*ps->p & 0xc0) == 0x80)
			ps->p++;
		info_any(out);
		return;
	}
	char lc = (char)tolower(c);
	ps->p++;
	info_exact1(out, &lc, 1);
}

/* Applies a quantifier after an atom, if there is one. */
static void
parse_quantifier(struct parser *ps, struct info *x)
{
	const char *p = ps->p;
	long min, max;

	if (*p == '*' || *p == '?' || *p == '+') {
		min = *p == '+';
		max = *p == '?' ? 1 : -1;
		p++;
	} else if (*p == '{' && isdigit((unsigned char)p[1])) {
		char *e;

		min = max = strtol(p + 1, &e, 10);
		if (*e == ',') {
			e++;
			max = isdigit((unsigned char)*e) ? strtol(e, &e, 10) : -1;
		}
		if (*e != '}')
			return; /* a literal '{' */
		p = e + 1;
	} else {
		return;
	}
	if (*p == '?' || *p == '+')
		p++; /* lazy or possessive: same text */
	ps->p = p;
	if (min == 1 && max == 1)
		return;
	if (min >= 1) {
		to_required(x); /* repeated: still holds the atom's literals */
		return;
	}
	if (max == 1 && x->exact) {
		struct info empty = {1, 0, {NULL}};

		set_add(&empty, "");
		alternate(x, &empty);
		return;
	}
	info_any(x);
}

/*
 * Parses a concatenation up to '|' or ')' or the end. Exact atoms grow a
 * run of literal text; an inexact atom ends the run, and the best
 * requirement seen so far is kept.
 */
/* Adds a copy of requirement x to the AND list, keeping the strongest MAX_AND. */
static void
and_add(struct andlist *al, const struct info *x)
{
	struct info c = {0, 0, {NULL}};
	size_t weakest = 0;

	if (al == NULL || x->n == 0)
		return;
	for (size_t i = 0; i < x->n; i++)
		set_add(&c, x->s[i]);
	to_required(&c);
	if (c.n == 0 || min_len(&c) < PREFILTER_MIN_LITERAL) {
		info_clear(&c);
		return;
	}
	if (al->n < MAX_AND) {
		al->set[al->n++] = c;
		return;
	}
	for (size_t i = 1; i < al->n; i++)
		if (min_len(&al->set[i]) < min_len(&al->set[weakest]))
			weakest = i;
	if (min_len(&c) > min_len(&al->set[weakest])) {
		info_clear(&al->set[weakest]);
		al->set[weakest] = c;
	} else {
		info_clear(&c);
	}
}

/*
 * Parses a concatenation up to '|' or ')' or the end. Exact atoms grow a
 * run of literal text; an inexact atom ends the run. Every requirement met
 * on the way goes to al (when given); out gets the best single one.
 */
static void
parse_seq(struct parser *ps, struct info *out, struct andlist *al)
{
	struct info run = {0, 0, {NULL}}, best = {0, 0, {NULL}};
	int inexact = 0;

	info_exact1(&run, "", 0);
	while (!ps->failed && *ps->p != '\0' && *ps->p != '|' && *ps->p != ')') {
		struct info atom = {0, 0, {NULL}};

		parse_atom(ps, &atom);
		if (ps->failed) {
			info_clear(&atom);
			break;
		}
		parse_quantifier(ps, &atom);
		if (atom.exact) {
			struct info saved = {0, 0, {NULL}};

			/* A run too wide to extend is kept as a requirement; the atom starts anew. */
			for (size_t k = 0; k < run.n; k++)
				set_add(&saved, run.s[k]);
			saved.exact = 1;
			concat(&run, &atom);
			if (!run.exact) {
				info_clear(&run);
				and_add(al, &saved);
				keep_better(&best, &saved);
				inexact = 1;
				info_exact1(&run, "", 0);
				/* The atom was consumed by concat; it stays unknown, which is safe. */
			} else {
				info_clear(&saved);
			}
			continue;
		}
		inexact = 1;
		and_add(al, &run);
		and_add(al, &atom);
		keep_better(&best, &run);
		keep_better(&best, &atom);
		info_exact1(&run, "", 0);
	}
	if (!inexact) {
		*out = run;
		info_clear(&best);
		return;
	}
	and_add(al, &run);
	keep_better(&best, &run);
	*out = best;
}

/* Parses an alternation; al collects the AND list while there is one branch. */
static void
parse_alt(struct parser *ps, struct info *out, struct andlist *al)
{
	parse_seq(ps, out, al);
	while (!ps->failed && *ps->p == '|') {
		struct info b = {0, 0, {NULL}};

		if (al != NULL)
			al->off = 1;
		ps->p++;
		parse_seq(ps, &b, NULL);
		alternate(out, &b);
	}
}

size_t
prefilter_requirements(const char *re, struct prefilter_req **reqs)
{
	struct parser ps = {re, 0};
	struct info x = {0, 0, {NULL}};
	struct andlist al;
	size_t n = 0;

	memset(&al, 0, sizeof al);
	*reqs = NULL;
	/* Extended mode reads whitespace differently; not modelled. */
	if (strstr(re, "(?x") != NULL || strstr(re, "(?^x") != NULL)
		return 0;
	parse_alt(&ps, &x, &al);
	if (ps.failed || *ps.p != '\0') {
		info_clear(&x);
		for (size_t i = 0; i < al.n; i++)
			info_clear(&al.set[i]);
		return 0;
	}
	to_required(&x);
	if (al.off || al.n == 0) {
		for (size_t i = 0; i < al.n; i++)
			info_clear(&al.set[i]);
		al.n = 0;
		if (x.n > 0 && min_len(&x) >= PREFILTER_MIN_LITERAL)
			al.set[al.n++] = x;
		else
			info_clear(&x);
	} else {
		info_clear(&x);
	}
	if (al.n == 0)
		return 0;
	*reqs = xcalloc(al.n, sizeof **reqs);
	for (size_t i = 0; i < al.n; i++) {
		(*reqs)[n].lits = xcalloc(al.set[i].n, sizeof(char *));
		for (size_t k = 0; k < al.set[i].n; k++)
			(*reqs)[n].lits[k] = al.set[i].s[k];
		(*reqs)[n++].n = al.set[i].n;
	}
	return n;
}

void
prefilter_requirements_free(struct prefilter_req *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < reqs[i].n; k++)
			free(reqs[i].lits[k]);
		free(reqs[i].lits);
	}
	free(reqs);
}

/*
 * The automaton. Bytes are mapped to classes (ASCII case folded; bytes in no
 * literal share class 0) so the transition table stays small.
 */
struct prefilter {
	char **lits;
	size_t nlits;
	uint8_t cls[256];
	size_t nclasses;
	/* Trie under construction, then the full DFA: next[state * nclasses + class]. */
	uint32_t *next;
	size_t nstates, capstates;
	uint32_t *fail;
	/* Per state, the literal ids ending there (own and through failure links). */
	uint32_t *out_start, *out_len;
	uint32_t *outs;
	size_t nouts;
	int compiled;
};

struct prefilter *
prefilter_new(void)
{
	return xcalloc(1, sizeof(struct prefilter));
}

void
prefilter_free(struct prefilter *pf)
{
	if (pf == NULL)
		return;
	for (size_t i = 0; i < pf->nlits; i++)
		free(pf->lits[i]);
	free(pf->lits);
	free(pf->next);
	free(pf->fail);
	free(pf->out_start);
	free(pf->out_len);
	free(pf->outs);
	free(pf);
}

size_t
prefilter_add(struct prefilter *pf, const char *lit)
{
	for (size_t i = 0; i < pf->nlits; i++)
		if (strcmp(pf->lits[i], lit) == 0)
			return i;
	pf->lits = xreallocarray(pf->lits, pf->nlits + 1, sizeof *pf->lits);
	pf->lits[pf->nlits] = xstrdup(lit);
	return pf->nlits++;
}

size_t
prefilter_count(const struct prefilter *pf)
{
	return pf->nlits;
}

static uint32_t
new_state(struct prefilter *pf)
{
	if (pf->nstates == pf->capstates) {
		pf->capstates = pf->capstates ? pf->capstates * 2 : 64;
		pf->next = xreallocarray(pf->next, pf->capstates * pf->nclasses, sizeof *pf->next);
	}
	memset(pf->next + pf->nstates * pf->nclasses, 0, pf->nclasses * sizeof *pf->next);
	return (uint32_t)pf->nstates++;
}

void
prefilter_compile(struct prefilter *pf)
{
	uint32_t **own;
	size_t *nown;

	/* Byte classes: one per byte used in a literal, case folded. */
	memset(pf->cls, 0, sizeof pf->cls);
	pf->nclasses = 1;
	for (size_t i = 0; i < pf->nlits; i++) {
		for (const unsigned char *s = (const unsigned char *)pf->lits[i]; *s; s++) {
			if (pf->cls[*s] == 0) {
				pf->cls[*s] = (uint8_t)pf->nclasses++;
				if (isalpha(*s))
					pf->cls[toupper(*s)] = pf->cls[*s];
			}
		}
	}
	new_state(pf);
	own = xcalloc(1, sizeof *own);
	nown = xcalloc(1, sizeof *nown);
	for (size_t i = 0; i < pf->nlits; i++) {
		uint32_t st = 0;

		for (const unsigned char *s = (const unsigned char *)pf->lits[i]; *s; s++) {
			uint32_t *t = &pf->next[st * pf->nclasses + pf->cls[*s]];

			if (*t == 0) {
				uint32_t ns = new_state(pf);

				own = xreallocarray(own, pf->nstates, sizeof *own);
				nown = xreallocarray(nown, pf->nstates, sizeof *nown);
				own[ns] = NULL;
				nown[ns] = 0;
				t = &pf->next[st * pf->nclasses + pf->cls[*s]];
				*t = ns;
			}
			st = *t;
		}
		own[st] = xreallocarray(own[st], nown[st] + 1, sizeof **own);
		own[st][nown[st]++] = (uint32_t)i;
	}

	/* Breadth first: failure links, then missing transitions through them. */
	uint32_t *queue = xcalloc(pf->nstates, sizeof *queue);
	size_t qh = 0, qt = 0;

	pf->fail = xcalloc(pf->nstates, sizeof *pf->fail);
	pf->out_start = xcalloc(pf->nstates, sizeof *pf->out_start);
	pf->out_len = xcalloc(pf->nstates, sizeof *pf->out_len);
	for (size_t c = 0; c < pf->nclasses; c++)
		if (pf->next[c] != 0)
			queue[qt++] = pf->next[c];
	while (qh < qt) {
		uint32_t st = queue[qh++];

		for (size_t c = 0; c < pf->nclasses; c++) {
			uint32_t *t = &pf->next[st * pf->nclasses + c];
			uint32_t f = pf->next[pf->fail[st] * pf->nclasses + c];

			if (*t != 0) {
				pf->fail[*t] = f;
				queue[qt++] = *t;
			} else {
				*t = f;
			}
		}
	}
	/* Outputs in BFS order, so a state's failure target is done before it. */
	for (size_t k = 0; k <= qt; k++) {
		uint32_t st = k == 0 ? 0 : queue[k - 1];
		uint32_t f = pf->fail[st];
		size_t n = nown[st] + (st ? pf->out_len[f] : 0);

		pf->outs = xreallocarray(pf->outs, pf->nouts + n + 1, sizeof *pf->outs);
		pf->out_start[st] = (uint32_t)pf->nouts;
		for (size_t i = 0; i < nown[st]; i++)
			pf->outs[pf->nouts++] = own[st][i];
		if (st != 0)
			for (size_t i = 0; i < pf->out_len[f]; i++)
				pf->outs[pf->nouts++] = pf->outs[pf->out_start[f] + i];
		pf->out_len[st] = (uint32_t)n;
	}
	for (size_t s = 0; s < pf->nstates; s++)
		free(own[s]);
	free(own);
	free(nown);
	free(queue);
	pf->compiled = 1;
}

void
prefilter_scan(const struct prefilter *pf, const char *text, size_t len, uint32_t *seen,
    uint32_t stamp)
{
	const unsigned char *s = (const unsigned char *)text;
	const uint32_t *next = pf->next;
	const uint8_t *cls = pf->cls;
	size_t nc = pf->nclasses;
	uint32_t st = 0;

	if (pf->nlits == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		st = next[st * nc + cls[s[i]]];
		if (pf->out_len[st] == 0)
			continue;
		for (uint32_t k = 0; k < pf->out_len[st]; k++)
			seen[pf->outs[pf->out_start[st] + k]] = stamp;
	}
}
