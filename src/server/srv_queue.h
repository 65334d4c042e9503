/*
 * srv_queue.h — a bounded, blocking FIFO of intrusive nodes between threads.
 *
 * Used three ways: loop -> worker pool (jobs), worker -> writer (appends),
 * and anything -> loop (completions; the loop is woken with
 * lws_cancel_service by the caller and drains everything at once). Nodes
 * are embedded in the job, so queueing never allocates.
 */
#ifndef SRV_QUEUE_H
#define SRV_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct srv_qnode {
    struct srv_qnode *next;
} srv_qnode;

typedef struct srv_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_qnode *head, *tail;
    size_t n, cap; /* cap 0: unbounded */
    bool closed;
} srv_queue;

/* Returns 0 or -1 (pthread failure). */
int srv_queue_init(srv_queue *q, size_t cap);
void srv_queue_destroy(srv_queue *q);

/* Appends a node. Returns 0, or -1 when the queue is full or closed (the
 * node is then still the caller's). With force, the cap is ignored (for
 * work that is already accepted and must not be lost, e.g. completions). */
int srv_queue_push(srv_queue *q, srv_qnode *n, bool force);

/* Waits for a node and removes it. Returns NULL once the queue is closed and
 * empty. */
srv_qnode *srv_queue_pop(srv_queue *q);

/* Waits like srv_queue_pop, then takes up to max nodes at once (a list in
 * FIFO order through ->next; *n_out is how many). NULL once closed and empty. */
srv_qnode *srv_queue_pop_many(srv_queue *q, size_t max, size_t *n_out);

/* srv_queue_pop_many, waiting at most wait_ms: NULL with *timed_out set
 * when nothing came in time; NULL without it once closed and empty. */
srv_qnode *srv_queue_pop_many_for(srv_queue *q, size_t max, size_t *n_out, int wait_ms,
                                  bool *timed_out);

/* Takes everything without waiting (FIFO list), or NULL when empty. */
srv_qnode *srv_queue_drain(srv_queue *q);

/* Wakes every waiter; later pushes fail; pops return what is left, then NULL. */
void srv_queue_close(srv_queue *q);

size_t srv_queue_len(srv_queue *q);

#endif
