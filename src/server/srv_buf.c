/*
 * srv_buf.c — shared immutable event buffers (see srv_buf.h).
 */
#include "srv_buf.h"

#include <stdlib.h>
#include <string.h>

srv_buf *srv_buf_new(size_t len)
{
    srv_buf *b = malloc(sizeof *b + LWS_PRE + len + 1);

    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    b->t_commit_ns = 0;
    b->t_recv_ns = 0;
    b->data[LWS_PRE + len] = 0;
    return b;
}

srv_buf *srv_buf_from(const char *s, size_t len)
{
    srv_buf *b = srv_buf_new(len);

    if (b)
        memcpy(srv_buf_payload(b), s, len);
    return b;
}

srv_buf *srv_buf_ref(srv_buf *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void srv_buf_unref(srv_buf *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}
