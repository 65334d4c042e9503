/*
 * store.c — the backend-independent part of the store: choosing a backend
 * by name, error strings, enum names, freeing records, and the pieces of
 * the operations both backends share (store_backend.h: argument checks,
 * record assembly, containment steps, the transaction flag).
 *
 * Everything here must stay valid for every backend: records are plain
 * heap strings inside caller-owned structs (store.h, OWNERSHIP).
 */
#include "store/store.h"
#include "store/store_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The backends compiled in, looked up by store_options.backend. */
static const store_backend *const backends[] = {
    &store_sqlite_backend,
    &store_pg_backend,
};

#define N_BACKENDS (sizeof backends / sizeof backends[0])

static char *dup_msg(const char *m)
{
    return strdup(m ? m : "");
}

const char *store_backend_for(const char *path)
{
    /* libpq's URL forms; a file path never starts like this */
    if (path && (!strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11)))
        return "postgresql";
    return "sqlite";
}

char *store_path_redacted(const char *path, char *out, size_t cap)
{
    const char *scheme, *at, *colon, *pw;
    size_t n;

    if (!cap)
        return out;
    snprintf(out, cap, "%s", path ? path : "");
    if (!path || strcmp(store_backend_for(path), "postgresql"))
        return out;
    /* postgresql://user:secret@host/db -> postgresql://user:***@host/db */
    scheme = strstr(path, "://") + 3;
    at = strchr(scheme, '@');
    colon = strchr(scheme, ':');
    if (at && colon && colon < at && !memchr(scheme, '/', (size_t)(at - scheme)))
        snprintf(out, cap, "%.*s***%s", (int)(colon + 1 - path), path, at);
    /* ...?password=secret&... -> password=*** */
    pw = strstr(out, "password=");
    if (pw) {
        char rest[1024];
        const char *end = strchr(pw, '&');

        snprintf(rest, sizeof rest, "%s", end ? end : "");
        n = (size_t)(pw - out) + strlen("password=");
        snprintf(out + n, cap - n, "***%s", rest);
    }
    return out;
}

int store_open(const store_options *opt, store **out, char **errmsg)
{
    const char *name;
    const store_backend *b = NULL;

    if (out)
        *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    if (!opt || !out || !opt->path || !*opt->path) {
        if (errmsg)
            *errmsg = dup_msg("store_open: no database path");
        return STORE_INVAL;
    }
    name = opt->backend && *opt->backend ? opt->backend : store_backend_for(opt->path);
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (!strcmp(backends[i]->name, name))
            b = backends[i];
    if (!b) {
        if (errmsg)
            *errmsg = dup_msg("store_open: unknown storage backend");
        return STORE_INVAL;
    }
    return b->open(opt, out, errmsg);
}

void store_close(store *s)
{
    if (s)
        s->methods->close(s);
}

const char *store_errmsg(store *s)
{
    return s ? s->methods->errmsg(s) : "";
}

const char *store_strerror(int rc)
{
    static const char *const names[STORE_RC_COUNT] = {
        [STORE_OK] = "ok",
        [STORE_NOTFOUND] = "not found",
        [STORE_CONFLICT] = "conflict",
        [STORE_BUSY] = "database busy",
        [STORE_IO] = "storage I/O error",
        [STORE_CORRUPT] = "database corrupt",
        [STORE_NOMEM] = "out of memory",
        [STORE_INVAL] = "invalid argument",
        [STORE_VERSION] = "schema version not supported",
        [STORE_READONLY] = "read-only database",
    };
    if (rc < 0 || rc >= STORE_RC_COUNT)
        return "unknown store error";
    return names[rc];
}

/* ---------------------------------------------------------------- names */

static int parse_name(const char *s, const char *const *names, int n)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

static const char *const role_names[] = {"member", "officer", "admin"};
static const char *const kind_names[] = {"direct", "group"};
static const char *const member_role_names[] = {"member", "admin", "owner"};
static const char *const alert_status_names[] = {"open", "acked", "resolved"};

const char *store_role_name(store_role r)
{
    return (unsigned)r < 3 ? role_names[r] : "?";
}

int store_role_parse(const char *s)
{
    return parse_name(s, role_names, 3);
}

const char *store_conv_kind_name(store_conv_kind k)
{
    return (unsigned)k < 2 ? kind_names[k] : "?";
}

const char *store_member_role_name(store_member_role r)
{
    return (unsigned)r < 3 ? member_role_names[r] : "?";
}

int store_member_role_parse(const char *s)
{
    return parse_name(s, member_role_names, 3);
}

const char *store_alert_status_name(store_alert_status s)
{
    return (unsigned)s < 3 ? alert_status_names[s] : "?";
}

int store_alert_status_parse(const char *s)
{
    return parse_name(s, alert_status_names, 3);
}

/* --------------------------------------------------------------- freeing */

void store_user_clear(store_user *u)
{
    if (!u)
        return;
    free(u->login);
    free(u->display_name);
    free(u->phone);
    free(u->department);
    if (u->password_hash) {
        /* not a secret in itself, but no reason to leave it in freed memory */
        memset(u->password_hash, 0, strlen(u->password_hash));
        free(u->password_hash);
    }
    if (u->totp_secret) {
        memset(u->totp_secret, 0, strlen(u->totp_secret));
        free(u->totp_secret);
    }
    memset(u, 0, sizeof *u);
}

