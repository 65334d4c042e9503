/*
 * chat_contain.c — an officer's containment, in the domain's stages
 * (chat_trace.h):
 *
 *   plan (worker)     the reason is given, the message exists; the scope
 *                     becomes the list of messages (one copy, or the root
 *                     and every copy of it, wherever they are: containment
 *                     does not depend on the officer's memberships).
 *   commit (writer)   every message changed and the audit row
 *                     officer.contain in ONE transaction (store_tx), then
 *                     the erased text pushed out of the journal.
 *   publish (writer)  to each changed message's audience (the members who
 *                     may know it): message.recalled by the officer
 *                     (removed, quarantined) or message.restored.
 *
 * A file is contained through the messages that deliver it (by file id, or
 * by its bytes under any file id for scope tree). A removal unlinks the
 * messages' files in the same transaction; blobs no file refers to any
 * more (content and thumbnail) leave the blob store after the commit, so
 * nothing of the file remains once its last message is removed.
 */
#include "chat_trace.h"

#include "chat_event.h"
#include "chat_json.h"
#include "chat_view.h"

#include "blob/blob.h"
#include "store/store_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct contain_item {
    int64_t id, conv_id;
    bool changed;
} contain_item;

typedef struct contain_commit {
    chat_commit base; /* first */
    const chat *chat;
    int64_t actor, root, message_id, now;
    char *login, *reason, *file_id;
    char *file_hash; /* a file's removal by content: its bytes' hash */
    chat_contain_scope scope;
    store_contain_action action;
    contain_item *items;
    size_t n;
    store_hashes gone; /* blobs to delete once committed */
    int rc;
} contain_commit;

static const chat_commit_kind contain_kind;

static const char *action_name(store_contain_action a)
{
    return a == STORE_CONTAIN_QUARANTINE ? "quarantine"
           : a == STORE_CONTAIN_RESTORE  ? "restore"
                                         : "remove";
}

static void contain_free(chat_commit *c)
{
    contain_commit *k = (contain_commit *)c;

    if (!k)
        return;
    free(k->login);
    free(k->reason);
    free(k->file_id);
    free(k->file_hash);
    free(k->items);
    store_hashes_free(&k->gone);
    chat_outcome_clear(&k->base.outcome);
    free(k);
}

/* The scope's messages into k->items. */
static int collect(const chat_env *e, contain_commit *k, chat_outcome *o)
{
    store_spread_query q = {.root_id = k->root};
    store_messages l = {0};
    int rc;

    if (k->file_id) {
        rc = store_file_spread(e->st, k->file_id, k->scope == CHAT_CONTAIN_TREE, STORE_SPREAD_MAX,
                               &l);
        if (!rc && l.n == STORE_SPREAD_MAX) {
            chat_fail(o, 409, "spread_too_large", "more than %d copies: contain them by message",
                      STORE_SPREAD_MAX);
            json_decref(o->extra);
            o->extra = json_pack("{s:{s:i}}", "error", "max", STORE_SPREAD_MAX);
            store_messages_free(&l);
            return -1;
        }
        if (rc == STORE_NOTFOUND) {
            chat_fail(o, 404, "not_found", "no such file");
            return -1;
        }
        if (!rc && k->scope == CHAT_CONTAIN_TREE && k->action == STORE_CONTAIN_REMOVE) {
            /* the bytes go wherever they are, not only where delivered */
            store_file f = {0};

            rc = store_file_get(e->st, k->file_id, &f);
            if (!rc) {
                k->file_hash = f.hash;
                f.hash = NULL;
            }
            store_file_clear(&f);
        }
        if (!rc && !(k->items = calloc(l.n ? l.n : 1, sizeof *k->items)))
            rc = STORE_NOMEM;
        for (size_t i = 0; !rc && i < l.n; i++)
            k->items[k->n++] = (contain_item){.id = l.items[i].id, .conv_id = l.items[i].conv_id};
        /* the first message is the root the answer names */
        k->root = !rc && l.n ? l.items[0].id : 0;
        store_messages_free(&l);
        goto out;
    }
    if (k->scope == CHAT_CONTAIN_COPY) {
        store_message m = {0};

        rc = store_message_get(e->st, k->message_id, &m);
        if (!rc && (k->items = calloc(1, sizeof *k->items))) {
            k->items[0] = (contain_item){.id = m.id, .conv_id = m.conv_id};
            k->n = 1;
        } else if (!rc)
            rc = STORE_NOMEM;
        store_message_clear(&m);
        goto out;
    }
    rc = store_message_spread(e->st, &q, &l);
    if (!rc && l.n == STORE_SPREAD_MAX) {
        chat_fail(o, 409, "spread_too_large", "more than %d copies: contain them by copy",
                  STORE_SPREAD_MAX);
        json_decref(o->extra);
        o->extra = json_pack("{s:{s:i}}", "error", "max", STORE_SPREAD_MAX);
        store_messages_free(&l);
        return -1;
    }
    if (!rc && !(k->items = calloc(l.n ? l.n : 1, sizeof *k->items)))
        rc = STORE_NOMEM;
    for (size_t i = 0; !rc && i < l.n; i++)
        k->items[k->n++] = (contain_item){.id = l.items[i].id, .conv_id = l.items[i].conv_id};
    store_messages_free(&l);
out:
    if (rc == STORE_NOTFOUND)
        chat_fail(o, 404, "not_found", "no such message");
    else if (rc)
        chat_fail_store(e, o, rc, "contain");
    return rc ? -1 : 0;
}

