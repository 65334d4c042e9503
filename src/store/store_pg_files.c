/*
 * store_pg_files.c — the PostgreSQL side of store_files.h: uploads, files
 * with blob reference counts, message attachments, inspection outcomes
 * (the same contracts as store_sqlite_files.c). Run a few times per file,
 * not per message: SQL through PQexecParams.
 *
 * The records' clear/free functions are the SQLite file's (they belong to
 * store_files.h, not to a backend).
 */
#include "store/store_files.h"
#include "store/store_pg_int.h"

#include <stdlib.h>
#include <string.h>

#define UP_COLS                                                                                    \
    "id, user_id, conv_id, length, filename, filetype, state, created_at, expires_at, file_id, "   \
    "outcome"
#define FILE_COLS                                                                                  \
    "f.id, f.owner_id, f.conv_id, f.hash, f.thumb_hash, f.name, f.mime, f.size, f.image, "         \
    "f.width, f.height, f.location_removed, f.state, f.verdict, f.findings, f.created_at"

static int row_upload(pg *q, PGresult *r, int row, void *item)
{
    store_upload *u = item;

    u->id = pg_text(q, r, row, 0);
    u->user_id = pg_i64(r, row, 1);
    u->conv_id = pg_i64(r, row, 2);
    u->length = pg_i64(r, row, 3);
    u->filename = pg_text(q, r, row, 4);
    u->filetype = pg_text(q, r, row, 5);
    u->state = (int)pg_i64(r, row, 6);
    u->created_at = pg_i64(r, row, 7);
    u->expires_at = pg_i64(r, row, 8);
    u->file_id = pg_text(q, r, row, 9);
    u->outcome = pg_text(q, r, row, 10);
    return STORE_OK;
}

static int row_file(pg *q, PGresult *r, int row, void *item)
{
    store_file *f = item;

    f->id = pg_text(q, r, row, 0);
    f->owner_id = pg_i64(r, row, 1);
    f->conv_id = pg_i64(r, row, 2);
    f->hash = pg_text(q, r, row, 3);
    f->thumb_hash = pg_text(q, r, row, 4);
    f->name = pg_text(q, r, row, 5);
    f->mime = pg_text(q, r, row, 6);
    f->size = pg_i64(r, row, 7);
    f->image = pg_bool(r, row, 8);
    f->width = (int)pg_i64(r, row, 9);
    f->height = (int)pg_i64(r, row, 10);
    f->location_removed = pg_bool(r, row, 11);
    f->state = (int)pg_i64(r, row, 12);
    f->verdict = pg_text(q, r, row, 13);
    f->findings = pg_text(q, r, row, 14);
    f->created_at = pg_i64(r, row, 15);
    return STORE_OK;
}

/* ---- uploads ----------------------------------------------------------- */

