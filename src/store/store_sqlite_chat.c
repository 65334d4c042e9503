/*
 * store_sqlite_chat.c — the SQLite backend's conversations, members,
 * messages (idempotent append, group commit, history, recall, forward
 * provenance), receipts and officer alerts. Handle, transactions and the
 * account side are in store_sqlite.c.
 */
#include "store/store_files.h"
#include "store/store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_MAX     500
#define AFTER_MAX       5000 /* message_after: the gap fill's bound */
#define HISTORY_DEFAULT 50
#define ALERTS_MAX      1000
#define ALERTS_DEFAULT  100
#define FORWARD_MAX     64 /* chain walk bound; ids only decrease along it anyway */

/* ------------------------------------------------------------- helpers */

int sq_run_ids(sq *q, int id_stmt, int64_t a, int64_t b, int64_t c, int nargs)
{
    sqlite3_stmt *st = sq_stmt(q, id_stmt);

    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, a);
    if (nargs > 1)
        sqlite3_bind_int64(st, 2, b);
    if (nargs > 2)
        sqlite3_bind_int64(st, 3, c);
    return sq_exec(q, st);
}

/* A single-integer lookup: *out = column 0 of the row. */
static int lookup_int(sq *q, int id_stmt, int64_t a, int64_t b, int nargs, int64_t *out)
{
    sqlite3_stmt *st = sq_stmt(q, id_stmt);
    int rc;

    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, a);
    if (nargs > 1)
        sqlite3_bind_int64(st, 2, b);
    rc = sq_step_row(q, st);
    if (!rc && out)
        *out = sqlite3_column_int64(st, 0);
    sq_done(st);
    return rc;
}

static int user_exists(sq *q, int64_t id)
{
    return lookup_int(q, SQ_USER_EXISTS, id, 0, 1, NULL);
}

static void read_conv(sq *q, sqlite3_stmt *st, store_conv *c)
{
    c->id = sqlite3_column_int64(st, 0);
    c->kind = (store_conv_kind)sqlite3_column_int(st, 1);
    c->title = sq_col_text(q, st, 2);
    if (!c->title && !q->oom)
        c->title = strdup("");
    if (!c->title)
        q->oom = true;
    c->external = sqlite3_column_int(st, 3);
    c->created_by = sq_col_id(st, 4);
    c->created_at = sqlite3_column_int64(st, 5);
    c->updated_at = sqlite3_column_int64(st, 6);
    c->last_message_id = sqlite3_column_int64(st, 7);
    c->member_count = sqlite3_column_int64(st, 8);
    c->shared_history = sqlite3_column_int(st, 9);
}

static int row_conv(sq *q, sqlite3_stmt *st, void *item)
{
    read_conv(q, st, item);
    return STORE_OK;
}

static int row_msg(sq *q, sqlite3_stmt *st, void *item)
{
    store_message *m = item;

    m->id = sqlite3_column_int64(st, 0);
    m->conv_id = sqlite3_column_int64(st, 1);
    m->sender_id = sqlite3_column_int64(st, 2);
    m->client_id = sq_col_text(q, st, 3);
    m->created_at = sqlite3_column_int64(st, 4);
    m->text = sq_col_text(q, st, 5);
    m->text_len = m->text ? (size_t)sqlite3_column_bytes(st, 5) : 0;
    m->masked = sqlite3_column_int(st, 6);
    m->verdict = sq_col_text(q, st, 7);
    m->justification = sq_col_text(q, st, 8);
    m->recalled_at = sqlite3_column_int64(st, 9);
    m->recalled = m->recalled_at != 0;
    m->forward_of = sq_col_id(st, 10);
    m->forward_origin_id = sq_col_id(st, 11);
    m->forward_author_id = sq_col_id(st, 12);
    m->forward_depth = sqlite3_column_int(st, 13);
    m->inspected_external = sqlite3_column_int(st, 14);
    m->contained = sqlite3_column_int(st, 15);
    m->kind = sq_col_text(q, st, 16);
    m->meta = sq_col_text(q, st, 17);
    m->burn = sqlite3_column_int(st, 18);
    m->burn_deadline = sqlite3_column_int64(st, 19);
    m->inbound_warning = sq_col_text(q, st, 20);
    m->attachments = sq_col_text(q, st, 21);
    return STORE_OK;
}

