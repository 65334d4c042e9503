/*
 * chat_report.c — a report to the officers (举报), in the domain's stages
 * (chat.h):
 *
 *   plan (worker)     check the note; authorise: the message is one the
 *                     reporter can see (membership and the history rule,
 *                     chat_view.h), the person exists; the reporter's
 *                     rate; gather the evidence (the message as stored,
 *                     its inbound warning, the person's directory entry).
 *   commit (writer)   the alert (kind "report") and its audit row
 *                     (report.create, naming the alert, never the note)
 *                     in one transaction.
 *   publish (writer)  alert.new to the staff; the reporter's outcome.
 *
 * The evidence is copied into the alert: a sender who recalls a reported
 * message does not take the evidence with it (docs/AUDIT.md).
 */
#include "chat_report.h"

#include "chat_event.h"
#include "chat_json.h"
#include "chat_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct report_commit {
    chat_commit base; /* first */
    const chat *chat;
    int64_t reporter_id;
    char *login;
    char *note, *evidence, *findings;
    store_alert_new alert;
    int64_t alert_id;
    int rc;
} report_commit;

static const chat_commit_kind report_kind;

static void report_free(chat_commit *c)
{
    report_commit *r = (report_commit *)c;

    if (!r)
        return;
    free(r->login);
    free(r->note);
    free(r->evidence);
    free(r->findings);
    chat_outcome_clear(&r->base.outcome);
    free(r);
}

/* ==== 1. plan, on a worker ================================================ */

static int plan_check(const chat_report_in *in, chat_outcome *o)
{
    size_t n = in->note ? strlen(in->note) : 0;

    if (!in->message_id && !in->user_id)
        chat_fail(o, 400, "bad_request", "a report names a message_id or a user_id");
    else if (in->message_id < 0 || in->user_id < 0)
        chat_fail(o, 400, "bad_request", "ids are positive");
    else if (!n || n > CHAT_REPORT_NOTE_MAX) {
        chat_fail(o, 422, "invalid", "a note has 1..%d bytes", CHAT_REPORT_NOTE_MAX);
        o->extra = json_pack("{s:{s:i}}", "error", "max", CHAT_REPORT_NOTE_MAX);
    } else
        return 0;
    return -1;
}

/* Reports by the caller in the window, counted from the store (so a
 * restart does not reset them). A few concurrent reports may pass the
 * limit together; that is the only slack. */
static int plan_rate(const chat_env *e, const chat_caller *who, int64_t now, chat_outcome *o)
{
    store_alert_filter f = {.kind = "report",
                            .reporter_id = who->id,
                            .since = now - CHAT_REPORT_WINDOW_MS,
                            .limit = CHAT_REPORT_MAX};
    store_alerts l = {0};
    int rc = store_alert_list(e->st, &f, &l);
    size_t n = l.n;

    store_alerts_free(&l);
    if (rc) {
        chat_fail_store(e, o, rc, "report: rate");
        return -1;
    }
    if (n >= CHAT_REPORT_MAX) {
        chat_fail(o, 429, "report_limit", "at most %d reports an hour", CHAT_REPORT_MAX);
        /* the client words the limit */
        o->extra = json_pack("{s:{s:i}}", "error", "max", CHAT_REPORT_MAX);
        return -1;
    }
    return 0;
}

/* authorise: the message as the caller may know it, or 404. */
static int plan_message(const chat_env *e, const chat_caller *who, int64_t id, store_message *m,
                        chat_outcome *o)
{
    chat_viewer v;
    int rc = store_message_get(e->st, id, m);

    if (rc == STORE_OK && m->recalled)
        rc = STORE_NOTFOUND;
    if (rc == STORE_OK)
        rc = chat_viewer_get(e->st, m->conv_id, who->id, &v, NULL);
    if (rc == STORE_OK && !chat_viewer_sees_id(&v, m->id))
        rc = STORE_NOTFOUND;
    if (rc == STORE_NOTFOUND)
        chat_fail(o, 404, "not_found", "no such message");
    else if (rc)
        chat_fail_store(e, o, rc, "report: message");
    return rc ? -1 : 0;
}

/* The evidence: what was reported, as it is now, for the officers. */
static json_t *evidence(const store_message *m, const store_user *u)
{
    json_t *ev = json_object(), *mj;

    if (ev && m->id) {
        mj = chat_json_message(m);
        if (!mj || json_object_set_new(ev, "message", mj))
            goto nomem;
    }
    if (ev && u->id && json_object_set_new(ev, "user", chat_json_user(u, false)))
        goto nomem;
    return ev;
nomem:
    json_decref(ev);
    return NULL;
}

