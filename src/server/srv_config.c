/*
 * srv_config.c — cordon.yaml into srv_config (see srv_config.h).
 *
 * The file is loaded as a libyaml document (small, read once) and walked
 * key by key. Unknown keys are errors: a misspelt limit silently ignored is
 * worse than a server that refuses to start.
 */
#include "srv_config.h"

#include "store/store_ckpt.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* The client built with the server (web/meson.build: web_dist_dir). */
#ifndef CORDON_WEB_DIR
#define CORDON_WEB_DIR ""
#endif

static const char *const role_names[SRV_ROLE_COUNT] = {"member", "officer", "admin"};

const char *srv_role_name(int role)
{
    return role >= 0 && role < SRV_ROLE_COUNT ? role_names[role] : "unknown";
}

int srv_role_parse(const char *name)
{
    for (int i = 0; i < SRV_ROLE_COUNT; i++)
        if (!strcmp(name, role_names[i]))
            return i;
    return -1;
}

int srv_config_set_str(char **field, const char *value)
{
    char *v = NULL;

    if (value) {
        v = strdup(value);
        if (!v)
            return -1;
    }
    free(*field);
    *field = v;
    return 0;
}

int srv_config_defaults(srv_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen_port = 8080;
    cfg->recall_window_seconds = 120;
    cfg->burn_after_open_seconds = 30;
    cfg->burn_unopened_seconds = 7 * 86400;
    cfg->reminder_late_seconds = 60;
    cfg->limits.max_message_bytes = 16384;
    cfg->limits.max_body_bytes = 65536;
    cfg->limits.max_justification = 2000;
    cfg->limits.max_group_members = 500;
    cfg->limits.requests_per_second = 200;
    cfg->limits.burst = 400;
    cfg->limits.ws_queue_events = 1024;
    cfg->limits.ws_queue_bytes = 4u << 20;
    cfg->limits.max_connections = 20000;
    /* The web client checks a draft 400 ms after typing stops. */
    cfg->limits.guard_checks_per_second = 1;
    cfg->limits.guard_check_burst = 30;
    cfg->limits.ocr_per_minute = 6;
    cfg->limits.ocr_burst = 6;
    cfg->limits.ocr_concurrent = 2;
    cfg->limits.guard_probe_blocked = 5;
    cfg->limits.guard_probe_window_seconds = 600;
    cfg->login.account_failures = 5;
    cfg->login.address_failures = 20;
    cfg->login.window_seconds = 900;
    cfg->login.lockout_seconds = 900;
    cfg->writer_batch = 1024;
    cfg->audit_checkpoint_interval_s = 60;
    cfg->siem_facility = 13;
    cfg->siem_interval_ms = 1000;
    cfg->bus_gap_fill_max = 1000;
    cfg->bus_gap_fill_seconds = 60;
    cfg->event_loop = SRV_LOOP_LIBEV;
    cfg->log_level = SRV_LOG_INFO;
    cfg->uploads.max_size = 2ll << 30;
    cfg->uploads.expiry_seconds = 86400;
    cfg->uploads.quota_bytes = 8ll << 30;
    cfg->uploads.max_active = 20;
    cfg->uploads.inspectors = 2;
    cfg->uploads.watermark = true;
    cfg->uploads.watermark_cache_bytes = 64ll << 20;
    {
        /* Programs a click runs: refused before a byte is sent. */
        static const char *const refused[] = {".exe", ".scr", ".bat", ".cmd", ".com",
                                              ".msi", ".vbs", ".ps1", ".jar"};
        size_t n = sizeof refused / sizeof refused[0];

        cfg->uploads.refused_types = calloc(n, sizeof(char *));
        if (!cfg->uploads.refused_types)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!(cfg->uploads.refused_types[cfg->uploads.n_refused_types++] = strdup(refused[i])))
                return -1;
    }
    if (srv_config_set_str(&cfg->listen_host, "127.0.0.1") ||
        srv_config_set_str(&cfg->data_dir, "./cordon-data") ||
        /* the store's default from the environment; `store:` and --store
         * override it (a URL may carry a password better kept out of files) */
        (getenv("CORDON_STORE") && *getenv("CORDON_STORE") &&
         srv_config_set_str(&cfg->store, getenv("CORDON_STORE"))) ||
        srv_config_set_str(&cfg->web_root, *CORDON_WEB_DIR ? CORDON_WEB_DIR : NULL))
        return -1;
    return 0;
}