static int up_create(store *s, const store_upload *u)
{
    pg_args a = {0};

    if (!u || !u->id || !u->filename)
        return STORE_INVAL;
    pa_text(&a, u->id);
    pa_i64(&a, u->user_id);
    pa_i64(&a, u->conv_id);
    pa_i64(&a, u->length);
    pa_text(&a, u->filename);
    pa_text(&a, u->filetype);
    pa_i64(&a, u->state);
    pa_i64(&a, u->created_at);
    pa_i64(&a, u->expires_at);
    return pg_run1((pg *)s, PG_ADHOC,
                   "INSERT INTO uploads(id, user_id, conv_id, length, filename, filetype, state, "
                   "created_at, expires_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                   &a, NULL);
}

static int up_get(store *s, const char *id, store_upload *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_text(&a, id);
    rc = pg_one((pg *)s, PG_ADHOC, "SELECT " UP_COLS " FROM uploads WHERE id = $1", &a, row_upload,
                out);
    if (rc)
        store_upload_clear(out);
    return rc;
}

static int up_update(store *s, const char *id, int state, const char *outcome, const char *file_id)
{
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    pa_text(&a, id);
    pa_i64(&a, state);
    pa_text(&a, outcome);
    pa_text(&a, file_id);
    rc = pg_run1((pg *)s, PG_ADHOC,
                 "UPDATE uploads SET state = $2, outcome = coalesce($3, outcome), "
                 "file_id = coalesce($4, file_id) WHERE id = $1",
                 &a, &n);
    if (rc)
        return rc;
    return n ? STORE_OK : STORE_NOTFOUND;
}

static int up_delete(store *s, const char *id)
{
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    pa_text(&a, id);
    rc = pg_run1((pg *)s, PG_ADHOC, "DELETE FROM uploads WHERE id = $1", &a, &n);
    if (!rc && !n)
        rc = STORE_NOTFOUND;
    return rc;
}

/* The database's clock in ms: one clock for every node. */
#define PG_NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

/* After an UPDATE that matched nothing: held by another (CONFLICT) or gone. */
static int lease_missed(pg *q, const char *id)
{
    pg_args a = {0};
    int64_t one = 0;
    int rc;

    pa_text(&a, id);
    rc = pg_int(q, PG_ADHOC, "SELECT 1 FROM uploads WHERE id = $1", &a, &one);
    return rc ? rc : STORE_CONFLICT;
}

static int up_lease(store *s, const char *id, const char *owner, int ms, bool take)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    pa_text(&a, id);
    pa_text(&a, owner);
    pa_i64(&a, ms);
    pa_bool(&a, take);
    rc = pg_run1(q, PG_ADHOC,
                 "UPDATE uploads SET lease_owner = $2, lease_until = " PG_NOW_MS " + $3 "
                 "WHERE id = $1 AND (lease_owner = $2 OR ($4 AND (lease_owner IS NULL OR "
                 "lease_until < " PG_NOW_MS ")))",
                 &a, &n);
    if (rc)
        return rc;
    return n ? STORE_OK : lease_missed(q, id);
}

static int up_lease_release(store *s, const char *id, const char *owner)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    pa_text(&a, id);
    pa_text(&a, owner);
    rc = pg_run1(q, PG_ADHOC,
                 "UPDATE uploads SET lease_owner = NULL, lease_until = 0 "
                 "WHERE id = $1 AND lease_owner = $2",
                 &a, &n);
    if (rc)
        return rc;
    return n ? STORE_OK : lease_missed(q, id);
}

static int up_list(store *s, int state, int64_t before, store_uploads *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_i64(&a, state);
    pa_i64(&a, before);
    rc = pg_list((pg *)s, PG_ADHOC,
                 "SELECT " UP_COLS
                 " FROM uploads WHERE state = $1 AND ($2::bigint = 0 OR expires_at < $2) "
                 "ORDER BY created_at LIMIT 1000",
                 &a, (void **)&out->items, &out->n, sizeof *out->items, row_upload);
    if (rc)
        store_uploads_free(out);
    return rc;
}

