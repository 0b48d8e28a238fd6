/*
 * Webhook delivery. The outbox and the deliveries table are the truth; this
 * module only moves rows from pending to delivered or dead, one committed
 * outcome per attempt, so a crash at any point at worst repeats a request
 * (receivers deduplicate on webhook-id).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "alert.h"
#include "buf.h"
#include "curlev.h"
#include "daemon.h"
#include "log.h"
#include "webhook.h"
#include "xmalloc.h"

#define MAX_KEYS 8
#define RESPONSE_MAX 4096
/* A Retry-After longer than this is taken as this. */
#define RETRY_AFTER_MAX 86400
/* Alerts one digest carries at most; more open another digest of the group. */
#define DIGEST_MAX 1000
/* Digests sealed per webhook per scan. */
#define SEAL_BATCH 16

/* Request duration buckets for /metrics, in seconds. */
static const double lat_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define NLAT (sizeof lat_bounds / sizeof lat_bounds[0])

struct hook {
	struct webhooks *ws;
	const struct webhook_config *cfg;
	uint64_t lat[NLAT + 1]; /* per bucket; the last is +Inf */
	double lat_sum;
	uint64_t delivered, failed, dead, gone;
	unsigned char keys[MAX_KEYS][64];
	size_t keylens[MAX_KEYS];
	size_t nkeys;
	int inflight;
	int disabled;
	/* rate_limit: start times (monotonic ms) of the last rate_count requests, a ring. */
	int64_t *sent;
	int sent_next;
	uint64_t limited; /* scans that found requests due but the limit reached */
};

struct delivery {
	struct hook *h;
	char *alert_id;
	int attempts;
	int64_t created_at;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	struct timespec started;
	/* send-test-alert: where to put the outcome, and the loop to stop */
	struct webhook_result *res;
	struct event_base *base;
};

struct webhooks {
	struct event_base *base;
	struct store *store;
	struct curlev *cv;
	struct hook *hooks;
	size_t n;
	struct event *timer;
	/* Alert ids in flight, so the due query does not start them twice. */
	struct delivery **flying;
	size_t nflying;
};

/* Decodes "whsec_<base64>" into key; returns its length or -1. */
static int
decode_secret(const char *s, unsigned char *key, size_t keymax)
{
	unsigned char out[128];
	size_t len;
	int n;

	if (strncmp(s, "whsec_", 6) == 0)
		s += 6;
	len = strlen(s);
	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof out)
		return -1;
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len)) < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding as data. */
	while (len > 0 && s[len - 1] == '=') {
		len--;
		n--;
	}
	if (n <= 0 || (size_t)n > keymax)
		return -1;
	memcpy(key, out, (size_t)n);
	return n;
}

/* Adds every secret of one text (a secret per line) to h. */
static int
add_secrets(struct hook *h, const char *text, const char *from, char *err, size_t errlen)
{
	char *copy = xstrdup(text), *save = NULL;

	for (char *line = strtok_r(copy, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		int n = h->nkeys < MAX_KEYS ? decode_secret(line, h->keys[h->nkeys], 64) : -1;

		if (n < 0) {
			snprintf(err, errlen, "[webhook %s]: a secret in %s is not whsec_<base64> of at "
			    "most 64 bytes (or there are more than %d)", h->cfg->name, from, MAX_KEYS);
			free(copy);
			return -1;
		}
		h->keylens[h->nkeys++] = (size_t)n;
	}
	free(copy);
	return 0;
}

/* Loads a hook's signing keys from its secret files and inline secrets. */
static int
load_keys(struct hook *h, const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < h->cfg->nsecret_files; i++) {
		char *text = daemon_read_secret(cfg, h->cfg->secret_files[i], err, errlen);

		if (text == NULL)
			return -1;
		int rc = add_secrets(h, text, "secret_file", err, errlen);
		OPENSSL_cleanse(text, strlen(text));
		free(text);
		if (rc != 0)
			return -1;
	}
	for (size_t i = 0; i < h->cfg->nsecrets; i++)
		if (add_secrets(h, h->cfg->secrets[i], "secret", err, errlen) != 0)
			return -1;
	return 0;
}

