/*
 * Durable state in SQLite (WAL): posts received (pending until tracked, then
 * remembered as seen), cases, source positions and the alert outbox. Every
 * change the daemon makes for one batch of input happens inside one
 * transaction, so what was acknowledged is exactly what is on disk.
 */
#ifndef DEFLECTD_STORE_H
#define DEFLECTD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tracker.h"

struct store;

/*
 * Opens (creating if needed) dir/deflectd.db. A file that is not deflectd's,
 * is damaged, or is from a newer version is refused with a message in err
 * naming the file and the way out; it is never wiped. dir NULL opens a
 * private in-memory database (deflectd report).
 */
struct store *store_open(const char *dir, char *err, size_t errlen);
void store_close(struct store *st);
const char *store_path(const struct store *st);

/*
 * Transactions. Return 0 or -1 (logged). A store_begin inside an open
 * transaction opens a savepoint, released or rolled back by the matching
 * commit or rollback; a failure inside it fails the whole transaction.
 * A commit that fails has rolled back already: do not roll back again.
 */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);
/* Is a transaction open (a sliced push in progress, say)? */
int store_in_transaction(const struct store *st);
/*
 * Why writes fail, or NULL once a commit has succeeded since. A failure is
 * logged when writes start failing, not again until one succeeds.
 */
const char *store_error(const struct store *st);
/* Caps the database at bytes (0: no cap); writes beyond it fail as on a full disk. */
void store_set_max_size(struct store *st, int64_t bytes);

/*
 * Records a received post (its native JSON line) as pending. Returns 1 when
 * new, 0 when (platform, id) was seen before, -1 on error.
 */
int store_post_add(struct store *st, const char *platform, const char *id, int64_t at,
    const char *json, size_t len);
/* Marks a post tracked: its JSON is dropped, its id kept to refuse duplicates. */
int store_post_done(struct store *st, const char *platform, const char *id);
/* Calls fn for every pending post, oldest event time first. */
int store_posts_pending(struct store *st, void (*fn)(void *arg, const char *json, size_t len),
    void *arg);
/*
 * Forgets tracked posts received before t (receipt, not event time, so a
 * batch of old posts sent twice within the retention is still refused).
 */
int store_posts_prune(struct store *st, int64_t before);

/* Writes a case's current state (insert or update). */
int store_case_put(struct store *st, const struct tcase *c);
/* Calls fn for every case still deflected or unresolved. */
int store_cases_open(struct store *st, void (*fn)(void *arg, const struct tcase *c), void *arg);
/* Counts cases by state (for tests and status). */
int store_case_count(struct store *st, const char *state);

/* A source's saved position (file offset, cursor, since_id); NULL when none. */
char *store_position_get(struct store *st, const char *source);
int store_position_set(struct store *st, const char *source, const char *value);

/* Keeps the deflecting post's text, url and matched text with its case. */
int store_case_text_set(struct store *st, const struct tcase *c, const char *text,
    const char *url, const char *match);
/* Reads them back (each NULL when unknown); the caller frees them. */
int store_case_text_get(struct store *st, const struct tcase *c, char **text, char **url,
    char **match);

/* A post that escalated, repeated the deflection or resolved a case. */
struct store_evidence {
	const char *post_id;
	const char *kind; /* finding type */
	int64_t at;
	const char *rule;
	const char *text;
	const char *url;
};

int store_evidence_add(struct store *st, const struct tcase *c, const char *post_id,
    const char *kind, int64_t at, const char *rule, const char *text, const char *url);
/* Calls fn for a case's evidence, oldest first. */
int store_evidence_each(struct store *st, const struct tcase *c,
    void (*fn)(void *arg, const struct store_evidence *e), void *arg);

/* Deliveries: one per alert and webhook whose filters it passes. */
int store_delivery_add(struct store *st, const char *alert_id, const char *webhook, int64_t now);
/* Calls fn for up to limit pending deliveries of webhook due by now. */
int store_deliveries_due(struct store *st, const char *webhook, int64_t now, int limit,
    void (*fn)(void *arg, const char *alert_id, const char *body, int attempts,
	int64_t created_at),
    void *arg);
/* Records an attempt's outcome: state pending (retry at next_at), delivered or dead. */
int store_delivery_set(struct store *st, const char *alert_id, const char *webhook,
    const char *state, int attempts, int64_t next_at, long status, const char *error,
    int64_t now);
