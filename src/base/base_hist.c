/*
 * base_hist.c — lock-free latency histograms (base_hist.h).
 */
#include "base_hist.h"

#include <time.h>

#define US 1000ull
#define MS 1000000ull

const uint64_t base_hist_us_bounds[] = {10 * US,  25 * US,  50 * US,   100 * US, 250 * US,
                                        500 * US, 1 * MS,   2500 * US, 5 * MS,   10 * MS,
                                        25 * MS,  100 * MS, 1000 * MS};
const size_t base_hist_us_n = sizeof base_hist_us_bounds / sizeof base_hist_us_bounds[0];
const uint64_t base_hist_ms_bounds[] = {1 * MS,    2500 * US, 5 * MS,    10 * MS,  25 * MS,
                                        50 * MS,   100 * MS,  250 * MS,  500 * MS, 1000 * MS,
                                        2500 * MS, 5000 * MS, 10000 * MS};
const size_t base_hist_ms_n = sizeof base_hist_ms_bounds / sizeof base_hist_ms_bounds[0];

void base_hist_init(base_hist *h, const uint64_t *bounds, size_t n)
{
    h->bounds = bounds;
    h->n = n > BASE_HIST_MAX ? BASE_HIST_MAX : n;
    for (size_t i = 0; i <= BASE_HIST_MAX; i++)
        atomic_init(&h->counts[i], 0);
    atomic_init(&h->sum_ns, 0);
}

void base_hist_observe(base_hist *h, uint64_t ns)
{
    size_t i = 0;

    /* A dozen bounds: a linear walk beats a binary search's branches. */
    while (i < h->n && ns > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void base_hist_read(const base_hist *h, uint64_t cum[BASE_HIST_MAX + 1], uint64_t *sum_ns)
{
    uint64_t run = 0;

    for (size_t i = 0; i <= h->n; i++) {
        run += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        cum[i] = run;
    }
    *sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

uint64_t base_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
