/*
 * srv_h_policy.c — the guard's rules as admins manage them: the policy and
 * the lexicons in force, validating an edit without installing it, saving
 * it atomically and reloading the engine (docs/POLICY.md "Managing the
 * policy", docs/API.md "Policy and lexicons").
 *
 * Where the rules live
 *   policy    the configured `policy.path`; without one <data_dir>/policy.yaml
 *             when it exists (the first PUT /admin/policy writes it), else
 *             the built-in default.
 *   lexicons  the configured `policy.lexicons` (read-only here), then every
 *             <data_dir>/lexicons/<name>.tsv in name order.
 * The guard options are rebuilt from that on every load, so a restart finds
 * exactly what the last save left.
 *
 * Every load, validation and save holds s->policy_update_mu: a compile takes
 * seconds, and two saves racing could leave one text on disk and the other in
 * the engine. Only workers take it (handlers, the SIGHUP job), never the loop.
 * Policy and lexicon texts are never logged: they name what is secret.
 */
#include "srv_handlers.h"
#include "chat/chat_json.h"
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

/* read_policy() keeps up to this much as the text in force. */
#define POLICY_TEXT_MAX ((size_t)1 << 20)
/* One managed lexicon file; the request body cap (limits.max_body_bytes)
 * usually binds first. */
#define LEXICON_TEXT_MAX ((size_t)16 << 20)
#define LEXICON_NAME_MAX 64
/* Managed lexicon files considered; more are ignored (and logged). */
#define LEXICON_FILES_MAX 256
#define LEXICON_DIR       "lexicons"
#define LEXICON_EXT       ".tsv"
#define DATA_POLICY       "policy.yaml"

/* ---- paths ------------------------------------------------------------------- */

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static char *lexicon_path(srv *s, const char *name)
{
    char file[LEXICON_NAME_MAX + sizeof LEXICON_DIR + sizeof LEXICON_EXT + 2];

    snprintf(file, sizeof file, "%s/%s%s", LEXICON_DIR, name, LEXICON_EXT);
    return path_join(s->cfg->data_dir, file);
}

static bool lexicon_name_ok(const char *n, size_t len)
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
static char *policy_save_path(srv *s)
{
    return s->gopt.policy_path ? strdup(s->gopt.policy_path)
                               : path_join(s->cfg->data_dir, DATA_POLICY);
}

/* The policy file to load: NULL in *out for the built-in policy. */
static int policy_load_path(srv *s, char **out)
{
    char *p = policy_save_path(s);

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

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The managed lexicons' names, sorted; a missing directory is none. */
static int lexicon_names(srv *s, char ***out, size_t *n_out)
{
    char *dir = path_join(s->cfg->data_dir, LEXICON_DIR);
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
            !lexicon_name_ok(e->d_name, len - el))
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
        names_free(v, n);
    free(dir);
    return rc;
}

/* ---- guard options --------------------------------------------------------------- */

/* The options of one load: configured lexicons first, then managed ones. */
typedef struct pol_opts {
    guard_options o;
    char *policy;   /* heap: o.policy_path, or NULL */
    char **paths;   /* heap: the managed lexicons' paths */
    size_t n_paths; /* entries of paths */
    const char **lex;
} pol_opts;

static void opts_free(pol_opts *po)
{
    free(po->policy);
    names_free(po->paths, po->n_paths);
    free(po->lex);
    memset(po, 0, sizeof *po);
}

/* Builds the options of what is on disk, with two substitutions for
 * validation: policy_over replaces the policy file; the managed lexicon
 * lex_name is read from lex_path instead (added when new; left out when
 * lex_path is NULL). Returns 0, or -1 (out of memory). */
static int opts_build(srv *s, const char *policy_over, const char *lex_name, const char *lex_path,
                      pol_opts *po)
{
    char **names = NULL;
    size_t n = 0, k = 0;
    bool seen = false;
    int rc = -1;

    memset(po, 0, sizeof *po);
    if (policy_over ? !(po->policy = strdup(policy_over)) : policy_load_path(s, &po->policy))
        goto fail;
    if (lexicon_names(s, &names, &n))
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
            p = lexicon_path(s, nm);
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
        opts_free(po);
    names_free(names, n);
    return rc;
}

