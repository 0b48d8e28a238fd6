/*
 * deflectd status: a short human summary from the running daemon's admin
 * API. A command, not the daemon, so a blocking request is fine here.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "admin.h"
#include "buf.h"
#include "cmd.h"
#include "curlev.h"
#include "daemon.h"
#include "xmalloc.h"

/* GETs path from the admin listener; returns the body or NULL with a message printed. */
static char *
get(const char *base, const char *token, const char *path, long *status)
{
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b = BUF_INIT;
	char *url = xasprintf("%s%s", base, path);
	CURLcode rc;

	if (token != NULL)
		h = curlev_bearer(h, token);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curlev_collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	if (rc != CURLE_OK) {
		fprintf(stderr, "deflectd status: %s: %s (is the daemon running?)\n", url,
		    curl_easy_strerror(rc));
		buf_free(&b);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	free(url);
	buf_add(&b, "", 0);
	return rc == CURLE_OK ? b.s : NULL;
}

/* Sums the values of metric lines starting with prefix and holding label (if not NULL). */
static double
metric_with(const char *text, const char *prefix, const char *label)
{
	double sum = 0;
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *sp = strchr(p, ' '), *nl = strchr(p, '\n');

		if (strncmp(p, prefix, n) != 0 || sp == NULL || (nl != NULL && sp > nl))
			continue;
		if (label != NULL) {
			const char *hit = strstr(p, label);

			if (hit == NULL || hit > sp)
				continue;
		}
		sum += strtod(sp + 1, NULL);
	}
	return sum;
}

