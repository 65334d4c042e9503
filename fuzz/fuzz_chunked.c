/*
 * fuzz_chunked.c — libFuzzer target for the chunked transfer coding
 * decoder of upload bodies (srv_chunked_feed, src/server/srv_chunked.c):
 * a body as a client sends it, fed whole and again in pieces whose sizes
 * come from the input's first byte.
 *
 * Invariants: both feedings end in the same state with the same decoded
 * bytes (any split of a body decodes the same); a decoder that is done or
 * refused reads nothing more; the bytes handed over never exceed the
 * input. A broken one aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "srv_chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct out {
    unsigned char *buf;
    size_t len, cap;
} out;

static int keep(void *arg, const unsigned char *p, size_t n)
{
    out *o = arg;

    if (o->len + n > o->cap)
        abort();
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    srv_chunked a, b;
    out oa = {0}, ob = {0};
    size_t step, used = 0, took = 0;
    int ra, rb = 0;

    if (!size)
        return 0;
    step = 1 + data[0] % 17;
    data++, size--;
    oa.buf = malloc(size + 1);
    ob.buf = malloc(size + 1);
    if (!oa.buf || !ob.buf)
        goto out;
    oa.cap = ob.cap = size;
    srv_chunked_init(&a);
    srv_chunked_init(&b);
    ra = srv_chunked_feed(&a, data, size, keep, &oa, &used);
    if (used > size || (ra == 0 && used < size && !srv_chunked_done(&a)))
        abort();
    for (size_t i = 0; i < size && !rb && !srv_chunked_done(&b); i += step) {
        size_t n = size - i < step ? size - i : step, u = 0;

        rb = srv_chunked_feed(&b, data + i, n, keep, &ob, &u);
        took += u;
    }
    if (ra != rb || a.st != b.st || oa.len != ob.len || memcmp(oa.buf, ob.buf, oa.len) ||
        a.decoded != oa.len)
        abort();
    if (srv_chunked_done(&a) && took != used)
        abort();
    if ((srv_chunked_done(&a) || a.st == SRV_CHUNKED_BAD) &&
        (srv_chunked_feed(&a, data, size, keep, &oa, &used), used != 0))
        abort();
out:
    free(oa.buf);
    free(ob.buf);
    return 0;
}
