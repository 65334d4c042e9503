/*
 * base_hist.h — a latency histogram that many threads record into without a
 * lock (base_hist.c): fixed bucket bounds, one atomic counter per bucket,
 * read as Prometheus reads a histogram (cumulative counts, a sum, a count).
 *
 * Written by hand: no Debian C library offers a lock-free histogram small
 * enough to put on the message path (HdrHistogram_c is not packaged; the
 * Prometheus C client, libprom, is not either).
 */
#ifndef BASE_HIST_H
#define BASE_HIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define BASE_HIST_MAX 16

typedef struct base_hist {
    const uint64_t *bounds;                         /* upper bounds in ns, ascending; n of them */
    size_t n;                                       /* <= BASE_HIST_MAX */
    atomic_uint_fast64_t counts[BASE_HIST_MAX + 1]; /* [n]: above the last bound */
    atomic_uint_fast64_t sum_ns;
} base_hist;

/* Buckets for work that takes microseconds to milliseconds (a guard scan)
 * and for milliseconds to seconds (a request), in ns. */
extern const uint64_t base_hist_us_bounds[];
extern const size_t base_hist_us_n;
extern const uint64_t base_hist_ms_bounds[];
extern const size_t base_hist_ms_n;

void base_hist_init(base_hist *h, const uint64_t *bounds, size_t n);
/* Records one observation of ns nanoseconds. Any thread. */
void base_hist_observe(base_hist *h, uint64_t ns);
/* A snapshot: cum[i] observations <= bounds[i], cum[n] all of them. */
void base_hist_read(const base_hist *h, uint64_t cum[BASE_HIST_MAX + 1], uint64_t *sum_ns);

/* CLOCK_MONOTONIC now, in ns. */
uint64_t base_now_ns(void);

#endif
