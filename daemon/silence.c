/* Silences: checked requests in, matches against an alert's fields out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "post.h"
#include "rules.h"
#include "silence.h"
#include "xmalloc.h"

const char silence_fields[] = "brand rule tag customer conversation platform";

/* The request keys a silence may hold. */
static const char *request_keys[] = {"matchers", "starts_at", "ends_at", "duration", "comment",
    "author", NULL};

/* Is word one of silence_fields? */
static int
known_field(const char *word)
{
	static const char *f[] = {"brand", "rule", "tag", "customer", "conversation", "platform",
	    NULL};

	for (size_t i = 0; f[i]; i++)
		if (strcmp(f[i], word) == 0)
			return 1;
	return 0;
}

/* Does value equal s, ignoring case (NULL never matches)? */
static int
same(const char *s, const char *value)
{
	return s != NULL && strcasecmp(s, value) == 0;
}

/* Does one matcher hold for t? */
static int
field_matches(const char *field, const char *value, const struct silence_target *t)
{
	if (strcmp(field, "brand") == 0)
		return same(t->brand, value);
	if (strcmp(field, "customer") == 0)
		return same(t->customer, value);
	if (strcmp(field, "conversation") == 0)
		return same(t->conversation, value);
	if (strcmp(field, "platform") == 0)
		return same(t->platform, value);
	for (int r = 0; r < 2; r++) {
		if (strcmp(field, "rule") == 0 && same(t->rules[r], value))
			return 1;
		for (size_t i = 0; strcmp(field, "tag") == 0 && i < t->ntags[r]; i++)
			if (same(t->tags[r][i], value))
				return 1;
	}
	return 0;
}

int
silence_matches(const char *matchers, const struct silence_target *t)
{
	json_t *m = json_loads(matchers, 0, NULL), *v;
	const char *k;
	int ok = json_is_object(m) && json_object_size(m) > 0;

	json_object_foreach(m, k, v) {
		if (!ok)
			break;
		ok = json_is_string(v) && field_matches(k, json_string_value(v), t);
	}
	json_decref(m);
	return ok;
}

struct find_ctx {
	const struct silence_target *t;
	char *id;
};

/* store_silences_active callback: stops at the first match. */
static int
find_one(void *arg, const char *id, const char *matchers)
{
	struct find_ctx *c = arg;

	if (!silence_matches(matchers, c->t))
		return 0;
	c->id = xstrdup(id);
	return 1;
}

char *
silence_find(struct store *st, int64_t now, const struct silence_target *t)
{
	struct find_ctx c = {t, NULL};

	store_silences_active(st, now, find_one, &c);
	return c.id;
}

/* A required non-empty string member, or NULL with err set. */
static const char *
req_string(json_t *req, const char *key, int required, char *err, size_t errlen)
{
	json_t *v = json_object_get(req, key);

	if (v == NULL && !required)
		return NULL;
	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(err, errlen, "%s: %s", key, v == NULL ? "required" : "must be a non-empty "
		    "string");
		return NULL;
	}
	return json_string_value(v);
}

/* Checks the matchers object; 0 or -1 with err. */
static int
check_matchers(json_t *m, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	if (!json_is_object(m) || json_object_size(m) == 0) {
		snprintf(err, errlen, "matchers: required, an object of at least one of: %s",
		    silence_fields);
		return -1;
	}
	json_object_foreach(m, k, v) {
		if (!known_field(k)) {
			snprintf(err, errlen, "matchers: unknown field \"%s\" (known: %s)", k,
			    silence_fields);
			return -1;
		}
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 512) {
			snprintf(err, errlen, "matchers: %s must be a non-empty string of at most 512 "
			    "bytes", k);
			return -1;
		}
	}
	return 0;
}

/* Reads an RFC 3339 member into *out when present; -1 with err when bad. */
static int
req_time(json_t *req, const char *key, int64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(req, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || rfc3339_parse(json_string_value(v), out) != 0) {
		snprintf(err, errlen, "%s: not an RFC 3339 time such as 2026-11-02T09:05:00Z", key);
		return -1;
	}
	return 0;
}

/* A time as RFC 3339 JSON. */
static json_t *
jtime(int64_t t)
{
	char s[32];

	rfc3339_format(t, s, sizeof s);
	return json_string(s);
}

/* The state of a silence at now. */
static const char *
state_at(int64_t starts, int64_t ends, int64_t now)
{
	return now >= ends ? "expired" : now < starts ? "pending" : "active";
}

/* A stored silence as its API object. */
static json_t *
silence_json(const struct store_silence *sl, int64_t now)
{
	json_t *m = json_loads(sl->matchers, 0, NULL);

	return json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:o, s:s}", "id", sl->id, "matchers",
	    m ? m : json_object(), "starts_at", jtime(sl->starts_at), "ends_at", jtime(sl->ends_at),
	    "comment", sl->comment, "author", sl->author, "created_at", jtime(sl->created_at),
	    "state", state_at(sl->starts_at, sl->ends_at, now));
}

