/*
 * srv_upload_lease.h — one writer per upload, on this node and across the
 * nodes that share a store.
 *
 * Every node keeps a local lock per upload (two requests of one node never
 * write one staging file at once). When the store is shared by several
 * processes (a backend with STORE_CAN_CONCURRENT_WRITERS: PostgreSQL), the
 * writer also holds a lease on the upload's row (store_upload_lease): taken
 * by a worker before the body is read, renewed every second by this
 * module's keeper thread while the body streams, let go when the chunk is
 * recorded, and expiring SRV_LEASE_MS after a node died. The lease lives in
 * the store, which every node must reach to record an upload anyway, so a
 * Redis outage does not stop uploads, and a lease is only lost if the
 * store itself is out of reach for longer than SRV_LEASE_MS (counted:
 * cordon_upload_leases_lost_total).
 *
 * With a store only one process writes (SQLite), the local lock is the
 * whole of it and no statement runs.
 */
#ifndef CORDON_SRV_UPLOAD_LEASE_H
#define CORDON_SRV_UPLOAD_LEASE_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define SRV_LEASE_MS       5000 /* a dead node's lease frees after this */
#define SRV_LEASE_RENEW_MS 1000 /* the keeper renews held leases this often */
#define SRV_LEASE_MAX      4096 /* uploads being written by this node at once */

typedef struct srv_leases srv_leases;

enum {
    SRV_LEASE_OK = 0,
    SRV_LEASE_HELD,        /* another request, on this node or another, writes it: 423 */
    SRV_LEASE_UNAVAILABLE, /* the store cannot say: nobody writes (fail closed), 503 */
    SRV_LEASE_LOST         /* the lease expired under this writer and another took it */
};

typedef struct srv_lease_stats {
    uint64_t taken;   /* leases taken in the store */
    uint64_t refused; /* takes refused because another writer held the upload */
    uint64_t lost;    /* leases another node took while this one still wrote */
    uint64_t held;    /* held right now (local locks) */
} srv_lease_stats;

/* Starts the module. shared: leases in the store, with a keeper thread on
 * its own handle opened with `so` (ignored when not shared). The lease's
 * owner reads "NODE/PID/RANDOM" (node: the node's name, NULL: the host's),
 * so an operator sees in uploads.lease_owner which node writes. NULL on
 * failure (out of memory, the handle or thread cannot start). */
srv_leases *srv_leases_new(bool shared, const store_options *so, const char *node);
/* Stops the keeper (held leases are let go) and frees. NULL is allowed. */
void srv_leases_free(srv_leases *l);

/* A worker, with its own store handle: takes upload id's lock and, when
 * shared, its lease. SRV_LEASE_OK, HELD or UNAVAILABLE. */
int srv_lease_take(srv_leases *l, store *st, const char *id);

/* Lets the lock go, and the lease. With st (a worker) the lease is let go
 * now and the answer says whether it was held to the end: SRV_LEASE_OK,
 * SRV_LEASE_LOST (someone else holds it), or SRV_LEASE_UNAVAILABLE (the
 * store did not answer; the keeper lets it go later or it expires). With
 * st NULL (the loop: never waits) the keeper lets it go, and the answer is
 * SRV_LEASE_OK unless it was already known lost. Nothing when id is not
 * locked here. */
int srv_lease_give(srv_leases *l, store *st, const char *id);

void srv_leases_stats(srv_leases *l, srv_lease_stats *out);

#endif
