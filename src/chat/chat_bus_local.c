/*
 * chat_bus_local.c — the in-process bus (chat_event.h): subscribers of this
 * process, each with the set of users it subscribed to.
 *
 * One mutex guards the subscriptions and is held across a publish, so a
 * subscriber never sees an event for a user after its unsubscribe returned.
 * Publishers are the writer (messages, alerts) and workers (conversation
 * changes); subscribe/unsubscribe come from the event loop when a socket
 * opens or closes. Each subscriber's users live in a chained hash table
 * with a count per user (a user with three sockets subscribes three times).
 */
#include "chat_event.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUBS     8 /* transports in one process: one today */
#define MIN_BUCKETS  1024
#define FILTER_SMALL 64 /* audience sizes filtered without allocating */

typedef struct unode {
    struct unode *next;
    int64_t uid;
    long count;
} unode;

typedef struct sub_set {
    chat_sub *sub; /* NULL: free slot */
    unode **tab;
    size_t cap, n;
    long staff;
} sub_set;

typedef struct local_bus {
    chat_bus base; /* first */
    pthread_mutex_t mu;
    sub_set subs[MAX_SUBS];
} local_bus;

static size_t slot(size_t cap, int64_t uid)
{
    return (size_t)(((uint64_t)uid * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

static unode *find(const sub_set *s, int64_t uid, unode ***link)
{
    unode **pp;

    if (!s->tab)
        return NULL;
    for (pp = &s->tab[slot(s->cap, uid)]; *pp; pp = &(*pp)->next)
        if ((*pp)->uid == uid)
            break;
    if (link)
        *link = pp;
    return *pp;
}

static int grow(sub_set *s)
{
    size_t ncap = s->cap ? s->cap * 2 : MIN_BUCKETS;
    unode **nt = calloc(ncap, sizeof *nt);

    if (!nt)
        return -1;
    for (size_t i = 0; i < s->cap; i++)
        for (unode *u = s->tab[i], *nx; u; u = nx) {
            nx = u->next;
            u->next = nt[slot(ncap, u->uid)];
            nt[slot(ncap, u->uid)] = u;
        }
    free(s->tab);
    s->tab = nt;
    s->cap = ncap;
    return 0;
}

static sub_set *set_of(local_bus *b, chat_sub *sub, bool add)
{
    sub_set *free_slot = NULL;

    for (size_t i = 0; i < MAX_SUBS; i++) {
        if (b->subs[i].sub == sub)
            return &b->subs[i];
        if (!b->subs[i].sub && !free_slot)
            free_slot = &b->subs[i];
    }
    if (!add || !free_slot)
        return NULL;
    free_slot->sub = sub;
    return free_slot;
}

static int l_subscribe(chat_bus *bb, chat_sub *sub, chat_topic t, int64_t id)
{
    local_bus *b = (local_bus *)bb;
    sub_set *s;
    unode *u;
    int rc = -1;

    pthread_mutex_lock(&b->mu);
    s = set_of(b, sub, true);
    if (!s)
        goto out;
    if (t == CHAT_TOPIC_STAFF) {
        s->staff++;
        rc = 0;
        goto out;
    }
    u = find(s, id, NULL);
    if (!u) {
        if (s->n >= s->cap && grow(s))
            goto out;
        u = calloc(1, sizeof *u);
        if (!u)
            goto out;
        u->uid = id;
        u->next = s->tab[slot(s->cap, id)];
        s->tab[slot(s->cap, id)] = u;
        s->n++;
    }
    u->count++;
    rc = 0;
out:
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static void l_unsubscribe(chat_bus *bb, chat_sub *sub, chat_topic t, int64_t id)
{
    local_bus *b = (local_bus *)bb;
    sub_set *s;
    unode **link, *u;

    pthread_mutex_lock(&b->mu);
    s = set_of(b, sub, false);
    if (!s)
        goto out;
    if (t == CHAT_TOPIC_STAFF) {
        if (s->staff > 0)
            s->staff--;
        goto out;
    }
    u = find(s, id, &link);
    if (u && --u->count <= 0) {
        *link = u->next;
        free(u);
        s->n--;
    }
out:
    pthread_mutex_unlock(&b->mu);
}

static void l_publish(chat_bus *bb, const chat_event *ev)
{
    local_bus *b = (local_bus *)bb;
    int64_t small[FILTER_SMALL], *mine = small;

    if (ev->audience == CHAT_TO_USERS && ev->n_users > FILTER_SMALL) {
        mine = malloc(ev->n_users * sizeof *mine);
        if (!mine)
            return; /* not delivered: the store has it (chat_event.h) */
    }
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < MAX_SUBS; i++) {
        sub_set *s = &b->subs[i];
        size_t n = 0;

        if (!s->sub)
            continue;
        if (ev->audience == CHAT_TO_STAFF) {
            if (s->staff)
                s->sub->deliver(s->sub, ev, NULL, 0);
            continue;
        }
        for (size_t k = 0; k < ev->n_users; k++)
            if (find(s, ev->users[k], NULL))
                mine[n++] = ev->users[k];
        if (n)
            s->sub->deliver(s->sub, ev, mine, n);
    }
    pthread_mutex_unlock(&b->mu);
    if (mine != small)
        free(mine);
}

static void l_destroy(chat_bus *bb)
{
    local_bus *b = (local_bus *)bb;

    if (!b)
        return;
    for (size_t i = 0; i < MAX_SUBS; i++) {
        sub_set *s = &b->subs[i];

        for (size_t k = 0; k < s->cap; k++)
            for (unode *u = s->tab[k], *nx; u; u = nx) {
                nx = u->next;
                free(u);
            }
        free(s->tab);
    }
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static const chat_bus_ops local_ops = {
    .version = 1,
    .name = "local",
    .publish = l_publish,
    .subscribe = l_subscribe,
    .unsubscribe = l_unsubscribe,
    .destroy = l_destroy,
};

chat_bus *chat_bus_local_new(void)
{
    local_bus *b = calloc(1, sizeof *b);

    if (!b)
        return NULL;
    if (pthread_mutex_init(&b->mu, NULL)) {
        free(b);
        return NULL;
    }
    b->base.ops = &local_ops;
    return &b->base;
}

const char *chat_event_name(const chat_event *ev)
{
    switch (ev->type) {
    case CHAT_EV_MESSAGE_NEW:
        return "message.new";
    case CHAT_EV_MESSAGE_RECALLED:
        return "message.recalled";
    case CHAT_EV_ALERT_NEW:
        return "alert.new";
    case CHAT_EV_RECEIPT_READ:
        return "receipt";
    case CHAT_EV_CONVERSATION:
        return ev->name ? ev->name : "conversation.updated";
    }
    return "event";
}
