/*
 * srv_text.c — titles and display names: shape and guard (srv_text.h).
 */
#include "srv_text.h"

#include "srv_handlers.h"
#include "chat/chat_json.h"
#include "srv_log.h"
#include "srv_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Characters nobody needs in a name and a spoofer loves: controls (a line
 * feed forging a second line), DEL, and the bidirectional controls that
 * reorder what is displayed ("gpj.exe" shown as "exe.jpg"). */
static bool forbidden(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

srv_text_shape srv_text_shape_check(const char *s, size_t len, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    srv_text_shape bad = SRV_TEXT_OK;
    size_t chars = 0;

    while (p < end) {
        uint32_t cp;
        size_t n;

        if (p[0] < 0x80) {
            cp = p[0];
            n = 1;
        } else if (p[0] >= 0xC2 && p[0] <= 0xDF) {
            cp = p[0] & 0x1F;
            n = 2;
        } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
            cp = p[0] & 0x0F;
            n = 3;
        } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
            cp = p[0] & 0x07;
            n = 4;
        } else
            return SRV_TEXT_BAD_UTF8;
        if ((size_t)(end - p) < n)
            return SRV_TEXT_BAD_UTF8;
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return SRV_TEXT_BAD_UTF8;
            cp = cp << 6 | (p[i] & 0x3F);
        }
        /* overlong forms, surrogates, past U+10FFFF */
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return SRV_TEXT_BAD_UTF8;
        if (forbidden(cp))
            bad = SRV_TEXT_FORBIDDEN;
        chars++;
        p += n;
    }
    if (bad)
        return bad;
    return chars > max_chars ? SRV_TEXT_TOO_LONG : SRV_TEXT_OK;
}

/* An officer alert (and its audit entry, and alert.new to the staff) for a
 * verdict on a title or name; the audit keeps the decision, never the
 * text. */
static void alert(srv_req *r, srv_worker *w, const char *field, int64_t conv_id,
                  const guard_result *res, const char *text, size_t len)
{
    json_t *f = chat_json_findings_ctx(res, text, len);
    char *findings = f ? json_dumps(f, JSON_COMPACT) : NULL;
    const char *verdict = guard_action_name(res->verdict);
    store_alert_new an = {.user_id = r->user.id,
                          .conv_id = conv_id,
                          .category = chat_guard_category(res),
                          .verdict = verdict,
                          .rule = res->decided_by,
                          .findings_json = findings ? findings : "[]",
                          .now = r->now};
    store_alert a = {0};
    char event[32], target[48];
    int64_t id = 0;
    int rc;

    json_decref(f);
    rc = store_alert_create(w->st, &an, &id);
    if (rc) {
        SRV_ERROR("guard", "alert_create: %s (%s)", store_strerror(rc), store_errmsg(w->st));
        goto out;
    }
    snprintf(event, sizeof event, "guard.%s", verdict);
    if (conv_id)
        snprintf(target, sizeof target, "conversation:%lld", (long long)conv_id);
    else
        snprintf(target, sizeof target, "user:%lld", (long long)r->user.id);
    srv_audit_req(r, w, event, target,
                  json_pack("{s:s,s:o,s:s,s:I,s:s}", "verdict", verdict, "rule",
                            res->decided_by ? json_string(res->decided_by) : json_null(),
                            "category", an.category, "alert", (json_int_t)id, "field", field));
    SRV_INFO("guard", "%s %s user=%lld rule=%s alert=%lld", event, field, (long long)r->user.id,
             res->decided_by ? res->decided_by : "-", (long long)id);
    if (store_alert_get(w->st, id, &a) == STORE_OK)
        srv_emit(&r->job, SRV_EV_STAFF,
                 srv_event_buf("alert.new", json_pack("{s:o}", "alert", chat_json_alert(&a))), 0, 0,
                 NULL, 0);
    store_alert_clear(&a);
out:
    free(findings);
}

int srv_text_check(srv_req *r, srv_worker *w, const char *field, size_t max_chars,
                   guard_scope scope, int64_t conv_id, char **out)
{
    json_t *v = r->json ? json_object_get(r->json, field) : NULL;

    *out = NULL;
    if (!json_is_string(v)) {
        srv_error(r, 400, "bad_request", "%s must be a string", field);
        return -1;
    }
    return srv_text_inspect(r, w, field, json_string_value(v), json_string_length(v), max_chars,
                            scope, conv_id, "guard_blocked", out);
}

/* A 422 naming the field: `<field><suffix>`, with `max` when not 0. fmt
 * takes the field name, then may take max (%zu). */
static void shape_error(srv_req *r, const char *field, const char *suffix, size_t max,
                        const char *fmt)
{
    char code[48];
    json_t *e;

    snprintf(code, sizeof code, "%s%s", field, suffix);
    srv_error(r, 422, code, fmt, field, max);
    e = json_object_get(r->resp, "error");
    json_object_set_new(e, "field", json_string(field));
    if (max)
        json_object_set_new(e, "max", json_integer((json_int_t)max));
}

int srv_text_inspect(srv_req *r, srv_worker *w, const char *field, const char *text, size_t len,
                     size_t max_chars, guard_scope scope, int64_t conv_id, const char *guard_code,
                     char **out)
{
    guard_result *res = NULL;
    guard_ruleset *rs;
    guard_error gerr;
    srv_text_shape shape = srv_text_shape_check(text, len, max_chars);
    char msg[300];
    int rc = -1;

    *out = NULL;
    if (shape == SRV_TEXT_TOO_LONG) {
        shape_error(r, field, "_too_long", max_chars, "%s has at most %zu characters");
        goto out;
    }
    if (shape) {
        shape_error(r, field, "_invalid", 0,
                    "%s must be valid UTF-8 without control characters or direction "
                    "overrides");
        goto out;
    }
    rs = guard_engine_acquire(r->srv->engine);
    rc = guard_scan(w->scanner, rs, text, len, scope, &res, &gerr);
    guard_ruleset_unref(rs);
    if (rc != GUARD_OK) {
        /* Fail closed, as for messages. */
        SRV_ERROR("guard", "%s scan failed: %s", field, gerr.message);
        srv_error(r, 503, "unavailable", "the %s could not be inspected; retry", field);
        rc = -1;
        goto out;
    }
    rc = -1;
    if (res->verdict != GUARD_ALLOW)
        alert(r, w, field, conv_id, res, text, len);
    if (res->verdict == GUARD_BLOCK || res->verdict == GUARD_CONFIRM) {
        /* No justification path: what would be held is refused too. */
        if (res->decided_by)
            snprintf(msg, sizeof msg, "%s refused by the confidentiality policy (rule %s)", field,
                     res->decided_by);
        else
            snprintf(msg, sizeof msg, "%s refused by the confidentiality policy", field);
        srv_reply(r, 422,
                  json_pack("{s:{s:s,s:s,s:s},s:o}", "error", "code", guard_code, "message", msg,
                            "field", field, "guard", chat_json_guard(res)));
        goto out;
    }
    if (res->verdict == GUARD_MASK && res->masked) {
        text = res->masked;
        len = res->masked_len;
    }
    *out = strndup(text, len);
    if (!*out) {
        srv_error(r, 500, "internal", "out of memory");
        goto out;
    }
    rc = 0;
out:
    guard_result_free(res);
    return rc;
}
