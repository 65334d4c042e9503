/*
 * bench_hsraw.c — Hyperscan alone over the corpus: the floor under `cordon
 * scan`, to tell the guard's own costs (normalising, validating, reporting)
 * from the matcher's.
 *
 * usage: bench_hsraw [--lexicon LEX] [--db FILE.hsdb] FILE...
 *
 * Reads every FILE into memory first (untimed), then, best of 3, times
 * hs_scan() of each file as one block with
 *   --lexicon: a database of the lexicon's terms as raw literals (what
 *              "Hyperscan's raw literal scan" means in docs/BENCH.md);
 *   --db:      a block-mode database the guard serialised into its cache
 *              directory (every detector's patterns plus the lexicon), run
 *              over the original bytes instead of the guard's view (nearly
 *              the same for this corpus) — the matcher's share of a scan.
 * Prints MB/s and matches for each, and a SUMMARY line per database.
 *
 * It also times read(2) of every file again into one buffer (the page cache
 * copy every scan pays), best of 3: with the guard's database alone, the
 * floor of any design that reads and matches every byte.
 *
 * With --db it also times the guard's normaliser (guard_norm_feed(), view
 * and offset map, nothing else) over each file, and the normaliser followed
 * by the guard's database over the view it builds: the two stages every
 * byte of a scan must pass, so the fastest a scan of this design can be.
 *
 * Exit status: 0 when it ran, 1 otherwise.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hs/hs.h>

#include "bench_util.h"
#include "guard/guard_norm.h"

typedef struct blob {
    const char *path;
    char *p;
    size_t n;
} blob;

static int read_all(const char *path, blob *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int rc = -1;
    b->p = NULL;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !(b->p = malloc((size_t)st.st_size + 1)))
        goto out;
    b->n = 0;
    while (b->n < (size_t)st.st_size) {
        ssize_t got = read(fd, b->p + b->n, (size_t)st.st_size - b->n);
        if (got <= 0)
            goto out;
        b->n += (size_t)got;
    }
    rc = 0;
out:
    if (rc != 0) {
        free(b->p);
        b->p = NULL;
    }
    close(fd);
    return rc;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
    (void)id, (void)from, (void)to, (void)flags;
    ++*(unsigned long long *)ctx;
    return 0;
}

static hs_database_t *literal_db(const char *lex)
{
    size_t n = 0;
    char **t = bench_read_terms(lex, 0, &n);
    unsigned *flags = NULL, *ids = NULL;
    size_t *lens = NULL;
    hs_database_t *db = NULL;
    hs_compile_error_t *cerr = NULL;
    if (!t) {
        fprintf(stderr, "bench_hsraw: %s: %s\n", lex, strerror(errno));
        return NULL;
    }
    flags = calloc(n, sizeof *flags);
    ids = malloc(n * sizeof *ids);
    lens = malloc(n * sizeof *lens);
    if (flags && ids && lens) {
        for (size_t i = 0; i < n; i++) {
            ids[i] = (unsigned)i;
            lens[i] = strlen(t[i]);
        }
        if (hs_compile_lit_multi((const char *const *)t, flags, ids, lens, (unsigned)n,
                                 HS_MODE_BLOCK, NULL, &db, &cerr) != HS_SUCCESS) {
            fprintf(stderr, "bench_hsraw: compiling %s: %s\n", lex, cerr ? cerr->message : "?");
            hs_free_compile_error(cerr);
            db = NULL;
        }
    }
    free(flags);
    free(ids);
    free(lens);
    bench_free_terms(t, n);
    return db;
}

static hs_database_t *serialized_db(const char *path)
{
    blob b;
    hs_database_t *db = NULL;
    if (read_all(path, &b) != 0) {
        fprintf(stderr, "bench_hsraw: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (hs_deserialize_database(b.p, b.n, &db) != HS_SUCCESS) {
        fprintf(stderr, "bench_hsraw: %s: not a Hyperscan database for this library\n", path);
        db = NULL;
    }
    free(b.p);
    return db;
}

/* Best of 3 passes over all files; returns seconds or -1. */
static double run(hs_database_t *db, const blob *files, size_t n, unsigned long long *matches)
{
    hs_scratch_t *s = NULL;
    double best = -1;
    if (hs_alloc_scratch(db, &s) != HS_SUCCESS)
        return -1;
    for (int pass = 0; pass < 3; pass++) {
        unsigned long long m = 0;
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < n; i++)
            if (hs_scan(db, files[i].p, (unsigned)files[i].n, 0, s, on_match, &m) != HS_SUCCESS) {
                hs_free_scratch(s);
                return -1;
            }
        double sec = (double)(bench_now_ns() - t0) / 1e9;
        if (best < 0 || sec < best)
            best = sec;
        *matches = m;
    }
    hs_free_scratch(s);
    return best;
}

/* Best of 3 passes of read(2) over all files into one buffer of the largest
 * file's size, each read whole as `cordon scan` reads a file under its
 * 16 MiB block limit; returns seconds or -1. */
static double run_read(const blob *files, size_t n)
{
    size_t cap = 1;
    double best = -1;
    char *buf;
    for (size_t i = 0; i < n; i++)
        if (files[i].n > cap)
            cap = files[i].n;
    if (!(buf = malloc(cap)))
        return -1;
    for (int pass = 0; pass < 3 && best != -2; pass++) {
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < n && best != -2; i++) {
            int fd = open(files[i].path, O_RDONLY | O_CLOEXEC);
            size_t got = 0;
            ssize_t k = 1;
            while (fd >= 0 && got < files[i].n && k > 0)
                if ((k = read(fd, buf + got, files[i].n - got)) > 0)
                    got += (size_t)k;
            if (fd < 0 || got != files[i].n)
                best = -2;
            if (fd >= 0)
                close(fd);
        }
        double sec = (double)(bench_now_ns() - t0) / 1e9;
        if (best != -2 && (best < 0 || sec < best))
            best = sec;
    }
    free(buf);
    return best < 0 ? -1 : best;
}

