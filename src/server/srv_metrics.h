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

/* Where a message waits (docs/SERVER.md, "Metrics"): the stages of a sent
 * message, each a histogram of its own (cordon_message_stage_seconds).
 * Times are CLOCK_MONOTONIC (base_now_ns) taken as the message passes. */
typedef enum srv_stage {
    SRV_STAGE_QUEUE,        /* frame or request received -> a worker starts on it */
    SRV_STAGE_PLAN,         /* the worker's plan: authorise, inspect, decide */
    SRV_STAGE_WRITER_QUEUE, /* handed to the writer -> its group's commit starts */
    SRV_STAGE_COMMIT,       /* its group's commit: the transaction and its fsync */
    SRV_STAGE_PUBLISH,      /* commit end -> answer built and handed to the loop */
    SRV_STAGE_ANSWER,       /* commit end -> message.ack written to the sender's socket */
    SRV_STAGE_FANOUT,       /* commit end -> message.new written to a recipient's socket */
    SRV_STAGE_TOTAL,        /* frame received -> message.ack written (the server's part) */
    SRV_STAGE_COUNT
} srv_stage;

/* One observation of a stage, in nanoseconds. Any thread. */
void srv_metrics_stage(srv_metrics *m, srv_stage stage, uint64_t ns);

/* The writer ran one group commit of n commits that took store_ns inside
 * the store (cordon_writer_batch_*). Writer thread. */
void srv_metrics_batch(srv_metrics *m, size_t n, uint64_t store_ns);

/* A store housekeeping step (store_options.on_maint: "checkpoint",
 * "finish", "backstop") took ns (cordon_store_checkpoint_seconds). Any
 * thread. */
void srv_metrics_maint(srv_metrics *m, const char *what, uint64_t ns);

/* The whole exposition (text format 0.0.4) into out: the counters above,
 * the chat domain's (messages and verdicts, chat_stats in chat.h) and the
 * gauges read from s now (connections, queue depths). Loop thread.
 * Returns 0, or -1 when out of memory. */
int srv_metrics_render(srv *s, base_buf *out);

/* Loop: starts the metrics listener when cfg->metrics_listen is set.
 * Returns 0, or -1 (logged) when it cannot listen. */
int srv_metrics_listen(srv *s);

#endif
