/*
 * deflectd: one binary. Without a command it is the daemon; the commands
 * run the same core over recordings and rule files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "store.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: deflectd [-v] [-c FILE] [--rules DIR]   run the daemon in the foreground\n"
	    "       deflectd COMMAND [OPTIONS]\n"
	    "\n"
	    "  check      [-c FILE] [--rules DIR]\n"
	    "             validate the config and every rule (examples included)\n"
	    "  replay     [-c FILE] [--rules DIR] [--window D] [--lateness D] [--sort]\n"
	    "             [--brands LIST] [--drain] [--max-line BYTES]\n"
	    "             [--format native|x|mastodon|bluesky] [--instance HOST] FILE|-\n"
	    "             run the pipeline over a recording; findings as NDJSON\n"
	    "  test-rules [-c FILE] [--rules DIR] [--brands LIST] [--labels FILE]...\n"
	    "             [--format text|ndjson] [--list N] [--min-f1 CLASS=F1]... FILE...\n"
	    "             rule hits, samples, and scores against labels\n"
	    "  explain    [-c FILE] [--rules DIR] [--by brand|customer] [--brand NAME]\n"
	    "             [--platform NAME] [--lang TAG] TEXT\n"
	    "             which rules match a text, and where\n"
	    "  alerts     [-c FILE] list [--state S] | requeue --dead|ID... | enable-webhook NAME\n"
	    "             alert deliveries and dead letters\n"
	    "  send-test-alert [-c FILE] [WEBHOOK]\n"
	    "             send a marked test alert and report the outcome\n"
	    "  status     [-c FILE]\n"
	    "             a summary from the running daemon's admin API\n"
	    "  report     [-c FILE] [--rules DIR] [--since T] [--until T]\n"
	    "             [--format html|csv|json] [-o FILE] [--brands LIST] [--sort] FILE...\n"
	    "             the scorecard of recordings, replayed offline\n"
	    "  case       [-c FILE] show [--json] ID\n"
	    "             a case with its timeline, alerts and operator verdict\n"
	    "  case       [-c FILE] [--rules DIR] close ID --as resolved|not-deflection|escalated\n"
	    "             --note TEXT [--author NAME]\n"
	    "             close a case with an operator's verdict (ends its alerts)\n"
	    "  labels     [-c FILE] export [-o FILE]\n"
	    "             operator verdicts as labels for test-rules --labels\n"
	    "\n"
	    "Durations take a unit: 90s, 15m, 72h, 3d. Exit status: 0 ok, 1 error, 2 usage.\n");
}

void
cmd_print_diag(const struct diag *d)
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
cmd_open_state(const char *config_path, const char *rules_dir, struct config **cfg,
    struct ruleset **rs)
{
	char err[1024];
	struct store *st;

	if (cmd_load(config_path, rules_dir, cfg, rs) != 0)
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
cmd_load(const char *config_path, const char *rules_dir, struct config **cfgp,
    struct ruleset **rsp)
{
	return cmd_load_as(config_path, rules_dir, cfgp, rsp, 0);
}

int
cmd_load_as(const char *config_path, const char *rules_dir, struct config **cfgp,
    struct ruleset **rsp, int daemon)
{
	struct diag d = DIAG_INIT;
	struct config *cfg;
	struct ruleset *rs = NULL;
	struct stat st;

	/* Without -c, the installed config is used when there is one. */
	if (config_path == NULL && rules_dir == NULL && stat(CONFIG_DEFAULT_PATH, &st) == 0)
		config_path = CONFIG_DEFAULT_PATH;
	cfg = config_path ? config_load(config_path, &d) : config_default();
	if (cfg != NULL && rsp != NULL)
		rs = ruleset_load_dir(rules_dir ? rules_dir : cfg->rules_dir, &d);
	if (d.n > 0) {
		if (daemon)
			log_diag(&d);
		else
			cmd_print_diag(&d);
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

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"check", cmd_check},
	    {"replay", cmd_replay},
	    {"test-rules", cmd_test_rules},
	    {"explain", cmd_explain},
	    {"alerts", cmd_alerts},
	    {"send-test-alert", cmd_send_test_alert},
	    {"status", cmd_status},
	    {"report", cmd_report},
	    {"case", cmd_case},
	    {"labels", cmd_labels},
	};

	/* No command (options only): run the daemon, systemd style. */
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
			usage(stdout);
			return 0;
		}
		return daemon_main(argc, argv);
	}
	if (strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "deflectd: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