/* ---- files ------------------------------------------------------------------------ */

/* Reads a whole file of at most max bytes (NUL-terminated). Returns 0, -1
 * with errno (ENOENT, EFBIG, ...). */
static int read_text(const char *path, size_t max, char **out, size_t *len)
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

/* Writes text to a new hidden file beside target and syncs it; *tmp gets its
 * path (heap). Returns 0, or -1 with errno; no file is left on error. */
static int write_temp(const char *target, const char *text, size_t len, char **tmp)
{
    const char *slash = strrchr(target, '/');
    size_t dl = slash ? (size_t)(slash - target) + 1 : 0, n = strlen(target) + 10;
    char *p = malloc(n);
    int fd = -1, rc = -1, e;
    bool made = false;

    if (!p)
        goto fail;
    snprintf(p, n, "%.*s.%s.XXXXXX", (int)dl, target, target + dl);
    if ((fd = mkstemp(p)) < 0)
        goto fail;
    made = true;
    /* mkstemp makes 0600; a policy file is readable by the group too. */
    (void)fchmod(fd, 0640);
    for (size_t off = 0; off < len;) {
        ssize_t wr = write(fd, text + off, len - off);

        if (wr < 0 && errno == EINTR)
            continue;
        if (wr <= 0)
            goto fail;
        off += (size_t)wr;
    }
    /* Durable before the rename makes it the file in force. */
    if (fsync(fd))
        goto fail;
    e = close(fd);
    fd = -1;
    if (e)
        goto fail;
    rc = 0;
fail:
    e = errno;
    if (fd >= 0)
        close(fd);
    if (rc && made)
        unlink(p);
    if (rc)
        free(p);
    else
        *tmp = p;
    errno = e;
    return rc;
}

/* Makes a rename or unlink in path's directory durable. */
static int sync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY) : -1, rc = -1;

    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(dir);
    return rc;
}

/* Lines that are entries: not blank, not comments. Streams (configured
 * lexicons may have millions of terms). -1 when unreadable. */
static long long count_terms(const char *path, long long *bytes, int64_t *mtime_ms)
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

static void sha256_hex(const char *text, size_t len, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, (const unsigned char *)text, len);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* Copies a guard message with every occurrence of from (a temporary file's
 * path) replaced by to, so that "file:line" names what the admin edited. */
static void msg_rename(const char *in, const char *from, const char *to, char *out, size_t cap)
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

/* ---- loading ------------------------------------------------------------------------ */

/* Records what was just loaded successfully (takes text; NULL = built-in). */
static void set_policy(srv *s, char *text)
{
    char name[129];

    if (text)
        srv_policy_name_of(text, name, sizeof name);
    else
        snprintf(name, sizeof name, "default");
    pthread_mutex_lock(&s->policy_mu);
    free(s->policy_text);
    s->policy_text = text;
    snprintf(s->policy_name, sizeof s->policy_name, "%s", name);
    pthread_mutex_unlock(&s->policy_mu);
}

/* The text of the policy file to be loaded, for set_policy (NULL when none
 * or unreadable: the guard then reports why). */
static char *policy_file_text(const char *path)
{
    char *text = NULL;
    size_t len;

    if (path && read_text(path, POLICY_TEXT_MAX - 1, &text, &len))
        text = NULL;
    return text;
}

int srv_policy_start(srv *s, guard_error *err)
{
    pol_opts po;
    char *text = NULL;
    int rc = -1;

    pthread_mutex_lock(&s->policy_update_mu);
    if (opts_build(s, NULL, NULL, NULL, &po)) {
        snprintf(err->message, sizeof err->message, "out of memory");
        goto fail;
    }
    text = policy_file_text(po.policy);
    if (guard_engine_new(&po.o, &s->engine, err))
        goto fail;
    SRV_INFO("policy", "policy %s, %zu lexicon file(s)", po.policy ? po.policy : "(built-in)",
             po.o.n_lexicons);
    set_policy(s, text);
    text = NULL;
    rc = 0;
fail:
    pthread_mutex_unlock(&s->policy_update_mu);
    free(text);
    opts_free(&po);
    return rc;
}

