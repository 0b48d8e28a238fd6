/*
 * The /cases/{id} page, rendered from the case_detail() document: facts,
 * the operator's verdict, the timeline with each matched span in <mark> and
 * a link to each post, and the alerts with their deliveries. Everything is
 * inline (no external assets) and every value is escaped; it reads on a
 * 390 px phone as on a desktop.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "case_page.h"
#include "xmalloc.h"

/* Appends n bytes of s escaped. */
static void
escn(struct buf *b, const char *s, size_t n)
{
	char *t = xstrndup(s, n);

	buf_add_html(b, t);
	free(t);
}

/* Appends s percent-encoded for a path segment. */
static void
pct(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c) != NULL)
			buf_addc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

/* A member's string value, or NULL. */
static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* One fact of the case as a dt/dd pair; a null value shows as a dash. */
static void
fact(struct buf *b, const char *name, const json_t *v)
{
	buf_adds(b, "<dt>");
	buf_add_html(b, name);
	buf_adds(b, "</dt><dd>");
	if (json_is_string(v))
		buf_add_html(b, json_string_value(v));
	else if (json_is_integer(v))
		buf_printf(b, "%lld", (long long)json_integer_value(v));
	else
		buf_adds(b, "&ndash;");
	buf_adds(b, "</dd>");
}

/*
 * The link to a post: its own URL when it is http(s) (anything else, such as
 * javascript:, is never put in an href), else the platform's address for a
 * tweet id. NULL when there is none; the caller frees it.
 */
static char *
post_link(const char *platform, const char *id, const char *url)
{
	struct buf b = BUF_INIT;

	if (url != NULL && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0))
		buf_adds(&b, url);
	else if (platform != NULL && id != NULL && strcmp(platform, "twitter") == 0 &&
	    strspn(id, "0123456789") == strlen(id)) {
		buf_adds(&b, "https://twitter.com/i/web/status/");
		buf_adds(&b, id);
	}
	return b.s;
}

/* One timeline entry: who, when, what it caused, the text with its match marked. */
static void
timeline_entry(struct buf *b, const char *platform, const json_t *e)
{
	const char *text = str(e, "text"), *role = str(e, "role");
	const json_t *span = json_object_get(e, "span");
	char *link = post_link(platform, str(e, "post_id"), str(e, "url"));

	buf_printf(b, "<li class=\"%s\"><div class=\"meta\"><time>",
	    role && strcmp(role, "customer") == 0 ? "customer" : "brand");
	buf_add_html(b, str(e, "at"));
	buf_adds(b, "</time> <span class=\"role\">");
	buf_add_html(b, role ? role : "author unknown");
	if (str(e, "author") != NULL) {
		buf_adds(b, " ");
		buf_add_html(b, str(e, "author"));
	}
	buf_adds(b, "</span> <span class=\"finding\">");
	buf_add_html(b, str(e, "finding"));
	buf_adds(b, "</span>");
	if (str(e, "rule") != NULL) {
		buf_adds(b, " <span class=\"rule\">rule <code>");
		buf_add_html(b, str(e, "rule"));
		buf_adds(b, "</code></span>");
	}
	buf_adds(b, "</div><p class=\"text\">");
	if (text == NULL)
		buf_adds(b, "<em>text not kept</em>");
	else if (json_is_array(span)) {
		size_t s = (size_t)json_integer_value(json_array_get(span, 0));
		size_t n = (size_t)json_integer_value(json_array_get(span, 1));

		/* case_detail() only gives a span that lies within the text. */
		escn(b, text, s);
		buf_adds(b, "<mark>");
		escn(b, text + s, n - s);
		buf_adds(b, "</mark>");
		buf_add_html(b, text + n);
	} else
		buf_add_html(b, text);
	buf_adds(b, "</p>");
	if (link != NULL) {
		buf_adds(b, "<a class=\"post\" rel=\"noopener noreferrer\" href=\"");
		buf_add_html(b, link);
		buf_adds(b, "\">View post ");
		buf_add_html(b, str(e, "post_id"));
		buf_adds(b, " on ");
		buf_add_html(b, platform);
		buf_adds(b, "</a>");
	} else {
		buf_adds(b, "<span class=\"post\">post ");
		buf_add_html(b, str(e, "post_id"));
		buf_adds(b, " (no link)</span>");
	}
	buf_adds(b, "</li>");
	free(link);
}

