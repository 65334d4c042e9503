/*
 * test_validate.c — unit tests for the validators in guard_validate.h.
 *
 * Where a checksum is involved, valid inputs are produced here by an
 * independent formulation of the algorithm (recursive MOD 11-2, a doubling
 * Luhn pass) and cross-checked against published examples, so a wrong weight
 * table in the code under test cannot agree with its own test. Every
 * single-character corruption of a valid number must then be rejected, which
 * is the property these checksums exist for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "guard/guard_validate.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- PRC identity numbers ----------------------------------------------- */

/* Recursive ISO 7064 MOD 11-2 (p = 2 * (p + d) mod 11 per digit), not the
 * weight table the implementation uses. */
static char mod11_2_check(const char *body17)
{
    unsigned p = 0, v;
    for (int i = 0; i < 17; i++)
        p = (p + (unsigned)(body17[i] - '0')) * 2 % 11;
    v = (12 - p) % 11;
    return v == 10 ? 'X' : (char)('0' + v);
}

/* Writes region + birth date + sequence + check digit into out[19]. */
static void make_cn_id(char out[19], const char *region6, const char *date8, unsigned seq)
{
    snprintf(out, 19, "%.6s%.8s%03u", region6, date8, seq % 1000);
    out[17] = mod11_2_check(out);
    out[18] = '\0';
}

static void test_cn_id_reference(void **state)
{
    (void)state;
    /* The worked example from GB 11643-1999 itself. */
    assert_int_equal(mod11_2_check("11010519491231002"), 'X');
    assert_true(guard_valid_cn_id(S("11010519491231002X")));
    assert_true(guard_valid_cn_id(S("11010519491231002x")));
    assert_false(guard_valid_cn_id(S("110105194912310021")));
}

static void test_cn_id_valid_and_corrupted(void **state)
{
    static const char *const regions[] = {"110101", "150102", "310104", "440305",
                                          "500101", "540102", "650102", "710000",
                                          "810000", "820000", "830000", "910000"};
    static const char *const dates[] = {"19000101", "19491001", "19800229", "20000229",
                                        "20240229", "20991231", "19991130"};
    char id[19];
    (void)state;

    for (size_t r = 0; r < sizeof regions / sizeof regions[0]; r++) {
        for (size_t d = 0; d < sizeof dates / sizeof dates[0]; d++) {
            make_cn_id(id, regions[r], dates[d], (unsigned)(r * 31 + d * 7));
            assert_true(guard_valid_cn_id(id, 18));

            /* Every other check character fails. */
            char good = id[17];
            for (const char *c = "0123456789X"; *c; c++) {
                id[17] = *c;
                if (*c != good)
                    assert_false(guard_valid_cn_id(id, 18));
            }
            id[17] = good;

            /* MOD 11-2 catches every single-digit substitution in the body. */
            for (int i = 0; i < 17; i++) {
                char orig = id[i];
                for (char c = '0'; c <= '9'; c++) {
                    if (c == orig)
                        continue;
                    id[i] = c;
                    assert_false(guard_valid_cn_id(id, 18));
                }
                id[i] = orig;
            }
            assert_true(guard_valid_cn_id(id, 18));
        }
    }
}

static void test_cn_id_lowercase_x(void **state)
{
    char id[19];
    unsigned seq;
    (void)state;

    for (seq = 0; seq < 1000; seq++) {
        make_cn_id(id, "320102", "19870615", seq);
        if (id[17] == 'X')
            break;
    }
    assert_true(seq < 1000);
    assert_true(guard_valid_cn_id(id, 18));
    id[17] = 'x';
    assert_true(guard_valid_cn_id(id, 18));
}

/* A well-formed checksum around an impossible field must still fail: the
 * checksum alone is not what makes a number an identity number. */
