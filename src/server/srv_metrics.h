/*
 * srv_metrics.h — the server's Prometheus metrics (srv_metrics.c): counters
 * and latency histograms kept with atomics, exposed in the text format at
 * /metrics on a listener of its own (`metrics_listen` in cordon.yaml),
 * never on the public one.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/base_buf.h"

typedef struct srv srv;
typedef struct srv_metrics srv_metrics;

/* For n_routes routes (srv_routes). NULL when out of memory. */
srv_metrics *srv_metrics_new(size_t n_routes);
void srv_metrics_free(srv_metrics *m);

/* A request was answered: route index (or (size_t)-1: no route matched, or
 * the web client's files), HTTP status (or the WebSocket reply's), and
 * how long from its arrival to its answer, in nanoseconds. Any thread. */
void srv_metrics_request(srv_metrics *m, size_t route, int status, uint64_t ns);

/* The whole exposition (text format 0.0.4) into out: the counters above,
 * the chat domain's (messages and verdicts, chat_stats in chat.h) and the
 * gauges read from s now (connections, queue depths). Loop thread.
 * Returns 0, or -1 when out of memory. */
int srv_metrics_render(srv *s, base_buf *out);

/* Loop: starts the metrics listener when cfg->metrics_listen is set.
 * Returns 0, or -1 (logged) when it cannot listen. */
int srv_metrics_listen(srv *s);

#endif
