/*
 * chat.h — the chat domain: what happens to a message, apart from how it
 * arrived and how it leaves. Knows conversations, members, the guard and
 * the store; knows nothing of sockets, HTTP or threads (no libwebsockets
 * here: the server's transport calls in, the bus carries events out).
 *
 * Every operation that writes runs in three named stages, and its file
 * reads top to bottom in that order (docs/ARCHITECTURE.md, "How a message
 * travels"):
 *
 *   plan     on a worker (chat_env: its own store handle and scanner):
 *            check the input, authorise (membership), inspect (guard),
 *            decide. Reads the store, never writes it. Produces a commit.
 *   commit   on the writer thread (chat_commit.h): the one write path.
 *            A message, its alert and its audit row go in one
 *            transaction; so do the alert and audit row of a blocked one.
 *   publish  on the writer, after the commit: typed events to the bus
 *            (chat_event.h), and the outcome for whoever waits.
 *
 * Nothing is published before its commit: an event always describes a
 * row that survives kill -9, and a lost event is never a lost message (the
 * store is the truth; events carry the message id to fill a gap from it).
 */
#ifndef CHAT_H
#define CHAT_H

#include "base/base_hist.h"
#include "cordon/guard.h"
#include "store/store.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct chat_bus chat_bus;
typedef struct chat_cache chat_cache;

typedef enum chat_log_level {
    CHAT_LOG_DEBUG,
    CHAT_LOG_INFO,
    CHAT_LOG_WARN,
    CHAT_LOG_ERROR,
} chat_log_level;

/* Where the domain's log lines go (the server passes its own log). Never
 * given message bodies or secrets. */
typedef void chat_log_fn(chat_log_level level, const char *component, const char *fmt, va_list ap);

/* The limits the domain enforces (the server fills them from its config). */
typedef struct chat_limits {
    size_t max_message_bytes;
    size_t max_justification;
    int recall_window_seconds;
    /* Burn-after-reading (chat_burn.h): destroyed this long after every
     * reader opened it, or after this long unopened. */
    int burn_after_open_seconds;
    int burn_unopened_seconds;
    /* A reminder fired later than this after its time is marked late. */
    int remind_late_seconds;
} chat_limits;

/* The domain's context: shared by every thread, immutable after start-up
 * (the engine swaps rulesets inside itself; the cache and bus lock inside). */
/* What the domain counts of its own work, read by the transport's metrics
 * (the server's /metrics). Atomics: any thread adds. */
typedef struct chat_stats {
    atomic_uint_fast64_t verdicts[GUARD_ACTION_COUNT]; /* messages inspected, by verdict */
    atomic_uint_fast64_t stored;                       /* messages stored (delivered) */
    base_hist scan;                                    /* guard_scan of a message */
} chat_stats;

/* Sets the counters to zero and the histogram's buckets. */
void chat_stats_init(chat_stats *st);

typedef struct chat {
    chat_limits lim;
    chat_stats *stats; /* may be NULL: nothing counted */
    guard_engine *engine;
    chat_cache *cache; /* conversations' members for the send path */
    chat_bus *bus;     /* where events go (chat_event.h) */
    chat_log_fn *log;  /* may be NULL */
    /* where files' bytes are (blob.h): a recall removes those nothing
     * refers to any more. NULL: none (no files in this server). */
    struct blob_store *blobs;
} chat;

/* One thread's view of the domain: its own store handle and scanner
 * (scanner NULL on the writer, which never inspects). */
typedef struct chat_env {
    const chat *chat;
    store *st;
    guard_scanner *scanner;
} chat_env;

/* Who acts: an authenticated account (the transport authenticated it). */
typedef struct chat_caller {
    int64_t id;
    const char *login;
} chat_caller;

/* How an operation ended, for the transport to answer with: an HTTP-style
 * status, and on failure an error code and a message for the user (codes
 * are listed in docs/API.md). `extra` (owned, may be NULL) holds fields
 * that go with the answer (the guard outcome of a send). */
typedef struct chat_outcome {
    int status;       /* 200, 201, 204 or 4xx/5xx */
    const char *code; /* NULL on success; a static string */
    char message[320];
    json_t *extra;
} chat_outcome;

/* Sets o to an error (status, code, printf-style message). */
void chat_fail(chat_outcome *o, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The store failed: 503 unavailable when busy, else 500 internal; logged. */
void chat_fail_store(const chat_env *e, chat_outcome *o, int rc, const char *what);
void chat_outcome_clear(chat_outcome *o);

void chat_log(const chat *c, chat_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Milliseconds since the epoch (the time stamped on rows). */
int64_t chat_now_ms(void);

/* Runs write(st, arg) in one transaction, again after a short sleep while
 * the database is busy (another process, e.g. `cordon user`, holds the
 * write lock; up to CHAT_TX_RETRIES times). Returns the store code of the
 * last attempt; a failed attempt is rolled back. Writer thread. */
#define CHAT_TX_RETRIES 20
int chat_tx(store *st, int (*write)(store *st, void *arg), void *arg);
/* The same retry for a write that brackets its own transaction (one store
 * call, or begin/commit inside `write`). */
int chat_retry_busy(store *st, int (*write)(store *st, void *arg), void *arg);

/* Appends an audit entry with st (logged on failure; never fails the
 * caller). detail is stolen, may be NULL. */
void chat_audit(const chat *c, store *st, int64_t actor_id, const char *actor, const char *event,
                const char *target, json_t *detail);

#endif
