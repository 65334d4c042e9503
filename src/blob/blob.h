/*
 * blob.h — where the bytes of files live: THE interface every caller uses
 * (uploads, downloads, thumbnails, containment), with backends as a const
 * struct of function pointers like the store's (store.h). A local directory
 * is the backend today (blob_local.c); a directory all nodes mount, or an
 * object store, can follow without touching callers.
 *
 * Two areas:
 *   staging  an upload in progress, named by the caller's upload id
 *            ([A-Za-z0-9_-]{1,64}: never a path a user chose). Bytes are
 *            appended at an exact offset (tus's rule: a wrong offset is a
 *            conflict, never a gap or an overlap), survive restarts, and can
 *            be cut back to an offset (a chunk whose checksum failed).
 *   content  committed files, named by the SHA-256 of their bytes (64
 *            lowercase hex digits). The same bytes committed twice are stored
 *            once. Who refers to a blob is the store's business (reference
 *            counts in the database); the blob store removes a blob when told.
 *
 * DURABILITY: commit fsyncs the bytes, links them into the content area and
 * fsyncs the directories, so a committed blob survives a crash; staging
 * bytes are fsynced at commit only (a crash may lose the tail of a staging
 * file, and the offset the backend reports after a restart says how much).
 *
 * THREADING: a blob_store may be used from several threads at once for
 * different uploads; one blob_upload or blob_reader by one thread at a time.
 *
 * RETURN VALUES: blob_rc (BLOB_OK == 0). OUT pointers are set only on
 * success.
 */
#ifndef CORDON_BLOB_H
#define CORDON_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum blob_rc {
    BLOB_OK = 0,
    BLOB_NOTFOUND, /* no such upload or blob */
    BLOB_OFFSET,   /* append at an offset other than the upload's current size */
    BLOB_INVAL,    /* bad id, hash or argument */
    BLOB_IO,       /* disk error (errno logged by the caller if it wants) */
    BLOB_NOMEM,
    BLOB_RC_COUNT
} blob_rc;

const char *blob_strerror(int rc);

#define BLOB_ID_MAX   64 /* upload id characters */
#define BLOB_HASH_LEN 64 /* hex digits of a SHA-256 */

typedef struct blob_store blob_store;
typedef struct blob_upload blob_upload;
typedef struct blob_reader blob_reader;

typedef struct blob_methods {
    int version; /* 1 */
    const char *name;
    void (*close)(blob_store *b);
    /* Opens the staging file of upload `id`: created empty when `create`
     * (BLOB_INVAL if it exists already), else reopened (BLOB_NOTFOUND when
     * absent). *size gets its current length: where the next append goes. */
    int (*stage_open)(blob_store *b, const char *id, bool create, blob_upload **out, int64_t *size);
    /* Appends p[0..n) at `offset`, which must be the current size. */
    int (*stage_append)(blob_upload *u, int64_t offset, const void *p, size_t n);
    /* Cuts the upload back to `size` (<= its current size). */
    int (*stage_truncate)(blob_upload *u, int64_t size);
    /* Makes the staged bytes a content blob: hash_out gets its SHA-256 (hex,
     * NUL-terminated), *dup whether those bytes were stored already. The
     * staging file is gone afterwards; u is freed in every case. */
    int (*stage_commit)(blob_upload *u, char hash_out[BLOB_HASH_LEN + 1], bool *dup);
    /* Releases u, keeping the staging file for a later stage_open. */
    void (*stage_close)(blob_upload *u);
    /* Deletes the staging file of upload `id` (termination, expiry). */
    int (*stage_delete)(blob_store *b, const char *id);
    /* Opens a content blob for reading; *size gets its length. */
    int (*open)(blob_store *b, const char *hash, blob_reader **out, int64_t *size);
    /* Reads up to n bytes at `offset` (ranges for downloads); *got may be
     * short only at the end of the blob. */
    int (*read)(blob_reader *r, int64_t offset, void *buf, size_t n, size_t *got);
    void (*reader_close)(blob_reader *r);
    /* Removes a content blob (nothing refers to it any more). */
    int (*remove)(blob_store *b, const char *hash);
    /* Version 2: a read-only file descriptor (caller closes) on the staging
     * file of upload `name` (staging) or the content blob `name` (a hash),
     * for readers that need one (the file guard's worker reads fd 0). NULL
     * in a backend whose bytes are not files: the wrappers answer BLOB_INVAL. */
    int (*open_fd)(blob_store *b, const char *name, bool staging, int *fd);
} blob_methods;

struct blob_store {
    const blob_methods *methods;
};
/* Backends embed these first, so the wrappers find the methods. */
struct blob_upload {
    blob_store *store;
};
struct blob_reader {
    blob_store *store;
};

/* The local-directory backend: staging in DIR/staging, blobs in
 * DIR/sha256/xx/HASH (xx: its first two digits). DIR and its subdirectories
 * are created private (0700), files 0600. */
int blob_local_open(const char *dir, blob_store **out);

/* True when s is a valid upload id / content hash. */
bool blob_id_valid(const char *s);
bool blob_hash_valid(const char *s);

/* ---- thin wrappers ---------------------------------------------------- */

static inline void blob_close(blob_store *b)
{
    if (b)
        b->methods->close(b);
}

static inline int blob_stage_open(blob_store *b, const char *id, bool create, blob_upload **out,
                                  int64_t *size)
{
    return b->methods->stage_open(b, id, create, out, size);
}

static inline int blob_stage_append(blob_upload *u, int64_t offset, const void *p, size_t n)
{
    return u->store->methods->stage_append(u, offset, p, n);
}

static inline int blob_stage_truncate(blob_upload *u, int64_t size)
{
    return u->store->methods->stage_truncate(u, size);
}

static inline int blob_stage_commit(blob_upload *u, char hash_out[BLOB_HASH_LEN + 1], bool *dup)
{
    return u->store->methods->stage_commit(u, hash_out, dup);
}

static inline void blob_stage_close(blob_upload *u)
{
    if (u)
        u->store->methods->stage_close(u);
}

static inline int blob_stage_delete(blob_store *b, const char *id)
{
    return b->methods->stage_delete(b, id);
}

static inline int blob_open(blob_store *b, const char *hash, blob_reader **out, int64_t *size)
{
    return b->methods->open(b, hash, out, size);
}

static inline int blob_read(blob_reader *r, int64_t offset, void *buf, size_t n, size_t *got)
{
    return r->store->methods->read(r, offset, buf, n, got);
}

static inline void blob_reader_close(blob_reader *r)
{
    if (r)
        r->store->methods->reader_close(r);
}

static inline int blob_remove(blob_store *b, const char *hash)
{
    return b->methods->remove(b, hash);
}

static inline int blob_open_fd(blob_store *b, const char *name, bool staging, int *fd)
{
    return b->methods->version >= 2 && b->methods->open_fd
               ? b->methods->open_fd(b, name, staging, fd)
               : BLOB_INVAL;
}

#endif
