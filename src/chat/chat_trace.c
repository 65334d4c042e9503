/*
 * chat_trace.c — the spread of a message (chat_trace.h): its forward tree
 * read from provenance (store_message_spread), each copy with the people
 * who could see it and those who read it, as the officers' JSON.
 *
 * Reads only. Bounded: at most STORE_SPREAD_MAX copies. The members of
 * every conversation of the spread come in one read
 * (store_spread_members) into a cache of conversations; a conversation it
 * did not bring (no members left, or too many rows) is read on its own.
 *
 * A file's spread (chat_trace_file_spread) is every message delivering its
 * bytes, under any file id, each read with its conversation the same way.
 */
#include "chat_trace.h"

#include "chat_json.h"
#include "chat_view.h"
#include "store/store_files.h"

#include <stdlib.h>
#include <string.h>

int chat_trace_root(store *st, int64_t message_id, int64_t *root)
{
    store_message m = {0};
    int rc = store_message_get(st, message_id, &m);

    if (!rc)
        *root = m.forward_of ? m.forward_origin_id : m.id;
    store_message_clear(&m);
    return rc;
}

/* One conversation of the spread, read once. */
typedef struct conv_info {
    int64_t id;
    store_conv conv;
    store_members members;
    bool counted; /* a copy of the spread is in it (totals.conversations) */
} conv_info;

typedef struct conv_cache {
    conv_info *items;
    size_t n, cap;
} conv_cache;

static void cache_free(conv_cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        store_conv_clear(&c->items[i].conv);
        store_members_free(&c->items[i].members);
    }
    free(c->items);
}

static int cache_get(store *st, conv_cache *c, int64_t id, conv_info **out)
{
    conv_info *ci;
    int rc;

    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].id == id) {
            *out = &c->items[i];
            return STORE_OK;
        }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        conv_info *p = realloc(c->items, cap * sizeof *p);

        if (!p)
            return STORE_NOMEM;
        c->items = p;
        c->cap = cap;
    }
    ci = &c->items[c->n];
    memset(ci, 0, sizeof *ci);
    ci->id = id;
    rc = store_conv_get(st, id, &ci->conv);
    if (!rc)
        rc = store_member_list(st, id, &ci->members);
    if (rc) {
        store_conv_clear(&ci->conv);
        store_members_free(&ci->members);
        return rc;
    }
    c->n++;
    *out = ci;
    return STORE_OK;
}

/* Fills the cache from one read of every conversation's members. Best
 * effort: on any failure the cache keeps what it has and cache_get reads
 * the rest one by one. */
static void cache_preload(store *st, conv_cache *c, int64_t root)
{
    store_spread_member_rows l = {0};
    size_t i = 0;

    if (store_spread_members(st, root, &l))
        return;
    while (i < l.n) {
        size_t j = i, k;
        conv_info *ci;

        while (j < l.n && l.items[j].conv_id == l.items[i].conv_id)
            j++;
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            conv_info *p = realloc(c->items, cap * sizeof *p);

            if (!p)
                break;
            c->items = p;
            c->cap = cap;
        }
        ci = &c->items[c->n];
        memset(ci, 0, sizeof *ci);
        ci->id = ci->conv.id = l.items[i].conv_id;
        ci->conv.kind = l.items[i].kind;
        ci->conv.external = l.items[i].external;
        ci->conv.shared_history = l.items[i].shared_history;
        ci->conv.title = strdup(l.items[i].title ? l.items[i].title : "");
        ci->members.items = calloc(j - i, sizeof *ci->members.items);
        if (!ci->conv.title || !ci->members.items) {
            store_conv_clear(&ci->conv);
            free(ci->members.items);
            break;
        }
        for (k = i; k < j; k++)
            ci->members.items[ci->members.n++] = (store_member){
                .user_id = l.items[k].user_id,
                .history_from = l.items[k].history_from,
                .read_id = l.items[k].read_id,
            };
        c->n++;
        i = j;
    }
    store_spread_member_rows_free(&l);
}

static const char *state_name(const store_message *m)
{
    const char *c = chat_json_contained_name(m->contained);

    return c ? c : m->recalled ? "recalled" : "visible";
}

/* One copy: where, who forwarded it, who could see it, who read it. The
 * text is not part of a spread (the officer opens a copy's context for
 * that, with a reason). */
