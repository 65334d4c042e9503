/*
 * chat_conv.h — creating a conversation and changing its title or history
 * sharing (chat_conv.c). The transport checks the input and the title
 * (srv_text.c) first; these are the commit and publish stages.
 */
#ifndef CHAT_CONV_H
#define CHAT_CONV_H

#include "chat_commit.h"

typedef struct chat_conv_new {
    store_conv_kind kind;
    const char *title; /* NULL: none (a direct conversation has none) */
    const int64_t *members;
    size_t n;
    bool shared_history;
} chat_conv_new;

/* The writer creates it (a direct conversation between the same two is
 * returned, not duplicated), sets its history sharing and appends
 * conv.create, in one transaction; then publishes conversation.updated
 * when it was created. Outcome: 201 created / 200 existing with the
 * conversation as extra; 422 invalid (a member does not exist, not exactly
 * one other member of a direct conversation). NULL when out of memory. */
chat_commit *chat_conv_create_commit(const chat *c, const chat_caller *who, const chat_conv_new *in,
                                     int64_t now);

/* The writer renames conv_id to title (NULL: unchanged) and/or sets its
 * history sharing (shared < 0: unchanged; audited conv.shared_history),
 * in one transaction, then publishes conversation.updated. Outcome: 200
 * with the conversation as extra. NULL when out of memory. */
chat_commit *chat_conv_patch_commit(const chat *c, const chat_caller *who, int64_t conv_id,
                                    const char *title, int shared, int64_t now);

#endif
