/*
 * srv_acctwatch.h — follows account changes made by any process (disable,
 * role, revoked sessions) and closes the open connections they concern
 * within a second (srv_acctwatch.c).
 */
#ifndef SRV_ACCTWATCH_H
#define SRV_ACCTWATCH_H

#include "srv_int.h"

/* Loop, once lws runs: notes where the change records stand, makes the
 * `account.changed` frame (s->changed_frame, released with the server) and
 * starts polling. Returns 0, or -1 (logged). */
int srv_acctwatch_start(srv *s);

#endif
