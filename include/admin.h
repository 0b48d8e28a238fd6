/*
 * The admin HTTP listener (libevent's evhttp): /healthz, and POST /v1/posts
 * for pushed NDJSON posts behind a bearer token.
 */
#ifndef DEFLECTD_ADMIN_H
#define DEFLECTD_ADMIN_H

#include <stddef.h>

struct deflectd;
struct admin;

/* Binds config's admin_listen; NULL with a message in err. */
struct admin *admin_new(struct deflectd *d, char *err, size_t errlen);
void admin_free(struct admin *a);

#endif
