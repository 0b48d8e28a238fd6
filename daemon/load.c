/*
 * Config and rule loading, shared by the daemon and the commands: which
 * config file, which rule directories (shipped first, then the operator's),
 * and where errors go. The caller owns what is loaded; nothing is kept here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ini.h"
#include "load.h"
#include "log.h"
#include "source.h"
#include "store.h"
#include "xmalloc.h"

void
load_print_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "%s\n", d->msgs[i]);
}

/* The daemon's errors carry a journald priority, so they are found as errors. */
static void
log_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_warnx("%s", d->msgs[i]);
}

struct store *
load_open_state(const char *config_path, const char *rules_dir, struct config **cfg,
    struct ruleset **rs)
{
	char err[1024];
	struct store *st;

	if (load_quiet(config_path, rules_dir, cfg, rs) != 0)
		return NULL;
	if ((st = store_open((*cfg)->state_dir, err, sizeof err)) == NULL) {
		fprintf(stderr, "deflectd: %s\n", err);
		if (rs != NULL)
			ruleset_free(*rs);
		config_free(*cfg);
	}
	return st;
}

int
load_rules_arg(char *dirs, size_t size, const char *dir)
{
	size_t n = strlen(dirs);

	if (n + 1 + strlen(dir) + 1 > size) {
		fprintf(stderr, "deflectd: --rules: the directories add up to more than %zu "
		    "bytes\n", size - 1);
		return -1;
	}
	snprintf(dirs + n, size - n, "%s%s", n > 0 ? "," : "", dir);
	return 0;
}

int
load_quiet(const char *config_path, const char *rules_dir, struct config **cfgp,
    struct ruleset **rsp)
{
	struct diag warn = DIAG_INIT;
	int rc = load_config_rules(config_path, rules_dir, cfgp, rsp, &warn, LOAD_STDERR);

	/* Commands leave the warnings to check. */
	diag_free(&warn);
	return rc;
}

int
load_daemon(const char *config_path, const char *rules_dir, struct config **cfgp,
    struct ruleset **rsp)
{
	struct diag warn = DIAG_INIT;
	int rc = load_config_rules(config_path, rules_dir, cfgp, rsp, &warn, LOAD_LOG);

	/* Logged at every (re)load; not at error priority: the rules loaded and run. */
	for (size_t i = 0; i < warn.n; i++)
		log_notice("%s", warn.msgs[i]);
	diag_free(&warn);
	return rc;
}

/* True when a and b name the same directory (both exist) or the same text. */
static int
same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return strcmp(a, b) == 0;
}

/*
 * The rules directories to read, as ruleset_load_dirs() takes them: the
 * shipped rules first, then rules_dir (one directory or a list), so the
 * operator's override the shipped ones by id. The shipped directory is left
 * out when rules_dir already lists it, when it is "none", and when it is the
 * built-in default and not installed (a build run from its checkout).
 */
static char *
config_rules_dirs(const struct config *cfg)
{
	const char *shipped = cfg->shipped_rules_dir;
	char **v = NULL;
	size_t n = 0;
	struct stat st;
	int listed = 0;

	if (shipped == NULL || shipped[0] == '\0' ||
	    (!cfg->shipped_rules_dir_set && stat(shipped, &st) != 0))
		return xstrdup(cfg->rules_dir);
	if (ini_split_list(cfg->rules_dir, &v, &n) == 0)
		for (size_t i = 0; i < n && !listed; i++)
			listed = same_dir(v[i], shipped);
	ini_strv_free(v, n);
	return listed ? xstrdup(cfg->rules_dir) : xasprintf("%s,%s", shipped, cfg->rules_dir);
}

int
load_config_rules(const char *config_path, const char *rules_dir, struct config **cfgp,
    struct ruleset **rsp, struct diag *warn, enum load_report how)
{
	struct diag d = DIAG_INIT;
	struct config *cfg;
	struct ruleset *rs = NULL;
	struct stat st;

	/* Without -c, the installed config is used when there is one. */
	if (config_path == NULL && rules_dir == NULL && stat(CONFIG_DEFAULT_PATH, &st) == 0)
		config_path = CONFIG_DEFAULT_PATH;
	cfg = config_path ? config_load(config_path, source_config_type, &d) : config_default();
	if (cfg != NULL && rsp != NULL) {
		char *dirs = rules_dir ? xstrdup(rules_dir) : config_rules_dirs(cfg);

		rs = ruleset_load_dirs(dirs, &d, warn);
		free(dirs);
	}
	if (rs != NULL)
		ruleset_check_scope(rs, cfg->brands, cfg->nbrands, warn);
	if (d.n > 0) {
		if (how == LOAD_LOG)
			log_diag(&d);
		else
			load_print_diag(&d);
		diag_free(&d);
		config_free(cfg);
		ruleset_free(rs);
		return -1;
	}
	*cfgp = cfg;
	if (rsp != NULL)
		*rsp = rs;
	return 0;
}
