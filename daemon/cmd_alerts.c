/*
 * Operator commands on alerts: list deliveries, requeue dead ones, re-enable
 * a webhook that answered 410, and send a test alert through the real path.
 * They work on the state database directly (WAL lets the daemon run on).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "alert.h"
#include "cmd.h"
#include "log.h"
#include "store.h"
#include "webhook.h"
#include "xmalloc.h"

static const char alerts_usage[] =
    "usage: deflectd alerts [-c FILE] list [--state pending|delivered|dead|silenced|too_old|\n"
    "                                            grouped|unrouted] [--limit N]\n"
    "       deflectd alerts [-c FILE] requeue --dead | ID...\n"
    "       deflectd alerts [-c FILE] enable-webhook NAME\n"
    "\n"
    "  list            one line per webhook delivery, newest first, with why one was\n"
    "                  not sent\n"
    "  --state S       only deliveries in state S\n"
    "  --limit N       show the newest N (default 1000)\n"
    "  requeue         send again: every dead delivery (--dead) or the alerts named\n"
    "                  (also silenced, too old or grouped ones)\n"
    "  enable-webhook  turn on a webhook disabled by a 410 (then reload deflectd)\n";

/* store_rows callback: one delivery as a tab-separated line, counted in *arg. */
static void
print_row(void *arg, int n, const char *const *v)
{
	++*(long *)arg;
	for (int i = 0; i < n; i++)
		printf("%s%s", i ? "\t" : "", v[i] ? v[i] : "-");
	printf("\n");
}

/* The newest deliveries listed unless --limit says otherwise. */
#define ALERTS_LIST_LIMIT 1000

struct limited {
	long limit;
	long *rows;
};

/* store_rows callback: prints rows up to the limit, counting one more. */
static void
print_limited(void *arg, int n, const char *const *v)
{
	struct limited *l = arg;

	if (*l->rows < l->limit)
		print_row(l->rows, n, v);
	else
		++*l->rows;
}

int
cmd_alerts(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"state", required_argument, NULL, 's'},
	    {"dead", no_argument, NULL, 'd'},
	    {"limit", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *state = NULL;
	int ch, dead = 0, rc = 0;
	long limit = ALERTS_LIST_LIMIT, rows = 0;
	char *end;
	struct config *cfg;
	struct store *st;

	log_init(0);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 's': state = optarg; break;
		case 'd': dead = 1; break;
		case 'l':
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || limit < 1 || limit > 100000000) {
				fprintf(stderr, "deflectd alerts: --limit wants a number from 1 up\n");
				return 2;
			}
			break;
		case 'h': fputs(alerts_usage, stdout); return 0;
		default: fputs(alerts_usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(alerts_usage, stderr);
		return 2;
	}
	const char *sub = argv[optind++];
	static const char *states[] = {"pending", "delivered", "dead", "silenced", "too_old",
	    "grouped", "unrouted", NULL};
	int known = state == NULL;
	for (size_t i = 0; !known && states[i]; i++)
		known = strcmp(state, states[i]) == 0;
	if (!known) {
		fprintf(stderr, "deflectd alerts: no state \"%s\" (pending, delivered, dead, "
		    "silenced, too_old, grouped or unrouted)\n", state);
		return 2;
	}
	if ((st = load_open_state(config_path, NULL, &cfg, NULL)) == NULL)
		return 1;
	if (strcmp(sub, "list") == 0) {
		/*
		 * Every alert, sent or not: a delivery per webhook, with why it was not
		 * sent (a silence, too old, the digest it went in and that digest's
		 * state); an alert no webhook takes shows once with webhook "-".
		 */
		printf("alert\ttype\twebhook\tstate\tattempts\tlast_status\tlast_error\tcreated"
		    "\treason\n");
		char lim[24];

		/* One row more than asked tells whether the list was cut. */
		snprintf(lim, sizeof lim, "%ld", limit + 1);
		rc = store_rows(st,
		    "SELECT d.alert_id, o.type, d.webhook, d.state, d.attempts, d.last_status,"
		    " d.last_error, datetime(o.created_at, 'unixepoch') AS created,"
		    STORE_SQL_DELIVERY_REASON " FROM deliveries d"
		    " JOIN outbox o ON o.id = d.alert_id" STORE_SQL_DIGEST_JOIN
		    " WHERE ?1 IS NULL OR d.state = ?1"
		    " UNION ALL SELECT id, type, '-', st, 0, NULL, NULL, created, why FROM"
		    " (SELECT o.id, o.type, CASE WHEN o.silence_id IS NOT NULL THEN 'silenced'"
		    " WHEN o.held IS NOT NULL THEN 'too_old' ELSE 'unrouted' END AS st,"
		    " datetime(o.created_at, 'unixepoch') AS created,"
		    " coalesce(o.held, 'no webhook''s filters take it') AS why FROM outbox o"
		    " WHERE NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.alert_id = o.id))"
		    " WHERE ?1 IS NULL OR st = ?1 ORDER BY created DESC, 1 DESC LIMIT ?2", state, lim,
		    print_limited, &(struct limited){limit, &rows});
		if (rows > limit)
			fprintf(stderr, "deflectd alerts: the newest %ld shown; --limit N shows more\n",
			    limit);
	} else if (strcmp(sub, "requeue") == 0 && (dead || optind < argc)) {
		char *q;
		int n = 0;

		if (dead) {
			n = store_exec(st, "UPDATE deliveries SET state = 'pending', attempts = 0,"
			    " next_at = 0, requeued_at = unixepoch() WHERE state = 'dead'");
		}
		for (; optind < argc && n >= 0; optind++) {
			/* Ids are ours (dfl_ or dgst_ + hex); anything else matches nothing. */
			if (strspn(argv[optind], "dfgslt_0123456789abcdef") != strlen(argv[optind])) {
				fprintf(stderr, "deflectd alerts: not an alert id: %s\n", argv[optind]);
				rc = 1;
				continue;
			}
			q = xasprintf("UPDATE deliveries SET state = 'pending', attempts = 0,"
			    " next_at = 0, requeued_at = unixepoch() WHERE alert_id = '%s' AND"
			    " state != 'delivered'", argv[optind]);
			int k = store_exec(st, q);
			free(q);
			n = k < 0 ? -1 : n + k;
		}
		if (n < 0)
			rc = 1;
		else
			printf("%d deliveries requeued\n", n);
	} else if (strcmp(sub, "enable-webhook") == 0 && optind == argc - 1) {
		if (strspn(argv[optind], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(argv[optind])) {
			fprintf(stderr, "deflectd alerts: not a webhook name: %s\n", argv[optind]);
			rc = 1;
		} else {
			char *q = xasprintf("DELETE FROM webhook_state WHERE name = '%s'", argv[optind]);

			rc = store_exec(st, q) < 0;
			free(q);
			if (rc == 0)
				printf("webhook %s enabled; reload or restart deflectd to resume delivery\n",
				    argv[optind]);
		}
	} else {
		fputs(alerts_usage, stderr);
		rc = 2;
	}
	store_close(st);
	config_free(cfg);
	return rc;
}

