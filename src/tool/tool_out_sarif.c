/*
 * tool_out_sarif.c — `--format sarif`: one SARIF 2.1.0 log, written at the
 * end (code-scanning dashboards, IDE viewers).
 *
 * One run; tool.driver "cordon" with a rules array of the rule ids seen; one
 * result per finding with its level from the action the policy took
 * (block/confirm: error, mask/warn: warning, allow: note) and a region giving
 * the byte span and, where known, line and code-point columns. A finding
 * inside a container (a zip member, a document part) has no region in the
 * file itself: it gets a logicalLocation named by its location
 * ("plan.zip!drafts/plan.txt", kind "member") and its span only as the
 * properties extractedStart/extractedEnd (offsets into the extracted text)
 * and snippet.
 * Items that
 * failed become error notifications of the invocation. A SARIF log is often
 * displayed to people, so snippets of personal data are masked as in text.
 *
 * Workers keep each item's results in the item's own slot; finish() builds
 * the log in item order, so the output does not depend on thread timing.
 */
#include "tool_json.h"
#include "tool_report.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define SRCROOT      "SRCROOT"

typedef struct kept_result {
    char *rule, *message, *snippet, *policy_rule;
    char *location; /* NULL: in the file's own bytes */
    guard_category category;
    guard_severity severity;
    guard_action action;
    int confidence;
    bool evasion;
    uint64_t start, end;
    tool_pos pos;
} kept_result;

typedef struct kept_item {
    const tool_item *item;
    kept_result *v;
    size_t n;
    char *error; /* NULL when the item did not fail */
    bool used;
} kept_item;

typedef struct sarif_state {
    kept_item *items;
    size_t n_items;
} sarif_state;

typedef struct rule_ref {
    const char *id;
    guard_category category;
} rule_ref;

static int sarif_open(tool_report *rp, size_t n_items)
{
    sarif_state *s = calloc(1, sizeof *s);

    if (!s)
        return -1;
    s->items = calloc(n_items ? n_items : 1, sizeof *s->items);
    if (!s->items) {
        free(s);
        return -1;
    }
    s->n_items = n_items;
    rp->priv = s;
    return 0;
}

static void free_kept(kept_item *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->v[i].rule);
        free(k->v[i].message);
        free(k->v[i].snippet);
        free(k->v[i].policy_rule);
        free(k->v[i].location);
    }
    free(k->v);
    free(k->error);
    memset(k, 0, sizeof *k);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The snippet as shown to people: personal data masked. */
static char *snippet_of(const guard_finding *f)
{
    const char *ex = f->excerpt ? f->excerpt : "";
    size_t n = strlen(ex);
    char *m;

    if (f->category != GUARD_CAT_PII)
        return strdup(ex);
    m = malloc(n + 1);
    if (m)
        guard_mask_excerpt(ex, n, m, n + 1);
    return m;
}

static int keep_finding(kept_result *k, const guard_finding *f, const tool_pos *pos)
{
    memset(k, 0, sizeof *k);
    k->rule = strdup(f->rule);
    k->message = strdup(f->explanation ? f->explanation : f->rule);
    k->snippet = snippet_of(f);
    k->policy_rule = dup_or_null(f->policy_rule);
    k->location = dup_or_null(f->location);
    k->category = f->category;
    k->severity = f->severity;
    k->action = f->action;
    k->confidence = f->confidence;
    k->evasion = f->evasion;
    k->start = f->start;
    k->end = f->end;
    if (pos)
        k->pos = *pos;
    return k->rule && k->message && k->snippet && (k->policy_rule || !f->policy_rule) &&
                   (k->location || !f->location)
               ? 0
               : -1;
}

static int sarif_item(tool_report *rp, const tool_outcome *oc, base_buf *out)
{
    sarif_state *s = rp->priv;
    kept_item *k = &s->items[oc->index];
    size_t n = oc->r ? oc->r->n_findings : 0;

    (void)out;
    k->item = oc->item;
    k->used = true;
    if (oc->error[0] && !(k->error = strdup(oc->error)))
        goto fail;
    if (!n)
        return 0;
    k->v = calloc(n, sizeof *k->v);
    if (!k->v)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        k->n++;
        if (keep_finding(&k->v[i], &oc->r->findings[i], oc->pos ? &oc->pos[i] : NULL))
            goto fail;
    }
    return 0;
fail:
    free_kept(k);
    return -1;
}

/* A URI reference for a path: percent-encoded bytes outside the unreserved
 * and sub-delimiter sets (':' too, which would read as a scheme). Absolute
 * paths become file:// URIs. */
