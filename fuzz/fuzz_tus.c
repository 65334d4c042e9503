/*
 * fuzz_tus.c — libFuzzer target for the tus Upload-Metadata parser
 * (srv_tus_meta, src/server/srv_tus.c): the header as a client sends it.
 *
 * Invariants: a value found is NUL-terminated within the buffer and holds
 * no NUL before it; the answer is one of 0, 1, -1. A broken one aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_tus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"filename", "conversation_id", "filetype", "", "a"};
    char *meta = malloc(size + 1), out[64];

    if (!meta)
        return 0;
    memcpy(meta, data, size);
    meta[size] = 0; /* a header value is a C string */
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int rc;

        memset(out, 'x', sizeof out);
        rc = srv_tus_meta(meta, keys[i], out, sizeof out);
        if (rc != 0 && rc != 1 && rc != -1)
            abort();
        if (rc == 0 && (!memchr(out, 0, sizeof out)))
            abort();
    }
    free(meta);
    return 0;
}
