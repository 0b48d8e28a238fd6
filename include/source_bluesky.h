/*
 * The Bluesky source: polls the AppView (app.bsky.feed.getAuthorFeed for
 * each brand account, app.bsky.feed.getPostThread for each open case).
 */
#ifndef DEFLECTD_SOURCE_BLUESKY_H
#define DEFLECTD_SOURCE_BLUESKY_H

#include <stddef.h>

struct deflectd;

/* Starts every [source] of type bluesky; -1 with a message in err. */
int source_bluesky_start_all(struct deflectd *d, char *err, size_t errlen);
void source_bluesky_stop_all(struct deflectd *d);

#endif
