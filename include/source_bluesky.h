/*
 * The Bluesky source: polls the AppView (app.bsky.feed.getAuthorFeed for
 * each brand account, app.bsky.feed.getPostThread for each open case).
 */
#ifndef DEFLECTD_SOURCE_BLUESKY_H
#define DEFLECTD_SOURCE_BLUESKY_H

#include <stddef.h>

struct deflectd;

/* Starts every [source] of type bluesky (config.c has checked their keys). */
void source_bluesky_start_all(struct deflectd *d);
void source_bluesky_stop_all(struct deflectd *d);

#endif
