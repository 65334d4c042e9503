/*
 * store_sqlite_turn.c — first come, first served for the write lock among
 * the handles of one process on one database file.
 *
 * SQLite's own write lock is not a queue: a connection that finds it taken
 * sleeps (1, 2, 5 ... then 100 ms at a time) and looks again, and whoever
 * looks at the moment it is free takes it. The server's writer thread
 * commits back to back while messages flow, and on a disk whose fsync takes
 * 10 ms or more eight request workers creating accounts keep it nearly
 * always taken too: a worker that kept waking up at the wrong moment ran
 * out its 5 s busy timeout and its request answered 503 "the database is
 * busy" (5 of 16 load-bench set-ups, docs/BENCH.md "Session 10"). Here the
 * handles of this process queue in arrival order for their turn before they
 * ask SQLite, so a worker waits for the transactions ahead of it — one
 * writer batch, a few other workers' writes — and never for luck.
 *
 * A turn waits longer than SQLite's busy timeout (SQ_TURN_WAIT_MS): what
 * is ahead in the queue is this process's own work in progress, and the
 * shared disk here has stopped for seconds under other processes'
 * writeback with a commit's fsync in flight; the requests queued behind it
 * then answered 503 after 5 s, and the writer refused a batch of messages.
 * Now they finish when the disk comes back (tests/slowsync_shim.c makes
 * such a disk for accounts_under_load.test.js).
 *
 * The turn covers a write transaction (sq_begin to the outermost sq_end)
 * and a write statement run on its own (sq_exec outside a transaction).
 * Other processes (`cordon user`) still meet only SQLite's lock and its
 * busy timeout. Handles opened read-only, and databases that cannot be
 * stat()ed, take no turn.
 */
#include "store/store_sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

/* The longest a handle waits for its turn (or its busy timeout, when
 * longer): a request still gets an answer in bounded time. */
#define SQ_TURN_WAIT_MS 30000

/* One waiter, on its thread's stack, in the turn's FIFO. */
typedef struct sq_waiter {
    struct sq_waiter *next;
    bool granted;
} sq_waiter;

/* One per database file (device, inode) open in this process. */
struct sq_turn {
    struct sq_turn *next; /* the registry's list */
    dev_t dev;
    ino_t ino;
    int refs;
    bool held;
    sq_waiter *head, *tail;
    pthread_cond_t cv;
};

/* The registry and every turn's state are under one mutex: handles are few
 * and a turn changes hands at most once per transaction. */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static sq_turn *reg_list;

sq_turn *sq_turn_get(const char *path)
{
    struct stat st;
    sq_turn *t;

    if (!path || stat(path, &st))
        return NULL;
    pthread_mutex_lock(&reg_mu);
    for (t = reg_list; t; t = t->next)
        if (t->dev == st.st_dev && t->ino == st.st_ino)
            break;
    if (!t && (t = calloc(1, sizeof *t))) {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (pthread_cond_init(&t->cv, &ca)) {
            free(t);
            t = NULL;
        } else {
            t->dev = st.st_dev;
            t->ino = st.st_ino;
            t->next = reg_list;
            reg_list = t;
        }
        pthread_condattr_destroy(&ca);
    }
    if (t)
        t->refs++;
    pthread_mutex_unlock(&reg_mu);
    return t;
}

void sq_turn_put(sq_turn *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&reg_mu);
    if (--t->refs == 0) {
        for (sq_turn **p = &reg_list; *p; p = &(*p)->next)
            if (*p == t) {
                *p = t->next;
                break;
            }
        pthread_cond_destroy(&t->cv);
        free(t);
    }
    pthread_mutex_unlock(&reg_mu);
}

static void unlink_waiter(sq_turn *t, sq_waiter *w)
{
    sq_waiter *prev = NULL;

    for (sq_waiter *x = t->head; x; prev = x, x = x->next)
        if (x == w) {
            if (prev)
                prev->next = w->next;
            else
                t->head = w->next;
            if (t->tail == w)
                t->tail = prev;
            return;
        }
}

int sq_turn_take(sq *q)
{
    sq_turn *t = q->turn;
    sq_waiter me = {0};
    struct timespec until;
    int rc = STORE_OK, wait_ms = q->busy_ms > SQ_TURN_WAIT_MS ? q->busy_ms : SQ_TURN_WAIT_MS;

    if (!t || q->turn_held)
        return STORE_OK;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&reg_mu);
    if (!t->held && !t->head) {
        t->held = true;
        goto out;
    }
    if (t->tail)
        t->tail->next = &me;
    else
        t->head = &me;
    t->tail = &me;
    while (!me.granted)
        if (pthread_cond_timedwait(&t->cv, &reg_mu, &until) == ETIMEDOUT && !me.granted) {
            unlink_waiter(t, &me);
            rc = STORE_BUSY;
            break;
        }
out:
    pthread_mutex_unlock(&reg_mu);
    if (rc)
        snprintf(q->err, sizeof q->err, "waited %d ms for this process's other writers", wait_ms);
    else
        q->turn_held = true;
    return rc;
}

void sq_turn_give(sq *q)
{
    sq_turn *t = q->turn;

    if (!t || !q->turn_held)
        return;
    q->turn_held = false;
    pthread_mutex_lock(&reg_mu);
    if (t->head) {
        /* Handed over, never released: nobody arriving now can jump the
         * queue. */
        sq_waiter *w = t->head;

        t->head = w->next;
        if (!t->head)
            t->tail = NULL;
        w->next = NULL;
        w->granted = true;
        pthread_cond_broadcast(&t->cv);
    } else
        t->held = false;
    pthread_mutex_unlock(&reg_mu);
}
