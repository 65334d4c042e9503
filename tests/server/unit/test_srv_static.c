/*
 * test_srv_static.c — the web client's path sanitiser, Content-Types and
 * caching (src/server/srv_static_path.c): nothing outside the web root,
 * no hidden files, the SPA fallback only for extension-less paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/srv_static.h"

static void maps_ok(const char *url, const char *want, bool want_spa)
{
    char rel[256];
    bool spa = !want_spa;

    assert_int_equal(srv_static_map(url, rel, sizeof rel, &spa), 0);
    assert_string_equal(rel, want);
    assert_int_equal(spa, want_spa);
}

static void refused(const char *url)
{
    char rel[256];
    bool spa;

    assert_int_equal(srv_static_map(url, rel, sizeof rel, &spa), -1);
}

static void ordinary_paths(void **state)
{
    (void)state;
    maps_ok("/", "index.html", false);
    maps_ok("/index.html", "index.html", false);
    maps_ok("/assets/index-BLD9Vesk.js", "assets/index-BLD9Vesk.js", false);
    maps_ok("//assets///app.css", "assets/app.css", false);
    maps_ok("/assets/", "assets/index.html", false);
    maps_ok("/favicon.ico", "favicon.ico", false);
}

static void spa_routes(void **state)
{
    (void)state;
    maps_ok("/chat", "chat", true);
    maps_ok("/chat/12", "chat/12", true);
    maps_ok("/officer/alerts", "officer/alerts", true);
    /* A dot in a directory does not make the last segment a file. */
    maps_ok("/v1.2/chat", "v1.2/chat", true);
    maps_ok("/missing.js", "missing.js", false);
}

static void traversal_and_hidden(void **state)
{
    (void)state;
    refused("");
    refused("index.html");
    refused("/..");
    refused("/../etc/passwd");
    refused("/assets/../../etc/passwd");
    refused("/assets/..");
    refused("/./index.html");
    refused("/.");
    refused("/.env");
    refused("/.git/config");
    refused("/assets/.hidden.js");
    refused("/a\\..\\..\\etc");
    refused("/a\nb");
    refused("/a\x7f");
    refused(NULL);
}

static void too_long(void **state)
{
    char url[2048], rel[4096];
    bool spa;

    (void)state;
    url[0] = '/';
    memset(url + 1, 'a', sizeof url - 2);
    url[sizeof url - 1] = 0;
    assert_int_equal(srv_static_map(url, rel, sizeof rel, &spa), -1);
    /* The output buffer bounds it too. */
    assert_int_equal(srv_static_map("/assets/abcdef.js", rel, 8, &spa), -1);
    assert_int_equal(srv_static_map("/", rel, 10, &spa), -1);
    assert_int_equal(srv_static_map("/", rel, 11, &spa), 0);
}

static void mime(void **state)
{
    (void)state;
    assert_string_equal(srv_static_mime("index.html"), "text/html; charset=utf-8");
    assert_string_equal(srv_static_mime("assets/a-1.js"), "text/javascript; charset=utf-8");
    assert_string_equal(srv_static_mime("assets/a-1.CSS"), "text/css; charset=utf-8");
    assert_string_equal(srv_static_mime("logo.svg"), "image/svg+xml");
    assert_string_equal(srv_static_mime("f.woff2"), "font/woff2");
    assert_string_equal(srv_static_mime("a.b/noext"), "application/octet-stream");
    assert_string_equal(srv_static_mime("x.exe"), "application/octet-stream");
}

static void caching(void **state)
{
    (void)state;
    assert_string_equal(srv_static_cache_control("index.html"), "no-cache");
    assert_string_equal(srv_static_cache_control("assets/index-BLD9Vesk.js"),
                        "public, max-age=31536000, immutable");
    assert_string_equal(srv_static_cache_control("assetsx/a.js"), "no-cache");
}

static void inside(void **state)
{
    (void)state;
    assert_true(srv_static_inside("/srv/web", "/srv/web"));
    assert_true(srv_static_inside("/srv/web", "/srv/web/index.html"));
    assert_false(srv_static_inside("/srv/web", "/srv/web2/index.html"));
    assert_false(srv_static_inside("/srv/web", "/srv"));
    assert_false(srv_static_inside("/srv/web", "/etc/passwd"));
    assert_true(srv_static_inside("/", "/etc/passwd"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ordinary_paths),
        cmocka_unit_test(spa_routes),
        cmocka_unit_test(traversal_and_hidden),
        cmocka_unit_test(too_long),
        cmocka_unit_test(mime),
        cmocka_unit_test(caching),
        cmocka_unit_test(inside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
