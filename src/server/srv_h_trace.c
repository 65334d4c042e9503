/*
 * srv_h_trace.c — officers trace and contain (role officer or admin; the
 * route table says so):
 *
 *   GET  /officer/spread?message_id=|alert_id=   the tree of copies
 *   GET  /officer/spread?file_id=                every message with the file's
 *                                                bytes (by content hash)
 *   POST /officer/contain                        remove, quarantine, restore
 *                                                (message_id or file_id)
 *   POST /officer/context                        a conversation around an
 *                                                alert, with a stated reason
 *   GET  /officer/stats?from=&to=                alerts counted over a period
 *
 * The domain does the work (chat_trace.h); these decode, answer and audit.
 * Every officer look at content or its spread is an audit row, since an
 * officer reads conversations they are not a member of.
 */
#include "chat/chat_json.h"
#include "chat/chat_trace.h"
#include "srv_handlers.h"
#include "srv_log.h"
#include "srv_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTEXT_BEFORE 10
#define CONTEXT_AFTER  10

/* The message an officer asks about: message_id, or alert_id's message.
 * 0 when it has answered (400/404). */
static int64_t asked_message(srv_req *r, srv_worker *w, bool from_body, int64_t *alert_out)
{
    int64_t mid = 0, aid = 0;
    int rm, ra;
    store_alert a = {0};

    if (from_body) {
        rm = srv_body_int(r, "message_id", &mid);
        ra = rm < 0 ? -1 : srv_body_int(r, "alert_id", &aid);
    } else {
        rm = srv_query_int(r, "message_id", &mid);
        ra = rm < 0 ? -1 : srv_query_int(r, "alert_id", &aid);
    }
    if (rm < 0 || ra < 0)
        return 0;
    if ((rm == 0) == (ra == 0)) {
        srv_error(r, 400, "bad_request", "give message_id or alert_id");
        return 0;
    }
    if (alert_out)
        *alert_out = ra == 0 ? aid : 0;
    if (rm == 0) {
        if (mid <= 0)
            srv_error(r, 404, "not_found", "no such message");
        return mid > 0 ? mid : 0;
    }
    ra = store_alert_get(w->st, aid, &a);
    if (ra == STORE_NOTFOUND)
        srv_error(r, 404, "not_found", "no such alert");
    else if (ra)
        srv_store_error(r, w, ra, "alert_get");
    else if (!a.message_id)
        /* blocked or held: nothing was stored, so nothing spread */
        srv_error(r, 404, "no_message", "the alert's content was never delivered");
    else
        mid = a.message_id;
    store_alert_clear(&a);
    return mid;
}

/* A file id as the store names files: [a-z0-9]{1,64}. Anything else is
 * no such file (never a query built from it). */