char *
webhook_signature(unsigned char (*keys)[64], const size_t *keylens, size_t nkeys,
    const char *id, int64_t ts, const char *body, size_t len)
{
	struct buf b = BUF_INIT, content = BUF_INIT;

	/* What is signed: "id.timestamp.body". */
	buf_printf(&content, "%s.%lld.", id, (long long)ts);
	buf_add(&content, body, len);
	for (size_t k = 0; k < nkeys; k++) {
		unsigned char mac[EVP_MAX_MD_SIZE], b64[EVP_MAX_MD_SIZE * 2];
		unsigned int maclen = 0;

		HMAC(EVP_sha256(), keys[k], (int)keylens[k], (const unsigned char *)content.s,
		    content.len, mac, &maclen);
		EVP_EncodeBlock(b64, mac, (int)maclen);
		buf_printf(&b, "%sv1,%s", k ? " " : "", b64);
	}
	buf_free(&content);
	return b.s ? b.s : xstrdup("");
}

/* The body a hook receives for an alert document. */
static char *
render(const struct hook *h, const char *doc)
{
	return h->cfg->slack ? alert_slack(doc) : xstrdup(doc);
}

/* Discards (a capped amount of) the receiver's answer. */
static size_t
on_write(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* Builds the request for one delivery. */
static CURL *
build_request(struct delivery *dl, const char *id, const char *doc)
{
	const struct webhook_config *wc = dl->h->cfg;
	int64_t ts = (int64_t)time(NULL);
	CURL *e = curl_easy_init();
	char hdr[512], *sig;

	if (e == NULL)
		abort(); /* out of memory */
	dl->body = render(dl->h, doc);
	if (dl->body == NULL)
		dl->body = xstrdup("{}");
	sig = webhook_signature(dl->h->keys, dl->h->keylens, dl->h->nkeys, id, ts, dl->body,
	    strlen(dl->body));
	dl->headers = curl_slist_append(NULL, "Content-Type: application/json");
	snprintf(hdr, sizeof hdr, "webhook-id: %s", id);
	dl->headers = curl_slist_append(dl->headers, hdr);
	snprintf(hdr, sizeof hdr, "webhook-timestamp: %lld", (long long)ts);
	dl->headers = curl_slist_append(dl->headers, hdr);
	if (dl->h->nkeys > 0) {
		char *line = xasprintf("webhook-signature: %s", sig);

		dl->headers = curl_slist_append(dl->headers, line);
		free(line);
	}
	free(sig);
	curl_easy_setopt(e, CURLOPT_URL, wc->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, dl->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, dl->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(dl->body));
	curl_easy_setopt(e, CURLOPT_USERAGENT, "deflectd/0.1");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(wc->timeout * 1000));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(wc->timeout * 1000));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	clock_gettime(CLOCK_MONOTONIC, &dl->started);
	return e;
}

static void
delivery_free(struct delivery *dl)
{
	if (dl->easy)
		curl_easy_cleanup(dl->easy);
	curl_slist_free_all(dl->headers);
	free(dl->body);
	free(dl->alert_id);
	free(dl);
}

/* Seconds since a delivery started. */
static double
elapsed(const struct delivery *dl)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - dl->started.tv_sec) +
	    (double)(now.tv_nsec - dl->started.tv_nsec) / 1e9;
}

