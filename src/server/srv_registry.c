/*
 * srv_registry.c — the connection registry (see srv_registry.h), the server's
 * subscriber on the chat bus, and the loop-side delivery of events.
 *
 * Users map to an intrusive list of their connections through a chained
 * hash table keyed by user id; connections carry the links, so attaching
 * and detaching allocate only when a user's first connection arrives.
 * Attaching a socket subscribes the server to its user on the chat bus
 * (and to the staff, for an officer or admin); detaching unsubscribes.
 *
 * A chat event (chat_event.h) is serialised once, on the publishing
 * thread, into one refcounted buffer; a small job carries it to the loop,
 * which pushes that buffer to every socket of the users it names.
 */
#include "srv_registry.h"

#include "chat/chat_json.h"
#include "srv_log.h"
#include "srv_conn.h"
#include "srv_pool.h"
#include "srv_receipt.h"
#include "srv_req.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct user_node {
    struct user_node *next;
    int64_t uid;
    srv_conn *conns;
} user_node;

typedef struct local_registry {
    srv_registry base; /* first */
    user_node **tab;
    size_t cap, n_users, n_conns;
    srv_conn *staff;
} local_registry;

static size_t slot(const local_registry *b, int64_t uid)
{
    uint64_t h = (uint64_t)uid * 0x9E3779B97F4A7C15ull;

    return (size_t)(h >> 20) & (b->cap - 1);
}

static user_node *find(local_registry *b, int64_t uid, user_node ***link)
{
    user_node **pp = &b->tab[slot(b, uid)];

    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->uid == uid)
            break;
    if (link)
        *link = pp;
    return *pp;
}

static void grow(local_registry *b)
{
    size_t ocap = b->cap;
    user_node **old = b->tab, **nt = calloc(ocap * 2, sizeof *nt);

    if (!nt)
        return;
    b->tab = nt;
    b->cap = ocap * 2;
    for (size_t i = 0; i < ocap; i++)
        for (user_node *u = old[i], *nx; u; u = nx) {
            nx = u->next;
            u->next = nt[slot(b, u->uid)];
            nt[slot(b, u->uid)] = u;
        }
    free(old);
}

static int is_staff(const srv_conn *c)
{
    return c->role == SRV_ROLE_OFFICER || c->role == SRV_ROLE_ADMIN;
}

/* The chat bus subscriptions that go with one socket. A failed subscribe
 * closes the socket: the client reconnects rather than silently missing
 * events. */
static void subscribe(srv_conn *c, bool on)
{
    srv *s = c->srv;
    chat_bus *cb = s->chat.bus;

    if (!on) {
        chat_unsubscribe(cb, &s->sub.base, CHAT_TOPIC_USER, c->user_id);
        if (is_staff(c))
            chat_unsubscribe(cb, &s->sub.base, CHAT_TOPIC_STAFF, 0);
        return;
    }
    if (chat_subscribe(cb, &s->sub.base, CHAT_TOPIC_USER, c->user_id))
        srv_conn_close_after(c, NULL, 1011, "out of memory");
    else if (is_staff(c) && chat_subscribe(cb, &s->sub.base, CHAT_TOPIC_STAFF, 0))
        srv_conn_close_after(c, NULL, 1011, "out of memory");
}

static void l_attach(srv_registry *bb, srv_conn *c)
{
    local_registry *b = (local_registry *)bb;
    user_node *u = find(b, c->user_id, NULL);

    if (!u) {
        if (b->n_users >= b->cap)
            grow(b);
        u = calloc(1, sizeof *u);
        if (!u) {
            /* Out of memory: the socket gets nothing; close it so the
             * client reconnects rather than silently missing events. */
            srv_conn_close_after(c, NULL, 1011, "out of memory");
            return;
        }
        u->uid = c->user_id;
        u->next = b->tab[slot(b, u->uid)];
        b->tab[slot(b, u->uid)] = u;
        b->n_users++;
    }
    c->bus_prev = NULL;
    c->bus_next = u->conns;
    if (u->conns)
        u->conns->bus_prev = c;
    u->conns = c;
    if (is_staff(c)) {
        c->staff_prev = NULL;
        c->staff_next = b->staff;
        if (b->staff)
            b->staff->staff_prev = c;
        b->staff = c;
    }
    b->n_conns++;
    subscribe(c, true);
}

