/*
 * test_srv_rate.c — token buckets and login lockouts with a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/srv_rate.h"

#include <stdbool.h>
#include <stdio.h>

static srv_rate *make(void)
{
    srv_config cfg;
    srv_rate *r;

    assert_int_equal(srv_config_defaults(&cfg), 0);
    cfg.limits.requests_per_second = 10;
    cfg.limits.burst = 5;
    cfg.login.account_failures = 3;
    cfg.login.address_failures = 5;
    cfg.login.window_seconds = 60;
    cfg.login.lockout_seconds = 120;
    cfg.limits.guard_checks_per_second = 1;
    cfg.limits.guard_check_burst = 3;
    cfg.limits.guard_probe_blocked = 3;
    cfg.limits.guard_probe_window_seconds = 600;
    cfg.limits.ocr_per_minute = 6;
    cfg.limits.ocr_burst = 2;
    cfg.limits.file_text_per_minute = 12;
    cfg.limits.file_text_burst = 3;
    r = srv_rate_new(&cfg.limits, &cfg.login, 1000);
    srv_config_free(&cfg);
    assert_non_null(r);
    return r;
}

static void bucket(void **state)
{
    srv_rate *r = make();
    int64_t t = 1000000;

    (void)state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(srv_rate_request(r, 1, t), 0);
    assert_true(srv_rate_request(r, 1, t) >= 1);
    /* Another session has its own bucket. */
    assert_int_equal(srv_rate_request(r, 2, t), 0);
    /* 10/s: one token back after 100 ms. */
    assert_int_equal(srv_rate_request(r, 1, t + 100), 0);
    assert_true(srv_rate_request(r, 1, t + 100) >= 1);
    srv_rate_free(r);
}

static void account_lockout(void **state)
{
    srv_rate *r = make();
    int64_t t = 5000000;

    (void)state;
    assert_int_equal(srv_rate_login_check(r, "alice", "10.0.0.1", t), 0);
    for (int i = 0; i < 3; i++)
        srv_rate_login_failed(r, "alice", "10.0.0.1", t);
    assert_true(srv_rate_login_check(r, "alice", "10.0.0.2", t) > 0);
    /* Unknown names lock exactly the same way. */
    for (int i = 0; i < 3; i++)
        srv_rate_login_failed(r, "nobody", "10.0.0.3", t);
    assert_true(srv_rate_login_check(r, "nobody", "10.0.0.9", t) > 0);
    assert_int_equal(srv_rate_login_check(r, "alice", "10.0.0.2", t + 121000), 0);
    srv_rate_free(r);
}

static void address_lockout(void **state)
{
    srv_rate *r = make();
    char login[16];
    int64_t t = 9000000;

    (void)state;
    for (int i = 0; i < 5; i++) {
        snprintf(login, sizeof login, "user%d", i);
        srv_rate_login_failed(r, login, "192.0.2.1", t);
    }
    assert_true(srv_rate_login_check(r, "fresh", "192.0.2.1", t) > 0);
    assert_int_equal(srv_rate_login_check(r, "fresh", "192.0.2.2", t), 0);
    srv_rate_free(r);
}

static void success_clears(void **state)
{
    srv_rate *r = make();
    int64_t t = 1;

    (void)state;
    srv_rate_login_failed(r, "bob", "a", t);
    srv_rate_login_failed(r, "bob", "b", t);
    srv_rate_login_ok(r, "bob", t);
    srv_rate_login_failed(r, "bob", "c", t);
    srv_rate_login_failed(r, "bob", "d", t);
    assert_int_equal(srv_rate_login_check(r, "bob", "e", t), 0);
    srv_rate_free(r);
}

/* The pre-check bucket is per user and apart from the session's. */
static void guard_bucket(void **state)
{
    srv_rate *r = make();
    int64_t t = 1000000;

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_rate_guard_check(r, 7, t), 0);
    assert_int_equal(srv_rate_guard_check(r, 7, t), 1);
    assert_int_equal(srv_rate_guard_check(r, 8, t), 0);        /* another user */
    assert_int_equal(srv_rate_request(r, 7, t), 0);            /* session 7's bucket is full */
    assert_int_equal(srv_rate_guard_check(r, 7, t + 1000), 0); /* 1 per second */
    assert_int_equal(srv_rate_guard_check(r, 7, t + 1000), 1);
    srv_rate_free(r);
}

/* An officer's file-text bucket is per user and apart from the OCR one
 * (both re-read a file; neither empties the other). */
static void file_text_bucket(void **state)
{
    srv_rate *r = make();
    int64_t t = 1000000;

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_rate_file_text(r, 7, t), 0);
    assert_int_equal(srv_rate_file_text(r, 7, t), 5); /* 12 a minute: one in 5 s */
    assert_int_equal(srv_rate_file_text(r, 8, t), 0); /* another officer */
    assert_int_equal(srv_rate_ocr(r, 7, t), 0);       /* the OCR bucket is full */
    assert_int_equal(srv_rate_file_text(r, 7, t + 5000), 0);
    assert_int_equal(srv_rate_file_text(r, 7, t + 5000), 5);
    srv_rate_free(r);
}