static void test_cn_id_bad_fields(void **state)
{
    static const char *const bad_dates[] = {
        "19000229", /* 1900 is not a leap year (century rule) */
        "20230229", /* nor is 2023 */
        "21000229", /* out of range and not leap */
        "18991231", /* before 1900 */
        "21000101", /* after 2099 */
        "19901301", /* month 13 */
        "19900001", /* month 0 */
        "19900100", /* day 0 */
        "19900132", /* day 32 */
        "19900431", /* April has 30 days */
        "19901131", /* November has 30 days */
    };
    static const char *const bad_regions[] = {"990101", "000101", "100101", "160101", "200101",
                                              "240101", "380101", "470101", "550101", "660101",
                                              "720101", "800101", "840101", "900101", "920101"};
    char id[19];
    (void)state;

    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
        make_cn_id(id, "110101", bad_dates[i], 123);
        assert_false(guard_valid_cn_id(id, 18));
    }
    for (size_t i = 0; i < sizeof bad_regions / sizeof bad_regions[0]; i++) {
        make_cn_id(id, bad_regions[i], "19900307", 123);
        assert_false(guard_valid_cn_id(id, 18));
    }
    /* The same numbers with a known region pass, so region was the cause. */
    make_cn_id(id, "110101", "19900307", 123);
    assert_true(guard_valid_cn_id(id, 18));
}

static void test_cn_id_shape(void **state)
{
    char id[24];
    (void)state;

    make_cn_id(id, "110101", "19900307", 42);
    assert_true(guard_valid_cn_id(id, 18));
    assert_false(guard_valid_cn_id(id, 17));
    assert_false(guard_valid_cn_id(id, 0));
    memcpy(id + 18, "1", 2);
    assert_false(guard_valid_cn_id(id, 19));
    /* X anywhere but the end, or a non-digit in the body. */
    assert_false(guard_valid_cn_id(S("1101011990030X4211")));
    id[5] = 'a';
    assert_false(guard_valid_cn_id(id, 18));
}

/* ---- Luhn --------------------------------------------------------------- */

/* The check digit that completes body, by doubling every second digit from
 * the right of the final number (written independently of the code). */
static char luhn_complete(const char *body)
{
    size_t n = strlen(body);
    unsigned sum = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned d = (unsigned)(body[n - 1 - k] - '0');
        if (k % 2 == 0) { /* becomes an odd position once the check is appended */
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return (char)('0' + (10 - sum % 10) % 10);
}

static void test_luhn_known(void **state)
{
    (void)state;
    assert_true(guard_valid_luhn(S("4111111111111111")));
    assert_true(guard_valid_luhn(S("5500000000000004")));
    assert_true(guard_valid_luhn(S("378282246310005")));
    assert_true(guard_valid_luhn(S("6222021234567890128"))); /* 19-digit UnionPay shape */
    assert_true(guard_valid_luhn(S("6217001234567893")));
    assert_int_equal(luhn_complete("622202123456789012"), '8');
    assert_int_equal(luhn_complete("411111111111111"), '1');

    assert_false(guard_valid_luhn(S("4111111111111112")));
    assert_false(guard_valid_luhn(S("4111111111111110")));
    assert_false(guard_valid_luhn(S("6222021234567890127")));
    assert_false(guard_valid_luhn(S("6222021234567890129")));
}

static void test_luhn_separators_and_length(void **state)
{
    (void)state;
    assert_true(guard_valid_luhn(S("4111 1111 1111 1111")));
    assert_true(guard_valid_luhn(S("4111-1111-1111-1111")));
    assert_true(guard_valid_luhn(S("6222 0212 3456 7890 128")));
    assert_false(guard_valid_luhn(S("4111.1111.1111.1111")));
    assert_false(guard_valid_luhn(S("4111a111111111111")));
    assert_false(guard_valid_luhn(S("4111111111111111\n")));
    /* The 12-digit minimum: all zeros is Luhn-valid at any length. */
    assert_true(guard_valid_luhn(S("000000000000")));
    assert_false(guard_valid_luhn(S("00000000000")));
    assert_false(guard_valid_luhn(S("0000 0000 000")));
    assert_false(guard_valid_luhn(S("")));
    assert_false(guard_valid_luhn(S("            ")));
}

static void test_luhn_single_substitutions(void **state)
{
    static const char *const bodies[] = {"62220212345678901", "411111111111111", "62284800000000",
                                         "356600202036050", "622848012345678901"};
    char num[32];
    (void)state;

    for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
        size_t n = strlen(bodies[b]);
        memcpy(num, bodies[b], n);
        num[n] = luhn_complete(bodies[b]);
        num[n + 1] = '\0';
        assert_true(guard_valid_luhn(num, n + 1));
        for (size_t i = 0; i <= n; i++) {
            char orig = num[i];
            for (char c = '0'; c <= '9'; c++) {
                if (c == orig)
                    continue;
                num[i] = c;
                assert_false(guard_valid_luhn(num, n + 1));
            }
            num[i] = orig;
        }
    }
}

