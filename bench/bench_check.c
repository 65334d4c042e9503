/*
 * bench_check.c — latency of the guard's message path (what `cordon check`
 * and the server do per chat message): guard_scan() + guard_result_free() on
 * ~200-byte messages with the built-in policy and a 10,000-term lexicon.
 *
 * usage: bench_check [--messages N] [--scope internal|external] [--policy F]
 *                    [--cache-dir D] [--instr N] LEXICON
 *
 * It generates N (100,000) distinct mixed Chinese/English messages, some
 * carrying personal data, links, markings or lexicon terms, scans them all
 * once to warm up, then times every call with CLOCK_MONOTONIC and prints the
 * median, p90 and p99, and the message rate of an untimed pass. The
 * reference, in the same run over the same messages, is hs_scan() of a raw
 * Hyperscan literal database of the same terms: the floor any guard built on
 * Hyperscan could reach without normalising or validating anything.
 *
 * --instr N: after warming up, scan N messages between callgrind toggles and
 * print nothing else; run under `valgrind --tool=callgrind
 * --collect-atstart=no` to count instructions per message (repeatable on a
 * noisy machine, unlike time).
 *
 * Exit status: 0 when it ran (a missed target is printed, not failed), 1 on
 * a usage error or when the guard could not be loaded or scan.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#ifdef HAVE_CALLGRIND_H
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

#include "bench_util.h"
#include "cordon/guard.h"

#define TARGET_MEDIAN_NS 2000
#define TARGET_P99_NS    20000
#define MSG_MIN          190
#define MSG_MAX          210

/* ---- message generator -------------------------------------------------- */

static const char *const cn_frag[] = {
    "收到，我这边马上处理。",
    "下午三点在三楼会议室开会，讨论系统升级的事情。",
    "麻烦把会议纪要发我一下，谢谢！",
    "这个需求评审的结论是什么？客户那边在催。",
    "财务处说报销的发票抬头要写公司全称。",
    "测试报告第二版已经上传到共享盘了。",
    "请各部门于本周五前将年度预算报送至办公室。",
    "好的，辛苦了👍",
    "明天上午的培训改到视频会议室了。",
    "经研究决定，由张伟同志负责数据迁移相关工作。",
    "采购合同我审核过了，没什么问题，可以签发。",
    "服务器维护窗口定在今晚八点到十点。",
    "我在外面，晚点回来再看。",
    "项目进度表更新了，请大家确认一下自己的部分。",
    "关于做好节前安全检查工作的通知已经下发。",
    "这周的周报还差技术部和市场部的。",
    "客户回访的记录整理好了，放在档案室。",
    "应急预案需要再完善一下，尤其是第三部分。",
    "會議紀要已經發到郵箱，請查收。",
    "王经理，合同的事情跟法务部确认过了吗？",
    "版本发布推迟到下周一，原因是代码审查还没过。",
    "请务必按时完成绩效评估，逾期系统将关闭。",
};
static const char *const en_frag[] = {
    "Please review the design doc before Friday. ",
    "The build failed on staging again. ",
    "Thanks, I'll merge it today. ",
    "Meeting moved to 3 pm in room 3B. ",
    "Can you send me the latest release notes? ",
    "Q3 numbers look good, up 12% year over year. ",
    "Ticket OPS-4821 has been assigned to Kevin. ",
    "PR 是昨天提的，CI 还在跑。",
    "这个 bug 在 prod-eu 上能复现。",
    "ＯＫ，ｎｏ　ｐｒｏｂｌｅｍ。",
};
static const char *const names[] = {"张伟", "王芳", "李娜", "刘洋", "陈静", "Kevin", "Alice"};
static const char *const markings[] = {"机密★1年", "秘密★长期", "绝密★30年", "秘密★6个月"};
static const char *const pinyin[] = {"zhang.wei", "wangfang", "li.na", "kevin", "alice.liu"};
static const char *const area[] = {"110101", "310104", "440305", "320106", "510104", "330106"};

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    /* splitmix64: fast, deterministic, good enough to pick words */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rng_below(rng *r, unsigned n)
{
    return (unsigned)(rng_next(r) % n);
}

