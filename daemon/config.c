/*
 * The config file. Unknown sections and keys are errors, like bad values:
 * a typo in a config must not silently fall back to a default.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "ini.h"
#include "rules.h"
#include "xmalloc.h"

#define CONFIG_FILE_MAX (1024 * 1024)

enum section { SEC_NONE, SEC_DAEMON, SEC_BRAND, SEC_SOURCE, SEC_WEBHOOK, SEC_BAD };

struct cparse {
	struct config *c;
	const char *file;
	char *dir; /* of the config file, for relative paths */
	struct diag *d;
	enum section sec;
	const char *brand; /* current [brand NAME] */
	struct config_section *cur;
	char *daemon_keys[16]; /* [daemon] keys set so far, to refuse a second setting */
	int daemon_lines[16];
	size_t ndaemon_keys;
	config_source_types_fn types; /* the [source] types there are */
};

/* Keys a [webhook] section may hold, space-separated. */
static const char *webhook_keys = "url secret_file secret format types brands tags "
    "min_severity timeout max_age concurrency retry_base retry_max group_by group_wait "
    "group_interval rate_limit";

/* Is word one of the space-separated words of list? */
static int
in_words(const char *list, const char *word)
{
	size_t n = strlen(word);

	if (n == 0 || strchr(word, ' ') != NULL)
		return 0;
	for (const char *s = list; (s = strstr(s, word)) != NULL; s += n)
		if ((s == list || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
			return 1;
	return 0;
}

/* The source type called type, or NULL. */
static const struct config_source_type *
source_type(const struct cparse *p, const char *type)
{
	const struct config_source_type *t;

	for (size_t i = 0; p->types != NULL && (t = p->types(i)) != NULL; i++)
		if (strcmp(t->type, type) == 0)
			return t;
	return NULL;
}

/* Does some type of source read key? (check_source_keys asks about its own type.) */
static int
source_key(const struct cparse *p, const char *key)
{
	const struct config_source_type *t;

	for (size_t i = 0; p->types != NULL && (t = p->types(i)) != NULL; i++)
		if (in_words(t->keys, key))
			return 1;
	return 0;
}

static const char *alert_type_names[] = {"deflection.unresolved", "deflection.escalated",
    "deflection.resolved_late", "deflection.detected", NULL};

struct config *
config_default(void)
{
	struct config *c = xcalloc(1, sizeof *c);

	c->state_dir = xstrdup("/var/lib/deflectd");
	c->rules_dir = xstrdup("/etc/deflectd/rules.d");
	c->shipped_rules_dir = xstrdup(DEFLECTD_SHIPPED_RULES_DIR);
	c->log_level = 6; /* info */
	c->window = 72 * 3600;
	c->lateness = 10 * 60;
	c->retention = 30 * 86400;
	c->max_alert_age = 86400;
	c->clock_skew = 3600;
	c->admin_request_timeout = 60;
	c->admin_listen = xstrdup("127.0.0.1:8787");
	return c;
}

int
config_log_level(const char *name)
{
	static const char *const names[] = {"error", "warning", "notice", "info", "debug"};

	for (int i = 0; i < 5; i++)
		if (strcmp(name, names[i]) == 0)
			return i + 3; /* journald's numbers: error is 3 */
	return -1;
}

/* A byte count with an optional K, M or G (powers of 1024); 0 and errors are reported. */
static int
size_key(struct cparse *p, const struct ini_item *it, int64_t *out)
{
	char *end;
	unsigned long long v = strtoull(it->value, &end, 10);
	int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;

	if (shift != 0)
		end++;
	if (end == it->value || *end != '\0' || it->value[0] == '-' || v == 0 ||
	    v > (1ULL << 40) >> shift) {
		diag_add(p->d, p->file, it->line, it->value_col,
		    "%s \"%s\": expected a size such as 512M or 2G", it->key, it->value);
		return -1;
	}
	*out = (int64_t)(v << shift);
	return 0;
}

/* Makes a path from the config relative to the config file's directory. */
static char *
resolve(const struct cparse *p, const char *v)
{
	if (v[0] == '/' || p->dir == NULL)
		return xstrdup(v);
	return xasprintf("%s/%s", p->dir, v);
}

/*
 * rules_dir: directories read in order, so the shipped rules can come first
 * and the operator's overrides after; each resolved like a single path.
 */
static char *
resolve_list(const struct cparse *p, const struct ini_item *it)
{
	struct buf b = BUF_INIT;
	char **v = NULL;
	size_t n = 0;

	if (ini_split_list(it->value, &v, &n) != 0)
		diag_add(p->d, p->file, it->line, it->value_col, "empty item in list");
	for (size_t i = 0; i < n; i++) {
		char *r = resolve(p, v[i]);

		buf_printf(&b, "%s%s", i ? "," : "", r);
		free(r);
	}
	ini_strv_free(v, n);
	return b.s ? b.s : xstrdup("");
}

/* Parses a duration value or reports it. */
static int
duration_key(struct cparse *p, const struct ini_item *it, int64_t *out, int allow_zero)
{
	int64_t v = parse_duration(it->value);

	if (v < 0 || (v == 0 && !allow_zero)) {
		diag_add(p->d, p->file, it->line, it->value_col,
		    "%s must be a duration such as 90s, 15m, 72h or 3d", it->key);
		return -1;
	}
	*out = v;
	return 0;
}

static void
add_account(struct config *c, const char *platform, const char *account, size_t len,
    const char *brand)
{
	struct brand_account *a;

	if (len > 0 && account[0] == '@') {
		account++;
		len--;
	}
	c->accounts = xreallocarray(c->accounts, c->naccounts + 1, sizeof *c->accounts);
	a = &c->accounts[c->naccounts++];
	a->platform = platform ? xstrdup(platform) : NULL;
	a->account = xstrndup(account, len);
	a->brand = xstrdup(brand ? brand : a->account);
}

/* Splits "a, b" into accounts; an empty item is an error. */
static int
add_account_list(struct config *c, const char *platform, const char *list, const char *brand)
{
	char **v = NULL;
	size_t n = 0;
	int rc = ini_split_list(list, &v, &n);

	for (size_t i = 0; i < n; i++)
		add_account(c, platform, v[i], strlen(v[i]), brand);
	ini_strv_free(v, n);
	return rc;
}

void
config_add_brand_list(struct config *c, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ", ");

		if (n > 0)
			add_account(c, NULL, p, n, NULL);
		p += n;
		p += strspn(p, ", ");
	}
}

