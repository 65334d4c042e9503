/*
 * chat_export.h — the compliance export (docs/AUDIT.md, "Compliance
 * export"): the messages of a conversation, or the messages a user sent,
 * over a period, as the store holds them (recalled, contained and burned
 * messages without text), with their verdict, justification and forward
 * provenance, followed by the audit entries of the same period and target.
 *
 * Two formats: JSON Lines (one object per line, "type": "export" |
 * "message" | "file" | "audit" | "page") and EML as an mbox (one RFC 5322
 * message per message, built with GMime, and a last message whose
 * text/plain part holds the audit entries as JSON lines).
 *
 * Files: with a blob store (chat_export_req.blobs) a message's files go
 * with it — in JSON Lines as one "file" record per file after the message
 * (content_base64), in EML as MIME attachments of a multipart/mixed
 * message. At most files_max bytes of files per message: a file past what
 * is left is named with "omitted": "over_cap" (EML: a text part saying so
 * and an X-Cordon-Attachment-Omitted header), so nothing is dropped
 * silently. Without a blob store, files are metadata only.
 *
 * Bounded memory: the store is read a page (STORE_EXPORT_PAGE_MAX) at a time
 * and each record goes to the sink as soon as it is made. A caller that must
 * hold the output (an HTTP answer) sets max_bytes: the export stops after
 * the record that crossed it and returns a cursor to continue from. The
 * caller authorises (officer or admin, or the operator on the machine) and
 * writes the audit row officer.export (chat_export_audit_detail).
 */
#ifndef CHAT_EXPORT_H
#define CHAT_EXPORT_H

#include "store/store.h"

struct blob_store;

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum chat_export_format {
    CHAT_EXPORT_JSONL = 0,
    CHAT_EXPORT_EML = 1 /* an mbox of RFC 5322 messages */
} chat_export_format;

#define CHAT_EXPORT_REASON_MAX 1000
#define CHAT_EXPORT_CURSOR_LEN 32 /* with the NUL */

typedef struct chat_export_req {
    int64_t conv_id; /* exactly one of conv_id and user_id */
    int64_t user_id;
    int64_t from, to; /* ms, created_at in [from, to) */
    chat_export_format format;
    const char *reason;       /* required, 1..CHAT_EXPORT_REASON_MAX bytes; in the header line */
    const char *actor;        /* who exports (login or "operator"), in the header line */
    int64_t now;              /* ms */
    const char *cursor;       /* NULL or "" = the start; else a next_cursor from a previous page */
    size_t max_bytes;         /* 0 = the whole export; else stop once a page passes this */
    struct blob_store *blobs; /* NULL: files as metadata only */
    size_t files_max;         /* bytes of files per message (with blobs) */
} chat_export_req;

/* Where the bytes go: 0 = written, nonzero = stop (the export returns it). */
typedef int (*chat_export_sink)(void *ctx, const char *data, size_t len);

typedef struct chat_export_result {
    int64_t messages;      /* on this page */
    int64_t audit_entries; /* on this page */
    int64_t recalled;      /* messages on this page shown without text */
    int64_t files;         /* files whose bytes are on this page */
    int64_t files_omitted; /* files named without their bytes (over the cap, unreadable) */
    size_t bytes;          /* written to the sink */
    bool more;             /* a next page exists: continue from next_cursor */
    char next_cursor[CHAT_EXPORT_CURSOR_LEN];
} chat_export_result;

/* Checks a request (reason, one target, from < to, cursor): NULL when
 * valid, else a static error code ("reason_required", "reason_too_long",
 * "bad_target", "bad_period", "bad_cursor"). */
const char *chat_export_check(const chat_export_req *q);

/* Runs one export (or one page of it) into sink. Returns 0, a store error
 * (STORE_NOTFOUND: no such conversation or user), STORE_INVAL when
 * chat_export_check refuses, or the sink's nonzero value. res is filled
 * even on failure with what was written. */
int chat_export_run(store *st, const chat_export_req *q, chat_export_sink sink, void *ctx,
                    chat_export_result *res);

/* The detail of the audit row officer.export: target, period, format,
 * reason, counts, cursor. Never any text. New reference or NULL. */
json_t *chat_export_audit_detail(const chat_export_req *q, const chat_export_result *res);

/* The audit target: "conversation:ID" or "user:ID". */
void chat_export_target(const chat_export_req *q, char *buf, size_t cap);

#endif
