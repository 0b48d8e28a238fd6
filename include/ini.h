/*
 * The INI-like syntax shared by rule files and the config file: "[word word]"
 * section headers, "key = value" lines, "#" or ";" comment lines, blank lines.
 * Values are trimmed; there is no quoting and no continuation, so a regex is
 * written exactly as PCRE2 reads it.
 */
#ifndef DEFLECTD_INI_H
#define DEFLECTD_INI_H

#include <stddef.h>

#include "diag.h"

struct ini_item {
	int line;
	int col; /* of the section's first word, or of the key */
	const char *section; /* the text between the brackets, trimmed, or NULL for a key */
	const char *key;
	const char *value;
	int value_col; /* 1-based column of value[0] */
};

/*
 * Calls fn for every section header and key line of buf[0..len). Syntax errors
 * are added to d as "file:line:col: message" and parsing goes on. The strings
 * in an item live until fn returns. Returns the number of syntax errors.
 */
int ini_parse(const char *buf, size_t len, const char *file,
    void (*fn)(void *arg, const struct ini_item *it), void *arg, struct diag *d);

/*
 * Splits a comma-separated value into trimmed items appended to *v (the
 * caller owns them; free with ini_strv_free). Returns -1 on an empty item.
 */
int ini_split_list(const char *value, char ***v, size_t *n);
void ini_strv_free(char **v, size_t n);

#endif
