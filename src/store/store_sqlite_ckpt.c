/*
 * store_sqlite_ckpt.c — the SQLite backend's own housekeeping: copying the
 * write-ahead log back into the database (a checkpoint) off the commit path.
 *
 * Left to SQLite, the commit that takes the WAL past 1000 pages checkpoints
 * and fsyncs the database file on the way: at 5,000 msgs/s that was one
 * group commit in 60, every ~140 ms, held for 2.5-5 ms, and the p99 of
 * delivery with it. A handle opened with STORE_MAINT_BACKGROUND instead
 * starts a thread with a connection of its own: SQLite's WAL hook on the
 * handle tells it of every commit, and it runs a passive checkpoint (never
 * waiting for or blocking the writer or readers) at most once per
 * SQ_CKPT_MS while commits flow. Handles of the same process opened with
 * STORE_MAINT_ELSEWHERE keep an automatic checkpoint only as a backstop
 * (SQ_WAL_LIMIT pages), for when the thread cannot keep up.
 *
 * A checkpoint alone never lets the log start over while commits flow.
 * SQLite rewinds the WAL to its beginning only when a write transaction
 * begins with every frame copied back, and the thread's checkpoint takes
 * 5-50 ms, during which the writer commits more frames. So the log grew by
 * ~3,500 pages a second at 5,000 msgs/s until the backstop made the
 * writer checkpoint inside a commit: 10-28 ms held every 3-6 s, the tail
 * of delivery (docs/BENCH.md, "Session 9"). So after each of the thread's
 * rounds that copied what it saw, the writer finishes the job: at its next
 * idle moment (store_maintain, called when its queue is empty, after it
 * published what it committed) it copies the frames committed since, at
 * most SQ_FINISH_MAX (those of the last few ms), on its own connection, so
 * that its next transaction rewinds the log, once the log is long enough
 * to be worth it (SQ_FINISH_AT). Session 9 did this from the
 * WAL hook, inside the COMMIT that messages were waiting for, and only once
 * the log was long (12,000 frames): finishes of 2-14 ms sat in a commit
 * every few seconds, and when a round ended below that length the log ran
 * into the backstop (20,000 frames at ~10,000 a second: a 21.5 ms
 * checkpoint inside a commit; docs/BENCH.md, "Session 11").
 *
 * This is SQLite's business alone: the store interface only says which
 * handle carries the housekeeping (store_options.maintenance).
 */
#include "store/store_sqlite_int.h"

#include "base/base_hist.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* At most one checkpoint per SQ_CKPT_MS while commits flow. Rarer is better
 * for the commits (measured at 5,000 msgs/s: every 100 ms, commit p99
 * 2.0-2.3 ms; every 900 ms, 1.6-1.9 ms) and costs WAL size: ~7,000 pages
 * (28 MB) a second at that rate. */
#define SQ_CKPT_MS 1000
/* The most frames the writer copies itself to let the log start over:
 * 2 MiB of pages, a few ms with its fsync. More than that waits for the
 * thread's next round. */
#define SQ_FINISH_MAX 512
/* ... and only once the log is this long (16 MiB): a short log costs
 * nothing, and every finish syncs the database file in the writer's way
 * (at 200 msgs/s, finishing every round came out worse in two A/B pairs,
 * inside the machine's noise: docs/BENCH.md "Session 11"). Low, because rounds end at multiples of
 * a second's frames while the log does not rewind, and one must end above this before the backstop:
 * at 4,000 that holds up to ~16,000 frames a second. (Session 9's 12,000 let a round at ~10,000 a
 * second end below it and the next come after the backstop; 8,000 still met the backstop once in
 * three runs at 5,000 msgs/s.) */
#define SQ_FINISH_AT 4000

struct sq_ckpt {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sqlite3 *db; /* the thread's own connection */
    int pending; /* commits since the last checkpoint */
    bool stop;
    /* Set by the thread after a checkpoint that copied every frame it saw
     * (`copied` of them); taken by the writer at its next idle moment
     * (sq_ckpt_maintain), which compares with `pages`, the log's length
     * at the writer's last commit (on_commit). */
    atomic_bool finish;
    atomic_int copied;
    atomic_int pages;
    /* Told of each checkpoint (store_options.on_maint; NULL: nobody). */
    void (*on_maint)(void *arg, const store_maint_event *ev);
    void *maint_arg;
    /* The writer's own checkpoint time in its current COMMIT (writer's
     * thread only): read and reset by sq_end (sq_ckpt_take_inline_ns). */
    uint64_t inline_ns;
};

/* Runs one checkpoint on db in mode, timed and told (what: see
 * store_maint_event). Returns SQLite's result. */
static int timed_ckpt(sq_ckpt *c, sqlite3 *db, const char *name, int mode, const char *what,
                      int *log, int *copied)
{
    uint64_t t0 = base_now_ns(), ns;
    int r = sqlite3_wal_checkpoint_v2(db, name, mode, log, copied);

    ns = base_now_ns() - t0;
    if (c->on_maint)
        c->on_maint(c->maint_arg, &(store_maint_event){.what = what,
                                                       .ns = ns,
                                                       .log_pages = log ? *log : -1,
                                                       .copied_pages = copied ? *copied : -1});
    return r;
}

uint64_t sq_ckpt_take_inline_ns(sq *q)
{
    uint64_t ns;

    if (!q->ckpt)
        return 0;
    ns = q->ckpt->inline_ns;
    q->ckpt->inline_ns = 0;
    return ns;
}

