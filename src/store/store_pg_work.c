/*
 * store_pg_work.c — the PostgreSQL backend's reminders and burn-after-
 * reading (store.h has the contracts; store_sqlite_work.c the SQLite
 * twin). These run a few times a second at most, so their SQL goes
 * through PQexecParams instead of the prepared set.
 *
 * Also store_work.h: who may fetch a burn message's pictures, their
 * destruction, and the deliveries of watermarked images (schema 10).
 *
 * Burn destruction: the row's text, meta and open records are deleted in
 * one transaction, so no read path returns them once it commits. Unlike
 * SQLite's secure_delete, PostgreSQL leaves the dead row version in the
 * table's pages until (auto)vacuum reclaims the space, and in the WAL
 * until its segment is recycled (docs/STORE.md, "PostgreSQL").
 */
#include "store/store_pg_int.h"
#include "store/store_work.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REM_COLS                                                                                   \
    "id, conv_id, creator_id, text, at, repeat, tz, target, target_ids, active, fired_count, "     \
    "last_fired_at, created_at, updated_at"
#define DUE_MAX 500

static int row_reminder(pg *q, PGresult *r, int row, void *item)
{
    store_reminder *x = item;

    x->id = pg_i64(r, row, 0);
    x->conv_id = pg_i64(r, row, 1);
    x->creator_id = pg_i64(r, row, 2);
    x->text = pg_text(q, r, row, 3);
    x->at = pg_i64(r, row, 4);
    x->repeat = (store_remind_repeat)pg_i64(r, row, 5);
    x->tz = pg_text(q, r, row, 6);
    x->target = (store_remind_target)pg_i64(r, row, 7);
    x->target_ids = pg_text(q, r, row, 8);
    x->active = pg_bool(r, row, 9);
    x->fired_count = pg_i64(r, row, 10);
    x->last_fired_at = pg_i64(r, row, 11);
    x->created_at = pg_i64(r, row, 12);
    x->updated_at = pg_i64(r, row, 13);
    return STORE_OK;
}

static bool valid_ids(const char *ids)
{
    char *canon = NULL;
    bool ok = !ids || (*ids == '[' && store_json_canonical(ids, false, &canon) == STORE_OK);

    free(canon);
    return ok;
}

/* $1..$8: the editable fields and now. */
static void bind_fields(pg_args *a, const store_reminder_new *r)
{
    pa_text(a, r->text);
    pa_i64(a, r->at);
    pa_i64(a, r->repeat);
    pa_text(a, r->tz);
    pa_i64(a, r->target);
    pa_text(a, r->target_ids ? r->target_ids : "[]");
    pa_bool(a, r->active);
    pa_i64(a, r->now);
}

int pg_reminder_create(store *s, const store_reminder_new *r, int64_t *id_out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t id = 0;
    int rc;

    if (!r || !r->text || !r->tz || !valid_ids(r->target_ids))
        return STORE_INVAL;
    bind_fields(&a, r);
    pa_i64(&a, r->conv_id);
    pa_i64(&a, r->creator_id);
    rc = q->depth ? pg_begin(q) : STORE_OK;
    if (!rc) {
        int x = pg_int(q, PG_ADHOC,
                       "INSERT INTO reminders(text, at, repeat, tz, target, target_ids, active, "
                       "created_at, updated_at, conv_id, creator_id) "
                       "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$8,$9,$10) RETURNING id",
                       &a, &id);

        rc = q->depth ? pg_end(q, x) : x;
    }
    if (!rc && id_out)
        *id_out = id;
    return rc;
}

int pg_reminder_update(store *s, int64_t id, const store_reminder_new *r)
{
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    if (!r || !r->text || !r->tz || !valid_ids(r->target_ids))
        return STORE_INVAL;
    bind_fields(&a, r);
    pa_i64(&a, id);
    rc = pg_run1((pg *)s, PG_ADHOC,
                 "UPDATE reminders SET text = $1, at = $2, repeat = $3, tz = $4, target = $5, "
                 "target_ids = $6, active = $7, updated_at = $8 WHERE id = $9",
                 &a, &n);
    if (!rc && !n)
        rc = STORE_NOTFOUND;
    return rc;
}

