/*
 * test_base.c — the base layer: strict UTF-8 against an independent oracle
 * (every 1-, 2- and 3-byte sequence and a sample of 4-byte ones, decoded by
 * hand from RFC 3629's table), encode/decode round trips of every scalar
 * value, the capped buffer, and atomic file writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/base_buf.h"
#include "base/base_file.h"
#include "base/base_text.h"
#include "base/base_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* RFC 3629, section 4 ("Syntax of UTF-8 Byte Sequences"), as a table of
 * byte ranges: the oracle the decoder is held to. */
static int oracle(const unsigned char *s, size_t n)
{
    static const struct {
        int len;
        unsigned char lo[4], hi[4];
    } rows[] = {
        {1, {0x00}, {0x7F}},
        {2, {0xC2, 0x80}, {0xDF, 0xBF}},
        {3, {0xE0, 0xA0, 0x80}, {0xE0, 0xBF, 0xBF}},
        {3, {0xE1, 0x80, 0x80}, {0xEC, 0xBF, 0xBF}},
        {3, {0xED, 0x80, 0x80}, {0xED, 0x9F, 0xBF}},
        {3, {0xEE, 0x80, 0x80}, {0xEF, 0xBF, 0xBF}},
        {4, {0xF0, 0x90, 0x80, 0x80}, {0xF0, 0xBF, 0xBF, 0xBF}},
        {4, {0xF1, 0x80, 0x80, 0x80}, {0xF3, 0xBF, 0xBF, 0xBF}},
        {4, {0xF4, 0x80, 0x80, 0x80}, {0xF4, 0x8F, 0xBF, 0xBF}},
    };

    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int ok = (size_t)rows[r].len <= n;

        for (int i = 0; ok && i < rows[r].len; i++)
            ok = s[i] >= rows[r].lo[i] && s[i] <= rows[r].hi[i];
        if (ok)
            return rows[r].len;
    }
    return 0;
}

static void test_utf8_against_rfc(void **state)
{
    unsigned char b[4];
    uint32_t cp;

    (void)state;
    for (unsigned a = 0; a < 256; a++)
        for (unsigned c = 0; c < 256; c++)
            for (unsigned d = 0; d < 256; d++) {
                b[0] = (unsigned char)a, b[1] = (unsigned char)c, b[2] = (unsigned char)d;
                b[3] = 0x80;
                int want = oracle(b, 3), got = base_utf8_seq(b, 3);
                if (got == 4 || got == -1) /* a 4-byte lead: judge with 4 bytes */
                    continue;
                if (want != got)
                    fail_msg("%02x %02x %02x: seq %d, RFC %d", a, c, d, got, want);
                assert_int_equal(base_utf8_decode(b, 3, &cp), (size_t)want);
            }
    /* 4-byte sequences: every lead and second byte, two continuations */
    for (unsigned a = 0xF0; a < 0x100; a++)
        for (unsigned c = 0; c < 256; c++) {
            b[0] = (unsigned char)a, b[1] = (unsigned char)c, b[2] = 0x80, b[3] = 0xBF;
            assert_int_equal(base_utf8_seq(b, 4), oracle(b, 4));
        }
    /* a valid prefix cut short is -1, an invalid one 0 */
    assert_int_equal(base_utf8_seq((const unsigned char *)"\xE6\x9C", 2), -1);
    assert_int_equal(base_utf8_seq((const unsigned char *)"\xF0\x9F\x98", 3), -1);
    assert_int_equal(base_utf8_seq((const unsigned char *)"\xE0\x80", 2), 0); /* overlong */
    assert_int_equal(base_utf8_seq((const unsigned char *)"\xED\xA0", 2), 0); /* surrogate */
    assert_int_equal(base_utf8_decode((const unsigned char *)"\xE6\x9C", 2, &cp), 0);
}

