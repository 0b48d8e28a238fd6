/*
 * Mastodon Status entities (docs.joinmastodon.org/entities/Status) to native
 * NDJSON posts.
 *
 * Everything here came from the network, so every field is type-checked
 * before it is used and a bad status is an error for that status only. The
 * output is built as a jansson object and dumped, so escaping is never done
 * by hand; strings in it are either parsed JSON strings (valid UTF-8, no
 * NUL, as jansson refuses "\u0000" unless asked) or checked ASCII.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "map_mastodon.h"
#include "post.h"
#include "xmalloc.h"

/* "user@host": a 253-byte DNS name and a generous user name. */
#define ACCT_MAX 320
#define HOST_MAX 253

/* Where a status sits, for messages: "" or "descendants[3]: ". */
struct where {
	char prefix[48];
};

/* Fills err with the status's place and the reason; returns -1. */
static int __attribute__((format(printf, 4, 5)))
fail(char *err, size_t errlen, const struct where *w, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (errlen > 0)
		snprintf(err, errlen, "%s%s", w != NULL ? w->prefix : "", msg);
	return -1;
}

/* Is every byte of s printable ASCII other than space? */
static int
is_token(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Ids are opaque strings (Mastodon sends digits, other servers letters too),
 * but they become keys in the tracker and the store, so they must be short
 * and plain.
 */
static int
valid_id(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= MAP_MASTODON_ID_MAX && is_token(s, len);
}

/*
 * Reads a string field of obj named path (for messages); a missing or null
 * field is NULL, or an error when required.
 */
static int
get_string(json_t *obj, const char *key, const char *path, int required, const char **out,
    const struct where *w, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return fail(err, errlen, w, "missing field \"%s\"", path);
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, errlen, w, "field \"%s\" is not a string", path);
	*out = json_string_value(v);
	return 0;
}

/* Reads an id field: a non-empty short plain string. */
static int
get_id(json_t *obj, const char *key, int required, const char **out, const struct where *w,
    char *err, size_t errlen)
{
	if (get_string(obj, key, key, required, out, w, err, errlen) != 0)
		return -1;
	if (*out == NULL)
		return 0;
	if (**out == '\0')
		return fail(err, errlen, w, "field \"%s\" is empty", key);
	if (strlen(*out) > MAP_MASTODON_ID_MAX)
		return fail(err, errlen, w, "field \"%s\" is longer than %d bytes", key,
		    MAP_MASTODON_ID_MAX);
	if (!is_token(*out, strlen(*out)))
		return fail(err, errlen, w, "field \"%s\" holds a space or a non-ASCII byte", key);
	return 0;
}

/*
 * Makes the author "user@host": a local account's acct is the bare user
 * name, so the instance the caller talks to supplies the host.
 */
static int
author_of(const char *acct, const char *host, struct buf *author, const struct where *w,
    char *err, size_t errlen)
{
	size_t len = strlen(acct);
	const char *at = strchr(acct, '@');

	if (len == 0)
		return fail(err, errlen, w, "field \"account.acct\" is empty");
	if (len > ACCT_MAX || !is_token(acct, len) ||
	    (at != NULL && (at == acct || at[1] == '\0' || strchr(at + 1, '@') != NULL)))
		return fail(err, errlen, w, "bad account.acct \"%.64s\"", acct);
	buf_reset(author);
	buf_adds(author, acct);
	if (at != NULL)
		return 0;
	if (host == NULL || *host == '\0')
		return fail(err, errlen, w, "local account \"%.64s\" and no instance host", acct);
	if (strlen(host) > HOST_MAX || !is_token(host, strlen(host)) || strchr(host, '@') != NULL ||
	    strchr(host, '/') != NULL)
		return fail(err, errlen, w, "bad instance host \"%.64s\"", host);
	buf_addc(author, '@');
	buf_adds(author, host);
	return 0;
}

/* jansson's dump callback: appends to the struct buf in data. */
static int
dump_to_buf(const char *s, size_t len, void *data)
{
	buf_add(data, s, len);
	return 0;
}

/*
 * Maps one parsed status. conv, when set, is the conversation for every
 * status (a /context answer); else it is worked out from the parent, asking
 * page (id -> conversation of the statuses mapped before it in the same
 * answer, when not NULL) and then the caller. A mapped status is added to
 * page. Returns 1, 0 or -1 as map_mastodon_status() does.
 */
