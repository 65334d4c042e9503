/*
 * base_buf.c — the growable byte buffer with a hard cap (see base_buf.h).
 */
#include "base_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void base_buf_init(base_buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

/* Makes room for `need` more bytes plus the NUL. */
static int buf_reserve(base_buf *b, size_t need)
{
    size_t want, nc;
    char *q;

    if (need > b->max - b->len)
        return -1;
    want = b->len + need + 1;
    if (want <= b->cap)
        return 0;
    nc = b->cap ? b->cap : 256;
    while (nc < want)
        nc = nc > ((size_t)-1) / 2 ? want : nc * 2;
    q = realloc(b->p, nc);
    if (!q)
        return -1;
    b->p = q;
    b->cap = nc;
    return 0;
}

int base_buf_add(base_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n)) {
        b->truncated = true;
        return -1;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

int base_buf_adds(base_buf *b, const char *s)
{
    return base_buf_add(b, s, strlen(s));
}

int base_buf_printf(base_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n)) {
        b->truncated = true;
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void base_buf_reset(base_buf *b)
{
    b->len = 0;
    b->truncated = false;
    if (b->p)
        b->p[0] = 0;
}

void base_buf_free(base_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
