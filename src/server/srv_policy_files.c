/*
 * srv_policy_files.c — the guard's rules on disk (srv_policy_files.h).
 *
 * Where the rules live
 *   policy    the configured `policy.path`; without one <data_dir>/policy.yaml
 *             when it exists (the first PUT /admin/policy writes it), else
 *             the built-in default.
 *   lexicons  the configured `policy.lexicons` (read-only here), then every
 *             <data_dir>/lexicons/<name>.tsv in name order.
 * The guard options are rebuilt from that on every load, so a restart finds
 * exactly what the last save left.
 */
#include "srv_policy_files.h"

#include "base/base_file.h"

#include "srv_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- paths ------------------------------------------------------------------- */

char *srv_pf_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

char *srv_pf_lexicon_path(srv *s, const char *name)
{
    char file[LEXICON_NAME_MAX + sizeof LEXICON_DIR + sizeof LEXICON_EXT + 2];

    snprintf(file, sizeof file, "%s/%s%s", LEXICON_DIR, name, LEXICON_EXT);
    return srv_pf_join(s->cfg->data_dir, file);
}

bool srv_pf_lexicon_name_ok(const char *n, size_t len)
{
    if (!len || len > LEXICON_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_' ||
              n[i] == '-'))
            return false;
    return true;
}

/* Where a saved policy goes: the configured file, else the data dir's. */
char *srv_pf_policy_save_path(srv *s)
{
    return s->gopt.policy_path ? strdup(s->gopt.policy_path)
                               : srv_pf_join(s->cfg->data_dir, DATA_POLICY);
}

/* The policy file to load: NULL in *out for the built-in policy. */
int srv_pf_policy_load_path(srv *s, char **out)
{
    char *p = srv_pf_policy_save_path(s);

    if (!p)
        return -1;
    if (!s->gopt.policy_path && access(p, F_OK)) {
        free(p);
        p = NULL;
    }
    *out = p;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void srv_pf_names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The managed lexicons' names, sorted; a missing directory is none. */
int srv_pf_lexicon_names(srv *s, char ***out, size_t *n_out)
{
    char *dir = srv_pf_join(s->cfg->data_dir, LEXICON_DIR);
    char **v = calloc(LEXICON_FILES_MAX, sizeof *v);
    size_t n = 0;
    DIR *d = NULL;
    struct dirent *e;
    int rc = -1;

    if (!dir || !v)
        goto fail;
    d = opendir(dir);
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name), el = sizeof LEXICON_EXT - 1;

        /* Temporary files start with '.', so they never match. */
        if (len <= el || strcmp(e->d_name + len - el, LEXICON_EXT) ||
            !srv_pf_lexicon_name_ok(e->d_name, len - el))
            continue;
        if (n == LEXICON_FILES_MAX) {
            SRV_WARN("policy", "more than %d lexicons in %s: the rest are ignored",
                     LEXICON_FILES_MAX, dir);
            break;
        }
        if (!(v[n] = strndup(e->d_name, len - el)))
            goto fail;
        n++;
    }
    qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    *n_out = n;
    v = NULL;
    rc = 0;
fail:
    if (d)
        closedir(d);
    if (v)
        srv_pf_names_free(v, n);
    free(dir);
    return rc;
}

/* ---- guard options --------------------------------------------------------------- */

void srv_pf_opts_free(srv_pol_opts *po)
{
    free(po->policy);
    srv_pf_names_free(po->paths, po->n_paths);
    free(po->lex);
    memset(po, 0, sizeof *po);
}

/* Builds the options of what is on disk, with two substitutions for
 * validation: policy_over replaces the policy file; the managed lexicon
 * lex_name is read from lex_path instead (added when new; left out when
 * lex_path is NULL). Returns 0, or -1 (out of memory). */
