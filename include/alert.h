/*
 * The alert document (SPEC section 5, README "Alerts"), version 1, and the
 * bodies sent for it: the document itself, or a Slack message.
 */
#ifndef DEFLECTD_ALERT_H
#define DEFLECTD_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rules.h"
#include "tracker.h"

/* The alert type a finding raises, or NULL when it raises none. */
const char *alert_type(enum finding_type t, int detected);

/* A stable id for a finding's alert, so doing it again is a no-op: "dfl_" + 24 hex. */
void alert_id(const struct finding *f, char *out, size_t outlen);

/* What an alert carries beyond the finding. */
struct alert_input {
	const struct finding *f;
	const struct rule *rule; /* the deflection rule, when loaded: severity and tags */
	const char *type;
	const char *id;
	int64_t created_at; /* wall clock */
	const char *text;   /* the deflecting post's text, url and matched text */
	const char *url;
	const char *match;
	json_t *evidence; /* array of evidence objects; stolen */
	int test;         /* send-test-alert */
	/* The post that raised it (an escalation, a late resolution); NULL: the deflection. */
	const char *post_author;
	const char *post_text; /* normalized */
	const char *post_url;
};

/* Builds the document; the caller frees the string. */
char *alert_document(const struct alert_input *in);
/*
 * A Slack incoming-webhook body for an alert or digest document; NULL if
 * doc is not one.
 */
char *alert_slack(const char *doc);
/*
 * A digest document: the alerts (array of alert documents; stolen) one
 * webhook's group gathered, sent and signed as one message. group is the
 * group's JSON object. The caller frees the string.
 */
char *alert_digest(const char *id, const char *webhook, const char *group, int64_t created_at,
    json_t *alerts);

#endif
