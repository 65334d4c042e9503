/*
 * fuzz_scan.c — libFuzzer target for the guard's text scan.
 *
 * Each input is scanned twice: in one block (guard_scan) and as a stream
 * (guard_stream_open/feed/close) cut into chunks whose sizes are drawn from
 * the input itself, so chunk boundaries fall inside UTF-8 sequences, inside
 * separator runs and across matches. Both results must satisfy the result
 * contract of cordon/guard.h, and both modes must find the same things.
 *
 * The first byte of the input picks the scope (bit 0: external); the whole
 * input, first byte included, is the text, so corpus files stay readable.
 *
 * The ruleset (default policy + a small built-in lexicon) is loaded once, at
 * the first call, as libFuzzer targets do; it is never freed. Any broken
 * invariant aborts with a message on stderr: under libFuzzer that is a crash
 * with a saved reproducer, under replay.c a failed test.
 *
 * Block and stream mode agree on the (rule, start, end) of marking, lexicon
 * and personal-data findings, each found as many times. Secret and link
 * findings are compared by rule id only (their detectors may look at
 * whole-input context such as entropy windows). Set FUZZ_SCAN_LAX=1 to
 * compare marking/lexicon/pii by rule id only as well.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cordon/guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A few terms of every shape the lexicon handles: CJK, ASCII, an allow-list
 * entry, nested terms (longest match), a term that folds (traditional). */
static const char builtin_lexicon[] = "# fuzz_scan built-in lexicon\n"
                                      "色情\tporn\thigh\n"
                                      "!白色情人节\n"
                                      "机密资料\tdocs\tmedium\n"
                                      "机密资料库\tdbase\thigh\n"
                                      "蓝鳍计划\tcodename\thigh\n"
                                      "bluefin\tcodename\thigh\n"
                                      "fieldstone\tcodename\tlow\n"
                                      "團建預算\tfinance\tlow\n"
                                      "红杉行动\n";

static guard_ruleset *rs;
static guard_scanner *scanner;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_scan: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void setup(void)
{
    guard_error err;
    char path[] = "/tmp/fuzz_scan_lexicon_XXXXXX";
    const char *lex[1] = {path};
    guard_options opt = {.lexicon_paths = lex, .n_lexicons = 1};
    int fd = mkstemp(path);

    if (fd < 0)
        die("cannot create the lexicon file", NULL);
    if (write(fd, builtin_lexicon, sizeof builtin_lexicon - 1) !=
        (ssize_t)(sizeof builtin_lexicon - 1))
        die("cannot write the lexicon file", NULL);
    close(fd);
    memset(&err, 0, sizeof err);
    if (guard_ruleset_load(&opt, &rs, &err) != GUARD_OK)
        die("guard_ruleset_load", err.message);
    unlink(path);
    if (guard_scanner_new(&scanner, &err) != GUARD_OK)
        die("guard_scanner_new", err.message);
}

/* The contract every result satisfies, in either mode. */
static void check_result(const guard_result *r, const uint8_t *data, size_t size, bool stream)
{
    guard_action max_action = GUARD_ALLOW;
    const char *mode = stream ? "stream" : "block";
    char msg[160];

    if ((unsigned)r->verdict >= GUARD_ACTION_COUNT)
        die("verdict out of range", mode);
    if ((unsigned)r->status > GUARD_STATUS_UNSCANNABLE)
        die("status out of range", mode);
    if ((r->verdict == GUARD_ALLOW) != (r->decided_by == NULL))
        die("decided_by must be NULL exactly when the verdict is allow", mode);
    if (r->n_findings && !r->findings)
        die("findings missing", mode);
    if (r->bytes != size) {
        snprintf(msg, sizeof msg, "%s: bytes %llu, input %zu", mode, (unsigned long long)r->bytes,
                 size);
        die("bytes inspected", msg);
    }
    for (size_t i = 0; i < r->n_findings; i++) {
        const guard_finding *f = &r->findings[i];
        snprintf(msg, sizeof msg, "%s: finding %zu (%s) [%llu, %llu) of %zu", mode, i,
                 f->rule ? f->rule : "(null)", (unsigned long long)f->start,
                 (unsigned long long)f->end, size);
        if (!f->rule || !f->explanation || !f->excerpt)
            die("finding without rule, explanation or excerpt", msg);
        if (f->start > f->end || f->end > size)
            die("finding span outside the input", msg);
        if (i && f->start < r->findings[i - 1].start)
            die("findings not sorted by start", msg);
        if ((unsigned)f->category >= GUARD_CAT_COUNT || (unsigned)f->severity >= GUARD_SEV_COUNT ||
            (unsigned)f->action >= GUARD_ACTION_COUNT || f->confidence < 0 || f->confidence > 100)
            die("finding field out of range", msg);
        if (f->location)
            die("plain text finding with a location", msg);
        /* The excerpt is the original text of the span (excerpt_context is
         * 0 in the default policy). A C string stops at a NUL byte. */
        size_t span = (size_t)(f->end - f->start);
        const void *nul = memchr(data + f->start, 0, span);
        size_t cmp = nul ? (size_t)((const uint8_t *)nul - (data + f->start)) : span;
        if (strlen(f->excerpt) != cmp || memcmp(f->excerpt, data + f->start, cmp) != 0)
            die("excerpt is not the original bytes of the span", msg);
        if (f->action > max_action)
            max_action = f->action;
    }
    if (r->n_findings && r->verdict < max_action)
        die("verdict weaker than a finding's action", mode);
    if (stream && r->masked)
        die("stream results carry no masked copy", NULL);
    if (!stream && r->verdict == GUARD_MASK && !r->masked)
        die("verdict mask without a masked copy", NULL);
    if (!stream && r->masked && r->masked_len != strlen(r->masked) && !memchr(data, 0, size))
        die("masked_len does not match the masked text", NULL);
}

