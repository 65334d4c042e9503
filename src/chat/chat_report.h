/*
 * chat_report.h — reports to the officers (举报): a user reports a message
 * they can see, or a person, with a note (chat_report.c).
 *
 * A report is an officer alert of kind "report": the reported content as
 * it was (the evidence), the reporter (officers see who reported; nobody
 * else does: alerts are for officers only) and the note. It is audited
 * (report.create, without the note) and published as alert.new to the
 * staff. docs/API.md, "Reports".
 */
#ifndef CHAT_REPORT_H
#define CHAT_REPORT_H

#include "chat_commit.h"

/* The longest note, in bytes. */
#define CHAT_REPORT_NOTE_MAX 2000
/* Reports a user may make in CHAT_REPORT_WINDOW_MS (a report is an alert
 * an officer must read: a flood of them buries the real ones). */
#define CHAT_REPORT_MAX       10
#define CHAT_REPORT_WINDOW_MS (60 * 60 * 1000)

typedef struct chat_report_in {
    int64_t message_id; /* 0: none */
    int64_t user_id;    /* 0: the message's sender (a message is given) */
    const char *note;   /* required, 1..CHAT_REPORT_NOTE_MAX bytes */
    int64_t now;
} chat_report_in;

/* The plan of a report, on a worker. Refusals, each -1 with o the answer:
 *   400 bad_request  neither message_id nor user_id; user_id is not the
 *                    message's sender
 *   422 invalid      no note, or a note too long
 *   404 not_found    a message the caller cannot see (not a member, sent
 *                    before they joined, recalled) or no such user: the
 *                    same answer either way. A message whose text is
 *                    withheld from the caller may be reported (they see
 *                    that it exists; the evidence is for officers)
 *   429 report_limit CHAT_REPORT_MAX reports in the window already
 *                    ({"error": {"max"}})
 * Returns 0 with *out a commit whose outcome is 201 {"report": {id,
 * created_at}}. */
int chat_report_plan(const chat_env *e, const chat_caller *who, const chat_report_in *in,
                     chat_commit **out, chat_outcome *o);

#endif
