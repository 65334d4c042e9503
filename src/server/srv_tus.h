/*
 * srv_tus.h — the tus protocol's header values, parsed without I/O
 * (srv_tus.c): pure, unit-testable and fuzzed (fuzz/fuzz_tus.c).
 */
#ifndef SRV_TUS_H
#define SRV_TUS_H

#include <stddef.h>

/* One key of an Upload-Metadata header ("key b64,key b64,flag"): the
 * decoded value, NUL-terminated, in out[0..cap). Returns 0 found, 1 absent
 * (or a key without a value), -1 malformed: bad base64, longer than
 * cap - 1, or a NUL inside (a name must never be cut short). */
int srv_tus_meta(const char *meta, const char *key, char *out, size_t cap);

#endif
