/*
 * The Mastodon source: the streaming API (server-sent events) with stall
 * detection and reconnect backoff, and the REST context of open cases.
 */
#ifndef DEFLECTD_SOURCE_MASTODON_H
#define DEFLECTD_SOURCE_MASTODON_H

#include <stddef.h>

#include "source.h"

/* Starts one [source] of type mastodon; NULL with a message in err. */
void *source_mastodon_start(const struct config_section *sec, struct ingest *in, char *err,
    size_t errlen);
/* Stops it; requests in flight are abandoned. */
void source_mastodon_stop(void *src);
/* The config's check of a [source] of type mastodon: its urls' schemes. */
void source_mastodon_check(const struct config_section *sec, const char *file,
    struct diag *d);

#endif
