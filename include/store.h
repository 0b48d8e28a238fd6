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
 * naming the file and the way out; it is never wiped.
 */
struct store *store_open(const char *dir, char *err, size_t errlen);
void store_close(struct store *st);
const char *store_path(const struct store *st);

/* Transactions; nesting is not supported. Return 0 or -1 (logged). */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

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
/* Forgets tracked posts whose event time is before t. */
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

/* Queues an alert document for delivery, in the caller's transaction. */
int store_outbox_add(struct store *st, const char *id, const char *type, int64_t at,
    const char *body);

#endif
