/*
 * srv_rate.c — token buckets and failure counters in one bounded hash table
 * (see srv_rate.h).
 *
 * Keys are short strings with a kind prefix ("s12" session, "lalice" login,
 * "a10.0.0.1" address, "g7" pre-check bucket, "o7" OCR bucket, "t7" file-text
 * bucket and "p7" blocked pre-checks of user 7). Chained buckets, FNV-1a, a table that doubles up
 * to max_entries; an entry idle for longer than it can matter is dropped by a sweep that runs when
 * the table is about to grow.
 *
 * With several nodes (srv_rate_set_shared) the login, address and pre-check
 * counters live in the shared store instead, under the same keys; a call
 * the shared store does not answer counts here, so Redis going away never
 * lifts a limit, it only makes it per node again. The per-session bucket
 * stays here (the loop takes it) and is trimmed by what the session used
 * on the other nodes (srv_rate_sync).
 */
#include "srv_rate.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry {
    struct entry *next;
    uint64_t hash;
    int64_t touched; /* ms of the last update */
    /* Session: tokens (scaled by 1000) and last refill. Login/address:
     * failures in the current window, window start, lock end. */
    double tokens;
    int failures;
    int64_t window_start, locked_until;
    /* Session, several nodes: tokens taken here since the last report; the
     * shared window they count in, this node's reports in it and the other
     * nodes' use already taken out of the bucket. */
    long used;
    int64_t win;
    long own_win, others_win;
    char key[];
} entry;

