/*
 * srv_wmark.h — the invisible per-viewer watermark on delivered images
 * (docs/WATERMARK.md, "In chat"): the server's watermark key and a bounded
 * cache of marked copies, one per (file, viewer).
 *
 * A member who downloads a picture someone else sent gets a copy whose
 * pixels carry a delivery id (store_work.h: the row naming that viewer,
 * that file, that time); `cordon watermark decode` reads it back from a
 * copy found outside. The original stays in the blob store, unmarked, for
 * its uploader and for officers opening it from an alert.
 *
 * Thread-safe (one mutex around the cache; marking itself runs outside
 * it). Memory is bounded: the cache holds at most `cache_bytes` of marked
 * copies, least recently used out first; a copy larger than a quarter of it
 * is served but not kept.
 */
#ifndef SRV_WMARK_H
#define SRV_WMARK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct srv_wmark srv_wmark;

/* A marked copy: shared by the cache and the downloads writing it. */
typedef struct srv_wm_copy {
    atomic_int refs;
    unsigned char *data;
    size_t len;
    const char *mime; /* "image/jpeg" or "image/png" (static) */
} srv_wm_copy;

/* Loads DATA_DIR/watermark.key, creating it (32 random bytes, 0600) when
 * missing. NULL with the reason in why when it cannot. */
srv_wmark *srv_wmark_new(const char *data_dir, size_t cache_bytes, char *why, size_t why_cap);
void srv_wmark_free(srv_wmark *m);

/* Whether the server marks images of this type (JPEG, PNG, WebP). */
bool srv_wmark_type(const char *mime);

/* The marked copy of `orig` (the file's delivered bytes) for delivery id
 * `delivery_id` of file_id to user_id: from the cache, or made now (PNG
 * stays PNG, everything else becomes JPEG quality 92) and, with `keep`,
 * cached. 0 with *out (one reference: srv_wm_copy_unref), or -1 with the
 * reason in why (too small, not decodable, out of memory): the caller
 * then decides (the download refuses rather than leak an unmarked copy
 * only when marking is mandatory; see srv_h_file.c). */
int srv_wmark_copy(srv_wmark *m, const char *file_id, int64_t user_id, uint64_t delivery_id,
                   const unsigned char *orig, size_t len, const char *mime, uint64_t max_pixels,
                   bool keep, srv_wm_copy **out, char *why, size_t why_cap);

void srv_wm_copy_unref(srv_wm_copy *c);

#endif
