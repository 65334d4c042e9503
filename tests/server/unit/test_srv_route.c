/*
 * test_srv_route.c — route matching: literals, {id} and {name} segments,
 * 404 vs 405.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "server/srv_route.h"

static const srv_route table[] = {
    {SRV_GET, "/api/v1/conversations", 0, "list"},
    {SRV_POST, "/api/v1/conversations", 0, "create"},
    {SRV_GET, "/api/v1/conversations/{id}", 0, "get"},
    {SRV_DELETE, "/api/v1/conversations/{id}/members/{id}", 0, "remove"},
    {SRV_PUT, "/api/v1/admin/lexicons/{name}", 0, "lexicon"},
    {SRV_POST, "/api/v1/admin/lexicons/{name}/validate", 0, "lexicon_validate"},
    {SRV_POST, "/api/v1/conversations/{id}/messages", 0, "send", "message.send", "conversation_id",
     "message.ack"},
    {SRV_POST, "/api/v1/conversations/{id}/read", 0, "read", "read", "conversation_id", NULL},
};
#define N (sizeof table / sizeof table[0])

static void literal(void **state)
{
    const srv_route *r = NULL;
    int64_t ids[2];

    (void)state;
    assert_int_equal(srv_route_match(table, N, SRV_POST, "/api/v1/conversations", &r, ids),
                     SRV_MATCH_OK);
    assert_string_equal(r->handler, "create");
    assert_int_equal(srv_route_match(table, N, SRV_GET, "/api/v1/conversations/", &r, ids),
                     SRV_MATCH_OK);
    assert_string_equal(r->handler, "list");
}

static void ids(void **state)
{
    const srv_route *r = NULL;
    int64_t v[2] = {0, 0};

    (void)state;
    assert_int_equal(
        srv_route_match(table, N, SRV_DELETE, "/api/v1/conversations/12/members/345", &r, v),
        SRV_MATCH_OK);
    assert_int_equal(v[0], 12);
    assert_int_equal(v[1], 345);
    assert_int_equal(srv_route_match(table, N, SRV_HEAD, "/api/v1/conversations/7", &r, v),
                     SRV_MATCH_OK);
    assert_int_equal(v[0], 7);
}

static void bad_ids_are_not_found(void **state)
{
    const srv_route *r = NULL;
    int64_t v[2];

    (void)state;
    assert_int_equal(srv_route_match(table, N, SRV_GET, "/api/v1/conversations/abc", &r, v),
                     SRV_MATCH_NOT_FOUND);
    assert_int_equal(srv_route_match(table, N, SRV_GET, "/api/v1/conversations/0", &r, v),
                     SRV_MATCH_NOT_FOUND);
    assert_int_equal(srv_route_match(table, N, SRV_GET, "/api/v1/conversations/-1", &r, v),
                     SRV_MATCH_NOT_FOUND);
    assert_int_equal(
        srv_route_match(table, N, SRV_GET, "/api/v1/conversations/1234567890123456789", &r, v),
        SRV_MATCH_NOT_FOUND);
    assert_int_equal(srv_route_match(table, N, SRV_GET, "/api/v1/conversationsx", &r, v),
                     SRV_MATCH_NOT_FOUND);
}

static void wrong_method(void **state)
{
    const srv_route *r = NULL;
    int64_t v[2];

    (void)state;
    assert_int_equal(srv_route_match(table, N, SRV_PATCH, "/api/v1/conversations/3", &r, v),
                     SRV_MATCH_METHOD);
    assert_int_equal(srv_method_parse("PATCH"), SRV_PATCH);
    assert_int_equal(srv_method_parse("BREW"), SRV_METHOD_OTHER);
}

static void names(void **state)
{
    const srv_route *r = NULL;
    int64_t v[2];
    char long_name[128];

    (void)state;
    assert_int_equal(srv_route_match(table, N, SRV_PUT, "/api/v1/admin/lexicons/a-b_9", &r, v),
                     SRV_MATCH_OK);
    assert_string_equal(r->handler, "lexicon");
    assert_int_equal(
        srv_route_match(table, N, SRV_POST, "/api/v1/admin/lexicons/x/validate", &r, v),
        SRV_MATCH_OK);
    assert_string_equal(r->handler, "lexicon_validate");
    /* Nothing that could make a path: dots, upper case, escapes, empty. */
    assert_int_equal(srv_route_match(table, N, SRV_PUT, "/api/v1/admin/lexicons/..", &r, v),
                     SRV_MATCH_NOT_FOUND);
    assert_int_equal(srv_route_match(table, N, SRV_PUT, "/api/v1/admin/lexicons/a.tsv", &r, v),
                     SRV_MATCH_NOT_FOUND);
    assert_int_equal(srv_route_match(table, N, SRV_PUT, "/api/v1/admin/lexicons/Ab", &r, v),
                     SRV_MATCH_NOT_FOUND);
    assert_int_equal(srv_route_match(table, N, SRV_PUT, "/api/v1/admin/lexicons/%2e", &r, v),
                     SRV_MATCH_NOT_FOUND);
    assert_int_equal(srv_route_match(table, N, SRV_PUT, "/api/v1/admin/lexicons/", &r, v),
                     SRV_MATCH_NOT_FOUND);
    snprintf(long_name, sizeof long_name, "/api/v1/admin/lexicons/%065d", 0);
    assert_int_equal(srv_route_match(table, N, SRV_PUT, long_name, &r, v), SRV_MATCH_NOT_FOUND);
    snprintf(long_name, sizeof long_name, "/api/v1/admin/lexicons/%064d", 0);
    assert_int_equal(srv_route_match(table, N, SRV_PUT, long_name, &r, v), SRV_MATCH_OK);
}

/* A WebSocket frame names its route in the same table as HTTP. */
static void frames(void **state)
{
    const srv_route *r;

    (void)state;
    r = srv_route_by_frame(table, N, "message.send");
    assert_non_null(r);
    assert_string_equal(r->handler, "send");
    assert_string_equal(r->ws_id, "conversation_id");
    assert_string_equal(r->ws_ack, "message.ack");
    r = srv_route_by_frame(table, N, "read");
    assert_non_null(r);
    assert_string_equal(r->handler, "read");
    assert_null(r->ws_ack);
    /* Only routes that name a frame type: no HTTP-only route is callable
     * as a frame, and no prefix or path matches. */
    assert_null(srv_route_by_frame(table, N, "list"));
    assert_null(srv_route_by_frame(table, N, "message"));
    assert_null(srv_route_by_frame(table, N, "/api/v1/conversations"));
    assert_null(srv_route_by_frame(table, N, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal),
        cmocka_unit_test(ids),
        cmocka_unit_test(bad_ids_are_not_found),
        cmocka_unit_test(wrong_method),
        cmocka_unit_test(names),
        cmocka_unit_test(frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
