/*
 * test_norm.c — the matching view and its offset map.
 *
 * The contract other code relies on: the view folds as documented; every view
 * span maps back to the original bytes that produced it; feeding the same
 * input in any chunking gives the same view, map and evasion events; invalid
 * UTF-8 is replaced and counted, never dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard/guard_foldtab.h"
#include "guard/guard_norm.h"

static char *fold(const char *s)
{
    size_t n;
    char *v = guard_norm_string(s, strlen(s), &n);
    assert_non_null(v);
    return v;
}

static void expect_fold(const char *in, const char *want)
{
    char *v = fold(in);
    if (strcmp(v, want) != 0)
        fail_msg("fold(\"%s\") = \"%s\", want \"%s\"", in, v, want);
    free(v);
}

static void test_folds(void **state)
{
    (void)state;
    expect_fold("TOP Secret", "top secret");
    expect_fold("ＴＯＰ　ＳＥＣＲＥＴ", "top secret"); /* full width */
    expect_fold("機密資料", "机密资料");               /* traditional */
    expect_fold("爲", "为");                           /* variant */
    expect_fold("秘密★壹年", "秘密★一年");             /* financial numerals */
    expect_fold("二〇二三", "二零二三");
    expect_fold("①②", "12");                     /* circled */
    expect_fold("机\xE2\x80\x8B密", "机密");     /* zero width space */
    expect_fold("机\xC2\xAD密", "机密");         /* soft hyphen */
    expect_fold("机\xEF\xB8\x8F密", "机密");     /* variation selector */
    expect_fold("机\xF3\xA0\x80\x81密", "机密"); /* tag character */
    expect_fold("机 密", "机密");                /* separators between CJK */
    expect_fold("机.密", "机密");
    expect_fold("机\xF0\x9F\x98\x80密", "机密"); /* emoji */
    expect_fold("a  b\tc", "a b c");             /* spaces collapse */
    expect_fold("top  secret", "top secret");
    expect_fold("机密 ★ 1年", "机密 ★ 1年"); /* ★ is not a separator */
    expect_fold("机密☆1年", "机密★1年");     /* star look-alikes */
    expect_fold("机密*1年", "机密★1年");
    expect_fold("\xD0\xA2\xD0\x9E\xD0\xA0 S\xD0\x95"
                "CRET",
                "top secret");                             /* Cyrillic */
    expect_fold("\xF0\x9D\x90\x92\xF0\x9D\x90\x84", "se"); /* math bold */
    expect_fold("line1\r\nline2", "line1\nline2");
    expect_fold("ﬁle", "file");
}

/* Ordinary CJK punctuation is text, unless it cuts a word into characters. */
static void test_cjk_punctuation(void **state)
{
    (void)state;
    expect_fold("通知如下。市场部于", "通知如下。市场部于");
    expect_fold("天龙，计划：启动", "天龙,计划:启动");
    expect_fold("《文件》“引号”（括号）", "《文件》“引号”(括号)");
    expect_fold("机，密★1年", "机密★1年");             /* a lone character before */
    expect_fold("请注意机，密★1年", "请注意机密★1年"); /* a lone character after */
    expect_fold("请注意蓝、鳍、计、划的进度", "请注意蓝鳍计划的进度");
    expect_fold("机 ，密", "机密"); /* with other separators held */

    guard_norm n;
    guard_norm_init(&n);
    const char *plain = "通知如下。市场部，于２０２４年《文件》。";
    assert_int_equal(guard_norm_feed(&n, (const unsigned char *)plain, strlen(plain), true), 0);
    assert_int_equal(n.n_ev, 0); /* no evasion in ordinary text */
    guard_norm_reset(&n);
    const char *cut = "请注意机，密★1年";
    assert_int_equal(guard_norm_feed(&n, (const unsigned char *)cut, strlen(cut), true), 0);
    assert_int_equal(n.n_ev, 1);
    guard_norm_free(&n);
}

/* The normaliser's fast paths copy some characters without looking at what
 * the table says of each; these are the table's properties they rely on. */
