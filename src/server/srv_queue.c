/*
 * srv_queue.c — mutex + condition variable FIFO (see srv_queue.h).
 *
 * A lock-free queue would save a few hundred nanoseconds per hand-off;
 * consumers take many nodes per wake-up (pop_many, drain), so the lock is
 * taken once per batch, not per message, and stays cold.
 */
#include "srv_queue.h"

#include <errno.h>
#include <time.h>

int srv_queue_init(srv_queue *q, size_t cap)
{
    q->head = q->tail = NULL;
    q->n = 0;
    q->cap = cap;
    q->closed = false;
    if (pthread_mutex_init(&q->mu, NULL))
        return -1;
    if (pthread_cond_init(&q->cv, NULL)) {
        pthread_mutex_destroy(&q->mu);
        return -1;
    }
    return 0;
}

void srv_queue_destroy(srv_queue *q)
{
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

int srv_queue_push(srv_queue *q, srv_qnode *n, bool force)
{
    int rc = -1;

    n->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->closed || (!force && q->cap && q->n >= q->cap))
        goto out;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->n++;
    pthread_cond_signal(&q->cv);
    rc = 0;
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static srv_qnode *take(srv_queue *q, size_t max, size_t *n_out)
{
    srv_qnode *first = q->head, *last = q->head;
    size_t k = 1;

    while (k < max && last->next) {
        last = last->next;
        k++;
    }
    q->head = last->next;
    if (!q->head)
        q->tail = NULL;
    last->next = NULL;
    q->n -= k;
    if (n_out)
        *n_out = k;
    return first;
}

srv_qnode *srv_queue_pop_many(srv_queue *q, size_t max, size_t *n_out)
{
    srv_qnode *r = NULL;

    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->closed)
        pthread_cond_wait(&q->cv, &q->mu);
    if (q->head)
        r = take(q, max ? max : 1, n_out);
    else if (n_out)
        *n_out = 0;
    pthread_mutex_unlock(&q->mu);
    return r;
}

srv_qnode *srv_queue_pop_many_for(srv_queue *q, size_t max, size_t *n_out, int wait_ms,
                                  bool *timed_out)
{
    srv_qnode *r = NULL;
    struct timespec until;

    *timed_out = false;
    clock_gettime(CLOCK_REALTIME, &until); /* the condition variable's clock */
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->closed && !*timed_out)
        *timed_out = pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT;
    if (q->head) {
        *timed_out = false;
        r = take(q, max ? max : 1, n_out);
    } else if (n_out)
        *n_out = 0;
    pthread_mutex_unlock(&q->mu);
    return r;
}

srv_qnode *srv_queue_pop(srv_queue *q)
{
    return srv_queue_pop_many(q, 1, NULL);
}

srv_qnode *srv_queue_drain(srv_queue *q)
{
    srv_qnode *r = NULL;

    pthread_mutex_lock(&q->mu);
    if (q->head)
        r = take(q, (size_t)-1, NULL);
    pthread_mutex_unlock(&q->mu);
    return r;
}

void srv_queue_close(srv_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

size_t srv_queue_len(srv_queue *q)
{
    size_t n;

    pthread_mutex_lock(&q->mu);
    n = q->n;
    pthread_mutex_unlock(&q->mu);
    return n;
}
