/*
 * guard_ruleset.c — compiling policy + detectors + lexicons into one
 * Hyperscan database, caching it on disk, and the engine that swaps rulesets.
 *
 * Cache: the key is a BLAKE2b hash (libsodium) of the Hyperscan version, the
 * target platform, the mode and every (expression, flags, id). A cached
 * database is used only when its key matches exactly, so a changed lexicon,
 * policy or library never reuses a stale database; a corrupt or foreign file
 * fails hs_deserialize_database() and is simply recompiled and overwritten.
 */
#include "guard_ruleset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

const guard_detector *const guard_detectors[GUARD_DET_COUNT] = {
    [GUARD_DET_LEXICON] = &guard_det_lexicon, [GUARD_DET_MARKING] = &guard_det_marking,
    [GUARD_DET_PII] = &guard_det_pii,         [GUARD_DET_SECRET] = &guard_det_secret,
    [GUARD_DET_LINK] = &guard_det_link,
};

static guard_err seterr(guard_error *err, guard_err code, const char *fmt, const char *a,
                        const char *b)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, fmt, a ? a : "", b ? b : "");
    }
    return code;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void compute_key(guard_ruleset *rs)
{
    crypto_generichash_state st;
    hs_platform_info_t plat;
    const char *ver = hs_version();

    crypto_generichash_init(&st, NULL, 0, sizeof rs->key);
    crypto_generichash_update(&st, (const unsigned char *)"cordon-hsdb-1", 13);
    crypto_generichash_update(&st, (const unsigned char *)ver, strlen(ver) + 1);
    memset(&plat, 0, sizeof plat);
    if (hs_populate_platform(&plat) == HS_SUCCESS)
        crypto_generichash_update(&st, (const unsigned char *)&plat, sizeof plat);
    for (size_t i = 0; i < rs->pats.n; i++) {
        const guard_pattern *p = &rs->pats.p[i];
        uint32_t fl = p->flags;
        crypto_generichash_update(&st, (const unsigned char *)p->expr, strlen(p->expr) + 1);
        crypto_generichash_update(&st, (const unsigned char *)&fl, sizeof fl);
    }
    crypto_generichash_final(&st, rs->key, sizeof rs->key);
}

static void cache_path(const guard_ruleset *rs, const char *mode, char *out, size_t cap)
{
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, rs->key, sizeof rs->key);
    snprintf(out, cap, "%s/%s.%s.hsdb", rs->cache_dir, hex, mode);
}

static hs_database_t *cache_load(const guard_ruleset *rs, const char *mode)
{
    char path[4096];
    hs_database_t *db = NULL;
    char *buf = NULL;
    struct stat sb;
    int fd;

    if (!rs->cache_dir)
        return NULL;
    cache_path(rs, mode, path, sizeof path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &sb) != 0 || sb.st_size <= 0 || sb.st_size > (off_t)4 << 30)
        goto out;
    buf = malloc((size_t)sb.st_size);
    if (!buf)
        goto out;
    for (size_t got = 0; got < (size_t)sb.st_size;) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
        if (n <= 0)
            goto out;
        got += (size_t)n;
    }
    if (hs_deserialize_database(buf, (size_t)sb.st_size, &db) != HS_SUCCESS)
        db = NULL;
out:
    free(buf);
    close(fd);
    return db;
}

/* mkdir -p, owner-only: the cache reveals what the rules look for. */
static int mkdir_p(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path)
        return -1;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == 0) {
            char c = path[i];
            path[i] = 0;
            if (mkdir(path, 0700) != 0 && errno != EEXIST)
                return -1;
            path[i] = c;
        }
    }
    return 0;
}

