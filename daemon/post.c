/*
 * Native NDJSON posts. The parsed post keeps the jansson object alive and
 * points into it, so one decref frees every field. An integer id is rewritten
 * into the object as a string for the same reason.
 *
 * Only text may hold a NUL (it travels with text_len); every other string is
 * used as a C string, where a NUL would silently cut an id or a time short.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "post.h"

/* Checks that v is a string usable as a C string, or says why not. */
static int
c_string(json_t *v, const char *key, char *err, size_t errlen)
{
	if (!json_is_string(v)) {
		snprintf(err, errlen, "field \"%s\" is not a string", key);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "field \"%s\" contains a NUL byte", key);
		return -1;
	}
	return 0;
}

/* Reads a string-or-integer id field into a string owned by obj. */
static int
id_field(json_t *obj, const char *key, const char **out, int required, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			snprintf(err, errlen, "missing field \"%s\"", key);
		return required ? -1 : 0;
	}
	if (json_is_integer(v)) {
		char num[32];

		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		json_object_set_new(obj, key, json_string(num));
		v = json_object_get(obj, key);
	}
	if (c_string(v, key, err, errlen) != 0)
		return -1;
	if (json_string_length(v) == 0) {
		snprintf(err, errlen, "field \"%s\" is empty", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* Reads an optional string field; null and absent are NULL. */
static int
opt_string(json_t *obj, const char *key, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (c_string(v, key, err, errlen) != 0)
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* Finds a required field; null counts as missing. */
static json_t *
required_field(json_t *obj, const char *key, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v)) {
		snprintf(err, errlen, "missing field \"%s\"", key);
		return NULL;
	}
	return v;
}

/*
 * On success p->json holds the only reference to the parsed object and every
 * pointer in p points into it; on failure p is zeroed and nothing is held.
 */
int
post_parse(const char *line, size_t len, struct post *p, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o, *v;
	const char *when;

	memset(p, 0, sizeof *p);
	/* DECODE_ANY so that a bare scalar is "not a JSON object", not a syntax error. */
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
	if (o == NULL) {
		snprintf(err, errlen, "not JSON: %s at column %d", je.text, je.column);
		return -1;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not a JSON object");
		goto fail;
	}
	if (id_field(o, "id", &p->id, 1, err, errlen) != 0)
		goto fail;

	if ((v = required_field(o, "author", err, errlen)) == NULL ||
	    c_string(v, "author", err, errlen) != 0)
		goto fail;
	p->author = json_string_value(v);
	if (*p->author == '\0') {
		snprintf(err, errlen, "field \"author\" is empty");
		goto fail;
	}

	if ((v = required_field(o, "created_at", err, errlen)) == NULL ||
	    c_string(v, "created_at", err, errlen) != 0)
		goto fail;
	when = json_string_value(v);
	if (rfc3339_parse(when, &p->created_at) != 0) {
		snprintf(err, errlen, "bad created_at \"%.40s%s\" (want RFC 3339, e.g. "
		    "2026-01-31T12:00:00Z)", when, strlen(when) > 40 ? "..." : "");
		goto fail;
	}

	if ((v = required_field(o, "text", err, errlen)) == NULL)
		goto fail;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "field \"text\" is not a string");
		goto fail;
	}
	p->text = json_string_value(v);
	p->text_len = json_string_length(v);

	if (id_field(o, "conversation_id", &p->conversation_id, 0, err, errlen) != 0 ||
	    id_field(o, "in_reply_to_id", &p->in_reply_to_id, 0, err, errlen) != 0 ||
	    opt_string(o, "platform", &p->platform, err, errlen) != 0 ||
	    opt_string(o, "brand", &p->brand, err, errlen) != 0 ||
	    opt_string(o, "url", &p->url, err, errlen) != 0 ||
	    opt_string(o, "lang", &p->lang, err, errlen) != 0)
		goto fail;
	/* An empty name says as little as no name, so it gets the same default. */
	if (p->platform == NULL || *p->platform == '\0')
		p->platform = "unknown";
	if (p->conversation_id == NULL)
		p->conversation_id = p->id;
	if (p->brand != NULL && *p->brand == '\0')
		p->brand = NULL;
	if (p->lang != NULL && *p->lang == '\0')
		p->lang = NULL;

	v = json_object_get(o, "author_is_brand");
	if (v == NULL || json_is_null(v))
		p->author_is_brand = -1;
	else if (json_is_boolean(v))
		p->author_is_brand = json_is_true(v);
	else {
		snprintf(err, errlen, "field \"author_is_brand\" is not true or false");
		goto fail;
	}
	p->json = o;
	return 0;
fail:
	json_decref(o);
	memset(p, 0, sizeof *p);
	return -1;
}

/* Drops the post's only reference, so every string in it goes too. */
void
post_release(struct post *p)
{
	json_decref(p->json);
	memset(p, 0, sizeof *p);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* Reads exactly n digits. */
static int
digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*s)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

/*
 * Does its own calendar arithmetic because timegm() is not standard and
 * mktime() depends on TZ; time_t never enters, so years 0000-9999 all work.
 */
int
rfc3339_parse(const char *s, int64_t *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d))
		return -1;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' ||
	    digits(&s, 2, &sec))
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*s != '\0')
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	if (sec == 60)
		sec = 59; /* a leap second is not worth a case's deadline */
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	return 0;
}

/*
 * Civil-from-days is the inverse of days_from_civil; it keeps the output
 * independent of TZ and of the platform's time_t range.
 */
void
rfc3339_format(int64_t t, char *out, size_t outlen)
{
	/* Floor division, written so that no step can overflow near INT64_MIN. */
	int64_t days = t / 86400 - (t % 86400 < 0);
	int64_t secs = t % 86400 + (t % 86400 < 0 ? 86400 : 0);
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	int64_t y = yoe + era * 400 + (m <= 2);

	snprintf(out, outlen, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
	    (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}
