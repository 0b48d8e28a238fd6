/* deflectd check: validates the config and every rule (examples included). */
#include <getopt.h>
#include <stdio.h>

#include "admin.h"
#include "cmd.h"
#include "daemon.h"
#include "webhook.h"

int
cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rules", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *rules_dir = NULL;
	struct config *cfg;
	struct ruleset *rs;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'r': rules_dir = optarg; break;
		case 'h':
			printf("usage: deflectd check [-c FILE] [--rules DIR]\n");
			return 0;
		default:
			fprintf(stderr, "usage: deflectd check [-c FILE] [--rules DIR]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: deflectd check [-c FILE] [--rules DIR]\n");
		return 2;
	}
	if (cmd_load(config_path, rules_dir, &cfg, &rs) != 0)
		return 1;
	/* What the daemon checks at start, too: the listener, the tokens, the secrets. */
	struct diag d = DIAG_INIT;
	char host[256];
	int port;

	admin_check(cfg, &d, host, sizeof host, &port, NULL);
	webhooks_check(cfg, &d);
	daemon_check_sources(cfg, &d);
	if (d.n > 0) {
		cmd_print_diag(&d);
		diag_free(&d);
		ruleset_free(rs);
		config_free(cfg);
		return 1;
	}
	config_idle_warnings(cfg, &d);
	cmd_print_diag(&d);
	diag_free(&d);
	printf("configuration OK (%zu rules%s)\n", rs->n,
	    rs->jit ? "" : ", PCRE2 JIT unavailable: interpreting");
	ruleset_free(rs);
	config_free(cfg);
	return 0;
}