static double
metric(const char *text, const char *prefix)
{
	return metric_with(text, prefix, NULL);
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	struct config *cfg;
	struct diag d = DIAG_INIT;
	char host[256], *token = NULL, *base, *ready, *metrics, *brands;
	int port = 0, ch, rc = 0;
	long st = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'h':
			printf("usage: deflectd status [-c FILE]\n\n"
			    "Readiness, posts, cases, alerts, silences, sources, webhooks and the\n"
			    "scorecard of the daemon at the config's admin_listen.\n");
			return 0;
		default: fprintf(stderr, "usage: deflectd status [-c FILE]\n"); return 2;
		}
	}
	if (optind != argc)
		return 2;
	if (load_quiet(config_path, NULL, &cfg, NULL) != 0)
		return 1;
	if (admin_check(cfg, &d, host, sizeof host, &port, &token) != 0) {
		load_print_diag(&d);
		diag_free(&d);
		config_free(cfg);
		return 1;
	}
	base = xasprintf(strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d",
	    strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host, port);
	ready = get(base, token, "/readyz", &st);
	if (ready == NULL) {
		rc = 1;
		goto out;
	}
	printf("deflectd at %s: %s", base, st == 200 ? "ready\n" : "not ready\n");
	metrics = get(base, token, "/metrics", &st);
	brands = get(base, token, "/v1/brands", &st);
	if (metrics != NULL) {
		printf("posts: %.0f accepted, %.0f duplicates, %.0f bad lines\n",
		    metric(metrics, "deflectd_posts_total{"),
		    metric(metrics, "deflectd_duplicate_posts_total{"),
		    metric(metrics, "deflectd_parse_errors_total{"));
		printf("cases: %.0f deflected, %.0f unresolved, %.0f resolved, %.0f resolved late\n",
		    metric(metrics, "deflectd_cases{state=\"deflected\","),
		    metric(metrics, "deflectd_cases{state=\"unresolved\","),
		    metric(metrics, "deflectd_cases{state=\"resolved\","),
		    metric(metrics, "deflectd_cases{state=\"resolved_late\","));
		printf("alert deliveries: %.0f pending, %.0f delivered, %.0f dead\n",
		    metric_with(metrics, "deflectd_alert_deliveries{", "state=\"pending\""),
		    metric_with(metrics, "deflectd_alert_deliveries{", "state=\"delivered\""),
		    metric_with(metrics, "deflectd_alert_deliveries{", "state=\"dead\""));
		printf("alerts not sent: %.0f silenced, %.0f too old, %.0f deliveries grouped into "
		    "digests; %.0f silences active\n",
		    metric(metrics, "deflectd_alerts_held_total{reason=\"silenced\"}"),
		    metric(metrics, "deflectd_alerts_held_total{reason=\"too_old\"}"),
		    metric_with(metrics, "deflectd_alert_deliveries{", "state=\"grouped\""),
		    metric(metrics, "deflectd_silences{state=\"active\"}"));
		/* Network sources: up or not, and how they have fared. */
		const char *tag = "deflectd_source_connected{source=\"";
		for (const char *p = strstr(metrics, tag); p; p = strstr(p + 1, tag)) {
			const char *name = p + strlen(tag), *q = strchr(name, '"');
			char label[200], ago[32] = "never";
			long long last;

			if (q == NULL || q - name > 150)
				continue;
			snprintf(label, sizeof label, "source=\"%.*s\"", (int)(q - name), name);
			last = (long long)metric_with(metrics,
			    "deflectd_source_last_byte_timestamp_seconds{", label);
			if (last)
				snprintf(ago, sizeof ago, "%llds ago", (long long)time(NULL) - last);
			printf("source %.*s: %s, last byte %s, %.0f reconnects, %.0f stalls, "
			    "%.0f errors\n", (int)(q - name), name,
			    strncmp(q, "\"} 1", 4) == 0 ? "connected" : "DOWN", ago,
			    metric_with(metrics, "deflectd_source_reconnects_total{", label),
			    metric_with(metrics, "deflectd_source_stalls_total{", label),
			    metric_with(metrics, "deflectd_source_errors_total{", label));
		}
		/* A webhook that answered 410 Gone stays off until an operator acts. */
		for (const char *p = strstr(metrics, "deflectd_webhook_disabled{webhook=\""); p;
		     p = strstr(p + 1, "deflectd_webhook_disabled{webhook=\"")) {
			const char *name = p + strlen("deflectd_webhook_disabled{webhook=\"");
			const char *q = strchr(name, '"');

			if (q != NULL && strncmp(q, "\"} 1", 4) == 0)
				printf("webhook %.*s: DISABLED (answered 410 Gone; deflectd alerts "
				    "enable-webhook %.*s)\n", (int)(q - name), name, (int)(q - name), name);
		}
	}
	json_t *doc = brands ? json_loads(brands, 0, NULL) : NULL;
	json_t *arr = json_object_get(doc, "brands"), *b;
	size_t i;

	if (json_array_size(arr) > 0)
		printf("%-20s %8s %8s %9s %9s %12s %6s\n", "brand", "replies", "deflect", "rate",
		    "resolved", "median ttr", "escal");
	json_array_foreach(arr, i, b) {
		json_t *m = json_object_get(b, "median_time_to_resolution");
		char ttr[32] = "-";

		if (json_is_integer(m)) {
			long long t = (long long)json_integer_value(m);

			snprintf(ttr, sizeof ttr, "%lldh%02lldm", t / 3600, t / 60 % 60);
		}
		char rates[2][16];
		const char *keys[2] = {"deflection_rate", "public_resolution_rate"};

		/* A rate with nothing to divide by is null: shown as "-", not 0%. */
		for (int k = 0; k < 2; k++) {
			json_t *r = json_object_get(b, keys[k]);

			if (json_is_number(r))
				snprintf(rates[k], sizeof rates[k], "%.1f%%", 100 * json_number_value(r));
			else
				snprintf(rates[k], sizeof rates[k], "-");
		}
		printf("%-20s %8lld %8lld %9s %9s %12s %6lld\n",
		    json_string_value(json_object_get(b, "brand")),
		    (long long)json_integer_value(json_object_get(b, "replies")),
		    (long long)json_integer_value(json_object_get(b, "deflections")), rates[0], rates[1],
		    ttr, (long long)json_integer_value(json_object_get(b, "escalations")));
	}
	json_decref(doc);
	free(metrics);
	free(brands);
	free(ready);
out:
	free(base);
	free(token);
	config_free(cfg);
	return rc;
}