/* Starts a section from its header. */
static void
begin(struct cparse *p, const struct ini_item *it)
{
	const char *s = it->section;
	size_t w = strcspn(s, " \t");
	const char *name = s + w + strspn(s + w, " \t");
	struct config_section **v = NULL;
	size_t *n = NULL;

	p->sec = SEC_BAD;
	p->cur = NULL;
	if (w == 6 && strncmp(s, "daemon", 6) == 0 && *name == '\0') {
		p->sec = SEC_DAEMON;
		return;
	}
	if (*name == '\0' || strpbrk(name, " \t") != NULL) {
		diag_add(p->d, p->file, it->line, it->col,
		    "unknown section [%s] (expected [daemon], [brand NAME], [source NAME] or "
		    "[webhook NAME])", s);
		return;
	}
	if (w == 5 && strncmp(s, "brand", 5) == 0) {
		for (size_t i = 0; i < p->c->nbrands; i++)
			if (strcmp(p->c->brands[i], name) == 0)
				diag_add(p->d, p->file, it->line, it->col, "duplicate section [%s]", s);
		p->sec = SEC_BRAND;
		p->c->brands = xreallocarray(p->c->brands, p->c->nbrands + 1, sizeof *p->c->brands);
		p->brand = p->c->brands[p->c->nbrands++] = xstrdup(name);
		return;
	}
	if (w == 6 && strncmp(s, "source", 6) == 0) {
		p->sec = SEC_SOURCE;
		v = &p->c->sources;
		n = &p->c->nsources;
	} else if (w == 7 && strncmp(s, "webhook", 7) == 0) {
		p->sec = SEC_WEBHOOK;
		v = &p->c->webhooks;
		n = &p->c->nwebhooks;
	} else {
		diag_add(p->d, p->file, it->line, it->col, "unknown section [%s]", s);
		p->sec = SEC_BAD;
		return;
	}
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0)
			diag_add(p->d, p->file, it->line, it->col,
			    "duplicate section [%s] (first at line %d)", s, (*v)[i].line);
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	p->cur = &(*v)[(*n)++];
	memset(p->cur, 0, sizeof *p->cur);
	p->cur->name = xstrdup(name);
	p->cur->line = it->line;
}

