/*
 * The Bluesky source: polls the AppView (app.bsky.feed.getAuthorFeed for
 * each brand account, app.bsky.feed.getPostThread for each open case).
 */
#ifndef DEFLECTD_SOURCE_BLUESKY_H
#define DEFLECTD_SOURCE_BLUESKY_H

#include <stddef.h>

#include "source.h"

/* Starts one [source] of type bluesky (config.c has checked its keys): never NULL. */
void *source_bluesky_start(const struct config_section *sec, struct ingest *in, char *err,
    size_t errlen);
/* Stops it; requests in flight are abandoned. */
void source_bluesky_stop(void *src);

#endif
