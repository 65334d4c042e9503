/*
 * store_pg_chat.c — the PostgreSQL backend's conversations, members,
 * messages (idempotent append, group commit, history, recall, forward
 * provenance), receipts and officer alerts; the same contracts as
 * store_sqlite_chat.c (store.h).
 *
 * Where PostgreSQL differs: a failed statement aborts its transaction, so
 * every step that may fail while the caller carries on runs in a
 * savepoint (pg_begin inside a bracket); appends lock their conversation's
 * row first so ids follow commit order per conversation with several
 * writers; the redaction of alerts on recall is done in C (jansson) so the
 * JSON keeps the canonical bytes the SQLite backend writes.
 */
#include "store/store_files.h"
#include "store/store_pg_int.h"

#include <jansson.h>
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

static int run_ids(pg *q, int id_stmt, int64_t a, int64_t b, int64_t c, int nargs, int64_t *changes)
{
    pg_args x = {0};

    pa_i64(&x, a);
    if (nargs > 1)
        pa_i64(&x, b);
    if (nargs > 2)
        pa_i64(&x, c);
    return pg_run(q, id_stmt, NULL, &x, changes);
}

static int lookup_int(pg *q, int id_stmt, int64_t a, int64_t b, int nargs, int64_t *out)
{
    pg_args x = {0};

    pa_i64(&x, a);
    if (nargs > 1)
        pa_i64(&x, b);
    return pg_int(q, id_stmt, NULL, &x, out);
}

static int user_exists(pg *q, int64_t id)
{
    return lookup_int(q, PG_USER_EXISTS, id, 0, 1, NULL);
}

static void read_conv(pg *q, PGresult *r, int row, store_conv *c)
{
    c->id = pg_i64(r, row, 0);
    c->kind = (store_conv_kind)pg_i64(r, row, 1);
    c->title = pg_text(q, r, row, 2);
    if (!c->title && !q->oom)
        c->title = strdup("");
    if (!c->title)
        q->oom = true;
    c->external = pg_bool(r, row, 3);
    c->created_by = pg_i64(r, row, 4);
    c->created_at = pg_i64(r, row, 5);
    c->updated_at = pg_i64(r, row, 6);
    c->last_message_id = pg_i64(r, row, 7);
    c->member_count = pg_i64(r, row, 8);
    c->shared_history = pg_bool(r, row, 9);
}

static int row_conv(pg *q, PGresult *r, int row, void *item)
{
    read_conv(q, r, row, item);
    return STORE_OK;
}

int pg_row_message(pg *q, PGresult *r, int row, void *item)
{
    store_message *m = item;

    m->id = pg_i64(r, row, 0);
    m->conv_id = pg_i64(r, row, 1);
    m->sender_id = pg_i64(r, row, 2);
    m->client_id = pg_text(q, r, row, 3);
    m->created_at = pg_i64(r, row, 4);
    m->text = pg_text(q, r, row, 5);
    m->text_len = m->text ? (size_t)PQgetlength(r, row, 5) : 0;
    m->masked = pg_bool(r, row, 6);
    m->verdict = pg_text(q, r, row, 7);
    m->justification = pg_text(q, r, row, 8);
    m->recalled_at = pg_i64(r, row, 9);
    m->recalled = m->recalled_at != 0;
    m->forward_of = pg_i64(r, row, 10);
    m->forward_origin_id = pg_i64(r, row, 11);
    m->forward_author_id = pg_i64(r, row, 12);
    m->forward_depth = (int)pg_i64(r, row, 13);
    m->inspected_external = pg_bool(r, row, 14);
    m->contained = (int)pg_i64(r, row, 15);
    m->kind = pg_text(q, r, row, 16);
    m->meta = pg_text(q, r, row, 17);
    m->burn = (int)pg_i64(r, row, 18);
    m->burn_deadline = pg_i64(r, row, 19);
    m->inbound_warning = pg_text(q, r, row, 20);
    m->attachments = pg_text(q, r, row, 21);
    return STORE_OK;
}

static int msg_one(pg *q, int id_stmt, const pg_args *a, store_message *out)
{
    int rc = pg_one(q, id_stmt, NULL, a, pg_row_message, out);

    if (rc)
        store_message_clear(out);
    return rc;
}

static int msg_get(pg *q, int64_t id, store_message *out)
{
    pg_args a = {0};

    memset(out, 0, sizeof *out);
    pa_i64(&a, id);
    return msg_one(q, PG_MSG_GET, &a, out);
}

/* ------------------------------------------------------- conversations */

static int member_insert(pg *q, int64_t conv_id, int64_t user_id, store_member_role role,
                         int64_t now)
{
    pg_args a = {0};
    int rc = user_exists(q, user_id);

    if (rc)
        return rc;
    pa_i64(&a, conv_id);
    pa_i64(&a, user_id);
    pa_i64(&a, role);
    pa_i64(&a, now);
    return pg_run(q, PG_MEMBER_INSERT, NULL, &a, NULL);
}

static int direct_find(pg *q, int64_t a, int64_t b, char key[48], int64_t *id)
{
    pg_args x = {0};

    snprintf(key, 48, "%lld:%lld", (long long)(a < b ? a : b), (long long)(a < b ? b : a));
    pa_text(&x, key);
    return pg_int(q, PG_CONV_BY_DIRECT, NULL, &x, id);
}

