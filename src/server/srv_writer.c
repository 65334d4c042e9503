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
 * Commits of a kind that rides (chat_commit.h: delivered receipts, which
 * nobody waits for) are held, at most HOLD_MS, until a batch with a kind
 * that carries (messages) writes them inside its own transaction: at 5,000
 * msgs/s the receipts' flush cost a transaction and an fsync of its own
 * every second, and the messages that came during it waited for two
 * fsyncs. When nothing carries them in time (a quiet server), or at stop,
 * they are committed on their own.
 *
 * The writer's store handle is opened with STORE_MAINT_BACKGROUND: the
 * backend's housekeeping (SQLite's WAL checkpoints) runs off the commit
 * path, in a thread the handle owns (store_sqlite_ckpt.c says why); what
 * of it needs the writer's own connection (the last frames' copy that lets
 * the log start over) runs when the writer's queue is empty, after it
 * published what it committed (store_maintain), never inside a commit.
 */
#include "srv_int.h"
#include "srv_log.h"
#include "srv_metrics.h"
#include "srv_writer.h"

#include "base/base_hist.h"

#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATS_MS 5000
/* The longest a riding commit waits for a carrier. The loop already holds
 * delivered pointers up to a second (srv_receipt.c): the stored pointer
 * trails the live receipts by at most the sum. */
#define HOLD_MS 1000
/* ... and the most held at once (each is one loop flush, up to 65,536
 * pointers). */
#define HOLD_MAX 16
/* A group commit slower than this is logged at debug with where its time
 * went (store_tx_timing): the tail of a message at 5,000 msgs/s. */
#define SLOW_GROUP_NS (10 * 1000000ull)

/* The group being published on this thread (srv_writer_group_times). */
static __thread struct {
    uint64_t started, committed;
} group_now;

void srv_writer_group_times(uint64_t *started_ns, uint64_t *committed_ns)
{
    *started_ns = group_now.started;
    *committed_ns = group_now.committed;
}

/* A commit travels in srv_queue without a wrapper: its first member is
 * its link, laid out as srv_qnode. */
_Static_assert(offsetof(chat_commit, next) == 0 && sizeof(chat_commit *) == sizeof(srv_qnode),
               "chat_commit must start with a srv_qnode-compatible link");

/* Where the writer's time goes (logged at debug every STATS_MS): batches,
 * commits, time inside commit (the store and its fsync) and in publish
 * (events, answers). */
typedef struct wstats {
    int64_t since, batches, items, store_us, post_us, store_max_us, carried, alone;
} wstats;

/* Riding commits waiting for a carrier, in arrival order. */
typedef struct held {
    chat_commit *items[HOLD_MAX];
    size_t n;
    int64_t since_us; /* when the first came */
} held;

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
                  "batch; riders carried %lld, alone %lld",
                  (long long)st->batches, (double)st->items / (double)st->batches,
                  (double)st->store_us / 1000.0 / (double)st->batches,
                  (double)st->store_max_us / 1000.0,
                  (double)st->post_us / 1000.0 / (double)st->batches, (long long)st->carried,
                  (long long)st->alone);
    *st = (wstats){.since = now};
}

/* Publishes riders[0..n) (n <= HOLD_MAX) after their commit, grouped by
 * kind like a batch. */
static void publish_riders(srv *s, chat_commit **riders, size_t n)
{
    chat_commit *same[HOLD_MAX];
    bool done[HOLD_MAX] = {0};

    for (size_t i = 0; i < n; i++) {
        const chat_commit_kind *kind;
        size_t k = 0;

        if (done[i]) /* published already: may be freed */
            continue;
        kind = riders[i]->kind;
        for (size_t j = i; j < n; j++)
            if (!done[j] && riders[j]->kind == kind) {
                same[k++] = riders[j];
                done[j] = true;
            }
        kind->publish(same, k, s->writer_st);
        atomic_fetch_add(&s->stat_commits, (long long)k);
    }
}

/* Commits held riders on their own (nothing carried them in time), then
 * publishes them. */
static void commit_held(srv *s, held *h, wstats *ws)
{
    for (size_t i = 0; i < h->n; i++)
        h->items[i]->kind->commit(&h->items[i], 1, s->writer_st);
    ws->alone += (int64_t)h->n;
    publish_riders(s, h->items, h->n);
    h->n = 0;
}

/* A slow group commit, at debug: where its time went. The COMMIT is the
 * log's write and its fsync (and the writer's own checkpoint, "inline"). */
static void log_slow(srv *s, const chat_commit_kind *kind, size_t n, uint64_t started,
                     uint64_t committed)
{
    store_tx_timing t = {0};

    (void)store_last_tx_timing(s->writer_st, &t);
    SRV_DEBUG("writer",
              "slow group: %s x%zu, %.2f ms (wait for the lock %.2f, BEGIN %.2f, statements "
              "%.2f, COMMIT+fsync %.2f of which checkpoint %.2f), ended at %.3f s",
              kind->name, n, (double)(committed - started) / 1e6, (double)t.turn_ns / 1e6,
              (double)t.begin_ns / 1e6, (double)t.body_ns / 1e6, (double)t.commit_ns / 1e6,
              (double)t.maint_ns / 1e6, (double)committed / 1e9);
}

