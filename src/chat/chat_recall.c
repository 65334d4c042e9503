/*
 * chat_recall.c — a recall, in the domain's stages (chat.h):
 *
 *   plan (worker)     the message exists, the caller is a member of its
 *                     conversation and its sender, within the window.
 *   commit (writer)   the text and justification erased and the
 *                     message's alerts stripped to their evidence, in one
 *                     transaction (store_message_recall); then the audit
 *                     row message.recall.
 *   publish (writer)  message.recalled to the members who may know the
 *                     message (not those who joined after it).
 */
#include "chat_recall.h"

#include "blob/blob.h"
#include "store/store_files.h"

#include "chat_event.h"
#include "chat_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct recall_commit {
    chat_commit base; /* first */
    const chat *chat;
    int64_t msg_id, conv_id, user_id, now;
    char *login;
    int rc;
} recall_commit;

static const chat_commit_kind recall_kind;

static void recall_free(chat_commit *c)
{
    recall_commit *r = (recall_commit *)c;

    if (!r)
        return;
    free(r->login);
    chat_outcome_clear(&r->base.outcome);
    free(r);
}

/* 1. plan */
int chat_recall_plan(const chat_env *e, const chat_caller *who, int64_t msg_id, int64_t now,
                     chat_commit **out, chat_outcome *o)
{
    store_message m = {0};
    recall_commit *r = NULL;
    int rc = store_message_get(e->st, msg_id, &m), ret = -1;

    *out = NULL;
    if (rc == STORE_OK)
        rc = store_member_check(e->st, m.conv_id, who->id, NULL);
    if (rc == STORE_NOTFOUND)
        chat_fail(o, 404, "not_found", "no such message");
    else if (rc)
        chat_fail_store(e, o, rc, "recall");
    else if (m.sender_id != who->id)
        chat_fail(o, 403, "forbidden", "only the sender can recall a message");
    else if (m.recalled)
        o->status = 204;
    else if (now - m.created_at > (int64_t)e->chat->lim.recall_window_seconds * 1000)
        chat_fail(o, 409, "recall_expired", "messages can be recalled within %d s",
                  e->chat->lim.recall_window_seconds);
    else if (!(r = calloc(1, sizeof *r)) || !(r->login = strdup(who->login ? who->login : "")))
        chat_fail(o, 500, "internal", "out of memory");
    else {
        r->base.kind = &recall_kind;
        r->chat = e->chat;
        r->msg_id = m.id;
        r->conv_id = m.conv_id;
        r->user_id = who->id;
        r->now = now;
        *out = &r->base;
        r = NULL;
        ret = 0;
    }
    recall_free(r ? &r->base : NULL);
    store_message_clear(&m);
    return ret;
}

/* The message's files go with it: the links, then every file no other
 * message delivers, then the bytes nothing refers to any more. */
static void recall_files(recall_commit *r, store *st)
{
    store_hashes gone = {0};
    int rc = store_message_files_drop(st, r->msg_id, &gone);

    if (rc && rc != STORE_VERSION)
        chat_log(r->chat, CHAT_LOG_ERROR, "recall", "files of message %lld: %s",
                 (long long)r->msg_id, store_strerror(rc));
    for (size_t i = 0; !rc && i < gone.n; i++)
        if (r->chat->blobs)
            blob_remove(r->chat->blobs, gone.items[i]);
    store_hashes_free(&gone);
}

/* 2. commit: the recall and its audit row, one transaction. */
static int recall_write(store *st, void *arg)
{
    recall_commit *r = arg;
    char target[48], detail[64];
    store_audit_new a = {.time = r->now,
                         .actor_id = r->user_id,
                         .actor = r->login,
                         .event = "message.recall",
                         .target = target,
                         .detail = detail};
    int rc;

    snprintf(target, sizeof target, "message:%lld", (long long)r->msg_id);
    snprintf(detail, sizeof detail, "{\"conversation\":%lld}", (long long)r->conv_id);
    /* Two steps, not one transaction: the store scrubs the recalled text
     * from its write-ahead log right after the recall's own commit, which
     * it cannot do inside an enclosing transaction. The audit row follows
     * the recall, as it always did. */
    rc = store_message_recall(st, r->msg_id, r->now);
    if (rc)
        return rc;
    recall_files(r, st);
    /* Busy: retried whole; recalling again is a no-op. */
    rc = store_audit_append(st, &a, NULL);
    if (rc && rc != STORE_BUSY)
        chat_log(r->chat, CHAT_LOG_ERROR, "audit", "message.recall: %s (%s)", store_strerror(rc),
                 store_errmsg(st));
    return rc == STORE_BUSY ? rc : STORE_OK;
}

static void recall_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        recall_commit *r = (recall_commit *)items[i];

        r->rc = chat_retry_busy(st, recall_write, r);
    }
}

/* 3. publish */
static void recall_publish(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        recall_commit *r = (recall_commit *)items[i];
        chat_env e = {.chat = r->chat, .st = st};
        int64_t *users = NULL;
        size_t k = 0;

        if (r->rc == STORE_NOTFOUND)
            chat_fail(&r->base.outcome, 404, "not_found", "no such message");
        else if (r->rc)
            chat_fail_store(&e, &r->base.outcome, r->rc, "recall");
        else {
            r->base.outcome.status = 204;
            if (!chat_view_audience(st, r->conv_id, r->msg_id, &users, &k) && k) {
                chat_event ev = {.type = CHAT_EV_MESSAGE_RECALLED,
                                 .audience = CHAT_TO_USERS,
                                 .conv_id = r->conv_id,
                                 .msg_id = r->msg_id,
                                 .users = users,
                                 .n_users = k};

                chat_publish(r->chat->bus, &ev);
            }
            free(users);
        }
        if (r->base.done)
            r->base.done(&r->base, r->base.arg);
        else
            recall_free(&r->base);
    }
}

static const chat_commit_kind recall_kind = {
    .name = "recall",
    .commit = recall_commit_all,
    .publish = recall_publish,
    .free = recall_free,
};
