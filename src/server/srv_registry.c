/*
 * srv_registry.c — the connection registry (see srv_registry.h): which
 * sockets this process holds, by user and for the staff.
 *
 * Users map to an intrusive list of their connections through a chained
 * hash table keyed by user id; connections carry the links, so attaching
 * and detaching allocate only when a user's first connection arrives.
 * Attaching a socket subscribes the server to its user on the chat bus
 * (and to the staff, for an officer or admin); detaching unsubscribes.
 *
 * A closing socket (srv_conn_close_after) stays attached until lws closes
 * it (srv_ws.c detaches then); it takes no more frames (srv_conn_push) and
 * does not count as reaching its user.
 */
#include "srv_registry.h"

#include "chat/chat_json.h"
#include "srv_log.h"
#include "srv_conn.h"
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
        bool got = false;

        for (srv_conn *c = u->conns, *nx; c; c = nx) {
            nx = c->bus_next;
            got |= !c->closing;
            srv_conn_push(c, buf);
        }
        if (got)
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
     * timer per connection. */
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

static void l_close_all(srv_registry *bb, srv_buf *notice, int code, const char *reason)
{
    local_registry *b = (local_registry *)bb;

    for (size_t i = 0; i < b->cap; i++)
        for (user_node *u = b->tab[i], *unx; u; u = unx) {
            unx = u->next;
            for (srv_conn *c = u->conns, *nx; c; c = nx) {
                nx = c->bus_next;
                srv_conn_close_after(c, notice, code, reason);
            }
        }
}

static void l_to_all(srv_registry *bb, srv_buf *buf)
{
    local_registry *b = (local_registry *)bb;

    /* A push can close a slow consumer: the next links are read first. */
    for (size_t i = 0; i < b->cap; i++)
        for (user_node *u = b->tab[i], *unx; u; u = unx) {
            unx = u->next;
            for (srv_conn *c = u->conns, *nx; c; c = nx) {
                nx = c->bus_next;
                srv_conn_push(c, buf);
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
    .close_all = l_close_all,
    .count = l_count,
    .destroy = l_destroy,
    .to_all = l_to_all,
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