static json_t *copy_json(const store_message *m, const conv_info *ci, json_t *seen,
                         json_t *readers_all)
{
    json_t *rec = json_array(), *read = json_array(), *o = NULL;
    char key[24];

    if (!rec || !read)
        goto fail;
    for (size_t i = 0; i < ci->members.n; i++) {
        const store_member *mb = &ci->members.items[i];
        chat_viewer v = {.shared_history = ci->conv.shared_history,
                         .history_from = mb->history_from};

        if (mb->user_id == m->sender_id || !chat_viewer_sees_id(&v, m->id))
            continue;
        json_array_append_new(rec, json_integer((json_int_t)mb->user_id));
        snprintf(key, sizeof key, "%lld", (long long)mb->user_id);
        json_object_set_new(seen, key, json_true());
        if (mb->read_id >= m->id) {
            json_array_append_new(read, json_integer((json_int_t)mb->user_id));
            json_object_set_new(readers_all, key, json_true());
        }
    }
    o = json_pack("{s:I,s:{s:I,s:s,s:s,s:b},s:I,s:o,s:i,s:I,s:s,s:o,s:o}", "message_id",
                  (json_int_t)m->id, "conversation", "id", (json_int_t)ci->conv.id, "kind",
                  store_conv_kind_name(ci->conv.kind), "title",
                  ci->conv.title ? ci->conv.title : "", "external", ci->conv.external, "sender_id",
                  (json_int_t)m->sender_id, "parent_id",
                  m->forward_of ? json_integer((json_int_t)m->forward_of) : json_null(), "depth",
                  m->forward_depth, "created_at", (json_int_t)m->created_at, "state", state_name(m),
                  "recipients", rec, "read_by", read);
    rec = read = NULL;
    if (o && ci->conv.kind == STORE_CONV_DIRECT) {
        json_t *ids = json_array();

        for (size_t i = 0; ids && i < ci->members.n; i++)
            json_array_append_new(ids, json_integer((json_int_t)ci->members.items[i].user_id));
        json_object_set_new(json_object_get(o, "conversation"), "member_ids",
                            ids ? ids : json_array());
    }
fail:
    json_decref(rec);
    json_decref(read);
    return o;
}

json_t *chat_trace_spread(const chat_env *e, int64_t message_id, chat_outcome *o)
{
    store_spread_query q = {0};
    store_messages l = {0};
    conv_cache cc = {0};
    json_t *copies = NULL, *seen = NULL, *readers = NULL, *out = NULL;
    size_t n_convs = 0;
    int rc = chat_trace_root(e->st, message_id, &q.root_id);

    if (!rc)
        rc = store_message_spread(e->st, &q, &l);
    if (rc == STORE_NOTFOUND || (!rc && !l.n)) {
        chat_fail(o, 404, "not_found", "no such message");
        goto fail;
    }
    if (rc)
        goto store_fail;
    copies = json_array();
    seen = json_object();
    readers = json_object();
    if (!copies || !seen || !readers)
        goto nomem;
    cache_preload(e->st, &cc, q.root_id);
    for (size_t i = 0; i < l.n; i++) {
        conv_info *ci = NULL;
        json_t *c;

        rc = cache_get(e->st, &cc, l.items[i].conv_id, &ci);
        if (rc)
            goto store_fail;
        if (!ci->counted) {
            ci->counted = true;
            n_convs++;
        }
        c = copy_json(&l.items[i], ci, seen, readers);
        if (!c || json_array_append_new(copies, c))
            goto nomem;
    }
    out = json_pack("{s:I,s:I,s:b,s:o,s:{s:I,s:I,s:I,s:I}}", "root_message_id",
                    (json_int_t)q.root_id, "root_sender_id", (json_int_t)l.items[0].sender_id,
                    "truncated", l.n == STORE_SPREAD_MAX, "copies", copies, "totals", "copies",
                    (json_int_t)l.n, "conversations", (json_int_t)n_convs, "recipients",
                    (json_int_t)json_object_size(seen), "readers",
                    (json_int_t)json_object_size(readers));
    copies = NULL;
    if (!out)
        goto nomem;
    goto fail;
store_fail:
    chat_fail_store(e, o, rc, "spread");
    goto fail;
nomem:
    chat_fail(o, 500, "internal", "out of memory");
fail:
    json_decref(copies);
    json_decref(seen);
    json_decref(readers);
    cache_free(&cc);
    store_messages_free(&l);
    return out;
}

