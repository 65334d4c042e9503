/*
 * tool_backup.c — `cordon backup` and `cordon restore`: a copy of a server's
 * data that a fresh server can start from (docs/CLI.md).
 *
 * A backup is a directory: the database as one consistent, self-contained
 * file (the store's online backup: the server goes on serving while it is
 * made; on PostgreSQL a pg_dump, tool_backup_pg.c), the policy and lexicons
 * an administrator saved in the data directory, the file contents (blobs,
 * named by their SHA-256 as in the blob store, so each checks itself), the
 * staging files of uploads in progress (copied after the database, so an
 * upload the copy names has its bytes here — as many or more than at the
 * copy's moment: a tus client asks the offset and goes on from it), and
 * manifest.json naming every other file with its size and SHA-256.
 * Left out on purpose: the guard's compiled-rules cache (rebuilt at start)
 * and the audit checkpoint key (a secret that belongs off the machine and
 * out of backups; docs/AUDIT.md). Restore checks every file against the
 * manifest first and writes only into a data directory that holds no
 * database yet, so a live server's database is never overwritten.
 */
#include "tool_cmd.h"
#include "tool_opts.h"
#include "tool_backup_pg.h"
#include "tool_store.h"

#include "base/base_file.h"
#include "blob/blob.h"

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
#define PG_DUMP_FILE  "store.pgdump"     /* pg_dump's custom format */
#define BLOB_AREA     "sha256"           /* the blob store's content area (blob_local.c) */
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
          "(made while the server runs; pg_dump for a PostgreSQL store), the policy and\n"
          "lexicons saved in the data directory, the file contents (blobs), and\n"
          "manifest.json with each file's size and SHA-256.\n"
          "restore checks BACKUP_DIR against its manifest and copies it into a data\n"
          "directory that has no database yet (on PostgreSQL: an empty database, with\n"
          "pg_restore); start `cordon serve` on it then.\n"
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

/* ---- blobs: DIR/sha256/xx/HASH, as blob_local.c lays them out -------------- */

typedef int (*blob_fn)(const char *path, const char *rel, const char *hex, void *ctx);

static bool is_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return !p[n];
}

/* Calls fn for every committed blob under root (a root without a content
 * area has none). Anything else there (a temp file, a stray name) is not a
 * blob and is skipped. Returns 0, fn's non-zero, or -1 (errno). */
static int walk_blobs(const char *root, blob_fn fn, void *ctx);

/* Calls fn for every upload in progress under root: DIR/staging/ID (ids as
 * blob.h's blob_id_valid; anything else is skipped). Returns as walk_blobs. */