/* Retry-After in seconds (delta or HTTP date), or -1. */
static int64_t
retry_after(CURL *e)
{
	struct curl_header *h;

	if (curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return -1;
	char *end;
	long v = strtol(h->value, &end, 10);
	if (end != h->value && *end == '\0')
		return v < 0 ? 0 : v;
	time_t t = curl_getdate(h->value, NULL);
	if (t < 0)
		return -1;
	return t > time(NULL) ? (int64_t)(t - time(NULL)) : 0;
}

/*
 * Exponential backoff with jitter: base * 2^(attempts-1) times 0.5..1.5,
 * capped after the jitter so no delay exceeds retry_max.
 */
static int64_t
backoff(const struct webhook_config *wc, int attempts)
{
	double d = (double)wc->retry_base * pow(2.0, attempts > 30 ? 30 : attempts - 1);

	d *= 0.5 + (double)(arc4random() % 1000) / 1000.0;
	if (d > (double)wc->retry_max)
		d = (double)wc->retry_max;
	return d < 1 ? 1 : (int64_t)d;
}

static void scan(struct webhooks *ws);

/* Takes a finished delivery out of the flying list. */
static void
land(struct webhooks *ws, struct delivery *dl)
{
	for (size_t i = 0; i < ws->nflying; i++) {
		if (ws->flying[i] == dl) {
			ws->flying[i] = ws->flying[--ws->nflying];
			break;
		}
	}
	dl->h->inflight--;
}

/* curlev callback: records the outcome of one attempt. */
static void
on_done(void *arg, CURL *e, CURLcode result)
{
	struct delivery *dl = arg;
	struct hook *h = dl->h;
	struct webhooks *ws = h->ws;
	const struct webhook_config *wc = h->cfg;
	int64_t now = (int64_t)time(NULL), next = now;
	long status = 0;
	const char *state = "pending";
	char error[256] = "";
	int attempts = dl->attempts + 1;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (result != CURLE_OK)
		snprintf(error, sizeof error, "%s", curl_easy_strerror(result));
	else if (status < 200 || status > 299)
		snprintf(error, sizeof error, "HTTP %ld", status);
	land(ws, dl);
	double secs = elapsed(dl);
	size_t b = 0;
	while (b < NLAT && secs > lat_bounds[b])
		b++;
	h->lat[b]++;
	h->lat_sum += secs;
	if (result == CURLE_OK && status >= 200 && status <= 299) {
		state = "delivered";
		h->delivered++;
		log_info("webhook %s: alert %s delivered (HTTP %ld, %.0f ms, attempt %d)", wc->name,
		    dl->alert_id, status, elapsed(dl) * 1000, attempts);
	} else if (result == CURLE_OK && status == 410) {
		h->disabled = 1;
		h->gone++;
		log_warnx("webhook %s: HTTP 410 Gone; delivery to it is disabled until re-enabled "
		    "(deflectd alerts enable-webhook %s)", wc->name, wc->name);
		if (store_begin(ws->store) == 0) {
			if (store_webhook_disable(ws->store, wc->name, now, "HTTP 410 Gone") != 0)
				store_rollback(ws->store);
			else
				store_commit(ws->store);
		}
	} else {
		int64_t ra = result == CURLE_OK && status == 429 ? retry_after(e) : -1;

		int64_t wait = backoff(wc, attempts);

		/* Retry-After may lengthen the backoff, never shorten it ("0" would spin). */
		if (ra > wait)
			wait = ra > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : ra;
		next = now + wait;
		h->failed++;
		if (next - dl->created_at > wc->max_age) {
			state = "dead";
			h->dead++;
			log_warnx("webhook %s: alert %s is dead after %d attempts (%s); requeue it with "
			    "deflectd alerts requeue %s", wc->name, dl->alert_id, attempts, error,
			    dl->alert_id);
		} else {
			log_warning("webhook %s: alert %s attempt %d failed (%s); retry in %llds",
			    wc->name, dl->alert_id, attempts, error, (long long)(next - now));
		}
	}
	if (store_begin(ws->store) == 0) {
		if (store_delivery_set(ws->store, dl->alert_id, wc->name, state, attempts, next,
		    status, *error ? error : NULL, now) != 0)
			store_rollback(ws->store);
		else
			store_commit(ws->store);
	}
	dl->easy = NULL;
	curl_easy_cleanup(e);
	delivery_free(dl);
	scan(ws);
}

/* Is this alert already being sent to h? */
static int
flying(const struct webhooks *ws, const struct hook *h, const char *id)
{
	for (size_t i = 0; i < ws->nflying; i++)
		if (ws->flying[i]->h == h && strcmp(ws->flying[i]->alert_id, id) == 0)
			return 1;
	return 0;
}

/* Monotonic milliseconds, for the rate limit. */
static int64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * May h start a request now? With rate_limit N/P, only when its Nth latest
 * request started at least P ago: never more than N in any window of P.
 */
static int
rate_ok(const struct hook *h)
{
	int64_t oldest;

	if (h->cfg->rate_count == 0)
		return 1;
	oldest = h->sent[h->sent_next];
	return oldest == 0 || mono_ms() - oldest >= h->cfg->rate_period * 1000;
}

/* Notes a request start against the rate limit. */
static void
rate_take(struct hook *h)
{
	if (h->cfg->rate_count == 0)
		return;
	h->sent[h->sent_next] = mono_ms();
	h->sent_next = (h->sent_next + 1) % h->cfg->rate_count;
}

struct due_ctx {
	struct webhooks *ws;
	struct hook *h;
	int limited; /* a due delivery waited for the rate limit */
};

/* store_deliveries_due callback: starts one delivery. */
static void
start_one(void *arg, const char *alert_id, const char *doc, int attempts, int64_t created_at)
{
	struct due_ctx *c = arg;
	struct delivery *dl;

	if (c->h->inflight >= c->h->cfg->concurrency || flying(c->ws, c->h, alert_id))
		return;
	if (!rate_ok(c->h)) {
		c->limited = 1;
		return;
	}
	rate_take(c->h);
	dl = xcalloc(1, sizeof *dl);
	dl->h = c->h;
	dl->alert_id = xstrdup(alert_id);
	dl->attempts = attempts;
	dl->created_at = created_at;
	dl->easy = build_request(dl, alert_id, doc);
	if (curlev_add(c->ws->cv, dl->easy, on_done, dl) != 0) {
		delivery_free(dl);
		return;
	}
	log_debug("webhook %s: sending alert %s (attempt %d)", c->h->cfg->name, alert_id,
	    attempts + 1);
	c->h->inflight++;
	c->ws->flying = xreallocarray(c->ws->flying, c->ws->nflying + 1, sizeof *c->ws->flying);
	c->ws->flying[c->ws->nflying++] = dl;
}

struct seal_ctx {
	char *ids[SEAL_BATCH], *keys[SEAL_BATCH];
	size_t n;
};

/* store_digests_due callback: remembers a digest to seal. */
static void
collect_digest(void *arg, const char *id, const char *key)
{
	struct seal_ctx *c = arg;

	if (c->n < SEAL_BATCH) {
		c->ids[c->n] = xstrdup(id);
		c->keys[c->n++] = xstrdup(key);
	}
}

/* store_digest_members callback: one alert document into the digest. */
static void
add_member(void *arg, const char *body)
{
	json_t *doc = json_loads(body, 0, NULL);

	if (doc != NULL)
		json_array_append_new(arg, doc);
}

/*
 * Seals h's digests whose time has come: the digest document (its alerts as
 * they were raised) goes to the outbox and one pending delivery, in one
 * transaction, and from then on it is delivered like any alert.
 */
static void
seal_due(struct webhooks *ws, struct hook *h, int64_t now)
{
	struct seal_ctx c;
	int failed = 0;

	memset(&c, 0, sizeof c);
	if (store_digests_due(ws->store, h->cfg->name, now, SEAL_BATCH, collect_digest, &c) != 0 ||
	    c.n == 0 || store_begin(ws->store) != 0)
		goto out;
	for (size_t i = 0; i < c.n && !failed; i++) {
		json_t *members = json_array();
		char *doc = NULL;

		failed = store_digest_members(ws->store, h->cfg->name, c.ids[i], add_member,
		    members) != 0;
		if (!failed)
			doc = alert_digest(c.ids[i], h->cfg->name, c.keys[i], now, members);
		else
			json_decref(members);
		failed = failed || doc == NULL ||
		    store_outbox_add(ws->store, c.ids[i], "deflection.digest", now, doc) != 0 ||
		    store_delivery_add(ws->store, c.ids[i], h->cfg->name, now) != 0 ||
		    store_digest_seal(ws->store, c.ids[i], now) != 0;
		free(doc);
	}
	if (failed || store_commit(ws->store) != 0)
		store_rollback(ws->store);
	else
		for (size_t i = 0; i < c.n; i++)
			log_info("webhook %s: digest %s of %s sealed for delivery", h->cfg->name,
			    c.ids[i], c.keys[i]);
out:
	for (size_t i = 0; i < c.n; i++) {
		free(c.ids[i]);
		free(c.keys[i]);
	}
}

/* Seals due digests, then starts what is due, within each hook's concurrency and rate. */
static void
scan(struct webhooks *ws)
{
	int64_t now = (int64_t)time(NULL);

	/* A push is being taken in: its alerts are not committed yet. */
	if (store_in_transaction(ws->store))
		return;
	for (size_t i = 0; i < ws->n; i++) {
		struct hook *h = &ws->hooks[i];
		struct due_ctx c = {ws, h, 0};
		int room = h->cfg->concurrency - h->inflight;

		/* Even when grouping is off now: a reload must not strand an open digest. */
		seal_due(ws, h, now);
		if (h->disabled || room <= 0)
			continue;
		store_deliveries_due(ws->store, h->cfg->name, now, room + h->inflight, start_one, &c);
		h->limited += (uint64_t)c.limited;
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scan(arg);
}

struct webhooks *
webhooks_new(struct event_base *base, struct store *st, const struct config *cfg, char *err,
    size_t errlen)
{
	struct webhooks *ws = xcalloc(1, sizeof *ws);

	ws->base = base;
	ws->store = st;
	ws->n = cfg->nwebhooks;
	ws->hooks = xcalloc(ws->n, sizeof *ws->hooks);
	for (size_t i = 0; i < ws->n; i++) {
		struct hook *h = &ws->hooks[i];
		char *why;

		h->ws = ws;
		h->cfg = &cfg->hooks[i];
		if (h->cfg->rate_count > 0)
			h->sent = xcalloc((size_t)h->cfg->rate_count, sizeof *h->sent);
		if (load_keys(h, cfg, err, errlen) != 0) {
			webhooks_free(ws);
			return NULL;
		}
		if (h->nkeys == 0)
			log_notice("webhook %s: no secret; deliveries are not signed", h->cfg->name);
		if ((why = store_webhook_disabled(st, h->cfg->name)) != NULL) {
			h->disabled = 1;
			log_warnx("webhook %s: disabled (%s); re-enable with deflectd alerts "
			    "enable-webhook %s", h->cfg->name, why, h->cfg->name);
			free(why);
		}
	}
	ws->cv = curlev_new(base);
	ws->timer = event_new(base, -1, EV_PERSIST, on_timer, ws);
	struct timeval one = {1, 0};
	event_add(ws->timer, &one);
	return ws;
}

int
webhooks_check(const struct config *cfg, struct diag *d)
{
	size_t n = d->n;

	for (size_t i = 0; i < cfg->nwebhooks; i++) {
		struct hook h;
		char err[512];

		memset(&h, 0, sizeof h);
		h.cfg = &cfg->hooks[i];
		if (load_keys(&h, cfg, err, sizeof err) != 0)
			diag_add(d, cfg->path, cfg->webhooks[i].line, 1, "%s", err);
		OPENSSL_cleanse(h.keys, sizeof h.keys);
	}
	return (int)(d->n - n);
}

void
webhooks_free(struct webhooks *ws)
{
	if (ws == NULL)
		return;
	for (size_t i = 0; i < ws->nflying; i++) {
		/* Out of the multi handle first, with what curlev keeps for it. */
		curlev_remove(ws->cv, ws->flying[i]->easy);
		delivery_free(ws->flying[i]);
	}
	free(ws->flying);
	curlev_free(ws->cv);
	if (ws->timer)
		event_free(ws->timer);
	for (size_t i = 0; i < ws->n; i++) {
		OPENSSL_cleanse(ws->hooks[i].keys, sizeof ws->hooks[i].keys);
		free(ws->hooks[i].sent);
	}
	free(ws->hooks);
	free(ws);
}

/* Does value appear in the list (or is the list empty)? */
static int
passes(char *const *list, size_t n, const char *value)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; value != NULL && i < n; i++)
		if (strcasecmp(list[i], value) == 0)
			return 1;
	return 0;
}

