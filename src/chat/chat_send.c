/*
 * chat_send.c — the life of one message, top to bottom.
 *
 *   plan (worker)      check the input → authorise (the sender is a
 *                      member; membership, scope and recipients come from
 *                      one cached snapshot, chat_cache.h) → inspect (the
 *                      guard, with the conversation's scope: external when
 *                      any member is) → decide:
 *                        allow    store and deliver
 *                        warn     store and deliver; the sender sees the
 *                                 findings; an officer alert
 *                        mask     store and deliver the guard's masked copy;
 *                                 an alert
 *                        confirm  without a justification: nothing stored;
 *                                 409 with the findings; an alert. With
 *                                 one: stored, audited guard.override,
 *                                 alerted
 *                        block    nothing stored; 403 naming the rule; an
 *                                 alert
 *                      → inbound: when the sender is external and the
 *                      conversation has internal members, the guard rules
 *                      again with the inbound scope, for the recipients
 *                      (docs/POLICY.md, "The inbound scope in chat"): warn
 *                      or confirm attach an inbound warning to the message
 *                      (internal members see it; the sender's
 *                      justification does not lift it); block quarantines
 *                      (nothing stored; 403; an alert)
 *   commit (writer)    one transaction per batch: each message with its
 *                      alert and audit row (store_message_append_batch,
 *                      which re-checks membership and scope inside the
 *                      transaction); for a blocked or held message, its
 *                      alert and audit row alone.
 *   publish (writer)   after the commit: alert.new to the staff;
 *                      message.new to the members (chat_event.h; with an
 *                      inbound warning, internal members get it and
 *                      external ones the message without); the sender's
 *                      outcome.
 *
 * Blocked and held text is never stored, so no later path (history, the
 * conversation list, a recall or edit event) can leak it. The audit keeps
 * the decision, never the text nor the justification (the sender's words
 * about it): the log is append-only, so what it holds would outlive a
 * recall. The alert holds the justification.
 *
 * Forwarding (at the end) is a send of the text as the forwarder sees it
 * to each target conversation, each through the same three stages.
 */
#include "chat_send.h"
#include "chat_burn.h"

#include "cordon/guard_file.h"

#include "chat_cache.h"
#include "chat_event.h"
#include "chat_inspected.h"
#include "chat_json.h"
#include "chat_view.h"
#include "chat_warn.h"
#include "store/store_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_RETRIES        20
#define MAX_CLIENT_ID       64
#define MAX_FORWARD_TARGETS 50

typedef struct chat_send {
    chat_commit base; /* first */
    const chat *chat;
    int64_t sender_id;
    char *login;
    int64_t conv_id;
    /* ---- plan: what to write ---- */
    bool has_message; /* false: blocked or held, only the alert is written */
    store_message_new m;
    char *client_id, *text, *justification; /* owned copies behind m's pointers */
    char *kind, *meta;                      /* the same (schema version 7) */
    char *inbound_warning;                  /* owned, behind m.inbound_warning */
    chat_conv_snap *conv;                   /* members and scope the send was checked against */
    bool has_alert;
    char *alert_category, *alert_rule, *alert_verdict, *findings_json;
    char files_category[24]; /* set when a file's verdict is the message's */
    char audit_event[32];
    char *audit_detail; /* with a message; a lone alert's is built in commit (it names the alert) */
    store_alert_new alert_new;
    store_audit_new audit_new;
    /* attachments: file ids to link after the append, and their JSON */
    char **att_ids;
    size_t n_att;
    char *att_json;
    /* ---- commit: what happened ---- */
    int rc;
    bool duplicate;
    int64_t alert_id;
    store_message out;
} chat_send;

static const chat_commit_kind send_kind;

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static void send_free(chat_commit *c)
{
    chat_send *s = (chat_send *)c;

    if (!s)
        return;
    free(s->login);
    free(s->client_id);
    free(s->text);
    free(s->justification);
    free(s->kind);
    free(s->meta);
    free(s->inbound_warning);
    chat_conv_snap_unref(s->conv);
    free(s->alert_category);
    free(s->alert_rule);
    free(s->alert_verdict);
    free(s->findings_json);
    free(s->audit_detail);
    for (size_t i = 0; i < s->n_att; i++)
        free(s->att_ids[i]);
    free(s->att_ids);
    free(s->att_json);
    store_message_clear(&s->out);
    chat_outcome_clear(&s->base.outcome);
    free(s);
}

static chat_send *send_new(const chat_env *e, const chat_caller *who, int64_t conv_id)
{
    chat_send *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->base.kind = &send_kind;
    s->chat = e->chat;
    s->sender_id = who->id;
    s->conv_id = conv_id;
    s->login = strdup(who->login ? who->login : "");
    if (!s->login) {
        free(s);
        return NULL;
    }
    return s;
}

/* ==== 1. plan, on a worker ================================================ */

/* check: the input alone. Returns 0, or -1 with o the answer. */
static int plan_check(const chat_env *e, const chat_send_in *in, chat_outcome *o)
{
    const chat_limits *lim = &e->chat->lim;

    if (!in->client_id || !*in->client_id || strlen(in->client_id) > MAX_CLIENT_ID)
        chat_fail(o, 400, "bad_request", "client_id must be 1..%d bytes", MAX_CLIENT_ID);
    else if (!in->len && !in->n_attachments && (!in->kind || !strcmp(in->kind, "text")))
        chat_fail(o, 422, "invalid", "the message is empty");
    else if (in->burn && (in->forward_of || (in->kind && strcmp(in->kind, "text"))))
        chat_fail(o, 422, "invalid", "only text or pictures can burn after reading");
    else if (in->burn && in->n_attachments > CHAT_BURN_MAX_IMAGES) {
        chat_fail(o, 422, "burn_too_many", "a burn-after-reading message has at most %d pictures",
                  CHAT_BURN_MAX_IMAGES);
        o->extra = json_pack("{s:{s:i}}", "error", "max", CHAT_BURN_MAX_IMAGES);
    } else if (in->n_attachments > CHAT_MAX_ATTACHMENTS) {
        chat_fail(o, 422, "too_many_attachments", "a message has at most %d files",
                  CHAT_MAX_ATTACHMENTS);
        o->extra = json_pack("{s:{s:i}}", "error", "max", CHAT_MAX_ATTACHMENTS);
    } else if (in->len > lim->max_message_bytes) {
        chat_fail(o, 422, "message_too_large", "a message has at most %zu bytes",
                  lim->max_message_bytes);
        /* the client words the limit in characters the user can count */
        o->extra = json_pack("{s:{s:I}}", "error", "max", (json_int_t)lim->max_message_bytes);
    } else if (in->justification && strlen(in->justification) > lim->max_justification)
        chat_fail(o, 422, "invalid", "a justification has at most %zu bytes",
                  lim->max_justification);
    else
        return 0;
    return -1;
}

/* authorise: the sender is a member. The snapshot also gives the scope and
 * the recipients; the store re-checks membership in the commit. */
