/*
 * chat_send.h — sending and forwarding a message (chat_send.c reads as the
 * message's life, top to bottom), and raising a guard alert on its own.
 */
#ifndef CHAT_SEND_H
#define CHAT_SEND_H

#include "chat_commit.h"

typedef struct chat_send_in {
    int64_t conv_id;
    const char *client_id; /* the sender's idempotency key, 1..64 bytes */
    const char *text;      /* len bytes (JSON strings may hold NUL) */
    size_t len;
    const char *justification; /* the sender's answer to `confirm`, or NULL */
    int64_t forward_of;        /* 0, or the message forwarded; with text NULL, the text
                                  is the source's as the caller sees it */
    /* Schema version 7. kind NULL = "text"; another kind ("reminder",
     * "card") may have empty text and carries meta (JSON object text).
     * burn: burn-after-reading (chat_burn.h). reminder_id: the message
     * delivers that reminder, which moves to reminder_next_at (0: done)
     * in the same transaction (chat_remind.h). */
    const char *kind;
    const char *meta;
    bool burn;
    int64_t reminder_id;
    int64_t reminder_next_at;
    /* An audit row written with the message (target message:ID) when the
     * guard raises none of its own: its event and JSON detail, or NULL. */
    const char *audit_event;
    const char *audit_detail;
    /* Set by the plan from the source of a forward: the source's inbound
     * warning travels with its text, so phishing forwarded inside keeps
     * its warning. Callers leave it NULL. */
    const char *inbound_warning;
    /* Files the message delivers (file ids from inspected uploads,
     * docs/API.md "Attachments"), at most CHAT_MAX_ATTACHMENTS; text may be
     * empty when there are some. A forward carries the source's. */
    const char *const *attachments;
    size_t n_attachments;
} chat_send_in;

#define CHAT_MAX_ATTACHMENTS 9

/* The plan stage of a send, on a worker: check → authorise → inspect →
 * decide. Returns 0 with *out a commit for the writer (a message with its
 * alert and audit row, or — blocked, or held for a justification — only
 * the alert and audit row), or -1 with o the answer (bad input, not a
 * member, inspection failed) and nothing to commit. */
int chat_send_plan(const chat_env *e, const chat_caller *who, const chat_send_in *in,
                   chat_commit **out, chat_outcome *o);

/* After the commit's done, its outcome says how the send ended: status 201
 * (stored) or 200 (a repeat of client_id), with extra {"guard",
 * "message"}; 403 guard_blocked or 409 guard_confirm with extra {"guard"};
 * 404, 409 conversation_changed, 503, 500. */
/* The stored message after a 200/201 (valid while c lives), else NULL. */
const store_message *chat_send_message(const chat_commit *c);

/* Whether a planned send stores a message (false: the guard refused it;
 * only its alert is written). */
bool chat_send_delivers(const chat_commit *c);

/* A guard alert with no message (a pre-check that looks like probing):
 * its row and audit entry are committed by the writer like a blocked
 * send's, then alert.new is published. `event` is the audit event. */
int chat_alert_plan(const chat_env *e, const chat_caller *who, int64_t conv_id,
                    const guard_result *res, const char *category, const char *event,
                    chat_commit **out);

/* ---- forward ---- */

typedef struct chat_forward chat_forward;

/* The plan of a forward of message src_id to targets[0..n) (1..50): the
 * source must be a message the caller may see (else 404, never saying
 * which); each target is planned as a send of the text as the caller sees
 * it. Returns 0 with *out (its commits in chat_forward_commits), or -1
 * with o the answer. */
int chat_forward_plan(const chat_env *e, const chat_caller *who, int64_t src_id,
                      const int64_t *targets, size_t n, const char *client_id, chat_forward **out,
                      chat_outcome *o);
/* The commits still to write (may be none: every target refused early). */
size_t chat_forward_commits(chat_forward *f, chat_commit ***items);
/* After every commit is done: {"results": [{conversation_id, status, ...}]}. */
json_t *chat_forward_results(chat_forward *f);
void chat_forward_free(chat_forward *f);

#endif
