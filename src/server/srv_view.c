/*
 * srv_view.c — the history rule: what one member may see of a
 * conversation's messages (srv_view.h, docs/SERVER.md).
 */
#include "srv_view.h"

#include "srv_handlers.h"
#include "srv_json.h"
#include "srv_log.h"

#include <stdlib.h>
#include <string.h>

int srv_viewer_load(srv_req *r, srv_worker *w, int64_t conv_id, srv_viewer *v,
                    store_member_role *role)
{
    store_member me = {0};
    store_conv c = {0};
    int rc = store_member_get(w->st, conv_id, r->user.id, &me);

    if (!rc)
        rc = store_conv_get(w->st, conv_id, &c);
    if (rc == STORE_NOTFOUND)
        srv_error(r, 404, "not_found", "no such conversation");
    else if (rc)
        srv_store_error(r, w, rc, "viewer");
    if (!rc) {
        *v = (srv_viewer){.user_id = r->user.id,
                          .external = me.external,
                          .shared_history = c.shared_history,
                          .history_from = me.history_from};
        if (role)
            *role = me.role;
    }
    store_conv_clear(&c);
    return rc;
}

bool srv_viewer_sees_id(const srv_viewer *v, int64_t id)
{
    return v->shared_history || id > v->history_from;
}

srv_see srv_view_decide(srv_worker *w, srv *s, const srv_viewer *v, const store_message *m,
                        char **masked, size_t *masked_len)
{
    guard_result *res = NULL;
    guard_ruleset *rs;
    guard_error gerr;
    srv_see see = SRV_SEE_WITHHELD;
    int rc;

    if (masked)
        *masked = NULL;
    if (!srv_viewer_sees_id(v, m->id))
        return SRV_SEE_HIDDEN;
    /* Inspected for this audience already, nothing left to read, or the
     * reader wrote it. */
    if (!v->external || m->inspected_external || m->recalled || !m->text ||
        m->sender_id == v->user_id)
        return SRV_SEE_AS_IS;
    rs = guard_engine_acquire(s->engine);
    rc = guard_scan(w->scanner, rs, m->text, m->text_len, GUARD_SCOPE_EXTERNAL, &res, &gerr);
    guard_ruleset_unref(rs);
    if (rc != GUARD_OK) {
        /* Fail closed: what could not be inspected is not shown. */
        SRV_ERROR("guard", "history scan failed: %s", gerr.message);
        goto out;
    }
    if (res->verdict == GUARD_BLOCK || res->verdict == GUARD_CONFIRM)
        goto out;
    see = SRV_SEE_AS_IS;
    if (res->verdict == GUARD_MASK && res->masked) {
        see = SRV_SEE_MASKED;
        if (masked) {
            *masked = malloc(res->masked_len + 1);
            if (!*masked) {
                see = SRV_SEE_WITHHELD;
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

json_t *srv_view_message(srv_worker *w, srv *s, const srv_viewer *v, const store_message *m,
                         bool *hidden)
{
    store_message shown = *m;
    char *masked = NULL;
    size_t masked_len = 0;
    srv_see see = srv_view_decide(w, s, v, m, &masked, &masked_len);
    json_t *o;

    *hidden = see == SRV_SEE_HIDDEN;
    if (*hidden)
        return NULL;
    if (see == SRV_SEE_WITHHELD) {
        shown.text = NULL;
        shown.text_len = 0;
    } else if (see == SRV_SEE_MASKED) {
        shown.text = masked;
        shown.text_len = masked_len;
        shown.masked = true;
    }
    o = srv_json_message(&shown);
    if (o)
        json_object_set_new(o, "withheld", json_boolean(see == SRV_SEE_WITHHELD));
    free(masked);
    return o;
}

void srv_emit_conv_msg(srv_req *r, srv_worker *w, int64_t conv_id, int64_t msg_id, const char *type,
                       json_t *obj)
{
    store_members ml = {0};
    store_conv c = {0};
    int64_t *uids = NULL;
    srv_buf *b = NULL;
    size_t n = 0;

    if (store_conv_get(w->st, conv_id, &c) || store_member_list(w->st, conv_id, &ml))
        goto out;
    uids = calloc(ml.n ? ml.n : 1, sizeof *uids);
    b = srv_event_buf(type, obj);
    obj = NULL;
    if (!uids || !b)
        goto out;
    for (size_t i = 0; i < ml.n; i++) {
        srv_viewer v = {.shared_history = c.shared_history,
                        .history_from = ml.items[i].history_from};

        if (srv_viewer_sees_id(&v, msg_id))
            uids[n++] = ml.items[i].user_id;
    }
    if (n) {
        srv_emit(&r->job, SRV_EV_USERS, b, 0, 0, uids, n);
        b = NULL;
    }
out:
    json_decref(obj);
    srv_buf_unref(b);
    free(uids);
    store_members_free(&ml);
    store_conv_clear(&c);
}
