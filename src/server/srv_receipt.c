/*
 * srv_receipt.c — delivered receipts made durable.
 *
 * The loop learns that a message reached a member when it hands
 * message.new to one of the member's open sockets (srv_registry.c). Writing a
 * row per delivery would cost the writer one UPDATE per recipient per
 * message (100,000 a second for a busy 100-member group), so deliveries are
 * coalesced on the loop: one pending pointer per (conversation, member),
 * keeping the highest message id, flushed to the writer every
 * FLUSH_MS (or when the table fills) as one commit (chat_delivered_commit,
 * chat_receipt.c) that the writer applies in one transaction. A second so that this commit
 * (an fsync the next message batch waits behind) stays rare. The stored
 * pointer can trail the live `receipt` events by up to FLUSH_MS, and by
 * what was pending at a crash; it never runs ahead of a delivery.
 */
#include "chat/chat_receipt.h"
#include "srv_registry.h"
#include "srv_log.h"
#include "srv_receipt.h"
#include "srv_req.h"
#include "srv_writer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH_MS    1000
#define MIN_CAP     256
#define MAX_PENDING 65536 /* entries; a full table is flushed at once */

/* conv_id 0: an empty slot. */
typedef chat_delivered srv_rcpt;

/* A live `receipt` (delivered) for a sender, held until the end of the
 * loop's drain of completions: a writer batch completes many messages of
 * one conversation at once, and their receipts to the sender say the same
 * thing with rising message ids — one frame says it for all of them. */
typedef struct live_rcpt {
    int64_t sender, conv, msg; /* sender 0: empty slot */
    size_t n;
    int64_t *users; /* the recipients reached (heap) */
} live_rcpt;

struct srv_receipts {
    live_rcpt *live;
    size_t live_cap, live_n;
    srv_rcpt *slots;
    size_t cap, n;
    bool scheduled;
    lws_sorted_usec_list_t sul;
    srv *srv;
};

srv_receipts *srv_receipts_new(srv *s)
{
    srv_receipts *p = calloc(1, sizeof *p);

    if (!p)
        return NULL;
    p->srv = s;
    p->cap = MIN_CAP;
    p->slots = calloc(p->cap, sizeof *p->slots);
    if (!p->slots) {
        free(p);
        return NULL;
    }
    return p;
}

void srv_receipts_free(srv_receipts *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->live_cap; i++)
        free(p->live[i].users);
    free(p->live);
    lws_sul_cancel(&p->sul);
    free(p->slots);
    free(p);
}

static size_t hash2(int64_t a, int64_t b)
{
    uint64_t h = ((uint64_t)a * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)b * 0xC2B2AE3D27D4EB4Full);

    return (size_t)(h >> 17);
}

static size_t slot_of(const srv_receipts *p, int64_t conv, int64_t user)
{
    return hash2(conv, user) & (p->cap - 1);
}

static srv_rcpt *find_or_add(srv_receipts *p, int64_t conv, int64_t user)
{
    size_t i = slot_of(p, conv, user);

    for (;; i = (i + 1) & (p->cap - 1)) {
        srv_rcpt *r = &p->slots[i];

        if (!r->conv_id) {
            r->conv_id = conv;
            r->user_id = user;
            r->msg_id = 0;
            p->n++;
            return r;
        }
        if (r->conv_id == conv && r->user_id == user)
            return r;
    }
}

static int grow(srv_receipts *p)
{
    srv_rcpt *old = p->slots;
    size_t ocap = p->cap;

    p->slots = calloc(ocap * 2, sizeof *p->slots);
    if (!p->slots) {
        p->slots = old;
        return -1;
    }
    p->cap = ocap * 2;
    p->n = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].conv_id)
            *find_or_add(p, old[i].conv_id, old[i].user_id) = old[i];
    free(old);
    return 0;
}

void srv_receipts_flush(srv_receipts *p)
{
    srv_rcpt *items;
    chat_commit *c = NULL;
    size_t k = 0;

    p->scheduled = false;
    if (!p->n)
        return;
    items = malloc(p->n * sizeof *items);
    if (items) {
        for (size_t i = 0; i < p->cap; i++)
            if (p->slots[i].conv_id)
                items[k++] = p->slots[i];
        c = chat_delivered_commit(&p->srv->chat, items, k);
        free(items);
    }
    if (c)
        srv_writer_submit(p->srv, c);
    else
        SRV_WARN("receipt", "out of memory: %zu delivered pointers dropped", p->n);
    /* Give a table that grew for a burst back. */
    if (p->cap > 4 * MIN_CAP) {
        srv_rcpt *small = calloc(MIN_CAP, sizeof *small);

        if (small) {
            free(p->slots);
            p->slots = small;
            p->cap = MIN_CAP;
            p->n = 0;
            return;
        }
    }
    memset(p->slots, 0, p->cap * sizeof *p->slots);
    p->n = 0;
}

static void flush_cb(lws_sorted_usec_list_t *sul)
{
    srv_receipts *p = lws_container_of(sul, srv_receipts, sul);

    srv_receipts_flush(p);
}

