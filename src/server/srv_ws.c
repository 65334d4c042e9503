/*
 * srv_ws.c — the WebSocket side: authentication at the upgrade, incoming
 * frames, writing a connection's outbound queue (srv_conn.c) when the socket
 * takes it. Attaches a socket to the registry when it opens and detaches it
 * when lws closes it.
 */
#include "srv_registry.h"
#include "srv_handlers.h"
#include "chat/chat_json.h"
#include "srv_log.h"
#include "srv_metrics.h"
#include "srv_origin.h"
#include "srv_conn.h"
#include "srv_http.h"
#include "srv_pool.h"
#include "srv_req.h"

#include "base/base_hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_BURST 32 /* frames per writeable callback while the socket takes them */

/* ---- authentication at the upgrade --------------------------------------- */

/* Returns 0, or the HTTP status to refuse the upgrade with. */
static int authenticate(srv *s, struct lws *wsi, srv_conn **out)
{
    char uri[64], origin[256], host[256];
    char *token = NULL;
    bool cookie = false;
    store_session sess = {0};
    store_user user = {0};
    srv_conn *c = NULL;
    int rc = HTTP_STATUS_UNAUTHORIZED, arc;

    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 ||
        (strcmp(uri, "/api/v1/ws") && strcmp(uri, "/api/v1/ws/"))) {
        SRV_INFO("ws", "upgrade refused: not /api/v1/ws");
        goto fail;
    }
    token = srv_http_token(wsi, true, &cookie);
    if (!token) {
        SRV_INFO("ws", "upgrade refused: no token");
        goto fail;
    }
    /* Cross-site WebSocket hijacking: any page can open a socket to us and
     * the browser adds the cookie; only our pages (and configured origins)
     * may. A browser always sends Origin with an upgrade; a bearer or
     * ?token= credential is one no other site holds. */
    srv_http_origin(wsi, origin, sizeof origin, host, sizeof host);
    if (cookie && origin[0] &&
        !srv_origin_allowed(origin, host, s->cfg->allowed_origins, s->cfg->n_allowed_origins)) {
        SRV_INFO("ws", "upgrade refused: cookie from another origin");
        rc = HTTP_STATUS_FORBIDDEN;
        goto fail;
    }
    arc = acct_session_check(s->st, token, srv_now_ms(), &sess, &user);
    if (arc != ACCT_OK) {
        SRV_INFO("ws", "upgrade refused: %s", acct_strerror(arc));
        goto fail;
    }
    if (user.disabled || user.must_change_password ||
        (s->cfg->totp_required[user.role] && !user.totp_enabled)) {
        SRV_INFO("ws", "upgrade refused: user=%lld must change password or enrol TOTP",
                 (long long)user.id);
        if (!user.disabled)
            rc = HTTP_STATUS_FORBIDDEN;
        goto fail;
    }
    c = srv_conn_new(s, wsi);
    if (!c)
        goto fail;
    c->is_ws = true;
    c->user_id = user.id;
    c->session_id = sess.id;
    c->expires_at = sess.expires_at;
    c->role = (int)user.role;
    snprintf(c->login, sizeof c->login, "%s", user.login ? user.login : "");
    *out = c;
    rc = 0;
fail:
    free(token);
    store_session_clear(&sess);
    store_user_clear(&user);
    return rc;
}

static void send_hello(srv *s, srv_conn *c)
{
    store_user user = {0};
    json_t *o;
    srv_buf *b;

    if (store_user_get(s->st, c->user_id, &user) != STORE_OK) {
        srv_conn_close_after(c, NULL, 1011, "store");
        return;
    }
    o = json_pack("{s:o,s:I,s:I}", "user", chat_json_user(&user, true), "session_id",
                  (json_int_t)c->session_id, "server_time", (json_int_t)srv_now_ms());
    b = srv_event_buf("hello", o);
    if (b) {
        srv_conn_push(c, b);
        srv_buf_unref(b);
    }
    store_user_clear(&user);
}

/* ---- incoming frames ------------------------------------------------------ */

