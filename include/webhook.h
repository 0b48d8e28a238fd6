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

/* What routing an alert needs: its id, the fields filters and groups look at. */
struct webhook_alert {
	const char *id, *type, *brand, *platform, *rule;
	char *const *tags;
	size_t ntags;
	int severity;
	const char *held;   /* NULL to send; else the state it is kept in: silenced, too_old */
	const char *reason; /* why it is held, shown in alerts list and the API */
};

/*
 * Queues an alert for every webhook whose filters pass, inside the caller's
 * transaction: pending, held (a row saying why it is not sent), or grouped
 * into the open digest of its group on a webhook with group_by.
 */
int webhooks_queue(struct webhooks *ws, const struct webhook_alert *a, int64_t now);
/* Carries what a webhook kept by a reload had (counters, histogram, recent request
 * times for rate_limit) to its new instance, so nothing drops or resets. */
void webhooks_inherit(struct webhooks *ws, const struct webhooks *old);
/* Appends the webhook metrics in the Prometheus text format. */
void webhooks_metrics(struct webhooks *ws, struct buf *out);
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
