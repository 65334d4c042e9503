/*
 * chat_commit.h — the commit stage's contract with the writer thread.
 *
 * A plan (chat.h) ends in a chat_commit: a unit of writing with a kind.
 * The writer (the server's srv_writer.c) knows kinds only through this
 * table: it takes every commit waiting in its queue, groups them by kind,
 * and for each group calls kind->commit() (one transaction for as many as
 * it can: group commit) and then kind->publish() (events, then each
 * commit's done callback). It never calls a handler by name and never
 * looks inside a commit.
 *
 * Kinds today: a message send (with its alert and audit row, or only the
 * alert and audit row of a blocked one) in chat_send.c, a recall in
 * chat_recall.c, read and delivered receipts in chat_receipt.c, membership
 * in chat_member.c, conversations in chat_conv.c, the alert of a title or
 * display name in chat_alert.c, an upload's inspection (its cache entry, file
 * row and state) in chat_inspected.c, a watermark delivery (its row, and the
 * audit entry of a picture that goes out unmarked) in chat_delivery.c.
 *
 * Delivered receipts ride: the writer holds them (up to a second) until a
 * message batch carries them in its own transaction (ride/carry below), so
 * the receipts' flush costs no fsync of its own in front of messages.
 */
#ifndef CHAT_COMMIT_H
#define CHAT_COMMIT_H

#include "chat.h"

#include <stddef.h>

typedef struct chat_commit chat_commit;

typedef struct chat_commit_kind {
    const char *name;
    /* Writer thread: writes items[0..n) (all of this kind) with st and
     * records each one's result in it. Never fails as a whole. */
    void (*commit)(chat_commit **items, size_t n, store *st);
    /* Writer thread, after commit: publishes what was committed, then
     * calls each item's done (which may free it); an item without done is
     * freed here. */
    void (*publish)(chat_commit **items, size_t n, store *st);
    /* Frees an item (and its outcome): one that never reached the
     * writer, or whose done has run. */
    void (*free)(chat_commit *c);
    /* Optional: riding. A kind with ride (delivered receipts: nobody waits
     * for them) may be held by the writer and written inside another
     * kind's transaction, so that one fsync covers both. ride writes
     * items[0..n) inside st's open transaction; it returns STORE_OK, or an
     * error that spoils the transaction (busy, I/O): what it could not
     * record otherwise it logs and skips, like commit. */
    int (*ride)(chat_commit **items, size_t n, store *st);
    /* Optional: carrying. Like commit, and writes riders[0..nr) (each of
     * a kind with ride) inside the same transaction; returns true when it
     * did (they are then as durable as the group), false when it could not
     * (no message in the group, a backend that appends only outside a
     * transaction): the writer then commits them on their own. The
     * riders' publish stays the writer's job either way. */
    bool (*carry)(chat_commit **items, size_t n, chat_commit **riders, size_t nr, store *st);
} chat_commit_kind;

struct chat_commit {
    /* First: the writer's queue link. An intrusive queue whose node is one
     * `next` pointer (srv_qnode) carries commits without a wrapper. */
    chat_commit *next;
    const chat_commit_kind *kind;
    /* Called once after publish, on the writer thread; NULL: nobody waits
     * and the kind frees the item. */
    void (*done)(chat_commit *c, void *arg);
    void *arg;
    /* How it ended, set by plan (a refusal that still writes, e.g. a
     * blocked message's alert) or by publish; owned by the commit. */
    chat_outcome outcome;
};

/* Frees a commit through its kind. NULL is allowed. */
static inline void chat_commit_free(chat_commit *c)
{
    if (c)
        c->kind->free(c);
}

/* A publish for kinds with no events of their own (inspected, delivery):
 * each item goes to whoever waits for it (done), or is freed. */
static inline void chat_commit_hand_back(chat_commit **items, size_t n, store *st)
{
    (void)st;
    for (size_t i = 0; i < n; i++) {
        if (items[i]->done)
            items[i]->done(items[i], items[i]->arg);
        else
            chat_commit_free(items[i]);
    }
}

/* Runs commit and publish for one item at once, on the caller's thread
 * with st (after the writer has stopped; tools). */
void chat_commit_now(chat_commit *c, store *st);

#endif
