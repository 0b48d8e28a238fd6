/*
 * Renders the scorecard. Every value from the database is escaped; numbers
 * a script or a test may read are in data-v attributes, unformatted, next
 * to the formatted text people read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "post.h"

/* Chart size in SVG user units (the chart stretches to its box). */
#define CW 1000.0
#define CH 300.0

#define RED "#c0392b"
#define GREEN "#1e8449"

static const char style[] =
    "*{box-sizing:border-box}"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "color:#1d2329;background:#f5f6f8}"
    "main{max-width:1240px;margin:0 auto;padding:16px 20px 32px}"
    "h1{font-size:1.55em;margin:.2em 0 .1em}h2{font-size:1.15em;margin:1.4em 0 .5em}"
    "a{color:#1f5fa8}.muted{color:#5b6570}"
    ".bar-top{display:flex;flex-wrap:wrap;gap:8px 20px;align-items:baseline;"
    "justify-content:space-between}"
    "nav.period{display:flex;gap:4px;flex-wrap:wrap}"
    "nav.period a,nav.period span{padding:4px 11px;border:1px solid #c6ccd3;border-radius:14px;"
    "text-decoration:none;color:#1d2329;background:#fff;font-size:.92em}"
    "nav.period [aria-current]{background:#1d2329;color:#fff;border-color:#1d2329}"
    ".kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(132px,1fr));gap:10px;"
    "margin:14px 0}"
    ".kpi{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 12px}"
    ".kpi .v{display:block;font-size:1.5em;font-weight:600;font-variant-numeric:tabular-nums}"
    ".kpi .l{display:block;font-size:.85em;color:#5b6570}"
    ".kpi .s{display:block;font-size:.8em;color:#5b6570}"
    ".card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px 14px}"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:.88em;margin:6px 0 0}"
    ".key{display:inline-block;width:14px;height:4px;vertical-align:middle;margin-right:6px}"
    ".chart{display:grid;grid-template-columns:42px 1fr;margin:10px 6px 0 0}"
    ".yaxis{position:relative;height:240px;font-size:12px;color:#5b6570}"
    ".yaxis span{position:absolute;right:8px;transform:translateY(-50%)}"
    "svg.trend{width:100%;height:240px;display:block;overflow:visible}"
    ".xaxis{position:relative;height:22px;font-size:12px;color:#5b6570}"
    ".xaxis span{position:absolute;top:4px;white-space:nowrap;padding-left:2px;"
    "border-left:1px solid #9aa3ab}"

    ".scroll{overflow-x:auto;background:#fff;border:1px solid #dde1e6;border-radius:8px}"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}"
    "th,td{padding:7px 10px;text-align:right;border-bottom:1px solid #e8ebee;"
    "white-space:nowrap}"
    "th{background:#eef1f4;font-weight:600;font-size:.88em;vertical-align:bottom}"
    "th:first-child,td:first-child{text-align:left;position:sticky;left:0;"
    "background:inherit}thead th:first-child{background:#eef1f4;z-index:1}"
    "tbody tr{background:#fff}tbody tr:hover{background:#f3f7fc}"
    "th button{font:inherit;background:none;border:0;padding:0;cursor:pointer;color:inherit;"
    "text-align:inherit}"
    "th[aria-sort=ascending] button::after{content:' \\25B2'}"
    "th[aria-sort=descending] button::after{content:' \\25BC'}"
    "td.t,th.t{text-align:left}"
    ".na{color:#5b6570;cursor:help;border-bottom:1px dotted #9aa3ab;font-weight:600}"
    ".rate{display:inline-flex;align-items:center;gap:6px}"
    ".state{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85em}"
    ".st-deflected{background:#fff3cd}.st-unresolved{background:#f8d7da}"
    ".pager{display:flex;gap:16px;margin:8px 2px}"
    "footer{margin-top:28px;font-size:.88em;color:#3d464f}"
    "footer dt{font-weight:600;margin-top:6px}footer dd{margin:0 0 0 1em}"
    ".phone{display:none}"
    "@media (max-width:600px){main{padding:10px 10px 24px}body{font-size:14px}"
    ".kpis{grid-template-columns:repeat(2,1fr)}th,td{padding:6px 7px}"
    ".yaxis,svg.trend{height:170px}.chart{grid-template-columns:36px 1fr}"
    ".rate svg{display:none}"
    "#brands th:nth-child(2),#brands td:nth-child(2),#brands th:nth-child(3),"
    "#brands td:nth-child(3){display:none}.phone{display:block}th{white-space:normal}}";