/* A [daemon] key. */
static void
daemon_key(struct cparse *p, const struct ini_item *it)
{
	struct config *c = p->c;
	const char *k = it->key;

	for (size_t i = 0; i < p->ndaemon_keys; i++) {
		if (strcmp(p->daemon_keys[i], k) == 0) {
			diag_add(p->d, p->file, it->line, it->col,
			    "\"%s\" is already set at line %d", k, p->daemon_lines[i]);
			return;
		}
	}
	if (p->ndaemon_keys < 16) {
		p->daemon_lines[p->ndaemon_keys] = it->line;
		p->daemon_keys[p->ndaemon_keys++] = xstrdup(k);
	}
	if (strcmp(k, "state_dir") == 0) {
		free(c->state_dir);
		c->state_dir = resolve(p, it->value);
	} else if (strcmp(k, "rules_dir") == 0) {
		free(c->rules_dir);
		c->rules_dir = resolve_list(p, it);
	} else if (strcmp(k, "shipped_rules_dir") == 0) {
		free(c->shipped_rules_dir);
		/* "none": an install without shipped rules, or a config that wants only its own. */
		c->shipped_rules_dir = strcmp(it->value, "none") != 0 ? resolve(p, it->value) :
		    xstrdup("");
		c->shipped_rules_dir_set = 1;
	} else if (strcmp(k, "log_level") == 0) {
		if ((c->log_level = config_log_level(it->value)) < 0) {
			diag_add(p->d, p->file, it->line, it->value_col,
			    "log_level must be error, warning, notice, info or debug");
			c->log_level = 6;
		}
	} else if (strcmp(k, "window") == 0) {
		duration_key(p, it, &c->window, 0);
	} else if (strcmp(k, "lateness") == 0) {
		duration_key(p, it, &c->lateness, 1);
	} else if (strcmp(k, "retention") == 0) {
		duration_key(p, it, &c->retention, 0);
	} else if (strcmp(k, "max_alert_age") == 0) {
		duration_key(p, it, &c->max_alert_age, 1);
	} else if (strcmp(k, "clock_skew") == 0) {
		duration_key(p, it, &c->clock_skew, 0);
	} else if (strcmp(k, "admin_request_timeout") == 0) {
		duration_key(p, it, &c->admin_request_timeout, 0);
	} else if (strcmp(k, "max_state_size") == 0) {
		size_key(p, it, &c->max_state_size);
	} else if (strcmp(k, "admin_listen") == 0) {
		free(c->admin_listen);
		c->admin_listen = xstrdup(it->value);
		c->admin_listen_line = it->line;
	} else if (strcmp(k, "alert_detected") == 0) {
		if (strcmp(it->value, "yes") == 0 || strcmp(it->value, "no") == 0)
			c->alert_detected = strcmp(it->value, "yes") == 0;
		else
			diag_add(p->d, p->file, it->line, it->value_col, "alert_detected must be yes or no");
	} else if (strcmp(k, "admin_token_file") == 0) {
		free(c->admin_token_file);
		c->admin_token_file = xstrdup(it->value);
		c->admin_token_file_line = it->line;
	} else if (strcmp(k, "admin_read_token_file") == 0) {
		free(c->admin_read_token_file);
		c->admin_read_token_file = xstrdup(it->value);
		c->admin_read_token_file_line = it->line;
	} else {
		diag_add(p->d, p->file, it->line, it->col, "unknown key \"%s\" in [daemon]", k);
	}
}

