/*
 * guard_lexicon.c — loading lexicon files and turning term hits into findings.
 *
 * Hyperscan reports every term occurrence, overlapping ones included. Two
 * rules turn those into findings a person expects:
 *   - longest match: a hit inside a longer hit (机密资料 inside 机密资料库) is
 *     not reported separately;
 *   - allow-list: a hit inside an allow-list phrase is no finding at all
 *     (色情 inside 白色情人节).
 * Both need the hits that may contain a candidate; a containing hit ends at
 * most max_vlen bytes after the candidate starts, so a candidate is settled
 * once the scan has passed that point. Pending candidates are therefore few,
 * and memory stays bounded in stream mode.
 */
#include "guard_lexicon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_norm.h"
#include "guard_policy.h"
#include "guard_ruleset.h"

void guard_lexicon_init(guard_lexicon *lx)
{
    memset(lx, 0, sizeof *lx);
}

void guard_lexicon_free(guard_lexicon *lx)
{
    for (size_t i = 0; i < lx->n_cats; i++) {
        free(lx->cats[i]);
        free(lx->cat_rules[i]);
    }
    free(lx->cats);
    free(lx->cat_rules);
    free(lx->terms);
    free(lx->pool);
    memset(lx, 0, sizeof *lx);
}

static int seterr(guard_error *err, guard_err code, const char *path, size_t line, const char *msg)
{
    if (err) {
        err->code = code;
        if (line)
            snprintf(err->message, sizeof err->message, "%s:%zu: %s", path, line, msg);
        else
            snprintf(err->message, sizeof err->message, "%s: %s", path, msg);
    }
    return code;
}

static int intern_cat(guard_lexicon *lx, const char *name, size_t len)
{
    for (size_t i = 0; i < lx->n_cats; i++)
        if (strlen(lx->cats[i]) == len && memcmp(lx->cats[i], name, len) == 0)
            return (int)i;
    if (lx->n_cats >= 65535)
        return -2;
    char **c = realloc(lx->cats, (lx->n_cats + 1) * sizeof *c);
    if (!c)
        return -1;
    lx->cats = c;
    char **r = realloc(lx->cat_rules, (lx->n_cats + 1) * sizeof *r);
    if (!r)
        return -1;
    lx->cat_rules = r;
    char *nm = strndup(name, len);
    char *rule = malloc(len + 9);
    if (!nm || !rule) {
        free(nm);
        free(rule);
        return -1;
    }
    memcpy(rule, "lexicon.", 8);
    memcpy(rule + 8, name, len);
    rule[len + 8] = 0;
    lx->cats[lx->n_cats] = nm;
    lx->cat_rules[lx->n_cats] = rule;
    return (int)lx->n_cats++;
}

static int valid_utf8(const char *s, size_t len)
{
    guard_norm n;
    int ok;
    guard_norm_init(&n);
    ok = guard_norm_feed(&n, (const unsigned char *)s, len, true) == 0 && n.invalid == 0;
    guard_norm_free(&n);
    return ok;
}

/* Parses one non-comment line; returns GUARD_OK or sets err. */
/* Adds one term line; `norm` folds it (one normaliser for the whole file:
 * setting one up and freeing it per term was a fifth of a 1M-term load). */
