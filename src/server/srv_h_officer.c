/*
 * srv_h_officer.c — the officers' side (role officer or admin): alerts and
 * the audit log.
 */
#include "srv_handlers.h"
#include "chat/chat_json.h"
#include "srv_log.h"
#include "store/store_ckpt.h"
#include "srv_req.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The conversation an alert is about, so the console can name it: officers
 * are usually not members, and "#2" tells them nothing. A direct
 * conversation has no title; its two members name it. Best effort: a
 * conversation that cannot be read leaves the alert as it was. */
static void add_conversation(srv_worker *w, json_t *alert, int64_t conv_id)
{
    store_conv c = {0};
    store_members m = {0};
    json_t *o = NULL, *ids;

    if (!alert || conv_id <= 0 || store_conv_get(w->st, conv_id, &c))
        return;
    o = json_pack("{s:s,s:s,s:b}", "kind", c.kind == STORE_CONV_DIRECT ? "direct" : "group",
                  "title", c.title ? c.title : "", "external", c.external);
    if (!o)
        goto out;
    if (c.kind == STORE_CONV_DIRECT && !store_member_list(w->st, conv_id, &m)) {
        ids = json_array();
        for (size_t i = 0; ids && i < m.n; i++)
            json_array_append_new(ids, json_integer((json_int_t)m.items[i].user_id));
        json_object_set_new(o, "member_ids", ids ? ids : json_array());
    }
    json_object_set_new(alert, "conversation", o);
    o = NULL;
out:
    json_decref(o);
    store_members_free(&m);
    store_conv_clear(&c);
}

/* Where the alert's message stands in its forward tree, so that the hops of
 * one spread read as one story (the console opens the spread from here):
 * depth 0 is an original. And whether an officer contained it. */
static void add_forward(srv_worker *w, json_t *alert, int64_t message_id)
{
    store_message m = {0};

    if (!alert || message_id <= 0 || store_message_get(w->st, message_id, &m))
        return;
    json_object_set_new(alert, "forward",
                        json_pack("{s:i,s:I,s:I}", "depth", m.forward_depth, "root_message_id",
                                  (json_int_t)(m.forward_of ? m.forward_origin_id : m.id),
                                  "root_sender_id",
                                  (json_int_t)(m.forward_of ? m.forward_author_id : m.sender_id)));
    if (chat_json_contained_name(m.contained))
        json_object_set_new(alert, "contained", json_string(chat_json_contained_name(m.contained)));
    store_message_clear(&m);
}

/* The alerts (kind: forced, e.g. "report" for GET /reports; NULL: the
 * `kind` query parameter, if any). */
static void list_alerts(srv_req *r, srv_worker *w, const char *kind)
{
    store_alert_filter f = {.kind = kind};
    store_alerts l = {0};
    char category[32], status[16], kind_q[16];
    int64_t v, limit = 50;
    json_t *arr;
    int rc;

#define QI(key, dst)                                                                               \
    do {                                                                                           \
        rc = srv_query_int(r, key, &v);                                                            \
        if (rc < 0)                                                                                \
            return;                                                                                \
        if (!rc)                                                                                   \
            dst = v;                                                                               \
    } while (0)
    QI("since", f.since);
    QI("until", f.until);
    QI("user_id", f.user_id);
    QI("conversation_id", f.conv_id);
    QI("before", f.before_id);
    QI("limit", limit);
#undef QI
    if (limit < 1 || limit > 200) {
        srv_error(r, 400, "bad_request", "limit must be 1..200");
        return;
    }
    f.limit = (int)limit;
    rc = srv_query_str(r, "category", category, sizeof category);
    if (rc < 0)
        return;
    if (!rc)
        f.category = category;
    rc = kind ? 1 : srv_query_str(r, "kind", kind_q, sizeof kind_q);
    if (rc < 0)
        return;
    if (!rc) {
        if (strcmp(kind_q, "guard") && strcmp(kind_q, "report")) {
            srv_error(r, 400, "bad_request", "kind must be guard or report");
            return;
        }
        f.kind = kind_q;
    }
    rc = srv_query_str(r, "status", status, sizeof status);
    if (rc < 0)
        return;
    if (!rc) {
        int st = store_alert_status_parse(status);

        if (st < 0) {
            srv_error(r, 400, "bad_request", "status must be open, acked or resolved");
            return;
        }
        f.by_status = true;
        f.status = (store_alert_status)st;
    }
    rc = store_alert_list(w->st, &f, &l);
    if (rc) {
        srv_store_error(r, w, rc, "alert_list");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < l.n; i++) {
        json_t *a = chat_json_alert(&l.items[i]);

        add_conversation(w, a, l.items[i].conv_id);
        add_forward(w, a, l.items[i].message_id);
        json_array_append_new(arr, a);
    }
    srv_reply(
        r, 200,
        json_pack("{s:o,s:o}", "alerts", arr, "next_before",
                  l.n == (size_t)limit && l.n ? json_integer(l.items[l.n - 1].id) : json_null()));
    store_alerts_free(&l);
}

