/*
 * guard_policy.c — policy parsing and evaluation (see guard_policy.h and
 * docs/POLICY.md).
 *
 * Parsing happens in two steps. libyaml's event parser feeds a small tree of
 * our own (scalars, sequences, mappings, each with its line); anchors, aliases
 * and tags are refused at the event level, so an alias bomb never expands, and
 * the tree is capped in nodes and depth. The tree is then walked against the
 * fixed schema, which reports every mistake as "origin:line: what is wrong".
 * The policy is admin input, but a typo must never silently weaken it, hence
 * the strictness: unknown keys, wrong types and unknown names are errors.
 *
 * Evaluation is a plain loop over the rules in file order; the number of
 * findings per item is capped by the scan (settings.findings_cap), so its cost
 * is bounded by rules x findings x globs.
 */
#include "guard_policy.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <yaml.h>

/* Limits on a policy file. Generous for any real policy, small enough that a
 * broken or hostile file cannot exhaust memory. */
#define POLICY_MAX_BYTES  ((size_t)4 * 1024 * 1024)
#define POLICY_MAX_NODES  262144u
#define POLICY_MAX_DEPTH  16
#define POLICY_MAX_RULES  10000
#define POLICY_MAX_GLOBS  256
#define POLICY_MAX_ID     128
#define POLICY_MAX_STRING 4096
#define POLICY_MAX_DOMAIN 253
#define POLICY_MAX_COUNT  1000000000u

/* Bounds on settings: beyond them a value is a typo, not a choice. */
#define SETTINGS_MAX_FINDINGS_CAP 1000000u
#define SETTINGS_MAX_CONTEXT      4096u
/* Block scans hold the message and its view in memory and hand Hyperscan a
 * 32-bit length; anything larger is streamed (guard_stream_*). */
#define SETTINGS_MAX_MESSAGE   ((uint64_t)1024 * 1024 * 1024)
#define SETTINGS_MAX_KW_WINDOW 100000u
/* Bounds on the file layer's limits (docs/FILES.md). */
#define LIMITS_MAX_BYTES   ((uint64_t)1 << 40) /* 1 TiB */
#define LIMITS_MAX_MEMBER  ((uint64_t)4 << 30) /* a member is held in memory */
#define LIMITS_MAX_RATIO   1000000u
#define LIMITS_MAX_ENTRIES 10000000u
#define LIMITS_MAX_DEPTH   32u /* the worker keeps 64 location levels */
#define LIMITS_MAX_PIXELS  ((uint64_t)1 << 36)
#define LIMITS_MAX_MS      86400000u            /* a day */
#define LIMITS_MIN_MEMORY  ((uint64_t)64 << 20) /* below this no worker starts */

extern const char guard_default_policy_yaml[];
extern const size_t guard_default_policy_yaml_len;

/* ---- names ------------------------------------------------------------- */

static const char *const category_names[GUARD_CAT_COUNT] = {
    "marking", "lexicon", "pii", "secret", "link", "metadata", "image", "uninspectable",
};
static const char *const severity_names[GUARD_SEV_COUNT] = {
    "info", "low", "medium", "high", "critical",
};
static const char *const action_names[GUARD_ACTION_COUNT] = {
    "allow", "warn", "mask", "confirm", "block",
};

static int lookup(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

int guard_category_from_name(const char *s)
{
    return lookup(category_names, GUARD_CAT_COUNT, s);
}

int guard_severity_from_name(const char *s)
{
    return lookup(severity_names, GUARD_SEV_COUNT, s);
}

int guard_action_from_name(const char *s)
{
    return lookup(action_names, GUARD_ACTION_COUNT, s);
}

/* ---- the YAML tree --------------------------------------------------------- */

#define NONE UINT32_MAX

typedef enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP } ynode_kind;

/* Children are a linked list of indices into the node array (mappings hold
 * key, value, key, value ...), so growing the array never invalidates them. */
typedef struct ynode {
    ynode_kind kind;
    bool plain;  /* scalar written without quotes: may be a number, bool, null */
    size_t line; /* 1-based */
    char *str;   /* scalar text, NUL-terminated, no NUL inside */
    size_t len;
    uint32_t first, next;
} ynode;

typedef struct pctx {
    const char *origin;
    guard_error *err;
    ynode *nodes;
    size_t n, cap;
} pctx;

static void set_err(guard_error *err, guard_err code, const char *msg)
{
    if (!err)
        return;
    err->code = code;
    snprintf(err->message, sizeof err->message, "%s", msg);
}

/* Reports a parse error at `line` and returns GUARD_EPARSE. */
__attribute__((format(printf, 3, 4))) static guard_err perr(pctx *c, size_t line, const char *fmt,
                                                            ...)
{
    char msg[sizeof c->err->message];
    va_list ap;
    int n;

    if (!c->err)
        return GUARD_EPARSE;
    n = snprintf(msg, sizeof msg, "%s:%zu: ", c->origin, line);
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    set_err(c->err, GUARD_EPARSE, msg);
    return GUARD_EPARSE;
}

static guard_err enomem(pctx *c)
{
    set_err(c->err, GUARD_ENOMEM, "out of memory");
    return GUARD_ENOMEM;
}

static void tree_free(pctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->nodes[i].str);
    free(c->nodes);
    c->nodes = NULL;
    c->n = c->cap = 0;
}

/* One open container while the tree is built. */
typedef struct frame {
    uint32_t node, last; /* the container and its last child so far */
} frame;