/* Commits and publishes one group of the same kind, carrying the held
 * riders in its transaction when the kind can. */
static void run_group(srv *s, chat_commit **items, size_t n, held *h, wstats *ws)
{
    const chat_commit_kind *kind = items[0]->kind;
    uint64_t started = base_now_ns(), committed;
    int64_t t0 = (int64_t)(started / 1000), t1;
    bool carried = false;

    if (kind->carry && h->n) {
        carried = kind->carry(items, n, h->items, h->n, s->writer_st);
        if (carried)
            ws->carried += (int64_t)h->n;
    } else
        kind->commit(items, n, s->writer_st);
    committed = base_now_ns();
    t1 = (int64_t)(committed / 1000);
    srv_metrics_batch(s->metrics, n, committed - started);
    if (committed - started > SLOW_GROUP_NS && srv_log_enabled(SRV_LOG_DEBUG))
        log_slow(s, kind, n, started, committed);
    group_now.started = started;
    group_now.committed = committed;
    if (carried) {
        publish_riders(s, h->items, h->n);
        h->n = 0;
    } /* else they wait for the next carrier, or HOLD_MS */
    kind->publish(items, n, s->writer_st);
    group_now.started = group_now.committed = 0;
    ws->store_us += t1 - t0;
    if (t1 - t0 > ws->store_max_us)
        ws->store_max_us = t1 - t0;
    ws->post_us += mono_us() - t1;
}

/* Groups a popped list by kind, keeping the queue's order within a kind
 * (kinds are few: the first item of each remaining kind leads a pass).
 * Riders join the held ones first, so that this batch's carrier takes
 * them too. */
static void run_batch(srv *s, chat_commit *list, chat_commit **items, held *h, wstats *ws)
{
    chat_commit *rest = NULL, **rtail = &rest;

    for (chat_commit *c = list, *nx; c; c = nx) {
        nx = c->next;
        c->next = NULL;
        if (!c->kind->ride) {
            *rtail = c;
            rtail = &c->next;
            continue;
        }
        if (h->n == HOLD_MAX)
            commit_held(s, h, ws);
        if (!h->n)
            h->since_us = mono_us();
        h->items[h->n++] = c;
    }
    list = rest;
    while (list) {
        const chat_commit_kind *kind = list->kind;
        size_t n = 0;

        rest = NULL;
        rtail = &rest;
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
        run_group(s, items, n, h, ws);
        ws->items += (int64_t)n;
        atomic_fetch_add(&s->stat_commits, (long long)n);
        list = rest;
    }
    if (h->n && mono_us() - h->since_us >= (int64_t)HOLD_MS * 1000)
        commit_held(s, h, ws);
    ws->batches++;
}

static void *writer_main(void *arg)
{
    srv *s = arg;
    size_t max = (size_t)s->cfg->writer_batch, n;
    chat_commit **items = calloc(max, sizeof *items);
    srv_qnode *list;
    wstats ws = {0};
    held h = {0};
    bool stats = srv_log_enabled(SRV_LOG_DEBUG);

    if (!items) {
        SRV_ERROR("writer", "out of memory");
        return NULL;
    }
    for (;;) {
        bool timed_out = false;

        if (h.n) {
            int64_t left = (int64_t)HOLD_MS * 1000 - (mono_us() - h.since_us);

            list = left > 0 ? srv_queue_pop_many_for(&s->appends, max, &n,
                                                     (int)((left + 999) / 1000), &timed_out)
                            : NULL;
            if (!list && (timed_out || left <= 0)) {
                commit_held(s, &h, &ws); /* no carrier came in time */
                continue;
            }
        } else
            list = srv_queue_pop_many(&s->appends, max, &n);
        if (!list)
            break; /* closed and empty */
        run_batch(s, (chat_commit *)list, items, &h, &ws);
        /* An idle moment (everything committed is published, nothing
         * waits): the store's housekeeping that needs this connection runs
         * now, not inside a commit messages wait for (store_maintain). */
        if (!srv_queue_len(&s->appends))
            (void)store_maintain(s->writer_st);
        if (stats)
            stats_tick(&ws);
    }
    commit_held(s, &h, &ws); /* at stop: nothing held is dropped */
    free(items);
    return NULL;
}

/* The writer's store housekeeping (checkpoints), for the metrics and, at
 * debug, with a time on the same clock as the slow groups' lines. */
static void on_maint(void *arg, const store_maint_event *ev)
{
    srv *s = arg;

    srv_metrics_maint(s->metrics, ev->what, ev->ns);
    SRV_DEBUG("store", "%s: %.2f ms, log %d pages, %d copied, ended at %.3f s", ev->what,
              (double)ev->ns / 1e6, ev->log_pages, ev->copied_pages, (double)base_now_ns() / 1e9);
}

int srv_writer_start(srv *s)
{
    store_options so = {.version = 1,
                        .path = s->db_path,
                        .maintenance = STORE_MAINT_BACKGROUND,
                        .on_maint = on_maint,
                        .maint_arg = s};
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
