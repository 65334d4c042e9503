/*
 * srv_int.h — the server's internal contract: the context, connections,
 * jobs and requests that the srv_* modules share. Not seen outside
 * src/server (srv.h is the public side).
 *
 * Threads and who touches what:
 *   loop    the one libwebsockets event loop. Owns every srv_conn, the bus,
 *           every lws call. Never inspects, hashes passwords or commits.
 *   workers srv_pool: run handlers (store reads/writes, argon2, guard scans)
 *           with their own store handle and guard_scanner. Never touch a
 *           wsi or a srv_conn's fields other than through the job.
 *   writer  srv_writer: commits the chat domain's commits (chat_commit.h)
 *           in groups (one transaction for many), publishes their events,
 *           then hands each waiting request back to the loop.
 * Jobs travel loop -> pool [-> writer] -> loop (srv->done, then
 * lws_cancel_service wakes the loop). Events published on the bus
 * (chat_event.h) reach the loop the same way, serialised once on the
 * publishing thread (srv_bus.c). A job holds a reference on its
 * connection, so a connection that closed meanwhile is freed only when its
 * last job has come back (closing is asynchronous).
 */
#ifndef SRV_INT_H
#define SRV_INT_H

#include "cordon/guard.h"
#include "account/acct.h"
#include "srv_buf.h"
#include "chat/chat.h"
#include "chat/chat_commit.h"
#include "chat/chat_event.h"
#include "chat/chat_send.h"
#include "srv_config.h"
#include "srv_queue.h"
#include "srv_rate.h"
#include "srv_route.h"
#include "store/store.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct srv srv;
typedef struct srv_worker srv_worker;
typedef struct srv_conn srv_conn;
typedef struct srv_job srv_job;
typedef struct srv_req srv_req;
typedef struct srv_bus srv_bus;
typedef struct srv_receipts srv_receipts;

/* ---- events: what a handler wants pushed, delivered by the loop -------- */

typedef enum srv_ev_kind {
    SRV_EV_USERS,         /* buf to every open session of users[] */
    SRV_EV_STAFF,         /* buf to every officer/admin session */
    SRV_EV_CLOSE_SESSION, /* session.revoked + close: sockets of session `id` of user `uid` */
    SRV_EV_CLOSE_USER,    /* the same for every session of `uid` except `id` (0: all) */
    SRV_EV_REAUTH_USER    /* account.changed + close 4002: every socket of `uid` reconnects
                             and is authorised anew (a role changed) */
} srv_ev_kind;

typedef struct srv_event {
    struct srv_event *next;
    srv_ev_kind kind;
    srv_buf *buf; /* owned reference; NULL for the close kinds */
    int64_t id, uid;
    /* message.new only (msg_id != 0): the message, for delivered receipts
     * (srv_receipt.c); the sender's sessions get the live receipt */
    int64_t msg_id, conv_id, sender_id;
    size_t n_users;
    int64_t users[];
} srv_event;

/* ---- jobs ------------------------------------------------------------- */

struct srv_job {
    srv_qnode node; /* first: the queue link */
    /* Runs on a worker. Returns true when the job is done and goes back to
     * the loop, false when it was handed on (to the writer). */
    bool (*work)(srv_job *j, srv_worker *w);
    /* Runs on the loop; frees the job. */
    void (*finish)(srv_job *j, srv *s);
    srv_conn *conn;    /* reference, or NULL */
    srv_event *events; /* published by finish, in order */
    srv_event **ev_tail;
};

/* ---- a request: an HTTP call or a WebSocket frame ---------------------- */