int pg_reminder_delete(store *s, int64_t id)
{
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    pa_i64(&a, id);
    rc = pg_run1((pg *)s, PG_ADHOC, "DELETE FROM reminders WHERE id = $1", &a, &n);
    if (!rc && !n)
        rc = STORE_NOTFOUND;
    return rc;
}

int pg_reminder_delivered(pg *q, int64_t id, int64_t next_at, int64_t now)
{
    pg_args a = {0};

    pa_i64(&a, id);
    pa_i64(&a, next_at);
    pa_i64(&a, now);
    return pg_run(q, PG_ADHOC,
                  "UPDATE reminders SET at = CASE WHEN $2::bigint > 0 THEN $2::bigint ELSE at END, "
                  "active = $2::bigint > 0, fired_count = fired_count + 1, last_fired_at = $3, "
                  "updated_at = $3 WHERE id = $1",
                  &a, NULL);
}

static int rem_list(pg *q, const char *sql, const pg_args *a, store_reminders *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    rc = pg_list(q, PG_ADHOC, sql, a, (void **)&out->items, &out->n, sizeof *out->items,
                 row_reminder);
    if (rc)
        store_reminders_free(out);
    return rc;
}

int pg_reminder_get(store *s, int64_t id, store_reminder *out)
{
    store_reminders l;
    pg_args a = {0};
    int rc;

    pa_i64(&a, id);
    rc = rem_list((pg *)s, "SELECT " REM_COLS " FROM reminders WHERE id = $1", &a, &l);
    memset(out, 0, sizeof *out);
    if (!rc && !l.n)
        rc = STORE_NOTFOUND;
    if (!rc) {
        *out = l.items[0];
        l.n = 0;
    }
    store_reminders_free(&l);
    return rc;
}

int pg_reminder_list(store *s, int64_t conv_id, store_reminders *out)
{
    pg_args a = {0};

    pa_i64(&a, conv_id);
    return rem_list((pg *)s,
                    "SELECT " REM_COLS " FROM reminders WHERE conv_id = $1 AND active "
                    "ORDER BY at, id",
                    &a, out);
}

int pg_reminder_due(store *s, int64_t now, int limit, store_reminders *out)
{
    pg_args a = {0};

    if (limit < 1 || limit > DUE_MAX) {
        memset(out, 0, sizeof *out);
        return STORE_INVAL;
    }
    pa_i64(&a, now);
    pa_i64(&a, limit);
    return rem_list((pg *)s,
                    "SELECT " REM_COLS " FROM reminders WHERE active AND at <= $1 "
                    "ORDER BY at, id LIMIT $2",
                    &a, out);
}

/* ------------------------------------------------------ burn-after-reading */

int pg_burn_open(store *s, int64_t msg_id, int64_t user_id, int64_t now, int64_t destroy_after,
                 bool *first)
{
    pg *q = (pg *)s;
    int64_t sender = 0, conv = 0, left = 0, n = 0;
    pg_args a = {0};
    PGresult *r;
    int rc;

    *first = false;
    rc = pg_begin(q);
    if (rc)
        return rc;
    pa_i64(&a, msg_id);
    r = pg_exec(q, PG_ADHOC,
                "SELECT sender_id, conv_id FROM messages WHERE id = $1 AND burn = 1 FOR UPDATE", &a,
                &rc);
    if (r && PQntuples(r) == 0)
        rc = STORE_NOTFOUND;
    else if (r) {
        sender = pg_i64(r, 0, 0);
        conv = pg_i64(r, 0, 1);
    }
    PQclear(r);
    if (rc)
        goto out;
    if (sender == user_id) {
        rc = STORE_INVAL; /* the sender cannot open it again */
        goto out;
    }
    memset(&a, 0, sizeof a);
    pa_i64(&a, msg_id);
    pa_i64(&a, user_id);
    pa_i64(&a, now);
    rc = pg_run(q, PG_ADHOC,
                "INSERT INTO burn_opens(message_id, user_id, opened_at) VALUES($1,$2,$3) "
                "ON CONFLICT DO NOTHING",
                &a, &n);
    *first = !rc && n > 0;
    if (rc)
        goto out;
    /* Readers still to open it: the members but the sender, who joined
     * before it (history_from < its id) and have not opened it. */
    memset(&a, 0, sizeof a);
    pa_i64(&a, conv);
    pa_i64(&a, sender);
    pa_i64(&a, msg_id);
    rc = pg_int(q, PG_ADHOC,
                "SELECT count(*) FROM members m WHERE m.conv_id = $1 AND m.user_id <> $2 AND "
                "m.history_from < $3 AND NOT EXISTS (SELECT 1 FROM burn_opens b WHERE "
                "b.message_id = $3 AND b.user_id = m.user_id)",
                &a, &left);
    if (!rc && !left) {
        memset(&a, 0, sizeof a);
        pa_i64(&a, msg_id);
        pa_i64(&a, now + destroy_after);
        rc = pg_run(q, PG_ADHOC,
                    "UPDATE messages SET burn_deadline = least(burn_deadline, $2) WHERE id = $1",
                    &a, NULL);
    }
out:
    rc = pg_end(q, rc);
    if (rc)
        *first = false;
    return rc;
}