/* Best of 3 passes of the normaliser over all files, each as one block, then
 * (db non-NULL) hs_scan() of its view; returns seconds or -1. */
static double run_norm(hs_database_t *db, const blob *files, size_t n, unsigned long long *matches,
                       size_t *view_bytes)
{
    hs_scratch_t *s = NULL;
    guard_norm g;
    double best = -1;
    if (db && hs_alloc_scratch(db, &s) != HS_SUCCESS)
        return -1;
    guard_norm_init(&g);
    for (int pass = 0; pass < 3 && best != -2; pass++) {
        unsigned long long m = 0;
        size_t vb = 0;
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < n; i++) {
            guard_norm_reset(&g);
            if (guard_norm_feed(&g, (const unsigned char *)files[i].p, files[i].n, true) != 0 ||
                (db && hs_scan(db, (const char *)g.view, (unsigned)g.len, 0, s, on_match, &m) !=
                           HS_SUCCESS)) {
                best = -2;
                break;
            }
            vb += g.len;
        }
        double sec = (double)(bench_now_ns() - t0) / 1e9;
        if (best != -2 && (best < 0 || sec < best))
            best = sec;
        *matches = m;
        *view_bytes = vb;
    }
    guard_norm_free(&g);
    hs_free_scratch(s);
    return best < 0 ? -1 : best;
}

/* Times db over the files (normalise: over the normaliser's view of each,
 * or, db NULL, the normaliser alone), prints a line and a SUMMARY line, and
 * frees db. Returns 0, or -1 when it could not run. */
static int report(const char *name, const char *what, hs_database_t *db, bool normalise,
                  const blob *files, size_t n, size_t bytes)
{
    unsigned long long matches = 0;
    size_t size = 0;
    double sec;
    if (!db && !normalise)
        return -1;
    if (normalise) {
        sec = run_norm(db, files, n, &matches, &size); /* size: of the views */
    } else {
        hs_database_size(db, &size);
        sec = run(db, files, n, &matches);
    }
    if (db)
        hs_free_database(db);
    if (sec < 0) {
        fprintf(stderr, "bench_hsraw: %s failed\n", name);
        return -1;
    }
    printf("  %-34s %8.3f s %9.1f MB/s  %10llu matches  (%s %.1f MB)\n", name, sec,
           (double)bytes / 1e6 / sec, matches, normalise ? "view" : "db", (double)size / 1e6);
    printf("SUMMARY\t%s MB/s\t%.1f\t-\t-\t-\t-\n", what, (double)bytes / 1e6 / sec);
    return 0;
}

int main(int argc, char **argv)
{
    const char *lex = NULL, *dbpath = NULL;
    blob *files = calloc((size_t)argc, sizeof *files);
    size_t n = 0, bytes = 0;
    int rc = 0;
    if (!files)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lexicon") && i + 1 < argc) {
            lex = argv[++i];
        } else if (!strcmp(argv[i], "--db") && i + 1 < argc) {
            dbpath = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: bench_hsraw [--lexicon LEX] [--db FILE.hsdb] FILE...\n");
            return 1;
        } else {
            files[n].path = argv[i]; /* run_read() opens it again */
            if (read_all(argv[i], &files[n]) != 0) {
                fprintf(stderr, "bench_hsraw: %s: %s\n", argv[i], strerror(errno));
                return 1;
            }
            bytes += files[n++].n;
        }
    }
    if (n == 0 || (!lex && !dbpath)) {
        fprintf(stderr, "usage: bench_hsraw [--lexicon LEX] [--db FILE.hsdb] FILE...\n");
        return 1;
    }
    printf("hs_scan alone, one thread, %zu files, %.1f MB in memory, best of 3:\n", n,
           (double)bytes / 1e6);
    if (lex && report("raw literals of the lexicon", "hs_scan lexicon literals", literal_db(lex),
                      false, files, n, bytes) != 0)
        rc = 1;
    double rsec = run_read(files, n);
    if (rsec < 0) {
        fprintf(stderr, "bench_hsraw: reading the files again failed\n");
        rc = 1;
    } else {
        printf("  %-34s %8.3f s %9.1f MB/s\n", "read(2) of the files alone", rsec,
               (double)bytes / 1e6 / rsec);
        printf("SUMMARY\tread alone MB/s\t%.1f\t-\t-\t-\t-\n", (double)bytes / 1e6 / rsec);
    }
    if (dbpath) {
        hs_database_t *db = serialized_db(dbpath);
        if (!db || report("the guard's cached database", "hs_scan guard database", db, false, files,
                          n, bytes) != 0)
            rc = 1;
        if (report("the guard's normaliser alone", "normaliser alone", NULL, true, files, n,
                   bytes) != 0)
            rc = 1;
        db = serialized_db(dbpath);
        if (!db || report("normaliser + guard database", "normaliser + guard database", db, true,
                          files, n, bytes) != 0)
            rc = 1;
    }
    for (size_t i = 0; i < n; i++)
        free(files[i].p);
    free(files);
    return rc;
}
