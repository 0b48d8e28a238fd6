/*
 * The long-running daemon: one libevent loop owning the config, the rules,
 * the pipeline and the state database. Signals, reload, the watchdog and
 * the clock live here. Loading config and rules is load.c's; the sources
 * are source.c's table, started here without knowing any type, each fed
 * through its ingest handle; the admin listener calls daemon_ingest_*.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <jansson.h>

#include "admin.h"
#include "alert.h"
#include "buf.h"
#include "load.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "silence.h"
#include "record.h"
#include "source.h"
#include "verdict.h"
#include "version.h"
#include "webhook.h"
#include "xmalloc.h"

/* store_evidence_each callback: one evidence object. */
static void
add_evidence(void *arg, const struct store_evidence *e)
{
	char at[32];

	rfc3339_format(e->at, at, sizeof at);
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}", "post_id",
	    e->post_id, "kind", e->kind, "at", at, "rule", e->rule, "text", e->text, "url",
	    e->url));
}

/*
 * Why an alert is kept from every webhook, or NULL to send it: a silence
 * covering it (its id in *silence), or a finding older than max_alert_age
 * (a backfill, a catch-up after an outage). Fills reason for alerts list.
 */
static const char *
held_why(struct deflectd *d, const struct event *ev, const struct rule *rule, int64_t now,
    char **silence, char *reason, size_t reasonlen)
{
	const struct finding *f = ev->f;
	struct silence_target t;

	memset(&t, 0, sizeof t);
	t.brand = f->c->brand;
	t.customer = f->c->customer;
	t.conversation = f->c->conversation_id;
	t.platform = f->c->platform;
	t.rules[0] = f->c->rule;
	t.rules[1] = f->rule;
	if (rule != NULL) {
		t.tags[0] = rule->tags;
		t.ntags[0] = rule->ntags;
	}
	if (ev->rule != NULL) {
		t.tags[1] = ev->rule->tags;
		t.ntags[1] = ev->rule->ntags;
	}
	if ((*silence = silence_find(d->store, now, &t)) != NULL) {
		snprintf(reason, reasonlen, "silenced by %s", *silence);
		return "silenced";
	}
	if (d->cfg->max_alert_age > 0 && now - f->at > d->cfg->max_alert_age) {
		char at[32];

		rfc3339_format(f->at, at, sizeof at);
		snprintf(reason, reasonlen, "too old: %s %s was more than max_alert_age (%llds) "
		    "before it was found", f->type == FINDING_UNRESOLVED ? "its deadline" : "its post",
		    at, (long long)d->cfg->max_alert_age);
		return "too_old";
	}
	return NULL;
}

/* Writes the alert a finding raises to the outbox and queues its deliveries. */
static void
raise_alert(struct deflectd *d, const struct event *ev, const char *type)
{
	const struct finding *f = ev->f;
	const struct rule *rule = ruleset_find(d->rs, f->c->rule);
	struct alert_input in;
	struct webhook_alert wa;
	char id[64], *text = NULL, *url = NULL, *match = NULL, *doc, *silence = NULL, reason[256];
	int64_t now = (int64_t)time(NULL);

	alert_id(f, id, sizeof id);
	store_case_text_get(d->store, f->c, &text, &url, &match);
	memset(&in, 0, sizeof in);
	in.f = f;
	in.rule = rule;
	in.type = type;
	in.id = id;
	in.created_at = now;
	in.text = text;
	in.url = url;
	in.match = match;
	in.evidence = json_array();
	if (ev->post != NULL) {
		in.post_author = ev->post->author;
		in.post_text = ev->text;
		in.post_url = ev->post->url;
	}
	store_evidence_each(d->store, f->c, add_evidence, in.evidence);
	doc = alert_document(&in);
	memset(&wa, 0, sizeof wa);
	wa.id = id;
	wa.type = type;
	wa.brand = f->c->brand;
	wa.platform = f->c->platform;
	wa.rule = f->c->rule;
	wa.tags = rule ? rule->tags : NULL;
	wa.ntags = rule ? rule->ntags : 0;
	wa.severity = rule ? (int)rule->severity : SEV_MEDIUM;
	wa.held = held_why(d, ev, rule, now, &silence, reason, sizeof reason);
	wa.reason = wa.held ? reason : NULL;
	if (doc == NULL || store_outbox_add(d->store, id, type, now, doc) != 0 ||
	    (wa.held != NULL && store_outbox_hold(d->store, id, reason, silence) != 0) ||
	    webhooks_queue(d->hooks, &wa, now) != 0)
		log_warnx("alert %s (%s) not queued", id, type);
	else if (wa.held != NULL)
		log_info("alert %s (%s) not sent: %s", id, type, reason);
	else
		webhooks_kick(d->hooks);
	free(doc);
	free(text);
	free(url);
	free(match);
	free(silence);
}

