/*
 * test_json.c — the streaming JSON writer of `cordon scan --format json`
 * (src/tool/tool_json.c) against jansson, which the rest of the tool uses:
 * strings (escapes, invalid UTF-8 as U+FFFD, the 8-byte and CJK fast paths,
 * strings around the 8-byte boundary) and integers must come out byte for
 * byte as jansson writes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tool/tool_json.h"

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Writes s[0, n) with tool_jw_str and compares it with jansson's dump of
 * tool_json_string(s, n). */
static void same_as_jansson(const char *s, size_t n)
{
    base_buf b;
    tool_jw w;
    base_buf_init(&b, 1 << 20);
    tool_jw_init(&w, &b);
    tool_jw_str(&w, s, n);
    assert_int_equal(tool_jw_finish(&w), 0);
    json_t *j = tool_json_string(s, n);
    assert_non_null(j);
    char *d = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    assert_non_null(d);
    if (strlen(d) != b.len || memcmp(d, b.p, b.len)) {
        char hex[3 * 64 + 1] = "";
        for (size_t i = 0; i < n && i < 64; i++)
            snprintf(hex + 3 * i, 4, "%02x ", (unsigned char)s[i]);
        fail_msg("input %s\n jansson %s\n writer  %.*s", hex, d, (int)b.len, b.p);
    }
    free(d);
    json_decref(j);
    base_buf_free(&b);
}

static void test_strings(void **state)
{
    (void)state;
    static const char *const fixed[] = {
        "",
        "a",
        "plain ascii text",
        "\"quoted\" and \\back\\slash",
        "tab\there\nnew\rline\b\f",
        "\x01\x1f\x7f",
        "机密★10年 会议纪要",
        "mixed 机密 text that is longer than sixteen",
        "bad \xFF byte",
        "cut \xE6\x9C",
        "surrogate \xED\xA0\x80",
        "overlong \xC0\xAF \xE0\x80\xAF",
        "\xF0\x9F\x98\x80 emoji",
        "\xEF\xBF\xBE nonchar",
        "1234567",
        "12345678",
        "123456789",
        "1234567\"",
        "\"1234567",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        same_as_jansson(fixed[i], strlen(fixed[i]));
    same_as_jansson("nul\0inside", 10);

    /* random strings over the bytes that matter to the escaper and to the
     * UTF-8 check: every length up to 40, so the 8-byte tests meet every
     * alignment and tail */
    static const unsigned char pool[] = {
        'a',  'Z',  ' ',  '"',  '\\', '/',  0x00, 0x01, 0x1f, 0x7f, 0x80, 0xbf,
        0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf4,
        0xf5, 0xff, 0xa0, 0x9f, 0x90, 0x8f, 0xe6, 0x9c, 0xba, 0xe5, 0xaf, 0x86,
    };
    char s[48];
    for (long it = 0; it < 200000; it++) {
        size_t n = (size_t)(next() % 41);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = next();
            s[i] = r % 10 < 3 ? (char)('a' + (r >> 8) % 26) : (char)pool[(r >> 8) % sizeof pool];
        }
        same_as_jansson(s, n);
    }
}

static void int_same_as_printf(int64_t v)
{
    base_buf b;
    tool_jw w;
    char e[32];
    base_buf_init(&b, 1 << 20);
    tool_jw_init(&w, &b);
    tool_jw_int(&w, v);
    assert_int_equal(tool_jw_finish(&w), 0);
    snprintf(e, sizeof e, "%lld", (long long)v);
    if (strlen(e) != b.len || memcmp(e, b.p, b.len))
        fail_msg("%s written as %.*s", e, (int)b.len, b.p);
    base_buf_free(&b);
}

static void test_integers(void **state)
{
    (void)state;
    static const int64_t fixed[] = {0,  1,   9,    10,   11,        99,        100,
                                    -1, -10, -100, 1000, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        int_same_as_printf(fixed[i]);
    for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10)
        for (int64_t d = -1; d <= 1; d++) {
            int_same_as_printf(p + d);
            int_same_as_printf(-(p + d));
        }
    for (long i = 0; i < 100000; i++) {
        int64_t v = (int64_t)(next() >> (next() % 64));
        int_same_as_printf(v);
        int_same_as_printf(-v);
    }
}

/* Appends larger than the staging buffer, and many small ones across its
 * end, arrive whole and in order. */
static void test_big_appends(void **state)
{
    (void)state;
    /* volatile: a size known at compile time lets GCC warn about the
     * inline path it never takes */
    volatile size_t vn = 3 * sizeof(((tool_jw *)0)->tmp) + 5;
    size_t n = vn;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    base_buf b;
    tool_jw w;
    base_buf_init(&b, 1 << 24);
    tool_jw_init(&w, &b);
    for (int i = 0; i < 1000; i++)
        TOOL_JW_LIT(&w, "ab");
    tool_jw_raw(&w, big, n);
    tool_jw_str(&w, big, n);
    assert_int_equal(tool_jw_finish(&w), 0);
    assert_int_equal(b.len, 2000 + n + n + 2);
    assert_memory_equal(b.p + 1998, "ab", 2);
    assert_memory_equal(b.p + 2000, big, n);
    assert_int_equal(b.p[2000 + n], '"');
    assert_int_equal(b.p[b.len - 1], '"');
    free(big);
    base_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_big_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
