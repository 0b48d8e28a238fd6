/*
 * The X source: the API v2 filtered stream, its rules, and recent search
 * for the conversations of open cases.
 */
#ifndef DEFLECTD_SOURCE_X_H
#define DEFLECTD_SOURCE_X_H

#include <stddef.h>

#include "source.h"

/* Starts one [source] of type x; NULL with a message in err. */
void *source_x_start(const struct config_section *sec, struct ingest *in, char *err,
    size_t errlen);
/* Stops it; requests in flight are abandoned. */
void source_x_stop(void *src);

#endif
