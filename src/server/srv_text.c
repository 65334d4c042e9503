/*
 * srv_text.c — titles and display names: shape and guard (srv_text.h).
 */
#include "srv_text.h"

#include "srv_handlers.h"
#include "chat/chat_alert.h"
#include "chat/chat_json.h"
#include "srv_log.h"
#include "srv_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An officer alert for a verdict on a title or name: planned here, written
 * by the writer with the request's commit (chat_alert.h). */
static void alert(srv_req *r, const char *field, int64_t conv_id, const guard_result *res,
                  const char *text, size_t len)
{
    chat_alert_new in = {.user_id = r->user.id,
                         .actor = r->user.login,
                         .conv_id = conv_id,
                         .field = field,
                         .res = res,
                         .text = text,
                         .len = len};

    chat_commit_free(r->alert);
    r->alert = chat_alert_commit(&r->srv->chat, &in, r->now);
    if (!r->alert)
        SRV_ERROR("guard", "%s alert: out of memory", field);
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
    base_text_shape shape = base_text_check(text, len, max_chars);
    char msg[300];
    int rc = -1;

    *out = NULL;
    if (shape == BASE_TEXT_TOO_LONG) {
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
        alert(r, field, conv_id, res, text, len);
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
