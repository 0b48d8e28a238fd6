/*
 * The admin HTTP listener (libevent's evhttp): /healthz, and POST /v1/posts
 * for pushed NDJSON posts behind a bearer token.
 */
#ifndef DEFLECTD_ADMIN_H
#define DEFLECTD_ADMIN_H

#include <stddef.h>

#include "config.h"
#include "diag.h"

struct deflectd;
struct admin;

/*
 * Checks admin_listen and reads the token as the daemon will; problems go to
 * d with file:line. Fills host and port, and *token when token is not NULL.
 */
int admin_check(const struct config *cfg, struct diag *d, char *host, size_t hostlen,
    int *port, char **token);

/* Binds config's admin_listen; NULL with a message in err. */
struct admin *admin_new(struct deflectd *d, char *err, size_t errlen);
void admin_free(struct admin *a);
/* Takes the rest of a push being processed in slices in now, and answers it. */
void admin_push_settle(struct admin *a);

#endif