static int walk_staging(const char *root, blob_fn fn, void *ctx)
{
    char *area = join(root, "staging"), path[4096], rel[600];
    DIR *d = area ? opendir(area) : NULL;
    struct dirent *e;
    int rc = -1;

    if (!area)
        goto out;
    if (!d) {
        rc = errno == ENOENT ? 0 : -1;
        goto out;
    }
    while ((e = readdir(d))) {
        if (!blob_id_valid(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", area, e->d_name);
        snprintf(rel, sizeof rel, "staging/%s", e->d_name);
        if ((rc = fn(path, rel, e->d_name, ctx)))
            goto out;
    }
    rc = 0;
out:
    if (d)
        closedir(d);
    free(area);
    return rc;
}

static int walk_blobs(const char *root, blob_fn fn, void *ctx)
{
    char *area = join(root, BLOB_AREA), path[4096], rel[600];
    DIR *d = area ? opendir(area) : NULL, *f = NULL;
    struct dirent *e, *b;
    int rc = -1;

    if (!area)
        goto out;
    if (!d) {
        rc = errno == ENOENT ? 0 : -1;
        goto out;
    }
    while ((e = readdir(d))) {
        if (!is_hex(e->d_name, 2))
            continue;
        snprintf(path, sizeof path, "%s/%s", area, e->d_name);
        if (!(f = opendir(path)))
            goto out;
        while ((b = readdir(f))) {
            if (!is_hex(b->d_name, 64) || strncmp(b->d_name, e->d_name, 2))
                continue;
            snprintf(path, sizeof path, "%s/%s/%s", area, e->d_name, b->d_name);
            snprintf(rel, sizeof rel, BLOB_AREA "/%s/%s", e->d_name, b->d_name);
            if ((rc = fn(path, rel, b->d_name, ctx)))
                goto out;
        }
        closedir(f);
        f = NULL;
    }
    rc = 0;
out:
    if (f)
        closedir(f);
    if (d)
        closedir(d);
    free(area);
    return rc;
}

typedef struct blob_copy {
    const char *to; /* a blob store's root */
    bool keep;      /* a blob already there is kept (same name, same bytes) */
    json_int_t count, bytes;
} blob_copy;

static int copy_blob(const char *path, const char *rel, const char *hex, void *ctx)
{
    blob_copy *bc = ctx;
    char *dst = join(bc->to, rel), *dir = NULL;
    struct stat st;
    int rc = -1;

    if (!dst || stat(path, &st))
        goto out;
    if (bc->keep && !access(dst, F_OK)) {
        rc = 0; /* the same name holds the same bytes */
        goto out;
    }
    dir = strdup(dst);
    if (!dir)
        goto out;
    *strrchr(dir, '/') = 0;
    if (base_file_mkdir_p(dir, 0700))
        goto out;
    if (copy_file(path, dst)) {
        fprintf(stderr, "cordon: cannot copy blob %s to %s: %s\n", hex, bc->to, strerror(errno));
        goto out;
    }
    bc->count++;
    bc->bytes += (json_int_t)st.st_size;
    rc = 0;
out:
    free(dst);
    free(dir);
    return rc;
}

/* Every blob of the server's blob store into OUT/blobs. */
static int backup_blobs(const char *data, const char *config, const char *out, json_t *m)
{
    char *from = NULL, *to = join(out, "blobs"), why[512];
    blob_copy bc = {.to = to};
    int rc = -1;

    if (!to || tool_locate_blobs(data, config, &from, why, sizeof why)) {
        fprintf(stderr, "cordon backup: %s\n", to ? why : "out of memory");
        goto out;
    }
    if (walk_blobs(from, copy_blob, &bc)) {
        fprintf(stderr, "cordon backup: the blobs in %s: %s\n", from, strerror(errno));
        goto out;
    }
    rc = json_object_set_new(m, "blobs",
                             json_pack("{s:I,s:I}", "count", bc.count, "bytes", bc.bytes));
    if (!rc)
        printf("blobs: %lld files, %lld bytes\n", (long long)bc.count, (long long)bc.bytes);
    bc.count = bc.bytes = 0;
    if (!rc && walk_staging(from, copy_blob, &bc)) {
        fprintf(stderr, "cordon backup: the uploads in %s: %s\n", from, strerror(errno));
        rc = -1;
    }
    if (!rc)
        rc = json_object_set_new(m, "uploads",
                                 json_pack("{s:I,s:I}", "count", bc.count, "bytes", bc.bytes));
    if (!rc)
        printf("uploads in progress: %lld files, %lld bytes\n", (long long)bc.count,
               (long long)bc.bytes);
out:
    free(from);
    free(to);
    return rc;
}

static int count_blob(const char *path, const char *rel, const char *hex, void *ctx)
{
    char got[65];
    uint64_t size;

    (void)rel;
    if (hash_file(path, got, &size) || strcmp(got, hex)) {
        fprintf(stderr, "cordon restore: blob %s is damaged (its SHA-256 differs)\n", hex);
        return -1;
    }
    ++*(json_int_t *)ctx;
    return 0;
}

static int count_staging(const char *path, const char *rel, const char *id, void *ctx)
{
    (void)path, (void)rel, (void)id;
    ++*(json_int_t *)ctx;
    return 0;
}

/* The backup's blobs check themselves (name = SHA-256) and are as many as
 * the manifest says. Returns 0 or -1 (printed). */
static int check_blobs(const char *from, json_t *m)
{
    json_t *b = json_object_get(m, "blobs");
    char *dir = join(from, "blobs");
    json_int_t n = 0;
    int rc = -1;

    if (!b) { /* a backup made before blobs were in backups */
        rc = 0;
        goto out;
    }
    if (!dir || walk_blobs(dir, count_blob, &n))
        goto out;
    if (n != json_integer_value(json_object_get(b, "count"))) {
        fprintf(stderr, "cordon restore: the backup holds %lld blobs, its manifest %lld\n",
                (long long)n, (long long)json_integer_value(json_object_get(b, "count")));
        goto out;
    }
    /* uploads in progress have no name to check them by: their number */
    b = json_object_get(m, "uploads");
    n = 0;
    if (b && (walk_staging(dir, count_staging, &n) ||
              n != json_integer_value(json_object_get(b, "count")))) {
        fprintf(stderr,
                "cordon restore: the backup holds %lld uploads in progress, its "
                "manifest %lld\n",
                (long long)n, (long long)json_integer_value(json_object_get(b, "count")));
        goto out;
    }
    rc = 0;
out:
    free(dir);
    return rc;
}

/* The backup's blobs into the server's blob store; a blob already there is
 * the same bytes and is kept. */
static int restore_blobs(const char *data, const char *config, const char *from)
{
    char *src = join(from, "blobs"), *to = NULL, why[512];
    blob_copy bc = {.keep = true};
    int rc = -1;

    if (!src || tool_locate_blobs(data, config, &to, why, sizeof why)) {
        fprintf(stderr, "cordon restore: %s\n", src ? why : "out of memory");
        goto out;
    }
    bc.to = to;
    if (walk_blobs(src, copy_blob, &bc))
        goto out;
    printf("blobs: %lld restored into %s\n", (long long)bc.count, to);
    bc.count = 0;
    if (walk_staging(src, copy_blob, &bc))
        goto out;
    printf("uploads in progress: %lld restored\n", (long long)bc.count);
    rc = 0;
out:
    free(src);
    free(to);
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
    char *dir = NULL, *db = NULL, *ldir = NULL, *lout = NULL, *man = NULL, *text = NULL, hex[65],
         *url = NULL, why[512];
    const char *dbfile;
    json_t *files = json_array(), *m = NULL;
    uint64_t size = 0;
    int rc = TOOL_EXIT_ERROR, v = 0;
    bool pg;
    DIR *d = NULL;

    if (!files)
        goto out;
    if (mkdir(out, 0700)) {
        fprintf(stderr, "cordon backup: %s: %s (give a new directory)\n", out, strerror(errno));
        goto out;
    }
    if (tool_locate(data, config, &url, NULL, why, sizeof why)) {
        fprintf(stderr, "cordon backup: %s\n", why);
        goto fail;
    }
    if (tool_store_open("backup", data, config, false, &s, &dir))
        goto fail;
    pg = !strcmp(store_backend_for(url), "postgresql");
    dbfile = pg ? PG_DUMP_FILE : STORE_DB_FILE;
    db = join(out, dbfile);
    if (!db)
        goto fail;
    if (pg) {
        /* one snapshot of the whole database while the nodes serve */
        if (tool_pg_dump("backup", url, db))
            goto fail;
    } else if (!s->methods->backup) {
        fprintf(stderr, "cordon backup: the store is %s: back it up with its own tools\n",
                s->methods->name);
        goto fail;
    } else if (store_backup(s, db)) {
        fprintf(stderr, "cordon backup: %s\n", store_errmsg(s));
        goto fail;
    }
    if (hash_file(db, hex, &size) ||
        json_array_append_new(files, json_pack("{s:s,s:I,s:s}", "path", dbfile, "bytes",
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
    m = json_pack("{s:s,s:s,s:I,s:i,s:O}", "format", FORMAT, "store", pg ? "postgresql" : "sqlite",
                  "created_at", (json_int_t)time(NULL) * 1000, "schema_version", v, "files", files);
    /* after the database: every file a copied message names was committed
     * before it, so its bytes are here */
    if (!m || backup_blobs(data, config, out, m))
        goto fail;
    text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
    man = join(out, "manifest.json");
    if (!text || !man || base_file_write_atomic(man, text, strlen(text), 0600)) {
        fprintf(stderr, "cordon backup: cannot write the manifest: %s\n", strerror(errno));
        goto fail;
    }
    if (pg) {
        /* a dump is checked by pg_restore --list; its audit chain when it is
         * restored. The source's chain is checked here. */
        if (verify_chain("backup", s))
            goto fail;
    } else {
        so.path = db;
        if (store_open(&so, &copy, NULL) || verify_chain("backup", copy))
            goto fail;
    }
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
    free(url);
    return rc;
}

/* A manifest path is one of ours: the database, the policy, a lexicon. */
static bool safe_rel(const char *p)
{
    if (!strcmp(p, STORE_DB_FILE) || !strcmp(p, PG_DUMP_FILE) || !strcmp(p, "policy.yaml"))
        return true;
    if (strncmp(p, "lexicons/", 9) || strchr(p + 9, '/') || p[9] == '.' || !p[9])
        return false;
    return strlen(p) > 13 && !strcmp(p + strlen(p) - 4, ".tsv");
}

/* Every file of the manifest is one of ours and whole (its SHA-256 and size):
 * checked before anything is written, so a damaged backup restores nothing. */
static int check_files(const char *from, json_t *files)
{
    char *path = NULL;
    size_t i;
    json_t *f;
    int rc = -1;

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
    rc = 0;
out:
    free(path);
    return rc;
}

/* Copies the manifest's files into the new data directory `dir` (the
 * database streamed, the policy and lexicons written atomically); a
 * PostgreSQL dump is left for pg_restore. */
static int write_files(const char *from, const char *dir, json_t *files, bool pg)
{
    char *lex = NULL;
    size_t i;
    json_t *f;
    int rc = -1;

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
        /* the database may be large: streamed, not read whole; a dump is
         * restored by pg_restore below */
        if (!strcmp(rel, PG_DUMP_FILE)) {
            bad = !pg;
        } else if (!strcmp(rel, STORE_DB_FILE)) {
            bad = pg || !src || !dst || copy_file(src, dst);
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
    rc = 0;
out:
    free(lex);
    return rc;
}

static int do_restore(const char *data, const char *config, const char *from)
{
    char *man = join(from, "manifest.json"), *dir = NULL, *path = NULL, why[512], *dump = NULL;
    const char *kind;
    bool pg, has_db;
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
    if (check_files(from, files) || check_blobs(from, m))
        goto out;
    if (tool_locate(data, config, &path, &dir, why, sizeof why)) {
        fprintf(stderr, "cordon restore: %s\n", why);
        goto out;
    }
    pg = !strcmp(store_backend_for(path), "postgresql");
    kind = json_string_value(json_object_get(m, "store")) ?: "sqlite";
    if (strcmp(kind, pg ? "postgresql" : "sqlite")) {
        fprintf(stderr,
                "cordon restore: this backup is of a%s store and the server's store is %s\n",
                pg ? "n SQLite" : " PostgreSQL", pg ? "PostgreSQL" : "SQLite");
        goto out;
    }
    has_db = false;
    json_array_foreach(files, i, f)
    {
        has_db |= !strcmp(json_string_value(json_object_get(f, "path")),
                          pg ? PG_DUMP_FILE : STORE_DB_FILE);
    }
    if (!has_db) {
        fprintf(stderr, "cordon restore: %s holds no database (%s)\n", from,
                pg ? PG_DUMP_FILE : STORE_DB_FILE);
        goto out;
    }
    if (pg ? tool_pg_empty("restore", path) != 1 : !access(path, F_OK) || errno != ENOENT) {
        char shown[512];

        fprintf(stderr,
                "cordon restore: %s already holds a database (or cannot be asked); restore "
                "into %s (a server's database is never overwritten)\n",
                pg ? store_path_redacted(path, shown, sizeof shown) : dir,
                pg ? "an empty database" : "a new data directory");
        goto out;
    }
    if (base_file_mkdir_p(dir, 0700)) {
        fprintf(stderr, "cordon restore: %s: %s\n", dir, strerror(errno));
        goto out;
    }
    if (write_files(from, dir, files, pg))
        goto out;
    if (restore_blobs(data, config, from))
        goto out;
    if (pg) {
        free(dump);
        dump = join(from, PG_DUMP_FILE);
        if (!dump || tool_pg_restore("restore", path, dump))
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
    free(dump);
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
