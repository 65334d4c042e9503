/*
 * store_backend.h — what a storage backend provides and may use; private to
 * src/store (callers see only store.h).
 *
 * A backend is a store_backend (its name and open function) whose open
 * returns a handle that embeds `store` first and points at the backend's
 * const store_methods. Adding PostgreSQL = one more file defining
 * store_pg_backend and one more row in store.c's table.
 */
#ifndef CORDON_STORE_BACKEND_H
#define CORDON_STORE_BACKEND_H

#include "store/store.h"

typedef struct store_backend {
    int version;      /* 1 */
    const char *name; /* matched against store_options.backend */
    /* Opens and migrates (store_open's contract). */
    int (*open)(const store_options *opt, store **out, char **errmsg);
} store_backend;

extern const store_backend store_sqlite_backend;
extern const store_backend store_pg_backend; /* store_pg.c: "postgresql" */

/* The latest schema version this binary knows (every backend migrates to
 * the same logical schema; docs/STORE.md). */
#define STORE_SCHEMA_VERSION 11

/* Parses JSON text and writes it back canonically (object keys sorted,
 * compact, UTF-8 unescaped) into *out (heap). want_object: the top level
 * must be an object; otherwise any array or object. NULL in = "{}".
 * STORE_INVAL when it does not parse, STORE_NOMEM. */
int store_json_canonical(const char *in, bool want_object, char **out);

/* ---- what both backends share (store.c): argument checks and record
 * assembly that do not depend on the engine, written once. */

/* An append's own arguments are usable (client id present and within
 * STORE_CLIENT_ID_MAX, a verdict, text consistent with its length). */
bool store_message_new_valid(const store_message_new *m);

/* store_conv_create's arguments: a known kind, a creator, member ids > 0;
 * a direct conversation has exactly one other member, returned in *other
 * (for a group: the last other member, unused). */
int store_conv_create_check(store_conv_kind kind, int64_t creator, const int64_t *member_ids,
                            size_t n_members, int64_t *other);
/* Whether ids[i] is an id already listed before position i. */
bool store_id_seen_before(const int64_t *ids, size_t i);

/* A forward's provenance from its source: the root, the root's author and
 * the depth one below the source. */
void store_forward_provenance(const store_message *src, int64_t *origin, int64_t *author,
                              int *depth);

/* Fills *out from what an append stored (no re-read: the hot path of
 * group commit): heap copies of every string. STORE_NOMEM leaves it
 * cleared (the caller rolls the insert back). */
int store_message_from_new(store_message *out, const store_message_new *m, int64_t id,
                           int64_t origin, int64_t author, int depth);

/* The alert and audit entry that go with a new message (store.h,
 * store_message_new.alert/.audit), written through the handle's own
 * methods inside the append's bracket. */
int store_message_side_records(store *s, const store_message_new *m, int64_t id);

/* The steps of a containment, in order (store_message_contain). */
typedef enum store_contain_step {
    STORE_STEP_QUAR_INSERT, /* keep the text aside (message_quarantine) */
    STORE_STEP_QUAR_HIDE,   /* hide it in messages */
    STORE_STEP_QUAR_RESTORE,
    STORE_STEP_QUAR_DELETE, /* drop the kept copy */
    STORE_STEP_MSG_REMOVE,
} store_contain_step;

/* What the action does from the message's state: the number of steps
 * written to steps[] (0: nothing to do), -1 for an unknown action. */
int store_contain_steps(store_contain_action action, int64_t recalled_at, int contained,
                        store_contain_step steps[2]);

/* A statistics window (store_alert_stats, store_alert_groups): to after
 * from, at most STORE_STATS_MAX_DAYS days. */
bool store_stats_window_ok(int64_t from, int64_t to);
/* A time zone offset a day can be cut at (store_alert_stats): +-14 h. */
bool store_tz_offset_ok(int64_t tz_offset_ms);

/* A message's forward chain (store_message_forward_chain): the message,
 * its source, the source's source, ... at most max, read through the
 * handle's message_get (the caller holds one read snapshot around it).
 * STORE_CORRUPT when a forward_of points nowhere; *out freed on error. */
int store_forward_chain_walk(store *s, int64_t id, int max, store_messages *out);

/* The store_files_methods table of a backend whose file operations are
 * static functions of these names (store_sqlite_files.c,
 * store_pg_files.c): written once, so both tables list the same methods. */
#define STORE_FILES_METHODS_TABLE                                                                  \
    {                                                                                              \
        .version = 1, .upload_create = up_create, .upload_get = up_get,                            \
        .upload_update = up_update, .upload_delete = up_delete, .upload_list = up_list,            \
        .upload_usage = up_usage, .file_create = file_create, .file_get = file_get,                \
        .file_visible = file_visible, .message_files_set = mf_set, .message_files_get = mf_get,    \
        .message_files_drop = mf_drop, .inspection_get = insp_get, .inspection_put = insp_put,     \
        .file_in_alert = in_alert, .file_spread = file_spread, .file_purge_unlinked = file_purge,  \
        .file_spread_conversations = file_spread_convs, .upload_lease = up_lease,                  \
        .upload_lease_release = up_lease_release,                                                  \
    }

/* store_tx_begin/commit/rollback over a backend's write bracket: *in_tx is
 * the handle's flag, begin/end its bracket (end commits on STORE_OK and
 * rolls back otherwise, returning the final code). */
typedef int store_bracket_begin_fn(store *s);
typedef int store_bracket_end_fn(store *s, int rc);
int store_tx_flag_begin(store *s, bool *in_tx, store_bracket_begin_fn *begin);
int store_tx_flag_commit(store *s, bool *in_tx, store_bracket_end_fn *end);
int store_tx_flag_rollback(store *s, bool *in_tx, store_bracket_end_fn *end);

#endif
