/*
 * chat_view.c — the history rule: what one member may see of a
 * conversation's messages (chat_view.h, docs/SERVER.md).
 */
#include "chat_view.h"

#include "cordon/guard_file.h"

#include "chat_json.h"

#include <stdlib.h>
#include <string.h>

int chat_viewer_get(store *st, int64_t conv_id, int64_t user_id, chat_viewer *v,
                    store_member_role *role)
{
    store_member me = {0};
    store_conv c = {0};
    int rc = store_member_get(st, conv_id, user_id, &me);

    if (!rc)
        rc = store_conv_get(st, conv_id, &c);
    if (!rc) {
        *v = (chat_viewer){.user_id = user_id,
                           .external = me.external,
                           .shared_history = c.shared_history,
                           .history_from = me.history_from};
        if (role)
            *role = me.role;
    }
    store_conv_clear(&c);
    return rc;
}

bool chat_viewer_sees_id(const chat_viewer *v, int64_t id)
{
    return v->shared_history || id > v->history_from;
}

chat_see chat_view_decide(const chat_env *e, const chat_viewer *v, const store_message *m,
                          char **masked, size_t *masked_len)
{
    guard_result *res = NULL;
    guard_ruleset *rs;
    guard_error gerr;
    chat_see see = CHAT_SEE_WITHHELD;
    int rc;

    if (masked)
        *masked = NULL;
    if (!chat_viewer_sees_id(v, m->id))
        return CHAT_SEE_HIDDEN;
    /* Inspected for this audience already, nothing left to read, or the
     * reader wrote it. */
    if (!v->external || m->inspected_external || m->recalled || !m->text ||
        m->sender_id == v->user_id)
        return CHAT_SEE_AS_IS;
    rs = guard_engine_acquire(e->chat->engine);
    rc = guard_file_scan_message(e->scanner, rs, m->text, m->text_len, GUARD_SCOPE_EXTERNAL, NULL,
                                 &res, &gerr);
    guard_ruleset_unref(rs);
    if (rc != GUARD_OK) {
        /* Fail closed: what could not be inspected is not shown. */
        chat_log(e->chat, CHAT_LOG_ERROR, "guard", "history scan failed: %s", gerr.message);
        goto out;
    }
    if (res->verdict == GUARD_BLOCK || res->verdict == GUARD_CONFIRM)
        goto out;
    see = CHAT_SEE_AS_IS;
    if (res->verdict == GUARD_MASK && res->masked) {
        see = CHAT_SEE_MASKED;
        if (masked) {
            *masked = malloc(res->masked_len + 1);
            if (!*masked) {
                see = CHAT_SEE_WITHHELD;
                goto out;
            }
            memcpy(*masked, res->masked, res->masked_len);
            (*masked)[res->masked_len] = 0;
            *masked_len = res->masked_len;
        }
    }
out:
    guard_result_free(res);
    return see;
}

json_t *chat_view_message(const chat_env *e, const chat_viewer *v, const store_message *m,
                          bool *hidden)
{
    store_message shown = *m;
    char *masked = NULL;
    size_t masked_len = 0;
    chat_see see = chat_view_decide(e, v, m, &masked, &masked_len);
    json_t *o;

    *hidden = see == CHAT_SEE_HIDDEN;
    if (*hidden)
        return NULL;
    /* Files sent while the conversation was internal were judged for
     * insiders only, and an outsider cannot download them (the store's file
     * rule asks for a message inspected for the external scope): nothing of
     * them — name, size, type — for an outsider either. A message that was
     * only those files is withheld. */
    if (v->external && !m->inspected_external && !m->recalled && m->sender_id != v->user_id &&
        m->attachments && strcmp(m->attachments, "[]") && see != CHAT_SEE_WITHHELD) {
        shown.attachments = NULL;
        if (!m->text || !m->text[0])
            see = CHAT_SEE_WITHHELD;
    }
    if (see == CHAT_SEE_WITHHELD) {
        shown.text = NULL;
        shown.text_len = 0;
        shown.attachments = NULL; /* nothing of its files either */
    } else if (see == CHAT_SEE_MASKED) {
        shown.text = masked;
        shown.text_len = masked_len;
        shown.masked = true;
    }
    /* The inbound warning is for the organisation's own people. */
    if (v->external)
        shown.inbound_warning = NULL;
    o = chat_json_message(&shown);
    if (o)
        json_object_set_new(o, "withheld", json_boolean(see == CHAT_SEE_WITHHELD));
    free(masked);
    return o;
}

int chat_view_audience(store *st, int64_t conv_id, int64_t msg_id, int64_t **users, size_t *n)
{
    store_members ml = {0};
    store_conv c = {0};
    int rc = store_conv_get(st, conv_id, &c);

    *users = NULL;
    *n = 0;
    if (!rc)
        rc = store_member_list(st, conv_id, &ml);
    if (!rc && !(*users = calloc(ml.n ? ml.n : 1, sizeof **users)))
        rc = STORE_NOMEM;
    for (size_t i = 0; !rc && i < ml.n; i++) {
        chat_viewer v = {.shared_history = c.shared_history,
                         .history_from = ml.items[i].history_from};

        if (chat_viewer_sees_id(&v, msg_id))
            (*users)[(*n)++] = ml.items[i].user_id;
    }
    store_members_free(&ml);
    store_conv_clear(&c);
    return rc;
}