#define PICK(r, a) ((a)[rng_below((r), sizeof(a) / sizeof((a)[0]))])

static void id_number(rng *r, char out[19])
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    snprintf(out, 19, "%s%04u%02u%02u%03u", PICK(r, area), 1960 + rng_below(r, 45),
             1 + rng_below(r, 12), 1 + rng_below(r, 28), 1 + rng_below(r, 999));
    for (int i = 0; i < 17; i++)
        sum += (out[i] - '0') * w[i];
    out[17] = "10X98765432"[sum % 11];
    out[18] = '\0';
}

/* One special piece (personal data, link, marking, term) or NULL; written
 * into buf. The rates make most messages clean, as real chat is. */
static const char *special(rng *r, char *buf, size_t cap, char **terms, size_t n_terms)
{
    unsigned k = rng_below(r, 1000);
    char id[19];
    if (k < 80) {
        snprintf(buf, cap, "电话%u%04u%04u，", 130 + rng_below(r, 70), rng_below(r, 10000),
                 rng_below(r, 10000));
    } else if (k < 110) {
        id_number(r, id);
        snprintf(buf, cap, "身份证号%s。", id);
    } else if (k < 150) {
        snprintf(buf, cap, "邮箱 %s%u@hengtai.com.cn ", PICK(r, pinyin), rng_below(r, 1000));
    } else if (k < 210) {
        snprintf(buf, cap, "链接 https://docs.example-%u.com/d/%x 。", rng_below(r, 50),
                 (unsigned)rng_next(r));
    } else if (k < 260 && n_terms > 0) {
        snprintf(buf, cap, "关于%s的材料不要外传。", terms[rng_below(r, (unsigned)n_terms)]);
    } else if (k < 270) {
        snprintf(buf, cap, "%s ", PICK(r, markings));
    } else {
        return NULL;
    }
    return buf;
}

static size_t append(char *m, size_t len, const char *s)
{
    size_t n = strlen(s);
    if (len + n > MSG_MAX)
        return len;
    memcpy(m + len, s, n);
    return len + n;
}

/* Writes one message of MSG_MIN..MSG_MAX bytes into m; returns its length. */
static size_t make_message(rng *r, char *m, char **terms, size_t n_terms)
{
    char buf[160];
    const char *sp;
    size_t len = 0;
    int style = (int)rng_below(r, 10); /* 0..6 Chinese, 7..8 mixed, 9 English */
    snprintf(buf, sizeof buf, "@%s %u:%02u ", PICK(r, names), 8 + rng_below(r, 12),
             rng_below(r, 60));
    len = append(m, len, buf);
    if ((sp = special(r, buf, sizeof buf, terms, n_terms)))
        len = append(m, len, sp);
    for (int tries = 0; len < MSG_MIN && tries < 40; tries++) {
        bool en = style == 9 || (style >= 7 && rng_below(r, 2));
        len = append(m, len, en ? PICK(r, en_frag) : PICK(r, cn_frag));
    }
    while (len < MSG_MIN) /* rare: nothing fitted; pad as people do */
        m[len++] = '.';
    return len;
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h | 1; /* 0 marks an empty slot */
}

typedef struct corpus {
    char *text;
    size_t *off; /* message i is text[off[i] .. off[i+1]) */
    size_t n;
} corpus;

/* n distinct messages; duplicates are detected by hash and regenerated. */
static int make_corpus(corpus *c, size_t n, char **terms, size_t n_terms)
{
    size_t tcap = 1;
    uint64_t *seen;
    rng r = {42};
    while (tcap < n * 2)
        tcap <<= 1;
    c->text = malloc(n * MSG_MAX);
    c->off = malloc((n + 1) * sizeof *c->off);
    seen = calloc(tcap, sizeof *seen);
    if (!c->text || !c->off || !seen) {
        free(seen);
        return -1;
    }
    c->n = n;
    c->off[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char *m = c->text + c->off[i];
        size_t len;
        for (;;) {
            len = make_message(&r, m, terms, n_terms);
            uint64_t h = fnv1a(m, len);
            size_t j = h & (tcap - 1);
            while (seen[j] && seen[j] != h)
                j = (j + 1) & (tcap - 1);
            if (!seen[j]) {
                seen[j] = h;
                break;
            }
        }
        c->off[i + 1] = c->off[i] + len;
    }
    free(seen);
    return 0;
}