json_t *
silence_create(struct store *st, json_t *req, int64_t now, int *status, char *err,
    size_t errlen)
{
	const char *comment, *author, *dur, *k;
	int64_t starts = now, ends = 0;
	unsigned char rnd[8];
	char id[24], *matchers;
	json_t *v;

	*status = 400;
	if (!json_is_object(req)) {
		snprintf(err, errlen, "the body must be a JSON object");
		return NULL;
	}
	json_object_foreach(req, k, v) {
		int ok = 0;

		for (size_t i = 0; request_keys[i]; i++)
			ok |= strcmp(k, request_keys[i]) == 0;
		if (!ok) {
			snprintf(err, errlen, "unknown key \"%s\" (known: matchers, starts_at, ends_at, "
			    "duration, comment, author)", k);
			return NULL;
		}
	}
	if (check_matchers(json_object_get(req, "matchers"), err, errlen) != 0)
		return NULL;
	if ((comment = req_string(req, "comment", 1, err, errlen)) == NULL ||
	    (author = req_string(req, "author", 1, err, errlen)) == NULL)
		return NULL;
	if (req_time(req, "starts_at", &starts, err, errlen) != 0 ||
	    req_time(req, "ends_at", &ends, err, errlen) != 0)
		return NULL;
	dur = json_string_value(json_object_get(req, "duration"));
	if (json_object_get(req, "duration") != NULL) {
		int64_t d = dur ? parse_duration(dur) : -1;

		if (json_object_get(req, "ends_at") != NULL) {
			snprintf(err, errlen, "give ends_at or duration, not both");
			return NULL;
		}
		if (d <= 0) {
			snprintf(err, errlen, "duration: not a duration such as 90s, 15m, 2h or 1d");
			return NULL;
		}
		ends = starts + d;
	} else if (json_object_get(req, "ends_at") == NULL) {
		snprintf(err, errlen, "ends_at or duration: required (a silence must end)");
		return NULL;
	}
	if (ends <= now) {
		snprintf(err, errlen, "ends_at is in the past: the silence would never apply");
		return NULL;
	}
	if (ends <= starts) {
		snprintf(err, errlen, "ends_at is not after starts_at");
		return NULL;
	}
	RAND_bytes(rnd, sizeof rnd);
	snprintf(id, sizeof id, "sil_");
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(id + 4 + 2 * i, sizeof id - 4 - 2 * i, "%02x", rnd[i]);
	matchers = json_dumps(json_object_get(req, "matchers"), JSON_COMPACT | JSON_SORT_KEYS);
	struct store_silence sl = {id, matchers, starts, ends, comment, author, now, 0};
	if (store_begin(st) != 0 || store_silence_add(st, &sl) != 0 || store_commit(st) != 0) {
		store_rollback(st);
		free(matchers);
		*status = 500;
		snprintf(err, errlen, "the state database failed; the silence was not added");
		return NULL;
	}
	v = silence_json(&sl, now);
	free(matchers);
	*status = 201;
	return v;
}

int
silence_expire(struct store *st, const char *id, int64_t now, int *status, char *err,
    size_t errlen)
{
	int rc;

	if (store_begin(st) != 0) {
		*status = 500;
		snprintf(err, errlen, "the state database failed");
		return -1;
	}
	rc = store_silence_expire(st, id, now);
	if (rc < 0 || store_commit(st) != 0) {
		store_rollback(st);
		*status = rc == -2 ? 404 : 500;
		snprintf(err, errlen, rc == -2 ? "no silence %s" : "the state database failed", id);
		return -1;
	}
	if (rc == 0) {
		*status = 409;
		snprintf(err, errlen, "silence %s has already ended", id);
		return -1;
	}
	*status = 200;
	return 0;
}

struct list_ctx {
	json_t *arr;
	int64_t now;
	const char *state;
};

/* store_silences_each callback. */
static void
list_one(void *arg, const struct store_silence *sl)
{
	struct list_ctx *c = arg;

	if (c->state == NULL || strcmp(c->state, state_at(sl->starts_at, sl->ends_at, c->now)) == 0)
		json_array_append_new(c->arr, silence_json(sl, c->now));
}

json_t *
silence_list(struct store *st, int64_t now, const char *state)
{
	struct list_ctx c = {json_array(), now, state};

	store_silences_each(st, list_one, &c);
	return json_pack("{s:o}", "silences", c.arr);
}

int
silence_state_known(const char *state)
{
	return state == NULL || strcmp(state, "active") == 0 || strcmp(state, "pending") == 0 ||
	    strcmp(state, "expired") == 0;
}
