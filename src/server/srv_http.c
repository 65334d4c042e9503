/*
 * srv_http.c — the HTTP side of the libwebsockets protocol: receive a
 * request (bounded body), hand it to the pool, write the answer when the
 * job comes back.
 *
 * One request per connection at a time (HTTP/1.1 keep-alive is serial; an
 * HTTP/2 stream is its own wsi). The answer is built off the loop; here it
 * is only framed with headers and written.
 */
#include "srv_handlers.h"
#include "srv_log.h"
#include "srv_origin.h"
#include "srv_conn.h"
#include "srv_http.h"
#include "srv_pool.h"
#include "srv_req.h"
#include "srv_upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct srv_pss {
    srv_conn *conn;
} srv_pss;

char *srv_http_token(struct lws *wsi, bool allow_query, bool *from_cookie)
{
    char buf[512];
    size_t n = sizeof buf;
    const char *v;

    *from_cookie = false;
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        !strncasecmp(buf, "Bearer ", 7)) {
        for (v = buf + 7; *v == ' ';)
            v++;
        if (*v)
            return strdup(v);
    }
    if (!lws_http_cookie_get(wsi, "cordon_session", buf, &n) && n) {
        *from_cookie = true;
        return strdup(buf);
    }
    v = allow_query ? lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf) : NULL;
    if (v && *v)
        return strdup(v);
    return NULL;
}

void srv_http_origin(struct lws *wsi, char *origin, size_t ocap, char *host, size_t hcap)
{
    if (lws_hdr_copy(wsi, origin, (int)ocap, WSI_TOKEN_ORIGIN) <= 0)
        origin[0] = 0;
    if (lws_hdr_copy(wsi, host, (int)hcap, WSI_TOKEN_HOST) <= 0)
        host[0] = 0;
#if defined(LWS_WITH_HTTP2)
    /* HTTP/2 names the host :authority. */
    if (!host[0] && lws_hdr_copy(wsi, host, (int)hcap, WSI_TOKEN_HTTP_COLON_AUTHORITY) <= 0)
        host[0] = 0;
#endif
}

/*
 * Cross-site request forgery: a page elsewhere can make the browser send a
 * POST with the session cookie (a form: text/plain or urlencoded, no
 * preflight). Refused, for every request that changes state and does not
 * carry a bearer token (which no other site can add):
 *   - an Origin that is neither ours nor configured (allowed_origins);
 *   - with the cookie, any body type but JSON, which a cross-site page can
 *     only send after a CORS preflight this server never grants.
 * Safe methods (GET, HEAD, OPTIONS) change nothing and pass.
 */
