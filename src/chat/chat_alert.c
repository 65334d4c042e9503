/*
 * chat_alert.c — alerts for titles and display names (chat_alert.h).
 *
 *   plan (worker)    chat_alert_commit: the findings as JSON, the audit
 *                    detail's fields, copied out of the guard's result
 *   commit (writer)  the alert and its audit row (which names the alert) in
 *                    one transaction
 *   publish (writer) alert.new to the staff, built from what was written
 */
#include "chat_alert.h"

#include "chat_event.h"
#include "chat_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct alert_commit {
    chat_commit base; /* first */
    const chat *chat;
    char *actor, *field, *category, *verdict, *rule, *findings;
    store_alert_new an;
    int64_t alert_id;
    int rc;
} alert_commit;

static const chat_commit_kind alert_kind;

static void alert_free(chat_commit *c)
{
    alert_commit *a = (alert_commit *)c;

    if (!a)
        return;
    free(a->actor);
    free(a->field);
    free(a->category);
    free(a->verdict);
    free(a->rule);
    free(a->findings);
    chat_outcome_clear(&a->base.outcome);
    free(a);
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = s ? strdup(s) : NULL;

    if (s && !d)
        *oom = true;
    return d;
}

chat_commit *chat_alert_commit(const chat *c, const chat_alert_new *in, int64_t now)
{
    alert_commit *a = calloc(1, sizeof *a);
    json_t *f = NULL;
    bool oom = false;

    if (!a)
        return NULL;
    a->base.kind = &alert_kind;
    a->chat = c;
    f = chat_json_findings_ctx(in->res, in->text ? in->text : "", in->text ? in->len : 0);
    if (f && in->file) {
        size_t i;
        json_t *x;

        json_array_foreach(f, i, x) json_object_set_new(x, "file", json_deep_copy(in->file));
    }
    a->findings = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    a->actor = dup_or_null(in->actor ? in->actor : "", &oom);
    a->field = dup_or_null(in->field, &oom);
    a->category = dup_or_null(in->category ? in->category : chat_guard_category(in->res), &oom);
    a->verdict = dup_or_null(guard_action_name(in->res->verdict), &oom);
    a->rule = dup_or_null(in->res->decided_by, &oom);
    if (oom || !a->findings)
        goto fail;
    a->an = (store_alert_new){.user_id = in->user_id,
                              .conv_id = in->conv_id,
                              .category = a->category,
                              .verdict = a->verdict,
                              .rule = a->rule,
                              .findings_json = a->findings,
                              .now = now};
    return &a->base;
fail:
    alert_free(&a->base);
    return NULL;
}

/* ---- commit ------------------------------------------------------------------ */

/* The alert, then its audit row naming it; the caller brackets the
 * transaction. */
static int write_alert(store *st, void *arg)
{
    alert_commit *a = arg;
    char event[32], target[48];
    char *detail = NULL;
    json_t *d;
    int rc = store_alert_create(st, &a->an, &a->alert_id);

    if (rc)
        return rc;
    snprintf(event, sizeof event, "guard.%s", a->verdict);
    if (a->an.conv_id)
        snprintf(target, sizeof target, "conversation:%lld", (long long)a->an.conv_id);
    else
        snprintf(target, sizeof target, "user:%lld", (long long)a->an.user_id);
    d = json_pack("{s:s,s:o,s:s,s:I,s:s}", "verdict", a->verdict, "rule",
                  a->rule ? json_string(a->rule) : json_null(), "category", a->category, "alert",
                  (json_int_t)a->alert_id, "field", a->field);
    detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(d);
    if (!detail)
        return STORE_NOMEM;
    rc = store_audit_append(st,
                            &(store_audit_new){.time = a->an.now,
                                               .actor_id = a->an.user_id,
                                               .actor = a->actor,
                                               .event = event,
                                               .target = target,
                                               .detail = detail},
                            NULL);
    free(detail);
    return rc;
}

static void alert_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        alert_commit *a = (alert_commit *)items[i];

        a->rc = chat_tx(st, write_alert, a);
        if (a->rc)
            chat_log(a->chat, CHAT_LOG_ERROR, "guard", "%s alert: %s (%s)", a->field,
                     store_strerror(a->rc), store_errmsg(st));
    }
}

/* ---- publish ------------------------------------------------------------------ */

static void alert_publish(chat_commit **items, size_t n, store *st)
{
    (void)st;
    for (size_t i = 0; i < n; i++) {
        alert_commit *a = (alert_commit *)items[i];
        store_alert al = {.id = a->alert_id,
                          .created_at = a->an.now,
                          .user_id = a->an.user_id,
                          .conv_id = a->an.conv_id,
                          .category = a->category,
                          .verdict = a->verdict,
                          .rule = a->rule,
                          .findings_json = a->findings,
                          .status = STORE_ALERT_OPEN};
        chat_event ev = {.type = CHAT_EV_ALERT_NEW,
                         .audience = CHAT_TO_STAFF,
                         .conv_id = a->an.conv_id,
                         .alert = &al};

        if (!a->rc) {
            chat_log(a->chat, CHAT_LOG_INFO, "guard", "guard.%s %s user=%lld rule=%s alert=%lld",
                     a->verdict, a->field, (long long)a->an.user_id, a->rule ? a->rule : "-",
                     (long long)a->alert_id);
            chat_publish(a->chat->bus, &ev);
        }
        if (a->base.done)
            a->base.done(&a->base, a->base.arg);
        else
            alert_free(&a->base);
    }
}

static const chat_commit_kind alert_kind = {
    .name = "alert",
    .commit = alert_commit_all,
    .publish = alert_publish,
    .free = alert_free,
};
