/*
 * chat_burn.c — burn-after-reading (chat_burn.h), in the domain's stages:
 *
 *   plan (worker)     open: a live burn message the caller may see, not
 *                     their own; its text as they may see it.
 *   commit (writer)   open: the caller's open recorded (each reader once;
 *                     the last one brings the destruction forward);
 *                     destroy: its pictures (store_burn_files_drop, then
 *                     the blobs nothing else uses), store_burn_destroy
 *                     (text erased, WAL truncated) and its audit row.
 *   publish (writer)  open: the text and the pictures' list to the opener only, burn.opened (ids)
 *                     to the sender; destroy: message.burned (ids, never
 *                     content) to the members who knew of it.
 */
#include "chat_burn.h"

#include "blob/blob.h"
#include "chat_event.h"
#include "chat_view.h"
#include "store/store_work.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum burn_op { BURN_OPEN, BURN_DESTROY } burn_op;

typedef struct burn_commit {
    chat_commit base; /* first */
    const chat *chat;
    burn_op op;
    int64_t msg_id, conv_id, user_id, sender_id, now;
    char *text; /* open: what the opener sees (NULL: withheld) */
    size_t len;
    char *att;     /* open: the pictures' list (JSON array text), NULL when none */
    bool withheld; /* open: the external scope withholds it from this reader */
    bool first;
    int rc;
} burn_commit;

static const chat_commit_kind burn_kind;

static void burn_free(chat_commit *c)
{
    burn_commit *b = (burn_commit *)c;

    if (!b)
        return;
    if (b->text) /* the text leaves no copy in freed heap either */
        explicit_bzero(b->text, b->len);
    free(b->text);
    free(b->att);
    chat_outcome_clear(&b->base.outcome);
    free(b);
}

/* 1. plan */
int chat_burn_open_plan(const chat_env *e, const chat_caller *who, int64_t msg_id, int64_t now,
                        chat_commit **out, chat_outcome *o)
{
    store_message m = {0};
    chat_viewer v;
    burn_commit *b = NULL;
    char *masked = NULL;
    size_t masked_len = 0;
    chat_see see = CHAT_SEE_HIDDEN;
    int rc = store_message_get(e->st, msg_id, &m), ret = -1;

    *out = NULL;
    if (!rc && m.burn != STORE_BURN_LIVE)
        rc = STORE_NOTFOUND;
    if (!rc)
        rc = chat_viewer_get(e->st, m.conv_id, who->id, &v, NULL);
    if (!rc)
        see = chat_view_decide(e, &v, &m, &masked, &masked_len);
    if (rc == STORE_NOTFOUND || (!rc && see == CHAT_SEE_HIDDEN))
        chat_fail(o, 404, "not_found", "no such message");
    else if (rc)
        chat_fail_store(e, o, rc, "burn open");
    else if (m.sender_id == who->id)
        chat_fail(o, 403, "burn_sender", "the sender cannot open a burn-after-reading message");
    else if (!(b = calloc(1, sizeof *b)))
        chat_fail(o, 500, "internal", "out of memory");
    else {
        b->base.kind = &burn_kind;
        b->chat = e->chat;
        b->op = BURN_OPEN;
        b->msg_id = m.id;
        b->conv_id = m.conv_id;
        b->user_id = who->id;
        b->sender_id = m.sender_id;
        b->now = now;
        b->withheld = see == CHAT_SEE_WITHHELD;
        b->att = b->withheld ? NULL : m.attachments; /* the files' metadata, no content */
        if (!b->withheld)
            m.attachments = NULL;
        if (see == CHAT_SEE_MASKED) {
            b->text = masked;
            b->len = masked_len;
            masked = NULL;
        } else if (see == CHAT_SEE_AS_IS && m.text) {
            b->text = m.text;
            b->len = m.text_len;
            m.text = NULL;
        }
        *out = &b->base;
        ret = 0;
    }
    free(masked);
    if (m.text)
        explicit_bzero(m.text, m.text_len);
    store_message_clear(&m);
    return ret;
}

chat_commit *chat_burn_destroy_plan(const chat_env *e, int64_t msg_id)
{
    burn_commit *b = calloc(1, sizeof *b);

    if (b) {
        b->base.kind = &burn_kind;
        b->chat = e->chat;
        b->op = BURN_DESTROY;
        b->msg_id = msg_id;
    }
    return b ? &b->base : NULL;
}

/* 2. commit */

/* A burn message's pictures: rows, upload rows and cached outcomes
 * (store_burn_files_drop), then the blobs (content and thumbnail) no
 * other message refers to. A blob another message shares stays. */