static guard_err node_add(pctx *c, ynode_kind kind, size_t line, uint32_t *out)
{
    if (c->n >= POLICY_MAX_NODES)
        return perr(c, line, "policy too large (more than %u YAML nodes)", POLICY_MAX_NODES);
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        ynode *q = realloc(c->nodes, nc * sizeof *q);
        if (!q)
            return enomem(c);
        c->nodes = q;
        c->cap = nc;
    }
    memset(&c->nodes[c->n], 0, sizeof c->nodes[c->n]);
    c->nodes[c->n].kind = kind;
    c->nodes[c->n].line = line;
    c->nodes[c->n].first = NONE;
    c->nodes[c->n].next = NONE;
    *out = (uint32_t)c->n++;
    return GUARD_OK;
}

static void node_link(pctx *c, frame *parent, uint32_t child)
{
    if (parent->last == NONE)
        c->nodes[parent->node].first = child;
    else
        c->nodes[parent->last].next = child;
    parent->last = child;
}

/* Anchors and tags are refused wherever they appear: aliases are the only use
 * of anchors and can blow a small file up exponentially; tags have no meaning
 * in this schema. */
static guard_err check_props(pctx *c, size_t line, const yaml_char_t *anchor,
                             const yaml_char_t *tag)
{
    if (anchor)
        return perr(c, line, "anchors and aliases are not allowed in a policy");
    if (tag)
        return perr(c, line, "YAML tags are not allowed in a policy");
    return GUARD_OK;
}

static guard_err tree_build(pctx *c, const char *yaml, size_t len, uint32_t *root)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    frame stack[POLICY_MAX_DEPTH];
    size_t depth = 0;
    int docs = 0;
    bool done = false, have_ev = false;
    guard_err rc = GUARD_EPARSE;

    *root = NONE;
    if (!yaml_parser_initialize(&parser))
        return enomem(c);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);

    while (!done) {
        size_t line;
        uint32_t id = NONE;
        const yaml_char_t *anchor = NULL, *tag = NULL;
        ynode_kind kind;

        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR)
                rc = enomem(c);
            else
                rc = perr(c, parser.problem_mark.line + 1, "%s%s%s",
                          parser.problem ? parser.problem : "malformed YAML",
                          parser.context ? " " : "", parser.context ? parser.context : "");
            goto fail;
        }
        have_ev = true;
        line = ev.start_mark.line + 1;

        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                rc = perr(c, line, "a policy file holds exactly one YAML document");
                goto fail;
            }
            break;
        case YAML_ALIAS_EVENT:
            rc = perr(c, line, "anchors and aliases are not allowed in a policy");
            goto fail;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (ev.type == YAML_SCALAR_EVENT) {
                kind = YN_SCALAR;
                anchor = ev.data.scalar.anchor;
                tag = ev.data.scalar.tag;
            } else if (ev.type == YAML_SEQUENCE_START_EVENT) {
                kind = YN_SEQ;
                anchor = ev.data.sequence_start.anchor;
                tag = ev.data.sequence_start.tag;
            } else {
                kind = YN_MAP;
                anchor = ev.data.mapping_start.anchor;
                tag = ev.data.mapping_start.tag;
            }
            rc = check_props(c, line, anchor, tag);
            if (rc)
                goto fail;
            rc = node_add(c, kind, line, &id);
            if (rc)
                goto fail;
            if (depth > 0)
                node_link(c, &stack[depth - 1], id);
            else
                *root = id;
            if (kind == YN_SCALAR) {
                ynode *nd = &c->nodes[id];
                if (ev.data.scalar.length > POLICY_MAX_STRING) {
                    rc = perr(c, line, "string too long (more than %d bytes)", POLICY_MAX_STRING);
                    goto fail;
                }
                if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
                    rc = perr(c, line, "NUL character in a string");
                    goto fail;
                }
                nd->str = malloc(ev.data.scalar.length + 1);
                if (!nd->str) {
                    rc = enomem(c);
                    goto fail;
                }
                memcpy(nd->str, ev.data.scalar.value, ev.data.scalar.length);
                nd->str[ev.data.scalar.length] = '\0';
                nd->len = ev.data.scalar.length;
                nd->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            } else {
                if (depth == POLICY_MAX_DEPTH) {
                    rc = perr(c, line, "nesting too deep (more than %d levels)", POLICY_MAX_DEPTH);
                    goto fail;
                }
                stack[depth].node = id;
                stack[depth].last = NONE;
                depth++;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        have_ev = false;
    }
    rc = GUARD_OK;
fail:
    if (have_ev)
        yaml_event_delete(&ev);
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- typed access to the tree ---------------------------------------------- */

static ynode *N(pctx *c, uint32_t i)
{
    return &c->nodes[i];
}

static const char *kind_name(const ynode *n)
{
    switch (n->kind) {
    case YN_SEQ:
        return "a list";
    case YN_MAP:
        return "a mapping";
    default:
        return "a scalar";
    }
}

static bool is_null(const ynode *n)
{
    return n->kind == YN_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
            strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0);
}

/* Checks that `map` is a mapping whose keys are all among keys[0..nkeys),
 * each at most once, and stores each key's value node in vals[] (NONE when
 * absent). */
