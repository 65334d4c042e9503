/*
 * test_wm.c — the watermark's code layer (src/watermark/wm_code.c): payload
 * bits, keyed layout, MAC and the soft-decision repetition decoder, on soft
 * chip values made here (no pixels). What a user relies on: the right id
 * comes back through heavy noise; noise alone, a wrong key or a corrupted
 * bit never yields an id (the MAC); key files are checked and created
 * private.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "watermark/wm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void key_of(wm_key *k, unsigned char b)
{
    memset(k->k, b, sizeof k->k);
}

/* A small deterministic generator (xorshift64*) and a normal variate. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static double gauss(uint64_t *s)
{
    double u = ((double)(rng_next(s) >> 11) + 1.0) / 9007199254740993.0;
    double v = (double)(rng_next(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static void soft_of(const wm_key *k, uint64_t id, double noise, uint64_t seed, float *soft)
{
    int8_t chips[WM_CELLS];
    uint64_t s = seed;

    wm_chips(k, id, chips);
    for (int c = 0; c < WM_CELLS; c++)
        soft[c] = (float)(chips[c] + noise * gauss(&s));
}

static void test_round_trip(void **state)
{
    static const uint64_t ids[] = {0, 1, 42, 123456789012, WM_ID_MAX};
    float soft[WM_CELLS];
    wm_key k;
    wm_result r;

    (void)state;
    key_of(&k, 7);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        soft_of(&k, ids[i], 0, 1, soft);
        wm_decode_soft(&k, soft, &r);
        assert_true(r.found);
        assert_true(r.mac_ok);
        assert_int_equal(r.id, ids[i]);
        assert_true(r.confidence > 30);
    }
}

/* Noise twice the chip amplitude (per-cell SNR -6 dB): the 16-fold soft
 * repetition still recovers every bit. */
static void test_through_noise(void **state)
{
    float soft[WM_CELLS];
    wm_key k;
    wm_result r;

    (void)state;
    key_of(&k, 9);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint64_t id = seed * UINT64_C(7919) * UINT64_C(104729);
        soft_of(&k, id, 1.0, seed, soft);
        wm_decode_soft(&k, soft, &r);
        assert_true(r.found);
        assert_int_equal(r.id, id);
        assert_true(r.confidence >= WM_MIN_CONFIDENCE);
    }
}

/* Noise alone, and a marked image read with the wrong key: never an id. */
static void test_no_mark_never_an_id(void **state)
{
    float soft[WM_CELLS];
    wm_key k, other;
    wm_result r;
    int mac_hits = 0;

    (void)state;
    key_of(&k, 3);
    key_of(&other, 4);
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        uint64_t s = seed;
        for (int c = 0; c < WM_CELLS; c++)
            soft[c] = (float)gauss(&s);
        wm_decode_soft(&k, soft, &r);
        assert_false(r.found);
        assert_true(r.confidence < WM_MIN_CONFIDENCE);
        mac_hits += r.mac_ok;
    }
    assert_true(mac_hits <= 2); /* 2000 / 65536 expected */
    for (uint64_t id = 1; id <= 50; id++) {
        soft_of(&k, id, 0, 1, soft);
        wm_decode_soft(&other, soft, &r);
        assert_false(r.found);
        assert_true(r.confidence < WM_MIN_CONFIDENCE);
    }
}

/* A clean mark with id bit 5 turned over in all its cells, its MAC left as
 * it was (what a forger editing the pattern to blame someone else, or a
 * damaged image, would give): strong correlation, but the MAC refuses the
 * id it spells. Bit 5's cells are found from outside the layout: they are
 * the cells whose chip differs between x and x^32 for every x (the MAC
 * cells that differ change from one x to the next). */
static void test_mac_refuses_a_changed_id(void **state)
{
    bool bit5[WM_CELLS];
    int8_t a[WM_CELLS], b[WM_CELLS];
    float soft[WM_CELLS];
    wm_key k;
    wm_result r;
    int n = 0;

    (void)state;
    key_of(&k, 5);
    for (int c = 0; c < WM_CELLS; c++)
        bit5[c] = true;
    for (uint64_t x = 1000; x < 1000 + 64 * 256; x += 256) {
        wm_chips(&k, x, a);
        wm_chips(&k, x ^ 32, b);
        for (int c = 0; c < WM_CELLS; c++)
            bit5[c] = bit5[c] && a[c] != b[c];
    }
    wm_chips(&k, 1000, a);
    for (int c = 0; c < WM_CELLS; c++) {
        n += bit5[c];
        soft[c] = bit5[c] ? -a[c] : a[c];
    }
    assert_int_equal(n, WM_CELLS / WM_BITS);
    wm_decode_soft(&k, soft, &r);
    assert_true(r.confidence > 30); /* a perfect pattern ... */
    assert_false(r.mac_ok);         /* ... of an id the MAC does not vouch for */
    assert_false(r.found);
    assert_int_equal(r.id, 0);
}

static void test_nan_input(void **state)
{
    float soft[WM_CELLS];
    wm_key k;
    wm_result r;

    (void)state;
    key_of(&k, 1);
    for (int c = 0; c < WM_CELLS; c++)
        soft[c] = (c & 1) ? NAN : INFINITY;
    wm_decode_soft(&k, soft, &r);
    assert_false(r.found);
}

static void test_key_file(void **state)
{
    char dir[] = "/tmp/test_wm_XXXXXX", path[64], why[256];
    wm_key a, b;
    bool created = false;
    struct stat st;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/k", dir);
    assert_int_equal(wm_key_load(path, false, &a, &created, why, sizeof why), -1);
    assert_int_equal(wm_key_load(path, true, &a, &created, why, sizeof why), 0);
    assert_true(created);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, WM_KEY_BYTES);
    assert_int_equal(wm_key_load(path, true, &b, &created, why, sizeof why), 0);
    assert_false(created);
    assert_memory_equal(a.k, b.k, WM_KEY_BYTES);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("short", f);
    fclose(f);
    assert_int_equal(wm_key_load(path, false, &a, &created, why, sizeof why), -1);
    assert_non_null(strstr(why, "32"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),          cmocka_unit_test(test_through_noise),
        cmocka_unit_test(test_no_mark_never_an_id), cmocka_unit_test(test_mac_refuses_a_changed_id),
        cmocka_unit_test(test_nan_input),           cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