char *
case_page(const json_t *c)
{
	struct buf b = BUF_INIT;
	const json_t *v = json_object_get(c, "operator_verdict"), *e, *a, *dl;
	const char *platform = str(c, "platform"), *brand = str(c, "brand");
	long long id = (long long)json_integer_value(json_object_get(c, "id"));
	size_t i, j;

	buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<title>Case %lld &middot; ", id);
	buf_add_html(&b, brand);
	buf_adds(&b, "</title><style>"
	    "body{font-family:sans-serif;margin:0 auto;max-width:52em;padding:1em;color:#222;"
	    "line-height:1.4}a{color:#1a5fb4}h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}"
	    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{color:#666}"
	    "dd{margin:0;overflow-wrap:anywhere}.state{font-weight:bold}"
	    ".verdict{border-left:4px solid #1a5fb4;background:#eef4fb;padding:.5em 1em}"
	    "ol.timeline{list-style:none;padding:0}ol.timeline li{border:1px solid #ddd;"
	    "border-radius:6px;padding:.6em .8em;margin:.6em 0}li.customer{background:#fafafa;"
	    "margin-left:1.5em!important}.meta{font-size:.85em;color:#555}.finding{font-weight:bold;"
	    "color:#222}.text{margin:.4em 0;overflow-wrap:anywhere}mark{background:#ffe08a}"
	    ".post{font-size:.85em}.scroll{overflow-x:auto}table{border-collapse:collapse}"
	    "td,th{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left;font-size:.9em}"
	    "</style></head><body><nav><a href=\"/\">Scorecard</a>");
	if (brand != NULL) {
		buf_adds(&b, " &rsaquo; <a href=\"/brands/");
		pct(&b, brand);
		buf_adds(&b, "\">");
		buf_add_html(&b, brand);
		buf_adds(&b, "</a>");
	}
	buf_printf(&b, "</nav><h1>Case %lld</h1><dl>", id);
	fact(&b, "State", json_object_get(c, "state"));
	fact(&b, "Brand", json_object_get(c, "brand"));
	fact(&b, "Platform", json_object_get(c, "platform"));
	fact(&b, "Customer", json_object_get(c, "customer"));
	fact(&b, "Conversation", json_object_get(c, "conversation_id"));
	fact(&b, "Deflected", json_object_get(c, "deflected_at"));
	fact(&b, "Deadline", json_object_get(c, "deadline"));
	fact(&b, "Resolved", json_object_get(c, "resolved_at"));
	fact(&b, "Repeated deflections", json_object_get(c, "repeats"));
	fact(&b, "Escalations", json_object_get(c, "escalations"));
	buf_adds(&b, "</dl>");
	if (json_is_object(v)) {
		buf_adds(&b, "<section class=\"verdict\"><h2>Operator verdict: ");
		buf_add_html(&b, str(v, "verdict"));
		buf_adds(&b, "</h2><p>");
		buf_add_html(&b, str(v, "note"));
		buf_adds(&b, "</p><p class=\"meta\">by ");
		buf_add_html(&b, str(v, "author"));
		buf_adds(&b, " at ");
		buf_add_html(&b, str(v, "at"));
		buf_adds(&b, "; the case was ");
		buf_add_html(&b, str(v, "state_before"));
		buf_adds(&b, "</p></section>");
	}
	buf_adds(&b, "<h2>Timeline</h2><ol class=\"timeline\">");
	json_array_foreach(json_object_get(c, "timeline"), i, e)
		timeline_entry(&b, platform, e);
	buf_adds(&b, "</ol><h2>Alerts</h2>");
	if (json_array_size(json_object_get(c, "alerts")) == 0)
		buf_adds(&b, "<p>No alert was raised for this case.</p>");
	else
		buf_adds(&b, "<div class=\"scroll\"><table><thead><tr><th>Alert</th><th>Type</th>"
		    "<th>Raised</th><th>Webhook</th><th>Delivery</th><th>Attempts</th></tr></thead>"
		    "<tbody>");
	json_array_foreach(json_object_get(c, "alerts"), i, a) {
		const json_t *ds = json_object_get(a, "deliveries");
		size_t n = json_array_size(ds);

		for (j = 0; j < (n ? n : 1); j++) {
			dl = json_array_get(ds, j);
			buf_adds(&b, "<tr><td><code>");
			buf_add_html(&b, str(a, "id"));
			buf_adds(&b, "</code></td><td>");
			buf_add_html(&b, str(a, "type"));
			buf_adds(&b, "</td><td>");
			buf_add_html(&b, str(a, "created_at"));
			buf_adds(&b, "</td><td>");
			buf_add_html(&b, dl ? str(dl, "webhook") : "(no webhook matched)");
			buf_adds(&b, "</td><td>");
			buf_add_html(&b, dl ? str(dl, "state") : "");
			if (dl && str(dl, "last_error") != NULL) {
				buf_adds(&b, ": ");
				buf_add_html(&b, str(dl, "last_error"));
			}
			buf_printf(&b, "</td><td>%lld</td></tr>",
			    dl ? (long long)json_integer_value(json_object_get(dl, "attempts")) : 0LL);
		}
	}
	if (json_array_size(json_object_get(c, "alerts")) > 0)
		buf_adds(&b, "</tbody></table></div>");
	buf_adds(&b, "</body></html>\n");
	return b.s;
}