/* Sorts a table by a clicked header: numbers by data-v, text ignoring case; empty last. */
static const char script[] =
    "document.querySelectorAll('table.sortable').forEach(function(t){"
    "var hs=t.querySelectorAll('th');hs.forEach(function(h,i){var b=h.querySelector('button');"
    "if(!b)return;b.addEventListener('click',function(){"
    "var asc=h.getAttribute('aria-sort')!=='ascending';hs.forEach(function(x){"
    "x.removeAttribute('aria-sort')});h.setAttribute('aria-sort',asc?'ascending':'descending');"
    "var tb=t.tBodies[0],rs=Array.prototype.slice.call(tb.rows);rs.sort(function(a,c){"
    "var x=a.cells[i].getAttribute('data-v'),y=c.cells[i].getAttribute('data-v');"
    "if(x===''||y==='')return x===y?0:x===''?1:-1;"
    "var r=h.hasAttribute('data-num')?x-y:x.localeCompare(y,undefined,{sensitivity:'base'});"
    "return asc?r:-r});rs.forEach(function(r){tb.appendChild(r)})})})});";

void
page_urlencode(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			buf_addc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

/* An integer member (0 when absent). */
static long long
num(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* A string member, or "". */
static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* A count with thousands separators. */
static void
count(struct buf *b, long long n)
{
	char d[32];
	int len = snprintf(d, sizeof d, "%lld", n < 0 ? -n : n);

	if (n < 0)
		buf_addc(b, '-');
	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf_addc(b, ',');
		buf_addc(b, d[i]);
	}
}

/* A duration people read: 42m, 5h 03m, 3d 4h. */
static void
duration(struct buf *b, long long s)
{
	if (s < 3600)
		buf_printf(b, "%lldm", s / 60);
	else if (s < 48 * 3600 && s % 3600 / 60 == 0)
		buf_printf(b, "%lldh", s / 3600);
	else if (s < 48 * 3600)
		buf_printf(b, "%lldh %02lldm", s / 3600, s / 60 % 60);
	else if (s % 86400 / 3600 == 0)
		buf_printf(b, "%lldd", s / 86400);
	else
		buf_printf(b, "%lldd %lldh", s / 86400, s / 3600 % 24);
}

/* Why a rate is empty, for its tooltip. */
static const char *
why_empty(const char *rate)
{
	if (strcmp(rate, "deflection_rate") == 0)
		return "No brand replies in this period, so there is nothing to divide by";
	return "No deflected case was decided in this period (none resolved in public and none "
	       "whose window passed), so there is nothing to divide by";
}

/* The dash shown for an empty value, with its reason on hover. */
static void
empty(struct buf *b, const char *why)
{
	buf_adds(b, "<span class=\"na\" title=\"");
	buf_add_html(b, why);
	buf_adds(b, "\">\xe2\x80\x93</span>");
}

/* A rate as a percentage with a small bar, or the dash with its reason. */
static void
rate_cell(struct buf *b, const json_t *o, const char *k, const char *colour)
{
	json_t *r = json_object_get(o, k);

	if (!json_is_number(r)) {
		buf_adds(b, "<td data-v=\"\">");
		empty(b, why_empty(k));
		buf_adds(b, "</td>");
		return;
	}
	double v = json_number_value(r);
	buf_printf(b, "<td data-v=\"%.17g\"><span class=\"rate\">%.1f%%"
	    "<svg width=\"50\" height=\"10\" aria-hidden=\"true\"><rect width=\"50\" height=\"10\" "
	    "fill=\"#e8ebee\"/><rect class=\"bar\" width=\"%.1f\" height=\"10\" fill=\"%s\"/></svg>"
	    "</span></td>", v, 100 * v, v > 1 ? 50 : v < 0 ? 0 : 50 * v, colour);
}

/* A count cell. */
static void
count_cell(struct buf *b, long long n)
{
	buf_printf(b, "<td data-v=\"%lld\">", n);
	count(b, n);
	buf_adds(b, "</td>");
}

/* The median time cell: a duration, or the dash. */
static void
median_cell(struct buf *b, const json_t *o)
{
	json_t *m = json_object_get(o, "median_time_to_resolution");

	if (!json_is_integer(m)) {
		buf_adds(b, "<td data-v=\"\">");
		empty(b, "No case was resolved in public in this period");
		buf_adds(b, "</td>");
		return;
	}
	buf_printf(b, "<td data-v=\"%lld\">", (long long)json_integer_value(m));
	duration(b, (long long)json_integer_value(m));
	buf_adds(b, "</td>");
}

/* "2020-04-03 01:58 UTC" from RFC 3339. */
static void
when(struct buf *b, const char *rfc)
{
	if (rfc == NULL || strlen(rfc) < 16) {
		buf_adds(b, "\xe2\x80\x93");
		return;
	}
	buf_printf(b, "<time datetime=\"%.20s\">%.10s %.5s UTC</time>", rfc, rfc, rfc + 11);
}

/* One KPI tile. */
static void
kpi(struct buf *b, const char *id, const char *label, const char *value, const char *sub)
{
	buf_printf(b, "<div class=\"kpi\" id=\"kpi-%s\"><span class=\"v\">%s</span>"
	    "<span class=\"l\">%s</span>", id, value, label);
	if (sub != NULL)
		buf_printf(b, "<span class=\"s\">%s</span>", sub);
	buf_adds(b, "</div>");
}

/* The KPI strip from the totals. */
static void
kpis(struct buf *b, const json_t *t)
{
	struct buf v = BUF_INIT, s = BUF_INIT;
	json_t *dr = json_object_get(t, "deflection_rate");
	json_t *pr = json_object_get(t, "public_resolution_rate");
	json_t *m = json_object_get(t, "median_time_to_resolution");

	buf_adds(b, "<section class=\"kpis\" aria-label=\"Key figures\">");
	count(&v, num(t, "replies"));
	kpi(b, "replies", "Brand replies", v.s, NULL);
	buf_reset(&v);
	count(&v, num(t, "deflections"));
	kpi(b, "deflections", "Deflections", v.s, "cases opened");
	buf_reset(&v);
	if (json_is_number(dr))
		buf_printf(&v, "%.1f%%", 100 * json_number_value(dr));
	else
		empty(&v, why_empty("deflection_rate"));
	kpi(b, "deflection-rate", "Deflection rate", v.s, "of brand replies");
	buf_reset(&v);
	if (json_is_number(pr))
		buf_printf(&v, "%.1f%%", 100 * json_number_value(pr));
	else
		empty(&v, why_empty("public_resolution_rate"));
	buf_adds(&s, "");
	count(&s, num(t, "resolved_in_public"));
	buf_adds(&s, " of ");
	count(&s, num(t, "decided"));
	buf_adds(&s, " decided");
	kpi(b, "resolved", "Resolved in public", v.s, s.s);
	buf_reset(&v);
	if (json_is_integer(m))
		duration(&v, (long long)json_integer_value(m));
	else
		empty(&v, "No case was resolved in public in this period");
	kpi(b, "median", "Median time to public resolution", v.s, NULL);
	buf_reset(&v);
	count(&v, num(t, "open"));
	kpi(b, "open", "Open now", v.s, "window still running");
	buf_reset(&v);
	count(&v, num(t, "unresolved"));
	kpi(b, "unresolved", "Unresolved", v.s, "window passed, no public fix");
	buf_reset(&v);
	count(&v, num(t, "escalations"));
	kpi(b, "escalations", "Escalations", v.s, "customers chasing after a deflection");
	buf_adds(b, "</section>");
	buf_free(&v);
	buf_free(&s);
}

/* Month names for the date axis. */
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
    "Sep", "Oct", "Nov", "Dec"};

