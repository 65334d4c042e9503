/*
 * srv_h_policy.c — the guard's rules as admins manage them over HTTP: the
 * policy and the lexicons in force, validating an edit without installing
 * it, saving it atomically and reloading the engine (docs/POLICY.md
 * "Managing the policy", docs/API.md "Policy and lexicons"). Files:
 * srv_policy_files.c; the engine: srv_policy.c.
 */
#include "chat/chat_json.h"
#include "srv_handlers.h"
#include "srv_log.h"
#include "srv_policy.h"
#include "srv_req.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
static int compile_check(srv_pol_opts *po, const char *tmp, const char *shown,
                         guard_ruleset_info *info, char *err, size_t cap)
{
    guard_error gerr = {0};
    guard_ruleset *rs = NULL;

    if (guard_ruleset_load(&po->o, &rs, &gerr) != GUARD_OK) {
        srv_pf_msg_rename(gerr.message, tmp, shown, err, cap);
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
    char *text = srv_policy_text(r->srv), *path = NULL, *save = srv_pf_policy_save_path(r->srv);
    json_t *o;

    (void)w;
    if (srv_pf_policy_load_path(r->srv, &path) || !save) {
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
    if (srv_pf_sync_dir_of(target))
        SRV_WARN("policy", "fsync of the directory of %s: %s", target, strerror(errno));
    srv_pf_sha256_hex(text, len, hex);
    srv_audit_req(r, w, event, audit_target,
                  json_pack("{s:s,s:I}", "sha256", hex, "bytes", (json_int_t)len));
    if (srv_policy_reload_locked(r->srv, w->st, r->user.id, r->user.login, err, sizeof err)) {
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
    srv_pol_opts po = {0};
    size_t len;

    if (body_text(r, POLICY_TEXT_MAX - 1, &text, &len))
        return;
    if (!(target = srv_pf_policy_save_path(s))) {
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    /* A validation writes beside the data dir's policy, a save beside its
     * target, so that the rename that installs it stays in one directory. */
    if (!(beside = install ? strdup(target) : srv_pf_join(s->cfg->data_dir, DATA_POLICY))) {
        srv_error(r, 500, "internal", "out of memory");
        free(target);
        return;
    }
    pthread_mutex_lock(&s->policy_update_mu);
    if (srv_pf_write_temp(beside, text, len, &tmp)) {
        SRV_ERROR("policy", "cannot write a temporary file beside %s: %s", target, strerror(errno));
        srv_error(r, 500, "internal", "cannot write the policy file");
        goto fail;
    }
    if (srv_pf_opts_build(s, tmp, NULL, NULL, &po)) {
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
    srv_pf_opts_free(&po);
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
    long long terms = srv_pf_count_terms(path, &bytes, &mtime);

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
    if (!srv_pf_lexicon_name_ok(p, n)) {
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
    if (!arr || srv_pf_lexicon_names(s, &names, &n)) {
        json_decref(arr);
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < s->gopt.n_lexicons; i++)
        json_array_append_new(
            arr, lexicon_json(base_name(s->gopt.lexicon_paths[i]), s->gopt.lexicon_paths[i], true));
    for (size_t i = 0; i < n; i++) {
        char *p = srv_pf_lexicon_path(s, names[i]);

        if (p)
            json_array_append_new(arr, lexicon_json(names[i], p, false));
        free(p);
    }
    srv_pf_names_free(names, n);
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
    if (!(path = srv_pf_lexicon_path(r->srv, name))) {
        srv_error(r, 500, "internal", "out of memory");
        goto fail;
    }
    if (srv_pf_read_text(path, LEXICON_TEXT_MAX, &text, &len)) {
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
    srv_pol_opts po = {0};
    bool locked = false;
    size_t len;

    if (lexicon_name_of(r, name) || body_text(r, LEXICON_TEXT_MAX, &text, &len))
        return;
    snprintf(shown, sizeof shown, "%s%s", name, LEXICON_EXT);
    target = srv_pf_lexicon_path(s, name);
    dir = srv_pf_join(s->cfg->data_dir, LEXICON_DIR);
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
    if (srv_pf_write_temp(target, text, len, &tmp)) {
        SRV_ERROR("policy", "cannot write a temporary file beside %s: %s", target, strerror(errno));
        srv_error(r, 500, "internal", "cannot write the lexicon");
        goto fail;
    }
    if (srv_pf_opts_build(s, NULL, name, tmp, &po)) {
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
    srv_pf_opts_free(&po);
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
    if (!(path = srv_pf_lexicon_path(s, name))) {
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
    if (srv_pf_sync_dir_of(path))
        SRV_WARN("policy", "fsync of the directory of %s: %s", path, strerror(errno));
    srv_audit_req(r, w, "lexicon.delete", name, NULL);
    /* Fewer terms cannot make the rules invalid; only memory can fail. */
    if (srv_policy_reload_locked(s, w->st, r->user.id, r->user.login, err, sizeof err)) {
        srv_error(r, 500, "internal", "removed, but the reload failed: %s", err);
        goto fail;
    }
    srv_reply(r, 204, NULL);
fail:
    pthread_mutex_unlock(&s->policy_update_mu);
    free(path);
}
