/*
 * store_sqlite_files.c — the SQLite side of store_files.h: uploads, files
 * with blob reference counts, message attachments, inspection outcomes.
 *
 * These statements run a few times per file, not per message, so they are
 * prepared per call (kept out of the handle's persistent table in
 * store_sqlite_int.h, which the chat's hot paths use).
 */
#include "store/store_files.h"
#include "store/store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#define UP_COLS                                                                                    \
    "id, user_id, conv_id, length, filename, filetype, state, created_at, expires_at, file_id, "   \
    "outcome"
#define FILE_COLS                                                                                  \
    "f.id, f.owner_id, f.conv_id, f.hash, f.thumb_hash, f.name, f.mime, f.size, f.image, "         \
    "f.width, f.height, f.location_removed, f.state, f.verdict, f.findings, f.created_at"

static const char *const state_names[] = {"uploading", "inspecting", "ready", "held", "blocked"};

const char *store_up_state_name(int state)
{
    return state >= 0 && state < 5 ? state_names[state] : "blocked";
}

void store_upload_clear(store_upload *u)
{
    if (!u)
        return;
    free(u->id);
    free(u->filename);
    free(u->filetype);
    free(u->file_id);
    free(u->outcome);
    memset(u, 0, sizeof *u);
}

void store_uploads_free(store_uploads *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        store_upload_clear(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

void store_file_clear(store_file *f)
{
    if (!f)
        return;
    free(f->id);
    free(f->hash);
    free(f->thumb_hash);
    free(f->name);
    free(f->mime);
    free(f->verdict);
    free(f->findings);
    memset(f, 0, sizeof *f);
}

void store_files_free(store_files *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        store_file_clear(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

void store_hashes_free(store_hashes *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* A statement prepared for this call; NULL with the error recorded. */
static sqlite3_stmt *prep(sq *q, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sq_rc(q, sqlite3_errcode(q->db));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

static int prep_rc(sq *q)
{
    int rc = sqlite3_errcode(q->db);

    return rc == SQLITE_NOMEM ? STORE_NOMEM : rc == SQLITE_BUSY ? STORE_BUSY : STORE_IO;
}

/* Runs st to the end (no rows wanted) and finalises it. */
static int run(sq *q, sqlite3_stmt *st)
{
    int r = sqlite3_step(st);
    int rc = r == SQLITE_DONE || r == SQLITE_ROW ? STORE_OK : sq_rc(q, r);

    sqlite3_finalize(st);
    return rc;
}

static int row_upload(sq *q, sqlite3_stmt *st, void *item)
{
    store_upload *u = item;

    u->id = sq_col_text(q, st, 0);
    u->user_id = sqlite3_column_int64(st, 1);
    u->conv_id = sqlite3_column_int64(st, 2);
    u->length = sqlite3_column_int64(st, 3);
    u->filename = sq_col_text(q, st, 4);
    u->filetype = sq_col_text(q, st, 5);
    u->state = sqlite3_column_int(st, 6);
    u->created_at = sqlite3_column_int64(st, 7);
    u->expires_at = sqlite3_column_int64(st, 8);
    u->file_id = sq_col_text(q, st, 9);
    u->outcome = sq_col_text(q, st, 10);
    return STORE_OK;
}

static int row_file(sq *q, sqlite3_stmt *st, void *item)
{
    store_file *f = item;

    f->id = sq_col_text(q, st, 0);
    f->owner_id = sqlite3_column_int64(st, 1);
    f->conv_id = sqlite3_column_int64(st, 2);
    f->hash = sq_col_text(q, st, 3);
    f->thumb_hash = sq_col_text(q, st, 4);
    f->name = sq_col_text(q, st, 5);
    f->mime = sq_col_text(q, st, 6);
    f->size = sqlite3_column_int64(st, 7);
    f->image = sqlite3_column_int(st, 8);
    f->width = sqlite3_column_int(st, 9);
    f->height = sqlite3_column_int(st, 10);
    f->location_removed = sqlite3_column_int(st, 11);
    f->state = sqlite3_column_int(st, 12);
    f->verdict = sq_col_text(q, st, 13);
    f->findings = sq_col_text(q, st, 14);
    f->created_at = sqlite3_column_int64(st, 15);
    return STORE_OK;
}

/* One row into item, then finalise. */
static int one(sq *q, sqlite3_stmt *st, sq_row_fn *read, void *item)
{
    int r, rc;

    q->oom = false;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        rc = read(q, st, item);
        if (!rc && q->oom)
            rc = STORE_NOMEM;
    } else if (r == SQLITE_DONE)
        rc = STORE_NOTFOUND;
    else
        rc = sq_rc(q, r);
    sqlite3_finalize(st);
    return rc;
}

static int list(sq *q, sqlite3_stmt *st, void **items, size_t *n, size_t size, sq_row_fn *read)
{
    size_t cap = 0;
    int r, rc = STORE_OK;

    q->oom = false;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        void *slot = sq_grow(items, n, &cap, size);

        if (!slot) {
            rc = STORE_NOMEM;
            break;
        }
        rc = read(q, st, slot);
        if (!rc && q->oom)
            rc = STORE_NOMEM;
        if (rc)
            break;
    }
    if (!rc && r != SQLITE_DONE)
        rc = sq_rc(q, r);
    sqlite3_finalize(st);
    return rc;
}

/* ---- uploads ----------------------------------------------------------- */

static int up_create(store *s, const store_upload *u)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int r;

    if (!u || !u->id || !u->filename)
        return STORE_INVAL;
    st = prep(q, "INSERT INTO uploads(id, user_id, conv_id, length, filename, filetype, state, "
                 "created_at, expires_at) VALUES(?,?,?,?,?,?,?,?,?)");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, u->id);
    sqlite3_bind_int64(st, 2, u->user_id);
    sqlite3_bind_int64(st, 3, u->conv_id);
    sqlite3_bind_int64(st, 4, u->length);
    sq_bind_text(st, 5, u->filename);
    sq_bind_text(st, 6, u->filetype);
    sqlite3_bind_int(st, 7, u->state);
    sqlite3_bind_int64(st, 8, u->created_at);
    sqlite3_bind_int64(st, 9, u->expires_at);
    r = sqlite3_step(st);
    sqlite3_finalize(st);
    if (r == SQLITE_CONSTRAINT)
        return STORE_CONFLICT;
    return r == SQLITE_DONE ? STORE_OK : sq_rc(q, r);
}

static int up_get(store *s, const char *id, store_upload *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    st = prep(q, "SELECT " UP_COLS " FROM uploads WHERE id = ?");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    rc = one(q, st, row_upload, out);
    if (rc)
        store_upload_clear(out);
    return rc;
}

static int up_update(store *s, const char *id, int state, const char *outcome, const char *file_id)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = prep(q, "UPDATE uploads SET state = ?2, outcome = coalesce(?3, outcome), "
                               "file_id = coalesce(?4, file_id) WHERE id = ?1");

    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, state);
    sq_bind_text(st, 3, outcome);
    sq_bind_text(st, 4, file_id);
    if (run(q, st))
        return STORE_IO;
    return sqlite3_changes(q->db) ? STORE_OK : STORE_NOTFOUND;
}

