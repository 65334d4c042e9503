/*
 * chat_cache.h — conversations' member lists in memory, for the send path.
 *
 * A send needs three facts about its conversation: is the sender a member,
 * is any member external (the guard's scope), and who gets message.new.
 * Reading them from the store costs three queries per message; this cache
 * keeps them as immutable, reference-counted snapshots shared by the
 * workers (and the writer, which reads the member list after the commit).
 *
 * Correctness before speed — a removed member must not be treated as one:
 *   - Every change of a conversation's membership is bracketed by
 *     chat_cache_change_begin()/_end() around the store write, on the thread
 *     that makes it. Both drop the entry and bump a generation; while a
 *     change is in progress nothing is cached, and a snapshot loaded while
 *     any change began or ended is handed out but never cached.
 *   - The store re-checks the sender's membership inside the commit
 *     transaction (store_message_append), so a send that raced a removal is
 *     refused (404) whatever the snapshot said.
 *   - After the commit, the writer asks chat_cache_stale(): when any
 *     membership change began since the snapshot was loaded (or is still in
 *     progress) it re-reads the member list in its own transaction's view
 *     before fanning out, so message.new never reaches someone removed
 *     before the message was committed.
 * Membership changes are rare next to sends, so one global generation is
 * enough; a change only costs in-flight sends a re-read.
 *
 * Thread-safe (one mutex, held only for a hash lookup or insert).
 */
#ifndef CHAT_CACHE_H
#define CHAT_CACHE_H

#include "store/store.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct chat_conv_snap {
    atomic_int refs;
    atomic_bool invalid;         /* dropped from the cache by a change or eviction */
    struct chat_conv_snap *next; /* hash chain (under the cache's mutex) */
    int64_t conv_id;
    bool external;  /* any member is external */
    bool cacheable; /* no membership change overlapped the load */
    uint64_t gen;   /* the cache generation the load started in */
    size_t n;
    size_t n_internal;       /* members who are not external accounts */
    const bool *external_of; /* per members[i]: an external account (inside this block) */
    int64_t members[];       /* user ids, ascending */
} chat_conv_snap;

typedef struct chat_cache chat_cache;

/* A cache holding at most max_ids member ids in all (memory is bounded by
 * members, not conversations: one 500-member group weighs as much as 250
 * direct chats). NULL when out of memory. */
chat_cache *chat_cache_new(size_t max_ids);
void chat_cache_free(chat_cache *c);

/* A snapshot of conv_id (a new reference in *out): cached, or loaded with
 * st (this thread's store handle) and cached when no membership change
 * overlapped the load. Returns STORE_OK, STORE_NOTFOUND (no such
 * conversation) or the store's error; *out is NULL then. */
int chat_cache_get(chat_cache *c, store *st, int64_t conv_id, chat_conv_snap **out);

/* Loads without the cache (a fresh read with st; never cached). Same
 * contract. */
int chat_conv_snap_load(store *st, int64_t conv_id, chat_conv_snap **out);

chat_conv_snap *chat_conv_snap_ref(chat_conv_snap *s);
void chat_conv_snap_unref(chat_conv_snap *s); /* NULL is allowed */
bool chat_conv_snap_has(const chat_conv_snap *s, int64_t user_id);
/* True when user_id is a member and an external account. */
bool chat_conv_snap_is_external(const chat_conv_snap *s, int64_t user_id);

/* Brackets a change of conv_id's membership (add, remove, leave): call
 * begin before the store write and end after it, on every path. */
void chat_cache_change_begin(chat_cache *c, int64_t conv_id);
void chat_cache_change_end(chat_cache *c, int64_t conv_id);

/* True when s may be out of date: loaded while a change overlapped, or
 * dropped from the cache since (a change, or evicted — conservatively). */
bool chat_cache_stale(chat_cache *c, const chat_conv_snap *s);

#endif
