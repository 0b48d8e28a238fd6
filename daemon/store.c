/*
 * The state database. Statements are prepared once; every write goes
 * through the caller's transaction (store_begin / store_commit), which is
 * how a batch of posts, the case changes they cause and the alerts those
 * raise become durable together or not at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "xmalloc.h"

/* "dfld": marks the file as deflectd's, so a foreign database is refused. */
#define STORE_APP_ID 0x64666c64
/*
 * 2: deliveries.requeued_at, so a requeued alert gets a whole max_age again.
 * 3: outbox.held and outbox.silence_id (an alert kept from every webhook),
 * deliveries.reason and deliveries.digest_id (why a delivery was not sent).
 */
#define STORE_VERSION 3

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS posts ("
    "  platform TEXT NOT NULL, id TEXT NOT NULL, at INTEGER NOT NULL,"
    "  received INTEGER NOT NULL, json TEXT, PRIMARY KEY (platform, id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS posts_pending ON posts (at) WHERE json IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS posts_received ON posts (received);"
    "CREATE TABLE IF NOT EXISTS cases ("
    "  platform TEXT NOT NULL, conversation_id TEXT NOT NULL, customer TEXT NOT NULL,"
    "  post_id TEXT NOT NULL, brand TEXT NOT NULL, state TEXT NOT NULL,"
    "  deflected_at INTEGER NOT NULL, deadline INTEGER NOT NULL, resolved_at INTEGER,"
    "  repeats INTEGER NOT NULL, escalations INTEGER NOT NULL, rule TEXT NOT NULL,"
    "  span_start INTEGER NOT NULL, span_end INTEGER NOT NULL,"
    "  text TEXT, url TEXT, match TEXT,"
    "  PRIMARY KEY (platform, conversation_id, customer, post_id));"
    "CREATE TABLE IF NOT EXISTS evidence ("
    "  platform TEXT NOT NULL, conversation_id TEXT NOT NULL, customer TEXT NOT NULL,"
    "  case_post_id TEXT NOT NULL, post_id TEXT NOT NULL, kind TEXT NOT NULL,"
    "  at INTEGER NOT NULL, rule TEXT, text TEXT, url TEXT,"
    "  PRIMARY KEY (platform, conversation_id, customer, case_post_id, post_id, kind));"
    "CREATE TABLE IF NOT EXISTS deliveries ("
    "  alert_id TEXT NOT NULL, webhook TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,"
    "  last_status INTEGER, last_error TEXT, updated_at INTEGER, requeued_at INTEGER,"
    "  reason TEXT, digest_id TEXT, PRIMARY KEY (alert_id, webhook));"
    "CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (webhook, next_at)"
    "  WHERE state = 'pending';"
    "CREATE TABLE IF NOT EXISTS brand_replies ("
    "  brand TEXT PRIMARY KEY, replies INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS webhook_state ("
    "  name TEXT PRIMARY KEY, disabled_at INTEGER, reason TEXT);"
    "CREATE INDEX IF NOT EXISTS cases_state ON cases (state);"
    "CREATE INDEX IF NOT EXISTS cases_brand ON cases (brand, state);"
    /* The scorecard counts cases and replies over a period, by brand and week. */
    "CREATE INDEX IF NOT EXISTS cases_time ON cases (deflected_at);"
    "CREATE INDEX IF NOT EXISTS cases_brand_time ON cases (brand, deflected_at);"
    "CREATE TABLE IF NOT EXISTS brand_reply_times ("
    "  brand TEXT NOT NULL, at INTEGER NOT NULL, replies INTEGER NOT NULL,"
    "  PRIMARY KEY (brand, at)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS brand_reply_at ON brand_reply_times (at);"
    /* Replies counted before reply times were kept: dated 0, outside every period. */
    "INSERT INTO brand_reply_times (brand, at, replies)"
    "  SELECT brand, 0, replies FROM brand_replies"
    "  WHERE NOT EXISTS (SELECT 1 FROM brand_reply_times);"
    "CREATE TABLE IF NOT EXISTS positions (source TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  id TEXT PRIMARY KEY, type TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  body TEXT NOT NULL, held TEXT, silence_id TEXT);"
    /* Operator verdicts (verdict.c); seq orders them for the daemon to apply. */
    "CREATE TABLE IF NOT EXISTS case_verdicts ("
    "  seq INTEGER PRIMARY KEY, platform TEXT NOT NULL, conversation_id TEXT NOT NULL,"
    "  customer TEXT NOT NULL, post_id TEXT NOT NULL, brand TEXT NOT NULL,"
    "  verdict TEXT NOT NULL, note TEXT NOT NULL, author TEXT NOT NULL, at INTEGER NOT NULL,"
    "  state_before TEXT NOT NULL, label TEXT NOT NULL,"
    "  UNIQUE (platform, conversation_id, customer, post_id));"
    /* Who wrote each post of a case's timeline and the span that matched in it. */
    "CREATE TABLE IF NOT EXISTS case_posts ("
    "  platform TEXT NOT NULL, post_id TEXT NOT NULL, kind TEXT NOT NULL, author TEXT,"
    "  role TEXT, span_start INTEGER, span_end INTEGER,"
    "  PRIMARY KEY (platform, post_id, kind)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS silences ("
    "  id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at INTEGER NOT NULL,"
    "  ends_at INTEGER NOT NULL, comment TEXT NOT NULL, author TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, expired_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS silences_ends ON silences (ends_at);"
    "CREATE TABLE IF NOT EXISTS digests ("
    "  id TEXT PRIMARY KEY, webhook TEXT NOT NULL, group_key TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, send_at INTEGER NOT NULL, sealed_at INTEGER,"
    "  count INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS digests_open ON digests (webhook, group_key)"
    "  WHERE sealed_at IS NULL;"
    "CREATE INDEX IF NOT EXISTS deliveries_digest ON deliveries (digest_id)"
    "  WHERE digest_id IS NOT NULL;";

enum stmt {
	S_POST_ADD, S_POST_DONE, S_POSTS_PENDING, S_POSTS_PRUNE,
	S_CASE_PUT, S_CASES_OPEN, S_CASE_COUNT,
	S_POS_GET, S_POS_SET, S_OUTBOX_ADD, S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_CASE_TEXT, S_CASE_TEXT_GET, S_EVIDENCE_ADD, S_EVIDENCE_GET,
	S_DELIVERY_ADD, S_DELIVERIES_DUE, S_DELIVERY_SET, S_WEBHOOK_DISABLE, S_WEBHOOK_DISABLED,
	S_BRAND_REPLY, S_OUTBOX_HOLD, S_DELIVERY_HELD,
	S_SILENCE_ADD, S_SILENCES_ACTIVE, S_SILENCE_EXPIRE, S_SILENCE_ENDS, S_SILENCES_ALL,
	S_DIGEST_OPEN, S_DIGEST_LAST, S_DIGEST_ADD, S_DIGEST_COUNT, S_DIGESTS_DUE,
	S_DIGEST_MEMBERS, S_DIGEST_SEAL, S_BRAND_REPLY_AT, S_COUNT
};

static const char *sql[S_COUNT] = {
    "INSERT OR IGNORE INTO posts (platform, id, at, json, received)"
    " VALUES (?, ?, ?, ?, strftime('%s', 'now'))",
    "UPDATE posts SET json = NULL WHERE platform = ? AND id = ?",
    "SELECT json FROM posts WHERE json IS NOT NULL ORDER BY at",
    "DELETE FROM posts WHERE json IS NULL AND received < ?",
    "INSERT INTO cases (platform, conversation_id, customer, post_id, brand, state,"
    " deflected_at, deadline, resolved_at, repeats, escalations, rule, span_start, span_end)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, conversation_id, customer, post_id) DO UPDATE SET"
    " state = excluded.state, deadline = excluded.deadline,"
    " resolved_at = excluded.resolved_at, repeats = excluded.repeats,"
    " escalations = excluded.escalations",
    "SELECT platform, conversation_id, customer, post_id, brand, state, deflected_at, deadline,"
    " resolved_at, repeats, escalations, rule, span_start, span_end FROM cases"
    " WHERE state IN ('deflected', 'unresolved')",
    "SELECT count(*) FROM cases WHERE state = ?",
    "SELECT value FROM positions WHERE source = ?",
    "INSERT OR REPLACE INTO positions (source, value) VALUES (?, ?)",
    "INSERT OR IGNORE INTO outbox (id, type, created_at, body) VALUES (?, ?, ?, ?)",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "UPDATE cases SET text = ?5, url = ?6, match = ?7 WHERE platform = ?1 AND"
    " conversation_id = ?2 AND customer = ?3 AND post_id = ?4",
    "SELECT text, url, match FROM cases WHERE platform = ?1 AND conversation_id = ?2 AND"
    " customer = ?3 AND post_id = ?4",
    "INSERT OR IGNORE INTO evidence (platform, conversation_id, customer, case_post_id,"
    " post_id, kind, at, rule, text, url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "SELECT post_id, kind, at, rule, text, url FROM evidence WHERE platform = ?1 AND"
    " conversation_id = ?2 AND customer = ?3 AND case_post_id = ?4 ORDER BY at, post_id"
    " LIMIT 100",
    "INSERT OR IGNORE INTO deliveries (alert_id, webhook, next_at, updated_at)"
    " VALUES (?, ?, ?, ?)",
    "SELECT d.alert_id, o.body, d.attempts, max(o.created_at, coalesce(d.requeued_at, 0))"
    " FROM deliveries d"
    " JOIN outbox o ON o.id = d.alert_id WHERE d.webhook = ? AND d.state = 'pending'"
    " AND d.next_at <= ? ORDER BY d.next_at, o.created_at LIMIT ?",
    "UPDATE deliveries SET state = ?3, attempts = ?4, next_at = ?5, last_status = ?6,"
    " last_error = ?7, updated_at = ?8 WHERE alert_id = ?1 AND webhook = ?2",
    "INSERT OR REPLACE INTO webhook_state (name, disabled_at, reason) VALUES (?, ?, ?)",
    "SELECT reason FROM webhook_state WHERE name = ? AND disabled_at IS NOT NULL",
    "INSERT INTO brand_replies (brand, replies) VALUES (?1, 1)"
    " ON CONFLICT (brand) DO UPDATE SET replies = replies + 1",
    "UPDATE outbox SET held = ?2, silence_id = ?3 WHERE id = ?1",
    "INSERT OR IGNORE INTO deliveries (alert_id, webhook, state, next_at, updated_at, reason,"
    " digest_id) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
    "INSERT INTO silences (id, matchers, starts_at, ends_at, comment, author, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    "SELECT id, matchers FROM silences WHERE starts_at <= ?1 AND ends_at > ?1"
    " ORDER BY created_at, id",
    "UPDATE silences SET ends_at = ?2, starts_at = min(starts_at, ?2), expired_at = ?2"
    " WHERE id = ?1 AND ends_at > ?2",
    "SELECT ends_at FROM silences WHERE id = ?1",
    "SELECT id, matchers, starts_at, ends_at, comment, author, created_at, expired_at"
    " FROM silences ORDER BY created_at, id",
    "SELECT id FROM digests WHERE webhook = ?1 AND group_key = ?2 AND sealed_at IS NULL"
    " AND count < ?3 ORDER BY created_at LIMIT 1",
    "SELECT max(coalesce(sealed_at, send_at)) FROM digests WHERE webhook = ?1"
    " AND group_key = ?2",
    "INSERT INTO digests (id, webhook, group_key, created_at, send_at) VALUES (?, ?, ?, ?, ?)",
    "UPDATE digests SET count = count + 1 WHERE id = ?1",
    "SELECT id, group_key FROM digests WHERE webhook = ?1 AND sealed_at IS NULL"
    " AND send_at <= ?2 ORDER BY send_at, id LIMIT ?3",
    "SELECT o.body FROM deliveries d JOIN outbox o ON o.id = d.alert_id"
    " WHERE d.webhook = ?1 AND d.digest_id = ?2 ORDER BY o.created_at, o.id",
    "UPDATE digests SET sealed_at = ?2 WHERE id = ?1",
    "INSERT INTO brand_reply_times (brand, at, replies) VALUES (?1, ?2, 1)"
    " ON CONFLICT (brand, at) DO UPDATE SET replies = replies + 1",
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[S_COUNT];
	/* Writes fail until a commit succeeds: a failure is logged once, not per post. */
	int failing;
	char error[256];
	int txn_failed; /* a write of the open transaction failed: it must not commit */
	int nested;     /* store_begin inside an open transaction: a savepoint */
};

const char *
store_path(const struct store *st)
{
	return st->path;
}

/* Runs a statement that returns one integer; -1 on error. */
static int64_t
pragma_int(sqlite3 *db, const char *q)
{
	sqlite3_stmt *s;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Checks that the file is deflectd's and sound, or makes it so when new. */
static int
check_file(struct store *st, char *err, size_t errlen)
{
	sqlite3 *db = st->db;
	int64_t app, ver, tables;
	char *msg = NULL;

	app = pragma_int(db, "PRAGMA application_id");
	if (app < 0) {
		snprintf(err, errlen,
		    "%s: %s; it is not a deflectd state database (move it aside, or point "
		    "state_dir at another directory)", st->path, sqlite3_errmsg(db));
		return -1;
	}
	tables = pragma_int(db, "SELECT count(*) FROM sqlite_master");
	if (app != STORE_APP_ID && (app != 0 || tables > 0)) {
		snprintf(err, errlen,
		    "%s: an SQLite database of another application (application_id 0x%llx); "
		    "deflectd will not touch it (move it aside, or point state_dir elsewhere)",
		    st->path, (unsigned long long)app);
		return -1;
	}
	ver = pragma_int(db, "PRAGMA user_version");
	if (ver > STORE_VERSION) {
		snprintf(err, errlen, "%s: written by a newer deflectd (schema %lld, this one "
		    "knows %d); run the newer version", st->path, (long long)ver, STORE_VERSION);
		return -1;
	}
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);

		if (r == NULL || strcmp(r, "ok") != 0) {
			snprintf(err, errlen, "%s: damaged (%s); restore it from a backup or move "
			    "it aside to start with empty state", st->path, r ? r : "?");
			sqlite3_finalize(s);
			return -1;
		}
	} else {
		snprintf(err, errlen, "%s: cannot check: %s (restore it from a backup or move "
		    "it aside)", st->path, sqlite3_errmsg(db));
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	/*
	 * Schema 1 lacks what 2 added (CREATE IF NOT EXISTS below keeps old
	 * tables); the column and the version change in one transaction, so a
	 * crash between them cannot leave a file no start can open.
	 */
	if (ver == 1 && sqlite3_exec(db, "BEGIN IMMEDIATE; ALTER TABLE deliveries ADD COLUMN "
	    "requeued_at INTEGER; PRAGMA user_version = 2; COMMIT;", NULL, NULL, &msg) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		snprintf(err, errlen, "%s: upgrading the schema: %s", st->path,
		    msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	if ((ver == 1 || ver == 2) && sqlite3_exec(db, "BEGIN IMMEDIATE;"
	    " ALTER TABLE outbox ADD COLUMN held TEXT; ALTER TABLE outbox ADD COLUMN silence_id TEXT;"
	    " ALTER TABLE deliveries ADD COLUMN reason TEXT;"
	    " ALTER TABLE deliveries ADD COLUMN digest_id TEXT;"
	    " PRAGMA user_version = 3; COMMIT;", NULL, NULL, &msg) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		snprintf(err, errlen, "%s: upgrading the schema: %s", st->path,
		    msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	if (sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", NULL, NULL,
	    &msg) != SQLITE_OK || sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", st->path, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	char set[96];
	snprintf(set, sizeof set, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
	    STORE_APP_ID, STORE_VERSION);
	if (sqlite3_exec(db, set, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", st->path, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * SQLite takes a 0-byte file for a new, empty database. Unless a WAL beside
 * it holds the data, that file was made and never written, or was truncated:
 * say so rather than start from nothing in silence.
 */
static void
warn_if_emptied(const char *path)
{
	struct stat sb, wal;
	char *walpath = xasprintf("%s-wal", path);

	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0 &&
	    (stat(walpath, &wal) != 0 || wal.st_size == 0))
		log_warnx("%s is empty (0 bytes): starting with empty state; if it held cases "
		    "and alerts, stop deflectd and restore it from a backup", path);
	free(walpath);
}

struct store *
store_open(const char *dir, char *err, size_t errlen)
{
	struct store *st = xcalloc(1, sizeof *st);

	st->path = dir ? xasprintf("%s/deflectd.db", dir) : xstrdup(":memory:");
	warn_if_emptied(st->path);
	if (sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", st->path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		store_close(st);
		return NULL;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (check_file(st, err, errlen) != 0) {
		store_close(st);
		return NULL;
	}
	for (int i = 0; i < S_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->st[i],
		    NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(st->db));
			store_close(st);
			return NULL;
		}
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->st[i]);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

/* Steps a write statement to completion and resets it; logs a failure. */
static int
run(struct store *st, enum stmt k)
{
	sqlite3_stmt *s = st->st[k];
	int rc;

	/*
	 * SQLITE_FULL and SQLITE_IOERR may roll the whole transaction back;
	 * what followed would then commit statement by statement. After a
	 * failure nothing runs until the caller has rolled back.
	 */
	if (st->txn_failed && k != S_ROLLBACK) {
		sqlite3_clear_bindings(s);
		return -1;
	}
	rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		snprintf(st->error, sizeof st->error, "%s", sqlite3_errmsg(st->db));
		if (!st->failing)
			log_warnx("%s: %s: %s", st->path, sql[k], st->error);
		st->failing = 1;
		st->txn_failed = 1;
		return -1;
	}
	return 0;
}

void
store_set_max_size(struct store *st, int64_t bytes)
{
	int64_t page = pragma_int(st->db, "PRAGMA page_size");
	char q[64];

	/* SQLite's largest page count, 4294967294, is "no limit". */
	snprintf(q, sizeof q, "PRAGMA max_page_count = %lld",
	    bytes > 0 && page > 0 ? (long long)(bytes / page) : 4294967294LL);
	sqlite3_exec(st->db, q, NULL, NULL, NULL);
}

const char *
store_error(const struct store *st)
{
	return st->failing ? st->error : NULL;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Runs a savepoint statement; its failure poisons the transaction around it. */
static int
savepoint(struct store *st, const char *q)
{
	if (sqlite3_exec(st->db, q, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	snprintf(st->error, sizeof st->error, "%s", sqlite3_errmsg(st->db));
	st->txn_failed = 1;
	return -1;
}

int
store_begin(struct store *st)
{
	/*
	 * A push is processed in slices, its transaction open across loop
	 * turns; webhook outcomes recorded meanwhile join it as a savepoint
	 * (at worst, should it roll back, an alert is sent again).
	 */
	if (!sqlite3_get_autocommit(st->db)) {
		if (st->txn_failed || savepoint(st, "SAVEPOINT nested") != 0)
			return -1;
		st->nested++;
		return 0;
	}
	st->txn_failed = 0;
	return run(st, S_BEGIN);
}

int
store_in_transaction(const struct store *st)
{
	return !sqlite3_get_autocommit(st->db);
}

int
store_commit(struct store *st)
{
	if (st->nested > 0) {
		if (st->txn_failed || savepoint(st, "RELEASE nested") != 0) {
			store_rollback(st);
			return -1;
		}
		st->nested--;
		return 0;
	}
	/*
	 * A failed statement is undone alone and the transaction stays open;
	 * committing the rest would keep a batch's posts without the cases
	 * they opened. A failed commit is rolled back here, for every caller.
	 */
	if (st->txn_failed || run(st, S_COMMIT) != 0) {
		store_rollback(st);
		return -1;
	}
	if (st->failing)
		log_notice("%s: writes succeed again", st->path);
	st->failing = 0;
	return 0;
}

void
store_rollback(struct store *st)
{
	if (st->nested > 0) {
		st->nested--;
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK TO nested; RELEASE nested", NULL, NULL, NULL);
		return;
	}
	/* SQLITE_FULL and SQLITE_IOERR may already have rolled the transaction back. */
	if (!sqlite3_get_autocommit(st->db))
		run(st, S_ROLLBACK);
	st->txn_failed = 0;
}

int
store_post_add(struct store *st, const char *platform, const char *id, int64_t at,
    const char *json, size_t len)
{
	sqlite3_stmt *s = st->st[S_POST_ADD];

	bind_text(s, 1, platform);
	bind_text(s, 2, id);
	sqlite3_bind_int64(s, 3, at);
	sqlite3_bind_text(s, 4, json, (int)len, SQLITE_STATIC);
	if (run(st, S_POST_ADD) != 0)
		return -1;
	return sqlite3_changes(st->db) > 0;
}

int
store_post_done(struct store *st, const char *platform, const char *id)
{
	bind_text(st->st[S_POST_DONE], 1, platform);
	bind_text(st->st[S_POST_DONE], 2, id);
	return run(st, S_POST_DONE);
}

int
store_posts_pending(struct store *st, void (*fn)(void *arg, const char *json, size_t len),
    void *arg)
{
	sqlite3_stmt *s = st->st[S_POSTS_PENDING];
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0));
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: reading pending posts: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int
store_posts_prune(struct store *st, int64_t before)
{
	sqlite3_bind_int64(st->st[S_POSTS_PRUNE], 1, before);
	return run(st, S_POSTS_PRUNE);
}

int
store_case_put(struct store *st, const struct tcase *c)
{
	sqlite3_stmt *s = st->st[S_CASE_PUT];

	bind_text(s, 1, c->platform);
	bind_text(s, 2, c->conversation_id);
	bind_text(s, 3, c->customer);
	bind_text(s, 4, c->post_id ? c->post_id : "");
	bind_text(s, 5, c->brand ? c->brand : "");
	bind_text(s, 6, case_state_name(c->state));
	sqlite3_bind_int64(s, 7, c->deflected_at);
	sqlite3_bind_int64(s, 8, c->deadline);
	if (c->resolved_at)
		sqlite3_bind_int64(s, 9, c->resolved_at);
	else
		sqlite3_bind_null(s, 9);
	sqlite3_bind_int64(s, 10, c->repeats);
	sqlite3_bind_int64(s, 11, c->escalations);
	bind_text(s, 12, c->rule ? c->rule : "");
	sqlite3_bind_int64(s, 13, (int64_t)c->start);
	sqlite3_bind_int64(s, 14, (int64_t)c->end);
	return run(st, S_CASE_PUT);
}

int
store_cases_open(struct store *st, void (*fn)(void *arg, const struct tcase *c), void *arg)
{
	sqlite3_stmt *s = st->st[S_CASES_OPEN];
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct tcase c;

		memset(&c, 0, sizeof c);
		c.platform = (char *)sqlite3_column_text(s, 0);
		c.conversation_id = (char *)sqlite3_column_text(s, 1);
		c.customer = (char *)sqlite3_column_text(s, 2);
		c.post_id = (char *)sqlite3_column_text(s, 3);
		c.brand = (char *)sqlite3_column_text(s, 4);
		c.state = strcmp((const char *)sqlite3_column_text(s, 5), "unresolved") == 0
		    ? CASE_UNRESOLVED : CASE_DEFLECTED;
		c.deflected_at = sqlite3_column_int64(s, 6);
		c.deadline = sqlite3_column_int64(s, 7);
		c.resolved_at = sqlite3_column_int64(s, 8);
		c.repeats = (unsigned)sqlite3_column_int64(s, 9);
		c.escalations = (unsigned)sqlite3_column_int64(s, 10);
		c.rule = (char *)sqlite3_column_text(s, 11);
		c.start = (size_t)sqlite3_column_int64(s, 12);
		c.end = (size_t)sqlite3_column_int64(s, 13);
		fn(arg, &c);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: reading cases: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int
store_case_count(struct store *st, const char *state)
{
	sqlite3_stmt *s = st->st[S_CASE_COUNT];
	int n = -1;

	bind_text(s, 1, state);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return n;
}

char *
store_position_get(struct store *st, const char *source)
{
	sqlite3_stmt *s = st->st[S_POS_GET];
	char *v = NULL;

	bind_text(s, 1, source);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return v;
}

int
store_position_set(struct store *st, const char *source, const char *value)
{
	bind_text(st->st[S_POS_SET], 1, source);
	bind_text(st->st[S_POS_SET], 2, value);
	return run(st, S_POS_SET);
}

int
store_outbox_add(struct store *st, const char *id, const char *type, int64_t at,
    const char *body)
{
	sqlite3_stmt *s = st->st[S_OUTBOX_ADD];

	bind_text(s, 1, id);
	bind_text(s, 2, type);
	sqlite3_bind_int64(s, 3, at);
	bind_text(s, 4, body);
	return run(st, S_OUTBOX_ADD);
}

/* Binds a case's key columns as ?1..?4. */
static void
bind_case_key(sqlite3_stmt *s, const struct tcase *c)
{
	bind_text(s, 1, c->platform);
	bind_text(s, 2, c->conversation_id);
	bind_text(s, 3, c->customer);
	bind_text(s, 4, c->post_id ? c->post_id : "");
}

int
store_case_text_set(struct store *st, const struct tcase *c, const char *text, const char *url,
    const char *match)
{
	sqlite3_stmt *s = st->st[S_CASE_TEXT];

	bind_case_key(s, c);
	bind_text(s, 5, text);
	bind_text(s, 6, url);
	bind_text(s, 7, match);
	return run(st, S_CASE_TEXT);
}

/* Duplicates a column, NULL staying NULL. */
static char *
col_dup(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	return v ? xstrdup(v) : NULL;
}

int
store_case_text_get(struct store *st, const struct tcase *c, char **text, char **url,
    char **match)
{
	sqlite3_stmt *s = st->st[S_CASE_TEXT_GET];
	int rc;

	*text = *url = *match = NULL;
	bind_case_key(s, c);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*text = col_dup(s, 0);
		*url = col_dup(s, 1);
		*match = col_dup(s, 2);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
store_evidence_add(struct store *st, const struct tcase *c, const char *post_id,
    const char *kind, int64_t at, const char *rule, const char *text, const char *url)
{
	sqlite3_stmt *s = st->st[S_EVIDENCE_ADD];

	bind_case_key(s, c);
	bind_text(s, 5, post_id);
	bind_text(s, 6, kind);
	sqlite3_bind_int64(s, 7, at);
	bind_text(s, 8, rule);
	bind_text(s, 9, text);
	bind_text(s, 10, url);
	return run(st, S_EVIDENCE_ADD);
}

int
store_evidence_each(struct store *st, const struct tcase *c,
    void (*fn)(void *arg, const struct store_evidence *e), void *arg)
{
	sqlite3_stmt *s = st->st[S_EVIDENCE_GET];
	int rc;

	bind_case_key(s, c);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_evidence e = {
		    (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
		    sqlite3_column_int64(s, 2), (const char *)sqlite3_column_text(s, 3),
		    (const char *)sqlite3_column_text(s, 4), (const char *)sqlite3_column_text(s, 5)};

		fn(arg, &e);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_delivery_add(struct store *st, const char *alert_id, const char *webhook, int64_t now)
{
	sqlite3_stmt *s = st->st[S_DELIVERY_ADD];

	bind_text(s, 1, alert_id);
	bind_text(s, 2, webhook);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, now);
	return run(st, S_DELIVERY_ADD);
}

int
store_deliveries_due(struct store *st, const char *webhook, int64_t now, int limit,
    void (*fn)(void *arg, const char *alert_id, const char *body, int attempts,
	int64_t created_at),
    void *arg)
{
	sqlite3_stmt *s = st->st[S_DELIVERIES_DUE];
	int rc;

	bind_text(s, 1, webhook);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1), sqlite3_column_int(s, 2),
		    sqlite3_column_int64(s, 3));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_delivery_set(struct store *st, const char *alert_id, const char *webhook,
    const char *state, int attempts, int64_t next_at, long status, const char *error,
    int64_t now)
{
	sqlite3_stmt *s = st->st[S_DELIVERY_SET];

	bind_text(s, 1, alert_id);
	bind_text(s, 2, webhook);
	bind_text(s, 3, state);
	sqlite3_bind_int(s, 4, attempts);
	sqlite3_bind_int64(s, 5, next_at);
	if (status > 0)
		sqlite3_bind_int64(s, 6, status);
	else
		sqlite3_bind_null(s, 6);
	bind_text(s, 7, error);
	sqlite3_bind_int64(s, 8, now);
	return run(st, S_DELIVERY_SET);
}

int
store_webhook_disable(struct store *st, const char *name, int64_t at, const char *reason)
{
	sqlite3_stmt *s = st->st[S_WEBHOOK_DISABLE];

	bind_text(s, 1, name);
	sqlite3_bind_int64(s, 2, at);
	bind_text(s, 3, reason);
	return run(st, S_WEBHOOK_DISABLE);
}

char *
store_webhook_disabled(struct store *st, const char *name)
{
	sqlite3_stmt *s = st->st[S_WEBHOOK_DISABLED];
	char *v = NULL;

	bind_text(s, 1, name);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = col_dup(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return v ? v : NULL;
}

int
store_exec(struct store *st, const char *q)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, q, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("%s: %s", st->path, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return sqlite3_changes(st->db);
}

int
store_rows(struct store *st, const char *q, const char *arg, const char *arg2,
    void (*fn)(void *cbarg, int ncol, const char *const *vals), void *cbarg)
{
	const struct store_arg args[2] = {STORE_TEXT(arg), STORE_TEXT(arg2)};

	return store_query(st, q, args, arg2 != NULL ? 2 : arg != NULL ? 1 : 0, fn, cbarg);
}

int
store_write(struct store *st, const char *q, const char *const *args, int nargs)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, q, -1, &s, NULL) != SQLITE_OK) {
		log_warnx("%s: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	for (int i = 0; i < nargs; i++)
		bind_text(s, i + 1, args[i]);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_warnx("%s: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	return sqlite3_changes(st->db);
}

int
store_brand_reply(struct store *st, const char *brand, int64_t at)
{
	bind_text(st->st[S_BRAND_REPLY], 1, brand);
	if (run(st, S_BRAND_REPLY) != 0)
		return -1;
	bind_text(st->st[S_BRAND_REPLY_AT], 1, brand);
	sqlite3_bind_int64(st->st[S_BRAND_REPLY_AT], 2, at);
	return run(st, S_BRAND_REPLY_AT);
}

int
store_query(struct store *st, const char *q, const struct store_arg *args, int nargs,
    void (*fn)(void *cbarg, int ncol, const char *const *vals), void *cbarg)
{
	sqlite3_stmt *s;
	const char *vals[24];
	int rc;

	if (sqlite3_prepare_v2(st->db, q, -1, &s, NULL) != SQLITE_OK) {
		log_warnx("%s: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	for (int i = 0; i < nargs && i < sqlite3_bind_parameter_count(s); i++) {
		if (args[i].text != NULL)
			sqlite3_bind_text(s, i + 1, args[i].text, -1, SQLITE_STATIC);
		else if (args[i].is_int)
			sqlite3_bind_int64(s, i + 1, args[i].i);
		else
			sqlite3_bind_null(s, i + 1);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int n = sqlite3_column_count(s);

		if (n > 24)
			n = 24;
		for (int i = 0; i < n; i++)
			vals[i] = (const char *)sqlite3_column_text(s, i);
		if (fn != NULL)
			fn(cbarg, n, vals);
	}
	if (rc != SQLITE_DONE)
		log_warnx("%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_outbox_hold(struct store *st, const char *id, const char *held, const char *silence_id)
{
	sqlite3_stmt *s = st->st[S_OUTBOX_HOLD];

	bind_text(s, 1, id);
	bind_text(s, 2, held);
	bind_text(s, 3, silence_id);
	return run(st, S_OUTBOX_HOLD);
}

int
store_delivery_held(struct store *st, const char *alert_id, const char *webhook,
    const char *state, const char *reason, const char *digest_id, int64_t now)
{
	sqlite3_stmt *s = st->st[S_DELIVERY_HELD];

	bind_text(s, 1, alert_id);
	bind_text(s, 2, webhook);
	bind_text(s, 3, state);
	sqlite3_bind_int64(s, 4, now);
	bind_text(s, 5, reason);
	bind_text(s, 6, digest_id);
	return run(st, S_DELIVERY_HELD);
}

int
store_silence_add(struct store *st, const struct store_silence *sl)
{
	sqlite3_stmt *s = st->st[S_SILENCE_ADD];

	bind_text(s, 1, sl->id);
	bind_text(s, 2, sl->matchers);
	sqlite3_bind_int64(s, 3, sl->starts_at);
	sqlite3_bind_int64(s, 4, sl->ends_at);
	bind_text(s, 5, sl->comment);
	bind_text(s, 6, sl->author);
	sqlite3_bind_int64(s, 7, sl->created_at);
	return run(st, S_SILENCE_ADD);
}

int
store_silences_active(struct store *st, int64_t now,
    int (*fn)(void *arg, const char *id, const char *matchers), void *arg)
{
	sqlite3_stmt *s = st->st[S_SILENCES_ACTIVE];
	int rc, stop = 0;

	sqlite3_bind_int64(s, 1, now);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
		stop = fn(arg, (const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return stop || rc == SQLITE_DONE ? 0 : -1;
}

int
store_silence_expire(struct store *st, const char *id, int64_t now)
{
	sqlite3_stmt *s = st->st[S_SILENCE_ENDS];
	int rc;

	bind_text(st->st[S_SILENCE_EXPIRE], 1, id);
	sqlite3_bind_int64(st->st[S_SILENCE_EXPIRE], 2, now);
	if (run(st, S_SILENCE_EXPIRE) != 0)
		return -1;
	if (sqlite3_changes(st->db) > 0)
		return 1;
	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -2 : -1;
}

int
store_silences_each(struct store *st, void (*fn)(void *arg, const struct store_silence *sl),
    void *arg)
{
	sqlite3_stmt *s = st->st[S_SILENCES_ALL];
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_silence sl = {
		    (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
		    sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
		    (const char *)sqlite3_column_text(s, 4), (const char *)sqlite3_column_text(s, 5),
		    sqlite3_column_int64(s, 6), sqlite3_column_int64(s, 7)};

		fn(arg, &sl);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

char *
store_digest_open(struct store *st, const char *webhook, const char *key, int max)
{
	sqlite3_stmt *s = st->st[S_DIGEST_OPEN];
	char *id = NULL;

	bind_text(s, 1, webhook);
	bind_text(s, 2, key);
	sqlite3_bind_int(s, 3, max);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = col_dup(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return id;
}

int64_t
store_digest_last(struct store *st, const char *webhook, const char *key)
{
	sqlite3_stmt *s = st->st[S_DIGEST_LAST];
	int64_t v = 0;

	bind_text(s, 1, webhook);
	bind_text(s, 2, key);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return v;
}

int
store_digest_add(struct store *st, const char *id, const char *webhook, const char *key,
    int64_t now, int64_t send_at)
{
	sqlite3_stmt *s = st->st[S_DIGEST_ADD];

	bind_text(s, 1, id);
	bind_text(s, 2, webhook);
	bind_text(s, 3, key);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, send_at);
	return run(st, S_DIGEST_ADD);
}

int
store_digest_count(struct store *st, const char *id)
{
	bind_text(st->st[S_DIGEST_COUNT], 1, id);
	return run(st, S_DIGEST_COUNT);
}

int
store_digests_due(struct store *st, const char *webhook, int64_t now, int limit,
    void (*fn)(void *arg, const char *id, const char *key), void *arg)
{
	sqlite3_stmt *s = st->st[S_DIGESTS_DUE];
	int rc;

	bind_text(s, 1, webhook);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_digest_members(struct store *st, const char *webhook, const char *id,
    void (*fn)(void *arg, const char *body), void *arg)
{
	sqlite3_stmt *s = st->st[S_DIGEST_MEMBERS];
	int rc;

	bind_text(s, 1, webhook);
	bind_text(s, 2, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_digest_seal(struct store *st, const char *id, int64_t now)
{
	bind_text(st->st[S_DIGEST_SEAL], 1, id);
	sqlite3_bind_int64(st->st[S_DIGEST_SEAL], 2, now);
	return run(st, S_DIGEST_SEAL);
}