/* Best effort: a cache that cannot be written only costs a recompile. */
static void cache_store(const guard_ruleset *rs, const char *mode, const hs_database_t *db)
{
    char path[4096], tmp[4200];
    char *bytes = NULL;
    size_t len = 0;
    int fd;

    if (!rs->cache_dir)
        return;
    if (mkdir_p(rs->cache_dir) != 0)
        return;
    if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
        return;
    cache_path(rs, mode, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t n = write(fd, bytes + off, len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        if (close(fd) == 0 && off == len)
            rename(tmp, path);
        else
            unlink(tmp);
    }
    free(bytes);
}

static guard_err compile_db(guard_ruleset *rs, unsigned mode, hs_database_t **out, guard_error *err)
{
    const char *mname = mode == HS_MODE_BLOCK ? "block" : "stream";
    size_t n = rs->pats.n;
    const char **ex = NULL;
    unsigned *fl = NULL, *ids = NULL;
    hs_compile_error_t *ce = NULL;
    guard_err rc = GUARD_ENOMEM;

    *out = cache_load(rs, mname);
    if (*out) {
        rs->info.from_cache = true;
        return GUARD_OK;
    }
    ex = malloc(n * sizeof *ex);
    fl = malloc(n * sizeof *fl);
    ids = malloc(n * sizeof *ids);
    if (!ex || !fl || !ids) {
        seterr(err, GUARD_ENOMEM, "out of memory compiling %s%s", "rules", NULL);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        ex[i] = rs->pats.p[i].expr;
        fl[i] = rs->pats.p[i].flags;
        ids[i] = (unsigned)i;
    }
    if (hs_compile_multi(ex, fl, ids, (unsigned)n, mode, NULL, out, &ce) != HS_SUCCESS) {
        char what[300];
        int idx = ce ? ce->expression : -1;
        if (idx >= 0 && (size_t)idx < n)
            snprintf(what, sizeof what, "pattern %d (%s, /%.200s/)", idx,
                     guard_detectors[rs->pats.p[idx].det]->name, ex[idx]);
        else
            snprintf(what, sizeof what, "the pattern set");
        seterr(err, GUARD_ECOMPILE, "cannot compile %s: %s", what, ce ? ce->message : "?");
        hs_free_compile_error(ce);
        *out = NULL;
        rc = GUARD_ECOMPILE;
        goto fail;
    }
    cache_store(rs, mname, *out);
    rc = GUARD_OK;
fail:
    free(ex);
    free(fl);
    free(ids);
    return rc;
}

static void ruleset_free(guard_ruleset *rs)
{
    if (!rs)
        return;
    hs_free_database(rs->db_block);
    hs_free_database(rs->db_stream);
    guard_policy_free(&rs->policy);
    guard_lexicon_free(&rs->lex);
    guard_patset_free(&rs->pats);
    free(rs->meta);
    free(rs->cache_dir);
    pthread_mutex_destroy(&rs->stream_lock);
    free(rs);
}

guard_err guard_ruleset_load(const guard_options *opt, guard_ruleset **out, guard_error *err)
{
    guard_options none = {0};
    guard_ruleset *rs;
    guard_err rc;
    double t0 = now_s();

    if (!opt)
        opt = &none;
    if (sodium_init() < 0)
        return seterr(err, GUARD_ENOMEM, "libsodium failed to initialise%s%s", NULL, NULL);
    rs = calloc(1, sizeof *rs);
    if (!rs)
        return seterr(err, GUARD_ENOMEM, "out of memory%s%s", NULL, NULL);
    atomic_init(&rs->refs, 1);
    pthread_mutex_init(&rs->stream_lock, NULL);
    guard_lexicon_init(&rs->lex);

    rc = opt->policy_path ? guard_policy_load_file(opt->policy_path, &rs->policy, err)
                          : guard_policy_default(&rs->policy, err);
    if (rc)
        goto fail;
    if (opt->cache_dir && !(rs->cache_dir = strdup(opt->cache_dir))) {
        rc = seterr(err, GUARD_ENOMEM, "out of memory%s%s", NULL, NULL);
        goto fail;
    }

    /* Built-in detectors' patterns first, then every lexicon term. */
    for (int d = 0; d < GUARD_DET_COUNT; d++) {
        if (guard_detectors[d]->patterns &&
            guard_detectors[d]->patterns(&rs->pats, &rs->policy.settings)) {
            rc = seterr(err, GUARD_ENOMEM, "out of memory adding %s patterns%s",
                        guard_detectors[d]->name, NULL);
            goto fail;
        }
    }
    rs->n_builtin = rs->pats.n;
    rs->meta = malloc((rs->n_builtin ? rs->n_builtin : 1) * sizeof *rs->meta);
    if (!rs->meta) {
        rc = seterr(err, GUARD_ENOMEM, "out of memory%s%s", NULL, NULL);
        goto fail;
    }
    for (size_t i = 0; i < rs->n_builtin; i++) {
        rs->meta[i].det = rs->pats.p[i].det;
        rs->meta[i].word_end = rs->pats.p[i].word_end;
        rs->meta[i].arg = rs->pats.p[i].arg;
    }
    for (size_t i = 0; i < opt->n_lexicons; i++) {
        rc = guard_lexicon_load(&rs->lex, opt->lexicon_paths[i], &rs->pats, err);
        if (rc)
            goto fail;
    }
    rs->n_patterns = rs->pats.n;
    compute_key(rs);
    rc = compile_db(rs, HS_MODE_BLOCK, &rs->db_block, err);
    if (rc)
        goto fail;

    rs->info.n_patterns = rs->n_patterns;
    rs->info.n_terms = rs->lex.n;
    rs->info.max_message_bytes = rs->policy.settings.max_message_bytes;
    hs_database_size(rs->db_block, &rs->info.db_bytes);
    rs->info.compile_seconds = now_s() - t0;
    *out = rs;
    return GUARD_OK;
fail:
    ruleset_free(rs);
    return rc;
}

hs_database_t *guard_ruleset_stream_db(guard_ruleset *rs, guard_error *err)
{
    hs_database_t *db;
    pthread_mutex_lock(&rs->stream_lock);
    if (!rs->db_stream && compile_db(rs, HS_MODE_STREAM, &rs->db_stream, err) == GUARD_OK)
        guard_patset_free(&rs->pats);
    db = rs->db_stream;
    pthread_mutex_unlock(&rs->stream_lock);
    return db;
}

guard_ruleset *guard_ruleset_ref(guard_ruleset *rs)
{
    if (rs)
        atomic_fetch_add(&rs->refs, 1);
    return rs;
}

void guard_ruleset_unref(guard_ruleset *rs)
{
    if (rs && atomic_fetch_sub(&rs->refs, 1) == 1)
        ruleset_free(rs);
}

void guard_ruleset_get_info(const guard_ruleset *rs, guard_ruleset_info *info)
{
    *info = rs->info;
}

const guard_limits *guard_ruleset_limits(const guard_ruleset *rs)
{
    return &rs->policy.settings.limits;
}

const guard_warnings *guard_ruleset_warnings(const guard_ruleset *rs)
{
    return &rs->policy.settings.warnings;
}

/* ---- engine ---------------------------------------------------------------- */

struct guard_engine {
    pthread_mutex_t lock; /* guards `cur` only for the instant of a swap or ref */
    guard_ruleset *cur;
};

guard_err guard_engine_new(const guard_options *opt, guard_engine **out, guard_error *err)
{
    guard_engine *e = calloc(1, sizeof *e);
    guard_err rc;
    if (!e)
        return seterr(err, GUARD_ENOMEM, "out of memory%s%s", NULL, NULL);
    rc = guard_ruleset_load(opt, &e->cur, err);
    if (rc) {
        free(e);
        return rc;
    }
    pthread_mutex_init(&e->lock, NULL);
    *out = e;
    return GUARD_OK;
}

guard_err guard_engine_reload(guard_engine *e, const guard_options *opt, guard_error *err)
{
    guard_ruleset *rs, *old;
    guard_err rc = guard_ruleset_load(opt, &rs, err); /* slow part, outside the lock */
    if (rc)
        return rc;
    pthread_mutex_lock(&e->lock);
    old = e->cur;
    e->cur = rs;
    pthread_mutex_unlock(&e->lock);
    guard_ruleset_unref(old); /* scans in flight hold their own references */
    return GUARD_OK;
}

guard_ruleset *guard_engine_acquire(guard_engine *e)
{
    guard_ruleset *rs;
    pthread_mutex_lock(&e->lock);
    rs = guard_ruleset_ref(e->cur);
    pthread_mutex_unlock(&e->lock);
    return rs;
}

void guard_engine_free(guard_engine *e)
{
    if (!e)
        return;
    guard_ruleset_unref(e->cur);
    pthread_mutex_destroy(&e->lock);
    free(e);
}