static void test_fold_table_fast_path(void **state)
{
    (void)state;
    for (unsigned b = 0x20; b < 0x7F; b++) {
        unsigned f = guard_fold_bmp[b].flags;
        if (b == '*')
            continue;
        if (b >= 'A' && b <= 'Z') {
            assert_int_equal(guard_fold_bmp[b].len, 1);
            assert_int_equal(guard_fold_bmp[b].val, b + 32);
        } else {
            assert_true(f == GUARD_FOLD_IDENT || f == (GUARD_FOLD_SEP | GUARD_FOLD_IDENT) ||
                        (b == ' ' && f == (GUARD_FOLD_SPACE | GUARD_FOLD_SEP | GUARD_FOLD_IDENT)));
        }
    }
    assert_int_equal(guard_fold_bmp['\n'].flags, GUARD_FOLD_NL | GUARD_FOLD_IDENT);
    assert_int_not_equal(guard_fold_bmp['*'].flags & GUARD_FOLD_IDENT, GUARD_FOLD_IDENT);
    /* An overlong three-byte form or a surrogate is never taken for a CJK
     * character (nor for ordinary punctuation, all above U+2000). */
    for (unsigned c = 0; c < 0x10000; c++)
        if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))
            assert_int_equal(guard_fold_bmp[c].flags & GUARD_FOLD_CJK, 0);
}

/* Ordinary CJK punctuation as guard_norm.h lists it (and tools/gen_fold.c). */
static bool ordinary(unsigned c)
{
    static const char list[] = "、。〈〉《》「」『』【】〒〓〔〕〖〗〘〙〚〛“”‘’…—！（），：；？";
    for (const unsigned char *p = (const unsigned char *)list; *p;) {
        unsigned cp = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
        if (cp == c)
            return true;
        p += 3; /* all three bytes long */
    }
    return false;
}

/* The bit tables the normaliser's hot loops use instead of the fold table
 * must say what the table says, for every code point of the BMP. */
static void test_fold_bit_tables(void **state)
{
    (void)state;
    unsigned n_ident = 0, n_punct = 0;
    for (unsigned c = 0; c < 0x10000; c++) {
        const guard_fold_entry *e = &guard_fold_bmp[c];
        unsigned want = GUARD_PUNCT_NONE;
        if (ordinary(c) && (e->flags & GUARD_FOLD_SEP))
            want = e->flags == (GUARD_FOLD_SEP | GUARD_FOLD_IDENT) ? GUARD_PUNCT_IDENT
                   : e->flags == GUARD_FOLD_SEP && e->len == 1     ? GUARD_PUNCT_ASCII
                                                                   : GUARD_PUNCT_OTHER;
        if (guard_fold_is_cjk_ident(c) != (e->flags == (GUARD_FOLD_CJK | GUARD_FOLD_IDENT)) ||
            guard_fold_is_cjk(c) != ((e->flags & GUARD_FOLD_CJK) != 0) ||
            guard_fold_punct_kind(c) != want)
            fail_msg("U+%04X: flags 0x%x, bits %d %d, punctuation %u (want %u)", c, e->flags,
                     guard_fold_is_cjk_ident(c), guard_fold_is_cjk(c), guard_fold_punct_kind(c),
                     want);
        n_ident += guard_fold_is_cjk_ident(c);
        n_punct += guard_fold_punct_kind(c) != GUARD_PUNCT_NONE;
    }
    assert_true(n_ident > 20000); /* most of the CJK Unified Ideographs */
    assert_true(n_punct >= 30);
    assert_int_equal(guard_fold_punct_kind(0x3002), GUARD_PUNCT_IDENT); /* 。 */
    assert_int_equal(guard_fold_punct_kind(0xFF0C), GUARD_PUNCT_ASCII); /* ， */
}