/* ---- Hong Kong ---------------------------------------------------------- */

/* Check value for letters + six digits: (space = 36, A = 10) weights 9..2,
 * computed as the value c that makes the weighted sum divisible by 11. */
static char hkid_check(const char *letters, const char *digits)
{
    unsigned v[8], sum = 0, k = 0;
    if (strlen(letters) == 1)
        v[k++] = 36;
    for (const char *p = letters; *p; p++)
        v[k++] = (unsigned)(*p - 'A' + 10);
    for (const char *p = digits; *p; p++)
        v[k++] = (unsigned)(*p - '0');
    for (unsigned i = 0; i < 8; i++)
        sum += v[i] * (9 - i);
    for (unsigned c = 0; c <= 10; c++) {
        if ((sum + c) % 11 == 0)
            return c == 10 ? 'A' : (char)('0' + c);
    }
    return '?';
}

static void test_hkid_known(void **state)
{
    (void)state;
    assert_int_equal(hkid_check("A", "123456"), '3');
    assert_int_equal(hkid_check("AB", "987654"), '3');
    assert_true(guard_valid_hkid(S("A123456(3)")));
    assert_true(guard_valid_hkid(S("A1234563")));
    assert_true(guard_valid_hkid(S("a123456(3)")));
    assert_true(guard_valid_hkid(S("AB9876543")));
    assert_true(guard_valid_hkid(S("AB987654(3)")));
    assert_true(guard_valid_hkid(S("ab987654(3)")));
    /* Check value 10 is written A, 11 (sum already divisible) is 0. */
    assert_int_equal(hkid_check("A", "100004"), 'A');
    assert_true(guard_valid_hkid(S("A100004(A)")));
    assert_true(guard_valid_hkid(S("A100004a")));
    assert_int_equal(hkid_check("B", "100005"), '0');
    assert_true(guard_valid_hkid(S("B100005(0)")));
    assert_int_equal(hkid_check("XY", "100009"), '0');
    assert_true(guard_valid_hkid(S("XY100009(0)")));

    assert_false(guard_valid_hkid(S("A123456(4)")));
    assert_false(guard_valid_hkid(S("A123456(A)")));
    assert_false(guard_valid_hkid(S("B123456(3)")));
    assert_false(guard_valid_hkid(S("A100004(B)")));
}

static void test_hkid_shape(void **state)
{
    (void)state;
    assert_false(guard_valid_hkid(S("A123456(3")));
    assert_false(guard_valid_hkid(S("A1234563)")));
    assert_false(guard_valid_hkid(S("A123456[3]")));
    assert_false(guard_valid_hkid(S("A123456(3]")));
    assert_false(guard_valid_hkid(S("AB987654(3 ")));
    assert_false(guard_valid_hkid(S("A12345(3)")));
    assert_false(guard_valid_hkid(S("A1234567(3)")));
    assert_false(guard_valid_hkid(S("ABC123456(3)")));
    assert_false(guard_valid_hkid(S("1123456(3)")));
    assert_false(guard_valid_hkid(S("A12a456(3)")));
    assert_false(guard_valid_hkid(S("A123456")));
    assert_false(guard_valid_hkid(S("")));
}