/* The y of a rate in the plot's user units (0% at the bottom). */
static double
rate_y(double v)
{
	return (1 - (v < 0 ? 0 : v > 1 ? 1 : v)) * CH;
}

/* One rate series as a path broken at weeks without a value. */
static void
series(struct buf *b, const json_t *weeks, const char *k, const char *colour, double step)
{
	size_t i, n = json_array_size(weeks);
	int pen = 0;

	buf_printf(b, "<path class=\"line-%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.2\" "
	    "stroke-linejoin=\"round\" vector-effect=\"non-scaling-stroke\" d=\"",
	    k[0] == 'd' ? "d" : "r", colour);
	for (i = 0; i < n; i++) {
		json_t *r = json_object_get(json_array_get(weeks, i), k);

		if (!json_is_number(r)) {
			pen = 0;
			continue;
		}
		buf_printf(b, "%c%.1f %.1f", pen ? 'L' : 'M', (i + 0.5) * step,
		    rate_y(json_number_value(r)));
		pen = 1;
	}
	buf_adds(b, "\"/>");
}

/*
 * The weekly trend chart: both rates per week over bars of the week's reply
 * volume. The SVG stretches to its box; strokes and points keep their size
 * (non-scaling strokes; a point is a zero-length round-capped line), and
 * the axis labels are HTML around it, so they stay readable on a phone.
 */
