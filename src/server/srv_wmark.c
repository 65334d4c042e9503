/*
 * srv_wmark.c — the server's watermark key and its cache of marked copies
 * (srv_wmark.h). The cache is a short list in recency order: a few hundred
 * entries at most (cache_bytes over a typical copy), so a linear lookup
 * costs nothing next to the marking it saves (hundreds of milliseconds to
 * seconds per picture).
 */
#include "srv_wmark.h"

#include "watermark/wm.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_FILE_NAME "watermark.key"
#define JPEG_QUALITY  92

typedef struct wm_entry {
    struct wm_entry *next;
    char file_id[72];
    int64_t user_id;
    uint64_t delivery_id;
    srv_wm_copy *copy;
} wm_entry;

struct srv_wmark {
    wm_key key;
    pthread_mutex_t mu;
    wm_entry *head; /* most recently used first */
    size_t bytes, cap;
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
    sodium_memzero(&m->key, sizeof m->key);
    free(m);
}

bool srv_wmark_type(const char *mime)
{
    return mime && (!strcmp(mime, "image/jpeg") || !strcmp(mime, "image/png") ||
                    !strcmp(mime, "image/webp"));
}

/* The cached copy (a reference for the caller), moved to the front. */
static srv_wm_copy *lookup(srv_wmark *m, const char *file_id, int64_t user_id, uint64_t id)
{
    srv_wm_copy *c = NULL;

    pthread_mutex_lock(&m->mu);
    for (wm_entry **pp = &m->head; *pp; pp = &(*pp)->next) {
        wm_entry *e = *pp;

        if (e->user_id == user_id && e->delivery_id == id && !strcmp(e->file_id, file_id)) {
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
static void keep_copy(srv_wmark *m, const char *file_id, int64_t user_id, uint64_t id,
                      srv_wm_copy *c)
{
    wm_entry *e = calloc(1, sizeof *e), **pp;

    if (!e || c->len > m->cap / 4) {
        free(e);
        return;
    }
    snprintf(e->file_id, sizeof e->file_id, "%s", file_id);
    e->user_id = user_id;
    e->delivery_id = id;
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

int srv_wmark_copy(srv_wmark *m, const char *file_id, int64_t user_id, uint64_t delivery_id,
                   const unsigned char *orig, size_t len, const char *mime, uint64_t max_pixels,
                   bool keep, srv_wm_copy **out, char *why, size_t why_cap)
{
    srv_wm_copy *c = lookup(m, file_id, user_id, delivery_id);
    bool png = mime && !strcmp(mime, "image/png");

    *out = NULL;
    if (c) {
        *out = c;
        return 0;
    }
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
    if (wm_embed(orig, len, max_pixels, &m->key, delivery_id, png ? WM_OUT_PNG : WM_OUT_JPEG,
                 JPEG_QUALITY, &c->data, &c->len, NULL, why, why_cap)) {
        free(c);
        return -1;
    }
    if (keep)
        keep_copy(m, file_id, user_id, delivery_id, c);
    *out = c;
    return 0;
}