void srv_h_alerts(srv_req *r, srv_worker *w)
{
    list_alerts(r, w, NULL);
}

void srv_h_reports(srv_req *r, srv_worker *w)
{
    list_alerts(r, w, "report");
}

static void reply_alert(srv_req *r, srv_worker *w, int64_t id, bool notify)
{
    store_alert a = {0};
    int rc = store_alert_get(w->st, id, &a);

    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such alert");
        return;
    }
    if (rc) {
        srv_store_error(r, w, rc, "alert_get");
        return;
    }
    if (notify)
        srv_emit(&r->job, SRV_EV_STAFF,
                 srv_event_buf("alert.updated", json_pack("{s:o}", "alert", chat_json_alert(&a))),
                 0, 0, NULL, 0);
    {
        json_t *o = chat_json_alert(&a);

        add_conversation(w, o, a.conv_id);
        add_forward(w, o, a.message_id);
        srv_reply(r, 200, o);
    }
    store_alert_clear(&a);
}

void srv_h_alert_get(srv_req *r, srv_worker *w)
{
    reply_alert(r, w, r->ids[0], false);
}

static void handle(srv_req *r, srv_worker *w, bool resolve)
{
    const char *comment = NULL;
    char target[48];
    int rc;

    if (srv_body_str(r, "comment", &comment) < 0)
        return;
    if (resolve && (!comment || !*comment)) {
        srv_error(r, 400, "bad_request", "a comment is required to resolve");
        return;
    }
    rc = resolve ? store_alert_resolve(w->st, r->ids[0], r->user.id, comment, r->now)
                 : store_alert_ack(w->st, r->ids[0], r->user.id, comment, r->now);
    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such alert");
        return;
    }
    if (rc == STORE_CONFLICT) {
        srv_error(r, 409, "conflict", "the alert is already resolved");
        return;
    }
    if (rc) {
        srv_store_error(r, w, rc, resolve ? "alert_resolve" : "alert_ack");
        return;
    }
    snprintf(target, sizeof target, "alert:%lld", (long long)r->ids[0]);
    srv_audit_req(r, w, resolve ? "alert.resolve" : "alert.ack", target,
                  json_pack("{s:o}", "comment", comment ? json_string(comment) : json_null()));
    reply_alert(r, w, r->ids[0], true);
}

void srv_h_alert_ack(srv_req *r, srv_worker *w)
{
    handle(r, w, false);
}

void srv_h_alert_resolve(srv_req *r, srv_worker *w)
{
    handle(r, w, true);
}

