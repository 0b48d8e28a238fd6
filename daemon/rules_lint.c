/*
 * Checks of a loaded rule set that need names from outside the rule files:
 * scope values (platform, brand, lang) that no post can ever carry. Pure:
 * adds "file:line:col: warning: ..." lines to a diag.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules.h"
#include "xmalloc.h"

/* Levenshtein distance of a and b, capped at 3 (enough to call it a typo or not). */
static int
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[33];

	if (la > 32 || lb > 32)
		return 3;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];

		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j], best = diag + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb] < 3 ? row[lb] : 3;
}

/* The name in names closest to v when it looks like a typo of it, else NULL. */
static const char *
closest_name(const char *v, const char *const *names, size_t n)
{
	const char *best = NULL;
	int bd = 3;

	for (size_t i = 0; i < n; i++) {
		int dist = edit_distance(v, names[i]);

		if (dist < bd) {
			bd = dist;
			best = names[i];
		}
	}
	return best;
}

/* Is s (case-insensitively) one of names? */
static int
name_in(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(s, names[i]) == 0)
			return 1;
	return 0;
}

/*
 * Is s a well-formed language tag as posts carry them (BCP 47 in short: a
 * primary subtag of 2-3 letters, then subtags of 1-8 letters or digits, each
 * after a '-')?
 */
static int
lang_tag_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

	if (n < 2 || n > 3)
		return 0;
	for (s += n; *s != '\0'; s += n) {
		if (*s++ != '-')
			return 0;
		n = 0;
		while (isalnum((unsigned char)s[n]))
			n++;
		if (n < 1 || n > 8)
			return 0;
	}
	return 1;
}

/* Checks one scope value (item at col of a brand, platform or lang line). */
static void
check_scope_item(const struct rule_origin *o, const char *v, int col, char *const *brands,
    size_t nbrands, struct diag *warn)
{
	static const char *const platforms[] = {"twitter", "mastodon", "bluesky"};
	const char *near;

	if (strcmp(o->key, "platform") == 0 && !name_in(v, platforms, 3)) {
		near = strcasecmp(v, "x") == 0 ? "twitter" : closest_name(v, platforms, 3);
		diag_add(warn, o->file, o->line, col,
		    "warning: platform \"%s\" is no platform deflectd knows (twitter, mastodon, "
		    "bluesky), so this rule never fires%s%s%s", v, near ? "; did you mean \"" : "",
		    near ? near : "", near ? "\"?" : "");
	} else if (strcmp(o->key, "brand") == 0 && nbrands > 0 &&
	    !name_in(v, (const char *const *)brands, nbrands)) {
		near = closest_name(v, (const char *const *)brands, nbrands);
		diag_add(warn, o->file, o->line, col,
		    "warning: brand \"%s\" is not a [brand] of the config, so this rule never "
		    "fires%s%s%s", v, near ? "; did you mean \"" : "", near ? near : "",
		    near ? "\"?" : "");
	} else if (strcmp(o->key, "lang") == 0 && !lang_tag_ok(v)) {
		diag_add(warn, o->file, o->line, col,
		    "warning: lang \"%s\" is not a language tag such as \"de\" or \"pt-BR\" "
		    "(subtags are joined with '-'), so it matches no post", v);
	}
}

void
ruleset_check_scope(const struct ruleset *rs, char *const *brands, size_t nbrands,
    struct diag *warn)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->rules[i];

		for (size_t k = 0; k < r->norigins; k++) {
			const struct rule_origin *o = &r->origins[k];
			const char *p = o->value;

			if (strcmp(o->key, "brand") != 0 && strcmp(o->key, "platform") != 0 &&
			    strcmp(o->key, "lang") != 0)
				continue;
			/* Items as ini_split_list cuts them, each with its own column. */
			for (;;) {
				size_t len = strcspn(p, ","), skip = strspn(p, " \t");
				char *item = xstrndup(p + skip, len > skip ? len - skip : 0);
				size_t il = strlen(item);

				while (il > 0 && (item[il - 1] == ' ' || item[il - 1] == '\t'))
					item[--il] = '\0';
				check_scope_item(o, item, o->col + (int)(p + skip - o->value), brands,
				    nbrands, warn);
				free(item);
				if (p[len] == '\0')
					break;
				p += len + 1;
			}
		}
	}
	diag_sort(warn, 0);
}