struct srv_rate {
    pthread_mutex_t mu;
    srv_limits lim;
    srv_login_limits login;
    size_t max_entries;
    entry **tab;
    size_t cap, n;
    const srv_rate_shared *sh; /* NULL: this node's table only */
    size_t sync_next;          /* the bucket srv_rate_sync starts from */
    pthread_t sync_th;
    bool sync_started, sync_stop;
    pthread_cond_t sync_cv;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

srv_rate *srv_rate_new(const srv_limits *lim, const srv_login_limits *login, size_t max_entries)
{
    srv_rate *r = calloc(1, sizeof *r);

    if (!r)
        goto fail;
    r->lim = *lim;
    r->login = *login;
    r->max_entries = max_entries ? max_entries : 100000;
    r->cap = 256;
    r->tab = calloc(r->cap, sizeof *r->tab);
    if (!r->tab || pthread_mutex_init(&r->mu, NULL))
        goto fail;
    return r;
fail:
    if (r)
        free(r->tab);
    free(r);
    return NULL;
}

void srv_rate_set_shared(srv_rate *r, const srv_rate_shared *sh)
{
    r->sh = sh;
}

void srv_rate_sync_stop(srv_rate *r)
{
    if (!r || !r->sync_started)
        return;
    pthread_mutex_lock(&r->mu);
    r->sync_stop = true;
    pthread_cond_signal(&r->sync_cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->sync_th, NULL);
    pthread_cond_destroy(&r->sync_cv);
    r->sync_started = false;
}

void srv_rate_free(srv_rate *r)
{
    if (!r)
        return;
    srv_rate_sync_stop(r);
    for (size_t i = 0; i < r->cap; i++)
        for (entry *e = r->tab[i], *nx; e; e = nx) {
            nx = e->next;
            free(e);
        }
    free(r->tab);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* An entry is stale when dropping it changes nothing: a full bucket, or no
 * failure window or lock still running. */
static int stale(const srv_rate *r, const entry *e, int64_t now)
{
    int64_t keep = (int64_t)r->login.window_seconds * 1000;

    if (e->key[0] == 's')
        return now - e->touched > (int64_t)(1000.0 * r->lim.burst / r->lim.requests_per_second);
    if (e->key[0] == 'g')
        return now - e->touched >
               (int64_t)(1000.0 * r->lim.guard_check_burst / r->lim.guard_checks_per_second);
    if (e->key[0] == 'o')
        return now - e->touched > (int64_t)(60000.0 * r->lim.ocr_burst / r->lim.ocr_per_minute);
    if (e->key[0] == 't')
        return now - e->touched >
               (int64_t)(60000.0 * r->lim.file_text_burst / r->lim.file_text_per_minute);
    if (e->key[0] == 'p')
        return now - e->window_start > (int64_t)r->lim.guard_probe_window_seconds * 1000;
    if ((int64_t)r->login.lockout_seconds * 1000 > keep)
        keep = (int64_t)r->login.lockout_seconds * 1000;
    return now - e->touched > keep && e->locked_until <= now;
}

static void sweep(srv_rate *r, int64_t now)
{
    for (size_t i = 0; i < r->cap; i++) {
        entry **pp = &r->tab[i];

        while (*pp) {
            entry *e = *pp;

            if (stale(r, e, now)) {
                *pp = e->next;
                free(e);
                r->n--;
            } else
                pp = &e->next;
        }
    }
}

static void grow(srv_rate *r)
{
    size_t ncap = r->cap * 2;
    entry **nt = calloc(ncap, sizeof *nt);

    if (!nt)
        return; /* keep the longer chains; still correct */
    for (size_t i = 0; i < r->cap; i++)
        for (entry *e = r->tab[i], *nx; e; e = nx) {
            nx = e->next;
            e->next = nt[e->hash & (ncap - 1)];
            nt[e->hash & (ncap - 1)] = e;
        }
    free(r->tab);
    r->tab = nt;
    r->cap = ncap;
}

/* Finds or creates (with `tokens` in its bucket) the entry of key; NULL when
 * the table is full. */
static entry *lookup(srv_rate *r, const char *key, int64_t now, int create, double tokens)
{
    uint64_t h = fnv(key);
    size_t len;
    entry *e;

    for (e = r->tab[h & (r->cap - 1)]; e; e = e->next)
        if (e->hash == h && !strcmp(e->key, key))
            return e;
    if (!create)
        return NULL;
    if (r->n >= r->cap) {
        sweep(r, now);
        if (r->n >= r->cap / 2 && r->cap < r->max_entries)
            grow(r);
    }
    if (r->n >= r->max_entries)
        return NULL;
    len = strlen(key);
    e = calloc(1, sizeof *e + len + 1);
    if (!e)
        return NULL;
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->touched = now;
    e->window_start = now;
    e->tokens = tokens;
    e->next = r->tab[h & (r->cap - 1)];
    r->tab[h & (r->cap - 1)] = e;
    r->n++;
    return e;
}

static int secs_until(int64_t t, int64_t now)
{
    int64_t s = (t - now + 999) / 1000;

    return s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
}

/* One token from the bucket `key` (rate per second, depth burst). */
static int take(srv_rate *r, const char *key, double rate, double burst, int64_t now_ms)
{
    entry *e;
    int rc = 1;

    pthread_mutex_lock(&r->mu);
    e = lookup(r, key, now_ms, 1, burst);
    if (!e)
        goto out;
    e->tokens += (double)(now_ms - e->touched) * rate / 1000.0;
    if (e->tokens > burst)
        e->tokens = burst;
    e->touched = now_ms;
    if (e->tokens >= 1.0) {
        e->tokens -= 1.0;
        e->used++;
        rc = 0;
    } else
        rc = secs_until(now_ms + (int64_t)(1000.0 * (1.0 - e->tokens) / rate), now_ms);
out:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int srv_rate_request(srv_rate *r, int64_t session_id, int64_t now_ms)
{
    char key[32];

    snprintf(key, sizeof key, "s%lld", (long long)session_id);
    return take(r, key, r->lim.requests_per_second, r->lim.burst, now_ms);
}

int srv_rate_guard_check(srv_rate *r, int64_t user_id, int64_t now_ms)
{
    char key[32];

    snprintf(key, sizeof key, "g%lld", (long long)user_id);
    if (r->sh) {
        int64_t ms = r->sh->take(r->sh->arg, key, r->lim.guard_checks_per_second,
                                 r->lim.guard_check_burst, now_ms);

        if (ms >= 0)
            return ms ? secs_until(now_ms + ms, now_ms) : 0;
    }
    return take(r, key, r->lim.guard_checks_per_second, r->lim.guard_check_burst, now_ms);
}

int srv_rate_ocr(srv_rate *r, int64_t user_id, int64_t now_ms)
{
    char key[32];

    snprintf(key, sizeof key, "o%lld", (long long)user_id);
    return take(r, key, r->lim.ocr_per_minute / 60.0, r->lim.ocr_burst, now_ms);
}

int srv_rate_file_text(srv_rate *r, int64_t user_id, int64_t now_ms)
{
    char key[32];
    double rate = r->lim.file_text_per_minute / 60.0;

    snprintf(key, sizeof key, "t%lld", (long long)user_id);
    if (r->sh) {
        int64_t ms = r->sh->take(r->sh->arg, key, rate, r->lim.file_text_burst, now_ms);

        if (ms >= 0)
            return ms ? secs_until(now_ms + ms, now_ms) : 0;
    }
    return take(r, key, rate, r->lim.file_text_burst, now_ms);
}

int srv_rate_guard_blocked(srv_rate *r, int64_t user_id, int64_t now_ms)
{
    char key[32];
    entry *e;
    int n = 0;

    if (r->lim.guard_probe_blocked <= 0)
        return 0;
    snprintf(key, sizeof key, "p%lld", (long long)user_id);
    if (r->sh) {
        long c = r->sh->hit(r->sh->arg, key, (int64_t)r->lim.guard_probe_window_seconds * 1000);

        if (c >= 0)
            return c == r->lim.guard_probe_blocked ? (int)c : 0;
    }
    pthread_mutex_lock(&r->mu);
    e = lookup(r, key, now_ms, 1, 0);
    if (!e)
        goto out;
    if (now_ms - e->window_start > (int64_t)r->lim.guard_probe_window_seconds * 1000) {
        e->window_start = now_ms;
        e->failures = 0;
    }
    e->touched = now_ms;
    if (++e->failures == r->lim.guard_probe_blocked)
        n = e->failures;
out:
    pthread_mutex_unlock(&r->mu);
    return n;
}

static int locked_for(entry *e, int64_t now)
{
    return e && e->locked_until > now ? secs_until(e->locked_until, now) : 0;
}

/* Seconds left on the shared lock of key: 0 none, -1 unreachable. */
static int shared_locked(srv_rate *r, const char *key, int64_t now)
{
    char lk[330];
    int64_t ms;

    snprintf(lk, sizeof lk, "L%s", key);
    ms = r->sh->ttl(r->sh->arg, lk);
    return ms < 0 ? -1 : ms ? secs_until(now + ms, now) : 0;
}

/* A failure counted in the shared store; -1 when it did not answer. */
static int shared_failure(srv_rate *r, const char *key, int limit, int64_t now)
{
    char lk[330];
    long n = r->sh->hit(r->sh->arg, key, (int64_t)r->login.window_seconds * 1000);

    (void)now;
    if (n < 0)
        return -1;
    if (n >= limit) {
        snprintf(lk, sizeof lk, "L%s", key);
        if (r->sh->lock(r->sh->arg, lk, (int64_t)r->login.lockout_seconds * 1000))
            return -1;
        r->sh->clear(r->sh->arg, key);
    }
    return 0;
}

int srv_rate_login_check(srv_rate *r, const char *login, const char *address, int64_t now_ms)
{
    char key[320];
    int a, b;

    if (r->sh) {
        snprintf(key, sizeof key, "l%s", login ? login : "");
        a = shared_locked(r, key, now_ms);
        snprintf(key, sizeof key, "a%s", address ? address : "");
        b = a < 0 ? -1 : shared_locked(r, key, now_ms);
        if (a >= 0 && b >= 0)
            return a > b ? a : b;
    }
    pthread_mutex_lock(&r->mu);
    snprintf(key, sizeof key, "l%s", login ? login : "");
    a = locked_for(lookup(r, key, now_ms, 0, 0), now_ms);
    snprintf(key, sizeof key, "a%s", address ? address : "");
    b = locked_for(lookup(r, key, now_ms, 0, 0), now_ms);
    pthread_mutex_unlock(&r->mu);
    return a > b ? a : b;
}

static void count_failure(srv_rate *r, const char *key, int limit, int64_t now)
{
    entry *e = lookup(r, key, now, 1, 0);

    if (!e)
        return;
    if (now - e->window_start > (int64_t)r->login.window_seconds * 1000) {
        e->window_start = now;
        e->failures = 0;
    }
    e->touched = now;
    if (++e->failures >= limit) {
        e->locked_until = now + (int64_t)r->login.lockout_seconds * 1000;
        e->failures = 0;
        e->window_start = now;
    }
}

void srv_rate_login_failed(srv_rate *r, const char *login, const char *address, int64_t now_ms)
{
    char key[320];

    if (r->sh) {
        int a, b;

        snprintf(key, sizeof key, "l%s", login ? login : "");
        a = shared_failure(r, key, r->login.account_failures, now_ms);
        snprintf(key, sizeof key, "a%s", address ? address : "");
        b = shared_failure(r, key, r->login.address_failures, now_ms);
        if (!a && !b)
            return;
    }
    pthread_mutex_lock(&r->mu);
    snprintf(key, sizeof key, "l%s", login ? login : "");
    count_failure(r, key, r->login.account_failures, now_ms);
    snprintf(key, sizeof key, "a%s", address ? address : "");
    count_failure(r, key, r->login.address_failures, now_ms);
    pthread_mutex_unlock(&r->mu);
}

void srv_rate_login_ok(srv_rate *r, const char *login, int64_t now_ms)
{
    char key[320];
    entry *e;

    snprintf(key, sizeof key, "l%s", login ? login : "");
    /* The failures go; a lock (another key) stays: a success cannot
     * happen while locked anyway, login_check refuses first. */
    if (r->sh)
        (void)r->sh->clear(r->sh->arg, key);
    pthread_mutex_lock(&r->mu);
    e = lookup(r, key, now_ms, 0, 0);
    if (e && e->locked_until <= now_ms) {
        e->failures = 0;
        e->window_start = now_ms;
    }
    pthread_mutex_unlock(&r->mu);
}

/* ---- the per-session bucket over several nodes ------------------------------- */

#define SYNC_MAX 1024 /* sessions reported per round (the most recently active) */

typedef struct sync_batch {
    int64_t ids[SYNC_MAX];
    long used[SYNC_MAX], totals[SYNC_MAX];
    size_t n;
} sync_batch;

static void sync_apply(srv_rate *r, const sync_batch *b, int64_t win, int64_t now_ms)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < b->n; i++) {
        char key[32];
        entry *e;
        long others;

        snprintf(key, sizeof key, "s%lld", (long long)b->ids[i]);
        e = lookup(r, key, now_ms, 0, 0);
        if (!e || b->totals[i] < 0)
            continue;
        if (e->win != win) {
            e->win = win;
            e->own_win = e->others_win = 0;
        }
        e->own_win += b->used[i];
        others = b->totals[i] - e->own_win;
        if (others > e->others_win) {
            /* a debt at most one burst deep: the bucket refills from it */
            e->tokens -= (double)(others - e->others_win);
            if (e->tokens < -r->lim.burst)
                e->tokens = -r->lim.burst;
            e->others_win = others;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

void srv_rate_sync(srv_rate *r, int64_t now_ms)
{
    int64_t win = now_ms / SRV_RATE_SYNC_WINDOW_MS;
    sync_batch *b;

    if (!r->sh || !r->sh->sum || !(b = calloc(1, sizeof *b)))
        return;
    /* The sessions active in the last two windows: their use here (0
     * too: this node still learns what the others used). */
    pthread_mutex_lock(&r->mu);
    /* from where the last full round stopped: past SYNC_MAX active
     * sessions, every one still gets its turn */
    for (size_t k = 0; k < r->cap && b->n < SYNC_MAX; k++) {
        size_t i = (r->sync_next + k) % r->cap;

        for (entry *e = r->tab[i]; e; e = e->next)
            if (e->key[0] == 's' && now_ms - e->touched < 2 * SRV_RATE_SYNC_WINDOW_MS &&
                b->n < SYNC_MAX) {
                b->ids[b->n] = strtoll(e->key + 1, NULL, 10);
                b->used[b->n++] = e->used;
                e->used = 0;
            }
        if (b->n >= SYNC_MAX)
            r->sync_next = (i + 1) % r->cap;
    }
    pthread_mutex_unlock(&r->mu);
    if (b->n && !r->sh->sum(r->sh->arg, win, b->ids, b->used, b->totals, b->n))
        sync_apply(r, b, win, now_ms);
    free(b);
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *sync_main(void *arg)
{
    srv_rate *r = arg;

    pthread_mutex_lock(&r->mu);
    while (!r->sync_stop) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SRV_RATE_SYNC_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->sync_cv, &r->mu, &ts);
        if (r->sync_stop)
            break;
        pthread_mutex_unlock(&r->mu);
        /* wall time: every node's windows must be the same windows */
        srv_rate_sync(r, wall_ms());
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int srv_rate_sync_start(srv_rate *r)
{
    if (!r->sh || !r->sh->sum || r->sync_started)
        return 0;
    if (pthread_cond_init(&r->sync_cv, NULL))
        return -1;
    if (pthread_create(&r->sync_th, NULL, sync_main, r)) {
        pthread_cond_destroy(&r->sync_cv);
        return -1;
    }
    r->sync_started = true;
    return 0;
}
