/*
 * bench_remind.c — the cost of a reminder's next occurrence
 * (chat_remind_next: ICU ucal, a calendar per call, thread-safe) next to
 * the reference the server does not use: glibc's localtime_r + mktime
 * under a process-wide TZ (setenv + tzset), which is what libc offers
 * and why it is not used (one zone per process, not thread-safe).
 * Both compute the same daily occurrences in Europe/Berlin across a year
 * (both DST changes); the results are compared, then timed.
 *
 * usage: bench_remind [N]     (default 200000 occurrences)
 */
#include "bench_util.h"

#include "chat/chat_remind.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DAY_MS 86400000LL

/* glibc: the next day at the same local time, in the process' TZ. */
static int64_t glibc_next(int64_t at)
{
    time_t t = (time_t)(at / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    tm.tm_mday += 1;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    /* 2026-01-01 09:00 CET (08:00Z) */
    const int64_t start = 1767254400000LL;
    int64_t a = start, b = start, sum_a = 0, sum_b = 0;
    uint64_t t0, t_icu, t_libc;

    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    for (int i = 0; i < 400; i++) { /* the same answers first, across both changes */
        int64_t x = 0, y = glibc_next(a);

        if (chat_remind_next(a, STORE_REMIND_DAILY, "Europe/Berlin", a, &x) || x != y) {
            fprintf(stderr, "bench_remind: day %d differs: icu %lld glibc %lld\n", i, (long long)x,
                    (long long)y);
            return 1;
        }
        a = x;
    }
    a = start;
    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        int64_t x = 0;

        chat_remind_next(a, STORE_REMIND_DAILY, "Europe/Berlin", a, &x);
        sum_a += x;
        a = (i % 365 == 364) ? start : x;
    }
    t_icu = bench_now_ns() - t0;
    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        int64_t y = glibc_next(b);

        sum_b += y;
        b = (i % 365 == 364) ? start : y;
    }
    t_libc = bench_now_ns() - t0;
    if (sum_a != sum_b) {
        fprintf(stderr, "bench_remind: the sums differ\n");
        return 1;
    }
    printf("next occurrence (daily, Europe/Berlin), %ld calls:\n", n);
    printf("  cordon chat_remind_next (ICU ucal)  %8.0f ns/call\n", (double)t_icu / (double)n);
    printf("  reference glibc localtime_r+mktime  %8.0f ns/call\n", (double)t_libc / (double)n);
    printf("  ratio cordon/reference              %8.2f\n", (double)t_icu / (double)t_libc);
    return 0;
}