static int up_delete(store *s, const char *id)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = prep(q, "DELETE FROM uploads WHERE id = ?");
    int rc;

    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    rc = run(q, st);
    if (!rc && !sqlite3_changes(q->db))
        rc = STORE_NOTFOUND;
    return rc;
}

/* The database's clock in ms (SQLite: this machine's; one node). */
#define SQ_NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

/* After an UPDATE that matched nothing: held by another (CONFLICT) or gone. */
static int lease_missed(sq *q, const char *id)
{
    sqlite3_stmt *st = prep(q, "SELECT 1 FROM uploads WHERE id = ?");
    int r;

    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    r = sqlite3_step(st);
    sqlite3_finalize(st);
    if (r == SQLITE_ROW)
        return STORE_CONFLICT;
    return r == SQLITE_DONE ? STORE_NOTFOUND : sq_rc(q, r);
}

static int up_lease(store *s, const char *id, const char *owner, int ms, bool take)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = prep(q, "UPDATE uploads SET lease_owner = ?2, lease_until = " SQ_NOW_MS
                               " + ?3 WHERE id = ?1 AND (lease_owner = ?2 OR (?4 AND "
                               "(lease_owner IS NULL OR lease_until < " SQ_NOW_MS ")))");

    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    sq_bind_text(st, 2, owner);
    sqlite3_bind_int(st, 3, ms);
    sqlite3_bind_int(st, 4, take);
    if (run(q, st))
        return STORE_IO;
    return sqlite3_changes(q->db) ? STORE_OK : lease_missed(q, id);
}

static int up_lease_release(store *s, const char *id, const char *owner)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = prep(q, "UPDATE uploads SET lease_owner = NULL, lease_until = 0 "
                               "WHERE id = ?1 AND lease_owner = ?2");

    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    sq_bind_text(st, 2, owner);
    if (run(q, st))
        return STORE_IO;
    return sqlite3_changes(q->db) ? STORE_OK : lease_missed(q, id);
}

