/*
 * srv_main.c — srv_run(): start-up, the event loop, signals, policy reload
 * and graceful shutdown.
 *
 * Start-up order: log, account crypto, data directory, guard engine, store
 * (migrations), first-start admin, worker pool, writer, signal thread,
 * libwebsockets. Signals are blocked in every thread and taken by one
 * thread with sigwait(), which only sets a flag and wakes the loop: no work
 * happens in signal context.
 *
 * Shutdown (SIGTERM/SIGINT): stop taking new work (new requests get 503,
 * new WebSockets are refused), let the jobs in flight finish while the loop
 * still delivers their answers, stop the pool, let the writer commit what
 * it holds, deliver those last acknowledgements, close everything.
 */
#include "base/base_file.h"
#include "srv.h"

#include "chat/chat_cache.h"
#include "srv_auditck.h"
#include "srv_bus_redis.h"
#include "srv_siem.h"
#include "srv_wmark.h"
#include "srv_registry.h"
#include "srv_int.h"
#include "srv_acctwatch.h"
#include "srv_clock.h"
#include "srv_log.h"
#include "srv_handlers.h"
#include "srv_metrics.h"
#include "srv_conn.h"
#include "srv_http.h"
#include "srv_policy.h"
#include "srv_pool.h"
#include "srv_upload.h"
#include "srv_receipt.h"
#include "srv_req.h"
#include "srv_writer.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_MS 10000
#define HOUSEKEEPING_MS   60000

/* The chat domain logs through the server's log (chat.h). */
static void chat_log_hook(chat_log_level level, const char *component, const char *fmt, va_list ap)
{
    srv_vlog((srv_log_level)level, component, fmt, ap);
}

/* One round of the event loop: blocks until something happens (a socket, a
 * timer, or lws_cancel_service() from another thread), handles it, returns.
 * With libev, lws' own lws_service() would run the loop until it is empty
 * (never, here), so the loop is ours and runs once per call. */
static void service(srv *s)
{
    if (s->ev)
        ev_run(s->ev, EVRUN_ONCE);
    else
        lws_service(s->lws, 0);
}

static void drain_done(srv *s)
{
    srv_qnode *n;

    atomic_store(&s->wake_pending, 0);
    n = srv_queue_drain(&s->done);
    while (n) {
        srv_job *j = (srv_job *)n;

        n = n->next;
        j->finish(j, s);
        atomic_fetch_sub(&s->jobs_in_flight, 1);
    }
    srv_receipts_live_flush(s->receipts);
}

static bool reload_work(srv_job *j, srv_worker *w)
{
    char err[512];

    srv_policy_reload(w->srv, w->st, 0, "system", err, sizeof err);
    (void)j;
    return true;
}

static void reload_finish(srv_job *j, srv *s)
{
    (void)s;
    free(j);
}

static void start_reload(srv *s)
{
    srv_job *j = calloc(1, sizeof *j);

    if (!j)
        return;
    j->work = reload_work;
    j->finish = reload_finish;
    j->ev_tail = &j->events;
    /* Compiling a policy takes seconds: on a worker, never on the loop. */
    if (srv_pool_submit(s, j))
        free(j);
}

/* ---- the bus between nodes (srv_bus_redis.h) ------------------------------------ */

/* Its threads only raise flags: the loop acts on them after its next
 * wake-up (the clock ticks every second). */
static void bus_gap(void *arg)
{
    srv *s = arg;

    atomic_store(&s->bus_gap, 1);
    /* At once, not at the next tick: the bus waits for the fill. */
    if (s->lws)
        lws_cancel_service(s->lws);
}

static void bus_control(void *arg, const char *kind, const json_t *body)
{
    srv *s = arg;

    (void)body;
    if (!strcmp(kind, "policy.reload")) {
        SRV_INFO("bus", "another node changed the policy: reloading");
        atomic_store(&s->reload_requested, 1);
    }
}