static int plan_authorise(const chat_env *e, const chat_caller *who, int64_t conv_id,
                          chat_conv_snap **conv, chat_outcome *o)
{
    int rc = chat_cache_get(e->chat->cache, e->st, conv_id, conv);

    if (rc == STORE_NOTFOUND || (!rc && !chat_conv_snap_has(*conv, who->id))) {
        chat_fail(o, 404, "not_found", "no such conversation");
        return -1;
    }
    if (rc) {
        chat_fail_store(e, o, rc, "send: conversation");
        return -1;
    }
    return 0;
}

/* inspect: the guard rules with the conversation's scope, on the text and
 * on every file pasted into it as base64 or a data: URL (the file guard's
 * worker reads those: FILES.md, "Files pasted into a message"). Fails
 * closed: what could not be inspected is not delivered. */
static int plan_inspect(const chat_env *e, const chat_send_in *in, bool external,
                        guard_result **res, chat_outcome *o)
{
    guard_ruleset *rs = guard_engine_acquire(e->chat->engine);
    guard_error gerr;
    uint64_t t0 = base_now_ns();
    int rc = guard_file_scan_message(e->scanner, rs, in->text, in->len,
                                     external ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL, NULL,
                                     res, &gerr);

    guard_ruleset_unref(rs);
    if (rc == GUARD_OK && e->chat->stats) {
        base_hist_observe(&e->chat->stats->scan, base_now_ns() - t0);
        atomic_fetch_add_explicit(&e->chat->stats->verdicts[(*res)->verdict], 1,
                                  memory_order_relaxed);
    }
    if (rc == GUARD_OK)
        return 0;
    chat_log(e->chat, CHAT_LOG_ERROR, "guard", "scan failed: %s", gerr.message);
    chat_fail(o, 503, "unavailable", "the message could not be inspected; retry");
    return -1;
}

/* A file's stored findings (JSON, as srv_inspect.c wrote them) as guard
 * findings whose strings point into the JSON, which must outlive them.
 * fs has room for json_array_size(arr); returns how many were filled (a
 * category this binary does not know is left out: the verdict it had
 * stands). */
static size_t findings_of_json(const json_t *arr, guard_finding *fs)
{
    const json_t *x;
    size_t i, k = 0;

    json_array_foreach(arr, i, x)
    {
        const char *cat = json_string_value(json_object_get(x, "category"));
        const char *sev = json_string_value(json_object_get(x, "severity"));
        guard_finding *f = &fs[k];

        memset(f, 0, sizeof *f);
        f->category = GUARD_CAT_COUNT;
        for (int c = 0; cat && c < GUARD_CAT_COUNT; c++)
            if (!strcmp(cat, guard_category_name((guard_category)c)))
                f->category = (guard_category)c;
        f->severity = GUARD_SEV_HIGH; /* unknown: counted high, never dropped */
        for (int v = 0; sev && v < GUARD_SEV_COUNT; v++)
            if (!strcmp(sev, guard_severity_name((guard_severity)v)))
                f->severity = (guard_severity)v;
        if (f->category == GUARD_CAT_COUNT)
            continue;
        f->rule = json_string_value(json_object_get(x, "rule"));
        if (!f->rule)
            f->rule = "unknown";
        f->confidence = (int)json_integer_value(json_object_get(x, "confidence"));
        f->explanation = json_string_value(json_object_get(x, "explanation"));
        f->excerpt = json_string_value(json_object_get(x, "excerpt"));
        f->location = json_string_value(json_object_get(x, "location"));
        f->evasion = json_is_true(json_object_get(x, "evasion"));
        k++;
    }
    return k;
}

/* The attachments' findings (as stored when each file was inspected, with
 * the conversation's scope) judged again by the policy's inbound rules: a
 * QR code, a program or a macro document an outside sender attaches warns
 * the recipients like a link in the text (POLICY.md, "The inbound scope in
 * chat"). The files are not read again: their findings are. */
static int inbound_files(guard_ruleset *rs, const json_t *file_findings, guard_result *res,
                         guard_error *gerr)
{
    size_t n = json_array_size(file_findings), k;
    guard_finding *fs = calloc(n ? n : 1, sizeof *fs);
    int rc;

    if (!fs)
        return GUARD_ENOMEM;
    k = findings_of_json(file_findings, fs);
    rc = k ? guard_result_add_many(res, rs, fs, k, NULL, GUARD_SCOPE_INBOUND, gerr) : GUARD_OK;
    free(fs);
    return rc;
}

/* inspect for the recipients: an external sender's text (and the files
 * pasted into it) with the inbound scope, when internal members will read
 * it. *res stays NULL when the rule does not apply. The attachments'
 * findings join the same result (inbound_files), so a QR code or an
 * executable warns the same way. Fails closed like plan_inspect. */
static int plan_inbound(const chat_env *e, const chat_caller *who, const chat_send_in *in,
                        const chat_conv_snap *conv, const json_t *file_findings, guard_result **res,
                        chat_outcome *o)
{
    guard_ruleset *rs;
    guard_error gerr;
    int rc;

    *res = NULL;
    if (!chat_conv_snap_is_external(conv, who->id) || !conv->n_internal)
        return 0;
    rs = guard_engine_acquire(e->chat->engine);
    rc = guard_file_scan_message(e->scanner, rs, in->text ? in->text : "", in->len,
                                 GUARD_SCOPE_INBOUND, NULL, res, &gerr);
    if (rc == GUARD_OK && json_array_size(file_findings))
        rc = inbound_files(rs, file_findings, *res, &gerr);
    guard_ruleset_unref(rs);
    if (rc == GUARD_OK)
        return 0;
    chat_log(e->chat, CHAT_LOG_ERROR, "guard", "inbound scan failed: %s", gerr.message);
    chat_fail(o, 503, "unavailable", "the message could not be inspected; retry");
    return -1;
}

/* ---- attachments ---- */

static guard_action action_parse(const char *v)
{
    for (int a = GUARD_ALLOW; a < GUARD_ACTION_COUNT; a++)
        if (v && !strcmp(v, guard_action_name((guard_action)a)))
            return (guard_action)a;
    return GUARD_BLOCK; /* unknown: fail closed */
}

typedef struct chat_att {
    guard_action verdict; /* the strongest of the files' */
    char rule[128];       /* the rule behind it */
    char category[24];    /* the category of the finding behind it (the alert's) */
    json_t *findings;     /* every file's findings, located "name!where" */
    json_t *list;         /* the message's attachments (API JSON) */
    char **ids;
    size_t n;
    json_t *blocked; /* the first blocked file {id, name}, or NULL */
} chat_att;

static void att_clear(chat_att *a)
{
    json_decref(a->findings);
    json_decref(a->list);
    json_decref(a->blocked);
    for (size_t i = 0; i < a->n; i++)
        free(a->ids[i]);
    free(a->ids);
    memset(a, 0, sizeof *a);
}

