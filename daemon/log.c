/* stderr logging with journald priority prefixes; one line per call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

/*
 * Set at start-up and on reload, from the loop only: the highest priority
 * number written, and whether stderr is the journal (which stamps lines
 * itself) or a terminal or file (which needs a time on each line).
 */
static int log_max = LOG_LEVEL_INFO;
static int log_stamp;

/* True when $JOURNAL_STREAM names stderr's device and inode, as systemd sets it. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(int verbose)
{
	log_max = verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
	log_stamp = !stderr_is_journal();
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void
log_set_level(int level)
{
	if (level >= LOG_LEVEL_ERROR && level <= LOG_LEVEL_DEBUG)
		log_max = level;
}

/* Writes one line at priority prio; err adds ": strerror(err)". */
static void
vlog(int prio, int err, const char *fmt, va_list ap)
{
	char msg[2048], stamp[40] = "";

	if (prio > log_max && prio > LOG_LEVEL_ERROR)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* One line per record: journald would split an embedded newline. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_stamp) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + strlen(stamp), sizeof stamp - strlen(stamp), ".%03ldZ ",
		    ts.tv_nsec / 1000000);
	}
	if (err)
		fprintf(stderr, "%s<%d>%s: %s\n", stamp, prio, msg, strerror(err));
	else
		fprintf(stderr, "%s<%d>%s\n", stamp, prio, msg);
}

void
log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, err, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
}

void
log_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_NOTICE, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(2, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