static void test_utf8_round_trip(void **state)
{
    char out[4];
    uint32_t back;

    (void)state;
    for (uint32_t cp = 0; cp <= 0x10FFFF + 2; cp++) {
        size_t n = base_utf8_encode(cp, out);

        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            assert_int_equal(n, 0);
            continue;
        }
        assert_int_equal(n, cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
        assert_int_equal(base_utf8_decode((const unsigned char *)out, n, &back), n);
        assert_int_equal(back, cp);
        assert_true(base_utf8_valid(out, n));
    }
    assert_true(base_utf8_valid("", 0));
    assert_true(base_utf8_valid("机密★10年 ok", strlen("机密★10年 ok")));
    assert_false(base_utf8_valid("ok \xC0\xAF", 5));      /* overlong '/' */
    assert_false(base_utf8_valid("\xF4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(base_utf8_valid("\xE6\x9C", 2));         /* cut */
}

static void test_buf_cap(void **state)
{
    base_buf b;

    (void)state;
    base_buf_init(&b, 10);
    assert_int_equal(base_buf_adds(&b, "12345"), 0);
    assert_int_equal(base_buf_printf(&b, "%d", 6789), 0);
    assert_string_equal(b.p, "123456789");
    assert_false(b.truncated);
    /* past the cap: refused whole, the content unchanged */
    assert_int_equal(base_buf_adds(&b, "ab"), -1);
    assert_true(b.truncated);
    assert_string_equal(b.p, "123456789");
    assert_int_equal(base_buf_printf(&b, "%s", "xy"), -1);
    assert_int_equal(base_buf_add(&b, "0", 1), 0); /* exactly the cap */
    assert_int_equal(b.len, 10);
    base_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_false(b.truncated);
    assert_string_equal(b.p, "");
    base_buf_free(&b);
    assert_null(b.p);
}

static void test_file_atomic(void **state)
{
    char dir[] = "/tmp/cordon-base-XXXXXX", path[64], buf[64];
    struct stat st;
    FILE *f;
    size_t n;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/key", dir);
    assert_int_equal(base_file_write_atomic(path, "first", 5, 0600), 0);
    assert_int_equal(base_file_write_atomic(path, "second!", 7, 0640), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "second!", 7);
    /* no temporary file is left behind */
    snprintf(buf, sizeof buf, "ls -A '%s' | wc -l", dir);
    f = popen(buf, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    pclose(f);
    assert_int_equal(atoi(buf), 1);
    /* directories with their parents, twice */
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    assert_int_equal(base_file_mkdir_p(path, 0700), 0);
    assert_int_equal(base_file_mkdir_p(path, 0700), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(buf, sizeof buf, "rm -r '%s/a'", dir);
    assert_int_equal(system(buf), 0);
    snprintf(path, sizeof path, "%s/key", dir);
    /* a directory that does not exist: an error, errno set */
    assert_int_equal(base_file_write_atomic("/nonexistent-dir/x", "a", 1, 0600), -1);
    unlink(path);
    rmdir(dir);
}

static void test_text_shape(void **state)
{
    (void)state;
    assert_int_equal(base_text_check("周例会 2026", strlen("周例会 2026"), 8), BASE_TEXT_OK);
    assert_int_equal(base_text_check("周例会 2026", strlen("周例会 2026"), 7), BASE_TEXT_TOO_LONG);
    assert_int_equal(base_text_check("", 0, 0), BASE_TEXT_OK);
    assert_int_equal(base_text_check("a\nb", 3, 64), BASE_TEXT_FORBIDDEN);
    assert_int_equal(base_text_check("a\x7f", 2, 64), BASE_TEXT_FORBIDDEN);
    assert_int_equal(base_text_check("\xc2\x85", 2, 64), BASE_TEXT_FORBIDDEN); /* NEL */
    assert_int_equal(base_text_check("gpj\xe2\x80\xae"
                                     "exe",
                                     9, 64),
                     BASE_TEXT_FORBIDDEN);                                          /* RLO */
    assert_int_equal(base_text_check("\xe2\x81\xa6x", 4, 64), BASE_TEXT_FORBIDDEN); /* LRI */
    assert_int_equal(base_text_check("\xe2\x80\x8bx", 4, 64), BASE_TEXT_OK); /* ZWSP: the guard's */
    assert_int_equal(base_text_check("ab\xc0\xaf", 4, 64), BASE_TEXT_BAD_UTF8);
    /* invalid UTF-8 is told before the length or a control */
    assert_int_equal(base_text_check("\n\xff", 2, 0), BASE_TEXT_BAD_UTF8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_against_rfc), cmocka_unit_test(test_utf8_round_trip),
        cmocka_unit_test(test_buf_cap),          cmocka_unit_test(test_file_atomic),
        cmocka_unit_test(test_text_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
