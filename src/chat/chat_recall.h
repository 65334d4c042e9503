/*
 * chat_recall.h — recalling a message (chat_recall.c).
 */
#ifndef CHAT_RECALL_H
#define CHAT_RECALL_H

#include "chat_commit.h"

/* The plan of a recall, on a worker: the message exists and the caller is
 * a member of its conversation (else 404), its sender (else 403), within
 * the recall window (else 409 recall_expired). Returns 0 with *out a
 * commit, or -1 with o the answer (204 and no commit for a message
 * already recalled). The commit's outcome is 204. */
int chat_recall_plan(const chat_env *e, const chat_caller *who, int64_t msg_id, int64_t now,
                     chat_commit **out, chat_outcome *o);

#endif