/* Reports accounts from index first on that an earlier brand section already claims. */
static void
check_accounts(struct cparse *p, size_t first, const struct ini_item *it)
{
	struct config *c = p->c;

	for (size_t i = first; i < c->naccounts; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct brand_account *a = &c->accounts[i], *b = &c->accounts[j];

			if (strcasecmp(a->account, b->account) != 0)
				continue;
			if (a->platform != NULL && b->platform != NULL &&
			    strcmp(a->platform, b->platform) != 0)
				continue;
			diag_add(p->d, p->file, it->line, it->value_col,
			    "account %s is already listed for brand %s", a->account, b->brand);
			break;
		}
	}
}

/* A [brand NAME] key: a window or accounts on a platform. */
static void
brand_key(struct cparse *p, const struct ini_item *it)
{
	const char *k = it->key;
	static const char *platforms[] = {"twitter", "mastodon", "bluesky", NULL};

	if (strcmp(k, "window") == 0) {
		struct config *c = p->c;
		int64_t w;

		if (duration_key(p, it, &w, 0) != 0)
			return;
		c->brand_windows = xreallocarray(c->brand_windows, c->nbrand_windows + 1,
		    sizeof *c->brand_windows);
		c->brand_windows[c->nbrand_windows].brand = p->brand;
		c->brand_windows[c->nbrand_windows++].window = w;
		return;
	}
	size_t first = p->c->naccounts;

	if (strcmp(k, "accounts") == 0) {
		if (add_account_list(p->c, NULL, it->value, p->brand) != 0)
			diag_add(p->d, p->file, it->line, it->value_col, "empty account in list");
		check_accounts(p, first, it);
		return;
	}
	for (size_t i = 0; platforms[i]; i++) {
		if (strcmp(k, platforms[i]) == 0) {
			if (add_account_list(p->c, k, it->value, p->brand) != 0)
				diag_add(p->d, p->file, it->line, it->value_col,
				    "empty account in list");
			check_accounts(p, first, it);
			return;
		}
	}
	diag_add(p->d, p->file, it->line, it->col,
	    "unknown key \"%s\" in [brand %s] (expected twitter, mastodon, bluesky, accounts "
	    "or window)", k, p->brand);
}

/* A [source] or [webhook] key, checked by name and kept for its module. */
static void
raw_key(struct cparse *p, const struct ini_item *it, int known, const char *what)
{
	struct config_section *s = p->cur;
	struct config_kv *kv;

	if (!known) {
		diag_add(p->d, p->file, it->line, it->col, "unknown key \"%s\" in [%s %s]", it->key,
		    what, s->name);
		return;
	}
	s->kv = xreallocarray(s->kv, s->nkv + 1, sizeof *s->kv);
	kv = &s->kv[s->nkv++];
	kv->key = xstrdup(it->key);
	kv->value = xstrdup(it->value);
	kv->line = it->line;
}

