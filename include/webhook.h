/*
 * Alert delivery to webhooks: signed the Standard Webhooks way, sent through
 * libcurl multi on the loop, retried with backoff until a 2xx or until the
 * alert is older than max_age (then it is dead, for an operator to requeue).
 * Every attempt's outcome is written to the state database.
 */
#ifndef DEFLECTD_WEBHOOK_H
#define DEFLECTD_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "store.h"

struct webhooks;

/* Sets up delivery for cfg's webhooks; NULL with a message in err (a bad secret, say). */
struct webhooks *webhooks_new(struct event_base *base, struct store *st,
    const struct config *cfg, char *err, size_t errlen);
/* Reads and decodes every webhook's secrets as delivery will; errors go to d. */
int webhooks_check(const struct config *cfg, struct diag *d);
/* Stops delivery; requests in flight are abandoned (they stay pending). */
void webhooks_free(struct webhooks *ws);

/*
 * Queues alert_id for every webhook whose filters pass, inside the caller's
 * transaction.
 */
int webhooks_queue(struct webhooks *ws, const char *alert_id, const char *type,
    const char *brand, char *const *tags, size_t ntags, int severity, int64_t now);
/* Appends the webhook metrics in the Prometheus text format. */
void webhooks_metrics(struct webhooks *ws, struct buf *out);
/* Moves the counters of each webhook kept by a reload to its new instance, so they never drop. */
void webhooks_carry_metrics(struct webhooks *to, const struct webhooks *from);
/* Looks for due deliveries now rather than at the next tick. */
void webhooks_kick(struct webhooks *ws);

/* One delivery's outcome, for send-test-alert. */
struct webhook_result {
	long status;      /* HTTP status, 0 when none */
	char error[256];  /* transport error, "" when none */
	double seconds;
};

/*
 * Sends body to one configured webhook through the same signing and
 * transport as the daemon, running base until it is done.
 */
int webhook_send_once(struct event_base *base, const struct config *cfg,
    const struct webhook_config *hook, const char *id, const char *doc,
    struct webhook_result *res, char *err, size_t errlen);

/* The Standard Webhooks signature header value for id, timestamp and body. */
char *webhook_signature(unsigned char (*keys)[64], const size_t *keylens, size_t nkeys,
    const char *id, int64_t ts, const char *body, size_t len);

#endif
