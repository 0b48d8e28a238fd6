/*
 * Bluesky AppView responses to native posts. The shapes are the lexicons'
 * (app.bsky.feed.defs postView, feedViewPost, threadViewPost, and the
 * app.bsky.feed.post record with its reply.root and reply.parent strong refs).
 *
 * Two kinds of failure are kept apart. The response's own structure (feed,
 * thread, parent, replies) comes from the AppView; when it is wrong the whole
 * response is rejected. A post's record is written by whoever posted it; when
 * one cannot be mapped only that post is skipped, so that one odd reply cannot
 * hide a whole thread from the tracker.
 *
 * Lines are built from values of the parsed response (shared by reference
 * count) and dumped by jansson, so escaping and any NUL inside text come out
 * exactly as post_parse() reads them back.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "map.h"
#include "map_bluesky.h"
#include "post.h"
#include "xmalloc.h"

#define POST_COLLECTION "app.bsky.feed.post"
#define TYPE_THREAD_VIEW "app.bsky.feed.defs#threadViewPost"
#define TYPE_REPOST "app.bsky.feed.defs#reasonRepost"
/* What the AppView puts in author.handle when a handle fails verification. */
#define HANDLE_INVALID "handle.invalid"

/* Limits and alphabets of the atproto DID, handle and record key syntaxes. */
#define DID_MAX 2048
#define HANDLE_MAX 253
#define RKEY_MAX 512
#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define DID_CHARS ALNUM "._:%-"
#define HANDLE_CHARS ALNUM ".-"
#define RKEY_CHARS ALNUM "._:~-"

/* rfc3339_format() writes four-digit years only inside this range. */
#define TIME_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

/* What one response's posts have come to so far. */
struct mapping {
	struct buf *out;
	struct map_span *span; /* the posts appended, when the caller asked */
	json_t *seen; /* uris already given a line, as keys */
	size_t skipped;
	int lines;
	char *err; /* the first skipped post's reason */
	size_t errlen;
};

static void seterr(char *, size_t, const char *, ...) __attribute__((format(printf, 3, 4)));

/* Fills err when the caller gave room for it. */
static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Gets obj[key] as a string, named in messages as name and placed by where.
 * Absent and null are both missing. Only text may hold a NUL (nul_ok),
 * because every other field is later used as a C string.
 */
static int
string_field(json_t *obj, const char *key, const char *name, const char *where, int required,
    int nul_ok, json_t **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			seterr(err, errlen, "%s: missing field \"%s\"", where, name);
		return required ? -1 : 0;
	}
	if (!json_is_string(v)) {
		seterr(err, errlen, "%s: field \"%s\" is not a string", where, name);
		return -1;
	}
	if (!nul_ok && strlen(json_string_value(v)) != json_string_length(v)) {
		seterr(err, errlen, "%s: field \"%s\" contains a NUL byte", where, name);
		return -1;
	}
	*out = v;
	return 0;
}

/* Gets obj[key] as an object; absent and null are missing. */
static int
object_field(json_t *obj, const char *key, const char *name, const char *where, int required,
    json_t **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			seterr(err, errlen, "%s: missing field \"%s\"", where, name);
		return required ? -1 : 0;
	}
	if (!json_is_object(v)) {
		seterr(err, errlen, "%s: field \"%s\" is not an object", where, name);
		return -1;
	}
	*out = v;
	return 0;
}

/* Says whether s is n characters of the alphabet, 1 <= n <= max. */
static int
spelled(const char *s, const char *alphabet, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n <= max && strspn(s, alphabet) == n;
}

/*
 * Returns the record key of the at:// uri of a post, or NULL when uri is not
 * one. The key ends up in the post's URL, so its alphabet is checked too.
 */
static const char *
post_rkey(const char *uri)
{
	static const char coll[] = "/" POST_COLLECTION "/";
	const char *auth, *slash, *rkey;

	if (strncmp(uri, "at://", 5) != 0)
		return NULL;
	auth = uri + 5;
	if ((slash = strchr(auth, '/')) == NULL || slash == auth ||
	    (size_t)(slash - auth) > DID_MAX || strspn(auth, DID_CHARS) != (size_t)(slash - auth))
		return NULL;
	if (strncmp(slash, coll, sizeof coll - 1) != 0)
		return NULL;
	rkey = slash + sizeof coll - 1;
	if (!spelled(rkey, RKEY_CHARS, RKEY_MAX) || strcmp(rkey, ".") == 0 ||
	    strcmp(rkey, "..") == 0)
		return NULL;
	return rkey;
}