static guard_err map_fields(pctx *c, uint32_t map, const char *what, const char *const *keys,
                            size_t nkeys, uint32_t *vals)
{
    for (size_t k = 0; k < nkeys; k++)
        vals[k] = NONE;
    if (N(c, map)->kind != YN_MAP)
        return perr(c, N(c, map)->line, "%s must be a mapping, not %s", what, kind_name(N(c, map)));
    for (uint32_t k = N(c, map)->first; k != NONE && N(c, k)->next != NONE;
         k = N(c, N(c, k)->next)->next) {
        const ynode *key = N(c, k);
        size_t i;
        if (key->kind != YN_SCALAR)
            return perr(c, key->line, "keys in %s must be plain names", what);
        for (i = 0; i < nkeys; i++)
            if (strcmp(keys[i], key->str) == 0)
                break;
        if (i == nkeys)
            return perr(c, key->line, "unknown key '%.64s' in %s", key->str, what);
        if (vals[i] != NONE)
            return perr(c, key->line, "duplicate key '%s' in %s", keys[i], what);
        vals[i] = key->next;
    }
    return GUARD_OK;
}

static guard_err get_string(pctx *c, uint32_t i, const char *field, size_t max, char **out)
{
    const ynode *n = N(c, i);
    char *s;
    if (n->kind != YN_SCALAR || is_null(n) || n->len == 0)
        return perr(c, n->line, "%s must be a non-empty string", field);
    if (n->len > max)
        return perr(c, n->line, "%s is too long (at most %zu bytes)", field, max);
    s = strdup(n->str);
    if (!s)
        return enomem(c);
    *out = s;
    return GUARD_OK;
}

