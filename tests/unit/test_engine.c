/*
 * test_engine.c — the guard's public API as a caller uses it.
 *
 * Block and stream scans agree; matches across chunk boundaries are found;
 * streaming keeps memory bounded; the database cache is used and is keyed
 * on content; a failed reload keeps the old rules; malformed lexicons name
 * file:line; limits give clear errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "cordon/guard.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cordon-test-engine-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static guard_ruleset *load(const char *lexicon, const char *cache)
{
    guard_error err;
    guard_ruleset *rs = NULL;
    const char *lex[1] = {lexicon};
    guard_options o = {.lexicon_paths = lex, .n_lexicons = lexicon ? 1 : 0, .cache_dir = cache};
    if (guard_ruleset_load(&o, &rs, &err) != GUARD_OK)
        fail_msg("load: %s", err.message);
    return rs;
}

static int has_rule(const guard_result *r, const char *rule)
{
    int n = 0;
    for (size_t i = 0; i < r->n_findings; i++)
        n += strcmp(r->findings[i].rule, rule) == 0;
    return n;
}

/* A document assembled from pieces, with known findings. */
static size_t make_doc(char *buf, size_t cap, int reps)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "000123\n机密★1年\n国务院办公厅文件\n");
    for (int i = 0; i < reps && n + 400 < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n,
                              "第%d段：今天开会讨论红色预案，联系人电话 138 1234 %04d，"
                              "身份证 110101199003074514。see https://example.com/x\n",
                              i, i % 10000);
    return n;
}

/* Streams `len` bytes of `text` in chunks of `step` bytes. */
static guard_result *scan_chunks(guard_scanner *s, guard_ruleset *rs, const char *text, size_t len,
                                 size_t step)
{
    guard_stream *st;
    guard_result *r;
    guard_error err;
    assert_int_equal(guard_stream_open(s, rs, GUARD_SCOPE_INTERNAL, &st, &err), GUARD_OK);
    for (size_t off = 0; off < len; off += step)
        assert_int_equal(
            guard_stream_feed(st, text + off, len - off < step ? len - off : step, &err), GUARD_OK);
    assert_int_equal(guard_stream_close(st, &r, &err), GUARD_OK);
    assert_null(r->masked); /* streams never keep a copy */
    return r;
}

/* A stream result `b` has the findings of the block result `a`, one for one. */
static void assert_same_findings(const guard_result *a, const guard_result *b, const char *what,
                                 size_t step)
{
    if (b->n_findings != a->n_findings)
        fail_msg("%s, chunks of %zu: %zu findings streamed, %zu in a block", what, step,
                 b->n_findings, a->n_findings);
    assert_int_equal(b->verdict, a->verdict);
    for (size_t i = 0; i < a->n_findings; i++) {
        assert_string_equal(b->findings[i].rule, a->findings[i].rule);
        assert_int_equal(b->findings[i].start, a->findings[i].start);
        assert_int_equal(b->findings[i].end, a->findings[i].end);
        assert_string_equal(b->findings[i].excerpt, a->findings[i].excerpt);
        assert_int_equal(b->findings[i].severity, a->findings[i].severity);
        assert_int_equal(b->findings[i].confidence, a->findings[i].confidence);
    }
}

static void test_block_vs_stream(void **state)
{
    (void)state;
    char *lexpath = write_file("lex.txt", "红色预案\tplan\thigh\n");
    guard_ruleset *rs = load(lexpath, NULL);
    guard_scanner *s;
    guard_error err;
    assert_int_equal(guard_scanner_new(&s, &err), GUARD_OK);
    static char doc[1 << 16];
    size_t len = make_doc(doc, sizeof doc, 100);

    guard_result *a;
    assert_int_equal(guard_scan(s, rs, doc, len, GUARD_SCOPE_INTERNAL, &a, &err), GUARD_OK);
    assert_int_equal(a->verdict, GUARD_BLOCK);
    assert_int_equal(has_rule(a, "lexicon.plan"), 100);
    assert_int_equal(has_rule(a, "pii.cn_id"), 100);
    assert_int_equal(has_rule(a, "marking.classified"), 1);

    for (size_t step = 1; step <= 4096; step = step * 3 + 1) {
        guard_result *b = scan_chunks(s, rs, doc, len, step);
        assert_same_findings(a, b, "make_doc", step);
        guard_result_free(b);
    }
    guard_result_free(a);
    guard_scanner_free(s);
    guard_ruleset_unref(rs);
}

