/*
 * guard_patset.c — the list of expressions that becomes the ruleset's one
 * Hyperscan database. Literals (lexicon terms) are escaped here so that every
 * pattern, literal or regex, goes through the same compiler call.
 */
#include "guard_detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

static int patset_push(guard_patset *ps, char *expr, unsigned flags, uint16_t det, uint32_t arg)
{
    if (ps->n == ps->cap) {
        size_t nc = ps->cap ? ps->cap * 2 : 256;
        guard_pattern *q = realloc(ps->p, nc * sizeof *q);
        if (!q) {
            free(expr);
            return -1;
        }
        ps->p = q;
        ps->cap = nc;
    }
    ps->p[ps->n].expr = expr;
    ps->p[ps->n].flags = flags;
    ps->p[ps->n].det = det;
    ps->p[ps->n].word_end = false;
    ps->p[ps->n].arg = arg;
    ps->n++;
    return 0;
}

int guard_patset_add_literal(guard_patset *ps, const char *bytes, size_t len, uint16_t det,
                             uint32_t arg)
{
    /* Bytes >= 0x80 are literal in Hyperscan's non-UTF-8 mode; only ASCII
     * punctuation needs escaping, so the expression stays near term size
     * (a million terms are a million expressions). */
    char *e = malloc(len * 4 + 1), *o = e;
    if (!e)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)bytes[i];
        if (b >= 0x80 || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') ||
            (b >= 'A' && b <= 'Z')) {
            *o++ = (char)b;
        } else {
            o += sprintf(o, "\\x%02x", b);
        }
    }
    *o = 0;
    return patset_push(ps, e, 0, det, arg);
}

int guard_patset_add_word(guard_patset *ps, const char *bytes, size_t len, uint16_t det,
                          uint32_t arg)
{
    if (guard_patset_add_literal(ps, bytes, len, det, arg))
        return -1;
    ps->p[ps->n - 1].word_end = true;
    return 0;
}

int guard_patset_add_regex(guard_patset *ps, const char *expr, unsigned flags, uint16_t det,
                           uint32_t arg)
{
    char *e = strdup(expr);
    if (!e)
        return -1;
    for (const unsigned char *p = (const unsigned char *)expr; *p; p++)
        if (*p >= 0x80) {
            flags |= HS_FLAG_UTF8;
            break;
        }
    return patset_push(ps, e, flags, det, arg);
}

void guard_patset_free(guard_patset *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->p[i].expr);
    free(ps->p);
    memset(ps, 0, sizeof *ps);
}