static guard_err add_line(guard_lexicon *lx, guard_patset *ps, guard_norm *norm, char *line,
                          size_t len, const char *path, size_t lineno, guard_error *err)
{
    char *f[4] = {line, NULL, NULL, NULL};
    size_t nf = 1, flen[3];
    int allow = 0, cat = 0, sev = GUARD_SEV_MEDIUM;
    const char *view;
    size_t vlen = 0;

    for (size_t i = 0; i < len; i++)
        if (line[i] == '\t') {
            if (nf == 3)
                return seterr(err, GUARD_EPARSE, path, lineno,
                              "too many fields (term<TAB>category<TAB>severity)");
            line[i] = 0;
            f[nf++] = line + i + 1;
        }
    for (size_t i = 0; i < nf; i++)
        flen[i] = strlen(f[i]);
    if (f[0][0] == '!') {
        allow = 1;
        f[0]++;
        flen[0]--;
        if (nf > 1)
            return seterr(err, GUARD_EPARSE, path, lineno,
                          "an allow-list entry (!phrase) takes no category or severity");
    }
    if (!valid_utf8(line, len))
        return seterr(err, GUARD_EPARSE, path, lineno, "invalid UTF-8");
    if (nf >= 2 && flen[1]) {
        cat = intern_cat(lx, f[1], flen[1]);
        if (cat == -2)
            return seterr(err, GUARD_EPARSE, path, lineno, "more than 65535 categories");
        if (cat < 0)
            return seterr(err, GUARD_ENOMEM, path, lineno, "out of memory");
        for (size_t i = 0; i < flen[1]; i++)
            if ((unsigned char)f[1][i] <= ' ' || f[1][i] == ',')
                return seterr(err, GUARD_EPARSE, path, lineno,
                              "a category is one word (no spaces or commas)");
    } else {
        cat = intern_cat(lx, "default", 7);
        if (cat < 0)
            return seterr(err, GUARD_ENOMEM, path, lineno, "out of memory");
    }
    if (nf == 3) {
        sev = guard_severity_from_name(f[2]);
        if (sev < 0) {
            char m[160];
            snprintf(m, sizeof m, "unknown severity \"%.40s\" (info|low|medium|high|critical)",
                     f[2]);
            return seterr(err, GUARD_EPARSE, path, lineno, m);
        }
    }
    if (guard_norm_fold(norm, f[0], flen[0]))
        return seterr(err, GUARD_ENOMEM, path, lineno, "out of memory");
    view = (const char *)norm->view;
    vlen = norm->len;
    /* Leading/trailing spaces are never part of a term's meaning. */
    size_t vs = 0;
    while (vs < vlen && view[vs] == ' ')
        vs++;
    while (vlen > vs && view[vlen - 1] == ' ')
        vlen--;
    if (vlen == vs)
        return seterr(err, GUARD_EPARSE, path, lineno, "term is empty once normalised");
    if (vlen - vs > GUARD_TERM_MAX)
        return seterr(err, GUARD_EPARSE, path, lineno,
                      "term longer than 255 bytes once normalised");
    if (lx->n == lx->cap) {
        size_t nc = lx->cap ? lx->cap * 2 : 1024;
        guard_term *t = realloc(lx->terms, nc * sizeof *t);
        if (!t)
            goto nomem;
        lx->terms = t;
        lx->cap = nc;
    }
    if (lx->pool_len + flen[0] + 1 > lx->pool_cap) {
        size_t nc = lx->pool_cap ? lx->pool_cap * 2 : 65536;
        while (nc < lx->pool_len + flen[0] + 1)
            nc *= 2;
        if (nc > UINT32_MAX)
            return seterr(err, GUARD_EPARSE, path, lineno, "lexicons larger than 4 GiB");
        char *p = realloc(lx->pool, nc);
        if (!p)
            goto nomem;
        lx->pool = p;
        lx->pool_cap = nc;
    }
    guard_term *t = &lx->terms[lx->n];
    t->text = (uint32_t)lx->pool_len;
    memcpy(lx->pool + lx->pool_len, f[0], flen[0] + 1);
    lx->pool_len += flen[0] + 1;
    t->cat = (uint16_t)cat;
    t->vlen = (uint8_t)(vlen - vs);
    t->sev = (uint8_t)sev;
    t->allow = (uint8_t)allow;
    if (guard_patset_add_literal(ps, view + vs, vlen - vs, GUARD_DET_LEXICON, (uint32_t)lx->n))
        goto nomem;
    if (t->vlen > lx->max_vlen)
        lx->max_vlen = t->vlen;
    lx->n++;
    return GUARD_OK;
nomem:
    return seterr(err, GUARD_ENOMEM, path, lineno, "out of memory");
}

guard_err guard_lexicon_load(guard_lexicon *lx, const char *path, guard_patset *ps,
                             guard_error *err)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    guard_err rc = GUARD_OK;
    guard_norm norm;

    if (!f) {
        char m[256];
        snprintf(m, sizeof m, "cannot open lexicon: %m");
        return seterr(err, GUARD_EIO, path, 0, m);
    }
    guard_norm_init(&norm);
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        lineno++;
        if (memchr(line, 0, len)) {
            rc = seterr(err, GUARD_EPARSE, path, lineno, "NUL byte in lexicon");
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        char *s = line;
        if (lineno == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            len -= 3;
        }
        if (len == 0 || s[0] == '#')
            continue;
        rc = add_line(lx, ps, &norm, s, len, path, lineno, err);
        if (rc)
            break;
    }
    if (!rc && ferror(f)) {
        char m[256];
        snprintf(m, sizeof m, "read error: %m");
        rc = seterr(err, GUARD_EIO, path, 0, m);
    }
    guard_norm_free(&norm);
    free(line);
    fclose(f);
    return rc;
}

