/*
 * srv_h_work.c — the routes of what staff use a consumer chat for
 * (issue 16): scheduled reminders and burn-after-reading. Decode the
 * request, call the chat domain (chat_remind.c, chat_burn.c), hand its
 * commit to the writer.
 *
 *   GET    /conversations/{id}/reminders   the caller's reminders there
 *   POST   /conversations/{id}/reminders   {text, at, repeat?, tz?, target?, member_ids?}
 *   PATCH  /reminders/{id}                 the same fields, each optional
 *   DELETE /reminders/{id}                 cancel
 *   POST   /messages/{id}/open             a burn message's text, once
 *   GET    /users/{id}/card                a contact card, with the caller's rights
 */
#include "chat/chat_burn.h"
#include "chat/chat_card.h"
#include "chat/chat_remind.h"
#include "srv_handlers.h"
#include "srv_req.h"

#include <string.h>

static void plan_and_await(srv_req *r, int planned, chat_outcome *o)
{
    if (planned == 0)
        srv_req_await(r, &r->commit, 1, srv_answer_commit);
    else
        srv_reply_outcome(r, o);
}

/* The body of a create or an edit: 0, or -1 when answered (400). */
static int remind_in(srv_req *r, chat_remind_in *in)
{
    json_t *members = r->json ? json_object_get(r->json, "member_ids") : NULL;

    memset(in, 0, sizeof *in);
    if (srv_body_str(r, "text", &in->text) < 0 || srv_body_int(r, "at", &in->at) < 0 ||
        srv_body_str(r, "repeat", &in->repeat) < 0 || srv_body_str(r, "tz", &in->tz) < 0 ||
        srv_body_str(r, "target", &in->target) < 0)
        return -1;
    if (members && !json_is_null(members) && !json_is_array(members)) {
        srv_error(r, 400, "bad_request", "member_ids must be an array");
        return -1;
    }
    in->members = members && json_is_array(members) ? members : NULL;
    if (in->text)
        in->len = json_string_length(json_object_get(r->json, "text"));
    return 0;
}

void srv_h_reminders(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};
    json_t *l = chat_remind_list(&e, &who, r->ids[0], &o);

    if (l)
        srv_reply(r, 200, l);
    else
        srv_reply_outcome(r, &o);
}

void srv_h_reminder_create(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};
    chat_remind_in in;

    if (remind_in(r, &in))
        return;
    plan_and_await(r, chat_remind_create_plan(&e, &who, r->ids[0], &in, r->now, &r->commit, &o),
                   &o);
}

void srv_h_reminder_patch(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};
    chat_remind_in in;

    if (remind_in(r, &in))
        return;
    plan_and_await(r, chat_remind_update_plan(&e, &who, r->ids[0], &in, r->now, &r->commit, &o),
                   &o);
}

void srv_h_reminder_delete(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};

    plan_and_await(r, chat_remind_delete_plan(&e, &who, r->ids[0], &r->commit, &o), &o);
}

void srv_h_burn_open(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};

    plan_and_await(r, chat_burn_open_plan(&e, &who, r->ids[0], r->now, &r->commit, &o), &o);
}

void srv_h_user_card(srv_req *r, srv_worker *w)
{
    store_user u = {0};
    int rc = store_user_get(w->st, r->ids[0], &u);

    if (rc == STORE_NOTFOUND || (!rc && u.disabled))
        srv_error(r, 404, "not_found", "no such user");
    else if (rc)
        srv_store_error(r, w, rc, "user_get");
    else
        /* The number in full for the person themself and the staff;
         * masked for everyone else (chat_card.h). */
        srv_reply(
            r, 200,
            json_pack("{s:o}", "card",
                      chat_card_view(&u, u.id == r->user.id || r->user.role != STORE_ROLE_MEMBER)));
    store_user_clear(&u);
}