/* Pipeline callback: every finding is logged, stored, and queued if it alerts. */
static void
on_event(void *arg, const struct event *ev)
{
	struct deflectd *d = arg;
	const struct finding *f = ev->f;

	log_info("finding %s brand=%s conversation=%s customer=%s rule=%s post=%s",
	    finding_type_name(f->type), f->c->brand, f->c->conversation_id, f->c->customer,
	    f->rule ? f->rule : "-", f->post_id ? f->post_id : "-");
	metrics_count_finding(d, f->c->brand, (int)f->type);
	record_event(d->store, ev);
	const char *type = alert_type(f->type, d->cfg->alert_detected);
	if (type != NULL)
		raise_alert(d, ev, type);
}

/* Pipeline callback: a tracked post's JSON is no longer needed for a restart. */
static void
on_tracked(void *arg, const struct post *p, int is_brand, const char *brand, int duplicate)
{
	struct deflectd *d = arg;

	store_post_done(d->store, p->platform, p->id);
	record_tracked(d->store, p, is_brand, brand, duplicate);
}

/*
 * Opens a write transaction. The tracker changes only inside one, so it
 * first learns, under SQLite's write lock, every verdict an operator stored
 * since the last (verdict.h): a closed case never fires.
 */
static int
begin(struct deflectd *d)
{
	if (store_begin(d->store) != 0)
		return -1;
	if (verdict_sync(d->store, pipeline_tracker(d->pl), &d->verdict_seq) != 0) {
		store_rollback(d->store);
		return -1;
	}
	return 0;
}

static void fail_closed(struct deflectd *d);

int
daemon_case_close(struct deflectd *d, const char *id, const char *as, const char *note,
    const char *author, char *err, size_t errlen)
{
	int rc;

	/* One transaction at a time: a push being taken in slices finishes first. */
	if (d->batch_open && d->admin != NULL)
		admin_push_settle(d->admin);
	if (d->degraded || d->batch_open) {
		snprintf(err, errlen, "state database writes fail: %s", d->degraded ?
		    d->degraded_why : "a write is in progress");
		return VERDICT_FAILED;
	}
	if (begin(d) != 0) {
		fail_closed(d);
		snprintf(err, errlen, "state database unavailable");
		return VERDICT_FAILED;
	}
	rc = verdict_close(d->store, d->rs, id, as, note, author, (int64_t)time(NULL), err, errlen);
	if (rc != VERDICT_OK || store_commit(d->store) != 0) {
		store_rollback(d->store);
		if (rc == VERDICT_OK || rc == VERDICT_FAILED) {
			fail_closed(d);
			snprintf(err, errlen, "state database failed; the verdict was not kept");
		}
		return rc == VERDICT_OK ? VERDICT_FAILED : rc;
	}
	/* Committed: the tracker lets the case go now rather than at the next step. */
	verdict_sync(d->store, pipeline_tracker(d->pl), &d->verdict_seq);
	log_info("case %s closed as %s by %s", id, as, author);
	return VERDICT_OK;
}

