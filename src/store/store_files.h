/*
 * store_files.h — uploads, files and attachments in the store (schema 5):
 * the part of store.h's interface for issue 15, kept in its own header so
 * store.h grows by one field (store_methods.files) only.
 *
 * A backend without it leaves store_methods.files NULL: every wrapper then
 * answers STORE_VERSION.
 *
 * Records and ownership follow store.h: OUT records are caller-owned, their
 * strings heap copies, released with store_upload_clear / store_file_clear /
 * store_files_free; on error an OUT record is left zeroed.
 *
 * Reference counts: a file row holds one reference on its content blob and
 * one on its thumbnail blob (table blobs). Removing a file drops them; a
 * blob whose count reaches 0 is deleted from the table and its hash handed
 * back so the caller removes the bytes from the blob store (blob.h) after
 * the commit.
 */
#ifndef CORDON_STORE_FILES_H
#define CORDON_STORE_FILES_H

#include "store/store.h"

#define STORE_FILE_ID_MAX 64

typedef enum store_up_state {
    STORE_UP_UPLOADING = 0,
    STORE_UP_INSPECTING = 1, /* the last byte landed; the guard runs (or must run again) */
    STORE_UP_READY = 2,      /* inspected: allow, warn or mask */
    STORE_UP_HELD = 3,       /* inspected: confirm (a justification sends it) */
    STORE_UP_BLOCKED = 4     /* block, or uninspectable under a policy that blocks */
} store_up_state;

/* "uploading" | "inspecting" | "ready" | "held" | "blocked". */
const char *store_up_state_name(int state);

typedef struct store_upload {
    char *id; /* [a-z0-9]{1,64}: also the blob store's staging id */
    int64_t user_id, conv_id;
    int64_t length; /* declared Upload-Length */
    char *filename, *filetype;
    int state; /* store_up_state */
    int64_t created_at, expires_at;
    char *file_id; /* once inspected, NULL before */
    char *outcome; /* JSON text of the inspection outcome, NULL before */
} store_upload;

typedef struct store_uploads {
    store_upload *items;
    size_t n;
} store_uploads;

typedef struct store_file {
    char *id;
    int64_t owner_id, conv_id;
    char *hash, *thumb_hash; /* content blobs; thumb_hash may be NULL */
    char *name, *mime;
    int64_t size;
    bool image;
    int width, height;
    bool location_removed;
    int state;      /* STORE_UP_READY | HELD | BLOCKED */
    char *verdict;  /* guard action name */
    char *findings; /* JSON array */
    int64_t created_at;
} store_file;

typedef struct store_files {
    store_file *items;
    size_t n;
} store_files;

/* Hashes of blobs nothing refers to any more (remove them from blob.h). */
typedef struct store_hashes {
    char **items;
    size_t n;
} store_hashes;

typedef struct store_files_methods {
    int version; /* 1 */
    int (*upload_create)(store *s, const store_upload *u);
    int (*upload_get)(store *s, const char *id, store_upload *out);
    int (*upload_update)(store *s, const char *id, int state, const char *outcome,
                         const char *file_id);
    int (*upload_delete)(store *s, const char *id);
    int (*upload_list)(store *s, int state, int64_t expires_before, store_uploads *out);
    int (*upload_usage)(store *s, int64_t user_id, int64_t *bytes, int64_t *count);
    int (*file_create)(store *s, const store_file *f, int64_t blob_size, int64_t thumb_size);
    int (*file_get)(store *s, const char *id, store_file *out);
    int (*file_visible)(store *s, const char *id, int64_t user_id, store_file *out);
    int (*message_files_set)(store *s, int64_t message_id, const char *const *ids, size_t n);
    int (*message_files_get)(store *s, int64_t message_id, store_files *out);
    int (*message_files_drop)(store *s, int64_t message_id, store_hashes *gone);
    int (*inspection_get)(store *s, const char *key, char **outcome);
    int (*inspection_put)(store *s, const char *key, const char *outcome, int64_t now);
    int (*file_in_alert)(store *s, const char *id, int64_t *alert_id);
    /* Appended for trace and contain by file (issue 17, schema 9's
     * files_hash index); NULL in a backend without it. */
    int (*file_spread)(store *s, const char *id, bool same_content, int limit, store_messages *out);
    int (*file_purge_unlinked)(store *s, const char *hash, store_hashes *gone);
    int (*file_spread_conversations)(store *s, const char *id, int64_t since, int64_t *convs,
                                     int64_t *first_message);
    /* Appended for one writer per upload across nodes (issue 19, schema
     * 12's lease_owner / lease_until); NULL in a backend without it. */
    int (*upload_lease)(store *s, const char *id, const char *owner, int ms, bool take);
    int (*upload_lease_release)(store *s, const char *id, const char *owner);
} store_files_methods;

void store_upload_clear(store_upload *u);
void store_uploads_free(store_uploads *l);
void store_file_clear(store_file *f);
void store_files_free(store_files *l);
void store_hashes_free(store_hashes *l);

#define STORE_FILES_CALL(s, fn, ...)                                                               \
    ((s)->methods->files && (s)->methods->files->fn ? (s)->methods->files->fn((s), __VA_ARGS__)    \
                                                    : STORE_VERSION)

/* Creates an upload row; STORE_CONFLICT when the id exists. */
static inline int store_upload_create(store *s, const store_upload *u)
{
    return STORE_FILES_CALL(s, upload_create, u);
}

static inline int store_upload_get(store *s, const char *id, store_upload *out)
{
    return STORE_FILES_CALL(s, upload_get, id, out);
}