/* The finding that decided a file's verdict, among its stored or re-judged
 * findings (arr): the one the policy rule named (rule, when re-judged),
 * else the first with the strongest action. Its policy rule becomes the
 * message's decided_by (*rule_out, as a text finding's would: the
 * console words policy rules) and its category the alert's (*cat_out: a
 * file alert says "marking" like a text alert, never "none"). A verdict
 * without any finding can only come from an inspection that did not run:
 * "uninspectable". */
static void att_decisive(const json_t *arr, const char *rule, char *rule_out, size_t rule_len,
                         char *cat_out, size_t cat_len)
{
    const json_t *best = NULL, *x;
    guard_action best_a = GUARD_ALLOW;
    const char *cat, *pr;
    size_t i;

    json_array_foreach(arr, i, x)
    {
        guard_action act = action_parse(json_string_value(json_object_get(x, "action")));

        pr = json_string_value(json_object_get(x, "policy_rule"));
        if (rule && *rule && pr && !strcmp(pr, rule)) {
            best = x;
            break;
        }
        if (!best || act > best_a) {
            best = x;
            best_a = act;
        }
    }
    cat = json_string_value(json_object_get(best, "category"));
    pr = json_string_value(json_object_get(best, "policy_rule"));
    if (!pr || !*pr)
        pr = json_string_value(json_object_get(best, "rule"));
    snprintf(cat_out, cat_len, "%s", cat ? cat : guard_category_name(GUARD_CAT_UNINSPECTABLE));
    snprintf(rule_out, rule_len, "%s", rule && *rule ? rule : pr && *pr ? pr : "attachment");
}

/* One file's findings (arr, taken) for the sender and the officers: the
 * file named in each location, the file's name, type and size beside. */
static void att_findings(chat_att *a, const store_file *f, json_t *arr)
{
    json_t *x;
    size_t i;

    json_array_foreach(arr, i, x)
    {
        const char *loc = json_string_value(json_object_get(x, "location"));
        size_t nl = strlen(f->name);
        char *where = NULL;

        /* the inspection located its findings from the file's name already
         * ("plan.docx!word/document.xml"); re-judged or older ones may not */
        if (loc && !strncmp(loc, f->name, nl) && (!loc[nl] || loc[nl] == '!'))
            where = NULL;
        else if (asprintf(&where, "%s%s%s", f->name, loc && *loc ? "!" : "", loc ? loc : "") < 0)
            where = NULL;
        if (where)
            json_object_set_new(x, "location", json_string(where));
        free(where);
        json_object_set_new(x, "file",
                            json_pack("{s:s,s:s,s:s,s:I}", "id", f->id, "name", f->name, "mime",
                                      f->mime, "size", (json_int_t)f->size));
        json_array_append(a->findings, x);
    }
    json_decref(arr);
}

/* A file's stored findings judged again for an external conversation's
 * readers. Detection does not depend on the scope — only the policy's
 * decision does (guard_policy_apply) — so the findings made once, when the
 * upload was inspected, are ruled on again with the external scope rather
 * than the bytes read again (as inbound_files does for the inbound scope).
 * A file inspected for internal readers and forwarded outside thus gets
 * the external verdict at once, and never a weaker one than it had:
 * *verdict is the stronger of the stored and the re-judged one. *findings
 * (new) carry the external scope's actions; *rule the policy rule behind
 * the re-judged verdict. Fails closed (block) when the policy cannot be
 * applied. */
static int rejudge_external(const chat_env *e, const store_file *f, guard_action stored,
                            guard_action *verdict, json_t **findings, char *rule, size_t rule_len)
{
    json_t *arr = f->findings ? json_loads(f->findings, 0, NULL) : json_array();
    size_t n = json_array_size(arr), k;
    guard_finding *fs = calloc(n ? n : 1, sizeof *fs);
    guard_ruleset *rs = guard_engine_acquire(e->chat->engine);
    guard_result *r = NULL;
    guard_error gerr = {0};
    int rc = -1;

    *verdict = GUARD_BLOCK;
    *findings = NULL;
    if (!arr || !fs || !rs)
        goto fail;
    k = findings_of_json(arr, fs);
    if (guard_scan(e->scanner, rs, "", 0, GUARD_SCOPE_EXTERNAL, &r, &gerr) ||
        (k && guard_result_add_many(r, rs, fs, k, NULL, GUARD_SCOPE_EXTERNAL, &gerr)))
        goto fail;
    *findings = chat_json_findings(r);
    if (!*findings)
        goto fail;
    *verdict = r->verdict > stored ? r->verdict : stored;
    if (r->verdict >= stored && r->decided_by)
        snprintf(rule, rule_len, "%s", r->decided_by);
    rc = 0;
fail:
    if (rc)
        chat_log(e->chat, CHAT_LOG_ERROR, "guard", "file %s: re-judging for outsiders failed: %s",
                 f->id, gerr.message[0] ? gerr.message : "out of memory");
    guard_result_free(r);
    if (rs)
        guard_ruleset_unref(rs);
    free(fs);
    json_decref(arr);
    return rc;
}

/* authorise + inspect for the files: each must be one the sender may see
 * (their own upload, or one delivered to them: a forward), inspected for
 * this conversation's readers, and not blocked. Their verdicts were made
 * when the upload finished (srv_inspect.c) and are reused here: the
 * strongest of them joins the text's. */
