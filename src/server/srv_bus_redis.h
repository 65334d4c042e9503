/*
 * srv_bus_redis.h — the bus between nodes (`bus: redis://host:port` in
 * cordon.yaml): the chat bus of chat_event.h spanning several `cordon serve`
 * processes, and what those processes must share besides the store — a
 * leader for the timers, counters for the rate limits, a broadcast that
 * makes every node reload its policy. docs/SCALING.md tells the whole
 * design; this header is the contract.
 *
 * The chat bus (srv_bus_redis_chat()) wraps an in-process bus: publish()
 * hands the event to this node's subscribers at once (no round trip for
 * sockets held here), then queues it, serialised once by the wire hook,
 * for the publisher thread, which PUBLISHes it on one Redis channel that
 * every node subscribes to. A node's subscriber thread turns what other
 * nodes published back into chat events whose `wire` text is ready, and
 * hands them to its in-process bus, which keeps only the users whose
 * sockets it holds. Each node numbers what it publishes (an instance id
 * and a sequence) and sends a heartbeat with its last number every
 * second, so a receiver notices any lost message (a jump in a sequence, a
 * heartbeat ahead of the last event, a re-established subscription) and
 * calls the gap hook: the server then fills the gap from the store (below),
 * or has its clients re-read it when it is too large (a lost bus message
 * is never a lost message). (One writer per upload across the nodes is a
 * lease in the store, srv_upload_lease.h: uploads do not need Redis.)
 *
 * Threads: the publisher (PUBLISH, heartbeats, the leader lease), the
 * subscriber, and callers of the rate counters and the readiness check
 * (one connection under a mutex). Nothing here blocks the event loop:
 * publish() only queues. Redis down: events of this node still reach its
 * own sockets, other nodes' sockets resync when it returns; the rate
 * counters fall back to the node's own (srv_rate.c); the lease is lost
 * (no node fires timers) until Redis answers again.
 *
 * Needs no lws: the unit test drives two instances against a real
 * redis-server (tests/server/unit/test_srv_bus_redis.c).
 */
#ifndef SRV_BUS_REDIS_H
#define SRV_BUS_REDIS_H

#include "chat/chat_event.h"
#include "srv_rate.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct srv_bus_redis srv_bus_redis;

typedef struct srv_bus_hooks {
    void *arg;
    /* The publishing thread: the event's wire frame as text (heap, the bus
     * frees it), or NULL when it cannot be serialised (then it reaches this
     * node's sockets only, and the others notice a gap). */
    char *(*wire)(void *arg, const chat_event *ev);
    /* The subscriber thread: events of other nodes may have been lost. */
    void (*gap)(void *arg);
    /* The subscriber thread: another node's control message (kind, body). */
    void (*control)(void *arg, const char *kind, const json_t *body);
    /* The gap hook starts a fill, and srv_bus_redis_fill_done() follows
     * (below): the subscriber then waits for it before reading on. */
    bool gap_fill;
} srv_bus_hooks;

typedef struct srv_bus_opts {
    const char *url;  /* redis://host:port[/db] */
    const char *node; /* a name for logs and the lease; NULL: host:pid */
    /* Channel and key prefix ("cordon"): two clusters on one Redis. */
    const char *prefix;
    int lease_ms;     /* the leader lease (5000); renewed every heartbeat */
    int heartbeat_ms; /* 1000 */
    size_t max_queue; /* events waiting for the publisher (65536) */
} srv_bus_opts;

typedef struct srv_bus_stats {
    uint64_t published; /* messages PUBLISHed (events and control) */
    uint64_t dropped;   /* not published: queue full or Redis down */
    uint64_t received;  /* events of other nodes handed to this node's bus */
    uint64_t gaps;      /* gaps noticed (each made this node's clients resync) */
    uint64_t reconnects;
    double lag_seconds;     /* publish → receive of the last message from another node */
    double lag_max_seconds; /* the largest since start */
    bool connected;         /* publisher and subscriber both connected */
    bool leader;
} srv_bus_stats;

/* Starts the threads; Redis need not be up yet (they retry). Returns 0 or
 * -1 with a reason in err (a bad URL, out of memory). */
