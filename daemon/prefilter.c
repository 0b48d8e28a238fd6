/*
 * The literal prefilter: a conservative reading of PCRE2 syntax that only
 * ever widens (a pattern may be run when it cannot match, never skipped when
 * it can), and an Aho-Corasick automaton over every literal. It reads the
 * patterns as they apply to normalized text, where whitespace is ' '.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "prefilter.h"
#include "xmalloc.h"

/*
 * Stands for \b in literals. The scan feeds it wherever a word boundary may
 * be: between an ASCII word byte and an ASCII non-word byte, next to any
 * non-ASCII byte (PCRE2 decides those by Unicode properties we do not look
 * up), and at either end next to such a byte. Extra marks only ever make
 * more literals match, never fewer, because no literal holds a non-ASCII
 * byte. Normalized text has no control characters, so it is never text.
 */
#define BOUNDARY "\x01"

/* In a compiled transition: literals end at the target state. */
#define HAS_OUT 0x80000000u
#define HAS_OUT16 0x8000u
#define NARROW_STATES 0x7fffu

/* Bounds that keep literal sets small; past them a node means "anything". */
#define MAX_SET 64
#define MAX_PRODUCT 64
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
	int edges; /* not exact, but every match starts and ends with s[0] ("\\d{3,4}") */
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
	x->edges = 0;
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

/* Is s in the set? */
static int
has(const struct info *x, const char *s)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->s[i], s) == 0)
			return 1;
	return 0;
}

/* Adds s to a set unless present; returns -1 when the set is full. */
static int
set_add(struct info *x, const char *s)
{
	if (has(x, s))
		return 0;
	if (x->n == MAX_SET)
		return -1;
	x->s[x->n++] = xstrdup(s);
	return 0;
}

/* Length of the shortest of n strings; 0 when there are none. */
static size_t
shortest(char *const *s, size_t n)
{
	size_t m = (size_t)-1;

	for (size_t i = 0; i < n; i++)
		if (strlen(s[i]) < m)
			m = strlen(s[i]);
	return n ? m : 0;
}