static int plan_attachments(const chat_env *e, const chat_caller *who, const chat_send_in *in,
                            const chat_conv_snap *conv, chat_att *a, chat_outcome *o)
{
    a->findings = json_array();
    a->list = json_array();
    a->ids = calloc(in->n_attachments ? in->n_attachments : 1, sizeof *a->ids);
    a->verdict = GUARD_ALLOW;
    if (!a->findings || !a->list || !a->ids) {
        chat_fail(o, 500, "internal", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < in->n_attachments; i++) {
        const char *id = in->attachments[i];
        store_file f = {0};
        guard_action v;
        json_t *arr = NULL;
        char rule[128];
        int rc = id && strlen(id) <= STORE_FILE_ID_MAX ? store_file_visible(e->st, id, who->id, &f)
                                                       : STORE_NOTFOUND;

        if (rc == STORE_NOTFOUND) {
            chat_fail(o, 404, "attachment_not_found", "no such file");
            o->extra = json_pack("{s:{s:s}}", "error", "id", id ? id : "");
            return -1;
        }
        if (rc) {
            chat_fail_store(e, o, rc, "send: attachment");
            return -1;
        }
        for (size_t k = 0; k < a->n; k++)
            if (!strcmp(a->ids[k], f.id))
                rc = -1;
        if (rc) { /* the same file twice */
            store_file_clear(&f);
            continue;
        }
        if (in->burn && !f.image) {
            /* burn-after-reading carries pictures only (issue 16) */
            chat_fail(o, 422, "burn_not_image", "only pictures can burn after reading");
            o->extra = json_pack("{s:{s:s,s:s}}", "error", "id", f.id, "name", f.name);
            store_file_clear(&f);
            return -1;
        }
        v = f.state == STORE_UP_BLOCKED ? GUARD_BLOCK : action_parse(f.verdict);
        rule[0] = 0;
        if (conv->external) {
            /* Outsiders read it: the external scope's judgement, whatever
             * scope the file was inspected with (a forward from an
             * internal conversation, or its own conversation that has
             * gained an external member since). */
            if (rejudge_external(e, &f, v, &v, &arr, rule, sizeof rule)) {
                chat_fail(o, 503, "unavailable", "the file could not be judged; retry");
                store_file_clear(&f);
                return -1;
            }
        } else {
            arr = f.findings ? json_loads(f.findings, 0, NULL) : NULL;
        }
        if (v == GUARD_MASK && !(f.image && chat_file_mask_met(arr, f.name)))
            v = GUARD_CONFIRM; /* a file that cannot be masked is held (POLICY.md) */
        if (v > a->verdict) {
            a->verdict = v;
            att_decisive(arr, rule, a->rule, sizeof a->rule, a->category, sizeof a->category);
        }
        att_findings(a, &f, arr);
        if (v == GUARD_BLOCK && !a->blocked)
            /* refused like blocked text (its alert and audit row), then
             * named as the file's refusal (chat_send_plan) */
            a->blocked = json_pack("{s:s,s:s}", "id", f.id, "name", f.name);
        json_array_append_new(a->list, json_pack("{s:s,s:s,s:I,s:s,s:s,s:b,s:b}", "id", f.id,
                                                 "name", f.name, "size", (json_int_t)f.size, "mime",
                                                 f.mime, "kind", f.image ? "image" : "file",
                                                 "thumbnail", f.thumb_hash != NULL,
                                                 "location_removed", f.location_removed));
        if (f.image && f.width)
            json_object_set_new(json_array_get(a->list, json_array_size(a->list) - 1), "width",
                                json_integer(f.width));
        if (f.image && f.height)
            json_object_set_new(json_array_get(a->list, json_array_size(a->list) - 1), "height",
                                json_integer(f.height));
        a->ids[a->n++] = f.id;
        f.id = NULL;
        store_file_clear(&f);
    }
    return 0;
}

/* The ids of a forwarded message's files (its attachments JSON). */
static int forward_attachments(const store_message *src, const char ***ids, size_t *n)
{
    json_t *arr = src->attachments ? json_loads(src->attachments, 0, NULL) : NULL;
    size_t k = json_array_size(arr);

    *ids = NULL;
    *n = 0;
    if (!k) {
        json_decref(arr);
        return 0;
    }
    *ids = calloc(k, sizeof **ids);
    if (!*ids) {
        json_decref(arr);
        return -1;
    }
    for (size_t i = 0; i < k; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(arr, i), "id"));

        (*ids)[i] = id ? strdup(id) : NULL;
        if (!(*ids)[i])
            break;
        *n = i + 1;
    }
    json_decref(arr);
    return *n == k ? 0 : -1;
}

/* The alert (and its audit row) that goes with a verdict other than
 * allow. findings is stolen. */
static int decide_alert(chat_send *s, const guard_result *res, const char *category,
                        const char *event, char *findings)
{
    const char *verdict = guard_action_name(res->verdict);

    s->has_alert = true;
    s->findings_json = findings;
    s->alert_verdict = strdup(verdict);
    s->alert_rule = res->decided_by ? strdup(res->decided_by) : NULL;
    s->alert_category = strdup(category);
    if (event)
        snprintf(s->audit_event, sizeof s->audit_event, "%s", event);
    else
        snprintf(s->audit_event, sizeof s->audit_event, "guard.%s",
                 s->justification ? "override" : verdict);
    if (!s->alert_verdict || (res->decided_by && !s->alert_rule) || !s->alert_category)
        return -1;
    s->alert_new = (store_alert_new){.user_id = s->sender_id,
                                     .conv_id = s->conv_id,
                                     .category = s->alert_category,
                                     .verdict = s->alert_verdict,
                                     .rule = s->alert_rule,
                                     .findings_json = findings ? findings : "[]",
                                     .justification = s->justification};
    s->audit_new =
        (store_audit_new){.actor_id = s->sender_id, .actor = s->login, .event = s->audit_event};
    return 0;
}

/* The alert's category: the file's finding's when a file decided the
 * verdict (its findings are not in res, which holds the text's), else the
 * text's strongest finding's. */
static const char *alert_category(const chat_send *s, const guard_result *res)
{
    return s->files_category[0] ? s->files_category : chat_guard_category(res);
}

/* The audit detail of an alert: the decision, never the text. */
static char *audit_detail(const chat_send *s, int64_t alert_id)
{
    json_t *d = json_pack("{s:s,s:o,s:s,s:I,s:b}", "verdict", s->alert_verdict, "rule",
                          s->alert_rule ? json_string(s->alert_rule) : json_null(), "category",
                          s->alert_category, "conversation", (json_int_t)s->conv_id, "justified",
                          s->justification != NULL);
    char *text;

    if (d && alert_id)
        json_object_set_new(d, "alert", json_integer(alert_id));
    text = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(d);
    return text;
}

/* decide, refused: blocked, or held for a justification. Only the alert
 * and its audit row will be written. */
static int decide_refuse(chat_send *s, const guard_result *res, json_t *guard, char *findings)
{
    bool block = res->verdict == GUARD_BLOCK;

    s->base.outcome.extra = json_pack("{s:o}", "guard", guard);
    if (block && res->decided_by)
        chat_fail(&s->base.outcome, 403, "guard_blocked",
                  "blocked by the confidentiality policy (rule %s)", res->decided_by);
    else if (block)
        chat_fail(&s->base.outcome, 403, "guard_blocked", "blocked by the confidentiality policy");
    else
        chat_fail(&s->base.outcome, 409, "guard_confirm",
                  "can this content be sent? Resend with a justification");
    return s->base.outcome.extra ? decide_alert(s, res, alert_category(s, res), NULL, findings)
                                 : -1;
}

/* decide, delivered: the message to store (the masked copy for mask), with
 * its alert and audit row for anything but allow, all in its transaction. */