int srv_bus_redis_new(const srv_bus_opts *o, const srv_bus_hooks *h, srv_bus_redis **out, char *err,
                      size_t errlen);
/* Stops the threads (lets the lease go), frees everything. NULL is fine. */
void srv_bus_redis_free(srv_bus_redis *b);

/* The chat bus (chat_event.h). Owned by b: its destroy() does nothing, and
 * it is valid until srv_bus_redis_free(). */
chat_bus *srv_bus_redis_chat(srv_bus_redis *b);

/* Sends ev, whose wire text is set, to the other nodes only (any thread):
 * an event this node delivered to its own sockets already, outside the
 * chat bus (a handler's alert.updated, upload.state). 0, or -1 when it
 * could not be queued (a number is lost: the others resync). */
int srv_bus_redis_forward(srv_bus_redis *b, const chat_event *ev);

/* Sends a control message to every other node (any thread; body is
 * stolen, may be NULL). 0, or -1 when it could not be queued. */
int srv_bus_redis_control(srv_bus_redis *b, const char *kind, json_t *body);

/* Whether this node holds the leader lease now (any thread, no I/O). The
 * lease is taken with SET NX PX and renewed each heartbeat; a node counts
 * itself leader only until its last renewal plus the lease minus a margin,
 * so two nodes never both believe it (clocks of one machine). */
bool srv_bus_redis_leader(srv_bus_redis *b);

/* Readiness (any thread): both connections up and a heartbeat (any node's,
 * this node's own included) heard within three heartbeats; then a PING
 * answered within a second on the command connection. */
bool srv_bus_redis_ready(srv_bus_redis *b);

void srv_bus_redis_stats(srv_bus_redis *b, srv_bus_stats *out);

/* ---- the gap fill (docs/SCALING.md, "A lost bus message is never a lost
 * message") ----
 *
 * The bus notes every message.new it hands to this node's sockets (its own
 * and other nodes'), by id, in a window of the last 2^20 ids, and samples
 * the highest id seen four times a second. When a gap is noticed, the
 * hook fires; the server then takes the gap: every message lost to this
 * node has an id above a floor (the highest id seen a margin before the
 * gap began), so it reads the store after that floor and hands each
 * message not delivered yet to this node's sockets, through the same local
 * bus, so it reaches each socket once. */

/* At start (before sockets attach): the store's highest message id, so a
 * gap early in the node's life has a floor. */
void srv_bus_redis_seen_base(srv_bus_redis *b, int64_t max_id);

/* Takes the pending gap (any thread): 1 with *after_id (every message this
 * node may have missed has a greater id) and *age_ms (how long ago the gap
 * began); 0 when none is pending; -1 when it cannot be filled (its start
 * is unknown, or older than what the bus remembers): resync. */
int srv_bus_redis_gap_take(srv_bus_redis *b, int64_t *after_id, int64_t *age_ms);

/* Whether message msg_id reached this node's sockets already (or is older
 * than the bus remembers). A hint for counting: fill_claim decides. */
bool srv_bus_redis_delivered(srv_bus_redis *b, int64_t msg_id);

/* Claims msg_id for the gap fill: true when it was not delivered yet (it
 * is then marked, so its live event, should it still come, is not
 * delivered a second time); false: delivered already, skip it. */
bool srv_bus_redis_fill_claim(srv_bus_redis *b, int64_t msg_id);

/* The server has handed on everything the fill read (or decided to
 * resync, or had nothing to fill): the subscriber reads on. Until then (at
 * most 10 s) it leaves newer events in Redis' buffer, so they follow the
 * filled ones. */
void srv_bus_redis_fill_done(srv_bus_redis *b);

/* Hands ev (wire set) to this node's sockets only, through its in-process
 * bus: the users of ev->users whose sockets it holds. */
void srv_bus_redis_fill_deliver(srv_bus_redis *b, const chat_event *ev);

/* Counters shared by every node, for srv_rate_set_shared() (srv_rate.h). */
const srv_rate_shared *srv_bus_redis_rate(srv_bus_redis *b);

#endif