/* The group an alert falls in on h: a JSON object of its group_by fields. */
static char *
group_key(const struct hook *h, const struct webhook_alert *a)
{
	json_t *g = json_object();
	char *s;

	for (size_t i = 0; i < h->cfg->ngroup_by; i++) {
		const char *f = h->cfg->group_by[i];
		const char *v = strcmp(f, "brand") == 0 ? a->brand : strcmp(f, "type") == 0 ? a->type :
		    strcmp(f, "platform") == 0 ? a->platform : a->rule;

		json_object_set_new(g, f, v ? json_string(v) : json_null());
	}
	s = json_dumps(g, JSON_COMPACT);
	json_decref(g);
	return s;
}

/*
 * Puts an alert into the open digest of its group on h, opening one when
 * there is none: its first digest goes out group_wait from now, a later one
 * no sooner than group_interval after the group's last.
 */
static int
group_alert(struct webhooks *ws, struct hook *h, const struct webhook_alert *a, int64_t now)
{
	char *key = group_key(h, a), *id = store_digest_open(ws->store, h->cfg->name, key,
	    DIGEST_MAX), *reason;
	int rc = 0;

	if (id == NULL) {
		unsigned char rnd[12];
		int64_t last = store_digest_last(ws->store, h->cfg->name, key);
		int64_t send_at = now + h->cfg->group_wait;

		if (last > 0 && last + h->cfg->group_interval > send_at)
			send_at = last + h->cfg->group_interval;
		RAND_bytes(rnd, sizeof rnd);
		id = xmalloc(32);
		snprintf(id, 32, "dgst_");
		for (size_t i = 0; i < sizeof rnd; i++)
			snprintf(id + 5 + 2 * i, 32 - 5 - 2 * i, "%02x", rnd[i]);
		rc = store_digest_add(ws->store, id, h->cfg->name, key, now, send_at);
	}
	reason = xasprintf("grouped into digest %s", id);
	if (rc == 0)
		rc = store_delivery_held(ws->store, a->id, h->cfg->name, "grouped", reason, id, now);
	if (rc == 0)
		rc = store_digest_count(ws->store, id);
	free(reason);
	free(key);
	free(id);
	return rc;
}