/*
 * The invariant: the tracker's memory only ever reflects what is committed.
 *
 * A batch hands its posts to the pipeline inside its transaction, so the
 * cases and alerts they cause commit together with them, and the clock's
 * tick does the same with the deadlines it fires. When such a transaction
 * cannot commit (disk full, I/O error, a lock held past the busy timeout),
 * what it did in memory is thrown away at once and rebuilt from the store
 * by the same code a restart runs (open cases, then the posts acknowledged
 * but not yet tracked), and the daemon fails closed: input is refused (push
 * answers 503, sources keep their positions and try again), /readyz answers
 * 503 with the reason, and the log says so once. Each tick then tries a
 * small write; once one commits, the tick's own transaction runs and input
 * is taken again. So a post answered 200 is in the store and ends up as its
 * case and alerts, and a post answered 503 leaves no trace anywhere.
 *
 * Rebuilding in place was chosen over exiting for the service manager: the
 * recovery is the same tested restore path, but the admin API keeps
 * answering (readyz says why) and a daemon run by hand recovers alone.
 */
static void rebuild(struct deflectd *d);

/* A write under the tracker failed: rebuild memory from the store, refuse input. */
static void
fail_closed(struct deflectd *d)
{
	const char *why = store_error(d->store);

	if (!d->degraded) {
		snprintf(d->degraded_why, sizeof d->degraded_why, "%s", why ? why : "write failed");
		log_warnx("%s: writes fail (%s): refusing input and retrying every second; "
		    "the tracker is rebuilt from what was committed", store_path(d->store),
		    d->degraded_why);
		d->degraded = 1;
	}
	rebuild(d);
}

int
daemon_ingest_begin(struct deflectd *d)
{
	/* One transaction at a time: a push being taken in slices finishes first. */
	if (d->batch_open && d->admin != NULL)
		admin_push_settle(d->admin);
	if (d->degraded || d->batch_open)
		return -1;
	d->batch_src = NULL;
	d->batch_posts = d->batch_dups = 0;
	if (begin(d) != 0) {
		fail_closed(d);
		return -1;
	}
	d->batch_open = 1;
	return 0;
}

void
daemon_ingest_abandon(struct deflectd *d)
{
	d->batch_open = 0;
	d->batch_src = NULL;
	store_rollback(d->store);
}

struct source_stats *
daemon_source(struct deflectd *d, const char *name)
{
	struct source_stats *s;

	for (size_t i = 0; i < d->nsources; i++)
		if (strcmp(d->sources[i]->name, name) == 0)
			return d->sources[i];
	s = xcalloc(1, sizeof *s);
	s->name = xstrdup(name);
	d->sources = xreallocarray(d->sources, d->nsources + 1, sizeof *d->sources);
	d->sources[d->nsources++] = s;
	return s;
}

/* Is the post dated more than clock_skew ahead of now? When clamp, it is made now. */
static int
future(const struct deflectd *d, struct post *p, int clamp)
{
	int64_t now = (int64_t)time(NULL);

	if (p->created_at <= now + d->cfg->clock_skew)
		return 0;
	if (clamp)
		p->created_at = now;
	return 1;
}

int
daemon_ingest_line(struct deflectd *d, struct source_stats *src, const char *line, size_t len,
    char *err, size_t errlen)
{
	struct post p;
	int rc;

	if (post_parse(d->pp, line, len, &p, err, errlen) != 0) {
		src->bad++;
		return -1;
	}
	/*
	 * A post from the future would wait in the reorder buffer until its
	 * time. A platform's post carries its client's clock (Bluesky's
	 * createdAt): it happened now. Native input is refused, with the reason.
	 */
	if (future(d, &p, src->network)) {
		char at[32];

		src->future++;
		if (!src->network) {
			rfc3339_format(p.created_at, at, sizeof at);
			snprintf(err, errlen, "created_at %s is more than clock_skew (%llds) ahead of "
			    "the clock", at, (long long)d->cfg->clock_skew);
			src->bad++;
			post_release(&p);
			return -1;
		}
	}
	rc = store_post_add(d->store, p.platform, p.id, p.created_at, line, len);
	if (rc < 0) {
		post_release(&p);
		return -2;
	}
	/* Counted once the batch commits: metrics too show only what was kept. */
	d->batch_src = src;
	if (rc == 0) {
		d->batch_dups++;
		post_release(&p);
		return 0;
	}
	d->batch_posts++;
	log_debug("post %s/%s accepted (%s)", p.platform, p.id, p.author);
	pipeline_post(d->pl, &p);
	return 1;
}

