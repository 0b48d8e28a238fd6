/*
 * libcurl's multi interface driven by the libevent loop (curl's hiperfifo
 * pattern): transfers run without ever blocking the loop, and each one ends
 * in a callback.
 */
#ifndef DEFLECTD_CURLEV_H
#define DEFLECTD_CURLEV_H

#include <curl/curl.h>
#include <event2/event.h>

#include "buf.h"

struct curlev;

/* Called once when a transfer ends; the easy handle is the caller's again. */
typedef void (*curlev_done_fn)(void *arg, CURL *easy, CURLcode result);

struct curlev *curlev_new(struct event_base *base);
/* Frees the multi; transfers still running are aborted without callbacks. */
void curlev_free(struct curlev *cv);
/* Starts a transfer; 0, or -1 when libcurl refused it. */
int curlev_add(struct curlev *cv, CURL *easy, curlev_done_fn fn, void *arg);
/* Abandons a transfer without its callback; the easy handle is the caller's again. */
void curlev_remove(struct curlev *cv, CURL *easy);
/* CURLOPT_WRITEFUNCTION for a struct buf * (CURLOPT_WRITEDATA), refusing an answer over 8 MiB. */
size_t curlev_collect(char *data, size_t size, size_t n, void *buf);
/* Appends "Authorization: Bearer TOKEN" to a header list. */
struct curl_slist *curlev_bearer(struct curl_slist *h, const char *token);
/*
 * One REST request of a source, on the source's list while in flight; a
 * source embeds it first in its own request (its kind, what it is for).
 */
struct curlev_req {
	struct curlev_req *next;
	CURL *easy;
	struct curl_slist *h;
	struct buf body; /* the answer, capped by curlev_collect */
};

/*
 * Sets r (zeroed) up as a GET of url, with token as a bearer unless NULL,
 * a 30 s timeout and the answer collected in r->body; the caller may set
 * more options before curlev_req_start().
 */
void curlev_req_init(struct curlev_req *r, const char *url, const char *token);
/* Starts r and puts it on *out; 0, or -1 when libcurl refused it (r is not on the list). */
int curlev_req_start(struct curlev *cv, struct curlev_req **out, struct curlev_req *r,
    curlev_done_fn fn, void *arg);
/* Takes r off *out once its callback runs. */
void curlev_req_unlink(struct curlev_req **out, struct curlev_req *r);
/* Frees what r holds (the easy handle, headers, answer), not r itself. */
void curlev_req_clear(struct curlev_req *r);
/* Takes the first request off *out, its transfer abandoned without callback; NULL when none. */
struct curlev_req *curlev_req_abandon(struct curlev *cv, struct curlev_req **out);
/* Drops a base URL's trailing slashes in place (X, Mastodon and Bluesky append paths). */
void curlev_trim_slashes(char *url);
/* Transfers running now. */
int curlev_running(const struct curlev *cv);

#endif
