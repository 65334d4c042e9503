/*
 * srv_rate.h — rate limits: requests per second per session (token bucket)
 * and login failures per account and per address (lockout).
 *
 * Thread-safe (one mutex; every call is a hash lookup and a few
 * arithmetic operations). Time is passed in (milliseconds) so tests drive
 * it. Memory is bounded: idle entries are pruned as the table grows, and
 * past `max_entries` new keys are refused service conservatively (a login
 * from an unseen address is then treated as locked) rather than growing.
 *
 * Login limits count failures per login name whether or not the account
 * exists, so a locked unknown name and a locked real account look the same.
 */
#ifndef SRV_RATE_H
#define SRV_RATE_H

#include "srv_config.h"

#include <stdint.h>

typedef struct srv_rate srv_rate;

/* NULL when out of memory. The limits are copied. */
srv_rate *srv_rate_new(const srv_limits *lim, const srv_login_limits *login, size_t max_entries);
void srv_rate_free(srv_rate *r);

/* Takes one token of the session's bucket. Returns 0 when allowed, else the
 * seconds to wait (>= 1, for Retry-After). */
int srv_rate_request(srv_rate *r, int64_t session_id, int64_t now_ms);

/* Before checking a password: 0 when login may be attempted, else the
 * seconds until the login name or the address is unlocked. */
int srv_rate_login_check(srv_rate *r, const char *login, const char *address, int64_t now_ms);
/* A failed attempt: counts against both; locks each that reached its limit. */
void srv_rate_login_failed(srv_rate *r, const char *login, const char *address, int64_t now_ms);
/* A successful login clears the login name's failures (not the address'). */
void srv_rate_login_ok(srv_rate *r, const char *login, int64_t now_ms);

#endif