int sq_row_message(sq *q, sqlite3_stmt *st, void *item)
{
    return row_msg(q, st, item);
}

/* One message by a statement whose parameters are already bound. */
static int msg_row(sq *q, sqlite3_stmt *st, store_message *out)
{
    int rc = sq_one(q, st, row_msg, out);

    if (rc)
        store_message_clear(out);
    return rc;
}

static int msg_get(sq *q, int64_t id, store_message *out)
{
    sqlite3_stmt *st = sq_stmt(q, SQ_MSG_GET);

    memset(out, 0, sizeof *out);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, id);
    return msg_row(q, st, out);
}

/* ------------------------------------------------------- conversations */

static int member_insert(sq *q, int64_t conv_id, int64_t user_id, store_member_role role,
                         int64_t now)
{
    sqlite3_stmt *st = sq_stmt(q, SQ_MEMBER_INSERT);
    int rc;

    if (!st)
        return sq_prep_rc(q);
    rc = user_exists(q, user_id);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, conv_id);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int(st, 3, role);
    sqlite3_bind_int64(st, 4, now);
    return sq_exec(q, st);
}

/* A direct conversation between the pair, if any: STORE_OK and *id, or
 * STORE_NOTFOUND. key receives the pair's direct_key. */
static int direct_find(sq *q, int64_t a, int64_t b, char key[48], int64_t *id)
{
    sqlite3_stmt *st = sq_stmt(q, SQ_CONV_BY_DIRECT);
    int rc;

    snprintf(key, 48, "%lld:%lld", (long long)(a < b ? a : b), (long long)(a < b ? b : a));
    if (!st)
        return sq_prep_rc(q);
    sq_bind_text(st, 1, key);
    rc = sq_step_row(q, st);
    if (!rc)
        *id = sqlite3_column_int64(st, 0);
    sq_done(st);
    return rc;
}

int sq_conv_create(store *s, store_conv_kind kind, const char *title, int64_t creator,
                   const int64_t *member_ids, size_t n_members, int64_t now, int64_t *id_out,
                   bool *created)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int64_t other = 0, id = 0;
    bool fresh = false;
    char key[48];
    int rc;

    if (id_out)
        *id_out = 0;
    if (created)
        *created = false;
    rc = store_conv_create_check(kind, creator, member_ids, n_members, &other);
    if (rc)
        return rc;
    rc = sq_begin(q);
    if (rc)
        return rc;
    rc = user_exists(q, creator);
    if (rc)
        goto end;
    if (kind == STORE_CONV_DIRECT) {
        rc = direct_find(q, creator, other, key, &id);
        if (rc != STORE_NOTFOUND)
            goto end; /* the pair already has one (STORE_OK), or an error */
    }
    st = sq_stmt(q, SQ_CONV_INSERT);
    if (!st) {
        rc = sq_prep_rc(q);
        goto end;
    }
    sqlite3_bind_int(st, 1, kind);
    sq_bind_text(st, 2, kind == STORE_CONV_GROUP && title ? title : "");
    sqlite3_bind_int64(st, 3, creator);
    sqlite3_bind_int64(st, 4, now);
    sq_bind_text(st, 5, kind == STORE_CONV_DIRECT ? key : NULL);
    rc = sq_exec(q, st);
    if (rc)
        goto end;
    id = sqlite3_last_insert_rowid(q->db);
    fresh = true;
    rc = member_insert(q, id, creator, kind == STORE_CONV_GROUP ? STORE_MEMBER_OWNER : STORE_MEMBER,
                       now);
    for (size_t i = 0; !rc && i < n_members; i++)
        if (member_ids[i] != creator && !store_id_seen_before(member_ids, i))
            rc = member_insert(q, id, member_ids[i], STORE_MEMBER, now);
    if (!rc)
        rc = sq_run_ids(q, SQ_CONV_EXTERNAL, id, 0, 0, 1);
