/*
 * srv_metrics.c — Prometheus metrics (srv_metrics.h).
 *
 * Counters are atomics bumped where the work happens (a request answered,
 * a message inspected or stored); gauges are read when /metrics is asked
 * for. The exposition is written by hand in the text format (0.0.4): no
 * Prometheus C client is packaged in Debian, and the format is a few lines
 * per metric. `promtool check metrics` validates it in the tests.
 *
 * The listener is a second libwebsockets vhost with a protocol of its own,
 * bound to `metrics_listen` (loopback by default when set): the numbers say
 * how busy the organisation is and which rules fire, so they are for the
 * operators' scraper, never for the public port. It answers GET /metrics
 * and nothing else, on the loop thread (reading atomics is cheaper than a
 * hand-off to a worker).
 */
#include "srv_bus_redis.h"
#include "srv_metrics.h"

#include "srv_handlers.h"
#include "srv_int.h"
#include "srv_log.h"
#include "srv_queue.h"
#include "srv_registry.h"
#include "srv_route.h"
#include "srv_upload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_CLASSES 5 /* 1xx..5xx by hundreds; index 0 collects anything else */

typedef struct route_stats {
    atomic_uint_fast64_t by_class[N_CLASSES + 1];
    base_hist latency;
} route_stats;

/* Finer than base_hist_ms_bounds below 10 ms, where the p99 target of a
 * message is (docs/SERVER.md, "Performance"): the stages are read for
 * their tails. */
#define US 1000ull
#define MS 1000000ull
static const uint64_t stage_bounds[] = {50 * US, 100 * US, 250 * US,  500 * US, 1 * MS,  2 * MS,
                                        3 * MS,  5 * MS,   7500 * US, 10 * MS,  15 * MS, 25 * MS,
                                        50 * MS, 100 * MS, 250 * MS,  1000 * MS};
/* Commits in a group: counts, not times (rendered without the ns scale). */
static const uint64_t batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

static const char *const stage_names[SRV_STAGE_COUNT] = {
    "queue", "plan", "writer_queue", "commit", "publish", "answer", "fanout", "total"};

enum { MAINT_CHECKPOINT, MAINT_FINISH, MAINT_BACKSTOP, MAINT_COUNT };
static const char *const maint_names[MAINT_COUNT] = {"checkpoint", "finish", "backstop"};

struct srv_metrics {
    size_t n_routes;
    route_stats *routes; /* [n_routes] + one for requests without a route */
    base_hist stages[SRV_STAGE_COUNT];
    base_hist batch_size, batch_store;
    base_hist maint[MAINT_COUNT];
};

srv_metrics *srv_metrics_new(size_t n_routes)
{
    srv_metrics *m = calloc(1, sizeof *m);

    if (!m)
        return NULL;
    m->n_routes = n_routes;
    m->routes = calloc(n_routes + 1, sizeof *m->routes);
    if (!m->routes) {
        free(m);
        return NULL;
    }
    for (size_t i = 0; i <= n_routes; i++) {
        for (size_t k = 0; k <= N_CLASSES; k++)
            atomic_init(&m->routes[i].by_class[k], 0);
        base_hist_init(&m->routes[i].latency, base_hist_ms_bounds, base_hist_ms_n);
    }
    for (size_t i = 0; i < SRV_STAGE_COUNT; i++)
        base_hist_init(&m->stages[i], stage_bounds, sizeof stage_bounds / sizeof stage_bounds[0]);
    base_hist_init(&m->batch_size, batch_bounds, sizeof batch_bounds / sizeof batch_bounds[0]);
    base_hist_init(&m->batch_store, stage_bounds, sizeof stage_bounds / sizeof stage_bounds[0]);
    for (size_t i = 0; i < MAINT_COUNT; i++)
        base_hist_init(&m->maint[i], stage_bounds, sizeof stage_bounds / sizeof stage_bounds[0]);
    return m;
}

void srv_metrics_stage(srv_metrics *m, srv_stage stage, uint64_t ns)
{
    if (m && stage < SRV_STAGE_COUNT)
        base_hist_observe(&m->stages[stage], ns);
}

void srv_metrics_batch(srv_metrics *m, size_t n, uint64_t store_ns)
{
    if (!m)
        return;
    base_hist_observe(&m->batch_size, n);
    base_hist_observe(&m->batch_store, store_ns);
}

void srv_metrics_maint(srv_metrics *m, const char *what, uint64_t ns)
{
    if (!m || !what)
        return;
    for (size_t i = 0; i < MAINT_COUNT; i++)
        if (!strcmp(what, maint_names[i]))
            base_hist_observe(&m->maint[i], ns);
}