int pg_conv_create(store *s, store_conv_kind kind, const char *title, int64_t creator,
                   const int64_t *member_ids, size_t n_members, int64_t now, int64_t *id_out,
                   bool *created)
{
    pg *q = (pg *)s;
    pg_args a = {0};
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
    rc = pg_begin(q);
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
    pa_i64(&a, kind);
    pa_text(&a, kind == STORE_CONV_GROUP && title ? title : "");
    pa_i64(&a, creator);
    pa_i64(&a, now);
    pa_text(&a, kind == STORE_CONV_DIRECT ? key : NULL);
    rc = pg_int(q, PG_CONV_INSERT, NULL, &a, &id);
    if (rc)
        goto end;
    fresh = true;
    rc = member_insert(q, id, creator, kind == STORE_CONV_GROUP ? STORE_MEMBER_OWNER : STORE_MEMBER,
                       now);
    for (size_t i = 0; !rc && i < n_members; i++)
        if (member_ids[i] != creator && !store_id_seen_before(member_ids, i))
            rc = member_insert(q, id, member_ids[i], STORE_MEMBER, now);
    if (!rc)
        rc = run_ids(q, PG_CONV_EXTERNAL, id, 0, 0, 1, NULL);
end:
    rc = pg_end(q, rc);
    if (!rc && id_out)
        *id_out = id;
    if (!rc && created)
        *created = fresh;
    return rc;
}

int pg_conv_get(store *s, int64_t id, store_conv *out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_i64(&a, id);
    rc = pg_one(q, PG_CONV_GET, NULL, &a, row_conv, out);
    if (rc)
        store_conv_clear(out);
    return rc;
}

int pg_conv_list_for_user(store *s, int64_t user_id, store_conv_summaries *out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    PGresult *r = NULL;
    size_t cap = 0;
    int rc;

    memset(out, 0, sizeof *out);
    /* one snapshot: counts and last messages agree with the list */
    rc = pg_begin_read(q);
    if (rc)
        return rc;
    pa_i64(&a, user_id);
    r = pg_exec(q, PG_CONV_LIST_USER, NULL, &a, &rc);
    q->oom = false;
    for (int i = 0; r && !rc && i < PQntuples(r); i++) {
        store_conv_summary *x = pg_grow((void **)&out->items, &out->n, &cap, sizeof *x);

        if (!x) {
            rc = STORE_NOMEM;
            break;
        }
        read_conv(q, r, i, &x->conv);
        x->my_role = (store_member_role)pg_i64(r, i, PG_CONV_NCOLS);
        x->my_history_from = pg_i64(r, i, PG_CONV_NCOLS + 1);
        x->unread = pg_i64(r, i, PG_CONV_NCOLS + 2);
        if (q->oom) {
            rc = STORE_NOMEM;
            break;
        }
        if (x->conv.last_message_id)
            rc = msg_get(q, x->conv.last_message_id, &x->last);
    }
    PQclear(r);
    pg_end_read(q);
    if (rc)
        store_conv_summaries_free(out);
    return rc;
}

int pg_conv_rename(store *s, int64_t id, const char *title, int64_t now)
{
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    if (!title)
        return STORE_INVAL;
    pa_i64(&a, id);
    pa_text(&a, title);
    pa_i64(&a, now);
    rc = pg_run1((pg *)s, PG_CONV_RENAME, NULL, &a, &n);
    if (!rc && n == 0)
        rc = STORE_NOTFOUND;
    return rc;
}

/* After a membership change: `external` and updated_at follow. */
static int conv_changed(pg *q, int64_t conv_id, int64_t now)
{
    int rc = run_ids(q, PG_CONV_EXTERNAL, conv_id, 0, 0, 1, NULL);

    return rc ? rc : run_ids(q, PG_CONV_TOUCH, conv_id, now, 0, 2, NULL);
}

int pg_member_add(store *s, int64_t conv_id, int64_t user_id, store_member_role role, int64_t now)
{
    pg *q = (pg *)s;
    int64_t kind = 0;
    int rc;

    if ((unsigned)role > STORE_MEMBER_OWNER)
        return STORE_INVAL;
    rc = pg_begin(q);
    if (rc)
        return rc;
    rc = lookup_int(q, PG_CONV_KIND, conv_id, 0, 1, &kind);
    if (!rc && kind != STORE_CONV_GROUP)
        rc = STORE_INVAL;
    if (!rc)
        rc = member_insert(q, conv_id, user_id, role, now);
    if (!rc)
        rc = conv_changed(q, conv_id, now);
    return pg_end(q, rc);
}

int pg_member_remove(store *s, int64_t conv_id, int64_t user_id, int64_t now)
{
    pg *q = (pg *)s;
    int64_t n = 0;
    int rc = pg_begin(q);

    if (rc)
        return rc;
    rc = run_ids(q, PG_MEMBER_DELETE, conv_id, user_id, 0, 2, &n);
    if (!rc && n == 0)
        rc = STORE_NOTFOUND;
    if (!rc)
        rc = conv_changed(q, conv_id, now);
    return pg_end(q, rc);
}

int pg_member_set_role(store *s, int64_t conv_id, int64_t user_id, store_member_role role)
{
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    if ((unsigned)role > STORE_MEMBER_OWNER)
        return STORE_INVAL;
    pa_i64(&a, conv_id);
    pa_i64(&a, user_id);
    pa_i64(&a, role);
    rc = pg_run1((pg *)s, PG_MEMBER_SET_ROLE, NULL, &a, &n);
    if (!rc && n == 0)
        rc = STORE_NOTFOUND;
    return rc;
}

int pg_member_check(store *s, int64_t conv_id, int64_t user_id, store_member_role *out)
{
    int64_t role = 0;
    int rc = lookup_int((pg *)s, PG_MEMBER_ROLE, conv_id, user_id, 2, &role);

    if (out)
        *out = rc ? STORE_MEMBER : (store_member_role)role;
    return rc;
}

static int row_member(pg *q, PGresult *r, int row, void *item)
{
    store_member *m = item;

    (void)q;
    m->user_id = pg_i64(r, row, 0);
    m->role = (store_member_role)pg_i64(r, row, 1);
    m->joined_at = pg_i64(r, row, 2);
    m->delivered_id = pg_i64(r, row, 3);
    m->read_id = pg_i64(r, row, 4);
    m->external = pg_bool(r, row, 5);
    m->history_from = pg_i64(r, row, 6);
    return STORE_OK;
}

