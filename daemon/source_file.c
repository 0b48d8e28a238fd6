/*
 * The file source. Bytes past the saved offset are only acknowledged (the
 * offset moved) in the same transaction that stores the posts they held, so
 * a crash re-reads exactly what was not yet durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "source.h"
#include "log.h"
#include "reader.h"
#include "source_file.h"
#include "xmalloc.h"

#define READ_CHUNK 65536
/* How often a quiet file is looked at again. */
#define POLL_MS 250

struct source_file {
	struct ingest *in;
	char *name;
	char *path;
	char *posname; /* key of the saved position */
	struct source_stats *stats;
	int fd;
	ino_t ino;
	off_t offset;   /* end of the last acknowledged line */
	uint64_t line;  /* lines acknowledged */
	struct buf pending; /* bytes read past offset: an unfinished line */
	int skipping;   /* inside a line longer than the cap */
	struct event *ev;
};

/* Saves "inode:offset:line" in the open transaction. */
static int
save_position(struct source_file *s)
{
	char v[96];

	snprintf(v, sizeof v, "%ju:%jd:%" PRIu64, (uintmax_t)s->ino, (intmax_t)s->offset, s->line);
	return ingest_position_set(s->in, s->posname, v);
}

/* Opens the file, at the saved offset when it is the same file as before. */
static void
open_file(struct source_file *s)
{
	struct stat sb;
	char *pos;
	uintmax_t ino = 0;
	intmax_t off = 0;
	uint64_t line = 0;

	if ((s->fd = open(s->path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	fstat(s->fd, &sb);
	s->ino = sb.st_ino;
	s->offset = 0;
	s->line = 0;
	buf_reset(&s->pending);
	s->skipping = 0;
	pos = ingest_position(s->in, s->posname);
	if (pos != NULL && sscanf(pos, "%ju:%jd:%" SCNu64, &ino, &off, &line) == 3 &&
	    ino == (uintmax_t)sb.st_ino && off <= (intmax_t)sb.st_size) {
		s->offset = (off_t)off;
		s->line = line;
		lseek(s->fd, s->offset, SEEK_SET);
		log_info("source %s: %s from offset %jd (line %" PRIu64 ")", s->name, s->path, off,
		    line);
	} else {
		if (pos != NULL)
			log_notice("source %s: %s is a new file; reading from its start", s->name,
			    s->path);
		log_info("source %s: following %s", s->name, s->path);
	}
	free(pos);
}

/* Hands every complete line of the pending bytes in as one batch. */
static void
consume(struct source_file *s)
{
	char *p = s->pending.s, *end = p + s->pending.len, *nl;
	off_t offset = s->offset;
	uint64_t line = s->line;
	int failed = 0, any = 0;

	if (ingest_begin(s->in) != 0)
		return;
	while (!failed && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size_t n = (size_t)(nl - p);
		char err[256];

		line++;
		any = 1;
		if (s->skipping) {
			s->skipping = 0;
		} else {
			if (n > 0 && p[n - 1] == '\r')
				n--;
			if (n > 0) {
				int rc = ingest_line(s->in, p, n, err, sizeof err);

				if (rc == -2)
					failed = 1;
				else if (rc == -1)
					log_warning("%s:%" PRIu64 ": %s", s->path, line, err);
			}
		}
		offset += (off_t)(nl - p) + 1;
		p = nl + 1;
	}
	if (!failed && any) {
		off_t old_offset = s->offset;
		uint64_t old_line = s->line;

		s->offset = offset;
		s->line = line;
		if (save_position(s) != 0)
			failed = 1;
		if (failed) {
			s->offset = old_offset;
			s->line = old_line;
		}
	}
	if (ingest_end(s->in, !failed) != 0) {
		/* Nothing was kept: read those bytes again next time. */
		lseek(s->fd, s->offset, SEEK_SET);
		buf_reset(&s->pending);
		return;
	}
	/* Keep only the unfinished line. */
	size_t rest = (size_t)(end - p);
	memmove(s->pending.s, p, rest);
	s->pending.len = rest;
	s->pending.s[rest] = '\0';
	if (rest > READER_DEFAULT_MAX && !s->skipping) {
		log_warning("%s:%" PRIu64 ": line longer than %d bytes", s->path, s->line + 1,
		    READER_DEFAULT_MAX);
		s->skipping = 1;
	}
	if (s->skipping) {
		/* The overlong line's bytes count as read but are never buffered whole. */
		s->offset += (off_t)rest;
		s->pending.len = 0;
	}
}

/* Reads what was appended; notices rotation and truncation. */
static void
poll_file(struct source_file *s)
{
	char chunk[READ_CHUNK];
	struct stat sb, now;
	ssize_t n;

	if (s->fd < 0) {
		open_file(s);
		if (s->fd < 0)
			return;
	}
	while ((n = read(s->fd, chunk, sizeof chunk)) > 0) {
		buf_add(&s->pending, chunk, (size_t)n);
		consume(s);
	}
	if (n < 0) {
		log_warn("source %s: %s", s->name, s->path);
		return;
	}
	/* At the end of what we have: has the path moved on? */
	if (fstat(s->fd, &sb) != 0)
		return;
	if (stat(s->path, &now) != 0 || now.st_ino != sb.st_ino) {
		/* Rotated: the old file is drained; the new one starts at 0. */
		if (stat(s->path, &now) == 0) {
			log_info("source %s: %s was rotated", s->name, s->path);
			close(s->fd);
			s->fd = -1;
		}
		return;
	}
	if (sb.st_size < s->offset + (off_t)s->pending.len) {
		log_notice("source %s: %s was truncated; reading from its start", s->name, s->path);
		lseek(s->fd, 0, SEEK_SET);
		s->offset = 0;
		s->line = 0;
		buf_reset(&s->pending);
		s->skipping = 0;
	}
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	poll_file(arg);
}

void *
source_file_start(const struct config_section *sec, struct ingest *in, char *err,
    size_t errlen)
{
	const struct config *cfg = ingest_config(in);
	const char *path = config_value(sec, "path"), *fmt = config_value(sec, "format");
	struct source_file *s;

	if (path == NULL) {
		snprintf(err, errlen, "%s:%d: [source %s] needs a path", cfg->path, sec->line,
		    sec->name);
		return NULL;
	}
	if (fmt != NULL && strcmp(fmt, "native") != 0) {
		snprintf(err, errlen, "%s:%d: [source %s]: format %s is not supported for file "
		    "sources yet (native only)", cfg->path, sec->line, sec->name, fmt);
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->in = in;
	s->name = xstrdup(sec->name);
	s->path = path[0] == '/' || cfg->path == NULL || strrchr(cfg->path, '/') == NULL
	    ? xstrdup(path)
	    : xasprintf("%.*s/%s", (int)(strrchr(cfg->path, '/') - cfg->path), cfg->path, path);
	s->posname = xasprintf("file:%s", sec->name);
	s->stats = ingest_stats(in);
	s->fd = -1;
	s->ev = event_new(ingest_base(in), -1, EV_PERSIST, on_poll, s);
	struct timeval tv = {0, POLL_MS * 1000};
	event_add(s->ev, &tv);
	poll_file(s);
	return s;
}

void
source_file_stop(void *src)
{
	struct source_file *s = src;

	event_free(s->ev);
	if (s->fd >= 0)
		close(s->fd);
	buf_free(&s->pending);
	free(s->name);
	free(s->path);
	free(s->posname);
	free(s);
}
