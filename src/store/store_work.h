/*
 * store_work.h — the part of the store's interface for the work-chat
 * features that touch files (issue 16): burn-after-reading with images,
 * and the per-viewer deliveries of the invisible watermark (schema 10).
 * Kept in its own header, like store_files.h, so store.h grows by one
 * field (store_methods.work) only.
 *
 * A backend without it leaves store_methods.work NULL: every wrapper then
 * answers STORE_VERSION. Records follow store.h: OUT records are
 * caller-owned (store_file_clear, store_hashes_free).
 */
#ifndef CORDON_STORE_WORK_H
#define CORDON_STORE_WORK_H

#include "store/store_files.h"

/* One delivery of a watermarked image (docs/WATERMARK.md): the id the
 * pixels carry names who received which file, when. */
typedef struct store_delivery {
    int64_t id; /* 1 .. 2^48-1: what fits the watermark's payload */
    int64_t user_id;
    char file_id[STORE_FILE_ID_MAX + 1];
    int64_t created_at;
} store_delivery;

typedef struct store_work_methods {
    int version; /* 1 */
    int (*burn_file_visible)(store *s, const char *file_id, int64_t user_id, int64_t since,
                             store_file *out);
    int (*burn_files_drop)(store *s, int64_t message_id, store_hashes *gone);
    int (*delivery_get_or_create)(store *s, int64_t user_id, const char *file_id, int64_t now,
                                  store_delivery *out, bool *created);
    int (*delivery_get)(store *s, int64_t id, store_delivery *out);
    /* Appended after version 1 (NULL in a backend without it). */
    int (*delivery_find)(store *s, int64_t user_id, const char *file_id, store_delivery *out);
} store_work_methods;

#define STORE_WORK_CALL(s, fn, ...)                                                                \
    ((s)->methods->work && (s)->methods->work->fn ? (s)->methods->work->fn((s), __VA_ARGS__)       \
                                                  : STORE_VERSION)

/* A file of a live burn-after-reading message that user_id opened at or
 * after `since` (ms): the reader's window to fetch its images. The owner
 * path of store_file_visible does not reach such a file (the sender
 * cannot see it again), nor does a member's. STORE_NOTFOUND otherwise. */
static inline int store_burn_file_visible(store *s, const char *file_id, int64_t user_id,
                                          int64_t since, store_file *out)
{
    return STORE_WORK_CALL(s, burn_file_visible, file_id, user_id, since, out);
}

/* A burn message's destruction, its files' part (before store_burn_destroy,
 * whose WAL truncation then covers it too): the links dropped, every file
 * no other message delivers removed with its upload row, blob references
 * released (hashes at zero in *gone: remove their bytes after the commit),
 * and the cached inspection outcomes of those hashes (they quote the
 * pictures' text) deleted. One transaction. */
static inline int store_burn_files_drop(store *s, int64_t message_id, store_hashes *gone)
{
    return STORE_WORK_CALL(s, burn_files_drop, message_id, gone);
}

/* The delivery of file_id to user_id: the same row for every download by
 * the same viewer (so the marked copy can be cached per (file, viewer)),
 * created at `now` the first time (*created). */
static inline int store_delivery_get_or_create(store *s, int64_t user_id, const char *file_id,
                                               int64_t now, store_delivery *out, bool *created)
{
    return STORE_WORK_CALL(s, delivery_get_or_create, user_id, file_id, now, out, created);
}

/* The delivery of file_id to user_id when there is one (a read: the
 * request path looks before it asks the writer to create it);
 * STORE_NOTFOUND when none. */
static inline int store_delivery_find(store *s, int64_t user_id, const char *file_id,
                                      store_delivery *out)
{
    return STORE_WORK_CALL(s, delivery_find, user_id, file_id, out);
}

/* The delivery a decoded watermark names; STORE_NOTFOUND when none. */
static inline int store_delivery_get(store *s, int64_t id, store_delivery *out)
{
    return STORE_WORK_CALL(s, delivery_get, id, out);
}

#endif
