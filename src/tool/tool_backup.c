/*
 * tool_backup.c — `cordon backup` and `cordon restore`: a copy of a server's
 * data that a fresh server can start from (docs/CLI.md).
 *
 * A backup is a directory: the database as one consistent, self-contained
 * file (the store's online backup: the server goes on serving while it is
 * made), the policy and lexicons an administrator saved in the data
 * directory, and manifest.json naming every file with its size and SHA-256.
 * Left out on purpose: the guard's compiled-rules cache (rebuilt at start)
 * and the audit checkpoint key (a secret that belongs off the machine and
 * out of backups; docs/AUDIT.md). Restore checks every file against the
 * manifest first and writes only into a data directory that holds no
 * database yet, so a live server's database is never overwritten.
 */
#include "tool_cmd.h"
#include "tool_opts.h"
#include "tool_store.h"

#include "base/base_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FORMAT        "cordon-backup-1"
#define MAX_SIDE_FILE ((size_t)64 << 20) /* a policy or lexicon file */
#define MAX_FILES     1024

enum { OPT_DATA = TOOL_OPT_FIRST_FREE, OPT_CONFIG };

static const struct option backup_longopts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void tool_backup_help(FILE *f)
{
    fputs("usage: cordon backup [--data DIR | --config FILE] OUT_DIR\n"
          "       cordon restore [--data DIR | --config FILE] BACKUP_DIR\n"
          "\n"
          "backup writes a new directory OUT_DIR: the database as one consistent file\n"
          "(made while the server runs), the policy and lexicons saved in the data\n"
          "directory, and manifest.json with each file's size and SHA-256.\n"
          "restore checks BACKUP_DIR against its manifest and copies it into a data\n"
          "directory that has no database yet; start `cordon serve` on it then.\n"
          "Not in a backup: the compiled-rules cache and the audit checkpoint key.\n"
          "\n"
          "      --data DIR       the server's data directory (default ./cordon-data)\n"
          "      --config FILE    take data_dir from the server's config file\n"
          "  -h, --help           this help\n"
          "\n"
          "Exit status: 0 done, 2 error (nothing is left half-written).\n",
          f);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* SHA-256 (hex) and size of a file. Returns 0 or -1 (errno). */
static int hash_file(const char *path, char hex[65], uint64_t *size)
{
    crypto_hash_sha256_state st;
    unsigned char h[32], *buf = malloc(1 << 20);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;
    ssize_t n;

    *size = 0;
    if (fd < 0 || !buf)
        goto out;
    crypto_hash_sha256_init(&st);
    while ((n = read(fd, buf, 1 << 20)) > 0) {
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        *size += (uint64_t)n;
    }
    if (n < 0)
        goto out;
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(hex, 65, h, sizeof h);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* Reads a small file whole. Returns 0, 1 when absent, -1 on error. */
static int slurp(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    size_t n = 0;
    int rc = -1;

    *out = NULL;
    if (!f)
        return errno == ENOENT ? 1 : -1;
    p = malloc(MAX_SIDE_FILE + 1);
    if (p) {
        n = fread(p, 1, MAX_SIDE_FILE + 1, f);
        if (!ferror(f) && n <= MAX_SIDE_FILE) {
            *out = p;
            *len = n;
            p = NULL;
            rc = 0;
        } else if (n > MAX_SIDE_FILE) {
            errno = EFBIG;
        }
    }
    fclose(f);
    free(p);
    return rc;
}

/* Copies from_dir/rel to to_dir/rel (0600, atomically) and adds it to the
 * manifest. absent_ok: a missing file is skipped. Returns 0 or -1. */
static int copy_side(const char *from_dir, const char *to_dir, const char *rel, bool absent_ok,
                     json_t *files)
{
    char *src = join(from_dir, rel), *dst = join(to_dir, rel), *buf = NULL, hex[65];
    unsigned char h[32];
    size_t len = 0;
    int rc = -1, r;

    if (!src || !dst)
        goto out;
    r = slurp(src, &buf, &len);
    if (r == 1 && absent_ok) {
        rc = 0;
        goto out;
    }
    if (r) {
        fprintf(stderr, "cordon backup: %s: %s\n", src, strerror(errno));
        goto out;
    }
    if (base_file_write_atomic(dst, buf, len, 0600)) {
        fprintf(stderr, "cordon backup: %s: %s\n", dst, strerror(errno));
        goto out;
    }
    crypto_hash_sha256(h, (const unsigned char *)buf, len);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    rc = json_array_append_new(
        files, json_pack("{s:s,s:I,s:s}", "path", rel, "bytes", (json_int_t)len, "sha256", hex));
out:
    free(src);
    free(dst);
    free(buf);
    return rc;
}

static int verify_chain(const char *cmd, store *s)
{
    store_audit_verify_result v = {0};
    int rc = store_audit_verify(s, &v);

    if (rc || !v.ok) {
        fprintf(stderr, "cordon %s: the audit chain of the copy does not verify: %s\n", cmd,
                rc ? store_strerror(rc) : v.reason);
        return -1;
    }
    printf("audit chain intact: %lld entries\n", (long long)v.entries);
    return 0;
}

static int do_backup(const char *data, const char *config, const char *out)
{
    store *s = NULL, *copy = NULL;
    store_options so = {.version = 1, .read_only = true};
    char *dir = NULL, *db = NULL, *ldir = NULL, *lout = NULL, *man = NULL, *text = NULL, hex[65];
    json_t *files = json_array(), *m = NULL;
    uint64_t size = 0;
    int rc = TOOL_EXIT_ERROR, v = 0;
    DIR *d = NULL;

    if (!files)
        goto out;
    if (mkdir(out, 0700)) {
        fprintf(stderr, "cordon backup: %s: %s (give a new directory)\n", out, strerror(errno));
        goto out;
    }
    if (tool_store_open("backup", data, config, false, &s, &dir))
        goto fail;
    if (!s->methods->backup) {
        fprintf(stderr,
                "cordon backup: the store is %s: back it up with its own tools "
                "(pg_dump; docs/DEPLOY.md)\n",
                s->methods->name);
        goto fail;
    }
    db = join(out, STORE_DB_FILE);
    if (!db || store_backup(s, db)) {
        fprintf(stderr, "cordon backup: %s\n", db ? store_errmsg(s) : "out of memory");
        goto fail;
    }
    if (hash_file(db, hex, &size) ||
        json_array_append_new(files, json_pack("{s:s,s:I,s:s}", "path", STORE_DB_FILE, "bytes",
                                               (json_int_t)size, "sha256", hex))) {
        fprintf(stderr, "cordon backup: %s: %s\n", db, strerror(errno));
        goto fail;
    }
    if (copy_side(dir, out, "policy.yaml", true, files))
        goto fail;
    ldir = join(dir, "lexicons");
    lout = join(out, "lexicons");
    if (!ldir || !lout)
        goto fail;
    if ((d = opendir(ldir))) {
        struct dirent *e;

        if (mkdir(lout, 0700))
            goto fail;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            char rel[300];

            if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".tsv"))
                continue;
            snprintf(rel, sizeof rel, "lexicons/%s", e->d_name);
            if (copy_side(dir, out, rel, false, files))
                goto fail;
        }
    }
    store_schema_version(s, &v);
    m = json_pack("{s:s,s:I,s:i,s:O}", "format", FORMAT, "created_at",
                  (json_int_t)time(NULL) * 1000, "schema_version", v, "files", files);
    text = m ? json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    man = join(out, "manifest.json");
    if (!text || !man || base_file_write_atomic(man, text, strlen(text), 0600)) {
        fprintf(stderr, "cordon backup: cannot write the manifest: %s\n", strerror(errno));
        goto fail;
    }
    so.path = db;
    if (store_open(&so, &copy, NULL) || verify_chain("backup", copy))
        goto fail;
    printf("backup of %s written to %s: %zu files, the database %llu bytes\n", dir, out,
           json_array_size(files), (unsigned long long)size);
    rc = TOOL_EXIT_ALLOW;
    goto out;
