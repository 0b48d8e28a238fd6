/*
 * libcurl multi on libevent. libcurl tells us which sockets to watch and
 * when to wake it (socket and timer callbacks); libevent tells libcurl what
 * happened (curl_multi_socket_action). Finished transfers are collected
 * after every action.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curlev.h"
#include "xmalloc.h"

struct curlev {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	int running;
};

/* What rides on an easy handle (CURLOPT_PRIVATE). */
struct xfer {
	curlev_done_fn fn;
	void *arg;
};

/* One watched socket. */
struct sock {
	struct event *ev;
	struct curlev *cv;
};

/* Hands finished transfers to their callbacks. */
static void
collect(struct curlev *cv)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(cv->multi, &left)) != NULL) {
		struct xfer *x = NULL;
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(cv->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (x != NULL) {
			x->fn(x->arg, easy, result);
			free(x);
		}
	}
}

/* libevent: a watched socket is ready. */
static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *cv = arg;
	int action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(cv->multi, fd, action, &cv->running);
	collect(cv);
}

/* libevent: libcurl's timeout expired. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *cv = arg;

	(void)fd;
	(void)what;
	curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &cv->running);
	collect(cv);
}

/* libcurl: start, change or stop watching socket s. */
static int
sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curlev *cv = userp;
	struct sock *sk = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(cv->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (sk == NULL) {
		sk = xcalloc(1, sizeof *sk);
		sk->cv = cv;
		curl_multi_assign(cv->multi, s, sk);
	} else {
		event_free(sk->ev);
	}
	sk->ev = event_new(cv->base, s, kind, on_socket, cv);
	event_add(sk->ev, NULL);
	return 0;
}

/* libcurl: wake me in timeout_ms (-1: never). */
static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *cv = userp;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	(void)multi;
	if (timeout_ms < 0)
		evtimer_del(cv->timer);
	else
		evtimer_add(cv->timer, &tv);
	return 0;
}

struct curlev *
curlev_new(struct event_base *base)
{
	struct curlev *cv = xcalloc(1, sizeof *cv);

	cv->base = base;
	cv->multi = curl_multi_init();
	cv->timer = evtimer_new(base, on_timer, cv);
	if (cv->multi == NULL || cv->timer == NULL)
		abort(); /* only out of memory */
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
	return cv;
}

void
curlev_free(struct curlev *cv)
{
	if (cv == NULL)
		return;
	curl_multi_cleanup(cv->multi);
	event_free(cv->timer);
	free(cv);
}

int
curlev_add(struct curlev *cv, CURL *easy, curlev_done_fn fn, void *arg)
{
	struct xfer *x = xcalloc(1, sizeof *x);

	x->fn = fn;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(cv->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -1;
	}
	return 0;
}

int
curlev_running(const struct curlev *cv)
{
	return cv->running;
}

void
curlev_remove(struct curlev *cv, CURL *easy)
{
	struct xfer *x = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	curl_multi_remove_handle(cv->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(x);
}

/* Network answers are capped: a larger one fails its transfer (STYLE.md 9). */
#define COLLECT_MAX (8 * 1024 * 1024)

size_t
curlev_collect(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->len + size * n > COLLECT_MAX)
		return 0;
	buf_add(b, data, size * n);
	return size * n;
}

struct curl_slist *
curlev_bearer(struct curl_slist *h, const char *token)
{
	char *line = xasprintf("Authorization: Bearer %s", token);

	h = curl_slist_append(h, line);
	free(line);
	return h;
}

/* The options every REST request of a source shares. */
void
curlev_req_init(struct curlev_req *r, const char *url, const char *token)
{
	r->easy = curl_easy_init();
	if (token != NULL) {
		r->h = curlev_bearer(NULL, token);
		curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->h);
	}
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, curlev_collect);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, &r->body);
}

/* On the list only once libcurl took it, so the list holds transfers that will call back. */
int
curlev_req_start(struct curlev *cv, struct curlev_req **out, struct curlev_req *r,
    curlev_done_fn fn, void *arg)
{
	if (curlev_add(cv, r->easy, fn, arg) != 0)
		return -1;
	r->next = *out;
	*out = r;
	return 0;
}

/* Lists are a handful of requests long: a walk is enough. */
void
curlev_req_unlink(struct curlev_req **out, struct curlev_req *r)
{
	for (struct curlev_req **p = out; *p != NULL; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
}

/* The easy handle may be NULL when curl_easy_init failed. */
void
curlev_req_clear(struct curlev_req *r)
{
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->h);
	buf_free(&r->body);
}

/* For a source that stops: its requests end without their callbacks. */
struct curlev_req *
curlev_req_abandon(struct curlev *cv, struct curlev_req **out)
{
	struct curlev_req *r = *out;

	if (r != NULL) {
		*out = r->next;
		curlev_remove(cv, r->easy);
	}
	return r;
}

/* Drops a base URL's trailing slashes in place, so that a path starting with '/' can follow. */
void
curlev_trim_slashes(char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
}