struct srv_req {
    srv_job job; /* first */
    srv *srv;
    /* ---- input, filled on the loop ---- */
    bool ws; /* a WebSocket frame: the reply is a frame */
    json_int_t ws_req;
    bool ws_has_req;
    srv_method method;
    char *path, *query; /* heap; query without '?', may be NULL */
    char *token;        /* presented session token, heap, may be NULL */
    char address[64];
    char user_agent[256];
    char *body;
    size_t body_len, body_cap;
    bool body_too_large;
    /* A cross-site request (srv_http.c csrf_check): answered 403 with this
     * code once routed; NULL = none. Static strings. */
    const char *refused_code, *refused_msg;
    /* ---- worker ---- */
    const srv_route *route;
    int64_t ids[SRV_ROUTE_MAX_IDS];
    int64_t now;
    json_t *json; /* parsed body (object) or NULL */
    store_user user;
    store_session sess;
    bool authed;
    /* Commits handed to the writer (srv_req_await): the request goes back
     * to the loop when the last is done, after `after_commit` built the
     * answer. The request owns `commit` and `forward`. */
    chat_commit *commit;
    chat_forward *forward;
    chat_commit **await;
    size_t n_await;
    atomic_size_t await_left;
    void (*after_commit)(srv_req *r);
    /* ---- output ---- */
    int status;
    json_t *resp;     /* body; NULL = no body (204) */
    srv_buf *out;     /* serialised reply (HTTP body or WS frame), made off the loop */
    char *set_cookie; /* heap, may be NULL */
    int retry_after;  /* seconds; 0 = no header */
    /* static files (srv_static.c): NULL = JSON, not cacheable */
    const char *content_type, *cache_control;
    /* for the WS reply: frame type on success ("message.ack"); NULL = none */
    const char *ws_ok_type;
};

/* ---- connections ------------------------------------------------------ */

struct srv_conn {
    int refs;        /* the wsi + every job in flight (loop thread only) */
    struct lws *wsi; /* NULL once lws closed it */
    srv *srv;
    bool is_ws;
    bool closing; /* a close was requested; push nothing more */
    /* HTTP: the request being received, then the answer being written */
    srv_req *req;
    bool req_in_flight;
    /* WebSocket */
    int64_t user_id, session_id;
    int64_t expires_at; /* the session's end: the socket is closed then */
    int role;           /* SRV_ROLE_* */
    char login[STORE_LOGIN_MAX + 1];
    srv_conn *bus_next, *bus_prev;     /* the user's connections (srv_bus) */
    srv_conn *staff_next, *staff_prev; /* officer/admin connections */
    srv_buf **q;                       /* ring of outbound frames */
    uint32_t q_head, q_len, q_cap;
    size_t q_bytes;
    int close_code; /* after the queue drains: close with this code (0: none) */
    const char *close_reason;
    char *rx; /* a frame being assembled from fragments */
    size_t rx_len, rx_cap;
};

/* ---- the pool and the writer --------------------------------------------- */

struct srv_worker {
    srv *srv;
    int index;
    pthread_t th;
    store *st;
    guard_scanner *scanner;
};

/* ---- the server context ------------------------------------------------ */

/* The transport's subscriber on the chat bus: serialises each event once
 * and hands it to the loop (srv_bus.c). */
typedef struct srv_sub {
    chat_sub base; /* first */
    srv *srv;
} srv_sub;

