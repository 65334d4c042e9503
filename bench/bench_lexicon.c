/*
 * bench_lexicon.c — what a lexicon costs to compile and to load from cache.
 *
 * usage: bench_lexicon [--policy F] [--rg PATH] [--timeout S] LEXICON...
 *
 * For each lexicon: guard_ruleset_load() into a fresh, empty cache directory
 * (a compile), then again from that now-warm cache (a load). Each load runs
 * in its own forked child so that peak RSS (VmHWM from /proc/self/status) is
 * that load's alone; the child reports through a pipe. The same-run
 * reference is ripgrep building its matcher for the same terms: the wall
 * time and peak RSS of `rg -F -f TERMS --count SMALLFILE` (best of 3), which
 * is almost all pattern compilation.
 *
 * Targets (checked for lexicons of >= 1,000,000 terms): a load from cache in
 * <= 2 s and <= 1 GiB peak RSS.
 *
 * Exit status: 0 when every measurement ran (a missed target is printed, not
 * failed), 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "cordon/guard.h"

#define TARGET_LOAD_S     2.0
#define TARGET_LOAD_KB    (1024L * 1024L)
#define TARGET_MIN_TERMS  1000000
#define DEFAULT_TIMEOUT_S 3600

extern char **environ;

/* What a child reports about one load. */
typedef struct load_report {
    int ok;
    char message[512];
    double seconds, cpu_seconds; /* wall, and user + system of the child */
    long hwm_kb_before, hwm_kb;  /* VmHWM at start and after the load */
    guard_ruleset_info info;
} load_report;

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void child_load(const char *policy, const char *lex, const char *cache, int fd)
{
    load_report r = {0};
    guard_ruleset *rs = NULL;
    guard_error err;
    guard_options opt = {
        .policy_path = policy, .lexicon_paths = &lex, .n_lexicons = 1, .cache_dir = cache};
    r.hwm_kb_before = bench_status_kb("VmHWM");
    double c0 = cpu_now();
    uint64_t t0 = bench_now_ns();
    if (guard_ruleset_load(&opt, &rs, &err) == GUARD_OK) {
        r.seconds = (double)(bench_now_ns() - t0) / 1e9;
        r.cpu_seconds = cpu_now() - c0;
        r.ok = 1;
        guard_ruleset_get_info(rs, &r.info);
    } else {
        snprintf(r.message, sizeof r.message, "%s", err.message);
    }
    r.hwm_kb = bench_status_kb("VmHWM");
    /* No unref: the process ends here, and freeing would only add time. */
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(2);
    _exit(0);
}

/* Runs one load in a child, killed after `timeout` seconds. Returns 0 and
 * fills *r, or -1 (the child failed to report; *r->message says why). */
static int measure_load(const char *policy, const char *lex, const char *cache, unsigned timeout,
                        load_report *r)
{
    int p[2], status;
    pid_t pid;
    memset(r, 0, sizeof *r);
    if (pipe(p) != 0)
        return -1;
    fflush(NULL);
    if ((pid = fork()) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        alarm(timeout);
        child_load(policy, lex, cache, p[1]);
    }
    close(p[1]);
    ssize_t got = read(p[0], r, sizeof *r);
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof *r)
        return 0;
    if (WIFSIGNALED(status))
        snprintf(r->message, sizeof r->message, "child killed by signal %d%s", WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    else
        snprintf(r->message, sizeof r->message, "child exited with status %d", WEXITSTATUS(status));
    r->ok = 0;
    return -1;
}

/* ripgrep's compile of the same terms: wall seconds and peak RSS of one run. */
static int measure_rg(const char *rg, const char *terms, const char *small, double *sec, long *kb)
{
    char *argv[] = {(char *)rg, "-F", "-f", (char *)terms, "--count", (char *)small, NULL};
    posix_spawn_file_actions_t fa;
    struct rusage ru;
    int status;
    pid_t pid;
    uint64_t t0;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    t0 = bench_now_ns();
    int e = posix_spawnp(&pid, rg, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) {
        fprintf(stderr, "bench_lexicon: %s: %s\n", rg, strerror(e));
        return -1;
    }
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return -1;
    *sec = (double)(bench_now_ns() - t0) / 1e9;
    *kb = ru.ru_maxrss;
    /* rg exits 1 when nothing matched: still a complete run */
    return WIFEXITED(status) && WEXITSTATUS(status) <= 1 ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static long long dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long long total = 0;
    struct stat st;
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
            total += st.st_size;
    }
    closedir(d);
    return total;
}

static void print_load(const char *what, const load_report *r)
{
    if (!r->ok) {
        printf("  %-22s FAILED: %s\n", what, r->message);
        return;
    }
    printf("  %-22s %9.3f s %9.3f s %9.1f MB   (%zu patterns, %zu terms, db %.1f MB, %s)\n", what,
           r->seconds, r->cpu_seconds, (double)r->hwm_kb / 1024.0, r->info.n_patterns,
           r->info.n_terms, (double)r->info.db_bytes / 1e6,
           r->info.from_cache ? "from cache" : "compiled");
}

