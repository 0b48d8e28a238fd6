/*
 * Loading the config and the rules, for the daemon (start and SIGHUP) and for
 * every command: one place that decides which file and which rule
 * directories are read, and where the errors go.
 */
#ifndef DEFLECTD_LOAD_H
#define DEFLECTD_LOAD_H

#include "config.h"
#include "diag.h"
#include "rules.h"

/* Where load_config_rules() reports errors: stderr, or the log at error priority. */
enum load_report {
	LOAD_STDERR,
	LOAD_LOG,
};

/*
 * Loads the config (path NULL: built-in defaults, or the installed file when
 * it exists and rules_dir is NULL too) and then, when rs is given, the rules
 * (rules_dir overrides the config's). Rule warnings and scope checks go to
 * warn; every error is reported as `how` says and -1 returned, with nothing
 * allocated. On success the caller owns *cfg and *rs.
 */
int load_config_rules(const char *config_path, const char *rules_dir, struct config **cfg,
    struct ruleset **rs, struct diag *warn, enum load_report how);
/* load_config_rules() for commands: errors to stderr, warnings dropped (check shows them). */
int load_quiet(const char *config_path, const char *rules_dir, struct config **cfg,
    struct ruleset **rs);
/* load_config_rules() for the daemon: errors logged, warnings logged as notices. */
int load_daemon(const char *config_path, const char *rules_dir, struct config **cfg,
    struct ruleset **rs);
struct store;
/*
 * For operator commands: load_quiet(), then opens the state database the
 * config names. NULL with the errors printed; else the caller closes the
 * store and frees *cfg (and *rs when rs was given).
 */
struct store *load_open_state(const char *config_path, const char *rules_dir,
    struct config **cfg, struct ruleset **rs);
/*
 * Adds a --rules argument to dirs, the comma-separated list of rule
 * directories read in order (size bytes, starting ""). -1 when it is full.
 */
#define LOAD_RULES_MAX 8192
int load_rules_arg(char *dirs, size_t size, const char *dir);
/* Prints every diagnostic to stderr. */
void load_print_diag(const struct diag *d);

#endif
