/*
 * store_sqlite_work.c — the SQLite backend's reminders and burn-after-
 * reading (schema version 7; store.h has the contracts).
 *
 * These run at most a few times a second (the server's one timer, a user
 * editing a reminder, a reader opening a burn message), so their
 * statements are prepared per call instead of joining the hot paths'
 * statement cache.
 */
#include "store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#define REM_COLS                                                                                   \
    "id, conv_id, creator_id, text, at, repeat, tz, target, target_ids, active, fired_count, "     \
    "last_fired_at, created_at, updated_at"
#define DUE_MAX 500

/* A statement prepared for one call: NULL with q->err set on failure. */
static sqlite3_stmt *prep(sq *q, const char *sql, int *rc)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);

    *rc = src == SQLITE_OK ? STORE_OK : sq_rc(q, src);
    return st;
}

static int run(sq *q, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    return rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : sq_rc(q, rc);
}

static int row_reminder(sq *q, sqlite3_stmt *st, void *item)
{
    store_reminder *r = item;

    r->id = sqlite3_column_int64(st, 0);
    r->conv_id = sqlite3_column_int64(st, 1);
    r->creator_id = sqlite3_column_int64(st, 2);
    r->text = sq_col_text(q, st, 3);
    r->at = sqlite3_column_int64(st, 4);
    r->repeat = (store_remind_repeat)sqlite3_column_int(st, 5);
    r->tz = sq_col_text(q, st, 6);
    r->target = (store_remind_target)sqlite3_column_int(st, 7);
    r->target_ids = sq_col_text(q, st, 8);
    r->active = sqlite3_column_int(st, 9);
    r->fired_count = sqlite3_column_int64(st, 10);
    r->last_fired_at = sqlite3_column_int64(st, 11);
    r->created_at = sqlite3_column_int64(st, 12);
    r->updated_at = sqlite3_column_int64(st, 13);
    return STORE_OK;
}

static bool valid_ids(const char *ids)
{
    char *canon = NULL;
    bool ok = !ids || (*ids == '[' && store_json_canonical(ids, false, &canon) == STORE_OK);

    free(canon);
    return ok;
}

static void bind_fields(sqlite3_stmt *st, const store_reminder_new *r)
{
    sq_bind_text(st, 1, r->text);
    sqlite3_bind_int64(st, 2, r->at);
    sqlite3_bind_int(st, 3, r->repeat);
    sq_bind_text(st, 4, r->tz);
    sqlite3_bind_int(st, 5, r->target);
    sq_bind_text(st, 6, r->target_ids ? r->target_ids : "[]");
    sqlite3_bind_int(st, 7, r->active);
    sqlite3_bind_int64(st, 8, r->now);
}

int sq_reminder_create(store *s, const store_reminder_new *r, int64_t *id_out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = NULL;
    int rc;

    if (!r || !r->text || !r->tz || !valid_ids(r->target_ids))
        return STORE_INVAL;
    st = prep(
        q,
        "INSERT INTO reminders(text, at, repeat, tz, target, target_ids, active, "
        "created_at, updated_at, conv_id, creator_id) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?8,?9,?10)",
        &rc);
    if (rc)
        goto fail;
    bind_fields(st, r);
    sqlite3_bind_int64(st, 9, r->conv_id);
    sqlite3_bind_int64(st, 10, r->creator_id);
    rc = run(q, st);
    if (!rc && id_out)
        *id_out = sqlite3_last_insert_rowid(q->db);
fail:
    sqlite3_finalize(st);
    return rc;
}

int sq_reminder_update(store *s, int64_t id, const store_reminder_new *r)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = NULL;
    int rc;

    if (!r || !r->text || !r->tz || !valid_ids(r->target_ids))
        return STORE_INVAL;
    st = prep(q,
              "UPDATE reminders SET text = ?1, at = ?2, repeat = ?3, tz = ?4, target = ?5, "
              "target_ids = ?6, active = ?7, updated_at = ?8 WHERE id = ?9",
              &rc);
    if (rc)
        goto fail;
    bind_fields(st, r);
    sqlite3_bind_int64(st, 9, id);
    rc = run(q, st);
    if (!rc && !sqlite3_changes(q->db))
        rc = STORE_NOTFOUND;