static int start_bus(srv *s)
{
    const srv_config *cfg = s->cfg;
    srv_bus_opts bo = {.url = cfg->bus_url, .node = cfg->node_name};
    srv_bus_hooks bh = {
        .arg = s, .wire = srv_wire_text, .gap = bus_gap, .control = bus_control, .gap_fill = true};
    char err[256];
    int64_t max_id = 0;

    if (!cfg->bus_url) {
        s->chat.bus = chat_bus_local_new();
        return s->chat.bus ? 0 : -1;
    }
    s->gap_frame = srv_event_buf("resync", json_pack("{s:s}", "reason", "bus_gap"));
    if (!s->gap_frame || srv_bus_redis_new(&bo, &bh, &s->busr, err, sizeof err)) {
        SRV_ERROR("main", "%s", s->gap_frame ? err : "out of memory");
        return -1;
    }
    s->chat.bus = srv_bus_redis_chat(s->busr);
    /* What a gap early in this node's life may have lost comes after this. */
    if (!store_message_max_id(s->st, &max_id))
        srv_bus_redis_seen_base(s->busr, max_id);
    srv_rate_set_shared(s->rate, srv_bus_redis_rate(s->busr));
    /* the per-session bucket over every node: reported off the loop */
    if (srv_rate_sync_start(s->rate)) {
        SRV_ERROR("main", "cannot start the request counters' thread");
        return -1;
    }
    /* The URL may carry a password: only that a Redis bus is on. */
    SRV_INFO("main", "bus: redis (timers fire on the node holding the lease)");
    return 0;
}

/* ---- housekeeping: expired sessions ---------------------------------------- */

static bool expire_work(srv_job *j, srv_worker *w)
{
    int64_t n = 0;
    int rc = store_session_expire(w->st, srv_now_ms(), &n);

    (void)j;
    /* Expired uploads are rows and files every node shares: the leader's. */
    if (!w->srv->busr || srv_bus_redis_leader(w->srv->busr))
        srv_uploads_expire(w->srv, w->st, srv_now_ms());
    if (rc)
        SRV_WARN("main", "session expiry: %s", store_strerror(rc));
    else if (n)
        SRV_INFO("main", "%lld expired sessions removed", (long long)n);
    return true;
}

static void housekeeping(lws_sorted_usec_list_t *sul)
{
    srv *s = lws_container_of(sul, srv, housekeeping);
    srv_job *j;

    if (s->stopping)
        return;
    /* Sockets first (the loop's own state), then the rows (a worker). */
    s->registry->ops->close_expired(s->registry, srv_now_ms(), s->revoked_frame);
    j = calloc(1, sizeof *j);
    if (j) {
        j->work = expire_work;
        j->finish = reload_finish;
        j->ev_tail = &j->events;
        if (srv_pool_submit(s, j))
            free(j);
    }
    lws_sul_schedule(s->lws, 0, &s->housekeeping, housekeeping,
                     (lws_usec_t)HOUSEKEEPING_MS * LWS_US_PER_MS);
}

/* ---- the libwebsockets protocol -------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    srv *s;

    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        s = lws_context_user(lws_get_context(wsi));
        if (s)
            drain_done(s);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        return srv_ws_callback(wsi, reason, user, in, len);
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    case LWS_CALLBACK_HTTP_WRITEABLE:
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        return srv_http_callback(wsi, reason, user, in, len);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* Per-connection memory matters at 10,000 sockets: the receive buffer is
 * what lws allocates per WebSocket, so keep it to one typical frame; larger
 * frames arrive in fragments and are assembled on demand (srv_ws.c). */
static const struct lws_protocols protocols[] = {
    {"cordon", callback, sizeof(void *), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const lws_retry_bo_t retry = {
    .secs_since_valid_ping = 60,
    .secs_since_valid_hangup = 120,
};

/* ---- signals ---------------------------------------------------------------- */

static sigset_t handled_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR2); /* ends the signal thread at shutdown */
    return set;
}

