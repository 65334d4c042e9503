/*
 * chat_member.h — who is in a conversation: adding, removing (and
 * leaving), changing a member's role (chat_member.c).
 */
#ifndef CHAT_MEMBER_H
#define CHAT_MEMBER_H

#include "chat_commit.h"

typedef enum chat_member_op {
    CHAT_MEMBER_ADD,    /* uid joins as a member */
    CHAT_MEMBER_REMOVE, /* uid leaves or is removed; the owner's role is handed on */
    CHAT_MEMBER_ROLE,   /* uid's role becomes `role` */
} chat_member_op;

/* Authorise: the caller administers group conv_id (its owner, or with
 * owner_only false an admin of it). Returns 0, or -1 with o the answer
 * (404 not a member, 422 a direct conversation, 403). */
int chat_group_admin_check(const chat_env *e, const chat_caller *who, int64_t conv_id,
                           bool owner_only, chat_outcome *o);
/* Authorise: uid is not a disabled account (an unknown uid passes: the
 * store answers for it). Returns 0, or -1 with o the answer (422
 * user_disabled). */
int chat_user_check_enabled(const chat_env *e, int64_t uid, chat_outcome *o);

/* The commit of a membership change the caller was authorised for (the
 * checks above, and the transport's own: the title for an external
 * member). The writer makes the change and its audit row in one
 * transaction, bracketed for the member cache (chat_cache.h), then
 * publishes member.added / member.removed (to the removed member too) and
 * conversation.updated. Outcome: 204; 409 conflict (already a member), 422
 * invalid (no such user), 404 not_found (not a member). NULL when out of
 * memory. */
chat_commit *chat_member_commit(const chat *c, const chat_caller *who, chat_member_op op,
                                int64_t conv_id, int64_t uid, store_member_role role, int64_t now);

/* For CHAT_MEMBER_ADD: the group is renamed to `title` in the same
 * transaction as the add (the title the guard masked for the group's first
 * external member: nobody reads the old one with the new member in).
 * Returns 0, or -1 when out of memory. */
int chat_member_commit_retitle(chat_commit *c, const char *title);

/* Publishes a conversation event named `name` with fields body (stolen)
 * to the members of conv_id (read with st). */
void chat_publish_conv(const chat *c, store *st, int64_t conv_id, const char *name, json_t *body);
/* conversation.updated with the conversation as the API shows it. */
void chat_publish_conv_updated(const chat *c, store *st, int64_t conv_id);

#endif
