/*
 * chat_event.h — the domain's typed events and the bus that carries them.
 *
 * The chat domain publishes what happened (a message was committed, an
 * alert raised, a message recalled, a conversation changed); it never
 * names a socket. Subscribers — the server's transport on each node —
 * subscribe to the users (and the staff) whose sockets they hold, and turn
 * each event into bytes once.
 *
 * The bus is a const struct of function pointers, like the store: the
 * in-process bus (chat_bus_local.c) hands events to the subscribers of
 * this process; a Redis bus can replace it to span nodes without touching
 * the domain. Events carry what a node needs to fill a gap from the store
 * (the conversation and message id: message ids only grow, so they are
 * each conversation's position), so a lost event costs a re-read, never a
 * message.
 *
 * Lifetime: an event, and everything it points to, is valid only during
 * publish(). The bus calls every matching subscriber synchronously on the
 * publishing thread; a subscriber that keeps anything copies or
 * serialises it there. That keeps publishing free of allocation and
 * reference counts, and is what a networked bus does anyway (it
 * serialises in publish).
 */
#ifndef CHAT_EVENT_H
#define CHAT_EVENT_H

#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum chat_event_type {
    /* A committed message, to the members who may see it. `message`. */
    CHAT_EV_MESSAGE_NEW,
    /* A message was recalled. conv_id, msg_id. */
    CHAT_EV_MESSAGE_RECALLED,
    /* An officer alert was raised; to the staff. `alert`. */
    CHAT_EV_ALERT_NEW,
    /* A read receipt. conv_id, msg_id, sender_id (the reader). */
    CHAT_EV_RECEIPT_READ,
    /* A conversation or its members changed: `name` is the wire type
     * ("conversation.updated", "member.added", ...) and `body` its fields. */
    CHAT_EV_CONVERSATION,
} chat_event_type;

typedef enum chat_audience {
    CHAT_TO_USERS, /* every open session of users[0..n_users) */
    CHAT_TO_STAFF, /* every officer and admin session */
} chat_audience;

typedef struct chat_event {
    chat_event_type type;
    chat_audience audience;
    int64_t conv_id;   /* 0 when none */
    int64_t msg_id;    /* the message concerned (its conversation's position), 0 when none */
    int64_t sender_id; /* MESSAGE_NEW: the sender; RECEIPT_READ: the reader */
    const store_message *message; /* MESSAGE_NEW */
    const store_alert *alert;     /* ALERT_NEW */
    const char *name;             /* CONVERSATION: the wire type */
    const json_t *body;           /* CONVERSATION: its fields (an object) */
    const int64_t *users;         /* CHAT_TO_USERS */
    size_t n_users;
    /* MESSAGE_RECALLED: STORE_CONTAINED_* when an officer contained it
     * (the wire says by whom, so clients show a neutral notice); 0 for
     * the sender's own recall. */
    int contained;
    /* The event's wire frame, already serialised, when a networked bus
     * carried it from another node (or serialised it once for every
     * node): subscribers send it as is. The typed pointers above
     * (message, alert, body) are then NULL for events of other nodes.
     * NULL when the domain publishes. */
    const char *wire;
} chat_event;

/* The wire name of an event ("message.new", ...). */
const char *chat_event_name(const chat_event *ev);

/* ---- the bus ------------------------------------------------------------ */

typedef struct chat_bus chat_bus;
typedef struct chat_sub chat_sub;

typedef enum chat_topic {
    CHAT_TOPIC_USER,  /* events whose audience includes user `id` */
    CHAT_TOPIC_STAFF, /* events to the staff (id ignored) */
} chat_topic;

/* A subscriber: deliver() runs on the publishing thread (any thread), with
 * the event and, for CHAT_TO_USERS, only those users[0..n) of its audience
 * the subscriber subscribed to (n >= 1). It must not call back into the
 * bus. */
struct chat_sub {
    void (*deliver)(chat_sub *s, const chat_event *ev, const int64_t *users, size_t n);
};

typedef struct chat_bus_ops {
    int version; /* 1 */
    const char *name;
    /* Any thread. Hands ev to every subscriber that subscribed to one of
     * its users (or to the staff, for staff events). */
    void (*publish)(chat_bus *b, const chat_event *ev);
    /* Any thread. Subscriptions count: subscribing twice to a user needs
     * two unsubscribes. Returns 0, or -1 when out of memory. */
    int (*subscribe)(chat_bus *b, chat_sub *s, chat_topic t, int64_t id);
    void (*unsubscribe)(chat_bus *b, chat_sub *s, chat_topic t, int64_t id);
    void (*destroy)(chat_bus *b);
} chat_bus_ops;

struct chat_bus {
    const chat_bus_ops *ops;
};

static inline void chat_publish(chat_bus *b, const chat_event *ev)
{
    b->ops->publish(b, ev);
}
static inline int chat_subscribe(chat_bus *b, chat_sub *s, chat_topic t, int64_t id)
{
    return b->ops->subscribe(b, s, t, id);
}
static inline void chat_unsubscribe(chat_bus *b, chat_sub *s, chat_topic t, int64_t id)
{
    b->ops->unsubscribe(b, s, t, id);
}

/* The in-process bus. NULL when out of memory. */
chat_bus *chat_bus_local_new(void);

#endif
