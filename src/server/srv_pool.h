/*
 * srv_pool.h — the worker pool, the clock, and finished jobs back to the loop (srv_pool.c).
 */
#ifndef SRV_POOL_H
#define SRV_POOL_H

#include "srv_int.h"

int64_t srv_now_ms(void);
/* Hands a finished job back to the loop (any thread). */
void srv_complete(srv *s, srv_job *j);

int srv_pool_start(srv *s);
/* Queues a job; -1 when the queue is full (the caller answers 503). */
int srv_pool_submit(srv *s, srv_job *j);
void srv_pool_stop(srv *s);

#endif