static void test_hkid_generated(void **state)
{
    static const char *const prefixes[] = {"A", "C", "K", "R", "Z", "AB", "WX", "XA"};
    char id[16];
    (void)state;

    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
        for (unsigned n = 100000; n < 100050; n++) {
            char digits[8];
            snprintf(digits, sizeof digits, "%06u", n);
            int len = snprintf(id, sizeof id, "%s%s(%c)", prefixes[p], digits,
                               hkid_check(prefixes[p], digits));
            assert_true(guard_valid_hkid(id, (size_t)len));
            /* Any other check value fails. */
            char good = id[len - 2];
            for (const char *c = "0123456789A"; *c; c++) {
                id[len - 2] = *c;
                if (*c != good)
                    assert_false(guard_valid_hkid(id, (size_t)len));
            }
        }
    }
}

/* ---- Taiwan ------------------------------------------------------------- */

static void test_twid(void **state)
{
    (void)state;
    assert_true(guard_valid_twid(S("A123456789")));
    assert_true(guard_valid_twid(S("a123456789")));
    /* Letters whose area codes are out of alphabetical order. */
    assert_true(guard_valid_twid(S("I212345671"))); /* I = 34 */
    assert_true(guard_valid_twid(S("O112345670"))); /* O = 35 */
    assert_true(guard_valid_twid(S("Z212345670"))); /* Z = 33 */

    assert_false(guard_valid_twid(S("A123456788")));
    assert_false(guard_valid_twid(S("B123456789")));
    assert_false(guard_valid_twid(S("I212345672")));
    /* Checksum holds but the sex digit is neither 1 nor 2. */
    assert_false(guard_valid_twid(S("A312345671")));
    assert_false(guard_valid_twid(S("A12345678")));
    assert_false(guard_valid_twid(S("A1234567890")));
    assert_false(guard_valid_twid(S("1123456789")));
    assert_false(guard_valid_twid(S("A12345678X")));
}

/* The Taiwan checksum from the published definition, written as a lookup
 * string of area codes rather than the implementation's table. */
static bool twid_sum_ok(const char *id)
{
    static const char *const codes = "10111213141516173418192021"
                                     "22352324252627282932303133";
    int letter = (id[0] | 0x20) - 'a';
    unsigned v[11] = {(unsigned)(codes[2 * letter] - '0'), (unsigned)(codes[2 * letter + 1] - '0')};
    static const unsigned w[11] = {1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1};
    unsigned sum = 0;
    for (int i = 0; i < 9; i++)
        v[2 + i] = (unsigned)(id[1 + i] - '0');
    for (int i = 0; i < 11; i++)
        sum += v[i] * w[i];
    return sum % 10 == 0;
}

static void test_twid_all_letters_and_substitutions(void **state)
{
    char id[11];
    int valid = 0, rejected = 0;
    (void)state;

    assert_true(twid_sum_ok("A123456789"));
    /* For every letter, exactly one check digit completes a body. */
    for (char l = 'A'; l <= 'Z'; l++) {
        int hits = 0;
        for (char c = '0'; c <= '9'; c++) {
            snprintf(id, sizeof id, "%c21098765%c", l, c);
            assert_int_equal(guard_valid_twid(id, 10), twid_sum_ok(id));
            hits += guard_valid_twid(id, 10);
        }
        assert_int_equal(hits, 1);
    }
    /* Weights 2, 4, 5 and 6 share a factor with 10, so some substitutions
     * go undetected; the validator must agree with the definition on each. */
    memcpy(id, "A123456789", 11);
    for (int i = 2; i < 10; i++) {
        char orig = id[i];
        for (char c = '0'; c <= '9'; c++) {
            if (c == orig)
                continue;
            id[i] = c;
            bool want = twid_sum_ok(id);
            assert_int_equal(guard_valid_twid(id, 10), want);
            valid += want;
            rejected += !want;
        }
        id[i] = orig;
    }
    assert_true(valid > 0 && rejected > valid);
}