static void *signal_main(void *arg)
{
    srv *s = arg;
    sigset_t set = handled_signals();
    int sig;

    for (;;) {
        if (sigwait(&set, &sig))
            continue;
        if (sig == SIGUSR2)
            break;
        if (sig == SIGHUP)
            atomic_store(&s->reload_requested, 1);
        else
            atomic_store(&s->stop_requested, 1);
        if (s->lws)
            lws_cancel_service(s->lws);
    }
    return NULL;
}

/* ---- start-up helpers -------------------------------------------------------- */

/*
 * The data directory holds messages, password hashes and session hashes:
 * only its owner may read it, whatever mode a directory made by hand (or
 * an older version) had. Directories become 0700 and files 0600, depth
 * first, symlinks inside left alone (the directory itself may be one).
 * Paths only: chmod(2), never open(2), since
 * opening and closing the database file would drop SQLite's POSIX locks
 * of a process that has it open. Returns 0, or -1 with errno.
 */
static int make_private(const char *path, int depth, bool follow)
{
    struct stat st;
    DIR *d = NULL;
    struct dirent *e;
    char sub[4096];
    int rc = -1;

    if (follow ? stat(path, &st) : lstat(path, &st))
        goto out;
    if (S_ISDIR(st.st_mode) && depth > 0) {
        d = opendir(path);
        if (!d)
            goto out;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= sizeof sub) {
                errno = ENAMETOOLONG;
                goto out;
            }
            if (make_private(sub, depth - 1, false))
                goto out;
        }
    }
    if (S_ISDIR(st.st_mode) && (st.st_mode & 07777) != 0700 && chmod(path, 0700))
        goto out;
    if (S_ISREG(st.st_mode) && (st.st_mode & 077) && chmod(path, st.st_mode & 0700))
        goto out;
    rc = 0;
out:
    if (d)
        closedir(d);
    return rc;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int bootstrap_admin(srv *s, const srv_run_opts *opts)
{
    char otp[ACCT_OTP_LEN + 1];
    bool created = false;
    int rc = acct_bootstrap_admin(s->st, s->cost, srv_now_ms(), otp, &created);

    if (rc) {
        SRV_ERROR("main", "admin bootstrap: %s", acct_strerror(rc));
        return -1;
    }
    if (!created)
        return 0;
    /* Printed once, alone on stdout, so it never lands in the log stream
     * (stderr) that is collected and shipped; never logged. */
    fprintf(stdout, "cordon: bootstrap admin login=admin password=%s\n", otp);
    fflush(stdout);
    if (opts && opts->admin_password_file) {
        int fd = open(opts->admin_password_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || write(fd, otp, strlen(otp)) != (ssize_t)strlen(otp)) {
            SRV_ERROR("main", "cannot write %s: %s", opts->admin_password_file, strerror(errno));
            if (fd >= 0)
                close(fd);
            sodium_memzero(otp, sizeof otp);
            return -1;
        }
        close(fd);
    }
    sodium_memzero(otp, sizeof otp);
    return 0;
}