end:
    rc = sq_end(q, rc);
    if (!rc && id_out)
        *id_out = id;
    if (!rc && created)
        *created = fresh;
    return rc;
}

int sq_conv_get(store *s, int64_t id, store_conv *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_CONV_GET);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, id);
    rc = sq_one(q, st, row_conv, out);
    if (rc)
        store_conv_clear(out);
    return rc;
}

int sq_conv_list_for_user(store *s, int64_t user_id, store_conv_summaries *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    size_t cap = 0;
    int r = SQLITE_DONE, rc;

    memset(out, 0, sizeof *out);
    /* one snapshot: counts and last messages agree with the list */
    rc = sq_begin_read(q);
    if (rc)
        return rc;
    st = sq_stmt(q, SQ_CONV_LIST_USER);
    if (!st) {
        rc = sq_prep_rc(q);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, user_id);
    q->oom = false;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        store_conv_summary *x = sq_grow((void **)&out->items, &out->n, &cap, sizeof *x);
        int64_t read_id;

        if (!x) {
            rc = STORE_NOMEM;
            break;
        }
        read_conv(q, st, &x->conv);
        x->my_role = (store_member_role)sqlite3_column_int(st, SQ_CONV_NCOLS);
        read_id = sqlite3_column_int64(st, SQ_CONV_NCOLS + 1);
        x->my_history_from = sqlite3_column_int64(st, SQ_CONV_NCOLS + 2);
        if (q->oom) {
            rc = STORE_NOMEM;
            break;
        }
        {
            sqlite3_stmt *u = sq_stmt(q, SQ_CONV_UNREAD);

            if (!u) {
                rc = sq_prep_rc(q);
                break;
            }
            sqlite3_bind_int64(u, 1, x->conv.id);
            sqlite3_bind_int64(u, 2, read_id);
            sqlite3_bind_int64(u, 3, user_id);
            rc = sq_step_row(q, u);
            if (!rc)
                x->unread = sqlite3_column_int64(u, 0);
            sq_done(u);
        }
        if (!rc && x->conv.last_message_id)
            rc = msg_get(q, x->conv.last_message_id, &x->last);
    }
    if (!rc && r != SQLITE_DONE && r != SQLITE_ROW)
        rc = sq_rc(q, r);
    sq_done(st);
fail:
    sq_end_read(q);
    if (rc)
        store_conv_summaries_free(out);
    return rc;
}

int sq_conv_rename(store *s, int64_t id, const char *title, int64_t now)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    if (!title)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_CONV_RENAME);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, id);
    sq_bind_text(st, 2, title);
    sqlite3_bind_int64(st, 3, now);
    rc = sq_exec(q, st);
    if (!rc && sqlite3_changes(q->db) == 0)
        rc = STORE_NOTFOUND;
    return rc;
}

/* After a membership change: `external` and updated_at follow. */
static int conv_changed(sq *q, int64_t conv_id, int64_t now)
{
    int rc = sq_run_ids(q, SQ_CONV_EXTERNAL, conv_id, 0, 0, 1);

    return rc ? rc : sq_run_ids(q, SQ_CONV_TOUCH, conv_id, now, 0, 2);
}

int sq_member_add(store *s, int64_t conv_id, int64_t user_id, store_member_role role, int64_t now)
{
    sq *q = (sq *)s;
    int64_t kind = 0;
    int rc;

    if ((unsigned)role > STORE_MEMBER_OWNER)
        return STORE_INVAL;
    rc = sq_begin(q);
    if (rc)
        return rc;
    rc = lookup_int(q, SQ_CONV_KIND, conv_id, 0, 1, &kind);
    if (!rc && kind != STORE_CONV_GROUP)
        rc = STORE_INVAL;
    if (!rc)
        rc = member_insert(q, conv_id, user_id, role, now);
    if (!rc)
        rc = conv_changed(q, conv_id, now);
    return sq_end(q, rc);
}

