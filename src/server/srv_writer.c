/*
 * srv_writer.c — the writer thread: the chat domain's one write path.
 *
 * Commits (chat_commit.h) arrive from the workers — message sends, blocked
 * messages' alerts, recalls — and from the loop (delivered receipts). The
 * writer takes every commit waiting in its queue (up to writer_batch),
 * groups them by kind, and for each group calls kind->commit() (a message
 * batch is one transaction, one WAL sync for the lot) and then
 * kind->publish() (the domain's events, then each commit's done). It knows
 * no kind by name. Only after the commit does any answer go back to the
 * loop, so an acknowledgement (HTTP 201 or message.ack) and a message.new
 * push always describe a message that survives kill -9.
 *
 * The writer's store handle is opened with STORE_MAINT_BACKGROUND: the
 * backend's housekeeping (SQLite's WAL checkpoints) runs off the commit
 * path, in a thread the handle owns (store_sqlite_ckpt.c says why).
 */
#include "srv_int.h"
#include "srv_log.h"
#include "srv_writer.h"

#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATS_MS 5000

/* A commit travels in srv_queue without a wrapper: its first member is
 * its link, laid out as srv_qnode. */
_Static_assert(offsetof(chat_commit, next) == 0 && sizeof(chat_commit *) == sizeof(srv_qnode),
               "chat_commit must start with a srv_qnode-compatible link");

/* Where the writer's time goes (logged at debug every STATS_MS): batches,
 * commits, time inside commit (the store and its fsync) and in publish
 * (events, answers). */
typedef struct wstats {
    int64_t since, batches, items, store_us, post_us, store_max_us;
} wstats;

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void stats_tick(wstats *st)
{
    int64_t now = mono_us();

    if (!st->since) {
        st->since = now;
        return;
    }
    if (now - st->since < STATS_MS * 1000)
        return;
    if (st->batches)
        SRV_DEBUG("writer",
                  "%lld batches, %.1f commits each, store %.2f ms (max %.2f), after %.2f ms per "
                  "batch",
                  (long long)st->batches, (double)st->items / (double)st->batches,
                  (double)st->store_us / 1000.0 / (double)st->batches,
                  (double)st->store_max_us / 1000.0,
                  (double)st->post_us / 1000.0 / (double)st->batches);
    *st = (wstats){.since = now};
}

/* Commits and publishes one group of the same kind. */
static void run_group(srv *s, chat_commit **items, size_t n, wstats *ws)
{
    const chat_commit_kind *kind = items[0]->kind;
    int64_t t0 = mono_us(), t1;

    kind->commit(items, n, s->writer_st);
    t1 = mono_us();
    kind->publish(items, n, s->writer_st);
    ws->store_us += t1 - t0;
    if (t1 - t0 > ws->store_max_us)
        ws->store_max_us = t1 - t0;
    ws->post_us += mono_us() - t1;
}

/* Groups a popped list by kind, keeping the queue's order within a kind
 * (kinds are few: the first item of each remaining kind leads a pass). */
static void run_batch(srv *s, chat_commit *list, chat_commit **items, wstats *ws)
{
    while (list) {
        const chat_commit_kind *kind = list->kind;
        chat_commit *rest = NULL, **rtail = &rest;
        size_t n = 0;

        for (chat_commit *c = list, *nx; c; c = nx) {
            nx = c->next;
            c->next = NULL;
            if (c->kind == kind)
                items[n++] = c;
            else {
                *rtail = c;
                rtail = &c->next;
            }
        }
        run_group(s, items, n, ws);
        ws->items += (int64_t)n;
        atomic_fetch_add(&s->stat_commits, (long long)n);
        list = rest;
    }
    ws->batches++;
}

static void *writer_main(void *arg)
{
    srv *s = arg;
    size_t max = (size_t)s->cfg->writer_batch, n;
    chat_commit **items = calloc(max, sizeof *items);
    srv_qnode *list;
    wstats ws = {0};
    bool stats = srv_log_enabled(SRV_LOG_DEBUG);

    if (!items) {
        SRV_ERROR("writer", "out of memory");
        return NULL;
    }
    while ((list = srv_queue_pop_many(&s->appends, max, &n))) {
        run_batch(s, (chat_commit *)list, items, &ws);
        if (stats)
            stats_tick(&ws);
    }
    free(items);
    return NULL;
}

int srv_writer_start(srv *s)
{
    store_options so = {.version = 1, .path = s->db_path, .maintenance = STORE_MAINT_BACKGROUND};
    char *msg = NULL;

    if (srv_queue_init(&s->appends, 0))
        return -1;
    if (store_open(&so, &s->writer_st, &msg)) {
        SRV_ERROR("writer", "store: %s", msg ? msg : "?");
        free(msg);
        return -1;
    }
    if (pthread_create(&s->writer_th, NULL, writer_main, s))
        return -1;
    s->writer_started = true;
    return 0;
}

void srv_writer_submit(srv *s, chat_commit *c)
{
    /* Unbounded on purpose: every commit here was already admitted through
     * the bounded job queue, and dropping one now would lose an accepted
     * message. After the writer stopped (shutdown: the loop's receipts),
     * commit here: nothing else writes by then. */
    c->next = NULL;
    if (!s->writer_started || srv_queue_push(&s->appends, (srv_qnode *)c, true))
        chat_commit_now(c, s->st);
}

typedef struct commit_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} commit_wait;

static void wait_done(chat_commit *c, void *arg)
{
    commit_wait *w = arg;

    (void)c;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void srv_writer_commit_wait(srv *s, chat_commit *c)
{
    commit_wait w = {.done = false};

    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    c->done = wait_done;
    c->arg = &w;
    srv_writer_submit(s, c);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
}

void srv_writer_stop(srv *s)
{
    if (!s->writer_started)
        return;
    srv_queue_close(&s->appends);
    pthread_join(s->writer_th, NULL);
    s->writer_started = false;
    store_close(s->writer_st);
    s->writer_st = NULL;
    srv_queue_destroy(&s->appends);
}
