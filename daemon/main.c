/*
 * deflectd: one binary. Without a command it is the daemon; the commands
 * run the same core over recordings and rule files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "ini.h"
#include "store.h"
#include "daemon.h"
#include "log.h"
#include "version.h"
#include "xmalloc.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: deflectd [-v] [--log-level LEVEL] [-c FILE] [--rules DIR]...\n"
	    "                  run the daemon in the foreground (LEVEL: error, warning,\n"
	    "                  notice, info, debug; -v is debug)\n"
	    "       deflectd -V | --version\n"
	    "       deflectd COMMAND [OPTIONS]   (deflectd COMMAND --help for each)\n"
	    "\n"
	    "  check      [-c FILE] [--rules DIR]... [--strict]\n"
	    "             validate the config and every rule (examples included)\n"
	    "  replay     [-c FILE] [--rules DIR]... [--window D] [--lateness D] [--sort]\n"
	    "             [--brands LIST] [--drain] [--max-line BYTES]\n"
	    "             [--format native|x|mastodon|bluesky] [--instance HOST] FILE|-\n"
	    "             run the pipeline over a recording; findings as NDJSON\n"
	    "  test-rules [-c FILE] [--rules DIR]... [--brands LIST] [--labels FILE]...\n"
	    "             [--format text|ndjson] [--list N] [--min-f1 CLASS=F1]... FILE...\n"
	    "             rule hits, samples, and scores against labels\n"
	    "  explain    [-c FILE] [--rules DIR]... [--by brand|customer] [--brand NAME]\n"
	    "             [--platform NAME] [--lang TAG] [--why-not] TEXT\n"
	    "             which rules match a text, and where\n"
	    "  alerts     [-c FILE] list [--state S] [--limit N] | requeue --dead|ID...\n"
	    "             | enable-webhook NAME\n"
	    "             alert deliveries and dead letters\n"
	    "  silence    [-c FILE] add [--start T] [--end T | --duration D] --comment TEXT\n"
	    "             [--author NAME] FIELD=VALUE... | list [--state S] [--json] | expire ID...\n"
	    "             keep alerts matching brand, rule, tag, customer, conversation, platform\n"
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
	    "Without -c (and --rules) the config is /etc/deflectd/deflectd.conf when it\n"
	    "exists. --rules DIR replaces the config's rule directories; given again (or as\n"
	    "DIR,DIR) later directories override earlier rules by id.\n"
	    "Durations take a unit: 90s, 15m, 72h, 3d, 1w, or a sum (1d12h).\n"
	    "Exit status: 0 ok, 1 error, 2 usage.\n");
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
cmd_rules_arg(char *dirs, size_t size, const char *dir)
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
cmd_load(const char *config_path, const char *rules_dir, struct config **cfgp,
    struct ruleset **rsp)
{
	return cmd_load_as(config_path, rules_dir, cfgp, rsp, 0);
}

int
cmd_load_as(const char *config_path, const char *rules_dir, struct config **cfgp,
    struct ruleset **rsp, int daemon)
{
	struct diag warn = DIAG_INIT;
	int rc = cmd_load_warn(config_path, rules_dir, cfgp, rsp, &warn, daemon);

	/*
	 * The daemon logs them at every (re)load; commands leave them to check.
	 * Not at error priority: the rules loaded and run.
	 */
	for (size_t i = 0; daemon && i < warn.n; i++)
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
cmd_load_warn(const char *config_path, const char *rules_dir, struct config **cfgp,
    struct ruleset **rsp, struct diag *warn, int daemon)
{
	struct diag d = DIAG_INIT;
	struct config *cfg;
	struct ruleset *rs = NULL;
	struct stat st;

	/* Without -c, the installed config is used when there is one. */
	if (config_path == NULL && rules_dir == NULL && stat(CONFIG_DEFAULT_PATH, &st) == 0)
		config_path = CONFIG_DEFAULT_PATH;
	cfg = config_path ? config_load(config_path, &d) : config_default();
	if (cfg != NULL && rsp != NULL) {
		char *dirs = rules_dir ? xstrdup(rules_dir) : config_rules_dirs(cfg);

		rs = ruleset_load_dirs(dirs, &d, warn);
		free(dirs);
	}
	if (rs != NULL)
		ruleset_check_scope(rs, cfg->brands, cfg->nbrands, warn);
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
	    {"silence", cmd_silence},
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
		if (argc >= 2 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)) {
			version_print(stdout);
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