int
daemon_ingest_end(struct deflectd *d, int ok)
{
	d->batch_open = 0;
	if (ok && store_commit(d->store) == 0) {
		webhooks_kick(d->hooks);
		if (d->batch_src != NULL) {
			d->batch_src->posts += d->batch_posts;
			d->batch_src->duplicates += d->batch_dups;
		}
		d->batch_src = NULL;
		return 0;
	}
	store_rollback(d->store);
	d->batch_src = NULL;
	fail_closed(d);
	return -1;
}

int
daemon_ingest_lines(struct deflectd *d, struct source_stats *src, const struct buf *lines,
    const char *what, const char *posname, const char *posvalue)
{
	int failed = 0;

	if ((lines->len == 0 && posname == NULL) || daemon_ingest_begin(d) != 0)
		return lines->len == 0 && posname == NULL ? 0 : -1;
	for (const char *p = lines->s; p < lines->s + lines->len && !failed;) {
		const char *nl = memchr(p, '\n', (size_t)(lines->s + lines->len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(lines->s + lines->len - p);
		char err[256];
		int rc = n > 0 ? daemon_ingest_line(d, src, p, n, err, sizeof err) : 0;

		if (rc == -2)
			failed = 1;
		else if (rc == -1)
			log_warning("source %s: %s: %s", src->name, what, err);
		p += n + 1;
	}
	if (!failed && posname != NULL && store_position_set(d->store, posname, posvalue) != 0)
		failed = 1;
	return daemon_ingest_end(d, !failed);
}

/* The daemon's side of one started source (source.h). */
struct ingest {
	struct deflectd *d;
	struct source_stats *stats;
};

/* A started source: its type's stop and its handle. */
struct running_source {
	const struct source_type *type;
	void *src;
	struct ingest *in;
};

struct event_base *
ingest_base(struct ingest *in)
{
	return in->d->base;
}

const struct config *
ingest_config(struct ingest *in)
{
	return in->d->cfg;
}

struct source_stats *
ingest_stats(struct ingest *in)
{
	return in->stats;
}

int
ingest_lines(struct ingest *in, const struct buf *lines, const char *what, const char *posname,
    const char *posvalue)
{
	return daemon_ingest_lines(in->d, in->stats, lines, what, posname, posvalue);
}

int
ingest_begin(struct ingest *in)
{
	return daemon_ingest_begin(in->d);
}

int
ingest_line(struct ingest *in, const char *line, size_t len, char *err, size_t errlen)
{
	return daemon_ingest_line(in->d, in->stats, line, len, err, errlen);
}

int
ingest_position_set(struct ingest *in, const char *posname, const char *value)
{
	return store_position_set(in->d->store, posname, value);
}

int
ingest_end(struct ingest *in, int ok)
{
	return daemon_ingest_end(in->d, ok);
}

char *
ingest_position(struct ingest *in, const char *posname)
{
	return store_position_get(in->d->store, posname);
}

void
ingest_foreach_case(struct ingest *in, void (*fn)(void *arg, const struct tcase *c), void *arg)
{
	tracker_foreach(pipeline_tracker(in->d->pl), fn, arg);
}

char *
ingest_token(struct ingest *in, const struct config_section *sec, char *err, size_t errlen)
{
	return daemon_source_token(in->d->cfg, sec, err, errlen);
}

/*
 * Starts every [source], type by type in the table's start order; the
 * counters of each are "TYPE:SECTION". -1 with a message in err (the
 * daemon stops).
 */
static int
sources_start(struct deflectd *d, char *err, size_t errlen)
{
	const struct source_type *t;

	for (size_t k = 0; (t = source_type_started(k)) != NULL; k++) {
		for (size_t i = 0; t->start != NULL && i < d->cfg->nsources; i++) {
			const struct config_section *sec = &d->cfg->sources[i];
			const char *type = config_value(sec, "type");
			struct ingest *in;
			void *src;

			if (type == NULL || strcmp(type, t->conf.type) != 0)
				continue;
			in = xcalloc(1, sizeof *in);
			in->d = d;
			char *stat = xasprintf("%s:%s", t->conf.type, sec->name);
			in->stats = daemon_source(d, stat);
			free(stat);
			if ((src = t->start(sec, in, err, errlen)) == NULL) {
				free(in);
				return -1;
			}
			d->running = xreallocarray(d->running, d->nrunning + 1, sizeof *d->running);
			d->running[d->nrunning++] = (struct running_source){t, src, in};
		}
	}
	return 0;
}

/* Stops every started source, the last started first. */
static void
sources_stop(struct deflectd *d)
{
	while (d->nrunning > 0) {
		struct running_source *r = &d->running[--d->nrunning];

		r->type->stop(r->src);
		free(r->in);
	}
	free(d->running);
	d->running = NULL;
}

char *
daemon_read_secret(const struct config *cfg, const char *name, char *err, size_t errlen)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	const char *slash = cfg->path ? strrchr(cfg->path, '/') : NULL;
	char *path, chunk[4096];
	struct buf b = BUF_INIT;
	FILE *f;
	size_t n;

	if (name[0] == '/')
		path = xstrdup(name);
	else if (strchr(name, '/') == NULL && creds != NULL)
		path = xasprintf("%s/%s", creds, name);
	else if (slash != NULL)
		path = xasprintf("%.*s/%s", (int)(slash - cfg->path), cfg->path, name);
	else
		path = xstrdup(name);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < 65536)
		buf_add(&b, chunk, n);
	fclose(f);
	while (b.len > 0 && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == '\r'))
		b.s[--b.len] = '\0';
	if (b.len == 0) {
		snprintf(err, errlen, "%s: empty", path);
		free(path);
		buf_free(&b);
		return NULL;
	}
	free(path);
	return b.s;
}

