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
 * the writer commits. A reminder's card and its move to the next time are
 * one transaction, and its client id names the occurrence, so a tick that
 * overlaps a commit still in the writer's queue repeats a send the store
 * answers as a duplicate: a reminder never fires twice.
 */
#include "srv_clock.h"

#include "chat/chat_burn.h"
#include "chat/chat_remind.h"
#include "srv_handlers.h"
#include "srv_log.h"
#include "srv_pool.h"
#include "srv_writer.h"

#include <stdlib.h>

#define CLOCK_MS 1000
/* Items per tick; more wait for the next tick rather than hold a worker. */
#define CLOCK_REMINDERS 100
#define CLOCK_BURNS     64

static void schedule(srv *s);

static bool clock_work(srv_job *j, srv_worker *w)
{
    srv *s = w->srv;
    chat_env e = srv_chat_env(w);
    store_reminders l = {0};
    int64_t now = srv_now_ms(), ids[CLOCK_BURNS];
    size_t n = 0;
    int rc;

    (void)j;
    rc = store_reminder_due(w->st, now, CLOCK_REMINDERS, &l);
    if (rc)
        SRV_WARN("clock", "reading due reminders: %s", store_strerror(rc));
    for (size_t i = 0; i < l.n; i++) {
        chat_commit *c[2];
        size_t k = 0;

        chat_remind_fire_plan(&e, &l.items[i], now, c, &k);
        for (size_t x = 0; x < k; x++)
            srv_writer_submit(s, c[x]);
    }
    store_reminders_free(&l);
    rc = store_burn_due(w->st, now, ids, CLOCK_BURNS, &n);
    if (rc)
        SRV_WARN("clock", "reading due burn messages: %s", store_strerror(rc));
    for (size_t i = 0; i < n; i++) {
        chat_commit *c = chat_burn_destroy_plan(&e, ids[i]);

        if (c)
            srv_writer_submit(s, c);
    }
    return true;
}

static void clock_finish(srv_job *j, srv *s)
{
    free(j);
    s->clock_busy = false;
}

static void tick(lws_sorted_usec_list_t *sul)
{
    srv *s = lws_container_of(sul, srv, clock);
    srv_job *j;

    if (s->stopping)
        return;
    if (!s->clock_busy && (j = calloc(1, sizeof *j))) {
        j->work = clock_work;
        j->finish = clock_finish;
        j->ev_tail = &j->events;
        s->clock_busy = true;
        if (srv_pool_submit(s, j)) { /* the pool is full: next tick */
            free(j);
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
