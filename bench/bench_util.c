/*
 * bench_util.c — helpers shared by the benchmark programs (see bench_util.h).
 */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void bench_sort_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
}

uint64_t bench_quantile_sorted(const uint64_t *v, size_t n, double p)
{
    /* Nearest rank: the smallest value with at least p of the samples at or
     * below it, so p99 of 100,000 samples is the 99,000th. */
    size_t k = (size_t)(p * (double)n + 0.999999);
    if (k == 0)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

long bench_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t fl = strlen(field);
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            kb = strtol(line + fl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* Cuts the line at the first TAB or line end; returns the term's length, or
 * 0 for lines that hold no term. */
static size_t term_of(char *line)
{
    size_t len = strcspn(line, "\t\r\n");
    line[len] = '\0';
    if (len == 0 || line[0] == '#' || line[0] == '!') /* comment, allow-list entry */
        return 0;
    return len;
}

char **bench_read_terms(const char *path, size_t max, size_t *n)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, **v = NULL;
    size_t cap = 0, lcap = 0, count = 0;
    ssize_t got;
    if (!f)
        return NULL;
    while ((max == 0 || count < max) && (got = getline(&line, &lcap, f)) > 0) {
        size_t len = term_of(line);
        if (len == 0)
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            char **nv = realloc(v, ncap * sizeof *v);
            if (!nv)
                goto fail;
            v = nv;
            cap = ncap;
        }
        if (!(v[count] = strdup(line)))
            goto fail;
        count++;
    }
    free(line);
    fclose(f);
    *n = count;
    if (!v)
        v = malloc(sizeof *v); /* an empty list is still a list */
    return v;
fail:
    free(line);
    fclose(f);
    bench_free_terms(v, count);
    errno = ENOMEM;
    return NULL;
}

void bench_free_terms(char **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i]);
    free(t);
}

long bench_write_term_column(const char *lexicon, const char *out)
{
    FILE *in = fopen(lexicon, "r"), *o = NULL;
    char *line = NULL;
    size_t lcap = 0;
    long count = -1;
    if (!in)
        goto out;
    if (!(o = fopen(out, "w")))
        goto out;
    count = 0;
    while (getline(&line, &lcap, in) > 0) {
        size_t len = term_of(line);
        if (len == 0)
            continue;
        line[len] = '\n';
        fwrite(line, 1, len + 1, o);
        count++;
    }
    if (ferror(in) || fclose(o) != 0)
        count = -1;
    o = NULL;
out:
    free(line);
    if (o)
        fclose(o);
    if (in)
        fclose(in);
    return count;
}
