/*
 * srv_upload_lease.c — the upload locks and their leases in the store
 * (srv_upload_lease.h tells the contract).
 *
 * The keeper thread owns a store handle of its own: renewals and the
 * releases the loop hands over (it may not wait for the store) run there,
 * never on the loop and never holding the mutex.
 */
#include "srv_upload_lease.h"

#include "srv_log.h"
#include "store/store_files.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define ID_MAX (STORE_FILE_ID_MAX + 1)

typedef struct lease {
    struct lease *next;
    char id[ID_MAX];
    bool in_store;  /* the store's lease was taken (shared) */
    bool releasing; /* a worker is letting it go: the keeper leaves it alone */
    bool lost;      /* a renewal found another owner (or no row) */
} lease;

struct srv_leases {
    bool shared;
    char owner[96]; /* node/pid/random: a restarted node is another owner */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    lease *head;
    size_t n;
    char (*rel)[ID_MAX]; /* leases the keeper lets go (handed over by the loop) */
    size_t n_rel;
    bool stop, started;
    pthread_t th;
    store *st; /* the keeper's handle */
    atomic_ullong taken, refused, lost;
};

static lease *find(srv_leases *l, const char *id)
{
    for (lease *e = l->head; e; e = e->next)
        if (!strcmp(e->id, id))
            return e;
    return NULL;
}

/* Under mu. */
static void unlink_entry(srv_leases *l, lease *e)
{
    for (lease **pp = &l->head; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            free(e);
            l->n--;
            return;
        }
}

/* Under mu: the keeper lets id go (dropped when the queue is full: the
 * lease then expires by itself). */
static void queue_release(srv_leases *l, const char *id)
{
    if (l->n_rel < SRV_LEASE_MAX)
        memcpy(l->rel[l->n_rel++], id, ID_MAX);
    pthread_cond_signal(&l->cv);
}

int srv_lease_take(srv_leases *l, store *st, const char *id)
{
    lease *e;
    int rc;

    if (strlen(id) >= ID_MAX)
        return SRV_LEASE_HELD;
    pthread_mutex_lock(&l->mu);
    if (find(l, id) || l->n >= SRV_LEASE_MAX || !(e = calloc(1, sizeof *e))) {
        bool held = find(l, id) != NULL;

        pthread_mutex_unlock(&l->mu);
        if (held)
            atomic_fetch_add(&l->refused, 1);
        return held ? SRV_LEASE_HELD : SRV_LEASE_UNAVAILABLE;
    }
    memcpy(e->id, id, strlen(id) + 1);
    e->next = l->head;
    l->head = e;
    l->n++;
    pthread_mutex_unlock(&l->mu);
    if (!l->shared)
        return SRV_LEASE_OK;

    rc = store_upload_lease(st, id, l->owner, SRV_LEASE_MS, true);
    pthread_mutex_lock(&l->mu);
    if (rc == STORE_OK)
        e->in_store = true;
    else
        unlink_entry(l, e);
    pthread_mutex_unlock(&l->mu);
    if (rc == STORE_OK) {
        atomic_fetch_add(&l->taken, 1);
        return SRV_LEASE_OK;
    }
    if (rc == STORE_CONFLICT || rc == STORE_NOTFOUND) {
        atomic_fetch_add(&l->refused, 1);
        return SRV_LEASE_HELD;
    }
    SRV_WARN("upload", "%s: the lease cannot be taken: %s", id, store_errmsg(st));
    return SRV_LEASE_UNAVAILABLE;
}

int srv_lease_give(srv_leases *l, store *st, const char *id)
{
    lease *e;
    bool lost;
    int rc;

    pthread_mutex_lock(&l->mu);
    e = find(l, id);
    if (!e) {
        pthread_mutex_unlock(&l->mu);
        return SRV_LEASE_OK;
    }
    lost = e->lost;
    if (!e->in_store || lost || !st) {
        if (e->in_store && !lost)
            queue_release(l, id);
        unlink_entry(l, e);
        pthread_mutex_unlock(&l->mu);
        return lost ? SRV_LEASE_LOST : SRV_LEASE_OK;
    }
    e->releasing = true;
    pthread_mutex_unlock(&l->mu);

    /* Only this request gives e: it stays while the mutex is not held. */
    rc = store_upload_lease_release(st, id, l->owner);
    pthread_mutex_lock(&l->mu);
    if (rc != STORE_OK && rc != STORE_CONFLICT && rc != STORE_NOTFOUND)
        queue_release(l, id); /* the store did not answer: later, or it expires */
    unlink_entry(l, e);
    pthread_mutex_unlock(&l->mu);
    if (rc == STORE_OK || rc == STORE_NOTFOUND)
        return SRV_LEASE_OK;
    if (rc == STORE_CONFLICT) {
        atomic_fetch_add(&l->lost, 1);
        SRV_WARN("upload", "%s: the lease was lost (the store was out of reach)", id);
        return SRV_LEASE_LOST;
    }
    return SRV_LEASE_UNAVAILABLE;
}

