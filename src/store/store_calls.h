/*
 * store_calls.h — the store's calls: the static inline wrappers over
 * store_methods that every caller uses (docs/STORE.md). Part of store.h's
 * contract, split out for its length; include store.h, never this file.
 */
#ifndef CORDON_STORE_CALLS_H
#define CORDON_STORE_CALLS_H

#ifndef CORDON_STORE_H
#error "include store/store.h, not store/store_calls.h"
#endif

/* Schema version after migrations (STORE_SCHEMA_VERSION for this binary). */
static inline int store_schema_version(store *s, int *out)
{
    return s->methods->schema_version(s, out);
}

/* Starts a write group; STORE_INVAL if one is open. Takes the write lock at
 * once (may wait up to the busy timeout, then STORE_BUSY). */
static inline int store_tx_begin(store *s)
{
    return s->methods->tx_begin(s);
}

/* Commits the group. On failure the group is rolled back: nothing of it
 * is stored. */
static inline int store_tx_commit(store *s)
{
    return s->methods->tx_commit(s);
}

static inline int store_tx_rollback(store *s)
{
    return s->methods->tx_rollback(s);
}

/* --- users --- */

/* Creates an account. STORE_CONFLICT when the login is taken (case-
 * insensitively), STORE_INVAL on empty login/hash. *id_out may be NULL. */
static inline int store_user_create(store *s, const store_user_new *u, int64_t *id_out)
{
    return s->methods->user_create(s, u, id_out);
}

/* STORE_NOTFOUND when there is no such user. */
static inline int store_user_get(store *s, int64_t id, store_user *out)
{
    return s->methods->user_get(s, id, out);
}

/* Login lookup is case-insensitive. STORE_NOTFOUND when unknown. */
static inline int store_user_get_by_login(store *s, const char *login, store_user *out)
{
    return s->methods->user_get_by_login(s, login, out);
}

/* Every account ordered by id (disabled ones only when asked). */
static inline int store_user_list(store *s, bool include_disabled, store_users *out)
{
    return s->methods->user_list(s, include_disabled, out);
}

/* Number of accounts, disabled included (the first-start bootstrap). */
static inline int store_user_count(store *s, int64_t *out)
{
    return s->methods->user_count(s, out);
}

/* Applies a partial update. Disabling also revokes every session of the
 * user in the same transaction; changing `external` recomputes the external
 * flag of the user's conversations. STORE_NOTFOUND when no such user. */
static inline int store_user_update(store *s, int64_t id, const store_user_patch *p)
{
    return s->methods->user_update(s, id, p);
}

/* Records that TOTP step `step` was used, atomically: STORE_CONFLICT when
 * step <= the last accepted step (a replay), so a code works only once. */
static inline int store_user_totp_use_step(store *s, int64_t id, int64_t step)
{
    return s->methods->user_totp_use_step(s, id, step);
}

/* --- sessions --- */

/* STORE_NOTFOUND when the user does not exist. *id_out may be NULL. */
static inline int store_session_create(store *s, const store_session_new *n, int64_t *id_out)
{
    return s->methods->session_create(s, n, id_out);
}

/* The live session with this token hash and its user, in one read.
 * STORE_NOTFOUND when unknown, revoked or expired (expires_at <= now).
 * The caller still checks user->disabled and must_change_password.
 * `user` may be NULL. */
static inline int store_session_lookup(store *s, const uint8_t hash[STORE_TOKEN_HASH_LEN],
                                       int64_t now, store_session *sess, store_user *user)
{
    return s->methods->session_lookup(s, hash, now, sess, user);
}

/* Sets last_seen_at (callers throttle this, e.g. once a minute). */
static inline int store_session_touch(store *s, int64_t id, int64_t now)
{
    return s->methods->session_touch(s, id, now);
}

/* Live sessions of a user, newest first. */
static inline int store_session_list(store *s, int64_t user_id, int64_t now, store_sessions *out)
{
    return s->methods->session_list(s, user_id, now, out);
}