int pg_burn_due(store *s, int64_t now, int64_t *ids, size_t cap, size_t *n_out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    PGresult *r;
    int rc;

    *n_out = 0;
    pa_i64(&a, now);
    pa_i64(&a, (int64_t)(cap > INT32_MAX ? INT32_MAX : cap));
    r = pg_exec(q, PG_ADHOC,
                "SELECT id FROM messages WHERE burn = 1 AND burn_deadline <= $1 "
                "ORDER BY burn_deadline LIMIT $2",
                &a, &rc);
    for (int i = 0; r && *n_out < cap && i < PQntuples(r); i++)
        ids[(*n_out)++] = pg_i64(r, i, 0);
    PQclear(r);
    return rc;
}

int pg_burn_destroy(store *s, int64_t msg_id)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t n = 0, burn = -1;
    int rc;

    if (q->depth)
        return STORE_INVAL;
    pa_i64(&a, msg_id);
    rc = pg_begin(q);
    if (!rc)
        rc = pg_run(q, PG_ADHOC,
                    "UPDATE messages SET body = NULL, meta = NULL, justification = NULL, "
                    "inbound_warning = NULL, burn = 2 WHERE id = $1 AND burn = 1",
                    &a, &n);
    if (!rc && !n) {
        /* not live: destroyed already (OK) or no such burn message */
        rc = pg_int(q, PG_ADHOC, "SELECT burn FROM messages WHERE id = $1", &a, &burn);
        if (!rc && burn != STORE_BURN_DESTROYED)
            rc = STORE_NOTFOUND;
        return pg_end(q, rc);
    }
    if (!rc)
        rc = pg_run(q, PG_ADHOC, "DELETE FROM burn_opens WHERE message_id = $1", &a, NULL);
    /* what the officers keep of a finding: as for a recall (AUDIT.md) */
    if (!rc)
        rc = pg_alerts_redact(q, msg_id, false);
    return pg_end(q, rc);
}

/* --------------------- store_work.h: burn images, watermark deliveries */

/* A live burn message's file, for a reader who opened it at or after
 * `since` and is still a member. */
static int burn_file_visible(store *s, const char *file_id, int64_t user_id, int64_t since,
                             store_file *out)
{
    pg_args a = {0};
    int64_t one = 0;
    int rc;

    memset(out, 0, sizeof *out);
    pa_text(&a, file_id);
    pa_i64(&a, user_id);
    pa_i64(&a, since);
    rc = pg_int((pg *)s, PG_ADHOC,
                "SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id "
                "JOIN burn_opens b ON b.message_id = m.id AND b.user_id = $2 "
                "JOIN members mm ON mm.conv_id = m.conv_id AND mm.user_id = $2 "
                "WHERE mf.file_id = $1 AND m.burn = 1 AND m.recalled_at = 0 "
                "AND b.opened_at >= $3 LIMIT 1",
                &a, &one);
    return rc ? rc : pg_files_methods.file_get(s, file_id, out);
}

