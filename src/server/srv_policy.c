/*
 * srv_policy.c — the guard engine's start-up and reloads from the rules on
 * disk (srv_policy_files.h), and the name and text of the policy in force.
 *
 * Every load, validation and save holds s->policy_update_mu: a compile takes
 * seconds, and two saves racing could leave one text on disk and the other in
 * the engine. Only workers take it (handlers, the SIGHUP job), never the loop.
 * Policy and lexicon texts are never logged: they name what is secret.
 */
#include "srv_policy.h"

#include "srv_bus_redis.h"
#include "srv_log.h"
#include "srv_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

    if (path && srv_pf_read_text(path, POLICY_TEXT_MAX - 1, &text, &len))
        text = NULL;
    return text;
}

int srv_policy_start(srv *s, guard_error *err)
{
    srv_pol_opts po;
    char *text = NULL;
    int rc = -1;

    pthread_mutex_lock(&s->policy_update_mu);
    if (srv_pf_opts_build(s, NULL, NULL, NULL, &po)) {
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
    srv_pf_opts_free(&po);
    return rc;
}

/* srv_policy_reload with policy_update_mu held. */
int srv_policy_reload_locked(srv *s, store *st, int64_t actor_id, const char *actor, char *err,
                             size_t errlen)
{
    guard_error gerr = {0};
    guard_ruleset *rs;
    guard_ruleset_info info;
    srv_pol_opts po;
    char *text = NULL;
    int rc = -1;

    if (srv_pf_opts_build(s, NULL, NULL, NULL, &po)) {
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
    /* An admin's change (not a node's own SIGHUP or a reload the bus asked
     * for): every other node reloads the same files (docs/SCALING.md). */
    if (actor_id && s->busr && srv_bus_redis_control(s->busr, "policy.reload", NULL))
        SRV_WARN("policy", "the other nodes could not be told to reload");
    rc = 0;
fail:
    free(text);
    srv_pf_opts_free(&po);
    return rc;
}

int srv_policy_reload(srv *s, store *st, int64_t actor_id, const char *actor, char *err,
                      size_t errlen)
{
    int rc;

    pthread_mutex_lock(&s->policy_update_mu);
    rc = srv_policy_reload_locked(s, st, actor_id, actor, err, errlen);
    pthread_mutex_unlock(&s->policy_update_mu);
    return rc;
}

/* ---- policy name -------------------------------------------------------------- */

const char *srv_policy_name_of(const char *text, char *buf, size_t cap)
{
    /* The guard does not expose the name; a top-level `name:` line is the
     * documented place (docs/POLICY.md). */
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        size_t n = 0;

        if (strncmp(p, "name:", 5))
            continue;
        p += 5;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '"' || *p == '\'')
            p++;
        while (p[n] && !strchr("\n\r\"'#", p[n]) && n + 1 < cap)
            n++;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        memcpy(buf, p, n);
        buf[n] = 0;
        return buf;
    }
    snprintf(buf, cap, "unnamed");
    return buf;
}

const char *srv_policy_name(srv *s, char *buf, size_t cap)
{
    pthread_mutex_lock(&s->policy_mu);
    snprintf(buf, cap, "%s", s->policy_name);
    pthread_mutex_unlock(&s->policy_mu);
    return buf;
}

char *srv_policy_text(srv *s)
{
    char *t;

    pthread_mutex_lock(&s->policy_mu);
    t = s->policy_text ? strdup(s->policy_text) : NULL;
    pthread_mutex_unlock(&s->policy_mu);
    return t;
}