fail:
    sqlite3_finalize(st);
    return rc;
}

int sq_reminder_delete(store *s, int64_t id)
{
    sq *q = (sq *)s;
    int rc;
    sqlite3_stmt *st = prep(q, "DELETE FROM reminders WHERE id = ?1", &rc);

    if (!rc) {
        sqlite3_bind_int64(st, 1, id);
        rc = run(q, st);
    }
    if (!rc && !sqlite3_changes(q->db))
        rc = STORE_NOTFOUND;
    sqlite3_finalize(st);
    return rc;
}

int sq_reminder_delivered(sq *q, int64_t id, int64_t next_at, int64_t now)
{
    int rc;
    sqlite3_stmt *st = prep(q,
                            "UPDATE reminders SET at = iif(?2 > 0, ?2, at), active = ?2 > 0, "
                            "fired_count = fired_count + 1, last_fired_at = ?3, updated_at = ?3 "
                            "WHERE id = ?1",
                            &rc);

    if (!rc) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, next_at);
        sqlite3_bind_int64(st, 3, now);
        rc = run(q, st);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The rows of a SELECT of REM_COLS with up to two integer parameters. */
static int rem_list(sq *q, const char *sql, int64_t a, int64_t b, store_reminders *out)
{
    int rc;
    sqlite3_stmt *st = prep(q, sql, &rc);

    memset(out, 0, sizeof *out);
    if (!rc) {
        sqlite3_bind_int64(st, 1, a);
        sqlite3_bind_int64(st, 2, b);
        rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_reminder);
    }
    sqlite3_finalize(st);
    if (rc)
        store_reminders_free(out);
    return rc;
}

int sq_reminder_get(store *s, int64_t id, store_reminder *out)
{
    store_reminders l;
    int rc =
        rem_list((sq *)s, "SELECT " REM_COLS " FROM reminders WHERE id = ?1 AND ?2 = 0", id, 0, &l);

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

int sq_reminder_list(store *s, int64_t conv_id, store_reminders *out)
{
    return rem_list((sq *)s,
                    "SELECT " REM_COLS " FROM reminders WHERE conv_id = ?1 AND active = 1 "
                    "AND ?2 = 0 ORDER BY at, id",
                    conv_id, 0, out);
}

int sq_reminder_due(store *s, int64_t now, int limit, store_reminders *out)
{
    if (limit < 1 || limit > DUE_MAX) {
        memset(out, 0, sizeof *out);
        return STORE_INVAL;
    }
    return rem_list((sq *)s,
                    "SELECT " REM_COLS " FROM reminders WHERE active = 1 AND at <= ?1 "
                    "ORDER BY at, id LIMIT ?2",
                    now, limit, out);
}

/* ------------------------------------------------------ burn-after-reading */

int sq_burn_open(store *s, int64_t msg_id, int64_t user_id, int64_t now, int64_t destroy_after,
                 bool *first)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = NULL;
    int64_t sender = 0, conv = 0, left = 0;
    int rc;

    *first = false;
    rc = sq_begin(q);
    if (rc)
        return rc;
    st = prep(q, "SELECT sender_id, conv_id FROM messages WHERE id = ?1 AND burn = 1", &rc);
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, msg_id);
    rc = sq_step_row(q, st);
    if (!rc) {
        sender = sqlite3_column_int64(st, 0);
        conv = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc)
        goto out;
    if (sender == user_id) {
        rc = STORE_INVAL; /* the sender cannot open it again */
        goto out;
    }
    st =
        prep(q, "INSERT OR IGNORE INTO burn_opens(message_id, user_id, opened_at) VALUES(?1,?2,?3)",
             &rc);
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, msg_id);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, now);
    rc = run(q, st);
    *first = !rc && sqlite3_changes(q->db) > 0;
    sqlite3_finalize(st);
    /* Readers still to open it: the members but the sender, who joined
     * before it (history_from < its id) and have not opened it. */
    st = rc ? NULL
            : prep(q,
                   "SELECT count(*) FROM members m WHERE m.conv_id = ?1 AND m.user_id <> ?2 AND "
                   "m.history_from < ?3 AND NOT EXISTS (SELECT 1 FROM burn_opens b WHERE "
                   "b.message_id = ?3 AND b.user_id = m.user_id)",
                   &rc);
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, conv);
    sqlite3_bind_int64(st, 2, sender);
    sqlite3_bind_int64(st, 3, msg_id);
    rc = sq_step_row(q, st);
    if (!rc)
        left = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (!rc && !left) {
        st = prep(q, "UPDATE messages SET burn_deadline = min(burn_deadline, ?2) WHERE id = ?1",
                  &rc);
        if (!rc) {
            sqlite3_bind_int64(st, 1, msg_id);
            sqlite3_bind_int64(st, 2, now + destroy_after);
            rc = run(q, st);
        }
    }