/* ini_parse callback. */
static void
on_item(void *arg, const struct ini_item *it)
{
	struct cparse *p = arg;

	if (it->section != NULL) {
		begin(p, it);
		return;
	}
	/* SPEC's example config carries "# ..." comments after values. */
	char *hash = strstr(it->value, " #");
	struct ini_item copy = *it;
	char *v = NULL;

	if (hash != NULL || it->value[0] == '#') {
		size_t n = it->value[0] == '#' ? 0 : (size_t)(hash - it->value);

		while (n > 0 && isspace((unsigned char)it->value[n - 1]))
			n--;
		v = xstrndup(it->value, n);
		copy.value = v;
	}
	if (copy.value[0] == '\0') {
		diag_add(p->d, p->file, it->line, it->value_col, "empty value for \"%s\"", it->key);
		free(v);
		return;
	}
	switch (p->sec) {
	case SEC_NONE:
		diag_add(p->d, p->file, it->line, it->col,
		    "\"%s\" outside a section; start with [daemon]", it->key);
		break;
	case SEC_DAEMON: daemon_key(p, &copy); break;
	case SEC_BRAND: brand_key(p, &copy); break;
	case SEC_SOURCE: raw_key(p, &copy, source_key(p, copy.key), "source"); break;
	case SEC_WEBHOOK: raw_key(p, &copy, in_words(webhook_keys, copy.key), "webhook"); break;
	case SEC_BAD: break;
	}
	free(v);
}

/* The value of key in a section, or NULL. */
const char *
config_value_at(const struct config_section *sec, const char *key, int *line)
{
	const char *v = NULL;

	for (size_t i = 0; i < sec->nkv; i++) {
		if (strcmp(sec->kv[i].key, key) == 0) {
			v = sec->kv[i].value;
			*line = sec->kv[i].line;
		}
	}
	return v;
}

