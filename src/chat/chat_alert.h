/*
 * chat_alert.h — an officer alert for a verdict on a field that is not a
 * message: a group's title, a display name, the text a user had OCR read
 * from a picture (chat_alert.c).
 *
 * The transport inspects the field (srv_text.c) on a worker; what it
 * decided becomes a commit like every other write: the alert and its audit
 * row in one transaction on the writer, then alert.new to the staff. The
 * audit keeps the decision, never the text; the alert keeps the findings
 * with their excerpts, as for messages.
 */
#ifndef CHAT_ALERT_H
#define CHAT_ALERT_H

#include "chat_commit.h"

typedef struct chat_alert_new {
    int64_t user_id;         /* whose text */
    const char *actor;       /* their login, for the audit row */
    int64_t conv_id;         /* 0: not about a conversation (a display name) */
    const char *field;       /* "title", "display_name" */
    const guard_result *res; /* the verdict; res->verdict != GUARD_ALLOW */
    const char *text;        /* what was inspected: the findings' context */
    size_t len;
    /* Optional: the alert's category instead of the deciding finding's
     * ("ocr.marked": a user's text recognition, srv_h_ocr.c), and a file
     * the findings are about ({"id", "name", "size"}: each finding carries
     * it as "file", as a message's do, so an officer may open it). */
    const char *category;
    const json_t *file;
} chat_alert_new;

/* The commit of an alert (copies everything it needs from in). Outcome:
 * status 0 (the request's answer is the caller's); a store failure is
 * logged, never shown to the user. NULL when out of memory. */
chat_commit *chat_alert_commit(const chat *c, const chat_alert_new *in, int64_t now);

#endif
