/*
 * deflectd replay: the whole pipeline over a recording, on the event clock.
 * Findings go to stdout as NDJSON (byte-identical for the same input); bad
 * lines and the summary go to stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "map_bluesky.h"
#include "map_mastodon.h"
#include "map_x.h"
#include "sse.h"
#include "utf8.h"
#include "cmd.h"
#include "pipeline.h"
#include "reader.h"
#include "xmalloc.h"

struct replay {
	FILE *out;
	uint64_t findings;
	struct buf line; /* findings not yet written, up to REPLAY_OUT_FLUSH bytes */
};

enum format { FMT_NATIVE, FMT_X, FMT_MASTODON, FMT_BLUESKY };

/* Turns a platform's raw recording into native post lines. */
struct convert {
	enum format fmt;
	const char *instance; /* Mastodon: the host of accounts without one */
	struct sse *sse;
	json_t *conv;   /* Mastodon: status id -> conversation id, for replies */
	struct buf out; /* native lines made from the current input line */
	char err[256];
	int bad;        /* the current input line could not be mapped */
};

/* Mastodon conversation lookup: the conversation of a status seen earlier. */
static const char *
conversation_of(void *arg, const char *status_id)
{
	struct convert *cv = arg;

	return json_string_value(json_object_get(cv->conv, status_id));
}

