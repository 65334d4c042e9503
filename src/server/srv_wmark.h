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
 * it, in a worker process of its own). Memory is bounded: the cache holds at most `cache_bytes` of
 * marked copies, least recently used out first; a copy larger than a quarter of it is served but
 * not kept.
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

/* Pictures larger than this are not marked (decoding one holds several
 * times its size in memory, on a request's worker). */
#define SRV_WM_MAX_BYTES ((int64_t)64 << 20)

/* Whether the mark can be written into images of this type (JPEG, PNG,
 * WebP, GIF, TIFF, BMP). */
bool srv_wmark_type(const char *mime);

/* Why a picture cannot carry the mark, as the reason code the audit entry
 * and docs/WATERMARK.md use, or NULL when it can: "type" (not a type
 * above), "too_large" (over SRV_WM_MAX_BYTES or max_pixels), "too_small"
 * (under WM_MIN_SIDE a side), "frames" (an animated GIF or a TIFF of
 * several pages: a marked copy would be its first frame only),
 * "unreadable" (no header). `data` (the bytes, len) may be NULL when not
 * read: the size w × h is then taken as given, and GIF/TIFF frames are not
 * counted (give the bytes of those). */
const char *srv_wmark_unmarkable(const char *mime, int64_t size, int w, int h, uint64_t max_pixels,
                                 const unsigned char *data, size_t len);

/* The cached marked copy for `key` (a file id and the form: original or
 * preview) and user_id, with a reference for the caller; NULL when none. */
srv_wm_copy *srv_wmark_cached(srv_wmark *m, const char *key, int64_t user_id);

/* Marks `orig` (the bytes delivered, of type `mime`) with delivery_id and,
 * with `keep`, caches the copy under (key, user_id). The picture is
 * decoded, marked and encoded in the sandboxed extraction worker
 * (guard_file_watermark_embed, under the default limits: pixels, memory,
 * time), which gets the chips of this delivery id and never the key. The
 * copy is a PNG for PNG, GIF, TIFF and BMP (lossless: the same pixels; a
 * GIF's or TIFF's first frame), a JPEG of quality 92 for JPEG and WebP. 0
 * with *out (one reference: srv_wm_copy_unref), or -1 with the reason in
 * why (not decodable, over a limit, the worker failed, out of memory). */
int srv_wmark_copy(srv_wmark *m, const char *key, int64_t user_id, uint64_t delivery_id,
                   const unsigned char *orig, size_t len, const char *mime, bool keep,
                   srv_wm_copy **out, char *why, size_t why_cap);

void srv_wm_copy_unref(srv_wm_copy *c);

#endif
