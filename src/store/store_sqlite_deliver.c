/*
 * store_sqlite_deliver.c — the SQLite backend's part of store_work.h: the
 * files of burn-after-reading messages (who may fetch them, their
 * destruction) and the deliveries of watermarked images (schema 10).
 *
 * Statements are prepared per call, as in store_sqlite_work.c: a burn
 * opening or destruction is rare, and a delivery is looked up once per
 * image download, next to the seconds that watermarking it costs.
 */
#include "store/store_work.h"
#include "store_sqlite_int.h"

#include <stdio.h>
#include <string.h>

static sqlite3_stmt *prep(sq *q, const char *sql, int *rc)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);

    *rc = src == SQLITE_OK ? STORE_OK : sq_rc(q, src);
    return st;
}

static int burn_file_visible(store *s, const char *file_id, int64_t user_id, int64_t since,
                             store_file *out)
{
    sq *q = (sq *)s;
    int rc;
    /* a live burn message that delivered the file, opened by the caller
     * within the window, in a conversation the caller is still in */
    sqlite3_stmt *st =
        prep(q,
             "SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id "
             "JOIN burn_opens b ON b.message_id = m.id AND b.user_id = ?2 "
             "JOIN members mm ON mm.conv_id = m.conv_id AND mm.user_id = ?2 "
             "WHERE mf.file_id = ?1 AND m.burn = 1 AND m.recalled_at = 0 "
             "AND b.opened_at >= ?3 LIMIT 1",
             &rc);

    memset(out, 0, sizeof *out);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, file_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, since);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : sq_rc(q, rc);
    sqlite3_finalize(st);
    return rc ? rc : sq_files_methods.file_get(s, file_id, out);
}

static int burn_files_drop(store *s, int64_t message_id, store_hashes *gone)
{
    sq *q = (sq *)s;
    int rc;

    memset(gone, 0, sizeof *gone);
    rc = sq_begin(q);
    if (rc)
        return rc;
    rc = sq_files_methods.message_files_drop(s, message_id, gone);
    for (size_t i = 0; !rc && i < gone->n; i++) {
        /* the outcome cached under the hash quotes what the guard found
         * in the picture (its OCR text): it goes with the bytes */
        sqlite3_stmt *st =
            prep(q, "DELETE FROM inspections WHERE key >= ?1 || ':' AND key < ?1 || ';'", &rc);

        if (!rc) {
            sqlite3_bind_text(st, 1, gone->items[i], -1, SQLITE_STATIC);
            rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : sq_rc(q, sqlite3_errcode(q->db));
        }
        sqlite3_finalize(st);
    }
    rc = sq_end(q, rc);
    if (rc)
        store_hashes_free(gone);
    return rc;
}

static int delivery_row(sq *q, sqlite3_stmt *st, store_delivery *out)
{
    int rc = sqlite3_step(st);
    const unsigned char *f;

    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_NOTFOUND : sq_rc(q, rc);
    out->id = sqlite3_column_int64(st, 0);
    out->user_id = sqlite3_column_int64(st, 1);
    f = sqlite3_column_text(st, 2);
    snprintf(out->file_id, sizeof out->file_id, "%s", f ? (const char *)f : "");
    out->created_at = sqlite3_column_int64(st, 3);
    return STORE_OK;
}

static int delivery_get(store *s, int64_t id, store_delivery *out)
{
    sq *q = (sq *)s;
    int rc;
    sqlite3_stmt *st =
        prep(q, "SELECT id, user_id, file_id, created_at FROM deliveries WHERE id = ?1", &rc);

    memset(out, 0, sizeof *out);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = delivery_row(q, st, out);
    sqlite3_finalize(st);
    return rc;
}

static int delivery_find(store *s, int64_t user_id, const char *file_id, store_delivery *out)
{
    sq *q = (sq *)s;
    int rc;
    sqlite3_stmt *st = NULL;

    memset(out, 0, sizeof *out);
    if (!file_id || strlen(file_id) > STORE_FILE_ID_MAX || user_id <= 0)
        return STORE_INVAL;
    st = prep(q,
              "SELECT id, user_id, file_id, created_at FROM deliveries "
              "WHERE file_id = ?1 AND user_id = ?2",
              &rc);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, file_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, user_id);
    rc = delivery_row(q, st, out);
    sqlite3_finalize(st);
    return rc;
}

static int delivery_get_or_create(store *s, int64_t user_id, const char *file_id, int64_t now,
                                  store_delivery *out, bool *created)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    *created = false;
    if (!file_id || strlen(file_id) > STORE_FILE_ID_MAX || user_id <= 0)
        return STORE_INVAL;
    rc = sq_begin(q);
    if (rc)
        return rc;
    st = prep(q,
              "INSERT INTO deliveries(user_id, file_id, created_at) VALUES(?1, ?2, ?3) "
              "ON CONFLICT(file_id, user_id) DO NOTHING",
              &rc);
    if (!rc) {
        sqlite3_bind_int64(st, 1, user_id);
        sqlite3_bind_text(st, 2, file_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : sq_rc(q, sqlite3_errcode(q->db));
        *created = !rc && sqlite3_changes(q->db) > 0;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc)
        st = prep(q,
                  "SELECT id, user_id, file_id, created_at FROM deliveries "
                  "WHERE file_id = ?1 AND user_id = ?2",
                  &rc);
    if (!rc) {
        sqlite3_bind_text(st, 1, file_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, user_id);
        rc = delivery_row(q, st, out);
    }
    sqlite3_finalize(st);
    return sq_end(q, rc);
}

const store_work_methods sq_work_methods = {
    .version = 1,
    .burn_file_visible = burn_file_visible,
    .burn_files_drop = burn_files_drop,
    .delivery_get_or_create = delivery_get_or_create,
    .delivery_get = delivery_get,
    .delivery_find = delivery_find,
};
