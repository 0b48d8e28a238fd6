/*
 * Named word lists: definitions, the {NAME} expansion that runs before PCRE2
 * compiles a pattern, the unused-list check, and explain's item lookup.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rule_lists.h"
#include "rules.h"
#include "rules_internal.h"
#include "xmalloc.h"

/*
 * Lists nest through items, so a small file can ask for a huge expansion:
 * one pattern or item may grow to LIST_EXPANDED_MAX, all of them together to
 * LIST_TOTAL_MAX, past which every further use is an error.
 */
#define LIST_EXPANDED_MAX (1024 * 1024)
#define LIST_TOTAL_MAX (32 * 1024 * 1024)

struct rl_item {
	char *src;  /* as written */
	char *re;   /* with inner lists expanded */
	int line;
};

struct rl_list {
	char *name;
	char *file;
	int line, col;
	struct rl_item *items;
	size_t n;
	int used;
};

struct rule_lists {
	struct rl_list *v;
	size_t n;
	int open; /* the last list begun is accepting items */
	size_t total; /* bytes of every expansion so far, against LIST_TOTAL_MAX */
};

struct rule_lists *
rule_lists_new(void)
{
	return xcalloc(1, sizeof(struct rule_lists));
}

void
rule_lists_free(struct rule_lists *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < rl->n; i++) {
		for (size_t k = 0; k < rl->v[i].n; k++) {
			free(rl->v[i].items[k].src);
			free(rl->v[i].items[k].re);
		}
		free(rl->v[i].items);
		free(rl->v[i].name);
		free(rl->v[i].file);
	}
	free(rl->v);
	free(rl);
}

/* Is c allowed in a list name after the first letter? */
static int
name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* The list called name[0..len), or NULL. */
static struct rl_list *
find(struct rule_lists *rl, const char *name, size_t len)
{
	for (size_t i = 0; i < rl->n; i++)
		if (strlen(rl->v[i].name) == len && memcmp(rl->v[i].name, name, len) == 0)
			return &rl->v[i];
	return NULL;
}

int
rule_lists_begin(struct rule_lists *rl, const char *name, const char *file, int line, int col,
    struct diag *d)
{
	size_t len = strlen(name);
	struct rl_list *l;

	rl->open = 0;
	if (len == 0 || !isalpha((unsigned char)name[0])) {
		diag_add(d, file, line, col, "list name must start with a letter");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (!name_char((unsigned char)name[i])) {
			diag_add(d, file, line, col + (int)i,
			    "list name may hold only letters, digits, '-' and '_'");
			return -1;
		}
	}
	if ((l = find(rl, name, len)) != NULL) {
		diag_add(d, file, line, col, "duplicate list \"%s\" (first defined at %s:%d)", name,
		    l->file, l->line);
		return -1;
	}
	rl->v = xreallocarray(rl->v, rl->n + 1, sizeof *rl->v);
	l = &rl->v[rl->n++];
	memset(l, 0, sizeof *l);
	l->name = xstrdup(name);
	l->file = xstrdup(file);
	l->line = line;
	l->col = col;
	rl->open = 1;
	return 0;
}

/*
 * Appends src to b with every {NAME} replaced by its alternation. In capture
 * mode each item of a top-level use becomes the named group "Lu_i" (use u,
 * item i) and the uses are recorded in *uses. Returns 0, or -1 with the error
 * in d.
 */
static int
expand_into(struct rule_lists *rl, struct buf *b, const char *src, const char *file, int line,
    int col, int capture, struct rl_list ***uses, size_t *nuses, int *any, struct diag *d)
{
	int in_class = 0;

	for (const char *p = src; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			buf_add(b, p, 2);
			p++;
			continue;
		}
		if (in_class) {
			in_class = *p != ']';
			buf_addc(b, *p);
			continue;
		}
		if (*p == '[') {
			in_class = 1;
			buf_addc(b, *p);
			/* A ']' right after '[' or '[^' is a member, not the end. */
			if (p[1] == '^')
				buf_addc(b, *++p);
			if (p[1] == ']')
				buf_addc(b, *++p);
			continue;
		}
		if (*p != '{' || !isalpha((unsigned char)p[1])) {
			buf_addc(b, *p);
			continue;
		}
		const char *n = p + 1, *e = n;
		struct rl_list *l;

		while (name_char((unsigned char)*e))
			e++;
		if (*e != '}') {
			buf_addc(b, *p);
			continue;
		}
		if ((l = find(rl, n, (size_t)(e - n))) == NULL) {
			diag_add(d, file, line, col + (int)(p - src), "unknown list \"%.*s\"",
			    (int)(e - n), n);
			return -1;
		}
		l->used = 1;
		*any = 1;
		buf_adds(b, "(?:");
		for (size_t i = 0; i < l->n; i++) {
			if (i > 0)
				buf_addc(b, '|');
			if (capture)
				buf_printf(b, "(?<L%zu_%zu>%s)", *nuses, i, l->items[i].re);
			else
				buf_adds(b, l->items[i].re);
		}
		buf_addc(b, ')');
		if (capture) {
			*uses = xreallocarray(*uses, *nuses + 1, sizeof **uses);
			(*uses)[(*nuses)++] = l;
		}
		if (b->len > LIST_EXPANDED_MAX || rl->total + b->len > LIST_TOTAL_MAX) {
			diag_add(d, file, line, col + (int)(p - src),
			    b->len > LIST_EXPANDED_MAX ?
			    "pattern longer than %d bytes with its lists expanded" :
			    "lists expand to more than %d bytes in all", b->len > LIST_EXPANDED_MAX ?
			    LIST_EXPANDED_MAX : LIST_TOTAL_MAX);
			return -1;
		}
		p = e;
	}
	return 0;
}