/* Gets a strong ref's uri (record.reply.root or .parent), which must name a post. */
static int
ref_uri(json_t *reply, const char *key, const char *where, json_t **out, char *err,
    size_t errlen)
{
	json_t *ref;
	char name[40];

	snprintf(name, sizeof name, "record.reply.%s", key);
	if (object_field(reply, key, name, where, 1, &ref, err, errlen) != 0)
		return -1;
	snprintf(name, sizeof name, "record.reply.%s.uri", key);
	if (string_field(ref, "uri", name, where, 1, 0, out, err, errlen) != 0)
		return -1;
	if (post_rkey(json_string_value(*out)) == NULL) {
		seterr(err, errlen, "%s: field \"%s\" is not the at:// uri of a post", where, name);
		return -1;
	}
	return 0;
}

/*
 * Picks the name a post is shown under: the handle, or the DID when the
 * AppView could not verify the handle (that name resolves to nobody).
 */
static int
author_name(json_t *pv, const char *where, json_t **who, char *err, size_t errlen)
{
	json_t *author, *handle, *did;

	if (object_field(pv, "author", "author", where, 1, &author, err, errlen) != 0 ||
	    string_field(author, "handle", "author.handle", where, 1, 0, &handle, err, errlen) != 0)
		return -1;
	if (strcmp(json_string_value(handle), HANDLE_INVALID) != 0) {
		if (!spelled(json_string_value(handle), HANDLE_CHARS, HANDLE_MAX)) {
			seterr(err, errlen, "%s: field \"author.handle\" is not a handle", where);
			return -1;
		}
		*who = handle;
		return 0;
	}
	if (string_field(author, "did", "author.did", where, 1, 0, &did, err, errlen) != 0)
		return -1;
	if (strncmp(json_string_value(did), "did:", 4) != 0 ||
	    !spelled(json_string_value(did), DID_CHARS, DID_MAX)) {
		seterr(err, errlen, "%s: field \"author.did\" is not a DID", where);
		return -1;
	}
	*who = did;
	return 0;
}

/* Reads record.createdAt, which clients write with milliseconds, as whole seconds in UTC. */
static int
created_at(json_t *record, const char *where, char *out, size_t outlen, int64_t *tp, char *err,
    size_t errlen)
{
	json_t *v;
	const char *s;
	int64_t t;

	if (string_field(record, "createdAt", "record.createdAt", where, 1, 0, &v, err, errlen) !=
	    0)
		return -1;
	s = json_string_value(v);
	if (rfc3339_parse(s, &t) != 0 || t < TIME_MIN || t > TIME_MAX) {
		seterr(err, errlen, "%s: field \"record.createdAt\" is not an RFC 3339 time: "
		    "\"%.40s%s\"", where, s, strlen(s) > 40 ? "..." : "");
		return -1;
	}
	rfc3339_format(t, out, outlen);
	*tp = t;
	return 0;
}

/* Reads the first of record.langs, the language the poster chose first; NULL when none. */
static int
first_lang(json_t *record, const char *where, json_t **lang, char *err, size_t errlen)
{
	json_t *langs = json_object_get(record, "langs"), *first;

	*lang = NULL;
	if (langs == NULL || json_is_null(langs))
		return 0;
	if (!json_is_array(langs)) {
		seterr(err, errlen, "%s: field \"record.langs\" is not an array", where);
		return -1;
	}
	if (json_array_size(langs) == 0)
		return 0;
	first = json_array_get(langs, 0);
	if (!json_is_string(first) ||
	    strlen(json_string_value(first)) != json_string_length(first)) {
		seterr(err, errlen, "%s: field \"record.langs[0]\" is not a string without NUL bytes",
		    where);
		return -1;
	}
	if (json_string_length(first) > 0)
		*lang = first;
	return 0;
}

/* Appends post as one line; jansson escapes every newline, so it cannot split. */
static void
emit(struct buf *out, json_t *post)
{
	char *s = json_dumps(post, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s == NULL)
		abort(); /* only out of memory (STYLE.md 5) */
	buf_adds(out, s);
	buf_addc(out, '\n');
	free(s);
}