int pg_member_get(store *s, int64_t conv_id, int64_t user_id, store_member *out)
{
    pg_args a = {0};

    memset(out, 0, sizeof *out);
    pa_i64(&a, conv_id);
    pa_i64(&a, user_id);
    return pg_one((pg *)s, PG_MEMBER_GET, NULL, &a, row_member, out);
}

int pg_conv_set_shared_history(store *s, int64_t id, bool shared, int64_t now)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t kind = 0;
    int rc = lookup_int(q, PG_CONV_KIND, id, 0, 1, &kind);

    if (!rc && kind != STORE_CONV_GROUP)
        rc = STORE_INVAL;
    if (rc)
        return rc;
    pa_i64(&a, id);
    pa_bool(&a, shared);
    pa_i64(&a, now);
    return pg_run1(q, PG_CONV_SET_SHARED, NULL, &a, NULL);
}

int pg_member_list(store *s, int64_t conv_id, store_members *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_i64(&a, conv_id);
    rc = pg_list((pg *)s, PG_MEMBER_LIST, NULL, &a, (void **)&out->items, &out->n,
                 sizeof *out->items, row_member);
    if (rc)
        store_members_free(out);
    return rc;
}

/* ------------------------------------------------------------- messages */

/* What a batch moves its conversations on to at its end (CONV_LAST); a
 * conversation listed here has its row locked by the batch's transaction
 * (locks_take at its start, outside any savepoint: held to the commit). */
typedef struct conv_last {
    int64_t conv_id, id, at;
} conv_last;

typedef struct conv_lasts {
    conv_last *items;
    size_t n, cap;
} conv_lasts;

static int last_note(conv_lasts *l, int64_t conv_id, int64_t id, int64_t at)
{
    conv_last *x;

    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].conv_id == conv_id) {
            if (id > l->items[i].id) {
                l->items[i].id = id;
                l->items[i].at = at;
            }
            return STORE_OK;
        }
    x = pg_grow((void **)&l->items, &l->n, &l->cap, sizeof *x);
    if (!x)
        return STORE_NOMEM;
    *x = (conv_last){conv_id, id, at};
    return STORE_OK;
}

/* Appends one message inside an open write bracket. out is filled from
 * what was stored (no re-read: this is the hot path of group commit).
 * With lasts (a batch), the conversation's last id is noted there and
 * moved at the batch's end; without, by the INSERT's own statement. */
/* $1..$18 of MSG_INSERT / MSG_APPEND. */
static void msg_args(pg_args *a, const store_message_new *m, int64_t origin, int64_t author,
                     int depth)
{
    memset(a, 0, sizeof *a);
    pa_i64(a, m->conv_id);
    pa_i64(a, m->sender_id);
    pa_text(a, m->client_id);
    pa_i64(a, m->now);
    pa_bin(a, m->text ? m->text : "", m->text_len);
    pa_bool(a, m->masked);
    pa_text(a, m->verdict);
    pa_text(a, m->justification);
    pa_id(a, m->forward_of);
    pa_id(a, origin);
    pa_id(a, author);
    pa_i64(a, depth);
    pa_bool(a, m->inspected_external);
    pa_text(a, m->kind ? m->kind : "text");
    pa_text(a, m->meta);
    pa_i64(a, m->burn ? STORE_BURN_LIVE : STORE_BURN_NONE);
    pa_i64(a, m->burn ? m->burn_deadline : 0);
    pa_text(a, m->inbound_warning);
}

static int append_one(pg *q, const store_message_new *m, store_message *out, bool *dup,
                      conv_lasts *lasts)
{
    store_message src = {0};
    pg_args a = {0};
    PGresult *r;
    int64_t origin = 0, author = 0, id = 0;
    int depth = 0, rc;
    bool external = false, member = false;

    *dup = false;
    if (!store_message_new_valid(m))
        return STORE_INVAL;
    if (lasts && !m->forward_of) {
        /* the common case in one round trip; on no row, the checks below
         * tell why (the conversation's row is locked by now) */
        bool locked = false;

        for (size_t i = 0; i < lasts->n && !locked; i++)
            locked = lasts->items[i].conv_id == m->conv_id;
        msg_args(&a, m, 0, 0, 0);
        pa_bool(&a, m->inspected_internal);
        r = pg_exec(q, locked ? PG_MSG_APPEND_LOCKED : PG_MSG_APPEND, NULL, &a, &rc);
        if (r && PQntuples(r) == 1)
            id = pg_i64(r, 0, 0);
        PQclear(r);
        if (rc)
            return rc;
        if (id)
            goto inserted;
    }
    memset(&a, 0, sizeof a);
    pa_i64(&a, m->conv_id);
    pa_i64(&a, m->sender_id);
    pa_text(&a, m->client_id);
    r = pg_exec(q, PG_APPEND_CHECK, NULL, &a, &rc);
    if (r && PQntuples(r) == 0)
        rc = STORE_NOTFOUND; /* no such conversation */
    else if (r) {
        external = pg_bool(r, 0, 0);
        member = !PQgetisnull(r, 0, 1);
        id = pg_i64(r, 0, 2);
    }
    PQclear(r);
    if (rc)
        return rc;
    if (id) {
        /* the same send again: what was stored the first time */
        rc = msg_get(q, id, out);
        *dup = rc == STORE_OK;
        return rc;
    }
    if (!member)
        return STORE_NOTFOUND;
    if (m->inspected_internal && external)
        return STORE_CONFLICT; /* inspected for the wrong audience */
    if (m->forward_of) {
        rc = msg_get(q, m->forward_of, &src);
        if (!rc && src.recalled)
            rc = STORE_NOTFOUND;
        if (rc)
            goto fail;
        store_forward_provenance(&src, &origin, &author, &depth);
    }
    msg_args(&a, m, origin, author, depth);
    rc = pg_int(q, lasts ? PG_MSG_INSERT : PG_MSG_INSERT_LAST, NULL, &a, &id);
    if (rc)
        goto fail;
inserted:
    rc = store_message_side_records(&q->base, m, id);
    if (!rc && m->n_attachments)
        rc = store_message_files_set(&q->base, id, m->attachments, m->n_attachments);
    if (!rc && m->reminder_id)
        rc = pg_reminder_delivered(q, m->reminder_id, m->reminder_next_at, m->now);
    if (rc)
        goto fail;
    /* on NOMEM the caller rolls the insert back: an error means nothing stored */
    rc = store_message_from_new(out, m, id, origin, author, depth);
fail:
    store_message_clear(&src);
    return rc;
}

