/*
 * store_migrate.c — the SQLite schema as a list of versioned migrations,
 * applied in order when a handle opens (docs/STORE.md, "Migrations").
 *
 * Each migration runs in its own BEGIN IMMEDIATE transaction together with
 * the row recording it in schema_migrations, so a crash leaves the schema
 * at one version or the next, never between. The version is re-read inside
 * the transaction: two processes opening a fresh database at once (the
 * server and `cordon user`) apply each migration once.
 *
 * Rule: a migration, once released, is never edited; changes are new
 * entries appended to the list.
 */
#include "store/store_sqlite_int.h"

#include <stdio.h>
#include <time.h>

typedef struct migration {
    int version;
    const char *what;
    const char *sql;
} migration;

static const migration migrations[] = {
    {1, "initial schema",
     /* Accounts. login is unique regardless of case. */
     "CREATE TABLE users ("
     " id INTEGER PRIMARY KEY,"
     " login TEXT NOT NULL UNIQUE COLLATE NOCASE,"
     " display_name TEXT NOT NULL DEFAULT '',"
     " role INTEGER NOT NULL DEFAULT 0 CHECK (role IN (0, 1, 2)),"
     " external INTEGER NOT NULL DEFAULT 0,"
     " disabled INTEGER NOT NULL DEFAULT 0,"
     " must_change_password INTEGER NOT NULL DEFAULT 0,"
     " password_hash TEXT,"
     " totp_secret TEXT,"
     " totp_enabled INTEGER NOT NULL DEFAULT 0,"
     " totp_last_step INTEGER NOT NULL DEFAULT 0,"
     " failed_logins INTEGER NOT NULL DEFAULT 0,"
     " locked_until INTEGER NOT NULL DEFAULT 0,"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL);"
     /* Sessions: only the BLAKE2b hash of the token. */
     "CREATE TABLE sessions ("
     " id INTEGER PRIMARY KEY,"
     " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
     " token_hash BLOB NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " last_seen_at INTEGER NOT NULL,"
     " expires_at INTEGER NOT NULL,"
     " user_agent TEXT,"
     " address TEXT);"
     "CREATE INDEX sessions_user ON sessions(user_id);"
     "CREATE INDEX sessions_expires ON sessions(expires_at);"
     /* Conversations. direct_key = 'min:max' user ids for direct ones, so
      * a pair has at most one; NULL (not unique-constrained) for groups. */
     "CREATE TABLE conversations ("
     " id INTEGER PRIMARY KEY,"
     " kind INTEGER NOT NULL CHECK (kind IN (0, 1)),"
     " title TEXT NOT NULL DEFAULT '',"
     " external INTEGER NOT NULL DEFAULT 0,"
     " created_by INTEGER REFERENCES users(id),"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL,"
     " activity_at INTEGER NOT NULL,"
     " last_message_id INTEGER NOT NULL DEFAULT 0,"
     " direct_key TEXT UNIQUE);"
     "CREATE TABLE members ("
     " conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
     " user_id INTEGER NOT NULL REFERENCES users(id),"
     " role INTEGER NOT NULL DEFAULT 0 CHECK (role IN (0, 1, 2)),"
     " joined_at INTEGER NOT NULL,"
     " delivered_id INTEGER NOT NULL DEFAULT 0,"
     " read_id INTEGER NOT NULL DEFAULT 0,"
     " PRIMARY KEY (conv_id, user_id)) WITHOUT ROWID;"
     "CREATE INDEX members_user ON members(user_id);"
     /* Messages. The UNIQUE index makes sends idempotent. body NULL =
      * recalled (secure_delete overwrites the freed bytes). */
     "CREATE TABLE messages ("
     " id INTEGER PRIMARY KEY,"
     " conv_id INTEGER NOT NULL REFERENCES conversations(id),"
     " sender_id INTEGER NOT NULL REFERENCES users(id),"
     " client_id TEXT NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " body TEXT,"
     " masked INTEGER NOT NULL DEFAULT 0,"
     " verdict TEXT NOT NULL,"
     " justification TEXT,"
     " recalled_at INTEGER NOT NULL DEFAULT 0,"
     " forward_of INTEGER REFERENCES messages(id),"
     " forward_origin_id INTEGER,"
     " forward_author_id INTEGER,"
     " forward_depth INTEGER NOT NULL DEFAULT 0,"
     " UNIQUE (conv_id, sender_id, client_id));"
     "CREATE INDEX messages_conv ON messages(conv_id, id);"
     /* Officer alerts. */
     "CREATE TABLE alerts ("
     " id INTEGER PRIMARY KEY,"
     " created_at INTEGER NOT NULL,"
     " user_id INTEGER REFERENCES users(id),"
     " conv_id INTEGER REFERENCES conversations(id),"
     " message_id INTEGER REFERENCES messages(id),"
     " category TEXT NOT NULL,"
     " verdict TEXT NOT NULL,"
     " rule TEXT,"
     " findings TEXT NOT NULL,"
     " justification TEXT,"
     " status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),"
     " acked_by INTEGER REFERENCES users(id),"
     " acked_at INTEGER NOT NULL DEFAULT 0,"
     " ack_comment TEXT,"
     " resolved_by INTEGER REFERENCES users(id),"
     " resolved_at INTEGER NOT NULL DEFAULT 0,"
     " resolve_comment TEXT);"
     "CREATE INDEX alerts_created ON alerts(created_at);"
     "CREATE INDEX alerts_status ON alerts(status, id);"
     /* The audit chain. Triggers refuse UPDATE and DELETE through SQL;
      * the hash chain (docs/AUDIT.md) catches whoever edits the file. */
     "CREATE TABLE audit ("
     " seq INTEGER PRIMARY KEY,"
     " time INTEGER NOT NULL,"
     " actor_id INTEGER NOT NULL,"
     " actor TEXT NOT NULL,"
     " event TEXT NOT NULL,"
     " target TEXT NOT NULL,"
     " detail TEXT NOT NULL,"
     " prev_hash BLOB NOT NULL,"
     " hash BLOB NOT NULL);"
     "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
     "CREATE TABLE audit_head ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " seq INTEGER NOT NULL,"
     " hash BLOB NOT NULL);"
     "CREATE TABLE settings ("
     " key TEXT PRIMARY KEY,"
     " value TEXT NOT NULL);"},
    {2, "account changes for open connections",
     /* Changes that must reach open connections, whichever process made
      * them (the server, `cordon user`, sqlite3): written by triggers in
      * the changing transaction itself, so no writer can forget one. The
      * server reads the rows after the last seq it saw (docs/STORE.md).
      * session_id 0: the whole account (disabled, role); otherwise one
      * session that ended before its time (revoked, password reset). */
     "CREATE TABLE account_changes ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " user_id INTEGER NOT NULL,"
     " session_id INTEGER NOT NULL DEFAULT 0,"
     " at INTEGER NOT NULL);"
     "CREATE INDEX account_changes_at ON account_changes(at);"
     "CREATE TRIGGER users_account_change AFTER UPDATE OF role, disabled ON users"
     " WHEN OLD.role IS NOT NEW.role OR OLD.disabled IS NOT NEW.disabled"
     " BEGIN INSERT INTO account_changes(user_id, session_id, at) VALUES(NEW.id, 0,"
     " CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;"
     /* An expired session's sockets are closed by the server's own clock. */
     "CREATE TRIGGER sessions_account_change AFTER DELETE ON sessions"
     " WHEN OLD.expires_at > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
     " BEGIN INSERT INTO account_changes(user_id, session_id, at) VALUES(OLD.user_id, OLD.id,"
     " CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;"},
    {3, "history scope: shared history, member boundaries, inspection scope",
     /* docs/SERVER.md, "History and new members". Existing rows keep what
      * they had: members see all history (history_from 0), and every
      * message counts as inspected for internal readers only, so an
      * external reader gets it through the guard's external scope. */
     "ALTER TABLE conversations ADD COLUMN shared_history INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN history_from INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE messages ADD COLUMN scope_external INTEGER NOT NULL DEFAULT 0;"},
    {4, "audit instance id",
     /* A random id for this database, created once: signed checkpoints of
      * the audit chain name it, so a checkpoint of another database (or of
      * a database replaced by a fresh one) is told apart (docs/AUDIT.md). */
     "INSERT OR IGNORE INTO settings(key, value)"
     " VALUES('audit.instance', lower(hex(randomblob(16))));"},
    {5, "files: uploads, inspections, files with reference counts, message attachments",
     /* docs/FILES.md, "Files in chat". An upload in progress (tus): its
      * bytes are in the blob store's staging area under the same id; the
      * row says who may continue it, for which conversation, and until
      * when. `outcome` is the inspection's JSON (verdict, findings, mime,
      * location_removed, error) once the last byte landed. */
     "CREATE TABLE uploads ("
     " id TEXT PRIMARY KEY,"
     " user_id INTEGER NOT NULL REFERENCES users(id),"
     " conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
     " length INTEGER NOT NULL,"
     " filename TEXT NOT NULL,"
     " filetype TEXT,"
     " state INTEGER NOT NULL DEFAULT 0,"
     " created_at INTEGER NOT NULL,"
     " expires_at INTEGER NOT NULL,"
     " file_id TEXT,"
     " outcome TEXT);"
     "CREATE INDEX uploads_user ON uploads(user_id, state);"
     "CREATE INDEX uploads_state ON uploads(state, expires_at);"
     /* One row per content blob: how many files refer to it. A blob whose
      * count reaches 0 is removed from the blob store. */
     "CREATE TABLE blobs ("
     " hash TEXT PRIMARY KEY,"
     " refs INTEGER NOT NULL DEFAULT 0,"
     " size INTEGER NOT NULL) WITHOUT ROWID;"
     /* A file as the chat knows it: inspected bytes (metadata stripped)
      * and their outcome, owned by its uploader; delivered by messages. */
     "CREATE TABLE files ("
     " id TEXT PRIMARY KEY,"
     " owner_id INTEGER NOT NULL REFERENCES users(id),"
     " conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
     " hash TEXT NOT NULL REFERENCES blobs(hash),"
     " thumb_hash TEXT REFERENCES blobs(hash),"
     " name TEXT NOT NULL,"
     " mime TEXT NOT NULL,"
     " size INTEGER NOT NULL,"
     " image INTEGER NOT NULL DEFAULT 0,"
     " width INTEGER NOT NULL DEFAULT 0,"
     " height INTEGER NOT NULL DEFAULT 0,"
     " location_removed INTEGER NOT NULL DEFAULT 0,"
     " state INTEGER NOT NULL,"
     " verdict TEXT NOT NULL,"
     " findings TEXT NOT NULL DEFAULT '[]',"
     " created_at INTEGER NOT NULL);"
     "CREATE INDEX files_owner ON files(owner_id);"
     "CREATE TABLE message_files ("
     " message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
     " file_id TEXT NOT NULL REFERENCES files(id),"
     " position INTEGER NOT NULL,"
     " PRIMARY KEY (message_id, file_id)) WITHOUT ROWID;"
     "CREATE INDEX message_files_file ON message_files(file_id);"
     /* Inspection outcomes by (content hash, ruleset, scope): the same
      * bytes under the same rules are inspected once. */
     "CREATE TABLE inspections ("
     " key TEXT PRIMARY KEY,"
     " outcome TEXT NOT NULL,"
     " created_at INTEGER NOT NULL) WITHOUT ROWID;"},
    {6, "trace and contain",
     /* docs/STORE.md, "Trace and contain". The spread of a message is
      * every message whose forward_origin_id is its root: an index makes
      * that one range read. `contained`: 0 none, 1 quarantined (the text
      * moved to message_quarantine, kept for review), 2 removed by an
      * officer. A quarantined or removed message also has recalled_at
      * set, so every read path that hides recalled text hides it. */
     "CREATE INDEX messages_origin ON messages(forward_origin_id)"
     " WHERE forward_origin_id IS NOT NULL;"
     "ALTER TABLE messages ADD COLUMN contained INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE message_quarantine ("
     " message_id INTEGER PRIMARY KEY REFERENCES messages(id),"
     " body TEXT,"
     " justification TEXT,"
     " at INTEGER NOT NULL,"
     " by_user INTEGER);"},
    {7, "reminders, message kinds (reminder and contact cards), burn-after-reading, phones",
     /* docs/SERVER.md, "Reminders", "Burn-after-reading", "Contact cards".
      * A message's kind and its meta (JSON) let a fired reminder and a
      * contact card travel as messages through the one send path; burn is
      * 0 (ordinary), 1 (live) or 2 (destroyed), burn_deadline when a live
      * one is destroyed; burn_opens holds who opened it (each reader once).
      * reminders.at is the next time it is due, in UTC milliseconds; tz
      * the zone its repeats are computed in. */
     "ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';"
     "ALTER TABLE messages ADD COLUMN meta TEXT;"
     "ALTER TABLE messages ADD COLUMN burn INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE messages ADD COLUMN burn_deadline INTEGER NOT NULL DEFAULT 0;"
     "CREATE INDEX messages_burn_due ON messages(burn_deadline) WHERE burn = 1;"
     "CREATE TABLE burn_opens ("
     " message_id INTEGER NOT NULL,"
     " user_id INTEGER NOT NULL,"
     " opened_at INTEGER NOT NULL,"
     " PRIMARY KEY(message_id, user_id)) WITHOUT ROWID;"
     "ALTER TABLE users ADD COLUMN phone TEXT;"
     "CREATE TABLE reminders ("
     " id INTEGER PRIMARY KEY,"
     " conv_id INTEGER NOT NULL,"
     " creator_id INTEGER NOT NULL,"
     " text TEXT NOT NULL,"
     " at INTEGER NOT NULL,"
     " repeat INTEGER NOT NULL DEFAULT 0,"
     " tz TEXT NOT NULL,"
     " target INTEGER NOT NULL DEFAULT 0,"
     " target_ids TEXT NOT NULL DEFAULT '[]',"
     " active INTEGER NOT NULL DEFAULT 1,"
     " fired_count INTEGER NOT NULL DEFAULT 0,"
     " last_fired_at INTEGER NOT NULL DEFAULT 0,"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL);"
     "CREATE INDEX reminders_due ON reminders(at) WHERE active = 1;"
     "CREATE INDEX reminders_conv ON reminders(conv_id);"},
    {8, "inbound warnings and reports",
     /* docs/POLICY.md, "The inbound scope in chat": what the guard's
      * inbound scope found in a message an external sender sent to
      * internal members (JSON, NULL when nothing). Reports (举报) are
      * officer alerts of kind 'report' (NULL: a guard alert, as before):
      * the reporter, their note and the reported content as it was. */
     "ALTER TABLE messages ADD COLUMN inbound_warning TEXT;"
     "ALTER TABLE alerts ADD COLUMN kind TEXT;"
     "ALTER TABLE alerts ADD COLUMN reporter_id INTEGER REFERENCES users(id);"
     "ALTER TABLE alerts ADD COLUMN note TEXT;"
     "ALTER TABLE alerts ADD COLUMN evidence TEXT;"
     "CREATE INDEX alerts_reporter ON alerts(reporter_id, created_at) WHERE reporter_id IS NOT "
     "NULL;"},
    {9, "trace by file, departments, exports by sender",
     /* docs/STORE.md, "Trace and contain": a file is traced by the hash
      * of its bytes (the same photo uploaded again is another file row
      * with the same hash), so files_hash makes that one range read.
      * messages_sender: a user's export and per-user counts read by
      * sender. users.department: the department a user belongs to (NULL
      * when none), the statistics' department dimension. */
     "CREATE INDEX files_hash ON files(hash);"
     "CREATE INDEX messages_sender ON messages(sender_id, id);"
     "ALTER TABLE users ADD COLUMN department TEXT;"},
    {10, "deliveries of watermarked images",
     /* docs/WATERMARK.md: the id an image's invisible watermark carries
      * names who received which file, when. One row per (file, viewer):
      * every download by that viewer carries the same id. No foreign key
      * to files: a delivery outlives its file (a leak is traced after a
      * recall or a burn too). */
     "CREATE TABLE deliveries ("
     " id INTEGER PRIMARY KEY,"
     " user_id INTEGER NOT NULL REFERENCES users(id),"
     " file_id TEXT NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " UNIQUE(file_id, user_id));"},
    {11, "upload leases in the store",
     /* One writer per upload across nodes (docs/SCALING.md): the lease
      * lives on the upload's row, so it holds as long as the store is
      * reachable (a Redis outage no longer matters). lease_until is in ms
      * of the database's clock; 0 is free. */
     "ALTER TABLE uploads ADD COLUMN lease_owner TEXT;"
     "ALTER TABLE uploads ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
     /* The gap fill's recall scan (store_message_recalled_since) reads the
      * messages recalled since a moment: few among many, so a partial
      * index of the recalled ones only. */
     "CREATE INDEX messages_recalled ON messages(recalled_at) WHERE recalled_at > 0;"},
};