/* Revokes (deletes) one session. With user_id > 0 only when it belongs to
 * that user (own sessions), else STORE_NOTFOUND; user_id 0 = any (admin). */
static inline int store_session_revoke(store *s, int64_t id, int64_t user_id)
{
    return s->methods->session_revoke(s, id, user_id);
}

/* Revokes every session of a user except except_id (0 = all). *n_out (may
 * be NULL) is how many went. */
static inline int store_session_revoke_user(store *s, int64_t user_id, int64_t except_id,
                                            int64_t *n_out)
{
    return s->methods->session_revoke_user(s, user_id, except_id, n_out);
}

/* Deletes sessions whose expires_at <= now. */
static inline int store_session_expire(store *s, int64_t now, int64_t *n_out)
{
    return s->methods->session_expire(s, now, n_out);
}

/* --- conversations --- */

/* Creates a conversation: the creator becomes owner and a member, every
 * id in member_ids a member (duplicates and the creator ignored). DIRECT
 * needs exactly one other member; if a direct conversation between the two
 * already exists its id is returned with *created = false (may be NULL).
 * STORE_NOTFOUND when a user does not exist, STORE_INVAL on a bad shape.
 * `external` is computed from the members. */
static inline int store_conv_create(store *s, store_conv_kind kind, const char *title,
                                    int64_t creator, const int64_t *member_ids, size_t n_members,
                                    int64_t now, int64_t *id_out, bool *created)
{
    return s->methods->conv_create(s, kind, title, creator, member_ids, n_members, now, id_out,
                                   created);
}

/* STORE_NOTFOUND when no such conversation. Callers check membership first
 * (store_member_role) so non-members learn nothing. */
static inline int store_conv_get(store *s, int64_t id, store_conv *out)
{
    return s->methods->conv_get(s, id, out);
}

/* The user's conversations, most recent activity first, each with the
 * unread count, the last message and the user's role. */
static inline int store_conv_list_for_user(store *s, int64_t user_id, store_conv_summaries *out)
{
    return s->methods->conv_list_for_user(s, user_id, out);
}

static inline int store_conv_rename(store *s, int64_t id, const char *title, int64_t now)
{
    return s->methods->conv_rename(s, id, title, now);
}

/* Adds a member (groups only: STORE_INVAL on a direct conversation);
 * STORE_CONFLICT when already a member; recomputes `external`. The
 * member's history_from, delivered and read pointers start at the
 * conversation's last message id: what was sent before is not theirs to
 * read unless the group shares its history, and never counts as unread. */
static inline int store_member_add(store *s, int64_t conv_id, int64_t user_id,
                                   store_member_role role, int64_t now)
{
    return s->methods->member_add(s, conv_id, user_id, role, now);
}

/* Removes a member (also "leave"); STORE_NOTFOUND when not a member;
 * recomputes `external`. Ownership transfer is the caller's policy. */
static inline int store_member_remove(store *s, int64_t conv_id, int64_t user_id, int64_t now)
{
    return s->methods->member_remove(s, conv_id, user_id, now);
}

/* One member's row (role, receipt pointers, history_from): STORE_NOTFOUND
 * when user_id is not a member (or no such conversation). */
static inline int store_member_get(store *s, int64_t conv_id, int64_t user_id, store_member *out)
{
    return s->methods->member_get ? s->methods->member_get(s, conv_id, user_id, out)
                                  : STORE_VERSION;
}

/* Sets whether members who join later see earlier messages; groups only
 * (STORE_INVAL on a direct conversation), STORE_NOTFOUND when no such
 * conversation. */
static inline int store_conv_set_shared_history(store *s, int64_t id, bool shared, int64_t now)
{
    return s->methods->conv_set_shared_history
               ? s->methods->conv_set_shared_history(s, id, shared, now)
               : STORE_VERSION;
}

static inline int store_member_set_role(store *s, int64_t conv_id, int64_t user_id,
                                        store_member_role role)
{
    return s->methods->member_set_role(s, conv_id, user_id, role);
}

