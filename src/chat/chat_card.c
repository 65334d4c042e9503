/*
 * chat_card.c — contact cards (chat_card.h): sharing is a send of kind
 * "card" through chat_send.c (membership, the guard, the one commit path);
 * viewing renders the account now, with the viewer's rights.
 */
#include "chat_card.h"

#include "chat_cache.h"
#include "chat_send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *chat_card_mask_phone(const char *phone)
{
    size_t n = phone ? strlen(phone) : 0, head, tail;
    char *m;

    if (!phone)
        return NULL;
    /* 11-digit mobile numbers: 3 + 4 masked + 4; shorter ones keep less. */
    head = n >= 11 ? 3 : n >= 7 ? 2 : 0;
    tail = n >= 11 ? 4 : n >= 7 ? 2 : 0;
    m = malloc(n + 1);
    if (!m)
        return NULL;
    for (size_t i = 0; i < n; i++)
        m[i] = i < head || i >= n - tail ? phone[i] : '*';
    m[n] = 0;
    return m;
}

json_t *chat_card_view(const store_user *u, bool full_phone)
{
    char *masked = full_phone ? NULL : chat_card_mask_phone(u->phone);
    const char *shown = full_phone ? u->phone : masked;
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:b,s:o,s:b}", "id", (json_int_t)u->id, "login", u->login ? u->login : "",
        "display_name", u->display_name ? u->display_name : "", "external", u->external, "phone",
        shown ? json_string(shown) : json_null(), "phone_masked", !full_phone && u->phone);

    free(masked);
    return o;
}

int chat_card_plan(const chat_env *e, const chat_caller *who, int64_t conv_id, int64_t card_user,
                   const char *client_id, chat_commit **out, chat_outcome *o)
{
    store_user u = {0};
    chat_conv_snap *conv = NULL;
    char meta[64], detail[96];
    bool audited = false;
    int rc = store_user_get(e->st, card_user, &u), ret = -1;

    *out = NULL;
    if (rc == STORE_NOTFOUND || (!rc && u.disabled)) {
        chat_fail(o, 404, "not_found", "no such user");
        goto out;
    }
    if (rc) {
        chat_fail_store(e, o, rc, "card: user");
        goto out;
    }
    /* An external contact's card in an internal conversation: audited with
     * the message (the scope it was shared into is read again at send). */
    if (u.external) {
        rc = chat_cache_get(e->chat->cache, e->st, conv_id, &conv);
        audited = !rc && !conv->external;
    }
    snprintf(meta, sizeof meta, "{\"user_id\":%lld}", (long long)card_user);
    snprintf(detail, sizeof detail, "{\"conversation\":%lld,\"user\":%lld}", (long long)conv_id,
             (long long)card_user);
    {
        chat_send_in in = {.conv_id = conv_id,
                           .client_id = client_id,
                           .text = "",
                           .len = 0,
                           .kind = "card",
                           .meta = meta,
                           .audit_event = audited ? "card.external_shared" : NULL,
                           .audit_detail = audited ? detail : NULL};

        ret = chat_send_plan(e, who, &in, out, o);
    }
out:
    chat_conv_snap_unref(conv);
    store_user_clear(&u);
    return ret;
}