static void reply_error(srv_conn *c, json_t *req, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    srv_buf *b;

    if (o && req)
        json_object_set(o, "req", req);
    b = srv_event_buf("error", o);
    if (b) {
        srv_conn_push(c, b);
        srv_buf_unref(b);
    }
}

static void frame(srv *s, srv_conn *c, const char *data, size_t len)
{
    json_t *o = json_loadb(data, len, 0, NULL), *req, *id;
    const srv_route *route;
    const char *type;
    srv_req *r = NULL;

    if (!o || !json_is_object(o)) {
        reply_error(c, NULL, "bad_request", "a frame is one JSON object");
        goto out;
    }
    type = json_string_value(json_object_get(o, "type"));
    req = json_object_get(o, "req");
    if (req && !json_is_integer(req))
        req = NULL;
    if (!type) {
        reply_error(c, req, "bad_request", "type missing");
        goto out;
    }
    if (!strcmp(type, "ping")) {
        /* Answered here, without the pool, but from the same bucket as every
         * other frame: a flood of pings is a flood. */
        int retry = srv_rate_request(s->rate, c->session_id, srv_now_ms());
        json_t *p;
        srv_buf *b;

        if (retry) {
            char msg[64];

            snprintf(msg, sizeof msg, "too many requests; retry in %d s", retry);
            reply_error(c, req, "rate_limited", msg);
            goto out;
        }
        p = req ? json_pack("{s:O}", "req", req) : json_object();
        b = srv_event_buf("pong", p);

        if (b) {
            srv_conn_push(c, b);
            srv_buf_unref(b);
        }
        goto out;
    }
    /* The same route table as HTTP: the frame names its route. */
    route = srv_route_by_frame(srv_routes, srv_n_routes, type);
    if (!route) {
        reply_error(c, req, "bad_request", "unknown frame type");
        goto out;
    }
    id = json_object_get(o, route->ws_id);
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        char msg[96];

        snprintf(msg, sizeof msg, "%s missing", route->ws_id);
        reply_error(c, req, "bad_request", msg);
        goto out;
    }
    r = srv_req_new(s, c);
    if (!r) {
        reply_error(c, req, "internal", "out of memory");
        goto out;
    }
    r->ws = true;
    r->ws_has_req = req != NULL;
    r->ws_req = req ? json_integer_value(req) : 0;
    r->ws_ok_type = route->ws_ack;
    r->method = route->method;
    r->route = route;
    r->ids[0] = json_integer_value(id);
    /* The identity the socket authenticated with (srv_api.c trusts it). */
    r->user.id = c->user_id;
    r->user.role = (store_role)c->role;
    r->user.login = strdup(c->login);
    r->sess.id = c->session_id;
    r->json = o; /* the worker reads the fields; ownership moves with the job */
    o = NULL;
    if (srv_pool_submit(s, &r->job)) {
        reply_error(c, req, "unavailable", "server busy, retry");
        goto out;
    }
    r = NULL;
out:
    if (r)
        srv_req_free(r);
    json_decref(o);
}

static int receive(srv *s, srv_conn *c, struct lws *wsi, const char *in, size_t len)
{
    size_t max = s->cfg->limits.max_message_bytes + 4096;

    if (lws_frame_is_binary(wsi)) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, (unsigned char *)"text only",
                         9);
        return -1;
    }
    if (lws_is_first_fragment(wsi))
        c->rx_len = 0;
    if (c->rx_len + len > max) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too large", 9);
        return -1;
    }
    if (lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi) &&
        !lws_remaining_packet_payload(wsi)) {
        /* The common case: a whole frame in one piece, no copy. */
        if (!c->closing)
            frame(s, c, in, len);
        return 0;
    }
    if (c->rx_len + len > c->rx_cap) {
        size_t ncap = c->rx_cap ? c->rx_cap : 1024;
        char *nb;

        while (ncap < c->rx_len + len)
            ncap *= 2;
        if (ncap > max)
            ncap = max;
        nb = realloc(c->rx, ncap);
        if (!nb)
            return -1;
        c->rx = nb;
        c->rx_cap = ncap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
        if (!c->closing)
            frame(s, c, c->rx, c->rx_len);
        c->rx_len = 0;
        /* Big frames are rare: give the memory back. */
        if (c->rx_cap > 4096) {
            free(c->rx);
            c->rx = NULL;
            c->rx_cap = 0;
        }
    }
    return 0;
}

