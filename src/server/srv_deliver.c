/*
 * srv_deliver.c — the server's subscriber on the chat bus and the loop-side
 * delivery of events (srv_registry.h, second half).
 *
 * A chat event (chat_event.h) is serialised once, on the publishing
 * thread, into one refcounted buffer; a small job carries it to the loop,
 * which hands that buffer to the registry for every socket of the users it
 * names, and notes the deliveries of a message for its receipts
 * (srv_receipt.c).
 *
 * With a bus between nodes, events of other nodes can be lost (a Redis
 * restart): the gap fill at the end reads the messages this node may have
 * missed from the store and hands each, as each member sees it in history,
 * to this node's sockets once, then the recalls the store records since the
 * gap began, then tells every socket to re-read what the store keeps and
 * the bus alone carried (the `sync` frame; docs/SCALING.md).
 */
#include "srv_registry.h"

#include "chat/chat_json.h"
#include "chat/chat_view.h"
#include "srv_handlers.h"
#include "srv_bus_redis.h"
#include "srv_log.h"
#include "srv_pool.h"
#include "srv_receipt.h"
#include "srv_req.h"
#include "srv_writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- delivery of handler events (loop thread) ----------------------------- */

/* Records the delivery (stored pointers, srv_receipt.c) and queues the
 * live `receipt` to the sender. Compacts reached[] in place. */
static void delivered_receipt(srv *s, const srv_event *msg, int64_t *reached, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (reached[i] != msg->sender_id) {
            srv_receipts_note(s->receipts, msg->conv_id, reached[i], msg->msg_id);
            reached[k++] = reached[i];
        }
    srv_receipts_live(s->receipts, msg->sender_id, msg->conv_id, msg->msg_id, reached, k);
}

/* A handler's event to users or the staff: the other nodes' sockets of
 * them get it through the bus (this node's get it below). */
static void forward(srv *s, const srv_event *ev)
{
    chat_event ce = {.type = CHAT_EV_CONVERSATION,
                     .audience = ev->kind == SRV_EV_STAFF ? CHAT_TO_STAFF : CHAT_TO_USERS,
                     .users = ev->users,
                     .n_users = ev->n_users,
                     .wire = (const char *)srv_buf_payload(ev->buf)};

    srv_bus_redis_forward(s->busr, &ce);
}

void srv_deliver_events(srv *s, srv_event *ev)
{
    for (; ev; ev = ev->next) {
        if (s->busr && !ev->from_bus && ev->buf &&
            (ev->kind == SRV_EV_USERS || ev->kind == SRV_EV_STAFF))
            forward(s, ev);
        switch (ev->kind) {
        case SRV_EV_USERS: {
            int64_t small[64], *reached = small;
            size_t n;

            if (!ev->buf)
                break;
            if (ev->n_users > 64) {
                reached = malloc(ev->n_users * sizeof *reached);
                if (!reached)
                    break;
            }
            n = s->registry->ops->to_users(s->registry, ev->users, ev->n_users, ev->buf, reached);
            if (ev->msg_id)
                delivered_receipt(s, ev, reached, n);
            if (reached != small)
                free(reached);
            break;
        }
        case SRV_EV_STAFF:
            if (ev->buf)
                s->registry->ops->to_staff(s->registry, ev->buf);
            break;
        case SRV_EV_CLOSE_SESSION:
            s->registry->ops->close_sessions(s->registry, ev->uid, ev->id, false, s->revoked_frame,
                                             4001, "session revoked");
            break;
        case SRV_EV_CLOSE_USER:
            s->registry->ops->close_sessions(s->registry, ev->uid, ev->id, true, s->revoked_frame,
                                             4001, "session revoked");
            break;
        case SRV_EV_REAUTH_USER:
            s->registry->ops->close_sessions(s->registry, ev->uid, 0, true, s->changed_frame, 4002,
                                             "account changed");
            break;
        }
    }
}

void srv_events_free(srv_event *ev)
{
    while (ev) {
        srv_event *nx = ev->next;

        srv_buf_unref(ev->buf);
        free(ev);
        ev = nx;
    }
}

/* ---- the chat bus subscriber (any thread) ------------------------------------ */

/* A buffer holding the concatenation of parts[0..n). NULL when out of
 * memory. */
static srv_buf *splice(const char *const *parts, size_t n)
{
    size_t len = 0, at = 0;
    srv_buf *b;

    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]);
    b = srv_buf_new(len);
    for (size_t i = 0; b && i < n; i++) {
        size_t k = strlen(parts[i]);

        memcpy(srv_buf_payload(b) + at, parts[i], k);
        at += k;
    }
    return b;
}