/* SQLite calls this after each commit on the handle (sqlite3_wal_hook). */
static int on_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    sq_ckpt *c = arg;

    /* Setting a WAL hook replaces SQLite's automatic checkpoint, which is
     * itself a WAL hook: keep its backstop here. */
    uint64_t t0 = base_now_ns();
    int log = -1, copied = -1;

    atomic_store_explicit(&c->pages, pages, memory_order_relaxed);
    /* Behind by what the thread has not copied, not by the log's length:
     * a log that did not rewind (no idle moment for the finish, a reader
     * on an old snapshot) but is copied needs nothing here. Counting the
     * length, a rewind missed twice at 5,000 msgs/s cost a 20-25 ms
     * checkpoint inside a commit (docs/BENCH.md, "Session 12"). `copied`
     * is the thread's last complete pass; after a rewind it exceeds
     * `pages` until the next. */
    if (pages - atomic_load_explicit(&c->copied, memory_order_relaxed) >= SQ_WAL_BACKSTOP ||
        pages >= SQ_WAL_LIMIT) {
        if (timed_ckpt(c, db, name, SQLITE_CHECKPOINT_PASSIVE, "backstop", &log, &copied) ==
                SQLITE_OK &&
            copied == log)
            atomic_store_explicit(&c->copied, copied, memory_order_relaxed); /* not again at once */
        c->inline_ns += base_now_ns() - t0;
    }
    pthread_mutex_lock(&c->mu);
    if (!c->pending++)
        pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return SQLITE_OK;
}

int sq_ckpt_maintain(store *s)
{
    sq *q = (sq *)s;
    sq_ckpt *c = q->ckpt;
    int pages, left, log = -1, copied = -1, r;

    if (!c || q->depth || !atomic_load_explicit(&c->finish, memory_order_acquire))
        return STORE_OK;
    pages = atomic_load_explicit(&c->pages, memory_order_relaxed);
    left = pages - atomic_load_explicit(&c->copied, memory_order_relaxed);
    if (left > SQ_FINISH_MAX || (left > 0 && pages < SQ_FINISH_AT))
        return STORE_OK; /* too much for an idle moment, or not worth one: the thread's next round
                          */
    /* left <= 0: every frame is copied (or the log started over): the next
     * transaction rewinds it, nothing to copy. */
    if (left > 0) {
        r = timed_ckpt(c, q->db, NULL, SQLITE_CHECKPOINT_PASSIVE, "finish", &log, &copied);
        if (r != SQLITE_OK)
            return STORE_BUSY; /* the thread is checkpointing: the next idle moment */
    }
    atomic_store_explicit(&c->finish, false, memory_order_relaxed);
    return STORE_OK;
}

static void *ckpt_main(void *arg)
{
    sq_ckpt *c = arg;

    pthread_mutex_lock(&c->mu);
    for (;;) {
        struct timespec until;

        while (!c->pending && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop)
            break;
        /* Let commits gather: a page rewritten by many of them (an index
         * page, a conversation's row) is copied once, not once a commit. */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += SQ_CKPT_MS / 1000;
        until.tv_nsec += (SQ_CKPT_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
            ;
        if (c->stop)
            break;
        c->pending = 0;
        pthread_mutex_unlock(&c->mu);
        /* SQLITE_BUSY (another checkpoint running) is fine: the next one
         * copies what this one would have. A second pass copies what was
         * committed during the first (a few ms of commits, not a second's),
         * leaving the writer little to finish. */
        for (int pass = 0; pass < 2; pass++) {
            int log = 0, copied = 0;

            if (timed_ckpt(c, c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, "checkpoint", &log,
                           &copied) != SQLITE_OK ||
                copied != log || log <= 0)
                break;
            atomic_store_explicit(&c->copied, copied, memory_order_relaxed);
            atomic_store_explicit(&c->finish, true, memory_order_release);
        }
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int sq_ckpt_start(sq *q, const char *path)
{
    sq_ckpt *c = calloc(1, sizeof *c);
    int r;

    if (!c)
        return STORE_NOMEM;
    c->on_maint = q->on_maint;
    c->maint_arg = q->maint_arg;
    r = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (r != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(c->db, q->busy_ms);
    sqlite3_wal_autocheckpoint(c->db, 0);
    /* A connection that has read nothing has not seen that the database is
     * in WAL mode, and its checkpoints would be no-ops. */
    r = sqlite3_exec(c->db, "PRAGMA schema_version", NULL, NULL, NULL);
    if (r != SQLITE_OK)
        goto fail;
    if (pthread_mutex_init(&c->mu, NULL))
        goto fail;
    if (pthread_cond_init(&c->cv, NULL)) {
        pthread_mutex_destroy(&c->mu);
        goto fail;
    }
    if (pthread_create(&c->th, NULL, ckpt_main, c)) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        goto fail;
    }
    q->ckpt = c;
    sqlite3_wal_hook(q->db, on_commit, c);
    return STORE_OK;
fail:
    snprintf(q->err, sizeof q->err, "checkpointer: %s", c->db ? sqlite3_errmsg(c->db) : "?");
    sqlite3_close_v2(c->db);
    free(c);
    return STORE_IO;
}

void sq_ckpt_stop(sq *q)
{
    sq_ckpt *c = q->ckpt;

    if (!c)
        return;
    sqlite3_wal_hook(q->db, NULL, NULL);
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    sqlite3_close_v2(c->db);
    free(c);
    q->ckpt = NULL;
}
