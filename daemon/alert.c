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

/* A string member of an object, or "". */
static const char *
get(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

/* Slack mrkdwn needs &, < and > escaped; plain text takes s as it is. */
static void
put(struct buf *b, const char *s, int mrkdwn)
{
	for (; s && *s; s++) {
		if (mrkdwn && *s == '&')
			buf_adds(b, "&amp;");
		else if (mrkdwn && *s == '<')
			buf_adds(b, "&lt;");
		else if (mrkdwn && *s == '>')
			buf_adds(b, "&gt;");
		else
			buf_addc(b, *s);
	}
}

/*
 * Appends s (escaped for mrkdwn when asked) up to max bytes of output, cut
 * before a UTF-8 character and marked with an ellipsis, so escaping cannot
 * push a Slack text past its limit.
 */
static void
put_capped(struct buf *b, const char *s, size_t max, int mrkdwn)
{
	size_t start = b->len;

	for (; s && *s; s++) {
		if (b->len - start >= max && ((unsigned char)*s & 0xc0) != 0x80) {
			buf_adds(b, "...");
			return;
		}
		put(b, (char[2]){*s, '\0'}, mrkdwn);
	}
}

/*
 * The one-line summary of an alert document, per type: what happened, to
 * whom, and the time that matters for it. Only an unresolved alert speaks
 * of a deadline that passed; an escalation quotes the customer.
 */
static void
summarize(struct buf *b, json_t *doc, int mrkdwn)
{
	json_t *cs = json_object_get(doc, "case"), *dp = json_object_get(doc, "deflection");
	json_t *post = json_object_get(doc, "post");
	const char *type = get(doc, "type");

	put_capped(b, get(cs, "brand"), 100, mrkdwn);
	buf_adds(b, " sent ");
	put_capped(b, get(cs, "customer"), 100, mrkdwn);
	buf_adds(b, " to a private channel on ");
	put_capped(b, get(cs, "platform"), 100, mrkdwn);
	buf_adds(b, " at ");
	buf_adds(b, get(cs, "deflected_at"));
	buf_adds(b, " (rule ");
	put_capped(b, get(dp, "rule"), 100, mrkdwn);
	buf_adds(b, ")");
	if (strcmp(type, "deflection.unresolved") == 0) {
		buf_adds(b, " and there was no public resolution by ");
		buf_adds(b, get(cs, "deadline"));
	} else if (strcmp(type, "deflection.escalated") == 0) {
		buf_adds(b, "; at ");
		buf_adds(b, post ? get(post, "at") : get(doc, "at"));
		buf_adds(b, " they escalated in public");
		if (post != NULL && *get(post, "text")) {
			buf_adds(b, ": \"");
			put_capped(b, get(post, "text"), 280, mrkdwn);
			buf_adds(b, "\"");
		}
	} else if (strcmp(type, "deflection.resolved_late") == 0) {
		buf_adds(b, "; it was resolved in public at ");
		buf_adds(b, *get(cs, "resolved_at") ? get(cs, "resolved_at") : get(doc, "at"));
		buf_adds(b, ", after the deadline ");
		buf_adds(b, get(cs, "deadline"));
	} else {
		buf_adds(b, "; a public resolution is due by ");
		buf_adds(b, get(cs, "deadline"));
	}
}

char *
alert_document(const struct alert_input *in)
{
	const struct finding *f = in->f;
	const struct tcase *c = f->c;
	json_t *doc = json_object(), *cs = json_object(), *dp = json_object(), *tags = json_array();
	struct buf sum = BUF_INIT;
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
	/* The post behind the alert: the customer's words for an escalation. */
	if (in->post_text != NULL && f->post_id != NULL && c->post_id != NULL &&
	    strcmp(f->post_id, c->post_id) != 0)
		json_object_set_new(doc, "post", json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}",
		    "post_id", f->post_id, "kind", finding_type_name(f->type), "at", jtime(f->at),
		    "author", jstr(in->post_author), "text", jstr(in->post_text), "url",
		    jstr(in->post_url)));
	else
		json_object_set_new(doc, "post", json_null());
	json_object_set_new(doc, "evidence", in->evidence ? in->evidence : json_array());
	summarize(&sum, doc, 0);
	json_object_set_new(doc, "summary", json_string(sum.s ? sum.s : ""));
	buf_free(&sum);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

char *
alert_digest(const char *id, const char *webhook, const char *group, int64_t created_at,
    json_t *alerts)
{
	json_t *g = json_loads(group, 0, NULL), *doc;
	struct buf sum = BUF_INIT;
	const char *k;
	json_t *v;
	char *s;

	buf_printf(&sum, "%zu alert%s", json_array_size(alerts),
	    json_array_size(alerts) == 1 ? "" : "s");
	json_object_foreach(g, k, v)
		buf_printf(&sum, ", %s %s", k, json_is_string(v) ? json_string_value(v) : "(none)");
	doc = json_pack("{s:i, s:s, s:s, s:o, s:s, s:o, s:I, s:s, s:o}", "version", 1, "id", id,
	    "type", "deflection.digest", "created_at", jtime(created_at), "webhook", webhook,
	    "group", g ? g : json_object(), "count", (json_int_t)json_array_size(alerts),
	    "summary", sum.s, "alerts", alerts);
	s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	buf_free(&sum);
	return s;
}