/* srv_policy_reload with policy_update_mu held. */
static int reload_locked(srv *s, store *st, int64_t actor_id, const char *actor, char *err,
                         size_t errlen)
{
    guard_error gerr = {0};
    guard_ruleset *rs;
    guard_ruleset_info info;
    pol_opts po;
    char *text = NULL;
    int rc = -1;

    if (opts_build(s, NULL, NULL, NULL, &po)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    text = policy_file_text(po.policy);
    if (guard_engine_reload(s->engine, &po.o, &gerr) != GUARD_OK) {
        snprintf(err, errlen, "%s", gerr.message);
        SRV_WARN("policy", "reload failed, the old policy stays: %s", gerr.message);
        srv_audit(st, actor_id, actor, "policy.reload_failed", po.policy,
                  json_pack("{s:s}", "error", gerr.message));
        goto fail;
    }
    set_policy(s, text);
    text = NULL;
    rs = guard_engine_acquire(s->engine);
    guard_ruleset_get_info(rs, &info);
    guard_ruleset_unref(rs);
    SRV_INFO("policy", "reloaded: %zu patterns, %zu terms, %s", info.n_patterns, info.n_terms,
             info.from_cache ? "from cache" : "compiled");
    srv_audit(st, actor_id, actor, "policy.reload", po.policy,
              json_pack("{s:I,s:I,s:b}", "patterns", (json_int_t)info.n_patterns, "terms",
                        (json_int_t)info.n_terms, "from_cache", info.from_cache));
    rc = 0;
fail:
    free(text);
    opts_free(&po);
    return rc;
}

int srv_policy_reload(srv *s, store *st, int64_t actor_id, const char *actor, char *err,
                      size_t errlen)
{
    int rc;

    pthread_mutex_lock(&s->policy_update_mu);
    rc = reload_locked(s, st, actor_id, actor, err, errlen);
    pthread_mutex_unlock(&s->policy_update_mu);
    return rc;
}

/* ---- replies -------------------------------------------------------------------------- */

static json_t *info_json(srv *s, const guard_ruleset_info *i, const char *name)
{
    char nm[129];

    return json_pack("{s:s,s:I,s:I,s:I,s:b,s:f}", "name",
                     name ? name : srv_policy_name(s, nm, sizeof nm), "patterns",
                     (json_int_t)i->n_patterns, "terms", (json_int_t)i->n_terms, "db_bytes",
                     (json_int_t)i->db_bytes, "from_cache", i->from_cache, "compile_seconds",
                     i->compile_seconds);
}

static void reply_engine_info(srv_req *r)
{
    guard_ruleset *rs = guard_engine_acquire(r->srv->engine);
    guard_ruleset_info info;

    guard_ruleset_get_info(rs, &info);
    guard_ruleset_unref(rs);
    srv_reply(r, 200, json_pack("{s:b,s:o}", "ok", 1, "info", info_json(r->srv, &info, NULL)));
}

/* The body's "text" (required), at most max bytes. 0, or -1 answered. */
static int body_text(srv_req *r, size_t max, const char **text, size_t *len)
{
    json_t *v = r->json ? json_object_get(r->json, "text") : NULL;

    if (!v || !json_is_string(v)) {
        srv_error(r, 400, "bad_request", "text is required (a string)");
        return -1;
    }
    *text = json_string_value(v);
    *len = json_string_length(v);
    if (*len > max) {
        srv_error(r, 413, "payload_too_large", "the text is over %zu bytes", max);
        return -1;
    }
    return 0;
}

/* Compiles po into a ruleset that is not installed. 0 (info filled), or -1
 * with the guard's message, tmp renamed to shown. */
static int compile_check(pol_opts *po, const char *tmp, const char *shown, guard_ruleset_info *info,
                         char *err, size_t cap)
{
    guard_error gerr = {0};
    guard_ruleset *rs = NULL;

    if (guard_ruleset_load(&po->o, &rs, &gerr) != GUARD_OK) {
        msg_rename(gerr.message, tmp, shown, err, cap);
        return -1;
    }
    guard_ruleset_get_info(rs, info);
    guard_ruleset_unref(rs);
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');

    return s ? s + 1 : p;
}

/* ---- policy handlers ----------------------------------------------------------------- */

void srv_h_admin_policy(srv_req *r, srv_worker *w)
{
    char name[129];
    char *text = srv_policy_text(r->srv), *path = NULL, *save = policy_save_path(r->srv);
    json_t *o;

    (void)w;
    if (policy_load_path(r->srv, &path) || !save) {
        srv_error(r, 500, "internal", "out of memory");
        goto fail;
    }
    /* The policy in force, not the file as it is now (it may have been
     * edited or broken since the last successful load). */
    o = json_pack("{s:s,s:o,s:b,s:s,s:o}", "name", srv_policy_name(r->srv, name, sizeof name),
                  "path", text && path ? json_string(path) : json_null(), "builtin", !text,
                  "save_path", save, "text",
                  json_string(text ? text : guard_default_policy_text(NULL)));
    srv_reply(r, 200, o);
fail:
    free(text);
    free(path);
    free(save);
}

void srv_h_admin_policy_reload(srv_req *r, srv_worker *w)
{
    char err[512];

    if (srv_policy_reload(r->srv, w->st, r->user.id, r->user.login, err, sizeof err)) {
        srv_error(r, 422, "policy_invalid", "%s", err);
        return;
    }
    reply_engine_info(r);
}

/* Installs a checked temporary file (under policy_update_mu): renames *tmp
 * over `target` (*tmp is then freed and NULL), audits `event` on
 * `audit_target` with the text's hash, reloads the engine and replies with
 * its info, or with the error. `what` names the file in error replies. */
static void install_checked(srv_req *r, srv_worker *w, char **tmp, const char *target,
                            const char *what, const char *event, const char *audit_target,
                            const char *text, size_t len)
{
    char err[512], hex[65];

    if (rename(*tmp, target)) {
        SRV_ERROR("policy", "cannot replace %s: %s", target, strerror(errno));
        srv_error(r, 500, "internal", "cannot write %s", what);
        return;
    }
    free(*tmp);
    *tmp = NULL;
    if (sync_dir_of(target))
        SRV_WARN("policy", "fsync of the directory of %s: %s", target, strerror(errno));
    sha256_hex(text, len, hex);
    srv_audit_req(r, w, event, audit_target,
                  json_pack("{s:s,s:I}", "sha256", hex, "bytes", (json_int_t)len));
    if (reload_locked(r->srv, w->st, r->user.id, r->user.login, err, sizeof err)) {
        /* Validated a moment ago: only memory or the disk can fail here. */
        srv_error(r, 500, "internal", "saved, but the reload failed: %s", err);
        return;
    }
    reply_engine_info(r);
}

/* POST validate (install false) and PUT (install true). */
static void policy_submit(srv_req *r, srv_worker *w, bool install)
{
    srv *s = r->srv;
    const char *text;
    char *target = NULL, *beside = NULL, *tmp = NULL, err[512], name[129];
    guard_ruleset_info info;
    pol_opts po = {0};
    size_t len;

    if (body_text(r, POLICY_TEXT_MAX - 1, &text, &len))
        return;
    if (!(target = policy_save_path(s))) {
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    /* A validation writes beside the data dir's policy, a save beside its
     * target, so that the rename that installs it stays in one directory. */
    if (!(beside = install ? strdup(target) : path_join(s->cfg->data_dir, DATA_POLICY))) {
        srv_error(r, 500, "internal", "out of memory");
        free(target);
        return;
    }
    pthread_mutex_lock(&s->policy_update_mu);
    if (write_temp(beside, text, len, &tmp)) {
        SRV_ERROR("policy", "cannot write a temporary file beside %s: %s", target, strerror(errno));
        srv_error(r, 500, "internal", "cannot write the policy file");
        goto fail;
    }
    if (opts_build(s, tmp, NULL, NULL, &po)) {
        srv_error(r, 500, "internal", "out of memory");
        goto fail;
    }
    if (compile_check(&po, tmp, base_name(target), &info, err, sizeof err)) {
        srv_error(r, 422, "policy_invalid", "%s", err);
        goto fail;
    }
    if (!install) {
        srv_reply(r, 200,
                  json_pack("{s:b,s:o}", "ok", 1, "info",
                            info_json(s, &info, srv_policy_name_of(text, name, sizeof name))));
        goto fail;
    }
    install_checked(r, w, &tmp, target, "the policy file", "policy.update", target, text, len);
fail:
    if (tmp)
        unlink(tmp);
    pthread_mutex_unlock(&s->policy_update_mu);
    opts_free(&po);
    free(tmp);
    free(beside);
    free(target);
}

void srv_h_policy_validate(srv_req *r, srv_worker *w)
{
    policy_submit(r, w, false);
}

void srv_h_policy_put(srv_req *r, srv_worker *w)
{
    policy_submit(r, w, true);
}

/* ---- lexicon handlers ------------------------------------------------------------------ */

static json_t *lexicon_json(const char *name, const char *path, bool read_only)
{
    long long bytes = 0;
    int64_t mtime = 0;
    long long terms = count_terms(path, &bytes, &mtime);

    return json_pack("{s:s,s:s,s:b,s:I,s:I,s:I}", "name", name, "path", path, "read_only",
                     read_only, "terms", (json_int_t)(terms < 0 ? 0 : terms), "bytes",
                     (json_int_t)bytes, "updated", (json_int_t)mtime);
}

/* The {name} segment of /admin/lexicons/{name}[/...] (the router checked
 * its characters). 0, or -1 answered 404. */
static int lexicon_name_of(srv_req *r, char name[LEXICON_NAME_MAX + 1])
{
    const char *p = strstr(r->path, "/admin/lexicons/");
    size_t n;

    p = p ? p + strlen("/admin/lexicons/") : "";
    n = strcspn(p, "/");
    if (!lexicon_name_ok(p, n)) {
        srv_error(r, 404, "not_found", "no such lexicon");
        return -1;
    }
    memcpy(name, p, n);
    name[n] = 0;
    return 0;
}

void srv_h_lexicons(srv_req *r, srv_worker *w)
{
    srv *s = r->srv;
    char **names = NULL;
    size_t n = 0;
    json_t *arr = json_array();

    (void)w;
    if (!arr || lexicon_names(s, &names, &n)) {
        json_decref(arr);
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < s->gopt.n_lexicons; i++)
        json_array_append_new(
            arr, lexicon_json(base_name(s->gopt.lexicon_paths[i]), s->gopt.lexicon_paths[i], true));
    for (size_t i = 0; i < n; i++) {
        char *p = lexicon_path(s, names[i]);

        if (p)
            json_array_append_new(arr, lexicon_json(names[i], p, false));
        free(p);
    }
    names_free(names, n);
    srv_reply(r, 200, json_pack("{s:o}", "lexicons", arr));
}

void srv_h_lexicon_get(srv_req *r, srv_worker *w)
{
    char name[LEXICON_NAME_MAX + 1], *path = NULL, *text = NULL;
    json_t *o;
    size_t len;

    (void)w;
    if (lexicon_name_of(r, name))
        return;
    if (!(path = lexicon_path(r->srv, name))) {
        srv_error(r, 500, "internal", "out of memory");
        goto fail;
    }
    if (read_text(path, LEXICON_TEXT_MAX, &text, &len)) {
        if (errno == ENOENT)
            srv_error(r, 404, "not_found", "no such lexicon");
        else {
            SRV_ERROR("policy", "cannot read %s: %s", path, strerror(errno));
            srv_error(r, 500, "internal", "cannot read the lexicon");
        }
        goto fail;
    }
    o = lexicon_json(name, path, false);
    json_object_set_new(o, "text", json_stringn(text, len));
    srv_reply(r, 200, o);
fail:
    free(text);
    free(path);
}

/* POST validate (install false) and PUT (install true). */
static void lexicon_submit(srv_req *r, srv_worker *w, bool install)
{
    srv *s = r->srv;
    const char *text;
    char name[LEXICON_NAME_MAX + 1], shown[LEXICON_NAME_MAX + sizeof LEXICON_EXT];
    char *target = NULL, *dir = NULL, *tmp = NULL, err[512];
    guard_ruleset_info info;
    pol_opts po = {0};
    bool locked = false;
    size_t len;

    if (lexicon_name_of(r, name) || body_text(r, LEXICON_TEXT_MAX, &text, &len))
        return;
    snprintf(shown, sizeof shown, "%s%s", name, LEXICON_EXT);
    target = lexicon_path(s, name);
    dir = path_join(s->cfg->data_dir, LEXICON_DIR);
    if (!target || !dir) {
        srv_error(r, 500, "internal", "out of memory");
        goto fail;
    }
    if (mkdir(dir, 0750) && errno != EEXIST) {
        SRV_ERROR("policy", "cannot create %s: %s", dir, strerror(errno));
        srv_error(r, 500, "internal", "cannot write the lexicon");
        goto fail;
    }
    pthread_mutex_lock(&s->policy_update_mu);
    locked = true;
    if (write_temp(target, text, len, &tmp)) {
        SRV_ERROR("policy", "cannot write a temporary file beside %s: %s", target, strerror(errno));
        srv_error(r, 500, "internal", "cannot write the lexicon");
        goto fail;
    }
    if (opts_build(s, NULL, name, tmp, &po)) {
        srv_error(r, 500, "internal", "out of memory");
        goto fail;
    }
    /* The whole ruleset with this lexicon in it: what the reload will do. */
    if (compile_check(&po, tmp, shown, &info, err, sizeof err)) {
        srv_error(r, 422, "lexicon_invalid", "%s", err);
        goto fail;
    }
    if (!install) {
        srv_reply(r, 200, json_pack("{s:b,s:o}", "ok", 1, "info", info_json(s, &info, NULL)));
        goto fail;
    }
    install_checked(r, w, &tmp, target, "the lexicon", "lexicon.update", name, text, len);
fail:
    if (tmp)
        unlink(tmp);
    if (locked)
        pthread_mutex_unlock(&s->policy_update_mu);
    opts_free(&po);
    free(tmp);
    free(dir);
    free(target);
}

void srv_h_lexicon_validate(srv_req *r, srv_worker *w)
{
    lexicon_submit(r, w, false);
}

void srv_h_lexicon_put(srv_req *r, srv_worker *w)
{
    lexicon_submit(r, w, true);
}

void srv_h_lexicon_delete(srv_req *r, srv_worker *w)
{
    srv *s = r->srv;
    char name[LEXICON_NAME_MAX + 1], *path = NULL, err[512];

    if (lexicon_name_of(r, name))
        return;
    if (!(path = lexicon_path(s, name))) {
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    pthread_mutex_lock(&s->policy_update_mu);
    if (unlink(path)) {
        if (errno == ENOENT)
            srv_error(r, 404, "not_found", "no such lexicon");
        else {
            SRV_ERROR("policy", "cannot remove %s: %s", path, strerror(errno));
            srv_error(r, 500, "internal", "cannot remove the lexicon");
        }
        goto fail;
    }
    if (sync_dir_of(path))
        SRV_WARN("policy", "fsync of the directory of %s: %s", path, strerror(errno));
    srv_audit_req(r, w, "lexicon.delete", name, NULL);
    /* Fewer terms cannot make the rules invalid; only memory can fail. */
    if (reload_locked(s, w->st, r->user.id, r->user.login, err, sizeof err)) {
        srv_error(r, 500, "internal", "removed, but the reload failed: %s", err);
        goto fail;
    }
    srv_reply(r, 204, NULL);
fail:
    pthread_mutex_unlock(&s->policy_update_mu);
    free(path);
}
