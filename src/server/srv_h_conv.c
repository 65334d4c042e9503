/*
 * srv_h_conv.c — conversations and their members.
 *
 * Every route first checks membership (srv_require_member): a non-member
 * gets the same 404 as for an id that does not exist. Group administration
 * needs the owner or an admin of the group (403 otherwise — the caller is
 * a member, so the conversation's existence is no secret to them).
 */
#include "chat/chat_conv.h"
#include "chat/chat_member.h"
#include "srv_handlers.h"
#include "chat/chat_json.h"
#include "srv_log.h"
#include "srv_text.h"
#include "srv_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The conversation with its members, as the API shows it; *last_id (may
 * be NULL) its last message id. */
static json_t *conv_json(srv_worker *w, int64_t id, int my_role, int64_t *last_id, int *rc_out)
{
    store_conv c = {0};
    store_members ml = {0};
    json_t *o = NULL;
    int rc;

    rc = store_conv_get(w->st, id, &c);
    if (!rc)
        rc = store_member_list(w->st, id, &ml);
    if (!rc)
        o = chat_json_conv(&c, &ml, my_role);
    if (last_id)
        *last_id = c.last_message_id;
    store_conv_clear(&c);
    store_members_free(&ml);
    *rc_out = rc;
    return o;
}

/* Hands c to the writer, which answers from its outcome (NULL: out of
 * memory). */
static void await_commit(srv_req *r, chat_commit *c)
{
    r->commit = c;
    if (!c)
        srv_error(r, 500, "internal", "out of memory");
    else
        srv_req_await(r, &r->commit, 1, srv_answer_commit);
}

void srv_h_convs(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    store_conv_summaries l = {0};
    json_t *arr;
    int rc = store_conv_list_for_user(w->st, r->user.id, &l);

    if (rc) {
        srv_store_error(r, w, rc, "conv_list");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < l.n; i++) {
        store_conv_summary *cs = &l.items[i];
        store_members ml = {0};
        json_t *o;

        /* Members too, so a client can title a direct chat with the other
         * person's name without a request per conversation. */
        rc = store_member_list(w->st, cs->conv.id, &ml);
        if (rc) {
            srv_store_error(r, w, rc, "conv_list members");
            json_decref(arr);
            goto out;
        }
        o = chat_json_conv(&cs->conv, &ml, (int)cs->my_role);
        store_members_free(&ml);
        if (!o)
            continue;
        json_object_set_new(o, "unread", json_integer(cs->unread));
        /* Only stored messages exist here: blocked or held content never
         * was stored, so it can never be a "last message"; and only one
         * the caller may see (chat_view.h). */
        {
            chat_viewer v = {.user_id = r->user.id,
                             .external = r->user.external,
                             .shared_history = cs->conv.shared_history,
                             .history_from = cs->my_history_from};
            bool hidden = false;
            json_t *last = cs->last.id ? chat_view_message(&e, &v, &cs->last, &hidden) : NULL;

            json_object_set_new(o, "last_message", last ? last : json_null());
        }
        json_array_append_new(arr, o);
    }
    srv_reply(r, 200, json_pack("{s:o}", "conversations", arr));
out:
    store_conv_summaries_free(&l);
}

/* A disabled account cannot sign in to read what it is added to; adding it
 * would only park messages for someone gone. Returns 0, or -1 having
 * answered 422 user_disabled. An unknown id passes: the store answers it. */
static int refuse_disabled(srv_req *r, srv_worker *w, int64_t uid)
{
    chat_env e = srv_chat_env(w);
    chat_outcome o = {0};

    if (!chat_user_check_enabled(&e, uid, &o))
        return 0;
    srv_reply_outcome(r, &o);
    return -1;
}

