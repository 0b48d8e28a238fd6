/*
 * Logging to stderr with journald priority prefixes ("<3>" ... "<7>"), in
 * the OpenBSD daemons' shape. Only the daemon's outer layers log; the core
 * returns errors instead.
 */
#ifndef DEFLECTD_LOG_H
#define DEFLECTD_LOG_H

#include <stdarg.h>

/* verbose: 0 info and up, 1 adds debug. */
void log_init(int verbose);
/* An error with strerror(errno) appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs at critical priority and exits 1. */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