/* The last message.new serialised on this thread (the writer publishes a
 * message, then answers its sender at once): the answer splices the same
 * text instead of serialising the message a second time. */
static __thread struct {
    int64_t id;
    char *json;
} last_msg;

/* A thread that ends (the writer, at shutdown) takes its kept text along:
 * a thread-local pointer is no root for anything once the thread is gone. */
static pthread_key_t last_msg_key;
static pthread_once_t last_msg_once = PTHREAD_ONCE_INIT;

static void last_msg_end(void *unused)
{
    (void)unused;
    free(last_msg.json);
    last_msg.json = NULL;
    last_msg.id = 0;
}

static void last_msg_key_new(void)
{
    (void)pthread_key_create(&last_msg_key, last_msg_end);
}

char *srv_wire_take_message(int64_t id)
{
    char *json = NULL;

    if (id && last_msg.id == id) {
        json = last_msg.json;
        last_msg.json = NULL;
        last_msg.id = 0;
    }
    return json;
}

srv_buf *srv_buf_splice(const char *const *parts, size_t n)
{
    return splice(parts, n);
}

/* The wire form of an event, once for all its recipients. */
static srv_buf *wire(const chat_event *ev)
{
    json_t *mj;
    char *msg;
    srv_buf *b;

    switch (ev->type) {
    case CHAT_EV_MESSAGE_NEW:
        /* The hot path: the message's JSON spliced into the frame rather
         * than a second tree around it. */
        mj = chat_json_message(ev->message);
        msg = mj ? json_dumps(mj, JSON_COMPACT) : NULL;
        json_decref(mj);
        b = msg ? splice((const char *[]){"{\"type\":\"message.new\",\"message\":", msg, "}"}, 3)
                : NULL;
        /* Kept for the sender's answer, built next on this thread. */
        pthread_once(&last_msg_once, last_msg_key_new);
        pthread_setspecific(last_msg_key, &last_msg); /* non-NULL: the destructor runs */
        free(last_msg.json);
        last_msg.id = msg ? ev->msg_id : 0;
        last_msg.json = msg;
        return b;
    case CHAT_EV_MESSAGE_RECALLED:
        if (chat_json_contained_name(ev->contained))
            return srv_event_buf("message.recalled",
                                 json_pack("{s:I,s:I,s:s,s:s}", "conversation_id",
                                           (json_int_t)ev->conv_id, "message_id",
                                           (json_int_t)ev->msg_id, "by", "officer", "contained",
                                           chat_json_contained_name(ev->contained)));
        return srv_event_buf("message.recalled",
                             json_pack("{s:I,s:I}", "conversation_id", (json_int_t)ev->conv_id,
                                       "message_id", (json_int_t)ev->msg_id));
    case CHAT_EV_ALERT_NEW:
        return srv_event_buf("alert.new", json_pack("{s:o}", "alert", chat_json_alert(ev->alert)));
    case CHAT_EV_RECEIPT_READ:
        return srv_event_buf("receipt", json_pack("{s:I,s:s,s:I,s:[I]}", "conversation_id",
                                                  (json_int_t)ev->conv_id, "kind", "read",
                                                  "message_id", (json_int_t)ev->msg_id, "user_ids",
                                                  (json_int_t)ev->sender_id));
    case CHAT_EV_CONVERSATION:
        return srv_event_buf(chat_event_name(ev), json_deep_copy(ev->body));
    }
    return NULL;
}

char *srv_wire_text(void *arg, const chat_event *ev)
{
    srv_buf *b = wire(ev);
    char *text = b ? strndup((const char *)srv_buf_payload(b), b->len) : NULL;

    (void)arg;
    srv_buf_unref(b);
    return text;
}

static void push_finish(srv_job *j, srv *s)
{
    srv_deliver_events(s, j->events);
    srv_events_free(j->events);
    free(j);
}

