/*
 * Operator verdicts: validated and written in one transaction with the
 * case's state, applied to the daemon's tracker by verdict_sync(), and
 * exported as labels so the team's corrections score the rules.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "case_detail.h"
#include "verdict.h"
#include "xmalloc.h"

static const char *const verdicts[] = {"resolved", "not-deflection", "escalated"};

/* The case a verdict is about, as the cases table has it. */
struct vcase {
	int found;
	char *key[4]; /* platform, conversation_id, customer, post_id */
	char *brand, *state, *rule;
	char *prior; /* an earlier operator verdict, described; NULL when none */
};

/* store_rows callback: fills a vcase from one cases row. */
static void
case_row(void *arg, int n, const char *const *v)
{
	struct vcase *c = arg;

	if (n < 8 || c->found)
		return;
	c->found = 1;
	for (int i = 0; i < 4; i++)
		c->key[i] = xstrdup(v[i] ? v[i] : "");
	c->brand = xstrdup(v[4] ? v[4] : "");
	c->state = xstrdup(v[5] ? v[5] : "");
	c->rule = xstrdup(v[6] ? v[6] : "");
	c->prior = v[7] ? xstrdup(v[7]) : NULL;
}

/* The label a verdict gives the deflecting post: the classes test-rules scores. */
static const char *
label_for(const char *as, const struct ruleset *rs, const char *rule_id)
{
	const struct rule *r = rs != NULL ? ruleset_find(rs, rule_id) : NULL;
	int dm = 0, channel = 0;

	if (strcmp(as, "not-deflection") == 0)
		return "none";
	for (size_t i = 0; r != NULL && i < r->ntags; i++) {
		dm |= strcmp(r->tags[i], "dm") == 0;
		channel |= strcmp(r->tags[i], "channel") == 0;
	}
	/* test-rules calls a post channel only when no dm rule matched it. */
	return channel && !dm ? "channel" : "dm";
}

int
verdict_close(struct store *st, const struct ruleset *rs, const char *id, const char *as,
    const char *note, const char *author, int64_t now, char *err, size_t errlen)
{
	struct vcase c;
	char at[32];
	int known = 0, rc = VERDICT_OK;

	for (size_t i = 0; as != NULL && i < sizeof verdicts / sizeof *verdicts; i++)
		known |= strcmp(as, verdicts[i]) == 0;
	if (!known) {
		snprintf(err, errlen, "unknown verdict \"%s\": use resolved, not-deflection or "
		    "escalated", as ? as : "");
		return VERDICT_BAD;
	}
	if (note == NULL || note[strspn(note, " \t\r\n")] == '\0') {
		snprintf(err, errlen, "a verdict needs a note saying why");
		return VERDICT_BAD;
	}
	if (strlen(note) > VERDICT_NOTE_MAX || author == NULL || *author == '\0' ||
	    strlen(author) > VERDICT_AUTHOR_MAX) {
		snprintf(err, errlen, "the note may hold up to %d bytes and the author 1 to %d",
		    VERDICT_NOTE_MAX, VERDICT_AUTHOR_MAX);
		return VERDICT_BAD;
	}
	if (!case_id_valid(id)) {
		snprintf(err, errlen, "no case %s: a case id is a number (see /v1/cases)", id);
		return VERDICT_NO_CASE;
	}
	memset(&c, 0, sizeof c);
	if (store_rows(st, "SELECT c.platform, c.conversation_id, c.customer, c.post_id, c.brand,"
	    " c.state, c.rule, v.verdict || ' by ' || v.author || ' at ' ||"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', v.at, 'unixepoch') FROM cases c"
	    " LEFT JOIN case_verdicts v ON (v.platform, v.conversation_id, v.customer, v.post_id)"
	    " = (c.platform, c.conversation_id, c.customer, c.post_id)"
	    " WHERE c.rowid = CAST(?1 AS INTEGER)", id, NULL, case_row, &c) != 0)
		return VERDICT_FAILED;
	if (!c.found) {
		snprintf(err, errlen, "no case %s", id);
		return VERDICT_NO_CASE;
	}
	if (c.prior != NULL) {
		snprintf(err, errlen, "case %s was already closed by an operator: %s", id, c.prior);
		rc = VERDICT_CLOSED;
	} else {
		snprintf(at, sizeof at, "%lld", (long long)now);
		const char *args[11] = {c.key[0], c.key[1], c.key[2], c.key[3], c.brand, as, note,
		    author, at, c.state, label_for(as, rs, c.rule)};
		if (store_write(st, "INSERT INTO case_verdicts (platform, conversation_id, customer,"
		    " post_id, brand, verdict, note, author, at, state_before, label)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", args, 11) != 1 ||
		    store_write(st, "UPDATE cases SET state = 'closed' WHERE rowid = CAST(?1 AS"
		    " INTEGER) AND state IN ('deflected', 'unresolved')", &id, 1) < 0)
			rc = VERDICT_FAILED;
	}
	for (int i = 0; i < 4; i++)
		free(c.key[i]);
	free(c.brand);
	free(c.state);
	free(c.rule);
	free(c.prior);
	return rc;
}

struct sync {
	struct tracker *t;
	int64_t seq;
};

/* store_rows callback: drops one verdicted case from the tracker. */
static void
sync_row(void *arg, int n, const char *const *v)
{
	struct sync *s = arg;

	if (n < 5 || v[0] == NULL)
		return;
	for (int i = 1; i < 5; i++)
		if (v[i] == NULL)
			return;
	tracker_close(s->t, v[1], v[2], v[3], v[4]);
	s->seq = strtoll(v[0], NULL, 10);
}

int
verdict_sync(struct store *st, struct tracker *t, int64_t *seq)
{
	struct sync s = {t, *seq};
	char from[32];

	snprintf(from, sizeof from, "%lld", (long long)*seq);
	if (store_rows(st, "SELECT seq, platform, conversation_id, customer, post_id"
	    " FROM case_verdicts WHERE seq > CAST(?1 AS INTEGER) ORDER BY seq", from, NULL,
	    sync_row, &s) != 0)
		return -1;
	*seq = s.seq;
	return 0;
}

struct export {
	FILE *f;
	long n;
};

/* store_rows callback: one label line. */
static void
label_row(void *arg, int n, const char *const *v)
{
	struct export *e = arg;
	json_t *o;

	if (n < 3 || v[0] == NULL || v[2] == NULL)
		return;
	o = json_pack("{s:s, s:s, s:s, s:b}", "id", v[0], "brand", v[1] ? v[1] : "", "label",
	    v[2], "unsure", 0);
	json_dumpf(o, e->f, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', e->f);
	json_decref(o);
	e->n++;
}

long
verdict_labels_export(struct store *st, FILE *f)
{
	struct export e = {f, 0};

	if (store_rows(st, "SELECT post_id, brand, label FROM case_verdicts WHERE seq IN"
	    " (SELECT max(seq) FROM case_verdicts GROUP BY post_id) ORDER BY seq", NULL, NULL,
	    label_row, &e) != 0)
		return -1;
	return e.n;
}