/* Patterns that end with a multiline $ (marking.internal, marking.banner,
 * marking.urgency) on the last line of the input, with and without a line
 * feed after it: Hyperscan's stream mode reports a match before the final
 * line feed both while scanning and again when the stream closes. Found
 * once, as in a block, whatever the chunks. */
static void test_stream_last_line(void **state)
{
    (void)state;
    static const struct {
        const char *text, *rule;
        bool header; /* counts only near the top: not after the filler */
    } cases[] = {
        {"正文\n内部\n", "marking.internal", false},
        {"正文\n内部", "marking.internal", false},
        {"内部\n", "marking.internal", false},
        {"内部", "marking.internal", false},
        {"正文\n内部 \n", "marking.internal", false},
        {"正文\n内部资料★5年\n", "marking.internal", false},
        {"正文\n注意保存\r\n", "marking.internal", false},
        {"工作秘密\n\n", "marking.internal", false},
        {"正文\nTOP SECRET\n", "marking.banner", false},
        {"正文\nTOP SECRET//NOFORN", "marking.banner", false},
        {"CONFIDENTIAL\n", "marking.banner", false},
        {"特急\n", "marking.urgency", true},
        {"紧急程度：加急", "marking.urgency", true},
        {"正文\n份号：000123\n", "marking.doc_number", true},
        {"国务院办公厅文件\n", "marking.masthead", true},
    };
    static const size_t steps[] = {1, 2, 3, 5, 7, 4096};
    static const char filler[] = "这一行只是普通的工作安排。\n";
    guard_ruleset *rs = load(NULL, NULL);
    guard_scanner *s;
    guard_error err;
    static char doc[16384];
    assert_int_equal(guard_scanner_new(&s, &err), GUARD_OK);
    for (size_t i = 0; i < 2 * sizeof cases / sizeof *cases; i++) {
        /* each case alone, then after more than the stream's look-ahead */
        const char *text = cases[i / 2].text;
        size_t len = 0;
        if (i % 2)
            for (; len < 6000; len += strlen(filler))
                memcpy(doc + len, filler, strlen(filler));
        memcpy(doc + len, text, strlen(text));
        len += strlen(text);

        guard_result *a;
        assert_int_equal(guard_scan(s, rs, doc, len, GUARD_SCOPE_INTERNAL, &a, &err), GUARD_OK);
        if (has_rule(a, cases[i / 2].rule) != (i % 2 && cases[i / 2].header ? 0 : 1))
            fail_msg("\"%s\": %d %s in a block", text, has_rule(a, cases[i / 2].rule),
                     cases[i / 2].rule);
        for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
            guard_result *b = scan_chunks(s, rs, doc, len, steps[k]);
            assert_same_findings(a, b, text, steps[k]);
            guard_result_free(b);
        }
        guard_result_free(a);
    }
    guard_scanner_free(s);
    guard_ruleset_unref(rs);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* 48 MiB streamed through in 64 KiB chunks, generated on the fly: memory
 * must not grow with the input, and a term at every chunk boundary is found. */
static void test_stream_bounded(void **state)
{
    (void)state;
    char *lexpath = write_file("lex2.txt", "跨块词语\n");
    guard_ruleset *rs = load(lexpath, NULL);
    guard_scanner *s;
    guard_stream *st;
    guard_result *r;
    guard_error err;
    enum { CHUNK = 65536, N = 768 };
    static char chunk[CHUNK];
    assert_int_equal(guard_scanner_new(&s, &err), GUARD_OK);
    assert_int_equal(guard_stream_open(s, rs, GUARD_SCOPE_INTERNAL, &st, &err), GUARD_OK);
    long before = 0;
    for (int i = 0; i < N; i++) {
        for (size_t k = 0; k < CHUNK; k++)
            chunk[k] = "the quick brown fox jumps over a lazy dog\n"[k % 42];
        /* the term straddles the boundary: 6 bytes here, 6 in the next */
        if (i + 1 < N)
            memcpy(chunk + CHUNK - 6, "跨块", 6);
        if (i > 0)
            memcpy(chunk, "词语", 6);
        assert_int_equal(guard_stream_feed(st, chunk, CHUNK, &err), GUARD_OK);
        if (i == 16)
            before = max_rss_kb();
    }
    assert_int_equal(guard_stream_close(st, &r, &err), GUARD_OK);
    long grown = max_rss_kb() - before;
    /* 48 MiB went through; a stream keeps a few windows of a chunk. */
    if (grown > 16 * 1024)
        fail_msg("RSS grew by %ld KiB while streaming", grown);
    assert_int_equal(r->bytes, (uint64_t)CHUNK * N);
    assert_int_equal(has_rule(r, "lexicon.default"), N - 1);
    guard_result_free(r);
    guard_scanner_free(s);
    guard_ruleset_unref(rs);
}