/* The membership check: STORE_OK and the role when user_id is a member,
 * STORE_NOTFOUND when not (or no such conversation). `out` may be NULL. */
static inline int store_member_check(store *s, int64_t conv_id, int64_t user_id,
                                     store_member_role *out)
{
    return s->methods->member_check(s, conv_id, user_id, out);
}

/* Members with their receipt pointers, ordered by user id. */
static inline int store_member_list(store *s, int64_t conv_id, store_members *out)
{
    return s->methods->member_list(s, conv_id, out);
}

/* --- messages --- */

/* Stores a message. Idempotent on (conv_id, sender_id, client_id): a repeat
 * returns the stored message with *duplicate = true and changes nothing.
 * Checks the sender is a member (STORE_NOTFOUND if not) and that forward_of
 * exists and is not recalled (STORE_NOTFOUND). `out` and `duplicate` may be
 * NULL. */
static inline int store_message_append(store *s, const store_message_new *m, store_message *out,
                                       bool *duplicate)
{
    return s->methods->message_append(s, m, out, duplicate);
}

/* Group commit: appends n messages in ONE transaction. Each item gets its
 * own result in rcs[i] (a failed item does not stop the others), out[i]
 * (when out is not NULL) and duplicate[i] (may be NULL). Returns STORE_OK
 * when the transaction committed; on any other return nothing was stored
 * and every rcs[i] is that error. Inside store_tx, SQLite appends in a
 * savepoint of the caller's transaction (durable with its store_tx_commit);
 * PostgreSQL refuses (STORE_INVAL, nothing done). With several writers
 * (STORE_CAN_CONCURRENT_WRITERS) the batch may commit as two transactions:
 * first the conversations no other writer holds, then those it had to
 * wait for; a conversation's messages are always in one of them. STORE_OK
 * then says the first committed, and an item of the second that could not
 * be stored (the wait timed out: STORE_BUSY) has its error in rcs[i]. */
static inline int store_message_append_batch(store *s, const store_message_new *m, size_t n,
                                             store_message *out, int *rcs, bool *duplicate)
{
    return s->methods->message_append_batch(s, m, n, out, rcs, duplicate);
}

static inline int store_message_get(store *s, int64_t id, store_message *out)
{
    return s->methods->message_get(s, id, out);
}

/* History page, NEWEST FIRST: messages with id < before_id (0 = from the
 * newest), at most limit (1..500; 0 = 50). The next cursor is the last
 * item's id; fewer than limit items means the start was reached. */
static inline int store_message_history(store *s, int64_t conv_id, int64_t before_id, int limit,
                                        store_messages *out)
{
    return s->methods->message_history(s, conv_id, before_id, limit, out);
}

/* Catch-up, OLDEST FIRST: messages with id > after_id, at most limit. */
static inline int store_message_since(store *s, int64_t conv_id, int64_t after_id, int limit,
                                      store_messages *out)
{
    return s->methods->message_since(s, conv_id, after_id, limit, out);
}

/* The bus's gap fill (docs/SCALING.md): messages of EVERY conversation with
 * id > after_id, OLDEST FIRST, at most limit (1..5000). STORE_INVAL when
 * the backend has no such method. A primary-key range: cheap however large
 * the table. */
static inline int store_message_after(store *s, int64_t after_id, int limit, store_messages *out)
{
    if (!s->methods->message_after)
        return STORE_INVAL;
    return s->methods->message_after(s, after_id, limit, out);
}

/* The gap fill's recalls (docs/SCALING.md): messages of EVERY conversation
 * with id <= max_id recalled or contained at or after `since` (ms, the
 * gap's start), OLDEST FIRST, at most limit (1..5000). recalled_at has no
 * index: a scan of the table, for a rare event (a bus gap) on a worker.
 * STORE_INVAL when the backend has no such method. */
static inline int store_message_recalled_since(store *s, int64_t since, int64_t max_id, int limit,
                                               store_messages *out)
{
    if (!s->methods->message_recalled_since)
        return STORE_INVAL;
    return s->methods->message_recalled_since(s, since, max_id, limit, out);
}