static void l_detach(srv_registry *bb, srv_conn *c)
{
    local_registry *b = (local_registry *)bb;
    user_node **link, *u = find(b, c->user_id, &link);

    if (!u)
        return;
    /* Is c in the list at all? (detach is idempotent) */
    if (!c->bus_prev && u->conns != c)
        return;
    if (c->bus_prev)
        c->bus_prev->bus_next = c->bus_next;
    else
        u->conns = c->bus_next;
    if (c->bus_next)
        c->bus_next->bus_prev = c->bus_prev;
    c->bus_next = c->bus_prev = NULL;
    subscribe(c, false);
    if (is_staff(c)) {
        if (c->staff_prev)
            c->staff_prev->staff_next = c->staff_next;
        else if (b->staff == c)
            b->staff = c->staff_next;
        if (c->staff_next)
            c->staff_next->staff_prev = c->staff_prev;
        c->staff_next = c->staff_prev = NULL;
    }
    b->n_conns--;
    if (!u->conns) {
        *link = u->next;
        free(u);
        b->n_users--;
    }
}

static size_t l_to_users(srv_registry *bb, const int64_t *uids, size_t n, srv_buf *buf,
                         int64_t *reached)
{
    local_registry *b = (local_registry *)bb;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        user_node *u = find(b, uids[i], NULL);

        if (!u || !u->conns)
            continue;
        for (srv_conn *c = u->conns, *nx; c; c = nx) {
            nx = c->bus_next;
            srv_conn_push(c, buf);
        }
        reached[k++] = uids[i];
    }
    return k;
}

static void l_to_staff(srv_registry *bb, srv_buf *buf)
{
    local_registry *b = (local_registry *)bb;

    for (srv_conn *c = b->staff, *nx; c; c = nx) {
        nx = c->staff_next;
        srv_conn_push(c, buf);
    }
}

static void l_close_sessions(srv_registry *bb, int64_t uid, int64_t session_id, bool all_but,
                             srv_buf *notice, int code, const char *reason)
{
    local_registry *b = (local_registry *)bb;
    user_node *u = find(b, uid, NULL);

    if (!u)
        return;
    for (srv_conn *c = u->conns, *nx; c; c = nx) {
        nx = c->bus_next;
        if (all_but ? c->session_id != session_id : c->session_id == session_id)
            srv_conn_close_after(c, notice, code, reason);
    }
}

static void l_close_expired(srv_registry *bb, int64_t now, srv_buf *notice)
{
    local_registry *b = (local_registry *)bb;

    /* A walk over every socket, once a minute: cheap next to keeping a
     * timer per connection. Closing detaches (frees the node) only when
     * the user's last socket goes, so take the next node first. */
    for (size_t i = 0; i < b->cap; i++)
        for (user_node *u = b->tab[i], *unx; u; u = unx) {
            unx = u->next;
            for (srv_conn *c = u->conns, *nx; c; c = nx) {
                nx = c->bus_next;
                if (c->expires_at && c->expires_at <= now)
                    srv_conn_close_after(c, notice, 4001, "session expired");
            }
        }
}

static size_t l_count(srv_registry *bb)
{
    return ((local_registry *)bb)->n_conns;
}

static void l_destroy(srv_registry *bb)
{
    local_registry *b = (local_registry *)bb;

    if (!b)
        return;
    for (size_t i = 0; i < b->cap; i++)
        for (user_node *u = b->tab[i], *nx; u; u = nx) {
            nx = u->next;
            free(u);
        }
    free(b->tab);
    free(b);
}

static const srv_registry_ops local_ops = {
    .version = 1,
    .name = "local",
    .attach = l_attach,
    .detach = l_detach,
    .to_users = l_to_users,
    .to_staff = l_to_staff,
    .close_sessions = l_close_sessions,
    .close_expired = l_close_expired,
    .count = l_count,
    .destroy = l_destroy,
};

srv_registry *srv_registry_local_new(void)
{
    local_registry *b = calloc(1, sizeof *b);

    if (!b)
        return NULL;
    b->base.ops = &local_ops;
    b->cap = 1024;
    b->tab = calloc(b->cap, sizeof *b->tab);
    if (!b->tab) {
        free(b);
        return NULL;
    }
    return &b->base;
}

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

void srv_deliver_events(srv *s, srv_event *ev)
{
    for (; ev; ev = ev->next) {
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
    srv_buf *b = j ? wire(ev) : NULL;

    if (!b) {
        /* Not pushed: the store has it, clients re-read (chat_event.h). */
        SRV_WARN("bus", "%s: out of memory; not pushed", chat_event_name(ev));
        free(j);
        return;
    }
    j->finish = push_finish;
    j->ev_tail = &j->events;
    srv_emit(j, ev->audience == CHAT_TO_STAFF ? SRV_EV_STAFF : SRV_EV_USERS, b, 0, 0, users, n);
    if (j->events && ev->type == CHAT_EV_MESSAGE_NEW) {
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