/* Every finding span maps back to the original text it came from. */
static void test_offset_map(void **state)
{
    (void)state;
    const char *in = "前言 機\xE2\x80\x8B密★１０年 ＴＯＰ end";
    guard_norm n;
    guard_norm_init(&n);
    assert_int_equal(guard_norm_feed(&n, (const unsigned char *)in, strlen(in), true), 0);
    const char *v = (const char *)n.view;
    const char *hit = memmem(v, n.len, "机密★10年", strlen("机密★10年"));
    assert_non_null(hit);
    uint64_t vs = (uint64_t)(hit - v), ve = vs + strlen("机密★10年"), os, oe;
    guard_norm_to_orig(&n, vs, ve, &os, &oe);
    const char *want = "機\xE2\x80\x8B密★１０年";
    assert_int_equal(oe - os, strlen(want));
    assert_memory_equal(in + os, want, strlen(want));
    assert_true(guard_norm_evasive(&n, os, oe)); /* the zero-width space */
    /* TOP maps to the full-width original */
    hit = memmem(v, n.len, "top", 3);
    assert_non_null(hit);
    guard_norm_to_orig(&n, (uint64_t)(hit - v), (uint64_t)(hit - v) + 3, &os, &oe);
    assert_memory_equal(in + os, "ＴＯＰ", strlen("ＴＯＰ"));
    assert_false(guard_norm_evasive(&n, os, oe));
    guard_norm_free(&n);
}

/* Each view span maps to exactly the original text it was folded from: a
 * length-changing fold and the linear run after it share one map entry, so
 * the run's first bytes, its end, a fold at the very end of the input, a
 * fold next to a drop and a replaced byte are each checked. */
static void test_map_spans(void **state)
{
    (void)state;
    const char *in = "会议，乙方：丙ＡＢＣ，end。機密，是的\xFF己 x\xE2\x80\x8B，y 长期，";
    static const struct {
        const char *view, *orig;
    } want[] = {
        {"会议,", "会议，"},         {",乙方", "，乙方"},         {"方:丙abc", "方：丙ＡＢＣ"},
        {"c,end", "Ｃ，end"},        {"机密,是的", "機密，是的"}, {"的\xEF\xBF\xBD己", "的\xFF己"},
        {"x,y", "x\xE2\x80\x8B，y"}, {"长期,", "长期，"},
    };
    guard_norm n;
    guard_norm_init(&n);
    assert_int_equal(guard_norm_feed(&n, (const unsigned char *)in, strlen(in), true), 0);
    const char *v = (const char *)n.view;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *hit = memmem(v, n.len, want[i].view, strlen(want[i].view));
        if (!hit)
            fail_msg("view has no \"%s\"", want[i].view);
        uint64_t vs = (uint64_t)(hit - v), os, oe;
        guard_norm_to_orig(&n, vs, vs + strlen(want[i].view), &os, &oe);
        if (oe - os != strlen(want[i].orig) || memcmp(in + os, want[i].orig, oe - os))
            fail_msg("view \"%s\" maps to \"%.*s\", not \"%s\"", want[i].view, (int)(oe - os),
                     in + os, want[i].orig);
    }
    /* every view byte maps inside the original, in order */
    uint64_t last = 0;
    for (uint64_t b = 0; b < n.len; b++) {
        uint64_t os, oe;
        guard_norm_to_orig(&n, b, b + 1, &os, &oe);
        assert_true(os < oe && oe <= strlen(in) && os >= last);
        last = os;
    }
    guard_norm_free(&n);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    const char in[] = "ok\xFF\xC3 \xE6\x9C\xBA\xE5\xAF\x86 \xED\xA0\x80 end";
    guard_norm n;
    guard_norm_init(&n);
    assert_int_equal(guard_norm_feed(&n, (const unsigned char *)in, sizeof in - 1, true), 0);
    assert_true(n.invalid >= 3); /* 0xFF, truncated 0xC3, a surrogate */
    assert_non_null(memmem(n.view, n.len, "\xEF\xBF\xBD", 3));
    const char *m = memmem(n.view, n.len, "机密", 6);
    assert_non_null(m);
    uint64_t os, oe;
    guard_norm_to_orig(&n, (uint64_t)(m - (char *)n.view), (uint64_t)(m - (char *)n.view) + 6, &os,
                       &oe);
    assert_memory_equal(in + os, "机密", 6);
    assert_non_null(memmem(n.view, n.len, "end", 3));
    guard_norm_free(&n);
}

/* A mixed text fed whole and fed in chunks of every size 1..17 (splitting
 * UTF-8 sequences and separator runs) must give the same view and map. */