int sq_member_remove(store *s, int64_t conv_id, int64_t user_id, int64_t now)
{
    sq *q = (sq *)s;
    int rc = sq_begin(q);

    if (rc)
        return rc;
    rc = sq_run_ids(q, SQ_MEMBER_DELETE, conv_id, user_id, 0, 2);
    if (!rc && sqlite3_changes(q->db) == 0)
        rc = STORE_NOTFOUND;
    if (!rc)
        rc = conv_changed(q, conv_id, now);
    return sq_end(q, rc);
}

int sq_member_set_role(store *s, int64_t conv_id, int64_t user_id, store_member_role role)
{
    sq *q = (sq *)s;
    int rc;

    if ((unsigned)role > STORE_MEMBER_OWNER)
        return STORE_INVAL;
    rc = sq_run_ids(q, SQ_MEMBER_SET_ROLE, conv_id, user_id, role, 3);
    if (!rc && sqlite3_changes(q->db) == 0)
        rc = STORE_NOTFOUND;
    return rc;
}

int sq_member_check(store *s, int64_t conv_id, int64_t user_id, store_member_role *out)
{
    int64_t role = 0;
    int rc = lookup_int((sq *)s, SQ_MEMBER_ROLE, conv_id, user_id, 2, &role);

    if (out)
        *out = rc ? STORE_MEMBER : (store_member_role)role;
    return rc;
}

static int row_member(sq *q, sqlite3_stmt *st, void *item)
{
    store_member *m = item;

    (void)q;
    m->user_id = sqlite3_column_int64(st, 0);
    m->role = (store_member_role)sqlite3_column_int(st, 1);
    m->joined_at = sqlite3_column_int64(st, 2);
    m->delivered_id = sqlite3_column_int64(st, 3);
    m->read_id = sqlite3_column_int64(st, 4);
    m->external = sqlite3_column_int(st, 5);
    m->history_from = sqlite3_column_int64(st, 6);
    return STORE_OK;
}

int sq_member_get(store *s, int64_t conv_id, int64_t user_id, store_member *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_MEMBER_GET);

    memset(out, 0, sizeof *out);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, conv_id);
    sqlite3_bind_int64(st, 2, user_id);
    return sq_one(q, st, row_member, out);
}

int sq_conv_set_shared_history(store *s, int64_t id, bool shared, int64_t now)
{
    sq *q = (sq *)s;
    int64_t kind = 0;
    int rc = lookup_int(q, SQ_CONV_KIND, id, 0, 1, &kind);

    if (!rc && kind != STORE_CONV_GROUP)
        rc = STORE_INVAL;
    if (!rc)
        rc = sq_run_ids(q, SQ_CONV_SET_SHARED, id, shared, now, 3);
    return rc;
}

int sq_member_list(store *s, int64_t conv_id, store_members *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_MEMBER_LIST);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, conv_id);
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_member);
    if (rc)
        store_members_free(out);
    return rc;
}

/* ------------------------------------------------------------- messages */

/* Appends one message inside an open write bracket. out is filled from
 * what was stored (no re-read: this is the hot path of group commit). */
