/*
 * chat_warn.c — the early-warning rules (chat_warn.h). Each rule: read the
 * thresholds of the current policy, count in the store over the window,
 * and when over, write one alert (deduplicated: none of the same category
 * for the same subject within the window) with its evidence as a finding,
 * and an audit row, then publish alert.new.
 */
#include "chat_warn.h"

#include "chat_event.h"
#include "store/store_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_MS 60000LL
#define DAY_MS    (24 * 60 * MINUTE_MS)

static guard_warnings thresholds(const chat *c)
{
    guard_ruleset *rs = guard_engine_acquire(c->engine);
    guard_warnings w = {0};

    if (rs) {
        w = *guard_ruleset_warnings(rs);
        guard_ruleset_unref(rs);
    }
    return w;
}

/* Writes and publishes one warning alert. `evidence` (stolen) is the
 * finding's extra fields: counts, window, threshold. */
static void raise(const chat *c, store *st, const char *category, int64_t user_id, int64_t conv_id,
                  int64_t message_id, int64_t now, const char *explanation, json_t *evidence)
{
    json_t *f = json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:s,s:o,s:b,s:n}", "rule", category,
                          "category", "warning", "severity", "high", "confidence", 100, "start", 0,
                          "end", 0, "excerpt", "", "explanation", explanation, "action", "warn",
                          "policy_rule", json_null(), "evasion", false, "location");
    char *findings = NULL, *detail = NULL, target[48];
    store_alert_new a = {.user_id = user_id,
                         .conv_id = conv_id,
                         .message_id = message_id,
                         .category = category,
                         .verdict = "warn",
                         .rule = category,
                         .now = now};
    store_audit_new au = {.time = now, .actor = NULL, .event = category, .target = target};
    int64_t id = 0;
    int rc;

    if (f && evidence)
        json_object_update(f, evidence);
    json_decref(evidence);
    if (f) {
        json_t *list = json_pack("[o]", f); /* takes f */

        findings = list ? json_dumps(list, JSON_COMPACT) : NULL;
        json_decref(list);
    }
    if (!findings) {
        chat_log(c, CHAT_LOG_ERROR, "warn", "%s: out of memory", category);
        return;
    }
    a.findings_json = findings;
    rc = store_alert_create(st, &a, &id);
    if (!rc) {
        json_t *d =
            json_pack("{s:I,s:I,s:o}", "alert", (json_int_t)id, "user_id", (json_int_t)user_id,
                      "conversation", conv_id ? json_integer(conv_id) : json_null());

        detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(d);
        snprintf(target, sizeof target, "alert:%lld", (long long)id);
        au.detail = detail;
        rc = store_audit_append(st, &au, NULL);
    }
    if (rc)
        chat_log(c, CHAT_LOG_ERROR, "warn", "%s: %s (%s)", category, store_strerror(rc),
                 store_errmsg(st));
    if (id) {
        store_alert al = {.id = id,
                          .created_at = now,
                          .user_id = user_id,
                          .conv_id = conv_id,
                          .message_id = message_id,
                          .category = (char *)category,
                          .verdict = "warn",
                          .rule = (char *)category,
                          .findings_json = findings,
                          .status = STORE_ALERT_OPEN};
        chat_event ev = {.type = CHAT_EV_ALERT_NEW,
                         .audience = CHAT_TO_STAFF,
                         .conv_id = conv_id,
                         .msg_id = message_id,
                         .alert = &al};

        chat_log(c, CHAT_LOG_INFO, "warn", "%s user=%lld conversation=%lld alert=%lld", category,
                 (long long)user_id, (long long)conv_id, (long long)id);
        chat_publish(c->bus, &ev);
    }
    free(findings);
    free(detail);
}

/* True when an alert of `category` about the subject exists since `since`
 * (or the count failed: no duplicate alerts from a failing store). */
static bool raised_already(store *st, const store_alert_count_query *q)
{
    int64_t n = 0;

    return store_alert_count(st, q, &n) || n > 0;
}

