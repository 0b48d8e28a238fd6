/*
 * The data path shared by replay and the daemon. Posts wait in the reorder
 * buffer until the watermark (clock minus lateness) passes their event time,
 * then are normalized, matched and handed to the tracker in time order.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "match.h"
#include "normalize.h"
#include "pipeline.h"
#include "reorder.h"
#include "xmalloc.h"

/* Rules matching one post beyond this are counted but not looked at. */
#define MAX_MATCHES 64

struct pipeline {
	struct ruleset *rs;
	struct match_scratch *ms;
	struct reorder *ro;
	struct tracker *tr;
	struct buf norm;
	struct brand_account *accounts;
	size_t naccounts;
	int64_t lateness;
	int event_clock;
	int64_t clock;
	int64_t watermark;
	int have_clock;
	int backlog; /* posts up to the watermark still wait (pipeline_advance_some) */
	event_fn fn;
	void *arg;
	void (*tracked)(void *arg, const struct post *p, int is_brand, const char *brand,
	    int duplicate);
	struct pipeline_stats st;

	/* What the post being tracked is, for the tracker's callback. */
	const struct post *cur;
	const struct match *cur_matches;
	size_t cur_nmatches;
};

/* Finds the loaded rule behind a finding, by the id's pointer first. */
static const struct rule *
find_rule(const struct pipeline *pl, const char *id)
{
	for (size_t i = 0; i < pl->cur_nmatches; i++)
		if (pl->cur_matches[i].rule->id == id)
			return pl->cur_matches[i].rule;
	if (id == NULL || pl->rs == NULL)
		return NULL;
	for (size_t i = 0; i < pl->rs->n; i++)
		if (strcmp(pl->rs->rules[i].id, id) == 0)
			return &pl->rs->rules[i];
	return NULL;
}

/* Tracker callback: adds the post and rule to a finding. */
static void
on_finding(void *arg, const struct finding *f)
{
	struct pipeline *pl = arg;
	struct event ev = {f, find_rule(pl, f->rule), NULL, NULL, 0};

	if (f->type != FINDING_UNRESOLVED && pl->cur != NULL) {
		ev.post = pl->cur;
		ev.text = pl->norm.s;
		ev.len = pl->norm.len;
	}
	pl->fn(pl->arg, &ev);
}

/* Copies the accounts of cfg, dropping the old ones. */
static void
set_accounts(struct pipeline *pl, const struct pipeline_config *cfg)
{
	for (size_t i = 0; i < pl->naccounts; i++) {
		free((char *)pl->accounts[i].platform);
		free((char *)pl->accounts[i].account);
		free((char *)pl->accounts[i].brand);
	}
	free(pl->accounts);
	pl->accounts = xcalloc(cfg->naccounts, sizeof *pl->accounts);
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct brand_account *a = &cfg->accounts[i];
		const char *acct = a->account[0] == '@' ? a->account + 1 : a->account;

		pl->accounts[i].platform = a->platform ? xstrdup(a->platform) : NULL;
		pl->accounts[i].account = xstrdup(acct);
		pl->accounts[i].brand = xstrdup(a->brand ? a->brand : acct);
	}
	pl->naccounts = cfg->naccounts;
}

struct pipeline *
pipeline_new(const struct pipeline_config *cfg, struct ruleset *rs, event_fn fn, void *arg)
{
	struct pipeline *pl = xcalloc(1, sizeof *pl);
	struct tracker_config tc = {cfg->window, cfg->brand_windows, cfg->nbrand_windows,
	    cfg->retention};

	pl->rs = rs;
	pl->ms = match_scratch_new();
	pl->ro = reorder_new();
	pl->tr = tracker_new(&tc, on_finding, pl);
	pl->lateness = cfg->lateness;
	pl->event_clock = cfg->event_clock;
	pl->fn = fn;
	pl->arg = arg;
	pl->tracked = cfg->tracked;
	set_accounts(pl, cfg);
	return pl;
}

void
pipeline_reconfigure(struct pipeline *pl, const struct pipeline_config *cfg)
{
	struct tracker_config tc = {cfg->window, cfg->brand_windows, cfg->nbrand_windows,
	    cfg->retention};

	tracker_set_config(pl->tr, &tc);
	pl->lateness = cfg->lateness;
	set_accounts(pl, cfg);
}

