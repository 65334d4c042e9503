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

/* Counters shared by every node (srv_bus_redis.c), behind function
 * pointers so this module stays pure. Every call may fail (-1: the shared
 * store is unreachable); the caller then counts in its own table, which
 * still limits each node. */
typedef struct srv_rate_shared {
    void *arg;
    /* Counts one hit of key; the count's window (window_ms) starts at its
     * first hit. Returns the count, or -1. */
    long (*hit)(void *arg, const char *key, int64_t window_ms);
    /* Sets key (a lock) for ttl_ms. 0 or -1. */
    int (*lock)(void *arg, const char *key, int64_t ttl_ms);
    /* Milliseconds left on key (0: none), or -1. */
    int64_t (*ttl)(void *arg, const char *key);
    /* Removes key. 0 or -1. */
    int (*clear)(void *arg, const char *key);
    /* One token from the bucket key (rate per second, depth burst): 0 when
     * taken, else the milliseconds to wait; -1 when unreachable. */
    int64_t (*take)(void *arg, const char *key, double rate, double burst, int64_t now_ms);
    /* Adds what n sessions used on this node (ids[i] took used[i] tokens
     * since the last report) to every node's count for window, and reads
     * each session's total over every node into totals[i]: one round
     * trip. 0, or -1 when unreachable. NULL: not shared. */
    int (*sum)(void *arg, int64_t window, const int64_t *ids, const long *used, long *totals,
               size_t n);
} srv_rate_shared;

/* NULL when out of memory. The limits are copied. */
srv_rate *srv_rate_new(const srv_limits *lim, const srv_login_limits *login, size_t max_entries);
void srv_rate_free(srv_rate *r);

/* Several nodes: login lockout (per name and per address), the pre-check
 * bucket and the blocked pre-check counter go to the shared counters, so a
 * guesser gains nothing by spreading over nodes. The per-session request
 * bucket is taken on the event loop for every frame, where a network round
 * trip must not be: each node keeps its own bucket and srv_rate_sync, off
 * the loop, reports what each session used and deducts what the others
 * used (an approximate global limit). sh (may be NULL: local only) must
 * outlive r; set before the server starts its threads. */
void srv_rate_set_shared(srv_rate *r, const srv_rate_shared *sh);

/* Every SRV_RATE_SYNC_MS, off the loop (srv_rate_sync_start's thread):
 * adds each active session's use on this node to its count over every
 * node for the current SRV_RATE_SYNC_WINDOW_MS window, and takes the use
 * of the other nodes out of this node's bucket. The shared counters not
 * answering changes nothing: each node limits its own share as before
 * (never lifted). Exposed for tests; time passed in. */
#define SRV_RATE_SYNC_MS        250
#define SRV_RATE_SYNC_WINDOW_MS 1000
void srv_rate_sync(srv_rate *r, int64_t now_ms);
/* Starts the thread calling srv_rate_sync (shared counters only; stopped
 * by srv_rate_free). 0, or -1 when it cannot start. */
int srv_rate_sync_start(srv_rate *r);
/* Stops that thread (before the shared counters go: it calls them). */
void srv_rate_sync_stop(srv_rate *r);

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
/* Takes one token of the officer's file-text bucket (GET
 * /officer/files/{id}/text; limits.file_text_per_minute, file_text_burst):
 * 0 when allowed, else the seconds to wait. Shared between nodes when
 * srv_rate_set_shared was called (an officer gains nothing by spreading
 * requests over nodes). */
int srv_rate_file_text(srv_rate *r, int64_t user_id, int64_t now_ms);

int srv_rate_guard_blocked(srv_rate *r, int64_t user_id, int64_t now_ms);

#endif