static void
trend(struct buf *b, const json_t *weeks)
{
	size_t i, n = json_array_size(weeks);
	double step = n ? CW / (double)n : 1;
	long long most = 1;

	for (i = 0; i < n; i++)
		if (num(json_array_get(weeks, i), "replies") > most)
			most = num(json_array_get(weeks, i), "replies");
	buf_adds(b, "<div class=\"chart\"><div class=\"yaxis\" aria-hidden=\"true\">");
	for (int p = 0; p <= 100; p += 25)
		buf_printf(b, "<span style=\"top:%d%%\">%d%%</span>", 100 - p, p);
	buf_printf(b, "</div><div class=\"plot\"><svg class=\"trend\" id=\"trend\" "
	    "viewBox=\"0 0 %.0f %.0f\" preserveAspectRatio=\"none\" role=\"img\" "
	    "aria-label=\"Weekly deflection rate and public-resolution rate, %zu weeks\">", CW, CH,
	    n);
	for (int p = 0; p <= 100; p += 25)
		buf_printf(b, "<line x1=\"0\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		    "vector-effect=\"non-scaling-stroke\"/>", CW, rate_y(p / 100.0),
		    rate_y(p / 100.0), p ? "#e3e6ea" : "#9aa3ab");
	/* One group per week: volume bar and the week's figures on hover. */
	for (i = 0; i < n; i++) {
		const json_t *w = json_array_get(weeks, i);
		json_t *dr = json_object_get(w, "deflection_rate");
		json_t *pr = json_object_get(w, "public_resolution_rate");
		double h = CH * 0.4 * (double)num(w, "replies") / (double)most;

		buf_printf(b, "<g class=\"week\" data-week=\"%s\"><title>Week of %s: ", str(w, "week"),
		    str(w, "week"));
		if (json_is_number(dr))
			buf_printf(b, "deflection rate %.1f%% (%lld of %lld replies)",
			    100 * json_number_value(dr), num(w, "deflections"), num(w, "replies"));
		else
			buf_adds(b, "no brand replies");
		if (json_is_number(pr))
			buf_printf(b, "; resolved in public %.1f%% (%lld of %lld decided)",
			    100 * json_number_value(pr), num(w, "resolved_in_public"), num(w, "decided"));
		else
			buf_adds(b, "; no decided cases");
		buf_printf(b, "</title><rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"%.0f\" "
		    "fill=\"transparent\"/>", i * step, step, CH);
		if (h > 0)
			buf_printf(b, "<rect class=\"vol\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
			    "height=\"%.1f\" fill=\"#dfe4ea\"/>", (i + 0.15) * step, CH - h, step * 0.7, h);
		buf_adds(b, "</g>");
	}
	series(b, weeks, "deflection_rate", RED, step);
	series(b, weeks, "public_resolution_rate", GREEN, step);
	/* Points on top, so a single week between gaps still shows. */
	for (i = 0; i < n; i++) {
		const json_t *w = json_array_get(weeks, i);
		const char *keys[2] = {"deflection_rate", "public_resolution_rate"};

		for (int k = 0; k < 2; k++) {
			json_t *r = json_object_get(w, keys[k]);

			if (json_is_number(r))
				buf_printf(b, "<path class=\"pt-%c\" d=\"M%.2f %.1fh0\" stroke=\"%s\" "
				    "stroke-width=\"%d\" stroke-linecap=\"round\" "
				    "vector-effect=\"non-scaling-stroke\"/>", k ? 'r' : 'd', (i + 0.5) * step,
				    rate_y(json_number_value(r)), k ? GREEN : RED, n > 120 ? 4 : 7);
		}
	}
	buf_adds(b, "</svg><div class=\"xaxis\" aria-hidden=\"true\">");
	/*
	 * Date labels: a month's (or, over years, January's) first week, a fifth
	 * of the width apart at least, so they never collide on a phone.
	 */
	double last_left = -100;
	for (i = 0; i < n; i++) {
		const char *w = str(json_array_get(weeks, i), "week");
		double left = 100.0 * (double)i / (double)n;
		int month;

		if (strlen(w) < 10 || !(i == 0 || atoi(w + 8) <= 7))
			continue;
		month = atoi(w + 5);
		if ((n > 60 && month != 1 && i != 0) || left - last_left < 20 || left > 86)
			continue;
		last_left = left;
		buf_printf(b, "<span style=\"left:%.2f%%\">%s %.4s</span>", left,
		    months[(month + 11) % 12], w);
	}
	buf_adds(b, "</div></div></div>");
}