int chat_report_plan(const chat_env *e, const chat_caller *who, const chat_report_in *in,
                     chat_commit **out, chat_outcome *o)
{
    store_message m = {0};
    store_user u = {0};
    report_commit *r = NULL;
    json_t *ev = NULL, *w = NULL;
    int64_t user_id = in->user_id;
    int rc;

    *out = NULL;
    if (plan_check(in, o))
        goto fail;
    if (in->message_id && plan_message(e, who, in->message_id, &m, o))
        goto fail;
    if (in->message_id && user_id && user_id != m.sender_id) {
        chat_fail(o, 400, "bad_request", "user_id is not the message's sender");
        goto fail;
    }
    if (in->message_id)
        user_id = m.sender_id;
    rc = store_user_get(e->st, user_id, &u);
    if (rc == STORE_NOTFOUND) {
        chat_fail(o, 404, "not_found", in->message_id ? "no such message" : "no such user");
        goto fail;
    }
    if (rc) {
        chat_fail_store(e, o, rc, "report: user");
        goto fail;
    }
    if (plan_rate(e, who, in->now, o))
        goto fail;
    ev = evidence(&m, &u);
    /* The findings of the message's inbound warning, if it had one. */
    w = m.inbound_warning ? json_loads(m.inbound_warning, 0, NULL) : NULL;
    r = calloc(1, sizeof *r);
    if (!ev || !r)
        goto nomem;
    r->base.kind = &report_kind;
    r->chat = e->chat;
    r->reporter_id = who->id;
    r->login = strdup(who->login ? who->login : "");
    r->note = strdup(in->note);
    r->evidence = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    r->findings = json_is_array(json_object_get(w, "findings"))
                      ? json_dumps(json_object_get(w, "findings"), JSON_COMPACT)
                      : strdup("[]");
    if (!r->login || !r->note || !r->evidence || !r->findings)
        goto nomem;
    r->alert = (store_alert_new){.user_id = user_id,
                                 .conv_id = m.conv_id,
                                 .message_id = m.id,
                                 .category = "report",
                                 .verdict = "report",
                                 .findings_json = r->findings,
                                 .now = in->now,
                                 .kind = "report",
                                 .reporter_id = who->id,
                                 .note = r->note,
                                 .evidence_json = r->evidence};
    *out = &r->base;
    r = NULL;
    rc = 0;
    goto done;
nomem:
    chat_fail(o, 500, "internal", "out of memory");
fail:
    rc = -1;
done:
    report_free(r ? &r->base : NULL);
    json_decref(ev);
    json_decref(w);
    store_message_clear(&m);
    store_user_clear(&u);
    return rc;
}

/* ==== 2. commit, on the writer ============================================= */

/* The alert, then its audit row naming it: one transaction. The audit
 * keeps who reported what, never the note (the log outlives everything). */
static int report_write(store *st, void *arg)
{
    report_commit *r = arg;
    char target[48], detail[160];
    store_audit_new a = {.time = r->alert.now,
                         .actor_id = r->reporter_id,
                         .actor = r->login,
                         .event = "report.create",
                         .target = target,
                         .detail = detail};
    int rc = store_tx_begin(st);

    if (!rc)
        rc = store_alert_create(st, &r->alert, &r->alert_id);
    if (!rc) {
        snprintf(target, sizeof target, "alert:%lld", (long long)r->alert_id);
        snprintf(detail, sizeof detail, "{\"message\":%lld,\"user\":%lld,\"conversation\":%lld}",
                 (long long)r->alert.message_id, (long long)r->alert.user_id,
                 (long long)r->alert.conv_id);
        rc = store_audit_append(st, &a, NULL);
    }
    if (!rc)
        rc = store_tx_commit(st);
    if (rc) {
        store_tx_rollback(st);
        r->alert_id = 0;
    }
    return rc;
}

static void report_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        report_commit *r = (report_commit *)items[i];

        r->rc = chat_retry_busy(st, report_write, r);
        if (r->rc)
            chat_log(r->chat, CHAT_LOG_ERROR, "report", "alert: %s (%s)", store_strerror(r->rc),
                     store_errmsg(st));
    }
}

/* ==== 3. publish, on the writer after the commit ============================ */

static void report_publish(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        report_commit *r = (report_commit *)items[i];
        chat_env e = {.chat = r->chat, .st = st};

        if (r->rc)
            chat_fail_store(&e, &r->base.outcome, r->rc, "report");
        else {
            store_alert al = {.id = r->alert_id,
                              .created_at = r->alert.now,
                              .user_id = r->alert.user_id,
                              .conv_id = r->alert.conv_id,
                              .message_id = r->alert.message_id,
                              .category = (char *)r->alert.category,
                              .verdict = (char *)r->alert.verdict,
                              .findings_json = r->findings,
                              .status = STORE_ALERT_OPEN,
                              .kind = (char *)r->alert.kind,
                              .reporter_id = r->reporter_id,
                              .note = r->note,
                              .evidence_json = r->evidence};
            chat_event ev = {.type = CHAT_EV_ALERT_NEW,
                             .audience = CHAT_TO_STAFF,
                             .conv_id = al.conv_id,
                             .msg_id = al.message_id,
                             .alert = &al};

            chat_publish(r->chat->bus, &ev);
            chat_log(r->chat, CHAT_LOG_INFO, "report", "report.create user=%lld alert=%lld",
                     (long long)r->reporter_id, (long long)r->alert_id);
            /* The reporter learns that it reached the officers, no more. */
            r->base.outcome.status = 201;
            r->base.outcome.extra =
                json_pack("{s:{s:I,s:I}}", "report", "id", (json_int_t)r->alert_id, "created_at",
                          (json_int_t)r->alert.now);
        }
        if (r->base.done)
            r->base.done(&r->base, r->base.arg);
        else
            report_free(&r->base);
    }
}

static const chat_commit_kind report_kind = {
    .name = "report",
    .commit = report_commit_all,
    .publish = report_publish,
    .free = report_free,
};