int
cmd_send_test_alert(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *only = NULL;
	struct config *cfg;
	int ch, rc = 0, sent = 0;

	log_init(0);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'h': printf("usage: deflectd send-test-alert [-c FILE] [WEBHOOK]\n"); return 0;
		default: fprintf(stderr, "usage: deflectd send-test-alert [-c FILE] [WEBHOOK]\n"); return 2;
		}
	}
	if (optind < argc)
		only = argv[optind++];
	if (optind != argc || load_quiet(config_path, NULL, &cfg, NULL) != 0)
		return optind != argc ? 2 : 1;

	/* A clearly marked test: "test": true and a case nobody could mistake. */
	int64_t now = (int64_t)time(NULL);
	struct tcase c = {"test", "deflectd-test", "test-customer", "deflectd", CASE_UNRESOLVED,
	    now - 3 * 86400, now, 0, 0, 0, "deflectd-test-post", "test-rule", 10, 14};
	struct finding f = {FINDING_UNRESOLVED, now, &c, c.post_id, c.rule, 10, 14};
	struct alert_input in;
	char id[64], *doc;

	snprintf(id, sizeof id, "dfl_test%016llx", (unsigned long long)now);
	memset(&in, 0, sizeof in);
	in.f = &f;
	in.type = "deflection.unresolved";
	in.id = id;
	in.created_at = now;
	in.text = "This is a test alert from deflectd send-test-alert."; /* "test" at 10-14 */
	in.match = "test";
	in.test = 1;
	doc = alert_document(&in);
	for (size_t i = 0; i < cfg->nwebhooks; i++) {
		const struct webhook_config *w = &cfg->hooks[i];
		struct event_base *base;
		struct webhook_result res;
		char err[512];

		if (only != NULL && strcmp(only, w->name) != 0)
			continue;
		sent++;
		base = event_base_new();
		if (webhook_send_once(base, cfg, w, id, doc, &res, err, sizeof err) != 0) {
			printf("webhook %s: %s\n", w->name, err);
			rc = 1;
		} else if (*res.error) {
			printf("webhook %s: failed: %s (%.0f ms)\n", w->name, res.error, res.seconds * 1000);
			rc = 1;
		} else {
			printf("webhook %s: HTTP %ld in %.0f ms%s\n", w->name, res.status,
			    res.seconds * 1000, res.status >= 200 && res.status <= 299 ? "" : " (failed)");
			if (res.status < 200 || res.status > 299)
				rc = 1;
		}
		event_base_free(base);
	}
	if (sent == 0) {
		fprintf(stderr, "deflectd send-test-alert: %s\n",
		    only ? "no such webhook" : "no [webhook] sections in the config");
		rc = 1;
	}
	free(doc);
	config_free(cfg);
	return rc;
}