/* The link to a brand's page. */
static void
brand_link(struct buf *b, const char *name)
{
	buf_adds(b, "<a href=\"/brands/");
	page_urlencode(b, name);
	buf_adds(b, "\">");
	buf_add_html(b, name);
	buf_adds(b, "</a>");
}

/* A sortable header cell. */
static void
th(struct buf *b, const char *label, int numeric, const char *title)
{
	buf_printf(b, "<th%s", numeric ? " data-num" : "");
	if (title != NULL)
		buf_printf(b, " title=\"%s\"", title);
	buf_printf(b, "><button type=\"button\">%s</button></th>", label);
}

/* The brand table. */
static void
brand_table(struct buf *b, const json_t *brands, int live)
{
	size_t i;
	const json_t *o;

	buf_adds(b, "<div class=\"scroll\"><table id=\"brands\" class=\"sortable\"><thead><tr>");
	th(b, "Brand", 0, NULL);
	th(b, "Replies", 1, "Replies by the brand's accounts in the period");
	th(b, "Deflections", 1, "Replies that moved the conversation to a private channel");
	th(b, "Deflection rate", 1, "Deflections per brand reply");
	th(b, "Resolved in public", 1,
	    "Of the decided cases, the share resolved in public (in time or late)");
	th(b, "Median time to public resolution", 1, NULL);
	th(b, "Open", 1, "Cases whose window is still running");
	th(b, "Unresolved", 1, "Cases whose window passed without a public resolution");
	th(b, "Escalations", 1, "Customers chasing after a deflection");
	buf_adds(b, "</tr></thead><tbody>");
	json_array_foreach(brands, i, o) {
		buf_adds(b, "<tr class=\"brand\" data-brand=\"");
		buf_add_html(b, str(o, "brand"));
		buf_adds(b, "\"><td data-v=\"");
		buf_add_html(b, str(o, "brand"));
		buf_adds(b, "\">");
		if (live)
			brand_link(b, str(o, "brand"));
		else
			buf_add_html(b, str(o, "brand"));
		buf_adds(b, "</td>");
		count_cell(b, num(o, "replies"));
		count_cell(b, num(o, "deflections"));
		rate_cell(b, o, "deflection_rate", RED);
		rate_cell(b, o, "public_resolution_rate", GREEN);
		median_cell(b, o);
		count_cell(b, num(o, "open"));
		count_cell(b, num(o, "unresolved"));
		count_cell(b, num(o, "escalations"));
		buf_adds(b, "</tr>");
	}
	if (json_array_size(brands) == 0)
		buf_adds(b, "<tr><td class=\"t\" colspan=\"9\">No brand replies or cases in this "
		    "period.</td></tr>");
	buf_adds(b, "</tbody></table></div>");
}