static int destroy_files(burn_commit *b, store *st)
{
    store_hashes gone = {0};
    int rc = store_burn_files_drop(st, b->msg_id, &gone);

    if (rc == STORE_VERSION)
        return STORE_OK; /* a backend without files: a text-only burn */
    for (size_t i = 0; !rc && i < gone.n; i++)
        if (b->chat->blobs && blob_remove(b->chat->blobs, gone.items[i]))
            chat_log(b->chat, CHAT_LOG_ERROR, "burn", "message %lld: a blob could not be removed",
                     (long long)b->msg_id);
    store_hashes_free(&gone);
    return rc;
}

static int burn_write(store *st, void *arg)
{
    burn_commit *b = arg;
    store_message m = {0};
    char target[48];
    store_audit_new a = {.actor = "system", .event = "message.burned", .target = target};
    int rc;

    if (b->op == BURN_OPEN)
        return store_burn_open(st, b->msg_id, b->user_id, b->now,
                               (int64_t)b->chat->lim.burn_after_open_seconds * 1000, &b->first);
    rc = store_message_get(st, b->msg_id, &m);
    if (!rc && m.burn == STORE_BURN_DESTROYED)
        rc = STORE_CONFLICT; /* destroyed already: nothing to publish */
    b->conv_id = m.conv_id;
    store_message_clear(&m);
    /* the pictures first: their rows in one transaction, then the text,
     * whose WAL truncation covers both */
    if (!rc)
        rc = destroy_files(b, st);
    if (!rc)
        rc = store_burn_destroy(st, b->msg_id);
    if (rc)
        return rc;
    snprintf(target, sizeof target, "message:%lld", (long long)b->msg_id);
    a.time = chat_now_ms();
    /* Busy: retried whole; destroying again is a no-op. */
    rc = store_audit_append(st, &a, NULL);
    if (rc && rc != STORE_BUSY)
        chat_log(b->chat, CHAT_LOG_ERROR, "audit", "message.burned: %s", store_strerror(rc));
    return rc == STORE_BUSY ? rc : STORE_OK;
}

static void burn_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        burn_commit *b = (burn_commit *)items[i];

        b->rc = chat_retry_busy(st, burn_write, b);
    }
}

/* 3. publish */
static void publish_ids(burn_commit *b, const char *name, const int64_t *users, size_t n)
{
    json_t *body = json_pack("{s:I,s:I}", "conversation_id", (json_int_t)b->conv_id, "message_id",
                             (json_int_t)b->msg_id);
    chat_event ev = {.type = CHAT_EV_CONVERSATION,
                     .audience = CHAT_TO_USERS,
                     .conv_id = b->conv_id,
                     .msg_id = b->msg_id,
                     .name = name,
                     .body = body,
                     .users = users,
                     .n_users = n};

    if (body && n) {
        if (!strcmp(name, "burn.opened"))
            json_object_set_new(body, "user_id", json_integer(b->user_id));
        chat_publish(b->chat->bus, &ev);
    }
    json_decref(body);
}

static void publish_open(burn_commit *b)
{
    chat_outcome *o = &b->base.outcome;
    json_t *att;

    if (!b->first) {
        chat_fail(o, 409, "burn_opened", "this message was opened already");
        return;
    }
    o->status = 200;
    att = b->att ? json_loads(b->att, 0, NULL) : NULL;
    if (!json_is_array(att)) {
        json_decref(att);
        att = json_array();
    }
    o->extra = json_pack("{s:I,s:o,s:b,s:i,s:o}", "message_id", (json_int_t)b->msg_id, "text",
                         b->text ? json_stringn_nocheck(b->text, b->len) : json_null(), "withheld",
                         b->withheld, "visible_seconds", b->chat->lim.burn_after_open_seconds,
                         "attachments", att);
    publish_ids(b, "burn.opened", &b->sender_id, 1);
}

static void burn_publish(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        burn_commit *b = (burn_commit *)items[i];
        chat_env e = {.chat = b->chat, .st = st};
        int64_t *users = NULL;
        size_t k = 0;

        if (b->rc == STORE_NOTFOUND || (b->rc == STORE_INVAL && b->op == BURN_OPEN))
            chat_fail(&b->base.outcome, 404, "not_found", "no such message");
        else if (b->rc == STORE_CONFLICT)
            b->base.outcome.status = 204;
        else if (b->rc)
            chat_fail_store(&e, &b->base.outcome, b->rc, "burn");
        else if (b->op == BURN_OPEN)
            publish_open(b);
        else {
            b->base.outcome.status = 204;
            chat_log(b->chat, CHAT_LOG_INFO, "burn", "message %lld destroyed",
                     (long long)b->msg_id);
            if (!chat_view_audience(st, b->conv_id, b->msg_id, &users, &k))
                publish_ids(b, "message.burned", users, k);
            free(users);
        }
        if (b->base.done)
            b->base.done(&b->base, b->base.arg);
        else
            burn_free(&b->base);
    }
}

static const chat_commit_kind burn_kind = {
    .name = "burn",
    .commit = burn_commit_all,
    .publish = burn_publish,
    .free = burn_free,
};
