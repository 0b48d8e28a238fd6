/*
 * The running daemon's one context, and what its admin listener may call.
 * Input enters through daemon_ingest_* (sources reach them through their
 * ingest handle, source.h): every batch of lines is one state-database
 * transaction, so a post is acknowledged (HTTP 200, or a file offset saved)
 * only once it and everything it caused are on disk.
 */
#ifndef DEFLECTD_DAEMON_H
#define DEFLECTD_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "pipeline.h"
#include "rules.h"
#include "source.h"
#include "store.h"

struct admin;
struct webhooks;
struct running_source;

struct deflectd {
	struct event_base *base;
	const char *config_path;
	struct config *cfg;
	struct ruleset *rs;
	struct pipeline *pl;
	struct post_parser *pp; /* every input line goes through it */
	struct store *store;
	struct admin *admin;
	struct webhooks *hooks;
	struct running_source *running; /* the started [source]s (source.h's table) */
	size_t nrunning;
	struct event *tick;
	struct event *more; /* a backlog of posts to track goes on at the next turn */
	struct event *watchdog;
	struct event *signals[3];
	uint64_t reloads, reload_failures;
	struct source_stats **sources; /* each allocated alone: sources keep pointers */
	size_t nsources;
	int ready; /* rules loaded, state open, sources started */
	int log_level_override; /* --log-level or -v; 0: the config's log_level */
	double started_at;      /* wall clock at start, for process_start_time_seconds */
	/*
	 * Findings per brand label for /metrics: every brand configured since
	 * start, and "_other" for brands no [brand] section names, so the
	 * series stay few and never go back to 0 on a reload.
	 */
	struct brand_metrics *bm;
	size_t nbm;
	int64_t verdict_seq; /* the newest operator verdict the tracker has applied */
	/* Writes to the state database fail: input is refused (see daemon.c). */
	int degraded;
	char degraded_why[256];
	int lock_fd; /* state_dir/deflectd.lock, held while running */
	/* The open batch's input and counts, added to it once committed. */
	int batch_open;
	struct source_stats *batch_src;
	uint64_t batch_posts, batch_dups;
};

/* The counters of the input called name, made on first use. */
struct source_stats *daemon_source(struct deflectd *d, const char *name);

int daemon_main(int argc, char **argv);

/*
 * Closes case id with an operator's verdict in its own transaction and drops
 * it from the tracker (verdict.h); returns a verdict_rc with a sentence in err.
 */
int daemon_case_close(struct deflectd *d, const char *id, const char *as, const char *note,
    const char *author, char *err, size_t errlen);

/* Opens a batch; 0 or -1 (logged). */
int daemon_ingest_begin(struct deflectd *d);
/*
 * Takes one native NDJSON line into the open batch. Returns 1 when the post
 * is new, 0 for a duplicate, -1 for a bad line (reason in err), -2 when the
 * state database failed (the batch must be abandoned).
 */
int daemon_ingest_line(struct deflectd *d, struct source_stats *src, const char *line,
    size_t len, char *err, size_t errlen);
/*
 * Commits the batch (ok) or rolls it back; returns 0 when it is durable.
 * A batch that does not commit makes the daemon fail closed (daemon.c).
 */
int daemon_ingest_end(struct deflectd *d, int ok);
/* Rolls the open batch back at shutdown, when memory no longer matters. */
void daemon_ingest_abandon(struct deflectd *d);
/*
 * Takes native NDJSON lines (what a platform mapping made) in as one batch;
 * a bad line is logged naming src and what, and skipped. When posname is
 * set, the source's position becomes posvalue in the same transaction, so
 * a restart resumes exactly after the posts that were kept. Returns 0 when
 * the batch is durable.
 */
int daemon_ingest_lines(struct deflectd *d, struct source_stats *src, const struct buf *lines,
    const char *what, const char *posname, const char *posvalue);

/*
 * Reads a secret named by a *_file key: a path (relative to the config file)
 * when it holds a '/', else a name in $CREDENTIALS_DIRECTORY when that is
 * set, else a file beside the config. Trailing newlines are dropped. Never
 * logged. NULL with a message in err.
 */
char *daemon_read_secret(const struct config *cfg, const char *name, char *err, size_t errlen);
/*
 * Reads the token of a source whose type has one (its row in source.c names
 * the key and the default file). NULL with "FILE:LINE: [source NAME]:
 * KEY: reason" in err; NULL with err empty for a type that needs none.
 */
char *daemon_source_token(const struct config *cfg, const struct config_section *sec,
    char *err, size_t errlen);
/* Reports every source token daemon_source_token() would refuse; returns how many. */
int daemon_check_sources(const struct config *cfg, struct diag *d);

#endif