/* ---- Macau -------------------------------------------------------------- */

static void test_macau_id(void **state)
{
    (void)state;
    assert_true(guard_valid_macau_id(S("1234567(8)")));
    assert_true(guard_valid_macau_id(S("5123456(0)")));
    assert_true(guard_valid_macau_id(S("7000000(9)")));
    assert_false(guard_valid_macau_id(S("2234567(8)")));
    assert_false(guard_valid_macau_id(S("0234567(8)")));
    assert_false(guard_valid_macau_id(S("12345678")));
    assert_false(guard_valid_macau_id(S("1234567(8")));
    assert_false(guard_valid_macau_id(S("1234567(A)")));
    assert_false(guard_valid_macau_id(S("123456(8)")));
    assert_false(guard_valid_macau_id(S("12345a7(8)")));
}

/* ---- mainland mobile ---------------------------------------------------- */

static void test_cn_mobile(void **state)
{
    (void)state;
    assert_true(guard_valid_cn_mobile(S("13812345678")));
    assert_true(guard_valid_cn_mobile(S("19912345678")));
    assert_true(guard_valid_cn_mobile(S("138 1234 5678")));
    assert_true(guard_valid_cn_mobile(S("138-1234-5678")));
    assert_true(guard_valid_cn_mobile(S("+8613812345678")));
    assert_true(guard_valid_cn_mobile(S("+86 138 1234 5678")));
    assert_true(guard_valid_cn_mobile(S("86-138-1234-5678")));
    assert_true(guard_valid_cn_mobile(S("8613812345678")));

    assert_false(guard_valid_cn_mobile(S("12812345678"))); /* 12x is not mobile */
    assert_false(guard_valid_cn_mobile(S("10812345678")));
    assert_false(guard_valid_cn_mobile(S("23812345678")));
    assert_false(guard_valid_cn_mobile(S("1381234567")));   /* 10 digits */
    assert_false(guard_valid_cn_mobile(S("138123456789"))); /* 12 digits */
    assert_false(guard_valid_cn_mobile(S("+13812345678"))); /* + without 86 */
    assert_false(guard_valid_cn_mobile(S("+8713812345678")));
    assert_false(guard_valid_cn_mobile(S("8713812345678")));
    assert_false(guard_valid_cn_mobile(S("+86128123456789")));
    assert_false(guard_valid_cn_mobile(S("138a2345678")));
    assert_false(guard_valid_cn_mobile(S("138.1234.5678")));
    assert_false(guard_valid_cn_mobile(S("138123456780000000000000")));
    assert_false(guard_valid_cn_mobile(S("")));
    assert_false(guard_valid_cn_mobile(S("+")));
}

/* ---- entropy ------------------------------------------------------------ */

static void test_entropy(void **state)
{
    char all[256];
    (void)state;

    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    assert_true(guard_entropy(all, 256) == 8.0);
    assert_true(guard_entropy(S("")) == 0.0);
    assert_true(guard_entropy(S("aaaaaaaa")) == 0.0);
    assert_true(guard_entropy(all, 1) == 0.0);
    assert_true(fabs(guard_entropy(S("ab")) - 1.0) < 1e-12);
    assert_true(fabs(guard_entropy(S("aabb")) - 1.0) < 1e-12);
    assert_true(fabs(guard_entropy(S("abcd")) - 2.0) < 1e-12);
    /* p = 2/3, 1/3 */
    double want = -(2.0 / 3 * log2(2.0 / 3) + 1.0 / 3 * log2(1.0 / 3));
    assert_true(fabs(guard_entropy(S("aab")) - want) < 1e-12);
    /* Order does not matter, and high bytes count as themselves. */
    assert_true(fabs(guard_entropy(S("\xff\x80\xff\x80")) - 1.0) < 1e-12);
    /* A random-looking key is far above English text. */
    assert_true(guard_entropy(S("xK9#qL2$vB7!mN4&")) > 3.9);
    assert_true(guard_entropy(S("the the the the ")) < 2.1);
}

