/*
 * Between post.c and its fast scanner (post_simdjson.cpp): the top-level
 * fields of a native post as either JSON parser found them, before any of
 * SPEC 2's checks. Strings point into the parser's memory and are not
 * NUL-terminated; post.c copies what it keeps.
 */
#ifndef DEFLECTD_POST_FIELDS_H
#define DEFLECTD_POST_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum post_key {
	PK_ID, PK_PLATFORM, PK_CONVERSATION_ID, PK_IN_REPLY_TO_ID, PK_AUTHOR,
	PK_AUTHOR_IS_BRAND, PK_BRAND, PK_CREATED_AT, PK_TEXT, PK_URL, PK_LANG,
	PK_COUNT
};

enum post_kind { PV_ABSENT, PV_NULL, PV_STRING, PV_INT, PV_BOOL, PV_OTHER };

struct post_value {
	enum post_kind kind;
	const char *s; /* PV_STRING: len bytes, may hold NULs */
	size_t len;
	int64_t i;     /* PV_INT; PV_BOOL: 0 or 1 */
};

/* The key's place in enum post_key, or -1 for a key posts ignore. */
int post_key_find(const char *key, size_t len);

struct post_parser;
/*
 * Fills v when the line is a JSON object that jansson would accept exactly
 * as read and returns 1; returns 0 when it cannot tell (any syntax error, a
 * nested or non-integer number value, a duplicate key...), so that jansson
 * decides and words the error.
 */
int post_scan_fast(struct post_parser *pp, const char *line, size_t len,
    struct post_value v[PK_COUNT]);

#ifdef __cplusplus
}
#endif

#endif