/* reorder_free callback for posts still buffered. */
static void
free_buffered(void *item)
{
	post_release(item);
	free(item);
}

void
pipeline_free(struct pipeline *pl)
{
	if (pl == NULL)
		return;
	reorder_free(pl->ro, free_buffered);
	tracker_free(pl->tr);
	match_scratch_free(pl->ms);
	buf_free(&pl->norm);
	struct pipeline_config none = {0};
	set_accounts(pl, &none);
	free(pl->accounts);
	free(pl);
}

void
pipeline_set_rules(struct pipeline *pl, struct ruleset *rs)
{
	pl->rs = rs;
}

const char *
brand_account_find(const struct brand_account *accounts, size_t n, const char *platform,
    const char *author)
{
	if (author[0] == '@')
		author++;
	for (size_t i = 0; i < n; i++) {
		const struct brand_account *a = &accounts[i];

		if (a->platform != NULL && platform != NULL && strcasecmp(a->platform, platform) != 0)
			continue;
		if (strcasecmp(a->account, author) == 0)
			return a->brand;
	}
	return NULL;
}

int
post_role(const struct brand_account *a, size_t n, const struct post *p, const char **brand)
{
	const char *acct = brand_account_find(a, n, p->platform, p->author);
	int is_brand = p->author_is_brand >= 0 ? p->author_is_brand : acct != NULL;

	*brand = p->brand ? p->brand : is_brand ? (acct ? acct : p->author) : NULL;
	return is_brand;
}

/*
 * Finds the first @mention in normalized text that is not a brand account:
 * the customer of a brand reply whose parent post is unknown. Writes it,
 * without '@', into out.
 */
static const char *
first_customer_mention(const struct pipeline *pl, const struct post *p, const char *text,
    char *out, size_t outlen)
{
	for (const char *s = text; (s = strchr(s, '@')) != NULL; s++) {
		size_t n = 0;

		/* "a@b" is an address, not a mention. */
		if (s > text && (isalnum((unsigned char)s[-1]) || s[-1] == '_'))
			continue;
		/* Bluesky handles have dots ("@sam.bsky.social"); a sentence's "@bob." does not. */
		while (isalnum((unsigned char)s[1 + n]) || s[1 + n] == '_' ||
		    ((s[1 + n] == '.' || s[1 + n] == '-') && n > 0 &&
			isalnum((unsigned char)s[2 + n])))
			n++;
		/* Mastodon's @user@instance names one account. */
		if (n > 0 && s[1 + n] == '@') {
			size_t m = n + 1;

			while (isalnum((unsigned char)s[1 + m]) || s[1 + m] == '.' || s[1 + m] == '-')
				m++;
			while (m > n + 1 && s[m] == '.')
				m--;
			if (m > n + 1)
				n = m;
		}
		if (n == 0 || n >= outlen)
			continue;
		memcpy(out, s + 1, n);
		out[n] = '\0';
		if (brand_account_find(pl->accounts, pl->naccounts, p->platform, out) == NULL &&
		    strcasecmp(out, p->author) != 0)
			return out;
	}
	return NULL;
}

