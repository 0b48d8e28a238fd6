/*
 * Native NDJSON posts. simdjson reads the common line (post_simdjson.cpp);
 * jansson reads the rest and words every error. Either way the fields are
 * checked here, in one order, and copied into one block the post owns.
 *
 * Only text may hold a NUL (it travels with text_len); every other string is
 * used as a C string, where a NUL would silently cut an id or a time short.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "post.h"
#include "post_fields.h"
#include "utf8.h"
#include "xmalloc.h"

static const char *const key_names[PK_COUNT] = {
	[PK_ID] = "id", [PK_PLATFORM] = "platform", [PK_CONVERSATION_ID] = "conversation_id",
	[PK_IN_REPLY_TO_ID] = "in_reply_to_id", [PK_AUTHOR] = "author",
	[PK_AUTHOR_IS_BRAND] = "author_is_brand", [PK_BRAND] = "brand",
	[PK_CREATED_AT] = "created_at", [PK_TEXT] = "text", [PK_URL] = "url", [PK_LANG] = "lang",
};

int
post_key_find(const char *key, size_t len)
{
	for (int k = 0; k < PK_COUNT; k++)
		if (strlen(key_names[k]) == len && memcmp(key_names[k], key, len) == 0)
			return k;
	return -1;
}

/* The slow path and the reference: jansson reads the line and words any error. */
static json_t *
scan_jansson(const char *line, size_t len, struct post_value v[PK_COUNT], char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *o;

	/* DECODE_ANY so that a bare scalar is "not a JSON object", not a syntax error. */
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
	if (o == NULL) {
		snprintf(err, errlen, "not JSON: %s at column %d", je.text, je.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not a JSON object");
		json_decref(o);
		return NULL;
	}
	for (int k = 0; k < PK_COUNT; k++) {
		json_t *x = json_object_get(o, key_names[k]);
		struct post_value pv = {PV_OTHER, NULL, 0, 0};

		if (x == NULL)
			pv.kind = PV_ABSENT;
		else if (json_is_null(x))
			pv.kind = PV_NULL;
		else if (json_is_string(x)) {
			pv.kind = PV_STRING;
			pv.s = json_string_value(x);
			pv.len = json_string_length(x);
		} else if (json_is_integer(x)) {
			pv.kind = PV_INT;
			pv.i = json_integer_value(x);
		} else if (json_is_boolean(x)) {
			pv.kind = PV_BOOL;
			pv.i = json_is_true(x);
		}
		v[k] = pv;
	}
	return o;
}

/*
 * Copies every string field, and every integer one as a decimal string (ids
 * may be integers; the checks refuse others), into one block of
 * NUL-terminated copies that p->mem owns; s[k] points at field k's copy.
 */
static void
copy_fields(const struct post_value v[PK_COUNT], struct post *p, const char *s[PK_COUNT])
{
	char num[PK_COUNT][24];
	size_t need = 0;
	char *at;

	for (int k = 0; k < PK_COUNT; k++) {
		if (v[k].kind == PV_STRING)
			need += v[k].len + 1;
		else if (v[k].kind == PV_INT)
			need += (size_t)snprintf(num[k], sizeof num[k], "%" PRId64, v[k].i) + 1;
	}
	p->mem = at = xmalloc(need + 1);
	for (int k = 0; k < PK_COUNT; k++) {
		s[k] = NULL;
		if (v[k].kind == PV_STRING) {
			memcpy(at, v[k].s, v[k].len);
		} else if (v[k].kind == PV_INT) {
			memcpy(at, num[k], strlen(num[k]));
		} else {
			continue;
		}
		s[k] = at;
		at += (v[k].kind == PV_STRING ? v[k].len : strlen(num[k]));
		*at++ = '\0';
	}
}

/* Checks that field k holds a string usable as a C string, or says why not. */
static int
c_string(const struct post_value *v, const char *s, int k, char *err, size_t errlen)
{
	if (v->kind != PV_STRING) {
		snprintf(err, errlen, "field \"%s\" is not a string", key_names[k]);
		return -1;
	}
	if (strlen(s) != v->len) {
		snprintf(err, errlen, "field \"%s\" contains a NUL byte", key_names[k]);
		return -1;
	}
	return 0;
}

/* Null counts as absent, everywhere in a post. */
static int
present(const struct post_value *v)
{
	return v->kind != PV_ABSENT && v->kind != PV_NULL;
}

/* A string-or-integer id; out is NULL when absent and not required. */
static int
id_field(const struct post_value v[PK_COUNT], const char *s[PK_COUNT], int k, int required,
    const char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!present(&v[k])) {
		if (required)
			snprintf(err, errlen, "missing field \"%s\"", key_names[k]);
		return required ? -1 : 0;
	}
	if (v[k].kind != PV_INT && c_string(&v[k], s[k], k, err, errlen) != 0)
		return -1;
	if (*s[k] == '\0') {
		snprintf(err, errlen, "field \"%s\" is empty", key_names[k]);
		return -1;
	}
	*out = s[k];
	return 0;
}

/* An optional string; null and absent are NULL. */
static int
opt_string(const struct post_value v[PK_COUNT], const char *s[PK_COUNT], int k,
    const char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!present(&v[k]))
		return 0;
	if (c_string(&v[k], s[k], k, err, errlen) != 0)
		return -1;
	*out = s[k];
	return 0;
}

/* A required string that must be a C string and not empty. */
static int
req_string(const struct post_value v[PK_COUNT], const char *s[PK_COUNT], int k,
    const char **out, char *err, size_t errlen)
{
	if (!present(&v[k])) {
		snprintf(err, errlen, "missing field \"%s\"", key_names[k]);
		return -1;
	}
	if (c_string(&v[k], s[k], k, err, errlen) != 0)
		return -1;
	*out = s[k];
	return 0;
}