/* Reads one [webhook] section into w, reporting bad values. */
static void
parse_webhook(struct cparse *p, const struct config_section *sec, struct webhook_config *w)
{
	static const char *sevs[] = {"info", "low", "medium", "high", "critical", NULL};

	w->name = xstrdup(sec->name);
	w->timeout = 15;
	w->max_age = 3 * 86400;
	w->concurrency = 4;
	w->retry_base = 5;
	w->retry_max = 3600;
	w->group_wait = 30;
	w->group_interval = 300;
	for (size_t i = 0; i < sec->nkv; i++) {
		const char *k = sec->kv[i].key, *v = sec->kv[i].value;
		int line = sec->kv[i].line;
		int64_t *dur = NULL;

		if (strcmp(k, "url") == 0) {
			free(w->url);
			w->url = xstrdup(v);
			if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: url must start with "
				    "http:// or https://", sec->name);
		} else if (strcmp(k, "secret_file") == 0) {
			w->secret_files = xreallocarray(w->secret_files, w->nsecret_files + 1,
			    sizeof *w->secret_files);
			w->secret_files[w->nsecret_files++] = xstrdup(v);
		} else if (strcmp(k, "secret") == 0) {
			if (strncmp(v, "whsec_", 6) != 0)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: secret must look like "
				    "whsec_<base64>", sec->name);
			w->secrets = xreallocarray(w->secrets, w->nsecrets + 1, sizeof *w->secrets);
			w->secrets[w->nsecrets++] = xstrdup(v);
		} else if (strcmp(k, "format") == 0) {
			if (strcmp(v, "json") != 0 && strcmp(v, "slack") != 0)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: format must be json or "
				    "slack", sec->name);
			w->slack = strcmp(v, "slack") == 0;
		} else if (strcmp(k, "types") == 0 || strcmp(k, "brands") == 0 ||
		    strcmp(k, "tags") == 0) {
			char ***lv = k[0] == 't' && k[1] == 'y' ? &w->types : k[0] == 'b' ? &w->brands
			                                                               : &w->tags;
			size_t *ln = k[0] == 't' && k[1] == 'y' ? &w->ntypes : k[0] == 'b' ? &w->nbrands
			                                                               : &w->ntags;
			size_t first = *ln;

			if (ini_split_list(v, lv, ln) != 0)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: empty item in %s",
				    sec->name, k);
			for (size_t j = first; lv == &w->types && j < *ln; j++) {
				int ok = 0;

				for (size_t t = 0; alert_type_names[t]; t++)
					ok |= strcmp((*lv)[j], alert_type_names[t]) == 0;
				if (!ok)
					diag_add(p->d, p->file, line, 1, "[webhook %s]: unknown alert type "
					    "\"%s\"", sec->name, (*lv)[j]);
			}
		} else if (strcmp(k, "min_severity") == 0) {
			w->min_severity = -1;
			for (int j = 0; sevs[j]; j++)
				if (strcmp(v, sevs[j]) == 0)
					w->min_severity = j;
			if (w->min_severity < 0)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: min_severity must be info, "
				    "low, medium, high or critical", sec->name);
		} else if (strcmp(k, "concurrency") == 0) {
			char *e;
			long c = strtol(v, &e, 10);

			if (*e != '\0' || c < 1 || c > 64)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: concurrency must be 1 to "
				    "64", sec->name);
			else
				w->concurrency = (int)c;
		} else if (strcmp(k, "group_by") == 0) {
			size_t first = w->ngroup_by;

			w->grouping = 1;
			if (ini_split_list(v, &w->group_by, &w->ngroup_by) != 0)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: empty item in group_by",
				    sec->name);
			for (size_t j = first; j < w->ngroup_by; j++)
				if (!in_words("brand type platform rule", w->group_by[j]))
					diag_add(p->d, p->file, line, 1, "[webhook %s]: group_by \"%s\" is not "
					    "one of brand, type, platform, rule", sec->name, w->group_by[j]);
		} else if (strcmp(k, "group_wait") == 0 || strcmp(k, "group_interval") == 0) {
			int64_t d = parse_duration(v);

			w->grouping = 1;
			if (d < 0)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: %s must be a duration such "
				    "as 0s, 30s or 5m", sec->name, k);
			else
				*(k[6] == 'w' ? &w->group_wait : &w->group_interval) = d;
		} else if (strcmp(k, "rate_limit") == 0) {
			char *e;
			long n = strtol(v, &e, 10);
			int64_t per = *e == '/' ? parse_duration(e + 1) : -1;

			if (e == v || n < 1 || n > 1000000 || per <= 0)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: rate_limit \"%s\" is not "
				    "COUNT/DURATION such as 30/1m", sec->name, v);
			else {
				w->rate_count = (int)n;
				w->rate_period = per;
			}
		} else if (strcmp(k, "timeout") == 0) {
			dur = &w->timeout;
		} else if (strcmp(k, "max_age") == 0) {
			dur = &w->max_age;
		} else if (strcmp(k, "retry_base") == 0) {
			dur = &w->retry_base;
		} else if (strcmp(k, "retry_max") == 0) {
			dur = &w->retry_max;
		}
		if (dur != NULL) {
			int64_t d = parse_duration(v);

			if (d <= 0)
				diag_add(p->d, p->file, line, 1, "[webhook %s]: %s must be a duration such "
				    "as 90s, 15m, 72h or 3d", sec->name, k);
			else
				*dur = d;
		}
	}
	if (w->url == NULL)
		diag_add(p->d, p->file, sec->line, 1, "[webhook %s] needs a url", sec->name);
}

static void
hooks_free(struct webhook_config *h, size_t n)
{
	for (size_t i = 0; h != NULL && i < n; i++) {
		free(h[i].name);
		free(h[i].url);
		ini_strv_free(h[i].secret_files, h[i].nsecret_files);
		ini_strv_free(h[i].secrets, h[i].nsecrets);
		ini_strv_free(h[i].types, h[i].ntypes);
		ini_strv_free(h[i].brands, h[i].nbrands);
		ini_strv_free(h[i].tags, h[i].ntags);
		ini_strv_free(h[i].group_by, h[i].ngroup_by);
	}
	free(h);
}

const char *
config_value(const struct config_section *sec, const char *key)
{
	int line;

	return config_value_at(sec, key, &line);
}

/*
 * Checks every key of a source of a known type: that its type reads it, and
 * that durations and numbers parse, so that check -c finds what would stop
 * the daemon at start, with the line that says it.
 */