void chat_warn_after_forward(const chat *c, store *st, const store_message *m)
{
    guard_warnings w = thresholds(c);
    int64_t since, n = 0, root = m->forward_of ? m->forward_origin_id : m->id;
    char why[160];

    if (!w.spread_conversations || !w.spread_minutes || !m->forward_of)
        return;
    since = m->created_at - (int64_t)w.spread_minutes * MINUTE_MS;
    if (store_spread_conversations(st, root, since, &n) || n <= (int64_t)w.spread_conversations)
        return;
    if (raised_already(st, &(store_alert_count_query){
                               .since = since, .message_id = root, .category = "warning.spread"}))
        return;
    snprintf(why, sizeof why, "forwarded into %lld conversations within %u minutes (more than %u)",
             (long long)n, w.spread_minutes, w.spread_conversations);
    /* About the root, so the console opens its spread; the user is the
     * author of the original. */
    raise(c, st, "warning.spread", m->forward_author_id, m->conv_id, root, m->created_at, why,
          json_pack("{s:I,s:I,s:i,s:i,s:I}", "conversations", (json_int_t)n, "root_message_id",
                    (json_int_t)root, "threshold", (int)w.spread_conversations, "window_minutes",
                    (int)w.spread_minutes, "last_copy_id", (json_int_t)m->id));
}

/* Personal data leaving through many small messages: the user's
 * delivered messages' personal-data findings summed over the window. The
 * evidence names the messages (ids, never their text), so the console
 * opens each one's spread and context. */
static void warn_personal(const chat *c, store *st, const guard_warnings *w, int64_t user_id,
                          int64_t conv_id, int64_t now)
{
    store_personal_rows l = {0};
    int64_t since = now - (int64_t)w->bulk_personal_minutes * MINUTE_MS, total = 0, last = 0;
    json_t *ids = NULL, *convs = NULL;
    char why[200];

    if (!w->bulk_personal_findings || !w->bulk_personal_minutes || user_id <= 0 || since <= 0)
        return;
    if (store_personal_findings(st, user_id, since, &l))
        goto out;
    for (size_t i = 0; i < l.n; i++)
        total += l.items[i].findings;
    if (total <= (int64_t)w->bulk_personal_findings)
        goto out;
    if (raised_already(st, &(store_alert_count_query){.since = since,
                                                      .user_id = user_id,
                                                      .category = "warning.bulk_personal"}))
        goto out;
    ids = json_array();
    convs = json_object();
    for (size_t i = 0; ids && convs && i < l.n; i++) {
        char key[24];

        json_array_append_new(ids, json_integer((json_int_t)l.items[i].message_id));
        snprintf(key, sizeof key, "%lld", (long long)l.items[i].conv_id);
        json_object_set_new(convs, key, json_true());
        last = l.items[i].message_id;
    }
    snprintf(why, sizeof why,
             "%lld personal-data findings in %zu messages within %u minutes (more than %u)",
             (long long)total, l.n, w->bulk_personal_minutes, w->bulk_personal_findings);
    raise(c, st, "warning.bulk_personal", user_id, conv_id, last, now, why,
          json_pack("{s:I,s:I,s:I,s:i,s:i,s:o}", "personal_findings", (json_int_t)total, "messages",
                    (json_int_t)l.n, "conversations",
                    (json_int_t)(convs ? json_object_size(convs) : 0), "threshold",
                    (int)w->bulk_personal_findings, "window_minutes", (int)w->bulk_personal_minutes,
                    "evidence_message_ids", ids ? ids : json_array()));
    ids = NULL;
out:
    json_decref(ids);
    json_decref(convs);
    free(l.items);
}