/* SPEC 2's checks, in one order for both parsers so they word errors alike. */
static int
build(const struct post_value v[PK_COUNT], struct post *p, char *err, size_t errlen)
{
	const char *s[PK_COUNT];
	const char *when;

	copy_fields(v, p, s);
	if (id_field(v, s, PK_ID, 1, &p->id, err, errlen) != 0 ||
	    req_string(v, s, PK_AUTHOR, &p->author, err, errlen) != 0)
		return -1;
	if (*p->author == '\0') {
		snprintf(err, errlen, "field \"author\" is empty");
		return -1;
	}
	if (req_string(v, s, PK_CREATED_AT, &when, err, errlen) != 0)
		return -1;
	if (rfc3339_parse(when, &p->created_at) != 0) {
		snprintf(err, errlen, "bad created_at \"%.40s%s\" (want RFC 3339, e.g. "
		    "2026-01-31T12:00:00Z)", when, strlen(when) > 40 ? "..." : "");
		return -1;
	}
	if (!present(&v[PK_TEXT])) {
		snprintf(err, errlen, "missing field \"text\"");
		return -1;
	}
	if (v[PK_TEXT].kind != PV_STRING) {
		snprintf(err, errlen, "field \"text\" is not a string");
		return -1;
	}
	p->text = s[PK_TEXT];
	p->text_len = v[PK_TEXT].len;

	if (id_field(v, s, PK_CONVERSATION_ID, 0, &p->conversation_id, err, errlen) != 0 ||
	    id_field(v, s, PK_IN_REPLY_TO_ID, 0, &p->in_reply_to_id, err, errlen) != 0 ||
	    opt_string(v, s, PK_PLATFORM, &p->platform, err, errlen) != 0 ||
	    opt_string(v, s, PK_BRAND, &p->brand, err, errlen) != 0 ||
	    opt_string(v, s, PK_URL, &p->url, err, errlen) != 0 ||
	    opt_string(v, s, PK_LANG, &p->lang, err, errlen) != 0)
		return -1;
	/* An empty name says as little as no name, so it gets the same default. */
	if (p->platform == NULL || *p->platform == '\0')
		p->platform = "unknown";
	if (p->conversation_id == NULL) {
		p->conversation_id = p->id;
		p->conversation_implied = 1;
	}
	if (p->brand != NULL && *p->brand == '\0')
		p->brand = NULL;
	if (p->lang != NULL && *p->lang == '\0')
		p->lang = NULL;

	if (!present(&v[PK_AUTHOR_IS_BRAND]))
		p->author_is_brand = -1;
	else if (v[PK_AUTHOR_IS_BRAND].kind == PV_BOOL)
		p->author_is_brand = (int)v[PK_AUTHOR_IS_BRAND].i;
	else {
		snprintf(err, errlen, "field \"author_is_brand\" is not true or false");
		return -1;
	}
	return 0;
}

/*
 * A copy of line with every invalid UTF-8 byte replaced by U+FFFD, as the
 * README promises; NULL when line is valid UTF-8 already.
 */
static char *
utf8_repair(const char *line, size_t len, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)line;
	struct buf b = BUF_INIT;
	size_t i = 0, ok = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);

		if (!utf8_is_valid(s + i, n, cp)) {
			buf_add(&b, line + ok, i - ok);
			buf_add(&b, "\xef\xbf\xbd", 3);
			ok = i + n;
		}
		i += n;
	}
	if (b.s == NULL)
		return NULL;
	buf_add(&b, line + ok, len - ok);
	*outlen = b.len;
	return b.s;
}

/*
 * On success p->mem holds every string p points at; on failure p is zeroed
 * and nothing is held.
 */
int
post_parse(struct post_parser *pp, const char *line, size_t len, struct post *p, char *err,
    size_t errlen)
{
	struct post_value v[PK_COUNT];
	json_t *o = NULL;
	int rc;

	memset(p, 0, sizeof *p);
	char *fixed = NULL;
	size_t fixedlen;

	if (pp == NULL || !post_scan_fast(pp, line, len, v)) {
		if ((o = scan_jansson(line, len, v, err, errlen)) == NULL) {
			/* Invalid UTF-8 is replaced, not a reason to lose the post. */
			char first[256];

			snprintf(first, sizeof first, "%s", err);
			if ((fixed = utf8_repair(line, len, &fixedlen)) == NULL ||
			    (o = scan_jansson(fixed, fixedlen, v, err, errlen)) == NULL) {
				snprintf(err, errlen, "%s", first);
				free(fixed);
				return -1;
			}
		}
	}
	rc = build(v, p, err, errlen);
	json_decref(o);
	free(fixed);
	if (rc != 0)
		post_release(p);
	return rc;
}

/* Frees the one block every string of the post lives in. */
void
post_release(struct post *p)
{
	free(p->mem);
	memset(p, 0, sizeof *p);
}

/*
 * Such ids are longer than any integer type holds, so the shorter is the
 * smaller and bytes decide between equals in length.
 */
int
post_id_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
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

	/* Four-digit years by hand: replay writes three times per finding. */
	if (y >= 0 && y <= 9999 && outlen >= 21) {
		int v[6] = {(int)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
		    (int)(secs % 60)};
		char *o = out;

		*o++ = (char)('0' + v[0] / 1000);
		*o++ = (char)('0' + v[0] / 100 % 10);
		for (int i = 0; i < 6; i++) {
			*o++ = (char)('0' + v[i] / 10 % 10);
			*o++ = (char)('0' + v[i] % 10);
			*o++ = "--T::Z"[i];
		}
		*o = '\0';
		return;
	}
	snprintf(out, outlen, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
	    (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}