static int
map_one(json_t *st, const struct where *w, const char *host, map_mastodon_conv_cb *conv_of,
    void *arg, const char *conv, json_t *page, struct buf *out, char *err, size_t errlen)
{
	json_t *v, *account, *o;
	const char *id, *parent, *vis, *acct, *when, *content, *url, *lang, *c;
	struct buf author = BUF_INIT;
	char created[32];
	int64_t t, back;
	size_t mark = out->len;
	int rc = -1;

	if (!json_is_object(st))
		return fail(err, errlen, w, "status is not a JSON object");
	if (get_id(st, "id", 1, &id, w, err, errlen) != 0)
		return -1;

	/* A boost is someone else's post again; its original arrives on its own. */
	v = json_object_get(st, "reblog");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return fail(err, errlen, w, "field \"reblog\" is not an object or null");
		return 0;
	}
	if (get_string(st, "visibility", "visibility", 1, &vis, w, err, errlen) != 0)
		return -1;
	/* Private and direct statuses are not public replies; "limited" and others neither. */
	if (strcmp(vis, "public") != 0 && strcmp(vis, "unlisted") != 0)
		return 0;

	if (get_id(st, "in_reply_to_id", 0, &parent, w, err, errlen) != 0)
		return -1;
	account = json_object_get(st, "account");
	if (account == NULL || json_is_null(account))
		return fail(err, errlen, w, "missing field \"account\"");
	if (!json_is_object(account))
		return fail(err, errlen, w, "field \"account\" is not an object");
	if (get_string(account, "acct", "account.acct", 1, &acct, w, err, errlen) != 0 ||
	    get_string(st, "created_at", "created_at", 1, &when, w, err, errlen) != 0 ||
	    get_string(st, "content", "content", 1, &content, w, err, errlen) != 0 ||
	    get_string(st, "url", "url", 0, &url, w, err, errlen) != 0 ||
	    get_string(st, "language", "language", 0, &lang, w, err, errlen) != 0)
		return -1;

	/*
	 * Normalized to whole seconds in UTC; a time whose normal form would not
	 * parse again (a year pushed out of 0000-9999 by its offset) is refused
	 * here rather than by every reader of the line.
	 */
	if (rfc3339_parse(when, &t) != 0)
		return fail(err, errlen, w, "bad created_at \"%.40s%s\"", when,
		    strlen(when) > 40 ? "..." : "");
	rfc3339_format(t, created, sizeof created);
	if (rfc3339_parse(created, &back) != 0 || back != t)
		return fail(err, errlen, w, "created_at \"%.40s\" is out of range", when);

	if (author_of(acct, host, &author, w, err, errlen) != 0)
		goto done;

	if (conv == NULL) {
		if (parent == NULL)
			conv = id;
		else {
			/* An unknown parent stands in for the root until the context says more. */
			c = json_string_value(json_object_get(page, parent));
			if (c == NULL && conv_of != NULL)
				c = conv_of(arg, parent);
			conv = c != NULL && valid_id(c) ? c : parent;
		}
	}

	o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "platform", json_string("mastodon"));
	json_object_set_new(o, "conversation_id", json_string(conv));
	json_object_set_new(o, "in_reply_to_id", parent != NULL ? json_string(parent) : json_null());
	json_object_set_new(o, "author", json_string(author.s));
	json_object_set_new(o, "created_at", json_string(created));
	json_object_set_new(o, "text", json_string(content));
	if (url != NULL && *url != '\0')
		json_object_set_new(o, "url", json_string(url));
	if (lang != NULL && *lang != '\0')
		json_object_set_new(o, "lang", json_string(lang));
	/* Every key must be there: a value jansson refused would silently vanish. */
	if (json_object_size(o) < 7 ||
	    json_dump_callback(o, dump_to_buf, out, JSON_COMPACT) != 0) {
		json_decref(o);
		out->len = mark;
		if (out->cap > 0)
			out->s[mark] = '\0';
		fail(err, errlen, w, "cannot encode the post");
		goto done;
	}
	if (page != NULL)
		json_object_set(page, id, json_object_get(o, "conversation_id"));
	json_decref(o);
	buf_addc(out, '\n');
	rc = 1;
done:
	buf_free(&author);
	return rc;
}

