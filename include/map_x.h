/*
 * X API v2 tweets as native posts (SPEC section 2). Input is one document as
 * it arrives: a line of GET /2/tweets/search/stream ({"data": {tweet},
 * "includes": ...}) or a page of GET /2/tweets/search/recent ({"data":
 * [tweets], "includes": ..., "meta": ...}), requested with
 * tweet.fields=conversation_id,referenced_tweets,author_id,created_at,lang
 * (note_tweet too, for the full text of long posts) and
 * expansions=author_id&user.fields=username.
 */
#ifndef DEFLECTD_MAP_X_H
#define DEFLECTD_MAP_X_H

#include <stddef.h>

#include "buf.h"

/*
 * Appends one NDJSON line to out per tweet, platform "twitter". Retweets are
 * not posts of their author and give no line. Returns the number of lines
 * appended: 0 for a keep-alive (an empty or all-whitespace line) or an empty
 * search page. Returns -1 when the document is malformed and -2 when it is an
 * error object instead of tweets (an in-stream {"errors": [...]} or a bare
 * problem such as a connection-limit notice), with the reason in err; out is
 * then unchanged. A search page keeps its good tweets when some are malformed:
 * those are counted in *skipped (which may be NULL) and the first one's reason
 * is left in err.
 */
int map_x(const char *json, size_t len, struct buf *out, size_t *skipped, char *err,
    size_t errlen);
struct map_span;
/* map_x() that also fills span (map.h) with the tweets it appended. */
int map_x_span(const char *json, size_t len, struct buf *out, size_t *skipped,
    struct map_span *span, char *err, size_t errlen);

#endif