/*
 * The token of a source that has one: NULL with the key, its line and the
 * reason filled in when it cannot be read, or with *key NULL when the type
 * needs none.
 */
static char *
source_token(const struct config *cfg, const struct config_section *sec, const char **key,
    int *line, char *why, size_t whylen)
{
	const struct source_type *t = source_type_find(config_value(sec, "type"));
	const char *name;

	*line = sec->line;
	*key = t != NULL ? t->token_key : NULL;
	if (*key == NULL)
		return NULL;
	name = config_value_at(sec, *key, line);
	if (name == NULL)
		name = t->token_default;
	if (name == NULL) {
		snprintf(why, whylen, "not set");
		return NULL;
	}
	return daemon_read_secret(cfg, name, why, whylen);
}

char *
daemon_source_token(const struct config *cfg, const struct config_section *sec, char *err,
    size_t errlen)
{
	const char *key;
	char why[512];
	int line;
	char *tok = source_token(cfg, sec, &key, &line, why, sizeof why);

	err[0] = '\0';
	if (tok == NULL && key != NULL)
		snprintf(err, errlen, "%s:%d: [source %s]: %s: %s", cfg->path ? cfg->path : "-",
		    line, sec->name, key, why);
	return tok;
}

int
daemon_check_sources(const struct config *cfg, struct diag *d)
{
	size_t n = d->n;

	for (size_t i = 0; i < cfg->nsources; i++) {
		const struct config_section *sec = &cfg->sources[i];
		const char *key;
		char why[512];
		int line;
		char *tok = source_token(cfg, sec, &key, &line, why, sizeof why);

		if (tok != NULL) {
			explicit_bzero(tok, strlen(tok));
			free(tok);
		} else if (key != NULL) {
			diag_add(d, cfg->path ? cfg->path : "-", line, 1, "[source %s]: %s: %s",
			    sec->name, key, why);
		}
	}
	return (int)(d->n - n);
}

/* While writes fail: does a small write, outside the tracker, commit now? */
static int
writable(struct deflectd *d)
{
	char now[32];

	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	if (store_begin(d->store) != 0)
		return 0;
	if (store_position_set(d->store, "deflectd:writable", now) != 0 ||
	    store_commit(d->store) != 0) {
		store_rollback(d->store);
		return 0;
	}
	return 1;
}

/*
 * Time one turn may spend tracking a backlog (posts of a large push coming
 * due together); the rest goes on at the next turn of the loop.
 */
#define ADVANCE_SLICE_USEC 20000

