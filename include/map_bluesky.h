/*
 * Bluesky posts as native posts (SPEC section 2), from the public AppView's
 * app.bsky.feed.getAuthorFeed and app.bsky.feed.getPostThread responses. A
 * post's id is its at:// uri and its conversation is record.reply.root.uri.
 */
#ifndef DEFLECTD_MAP_BLUESKY_H
#define DEFLECTD_MAP_BLUESKY_H

#include <stddef.h>

#include "buf.h"

/*
 * Both functions append one NDJSON line to out per post, platform "bluesky",
 * and return the number of lines appended; a post that appears twice in one
 * response gives one line. They return -1 when the response is malformed and
 * -2 when it is an XRPC error ({"error": "NotFound", "message": ...}), with
 * the reason in err; out is then unchanged. The posts are other people's
 * records, so one that cannot be mapped costs only itself: it is counted in
 * *skipped (which may be NULL) and the first one's reason is left in err.
 */

/*
 * Maps a getAuthorFeed page. Reposts (reason app.bsky.feed.defs#reasonRepost)
 * are someone else's posts and give no line; a pinned post does. The page's
 * cursor, the position to resume from, is copied into cursor ("" when the
 * feed has no more pages); a cursor longer than cursorlen - 1 makes the page
 * malformed, since a cut one would resume from the wrong place. cursor may be
 * NULL when the caller does not want it.
 */
int map_bluesky_feed(const char *json, size_t len, struct buf *out, char *cursor,
    size_t cursorlen, size_t *skipped, char *err, size_t errlen);
struct map_span;
/* map_bluesky_feed() that also fills span (map.h) with the posts it appended. */
int map_bluesky_feed_span(const char *json, size_t len, struct buf *out, char *cursor,
    size_t cursorlen, size_t *skipped, struct map_span *span, char *err, size_t errlen);

/*
 * Maps a getPostThread response: the ancestors root first, then the post
 * asked for, then its replies depth first. Deleted (notFoundPost), blocked
 * (blockedPost) and unknown kinds of thread items give no line.
 */
int map_bluesky_thread(const char *json, size_t len, struct buf *out, size_t *skipped,
    char *err, size_t errlen);

#endif
