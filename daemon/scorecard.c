/*
 * The scorecard's numbers. One SQL statement groups cases and replies by a
 * key (the brand, the week, or nothing for the totals), so every view
 * counts the same way: a case in the period of its deflection, a reply in
 * the period it was posted in.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "post.h"
#include "ini.h"
#include "scorecard.h"
#include "xmalloc.h"

#define DAY 86400
#define WEEK (7 * DAY)
/* 1970-01-05, a Monday: weeks start on Mondays, UTC. */
#define MONDAY 345600
/* The most weeks a trend shows (a bound on the page, not on the data). */
#define MAX_WEEKS 1040

/* The start of the week holding t. */
static int64_t
week_of(int64_t t)
{
	int64_t r = (t - MONDAY) % WEEK;

	return t - (r < 0 ? r + WEEK : r);
}

/* store_query callback: the single integer of a one-row answer. */
static void
one_int(void *arg, int n, const char *const *v)
{
	if (n >= 1 && v[0] != NULL)
		*(int64_t *)arg = strtoll(v[0], NULL, 10);
}

int64_t
scorecard_newest(struct store *st)
{
	int64_t t = 0;

	/* Both maxima come from indexes (cases_time, brand_reply_at). */
	store_query(st, "SELECT max(coalesce((SELECT max(deflected_at) FROM cases), 0),"
	    " coalesce((SELECT max(at) FROM brand_reply_times), 0))", NULL, 0, one_int, &t);
	return t;
}

int
scorecard_period_named(struct scorecard_period *p, const char *name, int64_t as_of)
{
	static const struct {
		const char *name;
		int64_t days;
	} named[] = {{"7d", 7}, {"30d", 30}, {"90d", 90}, {"all", 0}};

	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		if (strcmp(name, named[i].name) != 0)
			continue;
		p->name = named[i].name;
		p->since = named[i].days ? as_of - named[i].days * DAY : SCORECARD_OPEN_SINCE;
		p->until = named[i].days ? as_of + 1 : SCORECARD_OPEN_UNTIL;
		return 0;
	}
	return -1;
}

/* A rate, or null when nothing was there to divide by. */
static json_t *
rate(long long num, long long den)
{
	return den > 0 ? json_real((double)num / (double)den) : json_null();
}

/* One group's figures, keyed as the caller wants them. */
struct group_rows {
	json_t *arr;
	const char *key; /* field name of the key: "brand", "week" or NULL */
	int week;        /* the key is a week start: formatted as a date */
};

/* store_query callback: a group's row as a scorecard object. */
static void
group_row(void *arg, int n, const char *const *v)
{
	struct group_rows *g = arg;
	long long x[7];
	json_t *o = json_object();

	if (n < 8)
		return;
	for (int i = 0; i < 6; i++)
		x[i] = strtoll(v[i + 1] ? v[i + 1] : "0", NULL, 10);
	/* x: replies, deflections, resolved, unresolved, open, escalations */
	if (g->key != NULL && g->week) {
		char day[32];

		rfc3339_format(strtoll(v[0] ? v[0] : "0", NULL, 10), day, sizeof day);
		day[10] = '\0';
		json_object_set_new(o, g->key, json_string(day));
	} else if (g->key != NULL) {
		json_object_set_new(o, g->key, json_string(v[0] ? v[0] : ""));
	}
	json_object_set_new(o, "replies", json_integer(x[0]));
	json_object_set_new(o, "deflections", json_integer(x[1]));
	json_object_set_new(o, "deflection_rate", rate(x[1], x[0]));
	json_object_set_new(o, "resolved_in_public", json_integer(x[2]));
	json_object_set_new(o, "decided", json_integer(x[2] + x[3]));
	json_object_set_new(o, "public_resolution_rate", rate(x[2], x[2] + x[3]));
	json_object_set_new(o, "median_time_to_resolution",
	    v[7] ? json_integer(strtoll(v[7], NULL, 10)) : json_null());
	json_object_set_new(o, "open", json_integer(x[4]));
	json_object_set_new(o, "unresolved", json_integer(x[3]));
	json_object_set_new(o, "escalations", json_integer(x[5]));
	json_array_append_new(g->arr, o);
}

enum grouping { GROUP_BRAND, GROUP_WEEK, GROUP_ALL };

/*
 * Runs the scorecard statement grouped as asked over the period, for one
 * brand or all; appends one object per group to arr. 0 or -1.
 */
