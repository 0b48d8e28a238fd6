/*
 * The X source: the API v2 filtered stream, its rules, and recent search
 * for the conversations of open cases.
 */
#ifndef DEFLECTD_SOURCE_X_H
#define DEFLECTD_SOURCE_X_H

#include <stddef.h>

struct deflectd;

/* Starts every [source] of type x; -1 with a message in err. */
int source_x_start_all(struct deflectd *d, char *err, size_t errlen);
void source_x_stop_all(struct deflectd *d);

#endif