static bool file_id_ok(const char *id)
{
    size_t n = strlen(id);

    if (!n || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
            return false;
    return true;
}

static void file_spread(srv_req *r, srv_worker *w, const char *id)
{
    chat_env e = srv_chat_env(w);
    chat_outcome o = {0};
    char target[80];
    json_t *s = NULL;

    if (!file_id_ok(id)) {
        srv_error(r, 404, "not_found", "no such file");
        return;
    }
    s = chat_trace_file_spread(&e, id, &o);
    if (!s) {
        srv_reply_outcome(r, &o);
        return;
    }
    snprintf(target, sizeof target, "file:%.64s", id);
    srv_audit_req(
        r, w, "officer.spread", target,
        json_pack("{s:O}", "copies", json_object_get(json_object_get(s, "totals"), "copies")));
    srv_reply(r, 200, s);
}

void srv_h_spread(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_outcome o = {0};
    char target[48], fid[80];
    int64_t mid;
    json_t *s;
    int rf = srv_query_str(r, "file_id", fid, sizeof fid);

    if (rf < 0)
        return;
    if (rf == 0) {
        if (strstr(r->query, "message_id=") || strstr(r->query, "alert_id="))
            srv_error(r, 400, "bad_request", "give message_id, alert_id or file_id");
        else
            file_spread(r, w, fid);
        return;
    }
    mid = asked_message(r, w, false, NULL);

    if (!mid)
        return;
    s = chat_trace_spread(&e, mid, &o);
    if (!s) {
        srv_reply_outcome(r, &o);
        return;
    }
    snprintf(target, sizeof target, "message:%lld", (long long)mid);
    srv_audit_req(r, w, "officer.spread", target,
                  json_pack("{s:O,s:O}", "root", json_object_get(s, "root_message_id"), "copies",
                            json_object_get(json_object_get(s, "totals"), "copies")));
    srv_reply(r, 200, s);
}

static void contain_answer(srv_req *r)
{
    srv_answer_commit(r);
}

void srv_h_contain(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};
    chat_contain_req rq = {0};
    const char *scope = "copy", *action = "remove";
    int rm = srv_body_int(r, "message_id", &rq.message_id);
    int rf = rm < 0 ? -1 : srv_body_str(r, "file_id", &rq.file_id);

    if (rm < 0 || rf < 0 || srv_body_str(r, "reason", &rq.reason) < 0 ||
        srv_body_str(r, "scope", &scope) < 0 || srv_body_str(r, "action", &action) < 0 ||
        rm == rf) {
        if (r->status != 400)
            srv_error(r, 400, "bad_request", "give message_id or file_id");
        return;
    }
    if (rq.file_id && !file_id_ok(rq.file_id)) {
        srv_error(r, 404, "not_found", "no such file");
        return;
    }
    if (!strcmp(scope, "tree"))
        rq.scope = CHAT_CONTAIN_TREE;
    else if (strcmp(scope, "copy")) {
        srv_error(r, 400, "bad_request", "scope must be copy or tree");
        return;
    }
    if (!strcmp(action, "quarantine"))
        rq.action = STORE_CONTAIN_QUARANTINE;
    else if (!strcmp(action, "restore"))
        rq.action = STORE_CONTAIN_RESTORE;
    else if (strcmp(action, "remove")) {
        srv_error(r, 400, "bad_request", "action must be remove, quarantine or restore");
        return;
    }
    if (chat_contain_plan(&e, &who, &rq, r->now, &r->commit, &o) == 0)
        srv_req_await(r, &r->commit, 1, contain_answer);
    else
        srv_reply_outcome(r, &o);
}

/* A message as an officer sees it in a context: as stored (the sender's
 * view; the guard already ruled on it), nothing of a removed one, and the
 * text a quarantine keeps for review (`held_text`: members do not see it). */
static json_t *officer_message(srv_worker *w, const store_message *m)
{
    json_t *o = chat_json_message(m);
    char *text = NULL;
    size_t len = 0;

    if (o && m->contained == STORE_CONTAINED_QUARANTINED &&
        !store_quarantine_text(w->st, m->id, &text, &len))
        json_object_set_new(o, "held_text", json_stringn(text, len));
    free(text);
    return o;
}