void chat_warn_after_files(const chat *c, store *st, const store_message *m)
{
    guard_warnings w = thresholds(c);
    json_t *arr, *f;
    size_t i;
    int64_t since;

    if (!w.spread_conversations || !w.spread_minutes || !m->attachments)
        return;
    since = m->created_at - (int64_t)w.spread_minutes * MINUTE_MS;
    arr = json_loads(m->attachments, 0, NULL);
    json_array_foreach(arr, i, f)
    {
        const char *id = json_string_value(json_object_get(f, "id"));
        int64_t n = 0, first = 0, author = m->sender_id, conv = m->conv_id;
        store_message orig = {0};
        char why[160];

        if (!id || store_file_spread_conversations(st, id, since, &n, &first) ||
            n <= (int64_t)w.spread_conversations || !first)
            continue;
        if (raised_already(st, &(store_alert_count_query){.since = since,
                                                          .message_id = first,
                                                          .category = "warning.spread"}))
            continue;
        snprintf(why, sizeof why, "a file in %lld conversations within %u minutes (more than %u)",
                 (long long)n, w.spread_minutes, w.spread_conversations);
        /* about the first message with the bytes: its author, its place */
        if (!store_message_get(st, first, &orig)) {
            author = orig.sender_id;
            conv = orig.conv_id;
        }
        store_message_clear(&orig);
        raise(c, st, "warning.spread", author, conv, first, m->created_at, why,
              json_pack("{s:I,s:s,s:I,s:i,s:i,s:I}", "conversations", (json_int_t)n, "file_id", id,
                        "root_message_id", (json_int_t)first, "threshold",
                        (int)w.spread_conversations, "window_minutes", (int)w.spread_minutes,
                        "last_copy_id", (json_int_t)m->id));
        break; /* one alert for one message */
    }
    json_decref(arr);
}

void chat_warn_after_alert(const chat *c, store *st, int64_t user_id, int64_t conv_id, int64_t now)
{
    guard_warnings w = thresholds(c);
    int64_t since = now - DAY_MS, n = 0;
    char why[160];

    warn_personal(c, st, &w, user_id, conv_id, now);
    if (!w.attempts_per_day || user_id <= 0)
        return;
    if (store_alert_count(
            st, &(store_alert_count_query){.since = since, .user_id = user_id, .attempts = true},
            &n) ||
        n <= (int64_t)w.attempts_per_day)
        return;
    if (raised_already(st, &(store_alert_count_query){
                               .since = since, .user_id = user_id, .category = "warning.attempts"}))
        return;
    snprintf(why, sizeof why, "%lld blocked or held attempts within 24 hours (more than %u)",
             (long long)n, w.attempts_per_day);
    raise(c, st, "warning.attempts", user_id, conv_id, 0, now, why,
          json_pack("{s:I,s:i,s:i}", "attempts", (json_int_t)n, "threshold",
                    (int)w.attempts_per_day, "window_minutes", 24 * 60));
}

void chat_warn_after_member(const chat *c, store *st, int64_t conv_id, int64_t user_id, int64_t now)
{
    guard_warnings w = thresholds(c);
    store_user u = {0};
    store_alerts recent = {0};
    int64_t since, n = 0;
    char why[160];

    if (!w.external_after_minutes || store_user_get(st, user_id, &u) || !u.external)
        goto out;
    since = now - (int64_t)w.external_after_minutes * MINUTE_MS;
    if (store_alert_count(
            st, &(store_alert_count_query){.since = since, .conv_id = conv_id, .delivered = true},
            &n) ||
        n == 0)
        goto out;
    if (raised_already(st, &(store_alert_count_query){.since = since,
                                                      .conv_id = conv_id,
                                                      .user_id = user_id,
                                                      .category = "warning.external"}))
        goto out;
    /* the latest sensitive message, for the evidence */
    store_alert_list(st, &(store_alert_filter){.since = since, .conv_id = conv_id, .limit = 20},
                     &recent);
    {
        int64_t last = 0;

        for (size_t i = 0; i < recent.n && !last; i++)
            if (recent.items[i].message_id && strncmp(recent.items[i].category, "warning.", 8))
                last = recent.items[i].message_id;
        snprintf(why, sizeof why,
                 "external member added within %u minutes of %lld sensitive message(s)",
                 w.external_after_minutes, (long long)n);
        raise(c, st, "warning.external", user_id, conv_id, last, now, why,
              json_pack("{s:I,s:i,s:I}", "sensitive_messages", (json_int_t)n, "window_minutes",
                        (int)w.external_after_minutes, "external_user_id", (json_int_t)user_id));
    }
out:
    store_alerts_free(&recent);
    store_user_clear(&u);
}