out:
    sqlite3_finalize(st);
    rc = sq_end(q, rc);
    if (rc)
        *first = false;
    return rc;
}

int sq_burn_due(store *s, int64_t now, int64_t *ids, size_t cap, size_t *n_out)
{
    sq *q = (sq *)s;
    int rc;
    sqlite3_stmt *st = prep(q,
                            "SELECT id FROM messages WHERE burn = 1 AND burn_deadline <= ?1 "
                            "ORDER BY burn_deadline LIMIT ?2",
                            &rc);

    *n_out = 0;
    if (!rc) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
        for (int src; *n_out < cap && (src = sqlite3_step(st)) != SQLITE_DONE;) {
            if (src != SQLITE_ROW) {
                rc = sq_rc(q, src);
                break;
            }
            ids[(*n_out)++] = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int sq_burn_destroy(store *s, int64_t msg_id)
{
    static const char *const steps[] = {
        /* secure_delete (on for every handle, store_sqlite.c) zeroes the
         * bytes the old body leaves behind in the page and in freed pages */
        "UPDATE messages SET body = NULL, meta = NULL, justification = NULL, inbound_warning = "
        "NULL, "
        "burn = 2 "
        "WHERE id = ?1 AND burn = 1",
        "DELETE FROM burn_opens WHERE message_id = ?1",
        /* what the officers keep of a finding: as for a recall (AUDIT.md) */
        "UPDATE alerts SET justification = iif(justification IS NULL, NULL, ''), findings = "
        "(SELECT json_group_array(json_remove(value, '$.context_before', '$.context_after')) "
        "FROM json_each(alerts.findings)) WHERE message_id = ?1",
    };
    sq *q = (sq *)s;
    int64_t burn = -1;
    int rc;

    if (q->depth)
        return STORE_INVAL;
    rc = sq_begin(q);
    for (size_t i = 0; !rc && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st = prep(q, steps[i], &rc);

        if (!rc) {
            sqlite3_bind_int64(st, 1, msg_id);
            rc = run(q, st);
        }
        if (!rc && i == 0 && !sqlite3_changes(q->db)) {
            /* not live: destroyed already (OK) or no such burn message */
            sqlite3_stmt *chk = prep(q, "SELECT burn FROM messages WHERE id = ?1", &rc);

            if (!rc) {
                sqlite3_bind_int64(chk, 1, msg_id);
                rc = sq_step_row(q, chk);
                if (!rc)
                    burn = sqlite3_column_int64(chk, 0);
            }
            sqlite3_finalize(chk);
            if (!rc && burn != STORE_BURN_DESTROYED)
                rc = STORE_NOTFOUND;
            sqlite3_finalize(st);
            break;
        }
        sqlite3_finalize(st);
    }
    rc = sq_end(q, rc);
    if (rc || burn == STORE_BURN_DESTROYED)
        return rc;
    /* The page images that held the text are still in the write-ahead log
     * until it is copied back and truncated: do it now, a few times if a
     * reader holds an old snapshot (the next destruction retries too). */
    sqlite3_busy_timeout(q->db, 0);
    for (int attempt = 0; attempt < 20; attempt++) {
        if (sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
            SQLITE_OK)
            break;
        sqlite3_sleep(10);
    }
    sqlite3_busy_timeout(q->db, q->busy_ms);
    return STORE_OK;
}
