/*
 * Runs compiled rules over normalized text. Every match attempt carries
 * PCRE2 limits, so a runaway pattern fails that one match (counted in the
 * rule set) instead of stalling the daemon.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match.h"
#include "prefilter.h"
#include "rules_internal.h"
#include "xmalloc.h"

/* Generous for honest patterns, small enough to bound a post's cost. */
#define MATCH_LIMIT 200000
#define DEPTH_LIMIT 5000
#define HEAP_LIMIT_KIB 8192
#define JIT_STACK_MAX (1024 * 1024)

struct match_scratch {
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
	uint32_t *seen; /* literal id (the rule set's) -> stamp of the last post holding it */
	size_t nseen;
	uint32_t *lseen; /* the same, by the id in the automaton of the post's role */
	size_t nlseen;
	uint32_t stamp;
	uint32_t *found; /* the literal ids this post holds */
	size_t nfound;
	uint32_t *cand;  /* rule -> stamp of the last post that may match it */
	size_t ncand;
	uint32_t *cand_any; /* "any" matcher -> stamp of the last post it may match */
	size_t ncand_any;
	uint32_t *req_known; /* requirement slot -> stamp of the last post it was checked for */
	size_t nreq_known;
	unsigned char *req_met; /* requirement slot -> met, when checked for this post */
	size_t nreq_met;
};

struct match_scratch *
match_scratch_new(void)
{
	struct match_scratch *ms = xcalloc(1, sizeof *ms);

	ms->md = pcre2_match_data_create(1, NULL);
	ms->mc = pcre2_match_context_create(NULL);
	ms->js = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL);
	/* PCRE2 fails these only when out of memory, which is fatal (STYLE.md 5). */
	if (ms->md == NULL || ms->mc == NULL || ms->js == NULL)
		abort();
	pcre2_set_match_limit(ms->mc, MATCH_LIMIT);
	pcre2_set_depth_limit(ms->mc, DEPTH_LIMIT);
	pcre2_set_heap_limit(ms->mc, HEAP_LIMIT_KIB);
	pcre2_jit_stack_assign(ms->mc, NULL, ms->js);
	return ms;
}

void
match_scratch_free(struct match_scratch *ms)
{
	if (ms == NULL)
		return;
	pcre2_match_data_free(ms->md);
	pcre2_match_context_free(ms->mc);
	pcre2_jit_stack_free(ms->js);
	free(ms->seen);
	free(ms->lseen);
	free(ms->found);
	free(ms->cand);
	free(ms->cand_any);
	free(ms->req_known);
	free(ms->req_met);
	free(ms);
}

int
matcher_run(const struct matcher *m, pcre2_match_data *md, pcre2_match_context *mc,
    const char *text, size_t len, size_t *start, size_t *end)
{
	/* The normalizer guarantees valid UTF-8, so PCRE2 need not check it again. */
	int rc = pcre2_match(m->code, (PCRE2_SPTR)text, len, 0, PCRE2_NO_UTF_CHECK, md, mc);

	if (rc >= 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

		*start = ov[0];
		*end = ov[1];
		return 1;
	}
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return -1;
}

/* Makes a stamp array hold at least n entries, the new ones never stamped. */
static void
grow_stamps(uint32_t **v, size_t *have, size_t n)
{
	if (*have >= n)
		return;
	*v = xreallocarray(*v, n, sizeof **v);
	memset(*v + *have, 0, (n - *have) * sizeof **v);
	*have = n;
}

/*
 * Is every requirement of a branch met by a literal the prefilter saw? Each
 * requirement is checked once per post: several branches share word lists.
 */
static int
branch_met(const struct malt *a, struct match_scratch *ms)
{
	for (size_t r = 0; r < a->n; r++) {
		const struct mreq *q = &a->reqs[r];

		if (ms->req_known[q->slot] != ms->stamp) {
			size_t i = 0;

			while (i < q->n && ms->seen[q->ids[i]] != ms->stamp)
				i++;
			ms->req_known[q->slot] = ms->stamp;
			ms->req_met[q->slot] = i < q->n;
		}
		if (!ms->req_met[q->slot])
			return 0;
	}
	return 1;
}