static int up_list(store *s, int state, int64_t before, store_uploads *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    st = prep(q, "SELECT " UP_COLS " FROM uploads WHERE state = ?1 AND (?2 = 0 OR expires_at < ?2) "
                 "ORDER BY created_at LIMIT 1000");
    if (!st)
        return prep_rc(q);
    sqlite3_bind_int(st, 1, state);
    sqlite3_bind_int64(st, 2, before);
    rc = list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_upload);
    if (rc)
        store_uploads_free(out);
    return rc;
}

static int up_usage(store *s, int64_t user_id, int64_t *bytes, int64_t *count)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = prep(q, "SELECT coalesce(sum(length), 0), count(*) FROM uploads "
                               "WHERE user_id = ? AND state <= 1");
    int r;

    *bytes = *count = 0;
    if (!st)
        return prep_rc(q);
    sqlite3_bind_int64(st, 1, user_id);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *bytes = sqlite3_column_int64(st, 0);
        *count = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? STORE_OK : sq_rc(q, r);
}

/* ---- files and blob references ------------------------------------------ */

static int blob_ref(sq *q, const char *hash, int64_t size)
{
    sqlite3_stmt *st;

    if (!hash)
        return STORE_OK;
    st = prep(q, "INSERT INTO blobs(hash, refs, size) VALUES(?1, 1, ?2) "
                 "ON CONFLICT(hash) DO UPDATE SET refs = refs + 1");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, hash);
    sqlite3_bind_int64(st, 2, size);
    return run(q, st);
}

/* Drops one reference; a blob left with none is deleted and listed. */
static int blob_unref(sq *q, const char *hash, store_hashes *gone)
{
    sqlite3_stmt *st;
    int rc;

    if (!hash)
        return STORE_OK;
    st = prep(q, "UPDATE blobs SET refs = refs - 1 WHERE hash = ?");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, hash);
    rc = run(q, st);
    if (rc)
        return rc;
    st = prep(q, "DELETE FROM blobs WHERE hash = ? AND refs <= 0");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, hash);
    rc = run(q, st);
    if (!rc && sqlite3_changes(q->db) && gone) {
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
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    if (!f || !f->id || !f->hash || !f->name || !f->mime || !f->verdict)
        return STORE_INVAL;
    rc = sq_begin(q);
    if (rc)
        return rc;
    rc = blob_ref(q, f->hash, blob_size);
    if (!rc)
        rc = blob_ref(q, f->thumb_hash, thumb_size);
    if (rc)
        goto out;
    st = prep(q, "INSERT INTO files(id, owner_id, conv_id, hash, thumb_hash, name, mime, size, "
                 "image, width, height, location_removed, state, verdict, findings, created_at) "
                 "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) {
        rc = prep_rc(q);
        goto out;
    }
    sq_bind_text(st, 1, f->id);
    sqlite3_bind_int64(st, 2, f->owner_id);
    sqlite3_bind_int64(st, 3, f->conv_id);
    sq_bind_text(st, 4, f->hash);
    sq_bind_text(st, 5, f->thumb_hash);
    sq_bind_text(st, 6, f->name);
    sq_bind_text(st, 7, f->mime);
    sqlite3_bind_int64(st, 8, f->size);
    sqlite3_bind_int(st, 9, f->image);
    sqlite3_bind_int(st, 10, f->width);
    sqlite3_bind_int(st, 11, f->height);
    sqlite3_bind_int(st, 12, f->location_removed);
    sqlite3_bind_int(st, 13, f->state);
    sq_bind_text(st, 14, f->verdict);
    sq_bind_text(st, 15, f->findings ? f->findings : "[]");
    sqlite3_bind_int64(st, 16, f->created_at);
    rc = run(q, st);
out:
    return sq_end(q, rc);
}

static int file_get(store *s, const char *id, store_file *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    st = prep(q, "SELECT " FILE_COLS " FROM files f WHERE f.id = ?");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    rc = one(q, st, row_file, out);
    if (rc)
        store_file_clear(out);
    return rc;
}

/* The owner; or a member who can see a message (not recalled) that
 * delivered it: chat_view.c's rule (shared history or a message after the
 * member's boundary), and for an external reader only a message that was
 * inspected with the external scope (fail closed: the file was judged for
 * internal readers only otherwise). */