static void
check_source_keys(struct cparse *p, const struct config_section *sec, const char *type)
{
	static const char *streams = "user public public/local public/remote";
	const struct config_source_type *t = source_type(p, type);
	const char *keys = t != NULL ? t->keys : NULL;

	if (keys == NULL)
		return;
	for (size_t i = 0; i < sec->nkv; i++) {
		const struct config_kv *kv = &sec->kv[i];
		char *end;

		if (!in_words(keys, kv->key)) {
			diag_add(p->d, p->file, kv->line, 1, "[source %s]: key \"%s\" does not apply to "
			    "type %s (it reads: %s)", sec->name, kv->key, type, keys);
		} else if (in_words("poll_interval stall_timeout backoff_base backoff_max", kv->key) &&
		    parse_duration(kv->value) <= 0) {
			diag_add(p->d, p->file, kv->line, 1, "[source %s]: %s \"%s\" is not a duration "
			    "(e.g. 30s, 5m, 1h)", sec->name, kv->key, kv->value);
		} else if (strcmp(kv->key, "backoff_scale") == 0) {
			double v = strtod(kv->value, &end);

			if (end == kv->value || *end != '\0' || !(v > 0 && v <= 1))
				diag_add(p->d, p->file, kv->line, 1, "[source %s]: backoff_scale \"%s\" "
				    "is not a number above 0 and at most 1", sec->name, kv->value);
		} else if (strcmp(kv->key, "stream") == 0 && !in_words(streams, kv->value)) {
			diag_add(p->d, p->file, kv->line, 1, "[source %s]: stream \"%s\" is not one of "
			    "%s", sec->name, kv->value, streams);
		}
	}
}

/* Checks what a section needs as a whole, once all its keys are read. */
/* The keys a section of type t cannot do without (a comma-separated list): "needs a url and a token_file". */
static void
needs(struct cparse *p, const struct config_section *sec, const struct config_source_type *t)
{
	char **v = NULL;
	size_t n = 0;
	int line, missing = 0;
	struct buf what = BUF_INIT;

	if (t->needs == NULL || ini_split_list(t->needs, &v, &n) != 0)
		return;
	for (size_t k = 0; k < n; k++) {
		line = sec->line;
		missing |= config_value_at(sec, v[k], &line) == NULL;
		buf_printf(&what, "%sa %s", k == 0 ? "" : k + 1 == n ? " and " : ", ", v[k]);
	}
	if (missing)
		diag_add(p->d, p->file, sec->line, 1, "[source %s] of type %s needs %s", sec->name,
		    t->type, what.s);
	ini_strv_free(v, n);
	buf_free(&what);
}

static void
check_sections(struct cparse *p)
{
	static const char *formats[] = {"native", NULL};

	for (size_t i = 0; i < p->c->nsources; i++) {
		const struct config_section *sec = &p->c->sources[i];
		int line = sec->line, ok;
		const char *type = config_value_at(sec, "type", &line);
		const struct config_source_type *t;

		if (type == NULL) {
			diag_add(p->d, p->file, sec->line, 1, "[source %s] needs a type (file or push)",
			    sec->name);
			continue;
		}
		if ((t = source_type(p, type)) == NULL) {
			struct buf names = BUF_INIT;
			const struct config_source_type *u;
			size_t n = 0;

			while (p->types != NULL && p->types(n) != NULL)
				n++;
			for (size_t k = 0; k < n; k++) {
				u = p->types(k);
				buf_printf(&names, "%s%s", k == 0 ? "" : k + 1 == n ? " or " : ", ",
				    u->type);
			}
			diag_add(p->d, p->file, line, 1, "[source %s]: type \"%s\" is not supported by "
			    "this version (%s)", sec->name, type, names.s ? names.s : "");
			buf_free(&names);
		} else {
			check_source_keys(p, sec, type);
			needs(p, sec, t);
			if (t->check != NULL)
				t->check(sec, p->file, p->d);
		}
		const char *fmt = config_value_at(sec, "format", &line);
		ok = fmt == NULL;
		for (size_t k = 0; fmt != NULL && formats[k]; k++)
			ok |= strcmp(fmt, formats[k]) == 0;
		if (!ok)
			diag_add(p->d, p->file, line, 1, "[source %s]: format \"%s\" is not supported by "
			    "this version (native)", sec->name, fmt);
	}
	p->c->hooks = xcalloc(p->c->nwebhooks, sizeof *p->c->hooks);
	for (size_t i = 0; i < p->c->nwebhooks; i++)
		parse_webhook(p, &p->c->webhooks[i], &p->c->hooks[i]);
}