static void csrf_check(srv *s, struct lws *wsi, srv_req *r, bool bearer, bool cookie)
{
    char origin[256], host[256], ctype[128];

    if (bearer || r->method == SRV_GET || r->method == SRV_HEAD || r->method == SRV_OPTIONS)
        return;
    srv_http_origin(wsi, origin, sizeof origin, host, sizeof host);
    if (origin[0] &&
        !srv_origin_allowed(origin, host, s->cfg->allowed_origins, s->cfg->n_allowed_origins)) {
        r->refused_code = "origin_refused";
        r->refused_msg = "requests from another site are refused";
        return;
    }
    if (lws_hdr_copy(wsi, ctype, sizeof ctype, WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
        ctype[0] = 0;
    /* A tus request carries Tus-Resumable, a header no form can send and
     * a cross-site page only after a preflight this server never grants:
     * the same protection as the JSON rule. */
    if (cookie && !srv_content_type_json(ctype) && !(r->up && r->up->has_resumable)) {
        r->refused_code = "json_required";
        r->refused_msg = "a request signed in by cookie must send Content-Type: application/json";
    }
}

void srv_http_peer(struct lws *wsi, char *out, size_t cap)
{
    out[0] = 0;
    lws_get_peer_simple(wsi, out, cap);
}

static srv_method method_of(struct lws *wsi, char **uri, int *ulen)
{
    switch (lws_http_get_uri_and_method(wsi, uri, ulen)) {
    case LWSHUMETH_GET:
        return SRV_GET;
    case LWSHUMETH_POST:
        return SRV_POST;
    case LWSHUMETH_PUT:
        return SRV_PUT;
    case LWSHUMETH_PATCH:
        return SRV_PATCH;
    case LWSHUMETH_DELETE:
        return SRV_DELETE;
    case LWSHUMETH_OPTIONS:
        return SRV_OPTIONS;
    case LWSHUMETH_HEAD:
        return SRV_HEAD;
    default:
        return SRV_METHOD_OTHER;
    }
}

/* The query string, rebuilt from lws' url-decoded fragments. A fragment
 * may be as long as the whole header buffer (max_http_header_data): one
 * that did not fit here would vanish silently (an export's reason). */
static char *query_of(struct lws *wsi)
{
    char frag[4096], *q = NULL;
    size_t len = 0;

    for (int i = 0; i < 32; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        char *nq;

        if (n <= 0)
            break;
        nq = realloc(q, len + (size_t)n + 2);
        if (!nq)
            break;
        q = nq;
        if (len)
            q[len++] = '&';
        memcpy(q + len, frag, (size_t)n);
        len += (size_t)n;
        q[len] = 0;
    }
    return q;
}

/* Answers without going through the pool (413, 503, 400 before routing). */
static void answer_now(srv_conn *c, srv_req *r, int status, const char *code, const char *msg)
{
    srv_error(r, status, code, "%s", msg);
    srv_req_serialise(r);
    srv_req_free(c->req == r ? NULL : c->req);
    c->req = r;
    c->req_in_flight = false;
    lws_callback_on_writable(c->wsi);
}

static void dispatch(srv *s, srv_conn *c)
{
    srv_req *r = c->req;

    c->req = NULL;
    c->req_in_flight = true;
    if (s->stopping) {
        answer_now(c, r, 503, "unavailable", "the server is shutting down");
        return;
    }
    r->job.conn = srv_conn_ref(c);
    if (srv_pool_submit(s, &r->job)) {
        srv_conn_unref(c);
        r->job.conn = NULL;
        answer_now(c, r, 503, "unavailable", "the server is busy, retry");
        return;
    }
}

static int begin(srv *s, srv_pss *pss, struct lws *wsi, const char *in)
{
    srv_conn *c = pss->conn;
    srv_req *r;
    char *uri = NULL, clen[32];
    int ulen = 0;
    bool cookie = false;

    if (!c) {
        if (s->n_conns >= s->cfg->limits.max_connections)
            return -1;
        c = pss->conn = srv_conn_new(s, wsi);
        if (!c)
            return -1;
    }
    if (c->req_in_flight || c->req) {
        /* A second request before the first was answered (pipelining). */
        return -1;
    }
    /* A request parked in c->req holds no reference on c (that would be a
     * cycle); it takes one when it goes to the pool (dispatch). */
    r = srv_req_new(s, NULL);
    if (!r)
        return -1;
    c->req = r;
    r->method = method_of(wsi, &uri, &ulen);
    r->path = strdup(in ? in : "/");
    r->query = query_of(wsi);
    r->token = srv_http_token(wsi, false, &cookie);
    if (r->path && !strncmp(r->path, SRV_TUS_PREFIX, strlen(SRV_TUS_PREFIX)) &&
        (!r->path[strlen(SRV_TUS_PREFIX)] || r->path[strlen(SRV_TUS_PREFIX)] == '/'))
        r->up = srv_upstream_new(s, wsi, r->method);
    if (r->path && !strncmp(r->path, "/api/v1/files/", 14) &&
        lws_hdr_copy(wsi, r->range, sizeof r->range, WSI_TOKEN_HTTP_RANGE) < 0)
        r->range[0] = 0;
    csrf_check(s, wsi, r, r->token && !cookie, cookie);
    srv_http_peer(wsi, r->address, sizeof r->address);
    if (lws_hdr_copy(wsi, r->user_agent, sizeof r->user_agent, WSI_TOKEN_HTTP_USER_AGENT) < 0)
        r->user_agent[0] = 0;
    if (!r->path) {
        answer_now(c, r, 500, "internal", "out of memory");
        return 0;
    }
    /* Everything outside /api/ is the web client (srv_static.c). */
    if (strncmp(r->path, "/api/", 5) && strcmp(r->path, "/api"))
        r->job.work = srv_static_work;
    if (!strcmp(r->path, "/api/v1/ws")) {
        answer_now(c, r, 400, "bad_request", "this endpoint is a WebSocket: send an upgrade");
        return 0;
    }
    if (r->up && r->up->framing_bad) {
        /* Content-Length and Transfer-Encoding, or a coding other than
         * chunked (srv_upload.h): where the body ends is not known, so it
         * is refused unread and the connection closed */
        r->close_after = true;
        answer_now(c, r, r->up->framing_bad,
                   r->up->framing_bad == 400 ? "bad_framing" : "transfer_coding",
                   r->up->framing_bad == 400 ? "Content-Length and Transfer-Encoding together"
                                             : "the only transfer coding accepted is chunked");
        return 0;
    }
    if (r->up && r->up->stream) {
        /* An upload's body goes to its staging file, never into r->body:
         * rx waits while a worker says whether it may (srv_upload.h). */
        if (r->refused_code) {
            c->up_body_done = false;
            srv_http_refuse_body(c, r);
            answer_now(c, r, 403, r->refused_code, r->refused_msg);
            return 0;
        }
        lws_rx_flow_control(wsi, 0);
        c->up_wait = true;
        c->up_body_done = false;
        dispatch(s, c);
        return 0;
    }
    if (lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        strtoull(clen, NULL, 10) > 0) {
        /* lws reads the body only after this callback returns. */
        if (strtoull(clen, NULL, 10) > s->cfg->limits.max_body_bytes)
            r->body_too_large = true;
        /* Wait for LWS_CALLBACK_HTTP_BODY_COMPLETION. */
        return 0;
    }
    dispatch(s, c);
    return 0;
}

static int body(srv *s, srv_conn *c, const char *in, size_t len)
{
    srv_req *r = c ? c->req : NULL;

    if (!r && c && c->up_wait) {
        /* lws had read these with the headers: kept until the worker says
         * whether the upload may go on (at most one buffer). */
        unsigned char *np;

        if (c->up_pre_len + len > SRV_UP_BUF)
            return -1;
        np = realloc(c->up_pre, c->up_pre_len + len);
        if (!np)
            return -1;
        memcpy(np + c->up_pre_len, in, len);
        c->up_pre = np;
        c->up_pre_len += len;
        return 0;
    }
    if (!r)
        /* "Content-Length: 0" announces a body that never comes: the
         * request went to the pool already. */
        return len ? -1 : 0;
    if (r->up && r->up->phase == SRV_UP_BODY) {
        int rc = srv_upstream_feed(r->up, in, len);

        if (rc != 1)
            return rc;
        /* a chunked body ended (lws, which could not measure it, will
         * not say so): phase 2 on a worker; lws reads nothing more
         * until it is answered (the connection closes then) */
        lws_rx_flow_control(c->wsi, 0);
        srv_upstream_end(r->up, false);
        dispatch(s, c);
        return 0;
    }
    if (r->out)
        return 0; /* answered already (the connection closes after it) */
    if (r->body_too_large || r->body_len + len > s->cfg->limits.max_body_bytes) {
        /* Keep reading (and discarding) so the answer can be 413. */
        r->body_too_large = true;
        return 0;
    }
    if (r->body_len + len > r->body_cap) {
        size_t ncap = r->body_cap ? r->body_cap * 2 : 1024;
        char *nb;

        while (ncap < r->body_len + len)
            ncap *= 2;
        nb = realloc(r->body, ncap);
        if (!nb)
            return -1;
        r->body = nb;
        r->body_cap = ncap;
    }
    memcpy(r->body + r->body_len, in, len);
    r->body_len += len;
    return 0;
}

/* Sent with every answer, JSON or file: the web client's policy (it loads
 * nothing from elsewhere, runs no inline script and is never framed), and
 * no MIME sniffing, so a JSON body can never be run as a script. */
static const struct {
    const char *name, *value;
} security_headers[] = {
    {"content-security-policy:",
     "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
     "connect-src 'self'; frame-ancestors 'none'"},
    {"x-content-type-options:", "nosniff"},
    {"referrer-policy:", "no-referrer"},
    {"x-frame-options:", "DENY"},
};

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int write_answer(srv *s, srv_conn *c, struct lws *wsi)
{
    unsigned char hbuf[LWS_PRE + 2048], *start = hbuf + LWS_PRE, *p = start,
                                        *end = hbuf + sizeof hbuf - 1;
    srv_req *r = c->req;
    size_t blen = r->out && r->method != SRV_HEAD ? r->out->len : 0;
    char ra[16];
    int rc = -1;

    (void)s;
    if (r->dl && r->dl_started) {
        /* a download's next piece */
        rc = srv_download_write(r->dl, wsi);
        if (rc == 0) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        goto out;
    }
    if (lws_add_http_common_headers(wsi, (unsigned)r->status,
                                    r->dl             ? r->dl_type
                                    : r->content_type ? r->content_type
                                                      : "application/json",
                                    r->dl    ? (lws_filepos_t)(r->dl->end - r->dl->off)
                                    : r->out ? r->out->len
                                             : 0,
                                    &p, end) ||
        add_header(wsi, "cache-control:", r->cache_control ? r->cache_control : "no-store", &p,
                   end))
        goto out;
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        if (add_header(wsi, security_headers[i].name, security_headers[i].value, &p, end))
            goto out;
    if (r->set_cookie && lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:",
                                                     (const unsigned char *)r->set_cookie,
                                                     (int)strlen(r->set_cookie), &p, end))
        goto out;
    if (r->content_disposition &&
        add_header(wsi, "content-disposition:", r->content_disposition, &p, end))
        goto out;
    if (r->next_cursor && add_header(wsi, "x-cordon-next-cursor:", r->next_cursor, &p, end))
        goto out;
    if (r->retry_after) {
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                        (const unsigned char *)ra, (int)strlen(ra), &p, end))
            goto out;
    }
    for (int i = 0; i < r->n_xh; i++)
        if (add_header(wsi, r->xh[i].name, r->xh[i].value, &p, end))
            goto out;
    if (r->up && add_header(wsi, "access-control-expose-headers:",
                            "Upload-Offset, Location, Upload-Length, Tus-Version, Tus-Resumable, "
                            "Tus-Max-Size, Tus-Extension, Upload-Metadata, Upload-Expires",
                            &p, end))
        goto out;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        goto out;
    if (r->dl) {
        r->dl_started = true;
        if (r->method == SRV_HEAD || r->dl->off == r->dl->end)
            rc = 1;
        else {
            lws_callback_on_writable(wsi);
            return 0;
        }
        goto out;
    }
    if (blen && lws_write(wsi, srv_buf_payload(r->out), blen, LWS_WRITE_HTTP_FINAL) != (int)blen)
        goto out;
    if (srv_log_enabled(SRV_LOG_DEBUG))
        SRV_DEBUG("http", "%s %s -> %d", r->route ? r->route->pattern : "-", r->path ? r->path : "",
                  r->status);
    rc = 0;