/*
 * Maps a postView. Messages place it by its uri once that is known good, else
 * by where. Returns 1 for a line appended, 0 for a post already given one,
 * and -1 for a post that cannot be mapped, which appends nothing.
 */
static int
map_post(json_t *pv, const char *where, json_t *seen, struct buf *out, struct map_span *span,
    char *err, size_t errlen)
{
	json_t *uri, *who, *record, *text, *lang, *reply, *root = NULL, *parent = NULL, *post;
	const char *rkey;
	char when[32], *url;
	int64_t t;

	if (pv == NULL || json_is_null(pv)) {
		seterr(err, errlen, "%s: missing", where);
		return -1;
	}
	if (!json_is_object(pv)) {
		seterr(err, errlen, "%s: not an object", where);
		return -1;
	}
	if (string_field(pv, "uri", "uri", where, 1, 0, &uri, err, errlen) != 0)
		return -1;
	if ((rkey = post_rkey(json_string_value(uri))) == NULL) {
		seterr(err, errlen, "%s: field \"uri\" is not the at:// uri of a post: \"%.80s\"",
		    where, json_string_value(uri));
		return -1;
	}
	where = json_string_value(uri);
	if (json_object_get(seen, where) != NULL)
		return 0;
	if (author_name(pv, where, &who, err, errlen) != 0 ||
	    object_field(pv, "record", "record", where, 1, &record, err, errlen) != 0 ||
	    string_field(record, "text", "record.text", where, 1, 1, &text, err, errlen) != 0 ||
	    created_at(record, where, when, sizeof when, &t, err, errlen) != 0 ||
	    first_lang(record, where, &lang, err, errlen) != 0 ||
	    object_field(record, "reply", "record.reply", where, 0, &reply, err, errlen) != 0)
		return -1;
	if (reply != NULL && (ref_uri(reply, "root", where, &root, err, errlen) != 0 ||
	    ref_uri(reply, "parent", where, &parent, err, errlen) != 0))
		return -1;

	url = xasprintf("https://bsky.app/profile/%s/post/%s", json_string_value(who), rkey);
	post = json_object();
	json_object_set(post, "id", uri);
	json_object_set_new(post, "platform", json_string("bluesky"));
	json_object_set(post, "conversation_id", root ? root : uri);
	json_object_set_new(post, "in_reply_to_id", parent ? json_incref(parent) : json_null());
	json_object_set(post, "author", who);
	json_object_set_new(post, "created_at", json_string(when));
	json_object_set(post, "text", text);
	json_object_set_new(post, "url", json_string(url));
	json_object_set_new(post, "lang", lang ? json_incref(lang) : json_null());
	emit(out, post);
	json_decref(post);
	free(url);
	json_object_set_new(seen, json_string_value(uri), json_true());
	map_span_add(span, json_string_value(uri), t);
	return 1;
}

/* Maps one postView into m, keeping the first skipped post's reason. */
static void
take(struct mapping *m, json_t *pv, const char *where)
{
	char scratch[256];
	int r;

	if (m->skipped == 0)
		r = map_post(pv, where, m->seen, m->out, m->span, m->err, m->errlen);
	else
		r = map_post(pv, where, m->seen, m->out, m->span, scratch, sizeof scratch);
	if (r < 0)
		m->skipped++;
	else
		m->lines += r;
}