int
webhooks_queue(struct webhooks *ws, const struct webhook_alert *a, int64_t now)
{
	for (size_t i = 0; i < ws->n; i++) {
		struct hook *h = &ws->hooks[i];
		const struct webhook_config *wc = h->cfg;
		int tagged = wc->ntags == 0, rc;

		for (size_t t = 0; !tagged && t < a->ntags; t++)
			tagged = passes(wc->tags, wc->ntags, a->tags[t]);
		if (!passes(wc->types, wc->ntypes, a->type) || !passes(wc->brands, wc->nbrands, a->brand) ||
		    !tagged || a->severity < wc->min_severity)
			continue;
		if (a->held != NULL)
			rc = store_delivery_held(ws->store, a->id, wc->name, a->held, a->reason, NULL, now);
		else if (wc->grouping)
			rc = group_alert(ws, h, a, now);
		else
			rc = store_delivery_add(ws->store, a->id, wc->name, now);
		if (rc != 0)
			return -1;
	}
	return 0;
}

void
webhooks_inherit(struct webhooks *ws, const struct webhooks *old)
{
	for (size_t i = 0; old != NULL && i < ws->n; i++) {
		struct hook *h = &ws->hooks[i];

		for (size_t j = 0; j < old->n; j++) {
			const struct hook *o = &old->hooks[j];

			if (strcmp(h->cfg->name, o->cfg->name) != 0)
				continue;
			memcpy(h->lat, o->lat, sizeof h->lat);
			h->lat_sum = o->lat_sum;
			h->delivered = o->delivered;
			h->failed = o->failed;
			h->dead = o->dead;
			h->gone = o->gone;
			h->limited = o->limited;
			if (h->cfg->rate_count == o->cfg->rate_count && h->sent != NULL) {
				memcpy(h->sent, o->sent, (size_t)h->cfg->rate_count * sizeof *h->sent);
				h->sent_next = o->sent_next;
			}
			break;
		}
	}
}

