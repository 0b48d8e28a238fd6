/*
 * The long-running daemon: one libevent loop owning the config, the rules,
 * the pipeline and the state database. Signals, reload and the clock live
 * here; sources and the admin listener feed it through daemon_ingest_*.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <jansson.h>

#include "admin.h"
#include "alert.h"
#include "buf.h"
#include "cmd.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "record.h"
#include "source_bluesky.h"
#include "source_file.h"
#include "source_mastodon.h"
#include "source_x.h"
#include "verdict.h"
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

/* Writes the alert a finding raises to the outbox and queues its deliveries. */
static void
raise_alert(struct deflectd *d, const struct event *ev, const char *type)
{
	const struct finding *f = ev->f;
	const struct rule *rule = ruleset_find(d->rs, f->c->rule);
	struct alert_input in;
	char id[64], *text = NULL, *url = NULL, *match = NULL, *doc;
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
	store_evidence_each(d->store, f->c, add_evidence, in.evidence);
	doc = alert_document(&in);
	if (doc == NULL || store_outbox_add(d->store, id, type, now, doc) != 0 ||
	    webhooks_queue(d->hooks, id, type, f->c->brand, rule ? rule->tags : NULL,
		rule ? rule->ntags : 0, rule ? (int)rule->severity : SEV_MEDIUM, now) != 0)
		log_warnx("alert %s (%s) not queued", id, type);
	else
		webhooks_kick(d->hooks);
	free(doc);
	free(text);
	free(url);
	free(match);
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

int
daemon_case_close(struct deflectd *d, const char *id, const char *as, const char *note,
    const char *author, char *err, size_t errlen)
{
	int rc;

	if (begin(d) != 0) {
		snprintf(err, errlen, "state database unavailable");
		return VERDICT_FAILED;
	}
	rc = verdict_close(d->store, d->rs, id, as, note, author, (int64_t)time(NULL), err, errlen);
	if (rc != VERDICT_OK || store_commit(d->store) != 0) {
		store_rollback(d->store);
		if (rc == VERDICT_OK || rc == VERDICT_FAILED)
			snprintf(err, errlen, "state database failed; the verdict was not kept");
		return rc == VERDICT_OK ? VERDICT_FAILED : rc;
	}
	/* Committed: the tracker lets the case go now rather than at the next step. */
	verdict_sync(d->store, pipeline_tracker(d->pl), &d->verdict_seq);
	log_info("case %s closed as %s by %s", id, as, author);
	return VERDICT_OK;
}

int
daemon_ingest_begin(struct deflectd *d)
{
	return begin(d);
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
	rc = store_post_add(d->store, p.platform, p.id, p.created_at, line, len);
	if (rc < 0) {
		post_release(&p);
		return -2;
	}
	if (rc == 0) {
		src->duplicates++;
		post_release(&p);
		return 0;
	}
	src->posts++;
	log_debug("post %s/%s accepted (%s)", p.platform, p.id, p.author);
	pipeline_post(d->pl, &p);
	return 1;
}

int
daemon_ingest_end(struct deflectd *d, int ok)
{
	if (ok && store_commit(d->store) == 0)
		return 0;
	store_rollback(d->store);
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
			log_info("source %s: %s: %s", src->name, what, err);
		p += n + 1;
	}
	if (!failed && posname != NULL && store_position_set(d->store, posname, posvalue) != 0)
		failed = 1;
	return daemon_ingest_end(d, !failed);
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
	const char *type = config_value(sec, "type"), *name;

	*line = sec->line;
	if (type != NULL && strcmp(type, "x") == 0)
		*key = "bearer_token_file";
	else if (type != NULL && strcmp(type, "mastodon") == 0)
		*key = "token_file";
	else {
		*key = NULL;
		return NULL;
	}
	name = config_value_at(sec, *key, line);
	if (name == NULL && strcmp(type, "x") == 0)
		name = "x.token";
	if (name == NULL) { /* config.c requires token_file of a mastodon source */
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

/* Moves the pipeline's clock to now, firing deadlines, in one transaction. */
static void
advance(struct deflectd *d)
{
	int64_t now = (int64_t)time(NULL);

	if (begin(d) != 0)
		return;
	pipeline_advance(d->pl, now);
	store_posts_prune(d->store, now - d->cfg->retention);
	if (store_commit(d->store) != 0)
		store_rollback(d->store);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	advance(arg);
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
	if (cmd_load_as(d->config_path, d->cfg->rules_dir_override, &cfg, &rs, 1) != 0) {
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
	webhooks_free(d->hooks);
	d->hooks = hooks;
	if (strcmp(cfg->state_dir, d->cfg->state_dir) != 0 ||
	    strcmp(cfg->admin_listen, d->cfg->admin_listen) != 0 ||
	    cfg->nsources != d->cfg->nsources)
		log_notice("state_dir, admin_listen and sources change on restart, not on reload");
	pipeline_set_rules(d->pl, rs);
	ruleset_free(d->rs);
	d->rs = rs;
	/* The pipeline copies what it keeps, so the old config can go. */
	config_free(d->cfg);
	d->cfg = cfg;
	live_pipeline_config(d, &pc);
	pipeline_reconfigure(d->pl, &pc);
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

	if (post_parse(d->pp, json, len, &p, err, sizeof err) == 0)
		pipeline_post(d->pl, &p);
	else
		log_warnx("%s: a stored post no longer parses: %s", store_path(d->store), err);
}

/* Puts back what the last run left: open cases, then posts not yet tracked. */
static int
restore(struct deflectd *d)
{
	struct tracker_stats ts;

	if (store_cases_open(d->store, restore_case, d) != 0)
		return -1;
	if (begin(d) != 0)
		return -1;
	if (store_posts_pending(d->store, requeue_post, d) != 0) {
		store_rollback(d->store);
		return -1;
	}
	/* Deadlines that passed while the daemon was down fire now, once. */
	pipeline_advance(d->pl, (int64_t)time(NULL));
	if (store_commit(d->store) != 0) {
		store_rollback(d->store);
		return -1;
	}
	tracker_stats(pipeline_tracker(d->pl), &ts);
	log_info("state %s: %llu open and %llu unresolved cases", store_path(d->store),
	    (unsigned long long)ts.open, (unsigned long long)ts.unresolved);
	return 0;
}

/* Creates the state directory when run by hand (systemd makes StateDirectory). */
static int
ensure_dir(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) == 0)
		return S_ISDIR(sb.st_mode) ? 0 : -1;
	return mkdir(dir, 0700);
}

static void
daemon_usage(FILE *f)
{
	fprintf(f, "usage: deflectd [-v] [-c FILE] [--rules DIR]\n"
		   "       deflectd COMMAND ... (see deflectd --help)\n");
}

int
daemon_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rules", required_argument, NULL, 'r'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const int sigs[3] = {SIGHUP, SIGTERM, SIGINT};
	struct deflectd d;
	struct pipeline_config pc;
	const char *rules_dir = NULL;
	char err[1024];
	int ch, verbose = 0;

	memset(&d, 0, sizeof d);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': d.config_path = optarg; break;
		case 'r': rules_dir = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': daemon_usage(stdout); return 0;
		default: daemon_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		daemon_usage(stderr);
		return 2;
	}
	log_init(verbose);
	if (d.config_path == NULL && access(CONFIG_DEFAULT_PATH, R_OK) == 0)
		d.config_path = CONFIG_DEFAULT_PATH;
	if (cmd_load_as(d.config_path, rules_dir, &d.cfg, &d.rs, 1) != 0)
		fatalx("configuration has errors; not starting");
	d.cfg->rules_dir_override = rules_dir ? xstrdup(rules_dir) : NULL;
	if (ensure_dir(d.cfg->state_dir) != 0)
		fatalx("state_dir %s: %s", d.cfg->state_dir, strerror(errno));
	if ((d.store = store_open(d.cfg->state_dir, err, sizeof err)) == NULL)
		fatalx("%s", err);
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
	source_bluesky_start_all(&d);
	if (source_file_start_all(&d, err, sizeof err) != 0 ||
	    source_mastodon_start_all(&d, err, sizeof err) != 0 ||
	    source_x_start_all(&d, err, sizeof err) != 0)
		fatalx("%s", err);

	struct timeval one = {1, 0};
	d.tick = event_new(d.base, -1, EV_PERSIST, on_tick, &d);
	event_add(d.tick, &one);
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
	notify_send("READY=1");
	event_base_dispatch(d.base);

	/* Every batch committed as it went; nothing is left to flush. */
	for (int i = 0; i < 3; i++)
		event_free(d.signals[i]);
	if (d.watchdog)
		event_free(d.watchdog);
	event_free(d.tick);
	source_file_stop_all(&d);
	source_bluesky_stop_all(&d);
	source_mastodon_stop_all(&d);
	source_x_stop_all(&d);
	admin_free(d.admin);
	webhooks_free(d.hooks);
	pipeline_free(d.pl);
	post_parser_free(d.pp);
	store_close(d.store);
	ruleset_free(d.rs);
	config_free(d.cfg);
	for (size_t i = 0; i < d.nsources; i++) {
		free(d.sources[i]->name);
		free(d.sources[i]);
	}
	free(d.sources);
	event_base_free(d.base);
	log_info("stopped");
	return 0;
}
