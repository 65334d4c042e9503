/*
 * srv_bus.h — fan-out of events to the connections that should see them.
 *
 * A bus is a const struct of function pointers (like the store) so that a
 * Redis-backed bus spanning several server nodes can replace the in-process
 * one without touching callers: publishers name users, the staff (officers
 * and admins) or sessions; the bus finds the sockets. Every call runs on
 * the event-loop thread; a networked bus would deliver its remote traffic
 * by waking the loop the same way the workers do.
 */
#ifndef SRV_BUS_H
#define SRV_BUS_H

#include "srv_int.h"

typedef struct srv_bus_ops {
    int version; /* 1 */
    const char *name;
    /* A WebSocket is authenticated (user_id, session_id, role set). */
    void (*attach)(srv_bus *b, srv_conn *c);
    /* It is closing; no more deliveries to it. Safe on a detached conn. */
    void (*detach)(srv_bus *b, srv_conn *c);
    /* Pushes buf to every connection of each of uids[0..n). Writes the
     * users that had at least one connection to reached[] (capacity n) and
     * returns how many. */
    size_t (*to_users)(srv_bus *b, const int64_t *uids, size_t n, srv_buf *buf, int64_t *reached);
    /* Pushes buf to every officer and admin connection. */
    void (*to_staff)(srv_bus *b, srv_buf *buf);
    /* Sends notice (may be NULL) to and closes, with code and reason, the
     * connections of user uid whose session is session_id, or (all_but)
     * whose session is not session_id (0: every session). */
    void (*close_sessions)(srv_bus *b, int64_t uid, int64_t session_id, bool all_but,
                           srv_buf *notice, int code, const char *reason);
    /* Sends notice to and closes every connection whose session ended
     * (expires_at <= now). */
    void (*close_expired)(srv_bus *b, int64_t now, srv_buf *notice);
    /* Number of attached connections. */
    size_t (*count)(srv_bus *b);
    void (*destroy)(srv_bus *b);
} srv_bus_ops;

struct srv_bus {
    const srv_bus_ops *ops;
};

/* The in-process bus. NULL when out of memory. */
srv_bus *srv_bus_local_new(void);

/* ---- the server's side of the chat bus and the loop's delivery ---- */

/* The chat bus subscriber of this server (s->sub). */
void srv_sub_init(srv *s);
/* The JSON of message id as this thread last serialised it for
 * message.new (heap, the caller frees), or NULL. */
char *srv_wire_take_message(int64_t id);
/* A buffer holding the concatenation of parts[0..n); NULL when out of
 * memory. */
srv_buf *srv_buf_splice(const char *const *parts, size_t n);
void srv_deliver_events(srv *s, srv_event *ev);
void srv_events_free(srv_event *ev);

#endif
