/*
 * chat_member.c — membership changes, in the domain's stages (chat.h):
 *
 *   plan (worker)     authorise: the caller administers the group
 *                     (chat_group_admin_check), the new member's account
 *                     is enabled; the transport adds its own checks
 *                     (group size, the title for an external member).
 *   commit (writer)   one transaction: the change (for a removal of the
 *                     owner, the oldest admin — else the oldest member —
 *                     becomes owner) and its audit row; bracketed by
 *                     chat_cache_change_begin/_end so that once it returns
 *                     no send is authorised from a member list that still
 *                     has a removed member.
 *   publish (writer)  member.added / member.removed (the removed member
 *                     hears of it too, then no more of this conversation),
 *                     conversation.updated.
 */
#include "chat_member.h"

#include "chat_cache.h"
#include "chat_event.h"
#include "chat_json.h"
#include "chat_warn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- plan ------------------------------------------------------------------ */

int chat_group_admin_check(const chat_env *e, const chat_caller *who, int64_t conv_id,
                           bool owner_only, chat_outcome *o)
{
    store_member_role role;
    store_conv c = {0};
    int rc = store_member_check(e->st, conv_id, who->id, &role);

    if (rc == STORE_NOTFOUND) {
        chat_fail(o, 404, "not_found", "no such conversation");
        return -1;
    }
    if (!rc)
        rc = store_conv_get(e->st, conv_id, &c);
    if (rc) {
        chat_fail_store(e, o, rc, "group admin");
        return -1;
    }
    rc = c.kind != STORE_CONV_GROUP;
    store_conv_clear(&c);
    if (rc) {
        chat_fail(o, 422, "invalid", "a direct conversation has no administration");
        return -1;
    }
    if (owner_only ? role != STORE_MEMBER_OWNER : role == STORE_MEMBER) {
        chat_fail(o, 403, "forbidden", "only the group's %s can do this",
                  owner_only ? "owner" : "owner or admins");
        return -1;
    }
    return 0;
}

int chat_user_check_enabled(const chat_env *e, int64_t uid, chat_outcome *o)
{
    store_user u = {0};
    int rc = store_user_get(e->st, uid, &u);
    bool disabled = rc == STORE_OK && u.disabled;

    store_user_clear(&u);
    if (rc && rc != STORE_NOTFOUND) {
        chat_fail_store(e, o, rc, "member: user");
        return -1;
    }
    if (disabled) {
        chat_fail(o, 422, "user_disabled", "user %lld is disabled", (long long)uid);
        return -1;
    }
    return 0;
}

typedef struct member_commit {
    chat_commit base; /* first */
    const chat *chat;
    chat_member_op op;
    int64_t conv_id, uid, actor_id, now;
    store_member_role role;
    char *actor;
    char *title; /* ADD: the group's new title, or NULL */
    int rc;
} member_commit;

static const chat_commit_kind member_kind;

static void member_free(chat_commit *c)
{
    member_commit *m = (member_commit *)c;

    if (!m)
        return;
    free(m->actor);
    free(m->title);
    chat_outcome_clear(&m->base.outcome);
    free(m);
}

chat_commit *chat_member_commit(const chat *c, const chat_caller *who, chat_member_op op,
                                int64_t conv_id, int64_t uid, store_member_role role, int64_t now)
{
    member_commit *m = calloc(1, sizeof *m);

    if (!m || !(m->actor = strdup(who->login ? who->login : ""))) {
        free(m);
        return NULL;
    }
    m->base.kind = &member_kind;
    m->chat = c;
    m->op = op;
    m->conv_id = conv_id;
    m->uid = uid;
    m->role = role;
    m->actor_id = who->id;
    m->now = now;
    return &m->base;
}

int chat_member_commit_retitle(chat_commit *c, const char *title)
{
    member_commit *m = (member_commit *)c;
    char *t = strdup(title);

    if (!t)
        return -1;
    free(m->title);
    m->title = t;
    return 0;
}

/* ---- commit ------------------------------------------------------------------ */

/* The owner left: the oldest admin, else the oldest member, becomes owner. */
static int hand_on_ownership(store *st, int64_t conv_id)
{
    store_members ml = {0};
    size_t best = 0;
    bool found_admin = false;
    int rc = store_member_list(st, conv_id, &ml);

    if (rc || !ml.n) {
        store_members_free(&ml);
        return rc;
    }
    for (size_t i = 0; i < ml.n; i++) {
        bool adm = ml.items[i].role == STORE_MEMBER_ADMIN;

        if ((adm && !found_admin) ||
            (adm == found_admin && ml.items[i].joined_at < ml.items[best].joined_at)) {
            best = i;
            found_admin = adm;
        }
    }
    rc = store_member_set_role(st, conv_id, ml.items[best].user_id, STORE_MEMBER_OWNER);
    store_members_free(&ml);
    return rc;
}

