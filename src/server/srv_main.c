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
#include "srv.h"

#include "srv_bus.h"
#include "srv_int.h"
#include "srv_log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_MS 10000

int64_t srv_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(srv *s)
{
    /* One pipe write per wake-up, however many jobs complete meanwhile. */
    if (!atomic_exchange(&s->wake_pending, 1) && s->lws)
        lws_cancel_service(s->lws);
}

void srv_complete(srv *s, srv_job *j)
{
    srv_queue_push(&s->done, &j->node, true);
    wake(s);
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
}

/* ---- policy name -------------------------------------------------------------- */

const char *srv_policy_name_of(const char *text, char *buf, size_t cap)
{
    /* The guard does not expose the name; a top-level `name:` line is the
     * documented place (docs/POLICY.md). */
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        size_t n = 0;

        if (strncmp(p, "name:", 5))
            continue;
        p += 5;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '"' || *p == '\'')
            p++;
        while (p[n] && !strchr("\n\r\"'#", p[n]) && n + 1 < cap)
            n++;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        memcpy(buf, p, n);
        buf[n] = 0;
        return buf;
    }
    snprintf(buf, cap, "unnamed");
    return buf;
}

const char *srv_policy_name(srv *s, char *buf, size_t cap)
{
    pthread_mutex_lock(&s->policy_mu);
    snprintf(buf, cap, "%s", s->policy_name);
    pthread_mutex_unlock(&s->policy_mu);
    return buf;
}

char *srv_policy_text(srv *s)
{
    char *t;

    pthread_mutex_lock(&s->policy_mu);
    t = s->policy_text ? strdup(s->policy_text) : NULL;
    pthread_mutex_unlock(&s->policy_mu);
    return t;
}

/* Reads the configured policy file (up to 1 MiB); NULL when there is none
 * or it cannot be read (the guard then reports why). */
static char *read_policy(srv *s)
{
    char *text;
    size_t n;
    FILE *f;

    if (!s->gopt.policy_path || !(f = fopen(s->gopt.policy_path, "rb")))
        return NULL;
    text = malloc(1 << 20);
    n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (text)
        text[n] = 0;
    return text;
}

/* Records what was just loaded successfully (takes text). */
static void set_policy(srv *s, char *text)
{
    char name[129];

    if (text)
        srv_policy_name_of(text, name, sizeof name);
    else
        snprintf(name, sizeof name, "default");
    pthread_mutex_lock(&s->policy_mu);
    free(s->policy_text);
    s->policy_text = text;
    snprintf(s->policy_name, sizeof s->policy_name, "%s", name);
    pthread_mutex_unlock(&s->policy_mu);
}

/* ---- policy reload --------------------------------------------------------- */