/*
 * Moves the pipeline's clock to now, firing deadlines, in one transaction.
 * Returns 1 when a backlog remains (the next turn of the loop goes on), 0
 * when done, -1 when the store failed.
 */
static int
advance(struct deflectd *d)
{
	int64_t now = (int64_t)time(NULL);
	int more;

	if (d->batch_open) /* a push in slices holds the transaction; next tick */
		return 0;
	if (d->degraded && !writable(d))
		return -1;
	if (begin(d) != 0) {
		fail_closed(d);
		return -1;
	}
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		more = pipeline_advance_some(d->pl, now, 256);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (more && (t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 <
	    ADVANCE_SLICE_USEC);
	store_posts_prune(d->store, now - d->cfg->retention);
	if (store_commit(d->store) != 0) {
		store_rollback(d->store);
		fail_closed(d);
		return -1;
	}
	if (d->degraded) {
		d->degraded = 0;
		log_notice("%s: writes succeed again: taking input", store_path(d->store));
	}
	webhooks_kick(d->hooks);
	if (more && d->more != NULL) {
		struct timeval zero = {0, 0};

		evtimer_add(d->more, &zero);
	}
	return more;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)advance(arg);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_send("WATCHDOG=1");
}

/* Fills a pipeline config for the live daemon. */
static void
live_pipeline_config(struct deflectd *d, struct pipeline_config *pc)
{
	config_pipeline(d->cfg, pc, 0);
	pc->tracked = on_tracked;
}

/*
 * SIGHUP: parse config and rules into new objects and swap them in only when
 * both are clean (relayd's reconfigure()); open cases are untouched.
 */
static void
reload(struct deflectd *d)
{
	struct config *cfg;
	struct ruleset *rs;
	struct pipeline_config pc;

	notify_reloading();
	log_info("reloading %s", d->config_path ? d->config_path : "(defaults)");
	if (load_daemon(d->config_path, d->cfg->rules_dir_override, &cfg, &rs) != 0) {
		d->reload_failures++;
		log_warnx("reload failed; still running the previous configuration and rules");
		notify_send("READY=1");
		return;
	}
	cfg->rules_dir_override = d->cfg->rules_dir_override ?
	    xstrdup(d->cfg->rules_dir_override) : NULL;
	char err[512];
	struct webhooks *hooks = webhooks_new(d->base, d->store, cfg, err, sizeof err);
	if (hooks == NULL) {
		log_warnx("%s", err);
		log_warnx("reload failed; still running the previous configuration and rules");
		d->reload_failures++;
		config_free(cfg);
		ruleset_free(rs);
		notify_send("READY=1");
		return;
	}
	/* Deliveries in flight are abandoned; they stay pending and go out again. */
	webhooks_inherit(hooks, d->hooks);
	webhooks_free(d->hooks);
	d->hooks = hooks;
	if (strcmp(cfg->state_dir, d->cfg->state_dir) != 0 ||
	    strcmp(cfg->admin_listen, d->cfg->admin_listen) != 0 ||
	    cfg->nsources != d->cfg->nsources)
		log_notice("state_dir, admin_listen and sources change on restart, not on reload");
	metrics_carry_rules(rs, d->rs);
	store_set_max_size(d->store, cfg->max_state_size);
	pipeline_set_rules(d->pl, rs);
	ruleset_free(d->rs);
	d->rs = rs;
	/* The pipeline copies what it keeps, so the old config can go. */
	config_free(d->cfg);
	d->cfg = cfg;
	metrics_brands_add(d);
	live_pipeline_config(d, &pc);
	pipeline_reconfigure(d->pl, &pc);
	if (d->log_level_override == 0)
		log_set_level(cfg->log_level);
	d->reloads++;
	log_info("reloaded: %zu rules", rs->n);
	notify_send("READY=1");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct deflectd *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		reload(d);
		return;
	}
	log_info("%s: shutting down", strsignal((int)sig));
	notify_send("STOPPING=1");
	event_base_loopbreak(d->base);
}

/* store_cases_open callback. */
static void
restore_case(void *arg, const struct tcase *c)
{
	struct deflectd *d = arg;

	tracker_restore(pipeline_tracker(d->pl), c);
}