static int decide_deliver(chat_send *s, const chat_send_in *in, const guard_result *res,
                          json_t *guard, char *findings, const guard_result *inbound)
{
    json_t *warning = NULL;
    bool oom = false;

    const char *text = in->text;
    size_t len = in->len;

    s->has_message = true;
    s->base.outcome.extra = json_pack("{s:o}", "guard", guard);
    if (res->verdict == GUARD_MASK && res->masked) {
        text = res->masked;
        len = res->masked_len;
        s->m.masked = true;
    }
    s->text = dupn(text, len);
    s->client_id = strdup(in->client_id);
    if (res->verdict == GUARD_CONFIRM)
        s->justification = strdup(in->justification);
    /* Whatever the sender justified: the recipients are warned. A forward
     * of a warned message keeps the warning when nothing new was found. */
    if (inbound)
        warning = chat_json_inbound_warning(inbound, &oom);
    if (warning) {
        s->inbound_warning = json_dumps(warning, JSON_COMPACT | JSON_SORT_KEYS);
        oom = !s->inbound_warning;
        json_decref(warning);
    } else if (in->inbound_warning && s->conv->n_internal) {
        s->inbound_warning = strdup(in->inbound_warning);
        oom = oom || !s->inbound_warning;
    }
    if (oom || !s->base.outcome.extra || !s->text || !s->client_id ||
        (res->verdict == GUARD_CONFIRM && !s->justification)) {
        free(findings);
        return -1;
    }
    s->m.inbound_warning = s->inbound_warning;
    s->m.conv_id = s->conv_id;
    s->m.sender_id = s->sender_id;
    s->m.client_id = s->client_id;
    s->m.text = s->text;
    s->m.text_len = len;
    s->m.verdict = guard_action_name(res->verdict);
    s->m.justification = s->justification;
    s->m.forward_of = in->forward_of;
    if ((in->kind && !(s->m.kind = s->kind = strdup(in->kind))) ||
        (in->meta && !(s->m.meta = s->meta = strdup(in->meta)))) {
        free(findings);
        return -1;
    }
    /* Burn: destroyed unopened after the configured time (set again at
     * the commit, from its clock); reminders move on in the same
     * transaction as their card (never delivered twice). */
    s->m.burn = in->burn;
    s->m.reminder_id = in->reminder_id;
    s->m.reminder_next_at = in->reminder_next_at;
    /* The store refuses the append if the conversation turned external
     * after this inspection (publish answers 409 conversation_changed). */
    s->m.inspected_internal = !s->conv->external;
    /* Recorded with the message: an external reader needs no second look
     * (chat_view.h). */
    s->m.inspected_external = s->conv->external;
    if (res->verdict == GUARD_ALLOW) {
        free(findings);
        if (in->audit_event) {
            snprintf(s->audit_event, sizeof s->audit_event, "%s", in->audit_event);
            s->audit_detail = strdup(in->audit_detail ? in->audit_detail : "{}");
            if (!s->audit_detail)
                return -1;
            s->audit_new = (store_audit_new){.actor_id = s->sender_id,
                                             .actor = s->login,
                                             .event = s->audit_event,
                                             .detail = s->audit_detail};
            s->m.audit = &s->audit_new;
        }
        return 0;
    }
    if (decide_alert(s, res, alert_category(s, res), NULL, findings))
        return -1;
    /* The store sets the audit target ("message:ID") and the alert's
     * message, conversation and user. */
    s->audit_detail = audit_detail(s, 0);
    if (!s->audit_detail)
        return -1;
    s->audit_new.detail = s->audit_detail;
    s->m.alert = &s->alert_new;
    s->m.audit = &s->audit_new;
    s->m.alert_id_out = &s->alert_id;
    return 0;
}

static int forward_source(const chat_env *e, const chat_caller *who, int64_t id, store_message *src,
                          chat_outcome *o);

/* The input as it is judged: a forward takes the text as the caller sees it
 * in the source, and its files, judged again for the target's readers;
 * files alone get an empty text. `*in` then points at `fwd`; `src` and
 * `fwd_ids` belong to the caller (freed by it in every case). */
static int plan_input(const chat_env *e, const chat_caller *who, const chat_send_in **in,
                      chat_send_in *fwd, store_message *src, const char ***fwd_ids, chat_outcome *o)
{
    if ((*in)->forward_of && !(*in)->text) {
        if (forward_source(e, who, (*in)->forward_of, src, o))
            return -1;
        fwd->text = src->text ? src->text : "";
        fwd->len = src->text ? src->text_len : 0;
        fwd->inbound_warning = src->inbound_warning;
        if (forward_attachments(src, fwd_ids, &fwd->n_attachments)) {
            chat_fail(o, 500, "internal", "out of memory");
            return -1;
        }
        fwd->attachments = *fwd_ids;
        *in = fwd;
    }
    if (!(*in)->text && (*in)->n_attachments) {
        /* files alone */
        if (*in != fwd) {
            *fwd = **in;
            *in = fwd;
        }
        fwd->text = "";
        fwd->len = 0;
    }
    if (!(*in)->text) {
        chat_fail(o, 400, "bad_request", "text is required");
        return -1;
    }
    return 0;
}

int chat_send_plan(const chat_env *e, const chat_caller *who, const chat_send_in *in_,
                   chat_commit **out, chat_outcome *o)
{
    chat_send_in fwd = *in_;
    const chat_send_in *in = in_;
    store_message src = {0};
    chat_conv_snap *conv = NULL;
    chat_att att = {0};
    const char **fwd_ids = NULL;
    guard_result *res = NULL, *inbound = NULL;
    chat_send *s = NULL;
    json_t *guard = NULL;
    char *findings = NULL;
    int rc = -1;

    *out = NULL;
    if (plan_input(e, who, &in, &fwd, &src, &fwd_ids, o))
        goto fail;
    if (plan_check(e, in, o) || plan_authorise(e, who, in->conv_id, &conv, o) ||
        plan_attachments(e, who, in, conv, &att, o) ||
        plan_inspect(e, in, conv->external, &res, o) ||
        plan_inbound(e, who, in, conv, att.findings, &inbound, o))
        goto fail;
    if (att.verdict > res->verdict) {
        /* the message's verdict: the strongest of its text's and files' */
        res->verdict = att.verdict;
        res->decided_by = att.rule;
    }
    /* What the recipients' rules quarantine is refused as a block: the
     * sender's verdict gives way to it. */
    if (inbound && inbound->verdict == GUARD_BLOCK && res->verdict != GUARD_BLOCK) {
        guard_result *t = res;

        res = inbound;
        inbound = t;
    }
    guard = chat_json_guard(res);
    if (guard && json_array_size(att.findings))
        json_array_extend(json_object_get(guard, "findings"), att.findings);
    if (res->verdict != GUARD_ALLOW) {
        json_t *f = chat_json_findings_ctx(res, in->text, in->len);

        if (f)
            json_array_extend(f, att.findings);
        findings = f ? json_dumps(f, JSON_COMPACT) : NULL;
        json_decref(f);
    }
    s = send_new(e, who, in->conv_id);
    if (!s || !guard)
        goto nomem;
    s->conv = conv;
    conv = NULL;
    if (res->decided_by == att.rule) /* a file's verdict won (and no inbound block) */
        snprintf(s->files_category, sizeof s->files_category, "%s", att.category);
    if (att.n) {
        s->att_json = json_dumps(att.list, JSON_COMPACT);
        s->att_ids = att.ids;
        s->n_att = att.n;
        att.ids = NULL;
        att.n = 0;
        if (!s->att_json)
            goto nomem;
    }
    if (res->verdict == GUARD_BLOCK ||
        (res->verdict == GUARD_CONFIRM && (!in->justification || !*in->justification)))
        rc = decide_refuse(s, res, guard, findings);
    else
        rc = decide_deliver(s, in, res, guard, findings, inbound);
    guard = NULL;
    findings = NULL;
    if (rc)
        goto nomem;
    if (att.blocked && res->verdict == GUARD_BLOCK) {
        /* a blocked file: the sender is told which and where */
        chat_fail(&s->base.outcome, 403, "attachment_blocked",
                  "a file is blocked by the confidentiality policy (rule %s)", res->decided_by);
        json_object_set_new(att.blocked, "findings", json_incref(att.findings));
        json_object_set(s->base.outcome.extra, "error", att.blocked);
    }
    *out = &s->base;
    s = NULL;
    goto done;
nomem:
    chat_fail(o, 500, "internal", "out of memory");
    rc = -1;
fail:
done:
    send_free(s ? &s->base : NULL);
    json_decref(guard);
    free(findings);
    guard_result_free(res);
    guard_result_free(inbound);
    chat_conv_snap_unref(conv);
    store_message_clear(&src);
    att_clear(&att);
    for (size_t i = 0; fwd_ids && i < fwd.n_attachments; i++)
        free((char *)fwd_ids[i]);
    free(fwd_ids);
    return rc;
}

