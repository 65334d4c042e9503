/*
 * srv_http.h — the HTTP side of the transport (srv_http.c).
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include "srv_int.h"

int srv_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len);
/* Extracts the session token of a request: the Authorization bearer, else
 * the cookie, else (allow_query: the WebSocket upgrade only, since a URL
 * ends up in access logs and browser history) ?token=. *from_cookie tells
 * whether it was the cookie, the credential a browser adds by itself.
 * Heap string or NULL. */
char *srv_http_token(struct lws *wsi, bool allow_query, bool *from_cookie);
/* The request's Origin and Host headers (empty when absent). */
void srv_http_origin(struct lws *wsi, char *origin, size_t ocap, char *host, size_t hcap);
void srv_http_peer(struct lws *wsi, char *out, size_t cap);

/* An upload's first phase said yes: stream its body (srv_upload.h). */
int srv_http_upload_resume(srv *s, srv_conn *c);
/* An upload request r on c is answered before its body was read: mark it
 * so the body is read and dropped first (up to SRV_UP_DRAIN_MAX), or the
 * connection closed after the answer. */
void srv_http_refuse_body(srv_conn *c, srv_req *r);

#endif
