/*
 * chat_receipt.c — receipts, in the domain's stages (chat.h).
 *
 * Delivered: the transport learns that a message reached a member when it
 * hands message.new to one of their sockets, coalesces those per
 * (conversation, member) and flushes them about once a second as one
 * commit (srv_receipt.c says why); here is that commit: every pointer in
 * one transaction — the next message batch's (it rides, chat_commit.h), or
 * its own when no message comes within the writer's hold.
 *
 * Read: plan (worker: membership, the message is of this conversation) →
 * commit (writer: the pointer moves forward) → publish (`receipt` to the
 * members who may know the message, when it moved).
 */
#include "chat_receipt.h"

#include "chat_event.h"
#include "chat_view.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_RETRIES 20

static void pause_busy(void)
{
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
}

/* ---- delivered ------------------------------------------------------------ */

typedef struct delivered_commit {
    chat_commit base; /* first */
    const chat *chat;
    size_t n;
    chat_delivered items[];
} delivered_commit;

static void delivered_free(chat_commit *c)
{
    free(c);
}

static void delivered_apply(const chat *c, store *st, const chat_delivered *items, size_t n)
{
    int rc = STORE_BUSY;

    for (int attempt = 0; rc == STORE_BUSY && attempt < BUSY_RETRIES; attempt++) {
        if (attempt)
            pause_busy();
        rc = store_tx_begin(st);
        for (size_t i = 0; !rc && i < n; i++) {
            bool adv = false;

            rc = store_receipt_set(st, items[i].conv_id, items[i].user_id, false, items[i].msg_id,
                                   &adv);
            /* Left the conversation meanwhile: nothing to record. */
            if (rc == STORE_NOTFOUND)
                rc = STORE_OK;
        }
        rc = rc ? rc : store_tx_commit(st);
        if (rc)
            store_tx_rollback(st);
    }
    if (rc)
        chat_log(c, CHAT_LOG_WARN, "receipt", "%zu delivered pointers not stored: %s", n,
                 store_strerror(rc));
}

/* Inside a message batch's transaction (chat_commit.h, riding): the same
 * rows, no transaction of its own, no retry (the carrier retries the
 * whole). Only what spoils the transaction stops it. */
static int delivered_ride(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        delivered_commit *d = (delivered_commit *)items[i];

        for (size_t k = 0; k < d->n; k++) {
            int rc = store_receipt_set(st, d->items[k].conv_id, d->items[k].user_id, false,
                                       d->items[k].msg_id, NULL);

            if (rc == STORE_BUSY || rc == STORE_IO || rc == STORE_CORRUPT || rc == STORE_NOMEM)
                return rc;
            /* STORE_NOTFOUND: left the conversation meanwhile, nothing to
             * record; anything else was this row's alone (rolled back). */
        }
    }
    return STORE_OK;
}

static void delivered_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        delivered_commit *d = (delivered_commit *)items[i];

        delivered_apply(d->chat, st, d->items, d->n);
    }
}

static void delivered_publish(chat_commit **items, size_t n, store *st)
{
    (void)st;
    for (size_t i = 0; i < n; i++) {
        if (items[i]->done)
            items[i]->done(items[i], items[i]->arg);
        else
            delivered_free(items[i]);
    }
}

static const chat_commit_kind delivered_kind = {
    .name = "delivered",
    .commit = delivered_commit_all,
    .publish = delivered_publish,
    .free = delivered_free,
    .ride = delivered_ride,
};

chat_commit *chat_delivered_commit(const chat *c, const chat_delivered *items, size_t n)
{
    delivered_commit *d = calloc(1, sizeof *d + n * sizeof *items);

    if (!d)
        return NULL;
    d->base.kind = &delivered_kind;
    d->chat = c;
    d->n = n;
    memcpy(d->items, items, n * sizeof *items);
    return &d->base;
}

/* ---- read ------------------------------------------------------------------ */

typedef struct read_commit {
    chat_commit base; /* first */
    const chat *chat;
    int64_t conv_id, user_id, msg_id;
    int rc;
    bool advanced;
} read_commit;

static void read_free(chat_commit *c)
{
    if (c)
        chat_outcome_clear(&c->outcome);
    free(c);
}

static const chat_commit_kind read_kind;

/* 1. plan: a member, and a message of this conversation. */
int chat_read_plan(const chat_env *e, const chat_caller *who, int64_t conv_id, int64_t msg_id,
                   chat_commit **out, chat_outcome *o)
{
    store_message m = {0};
    read_commit *r;
    int rc = store_member_check(e->st, conv_id, who->id, NULL);

    *out = NULL;
    if (rc == STORE_NOTFOUND) {
        chat_fail(o, 404, "not_found", "no such conversation");
        return -1;
    }
    if (rc) {
        chat_fail_store(e, o, rc, "member_role");
        return -1;
    }
    if (msg_id <= 0) {
        chat_fail(o, 422, "invalid", "message_id must be a message of this conversation");
        return -1;
    }
    rc = store_message_get(e->st, msg_id, &m);
    if (rc == STORE_OK && m.conv_id != conv_id)
        rc = STORE_NOTFOUND;
    store_message_clear(&m);
    if (rc == STORE_NOTFOUND) {
        chat_fail(o, 404, "not_found", "no such message in this conversation");
        return -1;
    }
    if (rc) {
        chat_fail_store(e, o, rc, "read: message");
        return -1;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        chat_fail(o, 500, "internal", "out of memory");
        return -1;
    }
    r->base.kind = &read_kind;
    r->chat = e->chat;
    r->conv_id = conv_id;
    r->user_id = who->id;
    r->msg_id = msg_id;
    *out = &r->base;
    return 0;
}

/* 2. commit: the pointer moves forward, never back. */
static void read_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        read_commit *r = (read_commit *)items[i];

        r->rc = STORE_BUSY;
        for (int attempt = 0; r->rc == STORE_BUSY && attempt < BUSY_RETRIES; attempt++) {
            if (attempt)
                pause_busy();
            r->rc = store_receipt_set(st, r->conv_id, r->user_id, true, r->msg_id, &r->advanced);
        }
    }
}

/* 3. publish: `receipt` to the members who may know the message. */
static void read_publish(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        read_commit *r = (read_commit *)items[i];
        chat_env e = {.chat = r->chat, .st = st};

        if (r->rc == STORE_NOTFOUND)
            chat_fail(&r->base.outcome, 404, "not_found", "no such conversation");
        else if (r->rc)
            chat_fail_store(&e, &r->base.outcome, r->rc, "receipt");
        else {
            int64_t *users = NULL;
            size_t k = 0;

            r->base.outcome.status = 204;
            if (r->advanced && !chat_view_audience(st, r->conv_id, r->msg_id, &users, &k) && k) {
                chat_event ev = {.type = CHAT_EV_RECEIPT_READ,
                                 .audience = CHAT_TO_USERS,
                                 .conv_id = r->conv_id,
                                 .msg_id = r->msg_id,
                                 .sender_id = r->user_id,
                                 .users = users,
                                 .n_users = k};

                chat_publish(r->chat->bus, &ev);
            }
            free(users);
        }
        if (r->base.done)
            r->base.done(&r->base, r->base.arg);
        else
            read_free(&r->base);
    }
}

static const chat_commit_kind read_kind = {
    .name = "read",
    .commit = read_commit_all,
    .publish = read_publish,
    .free = read_free,
};