/* A sent message's frame went to the kernel: its last stages (srv_metrics.h). */
static void message_written(srv *s, const srv_buf *b)
{
    uint64_t now = base_now_ns();

    if (b->t_recv_ns) { /* the sender's message.ack */
        srv_metrics_stage(s->metrics, SRV_STAGE_ANSWER, now - b->t_commit_ns);
        srv_metrics_stage(s->metrics, SRV_STAGE_TOTAL, now - b->t_recv_ns);
    } else
        srv_metrics_stage(s->metrics, SRV_STAGE_FANOUT, now - b->t_commit_ns);
}

static int writeable(srv_conn *c, struct lws *wsi)
{
    for (int i = 0; i < WRITE_BURST && c->q_len; i++) {
        srv_buf *b = c->q[c->q_head];
        int n = lws_write(wsi, srv_buf_payload(b), b->len, LWS_WRITE_TEXT);

        if (b->t_commit_ns && n >= 0)
            message_written(c->srv, b);

        c->q_head = (c->q_head + 1) & (c->q_cap - 1);
        c->q_len--;
        c->q_bytes -= b->len;
        srv_buf_unref(b);
        if (n < 0)
            return -1;
        /* Stop when the kernel took only part of that frame (lws keeps the
         * rest). Not lws_send_pipe_choked(): it polls the socket, one
         * poll() per frame written, 20,000 a second at 5,000 msgs/s. */
        if (lws_partial_buffered(wsi))
            break;
    }
    if (c->q_len) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    /* Give an emptied big ring back so idle connections stay small. */
    if (c->q_cap > 64) {
        free(c->q);
        c->q = NULL;
        c->q_cap = 0;
        c->q_head = 0;
    }
    if (c->close_code) {
        const char *rs = c->close_reason ? c->close_reason : "";

        lws_close_reason(wsi, (enum lws_close_status)c->close_code, (unsigned char *)rs,
                         strlen(rs));
        return -1;
    }
    return 0;
}

typedef struct srv_pss {
    srv_conn *conn;
} srv_pss;

int srv_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    srv *s = lws_context_user(lws_get_context(wsi));
    srv_pss *pss = user;
    srv_conn *c = pss ? pss->conn : NULL;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (!pss || s->stopping || s->n_conns >= s->cfg->limits.max_connections)
            return -1;
        if (c) {
            /* An HTTP keep-alive connection that now upgrades: its HTTP
             * state goes, the WebSocket gets a fresh one. */
            c->wsi = NULL;
            srv_conn_unref(c);
            pss->conn = NULL;
        }
        {
            int st = authenticate(s, wsi, &pss->conn);

            if (st) {
                /* A plain HTTP answer, so clients see 401/403 rather than a reset. */
                lws_return_http_status(wsi, (unsigned int)st, NULL);
                return -1;
            }
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        if (!c)
            return -1;
        s->registry->ops->attach(s->registry, c);
        SRV_DEBUG("ws", "open user=%lld session=%lld", (long long)c->user_id,
                  (long long)c->session_id);
        send_hello(s, c);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!c)
            return -1;
        return receive(s, c, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!c)
            return -1;
        return writeable(c, wsi);
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        /* WSI_DESTROY is lws' last word on every wsi, HTTP or WebSocket,
         * including those it tears down without CLOSED (a failed upgrade,
         * lws_context_destroy at shutdown): whatever still holds a conn
         * lets go of it here, so no conn outlives its wsi. */
        if (c) {
            if (c->is_ws)
                s->registry->ops->detach(s->registry, c);
            c->wsi = NULL;
            pss->conn = NULL;
            srv_conn_unref(c);
        }
        return 0;
    default:
        return 0;
    }
}
