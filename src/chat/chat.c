/*
 * chat.c — the domain's small shared pieces: outcomes, the log hook, the
 * clock, audit entries (chat.h).
 */
#include "chat.h"

#include "chat_commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void chat_fail(chat_outcome *o, int status, const char *code, const char *fmt, ...)
{
    va_list ap;

    o->status = status;
    o->code = code;
    va_start(ap, fmt);
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
}

void chat_fail_store(const chat_env *e, chat_outcome *o, int rc, const char *what)
{
    chat_log(e->chat, CHAT_LOG_ERROR, "chat", "%s: %s (%s)", what, store_strerror(rc),
             e->st ? store_errmsg(e->st) : "");
    if (rc == STORE_BUSY)
        chat_fail(o, 503, "unavailable", "the database is busy, retry");
    else
        chat_fail(o, 500, "internal", "internal error");
}

void chat_outcome_clear(chat_outcome *o)
{
    json_decref(o->extra);
    o->extra = NULL;
}

void chat_log(const chat *c, chat_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;

    if (!c || !c->log)
        return;
    va_start(ap, fmt);
    c->log(level, component, fmt, ap);
    va_end(ap);
}

int64_t chat_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void chat_stats_init(chat_stats *st)
{
    for (size_t i = 0; i < GUARD_ACTION_COUNT; i++)
        atomic_init(&st->verdicts[i], 0);
    atomic_init(&st->stored, 0);
    base_hist_init(&st->scan, base_hist_us_bounds, base_hist_us_n);
}

int chat_tx(store *st, int (*write)(store *st, void *arg), void *arg)
{
    int rc = STORE_BUSY;

    for (int attempt = 0; rc == STORE_BUSY && attempt < CHAT_TX_RETRIES; attempt++) {
        if (attempt)
            nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
        rc = store_tx_begin(st);
        if (!rc)
            rc = write(st, arg);
        if (!rc)
            rc = store_tx_commit(st);
        if (rc)
            store_tx_rollback(st);
    }
    return rc;
}

void chat_audit(const chat *c, store *st, int64_t actor_id, const char *actor, const char *event,
                const char *target, json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    store_audit_new a = {.time = chat_now_ms(),
                         .actor_id = actor_id,
                         .actor = actor,
                         .event = event,
                         .target = target,
                         .detail = text};
    int rc = store_audit_append(st, &a, NULL);

    if (rc)
        chat_log(c, CHAT_LOG_ERROR, "audit", "%s: %s (%s)", event, store_strerror(rc),
                 store_errmsg(st));
    free(text);
    json_decref(detail);
}

void chat_commit_now(chat_commit *c, store *st)
{
    c->kind->commit(&c, 1, st);
    c->kind->publish(&c, 1, st);
}