static int append_one(sq *q, const store_message_new *m, store_message *out, bool *dup)
{
    store_message src = {0};
    sqlite3_stmt *st;
    int64_t origin = 0, author = 0, id;
    int depth = 0, rc;

    *dup = false;
    if (!store_message_new_valid(m))
        return STORE_INVAL;
    st = sq_stmt(q, SQ_MSG_BY_CLIENT);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, m->conv_id);
    sqlite3_bind_int64(st, 2, m->sender_id);
    sq_bind_text(st, 3, m->client_id);
    rc = msg_row(q, st, out);
    if (rc != STORE_NOTFOUND) {
        *dup = rc == STORE_OK;
        return rc; /* the same send again: what was stored the first time */
    }
    rc = lookup_int(q, SQ_MEMBER_ROLE, m->conv_id, m->sender_id, 2, NULL);
    if (rc)
        return rc;
    if (m->inspected_internal) {
        int64_t external = 0;

        rc = lookup_int(q, SQ_CONV_IS_EXTERNAL, m->conv_id, 0, 1, &external);
        if (rc)
            return rc;
        if (external)
            return STORE_CONFLICT; /* inspected for the wrong audience */
    }
    if (m->forward_of) {
        rc = msg_get(q, m->forward_of, &src);
        if (!rc && src.recalled)
            rc = STORE_NOTFOUND;
        if (rc)
            goto fail;
        store_forward_provenance(&src, &origin, &author, &depth);
    }
    st = sq_stmt(q, SQ_MSG_INSERT);
    if (!st) {
        rc = sq_prep_rc(q);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, m->conv_id);
    sqlite3_bind_int64(st, 2, m->sender_id);
    sq_bind_text(st, 3, m->client_id);
    sqlite3_bind_int64(st, 4, m->now);
    sqlite3_bind_text(st, 5, m->text ? m->text : "", (int)m->text_len, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, m->masked);
    sq_bind_text(st, 7, m->verdict);
    sq_bind_text(st, 8, m->justification);
    sq_bind_id(st, 9, m->forward_of);
    sq_bind_id(st, 10, origin);
    sq_bind_id(st, 11, author);
    sqlite3_bind_int(st, 12, depth);
    sqlite3_bind_int(st, 13, m->inspected_external);
    sq_bind_text(st, 14, m->kind ? m->kind : "text");
    sq_bind_text(st, 15, m->meta);
    sqlite3_bind_int(st, 16, m->burn ? STORE_BURN_LIVE : STORE_BURN_NONE);
    sqlite3_bind_int64(st, 17, m->burn ? m->burn_deadline : 0);
    sq_bind_text(st, 18, m->inbound_warning);
    rc = sq_exec(q, st);
    if (rc)
        goto fail;
    id = sqlite3_last_insert_rowid(q->db);
    rc = sq_run_ids(q, SQ_CONV_LAST, m->conv_id, id, m->now, 3);
    if (rc)
        goto fail;
    rc = store_message_side_records(&q->base, m, id);
    if (!rc && m->n_attachments)
        rc = store_message_files_set(&q->base, id, m->attachments, m->n_attachments);
    if (!rc && m->reminder_id)
        rc = sq_reminder_delivered(q, m->reminder_id, m->reminder_next_at, m->now);
    if (rc)
        goto fail;
    /* on NOMEM the caller rolls the insert back: an error means nothing stored */
    rc = store_message_from_new(out, m, id, origin, author, depth);
fail:
    store_message_clear(&src);
    return rc;
}

int sq_message_append(store *s, const store_message_new *m, store_message *out, bool *duplicate)
{
    sq *q = (sq *)s;
    store_message tmp = {0}, *o = out ? out : &tmp;
    bool dup = false;
    int rc;

    memset(o, 0, sizeof *o);
    if (duplicate)
        *duplicate = false;
    if (!m)
        return STORE_INVAL;
    rc = sq_begin(q);
    if (rc)
        return rc;
    rc = append_one(q, m, o, &dup);
    rc = sq_end(q, rc); /* any failure, even NOMEM after the insert, stores nothing */
    if (rc)
        store_message_clear(o);
    if (!rc && duplicate)
        *duplicate = dup;
    store_message_clear(&tmp);
    return rc;
}