static void test_cache(void **state)
{
    (void)state;
    char cache[600];
    snprintf(cache, sizeof cache, "%s/cache", tmpdir);
    char *lexpath = write_file("lex3.txt", "甲乙丙丁\n戊己庚辛\thr\tlow\n");
    guard_ruleset_info info;
    guard_ruleset *a = load(lexpath, cache);
    guard_ruleset_get_info(a, &info);
    assert_false(info.from_cache);
    assert_int_equal(info.n_terms, 2);
    guard_ruleset *b = load(lexpath, cache);
    guard_ruleset_get_info(b, &info);
    assert_true(info.from_cache);
    /* the cached database finds the same */
    guard_scanner *s;
    guard_result *r;
    guard_error err;
    assert_int_equal(guard_scanner_new(&s, &err), GUARD_OK);
    assert_int_equal(guard_scan(s, b, "x戊己庚辛y", 14, GUARD_SCOPE_INTERNAL, &r, &err), GUARD_OK);
    assert_int_equal(has_rule(r, "lexicon.hr"), 1);
    assert_int_equal(r->verdict, GUARD_WARN);
    guard_result_free(r);
    /* a changed lexicon is a different key: compiled afresh */
    lexpath = write_file("lex3.txt", "甲乙丙丁\n");
    guard_ruleset *c = load(lexpath, cache);
    guard_ruleset_get_info(c, &info);
    assert_false(info.from_cache);
    /* a corrupt cache file is ignored and rewritten */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "for f in '%s'/*.hsdb; do echo junk > \"$f\"; done", cache);
    assert_int_equal(system(cmd), 0);
    guard_ruleset *d = load(lexpath, cache);
    guard_ruleset_get_info(d, &info);
    assert_false(info.from_cache);
    guard_scanner_free(s);
    guard_ruleset_unref(a);
    guard_ruleset_unref(b);
    guard_ruleset_unref(c);
    guard_ruleset_unref(d);
}

static void test_reload(void **state)
{
    (void)state;
    guard_engine *e;
    guard_error err;
    char *good = write_file("good.txt", "老词\n");
    const char *lex[1] = {good};
    guard_options o = {.lexicon_paths = lex, .n_lexicons = 1};
    assert_int_equal(guard_engine_new(&o, &e, &err), GUARD_OK);
    guard_ruleset *held = guard_engine_acquire(e);

    char *bad = write_file("bad.txt", "好词\n坏词\tcat\tsevere\n");
    lex[0] = bad;
    assert_int_equal(guard_engine_reload(e, &o, &err), GUARD_EPARSE);
    assert_non_null(strstr(err.message, "bad.txt:2:"));
    assert_non_null(strstr(err.message, "severe"));
    guard_ruleset *now = guard_engine_acquire(e);
    assert_ptr_equal(now, held); /* the old rules stay */
    guard_ruleset_unref(now);

    char *next = write_file("next.txt", "新词\n");
    lex[0] = next;
    assert_int_equal(guard_engine_reload(e, &o, &err), GUARD_OK);
    now = guard_engine_acquire(e);
    assert_ptr_not_equal(now, held);
    guard_scanner *s;
    guard_result *r;
    assert_int_equal(guard_scanner_new(&s, &err), GUARD_OK);
    /* a scan on the ruleset held from before still works after the swap */
    assert_int_equal(guard_scan(s, held, "老词", 6, GUARD_SCOPE_INTERNAL, &r, &err), GUARD_OK);
    assert_int_equal(has_rule(r, "lexicon.default"), 1);
    guard_result_free(r);
    assert_int_equal(guard_scan(s, now, "老词 新词", 13, GUARD_SCOPE_INTERNAL, &r, &err), GUARD_OK);
    assert_int_equal(r->n_findings, 1);
    assert_string_equal(r->findings[0].excerpt, "新词");
    guard_result_free(r);
    guard_scanner_free(s);
    guard_ruleset_unref(now);
    guard_ruleset_unref(held);
    guard_engine_free(e);
}