/* The highest message id (0 for none): where a node's bus starts counting
 * what it has seen (the gap fill's floor). STORE_INVAL without the method. */
static inline int store_message_max_id(store *s, int64_t *out)
{
    *out = 0;
    if (!s->methods->message_max_id)
        return STORE_INVAL;
    return s->methods->message_max_id(s, out);
}

/* Recall: erases the text and justification (overwritten on disk where the
 * backend supports STORE_CAN_SECURE_DELETE), marks the message recalled,
 * and strips the message's alerts down to the evidence officers keep
 * (docs/AUDIT.md): the findings without context_before/context_after, no
 * justification — in the same transaction. Window and
 * sender checks are the caller's. STORE_NOTFOUND when no such message;
 * recalling twice is STORE_OK. */
static inline int store_message_recall(store *s, int64_t id, int64_t now)
{
    return s->methods->message_recall(s, id, now);
}

/* The forward chain of a message: the message itself first, then what it
 * was forwarded from, back to the original (recalled ones included, text
 * NULL). */
static inline int store_message_forward_chain(store *s, int64_t id, store_messages *out)
{
    return s->methods->message_forward_chain(s, id, out);
}

/* Every copy of a message: the root and the messages forwarded from it or
 * from its copies, OLDEST FIRST (so a parent comes before its copies),
 * recalled and contained ones included (text NULL). At most q->limit;
 * out->n == limit means there may be more. STORE_INVAL on a bad limit. */
static inline int store_message_spread(store *s, const store_spread_query *q, store_messages *out)
{
    return s->methods->message_spread ? s->methods->message_spread(s, q, out) : STORE_VERSION;
}

/* An officer's containment of one message (docs/STORE.md, "Trace and
 * contain"). REMOVE erases the text like a recall (alerts stripped to
 * their evidence, a kept quarantine copy erased too) and marks it removed;
 * QUARANTINE moves the text aside and hides it (alerts keep their context
 * for the review); RESTORE puts a quarantined message back. *changed
 * (may be NULL) is false when there was nothing to do: already in that
 * state, recalled by its sender, or restoring one not quarantined.
 * STORE_NOTFOUND when no such message. Use inside store_tx to contain
 * several copies and write the audit row atomically, then erase_flush. */
static inline int store_message_contain(store *s, int64_t id, store_contain_action action,
                                        int64_t actor, int64_t now, bool *changed)
{
    return s->methods->message_contain
               ? s->methods->message_contain(s, id, action, actor, now, changed)
               : STORE_VERSION;
}

/* The text an officer's quarantine keeps aside for review (*text a heap
 * string, free()); STORE_NOTFOUND when the message is not quarantined. */
static inline int store_quarantine_text(store *s, int64_t id, char **text, size_t *len)
{
    return s->methods->quarantine_text ? s->methods->quarantine_text(s, id, text, len)
                                       : STORE_VERSION;
}

/* After a transaction that erased content (store_message_contain with
 * REMOVE): pushes the erased bytes out of the backend's journal where it
 * keeps them (SQLite: checkpoint and truncate the write-ahead log). Best
 * effort, never waits for readers; STORE_OK when the backend has nothing
 * to do. */
static inline int store_erase_flush(store *s)
{
    return s->methods->erase_flush ? s->methods->erase_flush(s) : STORE_OK;
}

/* The members of every conversation the spread of root_id reaches, in one
 * read, ordered by conversation then user (conversations without members
 * have no row). At most STORE_SPREAD_MAX * 4 rows: STORE_CONFLICT beyond
 * (the caller then reads conversation by conversation). */
static inline int store_spread_members(store *s, int64_t root_id, store_spread_member_rows *out)
{
    return s->methods->spread_members ? s->methods->spread_members(s, root_id, out) : STORE_VERSION;
}

/* How many conversations hold the root or a copy of it created at or
 * after `since` (the spread-fast warning). */
static inline int store_spread_conversations(store *s, int64_t root_id, int64_t since, int64_t *out)
{
    return s->methods->spread_conversations
               ? s->methods->spread_conversations(s, root_id, since, out)
               : STORE_VERSION;
}

