/*
 * test_srv_queue.c — the inter-thread FIFO: order, cap, batches, close,
 * and many producers against one consumer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/srv_queue.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct item {
    srv_qnode node;
    int v;
} item;

static void fifo_and_cap(void **state)
{
    srv_queue q;
    item it[4];
    size_t n;
    srv_qnode *l;

    (void)state;
    assert_int_equal(srv_queue_init(&q, 3), 0);
    for (int i = 0; i < 4; i++)
        it[i].v = i;
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_queue_push(&q, &it[i].node, false), 0);
    assert_int_equal(srv_queue_push(&q, &it[3].node, false), -1);
    assert_int_equal(srv_queue_push(&q, &it[3].node, true), 0);
    assert_int_equal(srv_queue_len(&q), 4);
    l = srv_queue_pop_many(&q, 2, &n);
    assert_int_equal(n, 2);
    assert_int_equal(((item *)l)->v, 0);
    assert_int_equal(((item *)l->next)->v, 1);
    assert_null(l->next->next);
    l = srv_queue_drain(&q);
    assert_int_equal(((item *)l)->v, 2);
    assert_int_equal(((item *)l->next)->v, 3);
    assert_null(srv_queue_drain(&q));
    srv_queue_close(&q);
    assert_null(srv_queue_pop(&q));
    assert_int_equal(srv_queue_push(&q, &it[0].node, true), -1);
    srv_queue_destroy(&q);
}

#define PRODUCERS 4
#define PER       5000

static srv_queue shared;

static void *producer(void *arg)
{
    item *items = arg;

    for (int i = 0; i < PER; i++)
        srv_queue_push(&shared, &items[i].node, true);
    return NULL;
}

static void threads(void **state)
{
    pthread_t th[PRODUCERS];
    item *items = calloc(PRODUCERS * PER, sizeof *items);
    long sum = 0, got = 0;

    (void)state;
    assert_non_null(items);
    assert_int_equal(srv_queue_init(&shared, 0), 0);
    for (int i = 0; i < PRODUCERS * PER; i++)
        items[i].v = i;
    for (int t = 0; t < PRODUCERS; t++)
        pthread_create(&th[t], NULL, producer, items + t * PER);
    while (got < PRODUCERS * PER) {
        size_t n;
        srv_qnode *l = srv_queue_pop_many(&shared, 100, &n);

        for (; l; l = l->next, got++)
            sum += ((item *)l)->v;
    }
    for (int t = 0; t < PRODUCERS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(sum, (long)PRODUCERS * PER * (PRODUCERS * PER - 1) / 2);
    srv_queue_destroy(&shared);
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_and_cap),
        cmocka_unit_test(threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