void
rule_lists_add(struct rule_lists *rl, const char *item, const char *file, int line, int col,
    struct diag *d)
{
	struct buf b = BUF_INIT;
	struct rl_list *l;
	int any = 0, code;
	PCRE2_SIZE off;
	pcre2_code *c;

	if (!rl->open)
		return;
	l = &rl->v[rl->n - 1];
	if (expand_into(rl, &b, item, file, line, col, 0, NULL, NULL, &any, d) != 0) {
		buf_free(&b);
		return;
	}
	/* Checked alone so an error points at the item, not at every pattern using it. */
	c = pcre2_compile((PCRE2_SPTR)b.s, PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
	if (c == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(code, msg, sizeof msg);
		diag_add(d, file, line, any ? col : col + (int)off, "list item error at offset %zu%s: %s",
		    (size_t)off, any ? " (inner lists expanded)" : "", (char *)msg);
		buf_free(&b);
		return;
	}
	pcre2_code_free(c);
	rl->total += b.len;
	l->items = xreallocarray(l->items, l->n + 1, sizeof *l->items);
	l->items[l->n].src = xstrdup(item);
	l->items[l->n].re = b.s;
	l->items[l->n].line = line;
	l->n++;
}

char *
rule_lists_expand(struct rule_lists *rl, const char *src, const char *file, int line, int col,
    int *bad, struct diag *d)
{
	struct buf b = BUF_INIT;
	int any = 0;

	*bad = 0;
	if (strchr(src, '{') == NULL)
		return NULL;
	if (expand_into(rl, &b, src, file, line, col, 0, NULL, NULL, &any, d) != 0) {
		*bad = 1;
		buf_free(&b);
		return NULL;
	}
	if (!any) {
		buf_free(&b);
		return NULL;
	}
	rl->total += b.len;
	return b.s;
}

void
rule_lists_check_unused(const struct rule_lists *rl, struct diag *d)
{
	for (size_t i = 0; rl != NULL && i < rl->n; i++) {
		const struct rl_list *l = &rl->v[i];

		if (!l->used)
			diag_add(d, l->file, l->line, l->col, "list \"%s\" is never used", l->name);
		else if (l->n == 0)
			diag_add(d, l->file, l->line, l->col, "list \"%s\" has no items", l->name);
	}
}

size_t
rule_lists_explain(struct rule_lists *rl, const char *src, const char *text, size_t len,
    size_t start, void (*fn)(void *arg, const struct rule_list_hit *h), void *arg)
{
	struct buf b = BUF_INIT;
	struct diag d = DIAG_INIT;
	struct rl_list **uses = NULL;
	size_t nuses = 0, hits = 0;
	int any = 0, code;
	PCRE2_SIZE off;
	pcre2_code *c = NULL;
	pcre2_match_data *md = NULL;

	if (expand_into(rl, &b, src, "", 0, 0, 1, &uses, &nuses, &any, &d) != 0 || !any)
		goto out;
	c = pcre2_compile((PCRE2_SPTR)b.s, PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP | PCRE2_DUPNAMES, &code, &off, NULL);
	if (c == NULL)
		goto out;
	md = pcre2_match_data_create_from_pattern(c, NULL);
	/* The same match as the rule's: the leftmost one from its start. */
	if (pcre2_match(c, (PCRE2_SPTR)text, len, start, 0, md, NULL) < 0 ||
	    pcre2_get_ovector_pointer(md)[0] != start)
		goto out;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	for (size_t u = 0; u < nuses; u++) {
		for (size_t i = 0; i < uses[u]->n; i++) {
			char name[48];
			int g;

			snprintf(name, sizeof name, "L%zu_%zu", u, i);
			g = pcre2_substring_number_from_name(c, (PCRE2_SPTR)name);
			if (g < 0 || ov[2 * g] == PCRE2_UNSET)
				continue;
			struct rule_list_hit h = {uses[u]->name, uses[u]->items[i].src, uses[u]->file,
			    uses[u]->items[i].line, ov[2 * g], ov[2 * g + 1]};
			fn(arg, &h);
			hits++;
		}
	}
out:
	pcre2_match_data_free(md);
	pcre2_code_free(c);
	free(uses);
	buf_free(&b);
	diag_free(&d);
	return hits;
}

size_t
rule_explain_lists(const struct ruleset *rs, const struct rule *r, const char *text, size_t len,
    size_t start, void (*fn)(void *arg, const struct rule_list_hit *h), void *arg)
{
	for (size_t i = 0; i < r->nany; i++) {
		size_t n;

		if (r->any[i]->src != NULL &&
		    (n = rule_lists_explain(rs->lists, r->any[i]->src, text, len, start, fn, arg)) > 0)
			return n;
	}
	return 0;
}