int chat_alert_plan(const chat_env *e, const chat_caller *who, int64_t conv_id,
                    const guard_result *res, const char *category, const char *event,
                    chat_commit **out)
{
    chat_send *s = send_new(e, who, conv_id);
    json_t *f = chat_json_findings(res);
    char *findings = f ? json_dumps(f, JSON_COMPACT) : NULL;

    json_decref(f);
    *out = NULL;
    if (!s || decide_alert(s, res, category, event, findings)) {
        send_free(s ? &s->base : NULL);
        return -1;
    }
    s->base.outcome.status = 200;
    *out = &s->base;
    return 0;
}

/* ==== 2. commit, on the writer ============================================= */

/* A lone alert (blocked, held, probing): its row, then its audit entry
 * naming it, in one transaction. */
static int commit_alert(chat_send *s, store *st)
{
    char target[48];
    int rc;

    if (s->conv_id)
        snprintf(target, sizeof target, "conversation:%lld", (long long)s->conv_id);
    else /* a pre-check without a conversation */
        snprintf(target, sizeof target, "user:%lld", (long long)s->sender_id);
    rc = store_tx_begin(st);
    if (!rc)
        rc = store_alert_create(st, &s->alert_new, &s->alert_id);
    if (!rc) {
        free(s->audit_detail);
        s->audit_detail = audit_detail(s, s->alert_id);
        s->audit_new.detail = s->audit_detail;
        s->audit_new.target = target;
        rc = s->audit_detail ? store_audit_append(st, &s->audit_new, NULL) : STORE_NOMEM;
        s->audit_new.target = NULL;
    }
    if (!rc)
        rc = store_tx_commit(st);
    if (rc) {
        store_tx_rollback(st);
        s->alert_id = 0;
    }
    return rc;
}

static void retry_pause(void)
{
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
}

/* The batch's appends with the riders (chat_commit.h) written inside the
 * same transaction: one sync for messages and delivered receipts. *carried
 * says whether the riders went in; a backend that appends only outside a
 * transaction (STORE_INVAL for the whole) gets the plain append. On any
 * failure nothing was stored and every rcs[i] says why. */
static int append_carrying(store *st, const store_message_new *m, size_t n, store_message *out,
                           int *rcs, bool *dup, chat_commit **riders, size_t nr, bool *carried)
{
    int rc = store_tx_begin(st);

    *carried = false;
    if (rc)
        return rc;
    rc = store_message_append_batch(st, m, n, out, rcs, dup);
    if (rc == STORE_INVAL) {
        store_tx_rollback(st);
        return store_message_append_batch(st, m, n, out, rcs, dup);
    }
    for (size_t i = 0; !rc && i < nr; i++)
        rc = riders[i]->kind->ride(&riders[i], 1, st);
    if (!rc)
        rc = store_tx_commit(st);
    else
        store_tx_rollback(st);
    if (!rc) {
        *carried = true;
        return STORE_OK;
    }
    for (size_t i = 0; i < n; i++) {
        rcs[i] = rc;
        store_message_clear(&out[i]);
        dup[i] = false;
    }
    return rc;
}

/* The messages of the batch: one transaction, one sync for the lot (and
 * for the riders, when there are any: *carried says they went in). */
static void commit_messages(chat_send **msgs, size_t n, store *st, chat_commit **riders, size_t nr,
                            bool *carried)
{
    store_message_new *m = calloc(n, sizeof *m);
    store_message *out = calloc(n, sizeof *out);
    int *rcs = calloc(n, sizeof *rcs);
    bool *dup = calloc(n, sizeof *dup);
    int rc = STORE_NOMEM;

    if (!m || !out || !rcs || !dup)
        goto done;
    for (size_t i = 0; i < n; i++) {
        chat_send *s = msgs[i];

        /* The commit's time for the message and what goes with it. */
        s->m.now = s->alert_new.now = s->audit_new.time = chat_now_ms();
        if (s->m.burn)
            s->m.burn_deadline = s->m.now + (int64_t)s->chat->lim.burn_unopened_seconds * 1000;
        m[i] = s->m;
        /* its files, linked in the same transaction */
        m[i].attachments = (const char *const *)s->att_ids;
        m[i].n_attachments = s->n_att;
    }
    for (int attempt = 0; attempt < BUSY_RETRIES; attempt++) {
        rc = nr ? append_carrying(st, m, n, out, rcs, dup, riders, nr, carried)
                : store_message_append_batch(st, m, n, out, rcs, dup);
        if (rc != STORE_BUSY)
            break;
        retry_pause();
    }
    if (rc != STORE_OK)
        chat_log(msgs[0]->chat, CHAT_LOG_ERROR, "writer", "batch of %zu failed: %s (%s)", n,
                 store_strerror(rc), store_errmsg(st));
done:
    for (size_t i = 0; i < n; i++) {
        chat_send *s = msgs[i];

        s->rc = rc != STORE_OK ? rc : rcs[i];
        if (s->rc == STORE_OK) {
            s->out = out[i]; /* moves the strings */
            s->duplicate = dup[i];
            if (!dup[i] && s->n_att && !s->out.attachments)
                s->out.attachments = strdup(s->att_json);
            if (!dup[i] && s->chat->stats)
                atomic_fetch_add_explicit(&s->chat->stats->stored, 1, memory_order_relaxed);
        } else if (out)
            store_message_clear(&out[i]);
    }
    free(m);
    free(out);
    free(rcs);
    free(dup);
}

/* commit and carry (chat_commit.h): lone alerts in their own
 * transactions, then every message of the group in one with the riders. */