/* Normalizes, matches and tracks one post whose time has come. */
static void
process(struct pipeline *pl, struct post *p)
{
	struct match m[MAX_MATCHES];
	struct match_input in;
	struct tracker_post tp;
	char mention[128];
	const char *brand;
	int is_brand = post_role(pl->accounts, pl->naccounts, p, &brand);
	size_t n;

	if (tracker_seen(pl->tr, p->platform, p->id)) {
		pl->st.duplicates++;
		if (pl->tracked != NULL)
			pl->tracked(pl->arg, p, is_brand, NULL, 1);
		return;
	}
	pl->st.posts++;
	normalize(p->text, p->text_len, &pl->norm);
	memset(&in, 0, sizeof in);
	in.text = pl->norm.s;
	in.len = pl->norm.len;
	in.role = is_brand ? ROLE_BRAND : ROLE_CUSTOMER;
	in.brand = brand;
	in.platform = p->platform;
	in.lang = p->lang;
	in.first_per_kind = 1;
	n = pl->rs ? match_run(pl->rs, pl->ms, &in, m, MAX_MATCHES) : 0;
	if (n > MAX_MATCHES)
		n = MAX_MATCHES;

	memset(&tp, 0, sizeof tp);
	tp.id = p->id;
	tp.platform = p->platform;
	tp.conversation_id = p->conversation_id;
	tp.conversation_implied = p->conversation_implied;
	tp.in_reply_to_id = p->in_reply_to_id;
	tp.author = p->author;
	tp.brand = in.brand;
	tp.is_brand = is_brand;
	tp.at = p->created_at;
	tp.mention = is_brand ? first_customer_mention(pl, p, pl->norm.s, mention, sizeof mention)
	                      : NULL;
	/* The first rule of each kind, in load order, speaks for that kind. */
	for (size_t i = 0; i < n; i++) {
		struct verdict *v = &tp.v[m[i].rule->kind];

		if (v->rule != NULL)
			continue;
		v->rule = m[i].rule->id;
		v->start = m[i].start;
		v->end = m[i].end;
		v->window = m[i].rule->window;
		pl->st.matched[m[i].rule->kind]++;
	}
	pl->cur = p;
	pl->cur_matches = m;
	pl->cur_nmatches = n;
	tracker_advance(pl->tr, p->created_at);
	tracker_post(pl->tr, &tp);
	if (pl->tracked != NULL)
		pl->tracked(pl->arg, p, is_brand, in.brand, 0);
	pl->cur = NULL;
	pl->cur_matches = NULL;
	pl->cur_nmatches = 0;
}

/*
 * Processes up to max buffered posts up to upto, then expires deadlines
 * before it. Returns 1 when posts up to upto still wait: the tracker then
 * stands at the last post processed, so nothing fires out of order.
 */
static int
release_some(struct pipeline *pl, int64_t upto, size_t max)
{
	struct post *p;

	for (size_t n = 0; n < max && (p = reorder_pop(pl->ro, upto)) != NULL; n++) {
		process(pl, p);
		post_release(p);
		free(p);
	}
	pl->backlog = reorder_len(pl->ro) > 0 && reorder_peek_time(pl->ro) <= upto;
	if (!pl->backlog)
		tracker_advance(pl->tr, upto);
	return pl->backlog;
}

/* Processes every buffered post up to upto, then expires deadlines before it. */
static void
release(struct pipeline *pl, int64_t upto)
{
	release_some(pl, upto, SIZE_MAX);
}

void
pipeline_post(struct pipeline *pl, struct post *p)
{
	struct post *held = xmalloc(sizeof *held);

	if (pl->have_clock && p->created_at < pl->watermark)
		pl->st.late++;
	*held = *p;
	memset(p, 0, sizeof *p);
	reorder_push(pl->ro, held->created_at, held);
	if (pl->event_clock && (!pl->have_clock || held->created_at > pl->clock))
		pipeline_advance(pl, held->created_at);
	else if (pl->have_clock && held->created_at <= pl->watermark && !pl->backlog)
		release(pl, pl->watermark);
}

void
pipeline_advance(struct pipeline *pl, int64_t now)
{
	pipeline_advance_some(pl, now, SIZE_MAX);
}

int
pipeline_advance_some(struct pipeline *pl, int64_t now, size_t max)
{
	if (pl->have_clock && now < pl->clock)
		return pl->backlog ? release_some(pl, pl->watermark, max) : 0;
	pl->clock = now;
	pl->have_clock = 1;
	pl->watermark = now - pl->lateness;
	return release_some(pl, pl->watermark, max);
}

void
pipeline_flush(struct pipeline *pl)
{
	if (reorder_len(pl->ro) == 0)
		return;
	/* Everything buffered is at or before the clock. */
	release(pl, pl->clock);
}

void
pipeline_drain(struct pipeline *pl)
{
	pipeline_flush(pl);
	tracker_drain(pl->tr);
}

void
pipeline_stats(const struct pipeline *pl, struct pipeline_stats *st)
{
	*st = pl->st;
	st->buffered = reorder_len(pl->ro);
}

struct tracker *
pipeline_tracker(struct pipeline *pl)
{
	return pl->tr;
}