static int set_hostport(const char *spec, char **host_out, int *port_out)
{
    const char *colon = strrchr(spec, ':');
    char host[256];
    char *end;
    long port;
    size_t hl;

    if (!colon)
        return -1;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return -1;
    hl = (size_t)(colon - spec);
    if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
        spec++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return -1;
    memcpy(host, spec, hl);
    host[hl] = 0;
    if (srv_config_set_str(host_out, hl ? host : "127.0.0.1"))
        return -1;
    *port_out = (int)port;
    return 0;
}

int srv_config_set_listen(srv_config *cfg, const char *spec)
{
    return set_hostport(spec, &cfg->listen_host, &cfg->listen_port);
}

int srv_config_set_metrics_listen(srv_config *cfg, const char *spec)
{
    return set_hostport(spec, &cfg->metrics_host, &cfg->metrics_port);
}

char *srv_config_store_path(const srv_config *cfg)
{
    char *p = NULL;

    if (cfg->store)
        return strdup(cfg->store);
    if (asprintf(&p, "%s/%s", cfg->data_dir, STORE_DB_FILE) < 0)
        return NULL;
    return p;
}

void srv_config_free(srv_config *cfg)
{
    free(cfg->listen_host);
    free(cfg->metrics_host);
    free(cfg->data_dir);
    free(cfg->store);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->policy_path);
    for (size_t i = 0; i < cfg->n_lexicons; i++)
        free(cfg->lexicons[i]);
    free(cfg->lexicons);
    free(cfg->guard_cache_dir);
    free(cfg->web_root);
    free(cfg->audit_checkpoint_key);
    free(cfg->audit_checkpoint_file);
    free(cfg->siem_address);
    free(cfg->bus_url);
    free(cfg->node_name);
    free(cfg->blob_dir);
    for (size_t i = 0; i < cfg->n_allowed_origins; i++)
        free(cfg->allowed_origins[i]);
    free(cfg->allowed_origins);
    for (size_t i = 0; i < cfg->uploads.n_refused_types; i++)
        free(cfg->uploads.refused_types[i]);
    free(cfg->uploads.refused_types);
    memset(cfg, 0, sizeof *cfg);
}

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int srv_config_audit_paths(const srv_config *cfg, char **key, char **file)
{
    *key = cfg->audit_checkpoint_key ? strdup(cfg->audit_checkpoint_key)
                                     : path_in(cfg->data_dir, STORE_CKPT_KEY_FILE);
    *file = cfg->audit_checkpoint_file ? strdup(cfg->audit_checkpoint_file)
                                       : path_in(cfg->data_dir, STORE_CKPT_LOG_FILE);
    if (*key && *file)
        return 0;
    free(*key);
    free(*file);
    *key = *file = NULL;
    return -1;
}

/* ---- the walk ------------------------------------------------------------ */

typedef struct walk {
    yaml_document_t *doc;
    const char *path;
    char *err;
    size_t errlen;
} walk;