void srv_h_conv_create(srv_req *r, srv_worker *w)
{
    const char *kind_s = NULL, *title = NULL;
    json_t *ids = r->json ? json_object_get(r->json, "member_ids") : NULL;
    int64_t *members = NULL;
    size_t n;
    char *checked = NULL;
    bool shared = false, external = r->user.external;
    store_conv_kind kind;
    chat_caller who;
    chat_conv_new in;

    if (srv_body_str(r, "kind", &kind_s) || srv_body_str(r, "title", &title) < 0 ||
        srv_body_bool(r, "shared_history", &shared) < 0) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "kind is required");
        return;
    }
    if (!strcmp(kind_s, "direct"))
        kind = STORE_CONV_DIRECT;
    else if (!strcmp(kind_s, "group"))
        kind = STORE_CONV_GROUP;
    else {
        srv_error(r, 400, "bad_request", "kind must be direct or group");
        return;
    }
    if (!json_is_array(ids)) {
        srv_error(r, 400, "bad_request", "member_ids must be a list of user ids");
        return;
    }
    if (shared && kind != STORE_CONV_GROUP) {
        srv_error(r, 422, "invalid", "only a group can share its history");
        return;
    }
    n = json_array_size(ids);
    if (n + 1 > (size_t)r->srv->cfg->limits.max_group_members) {
        srv_error(r, 422, "too_many_members", "a conversation has at most %d members",
                  r->srv->cfg->limits.max_group_members);
        return;
    }
    members = calloc(n ? n : 1, sizeof *members);
    if (!members) {
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(ids, i);

        if (!json_is_integer(v)) {
            srv_error(r, 400, "bad_request", "member_ids must be integers");
            goto out;
        }
        members[i] = json_integer_value(v);
        if (refuse_disabled(r, w, members[i]))
            goto out;
    }
    /* A group's title, seen by its members: the guard with their scope
     * (srv_text.h). A direct conversation has no title. */
    if (title && kind == STORE_CONV_GROUP) {
        for (size_t i = 0; i < n && !external; i++) {
            store_user u = {0};

            if (store_user_get(w->st, members[i], &u) == STORE_OK)
                external = u.external;
            store_user_clear(&u);
        }
        if (srv_text_check(r, w, "title", SRV_TITLE_MAX_CHARS,
                           external ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL, 0, &checked))
            goto out;
        title = checked;
    }
    /* Written by the writer (chat_conv.c), which answers. */
    who = srv_caller(r);
    in = (chat_conv_new){
        .kind = kind, .title = title, .members = members, .n = n, .shared_history = shared};
    await_commit(r, chat_conv_create_commit(&w->srv->chat, &who, &in, r->now));
out:
    free(checked);
    free(members);
}

void srv_h_conv_get(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    store_member_role role;
    store_message last = {0};
    chat_viewer v;
    bool hidden = false;
    json_t *o, *lj = NULL;
    int64_t last_id = 0;
    int rc;

    if (srv_viewer_load(r, w, r->ids[0], &v, &role))
        return;
    o = conv_json(w, r->ids[0], (int)role, &last_id, &rc);
    if (!o) {
        srv_store_error(r, w, rc, "conv_get");
        return;
    }
    /* The last message as the list shows it, with the same rule
     * (chat_view.h). */
    if (last_id && !store_message_get(w->st, last_id, &last))
        lj = chat_view_message(&e, &v, &last, &hidden);
    json_object_set_new(o, "last_message", lj ? lj : json_null());
    store_message_clear(&last);
    srv_reply(r, 200, o);
}

static int require_group_admin(srv_req *r, srv_worker *w, int64_t conv_id, bool owner_only)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};

    if (!chat_group_admin_check(&e, &who, conv_id, owner_only, &o))
        return 0;
    srv_reply_outcome(r, &o);
    return -1;
}

/* Hands a membership change to the writer (chat_member.c); it answers. */
static void member_change(srv_req *r, srv_worker *w, chat_member_op op, int64_t conv_id,
                          int64_t uid, store_member_role role)
{
    chat_caller who = srv_caller(r);

    await_commit(r, chat_member_commit(&w->srv->chat, &who, op, conv_id, uid, role, r->now));
}

void srv_h_conv_patch(srv_req *r, srv_worker *w)
{
    const char *title = NULL;
    char *checked = NULL;
    store_conv c = {0};
    bool shared = false;
    int has_title, has_shared;
    chat_caller who = srv_caller(r);
    int rc = 0;

    has_title = srv_body_str(r, "title", &title);
    has_shared = has_title < 0 ? 1 : srv_body_bool(r, "shared_history", &shared);
    if (has_title < 0 || has_shared < 0)
        return;
    if (has_title && has_shared) {
        srv_error(r, 400, "bad_request", "title or shared_history is required");
        return;
    }
    if (require_group_admin(r, w, r->ids[0], false))
        return;
    if (!has_title) {
        /* The title with the conversation's scope (srv_text.h). */
        rc = store_conv_get(w->st, r->ids[0], &c);
        if (!rc && srv_text_check(r, w, "title", SRV_TITLE_MAX_CHARS,
                                  c.external ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL,
                                  r->ids[0], &checked))
            goto out;
    }
    if (rc) {
        srv_store_error(r, w, rc, "conv_patch");
        goto out;
    }
    /* Written by the writer (chat_conv.c), which answers. */
    await_commit(r, chat_conv_patch_commit(&w->srv->chat, &who, r->ids[0], checked,
                                           has_shared ? -1 : shared, r->now));
out:
    free(checked);
    store_conv_clear(&c);
}