/* ---- IPv4 hosts --------------------------------------------------------- */

static void assert_ipv4(const char *s, uint32_t want)
{
    uint32_t got = 0xdeadbeef;
    if (!guard_parse_ipv4_host(s, strlen(s), &got))
        fail_msg("\"%s\" was not parsed", s);
    if (got != want)
        fail_msg("\"%s\" gave 0x%08x, want 0x%08x", s, (unsigned)got, (unsigned)want);
}

static void assert_not_ipv4(const char *s)
{
    uint32_t got = 0xdeadbeef;
    if (guard_parse_ipv4_host(s, strlen(s), &got))
        fail_msg("\"%s\" was parsed as 0x%08x", s, (unsigned)got);
    assert_int_equal(got, 0xdeadbeef); /* OUT untouched on failure */
}

static void test_ipv4_loopback_forms(void **state)
{
    static const char *const forms[] = {
        "127.0.0.1", "2130706433", "0x7f000001",   "0X7F000001",   "0177.0.0.1", "127.1",
        "127.0.1",   "0x7f.1",     "0x7f.0.0.0x1", "017700000001", "127.0.0.1.", "0177.0x0.0.01"};
    (void)state;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        assert_ipv4(forms[i], 0x7f000001);
}

static void test_ipv4_ranges(void **state)
{
    (void)state;
    assert_ipv4("0.0.0.0", 0);
    assert_ipv4("0", 0);
    assert_ipv4("255.255.255.255", 0xffffffff);
    assert_ipv4("4294967295", 0xffffffff);
    assert_ipv4("0xffffffff", 0xffffffff);
    assert_ipv4("037777777777", 0xffffffff);
    assert_ipv4("1.2.65535", 0x0102ffff);
    assert_ipv4("1.16777215", 0x01ffffff);
    assert_ipv4("192.168.1.10", 0xc0a8010a);
    assert_ipv4("10.0.0.010", 0x0a000008); /* 010 is octal */
    assert_ipv4("0x.0x.0x.0x", 0);         /* empty hex part is 0 (WHATWG) */
    assert_ipv4("00000000000000000000000000000000127.0.0.1", 0x57000001);

    assert_not_ipv4("256.1.1.1");
    assert_not_ipv4("1.256.1.1");
    assert_not_ipv4("1.1.1.256");
    assert_not_ipv4("1.2.65536");
    assert_not_ipv4("1.16777216");
    assert_not_ipv4("4294967296");
    assert_not_ipv4("0x100000000");
    assert_not_ipv4("040000000000");
    assert_not_ipv4("99999999999999999999999999999999");
    assert_not_ipv4("0x7fffffffffffffffffffffff");
    /* 2^64 + 1: would wrap to 1 without the early overflow check. */
    assert_not_ipv4("18446744073709551617");
    assert_not_ipv4("0x10000000000000001");
    assert_not_ipv4("1.2.3.18446744073709551620");
}

static void test_ipv4_malformed(void **state)
{
    (void)state;
    assert_not_ipv4("1.2.3.4.5");
    assert_not_ipv4("1..2.3");
    assert_not_ipv4(".1.2.3");
    assert_not_ipv4("1.2.3.4..");
    assert_not_ipv4(".");
    assert_not_ipv4("");
    assert_not_ipv4("1.2.3.4x");
    assert_not_ipv4("1.2.3.4 ");
    assert_not_ipv4("08.0.0.1"); /* 8 is not octal */
    assert_not_ipv4("0x1g.0.0.1");
    assert_not_ipv4("1a.0.0.1"); /* hex digits need 0x */
    assert_not_ipv4("+1.2.3.4");
    assert_not_ipv4("-1.2.3.4");
    assert_not_ipv4("example.com");
    assert_not_ipv4("1.2.3.com");
}