int pg_message_append(store *s, const store_message_new *m, store_message *out, bool *duplicate)
{
    pg *q = (pg *)s;
    store_message tmp = {0}, *o = out ? out : &tmp;
    bool dup = false;
    int rc;

    memset(o, 0, sizeof *o);
    if (duplicate)
        *duplicate = false;
    if (!m)
        return STORE_INVAL;
    rc = pg_begin(q);
    if (rc)
        return rc;
    rc = append_one(q, m, o, &dup, NULL);
    rc = pg_end(q, rc); /* any failure, even NOMEM after the insert, stores nothing */
    if (rc)
        store_message_clear(o);
    if (!rc && duplicate)
        *duplicate = dup;
    store_message_clear(&tmp);
    return rc;
}

/* A message whose append is more than its one INSERT (side records, files,
 * a reminder moved on): it runs in a savepoint of its own in a batch. */
static bool several_writes(const store_message_new *m)
{
    return m->alert || m->audit || m->n_attachments || m->reminder_id;
}

/* A plain message (no forward, one write): its append is one statement
 * that goes down a pipeline with its neighbours in the batch. */
static bool pipelinable(const store_message_new *m)
{
    return !m->forward_of && !several_writes(m);
}

/* Errors that poison the whole transaction stop the batch. */
static bool batch_fatal(int rc)
{
    return rc == STORE_BUSY || rc == STORE_IO || rc == STORE_CORRUPT || rc == STORE_NOMEM;
}

/* One message of a batch on its own (store_message_append_batch): *bad
 * is set when its statement aborted the transaction (the caller rolls
 * back and runs the batch again without it). */
static int append_alone(pg *q, const store_message_new *m, store_message *o, int *rcs, bool *dup,
                        conv_lasts *lasts, bool *bad)
{
    bool sp = several_writes(m);
    int r, rc = STORE_OK;

    if (sp && (rc = pg_begin(q)) != STORE_OK)
        return rc;
    r = append_one(q, m, o, dup, lasts);
    *rcs = r;
    if (sp) {
        r = pg_end(q, r);
        if (r && r != *rcs)
            rc = r; /* the savepoint itself failed: give up on the batch */
        else if (!*rcs && !*dup)
            rc = last_note(lasts, m->conv_id, o->id, m->now);
    } else if (!r && !*dup) {
        rc = last_note(lasts, m->conv_id, o->id, m->now);
    } else if (r && !batch_fatal(r) && PQtransactionStatus(q->conn) == PQTRANS_INERROR) {
        *bad = true;
    }
    if (!rc && batch_fatal(*rcs))
        rc = *rcs;
    return rc;
}

/* The plain messages m[from..to) of a batch in one round trip (pipeline
 * mode): the row lock of each conversation the batch holds no lock on yet
 * (CONV_LOCK), then MSG_APPEND_LOCKED for each message. One that comes
 * back without a row (sent before, not a member, the wrong audience, no
 * such conversation) goes through append_one afterwards to learn why.
 * *bad = the index of a message whose statement failed and aborted the
 * transaction (bad bytes: the caller rolls back and runs the batch again
 * without it), SIZE_MAX when none. */
static int append_pipelined(pg *q, const store_message_new *m, size_t from, size_t to,
                            store_message *out, int *rcs, bool *duplicate, conv_lasts *lasts,
                            size_t *bad)
{
    size_t cap = 2 * (to - from), nc = 0, failed;
    pg_call *c = calloc(cap, sizeof *c);
    pg_args *a = calloc(cap, sizeof *a);
    size_t *item = calloc(cap, sizeof *item); /* the message of each call; SIZE_MAX: a lock */
    store_message tmp = {0};
    int rc = STORE_OK;

    *bad = SIZE_MAX;
    if (!c || !a || !item) {
        rc = STORE_NOMEM;
        goto out;
    }
    for (size_t i = from; i < to && !rc; i++) {
        bool locked = false;

        for (size_t k = 0; k < lasts->n && !locked; k++)
            locked = lasts->items[k].conv_id == m[i].conv_id;
        if (!locked) {
            /* a lock taken outside any savepoint: held to the commit */
            rc = last_note(lasts, m[i].conv_id, 0, 0);
            pa_i64(&a[nc], m[i].conv_id);
            c[nc] = (pg_call){.id = PG_CONV_LOCK, .a = &a[nc]};
            item[nc++] = SIZE_MAX;
        }
        msg_args(&a[nc], &m[i], 0, 0, 0);
        pa_bool(&a[nc], m[i].inspected_internal);
        c[nc] = (pg_call){.id = PG_MSG_APPEND_LOCKED, .a = &a[nc]};
        item[nc++] = i;
    }
    if (!rc)
        rc = pg_pipeline(q, c, nc, &failed);
    if (rc) {
        if (!batch_fatal(rc) && failed < nc && item[failed] != SIZE_MAX) {
            *bad = item[failed];
            rcs[*bad] = rc;
        }
        goto out;
    }
    for (size_t k = 0; k < nc && !rc; k++) {
        size_t i = item[k];
        store_message *o = out ? &out[i] : &tmp;
        bool dup = false;
        int r;

        if (i == SIZE_MAX)
            continue;
        if (PQntuples(c[k].res) == 1) {
            int64_t id = pg_i64(c[k].res, 0, 0);

            r = store_message_from_new(o, &m[i], id, 0, 0, 0);
            if (!r)
                rc = last_note(lasts, m[i].conv_id, id, m[i].now);
        } else {
            bool ignored = false;

            rc = append_alone(q, &m[i], o, &r, &dup, lasts, &ignored);
        }
        rcs[i] = r;
        if (duplicate)
            duplicate[i] = dup;
        store_message_clear(&tmp);
        if (!rc && batch_fatal(r))
            rc = r; /* NOMEM too: its row is in the transaction, which must not commit */
    }
out:
    for (size_t k = 0; c && k < nc; k++)
        PQclear(c[k].res);
    free(c);
    free(a);
    free(item);
    return rc;
}