/* Blocked pre-checks: the third within the window says so, once. */
static void guard_probing(void **state)
{
    srv_rate *r = make();
    int64_t t = 1000000;

    (void)state;
    assert_int_equal(srv_rate_guard_blocked(r, 7, t), 0);
    assert_int_equal(srv_rate_guard_blocked(r, 7, t + 1000), 0);
    assert_int_equal(srv_rate_guard_blocked(r, 8, t + 1000), 0);
    assert_int_equal(srv_rate_guard_blocked(r, 7, t + 2000), 3);
    for (int i = 0; i < 10; i++)
        assert_int_equal(srv_rate_guard_blocked(r, 7, t + 3000 + i), 0);
    /* a new window starts with the next blocked pre-check after it */
    t += 601 * 1000;
    assert_int_equal(srv_rate_guard_blocked(r, 7, t), 0);
    assert_int_equal(srv_rate_guard_blocked(r, 7, t), 0);
    assert_int_equal(srv_rate_guard_blocked(r, 7, t), 3);
    srv_rate_free(r);
}

/* ---- the per-session bucket over several nodes (srv_rate_sync) ---- */

/* Redis' per (session, window) counters, in memory; down: unreachable. */
typedef struct fake_counters {
    int64_t sid[16], win[16];
    long total[16];
    int n;
    bool down;
} fake_counters;

static int fake_sum(void *arg, int64_t window, const int64_t *ids, const long *used, long *totals,
                    size_t n)
{
    fake_counters *f = arg;

    if (f->down)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int k = 0;

        while (k < f->n && !(f->sid[k] == ids[i] && f->win[k] == window))
            k++;
        if (k == f->n) {
            assert_true(f->n < 16);
            f->sid[k] = ids[i];
            f->win[k] = window;
            f->total[k] = 0;
            f->n++;
        }
        f->total[k] += used[i];
        totals[i] = f->total[k];
    }
    return 0;
}

/* Session 1 asks every `every` ms for 3 s, on the nodes in turn; each node
 * reports every 250 ms. Returns how many were allowed. */
static int spread(srv_rate **nodes, int n_nodes, int every)
{
    int64_t t0 = 5000000, allowed = 0;
    int i = 0;

    for (int64_t t = t0; t < t0 + 3000; t += every, i++) {
        if ((t - t0) % 250 == 0)
            for (int k = 0; k < n_nodes; k++)
                srv_rate_sync(nodes[k], t);
        allowed += srv_rate_request(nodes[i % n_nodes], 1, t) == 0;
    }
    return (int)allowed;
}

static void bucket_over_nodes(void **state)
{
    fake_counters f = {0};
    srv_rate_shared sh = {.arg = &f, .sum = fake_sum};
    srv_rate *nodes[2] = {make(), make()};
    int got;

    (void)state;
    /* 10/s, burst 5: 20/s split over two nodes. Each node alone sees 10/s
     * and would allow all 60; together about 3 s × 10 + the bursts. */
    for (int k = 0; k < 2; k++)
        srv_rate_set_shared(nodes[k], &sh);
    got = spread(nodes, 2, 50);
    assert_true(got >= 30 && got <= 42);
    for (int k = 0; k < 2; k++)
        srv_rate_free(nodes[k]);
}

static void bucket_one_node_shared(void **state)
{
    fake_counters f = {0};
    srv_rate_shared sh = {.arg = &f, .sum = fake_sum};
    srv_rate *node = make();

    (void)state;
    /* alone at its rate: its own reports are never taken for another's */
    srv_rate_set_shared(node, &sh);
    assert_int_equal(spread(&node, 1, 100), 30);
    srv_rate_free(node);
}

static void bucket_shared_down(void **state)
{
    fake_counters f = {.down = true};
    srv_rate_shared sh = {.arg = &f, .sum = fake_sum};
    srv_rate *nodes[2] = {make(), make()};

    (void)state;
    /* Redis away: each node limits its own share, as one node does */
    for (int k = 0; k < 2; k++)
        srv_rate_set_shared(nodes[k], &sh);
    assert_int_equal(spread(nodes, 2, 50), 60);
    assert_true(spread(nodes, 2, 25) < 120); /* still limited per node */
    for (int k = 0; k < 2; k++)
        srv_rate_free(nodes[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket),
        cmocka_unit_test(account_lockout),
        cmocka_unit_test(address_lockout),
        cmocka_unit_test(success_clears),
        cmocka_unit_test(guard_bucket),
        cmocka_unit_test(guard_probing),
        cmocka_unit_test(file_text_bucket),
        cmocka_unit_test(bucket_over_nodes),
        cmocka_unit_test(bucket_one_node_shared),
        cmocka_unit_test(bucket_shared_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