/* ---- measurement -------------------------------------------------------- */

typedef struct stats {
    uint64_t median, p90, p99, max;
    double msgs_per_s, mb_per_s;
} stats;

static void summarise(uint64_t *ns, size_t n, uint64_t pass_ns, size_t bytes, stats *st)
{
    bench_sort_u64(ns, n);
    st->median = bench_quantile_sorted(ns, n, 0.50);
    st->p90 = bench_quantile_sorted(ns, n, 0.90);
    st->p99 = bench_quantile_sorted(ns, n, 0.99);
    st->max = ns[n - 1];
    st->msgs_per_s = (double)n * 1e9 / (double)pass_ns;
    st->mb_per_s = (double)bytes * 1e3 / (double)pass_ns;
}

typedef struct guard_run {
    guard_scanner *sc;
    guard_ruleset *rs;
    guard_scope scope;
    size_t findings, verdicts[GUARD_ACTION_COUNT], by_cat[GUARD_CAT_COUNT];
} guard_run;

static int guard_one(guard_run *g, const char *m, size_t len, bool count)
{
    guard_result *res = NULL;
    guard_error err;
    if (guard_scan(g->sc, g->rs, m, len, g->scope, &res, &err) != GUARD_OK) {
        fprintf(stderr, "bench_check: guard_scan: %s\n", err.message);
        return -1;
    }
    if (count) {
        g->findings += res->n_findings;
        g->verdicts[res->verdict]++;
        for (size_t i = 0; i < res->n_findings; i++)
            g->by_cat[res->findings[i].category]++;
    }
    guard_result_free(res);
    return 0;
}

static int hs_on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                       void *ctx)
{
    (void)id, (void)from, (void)to, (void)flags;
    ++*(size_t *)ctx;
    return 0;
}

typedef struct hs_run {
    hs_database_t *db;
    hs_scratch_t *scratch;
    size_t matches;
} hs_run;

static int hs_one(hs_run *h, const char *m, size_t len)
{
    return hs_scan(h->db, m, (unsigned)len, 0, h->scratch, hs_on_match, &h->matches) == HS_SUCCESS
               ? 0
               : -1;
}

/* The raw reference: the terms as plain case-sensitive literals. */
static int hs_build(hs_run *h, char **terms, size_t n)
{
    unsigned *flags = calloc(n, sizeof *flags), *ids = malloc(n * sizeof *ids);
    size_t *lens = malloc(n * sizeof *lens);
    hs_compile_error_t *cerr = NULL;
    int rc = -1;
    if (!flags || !ids || !lens)
        goto out;
    for (size_t i = 0; i < n; i++) {
        ids[i] = (unsigned)i;
        lens[i] = strlen(terms[i]);
    }
    if (hs_compile_lit_multi((const char *const *)terms, flags, ids, lens, (unsigned)n,
                             HS_MODE_BLOCK, NULL, &h->db, &cerr) != HS_SUCCESS) {
        fprintf(stderr, "bench_check: hs_compile_lit_multi: %s\n", cerr ? cerr->message : "?");
        hs_free_compile_error(cerr);
        goto out;
    }
    if (hs_alloc_scratch(h->db, &h->scratch) != HS_SUCCESS)
        goto out;
    rc = 0;
out:
    free(flags);
    free(ids);
    free(lens);
    return rc;
}

static void print_row(const char *name, const stats *s)
{
    printf("  %-26s %8llu %8llu %8llu %9llu %11.0f %8.1f\n", name, (unsigned long long)s->median,
           (unsigned long long)s->p90, (unsigned long long)s->p99, (unsigned long long)s->max,
           s->msgs_per_s, s->mb_per_s);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_check [--messages N] [--scope internal|external] [--policy F]\n"
                    "                   [--cache-dir D] [--instr N] LEXICON\n");
    exit(1);
}