/* Unsigned decimal integers only: a quoted "70" or 7e1 is a typo to report. */
static guard_err get_uint(pctx *c, uint32_t i, const char *field, uint64_t min, uint64_t max,
                          uint64_t *out)
{
    const ynode *n = N(c, i);
    uint64_t v = 0;
    if (n->kind != YN_SCALAR || !n->plain || n->len == 0)
        goto bad;
    for (size_t k = 0; k < n->len; k++) {
        unsigned d = (unsigned char)n->str[k] - '0';
        if (d > 9)
            goto bad;
        if (v > (UINT64_MAX - d) / 10)
            return perr(c, n->line, "%s: number out of range (%" PRIu64 "..%" PRIu64 ")", field,
                        min, max);
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return perr(c, n->line, "%s: number out of range (%" PRIu64 "..%" PRIu64 ")", field, min,
                    max);
    *out = v;
    return GUARD_OK;
bad:
    if (n->kind != YN_SCALAR)
        return perr(c, n->line, "%s must be a whole number, not %s", field, kind_name(n));
    return perr(c, n->line, "%s must be a whole number, not '%.64s'%s", field, n->str,
                n->plain ? "" : " (write numbers without quotes)");
}

static guard_err get_bool(pctx *c, uint32_t i, const char *field, bool *out)
{
    const ynode *n = N(c, i);
    static const char *const yes[] = {"true", "True", "TRUE"};
    static const char *const no[] = {"false", "False", "FALSE"};
    if (n->kind == YN_SCALAR && n->plain) {
        for (size_t k = 0; k < 3; k++) {
            if (strcmp(n->str, yes[k]) == 0) {
                *out = true;
                return GUARD_OK;
            }
            if (strcmp(n->str, no[k]) == 0) {
                *out = false;
                return GUARD_OK;
            }
        }
    }
    return perr(c, n->line, "%s must be true or false", field);
}

/* A name from a fixed table; the message lists the valid ones. */
static guard_err get_name(pctx *c, uint32_t i, const char *field, const char *const *names,
                          int n_names, int *out)
{
    const ynode *n = N(c, i);
    char list[256];
    size_t used = 0;
    int v;
    if (n->kind != YN_SCALAR)
        return perr(c, n->line, "%s must be a name, not %s", field, kind_name(n));
    v = lookup(names, n_names, n->str);
    if (v >= 0) {
        *out = v;
        return GUARD_OK;
    }
    list[0] = '\0';
    for (int k = 0; k < n_names && used < sizeof list; k++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", names[k]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return perr(c, n->line, "unknown %s '%.64s' (expected one of: %s)", field, n->str, list);
}

/* Calls `each` for a single scalar or for every item of a list of scalars.
 * An explicit empty list is allowed only when `allow_empty`. */
typedef guard_err (*item_fn)(pctx *c, uint32_t item, void *arg);

static guard_err for_each_item(pctx *c, uint32_t i, const char *field, bool allow_empty,
                               item_fn each, void *arg)
{
    const ynode *n = N(c, i);
    guard_err rc;
    if (n->kind == YN_MAP)
        return perr(c, n->line, "%s must be a string or a list of strings", field);
    if (n->kind == YN_SCALAR && !is_null(n))
        return each(c, i, arg);
    if (n->kind == YN_SEQ && n->first != NONE) {
        for (uint32_t k = n->first; k != NONE; k = N(c, k)->next) {
            if (N(c, k)->kind != YN_SCALAR)
                return perr(c, N(c, k)->line, "items of %s must be strings", field);
            rc = each(c, k, arg);
            if (rc)
                return rc;
        }
        return GUARD_OK;
    }
    if (!allow_empty)
        return perr(c, n->line, "%s must not be empty", field);
    return GUARD_OK;
}

/* ---- settings -------------------------------------------------------------- */

static bool domain_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* Lowercase ASCII with labels of 1..63 letters, digits, '-' or '_'. Underscores
 * are not valid in host names but do occur in real ones. */
static bool domain_valid(const char *d, size_t len)
{
    size_t label = 0;
    if (len == 0 || len > POLICY_MAX_DOMAIN)
        return false;
    for (size_t k = 0; k <= len; k++) {
        if (k == len || d[k] == '.') {
            if (label == 0 || label > 63 || d[k - 1] == '-' || d[k - label] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!domain_char_ok(d[k]))
            return false;
        label++;
    }
    return true;
}

typedef struct domain_arg {
    guard_strlist *l;
    const char *field;
} domain_arg;

/* Normalises one domain entry (lowercase, IDN to punycode, no trailing dot)
 * and appends it to the list. */
static guard_err add_domain(pctx *c, uint32_t i, void *argp)
{
    domain_arg *a = argp;
    const ynode *n = N(c, i);
    char *d = NULL, *idn = NULL;
    char **v;
    size_t len;
    bool ascii = true;
    guard_err rc;

    if (is_null(n) || n->len == 0)
        return perr(c, n->line, "%s: empty domain", a->field);
    for (size_t k = 0; k < n->len; k++)
        if ((unsigned char)n->str[k] >= 0x80)
            ascii = false;
    if (ascii) {
        d = strdup(n->str);
    } else {
        int irc = idn2_to_ascii_8z(n->str, &idn, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (irc != IDN2_OK) {
            rc = perr(c, n->line, "%s: invalid domain '%.64s' (%s)", a->field, n->str,
                      idn2_strerror(irc));
            goto fail;
        }
        d = strdup(idn);
    }
    if (!d) {
        rc = enomem(c);
        goto fail;
    }
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    len = strlen(d);
    if (len > 1 && d[len - 1] == '.')
        d[--len] = '\0';
    if (!domain_valid(d, len)) {
        rc = perr(c, n->line,
                  "%s: invalid domain '%.64s' (write a bare host name; subdomains always "
                  "match)",
                  a->field, n->str);
        goto fail;
    }
    v = realloc(a->l->v, (a->l->n + 1) * sizeof *v);
    if (!v) {
        rc = enomem(c);
        goto fail;
    }
    a->l->v = v;
    v[a->l->n++] = d;
    idn2_free(idn);
    return GUARD_OK;
fail:
    idn2_free(idn);
    free(d);
    return rc;
}

static guard_err parse_domains(pctx *c, uint32_t i, const char *field, guard_strlist *out)
{
    domain_arg a = {out, field};
    return for_each_item(c, i, field, true, add_domain, &a);
}

static guard_err parse_links(pctx *c, uint32_t map, guard_settings *s)
{
    static const char *const keys[] = {"internal_domains", "allow_domains", "block_domains",
                                       "shorteners"};
    guard_strlist *lists[] = {&s->internal_domains, &s->allow_domains, &s->block_domains,
                              &s->shorteners};
    uint32_t v[4];
    guard_err rc = map_fields(c, map, "settings.links", keys, 4, v);
    if (rc)
        return rc;
    for (size_t k = 0; k < 4; k++) {
        if (v[k] == NONE)
            continue;
        /* a policy's list replaces the built-in one (only shorteners have one) */
        for (size_t j = 0; j < lists[k]->n; j++)
            free(lists[k]->v[j]);
        free(lists[k]->v);
        lists[k]->v = NULL;
        lists[k]->n = 0;
        rc = parse_domains(c, v[k], keys[k], lists[k]);
        if (rc)
            return rc;
    }
    return GUARD_OK;
}

/* settings.limits: the file layer's limits; every key optional. */
static guard_err parse_limits(pctx *c, uint32_t map, guard_limits *l)
{
    static const char *const keys[] = {"file_bytes", "unpacked_bytes", "member_bytes", "ratio",
                                       "entries",    "depth",          "pixels",       "ocr_ms",
                                       "total_ms",   "memory_bytes",   "ocr"};
    uint64_t *u64[] = {
        &l->file_bytes, &l->unpacked_bytes, &l->member_bytes, NULL, NULL, NULL, &l->pixels, NULL,
        NULL,           &l->memory_bytes};
    uint32_t *u32[] = {NULL,      NULL, NULL,       &l->ratio,    &l->entries,
                       &l->depth, NULL, &l->ocr_ms, &l->total_ms, NULL};
    static const uint64_t lo[] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 0};
    static const uint64_t hi[] = {LIMITS_MAX_BYTES,  LIMITS_MAX_BYTES,   LIMITS_MAX_MEMBER,
                                  LIMITS_MAX_RATIO,  LIMITS_MAX_ENTRIES, LIMITS_MAX_DEPTH,
                                  LIMITS_MAX_PIXELS, LIMITS_MAX_MS,      LIMITS_MAX_MS,
                                  LIMITS_MAX_BYTES};
    uint32_t v[11];
    uint64_t x;
    guard_err rc = map_fields(c, map, "settings.limits", keys, 11, v);
    if (rc)
        return rc;
    for (size_t k = 0; k < 10; k++) {
        if (v[k] == NONE)
            continue;
        if ((rc = get_uint(c, v[k], keys[k], lo[k], hi[k], &x)))
            return rc;
        /* a worker below this cannot even load its libraries: a typo */
        if (u64[k] == &l->memory_bytes && x && x < LIMITS_MIN_MEMORY)
            return perr(c, N(c, v[k])->line,
                        "memory_bytes: at least %" PRIu64 " (64 MiB), or 0 for no limit",
                        LIMITS_MIN_MEMORY);
        if (u64[k])
            *u64[k] = x;
        else
            *u32[k] = (uint32_t)x;
    }
    if (v[10] != NONE && (rc = get_bool(c, v[10], "ocr", &l->ocr)))
        return rc;
    return GUARD_OK;
}

static guard_err parse_settings(pctx *c, uint32_t map, guard_settings *s)
{
    static const char *const keys[] = {"findings_cap",   "excerpt_context", "max_message_bytes",
                                       "keyword_window", "links",           "limits"};
    uint32_t v[6];
    uint64_t x;
    guard_err rc = map_fields(c, map, "settings", keys, 6, v);
    if (rc)
        return rc;
    if (v[0] != NONE) {
        if ((rc = get_uint(c, v[0], "findings_cap", 1, SETTINGS_MAX_FINDINGS_CAP, &x)))
            return rc;
        s->findings_cap = (size_t)x;
    }
    if (v[1] != NONE) {
        if ((rc = get_uint(c, v[1], "excerpt_context", 0, SETTINGS_MAX_CONTEXT, &x)))
            return rc;
        s->excerpt_context = (size_t)x;
    }
    if (v[2] != NONE) {
        if ((rc = get_uint(c, v[2], "max_message_bytes", 1, SETTINGS_MAX_MESSAGE, &x)))
            return rc;
        s->max_message_bytes = x;
    }
    if (v[3] != NONE) {
        if ((rc = get_uint(c, v[3], "keyword_window", 0, SETTINGS_MAX_KW_WINDOW, &x)))
            return rc;
        s->keyword_window = (unsigned)x;
    }
    if (v[4] != NONE && !is_null(N(c, v[4])) && (rc = parse_links(c, v[4], s)))
        return rc;
    if (v[5] != NONE && !is_null(N(c, v[5])))
        return parse_limits(c, v[5], &s->limits);
    return GUARD_OK;
}

/* ---- rules ----------------------------------------------------------------- */

static void rule_free(guard_policy_rule *r)
{
    if (r->with) {
        rule_free(r->with);
        free(r->with);
    }
    free(r->id);
    free(r->description);
    for (size_t k = 0; k < r->n_rule_globs; k++)
        free(r->rule_globs[k]);
    free(r->rule_globs);
    memset(r, 0, sizeof *r);
}

static guard_err add_category(pctx *c, uint32_t i, void *arg)
{
    guard_policy_rule *r = arg;
    int cat;
    guard_err rc = get_name(c, i, "category", category_names, GUARD_CAT_COUNT, &cat);
    if (rc)
        return rc;
    r->categories |= 1u << cat;
    return GUARD_OK;
}

static guard_err add_glob(pctx *c, uint32_t i, void *arg)
{
    guard_policy_rule *r = arg;
    char *g = NULL;
    char **v;
    guard_err rc;
    if (r->n_rule_globs == POLICY_MAX_GLOBS)
        return perr(c, N(c, i)->line, "too many rule patterns (at most %d)", POLICY_MAX_GLOBS);
    rc = get_string(c, i, "rule", 256, &g);
    if (rc)
        return rc;
    v = realloc(r->rule_globs, (r->n_rule_globs + 1) * sizeof *v);
    if (!v) {
        free(g);
        return enomem(c);
    }
    r->rule_globs = v;
    v[r->n_rule_globs++] = g;
    return GUARD_OK;
}

static guard_err parse_match(pctx *c, uint32_t map, guard_policy_rule *r)
{
    static const char *const keys[] = {"category", "rule",    "min_severity", "min_confidence",
                                       "scope",    "evasion", "min_count"};
    static const char *const scopes[] = {"internal", "external", "inbound"};
    uint32_t v[7];
    uint64_t x;
    int e;
    bool b = false;
    guard_err rc = map_fields(c, map, "match", keys, 7, v);
    if (rc)
        return rc;
    if (v[0] != NONE && (rc = for_each_item(c, v[0], "category", false, add_category, r)))
        return rc;
    if (v[1] != NONE && (rc = for_each_item(c, v[1], "rule", false, add_glob, r)))
        return rc;
    if (v[2] != NONE) {
        if ((rc = get_name(c, v[2], "severity", severity_names, GUARD_SEV_COUNT, &e)))
            return rc;
        r->min_severity = (guard_severity)e;
    }
    if (v[3] != NONE) {
        if ((rc = get_uint(c, v[3], "min_confidence", 0, 100, &x)))
            return rc;
        r->min_confidence = (int)x;
    }
    if (v[4] != NONE) {
        if ((rc = get_name(c, v[4], "scope", scopes, 3, &e)))
            return rc;
        r->scope = e == 0   ? GUARD_SCOPE_INTERNAL
                   : e == 1 ? GUARD_SCOPE_EXTERNAL
                            : GUARD_SCOPE_INBOUND;
    }
    if (v[5] != NONE) {
        if ((rc = get_bool(c, v[5], "evasion", &b)))
            return rc;
        r->evasion = b ? 1 : 0;
    }
    if (v[6] != NONE) {
        if ((rc = get_uint(c, v[6], "min_count", 1, POLICY_MAX_COUNT, &x)))
            return rc;
        r->min_count = (size_t)x;
    }
    return GUARD_OK;
}

/* Rule ids appear in logs, audit records and client messages: printable
 * ASCII without spaces keeps them safe to show anywhere. */
static bool id_valid(const char *s)
{
    for (; *s; s++)
        if (*s <= ' ' || *s >= 0x7f)
            return false;
    return true;
}

static void rule_init(guard_policy_rule *r)
{
    memset(r, 0, sizeof *r);
    r->min_severity = GUARD_SEV_INFO;
    r->scope = -1;
    r->evasion = -1;
    r->min_count = 1;
}

/* `with:` the conditions of a corroborating finding: those of `match` that
 * judge one finding (scope and min_count belong to the rule). */
static guard_err parse_with(pctx *c, uint32_t map, guard_policy_rule *r)
{
    guard_err rc;
    if (N(c, map)->kind != YN_MAP)
        return perr(c, N(c, map)->line, "with must be a mapping of finding conditions, not %s",
                    kind_name(N(c, map)));
    r->with = malloc(sizeof *r->with);
    if (!r->with)
        return enomem(c);
    rule_init(r->with);
    if ((rc = parse_match(c, map, r->with)))
        return rc;
    if (r->with->scope >= 0 || r->with->min_count != 1)
        return perr(c, N(c, map)->line,
                    "with takes finding conditions only (scope and min_count belong in match)");
    return GUARD_OK;
}

static guard_err parse_rule(pctx *c, uint32_t map, const guard_policy *p, guard_policy_rule *r)
{
    static const char *const keys[] = {"id", "description", "match", "action", "with"};
    uint32_t v[5];
    int a;
    guard_err rc;

    rule_init(r);
    if (N(c, map)->kind != YN_MAP)
        return perr(c, N(c, map)->line, "a rule must be a mapping (id, match, action), not %s",
                    kind_name(N(c, map)));
    if ((rc = map_fields(c, map, "a rule", keys, 5, v)))
        return rc;
    if (v[0] == NONE)
        return perr(c, N(c, map)->line, "rule without an id");
    if ((rc = get_string(c, v[0], "id", POLICY_MAX_ID, &r->id)))
        return rc;
    if (!id_valid(r->id))
        return perr(c, N(c, v[0])->line, "rule id '%.64s' must be printable ASCII without spaces",
                    r->id);
    for (size_t k = 0; k < p->n_rules; k++)
        if (strcmp(p->rules[k].id, r->id) == 0)
            return perr(c, N(c, v[0])->line, "duplicate rule id '%s'", r->id);
    if (v[1] != NONE && !is_null(N(c, v[1])) &&
        (rc = get_string(c, v[1], "description", POLICY_MAX_STRING, &r->description)))
        return rc;
    if (v[2] != NONE && !is_null(N(c, v[2])) && (rc = parse_match(c, v[2], r)))
        return rc;
    if (v[3] == NONE)
        return perr(c, N(c, map)->line, "rule '%s' has no action", r->id);
    if ((rc = get_name(c, v[3], "action", action_names, GUARD_ACTION_COUNT, &a)))
        return rc;
    r->action = (guard_action)a;
    if (v[4] != NONE && (rc = parse_with(c, v[4], r)))
        return rc;
    return GUARD_OK;
}

static guard_err parse_rules(pctx *c, uint32_t seq, guard_policy *p)
{
    size_t n = 0;
    guard_err rc;
    if (is_null(N(c, seq)))
        return GUARD_OK;
    if (N(c, seq)->kind != YN_SEQ)
        return perr(c, N(c, seq)->line, "rules must be a list, not %s", kind_name(N(c, seq)));
    for (uint32_t k = N(c, seq)->first; k != NONE; k = N(c, k)->next)
        n++;
    if (n > POLICY_MAX_RULES)
        return perr(c, N(c, seq)->line, "too many rules (at most %d)", POLICY_MAX_RULES);
    if (n == 0)
        return GUARD_OK;
    p->rules = calloc(n, sizeof *p->rules);
    if (!p->rules)
        return enomem(c);
    for (uint32_t k = N(c, seq)->first; k != NONE; k = N(c, k)->next) {
        rc = parse_rule(c, k, p, &p->rules[p->n_rules]);
        if (rc) {
            rule_free(&p->rules[p->n_rules]);
            return rc;
        }
        p->n_rules++;
    }
    return GUARD_OK;
}

/* `warnings:` — the early-warning thresholds (docs/POLICY.md). A week of
 * minutes and a million attempts bound what a typo can ask for. */
static guard_err parse_warnings(pctx *c, uint32_t map, guard_warnings *w)
{
    static const char *const keys[] = {"spread_conversations",   "spread_minutes",
                                       "attempts_per_day",       "external_after_minutes",
                                       "bulk_personal_findings", "bulk_personal_minutes"};
    static const uint64_t max[] = {100000, 7 * 24 * 60, 1000000, 7 * 24 * 60, 1000000, 7 * 24 * 60};
    uint32_t *dst[] = {&w->spread_conversations,   &w->spread_minutes,
                       &w->attempts_per_day,       &w->external_after_minutes,
                       &w->bulk_personal_findings, &w->bulk_personal_minutes};
    uint32_t v[6];
    uint64_t x;
    guard_err rc = map_fields(c, map, "warnings", keys, 6, v);

    if (rc)
        return rc;
    for (size_t k = 0; k < 6; k++) {
        if (v[k] == NONE)
            continue;
        if ((rc = get_uint(c, v[k], keys[k], 0, max[k], &x)))
            return rc;
        *dst[k] = (uint32_t)x;
    }
    return GUARD_OK;
}

static guard_err parse_root(pctx *c, uint32_t root, guard_policy *p)
{
    static const char *const keys[] = {"version", "name", "settings", "rules", "warnings"};
    uint32_t v[5];
    uint64_t version;
    guard_err rc;

    if (root == NONE || is_null(N(c, root)))
        return perr(c, 1, "empty policy");
    if ((rc = map_fields(c, root, "the policy", keys, 5, v)))
        return rc;
    if (v[0] == NONE)
        return perr(c, N(c, root)->line, "missing 'version: 1'");
    if ((rc = get_uint(c, v[0], "version", 0, UINT64_MAX, &version)))
        return rc;
    if (version != 1)
        return perr(c, N(c, v[0])->line,
                    "unsupported policy version %" PRIu64 " (this build reads version 1)", version);
    if (v[1] != NONE) {
        if ((rc = get_string(c, v[1], "name", POLICY_MAX_ID, &p->name)))
            return rc;
    } else if (!(p->name = strdup("unnamed"))) {
        return enomem(c);
    }
    if (v[2] != NONE && !is_null(N(c, v[2])) && (rc = parse_settings(c, v[2], &p->settings)))
        return rc;
    if (v[4] != NONE && !is_null(N(c, v[4])) &&
        (rc = parse_warnings(c, v[4], &p->settings.warnings)))
        return rc;
    if (v[3] == NONE)
        return perr(c, N(c, root)->line, "missing 'rules'");
    return parse_rules(c, v[3], p);
}

/* ---- public API ------------------------------------------------------------ */

guard_err guard_policy_parse(const char *yaml, size_t len, const char *origin, guard_policy *out,
                             guard_error *err)
{
    guard_policy p;
    pctx c = {.origin = origin ? origin : "policy", .err = err};
    uint32_t root;
    guard_err rc;

    memset(&p, 0, sizeof p);
    if (!yaml || !out) {
        set_err(err, GUARD_EINVAL, "guard_policy_parse: NULL argument");
        return GUARD_EINVAL;
    }
    if (len > POLICY_MAX_BYTES) {
        rc = perr(&c, 1, "policy too large (more than %zu bytes)", POLICY_MAX_BYTES);
        goto fail;
    }
    guard_settings_defaults(&p.settings);
    if (p.settings.shorteners.n == 0) {
        rc = enomem(&c);
        goto fail;
    }
    rc = tree_build(&c, yaml, len, &root);
    if (rc)
        goto fail;
    rc = parse_root(&c, root, &p);
    if (rc)
        goto fail;
    tree_free(&c);
    *out = p;
    return GUARD_OK;
fail:
    tree_free(&c);
    guard_policy_free(&p);
    return rc;
}

guard_err guard_policy_load_file(const char *path, guard_policy *out, guard_error *err)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0;
    guard_err rc = GUARD_EIO;
    char msg[sizeof err->message];

    if (!path || !out) {
        set_err(err, GUARD_EINVAL, "guard_policy_load_file: NULL argument");
        return GUARD_EINVAL;
    }
    f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
        set_err(err, GUARD_EIO, msg);
        goto fail;
    }
    /* one byte beyond the cap tells "too large" from "exactly at the cap" */
    buf = malloc(POLICY_MAX_BYTES + 1);
    if (!buf) {
        rc = GUARD_ENOMEM;
        set_err(err, rc, "out of memory");
        goto fail;
    }
    len = fread(buf, 1, POLICY_MAX_BYTES + 1, f);
    if (ferror(f)) {
        snprintf(msg, sizeof msg, "%s: read error", path);
        set_err(err, GUARD_EIO, msg);
        goto fail;
    }
    if (len > POLICY_MAX_BYTES) {
        snprintf(msg, sizeof msg, "%s: policy too large (more than %zu bytes)", path,
                 POLICY_MAX_BYTES);
        rc = GUARD_EPARSE;
        set_err(err, rc, msg);
        goto fail;
    }
    rc = guard_policy_parse(buf, len, path, out, err);
fail:
    if (f)
        fclose(f);
    free(buf);
    return rc;
}

guard_err guard_policy_default(guard_policy *out, guard_error *err)
{
    return guard_policy_parse(guard_default_policy_yaml, guard_default_policy_yaml_len,
                              "default.yaml", out, err);
}

const char *guard_default_policy_text(size_t *len)
{
    if (len)
        *len = guard_default_policy_yaml_len;
    return guard_default_policy_yaml;
}

void guard_policy_free(guard_policy *p)
{
    if (!p)
        return;
    for (size_t k = 0; k < p->n_rules; k++)
        rule_free(&p->rules[k]);
    free(p->rules);
    free(p->name);
    guard_settings_free(&p->settings);
    memset(p, 0, sizeof *p);
}

/* ---- evaluation ------------------------------------------------------------ */

/* fnmatch() with the common cases first: it runs for every finding and every
 * rule that names rules, and glibc's fnmatch converts to wide characters on
 * each call. A glob without metacharacters is a plain comparison; a literal
 * prefix that differs settles it before fnmatch is asked. */
static bool glob_match(const char *glob, const char *id)
{
    const char *g = glob, *s = id;

    while (*g && *g != '*' && *g != '?' && *g != '[' && *g != '\\') {
        if (*g != *s)
            return false;
        g++;
        s++;
    }
    if (!*g)
        return !*s;
    if (g[0] == '*' && !g[1])
        return true; /* "prefix.*" and its prefix matched */
    return fnmatch(glob, id, 0) == 0;
}

/* The per-finding conditions; scope and min_count belong to the item. */
static bool satisfies(const guard_policy_rule *r, const guard_finding *f)
{
    if (r->categories) {
        if ((unsigned)f->category >= GUARD_CAT_COUNT || !(r->categories & (1u << f->category)))
            return false;
    }
    if (f->severity < r->min_severity || f->confidence < r->min_confidence)
        return false;
    if (r->evasion >= 0 && (int)f->evasion != r->evasion)
        return false;
    if (r->n_rule_globs) {
        const char *id = f->rule ? f->rule : "";
        size_t k;
        for (k = 0; k < r->n_rule_globs; k++)
            if (glob_match(r->rule_globs[k], id))
                break;
        if (k == r->n_rule_globs)
            return false;
    }
    return true;
}

/* Findings grouped by category, for a text with many: group c (c <
 * GUARD_CAT_COUNT) is idx[first[c] .. first[c + 1]), and group
 * GUARD_CAT_COUNT holds those of no known category. Every rule names one or
 * two categories and reads only their groups (and the last one), where it
 * read every finding: applying the default policy to a file's findings cost
 * ~540 instructions a finding. A message's few findings are read as they
 * are (idx NULL): grouping them cost more than it saved. */
#define GROUP_MIN 64

typedef struct by_category {
    uint32_t *idx; /* NULL: not grouped */
    size_t first[GUARD_CAT_COUNT + 2];
} by_category;

/* Groups the findings when they are many; leaves idx NULL when they are few,
 * or without memory (each rule then reads them all, as satisfies() checks
 * the category anyway). */
static void group_findings(by_category *g, const guard_finding *findings, size_t n)
{
    size_t count[GUARD_CAT_COUNT + 1] = {0};

    g->idx = n >= GROUP_MIN && n <= UINT32_MAX ? malloc(n * sizeof *g->idx) : NULL;
    if (!g->idx)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned)findings[i].category;
        count[c < GUARD_CAT_COUNT ? c : GUARD_CAT_COUNT]++;
    }
    g->first[0] = 0;
    for (size_t c = 0; c <= GUARD_CAT_COUNT; c++)
        g->first[c + 1] = g->first[c] + count[c];
    memcpy(count, g->first, sizeof count); /* now the next free slot of each group */
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned)findings[i].category;
        g->idx[count[c < GUARD_CAT_COUNT ? c : GUARD_CAT_COUNT]++] = (uint32_t)i;
    }
}