static int conv_id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Locks the rows of the conversations of the items run[i] names, in one
 * statement, in ascending id order, and lists the ones it locked in lasts.
 * wait: each row is waited for (CONV_LOCK_WAIT): two writers whose
 * batches share conversations (two nodes) wait on each other at most for
 * one commit and never in a cycle — taken one by one in message order, as
 * once, node A held 5 and wanted 9 while node B held 9 and wanted 5, and
 * each such deadlock cost deadlock_timeout (1 s) and a batch's retry.
 * !wait: only the rows nobody holds (CONV_LOCK_FREE, SKIP LOCKED); the
 * caller defers the rest. A missing conversation locks nothing; its
 * append fails on its own. */
static int locks_take(pg *q, const store_message_new *m, size_t n, const bool *run, bool wait,
                      conv_lasts *lasts)
{
    int64_t *ids = calloc(n ? n : 1, sizeof *ids);
    /* "{1,2,…}": an id and its comma take at most 21 characters, and the
     * braces and the NUL 3 more */
    char *list = calloc(1, (n ? n : 1) * 21 + 3);
    size_t k = 0, len = 0;
    pg_args a = {0};
    PGresult *r = NULL;
    int rc = ids && list ? STORE_OK : STORE_NOMEM;

    for (size_t i = 0; i < n && !rc; i++)
        if (run[i])
            ids[k++] = m[i].conv_id;
    if (rc || !k)
        goto out;
    qsort(ids, k, sizeof *ids, conv_id_cmp);
    list[len++] = '{';
    for (size_t i = 0; i < k; i++)
        if (!i || ids[i] != ids[i - 1])
            len += (size_t)sprintf(list + len, "%s%lld", len > 1 ? "," : "", (long long)ids[i]);
    list[len++] = '}';
    pa_text(&a, list);
    r = pg_exec(q, wait ? PG_CONV_LOCK_WAIT : PG_CONV_LOCK_FREE, NULL, &a, &rc);
    for (int i = 0; r && !rc && i < PQntuples(r); i++)
        rc = last_note(lasts, pg_i64(r, i, 0), 0, 0);
out:
    PQclear(r);
    free(ids);
    free(list);
    return rc;
}

/* Moves each conversation the batch appended to on to its last message and
 * commits, in one round trip: the UPDATEs and the COMMIT go down one
 * pipeline (PG_PIPE_MAX - 1 UPDATEs with it; a batch of the server's
 * writer may span more, sent first). The conversations' rows stay locked
 * until the COMMIT returns in any case; sending the moves with it keeps
 * the hold to the appends, the COMMIT and its WAL flush. Ends the
 * transaction either way (a failure rolls it back). */
static int lasts_commit(pg *q, const conv_lasts *lasts)
{
    /* on the heap: PG_PIPE_MAX argument sets are ~100 KiB */
    pg_call *c = calloc(PG_PIPE_MAX, sizeof *c);
    pg_args *a = calloc(PG_PIPE_MAX, sizeof *a);
    size_t nc = 0, failed;
    int rc = c && a ? STORE_OK : STORE_NOMEM;

    if (rc || !lasts->n) {
        free(c);
        free(a);
        return pg_end(q, rc); /* nothing locked: nothing written */
    }
    for (size_t i = 0; i <= lasts->n && !rc; i++) {
        bool end = i == lasts->n;

        if (!end && !lasts->items[i].id)
            continue; /* locked, nothing appended */
        if (end)
            c[nc++] = (pg_call){.id = PG_ADHOC, .sql = "COMMIT"};
        else {
            memset(&a[nc], 0, sizeof a[nc]);
            pa_i64(&a[nc], lasts->items[i].conv_id);
            pa_i64(&a[nc], lasts->items[i].id);
            pa_i64(&a[nc], lasts->items[i].at);
            c[nc] = (pg_call){.id = PG_CONV_LAST, .a = &a[nc]};
            nc++;
        }
        if (end || nc == PG_PIPE_MAX - 1) {
            rc = pg_pipeline(q, c, nc, &failed);
            for (size_t k = 0; k < nc; k++)
                PQclear(c[k].res);
            nc = 0;
        }
    }
    free(c);
    free(a);
    if (rc)
        return pg_end(q, rc); /* rolls back (after a failed COMMIT: a no-op) */
    q->depth--;               /* the pipeline's COMMIT ended the transaction */
    return STORE_OK;
}

/* Clears what the items of one transaction of a batch (run[i]) got. */
static void batch_reset(size_t n, const bool *run, store_message *out, int *rcs, bool *duplicate,
                        int rc)
{
    for (size_t i = 0; i < n; i++) {
        if (!run[i])
            continue;
        if (rcs)
            rcs[i] = rc;
        if (out)
            store_message_clear(&out[i]);
        if (duplicate)
            duplicate[i] = false;
    }
}

/* One transaction of a batch: the items with run[i] set. wait: see
 * locks_take. Without wait, the items whose conversation another writer
 * holds are not appended: run[i] is cleared and defer[i] set for them.
 * failed[i] marks an item whose INSERT aborted a transaction (bad bytes):
 * left out of every later attempt, it keeps its own error. */