int sq_message_append_batch(store *s, const store_message_new *m, size_t n, store_message *out,
                            int *rcs, bool *duplicate)
{
    sq *q = (sq *)s;
    store_message tmp = {0};
    int rc;

    /* Inside store_tx (the writer carrying delivered receipts in the same
     * transaction, chat_commit.h) the batch is a savepoint of it, made
     * durable by the caller's commit. */
    if (!m || !rcs)
        return STORE_INVAL;
    for (size_t i = 0; i < n; i++) {
        rcs[i] = STORE_INVAL;
        if (out)
            memset(&out[i], 0, sizeof out[i]);
        if (duplicate)
            duplicate[i] = false;
    }
    rc = sq_begin(q);
    if (rc)
        goto fail;
    /* Each message in its own savepoint: one bad item (not a member, bad
     * forward) rolls back alone and the rest still commit together. */
    for (size_t i = 0; i < n && !rc; i++) {
        store_message *o = out ? &out[i] : &tmp;
        bool dup = false;
        int r = sq_begin(q);

        if (r) {
            rc = r;
            break;
        }
        r = append_one(q, &m[i], o, &dup);
        rcs[i] = r;
        if (duplicate)
            duplicate[i] = dup;
        r = sq_end(q, r);
        if (r && r != rcs[i])
            rc = r; /* the savepoint itself failed: give up on the batch */
        store_message_clear(&tmp);
        /* errors that poison the whole transaction stop the batch */
        if (rcs[i] == STORE_BUSY || rcs[i] == STORE_IO || rcs[i] == STORE_CORRUPT)
            rc = rcs[i];
    }
    rc = sq_end(q, rc);
fail:
    if (rc)
        for (size_t i = 0; i < n; i++) {
            rcs[i] = rc;
            if (out)
                store_message_clear(&out[i]);
            if (duplicate)
                duplicate[i] = false;
        }
    return rc;
}

int sq_message_get(store *s, int64_t id, store_message *out)
{
    return msg_get((sq *)s, id, out);
}

static int msg_list(sq *q, int id_stmt, int64_t conv_id, int64_t cursor, int limit,
                    store_messages *out)
{
    sqlite3_stmt *st = sq_stmt(q, id_stmt);
    int rc;

    memset(out, 0, sizeof *out);
    if (limit < 0 || limit > HISTORY_MAX)
        return STORE_INVAL;
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, conv_id);
    sqlite3_bind_int64(st, 2, cursor);
    sqlite3_bind_int(st, 3, limit ? limit : HISTORY_DEFAULT);
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_msg);
    if (rc)
        store_messages_free(out);
    return rc;
}

int sq_message_history(store *s, int64_t conv_id, int64_t before_id, int limit, store_messages *out)
{
    return msg_list((sq *)s, SQ_MSG_HISTORY, conv_id, before_id > 0 ? before_id : INT64_MAX, limit,
                    out);
}

int sq_message_since(store *s, int64_t conv_id, int64_t after_id, int limit, store_messages *out)
{
    return msg_list((sq *)s, SQ_MSG_SINCE, conv_id, after_id, limit, out);
}

/* The bus's gap fill (store.h): every conversation, a primary-key range. */
int sq_message_after(store *s, int64_t after_id, int limit, store_messages *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_MSG_AFTER);
    int rc;

    memset(out, 0, sizeof *out);
    if (limit < 1 || limit > AFTER_MAX)
        return STORE_INVAL;
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, after_id);
    sqlite3_bind_int(st, 2, limit);
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_msg);
    if (rc)
        store_messages_free(out);
    return rc;
}

int sq_message_max_id(store *s, int64_t *out)
{
    return lookup_int((sq *)s, SQ_MSG_MAX_ID, 0, 0, 1, out);
}

