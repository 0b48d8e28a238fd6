/*
 * What a source is to the daemon, and the daemon to a source. A source type
 * is one row of source_types[] (source.c): its name in [source] type=, and
 * how to start and stop one section of it. A running source talks to the
 * daemon only through its ingest handle: it hands in native NDJSON lines
 * (with a position to save in the same transaction), reads its saved
 * positions, sees the open cases and counts itself in its source_stats. It
 * never sees struct deflectd.
 */
#ifndef DEFLECTD_SOURCE_H
#define DEFLECTD_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "tracker.h"

/* Counters of one input (push, or a [source]); shown in /metrics and status. */
struct source_stats {
	char *name;
	uint64_t posts, duplicates, bad;
	uint64_t future; /* of bad: dated more than clock_skew ahead */
	int network;       /* a network source: the fields below mean something */
	int connected;     /* streaming, or the last poll answered */
	int64_t last_byte; /* wall clock of the last byte received, 0 = never */
	uint64_t reconnects, stalls, errors;
};

/* One started source's way into the daemon; the daemon owns it (daemon.c). */
struct ingest;

/* The loop the source's events and transfers run on. */
struct event_base *ingest_base(struct ingest *in);
/* The config now in force (a reload swaps it: do not keep the pointer). */
const struct config *ingest_config(struct ingest *in);
/* The source's counters, named "TYPE:SECTION"; they live as long as the daemon. */
struct source_stats *ingest_stats(struct ingest *in);
/*
 * Takes native NDJSON lines in as one batch; a bad line is logged naming
 * the source and what, and skipped. When posname is set, the position
 * becomes posvalue in the same transaction. Returns 0 when durable.
 */
int ingest_lines(struct ingest *in, const struct buf *lines, const char *what,
    const char *posname, const char *posvalue);
/* Opens a batch for ingest_line(); 0 or -1 (logged). */
int ingest_begin(struct ingest *in);
/*
 * One native line into the open batch: 1 new post, 0 duplicate, -1 bad line
 * (reason in err), -2 the state database failed (abandon the batch).
 */
int ingest_line(struct ingest *in, const char *line, size_t len, char *err, size_t errlen);
/* Saves a position in the open batch; 0 or -1. */
int ingest_position_set(struct ingest *in, const char *posname, const char *value);
/* Commits (ok) or rolls back the open batch; 0 when it is durable. */
int ingest_end(struct ingest *in, int ok);
/* A saved position, or NULL; the caller frees it. */
char *ingest_position(struct ingest *in, const char *posname);
/* Calls fn for every open case (catch-ups follow their conversations). */
void ingest_foreach_case(struct ingest *in, void (*fn)(void *arg, const struct tcase *c),
    void *arg);
/*
 * The section's secret token (x: bearer_token_file, mastodon: token_file).
 * NULL with "FILE:LINE: [source NAME]: KEY: reason" in err.
 */
char *ingest_token(struct ingest *in, const struct config_section *sec, char *err,
    size_t errlen);

/* A type of source: one row of source_types[]. */
struct source_type {
	/* [source] type = NAME, its keys and checks (config.c reads these) */
	struct config_source_type conf;
	/* The key naming its secret token's file (NULL: none), and the file when unset. */
	const char *token_key, *token_default;
	int start_order; /* 0, 1, ...: each row its own, with no gap */
	/*
	 * Starts one section of this type; NULL with a message in err. NULL
	 * start: the type has nothing to run (push comes in by the admin API).
	 */
	void *(*start)(const struct config_section *sec, struct ingest *in, char *err,
	    size_t errlen);
	void (*stop)(void *src);
};

/* Every source type, in the order messages list them; ends with a NULL type. */
extern const struct source_type source_types[];
/* The row started i-th (start_order i), or NULL past the last. */
const struct source_type *source_type_started(size_t i);
/* The row of the type called name, or NULL. */
const struct source_type *source_type_find(const char *name);
/* The config's view of row i, NULL past the last (a config_source_types_fn). */
const struct config_source_type *source_config_type(size_t i);

#endif
