/* Alert documents and their Slack rendering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <jansson.h>

#include "alert.h"
#include "buf.h"
#include "post.h"
#include "xmalloc.h"

const char *
alert_type(enum finding_type t, int detected)
{
	switch (t) {
	case FINDING_UNRESOLVED: return "deflection.unresolved";
	case FINDING_ESCALATION: return "deflection.escalated";
	case FINDING_RESOLVED_LATE: return "deflection.resolved_late";
	case FINDING_DEFLECTION: return detected ? "deflection.detected" : NULL;
	default: return NULL;
	}
}

void
alert_id(const struct finding *f, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *key = xasprintf("%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", finding_type_name(f->type),
	    f->c->platform, f->c->conversation_id, f->c->customer, f->c->post_id, f->post_id);

	EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
	free(key);
	snprintf(out, outlen, "dfl_");
	for (unsigned int i = 0; i < 12 && 4 + 2 * i + 2 < outlen; i++)
		snprintf(out + 4 + 2 * i, outlen - 4 - 2 * i, "%02x", md[i]);
}

/* A time as an RFC 3339 JSON string. */
static json_t *
jtime(int64_t t)
{
	char s[32];

	rfc3339_format(t, s, sizeof s);
	return json_string(s);
}

/* A string or null. */
static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *
alert_document(const struct alert_input *in)
{
	const struct finding *f = in->f;
	const struct tcase *c = f->c;
	json_t *doc = json_object(), *cs = json_object(), *dp = json_object(), *tags = json_array();
	char *s;

	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "id", json_string(in->id));
	json_object_set_new(doc, "type", json_string(in->type));
	json_object_set_new(doc, "created_at", jtime(in->created_at));
	json_object_set_new(doc, "at", jtime(f->at));
	if (in->test)
		json_object_set_new(doc, "test", json_true());

	json_object_set_new(cs, "platform", jstr(c->platform));
	json_object_set_new(cs, "brand", jstr(c->brand));
	json_object_set_new(cs, "conversation_id", jstr(c->conversation_id));
	json_object_set_new(cs, "customer", jstr(c->customer));
	json_object_set_new(cs, "state", json_string(case_state_name(c->state)));
	json_object_set_new(cs, "deflected_at", jtime(c->deflected_at));
	json_object_set_new(cs, "deadline", jtime(c->deadline));
	json_object_set_new(cs, "resolved_at", c->resolved_at ? jtime(c->resolved_at) : json_null());
	json_object_set_new(cs, "time_to_resolution",
	    c->resolved_at ? json_integer(c->resolved_at - c->deflected_at) : json_null());
	json_object_set_new(cs, "repeats", json_integer(c->repeats));
	json_object_set_new(cs, "escalations", json_integer(c->escalations));
	json_object_set_new(doc, "case", cs);

	json_object_set_new(dp, "post_id", jstr(c->post_id));
	json_object_set_new(dp, "url", jstr(in->url));
	json_object_set_new(dp, "text", jstr(in->text));
	json_object_set_new(dp, "rule", jstr(c->rule));
	json_object_set_new(dp, "span", json_pack("[II]", (json_int_t)c->start, (json_int_t)c->end));
	json_object_set_new(dp, "match", jstr(in->match));
	if (in->rule != NULL) {
		for (size_t i = 0; i < in->rule->ntags; i++)
			json_array_append_new(tags, json_string(in->rule->tags[i]));
		json_object_set_new(dp, "severity", json_string(severity_name(in->rule->severity)));
	} else {
		json_object_set_new(dp, "severity", json_null());
	}
	json_object_set_new(dp, "tags", tags);
	json_object_set_new(doc, "deflection", dp);
	json_object_set_new(doc, "evidence", in->evidence ? in->evidence : json_array());
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* Slack mrkdwn needs &, < and > escaped. */
static void
slack_escape(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '&')
			buf_adds(b, "&amp;");
		else if (*s == '<')
			buf_adds(b, "&lt;");
		else if (*s == '>')
			buf_adds(b, "&gt;");
		else
			buf_addc(b, *s);
	}
}

/* A string member of an object, or "". */
static const char *
get(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

char *
alert_slack(const char *docstr)
{
	json_t *doc = json_loads(docstr, 0, NULL), *body;
	json_t *cs, *dp;
	struct buf head = BUF_INIT, detail = BUF_INIT;
	const char *type, *url;
	char *s;

	if (doc == NULL)
		return NULL;
	cs = json_object_get(doc, "case");
	dp = json_object_get(doc, "deflection");
	type = get(doc, "type");
	url = get(dp, "url");
	buf_adds(&head, json_is_true(json_object_get(doc, "test")) ? "[TEST] " : "");
	if (strcmp(type, "deflection.unresolved") == 0)
		buf_adds(&head, "Unresolved deflection: ");
	else if (strcmp(type, "deflection.escalated") == 0)
		buf_adds(&head, "Customer escalated after a deflection: ");
	else if (strcmp(type, "deflection.resolved_late") == 0)
		buf_adds(&head, "Deflection resolved late: ");
	else
		buf_adds(&head, "Deflection: ");
	slack_escape(&head, get(cs, "brand"));
	buf_adds(&head, " sent ");
	slack_escape(&head, get(cs, "customer"));
	buf_adds(&head, " to a private channel on ");
	slack_escape(&head, get(cs, "platform"));
	buf_adds(&head, " and there was no public resolution by ");
	buf_adds(&head, get(cs, "deadline"));
	buf_adds(&detail, "*");
	slack_escape(&detail, get(dp, "rule"));
	buf_adds(&detail, "*: >");
	slack_escape(&detail, get(dp, "text"));
	if (*url) {
		buf_adds(&detail, "\n<");
		buf_adds(&detail, url);
		buf_adds(&detail, "|View the post>");
	}
	body = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}, {s:s, s:[{s:s, s:s}]}]}",
	    "text", head.s,
	    "blocks",
	    "type", "section", "text", "type", "mrkdwn", "text", head.s,
	    "type", "section", "text", "type", "mrkdwn", "text", detail.s,
	    "type", "context", "elements", "type", "mrkdwn", "text", get(doc, "id"));
	s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	json_decref(doc);
	buf_free(&head);
	buf_free(&detail);
	return s;
}
