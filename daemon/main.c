/*
 * deflectd: one binary. Without a command it is the daemon; the commands
 * run the same core over recordings and rule files. main() only dispatches:
 * loading the config and rules is load.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "daemon.h"
#include "version.h"

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
