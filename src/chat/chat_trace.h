/*
 * chat_trace.h — officers trace where a message went (chat_trace.c) and
 * contain its copies (chat_contain.c). docs/SERVER.md, "Trace and
 * contain". The caller (the server's route) has checked the officer or
 * admin role; nothing here depends on the officer's own memberships.
 */
#ifndef CHAT_TRACE_H
#define CHAT_TRACE_H

#include "chat_commit.h"

/* The root of message_id's forward tree: itself for an original, its
 * forward origin for a copy. STORE_NOTFOUND when no such message. */
int chat_trace_root(store *st, int64_t message_id, int64_t *root);

/* The spread of message_id's tree as JSON (docs/API.md, "Spread"): the
 * root, every copy oldest first with its conversation, forwarder, parent,
 * depth, state, recipients (members who may see it) and readers (their
 * read pointer reached it), and totals. NULL with o set (404 not_found,
 * 500) on failure. */
json_t *chat_trace_spread(const chat_env *e, int64_t message_id, chat_outcome *o);

/* The spread of a file (docs/API.md, "Spread of a file"): the file, and
 * every message that delivers its bytes under any file id (forwarded, or
 * uploaded again separately: files are traced by content hash), oldest
 * first, each as a copy of chat_trace_spread with its origin (the message
 * its forward tree starts from) and which of its files is the content.
 * NULL with o set (404 not_found, 500) on failure. */
json_t *chat_trace_file_spread(const chat_env *e, const char *file_id, chat_outcome *o);

typedef enum chat_contain_scope {
    CHAT_CONTAIN_COPY = 0, /* this message only */
    CHAT_CONTAIN_TREE = 1  /* the root and every copy of it */
} chat_contain_scope;

typedef struct chat_contain_req {
    int64_t message_id;
    /* Or a file (message_id 0): scope copy = the messages delivering this
     * file id (the upload and its forwards), tree = every message
     * delivering the same bytes under any file id. */
    const char *file_id;
    const char *reason; /* required, 1..CHAT_CONTAIN_REASON_MAX bytes */
    chat_contain_scope scope;
    store_contain_action action;
} chat_contain_req;

#define CHAT_CONTAIN_REASON_MAX 1000

/* The plan of a containment, on a worker: the reason is present (400
 * reason_required / reason_too_long), the message exists (404), the
 * scope's messages are found (409 spread_too_large past STORE_SPREAD_MAX).
 * Returns 0 with *out the commit, or -1 with o the answer. The commit
 * (writer) changes every message in ONE transaction with one audit row
 * officer.contain (reason, action, scope, root, what changed), then
 * publishes message.recalled (by officer) or message.restored to each
 * changed message's audience. A removal also unlinks the messages' files
 * in that transaction; blobs (content and thumbnails) no file refers to
 * any more are deleted from the blob store after the commit. Its outcome
 * is 200 with the changed messages. */
int chat_contain_plan(const chat_env *e, const chat_caller *who, const chat_contain_req *rq,
                      int64_t now, chat_commit **out, chat_outcome *o);

#endif
