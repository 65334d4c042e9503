/*
 * chat_view.h — what one member may see of a conversation's messages: the
 * history rule (docs/SERVER.md, "History and new members").
 *
 *  - A member sees the messages sent after they joined (id > their
 *    history_from); earlier ones only when the group shares its history.
 *    A message a member may not see does not exist for them: history skips
 *    it, the conversation list shows no last message, forward answers 404,
 *    and events about it are not sent to them.
 *  - An external member never reads text the guard passed for internal
 *    readers only: a message not inspected with the external scope (and
 *    not their own) is inspected again with it when served. What the
 *    policy would block or hold is withheld (text null, "withheld": true);
 *    what it would mask is served masked.
 */
#ifndef CHAT_VIEW_H
#define CHAT_VIEW_H

#include "chat.h"

typedef struct chat_viewer {
    int64_t user_id;
    bool external;        /* the member is an external account */
    bool shared_history;  /* the conversation shares its history */
    int64_t history_from; /* messages with id <= this were sent before they joined */
} chat_viewer;

typedef enum chat_see {
    CHAT_SEE_HIDDEN,   /* before the member joined, history not shared */
    CHAT_SEE_WITHHELD, /* the external scope would block or hold it */
    CHAT_SEE_MASKED,   /* the external scope masks it: serve the masked copy */
    CHAT_SEE_AS_IS
} chat_see;

/* user_id as a viewer of conv_id: STORE_OK, STORE_NOTFOUND (not a member
 * or no such conversation: the same to the caller) or the store's error.
 * role may be NULL. */
int chat_viewer_get(store *st, int64_t conv_id, int64_t user_id, chat_viewer *v,
                    store_member_role *role);

/* True when v may know message id exists (the boundary only; no guard). */
bool chat_viewer_sees_id(const chat_viewer *v, int64_t id);

/* Decides how v sees m. For CHAT_SEE_MASKED, *masked (heap, free()) and
 * *masked_len hold the text to show; otherwise *masked is NULL. A scan
 * that fails withholds (fail closed). masked may be NULL when the caller
 * does not need the text (then MASKED is still reported). */
chat_see chat_view_decide(const chat_env *e, const chat_viewer *v, const store_message *m,
                          char **masked, size_t *masked_len);

/* The message as v sees it (chat_json_message with the rule applied), or
 * NULL with *hidden set when v may not see it at all. NULL with *hidden
 * false: out of memory. */
json_t *chat_view_message(const chat_env *e, const chat_viewer *v, const store_message *m,
                          bool *hidden);

/* The members of conv_id who may know message msg_id exists (the
 * boundary rule), for events about it: a heap array in *users (free()),
 * *n of them. Returns STORE_OK or the store's error. */
int chat_view_audience(store *st, int64_t conv_id, int64_t msg_id, int64_t **users, size_t *n);

#endif