static void sub_deliver(chat_sub *cs, const chat_event *ev, const int64_t *users, size_t n)
{
    srv *s = ((srv_sub *)cs)->srv;
    srv_job *j = calloc(1, sizeof *j);
    /* Serialised once already when a bus between nodes carries it. */
    srv_buf *b = !j ? NULL : ev->wire ? srv_buf_from(ev->wire, strlen(ev->wire)) : wire(ev);

    if (!b) {
        /* Not pushed: the store has it, clients re-read (chat_event.h). */
        SRV_WARN("bus", "%s: out of memory; not pushed", chat_event_name(ev));
        free(j);
        return;
    }
    j->finish = push_finish;
    j->ev_tail = &j->events;
    srv_emit(j, ev->audience == CHAT_TO_STAFF ? SRV_EV_STAFF : SRV_EV_USERS, b, 0, 0, users, n);
    if (j->events)
        j->events->from_bus = true;
    if (j->events && ev->type == CHAT_EV_MESSAGE_NEW) {
        uint64_t started;

        /* The fan-out stage runs from the commit's end (srv_metrics.h). */
        srv_writer_group_times(&started, &b->t_commit_ns);
        /* For delivered receipts (srv_receipt.c). */
        j->events->msg_id = ev->msg_id;
        j->events->conv_id = ev->conv_id;
        j->events->sender_id = ev->sender_id;
    }
    atomic_fetch_add(&s->jobs_in_flight, 1);
    srv_complete(s, j);
}

void srv_sub_init(srv *s)
{
    s->sub.base.deliver = sub_deliver;
    s->sub.srv = s;
}

/* ---- the gap fill (srv_bus_redis.h; docs/SCALING.md) ---------------------------- */

#define FILL_PAGE     500    /* messages read a round */
#define FILL_SCAN_MAX 100000 /* read at most, delivered or not: beyond, resync */

#define FILL_CONVS 64 /* conversations whose members a page keeps */

/* Recalls older than the floor re-sent at most (one page): beyond, the
 * sync frame has the clients re-read their open conversation. */
#define FILL_RECALLS 500
/* Before the gap's start, as the floor's margin (srv_bus_redis.c): a
 * recall stamped by another node's clock a little behind this one's. */
#define FILL_SINCE_MARGIN_MS 5000
/* The clients' re-reads after a sync are spread over up to this long
 * (a millisecond for every other socket): a node's every client at once
 * would be a burst of list reads. */
#define SYNC_SPREAD_MAX_MS 10000

/* A conversation's history flag and members, read once for a page of
 * messages rather than once a message (a gap's messages are mostly in a
 * few busy conversations). */
typedef struct fill_conv {
    int64_t id;
    bool shared_history;
    store_members ml;
} fill_conv;

typedef struct fill_job {
    srv_job job; /* first */
    int64_t after_id;
    int64_t since; /* the gap's start (wall ms, a margin before) */
    bool resync;   /* more than the fill may do: every socket resyncs */
    fill_conv convs[FILL_CONVS];
    size_t n_convs;
} fill_job;

static void page_forget(fill_job *f)
{
    for (size_t i = 0; i < f->n_convs; i++)
        store_members_free(&f->convs[i].ml);
    f->n_convs = 0;
}

/* conv_id's entry for this page, read from the store when new. */
static int page_conv(fill_job *f, store *st, int64_t conv_id, const fill_conv **out)
{
    store_conv c = {0};
    fill_conv *fc;
    int rc;

    for (size_t i = 0; i < f->n_convs; i++)
        if (f->convs[i].id == conv_id) {
            *out = &f->convs[i];
            return STORE_OK;
        }
    if (f->n_convs == FILL_CONVS)
        page_forget(f);
    fc = &f->convs[f->n_convs];
    *fc = (fill_conv){.id = conv_id};
    rc = store_conv_get(st, conv_id, &c);
    if (!rc)
        rc = store_member_list(st, conv_id, &fc->ml);
    fc->shared_history = c.shared_history;
    store_conv_clear(&c);
    if (rc) {
        store_members_free(&fc->ml);
        return rc;
    }
    f->n_convs++;
    *out = fc;
    return STORE_OK;
}

/* Every socket of this node re-reads from the store (the client's resync):
 * what the fill cannot do. */
static void resync_all(srv *s, const char *why)
{
    size_t n = s->registry->ops->count(s->registry);

    if (!n)
        return;
    SRV_WARN("bus", "events of other nodes may be lost (%s): %zu sockets resync", why, n);
    s->registry->ops->close_all(s->registry, s->gap_frame, 4002, "resync");
}