/* 1. plan */
int chat_contain_plan(const chat_env *e, const chat_caller *who, const chat_contain_req *rq,
                      int64_t now, chat_commit **out, chat_outcome *o)
{
    contain_commit *k = NULL;
    int rc, ret = -1;

    *out = NULL;
    if (!rq->reason || !*rq->reason) {
        chat_fail(o, 400, "reason_required", "a reason is required");
        goto fail;
    }
    if (strlen(rq->reason) > CHAT_CONTAIN_REASON_MAX) {
        chat_fail(o, 400, "reason_too_long", "the reason has at most %d bytes",
                  CHAT_CONTAIN_REASON_MAX);
        o->extra = json_pack("{s:{s:i}}", "error", "max", CHAT_CONTAIN_REASON_MAX);
        goto fail;
    }
    if (!(k = calloc(1, sizeof *k)) || !(k->login = strdup(who->login ? who->login : "")) ||
        !(k->reason = strdup(rq->reason))) {
        chat_fail(o, 500, "internal", "out of memory");
        goto fail;
    }
    k->base.kind = &contain_kind;
    k->chat = e->chat;
    k->actor = who->id;
    k->message_id = rq->message_id;
    k->scope = rq->scope;
    k->action = rq->action;
    k->now = now;
    if (rq->file_id) {
        if (!(k->file_id = strdup(rq->file_id))) {
            chat_fail(o, 500, "internal", "out of memory");
            goto fail;
        }
        if (collect(e, k, o))
            goto fail;
        goto planned;
    }
    rc = chat_trace_root(e->st, rq->message_id, &k->root);
    if (rc == STORE_NOTFOUND) {
        chat_fail(o, 404, "not_found", "no such message");
        goto fail;
    }
    if (rc) {
        chat_fail_store(e, o, rc, "contain");
        goto fail;
    }
    if (collect(e, k, o))
        goto fail;
planned:
    *out = &k->base;
    k = NULL;
    ret = 0;
fail:
    contain_free(k ? &k->base : NULL);
    return ret;
}