int sq_message_recall(store *s, int64_t id, int64_t now)
{
    sq *q = (sq *)s;
    int rc = sq_begin(q), changed = 0;

    /* The text and what its alerts quoted of it go in one transaction. */
    if (!rc)
        rc = sq_run_ids(q, SQ_MSG_RECALL, id, now > 0 ? now : 1, 0, 2);
    if (!rc)
        changed = sqlite3_changes(q->db);
    if (!rc && changed)
        rc = sq_alerts_redact(q, id);
    rc = sq_end(q, rc);
    if (!rc && !changed)
        return lookup_int(q, SQ_MSG_GET, id, 0, 1, NULL); /* recalled already: OK */
    if (!rc && q->depth == 0)
        sq_erase_flush(s);
    return rc;
}

int sq_alerts_redact(sq *q, int64_t id)
{
    int rc = sq_run_ids(q, SQ_ALERT_REDACT, id, 0, 0, 1);

    return rc ? rc : sq_run_ids(q, SQ_ALERT_REDACT_HELD, id, 0, 0, 1);
}

int sq_erase_flush(store *s)
{
    sq *q = (sq *)s;

    /* The old page image with the text still sits in the WAL file until it
     * is overwritten: checkpoint and truncate it now (best effort — readers
     * in progress can keep it; the next recall or checkpoint retries). */
    if (q->depth || q->in_tx)
        return STORE_INVAL;
    sqlite3_busy_timeout(q->db, 0); /* never wait for readers here */
    sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(q->db, q->busy_ms);
    return STORE_OK;
}

int sq_message_forward_chain(store *s, int64_t id, store_messages *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    rc = sq_begin_read((sq *)s);
    if (rc)
        return rc;
    rc = store_forward_chain_walk(s, id, FORWARD_MAX, out);
    sq_end_read((sq *)s);
    return rc;
}

/* ------------------------------------------------------------- receipts */

int sq_receipt_set(store *s, int64_t conv_id, int64_t user_id, bool read, int64_t message_id,
                   bool *advanced)
{
    sq *q = (sq *)s;
    int rc;

    if (advanced)
        *advanced = false;
    if (message_id <= 0)
        return STORE_INVAL;
    rc = sq_run_ids(q, read ? SQ_RECEIPT_READ : SQ_RECEIPT_DELIVERED, conv_id, user_id, message_id,
                    3);
    if (rc)
        return rc;
    if (sqlite3_changes(q->db) == 0)
        return lookup_int(q, SQ_MEMBER_ROLE, conv_id, user_id, 2, NULL);
    if (advanced)
        *advanced = true;
    return STORE_OK;
}

/* --------------------------------------------------------------- alerts */

static int row_alert(sq *q, sqlite3_stmt *st, void *item)
{
    store_alert *a = item;

    a->id = sqlite3_column_int64(st, 0);
    a->created_at = sqlite3_column_int64(st, 1);
    a->user_id = sq_col_id(st, 2);
    a->conv_id = sq_col_id(st, 3);
    a->message_id = sq_col_id(st, 4);
    a->category = sq_col_text(q, st, 5);
    a->verdict = sq_col_text(q, st, 6);
    a->rule = sq_col_text(q, st, 7);
    a->findings_json = sq_col_text(q, st, 8);
    a->justification = sq_col_text(q, st, 9);
    a->status = (store_alert_status)sqlite3_column_int(st, 10);
    a->acked_by = sq_col_id(st, 11);
    a->acked_at = sqlite3_column_int64(st, 12);
    a->ack_comment = sq_col_text(q, st, 13);
    a->resolved_by = sq_col_id(st, 14);
    a->resolved_at = sqlite3_column_int64(st, 15);
    a->resolve_comment = sq_col_text(q, st, 16);
    a->kind = sq_col_text(q, st, 17);
    a->reporter_id = sq_col_id(st, 18);
    a->note = sq_col_text(q, st, 19);
    a->evidence_json = sq_col_text(q, st, 20);
    return STORE_OK;
}

