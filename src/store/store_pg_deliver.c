/*
 * store_pg_deliver.c — the PostgreSQL backend's part of store_work.h: the
 * files of burn-after-reading messages (who may fetch them, their
 * destruction) and the deliveries of watermarked images (schema 10), as
 * store_sqlite_deliver.c does for SQLite.
 */
#include "store/store_work.h"
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int burn_file_visible(store *s, const char *file_id, int64_t user_id, int64_t since,
                             store_file *out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t one = 0;
    int rc;

    memset(out, 0, sizeof *out);
    pa_text(&a, file_id);
    pa_i64(&a, user_id);
    pa_i64(&a, since);
    /* a live burn message that delivered the file, opened by the caller
     * within the window, in a conversation the caller is still in */
    rc = pg_int(q, PG_ADHOC,
                "SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id "
                "JOIN burn_opens b ON b.message_id = m.id AND b.user_id = $2 "
                "JOIN members mm ON mm.conv_id = m.conv_id AND mm.user_id = $2 "
                "WHERE mf.file_id = $1 AND m.burn = 1 AND m.recalled_at = 0 "
                "AND b.opened_at >= $3 LIMIT 1",
                &a, &one);
    return rc ? rc : pg_files_methods.file_get(s, file_id, out);
}

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
        /* the outcome cached under the hash quotes what the guard found
         * in the picture (its OCR text): it goes with the bytes */
        pg_args a = {0};

        pa_text(&a, gone->items[i]);
        rc = pg_run(q, PG_ADHOC,
                    "DELETE FROM inspections WHERE key >= $1 || ':' AND key < $1 || ';'", &a, NULL);
    }
    rc = pg_end(q, rc);
    if (rc)
        store_hashes_free(gone);
    return rc;
}

static int row_delivery(pg *q, PGresult *r, int row, void *item)
{
    store_delivery *d = item;
    const char *f = PQgetvalue(r, row, 2);

    (void)q;
    d->id = pg_i64(r, row, 0);
    d->user_id = pg_i64(r, row, 1);
    snprintf(d->file_id, sizeof d->file_id, "%s", f ? f : "");
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

static int delivery_get_or_create(store *s, int64_t user_id, const char *file_id, int64_t now,
                                  store_delivery *out, bool *created)
{
    pg *q = (pg *)s;
    pg_args a = {0}, k = {0};
    int64_t n = 0;
    int rc;

    memset(out, 0, sizeof *out);
    *created = false;
    if (!file_id || strlen(file_id) > STORE_FILE_ID_MAX || user_id <= 0)
        return STORE_INVAL;
    pa_i64(&a, user_id);
    pa_text(&a, file_id);
    pa_i64(&a, now);
    rc = pg_begin(q);
    if (!rc)
        rc = pg_run(q, PG_ADHOC,
                    "INSERT INTO deliveries(user_id, file_id, created_at) VALUES($1, $2, $3) "
                    "ON CONFLICT(file_id, user_id) DO NOTHING",
                    &a, &n);
    *created = !rc && n > 0;
    pa_text(&k, file_id);
    pa_i64(&k, user_id);
    if (!rc)
        rc = pg_one(q, PG_ADHOC,
                    "SELECT id, user_id, file_id, created_at FROM deliveries "
                    "WHERE file_id = $1 AND user_id = $2",
                    &k, row_delivery, out);
    return pg_end(q, rc);
}

const store_work_methods pg_work_methods = {
    .version = 1,
    .burn_file_visible = burn_file_visible,
    .burn_files_drop = burn_files_drop,
    .delivery_get_or_create = delivery_get_or_create,
    .delivery_get = delivery_get,
};