static bool send_carry(chat_commit **items, size_t n, chat_commit **riders, size_t nr, store *st)
{
    chat_send **msgs = calloc(n, sizeof *msgs);
    bool carried = false;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        chat_send *s = (chat_send *)items[i];

        if (s->has_message && msgs) {
            msgs[k++] = s;
            continue;
        }
        if (s->has_message) { /* no memory for the batch: one at a time */
            commit_messages(&s, 1, st, NULL, 0, &carried);
            continue;
        }
        s->alert_new.now = s->audit_new.time = chat_now_ms();
        s->rc = STORE_BUSY;
        for (int attempt = 0; s->rc == STORE_BUSY && attempt < BUSY_RETRIES; attempt++) {
            if (attempt)
                retry_pause();
            s->rc = commit_alert(s, st);
        }
        if (s->rc)
            chat_log(s->chat, CHAT_LOG_ERROR, "guard", "alert: %s (%s)", store_strerror(s->rc),
                     store_errmsg(st));
    }
    if (k)
        commit_messages(msgs, k, st, riders, nr, &carried);
    free(msgs);
    return carried;
}

static void send_commit(chat_commit **items, size_t n, store *st)
{
    send_carry(items, n, NULL, 0, st);
}

/* ==== 3. publish, on the writer after the commit ============================ */

/* alert.new to the staff, built from what was written (no re-read). */
static void publish_alert(chat_send *s)
{
    store_alert al = {.id = s->alert_id,
                      .created_at = s->alert_new.now,
                      .user_id = s->sender_id,
                      .conv_id = s->conv_id,
                      .message_id = s->has_message ? s->out.id : 0,
                      .category = (char *)s->alert_new.category,
                      .verdict = (char *)s->alert_new.verdict,
                      .rule = (char *)s->alert_new.rule,
                      .findings_json = (char *)s->alert_new.findings_json,
                      .justification = (char *)s->alert_new.justification,
                      .status = STORE_ALERT_OPEN};
    chat_event ev = {.type = CHAT_EV_ALERT_NEW,
                     .audience = CHAT_TO_STAFF,
                     .conv_id = s->conv_id,
                     .msg_id = al.message_id,
                     .alert = &al};

    chat_log(s->chat, CHAT_LOG_INFO, "guard",
             "%s user=%lld conversation=%lld message=%lld rule=%s alert=%lld", s->audit_event,
             (long long)s->sender_id, (long long)s->conv_id, (long long)al.message_id,
             al.rule ? al.rule : "-", (long long)s->alert_id);
    chat_publish(s->chat->bus, &ev);
}

/* message.new to users[0..n). A message with an inbound warning goes in
 * two events: with the warning to the internal members, then without it
 * to the external ones (the sender among them). That order matters: the
 * transport answers the sender with the text serialised last on this
 * thread (srv_h_msg.c), and checks that it has no warning. */
static void publish_to(chat_send *s, const int64_t *users, size_t n, int64_t *scratch)
{
    store_message plain = s->out;
    chat_event ev = {.type = CHAT_EV_MESSAGE_NEW,
                     .audience = CHAT_TO_USERS,
                     .conv_id = s->out.conv_id,
                     .msg_id = s->out.id,
                     .sender_id = s->out.sender_id,
                     .message = &s->out,
                     .users = users,
                     .n_users = n};
    size_t k = 0;

    if (!s->out.inbound_warning) {
        chat_publish(s->chat->bus, &ev);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!chat_conv_snap_is_external(s->conv, users[i]))
            scratch[k++] = users[i];
    ev.users = scratch;
    ev.n_users = k;
    if (k)
        chat_publish(s->chat->bus, &ev);
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (chat_conv_snap_is_external(s->conv, users[i]))
            scratch[k++] = users[i];
    plain.inbound_warning = NULL;
    ev.message = &plain;
    ev.n_users = k;
    if (k)
        chat_publish(s->chat->bus, &ev);
}

/* message.new to the members: those of the snapshot the send was checked
 * against, unless a membership change may have overtaken it
 * (chat_cache.h); then those of a fresh read, made after the commit, that
 * were in the snapshot too: nobody removed before the commit gets the
 * message, and nobody who joined after the inspection (the message
 * predates them: chat_view.h). */
static void publish_message(chat_send *s, store *st)
{
    chat_conv_snap *fresh = NULL;
    int64_t *both = NULL, *scratch = NULL;
    size_t n = 0;
    int rc = STORE_OK;

    if (chat_cache_stale(s->chat->cache, s->conv))
        rc = chat_conv_snap_load(st, s->out.conv_id, &fresh);
    if (!rc && fresh) {
        both = calloc(fresh->n ? fresh->n : 1, sizeof *both);
        rc = both ? STORE_OK : STORE_NOMEM;
    }
    if (!rc) {
        scratch = calloc(s->conv->n ? s->conv->n : 1, sizeof *scratch);
        rc = scratch ? STORE_OK : STORE_NOMEM;
    }
    if (rc) {
        /* Committed but not published: members see it in history. */
        chat_log(s->chat, CHAT_LOG_WARN, "send",
                 "members of conversation %lld: %s; message %lld not pushed",
                 (long long)s->out.conv_id, store_strerror(rc), (long long)s->out.id);
        goto out;
    }
    if (!fresh) {
        publish_to(s, s->conv->members, s->conv->n, scratch);
        goto out;
    }
    for (size_t i = 0; i < fresh->n; i++)
        if (chat_conv_snap_has(s->conv, fresh->members[i]))
            both[n++] = fresh->members[i];
    publish_to(s, both, n, scratch);
out:
    free(both);
    free(scratch);
    chat_conv_snap_unref(fresh);
}

/* The sender's answer to a send that stored (or tried to store) a message. */
static void outcome_of_message(chat_send *s)
{
    chat_outcome *o = &s->base.outcome;

    if (s->rc == STORE_NOTFOUND)
        chat_fail(o, 404, "not_found", "no such conversation or message");
    else if (s->rc == STORE_CONFLICT)
        /* An external member joined while the text was being inspected for
         * an internal audience: nothing was stored; the client resends and
         * the guard rules again with the external scope. */
        chat_fail(o, 409, "conversation_changed",
                  "the conversation's members changed while the message was inspected; send it "
                  "again");
    else if (s->rc)
        chat_fail(o, s->rc == STORE_BUSY ? 503 : 500,
                  s->rc == STORE_BUSY ? "unavailable" : "internal",
                  "the message was not stored; retry");
    else {
        store_message mine = s->out;

        /* The sender is the external party the warning is about. */
        mine.inbound_warning = NULL;
        o->status = s->duplicate ? 200 : 201;
        o->code = NULL;
        json_object_set_new(o->extra, "message", chat_json_message(&mine));
    }
}

