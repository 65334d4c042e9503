/*
 * srv_clock.c — one timer on the loop for every reminder and every burn
 * message, however many there are: no thread and no timer per item.
 *
 * Each second (and at start, so what came due while the server was down
 * fires at once, marked late by the chat domain) the loop hands one job
 * to a worker — never more than one at a time (s->clock_busy, set and
 * cleared on the loop). The worker reads what is due from the store (an
 * indexed range: the store is the schedule, so nothing is lost by a
 * restart) and plans it with the chat domain (chat_remind.h, chat_burn.h);
 * the writer commits. The tick's job stays in flight until the writer is
 * done with what it planned, so the next tick does not plan it again. And
 * should it ever (a crash between), a reminder's card and its move to the
 * next time are one transaction, and its client id names the occurrence:
 * the store answers a second firing as a repeat. A reminder never fires
 * twice.
 *
 * Several nodes (srv_bus_redis.h): only the node holding the leader lease
 * plans; the others tick and skip. A leader that dies stops renewing: its
 * lease runs out within lease_ms (5 s) and another node takes it at its
 * next heartbeat (1 s), so timers stall at most ~6 s and then fire late
 * (marked late past reminder_late_seconds). Were two nodes ever to plan the
 * same reminder, the store's repeat check above keeps it to one firing.
 */
#include "srv_clock.h"

#include "chat/chat_burn.h"
#include "chat/chat_remind.h"
#include "srv_handlers.h"
#include "srv_bus_redis.h"
#include "srv_log.h"
#include "srv_pool.h"
#include "srv_writer.h"

#include <stdatomic.h>
#include <stdlib.h>

#define CLOCK_MS 1000
/* Items per tick; more wait for the next tick rather than hold a worker. */
#define CLOCK_REMINDERS 100
#define CLOCK_BURNS     64

static void schedule(srv *s);

/* A tick's job: it stays in flight (s->clock_busy) until the writer is done
 * with every commit it planned, so the next tick never plans the same
 * reminder or burn message again while its commit waits in the queue. */
typedef struct clock_job {
    srv_job job; /* first */
    srv *srv;
    atomic_int left; /* commits not done yet, plus one while planning */
} clock_job;

/* What a commit's own done was, called before the job counts it done. */
typedef struct clock_wrap {
    void (*done)(chat_commit *c, void *arg);
    void *arg;
    clock_job *cj;
} clock_wrap;

static void clock_release(clock_job *cj)
{
    if (atomic_fetch_sub(&cj->left, 1) == 1)
        srv_complete(cj->srv, &cj->job);
}

/* Writer thread, after the commit's publish. */
static void clock_done(chat_commit *c, void *arg)
{
    clock_wrap *cw = arg;
    clock_job *cj = cw->cj;

    c->done = cw->done;
    c->arg = cw->arg;
    free(cw);
    if (c->done)
        c->done(c, c->arg); /* it frees c */
    else
        chat_commit_free(c);
    clock_release(cj);
}

static void clock_submit(clock_job *cj, chat_commit *c)
{
    clock_wrap *cw = malloc(sizeof *cw);

    if (cw) {
        *cw = (clock_wrap){.done = c->done, .arg = c->arg, .cj = cj};
        c->done = clock_done;
        c->arg = cw;
        atomic_fetch_add(&cj->left, 1);
    }
    /* Without memory for the wrapper the commit still goes; the next tick
     * may plan it again, which the store answers as a repeat. */
    srv_writer_submit(cj->srv, c);
}

static bool clock_work(srv_job *j, srv_worker *w)
{
    clock_job *cj = (clock_job *)j;
    chat_env e = srv_chat_env(w);
    store_reminders l = {0};
    int64_t now = srv_now_ms(), ids[CLOCK_BURNS];
    size_t n = 0;
    int rc;

    rc = store_reminder_due(w->st, now, CLOCK_REMINDERS, &l);
    if (rc)
        SRV_WARN("clock", "reading due reminders: %s", store_strerror(rc));
    for (size_t i = 0; i < l.n; i++) {
        chat_commit *c[2];
        size_t k = 0;

        chat_remind_fire_plan(&e, &l.items[i], now, c, &k);
        for (size_t x = 0; x < k; x++)
            clock_submit(cj, c[x]);
    }
    store_reminders_free(&l);
    rc = store_burn_due(w->st, now, ids, CLOCK_BURNS, &n);
    if (rc)
        SRV_WARN("clock", "reading due burn messages: %s", store_strerror(rc));
    for (size_t i = 0; i < n; i++) {
        chat_commit *c = chat_burn_destroy_plan(&e, ids[i]);

        if (c)
            clock_submit(cj, c);
    }
    /* The planning's own count: the job is done now if nothing was
     * planned, else when the writer finishes the last commit. */
    if (atomic_fetch_sub(&cj->left, 1) == 1)
        return true;
    return false;
}

static void clock_finish(srv_job *j, srv *s)
{
    free(j);
    s->clock_busy = false;
}

static void tick(lws_sorted_usec_list_t *sul)
{
    srv *s = lws_container_of(sul, srv, clock);
    clock_job *cj;

    if (s->stopping)
        return;
    if (s->busr && !srv_bus_redis_leader(s->busr)) {
        schedule(s); /* another node fires */
        return;
    }
    if (!s->clock_busy && (cj = calloc(1, sizeof *cj))) {
        cj->job.work = clock_work;
        cj->job.finish = clock_finish;
        cj->job.ev_tail = &cj->job.events;
        cj->srv = s;
        atomic_init(&cj->left, 1);
        s->clock_busy = true;
        if (srv_pool_submit(s, &cj->job)) { /* the pool is full: next tick */
            free(cj);
            s->clock_busy = false;
        }
    }
    schedule(s);
}

static void schedule(srv *s)
{
    lws_sul_schedule(s->lws, 0, &s->clock, tick, (lws_usec_t)CLOCK_MS * LWS_US_PER_MS);
}

int srv_clock_start(srv *s)
{
    lws_sul_schedule(s->lws, 0, &s->clock, tick, 1);
    return 0;
}
