/*
 * chat_inspected.c — an inspection's outcome as a commit (chat_inspected.h).
 *
 *   plan (inspection thread)  srv_inspect.c decides: verdict, the blobs
 *                             committed, the file row; everything copied
 *                             into the commit
 *   commit (writer)           one transaction: the cache entry (the same
 *                             bytes under the same rules are not inspected
 *                             again), the file row with its blob
 *                             references, the upload's state, outcome and
 *                             file id
 *   publish (writer)          nothing to publish here: the inspection
 *                             thread announces upload.state once done has
 *                             told it the rows are written
 *
 * A failed commit leaves the upload "inspecting": the next start inspects
 * it again (never clean by default).
 */
#include "chat_inspected.h"

#include <stdlib.h>
#include <string.h>

typedef struct insp_commit {
    chat_commit base; /* first */
    const chat *chat;
    char *upload_id, *outcome, *key, *value;
    store_file f; /* f.id NULL: no file row */
    int state;
    int64_t blob_size, thumb_size, now;
    int rc;
} insp_commit;

static const chat_commit_kind inspected_kind;

static void insp_free(chat_commit *c)
{
    insp_commit *x = (insp_commit *)c;

    if (!x)
        return;
    free(x->upload_id);
    free(x->outcome);
    free(x->key);
    free(x->value);
    store_file_clear(&x->f);
    chat_outcome_clear(&x->base.outcome);
    free(x);
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = s ? strdup(s) : NULL;

    if (s && !d)
        *oom = true;
    return d;
}

chat_commit *chat_inspected_commit(const chat *c, const chat_inspected_in *in)
{
    insp_commit *x = calloc(1, sizeof *x);
    bool oom = false;

    if (!x)
        return NULL;
    x->base.kind = &inspected_kind;
    x->chat = c;
    x->upload_id = dup_or_null(in->upload_id, &oom);
    x->outcome = dup_or_null(in->outcome, &oom);
    x->key = dup_or_null(in->cache_key, &oom);
    x->value = in->cache_key ? dup_or_null(in->cache_value, &oom) : NULL;
    x->state = in->state;
    x->blob_size = in->blob_size;
    x->thumb_size = in->thumb_size;
    x->now = in->now;
    if (in->file) {
        const store_file *f = in->file;

        x->f = *f;
        x->f.id = dup_or_null(f->id, &oom);
        x->f.hash = dup_or_null(f->hash, &oom);
        x->f.thumb_hash = dup_or_null(f->thumb_hash, &oom);
        x->f.name = dup_or_null(f->name, &oom);
        x->f.mime = dup_or_null(f->mime, &oom);
        x->f.verdict = dup_or_null(f->verdict, &oom);
        x->f.findings = dup_or_null(f->findings, &oom);
    }
    if (oom || !x->upload_id || (in->cache_key && !x->value)) {
        insp_free(&x->base);
        return NULL;
    }
    return &x->base;
}

int chat_inspected_rc(const chat_commit *c)
{
    return ((const insp_commit *)c)->rc;
}

/* ---- commit ------------------------------------------------------------------ */

static int write_inspected(store *st, void *arg)
{
    insp_commit *x = arg;
    int rc = 0;

    if (x->key)
        rc = store_inspection_put(st, x->key, x->value, x->now);
    if (!rc && x->f.id)
        rc = store_file_create(st, &x->f, x->blob_size, x->thumb_size);
    if (!rc)
        rc = store_upload_update(st, x->upload_id, x->state, x->outcome, x->f.id);
    return rc;
}

static void insp_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        insp_commit *x = (insp_commit *)items[i];

        x->rc = chat_tx(st, write_inspected, x);
        if (x->rc)
            chat_log(x->chat, CHAT_LOG_ERROR, "inspect", "upload %s: %s (%s)", x->upload_id,
                     store_strerror(x->rc), store_errmsg(st));
    }
}

static const chat_commit_kind inspected_kind = {
    .name = "inspected",
    .commit = insp_commit_all,
    .publish = chat_commit_hand_back,
    .free = insp_free,
};

bool chat_file_mask_met(json_t *findings, const char *name)
{
    size_t i, n = 0, len = name ? strlen(name) : 0;
    json_t *f;

    if (!name || !json_is_array(findings))
        return false;
    json_array_foreach(findings, i, f)
    {
        const char *act = json_string_value(json_object_get(f, "action"));
        const char *loc = json_string_value(json_object_get(f, "location"));

        if (!act || strcmp(act, "mask"))
            continue;
        if (!loc || strncmp(loc, name, len) || strcmp(loc + len, "!metadata"))
            return false; /* in the pixels, or somewhere stripping does not reach */
        n++;
    }
    return n > 0;
}
