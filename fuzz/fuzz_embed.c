/*
 * fuzz_embed.c — libFuzzer target for finding and decoding files pasted into
 * a message as text (ex_embed_each, src/extract/ex_embed.c): base64 data:
 * URLs and bare runs, either alphabet, wrapped or not.
 *
 * Invariants checked on every run reported: it starts inside the input; its
 * decoded bytes are no more than 3/4 of what is left of the input from
 * there, and within the byte budget in all; every decoded byte is read (so
 * ASan sees any overread); a bare run always decoded. A broken invariant
 * aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ex_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUDGET ((size_t)64 * 1024)

typedef struct seen {
    size_t size, bytes;
    unsigned sum;
} seen;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_embed: %s\n", what);
    abort();
}

static int on_run(void *arg, const ex_embed_run *r)
{
    seen *s = arg;

    if (r->at >= s->size)
        fail("a run starts past the input");
    if (!r->type && !r->data && !r->over_limit)
        fail("a bare run reported without its bytes");
    if (r->data) {
        if (r->len > (s->size - r->at) / 4 * 3 + 3)
            fail("more bytes decoded than the run could hold");
        s->bytes += r->len;
        if (s->bytes > BUDGET)
            fail("decoded past the budget");
        for (size_t i = 0; i < r->len; i++)
            s->sum += r->data[i];
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen s = {.size = size};

    if (ex_embed_each((const char *)data, size, BUDGET, on_run, &s) < 0)
        fail("out of memory");
    return 0;
}