static void test_lexicon_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"ok\n\xFF\xFE\n", "x.txt:2: invalid UTF-8"},
        {"ok\na\tb\tc\td\n", "x.txt:2: too many fields"},
        {"# c\n\n\xE2\x80\x8B\n", "x.txt:3: term is empty"},
        {"!allowed\tcat\n", "x.txt:1: an allow-list entry"},
        {"t\tcat\tnope\n", "x.txt:1: unknown severity"},
        {"t\ttwo words\n", "x.txt:1: a category is one word"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *p = write_file("x.txt", cases[i].text);
        const char *lex[1] = {p};
        guard_options o = {.lexicon_paths = lex, .n_lexicons = 1};
        guard_ruleset *rs = NULL;
        guard_error err;
        assert_int_equal(guard_ruleset_load(&o, &rs, &err), GUARD_EPARSE);
        assert_null(rs);
        if (!strstr(err.message, cases[i].want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i].want);
    }
    const char *missing[1] = {"/nonexistent/lexicon.txt"};
    guard_options o = {.lexicon_paths = missing, .n_lexicons = 1};
    guard_ruleset *rs;
    guard_error err;
    assert_int_equal(guard_ruleset_load(&o, &rs, &err), GUARD_EIO);
    assert_non_null(strstr(err.message, "/nonexistent/lexicon.txt"));
}

static void test_limits(void **state)
{
    (void)state;
    char *pol = write_file("small.yaml", "version: 1\n"
                                         "settings:\n"
                                         "  findings_cap: 5\n"
                                         "  max_message_bytes: 1000\n"
                                         "rules:\n"
                                         "  - id: pii\n"
                                         "    match: {category: pii}\n"
                                         "    action: warn\n");
    guard_options o = {.policy_path = pol};
    guard_ruleset *rs;
    guard_scanner *s;
    guard_result *r;
    guard_error err;
    assert_int_equal(guard_ruleset_load(&o, &rs, &err), GUARD_OK);
    assert_int_equal(guard_scanner_new(&s, &err), GUARD_OK);
    char big[1001];
    memset(big, 'a', sizeof big);
    assert_int_equal(guard_scan(s, rs, big, sizeof big, GUARD_SCOPE_INTERNAL, &r, &err),
                     GUARD_EINVAL);
    assert_non_null(strstr(err.message, "max_message_bytes"));
    char many[1000] = "";
    for (int i = 0; i < 8; i++)
        strcat(many, "13812345678 ");
    assert_int_equal(guard_scan(s, rs, many, strlen(many), GUARD_SCOPE_INTERNAL, &r, &err),
                     GUARD_OK);
    assert_int_equal(r->n_findings, 5);
    assert_int_equal(r->findings_dropped, 3);
    assert_int_equal(r->verdict, GUARD_WARN);
    guard_result_free(r);
    guard_scanner_free(s);
    guard_ruleset_unref(rs);
}

/* More candidate hits than the scanner buffers (HITS_MAX, 4 Mi): the ones it
 * could not judge are counted and the result is partial, never clean. */
static void test_lost_hits(void **state)
{
    (void)state;
    char *lexpath = write_file("lex-x.txt", "x\tx\tlow\n");
    guard_ruleset *rs = load(lexpath, NULL);
    guard_scanner *s;
    guard_result *r;
    guard_error err;
    enum { N = 5000000 };
    char *text = malloc(N);
    assert_non_null(text);
    memset(text, 'x', N);
    assert_int_equal(guard_scanner_new(&s, &err), GUARD_OK);
    assert_int_equal(guard_scan(s, rs, text, N, GUARD_SCOPE_INTERNAL, &r, &err), GUARD_OK);
    assert_int_equal(r->status, GUARD_STATUS_PARTIAL);
    /* the default findings_cap, and past it the note that candidates went
     * unchecked (more than HITS_MAX): held by the policy, not just warned */
    assert_int_equal(r->n_findings, 1001);
    size_t unchecked = 0;
    for (size_t i = 0; i < r->n_findings; i++)
        unchecked += !strcmp(r->findings[i].rule, "uninspectable.candidates");
    assert_int_equal(unchecked, 1);
    assert_int_equal(r->n_findings - 1 + r->findings_dropped, N);
    assert_int_equal(r->verdict, GUARD_CONFIRM);
    guard_result_free(r);
    guard_scanner_free(s);
    guard_ruleset_unref(rs);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_vs_stream), cmocka_unit_test(test_stream_last_line),
        cmocka_unit_test(test_stream_bounded),  cmocka_unit_test(test_cache),
        cmocka_unit_test(test_reload),          cmocka_unit_test(test_lexicon_errors),
        cmocka_unit_test(test_limits),          cmocka_unit_test(test_lost_hits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
