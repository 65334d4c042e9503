/*
 * tool_progress.c — the progress line (see tool_progress.h).
 */
#include "tool_progress.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool_term.h"

double tool_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void format_eta(double s, char *out, size_t cap)
{
    unsigned long t = s < 0 ? 0 : s > 359999 ? 359999 : (unsigned long)(s + 0.5);

    if (t >= 3600)
        snprintf(out, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, cap, "%lu:%02lu", t / 60, t % 60);
}

/* Composes the line (without escape codes) for the current counters. */
static void compose(tool_progress *pg, char *line, size_t cap, int width)
{
    size_t done, total;
    uint64_t bytes;
    double elapsed, rate, eta = -1;
    char rb[32], eb[32], bar[41], stat[160];
    int bw, fill, n;

    if (!atomic_load(&pg->scanning)) {
        snprintf(line, cap, "walking: %zu items found", atomic_load(&pg->found));
        return;
    }
    /* total and total_bytes are published by the store to `scanning` */
    total = pg->total;
    done = atomic_load(&pg->done);
    bytes = atomic_load(&pg->bytes);
    elapsed = tool_now() - pg->scan_start;
    rate = elapsed > 0 ? (double)bytes / elapsed : 0;
    if (pg->total_bytes && rate > 0 && bytes < pg->total_bytes)
        eta = (double)(pg->total_bytes - bytes) / rate;
    else if (done && done < total)
        eta = elapsed * (double)(total - done) / (double)done;
    else if (done >= total)
        eta = 0;
    tool_human_bytes((uint64_t)rate, rb, sizeof rb);
    if (eta >= 0)
        format_eta(eta, eb, sizeof eb);
    else
        snprintf(eb, sizeof eb, "?");
    n = snprintf(stat, sizeof stat, "%zu/%zu items  %s/s  ETA %s", done, total, rb, eb);
    /* a bar in front when the terminal has room for it */
    bw = width - 1 - n - 3;
    if (bw > (int)sizeof bar - 1)
        bw = (int)sizeof bar - 1;
    if (bw < 10) {
        snprintf(line, cap, "%s", stat);
        return;
    }
    fill = total ? (int)((double)done / (double)total * bw) : 0;
    if (fill > bw)
        fill = bw;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(bw - fill));
    bar[bw] = 0;
    snprintf(line, cap, "[%s] %s", bar, stat);
}

static void draw_locked(tool_progress *pg)
{
    char line[256];
    int width = tool_term_width(STDERR_FILENO);

    compose(pg, line, sizeof line, width);
    if ((int)strlen(line) > width - 1)
        line[width - 1] = 0;
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    pg->drawn = true;
}

static void *progress_main(void *arg)
{
    tool_progress *pg = arg;
    struct timespec next;

    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&pg->tick_lock);
    while (!pg->quit) {
        next.tv_nsec += 1000000000L / TOOL_PROGRESS_HZ;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        while (!pg->quit && pthread_cond_timedwait(&pg->tick, &pg->tick_lock, &next) != ETIMEDOUT)
            ;
        if (pg->quit)
            break;
        pthread_mutex_unlock(&pg->tick_lock);
        pthread_mutex_lock(pg->lock);
        draw_locked(pg);
        pthread_mutex_unlock(pg->lock);
        pthread_mutex_lock(&pg->tick_lock);
    }
    pthread_mutex_unlock(&pg->tick_lock);
    return NULL;
}

int tool_progress_start(tool_progress *pg, bool enabled, pthread_mutex_t *lock)
{
    pthread_condattr_t ca;

    memset(pg, 0, sizeof *pg);
    atomic_init(&pg->found, 0);
    atomic_init(&pg->done, 0);
    atomic_init(&pg->bytes, 0);
    atomic_init(&pg->scanning, false);
    pg->lock = lock;
    pg->stdout_tty = isatty(STDOUT_FILENO);
    if (!enabled)
        return 0;
    /* the tick waits on the monotonic clock: a clock change must not stall it */
    if (pthread_condattr_init(&ca))
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&pg->tick, &ca)) {
        pthread_condattr_destroy(&ca);
        return -1;
    }
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&pg->tick_lock, NULL);
    if (pthread_create(&pg->thread, NULL, progress_main, pg)) {
        pthread_cond_destroy(&pg->tick);
        pthread_mutex_destroy(&pg->tick_lock);
        return -1;
    }
    pg->enabled = true;
    return 0;
}

void tool_progress_scanning(tool_progress *pg, size_t total, uint64_t total_bytes)
{
    pg->total = total;
    pg->total_bytes = total_bytes;
    pg->scan_start = tool_now();
    atomic_store(&pg->scanning, true);
}

void tool_progress_hide_locked(tool_progress *pg, bool to_stderr)
{
    if (pg->drawn && (to_stderr || pg->stdout_tty)) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        pg->drawn = false;
    }
}

void tool_progress_stop(tool_progress *pg)
{
    if (!pg->enabled)
        return;
    pthread_mutex_lock(&pg->tick_lock);
    pg->quit = true;
    pthread_cond_signal(&pg->tick);
    pthread_mutex_unlock(&pg->tick_lock);
    pthread_join(pg->thread, NULL);
    pthread_cond_destroy(&pg->tick);
    pthread_mutex_destroy(&pg->tick_lock);
    pthread_mutex_lock(pg->lock);
    tool_progress_hide_locked(pg, true);
    pthread_mutex_unlock(pg->lock);
    pg->enabled = false;
}
