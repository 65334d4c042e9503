/*
 * bench_bus.c — the bus between nodes (src/server/srv_bus_redis.c) against
 * a real redis-server: two bus instances in one process stand for two
 * nodes; node A publishes events whose wire frame is `frame` bytes, node
 * B's subscriber holds the users they go to.
 *
 *   bench_bus URL flood N FRAME   N events as fast as A takes them: events/s
 *                                 delivered on B, bytes on the bus per event
 *   bench_bus URL paced RATE SECS FRAME
 *                                 RATE events/s for SECS: publish → delivery
 *                                 latency on B (p50, p99, max)
 *
 * bench/bus/run.sh starts Redis and prints these next to redis-benchmark's
 * PUBLISH figure for the same payload size from the same run.
 */
#include "server/srv_bus_redis.h"

#include "../bench_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct sink {
    chat_sub base; /* first */
    atomic_size_t got;
    uint64_t *sent_at; /* by event number (conv_id) */
    uint64_t *lat;     /* ns, by arrival */
    size_t cap;
} sink;

static char *frame;

static void deliver(chat_sub *s, const chat_event *ev, const int64_t *users, size_t n)
{
    sink *k = (sink *)s;
    size_t i = atomic_fetch_add(&k->got, 1);

    (void)users;
    (void)n;
    if (k->lat && i < k->cap && ev->conv_id >= 0 && (size_t)ev->conv_id < k->cap)
        k->lat[i] = bench_now_ns() - k->sent_at[ev->conv_id];
}

static char *wire(void *arg, const chat_event *ev)
{
    (void)arg;
    (void)ev;
    return strdup(frame);
}

static srv_bus_redis *node(const char *url, const char *name, size_t max_queue)
{
    srv_bus_opts o = {.url = url, .node = name, .prefix = "bench", .max_queue = max_queue};
    srv_bus_hooks h = {.wire = wire};
    srv_bus_redis *b;
    char err[256];

    if (srv_bus_redis_new(&o, &h, &b, err, sizeof err)) {
        fprintf(stderr, "bench_bus: %s\n", err);
        exit(2);
    }
    return b;
}

static void publish(srv_bus_redis *a, int64_t i)
{
    static const int64_t users[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    chat_event ev = {.type = CHAT_EV_CONVERSATION,
                     .audience = CHAT_TO_USERS,
                     .conv_id = i,
                     .users = users,
                     .n_users = 10};

    chat_publish(srv_bus_redis_chat(a), &ev);
}

/* CPU time of this process (both nodes' threads), in microseconds. */
static double cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static void wait_ready(srv_bus_redis *a, srv_bus_redis *b)
{
    for (int i = 0; i < 100 && !(srv_bus_redis_ready(a) && srv_bus_redis_ready(b)); i++)
        usleep(100000);
}

int main(int argc, char **argv)
{
    srv_bus_redis *a, *b;
    sink k = {.base.deliver = deliver};
    srv_bus_stats sa, sb;
    size_t n, fl;
    int paced;

    if (argc < 5) {
        fprintf(stderr, "usage: bench_bus URL flood N FRAME | URL paced RATE SECS FRAME\n");
        return 2;
    }
    paced = !strcmp(argv[2], "paced");
    n = paced ? (size_t)atol(argv[3]) * (size_t)atol(argv[4]) : (size_t)atol(argv[3]);
    fl = (size_t)atol(argv[paced ? 5 : 4]);
    frame = malloc(fl + 1);
    memset(frame, 'x', fl);
    memcpy(frame, "{\"type\":\"message.new\",\"message\":\"", 34 < fl ? 34 : fl);
    frame[fl] = 0;
    a = node(argv[1], "a", n + 1);
    b = node(argv[1], "b", 1024);
    for (int64_t u = 1; u <= 10; u++)
        chat_subscribe(srv_bus_redis_chat(b), &k.base, CHAT_TOPIC_USER, u);
    wait_ready(a, b);
    if (!paced) {
        uint64_t t0 = bench_now_ns(), t1;
        double c0 = cpu_us(), c1;

        for (size_t i = 0; i < n; i++)
            publish(a, (int64_t)i);
        while (atomic_load(&k.got) < n && bench_now_ns() - t0 < 60ull * 1000000000)
            usleep(1000);
        t1 = bench_now_ns();
        c1 = cpu_us();
        srv_bus_redis_stats(a, &sa);
        srv_bus_redis_stats(b, &sb);
        printf("flood: %zu events of %zu-byte frames, %zu delivered on B in %.3f s: %.0f events/s; "
               "dropped %llu, gaps %llu\n",
               n, fl, atomic_load(&k.got), (double)(t1 - t0) / 1e9,
               (double)atomic_load(&k.got) / ((double)(t1 - t0) / 1e9),
               (unsigned long long)sa.dropped, (unsigned long long)sb.gaps);
        /* Both nodes in this process: half is one node's publish or
         * receive side, roughly; the split is not measured here. */
        printf("cpu: %.1f us per event for publishing node + receiving node together\n",
               (c1 - c0) / (double)n);
    } else {
        uint64_t period = 1000000000ull / (uint64_t)atol(argv[3]), t0;

        k.cap = n;
        k.sent_at = calloc(n, sizeof *k.sent_at);
        k.lat = calloc(n, sizeof *k.lat);
        t0 = bench_now_ns();
        for (size_t i = 0; i < n; i++) {
            uint64_t due = t0 + i * period, now;

            while ((now = bench_now_ns()) < due)
                if (due - now > 200000)
                    usleep(100);
            k.sent_at[i] = bench_now_ns();
            publish(a, (int64_t)i);
        }
        for (int i = 0; i < 500 && atomic_load(&k.got) < n; i++)
            usleep(10000);
        {
            size_t got = atomic_load(&k.got);

            bench_sort_u64(k.lat, got);
            printf("paced: %s events/s for %s s, %zu-byte frames, %zu of %zu delivered; "
                   "latency p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                   argv[3], argv[4], fl, got, n,
                   (double)bench_quantile_sorted(k.lat, got, 0.5) / 1e6,
                   (double)bench_quantile_sorted(k.lat, got, 0.99) / 1e6,
                   (double)k.lat[got ? got - 1 : 0] / 1e6);
        }
    }
    srv_bus_redis_free(a);
    srv_bus_redis_free(b);
    free(k.sent_at);
    free(k.lat);
    free(frame);
    return 0;
}