static void test_chunking(void **state)
{
    (void)state;
    const char *in = "份号 000123\n機 密★十年　ＴＯＰ SECRET 机\xE2\x80\x8B密 😀 机😀密 "
                     "bad\xFF\xE6\x9C byte 身份证 11010119900307451X\r\nend 机 . 密"
                     "蓝、鳍、计、划 通知如下。市场部，于（2024）《文件》“引号”……——完，"
                     "好的，是。机，密 ABCDEFGHIJKLMNOPQRSTUVWXYZ  abc\n  x"
                     /* the fast paths: ASCII 16 bytes at a time, CJK runs with
                      * punctuation and digits, separators right after CJK */
                     "市场部于2024年4月21日组织召开服务器维护专题会议，朱琳工程师出席。"
                     "token: AKIAZO7ROWWW7TF6JHO5。Line one of plain ascii text\n"
                     "Line two\n\nwith  DOUBLE spaces and a *star* and\ttab end.\n"
                     "机密 文件/机密-文件 机，密。是，机 密★ 好。The END 2024年度，是：";
    size_t len = strlen(in);
    guard_norm whole;
    guard_norm_init(&whole);
    assert_int_equal(guard_norm_feed(&whole, (const unsigned char *)in, len, true), 0);
    for (size_t step = 1; step <= 17; step++) {
        guard_norm n;
        guard_norm_init(&n);
        for (size_t off = 0; off < len; off += step) {
            size_t k = len - off < step ? len - off : step;
            assert_int_equal(guard_norm_feed(&n, (const unsigned char *)in + off, k, false), 0);
        }
        assert_int_equal(guard_norm_feed(&n, NULL, 0, true), 0);
        assert_int_equal(n.len, whole.len);
        assert_memory_equal(n.view, whole.view, whole.len);
        assert_int_equal(n.invalid, whole.invalid);
        for (uint64_t v = 0; v < whole.len; v++) {
            uint64_t a, b, c, d;
            guard_norm_to_orig(&n, v, v + 1, &a, &b);
            guard_norm_to_orig(&whole, v, v + 1, &c, &d);
            if (a != c || b != d)
                fail_msg("step %zu: view byte %llu maps to [%llu,%llu) not [%llu,%llu)", step,
                         (unsigned long long)v, (unsigned long long)a, (unsigned long long)b,
                         (unsigned long long)c, (unsigned long long)d);
        }
        /* the same answers when looked up backwards (find_entry() gallops
         * from the previous answer both ways) */
        uint64_t *fwd = malloc(2 * whole.len * sizeof *fwd);
        assert_non_null(fwd);
        for (uint64_t v = 0; v < whole.len; v++)
            guard_norm_to_orig(&whole, v, v + 1 + v % 5, &fwd[2 * v], &fwd[2 * v + 1]);
        for (uint64_t v = whole.len; v-- > 0;) {
            uint64_t a, b, c, d;
            guard_norm_to_orig(&n, v, v + 1 + v % 5, &a, &b);
            guard_norm_to_orig(&whole, v, v + 1 + v % 5, &c, &d);
            if (a != fwd[2 * v] || b != fwd[2 * v + 1] || c != a || d != b)
                fail_msg("step %zu: view [%llu,+%llu) backwards", step, (unsigned long long)v,
                         (unsigned long long)(1 + v % 5));
        }
        free(fwd);
        assert_int_equal(n.n_ev, whole.n_ev);
        assert_memory_equal(n.ev, whole.ev, whole.n_ev * sizeof *whole.ev);
        guard_norm_free(&n);
    }
    guard_norm_free(&whole);
}

/* Discarding old view bytes keeps later mappings intact. */
static void test_discard(void **state)
{
    (void)state;
    guard_norm n;
    guard_norm_init(&n);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(guard_norm_feed(&n, (const unsigned char *)"機密 ab ", 10, false), 0);
    uint64_t total = n.base + n.len;
    guard_norm_discard(&n, total / 2);
    assert_true(n.base >= total / 2 - 16 && n.base <= total / 2);
    uint64_t os, oe;
    guard_norm_to_orig(&n, total - 10, total - 4, &os, &oe); /* the last 机密 */
    assert_int_equal(os, 9990);
    assert_int_equal(oe, 9996);
    guard_norm_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folds),           cmocka_unit_test(test_offset_map),
        cmocka_unit_test(test_map_spans),       cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_chunking),        cmocka_unit_test(test_discard),
        cmocka_unit_test(test_cjk_punctuation), cmocka_unit_test(test_fold_table_fast_path),
        cmocka_unit_test(test_fold_bit_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
