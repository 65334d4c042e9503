/*
 * srv_wmark.c — the server's watermark key, the waiting worker that marks copies in the
 * sandbox (the key stays here: the worker gets one delivery id's pattern), and the cache of
 * marked copies (srv_wmark.h). The cache is a short list in recency order: a few hundred
 * entries at most (cache_bytes over a typical copy), so a linear lookup costs nothing next to
 * the marking it saves (hundreds of milliseconds to seconds per picture).
 */
#include "srv_wmark.h"

#include "cordon/guard_file.h"
#include "watermark/wm.h"

#include <leptonica/allheaders.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_FILE_NAME "watermark.key"
#define JPEG_QUALITY  92

_Static_assert(SRV_WM_MAX_BYTES == (int64_t)GUARD_FILE_MARK_MAX_BYTES, "what the worker marks");

typedef struct wm_entry {
    struct wm_entry *next;
    char key[80]; /* the file id and the form (original or preview) */
    int64_t user_id;
    srv_wm_copy *copy;
} wm_entry;

struct srv_wmark {
    wm_key key;
    pthread_mutex_t mu;
    wm_entry *head; /* most recently used first */
    size_t bytes, cap;
    /* A worker started before its picture (a start is ~120 libraries: more
     * than marking a preview). One request at a time takes it, under
     * pool_mu; a request that finds it taken starts a worker of its own
     * rather than wait. NULL when it could not be made: every copy then
     * starts its worker. */
    pthread_mutex_t pool_mu;
    guard_file_pool *pool;
};

srv_wmark *srv_wmark_new(const char *data_dir, size_t cache_bytes, char *why, size_t why_cap)
{
    srv_wmark *m = calloc(1, sizeof *m);
    char *path = NULL;
    bool created = false;

    if (!m || asprintf(&path, "%s/%s", data_dir, KEY_FILE_NAME) < 0) {
        snprintf(why, why_cap, "out of memory");
        path = NULL;
        goto fail;
    }
    if (wm_key_load(path, true, &m->key, &created, why, why_cap))
        goto fail;
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->pool_mu, NULL);
    if (guard_file_pool_new_plain(NULL, &m->pool, NULL) != GUARD_OK)
        m->pool = NULL;
    m->cap = cache_bytes;
    free(path);
    return m;
fail:
    free(path);
    if (m)
        sodium_memzero(&m->key, sizeof m->key);
    free(m);
    return NULL;
}

void srv_wm_copy_unref(srv_wm_copy *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
        free(c->data);
        free(c);
    }
}

void srv_wmark_free(srv_wmark *m)
{
    if (!m)
        return;
    for (wm_entry *e = m->head, *n; e; e = n) {
        n = e->next;
        srv_wm_copy_unref(e->copy);
        free(e);
    }
    pthread_mutex_destroy(&m->mu);
    guard_file_pool_free(m->pool);
    pthread_mutex_destroy(&m->pool_mu);
    sodium_memzero(&m->key, sizeof m->key);
    free(m);
}

bool srv_wmark_type(const char *mime)
{
    static const char *const types[] = {"image/jpeg", "image/png", "image/webp",    "image/gif",
                                        "image/tiff", "image/bmp", "image/x-ms-bmp"};

    for (size_t i = 0; mime && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(mime, types[i]))
            return true;
    return false;
}

/* Formats whose marked copy is a PNG: the same pixels, without a JPEG's
 * loss (a screenshot, a diagram, a scanned page). */
static bool to_png(const char *mime)
{
    return mime && (!strcmp(mime, "image/png") || !strcmp(mime, "image/gif") ||
                    !strcmp(mime, "image/tiff") || !strcmp(mime, "image/bmp") ||
                    !strcmp(mime, "image/x-ms-bmp"));
}

