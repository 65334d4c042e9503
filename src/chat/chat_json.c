/*
 * chat_json.c — record -> JSON conversions (see chat_json.h).
 *
 * Excerpts of personal data and secrets never leave the server unmasked:
 * the sender sees where the finding is (start/end) and a masked excerpt, so
 * a response, an alert or a log line never repeats an ID number or a key.
 */
#include "chat_json.h"

#include <stdio.h>
#include <string.h>

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *id_or_null(int64_t v)
{
    return v ? json_integer(v) : json_null();
}

json_t *chat_json_user(const store_user *u, bool full)
{
    if (!full)
        return json_pack("{s:I,s:s,s:s,s:b}", "id", (json_int_t)u->id, "login",
                         u->login ? u->login : "", "display_name",
                         u->display_name ? u->display_name : "", "external", u->external);
    return json_pack(
        "{s:I,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:I,s:o,s:o}", "id", (json_int_t)u->id, "login",
        u->login ? u->login : "", "display_name", u->display_name ? u->display_name : "", "role",
        store_role_name(u->role), "external", u->external, "disabled", u->disabled, "totp_enabled",
        u->totp_enabled, "must_change_password", u->must_change_password, "created_at",
        (json_int_t)u->created_at, "phone", u->phone ? json_string(u->phone) : json_null(),
        "department", u->department ? json_string(u->department) : json_null());
}

json_t *chat_json_session(const store_session *s, int64_t current_id)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:o,s:o,s:b}", "id", (json_int_t)s->id, "created_at",
                     (json_int_t)s->created_at, "last_seen_at", (json_int_t)s->last_seen_at,
                     "expires_at", (json_int_t)s->expires_at, "address", str_or_null(s->address),
                     "user_agent", str_or_null(s->user_agent), "current", s->id == current_id);
}

const char *chat_json_contained_name(int contained)
{
    return contained == STORE_CONTAINED_QUARANTINED ? "quarantined"
           : contained == STORE_CONTAINED_REMOVED   ? "removed"
                                                    : NULL;
}

/* The fields a message has beyond text (schema version 7): its kind with
 * its meta, and whether it burns after reading. A burn message's text is
 * never in this shape: everyone — the sender included — sees that one
 * arrived (and how many pictures it carries); a reader gets the text and
 * the pictures' list once, from POST /messages/{id}/open. */
static void message_extras(json_t *o, const store_message *m)
{
    const char *kind = m->kind && *m->kind ? m->kind : "text";
    json_t *meta = m->meta ? json_loads(m->meta, 0, NULL) : NULL;

    json_object_set_new(o, "kind", json_string(kind));
    if (meta && strcmp(kind, "text"))
        json_object_set_new(o, kind, meta);
    else
        json_decref(meta);
    json_object_set_new(o, "burn", json_boolean(m->burn != STORE_BURN_NONE));
    if (m->burn != STORE_BURN_NONE) {
        /* nor its pictures: their number only (the open lists them) */
        size_t n = json_array_size(json_object_get(o, "attachments"));

        json_object_set_new(o, "text", json_null());
        json_object_set_new(o, "burn_destroyed", json_boolean(m->burn == STORE_BURN_DESTROYED));
        json_object_set_new(o, "attachments", json_array());
        json_object_set_new(o, "burn_images",
                            json_integer(m->burn == STORE_BURN_DESTROYED ? 0 : (json_int_t)n));
    }
}

