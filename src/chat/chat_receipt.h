/*
 * chat_receipt.h — receipts: how far each member has received and read a
 * conversation (chat_receipt.c).
 */
#ifndef CHAT_RECEIPT_H
#define CHAT_RECEIPT_H

#include "chat_commit.h"

/* A member's delivered pointer: message msg_id of conv_id reached one of
 * their sockets. */
typedef struct chat_delivered {
    int64_t conv_id, user_id, msg_id;
} chat_delivered;

/* A commit of delivered pointers (items copied): the writer moves each one
 * forward (never back) in one transaction; nothing is published (the live
 * `receipt` to the sender is the transport's, at delivery). NULL when out
 * of memory. */
chat_commit *chat_delivered_commit(const chat *c, const chat_delivered *items, size_t n);

/* The plan of a read receipt, on a worker: the caller is a member and
 * msg_id a message of conv_id (the watermark counts everything below it
 * as read, so only such a message may set it). Returns 0 with *out a
 * commit (the pointer moves forward; `receipt` is published to the
 * members who may know the message when it moved), or -1 with o the
 * answer. Its outcome is 204. */
int chat_read_plan(const chat_env *e, const chat_caller *who, int64_t conv_id, int64_t msg_id,
                   chat_commit **out, chat_outcome *o);

#endif
