/* stderr logging with journald priority prefixes; one line per call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The level is set once at start-up, before the loop; it is not state that changes. */
static int log_verbose;

void
log_init(int verbose)
{
	log_verbose = verbose;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

/* Writes one line at priority prio; err adds ": strerror(err)". */
static void
vlog(int prio, int err, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof msg, fmt, ap);
	/* One line per record: journald would split an embedded newline. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (err)
		fprintf(stderr, "<%d>%s: %s\n", prio, msg, strerror(err));
	else
		fprintf(stderr, "<%d>%s\n", prio, msg);
}

void
log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(3, err, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(3, 0, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(5, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(6, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(7, 0, fmt, ap);
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