/* Parses a response, which must be a JSON object. */
static json_t *
load(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc;

	/* A NUL is legal JSON in a post's text, so the parser must not refuse it. */
	doc = json_loadb(json, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
	if (doc == NULL) {
		seterr(err, errlen, "not JSON: %s at column %d", je.text, je.column);
		return NULL;
	}
	if (!json_is_object(doc)) {
		seterr(err, errlen, "not a JSON object");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Returns v's text when it is a non-empty string, else dflt: a message is never empty. */
static const char *
text_or(json_t *v, const char *dflt)
{
	return json_is_string(v) && *json_string_value(v) != '\0' ? json_string_value(v) : dflt;
}

/* A response without its payload is an XRPC error (-2) when it says so, else malformed (-1). */
static int
missing(json_t *doc, const char *key, char *err, size_t errlen)
{
	json_t *error = json_object_get(doc, "error"), *msg = json_object_get(doc, "message");

	if (json_is_string(error)) {
		seterr(err, errlen, "%s%s%s", text_or(error, "XRPC error"),
		    text_or(msg, NULL) ? ": " : "", text_or(msg, ""));
		return -2;
	}
	seterr(err, errlen, "missing field \"%s\"", key);
	return -1;
}

/* Says whether a feed item is there only because the feed's owner reposted it. */
static int
is_repost(json_t *item)
{
	json_t *type = json_object_get(json_object_get(item, "reason"), "$type");

	return json_is_string(type) && strcmp(json_string_value(type), TYPE_REPOST) == 0;
}

/* Prepares the caller's outputs so that every early return leaves them defined. */
static void
start(struct mapping *m, struct buf *out, size_t *skipped, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	m->out = out;
	m->err = err;
	m->errlen = errlen;
	if (skipped != NULL)
		*skipped = 0;
	if (errlen > 0)
		err[0] = '\0';
	/* Reserving makes out->s non-NULL, so a rollback can always terminate it. */
	buf_reserve(out, 0);
}

/* Takes back every line of a response that turned out malformed. */
static void
rollback(struct buf *out, size_t len)
{
	out->len = len;
	out->s[len] = '\0';
}

/*
 * The cursor is checked before any post, so that a page's posts are never
 * taken without the position that comes after them.
 */
int
map_bluesky_feed(const char *json, size_t len, struct buf *out, char *cursor, size_t cursorlen,
    size_t *skipped, char *err, size_t errlen)
{
	return map_bluesky_feed_span(json, len, out, cursor, cursorlen, skipped, NULL, err,
	    errlen);
}

int
map_bluesky_feed_span(const char *json, size_t len, struct buf *out, char *cursor,
    size_t cursorlen, size_t *skipped, struct map_span *span, char *err, size_t errlen)
{
	struct mapping m;
	json_t *doc, *feed, *cur, *item;
	size_t i, mark;
	char where[48];
	int rc;

	start(&m, out, skipped, err, errlen);
	m.span = span;
	map_span_reset(span);
	mark = out->len;
	if (cursor != NULL && cursorlen > 0)
		cursor[0] = '\0';
	if ((doc = load(json, len, err, errlen)) == NULL)
		return -1;
	feed = json_object_get(doc, "feed");
	if (feed == NULL || json_is_null(feed)) {
		rc = missing(doc, "feed", err, errlen);
		goto done;
	}
	rc = -1;
	if (!json_is_array(feed)) {
		seterr(err, errlen, "field \"feed\" is not an array");
		goto done;
	}
	cur = json_object_get(doc, "cursor");
	if (cur != NULL && !json_is_null(cur)) {
		if (string_field(doc, "cursor", "cursor", "feed page", 1, 0, &cur, err, errlen) != 0)
			goto done;
		if (cursor != NULL && json_string_length(cur) >= cursorlen) {
			seterr(err, errlen, "field \"cursor\" is longer than %zu bytes",
			    cursorlen > 0 ? cursorlen - 1 : 0);
			goto done;
		}
	} else
		cur = NULL;

	m.seen = json_object();
	json_array_foreach(feed, i, item) {
		if (!json_is_object(item)) {
			seterr(err, errlen, "field \"feed[%zu]\" is not an object", i);
			rollback(out, mark);
			goto done;
		}
		if (is_repost(item))
			continue;
		snprintf(where, sizeof where, "feed[%zu].post", i);
		take(&m, json_object_get(item, "post"), where);
	}
	if (cursor != NULL && cur != NULL)
		memcpy(cursor, json_string_value(cur), json_string_length(cur) + 1);
	if (skipped != NULL)
		*skipped = m.skipped;
	rc = m.lines;
done:
	if (rc < 0)
		map_span_reset(span); /* the lines were taken back */
	json_decref(m.seen);
	json_decref(doc);
	return rc;
}

/*
 * Classifies a thread item: 1 for a threadViewPost, 0 for one that gives no
 * line (notFoundPost, blockedPost, or a kind this code does not know, since
 * lexicon unions are open), -1 for something that is no thread item at all.
 * name and where say where it hangs for the message.
 */
static int
thread_item(json_t *v, const char *name, const char *where, char *err, size_t errlen)
{
	json_t *type;

	if (!json_is_object(v)) {
		seterr(err, errlen, "%s: field \"%s\" is not an object", where, name);
		return -1;
	}
	type = json_object_get(v, "$type");
	if (type != NULL) {
		if (!json_is_string(type)) {
			seterr(err, errlen, "%s: field \"%s.$type\" is not a string", where, name);
			return -1;
		}
		return strcmp(json_string_value(type), TYPE_THREAD_VIEW) == 0;
	}
	/* Unions carry $type; without it, go by the members' required fields. */
	if (json_is_true(json_object_get(v, "notFound")) ||
	    json_is_true(json_object_get(v, "blocked")))
		return 0;
	if (json_object_get(v, "post") != NULL)
		return 1;
	seterr(err, errlen, "%s: field \"%s\" is not a thread item", where, name);
	return -1;
}

/* Names a thread item in messages by its post's uri when it has a good one. */
static const char *
item_name(json_t *item)
{
	json_t *uri = json_object_get(json_object_get(item, "post"), "uri");

	if (json_is_string(uri) && post_rkey(json_string_value(uri)) != NULL)
		return json_string_value(uri);
	return "thread item";
}

/* A growable array of thread items, standing in for recursion on deep threads. */
struct items {
	json_t **v;
	size_t n, cap;
};

/* Appends item to a. */
static void
items_push(struct items *a, json_t *item)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xreallocarray(a->v, a->cap, sizeof *a->v);
	}
	a->v[a->n++] = item;
}

/*
 * The thread comes as the post asked for, with its ancestors nested upward in
 * parent and its descendants downward in replies. Ancestors are collected
 * first so that lines come in conversation order, root first; replies are
 * walked depth first with an explicit stack, as a thread may be a thousand
 * levels deep.
 */
int
map_bluesky_thread(const char *json, size_t len, struct buf *out, size_t *skipped, char *err,
    size_t errlen)
{
	struct mapping m;
	struct items up = {NULL, 0, 0}, todo = {NULL, 0, 0};
	json_t *doc, *thread, *node, *replies;
	size_t mark, i;
	char name[48];
	int rc, k;

	start(&m, out, skipped, err, errlen);
	mark = out->len;
	if ((doc = load(json, len, err, errlen)) == NULL)
		return -1;
	thread = json_object_get(doc, "thread");
	if (thread == NULL || json_is_null(thread)) {
		rc = missing(doc, "thread", err, errlen);
		goto done;
	}
	rc = -1;
	if ((k = thread_item(thread, "thread", "response", err, errlen)) < 0)
		goto done;
	if (k == 0) {
		rc = 0; /* the post asked for is deleted or blocked */
		goto done;
	}

	for (node = thread;;) {
		json_t *parent = json_object_get(node, "parent");

		if (parent == NULL || json_is_null(parent))
			break;
		if ((k = thread_item(parent, "parent", item_name(node), err, errlen)) < 0)
			goto done;
		if (k == 0)
			break; /* a deleted or blocked ancestor ends the chain */
		items_push(&up, parent);
		node = parent;
	}

	m.seen = json_object();
	for (i = up.n; i-- > 0;)
		take(&m, json_object_get(up.v[i], "post"), "thread item");
	items_push(&todo, thread);
	while (todo.n > 0) {
		node = todo.v[--todo.n];
		take(&m, json_object_get(node, "post"), "thread item");
		replies = json_object_get(node, "replies");
		if (replies == NULL || json_is_null(replies))
			continue;
		if (!json_is_array(replies)) {
			seterr(err, errlen, "%s: field \"replies\" is not an array", item_name(node));
			rollback(out, mark);
			goto done;
		}
		/* Pushed last to first, so that the first reply is walked first. */
		for (i = json_array_size(replies); i-- > 0;) {
			json_t *child = json_array_get(replies, i);

			snprintf(name, sizeof name, "replies[%zu]", i);
			if ((k = thread_item(child, name, item_name(node), err, errlen)) < 0) {
				rollback(out, mark);
				goto done;
			}
			if (k == 1)
				items_push(&todo, child);
		}
	}
	if (skipped != NULL)
		*skipped = m.skipped;
	rc = m.lines;
done:
	free(up.v);
	free(todo.v);
	json_decref(m.seen);
	json_decref(doc);
	return rc;
}