/* The audit row: why, what was asked, and exactly what changed. */
static char *audit_detail(const contain_commit *k)
{
    json_t *changed = json_array(), *d;
    char *text = NULL;

    for (size_t i = 0; changed && i < k->n; i++)
        if (k->items[i].changed)
            json_array_append_new(changed,
                                  json_pack("{s:I,s:I}", "message", (json_int_t)k->items[i].id,
                                            "conversation", (json_int_t)k->items[i].conv_id));
    d = json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:I,s:I}", "action", action_name(k->action), "scope",
                  k->scope == CHAT_CONTAIN_TREE ? "tree" : "copy", "reason", k->reason, "root",
                  (json_int_t)k->root, "requested", (json_int_t)k->message_id, "changed",
                  changed ? changed : json_array(), "copies", (json_int_t)k->n, "blobs_removed",
                  (json_int_t)k->gone.n);
    if (d && k->file_id)
        json_object_set_new(d, "file", json_string(k->file_id));
    if (d)
        text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    return text;
}

/* Moves the hashes of g (blobs left without a reference) into k->gone,
 * deleted from the blob store once the commit is done. rc passes through
 * unless it was STORE_VERSION (a backend without files: nothing to do). */
static int take_gone(contain_commit *k, store_hashes *g, int rc)
{
    if (rc == STORE_VERSION)
        rc = STORE_OK;
    for (size_t i = 0; !rc && i < g->n; i++) {
        char **p = realloc(k->gone.items, (k->gone.n + 1) * sizeof *p);

        if (!p) {
            rc = STORE_NOMEM;
            break;
        }
        k->gone.items = p;
        k->gone.items[k->gone.n++] = g->items[i];
        g->items[i] = NULL;
    }
    store_hashes_free(g);
    return rc;
}

/* A removed message's files: unlinked; a file no message delivers any
 * more goes with its blob references. */
static int drop_files(store *st, contain_commit *k, int64_t message_id)
{
    store_hashes g = {0};

    return take_gone(k, &g, store_message_files_drop(st, message_id, &g));
}

/* A file's removal by content (scope tree): the files of these bytes that
 * no message delivers (an upload not sent yet, a held or blocked one) go
 * too, so nothing of the bytes is left in the blob store. */
static int purge_unlinked(store *st, contain_commit *k)
{
    store_hashes g = {0};

    return take_gone(k, &g, store_file_purge_unlinked(st, k->file_hash, &g));
}

/* 2. commit: every copy and the audit row, one transaction. */
static int contain_write(store *st, void *arg)
{
    contain_commit *k = arg;
    char target[80], *detail = NULL;
    store_audit_new a = {.time = k->now,
                         .actor_id = k->actor,
                         .actor = k->login,
                         .event = "officer.contain",
                         .target = target};
    bool erased = false;
    int rc = store_tx_begin(st);

    if (rc)
        return rc;
    store_hashes_free(&k->gone); /* a retry after busy starts over */
    for (size_t i = 0; !rc && i < k->n; i++) {
        rc = store_message_contain(st, k->items[i].id, k->action, k->actor, k->now,
                                   &k->items[i].changed);
        erased |= k->items[i].changed && k->action == STORE_CONTAIN_REMOVE;
        if (!rc && k->action == STORE_CONTAIN_REMOVE)
            rc = drop_files(st, k, k->items[i].id);
    }
    if (!rc && k->file_hash)
        rc = purge_unlinked(st, k);
    if (k->file_id)
        snprintf(target, sizeof target, "file:%.64s", k->file_id);
    else
        snprintf(target, sizeof target, "message:%lld", (long long)k->message_id);
    if (!rc && !(detail = audit_detail(k)))
        rc = STORE_NOMEM;
    a.detail = detail;
    if (!rc)
        rc = store_audit_append(st, &a, NULL);
    free(detail);
    if (rc) {
        store_tx_rollback(st);
        for (size_t i = 0; i < k->n; i++)
            k->items[i].changed = false;
        store_hashes_free(&k->gone);
        return rc;
    }
    rc = store_tx_commit(st);
    if (rc) {
        for (size_t i = 0; i < k->n; i++)
            k->items[i].changed = false;
        store_hashes_free(&k->gone);
        return rc;
    }
    if (erased)
        store_erase_flush(st);
    /* Committed: the bytes nothing refers to any more leave the blob
     * store. A failure here leaves an unreferenced blob, logged (the
     * database no longer names it, so nobody can download it). */
    for (size_t i = 0; i < k->gone.n; i++) {
        int brc = k->chat->blobs ? blob_remove(k->chat->blobs, k->gone.items[i]) : BLOB_OK;

        if (brc && brc != BLOB_NOTFOUND)
            chat_log(k->chat, CHAT_LOG_ERROR, "contain", "blob %s: %s", k->gone.items[i],
                     blob_strerror(brc));
    }
    return STORE_OK;
}