/* store_posts_pending callback: a post acknowledged but not yet tracked. */
static void
requeue_post(void *arg, const char *json, size_t len)
{
	struct deflectd *d = arg;
	struct post p;
	char err[256];

	if (post_parse(d->pp, json, len, &p, err, sizeof err) == 0) {
		(void)future(d, &p, 1);
		pipeline_post(d->pl, &p);
	} else {
		log_warnx("%s: a stored post no longer parses: %s", store_path(d->store), err);
	}
}

/* Puts back what the last run committed: open cases, then posts not yet tracked. */
static int
load(struct deflectd *d)
{
	if (store_cases_open(d->store, restore_case, d) != 0)
		return -1;
	/* The pipeline has no clock yet: these only wait in the reorder buffer. */
	return store_posts_pending(d->store, requeue_post, d);
}

/* Replaces the pipeline's memory with what the store holds (fail_closed). */
static void
rebuild(struct deflectd *d)
{
	struct pipeline_config pc;

	pipeline_free(d->pl);
	live_pipeline_config(d, &pc);
	d->pl = pipeline_new(&pc, d->rs, on_event, d);
	if (load(d) != 0)
		fatalx("%s: cannot read the state back; exiting for a restart",
		    store_path(d->store));
}

/* Start: loads state, then fires, once, the deadlines that passed while down. */
static int
restore(struct deflectd *d)
{
	struct tracker_stats ts;

	if (load(d) != 0)
		return -1;
	/* When this cannot commit, the daemon starts failed closed and keeps trying. */
	while (advance(d) == 1)
		;
	tracker_stats(pipeline_tracker(d->pl), &ts);
	log_info("state %s: %llu open and %llu unresolved cases", store_path(d->store),
	    (unsigned long long)ts.open, (unsigned long long)ts.unresolved);
	return 0;
}

/* Creates the state directory when run by hand (systemd makes StateDirectory). */
static void
ensure_dir(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			fatalx("state_dir %s is not a directory (it is a %s); point state_dir at a "
			    "directory", dir, S_ISREG(sb.st_mode) ? "file" : "special file");
		return;
	}
	if (mkdir(dir, 0700) != 0)
		fatalx("state_dir %s: cannot create it: %s", dir, strerror(errno));
}

/*
 * Takes state_dir/deflectd.lock for the life of the process: two daemons on
 * one database would each track half the posts. A lock file of its own,
 * since closing any descriptor of the database would drop SQLite's locks.
 */
static int
lock_state(const char *dir)
{
	char *path = xasprintf("%s/deflectd.lock", dir), pid[32] = "";
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		fatalx("%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK)
			fatalx("%s: cannot lock: %s", path, strerror(errno));
		n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fatalx("%s: another deflectd%s%s%s is running on this state directory; not "
		    "starting", path, *pid ? " (pid " : "", pid, *pid ? ")" : "");
	}
	snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
		log_warn("%s", path);
	free(path);
	return fd;
}

static void
daemon_usage(FILE *f)
{
	fprintf(f, "usage: deflectd [-v] [--log-level error|warning|notice|info|debug] [-c FILE]\n"
		   "                [--rules DIR]...\n"
		   "       deflectd -V | --version\n"
		   "       deflectd COMMAND ... (see deflectd --help)\n");
}