/* ---- the keeper ---------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A renewal that found the lease not ours: marked lost unless the writer is
 * letting it go right now (then it is simply gone). */
static void renewal_refused(srv_leases *l, const char *id)
{
    lease *e;

    pthread_mutex_lock(&l->mu);
    e = find(l, id);
    if (e && e->in_store && !e->releasing && !e->lost) {
        e->lost = true;
        atomic_fetch_add(&l->lost, 1);
        SRV_WARN("upload", "%s: the lease was lost (the store was out of reach)", id);
    }
    pthread_mutex_unlock(&l->mu);
}

/* One round: the releases handed over, then (when due) every held lease
 * renewed. ids is scratch of SRV_LEASE_MAX entries. */
static void keeper_round(srv_leases *l, char (*ids)[ID_MAX], bool renew)
{
    size_t n = 0, failed = 0;

    pthread_mutex_lock(&l->mu);
    n = l->n_rel;
    memcpy(ids, l->rel, n * ID_MAX);
    l->n_rel = 0;
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; i < n; i++)
        store_upload_lease_release(l->st, ids[i], l->owner); /* else it expires */
    if (!renew)
        return;

    n = 0;
    pthread_mutex_lock(&l->mu);
    for (lease *e = l->head; e && n < SRV_LEASE_MAX; e = e->next)
        if (e->in_store && !e->releasing && !e->lost)
            memcpy(ids[n++], e->id, ID_MAX);
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; i < n; i++) {
        int rc = store_upload_lease(l->st, ids[i], l->owner, SRV_LEASE_MS, false);

        if (rc == STORE_CONFLICT || rc == STORE_NOTFOUND)
            renewal_refused(l, ids[i]);
        else if (rc)
            failed++;
    }
    if (failed)
        SRV_WARN("upload", "%zu upload leases not renewed: %s", failed, store_errmsg(l->st));
}

static void *keeper_main(void *arg)
{
    srv_leases *l = arg;
    char(*ids)[ID_MAX] = calloc(SRV_LEASE_MAX, ID_MAX);
    int64_t next = mono_ms() + SRV_LEASE_RENEW_MS;

    if (!ids) {
        SRV_ERROR("upload", "the lease keeper is out of memory: leases expire under writers");
        return NULL;
    }
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        int64_t now = mono_ms();

        if (!l->n_rel && now < next) {
            struct timespec ts;

            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += (next - now) / 1000;
            ts.tv_nsec += ((next - now) % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&l->mu);
        keeper_round(l, ids, now >= next);
        if (now >= next)
            next = now + SRV_LEASE_RENEW_MS;
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    /* the node stops: what it still holds goes now, not in SRV_LEASE_MS */
    pthread_mutex_lock(&l->mu);
    for (lease *e = l->head; e; e = e->next)
        if (e->in_store && !e->lost && l->n_rel < SRV_LEASE_MAX)
            memcpy(l->rel[l->n_rel++], e->id, ID_MAX);
    pthread_mutex_unlock(&l->mu);
    keeper_round(l, ids, false);
    free(ids);
    return NULL;
}

/* ---- start / stop ---------------------------------------------------------------- */

srv_leases *srv_leases_new(bool shared, const store_options *so, const char *node)
{
    srv_leases *l = calloc(1, sizeof *l);
    pthread_condattr_t ca;
    unsigned char rnd[8];
    char host[64] = "", hex[17], *msg = NULL;

    if (!l)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    if (!node && !gethostname(host, sizeof host - 1))
        node = host;
    snprintf(l->owner, sizeof l->owner, "%.60s/%d/%s", node ? node : "node", (int)getpid(), hex);
    l->shared = shared;
    if (!shared)
        return l;
    l->rel = calloc(SRV_LEASE_MAX, ID_MAX);
    if (!l->rel)
        goto fail;
    if (store_open(so, &l->st, &msg)) {
        SRV_ERROR("upload", "the lease keeper's store: %s", msg ? msg : "cannot open");
        goto fail;
    }
    if (pthread_create(&l->th, NULL, keeper_main, l))
        goto fail;
    l->started = true;
    return l;
fail:
    free(msg);
    srv_leases_free(l);
    return NULL;
}

void srv_leases_free(srv_leases *l)
{
    if (!l)
        return;
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->th, NULL);
    }
    store_close(l->st);
    while (l->head) {
        lease *e = l->head;

        l->head = e->next;
        free(e);
    }
    free(l->rel);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

void srv_leases_stats(srv_leases *l, srv_lease_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!l)
        return;
    out->taken = atomic_load(&l->taken);
    out->refused = atomic_load(&l->refused);
    out->lost = atomic_load(&l->lost);
    pthread_mutex_lock(&l->mu);
    out->held = l->n;
    pthread_mutex_unlock(&l->mu);
}