/* Sets state (and outcome, file_id when not NULL). */
static inline int store_upload_update(store *s, const char *id, int state, const char *outcome,
                                      const char *file_id)
{
    return STORE_FILES_CALL(s, upload_update, id, state, outcome, file_id);
}

static inline int store_upload_delete(store *s, const char *id)
{
    return STORE_FILES_CALL(s, upload_delete, id);
}

/* Uploads in `state`; with expires_before > 0 only those expiring before it. */
static inline int store_upload_list(store *s, int state, int64_t expires_before, store_uploads *out)
{
    return STORE_FILES_CALL(s, upload_list, state, expires_before, out);
}

/* The upload's lease: one writer across every node that shares the store.
 * The database's clock decides expiry (nodes' clocks may differ). With
 * take, the lease becomes owner's for ms milliseconds when it is free,
 * expired or already owner's; without take it is only extended, and only
 * while still owner's (a renewal never takes back a lease another owner
 * took after it expired, nor one owner let go). STORE_OK: owner holds it
 * until now + ms; STORE_CONFLICT: another owner holds it (take), or owner
 * no longer does (renewal); STORE_NOTFOUND: no such upload. */
static inline int store_upload_lease(store *s, const char *id, const char *owner, int ms, bool take)
{
    return STORE_FILES_CALL(s, upload_lease, id, owner, ms, take);
}

/* Lets the lease go if owner still holds it: STORE_OK when it did (so it
 * was never lost), STORE_CONFLICT when another owner or nobody does,
 * STORE_NOTFOUND when the upload is gone. */
static inline int store_upload_lease_release(store *s, const char *id, const char *owner)
{
    return STORE_FILES_CALL(s, upload_lease_release, id, owner);
}

/* Declared bytes and number of a user's uploads still in progress. */
static inline int store_upload_usage(store *s, int64_t user_id, int64_t *bytes, int64_t *count)
{
    return STORE_FILES_CALL(s, upload_usage, user_id, bytes, count);
}

/* Creates a file row, taking a reference on f->hash (and f->thumb_hash),
 * creating the blob rows with their sizes when new. */
static inline int store_file_create(store *s, const store_file *f, int64_t blob_size,
                                    int64_t thumb_size)
{
    return STORE_FILES_CALL(s, file_create, f, blob_size, thumb_size);
}

static inline int store_file_get(store *s, const char *id, store_file *out)
{
    return STORE_FILES_CALL(s, file_get, id, out);
}

/* The file when user_id may read it: its owner, or a member of a
 * conversation where a message that is not recalled delivered it and that
 * the member can see (history_from / shared_history, as chat_view.c).
 * STORE_NOTFOUND otherwise (the same answer as no such file). */
static inline int store_file_visible(store *s, const char *id, int64_t user_id, store_file *out)
{
    return STORE_FILES_CALL(s, file_visible, id, user_id, out);
}

/* Links files to a message (in order). */
static inline int store_message_files_set(store *s, int64_t message_id, const char *const *ids,
                                          size_t n)
{
    return STORE_FILES_CALL(s, message_files_set, message_id, ids, n);
}

static inline int store_message_files_get(store *s, int64_t message_id, store_files *out)
{
    return STORE_FILES_CALL(s, message_files_get, message_id, out);
}

/* Recall: removes the message's links; a file no message links any more
 * is removed with its blob references; blobs left with none are listed in
 * *gone (caller frees). */
static inline int store_message_files_drop(store *s, int64_t message_id, store_hashes *gone)
{
    return STORE_FILES_CALL(s, message_files_drop, message_id, gone);
}

/* The inspection outcome stored under key (hash:ruleset:scope). */
static inline int store_inspection_get(store *s, const char *key, char **outcome)
{
    return STORE_FILES_CALL(s, inspection_get, key, outcome);
}

static inline int store_inspection_put(store *s, const char *key, const char *outcome, int64_t now)
{
    return STORE_FILES_CALL(s, inspection_put, key, outcome, now);
}

/* An alert whose findings name the file (an officer may open it from
 * there): STORE_OK with the newest such alert's id, or STORE_NOTFOUND. */
static inline int store_file_in_alert(store *s, const char *id, int64_t *alert_id)
{
    return STORE_FILES_CALL(s, file_in_alert, id, alert_id);
}

/* The messages that deliver file `id` (a forward links the same file id),
 * oldest first, recalled and contained ones included; with same_content
 * also those delivering any other file of the same bytes (the same photo
 * uploaded again separately: files are traced by content hash). At most
 * `limit` (1..STORE_SPREAD_MAX). STORE_NOTFOUND when no such file. */
static inline int store_file_spread(store *s, const char *id, bool same_content, int limit,
                                    store_messages *out)
{
    return STORE_FILES_CALL(s, file_spread, id, same_content, limit, out);
}

/* The spread-fast warning for a file: how many conversations received a
 * message carrying the file's bytes (under any file id) created at or
 * after `since`, and the oldest message that ever carried them (the
 * warning's subject, so one spread is one alert). STORE_NOTFOUND when no
 * such file. */
static inline int store_file_spread_conversations(store *s, const char *id, int64_t since,
                                                  int64_t *convs, int64_t *first_message)
{
    return STORE_FILES_CALL(s, file_spread_conversations, id, since, convs, first_message);
}

/* An officer's removal of a file's content: every file of these bytes
 * that no message delivers (an upload inspected but not sent yet, a held
 * or blocked one) is deleted with its upload row, and the blobs left with
 * no reference are listed in *gone (caller frees) for the blob store. */
static inline int store_file_purge_unlinked(store *s, const char *hash, store_hashes *gone)
{
    return STORE_FILES_CALL(s, file_purge_unlinked, hash, gone);
}

#endif
