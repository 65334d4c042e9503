/*
 * srv_req.h — a request between the transport and the handlers: replies, events, audit (srv_api.c).
 */
#ifndef SRV_REQ_H
#define SRV_REQ_H

#include "srv_int.h"

srv_req *srv_req_new(srv *s, srv_conn *c);
void srv_req_free(srv_req *r);
/* The worker side of a request: route, authenticate, authorise, run. */
bool srv_api_work(srv_job *j, srv_worker *w);
/* The loop side: deliver the reply and the events. */
void srv_api_finish(srv_job *j, srv *s);

/* Replies. */
void srv_reply(srv_req *r, int status, json_t *body); /* steals body (may be NULL) */
void srv_error(srv_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The store failed: 500 internal (503 unavailable when busy), logged. */
void srv_store_error(srv_req *r, srv_worker *w, int rc, const char *what);
/* Queues an event on the job (steals buf). */
void srv_emit(srv_job *j, srv_ev_kind kind, srv_buf *buf, int64_t id, int64_t uid,
              const int64_t *users, size_t n_users);
/* Serialises {"type": type, ...fields of obj} into a buffer (steals obj). */
srv_buf *srv_event_buf(const char *type, json_t *obj);
/* Appends an audit entry (logged on failure, never fails the request). */
void srv_audit(store *st, int64_t actor_id, const char *actor, const char *event,
               const char *target, json_t *detail /* stolen, may be NULL */);

#endif