int main(int argc, char **argv)
{
    size_t n_msgs = 100000, instr = 0, n_terms = 0, bytes;
    const char *policy = NULL, *cache = NULL, *lex = NULL;
    guard_scope scope = GUARD_SCOPE_INTERNAL; /* as `cordon check` */
    guard_run g = {0};
    hs_run h = {0};
    corpus c = {0};
    char **terms;
    uint64_t *ns = NULL, t0, clock_ns, load_ns;
    stats sg, sh;
    guard_error err;
    guard_ruleset_info info;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--messages") && i + 1 < argc)
            n_msgs = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--instr") && i + 1 < argc)
            instr = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--policy") && i + 1 < argc)
            policy = argv[++i];
        else if (!strcmp(argv[i], "--cache-dir") && i + 1 < argc)
            cache = argv[++i];
        else if (!strcmp(argv[i], "--scope") && i + 1 < argc)
            scope = strcmp(argv[++i], "internal") ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL;
        else if (argv[i][0] == '-' || lex)
            usage();
        else
            lex = argv[i];
    }
    if (!lex || n_msgs < 100)
        usage();
    if (!(terms = bench_read_terms(lex, 0, &n_terms))) {
        fprintf(stderr, "bench_check: %s: %s\n", lex, strerror(errno));
        return 1;
    }

    guard_options opt = {
        .policy_path = policy, .lexicon_paths = &lex, .n_lexicons = 1, .cache_dir = cache};
    t0 = bench_now_ns();
    if (guard_ruleset_load(&opt, &g.rs, &err) != GUARD_OK) {
        fprintf(stderr, "bench_check: loading the ruleset: %s\n", err.message);
        goto out;
    }
    load_ns = bench_now_ns() - t0;
    guard_ruleset_get_info(g.rs, &info);
    if (guard_scanner_new(&g.sc, &err) != GUARD_OK) {
        fprintf(stderr, "bench_check: %s\n", err.message);
        goto out;
    }
    g.scope = scope;
    if (make_corpus(&c, n_msgs, terms, n_terms) != 0 || !(ns = malloc(n_msgs * sizeof *ns))) {
        fprintf(stderr, "bench_check: out of memory\n");
        goto out;
    }
    bytes = c.off[c.n];

    /* Warm-up: every message once (page faults, scratch growth, caches);
     * it also counts what the guard found, to show it did its work. */
    for (size_t i = 0; i < c.n; i++)
        if (guard_one(&g, c.text + c.off[i], c.off[i + 1] - c.off[i], true) != 0)
            goto out;

    if (instr) {
        CALLGRIND_TOGGLE_COLLECT;
        for (size_t i = 0; i < instr && i < c.n; i++)
            guard_one(&g, c.text + c.off[i], c.off[i + 1] - c.off[i], false);
        CALLGRIND_TOGGLE_COLLECT;
        printf("instr: scanned %zu messages\n", instr < c.n ? instr : c.n);
        rc = 0;
        goto out;
    }

    printf("check: %zu distinct messages, mean %.1f bytes, scope %s, policy %s\n", c.n,
           (double)bytes / (double)c.n, scope == GUARD_SCOPE_EXTERNAL ? "external" : "internal",
           policy ? policy : "built-in");
    printf("  ruleset: %zu patterns, %zu terms, db %zu bytes, %s in %.2f s\n", info.n_patterns,
           info.n_terms, info.db_bytes, info.from_cache ? "from cache" : "compiled",
           (double)load_ns / 1e9);
    printf("  guard found %zu findings (", g.findings);
    for (int k = 0; k < GUARD_CAT_COUNT; k++)
        if (g.by_cat[k])
            printf("%s %zu ", guard_category_name((guard_category)k), g.by_cat[k]);
    printf("); verdicts:");
    for (int k = 0; k < GUARD_ACTION_COUNT; k++)
        printf(" %s %zu", guard_action_name((guard_action)k), g.verdicts[k]);
    printf("\n");

    /* The clock's own cost, included in every per-call figure below. */
    for (size_t i = 0; i < 1000; i++) {
        uint64_t a = bench_now_ns();
        ns[i] = bench_now_ns() - a;
    }
    bench_sort_u64(ns, 1000);
    clock_ns = ns[500];

    for (size_t i = 0; i < c.n; i++) {
        uint64_t a = bench_now_ns();
        guard_one(&g, c.text + c.off[i], c.off[i + 1] - c.off[i], false);
        ns[i] = bench_now_ns() - a;
    }
    t0 = bench_now_ns();
    for (size_t i = 0; i < c.n; i++)
        guard_one(&g, c.text + c.off[i], c.off[i + 1] - c.off[i], false);
    summarise(ns, c.n, bench_now_ns() - t0, bytes, &sg);

    if (hs_build(&h, terms, n_terms) != 0)
        goto out;
    for (size_t i = 0; i < c.n; i++) /* warm-up, as above */
        hs_one(&h, c.text + c.off[i], c.off[i + 1] - c.off[i]);
    for (size_t i = 0; i < c.n; i++) {
        uint64_t a = bench_now_ns();
        hs_one(&h, c.text + c.off[i], c.off[i + 1] - c.off[i]);
        ns[i] = bench_now_ns() - a;
    }
    t0 = bench_now_ns();
    for (size_t i = 0; i < c.n; i++)
        hs_one(&h, c.text + c.off[i], c.off[i + 1] - c.off[i]);
    summarise(ns, c.n, bench_now_ns() - t0, bytes, &sh);

    printf("  %-26s %8s %8s %8s %9s %11s %8s\n", "per message (ns)", "median", "p90", "p99", "max",
           "msgs/s", "MB/s");
    print_row("guard_scan+result_free", &sg);
    print_row("ref: hs_scan raw literals", &sh);
    printf("  ratio guard/ref: median %.1fx, p99 %.1fx, throughput %.1fx slower"
           " (clock_gettime pair %llu ns, included)\n",
           (double)sg.median / (double)(sh.median ? sh.median : 1),
           (double)sg.p99 / (double)(sh.p99 ? sh.p99 : 1), sh.msgs_per_s / sg.msgs_per_s,
           (unsigned long long)clock_ns);
    printf("  target median <= %d ns: %s (%llu)\n", TARGET_MEDIAN_NS,
           sg.median <= TARGET_MEDIAN_NS ? "PASS" : "MISS", (unsigned long long)sg.median);
    printf("  target p99    <= %d ns: %s (%llu)\n", TARGET_P99_NS,
           sg.p99 <= TARGET_P99_NS ? "PASS" : "MISS", (unsigned long long)sg.p99);
    /* One line per figure for bench/run.sh's summary table. */
    printf("SUMMARY\tcheck: median ns/message\t%llu\ths_scan %llu\t%.1fx\t<= %d\t%s\n",
           (unsigned long long)sg.median, (unsigned long long)sh.median,
           (double)sg.median / (double)(sh.median ? sh.median : 1), TARGET_MEDIAN_NS,
           sg.median <= TARGET_MEDIAN_NS ? "PASS" : "MISS");
    printf("SUMMARY\tcheck: p99 ns/message\t%llu\ths_scan %llu\t%.1fx\t<= %d\t%s\n",
           (unsigned long long)sg.p99, (unsigned long long)sh.p99,
           (double)sg.p99 / (double)(sh.p99 ? sh.p99 : 1), TARGET_P99_NS,
           sg.p99 <= TARGET_P99_NS ? "PASS" : "MISS");
    printf("SUMMARY\tcheck: messages/s\t%.0f\ths_scan %.0f\t%.2fx\t-\t-\n", sg.msgs_per_s,
           sh.msgs_per_s, sg.msgs_per_s / sh.msgs_per_s);
    rc = 0;
out:
    free(ns);
    if (h.scratch)
        hs_free_scratch(h.scratch);
    if (h.db)
        hs_free_database(h.db);
    free(c.text);
    free(c.off);
    if (g.sc)
        guard_scanner_free(g.sc);
    if (g.rs)
        guard_ruleset_unref(g.rs);
    bench_free_terms(terms, n_terms);
    return rc;
}
