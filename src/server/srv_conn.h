/*
 * srv_conn.h — connections and their outbound queues (srv_conn.c); the
 * WebSocket callback (srv_ws.c).
 */
#ifndef SRV_CONN_H
#define SRV_CONN_H

#include "srv_int.h"

srv_conn *srv_conn_new(srv *s, struct lws *wsi);
srv_conn *srv_conn_ref(srv_conn *c);
void srv_conn_unref(srv_conn *c);
/* Queues a frame (takes a new reference). On overflow the queue is dropped,
 * `resync` queued and the connection closes after it. */
void srv_conn_push(srv_conn *c, srv_buf *b);
/* Sends `frame` (may be NULL), then closes with code/reason. */
void srv_conn_close_after(srv_conn *c, srv_buf *frame, int code, const char *reason);
int srv_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);

#endif