void srv_h_member_add(srv_req *r, srv_worker *w)
{
    int64_t uid = 0;
    store_conv c = {0};
    store_user u = {0};
    char *checked = NULL;
    int rc;

    if (srv_body_int(r, "user_id", &uid)) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "user_id is required");
        return;
    }
    if (require_group_admin(r, w, r->ids[0], false) || refuse_disabled(r, w, uid))
        return;
    rc = store_conv_get(w->st, r->ids[0], &c);
    if (!rc && c.member_count >= r->srv->cfg->limits.max_group_members) {
        srv_error(r, 422, "too_many_members", "a conversation has at most %d members",
                  r->srv->cfg->limits.max_group_members);
        goto out;
    }
    /* The group turns external: its title, passed for internal readers,
     * must pass the external scope first (srv_text.h). A title the policy
     * would block or hold refuses the add (title_not_for_external: rename
     * the group first); one it would mask is stored masked. */
    if (!rc && !c.external && c.title && *c.title && store_user_get(w->st, uid, &u) == STORE_OK &&
        u.external) {
        if (srv_text_inspect(r, w, "title", c.title, strlen(c.title), SIZE_MAX,
                             GUARD_SCOPE_EXTERNAL, r->ids[0], "title_not_for_external", &checked))
            goto out;
    }
    if (rc) {
        srv_store_error(r, w, rc, "conv_get");
        goto out;
    }
    member_change(r, w, CHAT_MEMBER_ADD, r->ids[0], uid, STORE_MEMBER);
    /* A title masked for the external member: renamed in the add's
     * transaction (chat_member.h). */
    if (r->commit && checked && strcmp(checked, c.title) &&
        chat_member_commit_retitle(r->commit, checked)) {
        chat_commit_free(r->commit);
        r->commit = NULL;
        r->n_await = 0;
        srv_error(r, 500, "internal", "out of memory");
    }
out:
    free(checked);
    store_user_clear(&u);
    store_conv_clear(&c);
}

/* Removes uid; the writer hands ownership on when the owner goes. */
static void remove_member(srv_req *r, srv_worker *w, int64_t conv_id, int64_t uid)
{
    member_change(r, w, CHAT_MEMBER_REMOVE, conv_id, uid, STORE_MEMBER);
}

void srv_h_member_remove(srv_req *r, srv_worker *w)
{
    store_member_role target = STORE_MEMBER;

    if (r->ids[1] != r->user.id && require_group_admin(r, w, r->ids[0], false))
        return;
    /* A group admin removing the owner would inherit the group (the oldest
     * admin becomes owner): only the owner or an organisation admin may. */
    if (r->ids[1] != r->user.id && r->user.role != STORE_ROLE_ADMIN &&
        store_member_check(w->st, r->ids[0], r->ids[1], &target) == STORE_OK &&
        target == STORE_MEMBER_OWNER) {
        srv_error(r, 403, "forbidden", "only the owner or an administrator can remove the owner");
        return;
    }
    if (r->ids[1] == r->user.id && srv_require_member(r, w, r->ids[0], NULL))
        return;
    remove_member(r, w, r->ids[0], r->ids[1]);
}

void srv_h_conv_leave(srv_req *r, srv_worker *w)
{
    if (srv_require_member(r, w, r->ids[0], NULL))
        return;
    remove_member(r, w, r->ids[0], r->user.id);
}

void srv_h_member_role(srv_req *r, srv_worker *w)
{
    const char *role_s = NULL;
    int role;

    if (srv_body_str(r, "role", &role_s)) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "role is required");
        return;
    }
    role = store_member_role_parse(role_s);
    if (role != STORE_MEMBER && role != STORE_MEMBER_ADMIN) {
        srv_error(r, 422, "invalid", "role must be admin or member");
        return;
    }
    if (require_group_admin(r, w, r->ids[0], true))
        return;
    if (r->ids[1] == r->user.id) {
        srv_error(r, 422, "invalid", "the owner's role cannot change");
        return;
    }
    member_change(r, w, CHAT_MEMBER_ROLE, r->ids[0], r->ids[1], (store_member_role)role);
}