static void raise_fd_limit(size_t want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl))
        return;
    if (rl.rlim_cur < want + 256) {
        rl.rlim_cur = rl.rlim_max < want + 256 ? rl.rlim_max : want + 256;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int start_lws(srv *s)
{
    struct lws_context_creation_info info;
    const srv_config *cfg = s->cfg;
    const char *iface = cfg->listen_host;
    void *loops[1] = {NULL};

    memset(&info, 0, sizeof info);
    info.port = cfg->listen_port;
    if (!strcmp(iface, "*") || !strcmp(iface, "0.0.0.0") || !strcmp(iface, "::"))
        iface = NULL;
    info.iface = iface;
    info.protocols = protocols;
    info.user = s;
    info.max_http_header_data = 4096;
    info.max_http_header_pool = 256;
    /* The one service thread's read buffer: 64 KiB per read, not 4 KiB,
     * so an upload's body comes in 16x fewer callbacks and syscalls
     * (bench/uploads). One buffer for the loop, not per connection. */
    info.pt_serv_buf_size = 64 * 1024;
    info.fd_limit_per_thread = (unsigned int)(cfg->limits.max_connections + 256);
    info.retry_and_idle_policy = &retry;
    info.timeout_secs = 30;
    /* An idle keep-alive connection is kept 65 s (lws's default is 5 s, as
     * nginx's is 75 s): a pooling client (undici, OkHttp, a browser) that
     * reuses a socket the server has just closed gets "other side closed"
     * on a request it already sent. With 5 s that race was hit whenever a
     * client was busy for a few seconds between two requests (seen in the
     * export and upload tests under load); clients close their idle
     * sockets well before 65 s (undici 4 s, Chromium 5 min at most). */
    info.keepalive_timeout = 65;
    info.server_string = "cordon";
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (iface && !strchr(iface, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (cfg->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        /* HTTP/1.1 only: lws 4.1 reads custom request headers (tus's
         * Upload-Offset, Upload-Length...) on HTTP/1 connections only, so
         * an h2 client could never upload (docs/SERVER.md, "Uploads"). */
        info.alpn = "http/1.1";
    }
    /* libev: lws' plugin (libwebsockets-evlib-ev) joins our libev loop
     * (epoll). lws' own loop calls poll() over every socket on each service
     * call, which cost ~30% of the server's CPU with 1,000 busy sockets. */
    if (cfg->event_loop == SRV_LOOP_LIBEV) {
        s->ev = ev_loop_new(EVFLAG_AUTO);
        if (s->ev) {
            loops[0] = s->ev;
            info.foreign_loops = loops;
            info.options |= LWS_SERVER_OPTION_LIBEV;
            s->lws = lws_create_context(&info);
        }
        if (!s->lws) {
            SRV_WARN("main", "libev event loop unavailable (package libwebsockets-evlib-ev?); "
                             "using poll");
            if (s->ev)
                ev_loop_destroy(s->ev);
            s->ev = NULL;
            info.foreign_loops = NULL;
            info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
        }
    }
    if (!s->lws)
        s->lws = lws_create_context(&info);
    if (!s->lws) {
        SRV_ERROR("main", "cannot listen on %s:%d", cfg->listen_host, cfg->listen_port);
        return -1;
    }
    s->vh = lws_get_vhost_by_name(s->lws, "default");
    if (srv_metrics_listen(s))
        return -1;
    fprintf(stderr, "cordon: listening on %s://%s:%d\n", cfg->tls_cert ? "https" : "http",
            cfg->listen_host, s->vh ? lws_get_vhost_listen_port(s->vh) : cfg->listen_port);
    fflush(stderr);
    /* The first sweep right away: sessions that ended while we were down. */
    lws_sul_schedule(s->lws, 0, &s->housekeeping, housekeeping, 1);
    return 0;
}

/* The data directory, private to the server, and what lives in it: the
 * watermark key, the store's path, the guard's cache. */
static int start_data_dir(srv *s)
{
    const srv_config *cfg = s->cfg;

    /* Whatever the server creates (the database and its -wal/-shm, saved
     * policies, the guard cache) is its own: no mode bits for group or
     * others, before the first file exists. */
    umask(077);
    if (base_file_mkdir_p(cfg->data_dir, 0700)) {
        SRV_ERROR("main", "cannot create %s: %s", cfg->data_dir, strerror(errno));
        return -1;
    }
    if (make_private(cfg->data_dir, 4, true)) {
        SRV_ERROR("main", "cannot make %s private: %s", cfg->data_dir, strerror(errno));
        return -1;
    }
    if (cfg->uploads.watermark) {
        char why[256];

        /* the key of the invisible watermark on delivered images */
        s->wmark =
            srv_wmark_new(cfg->data_dir, cfg->uploads.watermark_cache_bytes, why, sizeof why);
        if (!s->wmark) {
            SRV_ERROR("main", "watermark key: %s", why);
            return -1;
        }
    }
    s->db_path = srv_config_store_path(cfg); /* SQLite in data_dir, or PostgreSQL */
    s->cache_dir =
        cfg->guard_cache_dir ? strdup(cfg->guard_cache_dir) : join(cfg->data_dir, "guard-cache");
    if (!s->db_path || !s->cache_dir || base_file_mkdir_p(s->cache_dir, 0700))
        return -1;
    return 0;
}

/* The in-memory parts of the server: rate limits, the registry of sockets,
 * receipts, the chat domain, metrics, and the frames sent as they are. */
static int start_chat(srv *s)
{
    const srv_config *cfg = s->cfg;

    s->rate = srv_rate_new(&cfg->limits, &cfg->login, 0);
    s->registry = srv_registry_local_new();
    s->receipts = srv_receipts_new(s);
    /* The chat domain: 1M member ids (8 MiB) in the cache covers thousands
     * of groups and direct chats; the in-process event bus. */
    s->chat = (chat){.lim = {.max_message_bytes = cfg->limits.max_message_bytes,
                             .max_justification = cfg->limits.max_justification,
                             .recall_window_seconds = cfg->recall_window_seconds,
                             .burn_after_open_seconds = cfg->burn_after_open_seconds,
                             .burn_unopened_seconds = cfg->burn_unopened_seconds,
                             .remind_late_seconds = cfg->reminder_late_seconds},
                     .engine = s->engine,
                     .cache = chat_cache_new(1u << 20),
                     .log = chat_log_hook,
                     .stats = &s->chat_stats};
    chat_stats_init(&s->chat_stats);
    s->metrics = srv_metrics_new(srv_n_routes);
    srv_sub_init(s);
    s->resync_frame = srv_event_buf("resync", json_pack("{s:s}", "reason", "slow_consumer"));
    s->revoked_frame = srv_event_buf("session.revoked", json_object());
    if (!s->rate || !s->registry || !s->receipts || !s->chat.cache || !s->metrics ||
        !s->resync_frame || !s->revoked_frame)
        return -1;
    return 0;
}

static int start(srv *s, const srv_run_opts *opts)
{
    const srv_config *cfg = s->cfg;
    store_options so = {.version = 1};
    guard_error gerr = {0};
    guard_ruleset *rs;
    guard_ruleset_info info;
    sigset_t set = handled_signals();
    char *msg = NULL;
    int rc;

    if (acct_init()) {
        SRV_ERROR("main", "crypto initialisation failed");
        return -1;
    }
    if (start_data_dir(s))
        return -1;
    s->gopt.policy_path = cfg->policy_path;
    s->gopt.lexicon_paths = (const char *const *)cfg->lexicons;
    s->gopt.n_lexicons = cfg->n_lexicons;
    s->gopt.cache_dir = s->cache_dir;
    /* The configured files plus what admins saved in the data dir. */
    if (srv_policy_start(s, &gerr)) {
        SRV_ERROR("main", "policy: %s", gerr.message);
        return -1;
    }
    rs = guard_engine_acquire(s->engine);
    guard_ruleset_get_info(rs, &info);
    guard_ruleset_unref(rs);
    SRV_INFO("main", "policy: %zu patterns, %zu terms (%s)", info.n_patterns, info.n_terms,
             info.from_cache ? "from cache" : "compiled");
    so.path = s->db_path;
    so.maintenance = STORE_MAINT_ELSEWHERE; /* the writer's handle carries it */
    rc = store_open(&so, &s->st, &msg);
    if (rc) {
        char shown[512];

        SRV_ERROR("main", "store %s: %s", store_path_redacted(s->db_path, shown, sizeof shown),
                  msg ? msg : store_strerror(rc));
        free(msg);
        return -1;
    }
    s->login_pol = acct_login_policy_default;
    s->login_pol.max_failures = cfg->login.account_failures;
    s->login_pol.lockout_ms = (int64_t)cfg->login.lockout_seconds * 1000;
    s->login_pol.totp_required_privileged =
        cfg->totp_required[SRV_ROLE_OFFICER] || cfg->totp_required[SRV_ROLE_ADMIN];
    s->cost = opts && opts->fast_hash ? &acct_cost_test : &acct_cost_default;
    s->login_pol.cost = s->cost;
    if (bootstrap_admin(s, opts))
        return -1;
    if (start_chat(s))
        return -1;
    /* Every thread created from here on inherits the blocked set (the
     * bus' threads too: SIGTERM is the signal thread's alone). */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (start_bus(s))
        return -1;
    if (pthread_create(&s->sig_th, NULL, signal_main, s))
        return -1;
    s->sig_started = true;
    if (srv_pool_start(s) || srv_writer_start(s) || srv_uploads_start(s))
        return -1;
    s->auditck = srv_auditck_start(cfg, s->db_path);
    if (!s->auditck)
        return -1;
    {
        bool failed = false;

        s->siem = srv_siem_start(cfg, s->db_path, &failed);
        if (failed)
            return -1;
    }
    raise_fd_limit(cfg->limits.max_connections);
    if (cfg->web_root && access(cfg->web_root, R_OK | X_OK) == 0)
        SRV_INFO("main", "web client: %s", cfg->web_root);
    else
        SRV_INFO("main", "no web client (web_root %s): only /api/ is served",
                 cfg->web_root ? "is not readable" : "unset");
    if (start_lws(s))
        return -1;
    if (srv_acctwatch_start(s))
        return -1;
    return srv_clock_start(s);
}

/* Closes the listening socket(s) under libwebsockets' feet. lws 4.1 has no
 * working call for this (lws_context_deprecate() uses the listening wsi
 * after freeing it), so the socket is found by what it is (a listening TCP
 * socket on our port) and replaced, with dup2(), by the read end of a pipe
 * that never becomes readable: the kernel drops the listener (new
 * connections are refused at once) while lws keeps polling a quiet fd of
 * the same number, and closes it with the context. Under libev (epoll) the
 * listener leaves the epoll set when its last descriptor closes. */
static void close_listeners(srv *s)
{
    int port = s->vh ? lws_get_vhost_listen_port(s->vh) : -1, pfd[2] = {-1, -1};
    struct rlimit rl;

    if (port <= 0 || getrlimit(RLIMIT_NOFILE, &rl) || pipe2(pfd, O_CLOEXEC))
        return;
    for (int fd = 3; fd < (int)rl.rlim_cur && fd < 65536; fd++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss, il = sizeof(int);
        int acc = 0, p = -1;

        if (fd == pfd[0] || fd == pfd[1] || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &il) ||
            !acc || getsockname(fd, (struct sockaddr *)&ss, &sl))
            continue;
        if (ss.ss_family == AF_INET)
            p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        if (p == port && dup2(pfd[0], fd) >= 0)
            SRV_INFO("main", "listening socket closed");
    }
    close(pfd[0]);
    s->listen_pipe = pfd[1]; /* open until exit: the read ends stay quiet */
}

static void shutdown_server(srv *s)
{
    int64_t deadline = srv_now_ms() + SHUTDOWN_GRACE_MS;

    SRV_INFO("main", "stopping: %ld jobs in flight", (long)atomic_load(&s->jobs_in_flight));
    s->stopping = true;
    /* The listening socket goes first: nobody new connects to a server
     * that is going away (a restart can bind the port at once), while the
     * connections already open still get their answers. */
    close_listeners(s);
    /* Answers to work already accepted still go out. */
    while (s->lws && atomic_load(&s->jobs_in_flight) > 0 && srv_now_ms() < deadline) {
        lws_cancel_service(s->lws);
        service(s);
    }
    srv_pool_stop(s);
    srv_receipts_flush(s->receipts);
    srv_writer_stop(s);
    srv_uploads_stop(s);          /* after the writer: a recall removes blobs */
    srv_auditck_stop(s->auditck); /* after the last commit: its head is signed */
    s->auditck = NULL;
    srv_siem_stop(s->siem); /* after the last commit: it is exported */
    s->siem = NULL;
    drain_done(s);
    /* Deliveries of the writer's last batch: written here (writer gone). */
    srv_receipts_flush(s->receipts);
    /* Let the last acknowledgements reach their sockets. lws_service()
     * blocks until something happens; the cancel makes it return. */
    for (int i = 0; s->lws && i < 10; i++) {
        lws_cancel_service(s->lws);
        service(s);
    }
}

static void cleanup(srv *s)
{
    /* Before the context: the pending table's timer is on its lists. What
     * completes after this is delivered without receipts (no sockets). */
    srv_receipts_free(s->receipts);
    s->receipts = NULL;
    if (s->busr) {
        /* Before the context (its subscriber wakes the loop) and after
         * whatever publishes (the pool, the writer). */
        srv_pool_stop(s);
        srv_writer_stop(s);
        srv_rate_sync_stop(s->rate); /* it calls the bus' counters */
        srv_bus_redis_free(s->busr);
        s->busr = NULL;
        s->chat.bus = NULL;
    }
    if (s->lws)
        lws_context_destroy(s->lws);
    s->lws = NULL;
    if (s->ev) /* after the context: lws stops its watchers on it */
        ev_loop_destroy(s->ev);
    s->ev = NULL;
    srv_pool_stop(s);
    srv_writer_stop(s);
    srv_uploads_stop(s);
    srv_auditck_stop(s->auditck);
    srv_siem_stop(s->siem);
    s->siem = NULL;
    if (s->sig_started) {
        pthread_kill(s->sig_th, SIGUSR2);
        pthread_join(s->sig_th, NULL);
    }
    /* Jobs completed after the context went (their sockets are gone). */
    for (srv_qnode *n = srv_queue_drain(&s->done); n;) {
        srv_job *j = (srv_job *)n;

        n = n->next;
        j->finish(j, s);
    }
    srv_wmark_free(s->wmark); /* after the workers and the loop: no download writes a copy */
    s->wmark = NULL;
    srv_buf_unref(s->resync_frame);
    srv_buf_unref(s->revoked_frame);
    srv_buf_unref(s->changed_frame);
    if (s->registry)
        s->registry->ops->destroy(s->registry);
    if (s->chat.bus && !s->busr)
        s->chat.bus->ops->destroy(s->chat.bus);
    srv_buf_unref(s->gap_frame);
    srv_rate_free(s->rate);
    srv_metrics_free(s->metrics);
    chat_cache_free(s->chat.cache);
    store_close(s->st);
    guard_engine_free(s->engine);
    free(s->db_path);
    free(s->cache_dir);
    if (s->listen_pipe > 0)
        close(s->listen_pipe);
}

int srv_run(const srv_config *cfg, const srv_run_opts *opts)
{
    srv *s = calloc(1, sizeof *s);
    int rc = 2;

    srv_log_init(cfg->log_level);
    if (!s)
        return 2;
    s->cfg = cfg;
    pthread_mutex_init(&s->policy_mu, NULL);
    pthread_mutex_init(&s->policy_update_mu, NULL);
    if (srv_queue_init(&s->done, 0)) {
        free(s);
        return 2;
    }
    if (start(s, opts))
        goto out;
    SRV_INFO("main", "ready");
    while (!atomic_load(&s->stop_requested)) {
        service(s);
        if (atomic_exchange(&s->reload_requested, 0))
            start_reload(s);
        if (atomic_exchange(&s->bus_gap, 0))
            srv_gap_fill(s); /* srv_deliver.c */
    }
    shutdown_server(s);
    SRV_INFO("main", "stopped: %lld commits written", (long long)atomic_load(&s->stat_commits));
    rc = 0;
out:
    cleanup(s);
    srv_queue_destroy(&s->done);
    free(s->policy_text);
    pthread_mutex_destroy(&s->policy_mu);
    pthread_mutex_destroy(&s->policy_update_mu);
    free(s);
    return rc;
}