/*
 * The text part of a rule: one "any" matcher, every "require", no "unless".
 * The span is the first matching "any" matcher's. With woken set (the stamps
 * of the rule's "any" matchers), matchers whose literals are absent are skipped.
 */
static int
rule_text(struct rule *r, struct match_scratch *ms, const char *text, size_t len, size_t *start,
    size_t *end, const uint32_t *woken)
{
	size_t s, e;
	int rc = 0;

	for (size_t i = 0; i < r->nany && rc == 0; i++)
		if (woken == NULL || r->any[i]->nalts == 0 || woken[i] == ms->stamp)
			rc = matcher_run(r->any[i], ms->md, ms->mc, text, len, start, end);
	if (rc != 1)
		return rc;
	for (size_t i = 0; i < r->nrequire; i++) {
		rc = matcher_run(r->require[i], ms->md, ms->mc, text, len, &s, &e);
		if (rc != 1)
			return rc;
	}
	for (size_t i = 0; i < r->nunless; i++) {
		rc = matcher_run(r->unless[i], ms->md, ms->mc, text, len, &s, &e);
		if (rc != 0)
			return rc == 1 ? 0 : rc;
	}
	return 1;
}

int
match_rule_text(struct rule *r, struct match_scratch *ms, const char *text, size_t len,
    size_t *start, size_t *end)
{
	return rule_text(r, ms, text, len, start, end, NULL);
}

/* Is s (case-insensitively) in the list? */
static int
in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* A language tag is in scope when its primary subtag is listed ("es-MX" for "es"). */
static int
lang_in_scope(const struct rule *r, const char *lang)
{
	size_t n = strcspn(lang, "-_");

	for (size_t i = 0; i < r->nlangs; i++)
		if (strncasecmp(r->langs[i], lang, n) == 0 && r->langs[i][n] == '\0')
			return 1;
	return in_list(r->langs, r->nlangs, lang);
}

/* Why the rule does not apply to this author and post: MISS_* bits, 0 when it does. */
static unsigned
rule_scope_misses(const struct rule *r, const struct match_input *in)
{
	unsigned why = 0;

	if (!r->enabled)
		why |= MISS_DISABLED;
	if ((r->by == BY_BRAND && in->role != ROLE_BRAND) ||
	    (r->by == BY_CUSTOMER && in->role != ROLE_CUSTOMER))
		why |= MISS_BY;
	if (r->nbrands && (in->brand == NULL || !in_list(r->brands, r->nbrands, in->brand)))
		why |= MISS_BRAND;
	if (r->nplatforms &&
	    (in->platform == NULL || !in_list(r->platforms, r->nplatforms, in->platform)))
		why |= MISS_PLATFORM;
	if (r->nlangs && in->lang != NULL && !lang_in_scope(r, in->lang))
		why |= MISS_LANG;
	return why;
}

/* Does the rule apply to this author and post at all? */
static int
rule_applies(const struct rule *r, const struct match_input *in)
{
	return rule_scope_misses(r, in) == 0;
}

/* Wakes the "any" matchers (and their rules) with a branch the post's nf literals meet. */
static void
wake(const struct ruleset *rs, struct match_scratch *ms, size_t nf)
{
	for (size_t f = 0; f < nf; f++) {
		const struct lit_use *u = rs->lit_uses[ms->found[f]];

		for (size_t k = 0; k < rs->lit_nuses[ms->found[f]]; k++) {
			if (ms->cand_any[u[k].any] == ms->stamp ||
			    (u[k].alt != NULL && !branch_met(u[k].alt, ms)))
				continue;
			ms->cand_any[u[k].any] = ms->stamp;
			ms->cand[u[k].rule] = ms->stamp;
		}
	}
}

size_t
match_run(struct ruleset *rs, struct match_scratch *ms, const struct match_input *in,
    struct match *out, size_t max)
{
	size_t n = 0;
	int filtered = rs->pf != NULL, done[RULE_KINDS] = {0};

