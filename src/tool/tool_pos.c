/*
 * tool_pos.c — line:column of findings by a sweep or a line index (see
 * tool_pos.h).
 */
#include "tool_pos.h"

#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct tool_pos_query {
    uint64_t off;
    tool_pos *pos;
    bool is_end;
};

static int cmp_query(const void *a, const void *b)
{
    const tool_pos_query *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Queries come as start, end of each finding in the result's order (by
 * start): already sorted but where findings overlap, so an insertion sort
 * puts them in order in about linear time, where qsort cost ~650
 * instructions a finding. Past a budget of moves the input is not nearly
 * sorted and qsort takes over. The order of queries at the same offset does
 * not matter: they all record the same position. */
static void sort_queries(tool_pos_query *q, size_t n)
{
    size_t budget = 8 * n + 64;
    for (size_t i = 1; i < n; i++) {
        if (q[i - 1].off <= q[i].off)
            continue;
        tool_pos_query t = q[i];
        size_t j = i;
        while (j > 0 && q[j - 1].off > t.off && budget) {
            q[j] = q[j - 1];
            j--;
            budget--;
        }
        q[j] = t;
        if (!budget) {
            qsort(q, n, sizeof *q, cmp_query);
            return;
        }
    }
}

int tool_pos_sweep_begin(tool_pos_sweep *w, const guard_result *r, tool_pos *pos)
{
    size_t n = r->n_findings;

    memset(w, 0, sizeof *w);
    w->line = 1;
    if (n)
        memset(pos, 0, n * sizeof *pos);
    if (!n)
        return 0;
    w->q = malloc(2 * n * sizeof *w->q);
    if (!w->q)
        return -1;
    for (size_t i = 0; i < n; i++) {
        w->q[2 * i] = (tool_pos_query){r->findings[i].start, &pos[i], false};
        w->q[2 * i + 1] = (tool_pos_query){r->findings[i].end, &pos[i], true};
    }
    w->nq = 2 * n;
    sort_queries(w->q, w->nq);
    return 0;
}

/* Code points in p[0..n): every byte that is not a UTF-8 continuation byte. */
static uint64_t count_chars(const char *p, size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

/* Line breaks in p[0..n). Sixteen bytes at a time, in byte counters summed
 * every 255 blocks (SSE2 has no popcount): one memchr per line was 3% of a
 * scan of office text, whose lines are short. */
static uint64_t count_nl(const char *p, size_t n)
{
    uint64_t c = 0;
    size_t i = 0;
#ifdef __SSE2__
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (i + 16 <= n) {
        __m128i acc = zero;
        for (int k = 0; k < 255 && i + 16 <= n; k++, i += 16)
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), nl));
        __m128i sum = _mm_sad_epu8(acc, zero);
        c += (uint64_t)_mm_cvtsi128_si32(sum) + (uint64_t)_mm_extract_epi16(sum, 4);
    }
#endif
    for (; i < n; i++)
        c += p[i] == '\n';
    return c;
}

static void advance(tool_pos_sweep *w, const char *p, size_t n)
{
    if (!n || !p)
        return; /* nothing to count (and no pointer to hand to memrchr) */
    const char *last = memrchr(p, '\n', n);

    if (!last) {
        w->ucol += count_chars(p, n);
    } else {
        w->line += count_nl(p, (size_t)(last - p) + 1);
        w->line_start = w->at + (uint64_t)(last - p) + 1;
        w->ucol = count_chars(last + 1, (size_t)(p + n - (last + 1)));
    }
    w->at += n;
}

static void record(tool_pos_sweep *w, const tool_pos_query *q)
{
    if (q->is_end) {
        q->pos->end_line = w->line;
        q->pos->end_ucol = w->ucol + 1;
    } else {
        q->pos->line = w->line;
        q->pos->col = q->off - w->line_start + 1;
        q->pos->ucol = w->ucol + 1;
    }
}

void tool_pos_sweep_feed(tool_pos_sweep *w, const char *p, size_t n)
{
    uint64_t end = w->at + n;

    while (w->next < w->nq && w->q[w->next].off < end) {
        const tool_pos_query *q = &w->q[w->next++];
        /* queries before `at` cannot happen with sorted queries fed from 0 */
        if (q->off >= w->at) {
            size_t k = (size_t)(q->off - w->at);
            advance(w, p, k);
            p += k;
            n -= k;
        }
        record(w, q);
    }
    advance(w, p, n);
}

uint64_t tool_pos_sweep_need(const tool_pos_sweep *w)
{
    return w->next < w->nq ? w->q[w->nq - 1].off : 0;
}

void tool_pos_sweep_end(tool_pos_sweep *w)
{
    /* a span ending at the very end of the input, or an empty span there */
    while (w->next < w->nq && w->q[w->next].off == w->at)
        record(w, &w->q[w->next++]);
    free(w->q);
    memset(w, 0, sizeof *w);
}

void tool_line_index_init(tool_line_index *li, size_t max_lines)
{
    memset(li, 0, sizeof *li);
    li->max = max_lines;
}

void tool_line_index_feed(tool_line_index *li, const char *p, size_t n)
{
    const char *s = p, *e = p + n;

    while (!li->full && s < e && (s = memchr(s, '\n', (size_t)(e - s)))) {
        uint64_t off = li->at + (uint64_t)(s - p);
        if (li->n == li->cap) {
            size_t nc = li->cap ? li->cap * 2 : 1024;
            uint64_t *q = NULL;
            if (nc > li->max)
                nc = li->max;
            if (nc > li->cap)
                q = realloc(li->nl, nc * sizeof *q);
            if (!q) {
                /* out of room: what is recorded stays exact up to here */
                li->full = true;
                li->limit = off;
                break;
            }
            li->nl = q;
            li->cap = nc;
        }
        li->nl[li->n++] = off;
        s++;
    }
    li->at += n;
}

void tool_line_index_resolve(const tool_line_index *li, const guard_result *r, tool_pos *pos)
{
    for (size_t i = 0; i < r->n_findings; i++) {
        uint64_t off = r->findings[i].start;
        size_t lo = 0, hi = li->n;

        memset(&pos[i], 0, sizeof pos[i]);
        if (li->full && off > li->limit)
            continue;
        /* lo = number of newlines before off */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (li->nl[mid] < off)
                lo = mid + 1;
            else
                hi = mid;
        }
        pos[i].line = lo + 1;
        pos[i].col = off - (lo ? li->nl[lo - 1] + 1 : 0) + 1;
    }
}

void tool_line_index_free(tool_line_index *li)
{
    free(li->nl);
    memset(li, 0, sizeof *li);
}
