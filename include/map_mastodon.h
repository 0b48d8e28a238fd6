/*
 * Mastodon API answers to what deflectd uses: Status entities to native
 * posts (SPEC section 2), and the few fields the source needs from an
 * Account and the Instance. Pure: the caller fetches the JSON and remembers
 * conversations; this only maps.
 */
#ifndef DEFLECTD_MAP_MASTODON_H
#define DEFLECTD_MAP_MASTODON_H

#include <stddef.h>

#include "buf.h"

/* Ids longer than this are refused; Mastodon's are about 18 digits. */
#define MAP_MASTODON_ID_MAX 64

/*
 * Returns the conversation id of a status the caller has already seen, or
 * NULL. The string need only live until the mapping call returns.
 */
typedef const char *map_mastodon_conv_cb(void *arg, const char *status_id);

/*
 * Maps one Status (an "update" or "status.update" payload, or an element of
 * an account's statuses). instance_host ("mastodon.social") qualifies a
 * local acct; conversation_of may be NULL. Returns 1 with one NDJSON line,
 * ending in "\n", appended to out; 0 for a status that is not a post of ours
 * (a reblog, or neither public nor unlisted); -1 with the reason in err
 * (e.g. "missing field \"account.acct\"") and out as it was.
 */
int map_mastodon_status(const char *json, size_t len, const char *instance_host,
    map_mastodon_conv_cb *conversation_of, void *arg, struct buf *out, char *err,
    size_t errlen);

/*
 * Maps the {"ancestors":[...],"descendants":[...]} answer of GET
 * /api/v1/statuses/:focal_id/context. Every status gets the conversation of
 * the first ancestor, the thread's root (or focal_id when it has no
 * ancestors). Returns how many lines were appended to out, or -1 with the
 * reason in err and out as it was when the document itself is malformed. A
 * malformed status inside is skipped and counted in *bad (which may be NULL),
 * with the first such reason in err.
 */
int map_mastodon_context(const char *json, size_t len, const char *focal_id,
    const char *instance_host, struct buf *out, size_t *bad, char *err, size_t errlen);

/*
 * Maps the array answer of GET /api/v1/accounts/:id/statuses. Lines are
 * appended to out oldest status first, whatever the order of the page. newest
 * (newestlen bytes; MAP_MASTODON_ID_MAX + 1 is enough) gets the greatest id
 * in the page, of mapped and skipped statuses alike, or "" when none has a
 * usable id. Returns how many lines were appended, or -1 with the reason in
 * err and out as it was when the document is not a JSON array. A malformed
 * status is skipped and counted in *bad (may be NULL), the first reason in err.
 */
int map_mastodon_statuses(const char *json, size_t len, const char *instance_host,
    map_mastodon_conv_cb *conversation_of, void *arg, struct buf *out, char *newest,
    size_t newestlen, size_t *bad, char *err, size_t errlen);

/* Copies the id of an Account (GET /api/v1/accounts/lookup) into id; 0, or -1 with err. */
int map_mastodon_account_id(const char *json, size_t len, char *id, size_t idlen, char *err,
    size_t errlen);

/*
 * Reads configuration.urls.streaming from a GET /api/v2/instance answer
 * ("wss://streaming.example.social") as the http(s) base of the streaming
 * API: wss:// becomes https://, ws:// http://, trailing slashes go. Returns
 * 1 with the base in out, 0 when the instance does not say, or -1 with the
 * reason in err when the answer or the value is malformed.
 */
int map_mastodon_streaming_url(const char *json, size_t len, char *out, size_t outlen, char *err,
    size_t errlen);

#endif