void store_users_free(store_users *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        store_user_clear(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void store_session_clear(store_session *s)
{
    if (!s)
        return;
    free(s->user_agent);
    free(s->address);
    memset(s, 0, sizeof *s);
}

void store_sessions_free(store_sessions *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        store_session_clear(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void store_conv_clear(store_conv *c)
{
    if (!c)
        return;
    free(c->title);
    memset(c, 0, sizeof *c);
}

void store_members_free(store_members *l)
{
    if (!l)
        return;
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void store_message_clear(store_message *m)
{
    if (!m)
        return;
    free(m->client_id);
    free(m->text);
    free(m->verdict);
    free(m->justification);
    free(m->kind);
    free(m->meta);
    free(m->inbound_warning);
    free(m->attachments);
    memset(m, 0, sizeof *m);
}

void store_spread_member_rows_free(store_spread_member_rows *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].title);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void store_alert_group_rows_free(store_alert_group_rows *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].department);
        free(l->items[i].conv_title);
        free(l->items[i].category);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void store_alert_stat_rows_free(store_alert_stat_rows *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].category);
        free(l->items[i].rule);
        free(l->items[i].verdict);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void store_messages_free(store_messages *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        store_message_clear(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void store_conv_summaries_free(store_conv_summaries *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        store_conv_clear(&l->items[i].conv);
        store_message_clear(&l->items[i].last);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void store_alert_clear(store_alert *a)
{
    if (!a)
        return;
    free(a->category);
    free(a->verdict);
    free(a->rule);
    free(a->findings_json);
    free(a->justification);
    free(a->ack_comment);
    free(a->resolve_comment);
    free(a->kind);
    free(a->note);
    free(a->evidence_json);
    memset(a, 0, sizeof *a);
}

void store_alerts_free(store_alerts *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        store_alert_clear(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void store_audit_entry_clear(store_audit_entry *e)
{
    if (!e)
        return;
    free(e->actor);
    free(e->event);
    free(e->target);
    free(e->detail);
    memset(e, 0, sizeof *e);
}

void store_audit_entries_free(store_audit_entries *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        store_audit_entry_clear(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* ---- reminders (schema version 7) ---- */

static const char *const remind_repeats[] = {"once", "daily", "workdays", "weekly"};
static const char *const remind_targets[] = {"me", "members", "all"};

static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(names[i], s))
            return i;
    return -1;
}

const char *store_remind_repeat_name(store_remind_repeat r)
{
    return (unsigned)r < 4 ? remind_repeats[r] : "once";
}

int store_remind_repeat_parse(const char *s)
{
    return name_index(remind_repeats, 4, s);
}

const char *store_remind_target_name(store_remind_target t)
{
    return (unsigned)t < 3 ? remind_targets[t] : "me";
}

int store_remind_target_parse(const char *s)
{
    return name_index(remind_targets, 3, s);
}

void store_reminder_clear(store_reminder *r)
{
    if (!r)
        return;
    free(r->text);
    free(r->tz);
    free(r->target_ids);
    memset(r, 0, sizeof *r);
}

void store_reminders_free(store_reminders *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        store_reminder_clear(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* -------------------------------------------------- shared by backends */

bool store_message_new_valid(const store_message_new *m)
{
    return m->client_id && *m->client_id && strlen(m->client_id) <= STORE_CLIENT_ID_MAX &&
           m->verdict && (m->text || !m->text_len) && m->text_len <= INT32_MAX;
}

void store_forward_provenance(const store_message *src, int64_t *origin, int64_t *author,
                              int *depth)
{
    *origin = src->forward_of ? src->forward_origin_id : src->id;
    *author = src->forward_of ? src->forward_author_id : src->sender_id;
    *depth = src->forward_depth + 1;
}

static char *dup_n(const char *p, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, p, n);
        d[n] = 0;
    }
    return d;
}

static char *dup_opt(const char *p, bool *oom)
{
    char *d;

    if (!p)
        return NULL;
    d = strdup(p);
    if (!d)
        *oom = true;
    return d;
}

int store_message_from_new(store_message *out, const store_message_new *m, int64_t id,
                           int64_t origin, int64_t author, int depth)
{
    bool oom = false;

    out->id = id;
    out->conv_id = m->conv_id;
    out->sender_id = m->sender_id;
    out->created_at = m->now;
    out->text_len = m->text_len;
    out->masked = m->masked;
    out->forward_of = m->forward_of;
    out->forward_origin_id = origin;
    out->forward_author_id = author;
    out->forward_depth = depth;
    out->inspected_external = m->inspected_external;
    out->client_id = dup_opt(m->client_id, &oom);
    out->verdict = dup_opt(m->verdict, &oom);
    out->justification = dup_opt(m->justification, &oom);
    out->inbound_warning = dup_opt(m->inbound_warning, &oom);
    out->text = dup_n(m->text ? m->text : "", m->text_len);
    out->kind = dup_opt(m->kind ? m->kind : "text", &oom);
    out->meta = dup_opt(m->meta, &oom);
    out->burn = m->burn ? STORE_BURN_LIVE : STORE_BURN_NONE;
    out->burn_deadline = m->burn ? m->burn_deadline : 0;
    if (oom || !out->text) {
        store_message_clear(out);
        return STORE_NOMEM;
    }
    return STORE_OK;
}

int store_message_side_records(store *s, const store_message_new *m, int64_t id)
{
    char target[40];
    int rc = STORE_OK;

    if (m->alert) {
        store_alert_new a = *m->alert;

        a.message_id = id;
        a.conv_id = m->conv_id;
        a.user_id = m->sender_id;
        rc = s->methods->alert_create(s, &a, m->alert_id_out);
    }
    if (!rc && m->audit) {
        store_audit_new e = *m->audit;

        snprintf(target, sizeof target, "message:%lld", (long long)id);
        if (!e.target)
            e.target = target;
        rc = s->methods->audit_append(s, &e, NULL);
    }
    return rc;
}

int store_contain_steps(store_contain_action action, int64_t recalled_at, int contained,
                        store_contain_step steps[2])
{
    switch (action) {
    case STORE_CONTAIN_QUARANTINE:
        if (recalled_at || contained) /* recalled, quarantined or removed already */
            return 0;
        steps[0] = STORE_STEP_QUAR_INSERT;
        steps[1] = STORE_STEP_QUAR_HIDE;
        return 2;
    case STORE_CONTAIN_REMOVE:
        if (contained == STORE_CONTAINED_REMOVED || (recalled_at && !contained))
            return 0; /* removed already, or its sender recalled it */
        steps[0] = STORE_STEP_MSG_REMOVE;
        steps[1] = STORE_STEP_QUAR_DELETE; /* the kept copy of a quarantined one */
        return 2;
    case STORE_CONTAIN_RESTORE:
        if (contained != STORE_CONTAINED_QUARANTINED)
            return 0;
        steps[0] = STORE_STEP_QUAR_RESTORE;
        steps[1] = STORE_STEP_QUAR_DELETE;
        return 2;
    }
    return -1;
}

int store_tx_flag_begin(store *s, bool *in_tx, store_bracket_begin_fn *begin)
{
    int rc;

    if (*in_tx)
        return STORE_INVAL;
    rc = begin(s);
    if (!rc)
        *in_tx = true;
    return rc;
}

int store_tx_flag_commit(store *s, bool *in_tx, store_bracket_end_fn *end)
{
    if (!*in_tx)
        return STORE_INVAL;
    *in_tx = false;
    return end(s, STORE_OK);
}

int store_tx_flag_rollback(store *s, bool *in_tx, store_bracket_end_fn *end)
{
    if (!*in_tx)
        return STORE_INVAL;
    *in_tx = false;
    return end(s, STORE_INVAL) == STORE_INVAL ? STORE_OK : STORE_IO;
}

bool store_stats_window_ok(int64_t from, int64_t to)
{
    return to > from && to - from <= (int64_t)STORE_STATS_MAX_DAYS * 86400000;
}

bool store_tz_offset_ok(int64_t tz_offset_ms)
{
    return tz_offset_ms >= -14 * 3600000LL && tz_offset_ms <= 14 * 3600000LL;
}

int store_forward_chain_walk(store *s, int64_t id, int max, store_messages *out)
{
    size_t cap = 0;
    int rc = STORE_OK;

    memset(out, 0, sizeof *out);
    for (int hop = 0; id && hop < max; hop++) {
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            store_message *grown = realloc(out->items, ncap * sizeof *grown);

            if (!grown) {
                rc = STORE_NOMEM;
                break;
            }
            out->items = grown;
            cap = ncap;
        }
        memset(&out->items[out->n], 0, sizeof out->items[0]);
        rc = s->methods->message_get(s, id, &out->items[out->n]);
        if (rc)
            break;
        id = out->items[out->n++].forward_of;
    }
    if (rc == STORE_NOTFOUND && out->n)
        rc = STORE_CORRUPT; /* a forward_of pointing nowhere */
    if (rc)
        store_messages_free(out);
    return rc;
}

bool store_id_seen_before(const int64_t *ids, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (ids[j] == ids[i])
            return true;
    return false;
}

int store_conv_create_check(store_conv_kind kind, int64_t creator, const int64_t *member_ids,
                            size_t n_members, int64_t *other)
{
    size_t others = 0;

    *other = 0;
    if ((kind != STORE_CONV_DIRECT && kind != STORE_CONV_GROUP) || creator <= 0 ||
        (n_members && !member_ids))
        return STORE_INVAL;
    for (size_t i = 0; i < n_members; i++) {
        if (member_ids[i] <= 0)
            return STORE_INVAL;
        if (member_ids[i] != creator && !store_id_seen_before(member_ids, i)) {
            *other = member_ids[i];
            others++;
        }
    }
    return kind == STORE_CONV_DIRECT && others != 1 ? STORE_INVAL : STORE_OK;
}
