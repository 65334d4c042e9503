/*
 * srv_int.h — the server's internal types: the context, connections, jobs
 * and requests that the srv_* modules share. Types only: each module's
 * functions are in its own header (srv_pool.h, srv_writer.h, srv_conn.h,
 * srv_http.h, srv_req.h, srv_receipt.h, srv_registry.h, srv_policy.h,
 * srv_handlers.h), which includes this one and no other module's, so the
 * headers form no circle. Not seen outside src/server (srv.h is the
 * public side).
 *
 * Threads and who touches what:
 *   loop    the one libwebsockets event loop. Owns every srv_conn, the registry,
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
 * publishing thread (srv_registry.c). A job holds a reference on its
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
typedef struct srv_registry srv_registry;
typedef struct srv_receipts srv_receipts;
typedef struct srv_upstream srv_upstream; /* srv_upload.h */
typedef struct srv_download srv_download; /* srv_h_file.c */
typedef struct srv_uploads srv_uploads;   /* srv_upload.c */

/* An answer header beyond the common ones (tus, Location, Range). */
typedef struct srv_xheader {
    const char *name; /* static, lower case with ':' */
    char *value;      /* heap */
} srv_xheader;
#define SRV_MAX_XHEADERS 12

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
    /* Came through the chat bus (srv_deliver.c): other nodes have it.
     * Otherwise (a handler's alert.updated, upload.state) a bus between
     * nodes forwards it to them (srv_bus_redis_forward). */
    bool from_bus;
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
    uint64_t t0_ns; /* arrival (base_now_ns), for the latency metric */
    /* A sent message's stages (srv_metrics.h): a worker took it, it was
     * handed to the writer (base_now_ns). */
    uint64_t t_work_ns, t_submit_ns;
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
    /* An officer alert planned beside the answer (srv_text.c: a title or
     * name the guard did not allow). Written by the writer together with
     * the request's own commit, before the answer; owned by the request. */
    chat_commit *alert;
    chat_commit *await_pair[2];
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
    /* a download (srv_h_export.c): content-disposition and the next page's
     * cursor (x-cordon-next-cursor); heap, NULL = no header */
    char *content_disposition, *next_cursor;
    /* for the WS reply: frame type on success ("message.ack"); NULL = none */
    const char *ws_ok_type;
    /* ---- files (srv_upload.h) ---- */
    srv_upstream *up; /* a request to /api/v1/uploads, or NULL */
    srv_download *dl; /* a file answer streamed from the blob store, or NULL */
    bool close_after; /* close the connection after the answer (a body left unread) */
    bool drain;       /* the answer waits until the refused body is read and dropped */
    bool dl_started;  /* the download's headers are out; pieces follow */
    char *dl_type;    /* the download's Content-Type (heap) */
    char range[64];   /* the Range header of a download */
    srv_xheader xh[SRV_MAX_XHEADERS];
    int n_xh;
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
    srv_conn *bus_next, *bus_prev;     /* the user's connections (srv_registry) */
    srv_conn *staff_next, *staff_prev; /* officer/admin connections */
    srv_buf **q;                       /* ring of outbound frames */
    uint32_t q_head, q_len, q_cap;
    size_t q_bytes;
    int close_code; /* after the queue drains: close with this code (0: none) */
    const char *close_reason;
    /* an upload's body bytes that lws hands over while the request's
     * first phase is still on a worker (srv_upload.h): kept here, fed to
     * the stream once it may go on */
    bool up_wait, up_body_done;
    unsigned char *up_pre;
    size_t up_pre_len;
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
 * and hands it to the loop (srv_registry.c). */
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
    srv_registry *registry;      /* the connection registry: sockets by user (loop) */
    chat chat;                   /* the chat domain's context (engine, member cache, event bus) */
    chat_stats chat_stats;       /* what it counts (chat.stats points here) */
    struct srv_metrics *metrics; /* requests by route (srv_metrics.c) */
    srv_sub sub;                 /* this process' subscription to the chat bus (srv_registry.c) */
    srv_receipts *receipts;      /* delivered pointers waiting for the writer (loop) */
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
    struct srv_siem *siem;       /* SIEM export (srv_siem.c); NULL when off */
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
    /* reminders and burn messages coming due (srv_clock.c) */
    lws_sorted_usec_list_t clock;
    bool clock_busy; /* a clock job is in flight (loop) */
    size_t n_conns;
    /* The policy in force (text of the file as loaded, NULL for the built-in
     * one) and its name; replaced on a successful reload only. */
    pthread_mutex_t policy_mu;
    char *policy_text;
    char policy_name[129];
    /* Serialises loads, validations and saves of the rules (srv_policy.c). */
    pthread_mutex_t policy_update_mu;
    atomic_llong stat_commits; /* chat commits written (srv_writer.c) */
    atomic_int wake_pending;   /* a lws_cancel_service is on its way */
    atomic_long jobs_in_flight;
    pthread_t sig_th;
    bool sig_started;
    lws_sorted_usec_list_t housekeeping; /* expired sessions, every minute (loop) */
    int listen_pipe;                     /* after close_listeners(): see srv_main.c */
    srv_uploads *uploads;                /* blob store, upload locks, inspection (srv_upload.c) */
    /* The bus between nodes (srv_bus_redis.h); NULL: one node, the
     * in-process bus. Its hooks only raise these flags, which the loop
     * acts on (at the latest at the next clock tick). */
    struct srv_bus_redis *busr;
    atomic_int bus_gap;      /* events of other nodes may be lost: every socket resyncs */
    srv_buf *gap_frame;      /* {"type":"resync","reason":"bus_gap"} */
    atomic_int ocr_running;  /* users' OCR requests running (srv_h_ocr.c) */
    struct srv_wmark *wmark; /* the watermark key and marked copies (srv_wmark.c); NULL: off */
};

#endif