static void summary_row(long n_terms, const char *what, int ok, double v, double ref,
                        const char *target, const char *result)
{
    if (!ok)
        printf("SUMMARY\tlexicon %ld: %s\tFAILED\t\t\t%s\t%s\n", n_terms, what, target,
               strcmp(result, "-") ? "MISS" : "-");
    else if (ref > 0)
        printf("SUMMARY\tlexicon %ld: %s\t%.3f\trg %.3f\t%.2fx\t%s\t%s\n", n_terms, what, v, ref,
               v / ref, target, result);
    else
        printf("SUMMARY\tlexicon %ld: %s\t%.3f\t-\t-\t%s\t%s\n", n_terms, what, v, target, result);
}

static int bench_one(const char *policy, const char *lex, const char *rg, unsigned timeout)
{
    char tmp[] = "/tmp/cordon-bench-lex.XXXXXX", cache[64], terms[64], small[64];
    load_report cold, warm;
    double rg_s = 0;
    long rg_kb = 0, n_terms;
    int failed = 0;
    FILE *f;

    if (!mkdtemp(tmp)) {
        perror("bench_lexicon: mkdtemp");
        return -1;
    }
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(terms, sizeof terms, "%s/terms.rg", tmp);
    snprintf(small, sizeof small, "%s/small.txt", tmp);
    mkdir(cache, 0700);
    n_terms = bench_write_term_column(lex, terms);
    if (n_terms < 0 || !(f = fopen(small, "w"))) {
        fprintf(stderr, "bench_lexicon: %s: %s\n", lex, strerror(errno));
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return -1;
    }
    for (int i = 0; i < 64; i++) /* ~4 KB of ordinary text */
        fputs("请各部门于本周五前将年度预算报送至办公室。Please review the doc.\n", f);
    fclose(f);

    printf("lexicon %s: %ld terms\n", lex, n_terms);
    printf("  %-22s %11s %11s %12s\n", "", "wall", "CPU", "peak RSS");
    if (measure_load(policy, lex, cache, timeout, &cold) != 0 || !cold.ok)
        failed = 1;
    print_load("compile (empty cache)", &cold);
    if (!cold.ok) {
        warm.ok = 0;
        snprintf(warm.message, sizeof warm.message, "skipped: the compile failed");
    } else {
        if (measure_load(policy, lex, cache, timeout, &warm) != 0 || !warm.ok)
            failed = 1;
        if (warm.ok && !warm.info.from_cache)
            printf("  note: the second load did not come from the cache\n");
    }
    print_load("load (warm cache)", &warm);
    printf("  %-22s %9.1f MB on disk; process baseline %.1f MB\n",
           "cache:", (double)dir_bytes(cache) / 1e6, (double)cold.hwm_kb_before / 1024.0);

    double best = -1;
    long best_kb = 0;
    for (int i = 0; i < 3; i++) {
        if (measure_rg(rg, terms, small, &rg_s, &rg_kb) != 0) {
            printf("  ref: rg failed\n");
            failed = 1;
            best = -1;
            break;
        }
        if (best < 0 || rg_s < best) {
            best = rg_s;
            best_kb = rg_kb;
        }
    }
    if (best >= 0) {
        printf("  %-22s %9.3f s %11s %9.1f MB   (best of 3, `rg -F -f terms --count` on 4 KB)\n",
               "ref: rg compile", best, "", (double)best_kb / 1024.0);
        if (cold.ok)
            printf("  ratio compile/rg %.1fx", cold.seconds / best);
        if (warm.ok)
            printf(", load/rg %.2fx", warm.seconds / best);
        printf("\n");
    }
    bool targeted = n_terms >= TARGET_MIN_TERMS;
    const char *t_pass = warm.ok && warm.seconds <= TARGET_LOAD_S ? "PASS" : "MISS";
    const char *m_pass = warm.ok && warm.hwm_kb <= TARGET_LOAD_KB ? "PASS" : "MISS";
    if (targeted) {
        printf("  target load <= %.0f s:   %s\n", TARGET_LOAD_S, t_pass);
        printf("  target load <= 1 GiB RSS: %s\n", m_pass);
    }
    /* One line per figure for bench/run.sh's summary table. */
    summary_row(n_terms, "compile s", cold.ok, cold.seconds, best, "-", "-");
    summary_row(n_terms, "compile CPU s", cold.ok, cold.cpu_seconds, -1, "-", "-");
    summary_row(n_terms, "compile peak RSS MB", cold.ok, (double)cold.hwm_kb / 1024.0,
                (double)best_kb / 1024.0, "-", "-");
    summary_row(n_terms, "load from cache s", warm.ok, warm.seconds, best, targeted ? "<= 2" : "-",
                targeted ? t_pass : "-");
    summary_row(n_terms, "load peak RSS MB", warm.ok, (double)warm.hwm_kb / 1024.0,
                (double)best_kb / 1024.0, targeted ? "<= 1024" : "-", targeted ? m_pass : "-");
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *policy = NULL, *rg = "rg";
    unsigned timeout = DEFAULT_TIMEOUT_S;
    int rc = 0, n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--policy") && i + 1 < argc) {
            policy = argv[++i];
        } else if (!strcmp(argv[i], "--rg") && i + 1 < argc) {
            rg = argv[++i];
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            timeout = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: bench_lexicon [--policy F] [--rg PATH] [--timeout S] "
                            "LEXICON...\n");
            return 1;
        } else {
            if (bench_one(policy, argv[i], rg, timeout) != 0)
                rc = 1;
            n++;
        }
    }
    if (n == 0) {
        fprintf(stderr, "usage: bench_lexicon [--policy F] [--rg PATH] [--timeout S] LEXICON...\n");
        return 1;
    }
    return rc;
}