#define N_MIGRATIONS (int)(sizeof migrations / sizeof migrations[0])

/* At most one migration per schema version. Versions are handed out to
 * parallel branches ahead of their merge, so the list may have a gap while
 * they are apart; the last entry must be STORE_SCHEMA_VERSION (checked when
 * migrating). */
_Static_assert(sizeof migrations / sizeof migrations[0] <= STORE_SCHEMA_VERSION,
               "at most one migration per schema version");

static int current_version(sq *q, int *v)
{
    sqlite3_stmt *st = sq_stmt(q, SQ_SCHEMA_VERSION);
    int rc;

    if (!st)
        return sq_prep_rc(q);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    return sq_rc(q, rc);
}

static int exec_sql(sq *q, const char *sql)
{
    return sq_rc(q, sqlite3_exec(q->db, sql, NULL, NULL, NULL));
}

static int apply(sq *q, const migration *m)
{
    char rec[160];
    int v = 0, rc;

    rc = exec_sql(q, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    rc = current_version(q, &v);
    if (rc || v >= m->version) /* someone else applied it meanwhile */
        goto done;
    rc = exec_sql(q, m->sql);
    if (rc)
        goto done;
    snprintf(rec, sizeof rec, "INSERT INTO schema_migrations(version, applied_at) VALUES(%d, %lld)",
             m->version, (long long)time(NULL) * 1000);
    rc = exec_sql(q, rec);
done:
    if (rc) {
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return exec_sql(q, "COMMIT");
}

int sq_migrate(sq *q)
{
    int v = 0, rc;

    if (!q->read_only) {
        rc = exec_sql(q, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                         " version INTEGER PRIMARY KEY,"
                         " applied_at INTEGER NOT NULL)");
        if (rc)
            return rc;
    }
    rc = current_version(q, &v);
    if (rc)
        return rc;
    if (migrations[N_MIGRATIONS - 1].version != STORE_SCHEMA_VERSION) {
        snprintf(q->err, sizeof q->err, "the last migration is not schema version %d",
                 STORE_SCHEMA_VERSION);
        return STORE_CORRUPT;
    }
    if (v > STORE_SCHEMA_VERSION) {
        snprintf(q->err, sizeof q->err,
                 "database schema version %d is newer than this program's (%d)", v,
                 STORE_SCHEMA_VERSION);
        return STORE_VERSION;
    }
    if (q->read_only) {
        if (v == STORE_SCHEMA_VERSION)
            return STORE_OK;
        snprintf(q->err, sizeof q->err,
                 "database schema version %d needs migrating (open it read-write once)", v);
        return STORE_VERSION;
    }
    for (int i = 0; i < N_MIGRATIONS; i++) {
        if (migrations[i].version <= v)
            continue;
        rc = apply(q, &migrations[i]);
        if (rc)
            return rc;
    }
    return STORE_OK;
}