void
webhooks_metrics(struct webhooks *ws, struct buf *out)
{
	buf_adds(out, "# HELP deflectd_webhook_attempts_total Delivery attempts by outcome.\n"
		      "# TYPE deflectd_webhook_attempts_total counter\n");
	for (size_t i = 0; i < ws->n; i++) {
		struct hook *h = &ws->hooks[i];
		const char *n = h->cfg->name;

		buf_printf(out, "deflectd_webhook_attempts_total{webhook=\"%s\",outcome=\"delivered\"} %llu\n"
		    "deflectd_webhook_attempts_total{webhook=\"%s\",outcome=\"failed\"} %llu\n"
		    "deflectd_webhook_attempts_total{webhook=\"%s\",outcome=\"gone\"} %llu\n",
		    n, (unsigned long long)h->delivered, n, (unsigned long long)h->failed, n,
		    (unsigned long long)h->gone);
	}
	buf_adds(out, "# HELP deflectd_webhook_rate_limited_total Looks for due deliveries (one a "
		      "second) that found rate_limit reached.\n# TYPE deflectd_webhook_rate_limited_total counter\n");
	for (size_t i = 0; i < ws->n; i++)
		buf_printf(out, "deflectd_webhook_rate_limited_total{webhook=\"%s\"} %llu\n",
		    ws->hooks[i].cfg->name, (unsigned long long)ws->hooks[i].limited);
	buf_adds(out, "# HELP deflectd_webhook_disabled Whether a webhook is disabled after 410 Gone.\n"
		      "# TYPE deflectd_webhook_disabled gauge\n");
	for (size_t i = 0; i < ws->n; i++)
		buf_printf(out, "deflectd_webhook_disabled{webhook=\"%s\"} %d\n",
		    ws->hooks[i].cfg->name, ws->hooks[i].disabled);
	buf_adds(out, "# HELP deflectd_webhook_request_duration_seconds Webhook request latency.\n"
		      "# TYPE deflectd_webhook_request_duration_seconds histogram\n");
	for (size_t i = 0; i < ws->n; i++) {
		struct hook *h = &ws->hooks[i];
		uint64_t cum = 0;

		for (size_t b = 0; b <= NLAT; b++) {
			cum += h->lat[b];
			if (b < NLAT)
				buf_printf(out, "deflectd_webhook_request_duration_seconds_bucket{"
				    "webhook=\"%s\",le=\"%g\"} %llu\n", h->cfg->name, lat_bounds[b],
				    (unsigned long long)cum);
			else
				buf_printf(out, "deflectd_webhook_request_duration_seconds_bucket{"
				    "webhook=\"%s\",le=\"+Inf\"} %llu\n", h->cfg->name,
				    (unsigned long long)cum);
		}
		buf_printf(out, "deflectd_webhook_request_duration_seconds_sum{webhook=\"%s\"} %g\n"
		    "deflectd_webhook_request_duration_seconds_count{webhook=\"%s\"} %llu\n",
		    h->cfg->name, h->lat_sum, h->cfg->name, (unsigned long long)cum);
	}
}