/* The change and its audit row (chat_tx brackets the transaction). */
static int member_change(store *st, void *arg)
{
    member_commit *m = arg;
    static const char *const events[] = {"conv.member_add", "conv.member_remove",
                                         "conv.member_role"};
    store_member_role was = STORE_MEMBER;
    char target[48], detail[96];
    store_audit_new a = {.time = m->now,
                         .actor_id = m->actor_id,
                         .actor = m->actor,
                         .event = events[m->op],
                         .target = target,
                         .detail = detail};
    int rc;

    snprintf(target, sizeof target, "conversation:%lld", (long long)m->conv_id);
    if (m->op == CHAT_MEMBER_ROLE)
        snprintf(detail, sizeof detail, "{\"role\":\"%s\",\"user_id\":%lld}",
                 store_member_role_name(m->role), (long long)m->uid);
    else
        snprintf(detail, sizeof detail, "{\"user_id\":%lld}", (long long)m->uid);
    switch (m->op) {
    case CHAT_MEMBER_ADD:
        rc = m->title ? store_conv_rename(st, m->conv_id, m->title, m->now) : STORE_OK;
        if (!rc)
            rc = store_member_add(st, m->conv_id, m->uid, STORE_MEMBER, m->now);
        break;
    case CHAT_MEMBER_REMOVE:
        store_member_check(st, m->conv_id, m->uid, &was);
        rc = store_member_remove(st, m->conv_id, m->uid, m->now);
        if (!rc && was == STORE_MEMBER_OWNER)
            rc = hand_on_ownership(st, m->conv_id);
        break;
    default:
        rc = store_member_set_role(st, m->conv_id, m->uid, m->role);
        break;
    }
    return rc ? rc : store_audit_append(st, &a, NULL);
}

static void member_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        member_commit *m = (member_commit *)items[i];
        bool bracket = m->op != CHAT_MEMBER_ROLE;

        if (bracket)
            chat_cache_change_begin(m->chat->cache, m->conv_id);
        m->rc = chat_tx(st, member_change, m);
        if (bracket)
            chat_cache_change_end(m->chat->cache, m->conv_id);
    }
}

/* ---- publish ------------------------------------------------------------------ */

void chat_publish_conv(const chat *c, store *st, int64_t conv_id, const char *name, json_t *body)
{
    store_members ml = {0};
    int64_t *uids = NULL;

    if (body && store_member_list(st, conv_id, &ml) == STORE_OK &&
        (uids = calloc(ml.n ? ml.n : 1, sizeof *uids))) {
        chat_event ev = {.type = CHAT_EV_CONVERSATION,
                         .audience = CHAT_TO_USERS,
                         .conv_id = conv_id,
                         .name = name,
                         .body = body,
                         .users = uids,
                         .n_users = ml.n};

        for (size_t i = 0; i < ml.n; i++)
            uids[i] = ml.items[i].user_id;
        chat_publish(c->bus, &ev);
    }
    json_decref(body);
    free(uids);
    store_members_free(&ml);
}

void chat_publish_conv_updated(const chat *c, store *st, int64_t conv_id)
{
    store_conv conv = {0};
    store_members ml = {0};
    json_t *o = NULL;

    if (!store_conv_get(st, conv_id, &conv) && !store_member_list(st, conv_id, &ml))
        o = chat_json_conv(&conv, &ml, -1);
    store_conv_clear(&conv);
    store_members_free(&ml);
    if (o)
        chat_publish_conv(c, st, conv_id, "conversation.updated",
                          json_pack("{s:o}", "conversation", o));
}

static json_t *member_body(const member_commit *m)
{
    return json_pack("{s:I,s:I}", "conversation_id", (json_int_t)m->conv_id, "user_id",
                     (json_int_t)m->uid);
}

static void publish_change(member_commit *m, store *st)
{
    if (m->op == CHAT_MEMBER_ADD) {
        chat_publish_conv(m->chat, st, m->conv_id, "member.added", member_body(m));
        chat_warn_after_member(m->chat, st, m->conv_id, m->uid, m->now);
    }
    if (m->op == CHAT_MEMBER_REMOVE) {
        json_t *body = member_body(m);
        chat_event ev = {.type = CHAT_EV_CONVERSATION,
                         .audience = CHAT_TO_USERS,
                         .conv_id = m->conv_id,
                         .name = "member.removed",
                         .body = body,
                         .users = &m->uid,
                         .n_users = 1};

        if (body)
            chat_publish(m->chat->bus, &ev);
        json_decref(body);
        chat_publish_conv(m->chat, st, m->conv_id, "member.removed", member_body(m));
    }
    chat_publish_conv_updated(m->chat, st, m->conv_id);
}

static void member_publish(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        member_commit *m = (member_commit *)items[i];
        chat_outcome *o = &m->base.outcome;
        chat_env e = {.chat = m->chat, .st = st};

        if (m->rc == STORE_CONFLICT && m->op == CHAT_MEMBER_ADD)
            chat_fail(o, 409, "conflict", "already a member");
        else if (m->rc == STORE_NOTFOUND && m->op == CHAT_MEMBER_ADD)
            chat_fail(o, 422, "invalid", "no such user");
        else if (m->rc == STORE_NOTFOUND)
            chat_fail(o, 404, "not_found", "not a member");
        else if (m->rc)
            chat_fail_store(&e, o, m->rc, "member change");
        else {
            o->status = 204;
            publish_change(m, st);
        }
        if (m->base.done)
            m->base.done(&m->base, m->base.arg);
        else
            member_free(&m->base);
    }
}

static const chat_commit_kind member_kind = {
    .name = "member",
    .commit = member_commit_all,
    .publish = member_publish,
    .free = member_free,
};
