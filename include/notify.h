/*
 * systemd's readiness protocol, written against its documented datagram
 * form: a datagram of "KEY=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET ("@" = abstract namespace). Without the variable it is a
 * no-op, so the daemon runs the same by hand.
 */
#ifndef DEFLECTD_NOTIFY_H
#define DEFLECTD_NOTIFY_H

#include <stdint.h>

/* Sends state (e.g. "READY=1"); returns 0, or -1 with errno set. */
int notify_send(const char *state);
/* "RELOADING=1" with the MONOTONIC_USEC systemd wants alongside it. */
int notify_reloading(void);
/* The watchdog interval from $WATCHDOG_USEC (and $WATCHDOG_PID), or 0. */
uint64_t notify_watchdog_usec(void);

#endif
