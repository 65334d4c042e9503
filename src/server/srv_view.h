/*
 * srv_view.h — what one member may see of a conversation's messages: the
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
#ifndef SRV_VIEW_H
#define SRV_VIEW_H

#include "srv_int.h"

typedef struct srv_viewer {
    int64_t user_id;
    bool external;        /* the member is an external account */
    bool shared_history;  /* the conversation shares its history */
    int64_t history_from; /* messages with id <= this were sent before they joined */
} srv_viewer;

typedef enum srv_see {
    SRV_SEE_HIDDEN,   /* before the member joined, history not shared */
    SRV_SEE_WITHHELD, /* the external scope would block or hold it */
    SRV_SEE_MASKED,   /* the external scope masks it: serve the masked copy */
    SRV_SEE_AS_IS
} srv_see;

/* The caller as a viewer of conv_id: STORE_OK, or has answered (404 when
 * not a member, as srv_require_member) and returns the store error.
 * role may be NULL. */
int srv_viewer_load(srv_req *r, srv_worker *w, int64_t conv_id, srv_viewer *v,
                    store_member_role *role);

/* True when v may know message id exists (the boundary only; no guard). */
bool srv_viewer_sees_id(const srv_viewer *v, int64_t id);

/* Decides how v sees m. For SRV_SEE_MASKED, *masked (heap, free()) and
 * *masked_len hold the text to show; otherwise *masked is NULL. A scan
 * that fails withholds (fail closed). masked may be NULL when the caller
 * does not need the text (then MASKED is still reported). */
srv_see srv_view_decide(srv_worker *w, srv *s, const srv_viewer *v, const store_message *m,
                        char **masked, size_t *masked_len);

/* The message as v sees it (srv_json_message with the rule applied), or
 * NULL with *hidden set when v may not see it at all. NULL with *hidden
 * false: out of memory. */
json_t *srv_view_message(srv_worker *w, srv *s, const srv_viewer *v, const store_message *m,
                         bool *hidden);

/* Queues an event about message msg_id of conv_id for the members who may
 * know that message (the boundary rule); srv_emit_conv otherwise. */
void srv_emit_conv_msg(srv_req *r, srv_worker *w, int64_t conv_id, int64_t msg_id, const char *type,
                       json_t *obj);

#endif
