/*
 * X API v2 documents to native posts. A tweet names its author only by id;
 * the username comes from the document's includes.users, so each document is
 * mapped as a whole. Every field that is read is type-checked, and an error
 * names the field by its path in the document ("data[3].created_at").
 *
 * The line for a tweet is built from values of the parsed document (shared by
 * reference count) and dumped by jansson, so escaping and any NUL inside text
 * come out exactly as post_parse() reads them back.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "map.h"
#include "map_x.h"
#include "post.h"

/* Ids are 64-bit snowflakes today; the cap leaves room and bounds what we store. */
#define X_ID_MAX 32
/* Usernames are at most 15 characters; this only bounds what goes into a URL. */
#define X_USERNAME_MAX 50
/* rfc3339_format() writes four-digit years only inside this range. */
#define TIME_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

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

/* Keep-alives are bare line ends; a line of only whitespace carries nothing either. */
static int
blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	}
	return 1;
}

/*
 * Gets base.key as a string. Absent and null are the same to X, so both are
 * missing: an error when required, else *out is NULL. Only text may hold a
 * NUL (nul_ok), because every other field is later used as a C string.
 */
static int
string_field(json_t *obj, const char *base, const char *key, int required, int nul_ok,
    json_t **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			seterr(err, errlen, "missing field \"%s.%s\"", base, key);
		return required ? -1 : 0;
	}
	if (!json_is_string(v)) {
		seterr(err, errlen, "field \"%s.%s\" is not a string", base, key);
		return -1;
	}
	if (!nul_ok && strlen(json_string_value(v)) != json_string_length(v)) {
		seterr(err, errlen, "field \"%s.%s\" contains a NUL byte", base, key);
		return -1;
	}
	*out = v;
	return 0;
}

