/*
 * test_srv_chunked.c — the chunked transfer coding decoder of upload
 * bodies (src/server/srv_chunked.c): every split of a body decodes to the
 * same bytes, the end is found, and malformed framing is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/srv_chunked.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
    char buf[4096];
    size_t len;
    size_t stop_after; /* answer 1 once this many bytes arrived (0: never) */
} sink;

static int collect(void *arg, const unsigned char *p, size_t n)
{
    sink *s = arg;

    assert_true(s->len + n <= sizeof s->buf);
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return s->stop_after && s->len >= s->stop_after ? 1 : 0;
}

/* Feeds body in pieces of `step` bytes; returns the last answer and the
 * bytes of the body taken in all. */
static int feed_steps(srv_chunked *c, const char *body, size_t len, size_t step, sink *s,
                      size_t *taken)
{
    int rc = 0;

    *taken = 0;
    for (size_t i = 0; i < len && !rc;) {
        size_t n = len - i < step ? len - i : step, used = 0;

        rc = srv_chunked_feed(c, body + i, n, collect, s, &used);
        *taken += used;
        if (srv_chunked_done(c))
            break;
        i += n;
    }
    return rc;
}

static const char BODY[] = "5\r\nhello\r\n"
                           "7;name=\"x y\"\r\n, world\r\n"
                           "1A \t;ext\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                           "0\r\n"
                           "X-Trailer: ignored\r\n"
                           "\r\n";

/* Every split, byte by byte up to all at once, gives the same bytes and
 * finds the end exactly. */
static void every_split(void **state)
{
    const size_t len = sizeof BODY - 1;

    (void)state;
    for (size_t step = 1; step <= len; step++) {
        srv_chunked c;
        sink s = {0};
        size_t taken;

        srv_chunked_init(&c);
        assert_int_equal(feed_steps(&c, BODY, len, step, &s, &taken), 0);
        assert_true(srv_chunked_done(&c));
        assert_int_equal(taken, len);
        assert_int_equal(s.len, 38);
        assert_memory_equal(s.buf, "hello, worldabcdefghijklmnopqrstuvwxyz", 38);
        assert_int_equal(c.decoded, 38);
    }
}

/* Bytes after the end belong to no body: not read. */
static void stops_at_end(void **state)
{
    static const char b[] = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    srv_chunked c;
    sink s = {0};
    size_t used = 0;

    (void)state;
    srv_chunked_init(&c);
    assert_int_equal(srv_chunked_feed(&c, b, sizeof b - 1, collect, &s, &used), 0);
    assert_true(srv_chunked_done(&c));
    assert_int_equal(used, strlen("3\r\nabc\r\n0\r\n\r\n"));
    /* and nothing more once done */
    assert_int_equal(srv_chunked_feed(&c, "x", 1, collect, &s, &used), 0);
    assert_int_equal(used, 0);
    assert_int_equal(s.len, 3);
}

/* The data callback may stop the decoding (the upload's length). */
static void callback_stops(void **state)
{
    static const char b[] = "a\r\n0123456789\r\n0\r\n\r\n";
    srv_chunked c;
    sink s = {.stop_after = 4};

    (void)state;
    srv_chunked_init(&c);
    /* one call: the whole chunk goes to the callback in one run */
    assert_int_equal(srv_chunked_feed(&c, b, sizeof b - 1, collect, &s, NULL), 1);
    assert_false(srv_chunked_done(&c));
}

/* Malformed framing: refused, and stays refused. */
static void malformed(void **state)
{
    static const char *const bad[] = {
        "\r\n",                       /* no size */
        "g\r\nx\r\n0\r\n\r\n",        /* not hex */
        "3\nabc\r\n0\r\n\r\n",        /* bare LF after the size */
        "3\r\nabcd\r\n0\r\n\r\n",     /* more data than the size */
        "3\r\nabc\n0\r\n\r\n",        /* bare LF after the data */
        "1000000000000000\r\n",       /* 16 hex digits */
        "-1\r\n",                     /* a sign */
        "3;\x01\r\nabc\r\n0\r\n\r\n", /* a control in an extension */
        "0\r\nX: \x7f\r\n\r\n",       /* a control in a trailer */
        "0\r\nX: y\n\r\n",            /* bare LF in the trailer */
        "3\r\nabc\r\r\n",             /* CR CR */
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        srv_chunked c;
        sink s = {0};

        srv_chunked_init(&c);
        assert_int_equal(srv_chunked_feed(&c, bad[i], strlen(bad[i]), collect, &s, NULL), -1);
        assert_int_equal(c.st, SRV_CHUNKED_BAD);
        assert_int_equal(srv_chunked_feed(&c, "0\r\n\r\n", 5, collect, &s, NULL), -1);
        assert_false(srv_chunked_done(&c));
    }
}

/* Lines are bounded: a size line with endless extensions, a trailer
 * section past its cap. */
static void bounded(void **state)
{
    char *b = malloc(SRV_CHUNKED_TRAILER_MAX * 2 + 64);
    srv_chunked c;
    sink s = {0};
    size_t n;

    (void)state;
    if (!b) { /* (not assert_non_null: gcc -O2 with ASan cannot tell it ends here) */
        fail();
        return;
    }
    n = (size_t)sprintf(b, "1;");
    memset(b + n, 'e', SRV_CHUNKED_LINE_MAX);
    n += SRV_CHUNKED_LINE_MAX;
    srv_chunked_init(&c);
    assert_int_equal(srv_chunked_feed(&c, b, n, collect, &s, NULL), -1);

    /* trailer fields each under the line cap, together over the section's */
    n = (size_t)sprintf(b, "0\r\n");
    while (n < SRV_CHUNKED_TRAILER_MAX + 200)
        n += (size_t)sprintf(b + n, "X-Field: %0100d\r\n", 0);
    srv_chunked_init(&c);
    assert_int_equal(srv_chunked_feed(&c, b, n, collect, &s, NULL), -1);
    free(b);
}

/* Sizes up to 15 hex digits are read whole (the caller bounds the body). */
static void large_size(void **state)
{
    srv_chunked c;
    sink s = {0};

    (void)state;
    srv_chunked_init(&c);
    assert_int_equal(srv_chunked_feed(&c, "fffffffffffffff\r\nab", 19, collect, &s, NULL), 0);
    assert_int_equal(c.st, SRV_CHUNKED_DATA);
    assert_true(c.left == 0xfffffffffffffffull - 2);
    assert_int_equal(s.len, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_split),    cmocka_unit_test(stops_at_end),
        cmocka_unit_test(callback_stops), cmocka_unit_test(malformed),
        cmocka_unit_test(bounded),        cmocka_unit_test(large_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