/* The period selector (live) or the period in words (report). */
static void
period_nav(struct buf *b, const json_t *doc, int live)
{
	static const char *names[][2] = {{"7d", "7 days"}, {"30d", "30 days"}, {"90d", "90 days"},
	    {"all", "All time"}};
	const json_t *p = json_object_get(doc, "period");
	const char *cur = str(p, "name"), *brand = json_string_value(json_object_get(doc, "brand"));

	if (!live)
		return;
	buf_adds(b, "<nav class=\"period\" aria-label=\"Period\">");
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(cur, names[i][0]) == 0) {
			buf_printf(b, "<span aria-current=\"page\">%s</span>", names[i][1]);
			continue;
		}
		buf_adds(b, "<a href=\"");
		if (brand != NULL) {
			buf_adds(b, "/brands/");
			page_urlencode(b, brand);
		} else {
			buf_adds(b, "/");
		}
		buf_printf(b, "?period=%s\">%s</a>", names[i][0], names[i][1]);
	}
	buf_adds(b, "</nav>");
}

/* "Data as of ..., period ..." under the title. */
static void
as_of_line(struct buf *b, const json_t *doc, const struct page_opts *o)
{
	const json_t *p = json_object_get(doc, "period");
	const char *name = str(p, "name");
	json_t *since = json_object_get(p, "since"), *until = json_object_get(p, "until");
	char gen[32];

	buf_adds(b, "<p class=\"muted\" id=\"as-of\">Data as of ");
	when(b, json_string_value(json_object_get(p, "as_of")));
	buf_adds(b, " (the newest post)");
	if (strcmp(name, "all") == 0 || (!json_is_string(since) && !json_is_string(until)))
		buf_adds(b, " \xc2\xb7 all time");
	else {
		buf_adds(b, " \xc2\xb7 ");
		if (strcmp(name, "custom") != 0)
			buf_printf(b, "last %.*s days: ", (int)strlen(name) - 1, name);
		if (json_is_string(since))
			when(b, json_string_value(since));
		else
			buf_adds(b, "the start");
		buf_adds(b, " to ");
		if (json_is_string(until))
			when(b, json_string_value(until));
		else
			buf_adds(b, "now");
	}
	if (o->generated) {
		rfc3339_format(o->generated, gen, sizeof gen);
		buf_adds(b, " \xc2\xb7 page made ");
		when(b, gen);
	}
	buf_adds(b, "</p>");
}