/* Separate uploads whose trees' members a file's spread reads at once;
 * conversations of further ones are read one by one. */
#define FILE_PRELOAD_ORIGINS 16

/* The ids of a message's files (its attachments JSON). */
static json_t *file_ids(const store_message *m)
{
    json_t *arr = m->attachments ? json_loads(m->attachments, 0, NULL) : NULL;
    json_t *ids = json_array(), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        json_t *id = json_object_get(v, "id");

        if (ids && json_is_string(id))
            json_array_append(ids, id);
    }
    json_decref(arr);
    return ids;
}

json_t *chat_trace_file_spread(const chat_env *e, const char *file_id, chat_outcome *o)
{
    store_file f = {0};
    store_messages l = {0};
    conv_cache cc = {0};
    json_t *copies = NULL, *seen = NULL, *readers = NULL, *origins = NULL, *out = NULL;
    size_t n_convs = 0;
    int rc = store_file_get(e->st, file_id, &f);

    if (!rc)
        rc = store_file_spread(e->st, file_id, true, STORE_SPREAD_MAX, &l);
    if (rc == STORE_NOTFOUND) {
        chat_fail(o, 404, "not_found", "no such file");
        goto fail;
    }
    if (rc)
        goto store_fail;
    copies = json_array();
    seen = json_object();
    readers = json_object();
    origins = json_object();
    if (!copies || !seen || !readers || !origins)
        goto nomem;
    /* the members of each origin's tree in one read (a few origins: each
     * separate upload of the bytes is one) */
    for (size_t i = 0, n = 0; i < l.n && n < FILE_PRELOAD_ORIGINS; i++) {
        const store_message *m = &l.items[i];

        if (!m->forward_of) {
            cache_preload(e->st, &cc, m->id);
            n++;
        }
    }
    for (size_t i = 0; i < l.n; i++) {
        const store_message *m = &l.items[i];
        int64_t origin = m->forward_of ? m->forward_origin_id : m->id;
        conv_info *ci = NULL;
        json_t *c;
        char key[24];

        rc = cache_get(e->st, &cc, m->conv_id, &ci);
        if (rc)
            goto store_fail;
        if (!ci->counted) {
            ci->counted = true;
            n_convs++;
        }
        c = copy_json(m, ci, seen, readers);
        if (!c || json_array_append_new(copies, c))
            goto nomem;
        json_object_set_new(c, "origin_id", json_integer((json_int_t)origin));
        json_object_set_new(c, "file_ids", file_ids(m));
        snprintf(key, sizeof key, "%lld", (long long)origin);
        json_object_set_new(origins, key, json_true());
    }
    /* the file as officers see it in an alert: never its bytes */
    out = json_pack(
        "{s:{s:s,s:s,s:s,s:I,s:b,s:I,s:I,s:s,s:I},s:b,s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "file", "id",
        f.id, "name", f.name ? f.name : "", "mime", f.mime ? f.mime : "", "size",
        (json_int_t)f.size, "image", f.image, "owner_id", (json_int_t)f.owner_id, "conversation_id",
        (json_int_t)f.conv_id, "state", store_up_state_name(f.state), "created_at",
        (json_int_t)f.created_at, "truncated", l.n == STORE_SPREAD_MAX, "copies", copies, "totals",
        "copies", (json_int_t)l.n, "origins", (json_int_t)json_object_size(origins),
        "conversations", (json_int_t)n_convs, "recipients", (json_int_t)json_object_size(seen),
        "readers", (json_int_t)json_object_size(readers));
    copies = NULL;
    if (!out)
        goto nomem;
    goto fail;
store_fail:
    chat_fail_store(e, o, rc, "file spread");
    goto fail;
nomem:
    chat_fail(o, 500, "internal", "out of memory");
fail:
    json_decref(copies);
    json_decref(seen);
    json_decref(readers);
    json_decref(origins);
    cache_free(&cc);
    store_messages_free(&l);
    store_file_clear(&f);
    return out;
}