static int batch_tx(pg *q, const store_message_new *m, size_t n, store_message *out, int *rcs,
                    bool *duplicate, bool *run, bool wait, bool *defer, bool *failed)
{
    store_message tmp = {0};
    conv_lasts lasts = {0};
    int rc;

again:
    lasts.n = 0;
    rc = pg_begin(q);
    if (rc)
        goto fail;
    rc = locks_take(q, m, n, run, wait, &lasts); /* on failure: no append, rolled back below */
    for (size_t i = 0; i < n && !rc && !wait; i++) {
        bool locked = false;

        for (size_t k = 0; run[i] && k < lasts.n && !locked; k++)
            locked = lasts.items[k].conv_id == m[i].conv_id;
        if (run[i] && !locked) {
            /* held by another writer (or no such conversation): its turn
             * comes in the batch's second transaction */
            run[i] = false;
            defer[i] = true;
        }
    }
    /* One bad item (not a member, a bad forward) fails alone and the rest
     * still commit together. Plain messages go down a pipeline, up to
     * PG_PIPE_MAX / 2 a round trip: their checks are the INSERT's own
     * condition, so they need no savepoint. A message with several writes
     * or a forward runs alone, in a savepoint when it writes several rows.
     * Should an INSERT itself fail (bad bytes), the transaction is aborted:
     * it is rolled back and the batch run again without that item (at
     * most once per item). */
    for (size_t i = 0; i < n && !rc;) {
        size_t j = i + 1, bad = SIZE_MAX;
        bool alone_bad = false;

        if (!run[i] || failed[i]) {
            i++;
            continue;
        }
        if (pipelinable(&m[i])) {
            while (j < n && j - i < PG_PIPE_MAX / 2 && run[j] && !failed[j] && pipelinable(&m[j]))
                j++;
            rc = append_pipelined(q, m, i, j, out, rcs, duplicate, &lasts, &bad);
        } else {
            bool dup = false;

            rc = append_alone(q, &m[i], out ? &out[i] : &tmp, &rcs[i], &dup, &lasts, &alone_bad);
            if (duplicate)
                duplicate[i] = dup;
            store_message_clear(&tmp);
            if (alone_bad)
                bad = i;
        }
        if (bad != SIZE_MAX) {
            failed[bad] = true;
            pg_end(q, rc ? rc : rcs[bad]); /* rolls the whole transaction back */
            for (size_t k = 0; k < n; k++) {
                if (!wait && defer[k]) {
                    defer[k] = false; /* looked at again by the next attempt */
                    run[k] = true;
                }
            }
            batch_reset(n, run, out, NULL, duplicate, 0);
            goto again;
        }
        i = j;
    }
    if (!rc)
        rc = lasts_commit(q, &lasts);
    else
        rc = pg_end(q, rc);
fail:
    free(lasts.items);
    store_message_clear(&tmp);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            if (failed[i])
                run[i] = false; /* keeps its own error */
        batch_reset(n, run, out, rcs, duplicate, rc);
    }
    return rc;
}

/* Group commit with several writers. A batch's appends must hold their
 * conversations' rows from the id they take to their commit, so that ids
 * within a conversation follow commit order (a reader's `since` cursor
 * never passes an id that commits later) — and with fsync on, the commit
 * is most of that hold. When another writer (the other node) holds some
 * of the batch's conversations, waiting for them made the whole batch
 * wait for the other's commit and the two nodes' commits took turns (two
 * nodes no faster than one). So the first transaction takes only the
 * conversations nobody holds and commits their messages at once, its WAL
 * flush side by side with the other writer's; the messages of the
 * conversations held elsewhere follow in a second transaction that waits
 * for them (in id order). Each conversation's messages stay in one
 * transaction and in the batch's order. */
int pg_message_append_batch(store *s, const store_message_new *m, size_t n, store_message *out,
                            int *rcs, bool *duplicate)
{
    pg *q = (pg *)s;
    bool *run = NULL, *defer = NULL, *failed = NULL;
    size_t deferred = 0;
    int rc;

    if (!m || !rcs || q->in_tx)
        return STORE_INVAL;
    for (size_t i = 0; i < n; i++) {
        rcs[i] = STORE_INVAL;
        if (out)
            memset(&out[i], 0, sizeof out[i]);
        if (duplicate)
            duplicate[i] = false;
    }
    run = calloc(n ? n : 1, sizeof *run);
    defer = calloc(n ? n : 1, sizeof *defer);
    failed = calloc(n ? n : 1, sizeof *failed);
    if (!run || !defer || !failed) {
        rc = STORE_NOMEM;
        for (size_t i = 0; i < n; i++)
            rcs[i] = rc;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        run[i] = true;
    rc = batch_tx(q, m, n, out, rcs, duplicate, run, false, defer, failed);
    if (rc) {
        /* nothing stored: every item, deferred or not, has the error */
        for (size_t i = 0; i < n; i++)
            run[i] = defer[i] && !failed[i];
        batch_reset(n, run, out, rcs, duplicate, rc);
        for (size_t i = 0; i < n; i++)
            if (failed[i])
                rcs[i] = rc;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        deferred += defer[i];
    if (deferred)
        /* The first transaction's messages are stored: whatever happens
         * here is the deferred items' own result (rcs), and the batch
         * returns STORE_OK. */
        batch_tx(q, m, n, out, rcs, duplicate, defer, true, NULL, failed);
out:
    free(run);
    free(defer);
    free(failed);
    return rc;
}

int pg_message_get(store *s, int64_t id, store_message *out)
{
    return msg_get((pg *)s, id, out);
}

static int msg_list(pg *q, int id_stmt, int64_t conv_id, int64_t cursor, int limit,
                    store_messages *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (limit < 0 || limit > HISTORY_MAX)
        return STORE_INVAL;
    pa_i64(&a, conv_id);
    pa_i64(&a, cursor);
    pa_i64(&a, limit ? limit : HISTORY_DEFAULT);
    rc = pg_list(q, id_stmt, NULL, &a, (void **)&out->items, &out->n, sizeof *out->items,
                 pg_row_message);
    if (rc)
        store_messages_free(out);
    return rc;
}

int pg_message_history(store *s, int64_t conv_id, int64_t before_id, int limit, store_messages *out)
{
    return msg_list((pg *)s, PG_MSG_HISTORY, conv_id, before_id > 0 ? before_id : INT64_MAX, limit,
                    out);
}

int pg_message_since(store *s, int64_t conv_id, int64_t after_id, int limit, store_messages *out)
{
    return msg_list((pg *)s, PG_MSG_SINCE, conv_id, after_id, limit, out);
}

/* The bus's gap fill (store.h): every conversation, a primary-key range. */
int pg_message_after(store *s, int64_t after_id, int limit, store_messages *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (limit < 1 || limit > AFTER_MAX)
        return STORE_INVAL;
    pa_i64(&a, after_id);
    pa_i64(&a, limit);
    rc = pg_list((pg *)s, PG_MSG_AFTER, NULL, &a, (void **)&out->items, &out->n, sizeof *out->items,
                 pg_row_message);
    if (rc)
        store_messages_free(out);
    return rc;
}

int pg_message_max_id(store *s, int64_t *out)
{
    return lookup_int((pg *)s, PG_MSG_MAX_ID, 0, 0, 1, out);
}

int pg_message_recall(store *s, int64_t id, int64_t now)
{
    pg *q = (pg *)s;
    int64_t changed = 0;
    int rc = pg_begin(q);

    /* The text and what its alerts quoted of it go in one transaction. */
    if (!rc)
        rc = run_ids(q, PG_MSG_RECALL, id, now > 0 ? now : 1, 0, 2, &changed);
    if (!rc && changed)
        rc = pg_alerts_redact(q, id, true);
    rc = pg_end(q, rc);
    if (!rc && !changed)
        return lookup_int(q, PG_MSG_GET, id, 0, 1, NULL); /* recalled already: OK */
    return rc;
}

/* ------------------------------------------------------ alert redaction */

/* The findings (JSON text) without context_before/context_after in each
 * element, canonical (sorted keys, compact) like store_json_canonical;
 * NULL when it does not parse (left as it is) or out of memory (*oom). */
static char *strip_context(const char *findings, bool *oom)
{
    json_t *j = json_loads(findings, JSON_REJECT_DUPLICATES, NULL);
    json_t *v;
    size_t i;
    char *out = NULL;

    if (!j)
        return NULL;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (json_is_object(v)) {
                json_object_del(v, "context_before");
                json_object_del(v, "context_after");
            }
        }
    }
    out = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    if (!out)
        *oom = true;
    json_decref(j);
    return out;
}