static int up_usage(store *s, int64_t user_id, int64_t *bytes, int64_t *count)
{
    pg_args a = {0};
    PGresult *r;
    int rc;

    *bytes = *count = 0;
    pa_i64(&a, user_id);
    r = pg_exec((pg *)s, PG_ADHOC,
                "SELECT coalesce(sum(length), 0), count(*) FROM uploads "
                "WHERE user_id = $1 AND state <= 1",
                &a, &rc);
    if (r && PQntuples(r) > 0) {
        *bytes = pg_i64(r, 0, 0);
        *count = pg_i64(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

/* ---- files and blob references ------------------------------------------ */

static int blob_ref(pg *q, const char *hash, int64_t size)
{
    pg_args a = {0};

    if (!hash)
        return STORE_OK;
    pa_text(&a, hash);
    pa_i64(&a, size);
    return pg_run(q, PG_ADHOC,
                  "INSERT INTO blobs(hash, refs, size) VALUES($1, 1, $2) "
                  "ON CONFLICT(hash) DO UPDATE SET refs = blobs.refs + 1",
                  &a, NULL);
}

/* Drops one reference; a blob left with none is deleted and listed. */
static int blob_unref(pg *q, const char *hash, store_hashes *gone)
{
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    if (!hash)
        return STORE_OK;
    pa_text(&a, hash);
    rc = pg_run(q, PG_ADHOC, "UPDATE blobs SET refs = refs - 1 WHERE hash = $1", &a, NULL);
    if (!rc)
        rc = pg_run(q, PG_ADHOC, "DELETE FROM blobs WHERE hash = $1 AND refs <= 0", &a, &n);
    if (!rc && n && gone) {
        char **ni = realloc(gone->items, (gone->n + 1) * sizeof *ni);
        char *h = strdup(hash);

        if (!ni || !h) {
            free(h);
            if (ni)
                gone->items = ni;
            return STORE_NOMEM;
        }
        gone->items = ni;
        gone->items[gone->n++] = h;
    }
    return rc;
}

static int file_create(store *s, const store_file *f, int64_t blob_size, int64_t thumb_size)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int rc;

    if (!f || !f->id || !f->hash || !f->name || !f->mime || !f->verdict)
        return STORE_INVAL;
    rc = pg_begin(q);
    if (rc)
        return rc;
    rc = blob_ref(q, f->hash, blob_size);
    if (!rc)
        rc = blob_ref(q, f->thumb_hash, thumb_size);
    if (rc)
        goto out;
    pa_text(&a, f->id);
    pa_i64(&a, f->owner_id);
    pa_i64(&a, f->conv_id);
    pa_text(&a, f->hash);
    pa_text(&a, f->thumb_hash);
    pa_text(&a, f->name);
    pa_text(&a, f->mime);
    pa_i64(&a, f->size);
    pa_bool(&a, f->image);
    pa_i64(&a, f->width);
    pa_i64(&a, f->height);
    pa_bool(&a, f->location_removed);
    pa_i64(&a, f->state);
    pa_text(&a, f->verdict);
    pa_text(&a, f->findings ? f->findings : "[]");
    pa_i64(&a, f->created_at);
    rc = pg_run(q, PG_ADHOC,
                "INSERT INTO files(id, owner_id, conv_id, hash, thumb_hash, name, mime, size, "
                "image, width, height, location_removed, state, verdict, findings, created_at) "
                "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
                &a, NULL);
out:
    return pg_end(q, rc);
}

static int file_get(store *s, const char *id, store_file *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_text(&a, id);
    rc = pg_one((pg *)s, PG_ADHOC, "SELECT " FILE_COLS " FROM files f WHERE f.id = $1", &a,
                row_file, out);
    if (rc)
        store_file_clear(out);
    return rc;
}

/* The owner (not for a burn-after-reading message's pictures: those go
 * through store_burn_file_visible); or a member who can see a message (not
 * recalled, not burn) that delivered it, as chat_view.c rules, and for an
 * external reader only a message inspected with the external scope (fail
 * closed). */
static int file_visible(store *s, const char *id, int64_t user_id, store_file *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_text(&a, id);
    pa_i64(&a, user_id);
    rc = pg_one((pg *)s, PG_ADHOC,
                "SELECT " FILE_COLS " FROM files f WHERE f.id = $1 AND ((f.owner_id = $2 AND "
                "NOT EXISTS(SELECT 1 FROM message_files bf JOIN messages bm ON bm.id = "
                "bf.message_id WHERE bf.file_id = f.id AND bm.burn <> 0)) OR "
                "EXISTS(SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id "
                "JOIN members mm ON mm.conv_id = m.conv_id AND mm.user_id = $2 "
                "JOIN conversations c ON c.id = m.conv_id "
                "WHERE mf.file_id = f.id AND m.recalled_at = 0 AND m.burn = 0 "
                "AND (c.shared_history OR m.id > mm.history_from) "
                "AND (m.scope_external OR NOT (SELECT external FROM users WHERE id = $2))))",
                &a, row_file, out);
    if (rc)
        store_file_clear(out);
    return rc;
}

static int mf_set(store *s, int64_t message_id, const char *const *ids, size_t n)
{
    pg *q = (pg *)s;
    int rc = pg_begin(q);

    for (size_t i = 0; !rc && i < n; i++) {
        pg_args a = {0};

        pa_i64(&a, message_id);
        pa_text(&a, ids[i]);
        pa_i64(&a, (int64_t)i);
        rc = pg_run(q, PG_ADHOC,
                    "INSERT INTO message_files(message_id, file_id, position) VALUES($1,$2,$3)", &a,
                    NULL);
    }
    return pg_end(q, rc);
}

static int mf_get(store *s, int64_t message_id, store_files *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_i64(&a, message_id);
    rc = pg_list((pg *)s, PG_ADHOC,
                 "SELECT " FILE_COLS " FROM message_files mf JOIN files f ON f.id = mf.file_id "
                 "WHERE mf.message_id = $1 ORDER BY mf.position",
                 &a, (void **)&out->items, &out->n, sizeof *out->items, row_file);
    if (rc)
        store_files_free(out);
    return rc;
}

static int mf_drop(store *s, int64_t message_id, store_hashes *gone)
{
    pg *q = (pg *)s;
    store_files fl = {0};
    pg_args a = {0};
    int rc;

    memset(gone, 0, sizeof *gone);
    rc = pg_begin(q);
    if (rc)
        return rc;
    rc = mf_get(s, message_id, &fl);
    if (rc)
        goto out;
    pa_i64(&a, message_id);
    rc = pg_run(q, PG_ADHOC, "DELETE FROM message_files WHERE message_id = $1", &a, NULL);
    for (size_t i = 0; !rc && i < fl.n; i++) {
        pg_args f = {0};
        int64_t n = 0;

        /* A file no message delivers any more goes, with its blobs. */
        pa_text(&f, fl.items[i].id);
        rc = pg_run(q, PG_ADHOC,
                    "DELETE FROM files WHERE id = $1 AND NOT EXISTS("
                    "SELECT 1 FROM message_files WHERE file_id = $1)",
                    &f, &n);
        if (rc || !n)
            continue;
        /* the upload that made it no longer names it */
        rc = pg_run(q, PG_ADHOC, "DELETE FROM uploads WHERE file_id = $1", &f, NULL);
        if (!rc)
            rc = blob_unref(q, fl.items[i].hash, gone);
        if (!rc)
            rc = blob_unref(q, fl.items[i].thumb_hash, gone);
    }
out:
    store_files_free(&fl);
    rc = pg_end(q, rc);
    if (rc)
        store_hashes_free(gone);
    return rc;
}

static int insp_get(store *s, const char *key, char **outcome)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    PGresult *r;
    int rc;

    *outcome = NULL;
    pa_text(&a, key);
    r = pg_exec(q, PG_ADHOC, "SELECT outcome FROM inspections WHERE key = $1", &a, &rc);
    q->oom = false;
    if (r && PQntuples(r) == 0)
        rc = STORE_NOTFOUND;
    else if (r) {
        *outcome = pg_text(q, r, 0, 0);
        if (!*outcome)
            rc = STORE_NOMEM;
    }
    PQclear(r);
    return rc;
}

static int insp_put(store *s, const char *key, const char *outcome, int64_t now)
{
    pg_args a = {0};

    pa_text(&a, key);
    pa_text(&a, outcome);
    pa_i64(&a, now);
    return pg_run1((pg *)s, PG_ADHOC,
                   "INSERT INTO inspections(key, outcome, created_at) VALUES($1,$2,$3) "
                   "ON CONFLICT(key) DO UPDATE SET outcome = excluded.outcome",
                   &a, NULL);
}

static int in_alert(store *s, const char *id, int64_t *alert_id)
{
    pg_args a = {0};

    *alert_id = 0;
    pa_text(&a, id);
    /* The alert's findings carry "file": {"id": ...} (chat_send.c). The
     * findings are valid JSON (canonicalised on insert); the jsonpath runs
     * in lax mode, so an element without "file" simply does not match. */
    return pg_int((pg *)s, PG_ADHOC,
                  "SELECT a.id FROM alerts a WHERE a.findings LIKE '%\"file\"%' AND "
                  "jsonb_path_exists(a.findings::jsonb, '$[*].file.id ? (@ == $id)', "
                  "jsonb_build_object('id', $1::text)) ORDER BY a.id DESC LIMIT 1",
                  &a, alert_id);
}

/* The messages delivering the file, or its bytes under any file id. */
static int file_spread(store *s, const char *id, bool same_content, int limit, store_messages *out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (!id || limit < 1 || limit > STORE_SPREAD_MAX)
        return STORE_INVAL;
    pa_text(&a, id);
    rc = pg_int(q, PG_ADHOC, "SELECT count(*) FROM files WHERE id = $1", &a, &n);
    if (!rc && !n)
        rc = STORE_NOTFOUND;
    if (rc)
        return rc;
    pa_i64(&a, limit);
    rc = pg_list(q, PG_ADHOC,
                 same_content
                     ? "SELECT " PG_MSG_COLS " FROM messages m WHERE m.id IN (SELECT mf.message_id "
                       "FROM files f JOIN message_files mf ON mf.file_id = f.id WHERE f.hash = "
                       "(SELECT hash FROM files WHERE id = $1)) ORDER BY m.id LIMIT $2"
                     : "SELECT " PG_MSG_COLS " FROM messages m WHERE m.id IN (SELECT message_id "
                       "FROM message_files WHERE file_id = $1) ORDER BY m.id LIMIT $2",
                 &a, (void **)&out->items, &out->n, sizeof *out->items, pg_row_message);
    if (rc)
        store_messages_free(out);
    return rc;
}

/* Every file of these bytes that no message delivers, with its upload row
 * and blob references (an officer's removal of the content). */
static int file_purge(store *s, const char *hash, store_hashes *gone)
{
    pg *q = (pg *)s;
    store_files fl = {0};
    pg_args a = {0};
    int rc;

    memset(gone, 0, sizeof *gone);
    if (!hash)
        return STORE_INVAL;
    rc = pg_begin(q);
    if (rc)
        return rc;
    pa_text(&a, hash);
    rc = pg_list(q, PG_ADHOC,
                 "SELECT " FILE_COLS " FROM files f WHERE f.hash = $1 AND NOT EXISTS("
                 "SELECT 1 FROM message_files mf WHERE mf.file_id = f.id)",
                 &a, (void **)&fl.items, &fl.n, sizeof *fl.items, row_file);
    for (size_t i = 0; !rc && i < fl.n; i++) {
        pg_args f = {0};

        pa_text(&f, fl.items[i].id);
        rc = pg_run(q, PG_ADHOC, "DELETE FROM uploads WHERE file_id = $1", &f, NULL);
        if (!rc)
            rc = pg_run(q, PG_ADHOC, "DELETE FROM files WHERE id = $1", &f, NULL);
        if (!rc)
            rc = blob_unref(q, fl.items[i].hash, gone);
        if (!rc)
            rc = blob_unref(q, fl.items[i].thumb_hash, gone);
    }
    store_files_free(&fl);
    rc = pg_end(q, rc);
    if (rc)
        store_hashes_free(gone);
    return rc;
}

static int file_spread_convs(store *s, const char *id, int64_t since, int64_t *convs,
                             int64_t *first_message)
{
    pg_args a = {0};
    PGresult *r;
    int rc;

    *convs = *first_message = 0;
    pa_text(&a, id);
    pa_i64(&a, since);
    r = pg_exec((pg *)s, PG_ADHOC,
                "SELECT count(DISTINCT CASE WHEN m.created_at >= $2 THEN m.conv_id END), "
                "min(m.id), (SELECT count(*) FROM files WHERE id = $1) FROM files f "
                "JOIN message_files mf ON mf.file_id = f.id JOIN messages m ON m.id = "
                "mf.message_id WHERE f.hash = (SELECT hash FROM files WHERE id = $1)",
                &a, &rc);
    if (r && PQntuples(r) > 0) {
        *convs = pg_i64(r, 0, 0);
        *first_message = pg_i64(r, 0, 1);
        if (!pg_i64(r, 0, 2))
            rc = STORE_NOTFOUND;
    }
    PQclear(r);
    return rc;
}

const store_files_methods pg_files_methods = STORE_FILES_METHODS_TABLE;
