/*
 * libcurl's multi interface driven by the libevent loop (curl's hiperfifo
 * pattern): transfers run without ever blocking the loop, and each one ends
 * in a callback.
 */
#ifndef DEFLECTD_CURLEV_H
#define DEFLECTD_CURLEV_H

#include <curl/curl.h>
#include <event2/event.h>

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
/* Drops a base URL's trailing slashes in place (X, Mastodon and Bluesky append paths). */
void curlev_trim_slashes(char *url);
/* Transfers running now. */
int curlev_running(const struct curlev *cv);

#endif
