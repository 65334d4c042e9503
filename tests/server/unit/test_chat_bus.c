/*
 * test_chat_bus.c — the in-process chat bus: a subscriber gets an event
 * only for the users (or the staff) it subscribed to, subscriptions count,
 * and several subscribers each get their own share.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chat/chat_event.h"

typedef struct rec {
    chat_sub base; /* first */
    int calls;
    int64_t users[16];
    size_t n;
    chat_event_type last;
} rec;

static void deliver(chat_sub *s, const chat_event *ev, const int64_t *users, size_t n)
{
    rec *r = (rec *)s;

    r->calls++;
    r->last = ev->type;
    r->n = n < 16 ? n : 16;
    if (users)
        memcpy(r->users, users, r->n * sizeof *users);
}

static void publish_to(chat_bus *b, const int64_t *users, size_t n)
{
    chat_event ev = {.type = CHAT_EV_MESSAGE_NEW,
                     .audience = CHAT_TO_USERS,
                     .conv_id = 7,
                     .msg_id = 42,
                     .users = users,
                     .n_users = n};

    chat_publish(b, &ev);
}

static void users_filtered(void **state)
{
    chat_bus *b = chat_bus_local_new();
    rec a = {.base.deliver = deliver};
    const int64_t all[] = {1, 2, 3};

    (void)state;
    assert_non_null(b);
    publish_to(b, all, 3);
    assert_int_equal(a.calls, 0);
    assert_int_equal(chat_subscribe(b, &a.base, CHAT_TOPIC_USER, 1), 0);
    assert_int_equal(chat_subscribe(b, &a.base, CHAT_TOPIC_USER, 1), 0); /* a second socket */
    assert_int_equal(chat_subscribe(b, &a.base, CHAT_TOPIC_USER, 3), 0);
    publish_to(b, all, 3);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.users[0], 1);
    assert_int_equal(a.users[1], 3);
    /* One of user 1's two subscriptions goes: still subscribed. */
    chat_unsubscribe(b, &a.base, CHAT_TOPIC_USER, 1);
    publish_to(b, all, 1);
    assert_int_equal(a.calls, 2);
    chat_unsubscribe(b, &a.base, CHAT_TOPIC_USER, 1);
    publish_to(b, all, 1);
    assert_int_equal(a.calls, 2);
    /* Unsubscribing what is not subscribed changes nothing. */
    chat_unsubscribe(b, &a.base, CHAT_TOPIC_USER, 99);
    publish_to(b, all + 2, 1);
    assert_int_equal(a.calls, 3);
    b->ops->destroy(b);
}

static void staff_and_two_subscribers(void **state)
{
    chat_bus *b = chat_bus_local_new();
    rec a = {.base.deliver = deliver}, c = {.base.deliver = deliver};
    const int64_t all[] = {1, 2};
    store_alert al = {.id = 5};
    chat_event ev = {.type = CHAT_EV_ALERT_NEW, .audience = CHAT_TO_STAFF, .alert = &al};

    (void)state;
    assert_int_equal(chat_subscribe(b, &a.base, CHAT_TOPIC_USER, 1), 0);
    assert_int_equal(chat_subscribe(b, &c.base, CHAT_TOPIC_USER, 2), 0);
    assert_int_equal(chat_subscribe(b, &c.base, CHAT_TOPIC_STAFF, 0), 0);
    publish_to(b, all, 2);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.users[0], 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.users[0], 2);
    chat_publish(b, &ev);
    assert_int_equal(a.calls, 1); /* not staff */
    assert_int_equal(c.calls, 2);
    assert_int_equal(c.last, CHAT_EV_ALERT_NEW);
    assert_string_equal(chat_event_name(&ev), "alert.new");
    chat_unsubscribe(b, &c.base, CHAT_TOPIC_STAFF, 0);
    chat_publish(b, &ev);
    assert_int_equal(c.calls, 2);
    b->ops->destroy(b);
}

/* Audiences larger than the filter's stack buffer. */
static void large_audience(void **state)
{
    chat_bus *b = chat_bus_local_new();
    rec a = {.base.deliver = deliver};
    int64_t many[500];

    (void)state;
    for (int i = 0; i < 500; i++)
        many[i] = i + 1;
    for (int i = 0; i < 3000; i++) /* grows the table past its first size */
        assert_int_equal(chat_subscribe(b, &a.base, CHAT_TOPIC_USER, 10000 + i), 0);
    assert_int_equal(chat_subscribe(b, &a.base, CHAT_TOPIC_USER, 499), 0);
    publish_to(b, many, 500);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.users[0], 499);
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(users_filtered),
        cmocka_unit_test(staff_and_two_subscribers),
        cmocka_unit_test(large_audience),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