/* How many alerts match q (the early-warning rules). STORE_INVAL without
 * q->since. */
static inline int store_alert_count(store *s, const store_alert_count_query *q, int64_t *out)
{
    return s->methods->alert_count ? s->methods->alert_count(s, q, out) : STORE_VERSION;
}

/* Alerts created in [from, to) counted by day, category, rule and verdict
 * (the console's dashboard), days in the caller's zone (tz_offset_ms east
 * of UTC). At most STORE_STATS_MAX rows (STORE_INVAL when to - from is
 * more than STORE_STATS_MAX_DAYS days or to <= from). */
#define STORE_STATS_MAX      20000
#define STORE_STATS_MAX_DAYS 366
static inline int store_alert_stats(store *s, int64_t from, int64_t to, int64_t tz_offset_ms,
                                    store_alert_stat_rows *out)
{
    return s->methods->alert_stats ? s->methods->alert_stats(s, from, to, tz_offset_ms, out)
                                   : STORE_VERSION;
}

/* The user's delivered messages since `since` whose guard alert found
 * personal data (findings of category "pii"; a masked message's alert does
 * not count: what left was masked), oldest first, at most
 * STORE_PERSONAL_MAX. */
static inline int store_personal_findings(store *s, int64_t user_id, int64_t since,
                                          store_personal_rows *out)
{
    return s->methods->personal_findings ? s->methods->personal_findings(s, user_id, since, out)
                                         : STORE_VERSION;
}

/* Alerts created in [from, to) counted by their user's department, their
 * conversation and category; at most STORE_STATS_MAX rows, the same
 * bounds as store_alert_stats. */
static inline int store_alert_groups(store *s, int64_t from, int64_t to,
                                     store_alert_group_rows *out)
{
    return s->methods->alert_groups ? s->methods->alert_groups(s, from, to, out) : STORE_VERSION;
}

/* --- receipts --- */

/* Moves a member's delivered (read = false) or read (read = true) pointer
 * forward to message_id; never backwards (*advanced = false then). Reading
 * implies delivered. STORE_NOTFOUND when not a member. */
static inline int store_receipt_set(store *s, int64_t conv_id, int64_t user_id, bool read,
                                    int64_t message_id, bool *advanced)
{
    return s->methods->receipt_set(s, conv_id, user_id, read, message_id, advanced);
}

/* --- alerts --- */

static inline int store_alert_create(store *s, const store_alert_new *a, int64_t *id_out)
{
    return s->methods->alert_create(s, a, id_out);
}

static inline int store_alert_get(store *s, int64_t id, store_alert *out)
{
    return s->methods->alert_get(s, id, out);
}

/* Newest first; cursor = before_id. */
static inline int store_alert_list(store *s, const store_alert_filter *f, store_alerts *out)
{
    return s->methods->alert_list(s, f, out);
}

/* open -> acked. Acking an acked alert updates nothing and is STORE_OK;
 * a resolved one is STORE_CONFLICT. */
static inline int store_alert_ack(store *s, int64_t id, int64_t actor, const char *comment,
                                  int64_t now)
{
    return s->methods->alert_ack(s, id, actor, comment, now);
}

/* open|acked -> resolved (comment required: STORE_INVAL); resolved again is
 * STORE_CONFLICT. */
static inline int store_alert_resolve(store *s, int64_t id, int64_t actor, const char *comment,
                                      int64_t now)
{
    return s->methods->alert_resolve(s, id, actor, comment, now);
}

/* --- audit --- */

/* Appends an entry to the hash chain (seq and hash computed inside the
 * write transaction). *seq_out may be NULL. STORE_INVAL when detail is not a
 * JSON object. */
static inline int store_audit_append(store *s, const store_audit_new *e, int64_t *seq_out)
{
    return s->methods->audit_append(s, e, seq_out);
}

/* Entries with seq > after_seq in seq order, at most limit (1..1000; 0 =
 * 100). Also the iterator for verify and export. */