int sq_alert_create(store *s, const store_alert_new *a, int64_t *id_out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    char *findings = NULL, *evidence = NULL;
    int rc;

    if (id_out)
        *id_out = 0;
    if (!a || !a->category || !a->verdict || !a->findings_json)
        return STORE_INVAL;
    rc = store_json_canonical(a->findings_json, false, &findings);
    if (!rc && a->evidence_json)
        rc = store_json_canonical(a->evidence_json, false, &evidence);
    if (rc)
        goto fail;
    st = sq_stmt(q, SQ_ALERT_INSERT);
    if (!st) {
        rc = sq_prep_rc(q);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, a->now);
    sq_bind_id(st, 2, a->user_id);
    sq_bind_id(st, 3, a->conv_id);
    sq_bind_id(st, 4, a->message_id);
    sq_bind_text(st, 5, a->category);
    sq_bind_text(st, 6, a->verdict);
    sq_bind_text(st, 7, a->rule);
    sq_bind_text(st, 8, findings);
    sq_bind_text(st, 9, a->justification);
    sq_bind_text(st, 10, a->kind);
    sq_bind_id(st, 11, a->reporter_id);
    sq_bind_text(st, 12, a->note);
    sq_bind_text(st, 13, evidence);
    rc = sq_exec(q, st);
    if (!rc && id_out)
        *id_out = sqlite3_last_insert_rowid(q->db);
fail:
    free(findings);
    free(evidence);
    return rc;
}

int sq_alert_get(store *s, int64_t id, store_alert *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_ALERT_GET);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, id);
    rc = sq_one(q, st, row_alert, out);
    if (rc)
        store_alert_clear(out);
    return rc;
}

int sq_alert_list(store *s, const store_alert_filter *f, store_alerts *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (!f || f->limit < 0 || f->limit > ALERTS_MAX)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_ALERT_LIST);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, f->before_id > 0 ? f->before_id : INT64_MAX);
    sqlite3_bind_int64(st, 2, f->since);
    sqlite3_bind_int64(st, 3, f->until);
    sq_bind_text(st, 4, f->category);
    sqlite3_bind_int64(st, 5, f->user_id);
    sqlite3_bind_int64(st, 6, f->conv_id);
    sqlite3_bind_int(st, 7, f->by_status ? (int)f->status : -1);
    sqlite3_bind_int(st, 8, f->limit ? f->limit : ALERTS_DEFAULT);
    sq_bind_text(st, 9, f->kind);
    sqlite3_bind_int64(st, 10, f->reporter_id);
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_alert);
    if (rc)
        store_alerts_free(out);
    return rc;
}

/* ack (to = ACKED) or resolve (to = RESOLVED); see store.h for the rules. */
static int alert_move(sq *q, int id_stmt, int64_t id, int64_t actor, const char *comment,
                      int64_t now, store_alert_status to)
{
    sqlite3_stmt *st = sq_stmt(q, id_stmt);
    int64_t status = 0;
    int rc;

    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, id);
    sq_bind_id(st, 2, actor);
    sqlite3_bind_int64(st, 3, now);
    sq_bind_text(st, 4, comment && *comment ? comment : NULL);
    rc = sq_exec(q, st);
    if (rc || sqlite3_changes(q->db))
        return rc;
    rc = lookup_int(q, SQ_ALERT_STATUS, id, 0, 1, &status);
    if (rc)
        return rc;
    if (status == STORE_ALERT_RESOLVED)
        return STORE_CONFLICT;
    return to == STORE_ALERT_ACKED ? STORE_OK : STORE_CONFLICT;
}

int sq_alert_ack(store *s, int64_t id, int64_t actor, const char *comment, int64_t now)
{
    return alert_move((sq *)s, SQ_ALERT_ACK, id, actor, comment, now, STORE_ALERT_ACKED);
}

int sq_alert_resolve(store *s, int64_t id, int64_t actor, const char *comment, int64_t now)
{
    if (!comment || !*comment)
        return STORE_INVAL;
    return alert_move((sq *)s, SQ_ALERT_RESOLVE, id, actor, comment, now, STORE_ALERT_RESOLVED);
}
