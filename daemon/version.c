/*
 * Versions for --version and deflectd_build_info. Each library is asked at
 * run time, not taken from its header: after a security update of a shared
 * library the operator wants to see the version actually loaded.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <stdio.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pcre2.h>
#include <sqlite3.h>

#include "version.h"

struct lib_version {
	const char *name;
	char version[64];
};

/* Fills v with each library's name and loaded version; returns how many. */
static int
lib_versions(struct lib_version v[6])
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	char pcre[48] = "?";

	pcre2_config(PCRE2_CONFIG_VERSION, pcre);
	v[0].name = "pcre2";
	snprintf(v[0].version, sizeof v[0].version, "%s", pcre);
	v[1].name = "libcurl";
	snprintf(v[1].version, sizeof v[1].version, "%s", cv ? cv->version : "?");
	v[2].name = "libevent";
	snprintf(v[2].version, sizeof v[2].version, "%s", event_get_version());
	v[3].name = "sqlite";
	snprintf(v[3].version, sizeof v[3].version, "%s", sqlite3_libversion());
	v[4].name = "jansson";
	snprintf(v[4].version, sizeof v[4].version, "%s", jansson_version_str());
	v[5].name = "openssl";
	snprintf(v[5].version, sizeof v[5].version, "%s", OpenSSL_version(OPENSSL_VERSION));
	return 6;
}

void
version_print(FILE *f)
{
	struct lib_version v[6];
	int n = lib_versions(v);

	fprintf(f, "deflectd %s\n", DEFLECTD_VERSION);
	for (int i = 0; i < n; i++)
		fprintf(f, "  %-9s %s\n", v[i].name, v[i].version);
}

void
version_labels(struct buf *out)
{
	struct lib_version v[6];
	int n = lib_versions(v);

	buf_printf(out, "version=\"%s\"", DEFLECTD_VERSION);
	for (int i = 0; i < n; i++) {
		/* Label values are escaped: a version string is not ours to trust. */
		buf_printf(out, ",%s=\"", v[i].name);
		for (const char *p = v[i].version; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addc(out, '\\');
			if (*p != '\n')
				buf_addc(out, *p);
		}
		buf_addc(out, '"');
	}
}