static inline int store_audit_page(store *s, int64_t after_seq, int limit, store_audit_entries *out)
{
    return s->methods->audit_page(s, after_seq, limit, out);
}

/* The recorded head of the chain (seq 0 and zero hash when empty), kept
 * apart from the entries so that deleting the last entries is detected. */
static inline int store_audit_head(store *s, int64_t *seq, uint8_t hash[STORE_AUDIT_HASH_LEN])
{
    return s->methods->audit_head(s, seq, hash);
}

/* Result of store_audit_verify. */
typedef struct store_audit_verify_result {
    bool ok;
    int64_t entries;   /* entries checked */
    int64_t first_bad; /* seq of the first altered / missing / out-of-order entry; 0 if ok */
    char reason[160];  /* what was wrong, e.g. "hash mismatch", "missing entry" */
} store_audit_verify_result;

/* Walks the whole chain (store_audit.c, backend-independent). Returns a
 * store error only when the chain could not be read; a broken chain is
 * STORE_OK with r->ok = false. */
int store_audit_verify(store *s, store_audit_verify_result *r);

/* Writes every entry as one JSON object per line (JSON Lines): seq, time,
 * actor_id, actor, event, target, detail (object), prev_hash, hash (hex).
 * STORE_IO when writing fails. */
int store_audit_export(store *s, FILE *f);

/* The chain hash of an entry (docs/AUDIT.md): BLAKE2b-256 over prev_hash
 * and the canonical bytes of (seq, time, actor_id, actor, event, target,
 * detail). Used by backends when appending and by verify. */
void store_audit_hash(const store_audit_entry *e, const uint8_t prev[STORE_AUDIT_HASH_LEN],
                      uint8_t out[STORE_AUDIT_HASH_LEN]);

/* --- settings --- */

/* *value is a heap string (free()); STORE_NOTFOUND when unset. */
static inline int store_kv_get(store *s, const char *key, char **value)
{
    return s->methods->kv_get(s, key, value);
}

static inline int store_kv_set(store *s, const char *key, const char *value)
{
    return s->methods->kv_set(s, key, value);
}

/* Deleting an unset key is STORE_OK. */
static inline int store_kv_delete(store *s, const char *key)
{
    return s->methods->kv_delete(s, key);
}

/* SQLite: copies committed WAL frames into the database without waiting
 * for or blocking writers or readers (a passive checkpoint), so the commit
 * that crosses wal_autocheckpoint does not have to. STORE_BUSY when another
 * checkpoint is running. */
static inline int store_account_changes(store *s, int64_t after_seq, store_account_change *out,
                                        size_t cap, size_t *n_out, int64_t *head)
{
    return s->methods->account_changes(s, after_seq, out, cap, n_out, head);
}

static inline int store_account_changes_prune(store *s, int64_t before)
{
    return s->methods->account_changes_prune(s, before);
}

static inline int store_backup(store *s, const char *dest)
{
    return s->methods->backup ? s->methods->backup(s, dest) : STORE_VERSION;
}

/* --- reminders (schema version 7; STORE_VERSION in a backend without) --- */

/* STORE_INVAL without text or tz, or with target_ids not a JSON array. */
static inline int store_reminder_create(store *s, const store_reminder_new *r, int64_t *id_out)
{
    return s->methods->reminder_create ? s->methods->reminder_create(s, r, id_out) : STORE_VERSION;
}

/* STORE_NOTFOUND when no such reminder (deleted ones are gone). */
static inline int store_reminder_get(store *s, int64_t id, store_reminder *out)
{
    return s->methods->reminder_get ? s->methods->reminder_get(s, id, out) : STORE_VERSION;
}

/* A conversation's active reminders, soonest first. */
static inline int store_reminder_list(store *s, int64_t conv_id, store_reminders *out)
{
    return s->methods->reminder_list ? s->methods->reminder_list(s, conv_id, out) : STORE_VERSION;
}

/* Replaces the editable fields (text, at, repeat, tz, target, target_ids,
 * active; conv_id and creator_id are ignored). STORE_NOTFOUND. */
