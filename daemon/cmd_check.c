/* deflectd check: validates the config and every rule (examples included). */
#include <getopt.h>
#include <stdio.h>

#include "admin.h"
#include "cmd.h"
#include "daemon.h"
#include "webhook.h"

/*
 * A config that loads but cannot do anything yet: no brand, so no reply is
 * ever a brand's; or no input, so no post ever arrives. Warnings, not
 * errors: a fresh install is in this state until the operator fills it in.
 */
static void
warn_idle(const struct config *cfg)
{
	const char *file = cfg->path ? cfg->path : "(defaults)";

	if (cfg->nbrands == 0)
		fprintf(stderr, "%s: warning: no [brand] section: replies are only a brand's when "
		    "the posts say author_is_brand\n", file);
	if (cfg->nsources == 0 && cfg->admin_token_file == NULL)
		fprintf(stderr, "%s: warning: no input: add a [source] section, or set "
		    "admin_token_file to take posts by HTTP push\n", file);
}

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
	warn_idle(cfg);
	printf("configuration OK (%zu rules%s)\n", rs->n,
	    rs->jit ? "" : ", PCRE2 JIT unavailable: interpreting");
	ruleset_free(rs);
	config_free(cfg);
	return 0;
}