struct srv {
    const srv_config *cfg;
    struct lws_context *lws;
    struct ev_loop *ev; /* event_loop libev: ours, lws joins it (srv_main.c) */
    struct lws_vhost *vh;
    guard_engine *engine;
    guard_options gopt;
    char *cache_dir; /* guard database cache (heap) */
    char *db_path;
    store *st; /* the loop's own handle: WebSocket authentication only */
    srv_rate *rate;
    srv_bus *bus;           /* the connection registry: sockets by user (loop) */
    chat chat;              /* the chat domain's context (engine, member cache, event bus) */
    srv_sub sub;            /* this process' subscription to the chat bus (srv_bus.c) */
    srv_receipts *receipts; /* delivered pointers waiting for the writer (loop) */
    acct_login_policy login_pol;
    const acct_cost *cost;
    /* pool */
    srv_queue jobs;
    srv_worker *workers;
    int n_workers;    /* threads started */
    int worker_slots; /* allocated */
    /* writer: chat_commit items (srv_writer.c) */
    srv_queue appends;
    pthread_t writer_th;
    store *writer_st;
    bool writer_started;
    struct srv_auditck *auditck; /* signed audit checkpoints (srv_auditck.c) */
    /* completions to the loop */
    srv_queue done;
    /* signals (set by the signal thread, read by the loop) */
    atomic_int stop_requested, reload_requested;
    bool stopping;
    /* shared frames */
    srv_buf *resync_frame, *revoked_frame, *changed_frame;
    /* account changes by any process (srv_acctwatch.c) */
    lws_sorted_usec_list_t acctwatch;
    int64_t acct_seq, acct_pruned_at; /* owned by the one watch job in flight */
    bool acct_busy;                   /* a watch job is in flight (loop) */
    size_t n_conns;
    /* The policy in force (text of the file as loaded, NULL for the built-in
     * one) and its name; replaced on a successful reload only. */
    pthread_mutex_t policy_mu;
    char *policy_text;
    char policy_name[129];
    /* Serialises loads, validations and saves of the rules (srv_h_policy.c). */
    pthread_mutex_t policy_update_mu;
    atomic_llong stat_commits; /* chat commits written (srv_writer.c) */
    atomic_int wake_pending;   /* a lws_cancel_service is on its way */
    atomic_long jobs_in_flight;
    pthread_t sig_th;
    bool sig_started;
    lws_sorted_usec_list_t housekeeping; /* expired sessions, every minute (loop) */
    int listen_pipe;                     /* after close_listeners(): see srv_main.c */
};

/* ---- srv_pool.c: the clock, and jobs back to the loop ---------------------- */

int64_t srv_now_ms(void);
/* Hands a finished job back to the loop (any thread). */
void srv_complete(srv *s, srv_job *j);

/* ---- srv_policy.c: the engine (files: srv_policy_files.h) ----------------- */

/* Start-up: builds the engine from the configured policy and lexicons and
 * what admins saved under the data dir. Returns 0, or -1 with err filled. */
int srv_policy_start(srv *s, guard_error *err);
/* Reloads the policy and lexicons (any worker: serialised with saves). Audits
 * it through st. Returns 0, or -1 with the reason in err. */
int srv_policy_reload(srv *s, store *st, int64_t actor_id, const char *actor, char *err,
                      size_t errlen);

/* The name of the policy in force ("default" for the built-in
 * one). Returns buf. */
const char *srv_policy_name(srv *s, char *buf, size_t cap);
/* A copy of the text of the policy in force (heap), or NULL for the
 * built-in policy. */
char *srv_policy_text(srv *s);
/* The same from policy text already in memory. */
const char *srv_policy_name_of(const char *text, char *buf, size_t cap);

/* ---- srv_pool.c -------------------------------------------------------- */

int srv_pool_start(srv *s);
/* Queues a job; -1 when the queue is full (the caller answers 503). */
int srv_pool_submit(srv *s, srv_job *j);
void srv_pool_stop(srv *s);

/* ---- srv_writer.c ------------------------------------------------------ */

int srv_writer_start(srv *s);
/* Queues a commit (any thread). Once the writer has stopped, commits it at
 * once with the loop's store handle (shutdown). */
void srv_writer_submit(srv *s, chat_commit *c);
/* Closes the queue, commits what is left, joins. */
void srv_writer_stop(srv *s);

/* ---- srv_conn / srv_ws.c ----------------------------------------------- */

srv_conn *srv_conn_new(srv *s, struct lws *wsi);
srv_conn *srv_conn_ref(srv_conn *c);
void srv_conn_unref(srv_conn *c);
/* Queues a frame (takes a new reference). On overflow the queue is dropped,
 * `resync` queued and the connection closes after it. */