/* Whether rule r reads group c. */
static bool reads_group(const guard_policy_rule *r, size_t c)
{
    return c == GUARD_CAT_COUNT || !r->categories || (r->categories & (1u << c));
}

/* How many findings satisfy r, counted up to r->min_count. */
static size_t count_satisfying(const guard_policy_rule *r, const guard_finding *findings, size_t n,
                               const by_category *g)
{
    size_t count = 0;
    if (!g->idx) {
        for (size_t i = 0; i < n && count < r->min_count; i++)
            count += satisfies(r, &findings[i]);
        return count;
    }
    for (size_t c = 0; c <= GUARD_CAT_COUNT && count < r->min_count; c++)
        if (reads_group(r, c))
            for (size_t j = g->first[c]; j < g->first[c + 1] && count < r->min_count; j++)
                count += satisfies(r, &findings[g->idx[j]]);
    return count;
}

/* Whether some finding satisfies w (a rule's `with:`). Apart from
 * count_satisfying() so that the loop every rule runs stays inlined there
 * (a second caller took it out of line: +480 instructions a message). */
static bool corroborated(const guard_policy_rule *w, const guard_finding *findings, size_t n,
                         const by_category *g)
{
    if (!g->idx) {
        for (size_t i = 0; i < n; i++)
            if (satisfies(w, &findings[i]))
                return true;
        return false;
    }
    for (size_t c = 0; c <= GUARD_CAT_COUNT; c++)
        if (reads_group(w, c))
            for (size_t j = g->first[c]; j < g->first[c + 1]; j++)
                if (satisfies(w, &findings[g->idx[j]]))
                    return true;
    return false;
}

