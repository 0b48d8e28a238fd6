/*
 * The config file (SPEC section 8): [daemon], [brand NAME], [source NAME] and
 * [webhook NAME] sections. Parsing is pure; config_load reads the file.
 */
#ifndef DEFLECTD_CONFIG_H
#define DEFLECTD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "pipeline.h"

#define CONFIG_DEFAULT_PATH "/etc/deflectd/deflectd.conf"
/* Where the package's rules are installed (CMake passes the data directory). */
#ifndef DEFLECTD_SHIPPED_RULES_DIR
#define DEFLECTD_SHIPPED_RULES_DIR "/usr/share/deflectd/rules"
#endif

/* A key of a [source] or [webhook] section, kept for the module that reads it. */
struct config_kv {
	char *key;
	char *value;
	int line;
};

struct config_section {
	char *name;
	int line;
	struct config_kv *kv;
	size_t nkv;
};

/* A [webhook NAME] section, checked and parsed. */
struct webhook_config {
	char *name;
	char *url;
	char **secret_files; /* each file holds one or more whsec_ secrets, a line each */
	size_t nsecret_files;
	char **secrets;      /* given inline with secret = (discouraged) */
	size_t nsecrets;
	int slack;           /* format = slack; else json */
	char **types; size_t ntypes;   /* empty = every alert type */
	char **brands; size_t nbrands; /* empty = every brand */
	char **tags; size_t ntags;     /* empty = any tags; else the rule must carry one */
	int min_severity;              /* enum severity */
	int64_t timeout;               /* seconds */
	int64_t max_age;               /* give up (dead letter) after this, seconds */
	int concurrency;               /* requests in flight at once */
	int64_t retry_base;            /* first retry delay, seconds; doubles each time */
	int64_t retry_max;             /* longest retry delay, seconds */
	/* Flood control: digests per group, and a cap on requests per period. */
	char **group_by; size_t ngroup_by; /* brand, type, platform, rule */
	int grouping;                  /* any of group_by, group_wait, group_interval set */
	int64_t group_wait;            /* a new group's first digest waits this long */
	int64_t group_interval;        /* least time between two digests of a group */
	int rate_count;                /* at most this many requests per rate_period; 0 = no cap */
	int64_t rate_period;
};

struct config {
	char *path; /* NULL when built from defaults */
	char *state_dir;
	char *rules_dir;
	/* Rules the package ships, read before rules_dir; "" for none ("none" in the file). */
	char *shipped_rules_dir;
	int shipped_rules_dir_set; /* named in the file: a missing directory is an error */
	int log_level;             /* LOG_LEVEL_* (log.h) */
	char *rules_dir_override; /* --rules on the daemon's command line, kept across reloads */
	int64_t window;
	int64_t lateness;
	int64_t retention;
	int64_t clock_skew;     /* posts dated further ahead of the clock are refused */
	int64_t max_state_size; /* bytes the state database may grow to; 0 = no limit */
	int64_t admin_request_timeout; /* seconds a client may take to send one request */
	char *admin_listen;
	char *admin_token_file;
	int admin_listen_line, admin_token_file_line; /* where they were set, or 0 */
	char *admin_read_token_file; /* tokens (one a line) that may only read */
	int admin_read_token_file_line;
	int alert_detected; /* also alert deflection.detected for every new case */
	int64_t max_alert_age; /* an alert older than this when raised is kept, not sent; 0 = off */

	char **brands; /* names of the [brand] sections */
	size_t nbrands;
	struct brand_account *accounts; /* strings owned here */
	size_t naccounts;
	struct brand_window *brand_windows; /* brands with a window; names borrowed from brands */
	size_t nbrand_windows;

	struct config_section *sources;
	size_t nsources;
	struct config_section *webhooks;
	size_t nwebhooks;
	struct webhook_config *hooks; /* parsed from webhooks, same order */
};

/* The last value of key in a [source] or [webhook] section, or NULL. */
const char *config_value(const struct config_section *sec, const char *key);
/* The same, and the line it is on (left alone when the key is absent). */
const char *config_value_at(const struct config_section *sec, const char *key, int *line);

struct config *config_default(void);
/* A log level's name ("error" ... "debug") to its journald priority (3 ... 7); -1 if unknown. */
int config_log_level(const char *name);
/*
 * A type of [source] as the config checks it (a row of source.c's table):
 * its name, the keys it reads (space-separated) and those it needs
 * (comma-separated, NULL: none), and any further check of a section of it
 * (NULL: none), errors added to d.
 */
struct config_source_type {
	const char *type;
	const char *keys;
	const char *needs;
	void (*check)(const struct config_section *sec, const char *file, struct diag *d);
};
/* The i-th source type, NULL past the last; the order is the one messages list them in. */
typedef const struct config_source_type *(*config_source_types_fn)(size_t i);
/*
 * Parses buf as the config file path (used for messages and relative paths);
 * types says which [source] types exist (NULL: none).
 */
struct config *config_parse(const char *path, const char *buf, size_t len,
    config_source_types_fn types, struct diag *d);
/* Reads and parses path; NULL with errors in d. */
struct config *config_load(const char *path, config_source_types_fn types, struct diag *d);
void config_free(struct config *c);
/* Adds brand accounts named on the command line ("a,b,c"): each its own brand. */
void config_add_brand_list(struct config *c, const char *list);
/*
 * Warns about a config that loads but can do nothing yet: no brand, or no
 * input (no [source] and no push token). Not errors: a fresh install is so.
 */
void config_idle_warnings(const struct config *c, struct diag *d);
/* Fills a pipeline config from c. */
void config_pipeline(const struct config *c, struct pipeline_config *pc, int event_clock);

#endif