/* The files' part of a burn message's destruction, in one transaction:
 * links, files no other message delivers, blob references, and the
 * inspection outcomes cached under the hashes that went (they quote the
 * pictures' text). */
static int burn_files_drop(store *s, int64_t message_id, store_hashes *gone)
{
    pg *q = (pg *)s;
    int rc;

    memset(gone, 0, sizeof *gone);
    rc = pg_begin(q);
    if (rc)
        return rc;
    rc = pg_files_methods.message_files_drop(s, message_id, gone);
    for (size_t i = 0; !rc && i < gone->n; i++) {
        pg_args a = {0};

        pa_text(&a, gone->items[i]);
        /* keys are hash:ruleset:scope. starts_with, not the key range
         * SQLite uses ('h:' <= key < 'h;'): under the database's
         * collation (ICU, en_US) punctuation is not compared by bytes and
         * the range matches nothing, which would leave the pictures' OCR
         * text behind */
        rc = pg_run(q, PG_ADHOC, "DELETE FROM inspections WHERE starts_with(key, $1 || ':')", &a,
                    NULL);
    }
    rc = pg_end(q, rc);
    if (rc)
        store_hashes_free(gone);
    return rc;
}

static int row_delivery(pg *q, PGresult *r, int row, void *item)
{
    store_delivery *d = item;

    (void)q;
    d->id = pg_i64(r, row, 0);
    d->user_id = pg_i64(r, row, 1);
    snprintf(d->file_id, sizeof d->file_id, "%s", PQgetvalue(r, row, 2));
    d->created_at = pg_i64(r, row, 3);
    return STORE_OK;
}

static int delivery_get(store *s, int64_t id, store_delivery *out)
{
    pg_args a = {0};

    memset(out, 0, sizeof *out);
    pa_i64(&a, id);
    return pg_one((pg *)s, PG_ADHOC,
                  "SELECT id, user_id, file_id, created_at FROM deliveries WHERE id = $1", &a,
                  row_delivery, out);
}

static int delivery_find(store *s, int64_t user_id, const char *file_id, store_delivery *out)
{
    pg_args a = {0};

    memset(out, 0, sizeof *out);
    if (!file_id || strlen(file_id) > STORE_FILE_ID_MAX || user_id <= 0)
        return STORE_INVAL;
    pa_i64(&a, user_id);
    pa_text(&a, file_id);
    return pg_one((pg *)s, PG_ADHOC,
                  "SELECT id, user_id, file_id, created_at FROM deliveries "
                  "WHERE user_id = $1 AND file_id = $2",
                  &a, row_delivery, out);
}

static int delivery_get_or_create(store *s, int64_t user_id, const char *file_id, int64_t now,
                                  store_delivery *out, bool *created)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    memset(out, 0, sizeof *out);
    *created = false;
    if (!file_id || strlen(file_id) > STORE_FILE_ID_MAX || user_id <= 0)
        return STORE_INVAL;
    rc = pg_begin(q);
    if (rc)
        return rc;
    pa_i64(&a, user_id);
    pa_text(&a, file_id);
    pa_i64(&a, now);
    rc = pg_run(q, PG_ADHOC,
                "INSERT INTO deliveries(user_id, file_id, created_at) VALUES($1, $2, $3) "
                "ON CONFLICT (file_id, user_id) DO NOTHING",
                &a, &n);
    *created = !rc && n > 0;
    if (!rc) {
        a.n = 2;
        rc = pg_one(q, PG_ADHOC,
                    "SELECT id, user_id, file_id, created_at FROM deliveries "
                    "WHERE user_id = $1 AND file_id = $2",
                    &a, row_delivery, out);
    }
    rc = pg_end(q, rc);
    if (rc)
        *created = false;
    return rc;
}

const store_work_methods pg_work_methods = {
    .version = 1,
    .burn_file_visible = burn_file_visible,
    .burn_files_drop = burn_files_drop,
    .delivery_get_or_create = delivery_get_or_create,
    .delivery_get = delivery_get,
    .delivery_find = delivery_find,
};