void srv_h_context(srv_req *r, srv_worker *w)
{
    const char *reason = NULL;
    store_message m = {0};
    store_messages before = {0}, after = {0};
    store_conv c = {0};
    store_members mem = {0};
    json_t *arr = NULL, *conv = NULL;
    char target[48];
    int64_t alert_id = 0, mid;
    int rc;

    if (srv_body_str(r, "reason", &reason) < 0)
        return;
    if (!reason || !*reason) {
        srv_error(r, 400, "reason_required", "a reason is required");
        return;
    }
    if (strlen(reason) > CHAT_CONTAIN_REASON_MAX) {
        srv_error(r, 400, "reason_too_long", "the reason has at most %d bytes",
                  CHAT_CONTAIN_REASON_MAX);
        return;
    }
    mid = asked_message(r, w, true, &alert_id);
    if (!mid)
        return;
    rc = store_message_get(w->st, mid, &m);
    if (!rc)
        rc = store_conv_get(w->st, m.conv_id, &c);
    if (!rc)
        rc = store_member_list(w->st, m.conv_id, &mem);
    if (!rc)
        rc = store_message_history(w->st, m.conv_id, mid + 1, CONTEXT_BEFORE + 1, &before);
    if (!rc)
        rc = store_message_since(w->st, m.conv_id, mid, CONTEXT_AFTER, &after);
    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such message");
        goto out;
    }
    if (rc) {
        srv_store_error(r, w, rc, "context");
        goto out;
    }
    arr = json_array();
    for (size_t i = before.n; arr && i-- > 0;) /* history is newest first */
        json_array_append_new(arr, officer_message(w, &before.items[i]));
    for (size_t i = 0; arr && i < after.n; i++)
        json_array_append_new(arr, officer_message(w, &after.items[i]));
    conv = chat_json_conv(&c, &mem, -1);
    snprintf(target, sizeof target, "conversation:%lld", (long long)m.conv_id);
    /* Audited before the answer leaves: no look without its row. */
    srv_audit_req(r, w, "officer.context", target,
                  json_pack("{s:s,s:I,s:o,s:I}", "reason", reason, "message", (json_int_t)mid,
                            "alert", alert_id ? json_integer(alert_id) : json_null(), "shown",
                            (json_int_t)json_array_size(arr)));
    srv_reply(r, 200,
              json_pack("{s:I,s:o,s:o}", "message_id", (json_int_t)mid, "conversation",
                        conv ? conv : json_null(), "messages", arr ? arr : json_array()));
out:
    store_message_clear(&m);
    store_messages_free(&before);
    store_messages_free(&after);
    store_conv_clear(&c);
    store_members_free(&mem);
}

/* Adds n to obj[key]. */
static void bump(json_t *obj, const char *key, int64_t n)
{
    json_t *v = json_object_get(obj, key);

    json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + n));
}

#define STATS_GROUPS_MAX 50

/* The department and group dimensions: alerts by their user's department
 * ("" = none) with each department's categories, and the conversations
 * with most alerts (at most STATS_GROUPS_MAX). */
static void group_stats(srv_worker *w, int64_t from, int64_t to, json_t **deps_out,
                        json_t **groups_out)
{
    store_alert_group_rows l = {0};
    json_t *deps = json_object(), *convs = json_object(), *groups = json_array();
    int rc = store_alert_groups(w->st, from, to, &l);

    if (rc && rc != STORE_VERSION)
        SRV_ERROR("stats", "alert_groups: %s", store_strerror(rc));
    for (size_t i = 0; deps && convs && i < l.n; i++) {
        const store_alert_group *x = &l.items[i];
        const char *d = x->department ? x->department : "";
        json_t *dep = json_object_get(deps, d);
        char key[24];

        if (!dep) {
            dep = json_pack("{s:I,s:{}}", "count", (json_int_t)0, "by_category");
            json_object_set_new(deps, d, dep);
        }
        if (dep) {
            bump(dep, "count", x->count);
            bump(json_object_get(dep, "by_category"), x->category ? x->category : "", x->count);
        }
        if (!x->conv_id)
            continue;
        snprintf(key, sizeof key, "%lld", (long long)x->conv_id);
        if (!json_object_get(convs, key))
            json_object_set_new(convs, key,
                                json_pack("{s:I,s:s,s:s,s:I}", "conversation_id",
                                          (json_int_t)x->conv_id, "title",
                                          x->conv_title ? x->conv_title : "", "kind",
                                          store_conv_kind_name((store_conv_kind)x->conv_kind),
                                          "count", (json_int_t)0));
        bump(json_object_get(convs, key), "count", x->count);
    }
    /* the groups with most alerts first */
    for (size_t k = 0; groups && convs && k < STATS_GROUPS_MAX; k++) {
        const char *key, *best = NULL;
        json_t *v;
        json_int_t most = -1;

        json_object_foreach(convs, key, v)
        {
            json_int_t c = json_integer_value(json_object_get(v, "count"));

            if (c > most) {
                most = c;
                best = key;
            }
        }
        if (!best)
            break;
        json_array_append(groups, json_object_get(convs, best));
        json_object_del(convs, best);
    }
    json_decref(convs);
    store_alert_group_rows_free(&l);
    *deps_out = deps ? deps : json_object();
    *groups_out = groups ? groups : json_array();
}

