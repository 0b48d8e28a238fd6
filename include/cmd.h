/* The subcommands of the one deflectd binary, and what they share. */
#ifndef DEFLECTD_CMD_H
#define DEFLECTD_CMD_H

#include "config.h"
#include "rules.h"

int cmd_check(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_test_rules(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_send_test_alert(int argc, char **argv);
int cmd_silence(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_case(int argc, char **argv);
int cmd_labels(int argc, char **argv);

/*
 * Loads the config (path NULL: built-in defaults, or the default file when it
 * exists and want_default is set) and then the rules (rules_dir overrides the
 * config's). Prints every error to stderr and returns -1 on any.
 */
int cmd_load(const char *config_path, const char *rules_dir, struct config **cfg,
    struct ruleset **rs);
/* cmd_load that hands the rule warnings (and scope checks against the config) to warn. */
int cmd_load_warn(const char *config_path, const char *rules_dir, struct config **cfg,
    struct ruleset **rs, struct diag *warn, int daemon);
/*
 * Adds a --rules argument to dirs, the comma-separated list of rule
 * directories read in order (size bytes, starting ""). -1 when it is full.
 */
#define CMD_RULES_MAX 8192
int cmd_rules_arg(char *dirs, size_t size, const char *dir);
/* cmd_load for the daemon: errors are logged with journald priorities. */
int cmd_load_as(const char *config_path, const char *rules_dir, struct config **cfg,
    struct ruleset **rs, int daemon);
struct store;
/*
 * For operator commands: cmd_load, then opens the state database the config
 * names. NULL with the errors printed; else the caller closes the store and
 * frees *cfg (and *rs when rs was given).
 */
struct store *cmd_open_state(const char *config_path, const char *rules_dir,
    struct config **cfg, struct ruleset **rs);
/* Prints every diagnostic to stderr. */
void cmd_print_diag(const struct diag *d);

#endif