/* A title for an alert type. */
static const char *
title(const char *type)
{
	if (strcmp(type, "deflection.unresolved") == 0)
		return "Unresolved deflection";
	if (strcmp(type, "deflection.escalated") == 0)
		return "Customer escalated after a deflection";
	if (strcmp(type, "deflection.resolved_late") == 0)
		return "Deflection resolved late";
	return "Deflection detected";
}

/* A block quote of text: '>' starts each of its lines, as Slack wants. */
static void
quote(struct buf *b, const char *text)
{
	struct buf q = BUF_INIT;

	put_capped(&q, text, 1200, 1);
	buf_addc(b, '>');
	for (size_t i = 0; q.s && i < q.len; i++) {
		buf_addc(b, q.s[i]);
		if (q.s[i] == '\n')
			buf_addc(b, '>');
	}
	buf_free(&q);
}

/* A link to url labelled label, on a line of its own; nothing without a url. */
static void
slack_link(struct buf *b, const char *url, const char *label)
{
	/* A cut URL would lead elsewhere: an overlong one (the post's, so anyone's) is left out. */
	if (*url == '\0' || strlen(url) > 1000)
		return;
	buf_adds(b, "\n<");
	for (; *url; url++) {
		if (*url == '|')
			buf_adds(b, "%7C");
		else
			put(b, (char[2]){*url, '\0'}, 1);
	}
	buf_printf(b, "|%s>", label);
}

/* A section block of mrkdwn text. */
static json_t *
section(const char *text)
{
	return json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text", "type", "mrkdwn", "text",
	    text);
}

/* A context block of one mrkdwn text. */
static json_t *
context(const char *text)
{
	return json_pack("{s:s, s:[{s:s, s:s}]}", "type", "context", "elements", "type", "mrkdwn",
	    "text", text);
}

/* The Slack body of a digest: a count, then the first few alerts. */
static json_t *
slack_digest(json_t *doc)
{
	json_t *alerts = json_object_get(doc, "alerts"), *a, *blocks = json_array(), *body;
	struct buf head = BUF_INIT, list = BUF_INIT;
	size_t i, n = json_array_size(alerts), shown = 0;

	buf_adds(&head, "Digest: ");
	put_capped(&head, get(doc, "summary"), 500, 1);
	json_array_append_new(blocks, section(head.s));
	json_array_foreach(alerts, i, a) {
		/* The first five, or fewer when they would not fit Slack's 3000 bytes. */
		if (i >= 5 || list.len > 2000)
			break;
		shown++;
		buf_printf(&list, "%s• *%s*: ", i ? "\n" : "", title(get(a, "type")));
		struct buf one = BUF_INIT;
		summarize(&one, a, 1);
		buf_adds(&list, one.s ? one.s : "");
		buf_free(&one);
		slack_link(&list, get(json_object_get(a, "deflection"), "url"), "View the post");
	}
	if (n > shown)
		buf_printf(&list, "\n...and %zu more in this digest", n - shown);
	if (list.s != NULL)
		json_array_append_new(blocks, section(list.s));
	json_array_append_new(blocks, context(get(doc, "id")));
	body = json_pack("{s:s, s:o}", "text", head.s, "blocks", blocks);
	buf_free(&head);
	buf_free(&list);
	return body;
}

char *
alert_slack(const char *docstr)
{
	json_t *doc = json_loads(docstr, 0, NULL), *body, *blocks, *dp, *post;
	struct buf head = BUF_INIT, detail = BUF_INIT, words = BUF_INIT;
	const char *type;
	char *s;

	if (doc == NULL)
		return NULL;
	type = get(doc, "type");
	if (strcmp(type, "deflection.digest") == 0) {
		body = slack_digest(doc);
		s = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		json_decref(doc);
		return s;
	}
	dp = json_object_get(doc, "deflection");
	post = json_object_get(doc, "post");
	buf_adds(&head, json_is_true(json_object_get(doc, "test")) ? "[TEST] " : "");
	buf_printf(&head, "%s: ", title(type));
	summarize(&head, doc, 1);
	buf_adds(&detail, "*Deflection* by ");
	put_capped(&detail, get(json_object_get(doc, "case"), "brand"), 100, 1);
	buf_adds(&detail, " (rule *");
	put_capped(&detail, get(dp, "rule"), 100, 1);
	buf_adds(&detail, "*, matched \"");
	put_capped(&detail, get(dp, "match"), 200, 1);
	buf_adds(&detail, "\"):\n");
	quote(&detail, get(dp, "text"));
	slack_link(&detail, get(dp, "url"), "View the deflecting post");
	blocks = json_array();
	json_array_append_new(blocks, section(head.s));
	json_array_append_new(blocks, section(detail.s));
	if (json_is_object(post)) {
		buf_adds(&words, strcmp(type, "deflection.escalated") == 0 ? "*The customer wrote*" :
		    "*Resolution*");
		if (*get(post, "author")) {
			buf_adds(&words, " (");
			put_capped(&words, get(post, "author"), 100, 1);
			buf_adds(&words, ")");
		}
		buf_adds(&words, ":\n");
		quote(&words, get(post, "text"));
		slack_link(&words, get(post, "url"), "View the post");
		json_array_append_new(blocks, section(words.s));
	}
	json_array_append_new(blocks, context(get(doc, "id")));
	body = json_pack("{s:s, s:o}", "text", head.s, "blocks", blocks);
	s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	json_decref(doc);
	buf_free(&head);
	buf_free(&detail);
	buf_free(&words);
	return s;
}