int srv_pf_opts_build(srv *s, const char *policy_over, const char *lex_name, const char *lex_path,
                      srv_pol_opts *po)
{
    char **names = NULL;
    size_t n = 0, k = 0;
    bool seen = false;
    int rc = -1;

    memset(po, 0, sizeof *po);
    if (policy_over ? !(po->policy = strdup(policy_over)) : srv_pf_policy_load_path(s, &po->policy))
        goto fail;
    if (srv_pf_lexicon_names(s, &names, &n))
        goto fail;
    po->paths = calloc(n + 1, sizeof *po->paths);
    po->lex = calloc(s->gopt.n_lexicons + n + 1, sizeof *po->lex);
    if (!po->paths || !po->lex)
        goto fail;
    for (size_t i = 0; i < s->gopt.n_lexicons; i++)
        po->lex[k++] = s->gopt.lexicon_paths[i];
    /* Name order, with a new lex_name in its place: the same order as the
     * load after the save, so the compiled database is found in the cache. */
    for (size_t i = 0; i <= n; i++) {
        const char *nm = i < n ? names[i] : NULL;
        char *p;

        if (lex_name && lex_path && !seen && (!nm || strcmp(lex_name, nm) < 0)) {
            seen = true;
            if (!(po->paths[po->n_paths] = strdup(lex_path)))
                goto fail;
            po->lex[k++] = po->paths[po->n_paths++];
        }
        if (!nm)
            break;
        if (lex_name && !strcmp(nm, lex_name)) {
            seen = true;
            if (!lex_path)
                continue;
            p = strdup(lex_path);
        } else
            p = srv_pf_lexicon_path(s, nm);
        if (!p)
            goto fail;
        po->paths[po->n_paths++] = p;
        po->lex[k++] = p;
    }
    po->o.policy_path = po->policy;
    po->o.lexicon_paths = po->lex;
    po->o.n_lexicons = k;
    po->o.cache_dir = s->gopt.cache_dir;
    rc = 0;
fail:
    if (rc)
        srv_pf_opts_free(po);
    srv_pf_names_free(names, n);
    return rc;
}

/* ---- files ------------------------------------------------------------------------ */

/* Reads a whole file of at most max bytes (NUL-terminated). Returns 0, -1
 * with errno (ENOENT, EFBIG, ...). */
int srv_pf_read_text(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;
    int rc = -1;

    if (!f)
        goto fail;
    if (!(buf = malloc(max + 1)))
        goto fail;
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        errno = EIO;
        goto fail;
    }
    if (n > max) {
        errno = EFBIG;
        goto fail;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
fail:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

int srv_pf_write_temp(const char *target, const char *text, size_t len, char **tmp)
{
    /* a policy file is readable by the group too */
    return base_file_write_temp(target, text, len, 0640, tmp);
}

int srv_pf_sync_dir_of(const char *path)
{
    return base_file_sync_dir(path);
}

/* Lines that are entries: not blank, not comments. Streams (configured
 * lexicons may have millions of terms). -1 when unreadable. */
long long srv_pf_count_terms(const char *path, long long *bytes, int64_t *mtime_ms)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char buf[65536];
    long long terms = 0;
    bool bol = true, entry = false;
    size_t n;

    if (!f)
        return -1;
    if (!fstat(fileno(f), &st)) {
        *bytes = (long long)st.st_size;
        *mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < n; i++) {
            char c = buf[i];

            if (c == '\n') {
                terms += entry;
                bol = true;
                entry = false;
            } else if (bol) {
                bol = false;
                entry = c != '#' && c != '\r';
            }
        }
    }
    terms += entry;
    fclose(f);
    return terms;
}

void srv_pf_sha256_hex(const char *text, size_t len, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, (const unsigned char *)text, len);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* Copies a guard message with every occurrence of from (a temporary file's
 * path) replaced by to, so that "file:line" names what the admin edited. */
void srv_pf_msg_rename(const char *in, const char *from, const char *to, char *out, size_t cap)
{
    size_t fl = strlen(from), o = 0;

    while (*in && o + 1 < cap) {
        if (!strncmp(in, from, fl)) {
            o += (size_t)snprintf(out + o, cap - o, "%s", to);
            if (o >= cap)
                o = cap - 1;
            in += fl;
        } else
            out[o++] = *in++;
    }
    out[o] = 0;
}