static void contain_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        contain_commit *k = (contain_commit *)items[i];

        k->rc = chat_retry_busy(st, contain_write, k);
    }
}

/* One changed message's event to the members who may know it. */
static void publish_one(const contain_commit *k, const contain_item *it, store *st)
{
    int64_t *users = NULL;
    size_t n = 0;

    if (chat_view_audience(st, it->conv_id, it->id, &users, &n) || !n) {
        free(users);
        return;
    }
    if (k->action == STORE_CONTAIN_RESTORE) {
        json_t *body = json_pack("{s:I,s:I}", "conversation_id", (json_int_t)it->conv_id,
                                 "message_id", (json_int_t)it->id);
        chat_event ev = {.type = CHAT_EV_CONVERSATION,
                         .audience = CHAT_TO_USERS,
                         .conv_id = it->conv_id,
                         .msg_id = it->id,
                         .name = "message.restored",
                         .body = body,
                         .users = users,
                         .n_users = n};

        if (body)
            chat_publish(k->chat->bus, &ev);
        json_decref(body);
    } else {
        chat_event ev = {.type = CHAT_EV_MESSAGE_RECALLED,
                         .audience = CHAT_TO_USERS,
                         .conv_id = it->conv_id,
                         .msg_id = it->id,
                         .users = users,
                         .n_users = n,
                         .contained = k->action == STORE_CONTAIN_QUARANTINE
                                          ? STORE_CONTAINED_QUARANTINED
                                          : STORE_CONTAINED_REMOVED};

        chat_publish(k->chat->bus, &ev);
    }
    free(users);
}

/* 3. publish */
static void contain_publish(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        contain_commit *k = (contain_commit *)items[i];
        chat_env e = {.chat = k->chat, .st = st};
        chat_outcome *o = &k->base.outcome;

        if (k->rc == STORE_NOTFOUND)
            chat_fail(o, 404, "not_found", "no such message");
        else if (k->rc)
            chat_fail_store(&e, o, k->rc, "contain");
        else {
            json_t *changed = json_array();
            size_t n_changed = 0;

            for (size_t j = 0; j < k->n; j++) {
                if (!k->items[j].changed)
                    continue;
                n_changed++;
                publish_one(k, &k->items[j], st);
                if (changed)
                    json_array_append_new(
                        changed, json_pack("{s:I,s:I}", "message_id", (json_int_t)k->items[j].id,
                                           "conversation_id", (json_int_t)k->items[j].conv_id));
            }
            o->status = 200;
            o->extra = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:o}", "action", action_name(k->action),
                                 "scope", k->scope == CHAT_CONTAIN_TREE ? "tree" : "copy",
                                 "root_message_id", (json_int_t)k->root, "copies", (json_int_t)k->n,
                                 "changed_count", (json_int_t)n_changed, "unchanged_count",
                                 (json_int_t)(k->n - n_changed), "changed",
                                 changed ? changed : json_array());
            if (o->extra) {
                json_object_set_new(o->extra, "blobs_removed", json_integer((json_int_t)k->gone.n));
                if (k->file_id)
                    json_object_set_new(o->extra, "file_id", json_string(k->file_id));
            }
        }
        if (k->base.done)
            k->base.done(&k->base, k->base.arg);
        else
            contain_free(&k->base);
    }
}

static const chat_commit_kind contain_kind = {
    .name = "contain",
    .commit = contain_commit_all,
    .publish = contain_publish,
    .free = contain_free,
};