/* One variant of m's message.new (a class of viewer, chat_view.h) to users. */
static void fill_variant(srv *s, const chat_env *e, const store_message *m, const chat_viewer *v,
                         const int64_t *users, size_t n)
{
    bool hidden = false;
    json_t *o;
    char *msg;
    srv_buf *b;
    chat_event ev;

    if (!n)
        return;
    o = chat_view_message(e, v, m, &hidden);
    msg = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    b = msg ? splice((const char *[]){"{\"type\":\"message.new\",\"message\":", msg, "}"}, 3)
            : NULL;
    free(msg);
    if (!b) {
        if (!hidden)
            SRV_WARN("bus", "gap fill: message %lld: out of memory; not pushed", (long long)m->id);
        return;
    }
    ev = (chat_event){.type = CHAT_EV_MESSAGE_NEW,
                      .audience = CHAT_TO_USERS,
                      .conv_id = m->conv_id,
                      .msg_id = m->id,
                      .sender_id = m->sender_id,
                      .users = users,
                      .n_users = n,
                      .wire = (const char *)srv_buf_payload(b)};
    srv_bus_redis_fill_deliver(s->busr, &ev);
    srv_buf_unref(b);
}

/* m, read from the store after the gap's floor, to this node's sockets of
 * the members who may see it, each as history serves it to them
 * (chat_view.h: the boundary rule, the external scope inspected again, the
 * inbound warning for the organisation's own people only) — never
 * anything unguarded. Not delivered before: message.new; delivered before
 * and recalled (or contained) since: message.recalled. */
static void fill_message(srv *s, srv_worker *w, fill_job *f, const store_message *m,
                         bool recall_only)
{
    chat_env e = srv_chat_env(w);
    bool fresh = !recall_only && srv_bus_redis_fill_claim(s->busr, m->id);
    const fill_conv *fc = NULL;
    int64_t *users = NULL;
    size_t n[3] = {0};
    int rc;

    if (!fresh && !m->recalled && !m->contained)
        return;
    rc = page_conv(f, w->st, m->conv_id, &fc);
    if (!rc && !(users = calloc(3 * (fc->ml.n ? fc->ml.n : 1), sizeof *users)))
        rc = STORE_NOMEM;
    if (rc) {
        SRV_WARN("bus", "gap fill: message %lld: %s", (long long)m->id, store_strerror(rc));
        goto out;
    }
    /* Three classes of viewer see it alike: internal members; external
     * ones; the sender when external (their own text, never re-judged). */
    for (size_t i = 0; i < fc->ml.n; i++) {
        const store_member *me = &fc->ml.items[i];
        chat_viewer v = {.user_id = me->user_id,
                         .external = me->external,
                         .shared_history = fc->shared_history,
                         .history_from = me->history_from};
        int k = !me->external ? 0 : me->user_id == m->sender_id ? 2 : 1;

        if (chat_viewer_sees_id(&v, m->id))
            users[k * fc->ml.n + n[k]++] = me->user_id;
    }
    if (fresh) {
        /* Past the boundary already: the viewer of a class sees the id. */
        chat_viewer internal = {.shared_history = true};
        chat_viewer external = {.external = true, .shared_history = true};
        chat_viewer sender = {.user_id = m->sender_id, .external = true, .shared_history = true};

        fill_variant(s, &e, m, &internal, users, n[0]);
        fill_variant(s, &e, m, &external, users + fc->ml.n, n[1]);
        fill_variant(s, &e, m, &sender, users + 2 * fc->ml.n, n[2]);
    } else {
        chat_event ev = {.type = CHAT_EV_MESSAGE_RECALLED,
                         .audience = CHAT_TO_USERS,
                         .conv_id = m->conv_id,
                         .msg_id = m->id,
                         .contained = m->contained};
        char *wire = srv_wire_text(s, &ev);

        for (int k = 0; wire && k < 3; k++)
            if (n[k]) {
                ev.users = users + k * fc->ml.n;
                ev.n_users = n[k];
                ev.wire = wire;
                srv_bus_redis_fill_deliver(s->busr, &ev);
            }
        free(wire);
    }
out:
    free(users);
}

/* The recalls and containments since the gap began of messages at or below
 * the floor (those above it were seen by the fill): message.recalled to
 * the members who may see each, whether or not this node delivered it
 * (it may be in a history a client already read). */
static void fill_recalls(srv *s, srv_worker *w, fill_job *f)
{
    store_messages l = {0};
    int rc = store_message_recalled_since(w->st, f->since, f->after_id, FILL_RECALLS, &l);

    if (rc) {
        /* The sync frame still follows: clients re-read the open thread. */
        SRV_WARN("bus", "gap fill: recalls: %s", store_strerror(rc));
        return;
    }
    for (size_t i = 0; i < l.n; i++)
        fill_message(s, w, f, &l.items[i], true);
    page_forget(f);
    if (l.n)
        SRV_INFO("bus", "gap fill: %zu recalls of messages up to %lld re-sent", l.n,
                 (long long)f->after_id);
    store_messages_free(&l);
}