typedef struct redact_row {
    int64_t id;
    char *findings;
} redact_row;

static int row_redact(pg *q, PGresult *r, int row, void *item)
{
    redact_row *x = item;

    x->id = pg_i64(r, row, 0);
    x->findings = pg_text(q, r, row, 1);
    return STORE_OK;
}

static void redact_rows_free(redact_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].findings);
    free(rows);
}

int pg_alerts_redact(pg *q, int64_t id, bool held)
{
    redact_row *own = NULL, *cand = NULL;
    size_t n_own = 0, n_cand = 0;
    char **stripped = NULL;
    bool oom = false;
    pg_args a = {0};
    int rc;

    pa_i64(&a, id);
    rc = pg_list(q, PG_ADHOC, "SELECT id, findings FROM alerts WHERE message_id = $1 ORDER BY id",
                 &a, (void **)&own, &n_own, sizeof *own, row_redact);
    if (rc)
        goto out;
    stripped = calloc(n_own + 1, sizeof *stripped);
    if (!stripped) {
        rc = STORE_NOMEM;
        goto out;
    }
    for (size_t i = 0; !rc && i < n_own; i++) {
        pg_args u = {0};
        char *sf = own[i].findings ? strip_context(own[i].findings, &oom) : NULL;

        if (oom) {
            rc = STORE_NOMEM;
            break;
        }
        stripped[i] = sf;
        /* an override's justification emptied, not NULL, so the alert
         * still reads as an override (docs/AUDIT.md) */
        pa_i64(&u, own[i].id);
        pa_text(&u, sf);
        rc = pg_run(q, PG_ADHOC,
                    "UPDATE alerts SET justification = CASE WHEN justification IS NULL THEN NULL "
                    "ELSE '' END, findings = coalesce($2, findings) WHERE id = $1",
                    &u, NULL);
    }
    if (rc || !held || !n_own)
        goto out;
    /* The held attempts the message was the justified resend of: confirm
     * alerts with no message, same sender and conversation, not later,
     * whose bare findings are the message's. */
    rc = pg_list(q, PG_ADHOC,
                 "SELECT a.id, a.findings FROM alerts a, messages m WHERE m.id = $1 AND "
                 "a.message_id IS NULL AND a.verdict = 'confirm' AND a.user_id = m.sender_id AND "
                 "a.conv_id = m.conv_id AND a.created_at <= m.created_at ORDER BY a.id",
                 &a, (void **)&cand, &n_cand, sizeof *cand, row_redact);
    for (size_t i = 0; !rc && i < n_cand; i++) {
        char *sf = cand[i].findings ? strip_context(cand[i].findings, &oom) : NULL;
        bool match = false;

        if (oom)
            rc = STORE_NOMEM;
        for (size_t k = 0; sf && k < n_own; k++)
            if (stripped[k] && !strcmp(stripped[k], sf))
                match = true;
        if (!rc && match) {
            pg_args u = {0};

            pa_i64(&u, cand[i].id);
            pa_text(&u, sf);
            rc = pg_run(q, PG_ADHOC, "UPDATE alerts SET findings = $2 WHERE id = $1", &u, NULL);
        }
        free(sf);
    }
out:
    for (size_t i = 0; stripped && i < n_own; i++)
        free(stripped[i]);
    free(stripped);
    redact_rows_free(own, n_own);
    redact_rows_free(cand, n_cand);
    return rc;
}

int pg_message_forward_chain(store *s, int64_t id, store_messages *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    rc = pg_begin_read((pg *)s);
    if (rc)
        return rc;
    rc = store_forward_chain_walk(s, id, FORWARD_MAX, out);
    pg_end_read((pg *)s);
    return rc;
}