/* GET /officer/stats?from=&to=&tz_offset_minutes=&by=: alerts over any
 * period, counted by the server (not only the alerts a browser loaded):
 * per day, category, rule, verdict, department (of the alert's user) and
 * group, and the rows they come from. `by` (day, category, rule, verdict,
 * department, group) names the dimension a client charts; every dimension
 * is in the answer. */
void srv_h_stats(srv_req *r, srv_worker *w)
{
    store_alert_stat_rows l = {0};
    int64_t from = 0, to = 0, tz = 0;
    json_t *rows, *days, *cat, *rule, *verdict, *deps = NULL, *groups = NULL;
    int64_t total = 0;
    char by[16] = "day";
    int rc;

    if (srv_query_int(r, "from", &from) < 0 || srv_query_int(r, "to", &to) < 0 ||
        srv_query_int(r, "tz_offset_minutes", &tz) < 0 || srv_query_str(r, "by", by, sizeof by) < 0)
        return;
    if (strcmp(by, "day") && strcmp(by, "category") && strcmp(by, "rule") &&
        strcmp(by, "verdict") && strcmp(by, "department") && strcmp(by, "group")) {
        srv_error(r, 400, "bad_request", "by: day, category, rule, verdict, department or group");
        return;
    }
    if (!to)
        to = r->now;
    if (!from)
        from = to - 14 * 86400000LL;
    if (to <= from || to - from > (int64_t)STORE_STATS_MAX_DAYS * 86400000 || tz < -14 * 60 ||
        tz > 14 * 60) {
        srv_error(r, 400, "bad_request", "from < to, at most %d days; tz_offset_minutes -840..840",
                  STORE_STATS_MAX_DAYS);
        return;
    }
    rc = store_alert_stats(w->st, from, to, tz * 60000, &l);
    if (rc) {
        srv_store_error(r, w, rc, "alert_stats");
        return;
    }
    rows = json_array();
    days = json_object();
    cat = json_object();
    rule = json_object();
    verdict = json_object();
    for (size_t i = 0; rows && days && cat && rule && verdict && i < l.n; i++) {
        const store_alert_stat *x = &l.items[i];
        char day[24];

        json_array_append_new(rows, json_pack("{s:I,s:s,s:o,s:s,s:I}", "day", (json_int_t)x->day,
                                              "category", x->category ? x->category : "", "rule",
                                              x->rule ? json_string(x->rule) : json_null(),
                                              "verdict", x->verdict ? x->verdict : "", "count",
                                              (json_int_t)x->count));
        snprintf(day, sizeof day, "%lld", (long long)x->day);
        bump(days, day, x->count);
        bump(cat, x->category ? x->category : "", x->count);
        bump(rule, x->rule ? x->rule : "", x->count);
        bump(verdict, x->verdict ? x->verdict : "", x->count);
        total += x->count;
    }
    group_stats(w, from, to, &deps, &groups);
    srv_reply(r, 200,
              json_pack("{s:I,s:I,s:I,s:s,s:I,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "from",
                        (json_int_t)from, "to", (json_int_t)to, "tz_offset_minutes", (json_int_t)tz,
                        "by", by, "total", (json_int_t)total, "truncated", l.n == STORE_STATS_MAX,
                        "by_day", days ? days : json_object(), "by_category",
                        cat ? cat : json_object(), "by_rule", rule ? rule : json_object(),
                        "by_verdict", verdict ? verdict : json_object(), "by_department", deps,
                        "by_group", groups, "rows", rows ? rows : json_array()));
    store_alert_stat_rows_free(&l);
}
