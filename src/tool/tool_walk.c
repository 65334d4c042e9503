/*
 * tool_walk.c — the directory walk of `cordon scan` (see tool_walk.h).
 *
 * A directory is read whole and closed before its entries are visited, so
 * the walk holds one directory descriptor at a time however deep the tree.
 */
#include "tool_walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Directories visited, by (device, inode): an open-addressing hash set. */
typedef struct dir_key {
    dev_t dev;
    ino_t ino;
    bool used;
} dir_key;

typedef struct dir_set {
    dir_key *v;
    size_t n, cap; /* cap is a power of two */
} dir_set;

typedef struct walker {
    tool_items *out;
    dir_set seen;
    const volatile sig_atomic_t *stop;
    atomic_size_t *found;
} walker;

typedef struct dir_entry {
    char *name;
    unsigned char type; /* DT_* */
} dir_entry;

static size_t dir_hash(dev_t dev, ino_t ino, size_t mask)
{
    uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev;
    return (size_t)(h ^ (h >> 29)) & mask;
}

/* Inserts (dev, ino). Returns 1 if it was new, 0 if already there, -1 when
 * out of memory. */
static int dir_set_add(dir_set *s, dev_t dev, ino_t ino)
{
    size_t i;

    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        dir_key *v = calloc(nc, sizeof *v);
        if (!v)
            return -1;
        for (size_t k = 0; k < s->cap; k++) {
            if (!s->v[k].used)
                continue;
            i = dir_hash(s->v[k].dev, s->v[k].ino, nc - 1);
            while (v[i].used)
                i = (i + 1) & (nc - 1);
            v[i] = s->v[k];
        }
        free(s->v);
        s->v = v;
        s->cap = nc;
    }
    i = dir_hash(dev, ino, s->cap - 1);
    while (s->v[i].used) {
        if (s->v[i].dev == dev && s->v[i].ino == ino)
            return 0;
        i = (i + 1) & (s->cap - 1);
    }
    s->v[i] = (dir_key){dev, ino, true};
    s->n++;
    return 1;
}

/* Appends an item; takes ownership of path (freed on failure). */
static int add_item(walker *w, char *path, tool_item_kind kind, uint64_t size, int err,
                    const char *what)
{
    tool_items *l = w->out;

    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        tool_item *v = realloc(l->v, nc * sizeof *v);
        if (!v) {
            free(path);
            return -1;
        }
        l->v = v;
        l->cap = nc;
    }
    l->v[l->n++] = (tool_item){path, kind, size, err, what};
    l->bytes += size;
    if (w->found)
        atomic_store_explicit(w->found, l->n, memory_order_relaxed);
    return 0;
}

static int add_error(walker *w, const char *path, int err, const char *what)
{
    char *p = strdup(path);
    return p ? add_item(w, p, TOOL_ITEM_ERROR, 0, err, what) : -1;
}

static char *join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    bool slash = dl && dir[dl - 1] == '/';
    char *p = malloc(dl + nl + 2);

    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    if (!slash)
        p[dl++] = '/';
    memcpy(p + dl, name, nl + 1);
    return p;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const dir_entry *)a)->name, ((const dir_entry *)b)->name);
}

static void free_entries(dir_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* Reads the names in a directory (without "." and ".."), sorted. Returns 0,
 * or an errno value. */
static int read_dir(const char *path, dir_entry **out, size_t *nout)
{
    dir_entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    DIR *d = opendir(path);

    if (!d)
        return errno;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            rc = errno;
            break;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            dir_entry *q = realloc(v, nc * sizeof *q);
            if (!q) {
                rc = ENOMEM;
                break;
            }
            v = q;
            cap = nc;
        }
        v[n].name = strdup(de->d_name);
        if (!v[n].name) {
            rc = ENOMEM;
            break;
        }
        v[n++].type = de->d_type;
    }
    closedir(d);
    if (rc) {
        free_entries(v, n);
        return rc;
    }
    if (n) /* an empty directory has no array (qsort's base must not be NULL) */
        qsort(v, n, sizeof *v, cmp_entry);
    *out = v;
    *nout = n;
    return 0;
}

static int walk_dir(walker *w, const char *path, const struct stat *st);

/* One entry found inside a directory. Symlinks are resolved to decide: a
 * file behind one is scanned, a directory behind one is not entered. */
static int walk_entry(walker *w, const char *dir, const dir_entry *e)
{
    struct stat st;
    char *path = join(dir, e->name);
    int rc = 0;

    if (!path)
        return -1;
    if (lstat(path, &st)) {
        rc = add_item(w, path, TOOL_ITEM_ERROR, 0, errno, "cannot stat");
        path = NULL;
        goto out;
    }
    if (S_ISLNK(st.st_mode)) {
        if (stat(path, &st) || S_ISDIR(st.st_mode)) {
            w->out->skipped_links++;
            goto out;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        rc = walk_dir(w, path, &st);
    } else if (S_ISREG(st.st_mode)) {
        rc = add_item(w, path, TOOL_ITEM_FILE, (uint64_t)st.st_size, 0, NULL);
        path = NULL;
    } else {
        w->out->skipped_special++;
    }
out:
    free(path);
    return rc;
}

static int walk_dir(walker *w, const char *path, const struct stat *st)
{
    dir_entry *v = NULL;
    size_t n = 0;
    int rc, err;

    rc = dir_set_add(&w->seen, st->st_dev, st->st_ino);
    if (rc <= 0) {
        if (rc == 0)
            w->out->skipped_repeats++;
        return rc;
    }
    err = read_dir(path, &v, &n);
    if (err == ENOMEM)
        return -1;
    if (err)
        return add_error(w, path, err, "cannot read directory");
    rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (w->stop && *w->stop)
            rc = -1;
        else
            rc = walk_entry(w, path, &v[i]);
    }
    free_entries(v, n);
    return rc;
}

/* A path named on the command line: followed whatever it is. */
static int walk_arg(walker *w, const char *arg)
{
    struct stat st;
    char *p;

    if (!strcmp(arg, "-")) {
        p = strdup(arg);
        return p ? add_item(w, p, TOOL_ITEM_STDIN, 0, 0, NULL) : -1;
    }
    if (stat(arg, &st))
        return add_error(w, arg, errno, "cannot open");
    if (S_ISDIR(st.st_mode))
        return walk_dir(w, arg, &st);
    p = strdup(arg);
    if (!p)
        return -1;
    /* FIFOs and devices named explicitly are read as streams */
    return add_item(w, p, TOOL_ITEM_FILE, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0, 0, NULL);
}

int tool_walk(tool_items *out, char *const *paths, size_t n, const volatile sig_atomic_t *stop,
              atomic_size_t *found)
{
    walker w = {out, {0}, stop, found};
    int rc = 0;

    for (size_t i = 0; i < n && !rc; i++)
        rc = walk_arg(&w, paths[i]);
    if (!rc && stop && *stop)
        rc = -1;
    free(w.seen.v);
    return rc;
}

void tool_items_free(tool_items *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof *l);
}