int srv_policy_reload(srv *s, store *st, int64_t actor_id, const char *actor, char *err,
                      size_t errlen)
{
    guard_error gerr = {0};
    guard_ruleset *rs;
    guard_ruleset_info info;
    char *text = read_policy(s);
    int rc;

    rc = guard_engine_reload(s->engine, &s->gopt, &gerr);
    if (rc != GUARD_OK) {
        free(text);
        snprintf(err, errlen, "%s", gerr.message);
        SRV_WARN("policy", "reload failed, the old policy stays: %s", gerr.message);
        srv_audit(st, actor_id, actor, "policy.reload_failed", s->gopt.policy_path,
                  json_pack("{s:s}", "error", gerr.message));
        return -1;
    }
    set_policy(s, text);
    rs = guard_engine_acquire(s->engine);
    guard_ruleset_get_info(rs, &info);
    guard_ruleset_unref(rs);
    SRV_INFO("policy", "reloaded: %zu patterns, %zu terms, %s", info.n_patterns, info.n_terms,
             info.from_cache ? "from cache" : "compiled");
    srv_audit(st, actor_id, actor, "policy.reload", s->gopt.policy_path,
              json_pack("{s:I,s:I,s:b}", "patterns", (json_int_t)info.n_patterns, "terms",
                        (json_int_t)info.n_terms, "from_cache", info.from_cache));
    return 0;
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

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0700) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(buf, 0700) && errno != EEXIST)
        return -1;
    return 0;
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
    /* Printed once, on a line tests can recognise; never logged. */
    fprintf(stderr, "cordon: bootstrap admin login=admin password=%s\n", otp);
    fflush(stderr);
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

    memset(&info, 0, sizeof info);
    info.port = cfg->listen_port;
    if (!strcmp(iface, "*") || !strcmp(iface, "0.0.0.0") || !strcmp(iface, "::"))
        iface = NULL;
    info.iface = iface;
    info.protocols = protocols;
    info.user = s;
    info.max_http_header_data = 4096;
    info.max_http_header_pool = 256;
    info.fd_limit_per_thread = (unsigned int)(cfg->limits.max_connections + 256);
    info.retry_and_idle_policy = &retry;
    info.timeout_secs = 30;
    info.server_string = "cordon";
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (iface && !strchr(iface, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (cfg->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
    }
    s->lws = lws_create_context(&info);
    if (!s->lws) {
        SRV_ERROR("main", "cannot listen on %s:%d", cfg->listen_host, cfg->listen_port);
        return -1;
    }
    s->vh = lws_get_vhost_by_name(s->lws, "default");
    fprintf(stderr, "cordon: listening on %s://%s:%d\n", cfg->tls_cert ? "https" : "http",
            cfg->listen_host, s->vh ? lws_get_vhost_listen_port(s->vh) : cfg->listen_port);
    fflush(stderr);
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
    if (mkdir_p(cfg->data_dir)) {
        SRV_ERROR("main", "cannot create %s: %s", cfg->data_dir, strerror(errno));
        return -1;
    }
    s->db_path = join(cfg->data_dir, STORE_DB_FILE);
    s->cache_dir =
        cfg->guard_cache_dir ? strdup(cfg->guard_cache_dir) : join(cfg->data_dir, "guard-cache");
    if (!s->db_path || !s->cache_dir || mkdir_p(s->cache_dir))
        return -1;
    s->gopt.policy_path = cfg->policy_path;
    s->gopt.lexicon_paths = (const char *const *)cfg->lexicons;
    s->gopt.n_lexicons = cfg->n_lexicons;
    s->gopt.cache_dir = s->cache_dir;
    {
        char *text = read_policy(s);

        if (guard_engine_new(&s->gopt, &s->engine, &gerr)) {
            SRV_ERROR("main", "policy: %s", gerr.message);
            free(text);
            return -1;
        }
        set_policy(s, text);
    }
    rs = guard_engine_acquire(s->engine);
    guard_ruleset_get_info(rs, &info);
    guard_ruleset_unref(rs);
    SRV_INFO("main", "policy %s: %zu patterns, %zu terms (%s)",
             cfg->policy_path ? cfg->policy_path : "(built-in)", info.n_patterns, info.n_terms,
             info.from_cache ? "from cache" : "compiled");
    so.path = s->db_path;
    rc = store_open(&so, &s->st, &msg);
    if (rc) {
        SRV_ERROR("main", "store %s: %s", s->db_path, msg ? msg : store_strerror(rc));
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
    s->rate = srv_rate_new(&cfg->limits, &cfg->login, 0);
    s->bus = srv_bus_local_new();
    s->resync_frame = srv_event_buf("resync", json_pack("{s:s}", "reason", "slow_consumer"));
    s->revoked_frame = srv_event_buf("session.revoked", json_object());
    if (!s->rate || !s->bus || !s->resync_frame || !s->revoked_frame)
        return -1;
    /* Every thread created from here on inherits the blocked set. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (pthread_create(&s->sig_th, NULL, signal_main, s))
        return -1;
    s->sig_started = true;
    if (srv_pool_start(s) || srv_writer_start(s))
        return -1;
    raise_fd_limit(cfg->limits.max_connections);
    if (cfg->web_root && access(cfg->web_root, R_OK | X_OK) == 0)
        SRV_INFO("main", "web client: %s", cfg->web_root);
    else
        SRV_INFO("main", "no web client (web_root %s): only /api/ is served",
                 cfg->web_root ? "is not readable" : "unset");
    return start_lws(s);
}

static void shutdown_server(srv *s)
{
    int64_t deadline = srv_now_ms() + SHUTDOWN_GRACE_MS;

    SRV_INFO("main", "stopping: %ld jobs in flight", (long)atomic_load(&s->jobs_in_flight));
    s->stopping = true;
    /* Answers to work already accepted still go out. */
    while (s->lws && atomic_load(&s->jobs_in_flight) > 0 && srv_now_ms() < deadline) {
        lws_cancel_service(s->lws);
        lws_service(s->lws, 0);
    }
    srv_pool_stop(s);
    srv_writer_stop(s);
    drain_done(s);
    /* Let the last acknowledgements reach their sockets. lws_service()
     * blocks until something happens; the cancel makes it return. */
    for (int i = 0; s->lws && i < 10; i++) {
        lws_cancel_service(s->lws);
        lws_service(s->lws, 0);
    }
}

static void cleanup(srv *s)
{
    if (s->lws)
        lws_context_destroy(s->lws);
    s->lws = NULL;
    srv_pool_stop(s);
    srv_writer_stop(s);
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
    srv_buf_unref(s->resync_frame);
    srv_buf_unref(s->revoked_frame);
    if (s->bus)
        s->bus->ops->destroy(s->bus);
    srv_rate_free(s->rate);
    store_close(s->st);
    guard_engine_free(s->engine);
    free(s->db_path);
    free(s->cache_dir);
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
    if (srv_queue_init(&s->done, 0)) {
        free(s);
        return 2;
    }
    if (start(s, opts))
        goto out;
    SRV_INFO("main", "ready");
    while (!atomic_load(&s->stop_requested)) {
        lws_service(s->lws, 0);
        if (atomic_exchange(&s->reload_requested, 0))
            start_reload(s);
    }
    shutdown_server(s);
    SRV_INFO("main", "stopped: %lld messages committed", (long long)atomic_load(&s->stat_messages));
    rc = 0;
out:
    cleanup(s);
    srv_queue_destroy(&s->done);
    free(s->policy_text);
    pthread_mutex_destroy(&s->policy_mu);
    free(s);
    return rc;
}
