/*
 * srv_conn.c — a connection's life (references) and its bounded outbound
 * queue (srv_conn.h). Calls nothing above it: the registry and the
 * WebSocket callback call in.
 *
 * The outbound queue is a ring of srv_buf references that grows from 8 up
 * to limits.ws_queue_events slots and is also capped in bytes. A consumer
 * that falls behind by more than that is not buffered further: its queue is
 * dropped, it gets {"type":"resync"} and is closed (4002); it re-reads
 * history after reconnecting. Server memory therefore never depends on how
 * slowly a client reads.
 *
 * Closing (srv_conn_close_after) only marks the connection and asks lws for
 * a write; the registry keeps it until lws reports the close (srv_ws.c), and
 * nothing more is queued meanwhile.
 */
#include "srv_conn.h"

#include "srv_log.h"
#include "srv_req.h"

#include <stdlib.h>

#define Q_MIN 8

srv_conn *srv_conn_new(srv *s, struct lws *wsi)
{
    srv_conn *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->refs = 1;
    c->wsi = wsi;
    c->srv = s;
    s->n_conns++;
    return c;
}

srv_conn *srv_conn_ref(srv_conn *c)
{
    c->refs++;
    return c;
}

static void queue_clear(srv_conn *c)
{
    while (c->q_len) {
        srv_buf_unref(c->q[c->q_head]);
        c->q_head = (c->q_head + 1) & (c->q_cap - 1);
        c->q_len--;
    }
    c->q_bytes = 0;
}

void srv_conn_unref(srv_conn *c)
{
    if (!c || --c->refs)
        return;
    queue_clear(c);
    free(c->q);
    free(c->rx);
    free(c->up_pre);
    if (c->req)
        srv_req_free(c->req);
    c->srv->n_conns--;
    free(c);
}

static int enqueue(srv_conn *c, srv_buf *b)
{
    if (c->q_len == c->q_cap) {
        uint32_t ncap = c->q_cap ? c->q_cap * 2 : Q_MIN;
        srv_buf **nq;

        nq = malloc(ncap * sizeof *nq);
        if (!nq)
            return -1;
        for (uint32_t i = 0; i < c->q_len; i++)
            nq[i] = c->q[(c->q_head + i) & (c->q_cap - 1)];
        free(c->q);
        c->q = nq;
        c->q_head = 0;
        c->q_cap = ncap;
    }
    c->q[(c->q_head + c->q_len) & (c->q_cap - 1)] = srv_buf_ref(b);
    c->q_len++;
    c->q_bytes += b->len;
    return 0;
}

void srv_conn_close_after(srv_conn *c, srv_buf *frame, int code, const char *reason)
{
    if (!c->wsi || c->closing)
        return;
    c->closing = true;
    c->close_code = code;
    c->close_reason = reason;
    if (frame && enqueue(c, frame))
        queue_clear(c);
    lws_callback_on_writable(c->wsi);
}

void srv_conn_push(srv_conn *c, srv_buf *b)
{
    const srv_limits *lim = &c->srv->cfg->limits;

    if (!c->wsi || c->closing)
        return;
    if (c->q_len >= lim->ws_queue_events || c->q_bytes + b->len > lim->ws_queue_bytes ||
        enqueue(c, b)) {
        SRV_INFO("ws", "slow consumer: user=%lld queue=%u events %zu bytes; resync",
                 (long long)c->user_id, c->q_len, c->q_bytes);
        queue_clear(c);
        srv_conn_close_after(c, c->srv->resync_frame, 4002, "resync");
        return;
    }
    if (c->q_len == 1)
        lws_callback_on_writable(c->wsi);
}