/* ------------------------------------------------------------- receipts */

int pg_receipt_set(store *s, int64_t conv_id, int64_t user_id, bool read, int64_t message_id,
                   bool *advanced)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    if (advanced)
        *advanced = false;
    if (message_id <= 0)
        return STORE_INVAL;
    pa_i64(&a, conv_id);
    pa_i64(&a, user_id);
    pa_i64(&a, message_id);
    rc = pg_run1(q, read ? PG_RECEIPT_READ : PG_RECEIPT_DELIVERED, NULL, &a, &n);
    if (rc)
        return rc;
    if (n == 0)
        return lookup_int(q, PG_MEMBER_ROLE, conv_id, user_id, 2, NULL);
    if (advanced)
        *advanced = true;
    return STORE_OK;
}

/* --------------------------------------------------------------- alerts */

static int row_alert(pg *q, PGresult *r, int row, void *item)
{
    store_alert *a = item;

    a->id = pg_i64(r, row, 0);
    a->created_at = pg_i64(r, row, 1);
    a->user_id = pg_i64(r, row, 2);
    a->conv_id = pg_i64(r, row, 3);
    a->message_id = pg_i64(r, row, 4);
    a->category = pg_text(q, r, row, 5);
    a->verdict = pg_text(q, r, row, 6);
    a->rule = pg_text(q, r, row, 7);
    a->findings_json = pg_text(q, r, row, 8);
    a->justification = pg_text(q, r, row, 9);
    a->status = (store_alert_status)pg_i64(r, row, 10);
    a->acked_by = pg_i64(r, row, 11);
    a->acked_at = pg_i64(r, row, 12);
    a->ack_comment = pg_text(q, r, row, 13);
    a->resolved_by = pg_i64(r, row, 14);
    a->resolved_at = pg_i64(r, row, 15);
    a->resolve_comment = pg_text(q, r, row, 16);
    a->kind = pg_text(q, r, row, 17);
    a->reporter_id = pg_i64(r, row, 18);
    a->note = pg_text(q, r, row, 19);
    a->evidence_json = pg_text(q, r, row, 20);
    return STORE_OK;
}

int pg_alert_create(store *s, const store_alert_new *a, int64_t *id_out)
{
    pg *q = (pg *)s;
    char *findings = NULL, *evidence = NULL;
    pg_args x = {0};
    int64_t id = 0;
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
    pa_i64(&x, a->now);
    pa_id(&x, a->user_id);
    pa_id(&x, a->conv_id);
    pa_id(&x, a->message_id);
    pa_text(&x, a->category);
    pa_text(&x, a->verdict);
    pa_text(&x, a->rule);
    pa_text(&x, findings);
    pa_text(&x, a->justification);
    pa_text(&x, a->kind);
    pa_id(&x, a->reporter_id);
    pa_text(&x, a->note);
    pa_text(&x, evidence);
    rc = q->depth ? pg_begin(q) : STORE_OK;
    if (!rc) {
        int r = pg_int(q, PG_ALERT_INSERT, NULL, &x, &id);

        rc = q->depth ? pg_end(q, r) : r;
    }
    if (!rc && id_out)
        *id_out = id;
fail:
    free(findings);
    free(evidence);
    return rc;
}

int pg_alert_get(store *s, int64_t id, store_alert *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_i64(&a, id);
    rc = pg_one((pg *)s, PG_ALERT_GET, NULL, &a, row_alert, out);
    if (rc)
        store_alert_clear(out);
    return rc;
}

int pg_alert_list(store *s, const store_alert_filter *f, store_alerts *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (!f || f->limit < 0 || f->limit > ALERTS_MAX)
        return STORE_INVAL;
    pa_i64(&a, f->before_id > 0 ? f->before_id : INT64_MAX);
    pa_i64(&a, f->since);
    pa_i64(&a, f->until);
    pa_text(&a, f->category);
    pa_i64(&a, f->user_id);
    pa_i64(&a, f->conv_id);
    pa_i64(&a, f->by_status ? (int)f->status : -1);
    pa_i64(&a, f->limit ? f->limit : ALERTS_DEFAULT);
    pa_text(&a, f->kind);
    pa_i64(&a, f->reporter_id);
    rc = pg_list((pg *)s, PG_ALERT_LIST, NULL, &a, (void **)&out->items, &out->n,
                 sizeof *out->items, row_alert);
    if (rc)
        store_alerts_free(out);
    return rc;
}

/* ack (to = ACKED) or resolve (to = RESOLVED); see store.h for the rules. */
static int alert_move(pg *q, int id_stmt, int64_t id, int64_t actor, const char *comment,
                      int64_t now, store_alert_status to)
{
    pg_args a = {0};
    int64_t status = 0, n = 0;
    int rc;

    pa_i64(&a, id);
    pa_id(&a, actor);
    pa_i64(&a, now);
    pa_text(&a, comment && *comment ? comment : NULL);
    rc = pg_run1(q, id_stmt, NULL, &a, &n);
    if (rc || n)
        return rc;
    rc = lookup_int(q, PG_ALERT_STATUS, id, 0, 1, &status);
    if (rc)
        return rc;
    if (status == STORE_ALERT_RESOLVED)
        return STORE_CONFLICT;
    return to == STORE_ALERT_ACKED ? STORE_OK : STORE_CONFLICT;
}

int pg_alert_ack(store *s, int64_t id, int64_t actor, const char *comment, int64_t now)
{
    return alert_move((pg *)s, PG_ALERT_ACK, id, actor, comment, now, STORE_ALERT_ACKED);
}

int pg_alert_resolve(store *s, int64_t id, int64_t actor, const char *comment, int64_t now)
{
    if (!comment || !*comment)
        return STORE_INVAL;
    return alert_move((pg *)s, PG_ALERT_RESOLVE, id, actor, comment, now, STORE_ALERT_RESOLVED);
}
