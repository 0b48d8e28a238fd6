/*
 * The Mastodon source: the streaming API (server-sent events) with stall
 * detection and reconnect backoff, and the REST context of open cases.
 */
#ifndef DEFLECTD_SOURCE_MASTODON_H
#define DEFLECTD_SOURCE_MASTODON_H

#include <stddef.h>

struct deflectd;

/* Starts every [source] of type mastodon; -1 with a message in err. */
int source_mastodon_start_all(struct deflectd *d, char *err, size_t errlen);
void source_mastodon_stop_all(struct deflectd *d);

#endif