static int file_visible(store *s, const char *id, int64_t user_id, store_file *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    /* A burn-after-reading message's pictures are nobody's through here,
     * its sender's included: a reader fetches them in the window after
     * opening it (store_work.h, store_burn_file_visible). */
    st = prep(q, "SELECT " FILE_COLS " FROM files f WHERE f.id = ?1 AND ((f.owner_id = ?2 AND "
                 "NOT EXISTS(SELECT 1 FROM message_files bf JOIN messages bm ON bm.id = "
                 "bf.message_id WHERE bf.file_id = f.id AND bm.burn <> 0)) OR "
                 "EXISTS(SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id "
                 "JOIN members mm ON mm.conv_id = m.conv_id AND mm.user_id = ?2 "
                 "JOIN conversations c ON c.id = m.conv_id "
                 "WHERE mf.file_id = f.id AND m.recalled_at = 0 AND m.burn = 0 "
                 "AND (c.shared_history OR m.id > mm.history_from) "
                 "AND (m.scope_external OR NOT (SELECT external FROM users WHERE id = ?2))))");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    rc = one(q, st, row_file, out);
    if (rc)
        store_file_clear(out);
    return rc;
}

static int mf_set(store *s, int64_t message_id, const char *const *ids, size_t n)
{
    sq *q = (sq *)s;
    int rc = sq_begin(q);

    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_stmt *st = prep(q, "INSERT INTO message_files(message_id, file_id, position) "
                                   "VALUES(?,?,?)");

        if (!st) {
            rc = prep_rc(q);
            break;
        }
        sqlite3_bind_int64(st, 1, message_id);
        sq_bind_text(st, 2, ids[i]);
        sqlite3_bind_int(st, 3, (int)i);
        rc = run(q, st);
    }
    return sq_end(q, rc);
}

static int mf_get(store *s, int64_t message_id, store_files *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    st = prep(q, "SELECT " FILE_COLS " FROM message_files mf JOIN files f ON f.id = mf.file_id "
                 "WHERE mf.message_id = ? ORDER BY mf.position");
    if (!st)
        return prep_rc(q);
    sqlite3_bind_int64(st, 1, message_id);
    rc = list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_file);
    if (rc)
        store_files_free(out);
    return rc;
}

static int mf_drop(store *s, int64_t message_id, store_hashes *gone)
{
    sq *q = (sq *)s;
    store_files fl = {0};
    sqlite3_stmt *st;
    int rc;

    memset(gone, 0, sizeof *gone);
    rc = sq_begin(q);
    if (rc)
        return rc;
    rc = mf_get(s, message_id, &fl);
    if (rc)
        goto out;
    st = prep(q, "DELETE FROM message_files WHERE message_id = ?");
    if (!st) {
        rc = prep_rc(q);
        goto out;
    }
    sqlite3_bind_int64(st, 1, message_id);
    rc = run(q, st);
    for (size_t i = 0; !rc && i < fl.n; i++) {
        /* A file no message delivers any more goes, with its blobs. */
        st = prep(q, "DELETE FROM files WHERE id = ?1 AND NOT EXISTS("
                     "SELECT 1 FROM message_files WHERE file_id = ?1)");
        if (!st) {
            rc = prep_rc(q);
            break;
        }
        sq_bind_text(st, 1, fl.items[i].id);
        rc = run(q, st);
        if (rc || !sqlite3_changes(q->db))
            continue;
        /* the upload that made it no longer names it */
        st = prep(q, "DELETE FROM uploads WHERE file_id = ?");
        if (st) {
            sq_bind_text(st, 1, fl.items[i].id);
            rc = run(q, st);
        } else
            rc = prep_rc(q);
        if (!rc)
            rc = blob_unref(q, fl.items[i].hash, gone);
        if (!rc)
            rc = blob_unref(q, fl.items[i].thumb_hash, gone);
    }
out:
    store_files_free(&fl);
    rc = sq_end(q, rc);
    if (rc)
        store_hashes_free(gone);
    return rc;
}

static int insp_get(store *s, const char *key, char **outcome)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int r;

    *outcome = NULL;
    st = prep(q, "SELECT outcome FROM inspections WHERE key = ?");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, key);
    q->oom = false;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *outcome = sq_col_text(q, st, 0);
        r = *outcome ? STORE_OK : STORE_NOMEM;
    } else
        r = r == SQLITE_DONE ? STORE_NOTFOUND : sq_rc(q, r);
    sqlite3_finalize(st);
    return r;
}

static int insp_put(store *s, const char *key, const char *outcome, int64_t now)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = prep(q, "INSERT INTO inspections(key, outcome, created_at) VALUES(?,?,?) "
                               "ON CONFLICT(key) DO UPDATE SET outcome = excluded.outcome");

    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, key);
    sq_bind_text(st, 2, outcome);
    sqlite3_bind_int64(st, 3, now);
    return run(q, st);
}