/* Gets base.key as an X id: ids are strings of digits, never JSON numbers (they pass 2^53). */
static int
id_field(json_t *obj, const char *base, const char *key, int required, json_t **out, char *err,
    size_t errlen)
{
	const char *s;
	size_t n;

	if (string_field(obj, base, key, required, 0, out, err, errlen) != 0)
		return -1;
	if (*out == NULL)
		return 0;
	s = json_string_value(*out);
	n = strlen(s);
	if (n == 0 || n > X_ID_MAX || strspn(s, "0123456789") != n) {
		seterr(err, errlen, "field \"%s.%s\" is not an id of 1 to %d digits", base, key,
		    X_ID_MAX);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* A username goes into the post's URL path, so only X's own alphabet is let through. */
static int
good_username(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= X_USERNAME_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

/*
 * Checks includes.users once per document, so that a lookup cannot meet a bad
 * entry; *users is the array, or NULL when the document expands no users.
 */
static int
check_users(json_t *doc, json_t **users, char *err, size_t errlen)
{
	json_t *inc, *u, *id, *name;
	size_t i;
	char base[48];

	*users = NULL;
	inc = json_object_get(doc, "includes");
	if (inc == NULL || json_is_null(inc))
		return 0;
	if (!json_is_object(inc)) {
		seterr(err, errlen, "field \"includes\" is not an object");
		return -1;
	}
	*users = json_object_get(inc, "users");
	if (*users == NULL || json_is_null(*users)) {
		*users = NULL;
		return 0;
	}
	if (!json_is_array(*users)) {
		seterr(err, errlen, "field \"includes.users\" is not an array");
		return -1;
	}
	json_array_foreach(*users, i, u) {
		snprintf(base, sizeof base, "includes.users[%zu]", i);
		if (!json_is_object(u)) {
			seterr(err, errlen, "field \"%s\" is not an object", base);
			return -1;
		}
		if (id_field(u, base, "id", 1, &id, err, errlen) != 0 ||
		    string_field(u, base, "username", 1, 0, &name, err, errlen) != 0)
			return -1;
		if (!good_username(json_string_value(name))) {
			seterr(err, errlen, "field \"%s.username\" is not an X username", base);
			return -1;
		}
	}
	return 0;
}

/* Finds the username of author_id; NULL when the expansion left the user out. */
static json_t *
username_of(json_t *users, const char *author_id)
{
	json_t *u;
	size_t i;

	if (users == NULL)
		return NULL;
	json_array_foreach(users, i, u) {
		if (strcmp(json_string_value(json_object_get(u, "id")), author_id) == 0)
			return json_object_get(u, "username");
	}
	return NULL;
}

/*
 * Reads referenced_tweets: *parent is the replied_to id (NULL for a root) and
 * *retweet says whether the tweet is a plain retweet of someone else's post.
 */
static int
references(json_t *tweet, const char *base, json_t **parent, int *retweet, char *err,
    size_t errlen)
{
	json_t *refs, *r, *type, *id;
	size_t i;
	char rbase[96];

	*parent = NULL;
	*retweet = 0;
	refs = json_object_get(tweet, "referenced_tweets");
	if (refs == NULL || json_is_null(refs))
		return 0;
	if (!json_is_array(refs)) {
		seterr(err, errlen, "field \"%s.referenced_tweets\" is not an array", base);
		return -1;
	}
	json_array_foreach(refs, i, r) {
		snprintf(rbase, sizeof rbase, "%s.referenced_tweets[%zu]", base, i);
		if (!json_is_object(r)) {
			seterr(err, errlen, "field \"%s\" is not an object", rbase);
			return -1;
		}
		if (string_field(r, rbase, "type", 1, 0, &type, err, errlen) != 0 ||
		    id_field(r, rbase, "id", 1, &id, err, errlen) != 0)
			return -1;
		if (strcmp(json_string_value(type), "replied_to") == 0 && *parent == NULL)
			*parent = id;
		else if (strcmp(json_string_value(type), "retweeted") == 0)
			*retweet = 1;
	}
	return 0;
}

/*
 * X sends milliseconds ("2020-09-18T18:36:15.000Z"); posts carry whole
 * seconds in UTC, in the one form rfc3339_format() writes.
 */
static int
created_at(json_t *tweet, const char *base, char *out, size_t outlen, int64_t *tp, char *err,
    size_t errlen)
{
	json_t *v;
	const char *s;
	int64_t t;

	if (string_field(tweet, base, "created_at", 1, 0, &v, err, errlen) != 0)
		return -1;
	s = json_string_value(v);
	if (rfc3339_parse(s, &t) != 0 || t < TIME_MIN || t > TIME_MAX) {
		seterr(err, errlen, "field \"%s.created_at\" is not an RFC 3339 time: \"%.40s%s\"",
		    base, s, strlen(s) > 40 ? "..." : "");
		return -1;
	}
	rfc3339_format(t, out, outlen);
	*tp = t;
	return 0;
}

/*
 * A long post's text field holds only its first 280 characters; the whole
 * text is in note_tweet.text when the request asked for note_tweet.
 */
static int
tweet_text(json_t *tweet, const char *base, json_t **text, char *err, size_t errlen)
{
	json_t *note, *full;
	char nbase[96];

	if (string_field(tweet, base, "text", 1, 1, text, err, errlen) != 0)
		return -1;
	note = json_object_get(tweet, "note_tweet");
	if (note == NULL || json_is_null(note))
		return 0;
	snprintf(nbase, sizeof nbase, "%s.note_tweet", base);
	if (!json_is_object(note)) {
		seterr(err, errlen, "field \"%s\" is not an object", nbase);
		return -1;
	}
	if (string_field(note, nbase, "text", 0, 1, &full, err, errlen) != 0)
		return -1;
	if (full != NULL)
		*text = full;
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
 * Maps the tweet at base. Returns 1 for a line appended, 0 for a retweet and
 * -1 for a malformed tweet, which appends nothing.
 */
static int
map_tweet(json_t *tweet, const char *base, json_t *users, struct buf *out,
    struct map_span *span, char *err, size_t errlen)
{
	json_t *id, *text, *author_id, *conv, *lang, *parent, *username, *post;
	char when[32], url[160];
	int64_t t;
	int retweet;

	if (!json_is_object(tweet)) {
		seterr(err, errlen, "field \"%s\" is not an object", base);
		return -1;
	}
	if (id_field(tweet, base, "id", 1, &id, err, errlen) != 0 ||
	    tweet_text(tweet, base, &text, err, errlen) != 0 ||
	    id_field(tweet, base, "author_id", 1, &author_id, err, errlen) != 0 ||
	    id_field(tweet, base, "conversation_id", 1, &conv, err, errlen) != 0 ||
	    created_at(tweet, base, when, sizeof when, &t, err, errlen) != 0 ||
	    string_field(tweet, base, "lang", 0, 0, &lang, err, errlen) != 0 ||
	    references(tweet, base, &parent, &retweet, err, errlen) != 0)
		return -1;
	if (retweet)
		return 0;
	if (lang != NULL && json_string_length(lang) == 0)
		lang = NULL;

	/* A suspended or protected author drops out of includes; the id still names them. */
	username = username_of(users, json_string_value(author_id));
	if (username != NULL)
		snprintf(url, sizeof url, "https://x.com/%s/status/%s", json_string_value(username),
		    json_string_value(id));
	else
		snprintf(url, sizeof url, "https://x.com/i/web/status/%s", json_string_value(id));

	post = json_object();
	json_object_set(post, "id", id);
	json_object_set_new(post, "platform", json_string("twitter"));
	json_object_set(post, "conversation_id", conv);
	json_object_set_new(post, "in_reply_to_id", parent ? json_incref(parent) : json_null());
	json_object_set(post, "author", username ? username : author_id);
	json_object_set_new(post, "created_at", json_string(when));
	json_object_set(post, "text", text);
	json_object_set_new(post, "url", json_string(url));
	json_object_set_new(post, "lang", lang ? json_incref(lang) : json_null());
	emit(out, post);
	json_decref(post);
	map_span_add(span, json_string_value(id), t);
	return 1;
}

/* Returns v's text when it is a non-empty string, else dflt: a message is never empty. */
static const char *
text_or(json_t *v, const char *dflt)
{
	return json_is_string(v) && *json_string_value(v) != '\0' ? json_string_value(v) : dflt;
}

/*
 * Says what a document without data is: an empty search page (0), an error
 * object (-2), or neither (-1). The first problem's title and detail are what
 * an operator needs to tell a disconnect from a revoked token.
 */
static int
no_data(json_t *doc, char *err, size_t errlen)
{
	json_t *errors, *p, *title, *detail;
	size_t n = 0;

	errors = json_object_get(doc, "errors");
	if (json_is_array(errors) && (n = json_array_size(errors)) > 0)
		p = json_array_get(errors, 0);
	else if (json_is_string(json_object_get(doc, "title")))
		p = doc; /* a bare problem, as sent with HTTP errors */
	else if (json_is_object(json_object_get(doc, "meta")))
		return 0; /* a search with no results has only meta */
	else {
		seterr(err, errlen, "missing field \"data\"");
		return -1;
	}
	title = json_object_get(p, "title");
	detail = json_object_get(p, "detail");
	seterr(err, errlen, "%s%s%s%s", text_or(title, "error"), text_or(detail, NULL) ? ": " : "",
	    text_or(detail, ""), n > 1 ? " (and more errors)" : "");
	return -2;
}

/*
 * The document is parsed whole, so out only grows once the envelope is known
 * to be good; a search page's bad tweets are left out one by one.
 */
int
map_x(const char *json, size_t len, struct buf *out, size_t *skipped, char *err, size_t errlen)
{
	return map_x_span(json, len, out, skipped, NULL, err, errlen);
}

int
map_x_span(const char *json, size_t len, struct buf *out, size_t *skipped,
    struct map_span *span, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc, *data, *users, *tweet;
	size_t i, nskipped = 0;
	char base[32], scratch[256];
	int n = 0, r;

	if (skipped != NULL)
		*skipped = 0;
	map_span_reset(span);
	if (errlen > 0)
		err[0] = '\0';
	if (blank(json, len))
		return 0;
	/* DECODE_ANY so that a bare scalar is "not a JSON object", not a syntax error. */
	doc = json_loadb(json, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
	if (doc == NULL) {
		seterr(err, errlen, "not JSON: %s at column %d", je.text, je.column);
		return -1;
	}
	if (!json_is_object(doc)) {
		seterr(err, errlen, "not a JSON object");
		json_decref(doc);
		return -1;
	}
	data = json_object_get(doc, "data");
	if (data == NULL || json_is_null(data)) {
		n = no_data(doc, err, errlen);
		goto done;
	}
	if (check_users(doc, &users, err, errlen) != 0) {
		n = -1;
		goto done;
	}
	if (json_is_object(data)) {
		n = map_tweet(data, "data", users, out, span, err, errlen);
		goto done;
	}
	if (!json_is_array(data)) {
		seterr(err, errlen, "field \"data\" is not an object or an array");
		n = -1;
		goto done;
	}
	json_array_foreach(data, i, tweet) {
		snprintf(base, sizeof base, "data[%zu]", i);
		/* Only the first reason is kept; later ones go to scratch. */
		if (nskipped == 0)
			r = map_tweet(tweet, base, users, out, span, err, errlen);
		else
			r = map_tweet(tweet, base, users, out, span, scratch, sizeof scratch);
		if (r < 0)
			nskipped++;
		else
			n += r;
	}
	if (skipped != NULL)
		*skipped = nskipped;
done:
	json_decref(doc);
	return n;
}