/* Parses a document that must be a JSON object. */
static json_t *
load_object(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o;

	/* DECODE_ANY so that a bare scalar is "not a JSON object", not a syntax error. */
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (o == NULL) {
		fail(err, errlen, NULL, "not JSON: %s at column %d", je.text, je.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		fail(err, errlen, NULL, "not a JSON object");
		return NULL;
	}
	return o;
}

/* The status is parsed once and dropped before returning; out owns the line. */
int
map_mastodon_status(const char *json, size_t len, const char *instance_host,
    map_mastodon_conv_cb *conversation_of, void *arg, struct buf *out, char *err,
    size_t errlen)
{
	json_t *o;
	int rc;

	if ((o = load_object(json, len, err, errlen)) == NULL)
		return -1;
	rc = map_one(o, NULL, instance_host, conversation_of, arg, NULL, NULL, out, err, errlen);
	json_decref(o);
	return rc;
}

/* Finds a required array field of the context document. */
static json_t *
get_array(json_t *o, const char *key, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		fail(err, errlen, NULL, "missing field \"%s\"", key);
	else if (!json_is_array(v))
		fail(err, errlen, NULL, "field \"%s\" is not an array", key);
	else
		return v;
	return NULL;
}

/*
 * Mastodon lists ancestors oldest first, so the first is the root (the
 * oldest one the caller may see, when the true root is gone or private).
 */
int
map_mastodon_context(const char *json, size_t len, const char *focal_id,
    const char *instance_host, struct buf *out, size_t *bad, char *err, size_t errlen)
{
	json_t *o, *lists[2], *st;
	const char *names[2] = {"ancestors", "descendants"};
	const char *root;
	struct where w;
	char why[256];
	size_t i, nbad = 0;
	int n = 0, k, r;

	if (bad != NULL)
		*bad = 0;
	if (errlen > 0)
		err[0] = '\0';
	if (focal_id == NULL || !valid_id(focal_id))
		return fail(err, errlen, NULL, "bad focal status id");
	if ((o = load_object(json, len, err, errlen)) == NULL)
		return -1;
	if ((lists[0] = get_array(o, "ancestors", err, errlen)) == NULL ||
	    (lists[1] = get_array(o, "descendants", err, errlen)) == NULL)
		goto reject;

	root = focal_id;
	if (json_array_size(lists[0]) > 0) {
		snprintf(w.prefix, sizeof w.prefix, "ancestors[0]: ");
		st = json_array_get(lists[0], 0);
		if (!json_is_object(st)) {
			fail(err, errlen, &w, "status is not a JSON object");
			goto reject;
		}
		if (get_id(st, "id", 1, &root, &w, err, errlen) != 0)
			goto reject;
	}

	for (k = 0; k < 2; k++) {
		json_array_foreach(lists[k], i, st) {
			snprintf(w.prefix, sizeof w.prefix, "%s[%zu]: ", names[k], i);
			r = map_one(st, &w, instance_host, NULL, NULL, root, NULL, out, why, sizeof why);
			if (r > 0 && n < INT_MAX)
				n++;
			else if (r < 0 && nbad++ == 0 && errlen > 0)
				snprintf(err, errlen, "%s", why);
		}
	}
	if (bad != NULL)
		*bad = nbad;
	json_decref(o);
	return n;
reject:
	json_decref(o);
	return -1;
}

/* qsort: statuses by id, oldest first; one without a usable id goes first (and fails). */
static int
by_id(const void *x, const void *y)
{
	const char *a = json_string_value(json_object_get(*(json_t *const *)x, "id"));
	const char *b = json_string_value(json_object_get(*(json_t *const *)y, "id"));

	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return post_id_cmp(a, b);
}

/*
 * Statuses come newest first; they are mapped oldest first so a reply to a
 * status of the same page joins that status's conversation. newest counts
 * every status with a usable id, mapped or not: a boost, a private status or
 * a malformed one is still a place in the account's timeline to move past.
 */
int
map_mastodon_statuses(const char *json, size_t len, const char *instance_host,
                      map_mastodon_conv_cb *conversation_of, void *arg, struct buf *out,
                      char *newest, size_t newestlen, size_t *bad, char *err, size_t errlen)
{
	json_error_t je;
	json_t *a, *st, **v, *page;
	struct where w;
	char why[256];
	size_t i, n, nbad = 0;
	int mapped = 0, r;

	if (bad != NULL)
		*bad = 0;
	if (errlen > 0)
		err[0] = '\0';
	if (newestlen > 0)
		newest[0] = '\0';
	a = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (a == NULL)
		return fail(err, errlen, NULL, "not JSON: %s at column %d", je.text, je.column);
	if (!json_is_array(a)) {
		json_decref(a);
		return fail(err, errlen, NULL, "not a JSON array");
	}
	n = json_array_size(a);
	v = xcalloc(n > 0 ? n : 1, sizeof *v);
	json_array_foreach(a, i, st)
	{
		const char *id = json_string_value(json_object_get(st, "id"));

		v[i] = st;
		if (id != NULL && valid_id(id) && strlen(id) < newestlen &&
		    post_id_cmp(id, newest) > 0)
			snprintf(newest, newestlen, "%s", id);
	}
	qsort(v, n, sizeof *v, by_id);
	page = json_object();
	for (i = 0; i < n; i++) {
		snprintf(w.prefix, sizeof w.prefix, "status %.24s: ",
		         json_string_value(json_object_get(v[i], "id"))
		             ? json_string_value(json_object_get(v[i], "id"))
		             : "?");
		r = map_one(v[i], &w, instance_host, conversation_of, arg, NULL, page, out, why,
		            sizeof why);
		if (r > 0 && mapped < INT_MAX)
			mapped++;
		else if (r < 0 && nbad++ == 0 && errlen > 0)
			snprintf(err, errlen, "%s", why);
	}
	json_decref(page);
	free(v);
	json_decref(a);
	if (bad != NULL)
		*bad = nbad;
	return mapped;
}

int
map_mastodon_account_id(const char *json, size_t len, char *id, size_t idlen, char *err,
                        size_t errlen)
{
	json_t *o;
	const char *v;
	int rc = -1;

	if (idlen > 0)
		id[0] = '\0';
	if ((o = load_object(json, len, err, errlen)) == NULL)
		return -1;
	if (get_id(o, "id", 1, &v, NULL, err, errlen) == 0) {
		if (strlen(v) < idlen) {
			snprintf(id, idlen, "%s", v);
			rc = 0;
		} else {
			fail(err, errlen, NULL, "field \"id\" is too long");
		}
	}
	json_decref(o);
	return rc;
}

/* Longest streaming base taken from an instance's answer. */
#define STREAMING_URL_MAX 2048

/*
 * Only the scheme is changed: the streaming API speaks server-sent events
 * over plain HTTP(S) on the same host and port as its WebSocket endpoint.
 */
int
map_mastodon_streaming_url(const char *json, size_t len, char *out, size_t outlen, char *err,
                           size_t errlen)
{
	static const char *const schemes[][2] = {
	    {"wss://", "https://"},
	    {"ws://", "http://"},
	    {"https://", "https://"},
	    {"http://", "http://"},
	};
	json_t *o, *conf, *urls;
	const char *v = NULL, *rest = NULL, *scheme = NULL;
	size_t n;
	int rc = -1;

	if (outlen > 0)
		out[0] = '\0';
	if (errlen > 0)
		err[0] = '\0';
	if ((o = load_object(json, len, err, errlen)) == NULL)
		return -1;
	conf = json_object_get(o, "configuration");
	urls = json_object_get(conf, "urls");
	if (conf != NULL && !json_is_null(conf) && !json_is_object(conf)) {
		fail(err, errlen, NULL, "field \"configuration\" is not an object");
		goto done;
	}
	if (urls != NULL && !json_is_null(urls) && !json_is_object(urls)) {
		fail(err, errlen, NULL, "field \"configuration.urls\" is not an object");
		goto done;
	}
	if (get_string(urls, "streaming", "configuration.urls.streaming", 0, &v, NULL, err,
	               errlen) != 0)
		goto done;
	if (v == NULL || *v == '\0') {
		rc = 0; /* the instance does not say */
		goto done;
	}
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0] && scheme == NULL; i++) {
		if (strncmp(v, schemes[i][0], strlen(schemes[i][0])) == 0) {
			scheme = schemes[i][1];
			rest = v + strlen(schemes[i][0]);
		}
	}
	n = rest != NULL ? strlen(rest) : 0;
	while (n > 0 && rest[n - 1] == '/')
		n--;
	/* A base is scheme://host[:port][/path]: no user part, query or fragment. */
	if (scheme == NULL || n == 0 || rest[0] == '/' || !is_token(rest, n) ||
	    strlen(v) > STREAMING_URL_MAX || memchr(rest, '@', n) != NULL ||
	    memchr(rest, '?', n) != NULL || memchr(rest, '#', n) != NULL ||
	    memchr(rest, '\\', n) != NULL) {
		fail(err, errlen, NULL, "bad configuration.urls.streaming \"%.64s%s\"", v,
		     strlen(v) > 64 ? "..." : "");
		goto done;
	}
	if (strlen(scheme) + n >= outlen) {
		fail(err, errlen, NULL, "configuration.urls.streaming is too long");
		goto done;
	}
	snprintf(out, outlen, "%s%.*s", scheme, (int)n, rest);
	rc = 1;
done:
	json_decref(o);
	return rc;
}