json_t *chat_json_message(const store_message *m)
{
    json_t *fw = json_null(), *o;
    /* a recalled message shows nothing of its files either */
    json_t *att = m->attachments && !m->recalled ? json_loads(m->attachments, 0, NULL) : NULL;

    if (m->forward_of)
        fw =
            json_pack("{s:I,s:I,s:I,s:i}", "from_message_id", (json_int_t)m->forward_of,
                      "original_message_id", (json_int_t)m->forward_origin_id, "original_sender_id",
                      (json_int_t)m->forward_author_id, "depth", m->forward_depth);

    if (!json_is_array(att)) {
        json_decref(att);
        att = json_array();
    }
    o = json_pack("{s:I,s:I,s:I,s:s,s:o,s:I,s:b,s:b,s:o,s:o}", "id", (json_int_t)m->id,
                  "conversation_id", (json_int_t)m->conv_id, "sender_id", (json_int_t)m->sender_id,
                  "client_id", m->client_id ? m->client_id : "", "text",
                  m->recalled || !m->text || m->burn ? json_null()
                                                     : json_stringn_nocheck(m->text, m->text_len),
                  "created_at", (json_int_t)m->created_at, "masked", m->masked, "recalled",
                  m->recalled, "forward", fw, "attachments", att);
    /* Only on a contained message: members see why it is gone. */
    if (o && chat_json_contained_name(m->contained))
        json_object_set_new(o, "contained", json_string(chat_json_contained_name(m->contained)));
    if (o)
        message_extras(o, m);
    /* Stored canonical by the send that computed it; a row that does not
     * parse shows as a warning without findings rather than none. */
    if (o && m->inbound_warning && !m->recalled) {
        json_t *w = json_loads(m->inbound_warning, 0, NULL);

        if (json_object_set_new(o, "inbound_warning",
                                w ? w : json_pack("{s:s,s:[]}", "action", "warn", "findings"))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *chat_json_conv(const store_conv *c, const store_members *members, int my_role)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:b,s:b,s:I,s:I,s:I}", "id", (json_int_t)c->id, "kind",
                          store_conv_kind_name(c->kind), "title", c->title ? c->title : "",
                          "external", c->external, "shared_history", c->shared_history,
                          "created_at", (json_int_t)c->created_at, "created_by",
                          (json_int_t)c->created_by, "member_count", (json_int_t)c->member_count);

    if (!o)
        return NULL;
    if (my_role >= 0)
        json_object_set_new(o, "my_role", json_string(store_member_role_name(my_role)));
    if (members) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < members->n; i++)
            json_array_append_new(arr, json_pack("{s:I,s:s,s:I,s:I,s:b}", "user_id",
                                                 (json_int_t)members->items[i].user_id, "role",
                                                 store_member_role_name(members->items[i].role),
                                                 "delivered_id",
                                                 (json_int_t)members->items[i].delivered_id,
                                                 "read_id", (json_int_t)members->items[i].read_id,
                                                 "external", members->items[i].external));
        json_object_set_new(o, "members", arr ? arr : json_null());
    }
    return o;
}

json_t *chat_json_alert(const store_alert *a)
{
    json_t *findings = a->findings_json ? json_loads(a->findings_json, 0, NULL) : NULL, *o;
    bool resolved = a->status == STORE_ALERT_RESOLVED;

    o = json_pack("{s:I,s:I,s:s,s:s,s:o,s:s,s:I,s:o,s:o,s:o,s:o,s:s,"
                  "s:o,s:o,s:o,s:o,s:o,s:o}",
                  "id", (json_int_t)a->id, "created_at", (json_int_t)a->created_at, "kind",
                  a->kind            ? a->kind
                  : a->justification ? "override"
                                     : "guard",
                  "verdict", a->verdict ? a->verdict : "", "decided_by", str_or_null(a->rule),
                  "category", a->category ? a->category : "", "user_id", (json_int_t)a->user_id,
                  "conversation_id", id_or_null(a->conv_id), "message_id",
                  id_or_null(a->message_id), "findings", findings ? findings : json_array(),
                  "justification", str_or_null(a->justification), "status",
                  store_alert_status_name(a->status), "acked_by", id_or_null(a->acked_by),
                  "acked_at", id_or_null(a->acked_at), "ack_comment", str_or_null(a->ack_comment),
                  "resolved_by", id_or_null(a->resolved_by), "resolved_at",
                  id_or_null(a->resolved_at), "resolve_comment", str_or_null(a->resolve_comment));
    /* A report: who reported (alerts are for officers only), their note
     * and the content as it was reported. */
    if (o && a->kind && !strcmp(a->kind, "report")) {
        json_t *ev = a->evidence_json ? json_loads(a->evidence_json, 0, NULL) : NULL;

        json_object_set_new(o, "reporter_id", id_or_null(a->reporter_id));
        json_object_set_new(o, "note", str_or_null(a->note));
        json_object_set_new(o, "evidence", ev ? ev : json_object());
    }
    /* The summary fields: the latest handling of the alert. */
    if (o) {
        json_object_set_new(o, "comment",
                            str_or_null(resolved ? a->resolve_comment : a->ack_comment));
        json_object_set_new(o, "handled_by", id_or_null(resolved ? a->resolved_by : a->acked_by));
        json_object_set_new(o, "handled_at", id_or_null(resolved ? a->resolved_at : a->acked_at));
    }
    return o;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

json_t *chat_json_audit(const store_audit_entry *e)
{
    char ph[2 * STORE_AUDIT_HASH_LEN + 1], h[2 * STORE_AUDIT_HASH_LEN + 1];
    json_t *detail = e->detail ? json_loads(e->detail, 0, NULL) : NULL;

    hex(e->prev_hash, STORE_AUDIT_HASH_LEN, ph);
    hex(e->hash, STORE_AUDIT_HASH_LEN, h);
    return json_pack("{s:I,s:I,s:I,s:s,s:s,s:s,s:o,s:s,s:s}", "seq", (json_int_t)e->seq, "time",
                     (json_int_t)e->time, "actor_id", (json_int_t)e->actor_id, "actor",
                     e->actor ? e->actor : "", "event", e->event ? e->event : "", "target",
                     e->target ? e->target : "", "detail", detail ? detail : json_object(),
                     "prev_hash", ph, "hash", h);
}

static json_t *finding(const guard_finding *f)
{
    char masked[256];
    const char *ex = f->excerpt ? f->excerpt : "";

    if (f->category == GUARD_CAT_PII || f->category == GUARD_CAT_SECRET) {
        guard_mask_excerpt(ex, strlen(ex), masked, sizeof masked);
        ex = masked;
    }
    /* location: where in a file the finding is (a file pasted into the
     * message: "(base64 at byte 13)!word/document.xml"); null in the text */
    return json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:s%,s:s,s:s,s:o,s:b,s:o}", "rule",
                     f->rule ? f->rule : "", "category", guard_category_name(f->category),
                     "severity", guard_severity_name(f->severity), "confidence", f->confidence,
                     "start", (json_int_t)f->start, "end", (json_int_t)f->end, "excerpt", ex,
                     strlen(ex), "explanation", f->explanation ? f->explanation : "", "action",
                     guard_action_name(f->action), "policy_rule", str_or_null(f->policy_rule),
                     "evasion", f->evasion, "location", str_or_null(f->location));
}

