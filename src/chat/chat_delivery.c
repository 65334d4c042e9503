/*
 * chat_delivery.c — a watermark delivery as a commit (chat_delivery.h):
 *
 *   plan (worker)     srv_h_file.c found no row for (file, viewer), and
 *                     decided whether the original and the preview can
 *                     carry a mark; copied into the commit
 *   commit (writer)   the group in one transaction: each row created (or
 *                     found: two first downloads at once create one) and,
 *                     when the row is new and a form goes out unmarked,
 *                     its audit entry
 *   publish (writer)  nothing to publish: the waiting worker marks the
 *                     copy with the id and answers
 */
#include "chat_delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct delivery_commit {
    chat_commit base; /* first */
    const chat *chat;
    int64_t user_id, now;
    char *login, *file_id;
    const char *unmarked_original, *unmarked_preview; /* static reason codes */
    store_delivery row;
    int rc;
} delivery_commit;

static const chat_commit_kind delivery_kind;

static void delivery_free(chat_commit *c)
{
    delivery_commit *d = (delivery_commit *)c;

    if (!d)
        return;
    free(d->login);
    free(d->file_id);
    chat_outcome_clear(&d->base.outcome);
    free(d);
}

chat_commit *chat_delivery_commit(const chat *c, const chat_delivery_in *in)
{
    delivery_commit *d = calloc(1, sizeof *d);

    if (!d)
        return NULL;
    d->base.kind = &delivery_kind;
    d->chat = c;
    d->user_id = in->user_id;
    d->now = in->now;
    d->login = strdup(in->login ? in->login : "");
    d->file_id = strdup(in->file_id ? in->file_id : "");
    d->unmarked_original = in->unmarked_original;
    d->unmarked_preview = in->unmarked_preview;
    if (!d->login || !d->file_id) {
        delivery_free(&d->base);
        return NULL;
    }
    return &d->base;
}

int chat_delivery_result(const chat_commit *c, store_delivery *out)
{
    const delivery_commit *d = (const delivery_commit *)c;

    if (!d->rc)
        *out = d->row;
    return d->rc;
}

/* ---- commit ------------------------------------------------------------------ */

/* One row, and the audit entry of a new one that goes out unmarked. */
static int write_one(store *st, delivery_commit *d)
{
    bool created = false;
    int rc = store_delivery_get_or_create(st, d->user_id, d->file_id, d->now, &d->row, &created);
    char target[96];
    json_t *detail;
    char *text;
    store_audit_new a = {0};

    if (rc || !created || (!d->unmarked_original && !d->unmarked_preview))
        return rc;
    snprintf(target, sizeof target, "file:%s", d->file_id);
    /* only the forms that go out unmarked, each with its reason */
    detail = json_pack("{s:I}", "delivery", (json_int_t)d->row.id);
    if (detail && d->unmarked_original)
        json_object_set_new(detail, "original", json_string(d->unmarked_original));
    if (detail && d->unmarked_preview)
        json_object_set_new(detail, "preview", json_string(d->unmarked_preview));
    text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(detail);
    if (!text)
        return STORE_NOMEM;
    a = (store_audit_new){.time = d->now,
                          .actor_id = d->user_id,
                          .actor = d->login,
                          .event = "file.delivered_unmarked",
                          .target = target,
                          .detail = text};
    rc = store_audit_append(st, &a, NULL);
    free(text);
    return rc;
}

typedef struct group {
    chat_commit **items;
    size_t n;
} group;

static int write_group(store *st, void *arg)
{
    group *g = arg;
    int rc = 0;

    for (size_t i = 0; !rc && i < g->n; i++)
        rc = write_one(st, (delivery_commit *)g->items[i]);
    return rc;
}

static int write_single(store *st, void *arg)
{
    return write_one(st, arg);
}

static void delivery_commit_all(chat_commit **items, size_t n, store *st)
{
    group g = {items, n};
    int rc = chat_tx(st, write_group, &g);

    /* One transaction for the group; when it fails, each on its own, so one
     * bad row does not fail the others. */
    for (size_t i = 0; i < n; i++) {
        delivery_commit *d = (delivery_commit *)items[i];

        d->rc = rc ? chat_tx(st, write_single, d) : 0;
        if (d->rc)
            chat_log(d->chat, CHAT_LOG_ERROR, "delivery", "file %s: %s (%s)", d->file_id,
                     store_strerror(d->rc), store_errmsg(st));
    }
}

static const chat_commit_kind delivery_kind = {
    .name = "delivery",
    .commit = delivery_commit_all,
    .publish = chat_commit_hand_back,
    .free = delivery_free,
};