/* A webhook that answered 410 Gone stays disabled until an operator re-enables it. */
int store_webhook_disable(struct store *st, const char *name, int64_t at, const char *reason);
/* The reason a webhook is disabled, or NULL when it is not. */
char *store_webhook_disabled(struct store *st, const char *name);
/* Counts one reply by a brand account at event time at (the scorecard's replies seen). */
int store_brand_reply(struct store *st, const char *brand, int64_t at);
/*
 * Why a delivery d was not sent, and for one grouped into a digest that
 * digest's state: a column over "deliveries d", with STORE_SQL_DIGEST_JOIN.
 */
#define STORE_SQL_DELIVERY_REASON \
	" CASE WHEN d.digest_id IS NOT NULL THEN d.reason || ' (' ||" \
	" coalesce(g.state, 'waiting') || ')' ELSE d.reason END"
#define STORE_SQL_DIGEST_JOIN \
	" LEFT JOIN deliveries g ON g.alert_id = d.digest_id AND g.webhook = d.webhook"
/* store_query with up to two text parameters (NULL binds NULL); fn may be NULL. */
int store_rows(struct store *st, const char *sql, const char *arg, const char *arg2,
    void (*fn)(void *cbarg, int ncol, const char *const *vals), void *cbarg);
/*
 * Runs one write with text parameters ?1..?nargs (NULL binds NULL; SQLite's
 * column affinity makes numbers of digits); returns rows changed or -1 (logged).
 */
int store_write(struct store *st, const char *sql, const char *const *args, int nargs);
/* A query parameter: text when text is set, else an integer when is_int, else NULL. */
struct store_arg {
	const char *text;
	int64_t i;
	int is_int;
};

#define STORE_TEXT(s) ((struct store_arg){(s), 0, 0})
#define STORE_INT(v) ((struct store_arg){NULL, (v), 1})

/* Runs a query with parameters ?1..?nargs, calling fn per row; 0 or -1 (logged). */
int store_query(struct store *st, const char *sql, const struct store_arg *args, int nargs,
    void (*fn)(void *cbarg, int ncol, const char *const *vals), void *cbarg);
/* Runs SQL (operator commands); returns rows changed or -1. */
int store_exec(struct store *st, const char *sql);

/* Queues an alert document for delivery, in the caller's transaction. */
int store_outbox_add(struct store *st, const char *id, const char *type, int64_t at,
    const char *body);

/*
 * Flood control and silences (schema 3). An alert kept from every webhook
 * (silenced, too old) says so in the outbox; a delivery not sent says why.
 */
int store_outbox_hold(struct store *st, const char *id, const char *held,
    const char *silence_id);
/* A delivery that is not sent as it is: state silenced, too_old or grouped. */
int store_delivery_held(struct store *st, const char *alert_id, const char *webhook,
    const char *state, const char *reason, const char *digest_id, int64_t now);

/* A silence as stored; matchers is a JSON object of field to value. */
struct store_silence {
	const char *id;
	const char *matchers;
	int64_t starts_at, ends_at;
	const char *comment;
	const char *author;
	int64_t created_at;
	int64_t expired_at; /* 0 unless expired by hand */
};

int store_silence_add(struct store *st, const struct store_silence *sl);
/* Calls fn for each silence active at now until fn returns nonzero. */
int store_silences_active(struct store *st, int64_t now,
    int (*fn)(void *arg, const char *id, const char *matchers), void *arg);
/* Ends a silence now: 1 done, 0 already ended, -2 no such silence, -1 error. */
int store_silence_expire(struct store *st, const char *id, int64_t now);
/* Calls fn for every silence, oldest first. */
int store_silences_each(struct store *st, void (*fn)(void *arg, const struct store_silence *sl),
    void *arg);

/* The digest of webhook and group key still taking alerts (fewer than max); NULL if none. */
char *store_digest_open(struct store *st, const char *webhook, const char *key, int max);
/* When the group's latest digest went (or goes) out; 0 when never. */
int64_t store_digest_last(struct store *st, const char *webhook, const char *key);
int store_digest_add(struct store *st, const char *id, const char *webhook, const char *key,
    int64_t now, int64_t send_at);
/* One more alert in a digest. */
int store_digest_count(struct store *st, const char *id);
/* Calls fn for up to limit unsealed digests of webhook due by now. */
int store_digests_due(struct store *st, const char *webhook, int64_t now, int limit,
    void (*fn)(void *arg, const char *id, const char *key), void *arg);
/* Calls fn with each alert document of a digest, oldest first. */
int store_digest_members(struct store *st, const char *webhook, const char *id,
    void (*fn)(void *arg, const char *body), void *arg);
/* Closes a digest: it takes no more alerts. */
int store_digest_seal(struct store *st, const char *id, int64_t now);

#endif