/* ---- edit distance ------------------------------------------------------ */

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(guard_edit_distance(S("kitten"), S("sitting"), 5), 3);
    assert_int_equal(guard_edit_distance(S("sitting"), S("kitten"), 5), 3);
    assert_int_equal(guard_edit_distance(S("ca"), S("ac"), 5), 1);
    assert_int_equal(guard_edit_distance(S("paypal"), S("paypa1"), 5), 1);
    assert_int_equal(guard_edit_distance(S("google"), S("googel"), 5), 1);
    assert_int_equal(guard_edit_distance(S("flaw"), S("lawn"), 5), 2);
    /* Optimal string alignment may not edit a transposed pair again:
     * "ca" -> "abc" is 3 here, where unrestricted Damerau gives 2. */
    assert_int_equal(guard_edit_distance(S("ca"), S("abc"), 5), 3);
    assert_int_equal(guard_edit_distance(S("same"), S("same"), 5), 0);
    assert_int_equal(guard_edit_distance(S(""), S(""), 5), 0);
    assert_int_equal(guard_edit_distance(S(""), S("abc"), 5), 3);
    assert_int_equal(guard_edit_distance(S("abc"), S(""), 5), 3);
    assert_int_equal(guard_edit_distance(S("Abc"), S("abc"), 5), 1); /* bytes, not folded */
}

static void test_edit_distance_cap(void **state)
{
    char a[65], b[65];
    (void)state;

    /* Above the cap the answer is cap + 1, whatever the true distance. */
    assert_int_equal(guard_edit_distance(S("kitten"), S("sitting"), 3), 3);
    assert_int_equal(guard_edit_distance(S("kitten"), S("sitting"), 2), 3);
    assert_int_equal(guard_edit_distance(S("kitten"), S("sitting"), 1), 2);
    assert_int_equal(guard_edit_distance(S("kitten"), S("sitting"), 0), 1);
    assert_int_equal(guard_edit_distance(S("abcdef"), S("uvwxyz"), 2), 3);
    assert_int_equal(guard_edit_distance(S("a"), S("abcdefgh"), 3), 4);
    assert_int_equal(guard_edit_distance(S("a"), S("a"), 0), 0);
    assert_int_equal(guard_edit_distance(S("a"), S("b"), 0), 1);
    assert_int_equal(guard_edit_distance(S("a"), S("b"), 4000000000u), 1);
    assert_int_equal(guard_edit_distance(S("a"), S("b"), UINT_MAX), 1);

    /* 63 bytes is the longest compared; 64 is refused even when equal. */
    memset(a, 'x', sizeof a);
    memset(b, 'x', sizeof b);
    assert_int_equal(guard_edit_distance(a, 63, b, 63, 2), 0);
    b[62] = 'y';
    assert_int_equal(guard_edit_distance(a, 63, b, 63, 2), 1);
    assert_int_equal(guard_edit_distance(a, 64, b, 64, 2), 3);
    assert_int_equal(guard_edit_distance(a, 64, a, 64, 2), 3);
    assert_int_equal(guard_edit_distance(a, 63, a, 64, 7), 8);
    assert_int_equal(guard_edit_distance(a, 64, a, 63, 7), 8);
    assert_int_equal(guard_edit_distance(a, 64, a, 64, UINT_MAX), UINT_MAX);
    memset(b, 'y', 63);
    assert_int_equal(guard_edit_distance(a, 63, b, 63, 100), 63);
}

/* ---- registrable domain ------------------------------------------------- */

static void assert_registrable(const char *host, const char *want)
{
    size_t off = guard_registrable_offset(host, strlen(host));
    if (off > strlen(host) || strcmp(host + off, want) != 0)
        fail_msg("\"%s\" gave \"%s\", want \"%s\"", host, off > strlen(host) ? "?" : host + off,
                 want);
}