void
webhooks_kick(struct webhooks *ws)
{
	/* Runs after the current callback, once the batch that queued them is committed. */
	event_active(ws->timer, EV_TIMEOUT, 0);
}

/* send-test-alert's completion: keep the outcome and stop the loop. */
static void
on_once(void *arg, CURL *e, CURLcode result)
{
	struct delivery *dl = arg;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &dl->res->status);
	if (result != CURLE_OK)
		snprintf(dl->res->error, sizeof dl->res->error, "%s", curl_easy_strerror(result));
	dl->res->seconds = elapsed(dl);
	event_base_loopbreak(dl->base);
}

int
webhook_send_once(struct event_base *base, const struct config *cfg,
    const struct webhook_config *hook, const char *id, const char *doc,
    struct webhook_result *res, char *err, size_t errlen)
{
	struct hook h;
	struct delivery dl;
	struct curlev *cv;
	int rc = 0;

	memset(&h, 0, sizeof h);
	memset(&dl, 0, sizeof dl);
	memset(res, 0, sizeof *res);
	h.cfg = hook;
	if (load_keys(&h, cfg, err, errlen) != 0)
		return -1;
	dl.h = &h;
	dl.res = res;
	dl.base = base;
	cv = curlev_new(base);
	dl.easy = build_request(&dl, id, doc);
	if (curlev_add(cv, dl.easy, on_once, &dl) != 0) {
		snprintf(err, errlen, "libcurl refused the request");
		rc = -1;
	} else {
		event_base_dispatch(base);
	}
	curl_easy_cleanup(dl.easy);
	curl_slist_free_all(dl.headers);
	free(dl.body);
	curlev_free(cv);
	OPENSSL_cleanse(h.keys, sizeof h.keys);
	return rc;
}