void srv_metrics_free(srv_metrics *m)
{
    if (!m)
        return;
    free(m->routes);
    free(m);
}

void srv_metrics_request(srv_metrics *m, size_t route, int status, uint64_t ns)
{
    route_stats *rs;
    int cls = status / 100;

    if (!m)
        return;
    rs = &m->routes[route < m->n_routes ? route : m->n_routes];
    atomic_fetch_add_explicit(&rs->by_class[cls >= 1 && cls <= N_CLASSES ? cls : 0], 1,
                              memory_order_relaxed);
    base_hist_observe(&rs->latency, ns);
}

/* ---- the exposition ----------------------------------------------------------- */

typedef struct out {
    base_buf *b;
    int rc;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line || base_buf_add(o->b, line, (size_t)n))
        o->rc = -1;
}

static void head(out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's series; labels is "" or `key="value",` (trailing comma).
 * scale divides the recorded values (1e9: nanoseconds to seconds; 1: counts). */
static void hist_scaled(out *o, const char *name, const char *labels, const base_hist *h,
                        double scale)
{
    uint64_t cum[BASE_HIST_MAX + 1], sum;

    base_hist_read(h, cum, &sum);
    for (size_t i = 0; i < h->n; i++)
        put(o, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, (double)h->bounds[i] / scale,
            (unsigned long long)cum[i]);
    put(o, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum[h->n]);
    put(o, "%s_sum%s%.*s%s %.9f\n", name, *labels ? "{" : "", *labels ? (int)strlen(labels) - 1 : 0,
        labels, *labels ? "}" : "", (double)sum / scale);
    put(o, "%s_count%s%.*s%s %llu\n", name, *labels ? "{" : "",
        *labels ? (int)strlen(labels) - 1 : 0, labels, *labels ? "}" : "",
        (unsigned long long)cum[h->n]);
}

static void hist(out *o, const char *name, const char *labels, const base_hist *h)
{
    hist_scaled(o, name, labels, h, 1e9);
}

/* Where a message waits, the writer's groups, the store's checkpoints. */
static void stage_metrics(out *o, const srv_metrics *m)
{
    char label[64];

    head(o, "cordon_message_stage_seconds", "histogram",
         "Time a sent message spends in each stage, from its frame to its recipients' sockets.");
    for (size_t i = 0; i < SRV_STAGE_COUNT; i++) {
        snprintf(label, sizeof label, "stage=\"%s\",", stage_names[i]);
        hist(o, "cordon_message_stage_seconds", label, &m->stages[i]);
    }
    head(o, "cordon_writer_batch_commits", "histogram",
         "Commits the writer wrote in one group (one transaction, one fsync).");
    hist_scaled(o, "cordon_writer_batch_commits", "", &m->batch_size, 1);
    head(o, "cordon_writer_batch_store_seconds", "histogram",
         "Time one group commit spent in the store, its fsync included.");
    hist(o, "cordon_writer_batch_store_seconds", "", &m->batch_store);
    head(o, "cordon_store_checkpoint_seconds", "histogram",
         "SQLite checkpoints of the write-ahead log: the background thread's (checkpoint), "
         "the writer's inside a commit (finish, backstop).");
    for (size_t i = 0; i < MAINT_COUNT; i++) {
        snprintf(label, sizeof label, "by=\"%s\",", maint_names[i]);
        hist(o, "cordon_store_checkpoint_seconds", label, &m->maint[i]);
    }
}

/* A route's name as a label value: its method and pattern. Patterns are
 * ours (ASCII, no quotes or backslashes), so nothing needs escaping. */
static void route_label(const srv_metrics *m, size_t i, char *buf, size_t n)
{
    if (i >= m->n_routes) {
        snprintf(buf, n, "route=\"none\",");
        return;
    }
    snprintf(buf, n, "route=\"%s %s\",", srv_method_name(srv_routes[i].method),
             srv_routes[i].pattern);
}

static void requests(out *o, const srv_metrics *m)
{
    static const char *const classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    char label[160];

    head(o, "cordon_requests_total", "counter",
         "Requests answered (HTTP and WebSocket), by route and status class.");
    for (size_t i = 0; i <= m->n_routes; i++)
        for (size_t k = 0; k <= N_CLASSES; k++) {
            uint64_t v = atomic_load_explicit(&m->routes[i].by_class[k], memory_order_relaxed);

            if (!v)
                continue;
            route_label(m, i, label, sizeof label);
            put(o, "cordon_requests_total{%scode=\"%s\"} %llu\n", label, classes[k],
                (unsigned long long)v);
        }
    head(o, "cordon_request_duration_seconds", "histogram",
         "From a request's arrival to its answer, by route.");
    for (size_t i = 0; i <= m->n_routes; i++) {
        uint64_t cum[BASE_HIST_MAX + 1], sum;

        base_hist_read(&m->routes[i].latency, cum, &sum);
        if (!cum[m->routes[i].latency.n])
            continue;
        route_label(m, i, label, sizeof label);
        hist(o, "cordon_request_duration_seconds", label, &m->routes[i].latency);
    }
}

static void chat_metrics(out *o, const chat_stats *cs)
{
    head(o, "cordon_guard_verdicts_total", "counter",
         "Messages inspected by the guard, by the verdict of the policy.");
    for (int a = 0; a < GUARD_ACTION_COUNT; a++)
        put(o, "cordon_guard_verdicts_total{action=\"%s\"} %llu\n",
            guard_action_name((guard_action)a),
            (unsigned long long)atomic_load_explicit(&cs->verdicts[a], memory_order_relaxed));
    head(o, "cordon_messages_stored_total", "counter", "Messages stored and delivered.");
    put(o, "cordon_messages_stored_total %llu\n",
        (unsigned long long)atomic_load_explicit(&cs->stored, memory_order_relaxed));
    head(o, "cordon_guard_scan_seconds", "histogram",
         "Time to inspect a message (the text guard and files pasted into it).");
    hist(o, "cordon_guard_scan_seconds", "", &cs->scan);
}

/* The bus between nodes (srv_bus_redis.h), when there is one. */
static void bus_metrics(out *o, srv_bus_redis *busr)
{
    srv_bus_stats st;

    srv_bus_redis_stats(busr, &st);
    head(o, "cordon_bus_published_total", "counter",
         "Messages this node published on the bus (events, control messages).");
    put(o, "cordon_bus_published_total %llu\n", (unsigned long long)st.published);
    head(o, "cordon_bus_dropped_total", "counter",
         "Messages this node could not publish (Redis down, queue full): other nodes resync.");
    put(o, "cordon_bus_dropped_total %llu\n", (unsigned long long)st.dropped);
    head(o, "cordon_bus_received_total", "counter", "Events of other nodes received.");
    put(o, "cordon_bus_received_total %llu\n", (unsigned long long)st.received);
    head(o, "cordon_bus_gaps_total", "counter",
         "Gaps noticed in other nodes' events; each made this node's clients re-read the store.");
    put(o, "cordon_bus_gaps_total %llu\n", (unsigned long long)st.gaps);
    head(o, "cordon_bus_reconnects_total", "counter", "Connections to Redis (re)established.");
    put(o, "cordon_bus_reconnects_total %llu\n", (unsigned long long)st.reconnects);
    head(o, "cordon_bus_lag_seconds", "gauge",
         "Publish to receipt of the last message from another node.");
    put(o, "cordon_bus_lag_seconds %.6f\n", st.lag_seconds);
    head(o, "cordon_bus_lag_max_seconds", "gauge", "The largest bus lag since start.");
    put(o, "cordon_bus_lag_max_seconds %.6f\n", st.lag_max_seconds);
    head(o, "cordon_bus_connected", "gauge", "1 when the publisher and subscriber are connected.");
    put(o, "cordon_bus_connected %d\n", st.connected ? 1 : 0);
    head(o, "cordon_bus_leader", "gauge", "1 when this node holds the timers' leader lease.");
    put(o, "cordon_bus_leader %d\n", st.leader ? 1 : 0);
}

/* One writer per upload (srv_upload_lease.h): takes refused and leases lost. */
static void lease_metrics(out *o, srv *s)
{
    srv_lease_stats st;

    srv_uploads_lease_stats(s, &st);
    head(o, "cordon_upload_leases_taken_total", "counter",
         "Upload leases taken in the shared store (several nodes).");
    put(o, "cordon_upload_leases_taken_total %llu\n", (unsigned long long)st.taken);
    head(o, "cordon_upload_leases_refused_total", "counter",
         "Upload writes refused (423) because another request, here or on another node, wrote it.");
    put(o, "cordon_upload_leases_refused_total %llu\n", (unsigned long long)st.refused);
    head(o, "cordon_upload_leases_lost_total", "counter",
         "Upload leases another node took while this one still wrote (the store was out of "
         "reach longer than the lease).");
    put(o, "cordon_upload_leases_lost_total %llu\n", (unsigned long long)st.lost);
    head(o, "cordon_upload_leases_held", "gauge", "Uploads this node is writing now.");
    put(o, "cordon_upload_leases_held %llu\n", (unsigned long long)st.held);
}

int srv_metrics_render(srv *s, base_buf *b)
{
    out o = {.b = b};

    head(&o, "cordon_build_info", "gauge", "The running version.");
    put(&o, "cordon_build_info{version=\"%s\"} 1\n", CORDON_VERSION);
    head(&o, "cordon_connections", "gauge", "Open HTTP and WebSocket connections.");
    put(&o, "cordon_connections %zu\n", s->n_conns);
    head(&o, "cordon_websockets", "gauge", "Authenticated WebSockets in the registry.");
    put(&o, "cordon_websockets %zu\n", s->registry ? s->registry->ops->count(s->registry) : 0);
    head(&o, "cordon_worker_queue_depth", "gauge", "Requests waiting for a worker thread.");
    put(&o, "cordon_worker_queue_depth %zu\n", srv_queue_len(&s->jobs));
    head(&o, "cordon_writer_queue_depth", "gauge", "Commits waiting for the writer thread.");
    put(&o, "cordon_writer_queue_depth %zu\n", srv_queue_len(&s->appends));
    head(&o, "cordon_jobs_in_flight", "gauge", "Jobs handed off the loop and not yet back.");
    put(&o, "cordon_jobs_in_flight %ld\n", atomic_load(&s->jobs_in_flight));
    head(&o, "cordon_commits_total", "counter", "Chat commits written by the writer.");
    put(&o, "cordon_commits_total %lld\n", (long long)atomic_load(&s->stat_commits));
    if (s->chat.stats)
        chat_metrics(&o, s->chat.stats);
    if (s->busr)
        bus_metrics(&o, s->busr);
    if (s->uploads)
        lease_metrics(&o, s);
    if (s->metrics) {
        requests(&o, s->metrics);
        stage_metrics(&o, s->metrics);
    }
    return o.rc;
}

/* ---- the listener ------------------------------------------------------------- */

typedef struct metrics_pss {
    base_buf body;
    size_t sent;
} metrics_pss;

static int answer_status(struct lws *wsi, unsigned status, const char *type, size_t len)
{
    unsigned char hbuf[LWS_PRE + 512], *start = hbuf + LWS_PRE, *p = start,
                                       *end = hbuf + sizeof hbuf - 1;

    if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return 0;
}

static int metrics_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                            size_t len)
{
    srv *s = lws_context_user(lws_get_context(wsi));
    metrics_pss *pss = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;

        if (!pss)
            return -1;
        base_buf_init(&pss->body, 16u << 20);
        pss->sent = 0;
        if (!get || strcmp((const char *)in, "/metrics")) {
            if (answer_status(wsi, 404, "text/plain", 0))
                return -1;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        if (srv_metrics_render(s, &pss->body)) {
            SRV_ERROR("metrics", "out of memory");
            return -1;
        }
        if (answer_status(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", pss->body.len))
            return -1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        size_t left, n;
        int final;

        if (!pss || !pss->body.p)
            return 0;
        left = pss->body.len - pss->sent;
        n = left > 16384 ? 16384 : left;
        final = n == left;
        /* lws_write wants LWS_PRE bytes of headroom before the data. */
        {
            unsigned char chunk[LWS_PRE + 16384];

            memcpy(chunk + LWS_PRE, pss->body.p + pss->sent, n);
            if (lws_write(wsi, chunk + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
                (int)n)
                return -1;
        }
        pss->sent += n;
        if (!final) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        base_buf_free(&pss->body);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss)
            base_buf_free(&pss->body);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols metrics_protocols[] = {
    {"cordon-metrics", metrics_callback, sizeof(metrics_pss), 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int srv_metrics_listen(srv *s)
{
    const srv_config *cfg = s->cfg;
    struct lws_context_creation_info info;
    struct lws_vhost *vh;
    const char *iface = cfg->metrics_host;

    if (!cfg->metrics_host)
        return 0;
    memset(&info, 0, sizeof info);
    if (!strcmp(iface, "*") || !strcmp(iface, "0.0.0.0") || !strcmp(iface, "::"))
        iface = NULL;
    info.vhost_name = "metrics";
    info.port = cfg->metrics_port;
    info.iface = iface;
    info.protocols = metrics_protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (iface && !strchr(iface, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    vh = lws_create_vhost(s->lws, &info);
    if (!vh) {
        SRV_ERROR("metrics", "cannot listen on %s:%d", cfg->metrics_host, cfg->metrics_port);
        return -1;
    }
    fprintf(stderr, "cordon: metrics on http://%s:%d/metrics\n", cfg->metrics_host,
            lws_get_vhost_listen_port(vh));
    fflush(stderr);
    return 0;
}