int
daemon_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rules", required_argument, NULL, 'r'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static const int sigs[3] = {SIGHUP, SIGTERM, SIGINT};
	struct deflectd d;
	struct pipeline_config pc;
	const char *rules_dir = NULL;
	char rules_buf[LOAD_RULES_MAX] = "", err[1024];
	int ch, verbose = 0;
	struct timespec started;

	memset(&d, 0, sizeof d);
	clock_gettime(CLOCK_REALTIME, &started);
	d.started_at = (double)started.tv_sec + (double)started.tv_nsec / 1e9;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': d.config_path = optarg; break;
		case 'r':
			if (load_rules_arg(rules_buf, sizeof rules_buf, optarg) != 0)
				return 2;
			rules_dir = rules_buf;
			break;
		case 'v': verbose = 1; break;
		case 'l':
			if ((d.log_level_override = config_log_level(optarg)) < 0) {
				fprintf(stderr, "deflectd: --log-level must be error, warning, notice,"
				    " info or debug\n");
				return 2;
			}
			break;
		case 'V': version_print(stdout); return 0;
		case 'h': daemon_usage(stdout); return 0;
		default: daemon_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		daemon_usage(stderr);
		return 2;
	}
	log_init(verbose);
	/* --log-level, then -v, then the config's log_level (which a reload may change). */
	if (d.log_level_override == 0 && verbose)
		d.log_level_override = LOG_LEVEL_DEBUG;
	if (d.log_level_override != 0)
		log_set_level(d.log_level_override);
	if (d.config_path == NULL && access(CONFIG_DEFAULT_PATH, R_OK) == 0)
		d.config_path = CONFIG_DEFAULT_PATH;
	if (load_daemon(d.config_path, rules_dir, &d.cfg, &d.rs) != 0)
		fatalx("configuration has errors; not starting");
	if (d.log_level_override == 0)
		log_set_level(d.cfg->log_level);
	metrics_brands_add(&d);
	d.cfg->rules_dir_override = rules_dir ? xstrdup(rules_dir) : NULL;
	ensure_dir(d.cfg->state_dir);
	d.lock_fd = lock_state(d.cfg->state_dir);
	if ((d.store = store_open(d.cfg->state_dir, err, sizeof err)) == NULL)
		fatalx("%s", err);
	store_set_max_size(d.store, d.cfg->max_state_size);
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	if (d.base == NULL)
		fatalx("event_base_new failed");
	live_pipeline_config(&d, &pc);
	d.pl = pipeline_new(&pc, d.rs, on_event, &d);
	d.pp = post_parser_new();
	if ((d.hooks = webhooks_new(d.base, d.store, d.cfg, err, sizeof err)) == NULL)
		fatalx("%s", err);
	if (restore(&d) != 0)
		fatalx("%s: cannot restore state", store_path(d.store));
	if ((d.admin = admin_new(&d, err, sizeof err)) == NULL)
		fatalx("%s", err);
	if (sources_start(&d, err, sizeof err) != 0)
		fatalx("%s", err);

	struct timeval one = {1, 0};
	d.tick = event_new(d.base, -1, EV_PERSIST, on_tick, &d);
	event_add(d.tick, &one);
	d.more = evtimer_new(d.base, on_tick, &d);
	uint64_t wd = notify_watchdog_usec();
	if (wd > 0) {
		struct timeval half = {(time_t)(wd / 2 / 1000000), (suseconds_t)(wd / 2 % 1000000)};

		d.watchdog = event_new(d.base, -1, EV_PERSIST, on_watchdog, &d);
		event_add(d.watchdog, &half);
	}
	for (int i = 0; i < 3; i++) {
		d.signals[i] = evsignal_new(d.base, sigs[i], on_signal, &d);
		event_add(d.signals[i], NULL);
	}
	d.ready = 1;
	log_info("deflectd started: %zu rules, state %s", d.rs->n, store_path(d.store));
	/* A fresh install runs idle: say why where the operator looks. */
	struct diag idle = DIAG_INIT;

	config_idle_warnings(d.cfg, &idle);
	for (size_t i = 0; i < idle.n; i++)
		log_warning("%s", idle.msgs[i]);
	diag_free(&idle);
	notify_send("READY=1");
	event_base_dispatch(d.base);

	/* Every batch committed as it went; nothing is left to flush. */
	for (int i = 0; i < 3; i++)
		event_free(d.signals[i]);
	if (d.watchdog)
		event_free(d.watchdog);
	event_free(d.tick);
	event_free(d.more);
	sources_stop(&d);
	admin_free(d.admin);
	webhooks_free(d.hooks);
	pipeline_free(d.pl);
	post_parser_free(d.pp);
	store_close(d.store);
	close(d.lock_fd);
	ruleset_free(d.rs);
	config_free(d.cfg);
	for (size_t i = 0; i < d.nsources; i++) {
		free(d.sources[i]->name);
		free(d.sources[i]);
	}
	free(d.sources);
	metrics_free(&d);
	event_base_free(d.base);
	log_info("stopped");
	return 0;
}