/* The brand page's open and unresolved cases, newest first, with paging links. */
static void
case_list(struct buf *b, const json_t *doc, const struct page_opts *o)
{
	const char *brand = json_string_value(json_object_get(doc, "brand"));
	const json_t *c;
	size_t i;

	buf_adds(b, "<h2 id=\"cases\">Open and unresolved cases</h2><div class=\"scroll\">"
	    "<table id=\"case-list\"><thead><tr><th>Case</th><th>Deflected</th><th class=\"t\">"
	    "State</th><th class=\"t\">Customer</th><th>Deadline</th><th class=\"t\">Rule</th>"
	    "<th>Escalations</th><th class=\"t\">Post</th>"
	    "</tr></thead><tbody>");
	json_array_foreach(o->cases, i, c) {
		const char *url = str(c, "url");

		buf_printf(b, "<tr class=\"case\"><td><a href=\"/cases/%lld\">#%lld</a></td><td>",
		    num(c, "id"), num(c, "id"));
		when(b, str(c, "deflected_at"));
		buf_printf(b, "</td><td class=\"t\"><span class=\"state st-%s\">%s</span></td>"
		    "<td class=\"t\">", str(c, "state"), str(c, "state"));
		buf_add_html(b, str(c, "customer"));
		buf_adds(b, "</td><td>");
		when(b, str(c, "deadline"));
		buf_adds(b, "</td><td class=\"t\">");
		buf_add_html(b, str(c, "rule"));
		buf_printf(b, "</td><td>%lld</td><td class=\"t\">", num(c, "escalations"));
		if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
			buf_adds(b, "<a rel=\"noopener noreferrer\" href=\"");
			buf_add_html(b, url);
			buf_adds(b, "\">on ");
			buf_add_html(b, str(c, "platform"));
			buf_adds(b, "</a>");
		} else {
			buf_add_html(b, str(c, "platform"));
		}
		buf_adds(b, "</td></tr>");
	}
	if (json_array_size(o->cases) == 0)
		buf_adds(b, "<tr><td class=\"t\" colspan=\"8\">No open or unresolved cases in this "
		    "period.</td></tr>");
	buf_adds(b, "</tbody></table></div><p class=\"pager\">");
	if (o->cases_first != NULL) {
		buf_adds(b, "<a id=\"first-page\" href=\"/brands/");
		page_urlencode(b, brand);
		buf_printf(b, "?period=%s#cases\">Newest cases</a>",
		    str(json_object_get(doc, "period"), "name"));
	}
	if (o->cases_next != NULL) {
		buf_adds(b, "<a id=\"next-page\" rel=\"next\" href=\"/brands/");
		page_urlencode(b, brand);
		buf_printf(b, "?period=%s&amp;cursor=", str(json_object_get(doc, "period"), "name"));
		page_urlencode(b, o->cases_next);
		buf_adds(b, "#cases\">Older cases</a>");
	}
	buf_adds(b, "</p>");
}

/* The methods footer: what the numbers mean and what they were computed from. */
static void
methods(struct buf *b, const struct page_opts *o)
{
	buf_adds(b, "<footer id=\"methods\"><h2>Methods</h2><dl>"
	    "<dt>Deflection</dt><dd>A brand reply that moves a public complaint to a private "
	    "channel (direct messages, phone, email, a form). Each opens a case.</dd>"
	    "<dt>Resolved in public</dt><dd>The brand or the customer said in the same public "
	    "conversation that the problem was solved, within the case's window (resolved) or "
	    "after it (resolved late). The rate is resolved in public divided by decided cases: "
	    "those resolved in public plus those whose window passed without it (unresolved). "
	    "Cases still inside their window are open and in neither.</dd>"
	    "<dt>Deflection rate</dt><dd>Deflections divided by all replies of the brand's "
	    "accounts.</dd>"
	    "<dt>Period</dt><dd>A case counts in the period its deflection was posted in; a reply "
	    "in the period it was posted in (event time, UTC). 7, 30 and 90 days end at the "
	    "newest post, so a recording from years ago has them too. Weeks start on Monday.</dd>"
	    "<dt>Empty rates</dt><dd>Shown as \xe2\x80\x93 when nothing was there to divide by, "
	    "never as 0%.</dd>");
	buf_adds(b, "<dt>Window</dt><dd>");
	duration(b, o->window);
	buf_adds(b, " by default (brands and rules may set their own).</dd>");
	buf_adds(b, "<dt>Rules</dt><dd>");
	buf_add_html(b, o->rules_version ? o->rules_version : "unknown");
	buf_adds(b, "</dd>");
	if (o->inputs != NULL) {
		buf_adds(b, "<dt>Input</dt><dd>");
		buf_add_html(b, o->inputs);
		buf_adds(b, ", replayed offline with deflectd report</dd>");
	}
	buf_adds(b, "</dl></footer>");
}