const char *srv_wmark_unmarkable(const char *mime, int64_t size, int w, int h, uint64_t max_pixels,
                                 const unsigned char *data, size_t len)
{
    l_int32 fmt = 0, hw = 0, hh = 0, bps = 0, spp = 0, cmap = 0;
    bool many = mime && (!strcmp(mime, "image/gif") || !strcmp(mime, "image/tiff"));
    int frames;

    if (!srv_wmark_type(mime))
        return "type";
    if (size > SRV_WM_MAX_BYTES)
        return "too_large";
    if (data) {
        setMsgSeverity(L_SEVERITY_NONE);
        if (pixReadHeaderMem(data, len, &fmt, &hw, &hh, &bps, &spp, &cmap) || hw <= 0 || hh <= 0)
            return "unreadable";
        w = hw;
        h = hh;
    }
    if (w <= 0 || h <= 0)
        return "unreadable";
    if ((uint64_t)w * (uint64_t)h > max_pixels)
        return "too_large";
    if (w < WM_MIN_SIDE || h < WM_MIN_SIDE)
        return "too_small";
    if (many && data) {
        frames = wm_frames(data, len);
        if (frames != 1)
            return frames ? "frames" : "unreadable";
    }
    return NULL;
}

srv_wm_copy *srv_wmark_cached(srv_wmark *m, const char *key, int64_t user_id)
{
    srv_wm_copy *c = NULL;

    pthread_mutex_lock(&m->mu);
    for (wm_entry **pp = &m->head; *pp; pp = &(*pp)->next) {
        wm_entry *e = *pp;

        if (e->user_id == user_id && !strcmp(e->key, key)) {
            /* moved to the front: most recently used */
            *pp = e->next;
            e->next = m->head;
            m->head = e;
            c = e->copy;
            atomic_fetch_add(&c->refs, 1);
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return c;
}

/* Keeps a copy (its own reference), dropping the least recently used to
 * stay under the cap. Two requests that marked the same copy at once both
 * keep theirs for a while: harmless, bounded by the cap all the same. */
static void keep_copy(srv_wmark *m, const char *key, int64_t user_id, srv_wm_copy *c)
{
    wm_entry *e = calloc(1, sizeof *e), **pp;

    if (!e || c->len > m->cap / 4) {
        free(e);
        return;
    }
    snprintf(e->key, sizeof e->key, "%s", key);
    e->user_id = user_id;
    e->copy = c;
    atomic_fetch_add(&c->refs, 1);
    pthread_mutex_lock(&m->mu);
    e->next = m->head;
    m->head = e;
    m->bytes += c->len;
    while (m->bytes > m->cap) {
        /* the tail goes: walk to the last entry */
        for (pp = &m->head; (*pp)->next; pp = &(*pp)->next)
            ;
        m->bytes -= (*pp)->copy->len;
        srv_wm_copy_unref((*pp)->copy);
        free(*pp);
        *pp = NULL;
    }
    pthread_mutex_unlock(&m->mu);
}

int srv_wmark_copy(srv_wmark *m, const char *key, int64_t user_id, uint64_t delivery_id,
                   const unsigned char *orig, size_t len, const char *mime, bool keep,
                   srv_wm_copy **out, char *why, size_t why_cap)
{
    srv_wm_copy *c = NULL;
    bool png = to_png(mime);
    int8_t chips[WM_CELLS];
    guard_error err = {0};
    guard_err grc;
    bool pooled;

    *out = NULL;
    if (delivery_id > WM_ID_MAX) {
        snprintf(why, why_cap, "delivery id over 48 bits");
        return -1;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    atomic_init(&c->refs, 1);
    c->mime = png ? "image/png" : "image/jpeg";
    /* The picture is decoded and encoded in the sandboxed worker, never
     * here; the worker gets this delivery's chips, not the key. The stored
     * copy keeps only its Orientation tag (ex_strip.c): the worker turns
     * the pixels upright, since the marked copy carries no EXIF. */
    wm_chips(&m->key, delivery_id, chips);
    pooled = m->pool && !pthread_mutex_trylock(&m->pool_mu);
    grc = guard_file_watermark_embed(orig, len, chips, png, JPEG_QUALITY, &c->data, &c->len, NULL,
                                     pooled ? m->pool : NULL, &err);
    if (pooled)
        pthread_mutex_unlock(&m->pool_mu);
    if (grc != GUARD_OK) {
        snprintf(why, why_cap, "%s", err.message);
        free(c);
        return -1;
    }
    if (keep)
        keep_copy(m, key, user_id, c);
    *out = c;
    return 0;
}