static int
groups(struct store *st, enum grouping by, const struct scorecard_period *p, const char *brand,
    json_t *arr)
{
	static const char *keys[][3] = {
	    {"brand", "brand", "lower(keys.k), keys.k"},
	    {"deflected_at - ((deflected_at - 345600) % 604800)", "at - ((at - 345600) % 604800)",
		"keys.k"},
	    {"''", "''", "keys.k"},
	};
	struct group_rows g = {arr, by == GROUP_BRAND ? "brand" : by == GROUP_WEEK ? "week" : NULL,
	    by == GROUP_WEEK};
	struct store_arg args[3] = {STORE_INT(p->since), STORE_INT(p->until), STORE_TEXT(brand)};
	struct buf q = BUF_INIT;
	int rc;

	/*
	 * Decided: resolved in public (in time or late) or unresolved; a case
	 * still inside its window is open and in neither rate. The median
	 * time to resolution is the lower middle of the resolved cases' times.
	 * Replies dated 0 were counted before reply times were kept: they count
	 * in the all-time figures only, never in a week.
	 */
	buf_printf(&q,
	    "WITH c AS (SELECT %s AS k, state, escalations, resolved_at - deflected_at AS ttr"
	    "  FROM cases WHERE deflected_at >= ?1 AND deflected_at < ?2"
	    "  AND (?3 IS NULL OR brand = ?3)),"
	    " r AS (SELECT %s AS k, sum(replies) AS n FROM brand_reply_times"
	    "  WHERE at >= ?1 AND at < ?2 AND (?3 IS NULL OR brand = ?3)%s GROUP BY 1),"
	    " s AS (SELECT k, count(*) AS n, sum(state IN ('resolved', 'resolved_late')) AS res,"
	    "  sum(state = 'unresolved') AS unres, sum(state = 'deflected') AS open,"
	    "  sum(escalations) AS esc FROM c GROUP BY k),"
	    " t AS MATERIALIZED (SELECT k, ttr, row_number() OVER (PARTITION BY k ORDER BY ttr) AS i,"
	    "  count(*) OVER (PARTITION BY k) AS m FROM c WHERE ttr IS NOT NULL),"
	    " keys AS (SELECT k FROM r UNION SELECT k FROM s)"
	    " SELECT keys.k, coalesce(r.n, 0), coalesce(s.n, 0), coalesce(s.res, 0),"
	    "  coalesce(s.unres, 0), coalesce(s.open, 0), coalesce(s.esc, 0), t.ttr"
	    " FROM keys LEFT JOIN r ON r.k = keys.k LEFT JOIN s ON s.k = keys.k"
	    " LEFT JOIN t ON t.k = keys.k AND t.i = (t.m + 1) / 2 ORDER BY %s",
	    keys[by][0], keys[by][1], by == GROUP_WEEK ? " AND at > 0" : "", keys[by][2]);
	rc = store_query(st, q.s, args, 3, group_row, &g);
	buf_free(&q);
	return rc;
}

json_t *
scorecard_brands(struct store *st, const struct scorecard_period *p)
{
	json_t *arr = json_array();

	if (groups(st, GROUP_BRAND, p, NULL, arr) != 0) {
		json_decref(arr);
		return NULL;
	}
	return json_pack("{s:o}", "brands", arr);
}

/* A group without cases or replies: zeros, and null rates and median. */
static json_t *
zero_row(void)
{
	return json_pack("{s:i, s:i, s:n, s:i, s:i, s:n, s:n, s:i, s:i, s:i}", "replies", 0,
	    "deflections", 0, "deflection_rate", "resolved_in_public", 0, "decided", 0,
	    "public_resolution_rate", "median_time_to_resolution", "open", 0, "unresolved", 0,
	    "escalations", 0);
}

/* A time as RFC 3339, or null for an open end. */
static json_t *
time_or_null(int64_t t)
{
	char s[32];

	if (t == SCORECARD_OPEN_SINCE || t == SCORECARD_OPEN_UNTIL)
		return json_null();
	rfc3339_format(t, s, sizeof s);
	return json_string(s);
}

/* A week's start as "YYYY-MM-DD". */
static void
week_name(int64_t t, char *out, size_t outlen)
{
	char s[32];

	rfc3339_format(t, s, sizeof s);
	snprintf(out, outlen, "%.10s", s);
}

/* The time of the n-th found week's start, from its "YYYY-MM-DD"; 0 or -1. */
static int
found_week(json_t *found, size_t i, int64_t *t)
{
	const char *k = json_string_value(json_object_get(json_array_get(found, i), "week"));
	char s[32];

	if (k == NULL)
		return -1;
	snprintf(s, sizeof s, "%.10sT00:00:00Z", k);
	return rfc3339_parse(s, t);
}

/*
 * The weeks from the period's first to its last, each with the figures
 * found for it or zeros (null rates) when none: a chart's gaps are weeks
 * without data, not missing points.
 */