/* Remembers the conversation of every status just mapped. */
static void
remember_conversations(struct convert *cv, size_t from)
{
	for (char *p = cv->out.s + from; p < cv->out.s + cv->out.len;) {
		char *nl = memchr(p, '\n', (size_t)(cv->out.s + cv->out.len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(cv->out.s + cv->out.len - p);
		json_t *o = json_loadb(p, n, 0, NULL);
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *c = json_string_value(json_object_get(o, "conversation_id"));

		if (id != NULL && c != NULL)
			json_object_set_new(cv->conv, id, json_string(c));
		json_decref(o);
		p += n + 1;
	}
}

/* SSE callback: statuses from update and status.update events; deletes are ignored. */
static void
on_sse_event(void *arg, const char *event, const char *data, size_t len, const char *id)
{
	struct convert *cv = arg;
	size_t from = cv->out.len;

	(void)id;
	if (strcmp(event, "update") != 0 && strcmp(event, "status.update") != 0)
		return;
	if (map_mastodon_status(data, len, cv->instance, conversation_of, cv, &cv->out, cv->err,
	    sizeof cv->err) < 0)
		cv->bad = 1;
	else
		remember_conversations(cv, from);
}

/* Maps one input line; native lines land in cv->out. Returns -1 with cv->err. */
static int
convert_line(struct convert *cv, const char *line, size_t len)
{
	size_t skipped = 0;
	char cursor[512];
	int rc = 0;

	buf_reset(&cv->out);
	cv->bad = 0;
	switch (cv->fmt) {
	case FMT_NATIVE:
		buf_add(&cv->out, line, len); /* cmd_replay() parses native lines in place */
		break;
	case FMT_X:
		/* Keep-alives are blank lines, skipped before we get here. */
		rc = map_x(line, len, &cv->out, &skipped, cv->err, sizeof cv->err);
		break;
	case FMT_MASTODON:
		sse_feed(cv->sse, line, len);
		sse_feed(cv->sse, "\n", 1);
		rc = cv->bad ? -1 : 0;
		break;
	case FMT_BLUESKY:
		rc = strstr(line, "\"thread\"") != NULL && strstr(line, "\"feed\"") == NULL
		    ? map_bluesky_thread(line, len, &cv->out, &skipped, cv->err, sizeof cv->err)
		    : map_bluesky_feed(line, len, &cv->out, cursor, sizeof cursor, &skipped, cv->err,
			  sizeof cv->err);
		break;
	}
	if (rc < 0)
		return -1;
	if (skipped > 0)
		return -2; /* some posts mapped, some not: cv->err says why */
	return 0;
}

static void
replay_usage(FILE *f)
{
	fprintf(f,
	    "usage: deflectd replay [-c FILE] [--rules DIR]... [--window DURATION]\n"
	    "                       [--lateness DURATION] [--sort] [--brands LIST] [--drain] [--max-line BYTES]\n"
	    "                       [--format native|x|mastodon|bluesky] [--instance HOST] FILE|-\n"
	    "\n"
	    "  --window DURATION    default case window (config: window, default 72h)\n"
	    "  --lateness DURATION  how late an out-of-order post may be (default 10m)\n"
	    "  --sort               put the whole recording in time order first (for exports\n"
	    "                       grouped by conversation rather than by time)\n"
	    "  --brands LIST        comma-separated brand accounts, when the input does not\n"
	    "                       say author_is_brand\n"
	    "  --drain              expire every still-open case at the end\n"
	    "  --max-line BYTES     longest accepted input line (default 1048576)\n"
	    "  --format F           the recording's format: native posts (default), the X API v2\n"
	    "                       stream or search pages (x), a Mastodon streaming capture\n"
	    "                       (mastodon: server-sent events), or Bluesky getAuthorFeed and\n"
	    "                       getPostThread responses, one per line (bluesky)\n"
	    "  --instance HOST      mastodon: the instance of accounts given without one\n");
}

/*
 * The findings writer. A finding is written straight into one output buffer
 * as jansson's JSON_COMPACT would print the object we used to build (keys in
 * insertion order, the same escapes, a string that is not valid UTF-8 left
 * out with its key): the golden tests hold the bytes, and building a jansson
 * object per finding cost a third of the replay.
 */
#define REPLAY_OUT_FLUSH 65536

/* Appends s (n bytes) as a JSON string; -1 (b partly written) when not valid UTF-8. */
static int
put_json_str(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	buf_addc(b, '"');
	while (i < n) {
		unsigned char c = u[i];

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		buf_add(b, s + run, i - run);
		if (c >= 0x80) {
			uint32_t cp;
			size_t k = utf8_decode(u + i, n - i, &cp);

			if (!utf8_is_valid(u + i, k, cp))
				return -1;
			buf_add(b, s + i, k);
			i += k;
			run = i;
			continue;
		}
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\b': buf_add(b, "\\b", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default: buf_printf(b, "\\u%04X", (unsigned)c); break;
		}
		run = ++i;
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
	return 0;
}

/* Appends ,"k": (every field starts with its comma; the first becomes the brace). */
static void
put_key(struct buf *b, const char *k)
{
	buf_addc(b, ',');
	buf_addc(b, '"');
	buf_adds(b, k);
	buf_add(b, "\":", 2);
}

/* A string field (n bytes), null when s is NULL, left out when not valid UTF-8. */
static void
put_strn(struct buf *b, const char *k, const char *s, size_t n)
{
	size_t mark = b->len;

	put_key(b, k);
	if (s == NULL)
		buf_add(b, "null", 4);
	else if (put_json_str(b, s, n) != 0)
		b->s[b->len = mark] = '\0';
}

/* put_strn() for a NUL-terminated string. */
static void
put_str(struct buf *b, const char *k, const char *s)
{
	put_strn(b, k, s, s ? strlen(s) : 0);
}

/* A time field as RFC 3339. */
static void
put_time(struct buf *b, const char *k, int64_t t)
{
	char ts[32];

	rfc3339_format(t, ts, sizeof ts);
	put_str(b, k, ts);
}

/* Appends v in decimal, as printf's %lld would. */
static void
put_lld(struct buf *b, long long v)
{
	char d[24];
	size_t i = sizeof d;
	/* Through unsigned, so that LLONG_MIN negates without overflow. */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		d[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		d[--i] = '-';
	buf_add(b, d + i, sizeof d - i);
}

/* An integer field. */
static void
put_int(struct buf *b, const char *k, long long v)
{
	put_key(b, k);
	put_lld(b, v);
}

/* Writes one finding as a JSON line into the output buffer. */
static void
on_event(void *arg, const struct event *ev)
{
	struct replay *r = arg;
	const struct finding *f = ev->f;
	const struct tcase *c = f->c;
	struct buf *b = &r->line;
	size_t start = b->len;

	put_str(b, "type", finding_type_name(f->type));
	put_time(b, "at", f->at);
	put_str(b, "platform", c->platform);
	put_str(b, "brand", c->brand);
	put_str(b, "conversation_id", c->conversation_id);
	put_str(b, "customer", c->customer);
	put_str(b, "post_id", f->post_id);
	put_str(b, "rule", f->rule);
	put_key(b, "span");
	buf_addc(b, '[');
	put_lld(b, (long long)f->start);
	buf_addc(b, ',');
	put_lld(b, (long long)f->end);
	buf_addc(b, ']');
	if (ev->text != NULL && f->end <= ev->len && f->start <= f->end)
		put_strn(b, "match", ev->text + f->start, f->end - f->start);
	if (ev->rule != NULL)
		put_str(b, "severity", severity_name(ev->rule->severity));
	put_key(b, "tags");
	buf_addc(b, '[');
	for (size_t i = 0; ev->rule != NULL && i < ev->rule->ntags; i++) {
		size_t mark = b->len;

		/* jansson appended nothing for a tag that is not valid UTF-8. */
		if (b->s[b->len - 1] != '[')
			buf_addc(b, ',');
		if (put_json_str(b, ev->rule->tags[i], strlen(ev->rule->tags[i])) != 0)
			b->s[b->len = mark] = '\0';
	}
	buf_addc(b, ']');
	put_str(b, "state", case_state_name(c->state));
	put_time(b, "deflected_at", c->deflected_at);
	put_time(b, "deadline", c->deadline);
	put_int(b, "repeats", (long long)c->repeats);
	put_int(b, "escalations", (long long)c->escalations);
	if (c->resolved_at != 0)
		put_int(b, "time_to_resolution", (long long)(c->resolved_at - c->deflected_at));
	b->s[start] = '{';
	buf_add(b, "}\n", 2);
	if (b->len >= REPLAY_OUT_FLUSH) {
		fwrite(b->s, 1, b->len, r->out);
		buf_reset(b);
	}
	r->findings++;
}

int
cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rules", required_argument, NULL, 'r'},
	    {"window", required_argument, NULL, 'w'},
	    {"lateness", required_argument, NULL, 'l'},
	    {"sort", no_argument, NULL, 's'},
	    {"brands", required_argument, NULL, 'b'},
	    {"drain", no_argument, NULL, 'd'},
	    {"max-line", required_argument, NULL, 'm'},
	    {"format", required_argument, NULL, 'f'},
	    {"instance", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *rules_dir = NULL, *brands = NULL;
	char rules_buf[LOAD_RULES_MAX] = "";
	int64_t window = -1, lateness = -1;
	int sort = 0, drain = 0, ch;
	long max_line = READER_DEFAULT_MAX;
	struct convert cv;

	memset(&cv, 0, sizeof cv);
	cv.instance = "localhost";
	struct config *cfg;
	struct ruleset *rs;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'r':
			if (load_rules_arg(rules_buf, sizeof rules_buf, optarg) != 0)
				return 2;
			rules_dir = rules_buf;
			break;
		case 'b': brands = optarg; break;
		case 's': sort = 1; break;
		case 'd': drain = 1; break;
		case 'w':
		case 'l': {
			int64_t v = parse_duration(optarg);

			if (v < 0 || (ch == 'w' && v == 0)) {
				fprintf(stderr, "deflectd replay: bad duration \"%s\" for --%s\n",
				    optarg, ch == 'w' ? "window" : "lateness");
				return 2;
			}
			*(ch == 'w' ? &window : &lateness) = v;
			break;
		}
		case 'm':
			max_line = strtol(optarg, NULL, 10);
			if (max_line < 16) {
				fprintf(stderr, "deflectd replay: bad --max-line \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'f':
			if (strcmp(optarg, "native") == 0)
				cv.fmt = FMT_NATIVE;
			else if (strcmp(optarg, "x") == 0)
				cv.fmt = FMT_X;
			else if (strcmp(optarg, "mastodon") == 0)
				cv.fmt = FMT_MASTODON;
			else if (strcmp(optarg, "bluesky") == 0)
				cv.fmt = FMT_BLUESKY;
			else {
				fprintf(stderr, "deflectd replay: --format is native, x, mastodon or "
				    "bluesky\n");
				return 2;
			}
			break;
		case 'i': cv.instance = optarg; break;
		case 'h': replay_usage(stdout); return 0;
		default: replay_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		replay_usage(stderr);
		return 2;
	}
	const char *path = argv[optind];
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");

	if (in == NULL) {
		fprintf(stderr, "deflectd replay: %s: %m\n", path);
		return 1;
	}
	if (load_quiet(config_path, rules_dir, &cfg, &rs) != 0) {
		if (in != stdin)
			fclose(in);
		return 1;
	}
	if (brands != NULL)
		config_add_brand_list(cfg, brands);
	if (window > 0)
		cfg->window = window;
	if (lateness >= 0)
		cfg->lateness = lateness;
	/* Sorting is buffering the whole recording: a lateness longer than it. */
	if (sort)
		cfg->lateness = INT64_MAX / 4;

	struct replay r = {stdout, 0, BUF_INIT};
	struct pipeline_config pc;
	struct pipeline *pl;
	struct reader *rd = reader_new(in, (size_t)max_line);
	struct post_parser *pp = post_parser_new();
	struct post p;
	uint64_t lines = 0, bad = 0;
	int io_error = 0;
	const char *line;
	size_t len;
	char err[256];
	enum reader_status st;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cv.fmt == FMT_MASTODON) {
		cv.sse = sse_new((size_t)max_line, on_sse_event, NULL, &cv);
		cv.conv = json_object();
	}
	config_pipeline(cfg, &pc, 1);
	pl = pipeline_new(&pc, rs, on_event, &r);
	while ((st = reader_next(rd, &line, &len)) != READER_EOF) {
		if (st == READER_IO) {
			fprintf(stderr, "%s:%zu: read error: %m\n", name, reader_lineno(rd));
			io_error = 1;
			break;
		}
		lines++;
		if (st == READER_TOO_LONG) {
			fprintf(stderr, "%s:%zu: line longer than %ld bytes\n", name,
			    reader_lineno(rd), max_line);
			bad++;
			continue;
		}
		if ((len == 0 || strspn(line, " \t\r") == len) && cv.fmt != FMT_MASTODON) {
			lines--;
			continue;
		}
		/* Native lines go to the parser as they are, without a copy. */
		if (cv.fmt == FMT_NATIVE) {
			if (post_parse(pp, line, len, &p, err, sizeof err) != 0) {
				fprintf(stderr, "%s:%zu: %s\n", name, reader_lineno(rd), err);
				bad++;
			} else {
				pipeline_post(pl, &p);
			}
			continue;
		}
		int crc = convert_line(&cv, line, len);

		if (crc != 0) {
			fprintf(stderr, "%s:%zu: %s%s\n", name, reader_lineno(rd),
			    crc == -2 ? "some posts skipped: " : "", cv.err);
			bad++;
			if (crc == -1)
				continue;
		}
		/* One input line may hold any number of posts (a search page, a thread). */
		for (char *q = cv.out.s; q != NULL && q < cv.out.s + cv.out.len;) {
			char *nl = memchr(q, '\n', (size_t)(cv.out.s + cv.out.len - q));
			size_t n = nl ? (size_t)(nl - q) : (size_t)(cv.out.s + cv.out.len - q);

			if (n > 0 && post_parse(pp, q, n, &p, err, sizeof err) != 0) {
				fprintf(stderr, "%s:%zu: %s\n", name, reader_lineno(rd), err);
				bad++;
			} else if (n > 0) {
				pipeline_post(pl, &p);
			}
			q += n + 1;
		}
	}
	if (drain)
		pipeline_drain(pl);
	else
		pipeline_flush(pl);
	if (r.line.len > 0)
		fwrite(r.line.s, 1, r.line.len, r.out);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	struct pipeline_stats ps;
	struct tracker_stats ts;
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	pipeline_stats(pl, &ps);
	tracker_stats(pipeline_tracker(pl), &ts);
	fprintf(stderr,
	    "replay: %llu lines, %llu posts, %llu bad lines, %llu duplicates, %llu late\n"
	    "replay: matches: %llu deflection, %llu resolution, %llu escalation; "
	    "%llu regex match-limit hits\n"
	    "replay: findings: %llu deflection, %llu repeat_deflection, %llu escalation, "
	    "%llu resolution, %llu unresolved, %llu resolved_late\n"
	    "replay: cases at the end: %llu open, %llu unresolved; %llu deflections without a "
	    "customer\n"
	    "replay: %.3f s, %.0f posts/s\n",
	    (unsigned long long)lines, (unsigned long long)ps.posts, (unsigned long long)bad,
	    (unsigned long long)ps.duplicates, (unsigned long long)ps.late,
	    (unsigned long long)ps.matched[RULE_DEFLECTION],
	    (unsigned long long)ps.matched[RULE_RESOLUTION],
	    (unsigned long long)ps.matched[RULE_ESCALATION], (unsigned long long)rs->limit_hits,
	    (unsigned long long)ts.findings[FINDING_DEFLECTION],
	    (unsigned long long)ts.findings[FINDING_REPEAT_DEFLECTION],
	    (unsigned long long)ts.findings[FINDING_ESCALATION],
	    (unsigned long long)ts.findings[FINDING_RESOLUTION],
	    (unsigned long long)ts.findings[FINDING_UNRESOLVED],
	    (unsigned long long)ts.findings[FINDING_RESOLVED_LATE], (unsigned long long)ts.open,
	    (unsigned long long)ts.unresolved, (unsigned long long)ts.no_customer, secs,
	    secs > 0 ? (double)ps.posts / secs : 0.0);
	if (ps.late > ps.posts / 2 && ps.late > 0)
		fprintf(stderr, "replay: most posts arrived after the watermark passed them: is the "
		    "recording in time order? Exports grouped by conversation need --sort\n");
	pipeline_free(pl);
	buf_free(&r.line);
	buf_free(&cv.out);
	if (cv.sse != NULL)
		sse_free(cv.sse);
	json_decref(cv.conv);
	reader_free(rd);
	post_parser_free(pp);
	if (in != stdin)
		fclose(in);
	ruleset_free(rs);
	config_free(cfg);
	return io_error;
}
