/*
 * tool_progress.h — the progress line of `cordon scan` on stderr.
 *
 * Counters are always kept (the summary uses them); the line is drawn only
 * when asked for (stderr is a terminal and --no-progress was not given), by
 * its own thread at most TOOL_PROGRESS_HZ times a second, so a huge single
 * file still shows movement and workers never wait on drawing.
 *
 * The line shares the terminal with the report: it is drawn and erased under
 * the output lock, and whoever writes output erases it first with
 * tool_progress_hide_locked(). The next tick draws it again.
 */
#ifndef TOOL_PROGRESS_H
#define TOOL_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define TOOL_PROGRESS_HZ 10

typedef struct tool_progress {
    /* counters, updated by anyone without the lock */
    atomic_size_t found;         /* items found by the walk */
    atomic_size_t done;          /* items finished */
    atomic_uint_least64_t bytes; /* bytes read */
    /* set once by the main thread between the walk and the scan */
    atomic_bool scanning;
    size_t total;
    uint64_t total_bytes;
    double scan_start;
    /* drawing */
    bool enabled;
    bool stdout_tty;       /* report and bar share a terminal */
    bool drawn;            /* under *lock */
    pthread_mutex_t *lock; /* the output lock */
    pthread_t thread;
    pthread_mutex_t tick_lock;
    pthread_cond_t tick;
    bool quit; /* under tick_lock */
} tool_progress;

/* Seconds on a monotonic clock. */
double tool_now(void);

/* Sets up counters and, when `enabled`, starts drawing. Returns 0 or -1. */
int tool_progress_start(tool_progress *pg, bool enabled, pthread_mutex_t *lock);
/* The walk is over: switch from "found" to done/total with rate and ETA. */
void tool_progress_scanning(tool_progress *pg, size_t total, uint64_t total_bytes);
/* Erases the line if it is drawn and the coming write would disturb it.
 * Call with the output lock held. */
void tool_progress_hide_locked(tool_progress *pg, bool to_stderr);
/* Stops drawing and erases the line. */
void tool_progress_stop(tool_progress *pg);

#endif