static void send_publish(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        chat_send *s = (chat_send *)items[i];

        if (s->has_message) {
            if (!s->rc && !s->duplicate) {
                if (s->has_alert && s->alert_id)
                    publish_alert(s);
                publish_message(s, st);
                /* early warning (chat_warn.h), after what it counts */
                if (s->out.forward_of)
                    chat_warn_after_forward(s->chat, st, &s->out);
                if (s->out.attachments)
                    chat_warn_after_files(s->chat, st, &s->out);
                if (s->has_alert && s->alert_id)
                    chat_warn_after_alert(s->chat, st, s->sender_id, s->conv_id, s->alert_new.now);
            }
            outcome_of_message(s);
        } else if (!s->rc && s->alert_id) {
            publish_alert(s);
            chat_warn_after_alert(s->chat, st, s->sender_id, s->conv_id, s->alert_new.now);
        }
        if (s->base.done)
            s->base.done(&s->base, s->base.arg);
        else
            send_free(&s->base);
    }
}

static const chat_commit_kind send_kind = {
    .name = "send",
    .commit = send_commit,
    .publish = send_publish,
    .free = send_free,
    .carry = send_carry,
};

const store_message *chat_send_message(const chat_commit *c)
{
    const chat_send *s = (const chat_send *)c;

    return s->has_message && !s->rc ? &s->out : NULL;
}

bool chat_send_delivers(const chat_commit *c)
{
    return ((const chat_send *)c)->has_message;
}

/* ==== forward: a send per target ============================================ */

typedef struct fwd_target {
    int64_t conv_id;
    chat_commit *commit; /* NULL: refused at plan, `early` says why */
    chat_outcome early;
} fwd_target;

struct chat_forward {
    size_t n, n_commits;
    chat_commit **commits;
    fwd_target t[];
};

/* The source: a message the caller may see (chat_view.h: not before they
 * joined unless the history is shared, not withheld from an external
 * member), not recalled — else 404, never telling which. What the caller
 * sees masked is forwarded masked. */
static int forward_source(const chat_env *e, const chat_caller *who, int64_t id, store_message *src,
                          chat_outcome *o)
{
    chat_viewer v;
    char *masked = NULL;
    size_t masked_len = 0;
    chat_see see;
    int rc = store_message_get(e->st, id, src);

    if (rc == STORE_OK && src->recalled)
        rc = STORE_NOTFOUND;
    if (rc == STORE_OK && src->burn != STORE_BURN_NONE) {
        /* Burn-after-reading is never forwarded nor quoted (its text is
         * not the forwarder's to pass on). */
        chat_fail(o, 422, "burn_forbidden", "a burn-after-reading message cannot be forwarded");
        return -1;
    }
    if (rc == STORE_OK)
        rc = chat_viewer_get(e->st, src->conv_id, who->id, &v, NULL);
    if (rc)
        goto fail;
    see = chat_view_decide(e, &v, src, &masked, &masked_len);
    if (see != CHAT_SEE_HIDDEN && see != CHAT_SEE_WITHHELD && v.external &&
        !src->inspected_external && src->sender_id != who->id && src->attachments &&
        strcmp(src->attachments, "[]")) {
        /* files judged for insiders only: not the outsider's to pass on
         * (chat_view_message shows them nothing of them either) */
        free(src->attachments);
        src->attachments = NULL;
        if (!src->text || !src->text[0])
            see = CHAT_SEE_WITHHELD;
    }
    if (see == CHAT_SEE_HIDDEN || see == CHAT_SEE_WITHHELD) {
        rc = STORE_NOTFOUND;
        goto fail;
    }
    if (see == CHAT_SEE_MASKED) {
        free(src->text);
        src->text = masked;
        src->text_len = masked_len;
    }
    return 0;
fail:
    if (rc == STORE_NOTFOUND)
        chat_fail(o, 404, "not_found", "no such message");
    else
        chat_fail_store(e, o, rc, "forward source");
    return -1;
}

int chat_forward_plan(const chat_env *e, const chat_caller *who, int64_t src_id,
                      const int64_t *targets, size_t n, const char *client_id, chat_forward **out,
                      chat_outcome *o)
{
    store_message src = {0};
    chat_forward *f = NULL;
    const char **att_ids = NULL;
    size_t n_att = 0;
    char cid[96];
    int rc = -1;

    *out = NULL;
    if (!n || n > MAX_FORWARD_TARGETS) {
        chat_fail(o, 400, "bad_request", "conversation_ids must list 1..%d conversations",
                  MAX_FORWARD_TARGETS);
        return -1;
    }
    if (forward_source(e, who, src_id, &src, o))
        goto out;
    f = calloc(1, sizeof *f + n * sizeof f->t[0]);
    if (f)
        f->commits = calloc(n, sizeof *f->commits);
    if (!f || !f->commits) {
        chat_fail(o, 500, "internal", "out of memory");
        goto out;
    }
    f->n = n;
    /* the source's files go along, judged for each target (plan_attachments) */
    if (forward_attachments(&src, &att_ids, &n_att)) {
        chat_fail(o, 500, "internal", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        chat_send_in in = {.conv_id = targets[i],
                           .client_id = cid,
                           .text = src.text,
                           .len = src.text_len,
                           .forward_of = src.id,
                           .inbound_warning = src.inbound_warning,
                           .attachments = att_ids,
                           .n_attachments = n_att};

        snprintf(cid, sizeof cid, "%.40s:fwd:%lld:%lld", client_id ? client_id : "auto",
                 (long long)src.id, (long long)targets[i]);
        f->t[i].conv_id = targets[i];
        if (!chat_send_plan(e, who, &in, &f->t[i].commit, &f->t[i].early))
            f->commits[f->n_commits++] = f->t[i].commit;
    }
    *out = f;
    f = NULL;
    rc = 0;
out:
    chat_forward_free(f);
    store_message_clear(&src);
    for (size_t i = 0; i < n_att; i++)
        free((char *)att_ids[i]);
    free(att_ids);
    return rc;
}

size_t chat_forward_commits(chat_forward *f, chat_commit ***items)
{
    *items = f->commits;
    return f->n_commits;
}

json_t *chat_forward_results(chat_forward *f)
{
    json_t *results = json_array();

    for (size_t i = 0; results && i < f->n; i++) {
        chat_outcome *o = f->t[i].commit ? &f->t[i].commit->outcome : &f->t[i].early;
        json_t *item = json_pack("{s:I,s:i}", "conversation_id", (json_int_t)f->t[i].conv_id,
                                 "status", o->status);

        if (item && o->code)
            json_object_set_new(item, "error",
                                json_pack("{s:s,s:s}", "code", o->code, "message", o->message));
        /* recursive: an error's parameters (extra.error) join its code */
        if (item && o->extra)
            json_object_update_recursive(item, o->extra);
        json_array_append_new(results, item);
    }
    return json_pack("{s:o}", "results", results);
}

void chat_forward_free(chat_forward *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        chat_commit_free(f->t[i].commit);
        chat_outcome_clear(&f->t[i].early);
    }
    free(f->commits);
    free(f);
}
