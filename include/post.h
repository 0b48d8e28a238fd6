/*
 * A post (SPEC section 2) and its native NDJSON form. A parsed post owns one
 * block of memory; every string field points into it, so post_release()
 * frees them all at once.
 */
#ifndef DEFLECTD_POST_H
#define DEFLECTD_POST_H

#include <stddef.h>
#include <stdint.h>

struct post {
	char *mem; /* owns the strings below */
	const char *id;
	const char *platform;        /* "unknown" when absent */
	const char *conversation_id; /* the post's own id when absent ... */
	int conversation_implied;    /* ... which this says */
	const char *in_reply_to_id;  /* NULL for a root post */
	const char *author;
	const char *brand; /* NULL when absent */
	const char *text;
	size_t text_len;
	const char *url;  /* NULL when absent */
	const char *lang; /* NULL when absent */
	int author_is_brand; /* 1, 0, or -1 when the input does not say */
	int64_t created_at;  /* seconds since the epoch, UTC */
};

/*
 * A reusable parser for native posts: its buffers grow to the longest line
 * read and stay, so one per reading loop.
 */
struct post_parser *post_parser_new(void);
void post_parser_free(struct post_parser *pp);

/*
 * Parses one NDJSON line. Returns 0 and fills p, or -1 with a reason in err
 * ("not JSON: ...", "missing field \"id\"", "bad created_at ..."). With pp
 * NULL only jansson reads the line: slower, and the reference the fast path
 * is fuzzed against.
 */
int post_parse(struct post_parser *pp, const char *line, size_t len, struct post *p,
    char *err, size_t errlen);
void post_release(struct post *p);

/*
 * Orders two decimal ids that grow with time (Mastodon statuses, X tweets):
 * <0, 0 or >0 as strcmp does. The shorter id is the smaller; equal lengths
 * compare bytewise; "" is the smallest.
 */
int post_id_cmp(const char *a, const char *b);

/* Parses an RFC 3339 time ("2017-10-31T22:10:47Z", offsets and fractions allowed). */
int rfc3339_parse(const char *s, int64_t *out);
/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 32 bytes). */
void rfc3339_format(int64_t t, char *out, size_t outlen);

#endif