void srv_conn_push(srv_conn *c, srv_buf *b);
/* Sends `frame` (may be NULL), then closes with code/reason. */
void srv_conn_close_after(srv_conn *c, srv_buf *frame, int code, const char *reason);
int srv_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);

/* ---- srv_http.c ---------------------------------------------------------- */

int srv_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len);
/* Extracts the session token of a request: the Authorization bearer, else
 * the cookie, else (allow_query: the WebSocket upgrade only, since a URL
 * ends up in access logs and browser history) ?token=. *from_cookie tells
 * whether it was the cookie, the credential a browser adds by itself.
 * Heap string or NULL. */
char *srv_http_token(struct lws *wsi, bool allow_query, bool *from_cookie);
/* The request's Origin and Host headers (empty when absent). */
void srv_http_origin(struct lws *wsi, char *origin, size_t ocap, char *host, size_t hcap);
void srv_http_peer(struct lws *wsi, char *out, size_t cap);

/* ---- srv_req (srv_api.c) ------------------------------------------------- */

srv_req *srv_req_new(srv *s, srv_conn *c);
void srv_req_free(srv_req *r);
/* The worker side of a request: route, authenticate, authorise, run. */
bool srv_api_work(srv_job *j, srv_worker *w);
/* The loop side: deliver the reply and the events. */
void srv_api_finish(srv_job *j, srv *s);

/* Replies. */
void srv_reply(srv_req *r, int status, json_t *body); /* steals body (may be NULL) */
void srv_error(srv_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The store failed: 500 internal (503 unavailable when busy), logged. */
void srv_store_error(srv_req *r, srv_worker *w, int rc, const char *what);
/* Queues an event on the job (steals buf). */
void srv_emit(srv_job *j, srv_ev_kind kind, srv_buf *buf, int64_t id, int64_t uid,
              const int64_t *users, size_t n_users);
/* Serialises {"type": type, ...fields of obj} into a buffer (steals obj). */
srv_buf *srv_event_buf(const char *type, json_t *obj);
/* Appends an audit entry (logged on failure, never fails the request). */
void srv_audit(store *st, int64_t actor_id, const char *actor, const char *event,
               const char *target, json_t *detail /* stolen, may be NULL */);

/* ---- srv_receipt.c: delivered receipts, coalesced on the loop --------- */

srv_receipts *srv_receipts_new(srv *s);
void srv_receipts_free(srv_receipts *p);
/* Loop: message msg reached a socket of user in conv. */
void srv_receipts_note(srv_receipts *p, int64_t conv, int64_t user, int64_t msg);
/* Loop: hands everything pending to the writer (or, once the writer has
 * stopped, writes it with the loop's own store handle). */
void srv_receipts_flush(srv_receipts *p);
/* Loop: message msg of sender reached users[0..n) (the sender excluded);
 * the `receipt` frame to the sender goes at the next live_flush, merged
 * with others of the same conversation and recipients. */
void srv_receipts_live(srv_receipts *p, int64_t sender, int64_t conv, int64_t msg,
                       const int64_t *users, size_t n);
/* Loop, after each drain of completions: sends the held receipts. */
void srv_receipts_live_flush(srv_receipts *p);

/* ---- srv_static.c ------------------------------------------------------ */

/* The worker side of a GET/HEAD outside /api/: a file of the web client
 * (or its index.html for a client-side route), 404/405 JSON otherwise. */
bool srv_static_work(srv_job *j, srv_worker *w);

/* ---- srv_bus.c ----------------------------------------------------------- */

/* The chat bus subscriber of this server (s->sub). */
void srv_sub_init(srv *s);
/* The JSON of message id as this thread last serialised it for
 * message.new (heap, the caller frees), or NULL. */
char *srv_wire_take_message(int64_t id);
/* A buffer holding the concatenation of parts[0..n); NULL when out of
 * memory. */
srv_buf *srv_buf_splice(const char *const *parts, size_t n);
void srv_deliver_events(srv *s, srv_event *ev);
void srv_events_free(srv_event *ev);

#endif
