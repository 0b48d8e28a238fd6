/*
 * Logging to stderr with journald priority prefixes ("<3>" ... "<7>"), in
 * the OpenBSD daemons' shape. Only the daemon's outer layers log; the core
 * returns errors instead.
 */
#ifndef DEFLECTD_LOG_H
#define DEFLECTD_LOG_H

#include <stdarg.h>

/* Priorities, as journald and syslog number them. */
#define LOG_LEVEL_ERROR   3
#define LOG_LEVEL_WARNING 4
#define LOG_LEVEL_NOTICE  5
#define LOG_LEVEL_INFO    6
#define LOG_LEVEL_DEBUG   7

/* verbose: 0 info and up, 1 adds debug. Time-stamps lines unless stderr is the journal. */
void log_init(int verbose);
/* Writes only lines at level or more urgent (errors always). */
void log_set_level(int level);
/* An error with strerror(errno) appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Something went wrong that deflectd handles (a retry, a skipped input line). */
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs at critical priority and exits 1. */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