/* ---- detector ------------------------------------------------------------ */

typedef struct lex_cand {
    uint64_t from, to;
    uint32_t term;
} lex_cand;

typedef struct lex_state {
    lex_cand *v;
    size_t n, cap;
} lex_state;

static int lex_begin(guard_ctx *c)
{
    lex_state *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    c->det_state[GUARD_DET_LEXICON] = s;
    return 0;
}

static void lex_end(guard_ctx *c)
{
    lex_state *s = c->det_state[GUARD_DET_LEXICON];
    if (s) {
        free(s->v);
        free(s);
    }
    c->det_state[GUARD_DET_LEXICON] = NULL;
}

/* Settles candidates [0, upto): each is dropped when an allow-list hit or a
 * longer term hit covers it, else it becomes a finding. Hits arrive in order
 * of end offset, so anything that covers candidate i (it ends at or after i)
 * has arrived by the time i starts more than max_vlen bytes before the newest
 * hit: settled candidates are never needed again. */
static void lex_settle(guard_ctx *c, lex_state *s, size_t upto)
{
    const guard_lexicon *lx = &c->rs->lex;
    for (size_t i = 0; i < upto; i++) {
        const lex_cand *a = &s->v[i];
        const guard_term *t = &lx->terms[a->term];
        bool covered = false;
        if (t->allow)
            continue;
        for (size_t j = 0; j < s->n && !covered; j++) {
            const lex_cand *b = &s->v[j];
            if (j == i || b->from > a->from || b->to < a->to)
                continue;
            if (lx->terms[b->term].allow || b->to - b->from > a->to - a->from)
                covered = true;
        }
        if (covered)
            continue;
        /* lexicon term "<term, at most 120 bytes>" (<category>), cut at
         * 199 bytes: what snprintf made of it, without parsing a format for
         * each of the most frequent findings */
        const char *term = lx->pool + t->text, *cat = lx->cats[t->cat];
        char expl[200];
        size_t el = 0;
        guard_expl_add(expl, sizeof expl, &el, "lexicon term \"", 14);
        guard_expl_add(expl, sizeof expl, &el, term, strnlen(term, 120));
        guard_expl_add(expl, sizeof expl, &el, "\" (", 3);
        guard_expl_str(expl, sizeof expl, &el, cat);
        guard_expl_add(expl, sizeof expl, &el, ")", 1);
        guard_emit(c, lx->cat_rules[t->cat], GUARD_CAT_LEXICON, (guard_severity)t->sev, 90, a->from,
                   a->to, expl);
    }
    if (upto && s->n > upto)
        memmove(s->v, s->v + upto, (s->n - upto) * sizeof *s->v);
    s->n -= upto;
}

static void lex_hit(guard_ctx *c, uint32_t arg, uint64_t to)
{
    lex_state *s = c->det_state[GUARD_DET_LEXICON];
    const guard_lexicon *lx = &c->rs->lex;
    if (arg >= lx->n)
        return;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        lex_cand *q = realloc(s->v, nc * sizeof *q);
        if (!q) {
            guard_ctx_lost(c);
            return;
        }
        s->v = q;
        s->cap = nc;
    }
    s->v[s->n].from = to - lx->terms[arg].vlen;
    s->v[s->n].to = to;
    s->v[s->n].term = arg;
    s->n++;
    /* Settle the candidates nothing further can cover. */
    size_t upto = 0;
    while (upto < s->n && s->v[upto].from + lx->max_vlen < to)
        upto++;
    if (upto >= 32)
        lex_settle(c, s, upto);
}

static void lex_flush(guard_ctx *c, uint64_t upto)
{
    lex_state *s = c->det_state[GUARD_DET_LEXICON];
    const guard_lexicon *lx = &c->rs->lex;
    size_t n = 0;
    while (n < s->n && s->v[n].from + lx->max_vlen < upto)
        n++;
    if (n)
        lex_settle(c, s, n);
}

static void lex_finish(guard_ctx *c)
{
    lex_state *s = c->det_state[GUARD_DET_LEXICON];
    lex_settle(c, s, s->n);
    s->n = 0;
}

const guard_detector guard_det_lexicon = {
    .name = "lexicon",
    .patterns = NULL,
    .begin = lex_begin,
    .on_hit = lex_hit,
    .flush = lex_flush,
    .finish = lex_finish,
    .end = lex_end,
};
