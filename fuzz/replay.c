/*
 * replay.c — runs fuzz targets over committed corpora in the normal test run,
 * like SQLite's test/fuzzcheck.c: every input that once found a bug, or that
 * exercises an interesting path, is checked again on every build, with or
 * without libFuzzer and whatever the compiler.
 *
 * usage: fuzz_scan_replay DIR_OR_FILE...
 *   Calls LLVMFuzzerTestOneInput() once per regular file (directories are
 *   read one level deep, in name order) and prints "replayed N inputs".
 *   A broken invariant aborts inside the target; a file that cannot be read
 *   exits 1.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_BYTES (16u * 1024 * 1024) /* larger corpus files are a mistake */

static int replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;

    if (!f) {
        perror(path);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 4096;
            uint8_t *q;
            if (nc > REPLAY_MAX_BYTES) {
                fprintf(stderr, "%s: larger than %u bytes\n", path, REPLAY_MAX_BYTES);
                goto out;
            }
            q = realloc(buf, nc);
            if (!q) {
                fprintf(stderr, "%s: out of memory\n", path);
                goto out;
            }
            buf = q;
            cap = nc;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        perror(path);
        goto out;
    }
    /* Exactly `len` bytes: a copy of that size lets ASan see overreads. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        fprintf(stderr, "%s: out of memory\n", path);
        goto out;
    }
    memcpy(exact, buf, len);
    if (getenv("REPLAY_VERBOSE"))
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*count)++;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int replay_path(const char *path, size_t *count)
{
    struct stat st;
    struct dirent **names = NULL;
    int n, rc = 0;

    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path, count);
    n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        perror(path);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char full[4096];
        struct stat fs;
        if (rc == 0 && names[i]->d_name[0] != '.') {
            snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
            if (stat(full, &fs) == 0 && S_ISREG(fs.st_mode))
                rc = replay_file(full, count);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i], &count) != 0)
            return 1;
    printf("replayed %zu inputs\n", count);
    return 0;
}
