/*
 * Silences: an operator's statement that alerts matching some fields are
 * known and must not be sent, from a start to an end. They live in the
 * state database, so the CLI, the admin API and the daemon share them and a
 * silence added while the daemon runs applies to the next alert it raises.
 */
#ifndef DEFLECTD_SILENCE_H
#define DEFLECTD_SILENCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/* The fields of an alert a silence can match. */
struct silence_target {
	const char *brand, *customer, *conversation, *platform;
	const char *rules[2];  /* the case's deflection rule and the finding's rule */
	char *const *tags[2];  /* the tags of those rules */
	size_t ntags[2];
};

/* The matcher fields, space-separated, for messages and docs. */
extern const char silence_fields[];

/* Does a stored matchers object match t? Every matcher must (values ignore case). */
int silence_matches(const char *matchers, const struct silence_target *t);

/* The id of the first silence active at now that matches t, or NULL; caller frees. */
char *silence_find(struct store *st, int64_t now, const struct silence_target *t);

/*
 * Checks a request ({"matchers": {...}, "starts_at", "ends_at" or "duration",
 * "comment", "author"}) and stores the silence it describes. Returns the new
 * silence as JSON, or NULL with err naming the bad field; nothing is stored
 * then. *status is 400 for bad input, 500 when the database failed.
 */
json_t *silence_create(struct store *st, json_t *req, int64_t now, int *status, char *err,
    size_t errlen);

/* Ends a silence: 0, or -1 with err and *status (404 unknown, 409 ended, 500). */
int silence_expire(struct store *st, const char *id, int64_t now, int *status, char *err,
    size_t errlen);

/* {"silences": [...]} of every silence in state (active, pending, expired; NULL: all). */
json_t *silence_list(struct store *st, int64_t now, const char *state);

/* Is state one a listing knows (NULL counts)? */
int silence_state_known(const char *state);

#endif