static int fail(walk *w, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(walk *w, const yaml_node_t *n, const char *fmt, ...)
{
    int k = snprintf(w->err, w->errlen, "%s:%lu: ", w->path,
                     n ? (unsigned long)n->start_mark.line + 1 : 0ul);
    va_list ap;

    if (k < 0 || (size_t)k >= w->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(w->err + k, w->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_str(walk *w, const yaml_node_t *n, const char *key, char **out)
{
    const char *s = scalar(n);

    if (!s)
        return fail(w, n, "%s: expected a string", key);
    /* `~`/`null` clears an optional path. */
    if (!strcmp(s, "~") || !strcmp(s, "null") || !*s)
        return srv_config_set_str(out, NULL);
    if (srv_config_set_str(out, s))
        return fail(w, n, "out of memory");
    return 0;
}

static int get_int(walk *w, const yaml_node_t *n, const char *key, long lo, long hi, long *out)
{
    const char *s = scalar(n);
    char *end;
    long v;

    if (!s)
        return fail(w, n, "%s: expected an integer", key);
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return fail(w, n, "%s: expected an integer in %ld..%ld, got '%s'", key, lo, hi, s);
    *out = v;
    return 0;
}

static int get_double(walk *w, const yaml_node_t *n, const char *key, double lo, double hi,
                      double *out)
{
    const char *s = scalar(n);
    char *end;
    double v;

    if (!s)
        return fail(w, n, "%s: expected a number", key);
    v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return fail(w, n, "%s: expected a number in %g..%g, got '%s'", key, lo, hi, s);
    *out = v;
    return 0;
}

#define INT_FIELD(w, n, key, lo, hi, dst)                                                          \
    do {                                                                                           \
        long v_;                                                                                   \
        if (get_int(w, n, key, lo, hi, &v_))                                                       \
            return -1;                                                                             \
        (dst) = v_;                                                                                \
    } while (0)

/* Calls fn(w, key, value) for each pair of a mapping. */
static int each_pair(walk *w, const yaml_node_t *map, const char *what,
                     int (*fn)(walk *, const char *, yaml_node_t *, void *), void *arg)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return fail(w, map, "%s: expected a mapping", what);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        const char *ks = scalar(k);

        if (!ks)
            return fail(w, k, "%s: keys must be strings", what);
        if (fn(w, ks, v, arg))
            return -1;
    }
    return 0;
}

static int limits_pair(walk *w, const char *k, yaml_node_t *v, void *arg)
{
    srv_config *c = arg;
    srv_limits *l = &c->limits;

    if (!strcmp(k, "max_message_bytes"))
        INT_FIELD(w, v, k, 1, 16l << 20, l->max_message_bytes);
    else if (!strcmp(k, "max_body_bytes"))
        INT_FIELD(w, v, k, 1024, 64l << 20, l->max_body_bytes);
    else if (!strcmp(k, "max_justification_bytes"))
        INT_FIELD(w, v, k, 1, 1 << 20, l->max_justification);
    else if (!strcmp(k, "max_group_members"))
        INT_FIELD(w, v, k, 2, 100000, l->max_group_members);
    else if (!strcmp(k, "requests_per_second")) {
        if (get_double(w, v, k, 0.1, 1e9, &l->requests_per_second))
            return -1;
    } else if (!strcmp(k, "burst")) {
        if (get_double(w, v, k, 1, 1e9, &l->burst))
            return -1;
    } else if (!strcmp(k, "ws_queue_events"))
        INT_FIELD(w, v, k, 4, 1 << 20, l->ws_queue_events);
    else if (!strcmp(k, "ws_queue_bytes"))
        INT_FIELD(w, v, k, 4096, 1l << 30, l->ws_queue_bytes);
    else if (!strcmp(k, "max_connections"))
        INT_FIELD(w, v, k, 1, 1000000, l->max_connections);
    else if (!strcmp(k, "guard_checks_per_second")) {
        if (get_double(w, v, k, 0.01, 1e9, &l->guard_checks_per_second))
            return -1;
    } else if (!strcmp(k, "guard_check_burst")) {
        if (get_double(w, v, k, 1, 1e9, &l->guard_check_burst))
            return -1;
    } else if (!strcmp(k, "ocr_per_minute")) {
        if (get_double(w, v, k, 0.01, 1e6, &l->ocr_per_minute))
            return -1;
    } else if (!strcmp(k, "ocr_burst")) {
        if (get_double(w, v, k, 1, 1e6, &l->ocr_burst))
            return -1;
    } else if (!strcmp(k, "ocr_concurrent"))
        INT_FIELD(w, v, k, 1, 1024, l->ocr_concurrent);
    else
        return fail(w, v, "limits: unknown key '%s'", k);
    return 0;
}

static int probing_pair(walk *w, const char *k, yaml_node_t *v, void *arg)
{
    srv_limits *l = &((srv_config *)arg)->limits;

    if (!strcmp(k, "blocked"))
        INT_FIELD(w, v, k, 0, 1000000, l->guard_probe_blocked);
    else if (!strcmp(k, "window_seconds"))
        INT_FIELD(w, v, k, 1, 86400 * 7, l->guard_probe_window_seconds);
    else
        return fail(w, v, "guard_probing: unknown key '%s'", k);
    return 0;
}

static int login_pair(walk *w, const char *k, yaml_node_t *v, void *arg)
{
    srv_login_limits *l = &((srv_config *)arg)->login;

    if (!strcmp(k, "max_failures_per_account"))
        INT_FIELD(w, v, k, 1, 1000000, l->account_failures);
    else if (!strcmp(k, "max_failures_per_address"))
        INT_FIELD(w, v, k, 1, 1000000, l->address_failures);
    else if (!strcmp(k, "window_seconds"))
        INT_FIELD(w, v, k, 1, 86400 * 30, l->window_seconds);
    else if (!strcmp(k, "lockout_seconds"))
        INT_FIELD(w, v, k, 1, 86400 * 30, l->lockout_seconds);
    else
        return fail(w, v, "login: unknown key '%s'", k);
    return 0;
}

static int tls_pair(walk *w, const char *k, yaml_node_t *v, void *arg)
{
    srv_config *c = arg;

    if (!strcmp(k, "cert"))
        return get_str(w, v, k, &c->tls_cert);
    if (!strcmp(k, "key"))
        return get_str(w, v, k, &c->tls_key);
    return fail(w, v, "tls: unknown key '%s'", k);
}

/* A list of non-empty strings into *arr_io, its length in *n_io (both replaced). */
static int get_str_list(walk *w, yaml_node_t *v, const char *what, char ***arr_io, size_t *n_io)
{
    size_t n;
    char **arr;

    if (v->type != YAML_SEQUENCE_NODE)
        return fail(w, v, "%s: expected a list", what);
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    arr = calloc(n ? n : 1, sizeof *arr);
    if (!arr)
        return fail(w, v, "out of memory");
    for (size_t i = 0; i < *n_io; i++)
        free((*arr_io)[i]);
    free(*arr_io);
    *arr_io = arr;
    *n_io = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = yaml_document_get_node(w->doc, v->data.sequence.items.start[i]);
        const char *s = scalar(it);

        if (!s || !*s)
            return fail(w, it, "%s: expected a non-empty string", what);
        arr[i] = strdup(s);
        if (!arr[i])
            return fail(w, it, "out of memory");
        (*n_io)++;
    }
    return 0;
}

static int policy_pair(walk *w, const char *k, yaml_node_t *v, void *arg)
{
    srv_config *c = arg;

    if (!strcmp(k, "path"))
        return get_str(w, v, k, &c->policy_path);
    if (!strcmp(k, "cache_dir"))
        return get_str(w, v, k, &c->guard_cache_dir);
    if (!strcmp(k, "lexicons"))
        return get_str_list(w, v, "lexicons", &c->lexicons, &c->n_lexicons);
    return fail(w, v, "policy: unknown key '%s'", k);
}

static int audit_pair(walk *w, const char *k, yaml_node_t *v, void *arg)
{
    srv_config *c = arg;

    if (!strcmp(k, "checkpoint_key"))
        return get_str(w, v, k, &c->audit_checkpoint_key);
    if (!strcmp(k, "checkpoint_file"))
        return get_str(w, v, k, &c->audit_checkpoint_file);
    if (!strcmp(k, "checkpoint_interval_s")) {
        INT_FIELD(w, v, k, 0, 86400, c->audit_checkpoint_interval_s);
        return 0;
    }
    return fail(w, v, "audit: unknown key '%s'", k);
}

static int uploads_pair(walk *w, const char *k, yaml_node_t *v, void *arg)
{
    srv_config *c = arg;
    srv_uploads_config *u = &c->uploads;

    if (!strcmp(k, "max_size"))
        INT_FIELD(w, v, k, 1, 1l << 40, u->max_size);
    else if (!strcmp(k, "expiry_seconds"))
        INT_FIELD(w, v, k, 1, 86400 * 30, u->expiry_seconds);
    else if (!strcmp(k, "quota_bytes"))
        INT_FIELD(w, v, k, 1, 1l << 50, u->quota_bytes);
    else if (!strcmp(k, "max_active"))
        INT_FIELD(w, v, k, 1, 100000, u->max_active);
    else if (!strcmp(k, "inspectors"))
        INT_FIELD(w, v, k, 1, 64, u->inspectors);
    else if (!strcmp(k, "refused_types"))
        return get_str_list(w, v, k, &u->refused_types, &u->n_refused_types);
    else if (!strcmp(k, "watermark")) {
        const char *b = scalar(v);

        if (!b || (strcmp(b, "true") && strcmp(b, "false")))
            return fail(w, v, "uploads.watermark must be true or false");
        u->watermark = !strcmp(b, "true");
    } else if (!strcmp(k, "watermark_cache_bytes"))
        INT_FIELD(w, v, k, 1l << 20, 1l << 40, u->watermark_cache_bytes);
    else
        return fail(w, v, "uploads: unknown key '%s'", k);
    return 0;
}

static int siem_pair(walk *w, const char *k, yaml_node_t *v, void *arg)
{
    srv_config *c = arg;
    const char *s = scalar(v);

    if (!strcmp(k, "address"))
        return get_str(w, v, k, &c->siem_address);
    if (!strcmp(k, "transport")) {
        if (!s || (strcmp(s, "udp") && strcmp(s, "tcp")))
            return fail(w, v, "siem: transport must be udp or tcp");
        c->siem_tcp = !strcmp(s, "tcp");
        return 0;
    }
    if (!strcmp(k, "format")) {
        if (!s || (strcmp(s, "json") && strcmp(s, "cef")))
            return fail(w, v, "siem: format must be json or cef");
        c->siem_cef = !strcmp(s, "cef");
        return 0;
    }
    if (!strcmp(k, "facility")) {
        INT_FIELD(w, v, k, 0, 23, c->siem_facility);
        return 0;
    }
    if (!strcmp(k, "interval_ms")) {
        INT_FIELD(w, v, k, 50, 60000, c->siem_interval_ms);
        return 0;
    }
    return fail(w, v, "siem: unknown key '%s'", k);
}

static int totp_roles(walk *w, yaml_node_t *v, srv_config *c)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(w, v, "totp_required: expected a list of roles");
    memset(c->totp_required, 0, sizeof c->totp_required);
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        yaml_node_t *it = yaml_document_get_node(w->doc, *i);
        const char *s = scalar(it);
        int r = s ? srv_role_parse(s) : -1;

        if (r < 0)
            return fail(w, it, "totp_required: expected member, officer or admin");
        c->totp_required[r] = true;
    }
    return 0;
}