void
page_scorecard(struct buf *b, const json_t *doc, const struct page_opts *o)
{
	const char *brand = json_string_value(json_object_get(doc, "brand"));

	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
	if (brand != NULL) {
		buf_add_html(b, brand);
		buf_adds(b, " \xe2\x80\x94 ");
	}
	buf_printf(b, "Deflection scorecard</title><style>%s</style></head><body><main>", style);
	buf_adds(b, "<div class=\"bar-top\"><div>");
	if (brand != NULL && o->live)
		buf_adds(b, "<a href=\"/\" id=\"all-brands\">\xe2\x86\x90 All brands</a>");
	buf_adds(b, "<h1>");
	if (brand != NULL) {
		buf_add_html(b, brand);
		buf_adds(b, ": deflection scorecard");
	} else {
		buf_adds(b, "Deflection scorecard");
	}
	buf_adds(b, "</h1></div>");
	period_nav(b, doc, o->live);
	buf_adds(b, "</div>");
	as_of_line(b, doc, o);
	kpis(b, json_object_get(doc, "totals"));
	buf_adds(b, "<h2>Weekly trend</h2><div class=\"card\">");
	trend(b, json_object_get(doc, "weeks"));
	buf_printf(b, "<p class=\"legend\"><span><span class=\"key\" style=\"background:%s\">"
	    "</span>Deflection rate</span><span><span class=\"key\" style=\"background:%s\"></span>"
	    "Resolved in public</span><span><span class=\"key\" style=\"background:#dfe4ea;"
	    "height:10px\"></span>Brand replies (volume)</span><span class=\"muted\">Gaps: weeks "
	    "with nothing to divide by. Weeks with few replies swing widely; hover a week for its "
	    "figures.</span></p></div>", RED,
	    GREEN);
	if (brand == NULL) {
		buf_adds(b, "<h2>Brands</h2><p class=\"muted phone\">Rates first on a phone; each "
		    "brand's replies and deflections are on its page and on a wider screen.</p>");
		brand_table(b, json_object_get(doc, "brands"), o->live);
	}
	if (o->cases != NULL)
		case_list(b, doc, o);
	methods(b, o);
	buf_printf(b, "</main><script>%s</script></body></html>\n", script);
}

/* Appends one CSV field, quoted when it must be. */
static void
csv_field(struct buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_adds(b, s);
		return;
	}
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_addc(b, '"');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

/* Appends one scorecard row as CSV; empty rates and medians are empty fields. */
static void
csv_row(struct buf *b, const char *name, const json_t *o)
{
	static const char *const cols[] = {"replies", "deflections", "deflection_rate",
	    "resolved_in_public", "decided", "public_resolution_rate", "median_time_to_resolution",
	    "open", "unresolved", "escalations"};

	csv_field(b, name);
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
		json_t *v = json_object_get(o, cols[i]);

		buf_addc(b, ',');
		if (json_is_integer(v))
			buf_printf(b, "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			buf_printf(b, "%.6f", json_real_value(v));
	}
	buf_adds(b, "\r\n");
}

void
page_csv(struct buf *b, const json_t *doc)
{
	const json_t *o;
	size_t i;

	buf_adds(b, "brand,replies,deflections,deflection_rate,resolved_in_public,decided,"
	    "public_resolution_rate,median_time_to_resolution_seconds,open,unresolved,"
	    "escalations\r\n");
	json_array_foreach(json_object_get(doc, "brands"), i, o)
		csv_row(b, str(o, "brand"), o);
	csv_row(b, "(all brands)", json_object_get(doc, "totals"));
}