static inline int store_reminder_update(store *s, int64_t id, const store_reminder_new *r)
{
    return s->methods->reminder_update ? s->methods->reminder_update(s, id, r) : STORE_VERSION;
}

/* Deleting a missing reminder is STORE_NOTFOUND. */
static inline int store_reminder_delete(store *s, int64_t id)
{
    return s->methods->reminder_delete ? s->methods->reminder_delete(s, id) : STORE_VERSION;
}

/* Active reminders with at <= now, oldest first, at most limit (1..500). */
static inline int store_reminder_due(store *s, int64_t now, int limit, store_reminders *out)
{
    return s->methods->reminder_due ? s->methods->reminder_due(s, now, limit, out) : STORE_VERSION;
}

/* --- burn-after-reading (schema version 7) --- */

/* Records that user_id opened burn message msg_id: *first is true the
 * first time only (each reader opens it once). When every member but the
 * sender has opened it, its deadline moves to now + destroy_after (if
 * sooner). STORE_NOTFOUND when no such live burn message; STORE_INVAL
 * when user_id is its sender. */
static inline int store_burn_open(store *s, int64_t msg_id, int64_t user_id, int64_t now,
                                  int64_t destroy_after, bool *first)
{
    return s->methods->burn_open
               ? s->methods->burn_open(s, msg_id, user_id, now, destroy_after, first)
               : STORE_VERSION;
}

/* Ids of live burn messages whose deadline is <= now, at most cap. */
static inline int store_burn_due(store *s, int64_t now, int64_t *ids, size_t cap, size_t *n_out)
{
    return s->methods->burn_due ? s->methods->burn_due(s, now, ids, cap, n_out) : STORE_VERSION;
}

/* Destroys a burn message: its text, meta and open records erased with
 * secure_delete, its alerts stripped to the evidence officers keep (as a
 * recall), then the write-ahead log checkpointed and truncated so that
 * no copy of the text is left in any file. STORE_NOTFOUND when no such
 * burn message; destroying twice is STORE_OK. Not inside store_tx. */
static inline int store_burn_destroy(store *s, int64_t msg_id)
{
    return s->methods->burn_destroy ? s->methods->burn_destroy(s, msg_id) : STORE_VERSION;
}

/* The handle's last write transaction's timing (store_tx_timing).
 * STORE_VERSION when the backend does not time (PostgreSQL). */
static inline int store_last_tx_timing(store *s, store_tx_timing *out)
{
    return s->methods->last_tx_timing ? s->methods->last_tx_timing(s, out) : STORE_VERSION;
}

/* Runs the housekeeping a STORE_MAINT_BACKGROUND handle leaves for a
 * quiet moment of its own thread (SQLite: copying the last frames of the
 * write-ahead log so that the next transaction starts it over; STORE.md,
 * "Threading"). The server's writer calls it when its queue is empty,
 * after it published what it committed, so that this never sits inside a
 * commit that messages wait for. Cheap when there is nothing to do.
 * STORE_OK (also for backends without housekeeping), or an error that
 * only means "try again later". */
static inline int store_maintain(store *s)
{
    return s->methods->maintain ? s->methods->maintain(s) : STORE_OK;
}

/* A page of the messages a compliance export covers (store_export_query),
 * in id order, recalled and contained ones included (text NULL). out->n <
 * limit means the last page. STORE_INVAL on a bad query. */
static inline int store_message_export(store *s, const store_export_query *q, store_messages *out)
{
    return s->methods->message_export ? s->methods->message_export(s, q, out) : STORE_VERSION;
}

/* A page of the audit entries of the export's period and target, in seq
 * order: for a conversation, entries whose target is the conversation or
 * one of its messages; for a user, entries the user made or whose target is
 * the user or a message the user sent. out->n < limit means the last page. */
static inline int store_audit_covering(store *s, const store_export_query *q,
                                       store_audit_entries *out)
{
    return s->methods->audit_covering ? s->methods->audit_covering(s, q, out) : STORE_VERSION;
}

#endif