static bool exact_category(guard_category c)
{
    return c == GUARD_CAT_MARKING || c == GUARD_CAT_LEXICON || c == GUARD_CAT_PII;
}

/* How many findings of result r match finding f: same rule, and for the
 * categories compared exactly, the same span. */
static size_t n_matches(const guard_result *r, const guard_finding *f, bool lax)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        const guard_finding *g = &r->findings[i];
        n += strcmp(g->rule, f->rule) == 0 &&
             (lax || !exact_category(f->category) || (g->start == f->start && g->end == f->end));
    }
    return n;
}

static void compare(const guard_result *blk, const guard_result *str)
{
    static int lax = -1;
    if (lax < 0) {
        const char *e = getenv("FUZZ_SCAN_LAX");
        lax = e && *e && *e != '0';
    }
    /* Only comparable when neither side dropped findings at the cap. */
    if (blk->findings_dropped || str->findings_dropped)
        return;
    for (int side = 0; side < 2; side++) {
        const guard_result *a = side ? str : blk, *b = side ? blk : str;
        for (size_t i = 0; i < a->n_findings; i++) {
            const guard_finding *f = &a->findings[i];
            /* exactly: as many in b as in a (a marking reported twice
             * is a difference); else: one at least */
            bool exact = !lax && exact_category(f->category);
            size_t na = n_matches(a, f, lax), nb = n_matches(b, f, lax);
            if (exact ? na != nb : !nb) {
                char msg[200];
                snprintf(msg, sizeof msg, "%s [%llu, %llu): %zu in block mode, %zu in stream mode",
                         f->rule, (unsigned long long)f->start, (unsigned long long)f->end,
                         side ? nb : na, side ? na : nb);
                die("block and stream mode disagree", msg);
            }
        }
    }
}

/* A small generator for chunk sizes, seeded from the input: deterministic
 * per input, different across inputs. */
static uint32_t next_rand(uint32_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 17;
    *st ^= *st << 5;
    return *st;
}

static guard_result *scan_stream(const uint8_t *data, size_t size, guard_scope scope)
{
    guard_error err;
    guard_stream *st = NULL;
    guard_result *r = NULL;
    uint32_t seed = 2166136261u;
    size_t off = 0;

    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 16777619u;
    if (!seed)
        seed = 1;
    if (guard_stream_open(scanner, rs, scope, &st, &err) != GUARD_OK)
        die("guard_stream_open", err.message);
    while (off < size) {
        uint32_t x = next_rand(&seed);
        size_t n;
        switch (x & 3) {
        case 0:
            n = 1;
            break; /* byte at a time */
        case 1:
            n = 1 + (x >> 8) % 4;
            break; /* inside a UTF-8 sequence */
        case 2:
            n = 1 + (x >> 8) % 64;
            break;
        default:
            n = (x >> 8) % 4096;
            break; /* empty chunks too */
        }
        if (n > size - off)
            n = size - off;
        if (guard_stream_feed(st, (const char *)data + off, n, &err) != GUARD_OK)
            die("guard_stream_feed", err.message);
        off += n;
    }
    if (guard_stream_close(st, &r, &err) != GUARD_OK)
        die("guard_stream_close", err.message);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    guard_error err;
    guard_result *blk = NULL, *str;
    guard_scope scope = size && (data[0] & 1) ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL;

    if (!rs)
        setup();
    if (guard_scan(scanner, rs, (const char *)data, size, scope, &blk, &err) != GUARD_OK)
        die("guard_scan", err.message);
    check_result(blk, data, size, false);
    str = scan_stream(data, size, scope);
    check_result(str, data, size, true);
    compare(blk, str);
    guard_result_free(blk);
    guard_result_free(str);
    return 0;
}
