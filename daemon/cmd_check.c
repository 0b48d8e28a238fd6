/*
 * deflectd check: validates the config and every rule (examples included),
 * prints the warnings (errors with --strict) and where each key of an
 * overridden rule came from.
 */
#include <getopt.h>
#include <stdio.h>

#include "admin.h"
#include "cmd.h"
#include "daemon.h"
#include "webhook.h"

/*
 * For each rule a later file overrode: the overriding sections, then every
 * key in effect with the file:line it came from, so an operator sees what a
 * local file changed and what still comes from the shipped rule.
 */
static void
print_overrides(const struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->rules[i];

		if (r->noverrides == 0)
			continue;
		printf("override: %s %s (%s:%d) overridden by", rule_kind_name(r->kind), r->id,
		    r->file, r->line);
		for (size_t k = 0; k < r->noverrides; k++)
			printf("%s %s:%d", k ? "," : "", r->overrides[k].file, r->overrides[k].line);
		printf("\n");
		for (size_t k = 0; k < r->norigins; k++) {
			const struct rule_origin *o = &r->origins[k];

			printf("  %s:%d: %s = %s\n", o->file, o->line, o->key, o->value);
		}
	}
}

int
cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rules", required_argument, NULL, 'r'},
	    {"strict", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *rules_dir = NULL;
	char rules_buf[LOAD_RULES_MAX] = "";
	struct config *cfg;
	struct ruleset *rs;
	struct diag warn = DIAG_INIT;
	int ch, strict = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'r':
			if (load_rules_arg(rules_buf, sizeof rules_buf, optarg) != 0)
				return 2;
			rules_dir = rules_buf;
			break;
		case 's': strict = 1; break;
		case 'h':
			printf("usage: deflectd check [-c FILE] [--rules DIR]... [--strict]\n"
			    "\n"
			    "  -c FILE      the config (default /etc/deflectd/deflectd.conf if it exists)\n"
			    "  --rules DIR  read the rules of DIR instead of the config's; repeat it (or\n"
			    "               DIR,DIR) to read several, later overriding earlier by id\n"
			    "  --strict     rule warnings (rules that can never fire) are errors\n");
			return 0;
		default:
			fprintf(stderr, "usage: deflectd check [-c FILE] [--rules DIR]... [--strict]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: deflectd check [-c FILE] [--rules DIR]... [--strict]\n");
		return 2;
	}
	/* Warnings of a rule set that does not load wait until its errors are fixed. */
	if (load_config_rules(config_path, rules_dir, &cfg, &rs, &warn, LOAD_STDERR) != 0) {
		diag_free(&warn);
		return 1;
	}
	print_overrides(rs);
	/* What the daemon checks at start, too: the listener, the tokens, the secrets. */
	struct diag d = DIAG_INIT;
	char host[256];
	int port;

	admin_check(cfg, &d, host, sizeof host, &port, NULL);
	webhooks_check(cfg, &d);
	daemon_check_sources(cfg, &d);
	load_print_diag(&d);
	load_print_diag(&warn);
	if (d.n > 0 || (strict && warn.n > 0)) {
		if (d.n == 0)
			fprintf(stderr, "%zu warning%s, errors with --strict\n", warn.n,
			    warn.n == 1 ? "" : "s");
		diag_free(&d);
		diag_free(&warn);
		ruleset_free(rs);
		config_free(cfg);
		return 1;
	}
	/* Apart from the rule warnings: they say what to add, not what is wrong (no --strict). */
	config_idle_warnings(cfg, &d);
	load_print_diag(&d);
	diag_free(&d);
	if (warn.n > 0)
		printf("configuration OK (%zu rules, %zu warning%s%s)\n", rs->n, warn.n,
		    warn.n == 1 ? "" : "s", rs->jit ? "" : ", PCRE2 JIT unavailable: interpreting");
	else
		printf("configuration OK (%zu rules%s)\n", rs->n,
		    rs->jit ? "" : ", PCRE2 JIT unavailable: interpreting");
	diag_free(&warn);
	ruleset_free(rs);
	config_free(cfg);
	return 0;
}
