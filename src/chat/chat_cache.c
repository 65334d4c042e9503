/*
 * chat_cache.c — the conversation membership cache (see chat_cache.h for
 * the rules that keep it correct).
 */
#include "chat_cache.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096 /* power of two */

struct chat_cache {
    pthread_mutex_t mu;
    chat_conv_snap *tab[BUCKETS];
    size_t ids, max_ids; /* member ids held by cached snapshots */
    size_t cursor;       /* next bucket to evict from */
    atomic_uint_fast64_t gen;
    atomic_int changing; /* membership changes in progress */
};

static size_t bucket(int64_t conv_id)
{
    return (size_t)(((uint64_t)conv_id * 0x9E3779B97F4A7C15ull) >> 40) & (BUCKETS - 1);
}

chat_cache *chat_cache_new(size_t max_ids)
{
    chat_cache *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return NULL;
    }
    c->max_ids = max_ids;
    atomic_init(&c->gen, 1);
    atomic_init(&c->changing, 0);
    return c;
}

chat_conv_snap *chat_conv_snap_ref(chat_conv_snap *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void chat_conv_snap_unref(chat_conv_snap *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

/* Drops a snapshot from its chain (mutex held): marks it invalid so that a
 * send still holding it re-reads after its commit. */
static void drop(chat_cache *c, chat_conv_snap **link)
{
    chat_conv_snap *s = *link;

    *link = s->next;
    s->next = NULL;
    c->ids -= s->n;
    atomic_store(&s->invalid, true);
    chat_conv_snap_unref(s);
}

void chat_cache_free(chat_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < BUCKETS; i++)
        while (c->tab[i])
            drop(c, &c->tab[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int cmp_member(const void *a, const void *b)
{
    int64_t x = ((const store_member *)a)->user_id, y = ((const store_member *)b)->user_id;

    return (x > y) - (x < y);
}

int chat_conv_snap_load(store *st, int64_t conv_id, chat_conv_snap **out)
{
    store_conv conv = {0};
    store_members ml = {0};
    chat_conv_snap *s = NULL;
    bool *ext;
    int rc;

    *out = NULL;
    rc = store_conv_get(st, conv_id, &conv);
    if (!rc)
        rc = store_member_list(st, conv_id, &ml);
    if (rc)
        goto fail;
    /* The flags live in the same block, after the ids. */
    s = calloc(1, sizeof *s + (ml.n ? ml.n : 1) * (sizeof(int64_t) + sizeof(bool)));
    if (!s) {
        rc = STORE_NOMEM;
        goto fail;
    }
    atomic_init(&s->refs, 1);
    atomic_init(&s->invalid, false);
    s->conv_id = conv_id;
    s->external = conv.external;
    s->n = ml.n;
    /* The store lists members by user id already; do not rely on it. */
    if (ml.n)
        qsort(ml.items, ml.n, sizeof ml.items[0], cmp_member);
    ext = (bool *)(s->members + (ml.n ? ml.n : 1));
    for (size_t i = 0; i < ml.n; i++) {
        s->members[i] = ml.items[i].user_id;
        ext[i] = ml.items[i].external;
        s->n_internal += !ext[i];
    }
    s->external_of = ext;
    *out = s;
fail:
    store_conv_clear(&conv);
    store_members_free(&ml);
    return rc;
}

int chat_cache_get(chat_cache *c, store *st, int64_t conv_id, chat_conv_snap **out)
{
    chat_conv_snap *s, **link;
    uint64_t gen;
    bool quiet;
    int rc;

    pthread_mutex_lock(&c->mu);
    for (s = c->tab[bucket(conv_id)]; s && s->conv_id != conv_id; s = s->next)
        ;
    if (s)
        chat_conv_snap_ref(s);
    pthread_mutex_unlock(&c->mu);
    if (s) {
        *out = s;
        return STORE_OK;
    }
    /* Read the generation before the store: a change that begins after
     * this point moves it, and the result is then not cached. */
    gen = atomic_load(&c->gen);
    quiet = atomic_load(&c->changing) == 0;
    rc = chat_conv_snap_load(st, conv_id, out);
    if (rc)
        return rc;
    s = *out;
    s->gen = gen;
    s->cacheable = quiet;
    if (!quiet || c->max_ids < s->n) {
        s->cacheable = false; /* never tracked: always re-read after commit */
        return STORE_OK;
    }
    pthread_mutex_lock(&c->mu);
    if (atomic_load(&c->gen) != gen || atomic_load(&c->changing)) {
        s->cacheable = false;
    } else {
        link = &c->tab[bucket(conv_id)];
        /* Another worker may have cached it meanwhile: replace it (the
         * same data, or older). */
        for (chat_conv_snap **l = link; *l;)
            if ((*l)->conv_id == conv_id)
                drop(c, l);
            else
                l = &(*l)->next;
        while (c->ids + s->n > c->max_ids) {
            while (!c->tab[c->cursor])
                c->cursor = (c->cursor + 1) & (BUCKETS - 1);
            drop(c, &c->tab[c->cursor]);
        }
        s->next = *link;
        *link = chat_conv_snap_ref(s);
        c->ids += s->n;
    }
    pthread_mutex_unlock(&c->mu);
    return STORE_OK;
}

/* The index of user_id in s->members, or -1. */
static ptrdiff_t snap_find(const chat_conv_snap *s, int64_t user_id)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->members[mid] == user_id)
            return (ptrdiff_t)mid;
        if (s->members[mid] < user_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

bool chat_conv_snap_has(const chat_conv_snap *s, int64_t user_id)
{
    return snap_find(s, user_id) >= 0;
}

bool chat_conv_snap_is_external(const chat_conv_snap *s, int64_t user_id)
{
    ptrdiff_t i = snap_find(s, user_id);

    return i >= 0 && s->external_of[i];
}

static void invalidate(chat_cache *c, int64_t conv_id)
{
    pthread_mutex_lock(&c->mu);
    atomic_fetch_add(&c->gen, 1);
    for (chat_conv_snap **l = &c->tab[bucket(conv_id)]; *l;)
        if ((*l)->conv_id == conv_id)
            drop(c, l);
        else
            l = &(*l)->next;
    pthread_mutex_unlock(&c->mu);
}

void chat_cache_change_begin(chat_cache *c, int64_t conv_id)
{
    atomic_fetch_add(&c->changing, 1);
    invalidate(c, conv_id);
}

void chat_cache_change_end(chat_cache *c, int64_t conv_id)
{
    invalidate(c, conv_id);
    atomic_fetch_sub(&c->changing, 1);
}

bool chat_cache_stale(chat_cache *c, const chat_conv_snap *s)
{
    (void)c;
    return !s->cacheable || atomic_load(&s->invalid);
}
