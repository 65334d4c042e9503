/*
 * srv_clock.h — the one timer for everything due at a time: scheduled
 * reminders and the destruction of burn-after-reading messages
 * (srv_clock.c).
 */
#ifndef SRV_CLOCK_H
#define SRV_CLOCK_H

#include "srv_int.h"

/* Loop, once lws runs: the first tick at once (what came due while the
 * server was down fires now, marked late), then every second. */
int srv_clock_start(srv *s);

#endif
