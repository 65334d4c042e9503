/*
 * srv_registry.h — the connection registry: which open WebSockets this
 * process holds, by user (and the staff), and what the loop does with
 * them — push a buffer to a user's sockets, close a session's. It is not a
 * publish/subscribe bus: that is the chat domain's (chat_event.h), to which
 * the registry subscribes the users whose sockets it holds. Every call runs
 * on the event-loop thread.
 */
#ifndef SRV_REGISTRY_H
#define SRV_REGISTRY_H

#include "srv_int.h"

typedef struct srv_registry_ops {
    int version; /* 1 */
    const char *name;
    /* A WebSocket is authenticated (user_id, session_id, role set). */
    void (*attach)(srv_registry *b, srv_conn *c);
    /* It is closing; no more deliveries to it. Safe on a detached conn. */
    void (*detach)(srv_registry *b, srv_conn *c);
    /* Pushes buf to every connection of each of uids[0..n). Writes the
     * users that had at least one connection to reached[] (capacity n) and
     * returns how many. */
    size_t (*to_users)(srv_registry *b, const int64_t *uids, size_t n, srv_buf *buf,
                       int64_t *reached);
    /* Pushes buf to every officer and admin connection. */
    void (*to_staff)(srv_registry *b, srv_buf *buf);
    /* Sends notice (may be NULL) to and closes, with code and reason, the
     * connections of user uid whose session is session_id, or (all_but)
     * whose session is not session_id (0: every session). */
    void (*close_sessions)(srv_registry *b, int64_t uid, int64_t session_id, bool all_but,
                           srv_buf *notice, int code, const char *reason);
    /* Sends notice to and closes every connection whose session ended
     * (expires_at <= now). */
    void (*close_expired)(srv_registry *b, int64_t now, srv_buf *notice);
    /* Sends notice to and closes, with code and reason, every connection
     * (another node's events may have been lost: they all re-read). */
    void (*close_all)(srv_registry *b, srv_buf *notice, int code, const char *reason);
    /* Number of attached connections. */
    size_t (*count)(srv_registry *b);
    void (*destroy)(srv_registry *b);
    /* Pushes buf to every connection (after a filled bus gap: the `sync`
     * frame, docs/SCALING.md). */
    void (*to_all)(srv_registry *b, srv_buf *buf);
} srv_registry_ops;

struct srv_registry {
    const srv_registry_ops *ops;
};

/* The in-process registry. NULL when out of memory. */
srv_registry *srv_registry_local_new(void);

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
/* The wire frame of a chat event as text (heap), for a bus that carries it
 * to other nodes (srv_bus_redis.h's wire hook; arg is the srv). */
char *srv_wire_text(void *arg, const chat_event *ev);
void srv_events_free(srv_event *ev);
/* The loop, after the bus between nodes noticed a gap (srv_bus_redis.h):
 * re-delivers from the store what this node's sockets missed, or, when
 * that is beyond bus_gap_fill_max / bus_gap_fill_seconds, has every socket
 * resync (close 4002). */
void srv_gap_fill(srv *s);

#endif
