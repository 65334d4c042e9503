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
 *
 * The draft pre-check (POST /guard/check) has a bucket of its own per user
 * (limits.guard_checks_*), and its "block" answers are counted per user in
 * a window (limits.guard_probe_*): trying variants until one passes is how
 * a rule is probed.
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

/* Takes one token of the user's pre-check bucket: 0 when allowed, else the
 * seconds to wait. */
int srv_rate_guard_check(srv_rate *r, int64_t user_id, int64_t now_ms);
/* A pre-check of the user came back "block". Returns the number of blocked
 * pre-checks in the current window when it has just reached
 * limits.guard_probe_blocked (the caller raises one alert), else 0: at
 * most once per window, which starts at the first blocked pre-check. */
/* Takes one token of the user's OCR bucket (limits.ocr_per_minute,
 * ocr_burst): 0 when allowed, else the seconds to wait. */
int srv_rate_ocr(srv_rate *r, int64_t user_id, int64_t now_ms);

int srv_rate_guard_blocked(srv_rate *r, int64_t user_id, int64_t now_ms);

#endif