/* A worker: the messages after the floor, oldest first, a page at a time;
 * more than bus_gap_fill_max not delivered yet (or a store error) and the
 * node's sockets resync instead. What was handed on by then arrives
 * before the resync frame (the loop takes the jobs in order). */
static bool fill_work(srv_job *j, srv_worker *w)
{
    fill_job *f = (fill_job *)j;
    srv *s = w->srv;
    int64_t after = f->after_id, missing = 0, t0 = srv_now_ms();
    size_t read = 0;
    int rc = 0;

    while (!f->resync) {
        store_messages l = {0};

        rc = store_message_after(w->st, after, FILL_PAGE, &l);
        if (rc) {
            SRV_WARN("bus", "gap fill: %s", store_strerror(rc));
            f->resync = true;
            break;
        }
        for (size_t i = 0; i < l.n && !f->resync; i++) {
            after = l.items[i].id;
            read++;
            if (!srv_bus_redis_delivered(s->busr, after) && ++missing > s->cfg->bus_gap_fill_max)
                f->resync = true;
            else
                fill_message(s, w, f, &l.items[i], false);
        }
        /* Members are read afresh for each page: a page is one moment. */
        page_forget(f);
        if (l.n < FILL_PAGE) {
            store_messages_free(&l);
            break; /* the newest was read */
        }
        store_messages_free(&l);
        if (read >= FILL_SCAN_MAX)
            f->resync = true; /* too many to look through */
    }
    if (!f->resync)
        fill_recalls(s, w, f);
    if (!f->resync)
        SRV_INFO("bus", "gap filled from the store: %lld messages after %lld (%zu read) in %lld ms",
                 (long long)missing, (long long)f->after_id, read, (long long)(srv_now_ms() - t0));
    return true;
}

/* After the filled messages (the loop took their jobs first): every socket
 * re-reads what the bus carried and the store keeps but the fill does not
 * re-send — the conversation list (titles, members), read receipts, alerts,
 * uploads' states (docs/API.md, `sync`). */
static void sync_all(srv *s, int64_t since)
{
    size_t n = s->registry->ops->count(s->registry);
    int64_t spread = n / 2 < SYNC_SPREAD_MAX_MS ? (int64_t)(n / 2) : SYNC_SPREAD_MAX_MS;
    srv_buf *b;

    if (!n)
        return;
    b = srv_event_buf("sync", json_pack("{s:I,s:I}", "since", (json_int_t)since, "spread_ms",
                                        (json_int_t)spread));
    if (!b) {
        resync_all(s, "out of memory for the sync frame");
        return;
    }
    s->registry->ops->to_all(s->registry, b);
    srv_buf_unref(b);
}

static void fill_finish(srv_job *j, srv *s)
{
    fill_job *f = (fill_job *)j;

    if (f->resync)
        resync_all(s, "more than the gap fill's bound");
    else
        sync_all(s, f->since);
    srv_bus_redis_fill_done(s->busr); /* what was filled is on the loop's queue */
    page_forget(f);
    free(f);
}

void srv_gap_fill(srv *s)
{
    int64_t after = 0, age = 0;
    int rc = srv_bus_redis_gap_take(s->busr, &after, &age);
    fill_job *f;

    /* A control message may have been lost too: an admin's policy or
     * lexicon change (`policy.reload`) not in force here would let through
     * what the others block. The files are read again (from the compiled
     * cache when unchanged), sockets or not. */
    if (rc)
        atomic_store(&s->reload_requested, 1);
    if (!rc || !s->registry->ops->count(s->registry))
        goto done; /* no socket here: nothing to fill */
    if (rc < 0) {
        resync_all(s, "the gap's start is unknown");
        goto done;
    }
    if (s->cfg->bus_gap_fill_max <= 0 || age > s->cfg->bus_gap_fill_seconds * 1000) {
        resync_all(s, "the gap is too old to fill");
        goto done;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        resync_all(s, "out of memory");
        goto done;
    }
    f->job.work = fill_work;
    f->job.finish = fill_finish;
    f->job.ev_tail = &f->job.events;
    f->after_id = after;
    f->since = srv_now_ms() - age - FILL_SINCE_MARGIN_MS;
    if (!srv_pool_submit(s, &f->job))
        return; /* fill_finish lets the bus read on */
    free(f);
    resync_all(s, "no worker");
done:
    srv_bus_redis_fill_done(s->busr);
}