static json_t *
all_weeks(json_t *found, const struct scorecard_period *p, int64_t as_of)
{
	json_t *out = json_array();
	size_t n = json_array_size(found), j = 0;
	int64_t first, last;
	char name[16];

	if (p->since != SCORECARD_OPEN_SINCE)
		first = week_of(p->since);
	else if (n > 0 && found_week(found, 0, &first) == 0)
		first = week_of(first);
	else
		first = week_of(as_of);
	if (p->until != SCORECARD_OPEN_UNTIL)
		last = week_of((p->until - 1 < as_of ? p->until - 1 : as_of));
	else if (n > 0 && found_week(found, n - 1, &last) == 0)
		last = week_of(last);
	else
		last = week_of(as_of);
	if (last < first)
		last = first;
	if ((last - first) / WEEK >= MAX_WEEKS)
		first = last - (MAX_WEEKS - 1) * (int64_t)WEEK;
	for (int64_t w = first; w <= last; w += WEEK) {
		json_t *o = NULL;

		week_name(w, name, sizeof name);
		while (j < n) {
			const char *k = json_string_value(json_object_get(json_array_get(found, j),
			    "week"));
			int c = strcmp(k ? k : "", name);

			if (c > 0)
				break;
			if (c == 0)
				o = json_incref(json_array_get(found, j));
			j++;
		}
		if (o == NULL) {
			json_t *z = zero_row();

			o = json_pack("{s:s}", "week", name);
			json_object_update(o, z);
			json_decref(z);
		}
		json_array_append_new(out, o);
	}
	return out;
}

json_t *
scorecard_document(struct store *st, const struct scorecard_period *p, int64_t as_of,
    const char *brand)
{
	json_t *totals = json_array(), *weeks = json_array(), *brands = json_array(), *doc;

	if (groups(st, GROUP_ALL, p, brand, totals) != 0 ||
	    groups(st, GROUP_WEEK, p, brand, weeks) != 0 ||
	    groups(st, GROUP_BRAND, p, brand, brands) != 0) {
		json_decref(totals);
		json_decref(weeks);
		json_decref(brands);
		return NULL;
	}
	json_t *t = json_array_size(totals) > 0 ? json_incref(json_array_get(totals, 0)) :
	    zero_row();

	json_decref(totals);
	doc = json_pack("{s:o, s:{s:s, s:o, s:o, s:o}, s:o, s:o, s:o}", "brand",
	    brand ? json_string(brand) : json_null(), "period", "name", p->name ? p->name : "custom",
	    "since", time_or_null(p->since), "until", time_or_null(p->until), "as_of",
	    as_of ? time_or_null(as_of) : json_null(), "totals", t, "weeks",
	    all_weeks(weeks, p, as_of), "brands", brands);
	json_decref(weeks);
	return doc;
}

/* qsort comparator on strings. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
scorecard_rules_version(const char *dirs, char *out, size_t outlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char **dv = NULL, chunk[4096];
	size_t ndirs = 0, nfiles = 0;
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;

	snprintf(out, outlen, "unknown");
	if (dirs == NULL || ini_split_list(dirs, &dv, &ndirs) != 0 || ndirs == 0) {
		EVP_MD_CTX_free(md);
		return;
	}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t d = 0; d < ndirs; d++) {
		DIR *dp = opendir(dv[d]);
		struct dirent *e;
		char **names = NULL;
		size_t n = 0;

		if (dp == NULL)
			continue;
		while ((e = readdir(dp)) != NULL) {
			size_t l = strlen(e->d_name);

			if (l > 6 && strcmp(e->d_name + l - 6, ".rules") == 0 && e->d_name[0] != '.') {
				names = xreallocarray(names, n + 1, sizeof *names);
				names[n++] = xstrdup(e->d_name);
			}
		}
		closedir(dp);
		qsort(names, n, sizeof *names, cmp_str);
		/* A directory boundary, then each file's name and bytes, in load order. */
		EVP_DigestUpdate(md, "/", 1);
		for (size_t i = 0; i < n; i++) {
			char *path = xasprintf("%s/%s", dv[d], names[i]);
			FILE *f = fopen(path, "rb");
			size_t r;

			EVP_DigestUpdate(md, names[i], strlen(names[i]) + 1);
			while (f != NULL && (r = fread(chunk, 1, sizeof chunk, f)) > 0)
				EVP_DigestUpdate(md, chunk, r);
			if (f != NULL)
				fclose(f);
			free(path);
			free(names[i]);
		}
		free(names);
		nfiles += n;
	}
	ini_strv_free(dv, ndirs);
	EVP_DigestFinal_ex(md, h, &hl);
	EVP_MD_CTX_free(md);
	if (hl >= 6)
		snprintf(out, outlen, "sha256:%02x%02x%02x%02x%02x%02x (%zu rule file%s)", h[0], h[1],
		    h[2], h[3], h[4], h[5], nfiles, nfiles == 1 ? "" : "s");
}