static void raise_to(const guard_policy_rule *r, guard_finding *f)
{
    if (r->action > f->action && satisfies(r, f)) {
        f->action = r->action;
        f->policy_rule = r->id;
    }
}

/* A fired rule raises every finding that satisfies it. */
static void raise_satisfying(const guard_policy_rule *r, guard_finding *findings, size_t n,
                             const by_category *g)
{
    if (!g->idx) {
        for (size_t i = 0; i < n; i++)
            raise_to(r, &findings[i]);
        return;
    }
    for (size_t c = 0; c <= GUARD_CAT_COUNT; c++)
        if (reads_group(r, c))
            for (size_t j = g->first[c]; j < g->first[c + 1]; j++)
                raise_to(r, &findings[g->idx[j]]);
}

guard_action guard_policy_apply(const guard_policy *p, guard_finding *findings, size_t n,
                                guard_scope scope, const char **decided_by)
{
    guard_action verdict = GUARD_ALLOW;
    const char *decider = NULL;
    by_category g;

    /* start from scratch so that applying twice (guard_result_add) gives the
     * same answer as applying once */
    for (size_t i = 0; i < n; i++) {
        findings[i].action = GUARD_ALLOW;
        findings[i].policy_rule = NULL;
    }
    group_findings(&g, findings, n);
    for (size_t k = 0; p && k < p->n_rules; k++) {
        const guard_policy_rule *r = &p->rules[k];

        if (r->scope >= 0 && r->scope != (int)scope)
            continue;
        if (count_satisfying(r, findings, n, &g) < r->min_count)
            continue;
        if (r->with && !corroborated(r->with, findings, n, &g))
            continue; /* not corroborated */
        raise_satisfying(r, findings, n, &g);
        /* strictly stronger only: the first rule with the final action decides */
        if (r->action > verdict) {
            verdict = r->action;
            decider = r->id;
        }
    }
    free(g.idx);
    if (decided_by)
        *decided_by = decider;
    return verdict;
}
