/*
 * srv_cache.h — conversations' member lists in memory, for the send path.
 *
 * A send needs three facts about its conversation: is the sender a member,
 * is any member external (the guard's scope), and who gets message.new.
 * Reading them from the store costs three queries per message; this cache
 * keeps them as immutable, reference-counted snapshots shared by the
 * workers (and the writer, which reads the member list after the commit).
 *
 * Correctness before speed — a removed member must not be treated as one:
 *   - Every change of a conversation's membership is bracketed by
 *     srv_cache_change_begin()/_end() around the store write, on the thread
 *     that makes it. Both drop the entry and bump a generation; while a
 *     change is in progress nothing is cached, and a snapshot loaded while
 *     any change began or ended is handed out but never cached.
 *   - The store re-checks the sender's membership inside the commit
 *     transaction (store_message_append), so a send that raced a removal is
 *     refused (404) whatever the snapshot said.
 *   - After the commit, the writer asks srv_cache_stale(): when any
 *     membership change began since the snapshot was loaded (or is still in
 *     progress) it re-reads the member list in its own transaction's view
 *     before fanning out, so message.new never reaches someone removed
 *     before the message was committed.
 * Membership changes are rare next to sends, so one global generation is
 * enough; a change only costs in-flight sends a re-read.
 *
 * Thread-safe (one mutex, held only for a hash lookup or insert).
 */
#ifndef SRV_CACHE_H
#define SRV_CACHE_H

#include "store/store.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct srv_conv_snap {
    atomic_int refs;
    atomic_bool invalid;        /* dropped from the cache by a change or eviction */
    struct srv_conv_snap *next; /* hash chain (under the cache's mutex) */
    int64_t conv_id;
    bool external;  /* any member is external */
    bool cacheable; /* no membership change overlapped the load */
    uint64_t gen;   /* the cache generation the load started in */
    size_t n;
    int64_t members[]; /* user ids, ascending */
} srv_conv_snap;

typedef struct srv_cache srv_cache;

/* A cache holding at most max_ids member ids in all (memory is bounded by
 * members, not conversations: one 500-member group weighs as much as 250
 * direct chats). NULL when out of memory. */
srv_cache *srv_cache_new(size_t max_ids);
void srv_cache_free(srv_cache *c);

/* A snapshot of conv_id (a new reference in *out): cached, or loaded with
 * st (this thread's store handle) and cached when no membership change
 * overlapped the load. Returns STORE_OK, STORE_NOTFOUND (no such
 * conversation) or the store's error; *out is NULL then. */
int srv_cache_get(srv_cache *c, store *st, int64_t conv_id, srv_conv_snap **out);

/* Loads without the cache (a fresh read with st; never cached). Same
 * contract. */
int srv_conv_snap_load(store *st, int64_t conv_id, srv_conv_snap **out);

srv_conv_snap *srv_conv_snap_ref(srv_conv_snap *s);
void srv_conv_snap_unref(srv_conv_snap *s); /* NULL is allowed */
bool srv_conv_snap_has(const srv_conv_snap *s, int64_t user_id);

/* Brackets a change of conv_id's membership (add, remove, leave): call
 * begin before the store write and end after it, on every path. */
void srv_cache_change_begin(srv_cache *c, int64_t conv_id);
void srv_cache_change_end(srv_cache *c, int64_t conv_id);

/* True when s may be out of date: loaded while a change overlapped, or
 * dropped from the cache since (a change, or evicted — conservatively). */
bool srv_cache_stale(srv_cache *c, const srv_conv_snap *s);

#endif