/* Shortest string of a set; 0 for an empty set. */
static size_t
min_len(const struct info *x)
{
	return shortest(x->s, x->n);
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
		struct info r = {1, 0, {NULL}, 0};

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
			else if (p[1] == 's' && n < sizeof members)
				members[n++] = ' '; /* whitespace is ' ' once normalized */
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
	/* [0-9] is \d: digits are one symbol to the scan. */
	if (p - ps->p == 4 && strncmp(ps->p, "[0-9", 4) == 0) {
		ps->p = p + 1;
		info_exact1(out, "0", 1);
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
	case 'b':
		/* A word boundary: the scan feeds the same mark at boundaries. */
		info_exact1(out, BOUNDARY, 1);
		return;
	case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
		info_exact1(out, "", 0); /* zero-width */
		return;
	case 'd':
		info_exact1(out, "0", 1); /* any digit: digits are one symbol to the scan */
		return;
	case 's':
		/* The normalizer turns every whitespace run into one ' '. */
		info_exact1(out, " ", 1);
		return;
	case 'D': case 'w': case 'W': case 'S': case 'h': case 'H':
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
				struct info ignored = {0, 0, {NULL}, 0};

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
	if (min >= 1 && x->exact && x->n == 1 && strlen(x->s[0]) * (size_t)min <= MAX_LIT) {
		/* "\d{3,4}" holds "000": the atom min times, exactly so when min == max. */
		struct buf rep = BUF_INIT;

		for (long i = 0; i < min; i++)
			buf_adds(&rep, x->s[0]);
		info_exact1(x, rep.s ? rep.s : "", rep.len);
		buf_free(&rep);
		if (max != min) {
			to_required(x);
			x->edges = x->n == 1;
		}
		return;
	}
	if (min >= 1) {
		to_required(x); /* repeated: still holds the atom's literals */
		return;
	}
	if (max == 1 && x->exact) {
		struct info empty = {1, 0, {NULL}, 0};

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
/* Does the AND list hold a requirement with x's literals ("(dm)+" holds "dm" twice)? */
static int
and_has(const struct andlist *al, const struct info *x)
{
	for (size_t i = 0; i < al->n; i++) {
		size_t k = 0;

		if (al->set[i].n != x->n)
			continue;
		while (k < x->n && has(&al->set[i], x->s[k]))
			k++;
		if (k == x->n)
			return 1;
	}
	return 0;
}

/* Adds a copy of requirement x to the AND list, keeping the strongest MAX_AND. */
static void
and_add(struct andlist *al, const struct info *x)
{
	struct info c = {0, 0, {NULL}, 0};
	size_t weakest = 0;

	if (al == NULL || x->n == 0)
		return;
	for (size_t i = 0; i < x->n; i++)
		set_add(&c, x->s[i]);
	to_required(&c);
	if (c.n == 0 || min_len(&c) < PREFILTER_MIN_LITERAL || and_has(al, &c)) {
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
	struct info run = {0, 0, {NULL}, 0}, best = {0, 0, {NULL}, 0};
	int inexact = 0;

	info_exact1(&run, "", 0);
	while (!ps->failed && *ps->p != '\0' && *ps->p != '|' && *ps->p != ')') {
		struct info atom = {0, 0, {NULL}, 0};

		parse_atom(ps, &atom);
		if (ps->failed) {
			info_clear(&atom);
			break;
		}
		parse_quantifier(ps, &atom);
		if (atom.exact) {
			struct info saved = {0, 0, {NULL}, 0};

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
		if (atom.edges) {
			/* The run goes on into the atom's head, and on from its tail. */
			struct info head = {0, 0, {NULL}, 0}, saved = {0, 0, {NULL}, 0};

			for (size_t k = 0; k < run.n; k++)
				set_add(&saved, run.s[k]);
			saved.exact = 1;
			info_exact1(&head, atom.s[0], strlen(atom.s[0]));
			concat(&run, &head);
			if (run.exact) {
				and_add(al, &run);
				keep_better(&best, &run);
				info_clear(&saved);
			} else {
				info_clear(&run);
				and_add(al, &saved);
				keep_better(&best, &saved);
			}
			info_exact1(&run, atom.s[0], strlen(atom.s[0]));
			info_clear(&atom);
			continue;
		}
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
		struct info b = {0, 0, {NULL}, 0};

		if (al != NULL)
			al->off = 1;
		ps->p++;
		parse_seq(ps, &b, NULL);
		alternate(out, &b);
	}
}

/* Moves an AND list into a new requirement array. */
static struct prefilter_req *
take_reqs(struct andlist *al)
{
	struct prefilter_req *r = xcalloc(al->n, sizeof *r);

	for (size_t i = 0; i < al->n; i++) {
		r[i].lits = xcalloc(al->set[i].n, sizeof(char *));
		for (size_t k = 0; k < al->set[i].n; k++)
			r[i].lits[k] = al->set[i].s[k];
		r[i].n = al->set[i].n;
	}
	return r;
}

/* The shortest literal of a requirement. */
static size_t
req_min(const struct prefilter_req *r)
{
	return shortest(r->lits, r->n);
}

size_t
prefilter_alternatives(const char *re, struct prefilter_alt **alts)
{
	struct parser ps = {re, 0};
	struct prefilter_alt *a = NULL;
	size_t n = 0;

	*alts = NULL;
	/* Extended mode reads whitespace differently; not modelled. */
	if (strstr(re, "(?x") != NULL || strstr(re, "(?^x") != NULL)
		return 0;
	for (;;) {
		struct andlist al;
		struct info x = {0, 0, {NULL}, 0};

		memset(&al, 0, sizeof al);
		parse_seq(&ps, &x, &al);
		/* A branch of plain text has no AND list yet: its literals are the requirement. */
		if (!ps.failed && al.n == 0)
			and_add(&al, &x);
		info_clear(&x);
		if (ps.failed || al.n == 0) {
			/* A branch that needs nothing lets the whole pattern match anything. */
			for (size_t i = 0; i < al.n; i++)
				info_clear(&al.set[i]);
			prefilter_alternatives_free(a, n);
			return 0;
		}
		a = xreallocarray(a, n + 1, sizeof *a);
		a[n].n = al.n;
		a[n++].reqs = take_reqs(&al);
		if (*ps.p != '|')
			break;
		ps.p++;
	}
	if (*ps.p != '\0') {
		prefilter_alternatives_free(a, n);
		return 0;
	}
	if (n > PREFILTER_MAX_ALTS) {
		/* Too many branches: one requirement, the union of each branch's strongest. */
		struct prefilter_req one = {NULL, 0};

		for (size_t i = 0; i < n; i++) {
			struct prefilter_req *best = &a[i].reqs[0];

			for (size_t r = 1; r < a[i].n; r++)
				if (req_min(&a[i].reqs[r]) > req_min(best))
					best = &a[i].reqs[r];
			one.lits = xreallocarray(one.lits, one.n + best->n, sizeof(char *));
			for (size_t k = 0; k < best->n; k++)
				one.lits[one.n++] = xstrdup(best->lits[k]);
		}
		prefilter_alternatives_free(a, n);
		a = xcalloc(1, sizeof *a);
		a->reqs = xcalloc(1, sizeof *a->reqs);
		a->reqs[0] = one;
		a->n = 1;
		n = 1;
	}
	*alts = a;
	return n;
}

void
prefilter_alternatives_free(struct prefilter_alt *alts, size_t n)
{
	for (size_t a = 0; a < n; a++) {
		for (size_t i = 0; i < alts[a].n; i++) {
			for (size_t k = 0; k < alts[a].reqs[i].n; k++)
				free(alts[a].reqs[i].lits[k]);
			free(alts[a].reqs[i].lits);
		}
		free(alts[a].reqs);
	}
	free(alts);
}

/*
 * The automaton. Bytes are mapped to classes (ASCII case folded; bytes in no
 * literal share class 0) so the transition table stays small.
 */
struct prefilter {
	char **lits;
	size_t nlits;
	uint8_t cls[256];
	uint8_t kind[256]; /* per byte, kind_of() */
	size_t nclasses;
	/*
	 * Trie under construction, then the full DFA: next[state * nclasses +
	 * class]. Once compiled an entry holds the target's row offset
	 * (state * nclasses), with HAS_OUT set when literals end there.
	 */
	uint32_t *next;
	uint16_t *next16; /* the compiled DFA when its states fit in 15 bits; next is then NULL */
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
	free(pf->next16);
	free(pf->fail);
	free(pf->out_start);
	free(pf->out_len);
	free(pf->outs);
	free(pf);
}

static int kind_of(unsigned char c);

/*
 * Puts the boundary mark into a literal wherever the scan would feed one
 * between two of its bytes, so that literals and scanned text agree.
 */
static char *
canonical(const char *lit)
{
	char *out = xmalloc(2 * strlen(lit) + 1), *o = out;
	int prev = -1;

	for (const unsigned char *p = (const unsigned char *)lit; *p; p++) {
		if (*p == (unsigned char)BOUNDARY[0]) {
			if (o == out || o[-1] != BOUNDARY[0])
				*o++ = BOUNDARY[0];
			continue;
		}
		int k = kind_of(*p);

		if (prev >= 0 && (k != prev || k == 2) && o[-1] != BOUNDARY[0])
			*o++ = BOUNDARY[0];
		/* All digits are one symbol: "1-800" is any digit, '-', three digits. */
		*o++ = *p >= '0' && *p <= '9' ? '0' : (char)*p;
		prev = k;
	}
	*o = '\0';
	return out;
}

size_t
prefilter_add(struct prefilter *pf, const char *raw)
{
	char *lit = canonical(raw);

	for (size_t i = 0; i < pf->nlits; i++) {
		if (strcmp(pf->lits[i], lit) == 0) {
			free(lit);
			return i;
		}
	}
	pf->lits = xreallocarray(pf->lits, pf->nlits + 1, sizeof *pf->lits);
	pf->lits[pf->nlits] = lit;
	return pf->nlits++;
}

size_t
prefilter_count(const struct prefilter *pf)
{
	return pf->nlits;
}

const char *
prefilter_literal(const struct prefilter *pf, size_t id)
{
	return pf->lits[id];
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
	if (pf->cls['0'] != 0)
		for (int dgt = '1'; dgt <= '9'; dgt++)
			pf->cls[dgt] = pf->cls['0'];
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
	/*
	 * An output flag in each transition spares the scan a load per byte.
	 * The table is what the scan waits on, so it is halved to 16 bits when
	 * the states fit, and otherwise holds row offsets, sparing a multiply.
	 */
	if (pf->nstates <= NARROW_STATES) {
		pf->next16 = xcalloc(pf->nstates * pf->nclasses, sizeof *pf->next16);
		for (size_t i = 0; i < pf->nstates * pf->nclasses; i++) {
			uint32_t t = pf->next[i];

			pf->next16[i] = (uint16_t)(t | (pf->out_len[t] ? HAS_OUT16 : 0));
		}
		free(pf->next);
		pf->next = NULL;
	} else {
		if (pf->nstates * pf->nclasses >= HAS_OUT)
			abort(); /* two billion transitions: not a rule set that loads */
		for (size_t i = 0; i < pf->nstates * pf->nclasses; i++) {
			uint32_t t = pf->next[i];

			pf->next[i] = (uint32_t)(t * pf->nclasses) | (pf->out_len[t] ? HAS_OUT : 0);
		}
	}
	for (int c = 0; c < 256; c++)
		pf->kind[c] = (uint8_t)kind_of((unsigned char)c);
	pf->compiled = 1;
}

/* Is c an ASCII word byte (0), an ASCII non-word byte (1), or not ASCII (2)? */
static int
kind_of(unsigned char c)
{
	if (c >= 0x80)
		return 2;
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    c == '_' ? 0 : 1;
}

/* Where a scan writes what it finds. */
struct scan {
	uint32_t *seen;
	uint32_t stamp;
	uint32_t *list;
	size_t max, n;
};

/* Marks the literals ending at state st. */
static void
emit(const struct prefilter *pf, uint32_t st, struct scan *sc)
{
	for (uint32_t k = 0; k < pf->out_len[st]; k++) {
		uint32_t id = pf->outs[pf->out_start[st] + k];

		if (sc->seen[id] == sc->stamp)
			continue;
		sc->seen[id] = sc->stamp;
		if (sc->n < sc->max)
			sc->list[sc->n] = id;
		sc->n++;
	}
}

/*
 * One step of the automaton from cur (a state with the 16-bit table, else a
 * row offset), marking the literals that end where it lands.
 */
static inline uint32_t
advance(const struct prefilter *pf, int narrow, uint32_t cur, uint8_t cl, struct scan *sc)
{
	if (narrow) {
		uint32_t t = pf->next16[(cur & ~HAS_OUT16) * pf->nclasses + cl];

		if (t & HAS_OUT16)
			emit(pf, t & ~HAS_OUT16, sc);
		return t;
	}
	uint32_t t = pf->next[(cur & ~HAS_OUT) + cl];

	if (t & HAS_OUT)
		emit(pf, (t & ~HAS_OUT) / (uint32_t)pf->nclasses, sc);
	return t;
}

/* The scan over one table width, so each loop is compiled for its own. */
static inline void
scan_bytes(const struct prefilter *pf, int narrow, const unsigned char *s, size_t len,
    struct scan *sc)
{
	const uint8_t mark = pf->cls[(unsigned char)BOUNDARY[0]];
	int prev = 1; /* the start behaves like a non-word byte */
	uint32_t cur = 0;

	for (size_t i = 0; i < len; i++) {
		int k = pf->kind[s[i]];

		if (mark != 0 && (k == 2 || k != prev))
			cur = advance(pf, narrow, cur, mark, sc);
		cur = advance(pf, narrow, cur, pf->cls[s[i]], sc);
		prev = k;
	}
	if (mark != 0 && prev != 1)
		advance(pf, narrow, cur, mark, sc);
}

size_t
prefilter_scan(const struct prefilter *pf, const char *text, size_t len, uint32_t *seen,
    uint32_t stamp, uint32_t *list, size_t max)
{
	struct scan sc = {seen, stamp, list, max, 0};

	if (pf->nlits == 0)
		return 0;
	if (pf->next16 != NULL)
		scan_bytes(pf, 1, (const unsigned char *)text, len, &sc);
	else
		scan_bytes(pf, 0, (const unsigned char *)text, len, &sc);
	return sc.n;
}
