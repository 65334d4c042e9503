/*
 * chat_remind.h — scheduled reminders (定时提醒) in a conversation
 * (chat_remind.c): create, edit, cancel and list them; fire them.
 *
 * A reminder remembers its text, when it is next due (`at`, UTC ms), how
 * it repeats (once, daily, workdays, weekly: the same wall-clock time in
 * the creator's IANA time zone) and whom it reminds (me, chosen members,
 * the whole group). Its text passes the guard when it is created (the
 * conversation's scope) and again when it fires (the scope and policy in
 * force then: it is delivered as an ordinary message of kind "reminder",
 * through chat_send.c). Whom it reminds is decided at fire time: members
 * who left are not reminded; if the creator left, it is cancelled.
 *
 * Firing is driven by one timer for all reminders (the server's,
 * srv_clock.c); a reminder is delivered by the same transaction that
 * moves it to its next time, and the message's client id names the
 * occurrence, so it is never delivered twice.
 */
#ifndef CHAT_REMIND_H
#define CHAT_REMIND_H

#include "chat_commit.h"

/* A reminder fired more than this after its time is marked late (the
 * server was down, or busy). */
#define CHAT_REMIND_LATE_MS 60000

/* The fields of a create (all but repeat/target/member_ids required) or
 * of an edit (NULL / 0: unchanged). */
typedef struct chat_remind_in {
    const char *text;
    size_t len;
    int64_t at;            /* epoch ms; 0 = unchanged (edit) */
    const char *repeat;    /* "once"|"daily"|"workdays"|"weekly"; NULL: once / unchanged */
    const char *tz;        /* IANA zone ("Asia/Shanghai"); NULL: UTC / unchanged */
    const char *target;    /* "me"|"members"|"all"; NULL: me / unchanged */
    const json_t *members; /* "members": an array of member ids */
} chat_remind_in;

/* True when tz is an IANA zone ICU knows. */
bool chat_remind_tz_valid(const char *tz);

/* The first occurrence of a reminder first due at `at` that is later than
 * `after`: at + whole steps of its repeat at the same wall-clock time in
 * tz (workdays: Monday to Friday). 0 for a one-off whose time is past.
 * Returns 0, or -1 when tz is unknown. Thread-safe (ICU ucal). */
int chat_remind_next(int64_t at, store_remind_repeat rep, const char *tz, int64_t after,
                     int64_t *next);

/* Plans on a worker; the commit's outcome is 201 (create) or 200 (edit)
 * with extra {"reminder"}, or 204 (delete). Errors: 404 not_found (no such
 * conversation/reminder for the caller), 403 forbidden (not its creator),
 * 422 invalid (bad time, zone, repeat, target or members; text empty or
 * too long), 403 guard_blocked / 409 guard_confirm (the guard refused the
 * text, extra {"guard"}), 503. */
int chat_remind_create_plan(const chat_env *e, const chat_caller *who, int64_t conv_id,
                            const chat_remind_in *in, int64_t now, chat_commit **out,
                            chat_outcome *o);
int chat_remind_update_plan(const chat_env *e, const chat_caller *who, int64_t id,
                            const chat_remind_in *in, int64_t now, chat_commit **out,
                            chat_outcome *o);
int chat_remind_delete_plan(const chat_env *e, const chat_caller *who, int64_t id,
                            chat_commit **out, chat_outcome *o);

/* The reminders of conv_id the caller may see (those they created or that
 * remind them), as {"reminders": [...]}; NULL with o set on failure. */
json_t *chat_remind_list(const chat_env *e, const chat_caller *who, int64_t conv_id,
                         chat_outcome *o);

json_t *chat_json_reminder(const store_reminder *r);

/* The firing of one due reminder at `now`, on a worker: up to two commits
 * into out[0..*n) for the writer (the card's send, and the reminder moved
 * on or cancelled when nothing is delivered). Each commit frees itself
 * after its publish; a delivered card also publishes reminder.due to the
 * sessions of the people reminded. *n 0: nothing to do now (the guard
 * could not inspect: tried again at the next tick). */
void chat_remind_fire_plan(const chat_env *e, const store_reminder *r, int64_t now,
                           chat_commit *out[2], size_t *n);

#endif
