/*
 * test_srv_origin.c — the Origin and Content-Type rules of the CSRF check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/srv_origin.h"

static void same_origin(void **state)
{
    (void)state;
    assert_true(srv_origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", NULL, 0));
    assert_true(srv_origin_allowed("https://Chat.Example.com", "chat.example.com", NULL, 0));
    assert_true(srv_origin_allowed("http://chat.example.com", "chat.example.com:80", NULL, 0));
    assert_true(srv_origin_allowed("https://chat.example.com:443", "chat.example.com", NULL, 0));
    assert_true(srv_origin_allowed("http://[::1]:8080", "[::1]:8080", NULL, 0));
    /* a TLS proxy in front: the browser says https, the Host has the port */
    assert_true(
        srv_origin_allowed("https://chat.example.com:8443", "chat.example.com:8443", NULL, 0));
}

static void foreign(void **state)
{
    (void)state;
    assert_false(srv_origin_allowed("https://evil.example", "chat.example.com", NULL, 0));
    assert_false(srv_origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8080", NULL, 0));
    assert_false(srv_origin_allowed("http://127.0.0.1", "127.0.0.1:8080", NULL, 0));
    assert_false(srv_origin_allowed("https://chat.example.com.evil", "chat.example.com", NULL, 0));
    assert_false(srv_origin_allowed("https://chat.example.co", "chat.example.com", NULL, 0));
    assert_false(srv_origin_allowed("null", "chat.example.com", NULL, 0));
    assert_false(srv_origin_allowed("", "chat.example.com", NULL, 0));
    assert_false(srv_origin_allowed("file://", "chat.example.com", NULL, 0));
    assert_false(srv_origin_allowed("https://chat.example.com/x", "chat.example.com", NULL, 0));
    assert_false(srv_origin_allowed("https://chat.example.com:0", "chat.example.com:0", NULL, 0));
    assert_false(srv_origin_allowed("https://chat.example.com", "", NULL, 0));
    assert_false(srv_origin_allowed("https://chat.example.com", NULL, NULL, 0));
}

static void configured(void **state)
{
    char *list[] = {"https://chat.example.com/", "http://localhost:5173"};

    (void)state;
    assert_true(srv_origin_allowed("https://chat.example.com", "10.0.0.5:8080", list, 2));
    assert_true(srv_origin_allowed("HTTP://LOCALHOST:5173", NULL, list, 2));
    assert_false(srv_origin_allowed("http://localhost:5174", "10.0.0.5:8080", list, 2));
    assert_false(srv_origin_allowed("null", "10.0.0.5:8080", list, 2));
}

static void content_type(void **state)
{
    (void)state;
    assert_true(srv_content_type_json("application/json"));
    assert_true(srv_content_type_json("Application/JSON; charset=utf-8"));
    assert_true(srv_content_type_json(" application/json ;charset=UTF-8"));
    assert_false(srv_content_type_json("application/jsonp"));
    assert_false(srv_content_type_json("text/plain"));
    assert_false(srv_content_type_json("application/x-www-form-urlencoded"));
    assert_false(srv_content_type_json("multipart/form-data; boundary=x"));
    assert_false(srv_content_type_json(""));
    assert_false(srv_content_type_json(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_origin),
        cmocka_unit_test(foreign),
        cmocka_unit_test(configured),
        cmocka_unit_test(content_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