struct config *
config_parse(const char *path, const char *buf, size_t len, config_source_types_fn types,
    struct diag *d)
{
	struct cparse p;
	size_t nerr = d->n;
	const char *slash = strrchr(path, '/');

	memset(&p, 0, sizeof p);
	p.c = config_default();
	p.c->path = xstrdup(path);
	p.file = path;
	p.dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	p.d = d;
	p.types = types;
	ini_parse(buf, len, path, on_item, &p, d);
	check_sections(&p);
	for (size_t i = 0; i < p.ndaemon_keys; i++)
		free(p.daemon_keys[i]);
	free(p.dir);
	if (d->n != nerr) {
		config_free(p.c);
		return NULL;
	}
	return p.c;
}

struct config *
config_load(const char *path, config_source_types_fn types, struct diag *d)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t n;
	struct config *c;

	if (f == NULL) {
		diag_add(d, path, 0, 0, "cannot open config: %s", strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= CONFIG_FILE_MAX)
		buf_add(&b, chunk, n);
	if (ferror(f) || b.len > CONFIG_FILE_MAX) {
		diag_add(d, path, 0, 0, ferror(f) ? "read error" : "config larger than 1 MiB");
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	c = config_parse(path, b.s ? b.s : "", b.len, types, d);
	buf_free(&b);
	return c;
}

static void
sections_free(struct config_section *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < s[i].nkv; j++) {
			free(s[i].kv[j].key);
			free(s[i].kv[j].value);
		}
		free(s[i].kv);
		free(s[i].name);
	}
	free(s);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->state_dir);
	free(c->rules_dir);
	free(c->shipped_rules_dir);
	free(c->rules_dir_override);
	free(c->admin_listen);
	free(c->admin_token_file);
	free(c->admin_read_token_file);
	for (size_t i = 0; i < c->naccounts; i++) {
		free((char *)c->accounts[i].platform);
		free((char *)c->accounts[i].account);
		free((char *)c->accounts[i].brand);
	}
	free(c->accounts);
	for (size_t i = 0; i < c->nbrands; i++)
		free(c->brands[i]);
	free(c->brands);
	free(c->brand_windows);
	sections_free(c->sources, c->nsources);
	hooks_free(c->hooks, c->nwebhooks);
	sections_free(c->webhooks, c->nwebhooks);
	free(c);
}

void
config_idle_warnings(const struct config *c, struct diag *d)
{
	const char *file = c->path;

	/* Built-in defaults (check --rules DIR alone) are a rule check, not a deployment. */
	if (file == NULL)
		return;
	if (c->nbrands == 0)
		diag_add(d, file, 0, 0, "warning: no [brand] section: replies are only a brand's "
		    "when the posts say author_is_brand");
	if (c->nsources == 0 && c->admin_token_file == NULL)
		diag_add(d, file, 0, 0, "warning: no input: add a [source] section, or set "
		    "admin_token_file to take posts by HTTP push");
}

void
config_pipeline(const struct config *c, struct pipeline_config *pc, int event_clock)
{
	memset(pc, 0, sizeof *pc);
	pc->window = c->window;
	pc->lateness = c->lateness;
	pc->retention = c->retention;
	pc->accounts = c->accounts;
	pc->naccounts = c->naccounts;
	pc->brand_windows = c->brand_windows;
	pc->nbrand_windows = c->nbrand_windows;
	pc->event_clock = event_clock;
}