static void test_registrable(void **state)
{
    (void)state;
    assert_registrable("mail.example.com", "example.com");
    assert_registrable("a.b.c.example.com", "example.com");
    assert_registrable("example.com", "example.com");
    assert_registrable("localhost", "localhost");
    assert_registrable("", "");
    assert_registrable("a.b.gov.cn", "b.gov.cn");
    assert_registrable("www.gov.cn", "www.gov.cn");
    assert_registrable("gov.cn", "gov.cn");
    assert_registrable("mail.corp.example.com.cn", "example.com.cn");
    assert_registrable("www.pku.edu.cn", "pku.edu.cn");
    assert_registrable("x.y.bj.cn", "y.bj.cn");
    assert_registrable("www.example.cn", "example.cn");
    assert_registrable("www.bbc.co.uk", "bbc.co.uk");
    assert_registrable("news.example.com.hk", "example.com.hk");
    assert_registrable("www.example.gov.mo", "example.gov.mo");
    assert_registrable("shop.example.co.jp", "example.co.jp");
    /* Only whole labels match: "notgov.cn" and "gov.cnx" are not suffixes. */
    assert_registrable("a.notgov.cn", "notgov.cn");
    assert_registrable("a.b.gov.cnx", "gov.cnx");
    assert_registrable("a.b.xgov.cn", "xgov.cn");
    assert_registrable("WWW.Example.COM.CN", "Example.COM.CN");
    assert_registrable("mail.example.com.", "example.com.");
    assert_registrable("192.168.1.10", "192.168.1.10");
}

/* ---- token bytes ------------------------------------------------------------ */

/* The table against the character sets the PII detector walked with strchr()
 * before it (byte 0 excluded, as the detector did), for every byte. */
static void test_token_bytes(void **state)
{
    static const struct {
        unsigned bit;
        const char *set;
    } sets[] = {
        {GUARD_TOK_DIGITS, "0123456789"},
        {GUARD_TOK_ID, "0123456789x"},
        {GUARD_TOK_CARD, "0123456789 -"},
        {GUARD_TOK_MOBILE, "0123456789 -+"},
        {GUARD_TOK_LANDLINE, "0123456789()- "},
        {GUARD_TOK_DOC, "0123456789abcdefghijklmnopqrstuvwxyz()"},
        {GUARD_TOK_LOCAL, "abcdefghijklmnopqrstuvwxyz0123456789._%+-"},
        {GUARD_TOK_DOMAIN, "abcdefghijklmnopqrstuvwxyz0123456789.-"},
    };
    unsigned all = 0;
    (void)state;
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        all |= sets[i].bit;
        for (int b = 0; b < 256; b++) {
            bool want = b != 0 && strchr(sets[i].set, b) != NULL;
            bool got = (guard_token_bytes[b] & sets[i].bit) != 0;
            if (want != got)
                fail_msg("byte 0x%02x in \"%s\": table %d, strchr %d", b, sets[i].set, got, want);
        }
    }
    /* no bit without its set */
    for (int b = 0; b < 256; b++)
        assert_int_equal(guard_token_bytes[b] & ~all, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cn_id_reference),
        cmocka_unit_test(test_cn_id_valid_and_corrupted),
        cmocka_unit_test(test_cn_id_lowercase_x),
        cmocka_unit_test(test_cn_id_bad_fields),
        cmocka_unit_test(test_cn_id_shape),
        cmocka_unit_test(test_luhn_known),
        cmocka_unit_test(test_luhn_separators_and_length),
        cmocka_unit_test(test_luhn_single_substitutions),
        cmocka_unit_test(test_hkid_known),
        cmocka_unit_test(test_hkid_shape),
        cmocka_unit_test(test_hkid_generated),
        cmocka_unit_test(test_twid),
        cmocka_unit_test(test_twid_all_letters_and_substitutions),
        cmocka_unit_test(test_macau_id),
        cmocka_unit_test(test_cn_mobile),
        cmocka_unit_test(test_entropy),
        cmocka_unit_test(test_ipv4_loopback_forms),
        cmocka_unit_test(test_ipv4_ranges),
        cmocka_unit_test(test_ipv4_malformed),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_edit_distance_cap),
        cmocka_unit_test(test_registrable),
        cmocka_unit_test(test_token_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
