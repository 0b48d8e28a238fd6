/* The subcommands of the one deflectd binary, and what they share. */
#ifndef DEFLECTD_CMD_H
#define DEFLECTD_CMD_H

#include "load.h"

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
 * The names cmd_test_rules.c still uses for load.c's functions (kept while
 * that file is being changed on another branch; new code calls load_*).
 */
#define CMD_RULES_MAX LOAD_RULES_MAX
/* load_quiet() under its old name. */
static inline int
cmd_load(const char *config_path, const char *rules_dir, struct config **cfg,
    struct ruleset **rs)
{
	return load_quiet(config_path, rules_dir, cfg, rs);
}
/* load_rules_arg() under its old name. */
static inline int
cmd_rules_arg(char *dirs, size_t size, const char *dir)
{
	return load_rules_arg(dirs, size, dir);
}

#endif