void srv_h_audit(srv_req *r, srv_worker *w)
{
    store_audit_entries l = {0};
    int64_t after = 0, limit = 100;
    json_t *arr;
    int rc;

    if (srv_query_int(r, "after", &after) < 0 || srv_query_int(r, "limit", &limit) < 0)
        return;
    if (limit < 1 || limit > 1000) {
        srv_error(r, 400, "bad_request", "limit must be 1..1000");
        return;
    }
    rc = store_audit_page(w->st, after, (int)limit, &l);
    if (rc) {
        srv_store_error(r, w, rc, "audit_page");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < l.n; i++)
        json_array_append_new(arr, chat_json_audit(&l.items[i]));
    srv_reply(
        r, 200,
        json_pack("{s:o,s:o}", "entries", arr, "next_after",
                  l.n == (size_t)limit && l.n ? json_integer(l.items[l.n - 1].seq) : json_null()));
    store_audit_entries_free(&l);
}

/* The checkpoint half of GET /audit/verify (docs/API.md): the configured
 * checkpoint file checked against the log, whose chain verified intact up
 * to log_seq. *failed: a checkpoint shows truncation, rewriting or forgery. */
static json_t *checkpoint_json(srv_req *r, srv_worker *w, int64_t log_seq, bool *failed)
{
    const srv_config *cfg = r->srv->cfg;
    uint8_t pk[STORE_CKPT_PK_LEN];
    char *key = NULL, *file = NULL, err[256] = "", hex[2 * STORE_AUDIT_HASH_LEN + 1], msg[400];
    store_ckpt_report rep;
    json_t *o = NULL;
    FILE *f = NULL;
    int rc;

    *failed = false;
    if (srv_config_audit_paths(cfg, &key, &file))
        goto fail;
    f = fopen(file, "re");
    if (!f) {
        o = json_pack("{s:s}", "status", errno == ENOENT ? "none" : "unavailable");
        goto fail;
    }
    if (store_ckpt_pubkey(key, pk, err, sizeof err)) {
        SRV_WARN("audit", "verify: %s", err);
        o = json_pack("{s:s}", "status", "unavailable");
        goto fail;
    }
    rc = store_ckpt_check(w->st, f, pk, log_seq, &rep);
    if (rc) {
        o = json_pack("{s:s}", "status", "unavailable");
        goto fail;
    }
    store_ckpt_describe(&rep, msg, sizeof msg);
    sodium_bin2hex(hex, sizeof hex, rep.ckpt.hash, sizeof rep.ckpt.hash);
    *failed = rep.status != STORE_CKPT_VERIFIED && rep.status != STORE_CKPT_NONE;
    o = json_pack("{s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:s}", "status", store_ckpt_status_name(rep.status),
                  "seq", (json_int_t)rep.ckpt.seq, "hash", hex, "time", (json_int_t)rep.ckpt.time,
                  "log_seq", (json_int_t)rep.log_seq, "checked", (json_int_t)rep.checked, "line",
                  (json_int_t)rep.line, "message", msg);
fail:
    if (f)
        fclose(f);
    free(key);
    free(file);
    return o ? o : json_pack("{s:s}", "status", "unavailable");
}

void srv_h_audit_verify(srv_req *r, srv_worker *w)
{
    store_audit_verify_result v = {0};
    bool ck_failed = false;
    json_t *ck;
    int rc = store_audit_verify(w->st, &v);

    if (rc) {
        srv_store_error(r, w, rc, "audit_verify");
        return;
    }
    /* Checkpoints are compared with a chain known intact; a broken chain
     * is the answer already. */
    ck = v.ok ? checkpoint_json(r, w, v.entries, &ck_failed)
              : json_pack("{s:s}", "status", "skipped");
    srv_reply(r, 200,
              json_pack("{s:b,s:I,s:o,s:s,s:o}", "ok", v.ok && !ck_failed, "entries",
                        (json_int_t)v.entries, "first_bad",
                        v.ok ? json_null() : json_integer(v.first_bad), "reason", v.reason,
                        "checkpoint", ck));
}