fail:
    /* nothing half-written is left that could be taken for a backup */
    if (man)
        unlink(man);
    fprintf(stderr, "cordon backup: failed; remove %s before trying again\n", out);
out:
    if (d)
        closedir(d);
    store_close(copy);
    store_close(s);
    json_decref(m);
    json_decref(files);
    free(text);
    free(man);
    free(ldir);
    free(lout);
    free(db);
    free(dir);
    return rc;
}

/* Copies src to a new file dst (0600) in pieces, synced before it is
 * given its name. Returns 0 or -1 (errno). */
static int copy_file(const char *src, const char *dst)
{
    char *tmp = NULL, *buf = malloc(1 << 20);
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, rc = -1;
    ssize_t n;

    if (in < 0 || !buf || base_file_write_temp(dst, "", 0, 0600, &tmp))
        goto out;
    out = open(tmp, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (out < 0)
        goto out;
    while ((n = read(in, buf, 1 << 20)) > 0)
        if (base_file_write_all(out, buf, (size_t)n))
            goto out;
    if (n < 0 || fsync(out) || close(out))
        goto out;
    out = -1;
    if (link(tmp, dst)) /* never over an existing file */
        goto out;
    rc = base_file_sync_dir(dst);
out:
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(buf);
    return rc;
}

/* A manifest path is one of ours: the database, the policy, a lexicon. */
static bool safe_rel(const char *p)
{
    if (!strcmp(p, STORE_DB_FILE) || !strcmp(p, "policy.yaml"))
        return true;
    if (strncmp(p, "lexicons/", 9) || strchr(p + 9, '/') || p[9] == '.' || !p[9])
        return false;
    return strlen(p) > 13 && !strcmp(p + strlen(p) - 4, ".tsv");
}

static int do_restore(const char *data, const char *config, const char *from)
{
    char *man = join(from, "manifest.json"), *dir = NULL, *path = NULL, *lex = NULL, why[512];
    json_t *m = NULL, *files;
    json_error_t je;
    store *s = NULL;
    size_t i;
    json_t *f;
    int rc = TOOL_EXIT_ERROR;

    m = man ? json_load_file(man, JSON_REJECT_DUPLICATES, &je) : NULL;
    files = json_object_get(m, "files");
    if (!m || strcmp(json_string_value(json_object_get(m, "format")) ?: "", FORMAT) ||
        !json_is_array(files) || json_array_size(files) > MAX_FILES) {
        fprintf(stderr, "cordon restore: %s is not a Cordon backup (%s)\n", from,
                m ? "unknown format" : je.text);
        goto out;
    }
    /* every file first: a damaged backup restores nothing */
    json_array_foreach(files, i, f)
    {
        const char *rel = json_string_value(json_object_get(f, "path")),
                   *want = json_string_value(json_object_get(f, "sha256"));
        char hex[65];
        uint64_t size;

        if (!rel || !want || !safe_rel(rel)) {
            fprintf(stderr, "cordon restore: the manifest names an unexpected file\n");
            goto out;
        }
        free(path);
        path = join(from, rel);
        if (!path || hash_file(path, hex, &size) || strcmp(hex, want) ||
            (json_int_t)size != json_integer_value(json_object_get(f, "bytes"))) {
            fprintf(stderr, "cordon restore: %s is damaged or missing (its SHA-256 differs)\n",
                    rel);
            goto out;
        }
    }
    free(path);
    path = NULL;
    if (tool_locate(data, config, &path, &dir, why, sizeof why)) {
        fprintf(stderr, "cordon restore: %s\n", why);
        goto out;
    }
    if (strcmp(store_backend_for(path), "sqlite")) {
        fprintf(stderr, "cordon restore: the server's store is PostgreSQL: restore it with "
                        "pg_restore (docs/DEPLOY.md); this copy is an SQLite database\n");
        goto out;
    }
    if (!access(path, F_OK) || errno != ENOENT) {
        fprintf(stderr,
                "cordon restore: %s already holds a database; restore into a new data "
                "directory (a server's database is never overwritten)\n",
                dir);
        goto out;
    }
    if (base_file_mkdir_p(dir, 0700)) {
        fprintf(stderr, "cordon restore: %s: %s\n", dir, strerror(errno));
        goto out;
    }
    json_array_foreach(files, i, f)
    {
        const char *rel = json_string_value(json_object_get(f, "path"));
        char *src = join(from, rel), *dst = join(dir, rel), *buf = NULL;
        size_t len = 0;
        int bad;

        if (!strncmp(rel, "lexicons/", 9) && !lex) {
            lex = join(dir, "lexicons");
            if (!lex || (mkdir(lex, 0700) && errno != EEXIST)) {
                free(src);
                free(dst);
                goto out;
            }
        }
        /* the database may be large: streamed, not read whole */
        if (!strcmp(rel, STORE_DB_FILE)) {
            bad = !src || !dst || copy_file(src, dst);
        } else {
            bad = !src || !dst || slurp(src, &buf, &len) ||
                  base_file_write_atomic(dst, buf, len, 0600);
        }
        if (bad)
            fprintf(stderr, "cordon restore: cannot write %s\n", dst ? dst : rel);
        free(src);
        free(dst);
        free(buf);
        if (bad)
            goto out;
    }
    if (tool_store_open("restore", data, config, false, &s, NULL) || verify_chain("restore", s))
        goto out;
    printf("restored %s into %s: %zu files; start `cordon serve` on it\n", from, dir,
           json_array_size(files));
    rc = TOOL_EXIT_ALLOW;
out:
    store_close(s);
    json_decref(m);
    free(man);
    free(dir);
    free(path);
    free(lex);
    return rc;
}

static int backup_main(int argc, char **argv, bool restore)
{
    const char *data = NULL, *config = NULL, *cmd = restore ? "restore" : "backup";
    int c;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", backup_longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case 'h':
            tool_backup_help(stdout);
            return TOOL_EXIT_ALLOW;
        default:
            tool_getopt_error(cmd, c, argv);
            return TOOL_EXIT_ERROR;
        }
    }
    if (optind + 1 != argc) {
        tool_usage_error(cmd, "%s", restore ? "give one BACKUP_DIR" : "give one OUT_DIR");
        return TOOL_EXIT_ERROR;
    }
    if (sodium_init() < 0)
        return TOOL_EXIT_ERROR;
    return restore ? do_restore(data, config, argv[optind]) : do_backup(data, config, argv[optind]);
}

int tool_backup_main(int argc, char **argv)
{
    return backup_main(argc, argv, false);
}

int tool_restore_main(int argc, char **argv)
{
    return backup_main(argc, argv, true);
}
