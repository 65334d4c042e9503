/*
 * srv_acctwatch.c — account changes reach open connections within a second,
 * whichever process made them.
 *
 * `cordon user disable|role|reset-password` runs in its own process, and an
 * administrator may even edit the database with sqlite3: the server hears of
 * none of it directly. The store records every change that matters to open
 * connections in the changing transaction itself (store_account_changes:
 * a role, the disabled flag, a session ended before its time), and this
 * module reads the records after the last one it saw, a few times a second,
 * on a worker (a store read never runs on the loop). What it finds becomes
 * ordinary close events delivered by the loop:
 *   - a session that ended: its sockets get `session.revoked` and close 4001;
 *   - an account disabled (or gone): every socket of it, the same;
 *   - a role changed: every socket gets `account.changed` and closes 4002;
 *     the client reconnects and is authorised with the new role (a demoted
 *     officer stops receiving alerts at once).
 * The server's own API calls also emit these closes at once; meeting the same
 * change again here closes nothing twice (the sockets are gone).
 */
#include "srv_acctwatch.h"
#include "srv_registry.h"
#include "srv_log.h"
#include "srv_pool.h"
#include "srv_req.h"

#include <stdlib.h>

/* How often the records are read: well inside the promised second. */
#define ACCTWATCH_MS 250
/* Records read per store call, and calls per poll (a burst of more waits
 * for the next poll rather than holding a worker). */
#define ACCTWATCH_BATCH  256
#define ACCTWATCH_ROUNDS 16
/* Records older than this are removed (once an hour). */
#define ACCTWATCH_KEEP_MS  (24LL * 3600 * 1000)
#define ACCTWATCH_PRUNE_MS (3600LL * 1000)

static void schedule(srv *s);

/* Worker: the records after s->acct_seq, turned into close events. Only one
 * such job runs at a time (s->acct_busy, set and cleared on the loop), so
 * acct_seq and acct_pruned_at have one owner at a time. */
static bool watch_work(srv_job *j, srv_worker *w)
{
    srv *s = w->srv;
    store_account_change c[ACCTWATCH_BATCH];
    int64_t now = srv_now_ms();
    size_t n = 0;
    int rc = STORE_OK;

    for (int round = 0; round < ACCTWATCH_ROUNDS; round++) {
        int64_t head = s->acct_seq;

        rc = store_account_changes(w->st, s->acct_seq, c, ACCTWATCH_BATCH, &n, &head);
        if (rc)
            break;
        for (size_t i = 0; i < n; i++) {
            store_user u = {0};
            int urc;

            if (c[i].session_id) {
                srv_emit(j, SRV_EV_CLOSE_SESSION, NULL, c[i].session_id, c[i].user_id, NULL, 0);
                continue;
            }
            urc = store_user_get(w->st, c[i].user_id, &u);
            if (urc && urc != STORE_NOTFOUND) {
                rc = urc; /* seen again at the next poll: acct_seq stays */
                head = i ? c[i - 1].seq : s->acct_seq;
                n = i;
                break;
            }
            srv_emit(j, urc || u.disabled ? SRV_EV_CLOSE_USER : SRV_EV_REAUTH_USER, NULL, 0,
                     c[i].user_id, NULL, 0);
            store_user_clear(&u);
        }
        s->acct_seq = head;
        if (rc || n < ACCTWATCH_BATCH)
            break;
    }
    if (rc)
        SRV_WARN("acctwatch", "reading account changes: %s", store_strerror(rc));
    if (now - s->acct_pruned_at >= ACCTWATCH_PRUNE_MS) {
        rc = store_account_changes_prune(w->st, now - ACCTWATCH_KEEP_MS);
        if (rc)
            SRV_WARN("acctwatch", "pruning account changes: %s", store_strerror(rc));
        else
            s->acct_pruned_at = now;
    }
    return true;
}

/* Loop: deliver what the worker found, then poll again later. */
static void watch_finish(srv_job *j, srv *s)
{
    srv_deliver_events(s, j->events);
    srv_events_free(j->events);
    free(j);
    s->acct_busy = false;
}

static void tick(lws_sorted_usec_list_t *sul)
{
    srv *s = lws_container_of(sul, srv, acctwatch);
    srv_job *j;

    if (s->stopping)
        return;
    if (!s->acct_busy && (j = calloc(1, sizeof *j))) {
        j->work = watch_work;
        j->finish = watch_finish;
        j->ev_tail = &j->events;
        s->acct_busy = true;
        if (srv_pool_submit(s, j)) { /* the pool is full: next tick */
            free(j);
            s->acct_busy = false;
        }
    }
    schedule(s);
}

static void schedule(srv *s)
{
    lws_sul_schedule(s->lws, 0, &s->acctwatch, tick, (lws_usec_t)ACCTWATCH_MS * LWS_US_PER_MS);
}

int srv_acctwatch_start(srv *s)
{
    size_t n;
    int rc;

    /* Changes before the start concern no socket of this process. */
    rc = store_account_changes(s->st, -1, NULL, 0, &n, &s->acct_seq);
    if (rc) {
        SRV_ERROR("acctwatch", "reading account changes: %s", store_strerror(rc));
        return -1;
    }
    s->changed_frame = srv_event_buf("account.changed", json_object());
    if (!s->changed_frame)
        return -1;
    schedule(s);
    return 0;
}