static json_t *path_uri(const char *path, bool *relative)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path), o = 0;
    char *u = malloc(3 * n + 8);
    json_t *j;

    if (!u)
        return NULL;
    *relative = path[0] != '/';
    if (!*relative) {
        memcpy(u, "file://", 7);
        o = 7;
    }
    while (*relative && path[0] == '.' && path[1] == '/') {
        path += 2;
        while (*path == '/')
            path++;
    }
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/!$&'()*+,;=@", *p)) {
            u[o++] = (char)*p;
        } else {
            u[o++] = '%';
            u[o++] = hex[*p >> 4];
            u[o++] = hex[*p & 15];
        }
    }
    j = json_stringn(u, o);
    free(u);
    return j;
}

static json_t *artifact_location(const tool_item *it)
{
    json_t *o = json_object();
    bool relative = true;
    int rc;

    if (!o)
        return NULL;
    if (it->kind == TOOL_ITEM_STDIN) {
        rc = tool_json_set(o, "uri", json_string("stdin"));
        relative = false;
    } else {
        rc = tool_json_set(o, "uri", path_uri(it->path, &relative));
    }
    if (relative)
        rc |= tool_json_set(o, "uriBaseId", json_string(SRCROOT));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static const char *level_of(guard_action a)
{
    switch (a) {
    case GUARD_BLOCK:
    case GUARD_CONFIRM:
        return "error";
    case GUARD_MASK:
    case GUARD_WARN:
        return "warning";
    default:
        return "note";
    }
}

static json_t *region_of(const kept_result *k)
{
    json_t *r = json_object();
    int rc = 0;

    if (!r)
        return NULL;
    rc |= tool_json_set(r, "byteOffset", json_integer((json_int_t)k->start));
    rc |= tool_json_set(r, "byteLength", json_integer((json_int_t)(k->end - k->start)));
    if (k->pos.line && k->pos.ucol) {
        rc |= tool_json_set(r, "startLine", json_integer((json_int_t)k->pos.line));
        rc |= tool_json_set(r, "startColumn", json_integer((json_int_t)k->pos.ucol));
        if (k->pos.end_line && k->pos.end_ucol) {
            rc |= tool_json_set(r, "endLine", json_integer((json_int_t)k->pos.end_line));
            rc |= tool_json_set(r, "endColumn", json_integer((json_int_t)k->pos.end_ucol));
        }
    } else if (k->pos.line) {
        rc |= tool_json_set(r, "startLine", json_integer((json_int_t)k->pos.line));
    }
    if (k->snippet[0]) {
        json_t *sn = json_object();
        rc |= tool_json_set(r, "snippet", sn);
        if (sn)
            rc |= tool_json_set(sn, "text", tool_json_cstr(k->snippet));
    }
    if (rc) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static int cmp_rule(const void *a, const void *b)
{
    return strcmp(((const rule_ref *)a)->id, ((const rule_ref *)b)->id);
}

/* The distinct rule ids seen, sorted. Returns 0 or -1. */
static int collect_rules(const sarif_state *s, rule_ref **out, size_t *nout)
{
    size_t n = 0, m = 0;
    rule_ref *v;

    for (size_t i = 0; i < s->n_items; i++)
        n += s->items[i].n;
    v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < s->n_items; i++)
        for (size_t j = 0; j < s->items[i].n; j++)
            v[m++] = (rule_ref){s->items[i].v[j].rule, s->items[i].v[j].category};
    qsort(v, m, sizeof *v, cmp_rule);
    n = 0;
    for (size_t i = 0; i < m; i++)
        if (!n || strcmp(v[n - 1].id, v[i].id))
            v[n++] = v[i];
    *out = v;
    *nout = n;
    return 0;
}

static json_t *rules_json(const rule_ref *v, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n; i++) {
        json_t *r =
            json_pack("{s:s, s:{s:s}, s:{s:s}}", "id", v[i].id, "shortDescription", "text", v[i].id,
                      "properties", "category", guard_category_name(v[i].category));
        if (!r || json_array_append_new(arr, r)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static json_t *result_json(const kept_item *it, const kept_result *k, const rule_ref *rules,
                           size_t n_rules)
{
    rule_ref key = {k->rule, k->category};
    const rule_ref *ref = bsearch(&key, rules, n_rules, sizeof *rules, cmp_rule);
    json_t *phys = json_object(), *loc = json_object(), *locs = json_array();
    json_t *props = json_object(), *res = json_object();
    int rc = !phys || !loc || !locs || !props || !res;

    if (!rc) {
        rc |= tool_json_set(phys, "artifactLocation", artifact_location(it->item));
        if (!k->location)
            rc |= tool_json_set(phys, "region", region_of(k));
        rc |= json_object_set(loc, "physicalLocation", phys);
        if (k->location) {
            rc |= tool_json_set(loc, "logicalLocations",
                                json_pack("[{s:o, s:s}]", "fullyQualifiedName",
                                          tool_json_cstr(k->location), "kind", "member"));
            rc |= tool_json_set(props, "location", tool_json_cstr(k->location));
            rc |= tool_json_set(props, "extractedStart", json_integer((json_int_t)k->start));
            rc |= tool_json_set(props, "extractedEnd", json_integer((json_int_t)k->end));
            rc |= tool_json_set(props, "snippet", tool_json_cstr(k->snippet));
        }
        rc |= json_array_append(locs, loc);
        rc |= tool_json_set(props, "category", json_string(guard_category_name(k->category)));
        rc |= tool_json_set(props, "severity", json_string(guard_severity_name(k->severity)));
        rc |= tool_json_set(props, "confidence", json_integer(k->confidence));
        rc |= tool_json_set(props, "action", json_string(guard_action_name(k->action)));
        rc |= tool_json_set(props, "policy_rule", tool_json_cstr(k->policy_rule));
        rc |= tool_json_set(props, "evasion", json_boolean(k->evasion));
        rc |= tool_json_set(res, "ruleId", tool_json_cstr(k->rule));
        if (ref)
            rc |= tool_json_set(res, "ruleIndex", json_integer((json_int_t)(ref - rules)));
        rc |= tool_json_set(res, "level", json_string(level_of(k->action)));
        rc |= tool_json_set(res, "message", json_pack("{s:o}", "text", tool_json_cstr(k->message)));
        rc |= json_object_set(res, "locations", locs);
        rc |= json_object_set(res, "properties", props);
    }
    json_decref(phys);
    json_decref(loc);
    json_decref(locs);
    json_decref(props);
    if (rc) {
        json_decref(res);
        return NULL;
    }
    return res;
}

static json_t *notification_json(const kept_item *it)
{
    const char *shown = tool_item_display(it->item);
    size_t n = strlen(shown) + strlen(it->error) + 3;
    char *text = malloc(n);
    json_t *j = NULL;

    if (!text)
        return NULL;
    snprintf(text, n, "%s: %s", shown, it->error);
    j = json_pack("{s:s, s:{s:o}, s:[{s:{s:o}}]}", "level", "error", "message", "text",
                  tool_json_cstr(text), "locations", "physicalLocation", "artifactLocation",
                  artifact_location(it->item));
    free(text);
    return j;
}

/* run.originalUriBaseIds: relative URIs are relative to the directory the
 * scan ran in. */
static json_t *base_ids(void)
{
    char cwd[4096];
    bool relative;
    json_t *uri, *slash, *o;
    const char *u;

    if (!getcwd(cwd, sizeof cwd))
        return json_object();
    uri = path_uri(cwd, &relative);
    if (!uri)
        return NULL;
    u = json_string_value(uri);
    slash = json_sprintf("%s%s", u, u[strlen(u) - 1] == '/' ? "" : "/");
    json_decref(uri);
    if (!slash)
        return NULL;
    o = json_pack("{s:{s:o}}", SRCROOT, "uri", slash);
    return o;
}

static int sarif_finish(tool_report *rp, FILE *f)
{
    sarif_state *s = rp->priv;
    rule_ref *rules = NULL;
    size_t n_rules = 0;
    json_t *results = json_array(), *notes = json_array(), *log = NULL;
    int rc = -1;

    if (!results || !notes || collect_rules(s, &rules, &n_rules))
        goto out;
    for (size_t i = 0; i < s->n_items; i++) {
        const kept_item *it = &s->items[i];
        if (!it->used)
            continue;
        for (size_t j = 0; j < it->n; j++)
            if (json_array_append_new(results, result_json(it, &it->v[j], rules, n_rules)))
                goto out;
        if (it->error && json_array_append_new(notes, notification_json(it)))
            goto out;
    }
    log = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:o}}, s:s, s:o, s:O, s:[{s:b, s:O}]}]}",
                    "$schema", SARIF_SCHEMA, "version", "2.1.0", "runs", "tool", "driver", "name",
                    "cordon", "version", CORDON_VERSION, "rules", rules_json(rules, n_rules),
                    "columnKind", "unicodeCodePoints", "originalUriBaseIds", base_ids(), "results",
                    results, "invocations", "executionSuccessful", json_array_size(notes) == 0,
                    "toolExecutionNotifications", notes);
    if (!log)
        goto out;
    if (json_dumpf(log, f, JSON_INDENT(2)) || fputc('\n', f) == EOF)
        goto out;
    rc = 0;
out:
    json_decref(log);
    json_decref(results);
    json_decref(notes);
    free(rules);
    return rc;
}

static void sarif_close(tool_report *rp)
{
    sarif_state *s = rp->priv;

    if (!s)
        return;
    for (size_t i = 0; i < s->n_items; i++)
        free_kept(&s->items[i]);
    free(s->items);
    free(s);
    rp->priv = NULL;
}

const tool_format tool_format_sarif = {
    .name = "sarif",
    .open = sarif_open,
    .item = sarif_item,
    .finish = sarif_finish,
    .close = sarif_close,
};