json_t *chat_json_findings(const guard_result *r)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < r->n_findings; i++)
        if (json_array_append_new(arr, finding(&r->findings[i]))) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

/* Bytes of context either side of a finding in an alert: enough for an
 * officer to read the sentence, small enough to stay an excerpt. */
#define CTX_BYTES 48

static bool masked_category(guard_category c)
{
    return c == GUARD_CAT_PII || c == GUARD_CAT_SECRET;
}

/* text[a, b) with every byte of a personal-data or secret finding replaced
 * by '*' (finding spans are character boundaries, so the result stays valid
 * UTF-8 where the text was). */
static json_t *context(const guard_result *r, const char *text, size_t a, size_t b)
{
    char buf[4 * CTX_BYTES];
    size_t n = b - a;

    if (n > sizeof buf)
        n = sizeof buf;
    memcpy(buf, text + a, n);
    for (size_t i = 0; i < r->n_findings; i++) {
        const guard_finding *f = &r->findings[i];
        size_t lo, hi;

        if (!masked_category(f->category) || f->end <= a || f->start >= a + n)
            continue;
        lo = f->start > a ? (size_t)f->start - a : 0;
        hi = f->end < a + n ? (size_t)f->end - a : n;
        memset(buf + lo, '*', hi - lo);
    }
    return json_stringn(buf, n);
}

static bool utf8_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

json_t *chat_json_findings_ctx(const guard_result *r, const char *text, size_t len)
{
    json_t *arr = chat_json_findings(r);

    for (size_t i = 0; arr && i < r->n_findings; i++) {
        const guard_finding *f = &r->findings[i];
        json_t *o = json_array_get(arr, i);
        size_t s = f->start <= len ? (size_t)f->start : len,
               e = f->end <= len ? (size_t)f->end : len;
        size_t a = s > CTX_BYTES ? s - CTX_BYTES : 0, b = len - e > CTX_BYTES ? e + CTX_BYTES : len;

        if (f->location) /* a span inside an extracted part: no text here */
            continue;
        while (a < s && utf8_cont((unsigned char)text[a]))
            a++;
        while (b > e && b < len && utf8_cont((unsigned char)text[b]))
            b--;
        if (json_object_set_new(o, "context_before", context(r, text, a, s)) ||
            json_object_set_new(o, "context_after", context(r, text, e, b))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *chat_json_guard(const guard_result *r)
{
    return json_pack("{s:s,s:o,s:s,s:o}", "verdict", guard_action_name(r->verdict), "decided_by",
                     str_or_null(r->decided_by), "status", guard_status_name(r->status), "findings",
                     chat_json_findings(r));
}

json_t *chat_json_inbound_warning(const guard_result *r, bool *oom)
{
    json_t *arr, *w;

    *oom = false;
    if (r->verdict == GUARD_ALLOW)
        return NULL;
    arr = json_array();
    for (size_t i = 0; arr && i < r->n_findings; i++)
        if (r->findings[i].action != GUARD_ALLOW &&
            json_array_append_new(arr, finding(&r->findings[i]))) {
            json_decref(arr);
            arr = NULL;
        }
    w = arr ? json_pack("{s:s,s:o,s:o}", "action", guard_action_name(r->verdict), "decided_by",
                        str_or_null(r->decided_by), "findings", arr)
            : NULL;
    *oom = !w;
    return w;
}

const char *chat_guard_category(const guard_result *r)
{
    const guard_finding *best = NULL;

    for (size_t i = 0; i < r->n_findings; i++) {
        const guard_finding *f = &r->findings[i];

        if (r->decided_by && f->policy_rule && !strcmp(f->policy_rule, r->decided_by))
            return guard_category_name(f->category);
        if (!best || f->action > best->action)
            best = f;
    }
    return best ? guard_category_name(best->category) : "none";
}