void srv_receipts_note(srv_receipts *p, int64_t conv, int64_t user, int64_t msg)
{
    srv_rcpt *r;

    if (!p || conv <= 0)
        return;
    /* Keep the load factor under 1/2. */
    if ((p->n + 1) * 2 > p->cap && (p->cap >= MAX_PENDING || grow(p)))
        srv_receipts_flush(p);
    r = find_or_add(p, conv, user);
    if (msg > r->msg_id)
        r->msg_id = msg;
    if (!p->scheduled && p->srv->lws) {
        p->scheduled = true;
        lws_sul_schedule(p->srv->lws, 0, &p->sul, flush_cb, (lws_usec_t)FLUSH_MS * LWS_US_PER_MS);
    }
}

/* ---- live receipts (loop) ------------------------------------------------- */

/* The `receipt` frame of l, written straight into its buffer: the same
 * bytes srv_event_buf would make of the JSON object ("type" first, then
 * the fields in this order), without building and dumping one per frame
 * (jansson was ~5% of the loop's CPU at 5,000 msgs/s). */
static srv_buf *live_frame(const live_rcpt *l)
{
    /* 20 digits and a sign per number, a comma per user */
    size_t cap = 128 + (l->n + 2) * 22, at;
    srv_buf *b = srv_buf_new(cap);
    char *p;
    int k;

    if (!b)
        return NULL;
    p = (char *)srv_buf_payload(b);
    k = snprintf(p, cap,
                 "{\"type\":\"receipt\",\"conversation_id\":%lld,\"kind\":\"delivered\","
                 "\"message_id\":%lld,\"user_ids\":[",
                 (long long)l->conv, (long long)l->msg);
    at = (size_t)k;
    for (size_t i = 0; i < l->n; i++) {
        k = snprintf(p + at, cap - at, i ? ",%lld" : "%lld", (long long)l->users[i]);
        at += (size_t)k;
    }
    at += (size_t)snprintf(p + at, cap - at, "]}");
    b->len = at;
    return b;
}

static void live_send(srv *s, live_rcpt *l)
{
    json_t *ids, *o;
    srv_buf *b;
    int64_t reached;

    if (!s->busr) {
        b = live_frame(l);
        if (b) {
            s->registry->ops->to_users(s->registry, &l->sender, 1, b, &reached);
            srv_buf_unref(b);
        }
        free(l->users);
        *l = (live_rcpt){0};
        return;
    }
    ids = json_array();
    for (size_t i = 0; ids && i < l->n; i++)
        json_array_append_new(ids, json_integer(l->users[i]));
    o = ids ? json_pack("{s:I,s:s,s:I,s:o}", "conversation_id", (json_int_t)l->conv, "kind",
                        "delivered", "message_id", (json_int_t)l->msg, "user_ids", ids)
            : NULL;
    if (o) {
        /* Several nodes: the sender's sockets may be on another node, so
         * the receipt goes on the bus (this node's sockets get it too). */
        chat_event ev = {.type = CHAT_EV_CONVERSATION,
                         .audience = CHAT_TO_USERS,
                         .conv_id = l->conv,
                         .name = "receipt",
                         .body = o,
                         .users = &l->sender,
                         .n_users = 1};

        chat_publish(s->chat.bus, &ev);
        json_decref(o);
    } /* else out of memory (json_pack took ids): a live receipt is not worth failing over */
    free(l->users);
    *l = (live_rcpt){0};
}

static live_rcpt *live_slot(srv_receipts *p, int64_t sender, int64_t conv)
{
    size_t i = hash2(sender, conv) & (p->live_cap - 1);

    for (;; i = (i + 1) & (p->live_cap - 1))
        if (!p->live[i].sender || (p->live[i].sender == sender && p->live[i].conv == conv))
            return &p->live[i];
}

void srv_receipts_live(srv_receipts *p, int64_t sender, int64_t conv, int64_t msg,
                       const int64_t *users, size_t n)
{
    live_rcpt *l, one = {.sender = sender, .conv = conv, .msg = msg, .n = n};

    if (!p || !n)
        return;
    if ((p->live_n + 1) * 2 > p->live_cap) {
        live_rcpt *old = p->live;
        size_t ocap = p->live_cap, ncap = ocap ? ocap * 2 : 64;

        p->live = calloc(ncap, sizeof *p->live);
        if (!p->live) {
            /* No table: say it now, uncoalesced. */
            p->live = old;
            one.users = malloc(n * sizeof *users);
            if (one.users) {
                memcpy(one.users, users, n * sizeof *users);
                live_send(p->srv, &one);
            }
            return;
        }
        p->live_cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].sender)
                *live_slot(p, old[i].sender, old[i].conv) = old[i];
        free(old);
    }
    l = live_slot(p, sender, conv);
    if (l->sender) {
        /* The same recipients: the later message id says it all. */
        if (l->n == n && !memcmp(l->users, users, n * sizeof *users)) {
            if (msg > l->msg)
                l->msg = msg;
            return;
        }
        live_send(p->srv, l);
        p->live_n--;
    }
    one.users = malloc(n * sizeof *users);
    if (!one.users)
        return;
    memcpy(one.users, users, n * sizeof *users);
    *l = one;
    p->live_n++;
}

void srv_receipts_live_flush(srv_receipts *p)
{
    if (!p || !p->live_n)
        return;
    for (size_t i = 0; i < p->live_cap; i++)
        if (p->live[i].sender)
            live_send(p->srv, &p->live[i]);
    p->live_n = 0;
}
