/*
 * srv_pool.c — the worker pool: handlers and guard inspection off the loop.
 *
 * Each worker owns a store handle and a guard_scanner (per-thread scratch;
 * the ruleset itself is shared). Jobs come from one bounded queue; a full
 * queue is back-pressure the loop turns into 503, never unbounded memory.
 * Finished jobs go back to the loop through srv_complete() (any thread),
 * which wakes it once per batch.
 */
#include "srv_int.h"
#include "srv_log.h"
#include "srv_pool.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JOB_QUEUE_CAP 65536

int64_t srv_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(srv *s)
{
    /* One pipe write per wake-up, however many jobs complete meanwhile. */
    if (!atomic_exchange(&s->wake_pending, 1) && s->lws)
        lws_cancel_service(s->lws);
}

void srv_complete(srv *s, srv_job *j)
{
    srv_queue_push(&s->done, &j->node, true);
    wake(s);
}

static void *worker_main(void *arg)
{
    srv_worker *w = arg;
    srv *s = w->srv;
    srv_qnode *n;
    size_t k;

    /* Taking a few jobs per wake-up halves the futex traffic under load;
     * few enough that the other workers still get work. */
    while ((n = srv_queue_pop_many(&s->jobs, 4, &k))) {
        while (n) {
            srv_job *j = (srv_job *)n;

            n = n->next;
            if (j->work(j, w))
                srv_complete(s, j);
        }
    }
    return NULL;
}

int srv_pool_start(srv *s)
{
    store_options so = {.version = 1, .path = s->db_path, .maintenance = STORE_MAINT_ELSEWHERE};
    guard_error gerr;
    char *msg = NULL;
    int n = s->cfg->workers;

    if (n <= 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

        n = ncpu > 0 ? (int)ncpu : 2;
        /* argon2id and a slow store call must not starve inspection on a
         * small machine: at least two workers. */
        if (n < 2)
            n = 2;
    }
    if (srv_queue_init(&s->jobs, JOB_QUEUE_CAP))
        return -1;
    s->workers = calloc((size_t)n, sizeof *s->workers);
    if (!s->workers)
        return -1;
    s->worker_slots = n;
    for (int i = 0; i < n; i++) {
        srv_worker *w = &s->workers[i];

        w->srv = s;
        w->index = i;
        if (store_open(&so, &w->st, &msg)) {
            SRV_ERROR("pool", "worker %d: store: %s", i, msg ? msg : "?");
            free(msg);
            return -1;
        }
        if (guard_scanner_new(&w->scanner, &gerr)) {
            SRV_ERROR("pool", "worker %d: scanner: %s", i, gerr.message);
            return -1;
        }
        if (pthread_create(&w->th, NULL, worker_main, w)) {
            SRV_ERROR("pool", "worker %d: thread", i);
            return -1;
        }
        s->n_workers = i + 1;
    }
    SRV_INFO("pool", "%d workers", n);
    return 0;
}

int srv_pool_submit(srv *s, srv_job *j)
{
    /* Counted before the push: the job may complete before push returns. */
    atomic_fetch_add(&s->jobs_in_flight, 1);
    if (srv_queue_push(&s->jobs, &j->node, false)) {
        atomic_fetch_sub(&s->jobs_in_flight, 1);
        return -1;
    }
    return 0;
}

void srv_pool_stop(srv *s)
{
    if (!s->workers)
        return;
    srv_queue_close(&s->jobs);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i].th, NULL);
    /* A slot whose thread never started may still hold a store/scanner. */
    for (int i = 0; i < s->worker_slots; i++) {
        store_close(s->workers[i].st);
        guard_scanner_free(s->workers[i].scanner);
    }
    free(s->workers);
    s->workers = NULL;
    srv_queue_destroy(&s->jobs);
}