static int top_pair(walk *w, const char *k, yaml_node_t *v, void *arg)
{
    srv_config *c = arg;

    if (!strcmp(k, "listen")) {
        const char *s = scalar(v);

        if (!s || srv_config_set_listen(c, s))
            return fail(w, v, "listen: expected HOST:PORT");
        return 0;
    }
    if (!strcmp(k, "metrics_listen")) {
        const char *s = scalar(v);

        if (!s || srv_config_set_metrics_listen(c, s))
            return fail(w, v, "metrics_listen: expected HOST:PORT");
        return 0;
    }
    if (!strcmp(k, "data_dir"))
        return get_str(w, v, k, &c->data_dir) ? -1
               : c->data_dir                  ? 0
                                              : fail(w, v, "data_dir: must not be empty");
    if (!strcmp(k, "store")) /* ~ or "": SQLite in data_dir */
        return get_str(w, v, k, &c->store);
    if (!strcmp(k, "web_root"))
        return get_str(w, v, k, &c->web_root); /* ~ or "": no web client */
    if (!strcmp(k, "bus")) {
        /* "local" (or ~): the in-process bus; redis://host:port[/db]. */
        const char *b = scalar(v);

        if (b && (!*b || !strcmp(b, "local") || !strcmp(b, "~")))
            return srv_config_set_str(&c->bus_url, NULL);
        if (!b || strncmp(b, "redis://", 8) || !b[8])
            return fail(w, v, "bus: expected local or redis://HOST:PORT");
        return srv_config_set_str(&c->bus_url, b);
    }
    if (!strcmp(k, "node_name"))
        return get_str(w, v, k, &c->node_name);
    if (!strcmp(k, "blob_dir"))
        return get_str(w, v, k, &c->blob_dir);
    if (!strcmp(k, "bus_gap_fill_max")) /* the store's message_after bound */
        return get_int(w, v, k, 0, 4999, &c->bus_gap_fill_max);
    if (!strcmp(k, "bus_gap_fill_seconds"))
        return get_int(w, v, k, 0, 3600, &c->bus_gap_fill_seconds);
    if (!strcmp(k, "tls"))
        return each_pair(w, v, k, tls_pair, c);
    if (!strcmp(k, "policy"))
        return each_pair(w, v, k, policy_pair, c);
    if (!strcmp(k, "limits"))
        return each_pair(w, v, k, limits_pair, c);
    if (!strcmp(k, "login"))
        return each_pair(w, v, k, login_pair, c);
    if (!strcmp(k, "audit"))
        return each_pair(w, v, k, audit_pair, c);
    if (!strcmp(k, "uploads"))
        return each_pair(w, v, k, uploads_pair, c);
    if (!strcmp(k, "siem"))
        return each_pair(w, v, k, siem_pair, c);
    if (!strcmp(k, "guard_probing"))
        return each_pair(w, v, k, probing_pair, c);
    if (!strcmp(k, "totp_required"))
        return totp_roles(w, v, c);
    if (!strcmp(k, "allowed_origins"))
        return get_str_list(w, v, k, &c->allowed_origins, &c->n_allowed_origins);
    if (!strcmp(k, "recall_window_seconds")) {
        INT_FIELD(w, v, k, 0, 86400 * 365, c->recall_window_seconds);
        return 0;
    }
    if (!strcmp(k, "burn_after_open_seconds")) {
        INT_FIELD(w, v, k, 1, 86400, c->burn_after_open_seconds);
        return 0;
    }
    if (!strcmp(k, "reminder_late_seconds")) {
        INT_FIELD(w, v, k, 1, 86400, c->reminder_late_seconds);
        return 0;
    }
    if (!strcmp(k, "burn_unopened_seconds")) {
        INT_FIELD(w, v, k, 1, 86400 * 365, c->burn_unopened_seconds);
        return 0;
    }
    if (!strcmp(k, "workers")) {
        INT_FIELD(w, v, k, 0, 256, c->workers);
        return 0;
    }
    if (!strcmp(k, "writer_batch")) {
        INT_FIELD(w, v, k, 1, 100000, c->writer_batch);
        return 0;
    }
    if (!strcmp(k, "event_loop")) {
        const char *s = scalar(v);

        if (s && !strcmp(s, "poll"))
            c->event_loop = SRV_LOOP_POLL;
        else if (s && !strcmp(s, "libev"))
            c->event_loop = SRV_LOOP_LIBEV;
        else
            return fail(w, v, "event_loop: expected poll or libev");
        return 0;
    }
    if (!strcmp(k, "log_level")) {
        const char *s = scalar(v);

        if (!s || srv_log_parse_level(s, &c->log_level))
            return fail(w, v, "log_level: expected debug, info, warn or error");
        return 0;
    }
    return fail(w, v, "unknown key '%s'", k);
}

int srv_config_load(srv_config *cfg, const char *path, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    walk w = {&doc, path, err, errlen};
    FILE *f = NULL;
    int rc = -1, have_parser = 0, have_doc = 0;

    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    have_parser = 1;
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "malformed YAML");
        goto fail;
    }
    have_doc = 1;
    root = yaml_document_get_root_node(&doc);
    if (root && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length) &&
        each_pair(&w, root, "top level", top_pair, cfg))
        goto fail;
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, errlen, "%s: tls needs both cert and key", path);
        goto fail;
    }
    rc = 0;
fail:
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    if (f)
        fclose(f);
    return rc;
}
