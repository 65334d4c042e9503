/*
 * bench_util.h — small helpers shared by the benchmark programs: a monotonic
 * clock, percentiles, /proc readings and the term column of a lexicon file.
 * Benchmarks only; nothing here is part of the guard.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Sorts v[0..n) ascending and returns the p-quantile (0 <= p <= 1), nearest
 * rank. v must be non-empty. */
uint64_t bench_quantile_sorted(const uint64_t *v, size_t n, double p);
void bench_sort_u64(uint64_t *v, size_t n);

/* A field of /proc/self/status in kB (e.g. "VmHWM"), or -1. */
long bench_status_kb(const char *field);

/* The term column of a lexicon file (`term[<TAB>category<TAB>severity]`;
 * blank lines, '#' comments and '!' allow-list entries skipped), at most `max` terms
 * (0: all). Returns a malloc'd array of malloc'd strings and sets *n, or NULL
 * with errno set. Free with bench_free_terms(). */
char **bench_read_terms(const char *path, size_t max, size_t *n);
void bench_free_terms(char **t, size_t n);

/* Writes the term column of `lexicon` to `out`, one per line (a pattern file
 * for `rg -F -f`). Returns the number of terms, or -1 with errno set. */
long bench_write_term_column(const char *lexicon, const char *out);

#endif