	if (filtered) {
		size_t need = prefilter_count(rs->pf);

		grow_stamps(&ms->seen, &ms->nseen, need);
		grow_stamps(&ms->lseen, &ms->nlseen, need);
		grow_stamps(&ms->found, &ms->nfound, need);
		grow_stamps(&ms->cand, &ms->ncand, rs->n);
		grow_stamps(&ms->cand_any, &ms->ncand_any, rs->nanys);
		grow_stamps(&ms->req_known, &ms->nreq_known, rs->nreqs);
		if (ms->nreq_met < rs->nreqs) {
			ms->req_met = xrealloc(ms->req_met, rs->nreqs);
			ms->nreq_met = rs->nreqs;
		}
		/* A new stamp per post forgets the last post's literals without clearing. */
		if (++ms->stamp == 0) {
			memset(ms->seen, 0, ms->nseen * sizeof *ms->seen);
			memset(ms->lseen, 0, ms->nlseen * sizeof *ms->lseen);
			memset(ms->cand, 0, ms->ncand * sizeof *ms->cand);
			memset(ms->cand_any, 0, ms->ncand_any * sizeof *ms->cand_any);
			memset(ms->req_known, 0, ms->nreq_known * sizeof *ms->req_known);
			ms->stamp = 1;
		}
		const struct prefilter *pf = rs->role_pf[in->role];
		size_t nf = pf ? prefilter_scan(pf, in->text, in->len, ms->lseen, ms->stamp,
		                     ms->found, ms->nfound)
		               : 0;

		if (nf > ms->nfound)
			nf = ms->nfound;
		for (size_t f = 0; f < nf; f++) {
			ms->found[f] = rs->role_lit[in->role][ms->found[f]];
			ms->seen[ms->found[f]] = ms->stamp;
		}
		wake(rs, ms, nf);
	}
	for (size_t i = 0; i < rs->n; i++) {
		struct rule *r = &rs->rules[i];
		size_t s, e;
		int rc;

		if (filtered && !rs->always[i] && ms->cand[i] != ms->stamp)
			continue;
		if (done[r->kind] || !rule_applies(r, in))
			continue;
		rc = rule_text(r, ms, in->text, in->len, &s, &e,
		    filtered ? ms->cand_any + rs->any_base[i] : NULL);
		if (rc < 0) {
			rs->limit_hits++;
			continue;
		}
		if (rc == 0)
			continue;
		r->hits++;
		done[r->kind] = in->first_per_kind;
		if (n < max) {
			out[n].rule = r;
			out[n].start = s;
			out[n].end = e;
		}
		n++;
	}
	return n;
}

/*
 * The same steps as rule_text, without the prefilter, noting each reason a
 * rule whose "any" matcher matched is dropped. 0 when no "any" matcher matched.
 */
static int
rule_text_misses(struct rule *r, struct match_scratch *ms, const char *text, size_t len,
    struct rule_miss *m)
{
	size_t s, e;
	int rc = 0;

	for (size_t i = 0; i < r->nany && rc != 1; i++)
		if ((rc = matcher_run(r->any[i], ms->md, ms->mc, text, len, &m->start, &m->end)) < 0)
			m->why |= MISS_LIMIT;
	if (rc != 1)
		return 0;
	for (size_t i = 0; i < r->nrequire; i++) {
		rc = matcher_run(r->require[i], ms->md, ms->mc, text, len, &s, &e);
		if (rc != 1) {
			m->why |= rc < 0 ? MISS_LIMIT : MISS_REQUIRE;
			m->file = r->require[i]->file;
			m->line = r->require[i]->line;
			return 1;
		}
	}
	for (size_t i = 0; i < r->nunless; i++) {
		rc = matcher_run(r->unless[i], ms->md, ms->mc, text, len, &m->ustart, &m->uend);
		if (rc != 0) {
			m->why |= rc < 0 ? MISS_LIMIT : MISS_UNLESS;
			m->file = r->unless[i]->file;
			m->line = r->unless[i]->line;
			return 1;
		}
	}
	return 1;
}

size_t
match_why_not(struct ruleset *rs, struct match_scratch *ms, const struct match_input *in,
    struct rule_miss *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->n; i++) {
		struct rule_miss m;

		memset(&m, 0, sizeof m);
		m.rule = &rs->rules[i];
		m.why = rule_scope_misses(m.rule, in);
		if (!rule_text_misses(&rs->rules[i], ms, in->text, in->len, &m) || m.why == 0)
			continue;
		if (n < max)
			out[n] = m;
		n++;
	}
	return n;
}