static int in_alert(store *s, const char *id, int64_t *alert_id)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int r;

    *alert_id = 0;
    /* the alert's findings carry "file": {"id": ...} (chat_send.c) */
    st = prep(q, "SELECT a.id FROM alerts a WHERE EXISTS(SELECT 1 FROM json_each(a.findings) j "
                 "WHERE json_extract(j.value, '$.file.id') = ?1) ORDER BY a.id DESC LIMIT 1");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *alert_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? STORE_OK : r == SQLITE_DONE ? STORE_NOTFOUND : sq_rc(q, r);
}

/* The messages delivering the file, or its bytes under any file id (the
 * files_hash index of schema 9 makes that one range read). */
static int file_spread(store *s, const char *id, bool same_content, int limit, store_messages *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (!id || limit < 1 || limit > STORE_SPREAD_MAX)
        return STORE_INVAL;
    st = prep(q, "SELECT count(*) FROM files WHERE id = ?");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW ? (sqlite3_column_int(st, 0) ? STORE_OK : STORE_NOTFOUND) : sq_rc(q, rc);
    sqlite3_finalize(st);
    if (rc)
        return rc;
    st = prep(q, same_content
                     ? "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.id IN (SELECT mf.message_id "
                       "FROM files f JOIN message_files mf ON mf.file_id = f.id WHERE f.hash = "
                       "(SELECT hash FROM files WHERE id = ?1)) ORDER BY m.id LIMIT ?2"
                     : "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.id IN (SELECT message_id "
                       "FROM message_files WHERE file_id = ?1) ORDER BY m.id LIMIT ?2");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, limit);
    rc = list(q, st, (void **)&out->items, &out->n, sizeof *out->items, sq_row_message);
    if (rc)
        store_messages_free(out);
    return rc;
}

static int file_purge(store *s, const char *hash, store_hashes *gone)
{
    sq *q = (sq *)s;
    store_files fl = {0};
    sqlite3_stmt *st;
    int rc;

    memset(gone, 0, sizeof *gone);
    if (!hash)
        return STORE_INVAL;
    rc = sq_begin(q);
    if (rc)
        return rc;
    st = prep(q, "SELECT " FILE_COLS " FROM files f WHERE f.hash = ? AND NOT EXISTS("
                 "SELECT 1 FROM message_files mf WHERE mf.file_id = f.id)");
    if (!st) {
        rc = prep_rc(q);
        goto out;
    }
    sq_bind_text(st, 1, hash);
    rc = list(q, st, (void **)&fl.items, &fl.n, sizeof *fl.items, row_file);
    for (size_t i = 0; !rc && i < fl.n; i++) {
        st = prep(q, "DELETE FROM uploads WHERE file_id = ?");
        if (!st) {
            rc = prep_rc(q);
            break;
        }
        sq_bind_text(st, 1, fl.items[i].id);
        rc = run(q, st);
        if (!rc && !(st = prep(q, "DELETE FROM files WHERE id = ?")))
            rc = prep_rc(q);
        if (!rc) {
            sq_bind_text(st, 1, fl.items[i].id);
            rc = run(q, st);
        }
        if (!rc)
            rc = blob_unref(q, fl.items[i].hash, gone);
        if (!rc)
            rc = blob_unref(q, fl.items[i].thumb_hash, gone);
    }
out:
    store_files_free(&fl);
    rc = sq_end(q, rc);
    if (rc)
        store_hashes_free(gone);
    return rc;
}

static int file_spread_convs(store *s, const char *id, int64_t since, int64_t *convs,
                             int64_t *first_message)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int r;

    *convs = *first_message = 0;
    st = prep(q, "SELECT count(DISTINCT CASE WHEN m.created_at >= ?2 THEN m.conv_id END), "
                 "min(m.id), (SELECT count(*) FROM files WHERE id = ?1) FROM files f "
                 "JOIN message_files mf ON mf.file_id = f.id JOIN messages m ON m.id = "
                 "mf.message_id WHERE f.hash = (SELECT hash FROM files WHERE id = ?1)");
    if (!st)
        return prep_rc(q);
    sq_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, since);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *convs = sqlite3_column_int64(st, 0);
        *first_message = sqlite3_column_int64(st, 1);
        r = sqlite3_column_int(st, 2) ? STORE_OK : STORE_NOTFOUND;
    } else
        r = sq_rc(q, r);
    sqlite3_finalize(st);
    return r;
}

const store_files_methods sq_files_methods = STORE_FILES_METHODS_TABLE;
