/*
 * srv_writer.c — the store writer: group commit of message appends.
 *
 * One thread takes every append waiting in its queue (up to writer_batch)
 * and stores them with store_message_append_batch(): one transaction, one
 * WAL sync for the lot. Only after that commit does any job go back to the
 * loop, so an acknowledgement (HTTP 201 or message.ack) and a message.new
 * push always describe a message that survives kill -9. Idempotency
 * (client_id) is the store's: a repeat inside or across batches comes back
 * as a duplicate of the stored message and is not pushed again.
 *
 * The writer's store handle is opened with STORE_MAINT_BACKGROUND: the
 * backend's housekeeping (SQLite's WAL checkpoints) runs off the commit
 * path, in a thread the handle owns (store_sqlite_ckpt.c says why).
 */
#include "srv_handlers.h"
#include "srv_log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_RETRIES 20
#define STATS_MS     5000

/* Where the writer's time goes (logged at debug every STATS_MS): batches,
 * messages, time inside the store (the commit and its fsync) and after it
 * (replies, events). */
typedef struct wstats {
    int64_t since, batches, msgs, store_us, post_us, store_max_us;
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
                  "%lld batches, %.1f msgs each, store %.2f ms (max %.2f), after %.2f ms per batch",
                  (long long)st->batches, (double)st->msgs / (double)st->batches,
                  (double)st->store_us / 1000.0 / (double)st->batches,
                  (double)st->store_max_us / 1000.0,
                  (double)st->post_us / 1000.0 / (double)st->batches);
    *st = (wstats){.since = now};
}

static void commit_batch(srv *s, srv_req **reqs, size_t n, wstats *ws)
{
    int64_t t0 = mono_us(), t1;
    store_message_new *m = calloc(n, sizeof *m);
    store_message *out = calloc(n, sizeof *out);
    int *rcs = calloc(n, sizeof *rcs);
    bool *dup = calloc(n, sizeof *dup);
    int rc = STORE_NOMEM;

    if (!m || !out || !rcs || !dup)
        goto done;
    for (size_t i = 0; i < n; i++) {
        srv_append *a = reqs[i]->append;

        /* The commit's time for the message and what goes with it. */
        a->m.now = a->alert_new.now = a->audit_new.time = srv_now_ms();
        m[i] = a->m;
    }
    for (int attempt = 0; attempt < BUSY_RETRIES; attempt++) {
        rc = store_message_append_batch(s->writer_st, m, n, out, rcs, dup);
        if (rc != STORE_BUSY)
            break;
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
    if (rc != STORE_OK)
        SRV_ERROR("writer", "batch of %zu failed: %s (%s)", n, store_strerror(rc),
                  store_errmsg(s->writer_st));
done:
    t1 = mono_us();
    for (size_t i = 0; i < n; i++) {
        srv_append *a = reqs[i]->append;

        a->rc = rc != STORE_OK ? rc : rcs[i];
        if (a->rc == STORE_OK) {
            a->out = out[i]; /* moves the strings */
            a->duplicate = dup[i];
        } else if (out)
            store_message_clear(&out[i]);
        srv_msg_committed(reqs[i], s->writer_st);
        srv_complete(s, &reqs[i]->job);
    }
    ws->batches++;
    ws->msgs += (int64_t)n;
    ws->store_us += t1 - t0;
    if (t1 - t0 > ws->store_max_us)
        ws->store_max_us = t1 - t0;
    ws->post_us += mono_us() - t1;
    free(m);
    free(out);
    free(rcs);
    free(dup);
}

/* ---- writer ------------------------------------------------------------------- */

static void *writer_main(void *arg)
{
    srv *s = arg;
    size_t max = (size_t)s->cfg->writer_batch, n;
    srv_req **reqs = calloc(max, sizeof *reqs);
    srv_qnode *list;
    wstats ws = {0};
    bool stats = srv_log_enabled(SRV_LOG_DEBUG);

    if (!reqs) {
        SRV_ERROR("writer", "out of memory");
        return NULL;
    }
    while ((list = srv_queue_pop_many(&s->appends, max, &n))) {
        size_t k = 0;

        srv_qnode *rcpts = NULL, **rtail = &rcpts;

        for (srv_qnode *q = list, *nx; q; q = nx) {
            nx = q->next;
            if (srv_receipts_job((srv_job *)q)) {
                *rtail = q;
                rtail = &q->next;
                q->next = NULL;
            } else
                reqs[k++] = (srv_req *)q;
        }
        if (k)
            commit_batch(s, reqs, k, &ws);
        if (stats)
            stats_tick(&ws);
        atomic_fetch_add(&s->stat_messages, (long long)k);
        /* Receipts after the messages: acks are not held up by them. */
        for (srv_qnode *q = rcpts, *nx; q; q = nx) {
            nx = q->next;
            srv_receipts_write((srv_job *)q, s->writer_st);
        }
    }
    free(reqs);
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

void srv_writer_submit(srv *s, srv_req *r)
{
    /* Unbounded on purpose: every append here was already admitted through
     * the bounded job queue, and dropping one now would lose an accepted
     * message. */
    srv_queue_push(&s->appends, &r->job.node, true);
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

void srv_append_free(srv_append *a)
{
    if (!a)
        return;
    free(a->client_id);
    free(a->text);
    free(a->justification);
    srv_conv_snap_unref(a->conv);
    json_decref(a->guard);
    free(a->alert_category);
    free(a->alert_rule);
    free(a->alert_verdict);
    free(a->findings_json);
    free(a->actor);
    free(a->audit_detail);
    store_message_clear(&a->out);
    free(a);
}
