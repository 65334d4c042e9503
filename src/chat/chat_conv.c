/*
 * chat_conv.c — a conversation's creation and its settings, as commit and
 * publish stages (chat.h): the change and its audit row in one transaction
 * on the writer, then conversation.updated to the members.
 */
#include "chat_conv.h"

#include "chat_json.h"
#include "chat_member.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_commit {
    chat_commit base; /* first */
    const chat *chat;
    bool create;
    int64_t conv_id, actor_id, now;
    char *actor, *title;
    /* create */
    store_conv_kind kind;
    int64_t *members;
    size_t n;
    bool created;
    /* create: history sharing; patch: -1 unchanged */
    int shared;
    int rc;
} conv_commit;

static const chat_commit_kind conv_kind;

static void conv_free(chat_commit *c)
{
    conv_commit *k = (conv_commit *)c;

    if (!k)
        return;
    free(k->actor);
    free(k->title);
    free(k->members);
    chat_outcome_clear(&k->base.outcome);
    free(k);
}

static conv_commit *conv_new(const chat *c, const chat_caller *who, const char *title, int64_t now)
{
    conv_commit *k = calloc(1, sizeof *k);

    if (!k)
        return NULL;
    k->base.kind = &conv_kind;
    k->chat = c;
    k->actor_id = who->id;
    k->now = now;
    k->actor = strdup(who->login ? who->login : "");
    k->title = title ? strdup(title) : NULL;
    if (!k->actor || (title && !k->title)) {
        conv_free(&k->base);
        return NULL;
    }
    return k;
}

chat_commit *chat_conv_create_commit(const chat *c, const chat_caller *who, const chat_conv_new *in,
                                     int64_t now)
{
    conv_commit *k = conv_new(c, who, in->title, now);

    if (!k)
        return NULL;
    k->create = true;
    k->kind = in->kind;
    k->shared = in->shared_history;
    k->n = in->n;
    k->members = calloc(in->n ? in->n : 1, sizeof *k->members);
    if (!k->members) {
        conv_free(&k->base);
        return NULL;
    }
    memcpy(k->members, in->members, in->n * sizeof *in->members);
    return &k->base;
}

chat_commit *chat_conv_patch_commit(const chat *c, const chat_caller *who, int64_t conv_id,
                                    const char *title, int shared, int64_t now)
{
    conv_commit *k = conv_new(c, who, title, now);

    if (!k)
        return NULL;
    k->conv_id = conv_id;
    k->shared = shared;
    return &k->base;
}

/* ---- commit ---------------------------------------------------------------- */

static int audit(conv_commit *k, store *st, const char *event, json_t *detail)
{
    char target[48], *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    store_audit_new a = {.time = k->now,
                         .actor_id = k->actor_id,
                         .actor = k->actor,
                         .event = event,
                         .target = target,
                         .detail = text};
    int rc;

    json_decref(detail);
    snprintf(target, sizeof target, "conversation:%lld", (long long)k->conv_id);
    rc = text ? store_audit_append(st, &a, NULL) : STORE_NOMEM;
    free(text);
    return rc;
}

static int create(conv_commit *k, store *st)
{
    json_t *ids = json_array();
    int rc = store_conv_create(st, k->kind, k->title, k->actor_id, k->members, k->n, k->now,
                               &k->conv_id, &k->created);

    if (!rc && k->created && k->shared)
        rc = store_conv_set_shared_history(st, k->conv_id, true, k->now);
    for (size_t i = 0; ids && i < k->n; i++)
        json_array_append_new(ids, json_integer(k->members[i]));
    if (!rc && k->created)
        rc = audit(k, st, "conv.create",
                   json_pack("{s:s,s:O,s:b}", "kind",
                             k->kind == STORE_CONV_GROUP ? "group" : "direct", "members", ids,
                             "shared_history", k->shared != 0));
    json_decref(ids);
    return rc;
}

static int patch(conv_commit *k, store *st)
{
    int rc = STORE_OK;

    if (k->title)
        rc = store_conv_rename(st, k->conv_id, k->title, k->now);
    if (!rc && k->shared >= 0) {
        rc = store_conv_set_shared_history(st, k->conv_id, k->shared != 0, k->now);
        if (!rc)
            rc = audit(k, st, "conv.shared_history",
                       json_pack("{s:b}", "shared_history", k->shared != 0));
    }
    return rc;
}

/* The change and its audit row (chat_tx brackets the transaction). */
static int conv_write(store *st, void *arg)
{
    conv_commit *k = arg;

    return k->create ? create(k, st) : patch(k, st);
}

static void conv_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        conv_commit *k = (conv_commit *)items[i];

        k->rc = chat_tx(st, conv_write, k);
    }
}

/* ---- publish ---------------------------------------------------------------- */

/* The conversation with its members, as the API shows it. */
static json_t *conv_json(store *st, int64_t id, int my_role)
{
    store_conv c = {0};
    store_members ml = {0};
    json_t *o = NULL;

    if (!store_conv_get(st, id, &c) && !store_member_list(st, id, &ml))
        o = chat_json_conv(&c, &ml, my_role);
    store_conv_clear(&c);
    store_members_free(&ml);
    return o;
}

static void conv_publish(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        conv_commit *k = (conv_commit *)items[i];
        chat_outcome *o = &k->base.outcome;
        chat_env e = {.chat = k->chat, .st = st};

        if (k->create && k->rc == STORE_NOTFOUND)
            chat_fail(o, 422, "invalid", "a member does not exist");
        else if (k->create && k->rc == STORE_INVAL)
            chat_fail(o, 422, "invalid",
                      k->kind == STORE_CONV_DIRECT
                          ? "a direct conversation has exactly one other member"
                          : "invalid conversation");
        else if (k->rc)
            chat_fail_store(&e, o, k->rc, k->create ? "conv_create" : "conv_patch");
        else {
            int role = !k->create                                  ? -1
                       : k->kind == STORE_CONV_GROUP || k->created ? STORE_MEMBER_OWNER
                                                                   : STORE_MEMBER;

            o->extra = conv_json(st, k->conv_id, role);
            if (!o->extra)
                chat_fail(o, 500, "internal", "internal error");
            else
                o->status = k->create && k->created ? 201 : 200;
            if (!k->create || k->created)
                chat_publish_conv_updated(k->chat, st, k->conv_id);
        }
        if (k->base.done)
            k->base.done(&k->base, k->base.arg);
        else
            conv_free(&k->base);
    }
}

static const chat_commit_kind conv_kind = {
    .name = "conversation",
    .commit = conv_commit_all,
    .publish = conv_publish,
    .free = conv_free,
};