out:
    if (rc == 1)
        rc = 0; /* a download finished */
    if (r->close_after)
        rc = -1;
    srv_req_free(r);
    c->req = NULL;
    c->req_in_flight = false;
    if (rc)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void srv_http_refuse_body(srv_conn *c, srv_req *r)
{
    int64_t left = r->up->content_length - (int64_t)c->up_pre_len;

    if (r->up->chunked) {
        /* where a chunked body ends is not known here: close after it */
        r->close_after = true;
        return;
    }
    if (c->up_body_done || left <= 0)
        return; /* all of it is in: the connection lives on */
    if (r->up->content_length > SRV_UP_DRAIN_MAX) {
        r->close_after = true;
        return;
    }
    /* body() drops what comes (r->out is set); BODY_COMPLETION answers.
     * A client that stops sending is closed, not waited for. */
    r->drain = true;
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT, SRV_UP_DRAIN_SECONDS);
}

/* The upload's first phase came back and it may stream: what lws handed
 * over meanwhile goes first (srv_api_finish). -1: close. */
int srv_http_upload_resume(srv *s, srv_conn *c)
{
    srv_req *r = c->req;
    int rc = 0;

    c->up_wait = false;
    if (c->up_pre_len)
        rc = srv_upstream_feed(r->up, c->up_pre, c->up_pre_len);
    free(c->up_pre);
    c->up_pre = NULL;
    c->up_pre_len = 0;
    if (rc < 0)
        return -1;
    if (c->up_body_done || rc == 1) { /* rc 1: a chunked body's end */
        c->up_body_done = false;
        srv_upstream_end(r->up, false);
        dispatch(s, c);
        return 0;
    }
    lws_rx_flow_control(c->wsi, 1);
    return 0;
}

int srv_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    srv *s = lws_context_user(lws_get_context(wsi));
    srv_pss *pss = user;
    srv_conn *c = pss ? pss->conn : NULL;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!pss)
            return -1;
        return begin(s, pss, wsi, in);
    case LWS_CALLBACK_HTTP_BODY:
        return body(s, c, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!c)
            return -1;
        if (c->req && c->req->drain) {
            /* a refused body is all read: now its answer */
            c->req->drain = false;
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (!c->req && c->up_wait) {
            c->up_body_done = true; /* the first phase is still out */
            return 0;
        }
        if (c->req && c->req->up && c->req->up->phase == SRV_UP_BODY) {
            /* the chunk is in: phase 2 on a worker */
            srv_upstream_end(c->req->up, false);
            dispatch(s, c);
            return 0;
        }
        /* With "Content-Length: 0" the request was dispatched already. */
        if (c->req && !c->req_in_flight && !c->req->out)
            dispatch(s, c);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!c || !c->req || c->req_in_flight || c->req->drain)
            return 0;
        return write_answer(s, c, wsi);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c && !c->is_ws) {
            c->wsi = NULL;
            pss->conn = NULL;
            srv_conn_unref(c);
        }
        return 0;
    default:
        return 0;
    }
}
